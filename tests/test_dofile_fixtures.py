"""Two do-files written as Stata users write them, run end to end from ``tests/fixtures/``:

- ``baum_exam.do``: the Baum slides' London exam workflow (``encode schgend``, ``statsby`` of the
  per-school OLS intercepts and slopes into a file, ``i.sgender`` in ``xtmixed``, ``version 11:``'s
  REML, ``lrtest``), checked against R (``dofile_exam.json``, ``lme4_exam.json``);
- ``realworld.do``: a data-management and modelling do-file (version, set more, globals and locals,
  foreach over varlists, forvalues, an rclass program with syntax, args, tempvar, tempfile,
  preserve/restore, #delimit, log using, label define/values, encode, collapse, merge, append,
  reshape, egen, tabstat, tabulate chi2, xtset/xtreg re fe mle, mixed, estimates table star),
  every printed figure checked against pandas/numpy/scipy on the same data or the R fixtures of
  ``test_xtreg`` and ``test_mixed_lme4``.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from runner import runner
from scipy import stats

FIXTURES = Path(__file__).resolve().parent / "fixtures"


def fixture(name: str) -> dict:
    return json.loads((FIXTURES / name).read_text())


def run_do(tmp_path: Path, name: str) -> tuple[str, object]:
    run = runner(cwd=tmp_path)
    text = run(f'do "{FIXTURES / name}"')
    assert text.rstrip().endswith("end of do-file")
    return text, run.session


def numbers(line: str) -> list[float]:
    return [float(x.replace(",", "")) for x in re.findall(r"-?[\d,]*\.?\d+(?:e[-+]\d+)?", line)]


def row(text: str, label: str, after: str = "") -> list[float]:
    """The numbers of the first table row ``label |`` after the line starting with ``after``."""
    start = text.index(after) if after else 0
    for line in text[start:].splitlines():
        stub, bar, rest = line.partition("|")
        if bar and stub.strip() == label:
            return numbers(rest)
    raise AssertionError(f"no row {label!r} after {after!r}")


def close(got: list[float], want: list[float]) -> None:
    """Numbers printed in %9.0g (seven significant digits, fewer for small ones) equal ``want``."""
    np.testing.assert_allclose(got, want, rtol=5e-7, atol=5e-8)


def printed(text: str, start: str) -> str:
    """The output line starting with ``start`` (not the echo of the command that printed it)."""
    return next(ln for ln in text.splitlines() if ln.startswith(start))


# -- the Baum exam workflow ----------------------------------------------------------------------
@pytest.fixture(scope="module")
def baum(tmp_path_factory):
    return run_do(tmp_path_factory.mktemp("baum"), "baum_exam.do")


def test_baum_string_factor_and_encode(baum):
    text, _ = baum
    assert "schgend: string variables may not be used as factor variables\n" \
           ". display \"string factor rc = \" _rc\nstring factor rc = 109\n" in text
    assert "sgender:\n           1 boys\n           2 girls\n           3 mixed\n" in text


def test_baum_statsby_per_school_ols(baum, tmp_path_factory):
    text, _ = baum
    want = fixture("dofile_exam.json")["statsby"]
    # The slides print alpha -.1805974 / 3.291357 and beta .5390514 / .1766135; the shipped
    # exam.csv (mlmRev's Exam, which R gives the same numbers for) gives these.
    alpha, beta = row(text, "alpha"), row(text, "beta")
    assert alpha[0] == want["n"] and beta[0] == want["n"]
    close(alpha[1:], [want["alpha_mean"], want["alpha_sd"], want["alpha_min"], want["alpha_max"]])
    close(beta[1:], [want["beta_mean"], want["beta_sd"], want["beta_min"], want["beta_max"]])
    assert "(obs=65)" in text
    cov = np.array(want["cov"])
    after = "(obs=65)"
    np.testing.assert_allclose(row(text, "alpha", after), [cov[0, 0]], rtol=5e-6)
    np.testing.assert_allclose(row(text, "beta", after), [cov[0, 1], cov[1, 1]], rtol=5e-6)


def test_baum_random_slope_with_i_sgender_against_lme4(baum):
    text, _ = baum
    want = fixture("dofile_exam.json")["rslope_sgender_ml"]
    assert printed(text, "ll = ") == f"ll = {want['ll']:12.4f}"
    after = ". xtmixed normexam standlrt i.sgender"
    for label, b, se in zip(["standlrt", "2", "3", "_cons"], want["estimates"], want["se"]):
        got = row(text, label, after)
        np.testing.assert_allclose(got[:2], [b, se], rtol=2e-5, atol=1e-7)
    for label, value in [("sd(standlrt)", want["sd_standlrt"]), ("sd(_cons)", want["sd_cons"]),
                         ("corr(standlrt,_cons)", want["corr"]),
                         ("sd(Residual)", want["sd_residual"])]:
        np.testing.assert_allclose(row(text, label, after)[0], value, rtol=2e-5)


def test_baum_version_11_keeps_reml_and_lrtest(baum):
    text, _ = baum
    want = fixture("dofile_exam.json")
    reml = want["null_reml"]
    assert printed(text, "reml ll = ") == f"reml ll = {reml['ll']:12.4f} method REML"
    after = ". version 11: xtmixed"
    for label, b, se in zip(reml["names"], reml["estimates"], reml["se"]):
        np.testing.assert_allclose(row(text, label, after)[:2], [b, se], rtol=2e-5, atol=1e-7)
    np.testing.assert_allclose(row(text, "sd(_cons)", after)[0], reml["sd_cons"], rtol=2e-5)
    restricted = next(m for m in fixture("lme4_exam.json")["models"]
                      if m["name"] == "exam_lrt_rslope_ml")
    chi2 = 2 * (want["rslope_sgender_ml"]["ll"] - restricted["ll"])
    assert f" LR chi2(2) = {chi2:6.2f}\nProb > chi2 = {stats.chi2.sf(chi2, 2):.4f}\n" in text


# -- a real-world do-file ------------------------------------------------------------------------
@pytest.fixture(scope="module")
def real(tmp_path_factory):
    folder = tmp_path_factory.mktemp("real")
    text, session = run_do(folder, "realworld.do")
    return text, session, folder


@pytest.fixture(scope="module")
def hsb() -> pd.DataFrame:
    from hlmshell.data.files import BUNDLED, read_dta

    data = read_dta(BUNDLED / "hsb.dta").data.reset_index(drop=True)
    data["school"] = data["id"].astype(int)
    return data


def _ols(y: np.ndarray, X: np.ndarray) -> tuple[np.ndarray, np.ndarray, float]:
    """Coefficients (constant last), their p-values and the log likelihood of an OLS fit."""
    X = np.column_stack([X, np.ones(len(y))])
    b, rss = np.linalg.lstsq(X, y, rcond=None)[:2]
    n, k = X.shape
    se = np.sqrt(np.diag(rss[0] / (n - k) * np.linalg.inv(X.T @ X)))
    p = 2 * stats.t.sf(np.abs(b / se), n - k)
    return b, p, -n / 2 * (np.log(2 * np.pi) + np.log(rss[0] / n) + 1)


def test_real_descriptives_loops_and_program(real, hsb):
    text, _, _ = real
    for v in ("mathach", "ses"):
        x = hsb[v]
        assert printed(text, f"desc {v}") == \
            f"desc {v}".ljust(13) + f"{x.mean():9.4f}{x.std():9.4f}{x.median():9.4f}"
    n = [int(((hsb.minority == 1) & (hsb.school % 3 == k)).sum()) for k in range(3)]
    assert printed(text, "minority by") == f"minority by school mod 3: {n[0]} {n[1]} {n[2]}"
    by = hsb.groupby("sector")["mathach"]
    assert printed(text, "gap in") == \
        f"gap in mathach = {by.mean()[1] - by.mean()[0]:8.4f} (public n = {by.count()[0]})"
    girls = hsb[hsb.female == 1].groupby("sector")["mathach"].mean()
    assert printed(text, "gap among") == f"gap among girls = {girls[1] - girls[0]:8.4f}"
    cses = hsb.ses - hsb.groupby("school")["ses"].transform("mean")
    assert printed(text, "centred ses") == \
        f"centred ses: mean {abs(cses.mean()):9.6f} sd {cses.std():9.6f}"


def test_real_models_in_a_loop_and_estimates_table_star(real, hsb):
    text, session, _ = real
    y = hsb.mathach.to_numpy()
    fits = [_ols(y, hsb[list(rhs)].to_numpy(float))
            for rhs in (["ses"], ["ses", "minority"], ["ses", "minority", "female"])]
    assert printed(text, "ols ll:") == "ols ll: " + "".join(f"{f[2]:10.3f}" for f in fits)
    table = text[text.index(". estimates table"):]
    for j, name in enumerate(["ses", "minority", "female", "_cons"]):
        cells = table.splitlines()[[ln.split("|")[0].strip() for ln in table.splitlines()]
                                   .index(name)].split("|")[1].split()
        want = [(b[j if name != "_cons" else -1], p[j if name != "_cons" else -1])
                for b, p, _ in fits if name == "_cons" or j < len(b) - 1]
        assert len(cells) == len(want)
        for cell, (b, p) in zip(cells, want):
            stars = len(cell) - len(cell.rstrip("*"))
            assert float(cell.rstrip("*")) == pytest.approx(b, rel=1e-7)
            assert stars == sum(int(p < level) for level in (0.05, 0.01, 0.001))
    assert row(table, "N") == [7185] * 3
    np.testing.assert_allclose(row(table, "ll"), [f[2] for f in fits], rtol=1e-7)
    assert "legend: * p<0.05; ** p<0.01; *** p<0.001" in table
    assert "variable nosuchvar not found\n" in text
    assert printed(text, "rc after") == "rc after a bad regress = 111"
    assert sorted(session.estimates) == ["ols1", "ols2", "ols3"]


def test_real_collapse_merge_tabstat_tabulate(real, hsb):
    text, _, _ = real
    assert "    Matched                             7,185  (_merge==3)\n" in text
    # merge.ado's labels; the stub as wide as the longest of them, as in Stata's logs
    assert "\n   Matching result from |\n                  merge |      Freq.     Percent        " \
           "Cum.\n------------------------+-----------------------------------\n" \
           "            Matched (3) |      7,185      100.00      100.00\n" in text
    first = hsb.groupby("school", sort=True).first()          # egen tag: each school's first row
    after = ". tabstat mathach ses if tag"
    for v in ("mathach", "ses"):
        x = first[v]
        close(row(text, v, after), [x.mean(), x.std(), x.min(), x.max()])
    assert printed(text, "zmath:") == "zmath:  0.000000 1.000000"
    counts = pd.crosstab(hsb.sector, hsb.minority).to_numpy()
    chi2, p = stats.chi2_contingency(counts, correction=False)[:2]
    assert f"          Pearson chi2(1) = {chi2:8.4f}   Pr = {p:.3f}\n" in text
    assert printed(text, "chi2 = ") == f"chi2 = {chi2:9.4f}  p = {p:9.6f}"
    table = text[text.index(". tabulate sector minority"):].splitlines()
    for k, label in enumerate(["public", "catholic"]):
        at = next(i for i, ln in enumerate(table) if ln.strip().startswith(f"{label} |"))
        assert numbers(table[at]) == [*counts[k], counts[k].sum()]
        share = 100 * counts[k] / counts[k].sum()           # the row percentages under the counts
        assert table[at + 1] == f"{'':10} |{share[0]:10.2f}{share[1]:11.2f} |{100:10.2f} "
    by = hsb.groupby("sector")["mathach"]
    after = ". tabstat mathach, by(sector)"
    for label, k in (("public", 0), ("catholic", 1)):
        close(row(text, label, after), [by.mean()[k], by.std()[k], by.count()[k]])


def test_real_reshape_round_trip_and_append(real, hsb):
    text, _, _ = real
    schools = hsb.groupby("school").agg(mses=("ses", "mean"), pmin=("minority", "mean"))
    want = lambda x: [len(x), x.mean(), x.std(), x.min(), x.max()]   # noqa: E731
    close(row(text, "v", ". summarize v if k == 2"), want(schools.pmin))
    after = ". summarize v1 v2"
    close(row(text, "v1", after), want(schools.mses))
    close(row(text, "v2", after), want(schools.pmin))
    assert "Number of observations              160   ->   320\n" in text
    assert "Number of observations              320   ->   160\n" in text
    assert ". append using `pub'\n. count\n  7,185\n" in text


def test_real_panel_and_mixed_models_against_r(real, hsb):
    text, session, _ = real
    xt = fixture("xtreg_hsb.json")
    for kind in ("re", "fe", "mle"):
        after = f". xtreg mathach ses, {kind}"
        coef = xt[kind]["coef"]
        for j, name in enumerate(["ses", "_cons"]):
            np.testing.assert_allclose(row(text, name, after)[:2],
                                       [coef["estimates"][j], coef["se"][j]], rtol=2e-6)
    np.testing.assert_allclose(row(text, "sigma_u", ". xtreg mathach ses, re"),
                               [xt["re"]["sigma_u"]], rtol=1e-7)
    lme4 = next(m for m in fixture("lme4_hsb.json")["models"] if m["name"] == "hsb_ses_rslope_ml")
    assert printed(text, "mixed ll = ") == f"mixed ll = {lme4['ll']:12.4f}"
    after = ". mixed mathach ses || school: ses"
    for j, name in enumerate(lme4["fixed"]["names"]):
        np.testing.assert_allclose(row(text, name, after)[:2],
                                   [lme4["fixed"]["estimates"][j], lme4["fixed"]["se"][j]],
                                   rtol=2e-5)
    assert printed(text, "high scorers") == f"high scorers: {int((hsb.mathach > 20).sum())}"
    assert session.nobs == len(hsb) and "cses" in session.variables    # restore put the data back


def test_real_log_is_text_and_holds_the_run(real):
    text, _, folder = real
    log = (folder / "realworld.log").read_text()
    assert "{txt}" not in log and "{res}" not in log
    assert ". tabstat mathach ses if tag, statistics(mean sd min max)\n>     columns(statistics) ;\n" \
        in log
    body = log[log.index(". global covars"):log.index(". log close")]
    assert body in text
