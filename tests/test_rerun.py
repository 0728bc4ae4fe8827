"""Re-runs with other hardware change exactly what the registry says, keep every result that
names its part, never touch the committed notebooks, and refuse bad or hostile input in one line
with nothing written.

Two papermill re-runs in all: every chapter for the B200 (the ``b200_run`` fixture, chapters in
parallel, shared by the generic checks), and chapter 1 for a user's TOML file with ``--set``
and ``--build``. Every bad-input test exits before a notebook runs; the failure and interrupt
tests run a two-cell notebook.
"""
from __future__ import annotations

import hashlib
import json
import math
import os
import signal
import subprocess
import sys
import threading
import time

import pytest
import yaml

from conftest import ROOT, write_tiny_chapter
from helpers import catalog, execute, paths, registry
from helpers.__main__ import main
from helpers.compare import comparison_text
from helpers.hardware_file import hardware_document
from helpers.notebook import accelerator
from helpers.results import read_claims, read_results

PWNED = "PWNED_BY_HARDWARE_FILE"
DEFAULT = "h100"      # every chapter's parameters cell
OTHER = "b200"


def _digest():
    """The committed notebooks' bytes (a hidden .NAME.running.ipynb is another command's
    `execute` at work, not a committed file)."""
    return {p.relative_to(ROOT).as_posix(): hashlib.sha256(p.read_bytes()).hexdigest()
            for folder in ("chapters", "appendices") for p in sorted((ROOT / folder).glob("*"))
            if p.is_file() and not p.name.startswith(".")}


def _cli(*args, timeout=900):
    return subprocess.run([sys.executable, "-m", "helpers", *args], cwd=ROOT,
                          capture_output=True, text=True, timeout=timeout)


def _no_partial_left(parent):
    return [p.name for p in parent.iterdir() if ".partial-" in p.name] == []


@pytest.fixture(scope="module")
def committed():
    return read_results()


@pytest.fixture(scope="module")
def b200_run(tmp_path_factory):
    """Every chapter re-run for the B200, in parallel (the CLI's default: one job per core)."""
    before = _digest()
    parent = tmp_path_factory.mktemp("runs")
    out = parent / OTHER
    proc = _cli("rerun", "--hardware", OTHER, "--out", str(out))
    assert proc.returncode == 0, proc.stdout[-4000:] + proc.stderr[-4000:]
    assert _digest() == before, "a re-run touched the committed notebooks"
    assert _no_partial_left(parent)
    return {"out": out, "stdout": proc.stdout, "results": read_results(out),
            "claims": read_claims(out)}


def _value(h, acc) -> float | None:
    """A headline's value for a part; None when it does not apply there (a field or a catalog
    entry the part lacks: the chapter publishes nothing for it, as the sweep shows 'n/a')."""
    try:
        return h.value(acc)
    except (catalog.CatalogError, AttributeError):
        return None


def _check_registry(run: dict, acc: catalog.Entry, committed: dict) -> int:
    """Each registry headline the run publishes equals the registry's value for ``acc``; one the
    committed run of the same chapters publishes and this run does not is unbounded for ``acc``
    (a chapter says so in words) or does not apply to it. Returns how many were compared."""
    checked = 0
    for name, h in registry.hardware_dependent().items():
        expected = _value(h, acc)
        if expected is None:
            assert name not in run, f"{name}: published, but it does not apply to {acc.key}"
            continue
        if name in run:
            assert run[name]["value"] == pytest.approx(expected, rel=1e-12), name
            assert run[name]["unit"] == h.unit and run[name]["accelerator"] == acc.key, name
            checked += 1
        elif name in committed:
            assert math.isinf(expected), f"{name}: published by the committed run only"
    return checked


def test_every_registry_headline_follows_the_hardware(b200_run, committed):
    b200 = catalog.lookup("accelerators", OTHER)
    assert _check_registry(b200_run["results"], b200, committed) > 0


