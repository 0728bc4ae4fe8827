"""The book's web pages: light, quiet and readable on a phone (a Sphinx extension, listed in
``_config.yml``).

At build time, for the HTML builder only:

* **Math is typeset at build time.** Every ``\\(..\\)``/``\\[..\\]`` (and myst-nb's text/latex
  outputs) becomes MathJax 3 SVG, rendered once by Node (``mathjax-full``, installed by
  ``setup.sh`` under ``.venv/mathjax``) with one glyph cache per page and a hidden MathML copy
  for screen readers. No MathJax script runs in the browser, so raw TeX is never shown, and it
  works from ``file://``. A TeX error fails the build naming the page and the formula.
* **No Font Awesome kit.** The theme's ``<i class="fa-...">`` icons become inline SVG (paths
  read from the theme's own pinned Font Awesome Free copy, CC BY 4.0), the CSS icons of
  admonitions become masks; the 1.5 MB script is not loaded.
* **Few requests.** Each page's local stylesheets are served as one file, its scripts as one
  synchronous and one deferred file (``_static/site-*.css|js``, named by content hash); Thebe,
  sphinx-design (when a page uses none of it), the search scripts (except on the search page)
  and duplicated inline scripts are dropped.
* **Search snippets without code or TeX**: code cells are not indexed, and the search page
  strips code cells and math from the text it shows (``_static/search-snippets.js``, which
  Jupyter Book adds to every page, like every script in ``_static/``; it acts on the search page).
* Empty "Show code cell source" toggles (a hidden cell with no source) are removed.
* Tables and figures of a chapter are numbered in it ("Table 4.2", captions and references).
* Phone tables: each body cell gets its column's name (``data-label``), and a table with a
  "verdict" column the class ``has-verdict`` (``_static/book.css`` makes its rows cards).
"""
from __future__ import annotations

import hashlib
import html
import json
import posixpath
import re
import shutil
import subprocess
import sys
from pathlib import Path

from docutils import nodes
from sphinx.errors import ExtensionError
from sphinx.ext import mathjax as sphinx_mathjax
from sphinx.util import logging

logger = logging.getLogger(__name__)

MATHJAX_DIR = Path(sys.prefix) / "mathjax" / "node_modules"
MARK = '<meta name="book-site" content="post-processed" />'

# Node: read [[ [tex, display], ... ] per page] as JSON on stdin, print
# {css, pages: [{html: [svg or {error}], cache}]}: one glyph cache per page.
TEX2SVG = r"""
const base = process.argv[1] + '/mathjax-full/js/';
const req = m => require(base + m);
const {mathjax} = req('mathjax.js');
const {TeX} = req('input/tex.js');
const {SVG} = req('output/svg.js');
const {liteAdaptor} = req('adaptors/liteAdaptor.js');
const {RegisterHTMLHandler} = req('handlers/html.js');
const {AssistiveMmlHandler} = req('a11y/assistive-mml.js');
const {AllPackages} = req('input/tex/AllPackages.js');
const adaptor = liteAdaptor();
AssistiveMmlHandler(RegisterHTMLHandler(adaptor));
const tex = new TeX({packages: AllPackages.filter(p => p !== 'bussproofs'),
                     formatError: (jax, err) => { throw err; }});
const svg = new SVG({fontCache: 'global'});
const doc = mathjax.document('', {InputJax: tex, OutputJax: svg});
let buf = '';
process.stdin.on('data', d => buf += d);
process.stdin.on('end', () => {
  const res = {css: adaptor.textContent(svg.styleSheet(doc)), pages: []};
  for (const items of JSON.parse(buf)) {
    svg.fontCache.clearCache();
    const out = items.map(([t, display]) => {
      try {
        return adaptor.outerHTML(doc.convert(t, {display, em: 16, ex: 8, containerWidth: 1280}));
      } catch (e) { return {error: String(e.message || e)}; }
    });
    const cache = adaptor.outerHTML(svg.svg('svg', {id: 'MJX-SVG-global-cache',
      style: {display: 'none'}, 'aria-hidden': 'true'}, [svg.fontCache.getCache()]));
    res.pages.push({html: out, cache});
  }
  process.stdout.write(JSON.stringify(res));
});
"""

