"""Helpers shared by the test modules: the book's paths, hypothesis strategies for tensors,
the value-and-gradient of a loss, and torchvision's focal loss (the reference of lossbook's).
Import them as ``from tests.helpers import ...``."""

from __future__ import annotations

import os
import pathlib

import hypothesis.extra.numpy as hnp
import hypothesis.strategies as st
import torch
import yaml
from hypothesis import settings

# Property tests explore new examples on every run of a developer's machine (and keep the
# failures they find in .hypothesis/); under CI=true they replay one fixed sequence, so that
# a CI run is reproducible and never fails on an example no developer has seen.
settings.register_profile("ci", derandomize=True, database=None, print_blob=True)
if os.environ.get("CI") == "true":
    settings.load_profile("ci")

ROOT = pathlib.Path(__file__).resolve().parent.parent
CHAPTERS = ROOT / "chapters"

#: The reductions every torch loss accepts, and a strategy that draws one.
REDUCTION_NAMES = ("none", "mean", "sum")
REDUCTIONS = st.sampled_from(REDUCTION_NAMES)
#: Shapes of the elementwise losses' property tests: 1 to 3 dimensions of 1 to 6.
SHAPES = hnp.array_shapes(min_dims=1, max_dims=3, min_side=1, max_side=6)
#: Settings of the property tests against torch.
PROPERTY = settings(max_examples=80, deadline=None)


def toc_files(node=None) -> list[str]:
    """Every ``file:`` (and the ``root``) of ``_toc.yml``, in reading order."""
    if node is None:
        node = yaml.safe_load((ROOT / "_toc.yml").read_text())
        return [node["root"], *toc_files(node.get("chapters", []) + node.get("parts", []))]
    files = []
    for entry in node:
        if "file" in entry:
            files.append(entry["file"])
        files.extend(toc_files(entry.get("chapters", []) + entry.get("sections", [])))
    return files


def chapter_notebooks() -> list[pathlib.Path]:
    """The chapters' notebooks, in file-name order."""
    return sorted(CHAPTERS.glob("*.ipynb"))


def array(draw, shape, lo, hi, dtype="float64", special=()) -> torch.Tensor:
    """A tensor of ``shape`` drawn by hypothesis, finite values in ``[lo, hi]``; the values in
    ``special`` (the bounds 0 and 1 of a probability, say) are drawn often too."""
    # No subnormal numbers (below 2.2e-308): their products underflow to 0 in one order of
    # multiplication and not in another, a difference of float arithmetic, not of formula.
    elements = st.floats(lo, hi, allow_nan=False, allow_infinity=False, allow_subnormal=False,
                         width=64)
    if special:
        elements = st.sampled_from(special) | elements
    return torch.from_numpy(draw(hnp.arrays(dtype, shape, elements=elements)))


def value_and_grad(fn, input: torch.Tensor, *args, **kwargs):
    """``fn(input, *args, **kwargs)`` detached, and the gradient of its sum w.r.t. ``input``."""
    input = input.detach().clone().requires_grad_(True)
    loss = fn(input, *args, **kwargs)
    loss.sum().backward()
    return loss.detach(), input.grad


def value_and_grads(fn, *tensors: torch.Tensor, **kwargs):
    """``fn(*tensors, **kwargs)`` detached, and the gradients of its sum w.r.t. each of
    ``tensors`` (all of them require a gradient: the target too)."""
    tensors = [t.detach().clone().requires_grad_(True) for t in tensors]
    loss = fn(*tensors, **kwargs)
    loss.sum().backward()
    return loss.detach(), *(t.grad for t in tensors)


def torchvision_sigmoid_focal_loss():
    """``torchvision.ops.sigmoid_focal_loss``, the reference of lossbook's focal loss
    (imported through :func:`lossbook.external.torchvision_ops`)."""
    from lossbook.external import torchvision_ops

    return torchvision_ops().sigmoid_focal_loss
