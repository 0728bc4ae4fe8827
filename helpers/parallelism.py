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

from . import catalog, formulas as f, pricing
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
# one symbol, one meaning: the GPUs of one scale-up domain are chapter 4's n_dom (helpers.pricing)
D = pricing.n_dom                                        # GPUs in one scale-up domain
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
    total - active = (routed - active_routed) x moe_layers x P_e. With rounded totals ("1T")
    this is only as good as the rounding: a cross-check, not the size the chapter uses.
    """
    return (total - active) / ((routed - active_routed) * moe_layers)


# the shapes the fixed models schema has no field for (expert width, MLA projections), per model
SHAPES = {"deepseek_v3": "deepseek_v3_shapes", "kimi_k2": "kimi_k2_shapes"}


def shapes(model):
    """``moe_rack.yaml``'s entry of the shapes of ``model`` beyond the models schema."""
    return catalog.load("moe_rack")[SHAPES[model.key]]


def expert_size(model) -> float:
    """Parameters of one routed expert. From the config where ``moe_rack.yaml`` has it: a SwiGLU
    expert is three hidden x width matrices (gate, up, down); otherwise ``expert_params`` from
    the catalog's counts (its dense layers hold no routed expert)."""
    if model.key in SHAPES:
        return 3 * model.hidden_size * shapes(model).moe_inter_dim
    return expert_params(model.total_params, model.active_params, model.routed_experts,
                         model.active_experts, model.n_layers - model.n_dense_layers)


def expert_size_from_counts(model) -> float:
    """``expert_params`` from the published totals: the cross-check of :func:`expert_size`."""
    return expert_params(model.total_params, model.active_params, model.routed_experts,
                         model.active_experts, model.n_layers - model.n_dense_layers)


def mla_attention_params(model) -> float:
    """Parameters of one MLA attention block, from the config (DeepSeek's ``model.py``: wq_a,
    wq_b, wkv_a, wkv_b, wo)."""
    s, dim, h = shapes(model), model.hidden_size, model.n_heads
    rope, latent = model.qk_rope_head_dim, model.kv_lora_rank
    return (dim * s.q_lora_rank + s.q_lora_rank * h * (s.qk_nope_head_dim + rope)
            + dim * (latent + rope) + latent * h * (s.qk_nope_head_dim + s.v_head_dim)
            + h * s.v_head_dim * dim)


def non_routed_params(model) -> float:
    """Parameters every token uses in one MoE layer besides its routed experts: the attention
    projections, the shared experts and the router."""
    return (mla_attention_params(model) + model.shared_experts * expert_size(model)
            + model.hidden_size * model.routed_experts)


def params_from_shapes(model) -> tuple[float, float]:
    """(total, active) parameters summed from the config's shapes: embeddings and output head,
    the dense layers, the MoE layers (norms left out). The check on the published totals."""
    s, dim = shapes(model), model.hidden_size
    moe_layers = model.n_layers - model.n_dense_layers
    outer = 2 * s.vocab_size * dim + model.n_dense_layers * (
        mla_attention_params(model) + 3 * dim * s.inter_dim)
    total = outer + moe_layers * (non_routed_params(model)
                                  + model.routed_experts * expert_size(model))
    active = outer + moe_layers * (non_routed_params(model)
                                   + model.active_experts * expert_size(model))
    return total, active


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


# --- what DeepSeek hides the all-to-all under, at measured rates --------------------------
# DeepSeek runs two micro-batches and puts one's dispatch and combine under the other's attention
# and MoE (its shared and routed experts): the hiding budget is the whole layer, not the routed
# experts alone. Rates are what DeepEP, DeepGEMM and FlashAttention-3 measure, as a share eta of
# the nominal link or peak FLOP/s. c copies of a token's d-vector cross the link: inside a domain
# of D GPUs every routed copy whose expert is elsewhere, k_e (1 - 1/D); across domains with
# node-limited routing one copy per chosen domain, at most M of them (and a token's own domain
# among them with probability 1/n when there are n), forwarded inside the domain over NVLink.
eta_d = sp.Symbol(r"\eta_\mathrm{disp}", positive=True)    # achieved / nominal link, dispatch
eta_c = sp.Symbol(r"\eta_\mathrm{comb}", positive=True)    # achieved / nominal link, combine
eta_F = sp.Symbol(r"\eta_F", positive=True)                # achieved / peak FP8 GEMM rate
eta_A = sp.Symbol(r"\eta_\mathrm{att}", positive=True)     # achieved / peak attention rate
F_att = sp.Symbol(r"F_\mathrm{BF16}", positive=True)        # dense BF16 FLOP/s (attention core)
c_link = sp.Symbol(r"c_\mathrm{link}", positive=True)     # copies per token on the link
P_nr = sp.Symbol(r"P_\mathrm{nr}", positive=True)           # non-routed params per MoE layer
n_h = sp.Symbol(r"n_\mathrm{h}", positive=True)             # attention heads
d_qk = sp.Symbol(r"d_\mathrm{qk}", positive=True)           # query/key width per head
d_v = sp.Symbol(r"d_\mathrm{v}", positive=True)             # value width per head
M_dom = sp.Symbol(r"M_\mathrm{dom}", positive=True)       # domains a token may reach
n_dom = sp.Symbol(r"n_\mathrm{domains}", positive=True)   # domains the group spans
T_gpu = sp.Symbol(r"T_\mathrm{GPU}", positive=True)       # decode tokens per GPU

