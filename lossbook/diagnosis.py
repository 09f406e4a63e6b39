"""``diagnose(loss, input, target)``: the classic mistakes with PyTorch's losses, in plain words.

Some mistakes make torch raise an error that does not say what to do; worse ones give a
number and no error at all. :func:`diagnose` looks at a loss call before it is made (or
after it gave a strange number) and returns one :class:`Finding` per problem it sees, each
with a stable ``code``, a ``message`` saying what is wrong and a ``fix`` saying what to write
instead. It never raises on odd data: finding problems is its job.

It knows the losses by name: torch's modules (``nn.BCELoss()``, ...) and functionals
(``F.binary_cross_entropy``, ...) and lossbook's own. Options of a module instance
(``weight``, ``pos_weight``, ``ignore_index``, ``margin``) are read from it; options of a
function are passed as keyword arguments, as they would be to the call.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch

#: Which family each known loss belongs to, by class or function name.
FAMILIES = {
    "bce": ("BCELoss", "binary_cross_entropy"),
    "bce_logits": ("BCEWithLogitsLoss", "binary_cross_entropy_with_logits",
                   "sigmoid_focal_loss", "FocalLoss"),
    "ce": ("CrossEntropyLoss", "cross_entropy", "SymmetricCrossEntropy",
           "symmetric_cross_entropy"),
    "nll": ("NLLLoss", "nll_loss"),
    "hinge_embedding": ("HingeEmbeddingLoss", "hinge_embedding_loss"),
    "soft_margin": ("SoftMarginLoss", "soft_margin_loss"),
    "binary_hinge": ("BinaryHingeLoss", "binary_hinge_loss", "squared_hinge_loss"),
}
FAMILY_OF = {name: family for family, names in FAMILIES.items() for name in names}

#: The options read from a loss module instance when present.
MODULE_OPTIONS = ("weight", "pos_weight", "ignore_index", "margin")


@dataclass(frozen=True)
class Finding:
    """One problem with a loss call.

    Attributes:
        code: a short stable identifier, such as ``"logits-as-probabilities"``.
        message: what is wrong, in plain words, with the values that show it.
        fix: what to write instead.
    """

    code: str
    message: str
    fix: str

    def __str__(self) -> str:
        return f"[{self.code}] {self.message}\n  fix: {self.fix}"


def _name(loss) -> str:
    if isinstance(loss, torch.nn.Module):
        return type(loss).__name__
    return getattr(loss, "__name__", type(loss).__name__)


def _options(loss, loss_kwargs: dict) -> dict:
    options = {}
    if isinstance(loss, torch.nn.Module):
        for key in MODULE_OPTIONS:
            value = getattr(loss, key, None)
            if value is not None:
                options[key] = value
    options.update({k: v for k, v in loss_kwargs.items() if v is not None})
    return options


def _is_binary(x: torch.Tensor) -> bool:
    return bool(((x == 0) | (x == 1)).all())


def _values(x: torch.Tensor, limit: int = 6) -> str:
    """A few distinct values of ``x``, for messages."""
    distinct = torch.unique(x.detach().flatten())
    shown = ", ".join(f"{v:.4g}" for v in distinct[:limit].tolist())
    return "{" + shown + (", ..." if len(distinct) > limit else "") + "}"


def _range(x: torch.Tensor) -> str:
    return f"[{x.min().item():.4g}, {x.max().item():.4g}]"


def diagnose(loss, input, target, **loss_kwargs) -> list[Finding]:
    """Look for the classic mistakes in ``loss(input, target, **loss_kwargs)``.

    Args:
        loss: a torch loss module instance (``nn.BCEWithLogitsLoss(pos_weight=...)``), a
            torch functional (``F.cross_entropy``) or a lossbook loss, known by its name
            (:data:`FAMILIES`).
        input: what would be passed as the loss's input (probabilities, logits, scores).
        target: what would be passed as its target.
        **loss_kwargs: options of a functional call (``weight=``, ``pos_weight=``,
            ``ignore_index=``, ``margin=``).

    Returns:
        The findings, in the order they were checked; an empty list when nothing looks
        wrong. A call that torch would reject always yields at least one finding; so do the
        silent mistakes (swapped arguments, a double sigmoid, softmax before
        ``CrossEntropyLoss``, ``HingeEmbeddingLoss`` on classifier scores, ...).
    """
    name = _name(loss)
    family = FAMILY_OF.get(name)
    findings: list[Finding] = []
    if family is None:
        known = ", ".join(sorted(FAMILY_OF))
        findings.append(Finding("unknown-loss", f"{name} is not a loss diagnose knows.",
                                f"pass one of: {known}"))
    for arg, value in (("input", input), ("target", target)):
        if not isinstance(value, torch.Tensor):
            findings.append(Finding(
                "not-a-tensor", f"{arg} is a {type(value).__name__}, not a torch.Tensor.",
                f"convert it: torch.as_tensor({arg}, dtype=torch.float32)"))
    if family is None or any(f.code == "not-a-tensor" for f in findings):
        return findings
    options = _options(loss, loss_kwargs)
    findings += _non_finite(input=input, target=target, weight=options.get("weight"),
                            pos_weight=options.get("pos_weight"))
    checks = {
        "bce": _binary, "bce_logits": _binary, "ce": _cross_entropy, "nll": _cross_entropy,
        "hinge_embedding": _hinge_embedding, "soft_margin": _signed_targets,
        "binary_hinge": _binary_hinge,
    }
    findings += checks[family](family, name, input, target, options)
    return findings


def _non_finite(**tensors) -> list[Finding]:
    findings = []
    for arg, x in tensors.items():
        if isinstance(x, torch.Tensor) and x.is_floating_point() and not torch.isfinite(x).all():
            bad = int((~torch.isfinite(x)).sum())
            findings.append(Finding(
                "non-finite", f"{arg} holds {bad} NaN or infinite value(s) of {x.numel()}; "
                "the loss and every gradient will be NaN or infinite.",
                f"find where {arg} stops being finite (a log of 0, a division by 0, an "
                "exploding layer) and fix it there; torch.isfinite shows which entries"))
    return findings


def _finite(x: torch.Tensor) -> torch.Tensor:
    return x[torch.isfinite(x)] if x.is_floating_point() else x


def _shape(input: torch.Tensor, target: torch.Tensor) -> list[Finding]:
    if input.shape == target.shape:
        return []
    shapes = f"input has shape {tuple(input.shape)} and target {tuple(target.shape)}"
    if input.dim() == target.dim() + 1 and input.shape[-1] == 1 and input.shape[:-1] == target.shape:
        return [Finding("shape-mismatch",
                        f"{shapes}: a model ending in Linear(..., 1) against 1-D labels. Torch "
                        "refuses the pair; a hand-written loss would broadcast it to "
                        f"({target.shape[0]}, {target.shape[0]}) and average all pairs.",
                        "input.squeeze(-1) (or target.unsqueeze(-1))")]
    if target.dim() == input.dim() + 1 and target.shape[-1] == 1 and target.shape[:-1] == input.shape:
        return [Finding("shape-mismatch", f"{shapes}: the target has an extra trailing dimension.",
                        "target.squeeze(-1)")]
    return [Finding("shape-mismatch", f"{shapes}; binary losses need equal shapes.",
                    "give input and target the same shape, one entry per label")]


def _binary(family, name, input, target, options) -> list[Finding]:
    """BCELoss and BCEWithLogitsLoss (and the focal loss, which takes the same arguments)."""
    findings = _shape(input, target)
    if not target.is_floating_point():
        findings.append(Finding(
            "integer-target", f"target has dtype {target.dtype}; {name} needs a float target "
            "(it may hold soft labels such as 0.9), and torch refuses it with a dtype error.",
            "target.float()"))
    in_finite, t_finite = _finite(input.detach().double()), _finite(target.detach().double())
    target_binary = t_finite.numel() > 0 and _is_binary(t_finite)
    input_binary = in_finite.numel() > 0 and _is_binary(in_finite)
    if input_binary and not target_binary and t_finite.numel() and 0 <= t_finite.min() and t_finite.max() <= 1:
        findings.append(Finding(
            "swapped-arguments", f"input holds only 0s and 1s and target holds fractions in "
            f"{_range(t_finite)}: the arguments look swapped. With probabilities, each element "
            "then costs 100 * |y - p| through torch's log clamp, and no error is raised.",
            f"{name}(predictions, labels): the prediction comes first"))
        return findings
    if t_finite.numel() and (t_finite.min() < 0 or t_finite.max() > 1):
        signed = bool(((t_finite == -1) | (t_finite == 1)).all())
        findings.append(Finding(
            "target-out-of-range", f"target holds values {_values(t_finite)} outside [0, 1]"
            + ("; {-1, 1} is the margin losses' convention." if signed else "."),
            "map labels to {0, 1}: (target + 1) / 2 for {-1, 1} labels" if signed
            else "targets of a binary cross entropy are probabilities of the positive class"))
    if family == "bce" and in_finite.numel() and (in_finite.min() < 0 or in_finite.max() > 1):
        findings.append(Finding(
            "logits-as-probabilities", f"input holds values in {_range(in_finite)}, outside "
            f"[0, 1]: these look like logits, and {name} takes probabilities (torch raises "
            "'all elements of input should be between 0 and 1').",
            "pass the raw outputs to BCEWithLogitsLoss (stable), not sigmoid + BCELoss"))
    if (family == "bce_logits" and in_finite.numel() >= 4 and in_finite.min() >= 0
            and in_finite.max() <= 1 and not input_binary):
        findings.append(Finding(
            "probabilities-as-logits", f"every input value lies in {_range(in_finite)}, inside "
            f"[0, 1]: these look like probabilities, but {name} applies the sigmoid itself. "
            "No error is raised; the loss cannot go below its floor (softplus(-1) = 0.3133 "
            "for a positive) and training stalls.",
            "remove the sigmoid from the model's output and pass the logits"))
    findings += _weights(input, options)
    return findings


def _weights(input, options) -> list[Finding]:
    findings = []
    weight, pos_weight = options.get("weight"), options.get("pos_weight")
    if isinstance(weight, torch.Tensor) and weight.shape != input.shape:
        try:
            broadcast = torch.broadcast_shapes(weight.shape, input.shape)
        except RuntimeError:
            broadcast = None
        if broadcast != input.shape:
            findings.append(Finding(
                "weight-not-broadcastable", f"weight has shape {tuple(weight.shape)}, which does "
                f"not broadcast to the input's {tuple(input.shape)}: weight is per element, not "
                "per class, and torch raises a broadcast error.",
                "per-class weights for 0/1 labels: weight = torch.where(target == 1, w_pos, w_neg)"))
        elif input.dim() >= 2 and weight.dim() >= 1 and weight.shape[-1] == input.shape[-1] > 1:
            findings.append(Finding(
                "weight-per-column", f"weight of shape {tuple(weight.shape)} against an input of "
                f"shape {tuple(input.shape)} weights the {input.shape[-1]} columns (labels), not "
                "the classes 0 and 1. That is right for per-label weights of a multi-label "
                "model, and wrong if you meant class weights.",
                "for class weights: weight = torch.where(target == 1, w_pos, w_neg); for "
                "positives only: pos_weight"))
    if isinstance(pos_weight, torch.Tensor):
        columns = input.shape[-1] if input.dim() >= 2 else 1
        if pos_weight.numel() not in (1, columns) or (pos_weight.dim() == 1 and input.dim() == 1
                                                      and pos_weight.numel() != 1):
            findings.append(Finding(
                "pos-weight-shape", f"pos_weight has {pos_weight.numel()} values, but the input "
                f"of shape {tuple(input.shape)} has {columns} column(s): pos_weight holds one "
                "weight per column (label), broadcast along the last dimension.",
                f"pos_weight of shape ({columns},), e.g. n_neg / n_pos for each column"))
    return findings


def _cross_entropy(family, name, input, target, options) -> list[Finding]:
    """CrossEntropyLoss and NLLLoss: (N, C) scores and (N,) class indices or (N, C)
    probabilities."""
    findings = []
    if input.dim() < 2:
        return [Finding("input-shape", f"input has shape {tuple(input.shape)}; {name} needs "
                        "(N, C) scores, one column per class.",
                        "for a binary model with one logit, use BCEWithLogitsLoss")]
    classes = input.shape[1]
    detached = input.detach()
    if classes == 1:
        findings.append(Finding(
            "single-column", f"input has shape {tuple(input.shape)}: one class. The softmax of a "
            "single score is 1, so the loss is 0 whatever the model does, and nothing is learnt.",
            "a binary model: one logit with BCEWithLogitsLoss, or Linear(..., 2) with "
            "CrossEntropyLoss"))
    rows_are_probabilities = bool(
        (detached >= 0).all() and (detached <= 1).all()
        and torch.allclose(detached.sum(dim=1), torch.ones(()), atol=1e-4))
    if family == "ce" and rows_are_probabilities and classes > 1:
        findings.append(Finding(
            "softmax-before-cross-entropy", "every row of input is non-negative and sums to 1: "
            f"these are probabilities, but {name} applies log-softmax itself. No error; the "
            "loss is squeezed into a narrow range and learning slows.",
            "pass the raw logits (remove the softmax)"))
    if family == "nll":
        lse = torch.logsumexp(detached, dim=1)
        if rows_are_probabilities:
            findings.append(Finding(
                "softmax-before-nll", "every row of input sums to 1: these are probabilities, "
                "but NLLLoss takes log-probabilities and returns -mean(p[target]), a negative "
                "number. CrossEntropyLoss is LogSoftmax + NLLLoss, not Softmax + NLLLoss.",
                "NLLLoss()(torch.log_softmax(logits, dim=1), target), or CrossEntropyLoss on "
                "the logits"))
        elif not torch.allclose(lse, torch.zeros(()), atol=1e-3):
            findings.append(Finding(
                "logits-to-nll", "rows of input are not log-probabilities (their logsumexp is "
                f"in {_range(lse)}, not 0): NLLLoss only picks -input[target], so raw logits "
                "give a meaningless number.", "CrossEntropyLoss on the logits"))
    ignore_index = options.get("ignore_index", -100)
    if target.is_floating_point():
        if target.shape == input.shape:
            sums = target.detach().sum(dim=1)
            if (target < 0).any() or not torch.allclose(sums, torch.ones(()), atol=1e-4):
                findings.append(Finding(
                    "probabilities-not-normalized", "target has the input's shape, so it is read "
                    f"as class probabilities, but its rows sum to {_range(sums)}, not 1.",
                    "normalise: target / target.sum(dim=1, keepdim=True), or pass class indices"))
        elif target.shape == input.shape[:1] + input.shape[2:]:
            findings.append(Finding(
                "float-class-indices", f"target has dtype {target.dtype} and shape "
                f"{tuple(target.shape)}: class indices must be integers (int64 or uint8).",
                "target.long()"))
        else:
            findings.append(Finding(
                "target-shape", f"target has shape {tuple(target.shape)}; with input "
                f"{tuple(input.shape)} it must be {tuple(input.shape[:1] + input.shape[2:])} "
                "(class indices) or the input's shape (probabilities).",
                "class indices of shape (N,)"))
        return findings + _class_weight(input, options)
    if target.dtype not in (torch.int64, torch.uint8):
        findings.append(Finding(
            "int32-target" if target.dtype == torch.int32 else "target-dtype",
            f"target has dtype {target.dtype}; class indices must be int64 (or uint8), and torch "
            "raises an error naming 'Int' otherwise.", "target.long()"))
    if target.shape != input.shape[:1] + input.shape[2:]:
        findings.append(Finding(
            "target-shape", f"class-index target has shape {tuple(target.shape)}; with input "
            f"{tuple(input.shape)} it must be {tuple(input.shape[:1] + input.shape[2:])}.",
            "target.squeeze(-1) if it has a trailing 1, or argmax(dim=1) of one-hot rows"))
    indices = target.detach().long()
    valid = indices[indices != ignore_index]
    if valid.numel() and (valid.min() < 0 or valid.max() >= classes):
        findings.append(Finding(
            "class-index-out-of-range", f"target holds class indices {_values(valid)}, but the "
            f"input has {classes} column(s): valid indices are 0 to {classes - 1} (and "
            f"ignore_index={ignore_index}).",
            "check the label encoding (1-based labels? {-1, 1} labels?) and the number of "
            "output columns"))
    return findings + _class_weight(input, options)


def _class_weight(input, options) -> list[Finding]:
    weight = options.get("weight")
    if isinstance(weight, torch.Tensor) and weight.shape != (input.shape[1],):
        return [Finding(
            "weight-length", f"weight has shape {tuple(weight.shape)}, but the input has "
            f"{input.shape[1]} classes: CrossEntropyLoss takes one weight per class.",
            f"weight of shape ({input.shape[1]},)")]
    return []


def _signed(target) -> tuple[bool, bool]:
    t = _finite(target.detach().double())
    return bool(((t == -1) | (t == 1)).all()), bool(((t == 0) | (t == 1)).all())


def _hinge_embedding(family, name, input, target, options) -> list[Finding]:
    findings = _shape(input, target)
    signed, zero_one = _signed(target)
    t = _finite(target.detach().double())
    if zero_one and not signed:
        findings.append(Finding(
            "hinge-embedding-01-targets", "target holds {0, 1}; HingeEmbeddingLoss expects "
            "{-1, 1}, and a 0 matches neither case: it is charged both x and max(0, margin - x).",
            "map labels with 2 * target - 1, once (and see hinge-embedding-on-scores)"))
    elif not signed:
        findings.append(Finding(
            "hinge-embedding-target-values", f"target holds {_values(t)}; HingeEmbeddingLoss "
            "takes only -1 and 1 (a target mapped twice with 2 * target - 1 gives {-3, 1}). "
            "No error is raised.", "labels in {-1, 1}, mapped exactly once"))
    x = _finite(input.detach().double())
    if x.numel() and x.min() < 0:
        findings.append(Finding(
            "hinge-embedding-on-scores", f"input holds negative values (in {_range(x)}): "
            "HingeEmbeddingLoss is for non-negative distances between pairs. On classifier "
            "scores it charges every positive its score x, so a confident correct positive is "
            "penalised forever.",
            "for a binary classifier: lossbook's binary_hinge_loss (clamp(1 - y * s, min=0)) "
            "or BCEWithLogitsLoss"))
    return findings


def _signed_targets(family, name, input, target, options) -> list[Finding]:
    findings = _shape(input, target)
    signed, zero_one = _signed(target)
    if not signed:
        findings.append(Finding(
            "margin-target-values", f"target holds {_values(_finite(target.detach().double()))}; {name} "
            "takes labels in {-1, 1}" + (" and a 0 label counts as neither class." if zero_one else "."),
            "2 * target - 1 for {0, 1} labels"))
    return findings


def _binary_hinge(family, name, input, target, options) -> list[Finding]:
    findings = _shape(input, target)
    signed, zero_one = _signed(target)
    if not (signed or zero_one):
        findings.append(Finding(
            "margin-target-values", f"target holds {_values(_finite(target.detach().double()))}; "
            f"{name} takes labels in {{0, 1}} or {{-1, 1}}, one convention at a time.",
            "labels in {0, 1} or in {-1, 1}"))
    return findings


def report(findings: list[Finding]) -> str:
    """The findings as text, one block each, or a line saying there are none."""
    if not findings:
        return "no findings: nothing looks wrong with this call"
    return "\n".join(str(f) for f in findings)
