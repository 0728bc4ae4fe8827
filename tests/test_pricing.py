"""Chapter 4 (prices leak architecture): its formulas, its catalog and its committed results.

Every expected value is recomputed here from the catalogs with plain arithmetic or the shared
formulas, never read back from the notebook, so a catalog edit that was not followed by
re-executing the chapter fails this file."""
from __future__ import annotations

import json
import math
import subprocess
import sys

import numpy as np
import pytest
import sympy as sp

from conftest import ROOT
from helpers import catalog, claims, fmt, formulas as f, pricing as p, registry
from helpers.results import read_claims, read_results
from helpers.verdicts import ratio_verdict

CHAPTER = "04_kv_from_prices"
REQUIRED = ["kv_bytes_per_token_lecture", "kv_bytes_per_token_llama3_70b_bf16",
            "kv_bytes_per_token_deepseek_v3_bf16", "kv_crossover_context_llama3_70b_h100",
            "drain_seconds_hbm", "drain_seconds_dram", "drain_seconds_flash", "drain_seconds_disk"]

# KV-cache bytes per token, whole model, BF16, worked out by hand from each model's config:
# (as helpers.formulas counts it: every layer at full context; as the cache actually holds it)
HAND_KV_BF16 = {
    "deepseek_v3": (61 * (512 + 64) * 2, 61 * (512 + 64) * 2),     # MLA latent + RoPE key
    "deepseek_v3_2": (61 * 576 * 2, 61 * (576 * 2 + 128 * 1 + 4)), # + FP8 indexer key, FP32 scale
    "kimi_k2": (61 * 576 * 2, 61 * 576 * 2),
    "qwen3_235b_a22b": (94 * 2 * 4 * 128 * 2, 94 * 2 * 4 * 128 * 2),
    "gpt_oss_120b": (36 * 2 * 8 * 64 * 2, 18 * 2 * 8 * 64 * 2),    # only 18 full layers grow
    "llama3_8b": (32 * 2 * 8 * 128 * 2, 32 * 2 * 8 * 128 * 2),
    "llama3_70b": (80 * 2 * 8 * 128 * 2, 80 * 2 * 8 * 128 * 2),
    "llama3_405b": (126 * 2 * 8 * 128 * 2, 126 * 2 * 8 * 128 * 2),
    "mixtral_8x7b": (32 * 2 * 8 * 128 * 2, 32 * 2 * 8 * 128 * 2),
    "mixtral_8x22b": (56 * 2 * 8 * 128 * 2, 56 * 2 * 8 * 128 * 2),
}


@pytest.fixture(scope="module")
def idx():
    e = catalog.load("memory_tiers")["deepseek_v32_indexer_cache"]
    assert p.indexer_format() == (e.key_bytes_per_element, e.scale_bytes_per_key)
    return e.key_bytes_per_element, e.scale_bytes_per_key


# --- (a) required names, from the CLI ------------------------------------------------------
def test_required_results_are_listed_for_chapter_4(results):
    for name in REQUIRED:
        assert results[name]["chapter"] == CHAPTER, name
        assert isinstance(results[name]["value"], float) and results[name]["value"] > 0
    assert results["kv_crossover_context_llama3_70b_h100"]["accelerator"] == "h100"
    assert results["drain_seconds_hbm"]["accelerator"] == "h100"   # the committed run


# --- the KV-size formulas against hand-computed values --------------------------------------
def test_every_catalogued_model_with_an_attention_shape_has_a_hand_value():
    assert set(HAND_KV_BF16) == {k for k, m in catalog.models().items() if "attention" in m.text}


@pytest.mark.parametrize("key", sorted(HAND_KV_BF16))
def test_kv_bytes_per_token_matches_hand_computation(key, idx):
    m = catalog.models()[key]
    full, held = HAND_KV_BF16[key]
    assert f.kv_bytes_per_token(m, 2) == full
    assert f.kv_bytes_per_token(m, 1) == full / 2
    assert p.kv_stored_bytes_per_token(m, 2, *idx) == held


def test_sliding_window_layers_hold_only_their_window():
    m = catalog.models()["gpt_oss_120b"]
    per_layer = 2 * 8 * 64 * 2
    assert p.kv_stored_bytes_per_token(m, 2, context=1024) == \
        18 * per_layer + 18 * per_layer * 128 / 1024
    assert p.kv_stored_bytes_per_token(m, 2, context=64) == 36 * per_layer  # window not yet full


def test_shared_kv_reduces_to_plain_gqa_and_to_one_layer():
    for key in ("llama3_70b", "qwen3_235b_a22b", "mixtral_8x22b"):
        m = catalog.models()[key]
        subs = {p.n_L: m.n_layers, p.n_kv: m.n_kv_heads, p.d_h: m.head_dim, p.beta: 2}
        assert float(p.kv_bytes_shared.subs({**subs, p.g: 1})) == f.kv_bytes_per_token(m, 2)
        one_cache = float(p.kv_bytes_shared.subs({**subs, p.g: m.n_layers}))
        assert one_cache == 2 * m.n_kv_heads * m.head_dim * 2


