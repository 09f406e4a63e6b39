"""The website builds clean, with warnings as errors, and renders math from its own copy of
MathJax. The site is built once per test run into a temporary folder."""

import re
import subprocess
import sys
import pathlib

import pytest
from conftest import ROOT, toc_files

pytestmark = pytest.mark.build

JUPYTER_BOOK = pathlib.Path(sys.executable).parent / "jupyter-book"


@pytest.fixture(scope="module")
def site(tmp_path_factory):
    out = tmp_path_factory.mktemp("site")
    run = subprocess.run(
        [str(JUPYTER_BOOK), "build", str(ROOT), "--path-output", str(out), "-W", "--keep-going"],
        capture_output=True, text=True, timeout=300,
    )
    return run, out / "_build" / "html"


def test_build_succeeds_without_warnings(site):
    run, html = site
    log = run.stdout + run.stderr
    assert run.returncode == 0, log[-5000:]
    assert not re.search(r"WARNING|ERROR", log), log[-5000:]
    assert (html / "index.html").is_file()


def test_every_toc_page_is_built(site):
    _, html = site
    missing = [f for f in toc_files() if not (html / f"{f}.html").is_file()]
    assert not missing


def test_math_comes_from_the_local_mathjax_copy(site):
    _, html = site
    page = (html / "chapters" / "01-binary-cross-entropy.html").read_text()
    assert '<script defer="defer" src="../_static/mathjax/tex-chtml.js">' in page
    assert (html / "_static" / "mathjax" / "tex-chtml.js").is_file()
    assert r"\log" in page  # the chapter's formulas reach the page for MathJax to typeset


def test_no_page_loads_a_script_or_stylesheet_from_the_internet(site):
    _, html = site
    remote = re.compile(r"""<(?:script|link)[^>]+(?:src|href)=["']https?://""")
    offenders = [p.relative_to(html) for p in html.rglob("*.html") if remote.search(p.read_text())]
    assert not offenders


def test_chapter_figures_are_on_the_site(site):
    _, html = site
    page = (html / "chapters" / "01-binary-cross-entropy.html").read_text()
    images = re.findall(r'<img[^>]+src="([^"]+\.png)"', page)
    assert images
    for src in images:
        assert (html / "chapters" / src).resolve().is_file(), src
