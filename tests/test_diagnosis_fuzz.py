"""``lossbook.diagnose`` fuzzed against torch itself.

Hypothesis draws loss calls (torch's binary and multi-class losses as modules and as
functionals, with their options; lossbook's losses; and losses diagnose does not know),
with every dtype, shapes from 0-dim and empty to (N, C, H), matching, broadcastable and
mismatched, and values in range, out of range, NaN and infinite. For each call:

1. ``diagnose`` returns a list of findings and never raises, and none of its own checks
   fails (no ``diagnose-incomplete``);
2. torch is called on the same arguments: if it raises, ``diagnose`` has an ``"error"``
   finding;
3. for the torch losses diagnose checks, its checks alone, without making the call
   (``diagnosis._checks``), give an ``"error"`` finding exactly when torch raises: every
   rejection is explained by a check, and no check cries error on a call torch accepts.

A second test draws correct calls of the same losses (every float dtype, batches from 1,
hard, soft and smoothed labels, legal options) and checks that none gets an ``"error"`` or
a ``"warning"``: no false alarm, at most a hedged note.

Reproducible: ``derandomize=True`` makes the same draws on every run, and the tensors come
from seeded generators that give the same values on every CPU (``lb.data.randn``).
"""

from __future__ import annotations

import random
import time
import warnings

import hypothesis.strategies as st
import torch
import torch.nn as nn
import torch.nn.functional as F
from hypothesis import HealthCheck, given, settings

import lossbook as lb
from lossbook import diagnosis
from lossbook.diagnosis import SEVERITIES, Finding, diagnose

EXAMPLES = 2000

FLOATS = [torch.float16, torch.bfloat16, torch.float32, torch.float64]
DTYPES = FLOATS + [torch.int64, torch.int32, torch.uint8, torch.bool]
SPECIALS = [float("nan"), float("inf"), float("-inf"), float("-inf")]

# family of each loss spec: what a "natural" (correct) call looks like
NATURAL = {
    "bce": ("probs", "binary", "same", torch.float32, torch.float32),
    "bce_logits": ("logits", "binary", "same", torch.float32, torch.float32),
    "ce": ("logits", "index", "index", torch.float32, torch.int64),
    "ce_soft": ("logits", "softmax", "same", torch.float32, torch.float32),
    "nll": ("log_softmax", "index", "index", torch.float32, torch.int64),
    "hinge": ("distances", "signed", "same", torch.float32, torch.float32),
    "margin": ("logits", "signed", "same", torch.float32, torch.float32),
    "mse": ("logits", "logits", "same", torch.float32, torch.float32),
    "kl": ("log_softmax", "softmax", "same", torch.float32, torch.float32),
}


def _tensor_option(rng: random.Random, shapes: list, dtypes: list):
    """None, or a tensor of one of ``shapes`` and ``dtypes``."""
    shape = rng.choice([None] + shapes)
    if shape is None:
        return None
    return (torch.rand(shape, generator=torch.Generator().manual_seed(len(shape))) + 0.5).to(
        rng.choice(dtypes))


def _binary_options(rng, n, c, shape, pos_weight_too):
    weight = _tensor_option(rng, [shape, (1,), (), (c,), (2,), (n, 1), (n + 1,), (2,) + shape],
                            [torch.float32, torch.float64, torch.int64, torch.bool])
    options = {"weight": weight}
    if pos_weight_too:
        options["pos_weight"] = _tensor_option(
            rng, [(1,), (), (c,), (c, 1), shape, (n,), (3, 1), (2,), (n, 1)],
            [torch.float32, torch.float64, torch.float16, torch.bool])
    return options


def _class_options(rng, c, smoothing_too):
    options = {"weight": _tensor_option(rng, [(c,), (c + 1,), (1, c), ()],
                                        [torch.float32, torch.float32, torch.float64,
                                         torch.float16, torch.bool]),
               "ignore_index": rng.choice([-100, -100, -1, 0, 1, 255])}
    if smoothing_too:
        options["label_smoothing"] = rng.choice([0.0, 0.0, 0.1, 1.0, 1.5, -0.1])
    return options


