"""lossbook's sigmoid focal loss against torchvision's: values, gradients
with respect to the logits and the targets, special cases, reductions, the module, and
errors. The reference is the real ``torchvision.ops.sigmoid_focal_loss``
(:func:`tests.helpers.torchvision_sigmoid_focal_loss`).
"""

import math

import hypothesis.strategies as st
import numpy as np
import pytest
import torch
import torch.nn.functional as F
from hypothesis import given

import lossbook as lb
from lossbook.functional import sigmoid_focal_loss
from lossbook.modules import FocalLoss
from tests.helpers import (PROPERTY, REDUCTIONS, SHAPES, array, torchvision_sigmoid_focal_loss,
                           value_and_grad, value_and_grads)


@st.composite
def focal_case(draw):
    """Float64 logits, hard or soft targets, alpha in [0, 1] or off (-1, torchvision's only
    negative), gamma in [0, 5], any reduction.

    The logits stay where torchvision is accurate in float64: its ``1 - p_t`` cancels, with
    a relative error of about ``1e-16 / (1 - p_t)``, which ``(1 - p_t)^(gamma - 1)``
    magnifies for ``0 < gamma < 1``; so |z| <= 30 (``1 - p_t >= 1e-13``) for the other
    gammas, and |z| <= 8 (``1 - p_t >= 3e-4``) for those.
    """
    shape = draw(SHAPES)
    gamma = draw(st.one_of(st.just(0.0), st.just(2.0), st.floats(0.0, 5.0)))
    bound = 8.0 if 0 < gamma < 1 else 30.0
    inputs = array(draw, shape, -bound, bound)
    targets = array(draw, shape, 0.0, 1.0, special=(0.0, 1.0))
    if draw(st.booleans()):
        targets = targets.round()
    alpha = draw(st.one_of(st.just(-1.0), st.just(0.25), st.floats(0.0, 1.0)))
    return inputs, targets, alpha, gamma, draw(REDUCTIONS)


@PROPERTY
@given(focal_case())
def test_matches_torchvision_in_value_and_gradients(case):
    """Gradients with respect to the logits and to the targets (hard ones included)."""
    inputs, targets, alpha, gamma, reduction = case
    kwargs = dict(alpha=alpha, gamma=gamma, reduction=reduction)
    ours = value_and_grads(sigmoid_focal_loss, inputs, targets, **kwargs)
    theirs = value_and_grads(torchvision_sigmoid_focal_loss(), inputs, targets, **kwargs)
    for our, their in zip(ours, theirs, strict=True):
        torch.testing.assert_close(our, their, rtol=1e-7, atol=1e-10)


@pytest.mark.parametrize("gamma", [0.5, 1.0, 2.0, 3.5])
def test_gradient_with_respect_to_hard_targets_is_torchvisions(gamma):
    """Autograd through log t gave NaN at t = 0 and t = 1 for every gamma > 0."""
    inputs = torch.tensor([-3.0, -0.5, 0.0, 2.0, 8.0, -8.0], dtype=torch.float64)
    targets = torch.tensor([0.0, 1.0, 0.0, 1.0, 1.0, 0.0], dtype=torch.float64)
    ours = value_and_grads(sigmoid_focal_loss, inputs, targets, gamma=gamma)
    theirs = value_and_grads(torchvision_sigmoid_focal_loss(), inputs, targets, gamma=gamma)
    assert torch.isfinite(ours[2]).all()
    for our, their in zip(ours, theirs, strict=True):
        torch.testing.assert_close(our, their)


@PROPERTY
@given(st.data())
def test_gamma_0_and_negative_alpha_is_bce_with_logits(data):
    shape = data.draw(SHAPES)
    # float64: with soft targets and |z| ~ 200, torch's float32 formula (1 - t) z + ...
    # loses digits to cancellation that the softplus form does not
    inputs = array(data.draw, shape, -200.0, 200.0)
    targets = array(data.draw, shape, 0.0, 1.0)
    if data.draw(st.booleans()):
        targets = targets.round()
    alpha = data.draw(st.floats(-10.0, -1e-3))
    ours, our_grad = value_and_grad(sigmoid_focal_loss, inputs, targets, alpha=alpha, gamma=0.0)
    theirs, their_grad = value_and_grad(F.binary_cross_entropy_with_logits, inputs, targets,
                                         reduction="none")
    torch.testing.assert_close(ours, theirs)
    torch.testing.assert_close(our_grad, their_grad)


