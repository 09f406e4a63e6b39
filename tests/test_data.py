"""lossbook.data: the portable normal draws (randn), the synthetic data sets
(two_class_scores, gaussian_classes), the real ones (breast_cancer, subsample_positives,
imbalanced_breast_cancer) and the stratified splits (train_test_split,
train_val_test_split), digits and symmetric_label_noise."""

import json
import math
import os
import subprocess
import sys

import hypothesis.strategies as st
import pytest
import scipy.stats
import torch
import torch.nn.functional as F
from hypothesis import given, settings

import lossbook as lb
from lossbook.data import Splits, imbalanced_breast_cancer, train_test_split, train_val_test_split
from tests.helpers import ROOT


def _generator(seed):
    return torch.Generator().manual_seed(seed)


def _rows(x):
    """The rows of a 2-D tensor, sorted: equal for two tensors holding the same rows, each
    as often, in any order."""
    return sorted(map(tuple, x.tolist()))


# ------------------------------------------------------------------------------ randn


def test_randn_has_the_shape_and_dtype_asked_for():
    assert lb.data.randn(2, 3).shape == (2, 3)
    assert lb.data.randn(2, 3).dtype == torch.float32
    assert lb.data.randn(0, 5).shape == (0, 5)
    assert lb.data.randn().shape == ()
    for dtype in (torch.float64, torch.float16, torch.bfloat16):
        assert lb.data.randn(4, dtype=dtype).dtype == dtype


def test_randn_follows_its_generator_or_the_global_seed():
    a, b, c = (lb.data.randn(100, generator=_generator(s)) for s in (1, 1, 2))
    assert torch.equal(a, b) and not torch.equal(a, c)
    torch.manual_seed(5)
    first = lb.data.randn(100)
    torch.manual_seed(5)
    assert torch.equal(first, lb.data.randn(100))
    assert not torch.equal(first, lb.data.randn(100))  # the global generator moved on


def test_randn_is_box_muller_of_two_float64_uniforms_rounded_to_the_dtype():
    u = torch.rand(2, 1000, generator=_generator(0), dtype=torch.float64)
    by_hand = torch.sqrt(-2 * torch.log(1 - u[0])) * torch.cos(2 * math.pi * u[1])
    x64 = lb.data.randn(1000, generator=_generator(0), dtype=torch.float64)
    torch.testing.assert_close(x64, by_hand, rtol=1e-12, atol=1e-12)
    assert torch.equal(lb.data.randn(1000, generator=_generator(0)), x64.float())


def test_randn_draws_a_standard_normal():
    x = lb.data.randn(100_000, generator=_generator(0), dtype=torch.float64)
    assert torch.isfinite(x).all()
    # the standard error of the mean is 1/sqrt(n) = 0.0032, of the deviation 0.0022
    assert abs(x.mean().item()) < 0.02
    assert abs(x.std().item() - 1) < 0.01
    assert scipy.stats.kstest(x.numpy(), "norm").pvalue > 0.01
    # neighbours are independent draws
    assert abs(torch.corrcoef(torch.stack([x[:-1], x[1:]]))[0, 1].item()) < 0.02
    # and the float32 draws the data sets use are the same distribution
    assert scipy.stats.kstest(lb.data.randn(100_000, generator=_generator(1)).numpy(),
                              "norm").pvalue > 0.01


@pytest.mark.parametrize("size, kwargs, error, fragment", [
    ((-1,), {}, ValueError, "size must be non-negative ints, got (-1,)"),
    ((2, 2.5), {}, ValueError, "size must be non-negative ints, got (2, 2.5)"),
    ((3,), {"dtype": torch.int64}, TypeError, "dtype must be a floating dtype, got torch.int64"),
])
def test_randn_rejects_bad_arguments(size, kwargs, error, fragment):
    with pytest.raises(error) as info:
        lb.data.randn(*size, **kwargs)
    assert fragment in str(info.value)


#: Run in a subprocess: the digests of every seeded draw, and the CPU capability in use.
_DIGESTS = """
import hashlib, json, torch
import lossbook as lb

def digest(*tensors):
    return hashlib.sha256(b"".join(t.numpy().tobytes() for t in tensors)).hexdigest()

gen = lambda: torch.Generator().manual_seed(0)
print(json.dumps({
    "capability": torch.backends.cpu.get_cpu_capability(),
    "randn": digest(lb.data.randn(4099, generator=gen())),
    "randn 2-D": digest(lb.data.randn(64, 64, generator=gen())),
    "two_class_scores": digest(*lb.data.two_class_scores(4099, seed=0)),
    "gaussian_classes": digest(*lb.data.gaussian_classes(4099, dim=8, seed=0)),
    "torch.randn": digest(torch.randn(4099, generator=gen())),
}))
"""


