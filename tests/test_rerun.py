"""Re-runs of chapter 1 with other hardware change exactly what the formulas say, never touch
the committed notebooks, and refuse bad or hostile input in one line with nothing written."""
from __future__ import annotations

import hashlib
import json
import math
import signal
import subprocess
import sys
import time

import pytest
import yaml

from helpers import catalog, sweep
from helpers.__main__ import main
from helpers.results import read_claims, read_results
from conftest import ROOT

CHAPTER = "01_optimal_batch"
PWNED = "PWNED_BY_HARDWARE_FILE"


def _digest():
    return {p.relative_to(ROOT).as_posix(): hashlib.sha256(p.read_bytes()).hexdigest()
            for folder in ("chapters", "appendices") for p in sorted((ROOT / folder).glob("*"))
            if p.is_file()}


def _cli(*args, timeout=600):
    return subprocess.run([sys.executable, "-m", "helpers", *args], cwd=ROOT,
                          capture_output=True, text=True, timeout=timeout)


def _execute(*args):
    return _cli("execute", CHAPTER, *args)


def _no_partial_left(parent):
    return [p.name for p in parent.iterdir() if ".partial-" in p.name] == []


def _check_against_sweep(run: dict, acc: catalog.Entry):
    """Every swept quantity chapter 1 publishes equals the sweep's value for this hardware."""
    checked = 0
    for name, q in sweep.quantities().items():
        expected = q.fn(acc)
        if math.isinf(expected):            # unbounded: the chapter publishes no number
            assert name not in run, name
            continue
        if q.module != "formulas":          # other chapters' quantities: not re-run here
            continue
        assert run[name]["value"] == pytest.approx(expected, rel=1e-12), name
        assert run[name]["unit"] == q.unit and run[name]["accelerator"] == acc.key, name
        checked += 1
    assert checked >= 10


def _committed_claims():
    return {k: v for k, v in read_claims().items() if v["chapter"] == CHAPTER}


@pytest.fixture(scope="module")
def committed():
    """Chapter 1's committed results: every re-run in this file runs chapter 1 only."""
    return {k: v for k, v in read_results().items() if v["chapter"] == CHAPTER}


@pytest.fixture(scope="module")
def b200_run(tmp_path_factory):
    """One catalogued re-run, shared by the tests below."""
    before = _digest()
    parent = tmp_path_factory.mktemp("runs")
    out = parent / "b200"
    proc = _cli("rerun", "--hardware", "b200", "--chapters", "01", "--out", str(out), "--build")
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert _digest() == before, "a re-run touched the committed notebooks"
    assert _no_partial_left(parent)
    return {"out": out, "stdout": proc.stdout, "results": read_results(out)}


def _ratio(key):
    a = catalog.lookup("accelerators", key)
    return a.bf16_dense_flops / a.hbm_bandwidth


def test_rerun_changes_run_results_by_the_hardware_ratio(committed, b200_run):
    run = b200_run["results"]
    scale = _ratio("b200") / _ratio("h100")
    assert run["flops_per_byte"]["value"] == pytest.approx(_ratio("b200"), rel=1e-12)
    for name in ("optimal_batch_lecture_example", "optimal_batch_deepseek_v3_by_params",
                 "optimal_batch_deepseek_v3_by_experts"):
        assert run[name]["value"] == pytest.approx(committed[name]["value"] * scale, rel=1e-12)
        assert run[name]["accelerator"] == "b200"
    # without attention arithmetic the longest compute-bound context scales as W / F
    name = "deepseek_v3_max_compute_bound_context_lecture"
    assert run[name]["value"] == pytest.approx(committed[name]["value"] / scale, rel=1e-12)
    _check_against_sweep(run, catalog.lookup("accelerators", "b200"))


def test_rerun_keeps_results_that_name_an_accelerator(committed, b200_run):
    for name, r in committed.items():
        if name.split("_")[0] in catalog.accelerators():
            assert b200_run["results"][name]["value"] == r["value"], name


