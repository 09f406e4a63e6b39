"""Timing losses with ``torch.utils.benchmark``: forward and backward, and ratios between them.

``python -m lossbook.bench`` runs the performance chapter's benchmark: every way of computing
a binary cross entropy from logits, for N from 10^3 to 10^7, with its time, peak memory, and
achieved memory bandwidth as a fraction of the machine's (measured in the same run).

Absolute times depend on the machine; ratios between losses timed on the same input, one
after the other, are what a chapter reports. Timings never go into checked outputs: a cell
that prints them is tagged ``nbval-ignore-output``.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import os
import platform
from collections.abc import Callable, Mapping

import pandas as pd
import torch
import torch.nn.functional as F
from torch.utils import benchmark
from torch.utils._python_dispatch import TorchDispatchMode

from lossbook import functional

LossFn = Callable[[torch.Tensor, torch.Tensor], torch.Tensor]


def time_loss(
    loss_fn: LossFn,
    input: torch.Tensor,
    target: torch.Tensor,
    *,
    backward: bool = True,
    min_run_time: float = 0.2,
    num_threads: int | None = None,
) -> float:
    """Median seconds of one call ``loss_fn(input, target)``, followed by ``.backward()``
    when ``backward``.

    The input is copied into a leaf tensor that requires a gradient, whose ``.grad`` is
    reset before each call, so every call does the same work. ``torch.utils.benchmark``
    runs the statement in blocks until ``min_run_time`` seconds have passed, with warm-up,
    on ``num_threads`` threads.

    Args:
        loss_fn: returns a scalar tensor (a loss with ``reduction='mean'``).
        input: a floating-point tensor (logits, say), any shape.
        target: what ``loss_fn`` takes as its second argument.
        backward: time the backward pass too.
        min_run_time: seconds of measurement, > 0.
        num_threads: torch threads during the measurement (default:
            ``torch.get_num_threads()``, which is 1 after ``lossbook.setup()``). Next to other
            busy processes, more threads than free cores make timings erratic.

    Raises:
        TypeError: ``loss_fn`` not callable, ``input`` not a floating-point tensor.
        ValueError: ``min_run_time <= 0``, a ``num_threads`` below 1, or ``loss_fn``
            returning more than one element.
    """
    if not callable(loss_fn):
        raise TypeError(f"loss_fn must be callable, got {type(loss_fn).__name__}")
    if not isinstance(input, torch.Tensor) or not input.is_floating_point():
        got = input.dtype if isinstance(input, torch.Tensor) else type(input).__name__
        raise TypeError(f"input must be a floating-point torch.Tensor, got {got}")
    if not min_run_time > 0:
        raise ValueError(f"min_run_time must be > 0, got {min_run_time!r}")
    num_threads = torch.get_num_threads() if num_threads is None else num_threads
    if not isinstance(num_threads, int) or num_threads < 1:
        raise ValueError(f"num_threads must be a positive int, got {num_threads!r}")
    x = input.detach().clone().requires_grad_(backward)
    with torch.no_grad() if not backward else torch.enable_grad():
        out = loss_fn(x, target)
    if out.numel() != 1:
        raise ValueError(
            f"loss_fn must return a single value (reduction='mean' or 'sum'), got shape "
            f"{tuple(out.shape)}"
        )
    if backward:
        stmt = "x.grad = None; loss_fn(x, target).backward()"
    else:
        stmt = "with torch.no_grad(): loss_fn(x, target)"
    timer = benchmark.Timer(
        stmt=stmt,
        globals={"x": x, "target": target, "loss_fn": loss_fn, "torch": torch},
        num_threads=num_threads,
    )
    return timer.blocked_autorange(min_run_time=min_run_time).median


def relative_times(
    losses: Mapping[str, LossFn],
    input: torch.Tensor,
    target: torch.Tensor,
    *,
    baseline: str | None = None,
    backward: bool = True,
    min_run_time: float = 0.2,
    num_threads: int | None = None,
) -> pd.Series:
    """Time of each loss divided by the time of ``baseline`` on the same input.

    Args:
        losses: ``{name: loss_fn}``, each as for :func:`time_loss`.
        input, target, backward, min_run_time, num_threads: as for :func:`time_loss`.
        baseline: the name the others are divided by (default: the first).

    Returns:
        A Series named ``"time / <baseline>"`` indexed by the names; 1.0 for the baseline,
        2.0 for a loss that takes twice as long.

    Raises:
        ValueError: no losses, or a ``baseline`` that is not one of them; and as
            :func:`time_loss`.
    """
    if not losses:
        raise ValueError("losses must name at least one loss, got none")
    baseline = next(iter(losses)) if baseline is None else baseline
    if baseline not in losses:
        raise ValueError(f"baseline must be one of {list(losses)}, got {baseline!r}")
    seconds = {name: time_loss(fn, input, target, backward=backward, min_run_time=min_run_time,
                               num_threads=num_threads)
               for name, fn in losses.items()}
    return pd.Series({name: t / seconds[baseline] for name, t in seconds.items()},
                     name=f"time / {baseline}")


# --- the benchmark of the performance chapter (python -m lossbook.bench) ------------------

#: Element counts N of the benchmark: 10^3 to 10^7.
SIZES = (10**3, 10**4, 10**5, 10**6, 10**7)
#: float32 bytes per element that any route must at least move for forward + backward:
#: read the logits and the targets, write the gradient of the logits (4 bytes each). A
#: reference point, not a bound the routes reach: each runs several kernels, and the
#: forward and the backward read the inputs separately.
BINARY_BYTES_PER_ELEMENT = 12


class _MallInfo2(ctypes.Structure):
    _fields_ = [(name, ctypes.c_size_t) for name in (
        "arena", "ordblks", "smblks", "hblks", "hblkhd", "usmblks", "fsmblks", "uordblks",
        "fordblks", "keepcost")]


def _libc_in_use():
    """A function returning the bytes glibc's malloc has handed out, or None off glibc."""
    try:
        libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6")
        mallinfo2 = libc.mallinfo2
    except (OSError, AttributeError):
        return None
    mallinfo2.restype = _MallInfo2

    def in_use() -> int:
        info = mallinfo2()
        return info.uordblks + info.hblkhd  # heap blocks + mmapped blocks (large tensors)

    return in_use


