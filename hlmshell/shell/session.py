"""The state of one hlmshell session: data in memory, stored results, matrices and output.

Commands read and change a :class:`Session`; nothing else holds state.  A command that changes the
data builds the new frame first and installs it with :meth:`Session.set_data` only once it cannot fail,
and the dispatcher restores every attribute listed in :data:`RESTORED_ON_ERROR` if a command raises, so
that a failing command leaves the session exactly as it was.

Every observation has a key that follows it through sorts, drops and merges (Stata keeps e(sample)
as a hidden variable for the same reason): e(sample) is the set of keys an estimation used, so it
stays right whatever is done to the data afterwards.  The data frame itself always has a plain
0..n-1 index; pandas is imported only once there are data.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from hlmshell.lang.command import RELEASE
from hlmshell.results.stored import EResults, Results, StataMatrix
from hlmshell.shell.output import Output

if TYPE_CHECKING:
    import pandas as pd


RESTORED_ON_ERROR = ("_data", "_keys", "filename", "changed", "var_labels", "e", "r", "estimates",
                     "matrices", "scalars", "preserved", "sortedby", "graphs", "graph_scheme",
                     "graphics", "globals", "locals", "programs", "s", "margins",
                     "label_sets", "label_names", "chars")


@dataclass
class Frame:
    """What belongs to the running do-file or program (the prompt's own at the top level): its local
    macros, its temporary objects, and for a program its class and pending r() results."""

    locals: dict[str, str] = field(default_factory=dict)
    temporaries: list[tuple[str, str]] = field(default_factory=list)   # (var|name|file, name)
    klass: str | None = None        # None outside programs; "", "rclass", "eclass", "sclass"
    returns: Results | None = None  # an rclass program's r(), posted when it ends
    loops: int = 0                  # loops running in this frame (for ``continue``)
    if_outcome: bool | None = None  # the last ``if``: whether a branch ran (for ``else``)
    by_rows: Any = None             # a byable program's by-group (for ``marksample``)


def _key_type(top: int) -> type:
    """Observation keys' integer type: int32 while every key given out so far fits (at 1e7 rows
    38 MiB instead of 76: ``import delimited`` + ``mixed`` peaked at 685 MiB, now 645); keys of
    either type compare with each other (np.isin)."""
    return np.int32 if top < 2**31 else np.int64


class Session:
    """Everything a session keeps between commands."""

    def __init__(self, data: "pd.DataFrame | None" = None, *, out: Output | None = None,
                 cwd: Path | None = None, registry: Any = None) -> None:
        self._data: "pd.DataFrame | None" = None
        self._keys = np.zeros(0, dtype=np.int32)
        self._next_key = 0
        self.filename: str | None = None
        self.changed = False
        self.var_labels: dict[str, str] = {}
        self.label_sets: dict[str, dict[float, str]] = {}   # value labels by name (label define)
        self.label_names: dict[str, str] = {}    # variable -> its value label's name (label values)
        self.chars: dict[str, Any] = {}          # the dataset's characteristics (xtset, reshape)
        self.sortedby: list[str] = []
        self.margins: Any = None                 # the last margins (results.margins), for marginsplot
        self.e: EResults | None = None
        self.r = Results()
        self.estimates: dict[str, EResults] = {}
        self.matrices: dict[str, StataMatrix] = {}
        self.scalars: dict[str, float | str] = {}
        self.preserved: Any = None
        self.rc = 0
        self.rng = np.random.default_rng()
        self.out = out if out is not None else Output()
        self.cwd = cwd if cwd is not None else Path.cwd()
        self.registry = registry        # the commands (a Registry); the standard one unless given
        self.by_rows: np.ndarray | None = None   # the by-group a byable(recall) command runs on
        self.globals: dict[str, str] = {}
        self.frame = Frame()
        self.programs: dict[str, Any] = {}      # user programs (``program define``) by name
        self.s: dict[str, str] = {}             # s() results (``sreturn local``)
        self.version = RELEASE                  # ``version #``
        self.varabbrev = True                   # ``set varabbrev``
        self.linesize: int | None = None        # ``set linesize``: echoed lines wrap at it
        self.temp_count = 0                     # temporary names given out (``tempvar``...)
        self.graphs: dict[str, Any] = {}         # graphs in memory by name; the last is the current
        self.graph_scheme = "stcolor"            # ``set scheme``
        self.graphics = True                     # ``set graphics on|off``: show new graphs
        self.interactive = False                 # at the prompt (the REPL sets it)
        if data is not None:
            self.set_data(data, changed=False, new=True)

    @property
    def locals(self) -> dict[str, str]:
        """The local macros of the running do-file or program."""
        return self.frame.locals

    @locals.setter
    def locals(self, value: dict[str, str]) -> None:
        self.frame.locals = value

    @property
    def commands(self) -> Any:
        if self.registry is None:
            from hlmshell.shell.registry import Registry

            self.registry = Registry.standard()
        return self.registry

    def value_label(self, name: str, value: float | str) -> str | None:
        """The value label of ``value`` in variable ``name``, if it has one."""
        labels = self.label_sets.get(self.label_names.get(name, ""))
        if labels is None or isinstance(value, str):
            return None
        return labels.get(float(value))

    # -- data -------------------------------------------------------------------------------
    @property
    def data(self) -> "pd.DataFrame":
        if self._data is None:
            import pandas as pd

            self._data = pd.DataFrame()
        return self._data

    def set_data(self, data: "pd.DataFrame", *, changed: bool = True, new: bool = False,
                 keys: np.ndarray | None = None) -> None:
        """Install a new data frame (commands build it completely before calling this).

        The frame's index says where each row came from, so that observation keys follow the rows:
        integer positions in the current data (what ``data.loc[mask]``, ``data.iloc[order]`` give,
        pandas making it a plain 0..m-1 range when the first m rows are kept); a position outside the
        current data is a new observation (``set obs``, ``append`` with ``ignore_index``).  ``new``
        marks another dataset (``use``, ``import``, ``collapse``): every observation gets a fresh key,
        so an earlier e(sample) matches none.  ``keys`` gives the keys outright (``restore`` brings
        back the observations ``preserve`` kept).
        """
        n_old, m = len(self._keys), len(data)
        if keys is not None:
            keys = np.array(keys)
        elif new:
            keys = self._fresh(m)
        else:
            pos = np.asarray(data.index, dtype=np.int64)
            known = (pos >= 0) & (pos < n_old)
            keys = np.empty(m, dtype=_key_type(self._next_key + m))
            keys[known] = self._keys[pos[known]]
            keys[~known] = self._fresh(int((~known).sum()))
        self._data = data.reset_index(drop=True)
        self._keys = keys
        self.changed = changed
        self.var_labels = {k: v for k, v in self.var_labels.items() if k in self._data.columns}
        self.label_names = {k: v for k, v in self.label_names.items() if k in self._data.columns}
        self.sortedby = [v for v in self.sortedby if v in self._data.columns]

    def _fresh(self, count: int) -> np.ndarray:
        keys = np.arange(self._next_key, self._next_key + count,
                         dtype=_key_type(self._next_key + count))
        self._next_key += count
        return keys

    @property
    def keys(self) -> np.ndarray:
        """Each observation's key (stable through sorts and drops)."""
        return self._keys

    def sample_keys(self, mask: np.ndarray) -> np.ndarray:
        """The keys of the observations ``mask`` selects, to keep as e(sample)."""
        mask = np.asarray(mask, dtype=bool)
        # keys are replaced, never changed in place, so the whole sample can share them
        return self._keys if mask.all() else self._keys[mask]

    def in_sample(self, e: EResults | None) -> np.ndarray:
        """e(sample) over the data in memory: which observations the estimation used."""
        if e is None or e.sample is None:
            return np.zeros(self.nobs, dtype=bool)
        return np.isin(self._keys, e.sample)

    @property
    def variables(self) -> list[str]:
        return [] if self._data is None else [str(c) for c in self._data.columns]

    @property
    def nobs(self) -> int:
        return 0 if self._data is None else len(self._data)

    def is_string(self, name: str) -> bool:
        return self.data[name].dtype.kind not in "biuf"

    # -- error safety ---------------------------------------------------------------------
    def snapshot(self) -> dict[str, Any]:
        """The restorable state: references to frames and results (commands replace them rather than
        mutate them), shallow copies of the small dicts and lists that commands do update in place."""
        return {name: (value.copy() if isinstance(value, (dict, list)) else value)
                for name in RESTORED_ON_ERROR for value in [getattr(self, name)]}

    def restore(self, snap: dict[str, Any]) -> None:
        for name, value in snap.items():
            setattr(self, name, value)