# --- (b) committed values against independent recomputation ---------------------------------
def test_chapter_4_results_match_the_catalogs(results, idx):
    models, accs, tiers = catalog.models(), catalog.accelerators(), catalog.load("memory_tiers")
    rp15 = claims.get("RP-15")
    h100, tpu = accs["h100"], accs["tpu7x"]
    gemini = catalog.prices()["gemini_2_5_pro_2026_03"]
    llama, ds = models["llama3_70b"], models["deepseek_v3"]
    kv_llama = 80 * 2 * 8 * 128 * 2

    def step_bytes(a, kap=1.0, flops=None):
        return kap * 2 * rp15.value("active_params") * a.hbm_bandwidth / (
            (flops or a.bf16_dense_flops) * gemini.long_context_threshold)

    expected = {
        "kv_bytes_per_token_lecture": 100e9 / (300 * 200_000),
        "kv_bytes_per_token_llama3_70b_bf16": kv_llama,
        "kv_bytes_per_token_deepseek_v3_bf16": 61 * 576 * 2,
        "kv_crossover_context_llama3_70b_h100":
            2 * llama.active_params * h100.hbm_bandwidth / (h100.bf16_dense_flops * kv_llama),
        "kv_crossover_context_llama3_70b":
            2 * llama.active_params * h100.hbm_bandwidth / (h100.bf16_dense_flops * kv_llama),
        "kv_crossover_context_deepseek_v3":
            2 * ds.active_params * h100.hbm_bandwidth / (h100.bf16_dense_flops * 61 * 576 * 2),
        # one convention: the printed capacity in decimal bytes (80 GB, and 192 GiB as 192 GB)
        "drain_seconds_hbm": 80e9 / h100.hbm_bandwidth,
        "h100_drain_seconds_hbm": 80e9 / h100.hbm_bandwidth,
        "tpu7x_drain_seconds_hbm": 192e9 / tpu.hbm_bandwidth,
        **{f"drain_seconds_{k}": tiers[t].capacity / tiers[t].read_bandwidth
           for k, t in (("dram", "host_dram_dgx"), ("flash", "flash_pm1743"),
                        ("disk", "disk_exos_x24"))},
        "h100_kv_bytes_per_token_price_step": step_bytes(h100),
        "tpu7x_kv_bytes_per_token_price_step": step_bytes(tpu),
        "h100_kv_bytes_per_token_price_step_fp8": step_bytes(h100, flops=h100.fp8_dense_flops),
        "tpu7x_kv_bytes_per_token_price_step_fp8": step_bytes(tpu, flops=tpu.fp8_dense_flops),
        "tpu7x_kv_bytes_per_token_output_step_low": step_bytes(tpu, 0.5),
        "tpu7x_kv_bytes_per_token_output_step_high": step_bytes(tpu, 1.5),
        "kv_bytes_per_token_deepseek_v3_2_bf16": 61 * (576 * 2 + 128 + 4),
        "kv_bytes_per_layer_llama3_70b_bf16": 2 * 8 * 128 * 2,
        "kv_bytes_per_layer_deepseek_v3_bf16": 576 * 2,
        "kv_index_bytes_per_token_deepseek_v3_2": 61 * (128 + 4),
        "kv_bytes_per_token_llama3_70b_shared_bf16": 2 * 8 * 128 * 2,
        "kv_bytes_per_layer_8x128_fp8": 2 * 8 * 128,
        # RP-16 at matched bytes per element: elements against the lecture's elements
        "kv_bytes_per_token_llama3_70b_fp8": 80 * 2 * 8 * 128,
        "kv_bytes_per_token_deepseek_v3_fp8": 61 * 576,
        "kv_bytes_per_token_deepseek_v3_flashmla_fp8": 61 * 656,
        "llama3_70b_kv_over_lecture": 80 * 2 * 8 * 128 / (100e9 / (300 * 200_000)),
        "deepseek_v3_kv_over_lecture": 61 * 576 / (100e9 / (300 * 200_000)),
        "deepseek_v3_flashmla_kv_over_lecture": 61 * 656 / (100e9 / (300 * 200_000)),
        "attention_flops_per_context_token_input_step": 4 * 100e9 * (2.5 / 1.25 - 1) / 200_000,
        "gemini_break_even_hold_minutes": (1.25 - 0.125) / 4.50 * 60,
        # the exercise's break-even, on both bases for both models (the same storage price)
        "ex_gemini25_hold_minutes_no_hit": 1.25 / 4.50 * 60,
        "ex_gemini31_hold_minutes": 2.00 / 4.50 * 60,
        "ex_gemini31_hold_minutes_with_hit": (2.00 - 0.20) / 4.50 * 60,
        "opus_implied_storage_5m": (6.25 - 5) / (5 / 60),
        "opus_implied_storage_1h": (10 - 5) / 1,
    }
    for name, value in expected.items():
        assert results[name]["value"] == pytest.approx(value, rel=1e-12), name
        assert results[name]["chapter"] == CHAPTER


