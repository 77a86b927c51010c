"""The command registry: every command's name, abbreviation, syntax declaration, flags and function.

A command module declares each command once, next to its function::

    @command("SUmmarize", "[varlist] [if] [in] [, Detail MEANonly SEParator(integer 5)]",
             byable="recall")
    def summarize(session, args): ...

The capitals of the name mark Stata's shortest abbreviation (``su``); the declaration
(:mod:`hlmshell.lang.declaration`) drives parsing, ``help``, tab completion and the ``by`` rule:
``byable="recall"`` commands are run once per by-group by the dispatcher, ``"onecall"`` ones get the
groups and handle them (``generate`` under ``by`` counts ``_n`` within groups), and the others are
refused under ``by`` (``mixed may not be combined with by r(190);``).

A name of two words (``"ESTimates STOre"``) declares a subcommand of the first word's command;
a command with subcommands says what an unknown one is (``subcommand_error``).  Declaring a command
only records it; :meth:`Registry.standard` builds the registry the shell uses, from the cached
manifest of every declaration (:mod:`hlmshell.shell.manifest`) when it is current, so that a session
starts without importing a command module until it runs one of its commands; else by importing the
command modules.  Tests build their own :class:`Registry` from specs.
"""

from __future__ import annotations

import importlib
import pkgutil
from dataclasses import dataclass, field
from functools import cached_property
from typing import Any, Callable

from hlmshell.errors import StataError
from hlmshell.lang.abbrev import Pattern, Table
from hlmshell.lang.declaration import Declaration, parse_declaration

CommandFn = Callable[..., Any]
BYABLE = (None, "recall", "onecall")


class LazyFunction:
    """A function named by its module and qualified name, imported when it is first used."""

    __slots__ = ("module", "name", "_fn")

    def __init__(self, module: str, name: str) -> None:
        self.module, self.name = module, name
        self._fn: Callable[..., Any] | None = None

    def resolve(self) -> Callable[..., Any]:
        if self._fn is None:
            obj: Any = importlib.import_module(self.module)
            for part in self.name.split("."):
                obj = getattr(obj, part)
            self._fn = obj
        return self._fn

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        return self.resolve()(*args, **kwargs)

    def __getattr__(self, attr: str) -> Any:
        """The function's own attributes (``needs_subcommand``); not the protocols that copy or
        pickle an object ask for, which must not import the module."""
        if attr.startswith("__"):
            raise AttributeError(attr)
        return getattr(self.resolve(), attr)


@dataclass
class CommandSpec:
    """One command (or subcommand) as declared; the declaration is parsed when first needed."""

    pattern: Pattern
    syntax: str
    fn: CommandFn | None
    summary: str = ""
    byable: str | None = None
    aliases: tuple[str, ...] = ()
    parent: str | None = None                   # the command word of a subcommand
    subcommands: Table["CommandSpec"] = field(default_factory=Table)
    subcommand_error: str = "{word}: invalid subcommand"
    subcommand_rc: int = 198
    otherwise: bool = False                     # text that is no subcommand goes to fn (matrix A = ...)
    requires: Callable[[Any], bool] | None = None   # a subcommand only for some results (estat icc)
    block: bool = False                         # takes the block its line opens (foreach ... {)

    @cached_property
    def declaration(self) -> Declaration:
        return parse_declaration(self.syntax)

    @property
    def name(self) -> str:
        return self.pattern.name

    @property
    def full_name(self) -> str:
        return f"{self.parent} {self.name}" if self.parent else self.name

    def usage(self) -> str:
        """``summarize [varlist] [if] [in] [, detail ...]``, or one line per subcommand."""
        if len(self.subcommands):
            lines = [f"{self.name} {s.name} {s.declaration.usage()}".rstrip()
                     for s in (spec for _, spec in self.subcommands.items())]
            if self.fn is not None:
                lines.insert(0, f"{self.name} {self.declaration.usage()}".rstrip())
            return "\n".join(lines)
        return f"{self.full_name} {self.declaration.usage()}".rstrip()

    def subcommand(self, word: str) -> "CommandSpec":
        sub = self.subcommands.get(word)
        if sub is None:
            raise StataError(self.subcommand_error.format(word=word), self.subcommand_rc)
        return sub


_DECLARED: list[CommandSpec] = []


