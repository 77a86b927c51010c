"""The interactive prompt: the real binary in a pseudo-terminal, plus the completer and history."""

from __future__ import annotations

import os
import re
import shutil
import sys
import time
from pathlib import Path

import pandas as pd
import pexpect
import pytest
from prompt_toolkit.completion import CompleteEvent
from prompt_toolkit.document import Document
from prompt_toolkit.history import InMemoryHistory

from hlmshell.lang.abbrev import Pattern
from hlmshell.shell.output import capture_output
from hlmshell.shell.registry import CommandSpec, Registry
from hlmshell.shell.repl import CommandHistory, ShellCompleter, run_typed
from hlmshell.shell.session import Session

TIMEOUT = 10
ANSI = re.compile(r"\x1b\[[0-9;?]*[A-Za-z]|\x1b[>=()][0-9A-Za-z]?|[\x08\r]")


def spawn(tmp_path: Path, term: str, *args: str) -> pexpect.spawn:
    exe = shutil.which("hlmshell")
    argv = [exe, *args] if exe else [sys.executable, "-m", "hlmshell", *args]
    env = dict(os.environ, TERM=term, PROMPT_TOOLKIT_NO_CPR="1",
               HLMSHELL_HISTORY=str(tmp_path / "history"))
    return pexpect.spawn(argv[0], argv[1:], cwd=str(tmp_path), env=env, encoding="utf-8",
                         timeout=TIMEOUT, dimensions=(24, 100))


def prompt(child: pexpect.spawn) -> None:
    """Wait for the ``. `` prompt, and for prompt_toolkit to put the terminal in raw mode."""
    child.expect_exact(". ")
    time.sleep(0.3)


def test_prompt_runs_commands_reports_a_typo_and_exits(tmp_path):
    child = spawn(tmp_path, "dumb")
    try:
        child.expect_exact("Type help for the commands")
        prompt(child)
        child.sendline("pwd")
        child.expect_exact(str(tmp_path.resolve()))
        prompt(child)
        child.sendline("use hsb")                 # the bundled data load from anywhere
        prompt(child)
        child.sendline("sum mathach")
        child.expect(r"mathach \|\s+7,185\s+12\.74785\s+6\.878246\s+-2\.832\s+24\.993")
        prompt(child)
        child.sendline("sumarize")
        child.expect_exact("command sumarize is unrecognized")
        child.expect_exact("r(199);")
        prompt(child)
        child.send("half a line")                 # Ctrl-C cancels the line, not the session
        child.sendcontrol("c")
        prompt(child)
        child.sendline("help ///")                # continuation: the command goes on at "> "
        child.expect_exact("> ")
        child.sendline("pwd")
        child.expect_exact("    pwd")
        prompt(child)
        child.sendline("exit")
        child.expect(pexpect.EOF)
    finally:
        child.close()
    assert child.exitstatus == 0
    history = (tmp_path / "history").read_text()
    assert "+sumarize" in history and "+help ///\n+pwd" in history and "half a line" not in history


def test_prompt_tab_completion_in_a_real_terminal(tmp_path):
    child = spawn(tmp_path, "xterm", "-q")
    screen = ""

    def wait_for(text: str) -> None:
        nonlocal screen
        end = time.time() + TIMEOUT
        while time.time() < end:
            try:
                screen += child.read_nonblocking(10000, timeout=0.2)
            except pexpect.TIMEOUT:
                pass
            if text in ANSI.sub("", screen):
                return
        raise AssertionError(f"{text!r} not on screen: {ANSI.sub('', screen)!r}")

    try:
        wait_for(".")
        time.sleep(0.3)
        child.send("pwd\t\r")                       # "pwd" + Tab completes (pw: pwcompare too)
        wait_for(f"{tmp_path.resolve()}\n")
        child.send("help exi\t\r")
        wait_for("exit [#] [, clear stata]")
        child.send("exit\r")
        child.expect(pexpect.EOF)
    finally:
        child.close()
    assert child.exitstatus == 0


def test_ctrl_d_leaves(tmp_path):
    child = spawn(tmp_path, "dumb", "-q")
    try:
        prompt(child)
        child.sendcontrol("d")
        child.expect(pexpect.EOF)
    finally:
        child.close()
    assert child.exitstatus == 0


