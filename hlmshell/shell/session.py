"""The state of one hlmshell session: data in memory, stored results, matrices and output.

Commands read and change a :class:`Session`; nothing else holds state.  A command that changes the
data builds the new frame first and installs it with :meth:`Session.set_data` only once it cannot fail,
and the dispatcher restores every attribute listed in :data:`RESTORED_ON_ERROR` if a command raises, so
that a failing command leaves the session exactly as it was.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from hlmshell.shell.output import Output


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

    ``sample`` is e(sample) as a boolean array aligned with the rows of the data at estimation time;
    ``model`` is the command-specific fit object (e.g. a ``MixedFit``) that ``predict`` and ``estat``
    use.  ``functions`` lists e() functions for ``ereturn list`` (Stata shows ``e(sample)``).
    """

    sample: np.ndarray | None = None
    model: Any = None
    functions: list[str] = field(default_factory=lambda: ["sample"])
    test_constraints: list[Any] = field(default_factory=list)   # for ``test ..., accumulate``

    @property
    def cmd(self) -> str:
        return self.macros.get("cmd", "")


RESTORED_ON_ERROR = ("data", "filename", "changed", "var_labels", "e", "r", "estimates", "matrices",
                     "scalars", "preserved", "sortedby")


@dataclass
class Session:
    """Everything a session keeps between commands."""

    data: pd.DataFrame = field(default_factory=pd.DataFrame)
    filename: str | None = None
    changed: bool = False
    var_labels: dict[str, str] = field(default_factory=dict)
    sortedby: list[str] = field(default_factory=list)
    e: EResults | None = None
    r: Results = field(default_factory=Results)
    estimates: dict[str, EResults] = field(default_factory=dict)
    matrices: dict[str, StataMatrix] = field(default_factory=dict)
    scalars: dict[str, float] = field(default_factory=dict)
    preserved: tuple[pd.DataFrame, dict[str, str], str | None, bool] | None = None
    rc: int = 0
    rng: np.random.Generator = field(default_factory=np.random.default_rng)
    out: Output = field(default_factory=Output)
    cwd: Path = field(default_factory=Path.cwd)
    registry: Any = None            # the commands (a Registry); the standard one unless given
    by_rows: np.ndarray | None = None   # the current by-group while a byable(recall) command runs

    @property
    def commands(self) -> Any:
        if self.registry is None:
            from hlmshell.shell.registry import Registry

            self.registry = Registry.standard()
        return self.registry

    def value_label(self, name: str, value: float | str) -> str | None:
        """The value label of ``value`` in variable ``name``, if it has one."""
        return None

    # -- data -------------------------------------------------------------------------------
    def set_data(self, data: pd.DataFrame, *, changed: bool = True) -> None:
        """Install a new data frame (commands build it completely before calling this)."""
        self.data = data.reset_index(drop=True)
        self.changed = changed
        self.var_labels = {k: v for k, v in self.var_labels.items() if k in self.data.columns}
        self.sortedby = [v for v in self.sortedby if v in self.data.columns]

    @property
    def variables(self) -> list[str]:
        return [str(c) for c in self.data.columns]

    @property
    def nobs(self) -> int:
        return len(self.data)

    def is_string(self, name: str) -> bool:
        dtype = self.data[name].dtype
        return not pd.api.types.is_numeric_dtype(dtype) and not pd.api.types.is_bool_dtype(dtype)

    # -- error safety ---------------------------------------------------------------------
    def snapshot(self) -> dict[str, Any]:
        """The restorable state: references to frames and results (commands replace them rather than
        mutate them), shallow copies of the small dicts and lists that commands do update in place."""
        return {name: (value.copy() if isinstance(value, (dict, list)) else value)
                for name in RESTORED_ON_ERROR for value in [getattr(self, name)]}

    def restore(self, snap: dict[str, Any]) -> None:
        for name, value in snap.items():
            setattr(self, name, value)
