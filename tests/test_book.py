"""Book hygiene: the table of contents, and stored outputs nbval can trust.

nbval compares only what is stored: a cell never executed, a partial re-run, or an error
that should not be there would slip through it. These tests catch each of those, and check
that the sanitizers of tests/nbval.cfg cannot hide a changed digit.
"""

import configparser
import copy
import re
import subprocess
import sys

import nbformat
import pytest
from tests.helpers import CHAPTERS, ROOT, chapter_notebooks, toc_files

from lossbook.notebooks import code_digest, hygiene, output_text, read_timings

NOTEBOOKS = chapter_notebooks()
CHAPTER_1 = CHAPTERS / "binary-cross-entropy.ipynb"


def _read(path):
    return nbformat.read(path, as_version=4)


def test_every_toc_entry_exists():
    missing = [f for f in toc_files()
               if not any((ROOT / f"{f}{ext}").is_file() for ext in (".md", ".ipynb"))]
    assert not missing, f"_toc.yml names files that do not exist: {missing}"


def test_every_chapter_is_in_the_toc():
    listed = set(toc_files())
    pages = sorted(CHAPTERS.glob("*.ipynb")) + sorted(CHAPTERS.glob("*.md"))
    absent = [p.name for p in pages if str(p.relative_to(ROOT).with_suffix("")) not in listed]
    assert not absent, f"chapters missing from _toc.yml: {absent}"


def test_the_introduction_lists_every_chapter_in_reading_order():
    """The intro's "What it covers" links each chapter by its label, in the order of
    _toc.yml: adding, removing or moving a chapter shows here."""
    intro = (CHAPTERS / "intro.md").read_text()
    listed = re.findall(r"^- \{ref\}`([\w-]+)`", intro, re.M)
    chapters = [f.split("/")[-1] for f in toc_files() if (ROOT / f"{f}.ipynb").is_file()]
    assert listed == chapters


@pytest.mark.parametrize("path", NOTEBOOKS, ids=[p.name for p in NOTEBOOKS])
def test_chapter_hygiene(path):
    assert hygiene(_read(path)) == []


@pytest.mark.parametrize("path", NOTEBOOKS, ids=[p.name for p in NOTEBOOKS])
def test_chapter_opens_with_a_label_and_a_title_and_ends_with_references(path):
    """The first cell is the chapter's label (its file name, what other
    pages link to) and its title."""
    cells = _read(path).cells
    label = path.stem
    assert cells[0].cell_type == "markdown" and cells[0].source.startswith(f"({label})=\n# ")
    assert any(c.cell_type == "markdown" and c.source.startswith("## Summary") for c in cells)
    assert any(c.cell_type == "markdown" and "{cite}" in c.source for c in cells)


EXERCISE = re.compile(r"```\{exercise\}\n:label: (\S+)\n.*?```\s*```\{solution-start\} (\S+)\n:class: dropdown\n```\s*$", re.S)


def exercises(nb) -> list[tuple[str, int]]:
    """``(label, solution code cells)`` for each exercise of a chapter, or an AssertionError
    saying how its layout is wrong. An exercise is a markdown cell holding the
    ``{exercise}`` directive followed by the ``{solution-start}`` of the same label; then
    the solution's code cells; then a markdown cell holding only ``{solution-end}``."""
    found, cells = [], nb.cells
    for i, cell in enumerate(cells):
        if cell.cell_type != "markdown" or "{exercise}" not in cell.source:
            continue
        match = EXERCISE.search(cell.source)
        assert match and match.group(1) == match.group(2), f"exercise without its solution: {cell.source!r}"
        end = next((j for j in range(i + 1, len(cells)) if cells[j].cell_type == "markdown"), None)
        assert end is not None and cells[end].source.strip() == "```{solution-end}\n```", \
            f"solution of {match.group(1)} is not closed by a solution-end cell"
        found.append((match.group(1), end - i - 1))
    return found


@pytest.mark.parametrize("path", NOTEBOOKS, ids=[p.name for p in NOTEBOOKS])
def test_every_exercise_has_its_solution_right_after_it(path):
    nb = _read(path)
    found = exercises(nb)
    assert found, f"{path.name} has no exercise"
    assert all(code >= 1 for _, code in found), found
    labels = [label for label, _ in found]
    assert len(set(labels)) == len(labels), labels
    assert all(label.startswith(path.stem) for label in labels), labels
    listed = [c for c in nb.cells if c.cell_type == "markdown" and re.search(r"^## Exercises", c.source, re.M)]
    assert len(listed) == 1 and not re.search(r"^\d+\. ", listed[0].source, re.M), \
        "exercises are directives, not a numbered list"


