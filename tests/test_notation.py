"""One symbol, one meaning, book-wide: each printed symbol is defined (in a ``SYMBOL_MEANING``)
by exactly one module, and every other module that needs it imports that symbol; the notation
appendix lists each once. A second definition, even with the same meaning, is a clash waiting
to happen (``B`` for a batch in one chapter and a fit coefficient in another)."""
from __future__ import annotations

import importlib
import pkgutil
from collections import defaultdict

import sympy as sp

import helpers


def _definitions() -> dict[str, list[tuple[str, str]]]:
    seen: dict[str, list[tuple[str, str]]] = defaultdict(list)
    for info in sorted(pkgutil.iter_modules(helpers.__path__), key=lambda i: i.name):
        if info.name.startswith("_") or info.name == "__main__":
            continue
        module = importlib.import_module(f"helpers.{info.name}")
        for sym, meaning in getattr(module, "SYMBOL_MEANING", {}).items():
            seen[sp.latex(sym)].append((info.name, meaning))
    return seen


def test_each_symbol_is_defined_once_book_wide():
    clashes = {s: d for s, d in _definitions().items() if len(d) > 1}
    assert not clashes, "symbols defined more than once: " + "; ".join(
        f"{s}: " + ", ".join(f"{m} ({mod})" for mod, m in d) for s, d in clashes.items())
