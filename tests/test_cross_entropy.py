"""lossbook's cross_entropy and nll_loss against torch (values and gradients, property
tests), the identities the chapter shows, and their explained errors."""

import hypothesis.extra.numpy as hnp
import hypothesis.strategies as st
import numpy as np
import pytest
import torch
import torch.nn.functional as F
from hypothesis import given

from lossbook import functional as lbf
from tests.helpers import PROPERTY, REDUCTIONS, array, value_and_grad


@st.composite
def class_shape(draw):
    """An input shape (C,), (N, C) or (N, C, d1, ...), with C >= 2."""
    n_classes = draw(st.integers(2, 5))
    layout = draw(st.sampled_from(["unbatched", "batch", "batch", "spatial"]))
    if layout == "unbatched":
        return (n_classes,)
    extra = draw(st.lists(st.integers(1, 3), min_size=1, max_size=2)) if layout == "spatial" else []
    return (draw(st.integers(1, 6)), n_classes, *extra)


@st.composite
def ce_case(draw, probability_targets: bool):
    shape = draw(class_shape())
    class_dim = 1 if len(shape) >= 2 else 0
    n_classes = shape[class_dim]
    logits = array(draw, shape, -50.0, 50.0)
    if probability_targets:
        kind = draw(st.sampled_from(["softmax", "one-hot", "any"]))
        if kind == "softmax":
            target = torch.softmax(array(draw, shape, -5.0, 5.0), dim=class_dim)
        elif kind == "one-hot":
            index = torch.from_numpy(draw(hnp.arrays("int64", shape[:class_dim] + shape[class_dim + 1:],
                                                     elements=st.integers(0, n_classes - 1))))
            target = F.one_hot(index, n_classes).movedim(-1, class_dim).double()
        else:
            target = array(draw, shape, 0.0, 1.0)
        ignore_index = draw(st.sampled_from([-100, -1]))  # torch takes any negative one
    else:
        ignore_index = draw(st.sampled_from([-100, 0, n_classes - 1, 7]))
        target_shape = shape[:class_dim] + shape[class_dim + 1:]
        values = st.integers(0, n_classes - 1) | st.just(ignore_index)
        target = torch.from_numpy(draw(hnp.arrays("int64", target_shape, elements=values)))
        if ignore_index >= 0 and draw(st.booleans()):
            target = target.to(torch.uint8)
    weight = array(draw, (n_classes,), 0.1, 5.0) if draw(st.booleans()) else None
    smoothing = draw(st.sampled_from([0.0, 0.0, 0.1, 1.0]) | st.floats(0, 1))
    return logits, target, weight, ignore_index, draw(REDUCTIONS), smoothing


def _torch_target(target):
    # torch 2.13 fails on uint8 targets with label_smoothing and weight together (its
    # gather wants int64); the semantics are those of the same int64 indices.
    return target.long() if target.dtype == torch.uint8 else target


