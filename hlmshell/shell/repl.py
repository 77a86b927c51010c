"""The interactive prompt: ``. `` like Stata's, with history, tab completion and ``///`` continuation.

Ctrl-C cancels the line being typed (a running command reports ``--Break--`` through the dispatcher);
Ctrl-D or ``exit`` leaves (``exit`` refuses while the data have unsaved changes, as in Stata, unless
given ``, clear``).
"""

from __future__ import annotations

import os
import re
from pathlib import Path
from typing import Iterable

from prompt_toolkit import PromptSession
from prompt_toolkit.completion import CompleteEvent, Completer, Completion
from prompt_toolkit.document import Document
from prompt_toolkit.history import FileHistory, History, InMemoryHistory
from prompt_toolkit.shortcuts import CompleteStyle

from hlmshell import __version__
from hlmshell.data.files import user_path
from hlmshell.errors import StataError
from hlmshell.lang.command import parse_command
from hlmshell.lang.lines import logical_lines, needs_continuation
from hlmshell.shell.dispatcher import run_line
from hlmshell.shell.dofile import ExitRequest
from hlmshell.shell.session import Session

PROMPT = ". "
CONTINUATION = "> "
BANNER = (f"hlmshell {__version__}: Stata-like commands for multilevel linear models.\n"
          "Type help for the commands, exit to leave.")
PREFIXES = ("by", "bysort", "capture", "noisily", "quietly")
FILE_COMMANDS = {"use": ".dta", "save": ".dta", "merge": ".dta", "do": ".do", "run": ".do",
                 "cd": "/", "import": "", "log": ""}     # command -> the files it wants


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
        if needs_continuation(whole):
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
    """Command names where a command starts, variable names elsewhere, file names after ``use`` etc."""

    def __init__(self, session: Session) -> None:
        self.session = session

    def get_completions(self, document: Document, complete_event: CompleteEvent
                        ) -> Iterable[Completion]:
        try:
            yield from self._completions(document.text_before_cursor.split("\n")[-1])
        except Exception:  # noqa: BLE001 - a completion bug must never break the prompt
            return

    def _completions(self, before: str) -> Iterable[Completion]:
        context = self._context(before)
        if context.startswith("file"):
            word = re.search(r'[^\s"]*$', before).group(0)  # type: ignore[union-attr]
            yield from self._files(word, context.partition(":")[2])
            return
        word = re.search(r"[A-Za-z0-9_]*$", before).group(0)  # type: ignore[union-attr]
        if context == "command":
            candidates = sorted(set(self.session.commands.names()) | set(PREFIXES))
        else:
            candidates = self.session.variables
        for name in candidates:
            if name.startswith(word) and name != word:
                yield Completion(name, start_position=-len(word))

    def _context(self, before: str) -> str:
        """"command", "file[:.ext]" or "variable": what the word at the cursor should be."""
        head = re.sub(r"[A-Za-z0-9_]*$", "", before)
        try:
            cmd = parse_command(head)
        except StataError:
            return "variable"
        if not cmd.name:
            return "command"
        try:
            name = self.session.commands.lookup(cmd.name).name
        except StataError:
            return "variable"
        if name == "help":
            return "command"
        if "," in head:                  # options: no file names there
            return "variable"
        if name in FILE_COMMANDS or re.search(r"\busing\s+\S*$", before):
            return "file:" + FILE_COMMANDS.get(name, "")
        return "variable"

    def _files(self, word: str, ext: str) -> Iterable[Completion]:
        """Directories, and files ending in ``ext`` (any file when ``ext`` is empty)."""
        folder, slash, stem = word.rpartition("/")
        base = user_path(self.session.cwd, folder or slash or ".")
        try:
            entries = sorted(base.iterdir())
        except OSError:
            return
        for entry in entries:
            wanted = entry.is_dir() or entry.name.endswith(ext)
            if wanted and entry.name.startswith(stem) and not entry.name.startswith("."):
                text = entry.name + ("/" if entry.is_dir() else "")
                yield Completion(text, start_position=-len(stem))


def make_prompt(session: Session, **kwargs) -> PromptSession:
    """The prompt_toolkit session (``input=``/``output=`` may be given for tests)."""
    return PromptSession(history=open_history(), completer=ShellCompleter(session),
                         complete_while_typing=False, complete_style=CompleteStyle.READLINE_LIKE,
                         **kwargs)


def read_command(prompt: PromptSession) -> str:
    """One command as typed: further ``> `` lines while it ends in ``///`` (or an open comment)."""
    history = prompt.history
    try:
        text = prompt.prompt(PROMPT)
        while needs_continuation(text):
            text += "\n" + prompt.prompt(CONTINUATION)
    except KeyboardInterrupt:
        if isinstance(history, CommandHistory):
            history.cancel()
        raise
    return text


def _log_only(session: Session, text: str) -> None:
    """Write the typed command to the open logs (the screen already shows it after the prompt)."""
    for log in session.out.logs.values():
        log.write(text + "\n")
        log.flush()


def run_typed(session: Session, text: str) -> int | None:
    """Run what was typed at the prompt; return an exit status when the shell should end."""
    lines = logical_lines(text)
    for line in lines:
        if len(lines) > 1:
            session.out.echo(line)
        else:
            _log_only(session, f". {line}")
        try:
            run_line(session, line)
        except ExitRequest as request:
            if session.changed and not request.clear:
                session.out.error("no; dataset in memory has changed since last saved\nr(4);")
                return None
            return request.rc
    return None


def run_repl(session: Session, *, banner: bool = True, **prompt_kwargs) -> int:
    """The read-eval-print loop; returns the exit status (0, or ``exit #``)."""
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
