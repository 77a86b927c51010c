"""Linear panel-data models as Stata's xtreg fits them: fixed effects (within), random effects
(GLS, Swamy–Arora) and the random-intercept model by maximum likelihood.

The steps are those of xtreg_fe.ado, xtreg_re.ado and xtreg_ml.ado:

- **fe**: OLS of y − ȳ_i + ȳ on x − x̄_i + x̄ and a constant; s² = SSR/(N − n − k); the constant's
  variance comes from the same regression.  σ_u is the standard deviation over panels of
  û_i = ȳ_i − x̄_i'b − a; the F test that all u_i = 0 compares the pooled and within SSRs.
- **re**: σ_e² from the within regression; σ_u² = SSR_B/(n − K) − σ_e²/T̄ from the unweighted
  between regression (T̄ the harmonic mean of T_i), or with ``sa`` the Swamy–Arora/Baltagi–Chang
  value (ubPub − (n − K)σ_e²)/(N − tr); θ_i = 1 − sqrt(σ_e²/(T_iσ_u² + σ_e²)); OLS of
  y − θ_i ȳ_i on x − θ_i x̄_i and 1 − θ_i gives b and V = rmse² (X*'X*)⁻¹.
- **mle**: ll = Σ_i −½[T_i ln 2π + (T_i − 1) ln σ_e² + ln(σ_e² + T_iσ_u²) + r_i'r_i/σ_e²
  − σ_u²(Σr_i)²/(σ_e²(σ_e² + T_iσ_u²))], maximised over ψ = σ_u²/σ_e² with β and σ_e² profiled
  out; V is the inverse of the full observed information in (β, σ_u, σ_e), as ``ml`` posts it.

The R² (within, between, overall) are squared correlations of the fitted values with y, its panel
means and its deviations from them.  Everything here works on the rows of the estimation sample,
in any order; panels are given as codes 0..n-1.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import numpy as np

from hlmshell.model.design import Design
from hlmshell.model.linear import fit_ols
from hlmshell.model.protocol import Statistic

if TYPE_CHECKING:
    import pandas as pd


@dataclass(frozen=True)
class Panels:
    """Each observation's panel (codes 0..n-1) and the panels' sizes T_i."""

    codes: np.ndarray
    values: np.ndarray            # the panel variable's value of each panel

    @property
    def n(self) -> int:
        return len(self.values)

    @property
    def sizes(self) -> np.ndarray:
        return np.bincount(self.codes, minlength=self.n)

    def means(self, v: np.ndarray) -> np.ndarray:
        """Panel means of a vector or of each column of a matrix (one row per panel)."""
        v = np.asarray(v, dtype=float)
        sums = np.zeros((self.n,) + v.shape[1:])
        np.add.at(sums, self.codes, v)
        return sums / self.sizes.reshape((-1,) + (1,) * (v.ndim - 1))


def make_panels(panel_values: np.ndarray) -> Panels:
    values, codes = np.unique(panel_values, return_inverse=True)
    return Panels(codes.astype(np.int64), values)


def _corr2(a: np.ndarray, b: np.ndarray) -> float:
    if len(a) < 2 or np.std(a) == 0 or np.std(b) == 0:
        return math.nan
    return float(np.corrcoef(a, b)[0, 1] ** 2)


@dataclass(frozen=True)
class RSquared:
    within: float
    between: float
    overall: float


def r_squared(y: np.ndarray, xb: np.ndarray, panels: Panels) -> RSquared:
    """xtreg's three R²: squared correlations of xb with y within panels, between and overall."""
    xbar, ybar = panels.means(xb), panels.means(y)
    return RSquared(_corr2(xb - xbar[panels.codes], y - ybar[panels.codes]), _corr2(xbar, ybar),
                    _corr2(xb, y))


def within_design(design: Design, panels: Panels) -> Design:
    """The design with the columns that do not vary within panels (or are collinear once
    panel means are removed) omitted, with Stata's notes."""
    X = design.X
    demeaned = X - panels.means(X)[panels.codes]
    keep, basis = [], np.zeros((len(X), 0))
    columns = [c for c in design.columns]
    notes = list(design.notes)
    for k, j in enumerate(design.estimable):
        col = columns[j]
        if col.kind == "constant":
            keep.append(k)
            continue
        v = demeaned[:, k].copy()
        scale = float(X[:, k] @ X[:, k])
        for _ in range(2):
            v -= basis @ (basis.T @ v)
        if scale == 0 or float(v @ v) <= 1e-13 * scale:
            col.omitted = True
            notes.append(f"note: {col.name} omitted because of collinearity.")
            continue
        basis = np.column_stack([basis, v / math.sqrt(float(v @ v))])
        keep.append(k)
    estimable = [design.estimable[k] for k in keep]
    return Design(X[:, keep], columns, estimable, design.variables, notes, design.rows)


