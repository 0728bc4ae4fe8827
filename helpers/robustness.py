"""How sure is each verdict? A rule per claim, evaluated at the central values and over the ranges.

A chapter computes each verdict in its own code. This module restates each verdict as a
**rule** (:data:`RULES`, one per claim id of ``claims.yaml`` that a chapter records): which
registry headlines (:mod:`helpers.registry`) for which part (``"run"``: the run's accelerator,
or a key such as ``"h100"``), against which claimed value, under which band
(:data:`helpers.verdicts.DEFAULT` or ``ORDER_OF_MAGNITUDE``). Three shapes:

* ``Rule(parts=(Ratio(...), ...))``: the worst :func:`~helpers.verdicts.ratio_verdict` of its
  parts (the book's rule for a claim of several numbers). These are the ones the browser can
  re-evaluate when every part is a closed form (:func:`live_rules`);
* ``Rule(fn=...)``: a function of an :class:`Env` returning the label, for the verdicts that
  take a median, a range's nearer end, a bound, or a threshold; its numbers come from registry
  headlines (``e.h(name, part)``), catalog fields (``e.f(kind, entry, field)``), claimed values
  (``e.c(id, name)``, fixed) and values the chapter published (``e.r(name)``, fixed: what the
  rule does not re-derive has no range here);
* ``Rule(qualitative=...)``: a verdict on logic, not on a number ("does not follow", a
  mechanism, a symbolic exponent): reported as "not numeric".

``tests/test_robustness.py`` checks that every rule gives, at central values, the very label
the committed chapter recorded (:func:`helpers.results.read_claims`), so a rule cannot drift
from its chapter.

**Robustness** (:func:`assess`): the inputs of a rule are the ranged inputs of everything it
read at central values (:func:`helpers.intervals.variables`). The verdict's *class* (holds;
holds with caveat; off, claim too high; off, claim too low; does not follow) is evaluated

* one input at a time, on 9 points across its range (the ends included); where the class
  changes, bisection (30 steps) finds the input's value where it flips;
* jointly: every corner of the box (up to 2^10), else the corners of no input but 256
  uniform draws (``numpy.random.default_rng(0)``), plus the one-at-a-time points.

A verdict is *robust* (``robust: True``) when it was tested over at least one input's range
and no point gives another class; it *flips* (``False``) when some point does; it is
*untested* (``None``, "untested: no input has a range") when nothing it reads carries a range,
and *not numeric* (``None``) when the rule judges logic. The text is short (a phone's column)
and in a reader's words (the catalog entry's name and a field label): "robust (3 ranges)",
"→ off by 1.5× (claim too low) if H200's HBM capacity read in GiB", "→ holds with caveat if
price-performance improves ≤ 0.127 orders of magnitude a year (range 0.1–0.2); or if the
service life ≥ 6.2 years".
:func:`summary` gives one claim's, :func:`table` every claim's.
"""
from __future__ import annotations

import itertools
import math
import re
from collections.abc import Callable
from dataclasses import dataclass
from functools import cache

import numpy as np
import sympy as sp

from . import catalog, claims as _claims, intervals, registry, units as U
from .registry import Headline, derived, field
from .scaling import range_verdict as range_nearer  # a stated range: its nearer end
from .serving import range_verdict as range_derived  # a claim against a derived range
from .verdicts import DEFAULT, ORDER_OF_MAGNITUDE, ratio_verdict, worst

# --- quantities the verdicts read that are no chapter's headline ----------------------------
# (kept out of the registry: every registry headline must be published by a chapter)

_F, _W = sp.symbols("F W", positive=True)


def _a100_40gb_bandwidth() -> float:
    f = catalog.accelerators()["a100"].fields["hbm_bandwidth"]
    m = re.search(r"40 GB part is ([\d.]+) (\S+)", f.note)
    return U.to_si(float(m[1]), m[2])


_al, _be, _A, _B, _C = sp.symbols("alpha beta A B C", positive=True)
_N_OPT = (_al * _A / (_be * _B)) ** (1 / (_al + _be)) * (_C / 6) ** (_be / (_al + _be))
_EPOCH = {s: field("scaling_laws", "epoch", n) for s, n in
          ((_al, "alpha"), (_be, "beta"), (_A, "a_params"), (_B, "b_data"))}

VERDICT_INPUTS = [
    # chapter 3's tokens_per_param_compute_optimal_epoch (18.4) as a closed form, so that
    # its interval propagates the fit's published standard errors
    Headline("epoch_fit_tokens_per_param_gopher_budget", "tokens/param", "compute-optimal D/N "
             "at Gopher's 5.76e23 FLOPs, C = 6ND, Epoch AI's refit of Hoffmann's Approach 3",
             (_C / 6) / _N_OPT**2,
             {**_EPOCH, _C: field("scaling_laws", "chinchilla", "compute_budget")},
             module="robustness"),
    Headline("rp3_a100_40gb_flops_per_byte", "FLOP/byte", "A100 40 GB (the launch part): "
             "dense BF16 FLOP/s / its HBM bandwidth (the catalog's note)", _F / _W,
             {_F: field("accelerators", "a100", "bf16_dense_flops"),
              _W: derived(_a100_40gb_bandwidth, "A100 40 GB HBM bandwidth (catalog note)")},
             claims=("RP-3",), module="robustness"),
]
for _h in VERDICT_INPUTS:
    intervals.register(_h)


