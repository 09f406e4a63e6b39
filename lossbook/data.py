"""Seeded data for the chapters: synthetic scores and classes, the real data sets that ship
with scikit-learn, class imbalance and label noise.

Every generator takes a ``seed`` and draws from its own ``torch.Generator``, so its result
does not depend on what ran before it, and draws only through :func:`randn` and
``torch.rand``, so it is the same on every CPU.
"""

from __future__ import annotations

import typing

import torch


def randn(*size: int, generator: torch.Generator | None = None,
          dtype: torch.dtype = torch.float32) -> torch.Tensor:
    r"""Standard normal draws, like ``torch.randn``, that are the same on every CPU.

    ``torch.randn`` on the CPU has a vectorised kernel (AVX2, AVX-512) and a scalar one, and
    they round differently: the same seed gives different floats on different processors.
    ``torch.rand`` is computed from integers and is the same everywhere, so this draws two
    uniforms :math:`u_1, u_2` per value and applies the Box–Muller transform in float64,

    .. math::

        x = \sqrt{-2 \ln(1 - u_1)}\, \cos(2 \pi u_2) \sim \mathcal{N}(0, 1),

    then rounds to ``dtype``. Rounding to float32 (or a smaller float) hides the last-bit
    differences of the float64 ``log`` and ``cos`` between CPUs, so those draws are the same
    everywhere; float64 draws may differ in their last bit.

    Args:
        size: the shape, as in ``torch.randn(2, 3)``.
        generator: the ``torch.Generator`` to draw from (default: torch's global one).
        dtype: a floating dtype for the result.

    Returns:
        A tensor of shape ``size`` and dtype ``dtype``.
    """
    if not all(isinstance(side, int) and side >= 0 for side in size):
        raise ValueError(f"size must be non-negative ints, got {size!r}")
    if not dtype.is_floating_point:
        raise TypeError(f"dtype must be a floating dtype, got {dtype}")
    u = torch.rand(2, *size, generator=generator, dtype=torch.float64)
    x = torch.sqrt(-2 * torch.log1p(-u[0])) * torch.cos(2 * torch.pi * u[1])
    return x.to(dtype)


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

        z \mid y = 0 \sim \mathcal{N}(-d/2, \mathrm{sd}^2), \qquad
        z \mid y = 1 \sim \mathcal{N}(+d/2, \mathrm{sd}^2)

    with ``d = separation`` and ``sd = std``: the larger ``d / sd``, the better the
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
    noise = randn(n, generator=gen) * std
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


def _check_features_and_labels(x: torch.Tensor, y: torch.Tensor) -> None:
    if x.dim() != 2:
        raise ValueError(f"x must have shape (N, D), got shape {tuple(x.shape)}")
    if y.dim() != 1:
        raise ValueError(f"y must have shape (N,), got shape {tuple(y.shape)}")
    if len(x) != len(y):
        raise ValueError(f"x and y must have the same length, got {len(x)} and {len(y)}")


def _standardized(train, *others):
    """``train`` and ``others`` standardised with the mean and deviation of ``train`` alone."""
    from sklearn.preprocessing import StandardScaler

    scaler = StandardScaler().fit(train)
    return tuple(scaler.transform(a) for a in (train, *others))


def _float32(a) -> torch.Tensor:
    return torch.tensor(a, dtype=torch.float32)


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

        x' = (x - \mu_{\text{train}}) / \mathrm{sd}_{\text{train}}

    with the mean and standard deviation of the *training* rows only
    (``sklearn.preprocessing.StandardScaler``), so nothing about the test rows leaks into
    training.

    Args:
        x: features of shape ``(N, D)``.
        y: class labels of shape ``(N,)`` (0/1 for a binary task, or class indices).
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

    _check_features_and_labels(x, y)
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
        x_train, x_test = _standardized(x_train, x_test)
    return tuple(_float32(a) for a in (x_train, x_test, y_train, y_test))


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
    x = randn(n, dim, generator=gen) + (y[:, None] - 0.5) * separation * u
    prior = torch.log(torch.tensor(positive_fraction / (1 - positive_fraction)))
    true_logit = separation * (x @ u) + prior
    return x, y, true_logit


