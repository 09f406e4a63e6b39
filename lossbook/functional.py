"""From-scratch reference losses, written from their formulas as pure tensor functions.

Names and signatures mirror ``torch.nn.functional``; the values equal torch's (the tests
check values and gradients against torch). Unlike torch, every function validates its input
with :mod:`lossbook.checks`, so a mistake raises an error that explains itself instead of a
wrong number.

Notation, the book's (its notation page lists it): ``z`` a logit (any real number),
``σ(z) = 1 / (1 + exp(-z))`` the sigmoid, ``p = σ(z)`` a probability in [0, 1], ``y`` a
target in [0, 1] (hard 0/1 labels or soft labels; a class index for the multi-class losses),
``t = 2y - 1`` in {-1, +1} the label of the margin losses, ``w`` an element weight (a class
weight ``w_c`` for the multi-class losses), ``ρ`` the positive-class weight ``pos_weight``,
``ℓ_n`` the loss of element ``n``, ``N`` the batch size and ``C`` the number of classes.
"""

from __future__ import annotations

import torch

from lossbook import checks

#: torch clamps each log at -100 in ``binary_cross_entropy``, so one element's loss is at
#: most 100 (times its weight) even when the predicted probability is exactly 0 or 1.
LOG_CLAMP = -100.0


#: Dtypes that torch's losses compute in float32 (their "opmath" type), rounding the result.
_LOW_PRECISION = (torch.float16, torch.bfloat16)


def _opmath(*tensors):
    """The tensors, float16 and bfloat16 ones as float32 (``None`` stays ``None``): the
    losses compute at low precision in float32 and round the result once (:func:`_round`),
    instead of rounding every intermediate step (which some of torch's CPU kernels do, for
    example ``binary_cross_entropy_with_logits`` in float16)."""
    return tuple(t.float() if t is not None and t.dtype in _LOW_PRECISION else t
                 for t in tensors)


def _round(result: torch.Tensor, dtype: torch.dtype) -> torch.Tensor:
    """``result`` rounded to ``dtype`` where that is float16 or bfloat16 (see :func:`_opmath`)."""
    return result.to(dtype) if dtype in _LOW_PRECISION else result


def _reduce(loss: torch.Tensor, reduction: str) -> torch.Tensor:
    """Apply ``reduction``: ``'none'`` keeps the elementwise loss, ``'mean'`` averages over
    all elements, ``'sum'`` adds them."""
    if reduction == "mean":
        return loss.mean()
    if reduction == "sum":
        return loss.sum()
    return loss


def _softplus(z: torch.Tensor) -> torch.Tensor:
    """The stable ``log(1 + exp(z))`` of :func:`softplus` (``beta = 1``, no threshold), with
    no input checks: the core of the logit losses."""
    # Each branch gets an argument clamped to its own side, so the branch torch.where
    # discards never overflows and never sends NaN into the backward pass.
    positive = z.clamp(min=0)
    negative = z.clamp(max=0)
    return torch.where(z > 0, positive + torch.log1p(torch.exp(-positive)),
                       torch.log1p(torch.exp(negative)))


def softplus(input: torch.Tensor, beta: float = 1.0, threshold: float = 20.0) -> torch.Tensor:
    r"""Numerically stable softplus, as ``torch.nn.functional.softplus``:

    .. math::

        \mathrm{softplus}(z) = \frac{1}{\beta} \log(1 + e^{\beta z}), \qquad
        \log(1 + e^{u}) = \begin{cases}
            u + \log(1 + e^{-u}) & u > 0 \\
            \log(1 + e^{u}) & u \le 0
        \end{cases}

    and, as in torch, ``z`` itself where ``beta * z > threshold`` (there the two differ by
    less than ``exp(-threshold) / beta``). The naive form overflows to ``inf`` for
    ``u > ~88`` in float32; here ``exp`` only sees non-positive arguments, so it never
    overflows, and the gradient is ``sigmoid(beta * z)`` (1 past the threshold; 0.5 at
    ``z = 0``, where ``max(z, 0) + log1p(exp(-|z|))`` would give 1).

    Args:
        input: ``z``, any shape, float dtype.
        beta: a finite number other than 0; 1 is the plain softplus.
        threshold: a finite number; ``beta * z`` above it gives ``z``.

    Raises:
        TypeError: a non-tensor or a non-float dtype.
        ValueError: a ``beta`` of 0 or a ``beta`` or ``threshold`` that is not a finite
            number.
    """
    checks.check_tensor("input", input)
    beta = checks.check_number("beta", beta)
    threshold = checks.check_number("threshold", threshold)
    if beta == 0:
        raise ValueError("beta must be a finite number other than 0, got 0 (a division by 0)")
    scaled = input * beta
    return torch.where(scaled > threshold, input, _softplus(scaled) / beta)


