"""``diagnose(loss, input, target)``: the classic mistakes with PyTorch's losses, in plain words.

Some mistakes make torch raise an error that does not say what to do; worse ones give a
number and no error at all. :func:`diagnose` looks at a loss call before it is made (or
after it gave a strange number) and returns one :class:`Finding` per problem it sees, each
with a stable ``code``, a ``severity``, a ``message`` saying what is wrong and a ``fix``
saying what to write instead. The severities:

- ``"error"``: the call raises; torch (or the lossbook loss) refuses it. (One exception:
  a loss class passed instead of an instance, ``nn.BCELoss`` for ``nn.BCELoss()``, whose
  call may also build a module instead of a loss.)
- ``"warning"``: the call runs, but what it computes is wrong or useless: a silent mistake
  (swapped arguments, a double sigmoid, softmax before ``CrossEntropyLoss``, ...).
- ``"note"``: worth a look, and may well be fine: a suspicion on weak evidence (inputs that
  could be probabilities, or logits that happen to lie in [0, 1]), a legal but unusual
  option, or a loss diagnose has no checks for. A note never claims the call is wrong.

What is guaranteed, and how far:

- ``diagnose`` never raises, whatever it is given. If one of its own checks fails
  unexpectedly, that is reported as a note (``diagnose-incomplete``), not raised; only
  ``BaseException``\\ s that are not ``Exception``\\ s (``KeyboardInterrupt``) get through.
- A call that raises gets at least one ``"error"`` finding whenever its tensors are on the
  CPU: after its checks, and only if none of them found an error, ``diagnose`` makes the call
  itself (under ``torch.no_grad``, warnings silenced) and reports any exception as
  ``call-raises``, with the loss's own message. That also covers losses it has no checks
  for. On other devices it never makes the call (on CUDA an out-of-range class index is a
  device-side assert, which leaves the process's CUDA context unusable), and its checks
  stand alone.
- For torch's ``BCELoss``, ``BCEWithLogitsLoss``, ``CrossEntropyLoss``, ``NLLLoss``,
  ``HingeEmbeddingLoss`` and ``SoftMarginLoss`` (modules and functionals), the checks alone
  give an ``"error"`` finding exactly when torch raises, over the calls that
  ``tests/test_diagnosis_fuzz.py`` draws (every dtype; 0-dim, empty, matching,
  broadcastable and mismatched shapes; NaN and infinite values; their options), against
  the installed torch. It is a test, not a proof: a later torch may refuse other calls,
  which the call ``diagnose`` makes on the CPU still reports.
- The silent mistakes are found by heuristics, and no heuristic is certain. Values in
  [0, 1] where logits belong (a sigmoid too many) get a ``"warning"`` only on evidence that
  something bounds them: at least three values within 0.05 of 0 or 1, or many widely spread
  values that never leave [0, 1]. A narrower spread gets a hedged ``"note"``, and nearly
  constant values (a head initialised to a prior bias) nothing. Hypothesis draws correct
  calls of every float dtype and batch size for the tests: none gets an error or a
  warning, and the correct calls of the tests and of the book get no finding at all.

It knows the losses by name (:data:`FAMILIES`): torch's modules (``nn.BCELoss()``, ...) and
functionals (``F.binary_cross_entropy``, ...) and lossbook's own. Options of a module
instance (``weight``, ``pos_weight``, ``ignore_index``, ``label_smoothing``, ``reduction``,
``margin``) are read from it; options of a function are passed as keyword arguments, as
they would be to the call.
"""

from __future__ import annotations

import math
import warnings
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
MODULE_OPTIONS = ("weight", "pos_weight", "ignore_index", "label_smoothing", "reduction",
                  "margin")

#: The severities of a finding, most serious first.
SEVERITIES = ("error", "warning", "note")

#: The ``reduction`` values torch accepts (``"elementwise_mean"`` is its legacy name for
#: ``"mean"``).
REDUCTIONS = ("none", "mean", "sum", "elementwise_mean")

#: The dtypes torch accepts for class indices.
INDEX_DTYPES = (torch.int64, torch.uint8)

_LOW_PRECISION = (torch.float16, torch.bfloat16)
_DTYPE_WORD = {torch.float16: "Half", torch.bfloat16: "BFloat16", torch.float32: "Float",
               torch.float64: "Double"}  # torch's names, as its messages print them
_SIGMOID_OF_1 = 1 / (1 + math.exp(-1))  # 0.7311: sigmoid(sigmoid(z)) lies in [0.5, 0.7311]


@dataclass(frozen=True)
class Finding:
    """One problem (or, for a ``"note"``, one thing worth a look) in a loss call.

    Attributes:
        code: a short stable identifier, such as ``"logits-as-probabilities"``.
        message: what is wrong, in plain words, with the values that show it.
        fix: what to write instead.
        severity: ``"error"`` (the call raises), ``"warning"`` (it runs and computes
            something wrong) or ``"note"`` (possibly fine; never a claim of a mistake).
    """

    code: str
    message: str
    fix: str
    severity: str = "warning"

    def __str__(self) -> str:
        return f"[{self.code}] {self.severity}: {self.message}\n  fix: {self.fix}"


def _error(code, message, fix) -> Finding:
    return Finding(code, message, fix, "error")


def _warning(code, message, fix) -> Finding:
    return Finding(code, message, fix, "warning")


def _note(code, message, fix) -> Finding:
    return Finding(code, message, fix, "note")


# --- entry point ------------------------------------------------------------------------


def diagnose(loss, input, target, **loss_kwargs) -> list[Finding]:
    """Look for the classic mistakes in ``loss(input, target, **loss_kwargs)``.

    Args:
        loss: a torch loss module instance (``nn.BCEWithLogitsLoss(pos_weight=...)``), a
            torch functional (``F.cross_entropy``) or a lossbook loss, known by its name
            (:data:`FAMILIES`). Any other callable is run (see below) but not checked.
        input: what would be passed as the loss's input (probabilities, logits, scores).
        target: what would be passed as its target.
        **loss_kwargs: options of a functional call (``weight=``, ``pos_weight=``,
            ``ignore_index=``, ``label_smoothing=``, ``reduction=``, ``margin=``).

    Returns:
        The findings, in the order they were checked; an empty list when nothing looks
        wrong. It never raises. A call that raises yields at least one finding of severity
        ``"error"`` whenever its tensors are on the CPU, since ``diagnose`` then makes the
        call itself when its checks found no error (``call-raises``); elsewhere it relies
        on its checks, which match torch exactly for the torch losses of
        :data:`FAMILIES` that the fuzz test covers (see the module's docstring). The silent
        mistakes (swapped arguments, a double sigmoid, softmax before
        ``CrossEntropyLoss``, ``HingeEmbeddingLoss`` on classifier scores, ...) are
        ``"warning"``\\ s, or ``"note"``\\ s where the evidence is weak.
    """
    try:
        findings = _checks(loss, input, target, loss_kwargs)
    except Exception as error:  # a bug of diagnose's, never a reason to raise
        findings = [_note(
            "diagnose-incomplete", "diagnose could not finish its checks of this call "
            f"({_describe(error)}); any finding below comes from running the call.",
            "nothing to change for this; please report it as a bug of lossbook.diagnose")]
    try:
        if not any(f.severity == "error" for f in findings):
            error = _call_error(loss, input, target, loss_kwargs)
            if error is not None:
                findings.append(_error(
                    "call-raises", f"the call raises {_describe(error)}",
                    "fix what the message names (a dtype, a shape, a value, an option); "
                    "diagnose has no more specific advice for this error"))
    except Exception:  # pragma: no cover - _call_error catches everything itself
        pass
    return findings


