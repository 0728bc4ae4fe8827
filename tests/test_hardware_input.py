"""Issue 19's table, row by row: every hostile or malformed input is refused before any notebook
runs, with exit status 2 and one short line naming the file, the entry and the field; bombs and
devices are refused in bounded time and memory. No test here starts a kernel.

``rerun`` and ``hardware check`` make exactly the same checks: every file case runs through both.
"""
from __future__ import annotations

import json
import os
import resource
import subprocess
import sys
import time

import pytest
import yaml

from conftest import ROOT
from helpers import catalog, paths, staging
from helpers.__main__ import main
from helpers.hardware_file import hardware_document, plausible_ranges

MAX_LINE = 600          # the longest error line `main` prints (helpers.__main__.one_line)


def _h100_doc():
    doc = yaml.safe_load(hardware_document(catalog.lookup("accelerators", "h100")))
    entry = doc["entries"].pop("h100")
    entry.pop("aliases")
    entry["name"] = "My chip"
    doc["entries"] = {"mychip": entry}
    return doc


def _write(doc):
    def make(path):
        path.write_text(yaml.safe_dump(doc, sort_keys=False, width=10**9))
    return make


def _edit(fn):
    doc = _h100_doc()
    fn(doc, doc["entries"]["mychip"])
    return _write(doc)


def _text(content: str):
    def make(path):
        path.write_text(content)
    return make


def _alias_bomb(where: str, depth: int = 9) -> str:
    """The classic "billion laughs" (1.3 kB): each level ten aliases of the one below, the top
    one used as the value at ``where`` (10^8 strings once expanded)."""
    levels = ['a0: &a0 "lol"'] + [f"a{i}: &a{i} [" + ", ".join([f"*a{i - 1}"] * 10) + "]"
                                  for i in range(1, depth)]
    doc = yaml.safe_dump(_h100_doc(), sort_keys=False, width=10**9)
    assert where in doc, where
    doc = doc.replace(where, f"{where.split(':')[0]}: *a{depth - 1}", 1)
    return "x-bomb:\n" + "".join(f"  {line}\n" for line in levels) + doc


def _bomb_file(where):
    def make(path):
        path.write_text(_alias_bomb(where))
    return make


def _deep(depth: int, toml: bool = False):
    def make(path):
        if toml:
            path.write_text("a = " + "[" * depth + "]" * depth + "\n")
        else:
            path.write_text("a: " + "[" * depth + "]" * depth + "\n")
    return make