#: torch's ``binary_cross_entropy`` backward divides by ``max(p (1 - p), 1e-12)``.
BCE_EPSILON = 1e-12


class _BinaryCrossEntropy(torch.autograd.Function):
    """The elementwise loss of :func:`binary_cross_entropy` (unweighted, unreduced) with
    torch's hand-written derivatives, where autograd through the clamped logs would give
    ``0 * inf = NaN`` at ``x`` in {0, 1}."""

    @staticmethod
    def forward(ctx, x, y):
        ctx.save_for_backward(x, y)
        # torch's kernel: (y - 1) max(log(1 - x), -100) - y max(log x, -100)
        return ((y - 1) * torch.clamp(torch.log1p(-x), min=LOG_CLAMP)
                - y * torch.clamp(torch.log(x), min=LOG_CLAMP))

    @staticmethod
    def backward(ctx, grad):
        x, y = ctx.saved_tensors
        grad_x = grad_y = None
        if ctx.needs_input_grad[0]:
            grad_x = grad * (x - y) / torch.clamp((1 - x) * x, min=BCE_EPSILON)
        if ctx.needs_input_grad[1]:
            grad_y = -grad * torch.logit(x)
        return grad_x, grad_y


def binary_cross_entropy(
    input: torch.Tensor,
    target: torch.Tensor,
    weight: torch.Tensor | None = None,
    reduction: str = "mean",
) -> torch.Tensor:
    r"""Binary cross entropy of probabilities, as ``torch.nn.functional.binary_cross_entropy``.

    .. math::

        \ell_n = -w_n \left[ y_n \log p_n + (1 - y_n) \log(1 - p_n) \right]

    with each log clamped at -100 (:data:`LOG_CLAMP`), as torch does, so that a probability
    of exactly 0 or 1 gives a finite loss of at most 100 per element.

    The gradients are torch's, written by hand rather than left to autograd (which would
    give NaN where a log is clamped, through ``0 * inf``):

    .. math::

        \frac{\partial \ell_n}{\partial p_n} = w_n \frac{p_n - y_n}
            {\max\left(p_n (1 - p_n),\ 10^{-12}\right)}, \qquad
        \frac{\partial \ell_n}{\partial y_n} = w_n \log \frac{1 - p_n}{p_n}

    so a correct saturated prediction (``p = y`` in {0, 1}) has gradient 0, a wrong one a
    large finite gradient (``1e12`` in size), and the gradient with respect to ``y`` is
    infinite at ``p`` in {0, 1}, as in torch.

    Args:
        input: probabilities ``p`` in [0, 1], any shape, float dtype.
        target: labels ``y`` in [0, 1], same shape and dtype as the input.
        weight: optional element weights ``w`` that broadcast to ``input.shape``
            (per element, not per class).
        reduction: ``'mean'`` (average over all elements), ``'sum'`` or ``'none'``.

    Returns:
        A scalar for ``'mean'``/``'sum'``, a tensor of ``input.shape`` for ``'none'``.

    Raises:
        TypeError: a non-tensor or a non-float dtype (``target`` of integers, say), or a
            target of another float dtype than the input (torch refuses them too).
        ValueError: different shapes, values outside [0, 1] (logits passed as
            probabilities), NaN or infinity, a ``weight`` that does not broadcast, an unknown
            ``reduction``.
    """
    checks.check_binary_loss_args(input, target, weight, reduction)
    checks.check_same_dtype(input, target)
    checks.check_probabilities("input", input)
    checks.check_probabilities("target", target)
    x, y, w = _opmath(input, target, weight)
    loss = _BinaryCrossEntropy.apply(x, y)
    if w is not None:
        loss = loss * w
    return _round(_reduce(loss, reduction), input.dtype)


