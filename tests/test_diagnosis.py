"""lossbook.diagnose: every classic mistake is found with its code, no correct call raises a
false alarm, and what it calls an error is one torch really raises (and the reverse)."""

import pytest
import torch
import torch.nn as nn
import torch.nn.functional as F

import lossbook as lb
from lossbook import diagnosis
from lossbook.diagnosis import SEVERITIES, Finding, diagnose, report

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


# Correct calls that used to raise inside diagnose or to give a false alarm.
MASKED = CE_LOGITS.index_fill(1, torch.tensor([1]), float("-inf"))  # class 1 masked out
MASKED_Y = torch.tensor([0, 2, 0, 2, 0, 2, 2, 0])  # never the masked class
PRIOR = 0.405 + 0.05 * torch.randn(N, generator=gen)  # a head initialised to a prior of 0.6
SATURATED = torch.sigmoid(torch.tensor([200.0, -200.0, 150.0, -300.0, 30.0, -120.0]))
SMOOTHED = torch.tensor([0.95, 0.05, 0.95, 0.05, 0.95, 0.05])

MORE_CORRECT = [
    *[(f"NLLLoss {dtype}", nn.NLLLoss(), torch.log_softmax(CE_LOGITS, dim=1).to(dtype), CE_Y, {})
      for dtype in (torch.float16, torch.bfloat16, torch.float64)],
    *[(f"CE soft targets {dtype}", nn.CrossEntropyLoss(), CE_LOGITS, SOFT.to(dtype), {})
      for dtype in (torch.float16, torch.float64)],
    ("CE float16 logits and soft targets", nn.CrossEntropyLoss(), CE_LOGITS.half(), SOFT.half(), {}),
    ("CE unbatched (C,) and 0-dim target", nn.CrossEntropyLoss(), CE_LOGITS[0], CE_Y[0], {}),
    ("NLL unbatched (C,) and 0-dim target", nn.NLLLoss(), torch.log_softmax(CE_LOGITS[0], 0), CE_Y[0], {}),
    ("CE -inf masked logits", nn.CrossEntropyLoss(), MASKED, MASKED_Y, {}),
    ("CE -inf masked, ignored row with NaN", nn.CrossEntropyLoss(),
     MASKED.index_fill(0, torch.tensor([3]), float("nan")), MASKED_Y.index_fill(0, torch.tensor([3]), -100), {}),
    ("NLL log 0 off the target", nn.NLLLoss(), torch.log_softmax(MASKED, dim=1), MASKED_Y, {}),
    ("CE empty batch", nn.CrossEntropyLoss(), torch.empty(0, C), torch.empty(0, dtype=torch.long), {}),
    ("CE empty batch of probabilities", nn.CrossEntropyLoss(), torch.empty(0, C), torch.empty(0, C), {}),
    ("CE spatial (N, C, H)", nn.CrossEntropyLoss(), torch.randn(N, C, 5, generator=gen),
     torch.randint(0, C, (N, 5), generator=gen), {}),
    ("CE one-hot float rows", nn.CrossEntropyLoss(), CE_LOGITS, F.one_hot(CE_Y, C).float(), {}),
    ("full-shape (N, C) pos_weight", nn.BCEWithLogitsLoss(pos_weight=torch.rand(N, C, generator=gen) + 1), ML_LOGITS, ML_Y, {}),
    ("(1, C) pos_weight", nn.BCEWithLogitsLoss(pos_weight=torch.ones(1, C) * 2), ML_LOGITS, ML_Y, {}),
    ("0-dim pos_weight tensor", nn.BCEWithLogitsLoss(pos_weight=torch.tensor(3.0)), LOGITS, Y, {}),
    ("prior-bias logits near 0.4", nn.BCEWithLogitsLoss(), PRIOR, Y, {}),
    ("prior-bias probabilities near 0.6", nn.BCELoss(), torch.sigmoid(PRIOR), Y, {}),
    ("saturated sigmoid, smoothed labels", nn.BCELoss(), SATURATED, SMOOTHED, {}),
    ("large logits, smoothed labels", nn.BCEWithLogitsLoss(), torch.tensor([30.0, -30.0] * 3), SMOOTHED, {}),
    ("zero-initialised head", nn.BCEWithLogitsLoss(), torch.zeros(N), Y, {}),
    ("BCEWithLogits float16 logits, float32 target", nn.BCEWithLogitsLoss(), LOGITS.half(), Y, {}),
    ("BCELoss float64", nn.BCELoss(), PROBS.double(), Y.double(), {}),
    ("CE weight and float64 logits", nn.CrossEntropyLoss(weight=torch.ones(C, dtype=torch.float64)),
     CE_LOGITS.double(), CE_Y, {}),
    ("CE label smoothing 1.0", nn.CrossEntropyLoss(label_smoothing=1.0), CE_LOGITS, CE_Y, {}),
]


