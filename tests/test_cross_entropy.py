"""lossbook's cross_entropy and nll_loss against torch (values and gradients, property
tests), the identities the chapter shows, and their explained errors."""

import hypothesis.extra.numpy as hnp
import hypothesis.strategies as st
import pytest
import torch
import torch.nn.functional as F
from hypothesis import given, settings

from lossbook import functional as lbf

REDUCTIONS = st.sampled_from(["none", "mean", "sum"])
PROPERTY = settings(max_examples=80, deadline=None)


@st.composite
def class_shape(draw):
    """An input shape (C,), (N, C) or (N, C, d1, ...), with C >= 2."""
    n_classes = draw(st.integers(2, 5))
    layout = draw(st.sampled_from(["unbatched", "batch", "batch", "spatial"]))
    if layout == "unbatched":
        return (n_classes,)
    extra = draw(st.lists(st.integers(1, 3), min_size=1, max_size=2)) if layout == "spatial" else []
    return (draw(st.integers(1, 6)), n_classes, *extra)


def _array(draw, shape, lo, hi):
    floats = st.floats(lo, hi, allow_nan=False, allow_infinity=False)
    return torch.from_numpy(draw(hnp.arrays("float64", shape, elements=floats)))


@st.composite
def ce_case(draw, probability_targets: bool):
    shape = draw(class_shape())
    class_dim = 1 if len(shape) >= 2 else 0
    n_classes = shape[class_dim]
    logits = _array(draw, shape, -50.0, 50.0)
    if probability_targets:
        kind = draw(st.sampled_from(["softmax", "one-hot", "any"]))
        if kind == "softmax":
            target = torch.softmax(_array(draw, shape, -5.0, 5.0), dim=class_dim)
        elif kind == "one-hot":
            index = torch.from_numpy(draw(hnp.arrays("int64", shape[:class_dim] + shape[class_dim + 1:],
                                                     elements=st.integers(0, n_classes - 1))))
            target = F.one_hot(index, n_classes).movedim(-1, class_dim).double()
        else:
            target = _array(draw, shape, 0.0, 1.0)
        ignore_index = -100
    else:
        ignore_index = draw(st.sampled_from([-100, 0, n_classes - 1, 7]))
        target_shape = shape[:class_dim] + shape[class_dim + 1:]
        values = st.integers(0, n_classes - 1) | st.just(ignore_index)
        target = torch.from_numpy(draw(hnp.arrays("int64", target_shape, elements=values)))
        if ignore_index >= 0 and draw(st.booleans()):
            target = target.to(torch.uint8)
    weight = _array(draw, (n_classes,), 0.1, 5.0) if draw(st.booleans()) else None
    smoothing = draw(st.sampled_from([0.0, 0.0, 0.1, 1.0]) | st.floats(0, 1))
    return logits, target, weight, ignore_index, draw(REDUCTIONS), smoothing


def _value_and_grad(fn, input, **kwargs):
    input = input.clone().requires_grad_(True)
    loss = fn(input, **kwargs)
    loss.sum().backward()
    return loss.detach(), input.grad


def _torch_target(target):
    # torch 2.13 fails on uint8 targets with label_smoothing and weight together (its
    # gather wants int64); the semantics are those of the same int64 indices.
    return target.long() if target.dtype == torch.uint8 else target


def _assert_matches_torch(case):
    logits, target, weight, ignore_index, reduction, smoothing = case
    kwargs = dict(weight=weight, ignore_index=ignore_index, reduction=reduction,
                  label_smoothing=smoothing)
    ours, our_grad = _value_and_grad(lbf.cross_entropy, logits, target=target, **kwargs)
    theirs, their_grad = _value_and_grad(F.cross_entropy, logits, target=_torch_target(target),
                                         **kwargs)
    # A mean over targets that are all ignored is 0 / 0 = NaN in both.
    torch.testing.assert_close(ours, theirs, equal_nan=True)
    torch.testing.assert_close(our_grad, their_grad, equal_nan=True)


@PROPERTY
@given(ce_case(probability_targets=False))
def test_cross_entropy_with_class_indices_matches_torch(case):
    _assert_matches_torch(case)


@PROPERTY
@given(ce_case(probability_targets=True))
def test_cross_entropy_with_probability_targets_matches_torch(case):
    _assert_matches_torch(case)


