"""Seeded data for the chapters: synthetic scores now, bundled real data sets later.

Every generator takes a ``seed`` and draws from its own ``torch.Generator``, so its result
does not depend on what ran before it.
"""

from __future__ import annotations

import torch


def two_class_scores(
    n: int = 1000,
    separation: float = 2.0,
    std: float = 1.0,
    positive_fraction: float = 0.5,
    seed: int = 0,
) -> tuple[torch.Tensor, torch.Tensor]:
    r"""Scores (logits) of a binary classifier for two classes of normal scores.

    Each sample is positive with probability ``positive_fraction``; its score is drawn from

    .. math::

        z \mid y = 0 \sim \mathcal{N}(-d/2, \sigma^2), \qquad
        z \mid y = 1 \sim \mathcal{N}(+d/2, \sigma^2)

    with ``d = separation`` and ``sigma = std``: the larger ``d / sigma``, the better the
    scores separate the classes and the lower their cross entropy.

    Returns:
        ``(scores, target)``, both float32 of shape ``(n,)``; ``target`` holds 0.0 and 1.0.

    Raises:
        ValueError: ``n < 1``, ``std <= 0``, ``separation < 0`` or ``positive_fraction``
            outside [0, 1].
    """
    if not isinstance(n, int) or n < 1:
        raise ValueError(f"n must be a positive int, got {n!r}")
    if not std > 0:
        raise ValueError(f"std must be > 0, got {std!r}")
    if not separation >= 0:
        raise ValueError(f"separation must be >= 0, got {separation!r}")
    if not 0 <= positive_fraction <= 1:
        raise ValueError(f"positive_fraction must be in [0, 1], got {positive_fraction!r}")
    gen = torch.Generator().manual_seed(seed)
    target = (torch.rand(n, generator=gen) < positive_fraction).float()
    noise = torch.randn(n, generator=gen) * std
    scores = (target - 0.5) * separation + noise
    return scores, target


def breast_cancer() -> tuple[torch.Tensor, torch.Tensor]:
    """scikit-learn's bundled Wisconsin breast cancer data set (no download).

    569 tumours with 30 real-valued features. The target is 1 for *malignant* (212
    tumours, 37 %) and 0 for benign: scikit-learn codes malignant as 0, and this function
    flips it so that the positive class is the one a screening model looks for.

    Returns:
        ``(x, y)``: float32 features of shape ``(569, 30)`` and float32 labels ``(569,)``.
    """
    from sklearn.datasets import load_breast_cancer

    bunch = load_breast_cancer()
    x = torch.tensor(bunch.data, dtype=torch.float32)
    y = torch.tensor(bunch.target == 0, dtype=torch.float32)
    return x, y


def subsample_positives(
    x: torch.Tensor, y: torch.Tensor, positive_fraction: float, seed: int = 0
) -> tuple[torch.Tensor, torch.Tensor]:
    """Make a binary data set more imbalanced by keeping a random subset of its positives.

    Keeps every negative and ``k`` randomly chosen positives, ``k`` chosen so that positives
    make up ``positive_fraction`` of the result (rounded, at least 1). The order of the kept
    rows is preserved.

    Raises:
        ValueError: ``positive_fraction`` not in (0, current fraction of positives], or
            ``x`` and ``y`` of different lengths.
    """
    if len(x) != len(y):
        raise ValueError(f"x and y must have the same length, got {len(x)} and {len(y)}")
    positives = torch.nonzero(y == 1).squeeze(1)
    n_neg = len(y) - len(positives)
    current = len(positives) / len(y)
    if not 0 < positive_fraction <= current:
        raise ValueError(
            f"positive_fraction must be in (0, {current:.4g}] (the current fraction), "
            f"got {positive_fraction!r}"
        )
    k = max(1, round(positive_fraction * n_neg / (1 - positive_fraction)))
    gen = torch.Generator().manual_seed(seed)
    kept = positives[torch.randperm(len(positives), generator=gen)[:k]]
    keep = (y == 0).clone()
    keep[kept] = True
    return x[keep], y[keep]
