"""``lossbook.setup()``: the one place that sets global state, on purpose."""

from __future__ import annotations

import random
import warnings

import numpy as np
import pandas as pd
import torch

from lossbook import plots

#: pandas prints floats with this many significant digits. Two CPUs may compute a float32
#: result one rounding step (about 1e-7 of it) apart; at 4 digits that changes a printed
#: value only when it lies within 1e-7 of a rounding boundary, one case in a thousand.
SIGNIFICANT_DIGITS = 4


def _format_warning(message, category, filename, lineno, line=None) -> str:
    """Warnings without the file path and line: a chapter's output names no machine path."""
    return f"{category.__name__}: {message}\n"


def setup(seed: int = 0) -> None:
    """Put torch, NumPy, pandas, matplotlib and IPython in the book's reproducible state.

    Every chapter calls this in its first code cell. It

    - seeds Python's ``random``, NumPy and torch with ``seed``;
    - sets ``torch.set_num_threads(1)``: float sums over large tensors differ between thread
      counts, so one thread keeps the order of every sum fixed;
    - prints tensors with 4 decimals, NumPy arrays with 4, pandas floats with
      :data:`SIGNIFICANT_DIGITS` significant digits;
    - applies the house plot style (:func:`lossbook.plots.use_style`);
    - prints warnings without file paths, and, inside IPython, shows exceptions without
      tracebacks (``%xmode minimal``), so outputs hold the message and nothing machine
      specific.
    """
    random.seed(seed)
    np.random.seed(seed)
    torch.manual_seed(seed)
    torch.set_num_threads(1)
    torch.set_printoptions(precision=4, sci_mode=None)
    np.set_printoptions(precision=4, suppress=False)
    pd.set_option("display.float_format", f"{{:.{SIGNIFICANT_DIGITS}g}}".format)
    pd.set_option("display.max_columns", 20)
    pd.set_option("display.width", 100)
    plots.use_style()
    warnings.formatwarning = _format_warning
    try:
        from IPython import get_ipython
    except ImportError:  # pragma: no cover - IPython ships with every supported install
        return
    shell = get_ipython()
    if shell is not None:
        shell.InteractiveTB.set_mode(mode="Minimal")
