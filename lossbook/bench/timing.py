"""Timing a loss with ``torch.utils.benchmark``: one call, forward alone or forward and
backward, measured in blocks; routes measured in turns, several rounds over.

A *measurement* is ``Timer.blocked_autorange``: the statement runs in blocks of ``number``
calls until ``min_run_time`` seconds have passed, after a warm-up that also picks
``number``; the time of one call is each block's time / ``number``. Routes compared with
each other are measured *interleaved*: in each round every route once, in an order that
rotates from round to round, so that a slow spell of a busy machine falls on all of them;
the rounds of a route are merged (``Measurement.merge``) into one measurement whose median
and interquartile range (IQR) come from all its blocks.

Absolute times depend on the machine and on what else runs on it. Timings never go into
checked outputs: a cell that prints them is tagged ``nbval-ignore-output``.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping

import pandas as pd
import torch
from torch.utils import benchmark

from lossbook.bench.machine import page_faults

LossFn = Callable[[torch.Tensor, torch.Tensor], torch.Tensor]


def route_timer(loss_fn: LossFn, input: torch.Tensor, target: torch.Tensor, *,
                backward: bool = True, threads: int = 1, label: str = "",
                sub_label: str = "", description: str = "") -> benchmark.Timer:
    """A ``torch.utils.benchmark.Timer`` for one call of ``loss_fn(input, target)``.

    With ``backward`` the statement is ``x.grad = None; loss_fn(x, target).backward()`` on a
    copy ``x`` of the input that requires a gradient, so every call does the same work;
    without, ``loss_fn(x, target)`` under ``torch.no_grad()``. ``label``, ``sub_label`` and
    ``description`` name the measurement in ``benchmark.Compare``'s table (its title, row
    and column). On a GPU the timer waits for the device before reading the clock.
    """
    x = input.detach().clone().requires_grad_(backward)
    stmt = ("x.grad = None\nloss_fn(x, target).backward()" if backward
            else "with torch.no_grad():\n    loss_fn(x, target)")
    return benchmark.Timer(stmt=stmt, globals={"x": x, "target": target, "loss_fn": loss_fn,
                                               "torch": torch},
                           num_threads=threads, label=label, sub_label=sub_label,
                           description=description)


def interleaved(timers: Mapping[str, benchmark.Timer], *, rounds: int = 5,
                min_run_time: float = 0.03, warmup: int = 2,
                on_step: Callable[[str], None] | None = None
                ) -> dict[str, tuple[benchmark.Measurement, float | None]]:
    """Measure every timer ``rounds`` times, in turns, the order rotating each round, after
    ``warmup`` untimed calls of each (which let the allocator settle).

    Args:
        timers: ``{name: Timer}``.
        rounds: measurements per timer, >= 1.
        min_run_time: seconds of each ``blocked_autorange``.
        warmup: calls of each statement before the first round.
        on_step: called with the name after each measurement (a progress bar).

    Returns:
        ``{name: (measurement, page faults per call)}``: the rounds merged into one
        ``Measurement`` (median and IQR over all blocks of all rounds), and the minor page
        faults the process took during them divided by the calls timed (None where the
        system does not count them).

    Raises:
        ValueError: no timers, or ``rounds`` below 1.
    """
    if not timers:
        raise ValueError("timers must name at least one timer, got none")
    if rounds < 1:
        raise ValueError(f"rounds must be >= 1, got {rounds!r}")
    names = list(timers)
    runs: dict[str, list] = {name: [] for name in names}
    faults: dict[str, int | None] = {name: 0 for name in names}
    calls = {name: 0 for name in names}
    for name in names:
        for _ in range(warmup):
            timers[name].timeit(1)
    for r in range(rounds):
        shift = r % len(names)
        for name in names[shift:] + names[:shift]:
            before = page_faults()
            measurement = timers[name].blocked_autorange(min_run_time=min_run_time)
            after = page_faults()
            faults[name] = None if before is None else faults[name] + after - before
            calls[name] += measurement.number_per_run * len(measurement.raw_times)
            runs[name].append(measurement)
            if on_step is not None:
                on_step(name)
    return {name: (benchmark.Measurement.merge(runs[name])[0],
                   None if faults[name] is None else faults[name] / calls[name])
            for name in names}


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
    when ``backward`` (one ``blocked_autorange``, see :func:`route_timer`).

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
    timer = route_timer(loss_fn, input, target, backward=backward, threads=num_threads)
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
