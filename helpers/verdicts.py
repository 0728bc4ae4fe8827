"""Verdicts on claims, from the ratio of a derived value to the claimed one.

The bands are the book's convention, stated once: within 15 % the claim *holds*; within a
factor 1.5 it *holds with caveat* (the chapter says which); beyond that it is *off by N×*.
A claim that is explicitly an order-of-magnitude remark ("about one thousandth", "about the
same") is judged on the wider band it states for itself (``band=ORDER_OF_MAGNITUDE``): it
*holds* within a factor 2 and *holds with caveat* within half an order of magnitude (√10 ≈ 3.16).
A claim whose logic fails (not its number) is marked "does not follow" by the chapter itself.
"""
from __future__ import annotations

import math
import re

HOLDS_WITHIN = 0.15
CAVEAT_WITHIN = 0.5
# (holds within, holds with caveat within), as fractions above a ratio of 1
DEFAULT = (HOLDS_WITHIN, CAVEAT_WITHIN)
ORDER_OF_MAGNITUDE = (1.0, math.sqrt(10) - 1)


def ratio_verdict(claimed: float, derived: float, band: tuple[float, float] = DEFAULT) -> str:
    if claimed <= 0 or derived <= 0:
        raise ValueError("verdicts compare positive quantities")
    holds, caveat = band
    r = derived / claimed
    if abs(math.log(r)) <= math.log(1 + holds):
        return "holds"
    if abs(math.log(r)) <= math.log(1 + caveat):
        return "holds with caveat"
    factor = r if r > 1 else 1 / r
    direction = "high" if r < 1 else "low"  # the claim is too high when derived < claimed
    return f"off by {factor_text(factor, caveat)}× (claim too {direction})"


def factor_text(factor: float, caveat: float = CAVEAT_WITHIN) -> str:
    """One decimal (2.2); two below 2 (1.53), and never a text that reads as inside the
    caveat band (1.503 is '1.503', not '1.50')."""
    for digits in ((1,) if factor >= 2 else (2, 3, 4)):
        text = f"{factor:.{digits}f}"
        if float(text) > 1 + caveat:
            return text
    return text


def worst(labels) -> str:
    """The label of a claim made of several parts ("A ≈ B ≈ C"): its weakest part's (holds <
    holds with caveat < off by N×, larger N worse < does not follow); ties keep the first."""
    def rank(label):
        if label == "holds":
            return (0, 0.0)
        if label == "holds with caveat":
            return (1, 0.0)
        off = re.match(r"off by ([0-9.]+)×", label)
        return (2, float(off.group(1))) if off else (3, 0.0)
    return max(labels, key=rank)


# The only labels a verdict may carry; the reason goes in the caveat, never in the label.
VERDICT = re.compile(r"^(holds|holds with caveat|off by \d+(\.\d+)?× \(claim too (high|low)\)"
                     r"|does not follow)$")


def check_label(label: str) -> str:
    if not VERDICT.match(label):
        raise ValueError(f"verdict '{label}' is not one of: holds, holds with caveat, "
                         "off by N× (claim too high|low), does not follow")
    return label
