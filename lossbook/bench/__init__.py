r"""What a binary cross entropy costs, as a roofline: the bytes each route moves and the
work it computes, the machine's two limits, and how close each route gets.

``python -m lossbook.bench --out chapters/data`` runs the performance chapter's benchmark
and records it; the chapter reads it with :func:`load`. The pieces:

- :mod:`~lossbook.bench.routes`: the routes to a mean binary cross entropy from logits
  (``sigmoid + BCELoss``, ``BCEWithLogitsLoss``, the hand-written stable formula, and the
  three under ``torch.compile``);
- :mod:`~lossbook.bench.traffic`: the kernels a route runs, the bytes each reads and writes,
  and the call's peak memory, from ``torch.profiler`` (:func:`profile_route`);
- :mod:`~lossbook.bench.machine`: the machine's bandwidth (bytes per second, per N) and the
  time of ``exp`` + ``log1p`` per element, measured; the allocator setting; what the
  machine is;
- :mod:`~lossbook.bench.roofline`: a route's bound
  :math:`N \max(B / W, c)` for :math:`B` bytes per element at bandwidth :math:`W` and compute
  :math:`c` seconds per element, and which of the two binds;
- :mod:`~lossbook.bench.timing`: ``torch.utils.benchmark`` measurements, interleaved
  (:func:`interleaved`), and the one-call helpers :func:`time_loss` and
  :func:`relative_times`;
- :mod:`~lossbook.bench.record`: the whole benchmark (:func:`run`), its report, and the
  recorded run's files (:func:`save`, :func:`load`, :func:`main`).

Timings depend on the machine and its load: a chapter prints them only in cells tagged
``nbval-ignore-output``, and says only what holds whatever they are.
"""

from lossbook.bench.machine import (bandwidth, compute_seconds, keep_freed_memory,
                                    machine_info, page_faults, stream_rates,
                                    transcendental_seconds)
from lossbook.bench.roofline import add_bounds, bound_seconds
from lossbook.bench.routes import EAGER, compile_route, route_table
from lossbook.bench.record import (FILES, MODES, SIZES, Results, check, load, main, report,
                                   run, save)
from lossbook.bench.timing import interleaved, relative_times, route_timer, time_loss
from lossbook.bench.traffic import profile_route, trace_kernels

__all__ = [
    "EAGER", "FILES", "MODES", "SIZES", "Results", "add_bounds", "bandwidth", "bound_seconds",
    "check",
    "compile_route", "compute_seconds", "interleaved", "keep_freed_memory", "load",
    "machine_info", "main", "page_faults", "profile_route", "relative_times", "report",
    "route_table", "route_timer", "run", "save", "stream_rates", "time_loss",
    "trace_kernels", "transcendental_seconds",
]
