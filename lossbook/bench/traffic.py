r"""What a route runs: its kernels, the bytes each reads and writes, and its peak memory.

Everything here comes from profiled calls (:func:`profile_route`): ``torch.profiler.profile``
with ``record_shapes=True`` and ``profile_memory=True``, and, attached to it, torch's execution
trace (:class:`torch.profiler.ExecutionTraceObserver`), which records every ATen operation
with the tensors it received and returned: for each tensor its storage, its number of
elements and the bytes per element.

**Eager kernels.** An operation either moves data itself or only hands its tensors on:

- an *allocation* (``empty``, ``empty_like``, ``empty_strided``, ``resize_``, ...) or a
  *view* (an operation that writes none of its arguments and whose outputs all share
  storage with its inputs: ``squeeze``, ``as_strided``, ``detach``, a ``to`` that does not
  copy) moves nothing;
- any other ATen operation *reads* its tensor inputs and *writes* its tensor outputs, except
  what it hands to an operation it calls (a *child*), which counts there: ``mean`` is
  ``sum`` and ``div_``, ``binary_cross_entropy_with_logits`` is ``log_sigmoid``, ``fill_``,
  ``sub_``, ``mul_``, ``sub_``, ``mean``, and moves nothing itself;
- an in-place operation (its name ends in ``_``) reads and writes its first argument, except
  those that only overwrite it (``fill_``, ``zero_``, ``copy_``); an ``out=`` argument is
  written, not read; ``ones_like`` and its kind read only their input's shape;
- a buffer that a child allocates and another child first *reads* was written by the
  operation itself (``binary_cross_entropy`` computes its elementwise losses into a buffer
  that ``mean`` then reads).

An operation that moves any bytes by itself is a *kernel*; its bytes are
:math:`\sum_{\text{tensors read}} n_t s_t + \sum_{\text{tensors written}} n_t s_t` with
:math:`n_t` elements of :math:`s_t` bytes (float32: 4), the convention of the STREAM
benchmark (a copy of :math:`n` floats moves :math:`8n` bytes). Caches may turn a write into a
read and a write; that is the machine's business, measured by its bandwidth
(:mod:`lossbook.bench.machine`) under the same convention.

**Compiled kernels.** A ``torch.compile``\ d route runs Inductor's generated kernels, which
the execution trace does not see inside. Each compiled graph is counted at its boundary:
the forward graph reads the route's inputs and writes the loss and what it saves for the
backward pass (seen with :func:`torch.autograd.graph.saved_tensors_hooks`); the backward
graph reads what was saved and the incoming gradient, and writes the gradient of the input.
That is exact when a graph is one kernel (the profiler lists the kernels of each graph;
the column ``kernels_in_graph`` says how many) and a lower bound otherwise.

**Peak memory.** The profiler records every allocation and free with its size and time; the
peak is the largest running total above the memory in use when the call starts (the
gradient of the input, which stays, included). On a GPU the peak is
``torch.cuda.max_memory_allocated``.
"""

from __future__ import annotations

import contextlib
import json
import os
import tempfile
from collections.abc import Callable

import pandas as pd
import torch
from torch.profiler import ExecutionTraceObserver, ProfilerActivity, profile, record_function

LossFn = Callable[[torch.Tensor, torch.Tensor], torch.Tensor]

#: ATen operations that allocate or resize a tensor without writing its elements.
ALLOCATIONS = frozenset({
    "aten::empty", "aten::empty_like", "aten::empty_strided", "aten::new_empty",
    "aten::new_empty_strided", "aten::resize_", "aten::resize_as_"})
#: In-place operations that overwrite their first argument without reading it.
OVERWRITES = frozenset({
    "aten::fill_", "aten::zero_", "aten::copy_", "aten::uniform_", "aten::normal_",
    "aten::bernoulli_", "aten::random_", "aten::exponential_"})
#: Operations that read only the shape and dtype of their tensor input, not its elements.
LIKES = frozenset({
    "aten::empty_like", "aten::ones_like", "aten::zeros_like", "aten::full_like",
    "aten::rand_like", "aten::randn_like"})
#: Names of the profiled call's scopes: a warm-up call, then the one measured.
WARM_UP, MEASURED = "lossbook warm-up", "lossbook call"
#: Name of a compiled graph's call in the profiler (``torch.compile``, Inductor).
COMPILED_GRAPH = "## Call CompiledFxGraph"

KERNEL_COLUMNS = ["phase", "kernel", "elements", "read_bytes", "written_bytes", "self_us",
                  "kernels_in_graph"]


# --- the execution trace ----------------------------------------------------------------


