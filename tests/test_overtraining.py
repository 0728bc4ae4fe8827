"""Chapter 3 (100x over-training): the scaling-law formulas, their numeric optima, the
same-MFU GPU-hours headlines, and the chapter's published results recomputed independently from
the catalogs. (That every headline in helpers.scaling equals the committed result of its name is
checked for every module by tests/test_sweep.py.)"""
from __future__ import annotations

import subprocess
import sys

import numpy as np
import pytest
import sympy as sp

from conftest import ROOT
from helpers import catalog, claims, formulas as f, registry, scaling as S
from helpers.results import read_claims

CHAPTER = "03_overtraining"
REQUIRED = ["tokens_per_param_compute_optimal_hoffmann", "tokens_per_param_compute_optimal_epoch",
            "overtrain_factor_llama3_8b", "overtrain_factor_lecture",
            "equal_cost_tokens_per_param_100b_hoffmann", "equal_cost_tokens_per_param_100b_epoch",
            "llama3_405b_training_flops"]
CLAIMS = ["RP-12", "RP-13", "RP-14", "L3-1", "L3-2", "L3-3", "MISC-1"]
FITS = ["hoffmann", "epoch"]


def _fit(key):
    """The fit's constants read straight from the YAML entry (not through helpers.scaling)."""
    e = catalog.load("scaling_laws")[key]
    return e.e_irreducible, e.a_params, e.b_data, e.alpha, e.beta


def _loss(key, n, d):
    e, a, b, al, be = _fit(key)
    return e + a / n**al + b / d**be


# --- formulas ------------------------------------------------------------------------------

@pytest.mark.parametrize("key", FITS)
def test_compute_optimal_matches_a_grid_minimisation(key):
    """The closed-form N* minimises the loss along C = 6ND, checked on a grid for both fits."""
    for budget in (5.76e23, 1e25):
        n_grid = S.numeric_min_on_grid(lambda n, c=budget: _loss(key, n, c / (6 * n)), 1e7, 1e14)
        n_sym = S.evaluate(S.N_opt, {**S.fit(key), S.C: budget})
        assert n_grid == pytest.approx(n_sym, rel=1e-5)
        ratio = S.evaluate(S.tokens_per_param_opt, {**S.fit(key), S.C: budget})
        assert budget / (6 * n_grid) / n_grid == pytest.approx(ratio, rel=1e-4)


@pytest.mark.parametrize("key", FITS)
@pytest.mark.parametrize("demand", [2e12, 2e14])
def test_inference_aware_condition_matches_a_grid_minimisation(key, demand):
    """Minimise 6ND + 2N D_inf at fixed loss on a grid (no calculus); the optimum satisfies
    alpha A N^-alpha = (1 + r) beta B D^-beta and lies on data_for_cost_ratio's path."""
    e, a, b, al, be = _fit(key)
    target = _loss(key, 1e11, 2e12)

    def total(n):
        gap = target - e - a / n**al
        d = np.where(gap > 0, (b / np.where(gap > 0, gap, 1)) ** (1 / be), np.inf)
        return 6 * n * d + 2 * n * demand

    n_min = (a / (target - e)) ** (1 / al)
    n = S.numeric_min_on_grid(total, n_min * (1 + 1e-9), 1e13)
    d = (b / (target - e - a / n**al)) ** (1 / be)
    cost_ratio = demand / (3 * d)
    assert al * a * n**-al == pytest.approx((1 + cost_ratio) * be * b * d**-be, rel=1e-4)
    d_path = S.evaluate(S.data_for_cost_ratio(), {**S.fit(key), S.N: n, S.r: cost_ratio})
    assert d_path == pytest.approx(d, rel=1e-4)
    assert S.inference_aware_optimum(S.fit(key), target, demand)[0] == pytest.approx(n, rel=1e-6)


def test_zero_inference_is_chinchilla_and_equal_cost_scales_by_two_to_one_over_beta():
    d0 = S.data_for_cost_ratio(0)
    gap = sp.log(d0.subs(S.N, S.N_opt)) - sp.log(S.D_opt)
    assert sp.simplify(sp.expand_log(gap, force=True)) == 0
    assert sp.simplify(S.data_for_cost_ratio(1) / d0 - 2 ** (1 / S.beta)) == 0


def test_tokens_per_param_exponent_and_loss_exponent():
    exponent = sp.simplify(sp.diff(sp.log(S.tokens_per_param_opt), S.C) * S.C)
    assert sp.simplify(exponent - (S.alpha - S.beta) / (S.alpha + S.beta)) == 0
    # symmetric fit: tokens per parameter is the constant (B/A)^(1/alpha)
    sym = {S.beta: S.alpha}
    assert S.C not in sp.simplify(S.tokens_per_param_opt.subs(sym)).free_symbols
    assert sp.simplify(S.gamma.subs(sym) - S.alpha / 2) == 0


def test_mfu():
    assert S.mfu(6e23, 1e6 * 3600, 1e15) == pytest.approx(6e23 / 3.6e24)