@pytest.fixture(scope="module")
def digests():
    """The digests under torch's native CPU kernels and under its portable scalar ones
    (``ATEN_CPU_CAPABILITY=default``), one subprocess each."""
    env = {k: v for k, v in os.environ.items() if k != "ATEN_CPU_CAPABILITY"}
    found = {}
    for name, extra in (("native", {}), ("default", {"ATEN_CPU_CAPABILITY": "default"})):
        run = subprocess.run([sys.executable, "-c", _DIGESTS], env={**env, **extra}, cwd=ROOT,
                             capture_output=True, text=True, timeout=120)
        assert run.returncode == 0, run.stderr
        found[name] = json.loads(run.stdout)
    return found


def test_the_data_are_bit_identical_under_the_portable_cpu_kernels(digests):
    """float32 draws, as the data sets use them. (``dtype=torch.float64`` draws keep the
    last-bit differences of the float64 log and cos between kernels: not compared.)"""
    native, default = digests["native"], digests["default"]
    assert default["capability"] == "DEFAULT"  # the variable took effect
    for key in ("randn", "randn 2-D", "two_class_scores", "gaussian_classes"):
        assert native[key] == default[key], f"{key}: {native['capability']} != DEFAULT"


def test_torch_randn_itself_differs_under_the_portable_cpu_kernels(digests):
    """Why lossbook.data.randn exists: torch.randn's vectorised kernel (AVX2, also used
    under AVX-512) rounds differently from its scalar one."""
    native, default = digests["native"], digests["default"]
    if native["capability"] not in ("AVX2", "AVX512"):
        pytest.skip(f"torch.randn has no vectorised CPU kernel under {native['capability']}: "
                    "nothing to compare with its scalar one")
    assert native["torch.randn"] != default["torch.randn"]


# ---------------------------------------------------------------- synthetic data sets


def test_two_class_scores_is_seeded_and_shaped():
    scores, target = lb.data.two_class_scores(500, separation=4.0, std=1.0, seed=3)
    again, _ = lb.data.two_class_scores(500, separation=4.0, std=1.0, seed=3)
    other, _ = lb.data.two_class_scores(500, separation=4.0, std=1.0, seed=4)
    assert scores.shape == target.shape == (500,)
    assert scores.dtype == target.dtype == torch.float32
    assert torch.equal(scores, again) and not torch.equal(scores, other)
    assert set(target.unique().tolist()) == {0.0, 1.0}


def test_two_class_scores_separation_controls_the_class_means_and_the_loss():
    scores, target = lb.data.two_class_scores(20_000, separation=6.0, std=1.0, seed=0)
    assert abs(scores[target == 1].mean() - 3.0) < 0.05
    assert abs(scores[target == 0].mean() + 3.0) < 0.05
    losses = [F.binary_cross_entropy_with_logits(*lb.data.two_class_scores(5000, d, 2.0))
              for d in (0.0, 2.0, 8.0)]
    assert losses[0] > losses[1] > losses[2]


def test_two_class_scores_positive_fraction():
    _, target = lb.data.two_class_scores(10_000, positive_fraction=0.1, seed=1)
    assert abs(target.mean().item() - 0.1) < 0.01


@pytest.mark.parametrize("kwargs, fragment", [
    (dict(n=0), "n must be a positive int"),
    (dict(std=0.0), "std must be > 0"),
    (dict(separation=-1.0), "separation must be >= 0"),
    (dict(positive_fraction=1.5), "positive_fraction must be in [0, 1]"),
])
def test_two_class_scores_rejects_bad_arguments(kwargs, fragment):
    with pytest.raises(ValueError) as info:
        lb.data.two_class_scores(**kwargs)
    assert fragment in str(info.value)