SYMBOL_MEANING.update({
    c_link: "copies of a token's hidden vector that cross the link, per MoE layer",
    eta_d: "measured share of the link's nominal rate, dispatch",
    eta_c: "measured share of the link's nominal rate, combine",
    eta_F: "measured share of the peak FP8 rate (expert GEMMs)",
    eta_A: "measured share of the peak BF16 rate (attention core)",
    F_att: "dense BF16 FLOP/s (the attention core)",
    P_nr: "non-routed parameters a token uses per MoE layer (attention, shared expert, router)",
    n_h: "attention heads",
    d_qk: "query/key width per head",
    d_v: "value width per head",
    M_dom: "domains a token's experts may span (node-limited routing)",
    n_dom: "domains the deployment spans",
    T_gpu: "decode tokens per GPU",
    n_moe: "MoE layers",
})
t_link = c_link * d * (b_d / eta_d + b_c / eta_c) / W_link
# prefill attention core per token and layer: scores and values over the causal prefix,
# 2 n_h (d_qk + d_v) FLOPs per earlier token, L / 2 of them on average
f_core = n_h * (d_qk + d_v) * L
t_layer = 2 * (P_nr + k_e * P_e) / (eta_F * F) + f_core / (eta_A * F_att)
a2a_over_layer = t_link / t_layer
copies_in_domain = k_e * (1 - 1 / D)
copies_across = M_dom * (1 - 1 / n_dom)
# the prefill context above which the attention core makes the layer long enough to hide it
context_to_hide = sp.solve(sp.Eq(t_link, t_layer), L)[0]
# training: forward and backward each move one dispatch and one combine at the same precisions
# (FP8 out, BF16 back: report s3.3.3); the backward does twice the forward's arithmetic
training_comm_over_compute = 2 * t_link / (3 * t_layer)


def deepep_wire_efficiency(logical_rate: float, nodes: float, nic_rate: float) -> float:
    """DeepEP's normal kernels report 'logical' RDMA GB/s: one copy per node a token selects, its
    own node included (tests/test_internode.py). With experts on n nodes the own node is among
    the chosen with probability M/n, so a share 1 - 1/n of the counted bytes cross the wire."""
    return logical_rate * (1 - 1 / nodes) / nic_rate


def deepep_low_latency_model(ep: int, phase: str) -> float:
    """Seconds the bytes of DeepEP's low-latency benchmark need on the wire between nodes: 128
    tokens per GPU, k_e copies each, a share 1 - 1/n of them to the other n - 1 nodes; FP8
    dispatch, BF16 combine, the per-block FP8 scales left out. DeepEP calls these kernels 'pure
    RDMA': every copy is an RDMA write, same-node ones included, but only those bound for
    another node cross the wire, so only they are counted against the NIC's line rate."""
    net = catalog.load("networks")
    ll = net["deepep_low_latency_h800"]
    nodes = ep / ll.gpus_per_node
    per_element = FP8_BYTES if phase == "dispatch" else BF16_BYTES
    return (ll.tokens * ll.top_k * ll.hidden * per_element * (1 - 1 / nodes)
            / ll.nic_bandwidth)


def deepep_low_latency_efficiency(ep: int, phase: str) -> float:
    """Bytes on the NIC / NIC rate over DeepEP's measured latency (0 when nothing crosses)."""
    ll = catalog.load("networks")["deepep_low_latency_h800"]
    return deepep_low_latency_model(ep, phase) / getattr(ll, f"{phase}_latency_ep{ep}")


