"""Graphs on the HSB data: the drawn numbers against independent numpy/scipy computations.

Each test reads the plot description the command stored (``session.graphs``) and, where it matters,
the matplotlib figure drawn from it; files written by ``graph export`` are checked by their format
header and size.
"""

from __future__ import annotations

import math
import struct

import numpy as np
import pytest
from scipy import stats

from hlmshell.results.graph import Bars, Boxes, Points, Range
from hlmshell.shell.dispatcher import run_line
from hlmshell.shell.output import capture_output
from hlmshell.shell.session import Session


@pytest.fixture
def hsb(tmp_path):
    out, buf = capture_output()
    s = Session(out=out, cwd=tmp_path)
    assert run_line(s, "use hsb") == 0
    return s, buf


def run(s, buf, line, rc=0):
    buf.seek(0)
    buf.truncate()
    assert run_line(s, line) == rc, buf.getvalue()
    return buf.getvalue()


def col(s, name):
    return s.data[name].to_numpy(dtype=float)


def plots(s, name="Graph", panel=0):
    return s.graphs[name].panels[panel].plots


def png_size(path):
    head = path.read_bytes()[:24]
    assert head[:8] == b"\x89PNG\r\n\x1a\n"
    return struct.unpack(">II", head[16:24])


# -- twoway ------------------------------------------------------------------------------------
def test_scatter_with_lfit_draws_the_data_and_regress_line(hsb):
    s, buf = hsb
    run(s, buf, "twoway (scatter mathach ses) (lfit mathach ses)")
    scatter, fit = plots(s)
    x, y = col(s, "ses"), col(s, "mathach")
    assert isinstance(scatter, Points) and scatter.kind == "scatter"
    np.testing.assert_array_equal(scatter.x, x)
    np.testing.assert_array_equal(scatter.y, y)
    slope, intercept = np.polyfit(x, y, 1)
    assert fit.kind == "line" and len(fit.x) == 3          # Stata's n(3)
    np.testing.assert_allclose(fit.x, [x.min(), (x.min() + x.max()) / 2, x.max()])
    np.testing.assert_allclose(fit.y, intercept + slope * fit.x, rtol=1e-10)
    run(s, buf, "regress mathach ses")
    b = s.e.matrices["b"].values[0]
    np.testing.assert_allclose(fit.y, b[1] + b[0] * fit.x, rtol=1e-12)
    g = s.graphs["Graph"]
    assert g.legend.keys == ((1, "mathach"), (2, "Fitted values"))
    assert g.panels[0].xaxis.title == "ses" and g.panels[0].yaxis.title == "mathach"


def test_the_figure_holds_the_described_data(hsb):
    from hlmshell.render.graph.draw import figure

    s, buf = hsb
    run(s, buf, "scatter mathach ses || lfit mathach ses, title(HSB)")
    fig = figure(s.graphs["Graph"])
    ax = fig.axes[0]
    points, line = ax.lines[0], ax.lines[1]
    np.testing.assert_array_equal(points.get_xdata(), col(s, "ses"))
    np.testing.assert_array_equal(line.get_ydata(), plots(s)[1].y)
    assert points.get_linestyle() == "None" and points.get_marker() == "o"
    assert fig._suptitle.get_text() == "HSB"
    assert [t.get_text() for t in fig.legends[0].get_texts()] == ["mathach", "Fitted values"]
    # stcolor's first two colours: stc1 and stc2
    assert points.get_markerfacecolor()[:3] == pytest.approx((26 / 255, 133 / 255, 1.0))
    assert line.get_color()[:3] == pytest.approx((212 / 255, 17 / 255, 89 / 255))


