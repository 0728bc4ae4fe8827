"""Formulas for chapter 6 (MoE in a rack): expert-parallel all-to-all traffic, when it hides
under the expert arithmetic, how many GPUs a model needs, the decode latency floor of a domain,
and pipeline parallelism (capacity per stage, per-hop latency, training bubble, and the lecture's
condition for pipelining across racks).

Conventions (as in :mod:`helpers.formulas`): bandwidths are bytes/s, ONE direction, per GPU;
FLOP/s are dense; a token routed to an expert costs 2 FLOPs per expert parameter. Experts are
spread evenly over the ``G`` GPUs of an expert-parallel group and routing is balanced.
"""
from __future__ import annotations

import math

import sympy as sp

from . import formulas as f

# --- symbols -------------------------------------------------------------------------------
d = sp.Symbol("d", positive=True)                        # hidden size (residual width)
k_e = sp.Symbol(r"k_\mathrm{e}", positive=True)           # routed experts per token
E = sp.Symbol("E", positive=True)                        # routed experts per MoE layer
b_d = sp.Symbol(r"b_\mathrm{disp}", positive=True)        # bytes per activation, dispatch
b_c = sp.Symbol(r"b_\mathrm{comb}", positive=True)        # bytes per activation, combine
b_a = sp.Symbol(r"b_\mathrm{a}", positive=True)           # bytes per activation (both ways)
G = sp.Symbol("G", positive=True)                        # GPUs in the expert-parallel group
D = sp.Symbol("D", positive=True)                        # GPUs in one scale-up domain
P_e = sp.Symbol(r"P_\mathrm{e}", positive=True)           # parameters of one routed expert
W_link = sp.Symbol(r"W_\mathrm{link}", positive=True)     # per-GPU link bandwidth, one direction
W_up = sp.Symbol(r"W_\mathrm{up}", positive=True)         # scale-up (NVLink) per GPU, one way
W_out = sp.Symbol(r"W_\mathrm{out}", positive=True)       # scale-out (NIC) per GPU, one way
n_moe = sp.Symbol(r"n_\mathrm{moe}", positive=True)       # MoE layers
ell = sp.Symbol("ell", positive=True)                   # MoE layers per pipeline stage
P = sp.Symbol("P", positive=True)                        # pipeline stages
m = sp.Symbol("m", positive=True)                        # micro-batches per training step
B_mb = sp.Symbol(r"B_\mathrm{mb}", positive=True)         # sequences per micro-batch
alpha = sp.Symbol("alpha", positive=True)               # fixed latency of one network hop
H = sp.Symbol("H", positive=True)                        # HBM capacity per GPU, bytes
B, N_tot, N_act, F, W, b_w, b_kv, L = f.B, f.N_tot, f.N_act, f.F, f.W, f.b_w, f.b_kv, f.L

SYMBOL_MEANING = {
    d: "hidden size: the width of the vector a token carries between layers",
    k_e: "routed experts each token visits in one MoE layer",
    E: "routed experts per MoE layer",
    b_d: "bytes per activation element sent in dispatch",
    b_c: "bytes per activation element sent back in combine",
    b_a: "bytes per activation element crossing a pipeline-stage boundary",
    G: "GPUs in the expert-parallel group",
    D: "GPUs in one scale-up (NVLink) domain",
    P_e: "parameters of one routed expert",
    W_link: "per-GPU bandwidth of the link in use, one direction",
    W_up: "per-GPU scale-up bandwidth, one direction",
    W_out: "per-GPU scale-out (NIC) bandwidth, one direction",
    P: "pipeline stages",
    ell: "MoE layers per pipeline stage",
    m: "micro-batches per training step",
    B_mb: "sequences per micro-batch",
    alpha: "fixed latency of one network hop",
}

# --- all-to-all bytes ----------------------------------------------------------------------
# Dispatch sends each token's d-vector to each of its k_e experts; combine sends each expert's
# d-vector output back. Counted per token and per MoE layer, before asking which copies stay on
# the sending GPU.
dispatch_bytes = k_e * d * b_d
combine_bytes = k_e * d * b_c
a2a_bytes_per_token = dispatch_bytes + combine_bytes
# With experts spread evenly over G GPUs, a routed copy lands on the token's own GPU with
# probability 1/G, so only (1 - 1/G) of the bytes cross a link.
remote_fraction = 1 - 1 / G
a2a_link_bytes_per_token = a2a_bytes_per_token * remote_fraction

