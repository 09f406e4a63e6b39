r"""A route's lower bound from the machine's two limits, and how close a measurement gets.

For a route that moves :math:`B` bytes per element (:mod:`lossbook.bench.traffic`) on a
machine that streams :math:`W` bytes per second at that size and computes the loss's
transcendental functions in :math:`c` seconds per element (:mod:`lossbook.bench.machine`),
in this model no call on :math:`N` elements can take less than

.. math::

    T_{\text{bound}} = N \max\left(\frac{B}{W},\; c\right),

the *roofline* bound (Williams, Waterman and Patterson, 2009): the larger term is the limit
that *binds*, ``"memory"`` or ``"compute"``. A measured median :math:`T` reaches the fraction
:math:`T_{\text{bound}} / T` of it: 1 at the limit, 0.5 at twice the bound. What the bound
leaves out (Python, dispatch, the autograd graph, kernels that spend longer per element than
one ``exp`` and one ``log1p``) is what keeps a route below 1.
"""

from __future__ import annotations

import pandas as pd


def bound_seconds(bytes_per_element: float, bandwidth: float, compute: float
                  ) -> tuple[float, float, float, str]:
    """``(memory, compute, bound, limit)``: seconds per element for the bytes at
    ``bandwidth`` (bytes per second), the ``compute`` seconds per element, their maximum,
    and which one it is (``"memory"`` or ``"compute"``).

    Raises:
        ValueError: a negative byte count or compute time, or a bandwidth that is not
            positive.
    """
    if bytes_per_element < 0 or compute < 0:
        raise ValueError(f"bytes_per_element and compute must be >= 0, got "
                         f"{bytes_per_element!r} and {compute!r}")
    if not bandwidth > 0:
        raise ValueError(f"bandwidth must be > 0, got {bandwidth!r}")
    memory = bytes_per_element / bandwidth
    return memory, compute, max(memory, compute), "memory" if memory >= compute else "compute"


def add_bounds(timings: pd.DataFrame) -> pd.DataFrame:
    """A copy of ``timings`` with the roofline columns added.

    ``timings`` has one row per measurement with ``bytes_per_element``, ``bandwidth_GBps``
    (at its N), ``compute_ns`` and ``median_ns`` (per element). Added: ``memory_ns``
    (bytes / bandwidth), ``bound_ns`` (the larger of the two), ``limit`` (which) and
    ``fraction_of_bound`` (``bound_ns / median_ns``).
    """
    table = timings.copy()
    parts = [bound_seconds(b, w * 1e9, c * 1e-9) for b, w, c in zip(
        table["bytes_per_element"], table["bandwidth_GBps"], table["compute_ns"])]
    table["memory_ns"] = [p[0] * 1e9 for p in parts]
    table["bound_ns"] = [p[2] * 1e9 for p in parts]
    table["limit"] = [p[3] for p in parts]
    table["fraction_of_bound"] = table["bound_ns"] / table["median_ns"]
    return table
