"""Side-by-side pandas tables: an implementation against torch, losses against each other."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import pandas as pd
import torch

#: ``torch.testing.assert_close``'s default tolerances ``(rtol, atol)`` per dtype: the
#: rounding two correct float implementations of the same formula may differ by.
TOLERANCES = {
    torch.float16: (1e-3, 1e-5),
    torch.bfloat16: (1.6e-2, 1e-5),
    torch.float32: (1.3e-6, 1e-5),
    torch.float64: (1e-7, 1e-7),
}


def _as_column(name: str, value) -> torch.Tensor:
    if isinstance(value, torch.Tensor):
        return value.detach().reshape(-1)
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return torch.tensor([float(value)], dtype=torch.float64)
    raise TypeError(f"value of {name!r} must be a tensor or a number, got {type(value).__name__}")


def tolerance(*dtypes: torch.dtype) -> tuple[float, float]:
    """``(rtol, atol)`` for comparing values of these dtypes: the loosest of their
    :data:`TOLERANCES` (an integer dtype counts as float64, it holds exact values)."""
    pairs = [TOLERANCES.get(dtype, TOLERANCES[torch.float64]) for dtype in dtypes]
    return max(rtol for rtol, _ in pairs), max(atol for _, atol in pairs)


def compare(values: Mapping[str, object], index: Sequence | None = None,
            rtol: float | None = None, atol: float | None = None) -> pd.DataFrame:
    r"""A table with one column per implementation and whether they agree, row by row.

    Row ``i`` *agrees* when every implementation's value :math:`v_i` is within rounding of
    the first one's, :math:`u_i`:

    .. math::

        |v_i - u_i| \le \mathrm{atol} + \mathrm{rtol}\,|u_i| ,

    the test of ``torch.testing.assert_close`` (NaNs agree with NaNs, equal infinities with
    each other). By default ``rtol`` and ``atol`` are its defaults for the least precise
    dtype among the values (float32: ``rtol = 1.3e-6``, ``atol = 1e-5``). The verdict,
    not the size of the rounding error, is printed: the rounding error itself differs from
    CPU to CPU, whether two formulas agree does not.

    Args:
        values: ``{name: value}``, each value a tensor (flattened) or a number; all of the
            same number of elements, at least two of them.
        index: row labels (defaults to 0, 1, ...).
        rtol, atol: the tolerance, when not the dtype's default.

    Returns:
        A ``DataFrame`` with the columns of ``values`` (as float64) followed by ``agree``
        (bool); the tolerance used is in ``table.attrs["rtol"]`` and ``table.attrs["atol"]``.

    Raises:
        ValueError: fewer than two values, values of different sizes, an ``index`` of the
            wrong length, or a negative tolerance.
        TypeError: a value that is neither a tensor nor a number.
    """
    if len(values) < 2:
        raise ValueError(f"values must hold at least two implementations, got {len(values)}")
    columns = {name: _as_column(name, value) for name, value in values.items()}
    sizes = {name: col.numel() for name, col in columns.items()}
    if len(set(sizes.values())) != 1:
        raise ValueError(f"values must all have the same number of elements, got {sizes}")
    default_rtol, default_atol = tolerance(*(col.dtype for col in columns.values()))
    rtol = default_rtol if rtol is None else rtol
    atol = default_atol if atol is None else atol
    if not (rtol >= 0 and atol >= 0):
        raise ValueError(f"rtol and atol must be >= 0, got rtol={rtol!r}, atol={atol!r}")
    stacked = torch.stack([col.double() for col in columns.values()], dim=1)
    first = stacked[:, :1].expand_as(stacked)
    close = torch.isclose(stacked, first, rtol=rtol, atol=atol, equal_nan=True)
    table = pd.DataFrame(stacked.numpy(), columns=list(columns))
    table["agree"] = close.all(dim=1).numpy()
    table.attrs.update(rtol=rtol, atol=atol)
    if index is not None:
        if len(index) != len(table):
            raise ValueError(f"index must have {len(table)} labels, got {len(index)}")
        table.index = list(index)
    return table
