"""Chapter 7's cost model: the annuity, the $/Mtok chain, the radiator, every part, a re-run."""
from __future__ import annotations

import math

import pytest

from helpers import catalog, costs

H = {h.name: h for h in costs.HEADLINES}


def test_capital_recovery_factor_is_the_annuity():
    # 100 repaid over 5 years at 10 %: 26.3797... a year (hand-computed annuity)
    crf = costs.f.evaluate(costs.crf, {costs.r: 0.10, costs.n: 5})
    assert 100 * crf == pytest.approx(26.37974808, rel=1e-9)
    pv = sum(100 * crf / 1.1**t for t in range(1, 6))      # the payments repay the principal
    assert pv == pytest.approx(100, rel=1e-12)


@pytest.mark.parametrize("key", ["h100", "b200"])
def test_mtok_chain_is_plain_arithmetic(key):
    acc, a, e = catalog.accelerators()[key], costs.assumptions(), catalog.load("costs")[key]
    r, n = a["rate"], a["life"]
    capital = (e.price * e.server_overhead / (1 - a["network_share"])
               * r / (1 - (1 + r) ** -n) / (365.25 * 24))
    power = (acc.tdp * a["tdp_fraction"] * a["server_power_ratio"] * a["pue"]
             * a["electricity"] * 3600)
    assert costs.hour_cost(acc) == pytest.approx(capital + power, rel=1e-12)
    seconds = costs.decode_seconds_per_token(acc)
    floor = (capital + power) / 3600 * seconds * 1e6 / a["utilisation"]
    assert costs.decode_floor_mtok(acc) == pytest.approx(floor, rel=1e-12)
    tps = costs.decode_tokens_per_gpu_s(acc)
    mtok = (capital + power) / 3600 / tps * 1e6 / a["utilisation"]
    assert costs.decode_mtok(acc) == pytest.approx(mtok, rel=1e-12)
    assert costs.decode_mtok(acc) > costs.decode_floor_mtok(acc)      # a floor is a floor


def test_decode_step_by_hand_on_the_h100():
    """Weights per GPU, batch and step written out: EP128 over the NIC, DeepEP's latencies."""
    acc, m = catalog.accelerators()["h100"], catalog.models()["deepseek_v3"]
    routed = 58 * 256 * 3 * 7168 * 2048                      # MoE layers x experts x expert
    w = 671e9 - routed * (1 - 1 / 128)
    assert costs.weight_bytes_per_gpu(acc) == pytest.approx(w, rel=1e-9)
    kv = 61 * (512 + 64) * 2                                  # BF16 MLA cache bytes / token
    T = math.floor((80e9 - w) / (4989 * kv))
    assert costs.decode_batch_per_gpu(acc) == T
    eta = costs._achieved()
    t_mem = (w + T * 4989 * kv) / (eta[costs.eta_W] * 3.35e12)
    t_flop = T * (2 * m.active_params / (eta[costs.eta_F] * 1978.9e12)
                  + 4989 * costs.deepseek_attention_flops() / (eta[costs.eta_A] * 989.4e12))
    t_a2a = T * 58 * (192e-6 + 369e-6) / 128
    assert costs.decode_tokens_per_gpu_s(acc) == pytest.approx(
        T / (max(t_mem, t_flop) + t_a2a), rel=1e-9)


def test_model_within_a_factor_two_of_measured_throughput():
    svc = catalog.load("training_runs")["deepseek_v3_serving"]
    mt = catalog.load("costs")["measured_throughput"]
    h100, gb200 = (catalog.accelerators()[k] for k in ("h100", "gb200"))
    dec = costs.decode_tokens_per_gpu_s
    for model, measured in ((dec(h100), svc.decode_tokens_per_node_s / 8),
                            (dec(h100), mt.lmsys_h100_decode_per_node / 8),
                            (dec(gb200), mt.lmsys_gb200_decode_bf16)):
        assert 0.5 < model / measured < 2


def test_radiator_area_is_eps_sigma_t4_by_hand():
    area = H["orbital_radiator_area_m2_per_rack"].value(catalog.accelerators()["h100"])
    watts = 18 * 6.5e3 + 3.6e3
    assert area == pytest.approx(watts / (0.9 * 5.670374419e-8 * 343**4), rel=1e-12)


def test_every_headline_evaluates_for_every_part():
    for key, acc in catalog.accelerators().items():
        for h in costs.HEADLINES:
            v = h.value(acc)
            assert v > 0 or math.isinf(v), (h.name, key)
            priced = h.name.startswith(("cost", "deep")) and "tokens_per_gpu" not in h.name
            if not costs.has_price(acc) and h.fn is not None and priced:
                assert math.isinf(v), (h.name, key)

