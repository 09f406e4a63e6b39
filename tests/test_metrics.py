"""lossbook.metrics against hand computations on tiny examples: binary_metrics, the
reliability curve and its ECE, summarize, choose_threshold and confusion_table."""

import math

import hypothesis.strategies as st
import numpy as np
import pandas as pd
import pytest
import torch
from hypothesis import given, settings

import lossbook as lb
from lossbook import metrics
from lossbook.metrics import choose_threshold, confusion_table

# Five examples worked out by hand. At threshold 0.5 the predictions are 1, 0, 1, 0, 1:
# TP = 2 (rows 0 and 4), FP = 1 (row 2), FN = 1 (row 1).
Y = [1, 1, 0, 0, 1]
P = [0.9, 0.4, 0.6, 0.2, 0.7]


def test_binary_metrics_match_a_hand_computation():
    got = metrics.binary_metrics(Y, P)
    assert list(got) == list(metrics.METRICS)
    assert got["precision"] == pytest.approx(2 / 3)
    assert got["recall"] == pytest.approx(2 / 3)
    assert got["F1"] == pytest.approx(2 / 3)
    # ROC AUC: of the 3 x 2 (positive, negative) pairs, only (0.4, 0.6) is in the wrong order.
    assert got["ROC AUC"] == pytest.approx(5 / 6)
    # Average precision: ranked 0.9 P, 0.7 P, 0.6 N, 0.4 P, 0.2 N; the precision at each
    # positive is 1/1, 2/2, 3/4, each positive adding 1/3 of recall.
    assert got["PR AUC"] == pytest.approx((1 + 1 + 0.75) / 3)


def test_threshold_moves_precision_and_recall_but_not_the_areas():
    low = metrics.binary_metrics(Y, P, threshold=0.3)   # predictions 1, 1, 1, 0, 1
    high = metrics.binary_metrics(Y, P, threshold=0.5)
    assert low["recall"] == 1.0 and low["precision"] == pytest.approx(3 / 4)
    assert low["ROC AUC"] == high["ROC AUC"] and low["PR AUC"] == high["PR AUC"]


def test_a_probability_equal_to_the_threshold_is_positive():
    got = metrics.binary_metrics([1, 0], [0.5, 0.2], threshold=0.5)
    assert got["recall"] == 1.0 and got["precision"] == 1.0


def test_ties_count_half_in_roc_auc_and_no_positive_prediction_gives_zero_precision():
    got = metrics.binary_metrics([1, 0, 0], [0.3, 0.3, 0.1])
    assert got["ROC AUC"] == pytest.approx(0.75)         # one tie (1/2) and one win (1)
    assert got["precision"] == 0.0 and got["recall"] == 0.0 and got["F1"] == 0.0


@pytest.mark.parametrize("convert", [list, np.array, torch.tensor,
                                     lambda v: torch.tensor(v, dtype=torch.float64)])
def test_tensors_arrays_and_lists_give_the_same_metrics(convert):
    assert metrics.binary_metrics(convert(Y), convert(P)) == metrics.binary_metrics(Y, P)


@pytest.mark.parametrize("target, prob, error, fragments", [
    ("abc", P, TypeError, ["target", "str"]),
    (Y, {"a": 1}, TypeError, ["prob", "dict"]),
    (Y, [[p] for p in P], ValueError, ["prob", "(5, 1)", "squeeze"]),
    (Y, P[:4], ValueError, ["same length", "5 and 4"]),
    ([1, 2, 0, 0, 1], P, ValueError, ["target", "0 and 1", "2.0"]),
    (Y, [0.9, 2.5, 0.6, -1.0, 0.7], ValueError, ["prob", "[0, 1]", "-1", "2.5", "sigmoid"]),
    ([1, 1, 1, 1, 1], P, ValueError, ["both classes", "1s"]),
    (Y, [0.9, float("nan"), 0.6, 0.2, 0.7], ValueError, ["prob", "finite", "1 NaN"]),
    ([], [], ValueError, ["target", "at least one"]),
])
def test_bad_input_is_explained(target, prob, error, fragments):
    with pytest.raises(error) as info:
        metrics.binary_metrics(target, prob)
    for fragment in fragments:
        assert fragment in str(info.value)


@pytest.mark.parametrize("threshold", [0.0, 1.5, -0.1])
def test_bad_threshold_is_refused(threshold):
    with pytest.raises(ValueError, match=r"threshold must be in \(0, 1\]"):
        metrics.binary_metrics(Y, P, threshold=threshold)


