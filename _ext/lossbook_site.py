"""Local Sphinx extension: what the book's website needs beyond Jupyter Book's defaults.

- MathJax from the site itself: the smallest part of the MathJax 3 copy shipped by the
  ``sphinx-mathjax-offline`` package that the pages load, so formulas render with no
  network. The pages load MathJax's loader (``startup.js``) and from it only the TeX input,
  the CHTML output with its web fonts, the TeX extensions TeX may autoload, and the
  assistive MathML for screen readers; not the 430 kB context menu the combined
  ``tex-chtml.js`` carries.
- No duplicated inline scripts: Jupyter Book 1 registers sphinx-thebe's and
  sphinx-togglebutton's configuration scripts twice; a second ``const THEBE_JS_URL`` is a
  syntax error in the browser console. Identical scripts are kept once per page.
- The book to run: every build writes ``lossbook-book.zip`` next to the pages, with the
  chapters, the ``lossbook`` package, ``requirements.txt``, the ``Makefile`` and a short
  README (``_ext/bundle-README.md``); the introduction and every chapter page say in one
  line how to run it, with a link to it.
- The API page links each public function and class of ``lossbook`` to the chapter that
  first uses it, found in the chapters' code in reading order (``lb.module.name``).
- Explorable figures (``lossbook.explore``): ``_static/lossbook-explorable.js`` holds Chart.js
  (``_ext/vendor/chart.js``, pinned: :data:`CHART_JS_SHA256`) and the script that draws the
  figures (``_ext/explorable.js``); only the pages that have such a figure load it.
"""

from __future__ import annotations

import hashlib
import importlib.util
import json
import pathlib
import re
import shutil
import zipfile

#: The MathJax files the pages load, relative to the MathJax root.
MATHJAX_FILES = (
    "startup.js",
    "core.js",
    "input/tex.js",
    "input/tex/extensions",
    "output/chtml.js",
    "output/chtml/fonts/tex.js",
    "output/chtml/fonts/woff-v2",
    "a11y/assistive-mml.js",
)
MATHJAX_PATH = "mathjax/startup.js"
#: What startup.js loads (myst-parser adds its own ``options`` to this configuration).
MATHJAX_CONFIG = {"loader": {"load": ["input/tex", "output/chtml", "a11y/assistive-mml"]}}


#: The download that holds everything needed to run the chapters, at the site's root.
BUNDLE = "lossbook-book.zip"
#: What goes into it, relative to the book's root (folders recursively, except caches).
BUNDLE_FILES = ("chapters", "lossbook", "requirements.txt", "pyproject.toml", "Makefile")
BUNDLE_SUFFIXES = {".ipynb", ".py", ".csv", ".txt", ".toml", ""}
BUNDLE_README = pathlib.Path(__file__).with_name("bundle-README.md")
#: Files written into the archive with this date, so two builds give the same bytes.
ZIP_DATE = (2026, 1, 1, 0, 0, 0)


def bundle_members(root: pathlib.Path) -> list[pathlib.Path]:
    """The files of the bundle, relative to ``root``: the chapters' notebooks and data, the
    package's sources, and the files that install and run them."""
    members = []
    for name in BUNDLE_FILES:
        path = root / name
        paths = sorted(path.rglob("*")) if path.is_dir() else [path]
        members += [p.relative_to(root) for p in paths if p.is_file()
                    and p.suffix in BUNDLE_SUFFIXES and "__pycache__" not in p.parts
                    and ".ipynb_checkpoints" not in p.parts and not p.name.startswith(".")]
    return members


def write_bundle(app, exception) -> None:
    if exception is not None or app.builder.format != "html":
        return
    root = pathlib.Path(app.srcdir)
    with zipfile.ZipFile(pathlib.Path(app.outdir) / BUNDLE, "w", zipfile.ZIP_DEFLATED) as archive:
        for relative in [pathlib.Path("README.md"), *bundle_members(root)]:
            source = BUNDLE_README if relative.name == "README.md" and len(relative.parts) == 1 else root / relative
            info = zipfile.ZipInfo(f"lossbook-book/{relative.as_posix()}", date_time=ZIP_DATE)
            info.compress_type, info.external_attr = zipfile.ZIP_DEFLATED, 0o644 << 16
            archive.writestr(info, source.read_bytes())


def add_run_line(app, pagename, templatename, context, doctree) -> None:
    """Under the title of the introduction and of every chapter (a notebook), one line:
    how to run it, with the link to the bundle."""
    if doctree is None or "body" not in context:
        return
    is_notebook = str(app.env.doc2path(pagename)).endswith(".ipynb")
    if not (is_notebook or pagename == app.config.root_doc):
        return
    href = "../" * pagename.count("/") + BUNDLE
    what = "this chapter" if is_notebook else "the chapters"
    line = (f'<p class="lossbook-run">To run {what} yourself: download '
            f'<a class="reference download" href="{href}">{BUNDLE}</a> (the notebooks, the '
            "<code>lossbook</code> package and the pinned requirements), unpack it and type "
            "<code>make lab</code> in its folder.</p>")
    context["body"] = context["body"].replace("</h1>", "</h1>" + line, 1)


