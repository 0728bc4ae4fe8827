"""The variant book of a re-run (``rerun --build``): a Jupyter Book of the re-executed chapters.

Its pages: the intro and course pages as committed, a first page with the comparison, a page
on this run's hardware (every field with its source, what it changes against the catalogued
part it resembles, and the warnings), the re-run chapters, and the appendices as committed
except the claims ledger, which is re-executed over the re-run chapters (so it lists this run's
verdicts), and the accelerator catalog and the sweep, which end with this run's accelerator.

Every piece of a reader's text on these pages is escaped (:mod:`helpers.fmt`); the added pages
are notebook outputs, which the book renders as Markdown without typographic quotes.
"""
from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

from .errors import RerunError
from .paths import APPENDICES, ROOT, notebooks


def build_book(stage: Path, chapters: list[Path], entry, comparison_md: str,
               figure: str | None = None) -> Path:
    """A book of the re-run in ``stage/book`` (the chapters already executed into ``stage``);
    returns its HTML folder. A failed build is a :class:`RerunError` with jupyter-book's last
    line."""
    import yaml

    src = stage / "book"
    (src / "chapters").mkdir(parents=True)
    for nb in chapters:
        shutil.copy2(stage / nb.name, src / "chapters" / nb.name)
    for page in ("intro.md", "course.md"):
        if (ROOT / page).exists():
            shutil.copy2(ROOT / page, src / page)
    appendices = notebooks(APPENDICES)     # as committed (chapters link them)
    if appendices:
        (src / "appendices").mkdir()
        for nb in appendices:
            shutil.copy2(nb, src / "appendices" / nb.name)
        ledger = src / "appendices" / "claims_ledger.ipynb"
        if ledger.exists():   # the ledger of this run: the re-run chapters' verdicts
            from .forked import run_many
            if run_many([(APPENDICES / ledger.name, ledger)],
                        {"chapters_dir": str((src / "chapters").resolve())}, 1,
                        shown={"chapters_dir": "../chapters"},
                        on_end=_ledger_failed):
                raise RerunError("--build: the claims ledger failed (see above)")
        _with_run(src / "appendices" / "accelerators.ipynb", _catalog_section(entry))
        _with_run(src / "appendices" / "sweep.ipynb", _sweep_section(entry))
    (src / "comparison.md").write_text(comparison_md, encoding="utf-8")
    if figure:
        shutil.copy2(stage / figure, src / figure)
    _notebook_page(src / "this_run.ipynb", f"# This run's hardware: {entry.key}",
                   hardware_page(entry))
    config = yaml.safe_load((ROOT / "_config.yml").read_text(encoding="utf-8"))
    # the key, not the reader's name: themes print the title unescaped in places
    config["title"] = f"{config.get('title', 'The book')}: re-run for {entry.key}"
    # a reader's text shows as itself: no typographic quotes or dashes made from its ' " --
    config.setdefault("sphinx", {}).setdefault("config", {})["smartquotes"] = False
    (src / "_config.yml").write_text(yaml.safe_dump(config, sort_keys=False), encoding="utf-8")
    (src / "_toc.yml").write_text(yaml.safe_dump(_toc(src, chapters, appendices), sort_keys=False),
                                  encoding="utf-8")
    jb = Path(sys.executable).parent / "jupyter-book"
    from .forked import die_with_parent
    proc = subprocess.run([str(jb if jb.exists() else "jupyter-book"), "build", str(src),
                           "--quiet"], capture_output=True, text=True,
                          preexec_fn=die_with_parent)   # a killed re-run leaves no build running
    if proc.returncode != 0 or not (src / "_build" / "html" / "index.html").exists():
        tail = (proc.stderr or proc.stdout).strip().splitlines()[-1:] or ["no output"]
        raise RerunError(f"--build: jupyter-book failed: {tail[0]}")
    return src / "_build" / "html"


def _ledger_failed(src, seconds, error, i, n) -> None:
    if error:
        print(f"  FAILED  {src.name}: {error}", file=sys.stderr, flush=True)


def _toc(src: Path, chapters: list[Path], appendices: list[Path]) -> dict:
    """The variant book's table of contents: the comparison first, then the chapters."""
    rerun_part = [{"file": "comparison"}, {"file": "this_run"}] + (
        [{"file": "course"}] if (src / "course.md").exists() else [])
    parts = [{"caption": "Re-run", "chapters": rerun_part},
             {"caption": "Chapters",
              "chapters": [{"file": f"chapters/{nb.stem}"} for nb in chapters]}]
    if appendices:
        parts.append({"caption": "Appendices (the ledger is this run's; the rest as committed)",
                      "chapters": [{"file": f"appendices/{nb.stem}"} for nb in appendices]})
    return {"format": "jb-book", "root": "intro", "parts": parts}