@pytest.mark.parametrize("size", ["8b", "70b", "405b"])
def test_gpu_hours_at_the_same_mfu_keep_hours_times_peak_fixed(size):
    """At the MFU Llama 3's H100 hours imply, hours x dense BF16 peak is the same on every
    catalogued accelerator: the published hours on the H100, fewer on a faster part."""
    headline = registry.get(f"llama3_{size}_gpu_hours_same_mfu")
    assert headline.closed_form and headline.hardware_fields == ("bf16_dense_flops",)
    assert headline.fmt == "millions"          # glued as "30.8M", as the chapter always did
    h100 = catalog.lookup("accelerators", "h100")
    hours = catalog.load("training_runs")[f"llama3_{size}"].gpu_hours / 3600
    assert headline.value(h100) == pytest.approx(hours, rel=1e-12)
    for acc in catalog.accelerators().values():
        if "bf16_dense_flops" in acc.fields:
            assert headline.value(acc) * acc.bf16_dense_flops == pytest.approx(
                hours * h100.bf16_dense_flops, rel=1e-12), acc.key


def test_new_units():
    from helpers import units as U
    assert U.to_si(1, "million GPU-h") == 3.6e9
    assert U.to_si(2, "month") == pytest.approx(2 * 30.436875 * 86400)


# --- the chapter's results -----------------------------------------------------------------

def test_required_results_exist(results):
    for name in REQUIRED:
        assert results[name]["chapter"] == CHAPTER, name


def test_results_match_catalogs(results):
    models = catalog.models()
    runs = catalog.load("training_runs")
    h100 = catalog.lookup("accelerators", "h100")
    budget = catalog.load("scaling_laws")["chinchilla"].compute_budget
    rule = catalog.load("scaling_laws")["chinchilla"].tokens_per_param_rule
    expected = {}
    for key in FITS:
        e, a, b, al, be = _fit(key)
        g = (al * a / (be * b)) ** (1 / (al + be))
        n_opt = g * (budget / 6) ** (be / (al + be))
        expected[f"tokens_per_param_compute_optimal_{key}"] = budget / 6 / n_opt**2
        # alpha A N^-alpha = 2 beta B D^-beta at N = 100B
        n = 1e11
        d = (2 * be * b * n**al / (al * a)) ** (1 / be)
        expected[f"equal_cost_tokens_per_param_100b_{key}"] = d / n
    m8, m405 = models["llama3_8b"], models["llama3_405b"]
    expected["overtrain_factor_llama3_8b"] = m8.training_tokens / m8.total_params / rule
    expected["overtrain_factor_lecture"] = 200e12 / 100e9 / 20
    expected["llama3_405b_training_flops"] = 6 * 405e9 * 15.6e12
    expected["h100_mfu_llama3_405b"] = 6 * 405e9 * 15.6e12 / (
        runs["llama3_405b"].gpu_hours * h100.bf16_dense_flops)
    attn = 3 * f.attention_flops_per_context_token(m405) * 8192 / 2 / (6 * 405e9)
    expected["llama3_405b_attention_share"] = attn
    expected["llama3_405b_gpu_hours_same_mfu"] = runs["llama3_405b"].gpu_hours / 3600  # run is H100
    expected["overtrain_factor_lecture_equal_compute"] = 200e12 / 3 / 100e9 / 20
    # the lecture's "30 %" as an overhead (x 1.3) against as an efficiency (/ 0.3)
    expected["ex_rl_overhead_over_efficiency"] = (6 / (1.3 * 6)) / (6 * 0.3 / 6)
    for name, value in expected.items():
        assert results[name]["value"] == pytest.approx(value, rel=1e-12), name
    assert results["h100_mfu_llama3_405b"]["accelerator"] == "h100"


def test_claims_have_verdicts_and_the_caveats_they_need():
    recorded = read_claims()
    for cid in CLAIMS:
        assert claims.get(cid).chapter == CHAPTER
        c = recorded[cid]
        assert c["chapter"] == CHAPTER, cid
        if c["verdict"] != "holds":
            assert c["caveat"], cid
    assert "not identified" in recorded["MISC-1"]["caveat"]
    # RP-14: 450T against 150T is off by 3x, and the estimate reading (1.75-3.5x) is off too
    assert recorded["RP-14"]["verdict"] == "off by 3.0× (claim too low)"
    caveat = recorded["RP-14"]["caveat"]
    assert "factor 1.75–3.5" in caveat and "holds" not in caveat


def test_rerun_on_b200_changes_only_the_accelerator_twins(tmp_path, results):
    """A papermill re-run for the B200 rescales the GPU-hours at the same MFU by the ratio of
    dense BF16 peaks and leaves every h100_ result and every hardware-free result alone."""
    from helpers.results import read_results
    out = tmp_path / "b200"
    proc = subprocess.run([sys.executable, "-m", "helpers", "execute", CHAPTER, "--accelerator",
                           "b200", "--out", str(out)], cwd=ROOT, capture_output=True, text=True,
                          timeout=300)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    rerun = read_results(out)
    h100 = catalog.lookup("accelerators", "h100")
    b200 = catalog.lookup("accelerators", "b200")
    twins = {h.name for h in S.HEADLINES}      # the GPU-hours at the same MFU
    for name in twins:
        assert rerun[name]["value"] == pytest.approx(
            results[name]["value"] * h100.bf16_dense_flops / b200.bf16_dense_flops, rel=1e-12)
        assert rerun[name]["accelerator"] == "b200"
    for name, r in results.items():
        if r["chapter"] == CHAPTER and name not in twins:
            assert rerun[name]["value"] == r["value"], name
    # the same-MFU column is shown only where it does not repeat the published H100 hours
    column = "M b200 GPU-h"
    assert column in (out / f"{CHAPTER}.ipynb").read_text(encoding="utf-8")
    assert column not in (ROOT / "chapters" / f"{CHAPTER}.ipynb").read_text(encoding="utf-8")


def test_scaling_module_exports_exist():
    assert all(hasattr(S, name) for name in S.__all__)
