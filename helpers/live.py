"""Live pages: the registry's closed forms as JavaScript, so a reader's browser recomputes every
hardware-dependent value of a chapter page for another accelerator (or edited inputs), offline.

``python -m helpers live`` writes :data:`GENERATED` (committed; ``tests/test_live.py`` checks
it is current). It holds, as data and plain functions:

* each closed-form headline that reads an accelerator field, printed by SymPy's JavaScript
  printer (``sympy.printing.jscode``) after its symbols are renamed to identifiers (``v0``,
  ``v1``, ...). Inputs that do not depend on the accelerator (other catalogs' fields, claimed
  values, constants, derived numbers) are evaluated here and written as exact literals
  (``repr`` of a float round-trips); the accelerator's fields are read from the argument;
* which format each headline uses (the formatters themselves are mirrored by hand in
  ``_static/live/live.js`` and tested for parity with :data:`helpers.registry.FORMATS`);
* the catalogued accelerators' fields (value, unit, SI, the other reading), the unit factors,
  the plausible range of each field (:func:`helpers.hardware_file.plausible_ranges`, the same
  check a hardware file gets), the verdict bands and the live verdict rules
  (:func:`helpers.robustness.live_rules`).

The per-page data (which glued name is which headline and part) is written at build time by
``helpers/sphinx_live.py``, from the notebook's own output metadata.
"""
from __future__ import annotations

import json
import math
import re
from pathlib import Path

from sympy.printing.jscode import JavascriptCodePrinter

from . import catalog, registry, units as U, verdicts
from .paths import ROOT

LIVE_DIR = ROOT / "_static" / "live"
GENERATED = LIVE_DIR / "generated.js"
RUNTIME = LIVE_DIR / "live.js"
STYLE = LIVE_DIR / "live.css"

# the inputs a reader may edit, in the order the form shows them, with a label
FIELDS: dict[str, str] = {
    "bf16_dense_flops": "dense BF16",
    "fp8_dense_flops": "dense FP8",
    "hbm_capacity": "HBM capacity",
    "hbm_bandwidth": "HBM bandwidth",
    "scale_up_domain": "scale-up size",
    "scale_up_bandwidth": "scale-up bandwidth",
    "scale_out_bandwidth": "scale-out rate",
}


def live_rules() -> dict:
    """``{claim_id: [{headline, part, claimed, band: [holds, caveat]}, ...]}``: claims whose
    verdict is the worst ratio verdict of closed-form headlines against claimed numbers."""
    try:
        from .robustness import live_rules as rules
    except ImportError:          # helpers.robustness (issue 21) not there yet
        return {}
    return rules()


def _literal(x: float) -> str:
    x = float(x)
    if math.isinf(x):
        return "Infinity" if x > 0 else "-Infinity"
    if math.isnan(x):
        return "NaN"
    return repr(x)


class _Printer(JavascriptCodePrinter):
    """SymPy's JavaScript printer, printing each symbol under its identifier (``v00``, ...), and a
    square as one product (Python's ``x**2`` is the correctly rounded ``x*x``; ``Math.pow``
    need not be)."""

    def __init__(self, names: dict[str, str]):
        super().__init__()
        self.names = names

    def _print_Symbol(self, expr):
        return self.names[expr.name]

    def _print_Pow(self, expr):
        if expr.exp == 2 and expr.base.is_Symbol:
            b = self._print(expr.base)
            return f"({b}*{b})"
        return super()._print_Pow(expr)


def _as_evaluated(h: registry.Headline):
    """The expression exactly as :func:`helpers.formulas.evaluate` compiles it: stated zeros
    substituted, then each symbol that is no Python identifier replaced as ``lambdify`` does;
    SymPy then orders every sum and product the same way for both printers, so Python and
    JavaScript do the same operations in the same order. Returns (arguments, their printed
    names, expression)."""
    from sympy.printing.lambdarepr import LambdaPrinter
    from sympy.utilities.lambdify import _EvaluatorPrinter

    args = [s for s, inp in h.inputs.items()
            if inp.kind in ("hw", "hw_other") or registry._constant(inp) != 0]
    zeros = [s for s in h.inputs if s not in args]
    reduced = h.expr.subs(dict.fromkeys(zeros, 0)) if zeros else h.expr
    argstrs, expr = _EvaluatorPrinter(LambdaPrinter(), False)._preprocess(args, reduced)
    return args, argstrs, expr


