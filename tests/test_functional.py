"""lossbook.functional's binary losses and softplus against torch.nn.functional: values and
gradients (property tests, probabilities of exactly 0 and 1 included), mixed dtypes, and
the half-precision dtypes of every loss torch has."""

import functools

import hypothesis.strategies as st
import numpy as np
import pytest
import torch
import torch.nn.functional as F
from hypothesis import given

from lossbook import functional as lbf
from tests.helpers import (PROPERTY, REDUCTIONS, SHAPES, array, torchvision_sigmoid_focal_loss, value_and_grad,
                           value_and_grads)


@st.composite
def broadcast_shape(draw, shape):
    """A shape that broadcasts to ``shape``: a suffix of it with some sides set to 1."""
    suffix = shape[len(shape) - draw(st.integers(1, len(shape))):]
    return tuple(1 if draw(st.booleans()) else side for side in suffix)


@st.composite
def bce_case(draw, logits: bool):
    shape = draw(SHAPES)
    if logits:
        input = array(draw, shape, -200.0, 200.0)
    else:  # the bounds 0 and 1 too, where the logs are clamped
        input = array(draw, shape, 0.0, 1.0, special=(0.0, 1.0))
    target = array(draw, shape, 0.0, 1.0, special=(0.0, 1.0))
    if draw(st.booleans()):  # hard targets
        target = target.round()
    weight = None
    if draw(st.booleans()):
        weight = array(draw, draw(broadcast_shape(shape)), 0.0, 5.0)
    pos_weight = None
    if logits and draw(st.booleans()):
        pos_weight = array(draw, (draw(st.sampled_from([1, shape[-1]])),), 0.0, 20.0)
    return input, target, weight, pos_weight, draw(REDUCTIONS)


def _assert_all_close(ours, theirs):
    # NaN where both agree: the target's gradient is inf * 0 where a weight is 0 and the
    # probability 0 or 1, in torch as here.
    for our, their in zip(ours, theirs, strict=True):
        torch.testing.assert_close(our, their, equal_nan=True)


@PROPERTY
@given(bce_case(logits=False))
def test_binary_cross_entropy_matches_torch(case):
    """Values, and gradients with respect to the input and the target."""
    input, target, weight, _, reduction = case
    kwargs = dict(weight=weight, reduction=reduction)
    _assert_all_close(value_and_grads(lbf.binary_cross_entropy, input, target, **kwargs),
                      value_and_grads(F.binary_cross_entropy, input, target, **kwargs))


@PROPERTY
@given(bce_case(logits=True))
def test_binary_cross_entropy_with_logits_matches_torch(case):
    input, target, weight, pos_weight, reduction = case
    kwargs = dict(weight=weight, pos_weight=pos_weight, reduction=reduction)
    _assert_all_close(value_and_grads(lbf.binary_cross_entropy_with_logits, input, target, **kwargs),
                      value_and_grads(F.binary_cross_entropy_with_logits, input, target, **kwargs))


@PROPERTY
@given(bce_case(logits=True))
def test_logits_version_equals_probability_version_where_sigmoid_is_exact(case):
    """Inside float64's exact range of the sigmoid, the two BCE routes are the same loss."""
    input, target, weight, _, reduction = case
    input = input.clamp(-15, 15)
    with_logits = lbf.binary_cross_entropy_with_logits(input, target, weight, reduction=reduction)
    with_probs = lbf.binary_cross_entropy(torch.sigmoid(input), target, weight, reduction)
    torch.testing.assert_close(with_logits, with_probs)


def test_gradient_where_a_float32_sigmoid_saturates_is_torchs():
    """A float32 sigmoid is exactly 0 or 1 past |z| ~ 17 and 104: the gradient must stay
    torch's, 0 for a right prediction and large but finite for a wrong one (autograd
    through the clamped logs gave NaN), and the target's is torch's infinite one."""
    probs = torch.sigmoid(torch.tensor([-200.0, 200.0, -200.0, 200.0, 0.0]))
    assert probs[:4].tolist() == [0.0, 1.0, 0.0, 1.0]
    target = torch.tensor([0.0, 1.0, 1.0, 0.0, 1.0])
    ours = value_and_grads(lbf.binary_cross_entropy, probs, target, reduction="none")
    theirs = value_and_grads(F.binary_cross_entropy, probs, target, reduction="none")
    _assert_all_close(ours, theirs)
    _, input_grad, _ = ours
    assert torch.isfinite(input_grad).all() and (input_grad[:2] == 0).all()


