"""Intervals on registry headlines: each headline evaluated over the ranges of the inputs it reads.

A catalog field may carry a range (:attr:`helpers.schema.Field.range_si`: stated, or derived
from its alternatives and its other reading). For a registry headline (:mod:`helpers.registry`)
and a part, :func:`interval` gives ``(low, central, high)``:

* the **inputs** are the headline's bindings that have a range: ``hw`` inputs read the part's
  accelerator field, ``field`` inputs the catalog field; ``hw_other`` (a field's other reading
  is one end of that field's range already), ``claim``, ``const`` and ``derived`` inputs have
  none. A non-closed form (``fn``) reads what it reads: the catalog fields it touches on a
  central evaluation are traced, and those with a range are its inputs;
* a **closed form** is checked for monotonicity in each input: symbolically first (the sign of
  the derivative with every symbol positive, SymPy), else by sampling the formula along the
  input's range at a few settings of the others (fixed seed). Monotone in every input: the
  interval is the extreme of the exhaustive corners of the box (all 2^k, k <= 10);
* otherwise (a formula not monotone in some input, or an ``fn`` headline): deterministic
  sampling, ``numpy.random.default_rng(0)``: the corners (k <= 8), one input at a time at both
  ends, and 256 uniform draws in the box; the interval is their min and max;
* an input whose range is a **published standard error** (``range.basis`` mentions "standard
  error": the Epoch fit of ``scaling_laws.yaml``) is propagated by sampling: 4,000 normal
  draws (sigma = half the range, the range being +- 1 standard error; other inputs uniform),
  and the interval is the draws' 16th to 84th percentile (+- 1 sigma).

Results are cached per (headline, part, range state); :func:`evaluate` is the one evaluator
(also used by :mod:`helpers.robustness`), with ``overrides`` ``{input id: SI value}`` where an
input id is ``"<kind>.<entry>.<field>"`` (``"accelerators.h100.hbm_capacity"``).
"""
from __future__ import annotations

import dataclasses
import itertools
import math
import re
from collections.abc import Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from functools import cache

import numpy as np
import sympy as sp

from . import catalog, registry, units as U
from .formulas import evaluate as _evaluate_expr
from .schema import Entry

SEED = 0
MAX_CORNERS = 10          # exhaustive corners up to 2^10 evaluations
SAMPLES = 256
FIT_SAMPLES = 4000
FIT_QUANTILES = (0.16, 0.84)


_EXTRA: dict[str, registry.Headline] = {}


def register(h: registry.Headline) -> None:
    """Make a headline that is not in the registry (a quantity only a verdict reads:
    :data:`helpers.robustness.VERDICT_INPUTS`) known to :func:`interval` and :func:`evaluate`."""
    _EXTRA[h.name] = h


def _get(name: str) -> registry.Headline:
    if name in _EXTRA:
        return _EXTRA[name]
    from . import robustness  # noqa: F401  (registers its verdict inputs)
    return _EXTRA[name] if name in _EXTRA else registry.get(name)


@dataclass(frozen=True)
class Var:
    """One input of a headline for a part that has a range: ``id`` ("kind.entry.field"),
    a reader's ``label``, its ``central`` SI value and ``(low, high)`` in SI; ``fit``: the range is
    +- one published standard error (sampled normally)."""
    id: str
    label: str
    central: float
    low: float
    high: float
    basis: str
    fit: bool = False
    unit: str = ""                   # the field's unit (for a reader: values in it)
    other: float | None = None       # the field's other reading (also_read_as), SI
    other_unit: str = ""
    words: str = ""                  # unit words replacing a bare ratio's ("a year")

    def in_unit(self, si: float) -> float:
        """``si`` in the field's catalog unit (the SI value where the unit is unknown)."""
        if not self.unit or self.unit not in U.UNITS:
            return float(si)
        return float(si) / U.UNITS[self.unit][1]

    def shown(self, si: float, unit: bool = True) -> str:
        """``si`` in the field's unit, 3 significant figures: "3.2 TB/s" ("3.2" without the
        unit)."""
        from .fmt import num
        x = num(self.in_unit(si))
        if not unit:
            return x
        if self.words:
            return f"{x} {self.words}"
        if not self.unit or self.unit not in U.UNITS or self.unit in ("ratio", "count"):
            return x
        return f"{x} {self.unit}s" if self.unit == "year" and x != "1" else f"{x} {self.unit}"

    @property
    def range_text(self) -> str:
        """"range 0.1–0.2" (the field's unit is the flip value's)."""
        return f"range {self.shown(self.low, False)}–{self.shown(self.high, False)}"