def test_gaussian_classes_have_the_stated_means_prior_and_logit():
    x, y, logit = lb.data.gaussian_classes(40_000, dim=4, separation=3.0,
                                           positive_fraction=0.2, seed=0)
    assert x.shape == (40_000, 4) and y.shape == logit.shape == (40_000,)
    assert abs(y.mean().item() - 0.2) < 0.01
    u = torch.ones(4) / 2.0                                    # unit vector, sqrt(4) = 2
    assert torch.allclose(x[y == 1].mean(dim=0), 1.5 * u, atol=0.03)
    assert torch.allclose(x[y == 0].mean(dim=0), -1.5 * u, atol=0.03)
    # log-odds by hand: d u.x + log(pi / (1 - pi))
    assert torch.allclose(logit, 3.0 * (x @ u) + math.log(0.2 / 0.8), atol=1e-5)
    # and they are the true log-odds: their sigmoid is calibrated
    assert lb.metrics.expected_calibration_error(y, torch.sigmoid(logit)) < 0.015


def test_gaussian_classes_are_seeded():
    a = lb.data.gaussian_classes(100, seed=3)
    b = lb.data.gaussian_classes(100, seed=3)
    c = lb.data.gaussian_classes(100, seed=4)
    assert all(torch.equal(s, t) for s, t in zip(a, b))
    assert not torch.equal(a[0], c[0])


@pytest.mark.parametrize("kwargs, fragment", [
    (dict(n=0), "n must be a positive int"),
    (dict(dim=0), "dim must be a positive int"),
    (dict(separation=-1.0), "separation must be >= 0"),
    (dict(positive_fraction=1.0), "positive_fraction must be in (0, 1)"),
])
def test_gaussian_classes_reject_bad_arguments(kwargs, fragment):
    with pytest.raises(ValueError) as info:
        lb.data.gaussian_classes(**kwargs)
    assert fragment in str(info.value)


# --------------------------------------------------------------------- real data sets


def test_breast_cancer_has_malignant_as_the_positive_class():
    from sklearn.datasets import load_breast_cancer

    x, y = lb.data.breast_cancer()
    assert x.shape == (569, 30) and y.shape == (569,)
    assert x.dtype == y.dtype == torch.float32
    assert int(y.sum()) == 212  # malignant tumours
    names = load_breast_cancer().target_names
    assert names[0] == "malignant"


@pytest.mark.parametrize("fraction", [0.05, 0.1, 0.2])
def test_subsample_positives_reaches_the_fraction_and_keeps_negatives(fraction):
    x, y = lb.data.breast_cancer()
    xs, ys = lb.data.subsample_positives(x, y, fraction, seed=0)
    assert abs(ys.mean().item() - fraction) < 0.005
    assert int((ys == 0).sum()) == int((y == 0).sum())
    assert len(xs) == len(ys)
    again, _ = lb.data.subsample_positives(x, y, fraction, seed=0)
    assert torch.equal(xs, again)


@pytest.mark.parametrize("fraction", [0.0, 0.5])
def test_subsample_positives_rejects_fractions_it_cannot_reach(fraction):
    x, y = lb.data.breast_cancer()
    with pytest.raises(ValueError, match="positive_fraction must be in"):
        lb.data.subsample_positives(x, y, fraction)


def test_imbalanced_breast_cancer():
    parts = imbalanced_breast_cancer(seed=0)
    labels = torch.cat([parts.y_train, parts.y_val, parts.y_test])
    assert len(labels) == 357 + 19 and int(labels.sum()) == 19        # 5 % of what is kept
    assert [int(p.sum()) for p in (parts.y_train, parts.y_val, parts.y_test)] == [9, 5, 5]
    other = imbalanced_breast_cancer(seed=1)
    assert not torch.equal(parts.x_test, other.x_test)
    torch.testing.assert_close(parts.x_train.mean(0), torch.zeros(30), atol=1e-5, rtol=0)


# ----------------------------------------------------------------------------- splits


def test_train_test_split_is_stratified_complete_and_seeded():
    x, y = lb.data.breast_cancer()
    x, y = lb.data.subsample_positives(x, y, 0.1, seed=0)
    x_tr, x_te, y_tr, y_te = train_test_split(x, y, test_fraction=0.5, seed=0, standardize=False)
    assert len(y_tr) + len(y_te) == len(y) and x_tr.shape[1] == 30
    assert abs(int(y_tr.sum()) - int(y_te.sum())) <= 1        # positives split evenly
    assert _rows(torch.cat([x_tr, x_te])) == _rows(x)         # no row lost or repeated
    again = train_test_split(x, y, test_fraction=0.5, seed=0, standardize=False)
    other = train_test_split(x, y, test_fraction=0.5, seed=1, standardize=False)
    assert torch.equal(again[1], x_te) and not torch.equal(other[1], x_te)
    assert x_tr.dtype == y_tr.dtype == torch.float32