def test_a_known_value():
    # z = 0: BCE = log 2, p_t = 1/2, (1 - p_t)^2 = 1/4; alpha_t = 0.25 for a positive.
    loss = sigmoid_focal_loss(torch.tensor([0.0, 0.0]), torch.tensor([1.0, 0.0]))
    expected = torch.tensor([0.25 * 0.25 * math.log(2), 0.75 * 0.25 * math.log(2)])
    torch.testing.assert_close(loss, expected)


def test_defaults_are_torchvisions():
    z = torch.tensor([-3.0, -0.5, 0.2, 4.0])
    t = torch.tensor([1.0, 0.0, 1.0, 0.0])
    default = sigmoid_focal_loss(z, t)
    assert default.shape == z.shape  # reduction 'none'
    torch.testing.assert_close(default, sigmoid_focal_loss(z, t, alpha=0.25, gamma=2.0,
                                                           reduction="none"))
    assert not torch.allclose(default, sigmoid_focal_loss(z, t, alpha=0.5))
    assert not torch.allclose(default, sigmoid_focal_loss(z, t, gamma=1.0))


def test_alpha_with_gamma_0_is_a_class_weight_and_a_scaled_pos_weight():
    gen = torch.Generator().manual_seed(0)
    z = torch.randn(50, generator=gen, dtype=torch.float64) * 3
    t = (torch.rand(50, generator=gen, dtype=torch.float64) < 0.3).double()
    a = 0.9
    focal = sigmoid_focal_loss(z, t, alpha=a, gamma=0.0)
    weighted = F.binary_cross_entropy_with_logits(z, t, weight=torch.where(t == 1, a, 1 - a),
                                                  reduction="none")
    pos_weight = F.binary_cross_entropy_with_logits(
        z, t, pos_weight=torch.tensor(a / (1 - a), dtype=torch.float64), reduction="none")
    torch.testing.assert_close(focal, weighted)
    torch.testing.assert_close(focal, (1 - a) * pos_weight)


def test_alpha_025_gives_positives_a_third_of_the_weight_of_negatives():
    z = torch.tensor([1.5, -1.5])           # the same p_t for a positive and a negative
    t = torch.tensor([1.0, 0.0])
    loss = sigmoid_focal_loss(z, t)
    torch.testing.assert_close(loss[0] / loss[1], torch.tensor(1 / 3))


def test_gamma_shrinks_easy_examples_far_more_than_hard_ones():
    z = torch.tensor([3.0, -3.0])           # an easy and a hard positive
    t = torch.ones(2)
    ratio = sigmoid_focal_loss(z, t, alpha=-1, gamma=2) / sigmoid_focal_loss(z, t, alpha=-1,
                                                                              gamma=0)
    p_t = torch.sigmoid(z)
    torch.testing.assert_close(ratio, (1 - p_t) ** 2)
    assert ratio[0] < 0.003 and ratio[1] > 0.9


@pytest.mark.parametrize("gamma", [0.25, 0.5, 2.0])
def test_gradient_stays_finite_where_the_textbook_formula_gives_nan(gamma):
    z = torch.tensor([-100.0, -30.0, 0.0, 30.0, 100.0])
    for t in (torch.ones(5), torch.zeros(5)):
        _, grad = value_and_grad(sigmoid_focal_loss, z, t, alpha=-1, gamma=gamma)
        assert torch.isfinite(grad).all(), grad
    if gamma < 1:  # the reason for computing log(1 - p_t) from the logits
        _, naive = value_and_grad(torchvision_sigmoid_focal_loss(), z, torch.ones(5), alpha=-1,
                                  gamma=gamma)
        assert torch.isnan(naive).any()


def test_loss_stays_exact_for_confidently_wrong_logits():
    z = torch.tensor([-200.0, 200.0])
    t = torch.tensor([1.0, 0.0])
    loss = sigmoid_focal_loss(z, t, alpha=-1, gamma=2)
    torch.testing.assert_close(loss, torch.tensor([200.0, 200.0]))


@pytest.mark.parametrize("reduction, reduce", [("mean", torch.mean), ("sum", torch.sum)])
def test_reductions(reduction, reduce):
    gen = torch.Generator().manual_seed(1)
    z = torch.randn(4, 3, generator=gen)
    t = torch.rand(4, 3, generator=gen).round()
    elementwise = sigmoid_focal_loss(z, t, alpha=0.6, gamma=1.5)
    assert elementwise.shape == (4, 3)
    reduced = sigmoid_focal_loss(z, t, alpha=0.6, gamma=1.5, reduction=reduction)
    assert reduced.shape == ()
    torch.testing.assert_close(reduced, reduce(elementwise))


