"""The me commands, typed as a user types them, against R (lme4's glmer, glmmTMB and glm).

The fixtures (``tests/fixtures/glmm_*.json``, made by ``scripts/make_glmm_fixtures.R``; R is not
needed here) carry each model's Stata command and its numbers in Stata's parameterisation: e(ll),
e(b) with the variance components in their natural metric (``/var(_cons[herd])``) and their
standard errors, the estimation metric's γ (lns…, atr…) and the groups.  lme4 is exact for the
Laplace approximation and for mode-curvature quadrature on one scalar random effect; glmmTMB for
Laplace with vector random effects and the negative binomial; every likelihood was recomputed and
polished by an independent evaluator (the fixture's notes).

Tolerances (the data read with ``asdouble``, as R reads them): e(ll) to 1e-6 (the issue asks 1e-3), coefficients to 1e-6 relative or 1e-4 of their
standard error, standard errors to 1e-5 relative, variance components and their SEs to 1e-5.
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


def _models() -> list[dict]:
    out = []
    for name in ("cbpp", "contraception", "toenail", "grouseticks"):
        fixture = json.loads((FIXTURES / f"glmm_{name}.json").read_text())
        out += [m for m in fixture["models"] if "stata_b" in m]
    return out


MODELS = _models()


def _fit(model: dict) -> Session:
    out, buf = capture_output()
    session = Session(out=out, cwd=ROOT)
    assert run_line(session, f"import delimited {model['data_file']}, clear asdouble") == 0
    rc = run_line(session, "qui " + model["stata_cmd"])
    assert rc == 0, buf.getvalue()
    return session


@pytest.mark.parametrize("model", MODELS, ids=[m["name"] for m in MODELS])
def test_me_command_matches_r(model: dict) -> None:
    session = _fit(model)
    e = session.e
    assert e.scalars["N"] == model["n"]
    assert e.scalars["converged"] == 1.0
    assert e.scalars["ll"] == pytest.approx(model["ll"], abs=1e-6)
    names = e.matrices["b"].colnames
    b = dict(zip(names, e.matrices["b"].values.reshape(-1)))
    se = dict(zip(names, np.sqrt(np.diag(e.matrices["V"].values))))
    ref = model["stata_b"]
    assert len(ref["names"]) == len([n for n in names if not _base(n)])   # every parameter compared
    for name, value, ref_se in zip(ref["names"], ref["values"], ref["se"]):
        key = "/:" + name[1:] if name.startswith("/") else name
        tol = max(1e-6 * abs(value), 1e-4 * ref_se) if not name.startswith("/") else 1e-5 * abs(value)
        assert abs(b[key] - value) <= tol, name
        assert se[key] == pytest.approx(ref_se, rel=1e-5), name
    for level, count in model["n_groups"].items():
        ng = e.matrices["N_g"]
        assert ng.values[0, ng.colnames.index(level)] == count


def _base(name: str) -> bool:
    """Base levels of factor variables: in e(b) as zeros, not parameters."""
    coef = name.split(":", 1)[-1]
    return any(part.split(".")[0].endswith("b") for part in coef.split("#") if "." in part)


@pytest.mark.parametrize("model", [m for m in MODELS if "gamma" in m][:4],
                         ids=lambda m: m["name"])
def test_estimation_metric_and_its_covariance(model: dict) -> None:
    """γ (lns…, atr…) and V in the estimation metric, where the Hessian is taken."""
    fit = _fit(model).e.model.fit
    assert fit.gamma_names == [g.split(":")[0] for g in model["gamma"]["names"]]
    np.testing.assert_allclose(fit.gamma, model["gamma"]["values"], rtol=1e-5, atol=1e-7)
    np.testing.assert_allclose(np.sqrt(np.diag(fit.V_gamma)), model["gamma_se"], rtol=1e-5)
    V_ref = np.array(model["V_estimation_metric"]["matrix"])
    np.testing.assert_allclose(fit.V, V_ref, rtol=2e-5, atol=1e-9)


GLMS = [m for name in ("cbpp", "contraception", "grouseticks")
        for m in json.loads((FIXTURES / f"glmm_{name}.json").read_text())["models"]
        if m["fitter"] == "glm" or m["name"].startswith("grouseticks_nbreg")]


@pytest.mark.parametrize("model", GLMS, ids=[m["name"] for m in GLMS])
def test_single_level_glm_matches_r(model: dict) -> None:
    """The models without random effects (the LR tests' comparison models): maximum likelihood
    by Newton–Raphson, V from the observed information (Stata's oim)."""
    import pandas as pd

    from hlmshell.lang.fvnotation import parse_terms
    from hlmshell.model.design import build_design
    from hlmshell.model.glm import fit_glm
    from hlmshell.model.multilevel.families import Family

    data = pd.read_csv(ROOT / model["data_file"])
    rhs = model["stata_cmd"].split(",")[0].split()[2:]
    design = build_design(data, parse_terms(" ".join(rhs), list(data.columns)))
    family = model["family"].split()[0]
    dispersion = ""
    if family == "nbinomial":
        dispersion = "mean" if "mean" in model["family"] else "constant"
    elif family == "binomial" and "trials" not in model:
        family = "bernoulli"
    trials = data[model["trials"]].to_numpy(float) if model.get("trials") else None
    fit = fit_glm(data[model["depvar"]].to_numpy(float), design.X,
                  Family(family, model["link"], dispersion), trials=trials)
    assert fit.ll == pytest.approx(model["ll"], abs=1e-6)
    est = dict(zip([c.name for c in design.columns if c.estimable], fit.beta))
    se = dict(zip([c.name for c in design.columns if c.estimable], np.sqrt(np.diag(fit.V))))
    for name, value, ref_se in zip(model["fixed"]["names"], model["fixed"]["estimates"],
                                   model["fixed"]["se"]):
        assert est[name] == pytest.approx(value, rel=1e-7, abs=1e-9), name
        assert se[name] == pytest.approx(ref_se, rel=1e-6), name
    if "dispersion" in model:
        assert fit.anc == pytest.approx(model["dispersion"]["value"], abs=1e-7)
        assert np.sqrt(fit.V[-1, -1]) == pytest.approx(model["dispersion"]["se"], rel=1e-5)


MARGINS = json.loads((FIXTURES / "margins_contraception.json").read_text())["models"][0]


@pytest.mark.parametrize("variant", ["marginal", "fixedonly"])
def test_margins_after_melogit_match_r(variant: str) -> None:
    """``margins urban`` after the real fit (glmer's nAGQ = 7 is mode-centred: mcaghermite):
    predicted probabilities with the random effect integrated out (Stata's margins default after
    melogit) or set to 0, with delta-method SEs over all of e(b), var(_cons[district]) included
    (the fixture's ``se_full``), and r(Jacobian)'s var column against the fixture's σ_u
    gradient."""
    out, buf = capture_output()
    session = Session(out=out, cwd=ROOT)
    assert run_line(session, "import delimited data/contraception.csv, clear asdouble") == 0
    cmd = "qui melogit use age i.urban || district:, intmethod(mcaghermite)"
    assert run_line(session, cmd) == 0, buf.getvalue()
    assert session.e.scalars["ll"] == pytest.approx(MARGINS["ll"], abs=1e-6)
    option = "" if variant == "marginal" else ", predict(mu fixedonly)"
    assert run_line(session, f"qui margins urban{option}") == 0, buf.getvalue()
    r = session.r
    estimates = r.matrices["b"].values.reshape(-1)
    se = np.sqrt(np.diag(r.matrices["V"].values))
    rows = MARGINS[variant]["urban"]
    assert r.matrices["b"].colnames == ["0.urban", "1.urban"]
    sigma = MARGINS["sigma_u"]
    jacobian = r.matrices["Jacobian"]
    var_column = jacobian.colnames.index("/:var(_cons[district])")
    for k, row in enumerate(rows):
        assert estimates[k] == pytest.approx(row["estimate"], rel=1e-6)
        assert se[k] == pytest.approx(row["se_full"], rel=1e-5)
        assert (jacobian.values[k, var_column] * 2 * sigma
                == pytest.approx(row["gradient_sigma_u"], rel=1e-5, abs=1e-12))
