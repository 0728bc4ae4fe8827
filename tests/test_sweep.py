"""The catalog-wide sweep and the naming rule it relies on.

Naming rule: a result whose name starts with an accelerator key is computed for that
accelerator in every run; every other hardware-dependent result is computed for the run's
accelerator. So a swept quantity evaluated for the default accelerator must equal the committed
result of the same name, and evaluated for ``X`` must equal the committed ``X_<name>`` if a
chapter publishes one.
"""
from __future__ import annotations

import dataclasses
import json
import math
import subprocess
import sys

import pytest

from conftest import ROOT
from helpers import catalog, registry, results, sweep
from helpers.rerun import chapter_parameters


@pytest.fixture(scope="module")
def committed():
    return results.read_results()


@pytest.fixture(scope="module")
def quantities():
    return sweep.quantities()


def _default_accelerator(chapter: str) -> str:
    return chapter_parameters(results.CHAPTERS / f"{chapter}.ipynb")["accelerator"]


def test_registry_headlines_are_well_formed_and_print_to_javascript():
    """Every headline names no accelerator, says its unit and meaning, binds every symbol of its
    closed form, and prints to another language (a later issue evaluates them in the browser)."""
    from sympy.printing.jscode import jscode
    assert len(registry.headlines()) >= 20
    for name, h in registry.headlines().items():
        assert results.NAME.match(name) and name.split("_")[0] not in catalog.accelerators(), name
        assert h.unit and h.description and h.module, name
        if h.closed_form:
            assert h.expr.free_symbols <= set(h.inputs), name
            assert "Not supported" not in jscode(h.expr), name
        else:
            assert callable(h.fn) and h.why, name


def test_sweep_reads_the_registry(quantities):
    assert set(quantities) == set(registry.hardware_dependent())
    for name, q in quantities.items():
        assert q.fn(catalog.lookup("accelerators", "h100")) == \
            registry.get(name).value(catalog.lookup("accelerators", "h100")), name


def test_every_published_headline_value_is_the_registry_s(committed):
    """One definition: each result a chapter published from a registry headline (for the run's
    part or a named one) is that headline evaluated for that part: same value, unit and text."""
    h100 = catalog.lookup("accelerators", "h100")
    published = {r["headline"] for r in committed.values() if r["headline"]}
    for name, r in committed.items():
        if not r["headline"]:
            continue
        h = registry.get(r["headline"])
        acc = catalog.lookup("accelerators", r["accelerator"]) if r["accelerator"] else h100
        assert r["unit"] == h.unit, name
        assert h.value(acc) == pytest.approx(r["value"], rel=1e-12, abs=1e-15), name
        assert r["text"] == h.text(r["value"]), name
    for name, h in registry.headlines().items():
        # a chapter publishes no number when the value is unbounded
        assert name in published or math.isinf(h.value(h100)), \
            f"{name}: in the registry but published by no chapter"
    assert len(published) >= 40


def test_results_follow_the_naming_rule(committed, quantities):
    accs = catalog.accelerators()
    for name, r in committed.items():
        prefix = name.split("_")[0]
        default = _default_accelerator(r["chapter"])
        if prefix in accs:
            # named for an accelerator: computed for it, whatever the run
            assert r["accelerator"] == prefix, name
            rest = name[len(prefix) + 1:]
            if rest in quantities:     # and it agrees with the sweep for that accelerator
                assert quantities[rest].fn(accs[prefix]) == \
                    pytest.approx(r["value"], rel=1e-12), name
        elif r["accelerator"] is not None and r["accelerator"] != default:
            # computed for another part than the run's: the name must say which, as a whole
            # token (key or alias) anywhere in it, e.g. scale_out_slowdown_gb300
            assert _names_part(name, r["accelerator"]), \
                f"{name} is for {r['accelerator']}: name it so"


# "nvl72" alone is the GB200 NVL72 rack, as issue 7 names its required results
SYSTEM_NAMES = {"nvl72": "gb200"}


def _names_part(name: str, key: str) -> bool:
    tokens = name.split("_")
    entry = catalog.lookup("accelerators", key)
    spellings = [key, *entry.text.get("aliases", [])]
    spellings += [alias for alias, k in SYSTEM_NAMES.items() if k == key]
    for spelling in spellings:
        words = spelling.replace("-", "_").replace(".", "_").split("_")
        if any(tokens[i:i + len(words)] == words for i in range(len(tokens))):
            return True
    return False


def test_sweep_covers_every_catalogued_accelerator_and_missing_fields_are_none(quantities):
    table = sweep.evaluate(qs=quantities)
    assert list(table) == list(catalog.accelerators())
    assert all(set(row) == set(quantities) for row in table.values())
    h100 = catalog.lookup("accelerators", "h100")
    no_bf16 = dataclasses.replace(h100, key="no_bf16", fields={
        n: f for n, f in h100.fields.items() if n != "bf16_dense_flops"})
    row = sweep.evaluate([no_bf16], quantities)["no_bf16"]
    assert row["flops_per_byte"] is None and row["domain_hbm_terabytes"] == pytest.approx(0.64)


def test_sweep_scales_with_the_hardware_as_the_formulas_say(quantities):
    """Twice the bandwidth halves F/W and every balance batch; capacity leaves them alone."""
    h100 = catalog.lookup("accelerators", "h100")

    def scaled(field, factor):
        f = h100.fields[field]
        return dataclasses.replace(h100, fields=dict(h100.fields, **{
            field: dataclasses.replace(f, value=f.value * factor, si=f.si * factor)}))

    base, fast, big = (sweep.evaluate([a], quantities)[a.key]
                       for a in (h100, scaled("hbm_bandwidth", 2), scaled("hbm_capacity", 2)))
    for name in ("flops_per_byte", "optimal_batch_lecture_example",
                 "optimal_batch_deepseek_v3_by_params"):
        assert fast[name] == pytest.approx(base[name] / 2, rel=1e-12)
        assert big[name] == base[name]
    assert big["domain_hbm_terabytes"] == pytest.approx(2 * base["domain_hbm_terabytes"],
                                                 rel=1e-12)
    assert big["deepseek_v3_bf16_replica_chips"] == base["deepseek_v3_bf16_replica_chips"] / 2


def test_sweep_command_json(quantities):
    proc = subprocess.run([sys.executable, "-m", "helpers", "sweep", "--json"], cwd=ROOT,
                          capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr
    data = json.loads(proc.stdout)
    assert set(data["quantities"]) == set(quantities)
    assert set(data["accelerators"]) == set(catalog.accelerators())
    a100 = data["accelerators"]["a100"]
    assert a100["deepseek_v3_max_compute_bound_context"] == "inf"   # JSON has no infinity
    assert a100["flops_per_byte"] == pytest.approx(312e12 / 2.039e12, rel=1e-12)
