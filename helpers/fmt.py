"""Formatting for prose and tables: numbers a reader can read, deterministic on every machine."""
from __future__ import annotations

import math


def num(x: float, sig: int = 3) -> str:
    """``sig`` significant figures with thousands separators: 2363.1 -> '2,360';
    0.01234 -> '0.0123'."""
    x = float(x)
    if x == 0 or not math.isfinite(x):
        return str(x)
    digits = sig - int(math.floor(math.log10(abs(x)))) - 1
    r = round(x, digits)
    if r and math.floor(math.log10(abs(r))) > math.floor(math.log10(abs(x))):
        digits -= 1      # rounding carried into a new digit (99.97 -> 100, not 100.0)
        r = round(x, digits)
    if digits <= 0:
        return f"{int(r):,}"
    return f"{r:,.{digits}f}"


def sci(x: float, sig: int = 3) -> str:
    """Scientific notation for prose and tables: 3.79e+25 -> '3.79 × 10²⁵'."""
    mant, exp = f"{float(x):.{sig - 1}e}".split("e")
    sup = str(int(exp)).translate(str.maketrans("-0123456789", "⁻⁰¹²³⁴⁵⁶⁷⁸⁹"))
    return f"{mant} × 10{sup}"


def integer(x: float) -> str:
    return f"{round(float(x)):,}"


def pct(x: float, sig: int = 2) -> str:
    """A fraction as a percentage; rounding noise (|x| < 1e-12, e.g. 1 - a/a) prints as 0 %."""
    if abs(x) < 1e-12:
        return "0 %"
    return f"{num(100 * x, sig)} %"


def duration(seconds: float) -> str:
    """A time in the largest unit it fills: 0.0239 -> '23.9 ms', 1182 -> '19.7 min'."""
    for unit, size in (("h", 3600), ("min", 60), ("s", 1), ("ms", 1e-3)):
        if seconds >= size:
            return f"{num(seconds / size)} {unit}"
    return f"{num(seconds * 1e3)} ms"


def md_table(headers: list[str], rows: list[list], align: str | None = None) -> str:
    """A Markdown (MyST) table; ``align`` is one of l/r/c per column."""
    align = align or "l" + "r" * (len(headers) - 1)
    marks = {"l": ":--", "r": "--:", "c": ":-:"}
    lines = ["| " + " | ".join(headers) + " |",
             "|" + "|".join(marks[a] for a in align) + "|"]
    lines += ["| " + " | ".join(str(c) for c in row) + " |" for row in rows]
    return "\n".join(lines)


def source_link(field) -> str:
    """A catalog field's source as a short Markdown link: [P], [S] or [D] (primary, secondary,
    derived), so a table row leads to the origin of its number in one click."""
    letter = field.source.tag[0].upper()
    return f"[{letter}]({field.source.url})" if field.source.url else letter
