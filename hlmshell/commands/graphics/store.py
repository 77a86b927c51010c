"""Graphs in memory by name, and what happens when a new one is drawn.

A new graph replaces the one of the same name: silently for the default name ``Graph`` or with
``name(x, replace)``, else ``graph x already exists r(110);``.  At the prompt, with ``set graphics
on`` and a display, the graph is drawn to a PNG file and handed to the desktop's image viewer (a
separate process: the prompt never waits for it); without a display a one-line note says how to
export it.  Batch runs (do-files, ``-e``) show nothing, like Stata's batch mode.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

from hlmshell.errors import StataError
from hlmshell.results.shell import Text
from hlmshell.results.graph import AnyGraph
from hlmshell.shell.session import Session

DEFAULT_NAME = "Graph"


def check_name(session: Session, name: str | None, replace: bool) -> str:
    """The name a new graph gets; Stata's error when it would silently replace another one."""
    if name is None:
        return DEFAULT_NAME
    if name in session.graphs and not replace:
        raise StataError(f"graph {name} already exists", 110)
    return name


def current(session: Session, name: str | None = None) -> tuple[str, AnyGraph]:
    """The named graph, or the current (most recent) one; ``graph x not found r(111);``."""
    if name is None:
        if not session.graphs:
            raise StataError("no graphs in memory", 111)
        name = next(reversed(session.graphs))
    if name not in session.graphs:
        raise StataError(f"graph {name} not found", 111)
    return name, session.graphs[name]


def keep(session: Session, graph: AnyGraph, name: str, *, draw: bool = True) -> Text | None:
    """Make ``graph`` the current graph under ``name`` and show it where that is possible."""
    session.graphs.pop(name, None)
    session.graphs[name] = graph
    if not draw or not session.interactive or not session.graphics:
        return None
    viewer = _viewer()
    if viewer is None:
        return Text(f"(graph {name} in memory; type graph export {name.lower()}.png to save it)")
    path = Path(tempfile.gettempdir()) / f"hlmshell-{os.getpid()}" / f"{name}.png"
    path.parent.mkdir(parents=True, exist_ok=True)
    from hlmshell.render.graph.draw import export

    export(graph, str(path), "png")
    subprocess.Popen([*viewer, str(path)], stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                     stderr=subprocess.DEVNULL, start_new_session=True)
    return None


def _viewer() -> list[str] | None:
    """The command that opens an image in a window, when there is a display to show it on."""
    if sys.platform == "darwin":
        return ["open"]
    if sys.platform.startswith("win"):
        return ["explorer"]
    if (os.environ.get("DISPLAY") or os.environ.get("WAYLAND_DISPLAY")) and shutil.which("xdg-open"):
        return ["xdg-open"]
    return None
