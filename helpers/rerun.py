"""Re-run the book with other hardware: ``python -m helpers rerun --hardware NAME_OR_FILE``.

Every chapter (or those named with ``--chapters``) is executed with papermill, in parallel, with
its ``accelerator`` parameter set to a catalogued accelerator or to a hardware file the user
wrote (the schema ``python -m helpers hardware show h100`` prints, YAML or TOML).

Safety: the hardware is validated before any kernel starts (one line naming file, entry, field);
the output folder must be new (or empty) and outside the committed sources; chapters are
executed into a hidden staging folder beside it, which is renamed to the output folder only
when every chapter ran, the comparison was written and (with ``--build``) the variant book
built. A failure or an interrupt removes the staging folder, so an output folder that exists is
always complete (its ``rerun.json`` says what was run). The committed notebooks are read, never
written.
"""
from __future__ import annotations

import ast
import json
import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from . import catalog, results
from .fmt import md_table, num

ROOT = results.ROOT
CHAPTERS = results.CHAPTERS
# tracked source folders a re-run must never write into
PROTECTED = ("chapters", "appendices", "helpers", "tests")
# a hardware file's path is handed to the notebooks as a parameter: keep it plain text
_SAFE_PATH = re.compile(r"^[\w./ +@~,:=-]+$")


class RerunError(catalog.CatalogError):
    """A refused re-run (bad output folder, unknown chapter); one line, nothing written."""


class _ChaptersFailed(RuntimeError):
    """Some chapter raised: reported per chapter, then the staging folder is removed."""


# --- inputs ---------------------------------------------------------------------------------
def resolve_hardware(name_or_file: str, overrides: dict | None = None):
    """``(entry, parameter)``: the validated accelerator and the string the notebooks receive
    as their ``accelerator`` parameter (a catalog key, or the absolute path of the file)."""
    from .notebook import accelerator

    entry = accelerator(name_or_file, overrides)        # raises CatalogError, one line
    path = Path(name_or_file)
    if path.suffix in catalog.HARDWARE_SUFFIXES or path.exists():
        accs = catalog.accelerators()
        if entry.key in accs and {n: f.si for n, f in accs[entry.key].fields.items()} != \
                {n: f.si for n, f in catalog.hardware_file(path).fields.items()}:
            raise catalog.CatalogError(
                f"{name_or_file}: entry '{entry.key}': the key names a catalogued accelerator but "
                "the numbers differ; give your chip a key of its own (results named "
                f"{entry.key}_… always mean the catalogued one)")
        param = str(path.resolve())
        if not _SAFE_PATH.match(param):
            raise catalog.CatalogError(
                f"{name_or_file}: the file's path has characters that are not allowed in a "
                "notebook parameter (quotes, backslashes, $, newlines...); copy it to a plain name")
        return entry, param
    return entry, entry.key


def chapter_parameters(nb_path: Path) -> dict:
    """The literal values of a notebook's ``parameters`` cell (its defaults)."""
    nb = json.loads(nb_path.read_text(encoding="utf-8"))
    for cell in nb["cells"]:
        if cell["cell_type"] == "code" and "parameters" in cell["metadata"].get("tags", []):
            values = {}
            for node in ast.parse("".join(cell["source"])).body:
                if isinstance(node, ast.Assign) and len(node.targets) == 1 \
                        and isinstance(node.targets[0], ast.Name):
                    values[node.targets[0].id] = ast.literal_eval(node.value)
            return values
    raise RerunError(f"{nb_path}: no cell tagged 'parameters'")


def select_chapters(names: list[str] | None) -> list[Path]:
    all_nbs = results.notebooks()
    if not names:
        return all_nbs
    chosen: list[Path] = []
    for n in names:
        match = [p for p in all_nbs if p.stem == n or p.stem.startswith(n) or p.name == n]
        if not match:
            raise RerunError(f"no chapter matches '{n}'; chapters: "
                             + ", ".join(p.stem for p in all_nbs))
        chosen += [p for p in match if p not in chosen]
    return chosen


def check_out(out: Path) -> Path:
    """The output folder, absolute; refused when it could overwrite anything of value."""
    out = Path(os.path.abspath(out.expanduser()))
    real = out.resolve()
    if real == ROOT or real in ROOT.parents:
        raise RerunError(f"--out {out}: is the repository or contains it; choose a new folder "
                         "(default: runs/<accelerator>)")
    for name in PROTECTED:
        folder = ROOT / name
        if real == folder or folder in real.parents:
            raise RerunError(f"--out {out}: is inside the committed {name}/ folder, which a "
                             "re-run never writes; choose a new folder (default: runs/<accelerator>)")
    if out.exists() and not out.is_dir():
        raise RerunError(f"--out {out}: exists and is not a folder")
    if out.is_dir() and any(out.iterdir()):
        raise RerunError(f"--out {out}: exists and is not empty; choose a new folder or remove "
                         "this one (a re-run never overwrites earlier outputs)")
    return out


