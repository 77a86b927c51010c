"""Small-sample inference for the fixed effects of a linear mixed model (``mixed, dfmethod()``).

A :class:`SmallSample` gives t and F statistics with denominator degrees of freedom for any linear
combination of the coefficients (``test, small``, ``lincom, small``, the header's model test, and
``margins``/``contrast`` later), by one of Stata's methods:

- ``residual``: n − rank(X) for every test.
- ``repeated``, ``anova``: df from the design (``ddf_design``).
- ``satterthwaite``: ν = 2(l'Φl)² / (g'Ag), g_k = l'ΦP_kΦl, A the inverse information of the linear
  covariance parameters (expected by default, Stata's ``eim``; ``oim``: observed); joint tests by
  Fai and Cornelius's construction over the eigen-directions of LΦL', as ``lmerTest::contestMD``.
- ``kroger``: Kenward and Roger (1997) with the linear covariance parameterisation (R_ij = 0), as
  ``pbkrtest``: the adjusted covariance Φ_A = Φ + 2Φ{Σ W_ij(Q_ij − P_iΦP_j)}Φ, W = A, and the scaled
  F* = λF ~ F(q, m).  For one restriction λ = 1 and m equals the Satterthwaite ν.

Φ = (X'V⁻¹X)⁻¹ and P_k, Q_ij, the information matrices come from
:mod:`hlmshell.model.multilevel.reml_derivatives`.  Matrices here are over the estimable fixed
effects; :class:`SmallSample` maps weights over all of e(b) onto them.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from hlmshell.inference.distributions import f_sf

METHODS = ("kroger", "satterthwaite", "residual", "repeated", "anova")
APPROXIMATE = ("kroger", "satterthwaite")
TITLES = {"kroger": "Kenward-Roger", "satterthwaite": "Satterthwaite", "repeated": "Repeated",
          "residual": "Residual", "anova": "ANOVA"}
RANK_TOL = 1e-10
EQUAL_DF_TOL = 1e-8     # lmerTest's get_Fstat_ddf: equal directions give their common df


@dataclass(frozen=True)
class FTest:
    """A joint test: F = Wald/q on (q, ddf), and the restrictions dropped as dependent."""

    F: float
    df: int
    ddf: float
    dropped: tuple[int, ...] = ()

    @property
    def p(self) -> float:
        if not (np.isfinite(self.F) and np.isfinite(self.ddf) and self.df):
            return float("nan")
        return float(f_sf(self.F, self.df, self.ddf))


@dataclass(frozen=True)
class Approximation:
    """What Satterthwaite and Kenward–Roger need: Φ, P_k, (Q_ij + Q_ji)/2 and W = A."""

    Phi: np.ndarray
    P: np.ndarray
    Q: np.ndarray
    W: np.ndarray


@dataclass(frozen=True)
class SmallSample:
    """t and F inference with per-contrast degrees of freedom.

    ``columns`` are the e(b) positions of the estimable fixed effects (in β's order) and ``width``
    the length of e(b); ``V`` is the covariance of β used for t and F (Φ; Φ_A for ``kroger``),
    ``df`` each estimable fixed effect's degrees of freedom.  ``design_df`` holds the exact
    methods' per-coefficient df (a contrast takes the smallest among those it involves).
    """

    method: str
    eim: bool
    columns: tuple[int, ...]
    width: int
    V: np.ndarray
    df: np.ndarray
    approximation: Approximation | None = None

    @property
    def title(self) -> str:
        return TITLES[self.method]

    def restrict(self, R: np.ndarray) -> np.ndarray:
        """Rows over e(b) → rows over β; ValueError when a row weights anything but fixed effects."""
        R = np.atleast_2d(np.asarray(R, dtype=float))
        other = np.ones(self.width, dtype=bool)
        other[list(self.columns)] = False
        if np.any(R[:, other] != 0):
            raise ValueError("only fixed effects")
        return R[:, list(self.columns)]

    def lincom(self, w: np.ndarray) -> tuple[float, float]:
        """Variance and degrees of freedom of w'b (w over e(b))."""
        l = self.restrict(w)[0]
        return float(l @ self.V @ l), self._df_one(l)

    def test(self, R: np.ndarray, r: np.ndarray, b: np.ndarray) -> FTest:
        """H0: R b = r (over e(b)), dependent rows dropped, as ``test ..., small``."""
        L = self.restrict(R)
        beta = np.asarray(b, dtype=float)[list(self.columns)]
        keep: list[int] = []
        for i in range(L.shape[0]):
            if np.linalg.matrix_rank(L[keep + [i]], tol=RANK_TOL) == len(keep) + 1:
                keep.append(i)
        dropped = tuple(i + 1 for i in range(L.shape[0]) if i not in keep)
        if not keep:
            return FTest(float("nan"), 0, float("nan"), dropped)
        L, diff = L[keep], L[keep] @ beta - np.asarray(r, dtype=float)[keep]
        q = len(keep)
        F = float(diff @ np.linalg.solve(L @ self.V @ L.T, diff)) / q
        if self.method == "kroger":
            scale, ddf = _kenward_roger(self.approximation, L)
            return FTest(scale * F, q, ddf, dropped)
        if self.method == "satterthwaite":
            return FTest(F, q, _satterthwaite_joint(self.approximation, L), dropped)
        return FTest(F, q, self._design_df(L), dropped)

    def _df_one(self, l: np.ndarray) -> float:
        if self.method == "kroger":
            return _kenward_roger(self.approximation, l[None, :])[1]
        if self.method == "satterthwaite":
            return _satterthwaite(self.approximation, l)
        return self._design_df(l[None, :])

    def _design_df(self, L: np.ndarray) -> float:
        used = np.any(L != 0, axis=0)
        return float(np.min(self.df[used])) if used.any() else float("nan")


def inverse_information(info: np.ndarray) -> np.ndarray | None:
    """A = information⁻¹, None when the information is not positive definite."""
    try:
        np.linalg.cholesky(info)
    except np.linalg.LinAlgError:
        return None
    inv = np.linalg.inv(info)
    return 0.5 * (inv + inv.T)


def approximation(XtVX: np.ndarray, P: np.ndarray, Q: np.ndarray,
                  information: np.ndarray) -> Approximation | None:
    W = inverse_information(information)
    if W is None:
        return None
    Phi = np.linalg.inv(XtVX)
    return Approximation(0.5 * (Phi + Phi.T), P, Q, W)


def kenward_roger_vcov(a: Approximation) -> np.ndarray:
    """Φ_A = Φ + 2Φ{Σ_ij W_ij (Q_ij − P_iΦP_j)}Φ."""
    Phi, P = a.Phi, a.P
    middle = np.einsum("ij,ijab->ab", a.W, a.Q) - np.einsum("ij,iab,bc,jcd->ad", a.W, P, Phi, P)
    out = Phi + 2 * Phi @ middle @ Phi
    return 0.5 * (out + out.T)


def _gradient(a: Approximation, l: np.ndarray) -> np.ndarray:
    """g_k = l'ΦP_kΦl (the derivative of l'Φl is −g_k; the sign cancels)."""
    u = a.Phi @ l
    return np.einsum("a,kab,b->k", u, a.P, u)


def _satterthwaite(a: Approximation | None, l: np.ndarray) -> float:
    if a is None:
        return float("nan")
    g = _gradient(a, l)
    den = float(g @ a.W @ g)
    v = float(l @ a.Phi @ l)
    return 2 * v * v / den if den > 0 else float("nan")


def _satterthwaite_joint(a: Approximation | None, L: np.ndarray) -> float:
    """Fai–Cornelius: ν_m for each eigen-direction of LΦL', combined as lmerTest's get_Fstat_ddf."""
    if a is None:
        return float("nan")
    d, U = np.linalg.eigh(L @ a.Phi @ L.T)
    keep = d > RANK_TOL * max(float(d.max()), 0.0)
    nu = np.array([_satterthwaite(a, u @ L) for u in U[:, keep].T])
    if len(nu) == 1:
        return float(nu[0])
    if np.all(np.abs(np.diff(nu)) < EQUAL_DF_TOL):
        return float(nu.mean())
    if np.any(nu <= 2):
        return 2.0
    E = float(np.sum(nu / (nu - 2)))
    return 2 * E / (E - len(nu))


def _kenward_roger(a: Approximation | None, L: np.ndarray) -> tuple[float, float]:
    """(λ, m) for the restrictions L (Kenward and Roger 1997, as pbkrtest's KRmodcomp)."""
    if a is None:
        return float("nan"), float("nan")
    q = L.shape[0]
    Phi = a.Phi
    Theta = L.T @ np.linalg.solve(L @ Phi @ L.T, L)
    M = np.einsum("ab,bc,kcd,de->kae", Theta, Phi, a.P, Phi)        # ΘΦP_kΦ
    tr = np.trace(M, axis1=1, axis2=2)
    A1 = float(tr @ a.W @ tr)
    A2 = float(np.einsum("ij,iab,jba->", a.W, M, M))
    B = (A1 + 6 * A2) / (2 * q)
    g = ((q + 1) * A1 - (q + 4) * A2) / ((q + 2) * A2)
    denom = 3 * q + 2 * (1 - g)
    c1, c2, c3 = g / denom, (q - g) / denom, (q + 2 - g) / denom
    E = 1 / (1 - A2 / q)
    V = (2 / q) * (1 + c1 * B) / ((1 - c2 * B) ** 2 * (1 - c3 * B))
    rho = V / (2 * E * E)
    m = 4 + (q + 2) / (q * rho - 1)
    return m / (E * (m - 2)), m


def approximate(method: str, eim: bool, columns: tuple[int, ...], width: int, XtVX: np.ndarray,
                P: np.ndarray, Q: np.ndarray, eim_matrix: np.ndarray,
                oim_matrix: np.ndarray) -> SmallSample:
    """Satterthwaite or Kenward–Roger from the REML derivatives."""
    a = approximation(XtVX, P, Q, eim_matrix if eim else oim_matrix)
    p = XtVX.shape[0]
    if a is None:
        V = np.linalg.inv(XtVX)
        return SmallSample(method, eim, columns, width, V, np.full(p, np.nan))
    V = kenward_roger_vcov(a) if method == "kroger" else a.Phi
    out = SmallSample(method, eim, columns, width, V, np.full(p, np.nan), a)
    df = np.array([out._df_one(row) for row in np.eye(p)])
    return SmallSample(method, eim, columns, width, V, df, a)


def exact(method: str, columns: tuple[int, ...], width: int, V: np.ndarray,
          df: np.ndarray) -> SmallSample:
    """Residual, repeated or ANOVA df: fixed per coefficient."""
    return SmallSample(method, True, columns, width, V, np.asarray(df, dtype=float))


def summary(ss: SmallSample) -> tuple[float, float, float]:
    """DF min, avg and max over the fixed effects (the header's ``DF:`` block)."""
    df = ss.df[np.isfinite(ss.df)]
    if not len(df):
        return (float("nan"),) * 3
    return float(df.min()), float(df.mean()), float(df.max())


def fit_small_sample(model, method: str, eim: bool, data) -> SmallSample:
    """The chosen method's inference for a fitted ``MixedModel`` (``data``: its estimation sample)."""
    from hlmshell.inference.ddf_design import anova_df, repeated_df, residual_df

    columns, width = tuple(model.design.estimable), len(model.coef)
    if method in APPROXIMATE:
        from hlmshell.model.multilevel.reml_derivatives import reml_derivatives

        d = reml_derivatives(model.fit)
        if d is None:
            return SmallSample(method, eim, columns, width, model.fit.V_beta,
                               np.full(len(columns), np.nan))
        return approximate(method, eim, columns, width, d.XtVX, d.P, d.Q, d.eim, d.oim)
    df = {"residual": residual_df, "repeated": repeated_df}.get(method)
    values = df(model) if df is not None else anova_df(model, data)
    return exact(method, columns, width, model.fit.V_beta, values)


def model_test(ss: SmallSample, tested: list[int], b: np.ndarray) -> FTest:
    """The header's F test that the coefficients at e(b) positions ``tested`` are zero."""
    if not tested:
        return FTest(float("nan"), 0, float("nan"))
    R = np.zeros((len(tested), ss.width))
    R[np.arange(len(tested)), tested] = 1.0
    return ss.test(R, np.zeros(len(tested)), b)