MATH_RE = re.compile(
    r'<(span|div)( class="(?:output text_latex )?math notranslate nohighlight"[^>]*)>(.*?)</\1>',
    re.S)
EQNO_RE = re.compile(r'<span class="eqno">.*?</span>', re.S)
ICON_RE = re.compile(r'<(i|span) class="([^"]*\bfa-[^"]*)"([^>]*)>\s*</\1>')
STYLESHEET_RE = re.compile(r'<link (?=[^>]*rel="stylesheet")[^>]*href="([^"]+)"[^>]*/?>\s*')
SCRIPT_RE = re.compile(r'<script(?P<attrs>[^>]*)>(?P<body>.*?)</script>\s*', re.S)
SRC_RE = re.compile(r'\bsrc="([^"]+)"')
PRELOAD_RE = re.compile(r'<link rel="preload" as="script" href="[^"]+" />\s*')
URL_RE = re.compile(r'url\((["\']?)(?!data:|https?:|/|#)([^)"\']+)\1\)')

# theme icons (Font Awesome names as the theme's templates write them) -> solid/brand pack
FA_PREFIX = {"fab": "brands", "fa-brands": "brands"}
FA_STYLES = ("fa", "fas", "fab", "far", "fa-solid", "fa-brands", "fa-regular")
# icons that CSS draws before/after text (admonition titles, links): selector -> icon
CSS_ICONS = {
    ".admonition>.admonition-title:after, div.admonition>.admonition-title:after": "bell",
    ".admonition.note>.admonition-title:after, div.admonition.note>.admonition-title:after":
        "circle-info",
    ".admonition.tip>.admonition-title:after, .admonition.hint>.admonition-title:after":
        "lightbulb",
    ".admonition.warning>.admonition-title:after, .admonition.caution>.admonition-title:after,"
    " .admonition.danger>.admonition-title:after, .admonition.attention>.admonition-title:after,"
    " .admonition.error>.admonition-title:after": "triangle-exclamation",
    ".admonition.important>.admonition-title:after": "circle-exclamation",
    ".admonition.seealso>.admonition-title:after": "share",
    ".nav-link.nav-external:after, nav.bd-links li>a.reference.external:after":
        "up-right-from-square",
    "ul.bd-breadcrumbs li.breadcrumb-item:not(.breadcrumb-home):before": "angle-right",
    "a.reference.download:before": "download",
    ".bd-sidebar-secondary.hide:not(:hover) .onthispage:after": "angle-down",
    "span.versionmodified:before": "circle-exclamation",
}


# ---------------------------------------------------------------- search index: no code
def _skip_code_in_search_index() -> None:
    """Code (cells' source, printed output) and TeX are not indexed: a search finds prose."""
    from sphinx.search import IndexBuilder

    if getattr(IndexBuilder, "_book_skips_code", False):
        return
    original = IndexBuilder._word_collector

    def skipped(node) -> bool:
        return isinstance(node, (nodes.literal_block, nodes.math, nodes.math_block)) or (
            isinstance(node, nodes.Element) and "cell_input" in node.get("classes", []))

    def word_collector(self, doctree):
        doctree = doctree.deepcopy()
        for node in list(doctree.findall(skipped)):
            if node.parent is not None:
                node.parent.remove(node)
        return original(self, doctree)

    IndexBuilder._word_collector = word_collector
    IndexBuilder._book_skips_code = True


# ---------------------------------------------------------------- unneeded assets
DROP_SCRIPT_RE = re.compile(
    r'<script[^>]*src="[^"]*(?:sphinx-thebe\.js|fontawesome\.js)[^"]*"[^>]*></script>\s*'
    r'|<script type="text/x-thebe-config">.*?</script>\s*'
    r'|<script>[^<]*THEBE_JS_URL[^<]*</script>\s*', re.S)