# --- the headlines against brute force and hand arithmetic, on every catalogued part --------
@pytest.mark.parametrize("key", ["llama3_70b", "deepseek_v3", "deepseek_v3_2", "gpt_oss_120b"])
def test_crossover_headline_is_the_root_of_the_piecewise_read(key, idx):
    """Bisect kv_read_bytes(L) = 2 N_act W / F: the closed form picks the right piece."""
    m = catalog.models()[key]
    h = registry.get(f"kv_crossover_context_{key}")
    for a in catalog.accelerators().values():
        budget = 2 * m.active_params * a.hbm_bandwidth / a.bf16_dense_flops
        lo, hi = 0.0, 1e9
        for _ in range(100):
            mid = (lo + hi) / 2
            lo, hi = (mid, hi) if p.kv_read_bytes(m, mid, 2, *idx) < budget else (lo, mid)
        assert h.value(a) == pytest.approx(lo, rel=1e-9), a.key


def test_output_step_headlines_are_the_extreme_readings_of_the_step():
    gemini = catalog.prices()[p.GEMINI]
    kappas = p.kappa_readings(gemini.output_long / gemini.output).values()
    onset, low, high = (registry.get(f"kv_bytes_per_token_{n}")
                        for n in ("price_step", "output_step_low", "output_step_high"))
    for a in catalog.accelerators().values():
        assert low.value(a) == pytest.approx(min(kappas) * onset.value(a), rel=1e-12), a.key
        assert high.value(a) == pytest.approx(max(kappas) * onset.value(a), rel=1e-12), a.key
    # the closed Min / Max of the readings, for steps below, at and above a doubling
    for ratio in (1.2, 1.5, 2.0, 3.7):
        readings = p.kappa_readings(ratio).values()
        for expr, pick in ((p.kv_bytes_from_step_low, min), (p.kv_bytes_from_step_high, max)):
            assert f.evaluate(expr / p.kv_bytes_at_onset, {p.q: ratio}) == pick(readings)


def test_implied_batch_headlines_by_hand():
    """B = B*/(rho - L/L_x) with chapter 1's B* and DeepSeek-V3's crossover; unbounded once
    L/L_x reaches rho (the KV reads alone cost more than the ratio allows)."""
    ds, api = catalog.models()["deepseek_v3"], catalog.prices()[p.DEEPSEEK_API]
    five = claims.get("RP-17").value("output_input_ratio")
    for a in catalog.accelerators().values():
        b_star = a.bf16_dense_flops / a.hbm_bandwidth * ds.total_params / ds.active_params
        l_x = 2 * ds.active_params * a.hbm_bandwidth / (a.bf16_dense_flops * 61 * 576 * 2)
        assert registry.get("optimal_batch_deepseek_v3_by_params").value(a) == \
            pytest.approx(b_star, rel=1e-12)
        assert registry.get("deepseek_api_implied_batch").value(a) == \
            pytest.approx(b_star * api.input / api.output, rel=1e-12)
        for name, ratio, ctx in (("ex_ds_batch_2k_deepseek_ratio", api.output / api.input, 2048),
                                 ("ex_ds_batch_2k_five", five, 2048),
                                 ("ex_ds_batch_32k_five", five, 32768)):
            room = ratio - ctx / l_x
            expected = b_star / room if room > 0 else math.inf
            assert registry.get(name).value(a) == pytest.approx(expected, rel=1e-12), (name, a.key)


def test_headlines_are_positive_for_every_part_with_the_fields_they_read():
    for h in p.HEADLINES:
        for a in catalog.accelerators().values():
            if not all(a.has(name) for name in h.hardware_fields):    # no FP8 figure, say
                continue
            v = h.value(a)
            if h.name.startswith("capacity_step"):       # 0: the weights do not fit the replica
                assert v >= 0 and math.isfinite(v), (h.name, a.key)
                continue
            unbounded_ok = h.name == "ex_ds_batch_32k_five" or h.name.endswith("_with_attention")
            assert v > 0 and (math.isfinite(v) or unbounded_ok), (h.name, a.key)


# --- (c) properties of the formulas --------------------------------------------------------
def test_step_at_the_crossover_returns_the_cache_size():
    back = p.kv_bytes_from_step.subs({p.kappa: 1, p.L_step: p.kv_crossover_context})
    assert sp.simplify(back - f.b_kv) == 0
    assert sp.simplify(p.kv_crossover_context - f.max_compute_bound_context.subs(f.a_kv, 0)) == 0