def _assert_matches_torch(case):
    logits, target, weight, ignore_index, reduction, smoothing = case
    kwargs = dict(weight=weight, ignore_index=ignore_index, reduction=reduction,
                  label_smoothing=smoothing)
    ours, our_grad = value_and_grad(lbf.cross_entropy, logits, target=target, **kwargs)
    theirs, their_grad = value_and_grad(F.cross_entropy, logits, target=_torch_target(target),
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
    ours, our_grad = value_and_grad(lbf.nll_loss, input, target=target, **kwargs)
    theirs, their_grad = value_and_grad(F.nll_loss, input, target=_torch_target(target), **kwargs)
    torch.testing.assert_close(ours, theirs, equal_nan=True)
    torch.testing.assert_close(our_grad, their_grad, equal_nan=True)


@PROPERTY
@given(hnp.arrays("float64", st.tuples(st.integers(1, 5), st.integers(2, 6)),
                  elements=st.floats(-1e4, 1e4, allow_nan=False)))
def test_log_softmax_matches_torch_even_for_huge_logits(array):
    x = torch.from_numpy(array)
    torch.testing.assert_close(lbf.log_softmax(x, dim=1), torch.log_softmax(x, dim=1))
    assert torch.isfinite(lbf.log_softmax(x, dim=1)).all()


@PROPERTY
@given(hnp.array_shapes(min_dims=0, max_dims=3, min_side=0, max_side=4), st.data())
def test_log_softmax_matches_torch_on_any_shape_and_dim(shape, data):
    """Empty shapes too ((5, 0, 0) gives an empty result), and a 0-dim input."""
    x = array(data.draw, shape, -50.0, 50.0)
    n = max(len(shape), 1)
    dim = data.draw(st.integers(-n, n - 1))
    ours, our_grad = value_and_grad(lbf.log_softmax, x, dim)
    theirs, their_grad = value_and_grad(torch.log_softmax, x, dim)
    torch.testing.assert_close(ours, theirs)
    torch.testing.assert_close(our_grad, their_grad)


def test_log_softmax_of_an_empty_tensor_is_empty_as_in_torch():
    x = torch.zeros(5, 0, 0)
    assert torch.equal(lbf.log_softmax(x, -1), torch.log_softmax(x, -1))


def test_log_softmax_casts_to_dtype_first_as_torch():
    x = torch.tensor([[1.0, 2.0, 30.0]])
    ours = lbf.log_softmax(x, 1, dtype=torch.float64)
    assert ours.dtype == torch.float64
    torch.testing.assert_close(ours, torch.log_softmax(x, 1, dtype=torch.float64))


@pytest.mark.parametrize("call, error, fragments", [
    (lambda: lbf.log_softmax([1.0, 2.0], 0), TypeError, ["input must be a torch.Tensor", "list"]),
    (lambda: lbf.log_softmax(np.zeros(3), 0), TypeError, ["input must be a torch.Tensor", "ndarray"]),
    (lambda: lbf.log_softmax(torch.zeros(3).bool(), 0), TypeError,
     ["input", "floating-point", "torch.bool"]),
    (lambda: lbf.log_softmax(torch.zeros(3, dtype=torch.complex64), 0), TypeError,
     ["input", "floating-point", "torch.complex64"]),
    (lambda: lbf.log_softmax(torch.zeros(2, 3), 2), ValueError, ["dim", "(2, 3)", "[-2, 1]", "got 2"]),
    (lambda: lbf.log_softmax(torch.zeros(2, 3), 1.0), TypeError, ["dim must be an int", "1.0"]),
    (lambda: lbf.log_softmax(torch.zeros(2, 3), 1, dtype=torch.int64), TypeError,
     ["dtype", "floating-point", "torch.int64"]),
])
def test_bad_log_softmax_input_is_explained(call, error, fragments):
    with pytest.raises(error) as info:
        call()
    for fragment in fragments:
        assert fragment in str(info.value), (fragment, str(info.value))


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


P = torch.softmax(torch.randn(6, 4, generator=GEN, dtype=torch.float64), dim=1)


@pytest.mark.parametrize("ignore_index", [0, 3, 7])
def test_ignore_index_with_probability_targets_is_refused_as_torch_does(ignore_index):
    with pytest.raises(RuntimeError, match="ignore_index is not supported"):
        F.cross_entropy(X, P, ignore_index=ignore_index)
    with pytest.raises(ValueError) as info:
        lbf.cross_entropy(X, P, ignore_index=ignore_index)
    for fragment in ["ignore_index must be negative", "probability targets",
                     f"got ignore_index={ignore_index}", "reduction='none'"]:
        assert fragment in str(info.value), (fragment, str(info.value))


@pytest.mark.parametrize("ignore_index", [-1, -100])
def test_a_negative_ignore_index_with_probability_targets_is_unused_as_in_torch(ignore_index):
    torch.testing.assert_close(lbf.cross_entropy(X, P, ignore_index=ignore_index),
                               F.cross_entropy(X, P, ignore_index=ignore_index))


@pytest.mark.parametrize("fn", [lbf.cross_entropy, lbf.nll_loss])
@pytest.mark.parametrize("ignore_index", [1.0, None, True, torch.tensor(1.0)], ids=repr)
def test_an_ignore_index_that_is_not_an_int_is_refused_as_torch_does(fn, ignore_index):
    input = torch.log_softmax(X, 1)
    with pytest.raises(TypeError, match="ignore_index"):
        getattr(F, fn.__name__)(input, Y, ignore_index=ignore_index)
    with pytest.raises(TypeError) as info:
        fn(input, Y, ignore_index=ignore_index)
    assert f"ignore_index must be an int, got {ignore_index!r}" in str(info.value)


@pytest.mark.parametrize("fn", [lbf.cross_entropy, lbf.nll_loss])
@pytest.mark.parametrize("ignore_index", [np.int64(1), torch.tensor(1)], ids=repr)
def test_a_numpy_or_tensor_ignore_index_is_taken_as_torch_does(fn, ignore_index):
    input = torch.log_softmax(X, 1)
    torch.testing.assert_close(fn(input, Y, ignore_index=ignore_index),
                               getattr(F, fn.__name__)(input, Y, ignore_index=ignore_index))


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
    ("no class", dict(input=X[:, :0], target=torch.zeros(6, dtype=torch.long)), ValueError,
     ["input", "at least 2 classes", "(6, 0)", "class dimension is empty"]),
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
    (torch.full((6, 4), float("nan")), ["input", "24 non-finite value(s), NaN or +inf", "out of 24"]),
    (torch.log_softmax(X, 1).index_fill(1, torch.tensor([2]), float("inf")),
     ["input", "6 non-finite value(s)"]),
])
def test_nll_loss_refuses_what_is_not_log_probabilities(input, fragments):
    with pytest.raises(ValueError) as info:
        lbf.nll_loss(input, Y)
    for fragment in fragments:
        assert fragment in str(info.value), (fragment, str(info.value))
    if "non-finite" in fragments[1]:  # a NaN is not a softmax taken for a log-softmax
        assert "softmax" not in str(info.value)


def test_minus_inf_log_probabilities_are_allowed_as_in_torch():
    input = torch.log_softmax(X, 1).index_fill(1, torch.tensor([2]), -float("inf"))
    target = torch.tensor([0, 3, 1, 1, 0, 0])
    torch.testing.assert_close(lbf.nll_loss(input, target), F.nll_loss(input, target))


def test_an_empty_class_dimension_is_not_explained_by_a_single_logit():
    with pytest.raises(ValueError) as info:
        lbf.nll_loss(torch.zeros(6, 0), Y)
    message = str(info.value)
    assert "at least 1 class along" in message and "(6, 0)" in message
    assert "single logit" not in message and "1 classes" not in message


def test_nll_loss_refuses_probability_targets():
    with pytest.raises(TypeError, match="torch.int64 or torch.uint8"):
        lbf.nll_loss(torch.log_softmax(X, 1), F.one_hot(Y, 4).double())
