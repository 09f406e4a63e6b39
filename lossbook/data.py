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
