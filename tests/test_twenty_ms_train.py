"""Chapter 2 (the 20 ms train): published results match the catalogs and helpers.serving, the
formulas have the properties the chapter relies on, the simulation agrees with the analytic
latency, and a re-run with other hardware changes exactly the hardware-dependent results."""
from __future__ import annotations

import math
import subprocess
import sys

import numpy as np
import pytest
import sympy as sp

from helpers import catalog, claims, formulas as f, serving as sv
from helpers.results import read_claims, read_results
from helpers.verdicts import VERDICT
from conftest import ROOT

CHAPTER = "02_twenty_ms_train"
REQUIRED = ["h100_drain_ms", "b200_drain_ms", "rubin_drain_ms", "worst_case_latency_intervals",
            "mean_latency_intervals", "replica_tokens_per_s_h100", "fast_mode_batch_ratio",
            "fast_mode_kv_share"]
SEED, RATE, N = 20260429, 50.0, 200_000      # the notebook's simulation settings


@pytest.fixture(scope="module")
def results():
    return read_results()


def _drain(key):
    a = catalog.lookup("accelerators", key)
    return float(sv.drain_time.subs({sv.C: a.hbm_capacity, sv.W: a.hbm_bandwidth}))


def test_required_results_exist_in_chapter_2(results):
    for name in REQUIRED:
        assert name in results, name
        assert results[name]["chapter"] == CHAPTER
        assert isinstance(results[name]["value"], float) and results[name]["value"] > 0


def test_results_match_catalogs_and_formulas(results):
    batch = claims.get("RP-10").value("batch")
    p = catalog.prices()["claude_opus_4_6_fast"].output / catalog.prices()["claude_opus_4_6"].output
    r = catalog.load("usage")["anthropic_fast_mode_opus_4_6"].speedup
    expected = {
        "h100_drain_ms": 1e3 * 80e9 / 3.35e12,                 # hand check of the catalog entry
        "b200_drain_ms": 1e3 * _drain("b200"),
        "rubin_drain_ms": 1e3 * _drain("rubin"),
        "drain_ms": 1e3 * _drain("h100"),                      # the committed run is for the H100
        "h100_drain_ms_other_reading": 1e3 * 80 * 2**30 / 3.35e12,
        "worst_case_latency_intervals": 2.0,
        "mean_latency_intervals": 1.5,
        "worst_case_latency_ms": 2e3 * _drain("h100"),
        "replica_tokens_per_s_h100": batch / _drain("h100"),
        "replica_tokens_per_s": batch / _drain("h100"),
        "lecture_step_interval_ms": 1e3 / 64,
        "rubin_lecture_example_drain_ms": 1e3 * 288e9 / 20e12,
        "fast_mode_batch_ratio": float(sv.fast_batch_ratio.subs({sv.p: p, sv.r: r})),
        "fast_mode_kv_share": float(sv.fast_kv_share.subs({sv.p: p, sv.r: r})),
        "google_2025_10_tokens_per_s": 1.3e15 / sv.SECONDS_PER_MONTH,
        # decoded share of Google's October 2025 count for 128,000 tokens/s to be 1/1000 of it
        "gemini_decoded_share_for_claim": 128_000 / (1.3e15 / sv.SECONDS_PER_MONTH) / 1e-3,
    }
    for name, value in expected.items():
        assert results[name]["value"] == pytest.approx(value, rel=1e-12), name
    assert results["fast_mode_batch_ratio"]["value"] == pytest.approx(15, rel=1e-12)
    assert results["fast_mode_kv_share"]["value"] == pytest.approx(9 / 14, rel=1e-12)
    assert results["replica_tokens_per_s_h100"]["accelerator"] == "h100"


def test_schedule_formulas():
    T, u = sv.T, sv.u
    assert sv.latency_intervals(sv.worst_case_latency) == 2
    assert sv.latency_intervals(sv.mean_latency) == sp.Rational(3, 2)
    # the mean is the midpoint of the worst and best case when the phase is uniform
    best = sv.latency_at_phase.subs(u, T)
    assert sp.simplify(sv.mean_latency - (best + sv.worst_case_latency) / 2) == 0
    # Little's law: requests per second x tokens per request = tokens per second
    assert sp.simplify(sv.arrival_rate_to_fill * sv.n_out - sv.replica_tokens_per_s) == 0
    # the floor with a full HBM is the drain time
    assert sp.simplify(sv.token_latency_floor.subs(sv.phi, 1) - sv.drain_time) == 0


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


def test_sweep_covers_every_accelerator():
    h100 = catalog.lookup("accelerators", "h100")
    for name, (unit, description, fn) in sv.SWEEP.items():
        assert unit and description
        for a in catalog.accelerators().values():
            v = fn(a)
            assert math.isfinite(v) and v > 0, (name, a.key)
    assert sv.SWEEP["drain_ms"][2](h100) == pytest.approx(1e3 * _drain("h100"), rel=1e-12)


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


def test_claims_7_to_11_have_verdicts_in_the_book_s_form():
    c = read_claims()
    for cid in ("RP-7", "RP-8", "RP-9", "RP-10", "RP-11"):
        assert c[cid]["chapter"] == CHAPTER, cid
        assert VERDICT.match(c[cid]["verdict"]), (cid, c[cid]["verdict"])
        if c[cid]["verdict"] == "holds with caveat":
            assert c[cid]["caveat"], cid
        assert c[cid]["claimed"] and c[cid]["derived"]


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
    scale = _drain("b200") / _drain("h100")
    for name in ("drain_ms", "worst_case_latency_ms", "mean_latency_ms"):
        assert b200_run[name]["value"] == pytest.approx(results[name]["value"] * scale, rel=1e-12)
        assert b200_run[name]["accelerator"] == "b200"
    for name in ("replica_tokens_per_s", "max_tokens_per_s_per_sequence"):
        assert b200_run[name]["value"] == pytest.approx(results[name]["value"] / scale, rel=1e-12)
    # results that name an accelerator, and hardware-free ones, do not move
    for name in ("h100_drain_ms", "b200_drain_ms", "rubin_drain_ms", "replica_tokens_per_s_h100",
                 "worst_case_latency_intervals", "mean_latency_intervals",
                 "fast_mode_batch_ratio", "fast_mode_kv_share", "sim_mean_latency_intervals"):
        assert b200_run[name]["value"] == results[name]["value"], name
