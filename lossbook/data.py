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


def train_test_split(
    x: torch.Tensor,
    y: torch.Tensor,
    test_fraction: float = 0.3,
    seed: int = 0,
    standardize: bool = True,
) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor, torch.Tensor]:
    r"""A stratified train/test split, with features standardised by the training part.

    ``sklearn.model_selection.train_test_split`` with ``stratify=y`` keeps the fraction of
    positives (nearly) equal in both parts. With ``standardize``, each feature becomes

    .. math::

        x' = (x - \mu_{\text{train}}) / \sigma_{\text{train}}

    with the mean and standard deviation of the *training* rows only
    (``sklearn.preprocessing.StandardScaler``), so nothing about the test rows leaks into
    training.

    Args:
        x: features of shape ``(N, D)``.
        y: labels 0/1 of shape ``(N,)``.
        test_fraction: share of the rows held out, in (0, 1).
        seed: seeds the split.
        standardize: standardise the features as above.

    Returns:
        ``(x_train, x_test, y_train, y_test)``, float32 tensors.

    Raises:
        ValueError: ``x`` not 2-D, ``y`` not 1-D, different lengths, ``test_fraction``
            outside (0, 1), or a class with fewer than 2 rows (it cannot be in both parts).
    """
    from sklearn.model_selection import train_test_split as sk_split
    from sklearn.preprocessing import StandardScaler

    if x.dim() != 2:
        raise ValueError(f"x must have shape (N, D), got shape {tuple(x.shape)}")
    if y.dim() != 1:
        raise ValueError(f"y must have shape (N,), got shape {tuple(y.shape)}")
    if len(x) != len(y):
        raise ValueError(f"x and y must have the same length, got {len(x)} and {len(y)}")
    if not 0 < test_fraction < 1:
        raise ValueError(f"test_fraction must be in (0, 1), got {test_fraction!r}")
    counts = torch.bincount(y.long(), minlength=2)
    if counts.min() < 2:
        raise ValueError(f"y must hold at least 2 rows of each class, got counts {counts.tolist()}")
    x_np, y_np = x.double().numpy(), y.numpy()
    x_train, x_test, y_train, y_test = sk_split(
        x_np, y_np, test_size=test_fraction, stratify=y_np, random_state=seed
    )
    if standardize:
        scaler = StandardScaler().fit(x_train)
        x_train, x_test = scaler.transform(x_train), scaler.transform(x_test)
    as_tensor = lambda a: torch.tensor(a, dtype=torch.float32)  # noqa: E731
    return as_tensor(x_train), as_tensor(x_test), as_tensor(y_train), as_tensor(y_test)


def gaussian_classes(
    n: int = 1000,
    dim: int = 2,
    separation: float = 2.0,
    positive_fraction: float = 0.5,
    seed: int = 0,
) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    r"""Two Gaussian classes whose true class probability is known: logistic in ``x``.

    Each row is positive with probability :math:`\pi` = ``positive_fraction``; its
    features are drawn from

    .. math::

        x \mid y = 1 \sim \mathcal{N}(+\tfrac{d}{2} u, I), \qquad
        x \mid y = 0 \sim \mathcal{N}(-\tfrac{d}{2} u, I), \qquad
        u = (1, \dots, 1) / \sqrt{D}

    with ``d = separation``. Bayes' rule then gives the exact log-odds of the positive class

    .. math::

        \log \frac{P(y = 1 \mid x)}{P(y = 0 \mid x)} = d\, u^\top x + \log \frac{\pi}{1 - \pi},

    a linear function of ``x``: logistic regression is the right model, and its best
    probabilities are ``sigmoid`` of this true logit.

    Returns:
        ``(x, y, true_logit)``: float32 features ``(n, dim)``, labels ``(n,)`` of 0.0 and
        1.0, and the true log-odds ``(n,)``.

    Raises:
        ValueError: ``n`` or ``dim`` not a positive int, ``separation < 0``,
            ``positive_fraction`` outside (0, 1).
    """
    for name, value in (("n", n), ("dim", dim)):
        if not isinstance(value, int) or value < 1:
            raise ValueError(f"{name} must be a positive int, got {value!r}")
    if not separation >= 0:
        raise ValueError(f"separation must be >= 0, got {separation!r}")
    if not 0 < positive_fraction < 1:
        raise ValueError(f"positive_fraction must be in (0, 1), got {positive_fraction!r}")
    gen = torch.Generator().manual_seed(seed)
    y = (torch.rand(n, generator=gen) < positive_fraction).float()
    u = torch.ones(dim) / dim ** 0.5
    x = torch.randn(n, dim, generator=gen) + (y[:, None] - 0.5) * separation * u
    prior = torch.log(torch.tensor(positive_fraction / (1 - positive_fraction)))
    true_logit = separation * (x @ u) + prior
    return x, y, true_logit