DROP_CSS_RE = re.compile(r'<link[^>]*href="[^"]*sphinx-thebe\.css[^"]*"[^>]*/>\s*')
DESIGN_RE = re.compile(r'<link[^>]*href="[^"]*sphinx-design[^"]*\.css[^"]*"[^>]*/>\s*'
                       r'|<script[^>]*src="[^"]*design-tabs\.js[^"]*"[^>]*></script>\s*')
SEARCH_JS = ("searchtools.js", "language_data.js")
# images load when a reader scrolls near them (figures, the launch menu's logos)
LAZY_IMG_RE = re.compile(r'<img (?![^>]*\bloading=)')
INLINE_RE = re.compile(r'<script>(?:(?!</script>).)*</script>\s*', re.S)


def _drop_assets(page: str) -> str:
    """Thebe (no live code here), the icon kit, sphinx-design where the page uses none of it,
    and inline scripts that Jupyter Book writes twice (a `const` declared twice is an error)."""
    head_end = page.index("</head>")
    head, rest = page[:head_end], page[head_end:]
    head = DROP_CSS_RE.sub("", DROP_SCRIPT_RE.sub("", head))
    rest = DROP_SCRIPT_RE.sub("", rest)
    if 'class="sd-' not in rest and " sd-" not in rest:
        head = DESIGN_RE.sub("", head)
    seen = set()

    def once(m):
        key = m.group(0).strip()
        if key in seen:
            return ""
        seen.add(key)
        return m.group(0)

    return INLINE_RE.sub(once, head) + rest


# ---------------------------------------------------------------- math
def _math_items(page: str) -> list[tuple[str, bool]]:
    items = []
    for m in MATH_RE.finditer(page):
        body = m.group(3)
        if "<mjx-container" in body:
            continue
        tex = html.unescape(EQNO_RE.sub("", body)).strip()
        items.append(_split_delims(tex, m.group(1) == "div"))
    return items


def _split_delims(tex: str, block: bool) -> tuple[str, bool]:
    for left, right, display in (("\\(", "\\)", False), ("\\[", "\\]", True),
                                 ("$$", "$$", True), ("$", "$", False)):
        if tex.startswith(left) and tex.endswith(right) and len(tex) >= len(left) + len(right):
            return tex[len(left):len(tex) - len(right)], display
    return tex, block  # an amsmath environment (\begin{align}...) or nowrap content


def _typeset(pages: list[list[tuple[str, bool]]]) -> dict:
    node = shutil.which("node")
    if not node or not (MATHJAX_DIR / "mathjax-full").is_dir():
        raise ExtensionError(
            f"helpers.sphinx_site: build-time math needs Node and mathjax-full in {MATHJAX_DIR}"
            " (run ./setup.sh)")
    proc = subprocess.run([node, "-e", TEX2SVG, str(MATHJAX_DIR)], input=json.dumps(pages),
                          capture_output=True, text=True, timeout=600)
    if proc.returncode != 0:
        raise ExtensionError(f"helpers.sphinx_site: MathJax failed: {proc.stderr[-2000:]}")
    return json.loads(proc.stdout)


def _replace_math(page: str, rendered: list, name: str) -> str:
    it = iter(rendered)

    def sub(m):
        body = m.group(3)
        if "<mjx-container" in body:
            return m.group(0)
        svg = next(it)
        if isinstance(svg, dict):
            tex = html.unescape(EQNO_RE.sub("", body)).strip()
            raise ExtensionError(f"{name}: TeX error {svg['error']!r} in {tex[:200]!r}")
        eqno = EQNO_RE.search(body)
        return f"<{m.group(1)}{m.group(2)}>{eqno.group(0) if eqno else ''}{svg}</{m.group(1)}>"

    return MATH_RE.sub(sub, page)