def report(findings: list[Finding]) -> str:
    """The findings as text, one block each, or a line saying there are none."""
    if not findings:
        return "no findings: nothing looks wrong with this call"
    return "\n".join(str(f) for f in findings)


def _describe(error: BaseException) -> str:
    try:
        text = str(error).strip().splitlines()
        first = text[0] if text else ""
    except Exception:
        first = ""
    first = first if len(first) <= 200 else first[:197] + "..."
    return f"{type(error).__name__}: {first}" if first else type(error).__name__


def _call_error(loss, input, target, loss_kwargs) -> Exception | None:
    """Make the call, on the CPU only, and return what it raised (``None`` if nothing)."""
    if isinstance(loss, type) or not callable(loss):
        return None
    try:
        tensors = [x for x in (input, target, *loss_kwargs.values())
                   if isinstance(x, torch.Tensor)]
        if isinstance(loss, torch.nn.Module):
            tensors += list(loss.parameters()) + list(loss.buffers())
        if any(x.device.type != "cpu" for x in tensors):
            return None
    except Exception:
        return None
    kwargs = {} if isinstance(loss, torch.nn.Module) else loss_kwargs
    try:
        with torch.no_grad(), warnings.catch_warnings():
            warnings.simplefilter("ignore")
            loss(input, target, **kwargs)
    except Exception as error:
        return error
    return None


# --- what is known about the call -------------------------------------------------------


def _name(loss) -> str:
    if isinstance(loss, torch.nn.Module):
        return type(loss).__name__
    return str(getattr(loss, "__name__", type(loss).__name__))


def _is_torch(loss) -> bool:
    """Whether ``loss`` is torch's own (``nn.BCELoss``, ``F.cross_entropy``), as opposed to
    lossbook's loss of the same name."""
    owner = type(loss) if isinstance(loss, torch.nn.Module) else loss
    return str(getattr(owner, "__module__", "") or "").startswith("torch.")


def _options(loss, loss_kwargs: dict) -> dict:
    options = {}
    if isinstance(loss, torch.nn.Module):
        for key in MODULE_OPTIONS:
            value = getattr(loss, key, None)
            if value is not None:
                options[key] = value
    options.update({k: v for k, v in loss_kwargs.items() if v is not None})
    return options


@dataclass
class _Call:
    name: str
    family: str
    torch: bool
    input: torch.Tensor
    target: torch.Tensor
    options: dict


def _checks(loss, input, target, loss_kwargs) -> list[Finding]:
    """Every check of :func:`diagnose`, without making the call."""
    name = _name(loss)
    family = FAMILY_OF.get(name)
    if family is None:
        known = ", ".join(sorted(FAMILY_OF))
        return [_note("unknown-loss", f"diagnose has no checks for {name}: it only makes "
                      "the call (with tensors on the CPU) and reports an error if it raises.",
                      f"nothing to fix unless another finding says so; the losses diagnose "
                      f"checks: {known}")]
    findings: list[Finding] = []
    if isinstance(loss, type):
        findings.append(_error(
            "loss-not-instantiated", f"{name} is the class, not a loss: calling it with "
            "(input, target) raises, or builds a module (with input as its first option) "
            "instead of computing a loss.", f"create it first: {name}()(input, target)"))
    for arg, value in (("input", input), ("target", target)):
        if not isinstance(value, torch.Tensor):
            findings.append(_error(
                "not-a-tensor", f"{arg} is a {type(value).__name__}, not a torch.Tensor.",
                f"convert it: torch.as_tensor({arg}, dtype=torch.float32)"))
    if not (isinstance(input, torch.Tensor) and isinstance(target, torch.Tensor)):
        return findings
    call = _Call(name, family, _is_torch(loss), input, target, _options(loss, loss_kwargs))
    findings += _option_checks(call)
    findings += _devices(call)
    findings += CHECKS[family](call)
    findings += _non_finite_options(call)
    return findings


# --- helpers on values ------------------------------------------------------------------


def _values_of(x: torch.Tensor) -> torch.Tensor | None:
    """``x`` as a detached float64 tensor, or ``None`` when its values cannot be read
    (a meta, sparse or complex tensor)."""
    if x.device.type == "meta" or x.layout != torch.strided or x.is_complex():
        return None
    return x.detach().to(torch.float64)


def _finite(x: torch.Tensor) -> torch.Tensor:
    return x[torch.isfinite(x)]


def _is_binary(x: torch.Tensor) -> bool:
    return bool(((x == 0) | (x == 1)).all())


def _values(x: torch.Tensor, limit: int = 6) -> str:
    """A few distinct values of ``x`` (real), for messages."""
    distinct = torch.unique(x.detach().to(torch.float64).flatten())
    shown = ", ".join(f"{v:.4g}" for v in distinct[:limit].tolist())
    return "{" + shown + (", ..." if len(distinct) > limit else "") + "}"


def _range(x: torch.Tensor) -> str:
    return f"[{x.min().item():.4g}, {x.max().item():.4g}]"


def _shape(x) -> tuple:
    return tuple(x.shape)


def _broadcast(*shapes) -> torch.Size | None:
    """The shape the ``shapes`` broadcast to, or ``None`` if they do not (torch's rules;
    written out, since ``torch.broadcast_shapes`` imports sympy on its first call)."""
    result: list[int] = []
    for shape in shapes:
        shape = list(shape)
        if len(shape) > len(result):
            result = [1] * (len(shape) - len(result)) + result
        shape = [1] * (len(result) - len(shape)) + shape
        for i, size in enumerate(shape):
            if size != result[i]:
                if result[i] == 1:
                    result[i] = size
                elif size != 1:
                    return None
    return torch.Size(result)


def _tolerance(dtype: torch.dtype, classes: int = 1) -> float:
    """How far a sum of ``classes`` probabilities (or their logsumexp, for
    log-probabilities) computed in ``dtype`` may be from its exact value."""
    if dtype not in _LOW_PRECISION:
        return 1e-3
    return min(0.05, max(0.01, classes * torch.finfo(dtype).eps))


