"""Formulas for chapter 6 (MoE in a rack): expert-parallel all-to-all traffic, when it hides
under the expert arithmetic, how many GPUs a model needs, the decode latency floor of a domain,
and pipeline parallelism (capacity per stage, per-hop latency, training bubble, and the lecture's
condition for pipelining across racks).

Conventions (as in :mod:`helpers.formulas`): bandwidths are bytes/s, ONE direction, per GPU;
FLOP/s are dense; a token routed to an expert costs 2 FLOPs per expert parameter. Experts are
spread evenly over the ``G`` GPUs of an expert-parallel group and routing is balanced.
The chapter derives each expression on the page and asserts that it equals the one here; the
headlines it publishes are bound to catalog fields at the end (``HEADLINES``), so the chapter,
the sweep, the re-run comparison and the tests all read one definition.
"""
from __future__ import annotations

import math

import sympy as sp

from . import catalog, formulas as f
from .registry import Headline, const, derived, field, hw

FP8_BYTES, BF16_BYTES = 1, 2         # bytes per stored value

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
a2a_over_expert = t_a2a / t_expert
# Hides when t_a2a <= t_expert: the largest F / W_link that still hides (k_e cancels).
hide_ratio_limit = sp.simplify(2 * P_e / (d * (b_d + b_c) * remote_fraction))

# Decode: per GPU and layer, B tokens over G GPUs; each GPU also reads its E/G experts' weights.
t_a2a_gpu = (B / G) * t_a2a
weight_read_gpu = (E / G) * P_e * b_w / W
t_expert_gpu = sp.Max((B / G) * t_expert, weight_read_gpu)
# Below this batch the all-to-all hides under the expert weight reads whatever the FLOP/s.
hide_batch_limit = sp.simplify(sp.solve(sp.Eq(t_a2a_gpu, weight_read_gpu), B)[0])

# The same traffic across many domains over the NIC: the group's (1 - 1/G) tends to 1.
_ACROSS_DOMAINS = {expr: sp.limit(expr, G, sp.oo)
                   for expr in (t_a2a, a2a_over_expert, hide_ratio_limit, hide_batch_limit)}


def expert_params(total: float, active: float, routed: float, active_routed: float,
                  moe_layers: float) -> float:
    """Parameters of one routed expert, from the catalog's counts alone.

    Every inactive parameter belongs to a routed expert the token skipped, so
    total - active = (routed - active_routed) x moe_layers x P_e.
    """
    return (total - active) / ((routed - active_routed) * moe_layers)


def expert_size(model) -> float:
    """``expert_params`` of a catalogued MoE model (its dense layers hold no routed expert)."""
    return expert_params(model.total_params, model.active_params, model.routed_experts,
                         model.active_experts, model.n_layers - model.n_dense_layers)


def fp8_flops(acc) -> float:
    """Dense FP8 FLOP/s; a part without FP8 units runs FP8 data at its BF16 rate."""
    return acc.fp8_dense_flops if acc.has("fp8_dense_flops") else acc.bf16_dense_flops


def a2a_hiding(model, acc, over: str = "scale_up") -> dict[str, float]:
    """The all-to-all of ``model`` on ``acc`` against its expert arithmetic: FP8 dispatch, BF16
    combine (as DeepEP), FP8 weights and arithmetic (:func:`fp8_flops`). ``over="scale_up"``:
    the expert-parallel group fills one scale-up domain (G = D) on NVLink; ``"scale_out"``: it
    spans many domains over the NIC, so every copy leaves (G -> oo).

    Per token and MoE layer: ``t_comm`` (the all-to-all), ``t_comp`` (compute-bound experts),
    ``have`` (F / W_link), ``need`` (the largest F / W_link that hides), ``ratio`` (t_comm /
    t_comp = have / need; above 1 the traffic cannot hide under compute-bound experts);
    ``batch``: the largest decode batch whose all-to-all hides under the expert weight reads;
    ``t_reads``: those reads per GPU when the experts are spread over one domain."""
    if over not in ("scale_up", "scale_out"):
        raise ValueError(f"over='{over}': 'scale_up' or 'scale_out'")
    link = acc.scale_up_bandwidth if over == "scale_up" else acc.scale_out_bandwidth
    vals = {k_e: model.active_experts, d: model.hidden_size, b_d: FP8_BYTES, b_c: BF16_BYTES,
            W_link: link, P_e: expert_size(model), F: fp8_flops(acc), E: model.routed_experts,
            b_w: FP8_BYTES, W: acc.hbm_bandwidth, G: acc.scale_up_domain}
    form = (lambda e: e) if over == "scale_up" else _ACROSS_DOMAINS.__getitem__
    return {"t_comm": f.evaluate(form(t_a2a), vals), "t_comp": f.evaluate(t_expert, vals),
            "have": vals[F] / link, "need": f.evaluate(form(hide_ratio_limit), vals),
            "ratio": f.evaluate(form(a2a_over_expert), vals),
            "batch": f.evaluate(form(hide_batch_limit), vals),
            "t_reads": f.evaluate(weight_read_gpu, vals)}


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
domain_hbm_bytes = D * H                                   # HBM of one scale-up domain
# the fewest whole domains whose HBM holds the weights, and the floor when they share them
domains_for_weights = sp.ceiling(N_tot * b_w / domain_hbm_bytes)
latency_floor_over_domains = N_tot * b_w / (domains_for_weights * D * W)


