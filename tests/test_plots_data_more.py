"""lossbook.data.train_test_split and gaussian_classes; the figures lossbook.plots added for
chapters 2 and 3 (versus_logit, reliability_diagram, training_curves)."""

import math

import matplotlib
import matplotlib.pyplot as plt
import pandas as pd
import pytest
import torch

import lossbook as lb

matplotlib.use("Agg")


def _rows(x):
    return sorted(map(tuple, x.tolist()))


def test_split_is_stratified_complete_and_seeded():
    x, y = lb.data.breast_cancer()
    x, y = lb.data.subsample_positives(x, y, 0.1, seed=0)
    x_tr, x_te, y_tr, y_te = lb.data.train_test_split(x, y, test_fraction=0.5, seed=0,
                                                      standardize=False)
    assert len(y_tr) + len(y_te) == len(y) and x_tr.shape[1] == 30
    assert abs(int(y_tr.sum()) - int(y_te.sum())) <= 1        # positives split evenly
    assert _rows(torch.cat([x_tr, x_te])) == _rows(x)         # no row lost or repeated
    again = lb.data.train_test_split(x, y, test_fraction=0.5, seed=0, standardize=False)
    other = lb.data.train_test_split(x, y, test_fraction=0.5, seed=1, standardize=False)
    assert torch.equal(again[1], x_te) and not torch.equal(other[1], x_te)
    assert x_tr.dtype == y_tr.dtype == torch.float32


def test_standardisation_uses_the_training_rows_only():
    x, y = lb.data.breast_cancer()
    raw = lb.data.train_test_split(x, y, test_fraction=0.3, seed=2, standardize=False)
    x_tr, x_te, _, _ = lb.data.train_test_split(x, y, test_fraction=0.3, seed=2)
    mean = raw[0].double().mean(dim=0)
    std = raw[0].double().std(dim=0, unbiased=False)
    assert torch.allclose(x_tr.double(), (raw[0] - mean) / std, atol=1e-4)
    assert torch.allclose(x_te.double(), (raw[1] - mean) / std, atol=1e-4)
    assert x_tr.mean(dim=0).abs().max() < 1e-5
    assert x_te.mean(dim=0).abs().max() > 1e-3                # the test rows were not used


@pytest.mark.parametrize("args, fragment", [
    ((torch.zeros(10), torch.zeros(10)), "x must have shape (N, D), got shape (10,)"),
    ((torch.zeros(10, 2), torch.zeros(10, 1)), "y must have shape (N,), got shape (10, 1)"),
    ((torch.zeros(10, 2), torch.zeros(9)), "same length, got 10 and 9"),
    ((torch.zeros(10, 2), torch.tensor([1.0] + [0.0] * 9)), "at least 2 rows of each class"),
])
def test_split_rejects_bad_input(args, fragment):
    with pytest.raises(ValueError) as info:
        lb.data.train_test_split(*args)
    assert fragment in str(info.value)


@pytest.mark.parametrize("fraction", [0.0, 1.0])
def test_split_rejects_a_bad_test_fraction(fraction):
    x, y = lb.data.breast_cancer()
    with pytest.raises(ValueError, match=r"test_fraction must be in \(0, 1\)"):
        lb.data.train_test_split(x, y, test_fraction=fraction)


def test_gaussian_classes_have_the_stated_means_prior_and_logit():
    x, y, logit = lb.data.gaussian_classes(40_000, dim=4, separation=3.0,
                                           positive_fraction=0.2, seed=0)
    assert x.shape == (40_000, 4) and y.shape == logit.shape == (40_000,)
    assert abs(y.mean().item() - 0.2) < 0.01
    u = torch.ones(4) / 2.0                                    # unit vector, sqrt(4) = 2
    assert torch.allclose(x[y == 1].mean(dim=0), 1.5 * u, atol=0.03)
    assert torch.allclose(x[y == 0].mean(dim=0), -1.5 * u, atol=0.03)
    # log-odds by hand: d u.x + log(pi / (1 - pi))
    assert torch.allclose(logit, 3.0 * (x @ u) + math.log(0.2 / 0.8), atol=1e-5)
    # and they are the true log-odds: their sigmoid is calibrated
    assert lb.metrics.expected_calibration_error(y, torch.sigmoid(logit)) < 0.015


def test_gaussian_classes_are_seeded():
    a = lb.data.gaussian_classes(100, seed=3)
    b = lb.data.gaussian_classes(100, seed=3)
    c = lb.data.gaussian_classes(100, seed=4)
    assert all(torch.equal(s, t) for s, t in zip(a, b))
    assert not torch.equal(a[0], c[0])


@pytest.mark.parametrize("kwargs, fragment", [
    (dict(n=0), "n must be a positive int"),
    (dict(dim=0), "dim must be a positive int"),
    (dict(separation=-1.0), "separation must be >= 0"),
    (dict(positive_fraction=1.0), "positive_fraction must be in (0, 1)"),
])
def test_gaussian_classes_reject_bad_arguments(kwargs, fragment):
    with pytest.raises(ValueError) as info:
        lb.data.gaussian_classes(**kwargs)
    assert fragment in str(info.value)


def test_versus_logit_draws_each_curve_with_labels():
    z = torch.linspace(-5, 5, 11)
    ax = lb.plots.versus_logit(z, {"a": torch.sigmoid(z), "b": torch.sigmoid(z) - 1},
                               ylabel="gradient", title="t")
    assert [line.get_label() for line in ax.get_lines()] == ["a", "b"]
    assert ax.get_lines()[1].get_ydata().tolist() == pytest.approx(
        (torch.sigmoid(z) - 1).tolist())
    assert ax.get_xlabel() == "logit z" and ax.get_ylabel() == "gradient"
    plt.close("all")


def test_versus_logit_rejects_mismatched_curves():
    with pytest.raises(ValueError, match=r"curves\['a'\] must have the shape of z \(3,\)"):
        lb.plots.versus_logit(torch.zeros(3), {"a": torch.zeros(4)})
    with pytest.raises(ValueError, match="at least one curve"):
        lb.plots.versus_logit(torch.zeros(3), {})
    plt.close("all")


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
    plt.close("all")


def test_training_curves_draws_runs_and_the_floor():
    history = pd.DataFrame({"epoch": [1, 2, 3], "loss": [0.9, 0.7, 0.6]})
    ax = lb.plots.training_curves({"run": history}, floor=0.5)
    labels = [line.get_label() for line in ax.get_lines()]
    assert labels == ["run", "floor 0.5000"]
    assert list(ax.get_lines()[1].get_ydata()) == [0.5, 0.5]
    with pytest.raises(ValueError, match="must have columns 'epoch' and 'val_loss'"):
        lb.plots.training_curves({"run": history}, column="val_loss")
    plt.close("all")
