"""Formulas against exact SymPy identities and hand-checked numbers; chapter 1's headlines
(helpers/roofline.py, read through the registry) against brute force on every catalogued part."""
from __future__ import annotations

import pytest
import sympy as sp

from helpers import catalog, claims, fmt, formulas as f, registry, roofline as R, units as U
from helpers.verdicts import ratio_verdict

ACCS = catalog.accelerators()
DS = catalog.models()["deepseek_v3"]


def _headline(name: str, acc) -> float:
    """Chapter 1's headline ``name`` for an accelerator, from its one definition."""
    return registry.get(name).value(acc)


def _sparsity(reading: str) -> float:
    """DeepSeek-V3's sparsity three ways, by hand: the lecture's 256 / 32, total / active
    parameters, routed / active routed experts."""
    rp4 = claims.get("RP-4")
    return {"lecture": rp4.value("routed_experts") / rp4.value("active_experts"),
            "params": DS.total_params / DS.active_params,
            "experts": DS.routed_experts / DS.active_experts}[reading]


def _with_capacity(acc, capacity_bytes: float):
    """``acc`` with its HBM capacity replaced (SI bytes; the printed value follows in GB)."""
    import dataclasses
    cap = acc.fields["hbm_capacity"]
    return dataclasses.replace(acc, fields=dict(acc.fields, hbm_capacity=dataclasses.replace(
        cap, value=capacity_bytes / U.to_si(1, cap.unit), si=capacity_bytes)))


def test_balance_batch_is_ratio_times_sparsity_times_half_bytes_per_weight():
    assert sp.simplify(f.balance_batch() - f.F / f.W * f.N_tot / f.N_act * f.b_w / 2) == 0
    assert sp.simplify(f.balance_batch() - f.balance_batch_factored) == 0


def test_balance_batch_precision_cancels_only_at_matched_precision():
    F16 = sp.Symbol("F16", positive=True)
    matched = sp.simplify(f.balance_batch().subs(f.F, F16 * 2 / f.b_w))
    assert f.b_w not in matched.free_symbols
    weight_only = f.balance_batch().subs({f.F: F16, f.b_w: 1})
    bf16 = f.balance_batch().subs({f.F: F16, f.b_w: 2})
    assert sp.simplify(weight_only / bf16) == sp.Rational(1, 2)


def test_balance_batch_with_kv_reduces_to_weights_only_and_diverges_at_max_context():
    assert sp.simplify(f.balance_batch_with_kv().subs(f.L, 0) - f.balance_batch()) == 0
    denom = sp.denom(sp.together(f.balance_batch_with_kv()))
    assert sp.simplify(denom.subs(f.L, f.max_compute_bound_context)) == 0
    # the lecture's case: no attention arithmetic
    assert sp.simplify(f.max_compute_bound_context.subs(f.a_kv, 0)
                       - 2 * f.N_act * f.W / (f.F * f.b_kv)) == 0


def test_roofline_at_balance_batch_has_equal_compute_and_weight_time():
    at = {f.B: f.balance_batch()}
    assert sp.simplify(f.t_compute.subs(at) - f.t_weights.subs(at)) == 0
    assert f.t_step_full.subs(f.a_kv, 0) == f.t_step


def test_cost_floor_is_the_large_batch_limit():
    # Max is monotone, so the limit of the cost is the Max of the branches' limits
    limit = sp.Max(*[sp.limit(branch / f.B, f.B, sp.oo) for branch in f.t_step_full.args])
    assert sp.simplify(limit - f.cost_floor) == 0
    # and the cost approaches it from above
    at = {f.N_tot: 10, f.N_act: 1, f.F: 1, f.W: 1, f.b_w: 2, f.b_kv: 1, f.a_kv: 0.5, f.L: 5}
    assert (f.cost_per_token.subs(at).subs(f.B, 100) - f.cost_floor.subs(at)) > 0


def test_slow_mode_bound_is_one_over_k_plus_one_without_attention():
    assert sp.simplify(f.slow_mode_max_saving.subs(f.a_kv, 0) - 1 / (f.k + 1)) == 0


@pytest.mark.parametrize("a_kv", [0.0, 16.99e6])
def test_slow_mode_bound_is_the_maximum_over_contexts(a_kv):
    """Brute force: the saving at k x B* over a dense grid of contexts never exceeds the closed
    form, and reaches it at L_max."""
    import numpy as np
    N_tot, N_act, F, W, b_w, b_kv, k = 671e9, 37e9, 989.4e12, 3.35e12, 2, 70272, 2
    b_star = F / W * N_tot / N_act * b_w / 2
    cost = f.lambdify(f.cost_per_token, f.B, f.N_tot, f.N_act, f.F, f.W, f.b_w, f.b_kv, f.a_kv, f.L)
    floor = f.lambdify(f.cost_floor, f.N_act, f.F, f.W, f.b_kv, f.a_kv, f.L)
    L = np.logspace(2, 7, 20001)
    saving = 1 - floor(N_act, F, W, b_kv, a_kv, L) / cost(k * b_star, N_tot, N_act, F, W, b_w,
                                                            b_kv, a_kv, L)
    bound = float(f.slow_mode_max_saving.subs({f.F: F, f.W: W, f.b_kv: b_kv, f.a_kv: a_kv, f.k: k}))
    assert saving.max() <= bound + 1e-12
    assert saving.max() == pytest.approx(bound, rel=1e-3)


