"""Variance components in the metric users read them, with delta-method SEs and Stata's CIs.

Stata estimates the random-effects parameters as γ = (ln sd, atanh corr, …, ln σ_e) and shows them as
variances/covariances (``mixed``) or standard deviations/correlations (``xtmixed``, ``stddeviations``)
following ``_diparm``: a one-parameter monotone transform carries its CI over from the γ scale; a
covariance, a function of three parameters, gets a delta-method SE and a symmetric Wald CI
([ME] mixed, Methods and formulas; ``_diparm_8.ado``).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from hlmshell.inference.distributions import normal_ppf


@dataclass
class EquationInfo:
    """What the display needs of one random-effects equation."""

    level: str          # the level's label, e.g. "id"
    names: list[str]    # the equation's variables, "_cons" last
    cov: str            # identity | independent | exchangeable | unstructured
    start: int          # index of its first parameter in γ


@dataclass
class VarCompRow:
    label: str          # var(ses), cov(ses,_cons), sd(_cons), corr(ses,_cons), var(Residual)
    estimate: float
    se: float
    lower: float
    upper: float
    params: tuple[int, ...]   # the γ indices the row is a function of
    grad: tuple[float, ...]   # d estimate / d γ at those indices (for the delta method)


def _z(level: float) -> float:
    return float(normal_ppf(0.5 + level / 200.0))


def _log_scale_row(label: str, idx: int, gamma: np.ndarray, V: np.ndarray, z: float,
                   power: int) -> VarCompRow:
    """var (power 2) or sd (power 1) from a ln-sd parameter: CI transformed from the log scale.

    A variance collapsing to zero has a huge SE on the log scale; its upper limit is then +inf,
    which prints as missing."""
    lns, se = gamma[idx], np.sqrt(max(V[idx, idx], 0.0))
    with np.errstate(over="ignore"):
        est = np.exp(power * lns)
        return VarCompRow(label, est, power * est * se, np.exp(power * (lns - z * se)),
                          np.exp(power * (lns + z * se)), (idx,), (float(power * est),))


def _corr_row(label: str, idx: int, gamma: np.ndarray, V: np.ndarray, z: float) -> VarCompRow:
    """corr = tanh(a).  A correlation held at the boundary (zero variance in V, see
    ``mixed.gamma_covariance``) has no SE or CI: they print as missing."""
    a = gamma[idx]
    se = np.sqrt(V[idx, idx]) if V[idx, idx] > 0 else np.nan
    rho = np.tanh(a)
    return VarCompRow(label, rho, (1 - rho ** 2) * se, np.tanh(a - z * se), np.tanh(a + z * se),
                      (idx,), (float(1 - rho ** 2),))


def _cov_row(label: str, ia: int, ik: int, im: int, gamma: np.ndarray, V: np.ndarray,
             z: float) -> VarCompRow:
    """cov = tanh(a)·exp(l_k + l_m); delta-method SE; symmetric Wald CI as Stata's _diparm."""
    a, lk, lm = gamma[ia], gamma[ik], gamma[im]
    rho, scale = np.tanh(a), np.exp(lk + lm)
    cov = rho * scale
    idx = [ia, ik] if ik == im else [ia, ik, im]
    grad = np.array([(1 - rho ** 2) * scale, 2 * cov] if ik == im else [(1 - rho ** 2) * scale, cov, cov])
    se = float(np.sqrt(max(grad @ V[np.ix_(idx, idx)] @ grad, 0.0)))
    return VarCompRow(label, cov, se, cov - z * se, cov + z * se, tuple(idx),
                      tuple(float(g) for g in grad))


