"""What the appendices show, generated from the catalogs and the chapters' published results.

Nothing here is typed by hand: the claims ledger is assembled from ``claims.yaml`` (what was
claimed, by whom) and from the verdicts each chapter records with
:func:`helpers.results.record_claim`; the catalog pages print every field of every entry with its
unit, source, date and tag.
"""
from __future__ import annotations

import re
from pathlib import Path

from . import catalog, claims as _claims
from .fmt import md_cell, md_table, md_url, protect
from .results import read_claims

_ID_ORDER = ("RP", "SQ", "L3", "MISC", "GB")


def claim_sort_key(claim_id: str) -> tuple[int, int]:
    """RP-2 before RP-10, and the families in the order of the project's claims list."""
    family, number = claim_id.rsplit("-", 1)
    return _ID_ORDER.index(family), int(number)


def _cell(text: str) -> str:
    """Text safe inside one Markdown table cell (a reader's text in it escaped whole)."""
    return re.sub(r"(?<!\\)\|", r"\\|", protect(" ".join(str(text).split())))


def _chapter_number(stem: str) -> str:
    match = re.match(r"^(\d+)_", stem)
    return str(int(match.group(1))) if match else stem


def ledger_rows(chapters_dir: Path | str | None = None) -> list[dict]:
    """One row per claim id in ``claims.yaml``, in id order, joined with its recorded verdict.

    A claim no chapter has checked yet keeps ``verdict`` empty, so a test can name it."""
    recorded = read_claims(chapters_dir)
    unknown = sorted(set(recorded) - set(_claims.load()))
    if unknown:
        raise ValueError("verdicts recorded for claim ids not in claims.yaml: "
                         + ", ".join(unknown))
    rows = []
    for cid in sorted(_claims.load(), key=claim_sort_key):
        claim = _claims.get(cid)
        r = recorded.get(cid, {})
        rows.append({"id": cid, "claim": claim.text, "source_title": claim.source.title,
                     "source_url": claim.source.url, "source_tag": claim.source.tag,
                     "claimed": r.get("claimed", ""), "derived": r.get("derived", ""),
                     "verdict": r.get("verdict", ""), "caveat": r.get("caveat", ""),
                     "chapter": r.get("chapter", ""), "section": r.get("section", ""),
                     "robust": None, "robustness": ""})
    _add_robustness(rows, chapters_dir)
    return rows


def _add_robustness(rows: list[dict], chapters_dir) -> None:
    """Each row's robustness (:func:`helpers.robustness.for_chapters`): ``robust`` (True, False,
    or None when not numeric or not assessed) and its short text."""
    from . import robustness

    found = robustness.for_chapters(chapters_dir)
    for r in rows:
        if r["id"] in found:
            r["robust"], r["robustness"] = found[r["id"]]["robust"], found[r["id"]]["text"]


def robustness_counts(rows: list[dict]) -> dict[str, int]:
    """How many claims are robust over their inputs' ranges, how many flip, how many are
    untested (no input they read carries a range), how many are not numeric."""
    from .robustness import UNTESTED
    counts = {"robust": 0, "flips": 0, "untested": 0, "not numeric": 0}
    for r in rows:
        if r["robustness"] == UNTESTED:
            counts["untested"] += 1
        elif r["robust"] is True:
            counts["robust"] += 1
        elif r["robust"] is False:
            counts["flips"] += 1
        elif r["robustness"] == "not numeric":
            counts["not numeric"] += 1
    return counts


def verdict_counts(rows: list[dict]) -> dict[str, int]:
    """How many claims got each verdict family (``off by 2.2×`` counts as ``off by N×``)."""
    counts: dict[str, int] = {}
    for r in rows:
        key = "off by N×" if r["verdict"].startswith("off by") else (r["verdict"] or "not checked")
        counts[key] = counts.get(key, 0) + 1
    return counts


def ledger_markdown(rows: list[dict]) -> str:
    """The ledger as a MyST table; each row links to the section that derives its verdict."""
    body = []
    for r in rows:
        where = (f"{{ref}}`ch. {_chapter_number(r['chapter'])} <{r['section']}>`"
                 if r["section"] else "not yet checked")
        verdict = f"**{r['verdict']}**" if r["verdict"] else "—"
        if r["caveat"]:
            verdict += f": {_cell(r['caveat'])}"
        body.append([f"**{r['id']}**", _cell(r["claim"]),
                     f"[{r['source_tag'][0].upper()}]({r['source_url']})",
                     _cell(r["claimed"]) or "—", _cell(r["derived"]) or "—", verdict,
                     _cell(r.get("robustness") or "—"), where])
    return md_table(["id", "claim", "src", "claimed", "derived", "verdict", "robust?", "where"],
                    body, align="llllllll")


