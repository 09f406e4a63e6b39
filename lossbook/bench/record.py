"""The performance chapter's benchmark: every route, forward and forward + backward, at every
N, on one thread and on all, against the machine's limits measured in the same run.

``python -m lossbook.bench --out chapters/data`` runs it (see :func:`main`), prints per
route and N the kernels, the bytes per element, the bound, the measured median and IQR and
the fraction of the bound, and writes the tables (:data:`FILES`) that the chapter reads
with :func:`load`.
"""

from __future__ import annotations

import dataclasses
import pathlib
import time
from collections.abc import Sequence

import pandas as pd
import torch
import torch.nn.functional as F
from torch.utils import benchmark

from lossbook.bench import machine, roofline, timing, traffic
from lossbook.bench.routes import COMPILED, route_table, warm_up
from lossbook.data import randn

#: Element counts N of the benchmark: from a call dominated by its fixed cost to tensors
#: past the caches.
SIZES = (10**4, 10**5, 10**6, 10**7)
#: The two kinds of call: ``{mode: backward}``.
MODES = {"forward": False, "forward + backward": True}
#: Largest N at which the kernels are profiled (the largest size up to it).
PROFILE_N = 10**6
#: The files a recorded run is saved in, by table.
FILES = {
    "timings": "benchmark.csv",
    "routes": "benchmark-routes.csv",
    "kernels": "benchmark-kernels.csv",
    "limits": "benchmark-limits.csv",
    "allocator": "benchmark-allocator.csv",
    "machine": "benchmark-machine.csv",
}

_freed_memory_kept = False
ALLOCATOR_COLUMNS = ["device", "threads", "route", "mode", "N", "allocator", "median_ns",
                     "iqr_ns", "page_faults_per_call"]


@dataclasses.dataclass
class Results:
    """A run's tables (all per element where a column says ``_per_element`` or ``_ns``):

    - ``timings``: per device, threads, mode, route and N: ``median_ns``, ``iqr_ns``,
      ``page_faults_per_call``, ``kernels``, ``bytes_per_element``, ``bandwidth_GBps``,
      ``compute_ns``, ``memory_ns``, ``bound_ns``, ``limit``, ``fraction_of_bound``;
    - ``routes``: per device, route and mode: kernels over the N elements and one-element
      kernels, bytes read and written per element, peak memory in units of the input's
      size, the loss and whether it agrees with a float64 reference;
    - ``kernels``: every kernel of every route and mode, in the order they ran;
    - ``limits``: per device, threads and N, the three streaming rates, the bandwidth,
      ``exp_ns`` and ``log1p_ns`` alone and ``compute_ns``, both in one pass (softplus);
    - ``allocator``: ``BCEWithLogitsLoss`` forward + backward at the largest N with glibc's
      default ``malloc`` and with freed memory kept (empty off glibc);
    - ``machine``: what the run ran on and with which settings (a dict).
    """

    timings: pd.DataFrame
    routes: pd.DataFrame
    kernels: pd.DataFrame
    limits: pd.DataFrame
    allocator: pd.DataFrame
    machine: dict
    compare: str = ""


def save(results: Results, directory) -> list[pathlib.Path]:
    """Write ``results`` into ``directory`` as the CSV files :data:`FILES`; returns their
    paths."""
    directory = pathlib.Path(directory)
    directory.mkdir(parents=True, exist_ok=True)
    paths = []
    for table, name in FILES.items():
        frame = (pd.DataFrame(list(results.machine.items()), columns=["key", "value"])
                 if table == "machine" else getattr(results, table))
        frame.to_csv(directory / name, index=False)
        paths.append(directory / name)
    return paths


def load(directory) -> Results:
    """The recorded run saved by :func:`save` in ``directory``."""
    directory = pathlib.Path(directory)
    tables = {table: pd.read_csv(directory / name) for table, name in FILES.items()}
    info = dict(zip(tables["machine"]["key"], tables["machine"]["value"].astype(str)))
    return Results(tables["timings"], tables["routes"], tables["kernels"], tables["limits"],
                   tables["allocator"], info)


def _data(n: int, device: str) -> tuple[torch.Tensor, torch.Tensor]:
    """Logits ~ N(0, 3²) and labels ~ Bernoulli(1/2), seeded, the same for every route."""
    z = randn(n, generator=torch.Generator().manual_seed(0)) * 3
    y = (torch.rand(n, generator=torch.Generator().manual_seed(1)) < 0.5).float()
    return z.to(device), y.to(device)


