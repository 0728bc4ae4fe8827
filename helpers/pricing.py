"""Chapter 4 formulas: what a price sheet says about the model and the hardware behind it.

Four questions, each a small formula that the chapter derives on the page and then asserts
equal to the one here:

* **Per-token decode cost.** Dividing chapter 1's decode roofline by the batch gives the
  accelerator-seconds of one generated token: arithmetic ``2 N_act / F``, the weight fetch
  ``N_tot b_w / (B W)`` shared by the batch, and the KV fetch ``L b_kv / W``, which grows with
  context and is *not* shared. A price that steps up with context is a bet on where the last term
  overtakes the first.
* **KV bytes from a price step.** If the KV-fetch time at the step's context ``L_step`` is
  ``kappa`` times the arithmetic time, ``b_kv = kappa * 2 N_act W / (F L_step)``. The lecture
  takes ``kappa = 1`` (the step sits at the crossover); the step's *size* gives other readings.
* **Output/input price ratio.** If prices track cost, decode (output) over prefill (input) per
  token is ``B*/B + L/L_x``: the ratio measures how far below the balance batch decode runs.
* **Cache tiers.** A tier that keeps an item for its time-to-live ``T`` and reads it about once
  uses its bandwidth and its capacity evenly when ``T`` equals the drain time ``C / W_tier``; a
  networked storage node reads only through its NICs, ``n C_ssd / min(W_nic, n W_ssd)``.

The second edition adds: the step reading's sensitivity to speculative decoding (the KV fetch
per token is divided by the acceptance length ``n_acc``) and to the active parameters; capacity
as a second mechanism (the step where a replica can no longer hold the balance batch implies
``C / M_w - 1`` times the bandwidth reading's bytes); the input and output steps read together
(an attention intensity ``2 (q_in - 1) F / W`` and an implied output step ``2 q_in - 1``); MLA's
attention FLOPs in decode (absorbed) and prefill (MHA mode); the crossover with attention
arithmetic counted (never once ``a_kv / b_kv >= F / W``); and DeepSeek's measured cost ratio,
a ratio of prefill to decode utilisation. ``q`` is a price ratio throughout (chapter 5's ``rho``
is a byte ratio).

The conventions of :mod:`helpers.formulas` hold: 2 FLOPs per active parameter, dense FLOP/s,
bytes per second, ``B`` counts sequences. The chapter's headlines (every hardware-dependent
result, the lecture's KV size and the input step's attention FLOPs) are the
:class:`~helpers.registry.Headline` entries of ``HEADLINES`` at the end.
"""
from __future__ import annotations

import math

import sympy as sp

from . import catalog, formulas as f, units as U
from .registry import Headline, claimed, const, derived, field, hw, hw_other

# --- symbols -------------------------------------------------------------------------------
L_step = sp.Symbol(r"L_\mathrm{step}", positive=True)   # context at which a price steps up
kappa = sp.Symbol(r"\kappa", positive=True)             # KV time / arithmetic time at L_step
q = sp.Symbol("q", positive=True)                       # a price ratio (long/short, out/in)
r = sp.Symbol("r", positive=True)                       # hardware ratio F/W, FLOP per byte
beta = sp.Symbol(r"\beta", positive=True)               # bytes per cached element
n_L = sp.Symbol(r"n_L", positive=True)                  # layers
n_kv = sp.Symbol(r"n_\mathrm{kv}", positive=True)       # KV heads per layer
d_h = sp.Symbol(r"d_h", positive=True)                  # head dimension
g = sp.Symbol("g", positive=True)                       # layers that share one KV cache
C = sp.Symbol("C", positive=True)                       # tier capacity, bytes
W_tier = sp.Symbol(r"W_\mathrm{tier}", positive=True)   # tier read bandwidth, bytes/s
p_store = sp.Symbol(r"p_\mathrm{store}", positive=True) # storage price, USD per token per second
p_in = sp.Symbol(r"p_\mathrm{in}", positive=True)       # input (cache miss) price, USD per token
p_out = sp.Symbol(r"p_\mathrm{out}", positive=True)     # output price, USD per token
p_hit = sp.Symbol(r"p_\mathrm{hit}", positive=True)     # cache-read (hit) price, USD per token
p_write = sp.Symbol(r"p_\mathrm{write}", positive=True) # cache-write price, USD per token
p_short = sp.Symbol(r"p_{\le}", positive=True)          # a price line up to the step
p_long = sp.Symbol(r"p_{>}", positive=True)             # the same line past the step
T = sp.Symbol("T", positive=True)                       # cache time-to-live, s
b_grow = sp.Symbol(r"b_\mathrm{grow}", positive=True)   # cache bytes read per token of context
b_fixed = sp.Symbol(r"b_\mathrm{fixed}", positive=True) # cache bytes read whatever the context
L_thr = sp.Symbol(r"L_\mathrm{thr}", positive=True)     # window / top-k: below it all is read
n_acc = sp.Symbol(r"n_\mathrm{acc}", positive=True)     # tokens accepted per cache read
n_ver = sp.Symbol(r"n_\mathrm{ver}", positive=True)     # tokens verified per cache read (k + 1)
n_h = sp.Symbol(r"n_h", positive=True)                  # query heads per layer
d_c = sp.Symbol(r"d_c", positive=True)                  # MLA latent width (kv_lora_rank)
d_R = sp.Symbol(r"d_R", positive=True)                  # MLA RoPE key width
d_nope = sp.Symbol(r"d_\mathrm{nope}", positive=True)   # MLA query/key width without RoPE
d_v = sp.Symbol(r"d_v", positive=True)                  # width of one value sum
X_pre = sp.Symbol(r"X_\mathrm{pre}", positive=True)     # measured prefill tokens/s per node
X_dec = sp.Symbol(r"X_\mathrm{dec}", positive=True)     # measured decode tokens/s per node
s_hit = sp.Symbol(r"s_\mathrm{hit}", positive=True)     # share of input tokens that hit the cache
F_8 = sp.Symbol(r"F_\mathrm{FP8}", positive=True)       # dense FP8 FLOP/s (the weights' matmuls)
n_ssd = sp.Symbol(r"n_\mathrm{ssd}", positive=True)     # drives in a storage node
C_ssd = sp.Symbol(r"C_\mathrm{ssd}", positive=True)     # capacity of one drive, bytes
W_ssd = sp.Symbol(r"W_\mathrm{ssd}", positive=True)     # read bandwidth of one drive, bytes/s
W_nic = sp.Symbol(r"W_\mathrm{nic}", positive=True)     # a storage node's NIC bandwidth, bytes/s
n_gpu = sp.Symbol(r"n_\mathrm{gpu}", positive=True)     # accelerators per node
n_dom = sp.Symbol(r"n_\mathrm{dom}", positive=True)     # accelerators in one replica (a domain)
C_alt = sp.Symbol(r"C_\mathrm{alt}", positive=True)     # the same printed capacity, other unit
M_w = sp.Symbol(r"M_\mathrm{w}", positive=True)         # weight bytes of a replica, N_tot b_w

