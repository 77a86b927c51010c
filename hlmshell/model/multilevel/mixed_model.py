"""A fitted linear mixed model in the fitted-model protocol: e(b), e(V), predictions on any data.

``fit_mixed_model`` takes the estimation sample, the fixed-effects terms and the random-effects
equations, builds the design and the structure, fits, and returns a :class:`MixedModel`.  Predictions
re-evaluate the design and the random-effects columns on the rows they are asked for and find each
row's group by the values of the level variables, so they do not depend on the row order.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from hlmshell.lang.fvnotation import Term
from hlmshell.model.design import Design, build_design
from hlmshell.model.protocol import FitRecordModel, Influence, Statistic

from .blup import random_effects
from .identification import check_effects, check_levels
from .lmm import LMMFit, REEquation, fit_lmm
from .structure import ALL, Equation, EquationSpec, Structure, build_structure


@dataclass
class MixedModel(FitRecordModel):
    """A linear mixed model: the fit, its fixed-effects design and its multilevel structure."""

    depvar: str
    design: Design
    structure: Structure
    fit: LMMFit
    small_sample: Any = None     # inference.ddf.SmallSample with dfmethod() (protocol.small_sample)

    # -- the protocol -----------------------------------------------------------------------
    kind = "multilevel"

    @property
    def coef_names(self) -> list[str]:
        return ([f"{self.depvar}:{c.name}" for c in self.design.columns]
                + [f"{g}:_cons" for g in self.fit.gamma_names])

    @property
    def coef(self) -> np.ndarray:
        return np.concatenate([self.design.expand(self.fit.beta), self.fit.gamma])

    @property
    def vcov(self) -> np.ndarray:
        k_f, k_r = len(self.design.columns), len(self.fit.gamma)
        V = np.zeros((k_f + k_r, k_f + k_r))
        V[:k_f, :k_f] = self.design.expand_matrix(self.fit.V_beta)
        V[k_f:, k_f:] = self.fit.V_gamma
        return V

    @property
    def df_resid(self) -> float | None:
        return None

    @property
    def method(self) -> str:
        return self.fit.method

    @property
    def statistics(self) -> tuple[Statistic, ...]:
        re_labels = tuple(label for eq in self.structure.equations for label in self._re_labels(eq))
        return (Statistic("xb", "Linear prediction, fixed portion"),
                Statistic("stdp", "S.E. of the prediction"),
                Statistic("fitted", "Fitted values: xb + Zu"),
                Statistic("residuals", "Residuals"),
                Statistic("rstandard", "Standardized residuals"),
                Statistic("reffects", "BLUP r.e.", len(re_labels),
                          tuple(f"BLUP r.e. for {x}" for x in re_labels)),
                Statistic("reses", "BLUP r.e. std. err.", len(re_labels),
                          tuple(f"BLUP r.e. std. err. for {x}" for x in re_labels)))

    def _re_labels(self, eq) -> list[str]:
        level = self.structure.levels[eq.level]
        if eq.spec.factor is not None:
            return [f"{level}: R.{eq.spec.factor}"]
        return [f"{level}: {name}" for name in eq.names]

    def predict(self, stat: str, data: pd.DataFrame) -> list[np.ndarray]:
        if stat == "xb":
            return [self._xb(data)]
        if stat == "stdp":
            X = self.design.matrix(data)
            return [np.sqrt(np.einsum("ij,jk,ik->i", X, self.fit.V_beta, X))]
        if stat in ("reffects", "reses"):
            return self._blups(data, stat == "reses")
        fitted = self._xb(data) + self._zu(data)
        if stat == "fitted":
            return [fitted]
        resid = data[self.depvar].to_numpy(dtype=float, na_value=np.nan) - fitted
        if stat == "rstandard":
            resid = resid / np.sqrt(self.fit.sigma2)
        return [resid]

    def jacobian(self, stat: str, data: pd.DataFrame) -> np.ndarray:
        if stat != "xb":
            raise ValueError(f"no derivatives of {stat}")
        out = np.zeros((len(data), len(self.coef_names)))
        out[:, self.design.estimable] = self.design.matrix(data)
        return out

    def influence(self, sample: pd.DataFrame) -> Influence | None:
        """Each highest-level group's influence on e(b), V s_g (s_g: the score of its log-likelihood
        contribution in e(b)'s metric, β then lns/atr/lnsig_e).  None where Stata's ``predict,
        scores`` has none: after REML, and with no highest-level clusters (``R.`` terms, ``_all``)."""
        from .crossprod import build_layout
        from .lmm import gamma_parts
        from .scores import LinearGroups

        if self.fit.method != "ML" or not self._clustered():
            return None
        y, X, levels, eqs = self._arrays(sample)
        _, _, gslices = gamma_parts(eqs, self.fit.Sigma)
        layout = build_layout(y, X, levels, [e.level for e in eqs], [e.Z for e in eqs])
        groups = LinearGroups(y, X, layout, eqs, gslices)
        return self._influence(groups.scores(self.fit.beta, self.fit.gamma), levels[0].row_group)

    def _clustered(self) -> bool:
        """Whether the likelihood is a sum over the highest level's groups (nested designs)."""
        return (bool(self.structure.equations) and self.structure.levels[0] != ALL
                and all(eq.spec.factor is None for eq in self.structure.equations))

    def _arrays(self, sample: pd.DataFrame
                ) -> tuple[np.ndarray, np.ndarray, list, list[REEquation]]:
        """y, X, the nested levels and the equations on ``sample`` (estimation rows), each row's
        groups being the fitted ones."""
        from .crossprod import build_levels

        levels = build_levels([self.structure.row_groups(k, sample)
                               for k in range(len(self.structure.levels))], len(sample))
        eqs = [REEquation(eq.level, list(eq.names), eq.z(sample), eq.cov)
               for eq in self.structure.equations]
        return (sample[self.depvar].to_numpy(dtype=float), self.design.matrix(sample), levels, eqs)

    def _influence(self, scores: np.ndarray, clusters: np.ndarray,
                   T: np.ndarray | None = None) -> Influence:
        """V s_g from the scores over the estimation metric (estimable β, then the ancillary
        parameters), V that metric's covariance; carried to e(b) by ``T`` = d e(b)/d(metric)
        where e(b) is in another metric (the GLMMs' variances)."""
        V = self._estimation_vcov()
        values = scores @ V
        if T is not None:
            values = values @ T.T
        k = len(self.design.columns)
        idx = list(self.design.estimable) + list(range(k, k + values.shape[1] - self.fit.p))
        out = np.zeros((len(scores), len(self.coef_names)))
        out[:, idx] = values
        return Influence(out, 1, clusters)

    def _estimation_vcov(self) -> np.ndarray:
        """V over (estimable β, γ): block-diagonal, as e(V)."""
        p, k = self.fit.p, len(self.fit.gamma)
        V = np.zeros((p + k, p + k))
        V[:p, :p] = self.fit.V_beta
        V[p:, p:] = self.fit.V_gamma
        return V

    # -- predictions ---------------------------------------------------------------------
    def _xb(self, data: pd.DataFrame) -> np.ndarray:
        if not len(self.fit.beta):
            return np.zeros(len(data))
        return self.design.matrix(data) @ self.fit.beta

    def _per_row(self, values: np.ndarray, groups: np.ndarray) -> np.ndarray:
        """Each row's group's row of ``values`` (NaN where the row has no fitted group)."""
        out = np.full((len(groups), values.shape[1]), np.nan)
        known = groups >= 0
        out[known] = values[groups[known]]
        return out

    def _effects(self, data: pd.DataFrame, se: bool) -> list[np.ndarray]:
        """Per equation, each row's BLUPs (or their SEs), n x q; an ``R.varname`` equation's one
        column is the effect of the row's level (NaN where the row has no fitted group or level)."""
        out = []
        for eq, (u, s) in zip(self.structure.equations, random_effects(self.fit)):
            values = s if se else u
            if eq.spec.factor is not None:
                out.append(self._per_row(values, self.structure.effect_codes(eq, data)))
            else:
                out.append(self._per_row(values, self.structure.row_groups(eq.level, data)))
        return out

    def _blups(self, data: pd.DataFrame, se: bool) -> list[np.ndarray]:
        """One column per random effect (per R.varname equation: each row's level's effect)."""
        return [values[:, j] for values in self._effects(data, se) for j in range(values.shape[1])]

    def _zu(self, data: pd.DataFrame) -> np.ndarray:
        total = np.zeros(len(data))
        for eq, values in zip(self.structure.equations, self._effects(data, se=False)):
            if eq.spec.factor is not None:      # a level that was not fitted has no effect
                x = data[eq.spec.factor].to_numpy(dtype=float, na_value=np.nan)
                values = np.where(np.isnan(values) & ~np.isnan(x[:, None]), 0.0, values)
                total = total + values[:, 0]
            else:
                total = total + np.einsum("ij,ij->i", eq.z(data), values)
        return total


