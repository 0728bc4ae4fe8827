"""Raw catalog data (as YAML or TOML read it) -> validated :mod:`helpers.schema` records.

Every problem raises :class:`~helpers.errors.CatalogError` with one line naming the file, the
entry and the field, and saying what to write instead (a close match for a misspelt field or
unit, the number alone when a value was written with its unit).
"""
from __future__ import annotations

import datetime as _dt
import difflib
import math
import re
from pathlib import Path
from typing import Any

from . import units as U
from .errors import CatalogError
from .schema import (
    ATTENTION_FIELDS,
    ATTENTION_KINDS,
    ENTRY_TEXT_KEYS,
    FIELD_KEYS,
    OPEN_TEXT_KEYS,
    SCHEMAS,
    TAGS,
    ZERO_ALLOWED,
    Entry,
    Field,
    Source,
)

KEY = re.compile(r"^[a-z][a-z0-9_]*$")
ALIAS = re.compile(r"^[a-z0-9][a-z0-9_.\-]*$")
DATE = re.compile(r"^\d{4}-\d{2}(-\d{2})?$")
_QUANTITY = re.compile(r"^\s*([-+]?(?:\d+\.?\d*|\.\d+)(?:[eE][-+]?\d+)?)\s*([A-Za-z/]+)\s*$")


def error_at(path, entry, field, problem) -> CatalogError:
    """The one-line error for ``problem`` at file ``path``, entry ``entry``, field ``field``."""
    where = f"{path}: entry '{entry}'" + (f", field '{field}'" if field else "")
    return CatalogError(f"{where}: {problem}")


def short_repr(raw, limit=40) -> str:
    """``repr(raw)``, cut to ``limit`` characters: a value quoted in a message."""
    text = repr(raw)
    return text if len(text) <= limit else text[:limit - 3] + "..."


def example_unit(dim: str) -> str:
    """A unit of dimension ``dim`` to suggest in messages (the catalogs' usual one)."""
    preferred = {"bytes/s": "TB/s", "bytes": "GB", "flop/s": "TFLOP/s", "count": "count",
                 "year": "year", "W": "W", "USD/token": "USD/Mtok"}
    if dim in preferred:
        return preferred[dim]
    return next((u for u, (d, _) in U.UNITS.items() if d == dim), "?")


def _is_number(x) -> bool:
    return isinstance(x, (int, float)) and not isinstance(x, bool) and math.isfinite(x)


def _float_or_none(text: str) -> float | None:
    try:
        return float(text)
    except ValueError:
        return None


def _split_quantity(text: str) -> tuple[float | None, str | None]:
    """'3.35 TB/s' -> (3.35, 'TB/s') when the unit is a known one; else (None, None)."""
    m = _QUANTITY.match(text)
    if not m or m.group(2) not in U.UNITS:
        return None, None
    return float(m.group(1)), m.group(2)


def _text_value_problem(value: str, dim: str | None) -> str:
    """Why a text value is refused, and what to write instead.

    A number written with its unit ("3.35 TB/s") is refused rather than parsed: the unit
    belongs in 'unit', and a value carrying a second unit would make the file ambiguous."""
    number, unit = _split_quantity(value)
    shown = short_repr(value)
    if number is None:
        return (f"value {shown} is text, not a number; write the number alone and its unit in "
                f"'unit' (e.g. value: 3.35, unit: {example_unit(dim) if dim else 'TB/s'})")
    if dim and U.dimension(unit) != dim:
        return (f"value {shown} is text, and {unit} is {U.dimension(unit)}, not {dim}; "
                f"write a number in 'value' and a {dim} unit (e.g. {example_unit(dim)}) in 'unit'")
    return (f"value {shown} is text; write the number alone and the unit in 'unit': "
            f"value: {number:g}, unit: {unit}")


def _date_text(raw) -> str:
    """YAML reads an unquoted 2024-01-02 as a date: back to its text."""
    return raw.isoformat() if isinstance(raw, _dt.date) else str(raw)


def _unknown_unit(path, entry, name, unit) -> CatalogError:
    close = difflib.get_close_matches(str(unit), U.UNITS, n=3)
    hint = f" (did you mean {', '.join(close)}?)" if close else ""
    return error_at(path, entry, name, f"unknown unit '{unit}'{hint}")