def binary_cross_entropy_with_logits(
    input: torch.Tensor,
    target: torch.Tensor,
    weight: torch.Tensor | None = None,
    pos_weight: torch.Tensor | None = None,
    reduction: str = "mean",
) -> torch.Tensor:
    r"""Binary cross entropy of logits, as
    ``torch.nn.functional.binary_cross_entropy_with_logits``.

    .. math::

        \ell_n = -w_n \left[ \rho\, y_n \log \sigma(z_n) + (1 - y_n) \log(1 - \sigma(z_n)) \right]
               = w_n \left[ \rho\, y_n\, \mathrm{softplus}(-z_n)
                          + (1 - y_n)\, \mathrm{softplus}(z_n) \right]

    using ``log σ(z) = -softplus(-z)`` and ``log(1 - σ(z)) = -softplus(z)``, with the stable
    :func:`softplus`: no sigmoid is ever rounded to 0 or 1, so the loss stays exact (about
    ``|z|``) and its gradient (``σ(z) - y`` without weights) stays exact for any logit.

    Args:
        input: logits ``z``, any shape, float dtype.
        target: labels ``y`` in [0, 1], same shape and a float dtype.
        weight: optional element weights ``w`` that broadcast to ``input.shape``.
        pos_weight: optional weight ``ρ`` of the positive term, broadcast along the last
            dimension: shape ``(C,)`` for an ``(N, C)`` multi-label input, or a scalar-shaped
            ``(1,)``. ``n_neg / n_pos`` is the usual start for imbalanced data.
        reduction: ``'mean'``, ``'sum'`` or ``'none'``.

    Raises:
        TypeError: a non-tensor or a non-float dtype.
        ValueError: different shapes, targets outside [0, 1], NaN or infinity, a ``weight``
            or ``pos_weight`` that does not broadcast, an unknown ``reduction``.
    """
    checks.check_binary_loss_args(input, target, weight, reduction)
    checks.check_probabilities("target", target)
    if pos_weight is not None:
        checks.check_tensor("pos_weight", pos_weight)
        checks.check_broadcastable(
            "pos_weight", pos_weight, input.shape, checks.POS_WEIGHT_HINT
        )
    z, y, w, p = _opmath(input, target, weight, pos_weight)
    loss = bce_with_logits_terms(z, y, p)
    if w is not None:
        loss = loss * w
    return _round(_reduce(loss, reduction), input.dtype)


def bce_with_logits_terms(input: torch.Tensor, target: torch.Tensor,
                          pos_weight: torch.Tensor | None = None) -> torch.Tensor:
    r"""The elementwise stable formula of :func:`binary_cross_entropy_with_logits`,
    ``ρ y softplus(-z) + (1 - y) softplus(z)``, with no input checks and no reduction.

    For callers that have checked their input already, and for ``torch.compile``, whose
    graph the checks' data-dependent branches would break.
    """
    positive_term = target * _softplus(-input)
    if pos_weight is not None:
        positive_term = positive_term * pos_weight
    return positive_term + (1 - target) * _softplus(input)


# --- margin losses ---------------------------------------------------------------------


def _plus_minus_one(target: torch.Tensor, dtype: torch.dtype) -> torch.Tensor:
    """Labels in {0, 1} or {-1, 1} (already checked) as -1.0 and +1.0 of ``dtype``."""
    return torch.where(target > 0, 1.0, -1.0).to(dtype)


def _margin_violation(scores, target, margin, reduction) -> torch.Tensor:
    """``max(0, Δ - t z)`` per element, after checking the arguments of a margin loss."""
    checks.check_tensor("scores", scores)
    checks.check_binary_labels("target", target)
    checks.check_same_shape(scores, target, names=("scores", "target"))
    checks.check_finite("scores", scores)
    margin = checks.check_number("margin", margin, low=0)
    checks.check_reduction(reduction)
    s, = _opmath(scores)
    return torch.clamp(margin - _plus_minus_one(target, s.dtype) * s, min=0)


def binary_hinge_loss(
    scores: torch.Tensor,
    target: torch.Tensor,
    margin: float = 1.0,
    reduction: str = "mean",
) -> torch.Tensor:
    r"""Binary hinge loss of raw scores: the data term of the linear support vector machine.

    .. math::

        \ell_n = \max(0,\ \Delta - t_n z_n), \qquad t_n \in \{-1, +1\}

    ``t z`` is the *margin* of an example: positive when the score has the label's sign.
    The loss is 0 once the margin reaches ``Δ``, and grows linearly below it, with gradient
    ``-t`` with respect to ``z``. An SVM minimises it plus an L2 penalty on the weights
    (``weight_decay`` in a torch optimiser). In torch it is
    ``F.margin_ranking_loss(z, torch.zeros_like(z), t, margin=Δ)`` exactly, with
    ``t`` in {-1, 1}; ``multi_margin_loss`` on the two scores ``[0, z]`` gives half of it,
    and ``HingeEmbeddingLoss`` is a different loss (for distances between pairs).

    Args:
        scores: raw scores ``z`` (logits, not probabilities), any shape, float dtype.
        target: labels of the same shape, in {0, 1} or in {-1, 1} (any real dtype); 0 and -1
            both mean the negative class.
        margin: ``Δ >= 0``; 1 is the usual choice (0 gives the perceptron loss).
        reduction: ``'mean'``, ``'sum'`` or ``'none'``.

    Returns:
        A scalar for ``'mean'``/``'sum'``, a tensor of ``scores.shape`` for ``'none'``.

    Raises:
        TypeError: a non-tensor, or ``scores`` of a non-float dtype.
        ValueError: labels in neither convention or a mix of both, different shapes, NaN or
            infinite scores, a negative ``margin``, an unknown ``reduction``.
    """
    violation = _margin_violation(scores, target, margin, reduction)
    return _round(_reduce(violation, reduction), scores.dtype)


