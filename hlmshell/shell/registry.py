"""The command registry: each command is a function ``fn(session, cmd) -> results``.

A command module registers its functions with :func:`command`; the dispatcher resolves what the user
typed (with Stata's minimum abbreviations) through :func:`lookup`.  A command returns ``None``, one
result object or a list of them; :mod:`hlmshell.render` turns results into text.
"""

from __future__ import annotations

import importlib
import pkgutil
from dataclasses import dataclass
from typing import Any, Callable

from hlmshell.errors import StataError

CommandFn = Callable[..., Any]


@dataclass(frozen=True)
class Spec:
    name: str
    min_abbrev: int
    fn: CommandFn
    summary: str
    usage: str


REGISTRY: dict[str, Spec] = {}
_loaded = False


def command(name: str, min_abbrev: int | None = None, *, aliases: tuple[str, ...] = (),
            usage: str = "") -> Callable[[CommandFn], CommandFn]:
    """Register ``fn`` as command ``name``; ``min_abbrev`` is Stata's shortest accepted abbreviation.

    ``summary`` (for ``help``) is the first line of the function's docstring; ``usage`` its syntax.
    """

    def register(fn: CommandFn) -> CommandFn:
        summary = (fn.__doc__ or "").strip().splitlines()[0] if fn.__doc__ else ""
        for word in (name, *aliases):
            REGISTRY[word] = Spec(name, min_abbrev if word == name and min_abbrev else len(word),
                                  fn, summary, usage or name)
        return fn

    return register


def load_all() -> None:
    """Import every module of this package so that their commands register themselves."""
    global _loaded
    import hlmshell.commands as package

    for info in pkgutil.walk_packages(package.__path__, prefix="hlmshell.commands."):
        importlib.import_module(info.name)
    _loaded = True


def lookup(word: str) -> Spec:
    """The command ``word`` names, exactly or as an allowed abbreviation; else Stata's r(199)."""
    if not _loaded:
        load_all()
    if word in REGISTRY:
        return REGISTRY[word]
    for key, spec in REGISTRY.items():
        if key == spec.name and len(word) >= spec.min_abbrev and key.startswith(word):
            return spec
    raise StataError(f"command {word} is unrecognized", 199)


def names() -> list[str]:
    """All command names and aliases (for completion and ``help``)."""
    if not _loaded:
        load_all()
    return sorted(REGISTRY)