def test_module_defaults_to_the_mean_and_otherwise_matches_the_function():
    gen = torch.Generator().manual_seed(2)
    z = torch.randn(16, generator=gen)
    t = (torch.rand(16, generator=gen) < 0.2).float()
    torch.testing.assert_close(FocalLoss()(z, t), sigmoid_focal_loss(z, t).mean())
    module = FocalLoss(alpha=0.75, gamma=0.5, reduction="none")
    torch.testing.assert_close(module(z, t), sigmoid_focal_loss(z, t, alpha=0.75, gamma=0.5))
    assert repr(FocalLoss()) == "FocalLoss(alpha=0.25, gamma=2.0, reduction='mean')"


def test_module_trains_a_model():
    x, y = torch.randn(64, 2, generator=torch.Generator().manual_seed(3)), None
    y = (x[:, 0] + x[:, 1] > 0).float()
    torch.manual_seed(0)
    model = torch.nn.Sequential(torch.nn.Linear(2, 1), torch.nn.Flatten(0))
    history = lb.train.fit(model, FocalLoss(), x, y, epochs=50, lr=0.1, optimizer="adam")
    assert history["loss"].iloc[-1] < 0.3 * history["loss"].iloc[0]


@pytest.mark.parametrize("inputs, targets, kwargs, error, fragment", [
    ([0.0, 1.0], torch.tensor([0.0, 1.0]), {}, TypeError, "inputs must be a torch.Tensor"),
    (torch.tensor([0.0, 1.0]), torch.tensor([0, 1]), {}, TypeError,
     "targets must have a floating-point dtype"),
    (torch.zeros(4, 1), torch.zeros(4), {}, ValueError,
     "targets must have the same shape as inputs (4, 1), got (4,)"),
    (torch.zeros(2), torch.tensor([0.0, 2.0]), {}, ValueError,
     "targets must hold probabilities in [0, 1]"),
    (torch.tensor([0.0, float("nan")]), torch.zeros(2), {}, ValueError,
     "inputs must be finite"),
    (torch.zeros(2), torch.zeros(2), {"alpha": 19.0}, ValueError,
     "alpha must be a finite number <= 1, got 19.0"),
    (torch.zeros(2), torch.zeros(2), {"gamma": -1.0}, ValueError,
     "gamma must be a finite number >= 0, got -1.0"),
    (torch.zeros(2), torch.zeros(2), {"reduction": "avg"}, ValueError,
     "reduction must be one of"),
])
def test_bad_inputs_raise_with_a_message_that_names_the_argument(inputs, targets, kwargs,
                                                                error, fragment):
    with pytest.raises(error) as info:
        sigmoid_focal_loss(inputs, targets, **kwargs)
    assert fragment in str(info.value)


@pytest.mark.parametrize("kwargs, fragment", [
    ({"alpha": 1.5}, "alpha must be a finite number <= 1"),
    ({"gamma": float("nan")}, "gamma must be a finite number >= 0"),
    ({"reduction": None}, "reduction must be one of"),
])
def test_module_checks_its_options_at_construction(kwargs, fragment):
    with pytest.raises(ValueError, match=fragment):
        FocalLoss(**kwargs)


@pytest.mark.parametrize("number", [np.float64, np.float32, torch.tensor],
                         ids=["numpy float64", "numpy float32", "0-dim tensor"])
def test_numpy_and_0_dim_tensor_options_are_numbers(number):
    z = torch.tensor([-1.0, 0.5, 2.0])
    t = torch.tensor([0.0, 1.0, 1.0])
    torch.testing.assert_close(sigmoid_focal_loss(z, t, alpha=number(0.75), gamma=number(1.5)),
                               sigmoid_focal_loss(z, t, alpha=0.75, gamma=1.5))
    module = FocalLoss(alpha=number(0.75), gamma=number(1.5))
    assert repr(module) == "FocalLoss(alpha=0.75, gamma=1.5, reduction='mean')"


def test_diagnose_knows_the_focal_loss():
    z = torch.tensor([-2.0, 0.5, 3.0, -0.7])
    y = torch.tensor([0.0, 1.0, 1.0, 0.0])
    assert lb.diagnose(FocalLoss(), z, y) == []
    codes = [f.code for f in lb.diagnose(FocalLoss(), torch.sigmoid(z), y)]
    assert codes == ["probabilities-as-logits"]
