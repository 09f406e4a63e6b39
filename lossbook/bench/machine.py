r"""The machine's two limits, measured: how fast it streams bytes and how fast it computes the
transcendental functions a binary cross entropy needs; and what the machine is.

Each limit is the best of a few measurements with ``torch.utils.benchmark`` (the machine's
capability, which a busy spell only slows down), on ``threads`` threads.

**Bandwidth.** Three streaming kernels on float32 tensors of :math:`n` elements, bytes counted as the kernels in
:mod:`lossbook.bench.traffic` are (each element read or written counts once):

- ``copy``: ``dst.copy_(src)``, :math:`8n` bytes (read :math:`4n`, write :math:`4n`);
- ``add_``: ``a.add_(b)``, :math:`12n` bytes (read two, write one, in place);
- ``sum``: ``a.sum()``, :math:`4n` bytes (read only).

Most CPUs read a cache line before writing into it, so the bytes that really cross the
memory bus depend on the mix of reads, writes and in-place writes; the *bandwidth* at
:math:`n` is the largest of the three rates, bytes / second. Small tensors stay in the
caches between calls, so the rate depends on :math:`n`: measured at each size of the
benchmark (at least :data:`MIN_STREAM` elements, so that a call's fixed cost does not
count as bandwidth) and at :data:`MEMORY_STREAM` elements, past the last-level cache of most
CPUs: the machine's memory bandwidth.

**Compute.** The stable formula of a binary cross entropy needs, per element, an
exponential and a logarithm: :math:`\log(1 + e^{-|z|})`, the softplus of :math:`-|z|`, for
the loss (and the gradient :math:`\sigma(z) - y` can reuse :math:`e^{-|z|}`). ATen's
``softplus`` computes exactly that, both functions in one pass over the data; its time per
element on cache-resident data (:data:`COMPUTE_STREAM` elements per thread, into a
preallocated output) is the loss's compute time :math:`c`. ``exp`` and ``log1p`` are timed
alone too, for comparison. On a GPU see :func:`transcendental_seconds`.

**The allocator.** With glibc's default settings, ``malloc`` returns a freed block of more
than 32 MiB to the operating system and the next call page-faults it back, every call:
a cost of the allocator, not of the loss. :func:`keep_freed_memory` tells ``malloc`` to keep
freed memory (``mallopt``), so that a benchmark measures the loss; :func:`page_faults`
counts the faults so that a table can show how many remain.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import datetime
import os
import platform

import torch
from torch.utils import benchmark

from lossbook.data import randn

#: Fewest elements a bandwidth is measured on: fewer, and the call's fixed cost dominates.
MIN_STREAM = 2**17
#: Elements of the tensors that measure the memory bandwidth: 128 MiB each, past the
#: last-level cache of most CPUs.
MEMORY_STREAM = 2**25
#: Elements per thread of the cache-resident tensors that time ``exp`` and ``log1p``
#: (1 MiB per thread and tensor).
COMPUTE_STREAM = 2**18
#: Elements that time ``exp`` and ``log1p`` on a GPU (64 MiB per tensor).
GPU_COMPUTE_STREAM = 2**24
#: Bytes each streaming kernel counts per element.
STREAM_BYTES = {"copy": 8, "add_": 12, "sum": 4}


def _best_median(timer: benchmark.Timer, rounds: int, min_run_time: float) -> float:
    """The smallest median of ``rounds`` measurements: what the machine can do, which a
    busy spell only ever slows down."""
    return min(timer.blocked_autorange(min_run_time=min_run_time).median
               for _ in range(rounds))


def stream_rates(n: int, *, threads: int = 1, device: str = "cpu", rounds: int = 3,
                 min_run_time: float = 0.03) -> dict[str, float]:
    """Bytes per second of each streaming kernel (:data:`STREAM_BYTES`) on float32 tensors
    of ``n`` elements, on ``threads`` threads, the best of ``rounds`` measurements:
    ``{"copy": ..., "add_": ..., "sum": ...}``.

    Raises:
        ValueError: ``n``, ``threads`` or ``rounds`` below 1.
    """
    if n < 1 or threads < 1 or rounds < 1:
        raise ValueError(f"n, threads and rounds must be >= 1, got n={n}, "
                         f"threads={threads}, rounds={rounds}")
    dev = torch.device(device)
    a = torch.full((n,), 0.5, device=dev)
    b = torch.full((n,), 0.25, device=dev)
    statements = {"copy": "a.copy_(b)", "add_": "a.add_(b)", "sum": "a.sum()"}
    rates = {}
    for name, stmt in statements.items():
        timer = benchmark.Timer(stmt=stmt, globals={"a": a, "b": b, "torch": torch},
                                num_threads=threads)
        rates[name] = STREAM_BYTES[name] * n / _best_median(timer, rounds, min_run_time)
    return rates


def bandwidth(n: int, *, threads: int = 1, device: str = "cpu", rounds: int = 3,
              min_run_time: float = 0.03) -> float:
    """The machine's bandwidth for float32 tensors of ``n`` elements, bytes per second: the
    largest of :func:`stream_rates` on ``max(n, MIN_STREAM)`` elements."""
    return max(stream_rates(max(n, MIN_STREAM), threads=threads, device=device,
                            rounds=rounds, min_run_time=min_run_time).values())


def transcendental_seconds(*, threads: int = 1, device: str = "cpu",
                           n: int | None = None, rounds: int = 3,
                           min_run_time: float = 0.05) -> dict[str, float]:
    r"""Seconds per element of ``exp``, ``log1p`` and ``softplus``
    (:math:`\log(1 + e^{x})`, both in one pass) into preallocated outputs, the best of
    ``rounds`` measurements: ``{"exp": ..., "log1p": ..., "softplus": ...}``.

    The arguments are of the kind a loss meets: :math:`-|z|` (for ``exp`` and ``softplus``)
    and :math:`e^{-|z|}` (for ``log1p``) for normal :math:`z` with standard deviation 3. On
    the CPU, ``n`` (default :data:`COMPUTE_STREAM` per thread) values stay in the caches and
    the time is the functions' own. On a GPU an elementwise kernel that short is limited by
    its launch and its memory traffic, not by the arithmetic: there ``n`` defaults to
    :data:`GPU_COMPUTE_STREAM`, and the time of a copy of the same tensors is subtracted
    (at least 0), leaving what the arithmetic adds.
    """
    dev = torch.device(device)
    gpu = dev.type == "cuda"
    n = (GPU_COMPUTE_STREAM if gpu else COMPUTE_STREAM * threads) if n is None else n
    z = randn(n, generator=torch.Generator().manual_seed(0)) * 3
    negative = (-z.abs()).to(dev)
    small = negative.exp()
    out = torch.empty_like(negative)
    statements = {"exp": ("torch.exp(x, out=out)", negative),
                  "log1p": ("torch.log1p(x, out=out)", small),
                  "softplus": ("torch.ops.aten.softplus.out(x, 1, 20, out=out)", negative)}
    if gpu:
        statements["copy"] = ("out.copy_(x)", negative)
    seconds = {}
    for name, (stmt, arg) in statements.items():
        timer = benchmark.Timer(stmt=stmt, globals={"x": arg, "out": out, "torch": torch},
                                num_threads=threads)
        seconds[name] = _best_median(timer, rounds, min_run_time) / n
    if gpu:
        copy = seconds.pop("copy")
        seconds = {name: max(t - copy, 0.0) for name, t in seconds.items()}
    return seconds


def compute_seconds(*, threads: int = 1, device: str = "cpu", rounds: int = 3,
                    min_run_time: float = 0.05) -> float:
    """The loss's compute time per element, :math:`c`: ``softplus`` of
    :func:`transcendental_seconds`, one ``exp`` and one ``log1p`` per element in one pass."""
    return transcendental_seconds(threads=threads, device=device, rounds=rounds,
                                  min_run_time=min_run_time)["softplus"]


# --- the allocator ------------------------------------------------------------------------

_M_TRIM_THRESHOLD, _M_MMAP_THRESHOLD = -1, -3


def keep_freed_memory(limit: int = 2**30) -> bool:
    """Tell glibc's ``malloc`` to keep freed blocks up to ``limit`` bytes for reuse instead
    of returning them to the operating system (``mallopt`` of ``M_MMAP_THRESHOLD`` and
    ``M_TRIM_THRESHOLD``), for the rest of the process.

    Returns:
        True when both settings were applied; False off glibc (macOS, Windows, musl), where
        the allocator is left as it is.
    """
    try:
        libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6")
        mallopt = libc.mallopt
    except (OSError, AttributeError):
        return False
    mallopt.argtypes = [ctypes.c_int, ctypes.c_int]
    return bool(mallopt(_M_MMAP_THRESHOLD, limit)) and bool(mallopt(_M_TRIM_THRESHOLD, limit))


def page_faults() -> int | None:
    """Minor page faults of this process so far (``getrusage``), None where unavailable."""
    try:
        import resource
    except ImportError:  # Windows
        return None
    return resource.getrusage(resource.RUSAGE_SELF).ru_minflt


# --- what the machine is ------------------------------------------------------------------


def cpu_model() -> str:
    """The CPU's model name from ``/proc/cpuinfo``, else what ``platform`` says."""
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def cores() -> int:
    """CPU cores this process may run on."""
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # macOS, Windows
        return os.cpu_count() or 1


def device_name(device: str) -> str:
    """The GPU's name, or the CPU's model and core count."""
    if torch.device(device).type == "cuda":
        return torch.cuda.get_device_name(device)
    return f"{cpu_model()}, {cores()} cores"


def machine_info() -> dict[str, str]:
    """What a recorded run ran on: CPU, cores, GPU, torch, Python, the date."""
    return {
        "cpu": cpu_model(),
        "cores": str(cores()),
        "gpu": torch.cuda.get_device_name(0) if torch.cuda.is_available() else "none",
        "torch": torch.__version__,
        "python": platform.python_version(),
        "system": f"{platform.system()} {platform.machine()}",
        "cpu_capability": torch.backends.cpu.get_cpu_capability(),
        "date": datetime.date.today().isoformat(),
    }
