"""Chapter 5: attention cost models against literal multiply-add counts, and the chapter's results
recomputed independently from the catalogs and the shared formulas."""
from __future__ import annotations

import math
from types import SimpleNamespace

import numpy as np
import pytest
import sympy as sp

from helpers import attention as A, catalog, claims, formulas as f
from helpers.results import read_claims, read_results
from helpers.verdicts import VERDICT

STEM = "05_attention_flops"
REQUIRED = ["ssa_keys_per_query", "ssa_pair_fraction_12m", "ssa_reduction_12m",
            "fa2_ssa_parity_tokens", "dsa_indexer_crossover_tokens_config",
            "dsa_indexer_crossover_tokens_report"]
CLAIMS = ["SQ-1", "SQ-2", "SQ-3", "SQ-4", "SQ-5", "SQ-6", "RP-19"]


# --- a tiny attention that counts its own multiply-adds ----------------------------------------------
class Counter:
    def __init__(self):
        self.macs = 0

    def dot(self, a, b):
        s = 0.0
        for x, y in zip(a, b):
            s += x * y
            self.macs += 1
        return s

    def axpy(self, alpha, x, acc):
        for t in range(len(x)):
            acc[t] += alpha * x[t]
            self.macs += 1


def counted_attention(q, k, v, keys_of):
    """Softmax attention, head by head, query by query, over the keys ``keys_of(i)``; returns the
    output and the FLOPs (2 per multiply-add) spent in score dot products and value sums."""
    c = Counter()
    heads, n, _ = q.shape
    out = np.zeros((heads, n, v.shape[2]))
    for hh in range(heads):
        for i in range(n):
            js = list(keys_of(i))
            s = np.array([c.dot(q[hh, i], k[hh, j]) for j in js])
            p = np.exp(s - s.max())
            p /= p.sum()
            acc = np.zeros(v.shape[2])
            for pj, j in zip(p, js):
                c.axpy(pj, v[hh, j], acc)
            out[hh, i] = acc
    return out, 2 * c.macs


def reference_attention(q, k, v, mask):
    s = np.einsum("hid,hjd->hij", q, k)
    s = np.where(mask, s, -np.inf)
    p = np.exp(s - s.max(axis=-1, keepdims=True))
    p /= p.sum(axis=-1, keepdims=True)
    return np.einsum("hij,hjd->hid", p, v)


@pytest.fixture(scope="module")
def qkv():
    rng = np.random.default_rng(0)
    heads, n, dqk, dv = 2, 11, 3, 2
    return (rng.standard_normal((heads, n, dqk)), rng.standard_normal((heads, n, dqk)),
            rng.standard_normal((heads, n, dv)))


def _pair(q, v):
    return float(A.pair_flops.subs({A.h: q.shape[0], A.d_qk: q.shape[2], A.d_v: v.shape[2]}))


def test_dense_causal_count(qkv):
    q, k, v = qkv
    n = q.shape[1]
    out, flops = counted_attention(q, k, v, lambda i: range(i + 1))
    assert np.allclose(out, reference_attention(q, k, v, np.tril(np.ones((n, n), bool))))
    assert flops == A.dense(n, _pair(q, v))


@pytest.mark.parametrize("window", [1, 4, 11, 20])
def test_sliding_window_count(qkv, window):
    q, k, v = qkv
    n = q.shape[1]
    out, flops = counted_attention(q, k, v, lambda i: range(max(0, i - window + 1), i + 1))
    idx = np.arange(n)
    mask = (idx[None, :] <= idx[:, None]) & (idx[None, :] > idx[:, None] - window)
    assert np.allclose(out, reference_attention(q, k, v, mask))
    assert flops == A.sliding_window(n, _pair(q, v), window)


