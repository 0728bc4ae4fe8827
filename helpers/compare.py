"""The comparison of a re-run with the committed run (or with another run): the answer first.

:func:`compare` pairs every published result of the re-run chapters (the baseline's value, the
re-run's, the ratio, the size of the change) and :func:`compare_verdicts` every claim's verdict.
The renderers put what changed first: the verdicts that changed, then the results that changed,
grouped by chapter and sorted by the size of the change (``|log(new / old)|``; a result that
appeared, vanished or crossed zero first); everything else is one count (``--all`` prints it,
``comparison.json`` and the dropdown of ``comparison.md`` hold it). :func:`comparison_figure`
draws the log-ratios by chapter.

A result *follows the run* when its name names no accelerator and both runs computed it for
their own accelerator (the naming rule of :mod:`helpers.results`); the others are fixed.
"""
from __future__ import annotations

import math
import re
from pathlib import Path

from . import catalog
from .fmt import md_cell, md_code, md_table, md_text, num, protect

NEGLIGIBLE = 1e-12     # |values| below this are zero for a ratio (3.6e-72 -> 3.0e-35 is "≈ 0")


def ratio(old: float | None, new: float | None) -> str:
    """new / old to 3 significant figures (scientific when far from 1); '=' when unchanged, up to
    the last bits of floating point (two routes to the same number)."""
    if old is None or new is None:
        return "—"
    if old == new or (old != 0 and abs(new / old - 1) < 1e-12):
        return "="
    if old == 0:
        return "—"
    r = new / old
    if r == 0:
        return "0×"
    if not 1e-3 <= abs(r) < 1e6:
        return f"{r:.2e}×"
    shown = num(r)
    if shown == "1.00":               # a change that three figures would hide
        shown = f"{r:.6f}".rstrip("0")
        shown = next((f"{r:.{d}f}" for d in range(3, 13) if f"{r:.{d}f}".rstrip("0") not in
                      ("1", "1.", "0.", "0")), shown)
    return f"{shown}×"


def _is_numeric_text(text: str) -> bool:
    """Whether a result's text shows its number (not words such as "all of it")."""
    return bool(re.search(r"\d", text or ""))


def _size(old: float | None, new: float | None) -> float:
    """The size of a change: |log(new / old)|; inf for a result that appeared or vanished or
    changed sign; 0 when unchanged."""
    if old is None or new is None:
        return 0.0 if old is new else math.inf
    if old == new or (old != 0 and abs(new / old - 1) < 1e-12):
        return 0.0
    if abs(old) < NEGLIGIBLE and abs(new) < NEGLIGIBLE:
        return 0.0
    if old == 0 or new == 0 or (old < 0) != (new < 0) or math.isinf(old) or math.isinf(new):
        return math.inf
    return abs(math.log(new / old))


def _shown_ratio(old, new, old_text: str, new_text: str) -> str:
    """The ratio as the table shows it: none beside words, '≈ 0' for two negligible values."""
    if old is not None and new is not None and abs(old) < NEGLIGIBLE and abs(new) < NEGLIGIBLE:
        return "=" if old == new else "≈ 0"
    r = ratio(old, new)
    if r not in ("=", "—") and not (_is_numeric_text(old_text) and _is_numeric_text(new_text)):
        return "changed"
    return r


_TIME_TEXT = re.compile(r"\d\s*(ns|µs|us|ms|s|min|h)$")


def _unit(unit: str, old_text: str, new_text: str) -> str:
    """A result's unit, unless its texts name their own (a time in seconds shown as '23.9 ms')."""
    texts = [t for t in (old_text, new_text) if t and t != "—"]
    if unit == "s" and texts and all(_TIME_TEXT.search(t) for t in texts):
        return ""
    return unit