# (case, file name, maker, expected message parts)
FILE_CASES = [
    # YAML alias bombs inside a date, a title, a note and a value
    ("alias bomb in a date", "bomb.yaml", _bomb_file("    date: 2025-01"),
     "bomb.yaml: more than 32 YAML aliases (*name); a hardware file needs none"),
    ("alias bomb in a title", "bomb.yaml",
     _bomb_file("    title: Glenn K. Lockwood, H100 (restates the NVIDIA datasheet)"),
     "bomb.yaml: more than 32 YAML aliases (*name)"),
    ("alias bomb in a note", "bomb.yaml", _bomb_file("      note: aiconfigurator lists 80GiB"),
     "bomb.yaml: more than 32 YAML aliases (*name)"),
    ("alias bomb in a value", "bomb.yaml", _bomb_file("      value: 3.35"),
     "bomb.yaml: more than 32 YAML aliases (*name)"),
    ("few aliases of a large list", "wide.yaml",
     _text("a: &big [" + ", ".join(["1"] * 10_000) + "]\nb: [*big, *big, *big]\nentries: {}\n"),
     "wide.yaml: expands to more than 20,000 values (YAML aliases repeating others)"),
    ("a recursive alias", "cycle.yaml", _text("a: &x [*x]\n"),
     "cycle.yaml: YAML alias '*x' refers to an anchor that is not complete (a cycle)"),
    # deep nesting
    ("[[[...]]] 200,000 deep", "deep.yaml", _deep(200_000),
     "deep.yaml: nested more than 16 levels deep"),
    ("YAML 5,000 deep", "deep.yaml", _deep(5_000), "deep.yaml: nested more than 16 levels deep"),
    ("TOML 100,000 deep", "deep.toml", _deep(100_000, toml=True),
     "deep.toml: nested more than 16 levels deep"),
    ("TOML 20 deep", "deep.toml", _deep(20, toml=True),
     "deep.toml: nested more than 16 levels deep"),
    # physically implausible numbers
    ("hbm_bandwidth 1e308", "mychip.yaml",
     _edit(lambda d, e: e["hbm_bandwidth"].update(value=1e308)),
     "mychip.yaml: entry 'mychip', field 'hbm_bandwidth': value 1e+308 TB/s is outside the "
     "plausible range for hbm_bandwidth, 8.19e-06 to 2.2e+04 TB/s (the catalog's 0.819 to 22 "
     "TB/s"),
    ("hbm_bandwidth 1e-300", "mychip.yaml",
     _edit(lambda d, e: e["hbm_bandwidth"].update(value=1e-300)),
     "field 'hbm_bandwidth': value 1e-300 TB/s is outside the plausible range"),
    ("an alternative of 1e308", "mychip.yaml",
     _edit(lambda d, e: e["hbm_bandwidth"].update(
         alternatives=[{"value": 1e308, "unit": "TB/s", "source": "aic_h100"}])),
     "field 'hbm_bandwidth.alternatives[0]': value 1e+308 TB/s is outside the plausible range"),
    ("scale_up_domain of a billion", "mychip.yaml",
     _edit(lambda d, e: e["scale_up_domain"].update(value=10**12)),
     "field 'scale_up_domain': value 1e+12 count is outside the plausible range"),
    # wrong types at every level
    ("unit: [TB/s]", "mychip.yaml", _edit(lambda d, e: e["hbm_bandwidth"].update(unit=["TB/s"])),
     "mychip.yaml: entry 'mychip', field 'hbm_bandwidth': unit must be text, e.g. TB/s; got "
     "['TB/s']"),
    ("unit: {a: 1}", "mychip.yaml", _edit(lambda d, e: e["hbm_bandwidth"].update(unit={"a": 1})),
     "field 'hbm_bandwidth': unit must be text, e.g. TB/s; got {'a': 1}"),
    ("source: [..]", "mychip.yaml",
     _edit(lambda d, e: e["hbm_bandwidth"].update(source=["aic_h100"])),
     "field 'hbm_bandwidth': source must be the key of an entry under 'sources', got "
     "['aic_h100']"),
    ("also_read_as: [..]", "mychip.yaml",
     _edit(lambda d, e: e["hbm_capacity"].update(also_read_as=["GiB"])),
     "field 'hbm_capacity': also_read_as ['GiB'] is not a bytes unit"),
    ("alternatives: 5", "mychip.yaml",
     _edit(lambda d, e: e["hbm_bandwidth"].update(alternatives=5)),
     "field 'hbm_bandwidth': alternatives must be a list of {value, unit, source} mappings, got 5"),
    ("alternatives: [5]", "mychip.yaml",
     _edit(lambda d, e: e["hbm_bandwidth"].update(alternatives=[5])),
     "field 'hbm_bandwidth.alternatives[0]': must be a mapping {value, unit, source}"),
    ('sources: "abc"', "mychip.yaml", _edit(lambda d, e: d.update(sources="abc")),
     "mychip.yaml: 'sources' must be a mapping of source keys to {url, title, date, tag}, got "
     "'abc'"),
    ("a source that is a list", "mychip.yaml", _edit(lambda d, e: d["sources"].update(gk_h100=[1])),
     "mychip.yaml: entry 'sources.gk_h100': must be a mapping with url, title, date, tag"),
    ("a title that is a mapping", "mychip.yaml",
     _edit(lambda d, e: d["sources"]["gk_h100"].update(title={"a": 1})),
     "entry 'sources.gk_h100', field 'title': must be text, got {'a': 1}"),
    ("a note that is a list", "mychip.yaml",
     _edit(lambda d, e: e["hbm_bandwidth"].update(note=[1])),
     "field 'hbm_bandwidth': note must be text, got [1]"),
    ("a name that is a number", "mychip.yaml", _edit(lambda d, e: e.update(name=5)),
     "entry 'mychip', field 'name': must be text, got 5"),
    ("a mapping as a key", "mychip.yaml", _text("? [a]\n: 1\nentries: {}\n"),
     "mychip.yaml: not valid YAML at line 1: a key must be plain text, not a mapping or list"),
    # a required field with no value: the chapters read it
    ("value: null with missing: on a required field", "mychip.yaml",
     _edit(lambda d, e: e["hbm_bandwidth"].update(value=None, missing="secret")),
     ("mychip.yaml: entry 'mychip', field 'hbm_bandwidth': no value (secret), but chapter(s) ",
      "compute results from it; give a number")),
    # dates, URLs, counts, years, keys
    ("date 2026-13-45", "mychip.yaml",
     _edit(lambda d, e: d["sources"]["gk_h100"].update(date="2026-13-45")),
     "mychip.yaml: entry 'sources.gk_h100', field 'date': '2026-13-45' is not a calendar date "
     "(month must be in 1..12)"),
    ("date 2099-01-01", "mychip.yaml",
     _edit(lambda d, e: d["sources"]["gk_h100"].update(date="2099-01-01")),
     "entry 'sources.gk_h100', field 'date': '2099-01-01' is in the future (today is"),
    ("URL https://", "mychip.yaml", _edit(lambda d, e: d["sources"]["gk_h100"].update(url="https://")),
     "entry 'sources.gk_h100', field 'url': 'https://' has no valid host name"),
    ("URL with a space", "mychip.yaml",
     _edit(lambda d, e: d["sources"]["gk_h100"].update(url="https://example.org/a b")),
     "field 'url': 'https://example.org/a b' has ' ', which a URL cannot hold as such (write it "
     "percent-encoded: %20)"),
    ("URL with )", "mychip.yaml",
     _edit(lambda d, e: d["sources"]["gk_h100"].update(url="https://example.org/a)b")),
     "field 'url': 'https://example.org/a)b' has ')', which a URL cannot hold as such (write it "
     "percent-encoded: %29)"),
    ("URL javascript:", "mychip.yaml",
     _edit(lambda d, e: d["sources"]["gk_h100"].update(url="javascript:alert(1)")),
     "field 'url': must be an https:// URL"),
    ("scale_up_domain 7.5", "mychip.yaml",
     _edit(lambda d, e: e["scale_up_domain"].update(value=7.5)),
     "entry 'mychip', field 'scale_up_domain': value 7.5 is not a whole number; scale_up_domain "
     "is a count"),
    ("launch 1.5", "mychip.yaml", _edit(lambda d, e: e["launch"].update(value=1.5)),
     "entry 'mychip', field 'launch': value 1.5 is not a whole number; launch is a year"),
    ("launch 2999", "mychip.yaml", _edit(lambda d, e: e["launch"].update(value=2999)),
     "field 'launch': value 2999 is not a plausible launch year (1970 to"),
    ("source key '../x\"<b>'", "mychip.yaml",
     _edit(lambda d, e: (d["sources"].update({'../x"<b>': d["sources"]["gk_h100"]}),
                         e["launch"].update(source='../x"<b>'))),
     "mychip.yaml: entry 'sources.../x\"<b>': source keys are lower_snake_case: a-z, 0-9 and _, "
     "starting with a letter"),
    ("key h100_sxm (an H100 alias)", "mychip.yaml",
     _edit(lambda d, e: d.update(entries={"h100_sxm": e})),
     "mychip.yaml: entry 'h100_sxm': 'h100_sxm' is another name of the catalogued 'h100' (one of "
     "its aliases); give your chip a key of its own"),
    ("aliases: [h100] with other numbers", "mychip.yaml",
     _edit(lambda d, e: e.update(aliases=["h100"])),
     "mychip.yaml: entry 'mychip', field 'aliases': 'h100' already names the catalogued 'h100'"),
    ("key B200 in capitals", "mychip.yaml", _edit(lambda d, e: d.update(entries={"B200": e})),
     "entry 'B200': entry keys are lower_snake_case"),
    ("a 100,000-character key", "mychip.yaml",
     _edit(lambda d, e: d.update(entries={"k" * 100_000: e})),
     ("mychip.yaml: entry '" + "k" * 37 + "...': entry keys are at most 40 characters (this "
      "one has 100,000)")),
    ("a 100,000-character value", "mychip.yaml",
     _edit(lambda d, e: e["hbm_bandwidth"].update(value="9" * 100_000 + " TB/s")),
     "field 'hbm_bandwidth': value '999999999999999999999999999999999999..."),
    ("a name of 81 characters", "mychip.yaml", _edit(lambda d, e: e.update(name="n" * 81)),
     "field 'name': is 81 characters long; at most 80"),
    ("a right-to-left override in the name", "mychip.yaml",
     _edit(lambda d, e: e.update(name="chip \u202e1x")),
     "field 'name': character '\\u202e' (U+202E) is not allowed"),
    ("a newline in the name", "mychip.yaml", _edit(lambda d, e: e.update(name="a\nb")),
     "field 'name': character '\\n' (U+000A) is not allowed (one line of plain text)"),
]


