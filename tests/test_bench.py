"""lossbook.bench: the kernels and bytes counted from an execution trace (synthetic traces
with known answers, then real routes), peak memory, the compiled graphs' boundary, the
roofline arithmetic, the measurements' structure, and ``python -m lossbook.bench``.

Nothing here asserts a speed: a timing is only checked to be a positive number in the right
place. Speed is measured and reported by the benchmark, never asserted by a test."""

import json
import math
import runpy
import subprocess
import sys
import types

import pandas as pd
import pytest
import torch
import torch.nn.functional as F
from torch.utils import benchmark

import lossbook as lb
from lossbook import bench
from lossbook.bench import machine, record, roofline, routes, timing, traffic

N = 4096
Z = lb.data.randn(N, generator=torch.Generator().manual_seed(0)) * 3
Y = (torch.rand(N, generator=torch.Generator().manual_seed(1)) < 0.5).float()


# --- synthetic execution traces -------------------------------------------------------------


def _t(storage, numel=1000, itemsize=4):
    """A recorded tensor argument: [tensor id, storage id, offset, elements, bytes, device]."""
    return [storage * 10, storage, 0, numel, itemsize, "cpu"]


def _node(node_id, name, parent, inputs=(), outputs=(), schema=""):
    attrs = [{"name": "rf_id", "type": "uint64", "value": node_id}]
    if schema:
        attrs.append({"name": "op_schema", "type": "string", "value": schema})
    return {"id": node_id, "name": name, "ctrl_deps": parent, "attrs": attrs,
            "inputs": {"values": list(inputs), "types": ["Tensor(float)"] * len(inputs)},
            "outputs": {"values": list(outputs), "types": ["Tensor(float)"] * len(outputs)}}


def _kernels(tmp_path, nodes):
    path = tmp_path / "trace.json"
    path.write_text(json.dumps({"nodes": [_node(1, "[thread]", 1)] + nodes}))
    table = bench.trace_kernels(path)
    return [(k, r, w) for k, r, w in zip(table["kernel"], table["read_bytes"],
                                          table["written_bytes"])]


def test_a_functional_kernel_reads_its_inputs_and_writes_its_output(tmp_path):
    assert _kernels(tmp_path, [_node(2, "aten::mul", 1, [_t(1), _t(2)], [_t(3)])]) == [
        ("aten::mul", 8000, 4000)]


def test_an_operation_that_hands_its_tensors_on_is_not_a_kernel(tmp_path):
    """mean = sum + div_: the work is counted once, in the children."""
    nodes = [_node(2, "aten::mean", 1, [_t(1)], [_t(2, 1)]),
             _node(3, "aten::sum", 2, [_t(1), _t(2, 1)], [_t(2, 1)],
                   schema="aten::sum.IntList_out(Tensor self, *, Tensor(a!) out) -> Tensor(a!)"),
             _node(4, "aten::div_", 2, [_t(2, 1)], [_t(2, 1)])]
    assert _kernels(tmp_path, nodes) == [("aten::sum", 4000, 4), ("aten::div_", 4, 4)]


def test_views_and_allocations_move_nothing(tmp_path):
    nodes = [_node(2, "aten::squeeze", 1, [_t(1)], [_t(1)]),
             _node(3, "aten::empty_like", 1, [_t(1)], [_t(2)]),
             _node(4, "aten::detach", 1, [_t(2)], [_t(2)])]
    assert _kernels(tmp_path, nodes) == []


def test_in_place_reads_and_writes_but_fill_only_writes(tmp_path):
    nodes = [_node(2, "aten::sub_", 1, [_t(1), _t(2)], [_t(1)]),
             _node(3, "aten::fill_", 1, [_t(3)], [_t(3)]),
             _node(4, "aten::copy_", 1, [_t(4), _t(1)], [_t(4)])]
    assert _kernels(tmp_path, nodes) == [("aten::sub_", 8000, 4000), ("aten::fill_", 0, 4000),
                                         ("aten::copy_", 4000, 4000)]


