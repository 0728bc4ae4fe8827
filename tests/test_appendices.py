"""The appendix notebooks (re-run with your hardware, the sweep): executed clean and byte-stable,
like the chapters, and kept out of the chapters' results."""
from __future__ import annotations

import json

import nbformat
import pytest

from helpers import catalog, results
from helpers.execute import clean
from conftest import ROOT

APPENDICES = sorted((ROOT / "appendices").glob("*.ipynb"))


def test_appendices_exist_and_are_in_the_toc():
    assert {p.stem for p in APPENDICES} >= {"rerun", "sweep"}
    toc = (ROOT / "_toc.yml").read_text()
    for p in APPENDICES:
        assert f"file: appendices/{p.stem}" in toc


@pytest.mark.parametrize("path", APPENDICES, ids=lambda p: p.stem)
def test_appendix_is_executed_clean_and_byte_stable(path):
    text = path.read_text(encoding="utf-8")
    nb = nbformat.reads(text, as_version=4)
    code = [c for c in nb.cells if c.cell_type == "code"]
    assert [c.execution_count for c in code] == list(range(1, len(code) + 1)), "run top to bottom"
    for c in code:
        for o in c.outputs:
            assert o.output_type != "error"
            assert not (o.output_type == "stream" and o.name == "stderr"), o.text[:200]
    assert nbformat.writes(clean(nb)) + "\n" == text, "volatile metadata left in the notebook"
    outputs = json.dumps([c.get("outputs", []) for c in nb.cells])
    for marker in ("/work/", "/tmp/", "/root/", "/home/", " at 0x"):
        assert marker not in outputs, marker


def test_appendices_publish_no_results():
    """Appendices glue text only: results and verdicts belong to the chapters."""
    assert results.read_results(ROOT / "appendices") == {}
    assert results.read_claims(ROOT / "appendices") == {}


def test_rerun_appendix_documents_every_schema_field():
    nb = json.loads((ROOT / "appendices" / "rerun.ipynb").read_text())
    shown = json.dumps([c.get("outputs", []) for c in nb["cells"]])
    for name in catalog.SCHEMAS["accelerators"]:
        assert f"`{name}`" in shown, name
