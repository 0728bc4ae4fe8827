"""The reader's own hardware: a hardware file, and ``--set FIELD=NUMBER`` on top of it.

A hardware file is one accelerator entry in the catalog schema (:mod:`helpers.schema`), with
the sources it cites, as YAML or TOML: exactly what ``python -m helpers hardware show h100``
prints (:func:`hardware_document`), so a reader copies an entry and edits its numbers.
:func:`hardware_file` reads one back, validated like the catalog, and keeps its text fields to
plain one-line text because they are printed into the book's pages.
"""
from __future__ import annotations

import json
import math
import os
from functools import cache
from pathlib import Path

from . import units as U
from .errors import CatalogError
from .safe_read import read_data
from .schema import SCHEMAS, Entry, Field
from .validate import KEY, error_at, parse_catalog, shown, text_problem

HARDWARE_SUFFIXES = (".yaml", ".yml", ".toml")
NAME_LIMIT = 80       # name, vendor: one line in a table cell
NOTES_LIMIT = 4000    # notes: a few paragraphs (`measure` writes ~1,500 characters)
MAX_ALIASES = 8
# plausibility: a value must lie within the catalog's own spread of that field, widened this
# many times down and up (a 2-core CPU measured by `measure` is 10^4 below the slowest part)
WIDEN_DOWN, WIDEN_UP = 1e5, 1e3
YEAR_RANGE = (1970, 2045)  # launch: a fixed span (pages that print it stay byte-stable)


def names_a_file(name_or_file: str) -> bool:
    """Whether an ``accelerator`` argument is a hardware file (else: a catalog name)."""
    if not name_or_file:
        return True         # '' is refused as a file (read_bounded says what to give)
    path = Path(name_or_file)
    return path.suffix in HARDWARE_SUFFIXES or os.path.lexists(path) or "/" in name_or_file


# --- plausibility ----------------------------------------------------------------------------
@cache
def plausible_ranges() -> dict[str, tuple[float, float, float, float]]:
    """``{field: (low, high, catalog min, catalog max)}`` in SI for every accelerator field: the
    catalog's spread, widened :data:`WIDEN_DOWN` times down and :data:`WIDEN_UP` times up
    (counts and years are whole numbers from 1, years from 1970 to 2045)."""
    from . import catalog

    out = {}
    accs = catalog.accelerators().values()
    for name, (dim, _) in SCHEMAS["accelerators"].items():
        values = [g.si for a in accs if name in a.fields
                  for g in (a.fields[name], *a.fields[name].alternatives) if g.si is not None]
        lo, hi = min(values), max(values)
        if dim == "year":
            out[name] = (YEAR_RANGE[0], YEAR_RANGE[1], lo, hi)
        elif dim == "count":
            out[name] = (1.0, hi * WIDEN_UP, lo, hi)
        else:
            out[name] = (lo / WIDEN_DOWN, hi * WIDEN_UP, lo, hi)
    return out


def _in_unit(si: float, unit: str) -> str:
    return f"{si / U.UNITS[unit][1]:.3g}"


def plausibility_problem(name: str, f: Field) -> str | None:
    """Why a field's value (or one of its alternatives) cannot be a real accelerator's, with the
    range in the field's own unit (None when it can)."""
    ranges = plausible_ranges()
    if name not in ranges:
        return None
    low, high, cmin, cmax = ranges[name]
    for g in (f, *f.alternatives):
        if g.si is None or (math.isfinite(g.si) and low <= g.si <= high):
            continue
        which = "value" if g is f else "alternative"
        if SCHEMAS["accelerators"][name][0] == "year":
            return (f"{which} {g.value:g} is not a plausible launch year ({low:.0f} to "
                    f"{high:.0f})")
        unit = g.unit
        widen = ("" if SCHEMAS["accelerators"][name][0] == "count" else
                 f", widened {WIDEN_DOWN:,.0f}× down and {WIDEN_UP:,.0f}× up")
        return (f"{which} {g.value:g} {unit} is outside the plausible range for {name}, "
                f"{_in_unit(low, unit)} to {_in_unit(high, unit)} {unit} (the catalog's "
                f"{_in_unit(cmin, unit)} to {_in_unit(cmax, unit)} {unit}{widen})")
    return None


# --- the catalog's names ---------------------------------------------------------------------
def catalog_names() -> dict[str, str]:
    """Every catalogued accelerator's key and alias (lower case) -> its key."""
    from . import catalog

    names = {}
    for key, e in catalog.accelerators().items():
        for n in (key, *(e.text.get("aliases") or [])):
            names[n.lower()] = key
    return names


def is_catalogued(entry: Entry) -> bool:
    """Whether ``entry`` is a catalogued accelerator as catalogued (same key, same numbers)."""
    from . import catalog

    accs = catalog.accelerators()
    return entry.key in accs and {n: f.si for n, f in accs[entry.key].fields.items()} == \
        {n: f.si for n, f in entry.fields.items()}