@pytest.mark.parametrize("case", MORE_CORRECT, ids=[c[0] for c in MORE_CORRECT])
def test_more_correct_calls_have_no_findings(case):
    _, loss, input, target, kwargs = case
    assert diagnose(loss, input, target, **kwargs) == []
    _torch_call(loss, input, target, kwargs)  # and torch accepts them


def test_the_guide_of_chapter_11_gives_no_findings():
    """Every configuration of the guide: a head, its loss and target, no finding."""
    features = torch.randn(N, 4, generator=gen)
    binary = Y
    w = (binary == 0).sum() / binary.sum()
    w_labels = (N - ML_Y.sum(0)) / ML_Y.sum(0).clamp(min=1)
    torch.manual_seed(0)
    one, two, three = nn.Linear(4, 1), nn.Linear(4, 2), nn.Linear(4, 3)
    z = one(features).squeeze(-1).detach()
    configurations = [
        (nn.BCEWithLogitsLoss(), z, binary), (nn.BCELoss(), torch.sigmoid(z), binary),
        (nn.CrossEntropyLoss(), two(features).detach(), binary.long()),
        (nn.BCEWithLogitsLoss(pos_weight=w), z, binary), (lb.modules.FocalLoss(), z, binary),
        (lb.modules.BinaryHingeLoss(), z, binary),
        (lb.modules.SymmetricCrossEntropy(), two(features).detach(), binary.long()),
        (nn.BCEWithLogitsLoss(pos_weight=w_labels), three(features).detach(), ML_Y),
        (nn.CrossEntropyLoss(), three(features).detach(), CE_Y),
        (nn.CrossEntropyLoss(weight=torch.tensor([1.0, 2.0, 4.0])), three(features).detach(), CE_Y),
        (nn.CrossEntropyLoss(label_smoothing=0.1), three(features).detach(), CE_Y),
    ]
    for loss, output, target in configurations:
        assert diagnose(loss, output, target) == [], type(loss).__name__


# (id, loss, input, target, kwargs, expected code, its severity): "error" exactly where
# torch raises.
DOUBLE = torch.sigmoid(PROBS)  # sigmoid(sigmoid(z)): every value in [0.5, 0.7311]
HARD = (PROBS > 0.5).float()
SIGMOID_HEAD = torch.sigmoid(torch.randn(N, 2, generator=gen) * 4)
HALF_PROBS = torch.sigmoid((LOGITS * 4).half())  # saturates to exactly 0 or 1 in float16
MULTI_HOT = torch.tensor([[1.0, 1, 0], [0, 0, 0], [1, 0, 1], [0, 1, 0],
                          [1, 1, 1], [0, 0, 1], [0, 0, 0], [1, 0, 0]])

