"""set: ``set seed #``, ``set obs #``, ``set more off``, ``set varabbrev on|off`` and ``set linesize
#``; any other setting is refused.

``set more off`` is what the shell always does (output never pauses), so it is accepted; ``set more
on`` (pausing at each screenful) is not available and is refused.
"""

from __future__ import annotations

import math

import numpy as np

from hlmshell.errors import StataError, syntax_error
from hlmshell.lang.declaration import Args
from hlmshell.lang.limits import MAX_OBS, no_room_for_observations, require_memory, whole
from hlmshell.shell.registry import command
from hlmshell.shell.session import Session


@command("set", "", subcommand_error="set {word} not allowed", subcommand_rc=199)
def set_(session: Session, args: Args) -> None:
    """Set the random-number seed or the number of observations (and set more off)."""
    raise syntax_error()        # ``set`` alone: a setting is needed


set_.needs_subcommand = True  # type: ignore[attr-defined]   # help: no ``set`` line alone


def _one_word(text: str) -> str:
    words = text.split()
    if len(words) != 1:
        raise syntax_error()
    return words[0]


@command("set seed", "anything(id=#)")
def set_seed(session: Session, args: Args) -> None:
    """Set the seed of the random-number generator (runiform(), rnormal(), ...)."""
    word = _one_word(args.anything)
    try:
        seed = int(word)
    except ValueError:
        raise StataError(f"{word} invalid seed", 198) from None
    if seed < 0:
        raise StataError("seed must be a nonnegative integer", 198)
    session.rng = np.random.default_rng(seed)


@command("set obs", "anything(id=#)")
def set_obs(session: Session, args: Args) -> None:
    """Set the number of observations (new ones are missing)."""
    word = _one_word(args.anything)
    try:
        value = float(word)
    except ValueError:
        raise syntax_error() from None
    if math.isfinite(value) and value > MAX_OBS:
        raise no_room_for_observations()
    n = whole(value, 0, MAX_OBS)
    if n is None:
        raise syntax_error()
    if n < session.nobs:
        raise StataError(f"observations must be >= {session.nobs}", 198)
    extra = n - session.nobs
    if not extra:
        return
    require_memory(3 * 8.0 * n * (len(session.variables) + 1), no_room_for_observations())
    import pandas as pd

    data = session.data
    if len(data.columns):
        fill = {c: ([""] * extra if session.is_string(str(c)) else [np.nan] * extra)
                for c in data.columns}
        grown = pd.concat([data, pd.DataFrame(fill)], ignore_index=True)
    else:
        grown = pd.DataFrame(index=range(n))
    session.set_data(grown)


@command("set more", "name(id=off)")
def set_more(session: Session, args: Args) -> None:
    """``set more off``: output never pauses (the shell's only way)."""
    value = args.names[0]
    if value == "on":
        raise StataError("set more on not available; output never pauses", 198)
    if value != "off":
        raise syntax_error()


@command("set varabbrev", "name(id=on|off)")
def set_varabbrev(session: Session, args: Args) -> None:
    """``set varabbrev off``: variables must then be named in full (on: abbreviations allowed)."""
    session.varabbrev = _on_off(args.names[0])


@command("set linesize", "anything(id=#)")
def set_linesize(session: Session, args: Args) -> None:
    """The width at which echoed command lines wrap onto ``> `` lines (40 to 255)."""
    word = _one_word(args.anything)
    if not word.isdigit() or not 40 <= int(word) <= 255:
        raise StataError("linesize must be between 40 and 255", 198)
    session.linesize = int(word)


def _on_off(word: str) -> bool:
    if word not in ("on", "off"):
        raise syntax_error()
    return word == "on"
