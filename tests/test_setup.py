"""lossbook._setup: ``lb.setup()``, the one function that sets global state (seeds, one
thread, print options, the plot style, warnings without file paths)."""

import warnings

import matplotlib
import pandas as pd
import torch

import lossbook as lb


def test_setup_makes_random_draws_repeatable_and_uses_one_thread():
    lb.setup(seed=7)
    first = torch.rand(3)
    lb.setup(seed=7)
    assert torch.equal(first, torch.rand(3))
    assert torch.get_num_threads() == 1
    assert matplotlib.rcParams["figure.facecolor"] == "white"
    # pandas prints floats with 4 significant digits (lossbook._setup.SIGNIFICANT_DIGITS)
    assert pd.get_option("display.float_format")(0.123456789) == "0.1235"
    assert pd.get_option("display.float_format")(123456.789) == "1.235e+05"


def test_setup_prints_warnings_without_their_file_path():
    lb.setup()
    text = warnings.formatwarning("careful", UserWarning, "/some/where/chapter.py", 12)
    assert text == "UserWarning: careful\n"
