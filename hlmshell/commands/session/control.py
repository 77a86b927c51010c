"""Control flow ([P] foreach, forvalues, while, if, continue): loops and conditions over blocks of
commands, and the commands that stop a script: ``assert``, ``error``, and ``version`` and ``pause``,
which scripts carry.

A loop's header was macro-expanded by the dispatcher; its body (``args.block``) is expanded line by
line as it runs, so `` `i' `` takes each value in turn.  ``while`` re-expands its condition from the
line as written before each iteration.  ``else`` belongs to the ``if`` just before it in the same
script or block.
"""

from __future__ import annotations

import math
import re

import numpy as np

from hlmshell.commands.session.macrofcn import SessionMacros
from hlmshell.errors import StataError, syntax_error
from hlmshell.lang.command import check_version, parse_command
from hlmshell.lang.declaration import Args
from hlmshell.lang.macros import expand, is_local_name, number_text, words
from hlmshell.lang.numlist import forvalues_range, parse_numlist
from hlmshell.lang.varlist import expand as expand_varlist
from hlmshell.lang.varlist import new_name
from hlmshell.results.shell import Text
from hlmshell.shell.dofile import (
    LoopControl,
    in_loop,
    run_block,
    run_iteration,
    run_nested,
)
from hlmshell.shell.registry import command
from hlmshell.shell.session import Session

_SAME_LINE = "program error:  code follows on the same line as open brace"


def _block(args: Args, text: str) -> None:
    """A loop needs its block: ``{`` last on the line, the body on the lines after."""
    if args.block is None:
        if "{" in text:
            raise StataError(_SAME_LINE, 198)
        raise syntax_error()


def _header(text: str) -> str:
    """The text of a block's opening line without its ``{``."""
    return text.rstrip()[:-1] if text.rstrip().endswith("{") else text


def _loop(session: Session, args: Args, name: str, values) -> None:
    with in_loop(session):
        for value in values:
            session.locals[name] = value
            if not run_iteration(session, args.block):
                break


# -- foreach / forvalues / while ---------------------------------------------------------------
@command("foreach", "anything(raw id=lname_{in|of_listtype}_list)", block=True)
def foreach(session: Session, args: Args) -> None:
    """Loop over the items of a list: ``foreach x in|of local|global|varlist|newlist|numlist ... {``."""
    _block(args, args.anything)
    m = re.match(r"\s*(\S+)\s+(in|of)(?:\s+(.*?))?\s*$", _header(args.anything), re.S)
    if not m or not is_local_name(m.group(1)):
        raise syntax_error()
    name, how, rest = m.group(1), m.group(2), m.group(3) or ""
    if how == "in":
        items = words(rest)
    else:
        kind, _, body = rest.partition(" ")
        items = _list_items(session, kind, body.strip())
    _loop(session, args, name, items)


def _list_items(session: Session, kind: str, body: str) -> list[str]:
    if kind in ("local", "global"):
        if len(body.split()) != 1:
            raise syntax_error()
        store = session.locals if kind == "local" else session.globals
        return words(store.get(body, ""))
    if kind == "varlist":
        return expand_varlist(session.variables, body)
    if kind == "newlist":
        return [new_name(session.variables, w) for w in body.split()]
    if kind == "numlist":
        return [number_text(x) for x in parse_numlist(body)]
    raise syntax_error()


@command("FORValues", "anything(raw id=lname_=_range)", block=True)
def forvalues(session: Session, args: Args) -> None:
    """Loop over numbers: ``forvalues i = 1/10 {``, ``= 0(5)100``, ``= 10 8 to 2``."""
    _block(args, args.anything)
    name, eq, rng = _header(args.anything).partition("=")
    if not eq or not is_local_name(name.strip()):
        raise syntax_error()
    _loop(session, args, name.strip(), (number_text(x) for x in forvalues_range(rng)))


@command("while", "anything(raw id=exp)", block=True)
def while_(session: Session, args: Args) -> None:
    """Repeat the block while the expression is true (it is evaluated again before each pass)."""
    _block(args, args.anything)
    written = _header(parse_command(args.block.header.text).rest)
    with in_loop(session):
        while _true(session, expand(written, SessionMacros(session))):
            if not run_iteration(session, args.block):
                break


def _true(session: Session, exp: str) -> bool:
    from hlmshell.lang.expr import evaluate_scalar

    if not exp.strip():
        raise syntax_error()
    value = evaluate_scalar(session, exp)
    if isinstance(value, str):
        raise StataError("type mismatch", 109)
    return value != 0          # missing is true, as in Stata


@command("continue", "[, Break]")
def continue_(session: Session, args: Args) -> None:
    """Go on to the next iteration of the loop (``, break``: leave the loop)."""
    if session.frame.loops == 0:
        raise StataError("continue not within a loop", 198)
    raise LoopControl(leave=args.options["break"])


