"""Chapter 2 (the 20 ms train): the headlines in helpers.serving agree with brute-force arithmetic
on every catalogued accelerator and with hand checks of the catalogs, the formulas have the
properties the chapter relies on, the simulation agrees with the analytic latency, and a re-run
with other hardware changes exactly the hardware-dependent results.

Generic checks live elsewhere: tests/test_sweep.py compares every registry headline with the
committed result of the same name (and its twins), tests/test_chapter_pages.py what the page
shows of its code."""
from __future__ import annotations

import math
import subprocess
import sys

import numpy as np
import pytest
import sympy as sp

from conftest import ROOT
from helpers import catalog, claims, formulas as f, registry, serving as sv, units as U
from helpers.results import read_claims, read_results

CHAPTER = "02_twenty_ms_train"
REQUIRED = ["h100_drain_ms", "b200_drain_ms", "rubin_drain_ms", "worst_case_latency_intervals",
            "mean_latency_intervals", "replica_tokens_per_s_h100", "fast_mode_batch_ratio",
            "fast_mode_kv_share"]
SEED, RATE, N = 20260429, 50.0, 200_000      # the notebook's simulation settings
ACCS = list(catalog.accelerators().values())


@pytest.fixture(scope="module")
def results():
    return read_results()


def value(name, key="h100"):
    return registry.get(name).value(catalog.lookup("accelerators", key))


def test_required_results_and_claims_are_chapter_2s(results):
    for name in REQUIRED:
        assert results[name]["chapter"] == CHAPTER, name
        assert isinstance(results[name]["value"], float) and results[name]["value"] > 0
    c = read_claims()
    for cid in ("RP-7", "RP-8", "RP-9", "RP-10", "RP-11"):
        assert c[cid]["chapter"] == CHAPTER, cid


@pytest.mark.parametrize("acc", ACCS, ids=lambda a: a.key)
def test_headlines_equal_brute_force_arithmetic(acc):
    """Each closed form against the arithmetic it stands for, on every catalogued part."""
    cap, bw = acc.fields["hbm_capacity"], acc.hbm_bandwidth
    drain = cap.si / bw                                           # seconds
    # the other reading by hand: GB <-> GiB, or the catalogued capacity when there is none
    factor = {None: 1, ("GB", "GiB"): 2**30 / 1e9, ("GiB", "GB"): 1e9 / 2**30}
    other = drain * factor[(cap.unit, cap.also_read_as) if cap.also_read_as else None]
    batch = claims.get("RP-10").value("batch")
    rate = batch / (500 * drain)
    expected = {
        "drain_ms": 1e3 * drain,
        "drain_ms_other_reading": 1e3 * other,
        "max_tokens_per_s_per_sequence": 1 / drain,
        "sla_max_hbm_share": 1 / (50 * drain),              # OpenAI's 50 tokens/s promise
        "worst_case_latency_ms": 2e3 * drain,
        "mean_latency_ms": 1.5e3 * drain,
        "replica_tokens_per_s": batch / drain,
        "ex_ch2_little_rate": rate,
        "ex_ch2_little_in_system": rate * (drain / 2 + 500 * drain),
        "ex_ch2_little_waiting": rate * (drain / 2 + 500 * drain) - batch,
    }
    for name, v in expected.items():
        got = value(name, acc.key)
        assert math.isfinite(got) and got > 0, name
        assert got == pytest.approx(v, rel=1e-12), (name, acc.key)


def test_every_chapter_2_headline_is_a_closed_form():
    """No headline here needs a Python re-run: the other reading of a capacity is an input
    (hw_other), and the fast-mode numbers read no accelerator at all."""
    assert all(h.closed_form for h in sv.HEADLINES)
    assert registry.get("drain_ms_other_reading").hardware_fields == ("hbm_bandwidth",
                                                                     "hbm_capacity")


def test_fast_mode_headlines_read_the_sheets_alone(results):
    """The fast-mode results come from price sheets and claims only: recorded for no part, the
    registry's headline of the same name, and equal to the arithmetic by hand."""
    prices, usage = catalog.prices(), catalog.load("usage")
    rp11 = claims.get("RP-11")
    p, r = rp11.value("price_ratio"), rp11.value("speed_ratio")                # 6, 2.5
    p2 = prices["claude_opus_4_8_fast"].output / prices["claude_opus_4_6"].output   # 2
    r2 = usage["anthropic_fast_mode_opus_4_6"].speedup
    share = p * (r - 1) / (p * r - 1)
    deepseek = catalog.models()["deepseek_v3"]
    kv_bytes = deepseek.total_params * 1 * share / (1 - share)      # FP8 weights, x = KV share
    per_sequence = kv_bytes / claims.get("RP-10").value("batch")
    expected = {
        "fast_mode_batch_ratio": p * r,
        "fast_mode_kv_share": share,
        "fast_mode_min_kv_share": 1 - 1 / r,
        "fast_mode_2x_batch_ratio": p2 * r2,
        "fast_mode_2x_kv_share": p2 * (r2 - 1) / (p2 * r2 - 1),
        "fast_mode_deepseek_v3_context":
            per_sequence / f.kv_bytes_per_token(deepseek, bytes_per_element=2),
        "ex_ch2_price_at_90": 0.9 / (1 - r * (1 - 0.9)),
    }
    assert p2 == pytest.approx(2, rel=1e-12) and r2 == r
    for name, v in expected.items():
        assert not registry.get(name).hardware_fields, name
        assert results[name]["value"] == pytest.approx(v, rel=1e-12), name
        assert results[name]["accelerator"] is None, name
        assert results[name]["headline"] == name, name