def test_ctrl_c_stops_a_running_fit_not_the_session(tmp_path):
    fit = "mixed mathach ses i.sector c.ses#i.sector meanses || id: ses, cov(un) reml"
    (tmp_path / "slow.do").write_text("use hsb\n" + f"{fit}\n" * 40)   # far longer than the test
    child = spawn(tmp_path, "dumb", "-q")
    try:
        prompt(child)
        child.sendline("do slow")
        child.expect_exact("Iteration 0")       # inside the first fit
        child.sendintr()
        child.expect_exact("--Break--")
        child.expect_exact("r(1);")
        child.expect_exact("end of do-file")
        child.expect_exact("r(1);")
        prompt(child)
        child.sendline("pwd")
        child.expect_exact(str(tmp_path.resolve()))
        prompt(child)
        child.sendline("exit")
        child.expect(pexpect.EOF)
    finally:
        child.close()
    assert child.exitstatus == 0


# -- completer ----------------------------------------------------------------------------------
def completions(session: Session, text: str) -> list[str]:
    doc = Document(text, len(text))
    return [c.text for c in ShellCompleter(session).get_completions(doc, CompleteEvent(True))]


@pytest.fixture
def session(tmp_path) -> Session:
    out, _ = capture_output()
    s = Session(out=out, cwd=tmp_path)
    s.set_data(pd.DataFrame({"mathach": [1.0], "meanses": [2.0], "ses": [0.5], "id": ["a"]}),
               changed=False)
    return s


def test_completes_commands_at_the_start_and_variables_where_declared(session):
    assert completions(session, "pw") == ["pwcompare", "pwd"]
    assert "help" in completions(session, "he")
    assert completions(session, "quietly pw") == ["pwcompare", "pwd"]
    assert completions(session, "bysort id: pw") == ["pwcompare", "pwd"]
    assert completions(session, "by i") == ["id"]                 # the by-variables
    assert completions(session, "noi by id: su m") == ["mathach", "meanses"]
    assert completions(session, "help pw") == ["pwcompare", "pwd"]
    assert completions(session, "su m") == ["mathach", "meanses"]  # summarize declares a varlist
    assert completions(session, "su mathach if mea") == ["meanses"]
    assert completions(session, "pwd m") == []                    # pwd declares nothing
    assert completions(session, "di m") == []                     # display reads its own language
    assert completions(session, "nosuchcmd m") == []
    assert set(completions(session, "")) >= set(session.commands.names())


def test_completes_file_names_where_a_file_is_read(session, tmp_path):
    (tmp_path / "analysis.do").write_text("")
    (tmp_path / "models").mkdir()
    (tmp_path / "hsb.dta").write_text("")
    (tmp_path / "old.log").write_text("")
    assert completions(session, "do an") == ["analysis.do"]
    assert completions(session, "do ") == ["analysis.do", "models/"]
    assert completions(session, "run ") == ["analysis.do", "models/"]
    assert completions(session, 'do "an') == ["analysis.do"]
    assert completions(session, "do analysis.do ") == []          # the arguments, not a file
    assert completions(session, "do analysis.do, ") == ["nostop"]
    assert completions(session, "cd ") == ["models/"]             # directories only
    assert completions(session, "log using ") == ["models/", "old.log"]
    assert "tmp/" in completions(session, "do /t")


def test_completes_subcommands_and_options_from_the_declarations(session):
    assert completions(session, "su, de") == ["detail"]
    assert completions(session, "su mathach, ") == ["detail", "meanonly", "separator("]
    assert completions(session, "su mathach, sep(") == []          # an integer goes there
    assert completions(session, "log ") == ["close", "query", "using"]
    assert completions(session, "log c") == ["close"]
    assert completions(session, "log using f, ") == ["append", "name(", "replace", "text"]
    assert completions(session, "mat l") == ["list"]
    assert completions(session, "mat list A, nohe") == ["noheader"]
    assert completions(session, "sca d") == ["define", "dir", "drop"]
    assert completions(session, "set s") == ["scheme", "seed"]
    assert completions(session, "ret ") == ["add", "clear", "list", "local", "matrix", "scalar"]
    assert completions(session, "exit, ") == ["clear", "stata"]
    assert completions(session, "help mat l") == ["list"]
    assert completions(session, "help log ") == ["close", "query", "using"]