def first_uses(root: pathlib.Path, toc: list[str]) -> dict[str, str]:
    """``{"lossbook.module.name": chapter label}``: the first chapter, in reading order,
    whose code calls ``lb.module.name`` (or ``lb.name`` for what the package exports)."""
    uses: dict[str, str] = {}
    for page in toc:
        path = root / f"{page}.ipynb"
        if not path.is_file():
            continue
        cells = json.loads(path.read_text())["cells"]
        code = "\n".join("".join(c["source"]) for c in cells if c["cell_type"] == "code")
        label = path.stem
        for module, name in re.findall(r"\blb\.(?:(\w+)\.)?(\w+)", code):
            uses.setdefault(f"lossbook.{module}.{name}" if module else f"lossbook.{name}", label)
    return uses


def link_first_use(app, what, name, obj, options, lines) -> None:
    if what not in ("function", "class"):
        return
    if not hasattr(app.env, "lossbook_first_uses"):
        toc = [line.split("file:")[1].strip() for line in (pathlib.Path(app.srcdir) / "_toc.yml").read_text().splitlines()
               if "file:" in line]
        app.env.lossbook_first_uses = first_uses(pathlib.Path(app.srcdir), toc)
    uses = app.env.lossbook_first_uses
    # A chapter calls lb.bench.run for lossbook.bench.record.run, lb.diagnose for
    # lossbook.diagnosis.diagnose: try the name, then its package's, then the top level's.
    parts, last = name.split("."), name.rsplit(".", 1)[-1]
    names = [name, f"lossbook.{parts[1]}.{last}" if len(parts) > 3 else "", f"lossbook.{last}"]
    ours = getattr(obj, "__module__", "").startswith("lossbook")
    label = next((uses[n] for n in names[: 3 if ours else 1] if n in uses), None)
    if label:
        lines.extend(["", f"Introduced in :ref:`{label}`."])


def mathjax_source() -> pathlib.Path:
    """The MathJax 3 tree inside the installed ``sphinx-mathjax-offline`` package."""
    spec = importlib.util.find_spec("sphinx-mathjax-offline")
    if spec is None or not spec.submodule_search_locations:
        raise RuntimeError("sphinx-mathjax-offline is not installed; pip install -r requirements.txt")
    return pathlib.Path(next(iter(spec.submodule_search_locations))) / "static" / "mathjax"


def copy_mathjax(app, exception) -> None:
    if exception is not None or app.builder.format != "html":
        return
    source, target = mathjax_source(), pathlib.Path(app.outdir) / "_static" / "mathjax"
    for relative in MATHJAX_FILES:
        src, dst = source / relative, target / relative
        dst.parent.mkdir(parents=True, exist_ok=True)
        if src.is_dir():
            shutil.copytree(src, dst, dirs_exist_ok=True)
        else:
            shutil.copy2(src, dst)


def drop_duplicate_scripts(app, pagename, templatename, context, doctree) -> None:
    scripts = context.get("script_files")
    if not scripts:
        return
    seen, unique = set(), []
    for script in scripts:
        key = (script.filename or "", tuple(sorted(script.attributes.items())))  # None == ""
        if key not in seen:
            seen.add(key)
            unique.append(script)
    scripts[:] = unique


#: The scripts of the pages with an explorable figure (outside _static/, whose scripts
#: Jupyter Book adds to every page), and the one file they become on the site.
EXPLORABLE_SOURCE = pathlib.Path(__file__).with_name("explorable.js")
CHART_JS = pathlib.Path(__file__).parent / "vendor" / "chart.js" / "chart.umd.min.js"
#: Chart.js 4.6.1 as published on npm (dist/chart.umd.min.js of chart.js-4.6.1.tgz).
CHART_JS_SHA256 = "87364cc2b2a76a6684929e7d6b80b18a897794db38400caff1fcf1791c6925d2"
EXPLORABLE_SCRIPT = "lossbook-explorable.js"


def add_explorable_script(app, pagename, templatename, context, doctree) -> None:
    if 'class="lossbook-explorable"' in context.get("body", ""):
        app.add_js_file(EXPLORABLE_SCRIPT)


def write_explorable_script(app, exception) -> None:
    if exception is not None or app.builder.format != "html":
        return
    raw = CHART_JS.read_bytes()
    if hashlib.sha256(raw).hexdigest() != CHART_JS_SHA256:
        raise RuntimeError(f"{CHART_JS} is not Chart.js 4.6.1 as published; restore it from npm")
    # Its source map is not served: no request for it from a reader's developer tools.
    library = re.sub(r"\n//# sourceMappingURL=\S+\s*$", "\n", raw.decode())
    target = pathlib.Path(app.outdir) / "_static" / EXPLORABLE_SCRIPT
    target.write_text(library + EXPLORABLE_SOURCE.read_text())


def setup(app):
    app.config.mathjax_path = MATHJAX_PATH
    app.config.mathjax3_config = {**MATHJAX_CONFIG, **(app.config.mathjax3_config or {})}
    app.connect("build-finished", copy_mathjax)
    app.connect("build-finished", write_bundle)
    app.connect("build-finished", write_explorable_script)
    app.connect("html-page-context", add_explorable_script)
    app.connect("html-page-context", add_run_line)
    app.connect("autodoc-process-docstring", link_first_use)
    # Before the theme's listeners: html-page-context stops at the first one returning a value.
    app.connect("html-page-context", drop_duplicate_scripts, priority=100)
    return {"parallel_read_safe": True, "parallel_write_safe": True}
