"""Shared SymPy symbols and formulas. Chapters derive these on the page, then assert that their
derivation equals the one here (``sympy.simplify(a - b) == 0``), so a later chapter can reuse it.

Conventions (stated once, used everywhere):
* A forward pass costs 2 FLOPs per active parameter per token (one multiply, one add).
* ``B`` counts *sequences* in a decode step; each gets one new token per step.
* Bandwidths are bytes/s; FLOP/s are dense (no 2:4 sparsity).
* Attention FLOPs are left out of the decode roofline, as in the lecture (claim RP-1).
"""
from __future__ import annotations

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
M = sp.Symbol("M", positive=True)                      # HBM capacity, bytes

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
    M: "HBM capacity, bytes",
}

# --- the decode roofline (RP-1) ------------------------------------------------------------
t_compute = 2 * B * N_act / F            # matmul time for one decode step
t_weights = N_tot * b_w / W              # every weight read once per step, shared by the batch
t_kv = B * L * b_kv / W                  # every sequence reads its own KV cache
t_memory = t_weights + t_kv
t_step = sp.Max(t_compute, t_memory)     # the roofline: the slower of the two bounds


def balance_batch() -> sp.Expr:
    """Batch at which weight-fetch time equals compute time (KV term dropped, as in RP-2)."""
    (sol,) = sp.solve(sp.Eq(t_weights, t_compute), B)
    return sol


hardware_ratio = F / W                   # FLOP per byte: the accelerator's critical intensity

# B* = (F/W) * (N_tot/N_act) * (b_w/2): the factored form the chapter shows
balance_batch_factored = hardware_ratio * (N_tot / N_act) * (b_w / 2)


def balance_batch_with_kv() -> sp.Expr:
    """Batch at which compute time equals all memory time, weights *and* KV reads."""
    (sol,) = sp.solve(sp.Eq(t_memory, t_compute), B)
    return sol


# Longest context at which a decode step can still become compute-bound (B -> infinity):
# 2 N_act / F > L b_kv / W  <=>  L < 2 N_act W / (F b_kv)
max_compute_bound_context = 2 * N_act * W / (F * b_kv)

# Accelerator-seconds per generated token; the chip count of a replica cancels (both F and W
# scale with it), so this is per chip.
cost_per_token = t_step / B
cost_floor = sp.Max(2 * N_act / F, L * b_kv / W)   # limit of cost_per_token as B -> infinity

# HBM drain time: the shortest step that reads all of a full HBM once
drain_time = M / W


def lambdify(expr: sp.Expr, *symbols: sp.Symbol):
    """numpy function of ``expr``; Max becomes numpy.maximum so it broadcasts."""
    return sp.lambdify(symbols, expr, modules=[{"Max": __import__("numpy").maximum}, "numpy"])


# --- KV-cache size per token ---------------------------------------------------------------
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
