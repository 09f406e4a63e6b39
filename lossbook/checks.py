"""Input validation shared by every lossbook loss.

Each check raises a ``TypeError`` (wrong kind of object or dtype) or a ``ValueError`` (wrong
shape or values) whose message names the argument, says what was expected and what was
given, and, for the classic mistakes, what to write instead. The checks never modify their
input; they return nothing, except those of scalar options (:func:`check_number`,
:func:`check_integer`, :func:`check_dim`), which return the option as a Python number.
"""

from __future__ import annotations

import numbers
import operator

import torch

REDUCTIONS = ("none", "mean", "sum")


def _shape(x: torch.Tensor) -> str:
    return str(tuple(x.shape))


def check_tensor(name: str, x, *, floating: bool = True, convert: str | None = None) -> None:
    """Check that ``x`` is a tensor with values (not on the ``meta`` device), and of a
    floating dtype when ``floating``.

    Raises ``TypeError``: losses take float tensors for both input and target, so an integer
    or bool target (``torch.tensor([0, 1])``) is the usual offender. ``convert`` is the
    conversion the message suggests (default ``{name}.float()``). A ``meta`` tensor holds a
    shape but no values, and the checks are about values, so it is refused.
    """
    if not isinstance(x, torch.Tensor):
        raise TypeError(f"{name} must be a torch.Tensor, got {type(x).__name__}")
    if x.device.type == "meta":
        raise TypeError(
            f"{name} must be a tensor with values, got one on the meta device (a shape, no "
            "values): lossbook checks the values of its arguments; create it on a real device "
            "(cpu, cuda), or use torch.nn.functional for shape-only runs"
        )
    if floating and not x.is_floating_point():
        raise TypeError(
            f"{name} must have a floating-point dtype (float32 or float64), got {x.dtype}; "
            f"convert it with {convert or name + '.float()'}"
        )


def check_same_dtype(input: torch.Tensor, target: torch.Tensor,
                     names: tuple[str, str] = ("input", "target")) -> None:
    """Check that ``target`` has the dtype of ``input`` (``TypeError``), as torch's
    ``binary_cross_entropy`` requires (it raises "Found dtype Double but expected Float")."""
    if input.dtype != target.dtype:
        first, second = names
        raise TypeError(
            f"{second} must have the dtype of {first}, {input.dtype}, got {target.dtype}; "
            f"convert it with {second}.to({first}.dtype)"
        )


def check_reduction(reduction) -> None:
    """Check that ``reduction`` is one of ``'none'``, ``'mean'``, ``'sum'`` (``ValueError``)."""
    if reduction not in REDUCTIONS:
        raise ValueError(f"reduction must be one of {REDUCTIONS}, got {reduction!r}")


def check_same_shape(input: torch.Tensor, target: torch.Tensor,
                     names: tuple[str, str] = ("input", "target")) -> None:
    """Check that ``input`` and ``target`` have the same shape (``ValueError``).

    The common case is a model output of shape ``(N, 1)`` against a target of shape
    ``(N,)``: broadcasting them would silently build an ``(N, N)`` loss, so it is refused
    and the message says which side to squeeze. ``names`` are the arguments' names in the
    caller's signature (``("scores", "target")`` for a margin loss, say).
    """
    if input.shape == target.shape:
        return
    first, second = names
    hint = ""
    if input.dim() == target.dim() + 1 and input.shape[-1] == 1 and input.shape[:-1] == target.shape:
        hint = f"; drop the trailing dimension of {first} with {first}.squeeze(-1)"
    elif target.dim() == input.dim() + 1 and target.shape[-1] == 1 and target.shape[:-1] == input.shape:
        hint = f"; drop the trailing dimension of {second} with {second}.squeeze(-1)"
    raise ValueError(
        f"{second} must have the same shape as {first} {_shape(input)}, got {_shape(target)}{hint}"
    )


