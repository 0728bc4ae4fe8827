"""Attention FLOP conventions and per-mechanism cost models (chapter 5).

Conventions (stated once):
* A multiply-add is 2 FLOPs, as in ``helpers.formulas`` and FlashAttention's benchmark.
* One attended (query, key) pair costs ``pair_flops = 2 h (d_qk + d_v)`` (the symbol
  ``c_pair``: ``P`` is chapter 6's pipeline stages): a dot product over ``d_qk`` for the score
  and a weighted sum over ``d_v`` for the output, in each of ``h`` heads.
  MHA/GQA: ``d_qk = d_v = d`` gives ``4 h d`` (FlashAttention's count). MLA in absorbed form
  (DeepSeek decode): ``d_qk = kv_lora_rank + qk_rope_head_dim``, ``d_v = kv_lora_rank``.
  Softmax, scaling and masking are not counted (O(n^2 h), no d factor).
* Causal attention: query ``i`` (1-based) sees keys ``1..i``. The exact pair count is
  ``n(n+1)/2``; FlashAttention and most reports use the leading term ``n^2/2``.
* Forward only unless a name says otherwise; FlashAttention counts the backward pass as 2.5x
  the forward (five matmuls of the same size instead of two), so forward+backward is 3.5x.

Every cost model is per layer, for a sequence of ``n`` tokens processed at once (prefill or one
training step), as a function of ``n``; the decode forms (one generated token against ``n``
cached tokens, each kernel at its own roofline) are marked as such. ``tests/test_attention.py``
checks each one against a literal count of the multiply-adds done by a tiny numpy attention.

The chapter's hardware-dependent headlines (the SubQ timings against a chip's peak, the FP8
indexer crossovers in prefill and decode, with and without the indexer's projections and with
multi-token prediction, the decode cache-read ratios at the context plateau, the contexts beyond
which cache reads outlast arithmetic, the DSA context ceiling in time and its cache against HBM,
the score matrix against HBM) are bound to catalog fields at the end, in ``HEADLINES``.

Parameter counts are computed from the configurations (``gqa_matmul_params``,
``jamba_matmul_params``): the weights a token multiplies, the output head included and the token
embedding (a lookup) left out, so ``2 N`` is the weights' FLOPs per token.
"""
from __future__ import annotations

import sympy as sp

from . import formulas as _f
from .registry import Headline, const, derived, field, hw

# --- symbols ----------------------------------------------------------------------------------
n = sp.Symbol("n", positive=True)              # context length (tokens in the sequence)
h = sp.Symbol("h", positive=True)              # query heads
d = sp.Symbol("d", positive=True)              # head dimension (MHA/GQA)
d_qk = sp.Symbol(r"d_\mathrm{qk}", positive=True)   # width of one score dot product
d_v = sp.Symbol(r"d_\mathrm{v}", positive=True)     # width of one value sum
c_pair = sp.Symbol(r"c_\mathrm{pair}", positive=True)   # FLOPs per attended (query, key) pair
k = sp.Symbol("k", positive=True)              # keys attended per query (top-k budget)
w = sp.Symbol("w", positive=True)              # sliding-window length
c_sel = sp.Symbol(r"c_\mathrm{sel}", positive=True)   # linear selector FLOPs per token
c_I = sp.Symbol(r"c_I", positive=True)         # indexer FLOPs per scored (query, key) pair
H_I = sp.Symbol(r"H_I", positive=True)         # indexer heads
d_I = sp.Symbol(r"d_I", positive=True)         # indexer head dim
c_lin = sp.Symbol(r"c_\mathrm{lin}", positive=True)   # linear-attention FLOPs per token
phi = sp.Symbol(r"\phi", positive=True)        # fraction of layers that are dense (hybrids)
alpha = sp.Symbol(r"\alpha", positive=True)    # quadratic coefficient of a fitted cost
beta = sp.Symbol(r"\beta", positive=True)      # linear coefficient of a fitted cost
gamma = sp.Symbol(r"\gamma", positive=True)    # per-token cost of the attention a selector feeds
r_prec = sp.Symbol(r"r_\mathrm{FP8}", positive=True)  # indexer's arithmetic speed / attention's
t_dense = sp.Symbol(r"t_\mathrm{dense}", positive=True)
t_sparse = sp.Symbol(r"t_\mathrm{sparse}", positive=True)
n_ref = sp.Symbol(r"n_\mathrm{ref}", positive=True)
L0 = sp.Symbol(r"L_0", positive=True)          # context a dense cache affords (the plateau)
b_e = sp.Symbol(r"b_e", positive=True)         # bytes of one attended cache entry, one layer
b_I = sp.Symbol(r"b_I", positive=True)         # bytes a selector reads per scored token, one layer
t_e = sp.Symbol(r"t_e", positive=True)         # decode time per attended entry, one layer
t_I = sp.Symbol(r"t_I", positive=True)         # decode time per scored (indexed) token, one layer
n_q = sp.Symbol(r"n_q", positive=True)         # layers with quadratic (dense) attention
n_lin = sp.Symbol(r"n_\mathrm{lin}", positive=True)   # layers with linear mixing (Mamba)
n_l = sp.Symbol(r"n_\ell", positive=True)      # layers (all attention, as in DeepSeek-V3.2)

