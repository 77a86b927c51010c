"""The one protocol every fitted model follows.

Post-estimation works through it and never asks which command made a model: ``test`` and
``lincom`` read the coefficients and their covariance, ``lrtest`` and ``estat ic`` the log likelihood,
``predict`` and ``margins`` evaluate predictions (and their derivatives with respect to the
coefficients) on any data, through the model's design, which re-evaluates on new rows.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Protocol, runtime_checkable

import numpy as np

if TYPE_CHECKING:
    import pandas as pd

    from hlmshell.model.design import Design


@dataclass(frozen=True)
class Statistic:
    """One thing ``predict`` can compute: its name (with any options, ``"mu fixedonly"``), the
    variable label, how many variables."""

    name: str
    label: str
    count: int = 1
    labels: tuple[str, ...] = ()      # one per variable when there are several
    notes: tuple[str, ...] = ()       # what ``predict`` says before computing it
    assumed: str = ""                 # what it says when this default was not typed


class FitRecordModel:
    """The log likelihood and observation count of a model that keeps them in its fit record
    (``self.fit.ll``, ``self.fit.n``)."""

    fit: Any

    @property
    def loglik(self) -> float:
        return self.fit.ll

    @property
    def nobs(self) -> int:
        return self.fit.n


@runtime_checkable
class FittedModel(Protocol):
    """What a fitted model offers.  Coefficient vectors are e(b): every design column (base and
    omitted ones as zeros) followed by any ancillary parameters."""

    depvar: str
    design: "Design"                 # the fixed part, re-evaluable on new data
    kind: str                        # "linear", "multilevel": which rules apply (lrtest, estat)

    @property
    def coef_names(self) -> list[str]:
        """e(b)'s column names: ``eq:name`` where the model has equations."""

    @property
    def coef(self) -> np.ndarray: ...

    @property
    def vcov(self) -> np.ndarray: ...

    @property
    def loglik(self) -> float:
        """The (restricted, for REML) log likelihood; NaN when there is none."""

    @property
    def nobs(self) -> int: ...

    @property
    def df_resid(self) -> float | None:
        """Residual degrees of freedom for t and F statistics; None for large-sample z and chi2."""

    @property
    def statistics(self) -> tuple[Statistic, ...]:
        """What ``predict`` can compute, the default first."""

    def predict(self, stat: str, data: "pd.DataFrame") -> list[np.ndarray]:
        """The statistic on every row of ``data`` (NaN where it cannot be computed), one array per
        variable it makes."""

    def jacobian(self, stat: str, data: "pd.DataFrame") -> np.ndarray:
        """d prediction / d coef on every row of ``data``: rows x len(coef)."""


@dataclass(frozen=True)
class Influence:
    """Each sampling unit's influence on e(b), D s_u (D the model-based variance over the score
    scale, s_u the unit's score), units x len(coef), and the ``minus`` of its robust scale.

    A unit is an estimation observation (``clusters`` None: ``regress``, (X'X)⁻¹ x_i e_i, scale
    N / (N - minus), minus the number of coefficients) or, for a multilevel model, a highest-level
    group, whose log-likelihood contribution is the smallest piece that has a score (Stata's
    ``predict, scores`` after ``mixed`` and the me commands: one per highest-level group);
    ``clusters`` then gives each estimation row's unit, and the scale is _robust's with clusters,
    (N - 1) / (N - minus) · M / (M - 1).  ``margins, vce(unconditional)`` linearizes with it."""

    values: np.ndarray
    minus: int
    clusters: np.ndarray | None = None


def influence(model: FittedModel, sample: "pd.DataFrame") -> Influence | None:
    """The model's :class:`Influence` on ``sample`` (all the estimation rows), or None when it has
    no scores (Stata's ``predict, scores``): a model offers them through an ``influence(sample)``
    method, which may itself answer None (``mixed, reml``; the me commands after Laplace)."""
    method = getattr(model, "influence", None)
    return None if method is None else method(sample)


def statistic(model: FittedModel, name: str) -> Statistic | None:
    return next((s for s in model.statistics if s.name == name), None)


def margins_statistics(model: FittedModel) -> tuple[Statistic, ...]:
    """What ``margins`` can average, its default first: the model's ``margins_statistics`` where
    they differ from ``predict``'s (a GLMM's ``mu`` is marginal over the random effects for
    ``margins``, as Stata assumes ``predict``'s ``marginal`` there, and conditional on the empirical
    Bayes means for ``predict``; a name may carry options, ``"mu fixedonly"``), else
    :attr:`FittedModel.statistics`.  ``predict`` and ``jacobian`` take these names."""
    return getattr(model, "margins_statistics", None) or model.statistics


def small_sample(model: FittedModel) -> Any:
    """The model's small-sample inference, or None for large-sample z and chi2.

    A model fitted with a denominator-degrees-of-freedom method (``mixed, dfmethod()``) carries an
    ``hlmshell.inference.ddf.SmallSample`` as ``small_sample``: ``lincom(w)`` gives the variance and
    degrees of freedom of any linear combination w'b and ``test(R, r, b)`` the F test of R b = r
    (weights over e(b)).  Models without it are large-sample (``regress`` has ``df_resid``).
    """
    return getattr(model, "small_sample", None)
