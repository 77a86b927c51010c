"""A fitted GLMM in the fitted-model protocol: e(b), e(V), predictions on any data.

It extends :class:`~.mixed_model.MixedModel`: the same structure and design, the same way of finding
each row's group on new data (so predictions do not depend on row order), with the linear mixed
model's BLUPs replaced by the empirical Bayes means (or modes) of the random effects.

e(b) is Stata's for the me commands: the fixed effects ``depvar:name``, the family's ancillary
parameter (``/:lnalpha``), then every random-effects variance and covariance in its natural metric,
``/:var(x[level])``, ``/:cov(x[level],_cons[level])`` (nested levels ``a>b``), per level and
equation as typed.  e(V) is the covariance in that metric, by the delta method from V in the
estimation metric (β, anc, lns…, atr…).

Predictions (``meglm_p.ado``): ``mu`` (the default) and ``pr`` condition on the empirical Bayes means,
``fixedonly`` sets the random effects to zero and ``marginal`` integrates them out (the population
average, 64-point Gauss–Hermite over the linear predictor's random part); ``eta`` is the linear
predictor, ``xb`` its fixed part (with the offset), ``stdp`` xb's standard error; ``reffects`` the
empirical Bayes means (``ebmodes``: the modes) and ``reses`` their posterior standard deviations;
``pearson``, ``deviance`` and ``anscombe`` residuals.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import pandas as pd

from hlmshell.lang.fvnotation import Term
from hlmshell.model.design import build_design
from hlmshell.model.protocol import Influence, Statistic

from . import covariance as cv
from .families import Family
from .glmm import fit_glmm
from .lmm import REEquation
from .mixed_model import MixedModel
from .structure import EquationSpec, build_structure

MARGINAL_POINTS = 64


@dataclass(frozen=True)
class REParameter:
    """One random-effects variance or covariance of e(b): its name, value and gradient in γ."""

    name: str                 # "var(_cons[herd])", "cov(urban[district],_cons[district])"
    label: str                # as the table shows it: "var(_cons)", "cov(urban,_cons)"
    level: str                # the level's label: "herd", "location>brood"
    value: float
    grad: np.ndarray          # d value / d γ (all of γ)
    kind: str                 # "var" | "cov"


@dataclass
class GLMMModel(MixedModel):
    """A GLMM: the fit, its design, structure, family and offset."""

    offset: str = ""          # the offset variable, or
    exposure: str = ""        # the exposure variable (offset ln(exposure))
    trials: str | float | None = None   # binomial trials: a variable or a number

    @property
    def family(self) -> Family:
        return self.fit.family

    @property
    def level_labels(self) -> list[str]:
        """Each level's label in e(b) and the table: nested levels joined by ``>``."""
        levels = list(self.structure.levels)
        return [">".join(levels[:k + 1]) for k in range(len(levels))]

    def latent_residual(self) -> tuple[np.ndarray, np.ndarray, float | None] | None:
        """What ``estat icc`` needs: γ and V(γ), with the latent response's residual variance
        (π²/3 logit, 1 probit, π²/6 cloglog), or, for the Gaussian family, γ extended by ln σ
        (residual None: the last entry is it).  None for counts, which have no ICC."""
        fit = self.fit
        fam = self.family
        if fam.binary:
            return fit.gamma, fit.V_gamma, {"logit": math.pi ** 2 / 3, "probit": 1.0,
                                            "cloglog": math.pi ** 2 / 6}[fam.link]
        if fam.name == "gaussian":
            idx = list(range(fit.p + 1, len(fit.V))) + [fit.p]
            return np.r_[fit.gamma, fit.anc], fit.V[np.ix_(idx, idx)], None
        return None

    # -- e(b) -------------------------------------------------------------------------------
    def re_parameters(self) -> list[REParameter]:
        """The variances and covariances in e(b)'s order, each with its gradient in γ."""
        fit = self.fit
        out: list[REParameter] = []
        start = 0
        labels = self.level_labels
        for eq in self.structure.equations:
            k = cv.n_params(eq.cov, eq.q)
            g = fit.gamma[start:start + k]
            lab = labels[eq.level]
            names = list(eq.names)

            def entries(gv: np.ndarray, eq=eq) -> np.ndarray:
                S = cv.cov_from_gamma(eq.cov, eq.q, gv)
                vals = list(np.diag(S))
                if eq.cov in ("exchangeable", "unstructured"):
                    vals += [S[a, b] for a in range(eq.q) for b in range(a + 1, eq.q)]
                return np.asarray(vals)

            values = entries(g)
            J = np.zeros((len(values), len(fit.gamma)))
            for j in range(k):
                h = 1e-6 * max(1.0, abs(g[j]))
                up, dn = g.copy(), g.copy()
                up[j] += h
                dn[j] -= h
                J[:, start + j] = (entries(up) - entries(dn)) / (2 * h)
            pairs = [(a, b) for a in range(eq.q) for b in range(a + 1, eq.q)] \
                if eq.cov in ("exchangeable", "unstructured") else []
            for i, name in enumerate(names):
                out.append(REParameter(f"var({name}[{lab}])", f"var({name})", lab, values[i], J[i], "var"))
            for m, (a, b) in enumerate(pairs):
                i = eq.q + m
                out.append(REParameter(f"cov({names[a]}[{lab}],{names[b]}[{lab}])",
                                       f"cov({names[a]},{names[b]})", lab, values[i], J[i], "cov"))
            start += k
        return out

    @property
    def coef_names(self) -> list[str]:
        anc = [f"/:{self.family.ancillary}"] if self.fit.anc is not None else []
        return ([f"{self.depvar}:{c.name}" for c in self.design.columns] + anc
                + [f"/:{p.name}" for p in self.re_parameters()])

    @property
    def coef(self) -> np.ndarray:
        anc = [self.fit.anc] if self.fit.anc is not None else []
        return np.concatenate([self.design.expand(self.fit.beta), anc,
                               [p.value for p in self.re_parameters()]])

    def _transform(self) -> np.ndarray:
        """d e(b) / d (β, anc, γ) over the estimable columns: the delta method's Jacobian."""
        fit = self.fit
        k = fit.p + fit.k_anc
        params = self.re_parameters()
        T = np.zeros((k + len(params), k + len(fit.gamma)))
        T[:k, :k] = np.eye(k)
        for i, par in enumerate(params):
            T[k + i, k:] = par.grad
        return T

    @property
    def vcov(self) -> np.ndarray:
        fit = self.fit
        T = self._transform()
        inner = T @ fit.V @ T.T
        m = len(self.design.columns)
        idx = list(self.design.estimable) + list(range(m, m + T.shape[0] - fit.p))
        out = np.zeros((len(self.coef_names), len(self.coef_names)))
        out[np.ix_(idx, idx)] = inner
        return out

    @property
    def method(self) -> str:
        return "ML"

    # -- vce(unconditional) -----------------------------------------------------------------
    def influence(self, sample: pd.DataFrame) -> Influence | None:
        """Each highest-level group's influence on e(b): V s_g, s_g the score of the group's
        integral (by the fit's method and points) in the estimation metric (β, ln α, lns/atr),
        carried to e(b)'s variances by the delta method's Jacobian.  None where Stata's ``predict,
        scores`` has none: after Laplace (``gsem_p``: not allowed with intmethod(laplace)) and
        without highest-level clusters."""
        from .glmm import likelihood_problem
        from .lmm import gamma_parts
        from .scores import central_scores

        fit = self.fit
        if fit.method == "laplace" or not self._clustered():
            return None
        y, X, levels, eqs = self._arrays(sample)
        prob, infos, eqs = likelihood_problem(y, X, levels, eqs, self.family,
                                              self._trials(sample), self._offset(sample),
                                              fit.method, fit.intpoints)
        if prob.re.elevels[0].level != 0:
            return None
        _, _, gslices = gamma_parts(eqs, fit.Sigma)
        phi = np.r_[fit.beta, [fit.anc] if fit.anc is not None else [], fit.gamma]

        def contributions(at: np.ndarray) -> np.ndarray:
            beta, anc, theta = prob.split(prob.theta_of(at, gslices))
            with np.errstate(all="ignore"):
                return prob.evaluate(prob.eta0(beta), prob.factors_theta(theta), anc).group_ll

        with prob.differencing(phi, gslices):
            scores = central_scores(contributions, phi, list(range(len(phi))))
        return self._influence(scores, infos[0].row_group, self._transform())

    def _estimation_vcov(self) -> np.ndarray:
        return self.fit.V

    # -- predictions ------------------------------------------------------------------------
    @property
    def statistics(self) -> tuple[Statistic, ...]:
        """``predict``'s statistics after the me commands, ``mu`` first (``meglm_p.ado``)."""
        re_labels = tuple(label for eq in self.structure.equations for label in self._re_labels(eq))
        n_re = len(re_labels)
        fam = self.family
        points = f"(using {self.fit.intpoints} quadrature points)"
        mixed = bool(self.structure.equations)
        means = ("(predictions based on fixed effects and posterior means of random effects)",
                 points) if mixed else ()
        modes = ("(predictions based on fixed effects and posterior modes of random effects)",)
        mean = "Predicted mean"

        def conditional(name: str, label: str, **kw) -> list[Statistic]:
            """A prediction given the random effects: at their means, modes, or zero."""
            return [Statistic(name, label, notes=means, **kw),
                    Statistic(f"{name} ebmodes", label, notes=modes),
                    Statistic(f"{name} fixedonly", f"{label}, fixed portion only")]

        stats = conditional("mu", mean, assumed="(option mu assumed)")
        stats.append(Statistic("mu marginal", f"Marginal {mean.lower()}"))
        if fam.name == "bernoulli":
            stats += conditional("pr", mean)
            stats.append(Statistic("pr marginal", f"Marginal {mean.lower()}"))
        stats += conditional("eta", "Linear predictor")
        stats += [Statistic("xb", "Linear predictor, fixed portion only"),
                  Statistic("stdp", "S.E. of the linear predictor, fixed portion only")]
        for mods, what in (("", "means"), (" ebmodes", "modes")) if mixed else ():
            label = f"empirical Bayes' {what}"
            notes = (f"(calculating posterior {what} of random effects)",) + \
                (points,) * (what == "means")
            stats.append(Statistic(f"reffects{mods}", label, n_re,
                                   tuple(f"{label} for {x}" for x in re_labels), notes))
            stats.append(Statistic(f"reses{mods}", f"S.E. of {label}", n_re,
                                   tuple(f"S.E. of {label} for {x}" for x in re_labels), notes))
        residuals = [("pearson", "Pearson residuals")]
        if not (fam.name == "nbinomial" and fam.dispersion == "constant"):
            residuals += [("deviance", "deviance residuals"), ("anscombe", "Anscombe residuals")]
        if fam.name == "gaussian":
            residuals.insert(0, ("residuals", "Residuals"))
        for name, label in residuals:
            stats += conditional(name, label)
        return tuple(stats)

    @property
    def margins_statistics(self) -> tuple[Statistic, ...]:
        """What ``margins`` averages: the marginal mean first (``mu`` typed alone is ``mu
        marginal``: Stata's margins assumes ``marginal``), the fixed portion, the linear predictor."""
        mean = "Predicted mean"
        out = [Statistic("mu marginal", f"Marginal {mean.lower()}"),
               Statistic("mu fixedonly", f"{mean}, fixed portion only")]
        if self.family.name == "bernoulli":
            out += [Statistic("pr marginal", f"Marginal {mean.lower()}"),
                    Statistic("pr fixedonly", f"{mean}, fixed portion only")]
        return tuple(out + [Statistic("eta fixedonly", "Linear predictor, fixed portion only"),
                            Statistic("xb", "Linear predictor, fixed portion only")])

    def _offset(self, data: pd.DataFrame) -> np.ndarray:
        if self.offset:
            return data[self.offset].to_numpy(dtype=float, na_value=np.nan)
        if self.exposure:
            with np.errstate(divide="ignore", invalid="ignore"):
                return np.log(data[self.exposure].to_numpy(dtype=float, na_value=np.nan))
        return np.zeros(len(data))

    def _trials(self, data: pd.DataFrame) -> np.ndarray:
        if isinstance(self.trials, str):
            return data[self.trials].to_numpy(dtype=float, na_value=np.nan)
        return np.full(len(data), 1.0 if self.trials is None else float(self.trials))

    def _xb(self, data: pd.DataFrame) -> np.ndarray:
        X = self.design.matrix(data)
        return (X @ self.fit.beta if len(self.fit.beta) else np.zeros(len(data))) + self._offset(data)

    def _posterior_values(self, modes: bool, se: bool) -> list[np.ndarray]:
        """Per equation (groups x q): the empirical Bayes means or modes, or their SDs."""
        post = self.fit.posterior
        source = (post.modes_sd if se else post.modes) if modes else (post.means_sd if se else post.means)
        out = []
        for j_eq, eq in enumerate(self.structure.equations):
            levels = sorted({e.level for e in self.structure.equations})
            j = levels.index(eq.level)
            offset = sum(e.q for e in self.structure.equations[:j_eq] if e.level == eq.level)
            out.append(source[j][:, offset:offset + eq.q])
        return out

    def _effects(self, data: pd.DataFrame, se: bool, modes: bool = False) -> list[np.ndarray]:
        return [self._per_row(values, self.structure.row_groups(eq.level, data))
                for eq, values in zip(self.structure.equations, self._posterior_values(modes, se))]

    def _eta(self, data: pd.DataFrame, fixedonly: bool, modes: bool = False) -> np.ndarray:
        xb = self._xb(data)
        if fixedonly:
            return xb
        total = np.zeros(len(data))
        for eq, values in zip(self.structure.equations, self._effects(data, False, modes)):
            total = total + np.einsum("ij,ij->i", eq.z(data), values)
        return xb + total

    def _random_variance(self, data: pd.DataFrame) -> np.ndarray:
        """Var(z'b) row by row: the random part of the linear predictor, all levels."""
        total = np.zeros(len(data))
        for eq, S in zip(self.structure.equations, self.fit.Sigma):
            Z = eq.z(data)
            total = total + np.einsum("ia,ab,ib->i", Z, S, Z)
        return total

    def _marginal(self, data: pd.DataFrame) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
        """E[μ(xb + z'b)] by Gauss–Hermite over z'b ~ N(0, s²), with its derivatives in xb and s²."""
        from numpy.polynomial.hermite_e import hermegauss

        xb = self._xb(data)
        s2 = self._random_variance(data)
        t, w = hermegauss(MARGINAL_POINTS)
        w = w / math.sqrt(2.0 * math.pi)
        s = np.sqrt(s2)
        eta = xb[:, None] + s[:, None] * t[None, :]
        n = self._trials(data)[:, None]
        mu = self.family.mean(eta, n)
        dmu = self.family.mean_derivative(eta, n)
        with np.errstate(divide="ignore", invalid="ignore"):
            ds2 = np.where(s[:, None] > 0, dmu * t[None, :] / (2.0 * s[:, None]), 0.0)
        return mu @ w, dmu @ w, ds2 @ w, xb

    def predict(self, stat: str, data: pd.DataFrame) -> list[np.ndarray]:
        words = stat.split()
        main, mods = words[0], set(words[1:])
        if main == "xb":
            return [self._xb(data)]
        if main == "stdp":
            X = self.design.matrix(data)
            return [np.sqrt(np.einsum("ij,jk,ik->i", X, self.fit.V_beta, X))]
        if main in ("reffects", "reses"):
            modes = "ebmodes" in mods
            return [v[:, j] for v in self._effects(data, main == "reses", modes)
                    for j in range(v.shape[1])]
        if main in ("mu", "pr") and "marginal" in mods:
            return [self._marginal(data)[0]]
        eta = self._eta(data, "fixedonly" in mods, "ebmodes" in mods)
        if main == "eta":
            return [eta]
        n = self._trials(data)
        mu = self.family.mean(eta, n)
        if main in ("mu", "pr"):
            return [mu / n if main == "pr" else mu]
        y = data[self.depvar].to_numpy(dtype=float, na_value=np.nan)
        anc = 0.0 if self.fit.anc is None else self.fit.anc
        if main == "residuals":
            return [y - mu]
        if main == "pearson":
            return [self.family.pearson(y, mu, n, anc)]
        if main == "deviance":
            return [self.family.deviance_residual(y, mu, n, anc)]
        return [self.family.anscombe_residual(y, mu, n, anc)]

    def jacobian(self, stat: str, data: pd.DataFrame) -> np.ndarray:
        """d prediction / d e(b) for the fixed-portion statistics and the marginal mean (the
        variances by the chain rule through Var(z'b))."""
        words = stat.split()
        main, mods = words[0], set(words[1:])
        out = np.zeros((len(data), len(self.coef_names)))
        X = self.design.matrix(data)
        if main == "xb" or (main == "eta" and "fixedonly" in mods):
            out[:, self.design.estimable] = X
            return out
        if main not in ("mu", "pr") or not mods & {"fixedonly", "marginal"}:
            raise ValueError(f"no derivatives of {stat}")
        n = self._trials(data)
        scale = 1.0 / n if main == "pr" else 1.0
        if "fixedonly" in mods:
            d = self.family.mean_derivative(self._xb(data), n) * scale
            out[:, self.design.estimable] = X * d[:, None]
            return out
        _, dxb, ds2, _ = self._marginal(data)
        out[:, self.design.estimable] = X * (dxb * scale)[:, None]
        m = len(self.design.columns) + self.fit.k_anc
        col = m
        for eq in self.structure.equations:
            Z = eq.z(data)
            for a in range(eq.q):
                out[:, col] = Z[:, a] ** 2 * ds2 * scale
                col += 1
            if eq.cov in ("exchangeable", "unstructured"):
                for a in range(eq.q):
                    for b in range(a + 1, eq.q):
                        out[:, col] = 2.0 * Z[:, a] * Z[:, b] * ds2 * scale
                        col += 1
        return out


def fit_glmm_model(data: pd.DataFrame, depvar: str, terms: list[Term], levels: list[str],
                   equations: list[EquationSpec], family: Family, *, constant: bool = True,
                   offset: str = "", exposure: str = "", trials: str | float | None = None,
                   method: str = "mvaghermite", intpoints: int = 7, maxiter: int = 300,
                   tolerance: float = 1e-8, ltolerance: float = 1e-10,
                   nrtolerance: float = 1e-12) -> GLMMModel:
    """Fit on ``data`` (the estimation sample, rows already selected)."""
    design = build_design(data, terms, constant=constant)
    structure = build_structure(data, levels, equations)
    arrays = [REEquation(eq.level, list(eq.names), eq.z(data), eq.cov) for eq in structure.equations]
    model = GLMMModel(depvar, design, structure, None, offset=offset, exposure=exposure,
                      trials=trials)
    fit = fit_glmm(data[depvar].to_numpy(dtype=float), design.X, list(structure.groups), arrays,
                   family, trials=model._trials(data), offset=model._offset(data), method=method,
                   intpoints=intpoints, maxiter=maxiter, tolerance=tolerance,
                   ltolerance=ltolerance, nrtolerance=nrtolerance)
    model.fit = fit
    return model


