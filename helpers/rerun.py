"""Re-run the book with other hardware: ``python -m helpers rerun --hardware NAME_OR_FILE``.

Every chapter (or those named with ``--chapters``) is executed with papermill, in parallel, with
its ``accelerator`` parameter set to a catalogued accelerator or to a hardware file the user
wrote (the schema ``python -m helpers hardware show h100`` prints, YAML or TOML).

This module is the orchestration; each step lives in its own place:

1. the inputs, validated before any kernel starts (one line naming file, entry, field):
   the hardware (:func:`resolve_hardware`, :mod:`helpers.hardware_file`), the chapters
   (:func:`helpers.paths.select_notebooks`) and the output folder (:func:`check_out`: new or
   empty, outside the committed sources);
2. the execution (:func:`helpers.execute.execute_many`), into a staging folder
   (:func:`helpers.staging.staged`) that becomes the output folder only when every chapter ran,
   the comparison was written and (with ``--build``) the variant book built; a failure or an
   interrupt removes it, so an output folder that exists is always complete (its
   ``rerun.json`` says what was run);
3. the comparison with the committed run (:mod:`helpers.compare`) and the variant book
   (:mod:`helpers.variant_book`).

The committed notebooks are read, never written.
"""
from __future__ import annotations

import json
import os
import re
import sys
import time
from pathlib import Path

from . import results
from .compare import (
    as_json as as_json_table,
    compare,
    compare_verdicts,
    comparison_figure,
    comparison_markdown,
    comparison_text,
    summary,
    verdicts_text,
)
from .errors import CatalogError, RerunError
from .fmt import one_line
from .hardware_file import hardware_document, names_a_file
from .paths import CHAPTERS, PROTECTED, ROOT, chapter_parameters, select_notebooks
from .staging import refuse_if_busy, staged
from .variant_book import build_book

# a hardware file's path is handed to the notebooks as a parameter: keep it plain text
_SAFE_PATH = re.compile(r"^[\w./ +@~,:=-]+$")


class _ChaptersFailed(RuntimeError):
    """Some chapter raised: reported per chapter, then the staging folder is removed."""


# --- inputs ---------------------------------------------------------------------------------
def resolve_hardware(name_or_file: str, overrides: dict | None = None):
    """``(entry, parameter)``: the validated accelerator and the string the notebooks receive
    as their ``accelerator`` parameter (a catalog key, or the absolute path of the file)."""
    from .notebook import accelerator

    if not isinstance(name_or_file, str) or not name_or_file.strip():
        raise CatalogError("--hardware: empty; give a catalog name (see `python -m helpers "
                           "hardware list`) or a hardware file (`python -m helpers hardware "
                           "show --template > mychip.yaml`)")
    entry = accelerator(name_or_file, overrides)        # raises CatalogError, one line
    if not names_a_file(name_or_file):
        return entry, entry.key
    param = str(Path(name_or_file).resolve())
    if not _SAFE_PATH.match(param):
        raise CatalogError(
            f"{name_or_file}: the file's path has characters that are not allowed in a "
            "notebook parameter (quotes, backslashes, $, newlines...); copy it to a plain name")
    return entry, param


# folders outside the repository a re-run never writes into
SYSTEM = ("/proc", "/sys", "/dev", "/run", "/boot", "/etc", "/bin", "/sbin", "/lib", "/usr")