# ---------------------------------------------------------------- icons
def _fa_icons(static: Path) -> dict[tuple[str, str], tuple[int, int, str]]:
    """Every icon in the theme's pinned Font Awesome Free script: (pack, name) -> (w, h, path)."""
    src = (static / "scripts" / "fontawesome.js").read_text(encoding="utf-8")
    icons: dict = {}
    # each pack is an object literal `var p={name:[w,h,[aliases],"unicode","path"],...}` that a
    # later `d("fab",p)` (brands), `d("far",p)` (regular) or `d("fas",p)` (solid) registers
    entry = re.compile(r'(?:"([a-z0-9-]+)"|([a-z0-9]+)):\[(\d+),(\d+),\[[^\]]*\],"[0-9a-f]+",'
                       r'"([^"]+)"\]')
    start = 0
    for reg in re.finditer(r'd\("fa([bsr])",p\)', src):
        pack = {"b": "brands", "s": "solid", "r": "regular"}[reg.group(1)]
        for m in entry.finditer(src, start, reg.start()):
            icons.setdefault((pack, m.group(1) or m.group(2)),
                             (int(m.group(3)), int(m.group(4)), m.group(5)))
        start = reg.end()
    return icons


def _svg_icon(icons, classes: str, extra: str, name: str) -> str:
    cls = classes.split()
    pack = "brands" if any(c in FA_PREFIX for c in cls) else "solid"
    names = [c[3:] for c in cls if c.startswith("fa-") and c not in (
        "fa-solid", "fa-brands", "fa-regular", "fa-lg", "fa-xs", "fa-sm", "fa-fw", "fa-2x")]
    for icon in names:
        if (pack, icon) in icons:
            w, h, d = icons[(pack, icon)]
            # as Font Awesome's own script does: the style prefix (fa-solid, fab...) goes, the
            # icon's name, its modifiers and the theme's classes stay (the theme's CSS uses them)
            keep = " ".join(c for c in cls if c not in FA_STYLES)
            return (f'<svg class="book-icon {keep}" data-icon="{icon}"{extra} viewBox="0 0 {w} {h}"'
                    f' aria-hidden="true" focusable="false"><path fill="currentColor"'
                    f' d="{d}"/></svg>')
    raise ExtensionError(f"{name}: no SVG for the icon {classes!r}")


def _icon_css(icons) -> str:
    rules = []
    for selector, icon in CSS_ICONS.items():
        w, h, d = icons[("solid", icon)]
        svg = (f"<svg xmlns='http://www.w3.org/2000/svg' viewBox='0 0 {w} {h}'>"
               f"<path d='{d}'/></svg>")
        url = "url(\"data:image/svg+xml," + svg.replace("#", "%23").replace('"', "'") + "\")"
        rules.append(f"{selector}{{content:\"\";font:inherit;display:inline-block;width:1em;"
                     f"height:1em;background-color:currentColor;-webkit-mask:{url} center/contain"
                     f" no-repeat;mask:{url} center/contain no-repeat}}")
    return "\n".join(rules) + "\n"


# ---------------------------------------------------------------- bundles
def _local(href: str, page_dir: str, outdir: Path) -> Path | None:
    if re.match(r"^(?:[a-z]+:)?//", href) or href.startswith("data:"):
        return None
    rel = posixpath.normpath(posixpath.join(page_dir, href.split("?")[0]))
    path = outdir / rel
    return path if path.is_file() else None


IMPORT_RE = re.compile(r'@import\s+(?:url\()?["\']?([^"\')]+)["\']?\)?\s*;')
# Font Awesome's own rules: one per icon glyph (.fa-bell:before{content:"\f0f3"}), unused here
FA_GLYPH_RE = re.compile(r'(?:\.fa-[a-z0-9-]+:(?:before|after),?)+\{content:[^{}]*\}')


def _css_text(path: Path, outdir: Path) -> str:
    """A stylesheet's text for a file in _static/: @imports inlined, relative url()s rewritten,
    Font Awesome's glyph rules dropped."""
    text = path.read_text(encoding="utf-8")
    here = path.parent.relative_to(outdir).as_posix()

    def fix(m):
        target = posixpath.normpath(posixpath.join(here, m.group(2)))
        return f'url("{posixpath.relpath(target, "_static")}")'

    def inline(m):  # after fix(): an @import url(...) is relative to _static/ by then
        base = outdir / "_static" if "url(" in m.group(0) else path.parent
        target = (base / m.group(1)).resolve()
        return _css_text(target, outdir) if target.is_file() else m.group(0)

    text = IMPORT_RE.sub(inline, URL_RE.sub(fix, text))
    text = re.sub(r"/\*# sourceMappingURL=[^*]*\*/", "", text)
    text = re.sub(r"@font-face\{[^{}]*Font Awesome[^{}]*\}", "", text)
    return FA_GLYPH_RE.sub("", text)


