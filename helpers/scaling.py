"""Scaling laws and the lifecycle compute budget (chapter 3, "100x over-training").

Conventions (stated once, used everywhere in the chapter):
* Training costs 6 FLOPs per parameter per token (forward 2, backward 4); serving costs 2 (a
  forward pass). ``N`` is the number of parameters a token touches (active parameters for an MoE).
* Losses are the Chinchilla parametric form ``L(N, D) = E_0 + A/N^alpha_N + B_D/D^beta_D`` in
  nats per token, with constants from ``helpers/catalogs/scaling_laws.yaml``. The fit's symbols
  carry subscripts so that none reuses a symbol of another chapter (``B`` is chapter 1's decode
  batch, ``E`` chapter 6's experts, ``C`` chapter 4's tier capacity); pre-training compute is
  ``C_train = 6 N D``.
* FLOPs are not dollars: a token's cost is price x FLOPs / (MFU x peak FLOP/s), and decode runs at
  a far lower MFU than training. ``chi`` is the number of served tokens that cost as much as one
  pre-training token (3 when FLOPs are cost; 3 MFU_inf / MFU_train on one chip at one price).

Everything symbolic is a plain SymPy expression so that a chapter can derive it on the page and
assert that its derivation equals the one here. The chapter's hardware-dependent headlines (the
GPU-hours Llama 3's runs would take on the run's accelerator at the MFU their H100 hours imply)
are ``HEADLINES``, read by the chapter, the sweep, re-runs and the tests.
"""
from __future__ import annotations

import numpy as np
import sympy as sp

from . import catalog, formulas as f
from .formulas import evaluate  # float(expr.subs(values)), compiled once per expression
from .registry import Headline, field, hw

# --- symbols -------------------------------------------------------------------------------
N = sp.Symbol("N", positive=True)                        # parameters (active, for an MoE)
D = sp.Symbol("D", positive=True)                        # pre-training tokens
C = sp.Symbol(r"C_\mathrm{train}", positive=True)        # pre-training compute, FLOPs
E = sp.Symbol("E_0", positive=True)                      # irreducible loss
A = sp.Symbol("A", positive=True)                        # parameter-term coefficient
B = sp.Symbol("B_D", positive=True)                      # data-term coefficient
alpha = sp.Symbol(r"\alpha_N", positive=True)            # parameter exponent
beta = sp.Symbol(r"\beta_D", positive=True)              # data exponent
D_inf = sp.Symbol(r"D_\mathrm{inf}", positive=True)      # lifetime inference tokens
D_rl = sp.Symbol(r"D_\mathrm{RL}", positive=True)        # RL tokens
c_rl = sp.Symbol(r"c_\mathrm{RL}", positive=True)        # RL FLOPs per parameter per token
eta = sp.Symbol(r"\eta_\mathrm{RL}", positive=True)       # RL efficiency (useful / spent)
r = sp.Symbol(r"r_\mathrm{inf}", positive=True)          # inference compute / training compute
tau = sp.Symbol(r"\tau_\mathrm{eff}", positive=True)      # token efficiency of a new model
G_hours = sp.Symbol(r"H_\mathrm{GPU}", positive=True)    # accelerator-seconds of a run
F_peak = f.F                                             # peak dense FLOP/s (helpers.formulas)
mfu_train = sp.Symbol(r"\mathrm{MFU}_\mathrm{train}", positive=True)   # pre-training MFU
mfu_inf = sp.Symbol(r"\mathrm{MFU}_\mathrm{inf}", positive=True)       # serving (decode) MFU
q_train = sp.Symbol(r"q_\mathrm{train}", positive=True)  # price of an accelerator-second, training
q_inf = sp.Symbol(r"q_\mathrm{inf}", positive=True)      # the same, serving
chi = sp.Symbol(r"\chi", positive=True)                  # served tokens costing one trained token
R_dec = sp.Symbol(r"R_\mathrm{dec}", positive=True)      # decode tokens/s per serving node
n_gpu = sp.Symbol(r"n_\mathrm{GPU}", positive=True)      # accelerators per node
n_nodes = sp.Symbol(r"n_\mathrm{nodes}", positive=True)  # mean serving nodes over a window
T_win = sp.Symbol(r"T_\mathrm{win}", positive=True)      # the window's length, s
D_out = sp.Symbol(r"D_\mathrm{out}", positive=True)      # output tokens served in the window
D_in = sp.Symbol(r"D_\mathrm{in}", positive=True)        # input tokens served in the window
A_meta = sp.Symbol(r"A_\mathrm{L3}", positive=True)      # Meta's fit: D* = A_L3 C^a_L3
a_meta = sp.Symbol(r"a_\mathrm{L3}", positive=True)