def _sigmoid_evidence(u: torch.Tensor) -> str | None:
    """How strongly the finite values ``u``, all in [0, 1], look like the output of a
    sigmoid rather than unbounded values (logits) that happen to lie in [0, 1] on this
    batch: ``"warning"``, ``"note"`` or ``None``.

    Logits have no walls at 0 and 1; probabilities do. The evidence is what a wall leaves:

    - ``None``: fewer than 2 values, any value outside [0, 1], or a spread under 0.2. Nearly
      constant values are no evidence either way: a head initialised to a prior bias gives
      logits near ``log(p / (1 - p))`` (0.41 for p = 0.6) on its first batch.
    - ``"warning"``: at least 3 values within 0.05 of a wall (a smooth spread of logits
      would put about as many just outside it as just inside); or, with 4 values or more,
      a normal distribution with their mean and standard deviation would put them all
      inside [0, 1] with a probability under 1 %: many widely spread values that never
      leave [0, 1].
    - ``"note"`` otherwise: they may be probabilities, or logits that lie there by chance.
      A small batch of a fresh model's sigmoid outputs (all near 0.5) cannot be told apart
      from logits, so it never gets more than a note.
    """
    n = u.numel()
    if n < 2:
        return None
    lo, hi = u.min().item(), u.max().item()
    if lo < 0 or hi > 1 or hi - lo < 0.2:
        return None
    if int(((u <= 0.05) | (u >= 0.95)).sum()) >= 3:
        return "warning"
    if n >= 4:
        mean, std = u.mean().item(), u.std().item()
        inside = _normal_cdf((1 - mean) / std) - _normal_cdf(-mean / std)
        if inside <= 0 or n * math.log(inside) < math.log(0.01):
            return "warning"
    return "note"


def _normal_cdf(z: float) -> float:
    return 0.5 * (1 + math.erf(z / math.sqrt(2)))


def _smoothed_labels(y: torch.Tensor) -> bool:
    """Whether the finite values ``y`` are smoothed 0/1 labels: only ``a`` and ``1 - a``
    for one ``a`` in (0, 0.25] (label smoothing of at most 0.5)."""
    if not y.numel():
        return False
    a = torch.minimum(y, 1 - y)
    return bool((a > 0).all() and (a <= 0.25).all() and a.max() - a.min() <= 2e-3)


# --- checks shared by every family ------------------------------------------------------


def _option_checks(call: _Call) -> list[Finding]:
    findings = []
    for key in ("weight", "pos_weight"):
        value = call.options.get(key)
        if value is not None and not isinstance(value, torch.Tensor):
            example = (f"torch.tensor([{value}])" if isinstance(value, (int, float))
                       else "a float tensor")
            findings.append(_error(
                "option-not-a-tensor", f"{key} is a {type(value).__name__}, not a "
                f"torch.Tensor: {call.name} takes it as a tensor and raises a TypeError.",
                f"{key}={example}"))
    reduction = call.options.get("reduction")
    if "reduction" in call.options and (not isinstance(reduction, str)
                                        or reduction not in REDUCTIONS):
        findings.append(_error(
            "reduction", f"reduction={reduction!r} is not a reduction: {call.name} raises "
            "a ValueError.", "reduction='mean' (the default), 'sum' or 'none'"))
    return findings


def _devices(call: _Call) -> list[Finding]:
    devices = {call.input.device, call.target.device}
    for key in ("weight", "pos_weight"):
        value = call.options.get(key)
        # A 0-dim CPU tensor mixes with tensors on any device in torch's arithmetic.
        if isinstance(value, torch.Tensor) and not (value.dim() == 0
                                                    and value.device.type == "cpu"):
            devices.add(value.device)
    if len(devices) <= 1:
        return []
    shown = ", ".join(sorted(str(d) for d in devices))
    return [_error("device-mismatch", f"the tensors of this call are on different devices "
                   f"({shown}); torch raises an error naming them.",
                   "move them to one device: target.to(input.device), and the loss's "
                   "weights with loss.to(input.device)")]


def _non_finite(arg: str, x: torch.Tensor, severity: str = "warning",
                why: str = "the loss and every gradient will be NaN or infinite.") -> list[Finding]:
    values = _values_of(x) if x.is_floating_point() else None
    if values is None or bool(torch.isfinite(values).all()):
        return []
    bad = int((~torch.isfinite(values)).sum())
    return [Finding(
        "non-finite", f"{arg} holds {bad} NaN or infinite value(s) of {x.numel()}; {why}",
        f"find where {arg} stops being finite (a log of 0, a division by 0, an exploding "
        "layer) and fix it there; torch.isfinite shows which entries", severity)]


def _non_finite_options(call: _Call) -> list[Finding]:
    findings = []
    for key in ("weight", "pos_weight"):
        value = call.options.get(key)
        if isinstance(value, torch.Tensor):
            findings += _non_finite(key, value)
    return findings


def _dtype_name(dtype: torch.dtype) -> str:
    return str(dtype).replace("torch.", "")


def _input_dtype(call: _Call, what: str) -> list[Finding]:
    """The input must be a float tensor."""
    x = call.input
    if x.is_floating_point():
        return []
    if x.is_complex():
        return [_error("input-dtype", f"input has dtype {x.dtype}: {call.name} has no "
                       "complex version, and torch raises NotImplementedError.",
                       "pass real values: input.real, or the model's real output")]
    hint = {
        "probabilities": (" 0/1 predictions from a threshold (probs > 0.5) are not "
                          "probabilities, and no gradient flows through a threshold."),
        "logits": (" Integer or bool logits usually mean that predicted classes (argmax) "
                   "or thresholded outputs were passed instead of the model's raw outputs."),
    }.get(what, "")
    return [_error("input-dtype", f"input has dtype {x.dtype}; {call.name} takes float "
                   f"{what} and raises on any other dtype.{hint}",
                   "pass the model's raw float output, before any threshold or argmax")]


# --- BCELoss and BCEWithLogitsLoss ------------------------------------------------------


def _binary_shape(input: torch.Tensor, target: torch.Tensor) -> list[Finding]:
    if input.shape == target.shape:
        return []
    shapes = f"input has shape {_shape(input)} and target {_shape(target)}"
    if (input.dim() == target.dim() + 1 and input.shape[-1] == 1
            and input.shape[:-1] == target.shape):
        if target.dim() == 0:
            return [_error("shape-mismatch", f"{shapes}: one output against a 0-dim label. "
                           "Torch refuses the pair.", "input.squeeze(-1) (or "
                           "target.unsqueeze(-1))")]
        n = target.shape[0]
        return [_error("shape-mismatch",
                       f"{shapes}: a model ending in Linear(..., 1) against 1-D labels. Torch "
                       "refuses the pair; a hand-written loss would broadcast it to "
                       f"({n}, {n}) and average all pairs.",
                       "input.squeeze(-1) (or target.unsqueeze(-1))")]
    if (target.dim() == input.dim() + 1 and target.shape[-1] == 1
            and target.shape[:-1] == input.shape):
        return [_error("shape-mismatch", f"{shapes}: the target has an extra trailing "
                       "dimension. Torch refuses the pair.", "target.squeeze(-1)")]
    return [_error("shape-mismatch", f"{shapes}; binary losses need equal shapes, and "
                   "torch refuses the pair.",
                   "give input and target the same shape, one entry per label")]


