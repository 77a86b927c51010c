"""Commands about the session itself: do/run, exit, log, help, cd/pwd."""

from __future__ import annotations

import datetime as _dt
import os

from hlmshell.data.files import user_path
from hlmshell.errors import StataError, syntax_error
from hlmshell.lang.command import Command
from hlmshell.lang.scan import unquote
from hlmshell.lang.syntax import parse_syntax
from hlmshell.render import Text
from hlmshell.lang.abbrev import Pattern
from hlmshell.shell.dofile import (
    ExitRequest,
    ScriptFailed,
    read_script,
    resolve_dofile,
    run_script,
)
from hlmshell.shell.registry import command
from hlmshell.shell.session import Session

UNNAMED = "<unnamed>"


def _first_word(text: str) -> tuple[str, str]:
    """Split off the first word, a ``"quoted name"`` counting as one word."""
    text = text.strip()
    if text.startswith('"'):
        end = text.find('"', 1)
        if end < 0:
            raise StataError("unmatched quote", 198)
        return text[:end + 1], text[end + 1:].strip()
    word, _, rest = text.partition(" ")
    return word, rest.strip()


# -- do / run -----------------------------------------------------------------------------------
def _run_dofile(session: Session, cmd: Command, *, echo: bool) -> None:
    syn = parse_syntax(cmd.rest, allow_exp=False)
    stop = not syn.options.take("nostop")
    syn.options.finish()
    if syn.if_ is not None or syn.in_ is not None or syn.using is not None:
        raise syntax_error()
    name, extra = _first_word(syn.anything)
    if not name:
        raise StataError("invalid file specification", 198)
    if extra:
        raise StataError("arguments to do-files are not supported", 198)
    path = resolve_dofile(session, name)
    text = read_script(path)
    if not echo:
        session.out.quiet += 1
    try:
        rc = run_script(session, text, echo=echo, stop=stop)
    finally:
        if not echo:
            session.out.quiet -= 1
    if rc:
        raise ScriptFailed(rc)


@command("do", 2, usage="do filename [, nostop]")
def do(session: Session, cmd: Command) -> None:
    """Run the commands of a do-file, echoing each one; stop at the first error."""
    _run_dofile(session, cmd, echo=True)


@command("run", 3, usage="run filename [, nostop]")
def run(session: Session, cmd: Command) -> None:
    """Run a do-file silently (only errors show)."""
    _run_dofile(session, cmd, echo=False)


# -- exit ---------------------------------------------------------------------------------------
@command("exit", 4, usage="exit [#] [, clear]")
def exit_(session: Session, cmd: Command) -> None:
    """Leave the shell (or the running do-file); with changed data, exit, clear."""
    syn = parse_syntax(cmd.rest, allow_exp=False)
    clear = syn.options.take("clear")
    syn.options.take("stata")  # Stata's exit, clear STATA: same here
    syn.options.finish()
    if syn.if_ is not None or syn.in_ is not None or syn.using is not None:
        raise syntax_error()
    rc = 0
    if syn.anything:
        try:
            rc = int(syn.anything)
        except ValueError:
            raise syntax_error() from None
        if rc < 0:
            raise syntax_error()
    raise ExitRequest(rc, clear)


# -- log ----------------------------------------------------------------------------------------
def _stamp() -> str:
    now = _dt.datetime.now()
    return f"{now.day:2d} {now:%b %Y, %H:%M:%S}"


def _log_header(name: str, path: str, when: str) -> str:
    return (f"      name:  {name}\n"
            f"       log:  {path}\n"
            f"  log type:  text\n"
            f" {when}:  {_stamp()}")


def _log_name(options) -> str:
    name = options.take_arg("name", 1)
    if name is None:
        return UNNAMED
    name = name.strip()
    if not name.isidentifier():
        raise StataError(f"{name} invalid name", 198)
    return name


@command("log", 3, usage="log using filename [, append replace text name(logname)]\n"
                          "log close [logname | _all]\nlog query [logname | _all]")
def log(session: Session, cmd: Command) -> Text | None:
    """Keep a plain-text copy of the session's output in a file."""
    sub, rest = _first_word(cmd.rest)
    if sub == "using":
        return _log_using(session, rest)
    if sub in ("c", "cl", "clo", "clos", "close"):
        return _log_close(session, rest)
    if sub in ("", "query"):
        return _log_query(session, rest)
    raise syntax_error()


def _log_using(session: Session, rest: str) -> Text:
    before, comma, opts = rest.partition(",")
    syn = parse_syntax("," + opts if comma else "", allow_exp=False)
    options = syn.options
    append = options.take("append", 1)
    replace = options.take("replace", 1)
    options.take("text", 1)
    options.take("smcl", 1)     # accepted; the log is always written as plain text
    name = _log_name(options)
    options.finish()
    filename, extra = _first_word(before)
    if not filename or extra:
        raise syntax_error()
    if append and replace:
        raise StataError("options append and replace may not be combined", 198)
    if name in session.out.logs:
        raise StataError("log file already open", 604)
    shown = unquote(filename)
    path = user_path(session.cwd, shown)
    if not path.suffix:
        path = path.with_suffix(".log")
        shown += ".log"
    if path.exists() and not (append or replace):
        raise StataError(f"file {shown} already exists", 602)
    try:
        handle = open(path, "a" if append else "w", encoding="utf-8")  # noqa: SIM115 - kept open
    except OSError:
        raise StataError(f"file {shown} could not be opened", 603) from None
    session.out.logs[name] = handle
    return Text(_log_header(name, str(path), "opened on"))


