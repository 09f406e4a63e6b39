"""``nn.Module`` wrappers for the losses torch lacks.

Each module stores its options, validates them once when it is built, and calls the
function of the same loss in :mod:`lossbook.functional`, so it can replace a torch loss
module in a training loop: ``loss_fn = BinaryHingeLoss(); loss = loss_fn(scores, target)``.
"""

from __future__ import annotations

import torch
from torch import nn

from lossbook import checks, functional


class BinaryHingeLoss(nn.Module):
    r"""Binary hinge loss ``max(0, margin - y * s)``, or its square with ``squared=True``.

    See :func:`lossbook.functional.binary_hinge_loss` and
    :func:`lossbook.functional.squared_hinge_loss` for the formulas.

    Args:
        margin: ``m >= 0``, the margin ``y * s`` beyond which an example costs nothing.
        reduction: ``'mean'``, ``'sum'`` or ``'none'``.
        squared: use the squared hinge ``max(0, m - y s)^2``.

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
        checks.check_number("margin", margin, low=0)
        checks.check_reduction(reduction)
        self.margin = margin
        self.reduction = reduction
        self.squared = bool(squared)

    def forward(self, scores: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
        loss = functional.squared_hinge_loss if self.squared else functional.binary_hinge_loss
        return loss(scores, target, margin=self.margin, reduction=self.reduction)

    def extra_repr(self) -> str:
        return f"margin={self.margin}, reduction={self.reduction!r}, squared={self.squared}"