def _module(cls):
    return lambda options: cls(**options)


def _functional(fn):
    def build(options):
        return fn, {k: v for k, v in options.items() if v is not None}
    return build


# (name, natural call, options maker (rng, n, c, input shape) -> dict, builder, exact)
SPECS = [
    ("nn.BCELoss", "bce", lambda r, n, c, s: _binary_options(r, n, c, s, False),
     _module(nn.BCELoss), True),
    ("F.binary_cross_entropy", "bce", lambda r, n, c, s: _binary_options(r, n, c, s, False),
     _functional(F.binary_cross_entropy), True),
    ("nn.BCEWithLogitsLoss", "bce_logits",
     lambda r, n, c, s: _binary_options(r, n, c, s, True), _module(nn.BCEWithLogitsLoss), True),
    ("F.binary_cross_entropy_with_logits", "bce_logits",
     lambda r, n, c, s: {**_binary_options(r, n, c, s, True),
                         **({"pos_weight": 3.0} if r.random() < 0.1 else {})},
     _functional(F.binary_cross_entropy_with_logits), True),
    ("nn.CrossEntropyLoss", "ce", lambda r, n, c, s: _class_options(r, c, True),
     _module(nn.CrossEntropyLoss), True),
    ("nn.CrossEntropyLoss, probabilities", "ce_soft",
     lambda r, n, c, s: _class_options(r, c, True), _module(nn.CrossEntropyLoss), True),
    ("F.cross_entropy", "ce", lambda r, n, c, s: _class_options(r, c, True),
     _functional(F.cross_entropy), True),
    ("F.cross_entropy, probabilities", "ce_soft",
     lambda r, n, c, s: _class_options(r, c, True), _functional(F.cross_entropy), True),
    ("nn.NLLLoss", "nll", lambda r, n, c, s: _class_options(r, c, False),
     _module(nn.NLLLoss), True),
    ("F.nll_loss", "nll", lambda r, n, c, s: _class_options(r, c, False),
     _functional(F.nll_loss), True),
    ("nn.HingeEmbeddingLoss", "hinge", None, _module(nn.HingeEmbeddingLoss), True),
    ("F.hinge_embedding_loss", "hinge", None, _functional(F.hinge_embedding_loss), True),
    ("nn.SoftMarginLoss", "margin", None, _module(nn.SoftMarginLoss), True),
    ("F.soft_margin_loss", "margin", None, _functional(F.soft_margin_loss), True),
    # losses diagnose does not know
    ("nn.MSELoss", "mse", None, _module(nn.MSELoss), False),
    ("F.mse_loss", "mse", None, _functional(F.mse_loss), False),
    ("nn.L1Loss", "mse", None, _module(nn.L1Loss), False),
    ("nn.KLDivLoss", "kl", None, lambda o: nn.KLDivLoss(reduction="batchmean"), False),
    ("nn.MultiMarginLoss", "ce", None, _module(nn.MultiMarginLoss), False),
    # lossbook's: checked through the call diagnose makes
    ("lb.functional.binary_cross_entropy", "bce", None,
     _functional(lb.functional.binary_cross_entropy), False),
    ("lb.functional.binary_cross_entropy_with_logits", "bce_logits", None,
     _functional(lb.functional.binary_cross_entropy_with_logits), False),
    ("lb.functional.cross_entropy", "ce", None, _functional(lb.functional.cross_entropy), False),
    ("lb.functional.nll_loss", "nll", None, _functional(lb.functional.nll_loss), False),
    ("lb.modules.FocalLoss", "bce_logits", None, _module(lb.modules.FocalLoss), False),
]