def _which_logs(session: Session, rest: str) -> list[str]:
    word = rest.strip()
    if not word:
        return [UNNAMED] if UNNAMED in session.out.logs else []
    if word == "_all":
        return list(session.out.logs)
    if word not in session.out.logs:
        raise StataError(f"log {word} not found", 111)
    return [word]


def _log_close(session: Session, rest: str) -> None:
    names = _which_logs(session, rest)
    if not names:
        if rest.strip() == "_all":
            return None
        raise StataError("no log file open", 606)
    for name in names:
        handle = session.out.logs[name]
        session.out.emit(_log_header(name, handle.name, "closed on"))
        del session.out.logs[name]
        handle.close()
    return None


def _log_query(session: Session, rest: str) -> Text:
    names = _which_logs(session, rest or "_all")
    if not names:
        return Text("no log file open")
    return Text("\n\n".join(
        f"      name:  {name}\n       log:  {session.out.logs[name].name}\n  log type:  text\n"
        f"    status:  on" for name in names))


# -- help ---------------------------------------------------------------------------------------
_PREFIX_HELP = {
    "capture": ("capture command", "Run a command, suppress its output and error; the rc goes to _rc."),
    "quietly": ("quietly command", "Run a command without showing its output (errors still show)."),
    "noisily": ("noisily command", "Show the output of a command inside quietly."),
    "by": ("by varlist: command\nbysort varlist: command",
           "Repeat a command for each group of varlist (bysort sorts first)."),
}
_PREFIX_ALIASES = {"cap": "capture", "capt": "capture", "qui": "quietly", "quie": "quietly",
                   "noi": "noisily", "bys": "by", "bysort": "by"}


def _abbreviation(pattern: Pattern) -> str:
    """``summarize`` typed as ``su`` or longer → ``su[mmarize]``."""
    if pattern.minlen >= len(pattern.name):
        return pattern.name
    return f"{pattern.shortest}[{pattern.name[pattern.minlen:]}]"


@command("help", 1, usage="help [command]")
def help_(session: Session, cmd: Command) -> Text:
    """Show the commands, or the syntax of one command."""
    topic = cmd.rest.strip()
    if not topic:
        return Text(_help_index(session))
    if len(topic.split()) > 1:
        raise syntax_error()
    prefix = _PREFIX_ALIASES.get(topic, topic)
    if prefix in _PREFIX_HELP:
        usage, summary = _PREFIX_HELP[prefix]
        return Text(_help_page(prefix, usage, summary, []))
    registry = session.commands
    try:
        spec = registry.lookup(topic)
    except StataError:
        raise StataError(f"help for {topic} not found\ntry help (with no argument) for the list "
                         f"of commands", 111) from None
    usage = spec.usage() if not spec.legacy else spec.legacy_usage
    return Text(_help_page(_abbreviation(spec.pattern), usage, spec.summary,
                           registry.aliases_of(spec)))


def _help_page(title: str, usage: str, summary: str, aliases: list[str]) -> str:
    lines = [f"help {title}", "", "Syntax", ""]
    lines += [f"    {u}" for u in usage.splitlines()]
    if summary:
        lines += ["", "Description", "", f"    {summary}"]
    if aliases:
        lines += ["", f"Also typed as: {', '.join(aliases)}"]
    return "\n".join(lines)


def _help_index(session: Session) -> str:
    entries = [(_abbreviation(s.pattern), s.summary) for s in session.commands.specs()]
    entries += [(name, summary) for name, (_, summary) in _PREFIX_HELP.items()]
    entries.sort(key=lambda e: e[0].replace("[", "").replace("]", ""))
    width = max(len(e[0]) for e in entries) + 2
    lines = ["Commands (type help command for its syntax; abbreviations in [brackets] are optional):",
             ""]
    lines += [f"  {name:<{width}}{summary}" for name, summary in entries]
    return "\n".join(lines)


# -- cd / pwd -----------------------------------------------------------------------------------
@command("cd", 2, usage="cd [directory]")
def cd(session: Session, cmd: Command) -> Text:
    """Change the working directory (files are read and written relative to it)."""
    target = unquote(cmd.rest.strip())
    path = user_path(session.cwd, target or "~")
    if not path.is_dir():
        raise StataError(f"unable to change to {target or path}", 170)
    path = path.resolve()
    try:
        os.chdir(path)
    except OSError:
        raise StataError(f"unable to change to {target or path}", 170) from None
    session.cwd = path
    return Text(str(path))


@command("pwd", 3, usage="pwd")
def pwd(session: Session, cmd: Command) -> Text:
    """Show the working directory."""
    if cmd.rest.strip():
        raise syntax_error()
    return Text(str(session.cwd))
