"""Raw catalog data (as YAML or TOML read it) -> validated :mod:`helpers.schema` records.

Every problem raises :class:`~helpers.errors.CatalogError` with one line naming the file, the
entry and the field, and saying what to write instead (a close match for a misspelt field or
unit, the number alone when a value was written with its unit).
"""
from __future__ import annotations

import dataclasses
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
    RANGE_KEYS,
    SCHEMAS,
    TAGS,
    ZERO_ALLOWED,
    Entry,
    Field,
    Range,
    Source,
)

KEY = re.compile(r"^[a-z][a-z0-9_]*$")
ALIAS = re.compile(r"^[a-z0-9][a-z0-9_.\-]*$")
DATE = re.compile(r"^\d{4}-\d{2}(-\d{2})?$")
MAX_KEY = 40          # entry, source and field keys, aliases: they become file and column names
MAX_URL = 2000
# a source URL: https, a host name, and only characters that need no quoting in a Markdown link
# or an HTML attribute (RFC 3986 less the quote, parentheses and brackets; %XX for the rest)
_URL_CHARS = re.compile(r"^[A-Za-z0-9\-._~:/?#@!$&*+,;=%]+$")
_PERCENT = re.compile(r"%(?![0-9A-Fa-f]{2})")
_HOST = re.compile(r"^(?=.{1,253}$)[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?"
                   r"(?:\.[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?)+$")
_SHOWN = re.compile(r"^[^\x00-\x1f\x7f]{1,60}$")
_QUANTITY = re.compile(r"^\s*([-+]?(?:\d+\.?\d*|\.\d+)(?:[eE][-+]?\d+)?)\s*([A-Za-z/]+)\s*$")


def shown(name) -> str:
    """A key or field name as a message quotes it: as written when it is short text on one
    line, else its repr cut to 40 characters (a 100,000-character key stays a short line)."""
    if isinstance(name, str) and _SHOWN.match(name):
        return name
    text = repr(name)[1:-1] if isinstance(name, str) else repr(name)
    return text if len(text) <= 40 else text[:37] + "..."


def error_at(path, entry, field, problem) -> CatalogError:
    """The one-line error for ``problem`` at file ``path``, entry ``entry``, field ``field``."""
    where = f"{path}: entry '{shown(entry)}'" + (f", field '{shown(field)}'" if field else "")
    return CatalogError(f"{where}: {problem}")


def key_problem(key, what: str = "entry keys", *, user: bool = True) -> str | None:
    """Why ``key`` cannot name an entry, a source or a field (None when it can); a reader's
    keys are also at most :data:`MAX_KEY` characters."""
    if not isinstance(key, str):
        return f"{what} are lower_snake_case text, not {type(key).__name__}"
    if user and len(key) > MAX_KEY:
        return f"{what} are at most {MAX_KEY} characters (this one has {len(key):,})"
    if not KEY.match(key):
        return f"{what} are lower_snake_case: a-z, 0-9 and _, starting with a letter"
    return None


def date_problem(raw, *, user: bool = True) -> tuple[str, str | None]:
    """``(text, problem)``: a date as text, and why it is refused (None when it is
    YYYY-MM-DD or YYYY-MM; in a reader's file also a real calendar date, not after today)."""
    text = _date_text(raw)
    if not isinstance(raw, (str, _dt.date)) or not DATE.match(text):
        return text, f"{short_repr(text)} is not YYYY-MM-DD or YYYY-MM"
    if not user:
        return text, None
    parts = [int(p) for p in text.split("-")]
    try:
        day = _dt.date(parts[0], parts[1], parts[2] if len(parts) == 3 else 1)
    except ValueError as e:
        return text, f"'{text}' is not a calendar date ({e})"
    today = _dt.date.today()
    if (day > today) if len(parts) == 3 else ((day.year, day.month) > (today.year, today.month)):
        return text, f"'{text}' is in the future (today is {today.isoformat()})"
    return text, None


def url_problem(url) -> str | None:
    """Why ``url`` is not a well-formed https:// URL a page can link to (None when it is)."""
    from urllib.parse import urlsplit

    if not isinstance(url, str):
        return f"must be text, an https:// URL; got {short_repr(url)}"
    if len(url) > MAX_URL:
        return f"is {len(url):,} characters long; at most {MAX_URL:,}"
    if not url.startswith("https://"):
        return "must be an https:// URL"
    bad = next((c for c in url if not _URL_CHARS.match(c)), None)
    if bad is not None:
        from urllib.parse import quote
        hint = "" if bad in "\x00\n\r\t" else f" (write it percent-encoded: {quote(bad, safe='')})"
        return f"{short_repr(url)} has {bad!r}, which a URL cannot hold as such{hint}"
    if _PERCENT.search(url):
        return f"{short_repr(url)} has a '%' not followed by two hex digits"
    try:
        parts = urlsplit(url)
        host, _ = parts.hostname, parts.port
    except ValueError as e:
        return f"{short_repr(url)} is not a well-formed URL ({e})"
    if "@" in parts.netloc:
        return f"{short_repr(url)} has a user name before the host; cite the page itself"
    if not host or not _HOST.match(host):
        return f"{short_repr(url)} has no valid host name (e.g. https://example.org/page)"
    return None


