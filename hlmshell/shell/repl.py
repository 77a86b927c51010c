"""The interactive prompt: ``. `` like Stata's, with history, tab completion and ``///`` continuation.

Ctrl-C cancels the line being typed (a running command reports ``--Break--`` through the dispatcher);
Ctrl-D or ``exit`` leaves (``exit`` refuses while the data have unsaved changes, as in Stata, unless
given ``, clear``).
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from prompt_toolkit import PromptSession
from prompt_toolkit.completion import CompleteEvent, Completer, Completion
from prompt_toolkit.document import Document
from prompt_toolkit.history import FileHistory, History, InMemoryHistory
from prompt_toolkit.shortcuts import CompleteStyle

from hlmshell import __version__
from hlmshell.data.files import user_path
from hlmshell.errors import StataError
from hlmshell.lang.abbrev import Table
from hlmshell.lang.command import parse_command
from hlmshell.lang.declaration import Declaration, OptionSpec
from hlmshell.lang.blocks import Block, needs_more, opens_block, read_block
from hlmshell.lang.lines import Line, echo_text, script_lines
from hlmshell.lang.scan import top_level_positions
from hlmshell.shell.dofile import ExitRequest, run_commands
from hlmshell.shell.session import Session

PROMPT = ". "
CONTINUATION = "> "
BANNER = (f"hlmshell {__version__}: Stata-like commands for multilevel linear models.\n"
          "Type help for the commands, exit to leave.")
PREFIXES = ("by", "bysort", "capture", "noisily", "quietly")


def history_path() -> Path:
    """``$HLMSHELL_HISTORY`` if set (tests), else ``~/.hlmshell_history``."""
    return Path(os.environ.get("HLMSHELL_HISTORY") or Path.home() / ".hlmshell_history")


class CommandHistory(History):
    """History of whole commands: the lines of a ``///`` continuation are stored as one entry."""

    def __init__(self, inner: History) -> None:
        super().__init__()
        self.inner = inner
        self.pending: list[str] = []

    def load_history_strings(self) -> Iterable[str]:
        return self.inner.load_history_strings()

    def store_string(self, string: str) -> None:
        self.inner.store_string(string)

    def append_string(self, string: str) -> None:
        whole = "\n".join([*self.pending, string])
        if needs_more(whole):
            self.pending.append(string)
            return
        self.pending = []
        super().append_string(whole)

    def cancel(self) -> None:
        """Forget a half-typed continuation (Ctrl-C)."""
        self.pending = []


def open_history(path: Path | None = None) -> CommandHistory:
    path = path or history_path()
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        with open(path, "a", encoding="utf-8"):
            pass
        inner: History = FileHistory(str(path))
    except OSError:
        inner = InMemoryHistory()
    return CommandHistory(inner)


