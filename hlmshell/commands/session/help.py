"""``help``: the list of commands, or one command's syntax, options and description.

Everything shown comes from the commands' declarations (:mod:`hlmshell.shell.registry`): the syntax
lines are the command's usage (one per subcommand), the title shows the shortest abbreviation as
``su[mmarize]``, the subcommands and options are listed with theirs (``close (c)``, ``noconstant
(noc)``), the description is the function's docstring.  The prefixes (``by``, ``capture``,
``quietly``, ``noisily``) are no commands and have their pages here.
"""

from __future__ import annotations

from hlmshell.errors import StataError, syntax_error
from hlmshell.lang.abbrev import Pattern
from hlmshell.lang.command import _PREFIXES
from hlmshell.lang.declaration import Args, Declaration, OptionSpec
from hlmshell.lang.scan import split_options
from hlmshell.lang.syntax import parse_options
from hlmshell.results.shell import Text
from hlmshell.shell.registry import CommandSpec, command
from hlmshell.shell.session import Session

_PREFIX_HELP = {
    "capture": ("capture command", "Run a command, suppress its output and error; the rc goes to _rc."),
    "quietly": ("quietly command", "Run a command without showing its output (errors still show)."),
    "noisily": ("noisily command", "Show the output of a command inside quietly."),
    "by": ("by varlist [, sort rc0]: command\nbysort varlist [(varlist)] [, rc0]: command",
           "Repeat a command for each group of varlist (bysort sorts first)."),
}
_PREFIX_ALIASES = {**_PREFIXES, "bys": "by", "byso": "by", "bysor": "by", "bysort": "by"}


def abbreviation(pattern: Pattern) -> str:
    """``summarize`` typed as ``su`` or longer → ``su[mmarize]``."""
    if pattern.minlen >= len(pattern.name):
        return pattern.name
    return f"{pattern.shortest}[{pattern.name[pattern.minlen:]}]"


def _subcommands(spec: CommandSpec) -> list[CommandSpec]:
    return [sub for _, sub in spec.subcommands.items()]


def _runs_alone(spec: CommandSpec) -> bool:
    """Whether the command word alone (or followed by text that is no subcommand) does something."""
    return spec.fn is not None and not getattr(spec.fn, "needs_subcommand", False)


def syntax_lines(spec: CommandSpec) -> list[str]:
    """The syntax lines of ``help``: the command's, or one per subcommand (``spec.usage()``)."""
    lines = spec.usage().splitlines()
    if len(spec.subcommands) and spec.fn is not None and not _runs_alone(spec):
        lines = lines[1:]       # ``return`` alone is no command: only its subcommands
    return lines


def _named(pattern: Pattern) -> str:
    """``close (c)``: a name and, when it may be shortened, its shortest form."""
    return pattern.name + (f" ({pattern.shortest})" if pattern.minlen < len(pattern.name) else "")


def subcommand_lines(spec: CommandSpec) -> list[str]:
    return [f"    {_named(sub.pattern)}" for sub in _subcommands(spec)]


def option_line(option: OptionSpec) -> str:
    """``noconstant (noc)``, ``separator(#) (sep)``, ``nolog (nolo)``; required ones say so."""
    text = option.usage()
    pattern = option.pattern
    if pattern.minlen < len(pattern.name):
        text += f" ({'no' if option.negatable else ''}{pattern.shortest})"
    return text + ("  required" if option.required else "")


def _option_block(decl: Declaration, indent: str) -> list[str]:
    lines = [f"{indent}{option_line(o)}" for o in decl.options]
    if decl.star:
        lines.append(f"{indent}...  (other options are passed on)")
    return lines


def option_lines(spec: CommandSpec) -> list[str]:
    """The options of the command, and of each subcommand under its syntax."""
    subs = _subcommands(spec)
    if not subs:
        return _option_block(spec.declaration, "    ")
    lines: list[str] = []
    owners = ([(spec.name, spec)] if _runs_alone(spec) else []) + \
        [(s.full_name, s) for s in subs]
    for words, owner in owners:
        block = _option_block(owner.declaration, "        ")
        if block:
            lines += [f"    {words}"] + block
    return lines


@command("Help", "[anything(raw id=command)]")
def help_(session: Session, args: Args) -> Text:
    """Show the commands, or the syntax of one command."""
    topic_text, options = split_options(args.anything)   # raw: ``help if`` is about the command
    parse_options(options).finish()
    words = topic_text.split()
    if not words:
        return Text(_help_index(session))
    if len(words) > 2:
        raise syntax_error()
    topic = words[0]
    prefix = _PREFIX_ALIASES.get(topic, topic)
    if prefix in _PREFIX_HELP and len(words) == 1:
        usage, summary = _PREFIX_HELP[prefix]
        return Text(_help_page(prefix, usage.splitlines(), [], [], summary, []))
    registry = session.commands
    try:
        spec = registry.lookup(topic)
    except StataError:
        raise _not_found(args.anything) from None
    title = abbreviation(spec.pattern)
    aliases = registry.aliases_of(spec)
    subcommands: list[str] = []
    if len(words) == 2:
        sub = spec.subcommands.get(words[1]) if len(spec.subcommands) else None
        if sub is None:
            raise _not_found(args.anything)
        spec, aliases = sub, []
        title = f"{title} {abbreviation(sub.pattern)}"
        lines, options = [sub.usage()], _option_block(sub.declaration, "    ")
    else:
        lines, options, subcommands = syntax_lines(spec), option_lines(spec), subcommand_lines(spec)
    return Text(_help_page(title, lines, subcommands, options, spec.summary, aliases))


def _not_found(topic: str) -> StataError:
    return StataError(f"help for {topic} not found\ntry help (with no argument) for the list "
                      f"of commands", 111)


def _help_page(title: str, usage: list[str], subcommands: list[str], options: list[str],
               summary: str, aliases: list[str]) -> str:
    lines = [f"help {title}", "", "Syntax", ""]
    lines += [f"    {u}" for u in usage]
    if summary:
        lines += ["", "Description", "", f"    {summary}"]
    if subcommands:
        lines += ["", "Subcommands", ""] + subcommands
    if options:
        lines += ["", "Options", ""] + options
    if aliases:
        lines += ["", f"Also typed as: {', '.join(aliases)}"]
    return "\n".join(lines)


def _help_index(session: Session) -> str:
    entries = [(abbreviation(s.pattern), s.summary) for s in session.commands.specs()]
    entries += [(name, summary) for name, (_, summary) in _PREFIX_HELP.items()]
    entries.sort(key=lambda e: e[0].replace("[", "").replace("]", ""))
    width = max(len(e[0]) for e in entries) + 2
    lines = ["Commands (type help command for its syntax; abbreviations in [brackets] are optional):",
             ""]
    lines += [f"  {name:<{width}}{summary}" for name, summary in entries]
    return "\n".join(lines)