def test_twins_with_their_own_names_are_headline_values(results):
    """The H100's replica rate and the B200 exercise answers are the registry's headlines for
    those parts, published by the headline under the names the prose uses."""
    for name, headline, part in (
            ("replica_tokens_per_s_h100", "replica_tokens_per_s", "h100"),
            ("ex_ch2_b200_replica_tokens_per_s", "replica_tokens_per_s", "b200"),
            ("ex_ch2_b200_worst_ms", "worst_case_latency_ms", "b200")):
        assert results[name]["headline"] == headline, name
        assert results[name]["accelerator"] == part, name
        assert results[name]["value"] == pytest.approx(value(headline, part), rel=1e-12), name


def test_results_match_catalogs_and_formulas(results):
    batch = claims.get("RP-10").value("batch")
    p = catalog.prices()["claude_opus_4_6_fast"].output / catalog.prices()["claude_opus_4_6"].output
    r = catalog.load("usage")["anthropic_fast_mode_opus_4_6"].speedup
    h100_cap = catalog.lookup("accelerators", "h100").fields["hbm_capacity"]
    expected = {
        "h100_drain_ms": 1e3 * 80e9 / 3.35e12,                 # hand check of the catalog entry
        "h100_drain_ms_other_reading": 1e3 * 80 * 2**30 / 3.35e12,
        "drain_ms_other_reading": 1e3 * U.other_reading(h100_cap) / 3.35e12,
        "worst_case_latency_intervals": 2.0,
        "mean_latency_intervals": 1.5,
        "replica_tokens_per_s_h100": batch / (80e9 / 3.35e12),
        "ex_ch2_b200_worst_ms": value("worst_case_latency_ms", "b200"),
        "ex_ch2_b200_replica_tokens_per_s": value("replica_tokens_per_s", "b200"),
        "lecture_step_interval_ms": 1e3 / 64,
        "rubin_lecture_example_drain_ms": 1e3 * 288e9 / 20e12,
        "fast_mode_batch_ratio": float(sv.fast_batch_ratio.subs({sv.p: p, sv.r: r})),
        "fast_mode_kv_share": float(sv.fast_kv_share.subs({sv.p: p, sv.r: r})),
        "google_2025_10_tokens_per_s": 1.3e15 / sv.SECONDS_PER_MONTH,
        # decoded share of Google's October 2025 count for 128,000 tokens/s to be 1/1000 of it
        "gemini_decoded_share_for_claim": 128_000 / (1.3e15 / sv.SECONDS_PER_MONTH) / 1e-3,
    }
    for name, v in expected.items():
        assert results[name]["value"] == pytest.approx(v, rel=1e-12), name
    assert results["fast_mode_batch_ratio"]["value"] == pytest.approx(15, rel=1e-12)
    assert results["fast_mode_kv_share"]["value"] == pytest.approx(9 / 14, rel=1e-12)
    assert results["replica_tokens_per_s_h100"]["accelerator"] == "h100"


def test_schedule_formulas():
    T, u = sv.T, sv.u
    assert sp.simplify(sv.worst_case_latency / T) == 2
    assert sp.simplify(sv.mean_latency / T) == sp.Rational(3, 2)
    # the mean is the midpoint of the worst and best case when the phase is uniform
    best = sv.latency_at_phase.subs(u, T)
    assert sp.simplify(sv.mean_latency - (best + sv.worst_case_latency) / 2) == 0
    # Little's law: requests per second x tokens per request = tokens per second
    assert sp.simplify(sv.arrival_rate_to_fill * sv.n_out - sv.replica_tokens_per_s) == 0
    # the floor with a full HBM is the drain time
    assert sp.simplify(sv.token_latency_floor.subs(sv.phi, 1) - sv.drain_time) == 0
    # the SLA share gives exactly the promised speed
    floor = sv.token_latency_floor.subs(sv.phi, sv.max_share_for_speed)
    assert sp.simplify(1 / floor - sv.v) == 0


