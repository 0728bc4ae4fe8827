"""Chapter 1's model: the decode roofline's headlines for DeepSeek-V3 and the lecture's example.

The shared symbols and the roofline itself live in :mod:`helpers.formulas`; this module binds
them to catalog fields, one :class:`~helpers.registry.Headline` per published quantity, so that
chapter 1, the sweep, the re-run comparison and the tests all read the same definition.
"""
from __future__ import annotations

import math

import mpmath
import sympy as sp

from . import catalog, formulas as f, parallelism as par, serving
from .registry import Headline, claimed, const, derived, field, hw

BF16_BYTES = 2
FP8_BYTES = 1
CONTEXT_32K = 32768
REPLICA_HEADROOM = 2          # a replica's HBM holds its weights twice over: half for KV cache

C = sp.Symbol(r"C_\mathrm{HBM}", positive=True)          # HBM capacity per chip, bytes
# one symbol, one meaning, book-wide: E and k_e are chapter 6's (helpers.parallelism), n_chips
# and eta_HBM chapter 2's (helpers.serving); k alone is the deployed multiple of B* (formulas)
E, k_e = par.E, par.k_e                                  # routed experts; those a token visits
h = sp.Symbol(r"h_\mathrm{HBM}", positive=True)          # replica HBM over its weights' bytes
n, eta_W = serving.n_chips, serving.eta                   # chips in a replica; achieved / peak W
C_u = sp.Symbol(r"C_\mathrm{usable}", positive=True)     # HBM capacity the driver reports
eta_F = sp.Symbol(r"\eta_\mathrm{GEMM}", positive=True)  # achieved / peak dense BF16 FLOP/s
r_a = sp.Symbol(r"r_\mathrm{att}", positive=True)        # cache intensity / the chip's F/W

