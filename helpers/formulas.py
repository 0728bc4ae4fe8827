"""Shared SymPy symbols and formulas. Chapters derive these on the page, then assert that their
derivation equals the one here (``sympy.simplify(a - b) == 0``), so a later chapter can reuse it.

Conventions (stated once, used everywhere):
* A forward pass costs 2 FLOPs per active parameter per token (one multiply, one add).
* ``B`` counts *sequences* in a decode step; each gets one new token per step.
* Bandwidths are bytes/s; FLOP/s are dense (no 2:4 sparsity).
* The lecture's roofline (claim RP-1) leaves attention arithmetic out; ``a_kv`` puts it back
  (FLOPs per generated token per token of context), and setting ``a_kv = 0`` recovers the lecture.
"""
from __future__ import annotations

from functools import lru_cache

import sympy as sp

# --- symbols -------------------------------------------------------------------------------
B = sp.Symbol("B", positive=True)                      # decode batch (sequences per step)
N_tot = sp.Symbol(r"N_\mathrm{tot}", positive=True)    # total parameters
N_act = sp.Symbol(r"N_\mathrm{act}", positive=True)    # active parameters per token
F = sp.Symbol("F", positive=True)                      # peak dense FLOP/s
W = sp.Symbol("W", positive=True)                      # HBM bandwidth, bytes/s
b_w = sp.Symbol(r"b_\mathrm{w}", positive=True)        # bytes per weight
b_kv = sp.Symbol(r"b_\mathrm{kv}", positive=True)      # KV-cache bytes per token (all layers)
L = sp.Symbol("L", positive=True)                      # context length in tokens
s = sp.Symbol("s", positive=True)                      # sparsity, N_tot / N_act
a_kv = sp.Symbol(r"a_\mathrm{kv}", positive=True)      # attention FLOPs per token of context
k = sp.Symbol("k", positive=True)                      # deployed batch as a multiple of B*

SYMBOL_MEANING = {
    B: "decode batch: sequences advanced by one token per step",
    N_tot: "total parameters (all experts)",
    N_act: "parameters active per token",
    F: "peak dense FLOP/s of the accelerator",
    W: "HBM bandwidth, bytes/s",
    b_w: "bytes per stored weight (2 for BF16, 1 for FP8)",
    b_kv: "KV-cache bytes per token of context, all layers",
    L: "context length, tokens",
    s: "sparsity N_tot / N_act",
    a_kv: "attention FLOPs per generated token per token of context, all layers",
    k: "deployed batch as a multiple of the balance batch",
}

# --- the decode roofline (RP-1) ------------------------------------------------------------
t_compute = 2 * B * N_act / F            # weight matmuls of one decode step (the lecture's term)
t_attention = B * L * a_kv / F           # attention arithmetic over each sequence's cache
t_weights = N_tot * b_w / W              # every weight read once per step, shared by the batch
t_kv = B * L * b_kv / W                  # every sequence reads its own KV cache
t_memory = t_weights + t_kv
t_step = sp.Max(t_compute, t_memory)     # the lecture's roofline (RP-1): the slower bound
t_step_full = sp.Max(t_compute + t_attention, t_memory)   # with attention arithmetic


def balance_batch() -> sp.Expr:
    """Batch at which weight-fetch time equals compute time (KV term dropped, as in RP-2)."""
    (sol,) = sp.solve(sp.Eq(t_weights, t_compute), B)
    return sol


hardware_ratio = F / W                   # FLOP per byte: the accelerator's critical intensity

# B* = (F/W) * (N_tot/N_act) * (b_w/2): the factored form the chapter shows
balance_batch_factored = hardware_ratio * (N_tot / N_act) * (b_w / 2)


def balance_batch_with_kv() -> sp.Expr:
    """Batch at which all arithmetic (weights and attention) equals all memory time."""
    (sol,) = sp.solve(sp.Eq(t_memory, t_compute + t_attention), B)
    return sol


# Longest context at which a decode step can still become compute-bound (B -> infinity):
# (2 N_act + L a_kv) / F > L b_kv / W  <=>  L < 2 N_act W / (F b_kv - a_kv W).
# Meaningful only while the cache is read at less than the chip's FLOP/byte (a_kv/b_kv < F/W);
# beyond that, a large batch is compute-bound at every context.
max_compute_bound_context = 2 * N_act * W / (F * b_kv - a_kv * W)

# Accelerator-seconds per generated token; the chip count of a replica cancels (both F and W
# scale with it), so this is per chip.
cost_per_token = t_step_full / B
cost_floor = sp.Max((2 * N_act + L * a_kv) / F, L * b_kv / W)   # its limit as B -> infinity