@pytest.mark.parametrize("key", ACCS)
def test_slow_mode_headline_is_the_maximum_over_contexts_for_every_accelerator(key):
    """Brute force on the catalog: DeepSeek-V3 at k x B* on each part, over a dense grid of
    contexts, never saves more than the headline, and reaches it (0 where every context is
    compute-bound); the 32K headline is the same grid's value at 32,768 tokens."""
    import numpy as np
    acc = ACCS[key]
    k = claims.get("RP-4").value("deployment_multiplier_low")
    chip = (acc.bf16_dense_flops, acc.hbm_bandwidth)
    kv, attn = R.deepseek_kv_bytes_bf16(), R.deepseek_attention_flops()
    cost = f.lambdify(f.cost_per_token, f.B, f.N_tot, f.N_act, f.F, f.W, f.b_w, f.b_kv, f.a_kv,
                      f.L)
    floor = f.lambdify(f.cost_floor, f.N_act, f.F, f.W, f.b_kv, f.a_kv, f.L)
    batch = k * _headline("optimal_batch_deepseek_v3_by_params", acc)

    def saving(L):
        return 1 - floor(DS.active_params, *chip, kv, attn, L) / cost(
            batch, DS.total_params, DS.active_params, *chip, R.BF16_BYTES, kv, attn, L)

    grid = saving(np.logspace(2, 7, 20001))
    bound = _headline("slow_mode_max_saving", acc)
    assert grid.max() <= bound + 1e-12
    assert grid.max() == pytest.approx(bound, rel=1e-3, abs=1e-12)
    assert _headline("slow_mode_saving_32k", acc) == pytest.approx(saving(R.CONTEXT_32K),
                                                                   rel=1e-12, abs=1e-15)


@pytest.mark.parametrize("key", ACCS)
def test_balance_batch_headlines_equalise_arithmetic_and_weight_fetch(key):
    """At each reading's B* one decode step's arithmetic takes exactly as long as its weight
    fetch; the readings differ only by their sparsity, and weight-only FP8 halves B*."""
    acc = ACCS[key]
    at = {f.B: _headline("optimal_batch_deepseek_v3_by_params", acc), f.N_tot: DS.total_params,
          f.N_act: DS.active_params, f.F: acc.bf16_dense_flops, f.W: acc.hbm_bandwidth,
          f.b_w: R.BF16_BYTES}
    assert f.evaluate(f.t_compute, at) == pytest.approx(f.evaluate(f.t_weights, at), rel=1e-12)
    ratio = _headline("flops_per_byte", acc)
    for reading, name in (("lecture", "lecture_example"), ("params", "deepseek_v3_by_params"),
                          ("experts", "deepseek_v3_by_experts")):
        assert _headline(f"optimal_batch_{name}", acc) == \
            pytest.approx(ratio * _sparsity(reading), rel=1e-12)
    assert _headline("ex_weight_only_batch", acc) == \
        pytest.approx(at[f.B] / 2, rel=1e-12)


@pytest.mark.parametrize("key", ACCS)
def test_max_context_headlines_are_where_the_kv_balance_batch_diverges(key):
    """L_max is finite exactly when the cache is read at fewer FLOP per byte than the chip's F/W;
    there the balance batch with KV reads changes sign (it is positive just below, negative just
    above). An FP8 cache doubles the lecture's L_max."""
    acc = ACCS[key]
    ratio = _headline("flops_per_byte", acc)
    attn = R.deepseek_attention_flops()
    for kv, name in ((R.deepseek_kv_bytes_bf16(), "deepseek_v3_max_compute_bound_context"),
                     (R.deepseek_kv_bytes_fp8(), "ex_fp8_kv_max_compute_bound_context")):
        L_max = _headline(name, acc)
        assert (L_max == float("inf")) == (attn / kv >= ratio), name
        if L_max == float("inf"):
            continue
        values = {f.N_tot: DS.total_params, f.N_act: DS.active_params, f.b_w: R.BF16_BYTES,
                  f.F: acc.bf16_dense_flops, f.W: acc.hbm_bandwidth, f.b_kv: kv, f.a_kv: attn}
        below, above = ({**values, f.L: L_max * x} for x in (1 - 1e-6, 1 + 1e-6))
        assert f.evaluate(f.balance_batch_with_kv(), below) > 0
        assert f.evaluate(f.balance_batch_with_kv(), above) < 0
    assert _headline("ex_fp8_kv_max_context_lecture", acc) == pytest.approx(
        2 * _headline("deepseek_v3_max_compute_bound_context_lecture", acc), rel=1e-12)


