"""lossbook.functional against torch on torch's own test samples, which we did not write.

torch ships the sample inputs its own test suite runs every operator and module on: the
OpInfo database (``op_db`` in ``torch.testing._internal.common_methods_invocations``) and the
ModuleInfo database (``module_db`` in ``torch.testing._internal.common_modules``); importing
them needs the ``expecttest`` package. For every entry of a function lossbook mirrors, every
sample on the CPU in float32 and in float64 goes through lossbook and through torch: the
values, and the gradients of every tensor that requires one (the target too) for one random
upstream gradient, must be equal at ``assert_close``'s tolerance of the dtype.

A sample lossbook refuses by design (:data:`REFUSALS`) must be refused with a ``ValueError``
or ``TypeError`` that says why, and is counted apart; it is then compared once more, made
valid. Any other error is a crash and fails. ``pytest -s`` prints the counts.
"""

from __future__ import annotations

import collections
import functools
import inspect

import pytest
import torch
import torch.nn.functional as F
from torch import nn

from lossbook import functional as lbf

#: OpInfo ``(name, variant_test_name)`` -> the lossbook function that mirrors it.
OPS = {
    ("nn.functional.binary_cross_entropy", ""): lbf.binary_cross_entropy,
    ("nn.functional.binary_cross_entropy_with_logits", ""): lbf.binary_cross_entropy_with_logits,
    ("nn.functional.cross_entropy", ""): lbf.cross_entropy,
    ("nn.functional.nll_loss", ""): lbf.nll_loss,
    ("log_softmax", ""): lbf.log_softmax,
    ("log_softmax", "with_dtype"): lbf.log_softmax,
    ("nn.functional.softplus", ""): lbf.softplus,
}
#: ModuleInfo module -> the lossbook function; the module's constructor arguments are
#: passed to it by name (``weight``, ``reduction``, ``dim``, ``beta``, ...).
MODULES = {
    nn.BCELoss: lbf.binary_cross_entropy,
    nn.BCEWithLogitsLoss: lbf.binary_cross_entropy_with_logits,
    nn.CrossEntropyLoss: lbf.cross_entropy,
    nn.NLLLoss: lbf.nll_loss,
    nn.LogSoftmax: lbf.log_softmax,
    nn.Softplus: lbf.softplus,
}
DTYPES = (torch.float32, torch.float64)


def _positive_to_negative(args):
    input, *rest = args
    return [(-input.detach().abs()).requires_grad_(input.requires_grad), *rest]


#: What lossbook refuses on purpose, by function: ``(when, the message says, made valid)``.
#: ``nll_loss`` takes log-probabilities, and a positive one is a probability or a logit
#: passed by mistake (torch returns a number); torch's samples are random numbers.
REFUSALS = {
    lbf.nll_loss: (lambda args, kwargs: bool((args[0] > 0).any()),
                   "must hold log-probabilities (values <= 0)", _positive_to_negative),
}


def _entry_id(key) -> str:
    if isinstance(key, tuple):
        name, variant = key
        return f"op:{name}" + (f".{variant}" if variant else "")
    return f"module:nn.{key.__name__}"


ENTRIES = {_entry_id(key): key for key in (*OPS, *MODULES)}


@functools.cache
def _databases():
    from torch.testing._internal.common_methods_invocations import op_db
    from torch.testing._internal.common_modules import module_db

    ops = {(op.name, op.variant_test_name): op for op in op_db}
    modules = {info.module_cls: info for info in module_db}
    return ops, modules


def _samples(key, dtype):
    """``(lossbook function, torch callable, args, kwargs)`` for each sample of an entry."""
    ops, modules = _databases()
    if isinstance(key, tuple):
        op = ops[key]
        for sample in op.sample_inputs("cpu", dtype, requires_grad=True):
            yield OPS[key], op.op, [sample.input, *sample.args], dict(sample.kwargs)
        return
    info = modules[key]
    for module_input in info.module_inputs_func(info, device="cpu", dtype=dtype,
                                                requires_grad=True, training=True):
        if module_input.forward_input is None:
            continue
        built, called = module_input.constructor_input, module_input.forward_input
        options = inspect.signature(key).bind(*built.args, **built.kwargs).arguments
        module = key(*built.args, **built.kwargs)
        yield (functools.partial(MODULES[key], **options), module, list(called.args),
               dict(called.kwargs))


def _copy(x):
    return x.detach().clone().requires_grad_(x.requires_grad) if isinstance(x, torch.Tensor) else x


