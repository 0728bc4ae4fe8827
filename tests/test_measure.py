"""`python -m helpers measure`: the quick run writes a hardware file the book accepts and can
re-run chapter 1 with; the knee fit finds a known knee and refuses noise; bad options stop
with one line; the committed reference run is consistent with its own raw timings."""
from __future__ import annotations

import json
import math
import sys
import time

import numpy as np
import pytest
import yaml

from conftest import ROOT, run
from helpers import catalog, formulas as f, measure
from helpers.__main__ import build_parser, main

QUICK_LIMIT_S = 20          # the brief: a quick run on a 2-core CPU, with a generous margin


@pytest.fixture(scope="module")
def quick(tmp_path_factory):
    """One quick measurement (shared by the tests below): its files and wall time."""
    out = tmp_path_factory.mktemp("measure") / "quick.yaml"
    start = time.perf_counter()
    proc = run([sys.executable, "-m", "helpers", "measure", "--quick", "--out", str(out)],
               timeout=120)
    seconds = time.perf_counter() - start
    assert proc.returncode == 0, proc.stderr[-2000:]
    return {"yaml": out, "json": out.with_suffix(".json"), "seconds": seconds,
            "stdout": proc.stdout}


# What one machine cannot measure, its reader supplies: chapter 1's communication term reads the
# links (here a 100 GB/s scale-up and a 100 Gb/s NIC, stated, not measured)
LINKS = ["--set", "scale_up_bandwidth=100", "--set", "scale_out_bandwidth=100"]


def test_quick_run_is_quick_and_writes_a_valid_hardware_file(quick):
    assert quick["seconds"] < QUICK_LIMIT_S, f"measure --quick took {quick['seconds']:.1f} s"
    entry = catalog.hardware_file(quick["yaml"])          # the validation `rerun` runs
    assert entry.key == "measured_cpu"
    assert {f.source.tag for f in entry.fields.values()} == {"measured"}
    for name in ("hbm_capacity", "hbm_bandwidth", "bf16_dense_flops", "scale_up_domain"):
        assert entry.has(name), name
    for name in ("fp8_dense_flops", "scale_up_bandwidth", "scale_out_bandwidth", "launch"):
        assert not entry.has(name) and entry.fields[name].missing, name   # honest gaps
    assert "stand-in" in entry.fields["bf16_dense_flops"].note
    raw = json.loads(quick["json"].read_text())
    assert raw["schema"] == measure.SCHEMA and raw["quick"]
    assert any(w.startswith("too few repetitions") for w in raw["warnings"])
    assert "UNRELIABLE: too few repetitions" in quick["stdout"]
    hardware = build_parser()._subparsers._group_actions[0].choices["hardware"]
    actions = next(a for a in hardware._actions if a.dest == "action").choices
    if "check" in actions:           # another command may validate files: it must agree
        # the file says what it could not measure; the check says which chapters need it
        proc = run([sys.executable, "-m", "helpers", "hardware", "check", str(quick["yaml"])])
        assert proc.returncode == 2 and "no value (not measured" in proc.stderr, proc.stderr
        proc = run([sys.executable, "-m", "helpers", "hardware", "check", str(quick["yaml"]),
                    "--chapters", "01", *LINKS])
        assert proc.returncode == 0, proc.stderr


def test_quick_file_reruns_chapter_1(quick, tmp_path):
    out = tmp_path / "run"
    proc = run([sys.executable, "-m", "helpers", "rerun", "--hardware", str(quick["yaml"]),
                "--chapters", "01", "--out", str(out), *LINKS], timeout=300)
    assert proc.returncode == 0, proc.stdout[-2000:] + proc.stderr[-2000:]
    proc = run([sys.executable, "-m", "helpers", "results", "--json", "--from", str(out)])
    results = json.loads(proc.stdout)
    entry = catalog.hardware_file(quick["yaml"])
    assert results["flops_per_byte"]["accelerator"] == "measured_cpu"
    assert math.isclose(results["flops_per_byte"]["value"],
                        entry.bf16_dense_flops / entry.hbm_bandwidth, rel_tol=1e-9)