def test_completion_follows_any_declaration(session, tmp_path):
    """Declarations as the data and estimation commands make them: files, options, subcommands."""
    (tmp_path / "hsb.dta").write_text("")
    (tmp_path / "exam.csv").write_text("")

    def spec(name: str, decl: str, parent: str | None = None) -> CommandSpec:
        return CommandSpec(Pattern.parse(name), decl, lambda s, a: None,
                           parent=parent)

    session.registry = Registry([
        session.commands.lookup("help"),
        spec("Use", "filename(.dta) [, clear]"),
        spec("merge", "anything using [, KEEPusing(varlist) keep(string) GENerate(name) UPDATE]"),
        spec("import", ""), spec("DELIMited", "[using] filename [, clear]", parent="import"),
        spec("EStimates", ""), spec("STOre", "name", parent="estimates"),
        spec("stats", "[namelist]", parent="estimates"),
        spec("TABle", "[namelist] [, se]", parent="estimates"),
        spec("egen", "newvarname =exp [, BY(varlist)]"),
    ])
    assert completions(session, "u ") == ["hsb.dta"]
    assert completions(session, "use hsb, cl") == ["clear"]       # options, not files
    assert completions(session, "merge 1:1 id using h") == ["hsb.dta"]
    assert completions(session, "merge 1:1 id using hsb, keep(") == []
    assert completions(session, "merge 1:1 id using hsb, keepus(me") == ["meanses"]
    assert completions(session, "merge 1:1 id using hsb, g") == ["generate("]
    assert completions(session, "import del") == ["delimited"]
    assert completions(session, "import delimited ") == ["exam.csv", "hsb.dta"]
    assert completions(session, "import delimited using e") == ["exam.csv"]
    assert completions(session, "estimates st") == ["stats", "store"]
    assert completions(session, "est sto ") == []                 # a new name
    assert completions(session, "est table m1, ") == ["se"]
    assert completions(session, "egen x = mean(m") == ["mathach", "meanses"]
    assert completions(session, "egen x = mean(mathach), by(i") == ["id"]
    assert completions(session, "egen m") == []                   # a new variable's name
    assert completions(session, "help est ") == ["stats", "store", "table"]


def test_history_keeps_a_continued_command_as_one_entry():
    history = CommandHistory(InMemoryHistory())
    history.append_string("mixed mathach ses ///")
    history.append_string("|| id: ses")
    history.append_string("pwd")
    history.append_string("sum ///")
    history.cancel()
    history.append_string("help")
    assert list(history.get_strings()) == ["mixed mathach ses ///\n|| id: ses", "pwd", "help"]


# -- exit and Ctrl-C in the loop ----------------------------------------------------------------
def test_exit_refuses_while_data_have_changed(session):
    buf = session.out.console.file
    session.changed = True
    assert run_typed(session, "exit") is None
    assert "no; dataset in memory has changed since last saved\nr(4);" in buf.getvalue()
    assert run_typed(session, "exit, clear") == 0
    session.changed = False
    assert run_typed(session, "exit") == 0
    assert run_typed(session, "pwd") is None


def test_ctrl_c_in_a_command_is_a_break(session):
    def slow(sess, args):
        raise KeyboardInterrupt

    session.commands.add(CommandSpec(Pattern.parse("zzslow"), "", slow))
    buf = session.out.console.file
    before = session.data.copy()
    assert run_typed(session, "zzslow") is None
    assert buf.getvalue().endswith("--Break--\nr(1);\n")
    pd.testing.assert_frame_equal(session.data, before)


def test_the_loop_with_piped_keys_and_a_log(session, tmp_path, monkeypatch):
    from prompt_toolkit.input import create_pipe_input
    from prompt_toolkit.output import DummyOutput

    from hlmshell.shell.repl import run_repl

    monkeypatch.setenv("HLMSHELL_HISTORY", str(tmp_path / "history"))
    buf = session.out.console.file
    with create_pipe_input() as keys:
        keys.send_text("log using typed\r")
        keys.send_text("help ///\rpwd\r")          # a continued command
        keys.send_text("half a line\x03")          # Ctrl-C drops it
        keys.send_text("sumarize\r")
        keys.send_text("log close\r")
        keys.send_text("exit 3\r")
        status = run_repl(session, banner=False, input=keys, output=DummyOutput())
    assert status == 3
    text = buf.getvalue()
    assert "    pwd\n" in text and "half a line" not in text
    assert "command sumarize is unrecognized\nr(199);" in text
    log = (tmp_path / "typed.log").read_text()
    assert re.search(r"^\. help ///\n> pwd\nhelp pwd\n", log, re.M)  # as typed (``> `` lines), output
    assert ". sumarize\ncommand sumarize is unrecognized\nr(199);\n. log close\n" in log
    assert "half a line" not in log