@pytest.mark.parametrize("key", ACCS)
def test_replica_chips_is_the_smallest_power_of_two_holding_the_weights_twice(key):
    """Brute force against the closed form 2^ceil(log2(...)), also at capacities that make the
    ratio an exact power of two (where a rounding log would give twice the chips)."""
    need = R.REPLICA_HEADROOM * R.BF16_BYTES * DS.total_params
    for acc in (ACCS[key], *(_with_capacity(ACCS[key], need / 2**j) for j in range(13))):
        chips = 1
        while chips * acc.hbm_capacity < need:
            chips *= 2
        assert _headline("deepseek_v3_bf16_replica_chips", acc) == chips, acc.hbm_capacity


def test_replica_headroom_is_a_stated_input():
    """The "twice over" is the headline's input h, stated once (R.REPLICA_HEADROOM)."""
    h = registry.get("deepseek_v3_bf16_replica_chips")
    assert h.inputs[R.h].kind == "const" and h.inputs[R.h].resolve(ACCS["h100"]) == 2
    assert R.REPLICA_HEADROOM == 2


def _untouched_by_enumeration(n_experts: int, per_token: int, batch: int) -> float:
    """Expected experts no token picks, every token choosing ``per_token`` of ``n_experts``
    uniformly: all choices for the batch enumerated."""
    from itertools import combinations, product
    choices = list(combinations(range(n_experts), per_token))
    total = 0
    for picks in product(choices, repeat=batch):
        total += n_experts - len(set().union(*picks))
    return total / len(choices) ** batch


@pytest.mark.parametrize("n_experts,per_token,batch", [(4, 1, 3), (5, 2, 3), (6, 3, 2)])
def test_untouched_experts_closed_form_by_enumeration(n_experts, per_token, batch):
    closed = f.evaluate(R.untouched_experts, {R.E: n_experts, R.k_e: per_token, f.B: batch})
    assert closed == pytest.approx(_untouched_by_enumeration(n_experts, per_token, batch),
                                   rel=1e-12)


@pytest.mark.parametrize("key", ACCS)
def test_untouched_experts_headlines(key):
    """DeepSeek-V3 (m of E routed experts): each expert is missed by one token with probability
    C(E-1, m) / C(E, m) = 1 - m/E; at B = 32, and at the part's balance batch (by params)."""
    import math
    acc = ACCS[key]
    E, m = DS.routed_experts, DS.active_experts
    miss = math.comb(int(E) - 1, int(m)) / math.comb(int(E), int(m))
    assert _headline("ex_untouched_experts_32", acc) == pytest.approx(E * miss ** 32, rel=1e-12)
    b_star = _headline("optimal_batch_deepseek_v3_by_params", acc)
    assert _headline("ex_untouched_experts_bstar", acc) == \
        pytest.approx(E * miss ** b_star, rel=1e-12)
    assert registry.get("ex_untouched_experts_bstar").text(3.605307935276359e-72) == "3.6e-72"


def test_accelerator_independent_headlines():
    """Chapter 1's headlines that read no accelerator field: one value on every part, and
    the sparsities, cache intensities and slow-mode bound they stand for."""
    names = {"lecture_sparsity": _sparsity("lecture"),
             "deepseek_v3_sparsity_by_params": _sparsity("params"),
             "deepseek_v3_sparsity_by_experts": _sparsity("experts"),
             "deepseek_v3_attention_flops_per_byte":
                 R.deepseek_attention_flops() / R.deepseek_kv_bytes_bf16(),
             "ex_fp8_kv_intensity": R.deepseek_attention_flops() / R.deepseek_kv_bytes_fp8(),
             # GQA reads each cached K and V with one head group: n_heads / n_kv_heads = 64 / 8
             "llama3_70b_attention_flops_per_byte": 8.0,
             "slow_mode_max_saving_no_attention": 1 / 3,
             "ex_untouched_experts_32": None}
    for name, expected in names.items():
        h = registry.get(name)
        assert h.closed_form and not h.hardware_fields, name
        values = {_headline(name, acc) for acc in ACCS.values()}
        assert len(values) == 1, name
        if expected is not None:
            assert values.pop() == pytest.approx(expected, rel=1e-12), name
    assert sp.simplify(f.slow_mode_max_saving.subs(f.a_kv, 0)
                       - R.slow_mode_max_saving_no_attention) == 0
    assert _sparsity("lecture") == 8 and _sparsity("experts") == 32


def test_attention_flops_hand_checked():
    models = catalog.models()
    # MLA absorbed: 61 layers x 128 heads x 2 x (2 x 512 + 64)
    assert f.attention_flops_per_context_token(models["deepseek_v3"]) == 61 * 128 * 2 * 1088
    # GQA: 80 layers x 64 heads x 4 x 128
    assert f.attention_flops_per_context_token(models["llama3_70b"]) == 80 * 64 * 4 * 128