def _values(kind: str, shape: tuple, c: int, gen: torch.Generator) -> torch.Tensor:
    """Float64 values of a kind, of ``shape``."""
    z = lb.data.randn(*shape, generator=gen).double()  # the same floats on every CPU
    class_dim = 1 if len(shape) >= 2 else -1
    if kind == "logits":
        return 3 * z
    if kind == "probs":
        return torch.sigmoid(3 * z)
    if kind == "distances":
        return z.abs()
    if kind == "binary":
        return (z > 0).double()
    if kind == "signed":
        return torch.where(z > 0, 1.0, -1.0).double()
    if kind in ("softmax", "log_softmax"):
        if not shape:
            return torch.ones(()) if kind == "softmax" else torch.zeros(())
        fn = torch.softmax if kind == "softmax" else torch.log_softmax
        return fn(z, dim=class_dim)
    if kind == "index":
        return torch.randint(0, max(c, 1), shape, generator=gen).double()
    if kind == "bad_index":
        return torch.tensor([-1.0, float(c), 255.0, -100.0], dtype=torch.float64)[
            torch.randint(0, 4, shape, generator=gen)]
    if kind == "near_prior":
        return 0.405 + 0.03 * z
    if kind == "double_sigmoid":
        return torch.sigmoid(torch.sigmoid(3 * z))
    raise AssertionError(kind)


VALUE_KINDS = ["logits", "probs", "distances", "binary", "signed", "softmax",
               "log_softmax", "index", "bad_index", "near_prior", "double_sigmoid"]


def _cast(values: torch.Tensor, dtype: torch.dtype) -> torch.Tensor:
    if dtype == torch.bool:
        return values != 0
    if not dtype.is_floating_point:
        return values.round().clamp(-1000, 1000).to(dtype)
    return values.to(dtype)


def _shapes(n: int, c: int) -> dict:
    return {"0-dim": (), "empty": (0,), "empty (0, C)": (0, c), "(N,)": (n,),
            "(N, 1)": (n, 1), "(N, C)": (n, c), "(N, C, H)": (n, c, 2), "(C,)": (c,),
            "(1,)": (1,)}


def _target_shape(relation: str, shape: tuple, n: int, c: int) -> tuple:
    if relation == "same":
        return shape
    if relation == "index":
        return shape[:1] + shape[2:] if len(shape) >= 2 else ()
    if relation == "index (1,)":
        return (1,)
    if relation == "unsqueeze":
        return shape + (1,)
    if relation == "squeeze":
        return shape[:-1]
    if relation == "broadcastable":
        return shape[-1:] if len(shape) >= 2 else (1,)
    return {"(N + 1,)": (n + 1,), "(C + 1,)": (c + 1,), "(N, C + 1)": (n, c + 1),
            "(2, N)": (2, n)}[relation]


RELATIONS = ["same", "index", "index (1,)", "unsqueeze", "squeeze", "broadcastable",
             "(N + 1,)", "(C + 1,)", "(N, C + 1)", "(2, N)"]


NATURAL_SHAPES = ["(N, C)", "(N, C)", "(N,)", "(N, C, H)", "(C,)", "empty (0, C)"]


def _natural(choices: list, weight: int = 6) -> st.SearchStrategy:
    """One of ``choices``, or (``weight`` times as likely as each) the natural one."""
    return st.sampled_from([None] * weight + list(choices))