def test_connect_L_restarts_the_line_for_each_school(hsb):
    s, buf = hsb
    run(s, buf, "sort id ses")
    run(s, buf, "twoway line mathach ses, connect(L)")
    (line,) = plots(s)
    breaks = np.isnan(line.x)
    x = col(s, "ses")
    # [G-4] connectstyle: L connects only if x[j+1] >= x[j], so a tie does not break the line
    expected_breaks = int((np.diff(x) < 0).sum())
    assert breaks.sum() == expected_breaks == 159 and (np.diff(x) == 0).sum() > 0
    pieces = np.split(line.x, np.flatnonzero(breaks))
    assert all(np.all(np.diff(p[~np.isnan(p)]) >= 0) for p in pieces)
    np.testing.assert_array_equal(line.x[~breaks], x)
    # the same with sort(id ses) on unsorted data
    run(s, buf, "sort mathach")
    run(s, buf, "twoway line mathach ses, sort(id ses) connect(L)")
    np.testing.assert_array_equal(plots(s)[0].x[~np.isnan(plots(s)[0].x)], line.x[~breaks])


def test_lfitci_band_is_yhat_plus_minus_t_times_stdp(hsb):
    s, buf = hsb
    run(s, buf, "twoway lfitci mathach ses, level(90)")
    band, fit = plots(s)
    assert isinstance(band, Range) and band.kind == "rarea" and len(band.x) == 100
    x, y = col(s, "ses"), col(s, "mathach")
    X = np.column_stack([np.ones_like(x), x])
    beta, rss = np.linalg.lstsq(X, y, rcond=None)[:2]
    n = len(y)
    s2 = rss[0] / (n - 2)
    A = np.column_stack([np.ones_like(band.x), band.x])
    se = np.sqrt(np.einsum("ij,jk,ik->i", A, s2 * np.linalg.inv(X.T @ X), A))
    t = stats.t.ppf(0.95, n - 2)
    np.testing.assert_allclose(band.y1, A @ beta - t * se, rtol=1e-9)
    np.testing.assert_allclose(band.y2, A @ beta + t * se, rtol=1e-9)
    np.testing.assert_allclose(fit.y, A @ beta, rtol=1e-10)
    assert s.graphs["Graph"].legend.keys == ((1, "90% CI"), (2, "Fitted values"))
    run(s, buf, "twoway lfitci mathach ses, stdf")
    sef = np.sqrt(se ** 2 + s2)
    t95 = stats.t.ppf(0.975, n - 2)
    np.testing.assert_allclose(plots(s)[0].y2 - plots(s)[1].y, t95 * sef, rtol=1e-9)


def test_qfit_is_the_quadratic_regression(hsb):
    s, buf = hsb
    run(s, buf, "twoway qfit mathach ses, range(-2 2) n(5)")
    (fit,) = plots(s)
    x, y = col(s, "ses"), col(s, "mathach")
    np.testing.assert_allclose(fit.x, [-2, -1, 0, 1, 2])
    np.testing.assert_allclose(fit.y, np.polyval(np.polyfit(x, y, 2), fit.x), rtol=1e-9)


def test_function_if_and_by(hsb):
    s, buf = hsb
    run(s, buf, "twoway function y = 2*x + 1, range(0 4) n(5)")
    (f,) = plots(s)
    np.testing.assert_allclose(f.x, [0, 1, 2, 3, 4])
    np.testing.assert_allclose(f.y, 2 * f.x + 1)
    run(s, buf, "scatter mathach ses if sector == 1")
    assert len(plots(s)[0].x) == int((col(s, "sector") == 1).sum())
    run(s, buf, "scatter mathach ses, by(sector, total cols(3))")
    g = s.graphs["Graph"]
    assert [p.title for p in g.panels] == ["0", "1", "Total"] and g.cols == 3
    assert g.titles.note == "Graphs by sector"
    assert len(g.panels[1].plots[0].x) == int((col(s, "sector") == 1).sum())
    assert len(g.panels[2].plots[0].x) == s.nobs