def domain_hbm(acc) -> float:
    """HBM of one scale-up domain, bytes (capacity as catalogued)."""
    return f.evaluate(domain_hbm_bytes, {D: acc.scale_up_domain, H: acc.hbm_capacity})


def domains_needed(nbytes: float, acc) -> int:
    """Smallest whole number of scale-up domains whose HBM holds ``nbytes``."""
    return int(f.evaluate(domains_for_weights, {N_tot: nbytes, b_w: 1, D: acc.scale_up_domain,
                                                H: acc.hbm_capacity}))


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
scale_out_slowdown = W_up / W_out


# --- the headlines, bound to catalog fields -------------------------------------------------
def _model(key: str):
    return catalog.models()[key]


_FP8_WEIGHTS = {b_w: const(FP8_BYTES, "bytes per FP8 weight")}
_DOMAIN = {D: hw("scale_up_domain"), H: hw("hbm_capacity")}
# DeepSeek-V3's all-to-all against its expert arithmetic, as a2a_hiding: FP8 dispatch, BF16
# combine, FP8 arithmetic (at the BF16 rate on a part without FP8 units, as fp8_flops)
_DEEPSEEK_A2A = {k_e: field("models", "deepseek_v3", "active_experts"),
                 d: field("models", "deepseek_v3", "hidden_size"),
                 b_d: const(FP8_BYTES, "bytes per FP8 activation (dispatch)"),
                 b_c: const(BF16_BYTES, "bytes per BF16 activation (combine)"),
                 P_e: derived(lambda: expert_size(_model("deepseek_v3")),
                              "DeepSeek-V3 parameters per routed expert (expert_size)"),
                 F: hw("fp8_dense_flops", "bf16_dense_flops")}


def _weights(model_key: str) -> dict:
    return {N_tot: field("models", model_key, "total_params"), **_FP8_WEIGHTS}


HEADLINES = [
    Headline("scale_out_slowdown", "ratio",
             "per-GPU scale-up bandwidth / scale-out bandwidth, one direction",
             scale_out_slowdown,
             {W_up: hw("scale_up_bandwidth"), W_out: hw("scale_out_bandwidth")},
             claims=("RP-20",)),
    Headline("domain_hbm_terabytes", "TB", "HBM of one scale-up domain (capacity as catalogued)",
             domain_hbm_bytes / 10**12, _DOMAIN, claims=("RP-6", "RP-21")),
    Headline("kimi_k2_fp8_weight_fraction_of_domain_hbm", "fraction",
             "Kimi K2 FP8 weights / HBM of one scale-up domain",
             N_tot * b_w / domain_hbm_bytes, {**_weights("kimi_k2"), **_DOMAIN},
             claims=("RP-6", "RP-21"), fmt="pct"),
    Headline("deepseek_v3_domains_needed", "domains",
             "scale-up domains whose HBM holds DeepSeek-V3's FP8 weights (the fewest)",
             domains_for_weights, {**_weights("deepseek_v3"), **_DOMAIN}, fmt="integer"),
    Headline("deepseek_v3_decode_latency_floor_ms_domain", "ms",
             "DeepSeek-V3 FP8 weights read once per step across the aggregate HBM bandwidth "
             "of the fewest whole scale-up domains that hold them",
             1000 * latency_floor_over_domains,
             {**_weights("deepseek_v3"), **_DOMAIN, W: hw("hbm_bandwidth")}),
    Headline("deepseek_v3_a2a_over_expert_time_scale_up", "ratio",
             "DeepSeek-V3 all-to-all time / expert arithmetic time, expert-parallel over one "
             "scale-up domain (FP8 dispatch, BF16 combine, FP8 arithmetic)",
             a2a_over_expert,
             {**_DEEPSEEK_A2A, W_link: hw("scale_up_bandwidth"), G: hw("scale_up_domain")},
             claims=("RP-20",)),
    Headline("deepseek_v3_a2a_over_expert_time_scale_out", "ratio",
             "DeepSeek-V3 all-to-all time / expert arithmetic time, expert-parallel across "
             "scale-up domains over the NIC", _ACROSS_DOMAINS[a2a_over_expert],
             {**_DEEPSEEK_A2A, W_link: hw("scale_out_bandwidth")}, claims=("RP-20",)),
]
