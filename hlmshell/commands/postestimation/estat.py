"""``estat``: post-estimation statistics, dispatched to subcommands registered here.

Generic subcommands live in this module (``estat ic``); command-specific ones are registered by
their own modules::

    from hlmshell.commands.postestimation.estat import register_estat
    register_estat("icc", 3, estat_icc, cmds=("mixed",))   # fn(session, rest) -> result(s)

``rest`` is the text after the subcommand word (its own varlist and options).  ``cmds`` limits a
subcommand to results of those estimation commands; elsewhere it is Stata's ``invalid subcommand``.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Callable

import numpy as np

from hlmshell.commands.postestimation.estnames import (
    ic_row,
    require_active,
    stored_name,
)
from hlmshell.errors import StataError, syntax_error
from hlmshell.lang.command import Command
from hlmshell.lang.syntax import parse_syntax
from hlmshell.results.postest import ICTable
from hlmshell.shell.registry import command
from hlmshell.shell.session import Results, Session, StataMatrix

EstatFn = Callable[[Session, str], Any]


@dataclass(frozen=True)
class EstatSpec:
    name: str
    min_abbrev: int
    fn: EstatFn
    cmds: tuple[str, ...] | None


_ESTAT: dict[str, EstatSpec] = {}


def register_estat(subcommand: str, min_abbrev: int, fn: EstatFn,
                   cmds: tuple[str, ...] | None = None) -> None:
    """Make ``estat <subcommand>`` (abbreviable to ``min_abbrev`` letters) call ``fn(session, rest)``."""
    _ESTAT[subcommand] = EstatSpec(subcommand, min_abbrev, fn, cmds)


def _lookup(word: str) -> EstatSpec | None:
    if word in _ESTAT:
        return _ESTAT[word]
    for name, spec in _ESTAT.items():
        if len(word) >= spec.min_abbrev and name.startswith(word):
            return spec
    return None


@command("estat", 5, usage="estat subcommand [...] [, options]")
def estat(session: Session, cmd: Command) -> Any:
    """Post-estimation statistics: estat ic, and the subcommands of the last estimation command."""
    e = require_active(session)
    word, _, rest = cmd.rest.strip().partition(" ")
    if "," in word:
        word, _, tail = word.partition(",")
        rest = "," + tail + " " + rest
    if not word:
        raise StataError("subcommand expected", 198)
    spec = _lookup(word)
    if spec is None or (spec.cmds is not None and e.cmd not in spec.cmds):
        raise StataError(f"invalid subcommand {word}", 321)
    return spec.fn(session, rest)


def _positive_number(text: str, option: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise StataError(f"option {option}() invalid", 198) from None
    if value <= 0:
        raise StataError(f"option {option}() invalid", 198)
    return value


def estat_ic(session: Session, rest: str) -> ICTable:
    """``estat ic [, n(#)]``: AIC and BIC of the active results (Model column: their stored name or .)."""
    syn = parse_syntax(rest, allow_exp=False)
    n_text = syn.options.take_arg("n", 1)
    df_text = syn.options.take_arg("df", 2)
    syn.options.finish()
    if syn.anything or syn.if_ or syn.in_ or syn.using:
        raise syntax_error()
    n = None if n_text is None else _positive_number(n_text, "n")
    df = None if df_text is None else _positive_number(df_text, "df")
    e = require_active(session)
    row = ic_row(stored_name(e), e, n=n, df=df)
    S = StataMatrix(np.array([[np.nan if v is None else v
                               for v in (row.N, row.ll0, row.ll, row.df, row.aic, row.bic)]]),
                    [row.name], ["N", "ll0", "ll", "df", "AIC", "BIC"])
    session.r = Results(matrices={"S": S})
    return ICTable([row], None if n is not None else "number of observations")


register_estat("ic", 2, estat_ic)
