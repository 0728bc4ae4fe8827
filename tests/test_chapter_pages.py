"""What a reader sees of a chapter's code: its derivation, never its bookkeeping.

Generic over every chapter (a new chapter is covered without a new test): at most
``MAX_VISIBLE_LINES`` visible code lines, no visible line wider than ``MAX_WIDTH`` (the page cuts
it off), and no publishing, glue or table plumbing in a visible cell -- that lives in cells
tagged ``remove-cell`` (no output the reader needs) or ``hide-input`` (a table or figure).
"""
from __future__ import annotations

import json
import re

import pytest

from helpers.results import notebooks

MAX_VISIBLE_LINES = 100
MAX_WIDTH = 88
HIDDEN = {"remove-cell", "remove-input", "hide-input", "hide-cell"}
PLUMBING = re.compile(r"\b(publish\w*|record_\w+|show_markdown|md_table)\(|"
                      r"\bch\.(publish|text|glue|headline|table|verdicts)\(")
CHAPTERS = notebooks()


def visible_code(path) -> list[str]:
    nb = json.loads(path.read_text(encoding="utf-8"))
    lines = []
    for cell in nb["cells"]:
        if cell["cell_type"] != "code" or HIDDEN & set(cell["metadata"].get("tags", [])):
            continue
        lines += "".join(cell["source"]).splitlines()
    return lines


def check_visible_code(path) -> None:
    lines = visible_code(path)
    assert len(lines) <= MAX_VISIBLE_LINES, f"{len(lines)} visible code lines"
    wide = [line for line in lines if len(line) > MAX_WIDTH]
    assert not wide, f"visible lines wider than {MAX_WIDTH}: {wide[:3]}"
    plumbing = [line for line in lines if PLUMBING.search(line)]
    assert not plumbing, f"bookkeeping in a visible cell: {plumbing[:3]}"


@pytest.mark.parametrize("path", CHAPTERS, ids=lambda p: p.stem)
def test_visible_code_is_the_derivation(path):
    check_visible_code(path)
