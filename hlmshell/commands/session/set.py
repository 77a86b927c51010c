"""set: ``set seed #`` and ``set obs #``; other settings (more, linesize, ...) are accepted silently."""

from __future__ import annotations

import numpy as np
import pandas as pd

from hlmshell.errors import StataError, syntax_error
from hlmshell.lang.command import Command
from hlmshell.shell.registry import command
from hlmshell.shell.session import Session


@command("set", 3, usage="set seed # | set obs # | set setting value")
def set_(session: Session, cmd: Command) -> None:
    """Set the random-number seed, the number of observations, or (silently) other settings."""
    words = cmd.rest.split()
    if not words:
        raise syntax_error()
    what = words[0]
    if what == "seed":
        if len(words) != 2:
            raise syntax_error()
        try:
            seed = int(words[1])
        except ValueError:
            raise StataError(f"{words[1]} invalid seed", 198) from None
        if seed < 0:
            raise StataError("seed must be a nonnegative integer", 198)
        session.rng = np.random.default_rng(seed)
        return None
    if what == "obs":
        if len(words) != 2 or not words[1].replace(",", "").isdigit():
            raise syntax_error()
        n = int(words[1].replace(",", ""))
        if n < session.nobs:
            raise StataError(f"observations must be >= {session.nobs}", 198)
        extra = n - session.nobs
        data = session.data
        if extra:
            fill = {c: ([""] * extra if session.is_string(str(c)) else [np.nan] * extra)
                    for c in data.columns}
            grown = pd.concat([data, pd.DataFrame(fill)], ignore_index=True) if len(data.columns) \
                else pd.DataFrame(index=range(n))
            session.set_data(grown)
        return None
    return None
