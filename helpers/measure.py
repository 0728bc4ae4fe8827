"""Measure the roofline of the machine this runs on: ``python -m helpers measure``.

Four measurements, then a fit:

* dense matrix-multiply FLOP/s at each precision the machine offers (NumPy/BLAS float32 and
  float64 on a CPU; PyTorch BF16 and FP8 on a CUDA GPU, only when ``torch`` imports and a device
  is present: torch is imported inside the GPU functions, never at module load);
* sustained memory bandwidth: three streaming kernels over buffers far larger than the
  last-level cache, read (x . x), copy and scale (bytes read + bytes written, the STREAM
  convention); W is the best of the three;
* memory capacity (``MemTotal``, or the GPU's memory);
* the decode experiment: one step is ``A @ X``, a weights-larger-than-cache matrix ``A``
  (M x K) times ``X`` of B columns, timed over B = 1, 2, 4, ... well past the expected knee.

Every measurement is timed once per round, and the rounds are repeated (after one warm-up
call of each), so that a slow spell of a shared machine hits all of them alike; each reports
its median and spread (IQR / median). The batch range is chosen from a first, one-call reading
of F and W (the pilot).

Two forms are fitted to the median step times, least squares in log time: the book's roofline
``t(B) = max(t_mem, B t_flop)`` (memory and arithmetic overlap: the slower sets the step) and
the no-overlap reading ``t_mem + B t_flop``. Both put the knee where ``t_mem = B t_flop``; it is
read from the form that fits better (see :func:`knee_form`). On a CPU the fit starts at B = 2:
NumPy's single column takes BLAS's matrix-vector path, a different kernel. The measured knee
``t_mem / t_flop`` is reported beside the prediction ``F b / (2 W)`` (``formulas.balance_batch()``
with sparsity 1 and ``b`` the bytes per element of the matrix; F the measured GEMM rate at the
decode's precision, W the measured bandwidth), and beside the datasheet's when the part is
catalogued (a CPU never is).

Outputs: ``--out FILE`` (YAML) is a hardware file in the catalog's schema (``hardware show``),
every source tagged ``measured``, ready for ``python -m helpers rerun --hardware FILE``; the raw
timings, settings and machine description go beside it in ``FILE`` with ``.json`` (schema
``helpers.measure/1``: ``machine``, ``settings``, ``gemm`` and ``bandwidth`` (per precision or
kernel: ``times_s`` per round, median, quartiles, spread, rate, method), ``decode`` (``batches``,
``times_s[i][r]`` = batch ``batches[i]`` in round r, medians, spreads), ``fits``, ``knee``,
``warnings``).

Honest limits: a measurement whose spread is too wide, a matrix not larger than the cache, too
few repetitions, a knee not bracketed by the B range or a roofline that fits no better than a
single line is reported as such (``warnings``; an unresolved knee is ``null``), never as a
confident number. Bad options stop with one line and exit status 2 before anything is measured.
"""
from __future__ import annotations

import datetime as _dt
import importlib.util
import json
import math
import os
import platform
import re
import shutil
import subprocess
import time
from dataclasses import asdict, dataclass, field
from functools import lru_cache
from pathlib import Path

import numpy as np

from . import catalog

SCHEMA = "helpers.measure/1"
REFERENCE = Path(__file__).parent / "measurements" / "cpu_reference.yaml"
# every measured source points at the method; the book's repository (_config.yml)
METHOD_URL = ("https://github.com/llm-economics/frontier-llm-economics/blob/main/"
              "helpers/measure.py")

CPU_PRECISIONS = {"float32": 4, "float64": 8}          # name -> bytes per element
CUDA_PRECISIONS = {"bf16": 2, "fp8": 1}
BOOK_PRECISION = {"cpu": "float32", "cuda": "bf16"}    # fills bf16_dense_flops, runs the decode

# the limits below decide when a number is reported as unreliable
SPREAD_LIMIT = 0.10        # IQR / median of one measurement
MIN_REPEATS = 5            # fewer timed runs give no meaningful quartiles
CACHE_FACTOR = 4           # the matrix should exceed the last-level cache this many times
FIT_RMS_LIMIT = 0.15       # rms log-residual of the fit (~15 % scatter about the roofline)
FIT_IMPROVEMENT = 0.2      # the roofline must leave < 20 % of a single line's squared error
KNEE_SIDE_POINTS = 2       # measured batches needed on each side of a claimed knee
BOOTSTRAP_RESOLVED = 0.8   # share of resampled rounds that must resolve the knee too
MEMORY_MARGIN = 0.8        # use at most this share of the available memory

DEFAULTS = {   # full run, quick run
    "repeats": (9, 3), "gemm_n_cpu": (3072, 1024), "gemm_n_cuda": (8192, 4096),
    "cache_multiple": (16, 4), "min_matrix_mb": (256, 64), "knee_margin": (32, 16),
}
DECODE_K = {"cpu": 4096, "cuda": 8192}       # matrix columns (a hidden size); M follows the size
MAX_AUTO_BATCH = 4096


class MeasureError(catalog.CatalogError):
    """A refused option; one line, exit status 2, nothing measured."""


# --- the machine (read, not measured) -------------------------------------------------------
def _read(path: str) -> str:
    try:
        return Path(path).read_text(encoding="utf-8", errors="replace")
    except OSError:
        return ""


def _size_text_bytes(text: str) -> int | None:
    """'32768K' (sysfs) or '32 MiB' (lscpu) -> bytes."""
    m = re.match(r"^\s*([\d.]+)\s*([KMG])?(?:i?B)?\s*$", text)
    if not m:
        return None
    return int(float(m.group(1)) * {None: 1, "K": 2**10, "M": 2**20, "G": 2**30}[m.group(2)])


def _lscpu() -> str:
    if not shutil.which("lscpu"):
        return ""
    try:
        return subprocess.run(["lscpu"], capture_output=True, text=True, timeout=10,
                              env=dict(os.environ, LC_ALL="C")).stdout
    except (OSError, subprocess.SubprocessError):
        return ""


def llc_bytes() -> tuple[int | None, str]:
    """The last-level cache of the whole machine (all instances) and how it was read."""
    caches: dict[tuple[int, str], int] = {}
    for index in Path("/sys/devices/system/cpu").glob("cpu[0-9]*/cache/index[0-9]*"):
        if _read(index / "type").strip() == "Instruction":
            continue
        level, size = _read(index / "level").strip(), _size_text_bytes(_read(index / "size"))
        if level.isdigit() and size:       # one instance per set of CPUs that share it
            caches[(int(level), _read(index / "shared_cpu_list").strip())] = size
    if caches:
        top = max(level for level, _ in caches)
        parts = [s for (level, _), s in caches.items() if level == top]
        return sum(parts), f"sysfs: L{top}, {len(parts)} instance(s)"
    found = re.findall(r"(?m)^L(\d)[d ]? cache:\s+([\d.]+\s*[KMG]i?B)", _lscpu())
    if found:
        level, text = max(found, key=lambda x: int(x[0]))
        return _size_text_bytes(text), f"lscpu: L{level} (all instances)"
    return None, "unknown: neither /sys nor lscpu reports the caches"