def _kept(result: dict) -> tuple:
    """What a result that must not change is: its exact value, its text, unit and part."""
    return result["value"], result["text"], result["unit"], result["accelerator"]


def test_results_for_a_named_part_are_bit_identical_and_the_rest_follow_the_run(
        b200_run, committed):
    """The naming rule, for every result of every chapter: one computed for the run's
    accelerator is computed for the B200 now; one computed for a named part (``h100_...``,
    ``..._gb200_nic``) is the same bits; one that depends on no accelerator is the same number."""
    run = b200_run["results"]
    infinite = {n for n, h in registry.hardware_dependent().items()
                if (v := _value(h, catalog.lookup("accelerators", OTHER))) is None
                or math.isinf(v)}
    assert set(committed) - set(run) <= infinite and set(run) - set(committed) <= set(
        registry.hardware_dependent())
    follows = 0
    for name in set(committed) & set(run):
        old, new = committed[name], run[name]
        assert (new["unit"], new["chapter"]) == (old["unit"], old["chapter"]), name
        if old["accelerator"] == DEFAULT and new["accelerator"] == OTHER:
            assert name.split("_")[0] not in catalog.accelerators(), name
            follows += 1
        elif old["accelerator"] is None:
            # no accelerator; a least-squares fit (chapter 5) may move in its last bits
            assert new["accelerator"] is None, name
            assert new["value"] == pytest.approx(old["value"], rel=1e-12), name
            assert new["text"] == old["text"], name
        else:
            assert _kept(new) == _kept(old), \
                f"{name} is computed for {old['accelerator']}: it must not change"
    assert follows > 0


def test_side_by_side_table_lists_every_result_and_verdict(b200_run, committed):
    out, run = b200_run["out"], b200_run["results"]
    table = json.loads((out / "comparison.json").read_text())
    assert (table["default_accelerator"], table["accelerator"]) == (DEFAULT, OTHER)
    rows = {r["name"]: r for r in table["rows"]}
    assert set(rows) == set(committed) | set(run)
    for name, r in rows.items():
        old, new = committed.get(name), run.get(name)
        assert r["default"] == (old and old["value"]) and r["new"] == (new and new["value"])
        assert r["follows_run"] == (name.split("_")[0] not in catalog.accelerators()
                                    and (old is None or old["accelerator"] == DEFAULT)
                                    and (new is None or new["accelerator"] == OTHER)), name
        if None in (r["default"], r["new"]):
            assert r["ratio"] == "—"
        elif r["ratio"] == "=":       # the same number, up to the last bits of floating point
            assert r["new"] == pytest.approx(r["default"], rel=1e-12), name
        elif r["ratio"] in ("changed", "≈ 0"):     # words ("all of it"), or two negligibles
            assert r["new"] != r["default"], name
        else:
            assert r["ratio"].endswith("×") and r["new"] != r["default"], name
        assert r["changed"] == (r["ratio"] != "=" or r["default_text"] != r["new_text"]), name
    # the rows that follow the run come first
    flags = [r["follows_run"] for r in table["rows"]]
    assert flags == sorted(flags, reverse=True)
    # printed: the answer first; one line per result that changed, under its chapter
    lines = b200_run["stdout"].splitlines()
    assert any(x.startswith(f"{OTHER} against {DEFAULT} (the committed run): ") for x in lines)
    header = next(i for i, line in enumerate(lines) if line.split()[:1] == ["result"])
    assert lines[header].split() == ["result", "unit", DEFAULT, OTHER, "ratio"]
    end = next(i for i in range(header, len(lines)) if not lines[i].strip())
    printed = [line.split()[0] for line in lines[header + 1:end]
               if not line.strip().startswith("[")]
    assert printed and set(printed) == {n for n, r in rows.items() if r["changed"]}
    assert table["summary"]["results_changed"] == len(printed)
    # --all: every row (rendered from the same table, no second run)
    everything = comparison_text(table, everything=True)
    assert set(rows) <= {line.split()[0] for line in everything.splitlines() if line.strip()}
    # every claim of every chapter, committed verdict beside the re-run's
    committed_claims, claims = read_claims(), b200_run["claims"]
    assert [v["id"] for v in table["verdicts"]] == list(committed_claims)
    for v in table["verdicts"]:
        assert v["new"].startswith(claims[v["id"]]["verdict"])
        assert v["changed"] == (committed_claims[v["id"]]["verdict"] != claims[v["id"]]["verdict"])
        assert not (v["changed"] and v["caveat_changed"])
    n = len(table["verdicts"])
    assert any(line.startswith("verdicts: ") and f"of {n} unchanged" in line for line in lines)


