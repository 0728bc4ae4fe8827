"""The headline registry: every catalog-dependent headline is defined once, here in spirit and in
its topic module in fact.

A topic module (``roofline``, ``serving``, ``scaling``, ``pricing``, ``attention``,
``parallelism``, ...) lists its headlines as ``HEADLINES = [Headline(...), ...]``. A headline is

* a **closed form**: a SymPy expression (plain symbols, ``Max``/``Min``/``Piecewise``, powers,
  ``ceiling``; nothing Python-only, so it prints to other languages) plus ``inputs``, which say
  where each of its symbols gets its value: a field of the accelerator the run is for
  (:func:`hw`), a field of another catalog (:func:`field`), a claimed value (:func:`claimed`),
  a stated constant (:func:`const`) or a number derived from the catalogs by a named function
  (:func:`derived`); or
* **not a closed form** (a simulation, a search, a fit): ``fn(acc) -> float`` with ``why``
  saying which, so tools know it needs a Python re-run.

Chapters publish headlines through :class:`helpers.chapter.Chapter` (``ch.headline(name,
"h100")`` publishes the run's value and the H100's twin ``h100_<name>``); the sweep, the re-run
comparison and the generic tests read this registry, so a headline cannot drift between them.
"""
from __future__ import annotations

import importlib
import math
import pkgutil
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field as _dc_field
from functools import cache

import sympy as sp

from . import catalog, fmt, units as U
from .formulas import evaluate

# --- where a symbol's value comes from -----------------------------------------------------


@dataclass(frozen=True)
class Input:
    """One symbol's binding. ``kind`` is ``hw`` (a field of the run's accelerator, SI units,
    with an optional fallback field for a part that lacks it), ``hw_other`` (the same field in
    its other reading), ``field`` (catalog kind/entry/field), ``claim`` (claim id/name),
    ``const`` or ``derived``."""
    kind: str
    ref: tuple
    note: str = ""
    fn: Callable[[], float] | None = None
    value_: float | None = None

    def resolve(self, acc: catalog.Entry) -> float:
        if self.kind == "hw":
            name = self.ref[0]
            if len(self.ref) > 1 and not acc.has(name):   # e.g. no FP8 units: the BF16 rate
                name = self.ref[1]
            return float(getattr(acc, name))
        if self.kind == "hw_other":     # the printed number re-read in its other unit
            f = acc.fields[self.ref[0]]
            other = U.other_reading(f)
            return float(f.si if other is None else other)
        return _constant(self)

    @property
    def label(self) -> str:
        """Where the number comes from, for a reader: ``accelerator.hbm_bandwidth``."""
        if self.kind == "hw":
            return f"accelerator.{self.ref[0]}"
        if self.kind == "hw_other":
            return f"accelerator.{self.ref[0]} (other reading)"
        if self.kind == "field":
            return "{}.{}.{}".format(*self.ref)
        if self.kind == "claim":
            return "claim {}: {}".format(*self.ref)
        return self.note


@cache
def _constant(inp: Input) -> float:
    """A run-independent input, read once per process."""
    if inp.kind == "field":
        kind, key, name = inp.ref
        return float(getattr(catalog.load(kind)[key], name))
    if inp.kind == "claim":
        from . import claims
        return float(claims.get(inp.ref[0]).value(inp.ref[1]))
    if inp.kind == "const":
        return float(inp.value_)
    if inp.kind == "derived":
        return float(inp.fn())
    raise ValueError(f"unknown input kind '{inp.kind}'")


def hw(name: str, fallback: str | None = None) -> Input:
    """A field of the accelerator the run is for (SI units), e.g. ``hw("hbm_bandwidth")``;
    ``fallback`` names the field to read on a part that lacks it (``hw("fp8_dense_flops",
    "bf16_dense_flops")``: a part with no FP8 units runs FP8 work at its BF16 rate)."""
    for n in (name, fallback):
        if n is not None and n not in catalog.SCHEMAS["accelerators"]:
            raise ValueError(f"hw('{n}'): not an accelerator field")
    return Input("hw", (name,) if fallback is None else (name, fallback))


def hw_other(name: str) -> Input:
    """A field of the run's accelerator with its printed number re-read in the unit some vendor
    docs give it (``also_read_as``: "80 GB" as 80 GiB); the catalogued value when it has none."""
    hw(name)
    return Input("hw_other", (name,))


def field(kind: str, key: str, name: str) -> Input:
    """A field of another catalog entry, e.g. ``field("models", "deepseek_v3", "total_params")``."""
    return Input("field", (kind, key, name))


def claimed(claim_id: str, name: str) -> Input:
    """A value the claim under test states, e.g. ``claimed("RP-4", "routed_experts")``."""
    return Input("claim", (claim_id, name))


def const(value: float, note: str) -> Input:
    """A stated convention, e.g. ``const(2, "bytes per BF16 value")``."""
    return Input("const", (), note=note, value_=value)


