"""Chapter 2 (the 20 ms train): the headlines in helpers.serving agree with brute-force arithmetic
on every catalogued accelerator and with hand checks of the catalogs, the formulas have the
properties the chapter relies on, the simulation agrees with the analytic latency, and a re-run
with other hardware changes exactly the hardware-dependent results.

Generic checks live elsewhere: tests/test_sweep.py compares every registry headline with the
committed result of the same name (and its twins), tests/test_chapter_pages.py what the page
shows of its code."""
from __future__ import annotations

import math

import numpy as np
import pytest
import sympy as sp

from helpers import catalog, claims, formulas as f, registry, serving as sv, units as U
from helpers.results import read_claims, read_results

CHAPTER = "02_twenty_ms_train"
REQUIRED = ["h100_drain_ms", "b200_drain_ms", "rubin_drain_ms", "worst_case_latency_intervals",
            "mean_latency_intervals", "replica_tokens_per_s_h100", "fast_mode_batch_ratio",
            "fast_mode_kv_share",
            # the names: the loaded queue, the Gemini API denominator
            "sim_mean_latency_intervals_load_99", "sim_p99_latency_intervals_load_99",
            "sim_share_waiting_load_99", "sim_mean_latency_intervals_load_97",
            "sim_p99_latency_intervals_load_97", "sim_share_waiting_load_97",
            "gemini_api_tokens_per_s", "replica_share_of_gemini_api",
            "h100_achievable_drain_ms", "h100_usable_drain_ms",
            "h100_deepseek_v3_token_floor_ms_replica", "deepseek_v3_token_floor_ms_nvl72"]
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


def test_every_chapter_2_headline_but_the_achievable_ones_is_a_closed_form():
    """No headline here needs a Python re-run but the two that read a part's own entry of the
    achievable catalog: the other reading of a capacity is an input (hw_other), and the
    fast-mode and Gemini-API numbers read no accelerator at all."""
    fns = {h.name for h in sv.HEADLINES if not h.closed_form}
    assert fns == {"usable_drain_ms", "achievable_drain_ms"}
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


def test_usage_catalog_is_dated_and_sourced():
    usage = catalog.load("usage")
    google = [e for k, e in usage.items() if k.startswith("google_") and e.has("monthly_tokens")]
    assert len(google) >= 4
    for e in google:
        assert e.text["date"] and e.fields["monthly_tokens"].source.url.startswith("https://")
    api = [e for e in usage.values() if e.has("tokens_per_minute")]
    assert len(api) >= 3
    for e in api:
        assert e.text["date"] and e.fields["tokens_per_minute"].source.url.startswith("https://")
    sla = usage["openai_fast_mode"]
    assert sla.sla_share_of_requests == pytest.approx(0.99) and sla.min_output_speed == 50


# --- the loaded train under continuous batching (issue 14, finding 3) -------------------------

def brute_force_latencies(times, seats, tokens_out):
    """An independent event-by-event model: explicit seats, each holding the departure index at
    which its rider finishes; at each departure finished riders leave, then the queue boards
    first come, first served."""
    times = list(times)
    free_at, queue, out, i, d = [], [], {}, 0, 1        # departure d is at time d
    while i < len(times) or queue:
        while i < len(times) and times[i] < d:
            queue.append(i)
            i += 1
        free_at = [f for f in free_at if f > d]       # a rider boarding at d leaves at d + n
        while queue and len(free_at) < seats:
            r = queue.pop(0)
            free_at.append(d + tokens_out)
            out[r] = (d - math.floor(times[r]) - 1, d - times[r] + 1)
        d += 1
    return [out[k] for k in range(len(times))]