def _binary(call: _Call) -> list[Finding]:
    """BCELoss and BCEWithLogitsLoss (and the focal loss, which takes the same arguments)."""
    bce = call.family == "bce"
    name, x, y = call.name, call.input, call.target
    findings = _input_dtype(call, "probabilities" if bce else "logits")
    if y.is_complex():
        findings.append(Finding(
            "target-dtype", f"target has dtype {y.dtype}: binary labels are real numbers"
            + (", and BCELoss raises." if bce else "; torch computes a complex loss."),
            "target.real.float()", "error" if bce else "warning"))
    elif not y.is_floating_point():
        findings.append(_error(
            "integer-target", f"target has dtype {y.dtype}; {name} needs a float target "
            "(it may hold soft labels such as 0.9), and torch refuses it with a dtype error.",
            "target.float()"))
    elif bce and call.torch and x.is_floating_point() and x.dtype != y.dtype:
        findings.append(_error(
            "dtype-mismatch", f"input has dtype {x.dtype} and target {y.dtype}: {name} "
            f"needs both in the same dtype, and torch raises 'Found dtype "
            f"{_DTYPE_WORD.get(y.dtype, y.dtype)} but expected "
            f"{_DTYPE_WORD.get(x.dtype, x.dtype)}'.", "target.to(input.dtype)"))
    findings += _binary_shape(x, y)
    xv = _values_of(x) if x.is_floating_point() else None
    yv = _values_of(y) if not y.is_complex() else None
    if bce:
        findings += _bce_values(call, xv, yv)
    elif yv is not None:
        findings += _non_finite("target", y)
        findings += _target_range(call, _finite(yv), "warning")
        if xv is not None:
            findings += _non_finite("input", x)
    if xv is not None and yv is not None and x.shape == y.shape:
        findings += _binary_patterns(call, _finite(xv), _finite(yv))
    findings += _binary_weights(call)
    return findings


def _target_range(call: _Call, yf: torch.Tensor, severity: str) -> list[Finding]:
    if not yf.numel() or (yf.min() >= 0 and yf.max() <= 1):
        return []
    signed = bool(((yf == -1) | (yf == 1)).all())
    raises = (f" {call.name} raises 'all elements of target should be between 0 and 1'."
              if severity == "error" else "")
    return [Finding(
        "target-out-of-range", f"target holds values {_values(yf)} outside [0, 1]"
        + ("; {-1, 1} is the margin losses' convention." if signed else ".") + raises,
        "map labels to {0, 1}: (target + 1) / 2 for {-1, 1} labels" if signed
        else "targets of a binary cross entropy are probabilities of the positive class",
        severity)]


def _bce_values(call: _Call, xv, yv) -> list[Finding]:
    """BCELoss checks every element: input and target in [0, 1], NaN refused."""
    findings = []
    if xv is not None:
        findings += _non_finite("input", call.input, "error",
                                f"{call.name} raises 'all elements of input should be "
                                "between 0 and 1'.")
        xf = _finite(xv)
        if xf.numel() and (xf.min() < 0 or xf.max() > 1):
            findings.append(_error(
                "logits-as-probabilities", f"input holds values in {_range(xf)}, outside "
                f"[0, 1]: these look like logits, and {call.name} takes probabilities "
                "(torch raises 'all elements of input should be between 0 and 1').",
                "pass the raw outputs to BCEWithLogitsLoss (stable), not sigmoid + BCELoss"))
    if yv is not None:
        findings += _non_finite("target", call.target, "error",
                                f"{call.name} raises 'all elements of target should be "
                                "between 0 and 1'.")
        findings += _target_range(call, _finite(yv), "error")
    return findings


def _binary_patterns(call: _Call, xf: torch.Tensor, yf: torch.Tensor) -> list[Finding]:
    """The silent mistakes of the binary losses, read from the finite values."""
    bce, name = call.family == "bce", call.name
    if not xf.numel():
        return []
    target_binary = bool(yf.numel()) and _is_binary(yf)
    input_binary = _is_binary(xf)
    target_in_range = bool(yf.numel()) and bool(yf.min() >= 0) and bool(yf.max() <= 1)
    if input_binary and target_in_range and not target_binary and not _smoothed_labels(yf):
        return [_warning(
            "swapped-arguments", f"input holds only 0s and 1s and target holds fractions in "
            f"{_range(yf)}: the arguments look swapped. With probabilities, each element "
            "then costs 100 * |y - p| through torch's log clamp, and no error is raised.",
            f"{name}(predictions, labels): the prediction comes first")]
    if input_binary and target_binary and xf.numel() >= 2 and bool((xf == 0).any()) and bool(
            (xf == 1).any()):
        return [_warning(
            "thresholded-predictions", "input holds only 0s and 1s, like the target: "
            "thresholded predictions (probs > 0.5) passed where "
            + ("probabilities" if bce else "logits") + " belong. "
            + ("Each element then costs 0 or 100 (torch's log clamp)"
               if bce else "As logits, 0 and 1 mean probabilities 0.5 and 0.73")
            + ", and no gradient flows back through a threshold. No error is raised.",
            "pass the model's " + ("probabilities" if bce else "raw logits")
            + " before any threshold; threshold only to report accuracy")]
    findings = []
    if bce:
        findings += _saturated(call, xf)
        findings += _double_sigmoid(call, xf)
    elif not input_binary:
        findings += _probabilities_as_logits(call, xf)
    return findings


def _saturated(call: _Call, xf: torch.Tensor) -> list[Finding]:
    """Half-precision probabilities rounded to exactly 0 or 1."""
    dtype = call.input.dtype
    if dtype not in _LOW_PRECISION:
        return []
    exact = (xf == 0) | (xf == 1)
    if not exact.any() or exact.all():
        return []
    z = {torch.float16: "8.3 (12 ln 2)", torch.bfloat16: "6.2 (9 ln 2)"}[dtype]
    return [_warning(
        "saturated-probabilities", f"input has dtype {_dtype_name(dtype)} and "
        f"{int(exact.sum())} of its {xf.numel()} probabilities are exactly 0 or 1: in "
        f"{_dtype_name(dtype)} the sigmoid rounds to 1 from a logit of about {z}. "
        f"{call.name} then clamps the log at -100, so a wrong confident prediction costs "
        "100 and its gradient is garbage. No error is raised.",
        "pass the logits to BCEWithLogitsLoss, which never rounds the sigmoid (CUDA "
        "autocast refuses BCELoss for this reason), or compute the loss in float32")]


