"""lossbook.explore: explorable figures, their table, and the markup the website draws."""

from __future__ import annotations

import json
import math
from types import SimpleNamespace

import numpy as np
import pandas as pd
import pytest

from lossbook import explore


def _table() -> pd.DataFrame:
    rows = []
    for gamma in (0.0, 0.5, 1.0):
        for z in (-2.0, 0.0, 2.0):
            p = 1 / (1 + math.exp(-z))
            rows.append({"z": z, "gamma": gamma, "series": "focal", "loss": -(1 - p) ** gamma * math.log(p)})
            rows.append({"z": z, "gamma": gamma, "series": "BCE", "loss": -math.log(p)})
    return pd.DataFrame(rows)


def _figure(table=None, **options):
    return explore.curves(_table() if table is None else table, x="z", y="loss", color="series",
                          controls={"gamma": "γ"}, **options)


@pytest.mark.parametrize("value, rounded", [
    (123456.0, 123500.0), (0.00123456, 0.001235), (-2.71828, -2.718), (1.0, 1.0),
    (9.99951, 10.0), (0.0, 0.0), (float("inf"), float("inf")), (1e-30 / 3, 3.333e-31),
])
def test_round_significant_keeps_four_digits(value, rounded):
    assert explore.round_significant(pd.Series([value]))[0] == pytest.approx(rounded, rel=1e-12)


def test_round_significant_keeps_nan():
    assert np.isnan(explore.round_significant(pd.Series([float("nan")]))[0])


def test_the_figure_embeds_every_setting_rounded():
    data = _figure().data()
    assert len(data) == 18 and set(data["gamma"]) == {0.0, 0.5, 1.0}
    # -log σ(-2) = 2.126928...: four significant digits on the page
    assert data.query("z == -2 and gamma == 0 and series == 'BCE'")["loss"].item() == 2.127


def test_non_finite_values_become_gaps():
    table = _table()
    table.loc[0, "loss"], table.loc[1, "loss"] = float("inf"), float("nan")
    spec = _figure(table).spec
    assert explore.Explorable(spec).columns()["loss"][:2] == [None, None]
    json.dumps(spec, allow_nan=False)  # valid JSON, which has no inf or NaN


def test_a_numeric_control_is_a_slider_over_its_settings():
    (control,) = _figure().spec["controls"]
    assert control == {"name": "gamma", "label": "γ", "kind": "range", "settings": [0.0, 0.5, 1.0], "start": 0.0}


def test_a_slider_steps_through_uneven_settings_in_order():
    (control,) = _figure(_table().replace({"gamma": {0.5: 4.0}})).spec["controls"]
    assert control["settings"] == [0.0, 1.0, 4.0]


def test_a_named_control_is_a_set_of_radio_buttons_starting_where_asked():
    table = _table().assign(dtype=lambda t: np.where(t["gamma"] == 0, "float16", "float32"))
    figure = explore.curves(table, x="z", y="loss", color="series", controls={"dtype": "dtype"},
                            start={"dtype": "float32"})
    (control,) = figure.spec["controls"]
    assert (control["kind"], control["settings"], control["start"]) == ("radio", ["float16", "float32"], "float32")


def test_selected_is_the_rows_of_one_setting():
    figure = _figure()
    assert set(figure.selected()["gamma"]) == {0.0}
    chosen = figure.selected({"gamma": 0.5})
    assert len(chosen) == 6 and set(chosen["gamma"]) == {0.5}


def test_panels_and_series_keep_the_tables_order():
    table = pd.concat([_table().assign(quantity="loss"), _table().assign(quantity="gradient")])
    spec = _figure(table, column="quantity").spec
    assert spec["panels"] == {"field": "quantity", "values": ["loss", "gradient"]}
    assert spec["series"] == {"field": "series", "values": ["focal", "BCE"],
                              "colors": list(explore.PALETTE[:2])}


@pytest.mark.parametrize("change, error, message", [
    (lambda t: t.drop(columns="loss"), ValueError, r"missing \['loss'\]"),
    (lambda t: t.iloc[:0], ValueError, "empty table"),
    (lambda t: t.assign(loss=t["loss"].astype(str)), TypeError, "loss: expected a numeric column, got dtype"),
])
def test_bad_tables_are_refused_with_what_was_expected(change, error, message):
    with pytest.raises(error, match=message):
        _figure(change(_table()))


