"""Benchmark (run by hand, not collected by pytest): re-run speed and sweep speed.

    PYTHONPATH=$PWD .venv/bin/python tests/bench_rerun.py [--hardware b200] [--repeat N] [--json]

Measures, on this machine:

1. ``python -m helpers rerun --hardware <hw>`` over every chapter (parallel papermill, one
   kernel per chapter, plus validation and the comparison), wall-clock;
2. the same chapter notebooks executed one after another with plain ``jupyter execute``
   (nbclient, the engine of ``jupyter nbconvert --execute``, which the pinned environment does not
   include; no parameters: the committed default), wall-clock;
3. the same two for every notebook of the book (chapters and appendices), using
   ``python -m helpers execute --out`` for the first (the engine ``rerun`` uses);
4. the catalog-wide sweep over 1,000 synthetic accelerators (every ``SWEEP`` entry of every
   module), best of three.

Wall-clock times are the best of ``--repeat`` runs; next to each, the CPU seconds it used
(kernels included), which show the engine's overhead apart from what parallelism buys. On a
shared machine the load average decides how much a second core is really free.

Targets from the issue: (1) at most 0.75 x (2); (4) under 1 s. With N chapters on C cores the
parallel run can approach max(1/C, 1/N) of the sequential time; with a single chapter there is
nothing to run in parallel and the ratio is about 1.
"""
from __future__ import annotations

import argparse
import dataclasses
import json
import os
import random
import resource
import subprocess
import sys
import tempfile
import time
from functools import partial
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from helpers import catalog, paths, sweep  # noqa: E402

CPU = {"s": 0.0}   # CPU seconds (user + sys) of the commands run, kernels included


def _children_cpu() -> float:
    r = resource.getrusage(resource.RUSAGE_CHILDREN)
    return r.ru_utime + r.ru_stime


def _timed(cmd: list[str], **kw) -> float:
    start, cpu = time.perf_counter(), _children_cpu()
    proc = subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True, **kw)
    seconds = time.perf_counter() - start
    CPU["s"] += _children_cpu() - cpu
    if proc.returncode != 0:
        raise SystemExit(f"failed: {' '.join(cmd)}\n{proc.stdout[-2000:]}{proc.stderr[-2000:]}")
    return seconds


def plain_sequential(notebooks: list[Path]) -> float:
    """Each notebook with plain ``jupyter execute``, one after another (one process each, as a
    user would). nbconvert is not in the pinned environment; ``jupyter execute`` is nbclient,
    the engine ``jupyter nbconvert --execute`` runs, without the conversion. It runs each
    notebook in its own folder and, given no --output, writes nothing (so it never touches the
    committed notebooks, and it is spared the write that the re-run does)."""
    total = 0.0
    for nb in notebooks:
        total += _timed([str(Path(sys.executable).parent / "jupyter-execute"), str(nb)])
    return total


def synthetic_accelerators(n: int, seed: int = 0) -> list[catalog.Entry]:
    """``n`` accelerators made by scaling catalogued ones (FLOP/s, bandwidths, capacity, domain)."""
    rng = random.Random(seed)
    base = list(catalog.accelerators().values())
    out = []
    for i in range(n):
        e = rng.choice(base)
        fields = dict(e.fields)
        for name in ("bf16_dense_flops", "hbm_bandwidth", "hbm_capacity", "scale_up_domain"):
            f = fields[name]
            if name == "scale_up_domain":
                factor = rng.choice([1, 2, 4, 9])
            else:
                factor = rng.uniform(0.5, 2.0)
            fields[name] = dataclasses.replace(f, value=f.value * factor, si=f.si * factor)
        out.append(dataclasses.replace(e, key=f"synthetic_{i}", fields=fields))
    return out


def sweep_seconds(n: int = 1000) -> tuple[float, int]:
    accs = synthetic_accelerators(n)
    qs = sweep.quantities()
    sweep.evaluate(accs[:1], qs)                      # lambdify once, outside the timing
    best = float("inf")
    for _ in range(3):
        start = time.perf_counter()
        table = sweep.evaluate(accs, qs)
        best = min(best, time.perf_counter() - start)
    assert len(table) == n
    return best, len(qs)


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--hardware", default="b200")
    p.add_argument("--repeat", type=int, default=1, help="take the best of N runs of each")
    p.add_argument("--json", action="store_true")
    args = p.parse_args()
    chapters = paths.notebooks()
    everything = paths.select_notebooks([], appendices=True)   # what `execute` runs
    figures: dict[str, float | int | str] = {"cpu_cores": os.cpu_count() or 1,
                                             "chapters": len(chapters),
                                             "notebooks": len(everything)}
    best, cpu = {}, {}
    with tempfile.TemporaryDirectory() as tmp:
        for i in range(args.repeat):
            run = Path(tmp) / str(i)
            for key, seconds in (
                ("plain_chapters_s", partial(plain_sequential, chapters)),
                ("rerun_chapters_s", partial(_timed, [sys.executable, "-m", "helpers", "rerun",
                                                      "--hardware", args.hardware,
                                                      "--out", str(run / "rerun")])),
                ("plain_all_s", partial(plain_sequential, everything)),
                ("execute_all_s", partial(_timed, [sys.executable, "-m", "helpers", "execute",
                                                   *map(str, everything), "--out",
                                                   str(run / "exec_all")])),
            ):
                CPU["s"] = 0.0
                wall = seconds()
                if wall < best.get(key, float("inf")):
                    best[key], cpu[key.replace("_s", "_cpu_s")] = wall, CPU["s"]
    figures.update({k: round(v, 2) for k, v in best.items()})
    figures.update({k: round(v, 2) for k, v in cpu.items()})
    figures["load_average_1min"] = round(os.getloadavg()[0], 2)
    figures["rerun_over_plain"] = round(best["rerun_chapters_s"] / best["plain_chapters_s"], 3)
    figures["execute_all_over_plain_all"] = round(best["execute_all_s"] / best["plain_all_s"], 3)
    s, nq = sweep_seconds()
    figures.update({"sweep_1000_accelerators_s": round(s, 4), "sweep_quantities": nq})
    if args.json:
        print(json.dumps(figures, indent=1))
    else:
        for k, v in figures.items():
            print(f"{k:<30} {v}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