def test_rerun_output_folder_is_complete_and_says_what_ran(b200_run, committed):
    out = b200_run["out"]
    assert sorted(p.name for p in out.iterdir()) == [
        f"{CHAPTER}.ipynb", "book", "comparison.json", "comparison.md", "hardware.yaml", "rerun.json"]
    manifest = json.loads((out / "rerun.json").read_text())
    assert manifest["accelerator"] == "b200" and manifest["default_accelerator"] == "h100"
    assert manifest["chapters"] == [CHAPTER]
    # the hardware that ran, in the file schema: it loads back as the catalogued entry
    assert catalog.hardware_file(out / "hardware.yaml").fields == \
        catalog.lookup("accelerators", "b200").fields


def test_build_makes_a_variant_book_of_the_rerun(b200_run):
    html = b200_run["out"] / "book" / "_build" / "html"
    chapter = (html / "chapters" / f"{CHAPTER}.html").read_text()
    assert "NVIDIA B200" in chapter                       # computed for the B200
    assert b200_run["results"]["flops_per_byte"]["text"] in chapter
    comparison = (html / "comparison.html").read_text()
    assert "flops_per_byte" in comparison and "h100_flops_per_byte" in comparison
    assert json.loads((b200_run["out"] / "rerun.json").read_text())["book"] == \
        "book/_build/html/index.html"


def test_side_by_side_table_lists_every_result_with_ratio(b200_run, committed):
    table = json.loads((b200_run["out"] / "comparison.json").read_text())
    rows = {r["name"]: r for r in table["rows"]}
    assert set(rows) == set(committed) | set(b200_run["results"])
    for name, r in rows.items():
        assert r["default"] == committed[name]["value"]
        assert r["new"] == b200_run["results"][name]["value"]
        if r["default"] == r["new"]:
            assert r["ratio"] == "="
        elif r["ratio"] == "=":       # the same number up to the last bits of floating point
            assert r["new"] == pytest.approx(r["default"], rel=1e-12)
        else:
            assert r["ratio"].endswith("×")
    assert rows["flops_per_byte"]["follows_run"] and not rows["h100_flops_per_byte"]["follows_run"]
    assert not rows["b200_flops_per_byte"]["follows_run"]
    # printed: a header naming both accelerators, then one line per result
    lines = b200_run["stdout"].splitlines()
    header = next(i for i, line in enumerate(lines) if line.startswith("result "))
    assert lines[header].split() == ["result", "unit", "h100", "b200", "ratio"]
    printed = {line.split()[0] for line in lines[header + 1:] if not line.startswith(("--", "done"))}
    assert set(rows) <= printed
    # verdicts beside each other too: each claim of chapter 1, committed and re-run
    claims_now = read_claims(b200_run["out"])
    assert [v["id"] for v in table["verdicts"]] == list(_committed_claims())
    for v in table["verdicts"]:
        assert v["new"].startswith(claims_now[v["id"]]["verdict"])
        assert v["changed"] == (read_claims()[v["id"]]["verdict"] != claims_now[v["id"]]["verdict"])
        assert not (v["changed"] and v["caveat_changed"])
    n = len(table["verdicts"])
    assert any(line.startswith("verdicts: ") and f"of {n} unchanged" in line for line in lines)


def test_results_from_a_rerun_folder(b200_run):
    proc = _cli("results", "--json", "--from", str(b200_run["out"]), timeout=60)
    assert proc.returncode == 0, proc.stderr
    assert json.loads(proc.stdout) == b200_run["results"]
    proc = _cli("results", "--from", str(b200_run["out"] / "nowhere"), timeout=60)
    assert proc.returncode == 2 and "no such folder" in proc.stderr


def test_default_rerun_reproduces_every_committed_result_and_verdict(tmp_path_factory, committed):
    """nbval compares the printed outputs; this compares the exact published values (kept in
    output metadata, which nbval skips), so a catalog change not followed by re-execution fails."""
    out = tmp_path_factory.mktemp("default")
    proc = _execute("--out", str(out))
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert read_results(out) == committed
    assert read_claims(out) == _committed_claims()


