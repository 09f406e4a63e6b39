"""The website in a real browser: Debian's Chromium driven by Playwright, the site served on
127.0.0.1. Every page of _toc.yml loads with no console error, no failed request and no
request leaving the machine; images load; formulas are typeset; the navigation lists every
page; search finds each chapter by a word that occurs only there.

Without Chromium these tests skip, saying why; with LOSSBOOK_REQUIRE_BROWSER=1 (set by
.ci/run) a missing browser is a failure instead.
"""

from __future__ import annotations

import functools
import http.server
import io
import os
import re
import shutil
import statistics
import threading
import urllib.parse

import nbformat
import pytest
from PIL import Image, ImageStat
from tests.helpers import CHAPTERS, toc_files

pytestmark = pytest.mark.site

CHROMIUM = os.environ.get("LOSSBOOK_CHROMIUM") or shutil.which("chromium") or shutil.which("chromium-browser")
# Flags for a root, headless, offline machine: no sandbox (root), and none of Chromium's own
# background traffic (updates, sync, QUIC probes), which a closed network would refuse.
CHROMIUM_ARGS = [
    "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
    "--disable-background-networking", "--disable-component-update", "--disable-sync",
]
PAGES = toc_files()
CHAPTER_NOTEBOOKS = sorted(CHAPTERS.glob("*.ipynb"))
PAGE_BYTES_BUDGET = 2.5e6
PAGE_SECONDS_BUDGET = 1.5


def _require_browser():
    try:
        import playwright.sync_api  # noqa: F401
    except ImportError:
        reason = "Playwright for Python is not installed (pip install -r requirements.txt)"
    else:
        if CHROMIUM:
            return
        reason = "no Chromium found (apt-get install chromium, or set LOSSBOOK_CHROMIUM)"
    if os.environ.get("LOSSBOOK_REQUIRE_BROWSER") == "1":
        pytest.fail(f"LOSSBOOK_REQUIRE_BROWSER=1 but {reason}", pytrace=False)
    pytest.skip(reason)


class _QuietHandler(http.server.SimpleHTTPRequestHandler):
    def log_message(self, format, *args):
        pass


@pytest.fixture(scope="module")
def server(built_site):
    """The built site, served on 127.0.0.1 at a free port."""
    run, html = built_site
    assert run["returncode"] == 0, run["log"][-3000:]
    handler = functools.partial(_QuietHandler, directory=str(html))
    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{httpd.server_address[1]}"
    httpd.shutdown()
    httpd.server_close()


@pytest.fixture(scope="module")
def browser():
    _require_browser()
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield browser
        browser.close()


#: Run in the page after "load": waits for MathJax's first typeset and the web fonts, then
#: reports the time since navigation began and the bytes of every response (decoded, the
#: server does not compress), from the browser's own Performance API.
MEASURE = """async () => {
    if (window.MathJax?.startup?.promise) await window.MathJax.startup.promise;
    await document.fonts.ready;
    const entries = [...performance.getEntriesByType("navigation"),
                     ...performance.getEntriesByType("resource")];
    return {seconds: performance.now() / 1000,
            bytes: entries.reduce((sum, e) => sum + e.decodedBodySize, 0)};
}"""


class Visit:
    """One cold page load in a fresh browser context, with what the browser reported."""

    def __init__(self, browser, url: str):
        self.context = browser.new_context()
        self.page = self.context.new_page()
        self.console_errors: list[str] = []
        self.failed: list[str] = []
        self.outside: list[str] = []
        self.page.on("console", lambda m: m.type == "error" and self.console_errors.append(m.text))
        self.page.on("pageerror", lambda e: self.console_errors.append(str(e)))
        self.page.on("requestfailed", lambda r: self.failed.append(f"{r.url} ({r.failure})"))
        self.page.on("response", lambda r: r.status >= 400 and self.failed.append(f"{r.url} (HTTP {r.status})"))
        # Anything not addressed to the loopback server is recorded and never sent.
        self.context.route(re.compile(r"^(?!http://127\.0\.0\.1:).*"), self._block)
        self.page.goto(url, wait_until="load")
        measured = self.page.evaluate(MEASURE)
        self.seconds, self.bytes = measured["seconds"], measured["bytes"]

    def _block(self, route):
        self.outside.append(route.request.url)
        route.abort()

    def close(self):
        self.context.close()