# --- the environment a rule reads ------------------------------------------------------------

class Env:
    """What a rule reads: headlines for parts, catalog fields, claimed and published values,
    with some inputs (``{id: SI}``, ids as in :mod:`helpers.intervals`) set to other values."""

    def __init__(self, run, overrides=None, published=None):
        self.run = run
        self.overrides = dict(overrides or {})
        self._published = published
        self.used: list[tuple[str, catalog.Entry]] = []
        self.fields: dict[str, intervals.Var] = {}

    def part(self, key) -> catalog.Entry:
        if not isinstance(key, str):
            return key
        return self.run if key == "run" else catalog.accelerators()[key]

    def h(self, name: str, part="run") -> float:
        acc = self.part(part)
        self.used.append((name, acc))
        return intervals.evaluate(name, acc, self.overrides)

    def f(self, kind: str, key: str, name: str) -> float:
        """A catalog field's SI value (an override if one is set)."""
        i = f"{kind}.{key}.{name}"
        entry = catalog.load(kind)[key]
        v = intervals._field_var(kind, key, name, entry)
        if v is not None:
            self.fields[i] = v
        return self.overrides.get(i, getattr(entry, name))

    def c(self, claim_id: str, name: str) -> float:
        return _claims.get(claim_id).value(name)

    def r(self, name: str) -> float:
        """A value the chapter published (fixed here: the rule does not re-derive it)."""
        if self._published is None:
            self._published = _committed_results()
        return float(self._published[name])


@cache
def _committed_results() -> dict[str, float]:
    from . import results
    return {k: v["value"] for k, v in results.read_results().items()}


# --- rules ------------------------------------------------------------------------------------

@dataclass(frozen=True)
class Ratio:
    """``ratio_verdict(claimed, headline(part), band)``; ``claimed`` a number or a function
    of no argument (claims.yaml read late)."""
    headline: str
    part: str
    claimed: float | Callable[[], float]
    band: tuple[float, float] = DEFAULT

    def claimed_value(self) -> float:
        return float(self.claimed() if callable(self.claimed) else self.claimed)

    def label(self, e: Env) -> str:
        return ratio_verdict(self.claimed_value(), e.h(self.headline, self.part), self.band)


@dataclass(frozen=True)
class Rule:
    claim: str
    how: str
    parts: tuple[Ratio, ...] = ()
    fn: Callable[[Env], str] | None = None
    qualitative: str = ""

    @property
    def numeric(self) -> bool:
        return not self.qualitative

    def label(self, e: Env) -> str | None:
        if self.qualitative:
            return None
        if self.fn is not None:
            return self.fn(e)
        return worst([p.label(e) for p in self.parts])


def _claim(cid, name):
    return lambda: _claims.get(cid).value(name)


def _farthest(pairs):
    c, v = max(pairs, key=lambda cv: abs(math.log(cv[1] / cv[0])))
    return ratio_verdict(c, v)


def _caveat_if_holds(label):
    return "holds with caveat" if label == "holds" else label


MS = 1e3


# chapter 1 ------------------------------------------------------------------------------------
def _rp2(e):
    per_unit = e.h("deepseek_v3_balance_batch_per_layer") / e.h("deepseek_v3_sparsity_by_experts")
    return ratio_verdict(e.c("RP-2", "batch_per_unit_sparsity"), per_unit)


def _rp5(e):
    slow = ratio_verdict(1.0, 1 / (1 - e.h("slow_mode_max_saving")))
    unbatched = ratio_verdict(e.c("RP-5", "unbatched_cost_factor"),
                              e.h("deepseek_v3_unbatched_cost_factor"), ORDER_OF_MAGNITUDE)
    rank = {"holds": 0, "holds with caveat": 1}
    return max((slow, unbatched), key=lambda v: rank.get(v, 2))


# chapter 2 ------------------------------------------------------------------------------------
def _rp7(e):
    drains = [e.h("drain_ms", k) for k in catalog.accelerators()]
    return ratio_verdict(MS * e.c("RP-7", "drain_time"), float(np.median(drains)))


def _rp9(e):
    observed = MS / e.f("moe_rack", "deepseek_online_service", "output_speed_high")
    floor = e.h("deepseek_service_token_floor_ms", "h100")
    if observed < floor:
        return "does not follow"
    return "holds" if observed <= floor * 1.15 else "holds with caveat"


