"""The ``mixed`` command, typed as a user types it, against R's lme4 (fixtures made once by
``scripts/make_lme4_fixtures.R``; R is not needed here).

Each fixture model carries the Stata command that fits it; we run that command on the shipped data
and compare e(ll), the fixed effects, every variance component and the group counts (1e-4 relative,
the issue's bar for nested and REML fits), then ``predict, reffects`` / ``reses`` with lme4's ranef()
and conditional SDs.  The singular ``c.ses##i.sector`` fit (corr → 1, lme4 flags it) is held to 1e-3
on its variance components.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from hlmshell.shell.dispatcher import run_line
from hlmshell.shell.output import capture_output
from hlmshell.shell.session import Session

ROOT = Path(__file__).resolve().parents[1]
FIXTURES = ROOT / "tests" / "fixtures"


def _models() -> list[tuple[str, dict]]:
    out = []
    for name in ("lme4_hsb", "lme4_exam", "lme4_pastes", "lme4_egsingle"):
        fixture = json.loads((FIXTURES / f"{name}.json").read_text())
        for model in fixture["models"]:
            out.append((fixture["data"]["file"], model))
    return out


MODELS = _models()


def _session(data_file: str) -> tuple[Session, object]:
    out, buf = capture_output()
    session = Session(out=out, cwd=ROOT)
    load = f"use {data_file}" if data_file.endswith(".dta") else f"import delimited {data_file}, case(preserve)"
    assert run_line(session, load) == 0
    return session, buf


def _re_rows(session: Session) -> dict[str, float]:
    """Our variance components keyed as the fixtures key them (``id: var(ses)``, ``var(Residual)``)."""
    from hlmshell.commands.estimation.mixed_display import equation_infos
    from hlmshell.inference.varcomp import equation_rows, residual_row

    fit = session.e.model.fit
    rows = {}
    for info in equation_infos(session.e.model):
        for row in equation_rows(info, fit.gamma, fit.V_gamma):
            rows[f"{info.level}: {row.label}"] = row.estimate
    rows["var(Residual)"] = residual_row(fit.gamma, fit.V_gamma).estimate
    return rows


@pytest.mark.parametrize("data_file,model", MODELS, ids=[m["name"] for _, m in MODELS])
def test_mixed_command_matches_lme4(data_file: str, model: dict) -> None:
    session, buf = _session(data_file)
    rc = run_line(session, "qui " + model["stata_cmd"])
    assert rc == 0, buf.getvalue()
    e = session.e
    singular = model["singular"]
    tol = 1e-3 if singular else 1e-4
    assert e.scalars["N"] == model["n"]
    assert e.macros["method"] == model["method"]
    assert e.scalars["ll"] == pytest.approx(model["ll"], abs=1e-3)
    names = [c.split(":", 1)[1] for c in e.matrices["b"].colnames if c.startswith(e.macros["depvar"] + ":")]
    b = dict(zip(names, e.matrices["b"].values.reshape(-1)))
    for name, value in zip(model["fixed"]["names"], model["fixed"]["estimates"]):
        assert b[name] == pytest.approx(value, rel=tol, abs=1e-6), name
    ours = _re_rows(session)
    assert set(ours) == set(model["varcomp"])     # every component, and no other, is compared
    for key, value in model["varcomp"].items():
        scale = max(abs(value), *(abs(v) for k, v in model["varcomp"].items()
                                  if k.split(":")[0] == key.split(":")[0] and "var(" in k))
        assert abs(ours[key] - value) <= tol * scale, key
    counts = {name: g.n_groups for name, g in zip(session.e.model.structure.levels,
                                                  session.e.model.structure.groups)}
    assert counts == {k: v for k, v in model["n_groups"].items()}


@pytest.fixture(scope="module")
def blups() -> dict:
    return json.loads((FIXTURES / "lme4_hsb_blups.json").read_text())


@pytest.mark.parametrize("method", ["ML", "REML"])
def test_predict_reffects_and_reses_match_lme4(blups: dict, method: str) -> None:
    fixture = next(b for b in blups["blups"] if b["method"] == method)
    session, _ = _session("data/hsb.dta")
    assert run_line(session, "qui " + fixture["stata_cmd"]) == 0
    assert run_line(session, "predict u1 u0, reffects") == 0
    assert run_line(session, "predict s1 s0, reses") == 0
    data = session.data.groupby("id", sort=False)[["u1", "u0", "s1", "s0"]].first()
    ids = fixture["ids"]
    assert np.allclose(data.loc[ids, "u1"], fixture["blup"]["ses"], rtol=1e-4, atol=1e-5)
    assert np.allclose(data.loc[ids, "u0"], fixture["blup"]["_cons"], rtol=1e-4, atol=1e-5)
    se = fixture[fixture["stata_reses"]]
    assert np.allclose(data.loc[ids, "s1"], se["ses"], rtol=1e-3)
    assert np.allclose(data.loc[ids, "s0"], se["_cons"], rtol=1e-3)