def compare(default: dict, new: dict, default_key: str, new_key: str) -> dict:
    """Rows of the table: every result of the compared chapters, in chapter order, those that
    follow the run first within the document order; each with its change."""
    chapters = {r["chapter"] for r in new.values()} | {r["chapter"] for r in default.values()}
    names = list(new) + [n for n, r in default.items() if n not in new and r["chapter"] in chapters]
    accs = catalog.accelerators()
    rows = []
    for name in names:
        old, cur = default.get(name), new.get(name)
        ref = cur or old
        # follows the run: computed for the run's accelerator in both runs, and a name that
        # names none (the naming rule); everything else is fixed
        follows = (name.split("_")[0] not in accs
                   and (old is None or old["accelerator"] == default_key)
                   and (cur is None or cur["accelerator"] == new_key))
        old_value = None if old is None else old["value"]
        new_value = None if cur is None else cur["value"]
        old_text = "—" if old is None else old["text"]
        new_text = "—" if cur is None else cur["text"]
        size = _size(old_value, new_value)
        rows.append({
            "name": name, "chapter": ref["chapter"], "unit": ref["unit"], "follows_run": follows,
            "default": old_value, "default_text": old_text, "new": new_value,
            "new_text": new_text, "ratio": _shown_ratio(old_value, new_value, old_text, new_text),
            "changed": size > 0 or old_text != new_text,
            "change": None if math.isinf(size) else round(size, 12),
        })
    rows.sort(key=lambda r: not r["follows_run"])          # stable: chapter order kept
    return {"default_accelerator": default_key, "accelerator": new_key, "rows": rows}


def compare_verdicts(default: dict, new: dict) -> list[dict]:
    """Each claim's verdict in the baseline and in the re-run (caveat included)."""
    def text(v):
        return None if v is None else v["verdict"] + (f" ({v['caveat']})" if v["caveat"] else "")

    def label(v):
        return None if v is None else v["verdict"]
    rows = []
    for cid in list(default) + [c for c in new if c not in default]:
        old, cur = default.get(cid), new.get(cid)
        rows.append({"id": cid, "chapter": (cur or old)["chapter"],
                     "default": text(old), "new": text(cur),
                     "default_verdict": label(old), "new_verdict": label(cur),
                     "changed": label(old) != label(cur),                 # the verdict itself
                     "caveat_changed": label(old) == label(cur) and text(old) != text(cur)})
    return rows


def changed_rows(table: dict) -> list[dict]:
    """The rows that changed, grouped by chapter (in chapter order), the largest change first
    (a result that appeared or vanished first of all)."""
    order = {c: i for i, c in enumerate(dict.fromkeys(r["chapter"] for r in table["rows"]))}
    rows = [r for r in table["rows"] if r["changed"]]
    return sorted(rows, key=lambda r: (order[r["chapter"]],
                                       -(math.inf if r["change"] is None else r["change"])))


def summary(table: dict) -> dict:
    """Counts, and whether any verdict changed (what CI asks)."""
    verdicts = table.get("verdicts", [])
    changed = [v["id"] for v in verdicts if v["changed"]]
    return {"results": len(table["rows"]), "results_changed": len(changed_rows(table)),
            "verdicts": len(verdicts), "verdicts_changed": len(changed),
            "changed_verdicts": changed, "any_verdict_changed": bool(changed)}


def as_json(table: dict) -> dict:
    """The table for ``--json`` and ``comparison.json``: the summary first."""
    return {"summary": summary(table), **table}


# --- renderers ------------------------------------------------------------------------------
def _columns(rows: list[list[str]], right: set[int]) -> list[str]:
    widths = [max(len(str(x)) for x in col) for col in zip(*rows)]
    return ["  ".join(str(x).rjust(w) if j in right else str(x).ljust(w)
                      for j, (x, w) in enumerate(zip(row, widths))).rstrip() for row in rows]


def headline_text(table: dict) -> str:
    s = summary(table)
    d, a = table["default_accelerator"], table["accelerator"]
    base = table.get("baseline", f"{d} (the committed run)")
    return (f"{a} against {base}: {s['verdicts_changed']} of {s['verdicts']} verdict(s) "
            f"changed; {s['results_changed']} of {s['results']} result(s) changed, "
            f"{s['results'] - s['results_changed']} the same")