def squared_hinge_loss(
    scores: torch.Tensor,
    target: torch.Tensor,
    margin: float = 1.0,
    reduction: str = "mean",
) -> torch.Tensor:
    r"""Squared binary hinge loss of raw scores.

    .. math::

        \ell_n = \max(0,\ \Delta - t_n z_n)^2, \qquad t_n \in \{-1, +1\}

    Differentiable everywhere (its gradient ``-2 t max(0, Δ - t z)`` goes to 0 at the
    margin instead of jumping), and quadratic, not linear, in a large violation.
    ``multi_margin_loss(..., p=2)`` on the two scores ``[0, z]`` gives half of it.

    Args, returns and errors as :func:`binary_hinge_loss`.
    """
    violation = _margin_violation(scores, target, margin, reduction)
    return _round(_reduce(violation ** 2, reduction), scores.dtype)


# --- multi-class cross entropy ---------------------------------------------------------


def log_softmax(input: torch.Tensor, dim: int, dtype: torch.dtype | None = None) -> torch.Tensor:
    r"""Log-softmax along ``dim``, as ``torch.nn.functional.log_softmax``, through a stable
    log-sum-exp:

    .. math::

        \log \mathrm{softmax}(z)_c = z_c - \log \sum_k e^{z_k}
            = z_c - M - \log \sum_k e^{z_k - M}, \qquad M = \max_k z_k

    Subtracting the maximum keeps every ``exp`` at most 1, so nothing overflows, and the
    largest term of the sum is 1, so its log never sees 0. ``log(softmax(z))`` has neither
    guarantee: a probability that rounds to 0 gives ``-inf``.

    Args:
        input: ``z``, any shape (an empty one gives an empty result), float dtype; ``-inf``
            is allowed (a masked entry).
        dim: the dimension to normalise, in ``[-input.dim(), input.dim() - 1]``.
        dtype: optionally a float dtype to cast the input to first (torch's ``dtype``).

    Raises:
        TypeError: a non-tensor, a non-float input, a ``dim`` that is not an int, a
            ``dtype`` that is not a float dtype.
        ValueError: a ``dim`` out of range.
    """
    checks.check_tensor("input", input)
    dim = checks.check_dim("dim", dim, input)
    if dtype is not None:
        if not (isinstance(dtype, torch.dtype) and dtype.is_floating_point):
            raise TypeError(f"dtype must be a floating-point torch.dtype or None, got {dtype!r}")
        input = input.to(dtype)
    if input.numel() == 0:
        return input.clone()
    x, = _opmath(input)
    top = x.max(dim=dim, keepdim=True).values.detach()
    result = x - top - torch.log(torch.exp(x - top).sum(dim=dim, keepdim=True))
    return _round(result, input.dtype)


def _class_dim(input: torch.Tensor) -> int:
    return 1 if input.dim() >= 2 else 0


def _per_class(weight: torch.Tensor, input: torch.Tensor) -> torch.Tensor:
    """``weight`` of shape ``(C,)`` shaped to broadcast along the input's class dimension."""
    shape = [1] * input.dim()
    shape[_class_dim(input)] = -1
    return weight.reshape(shape)


def _index_loss(log_probs, target, weight, ignore_index, reduction, label_smoothing):
    """Cross entropy of log-probabilities against class indices (torch's semantics)."""
    class_dim = _class_dim(log_probs)
    n_classes = log_probs.shape[class_dim]
    keep = target.long() != ignore_index
    index = torch.where(keep, target.long(), 0)
    picked = log_probs.gather(class_dim, index.unsqueeze(class_dim)).squeeze(class_dim)
    w_y = weight[index] if weight is not None else torch.ones_like(picked)
    w_y = torch.where(keep, w_y, 0)
    loss = -w_y * picked
    if label_smoothing > 0:
        w_c = _per_class(weight, log_probs) if weight is not None else 1
        smooth = -(w_c * log_probs).sum(dim=class_dim)
        loss = (1 - label_smoothing) * loss + label_smoothing / n_classes * smooth
    loss = torch.where(keep, loss, 0)
    if reduction == "mean":
        return loss.sum() / w_y.sum()
    return _reduce(loss, reduction)