def test_lecture_counts_elements_book_counts_bytes():
    # one multiply per parameter against r multiplies per element = 2 FLOPs against r FLOP/byte
    # at two bytes per element: the book's bytes are twice the lecture's elements in BF16
    book = p.kv_bytes_from_step.subs({p.kappa: 1, f.F: p.r * f.W})
    assert sp.simplify(book - 2 * p.kv_elements_lecture) == 0


def test_kappa_readings():
    assert p.kappa_readings(2.0)["serial cost, tiers priced at their lower edge"] == 1.0
    assert p.kappa_readings(1.5) == {"onset (lecture)": 1.0,
                                     "serial cost, tiers priced at their lower edge": 0.5,
                                     "overlapped cost, tiers priced at their lower edge": 1.5}
    with pytest.raises(ValueError):
        p.kappa_readings(1.0)


def test_output_input_ratio_is_balance_over_batch_plus_context_over_crossover():
    ratio = p.output_input_cost_ratio
    assert sp.simplify(ratio - (f.balance_batch() / f.B + f.L / p.kv_crossover_context)) == 0
    # at the balance batch and zero context, output costs exactly what input does
    assert sp.simplify(ratio.subs({f.B: f.balance_batch(), f.L: 0}) - 1) == 0
    assert sp.simplify(ratio.subs(f.B, p.implied_decode_batch) - p.q) == 0
    assert sp.simplify(p.implied_decode_batch.subs({p.q: 1, f.L: 0}) - f.balance_batch()) == 0


def test_input_step_reading_doubles_the_prefill_cost():
    a = p.attention_flops_from_input_step
    cost = p.prefill_cost_token
    assert sp.simplify(cost.subs(f.a_kv, a).subs(f.L, p.L_step) - p.q * cost.subs(f.L, 0)) == 0


def test_read_bytes_are_continuous_and_the_crossover_solves_them(idx):
    for m in catalog.models().values():
        thr = p.kv_read_threshold(m)
        if thr:
            below, above = p.kv_read_bytes(m, [thr - 1e-6, thr + 1e-6], 2, *idx)
            assert below == pytest.approx(above, rel=1e-7), m.key   # slope x 2e-6 apart
        for a in catalog.accelerators().values():
            x = p.crossover_context(m, a, 2, key_bytes=idx[0], scale_bytes=idx[1])
            budget = 2 * m.active_params * a.hbm_bandwidth / a.bf16_dense_flops
            assert x > 0 and p.kv_read_bytes(m, x, 2, *idx) == pytest.approx(budget, rel=1e-9)
    # reads never fall with context
    m = catalog.models()["deepseek_v3_2"]
    reads = p.kv_read_bytes(m, np.logspace(2, 7, 50), 2, *idx)
    assert np.all(np.diff(reads) > 0)


def test_hbm_capacity_reads_the_printed_number_in_decimal_bytes_on_every_part():
    """One convention for every part: the smaller of the two readings (GB vs GiB) of the printed
    number, whichever unit the catalog keeps it in; the drain headline reads the same."""
    accs = catalog.accelerators()
    assert p.hbm_capacity_decimal(accs["h100"]) == 80e9          # printed "80 GB"
    assert p.hbm_capacity_decimal(accs["tpu7x"]) == 192e9        # printed "192 GiB"
    for a in accs.values():
        fld = a.fields["hbm_capacity"]
        assert p.hbm_capacity_decimal(a) == pytest.approx(fld.value * 1e9 if fld.unit in
                                                          ("GB", "GiB") else fld.si), a.key
        assert registry.get("drain_seconds_hbm").value(a) == pytest.approx(
            p.hbm_capacity_decimal(a) / a.hbm_bandwidth, rel=1e-12), a.key


def test_cache_tier_formulas():
    assert [fmt.duration(s) for s in (0.0239, 3.55, 1182, 84240)] == \
        ["23.9 ms", "3.55 s", "19.7 min", "23.4 h"]
    assert p.drain_seconds(80e9, 3.35e12) == pytest.approx(80e9 / 3.35e12)
    assert p.usd_per_gb_hour(1e-6 / 3600, 1e9) == pytest.approx(1e-6)     # $1/Mtok/h at 1 GB/token
    assert sp.simplify(p.implied_storage_price * p.T + p.p_in - p.p_write) == 0
    assert sp.simplify(p.break_even_hold_time.subs(p.p_hit, p.p_in)) == 0


def test_memory_tier_catalog_errors_name_file_entry_and_field():
    bad = {"sources": {"s": {"url": "https://example.org/x", "title": "t", "date": "2026-01",
                             "tag": "primary"}},
           "entries": {"ssd": {"name": "An SSD",
                               "capacity": {"value": 15.36, "unit": "TBB", "source": "s"}}}}
    with pytest.raises(catalog.CatalogError,
                       match=r"memory_tiers.yaml: entry 'ssd', field 'capacity'"):
        catalog.parse_catalog("memory_tiers.yaml", "memory_tiers", bad)