def _css_blocks(text: str):
    """Split CSS into top-level (prelude, body) pairs; body is None for `@import ...;`-style
    statements. Strings and comments are respected."""
    out, i, n, start, depth, body_start = [], 0, len(text), 0, 0, 0
    while i < n:
        c = text[i]
        if c in "\"'":
            j = i + 1
            while j < n and text[j] != c:
                j += 2 if text[j] == "\\" else 1
            i = j + 1
            continue
        if text.startswith("/*", i):
            i = text.find("*/", i + 2)
            i = n if i < 0 else i + 2
            continue
        if c == "{":
            if depth == 0:
                body_start = i
            depth += 1
        elif c == "}":
            depth -= 1
            if depth == 0:
                out.append((text[start:body_start].strip(), text[body_start + 1:i]))
                start = i + 1
        elif c == ";" and depth == 0:
            out.append((text[start:i + 1].strip(), None))
            start = i + 1
        i += 1
    return out


def _purge_css(text: str, used: set[str]) -> str:
    """Drop the rules no page can match: a selector naming a class or id that appears in no
    page and in no script is dead (scripts' class names count, so state classes survive)."""

    def alive(selector: str) -> bool:
        if "\\" in selector:
            return True
        names = re.findall(r"[.#](-?[_a-zA-Z][\w-]*)", re.sub(r"\[[^\]]*\]", "", selector))
        return all(name in used for name in names)

    out = []
    for prelude, body in _css_blocks(text):
        prelude = re.sub(r"/\*.*?\*/", "", prelude, flags=re.S).strip()
        if body is None:
            out.append(prelude)
        elif prelude.startswith("@"):
            if re.match(r"@(?:media|supports|layer|container)\b", prelude):
                inner = _purge_css(body, used)
                if inner.strip():
                    out.append(f"{prelude}{{{inner}}}")
            else:  # @font-face, @keyframes, @page...
                out.append(f"{prelude}{{{body}}}")
        else:
            selectors = [sel for sel in _split_selectors(prelude) if alive(sel)]
            if selectors:
                out.append(f"{','.join(selectors)}{{{body}}}")
    return "\n".join(out)


def _split_selectors(prelude: str) -> list[str]:
    """A selector list split at its top-level commas (not those inside :is(...) or [...])."""
    parts, depth, start = [], 0, 0
    for i, c in enumerate(prelude):
        if c in "([":
            depth += 1
        elif c in ")]":
            depth -= 1
        elif c == "," and depth == 0:
            parts.append(prelude[start:i].strip())
            start = i + 1
    parts.append(prelude[start:].strip())
    return [p for p in parts if p]


class _Bundles:
    def __init__(self, outdir: Path, extra_css: str, used: set[str] | None = None):
        self.outdir, self.extra_css, self.made, self.used = outdir, extra_css, {}, used

    def write(self, kind: str, paths: list[Path]) -> str:
        key = (kind, tuple(paths))
        if key not in self.made:
            if kind == "css":
                text = "\n".join(_css_text(p, self.outdir) for p in paths) + self.extra_css
                if self.used is not None:
                    text = _purge_css(text, self.used)
            else:  # ';' first and between: no file's "use strict" turns the whole bundle
                # strict (it is a directive only at a script's start), no missing ';' joins two
                text = ";\n" + "\n;\n".join(p.read_text(encoding="utf-8") for p in paths) + "\n"
            digest = hashlib.sha256(text.encode()).hexdigest()[:12]
            name = f"site-{digest}.{'css' if kind == 'css' else 'js'}"
            (self.outdir / "_static" / name).write_text(text, encoding="utf-8")
            self.made[key] = name
        return self.made[key]