def comparison_text(table: dict, everything: bool = False) -> str:
    """What a re-run prints at its end: the answer first (verdicts that changed, then results
    that changed by chapter, largest first); ``everything``: every row, as ``--all``."""
    d, a = table["default_accelerator"], table["accelerator"]
    lines = [headline_text(table)]
    changed = [v for v in table.get("verdicts", []) if v["changed"]]
    if changed:
        lines += ["", "verdicts that changed:"]
        lines += ["  " + x for x in _columns(
            [[v["id"], v["chapter"].split("_")[0], v.get("default_verdict") or "—", "->",
              v.get("new_verdict") or "—"] for v in changed], set())]
        lines.append("  (each with its caveat: comparison.md)")
    rows = table["rows"] if everything else changed_rows(table)
    title = ("every result, by chapter:" if everything else
             "results that changed, by chapter, largest change first:")
    if rows:
        lines += ["", title]
        head = ["result", "unit", d, a, "ratio"]
        body = []
        chapter = None
        for r in rows:
            if r["chapter"] != chapter:
                chapter = r["chapter"]
                body.append([f"[{chapter}]", "", "", "", ""])
            body.append(["  " + r["name"], _unit(r["unit"], r["default_text"], r["new_text"]),
                         r["default_text"], r["new_text"], r["ratio"]])
        lines += ["  " + x for x in _columns([head, *body], {2, 3, 4})]
    same = len(table["rows"]) - len(changed_rows(table))
    if not everything and same:
        lines += ["", f"{same} result(s) the same (every one named for a part, or not read from "
                      "the hardware, or the same number); --all prints every row"]
    return "\n".join(lines)


def verdicts_text(table: dict) -> str:
    """One line: the verdicts that did not change (and those whose caveat's numbers did)."""
    verdicts = table.get("verdicts", [])
    changed = [v for v in verdicts if v["changed"]]
    caveats = [v["id"] for v in verdicts if v["caveat_changed"]]
    same_verdict = f" ({', '.join(caveats)}: same verdict, numbers in the caveat changed)"
    return (f"verdicts: {len(verdicts) - len(changed)} of {len(verdicts)} unchanged"
            + (same_verdict if caveats else "")
            + (f"; changed: {', '.join(v['id'] for v in changed)}" if changed else ""))


def _verdict_cell(text: str | None) -> str:
    """A verdict and its caveat (the chapter's words) in one table cell, a reader's text in it
    escaped."""
    if not text:
        return "—"
    return re.sub(r"(?<!\\)\|", r"\\|", protect(" ".join(text.split())))


def _light(text: str) -> str:
    """The book's own text (a formatted number, a unit) in a table cell: only a bar escaped,
    and a reader's registered text, if any found its way in."""
    return re.sub(r"(?<!\\)\|", r"\\|", protect(str(text)))


def _result_rows(rows: list[dict]) -> list[list[str]]:
    return [[f"`{r['name']}`", r["chapter"].split("_")[0],
             _light(_unit(r["unit"], r["default_text"], r["new_text"])),
             _light(r["default_text"]), _light(r["new_text"]), _light(r["ratio"]),
             "yes" if r["follows_run"] else "no"] for r in rows]


