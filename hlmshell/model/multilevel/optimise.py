"""Maximise a smooth function of a few parameters tightly: BFGS, then a Newton polish.

The functions here are cheap (a likelihood from cross-products), so finite-difference
derivatives are affordable and the polish converges to the true optimum rather than to
wherever a loose stopping rule happens to land.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Callable

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


def maximise(f: Callable[[np.ndarray], float], x0: np.ndarray, *, maxiter: int,
             tolerance: float = 1e-8, ltolerance: float = 1e-10,
             nrtolerance: float = 1e-12) -> OptimiserSummary:
    """Maximise f (which returns -inf where undefined).

    Converged when the scaled gradient g'(-H)⁻¹g falls below ``nrtolerance``, or, with it below
    √nrtolerance, when a Newton step changes f by less than ``ltolerance`` (relative) or the
    parameters by less than ``tolerance`` (Stata's three criteria; the defaults are tighter than
    Stata's because we converge to the optimum rather than near it).
    """
    from scipy import optimize

    it = 0
    f0 = f(x0)
    log = [(0, f0)]

    def neg(x: np.ndarray) -> float:
        v = f(x)
        return -v if np.isfinite(v) else 1e300

    def cb(xk: np.ndarray) -> None:
        nonlocal it
        it += 1
        log.append((it, f(xk)))

    # finite-difference gradients carry noise of about eps·|f|/h, so BFGS stops at a gradient
    # tolerance relative to |f|; the Newton polish below then converges tightly
    gtol = 1e-9 * max(1.0, abs(f0))
    res = optimize.minimize(neg, x0, jac=lambda x: gradient(neg, x), method="BFGS", callback=cb,
                            options={"gtol": gtol, "maxiter": maxiter})
    x = res.x
    fx = f(x)
    # Newton polish with a numerical Hessian and step halving
    converged = False
    near = float(np.sqrt(nrtolerance))
    for _ in range(50):
        if it >= maxiter:
            break
        g = gradient(f, x)
        H = hessian(f, x, h=1e-4, richardson=False)
        if not (np.all(np.isfinite(g)) and np.all(np.isfinite(H))):
            break  # next to a region where f is undefined: report, never raise
        w, U = np.linalg.eigh(-H)
        w = np.maximum(w, 1e-8 * max(1.0, float(np.max(np.abs(w)))))
        step = U @ ((U.T @ g) / w)
        scaled = float(g @ step)
        if scaled < nrtolerance:
            converged = True
            break
        big = float(np.max(np.abs(step)))
        if big > 5.0:
            step *= 5.0 / big
        t = 1.0
        while t > 1e-6:
            xn = x + t * step
            fn = f(xn)
            if np.isfinite(fn) and fn >= fx - 1e-12 * abs(fx):
                break
            t /= 2
        else:       # no step improves f: finite-difference noise at the optimum, or stuck
            converged = scaled < near
            break
        it += 1
        change = abs(fn - fx) / max(1.0, abs(fx))
        moved = float(np.max(np.abs(xn - x)))
        x, fx = xn, fn
        log.append((it, fx))
        if scaled < near and (change < ltolerance or moved < tolerance):
            converged = True
            break
    return OptimiserSummary(x, fx, f0, it, converged, log)
