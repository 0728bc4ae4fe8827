"""The reader's own hardware: a hardware file, and ``--set FIELD=NUMBER`` on top of it.

A hardware file is one accelerator entry in the catalog schema (:mod:`helpers.schema`), with
the sources it cites, as YAML or TOML: exactly what ``python -m helpers hardware show h100``
prints (:func:`hardware_document`), so a reader copies an entry and edits its numbers.
:func:`hardware_file` reads one back, validated like the catalog, and keeps its text fields to
plain one-line text because they are printed into the book's pages.
"""
from __future__ import annotations

import json
import re
from pathlib import Path

from .errors import CatalogError
from .safe_read import read_data
from .schema import Entry, Field
from .validate import KEY, error_at, parse_catalog, short_repr

HARDWARE_SUFFIXES = (".yaml", ".yml", ".toml")
_TEXT_BANNED = re.compile(r"[<>{}`$\\\x00-\x1f\x7f]")   # name, vendor: plain one-line text
_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f]")


def names_a_file(name_or_file: str) -> bool:
    """Whether an ``accelerator`` argument is a hardware file (else: a catalog name)."""
    path = Path(name_or_file)
    return path.suffix in HARDWARE_SUFFIXES or path.exists()


# --- reading ---------------------------------------------------------------------------------
def hardware_file(path: Path | str) -> Entry:
    """The single accelerator entry of a user's hardware file (the schema ``hardware show``
    prints), validated like the catalog, with its text fields kept to plain one-line text."""
    path = Path(path)
    data = read_data(path)
    if isinstance(data, dict) and not data.get("entries") and data.get("sources") is not None:
        raise CatalogError(f"{path}: no entry under 'entries'; a hardware file holds exactly one")
    if not isinstance(data, dict) or "entries" not in data:
        kind = type(data).__name__ if not isinstance(data, dict) else "a mapping without 'entries'"
        raise CatalogError(f"{path}: not a hardware file (found {kind}); it needs 'sources' and "
                           "'entries' as printed by: python -m helpers hardware show h100")
    entries = parse_catalog(path, "accelerators", data)
    if len(entries) != 1:
        raise CatalogError(f"{path}: a hardware file holds exactly one entry, found {len(entries)}"
                           + (f" ({', '.join(entries)})" if entries else ""))
    (entry,) = entries.values()
    for key in ("name", "vendor", "notes"):
        value = entry.text.get(key)
        if value is None:
            continue
        if not isinstance(value, str):
            raise error_at(path, entry.key, key, f"must be text, got {short_repr(value)}")
        if key == "notes":          # not printed into pages; only kept free of control bytes
            bad = _CONTROL.search(value)
            if bad:
                raise error_at(path, entry.key, key,
                               f"control character {bad.group()!r} is not allowed")
            continue
        if len(value) > 80:
            raise error_at(path, entry.key, key, "longer than 80 characters")
        bad = _TEXT_BANNED.search(value)
        if bad:
            raise error_at(path, entry.key, key, f"character {bad.group()!r} is not allowed "
                           "(plain one-line text only: it is printed into the book's pages)")
    return entry


def parse_sets(items: list[str] | None) -> dict:
    """``["hbm_bandwidth=4.8"]`` -> ``{"hbm_bandwidth": 4.8}`` (numbers only: never code).

    Each number is in the unit the entry already uses for that field; the field names are
    checked where the overrides are applied (:func:`helpers.notebook.accelerator`)."""
    out = {}
    for item in items or []:
        name, sep, value = item.partition("=")
        name, value = name.strip(), value.strip()
        if not sep or not KEY.match(name):
            raise CatalogError(f"--set {item!r}: write FIELD=NUMBER, e.g. hbm_bandwidth=4.8")
        try:
            number = float(value)
        except ValueError:
            raise CatalogError(
                f"--set {item!r}: field '{name}': '{value}' is not a number; give the number "
                "alone, in the unit the entry uses for that field (see `hardware show`)") from None
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