def test_options_reach_the_description(hsb):
    s, buf = hsb
    run(s, buf, 'scatter mathach ses, title("Math" "by SES") xtitle(SES) ylabel(0(5)25) '
                'xscale(log) legend(off) msymbol(Oh) mcolor(navy) yline(10) name(g1)')
    g = s.graphs["g1"]
    p = g.panels[0]
    assert g.titles.title == "Math\nby SES" and p.xaxis.title == "SES" and p.xaxis.log
    assert p.yaxis.ticks == (0, 5, 10, 15, 20, 25) and p.ylines == (10.0,)
    assert p.plots[0].style.msymbol == "Oh" and p.plots[0].style.mcolor == "navy"
    out = run(s, buf, "scatter mathach ses, name(g1)", rc=110)
    assert out == "graph g1 already exists\nr(110);\n"
    run(s, buf, "scatter mathach ses, name(g1, replace) mcolor(navyy)")
    assert "named style navyy not found in class color" in buf.getvalue()


@pytest.mark.parametrize("line, message, rc", [
    ("twoway foo mathach ses", "foo is not a twoway plot type", 198),
    ("scatter mathach ses, foo(1)", "option foo() not allowed", 198),
    ("scatter mathach sess", "variable sess not found", 111),
    ("scatter mathach", "too few variables specified", 102),
    ("twoway lfit mathach ses, stdp", "option stdp not allowed", 198),
    ("scatter mathach ses if ses > 10", "no observations", 2000),
    ("graph foo", "foo is not a valid graph subcommand", 198),
])
def test_bad_input_gets_statas_message_and_changes_nothing(hsb, line, message, rc):
    s, buf = hsb
    run(s, buf, "scatter mathach ses")
    before = s.graphs["Graph"]
    out = run(s, buf, line, rc=rc)
    assert out.splitlines()[0] == message
    assert s.graphs == {"Graph": before} and s.graphs["Graph"] is before


