"""Whether a built book is the build of the working tree as it is now.

``setup.sh`` builds the book with warnings as errors and then stamps ``_build/html`` with a
digest of every file the build reads (:func:`stamp`); the test suite's ``built_book`` fixture
reuses that build when the digest still matches (:func:`is_current`) and builds afresh
otherwise, so CI (set-up, then tests) builds the book once, not twice.
"""
from __future__ import annotations

import hashlib
import subprocess
from pathlib import Path

from .paths import ROOT

STAMP = ".source-digest"
NOT_READ = ("tests/", ".github/", ".ci/")      # what the book build never reads


def sources() -> list[str]:
    """The working tree's files (tracked, and untracked ones git does not ignore)."""
    out = subprocess.run(["git", "ls-files", "--cached", "--others", "--exclude-standard", "-z"],
                         cwd=ROOT, capture_output=True, check=True).stdout.decode()
    return sorted(p for p in out.split("\0") if p and not p.startswith(NOT_READ)
                  and (ROOT / p).is_file())


def digest() -> str:
    h = hashlib.sha256()
    for rel in sources():
        h.update(rel.encode() + b"\0" + (ROOT / rel).read_bytes() + b"\0")
    return h.hexdigest()


def stamp(html: Path | str = ROOT / "_build" / "html") -> None:
    (Path(html) / STAMP).write_text(digest() + "\n", encoding="utf-8")


def is_current(html: Path | str = ROOT / "_build" / "html") -> bool:
    path = Path(html) / STAMP
    return (Path(html) / "index.html").exists() and path.exists() and \
        path.read_text(encoding="utf-8").strip() == digest()


if __name__ == "__main__":
    stamp()