def nll_loss(
    input: torch.Tensor,
    target: torch.Tensor,
    weight: torch.Tensor | None = None,
    ignore_index: int = -100,
    reduction: str = "mean",
) -> torch.Tensor:
    r"""Negative log-likelihood of class indices, as ``torch.nn.functional.nll_loss``.

    .. math::

        \ell_n = -w_{y_n} \log p_{n, y_n}, \qquad
        L = \frac{\sum_{n:\ y_n \ne \text{ignore}} \ell_n}
                 {\sum_{n:\ y_n \ne \text{ignore}} w_{y_n}}

    It only *picks* the entry of the target class and flips its sign: ``input`` must
    already hold log-probabilities ``log p`` (``log_softmax`` output). Given probabilities
    (``softmax`` output) it would return ``-p``, a negative number; this version refuses
    positive inputs instead.

    Args:
        input: log-probabilities ``log p`` of shape ``(N, C)``, ``(C,)`` or
            ``(N, C, d1, ...)``, float dtype, values <= 0.
        target: class indices of shape ``(N,)``, ``()`` or ``(N, d1, ...)``, dtype int64 or
            uint8, values in ``[0, C - 1]`` or ``ignore_index``.
        weight: optional per-class weights ``w`` of shape ``(C,)``.
        ignore_index: an int, a target value whose examples contribute nothing, neither to
            the sum nor to the denominator of the mean.
        reduction: ``'mean'`` (the weighted mean above: divided by the sum of the selected
            weights, not by N), ``'sum'`` or ``'none'`` (ignored examples give 0).

    Raises:
        TypeError: a non-tensor, a non-float input, a target of another integer or a float
            dtype, an ``ignore_index`` that is not an int.
        ValueError: positive, NaN or ``+inf`` inputs, a target of the wrong shape or with
            indices out of range, a ``weight`` not of shape ``(C,)``, an unknown
            ``reduction``.
    """
    checks.check_class_input("input", input)
    checks.check_log_probabilities("input", input)
    ignore_index = checks.check_integer("ignore_index", ignore_index)
    checks.check_class_indices("target", target, input, ignore_index)
    if weight is not None:
        checks.check_class_weight("weight", weight, input.shape[_class_dim(input)])
    checks.check_reduction(reduction)
    x, w = _opmath(input, weight)
    return _round(_index_loss(x, target, w, ignore_index, reduction, 0.0), input.dtype)


def cross_entropy(
    input: torch.Tensor,
    target: torch.Tensor,
    weight: torch.Tensor | None = None,
    ignore_index: int = -100,
    reduction: str = "mean",
    label_smoothing: float = 0.0,
) -> torch.Tensor:
    r"""Cross entropy of logits, as ``torch.nn.functional.cross_entropy``: log-softmax
    followed by the negative log-likelihood (:func:`log_softmax`, :func:`nll_loss`).

    With class indices ``y_n`` and ``ε = label_smoothing``:

    .. math::

        \ell_n = (1 - \varepsilon)\, w_{y_n} \left(-\log p_{n, y_n}\right)
               + \frac{\varepsilon}{C} \sum_{c} w_c \left(-\log p_{n, c}\right),
        \qquad \log p_{n} = \mathrm{log\_softmax}(z_n)

        L = \sum_{n:\ y_n \ne \text{ignore}} \ell_n \Big/
            \sum_{n:\ y_n \ne \text{ignore}} w_{y_n}

    which is the soft-target loss below with ``q = (1 - ε) onehot(y) + ε / C``, except for
    the denominator of the mean. With probability targets ``q_n`` (a distribution over
    the classes per example):

    .. math::

        q'_n = (1 - \varepsilon)\, q_n + \frac{\varepsilon}{C}, \qquad
        \ell_n = -\sum_c w_c\, q'_{n, c} \log p_{n, c}, \qquad
        L = \frac{1}{N} \sum_n \ell_n

    so with probability targets the mean divides by ``N`` (times ``d1 ...``), never by the
    weights, and there is no ``ignore_index``: as torch, this refuses one ``>= 0`` with
    them.

    Args:
        input: logits ``z`` of shape ``(N, C)``, ``(C,)`` or ``(N, C, d1, ...)``, float
            dtype, finite, ``C >= 2``.
        target: either class indices of shape ``(N,)``, ``()`` or ``(N, d1, ...)``, dtype
            int64 or uint8, values in ``[0, C - 1]`` or ``ignore_index``; or probabilities
            in [0, 1] of the input's shape and a float dtype.
        weight: optional per-class weights ``w`` of shape ``(C,)``.
        ignore_index: an int; for class indices, a value whose examples contribute
            nothing. Negative (unused, the default -100) with probability targets.
        reduction: ``'mean'``, ``'sum'`` or ``'none'``.
        label_smoothing: ``ε`` in [0, 1].

    Raises:
        TypeError: a non-tensor, a non-float input, a target of another integer dtype, or a
            float target that is not of the input's shape, an ``ignore_index`` that is not
            an int.
        ValueError: fewer than 2 classes (an ``(N, 1)`` input's loss is always 0), NaN or
            infinite logits, targets out of range or of the wrong shape, a ``weight`` not of
            shape ``(C,)``, ``label_smoothing`` outside [0, 1], an ``ignore_index >= 0``
            with probability targets, an unknown ``reduction``.
    """
    checks.check_class_input("input", input, min_classes=2)
    checks.check_finite("input", input)
    class_dim = _class_dim(input)
    n_classes = input.shape[class_dim]
    if weight is not None:
        checks.check_class_weight("weight", weight, n_classes)
    checks.check_reduction(reduction)
    label_smoothing = checks.check_number("label_smoothing", label_smoothing, low=0, high=1)
    ignore_index = checks.check_integer("ignore_index", ignore_index)
    x, w = _opmath(input, weight)
    log_probs = log_softmax(x, dim=class_dim)
    if isinstance(target, torch.Tensor) and target.is_floating_point() and target.shape == input.shape:
        checks.check_tensor("target", target)
        if ignore_index >= 0:  # torch: "ignore_index is not supported for floating point target"
            raise ValueError(
                f"ignore_index must be negative (unused) with probability targets (a float "
                f"target of the input's shape), got ignore_index={ignore_index}: it names a "
                "class index to skip, and these targets hold no indices; to leave examples "
                "out, use reduction='none' and a mask, or pass class indices"
            )
        checks.check_finite("target", target)
        checks.check_probabilities("target", target)
        soft = (1 - label_smoothing) * _opmath(target)[0] + label_smoothing / n_classes
        w_c = _per_class(w, input) if w is not None else 1
        loss = -(w_c * soft * log_probs).sum(dim=class_dim)
        return _round(_reduce(loss, reduction), input.dtype)
    checks.check_class_indices("target", target, input, ignore_index)
    loss = _index_loss(log_probs, target, w, ignore_index, reduction, label_smoothing)
    return _round(loss, input.dtype)


