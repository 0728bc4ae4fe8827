"""A chapter reads like a book: the answer first, numbered tables the prose cites, titled
exercises, bold for takeaways only, no notebook internals in the prose, checked figures.

Generic over every chapter (and the template): a new chapter is covered without a new test.
These read the committed notebooks only (no build), so they cost milliseconds.
"""
from __future__ import annotations

import ast
import json
import re
from pathlib import Path

import pytest

from helpers.paths import ROOT
from helpers.results import notebooks

PAGES = notebooks() + [ROOT / "templates" / "chapter.ipynb"]
RERUN_SECTION = re.compile(r"^#+ .*Re-run this chapter", re.M)
GLUE_OR_REF = re.compile(r"\{(glue(:\w+)?|numref|ref|eq|doc|prf:ref|download)\}`[^`]*`"
                         r"|^(```+|:::+)\{glue(:\w+)?\}[^\n]*$", re.M)   # roles, glue directives
EXERCISE = re.compile(r"^(```+|:::+)\{exercise\}(?P<title>[^\n]*)$", re.M)
BOLD = re.compile(r"\*\*((?:[^\n]|\n(?!\s*\n))+?)\*\*")    # within one paragraph
INTERNALS = re.compile(r"run accelerator|record_verdicts|\bch\.\w+|\.venv/bin|"
                       r"helpers/catalogs/|\bmetadata\b|\bcell\b")


def _cells(path: Path) -> list[dict]:
    return json.loads(path.read_text(encoding="utf-8"))["cells"]


def _src(cell) -> str:
    return "".join(cell["source"])


def _prose(path: Path, *, roles: bool = False) -> str:
    """The reader's prose: markdown cells up to the closing 'Re-run this chapter' section,
    with glue and cross-reference roles (names a reader never sees) removed unless ``roles``."""
    text = "\n\n".join(_src(c) for c in _cells(path) if c["cell_type"] == "markdown")
    cut = RERUN_SECTION.search(text)
    text = text[:cut.start()] if cut else text
    return text if roles else GLUE_OR_REF.sub("", text)


def _calls(path: Path, attr: str):
    """Every ``ch.<attr>(...)`` call in the notebook's code cells."""
    for cell in _cells(path):
        if cell["cell_type"] != "code":
            continue
        try:
            tree = ast.parse(_src(cell))
        except SyntaxError:
            continue
        for node in ast.walk(tree):
            if (isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute)
                    and node.func.attr == attr and isinstance(node.func.value, ast.Name)
                    and node.func.value.id == "ch"):
                yield node


@pytest.mark.parametrize("path", PAGES, ids=lambda p: p.stem)
def test_the_answer_comes_first(path):
    """The answer box sits above the first section; the parameters are not the reader's
    first screen (their cell is hidden, their explanation moves to the end)."""
    cells = _cells(path)
    first_section = next(i for i, c in enumerate(cells) if c["cell_type"] == "markdown"
                         and re.search(r"^## ", _src(c), re.M))
    box = [i for i, c in enumerate(cells) if "{glue:md} answer_box" in _src(c)]
    assert box and box[0] <= first_section, "no answer box before the first section"
    assert not any(re.search(r"^## Parameters", _src(c), re.M) for c in cells[:first_section])
    params = [c for c in cells if "parameters" in c["metadata"].get("tags", [])]
    assert params and "remove-cell" in params[0]["metadata"]["tags"]
    assert list(_calls(path, "verdicts")), "the chapter records its verdicts (the box's lines)"


@pytest.mark.parametrize("path", PAGES, ids=lambda p: p.stem)
def test_every_table_is_numbered_and_cited(path):
    prose = "\n".join(_src(c) for c in _cells(path) if c["cell_type"] == "markdown")
    for call in _calls(path, "table"):
        keywords = {k.arg: k.value for k in call.keywords}
        assert "caption" in keywords and "label" in keywords, \
            f"ch.table at line {call.lineno} has no caption= and label="
        label = keywords["label"]
        if isinstance(label, ast.Constant):
            assert f"{{numref}}`{label.value}`" in prose, f"the prose never cites {label.value}"


@pytest.mark.parametrize("path", PAGES, ids=lambda p: p.stem)
def test_every_exercise_has_a_topic(path):
    text = "\n".join(_src(c) for c in _cells(path) if c["cell_type"] == "markdown")
    found = list(EXERCISE.finditer(text))
    assert found, "no exercises"
    untitled = [m.group(0) for m in found if not m.group("title").strip()]
    assert not untitled, f"{len(untitled)} exercise(s) without a title"


@pytest.mark.parametrize("path", PAGES, ids=lambda p: p.stem)
def test_bold_is_for_takeaways_and_questions(path):
    spans = [" ".join(m.group(1).split()) for m in BOLD.finditer(_prose(path, roles=True))]
    other = [s for s in spans if not (s.startswith("Takeaway") or s.rstrip(" *").endswith("?"))]
    assert not other, f"bold outside takeaways and questions: {other[:4]}"


@pytest.mark.parametrize("path", PAGES, ids=lambda p: p.stem)
def test_prose_names_no_internals(path):
    """No result names, cell or metadata talk, tool paths or the Chapter object in the prose
    (solutions included); the closing re-run section may name commands."""
    prose = _prose(path)
    names = set()
    for cell in _cells(path):
        for out in cell.get("outputs", []):
            name = out.get("metadata", {}).get("scrapbook", {}).get("name")
            if name and "_" in name:
                names.add(name)
    leaked = sorted(n for n in names if re.search(rf"\b{re.escape(n)}\b", prose))
    assert not leaked, f"result names in the prose: {leaked[:5]}"
    internal = sorted({m.group(0) for m in INTERNALS.finditer(prose)})
    assert not internal, f"notebook internals in the prose: {internal}"


@pytest.mark.parametrize("path", PAGES, ids=lambda p: p.stem)
def test_every_figure_is_checked(path):
    """A cell that draws a figure calls ``figures.check`` (legible on a phone, never colour
    alone), so executing the chapter fails on an illegible figure."""
    for i, cell in enumerate(_cells(path)):
        if cell["cell_type"] != "code":
            continue
        draws = any("image/png" in o.get("data", {}) for o in cell.get("outputs", []))
        if draws or "figure" in cell["metadata"].get("mystnb", {}):
            assert "figures.check(" in _src(cell), f"cell {i} draws a figure unchecked"
