"""``nn.Module`` wrappers for the losses torch lacks.

Each module validates its options once when it is built, stores them (scalars as Python
floats, whatever number type came: numpy or a 0-dim tensor), and calls the
function of the same loss in :mod:`lossbook.functional`, so it can replace a torch loss
module in a training loop: ``loss_fn = BinaryHingeLoss(); loss = loss_fn(scores, target)``.
"""

from __future__ import annotations

import torch
from torch import nn

from lossbook import checks, functional


class BinaryHingeLoss(nn.Module):
    r"""Binary hinge loss ``max(0, margin - t * z)`` of scores ``z``, with the labels mapped to
    ``t`` in {-1, 1}, or its square with ``squared=True``.

    See :func:`lossbook.functional.binary_hinge_loss` and
    :func:`lossbook.functional.squared_hinge_loss` for the formulas.

    Args:
        margin: ``Δ >= 0``, the margin ``t z`` beyond which an example costs nothing.
        reduction: ``'mean'``, ``'sum'`` or ``'none'``.
        squared: use the squared hinge ``max(0, Δ - t z)^2``.

    Called as ``loss_fn(scores, target)``: ``scores`` are raw scores (not probabilities) of
    any shape and a float dtype, ``target`` labels of the same shape in {0, 1} or in
    {-1, 1}; the result is a scalar, or of ``scores.shape`` for ``reduction='none'``.

    Raises:
        ValueError: at construction, a negative ``margin`` or an unknown ``reduction``; when
            called, whatever the functional form raises (labels in neither convention, a mix
            of both, different shapes, ...).
    """

    def __init__(self, margin: float = 1.0, reduction: str = "mean", squared: bool = False):
        super().__init__()
        self.margin = checks.check_number("margin", margin, low=0)
        checks.check_reduction(reduction)
        self.reduction = reduction
        self.squared = bool(squared)

    def forward(self, scores: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
        loss = functional.squared_hinge_loss if self.squared else functional.binary_hinge_loss
        return loss(scores, target, margin=self.margin, reduction=self.reduction)

    def extra_repr(self) -> str:
        return f"margin={self.margin}, reduction={self.reduction!r}, squared={self.squared}"


class FocalLoss(nn.Module):
    r"""Sigmoid focal loss ``alpha_t (1 - p_t)^gamma BCE(z, y)`` as a loss module.

    See :func:`lossbook.functional.sigmoid_focal_loss` for the formula; the options mean
    the same there and here, and ``alpha`` and ``gamma`` have torchvision's defaults.

    The default ``reduction`` differs on purpose: ``'mean'`` here, ``'none'`` in the
    functional form. The function mirrors ``torchvision.ops.sigmoid_focal_loss``, whose
    default is ``'none'``; this module stands in for ``nn.BCEWithLogitsLoss`` in a training
    loop, and torch's loss modules all default to ``'mean'``, a scalar that ``backward()``
    accepts. Pass ``reduction='none'`` to get torchvision's elementwise result.

    Args:
        alpha: weight of the positive class in [0, 1] (0.25 gives positives a third of the
            weight of negatives), or negative for no weighting.
        gamma: focusing parameter ``>= 0``; 0 gives (``alpha``-weighted) BCE with logits.
        reduction: ``'mean'``, ``'sum'`` or ``'none'``.

    Called as ``loss_fn(logits, target)``: float logits of any shape and float targets in
    [0, 1] of the same shape; the result is a scalar, or of the logits' shape for
    ``reduction='none'``.

    Raises:
        ValueError: at construction, ``alpha`` above 1, a negative ``gamma`` or an unknown
            ``reduction``; when called, whatever the functional form raises.
    """

    def __init__(self, alpha: float = 0.25, gamma: float = 2.0, reduction: str = "mean"):
        super().__init__()
        self.alpha = checks.check_number("alpha", alpha, high=1)
        self.gamma = checks.check_number("gamma", gamma, low=0)
        checks.check_reduction(reduction)
        self.reduction = reduction

    def forward(self, input: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
        return functional.sigmoid_focal_loss(input, target, alpha=self.alpha,
                                             gamma=self.gamma, reduction=self.reduction)

    def extra_repr(self) -> str:
        return f"alpha={self.alpha}, gamma={self.gamma}, reduction={self.reduction!r}"


class SymmetricCrossEntropy(nn.Module):
    r"""Symmetric cross entropy ``alpha * CE + beta * RCE`` of logits against class indices,
    with ``RCE = -log(clamp) * (1 - p_y)`` (Wang et al., ICCV 2019).

    See :func:`lossbook.functional.symmetric_cross_entropy` for the formula. The defaults
    are the official code's CIFAR-10 setting; the paper used ``alpha=0.01, beta=1.0`` on
    MNIST and ``alpha=6.0, beta=0.1`` on CIFAR-100
    (:data:`lossbook.functional.SCE_SETTINGS`).

    Args:
        alpha: weight ``>= 0`` of the cross entropy.
        beta: weight ``>= 0`` of the reverse cross entropy.
        clamp: in (0, 1], the value that replaces the zeros of the one-hot target before
            its log (``1e-4`` in the official code).
        reduction: ``'mean'``, ``'sum'`` or ``'none'``.

    Called as ``loss_fn(logits, target)``: ``logits`` of shape ``(N, C)`` (or ``(C,)``,
    ``(N, C, d1, ...)``) and a float dtype, ``target`` class indices of shape ``(N,)``
    (the logits' shape without the class dimension), dtype int64 or uint8; the result is a
    scalar, or of the target's shape for ``reduction='none'``.

    Raises:
        ValueError: at construction, a negative ``alpha`` or ``beta``, a ``clamp`` outside
            (0, 1], an unknown ``reduction``; when called, whatever the functional form
            raises (a single class, targets out of range or of the wrong dtype, ...).
    """

    def __init__(self, alpha: float = 0.1, beta: float = 1.0, clamp: float = 1e-4,
                 reduction: str = "mean"):
        super().__init__()
        self.alpha, self.beta, self.clamp = functional._check_sce_options(alpha, beta, clamp,
                                                                           reduction)
        self.reduction = reduction

    def forward(self, logits: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
        return functional.symmetric_cross_entropy(
            logits, target, alpha=self.alpha, beta=self.beta, clamp=self.clamp,
            reduction=self.reduction,
        )

    def extra_repr(self) -> str:
        return (f"alpha={self.alpha}, beta={self.beta}, clamp={self.clamp}, "
                f"reduction={self.reduction!r}")
