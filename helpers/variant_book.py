"""The variant book of a re-run (``rerun --build``): a Jupyter Book of the re-executed chapters.

Its pages: the intro and course pages as committed, a first page with the comparison, the
re-run chapters, and the appendices as committed except the claims ledger, which is
re-executed over the re-run chapters (so it lists this run's verdicts).
"""
from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

from .errors import RerunError
from .paths import APPENDICES, ROOT, notebooks


def build_book(stage: Path, chapters: list[Path], entry, comparison_md: str) -> Path:
    """A book of the re-run in ``stage/book`` (the chapters already executed into ``stage``);
    returns its HTML folder. A failed build is a :class:`RerunError` with jupyter-book's last
    line."""
    import yaml

    src = stage / "book"
    (src / "chapters").mkdir(parents=True)
    for nb in chapters:
        shutil.copy2(stage / nb.name, src / "chapters" / nb.name)
    for page in ("intro.md", "course.md"):
        if (ROOT / page).exists():
            shutil.copy2(ROOT / page, src / page)
    appendices = notebooks(APPENDICES)     # as committed (chapters link them)
    if appendices:
        (src / "appendices").mkdir()
        for nb in appendices:
            shutil.copy2(nb, src / "appendices" / nb.name)
        ledger = src / "appendices" / "claims_ledger.ipynb"
        if ledger.exists():   # the ledger of this run: the re-run chapters' verdicts
            from .execute import execute_one
            execute_one(APPENDICES / ledger.name, ledger,
                        {"chapters_dir": str((src / "chapters").resolve())})
    (src / "comparison.md").write_text(comparison_md, encoding="utf-8")
    config = yaml.safe_load((ROOT / "_config.yml").read_text(encoding="utf-8"))
    config["title"] = f"{config.get('title', 'The book')}: re-run for {entry.name}"
    (src / "_config.yml").write_text(yaml.safe_dump(config, sort_keys=False), encoding="utf-8")
    (src / "_toc.yml").write_text(yaml.safe_dump(_toc(src, chapters, appendices), sort_keys=False),
                                  encoding="utf-8")
    jb = Path(sys.executable).parent / "jupyter-book"
    proc = subprocess.run([str(jb if jb.exists() else "jupyter-book"), "build", str(src),
                           "--quiet"], capture_output=True, text=True)
    if proc.returncode != 0 or not (src / "_build" / "html" / "index.html").exists():
        tail = (proc.stderr or proc.stdout).strip().splitlines()[-1:] or ["no output"]
        raise RerunError(f"--build: jupyter-book failed: {tail[0]}")
    return src / "_build" / "html"


def _toc(src: Path, chapters: list[Path], appendices: list[Path]) -> dict:
    """The variant book's table of contents: the comparison first, then the chapters."""
    rerun_part = [{"file": "comparison"}] + ([{"file": "course"}]
                                             if (src / "course.md").exists() else [])
    parts = [{"caption": "Re-run", "chapters": rerun_part},
             {"caption": "Chapters",
              "chapters": [{"file": f"chapters/{nb.stem}"} for nb in chapters]}]
    if appendices:
        parts.append({"caption": "Appendices (the ledger is this run's; the rest as committed)",
                      "chapters": [{"file": f"appendices/{nb.stem}"} for nb in appendices]})
    return {"format": "jb-book", "root": "intro", "parts": parts}
