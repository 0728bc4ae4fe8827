"""Chapter 7 formulas: what an accelerator-hour and a million tokens cost, and the claims about
GPU lives, watts and racks in orbit.

* **An accelerator-hour.** Capital ``K = P o`` (the chip's price ``P`` times the server overhead
  ``o``) is annualised with the capital-recovery factor ``CRF = r / (1 - (1 + r)^-n)`` over a
  life of ``n`` years at rate ``r``; power is the chip's TDP times its mean draw ``phi``, the
  server's share ``sigma`` and the facility's PUE, bought at ``c_e`` per joule. Operations
  (staff, repairs, software) are not modelled: no sourced figure was found.
* **A million tokens.** Chapter 1's accelerator-seconds per token (the roofline at the balance
  batch, with attention and the KV read) times the cost of an accelerator-second, over the
  share ``u`` of hours that serve traffic.
* **GB-1..GB-5.** Annuity ratios, an economic life (the age at which an old part's running cost
  per token meets a new part's all-in cost, with the new part improving at Epoch's
  price-performance trend), the solar and radiator areas of a rack in orbit, and money as watts.

The accelerator's price is a per-part entry of ``costs.yaml``, not an accelerator field, so the
headlines that need it are Python functions (``fn``) returning ``inf`` for a part with no price
or no TDP; everything else is a closed form.
"""
from __future__ import annotations

import math

import sympy as sp

from . import catalog, formulas as f, parallelism as par, roofline as rf, serving
from .registry import Headline, claimed, derived, field, hw

# --- symbols -------------------------------------------------------------------------------
P = sp.Symbol(r"P_\mathrm{acc}", positive=True)         # accelerator price, USD
o = sp.Symbol("o", positive=True)                       # server overhead (system / chip price)
r = sp.Symbol(r"r_\mathrm{fin}", positive=True)         # financing rate per year
n = sp.Symbol("n", positive=True)                       # useful life, years
Y = sp.Symbol("Y", positive=True)                       # seconds in a year
P_tdp = sp.Symbol(r"P_\mathrm{TDP}", positive=True)     # accelerator TDP, W
phi = sp.Symbol(r"\phi_\mathrm{TDP}", positive=True)     # mean draw / TDP
sigma = sp.Symbol(r"\sigma_\mathrm{srv}", positive=True)  # server power per GPU / TDP
pue = sp.Symbol(r"\mathrm{PUE}", positive=True)         # facility power / IT power
c_e = sp.Symbol(r"c_\mathrm{e}", positive=True)                  # electricity, USD per joule
u = sp.Symbol(r"u_\mathrm{serve}", positive=True)       # share of hours serving traffic
tau = sp.Symbol(r"\tau_\mathrm{tok}", positive=True)     # accelerator-seconds per token
r2, n2 = sp.Symbol(r"r_{\mathrm{fin},2}", positive=True), sp.Symbol("n_2", positive=True)
g = sp.Symbol(r"g_\mathrm{trend}", positive=True)       # price-performance, OOM per year
c_new = sp.Symbol(r"c_\mathrm{new}", positive=True)     # new part all-in USD per token
c_run = sp.Symbol(r"c_\mathrm{run}", positive=True)     # old part running USD per token
t_gap = sp.Symbol(r"\Delta t", positive=True)           # launch gap, years
S = sp.Symbol("S", positive=True)                       # solar constant, W/m^2
eta = sp.Symbol(r"\eta_\mathrm{cell}", positive=True)    # cell efficiency
d = sp.Symbol(r"d_\mathrm{EOL}", positive=True)         # end-of-life retention
f_sun = sp.Symbol(r"f_\mathrm{sun}", positive=True)            # share of the orbit in sunlight
P_rack = sp.Symbol(r"P_\mathrm{rack}", positive=True)   # rack power, W
eps = sp.Symbol(r"\varepsilon", positive=True)          # radiator emissivity
sb = sp.Symbol(r"\sigma_\mathrm{SB}", positive=True)    # Stefan-Boltzmann constant
T = sp.Symbol(r"T_\mathrm{rad}", positive=True)         # radiator temperature, K
sides = sp.Symbol(r"n_\mathrm{sides}", positive=True)   # radiating faces
M = sp.Symbol("M", positive=True)                       # rack mass, kg
c_L = sp.Symbol(r"c_\mathrm{L}", positive=True)                  # launch price, USD/kg
n_tray, P_tray, P_sw = sp.symbols(r"n_\mathrm{tray} P_\mathrm{tray} P_\mathrm{sw}", positive=True)
D = sp.Symbol(r"D_\mathrm{USD}", positive=True)         # dollars spent (sales, ARR)
K_gpu = sp.Symbol(r"K_\mathrm{gpu}", positive=True)     # all-in USD per accelerator
P_gpu = sp.Symbol(r"P_\mathrm{gpu}", positive=True)     # all-in W per accelerator
h_cost = sp.Symbol(r"c_\mathrm{h}", positive=True)               # USD per accelerator-second
f_net = sp.Symbol(r"f_\mathrm{net}", positive=True)     # cluster network share of capex