SYMBOL_MEANING = {
    N: "parameters a token touches (active parameters)",
    D: "pre-training tokens",
    C: "pre-training compute, FLOPs (C_train = 6ND)",
    E: "irreducible loss, nats/token",
    A: "coefficient of the parameter term",
    B: "coefficient of the data term",
    alpha: "parameter exponent",
    beta: "data exponent",
    D_inf: "tokens served over the model's lifetime (input and output)",
    D_rl: "tokens generated and trained on in RL",
    c_rl: "RL FLOPs per parameter per RL token (2 to 6)",
    eta: "RL efficiency: useful FLOPs / FLOPs spent",
    r: "lifetime inference compute / pre-training compute",
    tau: "token efficiency: tokens an old model needs / tokens a new one needs",
    G_hours: "accelerator-seconds a run took (GPU-hours x 3600)",
    mfu_train: "model FLOPs utilisation of pre-training (useful FLOPs / peak)",
    mfu_inf: "model FLOPs utilisation of serving (decode)",
    q_train: "price of one accelerator-second used for training",
    q_inf: "price of one accelerator-second used for serving",
    chi: "served tokens that cost as much as one pre-training token",
    R_dec: "decode tokens per second of one serving node",
    n_gpu: "accelerators per node",
    n_nodes: "mean number of serving nodes over a window",
    T_win: "length of that window, s",
    D_out: "output tokens served in that window",
    D_in: "input (prompt) tokens served in that window, cache hits included",
    A_meta: "coefficient of Meta's Llama 3 fit D* = A C^a (tokens)",
    a_meta: "exponent of Meta's Llama 3 fit",
}

FIT_SYMBOLS = {"e_irreducible": E, "a_params": A, "b_data": B, "alpha": alpha, "beta": beta}

# --- the Chinchilla loss law ---------------------------------------------------------------
loss = E + A / N**alpha + B / D**beta
train_flops = 6 * N * D
inference_flops = 2 * N * D_inf
rl_flops = c_rl * N * D_rl / eta

# Compute-optimal allocation under C = 6ND (minimise loss along the budget line):
# alpha A N^-alpha = beta B D^-beta, i.e. each term's elasticity is equal.
_G = (alpha * A / (beta * B)) ** (1 / (alpha + beta))
N_opt = _G * (C / 6) ** (beta / (alpha + beta))
D_opt = (C / 6) ** (alpha / (alpha + beta)) / _G
tokens_per_param_opt = D_opt / N_opt
# Reducible loss along the optimal path falls as C^-gamma.
gamma = alpha * beta / (alpha + beta)


def data_for_cost_ratio(ratio=r) -> sp.Expr:
    """Training tokens on the inference-aware optimal path for a model of N parameters whose
    lifetime inference compute is ``ratio`` times its training compute. The first-order
    condition of min 6ND + 2N D_inf at fixed loss is alpha A N^-alpha = (1 + r) beta B D^-beta
    with r = D_inf / (3D); ratio = 0 is the compute-optimal (Chinchilla) condition."""
    return ((1 + ratio) * beta * B * N**alpha / (alpha * A)) ** (1 / beta)


def inference_aware_condition() -> sp.Expr:
    """alpha A N^-alpha - (1 + D_inf/(3D)) beta B D^-beta: zero on the inference-aware path."""
    return alpha * A * N**-alpha - (1 + D_inf / (3 * D)) * beta * B * D**-beta


def mfu(flops, accelerator_seconds, peak_flops):
    """Model FLOPs utilisation: useful FLOPs / (accelerator-seconds x peak FLOP/s)."""
    return flops / (accelerator_seconds * peak_flops)