@PROPERTY
@given(ce_case(probability_targets=False), st.booleans())
def test_nll_loss_matches_torch(case, from_logits):
    logits, target, weight, ignore_index, reduction, _ = case
    class_dim = 1 if logits.dim() >= 2 else 0
    # log-probabilities, or any non-positive numbers: nll_loss only picks and negates.
    input = torch.log_softmax(logits, class_dim) if from_logits else -logits.abs()
    kwargs = dict(weight=weight, ignore_index=ignore_index, reduction=reduction)
    ours, our_grad = _value_and_grad(lbf.nll_loss, input, target=target, **kwargs)
    theirs, their_grad = _value_and_grad(F.nll_loss, input, target=_torch_target(target), **kwargs)
    torch.testing.assert_close(ours, theirs, equal_nan=True)
    torch.testing.assert_close(our_grad, their_grad, equal_nan=True)


@PROPERTY
@given(hnp.arrays("float64", st.tuples(st.integers(1, 5), st.integers(2, 6)),
                  elements=st.floats(-1e4, 1e4, allow_nan=False)))
def test_log_softmax_matches_torch_even_for_huge_logits(array):
    x = torch.from_numpy(array)
    torch.testing.assert_close(lbf.log_softmax(x, dim=1), torch.log_softmax(x, dim=1))
    assert torch.isfinite(lbf.log_softmax(x, dim=1)).all()


# --- the identities chapter 5 shows ----------------------------------------------------

GEN = torch.Generator().manual_seed(0)
X = torch.randn(6, 4, generator=GEN, dtype=torch.float64)
Y = torch.tensor([0, 3, 1, 1, 2, 0])
W = torch.tensor([1.0, 2.0, 0.5, 4.0], dtype=torch.float64)


def test_cross_entropy_is_log_softmax_then_nll_not_softmax_then_nll():
    by_hand = torch.logsumexp(X, 1) - X[torch.arange(6), Y]
    ours = lbf.cross_entropy(X, Y, reduction="none")
    torch.testing.assert_close(ours, by_hand)
    torch.testing.assert_close(ours, lbf.nll_loss(lbf.log_softmax(X, 1), Y, reduction="none"))
    # torch's NLLLoss on softmax output returns -p of the target class: negative numbers.
    p = torch.softmax(X, 1)
    wrong = F.nll_loss(p, Y, reduction="none")
    torch.testing.assert_close(wrong, -p[torch.arange(6), Y])
    assert (wrong < 0).all()
    with pytest.raises(ValueError, match="log_softmax, not softmax"):
        lbf.nll_loss(p, Y)


def test_label_smoothing_equals_smoothed_soft_targets():
    e = 0.2
    soft = (1 - e) * F.one_hot(Y, 4).double() + e / 4
    for reduction in ("none", "mean", "sum"):
        torch.testing.assert_close(lbf.cross_entropy(X, Y, label_smoothing=e, reduction=reduction),
                                   lbf.cross_entropy(X, soft, reduction=reduction))


def test_weighted_mean_divides_by_the_selected_weights_not_by_n():
    per_example = lbf.cross_entropy(X, Y, weight=W, reduction="none")
    mean = lbf.cross_entropy(X, Y, weight=W)
    torch.testing.assert_close(mean, per_example.sum() / W[Y].sum())
    assert not torch.isclose(mean, per_example.mean())
    # probability targets: the same per-example losses, divided by N
    onehot = F.one_hot(Y, 4).double()
    torch.testing.assert_close(lbf.cross_entropy(X, onehot, weight=W, reduction="none"), per_example)
    torch.testing.assert_close(lbf.cross_entropy(X, onehot, weight=W), per_example.mean())


def test_label_smoothing_with_weight_divides_by_the_target_class_weights():
    """torch's label smoothing with weight: per example it is the weighted soft-target loss,
    but the mean still divides by the sum of the target classes' weights."""
    e = 0.3
    soft = (1 - e) * F.one_hot(Y, 4).double() + e / 4
    smoothed = lbf.cross_entropy(X, Y, weight=W, label_smoothing=e, reduction="none")
    torch.testing.assert_close(smoothed, lbf.cross_entropy(X, soft, weight=W, reduction="none"))
    torch.testing.assert_close(lbf.cross_entropy(X, Y, weight=W, label_smoothing=e),
                               smoothed.sum() / W[Y].sum())
    torch.testing.assert_close(F.cross_entropy(X, Y, weight=W, label_smoothing=e),
                               smoothed.sum() / W[Y].sum())


def test_ignore_index_leaves_the_denominator():
    target = Y.clone()
    target[[1, 4]] = -100
    keep = target != -100
    torch.testing.assert_close(lbf.cross_entropy(X, target), lbf.cross_entropy(X[keep], target[keep]))
    torch.testing.assert_close(lbf.cross_entropy(X, target, reduction="none")[~keep],
                               torch.zeros(2, dtype=torch.float64))


