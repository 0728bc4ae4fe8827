"""Chapter 6 (MoE in a rack): its results match the catalogs, its formulas hold up against brute
force (a toy routing table, a simulated pipeline schedule), and its claims carry verdicts.

That every result published through ``ch.headline`` (run value, ``h100_...`` twins and the
suffix-named ones such as ``scale_out_slowdown_gb300``) equals its registry headline is checked
for all chapters by tests/test_sweep.py; here, the model behind them."""
from __future__ import annotations

import itertools
import json
import math
from fractions import Fraction

import numpy as np
import pytest
import sympy as sp

from conftest import ROOT, glued_text
from helpers import catalog, claims, parallelism as par, registry
from helpers.results import read_claims, read_results

CHAPTER = "06_moe_rack"
REQUIRED = ["scale_out_slowdown_h100", "scale_out_slowdown_gb300", "nvl72_hbm_terabytes",
            "kimi_k2_fp8_weight_fraction_of_nvl72_hbm", "deepseek_v3_decode_latency_floor_ms_nvl72"]


@pytest.fixture(scope="module")
def results():
    return read_results()


def _acc(key):
    return catalog.lookup("accelerators", key)


def _model(key):
    return catalog.lookup("models", key)


def test_required_results_exist_in_chapter_6(results):
    for name in REQUIRED:
        assert results[name]["chapter"] == CHAPTER, name
        assert results[name]["value"] > 0
        assert results[name]["headline"], name     # so the generic test re-evaluates it


def test_required_results_match_the_catalog(results):
    h100, gb300, gb200 = _acc("h100"), _acc("gb300"), _acc("gb200")
    kimi, ds = _model("kimi_k2"), _model("deepseek_v3")
    # plain arithmetic on the catalog's SI values, independent of the chapter's code
    expected = {
        "scale_out_slowdown_h100": 450e9 / (400e9 / 8),
        "scale_out_slowdown_gb300": 900e9 / (800e9 / 8),
        "nvl72_hbm_terabytes": gb200.scale_up_domain * gb200.hbm_capacity / 1e12,
        "kimi_k2_fp8_weight_fraction_of_nvl72_hbm":
            kimi.total_params * 1 / (gb200.scale_up_domain * gb200.hbm_capacity),
        "deepseek_v3_decode_latency_floor_ms_nvl72":
            1e3 * ds.total_params * 1 / (gb200.scale_up_domain * gb200.hbm_bandwidth),
    }
    # the catalog still says what the issue defines (one 400G NIC per H100, one 800G per GB300)
    assert h100.scale_up_bandwidth == 450e9 and h100.scale_out_bandwidth == 400e9 / 8
    assert gb300.scale_up_bandwidth == 900e9 and gb300.scale_out_bandwidth == 800e9 / 8
    for name, value in expected.items():
        assert results[name]["value"] == pytest.approx(value, rel=1e-12), name
    # the other reading of the capacity (GB printed, GiB meant) is shown beside it
    assert results["nvl72_hbm_terabytes_other_reading"]["value"] == pytest.approx(
        72 * 186 * 2**30 / 1e12, rel=1e-12)


def test_headlines_are_finite_and_positive_for_every_catalogued_part():
    """Parts without FP8 units (A100, TPU v4, v5e) still get an all-to-all ratio: FP8 data at
    their BF16 rate."""
    for key, a in catalog.accelerators().items():
        for h in par.HEADLINES:
            v = registry.get(h.name).value(a)
            # a prefill context of 0: the all-to-all hides at any context (the A100's NIC)
            zero_ok = h.name == "deepseek_v3_prefill_context_to_hide_scale_out"
            assert math.isfinite(v) and (v >= 0 if zero_ok else v > 0), (key, h.name)


# the all-to-all table's rows are published one by one, not through ch.headline, so the generic
# test does not see them: DeepSeek-V3's are the registry headline for their part
@pytest.mark.parametrize("part", ["h100", "gb200", "rubin"])
def test_the_all_to_all_table_is_the_registry_headline(results, part):
    for link, over in (("nvlink", "scale_up"), ("nic", "scale_out")):
        h, r = (registry.get(f"deepseek_v3_a2a_over_expert_time_{over}"),
                results[f"deepseek_v3_a2a_over_expert_time_{part}_{link}"])
        assert r["accelerator"] == part and r["unit"] == h.unit
        assert r["value"] == pytest.approx(h.value(_acc(part)), rel=1e-12)
        assert r["text"] == h.text(r["value"])


def test_the_all_to_all_headlines_are_the_table_s_formula_bit_for_bit():
    """The closed forms (FP8 rate, or BF16 where a part has no FP8 units) are what a2a_hiding
    evaluates, on every catalogued part."""
    ds = _model("deepseek_v3")
    for a in catalog.accelerators().values():
        for over in ("scale_up", "scale_out"):
            h = registry.get(f"deepseek_v3_a2a_over_expert_time_{over}")
            assert h.closed_form
            assert h.value(a) == par.a2a_hiding(ds, a, over)["ratio"], (a.key, over)