def parse_source(path, key, raw) -> Source:
    """One entry of a file's ``sources``: {url, title, date, tag, note?}."""
    if not isinstance(raw, dict):
        raise error_at(path, f"sources.{key}", None, "must be a mapping with url, title, date, tag")
    for req in ("url", "title", "date", "tag"):
        if raw.get(req) in (None, ""):
            raise error_at(path, f"sources.{key}", req, "missing")
    unknown = set(raw) - {"url", "title", "date", "tag", "note"}
    if unknown:
        raise error_at(path, f"sources.{key}", sorted(unknown)[0], "unknown key")
    date = _date_text(raw["date"])
    if not DATE.match(date):
        raise error_at(path, f"sources.{key}", "date", f"'{date}' is not YYYY-MM-DD or YYYY-MM")
    if raw["tag"] not in TAGS:
        raise error_at(path, f"sources.{key}", "tag",
                       f"'{raw['tag']}' is not one of {', '.join(TAGS)}")
    if not str(raw["url"]).startswith("https://"):
        raise error_at(path, f"sources.{key}", "url", "must be an https:// URL")
    return Source(key, str(raw["url"]), str(raw["title"]), date, raw["tag"],
                  str(raw.get("note", "")))


def parse_field(path, entry, name, raw, dim, sources, *, allow_missing=True,
                allow_zero=False) -> Field:
    """Validate one ``{value, unit, source, ...}`` mapping and convert it to SI."""
    if not isinstance(raw, dict):
        number, unit = _split_quantity(raw) if isinstance(raw, str) else (None, None)
        if number is not None and U.dimension(unit) == dim:
            example = f"{{value: {number:g}, unit: {unit}, source: <key>}}"
        else:
            example = (f"{{value: <number>, unit: <{dim} unit, e.g. {example_unit(dim)}>, "
                       "source: <key>}")
        raise error_at(path, entry, name, f"must be a mapping {{value, unit, source}}; got "
                       f"{short_repr(raw)}; write {example}")
    unknown = set(raw) - FIELD_KEYS
    if unknown:
        raise error_at(path, entry, name, f"unknown key '{sorted(unknown)[0]}'")
    if "value" not in raw and raw.get("missing"):
        raw = dict(raw, value=None)   # TOML has no null: 'missing' alone means no value
    for req in ("value", "unit", "source"):
        if req not in raw:
            raise error_at(path, entry, name, f"missing '{req}'")
    unit = raw["unit"]
    if unit not in U.UNITS:
        raise _unknown_unit(path, entry, name, unit)
    if U.dimension(unit) != dim:
        raise error_at(path, entry, name, f"unit '{unit}' is {U.dimension(unit)}, expected {dim}")
    src = raw["source"]
    if src not in sources:
        raise error_at(path, entry, name, f"source '{src}' is not listed under 'sources'")
    value = raw["value"]
    missing = str(raw.get("missing", "") or "")
    if value is None:
        if not (allow_missing and missing):
            raise error_at(path, entry, name, "value is null; give a number, or 'missing: <why>'")
        si = None
    else:
        if isinstance(value, str) and _is_number(_float_or_none(value)):
            value = float(value)   # YAML 1.1 reads 5.76e23 (no dot before the e) as text
        if isinstance(value, str):
            raise error_at(path, entry, name, _text_value_problem(value, dim))
        if not _is_number(value):
            raise error_at(path, entry, name, f"value {value!r} is not a number")
        if value < 0 or (value == 0 and not allow_zero):
            raise error_at(path, entry, name, f"value {value} must be positive")
        if missing:
            raise error_at(path, entry, name, "has both a value and 'missing'")
        si = U.to_si(value, unit)
    also = raw.get("also_read_as", "") or ""
    if also and (also not in U.UNITS or U.dimension(also) != dim):
        raise error_at(path, entry, name, f"also_read_as '{also}' is not a {dim} unit")
    alts = []
    for i, alt in enumerate(raw.get("alternatives", []) or []):
        alts.append(parse_field(path, entry, f"{name}.alternatives[{i}]", alt, dim, sources,
                                allow_missing=False))
    return Field(name, value, unit, sources[src], si, str(raw.get("note", "") or ""), missing,
                 also, tuple(alts))


