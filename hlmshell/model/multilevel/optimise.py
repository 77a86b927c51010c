"""Maximise a smooth function of a few parameters tightly: BFGS, then a Newton polish.

:func:`maximise` takes the function with its analytic gradient (the profiled likelihood's,
:mod:`.gradient`): BFGS gets close, then Newton steps with the Hessian from forward differences of
the gradient converge to the true optimum rather than to wherever a loose stopping rule happens to
land, and that last Hessian is returned for the standard errors.  :func:`gradient` and
:func:`hessian` difference a function that has no analytic gradient.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np


@dataclass
class OptimiserSummary:
    """How a maximisation went: where it ended, where it started, and the value at each iteration."""

    x: np.ndarray
    value: float
    start: float                        # the value at the starting point
    iterations: int
    converged: bool
    log: list[tuple[int, float]] = field(default_factory=list)   # (iteration, value), from 0
    hessian: np.ndarray | None = None   # at x, when the optimiser computed it
    evaluations: int = 0                # of the function (with its gradient)


def gradient(f: Callable[[np.ndarray], float], x: np.ndarray, h: float = 1e-5) -> np.ndarray:
    g = np.empty_like(x)
    for i in range(x.size):
        e = np.zeros_like(x)
        e[i] = h * max(1.0, abs(x[i]))
        g[i] = (f(x + e) - f(x - e)) / (2 * e[i])
    return g


def hessian(f: Callable[[np.ndarray], float], x: np.ndarray, h: float = 1e-3,
            richardson: bool = True) -> np.ndarray:
    """Central-difference Hessian; with Richardson extrapolation over h and h/2 (error O(h⁴))."""

    def at(step: float) -> np.ndarray:
        k = x.size
        H = np.empty((k, k))
        f0 = f(x)
        hs = step * np.maximum(1.0, np.abs(x))
        for i in range(k):
            ei = np.zeros(k)
            ei[i] = hs[i]
            H[i, i] = (f(x + ei) - 2 * f0 + f(x - ei)) / hs[i] ** 2
            for j in range(i):
                ej = np.zeros(k)
                ej[j] = hs[j]
                H[i, j] = H[j, i] = (f(x + ei + ej) - f(x + ei - ej) - f(x - ei + ej)
                                     + f(x - ei - ej)) / (4 * hs[i] * hs[j])
        return H

    H1 = at(h)
    if not richardson:
        return H1
    H2 = at(h / 2)
    return (4 * H2 - H1) / 3


ValueGradient = Callable[[np.ndarray], tuple[float, np.ndarray | None]]

# BFGS's trial points at most this far from its iterate in any coordinate (θ's are logs of relative
# sds, atanh of correlations, log-Cholesky entries: 3 is a factor of 20 in an sd).  A quasi-Newton
# step can otherwise overshoot into a plateau where a variance is all but 0 and the gradient
# vanishes: on lme4's own InstEval, ln sd(dept) went from −1.8 to −6.4 in one step and took ten
# iterations back (35 evaluations in all; 16 with the cap; nine test models: 138 in all, then 139).
STEP_CAP = 3.0
# the Newton polish's last Hessian serves the SEs if, over its last step, the curvature changed by at
# most this much of the flattest direction's (measured by the secant: the gradient's change less H
# times the step); else it is taken again at the optimum.  Kept regardless, a Hessian from ~1e-4
# away gave HSB's random-slope variance an SE 4e-4 (relative) off Stata's.
HESSIAN_REUSE = 1e-4


def _curvature_held(H: np.ndarray, flattest: float, step: np.ndarray, dg: np.ndarray) -> bool:
    """Whether H still holds at the end of ``step``: to first order the Hessian changed along it by
    2‖dg − H·step‖/‖step‖, compared with the smallest curvature of −H."""
    size = float(np.linalg.norm(step))
    return size == 0.0 or 2.0 * float(np.linalg.norm(dg - H @ step)) / size <= HESSIAN_REUSE * flattest


def hessian_of_gradient(fg: ValueGradient, x: np.ndarray, g: np.ndarray | None = None,
                        h: float = 1e-6) -> np.ndarray:
    """Forward differences of an analytic gradient from its value ``g`` at x, symmetrised (NaN
    where fg is undefined).  Half the evaluations of central differences; with h = 1e-6 the
    standard errors from it are within ~3e-6 (relative) of central differences' on the test
    models, where h = 1e-7 starts to show the gradient's rounding."""
    if g is None:
        g = fg(x)[1]
    k = x.size
    H = np.empty((k, k))
    for i in range(k):
        e = np.zeros(k)
        e[i] = h * max(1.0, abs(x[i]))
        _, gp = fg(x + e)
        H[:, i] = np.nan if gp is None or g is None else (gp - g) / e[i]
    return 0.5 * (H + H.T)


