"""Run one command line against a session: prefixes, lookup, parsing, the ``by`` loop, errors, output.

This is the one place that catches exceptions.  A :class:`StataError` prints its message and
``r(#);``; anything else is an internal error, reported the same way with r(9999) (and the traceback
only when ``HLMSHELL_DEBUG`` is set).  Either way the session is restored to what it was before the
command, so a failed command never leaves half-changed data or results behind.  A line inside a
block or program (:func:`run_nested`) is restored the same way, and its error goes up to the command
that runs the block, so a loop that fails keeps what its earlier iterations did.

Macros are expanded before a line is parsed (:func:`expand_line`); a name that is no command may be
a program the session defined (``program define``).
"""

from __future__ import annotations

import os
import traceback
from typing import Any

from hlmshell.commands.model_errors import stata_error
from hlmshell.commands.session.macrofcn import SessionMacros
from hlmshell.errors import StataError, syntax_error
from hlmshell.lang.command import Command, CommandLineError, check_version, parse_command
from hlmshell.lang.declaration import Args
from hlmshell.lang.macros import expand
from hlmshell.lang.varlist import ABBREVIATIONS
from hlmshell.model.errors import ModelError
from hlmshell.render import render
from hlmshell.results.shell import ByHeader
from hlmshell.shell.byprefix import ByGroups, by_groups
from hlmshell.shell.registry import CommandSpec
from hlmshell.shell.session import Session


def show(session: Session, results: Any) -> None:
    """Render and print what a command returned (None, one result, or an iterable of them)."""
    if results is None:
        return
    if not isinstance(results, (list, tuple)) and not hasattr(results, "__next__"):
        results = [results]
    for obj in results:
        text = render(obj)
        if text is not None:
            session.out.emit(text, end="" if getattr(obj, "continued", False) else "\n")


def _subcommand(spec: CommandSpec, rest: str) -> tuple[CommandSpec, str]:
    """``estimates store m1`` → (the ``store`` spec, `` m1``); a command without subcommands as is."""
    if not len(spec.subcommands):
        return spec, rest
    text = rest.lstrip()
    word = ""
    for ch in text:
        if not (ch.isalnum() or ch == "_"):
            break
        word += ch
    if not word:
        if spec.fn is None:
            if text.split():
                raise StataError(spec.subcommand_error.format(word=text.split()[0]),
                                 spec.subcommand_rc)
            raise syntax_error()
        return spec, rest
    if spec.otherwise and spec.subcommands.get(word) is None:
        return spec, rest
    sub = spec.subcommand(word)
    return sub, text[len(word):]


def _parse(session: Session, spec: CommandSpec, rest: str) -> Args:
    decl = spec.declaration
    return decl.parse(rest, session.variables if decl.needs_variables else [])


def _by_header(session: Session, groups: ByGroups, row: int) -> ByHeader:
    from hlmshell.lang.expr import column_values

    values = []
    for name in groups.variables:
        value = column_values(session.data, name)[row]
        value = value if isinstance(value, str) else float(value)
        values.append((name, value, session.value_label(name, value)))
    return ByHeader(tuple(values))


def _run_by(session: Session, cmd: Command, spec: CommandSpec, rest: str) -> None:
    if spec.byable is None:
        raise StataError(f"{spec.full_name} may not be combined with by", 190)
    groups = by_groups(session, cmd)
    args = _parse(session, spec, rest)
    if spec.byable == "onecall":
        args.by = groups
        show(session, spec.fn(session, args))
        return
    if args.in_ is not None:
        raise StataError("in may not be combined with by", 190)
    failed: StataError | None = None
    for start in groups.first_rows():
        show(session, _by_header(session, groups, int(start)))
        session.by_rows = groups.ids == groups.ids[start]
        try:
            show(session, spec.fn(session, args))
        except StataError as err:
            if not cmd.by_rc0:
                raise
            session.out.error(str(err))
            failed = err
        finally:
            session.by_rows = None
    if failed is not None:
        session.rc = failed.rc


def expand_line(session: Session, line: str) -> str:
    """``line`` with its macros expanded (`` `x' ``, ``$x``, `` `=exp' ``...), as Stata does before it
    parses a command."""
    return expand(line, SessionMacros(session))


def _lookup(session: Session, name: str) -> CommandSpec:
    """A command by name or abbreviation, else a program defined in the session by its full name."""
    try:
        return session.commands.lookup(name)
    except StataError:
        program = session.programs.get(name)
        if program is None:
            raise
        return program.spec