# --- dollars, not FLOPs ----------------------------------------------------------------------
def dollars(flops, utilisation, price, peak=F_peak):
    """What FLOPs cost: price per accelerator-second x accelerator-seconds, where the seconds are
    FLOPs / (MFU x peak FLOP/s)."""
    return price * flops / (utilisation * peak)


# Equal dollars on pre-training and serving, 6ND at MFU_train against 2N D_inf at MFU_inf on the
# same accelerator: D_inf / D = 3 (MFU_inf / MFU_train) (q_train / q_inf). FLOPs as cost is
# MFU_inf = MFU_train and q_inf = q_train, i.e. chi = 3.
equal_cost_served_tokens = 3 * mfu_inf * q_train / (mfu_train * q_inf)


def inference_aware_condition_dollars() -> sp.Expr:
    """The inference-aware first-order condition when dollars, not FLOPs, are minimised:
    alpha A N^-alpha - (1 + D_inf/(chi D)) beta B D^-beta, chi served tokens costing one trained
    token. chi = 3 is the FLOP condition."""
    return alpha * A * N**-alpha - (1 + D_inf / (chi * D)) * beta * B * D**-beta


# MFUs from published rates: a run of G_hours accelerator-seconds over D tokens at 6N FLOPs each,
# and a serving node of n_gpu accelerators decoding R_dec tokens/s at 2N FLOPs each.
mfu_of_run = 6 * N * D / (G_hours * F_peak)
mfu_of_decode = 2 * N * (R_dec / n_gpu) / F_peak
# chi from one model on one accelerator type at one price (DeepSeek-V3 on H800s): N and F cancel,
# leaving accelerator-seconds per trained token over accelerator-seconds per decoded token.
chi_measured = sp.simplify(equal_cost_served_tokens.subs(
    {mfu_inf: mfu_of_decode, mfu_train: mfu_of_run, q_inf: q_train}))
# The same with everything a served output token costs over a whole day (its prompt's prefill
# and its decode: the day's prefill and decode node-seconds add up to its node-seconds):
# the day's accelerator-seconds n_nodes n_gpu T_win over its D_out output tokens.
chi_all_in = (G_hours / D) / (n_nodes * n_gpu * T_win / D_out)
# Per served token, input and output alike (what a "tokens processed" count such as Google's or
# the lecture's 200T counts): the same day's accelerator-seconds over D_in + D_out.
chi_served_all_in = (G_hours / D) / (n_nodes * n_gpu * T_win / (D_in + D_out))

# Meta's Llama 3 law gives the compute-optimal token count directly, D* = A C^a; with C = 6ND
# its tokens per parameter are D* / (C / (6 D*)).
meta_tokens_opt = A_meta * C**a_meta
meta_tokens_per_param = 6 * meta_tokens_opt**2 / C
# The compute-optimal token count of a model of N parameters under Meta's law: D = A (6 N D)^a.
meta_tokens_for_params = (A_meta * (6 * N) ** a_meta) ** (1 / (1 - a_meta))


# --- numbers from the catalog --------------------------------------------------------------

def fit(key: str, rounded: bool = False) -> dict[sp.Symbol, float]:
    """The loss-law constants of one fit in ``scaling_laws.yaml`` as a SymPy substitution.
    Hoffmann's entry holds the unrounded estimates; ``rounded`` takes each field's first
    alternative where it has one (the constants as the paper prints them)."""
    e = catalog.load("scaling_laws")[key]
    out = {}
    for name, sym in FIT_SYMBOLS.items():
        fld = e.fields[name]
        out[sym] = fld.alternatives[0].si if rounded and fld.alternatives else fld.si
    return out


