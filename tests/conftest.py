"""Shared paths and fixtures of the test suite."""

import pathlib

import pytest

from tests.helpers import ROOT


@pytest.fixture(scope="session")
def root() -> pathlib.Path:
    return ROOT


@pytest.fixture(scope="session")
def built_site(tmp_path_factory):
    """Build the website once per test run, clean, with warnings as errors.

    Returns ``(completed_process, html_dir)``. Under pytest-xdist every worker asks for it;
    a file lock in the run's shared temporary folder makes the first worker build and the
    others reuse that build.
    """
    import json
    import os
    import subprocess
    import sys

    from filelock import FileLock

    shared = tmp_path_factory.getbasetemp()
    if "PYTEST_XDIST_WORKER" in os.environ:  # this run's folder, shared by its workers
        shared = shared.parent
    out, record = shared / "site", shared / "site.json"
    with FileLock(str(shared / "site.lock")):
        if not record.exists():
            jupyter_book = pathlib.Path(sys.executable).parent / "jupyter-book"
            run = subprocess.run(
                [str(jupyter_book), "build", str(ROOT), "--path-output", str(out), "-W", "--keep-going"],
                capture_output=True, text=True, timeout=300,
            )
            record.write_text(json.dumps({"returncode": run.returncode, "log": run.stdout + run.stderr}))
    result = json.loads(record.read_text())
    return result, out / "_build" / "html"