def _bundle_page(page: str, page_dir: str, outdir: Path, bundles: _Bundles) -> str:
    head_end = page.index("</head>")
    head, rest = page[:head_end], page[head_end:]
    root = posixpath.relpath("_static", page_dir or ".")
    # stylesheets: one file where the first was
    css = [(m, _local(m.group(1), page_dir, outdir)) for m in STYLESHEET_RE.finditer(head)]
    css = [(m, p) for m, p in css if p is not None]
    if css:
        name = bundles.write("css", [p for _, p in css])
        first = css[0][0].start()
        for m, _ in reversed(css):
            head = head[:m.start()] + head[m.end():]
        head = (head[:first] + f'<link rel="stylesheet" href="{root}/{name}" />\n    '
                + head[first:])
    head = PRELOAD_RE.sub("", head)
    # scripts: the synchronous local ones of the head in one deferred file, so that they do
    # not hold up the first paint; documentation_options.js (the object the inline settings
    # below it extend) is written inline instead, so those settings still run in order
    # (the search page's own search scripts run as they load and need doctools' functions:
    # there the bundle stays synchronous and they stay as they are)
    search_page = any(f"{js}\"" in head or f"{js}?" in head for js in SEARCH_JS)
    sync, spans, options = [], [], ""
    for m in SCRIPT_RE.finditer(head):
        path = _script_path(m, page_dir, outdir)
        if path is None or "defer" in m.group("attrs") or path.name in SEARCH_JS:
            continue
        spans.append((m.start(), m.end()))
        if path.name == "documentation_options.js":
            options = f"<script>{path.read_text(encoding='utf-8').strip()}</script>\n    "
        else:
            sync.append(path)
    if spans:
        mode = "" if search_page else " defer"
        tag = options + (f'<script{mode} src="{root}/{bundles.write("js", sync)}"></script>\n    '
                         if sync else "")
        head = _cut(head, spans, tag)
    # inline scripts of the head before the stylesheet: a script after a stylesheet waits for
    # it, and holds up the parsing of the page's text meanwhile
    sheet = head.find('<link rel="stylesheet"')
    if sheet >= 0:
        inline = [m for m in SCRIPT_RE.finditer(head, sheet)
                  if not SRC_RE.search(m.group("attrs"))]
        if inline:
            moved = "".join(m.group(0) for m in inline)
            head = _cut(head, [(m.start(), m.end()) for m in inline], "")
            head = head[:sheet] + moved + head[sheet:]
    page = head + rest
    # the deferred ones (the theme's, at the end of the body) in another
    deferred, spans = [], []
    for m in SCRIPT_RE.finditer(page):
        path = _script_path(m, page_dir, outdir)
        if path is not None and "defer" in m.group("attrs"):
            deferred.append(path)
            spans.append((m.start(), m.end()))
    if spans:
        # where the last was (the end of the body): it is not fetched while the page's own
        # text and stylesheet still arrive; deferred scripts run after parsing in any case
        tag = f'<script defer src="{root}/{bundles.write("js", deferred)}"></script>\n'
        page = _cut(page, spans, tag, at_last=True)
    return page


def _script_path(m, page_dir: str, outdir: Path) -> Path | None:
    """The local _static/ file of a plain script tag (not async, no data- settings)."""
    src = SRC_RE.search(m.group("attrs"))
    if not src or re.search(r"\s(?:async|data-[a-z-]+)\b", m.group("attrs")):
        return None
    path = _local(src.group(1), page_dir, outdir)
    if path is None or "_static" not in path.relative_to(outdir).parts:
        return None
    return path


def _cut(text: str, spans: list[tuple[int, int]], insert: str, at_last: bool = False) -> str:
    """``text`` without the (sorted, disjoint) spans, ``insert`` where the first (or the last)
    one was."""
    pieces, pos, where = [], 0, len(spans) - 1 if at_last else 0
    for i, (s, e) in enumerate(spans):
        pieces.append(text[pos:s] + (insert if i == where else ""))
        pos = e
    return "".join(pieces) + text[pos:]


