"""lossbook.notebooks' execution: execute() runs a notebook in a fresh kernel in its folder,
in place or (write=False) as a measurement only; ``python -m lossbook.notebooks --measure``
holds each time against the notebook's budget. (Its hygiene checks, timings file and code
digests are tested against the chapters themselves, in test_book.py.)"""

import functools

import nbformat
import pytest

from lossbook import notebooks


def _write(path, cells, metadata=None):
    nb = nbformat.v4.new_notebook(cells=cells)
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3",
                                 "language": "python"}
    nb.metadata.update(metadata or {})
    nbformat.write(nb, path)
    return path


def test_execute_runs_a_notebook_in_place(tmp_path):
    path = _write(tmp_path / "demo.ipynb", [
        nbformat.v4.new_code_cell("import os\nprint(21 * 2)"),
        nbformat.v4.new_code_cell("1 / 0", metadata={"tags": ["raises-exception"]}),
        nbformat.v4.new_code_cell("print(sorted(os.listdir('.')))"),
    ])
    seconds = notebooks.execute(path)
    cells = nbformat.read(path, as_version=4).cells
    assert seconds > 0
    assert [c.execution_count for c in cells] == [1, 2, 3]
    assert cells[0].outputs[0].text == "42\n"
    assert cells[1].outputs[0].ename == "ZeroDivisionError"
    # ran in the notebook's folder, and left no IPC files there
    assert cells[2].outputs[0].text == "['demo.ipynb']\n"
    assert "execution" not in cells[0].metadata  # no timing metadata churns the file


def test_execute_without_write_leaves_the_file_unchanged(tmp_path):
    path = _write(tmp_path / "demo.ipynb", [nbformat.v4.new_code_cell("print(21 * 2)")])
    before = path.read_bytes()
    seconds = notebooks.execute(path, write=False)
    assert seconds > 0
    assert path.read_bytes() == before
    assert nbformat.read(path, as_version=4).cells[0].outputs == []


def test_execute_refuses_a_missing_path(tmp_path):
    with pytest.raises(FileNotFoundError, match="path must be an existing notebook"):
        notebooks.execute(tmp_path / "nope.ipynb")


@pytest.mark.parametrize("budget, status, verdict", [(0.001, 1, "OVER"), (600, 0, "within")])
def test_measure_fails_when_a_notebook_is_over_its_budget(tmp_path, monkeypatch, capsys,
                                                          budget, status, verdict):
    path = _write(tmp_path / "tiny.ipynb",
                  [nbformat.v4.new_code_cell("import lossbook as lb; lb.setup()")],
                  metadata={"lossbook": {"budget_seconds": budget}})
    before = path.read_bytes()
    timings = tmp_path / "timings.csv"   # not the book's chapters/timings.csv
    monkeypatch.setattr(notebooks, "TIMINGS", timings)
    monkeypatch.setattr(notebooks, "record_timing",
                        functools.partial(notebooks.record_timing, path=timings))
    assert notebooks.main(["--measure", str(path)]) == status
    assert f"{verdict} its budget of {budget:g} s" in capsys.readouterr().out
    assert path.read_bytes() == before                        # measured, not written
    assert notebooks.read_timings(timings)["tiny"]["budget_seconds"] == f"{budget:g}"
