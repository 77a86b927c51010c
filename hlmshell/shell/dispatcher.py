"""Run one command line against a session: prefixes, lookup, parsing, the ``by`` loop, errors, output.

This is the one place that catches exceptions.  A :class:`StataError` prints its message and
``r(#);``; anything else is an internal error, reported the same way with r(9999) (and the traceback
only when ``HLMSHELL_DEBUG`` is set).  Either way the session is restored to what it was before the
command, so a failed command never leaves half-changed data or results behind.
"""

from __future__ import annotations

import os
import traceback
from typing import Any

from hlmshell.commands.model_errors import stata_error
from hlmshell.errors import StataError, syntax_error
from hlmshell.lang.command import Command, parse_command
from hlmshell.lang.declaration import Args
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
            session.out.emit(text)


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


def execute(session: Session, line: str) -> None:
    """Run ``line``; raises StataError/KeyboardInterrupt for the caller (``run_line``) to report."""
    cmd = parse_command(line)
    if not cmd.name:
        return
    spec = session.commands.lookup(cmd.name)
    quiet = cmd.quietly and not cmd.noisily
    if quiet:
        session.out.quiet += 1
    try:
        spec, rest = _subcommand(spec, cmd.rest)
        if spec.requires is not None and not spec.requires(session):
            owner = session.commands.lookup(spec.parent or spec.name)
            raise StataError(owner.subcommand_error.format(word=spec.name), owner.subcommand_rc)
        if cmd.by:
            _run_by(session, cmd, spec, rest)
            return
        show(session, spec.fn(session, _parse(session, spec, rest)))
    finally:
        if quiet:
            session.out.quiet -= 1


def run_line(session: Session, line: str) -> int:
    """Run one command line; print any error Stata-style; return the return code (0 = success)."""
    try:
        cmd = parse_command(line)
    except StataError as err:
        session.out.error(str(err))
        return err.rc
    if cmd.capture:
        session.out.quiet += 0 if cmd.noisily else 1
    snap = session.snapshot()
    rc = 0
    try:
        execute(session, line)
    except (StataError, ModelError) as err:
        if isinstance(err, ModelError):
            err = stata_error(err)
        if not getattr(err, "keep_state", False):  # a failed do-file keeps what its lines did
            session.restore(snap)
        rc = err.rc
        if not cmd.capture:
            session.out.error(str(err))
    except KeyboardInterrupt:
        session.restore(snap)
        rc = 1
        session.out.error("--Break--\nr(1);")
    except Exception as exc:  # noqa: BLE001 - the shell must survive any bug in a command
        session.restore(snap)
        rc = 9999
        if not cmd.capture:
            detail = traceback.format_exc() if os.environ.get("HLMSHELL_DEBUG") else ""
            session.out.error(f"{detail}internal error: {type(exc).__name__}: {exc}\nr(9999);")
    finally:
        session.by_rows = None
        if cmd.capture:
            session.out.quiet -= 0 if cmd.noisily else 1
    if cmd.capture:
        session.rc = rc
        return 0
    return rc
