"""Margins, marginal effects and their delta-method covariance, through the fitted-model protocol.

A margin is the average of a prediction over some observations after some covariates have been set:
the rows of an ``over()`` group, the covariates of an ``at()`` row or of a marginlist cell.  Setting a
covariate means writing it into a copy of the data; factor variables at level proportions
(``atmeans``, ``(mean) i.x``) go in the copy's ``attrs`` for :meth:`Design.matrix`.  The model
predicts on the copy (``predict``) and says how the prediction moves with e(b) (``jacobian``), so
every margin comes with its gradient g over e(b), and Var = G V G' (the covariates taken as fixed:
Stata's ``vce(delta)``).  ``vce(unconditional)`` treats the covariates as sampled too, by Stata's
linearization (_marg_work's ``_linearize``): margin k over the rows S_k has on row i the score
ψ_ik = 1[i ∈ S_k] (p_ik − m_k) / |S_k| + g_k' D s_i (D s_i: the row's influence on e(b)), and
Var = N / (N − minus) Σ_i ψ_i ψ_i'.  After a multilevel model the scores are those of the
highest-level groups (the units), ψ is summed within them, and the scale is _robust's with M
clusters, (N − 1) / (N − minus) · M / (M − 1).

Marginal effects ([R] margins, *Methods and formulas*): for a continuous variable the derivative of
each observation's prediction, by central differences (exact for predictions linear in the
variable), then ``dydx`` as it is, ``eyex`` = x·(dy/dx)/y, ``dyex`` = x·dy/dx, ``eydx`` = (dy/dx)/y,
averaged; for a factor level, the discrete change from the base level.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import numpy as np

if TYPE_CHECKING:
    import pandas as pd

    from hlmshell.model.protocol import FittedModel, Influence

DERIVATIVES = ("dydx", "eyex", "dyex", "eydx")
STEP = 1e-6        # relative step of the central differences


class NotDifferentiable(Exception):
    """The statistic has no derivatives with respect to e(b) (residuals, BLUPs, standard errors)."""


@dataclass(frozen=True)
class Setting:
    """What a margin fixes: variables at values, factor variables at level proportions."""

    values: tuple[tuple[str, float], ...] = ()
    proportions: tuple[tuple[str, tuple[tuple[float, float], ...]], ...] = ()

    def with_value(self, var: str, value: float) -> Setting:
        values = tuple((v, x) for v, x in self.values if v != var) + ((var, value),)
        return Setting(values, tuple((v, p) for v, p in self.proportions if v != var))

    @property
    def fixed(self) -> set[str]:
        return {v for v, _ in self.values} | {v for v, _ in self.proportions}


@dataclass(frozen=True)
class Effect:
    """A marginal effect: of a continuous variable (``level`` None) or of a factor level against the
    base level (always ``dydx``)."""

    var: str
    kind: str = "dydx"
    level: float | None = None
    base: float | None = None


@dataclass(frozen=True, eq=False)
class Margin:
    """One margin: the rows it averages over (a mask over the data), what it sets, the effect."""

    rows: np.ndarray
    setting: Setting = field(default_factory=Setting)
    effect: Effect | None = None


@dataclass(frozen=True)
class Estimates:
    """Margins, their gradients over e(b) (one row each) and their covariance G V G'."""

    b: np.ndarray
    G: np.ndarray
    V: np.ndarray


def apply(data: pd.DataFrame, setting: Setting) -> pd.DataFrame:
    """A copy of ``data`` with the setting written in."""
    from hlmshell.model.design import FACTOR_INDICATORS

    out = data.copy()
    for var, value in setting.values:
        out[var] = float(value)
    indicators = dict(out.attrs.get(FACTOR_INDICATORS, {}))
    for var, shares in setting.proportions:
        indicators[var] = dict(shares)
    out.attrs[FACTOR_INDICATORS] = indicators
    return out