def test_exercises_finds_a_solution_missing_or_left_open():
    nb = _read(CHAPTER_1)
    first = next(i for i, c in enumerate(nb.cells) if "{exercise}" in c.source)
    broken = copy.deepcopy(nb)
    broken.cells[first].source = broken.cells[first].source.split("```{solution-start}")[0]
    with pytest.raises(AssertionError, match="without its solution"):
        exercises(broken)
    unclosed = copy.deepcopy(nb)
    end = next(i for i in range(first + 1, len(nb.cells)) if nb.cells[i].cell_type == "markdown")
    unclosed.cells[end].source = "Some text."
    with pytest.raises(AssertionError, match="not closed"):
        exercises(unclosed)


#: A chapter number typed in prose ("chapter 3", "Chapters 1 to 4"): links and numbers come
#: from labels ({numref}`Chapter %s <weights>`, {ref}`weights`), which the build keeps right.
TYPED_CHAPTER = re.compile(r"\b[Cc]hapters? \d")


@pytest.mark.parametrize("path", NOTEBOOKS + [CHAPTERS / "intro.md"], ids=lambda p: p.name)
def test_prose_types_no_chapter_number_and_no_article_label(path):
    if path.suffix == ".md":
        prose, outputs = path.read_text(), ""
    else:
        nb = _read(path)
        prose = "\n".join(c.source for c in nb.cells if c.cell_type == "markdown")
        outputs = "\n".join(output_text(o) for c in _code(nb) for o in c.outputs)
    assert not TYPED_CHAPTER.findall(prose), TYPED_CHAPTER.findall(prose)
    assert not re.findall(r"\barticles? 00\d", prose + outputs, re.I)


def test_typed_chapter_numbers_are_found():
    assert TYPED_CHAPTER.findall("as chapter 3 shows; Chapters 1 to 4") == ["chapter 3", "Chapters 1"]
    assert not TYPED_CHAPTER.findall("{numref}`Chapter %s <weights>` and {ref}`weights`")


def _code(nb):
    return [c for c in nb.cells if c.cell_type == "code"]


def test_hygiene_finds_a_cell_never_executed():
    nb = _read(CHAPTER_1)
    _code(nb)[3].execution_count = None
    assert any("never executed" in p for p in hygiene(nb))


def test_hygiene_finds_counts_out_of_order():
    nb = _read(CHAPTER_1)
    _code(nb)[2].execution_count, _code(nb)[3].execution_count = 4, 3
    assert any("in order" in p for p in hygiene(nb))


def test_hygiene_finds_an_error_in_an_untagged_cell():
    nb = _read(CHAPTER_1)
    tagged = next(c for c in _code(nb) if "raises-exception" in c.metadata.get("tags", []))
    untagged = next(c for c in _code(nb) if not c.metadata.get("tags"))
    untagged.outputs = copy.deepcopy(tagged.outputs)
    assert any("no raises-exception tag" in p for p in hygiene(nb))


def test_hygiene_finds_a_stale_raises_exception_tag():
    nb = _read(CHAPTER_1)
    tagged = next(c for c in _code(nb) if "raises-exception" in c.metadata.get("tags", []))
    tagged.outputs = []
    assert any("raised nothing" in p for p in hygiene(nb))


def test_hygiene_finds_a_machine_path_and_a_missing_setup():
    nb = _read(CHAPTER_1)
    _code(nb)[1].outputs = [nbformat.v4.new_output("stream", name="stdout",
                                                   text=f"saved to {ROOT}/x.csv\n")]
    _code(nb)[0].source = "import torch"
    problems = hygiene(nb)
    assert any("machine path" in p for p in problems)
    assert any("lb.setup()" in p for p in problems)


def _sanitizers():
    config = configparser.ConfigParser()
    config.read(ROOT / "tests" / "nbval.cfg")
    return [(re.compile(config[s]["regex"]), config[s]["replace"]) for s in config.sections()]


def _sanitize(text, sanitizers):
    for regex, replace in sanitizers:
        text = regex.sub(replace, text)
    return text


