"""Bad input raises an error that names the argument, the expectation and what came."""

import pytest
import torch

from lossbook import checks
from lossbook import functional as lbf

P = torch.tensor([0.2, 0.7, 0.9, 0.4])
Y = torch.tensor([0.0, 1.0, 1.0, 0.0])

BCE_CASES = [
    # (description, kwargs, error, fragments the message must contain)
    ("list input", dict(input=[0.2, 0.7], target=Y), TypeError, ["input", "torch.Tensor", "list"]),
    ("int target", dict(input=P, target=Y.long()), TypeError, ["target", "floating-point", "torch.int64", "target.float()"]),
    ("bool target", dict(input=P, target=Y.bool()), TypeError, ["target", "torch.bool"]),
    ("(N, 1) input", dict(input=P[:, None], target=Y), ValueError, ["target", "(4, 1)", "(4,)", "input.squeeze(-1)"]),
    ("(N, 1) target", dict(input=P, target=Y[:, None]), ValueError, ["(4,)", "(4, 1)", "target.squeeze(-1)"]),
    ("other shape", dict(input=P, target=Y[:3]), ValueError, ["target", "same shape", "(4,)", "(3,)"]),
    ("logits as input", dict(input=P * 10 - 5, target=Y), ValueError, ["input", "[0, 1]", "with_logits"]),
    ("targets in {-1, 1}", dict(input=P, target=Y * 2 - 1), ValueError, ["target", "[0, 1]", "-1"]),
    ("NaN input", dict(input=torch.tensor([0.2, float("nan"), 0.9, 0.4]), target=Y), ValueError, ["input", "finite", "1 NaN"]),
    ("inf target", dict(input=P, target=torch.tensor([0.0, float("inf"), 1.0, 0.0])), ValueError, ["target", "finite"]),
    ("per-class weight", dict(input=P, target=Y, weight=torch.tensor([0.2, 0.8])), ValueError, ["weight", "(4,)", "(2,)", "torch.where"]),
    ("int weight", dict(input=P, target=Y, weight=torch.tensor([1, 2, 1, 2])), TypeError, ["weight", "torch.int64"]),
    ("bad reduction", dict(input=P, target=Y, reduction="avg"), ValueError, ["reduction", "'avg'", "'mean'"]),
]


# Logits are the right input of the with-logits loss: every other case applies to both.
PAIRS = [(fn, case) for fn in (lbf.binary_cross_entropy, lbf.binary_cross_entropy_with_logits)
         for case in BCE_CASES
         if not (case[0] == "logits as input" and fn is lbf.binary_cross_entropy_with_logits)]


@pytest.mark.parametrize("fn, case", PAIRS, ids=[f"{fn.__name__}-{c[0]}" for fn, c in PAIRS])
def test_bad_input_is_explained(fn, case):
    description, kwargs, error, fragments = case
    with pytest.raises(error) as info:
        fn(**kwargs)
    for fragment in fragments:
        assert fragment in str(info.value), (fragment, str(info.value))


def test_logits_are_accepted_by_the_logits_loss():
    assert torch.isfinite(lbf.binary_cross_entropy_with_logits(P * 10 - 5, Y))


@pytest.mark.parametrize("pos_weight, fragments", [
    (torch.tensor([1.0, 2.0, 3.0]), ["pos_weight", "(4, 2)", "(3,)", "one weight per column"]),
    (torch.tensor([1, 2]), ["pos_weight", "torch.int64"]),
])
def test_bad_pos_weight_is_explained(pos_weight, fragments):
    z = torch.zeros(4, 2)
    with pytest.raises((ValueError, TypeError)) as info:
        lbf.binary_cross_entropy_with_logits(z, torch.ones(4, 2), pos_weight=pos_weight)
    for fragment in fragments:
        assert fragment in str(info.value)


def test_weight_that_broadcasts_is_accepted():
    """A (2,) weight against an (N, 2) input weights columns: valid, as in torch."""
    z = torch.zeros(3, 2)
    loss = lbf.binary_cross_entropy_with_logits(z, torch.ones(3, 2), weight=torch.tensor([1.0, 3.0]),
                                                reduction="none")
    assert torch.allclose(loss[:, 1], 3 * loss[:, 0])


def test_checks_accept_valid_input():
    checks.check_binary_loss_args(P, Y, torch.tensor(2.0), "sum")
    checks.check_probabilities("input", P)


@pytest.mark.parametrize("call, fragment", [
    (lambda: lbf.binary_hinge_loss(torch.zeros(4, 1), torch.ones(4)),
     "target must have the same shape as scores (4, 1), got (4,); drop the trailing "
     "dimension of scores with scores.squeeze(-1)"),
    (lambda: lbf.sigmoid_focal_loss(torch.zeros(4), torch.ones(4, 1)),
     "targets must have the same shape as inputs (4,), got (4, 1); drop the trailing "
     "dimension of targets with targets.squeeze(-1)"),
])
def test_shape_errors_use_the_callers_argument_names(call, fragment):
    with pytest.raises(ValueError) as info:
        call()
    assert fragment in str(info.value)
