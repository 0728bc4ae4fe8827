"""The whole book as one PDF, offline: ``python -m helpers pdf [--instructor] [--out PATH]``.

The normal HTML build (fresh, into a temporary folder; or ``--html DIR``, one already built) is
printed page by page, in table-of-contents order, by headless Chromium (Debian's, through
Playwright), and the pages are merged with pypdf, with one bookmark per page. Before a page is
printed, its site chrome and code-toggle bars go (``_static/print.css``, injected as well in
case the build does not carry it), any collapsed output is opened, and the solutions are either
printed open (the instructor's edition) or removed (the student's). Nothing is fetched: a
request that leaves the machine is refused.
"""
from __future__ import annotations

import functools
import http.server
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from contextlib import contextmanager, suppress
from pathlib import Path
from urllib.parse import urlparse

from .errors import CatalogError
from .paths import ROOT

CHROMIUM_FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
                  "--disable-component-update", "--no-first-run", "--disable-sync",
                  "--disable-quic"]
PRINT_CSS = ROOT / "_static" / "print.css"
LOCAL = {"127.0.0.1", "localhost"}

# run in each page before it is printed; the argument says whether solutions are printed
PREPARE = """async (instructor) => {
  if (window.MathJax && window.MathJax.startup && window.MathJax.startup.promise)
    await window.MathJax.startup.promise;
  document.querySelectorAll('details.above-input').forEach(d => d.remove());
  document.querySelectorAll('details').forEach(d => {
    d.open = true;
    const s = d.querySelector(':scope > summary');
    if (s) s.remove();
  });
  document.querySelectorAll('div.solution').forEach(s => {
    if (!instructor) { s.remove(); return; }
    s.classList.remove('toggle-hidden');
  });
  document.querySelectorAll('.toggle-hidden').forEach(e => e.classList.remove('toggle-hidden'));
  document.querySelectorAll('button.toggle-button').forEach(b => b.remove());
  await Promise.all([...document.images].map(i => {
    i.loading = 'eager';
    return i.complete ? null : new Promise(r => { i.onload = i.onerror = r; });
  }));
  if (document.fonts) await document.fonts.ready;
  return document.querySelectorAll('div.solution').length;
}"""
FOOTER = ("<div style='font-size:8px;width:100%;text-align:center;color:#555'>"
          "<span class='title'></span> · <span class='pageNumber'></span></div>")


def toc_files(root: Path = ROOT) -> list[str]:
    """The book's pages in table-of-contents order (the root first), as ``_toc.yml`` lists them."""
    import yaml

    toc = yaml.safe_load((root / "_toc.yml").read_text(encoding="utf-8"))
    files = [toc["root"]]

    def walk(entries):
        for e in entries or []:
            if "file" in e:
                files.append(e["file"])
            walk(e.get("sections"))
    for part in toc.get("parts", []):
        walk(part.get("chapters"))
    walk(toc.get("chapters"))
    return files


def build_html(out: Path) -> Path:
    """The normal HTML build of the book into ``out`` (warnings as errors)."""
    jb = Path(sys.executable).parent / "jupyter-book"
    proc = subprocess.run([str(jb if jb.exists() else "jupyter-book"), "build", str(ROOT),
                           "--warningiserror", "--quiet", "--path-output", str(out)],
                          capture_output=True, text=True)
    html = out / "_build" / "html"
    if proc.returncode != 0 or not (html / "index.html").exists():
        tail = (proc.stderr or proc.stdout).strip().splitlines()[-1:] or ["no output"]
        raise RuntimeError(f"jupyter-book build failed: {tail[0]}")
    return html


class _Quiet(http.server.SimpleHTTPRequestHandler):
    def log_message(self, *args):
        pass

    def handle(self):
        with suppress(BrokenPipeError, ConnectionResetError):   # the browser dropped a request
            super().handle()


@contextmanager
def _serve(directory: Path):
    server = http.server.ThreadingHTTPServer(
        ("127.0.0.1", 0), functools.partial(_Quiet, directory=str(directory)))
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()