def derived(fn: Callable[[], float], note: str) -> Input:
    """A number derived from the catalogs by a named function (run-independent), e.g. DeepSeek-V3's
    KV bytes per token from its attention configuration."""
    return Input("derived", (), note=note, fn=fn)


# --- headlines ------------------------------------------------------------------------------

FORMATS: dict[str, Callable[[float], str]] = {
    "num": fmt.num, "integer": fmt.integer, "pct": fmt.pct, "sci": fmt.sci,
    "pct3": lambda x: fmt.pct(x, 3),
    "num2": lambda x: fmt.num(x, 2), "num4": lambda x: fmt.num(x, 4),
    "e1": lambda x: f"{x:.1e}",                     # a vanishing count: 3.6e-72
    "duration": fmt.duration,                       # 0.0239 s -> '23.9 ms'
    "sequences": lambda x: f"{fmt.integer(x)} sequences",
    "g": lambda x: f"{x:g}",                        # a short exact number: 1.5, 64, 0.25
    "reciprocal": lambda x: f"1/{fmt.integer(1 / x)}",   # a small share as "1/3,862"
    "times": lambda x: f"{x:.1f}×", "times2": lambda x: f"{x:.2f}×",
    # counts glued with a suffix, three significant figures: 1.30M, 8.02B, 263T
    "millions": lambda x: fmt.num(x / 1e6) + "M", "billions": lambda x: fmt.num(x / 1e9) + "B",
    "trillions": lambda x: fmt.num(x / 1e12) + "T",
}


@dataclass(frozen=True)
class Headline:
    name: str
    unit: str
    description: str
    expr: sp.Expr | None = None
    inputs: Mapping[sp.Symbol, Input] = _dc_field(default_factory=dict)
    fn: Callable[[catalog.Entry], float] | None = None
    why: str = ""                       # why it is not a closed form (with ``fn``)
    claims: tuple[str, ...] = ()
    fmt: str = "num"
    module: str = ""

    def __post_init__(self):
        if (self.expr is None) == (self.fn is None):
            raise ValueError(f"headline '{self.name}': give exactly one of expr or fn")
        if self.fn is not None and not self.why:
            raise ValueError(f"headline '{self.name}': a non-closed form says why (why=...)")
        if self.expr is not None:
            unbound = self.expr.free_symbols - set(self.inputs)
            if unbound:
                raise ValueError(f"headline '{self.name}': no input for "
                                 f"{', '.join(sorted(map(str, unbound)))}")
        if self.fmt not in FORMATS:
            raise ValueError(f"headline '{self.name}': unknown format '{self.fmt}'")

    @property
    def closed_form(self) -> bool:
        return self.expr is not None

    @property
    def hardware_fields(self) -> tuple[str, ...]:
        """The accelerator fields a closed form reads (what a reader's chip changes)."""
        return tuple(sorted({n for i in self.inputs.values() if i.kind in ("hw", "hw_other")
                             for n in i.ref}))

    def value(self, acc: catalog.Entry) -> float:
        if self.fn is not None:
            return float(self.fn(acc))
        return evaluate(self.expr, {sym: inp.resolve(acc) for sym, inp in self.inputs.items()})

    def text(self, value: float) -> str:
        return FORMATS[self.fmt](value)


# --- the registry ---------------------------------------------------------------------------

SKIP_MODULES = {"__main__"}


@cache
def headlines() -> dict[str, Headline]:
    """Every ``HEADLINES`` entry of every ``helpers.*`` module, in module then definition order."""
    import helpers

    accs = catalog.accelerators()
    found: dict[str, Headline] = {}
    for info in sorted(pkgutil.iter_modules(helpers.__path__), key=lambda i: i.name):
        # sphinx_*: Sphinx extensions, build-time only (they import docutils, which a chapter
        # run outside the checkout does not have: tests/test_packaging.py)
        if info.name in SKIP_MODULES or info.name.startswith(("_", "sphinx_")):
            continue
        module = importlib.import_module(f"helpers.{info.name}")
        for h in getattr(module, "HEADLINES", ()):
            where = f"helpers/{info.name}.py: headline '{h.name}'"
            if h.name.split("_")[0] in accs:
                raise ValueError(f"{where}: a headline name must not name an accelerator "
                                 "(the chapter names the part of each twin)")
            if h.name in found:
                raise ValueError(f"{where}: also defined in helpers/{found[h.name].module}.py")
            found[h.name] = _with_module(h, info.name)
    return found


def _with_module(h: Headline, module: str) -> Headline:
    from dataclasses import replace
    return replace(h, module=module)


def get(name: str) -> Headline:
    try:
        return headlines()[name]
    except KeyError:
        raise KeyError(f"no headline '{name}' in the registry (helpers/*.py HEADLINES)") from None


def hardware_dependent() -> dict[str, Headline]:
    """Headlines whose value changes with the accelerator (what the sweep and re-runs compare)."""
    return {n: h for n, h in headlines().items() if h.fn is not None or h.hardware_fields}


def is_unbounded(value: float) -> bool:
    return math.isinf(value)