SYMBOL_MEANING = {
    L_step: "context length at which a price steps up (tokens)",
    kappa: "KV-fetch time ÷ arithmetic time per token, at the step",
    q: "a price ratio (a quotient of two prices): long ÷ short context, or output ÷ input",
    r: "hardware ratio F/W, FLOP per byte",
    beta: "bytes per cached element",
    g: "layers that share one KV cache",
    C: "capacity of a memory tier, bytes",
    W_tier: "read bandwidth of a memory tier, bytes/s",
    n_acc: "tokens accepted per verification step (speculative decoding): one cache read each",
    n_ver: "tokens verified per verification step, k + 1 (each costs 2 N_act FLOPs)",
    n_h: "query heads per layer",
    d_c: "MLA latent width (cached per token and layer)",
    d_R: "MLA RoPE key width (cached per token and layer)",
    d_nope: "MLA query/key width without RoPE (un-absorbed form)",
    d_v: "width of one value sum (un-absorbed form)",
    X_pre: "measured prefill throughput, input tokens/s per node",
    X_dec: "measured decode throughput, output tokens/s per node",
    s_hit: "share of input tokens served from the cache",
    F_8: "dense FP8 FLOP/s (the BF16 rate on a part without FP8 units)",
    n_ssd: "drives in a networked storage node",
    C_ssd: "capacity of one drive, bytes",
    W_ssd: "read bandwidth of one drive, bytes/s",
    W_nic: "network bandwidth of a storage node, bytes/s",
    n_gpu: "accelerators per node",
    n_dom: "accelerators in one replica (one scale-up domain)",
    C_alt: "the same printed HBM capacity read in its other unit (GB vs GiB)",
    M_w: "weight bytes a replica holds, N_tot b_w",
}

# --- per-token decode cost -----------------------------------------------------------------
t_compute_token = f.t_compute / f.B                     # 2 N_act / F
t_weights_token = f.t_weights / f.B                     # N_tot b_w / (B W): shared by the batch
t_kv_token = f.t_kv / f.B                               # L b_kv / W: every sequence its own
# overlapped (the roofline, a lower bound on the cost)
decode_cost_token = sp.Max(t_compute_token, t_weights_token + t_kv_token)

# context at which the KV fetch of one token takes as long as its arithmetic
(kv_crossover_context,) = sp.solve(sp.Eq(t_kv_token, t_compute_token), f.L)

# --- KV bytes from a price step ------------------------------------------------------------
(kv_bytes_from_step,) = sp.solve(
    sp.Eq(t_kv_token.subs(f.L, L_step), kappa * t_compute_token), f.b_kv)
# the lecture's form: one multiply per parameter against r = F/W "multiplies per element";
# it counts *elements* of cache (bytes only at one byte per element)
kv_elements_lecture = f.N_act / (r * L_step)

# Three readings of a price step of size q, each a value of kappa:
# * onset: the step sits where KV fetch starts to cost as much as arithmetic (the lecture);
#   its size is not used.
# * serial, tiers priced at their lower edge: cost = arithmetic + KV; the long tier's price is
#   the cost at L_step, the short tier's the cost at zero context: 1 + kappa = q.
# * overlapped, same edges: cost = max(arithmetic, KV); below the step the price pays for
#   arithmetic, above it for the KV fetch at L_step: kappa = q.
KAPPA_READINGS = {"onset (lecture)": sp.Integer(1),
                  "serial cost, tiers priced at their lower edge": q - 1,
                  "overlapped cost, tiers priced at their lower edge": q}
kv_bytes_at_onset = kv_bytes_from_step.subs(kappa, 1)
# the smallest and largest reading of a step from p_short to p_long
_step_size = {q: p_long / p_short}
kv_bytes_from_step_low = kv_bytes_from_step.subs(kappa, sp.Min(*KAPPA_READINGS.values()))
kv_bytes_from_step_high = kv_bytes_from_step.subs(kappa, sp.Max(*KAPPA_READINGS.values()))