def fit_draws(key: str, n: int, seed: int = 0) -> list[dict[sp.Symbol, float]]:
    """``n`` draws of one fit's loss-law constants for an uncertainty band: each constant normal
    around its catalogued value with sigma half its catalogued range (a range of +- one
    published standard error), independent (no covariance is published), a fixed seed so the
    band is byte-stable. A draw with a constant <= 0 is dropped (a loss law needs positive
    constants), so fewer than ``n`` may come back. A fit whose ranges are not standard errors
    (Hoffmann's: its rounding) is an error."""
    e = catalog.load("scaling_laws")[key]
    spread = {}
    for name, sym in FIT_SYMBOLS.items():
        fld = e.fields[name]
        if fld.range_si is None or "standard error" not in (fld.range_basis or ""):
            raise ValueError(f"scaling_laws.yaml: {key}: {name} has no standard-error range")
        spread[sym] = (fld.si, (fld.range_si[1] - fld.range_si[0]) / 2)
    rng = np.random.default_rng(seed)
    draws = []
    for _ in range(n):
        d = {sym: float(mu + sigma * rng.standard_normal()) for sym, (mu, sigma) in
             spread.items()}
        if all(v > 0 for v in d.values()):
            draws.append(d)
    return draws


def worst_verdict(labels) -> str:
    """The verdict of a claim made of several parts: :func:`helpers.verdicts.worst`."""
    from .verdicts import worst
    return worst(labels)


def range_verdict(low: float, high: float, derived: float, band=None) -> str:
    """The book's rule for a claim that states a range ("75-100x"): judged against the nearer
    end of the range, so any derived value inside it holds."""
    from .verdicts import DEFAULT, ratio_verdict
    return ratio_verdict(min(max(derived, low), high), derived, band or DEFAULT)


def numeric_min_on_grid(f, lo: float, hi: float, rounds: int = 6, points: int = 2001) -> float:
    """Minimise a smooth one-dimensional f on [lo, hi] (log-spaced grid, zoomed ``rounds``
    times). Independent of any derivative, so tests can check the calculus against it."""
    for _ in range(rounds):
        xs = np.geomspace(lo, hi, points)
        i = int(np.argmin(f(xs)))
        lo, hi = xs[max(i - 2, 0)], xs[min(i + 2, points - 1)]
    return float(xs[i])


def fixed_size_optimum_tokens(subs: dict, n: float, demand: float, chi_: float = 3.0) -> float:
    """Training tokens D for a model of fixed size n on the inference-aware path: the root of
    alpha A n^-alpha = (1 + demand / (chi D)) beta B D^-beta (chi = 3: FLOPs as cost). The right
    side falls monotonically in D, so bisection in log D finds the one root."""
    e, a, b, al, be = (subs[s] for s in (E, A, B, alpha, beta))
    gap = lambda d: al * a * n**-al - (1 + demand / (chi_ * d)) * be * b * d**-be
    lo, hi = np.log(1e6), np.log(1e20)
    for _ in range(200):
        mid = (lo + hi) / 2
        lo, hi = (mid, hi) if gap(np.exp(mid)) < 0 else (lo, mid)
    return float(np.exp((lo + hi) / 2))


def inference_aware_optimum(subs: dict, target_loss: float, inference_tokens: float,
                            n_lo: float = 1e8, n_hi: float = 1e13) -> tuple[float, float]:
    """(N, D) minimising 6ND + 2N D_inf subject to L(N, D) = target_loss, found numerically:
    for each N the loss target fixes D, and the total is minimised on a grid in N."""
    e, a, b, al, be = (subs[s] for s in (E, A, B, alpha, beta))

    def tokens(n):
        gap = target_loss - e - a / n**al
        with np.errstate(invalid="ignore", divide="ignore"):
            return np.where(gap > 0, (b / np.where(gap > 0, gap, 1.0)) ** (1 / be), np.inf)

    n_min = (a / (target_loss - e)) ** (1 / al)          # below this no D reaches the target
    total = lambda n: 6 * n * tokens(n) + 2 * n * inference_tokens
    n = numeric_min_on_grid(total, max(n_lo, n_min * (1 + 1e-9)), n_hi)
    return n, float(tokens(n))


# --- the headlines (the hardware-dependent ones: the sweep, re-runs and twins read them) -----
# Llama 3's published hours are H100 hours. At the MFU they imply, another accelerator of peak
# F' needs H' = H F / F' accelerator-seconds (chapter 3 solves MFU(H', F') = MFU(H, F) for H').
F_run = sp.Symbol("F'", positive=True)    # peak dense FLOP/s of the accelerator the run is for
hours_same_mfu = G_hours * F_peak / F_run
_LLAMA = {"8b": "Llama 3 8B", "70b": "Llama 3 70B", "405b": "Llama 3.1 405B"}