# ---------------------------------------------------------------- the page pass
EMPTY_TOGGLE_RE = re.compile(
    r'<div class="cell (?:[^"]*\s)?tag_hide-input[^"]*">\s*<details class="[^"]*above-input">'
    r'(?P<inner>.*?)</details>\s*(?P<tail>(?:<div class="cell_output.*?)?)</div>', re.S)


def _drop_empty_toggles(page: str) -> str:
    """A hidden cell whose source is empty: drop its toggle bar (keep any output)."""

    def sub(m):
        inner = re.sub(r"<summary.*?</summary>", "", m.group("inner"), flags=re.S)
        if html.unescape(re.sub(r"<[^>]+>", "", inner)).strip():
            return m.group(0)
        return m.group("tail").strip() and f'<div class="cell">{m.group("tail")}</div>' or ""

    return EMPTY_TOGGLE_RE.sub(sub, page)


def _used_names(outdir: Path, pages, rendered: dict) -> set[str]:
    """Every word of every page, every script under _static/ (but the icon kit, which names
    all its icons) and the typeset math: the class and id names a rule may need."""
    words = re.compile(r"[A-Za-z0-9_-]+")
    used = {"book-icon", "fa-lg", "has-verdict"}  # classes this module adds
    for text in pages:
        used.update(words.findall(text))
    for js in (outdir / "_static").rglob("*.js"):
        if js.name != "fontawesome.js" and not js.name.startswith("site-"):
            used.update(words.findall(js.read_text(encoding="utf-8", errors="replace")))
    for page in rendered.get("pages", []):
        used.update(words.findall(" ".join(h for h in page["html"] if isinstance(h, str))))
    # Bootstrap names some state classes at run time ("bs-tooltip-" + placement)
    return used | {"bs-tooltip-auto", "bs-tooltip-top", "bs-tooltip-bottom", "bs-tooltip-start",
                   "bs-tooltip-end", "bs-popover-auto"}


TABLE_RE = re.compile(r"<table(?P<attrs>[^>]*)>(?P<inner>.*?)</table>", re.S)
HEAD_CELL_RE = re.compile(r"<th\b[^>]*>(.*?)</th>", re.S)
ROW_RE = re.compile(r"<tr\b[^>]*>.*?</tr>", re.S)
CELL_RE = re.compile(r"<td\b")


def _label_cells(page: str) -> str:
    """Each body cell of a table with a header row gets its column's name (data-label), for a
    phone's card layout; a table with a "verdict" column is marked (class has-verdict) so that a
    phone shows the verdict first (see book.css)."""

    def table(m):
        inner = m.group("inner")
        head = re.search(r"<thead>(.*?)</thead>", inner, re.S)
        if not head or "data-label=" in inner:
            return m.group(0)
        labels = [html.escape(html.unescape(re.sub(r"<[^>]+>", "", h)).strip(), quote=True)
                  for h in HEAD_CELL_RE.findall(head.group(1))]
        if not labels:
            return m.group(0)

        def row(r):
            cells = iter(labels)
            return CELL_RE.sub(lambda c: f'<td data-label="{next(cells, "")}"', r.group(0))

        body_start = head.end()
        inner = inner[:body_start] + ROW_RE.sub(row, inner[body_start:])
        attrs = m.group("attrs")
        if any(lab.lower() == "verdict" for lab in labels):
            attrs = re.sub(r'class="', 'class="has-verdict ', attrs, count=1) \
                if 'class="' in attrs else attrs + ' class="has-verdict"'
        return f"<table{attrs}>{inner}</table>"

    return TABLE_RE.sub(table, page)


CAPTION_NUM_RE = re.compile(r'<span class="caption-number">(Table|Fig\.) (\d+) </span>')
NUMREF_RE = re.compile(r'(<span class="std std-numref">)(Table|Fig\.) (\d+)(</span>)')


