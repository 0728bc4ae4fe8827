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
  uses its bandwidth and its capacity evenly when ``T`` equals the drain time ``C / W_tier``.

The conventions of :mod:`helpers.formulas` hold: 2 FLOPs per active parameter, dense FLOP/s,
bytes per second, ``B`` counts sequences.
"""
from __future__ import annotations

import math

import sympy as sp

from . import formulas as f

# --- symbols -------------------------------------------------------------------------------
L_step = sp.Symbol(r"L_\mathrm{step}", positive=True)   # context at which a price steps up
kappa = sp.Symbol(r"\kappa", positive=True)             # KV time / arithmetic time at L_step
rho = sp.Symbol(r"\rho", positive=True)                 # a price ratio (long/short, out/in)
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
p_hit = sp.Symbol(r"p_\mathrm{hit}", positive=True)     # cache-read (hit) price, USD per token
p_write = sp.Symbol(r"p_\mathrm{write}", positive=True) # cache-write price, USD per token
T = sp.Symbol("T", positive=True)                       # cache time-to-live, s

SYMBOL_MEANING = {
    L_step: "context length at which a price steps up (tokens)",
    kappa: "KV-fetch time ÷ arithmetic time per token, at the step",
    rho: "a price ratio: long ÷ short context, or output ÷ input",
    r: "hardware ratio F/W, FLOP per byte",
    beta: "bytes per cached element",
    g: "layers that share one KV cache",
    C: "capacity of a memory tier, bytes",
    W_tier: "read bandwidth of a memory tier, bytes/s",
}

# --- per-token decode cost -----------------------------------------------------------------
t_compute_token = f.t_compute / f.B                     # 2 N_act / F
t_weights_token = f.t_weights / f.B                     # N_tot b_w / (B W): shared by the batch
t_kv_token = f.t_kv / f.B                               # L b_kv / W: every sequence its own
# overlapped (the roofline, a lower bound) and serialised (an upper bound) per-token cost
decode_cost_token = sp.Max(t_compute_token, t_weights_token + t_kv_token)
decode_cost_token_serial = t_compute_token + t_weights_token + t_kv_token

# context at which the KV fetch of one token takes as long as its arithmetic
(kv_crossover_context,) = sp.solve(sp.Eq(t_kv_token, t_compute_token), f.L)

# --- KV bytes from a price step ------------------------------------------------------------
(kv_bytes_from_step,) = sp.solve(
    sp.Eq(t_kv_token.subs(f.L, L_step), kappa * t_compute_token), f.b_kv)
# the lecture's form: one multiply per parameter against r = F/W "multiplies per element";
# it counts *elements* of cache (bytes only at one byte per element)
kv_elements_lecture = f.N_act / (r * L_step)


def kappa_readings(price_ratio: float) -> dict[str, float]:
    """KV-fetch / arithmetic time at the step, under three readings of a price step of size rho.

    * onset: the step sits where KV fetch starts to cost as much as arithmetic (the lecture);
      its size is not used.
    * serial, tiers priced at their lower edge: cost = arithmetic + KV; the long tier's price is
      the cost at ``L_step``, the short tier's the cost at zero context: 1 + kappa = rho.
    * overlapped, same edges: cost = max(arithmetic, KV); below the step the price pays for
      arithmetic, above it for the KV fetch at ``L_step``: kappa = rho.
    """
    if price_ratio <= 1:
        raise ValueError(f"a price step must raise the price, got ratio {price_ratio}")
    return {"onset (lecture)": 1.0,
            "serial cost, tiers priced at their lower edge": price_ratio - 1.0,
            "overlapped cost, tiers priced at their lower edge": price_ratio}


# --- the input (prefill) step reads attention FLOPs, not KV bytes ---------------------------
# a causal prompt of length L: each token attends to L/2 earlier ones on average
prefill_cost_token = (2 * f.N_act + f.a_kv * f.L / 2) / f.F
(attention_flops_from_input_step,) = sp.solve(
    sp.Eq(prefill_cost_token.subs(f.L, L_step), rho * prefill_cost_token.subs(f.L, 0)), f.a_kv)

# --- output / input price ratio ------------------------------------------------------------
# prefill is compute-bound at peak: 2 N_act / F per token; decode is memory-bound below B*
output_input_cost_ratio = (t_weights_token + t_kv_token) / t_compute_token
(implied_decode_batch,) = sp.solve(sp.Eq(output_input_cost_ratio, rho), f.B)


# --- KV-cache size per token, per layer and whole model ------------------------------------
# cross-layer sharing (stated symbolically): groups of g adjacent layers share one K and V
kv_bytes_shared = (n_L / g) * 2 * n_kv * d_h * beta


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
        return n * kv_index_bytes_per_layer(model, key_bytes, scale_bytes), n * layer * model.index_topk
    if model.has("n_sliding_layers"):
        n_slide = model.n_sliding_layers
        return (n - n_slide) * layer, n_slide * layer * model.sliding_window
    return n * layer, 0.0


def kv_stored_bytes_per_token(model, bytes_per_element: float, key_bytes: float = 1.0,
                              scale_bytes: float = 0.0, context: float = math.inf) -> float:
    """Bytes the cache *holds* per token of a ``context``-token sequence (what a cache tier stores).

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