SYMBOL_MEANING = {
    P: "accelerator price, USD", o: "server overhead: system price / chip price",
    r: "financing rate per year", n: "useful life, years", Y: "seconds in a year",
    P_tdp: "accelerator TDP, W", phi: "mean power draw as a share of TDP",
    sigma: "server power per accelerator / its TDP", pue: "power usage effectiveness",
    c_e: "electricity price, USD per joule", u: "share of hours that serve traffic",
    tau: "accelerator-seconds per token", g: "price-performance trend, orders of magnitude a year",
    c_new: "a new part's all-in cost per token", c_run: "an old part's running cost per token",
    t_gap: "years between the two parts' launches", S: "solar constant, W/m^2",
    eta: "solar-cell efficiency", d: "power retained at end of life",
    f_sun: "share of the orbit in sunlight", P_rack: "rack power, W", eps: "emissivity",
    sb: "Stefan-Boltzmann constant", T: "radiator temperature, K",
    sides: "radiating faces (1 or 2)", M: "rack mass, kg", c_L: "launch price, USD/kg",
    D: "dollars (GPU sales, ARR)", K_gpu: "all-in capital per accelerator, USD",
    P_gpu: "all-in power per accelerator, W", h_cost: "cost of an accelerator-second, USD",
    f_net: "cluster-level network's share of all capital (Epoch: 19 %)",
}

def deepseek_kv_bytes_fp8() -> float:
    """DeepSeek-V3's MLA cache per token of context, all layers, one byte per element."""
    return f.kv_bytes_per_token(catalog.models()["deepseek_v3"], 1.0)


def deepseek_attention_flops() -> float:
    """DeepSeek-V3's absorbed-MLA attention FLOPs per generated token per context token."""
    return f.attention_flops_per_context_token(catalog.models()["deepseek_v3"])


HOURS = 3600.0
YEAR_S = 365.25 * 24 * HOURS        # Epoch's year (365.25 days)
FP8 = 1.0                           # bytes per FP8 weight

# --- the cost of an accelerator-hour -------------------------------------------------------
crf = r / (1 - (1 + r) ** -n)                           # capital-recovery factor
capital_per_s = P * o * crf / (Y * (1 - f_net))      # servers plus the cluster network
power_per_s = P_tdp * phi * sigma * pue * c_e
cost_per_s = capital_per_s + power_per_s
cost_per_hour = cost_per_s * HOURS

# --- a million tokens ----------------------------------------------------------------------
cost_per_mtok = h_cost * tau * 10**6 / u
_decode_tau = f.cost_per_token.subs(f.B, f.balance_batch())     # at the balance batch
_prefill_tau = (2 * f.N_act + f.a_kv * f.L / 2) / f.F          # compute-bound, causal prompt

# --- GB-1: life and rate; the economic life ------------------------------------------------
annual_capital_ratio = crf.subs({r: r2, n: n2}) / crf            # long life / short life
# new parts get cheaper per token by 10^-g a year: the old part's running cost meets the new
# part's all-in cost t years after the new part's launch
(_t_meet,) = sp.solve(sp.Eq(c_new * 10 ** (-g * sp.Symbol("t")), c_run), sp.Symbol("t"))
economic_life = t_gap + _t_meet

# --- GB-2: prefill's KV at the compute-bound threshold --------------------------------------
C = rf.C                                  # HBM capacity per accelerator (chapter 1)
prefill_kv_share = f.balance_batch() * f.b_kv / C   # tokens in flight at balance x KV / HBM