def kappa_readings(price_ratio: float) -> dict[str, float]:
    """KV-fetch / arithmetic time at the step under each of :data:`KAPPA_READINGS`."""
    if price_ratio <= 1:
        raise ValueError(f"a price step must raise the price, got ratio {price_ratio}")
    return {k: f.evaluate(v, {q: price_ratio}) for k, v in KAPPA_READINGS.items()}


# Speculative decoding: one verification pass reads each sequence's cache once, computes n_ver =
# k + 1 tokens (the next one and k drafts) and accepts n_acc of them. Per accepted token the KV
# fetch is L b_kv / (n_acc W) and the arithmetic 2 N_act n_ver / (n_acc F): the acceptance
# cancels, and the step reading is multiplied by the tokens *verified*, not accepted
(kv_bytes_from_step_spec,) = sp.solve(
    sp.Eq(t_kv_token.subs(f.L, L_step) / n_acc, kappa * t_compute_token * n_ver / n_acc), f.b_kv)
kv_bytes_at_onset_spec = kv_bytes_from_step_spec.subs(kappa, 1)

# A second mechanism, capacity: a replica of HBM capacity C holding M_w = N_tot b_w of weights
# holds (C - M_w) / (L b_kv) sequences; the step sits where that falls below the balance batch B*
(kv_bytes_capacity_step,) = sp.solve(
    sp.Eq((C - f.N_tot * f.b_w) / (L_step * f.b_kv), f.balance_batch()), f.b_kv)
capacity_over_bandwidth_step = sp.simplify(
    (kv_bytes_capacity_step / kv_bytes_at_onset).subs(f.N_tot, M_w / f.b_w))   # C / M_w - 1
# zero where the weights do not fit the replica at all
capacity_step_factor = sp.Piecewise((capacity_over_bandwidth_step, M_w < C), (0, True))

# --- the input (prefill) step reads attention FLOPs, not KV bytes ---------------------------
# a causal prompt of length L: each token attends to L/2 earlier ones on average
prefill_cost_token = (2 * f.N_act + f.a_kv * f.L / 2) / f.F
(attention_flops_from_input_step,) = sp.solve(
    sp.Eq(prefill_cost_token.subs(f.L, L_step), q * prefill_cost_token.subs(f.L, 0)), f.a_kv)

# The input and output steps read together. The input step's attention FLOPs over the output
# step's cache bytes (onset reading) is an attention intensity, 2 (q - 1) F / W; and a decode
# token at L_step would do a_kv L_step of attention arithmetic beside 2 N_act, so the output cost
# would rise by at least 1 + 2 (q - 1) from arithmetic alone (decode attends to all L, not L/2)
joint_attention_intensity = sp.simplify(attention_flops_from_input_step / kv_bytes_at_onset)
output_step_implied_by_input = sp.simplify(
    (2 * f.N_act + attention_flops_from_input_step * L_step) / (2 * f.N_act))

# MLA attention FLOPs per generated token per context token, all layers. Absorbed (decode, MQA
# mode): every head scores the latent + RoPE key and sums the latent. Un-absorbed (prefill, MHA
# mode): every head has its own key of d_nope + d_R and value of d_v, expanded from the latent
mla_decode_flops = n_L * n_h * 2 * (2 * d_c + d_R)
mla_prefill_flops = n_L * n_h * 2 * (d_nope + d_R + d_v)

# With attention arithmetic a_kv L beside the weights' 2 N_act, the KV read overtakes all of the
# arithmetic at 2 N_act W / (F b_kv - a_kv W), and never once a_kv / b_kv reaches F / W
kv_crossover_with_attention = sp.Piecewise((sp.oo, f.a_kv * f.W >= f.F * f.b_kv),
                                           (f.max_compute_bound_context, True))

# --- output / input price ratio ------------------------------------------------------------
# prefill is compute-bound at peak: 2 N_act / F per token; decode is memory-bound below B*
output_input_cost_ratio = (t_weights_token + t_kv_token) / t_compute_token
(implied_decode_batch,) = sp.solve(sp.Eq(output_input_cost_ratio, q), f.B)
# once L/L_x reaches q the KV reads alone cost more than the ratio allows: no batch does
implied_decode_batch_or_none = sp.Piecewise((sp.oo, q <= f.L / kv_crossover_context),
                                            (implied_decode_batch, True))


# DeepSeek's measured costs (its inference-system overview): node-seconds per output token over
# node-seconds per input token; per cache-miss token if a hit costs no prefill at all
measured_cost_ratio = X_pre / X_dec
measured_cost_ratio_per_miss = X_pre * (1 - s_hit) / X_dec
# the share of a node's FP8 peak the weights' 2 N_act FLOPs per token use: the ratio of the two
# utilisations is the measured cost ratio
weight_flops_utilisation = f.B * 2 * f.N_act / (n_gpu * F_8)      # B: tokens/s per node here
# the same as a share of the node's time, every FLOP at its own rate: weights at F_FP8, MLA
# attention at F (BF16); decode attends to all L, a prompt token to L/2 on average; a cache hit
# computes nothing (only the miss share 1 - s_hit of input tokens is prefilled)
arithmetic_time_utilisation_decode = f.B * (2 * f.N_act / F_8 + f.a_kv * f.L / f.F) / n_gpu
arithmetic_time_utilisation_prefill = (f.B * (1 - s_hit)
                                       * (2 * f.N_act / F_8 + f.a_kv * f.L / 2 / f.F) / n_gpu)
# one decode token at context L: KV read time over all arithmetic (FP8 weight matmuls, attention
# at F: DeepSeek runs core MLA in BF16)
kv_read_over_all_arithmetic = (f.L * f.b_kv / f.W) / (2 * f.N_act / F_8 + f.L * f.a_kv / f.F)

