"""Shared paths and fixtures of the test suite."""

import pathlib

import pytest
import yaml

ROOT = pathlib.Path(__file__).resolve().parent.parent
CHAPTERS = ROOT / "chapters"


def toc_files(node=None) -> list[str]:
    """Every ``file:`` (and the ``root``) of ``_toc.yml``, in reading order."""
    if node is None:
        node = yaml.safe_load((ROOT / "_toc.yml").read_text())
        return [node["root"], *toc_files(node.get("chapters", []) + node.get("parts", []))]
    files = []
    for entry in node:
        if "file" in entry:
            files.append(entry["file"])
        files.extend(toc_files(entry.get("chapters", []) + entry.get("sections", [])))
    return files


def chapter_notebooks() -> list[pathlib.Path]:
    return sorted(CHAPTERS.glob("*.ipynb"))


@pytest.fixture(scope="session")
def root() -> pathlib.Path:
    return ROOT
