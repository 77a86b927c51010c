"""The optimiser's Hessian and the work a fit does: forward differences of the analytic gradient
are accurate to ~h, and no θ is factorised (or its gradient formed) twice in one fit."""

from __future__ import annotations

import numpy as np
import pytest

from hlmshell.model.multilevel import objective
from hlmshell.model.multilevel.optimise import hessian_of_gradient
from runner import ROOT, runner


def _smooth(x: np.ndarray) -> tuple[float, np.ndarray]:
    """f = −Σ cosh(x) − x₀x₁² + x₂³/3, with its gradient (a Hessian that varies with x)."""
    f = -np.sum(np.cosh(x)) - x[0] * x[1] ** 2 + x[2] ** 3 / 3
    g = -np.sinh(x) + np.array([-x[1] ** 2, -2 * x[0] * x[1], x[2] ** 2])
    return float(f), g


def _smooth_hessian(x: np.ndarray) -> np.ndarray:
    H = -np.diag(np.cosh(x))
    H[0, 1] = H[1, 0] = -2 * x[1]
    H[1, 1] -= 2 * x[0]
    H[2, 2] += 2 * x[2]
    return H


def test_forward_difference_hessian_is_accurate_and_takes_one_gradient_per_parameter():
    x = np.array([0.3, -1.2, 2.5])
    calls = []

    def fg(z):
        calls.append(z.copy())
        return _smooth(z)

    H = hessian_of_gradient(fg, x, _smooth(x)[1])
    assert len(calls) == 3                      # the gradient at x was given
    np.testing.assert_allclose(H, _smooth_hessian(x), rtol=2e-5, atol=2e-5)
    assert np.max(np.abs(H - _smooth_hessian(x))) > 1e-9     # differences, not the exact Hessian
    hessian_of_gradient(fg, x)
    assert len(calls) == 3 + 4                  # without it: x itself, then one step per parameter


@pytest.mark.parametrize("data, cmd", [
    ("use data/hsb.dta", "mixed mathach ses || id: ses, cov(unstructured)"),
    ("import delimited data/crossed_small.csv", "mixed y x || _all: R.a || _all: R.b || c:"),
])
def test_a_fit_factorises_each_theta_once(monkeypatch, data, cmd):
    seen: dict[str, list[bytes]] = {"factorise": [], "posterior": []}
    asked: list[bytes] = []
    evaluation, factorise, posterior = (objective.Objective._evaluation,
                                        objective.Objective.factorise,
                                        objective.Objective.posterior)

    def tracked_evaluation(self, theta, derivatives):
        self._asking = np.asarray(theta, dtype=np.float64).tobytes()
        asked.append(self._asking)
        return evaluation(self, theta, derivatives)

    def tracked_factorise(self, factors):
        seen["factorise"].append(self._asking)
        return factorise(self, factors)

    def tracked_posterior(self, c, blocks):
        seen["posterior"].append(self._asking)
        return posterior(self, c, blocks)

    monkeypatch.setattr(objective.Objective, "_evaluation", tracked_evaluation)
    monkeypatch.setattr(objective.Objective, "factorise", tracked_factorise)
    monkeypatch.setattr(objective.Objective, "posterior", tracked_posterior)
    run = runner(cwd=ROOT)
    run(f"qui {data}")
    run(f"qui {cmd}")
    assert len(asked) > len(set(asked))         # points are asked for again ...
    for kind in ("factorise", "posterior"):     # ... and computed once
        assert len(seen[kind]) == len(set(seen[kind])) > 5, kind


def test_bfgs_trial_points_stay_within_the_step_cap_and_reach_the_optimum():
    """A steep start sends BFGS's line searches up to ~13 units out uncapped; points beyond STEP_CAP
    from its iterate are refused without being evaluated, and the optimum is still found exactly."""
    from hlmshell.model.multilevel.optimise import STEP_CAP, maximise

    target = np.array([10.0, -4.0])
    points = []

    def fg(x):
        points.append(x.copy())
        d = x - target
        return -float(d @ d) - 0.1 * float(np.sum(d ** 4)), -2 * d - 0.4 * d ** 3

    res = maximise(fg, np.zeros(2), maxiter=100)
    assert res.converged
    np.testing.assert_allclose(res.x, target, atol=1e-8)
    steps = [float(np.max(np.abs(b - a))) for a, b in zip(points, points[1:])]
    assert max(steps) <= STEP_CAP + 1e-12