@pytest.mark.parametrize("command", ["rerun", "check"])
@pytest.mark.parametrize("case,filename,make,message", FILE_CASES,
                         ids=[c[0] for c in FILE_CASES])
def test_every_bad_file_is_refused_in_one_line(tmp_path, monkeypatch, capsys, command, case,
                                               filename, make, message):
    monkeypatch.chdir(tmp_path)
    make(tmp_path / filename)
    before = sorted(p.name for p in tmp_path.iterdir())
    args = (["rerun", "--hardware", filename, "--out", str(tmp_path / "out")]
            if command == "rerun" else ["hardware", "check", filename])
    start = time.perf_counter()
    rc = main(args)
    seconds = time.perf_counter() - start
    captured = capsys.readouterr()
    err = captured.err
    assert rc == 2, err
    assert err.startswith("error: ") and err.count("\n") == 1 and "Traceback" not in err, err
    assert len(err) <= MAX_LINE + 10
    for part in (message if isinstance(message, tuple) else (message,)):
        assert part in err, err
    assert captured.out == ""
    assert sorted(p.name for p in tmp_path.iterdir()) == before      # nothing written
    assert seconds < 20, f"{case}: {seconds:.1f} s"     # no kernel started (a run takes minutes)


def _limited(seconds: float, megabytes: int):
    def limit():
        resource.setrlimit(resource.RLIMIT_AS, (megabytes << 20, megabytes << 20))
        resource.setrlimit(resource.RLIMIT_CPU, (int(seconds) + 1, int(seconds) + 1))
    return limit