# --- conventions ------------------------------------------------------------------------------
qk_flops = 2 * n * n * h * d                   # S = Q K^T: n x n scores, each a d-long dot product
av_flops = 2 * n * n * h * d                   # O = softmax(S) V
FA_BWD_OVER_FWD = sp.Rational(5, 2)            # FlashAttention benchmark: bwd = 2.5 x fwd
fa_forward = (qk_flops + av_flops)             # non-causal forward: 4 n^2 h d


def fa_flops(causal: bool = True, mode: str = "fwd") -> sp.Expr:
    """FlashAttention's benchmark count: 4 n^2 h d, halved if causal; bwd 2.5x, fwd_bwd 3.5x."""
    base = fa_forward / (2 if causal else 1)
    return {"fwd": base, "bwd": FA_BWD_OVER_FWD * base,
            "fwd_bwd": (1 + FA_BWD_OVER_FWD) * base}[mode]


pair_flops = 2 * h * (d_qk + d_v)              # one attended (query, key) pair, all heads


def mla_pair_flops(model) -> float:
    """FLOPs per attended pair in one layer of an MLA (absorbed) or GQA model, forward:
    ``helpers.formulas.attention_flops_per_context_token`` divided by the number of layers."""
    return _f.attention_flops_per_context_token(model) / model.n_layers


def indexer_projection_flops(model, q_lora_rank) -> float:
    """FLOPs per token of DeepSeek-V3.2's indexer projections, as its ``model.py`` builds them:
    ``wq_b`` from the ``q_lora_rank``-wide query latent to ``index_n_heads x index_head_dim``,
    ``wk`` from the hidden state to one ``index_head_dim`` key, ``weights_proj`` from the hidden
    state to one weight per head (2 FLOPs per multiply-add)."""
    heads, width, hidden = model.index_n_heads, model.index_head_dim, model.hidden_size
    return 2 * (q_lora_rank * heads * width + hidden * width + hidden * heads)


def indexer_projection_flops_from_hidden(model) -> float:
    """The same three projections if all started from the hidden state (the report's reading)."""
    return indexer_projection_flops(model, model.hidden_size)


def index_key_bytes(model) -> float:
    """Bytes of one cached indexer key, one layer: ``index_head_dim`` FP8 elements plus one FP32
    scale per key (DeepSeek-V3.2's ``k_cache`` and ``k_scale_cache``, memory_tiers.yaml)."""
    from . import catalog
    fmt = catalog.load("memory_tiers")["deepseek_v32_indexer_cache"]
    return model.index_head_dim * fmt.key_bytes_per_element + fmt.scale_bytes_per_key


def fp8_mla_entry_bytes() -> float:
    """Bytes of FlashMLA's FP8 MLA cache entry, one token and layer: the format of its sparse
    decoding kernel (DeepSeek-V3.2); FlashMLA's dense decoding reads a BF16 cache."""
    from . import catalog
    return catalog.load("attention_reports")["flashmla_fp8_cache"].entry_bytes


def indexer_pair_flops(model) -> float:
    """DeepSeek-V3.2 lightning indexer: each query's ``index_n_heads`` heads dot a shared
    ``index_head_dim`` key per scored token (2 FLOPs per multiply-add). The per-head ReLU and
    weighting (2 x heads more) is a correction of 1/index_head_dim and is left out."""
    return 2 * model.index_n_heads * model.index_head_dim


def indexer_projection_flops_split(model, q_lora_rank) -> tuple[float, float]:
    """The indexer's projection FLOPs per token by the precision ``model.py`` runs them in:
    (``wq_b`` and ``wk``, FP8 GEMMs; ``weights_proj``, built in BF16)."""
    heads, width, hidden = model.index_n_heads, model.index_head_dim, model.hidden_size
    return 2 * (q_lora_rank * heads * width + hidden * width), 2 * hidden * heads


