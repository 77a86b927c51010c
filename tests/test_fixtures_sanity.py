"""Sanity of the lme4 oracle fixtures (tests/fixtures/lme4_*.json) against the shipped data files.

These tests need no R. They fail if a fixture is stale or malformed: the data file changed, a key is
missing, the Stata-metric parameters disagree with the variances, or the log likelihood, GLS fixed
effects and their SEs recomputed here in numpy from the fixture's variance components disagree with
the fixture. The HSB models are also checked against the real Stata log in tests/fixtures.
"""

from __future__ import annotations

import json
import re
from functools import lru_cache
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from conftest import reference_output

ROOT = Path(__file__).resolve().parents[1]
FIXTURES = sorted((ROOT / "tests" / "fixtures").glob("lme4_*.json"))
EXPECTED = {"lme4_hsb", "lme4_hsb_blups", "lme4_exam", "lme4_pastes", "lme4_egsingle"}

TOP_KEYS = {"fixture", "description", "generator", "r_version", "lme4_version", "optimizer",
            "check_optimizer", "data", "models"}
MODEL_KEYS = {"name", "data_file", "lme4_formula", "stata_cmd", "method", "depvar", "n", "ll", "df",
              "converged", "singular", "warnings", "ll_check_optimizer", "fixed", "random",
              "residual_variance", "varcomp", "varcomp_se", "stata_b", "n_groups", "group_sizes",
              "theta"}


def _load(path: Path) -> dict:
    return json.loads(path.read_text())


@lru_cache(maxsize=None)
def _data(rel: str) -> pd.DataFrame:
    path = ROOT / rel
    return pd.read_stata(path) if path.suffix == ".dta" else pd.read_csv(path)


def _models() -> list[tuple[str, dict]]:
    return [(f"{p.stem}:{m['name']}", m) for p in FIXTURES for m in _load(p)["models"]]


MODELS = _models()


def test_all_fixtures_present() -> None:
    assert {p.stem for p in FIXTURES} == EXPECTED


@pytest.mark.parametrize("path", FIXTURES, ids=lambda p: p.stem)
def test_fixture_top_level(path: Path) -> None:
    fx = _load(path)
    assert TOP_KEYS <= set(fx)
    assert fx["fixture"] == path.stem
    data = _data(fx["data"]["file"])
    assert len(data) == fx["data"]["n_rows"]
    assert fx["models"]


