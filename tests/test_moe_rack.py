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

from conftest import ROOT
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
            assert math.isfinite(v) and v > 0, (key, h.name)


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
    p_e = (ds.total_params - ds.active_params) / ((E - k) * (ds.n_layers - ds.n_dense_layers))
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
        assert registry.get("deepseek_v3_decode_latency_floor_ms_domain").value(a) == \
            pytest.approx(1e3 * ds_w / (n * a.scale_up_domain * a.hbm_bandwidth), rel=1e-12)
    # the closed form is the page's floor with no KV, spread over the fewest whole domains
    n = sp.Symbol("n", positive=True)
    assert sp.simplify(par.latency_floor.subs({par.B: 0, par.D: n * par.D})
                       .subs(n, par.domains_for_weights)
                       - par.latency_floor_over_domains) == 0


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