@pytest.mark.parametrize("path", NOTEBOOKS, ids=[p.name for p in NOTEBOOKS])
def test_sanitizers_keep_every_digit_checked(path):
    """Change any one digit of a checked output (outside a sanitizer's own match) and the
    sanitized texts differ, so nbval sees the change."""
    sanitizers = _sanitizers()
    checked = 0
    for cell in _code(_read(path)):
        if "nbval-ignore-output" in cell.metadata.get("tags", []):
            continue
        for out in cell.outputs:
            text = output_text(out)
            masked = set()
            for regex, _ in sanitizers:
                for m in regex.finditer(text):
                    masked.update(range(*m.span()))
            for i, ch in enumerate(text):
                if ch.isdigit() and i not in masked:
                    changed = text[:i] + str((int(ch) + 1) % 10) + text[i + 1:]
                    assert _sanitize(changed, sanitizers) != _sanitize(text, sanitizers)
                    checked += 1
    assert checked > 0


def test_nbval_with_this_config_fails_on_a_changed_output(tmp_path):
    """End to end: a stored output that the code no longer produces fails pytest."""
    nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell("print(6 * 7)")])
    nb.cells[0].execution_count = 1
    nb.cells[0].outputs = [nbformat.v4.new_output("stream", name="stdout", text="43\n")]
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    path = tmp_path / "changed.ipynb"
    nbformat.write(nb, path)
    run = subprocess.run(
        [sys.executable, "-m", "pytest", "-c", str(ROOT / "pyproject.toml"), "--rootdir", str(ROOT),
         "-n", "0", "-q", str(path)],
        capture_output=True, text=True, cwd=ROOT, timeout=120,
    )
    assert run.returncode == 1, run.stdout + run.stderr
    assert "1 failed" in run.stdout


@pytest.mark.parametrize("path", NOTEBOOKS, ids=[p.name for p in NOTEBOOKS])
def test_recorded_execution_time_is_fresh(path):
    """chapters/timings.csv, written by `make execute` and `make budgets`, holds a timing of
    this chapter's current code (whether it is within budget is for `make budgets`)."""
    nb = _read(path)
    row = read_timings().get(path.stem)
    assert row is not None, f"no recorded execution of {path.name}: run make execute CHAPTER={path}"
    assert row["code_digest"] == code_digest(nb), f"{path.name} changed since it was timed: make execute"


def test_requirements_pin_every_installed_package():
    """Whatever the virtual environment has, requirements.txt pins, exactly: a package
    installed by hand would pass here and fail on a fresh machine."""
    import pathlib
    import site
    from importlib import metadata

    pinned = {}
    for line in (ROOT / "requirements.txt").read_text().splitlines():
        line = line.split("#")[0].strip()
        if "==" in line:
            name, version = line.split("==")
            pinned[name.strip().lower().replace("_", "-")] = version.strip()
    site_packages = {pathlib.Path(p).resolve() for p in site.getsitepackages()}
    installed = {d.metadata["Name"].lower().replace("_", "-"): d.version
                 for d in metadata.distributions()  # not the copies vendored inside packages
                 if pathlib.Path(d.locate_file("")).resolve() in site_packages}
    installed.pop("lossbook", None)
    for tool in ("pip", "setuptools", "wheel"):
        installed.pop(tool, None)
    unpinned = sorted(set(installed) - set(pinned))
    assert not unpinned, f"installed but not pinned in requirements.txt: {unpinned}"
    missing = sorted(set(pinned) - set(installed))
    assert not missing, f"pinned but not installed (run make to reinstall): {missing}"
    wrong = {n: (pinned[n], v) for n, v in installed.items() if v.split("+")[0] != pinned[n]}
    assert not wrong, f"pinned versions differ from the installed ones: {wrong}"


#: Spellings that chapters/notation.md retired, found in the math of a chapter's markdown:
#: each regex with what the book writes instead.
RETIRED_IN_MATH = [
    (r"(?<![\w\\])s\(", "the sigmoid is \\sigma(z), not s(z)"),
    (r"\by\s*(?:\\cdot\s*)?s\b", "the margin is t z, not y s"),
    (r"(?<![\w\\])[a-z]_\{?i\b|\\ell_i\b|\\sum_i\b|\{i=1\}", "elements are indexed by n, not i"),
    (r"\\log w\b|\(1 \+ w\)", "pos_weight is \\rho: log \\rho and 1/(1 + \\rho)"),
    (r"\\sigma(?![('a-zA-Z])", "\\sigma is the sigmoid; a standard deviation is sd"),
]
#: ... and in the prose around it.
RETIRED_IN_PROSE = [
    (r"`pos_weight = w`|`pos_weight` \$= w\$|pos_weight=w_pos", "pos_weight is \\rho"),
    (r"label_smoothing=e\b", "label smoothing is \\varepsilon"),
    (r"\$s\$|\$s = ", "a logit, or a margin loss's score, is z"),
]