# --- time against the expert arithmetic, per token, per MoE layer --------------------------
t_a2a = a2a_link_bytes_per_token / W_link
t_expert = 2 * k_e * P_e / F
# Hides when t_a2a <= t_expert: the largest F / W_link that still hides (k_e cancels).
hide_ratio_limit = sp.simplify(2 * P_e / (d * (b_d + b_c) * remote_fraction))

# Decode: per GPU and layer, B tokens over G GPUs; each GPU also reads its E/G experts' weights.
t_a2a_gpu = (B / G) * t_a2a
t_expert_gpu = sp.Max((B / G) * t_expert, (E / G) * P_e * b_w / W)
# Below this batch the all-to-all hides under the expert weight reads whatever the FLOP/s.
hide_batch_limit = sp.simplify(sp.solve(sp.Eq(t_a2a_gpu, (E / G) * P_e * b_w / W), B)[0])


def expert_params(total: float, active: float, routed: float, active_routed: float,
                  moe_layers: float) -> float:
    """Parameters of one routed expert, from the catalog's counts alone.

    Every inactive parameter belongs to a routed expert the token skipped, so
    total - active = (routed - active_routed) x moe_layers x P_e.
    """
    return (total - active) / ((routed - active_routed) * moe_layers)


# --- capacity: GPUs needed and the domain's latency floor ----------------------------------
bytes_needed = N_tot * b_w + B * L * b_kv
gpus_needed_expr = bytes_needed / H


def gpus_needed(total_params: float, bytes_per_weight: float, batch: float, context: float,
                kv_bytes_per_token: float, hbm_per_gpu: float) -> int:
    """Smallest number of GPUs whose HBM holds the weights plus the batch's KV cache."""
    need = total_params * bytes_per_weight + batch * context * kv_bytes_per_token
    return math.ceil(need / hbm_per_gpu - 1e-12)


# Every byte in use is read once per decode step, spread over the D GPUs of the domain.
latency_floor = bytes_needed / (D * W)
latency_floor_weights = latency_floor.subs(B, 0)

# --- pipeline parallelism ------------------------------------------------------------------
# P stages each hold 1/P of the layers. To keep every stage busy, P micro-batches of B_mb
# sequences are in flight; a stage keeps the KV of its layers (1/P of b_kv) for all of them.
stage_weight_bytes = N_tot * b_w / P
stage_kv_bytes = (P * B_mb) * L * (b_kv / P)
stage_bytes = stage_weight_bytes + stage_kv_bytes
# Decode: each step of a micro-batch crosses P boundaries (the last returns the sampled token
# to the first stage); each hop costs a fixed latency plus the activations' transfer.
# The boundary traffic of B_mb sequences is split over the D GPUs (and NICs) of a stage.
hop_time = alpha + B_mb * d * b_a / (D * W_out)
pipeline_added_latency = P * hop_time
# Training (GPipe-style fill and drain): m micro-batches through P stages take m + P - 1 slots.
bubble_fraction = (P - 1) / (m + P - 1)
bubble_over_ideal = (P - 1) / m            # the same bubble measured against the ideal time

# --- the lecture's condition for pipelining across racks -----------------------------------
# A stage of ell MoE layers moves a2a bytes over scale-up per token, and one d-vector over
# scale-out at the stage boundary (b_a bytes per element), split over the same D GPUs.
# Scale-out keeps up when its time is no longer than the scale-up traffic's.
t_stage_scale_up = ell * a2a_link_bytes_per_token.subs(G, D) / W_up
t_stage_scale_out = d * b_a / W_out
cross_rack_condition_lhs = sp.simplify(
    (t_stage_scale_up / t_stage_scale_out) * W_up / W_out)   # compare with W_up / W_out
# symmetric activations, large domain: the lecture's 2 k_e ell >= W_up / W_out
cross_rack_condition_lecture = sp.limit(
    cross_rack_condition_lhs.subs({b_d: b_a, b_c: b_a}), D, sp.oo)