# --- KV-cache size per token, per layer and whole model ------------------------------------
# cross-layer sharing (stated symbolically): groups of g adjacent layers share one K and V
kv_bytes_shared = (n_L / g) * 2 * n_kv * d_h * beta


def indexer_format() -> tuple[float, float]:
    """DeepSeek-V3.2's indexer key format: bytes per key element, bytes of scale per key."""
    e = catalog.load("memory_tiers")["deepseek_v32_indexer_cache"]
    return e.key_bytes_per_element, e.scale_bytes_per_key


def kv_layer_elements(model) -> float:
    """Cached elements per token in one attention layer (the main K/V or MLA latent only)."""
    att = model.text["attention"]
    if att in ("mha", "gqa", "hybrid_sliding_gqa"):
        return 2 * model.n_kv_heads * model.head_dim
    if att == "mla":
        return model.kv_lora_rank + model.qk_rope_head_dim
    raise ValueError(f"{model.key}: attention '{att}' has no KV shape")  # pragma: no cover


def kv_index_bytes_per_layer(model, key_bytes: float, scale_bytes: float) -> float:
    """DeepSeek Sparse Attention's lightning-indexer key: one ``index_head_dim`` key per token
    and layer at ``key_bytes`` per element, plus its ``scale_bytes`` of scale; zero without DSA."""
    if not model.has("index_head_dim"):
        return 0.0
    return model.index_head_dim * key_bytes + scale_bytes


def kv_read_terms(model, bytes_per_element: float, key_bytes: float = 1.0,
                  scale_bytes: float = 0.0) -> tuple[float, float]:
    """Cache bytes one generated token reads at context L, all layers, as ``grow * L + fixed``
    (valid once L exceeds any window or top-k).

    * dense GQA / MLA: every layer reads every token: grow = n_L x layer bytes, fixed = 0.
    * sliding-window layers read only the last ``sliding_window`` tokens: they move to ``fixed``.
    * DeepSeek Sparse Attention: the indexer keys of every token are read (``grow``), but the
      main MLA cache only for the ``index_topk`` selected tokens (``fixed``).
    """
    layer = kv_layer_elements(model) * bytes_per_element
    n = model.n_layers
    if model.has("index_topk"):
        index = kv_index_bytes_per_layer(model, key_bytes, scale_bytes)
        return n * index, n * layer * model.index_topk
    if model.has("n_sliding_layers"):
        n_slide = model.n_sliding_layers
        return (n - n_slide) * layer, n_slide * layer * model.sliding_window
    return n * layer, 0.0


def kv_stored_bytes_per_token(model, bytes_per_element: float, key_bytes: float = 1.0,
                              scale_bytes: float = 0.0, context: float = math.inf) -> float:
    """Bytes the cache *holds* per token of a ``context``-token sequence (what a cache tier
    stores).

    Dense and DSA models keep every token in every layer (DSA adds its indexer key); sliding
    layers keep only their window, so their share per token falls as 1/context.
    """
    layer = kv_layer_elements(model) * bytes_per_element
    n = model.n_layers
    if model.has("n_sliding_layers"):
        n_slide = model.n_sliding_layers
        window_share = 0.0 if math.isinf(context) else min(1.0, model.sliding_window / context)
        return (n - n_slide) * layer + n_slide * layer * window_share
    return n * (layer + kv_index_bytes_per_layer(model, key_bytes, scale_bytes))


def kv_read_threshold(model) -> float:
    """Context below which a windowed or top-k cache still reads every token (0 for dense)."""
    if model.has("index_topk"):
        return model.index_topk
    if model.has("n_sliding_layers"):
        return model.sliding_window
    return 0.0


def kv_read_bytes(model, context, bytes_per_element: float, key_bytes: float = 1.0,
                  scale_bytes: float = 0.0):
    """Cache bytes one generated token reads at ``context`` (a number or a numpy array).

    Above the window / top-k threshold: ``grow * L + fixed``; below it every layer still reads
    every token, ``L * (grow + fixed / threshold)``. The two pieces meet at the threshold."""
    import numpy as np

    grow, fixed = kv_read_terms(model, bytes_per_element, key_bytes, scale_bytes)
    thr = kv_read_threshold(model)
    ctx = np.asarray(context, dtype=float)
    if thr == 0:
        out = grow * ctx
    else:
        out = np.where(ctx >= thr, grow * ctx + fixed, ctx * (grow + fixed / thr))
    return out if out.ndim else float(out)


# the crossover on the piecewise read: the bytes the arithmetic time lets the memory deliver,
# 2 N_act W / F, met below the threshold (L (b_grow + b_fixed / L_thr)) or above it
# (b_grow L + b_fixed); for a dense cache (b_fixed = L_thr = 0) it is 2 N_act W / (F b_grow)
_read_budget = 2 * f.N_act * f.W / f.F
kv_read_crossover = sp.Piecewise(
    (_read_budget * L_thr / (b_grow * L_thr + b_fixed), b_grow * L_thr + b_fixed >= _read_budget),
    ((_read_budget - b_fixed) / b_grow, True))


def crossover_context(model, accelerator, bytes_per_element: float = 2.0,
                      key_bytes: float = 1.0, scale_bytes: float = 0.0) -> float:
    """Context at which the cache bytes one token reads take as long as its weight arithmetic
    (``2 N_act`` FLOPs at dense BF16): :data:`kv_read_crossover` for this model and chip."""
    grow, fixed = kv_read_terms(model, bytes_per_element, key_bytes, scale_bytes)
    return f.evaluate(kv_read_crossover, {
        f.N_act: model.active_params, f.W: accelerator.hbm_bandwidth,
        f.F: accelerator.bf16_dense_flops, b_grow: grow, b_fixed: fixed,
        L_thr: kv_read_threshold(model)})