# Largest saving of an unbounded batch over a deployment at k x B*, reached at the context
# where the floor switches from arithmetic to KV reads (L = max_compute_bound_context).
_weights_per_token = 2 * N_act / (k * F)     # weight time per token at k B*
_kv_at_switch = (L * b_kv / W).subs(L, max_compute_bound_context)
slow_mode_max_saving = sp.simplify(_weights_per_token / (_weights_per_token + _kv_at_switch))


def lambdify(expr: sp.Expr, *symbols: sp.Symbol):
    """numpy function of ``expr``; Max becomes numpy.maximum so it broadcasts."""
    return sp.lambdify(symbols, expr, modules=[{"Max": __import__("numpy").maximum}, "numpy"])


@lru_cache(maxsize=None)
def _compiled(expr: sp.Expr, symbols: tuple, zeros: tuple):
    reduced = expr.subs({sym: 0 for sym in zeros})   # terms a zero removes (B = 0, say)
    unset = reduced.free_symbols - set(symbols)
    if unset:
        raise ValueError(f"no value for {', '.join(sorted(map(str, unset)))}")
    return sp.lambdify(symbols, reduced, modules=["math"])


def evaluate(expr: sp.Expr, values: dict) -> float:
    """``float(expr.subs(values))`` at compiled speed: the expression is lambdified once per set of
    symbols and reused (the catalog-wide sweep evaluates each formula for many accelerators)."""
    zeros = tuple(sym for sym, v in values.items() if v == 0)
    rest = {sym: float(v) for sym, v in values.items() if v != 0}
    return float(_compiled(expr, tuple(rest), zeros)(*rest.values()))


# --- KV-cache size per token ---------------------------------------------------------------
def attention_flops_per_context_token(model) -> float:
    """Decode attention FLOPs per generated token, per token of context, summed over layers.

    GQA/MHA: each query head does a q.k dot product and a weighted sum of v over head_dim:
    2 x 2 x head_dim FLOPs per head per cached token.
    MLA in absorbed form (DeepSeek-V3 decode): every query head scores the shared latent plus RoPE
    key (kv_lora_rank + qk_rope_head_dim) and sums the latent (kv_lora_rank):
    2 x (2 kv_lora_rank + qk_rope_head_dim) FLOPs per head per cached token.
    Sliding-window layers are counted at full context here, as in ``kv_bytes_per_token``.
    """
    att = model.text["attention"]
    if att in ("mha", "gqa", "hybrid_sliding_gqa"):
        per_layer = model.n_heads * 4 * model.head_dim
    elif att == "mla":
        per_layer = model.n_heads * 2 * (2 * model.kv_lora_rank + model.qk_rope_head_dim)
    else:  # pragma: no cover - the catalog validator rejects other kinds
        raise ValueError(att)
    return model.n_layers * per_layer


def kv_bytes_per_token(model, bytes_per_element: float) -> float:
    """KV-cache bytes per token of context, summed over layers, for a catalogued model.

    GQA/MHA: K and V, n_kv_heads x head_dim each, per layer.
    MLA (DeepSeek-V3, Kimi K2): one compressed latent (kv_lora_rank) plus the shared RoPE key
    (qk_rope_head_dim) per layer, cached in absorbed form.
    Sliding-window layers are counted at full size here; chapter 4 treats windows properly.
    """
    att = model.text["attention"]
    if att in ("mha", "gqa", "hybrid_sliding_gqa"):
        per_layer = 2 * model.n_kv_heads * model.head_dim
    elif att == "mla":
        per_layer = model.kv_lora_rank + model.qk_rope_head_dim
    else:  # pragma: no cover - the catalog validator rejects other kinds
        raise ValueError(att)
    return model.n_layers * per_layer * bytes_per_element


# --- chapter 1's hardware-dependent headlines, for any accelerator (the catalog-wide sweep) ---
# Each entry is named exactly like the result chapter 1 publishes for its run accelerator, and
# computes it the same way (same lambdified expressions, same inputs), so that
# ``SWEEP[name][2](acc)`` equals what a re-run of chapter 1 with ``acc`` publishes under ``name``
# (tests/test_sweep.py checks it for the committed run; tests/test_rerun.py for re-runs).
_BF16_BYTES = 2


def _lambdas():
    """Lambdified once, on first use (importing this module stays cheap)."""
    global _LAMBDAS
    if _LAMBDAS is None:
        _LAMBDAS = {
            "ratio": sp.lambdify((F, W), hardware_ratio),
            "balance": sp.lambdify((F, W, N_tot, N_act, b_w), balance_batch()),
            "max_context": lambdify(max_compute_bound_context, N_act, W, F, b_kv, a_kv),
            "saving": lambdify(slow_mode_max_saving, F, W, b_kv, a_kv, k),
            "cost": lambdify(cost_per_token, B, N_tot, N_act, F, W, b_w, b_kv, a_kv, L),
            "floor": lambdify(cost_floor, N_act, F, W, b_kv, a_kv, L),
        }
    return _LAMBDAS