def check_finite(name: str, x: torch.Tensor) -> None:
    """Check that ``x`` holds no NaN or infinity (``ValueError``, with the count of bad values)."""
    bad = ~torch.isfinite(x)
    if bad.any():
        raise ValueError(
            f"{name} must be finite, got {int(bad.sum())} NaN or infinite value(s) "
            f"out of {x.numel()}"
        )


def check_probabilities(name: str, x: torch.Tensor) -> None:
    """Check that every value of ``x`` lies in [0, 1] (``ValueError``).

    Values outside that range are almost always logits passed where probabilities are
    expected; the message points to the with-logits loss.
    """
    outside = (x < 0) | (x > 1)
    if outside.any():
        lo, hi = x.min().item(), x.max().item()
        raise ValueError(
            f"{name} must hold probabilities in [0, 1], got values in [{lo:.4g}, {hi:.4g}] "
            f"({int(outside.sum())} of {x.numel()} outside); if these are logits, use "
            "binary_cross_entropy_with_logits, or apply torch.sigmoid first"
        )


WEIGHT_HINT = (
    "it weights each element, so for per-class weights of a binary target build "
    "torch.where(target == 1, w_pos, w_neg)"
)
POS_WEIGHT_HINT = "it holds one weight per column: shape (C,) for an (N, C) input"


def check_broadcastable(name: str, x: torch.Tensor, shape: torch.Size, hint: str) -> None:
    """Check that ``x`` broadcasts to ``shape`` without changing it (``ValueError``).

    ``weight`` multiplies the loss element by element, so it must expand to the input's
    shape: it is not a per-class vector. ``hint`` ends the message with what the argument
    means (:data:`WEIGHT_HINT`, :data:`POS_WEIGHT_HINT`).
    """
    try:
        result = torch.broadcast_shapes(x.shape, shape)
    except RuntimeError:
        result = None
    if result != shape:
        raise ValueError(
            f"{name} must broadcast to the input's shape {tuple(shape)}, got shape "
            f"{_shape(x)}; {hint}"
        )


def check_binary_loss_args(
    input: torch.Tensor,
    target: torch.Tensor,
    weight: torch.Tensor | None,
    reduction: str,
) -> None:
    """The checks every binary loss runs: tensors of a float dtype, equal shapes, finite
    values, a ``weight`` that broadcasts to the input, a known ``reduction``."""
    check_tensor("input", input)
    convert = "target.float()" if input.dtype == torch.float32 else "target.to(input.dtype)"
    check_tensor("target", target, convert=convert)
    check_same_shape(input, target)
    check_finite("input", input)
    check_finite("target", target)
    if weight is not None:
        check_tensor("weight", weight)
        check_broadcastable("weight", weight, input.shape, WEIGHT_HINT)
    check_reduction(reduction)


def _some_values(x: torch.Tensor, limit: int = 6) -> str:
    """The distinct values of ``x``, as a short list (the first ``limit`` and a count)."""
    values = torch.unique(x.detach()).tolist()
    shown = ", ".join(f"{v:g}" if isinstance(v, float) else str(v) for v in values[:limit])
    more = f", ... ({len(values)} distinct)" if len(values) > limit else ""
    return f"[{shown}{more}]"


def _real(value) -> float | None:
    """``value`` as a Python float if it is a real number: a Python or numpy scalar, or a
    0-dim real tensor (what torch accepts for its float options); ``None`` otherwise. A bool
    is not taken for a number."""
    if isinstance(value, torch.Tensor):
        ok = value.dim() == 0 and value.dtype != torch.bool and not value.is_complex()
        return float(value) if ok and value.device.type != "meta" else None
    if isinstance(value, numbers.Real) and not isinstance(value, bool):
        try:
            return float(value)
        except OverflowError:
            return None
    return None


