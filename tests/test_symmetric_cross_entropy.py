"""lossbook's symmetric cross entropy (function and module) against the direct formula with
two softmax passes and a clamped one-hot, its gradients, the roles of alpha, beta and clamp,
its explained errors; and the data helpers of chapter 6 (digits, symmetric label noise)."""

import math

import hypothesis.extra.numpy as hnp
import hypothesis.strategies as st
import numpy as np
import pytest
import torch
import torch.nn.functional as F
from hypothesis import given

from lossbook import functional as lbf
from lossbook.modules import SymmetricCrossEntropy
from tests.helpers import PROPERTY, REDUCTION_NAMES, REDUCTIONS, array, value_and_grad


def naive_sce(logits, target, alpha=0.1, beta=1.0, clamp=1e-4, reduction="mean"):
    """The formula as written, with nothing clever: a softmax for CE, a second softmax for
    RCE, a one-hot clamped at ``clamp`` and its log. For (N, C) and (C,) inputs."""
    unbatched = logits.dim() == 1
    if unbatched:
        logits, target = logits.unsqueeze(0), target.reshape(1)
    probs = torch.softmax(logits, dim=1)
    onehot = F.one_hot(target.long(), logits.shape[1]).to(logits.dtype)
    ce = -(onehot * torch.log(torch.softmax(logits, dim=1))).sum(dim=1)
    rce = -(probs * torch.log(torch.clamp(onehot, min=clamp, max=1.0))).sum(dim=1)
    loss = alpha * ce + beta * rce
    if unbatched:
        loss = loss.squeeze(0)
    return {"none": loss, "mean": loss.mean(), "sum": loss.sum()}[reduction]


@st.composite
def sce_case(draw):
    n_classes = draw(st.integers(2, 6))
    shape = draw(st.sampled_from([(n_classes,), (draw(st.integers(1, 8)), n_classes)]))
    logits = array(draw, shape, -20.0, 20.0)
    target = torch.from_numpy(draw(hnp.arrays("int64", shape[:-1], elements=st.integers(0, n_classes - 1))))
    if draw(st.booleans()):
        target = target.to(torch.uint8)
    options = dict(alpha=draw(st.floats(0, 10)), beta=draw(st.floats(0, 10)),
                   clamp=draw(st.sampled_from([1e-4, 1e-8, 0.5, 1.0]) | st.floats(1e-12, 1.0)),
                   reduction=draw(REDUCTIONS))
    return logits, target, options


# --- values and gradients against the direct formula ------------------------------------


@PROPERTY
@given(sce_case())
def test_matches_the_two_softmax_formula_in_value_and_gradient(case):
    logits, target, options = case
    ours, our_grad = value_and_grad(lbf.symmetric_cross_entropy, logits, target, **options)
    theirs, their_grad = value_and_grad(naive_sce, logits, target, **options)
    assert ours.shape == theirs.shape
    torch.testing.assert_close(ours, theirs, rtol=1e-9, atol=1e-9)
    torch.testing.assert_close(our_grad, their_grad, rtol=1e-8, atol=1e-9)


@PROPERTY
@given(sce_case())
def test_rce_is_minus_log_clamp_times_one_minus_p_y_and_bounded(case):
    logits, target, options = case
    clamp = options["clamp"]
    rce = lbf.symmetric_cross_entropy(logits, target, alpha=0.0, beta=1.0, clamp=clamp,
                                      reduction="none")
    p_y = torch.softmax(logits, dim=-1).gather(-1, target.long().unsqueeze(-1)).squeeze(-1)
    torch.testing.assert_close(rce, -math.log(clamp) * (1 - p_y), rtol=1e-9, atol=1e-9)
    assert (rce >= 0).all() and (rce <= -math.log(clamp) + 1e-12).all()


def test_the_module_equals_the_function_and_the_naive_formula_for_the_paper_settings():
    gen = torch.Generator().manual_seed(0)
    logits = torch.randn(32, 10, generator=gen, dtype=torch.float64) * 3
    target = torch.randint(0, 10, (32,), generator=gen)
    for alpha, beta in lbf.SCE_SETTINGS.values():
        module = SymmetricCrossEntropy(alpha=alpha, beta=beta)
        torch.testing.assert_close(module(logits, target),
                                   lbf.symmetric_cross_entropy(logits, target, alpha, beta))
        torch.testing.assert_close(module(logits, target), naive_sce(logits, target, alpha, beta))


