"""Ranges, intervals and verdict robustness (helpers.intervals, helpers.robustness)."""
from __future__ import annotations

import dataclasses
import math

import pytest

from helpers import catalog, intervals, registry, results, robustness
from helpers.schema import Range


@pytest.fixture(autouse=True)
def _fresh():
    robustness.clear_cache()
    yield
    robustness.clear_cache()


@pytest.mark.parametrize("name, part", [
    ("drain_ms", "b200"), ("flops_per_byte", "rubin"), ("kimi_k2_fp8_weight_fraction_of_domain_hbm",
                                                          "gb200"),
    ("orbital_cost_per_kw_over_life_ratio", "h100"), ("economic_life_years", "h100"),
    ("epoch_fit_tokens_per_param_gopher_budget", "h100"),
])
def test_an_interval_contains_its_central_value(name, part):
    low, central, high = intervals.interval(name, part)
    h = intervals._get(name)
    assert central == h.value(catalog.accelerators()[part])
    assert low <= central <= high and low < high, (low, central, high)


def test_a_headline_whose_inputs_carry_no_range_is_a_point():
    assert intervals.interval("rp3_a100_40gb_flops_per_byte", "a100") == (
        pytest.approx(200.64, rel=1e-4),) * 3
    assert intervals.headline_interval("rp3_a100_40gb_flops_per_byte", "a100").method == "point"


def test_monotonicity_is_checked_symbolically_and_agrees_with_sampling():
    """drain = C / W: increasing in the capacity, decreasing in the bandwidth, by the sign of
    the derivative (SymPy) and by sampling the formula across the B200's ranges."""
    found = intervals.monotonicity("drain_ms", "b200")
    assert found == {"accelerators.b200.hbm_capacity": (1, "symbolic"),
                     "accelerators.b200.hbm_bandwidth": (-1, "symbolic")}
    vs = intervals.variables("drain_ms", "b200")
    for v in vs:
        assert intervals.sampled_sign("drain_ms", "b200", v, vs) == found[v.id][0]
    # a formula SymPy cannot sign is signed by sampling: the Epoch fit in its exponents
    fit = intervals.monotonicity("epoch_fit_tokens_per_param_gopher_budget", "h100")
    assert fit["scaling_laws.epoch.alpha"] == (1, "sampled")
    assert fit["scaling_laws.epoch.a_params"] == (-1, "symbolic")


def test_corners_give_the_interval_of_a_monotone_formula():
    b200 = catalog.accelerators()["b200"]
    iv = intervals.headline_interval("drain_ms", "b200")
    (c_lo, c_hi), (w_lo, w_hi) = (b200.fields[n].range_si for n in ("hbm_capacity",
                                                                     "hbm_bandwidth"))
    assert iv.method == "corners"
    assert iv.low == pytest.approx(1e3 * c_lo / w_hi, rel=1e-12)
    assert iv.high == pytest.approx(1e3 * c_hi / w_lo, rel=1e-12)


def test_fit_uncertainty_is_propagated_by_seeded_sampling():
    first = intervals.headline_interval("epoch_fit_tokens_per_param_gopher_budget", "h100")
    intervals.clear_cache()
    again = intervals.headline_interval("epoch_fit_tokens_per_param_gopher_budget", "h100")
    assert first.method == "fit sampling" and first == again
    assert first.central == pytest.approx(18.391, rel=1e-4)   # chapter 3's Epoch D/N


def test_every_rule_gives_the_label_its_chapter_recorded():
    recorded = results.read_claims()
    assert set(recorded) <= set(robustness.RULES), set(recorded) - set(robustness.RULES)
    h100 = catalog.accelerators()["h100"]
    for cid, meta in recorded.items():
        rule = robustness.RULES[cid]
        if rule.numeric:
            assert rule.label(robustness.Env(h100)) == meta["verdict"], cid
        else:
            assert rule.qualitative, cid


def _with_range(monkeypatch, key, name, low, high):
    accs = catalog.accelerators()
    f = accs[key].fields[name]
    wide = dataclasses.replace(f, range=Range(low / 1e12, high / 1e12, "widened by a test",
                                              low, high))
    entry = dataclasses.replace(accs[key], fields={**accs[key].fields, name: wide})
    monkeypatch.setitem(accs, key, entry)
    robustness.clear_cache()


def test_a_widened_range_flips_a_verdict_at_the_right_value(monkeypatch):
    """RP-8: 2 C / W on an H100 is 47.8 ms against 40 ms claimed (holds with caveat). Let the
    bandwidth range down to 1 TB/s: beyond 1.5 x 40 ms (W < 2 x 80 GB / 60 ms) it is off."""
    assert robustness.assess("RP-8").robust is True
    _with_range(monkeypatch, "h100", "hbm_bandwidth", 1e12, 3.35e12)
    a = robustness.assess("RP-8")
    assert a.label == "holds with caveat" and a.robust is False
    assert a.flip.var.id == "accelerators.h100.hbm_bandwidth"
    assert a.flip.value == pytest.approx(2 * 80e9 / 60e-3, rel=1e-6)
    assert a.flip.label.startswith("off by") and "claim too low" in a.flip.label
    assert a.text.startswith("→ off by") and "H100's HBM bandwidth ≤ 2.67 TB/s" in a.text
    assert "(range 1.00–3.35)" in a.text                  # the input's range, in its unit
    s = robustness.summary("RP-8")
    assert s["robust"] is False and s["flips_on"] == "accelerators.h100.hbm_bandwidth"
    assert s["status"] == "flips" and s["flips_on_text"] == "H100's HBM bandwidth"
    assert (s["flip_value"], s["flip_unit"]) == (2.67, "TB/s")     # catalog unit, no float noise


