"""lossbook.bench: timings are positive, ratios are relative to the baseline, bad input is
refused. The slow loss sleeps, so its extra time does not depend on how busy the CPU is, and
timings run on one thread: pytest-xdist runs two workers side by side, and more torch
threads than free cores make timings erratic."""

import time

import pytest
import torch
import torch.nn.functional as F

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