@pytest.mark.parametrize("mid,m", MODELS, ids=[i for i, _ in MODELS])
def test_model_internal_consistency(mid: str, m: dict) -> None:
    assert MODEL_KEYS <= set(m)
    assert m["method"] in ("ML", "REML")
    assert m["stata_cmd"].startswith(f"mixed {m['depvar']} ")
    assert ("reml" in m["stata_cmd"]) == (m["method"] == "REML")
    assert m["converged"]
    assert m["ll"] == pytest.approx(m["ll_check_optimizer"], abs=1e-6)
    assert m["n"] == len(_data(m["data_file"]))

    fx = m["fixed"]
    k = len(fx["names"])
    assert fx["names"][-1] == "_cons"
    assert len(fx["lme4_names"]) == len(fx["estimates"]) == len(fx["se"]) == k
    V = np.array(fx["vcov"])
    assert V.shape == (k, k)
    np.testing.assert_allclose(np.sqrt(np.diag(V)), fx["se"], rtol=1e-12)

    # Variance components: matrices, flat dict and Stata metric agree.
    n_var = 1
    for blk in m["random"]:
        S = np.array(blk["cov"])
        q = len(blk["vars"])
        assert S.shape == (q, q) and blk["vars"][-1] == "_cons"
        np.testing.assert_allclose(S, S.T)
        for i, v in enumerate(blk["vars"]):
            assert m["varcomp"][f"{blk['level']}: var({v})"] == pytest.approx(S[i, i], rel=1e-12)
        if blk["covariance"] != "unstructured":
            np.testing.assert_array_equal(S, np.diag(np.diag(S)))
        n_var += q + (q * (q - 1) // 2 if blk["covariance"] == "unstructured" else 0)
    assert m["varcomp"]["var(Residual)"] == pytest.approx(m["residual_variance"], rel=1e-12)
    assert len(m["varcomp"]) == n_var == len(m["varcomp_se"])
    assert m["df"] == k + n_var

    b = dict(zip(m["stata_b"]["names"], m["stata_b"]["values"]))
    assert len(m["stata_b"]["names"]) == len(m["stata_b"]["se"]) == k + n_var
    assert np.exp(2 * b["lnsig_e:_cons"]) == pytest.approx(m["residual_variance"], rel=1e-12)
    for L, blk in enumerate(m["random"], start=1):
        S = np.array(blk["cov"])
        for i in range(len(blk["vars"])):
            assert np.exp(2 * b[f"lns{L}_1_{i + 1}:_cons"]) == pytest.approx(S[i, i], rel=1e-12)
        if blk["covariance"] == "unstructured":
            r = S[0, 1] / np.sqrt(S[0, 0] * S[1, 1])
            if m["singular"]:   # corr = ±1: atr is infinite, null in the fixture (README)
                assert b[f"atr{L}_1_1_2:_cons"] is None and abs(r) == pytest.approx(1, abs=1e-6)
            else:
                assert np.tanh(b[f"atr{L}_1_1_2:_cons"]) == pytest.approx(r, rel=1e-12)
    if m["singular"]:   # the SEs are null at a singular fit (fixtures/README.md)
        assert all(se is None for se in m["varcomp_se"].values())
    else:
        assert all(se is not None and se > 0 for se in m["varcomp_se"].values())


def _column(data: pd.DataFrame, name: str) -> np.ndarray:
    """A design column named as in Stata's e(b): x, 1.x (indicator), 1.x#c.z, _cons."""
    if name == "_cons":
        return np.ones(len(data))
    out = np.ones(len(data))
    for part in name.split("#"):
        if part.startswith("c."):
            out = out * data[part[2:]].to_numpy(float)
        elif "." in part:
            level, var = part.split(".", 1)
            out = out * (data[var].to_numpy(float) == float(level))
        else:
            out = out * data[part].to_numpy(float)
    return out


def _level_codes(data: pd.DataFrame, m: dict) -> list[np.ndarray]:
    """Group codes per level, nested levels defined within the levels above them (as in Stata)."""
    codes, keys = [], []
    for blk in m["random"]:
        keys.append(blk["level"])
        codes.append(data.groupby(keys, sort=False).ngroup().to_numpy())
    return codes


@pytest.mark.parametrize("mid,m", MODELS, ids=[i for i, _ in MODELS])
def test_groups_match_data(mid: str, m: dict) -> None:
    data = _data(m["data_file"])
    for blk, code in zip(m["random"], _level_codes(data, m)):
        sizes = np.bincount(code)
        assert m["n_groups"][blk["level"]] == len(sizes)
        gs = m["group_sizes"][blk["level"]]
        assert (gs["min"], gs["max"]) == (sizes.min(), sizes.max())
        assert gs["avg"] == pytest.approx(sizes.mean(), rel=1e-12)


@pytest.mark.parametrize("mid,m", MODELS, ids=[i for i, _ in MODELS])
def test_likelihood_recomputed_from_fixture(mid: str, m: dict) -> None:
    """Marginal (or restricted) log likelihood, GLS beta and its SEs, from the fixture's variances."""
    data = _data(m["data_file"])
    y = data[m["depvar"]].to_numpy(float)
    X = np.column_stack([_column(data, c) for c in m["fixed"]["names"]])
    codes = _level_codes(data, m)
    s2 = m["residual_variance"]
    top = codes[0]
    XtVX = np.zeros((X.shape[1], X.shape[1]))
    XtVy = np.zeros(X.shape[1])
    logdet = 0.0
    blocks = []
    for g in np.unique(top):
        idx = np.flatnonzero(top == g)
        Vg = s2 * np.eye(len(idx))
        for blk, code in zip(m["random"], codes):
            Z = np.column_stack([_column(data.iloc[idx], v) for v in blk["vars"]])
            S = np.array(blk["cov"])
            same = code[idx][:, None] == code[idx][None, :]
            Vg += same * (Z @ S @ Z.T)
        chol = np.linalg.cholesky(Vg)
        logdet += 2 * np.log(np.diag(chol)).sum()
        Xw = np.linalg.solve(chol, X[idx])
        yw = np.linalg.solve(chol, y[idx])
        XtVX += Xw.T @ Xw
        XtVy += Xw.T @ yw
        blocks.append((Xw, yw))
    beta = np.linalg.solve(XtVX, XtVy)
    quad = sum(float(((yw - Xw @ beta) ** 2).sum()) for Xw, yw in blocks)
    n, p = X.shape
    if m["method"] == "ML":
        ll = -0.5 * (n * np.log(2 * np.pi) + logdet + quad)
    else:
        ll = -0.5 * ((n - p) * np.log(2 * np.pi) + logdet + np.linalg.slogdet(XtVX)[1] + quad)
    assert ll == pytest.approx(m["ll"], abs=1e-6)
    np.testing.assert_allclose(beta, m["fixed"]["estimates"], rtol=1e-6, atol=1e-9)
    np.testing.assert_allclose(np.sqrt(np.diag(np.linalg.inv(XtVX))), m["fixed"]["se"], rtol=1e-6)


# Numbers printed by Stata in tests/fixtures/hsb_stata_mixed.log (ML fits); test_stata_hsb_numbers_are_the_logs
# reads them back from the log.
STATA_HSB = {
    "hsb_null_ml": dict(ll=-23557.905, b={"_cons": (12.63707, .2436178)},
                        v={"id: var(_cons)": (8.55352, 1.068642),
                           "var(Residual)": (39.14839, .6606469)}),
    "hsb_ses_ml": dict(ll=-23320.502, b={"ses": (2.391499, .1056926), "_cons": (12.65762, .1873212)},
                       v={"id: var(_cons)": (4.728519, .6486766),
                          "var(Residual)": (37.02979, .625279)}),
    "hsb_ses_rslope_ml": dict(ll=-23318.235,
                              b={"ses": (2.394934, .1176881), "_cons": (12.66559, .1890996)},
                              v={"id: var(ses)": (.3983418, .2324055),
                                 "id: var(_cons)": (4.785235, .6648578),
                                 "id: cov(ses,_cons)": (-.1558654, .2956225),
                                 "var(Residual)": (36.83154, .6293445)}),
    "hsb_ses_sector_inter_ml": dict(ll=-23281.589,
                                    b={"ses": (2.959745, .1429495), "1.sector": (2.128714, .3434358),
                                       "1.sector#c.ses": (-1.312909, .2153851),
                                       "_cons": (11.75256, .2301634)},
                                    v={"var(Residual)": (36.77872, .6226819)}),
}


@pytest.mark.parametrize("name", sorted(STATA_HSB))
def test_hsb_fixture_matches_stata_log(name: str) -> None:
    m = next(m for _, m in MODELS if m["name"] == name)
    ref = STATA_HSB[name]
    assert m["ll"] == pytest.approx(ref["ll"], abs=1e-3)
    fx = dict(zip(m["fixed"]["names"], zip(m["fixed"]["estimates"], m["fixed"]["se"])))
    assert set(fx) == set(ref["b"])
    # The singular interaction model sits where Stata stopped short of the boundary: looser there.
    rel = 1e-4 if m["singular"] else 2e-6
    for k, (est, se) in ref["b"].items():
        assert fx[k][0] == pytest.approx(est, rel=rel, abs=1e-6)
        assert fx[k][1] == pytest.approx(se, rel=rel * 10, abs=1e-6)
    for k, (est, se) in ref["v"].items():
        assert m["varcomp"][k] == pytest.approx(est, rel=2e-4)
        if m["singular"]:   # no SEs at a singular fit (fixtures/README.md)
            assert m["varcomp_se"][k] is None
        else:
            assert m["varcomp_se"][k] == pytest.approx(se, rel=2e-4)


STATA_HSB_COMMANDS = {
    "hsb_null_ml": "mixed mathach || id:",
    "hsb_ses_ml": "mixed mathach ses || id:",
    "hsb_ses_rslope_ml": "mixed mathach ses || id: ses, cov(unstructured)",
    "hsb_ses_sector_inter_ml": "mixed mathach c.ses##i.sector || id: ses, cov(unstr)",
}


@pytest.mark.parametrize("name", sorted(STATA_HSB))
def test_stata_hsb_numbers_are_the_logs(name: str) -> None:
    """Every number of STATA_HSB is what the log prints for that fit: its log likelihood, and each
    (estimate, SE) pair as the first two figures of a table row."""
    block = reference_output(STATA_HSB_COMMANDS[name])
    ref = STATA_HSB[name]
    ll = [float(line.split("=")[1].split()[0]) for line in block if line.startswith("Log likelihood =")]
    assert ll == [ref["ll"]]
    number = re.compile(r"-?(\d+\.?\d*|\.\d+)$")
    pairs = [tuple(float(x) for x in cells[:2]) for cells in
             (line.partition("|")[2].split() for line in block if "|" in line)
             if len(cells) >= 2 and all(number.match(x) for x in cells[:2])]
    wanted = list(ref["b"].values()) + list(ref["v"].values())
    assert len(wanted) == len(ref["b"]) + len(ref["v"]) >= 3
    for pair in wanted:
        assert pair in pairs, f"{name}: {pair} is not a row of the log's {STATA_HSB_COMMANDS[name]!r}"


BLUP_FIXTURE = _load(ROOT / "tests" / "fixtures" / "lme4_hsb_blups.json")


@pytest.mark.parametrize("bl", BLUP_FIXTURE["blups"], ids=lambda b: b["model"])
def test_blups_consistent_with_data(bl: dict) -> None:
    data = _data(BLUP_FIXTURE["data"]["file"])
    counts = data.groupby("id", sort=False).size()
    assert [b["model"] for b in BLUP_FIXTURE["blups"]] == [
        m["name"] for m in BLUP_FIXTURE["models"]] == ["hsb_ses_rslope_ml", "hsb_ses_rslope_reml"]
    assert bl["ids"] == list(counts.index)
    assert bl["n_obs"] == list(counts.to_numpy())
    assert bl["vars"] == ["ses", "_cons"]
    assert bl["stata_reses"] == {"ML": "condvar_sd", "REML": "comparative_se"}[bl["method"]]
    for v in bl["vars"]:
        for key in ("blup", "condvar_sd", "comparative_se"):
            assert len(bl[key][v]) == len(bl["ids"])
        # Comparative SEs add the uncertainty of beta-hat to the conditional variance.
        assert np.all(np.array(bl["comparative_se"][v]) >= np.array(bl["condvar_sd"][v]))

    # Recomputed in numpy: u_j = G Z_j' V_j^-1 (y_j - X_j beta), conditional var G - G Z'V^-1 Z G,
    # comparative var adds G Z'V^-1 X (X'V^-1 X)^-1 X'V^-1 Z G (here X_j = Z_j = [ses, 1]).
    m = next(m for m in BLUP_FIXTURE["models"] if m["name"] == bl["model"])
    G = np.array(m["random"][0]["cov"])
    beta = np.array(m["fixed"]["estimates"])
    A_inv = np.array(m["fixed"]["vcov"])
    s2 = m["residual_variance"]
    for j, gid in enumerate(bl["ids"][:20]):
        d = data[data["id"] == gid]
        Z = np.column_stack([d["ses"].to_numpy(), np.ones(len(d))])
        V = Z @ G @ Z.T + s2 * np.eye(len(d))
        u = G @ Z.T @ np.linalg.solve(V, d["mathach"].to_numpy() - Z @ beta)
        assert u == pytest.approx([bl["blup"]["ses"][j], bl["blup"]["_cons"][j]], rel=1e-6, abs=1e-9)
        GZV = G @ Z.T @ np.linalg.inv(V)
        C = G - GZV @ Z @ G
        assert np.sqrt(np.diag(C)) == pytest.approx(
            [bl["condvar_sd"]["ses"][j], bl["condvar_sd"]["_cons"][j]], rel=1e-6)
        assert C[0, 1] == pytest.approx(bl["condvar_cov"][j], rel=1e-6, abs=1e-12)
        comp = C + GZV @ Z @ A_inv @ Z.T @ GZV.T
        assert np.sqrt(np.diag(comp)) == pytest.approx(
            [bl["comparative_se"]["ses"][j], bl["comparative_se"]["_cons"][j]], rel=1e-6)
