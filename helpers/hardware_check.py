"""What a re-run needs of its hardware, checked before any notebook runs, and what a hardware
file will change: ``python -m helpers hardware check FILE``.

The chapters compute their hardware-dependent results through the registry's headlines
(:mod:`helpers.registry`); the committed notebooks record which headline each result is a
value of. So, for the chapters of a run, the accelerator fields they read are known before a
kernel starts:

* :func:`check_needs`: a field a chapter reads may not be ``missing`` (unless some catalogued
  part lacks it too, as the A100 lacks FP8: the chapters handle that case);
* :func:`check_sets`: ``--set`` may change only a field some chapter of the run reads;
* :func:`report`: the fields and headline results a file changes compared with the catalogued
  part it resembles (the one whose sources it cites, else the H100), and warnings: a value that
  differs from the source it cites, an ``also_read_as`` unit or notes copied from that part.
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from functools import cache
from pathlib import Path

from . import catalog
from .errors import CatalogError
from .schema import SCHEMAS, Entry

BASELINE = "h100"     # what a file is compared with when it cites no catalogued part's sources
# fields of the schema that no chapter reads (kept: the catalog sources them, the catalog pages
# show them); a result that uses one needs a chapter's edit
UNREAD = ("fp4_dense_flops",)


class _Traced:
    """An accelerator entry that records which fields are read (``acc.x``, ``acc.has("x")``,
    ``acc.fields["x"]``) and which one had no value, as a headline's function reads it."""

    def __init__(self, entry: Entry):
        self._entry, self.read, self.failed = entry, set(), None
        self.fields = _TracedFields(entry.fields, self.read)

    def __getattr__(self, item):
        if item in SCHEMAS["accelerators"]:
            self.read.add(item)
            try:
                return getattr(self._entry, item)
            except (CatalogError, AttributeError):
                self.failed = self.failed or item
                raise
        return getattr(self._entry, item)

    def has(self, item: str) -> bool:
        self.read.add(item)
        return self._entry.has(item)


class _TracedFields(dict):
    def __init__(self, fields, read):
        super().__init__(fields)
        self._read = read

    def __getitem__(self, item):
        self._read.add(item)
        return super().__getitem__(item)

    def get(self, item, default=None):
        self._read.add(item)
        return super().get(item, default)

    def __contains__(self, item):
        self._read.add(item)
        return super().__contains__(item)


@dataclass(frozen=True)
class Trace:
    """One run-dependent headline evaluated for an entry: the fields it read, the field it
    found without a value (None when it had all it read), and its value (None when it failed)."""
    headline: str
    chapter: str
    read: frozenset
    failed: str | None
    value: float | None


def _committed_headlines() -> dict[str, str]:
    """``{headline: chapter}`` for the chapters as they are now (read again when one changed)."""
    from . import paths

    folder = paths.CHAPTERS
    stamp = tuple((p.name, p.stat().st_mtime_ns, p.stat().st_size)
                  for p in paths.notebooks(folder))
    return _headlines_of(str(folder), stamp)


@cache
def _headlines_of(folder: str, stamp: tuple) -> dict[str, str]:
    """``{headline: chapter}`` for every headline a chapter publishes for its run's accelerator:
    those its committed outputs record (the result named as the headline itself), and those its
    code names in a string literal (so a notebook whose outputs are being rewritten, or were
    cleared, still declares what it reads)."""
    import json
    import re

    from . import registry, results
    from .paths import notebooks

    found = {n: r["chapter"] for n, r in results.read_results(folder).items()
             if r.get("headline") == n}
    known = registry.hardware_dependent()
    literal = re.compile(r"""["']([a-z][a-z0-9_]*)["']""")
    for nb in notebooks(folder):
        try:
            cells = json.loads(nb.read_text(encoding="utf-8")).get("cells", [])
        except (OSError, ValueError):
            continue
        for cell in cells:
            if cell.get("cell_type") == "code":
                for name in literal.findall("".join(cell.get("source", ""))):
                    if name in known:
                        found.setdefault(name, nb.stem)
    return found


def trace(entry: Entry, chapters: list[Path] | None = None) -> list[Trace]:
    """Every run-dependent headline of ``chapters`` (default: all) evaluated for ``entry``,
    recording what it reads: the chapters read the hardware through these."""
    from . import registry

    stems = None if chapters is None else {nb.stem for nb in chapters}
    out = []
    for name, chapter in _committed_headlines().items():
        if (stems is not None and chapter not in stems) or name not in registry.headlines():
            continue
        acc = _Traced(entry)
        try:
            value = float(registry.get(name).value(acc))
        except (CatalogError, AttributeError):
            value = None
        except (ArithmeticError, ValueError, TypeError):     # a formula's own limits
            value = None
        out.append(Trace(name, chapter, frozenset(acc.read), acc.failed, value))
    return out