def parse_sets(items: list[str] | None) -> dict:
    """``["hbm_bandwidth=4.8"]`` -> ``{"hbm_bandwidth": 4.8}`` (numbers only: never code)."""
    out = {}
    for item in items or []:
        name, sep, value = item.partition("=")
        name, value = name.strip(), value.strip()
        if not sep or not re.match(r"^[a-z][a-z0-9_]*$", name):
            raise catalog.CatalogError(f"--set {item!r}: write FIELD=NUMBER, e.g. hbm_bandwidth=4.8")
        try:
            number = float(value)
        except ValueError:
            raise catalog.CatalogError(
                f"--set {item!r}: field '{name}': '{value}' is not a number; give the number alone, "
                "in the unit the entry uses for that field (see `hardware show`)") from None
        out[name] = number
    return out


def _field_document(f: catalog.Field) -> dict:
    raw = {"value": f.value, "unit": f.unit, "source": f.source.key}
    for key in ("note", "missing", "also_read_as"):
        if getattr(f, key):
            raw[key] = getattr(f, key)
    if f.alternatives:
        raw["alternatives"] = [_field_document(a) for a in f.alternatives]
    return raw


def _toml_value(v) -> str:
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, (int, float)):
        return repr(v)
    if isinstance(v, str):
        return json.dumps(v, ensure_ascii=False)     # a JSON string is a TOML basic string
    if isinstance(v, list):
        return "[" + ", ".join(_toml_value(x) for x in v) + "]"
    if isinstance(v, dict):
        return "{" + ", ".join(f"{k} = {_toml_value(x)}" for k, x in v.items()
                               if x is not None) + "}"
    raise TypeError(type(v))


def hardware_document(entry: catalog.Entry, fmt: str = "yaml") -> str:
    """An accelerator entry in the hardware-file schema (its sources included), ready to copy
    and edit; ``fmt`` is ``yaml`` or ``toml``. Loading it back gives the same entry."""
    import yaml

    used = {}
    for f in entry.fields.values():
        for g in (f, *f.alternatives):
            used[g.source.key] = g.source
    sources = {}
    for k, src in used.items():
        sources[k] = {"url": src.url, "title": src.title, "date": src.date, "tag": src.tag}
        if src.note:
            sources[k]["note"] = src.note
    body = dict(entry.text)
    body.update({name: _field_document(f) for name, f in entry.fields.items()})
    if fmt == "yaml":
        doc = {"sources": sources, "entries": {entry.key: body}}
        return yaml.safe_dump(doc, sort_keys=False, allow_unicode=True, width=100)
    lines = [f"# {entry.name}: hardware file (TOML). Edit the values; keep unit and source.", ""]
    for k, src in sources.items():
        lines.append(f"[sources.{k}]")
        lines += [f"{key} = {_toml_value(v)}" for key, v in src.items()]
        lines.append("")
    lines.append(f"[entries.{entry.key}]")
    lines += [f"{key} = {_toml_value(v)}" for key, v in body.items()]
    return "\n".join(lines) + "\n"


# --- the comparison -------------------------------------------------------------------------
def _ratio(old: float | None, new: float | None) -> str:
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
        rows.append({
            "name": name, "chapter": ref["chapter"], "unit": ref["unit"], "follows_run": follows,
            "default": None if old is None else old["value"],
            "default_text": "—" if old is None else old["text"],
            "new": None if cur is None else cur["value"],
            "new_text": "—" if cur is None else cur["text"],
            "ratio": _ratio(None if old is None else old["value"], None if cur is None else cur["value"]),
        })
    rows.sort(key=lambda r: not r["follows_run"])          # stable: chapter order kept
    return {"default_accelerator": default_key, "accelerator": new_key, "rows": rows}


def comparison_text(table: dict) -> str:
    """The table as printed at the end of a re-run."""
    rows = table["rows"]
    d, a = table["default_accelerator"], table["accelerator"]
    head = ["result", "unit", d, a, "ratio"]
    body = [[r["name"], r["unit"], r["default_text"], r["new_text"], r["ratio"]] for r in rows]
    widths = [max(len(str(x)) for x in col) for col in zip(head, *body)]
    lines = []
    follows = sum(r["follows_run"] for r in rows)
    for i, row in enumerate([head] + body):
        if i == 1:
            lines.append(f"-- {follows} result(s) that follow the run's accelerator --")
        if i == follows + 1:
            lines.append(f"-- {len(rows) - follows} result(s) fixed by name or independent "
                         "of the hardware --")
        lines.append("  ".join(str(x).ljust(w) if j < 2 else str(x).rjust(w)
                               for j, (x, w) in enumerate(zip(row, widths))))
    return "\n".join(lines)


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


