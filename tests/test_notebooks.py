"""Structure of the committed chapters: runnable by papermill, executed, clean, byte-stable."""
from __future__ import annotations

import json
import re

import nbformat
import pytest

from helpers.execute import clean
from helpers.install_cell import is_install_cell
from helpers.paths import notebooks

CHAPTERS = notebooks()


def test_there_are_chapters():
    assert CHAPTERS


@pytest.mark.parametrize("path", CHAPTERS, ids=lambda p: p.stem)
def test_chapter_is_executed_clean_and_parameterised(path):
    nb = nbformat.read(path, as_version=4)
    code = [c for c in nb.cells if c.cell_type == "code"]
    first = [c for c in code if not is_install_cell(c)][0]   # after the hidden install cell
    assert "parameters" in first.metadata.get("tags", []), "first code cell must be 'parameters'"
    assert [c.execution_count for c in code] == list(range(1, len(code) + 1)), "run top to bottom"
    for c in code:
        for o in c.outputs:
            assert o.output_type != "error", f"error output in cell {c.execution_count}"
            assert not (o.output_type == "stream" and o.name == "stderr"), \
                f"stderr (a warning?) in cell {c.execution_count}: {o.text[:200]}"


@pytest.mark.parametrize("path", CHAPTERS, ids=lambda p: p.stem)
def test_chapter_is_byte_stable(path):
    text = path.read_text(encoding="utf-8")
    nb = nbformat.reads(text, as_version=4)
    assert nbformat.writes(clean(nb)) + "\n" == text, "volatile metadata left in the notebook"
    outputs = json.dumps([c.get("outputs", []) for c in nb.cells]) + json.dumps(nb.metadata)
    for marker in ("/work/", "/tmp/", "/root/", "/home/", "\"papermill\": {", " at 0x"):
        # a path on this machine, not a URL's path segment (businesswire.com/news/home/...)
        assert not re.search(r"(?<![\w.])" + re.escape(marker), outputs), \
            f"'{marker}' in the outputs or metadata (machine-specific)"


@pytest.mark.parametrize("path", CHAPTERS, ids=lambda p: p.stem)
def test_figures_have_caption_and_alt_text(path):
    nb = json.loads(path.read_text(encoding="utf-8"))
    for cell in nb["cells"]:
        has_png = any("image/png" in o.get("data", {}) for o in cell.get("outputs", []))
        if has_png:
            meta = cell["metadata"].get("mystnb", {})
            assert meta.get("figure", {}).get("caption"), "figure without caption"
            assert meta.get("image", {}).get("alt"), "figure without alt text"
