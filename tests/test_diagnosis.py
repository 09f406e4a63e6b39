"""lossbook.diagnose: every classic mistake is found with its code, no correct call raises a
false alarm, and what it calls an error is one torch really raises (and the reverse)."""

import pytest
import torch
import torch.nn as nn
import torch.nn.functional as F

import lossbook as lb
from lossbook.diagnosis import Finding, diagnose

gen = torch.Generator().manual_seed(0)
N, C = 8, 3
LOGITS = torch.randn(N, generator=gen) * 3
PROBS = torch.sigmoid(LOGITS)
Y = torch.tensor([0.0, 1.0, 1.0, 0.0, 1.0, 0.0, 0.0, 1.0])
ML_LOGITS = torch.randn(N, C, generator=gen)
ML_Y = (torch.rand(N, C, generator=gen) < 0.4).float()
CE_LOGITS = torch.randn(N, C, generator=gen) * 2
CE_Y = torch.tensor([0, 2, 1, 1, 0, 2, 2, 0])
SOFT = torch.softmax(torch.randn(N, C, generator=gen), dim=1)
DIST = torch.rand(N, generator=gen) * 2
SIGNED = 2 * Y - 1

CORRECT = [
    ("BCELoss", nn.BCELoss(), PROBS, Y, {}),
    ("BCELoss soft targets", nn.BCELoss(), PROBS, torch.full((N,), 0.9), {}),
    ("BCELoss per-element weight", nn.BCELoss(weight=torch.where(Y == 1, 3.0, 1.0)), PROBS, Y, {}),
    ("F.binary_cross_entropy", F.binary_cross_entropy, PROBS, Y, {}),
    ("lossbook binary_cross_entropy", lb.functional.binary_cross_entropy, PROBS, Y, {}),
    ("BCEWithLogitsLoss", nn.BCEWithLogitsLoss(), LOGITS, Y, {}),
    ("BCEWithLogitsLoss pos_weight", nn.BCEWithLogitsLoss(pos_weight=torch.tensor([3.0])), LOGITS, Y, {}),
    ("multi-label pos_weight (C,)", nn.BCEWithLogitsLoss(pos_weight=torch.ones(C) * 2), ML_LOGITS, ML_Y, {}),
    ("multi-label full weight", F.binary_cross_entropy_with_logits, ML_LOGITS, ML_Y, {"weight": torch.rand(N, C, generator=gen)}),
    ("lossbook with logits", lb.functional.binary_cross_entropy_with_logits, LOGITS, Y, {"pos_weight": torch.tensor([2.0])}),
    ("CrossEntropyLoss int64", nn.CrossEntropyLoss(), CE_LOGITS, CE_Y, {}),
    ("CrossEntropyLoss uint8", nn.CrossEntropyLoss(), CE_LOGITS, CE_Y.to(torch.uint8), {}),
    ("CrossEntropyLoss probabilities", nn.CrossEntropyLoss(), CE_LOGITS, SOFT, {}),
    ("CrossEntropyLoss weight", nn.CrossEntropyLoss(weight=torch.tensor([1.0, 2.0, 3.0])), CE_LOGITS, CE_Y, {}),
    ("CrossEntropyLoss ignore_index", nn.CrossEntropyLoss(ignore_index=-1), CE_LOGITS, torch.tensor([0, 2, -1, 1, 0, -1, 2, 0]), {}),
    ("CrossEntropyLoss smoothing", nn.CrossEntropyLoss(label_smoothing=0.1), CE_LOGITS, CE_Y, {}),
    ("F.cross_entropy", F.cross_entropy, CE_LOGITS, CE_Y, {}),
    ("2-class CE", nn.CrossEntropyLoss(), torch.stack([torch.zeros(N), LOGITS], 1), Y.long(), {}),
    ("NLLLoss log_softmax", nn.NLLLoss(), torch.log_softmax(CE_LOGITS, dim=1), CE_Y, {}),
    ("F.nll_loss", F.nll_loss, torch.log_softmax(CE_LOGITS, dim=1), CE_Y, {}),
    ("HingeEmbeddingLoss distances", nn.HingeEmbeddingLoss(), DIST, SIGNED, {}),
    ("SoftMarginLoss", nn.SoftMarginLoss(), LOGITS, SIGNED, {}),
    ("F.soft_margin_loss", F.soft_margin_loss, LOGITS, SIGNED, {}),
]


def _torch_call(loss, input, target, kwargs):
    return loss(input, target, **kwargs)


@pytest.mark.parametrize("case", CORRECT, ids=[c[0] for c in CORRECT])
def test_correct_calls_have_no_findings_and_run(case):
    _, loss, input, target, kwargs = case
    assert diagnose(loss, input, target, **kwargs) == []
    assert torch.isfinite(_torch_call(loss, input, target, kwargs))


def test_lossbook_margin_losses_have_no_findings():
    hinge = getattr(lb.functional, "binary_hinge_loss", None)
    if hinge is None:
        pytest.skip("lossbook.functional.binary_hinge_loss is not part of this build")
    assert diagnose(hinge, LOGITS, Y) == []
    assert diagnose(hinge, LOGITS, SIGNED) == []