def _double_sigmoid(call: _Call, xf: torch.Tensor) -> list[Finding]:
    """BCELoss on sigmoid(sigmoid(z)): every probability in [0.5, 0.7311]."""
    tol = 0.01 if call.input.dtype in _LOW_PRECISION else 1e-6
    if xf.min() < 0.5 - tol or xf.max() > _SIGMOID_OF_1 + tol:
        return []
    p = xf.clamp(1e-12, 1 - 1e-12)
    u = (torch.log(p) - torch.log1p(-p)).clamp(0, 1)  # what went into the last sigmoid
    severity = _sigmoid_evidence(u)
    if severity is None:
        return []
    shown = f"every input value lies in {_range(xf)}, inside [0.5, 0.7311] = " \
            "[sigmoid(0), sigmoid(1)]"
    if severity == "warning":
        return [_warning(
            "double-sigmoid", f"{shown}: these look like a sigmoid applied twice, since "
            "sigmoid(sigmoid(z)) always lies there. No error is raised; no prediction can "
            "go below 0.5 or above 0.73: the loss stops at a floor above 0, the probabilities are "
            "wrong, and every gradient is scaled down by the extra sigmoid's slope (at most 1/4).",
            "apply the sigmoid once (the model already ends in one), or better, pass the "
            "logits to BCEWithLogitsLoss")]
    return [_note(
        "double-sigmoid", f"{shown}: this may be a sigmoid applied twice "
        "(sigmoid(sigmoid(z)) always lies there), or a model whose logits all happen to lie "
        "in [0, 1] on this batch. With a double sigmoid no prediction can go below 0.5 or "
        "above 0.73, and the loss stops at a floor above 0.",
        "if the model already ends in a sigmoid, do not apply another one (or pass the "
        "logits to BCEWithLogitsLoss); otherwise ignore this note")]


def _probabilities_as_logits(call: _Call, xf: torch.Tensor) -> list[Finding]:
    severity = _sigmoid_evidence(xf)
    if severity is None:
        return []
    shown = f"every input value lies in {_range(xf)}, inside [0, 1]"
    floor = ("the loss cannot go below its floor (softplus(-1) = 0.3133 for a positive, "
             "ln 2 = 0.6931 for a negative) and the probabilities it implies are wrong")
    if severity == "warning":
        return [_warning(
            "probabilities-as-logits", f"{shown}: these look like probabilities, but "
            f"{call.name} applies the sigmoid itself. No error is raised; {floor}.",
            "remove the sigmoid from the model's output and pass the logits")]
    return [_note(
        "probabilities-as-logits", f"{shown}: these may be probabilities (a sigmoid before "
        f"{call.name}, which applies it again), or logits that happen to lie there, as a "
        f"head initialised to a prior bias can give on a first batch. If they are "
        f"probabilities, {floor}, with no error.",
        "if the model ends in a sigmoid, remove it and pass the logits; otherwise ignore "
        "this note")]


def _binary_weights(call: _Call) -> list[Finding]:
    findings = []
    x = call.input
    weight, pos_weight = call.options.get("weight"), call.options.get("pos_weight")
    if isinstance(weight, torch.Tensor) and weight.shape != x.shape:
        if weight.is_complex():
            findings.append(_error("weight-dtype", f"weight has dtype {weight.dtype}: "
                                   f"{call.name} takes real weights and raises.",
                                   "weight.real.float()"))
        if _broadcast(weight.shape, x.shape) != x.shape:
            findings.append(_error(
                "weight-not-broadcastable", f"weight has shape {_shape(weight)}, which does "
                f"not broadcast to the input's {_shape(x)}: weight is per element, not "
                "per class, and torch raises a broadcast error.",
                "per-class weights for 0/1 labels: weight = torch.where(target == 1, w_pos, "
                "w_neg)"))
        elif x.dim() >= 2 and weight.dim() >= 1 and weight.shape[-1] == x.shape[-1] > 1:
            findings.append(Finding(
                "weight-per-column", f"weight of shape {_shape(weight)} against an input of "
                f"shape {_shape(x)} weights the {x.shape[-1]} columns (labels), not "
                "the classes 0 and 1. That is right for per-label weights of a multi-label "
                "model, and wrong if you meant class weights.",
                "for class weights: weight = torch.where(target == 1, w_pos, w_neg); for "
                "positives only: pos_weight", "warning" if x.shape[-1] == 2 else "note"))
    if isinstance(pos_weight, torch.Tensor) and call.family == "bce_logits":
        columns = x.shape[-1] if x.dim() >= 2 else 1
        if pos_weight.dtype == torch.bool or pos_weight.is_complex():
            findings.append(_error(
                "pos-weight-dtype", f"pos_weight has dtype {pos_weight.dtype}; {call.name} "
                "computes pos_weight - 1 and raises on it.", "pos_weight.float()"))
        if _broadcast(pos_weight.shape, x.shape) != x.shape:
            findings.append(_error(
                "pos-weight-shape", f"pos_weight of shape {_shape(pos_weight)} does not "
                f"broadcast to the input's shape {_shape(x)}, which has {columns} "
                "column(s): pos_weight holds one weight per column (label), broadcast "
                "along the last dimension, and torch raises a size error.",
                f"pos_weight of shape ({columns},), e.g. n_neg / n_pos for each column"))
        elif not (pos_weight.numel() == 1
                  or (x.dim() >= 2 and pos_weight.numel() == columns
                      and pos_weight.shape[-1] == columns)
                  or (x.dim() >= 2 and pos_weight.shape == x.shape)):
            findings.append(_note(
                "pos-weight-shape", f"pos_weight of shape {_shape(pos_weight)} against an "
                f"input of shape {_shape(x)}: torch accepts it and weights the positive term "
                "of each element it lines up with, but pos_weight is meant as one weight per "
                f"column (label), {columns} here.",
                f"pos_weight of shape ({columns},), e.g. n_neg / n_pos for each column; for "
                "per-example weights, use weight"))
    return findings


# --- CrossEntropyLoss and NLLLoss -------------------------------------------------------


