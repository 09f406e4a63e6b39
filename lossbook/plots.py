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
