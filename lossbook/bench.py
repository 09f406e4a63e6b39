"""Timing losses with ``torch.utils.benchmark``: forward and backward, and ratios between them.

Absolute times depend on the machine; ratios between losses timed on the same input, one
after the other, are what a chapter reports. Timings never go into checked outputs: a cell
that prints them is tagged ``nbval-ignore-output``.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping

import pandas as pd
import torch
from torch.utils import benchmark

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