class ShellCompleter(Completer):
    """Tab completion driven by the commands' declarations.

    Command names where a command starts (after prefixes, and after ``help``); a subcommand's name
    after a command that has subcommands; after the comma the declared options of that command (the
    variables inside a ``varlist`` option's parentheses); the variables in memory only where the
    declaration has them (varlist/varname elements, after ``if`` or ``=``); file names where it
    reads one (a ``filename(.ext)`` element, or after ``using``).
    """

    def __init__(self, session: Session) -> None:
        self.session = session

    def get_completions(self, document: Document, complete_event: CompleteEvent
                        ) -> Iterable[Completion]:
        try:
            yield from self._completions(document.text_before_cursor.split("\n")[-1])
        except Exception:  # noqa: BLE001 - a completion bug must never break the prompt
            return

    def _completions(self, before: str) -> Iterable[Completion]:
        kind, what = self._context(before)
        if kind == "file":
            word = re.search(r'[^\s"]*$', before).group(0)  # type: ignore[union-attr]
            yield from self._files(word, what)
            return
        word = re.search(r"[A-Za-z0-9_]*$", before).group(0)  # type: ignore[union-attr]
        for name in what:
            if name.startswith(word) and name != word:
                yield Completion(name, start_position=-len(word))

    # -- what the word at the cursor is ----------------------------------------------------------
    def _context(self, before: str) -> tuple[str, Any]:
        """("words", candidates) or ("file", extension) for the word at the end of ``before``."""
        head = re.sub(r"[A-Za-z0-9_]*$", "", before)
        try:
            cmd = parse_command(head)
        except StataError:      # ``by id`` before its colon: the by-variables
            return "words", self.session.variables if _BY.match(head) else []
        if not cmd.name:
            return "words", self._command_names()
        registry = self.session.commands
        try:
            spec = registry.lookup(cmd.name)
        except StataError:
            return "words", []
        rest = cmd.rest + before[len(head.rstrip()):]   # parse_command strips the end's blanks
        if spec.name == "help":
            return "words", self._help_topic(rest)
        if len(spec.subcommands):
            m = re.match(r"\s*([A-Za-z0-9_]*)", rest)
            word, after = m.group(1), rest[m.end():]      # type: ignore[union-attr]
            if not after and rest[:1].isspace():
                return "words", self._subcommand_names(spec)
            sub = spec.subcommands.get(word) if word else None
            if sub is not None:
                spec, rest = sub, after
            elif not spec.otherwise:
                return "words", []
        return self._declared(spec.declaration, rest)

    def _command_names(self) -> list[str]:
        return sorted(set(self.session.commands.names()) | set(PREFIXES))

    def _subcommand_names(self, spec: Any) -> list[str]:
        return sorted(p.name for p in spec.subcommands.patterns())

    def _help_topic(self, rest: str) -> list[str]:
        """``help su`` → command names; ``help estimates st`` → its subcommands."""
        words = re.sub(r"[A-Za-z0-9_]*$", "", rest).split()
        if not words:
            return self._command_names()
        if len(words) == 1:
            try:
                spec = self.session.commands.lookup(words[0])
            except StataError:
                return []
            return self._subcommand_names(spec)
        return []

    def _declared(self, decl: Declaration, rest: str) -> tuple[str, Any]:
        """The context inside a declared command's text ``rest`` (up to the cursor)."""
        head, comma, options = _split_at_comma(rest)
        raw = decl.element("anything")
        own_language = raw is not None and raw.mod("raw") is not None and not decl.options
        if comma and not own_language:      # display's commas are its own
            return "words", self._options(decl, options)
        keyword = _after_keyword(head)
        if keyword == "using" and decl.element("using") is not None:
            return "file", decl.filename_ext or ""
        if keyword == "if":
            return "words", self.session.variables
        if keyword == "in":
            return "words", []
        element = decl.element("filename")
        if element is not None:
            typed = re.sub(r'[^\s"]*$', "", head).strip()
            if typed in ("", '"'):
                return "file", decl.filename_ext or ""
            return "words", []
        if decl.element("=exp") is not None and "=" in head:
            return "words", self.session.variables
        if decl.has_variables:
            return "words", self.session.variables
        return "words", []

    def _options(self, decl: Declaration, text: str) -> list[str]:
        """Option names after the comma; variables inside a varlist option's parentheses."""
        inside = _open_option(text)
        if inside is not None:
            table: Table[OptionSpec] = Table((o.pattern, o) for o in decl.options)
            option = table.get(inside)
            if option is not None and option.kind in ("varlist", "varname"):
                return self.session.variables
            return []
        return sorted(("no" if o.negatable else "") + o.name + ("" if o.kind == "flag" else "(")
                      for o in decl.options)

    def _files(self, word: str, ext: str) -> Iterable[Completion]:
        """Directories, and files ending in ``ext`` (any file when ``ext`` is empty; ``/``: only
        directories)."""
        folder, slash, stem = word.rpartition("/")
        base = user_path(self.session.cwd, folder or slash or ".")
        try:
            entries = sorted(base.iterdir())
        except OSError:
            return
        for entry in entries:
            wanted = entry.is_dir() or (ext != "/" and entry.name.endswith(ext))
            if wanted and entry.name.startswith(stem) and not entry.name.startswith("."):
                text = entry.name + ("/" if entry.is_dir() else "")
                yield Completion(text, start_position=-len(stem))


_BY = re.compile(r"\s*(?:(?:qui\w*|n\w*|cap\w*)\s+)*(by|bys\w*)\b")