def test_a_flip_on_the_other_reading_says_so():
    """RP-7 (the median drain time over the catalog) is held by a hair: one capacity read in
    GiB tips the median past 1.5 x 20 ms."""
    a = robustness.assess("RP-7")
    assert a.robust is False and "H200's HBM capacity read in GiB" in a.text


def test_a_verdict_whose_inputs_carry_no_range_is_untested_not_robust(monkeypatch):
    """Robustness is tri-state: True only when tested over at least one range. A rule that
    reads no ranged input (here GB-5, the arithmetic on the claim's own numbers) is None."""
    a = robustness.assess("GB-5")
    assert a.numeric and a.robust is None and a.status == "untested"
    assert a.text == robustness.UNTESTED and not a.text.startswith("robust")
    s = robustness.summary("GB-5")
    assert s["robust"] is None and s["status"] == "untested"
    assert robustness.column({"GB-5": a.label}) == [robustness.UNTESTED]
    from helpers.appendices import robustness_counts
    rows = [{"robust": None, "robustness": robustness.UNTESTED},
            {"robust": True, "robustness": "robust (1 range)"},
            {"robust": None, "robustness": "not numeric"}]
    assert robustness_counts(rows) == {"robust": 1, "flips": 0, "untested": 1, "not numeric": 1}


def test_a_claim_with_no_ranged_input_is_untested_not_robust():
    """RP-1 and RP-2 read datasheet peaks with a single reading (an achieved rate is another
    quantity, not a range of the peak): untested, never called robust."""
    for cid in ("RP-1", "RP-2"):
        a = robustness.assess(cid)
        assert a.status == "untested" and a.robust is None, cid
        assert a.text == robustness.UNTESTED


def test_inputs_are_named_in_a_reader_s_words():
    assert intervals.input_label("accelerators", "rubin", "bf16_dense_flops") == \
        "Rubin's dense BF16"
    assert intervals.input_label("accelerators", "h200", "hbm_capacity") == "H200's HBM capacity"
    assert intervals.input_label("costs", "assumptions", "price_performance_ooms_per_year") \
        == "price-performance improves"
    assert intervals.input_label("models", "deepseek_v3", "total_params") == \
        "DeepSeek-V3's total parameters"
    texts = [r["text"] for r in robustness.table()]
    assert not [t for t in texts if "_" in t or "(assumptions)" in t], texts


def test_qualitative_claims_are_not_numeric_and_the_table_is_complete():
    rows = robustness.table()
    assert [r["claim"] for r in rows] == list(results.read_claims())
    by_id = {r["claim"]: r for r in rows}
    assert by_id["RP-22"]["text"] == "not numeric" and by_id["RP-22"]["robust"] is None
    assert all(isinstance(r["robust"], bool) == (r["status"] in ("robust", "flips"))
               for r in rows if r["numeric"])
    assert sum(r["robust"] is False for r in rows) >= 2


def test_live_rules_and_interval_contract():
    live = robustness.live_rules()
    assert "RP-8" in live and "RP-7" not in live          # a median is not a worst ratio
    heads = registry.headlines()
    for cid, parts in live.items():
        for p in parts:
            assert set(p) == {"headline", "part", "claimed", "band"}, cid
            assert heads[p["headline"]].closed_form and isinstance(p["claimed"], float)
            assert p["part"] == "run" or p["part"] in catalog.accelerators()
            assert len(p["band"]) == 2
    low, central, high = intervals.interval("worst_case_latency_ms", "h100")
    assert low <= central <= high and math.isfinite(central)


def test_the_ledger_column_is_deterministic():
    from helpers.appendices import ledger_markdown, ledger_rows
    first = ledger_markdown(ledger_rows())
    robustness.clear_cache()
    assert ledger_markdown(ledger_rows()) == first


def test_chapter_verdict_tables_get_the_column_and_headlines_their_interval():
    from types import SimpleNamespace

    from helpers.chapter import Chapter, interval_text

    b200 = catalog.accelerators()["b200"]
    low, central, high = intervals.interval("drain_ms", b200)
    h = registry.get("drain_ms")
    assert interval_text("drain_ms", b200) == f"{h.text(central)} ({h.text(low)}–{h.text(high)})"
    assert interval_text("flops_per_byte", "h200") == registry.get("flops_per_byte").text(
        intervals.interval("flops_per_byte", "h200")[1])            # no range: the value alone
    recorded = results.read_claims()
    fake = SimpleNamespace(acc=catalog.accelerators()["h100"],
                           values={k: v["value"] for k, v in results.read_results().items()})
    verdicts = {cid: (m["claimed"], m["derived"], m["verdict"], m["caveat"])
                for cid, m in recorded.items() if m["chapter"].startswith("02")}
    table = Chapter.verdict_table(fake, verdicts).splitlines()
    assert table[0].endswith("| robust? |") and len(table) == 2 + len(verdicts)
    assert "read in GiB" in next(line for line in table if line.startswith("| RP-7 "))


def test_a_folder_of_executed_chapters_is_assessed_for_the_part_it_ran_for(tmp_path):
    import json
    import shutil

    from helpers import paths

    ch2 = next(p for p in paths.notebooks() if p.stem.startswith("02"))
    shutil.copy2(ch2, tmp_path / ch2.name)
    (tmp_path / "rerun.json").write_text(json.dumps({"hardware": "h100", "overrides": {}}))
    found = robustness.for_chapters(tmp_path)
    assert found["RP-7"]["text"] == robustness.assess("RP-7").text
    assert found["RP-8"]["robust"] is True and set(found) == {
        c for c, m in results.read_claims().items() if m["chapter"] == ch2.stem}