# (id, loss, input, target, kwargs, expected code, does torch raise?)
MISTAKES = [
    ("logits to BCELoss", nn.BCELoss(), LOGITS, Y, {}, "logits-as-probabilities", True),
    ("double sigmoid", nn.BCEWithLogitsLoss(), PROBS, Y, {}, "probabilities-as-logits", False),
    ("swapped arguments", F.binary_cross_entropy, Y, PROBS, {}, "swapped-arguments", False),
    ("swapped, logits loss", F.binary_cross_entropy_with_logits, Y, PROBS, {}, "swapped-arguments", False),
    ("int target", nn.BCELoss(), PROBS, Y.long(), {}, "integer-target", True),
    ("bool target", nn.BCEWithLogitsLoss(), LOGITS, Y.bool(), {}, "integer-target", True),
    ("(N, 1) input", nn.BCEWithLogitsLoss(), LOGITS[:, None], Y, {}, "shape-mismatch", True),
    ("(N, 1) target", nn.BCELoss(), PROBS, Y[:, None], {}, "shape-mismatch", True),
    ("{-1, 1} target to BCE", nn.BCEWithLogitsLoss(), LOGITS, SIGNED, {}, "target-out-of-range", False),
    ("(2,) weight on (N,)", nn.BCELoss(weight=torch.tensor([0.2, 0.8])), PROBS, Y, {}, "weight-not-broadcastable", True),
    ("(2,) weight on (N, 2)", nn.BCEWithLogitsLoss(weight=torch.tensor([0.2, 0.8])), ML_LOGITS[:, :2], ML_Y[:, :2], {}, "weight-per-column", False),
    ("pos_weight length", nn.BCEWithLogitsLoss(pos_weight=torch.ones(2)), ML_LOGITS, ML_Y, {}, "pos-weight-shape", True),
    ("pos_weight (N,) on (N,)", F.binary_cross_entropy_with_logits, LOGITS, Y, {"pos_weight": torch.ones(N)}, "pos-weight-shape", False),
    ("HingeEmbedding {0, 1}", nn.HingeEmbeddingLoss(), DIST, Y, {}, "hinge-embedding-01-targets", False),
    ("HingeEmbedding {1, -3}", nn.HingeEmbeddingLoss(), DIST, 2 * SIGNED - 1, {}, "hinge-embedding-target-values", False),
    ("HingeEmbedding on scores", nn.HingeEmbeddingLoss(), LOGITS, SIGNED, {}, "hinge-embedding-on-scores", False),
    ("CE on probabilities", nn.CrossEntropyLoss(), SOFT, CE_Y, {}, "softmax-before-cross-entropy", False),
    ("CE (N, 1) input", nn.CrossEntropyLoss(), LOGITS[:, None], torch.zeros(N, dtype=torch.long), {}, "single-column", False),
    ("CE index out of range", nn.CrossEntropyLoss(), CE_LOGITS, CE_Y + 1, {}, "class-index-out-of-range", True),
    ("CE int32 indices", nn.CrossEntropyLoss(), CE_LOGITS, CE_Y.int(), {}, "int32-target", True),
    ("CE float indices", F.cross_entropy, CE_LOGITS, CE_Y.float(), {}, "float-class-indices", True),
    ("CE rows not summing to 1", nn.CrossEntropyLoss(), CE_LOGITS, SOFT * 2, {}, "probabilities-not-normalized", False),
    ("CE weight length", nn.CrossEntropyLoss(weight=torch.ones(2)), CE_LOGITS, CE_Y, {}, "weight-length", True),
    ("NLL on softmax", nn.NLLLoss(), SOFT, CE_Y, {}, "softmax-before-nll", False),
    ("NLL on logits", nn.NLLLoss(), CE_LOGITS, CE_Y, {}, "logits-to-nll", False),
    ("SoftMargin {0, 1}", nn.SoftMarginLoss(), LOGITS, Y, {}, "margin-target-values", False),
    ("NaN input", nn.BCEWithLogitsLoss(), torch.where(Y == 1, float("nan"), LOGITS), Y, {}, "non-finite", False),
    ("inf in CE", nn.CrossEntropyLoss(), CE_LOGITS.index_fill(1, torch.tensor([0]), float("inf")), CE_Y, {}, "non-finite", False),
]


@pytest.mark.parametrize("case", MISTAKES, ids=[c[0] for c in MISTAKES])
def test_each_mistake_is_found_with_its_code(case):
    _, loss, input, target, kwargs, code, _ = case
    findings = diagnose(loss, input, target, **kwargs)
    assert code in [f.code for f in findings], findings
    for f in findings:
        assert isinstance(f, Finding) and f.message and f.fix


@pytest.mark.parametrize("case", MISTAKES, ids=[c[0] for c in MISTAKES])
def test_torch_raises_exactly_where_the_mistake_is_loud(case):
    """The 'silent' mistakes really are silent in torch, and the loud ones really raise."""
    _, loss, input, target, kwargs, _, raises = case
    if raises:
        with pytest.raises((RuntimeError, ValueError, IndexError)):
            _torch_call(loss, input, target, kwargs)
    else:
        _torch_call(loss, input, target, kwargs)


@pytest.mark.parametrize("input, target", [
    ([0.2, 0.7], Y), (PROBS, "labels"), (None, None),
])
def test_diagnose_never_raises_on_non_tensors(input, target):
    findings = diagnose(nn.BCELoss(), input, target)
    assert "not-a-tensor" in [f.code for f in findings]


def test_unknown_loss_is_named():
    findings = diagnose(nn.MSELoss(), PROBS, Y)
    assert [f.code for f in findings] == ["unknown-loss"]
    assert "MSELoss" in findings[0].message


def test_messages_name_the_values_they_saw():
    (finding,) = diagnose(nn.HingeEmbeddingLoss(), DIST, 2 * SIGNED - 1)
    assert "{-3, 1}" in finding.message
    shape = diagnose(nn.BCEWithLogitsLoss(), LOGITS[:, None], Y)[0]
    assert "(8, 1)" in shape.message and "(8,)" in shape.message and "squeeze(-1)" in shape.fix
    assert str(shape).startswith("[shape-mismatch]")