class Splits(typing.NamedTuple):
    """Train, validation and test parts of a data set, as returned by
    :func:`train_val_test_split`; unpacks in this order, or read the fields by name."""

    x_train: torch.Tensor
    y_train: torch.Tensor
    x_val: torch.Tensor
    y_val: torch.Tensor
    x_test: torch.Tensor
    y_test: torch.Tensor


def train_val_test_split(
    x: torch.Tensor,
    y: torch.Tensor,
    val_fraction: float = 0.2,
    test_fraction: float = 0.2,
    seed: int = 0,
    standardize: bool = True,
) -> Splits:
    r"""A stratified train/validation/test split, standardised by the training part only.

    Two stratified ``sklearn.model_selection.train_test_split`` calls: the first holds out
    ``test_fraction`` of the rows as the test part, the second takes ``val_fraction`` of
    all rows from what is left as the validation part. Each part keeps (nearly) the
    fraction of each class of the whole. The validation part is for choices made after
    training (a decision threshold, an epoch, a hyperparameter); the test part is scored
    once, at the end. With ``standardize``, every part is transformed by

    .. math::

        x' = (x - \mu_{\text{train}}) / \mathrm{sd}_{\text{train}}

    fitted on the training rows alone (``sklearn.preprocessing.StandardScaler``).

    Args:
        x: features of shape ``(N, D)``.
        y: class labels of shape ``(N,)`` (0/1 for a binary task, or class indices).
        val_fraction, test_fraction: shares of all rows, each in (0, 1), summing to less
            than 1.
        seed: seeds both splits.
        standardize: standardise the features as above.

    Returns:
        :class:`Splits` ``(x_train, y_train, x_val, y_val, x_test, y_test)``, float32.

    Raises:
        ValueError: as :func:`train_test_split`; fractions outside (0, 1) or summing to 1 or
            more; a class too small to appear in all three parts.
    """
    from sklearn.model_selection import train_test_split as sk_split

    _check_features_and_labels(x, y)
    for name, value in (("val_fraction", val_fraction), ("test_fraction", test_fraction)):
        if not 0 < value < 1:
            raise ValueError(f"{name} must be in (0, 1), got {value!r}")
    if val_fraction + test_fraction >= 1:
        raise ValueError(f"val_fraction + test_fraction must be below 1, got "
                         f"{val_fraction} + {test_fraction}")
    counts = torch.bincount(y.long(), minlength=2)
    if counts.min() < 3:
        raise ValueError(f"y must hold at least 3 rows of each class, one per part, got "
                         f"counts {counts.tolist()}")
    x_np, y_np = x.double().numpy(), y.numpy()
    x_rest, x_test, y_rest, y_test = sk_split(
        x_np, y_np, test_size=test_fraction, stratify=y_np, random_state=seed)
    x_train, x_val, y_train, y_val = sk_split(
        x_rest, y_rest, test_size=val_fraction / (1 - test_fraction), stratify=y_rest,
        random_state=seed)
    if standardize:
        x_train, x_val, x_test = _standardized(x_train, x_val, x_test)
    return Splits(*(_float32(a) for a in (x_train, y_train, x_val, y_val, x_test, y_test)))


def imbalanced_breast_cancer(
    positive_fraction: float = 0.05,
    seed: int = 0,
    val_fraction: float = 0.25,
    test_fraction: float = 0.25,
) -> Splits:
    """The imbalanced breast cancer data of chapters 7 and 8, split and standardised.

    :func:`breast_cancer`, with positives (malignant) subsampled to ``positive_fraction``
    by :func:`subsample_positives`, then split by :func:`train_val_test_split`; ``seed``
    seeds both steps. At the default 5 %, 19 of the 212 malignant tumours are kept with
    the 357 benign ones: about 9 positives to train on, 5 to validate and 5 to test.

    Returns:
        :class:`Splits`, float32, features standardised by the training rows.
    """
    x, y = breast_cancer()
    x, y = subsample_positives(x, y, positive_fraction=positive_fraction, seed=seed)
    return train_val_test_split(x, y, val_fraction=val_fraction,
                                test_fraction=test_fraction, seed=seed)