def _split_at_comma(text: str) -> tuple[str, str, str]:
    """(before, ",", after) at the first comma outside quotes and parentheses; (text, "", "")."""
    for i, c in top_level_positions(text):
        if c == ",":
            return text[:i], ",", text[i + 1:]
    return text, "", ""


def _after_keyword(text: str) -> str | None:
    """The last of ``if``/``in``/``using`` standing alone at top level in ``text``, if any."""
    positions = {i for i, _ in top_level_positions(text)}
    found = None
    for m in re.finditer(r"(?<!\S)(if|in|using)(?=\s)", text):
        if m.start() in positions:
            found = m.group(1)
    return found


def _open_option(text: str) -> str | None:
    """The option whose parentheses are still open at the end of ``text`` (``by(g1 g``), if any."""
    stack: list[str] = []
    quote = False
    for m in re.finditer(r'"|\(|\)|[A-Za-z_][A-Za-z0-9_]*|.', text):
        tok = m.group(0)
        if tok == '"':
            quote = not quote
        elif quote:
            continue
        elif tok == "(":
            before = text[:m.start()]
            word = re.search(r"([A-Za-z_][A-Za-z0-9_]*)\s*$", before)
            stack.append(word.group(1) if word else "")
        elif tok == ")" and stack:
            stack.pop()
    return stack[0] if stack else None


def make_prompt(session: Session, **kwargs) -> PromptSession:
    """The prompt_toolkit session (``input=``/``output=`` may be given for tests)."""
    return PromptSession(history=open_history(), completer=ShellCompleter(session),
                         complete_while_typing=False, complete_style=CompleteStyle.READLINE_LIKE,
                         **kwargs)


def read_command(prompt: PromptSession) -> str:
    """One command as typed: further ``> `` lines while it ends in ``///`` (or an open comment), or
    while a block (``foreach ... {``, ``program define``) is not closed."""
    history = prompt.history
    try:
        text = prompt.prompt(PROMPT)
        while needs_more(text):
            text += "\n" + prompt.prompt(CONTINUATION)
    except KeyboardInterrupt:
        if isinstance(history, CommandHistory):
            history.cancel()
        raise
    return text


def run_typed(session: Session, text: str) -> int | None:
    """Run what was typed at the prompt; return an exit status when the shell should end.

    One command (or one block: a loop, ``if {...}``, a program definition) is written to the logs
    as typed, its further lines numbered as Stata numbers them; several pasted commands are echoed
    one by one and each runs whatever happened to the one before.
    """
    lines = script_lines(text)
    whole = _one_block(lines)
    try:
        if len(lines) == 1 or whole is not None:
            # the screen already shows what was typed after the prompt: only the logs get it
            session.out.log_only((whole.numbered(session.linesize) if whole is not None
                                  else echo_text(lines[0], width=session.linesize)) + "\n")
            run_commands(session, lines, echo=False, stop=False)
        else:
            run_commands(session, lines, echo=True, stop=False)
    except ExitRequest as request:
        if session.changed and not request.clear:
            session.out.error("no; dataset in memory has changed since last saved\nr(4);")
            return None
        return request.rc
    return None


def _one_block(lines: list[Line]) -> Block | None:
    """The block the typed lines make up, when they are exactly one."""
    if not lines or not opens_block(lines[0].text):
        return None
    try:
        block, end = read_block(lines, 0)
    except StataError:
        return None
    return block if end == len(lines) else None


def run_repl(session: Session, *, banner: bool = True, **prompt_kwargs) -> int:
    """The read-eval-print loop; returns the exit status (0, or ``exit #``)."""
    session.interactive = True
    if banner:
        session.out.emit(BANNER)
    prompt = make_prompt(session, **prompt_kwargs)
    while True:
        try:
            text = read_command(prompt)
        except KeyboardInterrupt:
            continue
        except EOFError:
            return 0
        if not text.strip():
            continue
        try:
            status = run_typed(session, text)
        except KeyboardInterrupt:
            session.out.error("--Break--\nr(1);")
            status = None
        if status is not None:
            return status
        session.out.console.print()