# --- GB-3: a rack in orbit -----------------------------------------------------------------
rack_power = n_tray * P_tray + P_sw
solar_area = P_rack / (S * eta * d * f_sun)
radiator_area = P_rack / (sides * eps * sb * T**4)
orbit_over_ground = (M * c_L / P_rack) / (pue * c_e * Y * n)   # launch $/W over energy $/W

# --- GB-4/5: money as watts ----------------------------------------------------------------
watts_bought = D / K_gpu * P_gpu * pue                         # accelerators x W x PUE
watts_rented = D / (Y * h_cost) * P_gpu * pue                  # ARR spent on hours at cost


# --- numbers -------------------------------------------------------------------------------
def _cat(key):
    return catalog.load("costs")[key]


def assumptions(**over) -> dict:
    """The cost model's assumptions in SI (life in years, rate and shares as fractions, USD/J)."""
    a = _cat("assumptions")
    out = {k: getattr(a, k) for k in a.fields}
    out.update(over)
    return out


def _deepseek_values(acc) -> dict:
    m = catalog.models()["deepseek_v3"]
    return {f.N_tot: m.total_params, f.N_act: m.active_params, f.b_w: FP8,
            f.F: acc.fp8_dense_flops if acc.has("fp8_dense_flops") else acc.bf16_dense_flops,
            f.W: acc.hbm_bandwidth, f.b_kv: deepseek_kv_bytes_fp8(),
            f.a_kv: deepseek_attention_flops(),
            f.L: catalog.load("moe_rack")["deepseek_online_service"].mean_context}


def decode_seconds_per_token(acc) -> float:
    return f.evaluate(_decode_tau, _deepseek_values(acc))


def prefill_seconds_per_token(acc) -> float:
    return f.evaluate(_prefill_tau, _deepseek_values(acc))


def has_price(acc) -> bool:
    return acc.key in catalog.load("costs") and acc.has("tdp")


def hour_cost(acc, price_scale: float = 1.0, **over) -> float:
    """USD per accelerator-hour of calendar time; inf for a part with no price or TDP."""
    if not has_price(acc):
        return math.inf
    a, c = assumptions(**over), _cat(acc.key)
    return f.evaluate(cost_per_hour, {
        P: c.price * price_scale, o: c.server_overhead, r: a["rate"], n: a["life"],
        f_net: a["network_share"],
        Y: YEAR_S, P_tdp: acc.tdp, phi: a["tdp_fraction"], sigma: a["server_power_ratio"],
        pue: a["pue"], c_e: a["electricity"]})


def energy_hour_cost(acc, **over) -> float:
    """USD per hour of power alone (an old, paid-off part's running cost)."""
    if not acc.has("tdp"):
        return math.inf
    a = assumptions(**over)
    return f.evaluate(power_per_s * HOURS, {P_tdp: acc.tdp, phi: a["tdp_fraction"],
                      sigma: a["server_power_ratio"], pue: a["pue"], c_e: a["electricity"]})


def per_mtok(hourly: float, seconds_per_token: float, util: float) -> float:
    if math.isinf(hourly):
        return math.inf
    return f.evaluate(cost_per_mtok, {h_cost: hourly / HOURS, tau: seconds_per_token, u: util})


