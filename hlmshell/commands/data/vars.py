"""Variable management: rename, label variable, keep/drop (variables or observations), order."""

from __future__ import annotations

import re

import pandas as pd

from hlmshell.data.sorting import apply_by
from hlmshell.errors import StataError, syntax_error
from hlmshell.lang import varlist
from hlmshell.lang.command import Command
from hlmshell.lang.expr import row_mask
from hlmshell.lang.scan import unquote
from hlmshell.lang.syntax import parse_syntax
from hlmshell.render import Text
from hlmshell.shell.registry import command
from hlmshell.shell.session import Session


@command("rename", 3, usage="rename oldname newname | rename (old1 old2) (new1 new2)")
def rename(session: Session, cmd: Command) -> None:
    """Rename variables."""
    text = cmd.rest.strip()
    m = re.match(r"^\((.*?)\)\s*\((.*?)\)$", text)
    olds, news = (m.group(1).split(), m.group(2).split()) if m else (text.split()[:1],
                                                                    text.split()[1:])
    if not m and len(text.split()) != 2:
        raise syntax_error()
    if len(olds) != len(news) or not olds:
        raise StataError("syntax error: number of old and new names differ", 198)
    resolved = [varlist.resolve(session.variables, o) for o in olds]
    remaining = [v for v in session.variables if v not in resolved]
    for new in news:
        if not varlist.is_valid_name(new):
            raise StataError(f"{new} invalid name", 198)
        if new in remaining or news.count(new) > 1:
            raise StataError(f"variable {new} already defined", 110)
    mapping = dict(zip(resolved, news))
    labels = {mapping.get(k, k): v for k, v in session.var_labels.items()}
    sortedby = [mapping.get(v, v) for v in session.sortedby]
    session.set_data(session.data.rename(columns=mapping))
    session.var_labels = labels
    session.sortedby = sortedby
    return None


@command("label", 3, usage='label variable varname ["label"]')
def label(session: Session, cmd: Command) -> None:
    """Label a variable (``label variable``)."""
    words = cmd.rest.strip().split(None, 2)
    if not words:
        raise syntax_error()
    sub = words[0]
    if not (len(sub) >= 3 and "variable".startswith(sub)):
        raise StataError(f"label {sub} not supported", 199)
    if len(words) < 2:
        raise syntax_error()
    name = varlist.resolve(session.variables, words[1])
    text = unquote(words[2]) if len(words) > 2 else ""
    if len(text) > 80:
        text = text[:80]
    labels = dict(session.var_labels)
    if text:
        labels[name] = text
    else:
        labels.pop(name, None)
    session.var_labels = labels
    session.changed = True
    return None


def _drop_or_keep(session: Session, cmd: Command, keep: bool) -> Text | None:
    syn = parse_syntax(cmd.rest, allow_exp=False)
    syn.options.finish()
    if syn.if_ is None and syn.in_ is None:
        if cmd.by:
            raise StataError(f"{'keep' if keep else 'drop'} varlist may not be combined with by",
                             190)
        names = varlist.expand(session.variables, syn.anything)
        kept = [v for v in session.variables if (v in names) == keep]
        session.set_data(session.data[kept] if kept else pd.DataFrame())
        return None
    if syn.anything:
        raise syntax_error()
    groups = apply_by(session, cmd)
    mask = row_mask(session, syn.if_, syn.in_, groups=groups)
    selected = mask if keep else ~mask
    deleted = int((~selected).sum())
    if deleted:
        session.set_data(session.data.loc[selected].reset_index(drop=True))
    return Text(f"({deleted:,} observation{'' if deleted == 1 else 's'} deleted)")


@command("drop", 4, usage="drop varlist | drop if exp | drop in range")
def drop(session: Session, cmd: Command) -> Text | None:
    """Drop variables or observations."""
    return _drop_or_keep(session, cmd, keep=False)


@command("keep", 4, usage="keep varlist | keep if exp | keep in range")
def keep(session: Session, cmd: Command) -> Text | None:
    """Keep variables or observations."""
    return _drop_or_keep(session, cmd, keep=True)


@command("order", 5, usage="order varlist [, first last before(var) after(var)]")
def order(session: Session, cmd: Command) -> None:
    """Reorder variables."""
    syn = parse_syntax(cmd.rest, allow_exp=False)
    names = varlist.expand(session.variables, syn.anything)
    opts = syn.options
    last = opts.take("last")
    opts.take("first")
    before = opts.take_arg("before")
    after = opts.take_arg("after")
    opts.finish()
    rest = [v for v in session.variables if v not in names]
    if before or after:
        anchor = varlist.resolve(session.variables, before or after)  # type: ignore[arg-type]
        if anchor in names:
            raise syntax_error()
        k = rest.index(anchor) + (0 if before else 1)
        cols = rest[:k] + names + rest[k:]
    else:
        cols = rest + names if last else names + rest
    session.set_data(session.data[cols])
    return None
