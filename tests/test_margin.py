"""Margin losses: lossbook's binary hinge and squared hinge against their formulas, against
torch's MultiMarginLoss, and their input checks (property tests and explained errors)."""

import hypothesis.extra.numpy as hnp
import hypothesis.strategies as st
import numpy as np
import pytest
import torch
import torch.nn.functional as F
from hypothesis import given

from lossbook import functional as lbf
from lossbook.modules import BinaryHingeLoss
from tests.helpers import PROPERTY, REDUCTIONS, SHAPES, array, value_and_grad


@st.composite
def hinge_case(draw):
    """Scores, labels in one of the two conventions (as float or int), the same labels as
    +-1.0, a margin and a reduction."""
    shape = draw(SHAPES)
    scores = array(draw, shape, -20.0, 20.0)
    positive = torch.from_numpy(draw(hnp.arrays("bool", shape)))
    plus_minus = torch.where(positive, 1.0, -1.0).double()
    convention = draw(st.sampled_from(["01", "pm1"]))
    target = positive.double() if convention == "01" else plus_minus.clone()
    dtype = draw(st.sampled_from([torch.float32, torch.float64, torch.int64]))
    margin = draw(st.sampled_from([0.0, 0.5, 1.0, 2.0]) | st.floats(0, 5))
    return scores, target.to(dtype), plus_minus, margin, draw(REDUCTIONS)


def _reduce(loss, reduction):
    return {"mean": loss.mean, "sum": loss.sum, "none": lambda: loss}[reduction]()


def _off_the_kink(scores, y, margin):
    """Elements whose margin is not exactly at the kink, where the derivative jumps and
    implementations may pick either side."""
    return (margin - y * scores).abs() > 1e-9


@PROPERTY
@given(hinge_case(), st.booleans())
def test_hinge_matches_its_formula(case, squared):
    scores, target, y, margin, reduction = case
    fn = lbf.squared_hinge_loss if squared else lbf.binary_hinge_loss
    loss, grad = value_and_grad(fn, scores, target, margin=margin, reduction=reduction)
    violation = margin - y * scores
    active = violation > 0
    expected = torch.where(active, violation, 0.0) ** (2 if squared else 1)
    torch.testing.assert_close(loss, _reduce(expected, reduction))
    # d/ds max(0, m - y s) = -y where the margin is violated, else 0; the square doubles
    # the violation in.
    slope = -y * (2 * violation if squared else 1) * active
    if reduction == "mean":
        slope = slope / scores.numel()
    keep = _off_the_kink(scores, y, margin)
    torch.testing.assert_close(grad[keep], slope[keep])


@PROPERTY
@given(hinge_case(), st.booleans())
def test_multi_margin_loss_on_zero_and_score_is_half_the_hinge(case, squared):
    """MultiMarginLoss on the two scores [0, s] divides its single term by C = 2: twice it,
    or per-class weight 2, is the binary hinge (p=2: the squared hinge)."""
    scores, target, y, margin, reduction = case
    classes = (y > 0).long().reshape(-1)
    p = 2 if squared else 1

    def via_multi_margin(s, weight=None):
        pairs = torch.stack([torch.zeros_like(s), s], dim=-1).reshape(-1, 2)
        mm = F.multi_margin_loss(pairs, classes, p=p, margin=margin, weight=weight,
                                 reduction="none")
        return _reduce(mm.reshape(s.shape), reduction)

    fn = lbf.squared_hinge_loss if squared else lbf.binary_hinge_loss
    ours, our_grad = value_and_grad(fn, scores, target, margin=margin, reduction=reduction)
    half, half_grad = value_and_grad(via_multi_margin, scores)
    weighted, _ = value_and_grad(via_multi_margin, scores, weight=torch.full((2,), 2.0).double())
    torch.testing.assert_close(ours, 2 * half)
    torch.testing.assert_close(ours, weighted)
    keep = _off_the_kink(scores, y, margin)
    torch.testing.assert_close(our_grad[keep], 2 * half_grad[keep])


@PROPERTY
@given(hinge_case())
def test_both_label_conventions_and_the_module_agree(case):
    scores, target, y, margin, reduction = case
    zero_one = (y > 0).to(target.dtype)
    expected = lbf.binary_hinge_loss(scores, y, margin=margin, reduction=reduction)
    torch.testing.assert_close(lbf.binary_hinge_loss(scores, zero_one, margin, reduction), expected)
    module = BinaryHingeLoss(margin=margin, reduction=reduction)
    torch.testing.assert_close(module(scores, target), expected)
    squared = BinaryHingeLoss(margin=margin, reduction=reduction, squared=True)
    torch.testing.assert_close(squared(scores, target),
                               lbf.squared_hinge_loss(scores, y, margin, reduction))


def test_hinge_is_zero_beyond_the_margin_and_linear_inside():
    scores = torch.tensor([-2.0, 0.0, 0.5, 1.0, 3.0])
    target = torch.ones(5)
    torch.testing.assert_close(lbf.binary_hinge_loss(scores, target, reduction="none"),
                               torch.tensor([3.0, 1.0, 0.5, 0.0, 0.0]))
    torch.testing.assert_close(lbf.squared_hinge_loss(scores, -target, reduction="none"),
                               torch.tensor([0.0, 1.0, 2.25, 4.0, 16.0]))
    torch.testing.assert_close(lbf.binary_hinge_loss(scores, target, margin=0.0, reduction="sum"),
                               torch.tensor(2.0))


def test_bool_labels_are_the_zero_one_convention():
    scores = torch.tensor([0.3, -0.2])
    torch.testing.assert_close(lbf.binary_hinge_loss(scores, torch.tensor([True, False])),
                               lbf.binary_hinge_loss(scores, torch.tensor([1.0, -1.0])))