def memory_bytes() -> tuple[int, int, str]:
    """(total, available, method): /proc/meminfo, else sysconf."""
    info = dict(re.findall(r"(?m)^(\w+):\s+(\d+) kB", _read("/proc/meminfo")))
    if "MemTotal" in info:
        total = int(info["MemTotal"]) * 1024
        return total, int(info.get("MemAvailable", info.get("MemFree", 0))) * 1024, \
            "MemTotal in /proc/meminfo"
    page = os.sysconf("SC_PAGE_SIZE")
    return (page * os.sysconf("SC_PHYS_PAGES"), page * os.sysconf("SC_AVPHYS_PAGES"),
            "sysconf(SC_PHYS_PAGES)")


def usable_cores() -> int:
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:          # not Linux
        return os.cpu_count() or 1


def cpu_model() -> str:
    m = re.search(r"(?m)^model name\s*:\s*(.+)$", _read("/proc/cpuinfo"))
    return " ".join(m.group(1).split()) if m else (platform.processor() or platform.machine())


def virtualization() -> str:
    vendor = re.search(r"(?m)^Hypervisor vendor:\s*(.+)$", _lscpu())
    if vendor:
        return f"virtual machine ({vendor.group(1).strip()} hypervisor)"
    flags = re.search(r"(?m)^flags\s*:(.*)$", _read("/proc/cpuinfo"))
    if flags and "hypervisor" in flags.group(1).split():
        return "virtual machine (hypervisor flag set)"
    return "no hypervisor reported"


def _openblas_runtime() -> dict:
    """OpenBLAS's own report of the kernel it chose and its threads (DYNAMIC_ARCH picks at
    run time, so the build configuration alone does not say). Best effort: {} if not found."""
    import ctypes

    libs = sorted({line.split()[-1] for line in _read("/proc/self/maps").splitlines()
                   if "openblas" in line.lower() and line.split()[-1].startswith("/")})
    for lib in libs:
        try:
            handle = ctypes.CDLL(lib)
        except OSError:
            continue
        out = {}
        for prefix in ("scipy_openblas_", "openblas_", ""):
            for suffix in ("64_", ""):
                name = f"{prefix}get_corename{suffix}" if prefix else ""
                if name and hasattr(handle, name):
                    fn = getattr(handle, name)
                    fn.restype = ctypes.c_char_p
                    out["kernel"] = fn().decode()
                    threads = getattr(handle, f"{prefix}get_num_threads{suffix}", None)
                    if threads is not None:
                        threads.restype = ctypes.c_int
                        out["threads"] = int(threads())
                    return out
    return {}


def blas_description() -> dict:
    """NumPy's BLAS: build configuration, and what it runs with (threadpoolctl if present)."""
    try:
        blas = np.show_config(mode="dicts")["Build Dependencies"]["blas"]
    except Exception:  # noqa: BLE001 - older NumPy: describe what we can
        blas = {}
    out = {"name": blas.get("name", "unknown"), "version": blas.get("version", "unknown")}
    if blas.get("openblas configuration"):
        out["build"] = " ".join(str(blas["openblas configuration"]).split())
    if importlib.util.find_spec("threadpoolctl"):
        import threadpoolctl

        out["threadpoolctl"] = [{k: v for k, v in lib.items() if k != "filepath"}
                                for lib in threadpoolctl.threadpool_info()]
    else:
        out.update(_openblas_runtime())
    return out


def machine_description(device: str) -> dict:
    total, available, method = memory_bytes()
    llc, llc_method = llc_bytes()
    return {
        "cpu_model": cpu_model(), "cores_usable": usable_cores(), "cores_total": os.cpu_count(),
        "virtualization": virtualization(), "os": f"{platform.system()} {platform.release()}",
        "python": platform.python_version(), "numpy": np.__version__,
        "blas": blas_description(), "llc_bytes": llc, "llc_method": llc_method,
        "memory_total_bytes": total, "memory_available_bytes": available,
        "memory_method": method, "device": device,
    }


# --- statistics -----------------------------------------------------------------------------
def summarize(times) -> dict:
    """Median, quartiles and spread (IQR / median) of repeated timings."""
    t = np.asarray(times, dtype=float)
    q1, med, q3 = np.percentile(t, [25, 50, 75])
    return {"n": int(t.size), "median_s": float(med), "q1_s": float(q1), "q3_s": float(q3),
            "spread": float((q3 - q1) / med) if med > 0 else math.inf}


def bootstrap_spread(samples: list, statistic, rounds: int = 200, seed: int = 0) -> dict:
    """Resample each list of timings (with replacement), recompute ``statistic`` of their
    medians; the median and IQR / median of the results, and the share that was finite."""
    rng = np.random.default_rng(seed)
    arrays = [np.asarray(s, dtype=float) for s in samples]
    values = []
    for _ in range(rounds):
        medians = [float(np.median(rng.choice(a, size=a.size))) for a in arrays]
        values.append(statistic(medians))
    finite = np.array([v for v in values if v is not None and math.isfinite(v)])
    if finite.size == 0:
        return {"median": None, "spread": None, "finite_share": 0.0}
    q1, med, q3 = np.percentile(finite, [25, 50, 75])
    return {"median": float(med), "spread": float((q3 - q1) / med),
            "finite_share": finite.size / rounds}


# --- the roofline fit -----------------------------------------------------------------------
SHAPES = {"max": lambda x: np.maximum(1.0, x),   # overlap: the slower branch sets the step
          "sum": lambda x: 1.0 + x}              # no overlap: the branches add


@dataclass(frozen=True)
class RooflineFit:
    """``t(B) = t_mem * shape(B / knee)``; ``t_flop = t_mem / knee`` is the time per column."""
    form: str
    t_mem: float
    t_flop: float
    knee: float
    rms: float                 # rms residual of log time
    resolved: bool
    reason: str = ""           # why no knee is claimed (empty when resolved)
    sse_ratio: float = 1.0     # squared error / that of the best single line


def _sse_by_knee(log_b, y, log_knees, shape):
    """For each candidate knee: the best log t_mem (closed form) and the squared error."""
    g = np.log(shape(np.exp(log_b[None, :] - log_knees[:, None])))
    log_t_mem = np.mean(y[None, :] - g, axis=1)
    return log_t_mem, np.sum((y[None, :] - log_t_mem[:, None] - g) ** 2, axis=1)