MISTAKES = [
    ("logits to BCELoss", nn.BCELoss(), LOGITS, Y, {}, "logits-as-probabilities", "error"),
    ("double sigmoid", nn.BCEWithLogitsLoss(), PROBS, Y, {}, "probabilities-as-logits", "warning"),
    ("swapped arguments", F.binary_cross_entropy, Y, PROBS, {}, "swapped-arguments", "warning"),
    ("swapped, logits loss", F.binary_cross_entropy_with_logits, Y, PROBS, {}, "swapped-arguments", "warning"),
    ("int target", nn.BCELoss(), PROBS, Y.long(), {}, "integer-target", "error"),
    ("bool target", nn.BCEWithLogitsLoss(), LOGITS, Y.bool(), {}, "integer-target", "error"),
    ("(N, 1) input", nn.BCEWithLogitsLoss(), LOGITS[:, None], Y, {}, "shape-mismatch", "error"),
    ("(N, 1) target", nn.BCELoss(), PROBS, Y[:, None], {}, "shape-mismatch", "error"),
    ("(1,) output, 0-dim label", nn.BCEWithLogitsLoss(), LOGITS[:1], Y[0], {}, "shape-mismatch", "error"),
    ("{-1, 1} target to BCE", nn.BCEWithLogitsLoss(), LOGITS, SIGNED, {}, "target-out-of-range", "warning"),
    ("{-1, 1} target to BCELoss", nn.BCELoss(), PROBS, SIGNED, {}, "target-out-of-range", "error"),
    ("(2,) weight on (N,)", nn.BCELoss(weight=torch.tensor([0.2, 0.8])), PROBS, Y, {}, "weight-not-broadcastable", "error"),
    ("(2,) weight on (N, 2)", nn.BCEWithLogitsLoss(weight=torch.tensor([0.2, 0.8])), ML_LOGITS[:, :2], ML_Y[:, :2], {}, "weight-per-column", "warning"),
    ("pos_weight length", nn.BCEWithLogitsLoss(pos_weight=torch.ones(2)), ML_LOGITS, ML_Y, {}, "pos-weight-shape", "error"),
    ("(C, 1) pos_weight", nn.BCEWithLogitsLoss(pos_weight=torch.ones(C, 1)), ML_LOGITS, ML_Y, {}, "pos-weight-shape", "error"),
    ("(3, 1) pos_weight on (8, 3)", F.binary_cross_entropy_with_logits, ML_LOGITS, ML_Y, {"pos_weight": torch.ones(3, 1)}, "pos-weight-shape", "error"),
    ("pos_weight (N,) on (N,)", F.binary_cross_entropy_with_logits, LOGITS, Y, {"pos_weight": torch.ones(N)}, "pos-weight-shape", "note"),
    ("pos_weight a Python float", F.binary_cross_entropy_with_logits, LOGITS, Y, {"pos_weight": 3.0}, "option-not-a-tensor", "error"),
    ("bool pos_weight", nn.BCEWithLogitsLoss(pos_weight=torch.ones(1, dtype=torch.bool)), LOGITS, Y, {}, "pos-weight-dtype", "error"),
    ("float64 labels into BCELoss", nn.BCELoss(), PROBS, Y.double(), {}, "dtype-mismatch", "error"),
    ("bool input to BCELoss", nn.BCELoss(), PROBS > 0.5, Y, {}, "input-dtype", "error"),
    ("integer logits to BCEWithLogitsLoss", nn.BCEWithLogitsLoss(), LOGITS.long(), Y, {}, "input-dtype", "error"),
    ("integer logits to CrossEntropyLoss", nn.CrossEntropyLoss(), CE_LOGITS.long(), CE_Y, {}, "input-dtype", "error"),
    ("complex input", nn.BCEWithLogitsLoss(), LOGITS.to(torch.complex64), Y, {}, "input-dtype", "error"),
    ("complex CE input", nn.CrossEntropyLoss(), CE_LOGITS.to(torch.complex64), CE_Y, {}, "input-dtype", "error"),
    ("NaN in BCELoss input", nn.BCELoss(), torch.where(Y == 1, float("nan"), PROBS), Y, {}, "non-finite", "error"),
    ("double sigmoid before BCELoss", nn.BCELoss(), DOUBLE, Y, {}, "double-sigmoid", "warning"),
    ("double sigmoid, batch of 2", nn.BCELoss(), torch.sigmoid(torch.sigmoid(torch.tensor([-3.0, 2.5]))), Y[:2], {}, "double-sigmoid", "note"),
    ("double sigmoid, batch of 3", nn.BCELoss(), torch.sigmoid(torch.sigmoid(torch.tensor([-1.0, 0.3, 2.0]))), Y[:3], {}, "double-sigmoid", "note"),
    ("thresholded predictions to BCELoss", nn.BCELoss(), HARD, Y, {}, "thresholded-predictions", "warning"),
    ("thresholded predictions as logits", nn.BCEWithLogitsLoss(), HARD, Y, {}, "thresholded-predictions", "warning"),
    ("float16 sigmoid saturating into BCELoss", nn.BCELoss(), HALF_PROBS, Y.half(), {}, "saturated-probabilities", "warning"),
    ("HingeEmbedding {0, 1}", nn.HingeEmbeddingLoss(), DIST, Y, {}, "hinge-embedding-01-targets", "warning"),
    ("HingeEmbedding {1, -3}", nn.HingeEmbeddingLoss(), DIST, 2 * SIGNED - 1, {}, "hinge-embedding-target-values", "warning"),
    ("HingeEmbedding on scores", nn.HingeEmbeddingLoss(), LOGITS, SIGNED, {}, "hinge-embedding-on-scores", "warning"),
    ("HingeEmbedding (N, 1) vs (N,)", nn.HingeEmbeddingLoss(), DIST[:, None], SIGNED, {}, "shape-mismatch", "warning"),
    ("SoftMargin (N, 1) vs (N,)", nn.SoftMarginLoss(), LOGITS[:, None], SIGNED, {}, "shape-mismatch", "error"),
    ("CE on probabilities", nn.CrossEntropyLoss(), SOFT, CE_Y, {}, "softmax-before-cross-entropy", "warning"),
    ("sigmoid on a 2-column head before CE", nn.CrossEntropyLoss(), SIGMOID_HEAD, Y.long(), {}, "sigmoid-before-cross-entropy", "warning"),
    ("CE (N, 1) input", nn.CrossEntropyLoss(), LOGITS[:, None], torch.zeros(N, dtype=torch.long), {}, "single-column", "warning"),
    ("CE (1,) output, 0-dim label", nn.CrossEntropyLoss(), LOGITS[:1], torch.tensor(0), {}, "single-column", "warning"),
    ("CE 0-dim input", nn.CrossEntropyLoss(), LOGITS[0], torch.tensor(0), {}, "input-shape", "error"),
    ("CE index out of range", nn.CrossEntropyLoss(), CE_LOGITS, CE_Y + 1, {}, "class-index-out-of-range", "error"),
    ("CE int32 indices", nn.CrossEntropyLoss(), CE_LOGITS, CE_Y.int(), {}, "int32-target", "error"),
    ("CE float indices", F.cross_entropy, CE_LOGITS, CE_Y.float(), {}, "float-class-indices", "error"),
    ("CE (N, 1) indices", nn.CrossEntropyLoss(), CE_LOGITS, CE_Y[:, None], {}, "target-shape", "error"),
    ("CE one-hot int64 rows", nn.CrossEntropyLoss(), CE_LOGITS, F.one_hot(CE_Y, C), {}, "probability-target-dtype", "error"),
    ("CE rows not summing to 1", nn.CrossEntropyLoss(), CE_LOGITS, SOFT * 2, {}, "probabilities-not-normalized", "warning"),
    ("multi-label rows to CE", nn.CrossEntropyLoss(), CE_LOGITS, MULTI_HOT, {}, "multi-label-target", "warning"),
    ("CE weight length", nn.CrossEntropyLoss(weight=torch.ones(2)), CE_LOGITS, CE_Y, {}, "weight-length", "error"),
    ("CE float64 weight, float32 logits", nn.CrossEntropyLoss(weight=torch.ones(C, dtype=torch.float64)), CE_LOGITS, CE_Y, {}, "weight-dtype", "error"),
    ("CE ignore_index with probabilities", nn.CrossEntropyLoss(ignore_index=0), CE_LOGITS, SOFT, {}, "ignore-index-with-probabilities", "error"),
    ("CE label_smoothing above 1", nn.CrossEntropyLoss(label_smoothing=1.5), CE_LOGITS, CE_Y, {}, "label-smoothing", "error"),
    ("CE negative label_smoothing", F.cross_entropy, CE_LOGITS, CE_Y, {"label_smoothing": -0.1}, "label-smoothing", "warning"),
    ("CE bad reduction", nn.CrossEntropyLoss(reduction="average"), CE_LOGITS, CE_Y, {}, "reduction", "error"),
    ("NLL on softmax", nn.NLLLoss(), SOFT, CE_Y, {}, "softmax-before-nll", "warning"),
    ("NLL on logits", nn.NLLLoss(), CE_LOGITS, CE_Y, {}, "logits-to-nll", "warning"),
    ("NLL float64 weight", nn.NLLLoss(weight=torch.ones(C, dtype=torch.float64)), torch.log_softmax(CE_LOGITS, 1), CE_Y, {}, "weight-dtype", "error"),
    ("SoftMargin {0, 1}", nn.SoftMarginLoss(), LOGITS, Y, {}, "margin-target-values", "warning"),
    ("NaN input", nn.BCEWithLogitsLoss(), torch.where(Y == 1, float("nan"), LOGITS), Y, {}, "non-finite", "warning"),
    ("inf in CE", nn.CrossEntropyLoss(), CE_LOGITS.index_fill(1, torch.tensor([0]), float("inf")), CE_Y, {}, "non-finite", "warning"),
    ("NaN in CE", nn.CrossEntropyLoss(), CE_LOGITS.index_fill(0, torch.tensor([2]), float("nan")), CE_Y, {}, "non-finite", "warning"),
    ("-inf on the target class", nn.CrossEntropyLoss(), MASKED, CE_Y, {}, "non-finite", "warning"),
    ("-inf with label smoothing", nn.CrossEntropyLoss(label_smoothing=0.1), MASKED, MASKED_Y, {}, "non-finite", "warning"),
    ("-inf against probabilities", nn.CrossEntropyLoss(), MASKED, SOFT, {}, "non-finite", "warning"),
    ("the class instead of a loss", nn.BCELoss, PROBS, Y, {}, "loss-not-instantiated", "error"),
]


