#!/usr/bin/env bash
# Set up a fresh machine (Debian, as root, only Python installed) and build the book.
# Idempotent: re-running it reuses what is already there.
set -euo pipefail
cd "$(dirname "$0")"

# Debian's Chromium for the browser checks (a test tool's own browser download cannot work here)
if ! command -v chromium >/dev/null 2>&1; then
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq chromium >/dev/null
fi

# The pinned Python environment, inside the checkout
[ -x .venv/bin/python ] || python3 -m venv .venv
.venv/bin/python -m pip install -q --disable-pip-version-check -r requirements.txt
.venv/bin/python -m pip install -q --disable-pip-version-check --no-deps --no-build-isolation -e .
# A wheelhouse of what a chapter needs outside the checkout (pyproject's dependencies, pinned by
# requirements.txt, and a Jupyter kernel), for tests/test_packaging.py's fresh venv: no network
.venv/bin/python -c "import tomllib; print(*tomllib.load(open('pyproject.toml', 'rb'))['project']['dependencies'], sep='\n')" > .venv/runtime-requirements.txt
.venv/bin/python -m pip download -q --disable-pip-version-check -d .venv/wheelhouse \
  -c requirements.txt -r .venv/runtime-requirements.txt ipykernel nbclient

# MathJax for typesetting the book's math at build time (helpers/sphinx_site.py), pinned,
# inside the venv folder (Node 18+ needed: apt's nodejs when it is missing)
if ! command -v node >/dev/null 2>&1; then
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq nodejs npm >/dev/null
fi
[ -d .venv/mathjax/node_modules/mathjax-full ] ||
  npm install --prefix .venv/mathjax --no-audit --no-fund --silent mathjax-full@3.2.2

# The book, from the committed notebook outputs, warnings as errors, fully offline
rm -rf _build                # a clean build: an incremental one keeps an older build's search-index terms
.venv/bin/jupyter-book build . --warningiserror --quiet
.venv/bin/python -m helpers.build_stamp   # the tests reuse this build while no source changes
echo "Book built: $(pwd)/_build/html/index.html"
