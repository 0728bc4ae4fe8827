"""Chapter 1's model: the decode roofline's headlines for DeepSeek-V3 and the lecture's example.

The shared symbols and the roofline itself live in :mod:`helpers.formulas`; this module binds
them to catalog fields, one :class:`~helpers.registry.Headline` per published quantity, so that
chapter 1, the sweep, the re-run comparison and the tests all read the same definition.
"""
from __future__ import annotations

import sympy as sp

from . import catalog, formulas as f
from .registry import Headline, claimed, const, derived, field, hw

BF16_BYTES = 2
FP8_BYTES = 1
CONTEXT_32K = 32768
REPLICA_HEADROOM = 2          # a replica's HBM holds its weights twice over: half for KV cache

C = sp.Symbol(r"C_\mathrm{HBM}", positive=True)          # HBM capacity per chip, bytes
E = sp.Symbol("E", positive=True)                        # routed experts
m = sp.Symbol("m", positive=True)                        # routed experts active per token
c = sp.Symbol("c", positive=True)                        # claimed batch per unit sparsity
h = sp.Symbol(r"h_\mathrm{HBM}", positive=True)          # replica HBM over its weights' bytes

SYMBOL_MEANING = {
    C: "HBM capacity of one accelerator, bytes",
    E: "routed experts of an MoE model",
    m: "routed experts active per token",
    c: "claimed balance batch per unit of sparsity (the lecture's 300)",
    h: "HBM headroom of a replica: its HBM over the bytes of its weights",
}


def _deepseek():
    return catalog.models()["deepseek_v3"]


def deepseek_kv_bytes_bf16() -> float:
    """DeepSeek-V3's MLA cache per token of context, all layers, BF16."""
    return f.kv_bytes_per_token(_deepseek(), BF16_BYTES)


def deepseek_kv_bytes_fp8() -> float:
    """The same cache stored in FP8 (chapter 1's exercise)."""
    return f.kv_bytes_per_token(_deepseek(), FP8_BYTES)


def deepseek_attention_flops() -> float:
    """DeepSeek-V3's absorbed-MLA decode attention FLOPs per generated token per context token."""
    return f.attention_flops_per_context_token(_deepseek())


def llama3_70b_kv_bytes_bf16() -> float:
    """Llama 3 70B's GQA cache per token of context, all layers, BF16."""
    return f.kv_bytes_per_token(catalog.models()["llama3_70b"], BF16_BYTES)


def llama3_70b_attention_flops() -> float:
    """Llama 3 70B's GQA decode attention FLOPs per generated token per context token."""
    return f.attention_flops_per_context_token(catalog.models()["llama3_70b"])


# --- the expressions (symbols of helpers.formulas) -------------------------------------------
balance_batch = f.hardware_ratio * f.s * f.b_w / 2           # B* = (F/W) s b_w / 2
sparsity_by_experts, sparsity_by_params = E / m, f.N_tot / f.N_act
# the three readings of s: the lecture's m of E experts, parameters, DeepSeek-V3's m of E
balance_by_experts = balance_batch.subs(f.s, sparsity_by_experts)
balance_by_params = balance_batch.subs(f.s, sparsity_by_params)
batch_over_claim = balance_by_params / (c * E / m)           # B* / (300 x the lecture's s)
cache_intensity = f.a_kv / f.b_kv                             # FLOP per byte of cache read
attention_share_of_ratio = cache_intensity / f.hardware_ratio
max_context_lecture = f.max_compute_bound_context.subs(f.a_kv, 0)
# unbounded when the cache is read at more FLOP per byte than the chip's ratio
max_context = sp.Piecewise((sp.oo, f.a_kv / f.b_kv >= f.hardware_ratio),
                           (f.max_compute_bound_context, True))
slow_mode_max_saving = sp.Piecewise((0, f.a_kv / f.b_kv >= f.hardware_ratio),
                                    (f.slow_mode_max_saving, True))
_deployed = f.k * f.balance_batch()                           # k x B* in parameters
slow_mode_saving = 1 - f.cost_floor / f.cost_per_token.subs(f.B, _deployed)
slow_mode_max_saving_no_attention = 1 / (f.k + 1)            # f.slow_mode_max_saving at a_kv = 0
# the smallest power-of-two replica whose HBM holds the BF16 weights h times over
replica_chips = 2 ** sp.ceiling(sp.log(h * f.b_w * f.N_tot / C, 2))
# experts a batch of B tokens leaves untouched, if each token picks m of E uniformly
untouched_experts = E * (1 - m / E) ** f.B