def _bounded_cli(tmp_path, args, seconds=5.0, megabytes=1024):
    start = time.perf_counter()
    proc = subprocess.run([sys.executable, "-m", "helpers", *args], cwd=tmp_path,
                          capture_output=True, text=True, timeout=seconds * 2,
                          preexec_fn=_limited(seconds, megabytes),
                          env=dict(os.environ, PYTHONPATH=str(ROOT)))
    return proc, time.perf_counter() - start


BOUNDED = [
    ("the depth-9 alias bomb", "bomb.yaml", _bomb_file("      value: 3.35"),
     "more than 32 YAML aliases"),
    ("[[[...]]] 200,000 deep", "deep.yaml", _deep(200_000), "nested more than 16 levels deep"),
    ("TOML 100,000 deep", "deep.toml", _deep(100_000, toml=True), "nested more than 16 levels"),
    ("a 2 MB file", "big.yaml", _text("#" * 2_000_000 + "\n"),
     "2,000,001 bytes is too large for a hardware file (at most 1,000,000"),
]


@pytest.mark.parametrize("case,filename,make,message", BOUNDED, ids=[c[0] for c in BOUNDED])
def test_bombs_are_refused_in_bounded_time_and_memory(tmp_path, case, filename, make, message):
    """A separate process under a 1 GB address-space limit: refused in well under a second of
    work (the bound allows for a loaded machine), exit 2, one line."""
    make(tmp_path / filename)
    proc, seconds = _bounded_cli(tmp_path, ["rerun", "--hardware", filename,
                                            "--out", str(tmp_path / "out")])
    assert proc.returncode == 2, proc.stderr[-2000:]
    assert proc.stderr.count("\n") == 1 and message in proc.stderr
    assert seconds < 5


