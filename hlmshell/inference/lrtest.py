"""Likelihood-ratio tests: of two nested models (``lrtest``), and of a mixed model against the
same model without random effects (the footer of ``mixed``).

The nesting rules follow Stata's ``lrtest.ado``.  A model is described by :class:`LRModel`, built
by the command layer from stored results; a pair the rules refuse raises :class:`NotNested` with
Stata's wording, which the command reports as r(498).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from hlmshell.inference.distributions import chi2_sf


@dataclass(frozen=True)
class BoundaryLR:
    """``LR test vs. linear model``: variance components at zero are on the boundary."""

    chi2: float
    df: int
    p: float

    @property
    def chibar(self) -> bool:
        """One variance component: the statistic is a 50:50 mixture, printed ``chibar2(01)``."""
        return self.df == 1

    @property
    def conservative(self) -> bool:
        """Several components: the chi2(df) reference is conservative (Stata's note)."""
        return self.df > 1


def lr_vs_linear(ll: float, ll_linear: float, df: int) -> BoundaryLR:
    """The test of all ``df`` random-effects parameters at zero (Stata halves p for one of them)."""
    chi2 = max(0.0, 2.0 * (ll - ll_linear))
    p = float(chi2_sf(chi2, df)) if df else float("nan")
    if df == 1 and chi2 > 1e-5:
        p *= 0.5
    return BoundaryLR(chi2, df, p)


class NotNested(Exception):
    """The two models cannot be compared by a likelihood-ratio test (Stata's message)."""


@dataclass(frozen=True)
class LRModel:
    """What the nesting rules need of one model."""

    name: str
    estimator: str                 # the command that fitted it (different estimators: not nested)
    N: float | None
    df: float                      # parameters: e(rank), or the rank of e(V)
    ll: float
    ll0: float | None = None
    depvar: str = ""
    sample: np.ndarray | None = None   # observation keys
    multilevel: bool = False       # random effects: the mixed-model rules apply
    linear: bool = False           # a linear regression (the mixed model with no random effects)
    method: str = ""               # ML | REML (multilevel)
    k_f: float = 0.0               # fixed-effects columns
    k_rs: float = 0.0              # ln-sd parameters (variances)
    k_rc: float = 0.0              # correlation parameters
    df_c: float = 0.0              # random-effects parameters (df of the test against linear)
    boundary_note: bool = False    # Stata prints the boundary note for results with e(mecmd)


@dataclass(frozen=True)
class LRResult:
    restricted: str
    unrestricted: str
    chi2: float
    df: float
    p: float
    conservative: bool             # "Note: The reported degrees of freedom assumes the null..."
    reml_note: bool                # REML fits with the same fixed effects


def _fmt(x: float | None) -> str:
    from hlmshell.lang.numfmt import fmt_g

    return fmt_g(x).strip()


def lr_test(a: LRModel, b: LRModel, *, df: float | None = None, force: bool = False) -> LRResult:
    """The test of the model with fewer parameters against the one with more (order free)."""
    u, r = (a, b) if a.df >= b.df else (b, a)
    dof = u.df - r.df if df is None else df
    conservative = reml_note = False
    if not force:
        if dof < 0:
            raise NotNested(f"df(unrestricted) < df(restricted): {_fmt(u.df)} < {_fmt(r.df)}")
        if dof == 0:
            raise NotNested(f"df(unrestricted) = df(restricted) = {_fmt(u.df)}")
        if u.multilevel and r.multilevel:
            for attr in ("k_f", "k_rc", "k_rs"):
                if getattr(u, attr) < getattr(r, attr):
                    raise NotNested("Mixed models are not nested")
            if u.method != r.method:
                raise NotNested("cannot compare a REML model with an ML model")
            reml_note = u.method == "REML"
            if reml_note and u.k_f != r.k_f:
                raise NotNested("REML criterion is not comparable under different fixed-effects "
                                "specifications")
            conservative = u.k_rs != r.k_rs and (u.boundary_note or r.boundary_note)
        if u.N != r.N:
            raise NotNested(f"observations differ: {_fmt(u.N)} vs. {_fmt(r.N)}")
        if u.sample is not None and r.sample is not None and \
                not np.array_equal(np.unique(u.sample), np.unique(r.sample)):
            raise NotNested("samples differ")
        # A linear regression is the mixed model with every variance component at zero: the pair
        # is nested (on the boundary, hence the note), provided the mixed model was fitted by ML.
        linear_in_mixed = r.linear and u.multilevel
        if linear_in_mixed and u.method == "REML":
            raise NotNested("LR tests of a REML fit against a linear regression are not valid;\n"
                            "refit the mixed model with option ml")
        if u.estimator != r.estimator and not linear_in_mixed:
            raise NotNested(f"test involves different estimators: {u.estimator} vs. {r.estimator}")
        if linear_in_mixed:
            conservative = True
            if df is None:      # regress's e(rank) leaves out σ; count the variance components
                dof = u.df_c
        if u.depvar and r.depvar and u.depvar.split() != r.depvar.split():
            raise NotNested(f"dependent variables differ: {u.depvar} vs. {r.depvar}")
        if u.ll0 is not None and r.ll0 is not None and \
                abs(u.ll0 - r.ll0) / (abs(r.ll0) + 1) > 1e-6:
            raise NotNested(f"log likelihood of null models differ:{_fmt(u.ll0)} vs. {_fmt(r.ll0)}")
    chi2 = -2.0 * (r.ll - u.ll)
    return LRResult(r.name, u.name, chi2, dof, float(chi2_sf(chi2, dof)), conservative, reml_note)