def fit_roofline(batches, times, form: str = "max") -> RooflineFit:
    """Least-squares fit in log time of the two-branch roofline; claims a knee only when
    measured batches bracket it on both sides and the fit beats every single line."""
    b, t = np.asarray(batches, dtype=float), np.asarray(times, dtype=float)
    if b.size < 4 or b.size != t.size or not np.all(np.isfinite(t)) or np.any(t <= 0) \
            or np.any(b <= 0) or len(set(b)) != b.size:
        raise ValueError("the fit needs at least 4 distinct positive batches, each with a "
                         "positive finite time")
    order = np.argsort(b)
    b, t = b[order], t[order]
    log_b, y, shape = np.log(b), np.log(t), SHAPES[form]
    # the knee may fall outside the measured range: then it is reported as not resolved
    coarse = np.linspace(log_b[0] - math.log(4), log_b[-1] + math.log(4), 1201)
    _, sse = _sse_by_knee(log_b, y, coarse, shape)
    i = int(np.argmin(sse))
    fine = np.linspace(coarse[max(i - 1, 0)], coarse[min(i + 1, coarse.size - 1)], 201)
    log_t_mem, sse = _sse_by_knee(log_b, y, fine, shape)
    j = int(np.argmin(sse))
    knee, t_mem, best = math.exp(fine[j]), math.exp(log_t_mem[j]), float(sse[j])
    flat = float(np.sum((y - y.mean()) ** 2))                            # memory branch only
    line = float(np.sum((y - log_b - np.mean(y - log_b)) ** 2))          # compute branch only
    single = min(flat, line)
    ratio = best / single if single > 0 else 1.0   # a single line fits exactly: no gain
    below, above = int(np.sum(b < knee)), int(np.sum(b > knee))
    reason = ""
    if single <= 0 or ratio > FIT_IMPROVEMENT:
        reason = ("the two-branch roofline fits the timings little better than a single line "
                  f"({_pct(min(ratio, 1))} of its squared error left): no knee in the data")
    elif below < KNEE_SIDE_POINTS:
        reason = (f"the fitted knee ({knee:.3g}) has fewer than {KNEE_SIDE_POINTS} measured "
                  "batches below it: start the range lower")
    elif above < KNEE_SIDE_POINTS:
        reason = (f"the fitted knee ({knee:.3g}) has fewer than {KNEE_SIDE_POINTS} measured "
                  "batches above it: extend the range (--max-batch)")
    return RooflineFit(form, t_mem, t_mem / knee, knee, math.sqrt(best / b.size), not reason,
                       reason, ratio)


@lru_cache(maxsize=1)
def _dense_balance_batch():
    """formulas.balance_batch() for a dense matrix (sparsity s = N_tot / N_act = 1), compiled."""
    import sympy as sp

    from . import formulas as f

    dense = f.balance_batch().subs({f.N_tot: 1, f.N_act: 1})
    return sp.lambdify((f.F, f.W, f.b_w), dense)


def predicted_knee(flops: float, bandwidth: float, bytes_per_element: float) -> float:
    """The book's balance batch B* = (F/W) s b_w / 2 for a dense matrix (s = 1)."""
    return float(_dense_balance_batch()(flops, bandwidth, bytes_per_element))


def datasheet_match(device_name: str) -> catalog.Entry | None:
    """The catalogued accelerator whose key or alias is a word of the device's name."""
    words = set(re.split(r"[^a-z0-9]+", device_name.lower()))
    for key, entry in catalog.accelerators().items():
        if words & {key, *(entry.text.get("aliases") or [])}:
            return entry
    return None


# --- kernels, timed in rounds -----------------------------------------------------------------
@dataclass
class Kernel:
    """One timed operation: ``work`` FLOP (GEMM, decode) or bytes moved (streams) per call."""
    group: str                 # "gemm", "stream" or "decode"
    name: str                  # precision, stream kernel, or the batch B
    fn: object
    work: float
    method: str = ""


def next_power_of_two(x: float) -> int:
    return 1 << max(0, math.ceil(math.log2(max(x, 1))))


def batch_range(max_batch: int) -> list[int]:
    return [1 << i for i in range(int(math.log2(max_batch)) + 1)]


def time_rounds(kernels: list[Kernel], repeats: int, timer) -> dict[tuple, list[float]]:
    """Every kernel once per round, rounds repeated: a slow spell of a shared machine then
    hits every measurement alike instead of one of them wholesale."""
    times: dict[tuple, list[float]] = {(k.group, k.name): [] for k in kernels}
    for _ in range(repeats):
        for k in kernels:
            times[(k.group, k.name)].append(timer(k.fn))
    return times


def wall_timer(fn) -> float:
    start = time.perf_counter()
    fn()
    return time.perf_counter() - start


def cuda_timer(fn) -> float:
    """Seconds of one call from CUDA events (kernel time, not launch latency)."""
    import torch

    start, end = torch.cuda.Event(enable_timing=True), torch.cuda.Event(enable_timing=True)
    start.record()
    fn()
    end.record()
    end.synchronize()
    return start.elapsed_time(end) / 1e3


# CPU (NumPy): GEMM n x n @ n x n is 2 n^3 FLOP (a multiply and an add per term)
def gemm_kernel_cpu(precision: str, n: int) -> Kernel:
    dtype = np.dtype(precision)
    rng = np.random.default_rng(0)
    a, b = rng.random((n, n), dtype=dtype), rng.random((n, n), dtype=dtype)
    c = np.empty_like(a)
    return Kernel("gemm", precision, lambda: np.matmul(a, b, out=c), 2 * n**3,
                  f"NumPy matmul, {n} x {n} {precision}, out= preallocated")