@pytest.mark.parametrize("topk", [1, 3, 11, 15])
def test_topk_with_linear_selector_count(qkv, topk):
    """Selector: project each token's hidden state to a d_sel-wide key and dot it with a fixed
    vector (a per-token importance score): a fixed cost per token. Keep the top-k earlier tokens."""
    q, k, v = qkv
    n, d_model, d_sel = q.shape[1], 5, 4
    rng = np.random.default_rng(1)
    hidden, w_sel, u = rng.standard_normal((n, d_model)), rng.standard_normal((d_model, d_sel)), rng.standard_normal(d_sel)
    c = Counter()
    score = []
    for i in range(n):
        key = [c.dot(hidden[i], w_sel[:, t]) for t in range(d_sel)]
        score.append(c.dot(key, u))
    selector_flops = 2 * c.macs
    keys_of = lambda i: sorted(sorted(range(i + 1), key=lambda j: -score[j])[:topk])
    _, flops = counted_attention(q, k, v, keys_of)
    c_sel = 2 * (d_model * d_sel + d_sel)
    assert flops + selector_flops == A.topk_linear_selector(n, _pair(q, v), topk, c_sel)


@pytest.mark.parametrize("topk", [2, 5, 11])
def test_topk_with_quadratic_selector_count(qkv, topk):
    """Lightning-indexer style: H_I heads of width d_I score every earlier token against one shared
    key (dot products counted; the per-head ReLU and weights are the convention's stated omission)."""
    q, k, v = qkv
    n, H_I, d_I = q.shape[1], 3, 4
    rng = np.random.default_rng(2)
    qi, ki, wi = rng.standard_normal((n, H_I, d_I)), rng.standard_normal((n, d_I)), rng.standard_normal(H_I)
    c = Counter()
    scores = {}
    for i in range(n):
        for j in range(i + 1):
            scores[i, j] = sum(wi[hh] * max(c.dot(qi[i, hh], ki[j]), 0.0) for hh in range(H_I))
    keys_of = lambda i: sorted(sorted(range(i + 1), key=lambda j: -scores[i, j])[:topk])
    _, attn_flops = counted_attention(q, k, v, keys_of)
    model = SimpleNamespace(index_n_heads=H_I, index_head_dim=d_I)
    indexer, attention = A.topk_quadratic_selector(n, _pair(q, v), topk, A.indexer_pair_flops(model))
    assert 2 * c.macs == indexer
    assert attn_flops == attention


def test_linear_attention_count(qkv):
    q, k, v = qkv
    heads, n, dk = q.shape
    dv = v.shape[2]
    c = Counter()
    out = np.zeros((heads, n, dv))
    for hh in range(heads):
        state = np.zeros((dk, dv))
        for i in range(n):
            for a in range(dk):                       # S += k v^T
                c.axpy(k[hh, i, a], v[hh, i], state[a])
            out[hh, i] = [c.dot(q[hh, i], state[:, b]) for b in range(dv)]   # o = q^T S
    mask = np.tril(np.ones((n, n)))
    assert np.allclose(out, np.einsum("hij,hjd->hid", np.einsum("hid,hjd->hij", q, k) * mask, v))
    assert 2 * c.macs == A.linear_attention(n, heads, dk, dv)


def test_hybrid_count(qkv):
    """A stack of 8 layers, 2 dense and 6 linear: total count / layers = the hybrid model."""
    q, k, v = qkv
    heads, n, dk = q.shape
    layers, dense_layers = 8, 2
    _, dense_flops = counted_attention(q, k, v, lambda i: range(i + 1))
    lin_flops = A.linear_attention(n, heads, dk, v.shape[2])
    total = dense_layers * dense_flops + (layers - dense_layers) * lin_flops
    model = A.hybrid(n, dense_layers / layers, lambda m: A.dense(m, _pair(q, v)),
                     lambda m: A.linear_attention(m, heads, dk, v.shape[2]))
    assert total / layers == pytest.approx(model, rel=1e-12)