# --- the fit, on synthetic timings ----------------------------------------------------------
BATCHES = [2**i for i in range(1, 10)]          # 2 ... 512, as the CPU fit sees them


def synthetic(knee, form="max", noise=0.02, seed=0, t_mem=0.01):
    rng = np.random.default_rng(seed)
    b = np.asarray(BATCHES, dtype=float)
    return t_mem * measure.SHAPES[form](b / knee) * np.exp(rng.normal(0, noise, b.size))


@pytest.mark.parametrize("form", ["max", "sum"])
@pytest.mark.parametrize("knee", [11.0, 24.0, 60.0])
def test_fit_recovers_a_known_knee_within_5_percent(knee, form):
    fit = measure.fit_roofline(BATCHES, synthetic(knee, form, seed=int(knee)), form)
    assert fit.resolved, fit.reason
    assert abs(fit.knee / knee - 1) < 0.05, fit.knee
    assert math.isclose(fit.t_flop, fit.t_mem / fit.knee)


def test_fit_refuses_pure_noise():
    for seed in range(50):
        for sigma in (0.05, 0.3):
            times = 0.01 * np.exp(np.random.default_rng(seed).normal(0, sigma, len(BATCHES)))
            for form in measure.SHAPES:
                fit = measure.fit_roofline(BATCHES, times, form)
                assert not fit.resolved, (seed, sigma, form, fit.knee)


def test_fit_refuses_flat_and_pure_compute_timings():
    flat = measure.fit_roofline(BATCHES, [0.01] * len(BATCHES))
    assert not flat.resolved and "single line" in flat.reason
    linear = measure.fit_roofline(BATCHES, [1e-4 * b for b in BATCHES])
    assert not linear.resolved


def test_fit_says_when_the_knee_lies_past_the_range():
    fit = measure.fit_roofline(BATCHES, synthetic(300.0, noise=0.0))   # one point past it
    assert not fit.resolved and "--max-batch" in fit.reason


def test_fit_rejects_unusable_input():
    with pytest.raises(ValueError):
        measure.fit_roofline([1, 2, 4], [1.0, 1.0, 2.0])
    with pytest.raises(ValueError):
        measure.fit_roofline([1, 2, 4, 8], [1.0, 0.0, 2.0, 4.0])


def test_predicted_knee_is_the_books_balance_batch_at_sparsity_one():
    dense = f.balance_batch().subs({f.N_tot: 1, f.N_act: 1})
    assert dense.equals(f.F * f.b_w / (2 * f.W))
    assert math.isclose(measure.predicted_knee(100e9, 50e9, 4), 100e9 * 4 / (2 * 50e9))


def test_bootstrap_spread_is_deterministic_and_honest_about_failures():
    samples = [[1.0, 1.1, 0.9, 1.05, 0.95]] * 2
    first = measure.bootstrap_spread(samples, lambda m: m[0] / m[1])
    assert first == measure.bootstrap_spread(samples, lambda m: m[0] / m[1])
    assert measure.bootstrap_spread(samples, lambda m: None)["finite_share"] == 0


# --- options --------------------------------------------------------------------------------
BAD_OPTIONS = {
    "zero size": ["--size-mb", "0"],
    "negative size": ["--size-mb", "-5"],
    "size not a number": ["--size-mb", "lots"],
    "size over free memory": ["--size-mb", "100000000"],
    "zero repeats": ["--repeats", "0"],
    "fractional repeats": ["--repeats", "2.5"],
    "unknown precision": ["--precisions", "float32,float16"],
    "GPU precision on the CPU": ["--precisions", "bf16"],
    "without the book's precision": ["--precisions", "float64"],
    "too small a batch range": ["--max-batch", "8"],
    "unknown device": ["--device", "tpu"],
    "out in a missing folder": ["--out", "{tmp}/no/such/folder/m.yaml"],
    "out is a folder": ["--out", "{tmp}"],
    "out not YAML": ["--out", "{tmp}/m.txt"],
    "note with a newline": ["--note", "two\nlines"],
}


