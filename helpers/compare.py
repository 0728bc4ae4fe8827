"""The side-by-side comparison of a re-run with the committed run.

:func:`compare` pairs every published result of the re-run chapters (committed value, re-run
value, ratio) and :func:`compare_verdicts` every claim's verdict; the renderers print them at
the end of ``rerun`` (:func:`comparison_text`, :func:`verdicts_text`) and write them as the
variant book's first page (:func:`comparison_markdown`).

A result *follows the run* when its name names no accelerator and both runs computed it for
their own accelerator (the naming rule of :mod:`helpers.results`); the others are fixed.
"""
from __future__ import annotations

from pathlib import Path

from . import catalog
from .fmt import md_cell, md_code, md_table, md_text, num, protect


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
    return f"{num(r)}×" if 1e-3 <= abs(r) < 1e6 else f"{r:.2e}×"


def compare(default: dict, new: dict, default_key: str, new_key: str) -> dict:
    """Rows of the side-by-side table: every result of the re-run chapters, those that follow
    the run's accelerator first (names that name no accelerator), then the fixed ones."""
    chapters = {r["chapter"] for r in new.values()} | {r["chapter"] for r in default.values()}
    names = list(new) + [n for n, r in default.items() if n not in new and r["chapter"] in chapters]
    rows = []
    for name in names:
        old, cur = default.get(name), new.get(name)
        ref = cur or old
        # follows the run: computed for the run's accelerator in both runs, and a name that
        # names none (the naming rule); everything else is fixed
        follows = (name.split("_")[0] not in catalog.accelerators()
                   and (old is None or old["accelerator"] == default_key)
                   and (cur is None or cur["accelerator"] == new_key))
        old_value = None if old is None else old["value"]
        new_value = None if cur is None else cur["value"]
        rows.append({
            "name": name, "chapter": ref["chapter"], "unit": ref["unit"], "follows_run": follows,
            "default": old_value, "default_text": "—" if old is None else old["text"],
            "new": new_value, "new_text": "—" if cur is None else cur["text"],
            "ratio": ratio(old_value, new_value),
        })
    rows.sort(key=lambda r: not r["follows_run"])          # stable: chapter order kept
    return {"default_accelerator": default_key, "accelerator": new_key, "rows": rows}


def compare_verdicts(default: dict, new: dict) -> list[dict]:
    """Each claim's verdict in the committed run and in the re-run (caveat included)."""
    def text(v):
        return None if v is None else v["verdict"] + (f" ({v['caveat']})" if v["caveat"] else "")

    def label(v):
        return None if v is None else v["verdict"]
    rows = []
    for cid in list(default) + [c for c in new if c not in default]:
        old, cur = default.get(cid), new.get(cid)
        rows.append({"id": cid, "chapter": (cur or old)["chapter"],
                     "default": text(old), "new": text(cur),
                     "changed": label(old) != label(cur),                 # the verdict itself
                     "caveat_changed": label(old) == label(cur) and text(old) != text(cur)})
    return rows


# --- renderers ------------------------------------------------------------------------------
def comparison_text(table: dict) -> str:
    """The table as printed at the end of a re-run."""
    rows = table["rows"]
    d, a = table["default_accelerator"], table["accelerator"]
    head = ["result", "unit", d, a, "ratio"]
    body = [[r["name"], r["unit"], r["default_text"], r["new_text"], r["ratio"]] for r in rows]
    widths = [max(len(str(x)) for x in col) for col in zip(head, *body)]
    lines = []
    follows = sum(r["follows_run"] for r in rows)
    for i, row in enumerate([head, *body]):
        if i == 1:
            lines.append(f"-- {follows} result(s) that follow the run's accelerator --")
        if i == follows + 1:
            lines.append(f"-- {len(rows) - follows} result(s) fixed by name or independent "
                         "of the hardware --")
        lines.append("  ".join(str(x).ljust(w) if j < 2 else str(x).rjust(w)
                               for j, (x, w) in enumerate(zip(row, widths))))
    return "\n".join(lines)


def verdicts_text(table: dict) -> str:
    """One line of unchanged verdicts, then one line per changed verdict."""
    verdicts = table.get("verdicts", [])
    changed = [v for v in verdicts if v["changed"]]
    caveats = [v["id"] for v in verdicts if v["caveat_changed"]]
    same_verdict = f" ({', '.join(caveats)}: same verdict, numbers in the caveat changed)"
    lines = [f"verdicts: {len(verdicts) - len(changed)} of {len(verdicts)} unchanged"
             + (same_verdict if caveats else "")
             + ("; changed:" if changed else "")]
    for v in changed:
        lines.append(f"  {v['id']}: {v['default'] or '—'}  ->  {v['new'] or '—'}")
    return "\n".join(lines)


def comparison_markdown(table: dict, entry, hardware_arg: str) -> str:
    """The comparison page of the run folder and of the variant book."""
    d, a = md_cell(table["default_accelerator"]), md_cell(table["accelerator"])
    rows = [[f"`{r['name']}`", r["chapter"], md_cell(r["unit"]), md_cell(r["default_text"]),
             md_cell(r["new_text"]), r["ratio"], "yes" if r["follows_run"] else "no"]
            for r in table["rows"]]
    verdicts = [[v["id"], v["chapter"], _verdict_cell(v["default"]), _verdict_cell(v["new"]),
                 "**changed**" if v["changed"] else ("caveat" if v["caveat_changed"] else "=")]
                for v in table.get("verdicts", [])]
    # the title holds only the key (lower_snake_case): a page title is printed unescaped by
    # some themes; the reader's name is escaped text in the paragraph
    return (f"# Re-run for {entry.key}\n\n"
            f"Every headline result of the re-run chapters: the committed run on {d} beside "
            f"this re-run on {a}, {md_text(entry.name)} "
            f"({md_code('--hardware ' + Path(hardware_arg).name)}). Results that name an "
            "accelerator keep their "
            "meaning, so their ratio is `=`.\n\n"
            + md_table(["result", "chapter", "unit", d, a, "ratio", "follows the run"], rows,
                       align="lllrrrl") + "\n\n## Verdicts\n\n"
            + md_table(["claim", "chapter", f"on {d}", f"on {a}", ""], verdicts, align="lllll")
            + "\n")


def _verdict_cell(text: str | None) -> str:
    """A verdict and its caveat (the chapter's words) in one table cell, a reader's text in it
    escaped."""
    import re
    if not text:
        return "—"
    return re.sub(r"(?<!\\)\|", r"\\|", protect(" ".join(text.split())))
