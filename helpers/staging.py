"""An output folder that appears complete or not at all, written by one run at a time.

``with staged(out) as stage:`` first takes ``out``'s lock (``.<name>.lock`` beside it, an
``flock`` the kernel releases when the process ends, however it ends): a second run into the
same folder is refused at once, naming the first one's process. Holding the lock, it removes
the staging folders earlier runs left when they were killed (``.<name>.partial-XXXX``, and those
of any other folder in the same place whose lock is free), then yields a fresh staging folder
beside ``out``; everything is written there. When the block ends normally the folder is renamed
to ``out`` in one step (``os.replace``); when it raises, is interrupted (Ctrl-C) or is
terminated (SIGTERM, turned into ``KeyboardInterrupt`` for the duration), the staging folder is
removed. So an ``out`` that exists is always a finished one.
"""
from __future__ import annotations

import contextlib
import fcntl
import os
import re
import shutil
import signal
import sys
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from .errors import RerunError

_PARTIAL = re.compile(r"^\.(?P<name>.+)\.partial-[A-Za-z0-9_]+$")


def _terminate(signum, frame):
    raise KeyboardInterrupt(f"signal {signum}")


def _lock(path: Path, *, wait: bool = False) -> int | None:
    """An exclusive ``flock`` on ``path`` (created if need be): its descriptor, or None when
    another process holds it. The lock is the file at ``path`` when taken (a file removed and
    re-created meanwhile is retried)."""
    while True:
        fd = os.open(path, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o644)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | (0 if wait else fcntl.LOCK_NB))
        except BlockingIOError:
            os.close(fd)
            return None
        try:
            same = os.fstat(fd).st_ino == os.stat(path).st_ino
        except FileNotFoundError:
            same = False
        if same:
            return fd
        os.close(fd)                     # the holder removed it as we took it: take the new one


def _release(path: Path, fd: int) -> None:
    with contextlib.suppress(OSError):
        os.unlink(path)                  # while still held: nobody can take a stale lock file
    os.close(fd)


def _owner(path: Path) -> str:
    try:
        pid = path.read_text(encoding="ascii").strip()
    except (OSError, UnicodeDecodeError):
        return ""
    return f" (process {pid})" if pid.isdigit() else ""


def remove_stale(parent: Path, mine: str | None = None) -> list[str]:
    """Remove the staging folders in ``parent`` that no running re-run owns: those of ``mine``
    (whose lock the caller holds) and those of any folder whose lock is free. Returns their
    names."""
    removed = []
    try:
        candidates = sorted(parent.iterdir())
    except OSError:
        return removed
    for p in candidates:
        m = _PARTIAL.match(p.name)
        if not m or not p.is_dir() or p.is_symlink():
            continue
        name = m.group("name")
        if name == mine:
            shutil.rmtree(p, ignore_errors=True)
            removed.append(p.name)
            continue
        lock = parent / f".{name}.lock"
        fd = _lock(lock)
        if fd is None:
            continue                      # a run into that folder is under way
        try:
            shutil.rmtree(p, ignore_errors=True)
            removed.append(p.name)
        finally:
            _release(lock, fd)
    for p in candidates:             # the lock files of killed runs (no staging folder left)
        if p.name.startswith(".") and p.name.endswith(".lock") and p.name != f".{mine}.lock" \
                and p.is_file() and not p.is_symlink():
            fd = _lock(p)
            if fd is not None:
                _release(p, fd)
    return removed


def refuse_if_busy(out_dir: Path) -> None:
    """Refuse at once, before any work, when another run holds ``out_dir``'s lock (the lock
    itself is taken later, by :func:`staged`, which refuses again if need be)."""
    lock = out_dir.parent / f".{out_dir.name}.lock"
    if not lock.is_file():
        return
    fd = _lock(lock)
    if fd is None:
        raise RerunError(f"--out {out_dir}: another re-run{_owner(lock)} is writing this folder; "
                         "wait for it to finish or choose another folder")
    _release(lock, fd)


@contextmanager
def locked(out_dir: Path) -> Iterator[None]:
    """Hold ``out_dir``'s lock for the block; refuse at once if another run holds it."""
    out_dir.parent.mkdir(parents=True, exist_ok=True)
    lock = out_dir.parent / f".{out_dir.name}.lock"
    fd = _lock(lock)
    if fd is None:
        raise RerunError(f"--out {out_dir}: another re-run{_owner(lock)} is writing this folder; "
                         "wait for it to finish or choose another folder")
    os.ftruncate(fd, 0)
    os.write(fd, f"{os.getpid()}\n".encode())
    try:
        yield
    finally:
        _release(lock, fd)


@contextmanager
def staged(out_dir: Path, *, quiet: bool = False) -> Iterator[Path]:
    """The staging folder for ``out_dir`` (which must be absent or empty: callers check, and it
    is checked again under the lock)."""
    with locked(out_dir):
        removed = remove_stale(out_dir.parent, mine=out_dir.name)
        if removed and not quiet:
            print(f"removed {len(removed)} staging folder(s) left by earlier runs that were "
                  f"killed: {', '.join(removed)}", file=sys.stderr, flush=True)
        if os.path.lexists(out_dir) and (not out_dir.is_dir() or any(out_dir.iterdir())):
            raise RerunError(f"--out {out_dir}: exists and is not empty (another run finished "
                             "into it meanwhile); choose a new folder")
        stage = Path(tempfile.mkdtemp(prefix=f".{out_dir.name}.partial-", dir=out_dir.parent))
        umask = os.umask(0)
        os.umask(umask)
        os.chmod(stage, 0o777 & ~umask)     # mkdtemp makes it private; out is an ordinary folder
        previous = signal.signal(signal.SIGTERM, _terminate)
        try:
            yield stage
            if out_dir.is_dir():
                out_dir.rmdir()           # empty (checked above); rmdir refuses otherwise
            os.replace(stage, out_dir)
        except BaseException:
            shutil.rmtree(stage, ignore_errors=True)
            raise
        finally:
            signal.signal(signal.SIGTERM, previous)