def check_out(out: Path | str) -> Path:
    """The output folder, absolute; refused when it could overwrite anything of value. Inside
    the repository only a new folder under ``runs/`` (ignored by git) may be written; outside
    it, a new or empty folder that is not a symbolic link, whose nearest existing parent is a
    folder one may write in, outside the system's folders."""
    text = str(out)
    if not text.strip():
        raise RerunError("--out: empty; give a new folder (default: runs/<accelerator>)")
    if "\x00" in text or len(text) > 4096:
        raise RerunError("--out: not a usable path")
    out = Path(os.path.abspath(os.path.expanduser(text)))
    shown = str(out) if len(str(out)) <= 200 else str(out)[:197] + "..."
    for folder in SYSTEM:
        if out == Path(folder) or Path(folder) in out.parents:
            raise RerunError(f"--out {shown}: is under {folder}, a system folder; choose a new "
                             "folder (default: runs/<accelerator>)")
    if out.is_symlink():
        target = os.readlink(out)
        state = "a dangling symbolic link" if not out.exists() else "a symbolic link"
        raise RerunError(f"--out {shown}: is {state} (to {target[:100]}); give the path of a "
                         "real, new folder")
    if out.exists() and not out.is_dir():
        raise RerunError(f"--out {shown}: exists and is not a folder")
    ancestor = out.parent
    while not os.path.lexists(ancestor):
        ancestor = ancestor.parent
    if not ancestor.is_dir():
        raise RerunError(f"--out {shown}: {ancestor} is a file, not a folder")
    if not os.access(ancestor, os.W_OK | os.X_OK):
        raise RerunError(f"--out {shown}: cannot create folders in {ancestor} (no permission)")
    real, root = out.resolve(), ROOT.resolve()
    if real == root or root in real.parents:
        if real == root:
            raise RerunError(f"--out {shown}: is the repository; choose a new folder (default: "
                             "runs/<accelerator>)")
        runs = (root / "runs").resolve()
        if not runs.is_relative_to(root) or runs not in real.parents:
            top = real.relative_to(root).parts[0]
            raise RerunError(f"--out {shown}: is inside the repository ({top}/); a re-run writes "
                             "there only under runs/ (default: runs/<accelerator>), or anywhere "
                             "outside it")
    elif real in root.parents:
        raise RerunError(f"--out {shown}: is the repository or contains it; choose a new folder "
                         "(default: runs/<accelerator>)")
    for name in PROTECTED:             # a runs/ that links into the sources: still refused
        folder = root / name
        if real == folder or folder in real.parents:
            raise RerunError(f"--out {shown}: is inside the committed {name}/ folder, which a "
                             "re-run never writes; choose a new folder (default: "
                             "runs/<accelerator>)")
    if out.is_dir() and any(out.iterdir()):
        raise RerunError(f"--out {shown}: exists and is not empty; choose a new folder or remove "
                         "this one (a re-run never overwrites earlier outputs)")
    return out


def check_inputs(entry, chapters: list[Path], overrides: dict | None, label: str) -> list[str]:
    """What the chapters read of the hardware, checked before any kernel starts: every field
    they read has a value, and ``--set`` changes only such fields. Prints (and returns) the
    warnings :func:`helpers.hardware_check.warnings` finds."""
    from .hardware_check import check_needs, check_sets, warnings

    if overrides:
        check_sets(overrides, entry, chapters)
    check_needs(entry, chapters, label if names_a_file(label) else "--hardware " + entry.key)
    found = warnings(entry) if names_a_file(label) else []
    for w in found:
        print(f"warning: {label}: {w}", file=sys.stderr, flush=True)
    return found


# --- the command ----------------------------------------------------------------------------
def resolve_against(against: str, chapters: list[Path]) -> dict:
    """``--against OTHER``: an earlier run's folder (its ``rerun.json`` says what ran), or a
    chip (a catalog name or a hardware file, checked like ``--hardware``) that is re-run
    alongside. Refused in one line when it cannot give every chapter a baseline."""
    if not isinstance(against, str) or not against.strip():
        raise RerunError("--against: empty; give a run folder (runs/NAME) or an accelerator")
    folder = Path(against)
    if folder.is_dir():
        manifest = folder / "rerun.json"
        if not manifest.is_file():
            raise RerunError(f"--against {against}: a folder, but not a re-run's (it has no "
                             "rerun.json)")
        try:
            m = json.loads(manifest.read_text(encoding="utf-8"))
            have = list(m["chapters"])
            key = str(m["accelerator"])
        except (OSError, ValueError, KeyError, TypeError):
            raise RerunError(f"--against {against}: its rerun.json cannot be read") from None
        missing = [nb.stem for nb in chapters if nb.stem not in have]
        if missing:
            raise RerunError(f"--against {against}: chapter(s) {', '.join(missing)} were not run "
                             f"there (it ran {', '.join(have) or 'none'})")
        return {"folder": folder, "key": key, "label": key + ("*" if m.get("overrides") else ""),
                "baseline": f"the run in {folder.name} ({key})"}
    entry, param = resolve_hardware(against)
    check_inputs(entry, chapters, None, against)
    _protect(entry)
    return {"entry": entry, "param": param, "key": entry.key, "label": entry.key,
            "baseline": f"{entry.key}, re-run alongside"}