def _cross_entropy(call: _Call) -> list[Finding]:
    """CrossEntropyLoss and NLLLoss: ``(N, C)`` (or ``(C,)``, ``(N, C, d1, ...)``) scores
    and class indices of the input's shape without its class dimension, or, for
    CrossEntropyLoss, float probabilities of the input's shape."""
    name, x, t, options = call.name, call.input, call.target, call.options
    ce = call.family == "ce"
    probabilities = ce and t.shape == x.shape  # torch's own dispatch
    # torch never looks at the dtype of an empty input with a probability target
    findings = [] if probabilities and x.numel() == 0 else _input_dtype(
        call, "logits" if ce else "log-probabilities")
    if x.dim() == 0:
        return findings + [_error(
            "input-shape", f"input has shape (); {name} needs (N, C) scores, one column per "
            "class (or (C,) for a single example), and torch raises.",
            "for a binary model with one logit, use BCEWithLogitsLoss")]
    class_dim = 1 if x.dim() >= 2 else 0
    classes = x.shape[class_dim]
    index_shape = x.shape[:class_dim] + x.shape[class_dim + 1:]
    ignore_index = options.get("ignore_index", -100)
    if not isinstance(ignore_index, int):
        findings.append(_error(
            "ignore-index", f"ignore_index={ignore_index!r} is not an int: {name} takes the "
            "class index to ignore, and raises a TypeError.", "ignore_index=-100 (the "
            "default, which ignores nothing in practice), or the integer label to skip"))
        ignore_index = -100
    smoothing = options.get("label_smoothing", 0.0) if ce else 0.0
    if ce:
        findings += _label_smoothing(call, smoothing)
    if probabilities:
        findings += _probability_target(call, ignore_index)
    else:
        findings += _index_target(call, index_shape, classes, ignore_index, smoothing)
    findings += _class_weight(call, classes, probabilities, smoothing)
    xv = _values_of(x) if x.is_floating_point() else None
    if xv is None or classes == 0:
        return findings
    rows = xv.movedim(class_dim, -1).reshape(-1, classes)
    targets = None  # the class index of each row, when the target gives valid ones
    t_rows = None  # the target probabilities of each row
    t_values = _values_of(t)
    if t_values is None:
        pass
    elif probabilities and t.is_floating_point():
        t_rows = t_values.movedim(class_dim, -1).reshape(-1, classes)
    elif (not probabilities and not t.is_floating_point()
          and t.numel() == rows.shape[0] and _index_shape_ok(x, t, index_shape)):
        indices = t_values.long().reshape(-1)
        keep = indices != ignore_index
        rows, indices = rows[keep], indices[keep]
        if not indices.numel() or (indices.min() >= 0 and indices.max() < classes):
            targets = indices
    findings += _ce_non_finite(call, rows, targets, t_rows, smoothing)
    if classes == 1:
        findings.append(_warning(
            "single-column", f"input has shape {_shape(x)}: one class. The softmax of a "
            "single score is 1, so the loss is 0 whatever the model does, and nothing is "
            "learnt.", "a binary model: one logit with BCEWithLogitsLoss, or Linear(..., 2) "
            "with CrossEntropyLoss"))
    finite_rows = rows[torch.isfinite(rows).all(dim=1)]
    if classes > 1 and finite_rows.numel():
        findings += (_ce_patterns if ce else _nll_patterns)(call, finite_rows)
    if t_rows is not None:
        findings += _probability_values(call, t_rows)
    elif probabilities and t_values is not None:
        # An integer or bool target of the input's shape: one-hot or multi-label rows?
        findings += _multi_label(call, t_values.movedim(class_dim, -1).reshape(-1, classes))
    return findings


def _index_shape_ok(x, t, index_shape) -> bool:
    if x.dim() == 1:
        return t.shape in (torch.Size([]), torch.Size([1]))
    return t.shape == index_shape


def _label_smoothing(call: _Call, smoothing) -> list[Finding]:
    if isinstance(smoothing, bool) or not isinstance(smoothing, (int, float)):
        return [_error("label-smoothing", f"label_smoothing={smoothing!r} is not a number; "
                       f"{call.name} raises.", "label_smoothing=0.1, say (in [0, 1])")]
    if smoothing > 1:
        return [_error("label-smoothing", f"label_smoothing={smoothing!r} is above 1: torch "
                       "raises 'label_smoothing must be between 0.0 and 1.0'.",
                       "label_smoothing in [0, 1]; 0.1 is the usual value")]
    if smoothing < 0 or smoothing != smoothing:
        if not call.torch:
            return [_error("label-smoothing", f"label_smoothing={smoothing!r} is not in "
                           f"[0, 1]; {call.name} raises.", "label_smoothing in [0, 1]")]
        return [_warning("label-smoothing", f"label_smoothing={smoothing!r} is not in "
                         "[0, 1]: torch silently ignores it and computes the loss without "
                         "smoothing.", "label_smoothing in [0, 1]; 0.1 is the usual value")]
    return []


def _probability_target(call: _Call, ignore_index) -> list[Finding]:
    t, findings = call.target, []
    if not t.is_floating_point():
        findings.append(_error(
            "probability-target-dtype", f"target has the input's shape {_shape(t)}, so "
            f"{call.name} reads it as class probabilities, which must be float; it has "
            f"dtype {t.dtype}, and torch raises 'Expected floating point type for target "
            "with class probabilities'.",
            "for one class per example: class indices, target.argmax(dim=1); for "
            "probabilities: target.float()"))
    if isinstance(ignore_index, int) and not isinstance(ignore_index, bool) and ignore_index >= 0:
        findings.append(_error(
            "ignore-index-with-probabilities", f"ignore_index={ignore_index} with a target "
            "of class probabilities: torch raises 'ignore_index is not supported for "
            "floating point target'.", "drop ignore_index, or give the ignored examples "
            "zero weight through class indices"))
    return findings


def _index_target(call: _Call, index_shape, classes, ignore_index,
                  smoothing) -> list[Finding]:
    x, t, name, findings = call.input, call.target, call.name, []
    shape_ok = _index_shape_ok(x, t, index_shape)
    expected = "() (or (1,))" if x.dim() == 1 else str(tuple(index_shape))
    if t.is_floating_point() or t.is_complex():
        if shape_ok:
            findings.append(_error(
                "float-class-indices", f"target has dtype {t.dtype} and shape {_shape(t)}: "
                "class indices must be integers (int64 or uint8), and torch raises "
                "'expected target dtype to be Long or Byte'.", "target.long()"))
        elif call.family == "nll":
            findings.append(_error(
                "target-shape", f"target has dtype {t.dtype} and shape {_shape(t)}; with "
                f"input {_shape(x)}, NLLLoss takes class indices of shape {expected} only, "
                "never probabilities.", "class indices (int64) of shape "
                f"{expected}; for probability targets, CrossEntropyLoss on the logits"))
        else:
            findings.append(_error(
                "target-shape", f"target has shape {_shape(t)}; with input {_shape(x)} it "
                f"must be {expected} (class indices) or the input's shape (probabilities), "
                "and torch raises.", f"class indices of shape {expected}"))
        return findings
    if t.dtype not in INDEX_DTYPES:
        findings.append(_error(
            "int32-target" if t.dtype == torch.int32 else "target-dtype",
            f"target has dtype {t.dtype}; class indices must be int64 (or uint8), and torch "
            f"raises 'expected target dtype to be Long or Byte'.", "target.long()"))
    elif t.dtype == torch.uint8 and x.dim() >= 3 and x.numel() and call.torch:
        findings.append(_error(
            "target-dtype", f"target has dtype {t.dtype}: with scores of shape {_shape(x)} "
            f"(more than 2 dimensions), {name} takes int64 class indices only, and torch "
            "raises 'expected scalar type Long but found Byte'.", "target.long()"))
    if not shape_ok:
        findings.append(_error(
            "target-shape", f"class-index target has shape {_shape(t)}; with input "
            f"{_shape(x)} it must be {expected}, and torch raises.",
            "target.squeeze(-1) if it has a trailing 1, or argmax(dim=1) of one-hot rows"))
    smoothed = isinstance(smoothing, (int, float)) and 0 < smoothing <= 1
    if smoothed and call.torch and x.dim() == 1 and t.shape == (1,):
        findings.append(_error(
            "target-shape", f"class-index target has shape (1,) for a single example of shape "
            f"{_shape(x)}: with label_smoothing, torch raises 'output with shape [] doesn't "
            "match the broadcast shape [1]' (without smoothing it accepts it).",
            "a 0-dim target: target.squeeze(0), or a batch: input[None] and target"))
    values = _values_of(t)
    if values is None:
        return findings
    indices = values.long() if t.dtype != torch.bool else t.long()
    valid = indices[indices != ignore_index] if isinstance(ignore_index, int) else indices
    if (smoothed and call.torch and t.dtype == torch.uint8 and valid.numel()
            and isinstance(call.options.get("weight"), torch.Tensor)):
        findings.append(_error(
            "target-dtype", "target has dtype torch.uint8: with both label_smoothing and a "
            f"class weight, {name} needs int64 class indices, and torch raises 'gather(): "
            "Expected dtype int32/int64 for index'.", "target.long()"))
    if valid.numel() and (valid.min() < 0 or valid.max() >= classes):
        findings.append(_error(
            "class-index-out-of-range", f"target holds class indices {_values(valid)}, but "
            f"the input has {classes} column(s): valid indices are 0 to {classes - 1} (and "
            f"ignore_index={ignore_index}), and torch raises 'Target ... is out of bounds'.",
            "check the label encoding (1-based labels? {-1, 1} labels?) and the number of "
            "output columns"))
    return findings