@pytest.mark.parametrize("seats,tokens_out,load", [(3, 4, 0.9), (5, 1, 0.95), (2, 7, 1.05)])
def test_continuous_batching_equals_an_event_by_event_brute_force(seats, tokens_out, load):
    rng = np.random.default_rng(seats * 100 + tokens_out)
    end = 400
    times = np.cumsum(rng.exponential(tokens_out / (load * seats), 2000))
    times = times[times < end]
    missed, latency = sv.continuous_batching(times, seats, tokens_out, end)
    brute = brute_force_latencies(times, seats, tokens_out)
    assert [int(x) for x in missed] == [b[0] for b in brute]
    assert np.allclose(latency, [b[1] for b in brute], rtol=0, atol=1e-12)
    assert missed.min() == 0 and (missed > 0).any()          # some wait, none boards early


def test_continuous_batching_reduces_to_the_schedule_at_low_load():
    lat, missed = sv.simulate_continuous_batching(np.random.default_rng(7), 0.5, 2000, 50,
                                                  20_000, 1_000)
    assert (missed == 0).all()                                  # every train has room
    se = (1 / math.sqrt(12)) / math.sqrt(lat.size)
    assert abs(lat.mean() - 1.5) < 5 * se and lat.max() <= 2 and lat.min() >= 1


def exact_spitzer(load, seats, tol=1e-13):
    """P(train full) and E[queue] of the exact embedded chain, steps Poisson(load seats) - seats,
    by Spitzer's identities with Poisson tails (mpmath's regularised incomplete gamma)."""
    import mpmath
    p0 = em = 0.0
    n = 0
    while True:
        n += 1
        mu, k0 = n * load * seats, n * seats
        ge = float(mpmath.gammainc(k0, 0, mu, regularized=True))        # P(X >= k0)
        gt = float(mpmath.gammainc(k0 + 1, 0, mu, regularized=True))    # P(X > k0)
        p0 += gt / n
        em += (mu * ge - k0 * gt) / n                                    # E[(X - k0)^+] / n
        if ge < tol:
            return 1 - math.exp(-p0), em


@pytest.mark.parametrize("load", [0.97, 0.99])
def test_many_seat_limit_agrees_with_the_exact_chain_and_a_lindley_walk(load):
    """The normal (Halfin-Whitt regime) Spitzer sums against the exact Poisson chain, and both
    against a direct simulation of the recursion N' = max(N - B, 0) + Poisson(rho B)."""
    seats = 2000
    b = sv.beta_of_load.subs({sv.rho: load, sv.B: seats})
    full, queue_sd = sv.queue_sums(float(b))
    full_x, queue_x = exact_spitzer(load, seats)
    # the normal steps leave out the Poisson's skew: a few per cent at these loads
    assert full == pytest.approx(full_x, rel=0.02)
    assert queue_sd * math.sqrt(load * seats) == pytest.approx(queue_x, rel=0.03)
    rng = np.random.default_rng(11)
    v, over, q_sum, steps = 0, 0, 0, 400_000
    for a in rng.poisson(load * seats, steps).tolist():
        v = max(v, 0) + a - seats
        over += v > 0
        q_sum += max(v, 0)
    assert over / steps == pytest.approx(full_x, rel=0.08)
    assert q_sum / steps == pytest.approx(queue_x, rel=0.15)


def erlang_c(servers, offered):
    """Erlang C (M/M/c delay probability) by the stable Erlang-B recursion."""
    b = 1.0
    for k in range(1, servers + 1):
        b = offered * b / (k + offered * b)
    rho = offered / servers
    return b / (1 - rho + rho * b)


@pytest.mark.parametrize("load", [0.95, 0.97, 0.99])
def test_halfin_whitt_is_the_many_server_limit_of_erlang_c(load):
    seats = 2000
    b = float(sv.beta_of_load.subs({sv.rho: load, sv.B: seats}))
    hw = float(sv.halfin_whitt_delay.subs(sv.beta, b))
    # a limit: a few per cent at 2,000 servers, more where the delay probability is small
    assert hw == pytest.approx(erlang_c(seats, load * seats), rel=0.1)
    # deterministic service queues less than exponential service at the same load
    assert sv.queue_sums(b)[0] < hw


