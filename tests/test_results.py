"""The results interface reads the committed chapters, and those results match the catalogs.

Because every expected value here is recomputed from the catalogs and the shared formulas, a
change to a catalog number or to a formula that was not followed by re-executing the chapters
fails this file (and nbval)."""
from __future__ import annotations

import pytest

from conftest import ROOT
from helpers import catalog, formulas as f
from helpers.results import read_claims, read_results

CHAPTER1 = ["h100_flops_per_byte", "a100_flops_per_byte", "optimal_batch_lecture_example",
            "optimal_batch_deepseek_v3_by_params", "optimal_batch_deepseek_v3_by_experts"]


def test_cli_lists_chapter_1_required_names(results):
    for name in CHAPTER1:
        r = results[name]
        assert set(r) >= {"value", "unit", "chapter"}
        assert isinstance(r["value"], float) and r["value"] > 0
        assert r["chapter"] == "01_optimal_batch"


def _ratio(key):
    a = catalog.lookup("accelerators", key)
    return float((f.F / f.W).subs({f.F: a.bf16_dense_flops, f.W: a.hbm_bandwidth}))


def _balance(key, total, active):
    a = catalog.lookup("accelerators", key)
    return float(f.balance_batch().subs({f.F: a.bf16_dense_flops, f.W: a.hbm_bandwidth,
                                         f.N_tot: total, f.N_act: active, f.b_w: 2}))


def test_chapter_1_results_match_the_catalog_and_formulas(results):
    ds = catalog.lookup("models", "deepseek_v3")
    h100 = catalog.lookup("accelerators", "h100")
    expected = {
        "h100_flops_per_byte": _ratio("h100"),
        "a100_flops_per_byte": _ratio("a100"),
        "flops_per_byte": _ratio("h100"),          # the committed run is for the H100
        "optimal_batch_lecture_example": _balance("h100", 256, 32),
        "optimal_batch_deepseek_v3_by_params": _balance("h100", ds.total_params, ds.active_params),
        "optimal_batch_deepseek_v3_by_experts": _balance("h100", ds.routed_experts,
                                                         ds.active_experts),
        "h100_optimal_batch_deepseek_v3_by_params": _balance("h100", ds.total_params,
                                                             ds.active_params),
        "deepseek_v3_kv_bytes_per_token_bf16_roofline": f.kv_bytes_per_token(ds, 2),
        "deepseek_v3_max_compute_bound_context": float(f.max_compute_bound_context.subs({
            f.N_act: ds.active_params, f.W: h100.hbm_bandwidth, f.F: h100.bf16_dense_flops,
            f.b_kv: f.kv_bytes_per_token(ds, 2), f.a_kv: f.attention_flops_per_context_token(ds)})),
    }
    for name, value in expected.items():
        assert results[name]["value"] == pytest.approx(value, rel=1e-12), name


def test_accelerator_field_follows_the_naming_rule(results):
    for name, r in results.items():
        prefix = name.split("_")[0]
        if prefix in catalog.accelerators():
            assert r["accelerator"] == prefix, name


def test_each_claim_is_judged_in_the_chapter_the_claims_catalog_names():
    """The label's form is enforced when a verdict is recorded; what can still go wrong is a
    claim judged in the wrong chapter (or twice: read_claims keeps one per id)."""
    from helpers import claims as C
    judged = read_claims()
    assert set(judged) == set(C.load()), set(C.load()) ^ set(judged)
    for cid in ("RP-1", "RP-2", "RP-3", "RP-4", "RP-5"):
        assert judged[cid]["chapter"] == "01_optimal_batch"
    assert judged["RP-6"]["chapter"] == "06_moe_rack"   # chapter 6 gives the fuller treatment


def test_results_from_another_folder_and_duplicates(tmp_path):
    src = ROOT / "chapters" / "01_optimal_batch.ipynb"
    (tmp_path / "a.ipynb").write_text(src.read_text())
    assert read_results(tmp_path)["h100_flops_per_byte"]["chapter"] == "a"
    (tmp_path / "b.ipynb").write_text(src.read_text())
    with pytest.raises(ValueError, match="already published"):
        read_results(tmp_path)