def test_an_out_argument_is_written_not_read(tmp_path):
    nodes = [_node(2, "aten::exp", 1, [_t(1), _t(2)], [_t(2)],
                   schema="aten::exp.out(Tensor self, *, Tensor(a!) out) -> Tensor(a!)")]
    assert _kernels(tmp_path, nodes) == [("aten::exp", 4000, 4000)]


def test_a_buffer_written_by_a_child_is_not_charged_to_the_parent(tmp_path):
    """binary_cross_entropy_with_logits: log_sigmoid allocates and writes its output, which
    a later child reads; the wrapper itself moves nothing."""
    nodes = [_node(2, "aten::binary_cross_entropy_with_logits", 1, [_t(1), _t(2)], [_t(9, 1)]),
             _node(3, "aten::log_sigmoid_forward", 2, [_t(1)], [_t(3), _t(4)]),
             _node(4, "aten::empty_like", 3, [_t(1)], [_t(3)]),
             _node(5, "aten::empty_like", 3, [_t(1)], [_t(4)]),
             _node(6, "aten::sub_", 2, [_t(2), _t(3)], [_t(2)]),
             _node(7, "aten::sum", 2, [_t(2)], [_t(9, 1)])]
    assert _kernels(tmp_path, nodes) == [("aten::log_sigmoid_forward", 4000, 8000),
                                         ("aten::sub_", 8000, 4000), ("aten::sum", 4000, 4)]


def test_a_buffer_a_child_allocates_and_another_reads_was_written_by_the_parent(tmp_path):
    """binary_cross_entropy: its own loop writes the elementwise losses into a buffer from
    empty_like, which mean then reads; ones_like + fill_ is the opposite case."""
    nodes = [_node(2, "aten::binary_cross_entropy", 1, [_t(1), _t(2)], [_t(3, 1)]),
             _node(3, "aten::empty_like", 2, [_t(1)], [_t(4)]),
             _node(4, "aten::sum", 2, [_t(4)], [_t(3, 1)]),
             _node(5, "aten::ones_like", 1, [_t(1)], [_t(5)]),
             _node(6, "aten::empty_like", 5, [_t(1)], [_t(5)]),
             _node(7, "aten::fill_", 5, [_t(5)], [_t(5)])]
    assert _kernels(tmp_path, nodes) == [("aten::binary_cross_entropy", 8000, 4000),
                                         ("aten::sum", 4000, 4),
                                         ("aten::fill_", 0, 4000)]


# --- real routes ----------------------------------------------------------------------------


def _bytes_per_element(kernels):
    return (kernels["read_bytes"].sum() + kernels["written_bytes"].sum()) / N


@pytest.mark.parametrize("route, backward, names, per_element", [
    ("BCEWithLogitsLoss", False, ["aten::log_sigmoid_forward", "aten::fill_", "aten::sub_",
                                  "aten::mul_", "aten::sub_", "aten::sum"], 56),
    ("BCEWithLogitsLoss", True, ["aten::log_sigmoid_forward", "aten::fill_", "aten::sub_",
                                 "aten::mul_", "aten::sub_", "aten::sum", "aten::sigmoid",
                                 "aten::sub_", "aten::mul_", "aten::div_"], 92),
    ("sigmoid + BCELoss", True, ["aten::sigmoid", "aten::binary_cross_entropy", "aten::sum",
                                 "aten::binary_cross_entropy_backward", "aten::div_",
                                 "aten::sigmoid_backward"], 56),
    ("stable formula", False, ["aten::clamp", "aten::mul", "aten::sub", "aten::abs",
                               "aten::neg", "aten::exp", "aten::log1p", "aten::add",
                               "aten::sum"], 80),
])
def test_the_kernels_of_the_eager_routes(route, backward, names, per_element):
    kernels, _ = bench.profile_route(routes.EAGER[route], Z, Y, backward=backward, repeat=1)
    full = kernels[kernels["elements"] == N]
    assert list(full["kernel"]) == names
    assert (kernels.loc[kernels["elements"] < N, "elements"] == 1).all()  # one-element ones
    assert _bytes_per_element(kernels) == pytest.approx(per_element, abs=0.05)
    assert set(kernels["phase"]) == ({"forward", "backward"} if backward else {"forward"})
    assert (kernels["self_us"] > 0).all()