def equation_rows(eq: EquationInfo, gamma: np.ndarray, V: np.ndarray, *, sd: bool = False,
                  level: float = 95.0) -> list[VarCompRow]:
    """The random-effects table rows of one equation, in Stata's order."""
    z = _z(level)
    power = 1 if sd else 2
    vname, cname = ("sd", "corr") if sd else ("var", "cov")
    q, s = len(eq.names), eq.start

    def cov_or_corr(label: str, ia: int, ik: int, im: int) -> VarCompRow:
        return _corr_row(label, ia, gamma, V, z) if sd else _cov_row(label, ia, ik, im, gamma, V, z)

    if eq.cov == "identity":
        return [_log_scale_row(f"{vname}({' '.join(eq.names)})", s, gamma, V, z, power)]
    if eq.cov == "independent":
        return [_log_scale_row(f"{vname}({name})", s + k, gamma, V, z, power)
                for k, name in enumerate(eq.names)]
    if eq.cov == "exchangeable":
        joined = " ".join(eq.names)
        clabel = f"{cname}({','.join(eq.names)})" if q == 2 else f"{cname}({joined})"
        return [_log_scale_row(f"{vname}({joined})", s, gamma, V, z, power),
                cov_or_corr(clabel, s + 1, s, s)]
    rows = [_log_scale_row(f"{vname}({name})", s + k, gamma, V, z, power)
            for k, name in enumerate(eq.names)]
    ia = s + q
    for k in range(q):
        for m in range(k + 1, q):
            rows.append(cov_or_corr(f"{cname}({eq.names[k]},{eq.names[m]})", ia, s + k, s + m))
            ia += 1
    return rows


def residual_row(gamma: np.ndarray, V: np.ndarray, *, sd: bool = False,
                 level: float = 95.0) -> VarCompRow:
    """var(Residual) or sd(Residual) from lnsig_e, the last parameter of γ."""
    idx = len(gamma) - 1
    return _log_scale_row("sd(Residual)" if sd else "var(Residual)", idx, gamma, V, _z(level),
                          1 if sd else 2)


@dataclass
class ICCRow:
    label: str
    icc: float
    se: float
    lower: float
    upper: float


def icc_rows(cons_params: list[int], labels: list[str], gamma: np.ndarray, V: np.ndarray, *,
             level: float = 95.0, residual: float | None = None) -> list[ICCRow]:
    """Stata's ``estat icc``: ICC of level i = (σ²_1 + … + σ²_i) / (Σ σ²_j + σ²_e).

    ``cons_params`` are the γ indices of each level's ln sd of ``_cons`` (outermost first).  The SE is
    the delta method over those parameters and ln σ_e with their covariances; the CI is built on the
    logit scale and transformed back (``_estat_icc.ado``).  A GLMM's latent residual variance is a
    constant (``residual``: π²/3 for logit, 1 for probit, π²/6 for cloglog; ``__estat_icc.ado``) and
    then γ has no ln σ_e.
    """
    z = _z(level)
    idx = list(cons_params) + ([] if residual is not None else [len(gamma) - 1])
    variances = np.exp(2 * gamma[idx])
    total = variances.sum() + (residual or 0.0)
    Vsub = V[np.ix_(idx, idx)]
    rows = []
    for i, label in enumerate(labels):
        num = variances[: i + 1].sum()
        icc = num / total
        inside = np.array([1.0 if j <= i else 0.0 for j in range(len(idx))])
        grad = 2 * variances * (inside / total - num / total ** 2)
        se = float(np.sqrt(max(grad @ Vsub @ grad, 0.0)))
        logit, se_logit = np.log(icc / (1 - icc)), se / (icc * (1 - icc))
        rows.append(ICCRow(label, icc, se, 1 / (1 + np.exp(-(logit - z * se_logit))),
                           1 / (1 + np.exp(-(logit + z * se_logit)))))
    return rows


def delta_covariance(rows: list[VarCompRow], V: np.ndarray) -> np.ndarray:
    """The covariance of the rows' estimates by the delta method: J V(γ) J'."""
    J = np.zeros((len(rows), V.shape[0]))
    for i, row in enumerate(rows):
        J[i, list(row.params)] = row.grad
    return J @ V @ J.T