def text_problem(value, *, limit: int, lines: bool = False) -> str | None:
    """Why a piece of text cannot be shown on a page (None when it can): not text, too long,
    or holding control or invisible formatting characters (``lines``: newlines and tabs are
    allowed)."""
    import unicodedata

    if not isinstance(value, str):
        return f"must be text, got {short_repr(value)}"
    if len(value) > limit:
        return f"is {len(value):,} characters long; at most {limit:,}"
    for c in value:
        if lines and c in "\n\t":
            continue
        if unicodedata.category(c) in ("Cc", "Cf", "Cs", "Co", "Cn", "Zl", "Zp"):
            return (f"character {c!r} (U+{ord(c):04X}) is not allowed"
                    + ("" if lines else " (one line of plain text)"))
    return None


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


def parse_source(path, key, raw, user: bool = False) -> Source:
    """One entry of a file's ``sources``: {url, title, date, tag, note?}. A source tagged
    ``override`` (a value given with ``--set``) has no page to cite: its url may be empty."""
    where = f"sources.{key if isinstance(key, str) and len(key) <= 40 else short_repr(key)}"
    problem = key_problem(key, "source keys", user=user)
    if problem:
        raise error_at(path, where, None, problem)
    if not isinstance(raw, dict):
        raise error_at(path, where, None, "must be a mapping with url, title, date, tag")
    unknown = set(map(str, raw)) - {"url", "title", "date", "tag", "note"}
    if unknown:
        raise error_at(path, where, sorted(unknown)[0], "unknown key")
    tag = raw.get("tag")
    for req in ("url", "title", "date", "tag"):
        if raw.get(req) in (None, "") and not (req == "url" and tag == "override"):
            raise error_at(path, where, req, "missing")
    if not isinstance(tag, str) or tag not in TAGS:
        raise error_at(path, where, "tag", f"{short_repr(tag)} is not one of {', '.join(TAGS)}")
    date, problem = date_problem(raw["date"], user=user)
    if problem:
        raise error_at(path, where, "date", problem)
    url = raw.get("url") or ""
    if tag == "override" and url == "":
        problem = None
    elif user:
        problem = url_problem(url)
    else:                      # the book's own catalogs: their tests check every URL
        problem = None if str(url).startswith("https://") else "must be an https:// URL"
    if problem:
        raise error_at(path, where, "url", problem)
    if user:
        for name, limit in (("title", 300), ("note", 1000)):
            if name in raw and raw[name] is not None:
                problem = text_problem(raw[name], limit=limit)
                if problem:
                    raise error_at(path, where, name, problem)
    return Source(key, str(url), str(raw["title"]), date, tag, str(raw.get("note") or ""))