# --- symbolic properties --------------------------------------------------------------------
def test_conventions_and_closed_forms():
    n, h, d = A.n, A.h, A.d
    assert sp.simplify(A.fa_flops(False, "fwd") - (A.qk_flops + A.av_flops)) == 0
    assert sp.simplify(A.fa_flops(True, "fwd_bwd") / A.fa_flops(False, "fwd") - sp.Rational(7, 4)) == 0
    assert sp.simplify(A.pair_flops.subs({A.d_qk: d, A.d_v: d}) * n**2 - A.fa_flops(False, "fwd")) == 0
    assert A.flop_parity_topk == 2 * A.k
    # the crossover really equates the two costs
    nstar = A.indexer_crossover
    assert sp.simplify((A.P_I * n**2 / 2 - A.P * A.k * n).subs(n, nstar)) == 0
    assert sp.simplify(A.indexer_crossover_time / A.indexer_crossover - A.r_prec) == 0
    # hybrids: the ratio to dense tends to phi and the slope to 2
    assert sp.limit(A.hybrid_cost / A.dense_cost, n, sp.oo) == A.phi
    assert sp.limit(sp.diff(sp.log(A.hybrid_cost), n) * n, n, sp.oo) == 2
    dom = A.hybrid_dominance
    assert sp.simplify((A.phi * A.dense_cost - (1 - A.phi) * A.c_lin * n).subs(n, dom)) == 0
    assert sp.simplify(A.sqrt_selector_ceiling - A.linear_selector_ceiling**2) == 0
    root = sp.sqrt(A.sqrt_selector_ceiling)
    assert sp.simplify((A.rho * root + A.k - A.L0).subs({A.L0: A.k + 5, A.rho: 2})) == 0


def test_mla_pair_flops_agree_with_the_shared_formula():
    for key in ("deepseek_v3", "deepseek_v3_2", "kimi_k2", "llama3_70b"):
        m = catalog.lookup("models", key)
        assert A.mla_pair_flops(m) * m.n_layers == f.attention_flops_per_context_token(m)
    ds = catalog.lookup("models", "deepseek_v3_2")
    assert A.mla_pair_flops(ds) == 2 * ds.n_heads * (2 * ds.kv_lora_rank + ds.qk_rope_head_dim)


def test_exact_counts_tend_to_the_leading_forms():
    for n in (10**5, 10**7):
        assert A.dense(n, 1) / (n**2 / 2) == pytest.approx(1, rel=2 / n)
        assert A.sliding_window(n, 1, 128) / (128 * n) == pytest.approx(1, rel=128 / n)
    assert A.capped_pairs(5, 10) == A.causal_pairs(5) == 15


# --- results recomputed from the catalogs ----------------------------------------------------
@pytest.fixture(scope="module")
def results():
    return {k: v for k, v in read_results().items() if v["chapter"] == STEM}


@pytest.fixture(scope="module")
def cat():
    return catalog.load("attention_reports")


def test_required_names_exist(results):
    for name in REQUIRED:
        assert name in results, name
        assert results[name]["value"] > 0


def test_results_match_the_catalog(results, cat):
    t1m, lat, ctx12 = cat["subq_table1_1m"], cat["subq_latency_1m"], cat["subq_sparsity_12m"].context
    # per-query budget: SSA / (n x dense-per-causal-pair), rounded to the power of two
    k_raw = t1m.ssa_flops * t1m.context / (2 * t1m.dense_flops)
    k = 2 ** round(math.log2(k_raw))
    ds = catalog.lookup("models", "deepseek_v3_2")
    h100 = catalog.lookup("accelerators", "h100")
    P = f.attention_flops_per_context_token(ds) / ds.n_layers
    P_I = 2 * ds.index_n_heads * ds.index_head_dim
    cfg = 2 * ds.index_topk * P / P_I
    table2 = [cat[f"dsa_table2_{s}"] for s in ("128k", "256k", "512k", "1m", "2m", "4m", "8m", "12m")]
    x = np.array([e.context for e in table2])
    y = np.array([e.indexer_flops for e in table2])
    alpha, beta = np.linalg.lstsq(np.vstack([x**2, x]).T / y[:, None], np.ones_like(y), rcond=None)[0]
    gamma = math.exp(np.mean(np.log(np.array([e.attention_flops for e in table2]) / x)))
    entry = f.kv_bytes_per_token(ds, 2) / ds.n_layers
    plateau = cat["context_plateau"].plateau_high
    # FP8 indexer key plus its FP32 scale, as chapter 4 reads DeepSeek's model.py (128 + 4 bytes)
    fmt = catalog.load("memory_tiers")["deepseek_v32_indexer_cache"]
    index_key = ds.index_head_dim * fmt.key_bytes_per_element + fmt.scale_bytes_per_key
    expected = {
        "ssa_keys_per_query": k,
        "ssa_pair_fraction_12m": 2 * k / ctx12,
        "ssa_reduction_12m": ctx12 / (2 * k),
        "ssa_flop_parity_tokens": 2 * k,
        "fa2_ssa_parity_tokens": lat.context * lat.ssa_time / lat.fa2_time,
        "dsa_indexer_crossover_tokens_config": cfg,
        "dsa_indexer_crossover_tokens_report": (gamma - beta) / alpha,
        "h100_fa2_peak_fraction": t1m.dense_flops / lat.fa2_time / h100.bf16_dense_flops,
        "h100_ssa_peak_fraction": t1m.ssa_flops / lat.ssa_time / h100.bf16_dense_flops,
        "fa2_peak_fraction": t1m.dense_flops / lat.fa2_time / h100.bf16_dense_flops,   # committed run: H100
        "h100_dsa_indexer_crossover_tokens_time_fp8": cfg * h100.fp8_dense_flops / h100.bf16_dense_flops,
        "dsa_indexer_crossover_tokens_time_fp8": cfg * h100.fp8_dense_flops / h100.bf16_dense_flops,
        "subq_implied_width_fwd_bwd_causal": 2 ** round(math.log2(t1m.dense_flops / (7 * t1m.context**2))),
        "rp19_dsa_context_ceiling_tokens": (plateau - ds.index_topk) * entry / index_key,
        "dsa_cache_read_ratio": entry / index_key,
        "rp19_sqrt_context_ceiling_tokens": (plateau - ds.index_topk) ** 2,
        "h100_kv_read_over_compute_at_plateau": (plateau * f.kv_bytes_per_token(ds, 2) / h100.hbm_bandwidth)
                                                / (2 * ds.active_params / h100.bf16_dense_flops),
        "h100_fa2_peak_fraction_fp8": t1m.dense_flops / lat.fa2_time / h100.fp8_dense_flops,
    }
    for name, value in expected.items():
        assert results[name]["value"] == pytest.approx(value, rel=1e-12), name
    assert results["h100_fa2_peak_fraction"]["accelerator"] == "h100"


