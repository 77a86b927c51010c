"""``estat wcorrelation``: the marginal covariance Z G Z' + σ²I of one cluster, from lme4's variance
components (tests/fixtures/ddf_*.json; 1e-4 relative, the fits' agreement), two- and three-level."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from runner import runner

ROOT = Path(__file__).resolve().parents[1]
FIXTURES = ROOT / "tests" / "fixtures"


def _model(fixture: str, name: str) -> dict:
    models = json.loads((FIXTURES / fixture).read_text())["models"]
    return next(m for m in models if m["name"] == name)


def test_random_slope_cluster_matches_lme4() -> None:
    model = _model("ddf_sleepstudy.json", "sleep_rslope")
    vc = model["varcomp"]
    G = np.array([[vc["subject: var((Intercept))"], vc["subject: cov((Intercept),days)"]],
                  [vc["subject: cov((Intercept),days)"], vc["subject: var(days)"]]])
    run = runner(cwd=ROOT)
    run("import delimited data/sleepstudy.csv")
    run("quietly " + model["stata_cmd"])
    text = run("estat wcorrelation, at(subject=309)")
    d = run.session.data
    days = d.loc[d["subject"] == 309, "days"].to_numpy(dtype=float)
    Z = np.column_stack([np.ones(len(days)), days])
    V = Z @ G @ Z.T + vc["var(Residual)"] * np.eye(len(days))
    r = run.session.r.matrices
    assert np.allclose(r["Cov"].values, V, rtol=1e-4)
    assert np.allclose(r["sd"].values[0], np.sqrt(np.diag(V)), rtol=1e-4)
    assert np.allclose(r["Corr"].values, V / np.outer(np.sqrt(np.diag(V)), np.sqrt(np.diag(V))),
                       rtol=1e-4)
    assert np.allclose(r["G"].values[::-1, ::-1], G, rtol=1e-3)    # days, _cons in Stata's order
    lines = text.splitlines()
    assert lines[:6] == ["", "Standard deviations and correlations for subject = 309:", "",
                         "Standard deviations:", "",
                         "     obs |       1       2       3       4       5       6       7       8"]
    assert lines[7].startswith("      sd |  ")
    corr_at = lines.index("Correlations:")
    assert lines[corr_at + 4] == "       1 |   1.000"
    assert lines[corr_at + 5].startswith("       2 |   0.")
    # the default cluster is the first subject in the data
    text = run("estat wcorrelation")
    assert "Standard deviations and correlations for subject = 308:" in text


def test_nested_cluster_and_covariance_display() -> None:
    model = _model("ddf_pastes.json", "pastes_nested")
    vc = model["varcomp"]
    run = runner(cwd=ROOT)
    run("import delimited data/pastes.csv")
    run("quietly " + model["stata_cmd"])
    text = run("estat wcorrelation, covariance")
    d = run.session.data
    first = d[(d["batch"] == d["batch"].iloc[0]) & (d["cask"] == d["cask"].iloc[0])]
    n = len(first)
    V = (vc["batch: var((Intercept))"] + vc["cask:batch: var((Intercept))"]) * np.ones((n, n)) \
        + vc["var(Residual)"] * np.eye(n)
    assert np.allclose(run.session.r.matrices["Cov"].values, V, rtol=1e-4)
    assert "Covariances for batch = 1 and cask = 1:" in text
    run("estat wcorrelation, at(batch=1)")                   # the whole batch: three casks
    rows = d[d["batch"] == 1]
    same_cask = rows["cask"].to_numpy()[:, None] == rows["cask"].to_numpy()[None, :]
    V = vc["batch: var((Intercept))"] + vc["cask:batch: var((Intercept))"] * same_cask \
        + vc["var(Residual)"] * np.eye(len(rows))
    assert np.allclose(run.session.r.matrices["Cov"].values, V, rtol=1e-4)


@pytest.mark.parametrize("line, message, rc", [
    ("estat wcorrelation, at(batch=99)", "no observations", 2000),
    ("estat wcorrelation, at(strength)", "invalid at() specification", 198),
    ("estat wcorrelation, format(abc)", "invalid format abc", 120),
    ("estat wcorrelation, all at(batch=1)", "options at() and all may not be combined", 184),
])
def test_bad_input(line: str, message: str, rc: int) -> None:
    run = runner(cwd=ROOT)
    run("import delimited data/pastes.csv")
    run("quietly mixed strength || batch: || cask:, reml")
    r = run.session.r
    assert message in run(line, rc)
    assert run.session.r is r


def test_not_after_regress() -> None:
    run = runner(cwd=ROOT)
    run("import delimited data/pastes.csv")
    run("quietly regress strength")
    assert "invalid subcommand wcorrelation" in run("estat wcorrelation", rc=321)