def link_efficiency(link: str, phase: str) -> float:
    """The measured share of a link's nominal rate the chapter uses. ``"scale_up"``: DeepEP's
    intranode kernels on H800 NVLink (153 and 158 GB/s) over its 200 GB/s one way;
    ``"scale_out"``: DeepEP's normal internode kernels at EP64 (8 nodes, the training layout),
    wire bytes over the 50 GB/s NIC; ``"decode_two_domains"``: its low-latency kernels at EP16
    (2 nodes), bytes over the NIC per measured latency."""
    net = catalog.load("networks")
    normal = net["deepep_normal_h800"]
    if link == "scale_up":
        one_way = net["h800_nvlink"].bidirectional_bandwidth / 2
        rate = (normal.intranode_dispatch_bandwidth if phase == "dispatch"
                else normal.intranode_combine_bandwidth)
        return rate / one_way
    if link == "scale_out":
        rate = getattr(normal, f"internode_{phase}_bandwidth_ep64")
        return deepep_wire_efficiency(rate, 64 / net["deepep_low_latency_h800"].gpus_per_node,
                                      normal.nic_bandwidth)
    if link == "scale_out_ep32":      # DeepSeek's prefill layout: EP32 over 4 nodes
        rate = getattr(normal, f"internode_{phase}_bandwidth_ep32")
        return deepep_wire_efficiency(rate, 32 / net["deepep_low_latency_h800"].gpus_per_node,
                                      normal.nic_bandwidth)
    if link == "decode_two_domains":
        return deepep_low_latency_efficiency(16, phase)
    raise ValueError(f"link='{link}': 'scale_up', 'scale_out', 'scale_out_ep32' or "
                     "'decode_two_domains'")


def link_efficiency_vs_working(phase: str) -> float:
    """DeepEP's intranode rate over the '~160 GB/s' NVLink maximum DeepEP itself quotes for the
    H800 (the other reading of :func:`link_efficiency` ``"scale_up"``, which uses the 200 GB/s
    one way of the spec)."""
    normal = catalog.load("networks")["deepep_normal_h800"]
    rate = (normal.intranode_dispatch_bandwidth if phase == "dispatch"
            else normal.intranode_combine_bandwidth)
    return rate / normal.nvlink_bandwidth


def gemm_efficiency() -> float:
    """DeepGEMM's FP8 grouped GEMMs for DeepSeek-V3's experts on an H800, FLOP-weighted (gate and
    up are two thirds of an expert's FLOPs, down one third), over the dense FP8 peak."""
    g = catalog.load("moe_rack")["deepgemm_h800"]
    achieved = 1 / ((2 / 3) / g.expert_up_flops + (1 / 3) / g.expert_down_flops)
    return achieved / g.fp8_peak_flops


def attention_efficiency() -> float:
    """FlashAttention-3's forward rate over the H100's dense BF16 peak."""
    fa = catalog.load("moe_rack")["flashattention3_h100"]
    return fa.bf16_flops / fa.bf16_peak_flops


def overlap_values(model, acc, over: str = "scale_up", context: float | None = None) -> dict:
    """Every symbol of :data:`a2a_over_layer` for ``model`` on ``acc``: ``over="scale_up"`` is an
    expert group filling one domain over NVLink, ``"scale_out"`` one spanning many domains over
    the NIC with node-limited routing (n -> oo: every chosen domain is another one). The context
    is DeepSeek's service mean (4,989 tokens) unless given."""
    s = shapes(model)
    sched = catalog.load("moe_rack")["deepseek_v3_schedule"]
    link = acc.scale_up_bandwidth if over == "scale_up" else acc.scale_out_bandwidth
    copies = (model.active_experts * (1 - 1 / acc.scale_up_domain) if over == "scale_up"
              else sched.max_nodes_per_token)
    if context is None:
        context = catalog.load("moe_rack")["deepseek_online_service"].mean_context
    return {c_link: copies, d: model.hidden_size, b_d: FP8_BYTES, b_c: BF16_BYTES,
            eta_d: link_efficiency(over, "dispatch"), eta_c: link_efficiency(over, "combine"),
            W_link: link, P_nr: non_routed_params(model), k_e: model.active_experts,
            P_e: expert_size(model), eta_F: gemm_efficiency(), F: fp8_flops(acc),
            n_h: model.n_heads, d_qk: s.qk_nope_head_dim + model.qk_rope_head_dim,
            d_v: s.v_head_dim, L: context, eta_A: attention_efficiency(),
            F_att: acc.bf16_dense_flops}


