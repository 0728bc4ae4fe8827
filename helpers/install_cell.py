"""The first, hidden cell of every chapter: it installs the book's package when the notebook runs
outside a checkout (Colab, a downloaded file), and does nothing inside one.

The repository it installs from is stated once, in ``pyproject.toml``'s ``[project.urls]``
(:func:`repository_url`); :func:`cell_source` writes it into the cell's text and :func:`ensure`
puts that cell first in a notebook (idempotent: a second call changes nothing)::

    python -m helpers install-cell            # every chapter
    python -m helpers install-cell --check    # exit 1 if a chapter's cell is missing or stale
"""
from __future__ import annotations

import json
import tomllib
from pathlib import Path

from .paths import ROOT

TAG = "remove-cell"            # the book never shows it; a reader on Colab sees it run
MARKER = "# install-cell:"     # the cell's first line: how ensure() finds it again
PYPROJECT = ROOT / "pyproject.toml"


def _project() -> dict:
    return tomllib.loads(PYPROJECT.read_text(encoding="utf-8"))["project"]


def repository_url() -> str:
    """The book's repository (``[project.urls] Repository`` in ``pyproject.toml``)."""
    return _project()["urls"]["Repository"]


def package_name() -> str:
    return _project()["name"]


def cell_source(url: str | None = None, name: str | None = None) -> str:
    """The install cell's exact text: install the package from ``url`` only when ``helpers`` is
    not importable (inside a checkout, or with the package installed, nothing runs)."""
    url = url or repository_url()
    name = name or package_name()
    return (f"{MARKER} outside a checkout of the book's repository (on Colab, or a\n"
            "# downloaded notebook) install its `helpers` package from there; inside one, nothing\n"
            "import importlib\n"
            "import importlib.util\n"
            "import subprocess\n"
            "import sys\n"
            "\n"
            f"_repository = \"{url}\"\n"
            "if importlib.util.find_spec(\"helpers\") is None:\n"
            "    subprocess.run([sys.executable, \"-m\", \"pip\", \"install\", \"--quiet\",\n"
            f"                    f\"{name} @ git+{{_repository}}\"], check=True)\n"
            "    importlib.invalidate_caches()\n")


def _cell(source: str) -> dict:
    return {"cell_type": "code", "execution_count": None, "id": "install-helpers",
            "metadata": {"tags": [TAG]}, "outputs": [], "source": source.splitlines(True)}


def is_install_cell(cell: dict) -> bool:
    src = cell.get("source", "")
    src = "".join(src) if isinstance(src, list) else src
    return cell.get("cell_type") == "code" and src.startswith(MARKER)


def ensure(nb_path: Path | str, *, check: bool = False) -> bool:
    """Make the install cell the first cell of the notebook at ``nb_path`` (insert it, update a
    stale one, move it to the front; nothing else in the file changes). Returns whether the file
    needed a change; with ``check``, never writes."""
    path = Path(nb_path)
    text = path.read_text(encoding="utf-8")
    nb = json.loads(text)
    cells = nb["cells"]
    want = _cell(cell_source())
    existing = [c for c in cells if is_install_cell(c)]
    if existing and cells[0] is existing[0] and len(existing) == 1 \
            and "".join(cells[0]["source"]) == "".join(want["source"]) \
            and TAG in cells[0].get("metadata", {}).get("tags", []):
        return False
    if check:
        return True
    cells[:] = [want] + [c for c in cells if not is_install_cell(c)]
    if int(nb.get("nbformat_minor", 5)) < 5 or nb.get("nbformat", 4) < 4:
        want.pop("id")                        # cell ids exist from nbformat 4.5 on
    elif any(c.get("id") == want["id"] for c in cells[1:]):
        want["id"] = "install-helpers-0"
    # the notebooks' own formatting (nbformat writes indent 1, non-ASCII kept, final newline)
    path.write_text(json.dumps(nb, indent=1, ensure_ascii=False) + "\n", encoding="utf-8")
    return True