def test_defaults_are_the_official_cifar10_setting():
    assert lbf.SCE_SETTINGS == {"MNIST": (0.01, 1.0), "CIFAR-10": (0.1, 1.0),
                                "CIFAR-100": (6.0, 0.1)}
    module = SymmetricCrossEntropy()
    assert (module.alpha, module.beta, module.clamp, module.reduction) == (0.1, 1.0, 1e-4, "mean")
    assert repr(module) == "SymmetricCrossEntropy(alpha=0.1, beta=1.0, clamp=0.0001, reduction='mean')"


def test_spatial_inputs_match_the_flattened_loss():
    gen = torch.Generator().manual_seed(2)
    logits = torch.randn(2, 4, 3, 5, generator=gen, dtype=torch.float64)
    target = torch.randint(0, 4, (2, 3, 5), generator=gen)
    spatial = lbf.symmetric_cross_entropy(logits, target, reduction="none")
    flat = naive_sce(logits.movedim(1, -1).reshape(-1, 4), target.reshape(-1), reduction="none")
    assert spatial.shape == (2, 3, 5)
    torch.testing.assert_close(spatial.reshape(-1), flat)


def test_gradcheck_in_float64():
    gen = torch.Generator().manual_seed(3)
    logits = torch.randn(6, 5, generator=gen, dtype=torch.float64, requires_grad=True)
    target = torch.randint(0, 5, (6,), generator=gen)
    for options in [{}, dict(alpha=0.01, beta=1.0), dict(alpha=6.0, beta=0.1, clamp=1e-8),
                    dict(reduction="none"), dict(reduction="sum")]:
        assert torch.autograd.gradcheck(
            lambda z: lbf.symmetric_cross_entropy(z, target, **options), (logits,))
    assert torch.autograd.gradcheck(
        lambda z: lbf.symmetric_cross_entropy(z, target.to(torch.uint8)), (logits,))


def test_gradient_of_rce_vanishes_on_confident_mistakes_but_ce_does_not():
    """The property the chapter builds on: d RCE / d z_y = -|log a| p_y (1 - p_y)."""
    z_y = torch.tensor([4.0, 0.0, -4.0, -12.0], dtype=torch.float64)
    logits = torch.stack([z_y, torch.zeros(4, dtype=torch.float64)], dim=1).requires_grad_(True)
    target = torch.zeros(4, dtype=torch.long)
    lbf.symmetric_cross_entropy(logits, target, alpha=0.0, beta=1.0, reduction="sum").backward()
    p_y = torch.sigmoid(z_y)
    torch.testing.assert_close(logits.grad[:, 0], math.log(1e-4) * p_y * (1 - p_y))
    assert abs(logits.grad[3, 0]) < 1e-4  # p_y = 6e-6: almost no push
    logits.grad = None
    lbf.symmetric_cross_entropy(logits, target, alpha=1.0, beta=0.0, reduction="sum").backward()
    assert logits.grad[3, 0] < -0.99  # CE's gradient p_y - 1 stays near -1


# --- alpha, beta, clamp ------------------------------------------------------------------


def test_alpha_one_beta_zero_is_torch_cross_entropy():
    gen = torch.Generator().manual_seed(4)
    logits = torch.randn(50, 7, generator=gen) * 10
    target = torch.randint(0, 7, (50,), generator=gen)
    for reduction in REDUCTION_NAMES:
        torch.testing.assert_close(
            lbf.symmetric_cross_entropy(logits, target, alpha=1.0, beta=0.0, reduction=reduction),
            F.cross_entropy(logits, target, reduction=reduction))


@PROPERTY
@given(sce_case())
def test_the_loss_is_linear_in_alpha_and_beta(case):
    logits, target, options = case
    alpha, beta, clamp = options["alpha"], options["beta"], options["clamp"]
    ce = lbf.symmetric_cross_entropy(logits, target, 1.0, 0.0, clamp, "none")
    rce = lbf.symmetric_cross_entropy(logits, target, 0.0, 1.0, clamp, "none")
    both = lbf.symmetric_cross_entropy(logits, target, alpha, beta, clamp, "none")
    torch.testing.assert_close(both, alpha * ce + beta * rce, rtol=1e-9, atol=1e-9)


