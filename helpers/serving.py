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

import heapq
import math

import numpy as np
import sympy as sp

from . import catalog, formulas as f, parallelism as par, units as U
from .registry import Headline, claimed, const, derived, field, hw, hw_other

# --- symbols -------------------------------------------------------------------------------
# One symbol, one meaning, book-wide: B (sequences in a decode step) and W (HBM bandwidth) are
# helpers.formulas'; C_HBM is chapter 1's (helpers.roofline) and M_w chapter 4's
# (helpers.pricing). They are the same SymPy symbols (same name and assumptions), defined in
# those modules' SYMBOL_MEANING and not again here.
B, W = f.B, f.W
C = sp.Symbol(r"C_\mathrm{HBM}", positive=True)         # HBM capacity of one accelerator, bytes
T = sp.Symbol("T", positive=True)                       # step interval (departure spacing), s
u = sp.Symbol("u", nonnegative=True)                    # arrival time after the last departure
phi = sp.Symbol(r"\phi", positive=True)                 # share of HBM read in each step
n_out = sp.Symbol(r"n_\mathrm{out}", positive=True)     # tokens generated per request
lam = sp.Symbol(r"\lambda", positive=True)              # request arrival rate, 1/s
M = sp.Symbol(r"M_\mathrm{w}", positive=True)           # weight bytes (all read each step)
m = sp.Symbol(r"m_\mathrm{kv}", positive=True)          # KV bytes read per sequence per step
B_n = sp.Symbol(r"B_\mathrm{n}", positive=True)         # normal-mode batch
B_f = sp.Symbol(r"B_\mathrm{f}", positive=True)         # fast-mode batch
p = sp.Symbol("p", positive=True)                       # price ratio fast / normal, per token
r = sp.Symbol(r"r_\mathrm{v}", positive=True)           # speed ratio fast / normal, tokens/s
x = sp.Symbol("x", positive=True)                       # KV share of a normal-mode step
v = sp.Symbol(r"v_\mathrm{SLA}", positive=True)         # promised speed per sequence, tokens/s
eta = sp.Symbol(r"\eta_\mathrm{HBM}", positive=True)    # achieved / datasheet HBM bandwidth
n_chips = sp.Symbol(r"n_\mathrm{chips}", positive=True)  # accelerators in one replica
rho = sp.Symbol(r"\rho_\mathrm{load}", positive=True)   # busy seats / seats, on average
beta = sp.Symbol(r"\beta_\mathrm{HW}", positive=True)   # spare seats in standard deviations
j = sp.Symbol("j", positive=True, integer=True)         # service periods of the queue's walk
G = sp.Symbol(r"G_\mathrm{API}", positive=True)         # Gemini API tokens per second