def fit_mixed_model(data: pd.DataFrame, depvar: str, terms: list[Term], levels: list[str],
                    equations: list[EquationSpec], *, constant: bool = True, reml: bool = False,
                    maxiter: int = 300, tolerance: float = 1e-8, ltolerance: float = 1e-10,
                    nrtolerance: float = 1e-12) -> MixedModel:
    """Fit on ``data`` (the estimation sample, rows already selected)."""
    design = build_design(data, terms, constant=constant, order="F")
    structure = build_structure(data, levels, equations)
    check_effects(structure, data)
    check_levels(structure, len(data), design.X.shape[1])
    arrays = [REEquation(eq.level, list(eq.names), np.ones((len(data), 1)), eq.cov,
                         structure.effect_codes(eq, data))
              if eq.spec.factor is not None else REEquation(eq.level, list(eq.names),
                                                            _z(eq, design, data), eq.cov)
              for eq in structure.equations]
    fit = fit_lmm(data[depvar].to_numpy(dtype=float), design.X, list(structure.groups), arrays,
                  reml=reml, maxiter=maxiter, tolerance=tolerance, ltolerance=ltolerance,
                  nrtolerance=nrtolerance)
    return MixedModel(depvar, design, structure, fit)


def _z(eq: Equation, design: Design, data: pd.DataFrame) -> np.ndarray:
    """The equation's columns: a view of X where they are X's columns in a row (``x _cons`` in
    ``mixed y x || g: x``, the same numbers from the same variables), else :meth:`Equation.z`,
    so that the fit does not hold the data's columns twice."""
    wanted = [((v, None),) for v in eq.spec.variables] + ([()] if eq.spec.constant else [])
    held = [(c.parts if c.kind == "continuous" else () if c.kind == "constant" else None)
            for c in (design.columns[j] for j in design.estimable)]
    for start in range(len(held) - len(wanted) + 1):
        if wanted and held[start:start + len(wanted)] == wanted and design.X.shape[0] == len(data):
            return design.X[:, start:start + len(wanted)]
    return eq.z(data)