def test_output_folder_is_complete_and_says_what_ran(b200_run, capsys):
    out = b200_run["out"]
    stems = [p.stem for p in paths.notebooks()]
    assert sorted(p.name for p in out.iterdir()) == sorted(
        [f"{s}.ipynb" for s in stems]
        + ["comparison.json", "comparison.md", "comparison.png", "hardware.yaml", "rerun.json"])
    manifest = json.loads((out / "rerun.json").read_text())
    assert (manifest["accelerator"], manifest["default_accelerator"]) == (OTHER, DEFAULT)
    assert manifest["chapters"] == stems and manifest["book"] is None
    # the hardware that ran, in the file schema: it loads back as the catalogued entry
    assert catalog.hardware_file(out / "hardware.yaml").fields == \
        catalog.lookup("accelerators", OTHER).fields
    # `results --from` reads the run folder
    assert main(["results", "--json", "--from", str(out)]) == 0
    assert json.loads(capsys.readouterr().out) == b200_run["results"]
    assert main(["results", "--from", str(out / "nowhere")]) == 2
    assert "no such folder" in capsys.readouterr().err


# a name that would run code if it were ever pasted into a cell unquoted; it must stay text
HOSTILE_NAME = f'Hypothetical"); __import__("os").system("touch {PWNED}"); ("'


def test_rerun_with_a_user_toml_file_an_override_and_a_variant_book(tmp_path, committed):
    """`hardware show h100 --format toml`, edited: twice the bandwidth, half the BF16 FLOP/s set
    on the command line, and a hostile name. The results follow the registry for those numbers,
    the name stays data, and --build makes a book of the run."""
    text = hardware_document(catalog.lookup("accelerators", DEFAULT), "toml")
    text = text.replace(f"[entries.{DEFAULT}]", "[entries.my_chip]")
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
                "--set", "bf16_dense_flops=494.7", "--build")
    assert proc.returncode == 0, proc.stdout[-4000:] + proc.stderr[-4000:]
    assert _digest() == before and _no_partial_left(tmp_path)
    res = read_results(out)
    assert {r["chapter"] for r in res.values()} == {"01_optimal_batch"}
    # by hand for one (F / W: half of F over twice W), then every registry headline it publishes
    assert res["flops_per_byte"]["value"] == pytest.approx(committed["flops_per_byte"]["value"] / 4,
                                                           rel=1e-12)
    chapter_1 = {n: r for n, r in committed.items() if r["chapter"] == "01_optimal_batch"}
    assert _check_registry(res, accelerator(str(hw), {"bf16_dense_flops": 494.7}), chapter_1) > 0
    for name, r in res.items():       # results for a named part: the committed bits
        if name.split("_")[0] in catalog.accelerators():
            assert _kept(r) == _kept(committed[name]), name
    # a catalogued or edited chip with --set numbers is marked as such
    table = json.loads((out / "comparison.json").read_text())
    assert table["accelerator"] == "my_chip*"
    assert "* my_chip with bf16_dense_flops = 494.7 TFLOP/s" in proc.stdout
    manifest = json.loads((out / "rerun.json").read_text())
    assert manifest["overrides"] == {"bf16_dense_flops": 494.7}
    # what ran loads back as a hardware file: the --set value cited as an override
    ran = catalog.hardware_file(out / "hardware.yaml")
    assert ran.fields["bf16_dense_flops"].value == 494.7
    assert ran.fields["bf16_dense_flops"].source.tag == "override"
    assert manifest["hardware"] == str(hw)
    # the hostile name stayed data: shown verbatim, never run
    glued = [o for c in json.loads((out / "01_optimal_batch.ipynb").read_text())["cells"]
             for o in c.get("outputs", [])
             if o.get("metadata", {}).get("scrapbook", {}).get("name") == "run_accelerator_name"]
    assert glued and HOSTILE_NAME in glued[0]["data"]["application/papermill.record/text/plain"]
    # the variant book: the re-run chapter, the comparison, this run's claims ledger
    html = out / "book" / "_build" / "html"
    assert manifest["book"] == "book/_build/html/index.html"
    chapter = (html / "chapters" / "01_optimal_batch.html").read_text()
    assert "Hypothetical" in chapter and res["flops_per_byte"]["text"] in chapter
    comparison = (html / "comparison.html").read_text()
    assert "flops_per_byte" in comparison and "h100_flops_per_byte" in comparison
    assert (html / "appendices" / "claims_ledger.html").exists()
    assert not list(ROOT.rglob(PWNED)) and not list(tmp_path.rglob(PWNED))