# -- fixed effects ----------------------------------------------------------------------------
@dataclass
class WithinFit:
    beta: np.ndarray              # slopes then the constant
    V: np.ndarray
    df_r: int
    rss: float                    # SSR of the within regression
    tss: float                    # total sum of squares of y about its mean
    s2: float
    F: float                      # Wald/k for the slopes
    u: np.ndarray                 # û_i by panel
    sigma_u: float
    corr: float                   # corr(u_i, Xb)
    F_u: float
    df_u: tuple[int, int]
    r2: RSquared
    r2_within: float              # 1 − SSR_w/TSS_w
    ll: float
    ll_0: float


def fit_within(y: np.ndarray, X: np.ndarray, panels: Panels) -> WithinFit:
    """The within regression; X holds the slopes then the constant column."""
    k = X.shape[1] - 1
    N, n = len(y), panels.n
    ybar, xbar = panels.means(y), panels.means(X[:, :k])
    yt = y - ybar[panels.codes] + y.mean()
    Xt = np.column_stack([X[:, :k] - xbar[panels.codes] + X[:, :k].mean(axis=0), np.ones(N)])
    ols = fit_ols(yt, Xt)
    b = ols.beta
    df_r = N - n - k
    s2 = ols.rss / df_r if df_r > 0 else math.nan
    V = ols.V * (ols.df_r / df_r) if df_r > 0 else ols.V * math.nan
    slopes = b[:k]
    Vs = V[:k, :k]
    F = float(slopes @ np.linalg.solve(Vs, slopes) / k) if k else math.nan
    xb = X @ b
    u = ybar - panels.means(xb)
    pooled = fit_ols(y, X)
    df_u = (n - 1, df_r)
    F_u = ((pooled.rss - ols.rss) / (n - 1)) / (ols.rss / df_r) if n > 1 and df_r > 0 else math.nan
    yd = y - ybar[panels.codes]
    tss_w = float(yd @ yd)
    within = 1 - ols.rss / tss_w if tss_w > 0 else math.nan
    corr = float(np.corrcoef(xb, u[panels.codes])[0, 1]) if k else math.nan
    # the log likelihoods of the within regression with and without the slopes (as xtreg_fe)
    ll = -0.5 * N * (math.log(2 * math.pi) + math.log(ols.rss / N) + 1)
    ll_0 = -0.5 * N * (math.log(2 * math.pi) + math.log(tss_w / N) + 1) if tss_w > 0 else math.nan
    return WithinFit(b, V, df_r, ols.rss, float(((y - y.mean()) ** 2).sum()), s2, F, u,
                     float(np.std(u, ddof=1)) if n > 1 else math.nan, corr, F_u, df_u,
                     r_squared(y, xb, panels), within, ll, ll_0)


# -- random effects (GLS) -------------------------------------------------------------------
@dataclass
class GLSFit:
    beta: np.ndarray
    V: np.ndarray
    sigma_u: float
    sigma_e: float
    theta: np.ndarray             # by panel
    chi2: float
    df_m: int
    rmse: float
    Tbar: float                   # harmonic mean of T_i
    r2: RSquared
    truncated: bool               # σ_u² estimate was negative, set to 0