def headline_js(h: registry.Headline) -> str:
    """``function(h){...}`` evaluating a closed form for accelerator fields ``h`` (SI; a field
    the part lacks is null; ``h._other`` holds each field's other reading)."""
    args, argstrs, expr = _as_evaluated(h)
    names = {a: f"v{i:02d}" for i, a in enumerate(argstrs)}
    lines, guards = [], []
    for s, a in zip(args, argstrs):
        inp = h.inputs[s]
        v = names[a]
        if inp.kind == "hw":
            first = f"h.{inp.ref[0]}"
            src = first if len(inp.ref) == 1 else f"({first} != null ? {first} : h.{inp.ref[1]})"
        elif inp.kind == "hw_other":
            src = f"h._other.{inp.ref[0]}"
        else:
            src = _literal(registry._constant(inp))
        lines.append(f"{v} = {src}")
        if inp.kind == "hw":      # a field the part lacks (no fallback): no value, as in Python
            guards.append(f"{v} == null")
    code = _Printer(names).doprint(expr)
    if "Not supported" in code:
        raise ValueError(f"headline '{h.name}': its closed form does not print to JavaScript")
    code = " ".join(part.strip() for part in code.splitlines())
    guard = f"if ({' || '.join(guards)}) return NaN; " if guards else ""
    return "function (h) { var " + ", ".join(lines) + "; " + guard + "return " + code + "; }"


def _accelerators() -> dict:
    out = {}
    for key, e in catalog.accelerators().items():
        fields = {}
        for name in FIELDS:
            f = e.fields.get(name)
            if f is None:
                continue
            other = U.other_reading(f) if f.value is not None else None
            fields[name] = {"value": f.value, "unit": f.unit, "si": f.si, "other": other}
        out[key] = {"name": e.name, "fields": fields}
    return out


def _ranges() -> dict:
    from .hardware_file import plausible_ranges

    r = plausible_ranges()
    return {n: [r[n][0], r[n][1]] for n in FIELDS}


def _units() -> dict:
    used = {f["unit"] for a in _accelerators().values() for f in a["fields"].values()}
    return {u: U.UNITS[u][1] for u in sorted(used)}


def data() -> dict:
    """Everything but the functions, as JSON-able data."""
    heads = {}
    for name, h in registry.headlines().items():
        if h.closed_form:
            heads[name] = {"fmt": h.fmt, "closed": True, "hw": list(h.hardware_fields)}
        else:
            heads[name] = {"fmt": h.fmt, "closed": False, "why": h.why}
    return {
        "fields": FIELDS,
        "dims": {n: catalog.SCHEMAS["accelerators"][n][0] for n in FIELDS},
        "units": _units(),
        "ranges": _ranges(),
        "accelerators": _accelerators(),
        "bands": {"default": list(verdicts.DEFAULT)},
        "rules": live_rules(),
        "headlines": heads,
    }


def generate() -> str:
    """The text of :data:`GENERATED`."""
    d = data()
    out = ["// GENERATED by `python -m helpers live` from helpers/registry.py and the catalogs.",
           "// Do not edit: tests/test_live.py checks it is current.",
           "(function (L) {",
           "L.data = " + json.dumps(d, sort_keys=True, ensure_ascii=False,
                                    separators=(",", ":")) + ";",
           "L.fn = {"]
    fns = []
    for name, h in registry.headlines().items():
        if h.closed_form and h.hardware_fields:
            fns.append(f"{json.dumps(name)}: {headline_js(h)}")
        elif h.closed_form:      # reads no accelerator field: its value, for verdict rules
            value = h.value(catalog.lookup("accelerators", "h100"))
            fns.append(f"{json.dumps(name)}: function () {{ return {_literal(value)}; }}")
    out.append(",\n".join(fns))
    out += ["};", "})(window.LIVE = window.LIVE || {});", ""]
    return "\n".join(out)


def write() -> Path:
    LIVE_DIR.mkdir(parents=True, exist_ok=True)
    GENERATED.write_text(generate(), encoding="utf-8")
    return GENERATED


def is_current() -> bool:
    return GENERATED.exists() and GENERATED.read_text(encoding="utf-8") == generate()