# --- cache pricing as a memory hierarchy ---------------------------------------------------
drain_time = C / W_tier
# one convention for HBM: the printed number read in decimal bytes (the smaller reading)
drain_time_hbm = sp.Min(C, C_alt) / W_tier
# a networked storage node serves reads only through its NICs: capacity / min(NICs, drives)
networked_drain_time = n_ssd * C_ssd / sp.Min(W_nic, n_ssd * W_ssd)
# a cache hit is worth keeping while holding it costs less than serving a miss instead
break_even_hold_time = (p_in - p_hit) / p_store
# Anthropic-style: a write premium over the base input price buys T seconds of storage
implied_storage_price = (p_write - p_in) / T


def hbm_capacity_decimal(acc) -> float:
    """An accelerator's HBM capacity under the chapter's one convention: the printed number read
    in decimal bytes, the smaller of its two readings (NVIDIA's "80 GB" as 80e9 B, Google's
    "192 GiB" as 192e9 B), as :data:`drain_time_hbm` reads it."""
    fld = acc.fields["hbm_capacity"]
    other = U.other_reading(fld)
    return fld.si if other is None else min(fld.si, other)


def usd_per_gb_hour(storage_usd_per_token_second: float, kv_bytes_per_token: float) -> float:
    """Storage price per token per second, re-expressed per GB (decimal) per hour."""
    return storage_usd_per_token_second * 3600 / (kv_bytes_per_token / 1e9)


def drain_seconds(capacity_bytes: float, bandwidth_bytes_per_s: float) -> float:
    return f.evaluate(drain_time, {C: capacity_bytes, W_tier: bandwidth_bytes_per_s})


_VENDORS = ("NVIDIA ", "AMD Instinct ", "AMD ", "Google ")
_SUFFIXES = (" SXM5", " SXM4", " SXM", " NVL144", " NVL72")


def part_name(entry) -> str:
    """A part's short name for tables and figure labels ("H100", "GB200", "TPU v5e", "MI300X"):
    its catalog name without the vendor, the form factor and any parenthesis."""
    name = str(entry.name).split(" (")[0].strip()
    for prefix in _VENDORS:
        if name.startswith(prefix) and len(name) > len(prefix):
            name = name[len(prefix):]
            break
    for suffix in _SUFFIXES:
        if name.endswith(suffix):
            name = name[: -len(suffix)]
    return name or str(entry.name)


# --- the headlines -------------------------------------------------------------------------
BF16_BYTES = 2
GEMINI = "gemini_2_5_pro_2026_03"            # the price sheet whose 200k step the chapter reads
DEEPSEEK_API = "deepseek_v3_2_api"           # DeepSeek's own output / input ratio
EX_CONTEXT_SHORT, EX_CONTEXT_LONG = 2048, 32768   # the output/input exercise's two contexts

_CHIP = {f.F: hw("bf16_dense_flops"), f.W: hw("hbm_bandwidth")}
_STEP = {f.N_act: claimed("RP-15", "active_params"),
         L_step: field("prices", GEMINI, "long_context_threshold")}
_OUTPUT_STEP = {p_short: field("prices", GEMINI, "output"),
                p_long: field("prices", GEMINI, "output_long")}
_INPUT_STEP = {p_short: field("prices", GEMINI, "input"),
               p_long: field("prices", GEMINI, "input_long")}
_LECTURE = {f.N_act: claimed("RP-15", "active_params"), r: claimed("RP-15", "hardware_ratio"),
            L_step: claimed("RP-15", "step_context")}


def _kv_read(key: str, label: str) -> dict:
    """A catalogued model's BF16 cache read as ``b_grow L + b_fixed`` past ``L_thr``."""
    def term(i: int):
        return lambda: kv_read_terms(catalog.models()[key], BF16_BYTES, *indexer_format())[i]
    return {f.N_act: field("models", key, "active_params"),
            b_grow: derived(term(0), f"{label}: BF16 cache bytes read per context token "
                                     "(pricing.kv_read_terms)"),
            b_fixed: derived(term(1), f"{label}: BF16 cache bytes read whatever the context "
                                      "(pricing.kv_read_terms)"),
            L_thr: derived(lambda: kv_read_threshold(catalog.models()[key]),
                           f"{label}: window or top-k (pricing.kv_read_threshold)")}


def _crossover(key: str, label: str) -> Headline:
    return Headline(f"kv_crossover_context_{key}", "tokens",
                    f"context at which {label}'s BF16 KV read per token equals its BF16 "
                    "arithmetic per token", kv_read_crossover, {**_CHIP, **_kv_read(key, label)},
                    fmt="integer")


_DEEPSEEK = {f.N_tot: field("models", "deepseek_v3", "total_params"),
             f.N_act: field("models", "deepseek_v3", "active_params"),
             f.b_w: const(BF16_BYTES, "bytes per BF16 weight"),
             f.b_kv: derived(lambda: f.kv_bytes_per_token(catalog.models()["deepseek_v3"],
                                                          BF16_BYTES),
                             "DeepSeek-V3 BF16 MLA cache bytes/token "
                             "(formulas.kv_bytes_per_token)")}

# a price ratio as the headline reads it: (its expression, where its symbols come from)
_DEEPSEEK_RATIO = (p_out / p_in, {p_out: field("prices", DEEPSEEK_API, "output"),
                                  p_in: field("prices", DEEPSEEK_API, "input")})