# --- the modelled cost: replicated weights, BF16 cache and attention, achievable rates, the
# all-to-all ----------------------------------------------------------------------------------
# DeepSeek's decode layout (day 6; LMSYS reproduces it): attention data-parallel on every GPU,
# experts spread over an expert-parallel group of G GPUs. Each GPU holds the non-routed weights
# and 1/G of the routed ones, and the BF16 MLA cache of its T sequences; a step reads both at the
# achieved HBM rate, or does its GEMMs (FP8) and absorbed-MLA attention (BF16, as DeepSeek's
# "core MLA computations") at their achieved rates, whichever is longer; then each of the MoE
# layers' dispatch and combine (measured, not overlapped: the measured throughputs sit at or
# below this sum). T is as many sequences as the HBM left over holds.
# one symbol, one meaning, book-wide: T_GPU, eta_F, eta_att, F_BF16 and n_moe are chapter 6's
# (helpers.parallelism), eta_HBM chapter 2's (helpers.serving), C_HBM chapter 1's (helpers.roofline)
T_seq = par.T_gpu                                       # decode sequences (tokens) per GPU
M_g = sp.Symbol(r"M_\mathrm{GPU}", positive=True)       # weight bytes per GPU
C_u = rf.C                                              # HBM per GPU, bytes
eta_W = serving.eta                                     # achieved / peak HBM bandwidth (ch. 2)
eta_F = par.eta_F                                       # achieved / peak FP8 GEMM rate
eta_A = par.eta_A                                       # achieved / peak BF16 attention rate
F16 = par.F_att                                         # dense BF16 FLOP/s
n_moe = par.n_moe                                       # MoE layers
t_x = sp.Symbol(r"t_\mathrm{a2a}", positive=True)       # all-to-all s per token per MoE layer
SYMBOL_MEANING.update({
    M_g: "weight bytes each GPU holds and reads",
    t_x: "dispatch + combine seconds per token per MoE layer"})
t_mem = (M_g + T_seq * f.L * f.b_kv) / (eta_W * f.W)
t_flop = T_seq * (2 * f.N_act / (eta_F * f.F) + f.L * f.a_kv / (eta_A * F16))
decode_step = sp.Max(t_mem, t_flop) + T_seq * n_moe * t_x
decode_tau_modelled = decode_step / T_seq              # GPU-seconds per output token
seqs_that_fit = (C_u - M_g) / (f.L * f.b_kv)
# prefill runs MLA un-absorbed (MHA mode): 2 n_h (d_qk + d_v) FLOPs per earlier token, L / 2 of
# them on average, per layer; its all-to-all overlaps the layer (DeepSeek's two micro-batches),
# so the longer of the two sets the time
f_pre = sp.Symbol(r"f_\mathrm{MHA}", positive=True)     # attention FLOPs per token per layer
n_L = sp.Symbol(r"n_\mathrm{L}", positive=True)
SYMBOL_MEANING.update({f_pre: "prefill attention FLOPs per token per layer (MHA mode)",
                       n_L: "layers"})
prefill_tau_modelled = sp.Max(2 * f.N_act / (eta_F * f.F) + n_L * f_pre / (eta_A * F16),
                              n_moe * t_x)
EP_SCALE_OUT = 128     # DeepEP's measured low-latency EP128: DeepSeek decodes on EP144


def _ds():
    return catalog.models()["deepseek_v3"]


def _achieved() -> dict:
    return {eta_W: catalog.load("achievable")["h100"].hbm_bandwidth_fraction,
            eta_F: par.gemm_efficiency(), eta_A: par.attention_efficiency()}


def holds_model_in_domain(acc) -> bool:
    """Experts stay on the scale-up link when one domain holds the FP8 weights in half its
    HBM (the rest for the cache); otherwise the group spans domains over the NIC."""
    return acc.scale_up_domain * acc.hbm_capacity >= 2 * _ds().total_params * FP8


def expert_group(acc) -> int:
    return int(acc.scale_up_domain) if holds_model_in_domain(acc) else EP_SCALE_OUT


def weight_bytes_per_gpu(acc) -> float:
    m = _ds()
    routed = (m.n_layers - m.n_dense_layers) * m.routed_experts * par.expert_size(m) * FP8
    return m.total_params * FP8 - routed * (1 - 1 / expert_group(acc))


def a2a_seconds_per_token(acc, phase: str = "decode") -> float:
    """Dispatch + combine per token and MoE layer: over the NIC, DeepEP's measured EP128
    latencies for its 128 tokens per GPU (decode) or its normal kernels' measured rates
    (prefill); on a domain that holds the model, chapter 6's NVLink model at DeepEP's rates."""
    m = _ds()
    if holds_model_in_domain(acc):
        return f.evaluate(par.t_link, par.overlap_values(m, acc, "scale_up"))
    if phase == "prefill":
        return f.evaluate(par.t_link, par.overlap_values(m, acc, "scale_out"))
    ll = catalog.load("networks")["deepep_low_latency_h800"]
    return (ll.dispatch_latency_ep128 + ll.combine_latency_ep128) / ll.tokens


