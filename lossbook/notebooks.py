"""Re-execute chapters in place, to refresh their stored outputs (``make execute``).

Usage::

    python -m lossbook.notebooks                      # every chapter in chapters/
    python -m lossbook.notebooks chapters/logits.ipynb  # some chapters

Each execution's time is recorded in ``chapters/timings.csv``, which the book's status page
shows and the tests hold against each chapter's budget.

Each notebook runs top to bottom in a fresh kernel started in the notebook's folder, the way
nbval re-runs it in the tests; cells tagged ``raises-exception`` may fail, any other error
stops the run and leaves the file untouched. The kernel talks over IPC (Unix sockets in a
temporary folder), not TCP, so no ports are opened and nothing warns about them.
"""

from __future__ import annotations

import argparse
import csv
import hashlib
import os
import pathlib
import re
import sys
import tempfile
import time

import nbformat
from jupyter_client.manager import KernelManager
from nbclient import NotebookClient

CHAPTERS = pathlib.Path(__file__).resolve().parent.parent / "chapters"
TIMINGS = CHAPTERS / "timings.csv"
TIMING_FIELDS = ("chapter", "seconds", "budget_seconds", "code_digest", "cpu_count", "torch")

#: A chapter executes within this many seconds, kernel start included, unless its notebook
#: metadata says otherwise: ``{"lossbook": {"budget_seconds": 30}}``.
DEFAULT_BUDGET_SECONDS = 15.0


def budget_seconds(nb: nbformat.NotebookNode) -> float:
    """The chapter's execution-time budget, from its metadata or the default."""
    return float(nb.metadata.get("lossbook", {}).get("budget_seconds", DEFAULT_BUDGET_SECONDS))


def code_digest(nb: nbformat.NotebookNode) -> str:
    """A short hash of the code cells' sources: it changes exactly when the code does, so a
    recorded time can be told stale."""
    code = "\x00".join(cell.source for cell in nb.cells if cell.cell_type == "code")
    return hashlib.sha256(code.encode()).hexdigest()[:12]


def read_timings(path: pathlib.Path = TIMINGS) -> dict[str, dict[str, str]]:
    """The recorded executions, by chapter name (empty if none were recorded)."""
    if not path.is_file():
        return {}
    with path.open(newline="") as f:
        return {row["chapter"]: row for row in csv.DictReader(f)}


def record_timing(notebook: pathlib.Path, seconds: float, path: pathlib.Path = TIMINGS) -> None:
    """Record one execution of ``notebook`` in the timings file, replacing its earlier row."""
    import torch

    nb = nbformat.read(notebook, as_version=4)
    rows = read_timings(path)
    rows[notebook.stem] = {
        "chapter": notebook.stem, "seconds": f"{seconds:.1f}",
        "budget_seconds": f"{budget_seconds(nb):g}", "code_digest": code_digest(nb),
        "cpu_count": str(os.cpu_count()), "torch": torch.__version__,
    }
    with path.open("w", newline="") as f:
        writer = csv.DictWriter(f, fieldnames=TIMING_FIELDS, lineterminator="\n")
        writer.writeheader()
        writer.writerows(rows[name] for name in sorted(rows))


def execute(path: str | pathlib.Path, timeout: int = 300, write: bool = True) -> float:
    """Execute the notebook at ``path`` and return the seconds it took.

    With ``write``, the file is updated in place: outputs and execution counts are replaced;
    cell timing metadata is not recorded, so a re-execution that changes no output changes
    nothing in the file. Without it, the file is left as it is (a measurement only).

    Raises:
        FileNotFoundError: ``path`` does not exist.
        nbclient.exceptions.CellExecutionError: a cell not tagged ``raises-exception``
            raised; the file is left as it was.
    """
    path = pathlib.Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"path must be an existing notebook, got {str(path)!r}")
    nb = nbformat.read(path, as_version=4)
    with tempfile.TemporaryDirectory(prefix="lossbook-kernel-") as ipc_dir:
        km = KernelManager(kernel_name="python3", transport="ipc", ip=f"{ipc_dir}/kernel")
        client = NotebookClient(
            nb,
            km=km,
            timeout=timeout,
            record_timing=False,
            resources={"metadata": {"path": str(path.parent)}},
        )
        start = time.perf_counter()
        try:
            client.execute()
        finally:  # nbclient leaves a kernel it did not start running
            if km.has_kernel:
                km.shutdown_kernel()
        seconds = time.perf_counter() - start
    if write:
        nbformat.write(nb, path)
    return seconds


