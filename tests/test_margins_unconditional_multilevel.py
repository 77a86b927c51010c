"""``margins, vce(unconditional)`` after ML ``mixed`` and ``melogit`` against
``tests/fixtures/margins_unconditional_hsb.json`` (scripts/make_margins_unconditional_multilevel_fixtures.R).

The oracle is independent: each school's marginal log likelihood in closed form (the random-intercept
LMM) or by its own 7-point mode-curvature adaptive quadrature (glmer's nAGQ = 7, our
``intmethod(mcaghermite)``), maximised in R, per-school scores by numDeriv, and Stata's
linearization clustered at the highest level with the scale M / (M - 1) (_marg_work's
``_linearize`` with e(clustvar) = id, _robust's minus(1)).  Our fits agree with it to about 1e-7
(mixed) and 1e-6 (melogit), which bounds the tolerances.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from hlmshell.model.multilevel.crossprod import build_layout
from hlmshell.model.multilevel.lmm import gamma_parts
from hlmshell.model.multilevel.scores import LinearGroups
from hlmshell.shell.dispatcher import run_line
from hlmshell.shell.output import capture_output
from hlmshell.shell.session import Session

ROOT = Path(__file__).resolve().parents[1]
FIXTURE = json.loads((ROOT / "tests" / "fixtures" / "margins_unconditional_hsb.json").read_text())
MODELS = {m["name"]: m for m in FIXTURE["models"]}
NO_SCORES = "cannot compute vce(unconditional);\npredict after {} could not compute scores"


def _session(*lines: str) -> tuple[Session, object]:
    out, buf = capture_output()
    session = Session(out=out, cwd=ROOT)
    for line in ("use data/hsb.dta", "gen byte hi = mathach >= 13") + lines:
        assert run_line(session, line) == 0, (line, buf.getvalue()[-800:])
    return session, buf


@pytest.mark.parametrize("name, rtol", [("hsb_mixed_ml", 2e-6), ("hsb_melogit_mcaghermite", 2e-5)])
def test_unconditional_margins_match_the_oracle(name: str, rtol: float) -> None:
    model = MODELS[name]
    session, buf = _session("quietly " + model["estimation_cmd"])
    assert session.e.model.loglik == pytest.approx(model["ll"], rel=1e-8)
    for spec in model["margins"].values():
        start = len(buf.getvalue())
        assert run_line(session, spec["stata_cmd"]) == 0, buf.getvalue()[-800:]
        table = session.r.matrices["table"].values
        est, se = np.array(spec["estimate"]), np.array(spec["se"])
        np.testing.assert_allclose(table[0], est, rtol=rtol)
        np.testing.assert_allclose(table[1], se, rtol=rtol)
        np.testing.assert_allclose(np.sqrt(np.diag(session.r.matrices["V"].values)), se, rtol=rtol)
        np.testing.assert_allclose(table[4], est - 1.959963984540054 * se, rtol=rtol)
        # the clustered linearization is not the delta method's (it is larger here: sector and
        # the schools' mean ses vary between the clusters)
        assert np.all(se > 1.05 * np.array(spec["se_delta"]))
        assert session.r.macros["vce"] == "unconditional"
        assert "df_r" not in session.r.scalars                      # z, as after mixed
        title = "dy/dx" if "dydx" in spec["stata_cmd"] else "Margin"
        assert (f"             |            Unconditional\n"
                f"             |{title:>11}   std. err.      z    P>|z|"
                in buf.getvalue()[start:])


def test_school_contributions_add_up_to_the_log_likelihood() -> None:
    """The per-school pieces of the block elimination reproduce the fit's ll, and their scores
    (analytic in β, differenced in γ) sum to zero at the ML estimates."""
    session, _ = _session("quietly mixed mathach i.sector##c.ses || id: ses, cov(unstructured)")
    model = session.e.model
    sample = session.data.loc[session.in_sample(session.e)].reset_index(drop=True)
    y, X, levels, eqs = model._arrays(sample)
    _, _, gslices = gamma_parts(eqs, model.fit.Sigma)
    groups = LinearGroups(y, X, build_layout(y, X, levels, [e.level for e in eqs],
                                             [e.Z for e in eqs]), eqs, gslices)
    ll = groups.loglik(model.fit.beta, model.fit.gamma)
    assert ll.shape == (160,)
    assert ll.sum() == pytest.approx(model.loglik, rel=1e-12)
    scores = groups.scores(model.fit.beta, model.fit.gamma)
    assert scores.shape == (160, len(model.fit.beta) + len(model.fit.gamma))
    assert np.sqrt(np.sum(scores ** 2, axis=0)).max() > 100.0
    assert np.abs(scores.sum(axis=0)).max() < 1e-5      # the fit's gradient at its optimum


def test_three_level_model_clusters_at_the_top_level() -> None:
    """A nested design: the units are the highest level's groups, each row mapped to its own."""
    session, buf = _session("egen grp = cut(ses), group(4)",
                            "quietly mixed mathach i.sector##c.ses || id: || grp:")
    model = session.e.model
    sample = session.data.loc[session.in_sample(session.e)].reset_index(drop=True)
    inf = model.influence(sample)
    assert inf.values.shape == (160, len(model.coef_names)) and inf.minus == 1
    ids = sample["id"].to_numpy()
    assert all(len(set(ids[inf.clusters == c])) == 1 for c in range(0, 160, 17))
    assert np.abs(inf.values.sum(axis=0)).max() < 1e-6
    assert run_line(session, "margins sector, vce(unconditional)") == 0, buf.getvalue()[-800:]


@pytest.mark.parametrize("estimation, cmd", [
    ("mixed mathach i.sector##c.ses || id:, reml", "mixed"),
    ("melogit hi i.sector##c.ses || id:, intmethod(laplace)", "melogit"),
    ("mixed mathach i.sector##c.ses || _all: R.sector", "mixed"),
])
def test_models_without_cluster_scores_are_refused(estimation: str, cmd: str) -> None:
    """Stata: no scores after REML (mixed_p) or Laplace (gsem_p); crossed R. terms have no
    highest-level clusters (robust variances are refused with _all as the top level)."""
    session, buf = _session("quietly " + estimation, "margins sector")
    e, r = session.e, session.r
    data = session.data.copy()
    start = len(buf.getvalue())
    assert run_line(session, "margins sector, vce(unconditional)") == 322
    assert NO_SCORES.format(cmd) in buf.getvalue()[start:]
    assert session.e is e and session.r is r
    pd.testing.assert_frame_equal(session.data, data)
