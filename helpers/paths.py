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


def select_notebooks(names: list[str] | None, *, appendices: bool = False) -> list[Path]:
    """The chapters ``names`` name (stems, prefixes such as ``01``, or file names), each once,
    in the order named; every chapter when ``names`` is empty.

    With ``appendices`` (``execute``): no names means every chapter *and* every appendix
    notebook (they read the catalogs), and a name may be the path of any notebook file
    (``appendices/sweep.ipynb``). An unknown name is a :class:`RerunError` listing the chapters.
    """
    chapters = notebooks()
    if not names:
        return chapters + (notebooks(APPENDICES) if appendices else [])
    chosen: list[Path] = []
    for n in names:
        if appendices and n.endswith(".ipynb") and Path(n).is_file():
            match = [Path(n).resolve()]
        else:
            match = [p for p in chapters if p.stem == n or p.stem.startswith(n) or p.name == n]
        if not match:
            raise RerunError(f"no chapter matches '{n}'; chapters: "
                             + ", ".join(p.stem for p in chapters))
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