@pytest.fixture(scope="module")
def visit(browser, server):
    """``visit(path)``: the page loaded once per test module, shared by its tests."""
    visits: dict[str, Visit] = {}

    def _visit(path: str) -> Visit:
        if path not in visits:
            visits[path] = Visit(browser, f"{server}/{path}")
        return visits[path]

    yield _visit
    for v in visits.values():
        v.close()


@pytest.mark.parametrize("page", PAGES)
def test_page_loads_cleanly(visit, page):
    v = visit(f"{page}.html")
    assert v.console_errors == []
    assert v.failed == []
    assert v.outside == []


@pytest.mark.parametrize("page", PAGES)
def test_every_image_and_icon_is_drawn(visit, page):
    v = visit(f"{page}.html")
    broken = v.page.eval_on_selector_all(
        "img", "imgs => imgs.filter(i => !(i.complete && i.naturalWidth > 0)).map(i => i.src)")
    assert broken == []
    blank_icons = v.page.eval_on_selector_all(
        ".fa-solid, .fas, .far, .fab",
        "els => els.filter(e => ['none', 'normal', ''].includes("
        "getComputedStyle(e, '::before').content)).map(e => e.className)")
    assert blank_icons == []


@pytest.mark.parametrize("page", PAGES)
def test_formulas_are_typeset(visit, page):
    v = visit(f"{page}.html")
    math = v.page.locator(".math").count()
    if math == 0:
        pytest.skip("no math on this page")
    assert v.page.locator("mjx-container").count() >= math
    assert v.page.locator("mjx-merror").count() == 0


def test_every_page_is_in_the_navigation(visit):
    v = visit("chapters/intro.html")
    hrefs = v.page.eval_on_selector_all(".bd-sidebar-primary a", "as => as.map(a => a.href)")
    paths = {urllib.parse.urlparse(h).path.lstrip("/") for h in hrefs}
    assert {f"{page}.html" for page in PAGES} - paths <= {"chapters/intro.html"}


@pytest.mark.parametrize("notebook", CHAPTER_NOTEBOOKS, ids=[p.stem for p in CHAPTER_NOTEBOOKS])
def test_chapter_offers_its_notebook_for_download(visit, notebook):
    v = visit(f"chapters/{notebook.stem}.html")
    link = v.page.locator(f'a[href$="{notebook.name}"]').first
    response = v.page.request.get(link.evaluate("a => a.href"))
    assert response.ok
    assert nbformat.reads(response.text(), as_version=4).cells


def test_figures_stay_readable_in_dark_mode(browser, server):
    """In the dark theme a figure is still an opaque, light picture (its own white
    background), not dark lines on a dark page."""
    context = browser.new_context(color_scheme="dark")
    page = context.new_page()
    page.goto(f"{server}/chapters/binary-cross-entropy.html", wait_until="load")
    page.evaluate("document.documentElement.dataset.theme = 'dark'")
    page.wait_for_timeout(100)
    body = page.eval_on_selector("body", "b => getComputedStyle(b).backgroundColor")
    figure = page.locator(".cell_output img").first
    figure.scroll_into_view_if_needed()
    pixels = Image.open(io.BytesIO(figure.screenshot())).convert("L")
    context.close()
    assert _luminance(body) < 0.3  # the page did turn dark
    assert ImageStat.Stat(pixels).mean[0] / 255 > 0.7  # the figure did not


def _luminance(css_rgb: str) -> float:
    r, g, b = (int(v) for v in re.findall(r"\d+", css_rgb)[:3])
    return (0.2126 * r + 0.7152 * g + 0.0722 * b) / 255


def _words(text: str) -> set[str]:
    return {w.lower() for w in re.findall(r"[A-Za-z]{8,}", text)}