def _rp10(e):
    replica = ratio_verdict(e.c("RP-10", "replica_tokens_per_s"),
                            e.h("lecture_rubin_replica_tokens_per_s"))
    share = range_derived(e.c("RP-10", "gemini_fraction"),
                           e.r("lecture_replica_share_of_gemini_decode_all_low"),
                           e.r("lecture_replica_share_of_gemini_decode_all_high"),
                           ORDER_OF_MAGNITUDE)
    return worst([replica, share])


def _rp11(e):
    need, share = e.h("fast_mode_min_kv_share"), e.h("fast_mode_kv_share")
    return "holds with caveat" if need < share < 1 else "does not follow"


# chapter 3 ------------------------------------------------------------------------------------
def _rp12(e):
    claim = e.c("RP-12", "token_ratio")
    return worst([ratio_verdict(claim, e.h("equal_cost_output_to_pretraining_tokens_all_in"),
                                ORDER_OF_MAGNITUDE),
                  ratio_verdict(claim, 1 / e.c("RP-12", "rl_cost_weight"), ORDER_OF_MAGNITUDE)])


def _rp13(e):
    lo, hi = e.c("RP-13", "overtrain_factor_low"), e.c("RP-13", "overtrain_factor")
    n, rule = e.c("RP-13", "active_params"), e.c("RP-13", "tokens_per_param_rule")
    return worst([range_nearer(lo, hi, t / n / rule)
                  for t in (e.c("RP-13", "tokens_hearsay"), e.c("RP-13", "tokens"))])


def _l32(e):
    hours = catalog.load("training_runs")["llama3_8b"].fields["gpu_hours"]
    readings = [e.f("training_runs", "llama3_8b", "gpu_hours"),
                *(a.si for a in hours.alternatives)]
    lo, hi = e.c("L3-2", "gpu_hours_low"), e.c("L3-2", "gpu_hours_high")
    hours_label = worst([range_nearer(lo, hi, h) for h in readings])
    gpus, claimed_days = e.c("L3-2", "gpus"), e.c("L3-2", "days")
    days = [h / gpus / 86400 for h in readings[:2]]          # accelerator-seconds / GPUs
    near = min(days, key=lambda x: abs(math.log(x * 86400 / claimed_days)))
    return worst([hours_label, ratio_verdict(claimed_days, near * 86400)])


def _l33(e):
    eu = e.f("training_runs", "eu_systemic_risk", "threshold")
    us = e.f("training_runs", "us_reporting", "threshold")
    f405 = 6 * e.f("models", "llama3_405b", "active_params") * e.f(
        "models", "llama3_405b", "training_tokens")
    fclaim = 6 * e.c("L3-3", "params") * e.c("L3-3", "tokens")
    return "holds" if eu < fclaim < us and eu < f405 < us else "does not follow"


# chapter 4 ------------------------------------------------------------------------------------
def _rp15(e):
    lo, hi = e.c("RP-15", "kv_bytes_low"), e.c("RP-15", "kv_bytes_high")
    b = e.h("kv_bytes_per_token_price_step_fp8", "tpu7x")
    base = "holds" if lo <= b <= hi else ratio_verdict(hi if b > hi else lo, b)
    return _caveat_if_holds(base)


def _rp17(e):
    return _caveat_if_holds(ratio_verdict(e.c("RP-17", "output_input_ratio"),
                                          e.h("deepseek_measured_output_input_cost_ratio")))


def _rp18(e):
    hit = []
    for key, p in catalog.prices().items():
        if p.has("cache_read"):
            hit.append(e.f("prices", key, "cache_read") / e.f("prices", key, "input"))
    claim_hit = e.c("RP-18", "hit_over_miss")
    ttl_short, ttl_long = e.c("RP-18", "ttl_short"), e.c("RP-18", "ttl_long")
    lo_d, hi_d = e.r("drain_seconds_flash_line_min"), e.r("drain_seconds_flash_line_max")
    parts = {"hit": (claim_hit, float(np.median(hit))),
             "flash": (ttl_short, min(max(ttl_short, lo_d), hi_d)),
             "disk": (ttl_long, e.r("drain_seconds_disk"))}
    labels = {k: ratio_verdict(*v) for k, v in parts.items()}
    line = "holds" if lo_d <= ttl_short <= hi_d else ratio_verdict(
        hi_d if ttl_short > hi_d else lo_d, ttl_short)
    labels["flash"] = _caveat_if_holds(line)
    sev = {"holds": 0, "holds with caveat": 1}
    k = max(parts, key=lambda k: (sev.get(labels[k], 2),
                                  abs(math.log(parts[k][1] / parts[k][0]))))
    return labels[k]


# chapter 5 ------------------------------------------------------------------------------------
_SQ2_KEYS = ("32k", "64k", "128k", "256k", "512k", "1m")