def _chapter_numbers(texts: dict) -> dict[tuple[str, str], str]:
    """Sphinx numbers tables and figures once across the book ("Table 33"); on a chapter page
    (its title starts "4. ") they become "Table 4.2": the chapter, then the order in it."""
    renumber = {}
    for page in texts.values():
        title = re.search(r"<h1>\s*(\d+)\.\s", page)
        if not title:
            continue
        count: dict[str, int] = {}
        for m in CAPTION_NUM_RE.finditer(page):
            count[m.group(1)] = count.get(m.group(1), 0) + 1
            renumber[(m.group(1), m.group(2))] = f"{title.group(1)}.{count[m.group(1)]}"
    return renumber


def _renumber(page: str, renumber: dict) -> str:
    page = CAPTION_NUM_RE.sub(lambda m: '<span class="caption-number">'
                              f'{m.group(1)} {renumber.get(m.group(1, 2), m.group(2))} </span>',
                              page)
    return NUMREF_RE.sub(lambda m: f"{m.group(1)}{m.group(2)} "
                         f"{renumber.get(m.group(2, 3), m.group(3))}{m.group(4)}", page)


def _post_process(app, exc) -> None:
    if exc is not None or app.builder.format != "html":
        return
    outdir = Path(app.outdir)
    static = outdir / "_static"
    pages = [p for p in sorted(outdir.rglob("*.html"))
             if not ({"_static", "_sources", "_images"} & set(p.relative_to(outdir).parts))]
    texts = {p: p.read_text(encoding="utf-8") for p in pages}
    texts = {p: t for p, t in texts.items() if MARK not in t and "</head>" in t}
    if not texts:
        return
    math = {p: _math_items(t) for p, t in texts.items()}
    with_math = [p for p in texts if math[p]]
    rendered = _typeset([math[p] for p in with_math]) if with_math else {"css": "", "pages": []}
    icons = _fa_icons(static)
    extra_css = "\n/* MathJax SVG (build-time) */\n" + rendered["css"] + "\n" + _icon_css(icons)
    bundles = _Bundles(outdir, extra_css, _used_names(outdir, texts.values(), rendered))
    by_page = dict(zip(with_math, rendered["pages"]))
    renumber = _chapter_numbers(texts)
    for path, page in texts.items():
        name = path.relative_to(outdir).as_posix()
        page_dir = posixpath.dirname(name)
        if path in by_page:
            page = _replace_math(page, by_page[path]["html"], name)
            cache = by_page[path]["cache"]
            page = re.sub(r"(<body[^>]*>)", lambda m, c=cache: m.group(1) + c, page, count=1)
        page = _drop_assets(page)
        page = ICON_RE.sub(lambda m, n=name: _svg_icon(icons, m.group(2), m.group(3), n), page)
        if name == "search.html":  # the page's own search box is the one: no second one
            page = page.replace("</head>", "<style>.search-button__button, .search-button-field"
                                "{display: none !important}</style>\n</head>", 1)
        else:
            page = re.sub(r'<script src="[^"]*(?:searchtools|language_data)\.js"></script>\s*'
                          r'|<script src="[^"]*searchindex\.js"></script>\s*', "", page)
        page = _drop_empty_toggles(page)
        page = _label_cells(page)
        page = _renumber(page, renumber)
        if 'class="bd-sidebar-secondary' not in page:
            # sphinx-book-theme's margin-note observer assumes this sidebar exists (a page with
            # no "on this page" list has none): an empty, hidden one keeps it from throwing
            page = page.replace("</main>", '<div class="bd-sidebar-secondary" hidden></div>'
                                "</main>", 1)
        page = LAZY_IMG_RE.sub(r'<img loading="lazy" decoding="async" ', page)
        page = _bundle_page(page, page_dir, outdir, bundles)
        page = page.replace("<head>", "<head>\n    " + MARK, 1)
        path.write_text(page, encoding="utf-8")
    logger.info(f"helpers.sphinx_site: {len(texts)} pages, math typeset on {len(with_math)},"
                f" {len(bundles.made)} bundles")


def setup(app):
    app.add_html_math_renderer(
        "svg", (sphinx_mathjax.html_visit_math, None),
        (sphinx_mathjax.html_visit_displaymath, None))
    app.connect("build-finished", _post_process)
    _skip_code_in_search_index()
    return {"parallel_read_safe": True, "parallel_write_safe": True}