# accelerator fields in a reader's words (a verdict table's column is read on a phone)
FIELD_WORDS = {"hbm_capacity": "HBM capacity", "hbm_bandwidth": "HBM bandwidth",
               "bf16_dense_flops": "dense BF16", "fp8_dense_flops": "dense FP8",
               "fp4_dense_flops": "dense FP4", "scale_up_domain": "scale-up domain",
               "scale_up_bandwidth": "scale-up bandwidth",
               "scale_out_bandwidth": "scale-out bandwidth", "tdp": "TDP"}

# other catalogs' fields in a reader's words: ``(kind, field): (label, unit words)``; "{e}" is
# the entry's short name, unit words replace the catalog unit where it is a bare ratio
PHRASES = {
    ("costs", "life"): ("the service life", ""),
    ("costs", "rate"): ("the cost of capital", "a year"),
    ("costs", "utilisation"): ("utilisation", ""),
    ("costs", "pue"): ("PUE", ""),
    ("costs", "electricity"): ("electricity", ""),
    ("costs", "tdp_fraction"): ("the power drawn as a share of TDP", ""),
    ("costs", "network_share"): ("the network's share of the capital", ""),
    ("costs", "price_performance_ooms_per_year"): ("price-performance improves",
                                                   "orders of magnitude a year"),
    ("costs", "price"): ("{e}'s price", ""),
    ("costs", "capacity_2030"): ("data-centre capacity in 2030", ""),
    ("costs", "compute_tray_power"): ("an NVL72 compute tray's power", ""),
    ("costs", "switch_trays_power"): ("the NVL72 switch trays' power", ""),
    ("models", "total_params"): ("{e}'s total parameters", ""),
    ("models", "active_params"): ("{e}'s active parameters", ""),
    ("models", "training_tokens"): ("{e}'s training tokens", ""),
    ("training_runs", "gpu_hours"): ("{e}'s GPU-hours", ""),
    ("training_runs", "output_tokens"): ("DeepSeek's output tokens in a day", ""),
    ("attention_reports", "context"): ("{e}'s context", ""),
    ("usage", "prefill_tokens_per_node"): ("DeepSeek's prefill tokens/s per node", ""),
    ("usage", "decode_tokens_per_node"): ("DeepSeek's decode tokens/s per node", ""),
    ("prices", "cache_read"): ("{e}'s cache-hit price", ""),
    ("prices", "input"): ("{e}'s input price", ""),
}

_VENDORS = ("NVIDIA ", "AMD Instinct ", "AMD ", "Google ")


def short_name(kind: str, key: str) -> str:
    """An entry's name, short: "H100" for "NVIDIA H100 SXM (80 GB)", "Llama 3 8B" for "Llama 3
    8B pre-training", "DeepSeek-V3" (an entry keyed by an accelerator is named by it)."""
    accs = catalog.accelerators()
    entry = accs.get(key) if kind in ("accelerators", "costs", "achievable") else None
    if entry is None:
        entry = catalog.load(kind).get(key)
    name = (entry.text.get("name") if entry is not None else "") or key.replace("_", " ")
    for v in _VENDORS:
        if name.startswith(v):
            name = name[len(v):]
    name = re.split(r" \(|, |: ", name)[0]
    name = re.sub(r" (SXM\d*|pre-training)$", "", name)
    return name


def input_label(kind: str, key: str, name: str) -> str:
    """An input as a reader reads it: "H100's HBM bandwidth", "the service life"."""
    if kind == "accelerators":
        return f"{short_name(kind, key)}'s {FIELD_WORDS.get(name, name.replace('_', ' '))}"
    label = PHRASES.get((kind, name), ("", ""))[0]
    if label:
        return label.replace("{e}", short_name(kind, key))
    return f"{short_name(kind, key)}: {name.replace('_', ' ')}"


