"""lossbook.compare: compare() puts implementations side by side and says, row by row,
whether every one is within atol + rtol * |first| of the first (torch.testing.assert_close's
test, with its default tolerance for the least precise dtype); tolerance() picks it."""

import math

import pytest
import torch

from lossbook.compare import TOLERANCES, compare, tolerance

F16, BF16, F32, F64 = (1e-3, 1e-5), (1.6e-2, 1e-5), (1.3e-6, 1e-5), (1e-7, 1e-7)
DEFAULTS = {torch.float16: F16, torch.bfloat16: BF16, torch.float32: F32, torch.float64: F64}

# (dtype, first, other, agree): pairs on either side of atol + rtol * |first|, exactly
# representable in their dtype where it matters.
STRADDLING = [
    # float32 at 1024: bound 1e-5 + 1.3e-6 * 1024 = 1.3412e-3; one step is 2**-13 = 1.2207e-4
    (torch.float32, 1024.0, 1024.0 + 10 * 2**-13, True),     # 1.2207e-3
    (torch.float32, 1024.0, 1024.0 + 11 * 2**-13, False),    # 1.3428e-3
    (torch.float32, -1024.0, -1024.0 - 10 * 2**-13, True),   # rtol scales |first|
    (torch.float32, -1024.0, -1024.0 - 11 * 2**-13, False),
    (torch.float32, 0.0, 9e-6, True),                        # atol alone: 1e-5
    (torch.float32, 0.0, 1.1e-5, False),
    # float64 at 1024: bound 1e-7 + 1e-7 * 1024 = 1.0250e-4
    (torch.float64, 1024.0, 1024.0 + 1.02e-4, True),
    (torch.float64, 1024.0, 1024.0 + 1.03e-4, False),
    (torch.float64, 0.0, 0.9e-7, True),
    (torch.float64, 0.0, 1.1e-7, False),
    # float16 at 1: bound 1.01e-3, one step 2**-10 = 9.77e-4
    (torch.float16, 1.0, 1.0 + 2**-10, True),
    (torch.float16, 1.0, 1.0 + 2 * 2**-10, False),
    # bfloat16 at 1: bound 1.601e-2, one step 2**-7 = 7.81e-3
    (torch.bfloat16, 1.0, 1.0 + 2 * 2**-7, True),
    (torch.bfloat16, 1.0, 1.0 + 3 * 2**-7, False),
]


def _pair(dtype, first, other):
    return torch.tensor([first], dtype=dtype), torch.tensor([other], dtype=dtype)


@pytest.mark.parametrize("dtype, first, other, agree", STRADDLING)
def test_a_row_agrees_within_the_dtypes_tolerance_and_not_beyond(dtype, first, other, agree):
    u, v = _pair(dtype, first, other)
    rtol, atol = DEFAULTS[dtype]
    # the chosen values, as stored in the dtype, lie on the stated side of the bound
    assert (abs(v.item() - u.item()) <= atol + rtol * abs(u.item())) == agree
    table = compare({"first": u, "other": v})
    assert table["agree"].tolist() == [agree]
    assert table.attrs == {"rtol": rtol, "atol": atol}


@pytest.mark.parametrize("dtype, first, other, agree", STRADDLING)
def test_the_verdict_is_torch_testing_assert_closes(dtype, first, other, agree):
    u, v = _pair(dtype, first, other)
    if agree:
        torch.testing.assert_close(v, u)
    else:
        with pytest.raises(AssertionError):
            torch.testing.assert_close(v, u)


def test_tolerances_are_assert_closes_defaults_and_the_loosest_wins():
    assert TOLERANCES == DEFAULTS
    assert tolerance(torch.float32) == F32
    assert tolerance(torch.float64) == F64
    assert tolerance(torch.float64, torch.float32) == F32
    assert tolerance(torch.float32, torch.float16, torch.float64) == F16
    assert tolerance(torch.float16, torch.bfloat16) == BF16
    assert tolerance(torch.int64) == F64                 # integers hold exact values
    assert tolerance(torch.int64, torch.float32) == F32


def test_every_column_is_held_against_the_first():
    step = 2**-13                                        # float32 at 1024, bound 1.3412e-3
    table = compare({
        "reference": torch.tensor([1024.0, 1024.0]),
        "below": torch.tensor([1024.0 - 10 * step, 1024.0]),
        "above": torch.tensor([1024.0 + 10 * step, 1024.0 + 11 * step]),
    })
    # row 0: below and above are 20 steps apart, but each is within 10 of the reference
    assert table["agree"].tolist() == [True, False]


def test_nan_agrees_with_nan_and_infinities_with_their_equals():
    nan, inf = math.nan, math.inf
    rows = [  # (first, other, agree)
        (nan, nan, True),
        (nan, 1.0, False),
        (1.0, nan, False),
        (inf, inf, True),
        (-inf, -inf, True),
        (inf, -inf, False),
        (inf, 3e38, False),
        (3e38, inf, False),
    ]
    table = compare({"a": torch.tensor([r[0] for r in rows]),
                     "b": torch.tensor([r[1] for r in rows])})
    assert table["agree"].tolist() == [r[2] for r in rows]
    three = compare({"a": torch.tensor([nan]), "b": torch.tensor([nan]),
                     "c": torch.tensor([0.0])})
    assert three["agree"].tolist() == [False]