# a name that would run code if it were ever pasted into a cell unquoted; it must stay text
HOSTILE_NAME = f'Hypothetical"); __import__("os").system("touch {PWNED}"); ("'


def test_rerun_with_a_user_toml_file_and_an_override(tmp_path, committed):
    """`hardware show h100 --format toml`, edited: twice the bandwidth, a 72-chip domain set on
    the command line, and a hostile name. The results follow the formulas for those numbers."""
    proc = _cli("hardware", "show", "h100", "--format", "toml", timeout=60)
    assert proc.returncode == 0, proc.stderr
    text = proc.stdout.replace("[entries.h100]", "[entries.my_chip]")
    lines = []
    for line in text.splitlines():
        if line.startswith("hbm_bandwidth = "):
            line = line.replace("value = 3.35,", "value = 6.7,")
        elif line.startswith("name = ") and "NVIDIA H100" in line:
            line = "name = " + json.dumps(HOSTILE_NAME)
        elif line.startswith("aliases = "):
            continue
        lines.append(line)
    hw = tmp_path / "my_chip.toml"
    hw.write_text("\n".join(lines) + "\n")
    before = _digest()
    out = tmp_path / "out"
    proc = _cli("rerun", "--hardware", str(hw), "--chapters", "01", "--out", str(out),
                "--set", "scale_up_domain=72")
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert _digest() == before
    res = read_results(out)
    assert res["flops_per_byte"]["value"] == pytest.approx(committed["flops_per_byte"]["value"] / 2,
                                                           rel=1e-12)
    assert res["run_domain_hbm_tb"]["value"] == pytest.approx(72 * 80e9 / 1e12, rel=1e-12)
    from helpers.notebook import accelerator
    _check_against_sweep(res, accelerator(str(hw), {"scale_up_domain": 72}))
    # the hostile name stayed data: shown verbatim, never run
    glued = [o for c in json.loads((out / f"{CHAPTER}.ipynb").read_text())["cells"]
             for o in c.get("outputs", [])
             if o.get("metadata", {}).get("scrapbook", {}).get("name") == "run_accelerator_name"]
    assert glued and HOSTILE_NAME in glued[0]["data"]["application/papermill.record/text/plain"]
    assert not list(ROOT.rglob(PWNED)) and not list(tmp_path.rglob(PWNED))


# --- bad and hostile input: exit 2, one line naming file, entry, field and problem; nothing written
H100_YAML = None


def _h100_doc():
    global H100_YAML
    if H100_YAML is None:
        from helpers.rerun import hardware_document
        H100_YAML = hardware_document(catalog.lookup("accelerators", "h100"))
    doc = yaml.safe_load(H100_YAML)
    doc["entries"] = {"mychip": doc["entries"].pop("h100")}
    doc["entries"]["mychip"].pop("aliases")
    return doc


def _edit(field, value=None, delete=False):
    def make(path):
        doc = _h100_doc()
        entry = doc["entries"]["mychip"]
        if delete:
            del entry[field]
        elif isinstance(entry.get(field), dict) and not isinstance(value, dict):
            entry[field]["value"] = value
        else:
            entry[field] = value
        path.write_text(yaml.safe_dump(doc, sort_keys=False))
    return make


def _edit_raw(field, value):
    def make(path):
        doc = _h100_doc()
        doc["entries"]["mychip"][field] = value
        path.write_text(yaml.safe_dump(doc, sort_keys=False))
    return make


def _text(content, binary=False):
    def make(path):
        if binary:
            path.write_bytes(content)
        else:
            path.write_text(content)
    return make


