"""The random effects integrated out: Laplace and Gauss–Hermite quadrature, level by level.

For one top-level group the marginal likelihood is ∫ exp(h(u)) du, h(u) = Σ ln f(y | η(u)) − u'u/2 −
(dim/2) ln 2π in the spherical metric (``pirls``).  Nested levels make the integrand a product: a
level-j group's integral, at given values of its ancestors' effects, multiplies into its parent's
integrand.  Each group's effects are placed by a *rule*

    u_g = c_g + B_g u_anc + R_g t,     t ~ the Gauss–Hermite product rule in its Q dimensions,

(u_anc its ancestors' effects, nearest level first; R_g lower triangular), so that

    ∫ e^{h} du_g ≈ |R_g| Σ_k ω_k exp(t_k't_k/2 − u_gk'u_gk/2 + data + children),

with ω the product of the normal-probability Gauss–Hermite weights (``numpy``'s Hermite_e rule).
The rules are what the integration methods differ in (Stata's ``intmethod()``):

* ``ghermite``: the prior, c = 0, B = 0, R = I (non-adaptive quadrature);
* ``mcaghermite``: the joint conditional mode û and the curvature M at it (``pirls``): each group's
  conditional Gaussian given its ancestors, from the block elimination of M (Pinheiro & Chao's
  multilevel adaptive quadrature); ``laplace`` is its one-point rule (t = 0), the joint Laplace
  approximation −½ln|M| + h(û), as lme4 and glmmTMB compute it;
* ``mvaghermite``: the posterior means and covariances of each group's effects and their
  covariances with its ancestors', computed by the rule itself: the fixed point of
  rule → posterior moments → rule (Rabe-Hesketh, Skrondal and Pickles's adaptive quadrature; for one
  level of random effects exactly their mean-variance rule).

Rows are summed into their innermost group for every combination of nodes along the path from the
top level (K^{Q_0}·K^{Q_1}·… combinations), so the work is n times that product, as in Stata.
"""

from __future__ import annotations

import itertools
import math
from dataclasses import dataclass

import numpy as np

from .factor import Elimination
from .pirls import RandomEffects
from .response import Generalized

LOG_2PI = math.log(2.0 * math.pi)


@dataclass(frozen=True)
class NodeRule:
    """A product Gauss–Hermite rule in Q dimensions: nodes t (K^Q x Q) and ln ω + t't/2."""

    t: np.ndarray
    lw: np.ndarray

    @property
    def size(self) -> int:
        return self.t.shape[0]


def product_rule(points: int, q: int) -> NodeRule:
    """``points`` nodes per dimension (1: the Laplace point t = 0)."""
    from numpy.polynomial.hermite_e import hermegauss

    if points == 1:
        x, w = np.zeros(1), np.ones(1)
    else:
        x, w = hermegauss(points)
        w = w / math.sqrt(2.0 * math.pi)
    t = np.array(list(itertools.product(x, repeat=q))).reshape(-1, q)
    lw = np.log(np.array([np.prod(c) for c in itertools.product(w, repeat=q)])) if q else np.zeros(1)
    return NodeRule(t, lw + 0.5 * np.sum(t * t, axis=1))


@dataclass
class LevelRule:
    """Where one effect level's groups put their nodes: u = c + B u_anc + R t."""

    c: np.ndarray        # (G, Q)
    B: np.ndarray        # (G, Q, A): A = the ancestors' effects, nearest level first
    R: np.ndarray        # (G, Q, Q), lower triangular

    @property
    def logdet(self) -> np.ndarray:
        return np.sum(np.log(np.abs(np.diagonal(self.R, axis1=1, axis2=2))), axis=1)


def prior_rules(re: RandomEffects) -> list[LevelRule]:
    """Non-adaptive quadrature: the nodes of the N(0, I) prior."""
    out, anc = [], 0
    for el in re.elevels:
        G, Q = el.n_groups, el.Q
        out.append(LevelRule(np.zeros((G, Q)), np.zeros((G, Q, anc)),
                             np.broadcast_to(np.eye(Q), (G, Q, Q)).copy()))
        anc += Q
    return out


def _ancestor_chain(values: list[np.ndarray], re: RandomEffects, j: int) -> np.ndarray:
    """For the level-j groups: their ancestors' vectors, nearest level first (G_j x A_j)."""
    G = re.elevels[j].n_groups
    chain = np.zeros((G, 0))
    idx = np.arange(G)
    for k in range(j - 1, -1, -1):
        idx = re.elevels[k + 1].parent[idx]
        chain = np.concatenate([chain, values[k][idx]], axis=1)
    return chain


