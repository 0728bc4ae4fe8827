"""Shared fixtures: the built book (built once per session) and a local HTTP server for it."""
from __future__ import annotations

import functools
import http.server
import json
import shutil
import subprocess
import sys
import threading
from pathlib import Path

import pytest

from helpers.paths import ROOT  # tests import it from here: `from conftest import ROOT`

VENV_BIN = Path(sys.executable).parent


def write_tiny_chapter(path, code: str) -> None:
    """A two-cell chapter (the parameters cell, then ``code``) for tests that need a notebook
    that runs in a second, not a real chapter."""
    import nbformat
    from nbformat.v4 import new_code_cell, new_notebook

    nb = new_notebook(cells=[new_code_cell('accelerator = "h100"\noverrides = {}',
                                           metadata={"tags": ["parameters"]}),
                             new_code_cell(code)])
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3",
                                 "language": "python"}
    nbformat.write(nb, path)


def run(cmd, **kw):
    return subprocess.run(cmd, cwd=kw.pop("cwd", ROOT), capture_output=True, text=True, **kw)


@pytest.fixture(scope="session")
def results() -> dict:
    """Every published result, as `python -m helpers results --json` prints it (run once)."""
    proc = run([sys.executable, "-m", "helpers", "results", "--json"], check=True)
    return json.loads(proc.stdout)


@pytest.fixture(scope="session")
def built_book(tmp_path_factory) -> Path:
    """Build the book from committed outputs, warnings as errors, into a temporary folder;
    reuse ``setup.sh``'s build when its stamp says no source changed since (or, when
    BOOK_PREBUILT names a built book's html folder, use that one: for iterating on page tests
    without rebuilding)."""
    import os

    from helpers import build_stamp
    if os.environ.get("BOOK_PREBUILT"):
        return Path(os.environ["BOOK_PREBUILT"])
    if build_stamp.is_current():      # setup.sh's -W build of exactly these sources
        return ROOT / "_build" / "html"
    out = tmp_path_factory.mktemp("book")
    proc = run([str(VENV_BIN / "jupyter-book"), "build", str(ROOT), "--warningiserror",
                "--path-output", str(out)], timeout=300)
    assert proc.returncode == 0, proc.stdout[-4000:] + proc.stderr[-4000:]
    html = out / "_build" / "html"
    assert (html / "index.html").exists()
    return html


# Debian's Chromium, headless, with nothing that would reach the network (see toolchain.md)
CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
         "--disable-component-update", "--no-first-run", "--disable-sync", "--disable-quic"]


@pytest.fixture(scope="module")
def browser():
    """One headless Chromium per test module (a session-wide one would keep Playwright's
    event loop running under the notebook tests that follow)."""
    from playwright.sync_api import sync_playwright
    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=CHROMIUM, args=FLAGS)
        yield b
        b.close()


def glued_text(stem: str, name: str) -> str:
    """The text a committed chapter glued under ``name`` (what ``{glue:text}`` shows)."""
    import ast
    nb = json.loads((ROOT / "chapters" / f"{stem}.ipynb").read_text(encoding="utf-8"))
    for cell in nb["cells"]:
        for out in cell.get("outputs", []):
            if out.get("metadata", {}).get("scrapbook", {}).get("name") == name:
                return ast.literal_eval(out["data"]["application/papermill.record/text/plain"])
    raise KeyError(name)


class _QuietHandler(http.server.SimpleHTTPRequestHandler):
    def log_message(self, *args):  # keep pytest output clean
        pass


@pytest.fixture(scope="session")
def book_server(built_book):
    handler = functools.partial(_QuietHandler, directory=str(built_book))
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()
