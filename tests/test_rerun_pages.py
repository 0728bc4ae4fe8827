"""No user text is ever interpreted: a variant book built for a hardware file whose name, vendor,
notes, source title and notes carry a script, entity-encoded tags, Markdown emphasis, a link,
a remote image, a table-cell bar and TeX is loaded in headless Chromium: no script runs, no
element is injected, no request leaves the machine, and each text shows as itself.

One re-run of a three-cell chapter that shows the run's part the way the book's chapters do
(a table row built with an f-string, a glued name, a printed line), with ``--build``: the
comparison page, the chapter, the claims ledger and the appendices of the variant book.
"""
from __future__ import annotations

import functools
import http.server
import json
import threading
from urllib.parse import urlparse

import pytest
import yaml

from helpers import catalog, paths
from helpers.__main__ import main
from helpers.hardware_file import hardware_document

LOCAL = {"127.0.0.1", "localhost"}

NAME = "X1 <script>document.title='XSS1'</script> &#60;img src=x onerror=alert(2)&#62;"
VENDOR = "**B** [L](https://evil.example/l) ![I](https://evil.example/t.png) | $x^2$ <i>"
NOTES = "&lt;script&gt;document.title='XSS3'&lt;/script&gt; \\(y^2\\) $$z$$ {sub}`q` [n]: x"
TITLE = "<img src=https://evil.example/a.png onerror=alert(4)> [T](javascript:alert(5)) |"
FIELD_NOTE = "<iframe src=https://evil.example/f></iframe> ![J](https://evil.example/j.png)"
TEXTS = (NAME, VENDOR)        # shown in the chapter; all of them on the catalog pages


def _hostile_file(path):
    doc = yaml.safe_load(hardware_document(catalog.lookup("accelerators", "h100")))
    entry = doc["entries"].pop("h100")
    entry.pop("aliases")
    entry.update(name=NAME, vendor=VENDOR, notes=NOTES)
    entry["hbm_bandwidth"].update(value=6.7, note=FIELD_NOTE)
    doc["sources"]["gk_h100"]["title"] = TITLE
    doc["entries"] = {"x1": entry}
    path.write_text(yaml.safe_dump(doc, sort_keys=False, allow_unicode=True))


def _chapter(path):
    import nbformat
    from nbformat.v4 import new_code_cell, new_markdown_cell, new_notebook

    code = ("from helpers.chapter import Chapter\n"
            "from helpers.fmt import integer, source_link\n"
            "ch = Chapter(accelerator, overrides)\n"
            "acc = ch.acc\n"
            "ch.publish('tiny_flops_per_byte', acc.bf16_dense_flops / acc.hbm_bandwidth,\n"
            "           'FLOP/byte', 'F / W', part=acc.key)\n"
            "ch.text('tiny_vendor', acc.text['vendor'])\n"
            "rows = [[f\"{acc.name}: F/W = {integer(acc.bf16_dense_flops / acc.hbm_bandwidth)}\",\n"
            "         acc.text['vendor'], source_link(acc.fields['hbm_bandwidth'])]]\n"
            "ch.table(['reading', 'vendor', 'source'], rows)\n"
            "print(acc.name)")
    nb = new_notebook(cells=[
        new_markdown_cell("# 9. A tiny chapter\n\nThe run's part is "
                          "{glue:text}`run_accelerator_name` by {glue:text}`tiny_vendor`.\n\n"
                          "(sec-tiny)=\n## The table"),
        new_code_cell('accelerator = "h100"\noverrides = {}', metadata={"tags": ["parameters"]}),
        new_code_cell(code)])
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3",
                                 "language": "python"}
    nbformat.write(nb, path)


