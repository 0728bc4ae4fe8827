"""What every chapter does first: deterministic printing and plotting, and the run's hardware."""
from __future__ import annotations

import dataclasses
import difflib
from pathlib import Path

from . import catalog, units as U

PRINT_WIDTH = 100  # SymPy's pretty printer wraps at the terminal width: fix it (nbval compares)


def setup() -> None:
    """Fix everything that would otherwise differ between machines."""
    import matplotlib
    import numpy as np
    import sympy as sp

    matplotlib.use("module://matplotlib_inline.backend_inline")
    from matplotlib_inline.backend_inline import set_matplotlib_formats

    set_matplotlib_formats("png")          # nbval skips PNG; SVG embeds random ids
    from .figures import apply
    apply()                                # phone-legible, colour-blind-safe defaults
    sp.init_printing(use_latex="mathjax", num_columns=PRINT_WIDTH)
    np.set_printoptions(precision=4, suppress=True, linewidth=PRINT_WIDTH)


# a value set with --set (or in a notebook's ``overrides``) has no page to cite: tag 'override'
_OVERRIDE_SOURCE = catalog.Source("parameter_override", "",
                                  "value set with --set (the notebook's overrides)", "2026-01",
                                  "override")


def accelerator(name_or_file: str, overrides: dict | None = None) -> catalog.Entry:
    """A catalogued accelerator by name (any case), or the single entry of a user's hardware
    file (YAML or TOML), with ``overrides`` ({field: number in the entry's unit for that field;
    a field the entry lacks takes the catalog's usual unit}) applied on top and checked like a
    file's values (positive, whole where a count is meant, within the plausible range)."""
    from .hardware_file import names_a_file, plausibility_problem
    from .validate import example_unit, short_repr

    if not isinstance(name_or_file, str):
        raise catalog.CatalogError(f"accelerator: a catalog name or a file, got "
                                   f"{short_repr(name_or_file)}")
    if names_a_file(name_or_file):
        entry = catalog.hardware_file(Path(name_or_file))
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
            raise catalog.CatalogError(f"overrides: entry '{entry.key}', field "
                                       f"{short_repr(str(name))[1:-1]!r}: unknown field{hint}")
        dim = schema[name][0]
        old = fields.get(name)
        unit = old.unit if old is not None else example_unit(dim)
        raw = dict(value) if isinstance(value, dict) else {"value": value, "unit": unit}
        raw["source"] = _OVERRIDE_SOURCE.key
        if old is not None and old.value is not None and "note" not in raw:
            raw["note"] = f"set with --set; {old.value:g} {old.unit} in {old.source.key}"
        fields[name] = catalog.parse_field("overrides", entry.key, name, raw, dim,
                                           {_OVERRIDE_SOURCE.key: _OVERRIDE_SOURCE},
                                           allow_missing=False,
                                           integer=dim in ("count", "year"),
                                           plausible=plausibility_problem)
    return dataclasses.replace(entry, fields=fields)


def show_markdown(text: str) -> None:
    """Show Markdown; a reader's text in it (registered with :func:`helpers.fmt.protect_user_text`)
    is escaped, so it shows as itself."""
    from IPython.display import Markdown, display

    from .fmt import protect
    display(Markdown(protect(text)))


__all__ = ["setup", "accelerator", "show_markdown", "U"]