# --- two domains in decode: pipeline them, or spread every layer across both --------------
# n domains of D GPUs hold the FP8 weights; T decode tokens per GPU, n D T in all.
# Pipeline: each domain is a stage; n micro-batches of D T tokens are in flight, and a token's
# step reads every stage's weights at that stage's D GPUs in turn, then hops n boundaries.
# Expert parallel: every layer spread over all n D GPUs, which read their share at once; then
# each MoE layer's dispatch and combine cross the NIC on the token's path.
t_decode_pipeline = N_tot * b_w / (D * W) + n_dom * (alpha + T_gpu * d * b_a / W_out)
t_decode_expert_parallel = N_tot * b_w / (n_dom * D * W) + n_moe * T_gpu * k_e * d * (
    1 - 1 / n_dom) * (b_d / eta_d + b_c / eta_c) / W_out
# the KV cache of those tokens is read at the same aggregate rate either way
kv_read_pipeline = (D * T_gpu) * L * b_kv / (D * W)
kv_read_expert_parallel = (n_dom * D * T_gpu) * L * b_kv / (n_dom * D * W)
decode_floor_n_domains = sp.Min(t_decode_pipeline, t_decode_expert_parallel)
# the spread layout under DeepSeek's two-micro-batch overlap: each micro-batch's all-to-all
# hides under the other's layer, but in decode every micro-batch re-reads the expert weights,
# so the step is the longer of two weight reads and the whole all-to-all
t_decode_expert_parallel_overlap = sp.Max(
    2 * N_tot * b_w / (n_dom * D * W),
    t_decode_expert_parallel - N_tot * b_w / (n_dom * D * W))


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
# the fewest whole domains whose HBM holds the weights; a replica that needs several pipelines
# across them (each expert layer inside one domain), and a token's step visits them in turn, so
# its floor is the weights over ONE domain's bandwidth however many there are. Spreading every
# layer over all of them instead costs the all-to-all over the NIC (t_decode_expert_parallel).
domains_for_weights = sp.ceiling(N_tot * b_w / domain_hbm_bytes)
latency_floor_pipelined = N_tot * b_w / (D * W)


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


# DeepSeek-V3's layer under DeepSeek's overlap at measured rates (as overlap_values)
_OVERLAP = {k_e: field("models", "deepseek_v3", "active_experts"),
            d: field("models", "deepseek_v3", "hidden_size"),
            b_d: const(FP8_BYTES, "bytes per FP8 activation (dispatch)"),
            b_c: const(BF16_BYTES, "bytes per BF16 activation (combine)"),
            P_e: derived(lambda: expert_size(_model("deepseek_v3")),
                         "DeepSeek-V3 parameters per routed expert, 3 x hidden x moe_inter_dim"),
            P_nr: derived(lambda: non_routed_params(_model("deepseek_v3")),
                          "DeepSeek-V3 attention, shared-expert and router parameters per layer"),
            eta_F: derived(gemm_efficiency, "DeepGEMM grouped FP8 GEMMs on H800 / FP8 peak"),
            F: hw("fp8_dense_flops", "bf16_dense_flops"),
            n_h: field("models", "deepseek_v3", "n_heads"),
            d_qk: derived(lambda: shapes(_model("deepseek_v3")).qk_nope_head_dim
                          + _model("deepseek_v3").qk_rope_head_dim, "qk_nope + qk_rope"),
            d_v: field("moe_rack", "deepseek_v3_shapes", "v_head_dim"),
            L: field("moe_rack", "deepseek_online_service", "mean_context"),
            eta_A: derived(attention_efficiency, "FlashAttention-3 on H100 / BF16 peak"),
            F_att: hw("bf16_dense_flops")}
_MAX_NODES = field("moe_rack", "deepseek_v3_schedule", "max_nodes_per_token")


def _link_inputs(link: str) -> dict:
    return {eta_d: derived(lambda: link_efficiency(link, "dispatch"),
                           f"DeepEP measured / nominal, {link}, dispatch"),
            eta_c: derived(lambda: link_efficiency(link, "combine"),
                           f"DeepEP measured / nominal, {link}, combine")}


