"""The benchmark of the performance chapter: python -m lossbook.bench, peak memory, bandwidth."""

import runpy
import sys

import matplotlib.pyplot as plt
import pandas as pd
import pytest
import torch

import lossbook as lb
from lossbook import bench


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
    assert table["max |diff|"].max() < 1e-5


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


def test_benchmark_plot_has_a_row_of_two_panels_per_device(table):
    fig = lb.plots.benchmark(pd.concat([table, table.assign(device="cuda")]))
    assert len(fig.axes) == 4
    assert fig.axes[0].get_xscale() == "log" and fig.axes[0].get_ylabel()
    plt.close(fig)