# --- (d) claims ----------------------------------------------------------------------------
def test_claims_rp15_to_rp18_have_verdicts_with_their_inputs():
    ledger = read_claims()
    tiers = catalog.load("memory_tiers")
    disk = tiers["disk_exos_x24"].capacity / tiers["disk_exos_x24"].read_bandwidth
    for cid in ("RP-15", "RP-16", "RP-17", "RP-18"):
        c = ledger[cid]
        assert c["chapter"] == CHAPTER
        assert c["claimed"] and c["derived"]
        if c["verdict"] != "holds":
            assert c["caveat"], cid
        assert claims.get(cid).values, f"{cid} has no claimed values in claims.yaml"
    assert ledger["RP-18"]["verdict"] == ratio_verdict(claims.get("RP-18").value("ttl_long"), disk)


def test_rp15_caveat_states_which_reading_gives_which_label():
    rp15, accs = claims.get("RP-15"), catalog.accelerators()
    gemini = catalog.prices()["gemini_2_5_pro_2026_03"]
    lo, hi = rp15.value("kv_bytes_low"), rp15.value("kv_bytes_high")
    c = read_claims()["RP-15"]
    labels = {}
    for key in ("tpu7x", "h100"):
        a = accs[key]
        for prec, flops in (("fp8", a.fp8_dense_flops), ("bf16", a.bf16_dense_flops)):
            b = 2 * rp15.value("active_params") * a.hbm_bandwidth / (
                flops * gemini.long_context_threshold)
            labels[key, prec] = "holds" if lo <= b <= hi else ratio_verdict(hi if b > hi else lo, b)
            assert f"{round(b):,} B → {labels[key, prec]}" in c["caveat"], (key, prec)
    # the kept label rests on the FP8 reading, and the BF16 reading's own label is shown
    assert labels["tpu7x", "fp8"] == "holds" and c["verdict"] == "holds with caveat"
    assert labels["tpu7x", "bf16"].startswith("off by")


def _table(first_line_has: str) -> str:
    """The chapter's one displayed Markdown table whose header contains ``first_line_has``."""
    nb = json.loads((ROOT / "chapters" / f"{CHAPTER}.ipynb").read_text())
    tables = ["".join(o["data"]["text/markdown"]) for c in nb["cells"] if c["cell_type"] == "code"
              for o in c.get("outputs", []) if "text/markdown" in o.get("data", {})]
    # a captioned table opens with its MyST directive (":::{table} caption", ":name: ..."):
    # drop those lines so the header comes first
    tables = ["\n".join(line for line in t.splitlines() if not line.startswith(":")).strip()
              for t in tables]
    found = [t for t in tables if first_line_has in t.splitlines()[0]]
    assert len(found) == 1, first_line_has
    return found[0]


def test_displays_show_a_run_accelerator_that_is_a_named_part_once():
    assert _table("| price line | reading | κ |").splitlines()[0].count("H100 (bytes)") == 1
    drains = _table("| tier | device |").splitlines()
    assert sum(line.startswith("| HBM | H100 |") for line in drains) == 1
    assert "n/a" not in _table("FP8 math (bytes)")   # parts without an FP8 speed-up alike


# --- a re-run on a TPU changes exactly the run's hardware-dependent results ------------------
@pytest.fixture(scope="module")
def v6e_run(tmp_path_factory):
    out = tmp_path_factory.mktemp("ch4_v6e")
    proc = subprocess.run([sys.executable, "-m", "helpers", "execute", CHAPTER, "--accelerator",
                           "tpu_v6e", "--out", str(out)], cwd=ROOT, capture_output=True, text=True,
                          timeout=300)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    return read_results(out)


def test_tpu_rerun_moves_run_results_and_keeps_named_ones(v6e_run):
    committed = {k: v for k, v in read_results().items() if v["chapter"] == CHAPTER}
    v6e, h100 = catalog.accelerators()["tpu_v6e"], catalog.accelerators()["h100"]
    scale = (v6e.hbm_bandwidth / v6e.bf16_dense_flops) / (
        h100.hbm_bandwidth / h100.bf16_dense_flops)
    for name in ("kv_bytes_per_token_price_step", "kv_crossover_context_llama3_70b"):
        assert v6e_run[name]["value"] == pytest.approx(committed[name]["value"] * scale, rel=1e-12)
        assert v6e_run[name]["accelerator"] == "tpu_v6e"
    assert v6e_run["drain_seconds_hbm"]["value"] == \
        pytest.approx(p.hbm_capacity_decimal(v6e) / v6e.hbm_bandwidth)
    for name, r in committed.items():
        if name.split("_")[0] in catalog.accelerators() or r["accelerator"] is None:
            assert v6e_run[name]["value"] == r["value"], name