def comparison_markdown(table: dict, entry, hardware_arg: str, figure: str | None = None) -> str:
    """The comparison page of the run folder and of the variant book: the verdicts that changed,
    the figure, the results that changed by chapter; every row in a dropdown."""
    d, a = md_cell(table["default_accelerator"]), md_cell(table["accelerator"])
    s = summary(table)
    verdicts = table.get("verdicts", [])
    changed_v = [v for v in verdicts if v["changed"]]
    base = md_text(table.get("baseline", f"{table['default_accelerator']} (the committed run)"))
    # the title holds only the key (lower_snake_case): a page title is printed unescaped by
    # some themes; the reader's name is escaped text in the paragraph
    parts = [f"# Re-run for {entry.key}",
             f"This re-run on {a}, {md_text(entry.name)} "
             f"({md_code('--hardware ' + Path(hardware_arg).name)}), against {base}: "
             f"**{s['verdicts_changed']} of {s['verdicts']} verdicts changed; "
             f"{s['results_changed']} of {s['results']} results changed.** Results that name "
             "an accelerator keep their meaning in every run, so they never change."]
    if changed_v:
        parts.append("## Verdicts that changed\n\n" + md_table(
            ["claim", "chapter", f"on {d}", f"on {a}"],
            [[v["id"], v["chapter"], _verdict_cell(v["default"]), _verdict_cell(v["new"])]
             for v in changed_v], align="llll"))
    rows = changed_rows(table)
    if rows:
        section = ["## Results that changed",
                   "By chapter, the largest change first (a result that appeared or vanished "
                   "first of all)."]
        if figure:
            section.append(f"![The log ratio of every changed result, by chapter: bars to the "
                           f"right grew on {a}, to the left shrank]({figure})")
        section.append(md_table(["result", "ch.", "unit", d, a, "ratio", "follows the run"],
                                _result_rows(rows), align="llllrrl"))
        parts.append("\n\n".join(section))
    parts.append(":::{admonition} Every result and every verdict\n:class: dropdown\n\n"
                 + md_table(["result", "ch.", "unit", d, a, "ratio", "follows the run"],
                            _result_rows(table["rows"]), align="llllrrl") + "\n\n"
                 + md_table(["claim", "chapter", f"on {d}", f"on {a}", ""],
                            [[v["id"], v["chapter"], _verdict_cell(v["default"]),
                              _verdict_cell(v["new"]),
                              "**changed**" if v["changed"] else
                              ("caveat" if v["caveat_changed"] else "=")]
                             for v in verdicts], align="lllll") + "\n:::")
    return "\n\n".join(parts) + "\n"


def comparison_figure(table: dict, path: Path) -> bool:
    """A PNG of log10(new / old) for every changed result with two finite, nonzero values of
    one sign, one panel row per chapter; False (nothing written) when there is none."""
    rows = [r for r in changed_rows(table) if r["change"] not in (None, 0)
            and r["default"] and r["new"] and (r["default"] > 0) == (r["new"] > 0)
            and r["ratio"] not in ("changed", "≈ 0")]
    if not rows:
        return False
    import matplotlib
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    matplotlib.rcParams["svg.hashsalt"] = "book"
    chapters = list(dict.fromkeys(r["chapter"] for r in rows))
    height = 0.8 + 0.22 * len(rows) + 0.3 * len(chapters)
    fig = Figure(figsize=(7.0, min(height, 40.0)), dpi=110)
    FigureCanvasAgg(fig)
    ax = fig.add_subplot()
    labels, values, colors, y = [], [], [], []
    pos = 0
    palette = ["tab:blue", "tab:orange", "tab:green", "tab:red", "tab:purple", "tab:brown",
               "tab:pink", "tab:gray", "tab:olive", "tab:cyan"]
    for i, chapter in enumerate(chapters):
        for r in (r for r in rows if r["chapter"] == chapter):
            labels.append(f"{chapter.split('_')[0]}  {r['name']}"[:60])
            values.append(math.log10(r["new"] / r["default"]))
            colors.append(palette[i % len(palette)])
            y.append(pos)
            pos += 1
        pos += 0.6
    ax.barh(y, values, color=colors)
    ax.set_yticks(y, labels, fontsize=7)
    ax.invert_yaxis()
    ax.axvline(0, color="black", lw=0.8)
    ax.set_xlabel(f"log10({table['accelerator']} / {table['default_accelerator']})")
    ax.grid(axis="x", alpha=0.3)
    fig.tight_layout()
    fig.savefig(path, format="png", metadata={"Software": None})
    return True
