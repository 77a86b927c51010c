"""Plot descriptions: what a graph shows, as plain data (``hlmshell.render.graph`` draws them).

A command builds a :class:`Graph` from the data: one :class:`Panel` (or one per ``by()`` group), each
with its plots in drawing order, its axes and reference lines; the graph's titles, legend and scheme.
The numbers are exactly what is drawn (a fitted line's evaluation points, a histogram's bars), so
tests read them here.  ``NaN`` in a line's x/y separates pieces that are not connected
(``connect(L)``).  Styles are kept in Stata's words (``navy``, ``"26 133 255"``, ``small``,
``dash``); the renderer turns them into drawing units.  Arrays are made read-only.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np


def frozen_array(values: object) -> np.ndarray:
    """A read-only float copy (plot data never change after the description is built)."""
    out = np.array(values, dtype=float)
    out.setflags(write=False)
    return out


@dataclass(frozen=True)
class Style:
    """How one plot looks; None is the scheme's default for the plot's position."""

    color: str | None = None        # markers, lines and fills together (``color()``)
    mcolor: str | None = None
    msymbol: str | None = None
    msize: str | None = None
    lcolor: str | None = None
    lwidth: str | None = None
    lpattern: str | None = None
    fcolor: str | None = None
    pstyle: int | None = None       # which scheme colour (1-based), when not the plot's position
    refline: bool = False           # drawn as a reference line (qnorm's diagonal, normal overlays)


@dataclass(frozen=True, eq=False)
class Points:
    """scatter, line, connected or area: y against x (area fills down to zero)."""

    kind: str
    x: np.ndarray
    y: np.ndarray
    label: str = ""
    style: Style = field(default_factory=Style)
    mlabels: tuple[str, ...] | None = None


@dataclass(frozen=True, eq=False)
class Range:
    """rarea, rcap or rspike: from y1 to y2 at each x."""

    kind: str
    x: np.ndarray
    y1: np.ndarray
    y2: np.ndarray
    label: str = ""
    style: Style = field(default_factory=Style)


@dataclass(frozen=True, eq=False)
class Bars:
    """Bars centred at x with their heights (histograms: adjacent bins; bar charts: gaps)."""

    x: np.ndarray
    height: np.ndarray
    width: float
    label: str = ""
    style: Style = field(default_factory=Style)
    histogram: bool = False         # drawn in the scheme's histogram colours

    @property
    def edges(self) -> np.ndarray:
        """Left edges followed by the last right edge (a histogram's bin edges)."""
        return np.append(self.x - self.width / 2, self.x[-1] + self.width / 2)


@dataclass(frozen=True, eq=False)
class Box:
    """One box of a box plot: quartiles, adjacent values (whisker ends) and the outside values."""

    position: float
    lower_quartile: float
    median: float
    upper_quartile: float
    lower_adjacent: float
    upper_adjacent: float
    outside: np.ndarray


@dataclass(frozen=True, eq=False)
class Boxes:
    boxes: tuple[Box, ...]
    label: str = ""
    style: Style = field(default_factory=Style)


Plot = Points | Range | Bars | Boxes


@dataclass(frozen=True)
class Axis:
    """One axis: title, labelled ticks (None: chosen by the renderer), scale and grid."""

    title: str = ""
    ticks: tuple[float, ...] | None = None
    tick_labels: tuple[str, ...] | None = None   # text at ``ticks`` (categories, value labels)
    log: bool = False
    reverse: bool = False
    grid: bool | None = None                       # None: the scheme's default for this axis
    angle: float | None = None
    lower: float | None = None                     # the range must include these
    upper: float | None = None
    format: str | None = None                      # Stata display format of the labels


@dataclass(frozen=True)
class Panel:
    """A plot region: its plots, axes, reference lines and (for a by-group) its title."""

    plots: tuple[Plot, ...]
    xaxis: Axis = field(default_factory=Axis)
    yaxis: Axis = field(default_factory=Axis)
    title: str = ""
    xlines: tuple[float, ...] = ()
    ylines: tuple[float, ...] = ()


@dataclass(frozen=True)
class Legend:
    """Which plots have keys (indexes into a panel's plots) and their text; empty: no legend."""

    keys: tuple[tuple[int, str], ...] = ()
    cols: int | None = None
    rows: int | None = None
    position: int | None = None     # clock position; None: the scheme's

    @property
    def shown(self) -> bool:
        return bool(self.keys)


@dataclass(frozen=True)
class Titles:
    title: str = ""
    subtitle: str = ""
    note: str = ""
    caption: str = ""


@dataclass(frozen=True)
class Graph:
    """A graph: its panels (several under ``by()``), titles, legend, scheme and size in inches."""

    panels: tuple[Panel, ...]
    titles: Titles = field(default_factory=Titles)
    legend: Legend = field(default_factory=Legend)
    scheme: str = "stcolor"
    cols: int | None = None         # panels per row (``by(, cols())``)
    xsize: float | None = None
    ysize: float | None = None
    command: str = ""               # the command that made it (``graph dir, detail``, ``graph describe``)


@dataclass(frozen=True)
class CombinedGraph:
    """``graph combine``: graphs drawn side by side, in rows of ``cols``."""

    graphs: tuple[Graph, ...]
    titles: Titles = field(default_factory=Titles)
    scheme: str = "stcolor"
    cols: int | None = None
    rows: int | None = None
    xsize: float | None = None
    ysize: float | None = None
    command: str = ""


AnyGraph = Graph | CombinedGraph


@dataclass(frozen=True)
class GraphList:
    """``graph dir``: names in memory and .gph files."""

    names: tuple[str, ...]