def _modelled_values(acc) -> dict:
    m = _ds()
    s = par.shapes(m)
    vals = {**_deepseek_values(acc), **_achieved(), f.b_kv: rf.deepseek_kv_bytes_bf16(),
            M_g: weight_bytes_per_gpu(acc), C_u: acc.hbm_capacity, F16: acc.bf16_dense_flops,
            n_moe: m.n_layers - m.n_dense_layers, n_L: m.n_layers,
            f_pre: m.n_heads * (s.qk_nope_head_dim + m.qk_rope_head_dim + s.v_head_dim)
            * vals_context()}
    return vals


def vals_context() -> float:
    return catalog.load("moe_rack")["deepseek_online_service"].mean_context


def decode_batch_per_gpu(acc) -> float:
    """Sequences of the service's mean context whose BF16 cache fits beside the weights."""
    v = _modelled_values(acc)
    return math.floor(f.evaluate(seqs_that_fit, v))


def decode_tokens_per_gpu_s(acc) -> float:
    v = _modelled_values(acc)
    v.update({T_seq: decode_batch_per_gpu(acc), t_x: a2a_seconds_per_token(acc)})
    return 1 / f.evaluate(decode_tau_modelled, v)


def prefill_tokens_per_gpu_s(acc) -> float:
    v = _modelled_values(acc)
    v[t_x] = a2a_seconds_per_token(acc, "prefill")
    return 1 / f.evaluate(prefill_tau_modelled, v)


def decode_floor_mtok(acc, price_scale: float = 1.0, **over) -> float:
    """The roofline floor: one weight copy, FP8 cache and attention at peak, no all-to-all."""
    return per_mtok(hour_cost(acc, price_scale, **over), decode_seconds_per_token(acc),
                    assumptions(**over)["utilisation"])


def prefill_floor_mtok(acc, price_scale: float = 1.0, **over) -> float:
    return per_mtok(hour_cost(acc, price_scale, **over), prefill_seconds_per_token(acc),
                    assumptions(**over)["utilisation"])


def decode_mtok(acc, price_scale: float = 1.0, **over) -> float:
    """The modelled cost per million output tokens."""
    if not has_price(acc) or not acc.has("fp8_dense_flops"):
        return math.inf if not has_price(acc) else decode_floor_mtok(acc, price_scale, **over)
    return per_mtok(hour_cost(acc, price_scale, **over), 1 / decode_tokens_per_gpu_s(acc),
                    assumptions(**over)["utilisation"])


def prefill_mtok(acc, price_scale: float = 1.0, **over) -> float:
    """The modelled cost per million computed (cache-miss) input tokens."""
    if not has_price(acc) or not acc.has("fp8_dense_flops"):
        return math.inf if not has_price(acc) else prefill_floor_mtok(acc, price_scale, **over)
    return per_mtok(hour_cost(acc, price_scale, **over), 1 / prefill_tokens_per_gpu_s(acc),
                    assumptions(**over)["utilisation"])


REFERENCE_NEW = "b200"     # the new part an old one competes with


def seconds_per_token(acc, phase: str = "decode") -> float:
    """Modelled GPU-seconds per token (the floor's on a part without FP8 units)."""
    if not acc.has("fp8_dense_flops"):
        return (decode_seconds_per_token if phase == "decode" else prefill_seconds_per_token)(acc)
    return 1 / (decode_tokens_per_gpu_s if phase == "decode" else prefill_tokens_per_gpu_s)(acc)


def life_years(acc, phase: str = "decode", **over) -> float:
    """Age (years from the part's launch) at which its energy cost per token reaches the
    all-in cost per token of the reference new part, improving at the price-performance trend."""
    new = catalog.accelerators()[REFERENCE_NEW]
    if not acc.has("tdp") or not has_price(new):
        return math.inf
    mtok = decode_mtok if phase == "decode" else prefill_mtok
    a = assumptions(**over)
    run = per_mtok(energy_hour_cost(acc, **over), seconds_per_token(acc, phase),
                   a["utilisation"])
    return f.evaluate(economic_life, {c_new: mtok(new, **over), c_run: run,
                      g: a["price_performance_ooms_per_year"], t_gap: new.launch - acc.launch})


# --- headlines -----------------------------------------------------------------------------
_WHY = ("the accelerator's price is a per-part entry of costs.yaml, not an accelerator field; "
        "a part with no catalogued price or TDP gives inf")