def parse_field(path, entry, name, raw, dim, sources, *, allow_missing=True,
                allow_zero=False, integer=False, plausible=None, user=None) -> Field:
    """Validate one ``{value, unit, source, ...}`` mapping and convert it to SI; ``integer``:
    the value counts something (chips, a year) and must be a whole number; ``plausible``:
    ``(field name, Field) -> problem or None``, the range a user's value must lie in; ``user``
    (default: when ``plausible`` is given): a reader's file, whose text lengths are bounded."""
    user = plausible is not None if user is None else user
    if not isinstance(raw, dict):
        number, unit = _split_quantity(raw) if isinstance(raw, str) else (None, None)
        if number is not None and U.dimension(unit) == dim:
            example = f"{{value: {number:g}, unit: {unit}, source: <key>}}"
        else:
            example = (f"{{value: <number>, unit: <{dim} unit, e.g. {example_unit(dim)}>, "
                       "source: <key>}")
        raise error_at(path, entry, name, f"must be a mapping {{value, unit, source}}; got "
                       f"{short_repr(raw)}; write {example}")
    unknown = set(map(str, raw)) - FIELD_KEYS
    if unknown:
        raise error_at(path, entry, name, f"unknown key '{shown(sorted(unknown)[0])}'")
    if "value" not in raw and raw.get("missing"):
        raw = dict(raw, value=None)   # TOML has no null: 'missing' alone means no value
    for req in ("value", "unit", "source"):
        if req not in raw:
            raise error_at(path, entry, name, f"missing '{req}'")
    unit = raw["unit"]
    if not isinstance(unit, str):
        raise error_at(path, entry, name, f"unit must be text, e.g. "
                       f"{example_unit(dim) if dim else 'TB/s'}; got {short_repr(unit)}")
    if unit not in U.UNITS:
        raise _unknown_unit(path, entry, name, unit)
    if dim is not None and U.dimension(unit) != dim:
        raise error_at(path, entry, name, f"unit '{unit}' is {U.dimension(unit)}, expected {dim}")
    dim = dim or U.dimension(unit)
    src = raw["source"]
    if not isinstance(src, str):
        raise error_at(path, entry, name, f"source must be the key of an entry under 'sources', "
                       f"got {short_repr(src)}")
    if src not in sources:
        raise error_at(path, entry, name, f"source {short_repr(src)} is not listed under "
                       "'sources'")
    for key, limit in (("note", 1000), ("missing", 300)):
        if raw.get(key) is not None:
            problem = (text_problem(raw[key], limit=limit) if user else None if isinstance(
                raw[key], str) else f"must be text, got {short_repr(raw[key])}")
            if problem:
                raise error_at(path, entry, name, f"{key} {problem}")
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
        if integer and not float(value).is_integer():
            what = "a year" if dim == "year" else "a count"
            raise error_at(path, entry, name, f"value {value} is not a whole number; {name} is "
                           f"{what}")
        if missing:
            raise error_at(path, entry, name, "has both a value and 'missing'")
        si = U.to_si(value, unit)
        if not math.isfinite(si) and plausible is None:
            raise error_at(path, entry, name, f"value {value:g} {unit} is not a finite number")
    also = raw.get("also_read_as", "") or ""
    if also and (not isinstance(also, str) or also not in U.UNITS or U.dimension(also) != dim):
        raise error_at(path, entry, name, f"also_read_as {short_repr(also)} is not a {dim} unit "
                       f"(e.g. {example_unit(dim)})")
    raw_alts = raw.get("alternatives") or []
    if not isinstance(raw_alts, list):
        raise error_at(path, entry, name, "alternatives must be a list of {value, unit, source} "
                       f"mappings, got {short_repr(raw_alts)}")
    alts = []
    for i, alt in enumerate(raw_alts):
        alts.append(parse_field(path, entry, f"{name}.alternatives[{i}]", alt, dim, sources,
                                allow_missing=False, integer=integer, plausible=plausible,
                                user=user))
    rng = _parse_range(path, entry, name, raw.get("range"), value, unit, allow_zero, user) \
        if raw.get("range") is not None else None
    field = Field(name, value, unit, sources[src], si, str(raw.get("note", "") or ""), missing,
                  also, tuple(alts), rng)
    if plausible is not None and si is not None:
        problem = plausible(name.split(".")[0], dataclasses.replace(field, alternatives=()))
        if problem:
            raise error_at(path, entry, name, problem)
    return field


def _parse_range(path, entry, name, raw, value, unit, allow_zero, user) -> Range:
    """A field's ``range: {low, high, basis}``: numbers in the field's unit around its value
    (``low <= value <= high``), positive like the value, with the basis of the range in words."""
    if not isinstance(raw, dict):
        raise error_at(path, entry, name, "range must be a mapping {low, high, basis} in the "
                       f"field's unit, got {short_repr(raw)}")
    unknown = set(map(str, raw)) - RANGE_KEYS
    if unknown:
        raise error_at(path, entry, name, f"range: unknown key '{shown(sorted(unknown)[0])}' "
                       "(a range has low, high, basis)")
    for req in ("low", "high", "basis"):
        if raw.get(req) in (None, ""):
            raise error_at(path, entry, name, f"range: missing '{req}'")
    if value is None:
        raise error_at(path, entry, name, "range given for a field with no value")
    bounds = {}
    for key in ("low", "high"):
        x = raw[key]
        if isinstance(x, str) and _is_number(_float_or_none(x)):
            x = float(x)
        if not _is_number(x):
            raise error_at(path, entry, name, f"range: {key} {short_repr(x)} is not a number "
                           f"(write it in {unit}, the field's unit)")
        if x < 0 or (x == 0 and not allow_zero):
            raise error_at(path, entry, name, f"range: {key} {x:g} must be positive")
        bounds[key] = float(x)
    low, high = bounds["low"], bounds["high"]
    if not low <= value <= high:
        raise error_at(path, entry, name, f"range: low {low:g} <= value {value:g} <= high "
                       f"{high:g} does not hold (all in {unit})")
    problem = text_problem(raw["basis"], limit=300) if user else None if isinstance(
        raw["basis"], str) else f"must be text, got {short_repr(raw['basis'])}"
    if problem:
        raise error_at(path, entry, name, f"range: basis {problem}")
    return Range(low, high, raw["basis"], float(U.to_si(low, unit)), float(U.to_si(high, unit)))


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
        dim = U.dimension(unit) if isinstance(unit, str) and unit in U.UNITS else None
        if dim is None and isinstance(val, dict) and isinstance(unit, str):
            raise _unknown_unit(path, key, name, unit)
        fields[name] = parse_field(path, key, name, val, dim, sources)
    if "name" not in text:
        raise error_at(path, key, "name", "missing required field")
    if "date" in text:
        text["date"], problem = date_problem(text["date"], user=False)
        if problem:
            raise error_at(path, key, "date", problem)
    return Entry(key, kind, text, fields, str(path))


