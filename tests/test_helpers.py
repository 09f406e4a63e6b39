"""lossbook's helpers: setup, data, compare, plots, notebooks."""

import matplotlib
import nbformat
import pandas as pd
import pytest
import torch
import torch.nn.functional as F

import lossbook as lb
from lossbook import notebooks


def test_setup_makes_random_draws_repeatable_and_uses_one_thread():
    lb.setup(seed=7)
    first = torch.rand(3)
    lb.setup(seed=7)
    assert torch.equal(first, torch.rand(3))
    assert torch.get_num_threads() == 1
    assert matplotlib.rcParams["figure.facecolor"] == "white"
    assert pd.get_option("display.float_format")(0.123456789) == "0.123457"


def test_two_class_scores_is_seeded_and_shaped():
    scores, target = lb.data.two_class_scores(500, separation=4.0, std=1.0, seed=3)
    again, _ = lb.data.two_class_scores(500, separation=4.0, std=1.0, seed=3)
    other, _ = lb.data.two_class_scores(500, separation=4.0, std=1.0, seed=4)
    assert scores.shape == target.shape == (500,)
    assert scores.dtype == target.dtype == torch.float32
    assert torch.equal(scores, again) and not torch.equal(scores, other)
    assert set(target.unique().tolist()) == {0.0, 1.0}


def test_two_class_scores_separation_controls_the_class_means_and_the_loss():
    scores, target = lb.data.two_class_scores(20_000, separation=6.0, std=1.0, seed=0)
    assert abs(scores[target == 1].mean() - 3.0) < 0.05
    assert abs(scores[target == 0].mean() + 3.0) < 0.05
    losses = [F.binary_cross_entropy_with_logits(*lb.data.two_class_scores(5000, d, 2.0))
              for d in (0.0, 2.0, 8.0)]
    assert losses[0] > losses[1] > losses[2]


def test_two_class_scores_positive_fraction():
    _, target = lb.data.two_class_scores(10_000, positive_fraction=0.1, seed=1)
    assert abs(target.mean().item() - 0.1) < 0.01


@pytest.mark.parametrize("kwargs, fragment", [
    (dict(n=0), "n must be a positive int"),
    (dict(std=0.0), "std must be > 0"),
    (dict(separation=-1.0), "separation must be >= 0"),
    (dict(positive_fraction=1.5), "positive_fraction must be in [0, 1]"),
])
def test_two_class_scores_rejects_bad_arguments(kwargs, fragment):
    with pytest.raises(ValueError, match=fragment.replace("[", r"\[").replace("]", r"\]")):
        lb.data.two_class_scores(**kwargs)


def test_compare_tabulates_values_and_their_largest_difference():
    table = lb.compare.compare({"a": torch.tensor([1.0, 2.0]), "b": torch.tensor([1.0, 2.5]),
                                "c": torch.tensor([0.5, 2.0])}, index=["x", "y"])
    assert list(table.columns) == ["a", "b", "c", "max |diff|"]
    assert list(table.index) == ["x", "y"]
    assert table["max |diff|"].tolist() == [0.5, 0.5]
    scalars = lb.compare.compare({"a": torch.tensor(1.0), "b": 3})
    assert scalars["max |diff|"].tolist() == [2.0]


@pytest.mark.parametrize("values, index, error, fragment", [
    ({"a": torch.ones(2)}, None, ValueError, "at least two"),
    ({"a": torch.ones(2), "b": torch.ones(3)}, None, ValueError, "same number of elements"),
    ({"a": torch.ones(2), "b": torch.ones(2)}, ["x"], ValueError, "index must have 2 labels"),
    ({"a": torch.ones(2), "b": [1, 1]}, None, TypeError, "value of 'b'"),
])
def test_compare_rejects_bad_input(values, index, error, fragment):
    with pytest.raises(error, match=fragment):
        lb.compare.compare(values, index=index)


def test_scores_by_class_draws_both_classes_with_the_loss_in_the_title():
    scores, target = lb.data.two_class_scores(200, seed=0)
    ax = lb.plots.scores_by_class(scores, target, title="demo")
    loss = F.binary_cross_entropy_with_logits(scores, target).item()
    assert ax.get_title() == f"demo: BCE = {loss:.4f}"
    assert [t.get_text() for t in ax.get_legend().get_texts()] == ["y = 0", "y = 1"]
    assert ax.get_xlabel() and ax.get_ylabel()
    matplotlib.pyplot.close("all")


def test_execute_runs_a_notebook_in_place(tmp_path):
    nb = nbformat.v4.new_notebook(cells=[
        nbformat.v4.new_code_cell("import os\nprint(21 * 2)"),
        nbformat.v4.new_code_cell("1 / 0", metadata={"tags": ["raises-exception"]}),
        nbformat.v4.new_code_cell("print(sorted(os.listdir('.')))"),
    ])
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    path = tmp_path / "demo.ipynb"
    nbformat.write(nb, path)
    seconds = notebooks.execute(path)
    cells = nbformat.read(path, as_version=4).cells
    assert seconds > 0
    assert [c.execution_count for c in cells] == [1, 2, 3]
    assert cells[0].outputs[0].text == "42\n"
    assert cells[1].outputs[0].ename == "ZeroDivisionError"
    assert cells[2].outputs[0].text == "['demo.ipynb']\n"  # ran in the notebook's folder, no IPC files left there
    assert "execution" not in cells[0].metadata  # no timing metadata churns the file


def test_execute_refuses_a_missing_path(tmp_path):
    with pytest.raises(FileNotFoundError, match="path must be an existing notebook"):
        notebooks.execute(tmp_path / "nope.ipynb")