#: Fragments of machine-specific paths that must never appear in a stored output.
MACHINE_PATHS = re.compile(r"(/home/|/root/|/tmp/|/work/|/Users/|[A-Z]:\\|site-packages)")


def output_text(output: dict) -> str:
    """The text of one stored output: a stream's text, an error's name and message, or the
    ``text/plain`` and ``text/html`` of a result."""
    if output["output_type"] == "stream":
        return output["text"]
    if output["output_type"] == "error":
        return f"{output['ename']}: {output['evalue']}"
    data = output.get("data", {})
    return "".join(data.get(kind, "") for kind in ("text/plain", "text/html"))


def hygiene(nb: nbformat.NotebookNode) -> list[str]:
    """What is wrong with a chapter's stored outputs, as a list of problems (empty if none).

    nbval only compares cells that were executed, so an unexecuted or stale notebook would
    pass its tests silently. This finds: code cells never executed; execution counts not
    1, 2, 3, ... in order (a partial re-run); error outputs in cells not tagged
    ``raises-exception``, and cells so tagged that raise nothing; machine paths in outputs;
    a first code cell that does not ``import lossbook as lb`` and call ``lb.setup()``.
    """
    problems = []
    code = [cell for cell in nb.cells if cell.cell_type == "code"]
    if not code or "import lossbook as lb" not in code[0].source or "lb.setup()" not in code[0].source:
        problems.append("the first code cell must `import lossbook as lb` and call `lb.setup()`")
    counts = [cell.get("execution_count") for cell in code]
    if None in counts:
        problems.append(f"{counts.count(None)} code cell(s) never executed")
    elif counts != list(range(1, len(code) + 1)):
        problems.append(f"execution counts are {counts}, not 1..{len(code)} in order")
    for number, cell in enumerate(code, start=1):
        tags = cell.metadata.get("tags", [])
        raised = any(out["output_type"] == "error" for out in cell.outputs)
        if raised and "raises-exception" not in tags:
            problems.append(f"code cell {number} has an error output but no raises-exception tag")
        if not raised and "raises-exception" in tags:
            problems.append(f"code cell {number} is tagged raises-exception but raised nothing")
        for out in cell.outputs:
            match = MACHINE_PATHS.search(output_text(out))
            if match:
                problems.append(f"code cell {number} shows a machine path ({match.group(0)!r})")
    return problems


def main(argv: list[str] | None = None) -> int:
    """Command line: execute the given notebooks (default: every chapter), print the times.

    With ``--measure`` the notebooks are executed without being written (a measurement for
    ``make budgets``): only their times are recorded, each is printed against its budget,
    and the exit status is 1 when one is over.
    """
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("notebooks", nargs="*", type=pathlib.Path,
                        help="notebooks to execute (default: chapters/*.ipynb)")
    parser.add_argument("--measure", action="store_true",
                        help="time the notebooks without changing them (their times are recorded); fail if one is over budget")
    args = parser.parse_args(argv)
    paths = args.notebooks or sorted(CHAPTERS.glob("*.ipynb"))
    over = []
    for path in paths:
        seconds = execute(path, write=not args.measure)
        record_timing(path, seconds)
        budget = budget_seconds(nbformat.read(path, as_version=4))
        verdict = "within" if seconds <= budget else "OVER"
        print(f"{path}: executed in {seconds:.1f} s, {verdict} its budget of {budget:g} s", flush=True)
        if seconds > budget:
            over.append(path)
        for problem in hygiene(nbformat.read(path, as_version=4)):
            print(f"  {problem}", flush=True)
    return 1 if args.measure and over else 0


if __name__ == "__main__":
    sys.exit(main())