def test_fast_mode_formulas():
    p, r, x = sv.p, sv.r, sv.x
    # re-derive from the step model and compare
    (sol,) = sp.solve([sp.Eq(sv.t_normal / sv.t_fast, r),
                       sp.Eq((sv.t_fast / sv.B_f) / (sv.t_normal / sv.B_n), p)],
                      [sv.B_f, sv.m], dict=True)
    assert sp.simplify(sv.B_n / sol[sv.B_f] - sv.fast_batch_ratio) == 0
    share = (sv.B_n * sv.m / (sv.M + sv.B_n * sv.m)).subs(sv.m, sol[sv.m])
    assert sp.simplify(share - sv.fast_kv_share) == 0
    # no premium (p -> 1) needs an all-KV step; an infinite premium needs the minimum share
    assert sp.limit(sv.fast_kv_share, p, 1) == 1
    assert sp.simplify(sp.limit(sv.fast_kv_share, p, sp.oo) - sv.fast_min_kv_share) == 0
    # price-from-share inverts share-from-price
    assert sp.simplify(sv.fast_price_from_share.subs(x, sv.fast_kv_share) - p) == 0
    for pv, rv in [(6, 2.5), (2, 2.5), (1.5, 1.2)]:
        share_v = float(sv.fast_kv_share.subs({p: pv, r: rv}))
        assert float(sv.fast_min_kv_share.subs(r, rv)) < share_v < 1


def test_simulation_agrees_with_analytic_latency(results):
    """The notebook's own draw reproduces, and other seeds agree within sampling error too."""
    sim = sv.simulate_train_latency(np.random.default_rng(SEED), 1.0, RATE, N)
    assert results["sim_mean_latency_intervals"]["value"] == pytest.approx(sim.mean(), rel=1e-12)
    se = (1 / math.sqrt(12)) / math.sqrt(N)
    assert results["sim_latency_tolerance_intervals"]["value"] == pytest.approx(4 * se, rel=1e-12)
    analytic = results["mean_latency_intervals"]["value"]
    for seed in (SEED, 1, 2, 3):
        s = sv.simulate_train_latency(np.random.default_rng(seed), 1.0, RATE, N)
        assert abs(s.mean() - analytic) < 5 * se, seed
        assert s.max() <= results["worst_case_latency_intervals"]["value"]
        assert s.min() >= 1.0


def test_loaded_simulation_reduces_to_the_schedule_at_low_load():
    rng = np.random.default_rng(7)
    assert sv.simulate_loaded_mean_latency(rng, 0.5, 2000, 2000) == pytest.approx(1.5, abs=0.01)
    # a heavily loaded small train must wait longer
    assert sv.simulate_loaded_mean_latency(rng, 0.99, 10, 20000) > 1.6


def test_usage_catalog_is_dated_and_sourced():
    usage = catalog.load("usage")
    google = [e for k, e in usage.items() if k.startswith("google_")]
    assert len(google) >= 4
    for e in google:
        assert e.text["date"] and e.fields["monthly_tokens"].source.url.startswith("https://")
    sla = usage["openai_fast_mode"]
    assert sla.sla_share_of_requests == pytest.approx(0.99) and sla.min_output_speed == 50


@pytest.fixture(scope="module")
def b200_run(tmp_path_factory):
    out = tmp_path_factory.mktemp("ch2_b200")
    proc = subprocess.run([sys.executable, "-m", "helpers", "execute", CHAPTER,
                           "--accelerator", "b200", "--out", str(out)],
                          cwd=ROOT, capture_output=True, text=True, timeout=600)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    return read_results(out)


def test_rerun_with_b200_scales_hardware_results_by_the_drain_time(results, b200_run):
    scale = value("drain_ms", "b200") / value("drain_ms", "h100")
    for name in ("drain_ms", "worst_case_latency_ms", "mean_latency_ms"):
        assert b200_run[name]["value"] == pytest.approx(results[name]["value"] * scale, rel=1e-12)
        assert b200_run[name]["accelerator"] == "b200"
    for name in ("replica_tokens_per_s", "max_tokens_per_s_per_sequence", "ex_ch2_little_rate"):
        assert b200_run[name]["value"] == pytest.approx(results[name]["value"] / scale, rel=1e-12)
    # results that name an accelerator, and hardware-free ones, do not move
    for name in ("h100_drain_ms", "b200_drain_ms", "rubin_drain_ms", "replica_tokens_per_s_h100",
                 "worst_case_latency_intervals", "mean_latency_intervals",
                 "fast_mode_batch_ratio", "fast_mode_kv_share", "fast_mode_deepseek_v3_context",
                 "ex_ch2_price_at_90", "sim_mean_latency_intervals", "ex_ch2_little_in_system",
                 "ex_ch2_b200_worst_ms", "catalog_drain_ms_median"):
        assert b200_run[name]["value"] == results[name]["value"], name