def unit_words(kind: str, name: str) -> str:
    return PHRASES.get((kind, name), ("", ""))[1]


def _field_var(kind: str, key: str, name: str, entry: Entry, label: str = "") -> Var | None:
    f = entry.fields.get(name)
    if f is None or f.si is None:
        return None
    rng = f.range_si
    if rng is None:
        return None
    basis = f.range_basis
    other = U.other_reading(f)
    return Var(f"{kind}.{key}.{name}", label or input_label(kind, key, name), float(f.si),
               rng[0], rng[1], basis, "standard error" in basis, f.unit,
               None if other is None else float(other), f.also_read_as,
               unit_words(kind, name))


def _part(part) -> Entry:
    return catalog.accelerators()[part] if isinstance(part, str) else part


def _fit_key(part) -> tuple:
    """What the cache keys a part by: its key, and for a reader's variant its field values."""
    acc = _part(part)
    listed = catalog.accelerators().get(acc.key)
    if listed is acc:
        return (acc.key,)
    return (acc.key, tuple(sorted((n, f.si, f.range_si) for n, f in acc.fields.items())))


def variables(name: str, part) -> list[Var]:
    """The inputs of headline ``name`` for ``part`` (a key or an Entry) that carry a range."""
    h = _get(name)
    acc = _part(part)
    if not h.closed_form:
        return _traced_vars(h, acc)
    out: dict[str, Var] = {}
    for inp in h.inputs.values():
        v = _input_var(inp, acc)
        if v is not None:
            out[v.id] = v
    return list(out.values())


def _input_var(inp: registry.Input, acc: Entry) -> Var | None:
    if inp.kind == "hw":
        fname = inp.ref[0]
        if len(inp.ref) > 1 and not acc.has(fname):
            fname = inp.ref[1]
        return _field_var("accelerators", acc.key, fname, acc)
    if inp.kind == "field":
        kind, key, fname = inp.ref
        return _field_var(kind, key, fname, catalog.load(kind)[key])
    return None


def _symbol_ids(h: registry.Headline, acc: Entry) -> dict[sp.Symbol, str | None]:
    out = {}
    for sym, inp in h.inputs.items():
        v = _input_var(inp, acc)
        out[sym] = v.id if v is not None else None
    return out


# --- evaluation under overrides ---------------------------------------------------------------

def evaluate(name: str, part, overrides: Mapping[str, float] | None = None) -> float:
    """Headline ``name`` for ``part`` with some inputs set to other values (``{id: SI}``); the
    registry's own value when ``overrides`` is empty."""
    h = _get(name)
    acc = _part(part)
    if not overrides:
        return float(h.value(acc))
    if h.closed_form:
        plan = _plan(name, acc)
        values = {sym: overrides.get(i, v) if i is not None else v for sym, i, v in plan}
        return _evaluate_expr(h.expr, values)
    with patched(acc, overrides) as acc2:
        return float(h.fn(acc2))


_PLANS: dict[tuple, list] = {}


def _plan(name: str, acc: Entry) -> list[tuple[sp.Symbol, str | None, float]]:
    """A closed form's ``(symbol, input id or None, central value)`` for a part, cached."""
    key = (name, _fit_key(acc))
    if key not in _PLANS:
        h = _get(name)
        ids = _symbol_ids(h, acc)
        _PLANS[key] = [(sym, ids[sym], inp.resolve(acc)) for sym, inp in h.inputs.items()]
    return _PLANS[key]


def _replaced(entry: Entry, fields: Mapping[str, float]) -> Entry:
    new = dict(entry.fields)
    for fname, si in fields.items():
        f = new[fname]
        scale = si / f.si if f.si else 1.0
        new[fname] = dataclasses.replace(f, si=float(si), value=f.value * scale)
    return dataclasses.replace(entry, fields=new)