@pytest.mark.parametrize("argv", BAD_OPTIONS.values(), ids=BAD_OPTIONS.keys())
def test_bad_option_is_one_line_and_exit_2_before_measuring(argv, tmp_path, capsys,
                                                            monkeypatch):
    monkeypatch.chdir(tmp_path)
    monkeypatch.setattr(measure, "measure", lambda *a, **k: pytest.fail("measured anyway"))
    argv = [a.replace("{tmp}", str(tmp_path)) for a in argv]
    assert main(["measure", *argv]) == 2
    err = capsys.readouterr().err
    assert err.startswith("error: ") and err.count("\n") == 1, err
    assert list(tmp_path.iterdir()) == []                      # nothing written


def test_bad_option_exit_status_from_the_shell(tmp_path):
    proc = run([sys.executable, "-m", "helpers", "measure", "--size-mb", "0"], cwd=tmp_path)
    assert proc.returncode == 2 and proc.stderr.count("\n") == 1, proc.stderr
    assert not any(tmp_path.iterdir())


def test_torch_is_never_imported_at_module_load():
    proc = run([sys.executable, "-c", "import sys, helpers.measure, helpers.__main__; "
                "assert 'torch' not in sys.modules"])
    assert proc.returncode == 0, proc.stderr


def test_device_cuda_without_torch_is_refused(capsys):
    if measure.importlib.util.find_spec("torch") is not None:
        pytest.skip("torch is installed here")
    assert main(["measure", "--device", "cuda"]) == 2
    assert "PyTorch is not installed" in capsys.readouterr().err


def test_gpu_path(tmp_path):
    torch = pytest.importorskip("torch")
    if not torch.cuda.is_available():
        pytest.skip("no CUDA device")
    out = tmp_path / "gpu.yaml"
    proc = run([sys.executable, "-m", "helpers", "measure", "--quick", "--device", "cuda",
                "--out", str(out)], timeout=300)
    assert proc.returncode == 0, proc.stderr[-2000:]
    entry = catalog.hardware_file(out)
    assert entry.has("bf16_dense_flops") and entry.has("hbm_bandwidth")
    raw = json.loads(out.with_suffix(".json").read_text())
    assert raw["settings"]["book_precision"] == "bf16" and raw["decode"]["bytes_per_element"] == 2


# --- the committed reference run ------------------------------------------------------------
REFERENCE = measure.REFERENCE


def test_reference_run_is_a_valid_hardware_file_with_its_raw_timings():
    entry = catalog.hardware_file(REFERENCE)
    raw = json.loads(REFERENCE.with_suffix(".json").read_text())
    assert raw["schema"] == measure.SCHEMA and not raw["quick"]
    assert raw["settings"]["repeats"] >= measure.MIN_REPEATS
    # the file's numbers are the raw record's, to the 4 figures written
    g = raw["gemm"][raw["settings"]["book_precision"]]["flop_per_s"]
    assert math.isclose(entry.bf16_dense_flops, g, rel_tol=1e-3)
    assert math.isclose(entry.hbm_bandwidth, measure.bandwidth_used(raw)["bytes_per_s"],
                        rel_tol=1e-3)
    assert entry.fields["bf16_dense_flops"].source.date == raw["date"]


def test_reference_analysis_is_reproduced_from_the_raw_timings():
    raw = json.loads(REFERENCE.with_suffix(".json").read_text())
    again = measure.analyse(raw)
    assert again["knee"] == raw["knee"] and again["fits"] == raw["fits"]
    assert measure.reliability_warnings(dict(raw, **again)) == raw["warnings"]
    for d in (raw["decode"]["times_s"], raw["decode"]["median_s"]):
        assert len(d) == len(raw["decode"]["batches"])


def test_reference_yaml_holds_no_local_paths():
    text = REFERENCE.read_text() + REFERENCE.with_suffix(".json").read_text()
    for marker in ("/work/", "/tmp/", "/root/", "/home/"):
        assert marker not in text, marker
    assert yaml.safe_load(REFERENCE.read_text())["sources"]["measure_run"]["tag"] == "measured"


def test_measurements_ship_with_the_package():
    assert '"measurements/*"' in (ROOT / "pyproject.toml").read_text()