BAD_FILES = [
    ("missing field", "mychip.yaml", _edit("hbm_bandwidth", delete=True),
     "mychip.yaml: entry 'mychip', field 'hbm_bandwidth': missing required field"),
    ("unknown field", "mychip.yaml", _edit("hbm_bandwith", {"value": 1, "unit": "TB/s", "source": "aic_h100"}),
     "mychip.yaml: entry 'mychip', field 'hbm_bandwith': unknown field (did you mean 'hbm_bandwidth'?)"),
    ("non-numeric value", "mychip.yaml", _edit("hbm_bandwidth", "fast"),
     "mychip.yaml: entry 'mychip', field 'hbm_bandwidth': value 'fast' is text, not a number"),
    ("zero value", "mychip.yaml", _edit("hbm_bandwidth", 0),
     "mychip.yaml: entry 'mychip', field 'hbm_bandwidth': value 0 must be positive"),
    ("negative value", "mychip.yaml", _edit("bf16_dense_flops", -989.4),
     "mychip.yaml: entry 'mychip', field 'bf16_dense_flops': value -989.4 must be positive"),
    ("value with its unit", "mychip.yaml", _edit("hbm_bandwidth", "3.35 TB/s"),
     "mychip.yaml: entry 'mychip', field 'hbm_bandwidth': value '3.35 TB/s' is text; write the "
     "number alone and the unit in 'unit': value: 3.35, unit: TB/s"),
    ("value with a unit of the wrong kind", "mychip.yaml", _edit("hbm_bandwidth", "80 GB"),
     "field 'hbm_bandwidth': value '80 GB' is text, and GB is bytes, not bytes/s"),
    ("value glued to its unit", "mychip.yaml",
     _edit("hbm_capacity", {"value": "96GB", "unit": "GB", "source": "gk_h100"}),
     "field 'hbm_capacity': value '96GB' is text; write the number alone and the unit in 'unit': "
     "value: 96, unit: GB"),
    ("a quantity instead of a mapping", "mychip.yaml", _edit_raw("hbm_bandwidth", "4.8 TB/s"),
     "field 'hbm_bandwidth': must be a mapping {value, unit, source}; got '4.8 TB/s'; write "
     "{value: 4.8, unit: TB/s, source: <key>}"),
    ("wrong unit", "mychip.yaml", _edit("hbm_bandwidth", {"value": 3.35, "unit": "GB", "source": "aic_h100"}),
     "field 'hbm_bandwidth': unit 'GB' is bytes, expected bytes/s"),
    ("empty file", "mychip.yaml", _text(""), "mychip.yaml: file is empty"),
    ("blank file", "mychip.toml", _text("\n  \n"), "mychip.toml: file is empty"),
    ("not YAML", "mychip.yaml", _text("entries: [unclosed\n"), "mychip.yaml: not valid YAML at line"),
    ("not TOML", "mychip.toml", _text("[entries.mychip\nname = 1\n"), "mychip.toml: not valid TOML"),
    ("binary file", "mychip.yaml", _text(b"\x89PNG\r\n\x1a\n\x00\x00\xff\xfe", binary=True),
     "mychip.yaml: not a text file; a hardware file is YAML or TOML"),
    ("plain text", "mychip.yaml", _text("fast chip, 5 TB/s\n"),
     "mychip.yaml: not a hardware file (found str)"),
    ("two entries", "mychip.yaml",
     lambda p: p.write_text(yaml.safe_dump(dict(_h100_doc(), entries={
         "a": _h100_doc()["entries"]["mychip"], "b": _h100_doc()["entries"]["mychip"]}))),
     "mychip.yaml: a hardware file holds exactly one entry, found 2 (a, b)"),
    ("missing file", "nothere.yaml", None, "nothere.yaml: cannot be read (No such file or directory)"),
    ("a folder", "folder.yaml", lambda p: p.mkdir(), "folder.yaml: is a folder, not a YAML or TOML file"),
    ("a huge file", "mychip.yaml", _text("#" * 2_000_000 + "\n"),
     "mychip.yaml: 2,000,001 bytes is too large for a hardware file"),
    # hostile: values are data, never code
    ("code in a value", "mychip.yaml", _edit("hbm_bandwidth", f"__import__('os').system('touch {PWNED}')"),
     ("field 'hbm_bandwidth': value \"__import__('os').system(", "is text, not a number")),
    ("YAML tag that would build an object", "mychip.yaml",
     _text(f"sources: !!python/object/apply:os.system ['touch {PWNED}']\nentries: {{}}\n"),
     "mychip.yaml: not valid YAML at line 1: could not determine a constructor for the tag"),
    ("markup in the name", "mychip.yaml", _edit("name", "<script>alert(1)</script>"),
     "mychip.yaml: entry 'mychip', field 'name': character '<' is not allowed"),
    ("a quote in the file's path", 'my"chip.yaml', _edit("launch", 2026),
     "the file's path has characters that are not allowed in a notebook parameter"),
    ("a catalogued key with other numbers", "mychip.yaml",
     lambda p: p.write_text(yaml.safe_dump(dict(_h100_doc(), entries={"h100": dict(
         _h100_doc()["entries"]["mychip"], hbm_bandwidth={"value": 4.8, "unit": "TB/s",
                                                           "source": "aic_h100"})}))),
     "mychip.yaml: entry 'h100': the key names a catalogued accelerator but the numbers differ; "
     "give your chip a key of its own"),
]