def read_fields(entry: Entry, chapters: list[Path]) -> set[str]:
    """The accelerator fields the chapters' results read for ``entry``."""
    return {f for t in trace(entry, chapters) for f in t.read}


def _tolerated() -> set[str]:
    """Fields some catalogued part lacks (FP8 on the A100): every chapter copes with those."""
    return {n for a in catalog.accelerators().values() for n, f in a.fields.items()
            if f.si is None}


def check_needs(entry: Entry, chapters: list[Path], label: str) -> None:
    """Refuse a run whose chapters read a field the entry has no value for."""
    tolerated = _tolerated()
    short: dict[str, set[str]] = {}
    for t in trace(entry, chapters):
        if t.failed is not None and t.failed not in tolerated:
            short.setdefault(t.failed, set()).add(t.chapter)
    if not short:
        return
    name = sorted(short)[0]
    f = entry.fields.get(name)
    why = f"no value ({f.missing})" if f is not None and f.missing else "not given"
    ok = [nb.stem.split("_")[0] for nb in chapters
          if not any(nb.stem in c for c in short.values())]
    hint = (f", or re-run only the chapters that do not read it: --chapters {' '.join(ok)}"
            if ok else "")
    cut = why if len(why) <= 120 else why[:117] + "..."
    raise CatalogError(f"{label}: entry '{entry.key}', field '{name}': {cut}, but chapter(s) "
                       f"{', '.join(sorted(short[name]))} compute results from it; give a "
                       f"number{hint}")


def field_units(entry: Entry, names) -> str:
    """``hbm_bandwidth (TB/s), bf16_dense_flops (TFLOP/s)``: fields with the unit --set takes."""
    from .validate import example_unit

    return ", ".join(f"{n} ({entry.fields[n].unit if n in entry.fields else example_unit(d)})"
                     for n, (d, _) in SCHEMAS["accelerators"].items() if n in names)


def check_sets(overrides: dict, entry: Entry, chapters: list[Path]) -> None:
    """``--set`` may change only what a chapter of the run reads (``tdp``, say, is read by none:
    setting it would change nothing and suggest it had)."""
    used = read_fields(entry, chapters)
    for name in overrides:
        if name in SCHEMAS["accelerators"] and name not in used:
            stems = ", ".join(nb.stem.split("_")[0] for nb in chapters)
            raise CatalogError(f"--set {name}: no result of the chapters run ({stems}) reads "
                               f"{name}, so setting it would change nothing; fields they read, "
                               f"in the unit --set takes: {field_units(entry, used)}")


# --- what a file changes ------------------------------------------------------------------
def resembles(entry: Entry) -> Entry:
    """The catalogued part a user's entry was copied from: the one whose sources it cites most
    (``hardware show NAME`` copies NAME's), else the H100."""
    accs = catalog.accelerators()
    if entry.key in accs:
        return accs[entry.key]
    cited = {(g.source.key, g.source.url) for f in entry.fields.values()
             for g in (f, *f.alternatives)}
    best, score = accs[BASELINE], 0
    for a in accs.values():
        n = len(cited & {(g.source.key, g.source.url) for f in a.fields.values()
                         for g in (f, *f.alternatives)})
        if n > score:
            best, score = a, n
    return best


@cache
def _source_values() -> dict[tuple[str, str, str], set[float]]:
    """``{(source key, url, field): {SI values}}``: what each catalogued source gives."""
    out: dict[tuple[str, str, str], set[float]] = {}
    for a in catalog.accelerators().values():
        for name, f in a.fields.items():
            for g in (f, *f.alternatives):
                if g.si is not None:
                    out.setdefault((g.source.key, g.source.url, name), set()).add(g.si)
    return out


def _same(a: float | None, b: float | None) -> bool:
    if a is None or b is None:
        return a is b
    return a == b or (b != 0 and abs(a / b - 1) < 1e-9)