def stream_kernels_cpu(nbytes: int, threads: int) -> list[Kernel]:
    """read (x . x: each byte read once), copy and scale (bytes read + bytes written, the
    STREAM convention; write-allocate traffic not counted) over float64 buffers. BLAS threads
    its dot itself; copy and scale get one slice per thread (NumPy releases the GIL)."""
    from concurrent.futures import ThreadPoolExecutor

    n = max(nbytes // 8, threads)
    src, dst = np.full(n, 1.5), np.zeros(n)
    edges = np.linspace(0, n, threads + 1).astype(int)
    slices = [slice(lo, hi) for lo, hi in zip(edges[:-1], edges[1:])]
    pool = ThreadPoolExecutor(threads)      # lives as long as the kernels (the process)
    size = f"{src.nbytes / 1e6:,.0f} MB float64"
    read = Kernel("stream", "read", lambda: np.dot(src, src), src.nbytes,
                  f"NumPy dot(x, x) over {size} (BLAS's own threads), 1 byte moved per byte")
    parts = {"copy": (lambda s: np.copyto(dst[s], src[s]), "copyto"),
             "scale": (lambda s: np.multiply(src[s], 3.0, out=dst[s]), "multiply by a scalar")}
    return [read] + [Kernel("stream", name, lambda p=part: list(pool.map(p, slices)),
                            2 * src.nbytes, f"NumPy {what} over {size}, {threads} thread(s), 2 "
                            "bytes moved (read + write) per byte")
                     for name, (part, what) in parts.items()]


def decode_kernels_cpu(a, batches: list[int]) -> list[Kernel]:
    """One decode step per B: A @ X with X of B columns, into preallocated contiguous views."""
    m, k = a.shape
    x_buf = np.full(k * batches[-1], 0.25, dtype=a.dtype)
    y_buf = np.empty(m * batches[-1], dtype=a.dtype)
    out = []
    for b in batches:
        x, y = x_buf[:k * b].reshape(k, b), y_buf[:m * b].reshape(m, b)
        out.append(Kernel("decode", b, lambda x=x, y=y: np.matmul(a, x, out=y), 2 * m * k * b))
    return out


def decode_matrix_cpu(matrix_bytes: int, precision: str):
    dtype = np.dtype(precision)
    rows = max(1, matrix_bytes // (DECODE_K["cpu"] * dtype.itemsize))
    return np.full((rows, DECODE_K["cpu"]), 0.5, dtype=dtype)   # values do not matter


# GPU (PyTorch, only when importable with a CUDA device)
def cuda_present() -> bool:
    if importlib.util.find_spec("torch") is None:
        return False
    try:
        import torch

        return bool(torch.cuda.is_available() and torch.cuda.device_count() > 0)
    except Exception:  # noqa: BLE001 - a broken CUDA install is "no device"
        return False


def gemm_kernel_cuda(precision: str, n: int) -> Kernel:
    import torch

    a = torch.randn(n, n, device="cuda", dtype=torch.bfloat16)
    b = torch.randn(n, n, device="cuda", dtype=torch.bfloat16)
    if precision == "bf16":
        c = torch.empty_like(a)
        return Kernel("gemm", precision, lambda: torch.matmul(a, b, out=c), 2 * n**3,
                      f"torch.matmul, {n} x {n} bf16")
    # FP8 (e4m3) inputs with unit per-tensor scales, BF16 output; second operand column-major
    a8, b8 = a.to(torch.float8_e4m3fn), b.to(torch.float8_e4m3fn).t()
    one = torch.ones((), device="cuda", dtype=torch.float32)

    def fp8():
        out = torch._scaled_mm(a8, b8, scale_a=one, scale_b=one, out_dtype=torch.bfloat16)
        return out[0] if isinstance(out, tuple) else out      # older torch: (out, amax)
    fp8()                                                      # fails here if unsupported
    return Kernel("gemm", precision, fp8, 2 * n**3,
                  f"torch._scaled_mm, {n} x {n} fp8 e4m3 in, bf16 out")


def stream_kernels_cuda(nbytes: int) -> list[Kernel]:
    import torch

    src = torch.ones(nbytes // 2, device="cuda", dtype=torch.bfloat16)
    dst = torch.empty_like(src)
    what = f"over {nbytes / 1e6:,.0f} MB bf16"
    return [Kernel("stream", "read", lambda: torch.sum(src), nbytes, f"torch.sum {what}"),
            Kernel("stream", "copy", lambda: dst.copy_(src), 2 * nbytes, f"copy_ {what}"),
            Kernel("stream", "scale", lambda: torch.mul(src, 3, out=dst), 2 * nbytes,
                   f"torch.mul {what}")]


def decode_matrix_cuda(matrix_bytes: int, precision: str):
    import torch

    rows = max(1, matrix_bytes // (DECODE_K["cuda"] * 2))
    return torch.full((rows, DECODE_K["cuda"]), 0.5, device="cuda", dtype=torch.bfloat16)


def decode_kernels_cuda(a, batches: list[int]) -> list[Kernel]:
    import torch

    m, k = a.shape
    out = []
    for b in batches:
        x = torch.full((k, b), 0.25, device="cuda", dtype=torch.bfloat16)
        y = torch.empty((m, b), device="cuda", dtype=torch.bfloat16)
        out.append(Kernel("decode", b, lambda x=x, y=y: torch.matmul(a, x, out=y), 2 * m * k * b))
    return out


def cuda_machine() -> dict:
    import torch

    props = torch.cuda.get_device_properties(0)
    free, total = torch.cuda.mem_get_info()
    return {"gpu": props.name, "gpu_memory_bytes": int(total), "gpu_free_bytes": int(free),
            "gpu_l2_bytes": getattr(props, "L2_cache_size", None),
            "torch": torch.__version__, "cuda": torch.version.cuda,
            "compute_capability": f"{props.major}.{props.minor}"}


# --- options --------------------------------------------------------------------------------
@dataclass
class Plan:
    device: str
    precisions: list[str]
    repeats: int
    matrix_bytes: int
    stream_bytes: int
    gemm_n: int
    max_batch: int | None         # None: chosen from the predicted knee
    knee_margin: int
    out: Path
    raw_out: Path
    quick: bool
    note: str
    cache_bytes: int | None
    cache_method: str
    command: str = ""
    warnings: list[str] = field(default_factory=list)


def _number(option: str, text: str | None, kind=float):
    if text is None:
        return None
    try:
        value = kind(text)
    except ValueError:
        raise MeasureError(f"{option} {text!r}: not a{'n integer' if kind is int else ' number'}"
                           ) from None
    if not math.isfinite(value) or value <= 0:
        raise MeasureError(f"{option} {text}: must be positive")
    return value


def _device(choice: str | None) -> str:
    choice = choice or "auto"
    if choice not in ("auto", "cpu", "cuda"):
        raise MeasureError(f"--device {choice!r}: one of auto, cpu, cuda")
    if choice == "cuda" and importlib.util.find_spec("torch") is None:
        raise MeasureError("--device cuda: PyTorch is not installed (the GPU path needs torch "
                           "with a CUDA device; the CPU path needs only NumPy)")
    if choice == "cuda" and not cuda_present():
        raise MeasureError("--device cuda: torch finds no CUDA device on this machine")
    if choice == "auto":
        return "cuda" if cuda_present() else "cpu"
    return choice


def _precisions(text: str | None, device: str) -> list[str]:
    known = CPU_PRECISIONS if device == "cpu" else CUDA_PRECISIONS
    names = list(known) if text is None else [p.strip().lower() for p in text.split(",")
                                               if p.strip()]
    for name in names:
        if name not in known:
            other = CUDA_PRECISIONS if device == "cpu" else CPU_PRECISIONS
            hint = (f"; {name} needs --device {'cuda' if device == 'cpu' else 'cpu'}"
                    if name in other else "")
            raise MeasureError(f"--precisions: unknown precision '{name}' on the {device}; "
                               f"known: {', '.join(known)}{hint}")
    if BOOK_PRECISION[device] not in names:
        raise MeasureError(f"--precisions: must include {BOOK_PRECISION[device]}: it fills the "
                           "book's bf16_dense_flops and runs the decode experiment")
    return list(dict.fromkeys(names))


def _out_paths(text: str | None) -> tuple[Path, Path]:
    out = Path(text or "measured.yaml").expanduser()
    if out.is_dir():
        raise MeasureError(f"--out {out}: is a folder; give a file name ending in .yaml")
    if out.suffix not in (".yaml", ".yml"):
        raise MeasureError(f"--out {out}: a hardware file is written as YAML: end the name in "
                           ".yaml")
    if not out.parent.is_dir():
        raise MeasureError(f"--out {out}: folder {out.parent} does not exist")
    raw = out.with_suffix(".json")
    if raw.is_dir():
        raise MeasureError(f"--out {out}: the raw timings go to {raw}, which is a folder")
    if not os.access(out.parent, os.W_OK):
        raise MeasureError(f"--out {out}: folder {out.parent} is not writable")
    return out, raw


def _note(text: str | None) -> str:
    if not text:
        return ""
    if re.search(r"[\x00-\x1f\x7f]", text) or len(text) > 200:
        raise MeasureError("--note: one line of plain text, at most 200 characters")
    return text


def make_plan(args) -> Plan:
    """Every option checked, and the sizes checked against free memory, before measuring."""
    get = lambda name: getattr(args, name, None)   # noqa: E731
    quick = bool(get("quick"))
    pick = lambda name: DEFAULTS[name][1 if quick else 0]   # noqa: E731
    out, raw = _out_paths(get("out"))
    device = _device(get("device"))
    precisions = _precisions(get("precisions"), device)
    repeats = _number("--repeats", get("repeats"), int) or pick("repeats")
    size_mb = _number("--size-mb", get("size_mb"))
    max_batch = _number("--max-batch", get("max_batch"), int)
    note = _note(get("note"))
    if max_batch is not None and max_batch < 16:
        raise MeasureError(f"--max-batch {max_batch}: the fit needs at least 4 batches from "
                           "B = 2 (2, 4, 8, 16): give 16 or more")
    if max_batch is not None and max_batch > 65536:
        raise MeasureError(f"--max-batch {max_batch}: at most 65536")
    if device == "cuda":
        info = cuda_machine()
        cache, cache_method = info["gpu_l2_bytes"], "torch: device L2"
        available, where = info["gpu_free_bytes"], "GPU memory free"
    else:
        cache, cache_method = llc_bytes()
        available, where = memory_bytes()[1], "memory available"
    if size_mb is None:
        size_mb = max(pick("min_matrix_mb"), pick("cache_multiple") * (cache or 0) / 1e6)
    matrix_bytes = int(size_mb * 1e6)
    itemsize = (CPU_PRECISIONS | CUDA_PRECISIONS)[BOOK_PRECISION[device]]
    k = DECODE_K[device]
    if matrix_bytes < k * itemsize:
        raise MeasureError(f"--size-mb {size_mb:g}: smaller than one row of the matrix "
                           f"({k * itemsize / 1e6:g} MB)")
    rows = matrix_bytes // (k * itemsize)
    widest = max_batch or MAX_AUTO_BATCH
    gemm_n = pick("gemm_n_cuda" if device == "cuda" else "gemm_n_cpu")
    # everything is allocated at once (the rounds interleave all measurements)
    need = (2 * matrix_bytes + matrix_bytes + (rows + k) * widest * itemsize
            + 3 * gemm_n**2 * 8 * len(precisions))
    if need > MEMORY_MARGIN * available:
        raise MeasureError(f"--size-mb {size_mb:g}: the run needs {need / 1e6:,.0f} MB (two "
                           "streaming buffers and the decode matrix of this size, its widest X "
                           f"and output), more than {MEMORY_MARGIN:.0%} of the "
                           f"{available / 1e6:,.0f} MB {where}")
    return Plan(device, precisions, repeats, matrix_bytes, matrix_bytes, gemm_n, max_batch,
                pick("knee_margin"), out, raw, quick, note, cache, cache_method,
                command=command_text(args, out))


OPTIONS = ("quick", "device", "precisions", "size_mb", "repeats", "max_batch", "out", "note")


def command_text(args, out: Path) -> str:
    """The command as run, for provenance; --out by file name only (no local paths)."""
    words = ["python -m helpers measure"]
    for name in OPTIONS:
        value = getattr(args, name, None)
        if value is True:
            words.append(f"--{name.replace('_', '-')}")
        elif value not in (None, False):
            shown = str(out.name if name == "out" else value)
            words.append(f"--{name.replace('_', '-')} "
                         + (json.dumps(shown) if " " in shown else shown))
    return " ".join(words)


# --- the analysis (a pure function of the raw record: the lab page recomputes it) -----------
FIT_FROM = {"cpu": 2, "cuda": 1}   # NumPy sends B = 1 to GEMV, a different kernel than GEMM


def _pct(x: float) -> str:
    return f"{100 * x:.2g} %" if x < 0.1 else f"{100 * x:.0f} %"


def bandwidth_used(result: dict) -> dict:
    """The bandwidth W of the prediction: the best of the streaming kernels."""
    return result["bandwidth"][result["bandwidth"]["best"]]


def fitted_points(result: dict) -> tuple[list[int], list[float], list[list[float]]]:
    """Batches, median times and raw timings of the kernel the roofline describes."""
    d = result["decode"]
    keep = [i for i, b in enumerate(d["batches"]) if b >= result["settings"]["fit_from"]]
    return ([d["batches"][i] for i in keep], [d["median_s"][i] for i in keep],
            [d["times_s"][i] for i in keep])


def analyse(result: dict) -> dict:
    """The two fits, the knees (measured, predicted, datasheet) with bootstrap spreads, the
    decode kernel's own bandwidth and FLOP/s, and the verdict of the book's rule."""
    d, st = result["decode"], result["settings"]
    gemm, bw = result["gemm"][st["book_precision"]], bandwidth_used(result)
    itemsize = d["bytes_per_element"]
    batches, medians, raw = fitted_points(result)
    fits = {form: asdict(fit_roofline(batches, medians, form)) for form in SHAPES}
    form = knee_form(fits)
    fit = fits[form]

    def measured(meds):
        f = fit_roofline(batches, meds, form)
        return f.knee if f.resolved else None

    def predicted(meds):       # medians of the GEMM timings and of the bandwidth kernel's
        return predicted_knee(gemm["flop"] / meds[0], bw["bytes"] / meds[1], itemsize)

    knee = {"predicted": predicted_knee(gemm["flop_per_s"], bw["bytes_per_s"], itemsize),
            "predicted_bootstrap": bootstrap_spread([gemm["times_s"], bw["times_s"]], predicted),
            "measured": fit["knee"] if fit["resolved"] else None, "form": form,
            "measured_bootstrap": bootstrap_spread(raw, measured),
            "bytes_per_element": itemsize, "flops": gemm["flop_per_s"],
            "bandwidth": bw["bytes_per_s"], "bandwidth_kernel": result["bandwidth"]["best"],
            # what the decode kernel itself achieved on each branch
            "decode_bandwidth": d["matrix_bytes"] / fit["t_mem"],
            "decode_flops": 2 * d["rows"] * d["cols"] / fit["t_flop"],
            "gemv_bandwidth": (d["matrix_bytes"] / d["median_s"][0] if d["batches"][0] == 1
                               else None)}
    sheet = datasheet_match(result["machine"]["gpu"]) if "gpu" in result["machine"] else None
    knee["datasheet"] = None if sheet is None else {
        "key": sheet.key, "name": sheet.name,
        "knee": predicted_knee(sheet.bf16_dense_flops, sheet.hbm_bandwidth, itemsize)}
    knee["verdict"] = None
    if knee["measured"] is not None:
        from .verdicts import ratio_verdict

        knee["verdict"] = ratio_verdict(knee["predicted"], knee["measured"])
    return {"fits": fits, "knee": knee}


def knee_form(fits: dict) -> str:
    """Both forms put the knee where t_mem = B t_flop; they differ in whether memory and
    arithmetic overlap. The knee is read from the form that fits better among those that
    resolve one (the book's max form when neither does, or on a tie)."""
    resolved = [f for f in SHAPES if fits[f]["resolved"]]
    return min(resolved, key=lambda f: (fits[f]["rms"], f != "max")) if resolved else "max"


def reliability_warnings(result: dict) -> list[str]:
    """Every reason not to trust a number of the record, one line each."""
    st, d = result["settings"], result["decode"]
    warn = []
    if st["repeats"] < MIN_REPEATS:
        warn.append(f"too few repetitions: {st['repeats']} timed runs per measurement (at least "
                    f"{MIN_REPEATS} for a meaningful spread; drop --quick or raise --repeats)")
    cache = st["cache_bytes"]
    if cache is None:
        warn.append(f"the last-level cache size is unknown ({st['cache_method']}): the matrix "
                    "may not exceed it")
    elif d["matrix_bytes"] < CACHE_FACTOR * cache:
        warn.append(f"the matrix ({d['matrix_bytes'] / 1e6:,.0f} MB) is only "
                    f"{d['matrix_bytes'] / cache:.2g}x the last-level cache "
                    f"({cache / 2**20:,.0f} MiB): part of it may be served from cache "
                    f"(want {CACHE_FACTOR}x or more)")
    for name, g in result["gemm"].items():
        if g["spread"] > SPREAD_LIMIT:
            warn.append(f"GEMM {name}: spread {_pct(g['spread'])} > {_pct(SPREAD_LIMIT)}")
    for name in STREAM_KERNELS:
        s = result["bandwidth"][name]
        if s["spread"] > SPREAD_LIMIT:
            warn.append(f"bandwidth ({name}): spread {_pct(s['spread'])} > {_pct(SPREAD_LIMIT)}")
    wide = [(b, s) for b, s in zip(d["batches"], d["spread"]) if s > SPREAD_LIMIT]
    if wide:
        b, s = max(wide, key=lambda x: x[1])
        warn.append(f"decode: spread > {_pct(SPREAD_LIMIT)} at {len(wide)} of "
                    f"{len(d['batches'])} batches (worst B = {b}: {_pct(s)})")
    fit = result["fits"][result["knee"]["form"]]
    if not fit["resolved"]:
        warn.append(f"knee not resolved: {fit['reason']}")
    else:
        if fit["rms"] > FIT_RMS_LIMIT:
            warn.append(f"the timings scatter {_pct(fit['rms'])} (rms) about the fitted "
                        f"roofline (> {_pct(FIT_RMS_LIMIT)})")
        share = result["knee"]["measured_bootstrap"]["finite_share"]
        if share < BOOTSTRAP_RESOLVED:
            warn.append(f"the knee is resolved in only {_pct(share)} of bootstrap resamples of "
                        f"the rounds (want {_pct(BOOTSTRAP_RESOLVED)})")
    return warn


STREAM_KERNELS = ("read", "copy", "scale")


# --- the run --------------------------------------------------------------------------------
def _record(times: list[float], work: float, rate_key: str, **extra) -> dict:
    s = summarize(times)
    return dict(s, **extra, **{rate_key: work / s["median_s"]}, times_s=times)


def _pilot_rate(kernel: Kernel, timer) -> float:
    """One call: warms the kernel up and gives a first rate (to choose the batch range)."""
    return kernel.work / timer(kernel.fn)


def measure(plan: Plan, log=print) -> dict:
    """Run every measurement of ``plan`` in interleaved rounds; the raw record (the JSON)."""
    cpu = plan.device == "cpu"
    book = BOOK_PRECISION[plan.device]
    timer = wall_timer if cpu else cuda_timer
    machine = machine_description(plan.device)
    if not cpu:
        machine.update(cuda_machine())
    machine["load_average_before"] = [round(x, 2) for x in os.getloadavg()]
    log("  preparing: GEMM operands, streaming buffers, the decode matrix ...", flush=True)
    gemm, errors = [], {}
    for p in plan.precisions:
        try:
            gemm.append((gemm_kernel_cpu if cpu else gemm_kernel_cuda)(p, plan.gemm_n))
        except Exception as e:  # noqa: BLE001 - e.g. FP8 on a GPU without FP8 units
            if p == book:
                raise
            errors[p] = f"{type(e).__name__}: {(str(e).splitlines() or [''])[0][:200]}"
    streams = (stream_kernels_cpu(plan.stream_bytes, machine["cores_usable"]) if cpu
               else stream_kernels_cuda(plan.stream_bytes))
    matrix = (decode_matrix_cpu if cpu else decode_matrix_cuda)(plan.matrix_bytes, book)
    flops = {k.name: _pilot_rate(k, timer) for k in gemm}[book]
    bandwidth = max(_pilot_rate(k, timer) for k in streams)
    itemsize = (CPU_PRECISIONS | CUDA_PRECISIONS)[book]
    max_batch = plan.max_batch or auto_max_batch(predicted_knee(flops, bandwidth, itemsize),
                                                 plan, flops, matrix.shape)
    decode = (decode_kernels_cpu if cpu else decode_kernels_cuda)(matrix, batch_range(max_batch))
    for k in decode:
        timer(k.fn)                                  # warm-up: page faults, BLAS threads
    log(f"  timing {plan.repeats} rounds: GEMM {', '.join(k.name for k in gemm)} "
        f"({plan.gemm_n} x {plan.gemm_n}); streams over {plan.stream_bytes / 1e6:,.0f} MB; "
        f"decode of a {plan.matrix_bytes / 1e6:,.0f} MB matrix at B = 1 ... {max_batch} ...",
        flush=True)
    times = time_rounds(gemm + streams + decode, plan.repeats, timer)
    machine["load_average_after"] = [round(x, 2) for x in os.getloadavg()]
    rows, cols = matrix.shape
    result = {"schema": SCHEMA, "date": _dt.date.today().isoformat(), "command": plan.command,
              "quick": plan.quick, "note": plan.note, "machine": machine,
              "settings": {"device": plan.device, "precisions": plan.precisions,
                           "book_precision": book, "repeats": plan.repeats,
                           "gemm_n": plan.gemm_n, "stream_bytes": plan.stream_bytes,
                           "matrix_bytes": rows * cols * itemsize, "max_batch": max_batch,
                           "fit_from": FIT_FROM[plan.device], "cache_bytes": plan.cache_bytes,
                           "cache_method": plan.cache_method,
                           "design": f"{plan.repeats} rounds, each timing every GEMM, stream "
                                     "and decode kernel once, in that order, after one "
                                     "warm-up call of each"},
              "gemm": {k.name: _record(times[("gemm", k.name)], k.work, "flop_per_s",
                                       size=plan.gemm_n, flop=k.work, method=k.method)
                       for k in gemm},
              "gemm_errors": errors,
              "bandwidth": {k.name: _record(times[("stream", k.name)], k.work, "bytes_per_s",
                                            bytes=k.work, method=k.method) for k in streams},
              "decode": _decode_record(decode, times, rows, cols, book, itemsize, cpu)}
    bw = result["bandwidth"]
    bw["best"] = max(STREAM_KERNELS, key=lambda k: bw[k]["bytes_per_s"])
    result.update(analyse(result))
    result["warnings"] = reliability_warnings(result)
    return result


def auto_max_batch(knee: float, plan: Plan, flops: float, shape) -> int:
    """A power of two well past the predicted knee, capped so that the widest step takes about
    a second (or a quarter with --quick) at the pilot's FLOP/s."""
    budget = 0.25 if plan.quick else 1.0
    affordable = budget * flops / (2 * shape[0] * shape[1])
    wanted = next_power_of_two(plan.knee_margin * knee)
    return int(min(MAX_AUTO_BATCH, max(16, min(wanted, 1 << int(math.log2(max(affordable, 1)))))))


def _decode_record(kernels, times, m, k, precision, itemsize, cpu) -> dict:
    batches = [kern.name for kern in kernels]
    stats = [summarize(times[("decode", b)]) for b in batches]
    lib = "NumPy matmul" if cpu else "torch.matmul"
    return {"batches": batches, "times_s": [times[("decode", b)] for b in batches],
            "median_s": [s["median_s"] for s in stats], "spread": [s["spread"] for s in stats],
            "rows": m, "cols": k, "precision": precision, "bytes_per_element": itemsize,
            "matrix_bytes": m * k * itemsize,
            "method": f"{lib} A @ X, A {m} x {k} {precision}, X of B columns, out= "
                      "preallocated"}


# --- the hardware file ----------------------------------------------------------------------
def _sig(x: float, digits: int = 4) -> float:
    return float(f"{x:.{digits}g}")


def _plain(text: str, limit: int = 80) -> str:
    """Plain one-line text for a printed name (the hardware file refuses markup)."""
    return re.sub(r"[<>{}`$\\\x00-\x1f\x7f]", "", text)[:limit]


def _spread_text(x: dict) -> str:
    return f"median of {x['n']} runs, spread (IQR/median) {_pct(x['spread'])}"


def _field(value, unit: str, note: str = "", alternatives=None, missing: str = "") -> dict:
    raw = {"value": value, "unit": unit, "source": "measure_run"}
    if note:
        raw["note"] = note
    if missing:
        raw["missing"] = missing
    if alternatives:
        raw["alternatives"] = alternatives
    return raw


def part_name(result: dict) -> str:
    m = result["machine"]
    return m["gpu"] if "gpu" in m else m["cpu_model"]


def library_text(result: dict) -> str:
    m = result["machine"]
    if "gpu" in m:
        return f"PyTorch {m['torch']}, CUDA {m['cuda']}"
    blas = m["blas"]
    runtime = (f" (kernel {blas['kernel']}, {blas.get('threads', '?')} threads)"
               if blas.get("kernel") else "")
    return f"NumPy {m['numpy']}, BLAS {blas.get('name')} {blas.get('version')}{runtime}"


def hardware_document(result: dict, raw_name: str) -> dict:
    """The hardware file: the catalog's schema, one entry, its source tagged ``measured``."""
    m, st = result["machine"], result["settings"]
    cpu = st["device"] == "cpu"
    g = result["gemm"][st["book_precision"]]
    knee, bw = result["knee"], result["bandwidth"]
    fit = result["fits"][knee["form"]]
    part = part_name(result)
    cores = f"{m['cores_usable']} cores" if cpu else f"compute capability {m['compute_capability']}"
    source = {"url": METHOD_URL, "title": _plain(f"python -m helpers measure on {part}, {cores}, "
                                                 f"{result['date']}", 200),
              "date": result["date"], "tag": "measured",
              "note": f"raw timings, settings and machine: {raw_name} (schema {SCHEMA})"}
    decode_flops = ([_field(_sig(knee["decode_flops"] / 1e9), "GFLOP/s",
                            "the decode experiment's compute branch: 2 M K / t_flop of the "
                            "fitted roofline (a skinny GEMM of B columns)")]
                    if fit["resolved"] else None)
    bf16 = _field(_sig(g["flop_per_s"] / 1e9), "GFLOP/s",
                  ("stand-in: the measured float32 GEMM rate, since NumPy has no BF16 GEMM; "
                   if cpu else "measured: ") + f"{g['method']}; 2 n^3 FLOP / "
                  f"{_spread_text(g)}", decode_flops)
    best = bw["best"]
    others = [_field(_sig(bw[k]["bytes_per_s"] / 1e9), "GB/s",
                     f"streaming {k} kernel ({bw[k]['method']}); {_spread_text(bw[k])}")
              for k in STREAM_KERNELS if k != best]
    if knee["gemv_bandwidth"]:
        others.append(_field(_sig(knee["gemv_bandwidth"] / 1e9), "GB/s",
                             "the decode matrix at B = 1: matrix bytes / median time"))
    if fit["resolved"]:
        others.append(_field(_sig(knee["decode_bandwidth"] / 1e9), "GB/s",
                             "the decode experiment's memory branch: matrix bytes / t_mem of the "
                             "fitted roofline"))
    memory_kind = "system memory, not HBM" if cpu else "GPU memory"
    bandwidth = _field(_sig(bw[best]["bytes_per_s"] / 1e9), "GB/s",
                       f"measured ({memory_kind}): the streaming {best} kernel, the best of "
                       f"{', '.join(STREAM_KERNELS)} ({bw[best]['method']}); bytes moved / "
                       f"{_spread_text(bw[best])}; {result['settings']['design']}",
                       others)
    capacity = _field(_sig((m["memory_total_bytes"] if cpu else m["gpu_memory_bytes"]) / 2**30),
                      "GiB", f"read, not timed: {m['memory_method'] if cpu else 'torch.cuda'} "
                      f"({memory_kind})")
    fp8 = result["gemm"].get("fp8")
    fp8_field = (_field(_sig(fp8["flop_per_s"] / 1e9), "GFLOP/s",
                        f"measured: {fp8['method']}; 2 n^3 FLOP / {_spread_text(fp8)}")
                 if fp8 else
                 _field(None, "GFLOP/s", missing=(
                     "not measured: NumPy has no FP8 GEMM; FP8 data on this CPU would be "
                     "computed at the float32 rate (bf16_dense_flops)") if cpu else
                     "not measured: " + result["gemm_errors"].get("fp8", "fp8 not requested")))
    entry = {
        "name": _plain(f"{part} ({'measured' if cpu else 'measured GPU'}, {result['date']})"),
        "vendor": _plain((part.split() or ["unknown"])[0]),
        "notes": notes_text(result),
        "launch": _field(None, "year", missing="a measured machine has no launch year; nothing "
                                              "on it reports one"),
        "hbm_capacity": capacity, "hbm_bandwidth": bandwidth, "bf16_dense_flops": bf16,
        "fp8_dense_flops": fp8_field,
        "scale_up_domain": _field(1, "count", "stand-in, not measured: one machine alone (no "
                                  "scale-up fabric is timed); chapter 1 needs a number here for "
                                  "its domain-HBM line"),
        "scale_up_bandwidth": _field(None, "GB/s", missing="not measured: one machine has no "
                                                          "scale-up link to time"),
        "scale_out_bandwidth": _field(None, "Gb/s", missing="not measured: this command does not "
                                                           "time the network"),
    }
    key = "measured_" + ("cpu" if cpu else (knee["datasheet"] or {}).get("key", "gpu"))
    return {"sources": {"measure_run": source}, "entries": {key: entry}}


def notes_text(result: dict) -> str:
    m, st, d, knee = result["machine"], result["settings"], result["decode"], result["knee"]
    cpu = st["device"] == "cpu"
    where = (f"{m['cpu_model']}, {m['cores_usable']} usable cores of {m['cores_total']}, "
             f"{m['virtualization']}, {m['os']}" if cpu else
             f"{m['gpu']} (compute capability {m['compute_capability']}) on {m['cpu_model']}")
    measured = "not resolved" if knee["measured"] is None else f"{knee['measured']:.3g}"
    lines = [f"Measured by `{result['command']}` on {result['date']}: {where}; "
             f"{library_text(result)}.",
             ("Stand-ins: bf16_dense_flops holds the float32 GEMM rate (NumPy has no BF16); "
              if cpu else "") + "scale_up_domain 1 is a placeholder (one machine); launch, "
             "scale-up and scale-out bandwidth are not measured (missing).",
             f"Decode: {d['method']}; B = {d['batches'][0]} to {d['batches'][-1]}, fitted from "
             f"B = {st['fit_from']}.",
             f"Knee: predicted F b/(2W) = {knee['predicted']:.3g} with b = "
             f"{knee['bytes_per_element']} bytes ({st['book_precision']}); measured {measured}."]
    if result.get("note"):
        lines.append(f"Note: {result['note']}")
    lines += [f"UNRELIABLE: {w}" for w in result["warnings"]]
    return "\n".join(lines)


def write_outputs(plan: Plan, result: dict) -> None:
    """Both files, each written to a temporary name and moved into place; the hardware file is
    validated by the catalog's own check before it replaces anything."""
    import yaml

    doc = hardware_document(result, plan.raw_out.name)
    text = (f"# Hardware file written by python -m helpers measure on {result['date']}; raw "
            f"timings in {plan.raw_out.name}.\n"
            + yaml.safe_dump(doc, sort_keys=False, allow_unicode=True, width=100))
    tmp_yaml = plan.out.with_name(f".{plan.out.name}.partial")
    tmp_json = plan.raw_out.with_name(f".{plan.raw_out.name}.partial")
    try:
        tmp_yaml.write_text(text, encoding="utf-8")
        catalog.hardware_file(tmp_yaml)                 # raises CatalogError if it were bad
        tmp_json.write_text(json.dumps(result, indent=1) + "\n", encoding="utf-8")
        os.replace(tmp_json, plan.raw_out)
        os.replace(tmp_yaml, plan.out)
    finally:
        tmp_yaml.unlink(missing_ok=True)
        tmp_json.unlink(missing_ok=True)


def report_text(result: dict, plan: Plan) -> str:
    m, st, d, knee = result["machine"], result["settings"], result["decode"], result["knee"]
    cpu = st["device"] == "cpu"

    def runs(x):
        return f"{x['n']} runs, spread {_pct(x['spread'])}"
    cache = f"{st['cache_bytes'] / 2**20:,.0f} MiB " if st["cache_bytes"] else ""
    lines = [f"machine: {part_name(result)}, {m['cores_usable']} usable cores, "
             f"{m['virtualization']}; {library_text(result)}",
             f"last-level cache: {cache}({st['cache_method']})"]
    for p, g in result["gemm"].items():
        lines.append(f"GEMM {p:<8} {g['flop_per_s'] / 1e9:10,.1f} GFLOP/s  "
                     f"({g['size']} x {g['size']}, {runs(g)})")
    lines += [f"GEMM {p:<8} not measured: {e}" for p, e in result["gemm_errors"].items()]
    for name in STREAM_KERNELS:
        s = result["bandwidth"][name]
        best = "  <- W" if name == result["bandwidth"]["best"] else ""
        lines.append(f"bandwidth {name:<5} {s['bytes_per_s'] / 1e9:8,.1f} GB/s     "
                     f"({runs(s)}){best}")
    total = m["memory_total_bytes"] if cpu else m["gpu_memory_bytes"]
    lines.append(f"memory     {total / 2**30:9,.1f} GiB      "
                 f"({m['memory_method'] if cpu else 'torch.cuda'})")
    lines.append(f"decode: A {d['rows']} x {d['cols']} {d['precision']} "
                 f"({d['matrix_bytes'] / 1e6:,.0f} MB) @ X (B columns), {st['repeats']} "
                 f"rounds; fitted from B = {st['fit_from']}")
    lines.append("      B   median ms   spread")
    lines += [f"  {b:5d}  {t * 1e3:10.3f}   {_pct(s):>6}"
              for b, t, s in zip(d["batches"], d["median_s"], d["spread"])]
    for form, fit in result["fits"].items():
        shape = "max(t_mem, B t_flop)" if form == "max" else "t_mem + B t_flop"
        lines.append(f"fit t(B) = {shape:<20}: t_mem {fit['t_mem'] * 1e3:.3f} ms, t_flop "
                     f"{fit['t_flop'] * 1e3:.4f} ms per column, rms {_pct(fit['rms'])}, knee "
                     + (f"{fit['knee']:.3g}" if fit["resolved"] else "not resolved"))
    pb, mb = knee["predicted_bootstrap"], knee["measured_bootstrap"]
    lines.append(f"predicted knee F b / (2 W) = {knee['predicted']:.3g}  (b = "
                 f"{knee['bytes_per_element']}, W = {knee['bandwidth_kernel']}; bootstrap spread "
                 f"{_pct(pb['spread'])})")
    if knee["measured"] is None:
        lines.append(f"measured knee: not resolved ({result['fits']['max']['reason']}); "
                     "no knee is claimed")
    else:
        lines.append(f"measured knee t_mem / t_flop = {knee['measured']:.3g}  ({knee['form']} "
                     "form, the better fit; bootstrap spread "
                     f"{_pct(mb['spread'])}; resolved in {_pct(mb['finite_share'])} of "
                     "resamples)")
        lines.append(f"verdict (the book's rule, predicted vs measured): {knee['verdict']}")
    sheet = knee["datasheet"]
    lines.append("datasheet knee: " + (f"{sheet['knee']:.3g} ({sheet['name']})" if sheet else
                                      "not catalogued (the accelerator catalog lists no CPUs)"
                                      if cpu else "not catalogued"))
    lines += [f"UNRELIABLE: {w}" for w in result["warnings"]]
    lines.append(f"wrote {plan.out} (hardware file, tag measured) and {plan.raw_out} "
                 "(raw timings)")
    lines.append(f"next: python -m helpers rerun --hardware {plan.out} --chapters 01")
    return "\n".join(lines)


def run_command(args) -> int:
    plan = make_plan(args)                   # bad options: MeasureError before measuring
    start = time.perf_counter()
    print(f"measuring on the {plan.device}" + (" (quick)" if plan.quick else "") + " ...",
          flush=True)
    result = measure(plan)
    result["seconds"] = round(time.perf_counter() - start, 1)
    write_outputs(plan, result)
    print(report_text(result, plan))
    print(f"done in {result['seconds']:.1f} s")
    return 0