_CLAIMED_RATIO = (q, {q: claimed("RP-17", "output_input_ratio")})


def _batch(name: str, description: str, context: int, ratio: tuple) -> Headline:
    ratio_expr, ratio_inputs = ratio
    return Headline(name, "sequences", description + " (inf: no batch covers the KV reads)",
                    implied_decode_batch_or_none.subs(q, ratio_expr),
                    {**_CHIP, **_DEEPSEEK, **ratio_inputs,
                     f.L: const(context, f"a {context:,}-token context")},
                    claims=("RP-17",), fmt="sequences")


# --- the new readings' inputs ---------------------------------------------------------------
FP8_BYTES = 1
_FP8_CHIP = {f.F: hw("fp8_dense_flops"), f.W: hw("hbm_bandwidth")}   # as the _fp8 step headline
_DS_MLA = {n_L: field("models", "deepseek_v3", "n_layers"),
           n_h: field("models", "deepseek_v3", "n_heads"),
           d_R: field("models", "deepseek_v3", "qk_rope_head_dim"),
           d_nope: field("attention_reports", "deepseek_v3_mla_dims", "qk_nope_head_dim"),
           d_v: field("attention_reports", "deepseek_v3_mla_dims", "v_head_dim")}


def deepseek_v3_fp8_cache_bytes() -> float:
    """DeepSeek's deployed FP8 MLA cache (FlashMLA's 656-byte entry) per token, all layers."""
    entry = catalog.load("attention_reports")["flashmla_fp8_cache"].entry_bytes
    return catalog.models()["deepseek_v3"].n_layers * entry


def _ds_decode_flops() -> float:
    return f.attention_flops_per_context_token(catalog.models()["deepseek_v3"])


_DS_ATTN = {f.a_kv: derived(_ds_decode_flops, "DeepSeek-V3 absorbed-MLA decode FLOPs per "
                                              "context token (formulas)"),
            f.N_act: field("models", "deepseek_v3", "active_params")}
_DS_BF16_CACHE = {f.b_kv: _DEEPSEEK[f.b_kv]}
_DS_FP8_CACHE = {f.b_kv: derived(deepseek_v3_fp8_cache_bytes, "DeepSeek-V3 FP8 MLA cache, "
                                 "FlashMLA's 656 B per token and layer (attention_reports)")}
_SERVICE = "deepseek_v3_r1_service_2025_02"
_MEASURED = {X_pre: field("usage", _SERVICE, "prefill_tokens_per_node"),
             X_dec: field("usage", _SERVICE, "decode_tokens_per_node"),
             s_hit: derived(lambda: (lambda e: e.cache_hit_tokens / e.input_tokens)(
                 catalog.load("usage")[_SERVICE]), "DeepSeek's cache-hit share of input tokens "
                                                   "(usage.yaml)")}
# the H800 has the H100 SXM's tensor-core rates and HBM (attention_reports flashmla_h800_rates)
_H800_UTIL = {n_gpu: field("usage", _SERVICE, "gpus_per_node"),
              F_8: field("accelerators", "h100", "fp8_dense_flops"),
              f.N_act: field("models", "deepseek_v3", "active_params")}
# DeepSeek-V3's MTP drafts one token (its acceptance is "of the second token"), verified together
# with the next: two tokens computed per cache read (usage.yaml deepseek_v3_mtp)
_MTP = {n_ver: const(2, "tokens verified per pass with DeepSeek-V3's one-token MTP draft")}
_HBM_DECIMAL = {C: hw("hbm_capacity"), C_alt: hw_other("hbm_capacity")}


def _step_for(key: str) -> dict:
    """The 200k step read for another model's active parameters."""
    return {**_STEP, f.N_act: field("models", key, "active_params")}