@pytest.mark.parametrize("case,filename,make,message", BAD_FILES, ids=[c[0] for c in BAD_FILES])
def test_bad_hardware_file_is_refused_in_one_line_and_nothing_is_written(
        tmp_path, monkeypatch, capsys, case, filename, make, message):
    monkeypatch.chdir(tmp_path)
    if make:
        make(tmp_path / filename)
    before = sorted(p.name for p in tmp_path.iterdir())
    rc = main(["rerun", "--hardware", filename, "--out", str(tmp_path / "out")])
    err = capsys.readouterr().err
    assert rc == 2, err
    assert err.startswith("error: ") and err.count("\n") == 1 and "Traceback" not in err
    for part in (message if isinstance(message, tuple) else (message,)):
        assert part in err
    assert sorted(p.name for p in tmp_path.iterdir()) == before      # nothing written
    assert not list(tmp_path.rglob(PWNED))


BAD_ARGS = [
    ("unknown accelerator", ["--hardware", "h1000"],
     "unknown accelerator 'h1000'; did you mean h100"),
    ("code as an accelerator name", ["--hardware", 'h100"; import os; os.system("touch x")'],
     "unknown accelerator 'h100\"; import os"),
    ("override of an unknown field", ["--hardware", "h100", "--set", "hbm_bandwith=4.8"],
     "overrides: entry 'h100', field 'hbm_bandwith': unknown field (did you mean 'hbm_bandwidth'?)"),
    ("override with code", ["--hardware", "h100", "--set", "hbm_bandwidth=__import__('os')"],
     "field 'hbm_bandwidth': '__import__('os')' is not a number"),
    ("override with its unit", ["--hardware", "h100", "--set", "hbm_bandwidth=4.8 TB/s"],
     "'4.8 TB/s' is not a number; give the number alone, in the unit the entry uses"),
    ("zero override", ["--hardware", "h100", "--set", "hbm_bandwidth=0"],
     "overrides: entry 'h100', field 'hbm_bandwidth': value 0.0 must be positive"),
    ("unknown chapter", ["--hardware", "h100", "--chapters", "99"], "no chapter matches '99'"),
]


@pytest.mark.parametrize("case,args,message", BAD_ARGS, ids=[c[0] for c in BAD_ARGS])
def test_bad_arguments_are_refused_in_one_line(tmp_path, capsys, case, args, message):
    out = tmp_path / "out"
    rc = main(["rerun", *args, "--out", str(out)])
    err = capsys.readouterr().err
    assert rc == 2 and err.count("\n") == 1 and message in err, err
    assert not out.exists()