SYMBOL_MEANING = {
    T: "step interval: time between departures of decode steps",
    u: "arrival time of a request after the previous departure",
    phi: "share of the HBM capacity read in each step",
    n_out: "tokens generated per request (seat held for n_out steps)",
    lam: "request arrival rate",
    m: "KV-cache bytes read per sequence per step",
    B_n: "normal-mode batch, sequences",
    B_f: "fast-mode batch, sequences",
    p: "price ratio fast / normal mode, per output token",
    r: "speed ratio fast / normal mode, output tokens/s per sequence",
    x: "share of a normal-mode step spent reading KV cache",
    v: "output speed per sequence a service promises, tokens/s",
    eta: "achieved HBM bandwidth / datasheet HBM bandwidth",
    n_chips: "accelerators in one serving replica",
    rho: "load: average seats in use / seats (lambda n_out T / B)",
    beta: "spare seats per train in standard deviations of demand, (1 - rho) sqrt(B / rho)",
    j: "number of service periods (n_out steps each) in the queue's random walk",
    G: "Gemini API tokens per second (Google's direct-API count)",
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


# --- the loaded train under continuous batching (RP-8) ---------------------------------------
# A request holds its seat for its whole output: it boards a departure and rides n_out steps.
# Little's law on the seats: busy seats = lam x n_out T, so the load is
load_of_rate = lam * n_out * T / B
# Embedded chain (Crommelin's for M/D/c): count the requests in the system (on board or queued)
# at departure k. Everyone on board then has left n_out departures later; everyone queued is
# still there; and the arrivals of the n_out intervals in between have joined, so
#   N(k + n_out) = max(N(k) - B, 0) + A,   A ~ Poisson(rho B).
# V = N - B is a Lindley random walk with steps A - B: mean -(1 - rho) B, sd sqrt(rho B). In
# standard deviations the steps are ~ Normal(-beta, 1) (the many-seat, Halfin-Whitt regime):
beta_of_load = (1 - rho) * sp.sqrt(B / rho)
# Spitzer's identities for the walk's maximum Mx (the stationary queue, in sd):
#   P(Mx = 0) = exp(-sum_j P(S_j > 0) / j),  E[Mx] = sum_j E[S_j^+] / j,  S_j ~ Normal(-j beta, j)
_tail = sp.erfc(beta * sp.sqrt(j) / sp.sqrt(2)) / 2                     # P(S_j > 0)
_dens = sp.exp(-beta**2 * j / 2) / sp.sqrt(2 * sp.pi)                   # pdf at beta sqrt(j)
share_full_trains = 1 - sp.exp(-sp.Sum(_tail / j, (j, 1, sp.oo)))        # P(a train is full)
queue_in_sd = sp.Sum(_dens / sp.sqrt(j) - beta * _tail, (j, 1, sp.oo))   # E[queue] / sd
# Little's law on the queue: each queued request waits one more interval per departure it
# misses, so the mean extra wait is E[queue] / (arrivals per interval) = n_out E[Mx] sd / (rho B)
mean_latency_loaded = mean_latency / T + n_out * queue_in_sd / sp.sqrt(rho * B)
# Exponential output lengths instead (M/M/c): Halfin and Whitt's delay probability
halfin_whitt_delay = 1 / (1 + beta * (1 - sp.erfc(beta / sp.sqrt(2)) / 2)
                          / (sp.exp(-beta**2 / 2) / sp.sqrt(2 * sp.pi)))

_tail_fn = sp.lambdify((beta, j), _tail / j, "math")
_excess_fn = sp.lambdify((beta, j), _dens / sp.sqrt(j) - beta * _tail, "math")


def queue_sums(b: float) -> tuple[float, float]:
    """(P(train full), E[queue] / sd) for spare seats ``b`` = beta: the two Spitzer sums, to a
    term below 1e-17 (the terms fall like exp(-b^2 j / 2))."""
    terms = int(90 / b**2) + 200
    full = 1 - math.exp(-math.fsum(_tail_fn(b, k) for k in range(1, terms)))
    return full, math.fsum(_excess_fn(b, k) for k in range(1, terms))


def loaded_train(load: float, seats: float, tokens_out: float) -> dict[str, float]:
    """The M/D/c (many-seat limit) answer for a train of ``seats`` seats at ``load``, every
    request holding its seat ``tokens_out`` steps: spare seats beta, P(a train is full), the mean
    latency to the first token in step intervals, and Halfin-Whitt's M/M/c delay probability."""
    b = f.evaluate(beta_of_load, {rho: load, B: seats})
    full, excess = queue_sums(b)
    mean = 1.5 + tokens_out * excess / math.sqrt(load * seats)
    hw = f.evaluate(halfin_whitt_delay, {beta: b})
    return {"beta": b, "share_full": full, "mean_latency": mean, "halfin_whitt": hw}


def load_for_share_full(share: float, seats: float) -> float:
    """The load at which a share ``share`` of trains leave full (bisection on P(train full)):
    below it, at least 1 - share of requests board the first train."""
    lo, hi = 0.5, 1 - 1e-9
    for _ in range(100):
        mid = (lo + hi) / 2
        full = queue_sums(f.evaluate(beta_of_load, {rho: mid, B: seats}))[0]
        lo, hi = (mid, hi) if full < share else (lo, mid)
    return (lo + hi) / 2


BURN_IN_SHARE = 0.1          # of a run's requests, dropped: the replica starts empty


def continuous_batching(times: np.ndarray, seats: int, tokens_out: int,
                        end: int) -> tuple[np.ndarray, np.ndarray]:
    """Boarding departure and latency of each request, given sorted arrival ``times`` (in step
    intervals, all before ``end``), for a replica that departs at t = 1, 2, ... with ``seats``
    seats, each request holding its seat for ``tokens_out`` departures.

    First come, first served: at each departure the seats freed by requests that finished fill
    from the queue. A request arriving in interval (k, k + 1) can first board departure k + 1;
    it waits for its boarding departure, then rides one step before its first token. Departures
    continue until the queue is empty: under FIFO no later arrival changes an earlier request's
    boarding. Returns (departure index boarded minus the first it could board, latency).
    """
    counts = np.bincount(times.astype(np.int64), minlength=end).tolist()
    admitted, busy, queue, k = [], 0, 0, 0
    while k < end or queue:                        # departure k + 1 serves interval (k, k + 1)
        if k >= tokens_out:
            busy -= admitted[k - tokens_out]
        queue += counts[k] if k < end else 0
        a = min(queue, seats - busy)
        admitted.append(a)
        busy += a
        queue -= a
        k += 1
    board = np.searchsorted(np.cumsum(admitted), np.arange(1, times.size + 1))  # FIFO order
    latency = (board + 1 - times) + 1             # wait for the boarding departure, ride one
    return board - np.floor(times).astype(np.int64), latency


def simulate_continuous_batching(rng: np.random.Generator, load: float, seats: int,
                                 tokens_out: int, n_intervals: int,
                                 burn_in: int) -> tuple[np.ndarray, np.ndarray]:
    """Latency to the first token (step intervals) and trains missed, for every request that
    arrives in intervals [burn_in, burn_in + n_intervals) of :func:`continuous_batching`, with
    Poisson arrivals at ``load x seats / tokens_out`` per interval (the load by Little's law)."""
    rate = load * seats / tokens_out
    end = burn_in + n_intervals
    n_draw = int(rate * end + 12 * math.sqrt(rate * end) + 100)
    times = np.cumsum(rng.exponential(1 / rate, n_draw))
    assert times[-1] > end, "too few arrivals drawn"
    times = times[times < end]
    missed, latency = continuous_batching(times, seats, tokens_out, end)
    keep = times >= burn_in
    return latency[keep], missed[keep]


def board_fixed(times: np.ndarray, seats: int, tokens_out: int) -> np.ndarray:
    """Departure index (0-based: departure k + 1 serves interval (k, k + 1)) each request
    boards, for sorted arrival ``times`` in step intervals, when every request holds its seat
    ``tokens_out`` departures. First come, first served with equal holding times means the n-th
    request takes the seat the (n - B)-th frees (the Kiefer-Wolfowitz recursion with equal
    service): board_n = max(floor(t_n), board_{n-B} + n_out). Block n depends only on block
    n - B, so the recursion runs B requests at a time; it equals :func:`continuous_batching`."""
    first = np.floor(times).astype(np.int64)
    board = first.copy()
    for s in range(seats, times.size, seats):
        e = min(s + seats, times.size)
        np.maximum(first[s:e], board[s - seats:e - seats] + tokens_out, out=board[s:e])
    return board


def board_variable(times: np.ndarray, seats: int, lengths: np.ndarray) -> np.ndarray:
    """The same boarding when request n holds its seat ``lengths[n]`` departures: first come,
    first served, each request takes the seat that frees first (a heap of seat-free indices)."""
    first = np.floor(times).astype(np.int64).tolist()
    heap, out, replace = [0] * seats, [], heapq.heapreplace
    for f0, n in zip(first, lengths.tolist()):
        free = heap[0]
        b = f0 if f0 > free else free
        replace(heap, b + n)
        out.append(b)
    return np.array(out, dtype=np.int64)


def simulate_loaded(rng: np.random.Generator, load: float, seats: int, tokens_out: float,
                    n_requests: int, lengths: np.ndarray | None = None,
                    burn_in: float = BURN_IN_SHARE) -> tuple[np.ndarray, np.ndarray]:
    """Latency to the first token (step intervals) and trains missed for ``n_requests``
    Poisson arrivals at ``load x seats / tokens_out`` per interval (``tokens_out`` the mean
    holding time), the first ``burn_in`` share dropped (the replica starts empty). Seats are
    held ``tokens_out`` steps each, or ``lengths[n]`` when given."""
    times = np.cumsum(rng.exponential(tokens_out / (load * seats), n_requests))
    board = (board_fixed(times, seats, int(tokens_out)) if lengths is None
             else board_variable(times, seats, lengths))
    keep = slice(int(burn_in * n_requests), None)
    latency = board + 2 - times                    # wait for the boarding departure, ride one
    return latency[keep], (board - np.floor(times).astype(np.int64))[keep]


def student_t_quantile(p: float, dof: int) -> float:
    """Quantile of Student's t (for a confidence interval over independent replications):
    the root of the regularised incomplete beta form of its distribution function."""
    import mpmath

    def cdf_minus_p(t):
        return 1 - mpmath.betainc(dof / 2, 0.5, 0, dof / (dof + t * t), regularized=True) / 2 - p
    return float(mpmath.findroot(cdf_minus_p, 2.0))


def replicated_quantile(samples: list[np.ndarray], q: float,
                        level: float = 0.95) -> dict[str, float]:
    """A quantile from independent replications: the pooled sample's quantile, and a
    confidence half-width from the spread of the replications' own quantiles (t interval)."""
    per_rep = np.array([np.quantile(s, q) for s in samples])
    half = (student_t_quantile(0.5 + level / 2, per_rep.size - 1)
            * per_rep.std(ddof=1) / math.sqrt(per_rep.size))
    return {"pooled": float(np.quantile(np.concatenate(samples), q)),
            "mean_of_reps": float(per_rep.mean()), "half_width": float(half)}


# a log-normal output length with a given median and mean (a heavy-tailed trace's two numbers)
_mu, _sigma, _median, _mean = sp.symbols("mu sigma median mean", positive=True)
(_lognormal_fit,) = sp.solve([sp.Eq(sp.exp(_mu), _median),
                              sp.Eq(sp.exp(_mu + _sigma**2 / 2), _mean)], [_mu, _sigma],
                             dict=True)
lognormal_mu, lognormal_sigma = _lognormal_fit[_mu], _lognormal_fit[_sigma]
lognormal_quantile = sp.exp(_mu + _sigma * sp.sqrt(2) * sp.erfinv(2 * sp.Symbol("q") - 1))


def lognormal_lengths(rng: np.random.Generator, median: float, mean: float,
                      n: int) -> np.ndarray:
    """Whole output lengths (at least one token) from the log-normal with that median and mean."""
    mu = float(lognormal_mu.subs(_median, median))
    sigma = float(lognormal_sigma.subs({_median: median, _mean: mean}))
    return np.maximum(1, np.rint(rng.lognormal(mu, sigma, n))).astype(np.int64)


def range_verdict(claimed: float, low: float, high: float, band) -> str:
    """A claim set against a derived *range* [low, high]: "holds" only when both ends are within
    the band's "holds" reach of the claim; otherwise the verdict at the end nearer the claim
    (none when the claim lies inside), at best "holds with caveat": the evidence is consistent
    with the claim but does not pin it down."""
    from .verdicts import ratio_verdict
    ends = {ratio_verdict(claimed, low, band), ratio_verdict(claimed, high, band)}
    if ends == {"holds"}:
        return "holds"
    if low <= claimed <= high:
        return "holds with caveat"
    near = ratio_verdict(claimed, low if claimed < low else high, band)
    return "holds with caveat" if near == "holds" else near


def bound_verdict(floor: float, observed: float) -> str:
    """A claimed lower bound against what is observed: violated, "does not follow"; respected
    and binding (observed within the "holds" band of it), "holds"; respected with room to spare,
    "holds with caveat" (a valid floor that does not set the time)."""
    from .verdicts import HOLDS_WITHIN
    if observed < floor:
        return "does not follow"
    return "holds" if observed <= floor * (1 + HOLDS_WITHIN) else "holds with caveat"


def batch_means_error(x: np.ndarray, n_batches: int = 20) -> float:
    """Standard error of the mean of a correlated series by batch means (contiguous batches)."""
    means = np.array([b.mean() for b in np.array_split(x, n_batches)])
    return float(means.std(ddof=1) / math.sqrt(n_batches))


# --- the headlines: each quantity the chapter publishes, bound to catalog fields ----------------
MS_PER_S = 1000
EXERCISE_RESPONSE_TOKENS = 500
# the fast-mode exercise's two readings of the KV share of a normal step
EXERCISE_KV_SHARE_HIGH, EXERCISE_KV_SHARE_LOW = 0.9, 0.4

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


# --- usable bytes and achievable rates (catalog "achievable", per accelerator) -------------------
# A step reads what the driver exposes (nvidia-smi's MiB), at the bandwidth a real kernel
# sustains, a share eta of the datasheet peak: the drain time becomes C_usable / (eta W).
achievable_drain_time = C / (eta * W)


def _achievable(acc: catalog.Entry) -> catalog.Entry:
    """The part's entry in the achievable catalog; AttributeError when it has none (the sweep
    then shows no value, as for a field a part lacks)."""
    entries = catalog.load("achievable")
    if acc.key not in entries:
        raise AttributeError(f"no achievable-rate entry for '{acc.key}'")
    return entries[acc.key]


def _usable_drain_ms(acc: catalog.Entry) -> float:
    """Usable capacity (nvidia-smi) / datasheet bandwidth, ms."""
    return MS_PER_S * f.evaluate(drain_time, {C: _achievable(acc).usable_hbm_capacity,
                                              W: acc.hbm_bandwidth})


def _achievable_drain_ms(acc: catalog.Entry) -> float:
    """Usable capacity / achieved bandwidth, ms."""
    e = _achievable(acc)
    return MS_PER_S * f.evaluate(achievable_drain_time, {
        C: e.usable_hbm_capacity, eta: e.hbm_bandwidth_fraction, W: acc.hbm_bandwidth})


# --- the per-token floor of a real replica (RP-9) ------------------------------------------------
# A step reads what is resident and needed: the weights and the batch's caches, spread over the
# replica's chips, never more than their HBM. At 2,000 sequences every expert is touched.
resident_bytes = sp.Min(f.N_tot * f.b_w + B * f.L * f.b_kv, n_chips * C)
replica_token_floor = resident_bytes / (n_chips * W)
# the sequences of context L whose caches fit beside the weights
replica_max_sequences = sp.floor((n_chips * C - f.N_tot * f.b_w) / (f.L * f.b_kv))
CONTEXT_32K = 32768
REPLICA_HEADROOM = 2          # chapter 1's replica: HBM for the BF16 weights twice over
BF16_BYTES, FP8_BYTES = 2, 1
# chapter 1's replica rule (helpers.roofline.replica_chips): the smallest power of two
_h = sp.Symbol(r"h_\mathrm{HBM}", positive=True)
chapter1_replica_chips = 2 ** sp.ceiling(sp.log(_h * BF16_BYTES * f.N_tot / C, 2))


def chapter1_replica_size(acc: catalog.Entry) -> int:
    """Chips in chapter 1's DeepSeek-V3 replica built from ``acc``."""
    return int(f.evaluate(chapter1_replica_chips, {
        _h: REPLICA_HEADROOM, f.N_tot: catalog.models()["deepseek_v3"].total_params,
        C: acc.hbm_capacity}))


# --- the Gemini API denominator (RP-10) -----------------------------------------------------------
SECONDS_PER_MINUTE = U.to_si(1, "min")
_per_minute = sp.Symbol(r"G_\mathrm{min}", positive=True)    # tokens per minute, as announced
api_rate = _per_minute / SECONDS_PER_MINUTE
replica_share_of_api = (B * W / C) / G                    # B / T with T = C / W, over G
GEMINI_API_LATEST = "google_api_2026_02"                   # the latest count before the lecture

# --- DeepSeek's production decode unit (RP-9): the floor against a measured per-token time -------
# EP144/DP144: every GPU holds the attention, shared experts and dense layers (replicated) and
# e_GPU routed experts of each MoE layer; its sequences are the node's decode rate / (GPUs x the
# per-user speed). FP8 weights, BF16 MLA cache (as in the chapter's other floors).
e_gpu = sp.Symbol(r"e_\mathrm{GPU}", positive=True)      # routed experts one GPU holds per layer
# one symbol, one meaning: P_e, E and n_moe are chapter 6's (helpers.parallelism)
P_e = par.P_e                                          # parameters of one routed expert
L_moe = par.n_moe                                      # MoE layers
E_r = par.E                                            # routed experts per MoE layer
R_node = sp.Symbol(r"R_\mathrm{node}", positive=True)    # decode tokens/s of one node
g_node = sp.Symbol(r"g_\mathrm{node}", positive=True)    # GPUs per node
v_user = sp.Symbol(r"v_\mathrm{user}", positive=True)    # output tokens/s one user sees
tau_a2a = sp.Symbol(r"\tau_\mathrm{a2a}", positive=True)  # dispatch + combine of one MoE layer
SYMBOL_MEANING.update({
    e_gpu: "routed experts one GPU holds per MoE layer (DeepSeek's decode unit)",
    R_node: "decode output tokens/s of one 8-GPU node",
    g_node: "GPUs per node", v_user: "output tokens/s one user sees",
    tau_a2a: "measured dispatch + combine time of one MoE layer's all-to-all"})
weights_per_gpu = (f.N_tot - L_moe * E_r * P_e + L_moe * e_gpu * P_e) * f.b_w
sequences_per_gpu = R_node / (g_node * v_user)
service_bytes_per_gpu = weights_per_gpu + sequences_per_gpu * f.L * f.b_kv
service_token_floor = service_bytes_per_gpu / W
service_comm_per_token = L_moe * tau_a2a               # the all-to-alls of one step, unhidden


def _deepseek_online():
    return catalog.load("moe_rack")["deepseek_online_service"]


def _deepseek_expert_params() -> float:
    from .parallelism import expert_size
    return expert_size(catalog.models()["deepseek_v3"])


def _deepseek_user_speed() -> float:
    """Midpoint of the service's reported 20-22 tokens/s."""
    e = _deepseek_online()
    return (e.output_speed_low + e.output_speed_high) / 2


_SERVICE = {f.N_tot: field("models", "deepseek_v3", "total_params"),
            f.b_w: const(FP8_BYTES, "bytes per FP8 weight (DeepSeek's service)"),
            L_moe: derived(lambda: catalog.models()["deepseek_v3"].n_layers
                           - catalog.models()["deepseek_v3"].n_dense_layers,
                           "DeepSeek-V3 MoE layers: layers - dense layers"),
            E_r: field("models", "deepseek_v3", "routed_experts"),
            P_e: derived(_deepseek_expert_params, "one routed expert: 3 x hidden x moe_inter_dim"),
            e_gpu: field("usage", "deepseek_v3_r1_service_2025_02", "routed_experts_per_gpu"),
            W: hw("hbm_bandwidth")}
_SERVICE_KV = {R_node: field("usage", "deepseek_v3_r1_service_2025_02",
                             "decode_tokens_per_node"),
               g_node: field("usage", "deepseek_v3_r1_service_2025_02", "gpus_per_node"),
               v_user: derived(_deepseek_user_speed, "midpoint of 20-22 tokens/s per user"),
               f.L: field("moe_rack", "deepseek_online_service", "mean_context"),
               f.b_kv: derived(_deepseek_v3_kv_bytes_per_token,
                               "DeepSeek-V3 MLA cache bytes per token, BF16")}

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

_DS = {f.N_tot: field("models", "deepseek_v3", "total_params"),
       f.b_kv: derived(_deepseek_v3_kv_bytes_per_token,
                       "DeepSeek-V3 MLA cache bytes per token, BF16"),
       f.L: const(CONTEXT_32K, "a 32K context"), B: claimed("RP-10", "batch")}
_CH1_REPLICA = {**_HBM, **_DS, f.b_w: const(BF16_BYTES, "bytes per BF16 weight (chapter 1)"),
                _h: const(REPLICA_HEADROOM, "replica HBM: the BF16 weights twice over")}
_DOMAIN = {**_HBM, **_DS, f.b_w: const(FP8_BYTES, "bytes per FP8 weight (DeepSeek's release)"),
           n_chips: hw("scale_up_domain")}
_API = {G: derived(lambda: f.evaluate(api_rate, {_per_minute: catalog.load("usage")[
    GEMINI_API_LATEST].tokens_per_minute}), "Gemini API tokens/s, latest count before the lecture")}
_RUBIN_EXAMPLE = {C: claimed("RP-7", "rubin_capacity"), W: claimed("RP-7", "rubin_bandwidth"),
                  **_BATCH}

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
    # usable bytes and achievable bandwidth (RP-7, RP-9): parts with an achievable-catalog entry
    Headline("usable_drain_ms", "ms",
             "usable HBM capacity (nvidia-smi) / datasheet HBM bandwidth", fn=_usable_drain_ms,
             why="reads the part's own entry in the achievable catalog, which few parts have",
             claims=("RP-7",)),
    Headline("achievable_drain_ms", "ms",
             "usable HBM capacity / achieved HBM bandwidth (a measured share of the peak)",
             fn=_achievable_drain_ms,
             why="reads the part's own entry in the achievable catalog, which few parts have",
             claims=("RP-7", "RP-9")),
    # the floor of a real replica (RP-9): DeepSeek-V3, the lecture's 2,000 sequences at 32K
    Headline("deepseek_v3_token_floor_ms_replica", "ms",
             "per-token floor of chapter 1's replica (smallest power of two holding the BF16 "
             "weights twice over): BF16 weights + 2,000 BF16 MLA caches at 32K, at most its HBM, "
             "read once per step", MS_PER_S * replica_token_floor.subs(
                 n_chips, chapter1_replica_chips), _CH1_REPLICA, claims=("RP-9",)),
    Headline("deepseek_v3_replica_sequences_32k", "sequences",
             "32K-token DeepSeek-V3 sequences whose BF16 MLA caches fit beside the BF16 weights "
             "in chapter 1's replica", replica_max_sequences.subs(n_chips, chapter1_replica_chips),
             _CH1_REPLICA, claims=("RP-9",), fmt="integer"),
    Headline("deepseek_v3_token_floor_ms_domain", "ms",
             "per-token floor of one scale-up domain serving DeepSeek-V3 FP8 weights + 2,000 "
             "BF16 MLA caches at 32K (at most its HBM), read once per step",
             MS_PER_S * replica_token_floor, _DOMAIN, claims=("RP-9",)),
    Headline("deepseek_v3_weight_floor_ms_replica", "ms",
             "weights-only per-token floor of chapter 1's replica: the BF16 weights read once "
             "per step (the smallest batch)", MS_PER_S * (f.N_tot * f.b_w / (n_chips * W)).subs(
                 n_chips, chapter1_replica_chips), _CH1_REPLICA, claims=("RP-9", "RP-11")),
    Headline("deepseek_service_weight_floor_ms", "ms",
             "weights-only per-token floor of one GPU of DeepSeek's decode unit (EP144: "
             "replicated attention and shared parts + 2 routed experts per layer, FP8)",
             MS_PER_S * weights_per_gpu / W, _SERVICE, claims=("RP-9",)),
    Headline("deepseek_service_token_floor_ms", "ms",
             "per-token floor of one GPU of DeepSeek's decode unit: its weights and the BF16 "
             "MLA caches of its sequences at the service's mean context, read once per step",
             MS_PER_S * service_token_floor, {**_SERVICE, **_SERVICE_KV}, claims=("RP-9",)),
    Headline("trains_per_s", "1/s", "departures per second with one step per drain time",
             W / C, _HBM, claims=("RP-10",)),
    # the Gemini API denominator (RP-10)
    Headline("gemini_api_tokens_per_s", "tokens/s",
             "Gemini API tokens per second: Google's latest direct-API count before the lecture "
             "(tokens per minute / 60)", G, _API, claims=("RP-10",), fmt="millions"),
    Headline("replica_share_of_gemini_api", "fraction",
             "one replica (2,000 sequences, one step per drain time) / Gemini API tokens per "
             "second", replica_share_of_api, {**_HBM, **_BATCH, **_API}, claims=("RP-10",),
             fmt="reciprocal"),
    Headline("lecture_replica_share_of_gemini_api", "fraction",
             "the lecture's 128,000 tokens/s / Gemini API tokens per second",
             B / G, {B: claimed("RP-10", "replica_tokens_per_s"), **_API}, claims=("RP-10",),
             fmt="reciprocal"),
    Headline("lecture_rubin_replica_tokens_per_s", "tokens/s",
             "the lecture's Rubin example as a replica: 2,000 sequences per 288 GB / 20 TB/s step",
             full_hbm_replica_tokens_per_s, _RUBIN_EXAMPLE, claims=("RP-10",), fmt="integer"),
    Headline("lecture_rubin_replica_share_of_gemini_api", "fraction",
             "the lecture's Rubin-example replica / Gemini API tokens per second",
             replica_share_of_api, {**_RUBIN_EXAMPLE, **_API}, claims=("RP-10",),
             fmt="reciprocal"),
    Headline("ex_ch2_price_at_90", "ratio",
             "exercise: price ratio for 2.5x speed when KV is 90 % of a step",
             fast_price_from_share,
             {x: const(EXERCISE_KV_SHARE_HIGH, "the exercise's KV share of a normal step"),
              r: _FAST[r]}),
]
