"""Stored results: matrices, r() and e() (scalars, macros, matrices; e() also the fitted model)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np


@dataclass
class StataMatrix:
    """A Stata matrix: values with row and column names (``eq:name`` where there are equations)."""

    values: np.ndarray
    rownames: list[str]
    colnames: list[str]

    @property
    def shape(self) -> tuple[int, int]:
        return self.values.shape  # type: ignore[return-value]


@dataclass
class Results:
    """r() or e() results: scalars, macros (strings) and matrices, in the order they were set."""

    scalars: dict[str, float] = field(default_factory=dict)
    macros: dict[str, str] = field(default_factory=dict)
    matrices: dict[str, StataMatrix] = field(default_factory=dict)


@dataclass
class EResults(Results):
    """Estimation results: e() plus what post-estimation commands need.

    ``sample`` is e(sample) as the keys of the observations used (:meth:`Session.in_sample` turns it
    into a mask over the data in memory); ``model`` is the fitted model (``hlmshell.model``) that
    ``predict``, ``estat``, ``test`` and ``margins`` use; ``show(e, display)`` gives the estimation
    command's output and ``display`` its display options (for replay).  ``functions`` lists e()
    functions for ``ereturn list`` (Stata shows ``e(sample)``).
    """

    sample: np.ndarray | None = None
    model: Any = None
    show: Any = None
    display: Any = None
    functions: list[str] = field(default_factory=lambda: ["sample"])
    hidden: set[str] = field(default_factory=set)     # macros ``ereturn list`` does not show
    test_constraints: list[Any] = field(default_factory=list)   # for ``test ..., accumulate``

    @property
    def cmd(self) -> str:
        return self.macros.get("cmd", "")
