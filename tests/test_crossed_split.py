"""The split Gram matrices of crossed designs beyond the Gram pattern (crossed.SplitGram: dense
columns through BLAS, the rest as sparse products) give the pattern's ℓ(θ) and gradient."""

from __future__ import annotations

import numpy as np
import pytest

from hlmshell.model.multilevel import crossed
from hlmshell.model.multilevel.crossprod import build_levels
from hlmshell.model.multilevel.lmm import REEquation
from hlmshell.model.multilevel.objective import Objective
from hlmshell.model.multilevel.response import Gaussian


def _skewed_design(seed: int, n: int):
    """``|| _all: R.a || _all: R.b || _all: R.c`` with b's levels of very unequal sizes (some
    columns of Z₁'Z_t dense, the others sparse) and x fixed."""
    rng = np.random.default_rng(seed)
    a = rng.integers(0, 60, n)
    b = np.minimum(rng.geometric(0.08, n) - 1, 39)
    c = rng.integers(0, 5, n)
    x = rng.normal(size=n)
    y = 1 + x + rng.normal(size=60)[a] + rng.normal(size=40)[b] + rng.normal(size=5)[c] \
        + rng.normal(size=n)
    one = np.ones((n, 1))
    eqs = [REEquation(0, [f"{k}.a" for k in range(60)], one, "identity", a),
           REEquation(0, [f"{k}.b" for k in range(40)], one, "identity", b),
           REEquation(0, [f"{k}.c" for k in range(5)], one, "identity", c)]
    levels = build_levels([np.zeros(n, dtype=int)], n)
    return y, np.column_stack([x, np.ones(n)]), levels, eqs


@pytest.mark.parametrize("reml", [False, True])
def test_split_gram_agrees_with_pattern(monkeypatch, reml):
    y, X, levels, eqs = _skewed_design(5, 900)
    theta = np.array([0.4, -0.3, 0.2])
    out = []
    for pairs in (10**7, 0):
        monkeypatch.setattr(crossed, "MAX_PAIRS", pairs)
        obj = Objective(y, X, levels, eqs, Gaussian(reml))
        assert (obj.crossed.split is None) == (pairs > 0)
        if pairs == 0:                      # both parts exercised
            obj.crossed.split = crossed.SplitGram(obj.crossed.ZC, dense=15)
        out.append(obj.loglik_gradient(theta))
    assert out[1][0] == pytest.approx(out[0][0], abs=1e-9)
    np.testing.assert_allclose(out[1][1], out[0][1], rtol=1e-9, atol=1e-9)