# -- if / else -------------------------------------------------------------------------------------
def _branch(session: Session, args: Args, text: str) -> None:
    """``exp {`` with a block, or ``exp command`` on one line: run the block or command if true."""
    from hlmshell.lang.expr import parse_leading

    if args.block is not None:
        taken = _true(session, _header(text))
        if taken:
            run_block(session, args.block)
    else:
        _, used = parse_leading(text)
        line = text[used:].strip()
        if used == 0 or not line:
            raise syntax_error()
        taken = _true(session, text[:used])
        if taken:
            run_nested(session, line)
    session.frame.if_outcome = taken


@command("if", "anything(raw id=exp_{|command)", block=True)
def if_(session: Session, args: Args) -> None:
    """Run the block (or the command on the same line) when the expression is true."""
    _branch(session, args, args.anything)


@command("else", "[anything(raw id=if_exp_{|command)]", block=True)
def else_(session: Session, args: Args) -> None:
    """After ``if``: run the block (or command) when no branch before it ran; ``else if exp``."""
    outcome = session.frame.if_outcome
    if outcome is None:
        raise StataError("else without if", 198)
    text = args.anything.strip()
    m = re.match(r"if\b", text)
    if outcome:                     # an earlier branch ran: the rest of the chain is skipped
        session.frame.if_outcome = True
        return
    if m:
        _branch(session, args, text[m.end():])
        return
    if args.block is not None:
        if _header(text).strip():
            raise syntax_error()
        run_block(session, args.block)
    elif text:
        run_nested(session, text)
    else:
        raise syntax_error()
    session.frame.if_outcome = True


# -- assert / error / version / pause ------------------------------------------------------------
@command("assert", "anything(id=exp) [if] [in] [, rc0 fast]")
def assert_(session: Session, args: Args) -> Text | None:
    """Verify that an expression is true in every observation (``assertion is false`` r(9))."""
    from hlmshell.lang.expr import evaluate, is_string_value, row_mask

    if not args.anything:
        raise syntax_error()
    mask = row_mask(session, args.if_, args.in_)
    value = evaluate(session, args.anything)
    if is_string_value(value):
        raise StataError("type mismatch", 109)
    false = np.broadcast_to(np.asarray(value, dtype=float) == 0, (session.nobs,)) & mask
    k = int(false.sum())
    if not k:
        return None
    n = int(mask.sum())
    message = "assertion is false"
    if not args.fast:
        message = (f"{k} contradiction{'' if k == 1 else 's'} in {n} "
                   f"observation{'' if n == 1 else 's'}\n{message}")
    if args.rc0:
        return Text(message)
    raise StataError(message, 9)


# Stata's messages for ``error #`` ([P] error); codes whose message names an object print r(#) only.
MESSAGES = {
    3: "no dataset in use", 4: "no; dataset in memory has changed since last saved",
    5: "not sorted", 9: "assertion is false", 100: "varlist required",
    101: "varlist not allowed", 102: "too few variables specified",
    103: "too many variables specified", 104: "nothing to input",
    107: "not possible with numeric variable", 108: "not possible with string variable",
    109: "type mismatch", 119: "statement out of context", 120: "invalid %format",
    121: "invalid numlist", 122: "invalid numlist has too few elements",
    123: "invalid numlist has too many elements",
    124: "invalid numlist has elements out of order",
    125: "invalid numlist has elements outside of allowed range",
    126: "invalid numlist has noninteger elements", 127: "invalid numlist has missing values",
    130: "expression too long", 134: "too many values", 135: "not possible with weighted data",
    151: "non r-class program may not set r()", 152: "non e-class program may not set e()",
    153: "non s-class program may not set s()", 197: "invalid syntax", 198: "invalid syntax",
    199: "unrecognized command", 301: "last estimates not found", 302: "last test not found",
    303: "equation not found",
    321: "requested action not valid after most recent estimation command",
    409: "no variance", 430: "convergence not achieved",
    459: "something that should be true of your data is not", 503: "conformability error",
    504: "matrix has missing values", 505: "matrix not symmetric",
    506: "matrix not positive definite", 604: "log file already open", 606: "no log file open",
    612: "unexpected end of file", 900: "no room to add more variables",
    901: "no room to add more observations", 950: "insufficient memory",
    2000: "no observations", 2001: "insufficient observations",
}


@command("error", "anything(id=exp)")
def error(session: Session, args: Args) -> None:
    """Stop with return code # and Stata's message for it (``error 0`` does nothing)."""
    from hlmshell.lang.expr import evaluate_scalar

    value = evaluate_scalar(session, args.anything)
    if isinstance(value, str) or math.isnan(value) or value != int(value) or value < 0:
        raise StataError("invalid syntax", 197)
    if value:
        raise StataError(MESSAGES.get(int(value), ""), int(value))


@command("VERsion", "[anything(id=#)]")
def version(session: Session, args: Args) -> Text | None:
    """Run the rest of the script as the given release of Stata would (``version`` alone: show it).

    Every release up to this one gives the same results here; ``version 11: xtmixed`` still fits by
    REML, as xtmixed always did.
    """
    if not args.anything:
        return Text(f"version {session.version}")
    check_version(args.anything.strip())
    session.version = f"{float(args.anything):.1f}"
    return None


@command("pause", "[anything(id=message)]")
def pause(session: Session, args: Args) -> None:
    """Do nothing: pausing is off, as it is by default (and in batch mode) in Stata."""
