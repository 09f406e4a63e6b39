"""`make lab`: JupyterLab starts on the chapters, as root too, and lists them."""

import json
import os
import socket
import subprocess
import time
import urllib.request

from tests.helpers import ROOT, chapter_notebooks


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_make_lab_starts_and_lists_the_chapters(tmp_path):
    port, token = _free_port(), "lossbook-test"
    flags = f"--no-browser --ip=127.0.0.1 --port={port} --IdentityProvider.token={token}"
    env = {**os.environ, "JUPYTER_RUNTIME_DIR": str(tmp_path / "runtime"),
           "JUPYTER_CONFIG_DIR": str(tmp_path / "config"), "HOME": str(tmp_path)}
    lab = subprocess.Popen(["make", "--no-print-directory", "lab", f"LAB_FLAGS={flags}"], cwd=ROOT,
                           env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                           start_new_session=True)
    try:
        url = f"http://127.0.0.1:{port}/api/contents?token={token}"
        listing, deadline = None, time.monotonic() + 60
        while listing is None and time.monotonic() < deadline and lab.poll() is None:
            try:
                with urllib.request.urlopen(url, timeout=2) as response:
                    listing = json.load(response)
            except OSError:
                time.sleep(0.5)
        assert listing is not None, f"no answer on port {port} (exit {lab.poll()}):\n" + (
            lab.stdout.read().decode() if lab.poll() is not None else "")
        names = {item["name"] for item in listing["content"]}
        assert {p.name for p in chapter_notebooks()} <= names, names
    finally:
        os.killpg(lab.pid, 15)
        lab.wait(timeout=30)