class PeakMemory(TorchDispatchMode):
    """Context manager: the peak of memory allocated by torch operations inside it, in bytes.

    After every tensor operation (forward and backward, which run in the same thread for
    CPU tensors) it reads how much memory is in use: on CUDA from torch's allocator, on the
    CPU from glibc's ``mallinfo2`` (heap plus mmapped blocks, where large tensors live). The
    peak minus the amount in use on entry is ``self.peak``; ``None`` where no reading is
    available (a CPU run off glibc).
    """

    def __init__(self, device: str = "cpu"):
        super().__init__()
        self.device = torch.device(device)
        self._read = (lambda: torch.cuda.memory_allocated(self.device)) \
            if self.device.type == "cuda" else _libc_in_use()
        self.peak = None

    def __enter__(self):
        if self._read is not None:
            self._base = self._read()
            self.peak = 0
        return super().__enter__()

    def __torch_dispatch__(self, func, types, args=(), kwargs=None):
        out = func(*args, **(kwargs or {}))
        if self._read is not None:
            self.peak = max(self.peak, self._read() - self._base)
        return out


def peak_memory(loss_fn: LossFn, input: torch.Tensor, target: torch.Tensor) -> int | None:
    """Peak bytes allocated by one forward + backward of ``loss_fn(input, target)``, beyond
    the input and target themselves (measured after a warm-up call)."""
    x = input.detach().clone().requires_grad_(True)
    loss_fn(x, target).backward()  # warm-up: one-time allocations of autograd and the loss
    x.grad = None
    with PeakMemory(str(input.device)) as meter:
        loss_fn(x, target).backward()
    return meter.peak


