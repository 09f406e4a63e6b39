"""Other libraries' implementations that the book checks its own against.

In your own code, import them as usual (``from torchvision.ops import sigmoid_focal_loss``).
This module does the same import, and also makes it work where the installed torchvision
is a build whose compiled operators do not match the installed torch.
"""

from __future__ import annotations

import functools
import sys
import types

import torch


@functools.cache
def torchvision_ops() -> types.ModuleType:
    """``torchvision.ops``, whose ``sigmoid_focal_loss`` is the focal loss's reference.

    A torchvision wheel built for CUDA next to a CPU build of torch cannot load its C++
    operators, and its import then fails with "operator torchvision::nms does not exist"
    (it registers shape functions for operators that were never defined). In that case the
    two operators it needs at import, ``torchvision::nms`` and ``torchvision::qnms``, are
    declared (their schema only: they are never called) and the import is retried. The
    losses in ``torchvision.ops`` are plain Python on torch tensors and need none of the
    compiled operators.
    """
    try:
        import torchvision.ops
    except RuntimeError as error:
        if "torchvision::nms does not exist" not in str(error):
            raise
        for name in [name for name in sys.modules if name.split(".")[0] == "torchvision"]:
            del sys.modules[name]
        for op in ("nms", "qnms"):
            torch.library.define(f"torchvision::{op}",
                                 "(Tensor dets, Tensor scores, float iou_threshold) -> Tensor")
        import torchvision.ops
    return torchvision.ops
