"""Chapter 1's model: the decode roofline's headlines for DeepSeek-V3 and the lecture's example.

The shared symbols and the roofline itself live in :mod:`helpers.formulas`; this module binds
them to catalog fields, one :class:`~helpers.registry.Headline` per published quantity, so that
chapter 1, the sweep, the re-run comparison and the tests all read the same definition.
"""
from __future__ import annotations

import sympy as sp

from . import catalog, formulas as f
from .registry import Headline, claimed, const, derived, hw

BF16_BYTES = 2
CONTEXT_32K = 32768

C = sp.Symbol(r"C_\mathrm{HBM}", positive=True)          # HBM capacity per chip, bytes

SYMBOL_MEANING = {
    C: "HBM capacity of one accelerator, bytes",
}


def _deepseek():
    return catalog.models()["deepseek_v3"]


def deepseek_kv_bytes_bf16() -> float:
    """DeepSeek-V3's MLA cache per token of context, all layers, BF16."""
    return f.kv_bytes_per_token(_deepseek(), BF16_BYTES)


def deepseek_attention_flops() -> float:
    """DeepSeek-V3's absorbed-MLA decode attention FLOPs per generated token per context token."""
    return f.attention_flops_per_context_token(_deepseek())


def sparsity(reading: str) -> float:
    """Three readings of DeepSeek-V3's sparsity: the lecture's, by parameters, by experts."""
    from . import claims
    m, rp4 = _deepseek(), claims.get("RP-4")
    return {"lecture": rp4.value("routed_experts") / rp4.value("active_experts"),
            "params": m.total_params / m.active_params,
            "experts": m.routed_experts / m.active_experts}[reading]


# --- the expressions (symbols of helpers.formulas) -------------------------------------------
balance_batch = f.hardware_ratio * f.s * f.b_w / 2           # B* = (F/W) s b_w / 2
attention_share_of_ratio = (f.a_kv / f.b_kv) / f.hardware_ratio
max_context_lecture = f.max_compute_bound_context.subs(f.a_kv, 0)
# unbounded when the cache is read at more FLOP per byte than the chip's ratio
max_context = sp.Piecewise((sp.oo, f.a_kv / f.b_kv >= f.hardware_ratio),
                           (f.max_compute_bound_context, True))
slow_mode_max_saving = sp.Piecewise((0, f.a_kv / f.b_kv >= f.hardware_ratio),
                                    (f.slow_mode_max_saving, True))
_deployed = f.k * f.balance_batch()                           # k x B* in parameters
slow_mode_saving = 1 - f.cost_floor / f.cost_per_token.subs(f.B, _deployed)
# the smallest power-of-two replica whose HBM holds the BF16 weights twice over
replica_chips = 2 ** sp.ceiling(sp.log(2 * f.b_w * f.N_tot / C, 2))

# --- where each symbol's value comes from ----------------------------------------------------
_CHIP = {f.F: hw("bf16_dense_flops"), f.W: hw("hbm_bandwidth")}
_BF16 = {f.b_w: const(BF16_BYTES, "bytes per BF16 weight")}
_DS_PARAMS = {f.N_tot: derived(lambda: _deepseek().total_params, "DeepSeek-V3 total params"),
              f.N_act: derived(lambda: _deepseek().active_params, "DeepSeek-V3 active params")}
_DS_CACHE = {f.b_kv: derived(deepseek_kv_bytes_bf16, "DeepSeek-V3 BF16 MLA cache bytes/token"),
             f.a_kv: derived(deepseek_attention_flops, "DeepSeek-V3 MLA FLOPs/context token")}
_K_LOW = {f.k: claimed("RP-4", "deployment_multiplier_low")}


def _balance(reading: str, description: str) -> Headline:
    return Headline(f"optimal_batch_{reading}", "sequences", description, balance_batch,
                    {**_CHIP, **_BF16, f.s: derived(lambda: sparsity(_READING[reading]),
                                                    f"sparsity, {_READING[reading]} reading")},
                    claims=("RP-2", "RP-4"), fmt="integer")


_READING = {"lecture_example": "lecture", "deepseek_v3_by_params": "params",
            "deepseek_v3_by_experts": "experts"}

HEADLINES = [
    Headline("flops_per_byte", "FLOP/byte", "dense BF16 FLOP/s / HBM bytes/s", f.hardware_ratio,
             _CHIP, claims=("RP-2", "RP-3")),
    _balance("lecture_example", "BF16 balance batch at the lecture's sparsity"),
    _balance("deepseek_v3_by_params", "BF16 balance batch, DeepSeek-V3 total / active params"),
    _balance("deepseek_v3_by_experts",
             "BF16 balance batch, DeepSeek-V3 routed / active routed experts"),
    Headline("deepseek_v3_attention_share_of_ratio", "fraction",
             "DeepSeek-V3 cache intensity / the chip's FLOP per byte", attention_share_of_ratio,
             {**_CHIP, **_DS_CACHE}, claims=("RP-1",), fmt="pct"),
    Headline("deepseek_v3_max_compute_bound_context_lecture", "tokens",
             "longest context at which a DeepSeek-V3 BF16 decode step can be compute-bound, "
             "attention arithmetic ignored (the lecture's roofline)", max_context_lecture,
             {**_CHIP, **_DS_PARAMS, **_DS_CACHE}, claims=("RP-1",), fmt="integer"),
    Headline("deepseek_v3_max_compute_bound_context", "tokens",
             "longest context at which a DeepSeek-V3 BF16 decode step can be compute-bound, "
             "attention arithmetic included (inf: every context; the chapter then publishes "
             "no number)", max_context, {**_CHIP, **_DS_PARAMS, **_DS_CACHE},
             claims=("RP-1",), fmt="integer"),
    Headline("deepseek_v3_bf16_replica_chips", "accelerators",
             "chips in the smallest power-of-two replica holding DeepSeek-V3 BF16 weights "
             "twice over", replica_chips,
             {C: hw("hbm_capacity"), **_BF16, f.N_tot: _DS_PARAMS[f.N_tot]}, fmt="integer"),
    Headline("slow_mode_max_saving", "fraction",
             "largest saving of an unbounded batch over 2x the balance batch, DeepSeek-V3 BF16 "
             "with attention arithmetic", slow_mode_max_saving,
             {**_CHIP, **_DS_CACHE, **_K_LOW}, claims=("RP-5",), fmt="pct"),
    Headline("slow_mode_saving_32k", "fraction",
             "saving of an unbounded batch over 2x the balance batch at 32K context",
             slow_mode_saving,
             {**_CHIP, **_BF16, **_DS_PARAMS, **_DS_CACHE, **_K_LOW,
              f.L: const(CONTEXT_32K, "a 32K context")}, claims=("RP-5",), fmt="pct"),
]