def _tensors(values, types) -> list[tuple[int, int, int]]:
    """``(storage id, elements, bytes)`` of every tensor among an operation's recorded arguments
    (``[tensor id, storage id, offset, elements, bytes per element, device]``), in lists
    too; undefined tensors (no elements) are left out."""
    found = []
    for value, kind in zip(values, types):
        if not isinstance(kind, str):
            continue
        if kind.startswith("Tensor(") and isinstance(value, list) and len(value) == 6:
            _, storage, _, numel, itemsize, _ = value
            if numel and itemsize:
                found.append((storage, numel, numel * itemsize))
        elif kind.startswith("GenericList[") and isinstance(value, list):
            inner = kind[len("GenericList["):-1].split(",")
            if all(k.startswith("Tensor(") for k in inner) and len(inner) == len(value):
                found += _tensors(value, inner)
    return found


class _Op:
    """One ATen operation (or other recorded scope) of an execution trace."""

    def __init__(self, node: dict):
        attrs = {a["name"]: a["value"] for a in node.get("attrs", [])}
        self.id, self.name, self.parent = node["id"], node["name"], node.get("ctrl_deps")
        self.rf_id = attrs.get("rf_id", node["id"])
        self.children: list[_Op] = []
        self.parent_op: _Op | None = None
        self.phase = "forward"
        self.scope: str | None = None
        self.scope_id: int | None = None
        inputs = _tensors(node["inputs"]["values"], node["inputs"]["types"])
        outputs = _tensors(node["outputs"]["values"], node["outputs"]["types"])
        out_storages = {s for s, _, _ in outputs}
        self.size: dict[int, int] = {}  # bytes
        self.numel: dict[int, int] = {}
        for storage, numel, nbytes in inputs + outputs:
            self.size[storage] = max(nbytes, self.size.get(storage, 0))
            self.numel[storage] = max(numel, self.numel.get(storage, 0))
        in_place = self.name.endswith("_")
        self.reads = set()
        for position, (storage, _, _) in enumerate(inputs):
            if self.name in LIKES:
                continue
            if storage in out_storages:  # written: in place (read too) or an out= argument
                if in_place and position == 0 and self.name not in OVERWRITES:
                    self.reads.add(storage)
            else:
                self.reads.add(storage)
        self.writes = set(out_storages)
        in_storages = {s for s, _, _ in inputs}
        self.aten = self.name.startswith("aten::")
        mutates = "!)" in str(attrs.get("op_schema", ""))  # writes an argument (out=)
        self.moves_nothing = self.aten and (
            self.name in ALLOCATIONS
            or (not in_place and not mutates and bool(out_storages)
                and out_storages <= in_storages))

    @property
    def touches_data(self) -> bool:
        return self.aten and not self.moves_nothing

    def descendants(self):
        for child in self.children:
            yield child
            yield from child.descendants()

    def own_traffic(self) -> tuple[dict[int, int], dict[int, int]]:
        """``({storage: bytes read}, {storage: bytes written})`` by this operation itself,
        not by the operations it calls (see the module's docstring)."""
        if not self.touches_data:
            return {}, {}
        below = sorted(self.descendants(), key=lambda op: op.rf_id)
        working = [op for op in below if op.touches_data]
        touched = set().union(*(op.reads | op.writes for op in working))
        written = set().union(*(op.writes for op in working))
        reads = {s: self.size[s] for s in self.reads if s not in touched}
        writes = {s: self.size[s] for s in self.writes if s not in written}
        for op in self._own_allocations():  # buffers it allocated that a child reads first
            for storage in op.writes - self.reads:
                first = next((w for w in working if w.rf_id > op.rf_id
                              and storage in w.reads | w.writes), None)
                if first is not None and storage in first.reads:
                    self.size[storage] = max(op.size[storage], first.size[storage])
                    self.numel[storage] = max(op.numel[storage], first.numel[storage])
                    writes[storage] = self.size[storage]
        return reads, writes

    def _own_allocations(self):
        """The allocations among its descendants that no kernel below it makes (those are
        the kernel's own, and it writes them)."""
        for child in self.children:
            if child.touches_data:
                continue
            if child.name in ALLOCATIONS:
                yield child
            yield from child._own_allocations()

    def elements(self, storages) -> int:
        return max((self.numel.get(s, 0) for s in storages), default=0)


def _read_trace(path: str) -> list[_Op]:
    with open(path) as f:
        nodes = json.load(f)["nodes"]
    ops = {node["id"]: _Op(node) for node in nodes}
    for op in ops.values():
        parent = ops.get(op.parent)
        if parent is not None and parent is not op:
            parent.children.append(op)
            op.parent_op = parent
    for op in ops.values():  # the record_function scopes it ran in
        scope, seen, phase = op, set(), None
        while scope is not None and scope.id not in seen:
            if scope.name in ("forward", "backward") and phase is None:
                phase = op.phase = scope.name
            if scope.name in (WARM_UP, MEASURED):
                op.scope, op.scope_id = scope.name, scope.id
                break
            seen.add(scope.id)
            scope = ops.get(scope.parent)
    return sorted(ops.values(), key=lambda op: op.rf_id)