def mode_rules(re: RandomEffects, u: list[np.ndarray], el: Elimination) -> list[LevelRule]:
    """The conditional Gaussians of N(û, M⁻¹): u_g | anc ~ N(û_g − L⁻ᵀC_anc(u_anc − û_anc), (LL')⁻¹)."""
    out = []
    for j, lev in enumerate(re.elevels):
        L, CA, _ = el.store[j]
        Lt = np.transpose(L, (0, 2, 1))
        B = -np.linalg.solve(Lt, CA) if CA.shape[2] else np.zeros(CA.shape)
        Linv = np.linalg.solve(L, np.broadcast_to(np.eye(lev.Q), L.shape))
        R = np.linalg.cholesky(np.einsum("gkq,gkr->gqr", Linv, Linv))
        c = u[j] - np.einsum("gqa,ga->gq", B, _ancestor_chain(u, re, j))
        out.append(LevelRule(c, B, R))
    return out


@dataclass
class Moments:
    """Posterior moments of each group's chain (own effects, then its ancestors'), spherical."""

    mean: list[np.ndarray]          # per level (G, Q + A)
    cov: list[np.ndarray]           # per level (G, Q + A, Q + A)


def moment_rules(re: RandomEffects, m: Moments) -> list[LevelRule]:
    """The rule of the Gaussian with the posterior's first two moments, level by level."""
    out = []
    for j, lev in enumerate(re.elevels):
        Q = lev.Q
        mu, S = m.mean[j], m.cov[j]
        S_gg, S_ga, S_aa = S[:, :Q, :Q], S[:, :Q, Q:], S[:, Q:, Q:]
        if S_aa.shape[1]:
            B = np.transpose(np.linalg.solve(S_aa, np.transpose(S_ga, (0, 2, 1))), (0, 2, 1))
            cond = S_gg - np.einsum("gqa,gra->gqr", B, S_ga)
        else:
            B, cond = np.zeros(S_ga.shape), S_gg
        cond = 0.5 * (cond + np.transpose(cond, (0, 2, 1)))
        c = mu[:, :Q] - np.einsum("gqa,ga->gq", B, mu[:, Q:])
        out.append(LevelRule(c, B, _cholesky(cond)))
    return out


def _cholesky(S: np.ndarray) -> np.ndarray:
    try:
        return np.linalg.cholesky(S)
    except np.linalg.LinAlgError:
        scale = np.maximum(np.einsum("gqq->g", S) / S.shape[1], 1e-300)
        return np.linalg.cholesky(S + 1e-12 * scale[:, None, None] * np.eye(S.shape[1]))


def rule_change(a: list[LevelRule], b: list[LevelRule]) -> float:
    """The largest change between two sets of rules (for the mean-variance fixed point)."""
    out = 0.0
    for x, y in zip(a, b):
        for p, q in ((x.c, y.c), (x.B, y.B), (x.R, y.R)):
            if p.size:
                out = max(out, float(np.max(np.abs(p - q))))
    return out