def test_a_start_that_is_not_a_setting_is_refused():
    with pytest.raises(ValueError, match=r"start: 'gamma' must be one of its settings \[0.0, 0.5, 1.0\], got 3"):
        _figure(start={"gamma": 3})
    with pytest.raises(ValueError, match=r"start: expected settings of the controls \['gamma'\], got \['alpha'\]"):
        _figure(start={"alpha": 0.25})


def test_a_frame_that_is_not_a_table_is_refused():
    with pytest.raises(TypeError, match="frame: expected a pandas DataFrame, got dict"):
        explore.curves({"z": [1]}, x="z", y="loss", color="series", controls={})


def test_jupyter_gets_the_data_and_a_line_of_text():
    bundle = _figure()._repr_mimebundle_()
    assert set(bundle) == {explore.MIME_TYPE, "text/plain"}
    assert bundle["text/plain"] == "(On the book's website this figure has controls: γ.)"


def test_the_static_figure_draws_the_first_setting():
    import matplotlib.pyplot as plt

    figure = _figure().static()
    (ax,) = figure.axes
    focal, bce = ax.get_lines()
    assert focal.get_label() == "focal" and list(focal.get_ydata()) == list(bce.get_ydata())  # γ = 0: focal = BCE
    assert [focal.get_color(), bce.get_color()] == list(explore.PALETTE[:2])  # the website's colours
    assert "γ = 0.0" in figure._suptitle.get_text()
    plt.close(figure)


def test_the_website_markup_holds_the_spec_with_an_id_from_its_content():
    spec = _figure().spec
    page = explore.figure_html(spec)
    assert page == explore.figure_html(spec)
    inner = page.split('<script type="application/json">')[1].split("</script>")[0]
    assert json.loads(inner.replace("<\\/", "</")) == spec
    other = explore.figure_html(_figure(_table().assign(loss=1.0)).spec)
    assert page.split('id="')[1][:24] != other.split('id="')[1][:24]


def test_a_closing_script_tag_in_the_data_cannot_end_the_markup():
    page = explore.figure_html(_figure(_table().assign(series="</script><b>")).spec)
    assert page.count("</script>") == 1


def test_the_site_renderer_takes_only_its_own_block_outputs():
    spec = _figure().spec
    (node,) = explore.SiteRenderer.handle_mime(None, SimpleNamespace(mime_type=explore.MIME_TYPE, content=spec), False)
    assert node.astext() == explore.figure_html(spec)
    assert explore.SiteRenderer.handle_mime(None, SimpleNamespace(mime_type="text/html", content=""), False) is None
    assert explore.SiteRenderer.handle_mime(None, SimpleNamespace(mime_type=explore.MIME_TYPE, content=spec), True) is None


def test_myst_nb_finds_the_site_renderer():
    from myst_nb.core.render import load_mime_renders

    assert explore.SiteRenderer in load_mime_renders()


def test_a_row_without_a_setting_is_drawn_at_every_setting_and_stored_once():
    table = _table()
    table = pd.concat([table[table["series"] == "focal"],
                       table[(table["series"] == "BCE") & (table["gamma"] == 0)].assign(gamma=np.nan)])
    figure = _figure(table)
    assert len(figure.data()) == 12
    assert figure.spec["controls"][0]["settings"] == [0.0, 0.5, 1.0]
    for gamma in (0.0, 0.5, 1.0):
        assert sorted(figure.selected({"gamma": gamma})["series"]) == ["BCE"] * 3 + ["focal"] * 3


def test_names_are_stored_once():
    column = _figure().columns()["series"]
    assert column["levels"] == ["focal", "BCE"] and column["codes"][:4] == [0, 1, 0, 1]


def test_rounding_noise_around_zero_is_flushed_to_zero():
    column = pd.Series([6.0, -1.1e-16, 2.2e-16, 1e-4, -3.0, float("inf")])
    assert explore.flush_noise(column).tolist() == [6.0, 0.0, 0.0, 1e-4, -3.0, float("inf")]
    table = _table()
    table.loc[0, "loss"] = 1e-17
    assert _figure(table).data()["loss"][0] == 0.0


@pytest.mark.parametrize("computed", [2.1025, 2.10249996, 2.1025002])
def test_a_decimal_tie_rounds_the_same_whichever_side_float32_lands(computed):
    # 1.45 ** 2 = 2.1025 exactly; float32 kernels give a value an ulp or so either side.
    assert explore.round_significant(pd.Series([computed]))[0] == 2.102