@contextmanager
def patched(acc: Entry, overrides: Mapping[str, float]):
    """Catalog entries with some fields set to other SI values, for the duration: the part
    itself (yielded) and the catalogs :func:`helpers.catalog.load` returns (so a function that
    reads ``catalog.load("costs")["assumptions"].life`` sees the override)."""
    by_entry: dict[tuple[str, str], dict[str, float]] = {}
    for i, si in overrides.items():
        kind, key, fname = i.split(".", 2)
        by_entry.setdefault((kind, key), {})[fname] = si
    saved = []
    acc2 = acc
    try:
        for (kind, key), fields in by_entry.items():
            cat = catalog.load(kind)
            if kind == "accelerators" and key == acc.key:
                acc2 = _replaced(acc, fields)
                if cat.get(key) is acc:
                    saved.append((cat, key, cat[key]))
                    cat[key] = acc2
                continue
            if key in cat:
                saved.append((cat, key, cat[key]))
                cat[key] = _replaced(cat[key], fields)
        registry._constant.cache_clear()
        yield acc2
    finally:
        for cat, key, entry in reversed(saved):
            cat[key] = entry
        registry._constant.cache_clear()


@contextmanager
def _tracing():
    """Record the catalog fields read as ``entry.field`` attributes while the block runs."""
    seen: list[tuple[str, str, str, Entry]] = []
    original = Entry.__getattr__

    def traced(self, item):
        fields = self.__dict__.get("fields", {})
        if item in fields:
            seen.append((self.kind, self.key, item, self))
        return original(self, item)

    Entry.__getattr__ = traced
    try:
        yield seen
    finally:
        Entry.__getattr__ = original


_TRACE_CACHE: dict[tuple, list[Var]] = {}


def _traced_vars(h: registry.Headline, acc: Entry) -> list[Var]:
    key = (h.name, _fit_key(acc))
    if key not in _TRACE_CACHE:
        registry._constant.cache_clear()
        with _tracing() as seen:
            h.fn(acc)
        out: dict[str, Var] = {}
        for kind, ekey, fname, entry in seen:
            v = _field_var(kind, ekey, fname, entry)
            if v is not None and v.id not in out:
                out[v.id] = v
        _TRACE_CACHE[key] = list(out.values())
    return _TRACE_CACHE[key]


# --- monotonicity ------------------------------------------------------------------------------

@cache
def symbolic_signs(name: str) -> dict[str, int | None]:
    """For a closed-form headline: ``{symbol name: +1 | -1 | 0 | None}``, the sign of its
    derivative in each symbol with every symbol positive (None: SymPy cannot tell)."""
    h = _get(name)
    pos = {s: sp.Symbol(f"_p_{s.name}", positive=True) for s in h.expr.free_symbols}
    expr = h.expr.xreplace(pos)
    out = {}
    for s, p in pos.items():
        d = sp.diff(expr, p)
        if d == 0 or d.is_zero:
            out[s.name] = 0
        elif d.is_positive:
            out[s.name] = 1
        elif d.is_negative:
            out[s.name] = -1
        else:
            out[s.name] = None
    return out


def sampled_sign(name: str, part, var: Var, others: list[Var], points: int = 9,
                 settings: int = 8) -> int | None:
    """The sign of ``name``'s slope in ``var`` found by sampling: the formula along ``points``
    values of ``var``'s range at ``settings`` random settings of the other inputs (fixed
    seed); +1 / -1 when it never decreases / increases (0 when flat), None when it does both."""
    rng = np.random.default_rng(SEED)
    xs = np.linspace(var.low, var.high, points)
    up = down = False
    for _ in range(settings):
        base = {o.id: float(rng.uniform(o.low, o.high)) for o in others if o.id != var.id}
        ys = [evaluate(name, part, {**base, var.id: float(x)}) for x in xs]
        for a, b in itertools.pairwise(ys):
            tol = 1e-12 * max(abs(a), abs(b), 1e-300)
            up |= b > a + tol
            down |= b < a - tol
    if up and down:
        return None
    return 1 if up else -1 if down else 0


