"""The house plot style and the book's recurring figures.

Figures have a white background (readable on the site's dark theme too), labelled axes and
a title that says what to look at.
"""

from __future__ import annotations

import matplotlib
import matplotlib.pyplot as plt
import torch

#: One colour per class, the same in every chapter: negatives blue, positives orange.
CLASS_COLORS = ("#1f77b4", "#ff7f0e")

STYLE = {
    "figure.facecolor": "white",
    "axes.facecolor": "white",
    "savefig.facecolor": "white",
    "figure.figsize": (6.4, 4.0),
    "figure.dpi": 80,
    "axes.grid": True,
    "grid.alpha": 0.3,
    "axes.spines.top": False,
    "axes.spines.right": False,
    "legend.frameon": False,
    "font.size": 11,
}


def use_style() -> None:
    """Apply :data:`STYLE` to matplotlib's global ``rcParams`` (``lossbook.setup`` calls it)."""
    matplotlib.rcParams.update(STYLE)


def scores_by_class(
    scores: torch.Tensor,
    target: torch.Tensor,
    ax: plt.Axes | None = None,
    bins: int = 30,
    title: str | None = None,
) -> plt.Axes:
    """Histograms of a classifier's scores, one per class, with the BCE in the title.

    The loss in the title is ``binary_cross_entropy_with_logits(scores, target)``: the
    scores are taken as logits.

    Args:
        scores: logits of shape ``(N,)``.
        target: labels of shape ``(N,)`` with values 0 and 1.
        ax: the axes to draw on; a new figure when ``None``.
        bins: histogram bins, shared by both classes.
        title: text before the loss in the title.

    Returns:
        The axes drawn on.
    """
    from lossbook.functional import binary_cross_entropy_with_logits

    loss = binary_cross_entropy_with_logits(scores, target).item()
    if ax is None:
        _, ax = plt.subplots()
    edges = torch.linspace(float(scores.min()), float(scores.max()), bins + 1).numpy()
    for label, color in enumerate(CLASS_COLORS):
        ax.hist(scores[target == label].numpy(), bins=edges, alpha=0.55, color=color,
                label=f"y = {label}")
    prefix = f"{title}: " if title else ""
    ax.set_title(f"{prefix}BCE = {loss:.4f}")
    ax.set_xlabel("score (logit)")
    ax.set_ylabel("count")
    ax.legend(title="class")
    return ax


def versus_logit(
    z: torch.Tensor,
    curves: dict[str, torch.Tensor],
    ax: plt.Axes | None = None,
    ylabel: str = "loss",
    title: str | None = None,
) -> plt.Axes:
    """Curves (a loss, its gradient) drawn against the logit ``z``.

    Args:
        z: logits of shape ``(N,)``, the x axis.
        curves: ``{label: values}``, each of shape ``(N,)``; later curves are drawn dashed
            so that a curve hidden under another one stays visible.
        ax: the axes to draw on; a new figure when ``None``.
        ylabel: the y axis label.
        title: the axes title.

    Returns:
        The axes drawn on.

    Raises:
        ValueError: no curves, or a curve whose shape differs from ``z``'s.
    """
    if not curves:
        raise ValueError("curves must hold at least one curve, got none")
    for label, values in curves.items():
        if tuple(values.shape) != tuple(z.shape):
            raise ValueError(f"curves[{label!r}] must have the shape of z {tuple(z.shape)}, "
                             f"got {tuple(values.shape)}")
    if ax is None:
        _, ax = plt.subplots()
    styles = ["-", "--", ":", "-."]
    for i, (label, values) in enumerate(curves.items()):
        ax.plot(z.detach().numpy(), values.detach().numpy(), styles[i % len(styles)],
                linewidth=2.5 if i == 0 else 1.8, label=label)
    ax.set_xlabel("logit z")
    ax.set_ylabel(ylabel)
    if title:
        ax.set_title(title)
    ax.legend()
    return ax


def reliability_diagram(
    models: dict[str, tuple],
    n_bins: int = 10,
    ax: plt.Axes | None = None,
    title: str | None = None,
) -> plt.Axes:
    """Reliability diagram: fraction of positives against mean predicted probability, per bin.

    Each model is drawn as points joined by a line, one point per non-empty bin of
    :func:`lossbook.metrics.reliability_curve`, with its expected calibration error in the
    legend. A calibrated model lies on the diagonal; points below it mean the model
    predicts the positive class more often than it happens (over-confidence in positives).

    Args:
        models: ``{label: (target, prob)}`` with labels 0/1 and probabilities, each
            ``(N,)``.
        n_bins: equal-width bins of [0, 1].
        ax: the axes to draw on; a new figure when ``None``.
        title: the axes title.

    Returns:
        The axes drawn on.
    """
    from lossbook.metrics import expected_calibration_error, reliability_curve

    if not models:
        raise ValueError("models must hold at least one (target, prob) pair, got none")
    if ax is None:
        _, ax = plt.subplots(figsize=(5.0, 5.0))
    ax.plot([0, 1], [0, 1], color="0.5", linewidth=1, label="calibrated")
    markers = ["o", "s", "^", "D"]
    for i, (label, (target, prob)) in enumerate(models.items()):
        curve = reliability_curve(target, prob, n_bins=n_bins)
        ece = expected_calibration_error(target, prob, n_bins=n_bins)
        ax.plot(curve["mean predicted"], curve["fraction positive"],
                marker=markers[i % len(markers)], label=f"{label} (ECE {ece:.3f})")
    ax.set_xlim(0, 1)
    ax.set_ylim(0, 1)
    ax.set_aspect("equal")
    ax.set_xlabel("mean predicted probability (per bin)")
    ax.set_ylabel("fraction of positives (per bin)")
    if title:
        ax.set_title(title)
    ax.legend(loc="upper left", fontsize=9)
    return ax


def training_curves(
    histories: dict[str, "pd.DataFrame"],
    column: str = "loss",
    ax: plt.Axes | None = None,
    title: str | None = None,
    floor: float | None = None,
) -> plt.Axes:
    """Loss against epoch for several runs of :func:`lossbook.train.fit`.

    Args:
        histories: ``{label: history}``, each a DataFrame with an ``epoch`` column and
            ``column``.
        column: the column drawn (``"loss"`` or ``"val_loss"``).
        ax: the axes to draw on; a new figure when ``None``.
        title: the axes title.
        floor: if given, a horizontal dotted line at this value (a loss the run cannot
            go below).

    Returns:
        The axes drawn on.

    Raises:
        ValueError: no histories, or a history without ``epoch`` or ``column``.
    """
    if not histories:
        raise ValueError("histories must hold at least one run, got none")
    if ax is None:
        _, ax = plt.subplots()
    for label, history in histories.items():
        if "epoch" not in history or column not in history:
            raise ValueError(f"histories[{label!r}] must have columns 'epoch' and {column!r}, "
                             f"got {list(history.columns)}")
        ax.plot(history["epoch"], history[column], label=label)
    if floor is not None:
        ax.axhline(floor, color="0.3", linestyle=":", label=f"floor {floor:.4f}")
    ax.set_xlabel("epoch")
    ax.set_ylabel(column.replace("_", " "))
    if title:
        ax.set_title(title)
    ax.legend()
    return ax