@pytest.mark.parametrize("device", ["/dev/zero", "/dev/urandom", "/dev/null", "fifo", "socket"])
def test_devices_and_pipes_are_refused_without_reading_or_waiting(tmp_path, device):
    import socket

    sock = None
    if device == "fifo":
        os.mkfifo(tmp_path / "pipe.yaml")       # nobody ever writes to it
        device, kind = "pipe.yaml", "a named pipe"
    elif device == "socket":
        sock = socket.socket(socket.AF_UNIX)
        sock.bind(str(tmp_path / "sock.yaml"))
        device, kind = "sock.yaml", "a socket"
    else:
        kind = "a device"
    try:
        proc, seconds = _bounded_cli(tmp_path, ["rerun", "--hardware", device, "--out",
                                                str(tmp_path / "out")], seconds=5, megabytes=512)
    finally:
        if sock is not None:
            sock.close()
    assert proc.returncode == 2, proc.stderr
    assert f"{device}: is {kind}, not a regular file" in proc.stderr
    assert proc.stderr.count("\n") == 1 and seconds < 5


def test_a_malformed_file_is_refused_in_under_a_second(tmp_path):
    """The issue's must-show: from a malformed file to its error, the whole command."""
    (tmp_path / "bad.yaml").write_text("entries: [unclosed\n")
    best = min(_bounded_cli(tmp_path, ["rerun", "--hardware", "bad.yaml"])[1] for _ in range(3))
    assert best < 1.0, f"{best:.2f} s"


@pytest.mark.parametrize("name", ["dangling", "to an empty folder", "to a file"])
def test_a_symbolic_link_as_the_hardware_file_or_out(tmp_path, capsys, name):
    target = tmp_path / "target"
    if name == "to an empty folder":
        target.mkdir()
    elif name == "to a file":
        target.write_text("x")
    link = tmp_path / "link"
    link.symlink_to(target)
    assert main(["rerun", "--hardware", "b200", "--out", str(link)]) == 2
    err = capsys.readouterr().err
    assert "symbolic link" in err and err.count("\n") == 1


def _out_cases(tmp_path):
    a_file = tmp_path / "file"
    a_file.write_text("x")
    return [
        (ROOT / ".git" / "x", "is inside the repository (.git/); a re-run writes there only under "
                              "runs/"),
        (ROOT / "_static" / "x", "is inside the repository (_static/)"),
        (ROOT / ".venv" / "x", "is inside the repository (.venv/)"),
        (ROOT / "_build" / "x", "is inside the repository (_build/)"),
        (ROOT / "runs" / ".." / "newdir", "is inside the repository (newdir/)"),
        (ROOT / "chapters" / "b200", "is inside the repository (chapters/)"),
        (ROOT, "is the repository"),
        (ROOT.parent, "is the repository or contains it"),
        (a_file / "sub", f"{a_file} is a file, not a folder"),
        (a_file, "exists and is not a folder"),
        ("/proc/x", "is under /proc, a system folder"),
        ("/sys/x", "is under /sys, a system folder"),
        ("", "--out: empty"),
    ]


