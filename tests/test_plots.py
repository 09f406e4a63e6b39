"""lossbook.plots: the book's recurring figures (scores_by_class, versus_logit,
reliability_diagram, training_curves, benchmark) draw what they say, with labels."""

import matplotlib
import matplotlib.pyplot as plt
import pandas as pd
import pytest
import torch
import torch.nn.functional as F

import lossbook as lb

matplotlib.use("Agg")


@pytest.fixture(autouse=True)
def _close_figures():
    yield
    plt.close("all")


def test_scores_by_class_draws_both_classes_with_the_loss_in_the_title():
    scores, target = lb.data.two_class_scores(200, seed=0)
    ax = lb.plots.scores_by_class(scores, target, title="demo")
    loss = F.binary_cross_entropy_with_logits(scores, target).item()
    assert ax.get_title() == f"demo: BCE = {loss:.4f}"
    assert [t.get_text() for t in ax.get_legend().get_texts()] == ["y = 0", "y = 1"]
    assert ax.get_xlabel() and ax.get_ylabel()


def test_versus_logit_draws_each_curve_with_labels():
    z = torch.linspace(-5, 5, 11)
    ax = lb.plots.versus_logit(z, {"a": torch.sigmoid(z), "b": torch.sigmoid(z) - 1},
                               ylabel="gradient", title="t")
    assert [line.get_label() for line in ax.get_lines()] == ["a", "b"]
    assert ax.get_lines()[1].get_ydata().tolist() == pytest.approx(
        (torch.sigmoid(z) - 1).tolist())
    assert ax.get_xlabel() == "logit z" and ax.get_ylabel() == "gradient"


def test_versus_logit_rejects_mismatched_curves():
    with pytest.raises(ValueError, match=r"curves\['a'\] must have the shape of z \(3,\)"):
        lb.plots.versus_logit(torch.zeros(3), {"a": torch.zeros(4)})
    with pytest.raises(ValueError, match="at least one curve"):
        lb.plots.versus_logit(torch.zeros(3), {})


def test_reliability_diagram_plots_the_curve_and_its_ece():
    y = [0, 0, 1, 1, 1, 0]
    p = [0.1, 0.2, 0.3, 0.8, 0.9, 0.7]
    ax = lb.plots.reliability_diagram({"model": (y, p)}, n_bins=2)
    lines = ax.get_lines()
    assert [line.get_label() for line in lines] == ["calibrated", "model (ECE 0.133)"]
    assert lines[1].get_xdata().tolist() == pytest.approx([0.2, 0.8])
    assert lines[1].get_ydata().tolist() == pytest.approx([1 / 3, 2 / 3])
    assert ax.get_xlim() == (0, 1) and ax.get_ylim() == (0, 1)
    assert ax.figure.get_facecolor()[:3] == (1.0, 1.0, 1.0)


def test_training_curves_draws_runs_and_the_floor():
    history = pd.DataFrame({"epoch": [1, 2, 3], "loss": [0.9, 0.7, 0.6]})
    ax = lb.plots.training_curves({"run": history}, floor=0.5)
    labels = [line.get_label() for line in ax.get_lines()]
    assert labels == ["run", "floor 0.5000"]
    assert list(ax.get_lines()[1].get_ydata()) == [0.5, 0.5]
    with pytest.raises(ValueError, match="must have columns 'epoch' and 'val_loss'"):
        lb.plots.training_curves({"run": history}, column="val_loss")