# --- where each symbol's value comes from ----------------------------------------------------
_CHIP = {f.F: hw("bf16_dense_flops"), f.W: hw("hbm_bandwidth")}
_BF16 = {f.b_w: const(BF16_BYTES, "bytes per BF16 weight")}
_FP8 = {f.b_w: const(FP8_BYTES, "bytes per FP8 weight")}
_DS_PARAMS = {f.N_tot: field("models", "deepseek_v3", "total_params"),
              f.N_act: field("models", "deepseek_v3", "active_params")}
_DS_EXPERTS = {E: field("models", "deepseek_v3", "routed_experts"),
               m: field("models", "deepseek_v3", "active_experts")}
_LECTURE_EXPERTS = {E: claimed("RP-4", "routed_experts"), m: claimed("RP-4", "active_experts")}
_DS_ATTN = {f.a_kv: derived(deepseek_attention_flops, "DeepSeek-V3 MLA FLOPs/context token")}
_DS_CACHE = {f.b_kv: derived(deepseek_kv_bytes_bf16, "DeepSeek-V3 BF16 MLA cache bytes/token"),
             **_DS_ATTN}
_DS_CACHE_FP8 = {f.b_kv: derived(deepseek_kv_bytes_fp8, "DeepSeek-V3 FP8 MLA cache bytes/token"),
                 **_DS_ATTN}
_LLAMA_CACHE = {f.a_kv: derived(llama3_70b_attention_flops, "Llama 3 70B GQA FLOPs/context token"),
                f.b_kv: derived(llama3_70b_kv_bytes_bf16, "Llama 3 70B BF16 KV bytes/token")}
_HEADROOM = {h: const(REPLICA_HEADROOM, "replica HBM: the weights twice over")}
_K_LOW = {f.k: claimed("RP-4", "deployment_multiplier_low")}
_DEEPSEEK_BF16 = (_CHIP, _BF16, _DS_PARAMS, _DS_CACHE, _K_LOW)   # DeepSeek-V3 served in BF16
_BALANCE, _CONTEXT = ("RP-2", "RP-4"), ("RP-1",)


def _headline(name, unit, description, expr, *pools, **kw) -> Headline:
    """A closed-form headline bound to the inputs (from ``pools``) that its expression uses."""
    inputs = {sym: inp for pool in pools for sym, inp in pool.items() if sym in expr.free_symbols}
    return Headline(name, unit, description, expr, inputs, **kw)


