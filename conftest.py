"""Suite-wide pytest hooks: how long nbval takes to re-execute each chapter.

The time of every chapter's cells (kernel start included) is summed from the test reports,
shown at the end of the run, and held against the chapter's budget
(``lossbook.notebooks.budget_seconds``): a chapter over budget fails the run. Under
pytest-xdist the reports reach the controlling process, which does the check.
"""

import collections

import nbformat

from lossbook.notebooks import budget_seconds

_seconds: dict[str, float] = collections.defaultdict(float)


def pytest_runtest_logreport(report):
    path, separator, _ = report.nodeid.partition(".ipynb::")
    if separator:
        _seconds[f"{path}.ipynb"] += report.duration


def _over_budget(config) -> list[str]:
    over = []
    for path, seconds in sorted(_seconds.items()):
        budget = budget_seconds(nbformat.read(config.rootpath / path, as_version=4))
        if seconds > budget:
            over.append(f"{path}: {seconds:.1f} s, budget {budget:g} s")
    return over


def pytest_terminal_summary(terminalreporter, exitstatus, config):
    if not _seconds:
        return
    terminalreporter.section("chapter execution times (nbval, kernel start included)")
    for path, seconds in sorted(_seconds.items()):
        budget = budget_seconds(nbformat.read(config.rootpath / path, as_version=4))
        terminalreporter.write_line(f"{path:50s} {seconds:6.1f} s  (budget {budget:g} s)")
    for line in _over_budget(config):
        terminalreporter.write_line(f"OVER BUDGET: {line}", red=True)


def pytest_sessionfinish(session, exitstatus):
    if hasattr(session.config, "workerinput"):  # an xdist worker: the controller decides
        return
    if _over_budget(session.config) and session.exitstatus == 0:
        session.exitstatus = 1
