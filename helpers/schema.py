"""What a catalog holds: the fields of each kind and the records they load into.

Each catalog file (``helpers/catalogs/<kind>.yaml``, or a user's hardware file) has two
top-level sections:

``sources``
    key -> {url, title, date (YYYY-MM-DD or YYYY-MM), tag (primary | secondary | derived), note?}
``entries``
    key -> {name, kind?, notes?, <field>: {value, unit, source, note?, also_read_as?,
    alternatives?, range?}}

A field's ``value`` is a positive number in ``unit``; it may be ``null`` only when the field
also carries ``missing: <why>`` (an accelerator with no FP8 units, a spec nobody publishes).
``alternatives`` lists other published readings (same keys as a field) so that a chapter can
show them; ``also_read_as`` names the unit the same printed number has in some vendor docs
(e.g. GB on a datasheet, GiB in the vendor's own software).

``range: {low, high, basis}`` (same unit as ``value``, ``low <= value <= high``) is the span
of reasonable readings of the field, and ``basis`` says where it comes from: a published
uncertainty (a fit's standard error), a stated band for an assumption (a cost chapter's
service life), or the spread of published measurements. A field with no ``range`` but with
``alternatives`` or ``also_read_as`` gets one *derived*: from the smallest to the largest of
its value, its alternatives' values and its other reading, all in SI (:attr:`Field.range_si`);
a field whose readings all agree has none. :mod:`helpers.intervals` evaluates the headlines
over these ranges and :mod:`helpers.robustness` asks whether each verdict survives them.

The three fixed-schema kinds (``accelerators``, ``models``, ``prices``) list their fields in
:data:`SCHEMAS`; any other kind is *open*: its entries name their own fields, each still a
sourced ``{value, unit, source}`` whose dimension comes from its unit. Checking raw data
against all this is :mod:`helpers.validate`'s job; loading it is :mod:`helpers.catalog`'s.
"""
from __future__ import annotations

from dataclasses import dataclass, field as _field
from typing import Any

from .errors import CatalogError

# measured: python -m helpers measure; override: a value set with --set (no page to cite)
TAGS = ("primary", "secondary", "derived", "measured", "override")

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
# the text (non-field) keys an entry of each fixed-schema kind may carry
ENTRY_TEXT_KEYS = {
    "accelerators": {"name", "vendor", "notes", "aliases"},
    "models": {"name", "attention", "notes", "aliases"},
    "prices": {"name", "vendor", "model", "date", "notes"},
}
# text keys an entry of an open catalog may carry besides its fields
OPEN_TEXT_KEYS = {"name", "vendor", "model", "date", "notes", "aliases", "kind"}
ATTENTION_KINDS = ("mha", "gqa", "mla", "hybrid_sliding_gqa")
# fields each attention kind needs for its KV-cache size
ATTENTION_FIELDS = {"mha": ("n_heads", "n_kv_heads", "head_dim"),
                    "gqa": ("n_heads", "n_kv_heads", "head_dim"),
                    "hybrid_sliding_gqa": ("n_heads", "n_kv_heads", "head_dim", "sliding_window"),
                    "mla": ("n_heads", "kv_lora_rank", "qk_rope_head_dim")}
# counts for which zero is a real answer (a model with no shared expert, no dense layer)
ZERO_ALLOWED = {"shared_experts", "n_dense_layers"}
# the keys a field's mapping may carry
FIELD_KEYS = {"value", "unit", "source", "note", "also_read_as", "alternatives", "missing",
              "range"}
# the keys a field's ``range`` carries
RANGE_KEYS = {"low", "high", "basis"}


@dataclass(frozen=True)
class Source:
    key: str
    url: str
    title: str
    date: str
    tag: str
    note: str = ""


@dataclass(frozen=True)
class Range:
    """A field's stated range, in the field's own unit (``low <= value <= high``)."""
    low: float
    high: float
    basis: str
    si_low: float
    si_high: float


@dataclass(frozen=True)
class Field:
    """One sourced value. ``si`` is the value converted to SI (None when missing); ``range``
    the catalog's stated range (None when it states none; see :attr:`range_si`)."""
    name: str
    value: float | None
    unit: str
    source: Source
    si: float | None
    note: str = ""
    missing: str = ""
    also_read_as: str = ""
    alternatives: tuple[Field, ...] = ()
    range: Range | None = None

    @property
    def range_si(self) -> tuple[float, float] | None:
        """``(low, high)`` in SI: the stated ``range`` if any, else the span of the value, its
        alternatives and its other reading (``also_read_as``); None when the field has no
        value or all its readings agree (a point, not a range)."""
        if self.si is None:
            return None
        if self.range is not None:
            return (self.range.si_low, self.range.si_high)
        readings = self._readings()
        lo, hi = min(readings), max(readings)
        return None if lo == hi else (float(lo), float(hi))

    @property
    def range_basis(self) -> str:
        """Where :attr:`range_si` comes from, in a few words ("" when there is no range)."""
        if self.range_si is None:
            return ""
        if self.range is not None:
            return self.range.basis
        parts = []
        if any(a.si not in (None, self.si) for a in self.alternatives):
            parts.append("its published alternatives")
        if self.also_read_as and self._other() != self.si:
            parts.append(f"read as {self.also_read_as} (also_read_as)")
        return "derived: " + " and ".join(parts)

    def _other(self) -> float | None:
        from .units import to_si
        return to_si(self.value, self.also_read_as) if self.also_read_as else None

    def _readings(self) -> list[float]:
        out = [self.si] + [a.si for a in self.alternatives if a.si is not None]
        other = self._other()
        return out + ([other] if other is not None else [])


@dataclass(frozen=True)
class Entry:
    """One catalog entry: its text keys (``name``, ``vendor``, ...) and its sourced fields.

    Chapters read a field's SI value as an attribute, ``acc.hbm_bandwidth`` (bytes/s): the
    formulas read like the prose. A field the entry lacks is an ``AttributeError``; a field
    that is known to be missing (``missing: <why>``) is a :class:`CatalogError` saying why.
    ``has(name)`` asks first."""
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