HEADLINES = [
    # the lecture's numbers and the input step: no accelerator in them
    Headline("kv_bytes_per_token_lecture", "bytes/token",
             "the lecture's derivation: N_act / (ratio x L_step) with 100B active, ratio 300, "
             "200k (elements per token; bytes at one byte per element)", kv_elements_lecture,
             _LECTURE, claims=("RP-15",), fmt="integer"),
    Headline("attention_flops_per_context_token_input_step", "FLOP/token",
             "attention FLOPs per token of context implied by Gemini's input step (100B active)",
             attention_flops_from_input_step.subs(_step_size), {**_STEP, **_INPUT_STEP},
             claims=("RP-15",)),
    Headline("kv_bytes_per_token_price_step", "bytes/token",
             "BF16 KV bytes per token at which a 100B-active model's KV fetch equals its "
             "arithmetic at the 200k price step (kappa = 1)", kv_bytes_at_onset,
             {**_CHIP, **_STEP}, claims=("RP-15",), fmt="integer"),
    Headline("kv_bytes_per_token_price_step_fp8", "bytes/token",
             "FP8 KV bytes per token at which a 100B-active model's KV fetch equals its FP8 "
             "arithmetic at the 200k price step (kappa = 1)", kv_bytes_at_onset,
             {f.F: hw("fp8_dense_flops"), f.W: hw("hbm_bandwidth"), **_STEP},
             claims=("RP-15",), fmt="integer"),
    Headline("kv_bytes_per_token_output_step_low", "bytes/token",
             "smallest BF16 KV bytes/token among the readings of Gemini's output step",
             kv_bytes_from_step_low.subs(_step_size), {**_CHIP, **_STEP, **_OUTPUT_STEP},
             claims=("RP-15",), fmt="integer"),
    Headline("kv_bytes_per_token_output_step_high", "bytes/token",
             "largest BF16 KV bytes/token among the readings of Gemini's output step",
             kv_bytes_from_step_high.subs(_step_size), {**_CHIP, **_STEP, **_OUTPUT_STEP},
             claims=("RP-15",), fmt="integer"),
    _crossover("llama3_70b", "Llama 3 70B"),
    _crossover("deepseek_v3", "DeepSeek-V3"),
    _crossover("deepseek_v3_2", "DeepSeek-V3.2-Exp"),
    _crossover("gpt_oss_120b", "gpt-oss-120b"),
    Headline("deepseek_api_implied_batch", "sequences",
             "DeepSeek-V3 decode batch implied by DeepSeek's own output/input ratio at short "
             "context", implied_decode_batch.subs({f.L: 0, q: _DEEPSEEK_RATIO[0]}),
             {**_CHIP, **{k: v for k, v in _DEEPSEEK.items() if k != f.b_kv},
              **_DEEPSEEK_RATIO[1]},
             claims=("RP-17",), fmt="integer"),
    _batch("ex_ds_batch_2k_deepseek_ratio", "exercise: DeepSeek-V3 decode batch implied by "
           "DeepSeek's output/input ratio at 2,048 tokens", EX_CONTEXT_SHORT, _DEEPSEEK_RATIO),
    _batch("ex_ds_batch_2k_five", "exercise: DeepSeek-V3 decode batch implied by the claimed "
           "output/input ratio at 2,048 tokens", EX_CONTEXT_SHORT, _CLAIMED_RATIO),
    _batch("ex_ds_batch_32k_five", "exercise: DeepSeek-V3 decode batch implied by the claimed "
           "output/input ratio at 32,768 tokens", EX_CONTEXT_LONG, _CLAIMED_RATIO),
    Headline("drain_seconds_hbm", "s", "HBM capacity (the printed number in decimal bytes) / "
             "HBM bandwidth", drain_time_hbm, {**_HBM_DECIMAL, W_tier: hw("hbm_bandwidth")},
             claims=("RP-18",), fmt="duration"),
    # --- the second edition's readings ---
    # RP-15: how the ~2 KB reading moves with the active parameters and speculative decoding
    Headline("kv_bytes_per_token_price_step_fp8_kimi_k2_active", "bytes/token",
             "FP8 onset reading of the 200k step for Kimi K2's active parameters",
             kv_bytes_at_onset, {**_FP8_CHIP, **_step_for("kimi_k2")}, claims=("RP-15",),
             fmt="integer"),
    Headline("kv_bytes_per_token_price_step_fp8_llama3_405b_active", "bytes/token",
             "FP8 onset reading of the 200k step for Llama 3.1 405B's active parameters",
             kv_bytes_at_onset, {**_FP8_CHIP, **_step_for("llama3_405b")}, claims=("RP-15",),
             fmt="integer"),
    Headline("kv_bytes_per_token_price_step_fp8_mtp", "bytes/token",
             "FP8 onset reading of the 200k step (100B active) when speculative decoding verifies "
             "2 tokens per cache read (DeepSeek-V3's one-token MTP draft; acceptance cancels)",
             kv_bytes_at_onset_spec,
             {**_FP8_CHIP, **_STEP, **_MTP}, claims=("RP-15",), fmt="integer"),
    # the capacity mechanism: cache bytes it implies over the bandwidth reading's, C / M_w - 1
    Headline("capacity_step_over_bandwidth_step_rp6", "ratio",
             "capacity reading of a price step over the bandwidth reading, for the lecture's "
             "rack (>= 10 TB of HBM) and 1 TB model (RP-6)", capacity_step_factor,
             {C: claimed("RP-6", "rack_hbm"), M_w: claimed("RP-6", "model_bytes")},
             claims=("RP-15",), fmt="num2"),
    Headline("capacity_step_over_bandwidth_step_deepseek_v3_fp8", "ratio",
             "capacity reading of a price step over the bandwidth reading, DeepSeek-V3 FP8 "
             "weights on one scale-up domain (0: the weights do not fit)",
             capacity_step_factor.subs(C, n_dom * sp.Min(C, C_alt)),
             {**_HBM_DECIMAL, n_dom: hw("scale_up_domain"),
              M_w: derived(lambda: catalog.models()["deepseek_v3"].total_params * FP8_BYTES,
                           "DeepSeek-V3 weights at one byte each")},
             claims=("RP-15",), fmt="num2"),
    # the input step read as prefill attention (DeepSeek prefills in MHA mode)
    Headline("deepseek_v3_prefill_attention_flops_per_context_token", "FLOP/token",
             "DeepSeek-V3 attention FLOPs per token per context token in prefill (un-absorbed, "
             "MHA mode: 128 heads, keys of 128 + 64, values of 128)", mla_prefill_flops, _DS_MLA,
             claims=("RP-15",), fmt="millions"),
    # the input step against the output step
    Headline("gemini_output_step_implied_by_input_step", "ratio",
             "rise of the per-token decode arithmetic at 200k if the input step's attention FLOPs "
             "are real (decode attends to the whole context): 1 + 2 (q_in - 1)",
             output_step_implied_by_input.subs(_step_size), _INPUT_STEP, claims=("RP-15",),
             fmt="times2"),
    Headline("price_steps_joint_attention_intensity", "FLOP/byte",
             "attention FLOPs per cache byte that the input step (prefill attention) and the "
             "output step (onset, BF16 arithmetic) imply together: 2 (q_in - 1) F / W",
             joint_attention_intensity.subs(_step_size), {**_CHIP, **_INPUT_STEP},
             claims=("RP-15",), fmt="integer"),
    Headline("price_steps_joint_attention_intensity_fp8", "FLOP/byte",
             "the same with the output step read for FP8 arithmetic (the RP-15 verdict's reading)",
             joint_attention_intensity.subs(_step_size), {**_FP8_CHIP, **_INPUT_STEP},
             claims=("RP-15",), fmt="integer"),
    # section 4.5 with MLA's attention arithmetic counted
    Headline("deepseek_v3_fp8_cache_attention_flops_per_byte", "FLOP/byte",
             "DeepSeek-V3 absorbed-MLA decode attention FLOPs per byte of its deployed FP8 cache "
             "(656 B per token and layer)", f.a_kv / f.b_kv, {**_DS_ATTN, **_DS_FP8_CACHE},
             fmt="integer"),
    Headline("kv_crossover_context_deepseek_v3_with_attention", "tokens",
             "context at which DeepSeek-V3's BF16 KV read per token equals all its arithmetic "
             "(weights + absorbed MLA at the BF16 rate); inf: never", kv_crossover_with_attention,
             {**_CHIP, **_DS_ATTN, **_DS_BF16_CACHE}, fmt="integer"),
    Headline("kv_crossover_context_deepseek_v3_fp8_with_attention", "tokens",
             "the same with the deployed FP8 cache (656 B, dequantized to BF16); inf: never",
             kv_crossover_with_attention, {**_CHIP, **_DS_ATTN, **_DS_FP8_CACHE}, fmt="integer"),
    Headline("flashmla_h800_achievable_flops_per_byte", "FLOP/byte",
             "FlashMLA's measured dense decode rates on an H800 (H100 SXM tensor cores and HBM): "
             "660 TFLOP/s compute-bound over 3,000 GB/s memory-bound",
             f.F / f.W, {f.F: field("attention_reports", "flashmla_h800_rates",
                                    "dense_decode_flops"),
                         f.W: derived(lambda: catalog.accelerators()["h100"].hbm_bandwidth
                                      * catalog.load("achievable")["h100"].hbm_bandwidth_fraction,
                                      "3.35 TB/s x FlashMLA's 0.896 (achievable.yaml)")},
             fmt="integer"),
    # RP-17: DeepSeek's measured serving costs
    Headline("deepseek_measured_output_input_cost_ratio", "ratio",
             "DeepSeek's node-seconds per output token over per input token (prefill 73.7k, "
             "decode 14.8k tokens/s per H800 node, hits included)", measured_cost_ratio,
             _MEASURED, claims=("RP-17",), fmt="times2"),
    Headline("deepseek_measured_cost_ratio_per_miss_token", "ratio",
             "the same per cache-miss input token, if a hit cost no prefill",
             measured_cost_ratio_per_miss, _MEASURED, claims=("RP-17",), fmt="times2"),
    Headline("deepseek_h800_decode_flops_utilisation", "fraction",
             "share of an H800 node's FP8 peak that DeepSeek's decode throughput uses for the "
             "weights' 2 N_act FLOPs per token", weight_flops_utilisation,
             {**_H800_UTIL, f.B: field("usage", _SERVICE, "decode_tokens_per_node")},
             claims=("RP-17",), fmt="pct"),
    Headline("deepseek_h800_prefill_flops_utilisation", "fraction",
             "the same for prefill, every input token counted (hits included)",
             weight_flops_utilisation,
             {**_H800_UTIL, f.B: field("usage", _SERVICE, "prefill_tokens_per_node")},
             claims=("RP-17",), fmt="pct"),
    Headline("deepseek_h800_decode_arithmetic_time_utilisation", "fraction",
             "share of an H800 node's time DeepSeek's decode throughput needs for all its "
             "arithmetic at peak (FP8 weights + BF16 absorbed MLA at the 4,989-token context)",
             arithmetic_time_utilisation_decode,
             {**_H800_UTIL, f.F: field("accelerators", "h100", "bf16_dense_flops"),
              f.a_kv: _DS_ATTN[f.a_kv], f.B: field("usage", _SERVICE, "decode_tokens_per_node"),
              f.L: field("moe_rack", "deepseek_online_service", "mean_context")},
             claims=("RP-17",), fmt="pct"),
    Headline("deepseek_h800_prefill_arithmetic_time_utilisation", "fraction",
             "the same for prefill, cache hits computing nothing (misses only) and MHA-mode MLA "
             "attention over half the 4,989-token context",
             arithmetic_time_utilisation_prefill,
             {**_H800_UTIL, f.F: field("accelerators", "h100", "bf16_dense_flops"),
              f.a_kv: derived(lambda: float(mla_prefill_flops.subs(
                  {k: v.resolve(None) for k, v in _DS_MLA.items()})),
                  "DeepSeek-V3 MHA-mode prefill FLOPs per context token (pricing)"),
              s_hit: _MEASURED[s_hit],
              f.B: field("usage", _SERVICE, "prefill_tokens_per_node"),
              f.L: field("moe_rack", "deepseek_online_service", "mean_context")},
             claims=("RP-17",), fmt="pct"),
    Headline("deepseek_service_kv_read_over_arithmetic", "ratio",
             "DeepSeek-V3 decode at the service's mean context (4,989 tokens): BF16 KV read time "
             "over FP8 weight plus BF16 MLA arithmetic per token", kv_read_over_all_arithmetic,
             {**_CHIP, F_8: hw("fp8_dense_flops", "bf16_dense_flops"), **_DS_ATTN,
              **_DS_BF16_CACHE, f.L: field("moe_rack", "deepseek_online_service", "mean_context")},
             claims=("RP-17",), fmt="num2"),
]