# --- focal loss ------------------------------------------------------------------------


def _log_one_minus_pt(z: torch.Tensor, t: torch.Tensor) -> torch.Tensor:
    """``log(1 - p_t) = log(t σ(-z) + (1 - t) σ(z))`` from the logits ``z`` and targets ``t``,
    with ``log σ(-z) = -softplus(z)`` and ``log σ(z) = -softplus(-z)``."""
    return torch.logaddexp(torch.log(t) - _softplus(z), torch.log1p(-t) - _softplus(-z))


class _ModulatingFactor(torch.autograd.Function):
    r"""``(1 - p_t)^gamma = exp(gamma f)``, ``f = log(1 - p_t)``, from logits ``z`` and
    targets ``t``, with its derivatives written out:

    .. math::

        \frac{\partial}{\partial z} = \gamma (1 - 2t)\,
            e^{(\gamma - 1) f - \mathrm{softplus}(z) - \mathrm{softplus}(-z)}, \qquad
        \frac{\partial}{\partial t} = \gamma\, e^{(\gamma - 1) f}\, (\sigma(-z) - \sigma(z))

    Autograd through ``log t`` and ``log(1 - t)`` would give ``0 * inf = NaN`` with respect
    to a hard target (0 or 1); the exponent of the first is never positive, so that
    gradient stays finite for every finite logit.
    """

    @staticmethod
    def forward(ctx, z, t, gamma):
        ctx.save_for_backward(z, t)
        ctx.gamma = gamma
        return torch.exp(gamma * _log_one_minus_pt(z, t))

    @staticmethod
    def backward(ctx, grad):
        z, t = ctx.saved_tensors
        gamma = ctx.gamma
        f = _log_one_minus_pt(z, t)
        grad_z = grad_t = None
        if ctx.needs_input_grad[0]:
            exponent = (gamma - 1) * f - _softplus(z) - _softplus(-z)
            grad_z = grad * gamma * (1 - 2 * t) * torch.exp(exponent)
        if ctx.needs_input_grad[1]:  # σ(-z) - σ(z) = -tanh(z / 2)
            grad_t = grad * gamma * torch.exp((gamma - 1) * f) * -torch.tanh(z / 2)
        return grad_z, grad_t, None