def test_load_for_one_percent_full_trains():
    seats = 2000
    q = sv.load_for_share_full(0.01, seats)
    b = float(sv.beta_of_load.subs({sv.rho: q, sv.B: seats}))
    assert sv.queue_sums(b)[0] == pytest.approx(0.01, rel=1e-6)
    assert 0.9 < q < 1 - 1 / math.sqrt(seats)
    # the share of full trains depends on the seats and the load only, not on n_out
    shares = {n: sv.loaded_train(q, seats, n)["share_full"] for n in (1, 182, 690)}
    assert len(set(shares.values())) == 1


def test_loaded_queue_formulas():
    # Little's law: load 1 means every seat busy on average
    assert sp.simplify(sv.load_of_rate.subs(sv.lam, sv.arrival_rate_to_fill) - 1) == 0
    # the mean latency is the unloaded 3/2 plus n_out x (queue in sd) / sqrt(rho B)
    extra = sv.mean_latency_loaded - sp.Rational(3, 2)
    assert sp.simplify(extra * sp.sqrt(sv.rho * sv.B) / sv.n_out - sv.queue_in_sd) == 0
    # each Spitzer summand is the normal tail and the normal partial mean of S_j ~ N(-j b, j)
    b, k = 0.7, 5
    tail = 0.5 * math.erfc(b * math.sqrt(k) / math.sqrt(2))
    assert float(sv._tail.subs({sv.beta: b, sv.j: k})) == pytest.approx(tail, rel=1e-12)
    pdf = math.exp(-b * b * k / 2) / math.sqrt(2 * math.pi)
    partial = math.sqrt(k) * pdf - k * b * tail                # E[S_j^+]
    assert sv._excess_fn(b, k) == pytest.approx(partial / k, rel=1e-12)


def test_published_queue_results_are_the_simulation_and_the_limit(results):
    """The published p99s are the pooled quantiles of the notebook's replications (8 x 2M
    requests, seeds [SEED, rep]), and the published means agree with the M/D/c limit."""
    n_typ = int(catalog.load("usage")["output_length"].mean_output_tokens)
    for load in (0.97, 0.99):
        tag = f"load_{round(100 * load)}"
        lat = [sv.simulate_loaded(np.random.default_rng([SEED, rep]), load, 2000, n_typ,
                                  2_000_000)[0] for rep in range(8)]
        q = sv.replicated_quantile(lat, 0.99)
        assert results[f"sim_p99_latency_intervals_{tag}"]["value"] == pytest.approx(
            q["pooled"], rel=1e-12)
        assert results[f"sim_p99_latency_ci_{tag}"]["value"] == pytest.approx(
            q["half_width"], rel=1e-12)
        mean = float(np.mean([a.mean() for a in lat]))
        assert results[f"sim_mean_latency_intervals_{tag}"]["value"] == pytest.approx(mean,
                                                                                      rel=1e-12)
        limit = sv.loaded_train(load, 2000, n_typ)
        assert results[f"mdc_mean_latency_intervals_{tag}"]["value"] == pytest.approx(
            limit["mean_latency"], rel=1e-12)
        assert mean == pytest.approx(limit["mean_latency"], rel=0.05)
        assert mean > 1.5 and sv.loaded_train(load, 2000, 1)["mean_latency"] < 1.6
    r = results
    assert r["sim_p99_latency_intervals_load_99"]["value"] > r["sim_p99_latency_intervals_load_97"][
        "value"] > r["sim_p99_latency_intervals_load_95"]["value"] > 2


@pytest.mark.parametrize("seats,tokens_out,load", [(3, 4, 0.9), (5, 1, 0.95), (2, 7, 1.05),
                                                   (50, 30, 0.99)])
