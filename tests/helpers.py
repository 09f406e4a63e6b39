"""Helpers shared by the test modules: the book's paths, hypothesis strategies for tensors,
and the value-and-gradient of a loss. Import them as ``from tests.helpers import ...``."""

from __future__ import annotations

import pathlib

import hypothesis.extra.numpy as hnp
import hypothesis.strategies as st
import torch
import yaml
from hypothesis import settings

ROOT = pathlib.Path(__file__).resolve().parent.parent
CHAPTERS = ROOT / "chapters"

#: The reductions every torch loss accepts.
REDUCTIONS = st.sampled_from(["none", "mean", "sum"])
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


def array(draw, shape, lo, hi, dtype="float64") -> torch.Tensor:
    """A tensor of ``shape`` drawn by hypothesis, finite values in ``[lo, hi]``."""
    floats = st.floats(lo, hi, allow_nan=False, allow_infinity=False, width=64)
    return torch.from_numpy(draw(hnp.arrays(dtype, shape, elements=floats)))


def value_and_grad(fn, input: torch.Tensor, *args, **kwargs):
    """``fn(input, *args, **kwargs)`` detached, and the gradient of its sum w.r.t. ``input``."""
    input = input.detach().clone().requires_grad_(True)
    loss = fn(input, *args, **kwargs)
    loss.sum().backward()
    return loss.detach(), input.grad
