"""Shared SymPy symbols and formulas (the decode roofline, the balance batch, KV bytes per token)
and the one numeric evaluator. Chapters derive these on the page, then assert that their
derivation equals the one here (``sympy.simplify(a - b) == 0``), so a later chapter can reuse it.
Chapter 1's headlines, bound to catalog fields, are in :mod:`helpers.roofline`.

Conventions (stated once, used everywhere):
* A forward pass costs 2 FLOPs per active parameter per token (one multiply, one add).
* ``B`` counts *sequences* in a decode step; each gets one new token per step.
* Bandwidths are bytes/s; FLOP/s are dense (no 2:4 sparsity).
* The lecture's roofline (claim RP-1) leaves attention arithmetic out; ``a_kv`` puts it back
  (FLOPs per generated token per token of context), and setting ``a_kv = 0`` recovers the lecture.
"""
from __future__ import annotations

from functools import cache

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


@cache
def _compiled(expr: sp.Expr, symbols: tuple, zeros: tuple):
    reduced = expr.subs(dict.fromkeys(zeros, 0))   # terms a zero removes (B = 0, say)
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