_CL = {r: claimed("GB-1", "short_rate"), r2: derived(
    lambda: (_claim("GB-1", "long_rate_low") + _claim("GB-1", "long_rate_high")) / 2,
    "mid of GB-1's 5-6 %"),
    n: derived(lambda: (_claim("GB-1", "short_life_low") + _claim("GB-1", "short_life_high"))
               / 2, "mid of 4-6 years"),
    n2: derived(lambda: (_claim("GB-1", "long_life_low") + _claim("GB-1", "long_life_high"))
                / 2, "mid of GB-1's 10-15 years")}


def _claim(cid, name):
    from . import claims
    return claims.get(cid).value(name)


_SPACE = {S: field("costs", "space", "solar_constant"),
          eta: field("costs", "space", "cell_efficiency"),
          d: field("costs", "space", "end_of_life_retention"),
          f_sun: field("costs", "space", "illumination")}
_RACK = {n_tray: field("costs", "nvl72_rack", "compute_trays"),
         P_tray: field("costs", "nvl72_rack", "compute_tray_power"),
         P_sw: field("costs", "nvl72_rack", "switch_trays_power")}
_RAD = {eps: field("costs", "space", "emissivity"),
        sb: field("costs", "space", "stefan_boltzmann"),
        T: field("costs", "space", "radiator_temperature")}
_A = {pue: field("costs", "assumptions", "pue"), c_e: field("costs", "assumptions", "electricity"),
      n: field("costs", "assumptions", "life"),
      Y: derived(lambda: YEAR_S, "seconds in a year")}


def _gb200_all_in_capex() -> float:
    c = _cat("gb200")
    return c.price * c.server_overhead


def _gb200_watts() -> float:
    return _rack_watts() / catalog.accelerators()["gb200"].scale_up_domain


def _rack_watts() -> float:
    rk = _cat("nvl72_rack")
    return f.evaluate(rack_power, {n_tray: rk.compute_trays, P_tray: rk.compute_tray_power,
                                   P_sw: rk.switch_trays_power})