def fit_gls(y: np.ndarray, X: np.ndarray, panels: Panels, *, sa: bool = False) -> GLSFit:
    """Random-effects GLS; X holds the slopes then the constant column."""
    k = X.shape[1] - 1
    N, n, K = len(y), panels.n, X.shape[1]
    T = panels.sizes.astype(float)
    within = fit_within(y, X, panels)
    s2e = within.s2
    ybar, xbar = panels.means(y), panels.means(X)
    between = fit_ols(ybar, xbar)
    Tbar = n / float(np.sum(1.0 / T))
    if sa:
        e = y - X @ between.beta
        sums = np.bincount(panels.codes, weights=e, minlength=n)
        ubpub = float(np.sum(sums ** 2 / T))
        zz = (xbar * T[:, None]).T @ xbar
        zz2 = (xbar * (T ** 2)[:, None]).T @ xbar
        trace = float(np.trace(np.linalg.solve(zz, zz2)))
        s2u = (ubpub - (n - K) * s2e) / (N - trace)
    else:
        s2u = between.rss / (n - K) - s2e / Tbar
    truncated = s2u < 0
    s2u = max(s2u, 0.0)
    theta = 1 - np.sqrt(s2e / (T * s2u + s2e))
    th = theta[panels.codes]
    ys = y - th * ybar[panels.codes]
    Xs = X - th[:, None] * xbar[panels.codes]
    fit = fit_ols(ys, Xs, constant=False)
    b, V = fit.beta, fit.V * (fit.df_r / (N - K)) if N > K else fit.V
    rmse = math.sqrt(fit.rss / (N - K)) if N > K else math.nan
    slopes = b[:k]
    chi2 = float(slopes @ np.linalg.solve(V[:k, :k], slopes)) if k else math.nan
    return GLSFit(b, V, math.sqrt(s2u), math.sqrt(s2e), theta, chi2, k, rmse, Tbar,
                  r_squared(y, X @ b, panels), truncated)


# -- random effects (ML) --------------------------------------------------------------------
@dataclass
class _PanelSums:
    """Per-panel cross-products: X'X, X'1, X'y, 1'y, y'y."""

    T: np.ndarray
    XX: np.ndarray
    X1: np.ndarray
    Xy: np.ndarray
    y1: np.ndarray
    yy: np.ndarray


def _sums(y: np.ndarray, X: np.ndarray, panels: Panels) -> _PanelSums:
    n, k = panels.n, X.shape[1]
    XX = np.zeros((n, k, k))
    np.add.at(XX, panels.codes, X[:, :, None] * X[:, None, :])
    X1 = np.zeros((n, k))
    np.add.at(X1, panels.codes, X)
    Xy = np.zeros((n, k))
    np.add.at(Xy, panels.codes, X * y[:, None])
    return _PanelSums(panels.sizes.astype(float), XX, X1, Xy,
                      np.bincount(panels.codes, weights=y, minlength=n),
                      np.bincount(panels.codes, weights=y * y, minlength=n))


def _gls_beta(p: _PanelSums, psi: float) -> np.ndarray:
    """β minimising Σ r'(I − c J)r with c = ψ/(1 + Tψ) (σ_e² cancels)."""
    c = psi / (1 + p.T * psi)
    A = p.XX.sum(axis=0) - np.einsum("i,ij,ik->jk", c, p.X1, p.X1)
    g = p.Xy.sum(axis=0) - np.einsum("i,ij,i->j", c, p.X1, p.y1)
    return np.linalg.solve(A, g)