def _unique_word(notebook) -> str:
    """A long word of the chapter's prose that no other page's source contains."""
    own = _words("\n".join(c.source for c in nbformat.read(notebook, as_version=4).cells
                            if c.cell_type == "markdown"))
    others = set()
    for path in sorted(CHAPTERS.glob("*.ipynb")) + sorted(CHAPTERS.glob("*.md")):
        if path != notebook:
            others |= _words(path.read_text())
    candidates = sorted(own - others)
    assert candidates, f"{notebook.name} has no word of its own"
    return candidates[0]


# The first and the last chapter: each search is a page load, and two show the index
# covers the book from end to end.
SEARCHED = [CHAPTER_NOTEBOOKS[0], CHAPTER_NOTEBOOKS[-1]] if CHAPTER_NOTEBOOKS else []


@pytest.mark.parametrize("notebook", SEARCHED, ids=[p.stem for p in SEARCHED])
def test_search_finds_the_chapter(visit, notebook):
    word = _unique_word(notebook)
    v = visit(f"search.html?q={word}")
    v.page.wait_for_selector("#search-results ul.search li", timeout=10_000)
    links = v.page.eval_on_selector_all("#search-results ul.search li a", "as => as.map(a => a.href)")
    assert any(f"chapters/{notebook.stem}.html" in href for href in links), (word, links)


@pytest.mark.budget
def test_chapter_page_budgets_median_of_5(browser, server):
    """Each chapter page's weight and load time, the median of 5 cold loads, against the
    budgets: a measurement for a quiet machine (make budgets), never part of make test."""
    report = []
    for notebook in CHAPTER_NOTEBOOKS:
        loads = []
        for _ in range(5):
            v = Visit(browser, f"{server}/chapters/{notebook.stem}.html")
            loads.append((v.bytes, v.seconds))
            v.close()
        size = statistics.median(b for b, _ in loads)
        seconds = statistics.median(s for _, s in loads)
        report.append((notebook.stem, size, seconds))
        print(f"{notebook.stem:32s} {size / 1e6:5.2f} MB  {seconds:5.2f} s  (median of 5)")
    assert all(size <= PAGE_BYTES_BUDGET for _, size, _ in report)
    assert all(seconds <= PAGE_SECONDS_BUDGET for _, _, seconds in report)


RUN_FROM_BUNDLE = """
import pathlib, sys
import nbformat
from nbclient import NotebookClient

notebook = pathlib.Path(sys.argv[1])
nb = nbformat.read(notebook, as_version=4)
nb.cells.append(nbformat.v4.new_code_cell("import lossbook; print(lossbook.__file__)"))
NotebookClient(nb, timeout=120, resources={"metadata": {"path": str(notebook.parent)}}).execute()
print(nb.cells[-1].outputs[0]["text"].strip())
"""


def test_the_bundle_downloads_from_a_chapter_and_runs_it(browser, server, tmp_path):
    """The link under a chapter's title downloads the bundle; unpacked, a chapter executes
    from it, with the lossbook package of the bundle."""
    import subprocess
    import sys
    import zipfile

    context = browser.new_context(accept_downloads=True)
    page = context.new_page()
    page.goto(f"{server}/chapters/{CHAPTER_NOTEBOOKS[0].stem}.html", wait_until="load")
    with page.expect_download() as download:
        page.click("p.lossbook-run a")
    archive = tmp_path / download.value.suggested_filename
    download.value.save_as(archive)
    context.close()
    with zipfile.ZipFile(archive) as bundle:
        bundle.extractall(tmp_path)
    book = tmp_path / "lossbook-book"
    for needed in ("README.md", "Makefile", "requirements.txt", "pyproject.toml", "lossbook/__init__.py"):
        assert (book / needed).is_file(), needed
    assert sorted(p.name for p in (book / "chapters").glob("*.ipynb")) == [p.name for p in CHAPTER_NOTEBOOKS]
    notebook = book / "chapters" / CHAPTER_NOTEBOOKS[0].name
    run = subprocess.run([sys.executable, "-c", RUN_FROM_BUNDLE, str(notebook)], capture_output=True,
                         text=True, timeout=300, cwd=book / "chapters",
                         env={**os.environ, "PYTHONPATH": str(book)})
    assert run.returncode == 0, run.stderr[-3000:]
    assert run.stdout.strip().endswith(str(book / "lossbook" / "__init__.py")), run.stdout