def _class_weight(call: _Call, classes: int, probabilities: bool,
                  smoothing) -> list[Finding]:
    weight, x = call.options.get("weight"), call.input
    if not isinstance(weight, torch.Tensor):
        return []
    # torch flattens the weight of a class-index loss over (N, C, d1, ...) scores unless it
    # smooths the labels; everywhere else it must have shape (C,).
    smoothed = isinstance(smoothing, (int, float)) and smoothing > 0
    flattened = call.torch and not probabilities and x.dim() >= 3 and not smoothed
    if (weight.numel() != classes) if flattened else (weight.shape != (classes,)):
        return [_error(
            "weight-length", f"weight has shape {_shape(weight)}, but the input has "
            f"{classes} classes: {call.name} takes one weight per class, and torch raises.",
            f"weight of shape ({classes},)")]
    if (call.torch and not probabilities and x.is_floating_point()
            and weight.dtype != x.dtype):
        return [_error(
            "weight-dtype", f"weight has dtype {weight.dtype} and the input {x.dtype}: with "
            f"class indices, {call.name} needs them in the same dtype, and torch raises "
            f"'expected scalar type ... but found ...'.",
            "build the loss with weight=w.to(logits.dtype) (a float64 weight from numpy is "
            "the usual culprit)")]
    return []


def _ce_non_finite(call: _Call, rows, targets, t_rows, smoothing) -> list[Finding]:
    """NaN and +inf scores always spoil the loss; -inf is legal off the target class (a
    masked logit, or log 0 for NLLLoss), and gives an infinite loss on it."""
    findings = []
    nan_or_inf = torch.isnan(rows) | torch.isposinf(rows)
    if nan_or_inf.any():
        findings.append(_warning(
            "non-finite", f"input holds {int(nan_or_inf.sum())} NaN or +inf value(s) in the "
            "rows that count; the loss and every gradient will be NaN.",
            "find where the input stops being finite (a log of 0, a division by 0, an "
            "exploding layer) and fix it there; torch.isfinite shows which entries"))
    minus_inf = torch.isneginf(rows) & ~nan_or_inf.any(dim=1, keepdim=True)
    if minus_inf.any():
        if targets is not None:
            on_target = minus_inf.gather(1, targets[:, None]).squeeze(1)
            if on_target.any():
                findings.append(_warning(
                    "non-finite", f"input holds -inf on the target class in "
                    f"{int(on_target.sum())} row(s): the loss is infinite and its gradient "
                    "NaN. (-inf off the target class is legal: a masked logit.)",
                    "never mask the target class; check the mask against the labels"))
            elif call.family == "ce" and isinstance(smoothing, (int, float)) and smoothing > 0:
                findings.append(_warning(
                    "non-finite", f"input holds -inf in {int(minus_inf.any(dim=1).sum())} "
                    "row(s), with label_smoothing: smoothing puts weight on every class, so "
                    "a -inf logit makes the loss infinite.",
                    "mask with a large negative number (-1e4) instead of -inf, or drop "
                    "label_smoothing"))
        elif t_rows is not None:
            findings.append(_warning(
                "non-finite", f"input holds -inf in {int(minus_inf.any(dim=1).sum())} row(s) "
                "against probability targets: torch computes target * log_softmax, and "
                "0 * -inf is NaN, (p > 0) * -inf is infinite.",
                "mask with a large negative number (-1e4) instead of -inf"))
    if t_rows is not None:
        findings += _non_finite("target", call.target)
    return findings


def _rows_are_probabilities(rows: torch.Tensor, dtype: torch.dtype) -> bool:
    tolerance = _tolerance(dtype, rows.shape[1])
    return bool((rows >= 0).all() and (rows <= 1).all()
                and ((rows.sum(dim=1) - 1).abs() <= tolerance).all())


def _ce_patterns(call: _Call, rows: torch.Tensor) -> list[Finding]:
    name = call.name
    if _rows_are_probabilities(rows, call.input.dtype):
        if rows.shape[0] == 1:  # one row of logits can sum to 1 by chance
            return [_note(
                "softmax-before-cross-entropy", "the input's only row is non-negative and "
                f"sums to 1: it may be probabilities (then {name}, which applies log-softmax "
                "itself, squeezes the loss into a narrow range), or logits that happen to.",
                "if the model ends in a softmax, remove it and pass the raw logits; "
                "otherwise ignore this note")]
        return [_warning(
            "softmax-before-cross-entropy", "every row of input is non-negative and sums to "
            f"1: these are probabilities, but {name} applies log-softmax itself. No error; "
            "the loss is squeezed into a narrow range and learning slows.",
            "pass the raw logits (remove the softmax)")]
    severity = _sigmoid_evidence(rows.flatten())
    if severity is None:
        return []
    shown = (f"every input value lies in {_range(rows)}, inside [0, 1], and the rows do not "
             "sum to 1")
    if severity == "warning":
        return [_warning(
            "sigmoid-before-cross-entropy", f"{shown}: these look like sigmoid outputs, but "
            f"{name} applies log-softmax to logits. No error; scores confined to [0, 1] "
            "cannot make any class more than e times as likely as another, so the loss "
            "cannot approach 0.",
            "pass the raw logits (remove the sigmoid); for independent labels, use "
            "BCEWithLogitsLoss instead")]
    return [_note(
        "sigmoid-before-cross-entropy", f"{shown}: these may be sigmoid outputs (then the "
        "loss cannot approach 0), or logits that happen to lie there on this batch.",
        "if the model ends in a sigmoid, remove it and pass the logits; otherwise ignore "
        "this note")]