def maximise(fg: ValueGradient, x0: np.ndarray, *, maxiter: int, tolerance: float = 1e-8,
             ltolerance: float = 1e-10, nrtolerance: float = 1e-12,
             f: Callable[[np.ndarray], float] | None = None) -> OptimiserSummary:
    """Maximise f given as x -> (f(x), ∇f(x)); f is -inf (gradient None) where undefined.  ``f``
    alone, when cheaper, serves the line searches of the Newton steps.

    Converged when the scaled gradient g'(-H)⁻¹g falls below ``nrtolerance``, or, with it below
    √nrtolerance, when a Newton step changes f by less than ``ltolerance`` (relative) or the
    parameters by less than ``tolerance`` (Stata's three criteria; the defaults are tighter than
    Stata's because we converge to the optimum rather than near it).
    """
    from scipy import optimize

    calls = 0

    def counted(x: np.ndarray) -> tuple[float, np.ndarray | None]:
        nonlocal calls
        calls += 1
        return fg(x)

    def value(x: np.ndarray) -> float:
        return f(x) if f is not None else counted(x)[0]

    it = 0
    f0, _ = counted(x0)
    log = [(0, f0)]

    current = x0        # BFGS's iterate: trial points beyond STEP_CAP from it are refused unseen

    def neg(x: np.ndarray) -> tuple[float, np.ndarray]:
        if float(np.max(np.abs(x - current))) > STEP_CAP:
            return 1e300, np.zeros_like(x)
        v, g = counted(x)
        if not np.isfinite(v) or g is None:
            return 1e300, np.zeros_like(x)
        return -v, -g

    def cb(intermediate_result) -> None:
        nonlocal it, current
        it += 1
        current = np.array(intermediate_result.x)
        log.append((it, -float(intermediate_result.fun)))

    # BFGS only gets close: near the optimum f's rounding (eps·|f|) stalls its line searches, and
    # the Newton polish below converges from there in a step or two
    res = optimize.minimize(neg, x0, jac=True, method="BFGS", callback=cb,
                            options={"gtol": max(1e-4, 1e-7 * abs(f0)), "maxiter": maxiter})
    x = res.x
    fx, g = counted(x)
    converged = False
    near = float(np.sqrt(nrtolerance))
    H = None
    for _ in range(50):
        if g is None or not np.all(np.isfinite(g)):
            break
        H = hessian_of_gradient(counted, x, g)
        if not np.all(np.isfinite(H)):
            H = None
            break  # next to a region where f is undefined: report, never raise
        w, U = np.linalg.eigh(-H)
        w = np.maximum(w, 1e-8 * max(1.0, float(np.max(np.abs(w)))))
        step = U @ ((U.T @ g) / w)
        scaled = float(g @ step)
        if scaled < nrtolerance:
            converged = True
            break
        if it >= maxiter:
            break
        big = float(np.max(np.abs(step)))
        if big > 5.0:
            step *= 5.0 / big
        t = 1.0
        while t > 1e-6:
            xn = x + t * step
            fn = value(xn)
            if np.isfinite(fn) and fn >= fx - 1e-12 * abs(fx):
                break
            t /= 2
        else:       # no step improves f: rounding at the optimum, or stuck
            converged = scaled < near
            break
        while t == 1.0 and scaled >= near:  # towards a boundary at infinity (a correlation of
            # ±1): longer steps; near the optimum the Newton step is already right
            fl = value(x + 2 * (xn - x))
            if not (np.isfinite(fl) and fl > fn + 1e-12 * abs(fn)):
                break
            xn, fn = x + 2 * (xn - x), fl
        fn, gn = counted(xn)
        it += 1
        change = abs(fn - fx) / max(1.0, abs(fx))
        moved = float(np.max(np.abs(xn - x)))
        held = gn is not None and _curvature_held(H, float(w.min()), xn - x, gn - g)
        x, fx, g = xn, fn, gn
        log.append((it, fx))
        if scaled < near and (change < ltolerance or moved < tolerance):
            converged = True
            if not held:        # the SEs' Hessian at the optimum, not a step before it
                H = hessian_of_gradient(counted, x, g)
            break
    return OptimiserSummary(x, fx, f0, it, converged, log, H, calls)