def test_hiding_results_match_an_independent_count(results):
    ds, gb200 = _model("deepseek_v3"), _acc("gb200")
    k, d, E = ds.active_experts, ds.hidden_size, ds.routed_experts
    p_e = 3 * 7168 * 2048        # config_671B.json: dim 7168, moe_inter_dim 2048; SwiGLU
    g = gb200.scale_up_domain
    t_comm = k * d * (1 + 2) * (1 - 1 / g) / gb200.scale_up_bandwidth   # FP8 out, BF16 back
    t_comp = 2 * k * p_e / gb200.fp8_dense_flops
    assert results["deepseek_v3_a2a_over_expert_time_gb200_nvlink"]["value"] == \
        pytest.approx(t_comm / t_comp, rel=1e-12)
    # decode: all-to-all of B tokens equals the reads of E/G experts' FP8 weights
    b_hide = (E / g) * p_e * 1 / gb200.hbm_bandwidth / ((1 / g) * t_comm)
    assert results["deepseek_v3_a2a_hiding_batch_gb200_nvlink"]["value"] == \
        pytest.approx(b_hide, rel=1e-12)
    # over the NIC every copy leaves (a group spanning many domains: 1 - 1/G -> 1)
    t_nic = k * d * (1 + 2) / gb200.scale_out_bandwidth
    assert results["deepseek_v3_a2a_over_expert_time_gb200_nic"]["value"] == \
        pytest.approx(t_nic / t_comp, rel=1e-12)
    assert results["deepseek_v3_a2a_hiding_batch_gb200_nic"]["value"] == \
        pytest.approx((E / g) * p_e / gb200.hbm_bandwidth / ((1 / g) * t_nic), rel=1e-12)


def test_all_to_all_ratio_falls_back_to_the_bf16_rate_without_fp8():
    ds, a100, h100 = _model("deepseek_v3"), _acc("a100"), _acc("h100")
    assert not a100.has("fp8_dense_flops")
    for a, flops in ((a100, a100.bf16_dense_flops), (h100, h100.fp8_dense_flops)):
        vals = {par.k_e: ds.active_experts, par.d: ds.hidden_size, par.b_d: 1, par.b_c: 2,
                par.G: a.scale_up_domain, par.W_link: a.scale_up_bandwidth,
                par.P_e: par.expert_size(ds), par.F: flops}
        assert registry.get("deepseek_v3_a2a_over_expert_time_scale_up").value(a) == \
            pytest.approx(float(par.a2a_over_expert.subs(vals)), rel=1e-12)


def test_the_hiding_summary_is_consistent():
    """ratio = t_comm / t_comp = have / need, for both links; the NIC is the G -> oo limit."""
    for m in (_model("deepseek_v3"), _model("kimi_k2")):
        for a in catalog.accelerators().values():
            up, out = par.a2a_hiding(m, a, "scale_up"), par.a2a_hiding(m, a, "scale_out")
            for h in (up, out):
                assert h["ratio"] == pytest.approx(h["t_comm"] / h["t_comp"], rel=1e-12)
                assert h["ratio"] == pytest.approx(h["have"] / h["need"], rel=1e-12)
            g = a.scale_up_domain
            assert out["ratio"] * a.scale_out_bandwidth * (1 - 1 / g) == pytest.approx(
                up["ratio"] * a.scale_up_bandwidth, rel=1e-12)
    with pytest.raises(ValueError):
        par.a2a_hiding(_model("deepseek_v3"), _acc("h100"), "sideways")


# --- brute force: the all-to-all byte count -----------------------------------------------
def _brute_bytes(routing, token_gpu, expert_gpu, hidden, b_disp, b_comb):
    """Walk a routing table copy by copy: (bytes of all copies, bytes that cross GPUs)."""
    total = crossing = 0
    for tok, experts in enumerate(routing):
        for e in experts:
            copy = hidden * b_disp + hidden * b_comb     # out to the expert, back from it
            total += copy
            if expert_gpu[e] != token_gpu[tok]:
                crossing += copy
    return total, crossing


def _formula(n_tokens, k, hidden, b_disp, b_comb, gpus):
    subs = {par.k_e: k, par.d: hidden, par.b_d: b_disp, par.b_c: b_comb, par.G: gpus}
    return (n_tokens * par.a2a_bytes_per_token.subs(subs),
            n_tokens * par.a2a_link_bytes_per_token.subs(subs))