def test_second_derivative_matches_torch():
    x = torch.tensor([0.1, 0.5, 0.9], dtype=torch.float64, requires_grad=True)
    y = torch.tensor([0.0, 1.0, 0.3], dtype=torch.float64)
    hessians = [torch.autograd.functional.hessian(lambda p: fn(p, y), x)
                for fn in (lbf.binary_cross_entropy, F.binary_cross_entropy)]
    torch.testing.assert_close(*hessians)


@pytest.mark.parametrize("input_dtype, target_dtype", [(torch.float32, torch.float64),
                                                       (torch.float64, torch.float32)])
def test_mixed_dtypes_are_refused_as_torch_does(input_dtype, target_dtype):
    input = torch.tensor([0.2, 0.7], dtype=input_dtype)
    target = torch.tensor([0.0, 1.0], dtype=target_dtype)
    with pytest.raises(RuntimeError, match="Found dtype"):
        F.binary_cross_entropy(input, target)
    with pytest.raises(TypeError) as info:
        lbf.binary_cross_entropy(input, target)
    for fragment in ["target must have the dtype of input", str(input_dtype), str(target_dtype),
                     "target.to(input.dtype)"]:
        assert fragment in str(info.value), (fragment, str(info.value))


@pytest.mark.parametrize("fn", [lbf.binary_cross_entropy, lbf.binary_cross_entropy_with_logits])
def test_an_integer_target_of_a_float64_input_is_told_to_take_the_inputs_dtype(fn):
    """target.float() would give float32, a second mistake."""
    with pytest.raises(TypeError) as info:
        fn(torch.tensor([0.2, 0.7], dtype=torch.float64), torch.tensor([0, 1]))
    assert "convert it with target.to(input.dtype)" in str(info.value)


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
    loss, grad = value_and_grad(lbf.binary_cross_entropy_with_logits, logit,
                                target=target, reduction="none")
    torch.testing.assert_close(loss, torch.tensor([z, z]))
    torch.testing.assert_close(grad, torch.tensor([-1.0, 1.0]))


# --- softplus ------------------------------------------------------------------------------


def test_softplus_is_finite_where_the_naive_form_overflows():
    z = torch.tensor([-1000.0, 0.0, 1000.0])
    assert torch.isinf(torch.log1p(torch.exp(z))).any()
    torch.testing.assert_close(lbf.softplus(z), torch.tensor([0.0, 0.693147, 1000.0]))
    torch.testing.assert_close(lbf.softplus(z), F.softplus(z))


@PROPERTY
@given(st.data())
def test_softplus_matches_torch_for_any_beta_and_threshold(data):
    z = array(data.draw, data.draw(SHAPES), -100.0, 100.0)
    # |beta| >= 1e-3: 1 / beta overflows for a subnormal beta, and so does the gradient
    beta = data.draw(st.sampled_from([1.0, 3.0]) | st.floats(-10, 10).filter(lambda b: abs(b) >= 1e-3))
    threshold = data.draw(st.sampled_from([20.0, 0.2, -100.0]) | st.floats(-50, 50))
    ours = value_and_grad(lbf.softplus, z, beta=beta, threshold=threshold)
    theirs = value_and_grad(F.softplus, z, beta=beta, threshold=threshold)
    _assert_all_close(ours, theirs)