def test_the_backward_kernels_are_labelled_backward():
    kernels, _ = bench.profile_route(F.binary_cross_entropy_with_logits, Z, Y, repeat=1)
    full = kernels[kernels["elements"] == N]
    assert list(full["phase"]) == ["forward"] * 6 + ["backward"] * 4


def test_peak_memory_counts_what_is_alive_at_once():
    """exp(z).sum() holds one tensor of N floats; BCEWithLogitsLoss's forward + backward two
    (its log-sigmoid output and buffer; later the gradient and a temporary)."""
    _, one = bench.profile_route(lambda z, y: torch.exp(z).sum(), Z, Y, backward=False)
    _, two = bench.profile_route(F.binary_cross_entropy_with_logits, Z, Y)
    assert 4 * N <= one < 4 * N + 64
    assert 8 * N <= two < 8 * N + 64


def test_profile_route_leaves_the_input_alone_and_refuses_no_repeat():
    bench.profile_route(F.binary_cross_entropy_with_logits, Z, Y, repeat=1)
    assert not Z.requires_grad and Z.grad is None
    with pytest.raises(ValueError, match="repeat must be >= 1, got 0"):
        bench.profile_route(F.binary_cross_entropy_with_logits, Z, Y, repeat=0)


def _event(event_id, name, start, parent=None, total=5.0):
    return types.SimpleNamespace(id=event_id, name=name, cpu_parent=parent,
                                 time_range=types.SimpleNamespace(start=start, end=start + 1),
                                 cpu_time_total=total)


def test_a_compiled_graph_is_counted_at_its_boundary():
    """Forward: reads the inputs, writes the loss and the fresh saved tensors; backward:
    reads everything saved and the incoming gradient, writes the input's gradient."""
    forward = _event(10, traffic.COMPILED_GRAPH + " abc", 1)
    backward = _event(20, traffic.COMPILED_GRAPH + " def", 5)
    events = [_event(2, "backward", 4), forward,
              _event(11, "graph_0_cpp_fused_sigmoid_0", 1.5, forward), backward,
              _event(21, "graph_0_cpp_fused_mul_0", 5.5, backward)]
    x, y, loss = torch.zeros(N), torch.zeros(N), torch.zeros(())
    saved = [("fresh", 4 * N), ("input", 4 * N)]
    rows = traffic._compiled_graphs(sorted(events, key=lambda e: e.time_range.start), 0, x, y,
                                    loss, saved)
    assert [(r["phase"], r["kernel"], r["read_bytes"], r["written_bytes"]) for r in rows] == [
        ("forward", "cpp_fused_sigmoid_0", 8 * N, 4 * N + 4),
        ("backward", "cpp_fused_mul_0", 8 * N + 4, 4 * N)]
    assert all(r["kernels_in_graph"] == 1 for r in rows)


@pytest.fixture(scope="module")
def compiled_formula():
    fn = routes.compile_route(routes.stable_formula)
    failed = routes.warm_up({"formula": fn}, Z, Y)
    if failed:
        pytest.skip(f"torch.compile does not work here: {failed}")
    return fn