def test_reliability_curve_matches_a_hand_computation():
    y = [0, 0, 1, 1, 1, 0]
    p = [0.1, 0.2, 0.3, 0.8, 0.9, 0.7]
    curve = metrics.reliability_curve(y, p, n_bins=2)
    assert list(curve.columns) == ["lower", "upper", "count", "mean predicted",
                                   "fraction positive"]
    assert curve["lower"].tolist() == [0.0, 0.5] and curve["upper"].tolist() == [0.5, 1.0]
    assert curve["count"].tolist() == [3, 3]
    assert curve["mean predicted"].tolist() == pytest.approx([0.2, 0.8])
    assert curve["fraction positive"].tolist() == pytest.approx([1 / 3, 2 / 3])
    # ECE = 1/2 |1/3 - 0.2| + 1/2 |2/3 - 0.8|
    assert metrics.expected_calibration_error(y, p, n_bins=2) == pytest.approx(
        0.5 * (1 / 3 - 0.2) + 0.5 * (0.8 - 2 / 3))


def test_reliability_curve_drops_empty_bins_and_puts_an_edge_in_the_left_bin():
    curve = metrics.reliability_curve([1, 0, 1], [0.5, 0.05, 0.95], n_bins=4)
    # 0.5 lies on the edge between bins 2 and 3 and belongs to the left one, [0.25, 0.5].
    assert curve["lower"].tolist() == [0.0, 0.25, 0.75]
    assert curve["count"].tolist() == [1, 1, 1]


def test_reliability_curve_counts_add_up_and_agree_with_scikit_learn():
    from sklearn.calibration import calibration_curve

    gen = torch.Generator().manual_seed(0)
    p = torch.rand(500, generator=gen)
    y = (torch.rand(500, generator=gen) < p).float()
    for strategy in ("uniform", "quantile"):
        curve = metrics.reliability_curve(y, p, n_bins=7, strategy=strategy)
        assert curve["count"].sum() == 500
        # the count-weighted fraction of positives is the overall fraction
        assert (curve["count"] * curve["fraction positive"]).sum() == pytest.approx(
            float(y.sum()))
        assert (curve["count"] * curve["mean predicted"]).sum() == pytest.approx(
            float(p.double().sum()))
        frac, mean = calibration_curve(y.numpy(), p.numpy(), n_bins=7, strategy=strategy)
        assert curve["fraction positive"].tolist() == pytest.approx(frac.tolist())
    quantile = metrics.reliability_curve(y, p, n_bins=5, strategy="quantile")
    assert quantile["count"].tolist() == [100] * 5


def test_reliability_curve_accepts_a_single_class():
    curve = metrics.reliability_curve([0, 0, 0], [0.1, 0.15, 0.9], n_bins=2)
    assert curve["fraction positive"].tolist() == [0.0, 0.0]
    assert curve["mean predicted"].tolist() == pytest.approx([0.125, 0.9])


def test_ece_is_zero_for_calibrated_bins_and_one_for_certain_mistakes():
    assert metrics.expected_calibration_error([0, 1, 0, 1], [0.5] * 4) == 0.0
    assert metrics.expected_calibration_error([0, 0, 1], [1.0, 1.0, 0.0]) == 1.0


def test_ece_separates_true_from_shifted_probabilities():
    _, y, true_logit = lb.data.gaussian_classes(20_000, dim=2, separation=2.0,
                                                positive_fraction=0.1, seed=0)
    calibrated = metrics.expected_calibration_error(y, torch.sigmoid(true_logit))
    shifted = metrics.expected_calibration_error(y, torch.sigmoid(true_logit + math.log(9)))
    assert calibrated < 0.015
    assert shifted > 0.1


@pytest.mark.parametrize("kwargs, fragment", [
    (dict(n_bins=0), "n_bins must be a positive int"),
    (dict(n_bins=2.5), "n_bins must be a positive int"),
    (dict(strategy="equal"), "strategy must be one of"),
])
def test_reliability_curve_rejects_bad_bins(kwargs, fragment):
    with pytest.raises(ValueError, match=fragment):
        metrics.reliability_curve(Y, P, **kwargs)


def test_summarize_gives_mean_and_sample_std_per_setting_in_order():
    frame = pd.DataFrame({
        "setting": ["b", "b", "a", "a", "c"],
        "seed": [0, 1, 0, 1, 0],
        "x": [0.1, 0.3, 0.5, 0.5, 0.25],
        "y": [1.0, 2.0, float("nan"), float("nan"), 4.0],
    })
    table = metrics.summarize(frame, "setting")
    assert list(table.index) == ["b", "a", "c"]
    assert list(table.columns) == ["x", "y"]                # seed is left out
    assert table.loc["b", "x"] == "0.200 ± 0.141"          # std with ddof = 1: 0.1 * sqrt(2)
    assert table.loc["a", "x"] == "0.500 ± 0.000"
    assert table.loc["c", "x"] == "0.250"                   # one run: no std
    assert table.loc["a", "y"] == "–"                       # no value at all
    one_digit = metrics.summarize(frame, "setting", columns=["x"], digits=1)
    assert one_digit.loc["b", "x"] == "0.2 ± 0.1"