@pytest.mark.parametrize("case", MISTAKES, ids=[c[0] for c in MISTAKES])
def test_each_mistake_is_found_with_its_code_and_severity(case):
    _, loss, input, target, kwargs, code, severity = case
    findings = diagnose(loss, input, target, **kwargs)
    assert code in [f.code for f in findings], findings
    assert severity in [f.severity for f in findings if f.code == code], findings
    for f in findings:
        assert isinstance(f, Finding) and f.message and f.fix and f.severity in SEVERITIES


@pytest.mark.parametrize("case", [c for c in MISTAKES if not isinstance(c[1], type)],
                         ids=[c[0] for c in MISTAKES if not isinstance(c[1], type)])
def test_torch_raises_exactly_where_a_finding_is_an_error(case):
    """The 'silent' mistakes really are silent in torch, and the loud ones really raise;
    and diagnose's checks alone (without the call it makes) say which is which."""
    _, loss, input, target, kwargs, _, _ = case
    errors = [f for f in diagnosis._checks(loss, input, target, kwargs) if f.severity == "error"]
    if errors:
        with pytest.raises(Exception):
            _torch_call(loss, input, target, kwargs)
    else:
        _torch_call(loss, input, target, kwargs)


def test_multi_label_target_names_the_mistake_and_the_loss():
    (finding,) = diagnose(nn.CrossEntropyLoss(), CE_LOGITS, MULTI_HOT)
    assert finding.code == "multi-label-target"
    assert "multi-label" in finding.message and "BCEWithLogitsLoss" in finding.fix
    assert "normalise" not in finding.fix