def test_the_compiled_formula_is_one_kernel_each_way(compiled_formula):
    kernels, peak = bench.profile_route(compiled_formula, Z, Y, compiled=True, repeat=1)
    graphs = kernels[kernels["elements"] == N]
    assert list(graphs["phase"]) == ["forward", "backward"]
    assert list(graphs["kernels_in_graph"]) == [1, 1]
    assert graphs["kernel"].str.startswith("cpp_fused").all()
    # forward: read z, y; backward: read z, y (saved), write the gradient
    assert _bytes_per_element(kernels) == pytest.approx(20, abs=0.05)
    assert 4 * N <= peak < 4 * N + 64  # the gradient


# --- routes ---------------------------------------------------------------------------------


def test_the_routes_compute_the_same_loss():
    values = {name: fn(Z, Y) for name, fn in bench.route_table(compile=False).items()}
    values["float64"] = F.binary_cross_entropy_with_logits(Z.double(), Y.double()).float()
    assert lb.compare.compare(values)["agree"].all()


def test_route_table_names_the_compiled_routes():
    table = bench.route_table(compile=True)  # compiles nothing until called
    assert list(table) == list(routes.EAGER) + [name + routes.COMPILED for name in routes.EAGER]


def test_warm_up_drops_a_route_that_fails():
    def broken(z, y):
        raise RuntimeError("no compiler\nsecond line")

    table = {"ok": F.binary_cross_entropy_with_logits, "broken": broken}
    assert routes.warm_up(table, Z, Y) == {"broken": "RuntimeError: no compiler"}
    assert list(table) == ["ok"]


# --- the roofline ---------------------------------------------------------------------------


def test_bound_is_the_larger_limit():
    assert roofline.bound_seconds(80, 40e9, 1e-9) == (2e-9, 1e-9, 2e-9, "memory")
    assert roofline.bound_seconds(8, 40e9, 1e-9) == (2e-10, 1e-9, 1e-9, "compute")
    with pytest.raises(ValueError, match="bandwidth must be > 0"):
        roofline.bound_seconds(8, 0, 1e-9)
    with pytest.raises(ValueError, match="must be >= 0"):
        roofline.bound_seconds(-1, 1e9, 1e-9)


def test_add_bounds_divides_the_bound_by_the_median():
    table = pd.DataFrame({"bytes_per_element": [80, 8], "bandwidth_GBps": [40, 40],
                          "compute_ns": [1.0, 1.0], "median_ns": [4.0, 4.0]})
    out = roofline.add_bounds(table)
    assert list(out["limit"]) == ["memory", "compute"]
    assert list(out["bound_ns"]) == pytest.approx([2.0, 1.0])
    assert list(out["fraction_of_bound"]) == pytest.approx([0.5, 0.25])
    assert "limit" not in table  # a copy


# --- the machine ----------------------------------------------------------------------------


def test_the_limits_are_positive_rates_and_times():
    rates = machine.stream_rates(machine.MIN_STREAM, rounds=1, min_run_time=0.01)
    assert set(rates) == {"copy", "add_", "sum"} and min(rates.values()) > 0
    seconds = machine.transcendental_seconds(n=4096, rounds=1, min_run_time=0.01)
    assert set(seconds) == {"exp", "log1p", "softplus"} and min(seconds.values()) > 0
    with pytest.raises(ValueError, match="must be >= 1"):
        machine.stream_rates(0)


def test_machine_info_names_the_cpu_and_torch():
    info = machine.machine_info()
    assert info["torch"] == torch.__version__ and info["cpu"] and int(info["cores"]) >= 1
    assert machine.device_name("cpu").endswith(f"{machine.cores()} cores")


def test_keep_freed_memory_in_a_fresh_process():
    """In its own process: it changes malloc for the rest of the process."""
    code = ("from lossbook.bench import machine; import platform; "
            "print(machine.keep_freed_memory(), platform.libc_ver()[0])")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=True).stdout.split()
    assert out[0] == ("True" if out[1:] == ["glibc"] else "False")
    faults = machine.page_faults()
    assert faults is None or faults > 0


# --- measurements ---------------------------------------------------------------------------


