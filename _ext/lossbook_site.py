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
"""

from __future__ import annotations

import importlib.util
import pathlib
import shutil

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


def setup(app):
    app.config.mathjax_path = MATHJAX_PATH
    app.config.mathjax3_config = {**MATHJAX_CONFIG, **(app.config.mathjax3_config or {})}
    app.connect("build-finished", copy_mathjax)
    # Before the theme's listeners: html-page-context stops at the first one returning a value.
    app.connect("html-page-context", drop_duplicate_scripts, priority=100)
    return {"parallel_read_safe": True, "parallel_write_safe": True}