def test_probabilities_as_logits_needs_evidence():
    """Values inside [0, 1] are a warning only when they cover much of it; a narrow spread
    is a hedged note; nearly constant values (a prior bias) are nothing."""
    spread = torch.linspace(0.25, 0.6, N)  # 0.35 wide: may be either
    (note,) = diagnose(nn.BCEWithLogitsLoss(), spread, Y)
    assert note.code == "probabilities-as-logits" and note.severity == "note"
    assert "may be" in note.message and "ignore this note" in note.fix
    assert diagnose(nn.BCEWithLogitsLoss(), torch.full((N,), 0.405), Y) == []
    assert diagnose(nn.BCEWithLogitsLoss(), PRIOR, Y) == []
    (warning,) = diagnose(nn.BCEWithLogitsLoss(), torch.sigmoid(torch.tensor([-4.0, -3, 3, 5])), Y[:4])
    assert warning.severity == "warning"  # three or more values crowd the walls
    wide = 0.5 + 0.2 * torch.randn(400, generator=gen).clamp(-2.4, 2.4)
    assert [f.severity for f in diagnose(nn.BCEWithLogitsLoss(), wide, (wide > 0.5).float())] == ["warning"]
    (note,) = diagnose(nn.BCEWithLogitsLoss(), torch.sigmoid(torch.tensor([-3.0, 3.0])), Y[:2])
    assert note.severity == "note"  # two values are never more than a note
    assert diagnose(nn.BCELoss(), torch.sigmoid(torch.sigmoid(torch.tensor([0.7]))), Y[:1]) == []


@pytest.mark.parametrize("input, target", [
    ([0.2, 0.7], Y), (PROBS, "labels"), (None, None),
])
def test_diagnose_never_raises_on_non_tensors(input, target):
    findings = diagnose(nn.BCELoss(), input, target)
    assert "not-a-tensor" in [f.code for f in findings]
    assert all(f.severity == "error" for f in findings)


