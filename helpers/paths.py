"""Where things are in the repository, and which notebooks a command runs.

``execute`` and ``rerun`` both name chapters the same way (a file stem, a prefix such as
``01``, or a file name) through :func:`select_notebooks`; nothing else lists them.
"""
from __future__ import annotations

import ast
import json
from pathlib import Path

from .errors import RerunError

ROOT = Path(__file__).resolve().parent.parent
CHAPTERS = ROOT / "chapters"
APPENDICES = ROOT / "appendices"
CATALOG_DIR = Path(__file__).resolve().parent / "catalogs"   # package data: installed with helpers
# tracked source folders a re-run must never write into
PROTECTED = ("chapters", "appendices", "helpers", "tests")


def notebooks(directory: Path | str | None = None) -> list[Path]:
    """The notebooks in ``directory`` (default: the chapters), in file-name order; hidden ones
    (``.NAME.running.ipynb``, a notebook ``execute`` is writing) are not notebooks yet."""
    return sorted(p for p in Path(directory or CHAPTERS).glob("*.ipynb")
                  if not p.name.startswith("."))


def chapter_number(path: Path) -> str:
    """A chapter's number as its file name writes it: ``01`` for ``01_optimal_batch``."""
    return path.stem.split("_", 1)[0]


def _names(name: str, path: Path) -> bool:
    """Whether ``name`` names the chapter at ``path``: its stem or file name, its number (``01``
    or ``1``), or the start of its stem past the number (``01_opt``). A bare prefix of the
    number (``0``) names no chapter: it would name them all."""
    if name in (path.stem, path.name):
        return True
    number = chapter_number(path)
    if name.isdigit():
        return number.isdigit() and int(name) == int(number)
    return len(name) > len(number) and path.stem.startswith(name)


def select_notebooks(names: list[str] | None, *, appendices: bool = False) -> list[Path]:
    """The chapters ``names`` name (stems, numbers such as ``01``, or file names), each once,
    in the order named; every chapter when ``names`` is empty.

    With ``appendices`` (``execute``): no names means every chapter *and* every appendix
    notebook (they read the catalogs), and a name may be the path of any notebook file
    (``appendices/sweep.ipynb``). An unknown or empty name is a :class:`RerunError` listing the
    chapters.
    """
    chapters = notebooks()
    if not names:
        return chapters + (notebooks(APPENDICES) if appendices else [])
    listing = ", ".join(p.stem for p in chapters)
    chosen: list[Path] = []
    for n in names:
        n = n.strip() if isinstance(n, str) else ""
        if not n:
            raise RerunError(f"--chapters: an empty chapter name; give numbers or names, e.g. "
                             f"--chapters 01 02 (chapters: {listing})")
        if appendices and n.endswith(".ipynb") and Path(n).is_file():
            match = [Path(n).resolve()]
        else:
            match = [p for p in chapters if _names(n, p)]
        if not match:
            shown = n if len(n) <= 40 else n[:37] + "..."
            raise RerunError(f"no chapter matches '{shown}'; chapters: {listing}")
        chosen += [p for p in match if p not in chosen]
    return chosen


def chapter_parameters(nb_path: Path) -> dict:
    """The literal values of a notebook's ``parameters`` cell (its defaults)."""
    nb = json.loads(nb_path.read_text(encoding="utf-8"))
    for cell in nb["cells"]:
        if cell["cell_type"] == "code" and "parameters" in cell["metadata"].get("tags", []):
            values = {}
            for node in ast.parse("".join(cell["source"])).body:
                if isinstance(node, ast.Assign) and len(node.targets) == 1 \
                        and isinstance(node.targets[0], ast.Name):
                    values[node.targets[0].id] = ast.literal_eval(node.value)
            return values
    raise RerunError(f"{nb_path}: no cell tagged 'parameters'")
