"""The catalog-wide sweep: every chapter's hardware-dependent headline, for every accelerator.

A formula module in ``helpers/`` may define ``SWEEP = {name: (unit, description, fn)}`` where
``fn(acc: catalog.Entry) -> float`` evaluates one headline for any accelerator from the
catalogs and lambdified SymPy, without executing a notebook. ``name`` is the result name the
chapter publishes for its run accelerator (a name that names no accelerator), so the sweep's
value for the default accelerator equals the committed chapter's, and its value for another
accelerator equals what ``python -m helpers rerun --hardware <it>`` would publish.
"""
from __future__ import annotations

import importlib
import math
import pkgutil
from dataclasses import dataclass
from typing import Callable, Iterable

from . import catalog

SKIP_MODULES = {"__main__"}


@dataclass(frozen=True)
class Quantity:
    name: str
    unit: str
    description: str
    fn: Callable
    module: str


def quantities() -> dict[str, Quantity]:
    """Every hardware-dependent headline of the registry (``HEADLINES`` in the topic modules),
    plus any module's legacy ``SWEEP`` entries, in module then definition order."""
    import helpers
    from . import registry

    found: dict[str, Quantity] = {n: Quantity(n, h.unit, h.description, h.value, h.module)
                                  for n, h in registry.hardware_dependent().items()}
    for info in sorted(pkgutil.iter_modules(helpers.__path__), key=lambda i: i.name):
        if info.name in SKIP_MODULES or info.name.startswith("_"):
            continue
        module = importlib.import_module(f"helpers.{info.name}")
        sweep = getattr(module, "SWEEP", None)
        if sweep is None:
            continue
        if not isinstance(sweep, dict):
            raise TypeError(f"helpers/{info.name}.py: SWEEP must be a dict")
        for name, spec in sweep.items():
            where = f"helpers/{info.name}.py: SWEEP['{name}']"
            if not (isinstance(spec, tuple) and len(spec) == 3 and callable(spec[2])):
                raise TypeError(f"{where} must be (unit, description, fn)")
            if name.split("_")[0] in catalog.accelerators():
                raise ValueError(f"{where}: a swept name must not name an accelerator")
            if name in found:
                raise ValueError(f"{where}: also defined in helpers/{found[name].module}.py")
            found[name] = Quantity(name, spec[0], spec[1], spec[2], info.name)
    return found


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
                raise RuntimeError(f"helpers/{q.module}.py: SWEEP['{name}'] failed for "
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