HEADLINES = [
    Headline("cost_per_gpu_hour", "USD/h", "all-in cost of an accelerator-hour: capital "
             "(price x server overhead x CRF) plus power (TDP x draw x server share x PUE x "
             "$/kWh); operations not modelled", fn=hour_cost, why=_WHY, fmt="num"),
    Headline("deepseek_v3_decode_cost_per_mtok", "USD/Mtok", "DeepSeek-V3 decode, modelled: "
             "data-parallel attention with the non-routed weights on every GPU, BF16 MLA cache "
             "and attention, achievable rates, as many sequences as HBM holds, measured "
             "all-to-all added; $/GPU-second / tokens per GPU-second / utilisation",
             fn=decode_mtok, why=_WHY, claims=("RP-23",), fmt="num"),
    Headline("deepseek_v3_decode_floor_per_mtok", "USD/Mtok", "DeepSeek-V3 decode, roofline "
             "floor: one FP8 weight copy per replica at the balance batch, FP8 cache and "
             "attention at peak, no all-to-all", fn=decode_floor_mtok, why=_WHY,
             claims=("RP-23",), fmt="num"),
    Headline("deepseek_v3_prefill_cost_per_mtok", "USD/Mtok", "DeepSeek-V3 prefill per computed "
             "input token, modelled: FP8 GEMMs and MHA-mode BF16 attention at achievable "
             "rates, or the all-to-all when it is longer", fn=prefill_mtok, why=_WHY,
             claims=("RP-23",), fmt="num"),
    Headline("deepseek_v3_prefill_floor_per_mtok", "USD/Mtok", "DeepSeek-V3 prefill floor (FP8, "
             "absorbed attention, peak FLOP/s, no all-to-all)", fn=prefill_floor_mtok,
             why=_WHY, claims=("RP-23",), fmt="num"),
    Headline("deepseek_v3_decode_tokens_per_gpu_s", "tokens/s", "modelled DeepSeek-V3 decode "
             "throughput per GPU (the model behind the decode cost)",
             fn=lambda a: decode_tokens_per_gpu_s(a) if a.has("fp8_dense_flops") else math.inf,
             why="a max over memory and arithmetic plus a measured all-to-all, with a "
             "capacity-limited batch (floor)", fmt="integer"),
    Headline("economic_life_years", "years", "age at which the part's energy cost per decode "
             "token meets a B200's all-in cost per token, B200s improving at Epoch's 0.14 OOM "
             "a year", fn=life_years, why=_WHY, claims=("GB-1",), fmt="num"),
    Headline("economic_life_years_prefill", "years", "the same for prefill-only duty",
             fn=lambda a: life_years(a, "prefill"), why=_WHY, claims=("GB-1",), fmt="num"),
    Headline("annual_capital_cost_ratio_long_life", "ratio", "annual capital cost at 12.5 "
             "years and 5.5 % over that at 5 years and 7.25 % (capital-recovery factors)",
             annual_capital_ratio, _CL, claims=("GB-1",), fmt="num2"),
    Headline("prefill_kv_share_of_hbm", "fraction", "DeepSeek-V3 (FP8): the KV cache of the "
             "tokens a prefill step needs in flight to be compute-bound (the balance batch in "
             "tokens) as a share of one accelerator's HBM", prefill_kv_share,
             {f.F: hw("fp8_dense_flops", "bf16_dense_flops"), f.W: hw("hbm_bandwidth"),
              C: hw("hbm_capacity"), f.N_tot: field("models", "deepseek_v3", "total_params"),
              f.N_act: field("models", "deepseek_v3", "active_params"),
              f.b_w: derived(lambda: FP8, "FP8 weights"),
              f.b_kv: derived(deepseek_kv_bytes_fp8, "DeepSeek-V3 FP8 MLA cache bytes/token")},
             claims=("GB-2",), fmt="pct3"),
    Headline("nvl72_rack_power_kw", "kW", "GB200 NVL72 rack power from its trays: 18 compute "
             "trays + 9 switch trays", rack_power / 1000, _RACK, claims=("GB-3",), fmt="num"),
    Headline("orbital_solar_area_m2_per_rack", "m^2", "solar array for one NVL72 rack at end "
             "of life in a dawn-dusk orbit", solar_area.subs(P_rack, rack_power),
             {**_SPACE, **_RACK}, claims=("GB-3",), fmt="integer"),
    Headline("orbital_radiator_area_m2_per_rack", "m^2", "radiator rejecting one NVL72 rack's "
             "heat, one face, at 70 C (eps sigma T^4; no sunlight or Earth IR absorbed)",
             radiator_area.subs({P_rack: rack_power, sides: 1}), {**_RAD, **_RACK},
             claims=("GB-3",), fmt="integer"),
    Headline("orbital_cost_per_kw_over_life_ratio", "ratio", "launching the rack alone (Falcon "
             "9 $/kg) per kW over a kW of terrestrial electricity (with PUE) over the life",
             orbit_over_ground.subs(P_rack, rack_power),
             {**_RACK, **_A, M: field("costs", "nvl72_rack", "mass"),
              c_L: field("costs", "space", "launch_price")}, claims=("GB-3",), fmt="num"),
    Headline("gpu_sales_2026_2027_gigawatts", "GW", "$2.5T of GB200 NVL72 racks (mid of GB-4) "
             "as GW: racks x rack power x PUE", watts_bought / 1e9,
             {D: derived(lambda: (_claim("GB-4", "gpu_sales_low")
                                  + _claim("GB-4", "gpu_sales_high")) / 2, "mid of $2-3T"),
              K_gpu: derived(_gb200_all_in_capex, "GB200 all-in $ per GPU"),
              P_gpu: derived(_gb200_watts, "NVL72 rack power / 72"), **_A},
             claims=("GB-4",), fmt="integer"),
    Headline("anthropic_arr_added_month_megawatts", "MW", "$11B of ARR spent on GB200 hours at "
             "the chapter's cost: accelerators x W x PUE", watts_rented / 1e6,
             {D: claimed("GB-5", "arr_added_month"),
              h_cost: derived(lambda: hour_cost(catalog.accelerators()["gb200"]) / HOURS,
                              "GB200 $/accelerator-second"),
              P_gpu: derived(_gb200_watts, "NVL72 rack power / 72"), **_A},
             claims=("GB-5",), fmt="integer"),
]