# --- parameters a token multiplies (from the configurations, not the nominal sizes) -----------
def llama_ffn_width(dim, multiple_of, ffn_dim_multiplier) -> int:
    """Llama 3 reference ``FeedForward``: int(2 x 4 dim / 3), times the multiplier, then rounded
    up to a multiple of ``multiple_of`` (8,192 -> 28,672 for Llama 3.1 70B)."""
    hidden = int(ffn_dim_multiplier * int(2 * 4 * dim / 3))
    return int(multiple_of * -(-hidden // multiple_of))


def gqa_matmul_params(model, args) -> float:
    """Weights a token multiplies in a Llama-style GQA model: per layer ``wq`` and ``wo`` (dim x
    heads x head_dim), ``wk`` and ``wv`` (dim x KV heads x head_dim), ``w1``, ``w3``, ``w2`` (dim x
    the FFN width), and the untied output head. The token embedding is a lookup, not a product."""
    dim, hd = model.hidden_size, model.head_dim
    ffn = llama_ffn_width(dim, args.multiple_of, args.ffn_dim_multiplier)
    layer = 2 * dim * model.n_heads * hd + 2 * dim * model.n_kv_heads * hd + 3 * dim * ffn
    return model.n_layers * layer + args.vocab_size * dim


def jamba_matmul_params(cfg) -> float:
    """Jamba v0.1, the weights one token multiplies: its attention layers (q and o hidden^2, k and
    v hidden x KV heads x head_dim), its Mamba layers (``in_proj`` hidden -> 2 d_inner, the
    depthwise ``conv1d`` d_inner x d_conv, ``x_proj`` d_inner -> dt_rank + 2 d_state,
    ``dt_proj`` dt_rank -> d_inner, ``out_proj`` d_inner -> hidden), the SwiGLU MLPs (dense
    layers; in MoE layers the router and the 2 routed of 16 experts) and the untied output head.
    The token embedding is a lookup; norms, biases, A and D are elementwise, left out."""
    h, layers = cfg.hidden_size, cfg.n_layers
    n_attn = layers / cfg.attn_layer_period
    n_moe = layers / cfg.expert_layer_period
    attn = 2 * h * h + 2 * h * cfg.num_key_value_heads * (h / cfg.num_attention_heads)
    d_in = cfg.mamba_expand * h
    mamba = (h * 2 * d_in + d_in * cfg.mamba_d_conv
             + d_in * (cfg.mamba_dt_rank + 2 * cfg.mamba_d_state) + cfg.mamba_dt_rank * d_in
             + d_in * h)
    mlp = 3 * h * cfg.intermediate_size
    moe = cfg.num_experts_per_tok * mlp + h * cfg.num_experts
    return (n_attn * attn + (layers - n_attn) * mamba + (layers - n_moe) * mlp + n_moe * moe
            + cfg.vocab_size * h)


def selective_scan_flops_per_token(d_inner, d_state, per_element) -> float:
    """Mamba's selective scan, one token: ``per_element`` FLOPs (7 in the reference
    ``selective_scan_ref``) on each of the d_inner x d_state state elements."""
    return per_element * d_inner * d_state


# --- labels for claims that have readings or a mechanism, not one number ------------------------
def reading_verdict(readings: dict[str, bool]) -> str:
    """A qualitative claim judged on each of its readings: 'holds' when every reading holds,
    'holds with caveat' when some do (the caveat says which), 'does not follow' when none does."""
    held = sum(bool(v) for v in readings.values())
    if held == len(readings):
        return "holds"
    return "holds with caveat" if held else "does not follow"


def mechanism_verdict(parts: dict[str, bool], mechanism: set[str]) -> str:
    """A causal claim: 'does not follow' when any part of its mechanism fails, whatever else
    holds; otherwise judged on its parts as :func:`reading_verdict` does."""
    if any(not parts[name] for name in mechanism):
        return "does not follow"
    return reading_verdict(parts)


# --- exact pair counts --------------------------------------------------------------------------
def causal_pairs(n_tokens):
    """Exact (query, key) pairs of causal attention: query i sees i keys, sum = n(n+1)/2."""
    return n_tokens * (n_tokens + 1) / 2


def capped_pairs(n_tokens, cap):
    """Pairs when query i sees min(i, cap) keys (a window of ``cap``, or top-``cap`` of the
    causal prefix): n(n+1)/2 while n <= cap, then cap*n - cap(cap-1)/2."""
    if n_tokens <= cap:
        return causal_pairs(n_tokens)
    return cap * n_tokens - cap * (cap - 1) / 2


# symbolic leading-order forms (n >> k, w): what the chapter derives on the page
dense_cost = c_pair * n**2 / 2
window_cost = c_pair * w * n
topk_linear_cost = c_pair * k * n + c_sel * n
topk_quadratic_cost = c_pair * k * n + c_I * n**2 / 2
linear_attention_cost = c_lin * n
hybrid_cost = phi * dense_cost + (1 - phi) * linear_attention_cost


# --- numeric cost models (exact pair counts) ---------------------------------------------------
def dense(n_tokens, pair):
    """Causal dense attention, forward."""
    return pair * causal_pairs(n_tokens)


def sliding_window(n_tokens, pair, window):
    """Each query attends to its last ``window`` tokens (itself included)."""
    return pair * capped_pairs(n_tokens, window)


def topk_linear_selector(n_tokens, pair, topk, selector_per_token):
    """Top-k sparse attention fed by a selector whose cost is linear in n (fixed per token)."""
    return pair * capped_pairs(n_tokens, topk) + selector_per_token * n_tokens


def topk_quadratic_selector(n_tokens, pair, topk, index_pair):
    """Top-k sparse attention fed by an indexer that scores every earlier token (DSA):
    returns (indexer FLOPs, attention FLOPs)."""
    return index_pair * causal_pairs(n_tokens), pair * capped_pairs(n_tokens, topk)


def linear_attention_per_token(heads, d_key, d_value):
    """State-space / linear attention: per token, per head, update a d_key x d_value state
    (S += k v^T) and read it (q^T S): two d_key x d_value multiply-add blocks."""
    return 4 * heads * d_key * d_value


def linear_attention(n_tokens, heads, d_key, d_value):
    return linear_attention_per_token(heads, d_key, d_value) * n_tokens


def hybrid(n_tokens, dense_fraction, dense_layer, other_layer):
    """Average per-layer cost when ``dense_fraction`` of the layers are dense."""
    return dense_fraction * dense_layer(n_tokens) + (1 - dense_fraction) * other_layer(n_tokens)


# --- closed forms -----------------------------------------------------------------------------
def _positive_root(expr_left, expr_right) -> sp.Expr:
    return _positive_root_in(expr_left, expr_right, n)


def _positive_root_in(expr_left, expr_right, var) -> sp.Expr:
    sols = [s for s in sp.solve(sp.Eq(expr_left, expr_right), var) if s != 0]
    (sol,) = sols
    return sp.simplify(sol)


# FLOP parity of dense and top-k attention (leading order): n = 2k
flop_parity_topk = _positive_root(dense_cost, c_pair * k * n)
# indexer (quadratic) = the sparse attention it feeds, leading order: n = 2 k c_pair / c_I
indexer_crossover = _positive_root(c_I * n**2 / 2, c_pair * k * n)
# a fitted indexer alpha n^2 + beta n against attention gamma n: n = (gamma - beta) / alpha
indexer_crossover_fitted = _positive_root(alpha * n**2 + beta * n, gamma * n)
# the same crossover in time when the indexer's arithmetic runs r times faster (FP8 vs BF16)
indexer_crossover_time = _positive_root(c_I * n**2 / 2 / r_prec, c_pair * k * n)
# hybrid: length beyond which the dense layers' share exceeds the linear layers'
hybrid_dominance = _positive_root(phi * dense_cost, (1 - phi) * c_lin * n)
# wall-clock parity if dense time grows as n^2 and sparse time as n from one measured pair
time_parity = _positive_root(t_dense * (n / n_ref) ** 2, t_sparse * (n / n_ref))
# decode (one generated token, n cached): the indexer scores all n keys, the attention k entries
indexer_crossover_decode = _positive_root(c_I * n, c_pair * k)           # n = k c_pair / c_I
# the same in time, with t_I and t_e the time per scored key and per attended entry
indexer_crossover_decode_time = _positive_root(t_I * n, t_e * k)         # n = k t_e / t_I
# the context a selector that reads b_I bytes per cached token plus k entries of b_e bytes
# affords for the bytes a dense cache reads at L0: b_I n + k b_e = L0 b_e (linear selector)
linear_selector_ceiling = _positive_root(b_I * n + k * b_e, L0 * b_e)
# the same with reads that grow as sqrt(n): b_I sqrt(n) + k b_e = L0 b_e
sqrt_selector_ceiling = _positive_root(b_I * sp.sqrt(n) + k * b_e, L0 * b_e)
# and in time per generated token (each kernel at its own roofline): t_I n + k t_e = L0 t_e
time_selector_ceiling = _positive_root(t_I * n + k * t_e, L0 * t_e)
selector_ceilings = (linear_selector_ceiling, sqrt_selector_ceiling, time_selector_ceiling)
# hybrid, total FLOPs of a forward pass over n tokens: n_q quadratic layers (c_pair per pair)
# against the weights (2 N_act per token) and n_lin linear-mixing layers (c_lin per token)
hybrid_total_dominance = _positive_root(n_q * c_pair * n**2 / 2,
                                        n * (2 * _f.N_act + n_lin * c_lin))
# and in decode: one generated token attends to all n cached tokens in each quadratic layer
hybrid_total_dominance_decode = _positive_root(n_q * c_pair * n,
                                               2 * _f.N_act + n_lin * c_lin)


# --- reading printed numbers ---------------------------------------------------------------------
def printed_decimals(fld) -> int:
    """Decimals the source printed (YAML keeps 63.0 as a float, 252 as an int)."""
    text = repr(fld.value)
    return len(text.split(".")[1]) if "." in text else 0


def printed_interval(fld) -> tuple[float, float]:
    """SI interval of values that print as the source's number, whether it rounded them (within
    half a unit of the last digit) or truncated them (up to one unit above)."""
    unit = 10 ** -printed_decimals(fld) * fld.si / fld.value
    return fld.si - unit / 2, fld.si + unit


def rounds_to(value_si: float, fld) -> bool:
    """Whether ``value_si`` prints as the catalog field's number (rounded or truncated)."""
    lo, hi = printed_interval(fld)
    return lo <= value_si < hi


# --- the chapter's hardware-dependent headlines ---------------------------------------------------
BF16_BYTES = 2
C_dense = sp.Symbol(r"C_\mathrm{dense}", positive=True)   # SubQ Table 1: dense FLOPs, one layer
C_ssa = sp.Symbol(r"C_\mathrm{SSA}", positive=True)       # SubQ Table 1: SSA FLOPs, one layer
r_fb = sp.Symbol(r"r_\mathrm{fb}", positive=True)         # FlashAttention: fwd+bwd / fwd FLOPs
c_fa = sp.Symbol(r"c_\mathrm{FA}", positive=True)         # FlashAttention: FLOPs per n^2 h d, fwd
q_causal = sp.Symbol(r"q_\mathrm{causal}", positive=True)  # and its causal divisor
b_s = sp.Symbol(r"b_s", positive=True)                     # bytes per score
C_HBM = sp.Symbol(r"C_\mathrm{HBM}", positive=True)       # HBM capacity of one accelerator

# the SubQ table's FLOPs at 1M done in the measured times, against the chip's BF16 peak F
fa2_peak = C_dense / (t_dense * _f.F)
ssa_peak = C_ssa / (t_sparse * _f.F)
# widest h*d whose causal forward pass, c_FA n^2 h d / q_causal (fa_flops(True, "fwd") with the
# catalog's 4 and 2), fits in the FA2 time at peak
fa2_max_width = _f.F * t_dense / (c_fa * n_ref**2 / q_causal)
# one head's n x n score matrix over one chip's HBM
score_matrix_over_hbm = b_s * n**2 / C_HBM
# decode: one sequence's cache read over its weight arithmetic (chapter 1's terms; B cancels):
# the lecture's term, which leaves attention arithmetic out
kv_read_over_compute = (_f.t_kv / _f.t_compute).subs(_f.B, 1)
# the same over all its arithmetic, weights plus attention (a_kv per cached token, all layers)
kv_read_over_all_arithmetic = (_f.t_kv / (_f.t_compute + _f.t_attention)).subs(_f.B, 1)


def _ds32():
    from . import catalog
    return catalog.lookup("models", "deepseek_v3_2")


def _report(key: str, name: str):
    return field("attention_reports", key, name)


F_8 = sp.Symbol(r"F_\mathrm{FP8}", positive=True)   # dense FP8 peak (BF16 peak without FP8)
# FP8 over BF16 dense FLOP/s: 1 on a part with no FP8 arithmetic (it reads F there)
fp8_speedup = F_8 / _f.F
# the FA2 share against the FP8 peak, and DeepSeek-V3.2's FP8-indexer time crossover (r = F_8/F)
fa2_peak_fp8 = fa2_peak.subs(_f.F, F_8)
dsa_crossover_time_fp8 = indexer_crossover_time.subs(r_prec, fp8_speedup)
# decode, per layer: one attended entry (BF16 arithmetic on an FP8 entry) and one scored key
# (FP8 arithmetic on an FP8 key), each at its own roofline
t_entry = sp.Max(c_pair / _f.F, b_e / _f.W)
t_key = sp.Max(c_I / F_8, b_I / _f.W)
dsa_crossover_decode_time = indexer_crossover_decode_time.subs({t_e: t_entry, t_I: t_key})
dsa_ceiling_time = time_selector_ceiling.subs({t_e: t_entry, t_I: t_key})
# decode at context L with DSA: reads L keys and k entries per layer; arithmetic: the weights,
# k attended entries (BF16) and L scored keys (FP8)
s_q = sp.Symbol(r"s_q", positive=True)      # query tokens per sequence per decode step (MTP: 2)
F_w = sp.Symbol(r"F_w", positive=True)      # the rate the weight GEMMs run at (BF16 F or FP8)
# per decode step of one sequence: s_q query tokens share one read of the L index keys, each
# reads its own k entries (the upper bound) and does all its own arithmetic
kv_read_over_all_arithmetic_dsa_steps = (
    (n_l * (_f.L * b_I + s_q * k * b_e) / _f.W)
    / (s_q * (2 * _f.N_act / F_w + n_l * k * c_pair / _f.F + n_l * _f.L * c_I / F_8)))
kv_read_over_all_arithmetic_dsa = kv_read_over_all_arithmetic_dsa_steps.subs({s_q: 1, F_w: _f.F})
kv_read_over_all_arithmetic_dsa_mtp = kv_read_over_all_arithmetic_dsa_steps.subs(F_w, _f.F)
kv_read_over_all_arithmetic_dsa_fp8_weights = kv_read_over_all_arithmetic_dsa_steps.subs(
    {s_q: 1, F_w: F_8})
# dense MLA with MTP: one read of the cache per step, s_q tokens' arithmetic
kv_read_over_all_arithmetic_mtp = (_f.t_kv / (s_q * (_f.t_compute + _f.t_attention))).subs(_f.B, 1)
# the decode time crossover with MTP: a cached index key is read once and scored s_q times, and
# each query token attends to its own k entries
t_key_steps = sp.Max(s_q * c_I / F_8, b_I / _f.W)
dsa_crossover_decode_time_mtp = s_q * k * t_entry / t_key_steps
# the indexer's projections in time: wq_b and wk in FP8 (c_p8 per token), weights_proj in BF16
c_p8 = sp.Symbol(r"c_{\mathrm{proj},8}", positive=True)
c_p16 = sp.Symbol(r"c_{\mathrm{proj},16}", positive=True)
t_proj = c_p8 / F_8 + c_p16 / _f.F
dsa_crossover_time_fp8_proj = _positive_root(c_I * n**2 / 2 / F_8 + t_proj * n,
                                             c_pair * k * n / _f.F)
dsa_crossover_decode_time_proj = _positive_root(t_key * n + t_proj, k * t_entry)
# context beyond which one sequence's cache reads outlast all its arithmetic (chapter 1's
# closed form); unbounded when the cache is read at more FLOP per byte than the chip's ratio
kv_read_dominates_context = sp.Piecewise((sp.oo, _f.a_kv / _f.b_kv >= _f.F / _f.W),
                                         (_f.max_compute_bound_context, True))
# the same for DSA decode (BF16 weights): unbounded when the indexer is arithmetic-bound
_dsa_x = _positive_root_in(
    n_l * (_f.L * b_I + k * b_e) / _f.W,
    (2 * _f.N_act + n_l * k * c_pair) / _f.F + n_l * _f.L * c_I / F_8, _f.L)
dsa_kv_read_dominates_context = sp.Piecewise((sp.oo, c_I / F_8 >= b_I / _f.W), (_dsa_x, True))
# one sequence's DSA cache (entries and index keys) at the byte ceiling, over one chip's HBM
dsa_ceiling_cache_over_hbm = linear_selector_ceiling * n_l * (b_e + b_I) / C_HBM

_BF16 = {_f.F: hw("bf16_dense_flops")}
_FP8 = {F_8: hw("fp8_dense_flops", "bf16_dense_flops")}   # no FP8 units: the BF16 rate
_FA2 = {C_dense: _report("subq_table1_1m", "dense_flops"),
        t_dense: _report("subq_latency_1m", "fa2_time")}
_DS32_DSA = {c_pair: derived(lambda: mla_pair_flops(_ds32()),
                             "DeepSeek-V3.2 absorbed-MLA FLOPs per attended pair, one layer"),
             k: field("models", "deepseek_v3_2", "index_topk"),
             c_I: derived(lambda: indexer_pair_flops(_ds32()),
                          "DeepSeek-V3.2 indexer FLOPs per scored pair (dot products)")}
_DS32_BYTES = {b_e: derived(fp8_mla_entry_bytes,
                            "DeepSeek's deployed FP8 MLA cache entry, bytes per token and layer"),
               b_I: derived(lambda: index_key_bytes(_ds32()),
                            "DeepSeek-V3.2 FP8 indexer key plus its FP32 scale, bytes per layer")}
_W = {_f.W: hw("hbm_bandwidth")}
_PLATEAU = {_f.L: _report("context_plateau", "plateau_high")}


def _ds3():
    from . import catalog
    return catalog.lookup("models", "deepseek_v3")


_DS3_ARITH = {_f.N_act: field("models", "deepseek_v3", "active_params"),
              _f.a_kv: derived(lambda: _f.attention_flops_per_context_token(_ds3()),
                               "DeepSeek-V3 absorbed-MLA FLOPs per cached token, all layers")}

def _llama():
    from . import catalog
    return catalog.lookup("models", "llama3_70b")


def _reports(key: str):
    from . import catalog
    return catalog.load("attention_reports")[key]


_MTP = {s_q: _report("deepseek_mtp_decode", "query_tokens_per_step")}
_DS3_BF16_CACHE = {_f.b_kv: derived(lambda: _f.kv_bytes_per_token(_ds3(), BF16_BYTES),
                                    "DeepSeek-V3 BF16 MLA cache bytes/token, all layers")}
_DS3_FP8_CACHE = {_f.b_kv: derived(lambda: _ds3().n_layers * fp8_mla_entry_bytes(),
                                   "DeepSeek-V3 with FlashMLA's FP8 entry (hypothetical for "
                                   "dense decoding), cache bytes/token, all layers")}
_DS32_DECODE = {**_PLATEAU, **_DS32_DSA, **_DS32_BYTES, **_W, **_BF16, **_FP8,
                _f.N_act: field("models", "deepseek_v3_2", "active_params"),
                n_l: field("models", "deepseek_v3_2", "n_layers")}


def _proj_split(i: int) -> float:
    return indexer_projection_flops_split(
        _ds32(), _reports("ds32_indexer_projections").q_lora_rank)[i]


_PROJ = {c_p8: derived(lambda: _proj_split(0), "DeepSeek-V3.2 indexer projections run in FP8 "
                       "(wq_b from q_lora_rank, wk), FLOPs per token"),
         c_p16: derived(lambda: _proj_split(1), "DeepSeek-V3.2 indexer weights_proj (BF16), "
                        "FLOPs per token")}
_LLAMA_GQA = {_f.N_act: derived(lambda: gqa_matmul_params(_llama(), _reports("llama31_70b_args")),
                                "Llama 3.1 70B weights a token multiplies, from its model args"),
              _f.b_kv: derived(lambda: _f.kv_bytes_per_token(_llama(), BF16_BYTES),
                               "Llama 3.1 70B BF16 GQA cache bytes/token, all layers"),
              _f.a_kv: derived(lambda: _f.attention_flops_per_context_token(_llama()),
                               "Llama 3.1 70B attention FLOPs per cached token, all layers")}

HEADLINES = [
    Headline("fa2_peak_fraction", "fraction",
             "the SubQ table's dense FLOPs at 1M in the FA2 time, as a share of dense BF16 peak",
             fa2_peak, {**_FA2, **_BF16}, claims=("SQ-3",), fmt="pct3"),
    Headline("ssa_peak_fraction", "fraction",
             "the SubQ table's SSA FLOPs at 1M in the SSA time, as a share of dense BF16 peak",
             ssa_peak, {C_ssa: _report("subq_table1_1m", "ssa_flops"),
                        t_sparse: _report("subq_latency_1m", "ssa_time"), **_BF16},
             claims=("SQ-3",), fmt="pct3"),
    Headline("fa2_peak_fraction_fp8", "fraction",
             "the SubQ table's dense FLOPs at 1M in the FA2 time, as a share of dense FP8 peak "
             "(BF16 peak where the part has no FP8)",
             fa2_peak_fp8, {**_FA2, **_FP8}, claims=("SQ-3",), fmt="pct3"),
    Headline("fa2_peak_fraction_forward_only", "fraction",
             "the same share of dense BF16 peak if the FA2 time were for the forward pass only "
             "(the table / FlashAttention's fwd+bwd factor)",
             fa2_peak / r_fb, {**_FA2, **_BF16, r_fb: _report("fa_convention", "fwd_bwd_over_fwd")},
             claims=("SQ-3",), fmt="pct3"),
    Headline("fa2_max_width_forward", "count",
             "widest h*d whose causal forward pass at 1M fits in the FA2 time at 100 % of BF16 "
             "peak",
             fa2_max_width, {t_dense: _FA2[t_dense], n_ref: _report("subq_latency_1m", "context"),
                             c_fa: _report("fa_convention", "fwd_coefficient"),
                             q_causal: _report("fa_convention", "causal_divisor"), **_BF16},
             claims=("SQ-3",), fmt="integer"),
    Headline("dsa_indexer_crossover_tokens_time_fp8", "tokens",
             "DeepSeek-V3.2: context where the FP8 indexer's time equals the BF16 sparse "
             "attention's", dsa_crossover_time_fp8, {**_DS32_DSA, **_BF16, **_FP8},
             claims=("SQ-5",), fmt="integer"),
    Headline("dsa_fp8_speedup", "ratio", "FP8 / BF16 dense FLOP/s (1 without FP8 arithmetic)",
             fp8_speedup, {**_BF16, **_FP8}, claims=("SQ-5",), fmt="times2"),
    Headline("dsa_indexer_crossover_tokens_decode_time", "tokens",
             "DeepSeek-V3.2 decode: context where one generated token's indexer time (L FP8 "
             "keys) equals its sparse attention's (k FP8 entries, BF16 arithmetic), each at "
             "its own roofline", dsa_crossover_decode_time,
             {**_DS32_DSA, **_DS32_BYTES, **_BF16, **_FP8, **_W}, claims=("SQ-5",),
             fmt="integer"),
    Headline("kv_read_over_compute_at_plateau", "ratio",
             "the lecture's term: DeepSeek-V3 BF16 MLA cache read time / weight arithmetic "
             "time per generated token at the 200K plateau (attention arithmetic left out)",
             kv_read_over_compute,
             {**_PLATEAU, _f.b_kv: derived(lambda: _f.kv_bytes_per_token(_ds3(), BF16_BYTES),
                                           "DeepSeek-V3 BF16 MLA cache bytes/token, all layers"),
              _f.N_act: _DS3_ARITH[_f.N_act], **_W, **_BF16}, claims=("RP-19",), fmt="times"),
    Headline("kv_read_over_all_arithmetic_at_plateau", "ratio",
             "DeepSeek-V3 decode at the 200K plateau, MLA attending to its whole BF16 cache: "
             "KV read time / weights-plus-attention arithmetic time per generated token",
             kv_read_over_all_arithmetic,
             {**_PLATEAU, **_DS3_ARITH, **_W, **_BF16,
              _f.b_kv: derived(lambda: _f.kv_bytes_per_token(_ds3(), BF16_BYTES),
                               "DeepSeek-V3 BF16 MLA cache bytes/token, all layers")},
             claims=("RP-19",), fmt="times2"),
    Headline("kv_read_over_all_arithmetic_at_plateau_fp8_cache", "ratio",
             "the same if dense MLA decoding read FlashMLA's 656-byte FP8 entries (hypothetical: "
             "the FP8 format is its sparse V3.2 kernel's; dense decoding reads BF16)",
             kv_read_over_all_arithmetic,
             {**_PLATEAU, **_DS3_ARITH, **_W, **_BF16,
              **_DS3_FP8_CACHE},
             claims=("RP-19",), fmt="times2"),
    Headline("kv_read_over_all_arithmetic_at_plateau_dsa", "ratio",
             "DeepSeek-V3.2 decode with DSA at the 200K plateau: indexer-key and top-k entry "
             "read time / weights, attention and indexer arithmetic time per generated token",
             kv_read_over_all_arithmetic_dsa,
             {**_PLATEAU, **_DS32_DSA, **_DS32_BYTES, **_W, **_BF16, **_FP8,
              _f.N_act: field("models", "deepseek_v3_2", "active_params"),
              n_l: field("models", "deepseek_v3_2", "n_layers")},
             claims=("RP-19",), fmt="times2"),
    Headline("rp19_dsa_context_ceiling_tokens_time", "tokens",
             "DeepSeek-V3.2 DSA (FP8 cache): context whose decode time per token equals dense "
             "MLA's (FP8 cache) at the 200K plateau, each kernel at its own roofline",
             dsa_ceiling_time, {**_DS32_DSA, **_DS32_BYTES, **_BF16, **_FP8, **_W,
                                L0: _report("context_plateau", "plateau_high")},
             claims=("RP-19",), fmt="millions"),
    Headline("kv_read_over_all_arithmetic_at_plateau_mtp", "ratio",
             "DeepSeek-V3 BF16 cache at 200K with MTP (s_q query tokens per step share one "
             "cache read): KV read time / all arithmetic time per decode step",
             kv_read_over_all_arithmetic_mtp,
             {**_PLATEAU, **_DS3_ARITH, **_W, **_BF16, **_DS3_BF16_CACHE, **_MTP},
             claims=("RP-19",), fmt="times2"),
    Headline("kv_read_over_all_arithmetic_at_plateau_fp8_cache_mtp", "ratio",
             "the same with the 656-byte FP8 entry (hypothetical for dense decoding)",
             kv_read_over_all_arithmetic_mtp,
             {**_PLATEAU, **_DS3_ARITH, **_W, **_BF16, **_DS3_FP8_CACHE, **_MTP},
             claims=("RP-19",), fmt="times2"),
    Headline("kv_read_over_all_arithmetic_at_plateau_dsa_mtp", "ratio",
             "DeepSeek-V3.2 DSA decode at 200K with MTP: s_q query tokens share one read of the "
             "index keys, each reads its own top-k entries; read time / arithmetic time per step",
             kv_read_over_all_arithmetic_dsa_mtp, {**_DS32_DECODE, **_MTP},
             claims=("RP-19",), fmt="times2"),
    Headline("kv_read_over_all_arithmetic_at_plateau_dsa_fp8_weights", "ratio",
             "DeepSeek-V3.2 DSA decode at 200K with the weight GEMMs at the FP8 rate (as "
             "deployed): read time / weights, attention and indexer arithmetic time",
             kv_read_over_all_arithmetic_dsa_fp8_weights, _DS32_DECODE,
             claims=("RP-19",), fmt="times2"),
    Headline("dsa_indexer_crossover_tokens_decode_time_mtp", "tokens",
             "DeepSeek-V3.2 decode with MTP (s_q query tokens per step): context where the "
             "indexer's time per step equals the sparse attention's, each at its roofline",
             dsa_crossover_decode_time_mtp, {**_DS32_DSA, **_DS32_BYTES, **_BF16, **_FP8, **_W,
                                             **_MTP}, claims=("SQ-5",), fmt="integer"),
    Headline("dsa_indexer_crossover_tokens_time_fp8_true_projections", "tokens",
             "DeepSeek-V3.2 prefill in time, the indexer's projections counted (wq_b and wk at "
             "the FP8 rate, weights_proj at BF16): context where the FP8 indexer's time equals "
             "the BF16 sparse attention's, both at peak",
             dsa_crossover_time_fp8_proj, {**_DS32_DSA, **_BF16, **_FP8, **_PROJ},
             claims=("SQ-5",), fmt="integer"),
    Headline("dsa_indexer_crossover_tokens_decode_time_true_projections", "tokens",
             "DeepSeek-V3.2 decode in time, the indexer's projections counted: context where "
             "one generated token's indexer time equals its sparse attention's",
             dsa_crossover_decode_time_proj, {**_DS32_DSA, **_DS32_BYTES, **_BF16, **_FP8, **_W,
                                              **_PROJ}, claims=("SQ-5",), fmt="integer"),
    Headline("gqa_kv_read_dominates_context", "tokens",
             "Llama 3.1 70B (GQA, BF16 cache, its computed 69.5B weights): context beyond which "
             "one sequence's cache read outlasts all its decode arithmetic (inf: never)",
             kv_read_dominates_context, {**_LLAMA_GQA, **_W, **_BF16}, claims=("RP-19",),
             fmt="integer"),
    Headline("mla_bf16_kv_read_dominates_context", "tokens",
             "DeepSeek-V3 (absorbed MLA, BF16 cache): context beyond which one sequence's cache "
             "read outlasts all its decode arithmetic (inf: never)",
             kv_read_dominates_context, {**_DS3_ARITH, **_DS3_BF16_CACHE, **_W, **_BF16},
             claims=("RP-19",), fmt="integer"),
    Headline("dsa_kv_read_dominates_context", "tokens",
             "DeepSeek-V3.2 DSA decode (BF16 weights): context beyond which its index-key and "
             "top-k entry reads outlast its arithmetic (inf: never)",
             dsa_kv_read_dominates_context,
             {k_: v_ for k_, v_ in _DS32_DECODE.items() if k_ is not _f.L},
             claims=("RP-19",), fmt="integer"),
    Headline("rp19_dsa_ceiling_cache_over_hbm", "ratio",
             "one sequence's DeepSeek-V3.2 cache (656-byte entries plus 132-byte index keys, all "
             "layers) at the byte ceiling (FP8 entries) / one chip's HBM capacity",
             dsa_ceiling_cache_over_hbm,
             {**_DS32_BYTES, k: _DS32_DSA[k], L0: _report("context_plateau", "plateau_high"),
              n_l: field("models", "deepseek_v3_2", "n_layers"), C_HBM: hw("hbm_capacity")},
             claims=("RP-19",), fmt="pct"),
    Headline("score_matrix_over_hbm", "ratio",
             "one head's BF16 n x n score matrix at 1M tokens / HBM capacity",
             score_matrix_over_hbm, {b_s: const(BF16_BYTES, "bytes per BF16 score"),
                                     n: _report("subq_table1_1m", "context"),
                                     C_HBM: hw("hbm_capacity")}, claims=("SQ-1",), fmt="times"),
]