def eager_kernels(ops: list[_Op]) -> list[dict]:
    """The kernels among traced operations: one row per operation that moves data itself,
    in the order they ran (see the module's docstring for the rules)."""
    rows = []
    for op in ops:
        reads, writes = op.own_traffic()
        if reads or writes:
            # The profiler keeps one event for an operation nested in one of the same name.
            same, scope = [op.rf_id], op
            while scope.parent_op is not None and scope.parent_op.name == op.name:
                scope = scope.parent_op
                same.append(scope.rf_id)
            rows.append({"rf_id": op.rf_id, "rf_ids": same, "phase": op.phase, "kernel": op.name,
                         "elements": op.elements({**reads, **writes}),
                         "read_bytes": sum(reads.values()),
                         "written_bytes": sum(writes.values())})
    return rows


def trace_kernels(path) -> pd.DataFrame:
    """The kernels recorded in an execution trace file (the JSON that
    :class:`torch.profiler.ExecutionTraceObserver` writes), by the rules of this module's
    docstring: one row per kernel, in the order they ran, with ``phase`` (the enclosing
    ``record_function("forward")`` or ``("backward")``, ``"forward"`` outside both),
    ``kernel``, ``elements``, ``read_bytes`` and ``written_bytes``."""
    rows = eager_kernels(_read_trace(str(path)))
    return pd.DataFrame(rows, columns=["rf_id", "phase", "kernel", "elements", "read_bytes",
                                       "written_bytes"]).drop(columns="rf_id")


# --- one profiled call --------------------------------------------------------------------


def _memory_peak(prof) -> int:
    """Largest running total of the allocations minus frees that ``prof`` recorded inside
    the first :data:`MEASURED` scope, in bytes."""
    events = list(prof.profiler.kineto_results.events())
    scope = min((e for e in events if e.name() == MEASURED), key=lambda e: e.start_ns())
    total = peak = 0
    for event in sorted((e for e in events if e.name() == "[memory]"),
                        key=lambda e: e.start_ns()):
        if scope.start_ns() <= event.start_ns() <= scope.end_ns():
            total += event.nbytes()
            peak = max(peak, total)
    return peak


@contextlib.contextmanager
def _native_stderr_silenced():
    """Send what torch's C++ code writes to stderr (the execution trace's start and stop
    notices, the profiler's allocator notes) to the null device while inside."""
    try:
        saved = os.dup(2)
    except OSError:  # no usable file descriptor 2
        yield
        return
    try:
        with open(os.devnull, "w") as null:
            os.dup2(null.fileno(), 2)
            yield
    finally:
        os.dup2(saved, 2)
        os.close(saved)