def is_catalogued_with_overrides(entry: Entry) -> bool:
    """Whether ``entry`` is a catalogued accelerator whose every differing field was set with
    ``--set`` (cites a source tagged ``override``): a ``--set`` run's ``hardware.yaml``."""
    from . import catalog

    listed = catalog.accelerators().get(entry.key)
    if listed is None or set(listed.fields) - set(entry.fields):
        return False
    return all(f.source.tag == "override" for n, f in entry.fields.items()
               if n not in listed.fields or listed.fields[n].si != f.si)


def check_names(path, entry: Entry) -> None:
    """A user's key and aliases name no catalogued accelerator (unless the file *is* one,
    unchanged or with ``--set`` values): results named ``h100_…`` and ``--hardware h100``
    always mean the catalogued one."""
    if is_catalogued(entry) or is_catalogued_with_overrides(entry):
        return
    names = catalog_names()
    own = names.get(entry.key)
    if own == entry.key:
        raise CatalogError(
            f"{path}: entry '{entry.key}': the key names a catalogued accelerator but the numbers "
            f"differ; give your chip a key of its own (results named {entry.key}_… always mean "
            "the catalogued one)")
    if own is not None:
        raise error_at(path, entry.key, None, f"'{entry.key}' is another name of the catalogued "
                       f"'{own}' (one of its aliases); give your chip a key of its own")
    for alias in entry.text.get("aliases") or []:
        if alias.lower() in names:
            raise error_at(path, entry.key, "aliases", f"'{alias}' already names the catalogued "
                           f"'{names[alias.lower()]}'; an alias must be your chip's alone")


# --- reading ---------------------------------------------------------------------------------
def hardware_file(path: Path | str) -> Entry:
    """The single accelerator entry of a user's hardware file (the schema ``hardware show``
    prints), validated like the catalog and more: text fields are plain text of bounded length
    (they are printed into the book's pages, escaped), every value lies in the plausible range
    of its field (:func:`plausible_ranges`), and no key or alias names a catalogued part."""
    path = Path(path)
    data = read_data(path)
    if isinstance(data, dict) and not data.get("entries") and data.get("sources") is not None:
        raise CatalogError(f"{path}: no entry under 'entries'; a hardware file holds exactly one")
    if not isinstance(data, dict) or "entries" not in data:
        kind = type(data).__name__ if not isinstance(data, dict) else "a mapping without 'entries'"
        raise CatalogError(f"{path}: not a hardware file (found {kind}); it needs 'sources' and "
                           "'entries' as printed by: python -m helpers hardware show --template")
    entries = data.get("entries")
    if isinstance(entries, dict) and len(entries) > 1:
        names = ", ".join(shown(k) for k in list(entries)[:5])
        raise CatalogError(f"{path}: a hardware file holds exactly one entry, found "
                           f"{len(entries)} ({names})")
    entries = parse_catalog(path, "accelerators", data, plausible=plausibility_problem)
    if len(entries) != 1:
        raise CatalogError(f"{path}: a hardware file holds exactly one entry, found {len(entries)}"
                           + (f" ({', '.join(entries)})" if entries else ""))
    (entry,) = entries.values()
    for key in ("name", "vendor", "notes"):
        value = entry.text.get(key)
        if value is None:
            continue
        notes = key == "notes"
        problem = text_problem(value, limit=NOTES_LIMIT if notes else NAME_LIMIT, lines=notes)
        if problem:
            raise error_at(path, entry.key, key, problem)
    if len(entry.text.get("aliases") or []) > MAX_ALIASES:
        raise error_at(path, entry.key, "aliases", f"at most {MAX_ALIASES} aliases")
    check_names(path, entry)
    return entry


def _q(text: str) -> str:
    return "'" + (text if len(text) <= 40 else text[:37] + "...") + "'"


def parse_sets(items: list[str] | None) -> dict:
    """``["hbm_bandwidth=4.8"]`` -> ``{"hbm_bandwidth": 4.8}`` (numbers only: never code).

    Each number is in the unit the entry already uses for that field (``hardware show`` prints
    it; the run prints it too); the field names are checked where the overrides are applied
    (:func:`helpers.notebook.accelerator`) and against the chapters run (:mod:`helpers.rerun`)."""
    out = {}
    for item in items or []:
        name, sep, value = item.partition("=")
        name, value = name.strip(), value.strip()
        if not sep or not KEY.match(name) or len(name) > 40:
            raise CatalogError(f"--set {_q(item)}: write FIELD=NUMBER, e.g. "
                               "hbm_bandwidth=4.8 (in TB/s, the unit the entry uses)")
        try:
            number = float(value)
        except ValueError:
            raise CatalogError(
                f"--set {_q(item)}: field '{name}': {_q(value)} is not a number; "
                "give the number alone, in the unit the entry uses for that field (see "
                "`hardware show`)") from None
        if not math.isfinite(number):
            raise CatalogError(f"--set {_q(item)}: field '{name}': {value} is not a "
                               "finite number")
        if name in out:
            raise CatalogError(f"--set {_q(item)}: field '{name}' is set twice")
        out[name] = number
    return out