def test_out_may_only_be_runs_inside_the_repository_and_never_a_system_folder(tmp_path, capsys):
    for out, message in _out_cases(tmp_path):
        assert main(["rerun", "--hardware", "b200", "--out", str(out)]) == 2, out
        err = capsys.readouterr().err
        assert message in err and err.count("\n") == 1, (out, err)
    assert not (ROOT / ".git" / "x").exists() and not (ROOT / "_static" / "x").exists()


def test_a_second_run_into_the_same_folder_is_refused_at_once(tmp_path, capsys):
    out = tmp_path / "runs" / "b200"
    with staging.locked(out):                 # a first run holds the folder
        start = time.perf_counter()
        assert main(["rerun", "--hardware", "b200", "--out", str(out)]) == 2
        seconds = time.perf_counter() - start
    err = capsys.readouterr().err
    assert f"another re-run (process {os.getpid()}) is writing this folder" in err
    assert err.count("\n") == 1 and seconds < 2 and not out.exists()   # before the checks
    assert sorted(p.name for p in out.parent.iterdir()) == []      # the lock went with it


def test_stale_staging_folders_are_removed_only_when_no_run_owns_them(tmp_path):
    parent = tmp_path / "runs"
    parent.mkdir()
    (parent / ".b200.partial-abc123").mkdir()          # left by a killed run
    (parent / ".a100.partial-def456").mkdir()          # a live run into a100 holds its lock
    (parent / ".keep").mkdir()
    with staging.locked(parent / "a100"):
        removed = staging.remove_stale(parent)
    assert removed == [".b200.partial-abc123"]
    assert sorted(p.name for p in parent.iterdir()) == [".a100.partial-def456", ".keep"]


BAD_ARGS = [
    ("--set fp4_dense_flops=1e4", ["rerun", "--hardware", "h100", "--set", "fp4_dense_flops=1e4"],
     ("--set fp4_dense_flops: no result of the chapters run (01, 02, ",
      "reads fp4_dense_flops, so setting it would change nothing; fields they read, in the unit "
      "--set takes: ", "hbm_capacity (GB), hbm_bandwidth (TB/s), bf16_dense_flops (TFLOP/s)")),
    ("--set tdp=900 for chapter 1",
     ["rerun", "--hardware", "h100", "--chapters", "01", "--set", "tdp=900"],
     "--set tdp: no result of the chapters run (01) reads tdp"),
    ("--set a field chapter 3 does not read",
     ["rerun", "--hardware", "h100", "--chapters", "03", "--set", "hbm_bandwidth=4"],
     "--set hbm_bandwidth: no result of the chapters run (03) reads hbm_bandwidth"),
    ("--set hbm_bandwidth=1e308", ["rerun", "--hardware", "h100", "--set", "hbm_bandwidth=1e308"],
     "overrides: entry 'h100', field 'hbm_bandwidth': value 1e+308 TB/s is outside the plausible "
     "range for hbm_bandwidth"),
    ("--set hbm_bandwidth=1e-300",
     ["rerun", "--hardware", "h100", "--set", "hbm_bandwidth=1e-300"],
     "value 1e-300 TB/s is outside the plausible range"),
    ("--set hbm_bandwidth=inf", ["rerun", "--hardware", "h100", "--set", "hbm_bandwidth=inf"],
     "field 'hbm_bandwidth': inf is not a finite number"),
    ("--set scale_up_domain=7.5", ["rerun", "--hardware", "h100", "--set", "scale_up_domain=7.5"],
     "field 'scale_up_domain': value 7.5 is not a whole number"),
    ("--set twice", ["rerun", "--hardware", "h100", "--set", "hbm_bandwidth=4",
                     "--set", "hbm_bandwidth=5"], "field 'hbm_bandwidth' is set twice"),
    ("--hardware ''", ["rerun", "--hardware", ""], "--hardware: empty; give a catalog name"),
    ("--hardware ' '", ["rerun", "--hardware", " "], "--hardware: empty"),
    ("--chapters 0", ["rerun", "--hardware", "h100", "--chapters", "0"],
     "no chapter matches '0'; chapters: 01_optimal_batch"),
    ("--chapters ''", ["rerun", "--hardware", "h100", "--chapters", ""],
     "--chapters: an empty chapter name"),
    ("hardware check of nothing", ["hardware", "check"], "hardware check: give the hardware file"),
]