def test_the_clamp_scales_rce_by_its_log():
    gen = torch.Generator().manual_seed(5)
    logits = torch.randn(20, 10, generator=gen, dtype=torch.float64)
    target = torch.randint(0, 10, (20,), generator=gen)
    rce = {a: lbf.symmetric_cross_entropy(logits, target, 0.0, 1.0, a, "none")
           for a in (1e-4, 1e-8, 1.0)}
    torch.testing.assert_close(rce[1e-8], 2 * rce[1e-4])  # ln 1e-8 = 2 ln 1e-4: the article
    assert torch.equal(rce[1.0], torch.zeros(20, dtype=torch.float64))  # log 1 = 0: no RCE


def test_the_prediction_clamp_of_pytorch_ports_changes_rce_by_at_most_c_minus_1_times_1e_7():
    """The docstring's claim about the 1e-7 clamp of the probabilities inside RCE."""
    logits = torch.tensor([[30.0, 0.0, -30.0, -30.0, -30.0, -30.0, -30.0, -30.0, -30.0, -30.0]],
                          dtype=torch.float64)
    target = torch.tensor([0])
    probs = torch.clamp(torch.softmax(logits, dim=1), min=1e-7, max=1.0)
    onehot = torch.clamp(F.one_hot(target, 10).double(), min=1e-4, max=1.0)
    ported = -(probs * torch.log(onehot)).sum(dim=1)
    ours = lbf.symmetric_cross_entropy(logits, target, alpha=0.0, beta=1.0, reduction="none")
    difference = (ported - ours).item()
    assert 0 < difference <= 9 * 1e-7 * -math.log(1e-4)
    assert difference == pytest.approx(9 * 1e-7 * -math.log(1e-4), rel=1e-6)


# --- reductions, dtypes, extreme logits --------------------------------------------------


def test_reductions():
    gen = torch.Generator().manual_seed(6)
    logits = torch.randn(9, 4, generator=gen)
    target = torch.randint(0, 4, (9,), generator=gen)
    none = lbf.symmetric_cross_entropy(logits, target, reduction="none")
    assert none.shape == (9,) and none.dtype == torch.float32
    torch.testing.assert_close(lbf.symmetric_cross_entropy(logits, target, reduction="sum"), none.sum())
    torch.testing.assert_close(lbf.symmetric_cross_entropy(logits, target), none.mean())
    unbatched = lbf.symmetric_cross_entropy(logits[0], target[0], reduction="none")
    assert unbatched.shape == () and torch.isclose(unbatched, none[0])


def test_uint8_targets_give_the_int64_result():
    gen = torch.Generator().manual_seed(7)
    logits = torch.randn(9, 4, generator=gen)
    target = torch.randint(0, 4, (9,), generator=gen)
    assert torch.equal(lbf.symmetric_cross_entropy(logits, target, reduction="none"),
                       lbf.symmetric_cross_entropy(logits, target.to(torch.uint8), reduction="none"))


def test_extreme_logits_stay_finite_and_exact_in_float32():
    logits = torch.tensor([[1e4, 0.0, -1e4], [-1e4, 0.0, 1e4], [0.0, 30.0, 0.0]],
                          requires_grad=True)
    target = torch.tensor([0, 0, 0])
    loss = lbf.symmetric_cross_entropy(logits, target, reduction="none")
    loss.sum().backward()
    assert torch.isfinite(loss).all() and torch.isfinite(logits.grad).all()
    # confidently right: CE = 0, RCE = 0; confidently wrong: CE = 2e4 exactly, RCE = |ln a|
    torch.testing.assert_close(loss[0], torch.tensor(0.0))
    torch.testing.assert_close(loss[1], torch.tensor(0.1 * 2e4 - math.log(1e-4)))
    torch.testing.assert_close(loss, 0.1 * F.cross_entropy(logits.detach(), target, reduction="none")
                               - math.log(1e-4) * (1 - torch.softmax(logits.detach(), 1)[:, 0]))


def test_a_sum_that_overflows_is_not_mistaken_for_an_infinite_logit():
    logits = torch.tensor([[3e38, 3e38], [3e38, 0.0]])
    loss = lbf.symmetric_cross_entropy(logits, torch.tensor([0, 0]), reduction="none")
    assert torch.isfinite(loss).all()


# --- errors ------------------------------------------------------------------------------

Z = torch.randn(4, 3, generator=torch.Generator().manual_seed(8))
Y = torch.tensor([0, 1, 2, 1])