def _residual_sums(p: _PanelSums, beta: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(Σ r, Σ r²) per panel for r = y − Xβ."""
    S1 = p.y1 - p.X1 @ beta
    S2 = p.yy - 2 * p.Xy @ beta + np.einsum("j,ijk,k->i", beta, p.XX, beta)
    return S1, S2


def loglik(p: _PanelSums, beta: np.ndarray, su2: float, se2: float) -> float:
    S1, S2 = _residual_sums(p, beta)
    lam = se2 + p.T * su2
    return float(-0.5 * np.sum(p.T * math.log(2 * math.pi) + (p.T - 1) * math.log(se2)
                               + np.log(lam) + S2 / se2 - su2 * S1 ** 2 / (se2 * lam)))


def _profile(p: _PanelSums, log_psi: float) -> tuple[float, np.ndarray, float]:
    """(ll, β, σ_e²) at ψ = exp(log_psi), β and σ_e² at their optimum given ψ."""
    psi = math.exp(log_psi)
    beta = _gls_beta(p, psi)
    S1, S2 = _residual_sums(p, beta)
    c = psi / (1 + p.T * psi)
    se2 = float(np.sum(S2 - c * S1 ** 2)) / float(p.T.sum())
    return loglik(p, beta, psi * se2, se2), beta, se2


def _maximise(p: _PanelSums, start: float) -> tuple[list[float], float]:
    """Newton steps on the profile log likelihood in ln ψ (numerical derivatives, halving when
    a step does not improve); returns the log likelihoods of the iterations and ln ψ."""
    x, h = start, 1e-4
    f = _profile(p, x)[0]
    history = [f]
    for _ in range(100):
        fp, fm = _profile(p, x + h)[0], _profile(p, x - h)[0]
        g, H = (fp - fm) / (2 * h), (fp - 2 * f + fm) / h ** 2
        step = -g / H if H < 0 else math.copysign(1.0, g)
        step = max(min(step, 5.0), -5.0)
        while True:
            fn = _profile(p, x + step)[0]
            if fn >= f or abs(step) < 1e-10:
                break
            step /= 2
        x, done = x + step, abs(fn - f) < 1e-12 * max(1.0, abs(f)) and abs(step) < 1e-6
        f = fn
        history.append(f)
        if done or x < -30:
            break
    return history, x


def _information(p: _PanelSums, beta: np.ndarray, su: float, se: float) -> np.ndarray:
    """The negative Hessian of ll in (β, σ_u, σ_e), analytically (V_i⁻¹ = (I − cJ)/a)."""
    s, a = su * su, se * se
    T = p.T
    lam = a + T * s
    c = s / lam
    S1, S2 = _residual_sums(p, beta)
    Xr = p.Xy - np.einsum("ijk,k->ij", p.XX, beta)          # X'r per panel
    e = 2 * c - c * c * T                                   # V⁻² = (I − eJ)/a²
    d = e + c - e * c * T                                   # V⁻³ = (I − dJ)/a³
    # first derivatives in (s, a)
    gs = -0.5 * np.sum(T / lam - S1 ** 2 / lam ** 2)
    ga = -0.5 * np.sum(T * (1 - c) / a - (S2 - e * S1 ** 2) / a ** 2)
    # second derivatives in (s, a): −½[−tr(V⁻¹V_kV⁻¹V_l) + 2 r'V⁻¹V_kV⁻¹V_lV⁻¹r]
    hss = -0.5 * np.sum(-(T / lam) ** 2 + 2 * S1 ** 2 * T / lam ** 3)
    hsa = -0.5 * np.sum(-T / lam ** 2 + 2 * S1 ** 2 / lam ** 3)
    haa = -0.5 * np.sum(-(T - e * T) / a ** 2 + 2 * (S2 - d * S1 ** 2) / a ** 3)
    # β blocks
    hbb = -(p.XX.sum(axis=0) - np.einsum("i,ij,ik->jk", c, p.X1, p.X1)) / a
    hbs = -np.einsum("ij,i->j", p.X1, S1 / lam ** 2)
    hba = -np.sum((Xr - e[:, None] * p.X1 * S1[:, None]) / a ** 2, axis=0)
    # to (σ_u, σ_e): d/dσ = 2σ d/dθ, d²/dσ² = 4σ² d²/dθ² + 2 d/dθ
    k = len(beta)
    H = np.zeros((k + 2, k + 2))
    H[:k, :k] = hbb
    H[:k, k] = H[k, :k] = 2 * su * hbs
    H[:k, k + 1] = H[k + 1, :k] = 2 * se * hba
    H[k, k] = 4 * s * hss + 2 * gs
    H[k + 1, k + 1] = 4 * a * haa + 2 * ga
    H[k, k + 1] = H[k + 1, k] = 4 * su * se * hsa
    return -H


@dataclass
class MLFit:
    beta: np.ndarray
    sigma_u: float
    sigma_e: float
    V: np.ndarray                 # (β, σ_u, σ_e)
    ll: float
    ll_0: float                   # the constant-only model
    ll_c: float                   # the pooled regression (σ_u = 0)
    log: tuple[float, ...]
    log_0: tuple[float, ...]

    @property
    def rho(self) -> float:
        return self.sigma_u ** 2 / (self.sigma_u ** 2 + self.sigma_e ** 2)


def _ml(y: np.ndarray, X: np.ndarray, panels: Panels) -> tuple[list[float], np.ndarray, float, float,
                                                               _PanelSums]:
    p = _sums(y, X, panels)
    gls = fit_gls(y, X, panels)
    ratio = (gls.sigma_u / gls.sigma_e) ** 2 if gls.sigma_e > 0 else 1.0
    history, x = _maximise(p, math.log(max(ratio, 1e-4)))
    ll, beta, se2 = _profile(p, x)
    return history, beta, math.sqrt(math.exp(x) * se2), math.sqrt(se2), p


def fit_ml(y: np.ndarray, X: np.ndarray, panels: Panels) -> MLFit:
    """The random-intercept model by maximum likelihood; X holds the slopes then the constant."""
    log_0, _, _, _, _ = _ml(y, X[:, -1:], panels)
    log, beta, su, se, p = _ml(y, X, panels)
    ll = loglik(p, beta, su * su, se * se)
    if su < 1e-5:
        su = 0.0
    info = _information(p, beta, max(su, 1e-10), se)
    V = np.linalg.inv(info)
    pooled = fit_ols(y, X)
    return MLFit(beta, su, se, V, ll, log_0[-1], pooled.ll, tuple(log), tuple(log_0))


# -- the fitted models --------------------------------------------------------------------------
@dataclass
class PanelModel:
    """xtreg's fit in the fitted-model protocol: ``fit`` is a WithinFit, GLSFit or MLFit; u_i by
    panel value for predict."""

    depvar: str
    design: Design
    method: str                   # "fe", "re", "mle"
    fit: Any
    panelvar: str
    panels: Panels
    nobs: int
    u: np.ndarray = field(default_factory=lambda: np.zeros(0))

    kind = "panel"

    @property
    def coef_names(self) -> list[str]:
        names = self.design.names
        if self.method != "mle":
            return names
        return [f"{self.depvar}:{n}" for n in names] + ["sigma_u:_cons", "sigma_e:_cons"]

    @property
    def _k(self) -> int:
        return len(self.design.estimable)

    @property
    def coef(self) -> np.ndarray:
        b = self.design.expand(self.fit.beta)
        if self.method == "mle":
            b = np.r_[b, self.fit.sigma_u, self.fit.sigma_e]
        return b

    @property
    def vcov(self) -> np.ndarray:
        k = self._k
        V = self.design.expand_matrix(self.fit.V[:k, :k])
        if self.method != "mle":
            return V
        m = len(self.design.columns)
        full = np.zeros((m + 2, m + 2))
        idx = np.r_[np.asarray(self.design.estimable, dtype=int), m, m + 1]
        full[np.ix_(idx, idx)] = self.fit.V
        return full

    @property
    def loglik(self) -> float:
        return self.fit.ll if self.method in ("mle", "fe") else math.nan

    @property
    def df_resid(self) -> float | None:
        return float(self.fit.df_r) if self.method == "fe" else None

    @property
    def statistics(self) -> tuple[Statistic, ...]:
        return (Statistic("xb", "Linear prediction"), Statistic("stdp", "S.E. of the prediction"),
                Statistic("ue", "u[" + self.panelvar + "] + e[" + self.panelvar + ",t]"),
                Statistic("xbu", "Prediction including effect"),
                Statistic("u", "u[" + self.panelvar + "]"),
                Statistic("e", "e[" + self.panelvar + ",t]"))

    def _u(self, data: pd.DataFrame) -> np.ndarray:
        """u_i of each row's panel (missing for panels not in the estimation)."""
        values = data[self.panelvar].to_numpy(dtype=float, na_value=np.nan)
        pos = np.searchsorted(self.panels.values, values)
        pos = np.clip(pos, 0, max(self.panels.n - 1, 0))
        hit = self.panels.values[pos] == values if self.panels.n else np.zeros(len(values), bool)
        return np.where(hit, self.u[pos], np.nan)

    def predict(self, stat: str, data: pd.DataFrame) -> list[np.ndarray]:
        X = self.design.matrix(data)
        xb = X @ self.fit.beta[:self._k]
        if stat == "xb":
            return [xb]
        if stat == "stdp":
            V = self.fit.V[:self._k, :self._k]
            return [np.sqrt(np.einsum("ij,jk,ik->i", X, V, X))]
        y = data[self.depvar].to_numpy(dtype=float, na_value=np.nan)
        u = self._u(data)
        return [{"ue": y - xb, "u": u, "xbu": xb + u, "e": y - xb - u}[stat]]

    def jacobian(self, stat: str, data: pd.DataFrame) -> np.ndarray:
        if stat != "xb":
            raise ValueError(f"no derivatives of {stat}")
        out = np.zeros((len(data), len(self.coef)))
        out[:, self.design.estimable] = self.design.matrix(data)
        return out


def panel_effects(method: str, fit: Any, y: np.ndarray, X: np.ndarray, panels: Panels) -> np.ndarray:
    """u_i by panel: the within estimates for fe; for re and mle the mean residual shrunk by
    T_iσ_u²/(T_iσ_u² + σ_e²), as xtreg's predict, u computes them."""
    if method == "fe":
        return fit.u
    resid = panels.means(y - X @ fit.beta[:X.shape[1]])
    T = panels.sizes
    su2, se2 = fit.sigma_u ** 2, fit.sigma_e ** 2
    return resid * (T * su2 / (T * su2 + se2)) if su2 > 0 else np.zeros(panels.n)