@pytest.fixture(scope="module")
def hostile_book(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("hostile")
    chapters = tmp / "chapters"
    chapters.mkdir()
    _chapter(chapters / "09_tiny.ipynb")
    _hostile_file(tmp / "x1.yaml")
    mp = pytest.MonkeyPatch()
    mp.setattr(paths, "CHAPTERS", chapters)
    try:
        rc = main(["rerun", "--hardware", str(tmp / "x1.yaml"), "--out", str(tmp / "out"),
                   "--build", "--jobs", "1"])
    finally:
        mp.undo()
    assert rc == 0
    html = tmp / "out" / "book" / "_build" / "html"
    assert (html / "index.html").exists()
    return html


@pytest.fixture(scope="module")
def server(hostile_book):
    class Quiet(http.server.SimpleHTTPRequestHandler):
        def log_message(self, *args):
            pass
    httpd = http.server.ThreadingHTTPServer(
        ("127.0.0.1", 0), functools.partial(Quiet, directory=str(hostile_book)))
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{httpd.server_address[1]}"
    httpd.shutdown()
    httpd.server_close()



PAGES = ["comparison.html", "this_run.html", "chapters/09_tiny.html",
         "appendices/claims_ledger.html", "appendices/accelerators.html", "appendices/sweep.html"]

INJECTED = """() => ({
    title: document.title,
    onerror: document.querySelectorAll('[onerror]').length,
    evil: [...document.querySelectorAll('[src], [href], [srcdoc], iframe, script')]
        .filter(e => /evil\\.example|javascript:/.test((e.getAttribute('src') || '') + ' '
                     + (e.getAttribute('href') || '') + ' ' + (e.getAttribute('srcdoc') || ''))
                || (e.tagName === 'SCRIPT' && /XSS/.test(e.textContent))
                || e.tagName === 'IFRAME')
        .map(e => e.outerHTML),
    strong: [...document.querySelectorAll('article strong, article b, article i')]
        .map(e => e.textContent).filter(t => t === 'B' || t === 'i'),
    glued: [...document.querySelectorAll('article p')].map(e => e.textContent)
        .filter(t => t.startsWith("The run")),
    math: [...document.querySelectorAll('mjx-container')]
        .filter(e => /y\\^2|z|x\\^2/.test(e.textContent)).length,
    text: document.querySelector('article') ? document.querySelector('article').innerText : '',
})"""


@pytest.mark.parametrize("page", PAGES)
def test_a_readers_text_shows_as_itself_and_never_runs(hostile_book, server, browser, page):
    ctx = browser.new_context()
    tab = ctx.new_page()
    outside, dialogs = [], []

    def route(r):
        host = urlparse(r.request.url).hostname
        if r.request.url.startswith(("data:", "blob:")) or host in LOCAL:
            r.continue_()
        else:
            outside.append(r.request.url)
            r.abort()
    tab.route("**/*", route)
    tab.on("dialog", lambda d: (dialogs.append(d.message), d.dismiss()))
    response = tab.goto(f"{server}/{page}", wait_until="load")
    assert response.ok, page
    tab.wait_for_function("""() => !document.querySelector('script[src*="mathjax"]') ||
        (window.MathJax && window.MathJax.startup && window.MathJax.startup.promise)""",
                          timeout=20000)
    tab.evaluate("() => window.MathJax && window.MathJax.startup && window.MathJax.startup.promise")
    tab.wait_for_timeout(200)
    info = tab.evaluate(INJECTED)
    ctx.close()
    assert not outside, f"{page}: requests left the machine: {outside}"
    assert not dialogs, f"{page}: a script ran: {dialogs}"
    assert "XSS" not in info["title"], info["title"]
    assert info["onerror"] == 0 and info["evil"] == [], info["evil"]
    assert info["strong"] == [], f"{page}: markup from the reader's text rendered"
    assert info["math"] == 0, f"{page}: the reader's TeX was typeset"
    text = " ".join(info["text"].split())
    if page not in ("appendices/claims_ledger.html", "appendices/sweep.html"):
        assert NAME in text, f"{page}: the name is not shown as itself"
    if page == "chapters/09_tiny.html":           # glued into prose, as chapters 2-5 do
        assert [" ".join(t.split()) for t in info["glued"]] == \
            [f"The run's part is {NAME} by {VENDOR}."]
    if page in ("chapters/09_tiny.html", "appendices/accelerators.html", "this_run.html"):
        assert VENDOR in text, f"{page}: the vendor is not shown as itself (or split by '|')"
    if page in ("appendices/accelerators.html", "this_run.html"):
        for shown in (NOTES, TITLE, FIELD_NOTE):
            assert shown in text, f"{page}: {shown[:30]}... is not shown as itself"


def test_the_chapter_table_keeps_the_bar_inside_its_cell(hostile_book):
    from html.parser import HTMLParser

    class Cells(HTMLParser):
        rows: list = []

        def handle_starttag(self, tag, attrs):
            if tag == "tr":
                self.rows.append([])
            elif tag in ("td", "th"):
                self.rows[-1].append("")
                self.cell = True

        def handle_endtag(self, tag):
            if tag in ("td", "th"):
                self.cell = False

        def handle_data(self, data):
            if getattr(self, "cell", False):
                self.rows[-1][-1] += data

    parser = Cells()
    parser.rows = []
    parser.feed((hostile_book / "chapters" / "09_tiny.html").read_text(encoding="utf-8"))
    rows = [r for r in parser.rows if r and r[0].startswith("X1")]
    assert rows and all(len(r) == 3 for r in rows), rows
    assert rows[0][1] == VENDOR


def test_no_page_shows_an_absolute_or_staging_path(hostile_book):
    out = hostile_book.parent.parent.parent
    for page in hostile_book.rglob("*.html"):
        text = page.read_text(encoding="utf-8")
        assert ".partial-" not in text, page
        assert str(out.parent) not in text, f"{page}: shows {out.parent}"
    manifest = json.loads((out / "rerun.json").read_text())
    assert manifest["accelerator"] == "x1"
