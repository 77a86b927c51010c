"""Drawing plot descriptions (:mod:`hlmshell.results.graph`) with matplotlib.

Importing this package costs nothing: matplotlib (with the Agg backend, never a window of its own) is
imported by :mod:`hlmshell.render.graph.draw` only when a graph is drawn or exported.
"""
