"""Chapter 2 formulas: HBM drain time, the train schedule, replica throughput, Little's law and
the memory-bound step model behind "fast mode" prices.

Conventions (as in :mod:`helpers.formulas`): ``B`` counts sequences in a decode step, each
gets one token per step; bandwidths are bytes/s. The *step interval* ``T`` is the time between
departures of decode steps ("trains"); a request that arrives boards the next departure.
The chapter derives each expression on the page and asserts that it equals the one here; the
headlines it publishes are bound to catalog fields at the end (``HEADLINES``), so the chapter,
the sweep, the re-run comparison and the tests all read one definition.
"""
from __future__ import annotations

import numpy as np
import sympy as sp

from . import catalog, formulas as f, units as U
from .registry import Headline, claimed, const, derived, field, hw, hw_other

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
v = sp.Symbol(r"v_\mathrm{SLA}", positive=True)         # promised speed per sequence, tokens/s

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
    v: "output speed per sequence a service promises, tokens/s",
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
# the largest share of HBM a step may read and still give each sequence v tokens/s
max_share_for_speed = sp.solve(sp.Eq(max_tokens_per_s_per_sequence, v), phi)[0]   # W / (v C)

# --- the train schedule (RP-8) --------------------------------------------------------------
# An arrival at phase u in [0, T) waits T - u for the next departure, then rides one step.
latency_at_phase = (T - u) + T
worst_case_latency = sp.limit(latency_at_phase, u, 0)            # sup over u -> 0
mean_latency = sp.integrate(latency_at_phase, (u, 0, T)) / T     # Poisson arrivals: u uniform


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
# the context L at which a normal batch spends the share x of its step on KV reads (weights
# M = N_tot b_w, KV per sequence m = L b_kv)
(context_for_kv_share,) = sp.solve(
    sp.Eq(x, (B_n * m / (M + B_n * m)).subs({M: f.N_tot * f.b_w, m: f.L * f.b_kv})), f.L)


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


# --- the headlines: each quantity the chapter publishes, bound to catalog fields ----------------
MS_PER_S = 1000
EXERCISE_RESPONSE_TOKENS = 500

drain_ms = MS_PER_S * drain_time
worst_case_latency_ms = MS_PER_S * worst_case_latency.subs(T, drain_time)
mean_latency_ms = MS_PER_S * mean_latency.subs(T, drain_time)
# a full HBM read every step: the step is the drain time
full_hbm_tokens_per_s_per_sequence = max_tokens_per_s_per_sequence.subs(phi, 1)
full_hbm_replica_tokens_per_s = replica_tokens_per_s.subs(T, drain_time)
full_hbm_fill_rate = arrival_rate_to_fill.subs(T, drain_time)
requests_in_system_when_full = sp.simplify(requests_in_system.subs(lam, arrival_rate_to_fill))


def _opus_4_8_fast_price_ratio() -> float:
    """Claude Opus 4.8 fast mode's output price / Claude Opus 4.6's standard output price."""
    prices = catalog.prices()
    return prices["claude_opus_4_8_fast"].output / prices["claude_opus_4_6"].output


def _deepseek_v3_kv_bytes_per_token() -> float:
    """DeepSeek-V3's MLA cache bytes per token of context, all layers, BF16."""
    return f.kv_bytes_per_token(catalog.models()["deepseek_v3"], bytes_per_element=2)


_HBM = {C: hw("hbm_capacity"), W: hw("hbm_bandwidth")}
_BATCH = {B: claimed("RP-10", "batch")}
_EXERCISE = {n_out: const(EXERCISE_RESPONSE_TOKENS, "the exercise's response length, tokens")}
# fast mode: the claim's price and speed ratios (Opus 4.6's sheet), and Opus 4.8's 2x sheet at
# the same "up to 2.5x" speed-up
_FAST = {p: claimed("RP-11", "price_ratio"), r: claimed("RP-11", "speed_ratio")}
_FAST_2X = {p: derived(_opus_4_8_fast_price_ratio,
                       "Claude Opus 4.8 fast / Claude Opus 4.6 output price"),
            r: field("usage", "anthropic_fast_mode_opus_4_6", "speedup")}
_DEEPSEEK_V3 = {f.N_tot: field("models", "deepseek_v3", "total_params"),
                f.b_w: const(1, "bytes per FP8 weight"),
                f.b_kv: derived(_deepseek_v3_kv_bytes_per_token,
                                "DeepSeek-V3 MLA cache bytes per token, BF16"),
                B_n: claimed("RP-10", "batch")}