def test_hand_checked_h100_numbers():
    h100 = catalog.lookup("accelerators", "h100")
    # 989.4e12 / 3.35e12 = 295.34 (hand: 989.4 / 3.35)
    assert h100.bf16_dense_flops / h100.hbm_bandwidth == pytest.approx(295.343, abs=1e-3)
    assert _headline("flops_per_byte", h100) == pytest.approx(295.343, abs=1e-3)
    # DeepSeek-V3 671B / 37B on H100, BF16: 295.343 * 18.1351 = 5356.0
    batch = {reading: _headline(f"optimal_batch_{reading}", h100) for reading in
             ("deepseek_v3_by_params", "deepseek_v3_by_experts", "lecture_example")}
    assert batch["deepseek_v3_by_params"] == pytest.approx(5356.06, abs=0.05)
    # 256 / 8 routed experts: 295.343 * 32 = 9451.0; the lecture's 256 / 32: 295.343 * 8
    assert batch["deepseek_v3_by_experts"] == pytest.approx(9450.99, abs=0.05)
    assert batch["lecture_example"] == pytest.approx(2362.75, abs=0.05)
    # 2 x 2 bytes x 671e9 / 80e9 = 33.6 H100s -> 64
    assert _headline("deepseek_v3_bf16_replica_chips", h100) == 64
    # per layer: 295.343 x 256 / 8 = 9450.99, less a (31/32)^9451 ~ 1e-130 correction
    assert _headline("deepseek_v3_balance_batch_per_layer", h100) == pytest.approx(9450.99,
                                                                                   abs=0.05)


def test_kv_bytes_per_token_hand_checked():
    models = catalog.models()
    # MLA: 61 layers x (512 + 64) x 2 bytes
    assert f.kv_bytes_per_token(models["deepseek_v3"], 2) == 61 * 576 * 2 == 70272
    # GQA: 80 layers x 2 (K, V) x 8 heads x 128 dims x 2 bytes
    assert f.kv_bytes_per_token(models["llama3_70b"], 2) == 80 * 2 * 8 * 128 * 2 == 327680
    assert f.kv_bytes_per_token(models["llama3_8b"], 1) == 32 * 2 * 8 * 128


def test_lambdify_broadcasts_max():
    import numpy as np
    fn = f.lambdify(f.t_step, f.B, f.N_tot, f.N_act, f.F, f.W, f.b_w, f.b_kv, f.L)
    out = fn(np.array([1.0, 1e6]), 2.0, 1.0, 1.0, 1.0, 1.0, 0.0, 0.0)
    assert list(out) == [2.0, 2e6]


def test_units():
    assert U.to_si(400, "Gb/s") == 50e9
    assert U.to_si(80, "GiB") == 80 * 2**30
    assert U.to_si(5, "USD/Mtok") == pytest.approx(5e-6)


def test_token_rates_share_one_dimension():
    """The units table once defined "tokens/s" twice, so it silently left the dimension of
    "million tokens/s": every rate of events must be one dimension, and no key repeated."""
    import ast
    import inspect
    assert U.dimension("tokens/s") == U.dimension("million tokens/s") == U.dimension("1/s")
    table = next(n for n in ast.walk(ast.parse(inspect.getsource(U)))
                 if isinstance(n, ast.AnnAssign) and getattr(n.target, "id", "") == "UNITS")
    keys = [k.value for k in table.value.keys]
    assert len(keys) == len(set(keys)), "a unit is defined twice"


def test_other_reading_rereads_the_printed_number():
    cap = catalog.accelerators()["h100"].fields["hbm_capacity"]
    assert cap.also_read_as == "GiB"
    assert U.other_reading(cap) == pytest.approx(cap.value * 2**30)
    assert U.other_reading(catalog.accelerators()["h100"].fields["hbm_bandwidth"]) is None


def test_verdict_labels_are_checked():
    from helpers.verdicts import check_label
    for good in ("holds", "holds with caveat", "off by 2.0× (claim too high)", "does not follow"):
        assert check_label(good) == good
    for bad in ("holds for 6 of 16", "mostly holds", "off by 2× claim too high"):
        with pytest.raises(ValueError):
            check_label(bad)


@pytest.mark.parametrize("claimed,derived,verdict", [
    (300, 295, "holds"), (300, 345, "holds"), (300, 400, "holds with caveat"),
    (300, 153, "off by 1.96× (claim too high)"), (8, 32, "off by 4.0× (claim too low)"),
])
def test_verdict_bands(claimed, derived, verdict):
    assert ratio_verdict(claimed, derived) == verdict


@pytest.mark.parametrize("x,text", [(2363.1, "2,360"), (0.01234, "0.0123"), (295.34, "295"),
                                    (1.5, "1.50"), (123456, "123,000")])
def test_number_formatting(x, text):
    assert fmt.num(x) == text


