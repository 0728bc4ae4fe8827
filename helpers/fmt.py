"""Formatting for prose and tables: numbers a reader can read, deterministic on every machine,
and text a reader wrote (a hardware file's name, notes, sources) kept as text on every page.

User text reaches pages in four contexts, each with its own escape: Markdown (and MyST) prose
and table cells (:func:`md_text`, :func:`md_cell`), HTML (:func:`html_text`), a link target
(:func:`md_url`) and LaTeX (:func:`latex_text`). Chapters build table cells with f-strings that
mix a part's name into other text, so the escape for the run's own accelerator is also applied
where every table and Markdown output is made: :func:`protect_user_text` registers the strings
of a reader's file (``Chapter`` does it for a hardware file; a re-run also passes them to every
kernel in ``HELPERS_USER_TEXT``), and :func:`md_table` and
:func:`helpers.notebook.show_markdown` escape each occurrence. Catalog text is the book's own
and is shown as written.
"""
from __future__ import annotations

import json
import math
import os
import re


def num(x: float, sig: int = 3) -> str:
    """``sig`` significant figures with thousands separators: 2363.1 -> '2,360';
    0.01234 -> '0.0123'."""
    x = float(x)
    if x == 0 or not math.isfinite(x):
        return str(x)
    digits = sig - int(math.floor(math.log10(abs(x)))) - 1
    r = round(x, digits)
    if r and math.floor(math.log10(abs(r))) > math.floor(math.log10(abs(x))):
        digits -= 1      # rounding carried into a new digit (99.97 -> 100, not 100.0)
        r = round(x, digits)
    if digits <= 0:
        return f"{int(r):,}"
    return f"{r:,.{digits}f}"


def sci(x: float, sig: int = 3) -> str:
    """Scientific notation for prose and tables: 3.79e+25 -> '3.79 × 10²⁵'."""
    mant, exp = f"{float(x):.{sig - 1}e}".split("e")
    sup = str(int(exp)).translate(str.maketrans("-0123456789", "⁻⁰¹²³⁴⁵⁶⁷⁸⁹"))
    return f"{mant} × 10{sup}"


def integer(x: float) -> str:
    return f"{round(float(x)):,}"


def pct(x: float, sig: int = 2) -> str:
    """A fraction as a percentage; rounding noise (|x| < 1e-12, e.g. 1 - a/a) prints as 0 %."""
    if abs(x) < 1e-12:
        return "0 %"
    return f"{num(100 * x, sig)} %"


def duration(seconds: float) -> str:
    """A time in the largest unit it fills: 0.0239 -> '23.9 ms', 1182 -> '19.7 min'."""
    for unit, size in (("h", 3600), ("min", 60), ("s", 1), ("ms", 1e-3)):
        if seconds >= size:
            return f"{num(seconds / size)} {unit}"
    return f"{num(seconds * 1e3)} ms"


# --- user text --------------------------------------------------------------------------------
_ASCII_PUNCT = re.compile(r"([!-/:-@\[-`{-~])")     # every ASCII punctuation character
USER_TEXT_ENV = "HELPERS_USER_TEXT"
_USER_TEXT: list[str] = []


def one_line(text) -> str:
    return " ".join(str(text).split())


def md_text(text) -> str:
    """Text shown as itself in Markdown/MyST prose or a table cell: one line, every ASCII
    punctuation character backslash-escaped (CommonMark's rule: an escaped character is a
    literal), so no emphasis, link, image, raw HTML, entity, role, math (``$``) or table cell
    boundary (``|``) can start in it."""
    return _ASCII_PUNCT.sub(r"\\\1", one_line(text))


def md_cell(text) -> str:
    """One Markdown table cell holding ``text`` as itself."""
    return md_text(text)