def test_uint8_targets_equal_int64_targets():
    for kwargs in ({}, dict(weight=W), dict(label_smoothing=0.1), dict(weight=W, label_smoothing=0.1)):
        torch.testing.assert_close(lbf.cross_entropy(X, Y.to(torch.uint8), **kwargs),
                                   lbf.cross_entropy(X, Y, **kwargs))


def test_two_class_cross_entropy_is_bce_with_logits_of_the_difference():
    pairs = X[:, :2]
    target = torch.tensor([0, 1, 1, 0, 1, 0])
    torch.testing.assert_close(
        lbf.cross_entropy(pairs, target, reduction="none"),
        lbf.binary_cross_entropy_with_logits(pairs[:, 1] - pairs[:, 0], target.double(),
                                             reduction="none"),
    )


def test_a_single_class_is_refused_where_torch_returns_zero():
    z = torch.randn(5, 1, generator=GEN, requires_grad=True)
    y = torch.tensor([[1.0], [0.0], [1.0], [1.0], [0.0]])
    loss = F.cross_entropy(z, y)
    loss.backward()
    assert loss.item() == 0 and torch.all(z.grad == 0)
    with pytest.raises(ValueError, match="at least 2 classes"):
        lbf.cross_entropy(z, y)


# --- explained errors --------------------------------------------------------------------

BAD_CE = [
    ("int32 target", dict(target=Y.int()), TypeError,
     ["target", "torch.int64 or torch.uint8", "torch.int32", "target.long()"]),
    ("float labels of shape (N,)", dict(target=Y.double()), TypeError,
     ["target", "torch.float64", "target.long()", "probabilities", "(6, 4)"]),
    ("index out of range", dict(target=torch.tensor([0, 4, 1, 1, 2, 0])), ValueError,
     ["target", "[0, 3]", "ignore_index=-100", "4"]),
    ("negative index", dict(target=torch.tensor([0, -1, 1, 1, 2, 0])), ValueError, ["target", "-1"]),
    ("target of another shape", dict(target=Y[:5]), ValueError, ["target", "(6,)", "(5,)"]),
    ("probabilities outside [0, 1]", dict(target=2 * F.one_hot(Y, 4).double() - 1), ValueError,
     ["target", "[0, 1]"]),
    ("NaN logits", dict(input=torch.full((6, 4), float("nan"))), ValueError, ["input", "finite"]),
    ("integer logits", dict(input=X.long()), TypeError, ["input", "floating-point"]),
    ("single class", dict(input=X[:, :1], target=torch.zeros(6, dtype=torch.long)), ValueError,
     ["input", "at least 2 classes", "(6, 1)", "binary_cross_entropy_with_logits"]),
    ("scalar input", dict(input=torch.tensor(1.0, dtype=torch.float64), target=torch.tensor(0)),
     ValueError, ["input", "(N, C)", "()"]),
    ("per-element weight", dict(weight=torch.ones(6, dtype=torch.float64)), ValueError,
     ["weight", "(4,)", "one weight per class", "(6,)"]),
    ("label_smoothing above 1", dict(label_smoothing=1.5), ValueError, ["label_smoothing", "[0, 1]", "1.5"]),
    ("bad reduction", dict(reduction="batchmean"), ValueError, ["reduction", "'batchmean'"]),
]


@pytest.mark.parametrize("case", BAD_CE, ids=[c[0] for c in BAD_CE])
def test_bad_cross_entropy_input_is_explained(case):
    _, kwargs, error, fragments = case
    kwargs = {"input": X, "target": Y, **kwargs}
    with pytest.raises(error) as info:
        lbf.cross_entropy(**kwargs)
    for fragment in fragments:
        assert fragment in str(info.value), (fragment, str(info.value))


@pytest.mark.parametrize("input, fragments", [
    (torch.softmax(X, 1), ["input", "log-probabilities", "24 of 24", "log_softmax, not softmax"]),
    (X, ["input", "log-probabilities", "above 0"]),
    (torch.full((6, 4), float("nan")), ["input", "NaN"]),
])
def test_nll_loss_refuses_what_is_not_log_probabilities(input, fragments):
    with pytest.raises(ValueError) as info:
        lbf.nll_loss(input, Y)
    for fragment in fragments:
        assert fragment in str(info.value), (fragment, str(info.value))


def test_nll_loss_refuses_probability_targets():
    with pytest.raises(TypeError, match="torch.int64 or torch.uint8"):
        lbf.nll_loss(torch.log_softmax(X, 1), F.one_hot(Y, 4).double())
