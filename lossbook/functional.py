"""From-scratch reference losses, written from their formulas as pure tensor functions.

Names and signatures mirror ``torch.nn.functional``; the values equal torch's (the tests
check values and gradients against torch). Unlike torch, every function validates its input
with :mod:`lossbook.checks`, so a mistake raises an error that explains itself instead of a
wrong number.

Notation: ``x`` is a probability in [0, 1], ``z`` a logit (any real number), ``y`` a target
in [0, 1] (hard 0/1 labels or soft labels), ``w`` an element weight, ``p`` a positive-class
weight, ``s(z) = 1 / (1 + exp(-z))`` the sigmoid.
"""

from __future__ import annotations

import torch

from lossbook import checks

#: torch clamps each log at -100 in ``binary_cross_entropy``, so one element's loss is at
#: most 100 (times its weight) even when the predicted probability is exactly 0 or 1.
LOG_CLAMP = -100.0


def _reduce(loss: torch.Tensor, reduction: str) -> torch.Tensor:
    """Apply ``reduction``: ``'none'`` keeps the elementwise loss, ``'mean'`` averages over
    all elements, ``'sum'`` adds them."""
    if reduction == "mean":
        return loss.mean()
    if reduction == "sum":
        return loss.sum()
    return loss


def softplus(z: torch.Tensor) -> torch.Tensor:
    r"""Numerically stable softplus, ``log(1 + exp(z))``:

    .. math::

        \mathrm{softplus}(z) = \begin{cases}
            z + \log(1 + e^{-z}) & z > 0 \\
            \log(1 + e^{z}) & z \le 0
        \end{cases}

    The naive form overflows to ``inf`` for ``z > ~88`` in float32; here ``exp`` only sees
    non-positive arguments, so it never overflows, and the gradient is ``sigmoid(z)``
    everywhere (0.5 at ``z = 0``, where ``max(z, 0) + log1p(exp(-|z|))`` would give 1).
    """
    # Each branch gets an argument clamped to its own side, so the branch torch.where
    # discards never overflows and never sends NaN into the backward pass.
    positive = z.clamp(min=0)
    negative = z.clamp(max=0)
    return torch.where(z > 0, positive + torch.log1p(torch.exp(-positive)),
                       torch.log1p(torch.exp(negative)))


def binary_cross_entropy(
    input: torch.Tensor,
    target: torch.Tensor,
    weight: torch.Tensor | None = None,
    reduction: str = "mean",
) -> torch.Tensor:
    r"""Binary cross entropy of probabilities, as ``torch.nn.functional.binary_cross_entropy``.

    .. math::

        \ell_i = -w_i \left[ y_i \log x_i + (1 - y_i) \log(1 - x_i) \right]

    with each log clamped at -100 (:data:`LOG_CLAMP`), as torch does, so that a probability
    of exactly 0 or 1 gives a finite loss of at most 100 per element.

    Args:
        input: probabilities ``x`` in [0, 1], any shape, float dtype.
        target: labels ``y`` in [0, 1], same shape and a float dtype.
        weight: optional element weights ``w`` that broadcast to ``input.shape``
            (per element, not per class).
        reduction: ``'mean'`` (average over all elements), ``'sum'`` or ``'none'``.

    Returns:
        A scalar for ``'mean'``/``'sum'``, a tensor of ``input.shape`` for ``'none'``.

    Raises:
        TypeError: a non-tensor or a non-float dtype (``target`` of integers, say).
        ValueError: different shapes, values outside [0, 1] (logits passed as
            probabilities), NaN or infinity, a ``weight`` that does not broadcast, an unknown
            ``reduction``.

    Gradients equal torch's wherever ``0 < x < 1``; where a log is clamped, autograd gives 0
    and torch's hand-written backward a huge finite value.
    """
    checks.check_binary_loss_args(input, target, weight, reduction)
    checks.check_probabilities("input", input)
    checks.check_probabilities("target", target)
    log_x = torch.clamp(torch.log(input), min=LOG_CLAMP)
    log_1mx = torch.clamp(torch.log1p(-input), min=LOG_CLAMP)
    loss = -(target * log_x + (1 - target) * log_1mx)
    if weight is not None:
        loss = loss * weight
    return _reduce(loss, reduction)


def binary_cross_entropy_with_logits(
    input: torch.Tensor,
    target: torch.Tensor,
    weight: torch.Tensor | None = None,
    pos_weight: torch.Tensor | None = None,
    reduction: str = "mean",
) -> torch.Tensor:
    r"""Binary cross entropy of logits, as
    ``torch.nn.functional.binary_cross_entropy_with_logits``.

    .. math::

        \ell_i = -w_i \left[ p\, y_i \log s(z_i) + (1 - y_i) \log(1 - s(z_i)) \right]
               = w_i \left[ p\, y_i\, \mathrm{softplus}(-z_i)
                          + (1 - y_i)\, \mathrm{softplus}(z_i) \right]

    using ``log s(z) = -softplus(-z)`` and ``log(1 - s(z)) = -softplus(z)``, with the stable
    :func:`softplus`: no sigmoid is ever rounded to 0 or 1, so the loss stays exact (about
    ``|z|``) and its gradient stays ``s(z) - y`` for any logit.

    Args:
        input: logits ``z``, any shape, float dtype.
        target: labels ``y`` in [0, 1], same shape and a float dtype.
        weight: optional element weights ``w`` that broadcast to ``input.shape``.
        pos_weight: optional weight ``p`` of the positive term, broadcast along the last
            dimension: shape ``(C,)`` for an ``(N, C)`` multi-label input, or a scalar-shaped
            ``(1,)``. ``n_neg / n_pos`` is the usual start for imbalanced data.
        reduction: ``'mean'``, ``'sum'`` or ``'none'``.

    Raises:
        TypeError: a non-tensor or a non-float dtype.
        ValueError: different shapes, targets outside [0, 1], NaN or infinity, a ``weight``
            or ``pos_weight`` that does not broadcast, an unknown ``reduction``.
    """
    checks.check_binary_loss_args(input, target, weight, reduction)
    checks.check_probabilities("target", target)
    positive_term = target * softplus(-input)
    if pos_weight is not None:
        checks.check_tensor("pos_weight", pos_weight)
        checks.check_broadcastable(
            "pos_weight", pos_weight, input.shape, checks.POS_WEIGHT_HINT
        )
        positive_term = positive_term * pos_weight
    loss = positive_term + (1 - target) * softplus(input)
    if weight is not None:
        loss = loss * weight
    return _reduce(loss, reduction)
