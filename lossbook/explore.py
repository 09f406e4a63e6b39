"""Explorable figures: curves computed by torch on a grid of a control, which the reader moves.

A chapter computes its values for every setting of the control (a dtype, ``pos_weight``,
the focal loss's γ and α, a margin), puts them in a long pandas table, one row per plotted
point, and shows :func:`curves`. Moving a control only selects rows of that table: the page
draws the values the chapter computed, nothing is computed in the browser.

What a reader sees where:

- On the website, a figure drawn by Chart.js (served by the site itself, loaded only by pages
  that have such a figure) with its controls under it; :class:`SiteRenderer` turns the
  stored output into that markup.
- Everywhere else (JupyterLab, a downloaded notebook, a browser without JavaScript), the
  static matplotlib figure of the controls' first setting, displayed just before it.

Stored outputs are the contract, and these are compared as data: every float is rounded to
:data:`SIGNIFICANT_DIGITS` significant digits, and rounding noise around 0 is flushed to 0
(:func:`flush_noise`), so the last bits a CPU's kernels may change never reach the page. JSON has no inf or NaN: a non-finite value is stored as ``null`` and
drawn as a gap in its line.
"""

from __future__ import annotations

import hashlib
import html
import json
from collections.abc import Mapping
from typing import Any

import numpy as np
import pandas as pd

from lossbook._setup import SIGNIFICANT_DIGITS  # the digits every printed float keeps

MIME_TYPE = "application/vnd.lossbook.explorable+json"
#: Digits a float32 result can be trusted to, before the rounding to SIGNIFICANT_DIGITS.
FLOAT32_DIGITS = 6
#: Below this fraction of its column's largest value, a number is drawn as 0 (:func:`flush_noise`).
NOISE = 1e-6
#: The series' colours in the order they appear (matplotlib's first default colours), the
#: same in the static figure and on the website.
PALETTE = ("#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd", "#8c564b")


def _round(x: np.ndarray, digits: int) -> np.ndarray:
    finite = np.isfinite(x) & (x != 0)
    exponent = np.zeros_like(x)
    exponent[finite] = np.floor(np.log10(np.abs(x[finite])))
    scale = 10.0 ** (digits - 1 - exponent)
    return np.where(finite, np.round(x * scale) / scale, x)


def round_significant(values: pd.Series, digits: int = SIGNIFICANT_DIGITS) -> pd.Series:
    """``values`` rounded to ``digits`` significant digits (0, inf and NaN unchanged).

    ``x ↦ round(x · 10^k) / 10^k`` with ``k = digits − 1 − ⌊log10 |x|⌋``, element by element,
    ties to even. First to :data:`FLOAT32_DIGITS` digits: a value that is a tie in decimal
    (1.45² = 2.1025) comes out of float32 arithmetic a little above or a little below it,
    depending on the CPU's kernels, and would round up on one CPU and down on another.
    """
    x = _round(values.to_numpy(dtype=float), FLOAT32_DIGITS)
    return pd.Series(_round(x, digits), index=values.index, name=values.name)


def flush_noise(values: pd.Series, relative: float = NOISE) -> pd.Series:
    """``values`` with every ``|x| < relative · max |x|`` (over the finite values) set to 0.

    A value that is 0 in exact arithmetic often comes out as rounding noise (1e-16 in
    float64, 1e-8 in float32), whose digits differ between CPUs; rounding to significant
    digits keeps it. Next to the column's largest value it is 0 on any plot.
    """
    x = values.to_numpy(dtype=float)
    finite = np.abs(x[np.isfinite(x)])
    if finite.size == 0:
        return values
    out = np.where(np.abs(x) < relative * finite.max(), 0.0, x)
    return pd.Series(out, index=values.index, name=values.name)


def _check_table(frame: Any, columns: list[str]) -> None:
    if not isinstance(frame, pd.DataFrame):
        raise TypeError(f"frame: expected a pandas DataFrame, got {type(frame).__name__}")
    missing = [c for c in columns if c not in frame.columns]
    if missing:
        raise ValueError(f"frame: expected columns {columns}, missing {missing}; "
                         f"it has {list(frame.columns)}")
    if frame.empty:
        raise ValueError("frame: expected at least one row, got an empty table")