class _Threads:
    """Context: torch on ``n`` threads inside, the previous count restored after."""

    def __init__(self, n: int):
        self.n = n

    def __enter__(self):
        self.before = torch.get_num_threads()
        torch.set_num_threads(self.n)

    def __exit__(self, *exc):
        torch.set_num_threads(self.before)


def _limits(device: str, threads: int, sizes, step) -> list[dict]:
    compute = machine.transcendental_seconds(threads=threads, device=device)
    step("compute")
    rates = {}
    rows = []
    for n in list(sizes) + [machine.MEMORY_STREAM]:
        stream = max(n, machine.MIN_STREAM)
        if stream not in rates:
            rates[stream] = machine.stream_rates(stream, threads=threads, device=device)
            step(f"bandwidth {stream:.0e}")
        r = rates[stream]
        rows.append({"device": device, "threads": threads, "N": n, "stream_N": stream,
                     **{f"{k}_GBps": v / 1e9 for k, v in r.items()},
                     "bandwidth_GBps": max(r.values()) / 1e9,
                     "exp_ns": compute["exp"] * 1e9, "log1p_ns": compute["log1p"] * 1e9,
                     "compute_ns": compute["softplus"] * 1e9})
    return rows


def _recheck_compute(rows: list[dict], device: str, threads: int, step) -> None:
    """Measure the compute limit again (after the routes) and keep the faster of the two
    measurements in ``rows``, in place: a busy spell during the first one would otherwise
    raise every bound of the thread count."""
    again = machine.transcendental_seconds(threads=threads, device=device)
    for row in rows:
        if row["device"] == device and row["threads"] == threads:
            row["exp_ns"] = min(row["exp_ns"], again["exp"] * 1e9)
            row["log1p_ns"] = min(row["log1p_ns"], again["log1p"] * 1e9)
            row["compute_ns"] = min(row["compute_ns"], again["softplus"] * 1e9)
    step("compute again")


def _profile(device, table, n, step) -> tuple[list[dict], list[dict]]:
    z, y = _data(n, device)
    reference = F.binary_cross_entropy_with_logits(z.double(), y.double())
    route_rows, kernel_rows = [], []
    for name, fn in table.items():
        with torch.no_grad():
            value = fn(z, y)
        try:
            torch.testing.assert_close(value.double(), reference, atol=1e-5, rtol=1.3e-6)
            agrees = True
        except AssertionError:
            agrees = False
        for mode, backward in MODES.items():
            with _Threads(1):
                kernels, peak = traffic.profile_route(fn, z, y, backward=backward,
                                                      compiled=name.endswith(COMPILED))
            full = kernels["elements"] >= n
            read, written = kernels["read_bytes"].sum() / n, kernels["written_bytes"].sum() / n
            route_rows.append({
                "device": device, "route": name, "mode": mode,
                "compiled": name.endswith(COMPILED), "profiled_N": n,
                "kernels": int(full.sum()), "small_kernels": int((~full).sum()),
                "kernel_names": " | ".join(kernels.loc[full, "kernel"]),
                "read_bytes_per_element": read, "written_bytes_per_element": written,
                "bytes_per_element": read + written,
                "peak_memory_per_input": peak / (z.numel() * z.element_size()),
                "loss": value.item(), "agrees_with_float64": agrees})
            for row in kernels.to_dict("records"):
                kernel_rows.append({
                    "device": device, "route": name, "mode": mode, "profiled_N": n,
                    "phase": row["phase"], "kernel": row["kernel"],
                    "elements": row["elements"],
                    "read_bytes_per_element": row["read_bytes"] / n,
                    "written_bytes_per_element": row["written_bytes"] / n,
                    "self_ns_per_element": row["self_us"] * 1e3 / n,
                    "kernels_in_graph": row["kernels_in_graph"]})
            step(f"profile {name}")
    return route_rows, kernel_rows