def retired_spellings(markdown: str) -> list[str]:
    """The retired spellings in ``markdown``, each as ``'found: what to write'``."""
    math = "\n".join(a or b for a, b in re.findall(r"\$\$(.+?)\$\$|\$(.+?)\$", markdown, re.S))
    found = [f"{m.group(0)!r}: {why}" for regex, why in RETIRED_IN_MATH
             for m in re.finditer(regex, math)]
    found += [f"{m.group(0)!r}: {why}" for regex, why in RETIRED_IN_PROSE
              for m in re.finditer(regex, markdown)]
    return found


def test_notation_retired_spellings_are_found():
    old = ("$s(z) = 1 / (1 + e^{-z})$, the margin $y \\cdot s$, "
           "$\\ell_i = w_i l_i$ and `pos_weight = w` adds $\\log w$; standard deviation $\\sigma$")
    reasons = {found.split(": ", 1)[1] for found in retired_spellings(old)}
    assert len(reasons) == 6, retired_spellings(old)
    new = ("$\\sigma(z) = 1 / (1 + e^{-z})$, the margin $tz$, $\\ell_n = w_n \\ell_n$, "
           "`pos_weight` $= \\rho$ adds $\\log \\rho$, $\\sigma'(z)$, $\\mathrm{softplus}(z)$, "
           "$\\pi_{\\text{train}}$")
    assert retired_spellings(new) == []


@pytest.mark.parametrize("path", NOTEBOOKS, ids=[p.name for p in NOTEBOOKS])
def test_notation_chapters_use_the_book_notation(path):
    prose = "\n".join(c.source for c in _read(path).cells if c.cell_type == "markdown")
    assert retired_spellings(prose) == []


def test_notation_page_lists_every_symbol_and_its_torch_argument():
    page = (CHAPTERS / "notation.md").read_text()
    assert page.startswith("(notation)=\n# Notation")
    rows = {row.split(" | ")[0].strip("| "): row for row in page.splitlines()
            if row.startswith("| $")}
    for symbol in ["$z$", "$\\sigma(z) = 1 / (1 + e^{-z})$", "$p = \\sigma(z)$", "$y \\in \\{0, 1\\}$",
                   "$t = 2y - 1 \\in \\{-1, +1\\}$", "$tz$", "$w$, $w_n$", "$\\rho$, $\\rho_c$",
                   "$\\ell_n$", "$L$", "$N$, $C$", "$z_{n,c}$", "$p_{n,c}$", "$q$, $q_{n,c}$",
                   "$\\varepsilon$", "$\\gamma$, $\\alpha$", "$\\eta$", "$T$", "$\\tau$",
                   "$c_{\\mathrm{FP}}$, $c_{\\mathrm{FN}}$"]:
        assert symbol in rows, f"the notation page has no row for {symbol}"
    for symbol, argument in [("$\\rho$, $\\rho_c$", "`pos_weight`"), ("$w$, $w_n$", "`weight`"),
                             ("$p = \\sigma(z)$", "`input` of `BCELoss`"),
                             ("$z$", "`input` of `BCEWithLogitsLoss`"),
                             ("$y \\in \\{0, 1\\}$", "`target`"),
                             ("$\\varepsilon$", "`label_smoothing`")]:
        assert argument in rows[symbol], (symbol, argument)
    assert retired_spellings(page) == []


def test_notation_of_lossbook_docstrings():
    """lossbook's docstrings write the chapters' symbols: rho for pos_weight, sigma(z) for the
    sigmoid, t z for the margin."""
    import inspect

    import lossbook.functional
    import lossbook.modules

    assert re.search(r"``ρ`` the positive-class weight ``pos_weight``", lossbook.functional.__doc__)
    assert "``σ(z) = 1 / (1 + exp(-z))`` the sigmoid" in lossbook.functional.__doc__
    assert "pos_weight: optional weight ``ρ``" in lossbook.functional.binary_cross_entropy_with_logits.__doc__
    for module in (lossbook.functional, lossbook.modules):
        for name, member in vars(module).items():
            doc = inspect.getdoc(member) if callable(member) else None
            if doc and getattr(member, "__module__", None) == module.__name__:
                assert not re.search(r"(?<![\w\\])s\((?:-?z|p|0|1)", doc), f"{name}: s(z) for the sigmoid"
                assert not re.search(r"\by \*? ?s\b", doc), f"{name}: y s for the margin"
                assert not re.search(r"``p`` (?:of|a) (?:the )?positive|weight ``p``", doc), f"{name}: p for pos_weight"