def print_book(html: Path, out: Path, *, instructor: bool = False,
               pages: list[str] | None = None) -> dict:
    """Print the built book at ``html`` (its ``pages``, default every page in toc order) into
    one PDF at ``out``; returns ``{pages, sheets, solutions, seconds}``."""
    from playwright.sync_api import sync_playwright
    from pypdf import PdfReader, PdfWriter

    t0 = time.monotonic()
    pages = pages or toc_files()
    missing = [p for p in pages if not (html / f"{p}.html").exists()]
    if missing:
        raise CatalogError(f"--html {html}: no page {missing[0]}.html (not a build of this book?)")
    css = PRINT_CSS.read_text(encoding="utf-8") if PRINT_CSS.exists() else ""
    chromium = shutil.which("chromium") or "/usr/bin/chromium"
    writer = PdfWriter()
    solutions = 0
    with tempfile.TemporaryDirectory() as tmp, _serve(html) as base, sync_playwright() as p:
        browser = p.chromium.launch(executable_path=chromium, args=CHROMIUM_FLAGS)
        try:
            page = browser.new_context(viewport={"width": 1000, "height": 1400}).new_page()
            page.route("**/*", lambda r: r.continue_()
                       if urlparse(r.request.url).hostname in LOCAL
                       or r.request.url.startswith("data:") else r.abort())
            page.emulate_media(media="print")
            for i, name in enumerate(pages):
                page.goto(f"{base}/{name}.html", wait_until="load")
                if css:
                    page.add_style_tag(content=css)
                solutions += page.evaluate(PREPARE, instructor)
                sheet = Path(tmp) / f"{i:03d}.pdf"
                page.pdf(path=str(sheet), format="A4", print_background=True, scale=0.9,
                         display_header_footer=True, header_template="<span></span>",
                         footer_template=FOOTER,
                         margin={"top": "16mm", "bottom": "16mm", "left": "14mm",
                                 "right": "14mm"})
                title = page.title().split(" — ")[0].split(" | ")[0].strip() or name
                start = len(writer.pages)
                for sheet_page in PdfReader(str(sheet)).pages:
                    writer.add_page(sheet_page)
                writer.add_outline_item(title=title, page_number=start)
        finally:
            browser.close()
        writer.add_metadata({"/Title": _title() + (" (instructor's edition)" if instructor
                                                   else ""),
                             "/Producer": "python -m helpers pdf"})
        out.parent.mkdir(parents=True, exist_ok=True)
        with open(out, "wb") as f:
            writer.write(f)
    return {"pages": len(pages), "sheets": len(writer.pages), "solutions": solutions,
            "seconds": time.monotonic() - t0}


def _title() -> str:
    import yaml
    return yaml.safe_load((ROOT / "_config.yml").read_text(encoding="utf-8"))["title"]


def run_command(args) -> int:
    out = Path(args.out) if args.out else ROOT / "_build" / "pdf" / (
        "book-instructor.pdf" if args.instructor else "book.pdf")
    if out.suffix.lower() != ".pdf":
        raise CatalogError(f"--out {args.out}: give a file name ending in .pdf")
    t0 = time.monotonic()
    with tempfile.TemporaryDirectory() as tmp:
        if args.html:
            html = Path(args.html)
            if not (html / "index.html").exists():
                raise CatalogError(f"--html {args.html}: no index.html there (give a built "
                                   "book's html folder, e.g. _build/html)")
        else:
            print("building the book (HTML) ...", file=sys.stderr, flush=True)
            html = build_html(Path(tmp))
        built = time.monotonic() - t0
        print("printing ...", file=sys.stderr, flush=True)
        r = print_book(html, out, instructor=args.instructor)
    edition = "instructor's edition, with solutions" if args.instructor else \
        "student's edition, no solutions"
    print(f"{out}: {r['sheets']} pages from {r['pages']} book pages ({edition}); "
          f"built in {built:.0f} s, printed in {r['seconds']:.0f} s")
    return 0