def verdicts_text(table: dict) -> str:
    verdicts = table.get("verdicts", [])
    changed = [v for v in verdicts if v["changed"]]
    caveats = [v["id"] for v in verdicts if v["caveat_changed"]]
    lines = [f"verdicts: {len(verdicts) - len(changed)} of {len(verdicts)} unchanged"
             + (f" ({', '.join(caveats)}: same verdict, numbers in the caveat changed)" if caveats else "")
             + ("; changed:" if changed else "")]
    for v in changed:
        lines.append(f"  {v['id']}: {v['default'] or '—'}  ->  {v['new'] or '—'}")
    return "\n".join(lines)


def comparison_markdown(table: dict, entry, hardware_arg: str) -> str:
    d, a = table["default_accelerator"], table["accelerator"]
    rows = [[f"`{r['name']}`", r["chapter"], r["unit"], r["default_text"], r["new_text"],
             r["ratio"], "yes" if r["follows_run"] else "no"] for r in table["rows"]]
    verdicts = [[v["id"], v["chapter"], v["default"] or "—", v["new"] or "—",
                 "**changed**" if v["changed"] else ("caveat" if v["caveat_changed"] else "=")]
                for v in table.get("verdicts", [])]
    return (f"# Re-run for {entry.name}\n\n"
            f"Every headline result of the re-run chapters: the committed run on `{d}` beside "
            f"this re-run on `{a}` (`--hardware {Path(hardware_arg).name}`). Results that name "
            "an accelerator keep their meaning, so their ratio is `=`.\n\n"
            + md_table(["result", "chapter", "unit", d, a, "ratio", "follows the run"], rows,
                       align="lllrrrl") + "\n\n## Verdicts\n\n"
            + md_table(["claim", "chapter", f"on {d}", f"on {a}", ""], verdicts, align="lllll")
            + "\n")


# --- the variant book -----------------------------------------------------------------------
def build_book(stage: Path, chapters: list[Path], entry, comparison_md: str) -> Path:
    """A book of the re-run: the intro, the re-executed chapters and the comparison page."""
    import yaml

    src = stage / "book"
    (src / "chapters").mkdir(parents=True)
    for nb in chapters:
        shutil.copy2(stage / nb.name, src / "chapters" / nb.name)
    for page in ("intro.md", "course.md"):
        if (ROOT / page).exists():
            shutil.copy2(ROOT / page, src / page)
    appendices = sorted((ROOT / "appendices").glob("*.ipynb"))   # as committed (chapters link them)
    if appendices:
        (src / "appendices").mkdir()
        for nb in appendices:
            shutil.copy2(nb, src / "appendices" / nb.name)
        ledger = src / "appendices" / "claims_ledger.ipynb"
        if ledger.exists():   # the ledger of this run: the re-run chapters' verdicts
            from .execute import execute_one
            execute_one(ROOT / "appendices" / ledger.name, ledger,
                        {"chapters_dir": str((src / "chapters").resolve())})
    (src / "comparison.md").write_text(comparison_md, encoding="utf-8")
    config = yaml.safe_load((ROOT / "_config.yml").read_text(encoding="utf-8"))
    config["title"] = f"{config.get('title', 'The book')}: re-run for {entry.name}"
    (src / "_config.yml").write_text(yaml.safe_dump(config, sort_keys=False), encoding="utf-8")
    toc = {"format": "jb-book", "root": "intro",
           "parts": [{"caption": "Re-run", "chapters": [{"file": "comparison"}]
                      + ([{"file": "course"}] if (src / "course.md").exists() else [])},
                     {"caption": "Chapters",
                      "chapters": [{"file": f"chapters/{nb.stem}"} for nb in chapters]}]
           + ([{"caption": "Appendices (the ledger is this run's; the rest as committed)",
                "chapters": [{"file": f"appendices/{nb.stem}"} for nb in appendices]}]
              if appendices else [])}
    (src / "_toc.yml").write_text(yaml.safe_dump(toc, sort_keys=False), encoding="utf-8")
    jb = Path(sys.executable).parent / "jupyter-book"
    proc = subprocess.run([str(jb if jb.exists() else "jupyter-book"), "build", str(src), "--quiet"],
                          capture_output=True, text=True)
    if proc.returncode != 0 or not (src / "_build" / "html" / "index.html").exists():
        tail = (proc.stderr or proc.stdout).strip().splitlines()[-1:] or ["no output"]
        raise RerunError(f"--build: jupyter-book failed: {tail[0]}")
    return src / "_build" / "html"