# --- writing ---------------------------------------------------------------------------------
def _field_document(f: Field) -> dict:
    raw = {"value": f.value, "unit": f.unit, "source": f.source.key}
    for key in ("note", "missing", "also_read_as"):
        if getattr(f, key):
            raw[key] = getattr(f, key)
    if f.alternatives:
        raw["alternatives"] = [_field_document(a) for a in f.alternatives]
    return raw


def _toml_value(v) -> str:
    """One TOML value (the subset a hardware file needs: numbers, text, lists, inline tables)."""
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


def hardware_document(entry: Entry, fmt: str = "yaml") -> str:
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


# --- a clean file to fill ---------------------------------------------------------------------
# what each field means, for the template's comments
FIELD_HELP = {
    "launch": "year the part shipped",
    "hbm_capacity": "memory per accelerator (GB decimal, or GiB)",
    "hbm_bandwidth": "memory bandwidth per accelerator",
    "bf16_dense_flops": "dense BF16 FLOP/s (a 2:4-sparse datasheet figure halved)",
    "fp8_dense_flops": "dense FP8 FLOP/s; no FP8 units: replace value with missing: <why>",
    "fp4_dense_flops": "dense FP4 FLOP/s (read by no chapter yet)",
    "scale_up_domain": "accelerators in one scale-up (NVLink-class) domain, a whole number",
    "scale_up_bandwidth": "scale-up bandwidth per accelerator, one direction",
    "scale_out_bandwidth": "scale-out (NIC) bandwidth per accelerator, one direction",
    "tdp": "board power (chapter 7's power cost and economic life read it)",
}


def template_document(fmt: str = "yaml", like: Entry | None = None) -> str:
    """A hardware file to fill in: every field with its unit and the one source to replace,
    values empty (the file is refused until they are given), no inherited sources, notes,
    aliases or readings; each field's comment gives ``like``'s value (default: the H100) for
    scale."""
    from . import catalog

    like = like or catalog.accelerators()["h100"]
    schema = SCHEMAS["accelerators"]
    tags = " | ".join(t for t in catalog.TAGS if t != "override")

    def example(name: str) -> str:
        f = like.fields.get(name)
        if f is None or f.value is None:
            return f"{like.key}: none"
        return f"{like.key}: {f.value:g}" + ("" if f.unit in ("year", "count") else f" {f.unit}")

    def unit(name: str) -> str:
        from .validate import example_unit
        f = like.fields.get(name)
        return f.unit if f is not None else example_unit(schema[name][0])

    head = ("A hardware file for: python -m helpers rerun --hardware THIS_FILE. Fill in every "
            "value, cite each number's source under sources (one per document), then run: "
            "python -m helpers hardware check THIS_FILE")
    if fmt == "toml":
        lines = [f"# {head}", "", "[sources.my_datasheet]",
                 'url = "https://example.com/my-chip-datasheet"   # where the numbers come from',
                 'title = "My chip datasheet"',
                 'date = "2026-01"                  # YYYY-MM or YYYY-MM-DD, not in the future',
                 f'tag = "primary"                  # {tags}',
                 "", "[entries.my_chip]             # the key: lower_snake_case, not a catalogued "
                 "part's", 'name = "My chip"', 'vendor = "My company"']
        for name, (_, required) in schema.items():
            opt = "" if required else "optional; "
            lines.append(f'{name} = {{ value = 0, unit = "{unit(name)}", source = '
                         f'"my_datasheet" }}   # {opt}{FIELD_HELP.get(name, "")} ({example(name)})')
        return "\n".join(lines) + "\n"
    lines = [f"# {head}", "sources:", "  my_datasheet:",
             "    url: https://example.com/my-chip-datasheet   # where the numbers come from",
             "    title: My chip datasheet",
             "    date: '2026-01'          # YYYY-MM or YYYY-MM-DD, not in the future",
             f"    tag: primary             # {tags}",
             "entries:",
             "  my_chip:                   # the key: lower_snake_case, not a catalogued part's",
             "    name: My chip", "    vendor: My company"]
    for name, (_, required) in schema.items():
        opt = "" if required else "optional; "
        lines.append(f"    {name}: {{value: null, unit: {unit(name)}, source: my_datasheet}}"
                     f"   # {opt}{FIELD_HELP.get(name, '')} ({example(name)})")
    return "\n".join(lines) + "\n"