def _sq2(e):
    two_k = e.r("ssa_flop_parity_tokens")
    pairs = [(e.c("SQ-2", f"reduction_{s}"),
              e.f("attention_reports", f"subq_table1_{s}", "context") / two_k)
             for s in _SQ2_KEYS]
    return _farthest(pairs)


def _sq3(e):
    return _farthest([(e.c("SQ-3", "speedup_1m"), e.r("ssa_speedup_1m")),
                      (e.c("SQ-3", "parity_context"), e.r("fa2_ssa_parity_tokens"))])


def _sq4(e):
    return _farthest([(e.c("SQ-4", "pair_fraction_12m"), e.r("ssa_pair_fraction_12m")),
                      (e.c("SQ-4", "reduction_12m"), e.r("ssa_reduction_12m"))])


def _sq5(e):
    return _farthest([
        (e.c("SQ-5", "crossover_context"), e.r("dsa_indexer_crossover_tokens_true_projections")),
        (e.c("SQ-5", "indexer_over_attention_1m"),
         e.r("dsa_indexer_over_attention_1m_true_projections")),
        (e.c("SQ-5", "indexer_over_attention_12m"),
         e.r("dsa_indexer_over_attention_12m_true_projections"))])


# chapter 6 ------------------------------------------------------------------------------------
def _nvidia():
    return [k for k, a in catalog.accelerators().items() if a.text.get("vendor") == "NVIDIA"]


def _kimi_fp8_bytes(e):
    return e.f("models", "kimi_k2", "total_params") * 1.0


def _domain_hbm(e, k):
    return e.h("domain_hbm_terabytes", k) * 1e12


def _rp20(e):
    claim = e.c("RP-20", "scale_out_slowdown")
    typical = float(np.median([e.h("scale_out_slowdown", k) for k in ("h100", "gb300", "rubin")]))
    label = ratio_verdict(claim, typical)
    outliers = (ratio_verdict(claim, e.h("scale_out_slowdown", "gb200")),
                ratio_verdict(claim, e.r("scale_out_slowdown_h800_deepseek")))
    return "holds with caveat" if label == "holds" and any(
        o != "holds" for o in outliers) else label


def _rp21(e):
    claim = e.c("RP-21", "rubin_domain")
    steps = [e.c("RP-21", "hopper_domain"), e.c("RP-21", "blackwell_domain")]
    named = list(zip(steps, (e.f("accelerators", "h100", "scale_up_domain"),
                             e.f("accelerators", "gb200", "scale_up_domain"))))
    dies = e.f("networks", "rubin_ultra_nvl576", "dies")
    packages = e.f("networks", "rubin_ultra_nvl576", "packages")
    kimi = _kimi_fp8_bytes(e)
    hopper_holds = _domain_hbm(e, "h100") < kimi < _domain_hbm(e, "gb200")

    def at_least(bound, value):
        return (bound, min(value, bound))

    counts = _farthest(named + [at_least(claim, dies)]) if hopper_holds else "does not follow"
    pkgs = _farthest(named + [at_least(claim, packages)])
    holding = [k for k in _nvidia() if e.f("accelerators", k, "scale_up_domain") <= 8
               and _domain_hbm(e, k) > kimi]
    causal = "does not follow" if holding else counts
    return "holds with caveat" if counts == "holds" and any(
        o != "holds" for o in (pkgs, causal)) else counts


def _rp6(e):
    racks = [k for k in _nvidia() if catalog.accelerators()[k].scale_up_domain > 8]
    rack = e.c("RP-6", "rack_hbm")
    pairs = [(rack, min(_domain_hbm(e, k), rack)) for k in racks]
    return _farthest(pairs + [(e.c("RP-6", "model_bytes"), _kimi_fp8_bytes(e))])


# chapter 7 ------------------------------------------------------------------------------------
def _rp23(e):
    # the chapter's own sensitivity: its price / owned cost scaled by the H100 hour's cost
    central = registry.get("cost_per_gpu_hour").value(catalog.accelerators()["h100"])
    ratio = e.r("rp23_price_over_cost") * central / e.h("cost_per_gpu_hour", "h100")
    return ratio_verdict(e.c("RP-23", "price_over_cost"), ratio)


def _gb1(e):
    return range_nearer(e.c("GB-1", "long_life_low"), e.c("GB-1", "long_life_high"),
                         e.h("economic_life_years", "h100"))


def _gb2(e):
    return "holds" if e.h("prefill_kv_share_of_hbm", "h100") >= 1 else "does not follow"


def _gb4(e):
    adds = (e.f("costs", "dc_power", "capacity_2030") - e.f("costs", "dc_power", "capacity_now")) \
        / e.f("costs", "dc_power", "years") / 1e9 * 2
    gw = e.h("gpu_sales_2026_2027_gigawatts")
    mid = (e.c("GB-4", "gpu_sales_low") + e.c("GB-4", "gpu_sales_high")) / 2
    sellable = mid * adds / gw
    bind = gw > adds
    return "holds with caveat" if bind and sellable < 2e12 else (
        "holds" if bind else "does not follow")