def execute(session: Session, line: str, *, block: Any = None) -> None:
    """Run ``line`` (its macros expanded first); raises StataError/KeyboardInterrupt for the caller
    (``run_line``) to report.  ``block`` is the block the line opens (``foreach x in a b {``)."""
    _execute(session, parse_command(expand_line(session, line)), block)


def _execute(session: Session, cmd: Command, block: Any) -> None:
    if not cmd.name:
        return
    if cmd.version is not None:
        check_version(cmd.version)
    spec = None if cmd.name == "{" else _lookup(session, cmd.name)
    quiet = session.out.quiet
    if cmd.noisily:
        session.out.quiet = 0
    elif cmd.quietly:
        session.out.quiet += 1
    abbreviations = ABBREVIATIONS.set(session.varabbrev)
    try:
        if spec is None:            # ``quietly {``, ``capture {``: the block under the prefixes
            if cmd.by or cmd.rest.strip() or block is None:
                raise syntax_error()
            from hlmshell.shell.dofile import (
                run_block,  # dofile runs blocks through this module
            )

            run_block(session, block)
            return
        spec, rest = _subcommand(spec, cmd.rest)
        if spec.requires is not None and not spec.requires(session):
            owner = session.commands.lookup(spec.parent or spec.name)
            raise StataError(owner.subcommand_error.format(word=spec.name), owner.subcommand_rc)
        if block is not None and not spec.block:
            raise syntax_error()
        if cmd.by:
            _run_by(session, cmd, spec, rest)
            return
        args = _parse(session, spec, rest)
        args.block = block
        show(session, spec.fn(session, args))
    finally:
        session.out.quiet = quiet
        ABBREVIATIONS.reset(abbreviations)


class Failed(StataError):
    """A command inside a block or program failed: the session is already restored to what it was
    before that command, the message not yet printed (the command that ran the block prints it,
    or its ``capture`` keeps it)."""

    keep_state = True


def run_line(session: Session, line: str, *, block: Any = None) -> int:
    """Run one command line; print any error Stata-style; return the return code (0 = success)."""
    return _run(session, line, block, nested=False)


def run_nested(session: Session, line: str, *, block: Any = None) -> None:
    """Run a line of a block or program as :func:`run_line` does, except that an error it does not
    capture is raised as :class:`Failed` for the command that runs the block."""
    _run(session, line, block, nested=True)


def _run(session: Session, line: str, block: Any, *, nested: bool) -> int:
    try:
        cmd = parse_command(expand_line(session, line))
    except StataError as err:
        prefixes = err.command if isinstance(err, CommandLineError) else None
        if prefixes is not None and prefixes.capture:     # ``capture (``: captured like any error
            session.rc = err.rc
            if prefixes.noisily:
                session.out.error(err.message)
            return 0
        if nested:
            raise Failed(err.message, err.rc) from None
        session.out.error(str(err))
        return err.rc
    if cmd.capture:
        session.out.quiet += 0 if cmd.noisily else 1
    snap = session.snapshot()
    failure: StataError | None = None
    printed = False
    try:
        _execute(session, cmd, block)
        session.out.check()         # a log or the terminal that could not be written fails it
    except (StataError, ModelError) as err:
        if isinstance(err, ModelError):
            err = stata_error(err)
        if not getattr(err, "keep_state", False):  # a failed do-file keeps what its lines did
            session.restore(snap)
        failure = err
    except KeyboardInterrupt:
        session.restore(snap)
        if nested:
            raise
        failure, printed = StataError("--Break--", 1), True
        session.out.error(str(failure))
    except MemoryError:           # what the limits in lang.limits did not foresee
        session.restore(snap)
        failure = StataError("op. sys. refuses to provide memory", 909)
    except Exception as exc:  # noqa: BLE001 - the shell must survive any bug in a command
        session.restore(snap)
        detail = traceback.format_exc() if os.environ.get("HLMSHELL_DEBUG") else ""
        failure = StataError(f"{detail}internal error: {type(exc).__name__}: {exc}", 9999)
    finally:
        if not nested:
            session.by_rows = None
        if cmd.capture:
            session.out.quiet -= 0 if cmd.noisily else 1
    if cmd.capture:
        session.rc = 0 if failure is None else failure.rc
        if failure is not None and cmd.noisily and failure.message and not printed:
            session.out.error(failure.message)      # capture noisily: the message, no r(#)
        return 0
    if failure is None:
        return 0
    if nested:
        raise Failed(failure.message, failure.rc)
    if not printed:
        session.out.error(str(failure))
    return failure.rc
