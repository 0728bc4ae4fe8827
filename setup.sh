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

# The book, from the committed notebook outputs, warnings as errors, fully offline
.venv/bin/jupyter-book build . --warningiserror --quiet
echo "Book built: $(pwd)/_build/html/index.html"