def test_sweep_functions_match_the_h100_results(results):
    h100 = catalog.lookup("accelerators", "h100")
    for name, (unit, description, fn) in A.SWEEP.items():
        assert results["h100_" + name]["value"] == pytest.approx(fn(h100), rel=1e-12)
        assert unit and description
    for a in catalog.accelerators().values():      # every catalogued part evaluates
        for _, _, fn in A.SWEEP.values():
            assert math.isfinite(fn(a)) and fn(a) > 0


def test_claims_have_verdicts_in_the_book_s_form():
    recorded = read_claims()
    for cid in CLAIMS:
        c = recorded[cid]
        assert c["chapter"] == STEM
        assert VERDICT.match(c["verdict"]), c["verdict"]
        assert c["claimed"] and c["derived"]
        assert claims.get(cid).chapter == STEM


def test_claimed_values_are_in_the_claims_catalog():
    assert claims.get("SQ-2").value("reduction_1m") == 64.5
    assert claims.get("SQ-4").value("pair_fraction_12m") == pytest.approx(0.0013)
    assert claims.get("SQ-5").value("crossover_context") == 52000


def test_labels_follow_the_rule_for_their_numbers(results):
    """Each numeric claim's label is the book's rule applied to its farthest (claimed, derived) pair;
    RP-19's mechanism (a square root) is absent, so it is 'does not follow'."""
    from helpers.verdicts import ratio_verdict

    def rule(*pairs):
        c, d = max(pairs, key=lambda cd: abs(math.log(cd[1] / cd[0])))
        return ratio_verdict(c, d)

    recorded = read_claims()
    sq3, sq4 = claims.get("SQ-3"), claims.get("SQ-4")
    assert recorded["SQ-3"]["verdict"] == rule(
        (sq3.value("speedup_1m"), results["ssa_speedup_1m"]["value"]),
        (sq3.value("parity_context"), results["fa2_ssa_parity_tokens"]["value"]))
    assert recorded["SQ-4"]["verdict"] == rule(
        (sq4.value("pair_fraction_12m"), results["ssa_pair_fraction_12m"]["value"]),
        (sq4.value("reduction_12m"), results["ssa_reduction_12m"]["value"]))
    assert recorded["RP-19"]["verdict"] == "does not follow" and recorded["RP-19"]["caveat"]