# --- pages about this run's hardware -----------------------------------------------------------
def _output_cell(markdown: str):
    """A code cell with no code to show and ``markdown`` as its output (rendered as MyST by the
    book, like every table the chapters show)."""
    from nbformat.v4 import new_code_cell, new_output

    # (a cell with no source is not rendered at all: a comment stands in for the code)
    cell = new_code_cell("# generated by helpers.variant_book", metadata={"tags": ["remove-input"]})
    cell.outputs = [new_output("display_data", data={"text/markdown": markdown})]
    return cell


def _notebook_page(path: Path, title: str, markdown: str) -> None:
    import nbformat
    from nbformat.v4 import new_markdown_cell, new_notebook

    nb = new_notebook(cells=[new_markdown_cell(title), _output_cell(markdown)])
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3",
                                 "language": "python"}
    nbformat.write(nb, path)


def _with_run(path: Path, markdown: str) -> None:
    """Append a section about this run's accelerator to a copied appendix notebook."""
    import nbformat
    from nbformat.v4 import new_markdown_cell

    if not path.exists():
        return
    nb = nbformat.read(path, as_version=4)
    nb.cells += [new_markdown_cell("(appendix-this-run)=\n## This run's accelerator"),
                 _output_cell(markdown)]
    nbformat.write(nb, path)


def _is_listed(entry) -> bool:
    from . import catalog
    listed = catalog.accelerators().get(entry.key)
    return listed is not None and listed.text == entry.text and listed.fields == entry.fields


def _catalog_section(entry) -> str:
    from .appendices import entry_markdown

    if _is_listed(entry):
        return f"This run is for `{entry.key}`, catalogued above, as catalogued."
    return ("The hardware this book was re-run for, as its file gives it (it is not part of "
            "the catalog; every text is the file's own).\n\n"
            + entry_markdown(entry, trusted=False))


def _sweep_section(entry) -> str:
    """Every hardware-dependent headline for this run's accelerator beside the H100's."""
    from . import catalog, sweep
    from .compare import ratio
    from .fmt import md_table

    qs = sweep.quantities()
    h100 = catalog.accelerators()["h100"]
    table = sweep.evaluate([h100, entry], qs)
    rows = [[f"`{n}`", q.unit, sweep.format_value(table["h100"][n], q.unit),
             sweep.format_value(table[entry.key][n], q.unit),
             ratio(table["h100"][n], table[entry.key][n])] for n, q in qs.items()]
    return (f"The sweep's quantities for this run's accelerator (`{entry.key}`) beside the "
            "H100's:\n\n" + md_table(["quantity", "unit", "h100", entry.key, "ratio"], rows,
                                      align="llrrr"))


def hardware_page(entry) -> str:
    """This run's hardware: every field with its source, what it changes against the part it
    resembles, the warnings a check found."""
    from .appendices import entry_markdown
    from .fmt import md_cell, md_table
    from .hardware_check import changed_results, resembles, warnings

    listed = _is_listed(entry)
    parts = [entry_markdown(entry, trusted=listed)]
    base = resembles(entry)
    if entry.key != base.key or not listed:
        rows = []
        for name, f in entry.fields.items():
            b = base.fields.get(name)
            if b is None or b.si != f.si:
                old = "—" if b is None or b.value is None else f"{b.value:g} {b.unit}"
                new = "missing" if f.value is None else f"{f.value:g} {f.unit}"
                rows.append([f"`{name}`", old, new])
        parts.append(f"**Fields that differ from `{base.key}`** (the catalogued part it "
                     "resembles):\n\n" + (md_table(["field", base.key, "this run"], rows,
                                                    align="lrr") if rows else "none"))
        changed = changed_results(entry, base)
        if changed:
            from .compare import ratio
            from .sweep import format_value
            parts.append(f"**Headline results it changes** ({len(changed)}; the comparison "
                         "page has every published result):\n\n" + md_table(
                             ["chapter", "result", base.key, "this run", "ratio"],
                             [[c, f"`{n}`", format_value(o), format_value(v), ratio(o, v)]
                              for c, n, o, v in changed], align="llrrr"))
    found = [] if listed else warnings(entry)
    if found:
        parts.append("**Warnings** (from `python -m helpers hardware check`):\n\n"
                     + "\n".join(f"* {md_cell(w)}" for w in found))
    return "\n\n".join(parts)
