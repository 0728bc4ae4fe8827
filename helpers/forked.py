"""Executing notebooks with less work: one process imports the book's libraries once, then each
notebook runs in a forked copy of it, in an IPython shell of its own, with no kernel.

Why: executing a chapter the usual way starts a kernel (a new Python, ZeroMQ sockets, a
heartbeat thread) and then imports SymPy, NumPy, Matplotlib, the helpers and every topic
module, and builds every registry headline's SymPy expression: seconds of CPU before its
first line of work, repeated for every chapter. Here that happens once, in the parent
(:func:`preload`); a forked child starts with all of it in memory (copy on write) and only
runs the chapter's cells.

What a child does is what a kernel does, in-process: an ``InteractiveShell`` runs each code
cell (magics, the display hook for the last expression, ``display()``); its display publisher,
display hook, ``sys.stdout``/``sys.stderr`` and traceback printer record nbformat outputs
instead of sending messages; Matplotlib's inline backend is imported fresh in the child, so it
registers its end-of-cell figure flush on this shell exactly as in a kernel. The parameters
are injected as papermill does (a cell tagged ``injected-parameters`` after the one tagged
``parameters``). ``tests/test_forked.py`` checks that the outputs equal a kernel's.

Faults: every child dies with its parent (``PR_SET_PDEATHSIG``: even a SIGKILL of the parent
leaves no orphan), exits quietly on SIGINT/SIGTERM (Ctrl-C reaches the whole process group),
writes nothing to the terminal (its file descriptors 1 and 2 go to a private log, which the
parent reads only to explain a crash), and reports its result through a pipe. The parent kills
and reaps every child before it lets an interrupt or an error go.
"""
from __future__ import annotations

import base64
import contextlib
import ctypes
import importlib
import json
import os
import signal
import sys
import tempfile
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path

# imported once in the parent: what every chapter imports (the inline backend excepted: it must
# be imported by the child's shell to hook its figure flush on it)
PRELOAD = ("numpy", "sympy", "matplotlib", "matplotlib.pyplot", "IPython", "IPython.display",
           "nbformat", "yaml", "helpers.chapter", "helpers.registry", "helpers.results",
           "helpers.verdicts", "helpers.claims", "helpers.appendices", "helpers.sweep")
_INLINE = "matplotlib_inline.backend_inline"


class CellError(RuntimeError):
    """A cell raised: ``cell N: Name: message`` (N counts the injected parameters cell, as
    papermill does)."""


def preload() -> float:
    """Import what the chapters import and build every registry headline; returns seconds."""
    start = time.perf_counter()
    for name in PRELOAD:
        importlib.import_module(name)
    from . import catalog, claims, registry
    registry.headlines()
    for kind in catalog.kinds():
        catalog.load(kind)
    claims.load()
    return time.perf_counter() - start


# --- the child: one notebook in an IPython shell ----------------------------------------------
def _jsonable(data: dict) -> dict:
    """Display data as a kernel sends it: bytes (PNG) base64-encoded, everything else as is."""
    return {k: base64.b64encode(v).decode("ascii") if isinstance(v, bytes) else v
            for k, v in data.items()}


def _shell_class():
    from IPython.core.displayhook import DisplayHook
    from IPython.core.displaypub import DisplayPublisher
    from IPython.core.interactiveshell import InteractiveShell
    from nbformat.v4 import new_output

    class Publisher(DisplayPublisher):
        def publish(self, data, metadata=None, source=None, *, transient=None, update=False,
                    **kwargs):
            self.shell.record(new_output("display_data", data=_jsonable(data),
                                         metadata=metadata or {}))

        def clear_output(self, wait=False):
            self.shell.clear_outputs()

    class Hook(DisplayHook):
        def write_output_prompt(self):
            pass

        def write_format_data(self, format_dict, md_dict=None):
            self.shell.record(new_output("execute_result", data=_jsonable(format_dict),
                                         metadata=md_dict or {},
                                         execution_count=self.prompt_count))

        def finish_displayhook(self):
            pass

    class Shell(InteractiveShell):
        display_pub_class = Publisher
        displayhook_class = Hook

        outputs: list = []

        streams: tuple = ()

        def record(self, output) -> None:
            self.flush_streams()               # a kernel flushes its streams before a display
            self.outputs.append(output)

        def flush_streams(self) -> None:
            for stream in self.streams:
                stream.emit()

        def clear_outputs(self) -> None:
            self.outputs.clear()

        def _showtraceback(self, etype, evalue, stb):
            self.record(new_output("error", ename=etype.__name__, evalue=str(evalue),
                                   traceback=list(stb)))

        def enable_gui(self, gui=None):
            pass

    return Shell