def copy_bandwidth(device: str = "cpu", nbytes: int = 256 * 2**20, num_threads: int = 1,
                   min_run_time: float = 0.5) -> float:
    """The memory bandwidth of ``device`` in bytes per second: a copy of ``nbytes`` between
    two float32 tensors reads and writes each byte once, so it moves ``2 * nbytes``.

    On the CPU it runs on ``num_threads`` threads, like the losses it is compared with.
    """
    src = torch.empty(nbytes // 4, device=device).uniform_()
    dst = torch.empty_like(src)
    sync = "torch.cuda.synchronize()" if torch.device(device).type == "cuda" else "pass"
    timer = benchmark.Timer(stmt=f"dst.copy_(src); {sync}", globals={"src": src, "dst": dst, "torch": torch},
                            num_threads=num_threads)
    return 2 * nbytes / timer.blocked_autorange(min_run_time=min_run_time).median


def device_name(device: str) -> str:
    """What the device is: the GPU's name, or the CPU's model and core count."""
    if torch.device(device).type == "cuda":
        return torch.cuda.get_device_name(device)
    model = platform.processor() or platform.machine()
    try:
        with open("/proc/cpuinfo") as f:
            model = next(line.split(":", 1)[1].strip() for line in f if line.startswith("model name"))
    except (OSError, StopIteration):
        pass
    return f"{model}, {os.cpu_count()} cores"


def _stable_formula(z: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
    """lossbook's stable BCE-with-logits formula without its input checks, averaged."""
    return functional.bce_with_logits_terms(z, y).mean()


def binary_routes(compile: bool = True) -> dict[str, LossFn]:
    """The ways to compute a mean binary cross entropy from logits, by name."""
    routes = {
        "sigmoid + BCELoss": lambda z, y: F.binary_cross_entropy(torch.sigmoid(z), y),
        "BCEWithLogitsLoss": F.binary_cross_entropy_with_logits,
        "lossbook (checked)": functional.binary_cross_entropy_with_logits,
        "lossbook formula": _stable_formula,
    }
    if compile:
        routes["lossbook formula, torch.compile"] = torch.compile(_stable_formula, dynamic=True)
    return routes


def run(sizes=SIZES, devices=None, compile: bool = True, min_run_time: float = 0.2,
        progress: bool = True) -> pd.DataFrame:
    """Measure every binary route at every size on every device.

    Returns one row per (device, route, N): ``seconds`` (median forward + backward),
    ``ns_per_element``, ``peak_bytes`` (extra memory, see :func:`peak_memory`),
    ``achieved_GBps`` (:data:`BINARY_BYTES_PER_ELEMENT` * N / seconds),
    ``bandwidth_GBps`` (:func:`copy_bandwidth` of the device, measured in the same run)
    and ``fraction_of_bandwidth`` (their ratio), and ``vs_BCEWithLogitsLoss`` (time ratio).
    On the CPU everything runs on one thread.
    """
    from tqdm.auto import tqdm

    devices = devices or ["cpu"] + (["cuda"] if torch.cuda.is_available() else [])
    routes = binary_routes(compile)
    rows = []
    steps = tqdm(total=len(devices) * len(sizes) * len(routes), disable=not progress,
                 desc="lossbook.bench", unit="run")
    for device in devices:
        bandwidth = copy_bandwidth(device)
        gen = torch.Generator().manual_seed(0)
        for n in sizes:
            z = (torch.randn(n, generator=gen) * 3).to(device)
            y = (torch.rand(n, generator=gen) < 0.5).float().to(device)
            for name, fn in routes.items():
                steps.set_postfix_str(f"{device} N={n:.0e} {name}")
                seconds = time_loss(fn, z, y, min_run_time=min_run_time, num_threads=1)
                # A compiled graph's fused kernels bypass the dispatcher PeakMemory listens
                # to (and running it under the mode would fall back to eager): not measured.
                peak = None if name.endswith("torch.compile") else peak_memory(fn, z, y)
                rows.append({"device": device, "route": name, "N": n, "seconds": seconds,
                             "peak_bytes": peak, "bandwidth_GBps": bandwidth / 1e9})
                steps.update()
    steps.close()
    table = pd.DataFrame(rows)
    table["device_name"] = table["device"].map(device_name)
    table["torch"] = torch.__version__
    table["ns_per_element"] = table["seconds"] / table["N"] * 1e9
    table["achieved_GBps"] = BINARY_BYTES_PER_ELEMENT * table["N"] / table["seconds"] / 1e9
    table["fraction_of_bandwidth"] = table["achieved_GBps"] / table["bandwidth_GBps"]
    fused = table[table["route"] == "BCEWithLogitsLoss"].set_index(["device", "N"])["seconds"]
    table["vs_BCEWithLogitsLoss"] = table["seconds"] / fused.loc[
        list(zip(table["device"], table["N"]))].to_numpy()
    return table


def main(argv: list[str] | None = None) -> int:
    """Command line: run the benchmark, print the table, write the CSV and the plot."""
    import argparse
    import pathlib

    parser = argparse.ArgumentParser(
        prog="python -m lossbook.bench",
        description="Forward + backward time, peak memory and achieved memory bandwidth of "
                    "the ways to compute a binary cross entropy from logits.")
    parser.add_argument("--sizes", type=float, nargs="+", default=list(SIZES),
                        help="element counts N (default: 1e3 to 1e7)")
    parser.add_argument("--min-run-time", type=float, default=0.2,
                        help="seconds of measurement per route and size (default 0.2)")
    parser.add_argument("--no-compile", action="store_true", help="skip torch.compile")
    parser.add_argument("--csv", type=pathlib.Path, help="write the table to this CSV file")
    parser.add_argument("--plot", type=pathlib.Path, help="save the plot to this PNG file")
    args = parser.parse_args(argv)
    sizes = [int(n) for n in args.sizes]
    if any(n < 1 for n in sizes):
        parser.error(f"--sizes must be positive, got {args.sizes}")
    table = run(sizes, compile=not args.no_compile, min_run_time=args.min_run_time)
    columns = ["device", "route", "N", "ns_per_element", "vs_BCEWithLogitsLoss",
               "fraction_of_bandwidth", "peak_bytes"]
    print(table[columns].to_string(index=False, float_format=lambda v: f"{v:.3g}"))
    print(f"copy bandwidth: " + ", ".join(
        f"{d} {bw:.1f} GB/s" for d, bw in table.groupby("device")["bandwidth_GBps"].first().items()))
    if args.csv:
        args.csv.parent.mkdir(parents=True, exist_ok=True)
        table.to_csv(args.csv, index=False)
        print(f"table written to {args.csv}")
    if args.plot:
        from lossbook import plots

        fig = plots.benchmark(table)
        fig.savefig(args.plot, dpi=100, bbox_inches="tight")
        print(f"plot written to {args.plot}")
    return 0

