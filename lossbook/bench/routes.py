r"""The routes to a mean binary cross entropy from logits :math:`z` and labels :math:`y`.

All compute :math:`L = \frac1N \sum_n \ell_n` with
:math:`\ell_n = -[y_n \log \sigma(z_n) + (1 - y_n) \log(1 - \sigma(z_n))]`:

- ``sigmoid + BCELoss``: :math:`p = \sigma(z)`, then ``F.binary_cross_entropy(p, y)``
  (what ``nn.BCELoss`` calls);
- ``BCEWithLogitsLoss``: ``F.binary_cross_entropy_with_logits(z, y)`` (what
  ``nn.BCEWithLogitsLoss`` calls);
- ``stable formula``: written by hand, :math:`\ell = \max(z, 0) - z y + \log(1 + e^{-|z|})`;
- each of the three again under ``torch.compile`` (``", compiled"``), with dynamic shapes so
  that one compilation serves every N.
"""

from __future__ import annotations

from collections.abc import Callable

import torch
import torch.nn.functional as F

LossFn = Callable[[torch.Tensor, torch.Tensor], torch.Tensor]

#: Suffix of the name of a compiled route.
COMPILED = ", compiled"


def sigmoid_bce(z: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
    """``F.binary_cross_entropy(torch.sigmoid(z), y)``: probabilities first, then BCELoss."""
    return F.binary_cross_entropy(torch.sigmoid(z), y)


def bce_with_logits(z: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
    """``F.binary_cross_entropy_with_logits(z, y)``."""
    return F.binary_cross_entropy_with_logits(z, y)


def stable_formula(z: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
    r"""The stable formula written with tensor operations:
    mean of :math:`\max(z, 0) - z y + \log(1 + e^{-|z|})`."""
    return (z.clamp(min=0) - z * y + torch.log1p(torch.exp(-z.abs()))).mean()


#: The eager routes, by name.
EAGER: dict[str, LossFn] = {
    "sigmoid + BCELoss": sigmoid_bce,
    "BCEWithLogitsLoss": bce_with_logits,
    "stable formula": stable_formula,
}


def compile_route(loss_fn: LossFn) -> LossFn:
    """``torch.compile(loss_fn, dynamic=True)``, with Inductor's kernels named in the
    profiler (``cpp.enable_kernel_profile``; a GPU's kernels are named anyway).

    Compilation happens at the first call; on the CPU it needs a C++ compiler.
    """
    options = {}
    try:
        from torch._inductor import config
    except ImportError:  # pragma: no cover - a torch without Inductor
        config = None
    if config is not None and hasattr(config.cpp, "enable_kernel_profile"):
        options["cpp.enable_kernel_profile"] = True
    return torch.compile(loss_fn, dynamic=True, options=options or None)


def route_table(compile: bool = True) -> dict[str, LossFn]:
    """The routes by name: :data:`EAGER`, then (``compile``) each compiled, named
    ``"<route>, compiled"``. Compiled routes compile at their first call."""
    table = dict(EAGER)
    if compile:
        table.update({name + COMPILED: compile_route(fn) for name, fn in EAGER.items()})
    return table


def warm_up(routes: dict[str, LossFn], input: torch.Tensor, target: torch.Tensor
            ) -> dict[str, str]:
    """Call each route once with and once without a gradient (which compiles a compiled
    route for both uses). Routes that fail are removed from ``routes``, in place.

    Returns:
        ``{name: error message}`` of the routes removed (a compiled route where torch.compile
        cannot compile, e.g. without a C++ compiler).
    """
    failed = {}
    for name, fn in list(routes.items()):
        try:
            x = input.detach().clone().requires_grad_(True)
            fn(x, target).backward()
            with torch.no_grad():
                fn(x, target)
        except Exception as error:  # noqa: BLE001 - any compiler failure drops the route
            failed[name] = f"{type(error).__name__}: {str(error).splitlines()[0] if str(error) else ''}"
            del routes[name]
    return failed
