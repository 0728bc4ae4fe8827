"""An output folder that appears complete or not at all.

``with staged(out) as stage:`` yields a hidden folder beside ``out``
(``.<name>.partial-XXXX``); everything is written there. When the block ends normally the
folder is renamed to ``out`` in one step (``os.replace``); when it raises, is interrupted
(Ctrl-C) or is terminated (SIGTERM, turned into ``KeyboardInterrupt`` for the duration), the
staging folder is removed. So an ``out`` that exists is always a finished one.
"""
from __future__ import annotations

import os
import shutil
import signal
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path


def _terminate(signum, frame):
    raise KeyboardInterrupt(f"signal {signum}")


@contextmanager
def staged(out_dir: Path) -> Iterator[Path]:
    """The staging folder for ``out_dir`` (which must be absent or empty: callers check)."""
    out_dir.parent.mkdir(parents=True, exist_ok=True)
    stage = Path(tempfile.mkdtemp(prefix=f".{out_dir.name}.partial-", dir=out_dir.parent))
    umask = os.umask(0)
    os.umask(umask)
    os.chmod(stage, 0o777 & ~umask)     # mkdtemp makes it private; out is an ordinary folder
    previous = signal.signal(signal.SIGTERM, _terminate)
    try:
        yield stage
        if out_dir.is_dir():
            out_dir.rmdir()           # empty (checked by the caller); rmdir refuses otherwise
        os.replace(stage, out_dir)
    except BaseException:
        shutil.rmtree(stage, ignore_errors=True)
        raise
    finally:
        signal.signal(signal.SIGTERM, previous)
