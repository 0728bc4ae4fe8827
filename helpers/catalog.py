"""Sourced catalogs (YAML under ``helpers/catalogs/``), validated on load.

Each catalog file has two top-level sections:

``sources``
    key -> {url, title, date (YYYY-MM-DD or YYYY-MM), tag (primary | secondary | derived), note?}
``entries``
    key -> {name, kind?, notes?, <field>: {value, unit, source, note?, also_read_as?, alternatives?}}

A field's ``value`` is a positive number in ``unit``; it may be ``null`` only when the field
also carries ``missing: <why>`` (an accelerator with no FP8 units, a spec nobody publishes).
``alternatives`` lists other published readings (same keys as a field) so that a chapter can
show them; ``also_read_as`` names the unit the same printed number has in some vendor docs
(e.g. GB on a datasheet, GiB in the vendor's own software).

Any problem raises :class:`CatalogError` with one line naming the file, the entry and the field.

Besides the three fixed-schema catalogs (``accelerators``, ``models``, ``prices``), any other
``<kind>.yaml`` in ``helpers/catalogs/`` (except ``claims.yaml``) is an *open* catalog for a
chapter's other inputs (scaling-law fits, memory tiers, reported volumes...): its entries name
their own fields, each still a sourced ``{value, unit, source}`` whose dimension comes from its
unit. ``load("scaling_laws")`` reads ``scaling_laws.yaml``.
"""
from __future__ import annotations

import datetime as _dt
import difflib
import math
import re
from dataclasses import dataclass, field as _field
from functools import lru_cache
from pathlib import Path
from typing import Any

import yaml

from . import units as U

CATALOG_DIR = Path(__file__).parent / "catalogs"
TAGS = ("primary", "secondary", "derived")
_KEY = re.compile(r"^[a-z][a-z0-9_]*$")
_ALIAS = re.compile(r"^[a-z0-9][a-z0-9_.\-]*$")
_DATE = re.compile(r"^\d{4}-\d{2}(-\d{2})?$")


class CatalogError(ValueError):
    """A malformed catalog or hardware file; the message is one line: file, entry, field, problem."""


# field -> (dimension, required?) per catalog kind
SCHEMAS: dict[str, dict[str, tuple[str, bool]]] = {
    "accelerators": {
        "launch": ("year", True),
        "hbm_capacity": ("bytes", True),
        "hbm_bandwidth": ("bytes/s", True),
        "bf16_dense_flops": ("flop/s", True),
        "fp8_dense_flops": ("flop/s", True),
        "fp4_dense_flops": ("flop/s", False),
        "scale_up_domain": ("count", True),
        "scale_up_bandwidth": ("bytes/s", True),   # per GPU, one direction
        "scale_out_bandwidth": ("bytes/s", True),  # per GPU, one direction
        "tdp": ("W", False),
    },
    "models": {
        "total_params": ("count", True),
        "active_params": ("count", True),
        "n_layers": ("count", True),
        "hidden_size": ("count", False),
        "n_heads": ("count", False),
        "n_kv_heads": ("count", False),
        "head_dim": ("count", False),
        "routed_experts": ("count", False),
        "active_experts": ("count", False),
        "shared_experts": ("count", False),
        "n_dense_layers": ("count", False),
        "kv_lora_rank": ("count", False),
        "qk_rope_head_dim": ("count", False),
        "sliding_window": ("count", False),
        "n_sliding_layers": ("count", False),
        "index_n_heads": ("count", False),
        "index_head_dim": ("count", False),
        "index_topk": ("count", False),
        "context_length": ("count", False),
        "training_tokens": ("count", False),
    },
    "prices": {
        "input": ("USD/token", True),
        "output": ("USD/token", True),
        "input_long": ("USD/token", False),
        "output_long": ("USD/token", False),
        "long_context_threshold": ("count", False),
        "cache_read": ("USD/token", False),
        "cache_read_long": ("USD/token", False),
        "cache_write_5m": ("USD/token", False),
        "cache_write_1h": ("USD/token", False),
        "cache_storage": ("USD/token/s", False),
    },
}
ENTRY_TEXT_KEYS = {
    "accelerators": {"name", "vendor", "notes", "aliases"},
    "models": {"name", "attention", "notes", "aliases"},
    "prices": {"name", "vendor", "model", "date", "notes"},
}
ATTENTION_KINDS = ("mha", "gqa", "mla", "hybrid_sliding_gqa")
# fields each attention kind needs for its KV-cache size
ATTENTION_FIELDS = {"mha": ("n_heads", "n_kv_heads", "head_dim"),
                    "gqa": ("n_heads", "n_kv_heads", "head_dim"),
                    "hybrid_sliding_gqa": ("n_heads", "n_kv_heads", "head_dim", "sliding_window"),
                    "mla": ("n_heads", "kv_lora_rank", "qk_rope_head_dim")}
