"""The helpers of the real-data chapters: train/validation/test splits, the imbalanced breast
cancer data, thresholds chosen on validation rows, and the confusion table."""

import hypothesis.strategies as st
import numpy as np
import pytest
import torch
from hypothesis import given, settings

import lossbook as lb
from lossbook.data import Splits, imbalanced_breast_cancer, train_val_test_split
from lossbook.metrics import choose_threshold, confusion_table


def _rows(x):
    return {tuple(row) for row in x.tolist()}


def test_split_partitions_the_rows_and_keeps_the_class_balance():
    x, y = lb.data.breast_cancer()
    parts = train_val_test_split(x, y, val_fraction=0.2, test_fraction=0.2, seed=0,
                                 standardize=False)
    assert isinstance(parts, Splits)
    assert [len(parts.y_train), len(parts.y_val), len(parts.y_test)] == [341, 114, 114]
    together = _rows(parts.x_train) | _rows(parts.x_val) | _rows(parts.x_test)
    assert len(together) == len(_rows(x)) and together == _rows(x)      # disjoint and complete
    assert sum(int(p.sum()) for p in (parts.y_train, parts.y_val, parts.y_test)) == int(y.sum())
    for labels in (parts.y_train, parts.y_val, parts.y_test):
        assert abs(labels.mean().item() - y.mean().item()) < 0.01       # stratified


def test_standardisation_uses_the_training_rows_only():
    x, y = lb.data.breast_cancer()
    raw = train_val_test_split(x, y, seed=3, standardize=False)
    scaled = train_val_test_split(x, y, seed=3)
    mean = raw.x_train.double().mean(0)
    std = raw.x_train.double().std(0, unbiased=False)
    torch.testing.assert_close(scaled.x_train.mean(0), torch.zeros(30), atol=1e-5, rtol=0)
    for raw_part, scaled_part in ((raw.x_val, scaled.x_val), (raw.x_test, scaled.x_test)):
        torch.testing.assert_close(scaled_part, ((raw_part - mean) / std).float())
    # the held-out parts are not centred on their own statistics
    assert scaled.x_test.mean(0).abs().max() > 0.05


def test_split_follows_its_seed():
    x, y = lb.data.breast_cancer()
    a, b, c = (train_val_test_split(x, y, seed=s) for s in (1, 1, 2))
    assert all(torch.equal(u, v) for u, v in zip(a, b))
    assert not torch.equal(a.y_test, c.y_test) or not torch.equal(a.x_test, c.x_test)


@pytest.mark.parametrize("kwargs, fragment", [
    ({"val_fraction": 0.5, "test_fraction": 0.5}, "val_fraction + test_fraction must be below 1"),
    ({"val_fraction": 0.0}, "val_fraction must be in (0, 1)"),
    ({"test_fraction": 1.2}, "test_fraction must be in (0, 1)"),
])
def test_split_rejects_bad_fractions(kwargs, fragment):
    x, y = lb.data.breast_cancer()
    with pytest.raises(ValueError) as info:
        train_val_test_split(x, y, **kwargs)
    assert fragment in str(info.value)


def test_split_rejects_a_class_too_small_for_three_parts():
    x = torch.randn(10, 2)
    y = torch.tensor([1.0, 1.0] + [0.0] * 8)
    with pytest.raises(ValueError, match=r"at least 3 rows of each class.*\[8, 2\]"):
        train_val_test_split(x, y)


def test_split_rejects_bad_shapes():
    with pytest.raises(ValueError, match="x must have shape"):
        train_val_test_split(torch.zeros(10), torch.zeros(10))
    with pytest.raises(ValueError, match="same length"):
        train_val_test_split(torch.zeros(10, 2), torch.zeros(9))


def test_imbalanced_breast_cancer():
    parts = imbalanced_breast_cancer(seed=0)
    labels = torch.cat([parts.y_train, parts.y_val, parts.y_test])
    assert len(labels) == 357 + 19 and int(labels.sum()) == 19        # 5 % of what is kept
    assert [int(p.sum()) for p in (parts.y_train, parts.y_val, parts.y_test)] == [9, 5, 5]
    other = imbalanced_breast_cancer(seed=1)
    assert not torch.equal(parts.x_test, other.x_test)
    torch.testing.assert_close(parts.x_train.mean(0), torch.zeros(30), atol=1e-5, rtol=0)


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