def test_summarize_rejects_what_it_cannot_group():
    frame = pd.DataFrame({"setting": ["a"], "x": [1.0]})
    with pytest.raises(ValueError, match=r"missing \['nope'\]"):
        metrics.summarize(frame, "nope")
    with pytest.raises(TypeError, match="frame must be a pandas DataFrame, got dict"):
        metrics.summarize({"setting": ["a"]}, "setting")


def _f1(y, p, t):
    pred = p >= t
    tp = (pred & (y == 1)).sum()
    return 2 * tp / (pred.sum() + (y == 1).sum())


def _recall(y, p, t):
    return ((p >= t) & (y == 1)).sum() / (y == 1).sum()


def test_choose_threshold_by_hand():
    y = [0, 0, 1, 1, 0, 1]
    p = [0.1, 0.4, 0.35, 0.8, 0.2, 0.9]
    # best F1 at 0.35 (3 TP, 1 FP: 6/7); halfway to the next lower score 0.2
    assert choose_threshold(y, p) == pytest.approx(0.275)
    # recall 2/3 is first reached at 0.8; halfway to 0.4
    assert choose_threshold(y, p, min_recall=0.6) == pytest.approx(0.6)
    # nothing below the winner: the winner itself
    assert choose_threshold([1, 0], [0.3, 0.6], min_recall=1.0) == pytest.approx(0.3)


@settings(max_examples=60, deadline=None)
@given(st.lists(st.tuples(st.booleans(), st.integers(1, 99)), min_size=2, max_size=40),
       st.one_of(st.none(), st.floats(0.05, 1.0)))
def test_choose_threshold_matches_a_brute_force_search(rows, min_recall):
    y = np.array([float(b) for b, _ in rows])
    p = np.array([s / 100 for _, s in rows])
    if len(np.unique(y)) < 2:
        return
    t = choose_threshold(y, p, min_recall=min_recall)
    candidates = np.unique(p)
    if min_recall is None:
        assert _f1(y, p, t) == pytest.approx(max(_f1(y, p, c) for c in candidates))
    else:
        assert _recall(y, p, t) >= min_recall - 1e-12
        higher = [c for c in candidates if c > t and _recall(y, p, c) >= min_recall - 1e-12]
        # no higher threshold that decides differently reaches the recall
        assert all(((p >= c) == (p >= t)).all() for c in higher)
    # the threshold decides like the winner: no score lies in [t, winner)
    winner = candidates[candidates >= t].min()
    assert not ((p >= t) & (p < winner)).any()


@pytest.mark.parametrize("target, prob, kwargs, fragment", [
    ([1, 1], [0.2, 0.4], {}, "both classes"),
    ([0, 1], [0.2, 0.4], {"min_recall": 0}, "min_recall must be None or in (0, 1]"),
    ([0, 1], [0.2, 1.4], {}, "prob must hold probabilities"),
])
def test_choose_threshold_errors(target, prob, kwargs, fragment):
    with pytest.raises(ValueError) as info:
        choose_threshold(target, prob, **kwargs)
    assert fragment in str(info.value)


def test_confusion_table():
    y = torch.tensor([0.0, 0.0, 1.0, 1.0, 0.0, 1.0])
    p = torch.tensor([0.1, 0.6, 0.35, 0.8, 0.2, 0.9])
    table = confusion_table(y, p, threshold=0.5, labels=("benign", "malignant"))
    assert list(table.index) == ["actual benign", "actual malignant"]
    assert list(table.columns) == ["predicted benign", "predicted malignant"]
    assert table.to_numpy().tolist() == [[2, 1], [1, 2]]
    assert confusion_table(y, p, threshold=0.3).to_numpy().tolist() == [[2, 1], [0, 3]]
    assert confusion_table([0, 0], [0.2, 0.7]).to_numpy().tolist() == [[1, 1], [0, 0]]


@pytest.mark.parametrize("kwargs, fragment", [
    ({"threshold": 0.0}, "threshold must be in (0, 1]"),
    ({"labels": ("a", "b", "c")}, "labels must name the 2 classes"),
])
def test_confusion_table_errors(kwargs, fragment):
    with pytest.raises(ValueError) as info:
        confusion_table([0, 1], [0.2, 0.7], **kwargs)
    assert fragment in str(info.value)