def md_code(text) -> str:
    """Text shown as itself in Markdown prose, as inline code: a code span is literal in every
    renderer (no escapes, markup, entities or typographic quotes), its fence longer than any
    run of backticks in the text. Not for table cells (a bar there still ends the cell)."""
    text = one_line(text)
    longest = max((len(m) for m in re.findall(r"`+", text)), default=0)
    fence = "`" * (longest + 1)
    pad = " " if text[:1] in ("`", " ") or text[-1:] in ("`", " ") else ""
    return f"{fence}{pad}{text}{pad}{fence}"


def html_text(text) -> str:
    """Text shown as itself in HTML (element content or a quoted attribute)."""
    import html
    return html.escape(str(text), quote=True)


def latex_text(text) -> str:
    """Text shown as itself inside LaTeX (``\\text{...}``): its special characters escaped."""
    table = {"\\": r"\textbackslash{}", "{": r"\{", "}": r"\}", "$": r"\$", "&": r"\&",
             "#": r"\#", "^": r"\^{}", "_": r"\_", "%": r"\%", "~": r"\~{}"}
    return "".join(table.get(c, c) for c in one_line(text))


def md_url(url: str) -> str:
    """A URL as a Markdown link target: characters that would end or break the target
    (space, parentheses, angle brackets, quotes, backslash) percent-encoded. A URL the book
    validated (https, a host, no such characters) comes out unchanged."""
    from urllib.parse import quote
    return quote(str(url), safe="!#$%&*+,-./:;=?@[]_~")


def protect_user_text(strings) -> None:
    """Register strings a reader wrote (the run's accelerator name, vendor, ...): every table
    cell and Markdown output made afterwards in this process escapes them (:func:`protect`)."""
    for s in strings:
        s = str(s) if s is not None else ""
        if s.strip() and md_text(s) != s and s not in _USER_TEXT:
            _USER_TEXT.append(s)
    _USER_TEXT.sort(key=len, reverse=True)        # the longest first: one may contain another


def _from_environment() -> None:
    raw = os.environ.get(USER_TEXT_ENV)
    if raw:
        try:
            strings = json.loads(raw)
        except ValueError:
            return
        if isinstance(strings, list):
            protect_user_text(x for x in strings if isinstance(x, str))


_from_environment()


def protect(text: str) -> str:
    """``text`` with every registered user string escaped for Markdown (an escaped string no
    longer contains the raw one, so text escaped twice stays right)."""
    text = str(text)
    for s in _USER_TEXT:
        if s in text:
            text = text.replace(s, md_text(s))
    return text


def md_table(headers: list[str], rows: list[list], align: str | None = None) -> str:
    """A Markdown (MyST) table; ``align`` is one of l/r/c per column. A registered user string
    in a cell is escaped (:func:`protect`), so it stays inside its cell, as text."""
    align = align or "l" + "r" * (len(headers) - 1)
    marks = {"l": ":--", "r": "--:", "c": ":-:"}
    cells = (lambda c: protect(str(c))) if _USER_TEXT else str
    lines = ["| " + " | ".join(cells(h) for h in headers) + " |",
             "|" + "|".join(marks[a] for a in align) + "|"]
    lines += ["| " + " | ".join(cells(c) for c in row) + " |" for row in rows]
    return "\n".join(lines)


def source_link(field) -> str:
    """A catalog field's source as a Markdown link that says what it is, in words:
    ``[primary](url)``, ``[secondary](url)``, ``[derived](url)`` or ``[measured](url)``; a
    value set with --set has no page and prints ``override``. A table row leads to the origin
    of its number in one click, and the reader sees what kind of origin before clicking."""
    word = md_text(field.source.tag)
    return f"[{word}]({md_url(field.source.url)})" if field.source.url else word


def source_links(*fields) -> str:
    """Several fields' sources in one cell: one link per distinct source, comma-separated
    (``[primary](url1), [secondary](url2)``), so two numbers from one page give one link."""
    seen, out = set(), []
    for field in fields:
        key = (field.source.tag, field.source.url)
        if key not in seen:
            seen.add(key)
            out.append(source_link(field))
    return ", ".join(out)