@st.composite
def calls(draw):
    """A loss call: (label, loss, input, target, kwargs, exact). The structure is drawn by
    hypothesis; the options and the values come from a seeded generator, to keep the
    draws few and the 2,000 examples fast."""
    name, family, make_options, build, exact = draw(st.sampled_from(SPECS))
    n, c = draw(st.sampled_from([(1, 1), (3, 2), (4, 3), (6, 3), (3, 1), (4, 2), (1, 3)]))
    shapes = _shapes(n, c)
    shape_name = draw(_natural(list(shapes), 2))
    relation = draw(_natural(RELATIONS))
    x_dtype, t_dtype = draw(_natural(DTYPES, 10)), draw(_natural(DTYPES, 10))
    x_kind, t_kind = draw(_natural(VALUE_KINDS)), draw(_natural(VALUE_KINDS))
    seed = draw(st.integers(0, 2**16))
    rng = random.Random(seed)
    natural = NATURAL[family]
    x_kind, t_kind = x_kind or natural[0], t_kind or natural[1]
    relation = relation or natural[2]
    x_dtype, t_dtype = x_dtype or natural[3], t_dtype or natural[4]
    input_shape = shapes[shape_name or rng.choice(NATURAL_SHAPES)]
    target_shape = _target_shape(relation, input_shape, n, c)
    options = make_options(rng, n, c, input_shape) if make_options else {}
    built = build(options)
    loss, kwargs = built if isinstance(built, tuple) else (built, {})
    gen = torch.Generator().manual_seed(seed)
    input = _cast(_values(x_kind, input_shape, c, gen), x_dtype)
    target = _cast(_values(t_kind, target_shape, c, gen), t_dtype)
    for tensor, odds in ((input, 0.3), (target, 0.15)):
        if tensor.is_floating_point() and tensor.numel() and rng.random() < odds:
            tensor.view(-1)[rng.randrange(tensor.numel())] = rng.choice(SPECIALS)
    shown = {k: (tuple(v.shape), str(v.dtype)) if isinstance(v, torch.Tensor) else v
             for k, v in options.items() if v is not None}
    label = (f"{name} {shown} input {x_kind} {x_dtype} {tuple(input_shape)}, target {t_kind} "
             f"{t_dtype} {tuple(target_shape)}")
    return label, loss, input, target, kwargs, exact


def _torch_raises(loss, input, target, kwargs) -> bool:
    call_kwargs = {} if isinstance(loss, nn.Module) else kwargs
    try:
        with torch.no_grad(), warnings.catch_warnings():
            warnings.simplefilter("ignore")
            loss(input, target, **call_kwargs)
    except Exception:
        return True
    return False


def test_diagnose_against_torch():
    stats = {"examples": 0, "rejected": 0, "accepted": 0, "exact": 0, "raises": 0,
             "missed": 0, "false errors": 0}

    @settings(max_examples=EXAMPLES, deadline=None, derandomize=True, database=None,
              suppress_health_check=list(HealthCheck))
    @given(calls())
    def check(call):
        label, loss, input, target, kwargs, exact = call
        stats["examples"] += 1
        try:
            findings = diagnose(loss, input, target, **kwargs)
        except Exception:
            stats["raises"] += 1
            raise
        assert isinstance(findings, list), label
        for f in findings:
            assert isinstance(f, Finding) and f.severity in SEVERITIES, (label, f)
            assert f.code and f.message and f.fix, (label, f)
        codes = [f.code for f in findings]
        assert "diagnose-incomplete" not in codes, (label, findings)
        raised = _torch_raises(loss, input, target, kwargs)
        stats["rejected" if raised else "accepted"] += 1
        if raised and not any(f.severity == "error" for f in findings):
            stats["missed"] += 1
            raise AssertionError(f"torch raises, diagnose has no error: {label}: {findings}")
        if exact:
            stats["exact"] += 1
            checked = diagnosis._checks(loss, input, target, kwargs)
            errors = [f for f in checked if f.severity == "error"]
            if raised and not errors:
                stats["missed"] += 1
                raise AssertionError(f"torch raises, no check says so: {label}: {checked}")
            if errors and not raised:
                stats["false errors"] += 1
                raise AssertionError(f"torch accepts, a check says error: {label}: {errors}")

    start = time.perf_counter()
    check()
    seconds = time.perf_counter() - start
    print(f"\ndiagnose fuzz: {stats['examples']} examples in {seconds:.1f} s; torch rejected "
          f"{stats['rejected']}, accepted {stats['accepted']}; checked exactly "
          f"{stats['exact']}; raises {stats['raises']}, missed rejections {stats['missed']}, "
          f"false errors {stats['false errors']}")
    assert stats["examples"] >= EXAMPLES
    assert stats["raises"] == stats["missed"] == stats["false errors"] == 0
    # The space is worth fuzzing only if both outcomes are common.
    assert stats["rejected"] >= EXAMPLES // 5 and stats["accepted"] >= EXAMPLES // 5, stats