@pytest.mark.parametrize("args,message", [c[1:] for c in BAD_ARGS], ids=[c[0] for c in BAD_ARGS])
def test_bad_arguments_are_refused_in_one_line(tmp_path, capsys, args, message):
    out = tmp_path / "out"
    rc = main([*args, "--out", str(out)] if args[0] == "rerun" else args)
    err = capsys.readouterr().err
    assert rc == 2 and err.count("\n") == 1, err
    for part in (message if isinstance(message, tuple) else (message,)):
        assert part in err, err
    assert not out.exists()


def test_names_are_matched_in_any_case(capsys):
    assert catalog.lookup("accelerators", "B200").key == "b200"
    assert catalog.lookup("accelerators", "H100_SXM").key == "h100"
    assert main(["hardware", "show", "B200"]) == 0
    assert "b200:" in capsys.readouterr().out
    assert [p.stem for p in paths.select_notebooks(["1"])] == ["01_optimal_batch"]


def test_plausible_ranges_hold_every_catalogued_part_and_a_measured_cpu():
    ranges = plausible_ranges()
    for a in catalog.accelerators().values():
        for name, f in a.fields.items():
            if f.si is not None:
                assert ranges[name][0] <= f.si <= ranges[name][1], (a.key, name)
    cpu = catalog.hardware_file(ROOT / "helpers" / "measurements" / "cpu_reference.yaml")
    assert cpu.hbm_bandwidth > ranges["hbm_bandwidth"][0]


def test_hardware_check_prints_what_a_file_changes(tmp_path, capsys):
    doc = _h100_doc()
    doc["entries"]["mychip"]["hbm_bandwidth"]["value"] = 6.7
    path = tmp_path / "mychip.yaml"
    _write(doc)(path)
    assert main(["hardware", "check", str(path)]) == 0
    captured = capsys.readouterr()
    out = captured.out
    assert f"{path}: entry 'mychip' is valid" in out
    assert "compared with h100" in out
    assert "hbm_bandwidth  3.35 TB/s  ->  6.7 TB/s  2.00×" in out
    assert "results it changes (" in out and "  0.500×" in out   # F/W, drain time: halved
    assert " h100_" not in out            # results named for the H100 never change
    # the value no longer is what the cited source says: a warning names field and source
    assert "warning: " in captured.err and "field 'hbm_bandwidth'" in captured.err
    assert "cites source 'aic_h100'" in captured.err
    # the file as catalogued: nothing changes
    same = tmp_path / "h100.yaml"
    same.write_text(hardware_document(catalog.lookup("accelerators", "h100")))
    assert main(["hardware", "check", str(same)]) == 0
    assert "a re-run changes nothing" in capsys.readouterr().out