def test_interleaved_rotates_the_order_and_merges_the_rounds():
    timers = {name: benchmark.Timer("pass", label="l", sub_label=name) for name in "abc"}
    order = []
    results = bench.interleaved(timers, rounds=3, min_run_time=0.001, on_step=order.append)
    assert order == list("abcbcacab")
    for name, (measurement, faults) in results.items():
        assert measurement.task_spec.sub_label == name
        assert len(measurement.times) >= 3 and measurement.median > 0
        assert faults is None or faults >= 0


@pytest.mark.parametrize("kwargs, message", [
    ({"timers": {}}, "at least one timer"),
    ({"timers": {"a": benchmark.Timer("pass")}, "rounds": 0}, "rounds must be >= 1, got 0"),
])
def test_interleaved_refuses_bad_input(kwargs, message):
    with pytest.raises(ValueError, match=message):
        bench.interleaved(**kwargs)


def test_route_timer_times_forward_alone_or_with_backward():
    for backward in (False, True):
        timer = bench.route_timer(F.binary_cross_entropy_with_logits, Z, Y, backward=backward)
        assert timer.timeit(3).median > 0
    assert not Z.requires_grad


def test_time_loss_returns_seconds_and_leaves_the_input_alone():
    seconds = bench.time_loss(F.binary_cross_entropy_with_logits, Z, Y, min_run_time=0.01,
                              num_threads=1)
    assert isinstance(seconds, float) and seconds > 0
    assert not Z.requires_grad and Z.grad is None


def test_relative_times_divides_by_the_baseline(monkeypatch):
    seconds = {F.binary_cross_entropy_with_logits: 2.0, routes.sigmoid_bce: 6.0}
    monkeypatch.setattr(timing, "time_loss", lambda fn, *a, **k: seconds[fn])
    losses = {"fused": F.binary_cross_entropy_with_logits, "sigmoid": routes.sigmoid_bce}
    ratios = bench.relative_times(losses, Z, Y)
    assert ratios.name == "time / fused" and ratios.to_dict() == {"fused": 1.0, "sigmoid": 3.0}
    assert bench.relative_times(losses, Z, Y, baseline="sigmoid")["fused"] == pytest.approx(1 / 3)


@pytest.mark.parametrize("call, error, fragment", [
    (lambda: bench.time_loss("bce", Z, Y), TypeError, "loss_fn must be callable, got str"),
    (lambda: bench.time_loss(F.binary_cross_entropy_with_logits, Z.long(), Y), TypeError,
     "input must be a floating-point torch.Tensor, got torch.int64"),
    (lambda: bench.time_loss(F.binary_cross_entropy_with_logits, [1.0], Y), TypeError,
     "got list"),
    (lambda: bench.time_loss(F.binary_cross_entropy_with_logits, Z, Y, min_run_time=0),
     ValueError, "min_run_time must be > 0"),
    (lambda: bench.time_loss(lambda z, y: F.binary_cross_entropy_with_logits(
        z, y, reduction="none"), Z, Y), ValueError, "single value"),
    (lambda: bench.time_loss(F.binary_cross_entropy_with_logits, Z, Y, num_threads=0),
     ValueError, "num_threads must be a positive int, got 0"),
    (lambda: bench.relative_times({}, Z, Y), ValueError, "at least one loss"),
    (lambda: bench.relative_times({"a": F.binary_cross_entropy_with_logits}, Z, Y,
                                  baseline="b"), ValueError, "baseline must be one of ['a']"),
])
def test_bad_input_is_refused(call, error, fragment):
    with pytest.raises(error) as info:
        call()
    assert fragment in str(info.value)


# --- the whole run, its files and the command line -----------------------------------------


@pytest.fixture(scope="module")
def small_run():
    return bench.run([1000, 3000], threads=[1], compile=False, rounds=2, min_run_time=0.005,
                     allocator=False, progress=False)


