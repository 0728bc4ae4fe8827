"""What every chapter does first: deterministic printing and plotting, and the run's hardware."""
from __future__ import annotations

import dataclasses
import difflib
from pathlib import Path

from . import catalog, units as U

PRINT_WIDTH = 100  # SymPy's pretty printer wraps at the terminal width: fix it (nbval compares text)


def setup() -> None:
    """Fix everything that would otherwise differ between machines."""
    import matplotlib
    import numpy as np
    import sympy as sp

    matplotlib.use("module://matplotlib_inline.backend_inline")
    import matplotlib.pyplot as plt
    from matplotlib_inline.backend_inline import set_matplotlib_formats

    set_matplotlib_formats("png")          # nbval skips PNG; SVG embeds random ids
    plt.rcParams.update({
        "figure.figsize": (7.0, 4.2), "figure.dpi": 110, "savefig.dpi": 110,
        "axes.grid": True, "grid.alpha": 0.3, "axes.spines.top": False,
        "axes.spines.right": False, "font.size": 10, "svg.hashsalt": "book",
    })
    sp.init_printing(use_latex="mathjax", num_columns=PRINT_WIDTH)
    np.set_printoptions(precision=4, suppress=True, linewidth=PRINT_WIDTH)


_OVERRIDE_SOURCE = catalog.Source("parameter_override", "",
                                  "value set in the notebook's parameters cell", "2026-01",
                                  "derived")


def accelerator(name_or_file: str, overrides: dict | None = None) -> catalog.Entry:
    """A catalogued accelerator by name, or the single entry of a user's hardware file (YAML or
    TOML), with ``overrides`` ({field: number in the entry's unit for that field}) applied on top."""
    path = Path(name_or_file)
    if path.suffix in catalog.HARDWARE_SUFFIXES or path.exists():
        entry = catalog.hardware_file(path)
    else:
        entry = catalog.lookup("accelerators", name_or_file)
    if not overrides:
        return entry
    if not isinstance(overrides, dict):
        raise catalog.CatalogError(f"overrides: must be a mapping {{field: number}}, got "
                                   f"{type(overrides).__name__}")
    fields = dict(entry.fields)
    schema = catalog.SCHEMAS["accelerators"]
    for name, value in overrides.items():
        if name not in schema:
            close = difflib.get_close_matches(str(name), list(schema), n=1)
            hint = f" (did you mean '{close[0]}'?)" if close else ""
            raise catalog.CatalogError(f"overrides: entry '{entry.key}', field '{name}': "
                                       f"unknown field{hint}")
        unit = fields[name].unit if name in fields else None
        raw = dict(value) if isinstance(value, dict) else {"value": value, "unit": unit}
        raw["source"] = _OVERRIDE_SOURCE.key
        fields[name] = catalog.parse_field("overrides", entry.key, name, raw, schema[name][0],
                                           {_OVERRIDE_SOURCE.key: _OVERRIDE_SOURCE},
                                           allow_missing=False)
    return dataclasses.replace(entry, fields=fields)


def show_markdown(text: str) -> None:
    from IPython.display import Markdown, display
    display(Markdown(text))


__all__ = ["setup", "accelerator", "show_markdown", "U"]