def parse_entry(path, kind, key, raw, sources, plausible=None) -> Entry:
    """One entry of catalog ``kind`` (a fixed schema, or an open catalog's own fields);
    ``plausible`` checks each value's range (:func:`parse_field`)."""
    user = plausible is not None
    problem = key_problem(key, user=user)
    if problem:
        raise error_at(path, key, None, problem)
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
            dim = schema[name][0]
            fields[name] = parse_field(path, key, name, val, dim, sources,
                                       allow_zero=name in ZERO_ALLOWED,
                                       integer=user and (dim == "year" or (
                                           dim == "count" and isinstance(val, dict)
                                           and val.get("unit") == "count")),
                                       plausible=plausible)
        else:
            known = list(schema) + list(ENTRY_TEXT_KEYS[kind])
            close = difflib.get_close_matches(str(name)[:100], known, n=1)
            hint = f" (did you mean '{close[0]}'?)" if close else ""
            raise error_at(path, key, name, f"unknown field{hint}")
    for name, (_, required) in schema.items():
        if required and name not in fields:
            raise error_at(path, key, name, "missing required field")
    if "name" not in text:
        raise error_at(path, key, "name", "missing required field")
    for name in ("name", "vendor", "model"):
        if name in text and not isinstance(text[name], str):
            raise error_at(path, key, name, f"must be text, got {short_repr(text[name])}")
    aliases = text.get("aliases", [])
    if not isinstance(aliases, list) or not all(
            isinstance(a, str) and ALIAS.match(a) and len(a) <= MAX_KEY for a in aliases):
        raise error_at(path, key, "aliases", f"must be a list of lower-case names (a-z, 0-9, "
                       f"_ . -; at most {MAX_KEY} characters each)")
    if kind == "prices":
        date = _date_text(text.get("date") or "")
        if not DATE.match(date):
            raise error_at(path, key, "date", "a price sheet needs its date, YYYY-MM-DD or YYYY-MM")
        text["date"], problem = date_problem(date, user=user)
        if problem:
            raise error_at(path, key, "date", problem)
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


def parse_catalog(path: Path | str, kind: str, data: Any, plausible=None) -> dict[str, Entry]:
    """A whole file's data, ``{sources, entries}``: every entry validated, keys and aliases
    unique across the file; ``plausible`` checks each value's range (:func:`parse_field`)."""
    path = str(path)
    if data is None:
        raise error_at(path, "-", None, "file is empty")
    if not isinstance(data, dict) or set(map(str, data)) - {"sources", "entries"} \
            or "entries" not in data:
        raise CatalogError(f"{path}: top level must be a mapping with 'sources' and 'entries'")
    raw_sources = data.get("sources") or {}
    if not isinstance(raw_sources, dict):
        raise CatalogError(f"{path}: 'sources' must be a mapping of source keys to "
                           f"{{url, title, date, tag}}, got {short_repr(raw_sources)}")
    sources = {k: parse_source(path, k, v, user=plausible is not None)
               for k, v in raw_sources.items()}
    entries = data["entries"] or {}
    if not isinstance(entries, dict):
        raise CatalogError(f"{path}: 'entries' must be a mapping")
    parsed = {k: parse_entry(path, kind, k, v, sources, plausible) for k, v in entries.items()}
    seen: dict[str, str] = {}
    for k, e in parsed.items():
        for name in [k, *e.text.get("aliases", [])]:
            if name in seen and seen[name] != k:
                raise error_at(path, k, "aliases", f"'{name}' already names entry '{seen[name]}'")
            seen[name] = k
    return parsed