def _gb5(e):
    unc = (e.c("GB-5", "unconstrained_arr_low") + e.c("GB-5", "unconstrained_arr_high")) / 2
    return _caveat_if_holds(ratio_verdict(e.c("GB-5", "multiple"), e.c("GB-5", "valuation") / unc))


def _gb3_mid():
    return (_claims.get("GB-3").value("rack_power")
            + _claims.get("GB-3").value("rack_power_high")) / 2e3


def _rp4_claim():
    return (_claims.get("RP-2").value("batch_per_unit_sparsity")
            * registry.get("lecture_sparsity").value(catalog.accelerators()["h100"]))


_LAUNCH = ("h100", "b200", "gb200", "rubin")

RULES: dict[str, Rule] = {r.claim: r for r in [
    # chapter 1
    Rule("RP-1", "understatement of a DeepSeek-V3 step without attention arithmetic vs 1",
         parts=(Ratio("roofline_attention_understatement", "run", 1.0),)),
    Rule("RP-2", "per-layer balance batch / (E/k_e) vs the claimed 300", fn=_rp2),
    Rule("RP-3", "F/W of one launch part per generation vs 300, worst part",
         parts=(Ratio("rp3_a100_40gb_flops_per_byte", "a100", _claim("RP-3", "hardware_ratio")),
                *(Ratio("flops_per_byte", k, _claim("RP-3", "hardware_ratio"))
                  for k in _LAUNCH))),
    Rule("RP-4", "DeepSeek-V3 B* by total/active params on H100 vs 2,400",
         parts=(Ratio("optimal_batch_deepseek_v3_by_params", "h100", _rp4_claim),)),
    Rule("RP-5", "slow-mode saving and unbatched cost factor (order of magnitude), worst",
         fn=_rp5),
    # chapter 2
    Rule("RP-7", "median drain time over the catalogued parts vs 20 ms", fn=_rp7),
    Rule("RP-8", "worst-case latency on H100 vs 40 ms",
         parts=(Ratio("worst_case_latency_ms", "h100",
                      lambda: MS * _claims.get("RP-8").value("worst_case_latency")),)),
    Rule("RP-9", "DeepSeek's per-token floor vs its observed time (a bound)", fn=_rp9),
    Rule("RP-10", "Rubin replica tokens/s and its share of Gemini's decoded tokens, worst",
         fn=_rp10),
    Rule("RP-11", "KV share a smaller batch needs vs the share it implies", fn=_rp11),
    # chapter 3
    Rule("RP-12", "equal-cost output tokens and RL tokens vs 1 (order of magnitude), worst",
         fn=_rp12),
    Rule("RP-13", "over-training on the claim's premises vs 75-100x (nearer end)", fn=_rp13),
    Rule("RP-14", "equal-cost output tokens per pre-training token vs 1 (order of magnitude)",
         parts=(Ratio("equal_cost_output_to_pretraining_tokens_all_in", "run",
                      _claim("RP-14", "output_over_corpus"), ORDER_OF_MAGNITUDE),)),
    Rule("L3-1", "15T over Meta's law's Chinchilla count for 8B vs 75x",
         fn=lambda e: ratio_verdict(e.c("L3-1", "overtrain_factor"),
                                    e.r("overtrain_factor_llama3_8b_llama3_fit"))),
    Rule("L3-2", "published GPU-hours vs 1.3-1.5M; days on 16K vs 4, worst", fn=_l32),
    Rule("L3-3", "6ND of 400B x 15T and of Llama 3.1 405B between 1e25 and 1e26", fn=_l33),
    Rule("MISC-1", "", qualitative="the loss law defines no capability (a logic judgement)"),
    # chapter 4
    Rule("RP-15", "FP8 KV bytes at the 200k price step on TPU7x vs 1.6-2.0 kB", fn=_rp15),
    Rule("RP-16", "", qualitative="the per-layer reading fits, the whole-model one does not "
         "(a logic judgement on the claim's own numbers)"),
    Rule("RP-17", "DeepSeek's measured output/input cost vs 5x", fn=_rp17),
    Rule("RP-18", "hit/miss price, 5-min flash and 1-h disk drain times, worst", fn=_rp18),
    # chapter 5
    Rule("SQ-1", "", qualitative="an exponent, derived symbolically (exact)"),
    Rule("SQ-2", "exact n/2k reductions vs the claimed ones, farthest pair", fn=_sq2),
    Rule("SQ-3", "speed-up at 1M and parity length, farthest pair", fn=_sq3),
    Rule("SQ-4", "pair fraction and reduction at 12M, farthest pair", fn=_sq4),
    Rule("SQ-5", "indexer crossover and ratios at 1M/12M, farthest pair", fn=_sq5),
    Rule("SQ-6", "", qualitative="judged on its readings (asymptotic vs within the context)"),
    Rule("RP-19", "", qualitative="a mechanism: the square-root gain and bandwidth setting "
         "200K do not follow"),
    # chapter 6
    Rule("RP-20", "median slowdown of matched-generation NICs vs 8x; outliers in the caveat",
         fn=_rp20),
    Rule("RP-21", "NVIDIA's domain counts vs 8 -> 72 -> 500+, other readings", fn=_rp21),
    Rule("RP-22", "", qualitative="a symbolic identity (the KV term does not depend on P)"),
    Rule("RP-6", "rack HBM vs >= 10 TB and Kimi K2 FP8 vs 1 TB, farthest", fn=_rp6),
    # chapter 7
    Rule("RP-23", "DeepSeek's price over its owned cost vs 1", fn=_rp23),
    Rule("GB-1", "H100 economic life vs the claimed 10-15 years (nearer end)", fn=_gb1),
    Rule("GB-2", "prefill KV share of HBM at the compute-bound batch >= 1", fn=_gb2),
    Rule("GB-3", "NVL72 rack power vs 110 kW",
         parts=(Ratio("nvl72_rack_power_kw", "run", _gb3_mid),)),
    Rule("GB-4", "GW the sales buy vs GW added in two years", fn=_gb4),
    Rule("GB-5", "the arithmetic on the claim's own numbers", fn=_gb5),
    Rule("GB-6", "", qualitative="rationing: a new model at matched score, not a cut"),
]}