# counts for which zero is a real answer (a model with no shared expert, no dense layer)
ZERO_ALLOWED = {"shared_experts", "n_dense_layers"}
# text keys an entry of an open catalog may carry besides its fields
OPEN_TEXT_KEYS = {"name", "vendor", "model", "date", "notes", "aliases", "kind"}
NOT_CATALOGS = {"claims"}   # claims.yaml has its own loader (helpers.claims)
FIELD_KEYS = {"value", "unit", "source", "note", "also_read_as", "alternatives", "missing"}


@dataclass(frozen=True)
class Source:
    key: str
    url: str
    title: str
    date: str
    tag: str
    note: str = ""


@dataclass(frozen=True)
class Field:
    """One sourced value. ``si`` is the value converted to SI (None when missing)."""
    name: str
    value: float | None
    unit: str
    source: Source
    si: float | None
    note: str = ""
    missing: str = ""
    also_read_as: str = ""
    alternatives: tuple["Field", ...] = ()


@dataclass(frozen=True)
class Entry:
    key: str
    kind: str
    text: dict[str, Any]
    fields: dict[str, Field] = _field(default_factory=dict)
    path: str = ""

    @property
    def name(self) -> str:
        return self.text.get("name", self.key)

    def __getattr__(self, item: str) -> float:
        """``entry.hbm_bandwidth`` is the SI value of that field (bytes/s here)."""
        fields = self.__dict__.get("fields", {})
        if item in fields:
            f = fields[item]
            if f.si is None:
                raise CatalogError(f"{self.path}: entry '{self.key}', field '{item}': "
                                   f"no value ({f.missing})")
            return f.si
        raise AttributeError(f"{self.path}: entry '{self.key}' has no field '{item}'")

    def has(self, item: str) -> bool:
        return item in self.fields and self.fields[item].si is not None


def _fail(path, entry, field, problem) -> CatalogError:
    where = f"{path}: entry '{entry}'" + (f", field '{field}'" if field else "")
    return CatalogError(f"{where}: {problem}")


def _is_number(x) -> bool:
    return isinstance(x, (int, float)) and not isinstance(x, bool) and math.isfinite(x)


def _float_or_none(text: str) -> float | None:
    try:
        return float(text)
    except ValueError:
        return None


_QUANTITY = re.compile(r"^\s*([-+]?(?:\d+\.?\d*|\.\d+)(?:[eE][-+]?\d+)?)\s*([A-Za-z/]+)\s*$")


def _short(raw, limit=40) -> str:
    text = repr(raw)
    return text if len(text) <= limit else text[:limit - 3] + "..."


def example_unit(dim: str) -> str:
    """A unit of dimension ``dim`` to suggest in messages (the catalogs' usual one)."""
    preferred = {"bytes/s": "TB/s", "bytes": "GB", "flop/s": "TFLOP/s", "count": "count",
                 "year": "year", "W": "W", "USD/token": "USD/Mtok"}
    if dim in preferred:
        return preferred[dim]
    return next((u for u, (d, _) in U.UNITS.items() if d == dim), "?")


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
    shown = _short(value)
    if number is None:
        return (f"value {shown} is text, not a number; write the number alone and its unit in "
                f"'unit' (e.g. value: 3.35, unit: {example_unit(dim) if dim else 'TB/s'})")
    if dim and U.dimension(unit) != dim:
        return (f"value {shown} is text, and {unit} is {U.dimension(unit)}, not {dim}; "
                f"write a number in 'value' and a {dim} unit (e.g. {example_unit(dim)}) in 'unit'")
    return (f"value {shown} is text; write the number alone and the unit in 'unit': "
            f"value: {number:g}, unit: {unit}")