def _control(name: str, values: pd.Series, label: str, start: Any) -> dict:
    """A control: a slider over numbers (one step per setting, in increasing order), radio
    buttons over names. Rows without a value (NaN, None) are drawn at every setting."""
    values = values.dropna()
    if values.empty:
        raise ValueError(f"controls: column {name!r} has no values")
    if pd.api.types.is_numeric_dtype(values):
        settings, kind = sorted(float(v) for v in pd.unique(values)), "range"
    else:
        settings, kind = [str(v) for v in pd.unique(values)], "radio"
    if start is not None and start not in settings:
        raise ValueError(f"start: {name!r} must be one of its settings {settings}, got {start!r}")
    return {"name": name, "label": label, "kind": kind, "settings": settings,
            "start": settings[0] if start is None else start}


def curves(
    frame: pd.DataFrame,
    *,
    x: str,
    y: str,
    color: str,
    controls: Mapping[str, str],
    column: str | None = None,
    title: str = "",
    x_title: str | None = None,
    y_title: str | None = None,
    start: Mapping[str, Any] | None = None,
) -> Explorable:
    """Lines of ``y`` against ``x``, one per value of ``color``, at the controls' setting.

    Args:
        frame: one row per plotted point, long format: the ``x``, ``y`` and ``color``
            columns, one column per control, and ``column`` if given.
        x, y, color: the columns of the horizontal axis, the vertical axis and the series.
        controls: column → label of its control. A numeric column becomes a slider that
            steps through its values in increasing order, any other a set of radio buttons.
            A row whose value is missing (NaN, None) is drawn at every setting: a curve
            that does not depend on the control is stored once.
        column: a column whose values get a panel each, side by side, each with its own
            vertical scale (for example the loss and its gradient).
        title: the figure's title.
        x_title, y_title: axis titles (default: the column names; ``""`` for none).
        start: the controls' first settings (default: the first value of each).

    Returns:
        The figure: Jupyter displays its static version, then the explorable one.
    """
    columns = [x, y, color, *controls, *([column] if column else [])]
    _check_table(frame, columns)
    for name in (x, y):
        if not pd.api.types.is_numeric_dtype(frame[name]):
            raise TypeError(f"{name}: expected a numeric column, got dtype {frame[name].dtype}")
    start = dict(start or {})
    series = [str(v) for v in pd.unique(frame[color])]
    spec = {
        "title": title,
        "x": {"field": x, "title": x if x_title is None else x_title},
        "y": {"field": y, "title": y if y_title is None else y_title},
        "series": {"field": color, "values": series,
                   "colors": [PALETTE[k % len(PALETTE)] for k in range(len(series))]},
        "panels": ({"field": column, "values": [str(v) for v in pd.unique(frame[column])]}
                   if column else None),
        "controls": [_control(name, frame[name], label, start.pop(name, None))
                     for name, label in controls.items()],
    }
    if start:
        raise ValueError(f"start: expected settings of the controls {list(controls)}, got {sorted(start)}")
    table = {}
    for name in dict.fromkeys(columns):
        values = frame[name]
        if pd.api.types.is_numeric_dtype(values):
            rounded = round_significant(flush_noise(values.astype(float)))
            table[name] = [v if np.isfinite(v) else None for v in rounded.tolist()]
        else:  # names are stored once, each row holds its name's index
            levels = [str(v) for v in pd.unique(values.dropna())]
            index = {level: i for i, level in enumerate(levels)}
            table[name] = {"levels": levels,
                           "codes": [None if pd.isna(v) else index[str(v)] for v in values]}
    # One compact line in the notebook's JSON instead of one line per number.
    spec["table"] = json.dumps(table, separators=(",", ":"), ensure_ascii=False, allow_nan=False)
    return Explorable(spec)