def rerun(hardware: str, chapter_names: list[str] | None = None, out: str | None = None,
          build: bool = False, jobs: int | None = None, overrides: dict | None = None,
          engine: str = "forked", everything: bool = False, as_json: bool = False,
          exit_code: bool = False, against: str | None = None) -> int:
    """Validate everything, execute into a staging folder, compare, (build,) then publish.
    ``everything`` prints every row (``--all``); ``as_json`` prints the comparison as JSON on
    stdout (progress on stderr); ``exit_code``: 3 when a verdict changed (for CI);
    ``against``: compare with another chip or run instead of the committed notebooks."""
    from .execute import execute_many

    log = sys.stderr if as_json else sys.stdout
    entry, param = resolve_hardware(hardware, overrides)
    chapters = select_notebooks(chapter_names)
    if not chapters:
        raise RerunError(f"no chapters under {CHAPTERS}")
    out_dir = check_out(out if out is not None else ROOT / "runs" / entry.key)
    refuse_if_busy(out_dir)
    check_inputs(entry, chapters, overrides, hardware)
    _protect(entry)
    base = resolve_against(against, chapters) if against is not None else None
    defaults = {nb.stem: chapter_parameters(nb).get("accelerator") for nb in chapters}
    default_keys = sorted({str(v) for v in defaults.values()})
    default_key = default_keys[0] if len(default_keys) == 1 else "default"
    jobs = max(1, min(jobs or os.cpu_count() or 1, len(chapters)))
    start = time.perf_counter()
    try:
        with staged(out_dir) as stage:
            print(f"re-running {len(chapters)} chapter(s) for {entry.key} ({one_line(entry.name)}),"
                  f" {jobs} at a time, into {out_dir}", file=log, flush=True)
            if overrides:
                print("  with " + _overrides_text(hardware, entry, overrides), file=log,
                      flush=True)
            params = {"accelerator": param}
            if overrides:
                params["overrides"] = overrides
            # the notebooks show the run folder's copy of the hardware, not a path on this machine
            shown = dict(params, accelerator="hardware.yaml" if param != entry.key else param)
            failures = execute_many(chapters, stage, params, jobs, shown, engine=engine,
                                    stream=log)
            if base is not None and "entry" in base and not failures:
                other = stage / "against"
                print(f"re-running the same chapter(s) for {base['key']}, the baseline, into "
                      f"{out_dir / 'against'}", file=log, flush=True)
                p2 = {"accelerator": base["param"]}
                failures = execute_many(chapters, other, p2, jobs, dict(
                    p2, accelerator="hardware.yaml" if base["param"] != base["key"]
                    else base["param"]), engine=engine, stream=log)
                (other / "hardware.yaml").write_text(hardware_document(base["entry"]),
                                                     encoding="utf-8")
                base["folder"] = other
            if failures:
                raise _ChaptersFailed(f"{failures} chapter(s) failed (see above); nothing "
                                      f"written to {out_dir}")
            table = _comparison(stage, chapters, entry, default_key, overrides, base)
            figure = "comparison.png" if comparison_figure(table, stage / "comparison.png") \
                else None
            md = comparison_markdown(table, entry, hardware, figure)
            (stage / "comparison.md").write_text(md, encoding="utf-8")
            (stage / "comparison.json").write_text(
                json.dumps(as_json_table(table), indent=1, ensure_ascii=False) + "\n",
                encoding="utf-8")
            # what was run, in the file schema (a catalog entry, or the user's file as validated)
            (stage / "hardware.yaml").write_text(hardware_document(entry), encoding="utf-8")
            html = None
            if build:
                t0 = time.perf_counter()
                print("  building the variant book (the claims ledger, then jupyter-book) ...",
                      file=log, flush=True)
                html = build_book(stage, chapters, entry, md, figure)
                print(f"  built the variant book in {time.perf_counter() - t0:.1f} s", file=log,
                      flush=True)
            seconds = time.perf_counter() - start
            manifest = {"hardware": hardware, "accelerator": entry.key, "name": entry.name,
                        "default_accelerator": table["default_accelerator"],
                        "against": None if base is None else base["baseline"],
                        "overrides": overrides or {},
                        "chapters": [nb.stem for nb in chapters], "jobs": jobs,
                        "seconds": round(seconds, 1),
                        "book": "book/_build/html/index.html" if html else None}
            (stage / "rerun.json").write_text(json.dumps(manifest, indent=1) + "\n",
                                              encoding="utf-8")
    except _ChaptersFailed as e:      # staged() has removed the staging folder
        print(f"error: {e}", file=sys.stderr)
        return 1
    if as_json:
        print(json.dumps(as_json_table(table), indent=1, ensure_ascii=False))
    else:
        print(comparison_text(table, everything=everything))
        print(verdicts_text(table))
        if overrides:
            print(f"* {entry.key} with " + _overrides_text(hardware, entry, overrides))
    print(f"done in {seconds:.1f} s: {out_dir}  (python -m helpers results --from {out_dir})"
          + (f"\nbook: {out_dir / 'book' / '_build' / 'html' / 'index.html'}" if html else ""),
          file=log)
    return 3 if exit_code and summary(table)["any_verdict_changed"] else 0


