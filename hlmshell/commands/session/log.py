"""``log using`` / ``log close`` / ``log query``: a plain-text copy of the session's output.

Logs are always plain text (Stata's ``text`` log type); several may be open at once under different
``name()``s, the one without a name being ``<unnamed>``.  A log is written beside its file and renamed
into place when it is closed (:mod:`hlmshell.data.atomic`), so ``log using x, replace`` keeps the old
x.log until the new one is complete, and a log that cannot be written destroys nothing.
"""

from __future__ import annotations

import datetime as _dt

from hlmshell.errors import StataError
from hlmshell.lang.declaration import Args
from hlmshell.results.shell import Text
from hlmshell.shell.registry import command
from hlmshell.shell.session import Session

UNNAMED = "<unnamed>"


def _stamp() -> str:
    now = _dt.datetime.now()
    return f"{now.day:2d} {now:%b %Y, %H:%M:%S}"


def _log_header(name: str, path: str, when: str) -> str:
    return (f"      name:  {name}\n"
            f"       log:  {path}\n"
            f"  log type:  text\n"
            f" {when}:  {_stamp()}")


@command("log", "", subcommand_error="invalid syntax")
def log(session: Session, args: Args) -> Text:
    """Keep a plain-text copy of the session's output in a file."""
    return _log_query(session, "_all")       # ``log`` alone: as ``log query``


@command("log using", "filename(.log) [, Append Replace Text Name(name)]")
def log_using(session: Session, args: Args) -> Text:
    """Open a log file (``.log`` is added to a name without an extension)."""
    from hlmshell.data.atomic import AtomicFile
    from hlmshell.data.files import user_path  # not at start-up: it brings pandas

    name = args.name or UNNAMED
    if args.append and args.replace:
        raise StataError("options append and replace may not be combined", 198)
    if name in session.out.logs:
        raise StataError("log file already open", 604)
    shown = args.filename
    path = user_path(session.cwd, shown)
    if not path.suffix:
        path = path.with_suffix(".log")
        shown += ".log"
    if path.exists() and not (args.append or args.replace):
        raise StataError(f"file {shown} already exists", 602)
    session.out.logs[name] = AtomicFile(path, shown, append=bool(args.append), claim=True)
    return Text(_log_header(name, str(path), "opened on"))


def _which_logs(session: Session, word: str) -> list[str]:
    if not word:
        return [UNNAMED] if UNNAMED in session.out.logs else []
    if word == "_all":
        return list(session.out.logs)
    if word not in session.out.logs:
        raise StataError(f"log {word} not found", 111)
    return [word]


@command("log Close", "[name(id=logname|_all)]")
def log_close(session: Session, args: Args) -> None:
    """Close the log (a named one, or ``_all``)."""
    word = args.names[0] if args.names else ""
    names = _which_logs(session, word)
    if not names:
        if word == "_all":
            return
        raise StataError("no log file open", 606)
    for name in names:
        handle = session.out.logs[name]
        session.out.emit(_log_header(name, handle.name, "closed on"))
        del session.out.logs[name]
        handle.close()
    return


@command("log query", "[name(id=logname|_all)]")
def log_query(session: Session, args: Args) -> Text:
    """Show the open logs."""
    return _log_query(session, args.names[0] if args.names else "_all")


def _log_query(session: Session, word: str) -> Text:
    names = _which_logs(session, word)
    if not names:
        return Text("no log file open")
    return Text("\n\n".join(
        f"      name:  {name}\n       log:  {session.out.logs[name].name}\n  log type:  text\n"
        f"    status:  on" for name in names))