def ledger_sources_markdown(rows: list[dict]) -> str:
    """The sources the claims come from, once each, so the table's [P]/[S] links have titles."""
    seen: dict[str, tuple[str, list[str]]] = {}
    for r in rows:
        seen.setdefault(r["source_url"], (r["source_title"], []))[1].append(r["id"])
    return "\n".join(f"* [{title}]({url}): {', '.join(ids)}" for url, (title, ids) in seen.items())


def _field_value(f: catalog.Field) -> str:
    if f.value is None:
        return "—"
    return f"{f.value:g}"


def _link(source: catalog.Source, text: str, trusted: bool) -> str:
    """A source as a Markdown link (its text as given); a reader's source: title escaped,
    target percent-encoded; a value set with --set has no page: the title alone."""
    if not trusted:
        text = md_cell(text)
    if not source.url:
        return text
    return f"[{text}]({source.url if trusted else md_url(source.url)})"


def range_text(f: catalog.Field) -> str:
    """A field's range in its own unit, "80–85.9", or "" when it has none."""
    from . import units as U
    rng = f.range_si
    if rng is None or f.unit not in U.UNITS:
        return ""
    scale = U.UNITS[f.unit][1]
    return f"{rng[0] / scale:.4g}–{rng[1] / scale:.4g}"


def _field_note(f: catalog.Field, trusted: bool = True) -> str:
    esc = _cell if trusted else md_cell
    parts = []
    if range_text(f):
        parts.append(f"range {range_text(f)} {f.unit} ({esc(f.range_basis)})")
    if f.missing:
        parts.append(f"missing: {esc(f.missing)}")
    if f.also_read_as:
        parts.append(f"the same number is read as {f.also_read_as} in some vendor docs")
    for alt in f.alternatives:
        source = _link(alt.source, alt.source.tag, trusted)
        parts.append(f"alternative: {alt.value:g} {alt.unit} ({source})")
    if f.note:
        parts.append(esc(f.note))
    return _cell("; ".join(parts)) if trusted else "; ".join(parts)


def entry_markdown(entry: catalog.Entry, *, trusted: bool = True) -> str:
    """Every field of one catalog entry: value, unit, source link, source date, tag, notes.
    ``trusted=False`` (a reader's hardware file): every piece of its text is escaped, so it
    shows as itself whatever it holds."""
    esc = _cell if trusted else md_cell
    rows = [[f"`{name}`", _field_value(f), f.unit,
             _link(f.source, _cell(f.source.title) if trusted else f.source.title, trusted),
             f.source.date, f.source.tag, _field_note(f, trusted)]
            for name, f in entry.fields.items()]
    text = [f"`{k}`: {esc(v if not isinstance(v, list) else ', '.join(map(str, v)))}"
            for k, v in entry.text.items() if k != "name" and v not in (None, "", [])]
    head = f"**{esc(entry.name)}** (`{entry.key}`)"
    if text:
        head += "  \n" + "  \n".join(text)
    return head + "\n\n" + md_table(["field", "value", "unit", "source", "date", "tag", "note"],
                                    rows, align="lrllll" + "l")


def catalog_markdown(kind: str) -> list[str]:
    """One Markdown block per entry of catalog ``kind``, in file order."""
    return [entry_markdown(e) for e in catalog.load(kind).values()]


def catalog_file(kind: str) -> str:
    return f"helpers/catalogs/{kind}.yaml"


def symbol_tables() -> list[tuple[str, list[tuple[str, str]]]]:
    """``[(module, [(latex, meaning), ...]), ...]`` from every ``helpers`` module that defines a
    ``SYMBOL_MEANING`` dict, so the notation page lists each shared symbol where it is defined."""
    import importlib
    import pkgutil

    import sympy as sp

    from . import __path__ as package_path

    out = []
    for info in sorted(pkgutil.iter_modules(package_path), key=lambda m: m.name):
        if info.name.startswith("_"):
            continue
        module = importlib.import_module(f"{__package__}.{info.name}")
        meanings = getattr(module, "SYMBOL_MEANING", None)
        if meanings:
            out.append((f"helpers.{info.name}",
                        [(sp.latex(sym), text) for sym, text in meanings.items()]))
    return out


def symbols_markdown() -> str:
    blocks = []
    for module, rows in symbol_tables():
        blocks.append(f"**`{module}`**\n\n" + md_table(
            ["symbol", "meaning"], [[f"${latex}$", _cell(text)] for latex, text in rows],
            align="ll"))
    return "\n\n".join(blocks)
