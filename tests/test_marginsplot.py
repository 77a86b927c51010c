"""``marginsplot``: the plotted numbers are the last margins and their intervals (r(table)), lines
by the second dimension, Stata's titles; noci, recast(), recastci(); refusals."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from runner import runner

from hlmshell.results.graph import Points, Range

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module")
def mixed():
    run = runner(cwd=ROOT)
    run("use data/hsb.dta")
    run("quietly mixed mathach i.sector##c.ses || id:")
    return run


def _plots(run, kind):
    return [p for p in run.session.graphs["Graph"].panels[0].plots if isinstance(p, kind)]


def test_sector_at_ses_draws_a_line_per_sector(mixed) -> None:
    mixed("quietly margins sector, at(ses=(-1 0 1))")
    table = mixed.session.r.matrices["table"].values            # 1#0, 1#1, 2#0, ... (at outer)
    text = mixed("marginsplot")
    assert text == "\nVariables that uniquely identify margins: ses sector\n"
    graph = mixed.session.graphs["Graph"]
    lines, bars = _plots(mixed, Points), _plots(mixed, Range)
    assert [p.label for p in lines] == ["sector=0", "sector=1"]
    for sector, (line, bar) in enumerate(zip(lines, bars)):
        cols = [2 * a + sector for a in range(3)]
        assert line.kind == "connected" and bar.kind == "rcap"
        assert np.array_equal(line.x, [-1, 0, 1]) and np.array_equal(bar.x, [-1, 0, 1])
        assert np.allclose(line.y, table[0, cols], rtol=1e-12)
        assert np.allclose(bar.y1, table[4, cols], rtol=1e-12)
        assert np.allclose(bar.y2, table[5, cols], rtol=1e-12)
    assert graph.titles.title == "Adjusted predictions of sector with 95% CIs"
    assert graph.panels[0].xaxis.title == "ses"
    assert graph.panels[0].yaxis.title == "Linear prediction, fixed portion"
    assert graph.legend.keys == ((2, "sector=0"), (4, "sector=1"))


def test_factor_x_with_value_labels_noci_and_recast(mixed) -> None:
    mixed('label define sect 0 "Public" 1 "Catholic"')
    mixed("label values sector sect")
    mixed("quietly margins, dydx(ses) over(sector) level(90)")
    table = mixed.session.r.matrices["table"].values
    mixed("marginsplot, noci recast(line)")
    graph = mixed.session.graphs["Graph"]
    assert not _plots(mixed, Range)
    (line,) = _plots(mixed, Points)
    assert line.kind == "line" and np.array_equal(line.x, [0, 1])
    assert np.allclose(line.y, table[0], rtol=1e-12)
    assert graph.panels[0].xaxis.tick_labels == ("Public", "Catholic")
    assert graph.titles.title == "Average marginal effects of ses"
    assert graph.panels[0].yaxis.title == "Effects on linear prediction, fixed portion"
    mixed("quietly margins sector")
    mixed("marginsplot, recastci(rarea) title(My margins) ytitle(Math)")
    graph = mixed.session.graphs["Graph"]
    assert [p.kind for p in graph.panels[0].plots] == ["rarea", "connected"]
    assert graph.titles.title == "My margins" and graph.panels[0].yaxis.title == "Math"
    mixed("label drop sect")


def test_refusals(mixed) -> None:
    run = runner(cwd=ROOT)
    run("use data/hsb.dta")
    assert "previous command was not margins" in run("marginsplot", rc=301)
    mixed("quietly margins sector")
    graphs = dict(mixed.session.graphs)
    assert "recast(bar) not allowed" in mixed("marginsplot, recast(bar)", rc=198)
    assert "option by() not allowed" in mixed("marginsplot, by(sector)", rc=198)
    assert mixed.session.graphs == graphs


def test_after_regress_the_plot_is_the_ols_margins() -> None:
    """The issue's three margins after ``regress`` draw the closed-form margins of the
    margins_hsb.json fixture (t intervals with e(df_r))."""
    import json

    fixture = json.loads((ROOT / "tests" / "fixtures" / "margins_hsb.json").read_text())
    margins = next(m for m in fixture["models"] if m["name"] == "hsb_regress")["margins"]
    run = runner(cwd=ROOT)
    run("use data/hsb.dta")
    run("quietly regress mathach i.sector##c.ses")
    for key, x, labels in (("sector", [0, 1], [""]),
                           ("dydx_ses_over_sector", [0, 1], [""]),
                           ("sector_at_ses", [-1, 0, 1], ["sector=0", "sector=1"])):
        rows = margins[key]["margins"]
        run("quietly " + margins[key]["stata_cmd"])
        run("marginsplot")
        lines, bars = _plots(run, Points), _plots(run, Range)
        assert [p.label for p in lines] == labels and len(bars) == len(labels)
        for j, (line, bar) in enumerate(zip(lines, bars)):
            picked = rows[j::len(lines)]                         # at outer, sector inner
            assert np.array_equal(line.x, x)
            assert np.allclose(line.y, [r["estimate"] for r in picked], rtol=1e-9)
            assert np.allclose(bar.y1, [r["ci_lower"] for r in picked], rtol=1e-9)
            assert np.allclose(bar.y2, [r["ci_upper"] for r in picked], rtol=1e-9)