@pytest.mark.parametrize("loss, input, target, kwargs", [
    (nn.BCELoss(), torch.empty(N, device="meta"), torch.empty(N, device="meta"), {}),
    (nn.CrossEntropyLoss(), torch.empty(N, C, device="meta"), torch.empty(N, dtype=torch.long, device="meta"), {}),
    (nn.BCEWithLogitsLoss(), LOGITS.to_sparse(), Y.to_sparse(), {}),
    (nn.CrossEntropyLoss(), CE_LOGITS.to(torch.complex64), SOFT.to(torch.complex64), {}),
    (nn.BCELoss(), PROBS.numpy(), Y.numpy(), {}),
    ("BCELoss", PROBS, Y, {}),
    (lambda x, t: (x - t).abs().mean(), PROBS, Y, {}),
    (F.cross_entropy, CE_LOGITS, CE_Y, {"weight": [1.0, 2.0, 3.0], "ignore_index": "none"}),
    (nn.BCEWithLogitsLoss(), LOGITS, Y, {"pos_weight": "3"}),
    (nn.CrossEntropyLoss(label_smoothing=float("nan")), CE_LOGITS, CE_Y, {}),
    (F.cross_entropy, CE_LOGITS, CE_Y, {"label_smoothing": "0.1"}),
    (nn.MultiMarginLoss(), CE_LOGITS, CE_Y.float(), {}),
])
def test_diagnose_never_raises(loss, input, target, kwargs):
    findings = diagnose(loss, input, target, **kwargs)
    assert isinstance(findings, list)
    assert "diagnose-incomplete" not in [f.code for f in findings]


def test_a_failing_check_is_a_note_and_the_call_still_runs(monkeypatch):
    def broken(call):
        raise ZeroDivisionError("a bug")
    monkeypatch.setitem(diagnosis.CHECKS, "ce", broken)
    findings = diagnose(nn.CrossEntropyLoss(), CE_LOGITS, CE_Y + 1)
    assert [(f.code, f.severity) for f in findings] == [
        ("diagnose-incomplete", "note"), ("call-raises", "error")]
    assert "ZeroDivisionError: a bug" in findings[0].message
    assert "out of bounds" in findings[1].message


@pytest.mark.parametrize("loss", [nn.MSELoss(), nn.KLDivLoss(reduction="batchmean"),
                                  nn.MultiMarginLoss()])
def test_an_unknown_loss_gets_a_note_not_a_mistake(loss):
    findings = diagnose(loss, torch.log_softmax(CE_LOGITS, 1), SOFT)
    if isinstance(loss, nn.MultiMarginLoss):
        findings = diagnose(loss, CE_LOGITS, CE_Y)
    assert [(f.code, f.severity) for f in findings] == [("unknown-loss", "note")]
    assert type(loss).__name__ in findings[0].message


def test_an_unknown_loss_that_raises_gets_an_error():
    findings = diagnose(nn.MultiMarginLoss(), CE_LOGITS, CE_Y.float())
    assert [(f.code, f.severity) for f in findings] == [("unknown-loss", "note"),
                                                        ("call-raises", "error")]
    assert "RuntimeError" in findings[1].message


def test_the_call_is_made_on_the_cpu_only():
    made = []

    def loss(input, target):
        made.append(input.device.type)
        raise RuntimeError("refused")

    assert diagnosis._call_error(loss, torch.empty(N, device="meta"), Y, {}) is None
    assert made == []
    assert "refused" in str(diagnosis._call_error(loss, PROBS, Y, {}))
    assert made == ["cpu"]


def test_unknown_loss_is_named():
    findings = diagnose(nn.MSELoss(), PROBS, Y)
    assert [f.code for f in findings] == ["unknown-loss"]
    assert "MSELoss" in findings[0].message


def test_messages_name_the_values_they_saw():
    (finding,) = diagnose(nn.HingeEmbeddingLoss(), DIST, 2 * SIGNED - 1)
    assert "{-3, 1}" in finding.message
    shape = diagnose(nn.BCEWithLogitsLoss(), LOGITS[:, None], Y)[0]
    assert "(8, 1)" in shape.message and "(8,)" in shape.message and "squeeze(-1)" in shape.fix
    assert str(shape).startswith("[shape-mismatch] error: ")
    assert report([]) == "no findings: nothing looks wrong with this call"