# -- distributions ------------------------------------------------------------------------------
def test_histogram_bins_heights_and_normal_overlay(hsb):
    s, buf = hsb
    out = run(s, buf, "histogram mathach, normal")
    assert out == "(bin=38, start=-2.832, width=.73223684)\n"
    y = col(s, "mathach")
    k = int(min(math.sqrt(len(y)), 10 * math.log10(len(y))))
    edges = y.min() + (y.max() - y.min()) / k * np.arange(k + 1)
    heights, _ = np.histogram(y, edges, density=True)
    bars, normal = plots(s)
    assert isinstance(bars, Bars) and bars.histogram
    np.testing.assert_allclose(bars.edges, edges, rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(bars.height, heights, rtol=1e-12)
    assert len(normal.x) == 300 and normal.x[0] == y.min()
    np.testing.assert_allclose(normal.x[-1], edges[-1])
    np.testing.assert_allclose(normal.y, stats.norm.pdf(normal.x, y.mean(), y.std(ddof=1)))
    g = s.graphs["Graph"]
    assert not g.legend.shown and g.panels[0].yaxis.title == "Density"


def test_histogram_frequency_width_and_discrete(hsb):
    s, buf = hsb
    out = run(s, buf, "histogram mathach, width(5) start(-5) frequency")
    assert out == "(bin=6, start=-5, width=5)\n"
    counts, _ = np.histogram(col(s, "mathach"), np.arange(-5, 26, 5))
    np.testing.assert_array_equal(plots(s)[0].height, counts)
    run(s, buf, "histogram size, discrete percent", rc=0)
    run(s, buf, "histogram minority, discrete fraction")
    bars = plots(s)[0]
    np.testing.assert_allclose(bars.x, [0, 1])
    np.testing.assert_allclose(bars.height, [np.mean(col(s, "minority") == v) for v in (0, 1)])
    assert run(s, buf, "histogram mathach, bin(10) width(2)", rc=198) == \
        "options bin() and width() may not be combined\nr(198);\n"


def test_kdensity_epanechnikov_with_statas_bandwidth(hsb):
    s, buf = hsb
    run(s, buf, "kdensity mathach")
    y = np.sort(col(s, "mathach"))
    n = len(y)
    q1, q3 = y[int(math.ceil(n * 0.25)) - 1], y[int(math.ceil(n * 0.75)) - 1]
    h = 0.9 * min(y.std(ddof=1), (q3 - q1) / 1.349) / n ** 0.2
    g = s.graphs["Graph"]
    assert g.titles.note == f"kernel = epanechnikov, bandwidth = {h:.4f}"
    (line,) = plots(s)
    grid = y.min() - h + np.arange(50) * (y.max() - y.min() + 2 * h) / 49
    np.testing.assert_allclose(line.x, grid)
    z = (grid[:, None] - y[None, :]) / h
    kern = np.where(np.abs(z) < np.sqrt(5), 0.75 * (1 - z ** 2 / 5) / np.sqrt(5), 0)
    np.testing.assert_allclose(line.y, kern.sum(axis=1) / (n * h), rtol=1e-10)
    run(s, buf, "kdensity mathach, kernel(gaussian) bwidth(1) n(20)")
    (line,) = plots(s)
    np.testing.assert_allclose(line.y, stats.norm.pdf(line.x[:, None], y[None, :], 1).mean(1))
    assert run(s, buf, "kdensity mathach, kernel(foo)", rc=198) == "invalid kernel function\nr(198);\n"


def test_qnorm_and_pnorm(hsb):
    s, buf = hsb
    run(s, buf, "qnorm ses")
    points, ref = plots(s)
    x = np.sort(col(s, "ses"))
    p = np.arange(1, len(x) + 1) / (len(x) + 1)
    np.testing.assert_array_equal(points.y, x)
    np.testing.assert_allclose(points.x, stats.norm.ppf(p, x.mean(), x.std(ddof=1)), rtol=1e-10)
    np.testing.assert_allclose(ref.x, [points.x.min(), points.x.max()])
    np.testing.assert_array_equal(ref.x, ref.y)
    assert s.graphs["Graph"].panels[0].xaxis.title == "Inverse Normal"
    run(s, buf, "pnorm ses")
    points, _ = plots(s)
    np.testing.assert_allclose(points.x, p)
    np.testing.assert_allclose(points.y, stats.norm.cdf((x - x.mean()) / x.std(ddof=1)))
    assert s.graphs["Graph"].panels[0].yaxis.title == "Normal F[(ses-m)/s]"


# -- multilevel pictures ------------------------------------------------------------------------
def test_serrbar_caterpillar_of_school_effects(hsb):
    s, buf = hsb
    run(s, buf, "mixed mathach ses || id: ses, cov(un)")
    run(s, buf, "predict u1 u0, reffects")
    run(s, buf, "predict s1 s0, reses")
    run(s, buf, "egen tag = tag(id)")
    run(s, buf, "sort u0")
    run(s, buf, "gen rank = sum(tag)")
    run(s, buf, "serrbar u0 s0 rank if tag, scale(1.96)")
    caps, markers = plots(s)
    tag = col(s, "tag") == 1
    u0, s0, rank = col(s, "u0")[tag], col(s, "s0")[tag], col(s, "rank")[tag]
    assert len(caps.x) == 160
    np.testing.assert_array_equal(caps.x, rank)
    np.testing.assert_allclose(caps.y1, u0 - 1.96 * s0)
    np.testing.assert_allclose(caps.y2, u0 + 1.96 * s0)
    np.testing.assert_array_equal(markers.y, u0)
    assert np.all(np.diff(markers.y) >= 0)            # ranked
    g = s.graphs["Graph"]
    assert not g.legend.shown and g.panels[0].yaxis.title == s.var_labels["u0"]


LECTURES = "\n".join([
        "use hsb",
        "mixed mathach ses || id: ses, cov(un)",
        "predict fitted, fitted",
        "twoway line fitted ses, sort(id ses) connect(L) name(lines)",
        "graph export lines.png, width(900)",
        "predict u1 u0, reffects",
        "predict s1 s0, reses",
        "egen tag = tag(id)",
        "sort u0",
        "gen rank = sum(tag)",
        "serrbar u0 s0 rank if tag, scale(1.96) yline(0) name(caterpillar)",
        "graph export caterpillar.svg",
        "twoway (scatter mathach ses) (lfit mathach ses), name(ols)",
        "graph export ols.pdf",
        "histogram mathach, normal name(hist)",
        "graph export hist.png",
]) + "\n"


def test_lecture_pictures_from_a_do_file(tmp_path):
    from hlmshell.shell.cli import main

    (tmp_path / "lectures.do").write_text(LECTURES)
    import os

    cwd = os.getcwd()
    os.chdir(tmp_path)
    try:
        assert main([str(tmp_path / "lectures.do")]) == 0
    finally:
        os.chdir(cwd)
    assert png_size(tmp_path / "lines.png") == (900, 540)       # stcolor's 7.5 x 4.5 aspect
    assert png_size(tmp_path / "hist.png") == (1125, 675)       # 150 dpi by default
    svg = (tmp_path / "caterpillar.svg").read_text()
    assert svg.lstrip().startswith("<?xml") and "<svg" in svg
    assert (tmp_path / "ols.pdf").read_bytes()[:5] == b"%PDF-"


def test_the_lecture_do_files_graphs_hold_the_models_numbers(hsb, tmp_path):
    """What the lecture do-file leaves in memory: each school's fitted line, the caterpillar's
    intervals, the OLS line of regress and the histogram's bins."""
    s, buf = hsb
    (tmp_path / "lectures.do").write_text(LECTURES)
    assert run(s, buf, "do lectures.do").rstrip().endswith("end of do-file")
    (line,) = plots(s, "lines")
    pieces = [p[~np.isnan(p)] for p in np.split(line.x, np.flatnonzero(np.isnan(line.x)))]
    assert len(pieces) == 160 and all(np.all(np.diff(p) >= 0) for p in pieces)
    data = s.data.sort_values(["id", "ses"], kind="mergesort")
    np.testing.assert_array_equal(line.y[~np.isnan(line.y)], data["fitted"])
    caps, markers = plots(s, "caterpillar")
    tag = col(s, "tag") == 1
    np.testing.assert_allclose(caps.y1, col(s, "u0")[tag] - 1.96 * col(s, "s0")[tag])
    np.testing.assert_allclose(caps.y2, col(s, "u0")[tag] + 1.96 * col(s, "s0")[tag])
    assert s.graphs["caterpillar"].panels[0].ylines == (0.0,)
    _, fit = plots(s, "ols")
    run(s, buf, "quietly regress mathach ses")
    b = s.e.matrices["b"].values[0]
    np.testing.assert_allclose(fit.y, b[1] + b[0] * fit.x, rtol=1e-12)
    bars, normal = plots(s, "hist")
    y = col(s, "mathach")
    np.testing.assert_allclose(bars.edges, np.linspace(y.min(), y.max(), 39), rtol=1e-12)
    np.testing.assert_allclose(normal.y, stats.norm.pdf(normal.x, y.mean(), y.std(ddof=1)))


def test_fitted_lines_one_per_school(hsb):
    s, buf = hsb
    run(s, buf, "mixed mathach ses || id: ses, cov(un)")
    run(s, buf, "predict fitted, fitted")
    run(s, buf, "twoway line fitted ses, sort(id ses) connect(L)")
    (line,) = plots(s)
    pieces = np.split(line.y, np.flatnonzero(np.isnan(line.y)))
    pieces = [p[~np.isnan(p)] for p in pieces]
    # one piece per school: L starts a new line only where x decreases, not at tied ses values
    d = s.data.sort_values(["id", "ses"], kind="mergesort")
    assert (d.groupby("id")["ses"].diff() == 0).sum() > 0
    assert len(pieces) == d["id"].nunique() == 160
    for (_, school), piece in zip(d.groupby("id", sort=True), pieces):   # each school's own line
        np.testing.assert_array_equal(piece, school["fitted"])


# -- categorical charts ------------------------------------------------------------------------
def test_graph_box_quartiles_and_adjacent_values(hsb):
    s, buf = hsb
    run(s, buf, "graph box mathach, over(sector)")
    (boxes,) = plots(s)
    assert isinstance(boxes, Boxes) and [b.position for b in boxes.boxes] == [1.0, 2.0]
    y, sector = col(s, "mathach"), col(s, "sector")
    for box, value in zip(boxes.boxes, (0, 1)):
        v = np.sort(y[sector == value])
        n = len(v)

        def pct(p):
            pos = n * p / 100
            return (v[int(pos) - 1] + v[int(pos)]) / 2 if pos == int(pos) else v[math.ceil(pos) - 1]

        q1, q3 = pct(25), pct(75)
        assert (box.lower_quartile, box.median, box.upper_quartile) == (q1, pct(50), q3)
        inside = v[(v >= q1 - 1.5 * (q3 - q1)) & (v <= q3 + 1.5 * (q3 - q1))]
        assert (box.lower_adjacent, box.upper_adjacent) == (inside.min(), inside.max())
        assert len(box.outside) == n - len(inside)
    assert s.graphs["Graph"].panels[0].xaxis.tick_labels == ("0", "1")


def test_graph_bar_means_over_groups(hsb):
    s, buf = hsb
    run(s, buf, "graph bar (mean) mathach (max) ses, over(sector)")
    means, maxes = plots(s)
    d = s.data
    np.testing.assert_allclose(means.height, d.groupby("sector")["mathach"].mean().to_numpy())
    np.testing.assert_allclose(maxes.height, d.groupby("sector")["ses"].max().to_numpy())
    g = s.graphs["Graph"]
    assert g.legend.keys == ((1, "mean of mathach"), (2, "max of ses"))
    run(s, buf, "graph bar mathach, over(sector)")
    assert s.graphs["Graph"].panels[0].yaxis.title == "mean of mathach"


# -- graphs in memory and files -----------------------------------------------------------------
def test_export_formats_sizes_and_errors(hsb, tmp_path):
    s, buf = hsb
    run(s, buf, "scatter mathach ses")
    # Stata names the file with its full path
    assert run(s, buf, "graph export a.png, width(400)") == \
        f"file {tmp_path / 'a.png'} saved as PNG format\n"
    assert png_size(tmp_path / "a.png") == (400, 240)
    run(s, buf, "graph export a.png, width(300) height(300)", rc=602)
    assert png_size(tmp_path / "a.png") == (400, 240)        # untouched
    run(s, buf, "graph export a.png, height(120) replace")
    assert png_size(tmp_path / "a.png") == (200, 120)
    run(s, buf, "graph export b.svg, width(720)")
    assert 'width="540pt"' in (tmp_path / "b.svg").read_text()   # 720 px at 96 per inch
    out = run(s, buf, "graph export c.xyz", rc=198)
    assert out == 'output-file suffix "xyz" not recognized\nspecify correct suffix or specify ' \
                  'as() option\nr(198);\n'
    assert run(s, buf, "graph export c.pdf, width(10)", rc=198) == \
        "option width() not allowed\nr(198);\n"
    assert run(s, buf, "graph export nodir/c.png", rc=603) == \
        "file nodir/c.png could not be opened\nr(603);\n"
    assert run(s, buf, "graph export c.png, width(3)", rc=198).startswith("width() must be")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["a.png", "b.svg"]


def test_save_use_drop_dir_and_combine(hsb, tmp_path):
    s, buf = hsb
    run(s, buf, "histogram mathach, name(h)")
    run(s, buf, "scatter mathach ses, name(sc)")
    assert run(s, buf, "graph save h hist") == "file hist.gph saved\n"
    assert run(s, buf, "graph save h hist, replace") == "file hist.gph saved\n"
    assert run(s, buf, "graph save h h2, replace") == "(file h2.gph not found)\nfile h2.gph saved\n"
    (tmp_path / "h2.gph").unlink()
    run(s, buf, "graph drop h")
    assert list(s.graphs) == ["sc"]
    run(s, buf, "graph use hist")
    back = s.graphs["hist"].panels[0].plots[0]
    assert isinstance(back, Bars)
    run(s, buf, "histogram mathach")
    np.testing.assert_array_equal(back.height, plots(s)[0].height)
    run(s, buf, "graph combine sc hist, cols(2) name(both)")
    assert len(s.graphs["both"].graphs) == 2
    out = run(s, buf, "graph dir")
    assert out.split() == ["Graph", "both", "hist", "sc", "hist.gph"]
    assert s.r.macros["list"] == "Graph both hist sc hist.gph"
    run(s, buf, "graph export both.png")
    assert png_size(tmp_path / "both.png")[0] > 0
    assert run(s, buf, "graph drop nosuch", rc=111) == "graph nosuch not found\nr(111);\n"
    run(s, buf, "graph drop _all")
    assert s.graphs == {}
    assert run(s, buf, "graph export x.png", rc=111) == "no graphs in memory\nr(111);\n"
    (tmp_path / "bad.gph").write_text("not a graph")
    assert run(s, buf, "graph use bad", rc=610) == "file bad.gph not a graph file\nr(610);\n"


def test_set_scheme_and_graphics(hsb):
    from hlmshell.render.graph.draw import figure

    s, buf = hsb
    run(s, buf, "set scheme s1mono")
    run(s, buf, "twoway (scatter mathach ses) (lfit mathach ses)")
    g = s.graphs["Graph"]
    assert g.scheme == "s1mono"
    fig = figure(g)
    assert fig.get_size_inches() == pytest.approx((5.5, 4.0))
    assert fig.axes[0].lines[0].get_markerfacecolor()[:3] == pytest.approx((96 / 255,) * 3)
    run(s, buf, "scatter mathach ses, scheme(s2color)")
    assert s.graphs["Graph"].scheme == "s2color"
    assert run(s, buf, "set scheme nosuch", rc=111) == "scheme nosuch not found\nr(111);\n"
    assert s.graph_scheme == "s1mono"
    assert run(s, buf, "display c(scheme)") == "s1mono\n"
    run(s, buf, "set graphics off")
    assert s.graphics is False
    assert run(s, buf, "display c(graphics)") == "off\n"


def test_at_the_prompt_without_a_display_a_note_says_how_to_export(hsb, monkeypatch):
    s, buf = hsb
    monkeypatch.delenv("DISPLAY", raising=False)
    monkeypatch.delenv("WAYLAND_DISPLAY", raising=False)
    s.interactive = True
    out = run(s, buf, "scatter mathach ses")
    assert out == "(graph Graph in memory; type graph export graph.png to save it)\n"
    run(s, buf, "set graphics off")
    assert run(s, buf, "scatter mathach ses") == ""


def test_profile_graph_for_marginsplot():
    from hlmshell.commands.graphics.profile import profile_graph
    from hlmshell.render.graph.draw import figure

    x = np.array([0.0, 1.0, 0.0, 1.0])
    est = np.array([10.0, 12.0, 11.0, 15.0])
    g = profile_graph(x, est, est - 1, est + 1, ["a", "a", "b", "b"], xtitle="sector")
    caps, line, caps_b, line_b = g.panels[0].plots
    np.testing.assert_array_equal(line_b.y, [11.0, 15.0])
    np.testing.assert_array_equal(caps.y2 - caps.y1, [2.0, 2.0])
    assert g.legend.keys == ((2, "a"), (4, "b"))
    assert len(figure(g).legends[0].get_texts()) == 2


def fake_viewer(monkeypatch, tmp_path):
    """A display and an xdg-open on PATH that writes the file it was asked to show."""
    import os

    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    opened = tmp_path / "opened.txt"
    viewer = bin_dir / "xdg-open"
    viewer.write_text(f"#!/bin/sh\necho \"$1\" > {opened}\n")
    viewer.chmod(0o755)
    monkeypatch.setenv("PATH", f"{bin_dir}{os.pathsep}{os.environ['PATH']}")
    monkeypatch.setenv("DISPLAY", ":99")
    return opened


def test_at_the_prompt_with_a_display_the_viewer_gets_the_picture(hsb, monkeypatch, tmp_path):
    import time

    opened = fake_viewer(monkeypatch, tmp_path)
    s, buf = hsb
    s.interactive = True
    assert run(s, buf, "scatter mathach ses, name(shown)") == ""
    for _ in range(100):
        if opened.exists() and opened.read_text().strip():
            break
        time.sleep(0.05)
    from pathlib import Path

    picture = Path(opened.read_text().strip())
    assert picture.name == "shown.png" and png_size(picture) == (1125, 675)


def test_axis_titles_come_from_variable_labels(hsb):
    s, buf = hsb
    run(s, buf, 'label variable ses "Socio-economic status"')
    run(s, buf, 'label variable mathach "Math achievement"')
    run(s, buf, "twoway (scatter mathach ses) (lfit mathach ses)")
    p = s.graphs["Graph"].panels[0]
    assert (p.xaxis.title, p.yaxis.title) == ("Socio-economic status", "Math achievement")
    assert s.graphs["Graph"].legend.keys == ((1, "Math achievement"), (2, "Fitted values"))
    run(s, buf, "histogram mathach")
    assert s.graphs["Graph"].panels[0].xaxis.title == "Math achievement"


def test_value_labels_name_the_groups_and_panels(hsb):
    s, buf = hsb
    run(s, buf, 'label define sec 0 "Public" 1 "Catholic"')
    run(s, buf, "label values sector sec")
    run(s, buf, "graph box mathach, over(sector)")
    assert s.graphs["Graph"].panels[0].xaxis.tick_labels == ("Public", "Catholic")
    run(s, buf, "scatter mathach ses, by(sector)")
    assert [p.title for p in s.graphs["Graph"].panels] == ["Public", "Catholic"]


def test_a_batch_run_never_opens_a_viewer(monkeypatch, tmp_path):
    """With a display and a viewer on PATH, a do-file run keeps its graphs in memory only."""
    from hlmshell.shell.cli import main

    opened = fake_viewer(monkeypatch, tmp_path)
    do = tmp_path / "g.do"
    do.write_text("use hsb\nset graphics on\nscatter mathach ses\ngraph export g.png\n")
    monkeypatch.chdir(tmp_path)
    assert main([str(do)]) == 0
    assert png_size(tmp_path / "g.png") == (1125, 675) and not opened.exists()


def test_by_panels_share_limits_that_hold_every_panels_data(hsb):
    """Groups outside the plot's if get no panel; limits are set once for the shared axes, after
    every panel is drawn (not at the first panel's data)."""
    from hlmshell.render.graph.draw import figure

    s, buf = hsb
    run(s, buf, "scatter mathach ses if id == \"1224\" | id == \"2305\" | id == \"8367\", by(id)")
    g = s.graphs["Graph"]
    assert [p.title for p in g.panels] == ["1224", "2305", "8367"]     # no panels for the others
    fig = figure(g)
    shown = [ax for ax in fig.axes if ax.get_visible()]
    assert len(shown) == 3
    d = s.data[s.data["id"].isin(["1224", "2305", "8367"])]
    for ax in shown:
        lo, hi = ax.get_xlim()
        assert lo <= d["ses"].min() and hi >= d["ses"].max()
        lo, hi = ax.get_ylim()
        assert lo <= d["mathach"].min() and hi >= d["mathach"].max()
    assert len({ax.get_xlim() for ax in shown}) == 1 and len({ax.get_ylim() for ax in shown}) == 1