def test_all_to_all_bytes_equal_a_brute_force_count_over_every_routing():
    """Every token GPU meets every k-subset of experts once: the crossing share is exactly
    1 - 1/G, as the formula says."""
    gpus, n_exp, k, hidden, b_disp, b_comb = 4, 8, 2, 3, 1, 2
    subsets = list(itertools.combinations(range(n_exp), k))
    routing = [s for _ in range(gpus) for s in subsets]
    token_gpu = [g for g in range(gpus) for _ in subsets]
    expert_gpu = [e // (n_exp // gpus) for e in range(n_exp)]
    total, crossing = _brute_bytes(routing, token_gpu, expert_gpu, hidden, b_disp, b_comb)
    f_total, f_crossing = _formula(len(routing), k, hidden, b_disp, b_comb, gpus)
    assert sp.nsimplify(f_total) == total
    assert sp.nsimplify(f_crossing) == total * Fraction(gpus - 1, gpus) == crossing


def test_all_to_all_bytes_on_a_random_routing_table():
    rng = np.random.default_rng(0)
    gpus, n_exp, k, hidden = 8, 64, 6, 16
    routing = [rng.choice(n_exp, size=k, replace=False) for _ in range(20000)]
    token_gpu = [t % gpus for t in range(len(routing))]
    expert_gpu = [e // (n_exp // gpus) for e in range(n_exp)]
    total, crossing = _brute_bytes(routing, token_gpu, expert_gpu, hidden, 1, 2)
    f_total, f_crossing = _formula(len(routing), k, hidden, 1, 2, gpus)
    assert total == int(f_total)                               # exact for any table
    assert crossing / float(f_crossing) == pytest.approx(1, abs=0.01)   # in expectation


def test_dispatch_and_combine_are_counted_separately():
    assert par.dispatch_bytes == par.k_e * par.d * par.b_d
    assert par.combine_bytes == par.k_e * par.d * par.b_c


# --- the hiding condition -----------------------------------------------------------------
def test_hiding_condition_is_the_crossover_and_k_cancels():
    lim = par.hide_ratio_limit
    assert par.k_e not in lim.free_symbols
    vals = {par.P_e: 44e6, par.d: 7168, par.b_d: 1, par.b_c: 2, par.G: 72, par.k_e: 8,
            par.W_link: 900e9}
    lim_v = float(lim.subs(vals))
    for factor, hides in ((0.99, True), (1.01, False)):
        F = factor * lim_v * vals[par.W_link]
        t_a = float(par.t_a2a.subs(vals))
        t_e = float(par.t_expert.subs({**vals, par.F: F}))
        assert (t_a <= t_e) is hides


def test_decode_hiding_batch_balances_traffic_and_weight_reads():
    vals = {par.E: 256, par.G: 72, par.P_e: 44e6, par.b_w: 1, par.W: 8e12, par.W_link: 900e9,
            par.d: 7168, par.k_e: 8, par.b_d: 1, par.b_c: 2}
    b = par.hide_batch_limit.subs(vals)
    traffic = par.t_a2a_gpu.subs({**vals, par.B: b})
    reads = (par.E / par.G * par.P_e * par.b_w / par.W).subs(vals)
    assert float(traffic) == pytest.approx(float(reads), rel=1e-12)


def test_expert_size_from_counts_inverts_the_parameter_count():
    e, k, layers, p_e, other = 256, 8, 58, 44e6, 13e9
    total, active = other + e * layers * p_e, other + k * layers * p_e
    assert par.expert_params(total, active, e, k, layers) == pytest.approx(p_e, rel=1e-12)


# --- capacity -----------------------------------------------------------------------------
def test_gpus_needed_at_the_boundary():
    assert par.gpus_needed(80e9, 1, 0, 0, 0, 80e9) == 1
    assert par.gpus_needed(80e9 + 1, 1, 0, 0, 0, 80e9) == 2
    assert par.gpus_needed(1e12, 1, 1000, 1000, 1e6, 1e11) == 10 + 10


def test_latency_floor_and_domains():
    h100, gb200 = _acc("h100"), _acc("gb200")
    ds_w = _model("deepseek_v3").total_params               # FP8: one byte per weight
    assert par.domains_needed(ds_w, gb200) == 1
    assert par.domains_needed(ds_w, h100) == math.ceil(ds_w / (8 * h100.hbm_capacity)) == 2
    assert par.domains_needed(8 * h100.hbm_capacity, h100) == 1          # exactly full
    assert par.domains_needed(8 * h100.hbm_capacity + 1, h100) == 2
    for a in catalog.accelerators().values():
        n = par.domains_needed(ds_w, a)
        assert registry.get("deepseek_v3_domains_needed").value(a) == n
        # one domain's bandwidth, however many domains hold the weights (they are pipelined)
        assert registry.get("deepseek_v3_decode_latency_floor_ms_domain").value(a) == \
            pytest.approx(1e3 * ds_w / (a.scale_up_domain * a.hbm_bandwidth), rel=1e-12)
    # the closed form is the page's floor with no KV, for one domain
    assert sp.simplify(par.latency_floor.subs(par.B, 0) - par.latency_floor_pipelined) == 0


# --- pipeline parallelism -----------------------------------------------------------------
def test_pipelining_divides_weights_not_kv():
    assert sp.diff(par.stage_kv_bytes, par.P) == 0
    assert sp.simplify(par.stage_weight_bytes * par.P - par.N_tot * par.b_w) == 0
    assert sp.limit(par.stage_bytes, par.P, sp.oo) == par.B_mb * par.L * par.b_kv


def _simulated_bubble(stages, micro):
    """Fill-and-drain schedule: stage s runs micro-batch j in slot j + s. Idle share of
    stage-slots over the whole step."""
    busy = {(s, j + s) for s in range(stages) for j in range(micro)}
    slots = max(t for _, t in busy) + 1
    return 1 - Fraction(len(busy), stages * slots)


@pytest.mark.parametrize("stages,micro", [(1, 4), (2, 1), (4, 8), (8, 32), (5, 3)])
def test_bubble_matches_a_simulated_schedule(stages, micro):
    formula = par.bubble_fraction.subs({par.P: stages, par.m: micro})
    assert sp.nsimplify(formula) == _simulated_bubble(stages, micro)
    over = par.bubble_over_ideal.subs({par.P: stages, par.m: micro})
    assert sp.nsimplify(formula / (1 - formula)) == sp.nsimplify(over)


def test_per_hop_latency_grows_with_stages():
    assert sp.diff(par.pipeline_added_latency, par.P) == par.hop_time
    assert par.hop_time.subs(par.B_mb, 0) == par.alpha


def test_cross_rack_condition_reduces_to_the_lecture():
    assert sp.simplify(par.cross_rack_condition_lecture - 2 * par.k_e * par.ell) == 0
    finite = par.cross_rack_condition_lhs.subs({par.b_d: par.b_a, par.b_c: par.b_a})
    assert sp.simplify(finite - 2 * par.k_e * par.ell * (1 - 1 / par.D)) == 0
    # its meaning: scale-out time at the boundary <= scale-up time of the stage
    vals = {par.ell: 1, par.k_e: 8, par.D: 72, par.b_d: 1, par.b_c: 2, par.b_a: 2,
            par.d: 7168, par.W_up: 900e9, par.W_out: 50e9}
    lhs = float(par.cross_rack_condition_lhs.subs(vals))
    keeps_up = float(par.t_stage_scale_out.subs(vals)) <= float(par.t_stage_scale_up.subs(vals))
    assert keeps_up == (lhs >= 900e9 / 50e9)


# --- claims -------------------------------------------------------------------------------
def test_chapter_6_records_its_claims_with_sections_on_the_page():
    """(Labels and caveats are checked when a verdict is recorded.)"""
    claims = read_claims()
    nb = json.loads((ROOT / "chapters" / f"{CHAPTER}.ipynb").read_text(encoding="utf-8"))
    labels = "".join("".join(c["source"]) for c in nb["cells"] if c["cell_type"] == "markdown")
    for cid in ("RP-20", "RP-21", "RP-22", "RP-6"):
        c = claims[cid]
        assert c["chapter"] == CHAPTER, cid
        assert c["claimed"] and c["derived"]
        assert f"({c['section']})=" in labels, (cid, c["section"])


def test_claimed_values_come_from_the_claims_catalog():
    from helpers import claims as cl
    rp20, rp21, rp6 = cl.get("RP-20"), cl.get("RP-21"), cl.get("RP-6")
    recorded = read_claims()
    assert f"≈ {round(rp20.value('scale_out_slowdown'))}×" in recorded["RP-20"]["claimed"]
    assert f"{round(rp21.value('rubin_domain'))}+" in recorded["RP-21"]["claimed"]
    assert f"≥ {rp6.value('rack_hbm') / 1e12:.1f} TB" in recorded["RP-6"]["claimed"]


def test_network_catalog_loads_with_units():
    net = catalog.load("networks")
    assert net["rubin_ultra_nvl576"].dies == net["rubin_ultra_nvl576"].packages * \
        net["nvidia_dies_per_package"].rubin_ultra
    assert net["deepep_low_latency_h800"].nic_bandwidth == 50e9
    assert net["infiniband_ndr_switch"].port_to_port_latency == pytest.approx(330e-9)


def test_bf16_exercise_follows_from_the_h100_table(results):
    """Exercise: the premise (FP8 hides on the H100) and the answer (BF16 does not) are glued."""
    fp8 = results["deepseek_v3_a2a_over_expert_time_h100_nvlink"]["value"]
    bf16 = results["ex_bf16_h100_ratio"]["value"]
    assert bf16 == pytest.approx(fp8 * (2 + 2) / (1 + 2), rel=1e-12)
    assert fp8 <= 1 < bf16          # the exercise's wording assumes exactly this crossing


def test_hopper_pipeline_results_match_an_independent_count(results):
    """Kimi K2 over HGX H100 boards as pipeline stages: plain arithmetic on the catalog."""
    h100, gb200, kimi = _acc("h100"), _acc("gb200"), _model("kimi_k2")
    board = h100.scale_up_domain * h100.hbm_capacity
    w = kimi.total_params * 1                                   # FP8
    kv = kimi.n_layers * (kimi.kv_lora_rank + kimi.qk_rope_head_dim) * 2   # BF16 MLA cache
    stages = math.ceil(w / board)
    ctx = 32768
    spare = board - w / stages
    assert results["kimi_k2_h100_pipeline_stages"]["value"] == stages
    assert results["kimi_k2_h100_stage_spare_gb"]["value"] == pytest.approx(spare / 1e9, rel=1e-12)
    # P stages, each holding B_mb L b_kv: the pipeline keeps P micro-batches in flight
    assert results["kimi_k2_h100_pipeline_sequences_32k"]["value"] == pytest.approx(
        stages * spare / (ctx * kv), rel=1e-12)
    target = results["kimi_k2_h100_boards_for_target_32k"]["value"]
    deployed = claims.get("RP-4").value("deployed_batch_low")
    batch = min(p for p in range(1, 1000) if p * board - w >= deployed * ctx * kv)
    assert target == batch
    assert results["kimi_k2_h100_pipeline_floor_ms"]["value"] == pytest.approx(
        1e3 * w / (h100.scale_up_domain * h100.hbm_bandwidth), rel=1e-12)
    assert results["kimi_k2_decode_latency_floor_ms_nvl72"]["value"] == pytest.approx(
        1e3 * w / (gb200.scale_up_domain * gb200.hbm_bandwidth), rel=1e-12)


def test_hopper_dies_per_package_is_one():
    assert catalog.load("networks")["nvidia_dies_per_package"].hopper == 1


# --- issue 15: expert size from the config, and the parameter sums -------------------------
def test_expert_size_is_the_config_s_swiglu_block_and_the_totals_agree():
    """A SwiGLU expert is w1, w3 (dim -> moe_inter_dim) and w2 back (DeepSeek's model.py);
    the published totals give the same size to rounding: exactly for DeepSeek-V3's 671B,
    2.6 % off for Kimi K2's rounded '1T'."""
    ds, kimi = _model("deepseek_v3"), _model("kimi_k2")
    for m in (ds, kimi):
        w1 = w3 = (m.hidden_size, 2048)
        w2 = (2048, m.hidden_size)
        assert par.expert_size(m) == sum(a * b for a, b in (w1, w2, w3)) == 44_040_192
    assert par.expert_size_from_counts(ds) == pytest.approx(par.expert_size(ds), rel=1e-3)
    assert par.expert_size_from_counts(kimi) == pytest.approx(par.expert_size(kimi), rel=0.03)
    assert abs(par.expert_size_from_counts(kimi) / par.expert_size(kimi) - 1) > 0.02


def _mla_matrices(dim, heads, q_lora, kv_lora, nope, rope, v_head):
    """MLA's weights, one (in, out) pair per Linear of DeepSeek's inference/model.py."""
    return [(dim, q_lora), (q_lora, heads * (nope + rope)), (dim, kv_lora + rope),
            (kv_lora, heads * (nope + v_head)), (heads * v_head, dim)]


def test_mla_attention_parameters_match_a_count_of_the_model_s_linears():
    for key, heads in (("deepseek_v3", 128), ("kimi_k2", 64)):
        m = _model(key)
        count = sum(a * b for a, b in _mla_matrices(7168, heads, 1536, 512, 128, 64, 128))
        assert par.mla_attention_params(m) == count, key
    assert par.mla_attention_params(_model("deepseek_v3")) == 187_105_280


def test_parameter_sums_from_the_shapes_reproduce_the_published_totals():
    """Embeddings and head, 3 (1) dense layers, 58 (60) MoE layers with attention, shared
    expert, router and routed experts: DeepSeek-V3's 671B to 0.01 %, its 37B active to 2 %;
    Kimi K2's '1T' / '32B' are rounded (1.03T / 32.9B from the config)."""
    ds_total, ds_active = par.params_from_shapes(_model("deepseek_v3"))
    assert ds_total == pytest.approx(671e9, rel=1e-4)
    assert ds_active == pytest.approx(37e9, rel=0.02)
    k_total, k_active = par.params_from_shapes(_model("kimi_k2"))
    assert k_total == pytest.approx(1e12, rel=0.03) and k_total > 1e12
    assert k_active == pytest.approx(32e9, rel=0.03)


# --- node-limited routing, simulated with DeepSeek's gate -----------------------------------
def _group_limited_topk(scores, groups, top_groups, k):
    """DeepSeek-V3's Gate (inference/model.py): group score = sum of its top-2 expert scores;
    keep the top groups, then the top-k experts inside them."""
    t, e = scores.shape
    by_group = scores.reshape(t, groups, e // groups)
    group_score = np.sort(by_group, axis=-1)[:, :, -2:].sum(-1)
    keep = np.argsort(-group_score, axis=1)[:, :top_groups]
    masked = np.full((t, groups), True)
    np.put_along_axis(masked, keep, False, axis=1)
    s = np.where(np.repeat(masked, e // groups, axis=1), -np.inf, scores)
    return np.argsort(-s, axis=1)[:, :k]


def test_node_limited_routing_reaches_at_most_m_domains_and_m_is_the_copies_on_the_nic():
    """With one expert group per domain, no token's experts span more than M = 4 domains, and
    almost every token spans exactly 4: one NIC copy per domain instead of one per expert (8)."""
    ds, sched = _model("deepseek_v3"), catalog.load("moe_rack")["deepseek_v3_schedule"]
    shapes = par.shapes(ds)
    rng = np.random.default_rng(15)
    routed = _group_limited_topk(rng.random((20000, int(ds.routed_experts))),
                                 int(shapes.n_expert_groups), int(shapes.n_limited_groups),
                                 int(ds.active_experts))
    domains = routed // (int(ds.routed_experts) // int(shapes.n_expert_groups))
    distinct = np.array([len(set(row)) for row in domains])
    assert distinct.max() == sched.max_nodes_per_token == shapes.n_limited_groups
    assert distinct.mean() == pytest.approx(sched.max_nodes_per_token, rel=0.02)
    # the NIC copies the model uses over the simulated ones: an upper bound within 2 %
    vals = par.overlap_values(ds, _acc("h100"), "scale_out")
    assert vals[par.c_link] == sched.max_nodes_per_token >= distinct.mean()


def test_deepep_logical_rdma_bytes_overcount_the_wire_by_the_own_node_share():
    """DeepEP's test_internode.py counts a token once per node it selects, its own node
    included; simulating its routing on 8 nodes, the copies that leave the node are 1 - 1/8 of
    those counted, as deepep_wire_efficiency assumes."""
    rng = np.random.default_rng(64)
    nodes, tokens, experts = 8, 40000, 256
    scores = np.abs(rng.standard_normal((tokens, experts))) + 1      # as the test draws them
    group_score = scores.reshape(tokens, nodes, -1).max(-1)
    keep = np.argsort(-group_score, axis=1)[:, :4]
    own = rng.integers(0, nodes, tokens)                 # the node each token starts on
    counted = keep.shape[1] * tokens
    wire = counted - int((keep == own[:, None]).sum())
    assert wire / counted == pytest.approx(1 - 1 / nodes, rel=0.01)
    net = catalog.load("networks")["deepep_normal_h800"]
    assert par.deepep_wire_efficiency(net.internode_dispatch_bandwidth_ep64, nodes,
                                      net.nic_bandwidth) == pytest.approx(51 * 0.875 / 50)


def test_deepep_low_latency_model_is_bytes_to_other_nodes_over_the_nic():
    ll = catalog.load("networks")["deepep_low_latency_h800"]
    assert par.deepep_low_latency_model(8, "dispatch") == 0          # one node: none leave
    assert par.deepep_low_latency_model(16, "dispatch") == pytest.approx(
        128 * 8 * 7168 * 1 * (1 / 2) / 50e9, rel=1e-12)
    assert par.deepep_low_latency_model(256, "combine") == pytest.approx(
        128 * 8 * 7168 * 2 * (31 / 32) / 50e9, rel=1e-12)
    for ep in (16, 32, 64, 128, 256):
        for phase in ("dispatch", "combine"):
            eff = par.deepep_low_latency_efficiency(ep, phase)
            assert 0.5 < eff < 1, (ep, phase)        # below the NIC rate, as measured
            assert eff == pytest.approx(par.deepep_low_latency_model(ep, phase)
                                        / getattr(ll, f"{phase}_latency_ep{ep}"), rel=1e-12)
    with pytest.raises(ValueError):
        par.link_efficiency("sideways", "dispatch")


# --- the overlap model ----------------------------------------------------------------------
def _hand_overlap_ratio(acc, nic: bool, context=4989):
    """DeepSeek-V3's all-to-all over its overlap budget, in plain arithmetic from the sources."""
    d, k = 7168, 8
    p_e = 3 * d * 2048
    p_nr = sum(a * b for a, b in _mla_matrices(d, 128, 1536, 512, 128, 64, 128)) + p_e + d * 256
    if nic:
        copies, eta_d, eta_c = 4, 51 * 0.875 / 50, 50 * 0.875 / 50       # DeepEP EP64, wire
        link = acc.scale_out_bandwidth
    else:
        copies, eta_d, eta_c = k * (1 - 1 / acc.scale_up_domain), 153 / 200, 158 / 200
        link = acc.scale_up_bandwidth
    t_link = copies * d * (1 / eta_d + 2 / eta_c) / link
    gemm_rate = 1 / ((2 / 3) / 1346e12 + (1 / 3) / 1214e12)              # DeepGEMM, H800
    eta_f, eta_a = gemm_rate / 1979e12, 740 / 989
    t_layer = (2 * (p_nr + k * p_e) / (eta_f * acc.fp8_dense_flops)
               + 128 * (192 + 128) * context / (eta_a * acc.bf16_dense_flops))
    return t_link / t_layer


@pytest.mark.parametrize("part", ["h100", "gb200", "gb300", "rubin"])
def test_overlap_headlines_match_a_hand_count(results, part):
    for over, nic in (("scale_up", False), ("scale_out", True)):
        h = registry.get(f"deepseek_v3_a2a_over_layer_{over}")
        assert h.closed_form
        assert h.value(_acc(part)) == pytest.approx(_hand_overlap_ratio(_acc(part), nic),
                                                    rel=1e-9)
        assert results[f"deepseek_v3_a2a_over_layer_{part}_{over}"]["value"] == \
            pytest.approx(h.value(_acc(part)), rel=1e-12)


def test_prefill_context_to_hide_is_where_the_ratio_crosses_one():
    ds, h100 = _model("deepseek_v3"), _acc("h100")
    star = registry.get("deepseek_v3_prefill_context_to_hide_scale_out").value(h100)
    assert _hand_overlap_ratio(h100, True, star) == pytest.approx(1, rel=1e-9)
    assert _hand_overlap_ratio(h100, True, 0.9 * star) > 1 > _hand_overlap_ratio(
        h100, True, 1.1 * star)
    for a in catalog.accelerators().values():     # the headline is the module's function
        vals = par.overlap_values(ds, a, "scale_out")
        assert registry.get("deepseek_v3_prefill_context_to_hide_scale_out").value(a) == \
            pytest.approx(max(0.0, float(par.context_to_hide.subs(vals))), rel=1e-9, abs=1e-6)


def test_training_ratio_reproduces_deepseek_s_one_to_one():
    """EP64 over 8 nodes, 4K sequences: two all-to-alls (forward, backward) over three times
    the forward arithmetic. DeepSeek reports 'approximately 1:1'; the model is within 5 %."""
    h100 = _acc("h100")
    fwd = _hand_overlap_ratio(h100, True, 4096) * (1 - 1 / 8)   # own node among the 4 chosen
    ratio = registry.get("deepseek_v3_training_comm_over_compute").value(h100)
    assert ratio == pytest.approx(2 * fwd / 3, rel=1e-9)
    claimed = catalog.load("moe_rack")["deepseek_v3_schedule"].training_comm_over_compute
    assert ratio == pytest.approx(claimed, rel=0.05)


# --- two domains in decode: one model ---------------------------------------------------------
def test_two_board_floor_is_the_measured_all_to_all_or_the_pipeline_by_hand(results):
    """On two HGX H100 boards (same 400 Gb/s NIC as DeepEP's H800s) the spread layout's
    all-to-all is exactly DeepEP's measured EP16 dispatch + combine, 58 times; the pipeline is
    the weights at one board's bandwidth plus two hops; the floor is the smaller."""
    h100 = _acc("h100")
    w = 671e9                                                   # FP8, one byte a weight
    pipe = w / (8 * h100.hbm_bandwidth) + 2 * (330e-9 + 128 * 7168 * 2 / 50e9)
    spread = w / (16 * h100.hbm_bandwidth) + 58 * (118e-6 + 195e-6)
    for name, value in (("pipeline", pipe), ("expert_parallel", spread)):
        assert registry.get(f"deepseek_v3_decode_floor_ms_two_boards_{name}").value(h100) == \
            pytest.approx(1e3 * value, rel=1e-9)
    floor = results["deepseek_v3_decode_latency_floor_ms_two_boards"]
    assert floor["value"] == pytest.approx(1e3 * min(pipe, spread), rel=1e-9)
    assert floor["accelerator"] == "h100" and floor["headline"]
    # one model: section 6.3's floor is the pipeline's weights term, and below the two-board one
    domain = results["deepseek_v3_decode_latency_floor_ms_domain"]["value"]
    assert domain == pytest.approx(1e3 * w / (8 * h100.hbm_bandwidth), rel=1e-9)
    assert domain < floor["value"]
    # the all-GPU figure exists only with the all-to-all on the path
    assert results["deepseek_v3_weights_ms_two_boards_all_gpus"]["value"] + results[
        "deepseek_v3_a2a_ms_two_boards"]["value"] == pytest.approx(1e3 * spread, rel=1e-9)


def test_two_board_floor_is_the_minimum_on_every_part():
    for a in catalog.accelerators().values():
        pp, ep, fl = (registry.get(f"deepseek_v3_decode_{n}").value(a) for n in (
            "floor_ms_two_boards_pipeline", "floor_ms_two_boards_expert_parallel",
            "latency_floor_ms_two_boards"))
        assert fl == pytest.approx(min(pp, ep), rel=1e-12), a.key


def test_kv_reads_are_the_same_in_both_layouts_and_only_spreading_divides_the_weights():
    assert sp.simplify(par.kv_read_pipeline - par.kv_read_expert_parallel) == 0
    no_traffic = {par.alpha: 0, par.T_gpu: 0}
    # pipelined, more domains do not make the weight read faster; spread, they do
    assert sp.diff(par.t_decode_pipeline.subs(no_traffic), par.n_dom) == 0
    assert sp.simplify(sp.diff(par.t_decode_expert_parallel.subs(no_traffic), par.n_dom)
                       + par.N_tot * par.b_w / (par.n_dom**2 * par.D * par.W)) == 0


def test_deepseek_service_all_to_all_is_most_of_its_time_per_token(results):
    """DeepSeek's EP144 decode: 58 x DeepEP's EP128 dispatch + combine against the 45-50 ms per
    token its 20-22 tokens/s imply."""
    a2a = results["deepseek_v3_a2a_ms_per_step_ep128"]["value"]
    assert a2a == pytest.approx(58 * (192 + 369) * 1e-3, rel=1e-12)
    assert 0.5 < a2a / (1e3 / 22) < 1 and a2a / (1e3 / 20) > 0.5


# --- verdicts follow the rule ---------------------------------------------------------------
def test_verdict_labels_follow_the_rules(results):
    from helpers.verdicts import ratio_verdict

    def farthest(pairs):
        c, d = max(pairs, key=lambda cd: abs(math.log(cd[1] / cd[0])))
        return ratio_verdict(c, d)

    recorded = read_claims()
    rp20, rp21 = claims.get("RP-20"), claims.get("RP-21")
    slow = [results[f"scale_out_slowdown_{k}"]["value"] for k in ("h100", "gb200", "gb300")]
    slow.append(registry.get("scale_out_slowdown").value(_acc("rubin")))
    # "typically": the matched-generation median, "holds with caveat" when an outlier fails
    claimed = rp20.value("scale_out_slowdown")
    typical = float(np.median([slow[0], slow[2], slow[3]]))
    assert ratio_verdict(claimed, typical) == "holds"
    assert ratio_verdict(claimed, slow[1]) == "off by 2.2× (claim too low)"
    assert ratio_verdict(claimed, 160 / 50) != "holds"                 # DeepSeek's H800
    assert recorded["RP-20"]["verdict"] == "holds with caveat"
    ultra = catalog.load("networks")["rubin_ultra_nvl576"]
    named = [(rp21.value("hopper_domain"), 8), (rp21.value("blackwell_domain"), 72),
             (rp21.value("rubin_domain"), min(ultra.dies, rp21.value("rubin_domain")))]
    assert farthest(named) == "holds"               # on NVIDIA's counts; other readings fail
    assert recorded["RP-21"]["verdict"] == "holds with caveat"
    assert "does not follow" in recorded["RP-21"]["caveat"]    # an HGX H200 holds Kimi K2
    assert "off by 3.5×" in recorded["RP-21"]["caveat"]        # the package reading, shown


# --- the reader's page: the rack diagram, the band, the interval ---------------------------------
def _cells():
    return json.loads((ROOT / "chapters" / f"{CHAPTER}.ipynb").read_text(encoding="utf-8"))["cells"]


def _glued_text(name):
    return glued_text(CHAPTER, name)


def test_chapter_6_draws_the_rack_and_bands_the_nic_readings():
    figs = {c["metadata"]["mystnb"]["figure"]["name"]: c for c in _cells()
            if "figure" in c["metadata"].get("mystnb", {})}
    assert {"fig-moe-rack", "fig-moe-hiding", "fig-moe-bytes-vs-domains"} <= set(figs)
    for cell in figs.values():
        assert any("image/png" in o.get("data", {}) for o in cell["outputs"])
        assert "figures.check(fig)" in "".join(cell["source"])
    band = "".join(figs["fig-moe-hiding"]["source"])
    assert "fill_between" in band and 'gb200.fields["scale_out_bandwidth"].range_si' in band
    low, high = _acc("gb200").fields["scale_out_bandwidth"].range_si
    assert low < high                               # the band has a width


def test_the_gb200_prefill_interval_is_its_nic_readings():
    """The glued interval's ends are the headline at the GB200's two published NIC rates."""
    from helpers.notebook import accelerator

    name = "deepseek_v3_prefill_context_to_hide_scale_out"
    h = registry.get(name)
    field = _acc("gb200").fields["scale_out_bandwidth"]
    ends = sorted(h.value(accelerator("gb200", {"scale_out_bandwidth": w * field.value / field.si}))
                  for w in field.range_si)
    central = h.value(_acc("gb200"))
    assert _glued_text("deepseek_v3_prefill_context_to_hide_gb200_interval") == \
        f"{h.text(central)} ({h.text(ends[0])}–{h.text(ends[1])})"