def _parse_source(path, key, raw) -> Source:
    if not isinstance(raw, dict):
        raise _fail(path, f"sources.{key}", None, "must be a mapping with url, title, date, tag")
    for req in ("url", "title", "date", "tag"):
        if raw.get(req) in (None, ""):
            raise _fail(path, f"sources.{key}", req, "missing")
    unknown = set(raw) - {"url", "title", "date", "tag", "note"}
    if unknown:
        raise _fail(path, f"sources.{key}", sorted(unknown)[0], "unknown key")
    date = raw["date"].isoformat() if isinstance(raw["date"], _dt.date) else str(raw["date"])
    if not _DATE.match(date):
        raise _fail(path, f"sources.{key}", "date", f"'{date}' is not YYYY-MM-DD or YYYY-MM")
    if raw["tag"] not in TAGS:
        raise _fail(path, f"sources.{key}", "tag", f"'{raw['tag']}' is not one of {', '.join(TAGS)}")
    if not str(raw["url"]).startswith("https://"):
        raise _fail(path, f"sources.{key}", "url", "must be an https:// URL")
    return Source(key, str(raw["url"]), str(raw["title"]), date, raw["tag"], str(raw.get("note", "")))


def parse_field(path, entry, name, raw, dim, sources, *, allow_missing=True,
                allow_zero=False) -> Field:
    """Validate one ``{value, unit, source, ...}`` mapping and convert it to SI."""
    if not isinstance(raw, dict):
        number, unit = _split_quantity(raw) if isinstance(raw, str) else (None, None)
        example = (f"{{value: {number:g}, unit: {unit}, source: <key>}}" if number is not None
                   and U.dimension(unit) == dim else
                   f"{{value: <number>, unit: <{dim} unit, e.g. {example_unit(dim)}>, source: <key>}}")
        raise _fail(path, entry, name, f"must be a mapping {{value, unit, source}}; got "
                    f"{_short(raw)}; write {example}")
    unknown = set(raw) - FIELD_KEYS
    if unknown:
        raise _fail(path, entry, name, f"unknown key '{sorted(unknown)[0]}'")
    if "value" not in raw and raw.get("missing"):
        raw = dict(raw, value=None)   # TOML has no null: 'missing' alone means no value
    for req in ("value", "unit", "source"):
        if req not in raw:
            raise _fail(path, entry, name, f"missing '{req}'")
    unit = raw["unit"]
    if unit not in U.UNITS:
        close = difflib.get_close_matches(str(unit), U.UNITS, n=3)
        hint = f" (did you mean {', '.join(close)}?)" if close else ""
        raise _fail(path, entry, name, f"unknown unit '{unit}'{hint}")
    if U.dimension(unit) != dim:
        raise _fail(path, entry, name, f"unit '{unit}' is {U.dimension(unit)}, expected {dim}")
    src = raw["source"]
    if src not in sources:
        raise _fail(path, entry, name, f"source '{src}' is not listed under 'sources'")
    value = raw["value"]
    missing = str(raw.get("missing", "") or "")
    if value is None:
        if not (allow_missing and missing):
            raise _fail(path, entry, name, "value is null; give a number, or 'missing: <why>'")
        si = None
    else:
        if isinstance(value, str) and _is_number(_float_or_none(value)):
            value = float(value)   # YAML 1.1 reads 5.76e23 (no dot before the e) as text
        if isinstance(value, str):
            raise _fail(path, entry, name, _text_value_problem(value, dim))
        if not _is_number(value):
            raise _fail(path, entry, name, f"value {value!r} is not a number")
        if value < 0 or (value == 0 and not allow_zero):
            raise _fail(path, entry, name, f"value {value} must be positive")
        if missing:
            raise _fail(path, entry, name, "has both a value and 'missing'")
        si = U.to_si(value, unit)
    also = raw.get("also_read_as", "") or ""
    if also and (also not in U.UNITS or U.dimension(also) != dim):
        raise _fail(path, entry, name, f"also_read_as '{also}' is not a {dim} unit")
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
        if not _KEY.match(str(name)):
            raise _fail(path, key, name, "field names are lower_snake_case")
        unit = val.get("unit") if isinstance(val, dict) else None
        dim = U.dimension(unit) if unit in U.UNITS else None
        if dim is None and isinstance(val, dict) and "unit" in val:
            close = difflib.get_close_matches(str(unit), U.UNITS, n=3)
            hint = f" (did you mean {', '.join(close)}?)" if close else ""
            raise _fail(path, key, name, f"unknown unit '{unit}'{hint}")
        fields[name] = parse_field(path, key, name, val, dim, sources)
    if "name" not in text:
        raise _fail(path, key, "name", "missing required field")
    if "date" in text:
        date = text["date"]
        text["date"] = date.isoformat() if isinstance(date, _dt.date) else str(date)
        if not _DATE.match(text["date"]):
            raise _fail(path, key, "date", f"'{text['date']}' is not YYYY-MM-DD or YYYY-MM")
    return Entry(key, kind, text, fields, str(path))