# --- the second edition's readings ---------------------------------------------------------
def _onset(a, n_act, flops=None, n_acc=1.0):
    """Hand arithmetic: bytes per token that put the KV fetch level with 2 N_act FLOPs at 200k,
    when one cache read serves n_acc accepted tokens."""
    gemini = catalog.prices()[p.GEMINI]
    return n_acc * 2 * n_act * a.hbm_bandwidth / (
        (flops or a.bf16_dense_flops) * gemini.long_context_threshold)


def test_speculative_decoding_multiplies_the_step_reading_by_the_tokens_verified():
    assert sp.simplify(p.kv_bytes_from_step_spec - p.n_ver * p.kv_bytes_from_step) == 0
    assert p.n_acc not in p.kv_bytes_from_step_spec.free_symbols   # acceptance cancels
    assert sp.simplify(p.kv_bytes_from_step_spec.subs(p.n_ver, 1) - p.kv_bytes_from_step) == 0
    models, rp15 = catalog.models(), claims.get("RP-15")
    for a in catalog.accelerators().values():
        if not a.has("fp8_dense_flops"):        # the _fp8 readings need FP8 units
            continue
        fp8 = a.fp8_dense_flops
        assert registry.get("kv_bytes_per_token_price_step_fp8_mtp").value(a) == pytest.approx(
            _onset(a, rp15.value("active_params"), fp8, 2), rel=1e-12), a.key
        for key in ("kimi_k2", "llama3_405b"):
            h = registry.get(f"kv_bytes_per_token_price_step_fp8_{key}_active")
            assert h.value(a) == pytest.approx(_onset(a, models[key].active_params, fp8),
                                               rel=1e-12), (key, a.key)


def test_deepseek_prefill_attention_is_the_mha_mode_count_by_hand():
    """61 layers x 128 heads x (2 x (128 + 64) for q.k + 2 x 128 for p.v): DeepSeek-V3's config,
    against the absorbed decode count 61 x 128 x 2 x (2 x 512 + 64) that chapter 1 uses."""
    ds = catalog.models()["deepseek_v3"]
    prefill = registry.get("deepseek_v3_prefill_attention_flops_per_context_token")
    assert prefill.value(catalog.accelerators()["h100"]) == 61 * 128 * (2 * (128 + 64) + 2 * 128)
    assert f.attention_flops_per_context_token(ds) == 61 * 128 * 2 * (2 * 512 + 64)
    dims = {p.n_L: 61, p.n_h: 128, p.d_c: 512, p.d_R: 64, p.d_nope: 128, p.d_v: 128}
    assert p.mla_decode_flops.subs(dims) == f.attention_flops_per_context_token(ds)
    assert p.mla_prefill_flops.subs(dims) == 4_997_120
    assert not prefill.hardware_fields                   # no accelerator in it


def test_the_two_gemini_steps_read_together():
    """The input step's attention FLOPs (serial prefill reading) over the output step's onset
    bytes, by hand on every part; and the decode arithmetic those FLOPs imply at 200k, by
    evaluating 2 N_act + a_kv L against 2 N_act."""
    gemini, rp15 = catalog.prices()[p.GEMINI], claims.get("RP-15")
    n, step = rp15.value("active_params"), gemini.long_context_threshold
    q_in = gemini.input_long / gemini.input
    a_kv = 4 * n * (q_in - 1) / step                      # (2N + a L/2) = q_in 2N
    assert (2 * n + a_kv * step / 2) == pytest.approx(q_in * 2 * n, rel=1e-12)
    implied = registry.get("gemini_output_step_implied_by_input_step")
    assert implied.value(catalog.accelerators()["h100"]) == pytest.approx(
        (2 * n + a_kv * step) / (2 * n), rel=1e-12)
    for a in catalog.accelerators().values():
        bf16 = registry.get("price_steps_joint_attention_intensity").value(a)
        assert bf16 == pytest.approx(a_kv / _onset(a, n), rel=1e-12), a.key
        if a.has("fp8_dense_flops"):
            fp8 = registry.get("price_steps_joint_attention_intensity_fp8").value(a)
            assert fp8 == pytest.approx(a_kv / _onset(a, n, a.fp8_dense_flops), rel=1e-12)


def test_no_catalogued_dense_cache_reaches_the_steps_joint_intensity(results):
    """The chapter's densest cache is DeepSeek-V3's MLA in FlashMLA's 656-byte FP8 entry, and the
    joint reading of the two steps needs more on every part with FP8 units."""
    ds = catalog.models()["deepseek_v3"]
    densest = f.attention_flops_per_context_token(ds) / (61 * 656)
    assert results["max_catalogued_attention_flops_per_cache_byte"]["value"] == \
        pytest.approx(densest, rel=1e-12)
    for m in catalog.models().values():                  # every dense GQA cache, BF16 or FP8
        if m.text["attention"] == "gqa":
            assert f.attention_flops_per_context_token(m) / f.kv_bytes_per_token(m, 1) < densest
    for key in ("h100", "tpu7x"):
        a = catalog.accelerators()[key]
        assert registry.get("price_steps_joint_attention_intensity_fp8").value(a) > 2 * densest


