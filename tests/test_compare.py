"""The answer first: the comparison shows what changed (verdicts on top, then results by chapter,
the largest change first), ``--all`` everything, ``--json`` a summary saying whether a verdict
changed, ``--exit-code`` says it in the exit status, ``--against`` compares with another chip or
an earlier run; odd displays (words with a ratio, two negligible numbers, a time whose text
names its unit) are shown plainly. One tiny chapter, re-run three times; no book chapter."""
from __future__ import annotations

import json

import pytest

from conftest import write_tiny_chapter
from helpers import compare, paths
from helpers.__main__ import main


def _result(chapter, value, text, accelerator="h100", unit="ratio"):
    return {"value": value, "text": text, "unit": unit, "chapter": chapter,
            "accelerator": accelerator, "description": "", "headline": None}


def _table():
    old = {"a_small": _result("01_x", 100.0, "100"), "a_big": _result("01_x", 10.0, "10"),
           "a_same": _result("01_x", 5.0, "5"), "b_words": _result("02_y", 1.0, "all of it"),
           "b_tiny": _result("02_y", 3.6e-72, "3.6e-72"),
           "b_time": _result("02_y", 0.0239, "23.9 ms", unit="s"),
           "h100_fixed": _result("02_y", 7.0, "7")}
    new = {"a_small": _result("01_x", 110.0, "110", "b200"),
           "a_big": _result("01_x", 40.0, "40", "b200"),
           "a_same": _result("01_x", 5.0, "5", "b200"),
           "b_words": _result("02_y", 2.0, "all of it", "b200"),
           "b_tiny": _result("02_y", 3.0e-35, "3.0e-35", "b200"),
           "b_time": _result("02_y", 0.0119, "11.9 ms", "b200", unit="s"),
           "b_new": _result("02_y", 1.0, "1", "b200"),
           "h100_fixed": _result("02_y", 7.0, "7")}
    table = compare.compare(old, new, "h100", "b200")
    table["verdicts"] = compare.compare_verdicts(
        {"RP-1": {"verdict": "holds", "caveat": "", "chapter": "01_x"},
         "RP-2": {"verdict": "holds", "caveat": "", "chapter": "02_y"}},
        {"RP-1": {"verdict": "holds", "caveat": "", "chapter": "01_x"},
         "RP-2": {"verdict": "off by 3×", "caveat": "", "chapter": "02_y"}})
    return table


def test_only_what_changed_first_verdicts_on_top_then_by_chapter_largest_first():
    table = _table()
    text = compare.comparison_text(table)
    lines = text.splitlines()
    assert lines[0] == ("b200 against h100 (the committed run): 1 of 2 verdict(s) changed; "
                        "6 of 8 result(s) changed, 2 the same")
    assert lines[2] == "verdicts that changed:" and "RP-2" in lines[3] and "off by 3×" in lines[3]
    names = [x.split()[0] for x in lines if x.startswith("    ")]
    # by chapter; within one the largest change first (one that appeared before any)
    assert names == ["a_big", "a_small", "b_new", "b_time", "b_words", "b_tiny"]
    assert [x.strip() for x in lines if x.strip().startswith("[")] == ["[01_x]", "[02_y]"]
    assert "a_same" not in text and "h100_fixed" not in text
    assert "2 result(s) the same" in text and "--all prints every row" in text
    everything = compare.comparison_text(table, everything=True)
    assert all(n in everything for n in ("a_same", "h100_fixed", "b_tiny"))


def test_odd_displays_are_plain():
    rows = {r["name"]: r for r in _table()["rows"]}
    assert rows["b_words"]["ratio"] == "changed"            # no ratio beside "all of it"
    assert rows["b_tiny"]["ratio"] == "≈ 0"                  # not "8.3e+36×"
    assert rows["b_new"]["ratio"] == "—" and rows["b_new"]["change"] is None
    line = next(x for x in compare.comparison_text(_table()).splitlines() if "b_time" in x)
    assert " s " not in line and "23.9 ms" in line and "0.498×" in line


def test_summary_says_whether_a_verdict_changed():
    s = compare.summary(_table())
    assert s["any_verdict_changed"] and s["changed_verdicts"] == ["RP-2"]
    md = compare.comparison_markdown(_table(), type("E", (), {"key": "b200", "name": "B200"})(),
                                     "b200")
    assert md.index("## Verdicts that changed") < md.index("## Results that changed")
    assert ":class: dropdown" in md


def test_the_figure_has_one_bar_per_finite_change(tmp_path):
    assert compare.comparison_figure(_table(), tmp_path / "c.png")
    assert (tmp_path / "c.png").read_bytes()[:4] == b"\x89PNG"
    empty = compare.compare({}, {}, "h100", "b200")
    assert not compare.comparison_figure(empty, tmp_path / "none.png")


def _tiny(path):
    code = ("from helpers.chapter import Chapter\nfrom helpers import results\n"
            "ch = Chapter(accelerator, overrides)\n"
            "r = ch.acc.bf16_dense_flops / ch.acc.hbm_bandwidth\n"
            "ch.publish('tiny_ratio', r, 'FLOP/byte', 'F/W', part=ch.acc.key)\n"
            "results.record_claim('RP-3', '300', f'{r:.0f}', 'holds' if r < 293.5 else "
            "'off by 2× (claim too high)', section='sec-x')")
    write_tiny_chapter(path, code)


@pytest.fixture
def tiny(tmp_path, monkeypatch):
    chapters = tmp_path / "chapters"
    chapters.mkdir()
    _tiny(chapters / "09_tiny.ipynb")
    monkeypatch.setattr(paths, "CHAPTERS", chapters)
    return chapters


def test_against_a_chip_json_and_exit_code_then_against_that_run(tiny, tmp_path, capsys):
    first = tmp_path / "runs" / "b200"
    rc = main(["rerun", "--hardware", "b200", "--against", "h100", "--json", "--exit-code",
               "--out", str(first), "--jobs", "1"])
    captured = capsys.readouterr()
    assert captured.out.startswith("{"), captured.err[-2000:]
    table = json.loads(captured.out)                 # stdout is the JSON alone
    assert rc == 3, captured.err     # RP-3 holds below F/W 293.5: on the B200 (292), not the H100
    assert table["summary"]["any_verdict_changed"] is True
    assert table["summary"]["changed_verdicts"] == ["RP-3"]
    assert table["default_accelerator"] == "h100" and table["accelerator"] == "b200"
    assert table["baseline"] == "h100, re-run alongside"
    assert "started 09_tiny" in captured.err         # progress on stderr
    assert (first / "against" / "09_tiny.ipynb").exists()
    # against the run just made: the same chip, nothing changes, exit 0
    second = tmp_path / "runs" / "b200_again"
    assert main(["rerun", "--hardware", "b200", "--against", str(first), "--exit-code",
                 "--out", str(second), "--jobs", "1"]) == 0
    out = capsys.readouterr().out
    assert ("\nb200 against the run in b200 (b200): 0 of 1 verdict(s) changed; 0 of 1 "
            "result(s) changed, 1 the same\n") in out
    # a folder that is not a run, or lacks the chapters, is refused before anything runs
    assert main(["rerun", "--hardware", "b200", "--against", str(tmp_path / "chapters"),
                 "--out", str(tmp_path / "runs" / "x")]) == 2
    assert "not a re-run's (it has no rerun.json)" in capsys.readouterr().err