def _same_mfu(size: str) -> Headline:
    run = f"llama3_{size}"
    return Headline(
        f"{run}_gpu_hours_same_mfu", "GPU-h",
        f"accelerator-hours for {_LLAMA[size]} pre-training at the MFU its H100 hours imply",
        hours_same_mfu / 3600,                                    # accelerator-hours
        {G_hours: field("training_runs", run, "gpu_hours"),
         F_peak: field("accelerators", "h100", "bf16_dense_flops"),
         F_run: hw("bf16_dense_flops")},
        fmt="millions")                                           # glued as "30.8M"


_DS_RUN, _DS_SERVE = ("training_runs", "deepseek_v3"), ("training_runs", "deepseek_v3_serving")

HEADLINES = [_same_mfu(size) for size in _LLAMA] + [
    Headline("equal_cost_inference_to_pretraining_tokens", "ratio",
             "decoded tokens that cost as much as one pre-training token, 3 MFU_dec / MFU_train, "
             "DeepSeek-V3 trained and served on H800s at one price per GPU-hour",
             chi_measured,
             {G_hours: field(*_DS_RUN, "gpu_hours"),
              D: field("models", "deepseek_v3", "training_tokens"),
              R_dec: field(*_DS_SERVE, "decode_tokens_per_node_s"),
              n_gpu: field(*_DS_SERVE, "gpus_per_node")},
             claims=("RP-12", "RP-13", "RP-14"), fmt="num"),
    Headline("equal_cost_output_to_pretraining_tokens_all_in", "ratio",
             "output tokens that cost as much as one pre-training token when each carries its "
             "share of a whole serving day (its prompt's prefill and its decode), DeepSeek-V3 "
             "on H800s",
             chi_all_in,
             {G_hours: field(*_DS_RUN, "gpu_hours"),
              D: field("models", "deepseek_v3", "training_tokens"),
              n_nodes: field(*_DS_SERVE, "mean_nodes"), n_gpu: field(*_DS_SERVE, "gpus_per_node"),
              T_win: field(*_DS_SERVE, "window"), D_out: field(*_DS_SERVE, "output_tokens")},
             claims=("RP-12", "RP-14"), fmt="num"),
    Headline("equal_cost_served_to_pretraining_tokens_all_in", "ratio",
             "served tokens (input and output) that cost as much as one pre-training token when "
             "they share a whole serving day, DeepSeek-V3 on H800s",
             chi_served_all_in,
             {G_hours: field(*_DS_RUN, "gpu_hours"),
              D: field("models", "deepseek_v3", "training_tokens"),
              n_nodes: field(*_DS_SERVE, "mean_nodes"), n_gpu: field(*_DS_SERVE, "gpus_per_node"),
              T_win: field(*_DS_SERVE, "window"), D_out: field(*_DS_SERVE, "output_tokens"),
              D_in: field(*_DS_SERVE, "input_tokens")},
             claims=("RP-12", "RP-13", "RP-14"), fmt="num"),
]

__all__ = ["N", "D", "C", "E", "A", "B", "alpha", "beta", "D_inf", "D_rl", "c_rl", "eta", "r",
           "tau", "G_hours", "F_peak", "F_run", "mfu_train", "mfu_inf", "q_train", "q_inf", "chi",
           "R_dec", "n_gpu", "n_nodes", "T_win", "D_out", "D_in", "A_meta", "a_meta", "loss",
           "train_flops", "inference_flops", "rl_flops", "N_opt", "D_opt",
           "tokens_per_param_opt", "gamma", "data_for_cost_ratio", "inference_aware_condition",
           "mfu", "dollars", "equal_cost_served_tokens", "inference_aware_condition_dollars",
           "mfu_of_run", "mfu_of_decode", "chi_measured", "chi_all_in", "chi_served_all_in",
           "meta_tokens_opt", "meta_tokens_per_param", "meta_tokens_for_params",
           "fixed_size_optimum_tokens", "fit", "fit_draws", "worst_verdict", "range_verdict",
           "evaluate",
           "numeric_min_on_grid",
           "inference_aware_optimum", "hours_same_mfu", "HEADLINES", "SYMBOL_MEANING"]