def _allocator(sizes, rounds, min_run_time, step) -> list[dict]:
    """``BCEWithLogitsLoss`` forward + backward at the largest N, one thread, with the
    default ``malloc`` and then with freed memory kept; the second switches the process."""
    global _freed_memory_kept
    n = max(sizes)
    z, y = _data(n, "cpu")
    rows = []
    settings = (["default"] if not _freed_memory_kept else []) + ["freed memory kept"]
    for setting in settings:
        if setting == "freed memory kept" and not _freed_memory_kept:
            if not machine.keep_freed_memory():
                step("allocator")
                return []
            _freed_memory_kept = True
        timer = timing.route_timer(F.binary_cross_entropy_with_logits, z, y, backward=True,
                                   threads=1, label="allocator", sub_label=setting)
        (m, faults), = timing.interleaved({setting: timer}, rounds=rounds,
                                          min_run_time=min_run_time).values()
        rows.append({"device": "cpu", "threads": 1, "route": "BCEWithLogitsLoss",
                     "mode": "forward + backward", "N": n, "allocator": setting,
                     "median_ns": m.median / n * 1e9, "iqr_ns": m.iqr / n * 1e9,
                     "page_faults_per_call": faults})
        step(f"allocator: {setting}")
    return rows


def run(sizes: Sequence[int] = SIZES, *, threads: Sequence[int] | None = None,
        devices: Sequence[str] | None = None, compile: bool = True, rounds: int = 5,
        min_run_time: float = 0.03, allocator: bool = True, progress: bool = True
        ) -> Results:
    """Measure every route (:func:`lossbook.bench.routes.route_table`) against the machine.

    On each device: the limits (:mod:`~lossbook.bench.machine`) at each N and past the
    caches (the compute limit measured again after the routes, the faster kept); each route's kernels, bytes and peak memory, profiled once (at the largest N
    up to :data:`PROFILE_N`, :mod:`~lossbook.bench.traffic`); then every route, mode and N
    timed ``rounds`` times, interleaved (:func:`~lossbook.bench.timing.interleaved`), on each
    thread count; the roofline columns (:mod:`~lossbook.bench.roofline`) from the three.
    On a GPU the thread count is 1 (the CPU thread that drives it).

    With ``allocator`` (and glibc), it first times ``BCEWithLogitsLoss`` at the largest N
    with the default ``malloc``, then keeps freed memory for the rest of the process
    (:func:`~lossbook.bench.machine.keep_freed_memory`), so that the measurements pay few of
    the operating system's page faults (``page_faults_per_call`` counts those that remain).

    Args:
        sizes: element counts N, each >= 1.
        threads: CPU thread counts (default: 1 and every core this process may use).
        devices: ``"cpu"``, ``"cuda"`` (default: the CPU, and the GPU when there is one).
        compile: include the ``torch.compile``\\ d routes (dropped, with the reason in
            ``machine["compile"]``, where compilation fails).
        rounds: interleaved measurements of each route, mode, N and thread count.
        min_run_time: seconds of each measurement.
        allocator: run the allocator comparison and keep freed memory.
        progress: show a progress bar (tqdm).

    Raises:
        ValueError: an N or a thread count below 1, no sizes, or rounds below 1.
    """
    from tqdm.auto import tqdm

    sizes = sorted({int(n) for n in sizes})
    if not sizes or sizes[0] < 1:
        raise ValueError(f"sizes must be >= 1, got {sizes}")
    threads = sorted({1, machine.cores()} if threads is None else {int(t) for t in threads})
    if threads[0] < 1:
        raise ValueError(f"threads must be >= 1, got {threads}")
    if rounds < 1:
        raise ValueError(f"rounds must be >= 1, got {rounds!r}")
    devices = list(devices or ["cpu"] + (["cuda"] if torch.cuda.is_available() else []))
    profile_n = max([n for n in sizes if n <= PROFILE_N] or [sizes[0]])
    n_routes = 6 if compile else 3
    groups = sum(len(threads) if d == "cpu" else 1 for d in devices)
    streams = len({max(n, machine.MIN_STREAM) for n in sizes} | {machine.MEMORY_STREAM})
    total = (groups * (streams + 3 + rounds * n_routes * len(MODES) * len(sizes))
             + len(devices) * n_routes * len(MODES) + (2 if allocator else 0))
    bar = tqdm(total=total, desc="lossbook.bench", unit="step", disable=not progress)

    def step(what: str) -> None:
        bar.set_postfix_str(what[:40])
        bar.update()

    started = time.perf_counter()
    info = machine.machine_info()
    info.update({"sizes": " ".join(str(n) for n in sizes),
                 "threads": " ".join(str(t) for t in threads), "rounds": str(rounds),
                 "min_run_time_s": str(min_run_time), "devices": " ".join(devices)})
    allocator_rows = _allocator(sizes, rounds, min_run_time, step) if allocator else []
    info["allocator"] = ("glibc malloc, freed memory kept" if _freed_memory_kept
                         else "default")
    limit_rows, route_rows, kernel_rows, timing_rows, measurements = [], [], [], [], []
    failed: dict[str, str] = {}
    for device in devices:
        for t in (threads if device == "cpu" else [1]):
            limit_rows += _limits(device, t, sizes, step)
            if compile:
                torch._dynamo.reset()  # compiled code is specialised to the thread count
            with _Threads(t):
                table = route_table(compile=compile)
                failed.update(warm_up(table, *_data(1000, device)))
            step(f"{device}, {t} threads: compiled")
            if t == (threads[0] if device == "cpu" else 1):
                r, k = _profile(device, table, profile_n, step)
                route_rows += r
                kernel_rows += k
            for n in sizes:
                z, y = _data(n, device)
                for mode, backward in MODES.items():
                    timers = {name: timing.route_timer(
                        fn, z, y, backward=backward, threads=t, label=f"{device}: {mode}",
                        sub_label=name, description=f"N={n:.0e}") for name, fn in table.items()}
                    results = timing.interleaved(
                        timers, rounds=rounds, min_run_time=min_run_time,
                        on_step=lambda name: step(f"{device} {t}t N={n:.0e} {name}"))
                    for name, (m, faults) in results.items():
                        measurements.append(m)
                        timing_rows.append({
                            "device": device, "device_name": machine.device_name(device),
                            "threads": t, "mode": mode, "route": name, "N": n,
                            "median_ns": m.median / n * 1e9, "iqr_ns": m.iqr / n * 1e9,
                            "median_us_per_call": m.median * 1e6,
                            "blocks": len(m.times), "page_faults_per_call": faults})
            _recheck_compute(limit_rows, device, t, step)
    bar.close()
    info["compile"] = ("not requested" if not compile else "ok" if not failed
                       else "failed: " + "; ".join(sorted(set(failed.values()))))
    info["duration_s"] = f"{time.perf_counter() - started:.0f}"
    routes_table = pd.DataFrame(route_rows)
    limits = pd.DataFrame(limit_rows)
    timings = pd.DataFrame(timing_rows)
    timings = timings.merge(
        routes_table[["device", "route", "mode", "kernels", "bytes_per_element"]],
        on=["device", "route", "mode"], how="left")
    timings = timings.merge(limits[["device", "threads", "N", "bandwidth_GBps", "compute_ns"]],
                            on=["device", "threads", "N"], how="left")
    timings = roofline.add_bounds(timings)
    compare = benchmark.Compare(measurements)
    compare.trim_significant_figures()
    compare.highlight_warnings()
    return Results(timings, routes_table, pd.DataFrame(kernel_rows), limits,
                   pd.DataFrame(allocator_rows, columns=ALLOCATOR_COLUMNS), info, str(compare))


