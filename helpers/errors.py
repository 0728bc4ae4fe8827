"""The errors a reader sees as one line (``error: ...``, exit status 2) with nothing written.

Every check of user input (a catalog, a hardware file, ``--set``, ``--chapters``, ``--out``)
raises one of these, with a message naming the file, the entry, the field and the problem;
``python -m helpers`` prints it and stops before any notebook runs.
"""
from __future__ import annotations


class CatalogError(ValueError):
    """A malformed catalog or hardware file; one line: file, entry, field, problem."""


class RerunError(CatalogError):
    """A refused re-run (bad output folder, unknown chapter); one line, nothing written."""