_LAMBDAS = None


def _deepseek():
    from . import catalog
    m = catalog.models()["deepseek_v3"]
    kv = kv_bytes_per_token(m, _BF16_BYTES)
    return m, kv, attention_flops_per_context_token(m)


def _rp4(name):
    from . import claims
    return claims.get("RP-4").value(name)


def _flops_per_byte(acc) -> float:
    return _lambdas()["ratio"](acc.bf16_dense_flops, acc.hbm_bandwidth)


def _optimal_batch(acc, sparsity) -> float:
    return _lambdas()["balance"](acc.bf16_dense_flops, acc.hbm_bandwidth, sparsity, 1, _BF16_BYTES)


def _sparsity(reading):
    m, _, _ = _deepseek()
    return {"lecture": _rp4("routed_experts") / _rp4("active_experts"),
            "params": m.total_params / m.active_params,
            "experts": m.routed_experts / m.active_experts}[reading]


def _max_context(acc, with_attention: bool) -> float:
    """Longest compute-bound context for DeepSeek-V3 in BF16; inf when every context can be
    compute-bound (the cache is read at more FLOP per byte than the chip's ratio)."""
    m, kv, attn = _deepseek()
    if with_attention and attn / kv >= _flops_per_byte(acc):
        return float("inf")
    return float(_lambdas()["max_context"](m.active_params, acc.hbm_bandwidth,
                                           acc.bf16_dense_flops, kv, attn if with_attention else 0.0))


def _slow_mode_max_saving(acc) -> float:
    _, kv, attn = _deepseek()
    if _max_context(acc, True) == float("inf"):
        return 0.0
    return float(_lambdas()["saving"](acc.bf16_dense_flops, acc.hbm_bandwidth, kv, attn,
                                      _rp4("deployment_multiplier_low")))


def _slow_mode_saving_at(acc, context: int) -> float:
    m, kv, attn = _deepseek()
    lam = _lambdas()
    deployed = _rp4("deployment_multiplier_low") * _optimal_batch(acc, _sparsity("params"))
    chip = (acc.bf16_dense_flops, acc.hbm_bandwidth)
    cost = lam["cost"](deployed, m.total_params, m.active_params, *chip, _BF16_BYTES, kv, attn,
                       context)
    floor = lam["floor"](m.active_params, *chip, kv, attn, context)
    return float(1 - floor / cost)


def _replica_chips(acc) -> float:
    import math
    m, _, _ = _deepseek()
    return float(2 ** math.ceil(math.log2(2 * _BF16_BYTES * m.total_params / acc.hbm_capacity)))


SWEEP = {
    "flops_per_byte": ("FLOP/byte", "dense BF16 FLOP/s / HBM bytes/s", _flops_per_byte),
    "optimal_batch_lecture_example": (
        "sequences", "BF16 balance batch at the lecture's sparsity",
        lambda acc: _optimal_batch(acc, _sparsity("lecture"))),
    "optimal_batch_deepseek_v3_by_params": (
        "sequences", "BF16 balance batch, DeepSeek-V3 total / active params",
        lambda acc: _optimal_batch(acc, _sparsity("params"))),
    "optimal_batch_deepseek_v3_by_experts": (
        "sequences", "BF16 balance batch, DeepSeek-V3 routed / active routed experts",
        lambda acc: _optimal_batch(acc, _sparsity("experts"))),
    "deepseek_v3_attention_share_of_ratio": (
        "fraction", "DeepSeek-V3 cache intensity / the chip's FLOP per byte",
        lambda acc: _deepseek()[2] / _deepseek()[1] / _flops_per_byte(acc)),
    "deepseek_v3_max_compute_bound_context_lecture": (
        "tokens", "longest compute-bound DeepSeek-V3 BF16 context, attention arithmetic ignored",
        lambda acc: _max_context(acc, False)),
    "deepseek_v3_max_compute_bound_context": (
        "tokens", "longest compute-bound DeepSeek-V3 BF16 context, attention arithmetic included "
        "(inf: every context; chapter 1 then publishes no number)",
        lambda acc: _max_context(acc, True)),
    "deepseek_v3_bf16_replica_chips": (
        "accelerators", "chips in the smallest power-of-two replica holding DeepSeek-V3 BF16 "
        "weights twice over", _replica_chips),
    "slow_mode_max_saving": (
        "fraction", "largest saving of an unbounded batch over 2x the balance batch, "
        "DeepSeek-V3 BF16", _slow_mode_max_saving),
    "slow_mode_saving_32k": (
        "fraction", "saving of an unbounded batch over 2x the balance batch at 32K context",
        lambda acc: _slow_mode_saving_at(acc, 32768)),
    "run_domain_hbm_tb": (
        "TB", "HBM of one scale-up domain", lambda acc: acc.scale_up_domain * acc.hbm_capacity / 1e12),
}