def profile_route(loss_fn: LossFn, input: torch.Tensor, target: torch.Tensor, *,
                  backward: bool = True, compiled: bool = False, repeat: int = 3
                  ) -> tuple[pd.DataFrame, int]:
    """Profile ``repeat`` calls of ``loss_fn(input, target)`` (and ``.backward()`` when
    ``backward``), after a warm-up call outside the profiler (compilation, one-time
    allocations) and one inside it (the profiler's own start-up).

    Args:
        loss_fn: returns a one-element loss.
        input: floating-point logits, any shape; the gradient is taken with respect to a
            copy of it.
        target: the second argument of ``loss_fn``.
        backward: profile the backward pass too; otherwise the call runs under
            ``torch.no_grad()``.
        compiled: ``loss_fn`` is ``torch.compile``\\ d: count its graphs at their boundary.
        repeat: profiled calls, >= 1; the kernels and bytes come from the first, each
            kernel's time is its shortest over the calls.

    Returns:
        ``(kernels, peak_bytes)``: one row per kernel, in the order they ran, with columns
        ``phase`` (``"forward"``/``"backward"``), ``kernel`` (the ATen operation, or the
        compiled kernels of a graph), ``elements`` (the most elements it touched),
        ``read_bytes``, ``written_bytes``, ``self_us`` (its own time, microseconds, the
        profiler's small cost per operation included) and ``kernels_in_graph`` (compiled
        graphs only); and the peak memory of the first profiled call above what was in use
        when it started.
    """
    if repeat < 1:
        raise ValueError(f"repeat must be >= 1, got {repeat!r}")
    x = input.detach().clone().requires_grad_(backward)
    saved: list[tuple[str, int]] = []  # sizes only: a reference would change what autograd does

    def pack(t: torch.Tensor):
        fresh = t.data_ptr() not in (x.data_ptr(), target.data_ptr())
        saved.append(("fresh" if fresh else "input", t.numel() * t.element_size()))
        return t

    def call(scope: str):
        x.grad = None
        saved.clear()
        with record_function(scope), torch.autograd.graph.saved_tensors_hooks(pack, lambda t: t):
            with torch.enable_grad() if backward else torch.no_grad():
                with record_function("forward"):
                    loss = loss_fn(x, target)
                if backward:
                    with record_function("backward"):
                        loss.backward()
        return loss

    call(WARM_UP)
    cuda = x.device.type == "cuda"
    activities = [ProfilerActivity.CPU] + ([ProfilerActivity.CUDA] if cuda else [])
    handle, path = tempfile.mkstemp(suffix=".json", prefix="lossbook-trace-")
    os.close(handle)
    trace = ExecutionTraceObserver().register_callback(path)
    try:
        with _native_stderr_silenced(), profile(
                activities=activities, record_shapes=True, profile_memory=True,
                execution_trace_observer=trace) as prof:
            call(WARM_UP)
            if cuda:
                torch.cuda.synchronize()
                torch.cuda.reset_peak_memory_stats(x.device)
                base = torch.cuda.memory_allocated(x.device)
            loss = call(MEASURED)
            first_saved = list(saved)
            if cuda:
                torch.cuda.synchronize()
                peak = torch.cuda.max_memory_allocated(x.device) - base
            for _ in range(repeat - 1):
                call(MEASURED)
        ops = _read_trace(path)
    finally:
        trace.unregister_callback()
        if os.path.exists(path):
            os.remove(path)
    if not cuda:
        peak = _memory_peak(prof)
    events = sorted(prof.events(), key=lambda e: (e.time_range.start, e.id))
    scope_events = [e for e in events if e.name == MEASURED]
    scope_ops = [op for op in ops if op.name == MEASURED]
    tables = []
    for scope_event, scope_op in zip(scope_events, scope_ops):
        # The trace and the profiler number the same operations from different starts.
        offset = scope_event.id - scope_op.rf_id
        inside = [e for e in events if scope_event.time_range.start <= e.time_range.start
                  <= scope_event.time_range.end]
        by_id = {e.id: e for e in inside}
        rows = []
        for row in eager_kernels([op for op in ops if op.scope_id == scope_op.id]):
            found = [by_id.get(rf_id + offset) for rf_id in row.pop("rf_ids")]
            event = next((e for e in found if e is not None and e.name == row["kernel"]),
                         None)
            row["self_us"] = event.self_cpu_time_total if event is not None else float("nan")
            rows.append(row)
        if compiled:
            rows += _compiled_graphs(inside, offset, x, target, loss, first_saved)
        rows.sort(key=lambda r: r["rf_id"])
        tables.append(pd.DataFrame(rows, columns=KERNEL_COLUMNS))
    table = tables[0]
    if all(len(t) == len(table) and (t["kernel"] == table["kernel"]).all() for t in tables):
        table["self_us"] = pd.concat([t["self_us"] for t in tables], axis=1).min(axis=1)
    table["kernels_in_graph"] = table["kernels_in_graph"].astype("Int64")
    return table, int(peak)


def _compiled_graphs(events, offset, x, target, loss, saved) -> list[dict]:
    """One row per compiled graph call, counted at its boundary (see the module's
    docstring)."""
    nbytes = lambda t: t.numel() * t.element_size()  # noqa: E731
    fresh = sum(size for origin, size in saved if origin == "fresh")
    all_saved = sum(size for _, size in saved)
    backward_start = next((e.time_range.start for e in events if e.name == "backward"),
                          float("inf"))
    rows = []
    for event in events:
        if not event.name.startswith(COMPILED_GRAPH):
            continue
        phase = "backward" if event.time_range.start >= backward_start else "forward"
        inner = [e.name.split("_", 2)[-1] if e.name.startswith("graph_") else e.name
                 for e in events if e.cpu_parent is event]
        kernels = [name for name in inner if "cpp_fused" in name or "triton" in name] or inner
        if phase == "forward":
            read = nbytes(x) + nbytes(target)
            written = nbytes(loss) + fresh
        else:
            read = all_saved + nbytes(loss)
            written = nbytes(x)
        rows.append({"rf_id": event.id - offset, "phase": phase,
                     "kernel": " + ".join(kernels) if kernels else "compiled graph",
                     "elements": x.numel(), "read_bytes": read, "written_bytes": written,
                     "self_us": event.cpu_time_total, "kernels_in_graph": len(kernels)})
    return rows
