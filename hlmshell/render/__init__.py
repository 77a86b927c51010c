"""Result objects → text.  Each renderer is registered for one result type with :func:`renders`.

Renderers return plain text in Stata's fixed-width layout; :class:`hlmshell.shell.output.Output` prints it
through rich.  Numerical code never prints and commands never format numbers themselves.
"""

from __future__ import annotations

import importlib
import pkgutil
from typing import Any, Callable

_RENDERERS: dict[type, Callable[[Any], str]] = {}


def renders(kind: type) -> Callable[[Callable[[Any], str]], Callable[[Any], str]]:
    def register(fn: Callable[[Any], str]) -> Callable[[Any], str]:
        _RENDERERS[kind] = fn
        return fn

    return register


# results modules whose renderers live in modules of other names
_HOMES = {"estimation": ("coeftable", "mixed"), "tables": ("summaries", "tabulate")}


def render(obj: Any) -> str:
    """The text of a result.  The renderer modules are imported when first needed: the one named
    as the result's module (``results.shell`` → ``render.shell``, or its :data:`_HOMES`) first,
    else all of them."""
    kind = type(obj)
    if kind not in _RENDERERS:
        namesake = kind.__module__.rpartition(".")[2]
        for home in _HOMES.get(namesake, (namesake,)):
            if any(info.name == home for info in pkgutil.iter_modules(__path__)):
                importlib.import_module(f"{__name__}.{home}")
    if kind not in _RENDERERS:
        for info in pkgutil.iter_modules(__path__):
            importlib.import_module(f"{__name__}.{info.name}")
    try:
        return _RENDERERS[kind](obj)
    except KeyError:
        raise TypeError(f"no renderer for {kind.__name__}") from None