class _Stream:
    """``sys.stdout`` / ``sys.stderr`` of a child: text is buffered per stream and becomes a
    stream output when the cell displays something and when it ends (stdout first), as a
    kernel's streams flush; consecutive flushes of one stream join."""

    def __init__(self, shell, name: str):
        self.shell, self.name = shell, name
        self.encoding, self.errors = "utf-8", "strict"
        self.buffer: list[str] = []

    def write(self, text: str) -> int:
        if text:
            self.buffer.append(text)
        return len(text)

    def writelines(self, lines: Iterable[str]) -> None:
        for line in lines:
            self.write(line)

    def emit(self) -> None:
        from nbformat.v4 import new_output

        if not self.buffer:
            return
        text, self.buffer = "".join(self.buffer), []
        outputs = self.shell.outputs
        if outputs and outputs[-1].get("output_type") == "stream" and \
                outputs[-1].get("name") == self.name:
            outputs[-1]["text"] += text
        else:
            outputs.append(new_output("stream", name=self.name, text=text))

    def flush(self) -> None:
        pass

    def isatty(self) -> bool:
        return False

    def fileno(self) -> int:
        raise OSError("a notebook's stream has no file descriptor")


def _inject(nb, parameters: dict) -> None:
    """Papermill's injection: a cell tagged ``injected-parameters`` after the ``parameters``
    cell (or first), holding ``parameters`` as Python literals."""
    from nbformat.v4 import new_code_cell
    from papermill.translators import translate_parameters

    if not parameters:
        return
    source = translate_parameters("python3", "python", parameters, "Parameters")
    cell = new_code_cell(source, metadata={"tags": ["injected-parameters"]})
    cell.id = "injected-parameters"
    tagged = [i for i, c in enumerate(nb.cells) if "parameters" in c.metadata.get("tags", [])]
    nb.cells = [c for c in nb.cells if "injected-parameters" not in c.metadata.get("tags", [])]
    at = tagged[0] + 1 if tagged else 0
    nb.cells.insert(at, cell)


def run_notebook(src: Path, dest: Path, parameters: dict | None = None,
                 shown: dict | None = None) -> None:
    """Execute ``src`` in this process (a forked child) into ``dest``; raises
    :class:`CellError` at the first failing cell. ``shown``: what the injected cell shows."""
    import nbformat

    from .execute import clean, show_parameters

    nb = nbformat.read(src, as_version=4)
    _inject(nb, parameters or {})
    os.chdir(src.parent)
    sys.path.insert(0, "")       # a kernel finds modules beside the notebook first
    sys.modules.pop(_INLINE, None)          # imported by the shell's own cells, as in a kernel
    from traitlets.config import Config

    config = Config()
    config.HistoryManager.enabled = False     # children would share one SQLite file
    shell = _shell_class().instance(config=config)
    shell.outputs = []
    sys.stdout, sys.stderr = _Stream(shell, "stdout"), _Stream(shell, "stderr")
    shell.streams = (sys.stdout, sys.stderr)
    for cell in nb.cells:
        if cell.cell_type != "code":
            continue
        shell.outputs = cell.outputs = []
        result = shell.run_cell(cell.source, store_history=True)
        shell.flush_streams()
        cell.outputs = list(shell.outputs)
        cell.execution_count = result.execution_count
        if not result.success:
            err = result.error_in_exec or result.error_before_exec
            raise CellError(f"cell {result.execution_count}: {type(err).__name__}: {err}"
                            .splitlines()[0])
    sys.stdout, sys.stderr = sys.__stdout__, sys.__stderr__
    nb = clean(nb)
    if shown is not None:
        show_parameters(nb, shown)
    tmp = dest.with_name(f".{dest.stem}.running.ipynb")
    nbformat.write(nb, tmp)
    os.replace(tmp, dest)


# --- the parent: forking, reporting, cleaning up ----------------------------------------------
def _die_with_parent(parent: int) -> None:
    """Ask Linux to SIGKILL this process when its parent dies (however it dies)."""
    with contextlib.suppress(OSError, AttributeError):
        libc = ctypes.CDLL(None, use_errno=True)
        libc.prctl(1, signal.SIGKILL, 0, 0, 0)        # PR_SET_PDEATHSIG
    if os.getppid() != parent:                          # it died before prctl took effect
        os._exit(1)


def die_with_parent() -> None:
    """``preexec_fn`` of a subprocess that must not outlive this process (a SIGKILL
    included)."""
    with contextlib.suppress(OSError, AttributeError):
        ctypes.CDLL(None, use_errno=True).prctl(1, signal.SIGKILL, 0, 0, 0)


@dataclass
class Job:
    src: Path
    dest: Path
    pid: int = 0
    started: float = 0.0
    pipe: int = -1
    log: str = ""


