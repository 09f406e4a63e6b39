"""Input validation shared by every lossbook loss.

Each check raises a ``TypeError`` (wrong kind of object or dtype) or a ``ValueError`` (wrong
shape or values) whose message names the argument, says what was expected and what was
given, and, for the classic mistakes, what to write instead. The checks never modify their
input and return nothing.
"""

from __future__ import annotations

import torch

REDUCTIONS = ("none", "mean", "sum")


def _shape(x: torch.Tensor) -> str:
    return str(tuple(x.shape))


def check_tensor(name: str, x, *, floating: bool = True) -> None:
    """Check that ``x`` is a tensor, and of a floating dtype when ``floating``.

    Raises ``TypeError``: losses take float tensors for both input and target, so an integer
    or bool target (``torch.tensor([0, 1])``) is the usual offender.
    """
    if not isinstance(x, torch.Tensor):
        raise TypeError(f"{name} must be a torch.Tensor, got {type(x).__name__}")
    if floating and not x.is_floating_point():
        raise TypeError(
            f"{name} must have a floating-point dtype (float32 or float64), got {x.dtype}; "
            f"convert it with {name}.float()"
        )


def check_reduction(reduction) -> None:
    """Check that ``reduction`` is one of ``'none'``, ``'mean'``, ``'sum'`` (``ValueError``)."""
    if reduction not in REDUCTIONS:
        raise ValueError(f"reduction must be one of {REDUCTIONS}, got {reduction!r}")


def check_same_shape(input: torch.Tensor, target: torch.Tensor) -> None:
    """Check that ``input`` and ``target`` have the same shape (``ValueError``).

    The common case is a model output of shape ``(N, 1)`` against a target of shape
    ``(N,)``: broadcasting them would silently build an ``(N, N)`` loss, so it is refused
    and the message says which side to squeeze or unsqueeze.
    """
    if input.shape == target.shape:
        return
    hint = ""
    if input.dim() == target.dim() + 1 and input.shape[-1] == 1 and input.shape[:-1] == target.shape:
        hint = "; drop the trailing dimension of input with input.squeeze(-1)"
    elif target.dim() == input.dim() + 1 and target.shape[-1] == 1 and target.shape[:-1] == input.shape:
        hint = "; drop the trailing dimension of target with target.squeeze(-1)"
    raise ValueError(
        f"target must have the same shape as input {_shape(input)}, got {_shape(target)}{hint}"
    )


def check_finite(name: str, x: torch.Tensor) -> None:
    """Check that ``x`` holds no NaN or infinity (``ValueError``, with the count of bad values)."""
    bad = ~torch.isfinite(x)
    if bad.any():
        raise ValueError(
            f"{name} must be finite, got {int(bad.sum())} NaN or infinite value(s) "
            f"out of {x.numel()}"
        )


def check_probabilities(name: str, x: torch.Tensor) -> None:
    """Check that every value of ``x`` lies in [0, 1] (``ValueError``).

    Values outside that range are almost always logits passed where probabilities are
    expected; the message points to the with-logits loss.
    """
    outside = (x < 0) | (x > 1)
    if outside.any():
        lo, hi = x.min().item(), x.max().item()
        raise ValueError(
            f"{name} must hold probabilities in [0, 1], got values in [{lo:.4g}, {hi:.4g}] "
            f"({int(outside.sum())} of {x.numel()} outside); if these are logits, use "
            "binary_cross_entropy_with_logits, or apply torch.sigmoid first"
        )


WEIGHT_HINT = (
    "it weights each element, so for per-class weights of a binary target build "
    "torch.where(target == 1, w_pos, w_neg)"
)
POS_WEIGHT_HINT = "it holds one weight per column: shape (C,) for an (N, C) input"


def check_broadcastable(name: str, x: torch.Tensor, shape: torch.Size, hint: str) -> None:
    """Check that ``x`` broadcasts to ``shape`` without changing it (``ValueError``).

    ``weight`` multiplies the loss element by element, so it must expand to the input's
    shape: it is not a per-class vector. ``hint`` ends the message with what the argument
    means (:data:`WEIGHT_HINT`, :data:`POS_WEIGHT_HINT`).
    """
    try:
        result = torch.broadcast_shapes(x.shape, shape)
    except RuntimeError:
        result = None
    if result != shape:
        raise ValueError(
            f"{name} must broadcast to the input's shape {tuple(shape)}, got shape "
            f"{_shape(x)}; {hint}"
        )


def check_binary_loss_args(
    input: torch.Tensor,
    target: torch.Tensor,
    weight: torch.Tensor | None,
    reduction: str,
) -> None:
    """The checks every binary loss runs: tensors of a float dtype, equal shapes, finite
    values, a ``weight`` that broadcasts to the input, a known ``reduction``."""
    check_tensor("input", input)
    check_tensor("target", target)
    check_same_shape(input, target)
    check_finite("input", input)
    check_finite("target", target)
    if weight is not None:
        check_tensor("weight", weight)
        check_broadcastable("weight", weight, input.shape, WEIGHT_HINT)
    check_reduction(reduction)
