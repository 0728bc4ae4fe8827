"""The warnings-as-errors build, and a real headless-Chromium look at every rendered page:
math typeset by the bundled MathJax, figures loaded with alt text, no request leaving the
machine, no broken internal link."""
from __future__ import annotations

import re
from urllib.parse import urlparse

import pytest

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



def _pages(built_book):
    return sorted(str(p.relative_to(built_book)) for p in built_book.rglob("*.html")
                  if p.name not in ("search.html", "genindex.html")
                  and "_static" not in p.parts and "_sources" not in p.parts)


_HTML_CACHE: dict = {}


def _html(path):
    if path not in _HTML_CACHE:
        _HTML_CACHE[path] = path.read_text(encoding="utf-8")
    return _HTML_CACHE[path]


# a chapter's first load on a phone: budget of issue 17 (gzip, as a static host serves it)
PAGE_BUDGET_GZ, PAGE_BUDGET_REQUESTS = 500_000, 20
PHONE_LOOK = r"""() => {
    const vw = document.documentElement.clientWidth;
    const shown = e => e.offsetParent !== null || getComputedStyle(e).position === 'fixed';
    const clips = el => {
      for (let a = el; a && a !== document.body; a = a.parentElement) {
        const ox = getComputedStyle(a).overflowX;
        if (ox === 'auto' || ox === 'scroll' || ox === 'hidden' || ox === 'clip') return a;
      }
      return null;
    };
    const wideTables = [...document.querySelectorAll('article table')].filter(t => {
      const r = (clips(t) || t).getBoundingClientRect();
      return r.right > vw + 1 || r.left < -1;
    }).map(t => (t.querySelector('caption, th') || t).innerText.slice(0, 40));
    const RAW = /\\\(|\\\[|\$\$|\\frac|\\mathrm|\^\{|_\{/;
    const math = [...document.querySelectorAll('span.math, div.math')];
    return {
      width: document.documentElement.scrollWidth, wideTables,
      searchBoxes: [...document.querySelectorAll(
          'input[type=search], input[name=q], .search-button__button')].filter(shown).length,
      favicon: (document.querySelector('link[rel~=icon]') || {}).href || null,
      emptyToggles: [...document.querySelectorAll('details.above-input, details.below-input')]
          .filter(d => !d.querySelector('pre, .cell_output') ||
                       !(d.querySelector('pre') || d).textContent.trim()).length,
      math: math.length,
      rawMath: math.filter(e => !e.querySelector('mjx-container') || RAW.test(e.textContent))
          .map(e => e.textContent.slice(0, 60)),
      mathjaxScript: !!document.querySelector('script[src*="mathjax"], script[src*="tex-"]'),
      iconKit: !!document.querySelector('script[src*="fontawesome"]'),
    };
}"""


@pytest.fixture(scope="module")
def phone_loads(built_book, book_server, browser):
    """Every page once, first load (empty cache) at 390x844: what it fetched, what the console
    said, and what it shows."""
    import gzip
    out = {}
    for rel in _pages(built_book):
        if 'http-equiv="Refresh"' in _html(built_book / rel):
            continue  # index.html only redirects to the intro
        ctx = browser.new_context(viewport={"width": 390, "height": 844})
        page = ctx.new_page()
        urls, console = [], []
        page.on("request", lambda r, urls=urls: urls.append(r.url)
                if not r.url.startswith("data:") else None)
        page.on("console", lambda m, c=console: c.append(f"{m.type}: {m.text}")
                if m.type in ("error", "warning") else None)
        page.on("pageerror", lambda e, c=console: c.append(f"pageerror: {e}"))
        page.goto(f"{book_server}/{rel}", wait_until="load")
        look = page.evaluate(PHONE_LOOK)
        ctx.close()
        gz = 0
        for url in urls:
            f = built_book / urlparse(url).path.lstrip("/")
            if f.is_file():
                gz += len(gzip.compress(f.read_bytes(), compresslevel=6, mtime=0))
        out[rel] = dict(look, requests=len(urls), gz=gz, console=console)
    return out


def test_no_page_overflows_a_phone_screen(phone_loads):
    """At a 390-pixel-wide viewport nothing makes the page scroll sideways: wide tables and
    equations scroll inside their own box, long code names wrap."""
    wide = [f"{rel} ({p['width']} px)" for rel, p in phone_loads.items() if p["width"] > 390]
    assert not wide, f"pages wider than a 390 px phone screen: {wide}"
    tables = {rel: p["wideTables"] for rel, p in phone_loads.items() if p["wideTables"]}
    assert not tables, f"tables running past a 390 px screen: {tables}"


def test_pages_are_light(phone_loads):
    """A first load stays within 500 KB (gzip) and 20 requests: no icon kit, no MathJax."""
    assert "chapters/01_optimal_batch.html" in phone_loads
    for rel, p in phone_loads.items():
        assert p["gz"] <= PAGE_BUDGET_GZ, f"{rel}: {p['gz'] / 1000:.0f} KB compressed"
        assert p["requests"] <= PAGE_BUDGET_REQUESTS, f"{rel}: {p['requests']} requests"
        assert not p["iconKit"], f"{rel}: loads the Font Awesome kit"
        assert not p["mathjaxScript"], f"{rel}: loads MathJax (math is typeset at build time)"


def test_pages_are_quiet(phone_loads):
    """No console error or warning on any page; a favicon; one search box; no empty toggle."""
    for rel, p in phone_loads.items():
        assert not p["console"], f"{rel}: {p['console'][:3]}"
        assert p["favicon"] and not p["favicon"].endswith("/favicon.ico"), rel
        assert p["searchBoxes"] == 1, f"{rel}: {p['searchBoxes']} search boxes"
        assert p["emptyToggles"] == 0, f"{rel}: {p['emptyToggles']} empty toggle bars"


def test_math_is_typeset_in_the_html(phone_loads):
    """Every formula arrives typeset (SVG made at build time): no raw TeX, ever."""
    for rel, p in phone_loads.items():
        assert not p["rawMath"], f"{rel}: raw TeX {p['rawMath'][:3]}"
        if rel.startswith("chapters/"):
            assert p["math"] >= 10, f"{rel}: only {p['math']} formulas"


def test_favicon_and_search_snippets(built_book):
    """The favicon exists; the search index holds prose, not code cells' source."""
    import json
    assert (built_book / "_static" / "favicon.svg").stat().st_size < 2000
    index = (built_book / "searchindex.js").read_text(encoding="utf-8")
    terms = json.loads(index[index.index("(") + 1:index.rindex(")")])["terms"]
    assert "batch" in terms
    for code_only in ("fp8_ratio", "def", "plt", "mathrm", "frac"):  # code cells, TeX
        assert code_only not in terms, code_only


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
        # figures load lazily (when a reader scrolls near them): load them all now
        page.evaluate("""() => Promise.all([...document.querySelectorAll('article img')].map(
            i => { i.loading = 'eager'; return i.decode().catch(() => null); }))""")
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


def test_chapter_tables_and_figures_are_numbered_in_their_chapter(built_book):
    """Captions and references read "Table 4.2": chapter 4's second table."""
    for page in sorted((built_book / "chapters").glob("*.html")):
        html = _html(page)
        chapter = re.search(r"<h1>\s*(\d+)\.\s", html).group(1)
        numbers = re.findall(r'<span class="caption-number">(?:Table|Fig\.) ([\d.]+) </span>', html)
        assert numbers, f"{page.name}: no numbered caption"
        assert all(n.startswith(f"{chapter}.") for n in numbers), f"{page.name}: {numbers[:5]}"