def _nll_patterns(call: _Call, rows: torch.Tensor) -> list[Finding]:
    dtype = call.input.dtype
    if _rows_are_probabilities(rows, dtype):
        return [_warning(
            "softmax-before-nll", "every row of input sums to 1: these are probabilities, "
            "but NLLLoss takes log-probabilities and returns -mean(p[target]), a negative "
            "number. CrossEntropyLoss is LogSoftmax + NLLLoss, not Softmax + NLLLoss.",
            "NLLLoss()(torch.log_softmax(logits, dim=1), target), or CrossEntropyLoss on "
            "the logits")]
    lse = torch.logsumexp(rows, dim=1)
    if (lse.abs() > _tolerance(dtype, rows.shape[1])).any():
        return [_warning(
            "logits-to-nll", "rows of input are not log-probabilities (their logsumexp is "
            f"in {_range(lse)}, not 0): NLLLoss only picks -input[target], so raw logits "
            "give a meaningless number.", "CrossEntropyLoss on the logits")]
    return []


def _multi_label(call: _Call, t_rows: torch.Tensor) -> list[Finding]:
    finite = t_rows[torch.isfinite(t_rows).all(dim=1)]
    if t_rows.shape[-1] < 2 or not finite.numel() or not _is_binary(finite):
        return []
    ones = finite.sum(dim=1)
    if bool((ones == 1).all()):
        return []
    several, none = int((ones > 1).sum()), int((ones == 0).sum())
    return [_warning(
        "multi-label-target", f"target rows hold 0s and 1s, with several 1s in {several} "
        f"row(s) and none in {none}: a multi-label target (any number of labels per "
        f"example), given to {call.name}, which is for exactly one class per example. It "
        "reads the rows as unnormalised class probabilities; no error is raised.",
        "for multi-label: BCEWithLogitsLoss on the same (N, C) logits and 0/1 float target; "
        "for one class per example: class indices, target.argmax(dim=1)")]


def _probability_values(call: _Call, t_rows: torch.Tensor) -> list[Finding]:
    multi = _multi_label(call, t_rows)
    if multi:
        return multi
    finite = t_rows[torch.isfinite(t_rows).all(dim=1)]
    if not finite.numel():
        return []
    sums = finite.sum(dim=1)
    tolerance = _tolerance(call.target.dtype, finite.shape[1])
    if (finite < 0).any() or ((sums - 1).abs() > tolerance).any():
        return [_warning(
            "probabilities-not-normalized", "target has the input's shape, so it is read "
            f"as class probabilities, but its rows sum to {_range(sums)}, not 1"
            + (" and it holds negative values." if (finite < 0).any() else "."),
            "normalise: target / target.sum(dim=1, keepdim=True), or pass class indices")]
    return []


# --- margin losses ----------------------------------------------------------------------


def _signed(target: torch.Tensor) -> tuple[bool, bool]:
    t = _finite(target)
    return bool(((t == -1) | (t == 1)).all()), bool(((t == 0) | (t == 1)).all())


def _margin_shape(call: _Call) -> list[Finding]:
    """Margin losses broadcast input and target: a broadcast that changes the shape is an
    error (SoftMarginLoss), or a silent (N, N) loss (HingeEmbeddingLoss); lossbook's refuse
    any difference."""
    x, t = call.input, call.target
    if x.shape == t.shape:
        return []
    shapes = f"input has shape {_shape(x)} and target {_shape(t)}"
    fix = "give input and target the same shape: input.squeeze(-1) or target.squeeze(-1)"
    broadcast = _broadcast(x.shape, t.shape)
    silent = call.torch and broadcast is not None and (
        call.family == "hinge_embedding" or broadcast == x.shape)
    if silent:
        return [_warning("shape-mismatch", f"{shapes}: torch broadcasts them to "
                         f"{tuple(broadcast)} without an error, pairing every input with "
                         "every label.", fix)]
    return [_error("shape-mismatch", f"{shapes}, and {call.name} refuses the pair.", fix)]


def _margin_dtypes(call: _Call) -> list[Finding]:
    x = call.input
    if x.is_floating_point() or (x.is_complex() and call.family == "soft_margin"):
        return []
    return [_error("input-dtype", f"input has dtype {x.dtype}; {call.name} takes float "
                   "scores and raises on any other dtype.",
                   "pass the model's raw float output")]


def _margin_checks(call: _Call) -> tuple[list[Finding], torch.Tensor | None]:
    """What every margin loss checks (dtypes, shapes, a finite input), and the finite
    target values to check its label convention on (``None`` when there are none)."""
    findings = _margin_dtypes(call) + _margin_shape(call) + _non_finite("input", call.input)
    values = _values_of(call.target)
    t = None if values is None else _finite(values)
    return findings, (t if t is not None and t.numel() else None)


def _hinge_embedding(call: _Call) -> list[Finding]:
    findings, t = _margin_checks(call)
    if t is not None:
        signed, zero_one = _signed(t)
        if zero_one and not signed:
            findings.append(_warning(
                "hinge-embedding-01-targets", "target holds {0, 1}; HingeEmbeddingLoss "
                "expects {-1, 1}, and a 0 matches neither case: it is charged both x and "
                "max(0, margin - x).",
                "map labels with 2 * target - 1, once (and see hinge-embedding-on-scores)"))
        elif not signed:
            findings.append(_warning(
                "hinge-embedding-target-values", f"target holds {_values(t)}; "
                "HingeEmbeddingLoss takes only -1 and 1 (a target mapped twice with "
                "2 * target - 1 gives {-3, 1}). No error is raised.",
                "labels in {-1, 1}, mapped exactly once"))
    x = _values_of(call.input)
    x = None if x is None else _finite(x)
    if x is not None and x.numel() and x.min() < 0:
        findings.append(_warning(
            "hinge-embedding-on-scores", f"input holds negative values (in {_range(x)}): "
            "HingeEmbeddingLoss is for non-negative distances between pairs. On classifier "
            "scores it charges every positive its score x, so a confident correct positive "
            "is penalised forever.",
            "for a binary classifier: lossbook's binary_hinge_loss (clamp(1 - t * z, min=0)) "
            "or BCEWithLogitsLoss"))
    return findings


def _signed_targets(call: _Call) -> list[Finding]:
    findings, t = _margin_checks(call)
    if t is not None:
        signed, zero_one = _signed(t)
        if not signed:
            findings.append(_warning(
                "margin-target-values", f"target holds {_values(t)}; {call.name} takes "
                "labels in {-1, 1}" + (" and a 0 label counts as neither class."
                                       if zero_one else "."),
                "2 * target - 1 for {0, 1} labels"))
    return findings


def _binary_hinge(call: _Call) -> list[Finding]:
    findings, t = _margin_checks(call)
    if t is not None:
        signed, zero_one = _signed(t)
        if not (signed or zero_one):
            findings.append(_warning(
                "margin-target-values", f"target holds {_values(t)}; {call.name} takes "
                "labels in {0, 1} or {-1, 1}, one convention at a time.",
                "labels in {0, 1} or in {-1, 1}"))
    return findings


CHECKS = {
    "bce": _binary, "bce_logits": _binary, "ce": _cross_entropy, "nll": _cross_entropy,
    "hinge_embedding": _hinge_embedding, "soft_margin": _signed_targets,
    "binary_hinge": _binary_hinge,
}
