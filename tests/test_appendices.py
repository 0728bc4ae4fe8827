"""The appendices are generated, complete, current, executed clean and byte-stable, and publish
no results of their own; every chapter gives the reader the same furniture (objectives,
takeaways, exercises with hidden solutions, one of them a re-run)."""
from __future__ import annotations

import json
import re

import nbformat
import pytest

from conftest import ROOT
from helpers import catalog, claims, results
from helpers.appendices import catalog_markdown, ledger_markdown, ledger_rows
from helpers.execute import clean
from helpers.paths import notebooks

APPENDICES = ROOT / "appendices"
APPENDIX_NOTEBOOKS = notebooks(APPENDICES)


def _markdown_outputs(path) -> str:
    nb = json.loads(path.read_text(encoding="utf-8"))
    return "\n".join("".join(o.get("data", {}).get("text/markdown", ""))
                     for c in nb["cells"] for o in c.get("outputs", []))


def _ledger_table_rows() -> dict[str, list[str]]:
    rows = {}
    for line in _markdown_outputs(APPENDICES / "claims_ledger.ipynb").splitlines():
        m = re.match(r"^\| \*\*([A-Z0-9]+-\d+)\*\* \|", line)
        if m:
            rows[m.group(1)] = [c.strip() for c in re.split(r"(?<!\\)\|", line)[1:-1]]
    return rows


def test_ledger_has_a_row_with_a_verdict_for_every_claim_id():
    rows = _ledger_table_rows()
    missing = sorted(set(claims.load()) - set(rows))
    assert not missing, f"claim ids with no row in the ledger: {missing}"
    no_verdict = sorted(cid for cid, cells in rows.items() if cells[5] == "—")
    assert not no_verdict, f"claim ids with no verdict in the ledger: {no_verdict}"
    no_link = sorted(cid for cid, cells in rows.items() if "{ref}" not in cells[-1])
    assert not no_link, f"claim ids with no link to a section: {no_link}"


def test_ledger_shows_each_claim_s_robustness():
    """The robust? column: robust, a flip, untested, or not numeric; never "—" (a rule
    that no longer gives its chapter's label) for the committed run."""
    rows = _ledger_table_rows()
    shown = {cid: cells[6] for cid, cells in rows.items()}
    assert all(t.startswith(("robust", "→", "flips only jointly", "untested", "not numeric"))
               for t in shown.values()), shown


def test_ledger_is_current_with_the_chapters():
    shown = _markdown_outputs(APPENDICES / "claims_ledger.ipynb")
    assert ledger_markdown(ledger_rows()) in shown, \
        "re-execute appendices/claims_ledger.ipynb after the chapters (python -m helpers execute)"


def test_ledger_rows_follow_the_recorded_verdicts():
    from helpers.results import read_claims
    recorded = read_claims()
    for row in ledger_rows():
        if row["id"] in recorded:
            assert row["verdict"] == recorded[row["id"]]["verdict"]
            assert row["section"] == recorded[row["id"]]["section"]


@pytest.mark.parametrize("kind", catalog.kinds())
def test_catalog_appendix_shows_every_entry_and_field(kind):
    page = APPENDICES / (f"{kind}.ipynb" if kind in catalog.SCHEMAS else "other_inputs.ipynb")
    shown = _markdown_outputs(page)
    for block in catalog_markdown(kind):
        assert block in shown, f"{page.name} is stale: re-execute it"
    for e in catalog.load(kind).values():
        for name in e.fields:
            assert f"| `{name}` |" in shown, (e.key, name)


CHAPTERS = notebooks()
# paths on this machine; a URL path segment such as businesswire.com/news/home/ is not one
MACHINE_PATHS = ("/work/", "/tmp/", "/root/", "/home/")


def _sources(path, kind):
    nb = json.loads(path.read_text(encoding="utf-8"))
    return [("".join(c["source"]), c["metadata"]) for c in nb["cells"] if c["cell_type"] == kind]


@pytest.mark.parametrize("path", CHAPTERS, ids=lambda p: p.stem)
def test_chapter_has_the_reader_s_furniture(path):
    md = "\n".join(src for src, _ in _sources(path, "markdown"))
    assert re.search(r"admonition\} Learning objectives", md), "no learning objectives"
    assert re.search(r"admonition\} Takeaways", md), "no takeaways box"
    # a directive opens with ``` or ::: (MyST's colon fence, as in the chapter template)
    exercises = re.findall(r"(?:```|:::)\{exercise\}", md)
    solutions = re.findall(r"(?:```|:::)\{solution\}[^\n]*\n:class: dropdown", md)
    assert len(exercises) >= 3, f"{len(exercises)} exercises, need at least 3"
    assert len(solutions) == len(exercises), "every exercise needs a hidden (dropdown) solution"
    blocks = re.findall(r"(```|:::)\{exercise\}(.*?)\1", md, re.S)
    blocks = [body for _, body in blocks]
    assert any(re.search(r"re-run|rerun|parameters cell", b, re.I) for b in blocks), \
        "no exercise asks the reader to re-run the chapter with other numbers"


@pytest.mark.parametrize("path", CHAPTERS, ids=lambda p: p.stem)
def test_chapter_hides_plotting_code(path):
    """Derivations stay visible; the plotting code behind a figure is behind a toggle."""
    for src, meta in _sources(path, "code"):
        tags = meta.get("tags", [])
        if re.search(r"plt\.(subplots|figure|plot|show)", src):
            assert {"hide-input", "remove-cell", "remove-input"} & set(tags), src[:120]


def test_pages_workflow_tests_builds_and_deploys_the_book():
    import yaml
    wf = (ROOT / ".github" / "workflows" / "pages.yml").read_text()
    steps = yaml.safe_load(wf)["jobs"]["build"]["steps"]
    runs = "\n".join(s.get("run", "") for s in steps)
    assert "bash setup.sh" in runs            # pinned requirements.txt, -W build
    assert ".venv/bin/python -m pytest" in runs
    assert any(s.get("with", {}).get("path") == "_build/html" for s in steps)
    assert "actions/deploy-pages" in wf
    setup = (ROOT / "setup.sh").read_text()
    assert "-r requirements.txt" in setup and "--warningiserror" in setup
    # the repository URL is the committed one (pyproject.toml, mirrored and checked by
    # test_packaging): the workflow must not rewrite it, or the copies would disagree
    assert "sed -i" not in runs



def test_appendices_exist_and_are_in_the_toc():
    assert {p.stem for p in APPENDIX_NOTEBOOKS} >= {"rerun", "sweep"}
    toc = (ROOT / "_toc.yml").read_text()
    for p in APPENDIX_NOTEBOOKS:
        assert f"file: appendices/{p.stem}" in toc


@pytest.mark.parametrize("path", APPENDIX_NOTEBOOKS, ids=lambda p: p.stem)
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
    for marker in MACHINE_PATHS + (" at 0x",):
        assert not re.search(r"(?<![\w.])" + re.escape(marker), outputs), marker


def test_appendices_publish_no_results():
    """Appendices glue text only: results and verdicts belong to the chapters."""
    assert results.read_results(ROOT / "appendices") == {}
    assert results.read_claims(ROOT / "appendices") == {}


def test_rerun_appendix_documents_every_schema_field():
    nb = json.loads((ROOT / "appendices" / "rerun.ipynb").read_text())
    shown = json.dumps([c.get("outputs", []) for c in nb["cells"]])
    for name in catalog.SCHEMAS["accelerators"]:
        assert f"`{name}`" in shown, name