def sigmoid_focal_loss(
    inputs: torch.Tensor,
    targets: torch.Tensor,
    alpha: float = 0.25,
    gamma: float = 2.0,
    reduction: str = "none",
) -> torch.Tensor:
    r"""Sigmoid focal loss of logits (Lin et al., 2017), as ``torchvision.ops.sigmoid_focal_loss``.

    With ``p = σ(z)``, the probability the model gives the *true* label
    ``p_t = p y + (1 - p)(1 - y)`` and ``alpha_t = alpha y + (1 - alpha)(1 - y)``:

    .. math::

        \ell_n = \alpha_t\, (1 - p_t)^{\gamma}\, \mathrm{BCE}(z_n, y_n), \qquad
        \mathrm{BCE}(z, y) = y\, \mathrm{softplus}(-z) + (1 - y)\, \mathrm{softplus}(z)

    The *modulating factor* ``(1 - p_t)^gamma`` shrinks the loss of examples the model
    already gets right (``p_t`` near 1) and leaves the badly wrong ones almost untouched;
    ``gamma = 0`` switches it off. ``alpha_t`` weights the positive term by ``alpha`` and the
    negative term by ``1 - alpha``: the default ``alpha = 0.25`` gives positives a *third* of
    the weight of negatives. A negative ``alpha`` switches the weighting off, so
    ``alpha < 0, gamma = 0`` is plain :func:`binary_cross_entropy_with_logits` with
    ``reduction='none'``.

    Computed from the logits: the BCE factor with the stable :func:`softplus`, and the
    modulating factor as ``exp(gamma * log(1 - p_t))`` with
    ``log(1 - p_t) = logaddexp(log y - softplus(z), log(1 - y) - softplus(-z))`` and its
    derivatives written out. So no probability is rounded to exactly 0 or 1, and the
    gradient with respect to the logits stays finite for every ``gamma >= 0`` and every
    finite logit; the textbook form ``(1 - p_t) ** gamma`` gives a NaN gradient for
    ``gamma < 1`` once ``p_t`` rounds to 1. The gradient with respect to hard targets
    (0 or 1) is torchvision's too, where autograd through ``log y`` would give NaN.

    Args:
        inputs: logits ``z``, any shape, float dtype.
        targets: labels ``y`` in [0, 1] (0/1 or soft), the same shape and a float dtype.
        alpha: weight of the positive class in [0, 1], or any negative number for no
            weighting (torchvision takes only -1). Default 0.25, torchvision's (and the
            paper's, tuned with ``gamma = 2`` for object detection).
        gamma: focusing parameter ``>= 0``. Default 2.
        reduction: ``'none'`` (the default, as in torchvision: a tensor of
            ``inputs.shape``), ``'mean'`` or ``'sum'``. The paper divides the sum by the
            number of positive anchors; do that by hand with ``'sum'``.

    Returns:
        A tensor of ``inputs.shape`` for ``'none'``, a scalar for ``'mean'``/``'sum'``.

    Raises:
        TypeError: a non-tensor or a non-float dtype.
        ValueError: different shapes, targets outside [0, 1], NaN or infinity, ``alpha``
            above 1, a negative ``gamma``, an unknown ``reduction``.
    """
    checks.check_tensor("inputs", inputs)
    checks.check_tensor("targets", targets)
    checks.check_same_shape(inputs, targets, names=("inputs", "targets"))
    checks.check_finite("inputs", inputs)
    checks.check_finite("targets", targets)
    checks.check_probabilities("targets", targets)
    alpha = checks.check_number("alpha", alpha, high=1)
    gamma = checks.check_number("gamma", gamma, low=0)
    checks.check_reduction(reduction)
    z, t = _opmath(inputs, targets)
    loss = bce_with_logits_terms(z, t)
    if gamma != 0:
        loss = loss * _ModulatingFactor.apply(z, t, gamma)
    if alpha >= 0:
        loss = loss * (alpha * t + (1 - alpha) * (1 - t))
    return _round(_reduce(loss, reduction), inputs.dtype)


# --- symmetric cross entropy ---------------------------------------------------------

import math  # noqa: E402  (kept with the one function that needs it)

#: ``clamp`` of the official code of Wang et al. (2019): the one-hot target is clamped at
#: 1e-4 before its log is taken, so ``log 0`` becomes ``ln 1e-4 = -9.2103``.
SCE_CLAMP = 1e-4

#: ``(alpha, beta)`` of the paper's experiments, by data set.
SCE_SETTINGS = {"MNIST": (0.01, 1.0), "CIFAR-10": (0.1, 1.0), "CIFAR-100": (6.0, 0.1)}


def _check_sce_options(alpha, beta, clamp, reduction) -> tuple[float, float, float]:
    """The options of :func:`symmetric_cross_entropy`, also checked once by the module;
    returns ``alpha``, ``beta`` and ``clamp`` as Python floats."""
    options = (checks.check_number("alpha", alpha, low=0), checks.check_number("beta", beta, low=0),
               checks.check_number("clamp", clamp, low=0, high=1, low_open=True,
                                   hint=", the smallest value of the one-hot target before its "
                                        "log (1e-4 in the official code; the paper states A = log a = -4)"))
    checks.check_reduction(reduction)
    return options