def _parse_open_entry(path, kind, key, raw, sources) -> Entry:
    """An entry of an open catalog: every non-text key is a field; its unit gives its dimension."""
    text, fields = {}, {}
    for name, val in raw.items():
        if name in OPEN_TEXT_KEYS:
            text[name] = val
            continue
        if not KEY.match(str(name)):
            raise error_at(path, key, name, "field names are lower_snake_case")
        unit = val.get("unit") if isinstance(val, dict) else None
        dim = U.dimension(unit) if unit in U.UNITS else None
        if dim is None and isinstance(val, dict) and "unit" in val:
            raise _unknown_unit(path, key, name, unit)
        fields[name] = parse_field(path, key, name, val, dim, sources)
    if "name" not in text:
        raise error_at(path, key, "name", "missing required field")
    if "date" in text:
        text["date"] = _date_text(text["date"])
        if not DATE.match(text["date"]):
            raise error_at(path, key, "date", f"'{text['date']}' is not YYYY-MM-DD or YYYY-MM")
    return Entry(key, kind, text, fields, str(path))


def parse_entry(path, kind, key, raw, sources) -> Entry:
    """One entry of catalog ``kind`` (a fixed schema, or an open catalog's own fields)."""
    if not KEY.match(str(key)):
        raise error_at(path, key, None, "entry keys are lower_snake_case")
    if not isinstance(raw, dict):
        raise error_at(path, key, None, "must be a mapping of fields")
    if kind not in SCHEMAS:
        return _parse_open_entry(path, kind, key, raw, sources)
    schema = SCHEMAS[kind]
    text, fields = {}, {}
    for name, val in raw.items():
        if name in ENTRY_TEXT_KEYS[kind]:
            text[name] = val
        elif name in schema:
            fields[name] = parse_field(path, key, name, val, schema[name][0], sources,
                                       allow_zero=name in ZERO_ALLOWED)
        else:
            known = list(schema) + list(ENTRY_TEXT_KEYS[kind])
            close = difflib.get_close_matches(str(name), known, n=1)
            hint = f" (did you mean '{close[0]}'?)" if close else ""
            raise error_at(path, key, name, f"unknown field{hint}")
    for name, (_, required) in schema.items():
        if required and name not in fields:
            raise error_at(path, key, name, "missing required field")
    if "name" not in text:
        raise error_at(path, key, "name", "missing required field")
    aliases = text.get("aliases", [])
    if not isinstance(aliases, list) or not all(isinstance(a, str) and ALIAS.match(a)
                                                for a in aliases):
        raise error_at(path, key, "aliases", "must be a list of lower-case names")
    if kind == "prices":
        date = _date_text(text.get("date") or "")
        if not DATE.match(date):
            raise error_at(path, key, "date", "a price sheet needs its date, YYYY-MM-DD or YYYY-MM")
        text["date"] = date
    if kind == "models":
        _check_model(path, key, text, fields)
    return Entry(key, kind, text, fields, str(path))


def _check_model(path, key, text, fields) -> None:
    """A model names its attention kind and has the fields that kind's KV cache needs."""
    att = text.get("attention")
    if att not in ATTENTION_KINDS:
        raise error_at(path, key, "attention",
                       f"'{att}' is not one of {', '.join(ATTENTION_KINDS)}")
    active, total = fields["active_params"].si, fields["total_params"].si
    if active and total and active > total:
        raise error_at(path, key, "active_params", "exceeds total_params")
    for needed in ATTENTION_FIELDS[att]:
        if needed not in fields:
            raise error_at(path, key, needed, f"missing; attention '{att}' needs "
                           + ", ".join(ATTENTION_FIELDS[att]))


def parse_catalog(path: Path | str, kind: str, data: Any) -> dict[str, Entry]:
    """A whole file's data, ``{sources, entries}``: every entry validated, keys and aliases
    unique across the file."""
    path = str(path)
    if data is None:
        raise error_at(path, "-", None, "file is empty")
    if not isinstance(data, dict) or set(data) - {"sources", "entries"} or "entries" not in data:
        raise CatalogError(f"{path}: top level must be a mapping with 'sources' and 'entries'")
    sources = {k: parse_source(path, k, v) for k, v in (data.get("sources") or {}).items()}
    entries = data["entries"] or {}
    if not isinstance(entries, dict):
        raise CatalogError(f"{path}: 'entries' must be a mapping")
    parsed = {k: parse_entry(path, kind, k, v, sources) for k, v in entries.items()}
    seen: dict[str, str] = {}
    for k, e in parsed.items():
        for name in [k, *e.text.get("aliases", [])]:
            if name in seen and seen[name] != k:
                raise error_at(path, k, "aliases", f"'{name}' already names entry '{seen[name]}'")
            seen[name] = k
    return parsed
