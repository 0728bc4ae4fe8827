"""The chapter template runs as a chapter and the generic checks cover it with no test of its own:
what CONTRIBUTING.md promises a new author."""
from __future__ import annotations

import shutil

from test_chapter_pages import check_visible_code

from conftest import ROOT
from helpers.execute import execute_one
from helpers.results import read_claims, read_results


def test_template_executes_publishes_through_the_registry_and_records_its_verdict(tmp_path):
    src = tmp_path / "src" / "99_template.ipynb"
    src.parent.mkdir()
    shutil.copy(ROOT / "templates" / "chapter.ipynb", src)
    out = tmp_path / "out"
    out.mkdir()
    execute_one(src, out / src.name, {"accelerator": "b200"})
    results = read_results(out)
    assert results["flops_per_byte"]["headline"] == "flops_per_byte"
    assert results["flops_per_byte"]["accelerator"] == "b200"
    assert results["h100_flops_per_byte"]["accelerator"] == "h100"
    assert read_claims(out)["RP-3"]["section"] == "sec-template-derivation"
    check_visible_code(out / src.name)
