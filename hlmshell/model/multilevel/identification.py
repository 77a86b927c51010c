"""Random-effects models that cannot be identified, found before they are fitted.

A fit of such a model converges to numbers that mean nothing (variances of 1e-301, intervals to
1e297), so it is refused:

- a random effect whose column is constant beside its level's ``_cons`` (``gen one = 1`` then
  ``|| id: one``): in every group the two are one effect, and only the sum of their variances can be
  estimated.  (A column constant within each group but different between groups, a school-level
  variable as a random slope at the school level, makes the random intercept's variance depend on
  it, which is identified: it is fitted.)
- a variable or ``_cons`` named in two equations of one level (``|| id: || id:``): two effects with
  one column;
- for a linear model, a level whose every group holds one observation: its random intercept cannot
  be told from the residual (lme4 refuses it: "number of levels of each grouping factor must be <
  number of observations").
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from hlmshell.model.errors import ModelError
from hlmshell.model.multilevel.structure import Structure

_TOLERANCE = 1e-12


def check_effects(structure: Structure, data: pd.DataFrame) -> None:
    """Refuse collinear random effects at any level (every response; ``data``: the sample)."""
    for level, name in enumerate(structure.levels):
        equations = [eq for eq in structure.equations
                     if eq.level == level and eq.spec.factor is None]
        named = [effect for eq in equations for effect in eq.names]
        repeated = next((e for k, e in enumerate(named) if e in named[:k]), None)
        if repeated is not None:
            raise ModelError("collinear_effects", level=name, effect=repeated,
                             other=f"{repeated} in another equation of {name}")
        if "_cons" not in named:
            continue
        for eq in equations:
            for variable in eq.spec.variables:
                if _constant(data[variable].to_numpy(dtype=float)):
                    raise ModelError("collinear_effects", level=name, effect=variable,
                                     other="_cons")


def check_levels(structure: Structure, n: int, p: int) -> None:
    """Refuse a level whose every group is one observation (a linear model's residual is the same
    effect); ``n`` ≤ ``p`` is left to the fit's ``insufficient observations``."""
    if n <= p:
        return
    for level, name in enumerate(structure.levels):
        if structure.groups[level].n_groups == n and any(eq.level == level
                                                         for eq in structure.equations):
            raise ModelError("singleton_groups", level=name)


def _constant(x: np.ndarray) -> bool:
    """Whether ``x`` takes one value (to rounding) in the estimation sample."""
    scale = max(float(np.max(x)), -float(np.min(x)), 1.0) if len(x) else 1.0   # max |x|, no copy
    return bool(len(x)) and float(np.ptp(x)) <= _TOLERANCE * scale
