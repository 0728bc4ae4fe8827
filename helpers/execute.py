"""Execute chapters and leave byte-stable notebooks, with one of two engines.

* ``kernel`` (``python -m helpers execute``, the committed notebooks): papermill, one Jupyter
  kernel per notebook, in a process pool;
* ``forked`` (``rerun``): :mod:`helpers.forked`, the libraries imported once and each notebook
  run in a forked process without a kernel; its outputs equal the kernel's
  (``tests/test_forked.py``), in about a third of the CPU time.

Each notebook runs in its own folder (as the book build and nbval do), into a temporary file
beside its destination; only a run that finishes without error replaces the destination, so a
failed re-run never overwrites good outputs. Papermill's timestamps, durations and absolute
paths are stripped so that re-running unchanged code gives identical bytes. Progress is one
line when a notebook starts and one when it ends, with its seconds and the run's.
"""
from __future__ import annotations

import os
import sys
import time
from concurrent.futures import ProcessPoolExecutor, as_completed
from pathlib import Path

import nbformat

VOLATILE_CELL_KEYS = ("papermill", "execution", "ExecuteTime")


def clean(nb: nbformat.NotebookNode) -> nbformat.NotebookNode:
    """Drop what differs between runs of the same code: timings, paths, papermill bookkeeping."""
    nb.metadata.pop("papermill", None)
    nb.metadata.pop("widgets", None)
    for cell in nb.cells:
        for key in VOLATILE_CELL_KEYS:
            cell.metadata.pop(key, None)
        if cell.metadata.get("tags") == []:
            del cell.metadata["tags"]
    return nb


def show_parameters(nb: nbformat.NotebookNode, shown: dict) -> None:
    """Rewrite the cell papermill injected (tagged ``injected-parameters``) to show ``shown``:
    what a reader should see (``hardware.yaml``, the run folder's copy of the hardware) instead
    of what the kernel was given (an absolute path, a staging folder)."""
    from papermill.translators import translate_parameters

    for cell in nb.cells:
        if "injected-parameters" in cell.metadata.get("tags", []):
            cell.source = translate_parameters("python3", "python", shown, "Parameters")


def execute_one(src: Path, dest: Path, parameters: dict | None = None,
                shown: dict | None = None) -> float:
    """Run ``src`` into ``dest`` atomically; returns seconds taken. Raises on any cell error.
    ``shown``: the parameters the written notebook's injected cell shows (default: as given)."""
    import papermill as pm

    dest.parent.mkdir(parents=True, exist_ok=True)
    tmp = dest.with_name(f".{dest.stem}.running.ipynb")
    start = time.perf_counter()
    try:
        pm.execute_notebook(str(src), str(tmp), parameters=parameters or {}, cwd=str(src.parent),
                            kernel_name="python3", progress_bar=False, log_output=False,
                            # the kernel's loopback-TCP notice, and the "KeyboardInterrupt caught
                            # in kernel" of every shutdown (jupyter_client interrupts first),
                            # are noise on every run; a cell's error is in the notebook
                            extra_arguments=["--IPKernelApp.log_level=CRITICAL"])
        nb = clean(nbformat.read(tmp, as_version=4))
        if shown is not None:
            show_parameters(nb, shown)
        nbformat.write(nb, tmp)
        os.replace(tmp, dest)
    finally:
        tmp.unlink(missing_ok=True)
    return time.perf_counter() - start


def _short_error(exc: BaseException) -> str:
    name = type(exc).__name__
    if name == "PapermillExecutionError":
        return f"cell {exc.exec_count}: {exc.ename}: {exc.evalue}"
    return f"{name}: {exc}".splitlines()[0]


class Progress:
    """One line when a notebook starts, one when it ends (its seconds and the run's so far)."""

    def __init__(self, n: int, stream=None):
        self.n, self.start, self.stream = n, time.perf_counter(), stream

    def elapsed(self) -> float:
        return time.perf_counter() - self.start

    def started(self, src: Path, i: int, n: int) -> None:
        print(f"  [{i}/{n}] started {src.stem}", file=self.stream or sys.stdout, flush=True)

    def ended(self, src: Path, seconds: float, error: str | None, i: int, n: int) -> None:
        if error is None:
            print(f"  [{i}/{n}] ok      {src.name}  ({seconds:.1f} s; {self.elapsed():.1f} s "
                  "in all)", file=self.stream or sys.stdout, flush=True)
        else:  # one line per failed chapter, no traceback
            print(f"  [{i}/{n}] FAILED  {src.name}: {error}", file=sys.stderr, flush=True)


def execute_many(sources: list[Path], out_dir: Path | None, parameters: dict | None,
                 jobs: int, shown: dict | None = None, engine: str = "kernel",
                 stream=None) -> int:
    """Run several notebooks in parallel (``engine``: ``kernel`` or ``forked``); print a line
    (to ``stream``, default stdout) as each starts and ends; return how many failed."""
    jobs = max(1, min(jobs, len(sources)))
    progress = Progress(len(sources), stream)
    if engine == "forked":
        from .forked import preload, run_many

        seconds = preload()            # usually done already: the inputs' check imported it
        if seconds > 0.5:
            print(f"  loaded SymPy, NumPy, Matplotlib and the helpers once ({seconds:.1f} s)",
                  file=stream or sys.stdout, flush=True)
        pairs = [(src, (out_dir or src.parent) / src.name) for src in sources]
        for _, dest in pairs:
            dest.parent.mkdir(parents=True, exist_ok=True)
        return run_many(pairs, parameters, jobs, shown, on_start=progress.started,
                        on_end=progress.ended)
    with ProcessPoolExecutor(max_workers=jobs) as pool:
        futures = {pool.submit(execute_one, src, (out_dir or src.parent) / src.name,
                               parameters, shown): src
                   for src in sources}
        try:
            _report(futures, progress)
        except BaseException:         # interrupted: start nothing more, let running kernels end
            pool.shutdown(wait=True, cancel_futures=True)
            raise
    return sum(1 for fut in futures if fut.exception() is not None)


def _report(futures, progress: Progress) -> None:
    """One line per chapter as it finishes: ok with its seconds, or the failing cell."""
    n = len(futures)
    for i, fut in enumerate(as_completed(futures), 1):
        src = futures[fut]
        try:
            progress.ended(src, fut.result(), None, i, n)
        except Exception as exc:  # one line per failed chapter, no traceback
            progress.ended(src, 0.0, _short_error(exc), i, n)