class Explorable:
    """An explorable figure: its table, its controls, and how it is drawn.

    Attributes:
        spec: what the page needs, JSON-compatible: titles, the series, the panels, the
            controls with their settings, and the table by column as one JSON string.
    """

    def __init__(self, spec: dict):
        self.spec = spec

    def data(self) -> pd.DataFrame:
        """The table the figure draws from, every setting of every control."""
        return pd.DataFrame({name: [None if c is None else column["levels"][c] for c in column["codes"]]
                             if isinstance(column, dict) else column
                             for name, column in self.columns().items()})

    def columns(self) -> dict:
        """The stored table, by column: numbers as they are drawn (``None`` for a gap), names
        as ``{"levels": [...], "codes": [...]}``."""
        return json.loads(self.spec["table"])

    def selected(self, setting: Mapping[str, Any] | None = None) -> pd.DataFrame:
        """The rows drawn at ``setting`` (control → value; the others at their start)."""
        data = self.data()
        chosen = {c["name"]: c["start"] for c in self.spec["controls"]} | dict(setting or {})
        mask = np.ones(len(data), dtype=bool)
        for name, value in chosen.items():
            mask &= ((data[name] == value) | data[name].isna()).to_numpy()
        return data[mask]

    def static(self):
        """The matplotlib figure of the controls' first setting."""
        import matplotlib.pyplot as plt

        spec, rows = self.spec, self.selected()
        panels = spec["panels"]["values"] if spec["panels"] else [None]
        fig, axes = plt.subplots(1, len(panels), figsize=(4.2 * len(panels), 3.4), squeeze=False)
        for ax, panel in zip(axes[0], panels):
            shown = rows if panel is None else rows[rows[spec["panels"]["field"]] == panel]
            for colour, series in zip(spec["series"]["colors"], spec["series"]["values"]):
                line = shown[shown[spec["series"]["field"]] == series]
                ax.plot(line[spec["x"]["field"]], line[spec["y"]["field"]], color=colour, label=series)
            ax.set(xlabel=spec["x"]["title"], ylabel=spec["y"]["title"], title=panel or "")
        axes[0][0].legend()
        setting = ", ".join(f"{c['label']} = {c['start']}" for c in spec["controls"])
        fig.suptitle(f"{spec['title']} ({setting})" if spec["title"] else setting)
        fig.tight_layout()
        return fig

    def _ipython_display_(self):
        import matplotlib.pyplot as plt
        from IPython.display import display

        figure = self.static()
        display(figure)
        plt.close(figure)
        display(self._repr_mimebundle_(), raw=True)

    def _repr_mimebundle_(self, include=None, exclude=None):
        controls = ", ".join(c["label"] for c in self.spec["controls"])
        return {MIME_TYPE: self.spec,
                "text/plain": f"(On the book's website this figure has controls: {controls}.)"}


def figure_html(spec: dict) -> str:
    """The website's markup of an explorable figure: its spec as JSON, a place for the
    charts and one for the controls; the page's script draws them."""
    data = json.dumps(spec, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    ident = "explorable-" + hashlib.sha256(data.encode()).hexdigest()[:12]
    title = html.escape(spec.get("title") or "")
    script = data.replace("</", "<\\/")  # no "</script>" inside the data
    return (f'<figure class="lossbook-explorable" id="{ident}" aria-label="{title}">'
            f'<script type="application/json">{script}</script>'
            f'<div class="lossbook-explorable-charts"></div>'
            f'<figcaption class="lossbook-explorable-controls"></figcaption></figure>')


class SiteRenderer:
    """myst-nb mime renderer: an explorable figure's output becomes :func:`figure_html` on
    the website (registered in ``pyproject.toml``)."""

    mime_priority_overrides = [("html", MIME_TYPE, 1)]

    @staticmethod
    def handle_mime(renderer, data, inline):
        if inline or data.mime_type != MIME_TYPE:
            return None
        from docutils import nodes

        spec = data.content if isinstance(data.content, dict) else json.loads(data.content)
        return [nodes.raw("", figure_html(spec), format="html", classes=["output"])]