def check_number(name: str, value, low: float | None = None, high: float | None = None, *,
                 low_open: bool = False, hint: str = "") -> float:
    """Check that ``value`` is a finite real number in ``[low, high]`` (``(low, high]`` with
    ``low_open``) and return it as a Python float (``ValueError`` otherwise); used for options
    such as ``margin`` and ``label_smoothing``.

    As in torch, a Python or numpy scalar and a 0-dim tensor are numbers; a bool is not.
    ``hint`` follows the bounds in the message (what the option means).
    """
    number = _real(value)
    ok = number is not None and abs(number) != float("inf") and number == number
    ok = ok and (low is None or number > low or (number == low and not low_open))
    ok = ok and (high is None or number <= high)
    if not ok:
        opening = "(" if low_open else "["
        bounds = {(False, False): "", (True, False): f" {'>' if low_open else '>='} {low}",
                  (False, True): f" <= {high}",
                  (True, True): f" in {opening}{low}, {high}]"}[(low is not None, high is not None)]
        raise ValueError(f"{name} must be a finite number{bounds}{hint}, got {value!r}")
    return number


def check_integer(name: str, value) -> int:
    """Check that ``value`` is an integer (a Python or numpy int, or an integer tensor of one
    element, as torch accepts for ``ignore_index``; not a bool or a float) and return it as
    a Python int (``TypeError`` otherwise)."""
    if not isinstance(value, bool) and getattr(value, "dtype", None) != torch.bool:
        try:
            return operator.index(value)
        except TypeError:
            pass
    raise TypeError(f"{name} must be an int, got {value!r} ({type(value).__name__})")


def check_dim(name: str, dim, x: torch.Tensor) -> int:
    """Check that ``dim`` is a dimension of ``x``, in ``[-n, n - 1]`` for ``n = x.dim()`` (a
    0-dim tensor counts as one dimension, as in torch); return it as a Python int
    (``TypeError``/``ValueError``)."""
    dim = check_integer(name, dim)
    n = max(x.dim(), 1)
    if not -n <= dim < n:
        raise ValueError(
            f"{name} must be a dimension of the input of shape {_shape(x)}, in [{-n}, {n - 1}], "
            f"got {dim}"
        )
    return dim


def check_binary_labels(name: str, x: torch.Tensor) -> None:
    """Check that ``x`` holds binary labels in one convention, {0, 1} or {-1, 1}
    (``ValueError``), as margin losses take them.

    A tensor of any real dtype is accepted. A mix of the conventions (0, -1 and 1 together)
    is refused, and so is any other value; targets of -3 get a hint, since they come from
    applying ``2 * target - 1`` to labels that were already in {-1, 1}.
    """
    check_tensor(name, x, floating=False)
    if x.is_complex():
        raise TypeError(f"{name} must have a real dtype, got {x.dtype}")
    values = set(torch.unique(x.detach()).tolist())
    if values <= {0, 1} or values <= {-1, 1}:
        return
    if values <= {-1, 0, 1}:
        raise ValueError(
            f"{name} must use one label convention, {{0, 1}} or {{-1, 1}}, got a mix of both: "
            f"values {_some_values(x)}"
        )
    hint = ""
    if values <= {-3, 1}:
        hint = ("; -3 comes from applying 2 * target - 1 to labels already in {-1, 1}: "
                "pass the labels as they are")
    raise ValueError(
        f"{name} must hold binary labels in {{0, 1}} or in {{-1, 1}}, got values "
        f"{_some_values(x)}{hint}"
    )


def check_log_probabilities(name: str, x: torch.Tensor) -> None:
    """Check that ``x`` holds log-probabilities, values <= 0 (``-inf`` allowed, NaN and
    ``+inf`` not) (``ValueError``).

    Positive values are almost always probabilities from ``softmax`` or raw logits passed
    where ``log_softmax`` output is expected; the message says which function to use. A NaN
    or ``+inf`` is reported as such: it comes from a computation gone wrong upstream.
    """
    nonfinite = torch.isnan(x) | (x == float("inf"))
    if nonfinite.any():
        raise ValueError(
            f"{name} must hold log-probabilities (values <= 0; -inf is allowed), got "
            f"{int(nonfinite.sum())} non-finite value(s), NaN or +inf, out of {x.numel()}"
        )
    bad = x > 0
    if bad.any():
        finite = x[torch.isfinite(x)]
        raise ValueError(
            f"{name} must hold log-probabilities (values <= 0), got values in "
            f"[{finite.min().item():.4g}, {finite.max().item():.4g}] ({int(bad.sum())} of "
            f"{x.numel()} above 0 or NaN); apply log_softmax, not softmax, or pass logits to "
            "cross_entropy"
        )