def _logsumexp(a: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """log Σ exp over the last axis, and the normalised weights."""
    top = np.max(a, axis=-1, keepdims=True)
    top = np.where(np.isfinite(top), top, 0.0)
    e = np.exp(a - top)
    s = np.sum(e, axis=-1, keepdims=True)
    with np.errstate(divide="ignore", invalid="ignore"):
        return (np.log(s) + top)[..., 0], e / s


class Scratch:
    """Work arrays (nodes x rows) reused by one problem's integrations: a fresh array that size
    is fresh memory from the OS on every call (glibc returns the freed top of the heap), its page
    faults costing as much as the arithmetic on it (on the random-intercept benchmark 2.5 ms
    of the 6 ms a pass over 7 x 1e5 node-rows took)."""

    def __init__(self) -> None:
        self._arrays: dict[str, np.ndarray] = {}

    def get(self, name: str, shape: tuple[int, ...]) -> np.ndarray:
        a = self._arrays.get(name)
        if a is None or a.shape != shape:
            a = self._arrays[name] = np.empty(shape)
        return a


@dataclass
class Integral:
    """One evaluation of the marginal likelihood by a set of rules, with what the posterior needs:
    every level's chain at every node combination and (on request) the posterior weights of the
    combinations and ∂ln f/∂η of the rows at them (those two in the integration's scratch arrays,
    overwritten by its next integration)."""

    ll: float
    chains: list[np.ndarray]                 # per level (G, C_j, Q + A)
    weights: list[np.ndarray] | None = None  # per level (G, C_j), summing to one per group
    row_d1: np.ndarray | None = None         # (C, n) at the innermost combinations
    eta: np.ndarray | None = None            # (C, n) the linear predictor there (with ``score``)
    group_ll: np.ndarray | None = None       # (G_0,) each top-level group's contribution to ll

    def moments(self) -> Moments:
        means, covs = [], []
        for w, x in zip(self.weights, self.chains):
            mu = np.einsum("gc,gcq->gq", w, x)
            dev = x - mu[:, None, :]
            means.append(mu)
            covs.append(np.einsum("gc,gcq,gcr->gqr", w, dev, dev))
        return Moments(means, covs)


def integrate(resp: Generalized, re: RandomEffects, eta0: np.ndarray, lams: list[np.ndarray],
              rules: list[LevelRule], nodes: list[NodeRule], anc: float = 0.0,
              posterior: bool = False, score: bool = False, scratch: Scratch | None = None
              ) -> Integral:
    """The marginal log likelihood by the rules; with ``posterior`` the weights of the node
    combinations, with ``score`` also ∂ln f/∂η of every row at them.  The rows' arrays are
    ``scratch``'s when given (the Integral's η and ∂ln f/∂η then hold until its next use)."""
    D = len(re.elevels)
    chains: list[np.ndarray] = []      # per level (G, C_j, Q + A): the chain at each node combination
    own_terms: list[np.ndarray] = []   # per level (G, C_{j-1}, K_j): ln ω + t't/2 − u'u/2
    for j, (lev, rule, nr) in enumerate(zip(re.elevels, rules, nodes)):
        if j == 0:
            anc_vals = np.zeros((lev.n_groups, 1, 0))
        else:
            anc_vals = chains[-1][lev.parent]
        base = rule.c[:, None, :] + np.einsum("gqa,gca->gcq", rule.B, anc_vals)
        own = base[:, :, None, :] + np.einsum("gqr,kr->gkq", rule.R, nr.t)[:, None, :, :]
        G, C, K, Q = own.shape
        own_terms.append(nr.lw[None, None, :] - 0.5 * np.sum(own * own, axis=3))
        anc_b = np.broadcast_to(anc_vals[:, :, None, :], (G, C, K, anc_vals.shape[2]))
        chains.append(np.concatenate([own, anc_b], axis=3).reshape(G, C * K, -1))
    # the rows: the linear predictor at every node combination of their innermost group, nodes x
    # rows (with the rows last every pass runs along them; rows x nodes took 2.5 times as long)
    chain = chains[-1]
    zlam = re.chain_columns(lams)
    shape = (chain.shape[1], re.n)
    work = Scratch() if scratch is None else scratch
    eta = work.get("eta", shape)
    eta[...] = eta0
    lin = work.get("lin", shape)
    for f in range(zlam.shape[1]):
        lin[...] = re.expand(chain[:, :, f].T, axis=1)
        lin *= zlam[:, f]
        eta += lin

    def linear(c: np.ndarray) -> np.ndarray:
        """Σ over each group's rows of c·η at every node (nodes x groups), from group sums."""
        cz = re.group_sums(c[:, None] * zlam)
        nodes = np.einsum("gf,gcf->cg", cz, chain[:, :, :cz.shape[1]])
        return re.group_sums(c * eta0)[None, :] + nodes

    data, row_d1 = resp.kernel_sums(eta, anc, lambda r: re.group_sums(r, axis=1),
                                    lambda r: re.log_products(r, axis=1), int(score), linear,
                                    (work.get("d1", shape), lin))
    data = data.T + re.group_sums(resp.constant(anc))[:, None]
    # up the levels: log Σ over each level's nodes, summed into the parents
    probs: list[np.ndarray] = [None] * D
    for j in range(D - 1, -1, -1):
        lev = re.elevels[j]
        terms = own_terms[j]
        value, probs[j] = _logsumexp(data.reshape(terms.shape) + terms)
        value = value + rules[j].logdet[:, None]
        if j:
            data = np.add.reduceat(value[lev.order], lev.starts, axis=0)
    out = Integral(float(np.sum(value)), chains, row_d1=row_d1, eta=eta if score else None,
                   group_ll=value[:, 0])
    if posterior or score:
        weights: list[np.ndarray] = []
        for j, lev in enumerate(re.elevels):
            p = probs[j]
            if j:
                p = weights[-1][lev.parent][:, :, None] * p
            weights.append(p.reshape(p.shape[0], -1))
        out.weights = weights
    return out


def chain_covariances(re: RandomEffects, rules: list[LevelRule]) -> list[np.ndarray]:
    """Each group's chain covariance (own effects, then the ancestors') under the rules' Gaussian,
    top down: Cov(u_g) = RR' + B Cov(anc) B', Cov(u_g, anc) = B Cov(anc)."""
    out: list[np.ndarray] = []
    for j, (lev, rule) in enumerate(zip(re.elevels, rules)):
        own = np.einsum("gqr,gsr->gqs", rule.R, rule.R)
        if j == 0:
            out.append(own)
            continue
        anc = out[-1][lev.parent]
        cross = np.einsum("gqa,gab->gqb", rule.B, anc)
        own = own + np.einsum("gqb,gsb->gqs", cross, rule.B)
        out.append(np.concatenate([np.concatenate([own, cross], axis=2),
                                   np.concatenate([np.transpose(cross, (0, 2, 1)), anc], axis=2)],
                                  axis=1))
    return out