def _child(job: Job, write_fd: int, parameters, shown, parent: int) -> None:
    """The forked child's whole life; never returns."""
    status = {"ok": False, "error": "did not finish"}
    try:
        _die_with_parent(parent)
        for sig in (signal.SIGINT, signal.SIGTERM):          # Ctrl-C, kill: leave quietly
            signal.signal(sig, lambda *_: os._exit(130))
        signal.signal(signal.SIGPIPE, signal.SIG_DFL)
        log = os.open(job.log, os.O_WRONLY | os.O_CREAT | os.O_TRUNC | os.O_CLOEXEC, 0o600)
        os.dup2(log, 1)
        os.dup2(log, 2)
        os.close(log)
        os.environ.pop("MPLBACKEND", None)
        run_notebook(job.src, job.dest, parameters, shown)
        status = {"ok": True}
    except CellError as e:
        status = {"ok": False, "error": str(e)}
    except BaseException as e:  # noqa: BLE001 - reported to the parent as one line
        status = {"ok": False, "error": f"{type(e).__name__}: {e}".splitlines()[0]}
    finally:
        with contextlib.suppress(OSError):
            os.write(write_fd, json.dumps(status).encode())
        os._exit(0 if status.get("ok") else 1)


def run_many(jobs: list[tuple[Path, Path]], parameters: dict | None, workers: int,
             shown: dict | None = None,
             on_start: Callable[[Path, int, int], None] | None = None,
             on_end: Callable[[Path, float, str | None, int, int], None] | None = None) -> int:
    """Run every ``(src, dest)`` notebook, ``workers`` at a time, each in a forked child;
    returns how many failed. ``on_start(src, i, n)`` and ``on_end(src, seconds, error, i, n)``
    report progress. An interrupt (or any error) kills and reaps every child first."""
    preload()
    sys.stdout.flush()
    sys.stderr.flush()
    pending = [Job(Path(s), Path(d)) for s, d in jobs]
    n, started, finished, failed = len(pending), 0, 0, 0
    running: dict[int, Job] = {}
    logdir = tempfile.mkdtemp(prefix="helpers-run-")
    parent = os.getpid()
    try:
        while pending or running:
            while pending and len(running) < max(1, workers):
                job = pending.pop(0)
                job.log = os.path.join(logdir, f"{job.src.stem}.log")
                read_fd, write_fd = os.pipe()
                started += 1
                if on_start:
                    on_start(job.src, started, n)
                job.started = time.perf_counter()
                pid = os.fork()
                if pid == 0:                                  # the child
                    os.close(read_fd)
                    _child(job, write_fd, parameters, shown, parent)
                os.close(write_fd)
                job.pid, job.pipe = pid, read_fd
                running[pid] = job
            pid, status = os.waitpid(-1, 0)
            job = running.pop(pid, None)
            if job is None:
                continue
            finished += 1
            result = _read_result(job, status)
            seconds = time.perf_counter() - job.started
            if result is not None:
                failed += 1
            if on_end:
                on_end(job.src, seconds, result, finished, n)
    except BaseException:
        _kill(running)
        raise
    finally:
        import shutil
        shutil.rmtree(logdir, ignore_errors=True)
    return failed


def _read_result(job: Job, status: int) -> str | None:
    """None when the child ran its notebook; else the one-line reason."""
    chunks = []
    with contextlib.suppress(OSError):
        while True:
            chunk = os.read(job.pipe, 65536)
            if not chunk:
                break
            chunks.append(chunk)
    os.close(job.pipe)
    try:
        result = json.loads(b"".join(chunks) or b"{}")
    except ValueError:
        result = {}
    if os.WIFEXITED(status) and os.WEXITSTATUS(status) == 0 and result.get("ok"):
        return None
    if result.get("error"):
        return result["error"]
    if os.WIFSIGNALED(status):
        return f"the process was killed by signal {os.WTERMSIG(status)}{_log_tail(job)}"
    return f"the process exited with status {os.WEXITSTATUS(status)}{_log_tail(job)}"


def _log_tail(job: Job) -> str:
    try:
        lines = Path(job.log).read_text(errors="replace").strip().splitlines()
    except OSError:
        return ""
    return f" ({lines[-1][:200]})" if lines else ""


def _kill(running: dict[int, Job]) -> None:
    """SIGKILL every running child and reap it: nothing outlives the interrupt."""
    for pid in running:
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, signal.SIGKILL)
    for pid, job in running.items():
        with contextlib.suppress(ChildProcessError):
            os.waitpid(pid, 0)
        with contextlib.suppress(OSError):
            os.close(job.pipe)
        with contextlib.suppress(OSError):
            tmp = job.dest.with_name(f".{job.dest.stem}.running.ipynb")
            tmp.unlink()
    running.clear()
