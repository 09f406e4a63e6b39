"""lossbook.functional against torch.nn.functional: values and gradients (property tests)."""

import hypothesis.extra.numpy as hnp
import hypothesis.strategies as st
import pytest
import torch
import torch.nn.functional as F
from hypothesis import given, settings

from lossbook import functional as lbf

REDUCTIONS = st.sampled_from(["none", "mean", "sum"])
SHAPES = hnp.array_shapes(min_dims=1, max_dims=3, min_side=1, max_side=6)
PROPERTY = settings(max_examples=60, deadline=None)


def _array(draw, shape, lo, hi):
    floats = st.floats(lo, hi, allow_nan=False, allow_infinity=False)
    return torch.from_numpy(draw(hnp.arrays("float64", shape, elements=floats)))


@st.composite
def broadcast_shape(draw, shape):
    """A shape that broadcasts to ``shape``: a suffix of it with some sides set to 1."""
    suffix = shape[len(shape) - draw(st.integers(1, len(shape))):]
    return tuple(1 if draw(st.booleans()) else side for side in suffix)


@st.composite
def bce_case(draw, logits: bool):
    shape = draw(SHAPES)
    if logits:
        input = _array(draw, shape, -200.0, 200.0)
    else:  # inside (0, 1), where torch's hand-written backward and autograd agree
        input = _array(draw, shape, 1e-6, 1 - 1e-6)
    hard = draw(st.booleans())
    target = _array(draw, shape, 0.0, 1.0)
    if hard:
        target = target.round()
    weight = None
    if draw(st.booleans()):
        weight = _array(draw, draw(broadcast_shape(shape)), 0.0, 5.0)
    pos_weight = None
    if logits and draw(st.booleans()):
        pos_weight = _array(draw, (draw(st.sampled_from([1, shape[-1]])),), 0.0, 20.0)
    return input, target, weight, pos_weight, draw(REDUCTIONS)


def _value_and_grad(fn, input, **kwargs):
    input = input.clone().requires_grad_(True)
    loss = fn(input, **kwargs)
    loss.sum().backward()
    return loss.detach(), input.grad


@PROPERTY
@given(bce_case(logits=False))
def test_binary_cross_entropy_matches_torch(case):
    input, target, weight, _, reduction = case
    kwargs = dict(target=target, weight=weight, reduction=reduction)
    ours, our_grad = _value_and_grad(lbf.binary_cross_entropy, input, **kwargs)
    theirs, their_grad = _value_and_grad(F.binary_cross_entropy, input, **kwargs)
    torch.testing.assert_close(ours, theirs)
    torch.testing.assert_close(our_grad, their_grad)


@PROPERTY
@given(bce_case(logits=True))
def test_binary_cross_entropy_with_logits_matches_torch(case):
    input, target, weight, pos_weight, reduction = case
    kwargs = dict(target=target, weight=weight, pos_weight=pos_weight, reduction=reduction)
    ours, our_grad = _value_and_grad(lbf.binary_cross_entropy_with_logits, input, **kwargs)
    theirs, their_grad = _value_and_grad(F.binary_cross_entropy_with_logits, input, **kwargs)
    torch.testing.assert_close(ours, theirs)
    torch.testing.assert_close(our_grad, their_grad)


@PROPERTY
@given(bce_case(logits=True))
def test_logits_version_equals_probability_version_where_sigmoid_is_exact(case):
    """Inside float64's exact range of the sigmoid, the two BCE routes are the same loss."""
    input, target, weight, _, reduction = case
    input = input.clamp(-15, 15)
    with_logits = lbf.binary_cross_entropy_with_logits(input, target, weight, reduction=reduction)
    with_probs = lbf.binary_cross_entropy(torch.sigmoid(input), target, weight, reduction)
    torch.testing.assert_close(with_logits, with_probs)


def test_float32_matches_torch_at_moderate_logits():
    gen = torch.Generator().manual_seed(0)
    z = torch.randn(1000, generator=gen) * 5
    y = (torch.rand(1000, generator=gen) < 0.3).float()
    pos_weight = torch.tensor([3.0])
    torch.testing.assert_close(
        lbf.binary_cross_entropy_with_logits(z, y, pos_weight=pos_weight),
        F.binary_cross_entropy_with_logits(z, y, pos_weight=pos_weight),
    )
    torch.testing.assert_close(
        lbf.binary_cross_entropy(torch.sigmoid(z), y), F.binary_cross_entropy(torch.sigmoid(z), y)
    )


def test_probability_loss_is_capped_at_100_like_torch():
    input = torch.tensor([0.0, 1.0])
    target = torch.tensor([1.0, 0.0])
    expected = torch.tensor([100.0, 100.0])
    assert torch.equal(lbf.binary_cross_entropy(input, target, reduction="none"), expected)
    assert torch.equal(F.binary_cross_entropy(input, target, reduction="none"), expected)


@pytest.mark.parametrize("z", [100.0, 1e4, 1e30])
def test_logits_loss_stays_exact_where_sigmoid_saturates(z):
    logit = torch.tensor([-z, z], dtype=torch.float32)
    target = torch.tensor([1.0, 0.0])
    loss, grad = _value_and_grad(lbf.binary_cross_entropy_with_logits, logit,
                                 target=target, reduction="none")
    torch.testing.assert_close(loss, torch.tensor([z, z]))
    torch.testing.assert_close(grad, torch.tensor([-1.0, 1.0]))


def test_softplus_is_finite_where_the_naive_form_overflows():
    z = torch.tensor([-1000.0, 0.0, 1000.0])
    assert torch.isinf(torch.log1p(torch.exp(z))).any()
    torch.testing.assert_close(lbf.softplus(z), torch.tensor([0.0, 0.693147, 1000.0]))
    torch.testing.assert_close(lbf.softplus(z), F.softplus(z))