def test_intro_states_the_verdict_bands_the_code_uses():
    """The rule is typed once in prose for readers; this keeps it equal to helpers.verdicts."""
    from conftest import ROOT
    from helpers.verdicts import CAVEAT_WITHIN, HOLDS_WITHIN
    intro = (ROOT / "intro.md").read_text(encoding="utf-8")
    assert f"Within {HOLDS_WITHIN:.0%}".replace("%", " %") in intro
    assert f"within a factor {1 + CAVEAT_WITHIN:g}" in intro
    from helpers.verdicts import ORDER_OF_MAGNITUDE
    assert f"within a factor {1 + ORDER_OF_MAGNITUDE[0]:g}" in intro
    assert f"(a factor {1 + ORDER_OF_MAGNITUDE[1]:.2f})" in intro


def test_order_of_magnitude_band():
    """A 10x miss never gets the label of a 1.1x miss; a remark 'about the same' holds at 1.8x."""
    from helpers.verdicts import ORDER_OF_MAGNITUDE, ratio_verdict
    assert ratio_verdict(1, 1.8, ORDER_OF_MAGNITUDE) == "holds"
    assert ratio_verdict(1, 3.0, ORDER_OF_MAGNITUDE) == "holds with caveat"
    assert ratio_verdict(1, 3.9, ORDER_OF_MAGNITUDE) == "off by 3.9× (claim too low)"
    assert ratio_verdict(1, 0.1, ORDER_OF_MAGNITUDE) == "off by 10.0× (claim too high)"
    assert ratio_verdict(1, 1.8) == "off by 1.80× (claim too low)"


def test_off_by_labels_never_read_as_inside_the_caveat_band():
    from helpers.verdicts import ratio_verdict
    assert ratio_verdict(100, 152.8) == "off by 1.53× (claim too low)"
    assert ratio_verdict(100, 150.3) == "off by 1.503× (claim too low)"
    assert ratio_verdict(100, 224) == "off by 2.2× (claim too low)"
    assert ratio_verdict(160, 100) == "off by 1.60× (claim too high)"


def test_percentages_hide_rounding_noise():
    from helpers.fmt import pct
    assert pct(1 - 0.3 / 0.3) == "0 %" and pct(-2.2e-16) == "0 %"
    assert pct(0.0832) == "8.3 %" and pct(1e-6) == "0.00010 %"


def test_evaluate_is_subs_at_compiled_speed():
    values = {f.B: 0, f.N_tot: 1e12, f.b_w: 1, f.W: 3.35e12, f.L: 1000, f.b_kv: 70272}
    for batch in (0, 64):
        values[f.B] = batch
        assert f.evaluate(f.t_memory, values) == \
            pytest.approx(float(f.t_memory.subs(values)), rel=1e-15)
    with pytest.raises(ValueError, match="no value for"):
        f.evaluate(f.t_memory, {f.B: 1, f.N_tot: 1e12})


# --- chapter 1, second edition: the per-layer roofline, capacity, achievable rates, the
# all-to-all and the cost of not batching (helpers/roofline.py) ------------------------------

# DeepSeek-V3's shapes as inference/configs/config_671B.json and inference/model.py give them
# (github.com/deepseek-ai/DeepSeek-V3 @9b4e9788): hidden 7168, moe_inter_dim 2048 (an expert is
# w1, w3: dim -> 2048 and w2: 2048 -> dim), inter_dim 18432 (3 dense layers), q_lora_rank 1536,
# kv_lora_rank 512, qk_nope 128, qk_rope 64, v_head 128, 128 heads, vocab 129280
_DIM, _MOE_INTER, _INTER, _V = 7168, 2048, 18432, 129280
_ATTN = (_DIM * 1536 + 1536 * 128 * (128 + 64) + _DIM * (512 + 64) + 512 * 128 * (128 + 128)
         + 128 * 128 * _DIM)


def _ds_values(acc) -> dict:
    """DeepSeek-V3 in BF16 on ``acc``: the symbols of the per-layer roofline."""
    return {f.N_tot: DS.total_params, f.N_act: DS.active_params, f.b_w: R.BF16_BYTES,
            R.E: DS.routed_experts, R.k_e: DS.active_experts, f.F: acc.bf16_dense_flops,
            f.W: acc.hbm_bandwidth}


def test_expert_split_against_a_hand_count_of_the_config():
    """R_e (one routed expert over the 58 MoE layers) and N_d (what every token uses), derived
    from the catalog's 671B / 37B and 8 of 256, against the config's shapes counted by hand:
    the expert agrees to 0.1 %; N_d to the rounding of '37B activated' (the hand count gives
    37.55B active, with the 0.9B embedding table that a lookup does not multiply)."""
    moe_layers = DS.n_layers - DS.n_dense_layers
    expert = 3 * _DIM * _MOE_INTER
    assert expert == 44_040_192
    r_e, n_d = (f.evaluate(x, _ds_values(ACCS["h100"])) for x in (R.R_e, R.N_d))
    assert r_e == pytest.approx(moe_layers * expert, rel=1e-3)
    hand_nd = (DS.n_layers * _ATTN + DS.n_dense_layers * 3 * _DIM * _INTER
               + moe_layers * (expert + DS.routed_experts * _DIM) + 2 * _V * _DIM)
    assert n_d == pytest.approx(hand_nd, rel=0.04)
    assert n_d + DS.active_experts * r_e == pytest.approx(DS.active_params, rel=1e-12)
    assert n_d + DS.routed_experts * r_e == pytest.approx(DS.total_params, rel=1e-12)