# --- robustness --------------------------------------------------------------------------------

UNTESTED = "untested: no input has a range"

POINTS = 9          # one input at a time: points across its range
BISECT = 30
JOINT_SAMPLES = 256
MAX_CORNERS = 10


def verdict_class(label: str | None) -> str | None:
    """What a flip changes: holds, holds with caveat, off (claim too high|low), does not
    follow (the factor of an "off by N×" is not a class: 2.2× and 2.5× are the same verdict)."""
    if label is None or not label.startswith("off by"):
        return label
    return "off (claim too high)" if "too high" in label else "off (claim too low)"


@dataclass(frozen=True)
class Flip:
    """One input, moved alone over its range, changes the verdict's class: at ``value`` (SI,
    by bisection) on the way to ``end`` (the range's end), where the label is ``label``."""
    var: intervals.Var
    value: float
    end: float
    label: str

    @property
    def phrase(self) -> str:
        v = self.var
        if v.other is not None and self.end == v.other:
            return f"{v.label} read in {v.other_unit}"
        side = "≥" if self.end > v.central else "≤"
        return f"{v.label} {side} {v.shown(self.value)} ({v.range_text})"

    @property
    def reached(self) -> str:
        """The label the flip leads to: an "off by N×" is the factor at the range's end, so it
        reads "off by up to N×" unless the flip is the other reading itself."""
        v = self.var
        if self.label.startswith("off by") and not (v.other is not None and self.end == v.other):
            return self.label.replace("off by", "off by up to", 1)
        return self.label

    @property
    def short(self) -> str:
        """The input and its flip value, no range (a second flip in the ledger's column)."""
        v = self.var
        if v.other is not None and self.end == v.other:
            return f"{v.label} in {v.other_unit}"
        return f"{v.label} {'≥' if self.end > v.central else '≤'} {v.shown(self.value)}"

    @property
    def value_in_unit(self) -> float:
        """The flip value in the field's catalog unit, 3 significant figures (9,900 TFLOP/s,
        not 9.900000000084982e15 FLOP/s)."""
        x = self.var.in_unit(self.value)
        if x == 0 or not math.isfinite(x):
            return x
        return float(f"{x:.3g}")

    @property
    def distance(self) -> float:
        return abs(math.log(self.value / self.var.central)) if self.value > 0 and \
            self.var.central > 0 else math.inf