# --- the command ----------------------------------------------------------------------------
def _terminate(signum, frame):
    raise KeyboardInterrupt(f"signal {signum}")


def rerun(hardware: str, chapter_names: list[str] | None = None, out: str | None = None,
          build: bool = False, jobs: int | None = None, overrides: dict | None = None) -> int:
    """Validate everything, execute into a staging folder, compare, (build,) then publish."""
    from .execute import execute_many

    entry, param = resolve_hardware(hardware, overrides)
    chapters = select_chapters(chapter_names)
    if not chapters:
        raise RerunError(f"no chapters under {CHAPTERS}")
    out_dir = check_out(Path(out) if out else ROOT / "runs" / entry.key)
    defaults = {nb.stem: chapter_parameters(nb).get("accelerator") for nb in chapters}
    default_keys = sorted({str(v) for v in defaults.values()})
    default_key = default_keys[0] if len(default_keys) == 1 else "default"
    jobs = max(1, min(jobs or os.cpu_count() or 1, len(chapters)))

    out_dir.parent.mkdir(parents=True, exist_ok=True)
    stage = Path(tempfile.mkdtemp(prefix=f".{out_dir.name}.partial-", dir=out_dir.parent))
    umask = os.umask(0)
    os.umask(umask)
    os.chmod(stage, 0o777 & ~umask)      # mkdtemp makes it private; the result is an ordinary folder
    previous = signal.signal(signal.SIGTERM, _terminate)
    start = time.perf_counter()
    try:
        print(f"re-running {len(chapters)} chapter(s) for {entry.name} ({entry.key}) with "
              f"{jobs} job(s) into {out_dir}", flush=True)
        params = {"accelerator": param}
        if overrides:
            params["overrides"] = overrides
        failures = execute_many(chapters, stage, params, jobs)
        if failures:
            raise _ChaptersFailed(f"{failures} chapter(s) failed (see above); nothing written "
                                  f"to {out_dir}")
        default = {n: r for n, r in results.read_results().items()
                   if r["chapter"] in {nb.stem for nb in chapters}}
        new = results.read_results(stage)
        # a catalogued chip with --set numbers is not that chip: say so in the column header
        label = entry.key + ("*" if overrides else "")
        table = compare(default, new, default_key, entry.key)
        table["accelerator"] = label
        stems = {nb.stem for nb in chapters}
        table["verdicts"] = compare_verdicts(
            {c: v for c, v in results.read_claims().items() if v["chapter"] in stems},
            results.read_claims(stage))
        md = comparison_markdown(table, entry, hardware)
        (stage / "comparison.md").write_text(md, encoding="utf-8")
        (stage / "comparison.json").write_text(json.dumps(table, indent=1, ensure_ascii=False)
                                               + "\n", encoding="utf-8")
        # what was run, in the file schema (a catalog entry, or the user's file as validated)
        (stage / "hardware.yaml").write_text(hardware_document(entry), encoding="utf-8")
        html = None
        if build:
            print("building the variant book ...", flush=True)
            html = build_book(stage, chapters, entry, md)
        seconds = time.perf_counter() - start
        manifest = {"hardware": hardware, "accelerator": entry.key, "name": entry.name,
                    "default_accelerator": default_key, "overrides": overrides or {},
                    "chapters": [nb.stem for nb in chapters], "jobs": jobs,
                    "seconds": round(seconds, 1), "book": "book/_build/html/index.html" if html else None}
        (stage / "rerun.json").write_text(json.dumps(manifest, indent=1) + "\n", encoding="utf-8")
        if out_dir.is_dir():
            out_dir.rmdir()           # checked empty above
        os.replace(stage, out_dir)
    except _ChaptersFailed as e:
        shutil.rmtree(stage, ignore_errors=True)
        print(f"error: {e}", file=sys.stderr)
        return 1
    except BaseException:
        shutil.rmtree(stage, ignore_errors=True)
        raise
    finally:
        signal.signal(signal.SIGTERM, previous)
    print(comparison_text(table))
    print(verdicts_text(table))
    if overrides:
        print(f"* {entry.key} with " + ", ".join(f"{k}={v:g}" for k, v in overrides.items()))
    print(f"done in {seconds:.1f} s: {out_dir}  (python -m helpers results --from {out_dir})"
          + (f"\nbook: {out_dir / 'book' / '_build' / 'html' / 'index.html'}" if html else ""))
    return 0