@pytest.mark.parametrize("call, error, fragment", [
    (lambda: lbf.symmetric_cross_entropy([[0.0, 1.0]], Y), TypeError, "input must be a torch.Tensor, got list"),
    (lambda: lbf.symmetric_cross_entropy(Z.long(), Y), TypeError, "input must have a floating-point dtype"),
    (lambda: lbf.symmetric_cross_entropy(Z[:, :1], Y), ValueError, "at least 2 classes"),
    (lambda: lbf.symmetric_cross_entropy(Z.where(Z > 0, float("nan")), Y), ValueError,
     "input must be finite, got"),
    (lambda: lbf.symmetric_cross_entropy(Z, Y.float()), TypeError,
     "takes no probability targets), got torch.float32; convert it with target.long()"),
    (lambda: lbf.symmetric_cross_entropy(Z, Y.int()), TypeError,
     "dtype torch.int64 or torch.uint8, got torch.int32"),
    (lambda: lbf.symmetric_cross_entropy(Z, Y[:3]), ValueError, "must have shape (4,)"),
    (lambda: lbf.symmetric_cross_entropy(Z, torch.tensor([0, 1, 3, -100])), ValueError,
     "target must hold class indices in [0, 2], got 2 value(s) outside, in [-100, 3]"),
    (lambda: lbf.symmetric_cross_entropy(Z, Y, alpha=-0.1), ValueError, "alpha must be a finite number >= 0, got -0.1"),
    (lambda: lbf.symmetric_cross_entropy(Z, Y, beta=float("inf")), ValueError, "beta must be a finite number >= 0"),
    (lambda: lbf.symmetric_cross_entropy(Z, Y, clamp=0.0), ValueError, "clamp must be a finite number in (0, 1]"),
    (lambda: lbf.symmetric_cross_entropy(Z, Y, clamp=1.5), ValueError, "got 1.5"),
    (lambda: lbf.symmetric_cross_entropy(Z, Y, reduction="avg"), ValueError, "reduction must be one of"),
    (lambda: SymmetricCrossEntropy(alpha=-1), ValueError, "alpha must be a finite number >= 0, got -1"),
    (lambda: SymmetricCrossEntropy(clamp=torch.tensor([1e-4, 1e-8])), ValueError,
     "clamp must be a finite number in (0, 1]"),
    (lambda: SymmetricCrossEntropy(beta=True), ValueError, "beta must be a finite number >= 0, got True"),
    (lambda: SymmetricCrossEntropy(reduction="max"), ValueError, "reduction must be one of"),
    (lambda: SymmetricCrossEntropy()(Z, Y.float()), TypeError, "takes no probability targets"),
])
def test_bad_input_is_explained(call, error, fragment):
    with pytest.raises(error) as info:
        call()
    assert fragment in str(info.value)
    assert "ignore_index" not in str(info.value)


@pytest.mark.parametrize("number", [np.float64, np.float32, torch.tensor],
                         ids=["numpy float64", "numpy float32", "0-dim tensor"])
def test_numpy_and_0_dim_tensor_options_are_numbers(number):
    expected = lbf.symmetric_cross_entropy(Z, Y, alpha=0.5, beta=2.0, clamp=0.125)
    options = dict(alpha=number(0.5), beta=number(2.0), clamp=number(0.125))
    torch.testing.assert_close(lbf.symmetric_cross_entropy(Z, Y, **options), expected)
    module = SymmetricCrossEntropy(**options)
    torch.testing.assert_close(module(Z, Y), expected)
    assert repr(module) == ("SymmetricCrossEntropy(alpha=0.5, beta=2.0, clamp=0.125, "
                            "reduction='mean')")


def test_minus_inf_off_the_label_is_a_masked_class():
    """-inf on another class is a probability of 0, as in torch: the loss is that of the
    remaining classes, and its gradient finite; on the label it is an infinite loss."""
    inf = float("inf")
    masked = torch.tensor([[0.5, 1.5, -inf], [2.0, -inf, -1.0]], requires_grad=True)
    target = torch.tensor([0, 2])
    loss = lbf.symmetric_cross_entropy(masked, target, reduction="none")
    loss.sum().backward()
    kept = [lbf.symmetric_cross_entropy(torch.tensor([0.5, 1.5]), torch.tensor(0)),
            lbf.symmetric_cross_entropy(torch.tensor([2.0, -1.0]), torch.tensor(1))]
    torch.testing.assert_close(loss.detach(), torch.stack(kept))
    assert torch.isfinite(masked.grad).all()
    with pytest.raises(ValueError, match="input must be finite, got 2 NaN or infinite"):
        lbf.symmetric_cross_entropy(masked.detach(), torch.tensor([2, 2]))