# --- the reader's chip as a first-class part ------------------------------------------------
def test_the_template_is_clean_and_refused_until_filled(tmp_path, capsys):
    assert main(["hardware", "show", "--template"]) == 0
    text = capsys.readouterr().out
    for inherited in ("gk_h100", "aic_h100", "also_read_as", "aliases", "note:", "NVIDIA"):
        assert inherited not in text, inherited
    assert "(h100: 3.35 TB/s)" in text          # the H100's values as comments, for scale
    path = tmp_path / "mine.yaml"
    path.write_text(text)
    assert main(["hardware", "check", str(path)]) == 2
    assert "field 'launch': value is null; give a number, or 'missing: <why>'" in \
        capsys.readouterr().err
    doc = yaml.safe_load(text)
    h100 = catalog.lookup("accelerators", "h100")
    for name, f in doc["entries"]["my_chip"].items():
        if isinstance(f, dict):
            f["value"] = h100.fields[name].value if name in h100.fields else 1
    doc["entries"]["my_chip"].pop("fp4_dense_flops")
    path.write_text(yaml.safe_dump(doc))
    assert main(["hardware", "check", str(path)]) == 0
    err = capsys.readouterr().err
    assert "still the template's placeholder (example.com)" in err
    assert main(["hardware", "show", "--template", "b200", "--format", "toml"]) == 0
    toml_text = capsys.readouterr().out
    assert "(b200: 7.7 TB/s)" in toml_text and "[entries.my_chip]" in toml_text
    (tmp_path / "mine.toml").write_text(toml_text)
    assert main(["hardware", "check", str(tmp_path / "mine.toml")]) == 2
    assert "value 0 must be positive" in capsys.readouterr().err


def test_a_copied_reading_and_an_unread_field_are_warned_about(tmp_path, capsys):
    doc = _h100_doc()
    entry = doc["entries"]["mychip"]
    entry["hbm_capacity"]["value"] = 96          # also_read_as GiB copied from the H100
    entry["fp4_dense_flops"] = {"value": 4000, "unit": "TFLOP/s", "source": "gk_h100"}
    path = tmp_path / "mychip.yaml"
    _write(doc)(path)
    assert main(["hardware", "check", str(path)]) == 0
    err = capsys.readouterr().err
    assert "field 'hbm_capacity': also_read_as GiB is copied from h100" in err
    assert "field 'fp4_dense_flops': read by no chapter" in err


def test_a_set_runs_hardware_file_loads_back(tmp_path):
    from helpers.notebook import accelerator

    entry = accelerator("h100", {"hbm_bandwidth": 4.8, "fp8_dense_flops": 2500})
    path = tmp_path / "hardware.yaml"
    path.write_text(hardware_document(entry))
    again = catalog.hardware_file(path)
    assert again.fields == entry.fields
    assert again.fields["hbm_bandwidth"].source.tag == "override"
    assert again.fields["hbm_bandwidth"].note == "set with --set; 3.35 TB/s in aic_h100"


def test_sweep_takes_the_readers_file(tmp_path, capsys):
    doc = _h100_doc()
    doc["entries"]["mychip"]["hbm_bandwidth"]["value"] = 6.7
    path = tmp_path / "mychip.yaml"
    _write(doc)(path)
    assert main(["sweep", "--hardware", str(path), "--json"]) == 0
    table = json.loads(capsys.readouterr().out)["accelerators"]
    assert "mychip" in table and "h100" in table
    assert main(["sweep", "--hardware", str(tmp_path / "nothere.yaml")]) == 2


def test_results_from_a_run_folder_say_which_hardware_ran(tmp_path, capsys):
    import shutil

    run = tmp_path / "run"
    run.mkdir()
    shutil.copy2(paths.notebooks()[0], run / paths.notebooks()[0].name)
    (run / "rerun.json").write_text(json.dumps({
        "hardware": "/somewhere/mychip.yaml", "accelerator": "mychip", "name": "My chip",
        "overrides": {"hbm_bandwidth": 4.8}, "chapters": [paths.notebooks()[0].stem]}))
    assert main(["results", "--from", str(run)]) == 0
    first = capsys.readouterr().out.splitlines()[0]
    assert first == (f"# re-run for mychip (My chip) from mychip.yaml with hbm_bandwidth = 4.8; "
                     f"chapters {paths.notebooks()[0].stem}")
    assert main(["claims", "--from", str(run), "--json"]) == 0
    captured = capsys.readouterr()
    assert captured.err.startswith("# re-run for mychip") and json.loads(captured.out) is not None