@dataclass(frozen=True)
class Robustness:
    claim: str
    how: str
    numeric: bool
    label: str | None                    # at central values
    robust: bool | None                  # None: not numeric, or untested (no ranged input)
    inputs: tuple[intervals.Var, ...] = ()
    flips: tuple[Flip, ...] = ()         # one input at a time, nearest flip first
    joint: tuple[str, ...] = ()          # the classes reached over the whole box
    method: str = ""                     # "corners" or "sampling"

    @property
    def flip(self) -> Flip | None:
        return self.flips[0] if self.flips else None

    @property
    def status(self) -> str:
        """"robust" (tested over >= 1 range, holds), "flips", "untested" (no input it reads
        has a range), or "not numeric"."""
        if not self.numeric:
            return "not numeric"
        if not self.inputs:
            return "untested"
        return "robust" if self.robust else "flips"

    @property
    def text(self) -> str:
        """A short line: "robust", "→ off by 1.61× (claim too high) if ...", "not numeric"."""
        if not self.numeric:
            return "not numeric"
        if not self.inputs:
            return UNTESTED
        if self.robust:
            n = len(self.inputs)
            return f"robust ({n} range{'s' if n > 1 else ''})"
        if self.flip is not None:
            more, second = "", self.flips[1] if len(self.flips) > 1 else None
            if second is not None:      # a second flip to another class says which
                to = "" if verdict_class(second.label) == verdict_class(self.flip.label) \
                    else f"{second.reached} "
                more = f"; {to}or if {second.short}" if not to else f"; {to}if {second.short}"
                if len(self.flips) > 2:
                    more += f" (+{len(self.flips) - 2} more)"
            return f"→ {self.flip.reached} if {self.flip.phrase}{more}"
        others = sorted(set(self.joint) - {verdict_class(self.label)})
        return "flips only jointly: " + ", ".join(others)

    def as_dict(self) -> dict:
        f = self.flip
        return {"claim": self.claim, "numeric": self.numeric, "label": self.label,
                "robust": self.robust, "status": self.status, "text": self.text,
                "flips_on": f.var.id if f else None,
                "flips_on_text": f.var.label if f else None,
                "flip_value": f.value_in_unit if f else None,
                "flip_unit": f.var.unit if f else None,
                "flip_value_text": f.var.shown(f.value) if f else None,
                "flip_label": f.label if f else None,
                "inputs": [v.id for v in self.inputs], "classes": list(self.joint),
                "method": self.method}


def _inputs(e: Env) -> list[intervals.Var]:
    out: dict[str, intervals.Var] = {}
    for name, acc in e.used:
        for v in intervals.variables(name, acc):
            out.setdefault(v.id, v)
    for v in e.fields.values():
        out.setdefault(v.id, v)
    return list(out.values())


_ASSESSED: dict[tuple, Robustness] = {}


def assess(claim_id: str, run=None, published: dict | None = None) -> Robustness:
    """The verdict of ``claim_id`` at central values and over the ranges of its inputs, for the
    run's accelerator ``run`` (an Entry or key; default the H100, the committed chapters' run)
    with the chapter's published values ``published`` (default: the committed notebooks')."""
    run = catalog.accelerators()[run or "h100"] if not isinstance(run, catalog.Entry) else run
    key = (claim_id, intervals._fit_key(run), None if published is None else id(published))
    if key in _ASSESSED:
        return _ASSESSED[key]
    rule = RULES[claim_id]
    if not rule.numeric:
        out = Robustness(claim_id, rule.qualitative, False, None, None)
        _ASSESSED[key] = out
        return out
    e0 = Env(run, published=published)
    label0 = rule.label(e0)
    c0 = verdict_class(label0)
    vs = _inputs(e0)

    def at(overrides):
        return rule.label(Env(run, overrides, published=e0._published))

    flips = []
    for v in vs:
        flips += _flips(at, v, c0)
    flips.sort(key=lambda f: (f.distance, f.var.id))
    if len(vs) <= MAX_CORNERS:
        points = [dict(zip((v.id for v in vs), ends))
                  for ends in itertools.product(*[(v.low, v.high) for v in vs])]
        method = "corners"
    else:
        rng = np.random.default_rng(intervals.SEED)
        points = [{v.id: v.low + u * (v.high - v.low) for v, u in zip(vs, row)}
                  for row in rng.uniform(size=(JOINT_SAMPLES, len(vs)))]
        method = "sampling"
    joint = {c0} | {verdict_class(at(p)) for p in points} if vs else {c0}
    joint |= {verdict_class(f.label) for f in flips}
    robust = (not flips and joint == {c0}) if vs else None
    out = Robustness(claim_id, rule.how, True, label0, robust, tuple(vs), tuple(flips),
                     tuple(sorted(joint)), method if vs else "")
    _ASSESSED[key] = out
    return out


def _flips(at, v: intervals.Var, c0: str) -> list[Flip]:
    out = []
    grid = np.linspace(v.low, v.high, POINTS)
    for end, side in ((v.low, grid[grid < v.central][::-1]),
                      (v.high, grid[grid > v.central])):
        prev = v.central
        for x in [*side, end]:
            x = float(x)
            lab = at({v.id: x})
            if verdict_class(lab) != c0:
                lo, hi = prev, x
                for _ in range(BISECT):
                    mid = (lo + hi) / 2
                    if verdict_class(at({v.id: mid})) == c0:
                        lo = mid
                    else:
                        hi = mid
                out.append(Flip(v, hi, end, at({v.id: end})))
                break
            prev = x
    return out


def summary(claim_id: str, run=None, published: dict | None = None) -> dict:
    """One claim's robustness as plain data (what ``python -m helpers claims --json`` carries):
    ``robust`` (True: tested and holds; False: flips; None: untested or not numeric),
    ``status`` ("robust", "flips", "untested", "not numeric"), ``text``, ``flips_on`` (an input
    id) and ``flips_on_text`` (its reader's label), ``flip_value`` (in the field's catalog unit,
    3 significant figures) with ``flip_unit``, ``flip_value_text``, ``flip_label``, ``inputs``,
    ``classes``."""
    return assess(claim_id, run, published).as_dict()