def test_capacity_reading_against_a_brute_force_batch_count():
    """Find the bytes per token at which a replica's free HBM holds exactly B* sequences of
    200k tokens by bisection on the sequence count, and compare with (C/M_w - 1) x the onset."""
    ds = catalog.models()["deepseek_v3"]
    step = catalog.prices()[p.GEMINI].long_context_threshold
    weights = ds.total_params * 1                          # FP8 weights
    h = registry.get("capacity_step_over_bandwidth_step_deepseek_v3_fp8")
    for a in catalog.accelerators().values():
        hbm = a.scale_up_domain * p.hbm_capacity_decimal(a)
        if hbm <= weights:
            assert h.value(a) == 0, a.key                  # the weights do not fit
            continue
        b_star = a.bf16_dense_flops / a.hbm_bandwidth * ds.total_params / ds.active_params / 2
        lo, hi = 1e-3, 1e9                                 # bytes per token
        for _ in range(200):
            mid = (lo * hi) ** 0.5
            lo, hi = (mid, hi) if (hbm - weights) / (step * mid) > b_star else (lo, mid)
        onset = 2 * ds.active_params * a.hbm_bandwidth / (a.bf16_dense_flops * step)
        assert h.value(a) == pytest.approx(lo / onset, rel=1e-9), a.key
    rp6 = claims.get("RP-6")
    assert registry.get("capacity_step_over_bandwidth_step_rp6").value(
        catalog.accelerators()["h100"]) == rp6.value("rack_hbm") / rp6.value("model_bytes") - 1


def test_crossover_with_mla_attention_against_bisection_on_every_part():
    """Bisect L b_kv / W = (2 N_act + L a_kv) / F for DeepSeek-V3's BF16 and deployed FP8 caches;
    where the cache is read at a_kv / b_kv >= F / W the arithmetic wins at every context."""
    ds = catalog.models()["deepseek_v3"]
    a_kv = 61 * 128 * 2 * (2 * 512 + 64)
    for name, b in (("kv_crossover_context_deepseek_v3_with_attention", 61 * 576 * 2),
                    ("kv_crossover_context_deepseek_v3_fp8_with_attention", 61 * 656)):
        h = registry.get(name)
        for a in catalog.accelerators().values():
            F, W = a.bf16_dense_flops, a.hbm_bandwidth

            def gap(L, b=b, F=F, W=W):
                return L * b / W - (2 * ds.active_params + L * a_kv) / F
            if a_kv / b >= F / W:
                assert math.isinf(h.value(a)) and gap(1e12) < 0, (name, a.key)
                continue
            lo, hi = 0.0, 1e12
            for _ in range(200):
                mid = (lo + hi) / 2
                lo, hi = (mid, hi) if gap(mid) < 0 else (lo, mid)
            assert h.value(a) == pytest.approx(lo, rel=1e-9), (name, a.key)
    h100 = catalog.accelerators()["h100"]
    assert registry.get("deepseek_v3_fp8_cache_attention_flops_per_byte").value(h100) == \
        pytest.approx(a_kv / (61 * 656), rel=1e-12)
    assert registry.get("flashmla_h800_achievable_flops_per_byte").value(h100) == \
        pytest.approx(660e12 / (3.35e12 * 0.896), rel=1e-12)


def test_deepseek_measured_costs_by_hand_from_the_day6_statistics():
    """73.7k input and 14.8k output tokens/s per 8-GPU H800 node, 342B of 608B input tokens hit
    the cache (DeepSeek's overview), 2 x 37B FLOPs per token against the 1,979 TFLOP/s FP8 peak;
    and one decode token at the 4,989-token mean context, BF16 MLA cache, on every part."""
    h100 = catalog.accelerators()["h100"]

    def value(name, a=h100):
        return registry.get(name).value(a)
    assert value("deepseek_measured_output_input_cost_ratio") == pytest.approx(73_700 / 14_800)
    assert value("deepseek_measured_cost_ratio_per_miss_token") == \
        pytest.approx(73_700 * (1 - 342 / 608) / 14_800)
    for name, tokens_per_s in (("deepseek_h800_decode_flops_utilisation", 14_800),
                               ("deepseek_h800_prefill_flops_utilisation", 73_700)):
        assert value(name) == pytest.approx(tokens_per_s / 8 * 2 * 37e9 / 1979e12, rel=1e-3)
    # the ratio of utilisations is the cost ratio
    assert value("deepseek_h800_prefill_flops_utilisation") / value(
        "deepseek_h800_decode_flops_utilisation") == pytest.approx(
        value("deepseek_measured_output_input_cost_ratio"), rel=1e-12)
    a_kv, b_kv, ctx = 61 * 128 * 2 * (2 * 512 + 64), 61 * 576 * 2, 4989
    for a in catalog.accelerators().values():
        fp8 = a.fp8_dense_flops if a.has("fp8_dense_flops") else a.bf16_dense_flops
        arithmetic = 2 * 37e9 / fp8 + ctx * a_kv / a.bf16_dense_flops
        assert value("deepseek_service_kv_read_over_arithmetic", a) == pytest.approx(
            ctx * b_kv / a.hbm_bandwidth / arithmetic, rel=1e-12), a.key