# --- bad and hostile input: exit 2, one line naming file, entry, field and problem; nothing written
def _h100_doc():
    doc = yaml.safe_load(hardware_document(catalog.lookup("accelerators", DEFAULT)))
    doc["entries"] = {"mychip": doc["entries"].pop(DEFAULT)}
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


def _entries(**entries):
    def make(path):
        path.write_text(yaml.safe_dump(dict(_h100_doc(), entries=entries)))
    return make


MYCHIP = _h100_doc()["entries"]["mychip"]
BAD_FILES = [
    ("missing field", "mychip.yaml", _edit("hbm_bandwidth", delete=True),
     "mychip.yaml: entry 'mychip', field 'hbm_bandwidth': missing required field"),
    ("unknown field", "mychip.yaml",
     _edit("hbm_bandwith", {"value": 1, "unit": "TB/s", "source": "aic_h100"}),
     "mychip.yaml: entry 'mychip', field 'hbm_bandwith': unknown field "
     "(did you mean 'hbm_bandwidth'?)"),
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
    ("wrong unit", "mychip.yaml",
     _edit("hbm_bandwidth", {"value": 3.35, "unit": "GB", "source": "aic_h100"}),
     "field 'hbm_bandwidth': unit 'GB' is bytes, expected bytes/s"),
    ("empty file", "mychip.yaml", _text(""), "mychip.yaml: file is empty"),
    ("blank file", "mychip.toml", _text("\n  \n"), "mychip.toml: file is empty"),
    ("not YAML", "mychip.yaml", _text("entries: [unclosed\n"),
     "mychip.yaml: not valid YAML at line"),
    ("not TOML", "mychip.toml", _text("[entries.mychip\nname = 1\n"),
     "mychip.toml: not valid TOML"),
    ("binary file", "mychip.yaml", _text(b"\x89PNG\r\n\x1a\n\x00\x00\xff\xfe", binary=True),
     "mychip.yaml: not a text file; a hardware file is YAML or TOML"),
    ("plain text", "mychip.yaml", _text("fast chip, 5 TB/s\n"),
     "mychip.yaml: not a hardware file (found str)"),
    ("two entries", "mychip.yaml", _entries(a=MYCHIP, b=MYCHIP),
     "mychip.yaml: a hardware file holds exactly one entry, found 2 (a, b)"),
    ("missing file", "nothere.yaml", None,
     "nothere.yaml: cannot be read (No such file or directory)"),
    ("a folder", "folder.yaml", lambda p: p.mkdir(),
     "folder.yaml: is a folder, not a YAML or TOML file"),
    ("a huge file", "mychip.yaml", _text("#" * 2_000_000 + "\n"),
     "mychip.yaml: 2,000,001 bytes is too large for a hardware file"),
    # hostile: values are data, never code
    ("code in a value", "mychip.yaml",
     _edit("hbm_bandwidth", f"__import__('os').system('touch {PWNED}')"),
     ("field 'hbm_bandwidth': value \"__import__('os').system(", "is text, not a number")),
    ("YAML tag that would build an object", "mychip.yaml",
     _text(f"sources: !!python/object/apply:os.system ['touch {PWNED}']\nentries: {{}}\n"),
     "mychip.yaml: not valid YAML at line 1: could not determine a constructor for the tag"),
    ("a quote in the file's path", 'my"chip.yaml', _edit("launch", 2026),
     "the file's path has characters that are not allowed in a notebook parameter"),
    ("a catalogued key with other numbers", "mychip.yaml",
     _entries(h100=dict(MYCHIP, hbm_bandwidth={"value": 4.8, "unit": "TB/s",
                                               "source": "aic_h100"})),
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
    ("unknown accelerator", ["rerun", "--hardware", "h1000"],
     "unknown accelerator 'h1000'; did you mean h100"),
    ("code as an accelerator name", ["rerun", "--hardware", 'h100"; import os; os.system("x")'],
     "unknown accelerator 'h100\"; import os"),
    ("override of an unknown field", ["rerun", "--hardware", "h100", "--set", "hbm_bandwith=4.8"],
     "overrides: entry 'h100', field 'hbm_bandwith': unknown field "
     "(did you mean 'hbm_bandwidth'?)"),
    ("override with code",
     ["rerun", "--hardware", "h100", "--set", "hbm_bandwidth=__import__('os')"],
     "field 'hbm_bandwidth': '__import__('os')' is not a number"),
    ("override with its unit", ["rerun", "--hardware", "h100", "--set", "hbm_bandwidth=4.8 TB/s"],
     "'4.8 TB/s' is not a number; give the number alone, in the unit the entry uses"),
    ("override without a field", ["rerun", "--hardware", "h100", "--set", "4.8"],
     "--set '4.8': write FIELD=NUMBER, e.g. hbm_bandwidth=4.8"),
    ("zero override", ["rerun", "--hardware", "h100", "--set", "hbm_bandwidth=0"],
     "overrides: entry 'h100', field 'hbm_bandwidth': value 0.0 must be positive"),
    ("unknown chapter", ["rerun", "--hardware", "h100", "--chapters", "99"],
     "no chapter matches '99'; chapters: 01_optimal_batch"),
    ("an appendix is not a chapter to re-run",
     ["rerun", "--hardware", "h100", "--chapters", str(ROOT / "appendices" / "sweep.ipynb")],
     "no chapter matches"),
    ("execute: unknown accelerator", ["execute", "--accelerator", "h1000"],
     "unknown accelerator 'h1000'; did you mean h100"),
    ("execute: unknown chapter", ["execute", "99", "--accelerator", "b200"],
     "no chapter matches '99'"),
]


@pytest.mark.parametrize("args,message", [c[1:] for c in BAD_ARGS], ids=[c[0] for c in BAD_ARGS])
def test_bad_arguments_are_refused_in_one_line(tmp_path, capsys, args, message):
    out = tmp_path / "out"
    rc = main([*args, "--out", str(out)])
    err = capsys.readouterr().err
    assert rc == 2 and err.count("\n") == 1 and message in err, err
    assert not out.exists()


def test_chapters_are_named_the_same_way_for_execute_and_rerun():
    chapters = paths.notebooks()
    first = chapters[0]
    assert paths.select_notebooks([first.stem[:2], first.stem, first.name]) == [first]
    assert paths.select_notebooks(None) == chapters
    appendices = paths.notebooks(paths.APPENDICES)
    assert appendices and paths.select_notebooks([], appendices=True) == chapters + appendices
    assert paths.select_notebooks([str(appendices[0])], appendices=True) == [appendices[0]]


def test_out_must_be_new_and_outside_the_committed_sources(tmp_path, capsys):
    before = _digest()
    for out, message in [(ROOT / "chapters", "is inside the repository (chapters/)"),
                         (ROOT / "chapters" / "b200", "is inside the repository (chapters/)"),
                         (ROOT / "helpers" / "x", "is inside the repository (helpers/)"),
                         (ROOT, "is the repository")]:
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


# --- failures and interrupts: a two-cell notebook, not a chapter


@pytest.fixture
def tiny_chapters(tmp_path, monkeypatch):
    """A chapters folder of one's own: ``rerun`` selects from it."""
    chapters = tmp_path / "chapters"
    chapters.mkdir()
    monkeypatch.setattr(paths, "CHAPTERS", chapters)
    return chapters


def test_a_rerun_that_fails_midway_leaves_no_output_folder(tiny_chapters, tmp_path, capsys):
    write_tiny_chapter(tiny_chapters / "09_broken.ipynb", "raise RuntimeError('boom')")
    out = tmp_path / "runs" / "b200"
    assert main(["rerun", "--hardware", "b200", "--out", str(out), "--jobs", "1"]) == 1
    err = capsys.readouterr().err
    assert "[1/1] FAILED  09_broken.ipynb: cell 3: RuntimeError: boom" in err  # 2: papermill's
    assert "1 chapter(s) failed (see above); nothing written to" in err
    assert not out.exists() and _no_partial_left(out.parent)


def test_an_interrupted_rerun_leaves_no_output_folder(tiny_chapters, tmp_path, capsys,
                                                      monkeypatch):
    """SIGTERM while a kernel runs: the running chapter is let finish (so nothing writes into
    the staging folder afterwards), then it is removed and the command says so."""
    write_tiny_chapter(tiny_chapters / "09_slow.ipynb", "import time\ntime.sleep(2)")
    real = execute.execute_many

    def execute_then_terminate(*args, **kw):     # SIGTERM once the kernel is starting
        timer = threading.Timer(0.5, os.kill, (os.getpid(), signal.SIGTERM))
        timer.start()
        try:
            return real(*args, **kw)
        finally:
            timer.cancel()        # never a SIGTERM after rerun has put pytest's handler back

    monkeypatch.setattr(execute, "execute_many", execute_then_terminate)
    handler = signal.getsignal(signal.SIGTERM)
    out = tmp_path / "runs" / "b200"
    assert main(["rerun", "--hardware", "b200", "--out", str(out), "--jobs", "1"]) == 130
    assert capsys.readouterr().err.strip().splitlines() == ["error: interrupted; nothing written"]
    assert signal.getsignal(signal.SIGTERM) == handler
    time.sleep(0.2)               # nothing reappears: the running kernel had finished
    assert list(out.parent.iterdir()) == []


def test_failed_execution_keeps_good_outputs(tmp_path):
    """A chapter that fails midway leaves the destination as it was."""
    src = tmp_path / "bad.ipynb"
    write_tiny_chapter(src, "raise RuntimeError('boom')")
    dest = tmp_path / "out" / "bad.ipynb"
    dest.parent.mkdir()
    dest.write_text("good outputs")
    with pytest.raises(Exception, match="boom"):
        execute.execute_one(src, dest)
    assert dest.read_text() == "good outputs"
    assert [p.name for p in dest.parent.iterdir()] == ["bad.ipynb"]


@pytest.mark.parametrize("fmt", ["yaml", "toml"])
def test_hardware_show_round_trips_every_accelerator(tmp_path, fmt):
    for key, entry in catalog.accelerators().items():
        path = tmp_path / f"{key}.{fmt}"
        path.write_text(hardware_document(entry, fmt))
        assert catalog.hardware_file(path).fields == entry.fields, key