def _explorables(notebook):
    """The explorable figures a chapter stores, in page order."""
    from lossbook.explore import MIME_TYPE, Explorable

    return [Explorable(output["data"][MIME_TYPE]) for cell in nbformat.read(notebook, as_version=4).cells
            if cell.cell_type == "code" for output in cell.get("outputs", [])
            if MIME_TYPE in output.get("data", {})]


EXPLORABLE = [p for p in CHAPTER_NOTEBOOKS if _explorables(p)]

#: What the figure's charts draw now: per panel, per series, the points of its line.
DRAWN = """id => window.lossbookCharts[id].map(chart =>
    chart.data.datasets.map(d => ({series: d.label, points: d.data.map(p => [p.x, p.y])})))"""


def _expected(figure, setting) -> list:
    """What the charts should draw at ``setting``, computed from the stored table."""
    spec, rows = figure.spec, figure.selected(setting)
    panels = spec["panels"]["values"] if spec["panels"] else [None]
    drawn = []
    for panel in panels:
        shown = rows if panel is None else rows[rows[spec["panels"]["field"]] == panel]
        drawn.append([{"series": series,
                       "points": shown[shown[spec["series"]["field"]] == series][[spec["x"]["field"], spec["y"]["field"]]]
                       .astype(object).where(lambda t: t.notna(), None).values.tolist()}
                      for series in spec["series"]["values"]])
    return drawn


def _move(figure, control: dict, value) -> None:
    if control["kind"] == "radio":
        figure.locator(f'input[type="radio"][name="{control["name"]}"][value="{value}"]').check()
    else:
        figure.locator(f'input[type="range"][name="{control["name"]}"]').fill(str(control["settings"].index(value)))


@pytest.mark.parametrize("notebook", EXPLORABLE, ids=[p.stem for p in EXPLORABLE])
def test_explorable_figures_draw_what_the_chapter_computed(visit, notebook):
    """Moving each control of each explorable figure through all its settings redraws exactly
    the points the chapter computed for that setting, read back from the page's charts; the
    static figure before it is hidden; no console error, no request leaving the machine."""
    v = visit(f"chapters/{notebook.stem}.html")
    stored = _explorables(notebook)
    figures = v.page.locator(".lossbook-explorable")
    assert figures.count() == len(stored)
    v.page.wait_for_function(f"document.querySelectorAll('.lossbook-explorable-ready').length === {len(stored)}")
    for index, explorable in enumerate(stored):
        figure = figures.nth(index)
        ident = figure.get_attribute("id")
        setting = {c["name"]: c["start"] for c in explorable.spec["controls"]}
        assert v.page.evaluate(DRAWN, ident) == _expected(explorable, setting)
        for control in explorable.spec["controls"]:
            for value in control["settings"][1:] + control["settings"][:1]:
                _move(figure, control, value)
                setting[control["name"]] = value
                assert v.page.evaluate(DRAWN, ident) == _expected(explorable, setting), (index, setting)
        static = figure.evaluate("f => [...f.closest('.cell_output').querySelectorAll('img')].map(i => i.checkVisibility())")
        assert static == [False] * len(static)
    assert v.console_errors == [] and v.failed == [] and v.outside == []


def test_only_pages_with_an_explorable_figure_load_its_script(visit):
    if not EXPLORABLE:
        pytest.skip("no chapter has an explorable figure")
    plain = next(p for p in CHAPTER_NOTEBOOKS if p not in EXPLORABLE)
    for notebook, loads in ((EXPLORABLE[0], True), (plain, False)):
        scripts = visit(f"chapters/{notebook.stem}.html").page.eval_on_selector_all("script[src]", "s => s.map(e => e.src)")
        assert any("lossbook-explorable.js" in src for src in scripts) == loads, notebook.stem
