"""The catalog-wide sweep: every chapter's hardware-dependent headline, for every accelerator.

The quantities are the registry's (:mod:`helpers.registry`: each topic module's ``HEADLINES``)
that depend on the accelerator. A headline's name is the result name its chapter publishes for
the run's accelerator, so the sweep's value for the default accelerator equals the committed
chapter's, and its value for another accelerator equals what ``python -m helpers rerun
--hardware <it>`` would publish; it is computed without executing a notebook.
"""
from __future__ import annotations

import math
from collections.abc import Callable, Iterable
from dataclasses import dataclass

from . import catalog


@dataclass(frozen=True)
class Quantity:
    name: str
    unit: str
    description: str
    fn: Callable
    module: str


def quantities() -> dict[str, Quantity]:
    """Every hardware-dependent headline of the registry, in module then definition order."""
    from . import registry

    return {n: Quantity(n, h.unit, h.description, h.value, h.module)
            for n, h in registry.hardware_dependent().items()}


def evaluate(accelerators: Iterable[catalog.Entry] | None = None,
             qs: dict[str, Quantity] | None = None) -> dict[str, dict[str, float | None]]:
    """``{accelerator key: {quantity name: value}}``; a quantity that needs a field the
    accelerator lacks (no FP8 figure, say) is None. ``inf`` means "unbounded" (see its text)."""
    accs = list(catalog.accelerators().values() if accelerators is None else accelerators)
    qs = quantities() if qs is None else qs
    table: dict[str, dict[str, float | None]] = {}
    for acc in accs:
        row = {}
        for name, q in qs.items():
            try:
                row[name] = float(q.fn(acc))
            except (catalog.CatalogError, AttributeError):   # a field it lacks (no FP4, no FP8)
                row[name] = None
            except Exception as e:   # a formula bug: say which one, for which chip
                raise RuntimeError(f"helpers/{q.module}.py: headline '{name}' failed for "
                                   f"'{acc.key}': {type(e).__name__}: {e}") from e
        table[acc.key] = row
    return table


def as_json(table, qs) -> dict:
    """JSON-safe: inf becomes the string "inf" (JSON has no infinity)."""
    def safe(v):
        return "inf" if v is not None and math.isinf(v) else v
    return {"quantities": {n: {"unit": q.unit, "description": q.description, "module": q.module}
                           for n, q in qs.items()},
            "accelerators": {k: {n: safe(v) for n, v in row.items()} for k, row in table.items()}}


def format_value(v: float | None, unit: str = "") -> str:
    """Three significant figures; fractions as percentages; whole numbers of chips as integers."""
    from .fmt import integer, num, pct
    if v is None:
        return "n/a"
    if math.isinf(v):
        return "∞"
    if abs(v) < 1e-12:      # rounding noise around an exact zero (e.g. 1 - x/x)
        v = 0.0
    if unit == "fraction":
        return pct(v)
    if unit in COUNT_UNITS and v == round(v):
        return integer(v)
    return num(v)


COUNT_UNITS = {"accelerators", "count", "chips"}


def text_table(table, qs) -> str:
    """Accelerators as rows, quantities as columns (numbered; the legend follows)."""
    keys = list(qs)
    head = ["accelerator"] + [f"[{i + 1}]" for i in range(len(keys))]
    body = [[acc] + [format_value(row[n], qs[n].unit) for n in keys] for acc, row in table.items()]
    widths = [max(len(str(x)) for x in col) for col in zip(head, *body)]
    lines = ["  ".join(str(x).ljust(w) if j == 0 else str(x).rjust(w)
                       for j, (x, w) in enumerate(zip(r, widths))) for r in [head] + body]
    lines.append("")
    lines += [f"[{i + 1}] {n} ({qs[n].unit}, helpers/{qs[n].module}.py): {qs[n].description}"
              for i, n in enumerate(keys)]
    return "\n".join(lines)
