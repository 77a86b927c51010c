"""How each estimation command redisplays its results (``estimates replay``).

An estimation command registers a function that turns stored results back into its output::

    from hlmshell.commands.postestimation.replay import register_replay
    register_replay("mixed", lambda session, e: [MixedOutput(...)])

``estimates replay`` looks the function up by e(cmd).
"""

from __future__ import annotations

from typing import Any, Callable

from hlmshell.errors import StataError
from hlmshell.shell.session import EResults, Session

ReplayFn = Callable[[Session, EResults], Any]

_REPLAY: dict[str, ReplayFn] = {}


def register_replay(cmd_name: str, fn: ReplayFn) -> None:
    """Register ``fn(session, e) -> result(s)`` as the way to redisplay results with e(cmd) == cmd_name."""
    _REPLAY[cmd_name] = fn


def replay(session: Session, e: EResults) -> list[Any]:
    """The output of the command that produced ``e``; Stata's error if it cannot be replayed."""
    fn = _REPLAY.get(e.macros.get("cmd2") or e.cmd)
    if fn is None:
        raise StataError("impossible to replay estimation command", 198)
    out = fn(session, e)
    if out is None:
        return []
    return list(out) if isinstance(out, (list, tuple)) else [out]
