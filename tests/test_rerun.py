"""Papermill re-runs of chapter 1 with other hardware change exactly what the formulas say."""
from __future__ import annotations

import hashlib
import subprocess
import sys

import pytest
import yaml

from helpers import catalog
from helpers.results import read_claims, read_results
from conftest import ROOT

CHAPTER = "01_optimal_batch"


def _digest():
    return {p.name: hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted((ROOT / "chapters").glob("*.ipynb"))}


def _execute(*args):
    return subprocess.run([sys.executable, "-m", "helpers", "execute", CHAPTER, *args],
                          cwd=ROOT, capture_output=True, text=True, timeout=600)


@pytest.fixture(scope="module")
def committed():
    return read_results()


@pytest.fixture(scope="module")
def b200_run(tmp_path_factory):
    before = _digest()
    out = tmp_path_factory.mktemp("b200")
    proc = _execute("--accelerator", "b200", "--out", str(out))
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert _digest() == before, "a re-run touched the committed notebooks"
    return read_results(out)


def _ratio(key):
    a = catalog.lookup("accelerators", key)
    return a.bf16_dense_flops / a.hbm_bandwidth


def test_rerun_changes_run_results_by_the_hardware_ratio(committed, b200_run):
    scale = _ratio("b200") / _ratio("h100")
    assert b200_run["flops_per_byte"]["value"] == pytest.approx(_ratio("b200"), rel=1e-12)
    for name in ("optimal_batch_lecture_example", "optimal_batch_deepseek_v3_by_params",
                 "optimal_batch_deepseek_v3_by_experts"):
        assert b200_run[name]["value"] == pytest.approx(committed[name]["value"] * scale, rel=1e-12)
        assert b200_run[name]["accelerator"] == "b200"
    # without attention arithmetic the longest compute-bound context scales as W / F
    name = "deepseek_v3_max_compute_bound_context_lecture"
    assert b200_run[name]["value"] == pytest.approx(committed[name]["value"] / scale, rel=1e-12)


def test_default_rerun_reproduces_every_committed_result_and_verdict(tmp_path_factory, committed):
    """nbval compares the printed outputs; this compares the exact published values (kept in
    output metadata, which nbval skips), so a catalog change not followed by re-execution fails."""
    out = tmp_path_factory.mktemp("default")
    proc = _execute("--out", str(out))
    assert proc.returncode == 0, proc.stdout + proc.stderr
    # only chapter 1 was re-executed: compare with its committed results (other chapters exist)
    assert read_results(out) == {k: v for k, v in committed.items() if v["chapter"] == CHAPTER}
    assert read_claims(out) == {k: v for k, v in read_claims().items() if v["chapter"] == CHAPTER}


def test_rerun_keeps_results_that_name_an_accelerator(committed, b200_run):
    for name, r in committed.items():
        if name.split("_")[0] in catalog.accelerators() and r["chapter"] == CHAPTER:
            assert b200_run[name]["value"] == r["value"], name


def test_rerun_with_a_user_hardware_file(tmp_path, committed):
    """A user's file with the H100's numbers but twice the bandwidth halves the ratio."""
    h100 = catalog.lookup("accelerators", "h100")
    entry = {"name": "Hypothetical", "vendor": "Nobody"}
    for name, fld in h100.fields.items():
        entry[name] = {"value": fld.value, "unit": fld.unit, "source": "mine"}
    entry["hbm_bandwidth"]["value"] = 2 * h100.fields["hbm_bandwidth"].value
    hw = tmp_path / "my_chip.yaml"
    hw.write_text(yaml.safe_dump({"sources": {"mine": {"url": "https://example.org/spec",
                                                       "title": "my spec", "date": "2026-11",
                                                       "tag": "secondary"}},
                                  "entries": {"my_chip": entry}}))
    out = tmp_path / "out"
    proc = _execute("--accelerator", str(hw), "--out", str(out))
    assert proc.returncode == 0, proc.stdout + proc.stderr
    res = read_results(out)
    assert res["flops_per_byte"]["value"] == pytest.approx(committed["flops_per_byte"]["value"] / 2,
                                                           rel=1e-12)
    assert res["optimal_batch_deepseek_v3_by_params"]["accelerator"] == "my_chip"


def test_bad_accelerator_fails_in_one_line_and_writes_nothing(tmp_path):
    out = tmp_path / "out"
    proc = _execute("--accelerator", "h1000", "--out", str(out))
    assert proc.returncode == 2
    assert proc.stderr.strip().count("\n") == 0
    assert "unknown accelerator 'h1000'; did you mean h100" in proc.stderr
    assert not out.exists()


def test_failed_execution_keeps_good_outputs(tmp_path):
    """A chapter that fails midway leaves the destination as it was."""
    from helpers.execute import execute_one
    import nbformat
    from nbformat.v4 import new_code_cell, new_notebook

    nb = new_notebook(cells=[new_code_cell("x = 1", metadata={"tags": ["parameters"]}),
                             new_code_cell("raise RuntimeError('boom')")])
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    src = tmp_path / "bad.ipynb"
    nbformat.write(nb, src)
    dest = tmp_path / "out" / "bad.ipynb"
    dest.parent.mkdir()
    dest.write_text("good outputs")
    with pytest.raises(Exception, match="boom"):
        execute_one(src, dest)
    assert dest.read_text() == "good outputs"
    assert [p.name for p in dest.parent.iterdir()] == ["bad.ipynb"]