def test_soft_margin_loss_is_bce_with_logits_on_zero_one_labels():
    """SoftMarginLoss(s, y) = BCEWithLogits(s, (y + 1) / 2), while exp(-y s) is finite; past
    |s| ~ 89 in float32 torch's SoftMarginLoss overflows and lossbook's BCE does not."""
    gen = torch.Generator().manual_seed(0)
    s = torch.randn(200, generator=gen) * 20
    y = torch.where(torch.rand(200, generator=gen) < 0.5, 1.0, -1.0)
    torch.testing.assert_close(F.soft_margin_loss(s, y, reduction="none"),
                               lbf.binary_cross_entropy_with_logits(s, (y + 1) / 2, reduction="none"))
    far = torch.tensor([100.0])
    assert torch.isinf(F.soft_margin_loss(far, torch.tensor([-1.0])))
    torch.testing.assert_close(lbf.binary_cross_entropy_with_logits(far, torch.tensor([0.0])),
                               torch.tensor(100.0))


S = torch.tensor([2.0, -1.5, 3.0, -2.0])

BAD_HINGE = [
    ("targets mapped twice", dict(scores=S, target=torch.tensor([1.0, -3.0, 1.0, -3.0])),
     ValueError, ["target", "{0, 1}", "{-1, 1}", "-3", "2 * target - 1"]),
    ("mixed conventions", dict(scores=S, target=torch.tensor([1, 0, -1, 1])),
     ValueError, ["target", "one label convention", "mix", "[-1, 0, 1]"]),
    ("soft labels", dict(scores=S, target=torch.tensor([0.9, 0.1, 1.0, 0.0])),
     ValueError, ["target", "binary labels", "0.9"]),
    ("NaN label", dict(scores=S, target=torch.tensor([1.0, float("nan"), 1.0, 0.0])),
     ValueError, ["target", "nan"]),
    ("probabilities of another shape", dict(scores=S[:, None], target=torch.tensor([1, 0, 1, 0])),
     ValueError, ["target", "(4, 1)", "(4,)", "squeeze"]),
    ("integer scores", dict(scores=S.long(), target=torch.tensor([1, 0, 1, 0])),
     TypeError, ["scores", "floating-point", "torch.int64"]),
    ("list target", dict(scores=S, target=[1, 0, 1, 0]), TypeError, ["target", "torch.Tensor", "list"]),
    ("infinite score", dict(scores=torch.tensor([1.0, float("inf"), 0.0, 0.0]),
                            target=torch.tensor([1, 0, 1, 0])), ValueError, ["scores", "finite"]),
    ("negative margin", dict(scores=S, target=torch.tensor([1, 0, 1, 0]), margin=-1.0),
     ValueError, ["margin", ">= 0", "-1.0"]),
    ("tensor margin of 2 values", dict(scores=S, target=torch.tensor([1, 0, 1, 0]),
                                       margin=torch.tensor([1.0, 2.0])),
     ValueError, ["margin", "finite number", "tensor([1., 2.])"]),
    ("bool margin", dict(scores=S, target=torch.tensor([1, 0, 1, 0]), margin=True),
     ValueError, ["margin", "finite number", "True"]),
    ("bad reduction", dict(scores=S, target=torch.tensor([1, 0, 1, 0]), reduction="avg"),
     ValueError, ["reduction", "'avg'"]),
]
PAIRS = [(fn, case) for fn in (lbf.binary_hinge_loss, lbf.squared_hinge_loss) for case in BAD_HINGE]


@pytest.mark.parametrize("fn, case", PAIRS, ids=[f"{fn.__name__}-{c[0]}" for fn, c in PAIRS])
def test_bad_hinge_input_is_explained(fn, case):
    _, kwargs, error, fragments = case
    with pytest.raises(error) as info:
        fn(**kwargs)
    for fragment in fragments:
        assert fragment in str(info.value), (fragment, str(info.value))


@pytest.mark.parametrize("kwargs, fragments", [
    (dict(margin=-0.5), ["margin", ">= 0", "-0.5"]),
    (dict(margin=float("nan")), ["margin", "finite"]),
    (dict(reduction="batchmean"), ["reduction", "'batchmean'"]),
])
def test_bad_module_options_are_refused_at_construction(kwargs, fragments):
    with pytest.raises(ValueError) as info:
        BinaryHingeLoss(**kwargs)
    for fragment in fragments:
        assert fragment in str(info.value)


@pytest.mark.parametrize("margin", [np.float64(0.5), np.float32(0.5), torch.tensor(0.5),
                                    torch.tensor(0.5, dtype=torch.float64)], ids=repr)
def test_a_numpy_or_0_dim_tensor_margin_is_a_number_as_in_torch(margin):
    """torch takes them for its own margins (margin_ranking_loss, multi_margin_loss)."""
    target = torch.tensor([1, 0, 1, 0])
    for fn in (lbf.binary_hinge_loss, lbf.squared_hinge_loss):
        torch.testing.assert_close(fn(S, target, margin=margin), fn(S, target, margin=0.5))
    module = BinaryHingeLoss(margin=margin)
    assert module.margin == 0.5 and type(module.margin) is float
    assert repr(module) == "BinaryHingeLoss(margin=0.5, reduction='mean', squared=False)"


def test_module_call_checks_its_target():
    with pytest.raises(ValueError, match="mix of both"):
        BinaryHingeLoss()(S, torch.tensor([1, 0, -1, 1]))
    assert "squared=True" in repr(BinaryHingeLoss(squared=True))