def test_touched_experts_by_simulation():
    """Experts a batch touches, E - E (1 - k_e/E)^B, against routing simulated token by token
    (each token picks k_e distinct experts uniformly; fixed seed)."""
    import numpy as np
    rng = np.random.default_rng(20260429)
    E, k = int(DS.routed_experts), int(DS.active_experts)
    for batch in (1, 4, 32, 128):
        trials = np.array([len({int(x) for _ in range(batch)
                                for x in rng.choice(E, size=k, replace=False)})
                           for _ in range(2000)])
        closed = f.evaluate(R.touched_experts, {R.E: E, R.k_e: k, f.B: batch})
        assert abs(trials.mean() - closed) < 4 * trials.std() / np.sqrt(len(trials)) + 1e-9


@pytest.mark.parametrize("key", ACCS)
def test_per_layer_balance_batch_is_where_the_routed_experts_turn_compute_bound(key):
    """Brute force: just below the headline the routed experts' weight fetch is longer than their
    arithmetic, just above it shorter; there the whole per-layer step is pure arithmetic. The
    headline equals the Lambert W closed form evaluated at 30 digits, and tends to
    (F/W)(b_w/2)(E/k_e) once every expert is touched."""
    acc = ACCS[key]
    b = _headline("deepseek_v3_balance_batch_per_layer", acc)
    ratio = acc.bf16_dense_flops / acc.hbm_bandwidth
    E, k = DS.routed_experts, DS.active_experts

    def routed_excess(batch):      # weight fetch - arithmetic of the routed experts, per R_e
        touched = E * (1 - (1 - k / E) ** batch)
        return touched * R.BF16_BYTES / acc.hbm_bandwidth - 2 * batch * k / acc.bf16_dense_flops

    assert routed_excess(b * (1 - 1e-9)) > 0 > routed_excess(b * (1 + 1e-9))
    exact = R.balance_per_layer.subs({f.F: acc.bf16_dense_flops, f.W: acc.hbm_bandwidth,
                                      f.b_w: R.BF16_BYTES, R.E: E, R.k_e: k})
    assert b == pytest.approx(float(sp.N(exact, 30)), rel=1e-12)
    assert b == pytest.approx(ratio * E / k, rel=1e-9)
    at = {**_ds_values(acc), f.B: b}
    assert f.evaluate(R.t_layers, at) == pytest.approx(f.evaluate(f.t_compute, at), rel=1e-9)
    # the gap to the aggregate roofline is the ratio of the two sparsities
    assert _headline("deepseek_v3_per_layer_over_aggregate_balance", acc) == pytest.approx(
        (E / k) / (DS.total_params / DS.active_params), rel=1e-9)


def test_per_layer_balance_batch_with_few_experts_touched():
    """Where the batch leaves experts idle the root is below a = (F/W)(b_w/2)(E/k_e): checked on
    a small, slow chip by bisection on the balance equation itself."""
    ratio, E, k = 4.0, 64.0, 8.0
    b = R.per_layer_balance(ratio, 2, E, k)
    lo, hi = 1e-9, 1e6
    for _ in range(200):
        mid = (lo + hi) / 2
        lo, hi = (mid, hi) if mid < ratio * E / k * (1 - (1 - k / E) ** mid) else (lo, mid)
    assert b == pytest.approx(lo, rel=1e-12) and b < ratio * E / k * 0.999


@pytest.mark.parametrize("key", ["h100", "b200", "gb200", "a100", "tpu_v5e"])
def test_per_layer_step_against_a_sum_over_the_61_layers(key):
    """The closed form collapses the layers into one max per kind of matmul; here the step is
    summed layer by layer over all 61 (3 dense, 58 MoE), N_d split among them at random (fixed
    seed: every split gives the same sum), at the lecture's batch and the aggregate B*."""
    import numpy as np
    acc = ACCS[key]
    F, W, bw = acc.bf16_dense_flops, acc.hbm_bandwidth, R.BF16_BYTES
    vals = _ds_values(acc)
    n_d, r_e = f.evaluate(R.N_d, vals), f.evaluate(R.R_e, vals)
    moe_layers = int(DS.n_layers - DS.n_dense_layers)
    P_e, E, k = r_e / moe_layers, DS.routed_experts, DS.active_experts
    share = np.random.default_rng(61).dirichlet(np.ones(int(DS.n_layers))) * n_d
    agg_b = _headline("optimal_batch_deepseek_v3_by_params", acc)
    for batch, name in ((300 * _sparsity("lecture"), "lecture_batch"),
                        (agg_b, "balance_batch")):
        step = sum(max(2 * batch * p / F, p * bw / W) for p in share)
        touched = E * (1 - (1 - k / E) ** batch)
        step += moe_layers * max(2 * batch * k * P_e / F, touched * P_e * bw / W)
        aggregate = max(2 * batch * DS.active_params / F, DS.total_params * bw / W)
        assert _headline(f"deepseek_v3_step_over_aggregate_{name}", acc) == pytest.approx(
            step / aggregate, rel=1e-9)


