"""Units: every catalog value is converted to SI (bytes, bytes/s, FLOP/s, counts) on load.

The ambiguities the book cares about are explicit here rather than hidden in a constant:
decimal vs binary bytes (GB vs GiB), bits vs bytes on network links (Gb/s vs GB/s), and
dense vs 2:4-structured-sparse FLOP/s.
"""
from __future__ import annotations

GB = 10**9        # decimal gigabyte, what vendors print on datasheets
GiB = 2**30       # binary gibibyte, what some vendor docs (ROCm, Google TPU, nvidia-smi) list
TB = 10**12

# unit -> (dimension, factor to SI)
UNITS: dict[str, tuple[str, float]] = {
    # memory capacity
    "B": ("bytes", 1), "kB": ("bytes", 1e3), "MB": ("bytes", 1e6), "GB": ("bytes", 1e9),
    "TB": ("bytes", 1e12), "KiB": ("bytes", 2**10), "MiB": ("bytes", 2**20),
    "GiB": ("bytes", 2**30), "TiB": ("bytes", 2**40),
    # bandwidth (memory and links); bits per second are divided by 8
    "B/s": ("bytes/s", 1), "MB/s": ("bytes/s", 1e6), "GB/s": ("bytes/s", 1e9),
    "TB/s": ("bytes/s", 1e12), "GiB/s": ("bytes/s", 2**30),
    "Gb/s": ("bytes/s", 1e9 / 8), "Tb/s": ("bytes/s", 1e12 / 8),
    # arithmetic throughput
    "FLOP/s": ("flop/s", 1), "GFLOP/s": ("flop/s", 1e9), "TFLOP/s": ("flop/s", 1e12),
    "PFLOP/s": ("flop/s", 1e15), "EFLOP/s": ("flop/s", 1e18),
    # plain counts (chips, layers, heads, experts, dimensions, tokens)
    "count": ("count", 1), "thousand": ("count", 1e3), "million": ("count", 1e6),
    "billion": ("count", 1e9), "trillion": ("count", 1e12),
    "tokens": ("count", 1), "quadrillion": ("count", 1e15),
    # time
    "year": ("year", 1), "s": ("s", 1), "ms": ("s", 1e-3), "h": ("s", 3600),
    "us": ("s", 1e-6), "ns": ("s", 1e-9), "min": ("s", 60), "day": ("s", 86400),
    "month": ("s", 365.2425 * 86400 / 12),   # a mean Gregorian month, 30.44 days
    # accelerator time (a training run's "GPU-hours": chips x hours)
    "GPU-h": ("accelerator-s", 3600), "million GPU-h": ("accelerator-s", 3.6e9),
    # rates of events: tokens, decode steps, requests per second (one dimension, so a token rate
    # in tokens/s and one in million tokens/s compare)
    "tokens/s": ("1/s", 1), "million tokens/s": ("1/s", 1e6), "1/s": ("1/s", 1),
    # amounts of arithmetic (training budgets, regulatory thresholds)
    "FLOP": ("flop", 1), "TFLOP": ("flop", 1e12), "PFLOP": ("flop", 1e15),
    # money
    "USD": ("USD", 1), "thousand USD": ("USD", 1e3), "million USD": ("USD", 1e6),
    "billion USD": ("USD", 1e9), "trillion USD": ("USD", 1e12),
    "USD/h": ("USD/s", 1 / 3600), "USD/kWh": ("USD/J", 1 / 3.6e6), "USD/kg": ("USD/kg", 1),
    # power
    "W": ("W", 1), "kW": ("W", 1e3), "MW": ("W", 1e6), "GW": ("W", 1e9),
    "W/m2": ("W/m^2", 1), "W/m2/K4": ("W/m^2/K^4", 1),
    # length, area, mass, temperature (the orbital rack)
    "m": ("m", 1), "ft": ("m", 0.3048), "m2": ("m^2", 1), "kg": ("kg", 1),
    "t": ("kg", 1e3), "lb": ("kg", 0.45359237), "K": ("K", 1),
    # prices
    "USD/Mtok": ("USD/token", 1e-6),
    "USD/Mtok/h": ("USD/token/s", 1e-6 / 3600),
    # dimensionless
    "ratio": ("ratio", 1), "percent": ("ratio", 0.01),
}


def to_si(value: float, unit: str) -> float:
    """Convert ``value`` in ``unit`` to SI; raises KeyError for an unknown unit."""
    return value * UNITS[unit][1]


def dimension(unit: str) -> str:
    return UNITS[unit][0]


def other_reading(field) -> float | None:
    """A catalog field's value re-read in the unit some vendor docs give the same printed number
    (``also_read_as``: an "80 GB" HBM that the vendor's software lists as 80 GiB), in SI; None
    when the field has no other reading."""
    return to_si(field.value, field.also_read_as) if field.also_read_as else None
