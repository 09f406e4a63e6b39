"""Side-by-side pandas tables: an implementation against torch, losses against each other."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import pandas as pd
import torch


def _as_column(name: str, value) -> torch.Tensor:
    if isinstance(value, torch.Tensor):
        return value.detach().double().reshape(-1)
    if isinstance(value, (int, float)):
        return torch.tensor([float(value)], dtype=torch.float64)
    raise TypeError(f"value of {name!r} must be a tensor or a number, got {type(value).__name__}")


def compare(values: Mapping[str, object], index: Sequence | None = None) -> pd.DataFrame:
    """A table with one column per implementation and their largest disagreement per row.

    Args:
        values: ``{name: value}``, each value a tensor (flattened) or a number; all of the
            same number of elements, at least two of them.
        index: row labels (defaults to 0, 1, ...).

    Returns:
        A ``DataFrame`` with the columns of ``values`` followed by ``max |diff|``, the
        largest minus the smallest value of each row: zero, or float rounding, when the
        implementations agree.

    Raises:
        ValueError: fewer than two values, or values of different sizes, or an ``index`` of
            the wrong length.
        TypeError: a value that is neither a tensor nor a number.
    """
    if len(values) < 2:
        raise ValueError(f"values must hold at least two implementations, got {len(values)}")
    columns = {name: _as_column(name, value) for name, value in values.items()}
    sizes = {name: col.numel() for name, col in columns.items()}
    if len(set(sizes.values())) != 1:
        raise ValueError(f"values must all have the same number of elements, got {sizes}")
    stacked = torch.stack(list(columns.values()), dim=1)
    table = pd.DataFrame(stacked.numpy(), columns=list(columns))
    table["max |diff|"] = (stacked.max(dim=1).values - stacked.min(dim=1).values).numpy()
    if index is not None:
        if len(index) != len(table):
            raise ValueError(f"index must have {len(table)} labels, got {len(index)}")
        table.index = list(index)
    return table
