"""Suite-wide pytest hooks: how long nbval takes to re-execute each chapter.

The time of every chapter's cells (kernel start included) is summed from the test reports
and shown at the end of the run beside the chapter's budget
(``lossbook.notebooks.budget_seconds``). It is a report, never a failure: a shared machine
is sometimes slow. ``make budgets`` measures the budgets on a quiet machine. Under
pytest-xdist the reports reach the controlling process, which prints them.
"""

import collections

import nbformat

from lossbook.notebooks import budget_seconds

_seconds: dict[str, float] = collections.defaultdict(float)


def pytest_runtest_logreport(report):
    path, separator, _ = report.nodeid.partition(".ipynb::")
    if separator:
        _seconds[f"{path}.ipynb"] += report.duration


def pytest_terminal_summary(terminalreporter, exitstatus, config):
    if not _seconds:
        return
    terminalreporter.section("chapter execution times (nbval, kernel start included; a report)")
    for path, seconds in sorted(_seconds.items()):
        budget = budget_seconds(nbformat.read(config.rootpath / path, as_version=4))
        note = "" if seconds <= budget else "  (over; make budgets measures on a quiet machine)"
        terminalreporter.write_line(f"{path:50s} {seconds:6.1f} s  (budget {budget:g} s){note}")