def symmetric_cross_entropy(
    input: torch.Tensor,
    target: torch.Tensor,
    alpha: float = 0.1,
    beta: float = 1.0,
    clamp: float = SCE_CLAMP,
    reduction: str = "mean",
) -> torch.Tensor:
    r"""Symmetric cross entropy of logits against class indices (Wang et al., ICCV 2019).

    .. math::

        \ell_n = \alpha\, \mathrm{CE}_n + \beta\, \mathrm{RCE}_n, \qquad
        \mathrm{CE}_n = -\log p_{n, y_n}, \qquad
        \mathrm{RCE}_n = -\sum_c p_{n, c} \log \max(q_{n, c}, a)
                       = -\log(a)\, (1 - p_{n, y_n})

    with ``p = softmax(input)`` over the classes, ``q`` the one-hot target and ``a`` =
    ``clamp``. The *reverse* cross entropy swaps the roles of prediction and label; the
    one-hot label has ``log 0`` off the true class, which the clamp replaces by ``log a``
    (``ln 1e-4 = -9.2103`` by default), and the true class contributes ``p_y log 1 = 0``.
    So RCE is ``|log a|`` times ``1 - p_y``: bounded, and proportional to the mean
    absolute error of the probabilities, which is why it tolerates wrong labels.

    Both terms come from *one* log-softmax: ``CE_n = -log p_y`` is picked from it, and
    ``1 - p_y = -expm1(-CE_n)``. No second softmax, no one-hot tensor, no log of a clamped
    tensor.

    The paper's settings of ``(alpha, beta)`` (:data:`SCE_SETTINGS`): MNIST ``(0.01,
    1.0)``, CIFAR-10 ``(0.1, 1.0)`` (the defaults), CIFAR-100 ``(6.0, 0.1)``; its code
    clamps the one-hot at ``1e-4``.

    Predictions are not clamped. The official (Keras) code clips the softmax at ``1e-7``
    inside its CE term, which caps each ``CE_n`` at ``-ln 1e-7 = 16.118`` and gives such an
    example no CE gradient; here ``CE_n`` is exact, as in ``torch.nn.CrossEntropyLoss``.
    PyTorch ports that clamp the probabilities at ``1e-7`` inside RCE instead add at most
    ``(C - 1) 1e-7 |log a|`` per example (8.3e-6 for ``C = 10``); the true class is
    unaffected by either clamp in RCE, since its ``log 1`` is 0.

    Args:
        input: logits of shape ``(N, C)``, ``(C,)`` or ``(N, C, d1, ...)``, float dtype,
            ``C >= 2``; finite, except that ``-inf`` off the labelled class is allowed (a
            masked class, of probability 0, as in torch).
        target: class indices of shape ``(N,)``, ``()`` or ``(N, d1, ...)``, dtype int64 or
            uint8, values in ``[0, C - 1]`` (no ``ignore_index``, no probabilities).
        alpha: weight ``>= 0`` of the cross entropy.
        beta: weight ``>= 0`` of the reverse cross entropy.
        clamp: ``a`` in (0, 1], the value that replaces the one-hot's zeros; 1 turns RCE
            off, a smaller value scales it up by ``|log a|``.
        reduction: ``'mean'`` (over all examples), ``'sum'`` or ``'none'``.

    Returns:
        A scalar for ``'mean'``/``'sum'``, a tensor of the target's shape for ``'none'``.

    Raises:
        TypeError: a non-tensor, a non-float input, a target of another dtype (int32, or
            float probabilities).
        ValueError: a single class, a NaN or ``+inf`` logit, ``-inf`` on the labelled
            class (an infinite loss), a target of the wrong shape or with indices outside
            ``[0, C - 1]``, a negative ``alpha`` or ``beta``, a ``clamp`` outside (0, 1],
            an unknown ``reduction``.
    """
    checks.check_class_input("input", input, min_classes=2)
    if isinstance(target, torch.Tensor) and target.is_floating_point():
        raise TypeError(
            f"target must hold class indices of dtype torch.int64 or torch.uint8 (this loss "
            f"takes no probability targets), got {target.dtype}; convert it with target.long()"
        )
    checks.check_class_indices("target", target, input)
    alpha, beta, clamp = _check_sce_options(alpha, beta, clamp, reduction)
    log_p = torch.log_softmax(_opmath(input)[0], dim=_class_dim(input))
    ce = torch.nn.functional.nll_loss(log_p, target, reduction="none")
    # A NaN or +inf logit makes its example's CE NaN, a -inf on the label makes it inf: the
    # N values of CE tell, and check_finite (a few passes over the input) then explains.
    if not torch.isfinite(ce).all():
        checks.check_finite("input", input)
    # RCE = -log(a) (1 - p_y) = log(a) * expm1(-CE)
    loss = torch.add(alpha * ce, torch.expm1(-ce), alpha=beta * math.log(clamp))
    return _round(_reduce(loss, reduction), input.dtype)
