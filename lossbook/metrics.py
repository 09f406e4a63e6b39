"""Metrics of a binary classifier on held-out data: a metrics table and calibration.

Everything here takes the labels ``target`` (0/1) and the model's predicted probabilities
of the positive class ``prob`` (``torch.sigmoid(logits)``), both one-dimensional of the same
length ``N``, as torch tensors, NumPy arrays or lists. The threshold metrics, the areas
under the curves and the binning of the reliability curve come from scikit-learn; this
module adds input checks, the expected calibration error, and tables.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd
import torch

#: The columns of :func:`binary_metrics`, in order.
METRICS = ("precision", "recall", "F1", "ROC AUC", "PR AUC")
STRATEGIES = ("uniform", "quantile")


def _as_array(name: str, x) -> np.ndarray:
    """``x`` as a 1-D float64 NumPy array, or a ``TypeError``/``ValueError`` naming ``name``."""
    if isinstance(x, torch.Tensor):
        x = x.detach().cpu().double().numpy()
    elif isinstance(x, (np.ndarray, list, tuple)):
        x = np.asarray(x)
        if x.dtype == object or not (np.issubdtype(x.dtype, np.number) or x.dtype == bool):
            raise TypeError(f"{name} must hold numbers, got dtype {x.dtype}")
        x = x.astype(np.float64)
    else:
        raise TypeError(
            f"{name} must be a torch.Tensor, a NumPy array or a list, got {type(x).__name__}"
        )
    if x.ndim != 1:
        raise ValueError(
            f"{name} must be one-dimensional of shape (N,), got shape {x.shape}; "
            f"for a model output of shape (N, 1) use .squeeze(-1)"
        )
    if len(x) == 0:
        raise ValueError(f"{name} must hold at least one value, got an empty array")
    if not np.isfinite(x).all():
        raise ValueError(f"{name} must be finite, got {int((~np.isfinite(x)).sum())} NaN or "
                         f"infinite value(s)")
    return x


def _check_pair(target, prob) -> tuple[np.ndarray, np.ndarray]:
    """Validate labels and probabilities (see the module docstring) and return them as arrays."""
    y = _as_array("target", target)
    p = _as_array("prob", prob)
    if len(y) != len(p):
        raise ValueError(f"target and prob must have the same length, got {len(y)} and {len(p)}")
    if not np.isin(y, (0.0, 1.0)).all():
        raise ValueError(
            f"target must hold labels 0 and 1, got values {np.unique(y)[:5].tolist()}"
        )
    if p.min() < 0 or p.max() > 1:
        raise ValueError(
            f"prob must hold probabilities in [0, 1], got values in [{p.min():.4g}, "
            f"{p.max():.4g}]; if these are logits, apply torch.sigmoid first"
        )
    return y, p


def _check_n_bins(n_bins, strategy) -> None:
    if not isinstance(n_bins, (int, np.integer)) or isinstance(n_bins, bool) or n_bins < 1:
        raise ValueError(f"n_bins must be a positive int, got {n_bins!r}")
    if strategy not in STRATEGIES:
        raise ValueError(f"strategy must be one of {STRATEGIES}, got {strategy!r}")


def binary_metrics(target, prob, threshold: float = 0.5) -> dict[str, float]:
    r"""Precision, recall, F1, ROC AUC and PR AUC of predicted probabilities.

    A prediction is positive when ``prob >= threshold``. With TP, FP, FN the counts of true
    positives, false positives and false negatives:

    .. math::

        \mathrm{precision} = \frac{TP}{TP + FP}, \quad
        \mathrm{recall} = \frac{TP}{TP + FN}, \quad
        F_1 = \frac{2\,\mathrm{precision}\cdot\mathrm{recall}}{\mathrm{precision} + \mathrm{recall}}

    (precision is 0 when nothing is predicted positive). ROC AUC is the area under the ROC
    curve, the probability that a random positive gets a higher ``prob`` than a random
    negative (ties count half); PR AUC is scikit-learn's average precision,
    :math:`\sum_k (R_k - R_{k-1}) P_k` over the thresholds. The two areas depend only on the
    order of ``prob``, not on ``threshold``.

    Args:
        target: labels 0/1, shape ``(N,)``, with both classes present.
        prob: predicted probabilities of the positive class in [0, 1], shape ``(N,)``.
        threshold: in (0, 1].

    Returns:
        ``{name: value}`` for the names in :data:`METRICS`, as Python floats.

    Raises:
        TypeError: an argument that is not a tensor, an array or a list of numbers.
        ValueError: shapes other than ``(N,)``, different lengths, labels other than 0 and
            1 or a single class, probabilities outside [0, 1], a ``threshold`` outside
            (0, 1].
    """
    from sklearn.metrics import (average_precision_score, f1_score, precision_score,
                                 recall_score, roc_auc_score)

    y, p = _check_pair(target, prob)
    if not 0 < threshold <= 1:
        raise ValueError(f"threshold must be in (0, 1], got {threshold!r}")
    if len(np.unique(y)) < 2:
        raise ValueError(
            f"target must contain both classes for ROC AUC and PR AUC, got only {int(y[0])}s"
        )
    predicted = (p >= threshold).astype(int)
    labels = y.astype(int)
    return {
        "precision": float(precision_score(labels, predicted, zero_division=0)),
        "recall": float(recall_score(labels, predicted, zero_division=0)),
        "F1": float(f1_score(labels, predicted, zero_division=0)),
        "ROC AUC": float(roc_auc_score(labels, p)),
        "PR AUC": float(average_precision_score(labels, p)),
    }


def reliability_curve(target, prob, n_bins: int = 10, strategy: str = "uniform") -> pd.DataFrame:
    r"""The data of a reliability diagram: per bin of ``prob``, the mean predicted
    probability against the fraction of positives.

    Bins are ``n_bins`` equal-width intervals of [0, 1] (``strategy='uniform'``) or
    intervals holding equal numbers of predictions (``'quantile'``); a probability on an
    inner edge belongs to the bin on its left, as in
    ``sklearn.calibration.calibration_curve``, which computes the two means. Empty bins are
    left out. A calibrated model has ``fraction positive`` close to ``mean predicted`` in
    every bin.

    Args:
        target: labels 0/1, shape ``(N,)``.
        prob: predicted probabilities of the positive class in [0, 1], shape ``(N,)``.
        n_bins: number of bins, a positive int.
        strategy: ``'uniform'`` or ``'quantile'``.

    Returns:
        One row per non-empty bin, columns ``lower`` and ``upper`` (the bin's edges),
        ``count`` (predictions in it), ``mean predicted`` and ``fraction positive``.

    Raises:
        TypeError, ValueError: as :func:`binary_metrics` for ``target`` and ``prob`` (a
            single class is allowed here); a bad ``n_bins`` or ``strategy``.
    """
    from sklearn.calibration import calibration_curve

    y, p = _check_pair(target, prob)
    _check_n_bins(n_bins, strategy)
    if strategy == "uniform":
        edges = np.linspace(0.0, 1.0, n_bins + 1)
    else:
        edges = np.percentile(p, np.linspace(0, 1, n_bins + 1) * 100)
    # The same assignment calibration_curve makes internally: searchsorted on inner edges.
    counts = np.bincount(np.searchsorted(edges[1:-1], p), minlength=n_bins)
    nonempty = counts > 0
    if len(np.unique(y)) == 2:
        fraction, mean = calibration_curve(y, p, n_bins=n_bins, strategy=strategy)
    else:  # calibration_curve needs two labels to know which is positive
        ids = np.searchsorted(edges[1:-1], p)
        fraction = (np.bincount(ids, weights=y, minlength=n_bins) / np.maximum(counts, 1))[nonempty]
        mean = (np.bincount(ids, weights=p, minlength=n_bins) / np.maximum(counts, 1))[nonempty]
    return pd.DataFrame({
        "lower": edges[:-1][nonempty],
        "upper": edges[1:][nonempty],
        "count": counts[nonempty],
        "mean predicted": mean,
        "fraction positive": fraction,
    })


def expected_calibration_error(target, prob, n_bins: int = 10,
                               strategy: str = "uniform") -> float:
    r"""Expected calibration error (ECE) of the positive-class probability.

    .. math::

        \mathrm{ECE} = \sum_{b} \frac{n_b}{N}\,
            \left| \bar{y}_b - \bar{p}_b \right|

    over the bins of :func:`reliability_curve`: ``n_b`` predictions in bin ``b``, of mean
    probability :math:`\bar{p}_b` and fraction of positives :math:`\bar{y}_b`. It is 0 for
    a model whose predicted probability matches the observed frequency in every bin, and
    at most 1. Guo et al. (2017) bin the confidence of the *predicted* class instead; for a
    binary model that folds the bins of ``prob`` and ``1 - prob`` together, so the two
    definitions can differ a little.

    Args:
        target: labels 0/1, shape ``(N,)``.
        prob: predicted probabilities of the positive class in [0, 1], shape ``(N,)``.
        n_bins: number of bins, a positive int.
        strategy: ``'uniform'`` or ``'quantile'`` bins, as in :func:`reliability_curve`.

    Returns:
        The ECE as a Python float.

    Raises:
        TypeError, ValueError: as :func:`reliability_curve`.
    """
    curve = reliability_curve(target, prob, n_bins=n_bins, strategy=strategy)
    gaps = (curve["fraction positive"] - curve["mean predicted"]).abs()
    return float((curve["count"] * gaps).sum() / curve["count"].sum())


def summarize(frame: pd.DataFrame, by: str | Sequence[str],
              columns: Sequence[str] | None = None, digits: int = 3) -> pd.DataFrame:
    """Mean ± standard deviation of metric columns over repeated runs (seeds), as text.

    Args:
        frame: one row per run, with the grouping column(s) ``by`` and numeric columns.
        by: the column(s) that name a setting; the rows of one setting are its runs.
        columns: the columns to summarise (default: every numeric column except ``by`` and
            a ``seed`` column).
        digits: decimals printed for the mean and the (sample, ``ddof=1``) std.

    Returns:
        One row per setting, in order of first appearance, each cell ``"mean ± std"``
        (NaN values skipped; just the mean for a single run; ``"–"`` when a setting has no
        value in that column).

    Raises:
        TypeError: ``frame`` not a DataFrame.
        ValueError: ``by`` or a column missing from ``frame``.
    """
    if not isinstance(frame, pd.DataFrame):
        raise TypeError(f"frame must be a pandas DataFrame, got {type(frame).__name__}")
    keys = [by] if isinstance(by, str) else list(by)
    if columns is None:
        columns = [c for c in frame.select_dtypes("number").columns
                   if c not in keys and c != "seed"]
    missing = [c for c in [*keys, *columns] if c not in frame.columns]
    if missing:
        raise ValueError(f"by and columns must be columns of frame {list(frame.columns)}, "
                         f"got missing {missing}")
    grouped = frame.groupby(keys, sort=False)[list(columns)]
    mean, std = grouped.mean(), grouped.std(ddof=1)
    def cell(m, s):
        if np.isnan(m):
            return "–"
        return f"{m:.{digits}f}" if np.isnan(s) else f"{m:.{digits}f} ± {s:.{digits}f}"

    text = {c: [cell(m, s) for m, s in zip(mean[c], std[c])] for c in columns}
    return pd.DataFrame(text, index=mean.index)


def choose_threshold(target, prob, min_recall: float | None = None) -> float:
    r"""A decision threshold chosen on validation data: best F1, or a recall to reach.

    Every distinct value of ``prob`` is a candidate threshold ``τ`` (predict positive when
    ``prob >= τ``), with its precision and recall from
    ``sklearn.metrics.precision_recall_curve``. Without ``min_recall`` the candidate of
    highest F1 wins (the lowest such candidate on a tie); with it, the highest candidate
    whose recall is at least ``min_recall`` (so precision is as high as that recall
    allows). The threshold returned lies halfway between the winner and the next lower
    value of ``prob``, so that a held-out example scored a little below the winner is
    decided the same way as the validation example at the winner; when there is no lower
    value, it is the winner itself.

    Choose it on validation rows and apply it to the test rows: a threshold chosen on the
    rows it is then scored on makes the scores look better than they are.

    Args:
        target: labels 0/1, shape ``(N,)``, with both classes present.
        prob: predicted probabilities of the positive class in [0, 1], shape ``(N,)``
            (any increasing transform of a score, such as ``sigmoid``, works too).
        min_recall: ``None``, or the recall to reach, in (0, 1].

    Returns:
        The threshold, a Python float in ``(0, 1]`` (unless the winner is 0).

    Raises:
        TypeError, ValueError: as :func:`binary_metrics` for ``target`` and ``prob``; a
            ``min_recall`` outside (0, 1].
    """
    from sklearn.metrics import precision_recall_curve

    y, p = _check_pair(target, prob)
    if len(np.unique(y)) < 2:
        raise ValueError(f"target must contain both classes, got only {int(y[0])}s")
    if min_recall is not None and not (isinstance(min_recall, (int, float))
                                       and 0 < min_recall <= 1):
        raise ValueError(f"min_recall must be None or in (0, 1], got {min_recall!r}")
    precision, recall, thresholds = precision_recall_curve(y, p)
    precision, recall = precision[:-1], recall[:-1]   # the last point has no threshold
    if min_recall is None:
        f1 = np.where(precision + recall > 0,
                      2 * precision * recall / np.maximum(precision + recall, 1e-300), 0.0)
        best = thresholds[int(np.argmax(f1))]
    else:
        best = thresholds[recall >= min_recall - 1e-12].max()
    lower = p[p < best]
    return float((best + lower.max()) / 2) if lower.size else float(best)


def confusion_table(target, prob, threshold: float = 0.5,
                    labels: Sequence[str] = ("negative", "positive")) -> pd.DataFrame:
    """The confusion matrix at ``threshold``, as a labelled table of counts.

    ``sklearn.metrics.confusion_matrix`` of the labels against the decisions
    ``prob >= threshold``: rows are the actual classes, columns the predicted ones, so the
    diagonal holds the correct decisions, the top right the false positives and the bottom
    left the false negatives.

    Args:
        target: labels 0/1, shape ``(N,)``.
        prob: predicted probabilities of the positive class in [0, 1], shape ``(N,)``.
        threshold: in (0, 1].
        labels: names of class 0 and class 1.

    Returns:
        A 2 x 2 DataFrame of ints, index ``actual <label>``, columns ``predicted <label>``.

    Raises:
        TypeError, ValueError: as :func:`binary_metrics` for ``target`` and ``prob`` (one
            class is allowed here); a ``threshold`` outside (0, 1]; not two ``labels``.
    """
    from sklearn.metrics import confusion_matrix

    y, p = _check_pair(target, prob)
    if not 0 < threshold <= 1:
        raise ValueError(f"threshold must be in (0, 1], got {threshold!r}")
    if len(labels) != 2:
        raise ValueError(f"labels must name the 2 classes, got {list(labels)}")
    counts = confusion_matrix(y.astype(int), (p >= threshold).astype(int), labels=[0, 1])
    return pd.DataFrame(counts, index=[f"actual {name}" for name in labels],
                        columns=[f"predicted {name}" for name in labels])