HEADLINES = [
    _headline("flops_per_byte", "FLOP/byte", "dense BF16 FLOP/s / HBM bytes/s",
              f.hardware_ratio, _CHIP, claims=("RP-2", "RP-3")),
    _headline("optimal_batch_lecture_example", "sequences",
              "BF16 balance batch at the lecture's sparsity", balance_by_experts,
              _CHIP, _BF16, _LECTURE_EXPERTS, claims=_BALANCE, fmt="integer"),
    _headline("optimal_batch_deepseek_v3_by_params", "sequences",
              "BF16 balance batch, DeepSeek-V3 total / active params", balance_by_params,
              _CHIP, _BF16, _DS_PARAMS, claims=_BALANCE, fmt="integer"),
    _headline("optimal_batch_deepseek_v3_by_experts", "sequences",
              "BF16 balance batch, DeepSeek-V3 routed / active routed experts",
              balance_by_experts, _CHIP, _BF16, _DS_EXPERTS, claims=_BALANCE, fmt="integer"),
    _headline("deepseek_v3_batch_over_claim", "ratio",
              "BF16 balance batch of DeepSeek-V3 (by params) / the lecture's claimed batch "
              "(300 x its sparsity)", batch_over_claim, _CHIP, _BF16, _DS_PARAMS,
              _LECTURE_EXPERTS, {c: claimed("RP-2", "batch_per_unit_sparsity")},
              claims=_BALANCE, fmt="times"),
    _headline("deepseek_v3_attention_share_of_ratio", "fraction",
              "DeepSeek-V3 cache intensity / the chip's FLOP per byte",
              attention_share_of_ratio, *_DEEPSEEK_BF16, claims=_CONTEXT, fmt="pct"),
    _headline("deepseek_v3_max_compute_bound_context_lecture", "tokens",
              "longest context at which a DeepSeek-V3 BF16 decode step can be compute-bound, "
              "attention arithmetic ignored (the lecture's roofline)", max_context_lecture,
              *_DEEPSEEK_BF16, claims=_CONTEXT, fmt="integer"),
    _headline("deepseek_v3_max_compute_bound_context", "tokens",
              "longest context at which a DeepSeek-V3 BF16 decode step can be compute-bound, "
              "attention arithmetic included (inf: every context; the chapter then publishes "
              "no number)", max_context, *_DEEPSEEK_BF16, claims=_CONTEXT, fmt="integer"),
    _headline("deepseek_v3_bf16_replica_chips", "accelerators",
              "chips in the smallest power-of-two replica holding DeepSeek-V3 BF16 weights "
              "twice over", replica_chips, {C: hw("hbm_capacity")}, _BF16, _DS_PARAMS,
              _HEADROOM, fmt="integer"),
    _headline("slow_mode_max_saving", "fraction",
              "largest saving of an unbounded batch over 2x the balance batch, DeepSeek-V3 "
              "BF16 with attention arithmetic", slow_mode_max_saving, *_DEEPSEEK_BF16,
              claims=("RP-5",), fmt="pct"),
    _headline("slow_mode_saving_32k", "fraction",
              "saving of an unbounded batch over 2x the balance batch at 32K context",
              slow_mode_saving, *_DEEPSEEK_BF16, {f.L: const(CONTEXT_32K, "a 32K context")},
              claims=("RP-5",), fmt="pct"),
    # accelerator-independent: the sparsities, the caches' intensities, the slow-mode bound
    _headline("lecture_sparsity", "ratio", "the lecture's 256 / 32", sparsity_by_experts,
              _LECTURE_EXPERTS, claims=("RP-4",)),
    _headline("deepseek_v3_sparsity_by_params", "ratio", "DeepSeek-V3 total / active params",
              sparsity_by_params, _DS_PARAMS, claims=("RP-4",)),
    _headline("deepseek_v3_sparsity_by_experts", "ratio",
              "DeepSeek-V3 routed / active routed experts", sparsity_by_experts, _DS_EXPERTS,
              claims=("RP-4",)),
    _headline("deepseek_v3_attention_flops_per_byte", "FLOP/byte",
              "DeepSeek-V3 absorbed-MLA decode attention FLOPs per byte of BF16 cache read",
              cache_intensity, _DS_CACHE, claims=_CONTEXT),
    _headline("llama3_70b_attention_flops_per_byte", "FLOP/byte",
              "Llama 3 70B GQA decode attention FLOPs per byte of BF16 cache read",
              cache_intensity, _LLAMA_CACHE, claims=_CONTEXT),
    _headline("slow_mode_max_saving_no_attention", "fraction",
              "largest saving of an unbounded batch over 2x the balance batch when attention "
              "arithmetic is negligible: 1/(k+1)", slow_mode_max_saving_no_attention, _K_LOW,
              claims=("RP-5",), fmt="pct"),
    # the chapter's exercises
    _headline("ex_weight_only_batch", "sequences",
              "exercise: DeepSeek-V3 balance batch with FP8 weights and BF16 arithmetic",
              balance_by_params, _CHIP, _FP8, _DS_PARAMS, fmt="integer"),
    _headline("ex_untouched_experts_32", "experts", "exercise: idle experts at B = 32",
              untouched_experts, _DS_EXPERTS, {f.B: const(32, "a batch of 32 tokens")}),
    _headline("ex_untouched_experts_bstar", "experts",
              "exercise: idle experts at the balance batch",
              untouched_experts.subs(f.B, balance_by_params), _CHIP, _BF16, _DS_PARAMS,
              _DS_EXPERTS, fmt="e1"),
    _headline("ex_fp8_kv_intensity", "FLOP/byte",
              "exercise: DeepSeek-V3 attention FLOPs per byte of FP8 cache", cache_intensity,
              _DS_CACHE_FP8),
    _headline("ex_fp8_kv_max_context_lecture", "tokens",
              "exercise: longest compute-bound DeepSeek-V3 context with an FP8 KV cache, "
              "attention arithmetic ignored", max_context_lecture, _CHIP, _DS_PARAMS,
              _DS_CACHE_FP8, claims=_CONTEXT, fmt="integer"),
    _headline("ex_fp8_kv_max_compute_bound_context", "tokens",
              "exercise: longest compute-bound DeepSeek-V3 context with an FP8 KV cache, "
              "attention arithmetic included (inf: every context; the chapter then publishes "
              "no number)", max_context, _CHIP, _DS_PARAMS, _DS_CACHE_FP8, claims=_CONTEXT,
              fmt="integer"),
]