def catalog_keys() -> set[str]:
    from . import catalog
    return set(catalog.accelerators())


def _overrides_text(hardware: str, entry, overrides: dict) -> str:
    """``hbm_bandwidth = 4.8 TB/s (was 3.35 TB/s)``: each --set value in its unit."""
    from .notebook import accelerator

    before = accelerator(hardware)
    parts = []
    for k, v in overrides.items():
        old = before.fields.get(k)
        was = (f" (was {old.value:g} {old.unit})" if old is not None and old.value is not None
               else " (was not given)")
        parts.append(f"{k} = {v:g} {entry.fields[k].unit}{was}")
    return ", ".join(parts)


def _protect(entry) -> None:
    """A reader's text (name, vendor) is escaped wherever it reaches a page: in this process
    (the comparison) and in every kernel started from it (``HELPERS_USER_TEXT``)."""
    from . import catalog
    from .fmt import USER_TEXT_ENV, protect_user_text

    listed = catalog.accelerators().get(entry.key)
    if listed is not None and listed.text == entry.text:
        return
    strings = [s for s in (entry.name, entry.text.get("vendor")) if s]
    protect_user_text(strings)
    os.environ[USER_TEXT_ENV] = json.dumps(strings, ensure_ascii=True)


def _comparison(stage: Path, chapters: list[Path], entry, default_key: str,
                overrides: dict | None, base: dict | None = None) -> dict:
    """The re-run in ``stage`` beside the committed run of the same chapters (or beside
    ``base``: another run's folder)."""
    stems = {nb.stem for nb in chapters}
    if base is None:
        old_results, old_claims, old_key = results.read_results(), results.read_claims(), \
            default_key
    else:
        old_results, old_claims = results.read_results(base["folder"]), \
            results.read_claims(base["folder"])
        old_key = base["key"]
    default = {n: r for n, r in old_results.items() if r["chapter"] in stems}
    table = compare(default, results.read_results(stage), old_key, entry.key)
    # a catalogued chip with --set numbers is not that chip: say so in the column header
    from .hardware_file import is_catalogued
    listed = entry.key in catalog_keys()
    table["accelerator"] = entry.key + ("*" if overrides or (listed and not is_catalogued(
        entry)) else "")
    if base is not None:
        table["default_accelerator"] = base["label"]
        table["baseline"] = base["baseline"]
    table["verdicts"] = compare_verdicts(
        {c: v for c, v in old_claims.items() if v["chapter"] in stems},
        results.read_claims(stage))
    return table