def test_train_val_test_split_partitions_the_rows_and_keeps_the_class_balance():
    x, y = lb.data.breast_cancer()
    parts = train_val_test_split(x, y, val_fraction=0.2, test_fraction=0.2, seed=0,
                                 standardize=False)
    assert isinstance(parts, Splits)
    assert [len(parts.y_train), len(parts.y_val), len(parts.y_test)] == [341, 114, 114]
    together = torch.cat([parts.x_train, parts.x_val, parts.x_test])
    assert _rows(together) == _rows(x)                          # no row lost or repeated
    assert sum(int(p.sum()) for p in (parts.y_train, parts.y_val, parts.y_test)) == int(y.sum())
    for labels in (parts.y_train, parts.y_val, parts.y_test):
        assert abs(labels.mean().item() - y.mean().item()) < 0.01       # stratified


def test_train_val_test_split_follows_its_seed():
    x, y = lb.data.breast_cancer()
    a, b, c = (train_val_test_split(x, y, seed=s) for s in (1, 1, 2))
    assert all(torch.equal(u, v) for u, v in zip(a, b))
    assert not torch.equal(a.y_test, c.y_test) or not torch.equal(a.x_test, c.x_test)


#: Each split's features, training part first, then the held-out part(s).
FEATURES = {
    "train_test_split":
        lambda x, y, **kw: train_test_split(x, y, test_fraction=0.3, seed=2, **kw)[:2],
    "train_val_test_split":
        lambda x, y, **kw: train_val_test_split(x, y, seed=3, **kw)[::2],
}


@pytest.mark.parametrize("features", FEATURES.values(), ids=FEATURES.keys())
def test_standardisation_uses_the_training_rows_only(features):
    x, y = lb.data.breast_cancer()
    raw = features(x, y, standardize=False)
    scaled = features(x, y)
    mean = raw[0].double().mean(0)
    std = raw[0].double().std(0, unbiased=False)
    torch.testing.assert_close(scaled[0].mean(0), torch.zeros(30), atol=1e-5, rtol=0)
    for raw_part, scaled_part in zip(raw, scaled, strict=True):
        torch.testing.assert_close(scaled_part, ((raw_part - mean) / std).float())
    # the held-out parts are not centred on their own statistics: their rows were not used
    for part in scaled[1:]:
        assert part.mean(0).abs().max() > 0.05


@pytest.mark.parametrize("split", [train_test_split, train_val_test_split],
                         ids=lambda f: f.__name__)
@pytest.mark.parametrize("args, fragment", [
    ((torch.zeros(10), torch.zeros(10)), "x must have shape (N, D), got shape (10,)"),
    ((torch.zeros(10, 2), torch.zeros(10, 1)), "y must have shape (N,), got shape (10, 1)"),
    ((torch.zeros(10, 2), torch.zeros(9)), "same length, got 10 and 9"),
])
def test_splits_reject_bad_shapes(split, args, fragment):
    with pytest.raises(ValueError) as info:
        split(*args)
    assert fragment in str(info.value)


@pytest.mark.parametrize("split, needed", [(train_test_split, 2), (train_val_test_split, 3)],
                         ids=["train_test_split", "train_val_test_split"])
def test_splits_reject_a_class_too_small_for_their_parts(split, needed):
    positives = needed - 1
    y = torch.tensor([1.0] * positives + [0.0] * (10 - positives))
    with pytest.raises(ValueError) as info:
        split(torch.zeros(10, 2), y)
    assert f"at least {needed} rows of each class" in str(info.value)
    assert f"[{10 - positives}, {positives}]" in str(info.value)