def recorded_claims() -> dict[str, dict]:
    """The claims the committed chapters record, in book order."""
    from . import results
    return results.read_claims()


def table(run=None) -> list[dict]:
    """Every recorded claim's :func:`summary`, in book order (plus its chapter and label)."""
    out = []
    for cid, meta in recorded_claims().items():
        if cid not in RULES:
            continue
        row = summary(cid, run)
        row["chapter"] = meta["chapter"]
        out.append(row)
    return out


def for_chapters(chapters_dir=None, recorded: dict | None = None) -> dict[str, dict]:
    """``{claim id: summary}`` for the claims the chapters in ``chapters_dir`` (None: the
    committed ones) recorded, assessed for the accelerator they ran for with the values they
    published. A claim whose rule does not give the recorded label (a re-run whose chapter
    reads its part otherwise), or a run for a part not in the catalog, gets ``robust: None``
    and the text "—"."""
    from . import results

    recorded = results.read_claims(chapters_dir) if recorded is None else recorded
    run, published = None, None
    if chapters_dir is not None:
        res = results.read_results(chapters_dir)
        published = {k: v["value"] for k, v in res.items()}
        run = _run_of(chapters_dir, res)
    out = {}
    for cid, meta in recorded.items():
        if cid not in RULES or (chapters_dir is not None and run is None):
            out[cid] = {"claim": cid, "robust": None, "text": "—", "flips_on": None,
                        "flip_value": None}
            continue
        try:
            a = assess(cid, run, published)
        except (KeyError, ValueError, ZeroDivisionError, AttributeError) as e:   # a partial re-run
            out[cid] = {"claim": cid, "robust": None, "text": "—", "flips_on": None,
                        "flip_value": None, "note": f"not assessed ({type(e).__name__}: {e})"}
            continue
        if a.numeric and a.label != meta["verdict"]:
            out[cid] = {"claim": cid, "robust": None, "text": "—", "flips_on": None,
                        "flip_value": None, "note": f"the rule gives '{a.label}'"}
            continue
        out[cid] = a.as_dict()
    return out


def _run_of(chapters_dir, res: dict) -> catalog.Entry | None:
    """The accelerator a folder of executed chapters ran for: its ``rerun.json`` (hardware and
    overrides) when it has one, else the part of a result published under its headline's own
    name (the run's value); None when neither says."""
    import json
    from pathlib import Path

    from .notebook import accelerator

    meta = Path(chapters_dir) / "rerun.json"
    if meta.is_file():
        try:
            info = json.loads(meta.read_text(encoding="utf-8"))
            return accelerator(info["hardware"], info.get("overrides") or None)
        except (OSError, ValueError, KeyError, TypeError):
            pass
    for name, r in res.items():
        if r.get("headline") == name and r.get("accelerator"):
            return catalog.accelerators().get(r["accelerator"])
    return None


def column(labels: dict[str, str], run=None, published: dict | None = None) -> list[str]:
    """The robustness text for each claim of ``{id: the label the chapter gave}`` (a chapter's
    verdict table's column), for the run's accelerator ``run`` with the chapter's published
    values ``published``. "—" where there is no rule, where the rule does not give the
    chapter's label (a chapter that judges a reader's part otherwise) or cannot be evaluated
    for this run (a part that lacks what the rule reads)."""
    out = []
    for cid, label in labels.items():
        if cid not in RULES:
            out.append("—")
            continue
        try:
            a = assess(cid, run, published)
        except (KeyError, ValueError, ZeroDivisionError, AttributeError):
            out.append("—")
            continue
        out.append("—" if a.numeric and a.label != label else a.text)
    return out


def live_rules() -> dict[str, list[dict]]:
    """The claims whose verdict is the worst ``ratio_verdict`` over closed-form registry
    headlines for a part vs a claimed number, as ``{claim id: [{"headline": name, "part":
    "run" | key, "claimed": float, "band": [holds, caveat]}, ...]}`` (stable API: the browser
    re-evaluates these when the reader changes the hardware)."""
    heads = registry.headlines()
    out = {}
    for cid, rule in RULES.items():
        if not rule.parts or any(p.headline not in heads or not heads[p.headline].closed_form
                                 for p in rule.parts):
            continue
        out[cid] = [{"headline": p.headline, "part": p.part, "claimed": p.claimed_value(),
                     "band": [float(p.band[0]), float(p.band[1])]} for p in rule.parts]
    return out


def clear_cache() -> None:
    """Forget every assessment and interval (after a range is changed)."""
    _ASSESSED.clear()
    intervals.clear_cache()
