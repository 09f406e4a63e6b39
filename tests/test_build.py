"""The website builds clean, with warnings as errors, and renders math from its own copy of
MathJax. The site is built once per test run into a temporary folder."""

import re

import pytest
from tests.helpers import toc_files

pytestmark = pytest.mark.build


@pytest.fixture(scope="module")
def site(built_site):
    return built_site


def test_build_succeeds_without_warnings(site):
    run, html = site
    log = run["log"]
    assert run["returncode"] == 0, log[-5000:]
    assert not re.search(r"WARNING|ERROR", log), log[-5000:]
    assert (html / "index.html").is_file()


def test_every_toc_page_is_built(site):
    _, html = site
    missing = [f for f in toc_files() if not (html / f"{f}.html").is_file()]
    assert not missing


def test_math_comes_from_the_local_mathjax_copy(site):
    _, html = site
    page = (html / "chapters" / "binary-cross-entropy.html").read_text()
    assert '<script defer="defer" src="../_static/mathjax/startup.js">' in page
    assert '"load": ["input/tex", "output/chtml", "a11y/assistive-mml"]' in page
    for component in ("startup.js", "core.js", "input/tex.js", "output/chtml.js"):
        assert (html / "_static" / "mathjax" / component).is_file(), component
    assert r"\log" in page  # the chapter's formulas reach the page for MathJax to typeset


def test_the_mathjax_copy_is_small(site):
    """Only what the pages load: TeX input, CHTML output and fonts, TeX extensions."""
    _, html = site
    files = [p for p in (html / "_static" / "mathjax").rglob("*") if p.is_file()]
    assert sum(p.stat().st_size for p in files) < 2e6
    assert not (html / "_static" / "mathjax" / "sre").exists()  # 4 MB speech engine, unused
    assert not (html / "_static" / "mathjax" / "ui").exists()  # the context menu, unused


def test_no_theme_fontawesome_script(site):
    """The 1.5 MB icon script is replaced by the theme's own web fonts."""
    _, html = site
    assert "fontawesome.js" not in (html / "chapters" / "binary-cross-entropy.html").read_text()


def test_api_reference_documents_every_module_for_readers(site):
    """Every reader-facing module is on the API page, with links to the chapters that use
    its functions; the book's build tooling (lossbook.notebooks) is not."""
    _, html = site
    page = (html / "chapters" / "api.html").read_text()
    for name in ("lossbook.setup", "lossbook.functional.binary_cross_entropy_with_logits",
                 "lossbook.checks.check_same_shape", "lossbook.data.two_class_scores",
                 "lossbook.train.fit", "lossbook.compare.compare", "lossbook.diagnosis.diagnose",
                 "lossbook.external.torchvision_ops"):
        assert f'id="{name}"' in page, name
    assert 'id="lossbook.notebooks.execute"' not in page
    start = page.index('id="lossbook.train.fit"')
    fit = page[start:page.index('id="lossbook.train.evaluate"', start)]
    assert re.search(r"Introduced in\s*<a[^>]*href=\"logits.html#logits\"", fit), fit[-1500:]


def test_no_page_loads_a_script_or_stylesheet_from_the_internet(site):
    _, html = site
    remote = re.compile(r"""<(?:script|link)[^>]+(?:src|href)=["']https?://""")
    offenders = [p.relative_to(html) for p in html.rglob("*.html") if remote.search(p.read_text())]
    assert not offenders


def test_chapter_figures_are_on_the_site(site):
    _, html = site
    page = (html / "chapters" / "binary-cross-entropy.html").read_text()
    images = re.findall(r'<img[^>]+src="([^"]+\.png)"', page)
    assert images
    for src in images:
        assert (html / "chapters" / src).resolve().is_file(), src


def _text(page) -> str:
    """A built page's visible text: the HTML without its tags."""
    return re.sub(r"<[^>]+>", " ", page.read_text())


def test_no_page_names_a_source_by_an_internal_label(site):
    """The popular write-ups the book corrects are cited from the bibliography by title;
    no page calls one "article 001", which a reader cannot look up."""
    _, html = site
    labels = {page.relative_to(html).as_posix(): re.findall(r"\barticles? 00\d\b", _text(page), re.I)
              for page in sorted(html.rglob("*.html"))}
    assert not {page: found for page, found in labels.items() if found}
    bibliography = _text(html / "chapters" / "bibliography.html")
    for title in ("What are the loss functions and their inputs for binary classification",
                  "BCEWithLogitsLoss vs. CrossEntropyLoss", "PyTorch Binary Cross Entropy",
                  "Loss functions"):
        assert title in bibliography, title


def test_the_bundle_holds_the_chapters_and_the_package(site):
    import zipfile

    _, html = site
    with zipfile.ZipFile(html / "lossbook-book.zip") as bundle:
        names = set(bundle.namelist())
    for needed in ("README.md", "Makefile", "requirements.txt", "pyproject.toml",
                   "lossbook/__init__.py", "chapters/binary-cross-entropy.ipynb"):
        assert f"lossbook-book/{needed}" in names, needed
