"""Key equations shown in the form that carries the intuition, checked against the derivation.

SymPy prints a result in its own canonical order (``-F L b_kv + ...``); a reader wants the
factors that explain it (``(F/W) · s · b_w/2``). A chapter writes that form twice, as LaTeX for
the page and as a SymPy expression, and :func:`show` displays the LaTeX only after asserting the
expression equals the derived result::

    show(r"B^*", r"\\frac{F}{W}\\cdot s\\cdot\\frac{b_\\mathrm{w}}{2}",
         F / W * (N_tot / N_act) * b_w / 2, B_star)
"""
from __future__ import annotations

import sympy as sp


def same(form, derived) -> bool:
    """Whether two SymPy expressions are equal (``Max``/``Piecewise`` compared branch-wise by
    simplifying their difference; a number equals itself to 1e-12)."""
    diff = sp.simplify(sp.sympify(form) - sp.sympify(derived))
    if diff == 0:
        return True
    return bool(diff.is_number and abs(complex(diff)) <= 1e-12 * max(1.0, abs(complex(derived))))


def show(lhs: str, latex: str, form, derived) -> None:
    """Display ``lhs = latex`` as typeset math after asserting that ``form`` (the same equation
    as a SymPy expression) equals the ``derived`` result."""
    from IPython.display import Math, display

    if not same(form, derived):
        raise AssertionError(f"the displayed form of {lhs} is not the derived result: "
                             f"{sp.simplify(form - derived)} ≠ 0")
    display(Math(f"{lhs} = {latex}"))
