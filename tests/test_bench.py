"""lossbook.bench: timings are positive, ratios are relative to the baseline, bad input is
refused; peak memory and copy bandwidth; bench.run's table and ``python -m lossbook.bench``.
The slow loss sleeps, so its extra time does not depend on how busy the CPU is, and
timings run on one thread: pytest-xdist runs two workers side by side, and more torch
threads than free cores make timings erratic."""

import runpy
import sys
import time

import pandas as pd
import pytest
import torch
import torch.nn.functional as F

import lossbook as lb
from lossbook import bench

Z = torch.randn(20_000, generator=torch.Generator().manual_seed(0))
Y = (Z > 0).float()


def _slow(z, y):
    """The loss after a 5 ms sleep: at least 5 ms per call, many times one plain call."""
    time.sleep(0.005)
    return F.binary_cross_entropy_with_logits(z, y)


def test_time_loss_returns_seconds_and_leaves_the_input_alone():
    seconds = bench.time_loss(F.binary_cross_entropy_with_logits, Z, Y, min_run_time=0.02,
                              num_threads=1)
    assert isinstance(seconds, float) and 0 < seconds < 1
    assert not Z.requires_grad and Z.grad is None


def test_time_loss_without_backward():
    seconds = bench.time_loss(F.binary_cross_entropy_with_logits, Z, Y, backward=False,
                              min_run_time=0.02)
    assert seconds > 0


def test_relative_times_divides_by_the_baseline():
    ratios = bench.relative_times({"plain": F.binary_cross_entropy_with_logits, "slow": _slow},
                                  Z, Y, min_run_time=0.1, num_threads=1)
    assert list(ratios.index) == ["plain", "slow"]
    assert ratios.name == "time / plain"
    assert ratios["plain"] == 1.0
    assert ratios["slow"] > 3


def test_relative_times_with_another_baseline():
    ratios = bench.relative_times({"plain": F.binary_cross_entropy_with_logits, "slow": _slow},
                                  Z, Y, baseline="slow", min_run_time=0.1,
                                  num_threads=1)
    assert ratios["slow"] == 1.0 and ratios["plain"] < 0.3


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


def test_peak_memory_sees_a_tensor_allocated_inside():
    n = 2**20  # 4 MiB of float32, in mmapped memory, where glibc counts it
    with bench.PeakMemory() as meter:
        t = torch.ones(n)
        del t
    assert meter.peak is not None and meter.peak >= 4 * n


def test_peak_memory_of_a_loss_grows_with_the_input():
    small, large = (bench.peak_memory(torch.nn.functional.binary_cross_entropy_with_logits,
                                      torch.randn(n), torch.ones(n)) for n in (2**16, 2**20))
    assert large > 8 * small > 0


def test_copy_bandwidth_is_plausible():
    gbps = bench.copy_bandwidth(nbytes=16 * 2**20, min_run_time=0.05) / 1e9
    assert 0.5 < gbps < 2000


@pytest.fixture(scope="module")
def table():
    return bench.run(sizes=[1000, 4000], compile=False, min_run_time=0.01, progress=False)


def test_run_measures_every_route_at_every_size(table):
    assert len(table) == 2 * len(bench.binary_routes(compile=False))
    assert set(table["route"]) == set(bench.binary_routes(compile=False))
    fused = table[table["route"] == "BCEWithLogitsLoss"]
    assert (fused["vs_BCEWithLogitsLoss"] == 1).all()
    assert (table["seconds"] > 0).all() and (table["peak_bytes"] > 0).all()
    expected = bench.BINARY_BYTES_PER_ELEMENT * table["N"] / table["seconds"] / 1e9
    assert (table["achieved_GBps"] - expected).abs().max() < 1e-9
    assert (table["fraction_of_bandwidth"] > 0).all()
    assert table["device_name"].str.contains("cores").all()


def test_the_routes_compute_the_same_loss():
    z = torch.randn(1000, generator=torch.Generator().manual_seed(0)) * 5
    y = (z + torch.randn(1000, generator=torch.Generator().manual_seed(1)) > 0).float()
    values = {name: fn(z, y) for name, fn in bench.binary_routes(compile=False).items()}
    table = lb.compare.compare(values)
    assert table["agree"].all(), table


def test_command_line_writes_the_table_and_the_plot(tmp_path, monkeypatch, capsys):
    """``python -m lossbook.bench``, run in this process through runpy."""
    csv, png = tmp_path / "bench.csv", tmp_path / "bench.png"
    monkeypatch.setattr(sys, "argv", [
        "lossbook.bench", "--sizes", "1000", "--min-run-time", "0.01", "--no-compile",
        "--csv", str(csv), "--plot", str(png)])
    with pytest.raises(SystemExit) as exit_:
        runpy.run_module("lossbook.bench", run_name="__main__")
    assert exit_.value.code == 0
    out = capsys.readouterr().out
    assert "BCEWithLogitsLoss" in out and "copy bandwidth: cpu" in out
    table = pd.read_csv(csv)
    assert list(table["N"].unique()) == [1000]
    assert png.stat().st_size > 10_000


def test_command_line_refuses_bad_sizes():
    with pytest.raises(SystemExit):
        bench.main(["--sizes", "0"])