class _Evaluator:
    """Predictions and Jacobians of one statistic, cached by setting."""

    def __init__(self, model: FittedModel, stat: str, data: pd.DataFrame) -> None:
        self.model, self.stat, self.data = model, stat, data
        self._cache: dict[Setting, tuple[np.ndarray, np.ndarray]] = {}

    def __call__(self, setting: Setting) -> tuple[np.ndarray, np.ndarray]:
        if setting not in self._cache:
            frame = apply(self.data, setting)
            try:
                J = np.asarray(self.model.jacobian(self.stat, frame), dtype=float)
            except ValueError:
                raise NotDifferentiable(self.stat) from None
            p = np.asarray(self.model.predict(self.stat, frame)[0], dtype=float)
            self._cache[setting] = (p, J)
        return self._cache[setting]

    def step(self, var: str, rows: np.ndarray) -> float:
        x = self.data[var].to_numpy(dtype=float)[rows]
        return STEP * (1.0 + float(np.nanmean(np.abs(x)))) if len(x) else STEP

    def derivative(self, setting: Setting, var: str, h: float
                   ) -> tuple[np.ndarray, np.ndarray]:
        """d prediction / d var on every row, and its gradient over e(b) (central differences)."""
        base = dict(setting.values).get(var)
        x = self.data[var].to_numpy(dtype=float) if base is None else np.full(len(self.data), base)
        up = self._shifted(setting, var, x + h)
        down = self._shifted(setting, var, x - h)
        return (up[0] - down[0]) / (2 * h), (up[1] - down[1]) / (2 * h)

    def _shifted(self, setting: Setting, var: str, x: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        frame = apply(self.data, Setting(tuple((v, c) for v, c in setting.values if v != var),
                                         setting.proportions))
        frame[var] = x
        try:
            J = np.asarray(self.model.jacobian(self.stat, frame), dtype=float)
        except ValueError:
            raise NotDifferentiable(self.stat) from None
        return np.asarray(self.model.predict(self.stat, frame)[0], dtype=float), J


def _one(ev: _Evaluator, margin: Margin) -> tuple[np.ndarray, np.ndarray]:
    """The averaged quantity on each of the margin's rows, and the margin's gradient over e(b)."""
    rows = margin.rows
    effect = margin.effect
    if effect is None:
        p, J = ev(margin.setting)
        return p[rows], J[rows].mean(axis=0)
    if effect.level is not None:
        p1, J1 = ev(margin.setting.with_value(effect.var, effect.level))
        p0, J0 = ev(margin.setting.with_value(effect.var, effect.base))
        return (p1 - p0)[rows], (J1 - J0)[rows].mean(axis=0)
    d, dJ = ev.derivative(margin.setting, effect.var, ev.step(effect.var, rows))
    d, dJ = d[rows], dJ[rows]
    if effect.kind == "dydx":
        return d, dJ.mean(axis=0)
    p, J = ev(margin.setting)
    p, J = p[rows], J[rows]
    fixed = dict(margin.setting.values).get(effect.var)
    x = (ev.data[effect.var].to_numpy(dtype=float)[rows] if fixed is None
         else np.full(len(p), fixed))
    with np.errstate(divide="ignore", invalid="ignore"):
        if effect.kind == "dyex":
            value, grad = x * d, x[:, None] * dJ
        else:
            value = d / p
            grad = dJ / p[:, None] - (d / p ** 2)[:, None] * J
            if effect.kind == "eyex":
                value, grad = x * value, x[:, None] * grad
    return value, grad.mean(axis=0)


def estimate(model: FittedModel, stat: str, data: pd.DataFrame, margins: list[Margin],
             V: np.ndarray, influence: Influence | None = None,
             sample_rows: np.ndarray | None = None) -> Estimates:
    """The margins of ``stat`` over ``data`` and their covariance: the delta method's with e(V)
    (``V``), or with ``influence`` (the model's on the whole estimation sample; ``sample_rows``:
    each row of ``data``'s position there) the unconditional one."""
    ev = _Evaluator(model, stat, data)
    rows_values, grads = [], []
    for margin in margins:
        values, grad = _one(ev, margin)
        rows_values.append(values)
        grads.append(grad)
    b = np.array([float(np.mean(v)) for v in rows_values])
    G = np.array(grads).reshape(len(margins), V.shape[0])
    if influence is None:
        return Estimates(b, G, G @ V @ G.T)
    return Estimates(b, G, _linearized(influence, G, b, margins, rows_values,
                                       np.arange(len(data)) if sample_rows is None else sample_rows))


def _linearized(influence: Influence, G: np.ndarray, b: np.ndarray, margins: list[Margin],
                rows_values: list[np.ndarray], sample_rows: np.ndarray) -> np.ndarray:
    """Σ_u ψ_u ψ_u' times _robust's scale, ψ_u the unit's influence on the margins: its
    g_k' D s_u plus, per margin, its rows' (p_ik − m_k) / |S_k|."""
    psi = influence.values @ G.T
    units = sample_rows if influence.clusters is None else influence.clusters[sample_rows]
    for k, (margin, values) in enumerate(zip(margins, rows_values)):
        np.add.at(psi[:, k], units[margin.rows], (values - b[k]) / len(values))
    minus = influence.minus
    if influence.clusters is None:
        n = len(psi)
        scale = n / (n - minus)
    else:
        n, m = len(influence.clusters), len(psi)
        scale = (n - 1) / (n - minus) * m / (m - 1)
    return scale * (psi.T @ psi)