def test_run_measures_every_route_mode_and_size(small_run):
    t = small_run.timings
    assert len(t) == 3 * 2 * 2
    assert set(t["route"]) == set(routes.EAGER) and set(t["mode"]) == set(bench.MODES)
    assert (t["median_ns"] > 0).all() and (t["iqr_ns"] >= 0).all()
    assert set(t["limit"]) <= {"memory", "compute"}
    expected = t[["memory_ns", "compute_ns"]].max(axis=1) / t["median_ns"]
    assert (t["fraction_of_bound"] - expected).abs().max() < 1e-12
    fused = small_run.routes.set_index(["route", "mode"]).loc[
        ("BCEWithLogitsLoss", "forward + backward")]
    assert fused["kernels"] == 10 and fused["agrees_with_float64"]
    assert math.isclose(fused["bytes_per_element"], 92, abs_tol=0.1)
    assert set(small_run.limits["N"]) == {1000, 3000, machine.MEMORY_STREAM}
    assert small_run.machine["compile"] == "not requested"
    assert "Compare" not in small_run.compare and "sigmoid + BCELoss" in small_run.compare


def test_save_and_load_round_trip(small_run, tmp_path):
    paths = bench.save(small_run, tmp_path)
    assert sorted(p.name for p in paths) == sorted(record.FILES.values())
    loaded = bench.load(tmp_path)
    pd.testing.assert_frame_equal(loaded.timings, small_run.timings, check_dtype=False)
    assert loaded.machine["torch"] == torch.__version__


def test_report_prints_every_route_with_its_bound(small_run):
    text = bench.report(small_run)
    for name in routes.EAGER:
        assert name in text
    assert "fraction_of_bound" in text and "bound_ns" in text and "aten::log_sigmoid_forward" in text


def test_check_names_signs_of_a_busy_machine(small_run):
    assert bench.check(small_run) == [] or all("thread" in w for w in bench.check(small_run))
    busy = bench.Results(
        timings=pd.DataFrame({"device": ["cpu"] * 2, "threads": [1, 2],
                              "fraction_of_bound": [0.5, 3.0]}),
        routes=pd.DataFrame(), kernels=pd.DataFrame(), allocator=pd.DataFrame(), machine={},
        limits=pd.DataFrame({"device": ["cpu"] * 2, "threads": [1, 2], "compute_ns": [2.0, 9.0]}))
    warnings = bench.check(busy)
    assert len(warnings) == 2
    assert warnings[0].startswith("cpu: exp and log1p on 2 threads took longer than on one")
    assert warnings[1].startswith("cpu, 2 thread(s): 1 measurements above 1.2 times")


def test_run_refuses_bad_arguments():
    with pytest.raises(ValueError, match="sizes must be >= 1"):
        bench.run([0], progress=False)
    with pytest.raises(ValueError, match="rounds must be >= 1"):
        bench.run([10], rounds=0, progress=False)


def test_command_line_writes_the_tables(tmp_path, monkeypatch, capsys):
    """``python -m lossbook.bench``, run in this process through runpy."""
    monkeypatch.setattr(sys, "argv", [
        "lossbook.bench", "--sizes", "1000", "--threads", "1", "--rounds", "1",
        "--min-run-time", "0.005", "--no-compile", "--no-allocator", "--out", str(tmp_path)])
    with pytest.raises(SystemExit) as exit_:
        runpy.run_module("lossbook.bench", run_name="__main__")
    assert exit_.value.code == 0
    out = capsys.readouterr().out
    assert "BCEWithLogitsLoss" in out and "Limits: bandwidth" in out
    assert list(pd.read_csv(tmp_path / "benchmark.csv")["N"].unique()) == [1000]


@pytest.mark.parametrize("argv", [["--sizes", "0"], ["--threads", "0"], ["--rounds", "0"]])
def test_command_line_refuses_bad_arguments(argv):
    with pytest.raises(SystemExit):
        bench.main(argv)