CLASS_INDEX_DTYPES = (torch.int64, torch.uint8)


def check_class_weight(name: str, weight: torch.Tensor, n_classes: int) -> None:
    """Check that ``weight`` is a float tensor of shape ``(C,)``, one weight per class
    (``TypeError``/``ValueError``)."""
    check_tensor(name, weight)
    if weight.shape != (n_classes,):
        raise ValueError(
            f"{name} must have shape ({n_classes},), one weight per class, got shape "
            f"{_shape(weight)}"
        )
    check_finite(name, weight)


def check_class_input(name: str, input: torch.Tensor, min_classes: int = 1) -> None:
    """Check a multi-class input: a float tensor of shape ``(C,)``, ``(N, C)`` or
    ``(N, C, d1, ...)`` with at least ``min_classes`` classes (``TypeError``/``ValueError``).

    With ``min_classes=2``, a single column ``(N, 1)`` is refused: the softmax of one logit
    is always 1, so a cross entropy over it is 0 whatever the model does.
    """
    check_tensor(name, input)
    if input.dim() == 0:
        raise ValueError(f"{name} must have shape (C,), (N, C) or (N, C, d1, ...), got shape ()")
    n_classes = input.shape[1 if input.dim() >= 2 else 0]
    if n_classes < min_classes:
        why = ": its class dimension is empty, there is no class to predict"
        if n_classes == 1:
            why = (": the softmax of a single logit is always 1, so the loss is 0 and its "
                   "gradient 0; for one logit per example use binary_cross_entropy_with_logits")
        raise ValueError(
            f"{name} must have at least {min_classes} class{'es' if min_classes > 1 else ''} "
            f"along its class dimension, got shape {_shape(input)}{why}"
        )


def check_class_indices(name: str, target: torch.Tensor, input: torch.Tensor,
                        ignore_index: int | None = None) -> None:
    """Check a target of class indices for a multi-class ``input`` (``TypeError``/``ValueError``).

    The dtype must be int64 or uint8 (what torch accepts), the shape the input's without
    its class dimension (``(N,)`` for ``(N, C)``), and each value a class in ``[0, C - 1]``
    or, when one is given, ``ignore_index``.
    """
    check_tensor(name, target, floating=False)
    if target.dtype not in CLASS_INDEX_DTYPES:
        hint = "; convert it with target.long()"
        if target.is_floating_point():
            hint += (", or, for probabilities, give it the input's shape "
                     f"{_shape(input)}")
        raise TypeError(
            f"{name} of class indices must have dtype torch.int64 or torch.uint8, got "
            f"{target.dtype}{hint}"
        )
    class_dim = 1 if input.dim() >= 2 else 0
    expected = input.shape[:class_dim] + input.shape[class_dim + 1:]
    if target.shape != expected:
        raise ValueError(
            f"{name} of class indices must have shape {tuple(expected)} (the input's shape "
            f"{_shape(input)} without its class dimension), got {_shape(target)}"
        )
    n_classes = input.shape[class_dim]
    valid = (target >= 0) & (target < n_classes)
    if ignore_index is not None:
        valid |= target == ignore_index
    if not valid.all():
        bad = target[~valid]
        ignored = "" if ignore_index is None else f" or ignore_index={ignore_index}"
        raise ValueError(
            f"{name} must hold class indices in [0, {n_classes - 1}]{ignored}, got "
            f"{int(bad.numel())} value(s) outside, in [{bad.min().item()}, {bad.max().item()}]"
        )