def _compare(ours, theirs, args, kwargs) -> str | None:
    """Lossbook's value and gradients against torch's on copies of the arguments; ``None``
    when they are equal, else what differs."""
    copies = [([_copy(a) for a in args], {k: _copy(v) for k, v in kwargs.items()})
              for _ in range(2)]
    results = [fn(*a, **k) for fn, (a, k) in zip((ours, theirs), copies)]
    try:
        torch.testing.assert_close(*results, equal_nan=True)
        upstream = torch.randn(results[1].shape, dtype=results[1].dtype,
                               generator=torch.Generator().manual_seed(0))
        leaves = [[x for x in (*a, *k.values()) if isinstance(x, torch.Tensor) and x.requires_grad]
                  for a, k in copies]
        if leaves[1]:
            grads = [torch.autograd.grad(result, tensors, upstream, allow_unused=True)
                     for result, tensors in zip(results, leaves)]
            for ours_grad, theirs_grad, leaf in zip(*grads, leaves[1]):
                zero = torch.zeros_like(leaf)
                torch.testing.assert_close(zero if ours_grad is None else ours_grad,
                                           zero if theirs_grad is None else theirs_grad,
                                           equal_nan=True)
    except AssertionError as error:
        return str(error)
    return None


@functools.cache
def _run(entry: str, dtype: torch.dtype):
    """Counts (``compared``, ``refused``, ``compared once made valid``, ``mismatch``,
    ``crash``) and the failures of one entry at one dtype; the samples are seeded."""
    counts, failures = collections.Counter(), []
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(0)
        for number, (ours, theirs, args, kwargs) in enumerate(_samples(ENTRIES[entry], dtype)):
            label = f"{entry} {dtype} sample {number} ({', '.join(kwargs)})"
            refusal = REFUSALS.get(getattr(ours, "func", ours))
            if refusal and refusal[0](args, kwargs):
                try:
                    ours(*args, **kwargs)
                    failures.append(f"{label}: not refused")
                except (TypeError, ValueError) as error:
                    if refusal[1] not in str(error):
                        failures.append(f"{label}: refused with {error!r}")
                counts["refused"] += 1
                args, kind = refusal[2](args), "compared once made valid"
            else:
                kind = "compared"
            try:
                difference = _compare(ours, theirs, args, kwargs)
            except Exception as error:  # any error on a sample lossbook supports
                counts["crash"] += 1
                failures.append(f"{label}: {error!r}")
                continue
            counts[kind] += 1
            if difference:
                counts["mismatch"] += 1
                failures.append(f"{label}: {difference}")
    return counts, tuple(failures)


@pytest.mark.parametrize("dtype", DTYPES, ids=str)
@pytest.mark.parametrize("entry", ENTRIES)
def test_lossbook_equals_torch_on_every_sample(entry, dtype):
    counts, failures = _run(entry, dtype)
    assert counts["compared"] > 0
    assert not failures, "\n".join(failures)


def test_every_function_torch_has_is_checked_and_the_counts(record_property):
    """The entries cover every public lossbook function named as one of
    torch.nn.functional, and the counts add up: nothing differs, nothing crashes."""
    mirrored = {name for name, fn in vars(lbf).items()
                if inspect.isfunction(fn) and fn.__module__ == lbf.__name__
                and not name.startswith("_") and hasattr(F, name)}
    assert mirrored == {fn.__name__ for fn in (*OPS.values(), *MODULES.values())}
    ops, modules = _databases()
    assert set(OPS) <= set(ops) and set(MODULES) <= set(modules)

    total = collections.Counter()
    lines = [f"{'entry':58} {'dtype':14} compared  refused  made valid  mismatch  crash"]
    for entry in ENTRIES:
        for dtype in DTYPES:
            counts, _ = _run(entry, dtype)
            total += counts
            lines.append(f"{entry:58} {str(dtype):14} {counts['compared']:8} "
                         f"{counts['refused']:8} {counts['compared once made valid']:11} "
                         f"{counts['mismatch']:9} {counts['crash']:6}")
    lines.append(f"{'total':73} {total['compared']:8} {total['refused']:8} "
                 f"{total['compared once made valid']:11} {total['mismatch']:9} "
                 f"{total['crash']:6}")
    print("\n".join(lines))
    record_property("counts", dict(total))
    assert total["compared"] > 500 and total["mismatch"] == total["crash"] == 0