HEADLINES = [
    Headline("drain_ms", "ms", "HBM capacity (as catalogued) / HBM bandwidth", drain_ms, _HBM,
             claims=("RP-7",)),
    Headline("drain_ms_other_reading", "ms",
             "HBM capacity re-read in its other unit (GB <-> GiB) / HBM bandwidth",
             drain_ms, {C: hw_other("hbm_capacity"), W: hw("hbm_bandwidth")},
             claims=("RP-7",)),
    Headline("max_tokens_per_s_per_sequence", "tokens/s",
             "per-sequence speed limit with the whole HBM read each step",
             full_hbm_tokens_per_s_per_sequence, _HBM, claims=("RP-9",)),
    Headline("sla_max_hbm_share", "fraction",
             "largest share of HBM a step may read and still give each sequence the speed "
             "OpenAI's priority tier promises", max_share_for_speed,
             {**_HBM, v: field("usage", "openai_fast_mode", "min_output_speed")},
             claims=("RP-9",), fmt="pct"),
    Headline("worst_case_latency_ms", "ms", "worst-case latency with a step of one drain time",
             worst_case_latency_ms, _HBM, claims=("RP-8",)),
    Headline("mean_latency_ms", "ms", "mean latency with a step of one drain time",
             mean_latency_ms, _HBM, claims=("RP-8",)),
    Headline("replica_tokens_per_s", "tokens/s",
             "the lecture's 2,000 sequences per step, one step per drain time",
             full_hbm_replica_tokens_per_s, {**_HBM, **_BATCH}, claims=("RP-10",),
             fmt="integer"),
    Headline("ex_ch2_little_rate", "requests/s",
             "exercise: requests/s that fill 2,000 seats with 500-token responses, one step per "
             "drain time", full_hbm_fill_rate, {**_HBM, **_BATCH, **_EXERCISE}),
    Headline("ex_ch2_little_in_system", "requests",
             "exercise: requests in the system, waiting included (any step interval)",
             requests_in_system_when_full, {**_BATCH, **_EXERCISE}, fmt="integer"),
    Headline("ex_ch2_little_waiting", "requests",
             "exercise: requests waiting for a departure (any step interval)",
             requests_in_system_when_full - B, {**_BATCH, **_EXERCISE}),
    # fast mode (RP-11): price sheets and claims only, the same on every accelerator
    Headline("fast_mode_batch_ratio", "ratio",
             "normal-mode batch / fast-mode batch for 6x price and 2.5x speed (memory-bound step)",
             fast_batch_ratio, _FAST, claims=("RP-11",), fmt="integer"),
    Headline("fast_mode_kv_share", "fraction",
             "share of a normal-mode step spent reading KV cache, for 6x price and 2.5x speed",
             fast_kv_share, _FAST, claims=("RP-11",), fmt="pct"),
    Headline("fast_mode_min_kv_share", "fraction",
             "smallest KV share of a normal step for which a smaller batch can be 2.5x faster",
             fast_min_kv_share, {r: _FAST[r]}, claims=("RP-11",), fmt="pct"),
    Headline("fast_mode_2x_batch_ratio", "ratio",
             "normal / fast batch for Opus 4.8 fast mode (2x price, 2.5x speed)",
             fast_batch_ratio, _FAST_2X, claims=("RP-11",), fmt="integer"),
    Headline("fast_mode_2x_kv_share", "fraction",
             "KV share of a normal step implied by 2x price for 2.5x speed",
             fast_kv_share, _FAST_2X, claims=("RP-11",), fmt="pct"),
    Headline("fast_mode_deepseek_v3_context", "tokens",
             "context at which DeepSeek-V3 (FP8 weights, BF16 MLA cache) at 2,000 sequences "
             "spends the fast-mode KV share of a step on KV reads",
             context_for_kv_share.subs(x, fast_kv_share), {**_FAST, **_DEEPSEEK_V3},
             claims=("RP-11",), fmt="integer"),
    Headline("ex_ch2_price_at_90", "ratio",
             "exercise: price ratio for 2.5x speed when KV is 90 % of a step",
             fast_price_from_share,
             {x: const(0.9, "the exercise's KV share of a normal step"), r: _FAST[r]}),
]
