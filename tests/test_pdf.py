"""The whole-book PDF (``python -m helpers pdf``): printed from the session's built book, one
short chapter in each edition (about 20 s on an idle machine): the instructor's prints every
solution open, the student's none; neither prints a code-toggle bar, a "click to show" or the
site's chrome; the page order is the table of contents'."""
from __future__ import annotations

import re
import sys

import pytest

from conftest import ROOT, run

CHAPTER = "chapters/07_token_cost"     # the shortest chapter with exercises


def _text(path) -> str:
    from pypdf import PdfReader
    return "\n".join(p.extract_text() for p in PdfReader(str(path)).pages)


def _solutions_in_source() -> int:
    text = (ROOT / f"{CHAPTER}.ipynb").read_text(encoding="utf-8")
    return len(re.findall(r"[`:]{3,}\{solution\}", text))


@pytest.fixture(scope="module")
def editions(built_book, tmp_path_factory):
    from helpers.pdf import print_book

    out = tmp_path_factory.mktemp("pdf")
    pages = [CHAPTER]
    student = print_book(built_book, out / "student.pdf", pages=pages)
    teacher = print_book(built_book, out / "instructor.pdf", pages=pages, instructor=True)
    return {"student": (student, _text(out / "student.pdf")),
            "instructor": (teacher, _text(out / "instructor.pdf")), "dir": out}


def test_instructor_edition_prints_every_solution_open(editions):
    report, text = editions["instructor"]
    n = _solutions_in_source()
    assert n and report["solutions"] == n
    assert len(re.findall(r"Solution to Exercise", text)) == n


def test_student_edition_prints_no_solution(editions):
    report, text = editions["student"]
    assert report["solutions"] == 0 and "Solution to Exercise" not in text
    assert re.search(r"Exercise \d+", text)          # the exercises themselves are there
    assert editions["instructor"][0]["sheets"] > report["sheets"] >= 2


@pytest.mark.parametrize("edition", ["student", "instructor"])
def test_no_toggle_bar_or_site_chrome_is_printed(editions, edition):
    _, text = editions[edition]
    for chrome in ("Show code cell source", "Click to show", "Recompute this page",
                   "Skip to main content", "Back to top", "Search this book"):
        assert chrome not in text, f"{edition}: '{chrome}' printed"
    assert "Takeaways" in text


def test_pdf_has_a_bookmark_per_page_in_toc_order(editions):
    from pypdf import PdfReader

    reader = PdfReader(str(editions["dir"] / "student.pdf"))
    titles = [item.title for item in reader.outline]
    assert len(titles) == 1 and titles[0].startswith("7.")


def test_pdf_prints_every_toc_page_in_order():
    import yaml

    from helpers.pdf import toc_files
    toc = yaml.safe_load((ROOT / "_toc.yml").read_text())
    assert toc_files() == [toc["root"]] + [c["file"] for p in toc["parts"] for c in p["chapters"]]


def test_pdf_command_refuses_a_folder_that_is_not_a_build(tmp_path):
    proc = run([sys.executable, "-m", "helpers", "pdf", "--html", str(tmp_path),
                "--out", str(tmp_path / "x.pdf")])
    assert proc.returncode == 2 and proc.stderr.count("\n") == 1 and "--html" in proc.stderr
    proc = run([sys.executable, "-m", "helpers", "pdf", "--out", str(tmp_path / "x.txt")])
    assert proc.returncode == 2 and ".pdf" in proc.stderr