@pytest.mark.parametrize("key", ACCS)
def test_max_batch_by_brute_force(key):
    """The largest whole batch of 32K sequences whose BF16 MLA caches fit beside the BF16
    weights in the replica, found by counting; the context at which the cap meets the per-layer
    balance batch; and chapter 2's count of the same sequences, where it has one."""
    acc = ACCS[key]
    chips = _headline("deepseek_v3_bf16_replica_chips", acc)
    room = chips * acc.hbm_capacity - R.BF16_BYTES * DS.total_params
    per_seq = R.CONTEXT_32K * R.deepseek_kv_bytes_bf16()
    guess = int(room // per_seq)
    while (guess + 1) * per_seq <= room:
        guess += 1
    while guess * per_seq > room:
        guess -= 1
    assert _headline("deepseek_v3_max_batch_32k", acc) == guess
    bind = _headline("deepseek_v3_capacity_binds_context", acc)
    assert room / (bind * R.deepseek_kv_bytes_bf16()) == pytest.approx(
        _headline("deepseek_v3_balance_batch_per_layer", acc), rel=1e-12)
    if "deepseek_v3_replica_sequences_32k" in registry.headlines():   # chapter 2's
        assert _headline("deepseek_v3_replica_sequences_32k", acc) == guess


def test_usable_capacity_and_achievable_rates_hand_checked():
    """nvidia-smi's 81,559 MiB per H100 on the 64-chip replica; the H100's measured shares
    (0.803 of peak GEMM, 0.896 of peak bandwidth) scale every balance batch by their ratio."""
    h100 = ACCS["h100"]
    room = 64 * 81559 * 2**20 - 2 * DS.total_params
    assert _headline("deepseek_v3_max_batch_32k_usable_h100", h100) == \
        room // (32768 * 70272) == 1794
    share = 0.803 / 0.896
    assert _headline("gemm_over_hbm_share_h100", h100) == pytest.approx(share, rel=1e-12)
    for key in ("h100", "b200", "a100"):
        acc = ACCS[key]
        assert _headline("deepseek_v3_balance_batch_achievable", acc) == pytest.approx(
            share * _headline("optimal_batch_deepseek_v3_by_params", acc), rel=1e-12)
        per_layer = _headline("deepseek_v3_balance_batch_per_layer_achievable", acc)
        assert per_layer == pytest.approx(
            share * _headline("deepseek_v3_balance_batch_per_layer", acc), rel=1e-9)
        assert _headline("deepseek_v3_per_layer_achievable_over_formula", acc) == \
            pytest.approx(per_layer / _headline("optimal_batch_deepseek_v3_by_params", acc),
                          rel=1e-12)
    assert _headline("deepseek_v3_balance_batch_per_layer_achievable", h100) == \
        pytest.approx(8468.5, abs=2)        # 295.343 x 0.896... x 32


def _link_shares(chips: int, board: int) -> tuple[float, float]:
    """Shares of a token's routed copies that cross the board's scale-up links and the
    scale-out network, counted over every (source chip, destination chip) pair."""
    up = out = 0
    for src in range(chips):
        for dst in range(chips):
            if dst == src:
                continue
            if dst // board == src // board:
                up += 1
            else:
                out += 1
    return up / chips**2, out / chips**2


@pytest.mark.parametrize("key", ACCS)
def test_all_to_all_by_counting_destinations(key):
    """The replica's chips on boards of D: the link shares counted pair by pair; then the
    all-to-all per chip and step (FP8 dispatch, BF16 combine, 58 MoE layers, the slower link)
    against the arithmetic and the weight fetch."""
    acc = ACCS[key]
    chips = int(_headline("deepseek_v3_bf16_replica_chips", acc))
    up, out = _link_shares(chips, int(acc.scale_up_domain))
    per_token_bytes = (DS.n_layers - DS.n_dense_layers) * DS.active_experts * DS.hidden_size * 3
    t_per_token = per_token_bytes * max(up / acc.scale_up_bandwidth,
                                        out / acc.scale_out_bandwidth)   # seconds, per chip
    compute = 2 * DS.active_params / acc.bf16_dense_flops
    assert _headline("deepseek_v3_a2a_over_compute", acc) == pytest.approx(
        t_per_token / compute, rel=1e-9)
    weights = R.BF16_BYTES * DS.total_params / acc.hbm_bandwidth      # per token of chip-time
    assert _headline("deepseek_v3_a2a_bound_batch", acc) == pytest.approx(
        weights / t_per_token, rel=1e-9)


def test_all_to_all_hand_checked_on_h100():
    """64 H100s on 8-GPU boards: 7/8 of the copies over the 50 GB/s NIC; 58 x 8 x 7168 x 3
    bytes per token; against 2 x 37e9 / 989.4e12 s of arithmetic per token."""
    h100 = ACCS["h100"]
    per_token = 58 * 8 * 7168 * 3 * (7 / 8) / 50e9
    assert _headline("deepseek_v3_a2a_over_compute", h100) == pytest.approx(
        per_token / (2 * 37e9 / 989.4e12), rel=1e-9)
    assert _headline("deepseek_v3_a2a_bound_batch", h100) == pytest.approx(
        2 * 671e9 / 3.35e12 / per_token, rel=1e-9)
    assert round(_headline("deepseek_v3_a2a_bound_batch", h100)) == 2294


@pytest.mark.parametrize("key", ["h100", "b200", "gb200", "tpu_v5e", "mi355x"])
def test_unbatched_cost_factor_by_simulated_routing(key):
    """One token on an expert-parallel replica (experts dealt round-robin to the chips, or split
    over them when there are more chips than experts), routed at random (fixed seed): its
    chip-time over the floor is never below the headline, and equals it whenever no chip holds
    two of the token's experts (or the replica cannot avoid it)."""
    import numpy as np
    acc = ACCS[key]
    chips = int(_headline("deepseek_v3_bf16_replica_chips", acc))
    vals = _ds_values(acc)
    n_d, r_e = f.evaluate(R.N_d, vals), f.evaluate(R.R_e, vals)
    E, k = int(DS.routed_experts), int(DS.active_experts)
    layers = int(DS.n_layers - DS.n_dense_layers)
    P_e, bw, W = r_e / layers, R.BF16_BYTES, acc.hbm_bandwidth
    floor = 2 * DS.active_params / acc.bf16_dense_flops
    headline = _headline("deepseek_v3_unbatched_cost_factor", acc)
    rng = np.random.default_rng(7)
    factors = []
    for _ in range(200):
        step = n_d * bw / (chips * W)
        for _ in range(layers):
            picks = rng.choice(E, size=k, replace=False)
            if chips <= E:    # each expert on one chip, E / chips of them per chip
                load = np.bincount(picks % chips, minlength=chips).max()
            else:             # each expert split over chips / E chips
                load = E / chips
            step += load * P_e * bw / W
        factors.append(chips * step / floor)
    assert min(factors) >= headline * (1 - 1e-12)
    best = (n_d * bw / W + max(k, min(chips, E)) * r_e * bw / W) / floor
    assert best == pytest.approx(headline, rel=1e-12)


def test_unbatched_cost_factor_limits():
    """One chip reads only the touched experts: the hardware ratio (b_w/2 = 1); a replica of E
    chips reads one expert per chip per layer: the aggregate balance batch."""
    h100 = ACCS["h100"]
    expr = R.unbatched_cost_factor
    base = _ds_values(h100)
    ratio = h100.bf16_dense_flops / h100.hbm_bandwidth
    assert f.evaluate(expr, {**base, R.n: 1}) == pytest.approx(ratio, rel=1e-12)
    assert f.evaluate(expr, {**base, R.n: 256}) == pytest.approx(
        _headline("optimal_batch_deepseek_v3_by_params", h100), rel=1e-12)
    assert round(_headline("deepseek_v3_unbatched_cost_factor", h100)) == 1438


@pytest.mark.parametrize("key", ACCS)
def test_attention_understatement_is_the_maximum_over_contexts(key):
    """Brute force over a dense grid of contexts: the full roofline (attention arithmetic) over
    the lecture's (none) for DeepSeek-V3 at 2 x B* never exceeds the headline and reaches it
    (to the grid's resolution, or approaches it as the context grows when r > k)."""
    import numpy as np
    acc = ACCS[key]
    k = claims.get("RP-4").value("deployment_multiplier_low")
    kv, attn = R.deepseek_kv_bytes_bf16(), R.deepseek_attention_flops()
    F, W = acc.bf16_dense_flops, acc.hbm_bandwidth
    batch = k * _headline("optimal_batch_deepseek_v3_by_params", acc)
    L = np.logspace(0, 9, 200001)
    compute, weights = 2 * batch * DS.active_params / F, 2 * DS.total_params / W
    lecture = np.maximum(compute, weights + batch * L * kv / W)
    full = np.maximum(compute + batch * L * attn / F, weights + batch * L * kv / W)
    worst = _headline("roofline_attention_understatement", acc)
    assert (full / lecture).max() <= worst * (1 + 1e-12)
    assert (full / lecture).max() == pytest.approx(worst, rel=2e-3)
