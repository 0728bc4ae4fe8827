"""Faults: an interrupt (SIGINT, SIGTERM, to the process or to its whole group) ends a re-run
with one line and exit status 130, leaving no process and no folder behind; a SIGKILL leaves no
process either (every child dies with its parent), and the next run into the same folder
removes the staging folder it left; a successful run prints no kernel noise.

Each case runs ``python -m helpers rerun`` (in a new session, so the signals reach only it) on a
folder of two-cell chapters that sleep: no chapter of the book is executed.
"""
from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time

import pytest

from conftest import ROOT, write_tiny_chapter

RUN = ("import sys; from pathlib import Path; import helpers.paths as p; "
       "p.CHAPTERS = Path(sys.argv[1]); from helpers.__main__ import main; "
       "sys.exit(main(sys.argv[2:]))")




def _members(pgid: int) -> list[str]:
    """Live (not zombie) processes of process group ``pgid``."""
    out = []
    for pid in os.listdir("/proc"):
        if not pid.isdigit():
            continue
        try:
            with open(f"/proc/{pid}/stat") as f:
                fields = f.read().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if int(fields[2]) == pgid and fields[0] != "Z":
            out.append(pid)
    return out


class Run:
    def __init__(self, chapters, out):
        self.proc = subprocess.Popen(
            [sys.executable, "-c", RUN, str(chapters), "rerun", "--hardware", "b200",
             "--out", str(out)], cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
            text=True, start_new_session=True)
        self.lines: list[str] = []
        self.reader = threading.Thread(target=self._read, daemon=True)
        self.reader.start()

    def _read(self):
        for line in self.proc.stdout:
            self.lines.append(line)

    def wait_for(self, text, timeout=120):
        end = time.time() + timeout
        while time.time() < end:
            if any(text in line for line in self.lines):
                return
            if self.proc.poll() is not None:
                break
            time.sleep(0.05)
        self.proc.kill()
        rc, stdout, stderr = self.finish()
        raise AssertionError(f"never printed {text!r} (exit {rc}): {stdout} {stderr}")

    def finish(self, timeout=60):
        rc = self.proc.wait(timeout)
        self.reader.join(5)
        stderr = self.proc.stderr.read()
        self.proc.stdout.close()
        self.proc.stderr.close()
        return rc, "".join(self.lines), stderr


@pytest.fixture
def slow(tmp_path):
    chapters = tmp_path / "chapters"
    chapters.mkdir()
    for n in ("08_slow", "09_slow"):
        write_tiny_chapter(chapters / f"{n}.ipynb", "import time\ntime.sleep(120)")
    return chapters


def _gone(pgid, within=5.0):
    end = time.time() + within
    while _members(pgid) and time.time() < end:
        time.sleep(0.1)
    return _members(pgid)


@pytest.mark.parametrize("sig,target", [(signal.SIGINT, "group"), (signal.SIGTERM, "group"),
                                        (signal.SIGTERM, "process")])
def test_an_interrupt_leaves_one_line_no_process_and_no_folder(slow, tmp_path, sig, target):
    out = tmp_path / "runs" / "b200"
    run = Run(slow, out)
    run.wait_for("started 09_slow")
    time.sleep(0.5)                              # both chapters inside their sleep
    assert len(_members(run.proc.pid)) == 3      # the command and one process per chapter
    (os.killpg if target == "group" else os.kill)(run.proc.pid, sig)
    rc, stdout, stderr = run.finish()
    assert rc == 130, stderr
    assert stderr == "error: interrupted; nothing written\n"
    assert "Traceback" not in stdout and "KeyboardInterrupt" not in stdout
    assert _gone(run.proc.pid) == []
    assert list(out.parent.iterdir()) == []      # no output, no staging folder, no lock


def test_a_sigkill_leaves_no_process_and_the_next_run_cleans_up(slow, tmp_path):
    out = tmp_path / "runs" / "b200"
    run = Run(slow, out)
    run.wait_for("started 09_slow")
    os.kill(run.proc.pid, signal.SIGKILL)
    assert run.finish()[0] == -signal.SIGKILL
    assert _gone(run.proc.pid) == [], "a chapter outlived its killed parent"
    left = sorted(p.name for p in out.parent.iterdir())
    assert [n for n in left if ".partial-" in n], left
    # the next run into the same folder: the staging folder goes, the run succeeds, no noise
    for nb in slow.iterdir():
        nb.unlink()
    write_tiny_chapter(slow / "09_quick.ipynb", "print('fine')")
    again = Run(slow, out)
    rc, stdout, stderr = again.finish(timeout=300)
    assert rc == 0, stdout + stderr
    assert "removed 1 staging folder(s) left by earlier runs that were killed" in stderr
    for noise in ("IPKernelApp", "KeyboardInterrupt", "Traceback", "WARNING"):
        assert noise not in stdout + stderr, noise
    assert sorted(p.name for p in out.parent.iterdir()) == ["b200"]
    assert (out / "09_quick.ipynb").exists()
