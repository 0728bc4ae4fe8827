"""Chapter 2 formulas: HBM drain time, the train schedule, replica throughput, Little's law and
the memory-bound step model behind "fast mode" prices.

Conventions (as in :mod:`helpers.formulas`): ``B`` counts sequences in a decode step, each
gets one token per step; bandwidths are bytes/s. The *step interval* ``T`` is the time between
departures of decode steps ("trains"); a request that arrives boards the next departure.
The chapter derives each expression on the page and asserts that it equals the one here.
"""
from __future__ import annotations

import numpy as np
import sympy as sp

from . import formulas as f, units as U

# --- symbols -------------------------------------------------------------------------------
B, W = f.B, f.W
C = sp.Symbol("C", positive=True)                       # HBM capacity, bytes
T = sp.Symbol("T", positive=True)                       # step interval (departure spacing), s
u = sp.Symbol("u", nonnegative=True)                    # arrival time after the last departure
phi = sp.Symbol(r"\phi", positive=True)                 # share of HBM read in each step
n_out = sp.Symbol(r"n_\mathrm{out}", positive=True)     # tokens generated per request
lam = sp.Symbol(r"\lambda", positive=True)              # request arrival rate, 1/s
M = sp.Symbol(r"M_\mathrm{w}", positive=True)           # weight bytes read per step
m = sp.Symbol(r"m_\mathrm{kv}", positive=True)          # KV bytes read per sequence per step
B_n = sp.Symbol(r"B_\mathrm{n}", positive=True)         # normal-mode batch
B_f = sp.Symbol(r"B_\mathrm{f}", positive=True)         # fast-mode batch
p = sp.Symbol("p", positive=True)                       # price ratio fast / normal, per token
r = sp.Symbol("r", positive=True)                       # speed ratio fast / normal, tokens/s
x = sp.Symbol("x", positive=True)                       # KV share of a normal-mode step

SYMBOL_MEANING = {
    C: "HBM capacity of the replica, bytes",
    W: "HBM bandwidth of the replica, bytes/s",
    T: "step interval: time between departures of decode steps",
    u: "arrival time of a request after the previous departure",
    phi: "share of the HBM capacity read in each step",
    B: "sequences in one decode step (one token each)",
    n_out: "tokens generated per request",
    lam: "request arrival rate",
    M: "weight bytes read per step (shared by the batch)",
    m: "KV-cache bytes read per sequence per step",
    p: "price ratio fast / normal mode, per output token",
    r: "speed ratio fast / normal mode, output tokens/s per sequence",
    x: "share of a normal-mode step spent reading KV cache",
}

# Seconds in a mean Gregorian month (the catalog's unit "month"): "tokens per month" to a rate.
SECONDS_PER_MONTH = U.to_si(1, "month")

# --- drain time and the per-token floor (RP-7, RP-9) ----------------------------------------
# A memory-bound step reads every byte it needs once; reading the whole HBM takes C / W.
drain_time = C / W
# Each step reads at least the bytes in use (weights + the batch's KV); one token per sequence
# per step, so a sequence can never get a token faster than (phi C) / W.
token_latency_floor = phi * C / W
max_tokens_per_s_per_sequence = 1 / token_latency_floor

# --- the train schedule (RP-8) --------------------------------------------------------------
# An arrival at phase u in [0, T) waits T - u for the next departure, then rides one step.
latency_at_phase = (T - u) + T
worst_case_latency = sp.limit(latency_at_phase, u, 0)            # sup over u -> 0
mean_latency = sp.integrate(latency_at_phase, (u, 0, T)) / T     # Poisson arrivals: u uniform


def latency_intervals(expr: sp.Expr) -> sp.Expr:
    """A latency in units of the step interval (a pure number for the schedule above)."""
    return sp.simplify(expr / T)


# --- throughput and Little's law (RP-10) ----------------------------------------------------
replica_tokens_per_s = B / T                 # B tokens leave on every train, 1/T trains per s
# Little's law on the train: sequences on board = arrival rate x time on board (n_out steps).
sequences_on_board = lam * n_out * T
arrival_rate_to_fill = sp.solve(sp.Eq(sequences_on_board, B), lam)[0]   # = B / (n_out T)
# Including the wait for a departure (T/2 on average), requests in the system:
requests_in_system = lam * (T / 2 + n_out * T)

# --- fast mode: a memory-bound step, weights shared, KV per sequence (RP-11) -----------------
t_normal = (M + B_n * m) / W
t_fast = (M + B_f * m) / W
# Price per token tracks accelerator-time per token, t / B; speed per sequence is 1 / t.
fast_batch_ratio = p * r                                   # B_n / B_f
fast_kv_share = p * (r - 1) / (p * r - 1)                  # x = B_n m / (M + B_n m)
fast_min_kv_share = 1 - 1 / r                              # below this, B_f -> 0 is not fast enough
fast_price_from_share = x / (1 - r * (1 - x))              # p for a given x and r


def simulate_train_latency(rng: np.random.Generator, step: float, rate: float,
                           n_arrivals: int) -> np.ndarray:
    """Latencies of Poisson arrivals (``rate`` per second) that board the next departure of a
    train leaving every ``step`` seconds and ride one step; trains always have room."""
    arrivals = np.cumsum(rng.exponential(1 / rate, n_arrivals))
    departures = np.ceil(arrivals / step) * step
    return departures - arrivals + step


def simulate_loaded_mean_latency(rng: np.random.Generator, load: float, capacity: int,
                                 n_trains: int) -> float:
    """Mean latency, in step intervals, when each train holds at most ``capacity`` requests.

    Poisson arrivals at ``load x capacity`` per interval; first come, first served. A request
    waits for the next departure (half an interval on average), then one more interval for every
    full train that leaves without it, then rides one. The backlog after departure k is
    ``Q_k = max(Q_{k-1} + A_k - capacity, 0)``; every request in it misses one train.
    """
    counts = rng.poisson(load * capacity, n_trains)
    backlog, missed = 0, 0
    for a in counts.tolist():
        backlog = max(backlog + a - capacity, 0)
        missed += backlog
    phases = rng.random(int(counts.sum()))          # arrival phase within its interval
    return float(np.mean(1 - phases) + missed / counts.sum() + 1)


# --- catalog-wide sweep: chapter 2's hardware-dependent headlines for any accelerator ----------
def _drain_s(acc) -> float:
    return acc.hbm_capacity / acc.hbm_bandwidth


def _lecture_batch() -> float:
    from . import claims
    return claims.get("RP-10").value("batch")


SWEEP = {
    "drain_ms": ("ms", "HBM capacity / HBM bandwidth (capacity as catalogued)",
                 lambda acc: 1e3 * _drain_s(acc)),
    "worst_case_latency_ms": ("ms", "wait one train, ride one: 2 x drain time",
                              lambda acc: 2e3 * _drain_s(acc)),
    "max_tokens_per_s_per_sequence": ("tokens/s", "1 / drain time: full-HBM per-sequence speed",
                                      lambda acc: 1 / _drain_s(acc)),
    "replica_tokens_per_s": ("tokens/s", "2,000 sequences per step, one step per drain time",
                             lambda acc: _lecture_batch() / _drain_s(acc)),
}