def test_out_must_be_new_and_outside_the_committed_sources(tmp_path, capsys):
    before = _digest()
    for out, message in [(ROOT / "chapters", "is inside the committed chapters/ folder"),
                         (ROOT / "chapters" / "b200", "is inside the committed chapters/ folder"),
                         (ROOT, "is the repository or contains it")]:
        assert main(["rerun", "--hardware", "b200", "--out", str(out)]) == 2
        err = capsys.readouterr().err
        assert message in err and err.count("\n") == 1
    full = tmp_path / "full"
    full.mkdir()
    (full / "keep.txt").write_text("good outputs")
    assert main(["rerun", "--hardware", "b200", "--out", str(full)]) == 2
    assert "exists and is not empty" in capsys.readouterr().err
    assert [p.name for p in full.iterdir()] == ["keep.txt"]
    assert _digest() == before


def _failing_notebook(path):
    import nbformat
    from nbformat.v4 import new_code_cell, new_notebook

    nb = new_notebook(cells=[new_code_cell('accelerator = "h100"\noverrides = {}',
                                           metadata={"tags": ["parameters"]}),
                             new_code_cell("raise RuntimeError('boom')")])
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    nbformat.write(nb, path)


def test_a_rerun_that_fails_midway_leaves_no_output_folder(tmp_path, monkeypatch, capsys):
    from helpers import results

    chapters = tmp_path / "chapters"
    chapters.mkdir()
    _failing_notebook(chapters / "09_broken.ipynb")
    monkeypatch.setattr(results, "CHAPTERS", chapters)
    out = tmp_path / "runs" / "b200"
    assert main(["rerun", "--hardware", "b200", "--out", str(out), "--jobs", "1"]) == 1
    err = capsys.readouterr().err
    assert "[1/1] FAILED  09_broken.ipynb: cell 3: RuntimeError: boom" in err  # 2: papermill's
    assert "1 chapter(s) failed (see above); nothing written to" in err
    assert not out.exists() and _no_partial_left(out.parent)


def test_an_interrupted_rerun_leaves_no_output_folder(tmp_path):
    out = tmp_path / "b200"
    proc = subprocess.Popen([sys.executable, "-m", "helpers", "rerun", "--hardware", "b200",
                             "--chapters", "01", "--out", str(out)], cwd=ROOT,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    line = proc.stdout.readline()              # printed once the kernels are being started
    assert line.startswith("re-running 1 chapter(s)"), line + proc.stderr.read()
    time.sleep(0.5)
    proc.send_signal(signal.SIGTERM)
    _, err = proc.communicate(timeout=120)
    assert proc.returncode == 130, err
    assert err.strip().splitlines() == ["error: interrupted; nothing written"]
    assert not out.exists() and _no_partial_left(tmp_path)


def test_failed_execution_keeps_good_outputs(tmp_path):
    """A chapter that fails midway leaves the destination as it was."""
    from helpers.execute import execute_one

    src = tmp_path / "bad.ipynb"
    _failing_notebook(src)
    dest = tmp_path / "out" / "bad.ipynb"
    dest.parent.mkdir()
    dest.write_text("good outputs")
    with pytest.raises(Exception, match="boom"):
        execute_one(src, dest)
    assert dest.read_text() == "good outputs"
    assert [p.name for p in dest.parent.iterdir()] == ["bad.ipynb"]


def test_bad_accelerator_for_execute_fails_in_one_line_and_writes_nothing(tmp_path):
    out = tmp_path / "out"
    proc = _execute("--accelerator", "h1000", "--out", str(out))
    assert proc.returncode == 2
    assert proc.stderr.strip().count("\n") == 0
    assert "unknown accelerator 'h1000'; did you mean h100" in proc.stderr
    assert not out.exists()


@pytest.mark.parametrize("fmt", ["yaml", "toml"])
def test_hardware_show_round_trips_every_accelerator(tmp_path, fmt):
    from helpers.rerun import hardware_document

    for key, entry in catalog.accelerators().items():
        path = tmp_path / f"{key}.{fmt}"
        path.write_text(hardware_document(entry, fmt))
        assert catalog.hardware_file(path).fields == entry.fields, key