def digits() -> tuple[torch.Tensor, torch.Tensor]:
    """scikit-learn's bundled handwritten digits (no download): 10 classes.

    1797 images of 8 x 8 pixels, flattened to 64 features with integer grey levels 0 to 16,
    about 180 images per digit. Standardise the features before training (for example with
    :func:`train_test_split`).

    Returns:
        ``(x, y)``: float32 pixels of shape ``(1797, 64)`` and int64 class indices
        ``(1797,)`` in 0..9, as ``CrossEntropyLoss`` takes them.
    """
    from sklearn.datasets import load_digits

    bunch = load_digits()
    return torch.tensor(bunch.data, dtype=torch.float32), torch.tensor(bunch.target, dtype=torch.int64)


def symmetric_label_noise(labels: torch.Tensor, rate: float, n_classes: int,
                          seed: int = 0) -> torch.Tensor:
    """Labels with a fraction ``rate`` of them flipped to a different class, uniformly.

    Exactly ``round(rate * N)`` examples, chosen uniformly without replacement, get a new
    label drawn uniformly from the ``n_classes - 1`` classes other than their own (the
    "symmetric" noise of the label-noise literature, as in Wang et al., 2019); the other
    labels are kept. So the noisy label is wrong exactly where it differs from the original,
    and ``(noisy != labels).float().mean()`` is ``rate`` up to rounding.

    Args:
        labels: class indices of shape ``(N,)``, an integer dtype, values in
            ``[0, n_classes - 1]``.
        rate: the fraction of labels to flip, in [0, 1].
        n_classes: the number of classes, at least 2.
        seed: seeds the choice of the examples and of their new labels.

    Returns:
        A new tensor of the labels' shape and dtype; ``labels`` is not modified.

    Raises:
        TypeError: ``labels`` not an integer tensor.
        ValueError: ``labels`` not 1-D or out of range, ``rate`` outside [0, 1],
            ``n_classes`` below 2.
    """
    if not isinstance(labels, torch.Tensor) or labels.is_floating_point() or labels.dtype == torch.bool:
        got = labels.dtype if isinstance(labels, torch.Tensor) else type(labels).__name__
        raise TypeError(f"labels must be an integer tensor of class indices, got {got}")
    if labels.dim() != 1:
        raise ValueError(f"labels must have shape (N,), got shape {tuple(labels.shape)}")
    if not isinstance(n_classes, int) or isinstance(n_classes, bool) or n_classes < 2:
        raise ValueError(f"n_classes must be an int >= 2, got {n_classes!r}")
    if not (isinstance(rate, (int, float)) and not isinstance(rate, bool) and 0 <= rate <= 1):
        raise ValueError(f"rate must be a number in [0, 1], got {rate!r}")
    if len(labels) and (labels.min() < 0 or labels.max() >= n_classes):
        raise ValueError(
            f"labels must hold class indices in [0, {n_classes - 1}], got values in "
            f"[{labels.min().item()}, {labels.max().item()}]"
        )
    gen = torch.Generator().manual_seed(seed)
    n_flip = round(rate * len(labels))
    flipped = torch.randperm(len(labels), generator=gen)[:n_flip]
    # adding 1..C-1 (mod C) reaches each other class exactly once: uniform over them
    shift = torch.randint(1, n_classes, (n_flip,), generator=gen)
    noisy = labels.clone()
    noisy[flipped] = ((labels[flipped].long() + shift) % n_classes).to(labels.dtype)
    return noisy