@pytest.mark.parametrize("split, kwargs, fragment", [
    (train_test_split, {"test_fraction": 0.0}, "test_fraction must be in (0, 1)"),
    (train_test_split, {"test_fraction": 1.0}, "test_fraction must be in (0, 1)"),
    (train_val_test_split, {"val_fraction": 0.5, "test_fraction": 0.5},
     "val_fraction + test_fraction must be below 1"),
    (train_val_test_split, {"val_fraction": 0.0}, "val_fraction must be in (0, 1)"),
    (train_val_test_split, {"test_fraction": 1.2}, "test_fraction must be in (0, 1)"),
])
def test_splits_reject_bad_fractions(split, kwargs, fragment):
    x, y = lb.data.breast_cancer()
    with pytest.raises(ValueError) as info:
        split(x, y, **kwargs)
    assert fragment in str(info.value)


def test_digits():
    x, y = lb.data.digits()
    assert x.shape == (1797, 64) and x.dtype == torch.float32
    assert y.shape == (1797,) and y.dtype == torch.int64
    assert x.min() == 0 and x.max() == 16
    assert torch.bincount(y).tolist() == [178, 182, 177, 183, 181, 182, 181, 179, 174, 180]


@settings(max_examples=60, deadline=None)
@given(n=st.integers(0, 300), n_classes=st.integers(2, 12), rate=st.floats(0, 1),
       seed=st.integers(0, 2**31 - 1), uint8=st.booleans())
def test_noise_flips_exactly_the_fraction_and_always_to_another_class(n, n_classes, rate, seed, uint8):
    labels = torch.randint(0, n_classes, (n,), generator=torch.Generator().manual_seed(seed))
    if uint8:
        labels = labels.to(torch.uint8)
    before = labels.clone()
    noisy = lb.data.symmetric_label_noise(labels, rate, n_classes, seed=seed)
    assert torch.equal(labels, before)  # the input is left alone
    assert noisy.dtype == labels.dtype and noisy.shape == labels.shape
    assert int((noisy != labels).sum()) == round(rate * n)
    assert noisy.min().item() >= 0 if n else True
    assert (noisy < n_classes).all()


def test_noise_is_uniform_over_the_other_classes():
    labels = torch.full((90_000,), 3)
    noisy = lb.data.symmetric_label_noise(labels, 1.0, 10, seed=0)
    counts = torch.bincount(noisy, minlength=10).double()
    assert counts[3] == 0
    expected = 90_000 / 9
    chi2 = (((counts[counts > 0] - expected) ** 2) / expected).sum().item()
    assert chi2 < 27.9  # the 0.999 quantile of chi-square with 8 degrees of freedom


def test_noise_chooses_flipped_examples_uniformly():
    labels = torch.zeros(10, dtype=torch.long)
    hits = torch.zeros(10)
    for seed in range(2000):
        hits += (lb.data.symmetric_label_noise(labels, 0.3, 4, seed=seed) != 0).float()
    assert ((hits / 2000 - 0.3).abs() < 0.04).all()


def test_noise_is_seeded():
    labels = torch.arange(100) % 10
    a = lb.data.symmetric_label_noise(labels, 0.4, 10, seed=1)
    assert torch.equal(a, lb.data.symmetric_label_noise(labels, 0.4, 10, seed=1))
    assert not torch.equal(a, lb.data.symmetric_label_noise(labels, 0.4, 10, seed=2))
    assert torch.equal(lb.data.symmetric_label_noise(labels, 0.0, 10), labels)


@pytest.mark.parametrize("call, error, fragment", [
    (lambda: lb.data.symmetric_label_noise([0, 1], 0.2, 2), TypeError, "integer tensor of class indices, got list"),
    (lambda: lb.data.symmetric_label_noise(torch.tensor([0.0, 1.0]), 0.2, 2), TypeError, "got torch.float32"),
    (lambda: lb.data.symmetric_label_noise(torch.zeros(2, 2, dtype=torch.long), 0.2, 2), ValueError,
     "labels must have shape (N,), got shape (2, 2)"),
    (lambda: lb.data.symmetric_label_noise(torch.tensor([0, 1]), 1.2, 2), ValueError, "rate must be a number in [0, 1], got 1.2"),
    (lambda: lb.data.symmetric_label_noise(torch.tensor([0, 1]), 0.2, 1), ValueError, "n_classes must be an int >= 2, got 1"),
    (lambda: lb.data.symmetric_label_noise(torch.tensor([0, 5]), 0.2, 3), ValueError,
     "labels must hold class indices in [0, 2], got values in [0, 5]"),
])
def test_noise_bad_input_is_explained(call, error, fragment):
    with pytest.raises(error) as info:
        call()
    assert fragment in str(info.value)