def command(name: str, syntax: str = "", *, byable: str | None = None,
            aliases: tuple[str, ...] = (), subcommand_error: str | None = None,
            subcommand_rc: int = 198, requires: Callable[[Any], bool] | None = None,
            otherwise: bool = False, block: bool = False) -> Callable[[CommandFn], CommandFn]:
    """Declare ``fn(session, args)`` as command ``name`` with the syntax ``syntax``.

    For a command with subcommands: ``subcommand_error`` (with ``{word}``) and ``subcommand_rc`` are
    Stata's error for an unknown one; with ``otherwise`` the function runs whenever the first word is
    not a subcommand (``matrix A = ...`` beside ``matrix list A``), without it only when there is no
    word at all (``estimates`` alone).  ``requires(session)`` limits a subcommand to some results
    (``estat icc`` after multilevel models); elsewhere it is the parent's unknown-subcommand error.
    ``summary`` (for ``help``) is the first line of the function's docstring.  With ``block`` the
    command takes the block its line opens (``foreach x in a b {`` ... ``}``) as ``args.block``.
    """
    def register(fn: CommandFn) -> CommandFn:
        _DECLARED.append(make_spec(name, syntax, fn, byable=byable, aliases=aliases,
                                   subcommand_error=subcommand_error, subcommand_rc=subcommand_rc,
                                   requires=requires, otherwise=otherwise, block=block))
        return fn

    return register


def make_spec(name: str, syntax: str, fn: CommandFn, *, byable: str | None = None,
              aliases: tuple[str, ...] = (), subcommand_error: str | None = None,
              subcommand_rc: int = 198, requires: Callable[[Any], bool] | None = None,
              otherwise: bool = False, block: bool = False) -> CommandSpec:
    """The spec :func:`command` declares (also for building a registry by hand, in tests)."""
    if byable not in BYABLE:
        raise ValueError(f"byable must be one of {BYABLE}")
    words = name.split()
    summary = (fn.__doc__ or "").strip().splitlines()[0] if fn.__doc__ else ""
    spec = CommandSpec(Pattern.parse(words[-1]), syntax, fn, summary, byable,
                       aliases, parent=Pattern.parse(words[0]).name if len(words) > 1 else None,
                       requires=requires, otherwise=otherwise, block=block)
    if subcommand_error is not None:
        spec.subcommand_error, spec.subcommand_rc = subcommand_error, subcommand_rc
    return spec


def parent(name: str, *, subcommand_error: str, subcommand_rc: int = 198,
           summary: str = "") -> None:
    """Declare a command that is only its subcommands (``estat``): what an unknown one is."""
    spec = CommandSpec(Pattern.parse(name), "", None, summary)
    spec.subcommand_error, spec.subcommand_rc = subcommand_error, subcommand_rc
    _DECLARED.append(spec)


def declared_specs() -> list[CommandSpec]:
    """The specs every command module declares (importing them all)."""
    import hlmshell.commands as package

    for info in pkgutil.walk_packages(package.__path__, prefix="hlmshell.commands."):
        importlib.import_module(info.name)
    return list(_DECLARED)


class Registry:
    """Commands by name, looked up with Stata's abbreviations."""

    def __init__(self, specs: list[CommandSpec] | None = None) -> None:
        self._commands: Table[CommandSpec] = Table()
        self._aliases: dict[str, CommandSpec] = {}
        for spec in specs or []:
            self.add(spec)

    @classmethod
    def standard(cls) -> "Registry":
        """Every command hlmshell has: from the manifest when it is current, else by importing each
        command module once (and writing the manifest for the next start)."""
        from hlmshell.shell import manifest

        specs = manifest.load()
        if specs is None:
            specs = declared_specs()
            manifest.save(specs)
        return cls(specs)

    def declare(self, name: str, syntax: str, fn: CommandFn, **options: Any) -> None:
        """Add a command to this registry only (what :func:`command` does for the standard one)."""
        self.add(make_spec(name, syntax, fn, **options))

    def add(self, spec: CommandSpec) -> None:
        if spec.parent is None:
            existing = self._commands.get(spec.name)
            if existing is not None and existing.name == spec.name:
                spec.subcommands = existing.subcommands   # a parent declared after its subcommands
            self._commands.add(spec.pattern, spec)
            for alias in spec.aliases:
                self._aliases[alias] = spec
            return
        owner = self._commands.get(spec.parent)
        if owner is None or owner.name != spec.parent:
            owner = CommandSpec(Pattern(spec.parent, len(spec.parent)), "", None)
            self._commands.add(owner.pattern, owner)
        owner.subcommands.add(spec.pattern, spec)

    def lookup(self, word: str) -> CommandSpec:
        """The command ``word`` names, exactly or as an allowed abbreviation; else Stata's r(199)."""
        if word in self._aliases:
            return self._aliases[word]
        spec = self._commands.get(word) if word == word.lower() else None
        if spec is None:
            raise StataError(f"command {word} is unrecognized", 199)
        return spec

    def specs(self) -> list[CommandSpec]:
        """Each command once (not its aliases), in name order."""
        return sorted((s for _, s in self._commands.items()), key=lambda s: s.name)

    def names(self) -> list[str]:
        """Command names and aliases (for completion)."""
        return sorted([s.name for s in self.specs()] + list(self._aliases))

    def aliases_of(self, spec: CommandSpec) -> list[str]:
        return sorted(a for a, s in self._aliases.items() if s is spec)
