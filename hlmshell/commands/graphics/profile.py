"""Profile plots: estimates with confidence intervals at values of x, one line per group.

What ``marginsplot`` draws (the margins engineer's command builds its numbers and calls
:func:`profile_graph`, then :func:`hlmshell.commands.graphics.store.keep`)::

    graph = profile_graph(x, estimate, lower, upper, groups, xtitle="ses",
                          ytitle="Linear prediction", title="Predictive margins with 95% CIs")
    return keep(session, graph, check_name(session, None, False))

Each group (e.g. the levels of a factor) is a connected line of the estimates with capped spikes
from ``lower`` to ``upper``, in the group's colour; the legend names the groups.
"""

from __future__ import annotations

import numpy as np

from hlmshell.results.graph import Axis, Graph, Legend, Panel, Points, Range, Style, Titles, \
    frozen_array


def profile_graph(x: np.ndarray, estimate: np.ndarray, lower: np.ndarray, upper: np.ndarray,
                  groups: list[str] | None = None, *, xtitle: str = "", ytitle: str = "",
                  title: str = "", scheme: str = "stcolor",
                  xticks: tuple[tuple[float, str], ...] | None = None) -> Graph:
    """``groups`` gives each row's group label (None: one group); rows keep their order within a
    group (sort them by x first).  ``xticks`` labels x at given values (factor levels)."""
    labels = groups if groups is not None else [""] * len(x)
    plots: list = []
    keys: list[tuple[int, str]] = []
    for k, name in enumerate(dict.fromkeys(labels)):
        rows = np.array([g == name for g in labels])
        look = Style(pstyle=k % 15 + 1)
        plots.append(Range("rcap", frozen_array(x[rows]), frozen_array(lower[rows]),
                           frozen_array(upper[rows]), name, look))
        plots.append(Points("connected", frozen_array(x[rows]), frozen_array(estimate[rows]),
                            name, look))
        keys.append((len(plots), name))
    xaxis = Axis(title=xtitle) if xticks is None else Axis(
        title=xtitle, ticks=tuple(v for v, _ in xticks), tick_labels=tuple(t for _, t in xticks))
    panel = Panel(tuple(plots), xaxis, Axis(title=ytitle))
    legend = Legend(tuple(keys)) if groups is not None and len(keys) > 1 else Legend()
    return Graph((panel,), Titles(title=title), legend, scheme, command="marginsplot")
