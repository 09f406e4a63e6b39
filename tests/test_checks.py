"""Bad input raises an error that names the argument, the expectation and what came."""

import numpy as np
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


# --- the meta device -------------------------------------------------------------------

META_CALLS = {
    "binary_cross_entropy": lambda d: lbf.binary_cross_entropy(
        torch.full((4,), 0.5, device=d), torch.ones(4, device=d)),
    "binary_cross_entropy_with_logits": lambda d: lbf.binary_cross_entropy_with_logits(
        torch.zeros(4, device=d), torch.ones(4, device=d)),
    "cross_entropy": lambda d: lbf.cross_entropy(
        torch.zeros(4, 3, device=d), torch.zeros(4, dtype=torch.long, device=d)),
    "cross_entropy, probabilities": lambda d: lbf.cross_entropy(
        torch.zeros(4, 3, device=d), torch.full((4, 3), 1 / 3, device=d)),
    "nll_loss": lambda d: lbf.nll_loss(
        torch.full((4, 3), -1.0, device=d), torch.zeros(4, dtype=torch.long, device=d)),
    "log_softmax": lambda d: lbf.log_softmax(torch.zeros(4, 3, device=d), 1),
    "softplus": lambda d: lbf.softplus(torch.zeros(4, device=d)),
    "binary_hinge_loss": lambda d: lbf.binary_hinge_loss(torch.zeros(4, device=d),
                                                         torch.ones(4, device=d)),
    "sigmoid_focal_loss": lambda d: lbf.sigmoid_focal_loss(torch.zeros(4, device=d),
                                                           torch.ones(4, device=d)),
    "symmetric_cross_entropy": lambda d: lbf.symmetric_cross_entropy(
        torch.zeros(4, 3, device=d), torch.zeros(4, dtype=torch.long, device=d)),
}


@pytest.mark.parametrize("name", META_CALLS)
def test_meta_tensors_are_refused_with_the_device_named(name):
    """A meta tensor has a shape and no values: torch computes the loss's shape from it,
    lossbook, which checks values, refuses it with a message naming the device."""
    call = META_CALLS[name]
    assert call("cpu").device.type == "cpu"
    with pytest.raises(TypeError) as info:
        call("meta")
    for fragment in ["must be a tensor with values", "got one on the meta device", "cpu"]:
        assert fragment in str(info.value), (fragment, str(info.value))


# --- scalar options: Python, numpy and 0-dim tensor numbers ------------------------------

Z = torch.tensor([[-1.0, 0.5, 2.0], [0.3, -0.2, 0.1]])
OPTION_CALLS = {
    "label_smoothing": lambda v: lbf.cross_entropy(Z, torch.tensor([0, 2]), label_smoothing=v),
    "softplus beta": lambda v: lbf.softplus(Z, beta=v),
    "softplus threshold": lambda v: lbf.softplus(Z, threshold=v),
    "margin": lambda v: lbf.squared_hinge_loss(Z, torch.ones(2, 3), margin=v),
    "focal gamma": lambda v: lbf.sigmoid_focal_loss(Z, torch.ones(2, 3), gamma=v),
}


@pytest.mark.parametrize("number", [np.float64, np.float32, torch.tensor,
                                    lambda v: torch.tensor(v, dtype=torch.float64)],
                         ids=["numpy float64", "numpy float32", "0-dim tensor", "0-dim float64"])
@pytest.mark.parametrize("option", OPTION_CALLS)
def test_an_option_is_any_real_number_as_in_torch(option, number):
    call = OPTION_CALLS[option]
    torch.testing.assert_close(call(number(0.25)), call(0.25))


@pytest.mark.parametrize("value, shown", [
    (True, "True"), (torch.tensor([0.25, 0.5]), "tensor([0.2500, 0.5000])"),
    (torch.tensor(1 + 0j), "tensor(1.+0.j)"), ("0.25", "'0.25'"), (None, "None"),
    (float("nan"), "nan"), (np.float64("inf"), "np.float64(inf)"), (10**400, "1" + "0" * 400),
])
def test_check_number_refuses_what_is_not_a_finite_real_number(value, shown):
    with pytest.raises(ValueError) as info:
        checks.check_number("label_smoothing", value, low=0, high=1)
    assert str(info.value) == f"label_smoothing must be a finite number in [0, 1], got {shown}"


@pytest.mark.parametrize("kwargs, message", [
    (dict(low=0), "margin must be a finite number >= 0, got -0.5"),
    (dict(high=-1), "margin must be a finite number <= -1, got -0.5"),
    (dict(low=-0.5, low_open=True), "margin must be a finite number > -0.5, got -0.5"),
    (dict(low=0, high=1, low_open=True, hint=", the margin"),
     "margin must be a finite number in (0, 1], the margin, got -0.5"),
])
def test_check_number_states_its_bounds(kwargs, message):
    with pytest.raises(ValueError) as info:
        checks.check_number("margin", -0.5, **kwargs)
    assert str(info.value) == message


def test_check_number_returns_a_python_float():
    for value in (1, np.float32(0.5), torch.tensor(0.5), torch.tensor(2, dtype=torch.int32)):
        number = checks.check_number("x", value)
        assert type(number) is float and number == float(value)


def test_check_integer_takes_what_torch_takes_for_an_index():
    for value in (3, np.int64(3), torch.tensor(3), torch.tensor([3])):
        assert checks.check_integer("ignore_index", value) == 3
    for value in (3.0, True, None, torch.tensor(3.0), torch.tensor(True), "3"):
        with pytest.raises(TypeError, match="ignore_index must be an int, got "):
            checks.check_integer("ignore_index", value)