@pytest.mark.parametrize("call, error, fragments", [
    (lambda: lbf.softplus([0.0, 1.0]), TypeError, ["input must be a torch.Tensor", "list"]),
    (lambda: lbf.softplus(np.zeros(3)), TypeError, ["input must be a torch.Tensor", "ndarray"]),
    (lambda: lbf.softplus(torch.zeros(3).bool()), TypeError, ["input", "floating-point", "torch.bool"]),
    (lambda: lbf.softplus(torch.zeros(3, dtype=torch.complex64)), TypeError,
     ["input", "floating-point", "torch.complex64"]),
    (lambda: lbf.softplus(torch.zeros(3), beta=0), ValueError, ["beta", "other than 0", "got 0"]),
    (lambda: lbf.softplus(torch.zeros(3), threshold=float("nan")), ValueError,
     ["threshold must be a finite number", "nan"]),
])
def test_bad_softplus_input_is_explained(call, error, fragments):
    with pytest.raises(error) as info:
        call()
    for fragment in fragments:
        assert fragment in str(info.value), (fragment, str(info.value))


# --- float16 and bfloat16 ------------------------------------------------------------------


def _hinge_by_torch(z, y, reduction="mean"):
    return F.margin_ranking_loss(z, torch.zeros_like(z), 2 * y - 1, margin=1.0, reduction=reduction)


def _low_precision_cases():
    gen = torch.Generator().manual_seed(0)
    z = torch.randn(6, 5, generator=gen) * 4
    probs = torch.sigmoid(z)
    probs[0, :4] = torch.tensor([0.0, 1.0, 0.0, 1.0])
    hard = (torch.rand(6, 5, generator=gen) < 0.5).float()
    hard[0, :4] = torch.tensor([0.0, 1.0, 1.0, 0.0])
    soft = torch.softmax(torch.randn(6, 5, generator=gen), dim=1)
    index = torch.randint(0, 5, (6,), generator=gen)
    log_softmax = [functools.partial(fn, dim=1) for fn in (lbf.log_softmax, F.log_softmax)]
    return {
        "binary_cross_entropy": (lbf.binary_cross_entropy, F.binary_cross_entropy, probs, hard),
        "binary_cross_entropy_with_logits": (lbf.binary_cross_entropy_with_logits,
                                             F.binary_cross_entropy_with_logits, z, soft),
        "softplus": (lbf.softplus, F.softplus, z),
        "log_softmax": (*log_softmax, z),
        "cross_entropy": (lbf.cross_entropy, F.cross_entropy, z, index),
        "cross_entropy, probabilities": (lbf.cross_entropy, F.cross_entropy, z, soft),
        "nll_loss": (lbf.nll_loss, F.nll_loss, torch.log_softmax(z, dim=1), index),
        "sigmoid_focal_loss": (lbf.sigmoid_focal_loss, torchvision_sigmoid_focal_loss(), z, hard),
        # torch's margin_ranking_loss(z, 0, t, margin=1) is max(0, 1 - t z): the binary hinge
        "binary_hinge_loss": (lbf.binary_hinge_loss, _hinge_by_torch, z, hard),
        "squared_hinge_loss": (lbf.squared_hinge_loss, lambda z, y: _hinge_by_torch(z, y, "none").pow(2).mean(),
                               z, hard),
    }


LOW_PRECISION = _low_precision_cases()


@pytest.mark.parametrize("dtype", [torch.float16, torch.bfloat16], ids=str)
@pytest.mark.parametrize("name", LOW_PRECISION)
def test_half_precision_is_torchs_exact_value_rounded(name, dtype):
    """At float16 and bfloat16, lossbook's value and gradient are torch's float64 ones on
    the same (rounded) numbers, at the dtype's tolerance of assert_close: each is computed
    in float32 and rounded once (probabilities of exactly 0 and 1 included, where torch's
    own float16 gradient is NaN: its 1e-12 rounds to 0). torch's own CPU kernels do not all
    do that (BCEWithLogitsLoss rounds intermediate steps in float16 and bfloat16), so the
    reference is the float64 value, not torch at low precision."""
    ours, theirs, *args = LOW_PRECISION[name]
    low = [a.to(dtype) if a.is_floating_point() else a for a in args]
    exact = [a.double() if a.is_floating_point() else a for a in low]
    value, grad = value_and_grad(ours, *low)
    exact_value, exact_grad = value_and_grad(theirs, *exact)
    assert value.dtype == grad.dtype == dtype
    torch.testing.assert_close(value, exact_value.to(dtype))
    torch.testing.assert_close(grad, exact_grad.to(dtype))