@st.composite
def correct_calls(draw):
    """A correct call of a binary or multi-class torch loss: any float dtype, any batch
    size from 1, logits at several scales, hard, soft or smoothed labels, legal options."""
    family = draw(st.sampled_from(["bce", "bce_logits", "ce", "ce_soft", "nll"]))
    n, c = draw(st.integers(1, 8)), draw(st.integers(2, 4))
    dtype = draw(st.sampled_from(FLOATS))
    seed = draw(st.integers(0, 2**16))
    rng, gen = random.Random(seed), torch.Generator().manual_seed(seed)
    if family in ("bce", "bce_logits"):
        shape = rng.choice([(n,), (n, c), (n, c, 2)])
        scale = 1.0 if family == "bce" and dtype in (torch.float16, torch.bfloat16) else \
            rng.choice([1.0, 2.0, 4.0])
        z = scale * lb.data.randn(*shape, generator=gen)
        labels = rng.choice(["hard", "soft", "smoothed"])
        y = (torch.rand(shape, generator=gen) < 0.4).float()
        y = {"hard": y, "soft": torch.rand(shape, generator=gen),
             "smoothed": y * 0.9 + 0.05}[labels].to(dtype)
        weight = rng.choice([None, torch.rand(shape, generator=gen) + 0.5,
                             torch.ones(shape[:1] + (1,) * (len(shape) - 1)) * 2])
        if family == "bce":
            return nn.BCELoss(weight=weight), torch.sigmoid(z.to(dtype)), y
        columns = shape[-1] if len(shape) >= 2 else 1
        pos_weight = rng.choice([None, torch.full((1,), 3.0), torch.rand(columns) * 3 + 0.5])
        return nn.BCEWithLogitsLoss(weight=weight, pos_weight=pos_weight), z.to(dtype), y
    shape = rng.choice([(n, c), (c,), (n, c, 3)])
    class_dim = 1 if len(shape) >= 2 else 0
    z = rng.choice([1.0, 2.0, 4.0]) * lb.data.randn(*shape, generator=gen)
    index_shape = shape[:class_dim] + shape[class_dim + 1:]
    weight = rng.choice([None, (torch.rand(c, generator=gen) + 0.5).to(dtype)])
    if family == "ce_soft":
        soft = torch.softmax(lb.data.randn(*shape, generator=gen), dim=class_dim)
        return nn.CrossEntropyLoss(weight=weight, label_smoothing=rng.choice([0.0, 0.1])), \
            z.to(dtype), soft.to(rng.choice(FLOATS))
    indices = torch.randint(0, c, index_shape, generator=gen)
    ignore_index = rng.choice([-100, -1, c - 1])
    if family == "nll":
        return nn.NLLLoss(weight=weight, ignore_index=ignore_index), \
            torch.log_softmax(z, dim=class_dim).to(dtype), indices
    return nn.CrossEntropyLoss(weight=weight, ignore_index=ignore_index,
                               label_smoothing=rng.choice([0.0, 0.1])), z.to(dtype), indices


@settings(max_examples=500, deadline=None, derandomize=True, database=None,
          suppress_health_check=list(HealthCheck))
@given(correct_calls())
def test_correct_calls_get_no_error_and_no_warning(call):
    """No false alarm: a correct call may get a hedged note, never an error or a warning."""
    loss, input, target = call
    findings = diagnose(loss, input, target)
    assert not [f for f in findings if f.severity != "note"], (loss, input, target, findings)
    assert not _torch_raises(loss, input, target, {})