def parse_entry(path, kind, key, raw, sources) -> Entry:
    if not _KEY.match(str(key)):
        raise _fail(path, key, None, "entry keys are lower_snake_case")
    if not isinstance(raw, dict):
        raise _fail(path, key, None, "must be a mapping of fields")
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
            close = difflib.get_close_matches(str(name), list(schema) + list(ENTRY_TEXT_KEYS[kind]), n=1)
            hint = f" (did you mean '{close[0]}'?)" if close else ""
            raise _fail(path, key, name, f"unknown field{hint}")
    for name, (_, required) in schema.items():
        if required and name not in fields:
            raise _fail(path, key, name, "missing required field")
    if "name" not in text:
        raise _fail(path, key, "name", "missing required field")
    aliases = text.get("aliases", [])
    if not isinstance(aliases, list) or not all(isinstance(a, str) and _ALIAS.match(a)
                                                for a in aliases):
        raise _fail(path, key, "aliases", "must be a list of lower-case names")
    if kind == "prices":
        date = text.get("date")
        date = date.isoformat() if isinstance(date, _dt.date) else str(date or "")
        if not _DATE.match(date):
            raise _fail(path, key, "date", "a price sheet needs its date, YYYY-MM-DD or YYYY-MM")
        text["date"] = date
    if kind == "models":
        att = text.get("attention")
        if att not in ATTENTION_KINDS:
            raise _fail(path, key, "attention", f"'{att}' is not one of {', '.join(ATTENTION_KINDS)}")
        if fields["active_params"].si and fields["total_params"].si \
                and fields["active_params"].si > fields["total_params"].si:
            raise _fail(path, key, "active_params", "exceeds total_params")
        for needed in ATTENTION_FIELDS[att]:
            if needed not in fields:
                raise _fail(path, key, needed, f"missing; attention '{att}' needs "
                            + ", ".join(ATTENTION_FIELDS[att]))
    return Entry(key, kind, text, fields, str(path))


def parse_catalog(path: Path | str, kind: str, data: Any) -> dict[str, Entry]:
    path = str(path)
    if data is None:
        raise _fail(path, "-", None, "file is empty")
    if not isinstance(data, dict) or set(data) - {"sources", "entries"} or "entries" not in data:
        raise CatalogError(f"{path}: top level must be a mapping with 'sources' and 'entries'")
    sources = {k: _parse_source(path, k, v) for k, v in (data.get("sources") or {}).items()}
    entries = data["entries"] or {}
    if not isinstance(entries, dict):
        raise CatalogError(f"{path}: 'entries' must be a mapping")
    parsed = {k: parse_entry(path, kind, k, v, sources) for k, v in entries.items()}
    seen: dict[str, str] = {}
    for k, e in parsed.items():
        for name in [k, *e.text.get("aliases", [])]:
            if name in seen and seen[name] != k:
                raise _fail(path, k, "aliases", f"'{name}' already names entry '{seen[name]}'")
            seen[name] = k
    return parsed


class _UniqueKeyLoader(getattr(yaml, "CSafeLoader", yaml.SafeLoader)):
    """SafeLoader (libyaml's when present: 7x faster) that refuses a key written twice in one
    mapping (YAML would keep the last)."""

    def construct_mapping(self, node, deep=False):
        seen = set()
        for key_node, _ in node.value:
            key = self.construct_object(key_node, deep=deep)
            if key in seen:
                raise yaml.constructor.ConstructorError(
                    None, None, f"key '{key}' appears twice", key_node.start_mark)
            seen.add(key)
        return super().construct_mapping(node, deep=deep)


def read_yaml(path: Path | str) -> Any:
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as e:
        raise CatalogError(f"{path}: cannot be read ({e.strerror})") from None
    try:
        return yaml.load(text, Loader=_UniqueKeyLoader)  # noqa: S506 (a SafeLoader subclass)
    except yaml.YAMLError as e:
        mark = getattr(e, "problem_mark", None)
        where = f" at line {mark.line + 1}" if mark else ""
        problem = " ".join(str(getattr(e, "problem", "") or "").split())
        detail = f": {problem}" if problem else ""
        raise CatalogError(f"{path}: not valid YAML{where}{detail}") from None


