"""Plain-data results of the me commands (``melogit``, ``mepoisson``, ``meglm``, ...) and of the
single-level GLMs (``logit``, ``probit``, ``poisson``); ``hlmshell.render.me`` prints them."""

from __future__ import annotations

from dataclasses import dataclass

from hlmshell.results.estimation import CoefRow, GroupInfo, LRTestVsLinear


@dataclass(frozen=True)
class MEHeader:
    """The title block of an me command (``_me_display.ado``'s ``_header``)."""

    title: str                         # "Mixed-effects logistic regression"
    n_obs: int
    family: str = ""                   # meglm: "Bernoulli", "binomial", "Poisson", ...
    link: str = ""                     # meglm: "logit", "complementary log-log", ...
    binomial: str = ""                 # the trials: a variable or a number
    binomial_variable: bool = True
    dispersion: str = ""               # menbreg: "mean" | "constant"
    groups: tuple[GroupInfo, ...] = ()  # () with nogroup
    intmethod: str = "mvaghermite"
    intpoints: int | None = 7          # None after intmethod(laplace)
    wald_df: int = 0
    wald_chi2: float | None = None
    wald_p: float | None = None
    ll: float = float("nan")
    xt: bool = False                   # xtmelogit/xtmepoisson: "Integration points =" beside Wald


@dataclass(frozen=True)
class MESection:
    """Rows of the coefficient table below the fixed effects: the ancillary parameter, or one
    level's variances (headed by the level, ``title``) or covariances; rows without z show none."""

    title: str
    rows: tuple[CoefRow, ...]
    parameters: bool = True            # labels against the ``|`` (var(), cov()); else as coefficients


@dataclass(frozen=True)
class METable:
    """The me commands' single table: fixed effects (``coef_title`` "Odds ratio", "IRR" under
    or/irr), then the sections; the LR test and notes below it."""

    depvar: str
    rows: tuple[CoefRow, ...]
    sections: tuple[MESection, ...]
    level: float = 95.0
    coef_title: str = "Coefficient"
    lr: LRTestVsLinear | None = None
    notes: tuple[str, ...] = ()


@dataclass(frozen=True)
class GLMHeader:
    """``logit``/``probit``/``poisson``: title, N, LR chi2, Prob > chi2, Pseudo R2, log likelihood."""

    title: str
    n_obs: int
    df_m: int
    chi2: float
    p: float
    r2_p: float
    ll: float


@dataclass(frozen=True)
class MEIterationLog:
    """The me commands' log: the model without random effects, the grid of starting values, and
    the full model's iterations (log likelihoods)."""

    glm: tuple[float, ...]
    grid: tuple[float, ...]
    steps: tuple[float, ...]


@dataclass(frozen=True)
class GLMIterationLog:
    """``Iteration k: log likelihood = ...`` of a single-level GLM."""

    steps: tuple[float, ...]