def test_block_recursion_and_heap_equal_the_departure_by_departure_model(seats, tokens_out, load):
    """board_n = max(floor t_n, board_{n-B} + n_out) is the FIFO boarding of
    continuous_batching; the heap model with equal lengths is the same."""
    rng = np.random.default_rng(seats + tokens_out)
    times = np.cumsum(rng.exponential(tokens_out / (load * seats), 3000))
    end = int(times[-1]) + 1
    missed, latency = sv.continuous_batching(times, seats, tokens_out, end)
    board = sv.board_fixed(times, seats, tokens_out)
    assert np.array_equal(board - np.floor(times).astype(np.int64), missed)
    assert np.allclose(board + 2 - times, latency, rtol=0, atol=1e-12)
    heap = sv.board_variable(times, seats, np.full(times.size, tokens_out))
    assert np.array_equal(heap, board)


def test_variable_lengths_by_brute_force():
    """The heap model against an explicit-seat event model with each rider's own length."""
    rng = np.random.default_rng(5)
    times = np.cumsum(rng.exponential(0.5, 400))
    lengths = rng.integers(1, 9, times.size)
    board = sv.board_variable(times, 3, lengths)
    free, queue, out, i, d = [], [], {}, 0, 0          # 0-based departure index d
    while i < times.size or queue:
        while i < times.size and times[i] < d + 1:
            queue.append(i)
            i += 1
        free = [x for x in free if x > d]
        while queue and len(free) < 3:
            k = queue.pop(0)
            free.append(d + int(lengths[k]))
            out[k] = d
        d += 1
    assert board.tolist() == [out[k] for k in range(times.size)]


def test_lognormal_fit_and_t_quantile():
    mu = float(sv.lognormal_mu.subs(sv._median, 252))
    sigma = float(sv.lognormal_sigma.subs({sv._median: 252, sv._mean: 690}))
    assert math.exp(mu) == pytest.approx(252) and math.exp(mu + sigma**2 / 2) == pytest.approx(690)
    assert sv.student_t_quantile(0.975, 5) == pytest.approx(2.570582, rel=1e-6)
    assert sv.student_t_quantile(0.975, 7) == pytest.approx(2.364624, rel=1e-6)


def test_range_and_bound_verdicts():
    from helpers.verdicts import ORDER_OF_MAGNITUDE as OOM
    assert sv.range_verdict(1e-3, 1 / 1100, 1 / 900, OOM) == "holds"
    assert sv.range_verdict(1e-3, 1 / 836, 1 / 90, OOM) == "holds with caveat"
    assert sv.range_verdict(1e-3, 1 / 3000, 1 / 100, OOM) == "holds with caveat"     # inside
    assert sv.range_verdict(1e-3, 1 / 282, 1 / 30, OOM) == "off by 3.5× (claim too low)"
    assert sv.bound_verdict(10, 9) == "does not follow"
    assert sv.bound_verdict(10, 11) == "holds"
    assert sv.bound_verdict(10, 30) == "holds with caveat"


def test_deepseek_service_floor_by_hand(results):
    ds = catalog.models()["deepseek_v3"]
    expert = 3 * 7168 * 2048
    moe_layers = 61 - 3
    weights = ds.total_params - moe_layers * 256 * expert + moe_layers * 2 * expert   # FP8
    seqs = 14_800 / (8 * 21)
    kv = seqs * 4989 * f.kv_bytes_per_token(ds, bytes_per_element=2)
    assert results["h100_deepseek_service_weight_floor_ms"]["value"] == pytest.approx(
        1e3 * weights / 3.35e12, rel=1e-12)
    assert results["h100_deepseek_service_token_floor_ms"]["value"] == pytest.approx(
        1e3 * (weights + kv) / 3.35e12, rel=1e-12)
    assert results["deepseek_service_comm_ms_per_token"]["value"] == pytest.approx(
        58 * (192 + 369) / 1e3, rel=1e-12)
    assert results["h100_deepseek_v3_weight_floor_ms_replica"]["value"] == pytest.approx(
        1e3 * 2 * ds.total_params / (64 * 3.35e12), rel=1e-12)
    assert results["h100_trains_per_s"]["value"] == pytest.approx(3.35e12 / 80e9, rel=1e-12)
    # the floor is respected by the observed 1/22 s and does not bind
    assert results["h100_deepseek_service_token_floor_ms"]["value"] < 1e3 / 22
    assert read_claims()["RP-9"]["verdict"] == "holds with caveat"