def warnings(entry: Entry) -> list[str]:
    """What in a file no longer describes the chip: a value its cited source does not give, an
    ``also_read_as`` reading or notes copied from the part it resembles."""
    if entry.key in catalog.accelerators():
        return []
    base = resembles(entry)
    out = []
    given = _source_values()
    for name, f in entry.fields.items():
        values = given.get((f.source.key, f.source.url, name))
        if values and f.si is not None and not any(_same(f.si, v) for v in values):
            out.append(f"field '{name}': {f.value:g} {f.unit} cites source '{f.source.key}' "
                       f"({f.source.title[:60]}), which gives a different value; cite where "
                       "your number comes from")
        b = base.fields.get(name)
        if f.also_read_as and b is not None and b.also_read_as == f.also_read_as \
                and not _same(f.si, b.si):
            out.append(f"field '{name}': also_read_as {f.also_read_as} is copied from "
                       f"{base.key}; the chapters re-read your number in {f.also_read_as} "
                       "(the 'other reading' results): remove it unless your chip's own "
                       "documents print it that way")
        if f.note and b is not None and f.note == b.note and not _same(f.si, b.si):
            out.append(f"field '{name}': its note is {base.key}'s, but the value is not")
    if entry.text.get("notes") and entry.text.get("notes") == base.text.get("notes"):
        out.append(f"notes: copied from {base.key}; they describe that part, not yours")
    for name in entry.fields:
        if name in UNREAD:
            out.append(f"field '{name}': read by no chapter; it is shown on the catalog pages "
                       "but changes no result")
    placeholders = sorted({f.source.key for f in entry.fields.values()
                           if "example.com" in f.source.url})
    if placeholders:
        out.append(f"source '{placeholders[0]}': still the template's placeholder "
                   "(example.com); cite the document your numbers come from")
    return out


def _text(v: float | None, unit: str = "") -> str:
    from .fmt import num
    if v is None:
        return "—"
    if math.isinf(v):
        return "∞"
    return num(v) if 1e-3 <= abs(v) < 1e7 or v == 0 else f"{v:.3g}"


def changed_results(entry: Entry, base: Entry) -> list[tuple[str, str, float | None,
                                                             float | None]]:
    """``[(chapter, headline, base value, entry value)]`` for every committed run-dependent
    headline whose value differs, by chapter, the largest change first."""
    old = {t.headline: t.value for t in trace(base)}
    rows = [(t.chapter, t.headline, old.get(t.headline), t.value) for t in trace(entry)
            if not _same(t.value, old.get(t.headline))]

    def size(row):
        a, b = row[2], row[3]
        if a in (None, 0) or b in (None, 0) or math.isinf(a) or math.isinf(b):
            return math.inf
        return abs(math.log(abs(b / a)))
    rows.sort(key=lambda r: (r[0], -size(r)))
    return rows


def report(entry: Entry, label: str) -> str:
    """What ``hardware check`` prints for a valid file."""
    from .compare import ratio

    base = resembles(entry)
    lines = [f"{label}: entry '{entry.key}' is valid: every check a re-run makes passed"]
    if entry.key == base.key:
        lines.append(f"it is the catalogued {base.key} as catalogued: a re-run changes nothing")
        return "\n".join(lines)
    lines.append(f"compared with {base.key} ({base.name}), "
                 + ("the part whose sources it cites:" if base.key != BASELINE or any(
                     g.source.key in {x.source.key for x in base.fields.values()}
                     for g in entry.fields.values()) else "the default part:"))
    fields = []
    for name in SCHEMAS["accelerators"]:
        f, b = entry.fields.get(name), base.fields.get(name)
        fs, bs = (f.si if f else None), (b.si if b else None)
        if _same(fs, bs):
            continue
        new = f"{f.value:g} {f.unit}" if f and f.si is not None else "missing"
        old = f"{b.value:g} {b.unit}" if b and b.si is not None else "missing"
        fields.append((name, old, new, ratio(bs, fs) if fs and bs and name != "launch" else ""))
    if fields:
        w = [max(len(r[i]) for r in fields) for i in range(3)]
        lines.append("  fields it changes:")
        lines += [f"    {n:<{w[0]}}  {o:>{w[1]}}  ->  {v:<{w[2]}}  {r}" for n, o, v, r in fields]
    else:
        lines.append("  fields it changes: none (only its name, key or sources)")
    rows = changed_results(entry, base)
    if rows:
        lines.append(f"  results it changes ({len(rows)} headline(s), by chapter, largest "
                     "change first):")
        w = max(len(r[1]) for r in rows)
        for chapter, name, old, new in rows:
            r = ratio(old, new)
            r = "" if r in ("—", "=") else r
            lines.append(f"    {chapter.split('_')[0]}  {name:<{w}}  {_text(old):>10}  ->  "
                         f"{_text(new):<10}  {r}")
    return "\n".join(lines)
