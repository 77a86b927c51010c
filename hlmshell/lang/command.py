"""A command line's prefixes (``quietly``, ``capture``, ``by varlist:``, ``version #:``...) and its
command word (``{`` for a block run under prefixes: ``quietly {``)."""

from __future__ import annotations

import re
from dataclasses import dataclass

from hlmshell.errors import StataError, syntax_error
from hlmshell.lang.scan import top_level_positions

_WORD = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")


@dataclass
class Command:
    """One command line with its prefixes taken off."""

    name: str                     # the word typed (abbreviations are resolved by the dispatcher)
    rest: str                     # everything after the command word
    text: str                     # the original line
    quietly: bool = False
    noisily: bool = False
    capture: bool = False
    by: list[str] | None = None   # ``by varlist:`` / ``bysort varlist:``
    by_sort: bool = False
    by_order: list[str] | None = None  # bysort's extra (varlist) sort keys, Stata's ``bysort a (b):``
    by_rc0: bool = False          # ``by g, rc0:``: carry on after a group fails
    version: str | None = None    # ``version 11: xtmixed ...``


RELEASE = "18.0"            # the Stata release whose behaviour is followed (``version``, c(stata_version))
_VERSION = re.compile(r"\s*(\d+(?:\.\d+)?)\s*:")
_PREFIXES = {
    "qui": "quietly", "quie": "quietly", "quiet": "quietly", "quietl": "quietly", "quietly": "quietly",
    "n": "noisily", "no": "noisily", "noi": "noisily", "nois": "noisily", "noisi": "noisily",
    "noisil": "noisily", "noisily": "noisily",
    "cap": "capture", "capt": "capture", "captu": "capture", "captur": "capture", "capture": "capture",
}


class CommandLineError(StataError):
    """A line whose prefixes or command word cannot be read, with the prefixes read before the error
    (``command``): ``capture (`` still captures, as in Stata."""

    def __init__(self, err: StataError, command: Command) -> None:
        super().__init__(err.message, err.rc)
        self.command = command


def parse_command(line: str) -> Command:
    """Split prefixes (``quietly``, ``capture``, ``by varlist:``, ``bysort varlist:``) from a line;
    a :class:`CommandLineError` when they or the command word cannot be read."""
    cmd = Command(name="", rest="", text=line.strip())
    try:
        return _parse_command(cmd)
    except StataError as err:
        raise CommandLineError(err, cmd) from None


def _parse_command(cmd: Command) -> Command:
    rest = cmd.text
    while True:
        rest = rest.lstrip()
        m = _WORD.match(rest)
        if not m:
            break
        word = m.group(0)
        lowered = word
        if lowered in _PREFIXES:
            after = rest[m.end():]
            kind = _PREFIXES[lowered]
            setattr(cmd, kind, True)
            rest = after.lstrip()
            if rest.startswith(":"):
                rest = rest[1:]
            continue
        version = _VERSION.match(rest, m.end())
        if lowered in ("vers", "versi", "versio", "version") and version:
            cmd.version = version.group(1)
            rest = rest[version.end():]
            continue
        if lowered in ("by", "bys", "byso", "bysor", "bysort"):
            colon = next((i for i, c in top_level_positions(rest) if c == ":"), -1)
            if colon < 0:
                raise syntax_error()
            spec, comma, options = rest[m.end():colon].partition(",")
            order = None
            if "(" in spec:
                spec, _, tail = spec.partition("(")
                order = tail.rstrip(") ").split()
            cmd.by = spec.split()
            cmd.by_order = order
            cmd.by_sort = lowered != "by"
            for option in options.split():
                if option == "sort":
                    cmd.by_sort = True
                elif option == "rc0":
                    cmd.by_rc0 = True
                else:
                    raise StataError(f"option {option} not allowed", 198)
            if not cmd.by:
                raise syntax_error()
            rest = rest[colon + 1:]
            continue
        break
    rest = rest.lstrip()
    m = re.match(r"[A-Za-z_][A-Za-z0-9_]*|[=.{]", rest)
    if not m:
        if rest:
            raise StataError(f"{rest.split()[0]} is not a valid command name", 199)
        cmd.name = ""
        return cmd
    cmd.name = m.group(0)
    cmd.rest = rest[m.end():]
    return cmd


def check_version(text: str, current: str = RELEASE) -> None:
    """``version #``: a release this one can run (any up to ``current``)."""
    try:
        wanted = float(text)
    except ValueError:
        raise syntax_error() from None
    if not 1 <= wanted <= float(current):
        raise StataError(f"this is version {current} of Stata; it cannot run version "
                         f"{wanted:.1f} programs", 9)