def crossover_context(model, accelerator, bytes_per_element: float = 2.0, flops=None,
                      key_bytes: float = 1.0, scale_bytes: float = 0.0) -> float:
    """Context at which the cache bytes one token reads take as long as its weight arithmetic
    (``2 N_act`` FLOPs at dense BF16 unless ``flops`` is given): solves
    ``kv_read_bytes(L) = 2 N_act W / F`` on whichever piece of the read the answer falls on."""
    F = accelerator.bf16_dense_flops if flops is None else flops
    grow, fixed = kv_read_terms(model, bytes_per_element, key_bytes, scale_bytes)
    thr = kv_read_threshold(model)
    budget = 2 * model.active_params * accelerator.hbm_bandwidth / F
    if thr and grow * thr + fixed >= budget:       # crosses before the window / top-k binds
        return budget / (grow + fixed / thr)
    return (budget - fixed) / grow


# --- cache pricing as a memory hierarchy ---------------------------------------------------
drain_time = C / W_tier
# a cache hit is worth keeping while holding it costs less than serving a miss instead
break_even_hold_time = (p_in - p_hit) / p_store
# Anthropic-style: a write premium over the base input price buys T seconds of storage
implied_storage_price = (p_write - p_in) / T


def usd_per_gb_hour(storage_usd_per_token_second: float, kv_bytes_per_token: float) -> float:
    """Storage price per token per second, re-expressed per GB (decimal) per hour."""
    return storage_usd_per_token_second * 3600 / (kv_bytes_per_token / 1e9)


def drain_seconds(capacity_bytes: float, bandwidth_bytes_per_s: float) -> float:
    return f.evaluate(drain_time, {C: capacity_bytes, W_tier: bandwidth_bytes_per_s})


# --- the catalog-wide sweep ----------------------------------------------------------------
def _llama3_70b_crossover(acc) -> float:
    from . import catalog
    return crossover_context(catalog.models()["llama3_70b"], acc, 2.0)


def _kv_bytes_price_step(acc) -> float:
    """KV bytes per token (BF16) for which the lecture's 100B-active model's KV fetch equals its
    arithmetic at Gemini's 200k price step, on this accelerator (kappa = 1)."""
    from . import catalog, claims
    rp15 = claims.get("RP-15")
    step = catalog.prices()["gemini_2_5_pro_2026_03"].long_context_threshold
    return f.evaluate(kv_bytes_from_step, {kappa: 1, f.N_act: rp15.value("active_params"),
                                           f.W: acc.hbm_bandwidth, f.F: acc.bf16_dense_flops,
                                           L_step: step})


def _drain_hbm(acc) -> float:
    return drain_seconds(acc.hbm_capacity, acc.hbm_bandwidth)


SWEEP = {
    "kv_crossover_context_llama3_70b": (
        "tokens", "context at which Llama 3 70B's BF16 KV read per token equals its BF16 "
        "arithmetic per token", _llama3_70b_crossover),
    "kv_bytes_per_token_price_step": (
        "bytes/token", "BF16 KV bytes per token at which a 100B-active model's KV fetch equals "
        "its arithmetic at the 200k price step (kappa = 1)", _kv_bytes_price_step),
    "drain_seconds_hbm": (
        "s", "HBM capacity / HBM bandwidth", _drain_hbm),
}