HARDWARE_SUFFIXES = (".yaml", ".yml", ".toml")
MAX_HARDWARE_FILE = 1_000_000   # bytes
_TEXT_BANNED = re.compile(r"[<>{}`$\\\x00-\x1f\x7f]")   # name, vendor: plain one-line text
_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f]")


def read_data(path: Path | str) -> Any:
    """A user's catalog-schema file: YAML, or TOML when it ends in ``.toml`` (any other name is
    tried as YAML, then as TOML). Both are read as plain data: nothing in them is ever run."""
    import tomllib

    path = Path(path)
    if path.is_dir():
        raise CatalogError(f"{path}: is a folder, not a YAML or TOML file")
    try:
        if path.stat().st_size > MAX_HARDWARE_FILE:
            raise CatalogError(f"{path}: {path.stat().st_size:,} bytes is too large for a hardware "
                               f"file (at most {MAX_HARDWARE_FILE:,}; `hardware show` prints ~4 kB)")
        raw = path.read_bytes()
    except OSError as e:
        raise CatalogError(f"{path}: cannot be read ({e.strerror})") from None
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError:
        raise CatalogError(f"{path}: not a text file; a hardware file is YAML or TOML "
                           "(start from: python -m helpers hardware show h100)") from None
    if not text.strip():
        raise CatalogError(f"{path}: file is empty; start from: python -m helpers hardware show "
                           f"h100 > {path.name}")
    if path.suffix == ".toml":
        try:
            return tomllib.loads(text)
        except tomllib.TOMLDecodeError as e:
            raise CatalogError(f"{path}: not valid TOML: {str(e).splitlines()[0]}") from None
    try:
        return read_yaml(path)
    except CatalogError as yaml_error:
        if path.suffix in (".yaml", ".yml"):
            raise
        try:
            return tomllib.loads(text)
        except tomllib.TOMLDecodeError:
            raise CatalogError(f"{path}: neither valid YAML nor valid TOML "
                               f"({str(yaml_error).split(': ', 1)[1]})") from None


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
            raise _fail(path, entry.key, key, f"must be text, got {_short(value)}")
        if key == "notes":          # not printed into pages; only kept free of control bytes
            bad = _CONTROL.search(value)
            if bad:
                raise _fail(path, entry.key, key, f"control character {bad.group()!r} is not allowed")
            continue
        if len(value) > 80:
            raise _fail(path, entry.key, key, "longer than 80 characters")
        bad = _TEXT_BANNED.search(value)
        if bad:
            raise _fail(path, entry.key, key, f"character {bad.group()!r} is not allowed "
                        "(plain one-line text only: it is printed into the book's pages)")
    return entry


def kinds() -> list[str]:
    """Every catalog kind: the three fixed schemas first, then the open catalogs by name."""
    found = sorted(p.stem for p in CATALOG_DIR.glob("*.yaml")
                   if p.stem not in NOT_CATALOGS and p.stem not in SCHEMAS)
    return list(SCHEMAS) + found


@lru_cache(maxsize=None)
def load(kind: str) -> dict[str, Entry]:
    """Load and validate one catalog (``accelerators``, ``models``, ``prices`` or an open one)."""
    path = CATALOG_DIR / f"{kind}.yaml"
    if kind in NOT_CATALOGS or not path.exists():
        close = difflib.get_close_matches(kind, kinds(), n=3)
        hint = f"; did you mean {', '.join(close)}?" if close else f"; known: {', '.join(kinds())}"
        raise CatalogError(f"unknown catalog '{kind}'{hint}")
    return parse_catalog(path.relative_to(CATALOG_DIR.parent.parent), kind, read_yaml(path))


def lookup(kind: str, key: str) -> Entry:
    """One entry by key or alias; an unknown name fails with the closest matches."""
    cat = load(kind)
    if key in cat:
        return cat[key]
    for e in cat.values():
        if key in (e.text.get("aliases") or []):
            return e
    names = list(cat) + [a for e in cat.values() for a in (e.text.get("aliases") or [])]
    close = difflib.get_close_matches(key, names, n=3, cutoff=0.4)
    hint = f"; did you mean {', '.join(close)}?" if close else f"; known: {', '.join(cat)}"
    raise CatalogError(f"unknown {kind[:-1]} '{key}'{hint}")


def accelerators() -> dict[str, Entry]:
    return load("accelerators")


def models() -> dict[str, Entry]:
    return load("models")


def prices() -> dict[str, Entry]:
    return load("prices")
