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
from dataclasses import dataclass, field as _dc_field
from functools import lru_cache
from typing import Callable, Mapping

import sympy as sp

from . import catalog, fmt
from .formulas import evaluate

# --- where a symbol's value comes from -----------------------------------------------------


@dataclass(frozen=True)
class Input:
    """One symbol's binding. ``kind`` is ``hw`` (a field of the run's accelerator, SI units),
    ``field`` (catalog kind/entry/field), ``claim`` (claim id/name), ``const`` or ``derived``."""
    kind: str
    ref: tuple
    note: str = ""
    fn: Callable[[], float] | None = None
    value_: float | None = None

    def resolve(self, acc: catalog.Entry) -> float:
        if self.kind == "hw":
            return float(getattr(acc, self.ref[0]))
        return _constant(self)

    @property
    def label(self) -> str:
        """Where the number comes from, for a reader: ``accelerator.hbm_bandwidth``."""
        if self.kind == "hw":
            return f"accelerator.{self.ref[0]}"
        if self.kind == "field":
            return "{}.{}.{}".format(*self.ref)
        if self.kind == "claim":
            return "claim {}: {}".format(*self.ref)
        return self.note


@lru_cache(maxsize=None)
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


def hw(name: str) -> Input:
    """A field of the accelerator the run is for (SI units), e.g. ``hw("hbm_bandwidth")``."""
    if name not in catalog.SCHEMAS["accelerators"]:
        raise ValueError(f"hw('{name}'): not an accelerator field")
    return Input("hw", (name,))


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
    "times": lambda x: f"{x:.1f}×", "times2": lambda x: f"{x:.2f}×",
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
        return tuple(sorted(i.ref[0] for i in self.inputs.values() if i.kind == "hw"))

    def value(self, acc: catalog.Entry) -> float:
        if self.fn is not None:
            return float(self.fn(acc))
        return evaluate(self.expr, {sym: inp.resolve(acc) for sym, inp in self.inputs.items()})

    def text(self, value: float) -> str:
        return FORMATS[self.fmt](value)


# --- the registry ---------------------------------------------------------------------------

SKIP_MODULES = {"__main__"}


@lru_cache(maxsize=None)
def headlines() -> dict[str, Headline]:
    """Every ``HEADLINES`` entry of every ``helpers.*`` module, in module then definition order."""
    import helpers

    accs = catalog.accelerators()
    found: dict[str, Headline] = {}
    for info in sorted(pkgutil.iter_modules(helpers.__path__), key=lambda i: i.name):
        if info.name in SKIP_MODULES or info.name.startswith("_"):
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
