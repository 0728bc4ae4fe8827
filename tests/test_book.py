"""The warnings-as-errors build, and a real headless-Chromium look at every rendered page:
math typeset by the bundled MathJax, figures loaded with alt text, no request leaving the
machine, no broken internal link."""
from __future__ import annotations

import re
import shutil
from urllib.parse import urlparse

import pytest

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
         "--disable-component-update", "--no-first-run", "--disable-sync", "--disable-quic"]
LOCAL = {"127.0.0.1", "localhost"}
# resolves once MathJax has typeset the page (at once on a page without MathJax)
MATHJAX_TYPESET = ("() => window.MathJax && window.MathJax.startup"
                   " && window.MathJax.startup.promise")


def _toc_files() -> list[str]:
    import yaml

    from conftest import ROOT
    toc = yaml.safe_load((ROOT / "_toc.yml").read_text())
    return [toc["root"]] + [c["file"] for part in toc["parts"] for c in part["chapters"]]


def test_build_has_every_toc_page(built_book):
    from conftest import ROOT
    for name in _toc_files():
        assert (built_book / f"{name}.html").exists(), name
        if (ROOT / f"{name}.ipynb").exists():  # each notebook is offered for download
            assert (built_book / "_sources" / f"{name}.ipynb").exists(), name


def test_no_page_loads_a_script_or_stylesheet_from_elsewhere(built_book):
    external = re.compile(r"<(?:script|link)[^>]+(?:src|href)=\"(?:https?:)?//", re.I)
    for page in built_book.rglob("*.html"):
        match = external.search(page.read_text(encoding="utf-8"))
        assert not match, f"{page.name}: {match.group(0)}"


@pytest.fixture(scope="module")
def browser():
    from playwright.sync_api import sync_playwright
    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=CHROMIUM, args=FLAGS)
        yield b
        b.close()


def _pages(built_book):
    return sorted(str(p.relative_to(built_book)) for p in built_book.rglob("*.html")
                  if p.name not in ("search.html", "genindex.html")
                  and "_static" not in p.parts and "_sources" not in p.parts)


_HTML_CACHE: dict = {}


def _html(path):
    if path not in _HTML_CACHE:
        _HTML_CACHE[path] = path.read_text(encoding="utf-8")
    return _HTML_CACHE[path]


def test_no_page_overflows_a_phone_screen(built_book, book_server, browser):
    """At a 390-pixel-wide viewport nothing makes the page scroll sideways: wide tables and
    equations scroll inside their own box, long code names wrap."""
    ctx = browser.new_context(viewport={"width": 390, "height": 844})
    page = ctx.new_page()
    page.route("**/*", lambda r: r.continue_() if urlparse(r.request.url).hostname in LOCAL
               or r.request.url.startswith("data:") else r.abort())
    wide = []
    for rel in _pages(built_book):
        if 'http-equiv="Refresh"' in _html(built_book / rel):
            continue  # index.html only redirects to the intro
        page.goto(f"{book_server}/{rel}", wait_until="load")
        page.evaluate(MATHJAX_TYPESET)
        width = page.evaluate("() => document.documentElement.scrollWidth")
        if width > 390:
            wide.append(f"{rel} ({width} px)")
    ctx.close()
    assert not wide, f"pages wider than a 390 px phone screen: {wide}"


def test_pages_render_offline(built_book, book_server, browser):
    pages = _pages(built_book)
    assert "chapters/01_optimal_batch.html" in pages
    for rel in pages:
        ctx = browser.new_context(viewport={"width": 1200, "height": 900})
        page = ctx.new_page()
        outside, failed = [], []

        def route(r, outside=outside):   # this page's list, not the loop's latest
            host = urlparse(r.request.url).hostname
            if r.request.url.startswith(("data:", "blob:")) or host in LOCAL:
                r.continue_()
            else:
                outside.append(r.request.url)
                r.abort()
        page.route("**/*", route)
        page.on("requestfailed", lambda req, failed=failed: failed.append(req.url))
        response = page.goto(f"{book_server}/{rel}", wait_until="load")
        assert response.ok, rel
        # pages that load MathJax: wait until it has started, then until it has typeset
        page.wait_for_function("""() => !document.querySelector('script[src*="mathjax"]') ||
            (window.MathJax && window.MathJax.startup && window.MathJax.startup.promise)""",
                               timeout=20000)
        page.evaluate(MATHJAX_TYPESET)
        info = page.evaluate("""() => {
            const visible = [...document.querySelectorAll(
                    'article p, article li, article td, article th')]
                .map(e => e.innerText).join('\\n');
            const imgs = [...document.querySelectorAll('article img')].map(i => ({
                src: i.src, ok: i.complete && i.naturalWidth > 0,
                alt: i.getAttribute('alt') || ''}));
            return {math: document.querySelectorAll('mjx-container').length, visible, imgs,
                    errors: document.querySelectorAll('mjx-merror').length,
                    links: [...document.querySelectorAll('a[href]')].map(a => a.href)};
        }""")
        assert not outside, f"{rel}: requests left the machine: {outside[:3]}"
        assert not failed, f"{rel}: failed requests: {failed[:3]}"
        assert info["errors"] == 0, f"{rel}: MathJax errors"
        for raw in ("\\frac", "\\mathrm", "$$", "\\(", "\\["):
            assert raw not in info["visible"], f"{rel}: raw TeX '{raw}' left on the page"
        for img in info["imgs"]:
            assert img["ok"], f"{rel}: image did not load: {img['src']}"
            assert img["alt"].strip(), f"{rel}: image without alt text: {img['src']}"
        for href in info["links"]:
            url = urlparse(href)
            if url.hostname in LOCAL:
                target = built_book / url.path.lstrip("/")
                if url.path.endswith("/"):
                    target = target / "index.html"
                assert target.exists(), f"{rel}: broken internal link {href}"
                if url.fragment and target.suffix == ".html":
                    assert f'id="{url.fragment}"' in _html(target), \
                        f"{rel}: link to a missing anchor {href}"
        if rel.startswith("chapters/"):  # every chapter derives: typeset math and figures
            assert info["math"] >= 10, f"{rel}: only {info['math']} typeset equations"
            assert len(info["imgs"]) >= 1, f"{rel}: no figure"
        ctx.close()