_TWO_DOMAINS = {**_weights("deepseek_v3"), D: hw("scale_up_domain"), W: hw("hbm_bandwidth"),
                W_out: hw("scale_out_bandwidth"),
                alpha: field("networks", "infiniband_ndr_switch", "port_to_port_latency"),
                T_gpu: field("networks", "deepep_low_latency_h800", "tokens"),
                d: field("models", "deepseek_v3", "hidden_size"),
                k_e: field("models", "deepseek_v3", "active_experts"),
                n_moe: derived(lambda: _model("deepseek_v3").n_layers
                               - _model("deepseek_v3").n_dense_layers, "DeepSeek-V3 MoE layers"),
                b_a: const(BF16_BYTES, "bytes per BF16 activation (pipeline boundary)"),
                b_d: const(FP8_BYTES, "bytes per FP8 activation (dispatch)"),
                b_c: const(BF16_BYTES, "bytes per BF16 activation (combine)"),
                **_link_inputs("decode_two_domains")}


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
             "DeepSeek-V3 FP8 weights read once per step at one scale-up domain's aggregate HBM "
             "bandwidth (a replica that needs several domains pipelines across them, and a "
             "token's step visits them in turn)",
             1000 * latency_floor_pipelined,
             {**_weights("deepseek_v3"), D: hw("scale_up_domain"), W: hw("hbm_bandwidth")}),
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
    Headline("deepseek_v3_a2a_over_layer_scale_up", "ratio",
             "DeepSeek-V3 prefill: NVLink all-to-all time at DeepEP's measured rates / the other "
             "micro-batch's attention, shared and routed experts at measured rates (DeepSeek's "
             "overlap), expert group = one scale-up domain, context 4,989 tokens",
             a2a_over_layer.subs(c_link, copies_in_domain),
             {**_OVERLAP, **_link_inputs("scale_up"), W_link: hw("scale_up_bandwidth"),
              D: hw("scale_up_domain")}, claims=("RP-20",)),
    Headline("deepseek_v3_a2a_over_layer_scale_out", "ratio",
             "DeepSeek-V3 prefill: NIC all-to-all time with node-limited routing (one copy to "
             "each of at most 4 domains) at DeepEP's measured rates / the other micro-batch's "
             "layer at measured rates, context 4,989 tokens",
             a2a_over_layer.subs(c_link, M_dom),
             {**_OVERLAP, **_link_inputs("scale_out"), W_link: hw("scale_out_bandwidth"),
              M_dom: _MAX_NODES}, claims=("RP-20",)),
    Headline("deepseek_v3_prefill_context_to_hide_scale_out", "tokens",
             "DeepSeek-V3 prefill context above which the other micro-batch's layer (attention "
             "core included) outlasts the node-limited NIC all-to-all, at measured rates",
             sp.Max(context_to_hide.subs(c_link, M_dom), 0),
             {**{k: v for k, v in _OVERLAP.items() if k is not L}, **_link_inputs("scale_out"),
              W_link: hw("scale_out_bandwidth"), M_dom: _MAX_NODES}, fmt="integer"),
    Headline("deepseek_v3_training_comm_over_compute", "ratio",
             "DeepSeek-V3 training on this part with DeepSeek's layout (EP64 over 8 domains, at "
             "most 4 per token, 4K sequences): NIC all-to-all time / arithmetic time, forward "
             "and backward, at measured rates",
             training_comm_over_compute.subs(c_link, copies_across),
             {**_OVERLAP, **_link_inputs("scale_out"), W_link: hw("scale_out_bandwidth"),
              M_dom: _MAX_NODES,
              n_dom: field("moe_rack", "deepseek_v3_schedule", "training_ep_nodes"),
              L: field("moe_rack", "deepseek_v3_schedule", "training_sequence_length")}),
    Headline("deepseek_v3_decode_floor_ms_two_boards_pipeline", "ms",
             "DeepSeek-V3 decode step on two scale-up domains as pipeline stages: the FP8 weights "
             "at one domain's bandwidth plus two hops, at DeepEP's 128 tokens per GPU",
             1000 * t_decode_pipeline.subs(n_dom, 2), _TWO_DOMAINS),
    Headline("deepseek_v3_decode_floor_ms_two_boards_expert_parallel", "ms",
             "DeepSeek-V3 decode step with every layer spread over two scale-up domains: the FP8 "
             "weights at both domains' bandwidth plus 58 dispatches and combines over the NIC at "
             "DeepEP's measured EP16 rate, 128 tokens per GPU",
             1000 * t_decode_expert_parallel.subs(n_dom, 2), _TWO_DOMAINS),
    Headline("deepseek_v3_decode_latency_floor_ms_two_boards", "ms",
             "DeepSeek-V3 decode floor on two scale-up domains: the faster of pipelining them and "
             "spreading every layer over both (its all-to-all counted), 128 tokens per GPU",
             1000 * decode_floor_n_domains.subs(n_dom, 2), _TWO_DOMAINS),
]


def two_domain_values(acc) -> dict:
    """Every symbol of the two-domain decode layouts bound for ``acc`` (as the headlines)."""
    return {sym: inp.resolve(acc) for sym, inp in _TWO_DOMAINS.items()}