def check(results: Results) -> list[str]:
    """What in a run says that the machine was busy while it was measured: more threads
    computing ``exp`` + ``log1p`` slower than one, or a route measured well above its bound
    (its limit measured slower than the machine can do). An empty list when nothing does."""
    found = []
    limits = results.limits
    for device, part in limits.groupby("device"):
        per_threads = part.groupby("threads")["compute_ns"].min()
        one = per_threads.get(1)
        for threads, ns in per_threads.items():
            if one is not None and threads > 1 and ns > one:
                found.append(f"{device}: exp and log1p on {threads} threads took longer than on "
                             f"one ({ns:.3g} against {one:.3g} ns per element): another "
                             f"program was using the cores; the {threads}-thread rows are not "
                             f"the machine's")
    high = results.timings[results.timings["fraction_of_bound"] > 1.2]
    for (device, threads), part in high.groupby(["device", "threads"]):
        found.append(f"{device}, {threads} thread(s): {len(part)} measurements above 1.2 times "
                     f"their bound: a limit was measured slower than the machine can do")
    return found


def report(results: Results) -> str:
    """The run as text: the machine, its limits, what each route runs, and per route and N
    the bytes per element, the bound, the measured median and IQR, and the fraction of the
    bound."""
    fmt = lambda v: f"{v:.3g}"  # noqa: E731
    m = results.machine
    lines = [f"machine: {m.get('cpu')}, {m.get('cores')} cores; GPU: {m.get('gpu')}; "
             f"torch {m.get('torch')}; allocator: {m.get('allocator')}; "
             f"compile: {m.get('compile')}", ""]
    lim = results.limits
    lines += ["Limits: bandwidth (GB/s, the best of copy, add_, sum on N elements) and "
              "compute (ns per element: exp, log1p, and both in one pass, softplus)",
              lim[["device", "threads", "N", "copy_GBps", "add__GBps", "sum_GBps",
                   "bandwidth_GBps", "exp_ns", "log1p_ns", "compute_ns"]].to_string(
                  index=False, float_format=fmt), ""]
    r = results.routes
    lines += [f"What each route runs (profiled at N = {r['profiled_N'].iloc[0]:.0e}): kernels "
              "over the N elements, bytes per element, peak memory / input",
              r[["device", "route", "mode", "kernels", "small_kernels", "bytes_per_element",
                 "peak_memory_per_input", "agrees_with_float64"]].to_string(
                  index=False, float_format=fmt), ""]
    for _, row in r.iterrows():
        lines.append(f"  {row['route']}, {row['mode']}: {row['kernel_names']}")
    t = results.timings
    for (device, threads, mode), part in t.groupby(["device", "threads", "mode"], sort=False):
        lines += ["", f"{device}, {threads} thread(s), {mode}: ns per element",
                  part[["route", "N", "kernels", "bytes_per_element", "limit", "bound_ns",
                        "median_ns", "iqr_ns", "fraction_of_bound",
                        "page_faults_per_call"]].to_string(
                      index=False, float_format=fmt)]
    if len(results.allocator):
        lines += ["", "Allocator: BCEWithLogitsLoss forward + backward, one thread",
                  results.allocator[["N", "allocator", "median_ns", "iqr_ns",
                                     "page_faults_per_call"]].to_string(
                      index=False, float_format=fmt)]
    if results.compare:
        lines += ["", "torch.utils.benchmark.Compare (microseconds per call):",
                  results.compare]
    warnings = check(results)
    if warnings:
        lines += ["", "Warnings:"] + [f"  {w}" for w in warnings]
    lines.append(f"run time: {m.get('duration_s')} s")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    """Command line: run the benchmark, print :func:`report`, and with ``--out DIR`` write
    the tables there (:func:`save`)."""
    import argparse

    parser = argparse.ArgumentParser(
        prog="python -m lossbook.bench",
        description="Every route to a binary cross entropy from logits, forward and forward "
                    "+ backward, against the machine's bandwidth and compute limits "
                    "measured in the same run.")
    parser.add_argument("--sizes", type=float, nargs="+", default=list(SIZES),
                        help="element counts N (default: 1e4 1e5 1e6 1e7)")
    parser.add_argument("--threads", type=int, nargs="+",
                        help="CPU thread counts (default: 1 and all cores)")
    parser.add_argument("--device", nargs="+", dest="devices",
                        help="cpu, cuda (default: cpu, and cuda when present)")
    parser.add_argument("--rounds", type=int, default=5,
                        help="interleaved measurements of each route (default 5)")
    parser.add_argument("--min-run-time", type=float, default=0.03,
                        help="seconds of each measurement (default 0.03)")
    parser.add_argument("--no-compile", action="store_true", help="skip torch.compile")
    parser.add_argument("--no-allocator", action="store_true",
                        help="leave malloc as it is and skip the allocator comparison")
    parser.add_argument("--out", type=pathlib.Path,
                        help="write the tables into this directory (e.g. chapters/data)")
    args = parser.parse_args(argv)
    sizes = [int(n) for n in args.sizes]
    if any(n < 1 for n in sizes):
        parser.error(f"--sizes must be >= 1, got {args.sizes}")
    if args.threads and any(t < 1 for t in args.threads):
        parser.error(f"--threads must be >= 1, got {args.threads}")
    if args.rounds < 1 or not args.min_run_time > 0:
        parser.error("--rounds must be >= 1 and --min-run-time > 0")
    results = run(sizes, threads=args.threads, devices=args.devices,
                  compile=not args.no_compile, rounds=args.rounds,
                  min_run_time=args.min_run_time, allocator=not args.no_allocator)
    print(report(results))
    if args.out:
        for path in save(results, args.out):
            print(f"written: {path}")
    return 0