def test_decoded_token_reading_by_hand(results):
    q_ds, q_mc = 168 / (608 + 168), 182 / (7590 + 182)
    rate = 1.3e15 / sv.SECONDS_PER_MONTH
    assert results["lecture_replica_share_of_gemini_decode_all_low"]["value"] == pytest.approx(
        128_000 / (q_ds * rate), rel=1e-12)
    assert results["lecture_replica_share_of_gemini_decode_all_high"]["value"] == pytest.approx(
        128_000 / (q_mc * rate), rel=1e-12)
    api = 10e9 / 60
    assert results["lecture_replica_share_of_gemini_decode_api_low"]["value"] == pytest.approx(
        128_000 / (q_ds * api), rel=1e-12)
    c = read_claims()
    assert c["RP-10"]["verdict"] == "holds with caveat"
    assert c["RP-8"]["verdict"] == "holds with caveat"       # 40 ms vs 2 x 23.9 ms, in ms


# --- usable bytes, achievable rates, the floor of a real replica, the API share -------------

def test_achievable_drain_by_hand(results):
    e = catalog.load("achievable")["h100"]
    assert e.usable_hbm_capacity == 81559 * 2**20
    assert e.hbm_bandwidth_fraction == pytest.approx(3000 / 3350, abs=5e-4)   # FlashMLA / peak
    assert e.bf16_gemm_fraction == pytest.approx(794.5 / 989, abs=5e-4)       # MAMF / peak
    usable = 1e3 * 81559 * 2**20 / 3.35e12
    assert results["h100_usable_drain_ms"]["value"] == pytest.approx(usable, rel=1e-12)
    assert results["h100_achievable_drain_ms"]["value"] == pytest.approx(usable / 0.896, rel=1e-12)
    # a part with no entry has no value (the sweep shows None), not an error in the chapter
    with pytest.raises(AttributeError):
        value("achievable_drain_ms", "b200")


@pytest.mark.parametrize("acc", ACCS, ids=lambda a: a.key)
def test_replica_floor_and_fit_by_brute_force(acc):
    from helpers import roofline
    ds = catalog.models()["deepseek_v3"]
    kv = f.kv_bytes_per_token(ds, bytes_per_element=2)
    chips = sv.chapter1_replica_size(acc)
    # chapter 1's rule, as chapter 1 publishes it
    assert chips == registry.get("deepseek_v3_bf16_replica_chips").value(acc)
    assert roofline.REPLICA_HEADROOM == sv.REPLICA_HEADROOM
    weights, hbm = 2 * ds.total_params, chips * acc.hbm_capacity
    fit = 0
    while weights + (fit + 1) * 32768 * kv <= hbm:              # count them one by one
        fit += 1 if fit < 10 or weights + (fit + 1000) * 32768 * kv > hbm else 1000
    assert value("deepseek_v3_replica_sequences_32k", acc.key) == fit
    read = min(weights + 2000 * 32768 * kv, hbm)
    assert value("deepseek_v3_token_floor_ms_replica", acc.key) == pytest.approx(
        1e3 * read / (chips * acc.hbm_bandwidth), rel=1e-12)
    domain = acc.scale_up_domain
    read = min(ds.total_params + 2000 * 32768 * kv, domain * acc.hbm_capacity)
    assert value("deepseek_v3_token_floor_ms_domain", acc.key) == pytest.approx(
        1e3 * read / (domain * acc.hbm_bandwidth), rel=1e-12)


def test_replica_floors_published(results):
    # 64 H100s: 2,000 sequences at 32K overflow HBM, so the floor is the full drain time
    assert results["h100_deepseek_v3_replica_sequences_32k"]["value"] < 2000
    assert results["h100_deepseek_v3_token_floor_ms_replica"]["value"] == pytest.approx(
        results["h100_drain_ms"]["value"], rel=1e-12)
    # an NVL72 holds them with room to spare: the floor is below its drain time
    nvl72 = results["deepseek_v3_token_floor_ms_nvl72"]
    assert nvl72["accelerator"] == "gb200"
    assert nvl72["value"] < 0.5 * value("drain_ms", "gb200")