def test_networked_flash_drains_through_its_nics(results):
    """A 3FS node (16 x 14 TiB, 2 x 200 Gb/s; 6.6 TiB/s over 180 nodes measured) by hand; the
    NICs bind for any drive faster than W_nic / 16, which both catalogued drives are."""
    tiers = catalog.load("memory_tiers")
    cap, nic = 16 * 14 * 2**40, 2 * 200e9 / 8
    assert results["drain_seconds_flash_cluster_nic"]["value"] == pytest.approx(cap / nic)
    assert results["drain_seconds_flash_cluster_measured"]["value"] == \
        pytest.approx(cap / (6.6 * 2**40 / 180))
    assert results["flash_cluster_drives_over_nics"]["value"] == pytest.approx(16 * 7e9 / nic)
    for drive in ("flash_pm1733", "flash_pm1743"):
        w = tiers[drive].read_bandwidth
        assert f.evaluate(p.networked_drain_time, {p.n_ssd: 16, p.C_ssd: 14 * 2**40,
                                                   p.W_nic: nic, p.W_ssd: w}) == cap / nic
    # drives slower than a sixteenth of the NICs set the drain themselves
    slow = f.evaluate(p.networked_drain_time, {p.n_ssd: 16, p.C_ssd: 14 * 2**40, p.W_nic: nic,
                                               p.W_ssd: nic / 32})
    assert slow == pytest.approx(14 * 2**40 / (nic / 32))


def test_rp17_and_rp18_labels_follow_from_the_measured_ratio_and_the_worst_part():
    ledger, rp17, rp18 = read_claims(), claims.get("RP-17"), claims.get("RP-18")
    measured = 73_700 / 14_800                          # DeepSeek's node-time ratio
    assert ratio_verdict(rp17.value("output_input_ratio"), measured) == "holds"
    assert ledger["RP-17"]["verdict"] == "holds with caveat"      # the inference is the caveat
    tiers = catalog.load("memory_tiers")
    flash = tiers["flash_pm1743"].capacity / tiers["flash_pm1743"].read_bandwidth
    disk = tiers["disk_exos_x24"].capacity / tiers["disk_exos_x24"].read_bandwidth
    parts = [(rp18.value("ttl_short"), flash), (rp18.value("ttl_long"), disk)]
    worst = max(parts, key=lambda cd: abs(math.log(cd[1] / cd[0])))
    assert ledger["RP-18"]["verdict"] == ratio_verdict(*worst)
    assert "first part holds" in ledger["RP-18"]["caveat"]
    node = 16 * 14 * 2**40 / (2 * 200e9 / 8)            # the 1-h tier as a 3FS node
    assert f"({ratio_verdict(rp18.value('ttl_long'), node)})" in ledger["RP-18"]["caveat"]


def test_deepseek_utilisations_count_misses_and_attention_by_hand():
    svc = catalog.load("usage")["deepseek_v3_r1_service_2025_02"]
    ctx = catalog.load("moe_rack")["deepseek_online_service"].mean_context
    h100, ds = catalog.accelerators()["h100"], catalog.models()["deepseek_v3"]
    w = 2 * ds.active_params / h100.fp8_dense_flops
    dec = svc.decode_tokens_per_node * (w + 16_990_208 * ctx / h100.bf16_dense_flops)
    miss = 1 - svc.cache_hit_tokens / svc.input_tokens
    pre = svc.prefill_tokens_per_node * miss * (w + 4_997_120 * ctx / 2 / h100.bf16_dense_flops)
    for name, want in (("deepseek_h800_decode_arithmetic_time_utilisation", dec),
                       ("deepseek_h800_prefill_arithmetic_time_utilisation", pre)):
        got = registry.get(name).value(h100)
        assert got == pytest.approx(want / svc.gpus_per_node, rel=1e-3), name


def test_part_names_are_short_and_keep_the_model():
    names = {k: p.part_name(e) for k, e in catalog.accelerators().items()}
    assert names["h100"] == "H100" and names["gb200"] == "GB200"
    assert names["tpu_v5e"] == "TPU v5e" and names["mi300x"] == "MI300X"
    assert len(set(names.values())) == len(names)          # still tells every part apart
    assert all("(" not in n and len(n) <= 12 for n in names.values())