def test_mixed_dtypes_use_the_loosest_tolerance():
    first = torch.tensor([1024.0], dtype=torch.float64)
    other = 1024.0 + 10 * 2**-13                          # 1.2207e-3 apart
    loose = compare({"float64": first, "float32": torch.tensor([other])})
    assert loose["agree"].tolist() == [True] and loose.attrs == {"rtol": F32[0], "atol": F32[1]}
    strict = compare({"float64": first, "also float64": torch.tensor([other], dtype=torch.float64)})
    assert strict["agree"].tolist() == [False] and strict.attrs == {"rtol": F64[0], "atol": F64[1]}
    half = compare({"float32": torch.tensor([1.0]), "float16": torch.tensor([1.0009765625],
                                                                           dtype=torch.float16)})
    assert half["agree"].tolist() == [True] and half.attrs == {"rtol": F16[0], "atol": F16[1]}
    integers = compare({"int64": torch.tensor([1, 2]), "float64": torch.tensor([1.0, 2.0 + 4e-7],
                                                                             dtype=torch.float64)})
    assert integers["agree"].tolist() == [True, False]    # 4e-7 > 1e-7 + 1e-7 * 2
    assert integers.attrs == {"rtol": F64[0], "atol": F64[1]}


def test_an_explicit_tolerance_replaces_the_default():
    values = {"a": torch.tensor([1.0]), "b": torch.tensor([1.1])}   # 0.1 apart
    assert compare(values)["agree"].tolist() == [False]
    by_rtol = compare(values, rtol=0.2)
    assert by_rtol["agree"].tolist() == [True]
    assert by_rtol.attrs == {"rtol": 0.2, "atol": F32[1]}              # atol stays the default
    by_atol = compare(values, atol=0.2)
    assert by_atol["agree"].tolist() == [True]
    assert by_atol.attrs == {"rtol": F32[0], "atol": 0.2}
    assert compare(values, rtol=0.05)["agree"].tolist() == [False]     # 0.05 + 1e-5 < 0.1
    # stricter than the default, too
    step = 2**-13
    near = {"a": torch.tensor([1024.0]), "b": torch.tensor([1024.0 + 10 * step])}
    assert compare(near)["agree"].tolist() == [True]
    assert compare(near, rtol=1e-7, atol=1e-7)["agree"].tolist() == [False]
    # zero tolerance: exact equality
    one = torch.tensor([1.0, 1.0], dtype=torch.float64)
    exact = compare({"a": one, "b": torch.tensor([1.0, math.nextafter(1.0, 2.0)],
                                                 dtype=torch.float64)}, rtol=0, atol=0)
    assert exact["agree"].tolist() == [True, False]


def test_columns_index_and_dtypes():
    table = compare({"a": torch.tensor([1.0, 2.0]), "b": torch.tensor([1.0, 2.0]),
                     "c": torch.tensor([1.0, 2.5])}, index=["x", "y"])
    assert list(table.columns) == ["a", "b", "c", "agree"]
    assert list(table.index) == ["x", "y"]
    assert table["agree"].tolist() == [True, False]
    assert table["agree"].dtype == bool and table["a"].dtype == "float64"
    third = torch.tensor(1 / 3)                                        # float32
    assert compare({"a": third, "b": third})["a"].tolist() == [third.double().item()]
    grid = compare({"a": torch.zeros(2, 2), "b": torch.zeros(4)})      # flattened
    assert list(grid.index) == [0, 1, 2, 3] and grid["agree"].all()


def test_scalars_and_numbers():
    scalar = compare({"tensor": torch.tensor(1.0), "int": 1})
    assert list(scalar.columns) == ["tensor", "int", "agree"]
    assert scalar["agree"].tolist() == [True]
    assert scalar.attrs == {"rtol": F32[0], "atol": F32[1]}           # a number is a float64
    # two numbers: float64's tolerance, 1e-7 + 1e-7 * 0.1 = 1.1e-7
    assert compare({"a": 0.1, "b": 0.1 + 0.5e-7})["agree"].tolist() == [True]
    numbers = compare({"a": 0.1, "b": 0.1 + 1.5e-7})
    assert numbers["agree"].tolist() == [False]
    assert numbers.attrs == {"rtol": F64[0], "atol": F64[1]}
    mixed_shapes = compare({"0-d": torch.tensor(2.0), "1-d": torch.tensor([2.0])})
    assert mixed_shapes["agree"].tolist() == [True]


@pytest.mark.parametrize("values, kwargs, error, fragment", [
    ({"a": torch.ones(2)}, {}, ValueError, "at least two implementations, got 1"),
    ({"a": torch.ones(2), "b": torch.ones(3)}, {}, ValueError, "same number of elements"),
    ({"a": torch.ones(2), "b": torch.ones(2)}, {"index": ["x"]}, ValueError,
     "index must have 2 labels, got 1"),
    ({"a": torch.ones(2), "b": [1, 1]}, {}, TypeError,
     "value of 'b' must be a tensor or a number, got list"),
    ({"a": 1.0, "b": True}, {}, TypeError, "value of 'b' must be a tensor or a number, got bool"),
    ({"a": 1.0, "b": "1.0"}, {}, TypeError, "got str"),
    ({"a": torch.ones(2), "b": torch.ones(2)}, {"rtol": -1e-6}, ValueError,
     "rtol and atol must be >= 0, got rtol=-1e-06, atol=1e-05"),
    ({"a": torch.ones(2), "b": torch.ones(2)}, {"atol": -1.0}, ValueError,
     "rtol and atol must be >= 0, got rtol=1.3e-06, atol=-1.0"),
    ({"a": torch.ones(2), "b": torch.ones(2)}, {"rtol": math.nan}, ValueError,
     "rtol and atol must be >= 0, got rtol=nan"),
])
def test_bad_input_is_refused(values, kwargs, error, fragment):
    with pytest.raises(error) as info:
        compare(values, **kwargs)
    assert fragment in str(info.value)