# --- a page's live data ---------------------------------------------------------------------
def page_data(nb_path: Path | str, chapter: str) -> dict | None:
    """What a chapter page's script needs: each glued result's headline, part and committed
    text, which of them move live and which need a re-run, and the page's claims. None for a
    notebook that publishes nothing for the run's accelerator."""
    from . import results

    accs = catalog.accelerators()
    heads = registry.headlines()
    nb = json.loads(Path(nb_path).read_text(encoding="utf-8"))
    res, claims, texts = {}, {}, {}
    for cell in nb.get("cells", []):
        for o in cell.get("outputs", []) if cell.get("cell_type") == "code" else []:
            meta = o.get("metadata", {})
            name = meta.get("scrapbook", {}).get("name")
            if name is None:
                continue
            if results.RESULT_KEY in meta:
                res[name] = meta[results.RESULT_KEY]
            elif results.CLAIM_KEY in meta:
                claims[name] = meta[results.CLAIM_KEY]
            else:
                texts[name] = True
    run = _run_key(res, accs)
    if run is None:
        return None
    out_res = {}
    for name, m in res.items():
        kind = classify(name, m, run, accs, heads)
        entry = {"text": m["text"], "kind": kind}
        if m.get("headline"):
            entry["headline"] = m["headline"]
        if kind == "rerun":
            h = heads.get(m.get("headline") or "")
            entry["why"] = (h.why if h is not None and not h.closed_form else
                            "a one-off number the chapter computes for its run's accelerator")
        out_res[name] = entry
    out_claims = {m["id"]: {"verdict": m["verdict"], "caveat": m.get("caveat", ""),
                            "glue": name} for name, m in claims.items()}
    hw = sorted({f for m in res.values() if m.get("headline") in heads
                 for f in heads[m["headline"]].hardware_fields if f in FIELDS},
                key=list(FIELDS).index)
    return {"chapter": chapter, "run": run, "results": out_res, "claims": out_claims,
            "fields": hw or list(FIELDS), "texts": sorted(texts)}


def _run_key(res: dict, accs) -> str | None:
    keys = [m["accelerator"] for n, m in res.items()
            if m.get("accelerator") and not names_a_part(n, accs)]
    if not keys:
        return None
    key = max(set(keys), key=keys.count)
    return key if key in accs else None


def names_a_part(name: str, accs) -> bool:
    """Whether a result's name names an accelerator (``h100_x``, ``kimi_k2_h100_stages``,
    ``x_gb300``): by the naming rule of :mod:`helpers.results` it then means that part."""
    padded = f"_{name}_"
    return any(f"_{key}_" in padded for key in accs)


def classify(name: str, meta: dict, run: str, accs, heads) -> str:
    """``live`` (a closed form of the run's accelerator: recomputed in the browser), ``rerun``
    (depends on the run's accelerator but is no closed form: needs a Python re-run) or
    ``fixed`` (names its part, or depends on no accelerator)."""
    h = heads.get(meta.get("headline") or "")
    if h is not None and name == h.name and meta.get("accelerator"):   # the run's value
        if h.closed_form:
            return "live" if h.hardware_fields else "fixed"
        return "rerun"
    if names_a_part(name, accs) or not meta.get("accelerator"):
        return "fixed"
    if h is not None:            # a twin under another name (names={...}): its part's
        return "fixed"
    return "rerun" if meta["accelerator"] == run else "fixed"


# --- the verdicts the page recomputes, in Python (what the tests and the report compare) ------
def severity(label: str) -> float:
    """How far a label is from "holds": holds 0, holds with caveat 1, off by N× 2 + N."""
    if label == "holds":
        return 0.0
    if label == "holds with caveat":
        return 1.0
    m = re.match(r"off by ([\d.]+)×", label)
    return 2 + float(m.group(1)) if m else math.inf


def verdict(claim_id: str, entry: catalog.Entry, rules: dict | None = None) -> str | None:
    """A live claim's label for the run's accelerator ``entry``: the worst ratio verdict over its
    rules (None when one of its values is unbounded)."""
    rules = live_rules() if rules is None else rules
    worst = None
    for r in rules[claim_id]:
        part = entry if r["part"] in (None, "run") else catalog.lookup("accelerators", r["part"])
        try:
            x = registry.get(r["headline"]).value(part)
        except (ZeroDivisionError, catalog.CatalogError):
            return None
        if not math.isfinite(x) or x <= 0:
            return None
        label = verdicts.ratio_verdict(r["claimed"], x, tuple(r["band"]))
        if worst is None or severity(label) > severity(worst):
            worst = label
    return worst