def scale_out_slowdown(acc) -> float:
    """Per-GPU scale-up bandwidth / scale-out bandwidth, both one direction."""
    return acc.scale_up_bandwidth / acc.scale_out_bandwidth


def domain_hbm(acc) -> float:
    """HBM of one scale-up domain, bytes (capacity as catalogued)."""
    return acc.scale_up_domain * acc.hbm_capacity


def domains_needed(nbytes: float, acc) -> int:
    """Smallest whole number of scale-up domains whose HBM holds ``nbytes``."""
    return max(1, math.ceil(nbytes / domain_hbm(acc) - 1e-12))


def decode_floor_over_domains(nbytes: float, acc) -> float:
    """Seconds to read ``nbytes`` once, spread over the smallest whole number of domains that
    holds them (one domain when it fits): the decode latency floor of that deployment."""
    gpus = domains_needed(nbytes, acc) * acc.scale_up_domain
    return f.evaluate(latency_floor, {B: 0, N_tot: nbytes, b_w: 1, D: gpus, W: acc.hbm_bandwidth})


def _deepseek_floor_ms(acc) -> float:
    from . import catalog
    ds = catalog.models()["deepseek_v3"]
    return 1e3 * decode_floor_over_domains(ds.total_params * 1, acc)   # FP8: 1 byte per weight


def a2a_over_expert_time(model, acc, over: str = "scale_up") -> float:
    """All-to-all time / expert arithmetic time per token and MoE layer: FP8 dispatch, BF16
    combine (as DeepEP), FP8 arithmetic (the BF16 rate on parts without FP8 units). Above 1 the
    traffic cannot hide under compute-bound experts. ``over="scale_up"``: expert-parallel over one
    scale-up domain; ``"scale_out"``: over a group spanning many domains, every copy on the NIC
    (the group size's (1 - 1/G) tends to 1)."""
    flops = acc.fp8_dense_flops if acc.has("fp8_dense_flops") else acc.bf16_dense_flops
    p_e = expert_params(model.total_params, model.active_params, model.routed_experts,
                        model.active_experts, model.n_layers - model.n_dense_layers)
    group, link = ((acc.scale_up_domain, acc.scale_up_bandwidth) if over == "scale_up"
                   else (math.inf, acc.scale_out_bandwidth))
    vals = {k_e: model.active_experts, d: model.hidden_size, b_d: 1, b_c: 2,
            G: group, W_link: link, P_e: p_e, F: flops}
    return f.evaluate(t_a2a / t_expert, vals)


def _deepseek_a2a_ratio(acc, over: str = "scale_up") -> float:
    from . import catalog
    return a2a_over_expert_time(catalog.models()["deepseek_v3"], acc, over)


def _kimi_weight_fraction(acc) -> float:
    from . import catalog
    return catalog.models()["kimi_k2"].total_params * 1 / domain_hbm(acc)   # FP8: 1 byte/weight


SWEEP = {
    "scale_out_slowdown": ("ratio", "per-GPU scale-up bandwidth / scale-out bandwidth, "
                           "one direction", scale_out_slowdown),
    "domain_hbm_terabytes": ("TB", "HBM of one scale-up domain", lambda a: domain_hbm(a) / 1e12),
    "deepseek_v3_decode_latency_floor_ms_domain": (
        "ms", "DeepSeek-V3 FP8 weights read once per step across the aggregate HBM bandwidth "
        "of the fewest whole scale-up domains that hold them", _deepseek_floor_ms),
    "deepseek_v3_a2a_over_expert_time_scale_up": (
        "ratio", "DeepSeek-V3 all-to-all time / expert arithmetic time, expert-parallel over one "
        "scale-up domain (FP8 dispatch, BF16 combine, FP8 arithmetic)", _deepseek_a2a_ratio),
    "deepseek_v3_a2a_over_expert_time_scale_out": (
        "ratio", "DeepSeek-V3 all-to-all time / expert arithmetic time, expert-parallel across "
        "scale-up domains over the NIC", lambda a: _deepseek_a2a_ratio(a, "scale_out")),
    "kimi_k2_fp8_weight_fraction_of_domain_hbm": (
        "fraction", "Kimi K2 FP8 weights / HBM of one scale-up domain", _kimi_weight_fraction),
}