def test_gemini_api_share_by_hand(results):
    usage = catalog.load("usage")
    lecture = claims.get("RP-10").source.date
    api = {k: e for k, e in usage.items() if e.has("tokens_per_minute")}
    before = [k for k in api if api[k].text["date"] < lecture]
    latest = max(before, key=lambda k: api[k].text["date"])
    assert latest == sv.GEMINI_API_LATEST and api[latest].tokens_per_minute == 10e9
    rate = 10e9 / 60
    assert results["gemini_api_tokens_per_s"]["value"] == pytest.approx(rate, rel=1e-12)
    assert results["lecture_replica_share_of_gemini_api"]["value"] == pytest.approx(
        128_000 / rate, rel=1e-12)
    assert results["lecture_rubin_replica_tokens_per_s"]["value"] == pytest.approx(
        2000 / (288e9 / 20e12), rel=1e-12)
    assert results["h100_replica_share_of_gemini_api"]["value"] == pytest.approx(
        2000 / (80e9 / 3.35e12) / rate, rel=1e-12)
    # read on the order-of-magnitude band, the API reading holds and all products do not
    from helpers.verdicts import ORDER_OF_MAGNITUDE, ratio_verdict
    share = results["lecture_replica_share_of_gemini_api"]["value"]
    assert ratio_verdict(1e-3, share, band=ORDER_OF_MAGNITUDE) == "holds"     # raw counts only


def test_chapter_2_borrows_shared_symbols_and_renames_its_own():
    """Issue 14, finding 13: B and W are helpers.formulas' (the batch, the bandwidth), C_HBM is
    chapter 1's and M_w chapter 4's; chapter 2 uses the same symbols and does not define them
    again. Its speed ratio is r_v (chapter 3's r and chapter 4's r mean other things)."""
    from helpers import pricing, roofline
    owners = (f.B, f.W, roofline.C, pricing.M_w)
    assert owners == (sv.B, sv.W, sv.C, sv.M)
    assert roofline.C in roofline.SYMBOL_MEANING and pricing.M_w in pricing.SYMBOL_MEANING
    for shared in (sv.B, sv.W, sv.C, sv.M):
        assert shared not in sv.SYMBOL_MEANING, shared
    assert str(sv.r) == r"r_\mathrm{v}" and str(sv.B_n) == r"B_\mathrm{n}"


def test_nvl72_floor_is_chapter_6s(results):
    """The prose says the NVL72 floor is chapter 6's: the same weights, batch, context and rack."""
    ch6 = results.get("deepseek_v3_decode_floor_ms_nvl72_with_kv")
    if ch6 is None:
        pytest.skip("chapter 6 publishes no NVL72 floor with KV")
    assert results["deepseek_v3_token_floor_ms_nvl72"]["value"] == pytest.approx(ch6["value"],
                                                                               rel=1e-9)


def test_the_chapter_draws_its_timetable_and_a_band():
    """The explanatory diagram (trains departing every T, a request's wait and ride) and the
    band figure (mean latency over the catalog's range of output lengths) are in the page."""
    import json

    from helpers.paths import ROOT

    nb = json.loads((ROOT / "chapters" / f"{CHAPTER}.ipynb").read_text(encoding="utf-8"))
    figures = {c["metadata"]["mystnb"]["figure"]["name"]: c for c in nb["cells"]
               if "figure" in c["metadata"].get("mystnb", {})}
    for name in ("fig-train-schedule", "fig-loaded-queue"):
        cell = figures[name]
        assert any("image/png" in o.get("data", {}) for o in cell["outputs"]), name
        assert "figures.check(fig)" in "".join(cell["source"]), name
    assert "fill_between" in "".join(figures["fig-loaded-queue"]["source"])