def monotonicity(name: str, part) -> dict[str, tuple[int | None, str]]:
    """``{input id: (sign, how)}`` for a closed-form headline's ranged inputs; ``how`` is
    "symbolic" or "sampled"."""
    h = _get(name)
    acc = _part(part)
    vs = variables(name, acc)
    ids = _symbol_ids(h, acc)
    signs = symbolic_signs(name)
    out = {}
    for v in vs:
        syms = [s for s, i in ids.items() if i == v.id]
        sym_signs = {signs.get(s.name, 0) for s in syms}
        if len(sym_signs) == 1 and None not in sym_signs:
            out[v.id] = (sym_signs.pop(), "symbolic")
        else:
            out[v.id] = (sampled_sign(name, acc, v, vs), "sampled")
    return out


# --- the interval ------------------------------------------------------------------------------

@dataclass(frozen=True)
class Interval:
    name: str
    part: str
    low: float
    central: float
    high: float
    method: str                      # "point", "corners", "sampling" or "fit sampling"
    inputs: tuple[Var, ...] = ()

    @property
    def width(self) -> float:
        """high / low (1 for a point; inf when the low end is not positive)."""
        if self.low <= 0:
            return math.inf
        return self.high / self.low


_CACHE: dict[tuple, Interval] = {}


def headline_interval(name: str, part) -> Interval:
    """The :class:`Interval` of headline ``name`` for ``part`` (a key or an Entry)."""
    acc = _part(part)
    key = (name, _fit_key(acc))
    if key in _CACHE:
        return _CACHE[key]
    h = _get(name)
    central = float(h.value(acc))
    vs = variables(name, acc)
    if not vs or not math.isfinite(central):
        out = Interval(name, acc.key, central, central, central, "point", tuple(vs))
    elif any(v.fit for v in vs):
        out = _fit_interval(name, acc, central, vs)
    else:
        signs = monotonicity(name, acc) if h.closed_form else None
        if signs is not None and all(s is not None for s, _ in signs.values()) \
                and len(vs) <= MAX_CORNERS:
            values = [evaluate(name, acc, dict(c)) for c in _corners(vs)]
            out = Interval(name, acc.key, min(values + [central]), central,
                           max(values + [central]), "corners", tuple(vs))
        else:
            values = [evaluate(name, acc, s) for s in _samples(vs)]
            values = [x for x in values if math.isfinite(x)] + [central]
            out = Interval(name, acc.key, min(values), central, max(values), "sampling",
                           tuple(vs))
    _CACHE[key] = out
    return out


def interval(headline_name: str, part_key) -> tuple[float, float, float]:
    """``(low, central, high)`` of a registry headline for a part (an accelerator key such as
    ``"h100"``, or an Entry) over the ranges of the inputs it reads (stable API)."""
    i = headline_interval(headline_name, part_key)
    return (i.low, i.central, i.high)


def _corners(vs: list[Var]):
    for ends in itertools.product(*[(v.low, v.high) for v in vs]):
        yield tuple(zip((v.id for v in vs), ends))


def _samples(vs: list[Var]) -> list[dict[str, float]]:
    rng = np.random.default_rng(SEED)
    out: list[dict[str, float]] = []
    if len(vs) <= 8:
        out += [dict(c) for c in _corners(vs)]
    for v in vs:
        out += [{v.id: v.low}, {v.id: v.high}]
    draws = rng.uniform(size=(SAMPLES, len(vs)))
    for row in draws:
        out.append({v.id: v.low + u * (v.high - v.low) for v, u in zip(vs, row)})
    return out


def _fit_interval(name, acc, central, vs) -> Interval:
    rng = np.random.default_rng(SEED)
    values = []
    for _ in range(FIT_SAMPLES):
        s = {}
        for v in vs:
            if v.fit:
                x = rng.normal(v.central, (v.high - v.low) / 2)
                s[v.id] = max(x, 1e-12 * abs(v.central))
            else:
                s[v.id] = rng.uniform(v.low, v.high)
        x = evaluate(name, acc, s)
        if math.isfinite(x):
            values.append(x)
    lo, hi = np.quantile(values, FIT_QUANTILES)
    return Interval(name, acc.key, float(min(lo, central)), central, float(max(hi, central)),
                    "fit sampling", tuple(vs))


def clear_cache() -> None:
    """Forget every interval (a test that widens a range calls this)."""
    _CACHE.clear()
    _TRACE_CACHE.clear()
    _PLANS.clear()