SYMBOL_MEANING = {
    C: "HBM capacity of one accelerator, bytes",
    h: "HBM headroom of a replica: its HBM over the bytes of its weights",
    C_u: "HBM capacity of one accelerator as its driver reports it (nvidia-smi), bytes",
    eta_F: "achieved share of the peak dense BF16 FLOP/s (best large GEMM)",
    r_a: "attention FLOPs per cache byte over the chip's FLOP per byte",
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


def deepseek_moe_layers() -> float:
    """DeepSeek-V3's MoE layers: all but the dense ones."""
    return _deepseek().n_layers - _deepseek().n_dense_layers


def lecture_batch() -> float:
    """The lecture's balance batch for DeepSeek: 300 x its sparsity 256 / 32 = 2,400."""
    from . import claims
    rp4 = claims.get("RP-4")
    return (claims.get("RP-2").value("batch_per_unit_sparsity")
            * rp4.value("routed_experts") / rp4.value("active_experts"))


# --- the expressions (symbols of helpers.formulas) -------------------------------------------
balance_batch = f.hardware_ratio * f.s * f.b_w / 2           # B* = (F/W) s b_w / 2
sparsity_by_experts, sparsity_by_params = E / k_e, f.N_tot / f.N_act
# the three readings of s: the lecture's k_e of E experts, parameters, DeepSeek-V3's k_e of E
balance_by_experts = balance_batch.subs(f.s, sparsity_by_experts)
balance_by_params = balance_batch.subs(f.s, sparsity_by_params)
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
# RP-1: at k x B* the lecture's roofline (a_kv = 0) understates the step with attention
# arithmetic by (k w + r u) / max(k w, w + u) at KV-read time u (w: weight time; r: the cache's
# FLOP per byte over the chip's). Over all contexts that is largest at u = (k - 1) w, or, when
# r > k, approached as u grows: its supremum is
attention_understatement = sp.Max(1 + r_a * (f.k - 1) / f.k, r_a)
# the smallest power-of-two replica whose HBM holds the BF16 weights h times over
replica_chips = 2 ** sp.ceiling(sp.log(h * f.b_w * f.N_tot / C, 2))
# experts a batch of B tokens leaves untouched, if each token picks k_e of E uniformly
untouched_experts = E * (1 - k_e / E) ** f.B

# --- the per-layer roofline of an MoE (section 1.4) --------------------------------------------
# Layers run one after another, and a layer's experts (gigabytes) cannot wait in on-chip memory,
# so a step takes the SUM over matmuls of max(compute, memory), not the max of the sums. Two
# kinds of matmul: what every token uses (attention projections, the shared expert, the dense
# layers, the output head: N_d parameters) and the routed experts, of which a batch of B tokens
# touches E - untouched. Every dense matmul has the same bytes per FLOP, and every MoE layer the
# same shape, so the sum over layers collapses to one max per kind.
R_e = (f.N_tot - f.N_act) / (E - k_e)      # params of one routed expert, all MoE layers together
N_d = f.N_tot - E * R_e                     # params every token uses (N_d + k_e R_e = N_act)
touched_experts = E - untouched_experts
t_layers = (sp.Max(2 * f.B * N_d / f.F, N_d * f.b_w / f.W)
            + sp.Max(2 * f.B * k_e * R_e / f.F, touched_experts * R_e * f.b_w / f.W))
t_aggregate = sp.Max(f.t_compute, f.t_weights)          # the lecture's roofline, KV dropped
step_over_aggregate = t_layers / t_aggregate
# The dense part is compute-bound from (F/W) b_w/2 on; the routed experts are compute-bound once
# 2 B k_e / F >= touched(B) b_w / W. With (1 - k_e/E)^B = exp(-g B) the root is a Lambert W:
_g = -sp.log(1 - k_e / E)
_a = f.hardware_ratio * f.b_w / 2 * E / k_e           # the root once every expert is touched
balance_per_layer = _a + sp.LambertW(-_a * _g * sp.exp(-_a * _g)) / _g


def per_layer_balance(ratio: float, bytes_per_weight: float, experts: float,
                      per_token: float) -> float:
    """``balance_per_layer`` evaluated (Lambert W's principal branch, mpmath): the batch at which
    an MoE's routed experts, and with them every matmul of a step, become compute-bound."""
    a = ratio * bytes_per_weight / 2 * experts / per_token
    g = -math.log1p(-per_token / experts)
    return a + float(mpmath.lambertw(-a * g * mpmath.exp(-a * g)).real) / g


# --- what HBM capacity allows (section 1.5) ---------------------------------------------------
# the sequences of context L whose caches fit beside the weights in a replica of n chips
# (chapter 2's formula: serving.replica_max_sequences)
max_batch = serving.replica_max_sequences
capacity_binds_context = (n * C - f.N_tot * f.b_w) / (f.B * f.b_kv)   # where B_max(L) = B
# --- achievable rates: a measured share of each peak -----------------------------------------
_achieved = {f.F: eta_F * f.F, f.W: eta_W * f.W}
balance_achievable = balance_by_params.subs(_achieved)
gemm_over_hbm_share = eta_F / eta_W                    # what achievable rates do to every B*

# --- the all-to-all of an expert-parallel replica (section 1.4) ------------------------------
# Experts are spread evenly over the n chips, so a routed copy stays on its chip with
# probability 1/n, crosses the board's scale-up links with (min(D, n) - 1)/n and the scale-out
# network with max(0, 1 - D/n). Dispatch (b_disp bytes per element) and combine (b_comb) each
# carry k_e d-vectors per token and MoE layer; the two kinds of link run side by side.
_per_byte = sp.Max(sp.Max(0, 1 - par.D / n) / par.W_out,
                   (sp.Min(par.D, n) - 1) / (n * par.W_up))
t_a2a = f.B / n * par.n_moe * k_e * par.d * (par.b_d + par.b_c) * _per_byte   # per chip, step
a2a_over_compute = sp.simplify(t_a2a / (f.B / n * 2 * f.N_act / f.F))       # B cancels
(a2a_bound_batch,) = sp.solve(sp.Eq(t_a2a, f.N_tot * f.b_w / (n * f.W)), f.B)

# --- the cost of not batching (RP-5's "a thousand times worse") -------------------------------
# One sequence on an expert-parallel replica: the dense part is spread over all n chips, but each
# of the token's k_e experts sits on one chip, so the busiest chip reads at least
# max(1, k_e/n) experts per layer (E/n of one when n > E). The replica's chip-time for the token
# over the floor 2 N_act / F that a large batch reaches:
unbatched_cost_factor = (f.hardware_ratio * f.b_w / 2
                         * (N_d + sp.Max(k_e, sp.Min(n, E)) * R_e) / f.N_act)

# --- where each symbol's value comes from ----------------------------------------------------
_CHIP = {f.F: hw("bf16_dense_flops"), f.W: hw("hbm_bandwidth")}
_BF16 = {f.b_w: const(BF16_BYTES, "bytes per BF16 weight")}
_FP8 = {f.b_w: const(FP8_BYTES, "bytes per FP8 weight")}
_DS_PARAMS = {f.N_tot: field("models", "deepseek_v3", "total_params"),
              f.N_act: field("models", "deepseek_v3", "active_params")}
_DS_EXPERTS = {E: field("models", "deepseek_v3", "routed_experts"),
               k_e: field("models", "deepseek_v3", "active_experts")}
_LECTURE_EXPERTS = {E: claimed("RP-4", "routed_experts"),
                    k_e: claimed("RP-4", "active_experts")}
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
_REPLICA = ({C: hw("hbm_capacity")}, _HEADROOM)                 # with n -> replica_chips
_32K = {f.L: const(CONTEXT_32K, "a 32K context")}
_LECTURE_BATCH = {f.B: derived(lecture_batch, "the lecture's batch: 300 x 256 / 32")}
# the H100's measured shares of its peaks and its driver-reported capacity (achievable catalog)
_H100_ACHIEVED = {eta_F: field("achievable", "h100", "bf16_gemm_fraction"),
                  eta_W: field("achievable", "h100", "hbm_bandwidth_fraction"),
                  C_u: field("achievable", "h100", "usable_hbm_capacity")}
_H100 = {f.F: field("accelerators", "h100", "bf16_dense_flops"),
         f.W: field("accelerators", "h100", "hbm_bandwidth"),
         C: field("accelerators", "h100", "hbm_capacity")}
# chapter 6's all-to-all (helpers.parallelism): FP8 dispatch, BF16 combine, as DeepEP sends them
_A2A = {par.d: field("models", "deepseek_v3", "hidden_size"),
        par.n_moe: derived(deepseek_moe_layers, "DeepSeek-V3 MoE layers (61 - 3 dense)"),
        par.b_d: const(FP8_BYTES, "bytes per FP8 activation (dispatch)"),
        par.b_c: const(BF16_BYTES, "bytes per BF16 activation (combine)"),
        par.D: hw("scale_up_domain"), par.W_up: hw("scale_up_bandwidth"),
        par.W_out: hw("scale_out_bandwidth")}
_BALANCE, _CONTEXT = ("RP-2", "RP-4"), ("RP-1",)


def _on_replica(expr: sp.Expr) -> sp.Expr:
    """``expr`` on chapter 1's replica: n is the smallest power of two holding the weights twice."""
    return expr.subs(n, replica_chips)


def _deepseek_per_layer(acc, shares: tuple[float, float] = (1.0, 1.0)) -> float:
    """DeepSeek-V3's per-layer BF16 balance batch on ``acc`` (at shares of its peaks)."""
    ds = _deepseek()
    ratio = shares[0] * acc.bf16_dense_flops / (shares[1] * acc.hbm_bandwidth)
    return per_layer_balance(ratio, BF16_BYTES, ds.routed_experts, ds.active_experts)


def _h100_shares() -> tuple[float, float]:
    e = catalog.load("achievable")["h100"]
    return e.bf16_gemm_fraction, e.hbm_bandwidth_fraction


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
    # the per-layer roofline of an MoE (section 1.4)
    Headline("deepseek_v3_balance_batch_per_layer", "sequences",
             "BF16 balance batch of DeepSeek-V3 with the per-layer roofline: the batch at which "
             "its routed experts (and so every matmul) become compute-bound, the expected "
             "number of experts a batch touches counted",
             fn=lambda acc: _deepseek_per_layer(acc),
             why="the root of B = a (1 - (1 - k_e/E)^B), a Lambert W, which has no JavaScript",
             claims=_BALANCE, fmt="integer"),
    Headline("deepseek_v3_per_layer_over_aggregate_balance", "ratio",
             "DeepSeek-V3 BF16 balance batch, per-layer roofline / aggregate roofline (by "
             "params): how far the lecture's roofline understates an MoE's balance batch",
             fn=lambda acc: _deepseek_per_layer(acc) / f.evaluate(balance_by_params, {
                 f.F: acc.bf16_dense_flops, f.W: acc.hbm_bandwidth, f.b_w: BF16_BYTES,
                 f.N_tot: _deepseek().total_params, f.N_act: _deepseek().active_params}),
             why="its numerator is the per-layer balance batch, a Lambert W",
             claims=_BALANCE, fmt="times2"),
    _headline("deepseek_v3_step_over_aggregate_lecture_batch", "ratio",
              "DeepSeek-V3 BF16 step (weights only), per-layer roofline / aggregate roofline, at "
              "the lecture's batch (300 x 256 / 32)", step_over_aggregate, _CHIP, _BF16,
              _DS_PARAMS, _DS_EXPERTS, _LECTURE_BATCH, claims=_BALANCE, fmt="times2"),
    _headline("deepseek_v3_step_over_aggregate_balance_batch", "ratio",
              "DeepSeek-V3 BF16 step (weights only), per-layer roofline / aggregate roofline, at "
              "the aggregate balance batch (by params)",
              step_over_aggregate.subs(f.B, balance_by_params), _CHIP, _BF16, _DS_PARAMS,
              _DS_EXPERTS, claims=_BALANCE, fmt="times2"),
    # HBM capacity (section 1.5)
    _headline("deepseek_v3_max_batch_32k", "sequences",
              "32K-token DeepSeek-V3 sequences whose BF16 MLA caches fit beside the BF16 "
              "weights in chapter 1's replica, whose chip count is the smallest power of two "
              "whose HBM holds the weights twice over",
              _on_replica(max_batch), *_REPLICA, _BF16, _DS_PARAMS, _DS_CACHE, _32K,
              claims=("RP-4", "RP-6"), fmt="integer"),
    Headline("deepseek_v3_capacity_binds_context", "tokens",
             "context above which the KV caches that fit in chapter 1's replica hold fewer "
             "DeepSeek-V3 sequences than its per-layer balance batch",
             fn=lambda acc: f.evaluate(
                 _on_replica(capacity_binds_context), {
                     C: acc.hbm_capacity, h: REPLICA_HEADROOM, f.b_w: BF16_BYTES,
                     f.N_tot: _deepseek().total_params, f.b_kv: deepseek_kv_bytes_bf16(),
                     f.B: _deepseek_per_layer(acc)}),
             why="it divides by the per-layer balance batch, a Lambert W",
             claims=("RP-4",), fmt="integer"),
    _headline("deepseek_v3_max_batch_32k_usable_h100", "sequences",
              "as deepseek_v3_max_batch_32k on H100s, counting the capacity nvidia-smi reports "
              "(the replica sized by the datasheet capacity)",
              _on_replica(max_batch.subs(C, C_u)), _H100, _HEADROOM, _BF16, _DS_PARAMS,
              _DS_CACHE, _32K, _H100_ACHIEVED, claims=("RP-4",), fmt="integer"),
    # achievable rates (the H100's measured shares of its peaks)
    _headline("gemm_over_hbm_share_h100", "ratio",
              "H100: achieved share of peak BF16 GEMM FLOP/s / achieved share of peak HBM "
              "bandwidth; every balance batch scales by it", gemm_over_hbm_share,
              _H100_ACHIEVED, claims=_BALANCE, fmt="num"),
    _headline("deepseek_v3_balance_batch_achievable", "sequences",
              "DeepSeek-V3 BF16 balance batch (aggregate, by params) at the H100's measured "
              "shares of peak GEMM FLOP/s and HBM bandwidth applied to this part's peaks",
              balance_achievable, _CHIP, _BF16, _DS_PARAMS, _H100_ACHIEVED, claims=_BALANCE,
              fmt="integer"),
    Headline("deepseek_v3_balance_batch_per_layer_achievable", "sequences",
             "DeepSeek-V3 BF16 per-layer balance batch at the H100's measured shares of peak "
             "GEMM FLOP/s and HBM bandwidth applied to this part's peaks",
             fn=lambda acc: _deepseek_per_layer(acc, _h100_shares()),
             why="the per-layer balance batch is a Lambert W", claims=_BALANCE, fmt="integer"),
    Headline("deepseek_v3_per_layer_achievable_over_formula", "ratio",
             "DeepSeek-V3: per-layer balance batch at measured rates / the lecture's formula "
             "(aggregate, datasheet rates, by params)",
             fn=lambda acc: _deepseek_per_layer(acc, _h100_shares()) / f.evaluate(
                 balance_by_params, {f.F: acc.bf16_dense_flops, f.W: acc.hbm_bandwidth,
                                     f.b_w: BF16_BYTES, f.N_tot: _deepseek().total_params,
                                     f.N_act: _deepseek().active_params}),
             why="its numerator is a Lambert W", claims=("RP-4",), fmt="times2"),
    # the all-to-all of an expert-parallel replica
    _headline("deepseek_v3_a2a_over_compute", "ratio",
              "DeepSeek-V3 on chapter 1's replica, experts spread over its chips: all-to-all "
              "time per step / arithmetic time per step (FP8 dispatch, BF16 combine)",
              _on_replica(a2a_over_compute), _CHIP, *_REPLICA, _BF16, _DS_PARAMS, _DS_EXPERTS,
              _A2A, claims=_BALANCE, fmt="num"),
    _headline("deepseek_v3_a2a_bound_batch", "sequences",
              "batch above which DeepSeek-V3's all-to-all on chapter 1's replica takes longer "
              "than its BF16 weight fetch", _on_replica(a2a_bound_batch), _CHIP, *_REPLICA,
              _BF16, _DS_PARAMS, _DS_EXPERTS, _A2A, claims=_BALANCE, fmt="integer"),
    # RP-5's other half and RP-1's caveat
    _headline("deepseek_v3_unbatched_cost_factor", "ratio",
              "DeepSeek-V3 BF16, one sequence on chapter 1's replica with its experts spread "
              "over the chips: chip-time per token / the large-batch floor 2 N_act / F",
              _on_replica(unbatched_cost_factor), _CHIP, *_REPLICA, _BF16, _DS_PARAMS,
              _DS_EXPERTS, claims=("RP-5",), fmt="integer"),
    _headline("roofline_attention_understatement", "ratio",
              "largest factor, over contexts, by which the lecture's roofline (no attention "
              "arithmetic) understates a DeepSeek-V3 BF16 step at 2x its balance batch",
              attention_understatement.subs(r_a, attention_share_of_ratio), *_DEEPSEEK_BF16,
              claims=_CONTEXT, fmt="times2"),
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
