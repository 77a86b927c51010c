"""Script lines and blocks: comments, ``///``, ``#delimit``; loops (``foreach``, ``forvalues``,
``while``, ``continue``), ``if``/``else``, ``quietly``/``noisily``/``capture`` blocks; the echo of a
do-file (``  2.`` lines, ``> `` continuations) and the errors Stata gives for each construct."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from runner import runner

from hlmshell.lang.blocks import needs_more, read_block
from hlmshell.lang.lines import echo_text, logical_lines, script_lines
from hlmshell.shell.dispatcher import run_line
from hlmshell.shell.output import capture_output
from hlmshell.shell.session import Session

REPO = Path(__file__).resolve().parent.parent


@pytest.fixture
def shell(tmp_path):
    """``run(text, rc)`` runs ``text`` as a do-file (with ``do``) and returns what it printed."""
    run_one = runner(data=pd.DataFrame({"g": [1.0, 1.0, 2.0], "x": [5.0, 6.0, 7.0]}), cwd=tmp_path)

    def run(text: str, rc: int = 0) -> str:
        (tmp_path / "script.do").write_text(text)
        return run_one("do script", rc)

    run.session = run_one.session       # type: ignore[attr-defined]
    return run


def printed(text: str) -> list[str]:
    """The output lines of a do-file run, without its echo and the ``end of do-file`` frame."""
    return [ln for ln in text.splitlines() if ln and not ln.startswith((". ", "> "))
            and not re.match(r"^\s*\d+\. ", ln) and ln != "end of do-file"]


# -- lines --------------------------------------------------------------------------------------
def test_comments_continuations_and_delimit():
    text = ("* a comment\n"
            "use hsb  // trailing\n"
            "   regress y x ///\n"
            "     z\n"
            "use http://example.org/a.dta\n"
            "di 1 /* spans\n"
            " lines */ + 2\n"
            "#delimit ;\n"
            "sum x\n"
            "  y; di 3; * a comment ;\n"
            "#delimit cr\n"
            "di 4\n")
    lines = script_lines(text)
    assert [ln.text.split() for ln in lines] == [
        ["use", "hsb"], ["regress", "y", "x", "z"], ["use", "http://example.org/a.dta"],
        ["di", "1", "+", "2"], ["#delimit", ";"], ["sum", "x", "y"], ["di", "3"],
        ["#delimit", "cr"], ["di", "4"]]
    assert [ln.delimit for ln in lines if ln.delimit] == [";", "cr"]
    # as written: indentation kept on every physical line, as a Stata log shows a continued
    # ``foreach ///`` header (``>         very_long_variable_name of numlis``)
    assert echo_text(lines[1]) == ".    regress y x ///\n>      z"
    assert lines[1].source[0] == "   regress y x ///"
    assert echo_text(lines[5], 3) == "  3. sum x\n>   y;"
    assert echo_text(lines[0], width=8) == ". use hs\n> b"
    assert logical_lines(text)[-1] == "di 4"


def test_blocks_are_read_to_their_closing_line():
    lines = script_lines("foreach x in a {\n  if 1 {\n    di 1\n  }\n}\ndi 2\n")
    block, end = read_block(lines, 0)
    assert (block.kind, [ln.text for ln in block.body], block.close.text, end) == \
        ("loop", ["if 1 {", "di 1", "}"], "}", 5)
    program = script_lines("program define p\n  if 1 {\n  di 1\nend\n")
    block, end = read_block(program, 0)
    assert (block.kind, len(block.body), end) == ("program", 2, 4)
    assert block.numbered() == ". program define p\n  1.   if 1 {\n  2.   di 1\n  3. end"
    assert needs_more("foreach x in a {\n di 1") and needs_more("program define p")
    assert not needs_more("foreach x in a {\n di 1\n}") and not needs_more("di 1")
    assert needs_more("di 1 ///")


# -- loops ---------------------------------------------------------------------------------------
def test_foreach_over_every_kind_of_list(shell):
    text = shell('local L "p q" r\n'
                 "global G s t\n"
                 "foreach v in a `L' {\n    di \"in:`v'\"\n}\n"
                 "foreach v of local L {\n    di \"local:`v'\"\n}\n"
                 "foreach v of global G {\n    di \"global:`v'\"\n}\n"
                 "foreach v of varlist _all {\n    di \"var:`v'\"\n}\n"
                 "foreach v of newlist n1 n2 {\n    di \"new:`v'\"\n}\n"
                 "foreach v of numlist 1/3 0.5 10(-5)0 {\n    di \"num:`v'\"\n}\n")
    assert printed(text) == ["in:a", "in:p q", "in:r", "local:p q", "local:r", "global:s",
                             "global:t", "var:g", "var:x", "new:n1", "new:n2", "num:1", "num:2",
                             "num:3", "num:.5", "num:10", "num:5", "num:0"]


def test_the_echo_of_a_loop_numbers_its_lines(shell):
    text = shell("forvalues i = 1/2 {\n    di `i'*10\n}\ndi \"done\"\n")
    assert text == (". forvalues i = 1/2 {\n  2.     di `i'*10\n  3. }\n10\n20\n"
                    ". di \"done\"\ndone\n\nend of do-file\n")


def test_forvalues_ranges_and_a_loop_counter(shell):
    text = shell("forvalues i = 10(-3)1 {\n di `i'\n}\n"
                 "forvalues i = 0(.25)1 {\n di `i'\n}\n"
                 "forvalues i = 1 3 to 7 {\n di `i'\n}\n"
                 "forvalues i = 3/1 {\n di \"never\"\n}\n"
                 "local n 0\nwhile `n' < 3 {\n local ++n\n di \"n=`n'\"\n}\n")
    assert printed(text) == ["10", "7", "4", "1", "0", ".25", ".5", ".75", "1", "1", "3", "5", "7",
                             "n=1", "n=2", "n=3"]
    assert shell("forvalues i = 1(0)3 {\n di 1\n}\n", rc=198).count("invalid syntax\nr(198);") == 1


def test_nested_loops_and_continue(shell):
    text = shell("forvalues i = 1/3 {\n"
                 "    foreach j in a b c {\n"
                 "        if \"`j'\" == \"b\" {\n            continue\n        }\n"
                 "        if `i' == 3 {\n            continue, break\n        }\n"
                 "        local m`i'`j' = `i'\n"
                 "    }\n"
                 "}\n"
                 "di \"`m1a' `m1c' `m2a' `m2c' [`m1b'] [`m3a']\"\n")
    assert printed(text) == ["1 1 2 2 [] []"]
    assert shell("continue\n", rc=198).startswith(". continue\ncontinue not within a loop\nr(198);")


# -- if / else -----------------------------------------------------------------------------------
@pytest.mark.parametrize("value, branch", [(5, "big"), (2, "small"), (-1, "negative")])
def test_if_else_if_else(shell, value, branch):
    text = shell(f"local v {value}\n"
                 "if `v' > 3 {\n    di \"big\"\n}\n"
                 "else if `v' > 0 {\n    di \"small\"\n}\n"
                 "else {\n    di \"negative\"\n}\n"
                 "if `v' > 3 di \"one-line big\"\n"
                 "else di \"one-line not big\"\n")
    assert printed(text) == [branch, "one-line big" if value > 3 else "one-line not big"]


def test_if_uses_the_first_observation_and_else_needs_an_if(shell):
    assert printed(shell("if x == 5 {\n di \"first is 5\"\n}\n")) == ["first is 5"]
    text = shell("di 1\nelse {\n di 2\n}\n", rc=198)
    assert "else without if\nr(198);" in text and "\n2\n" not in text
    assert "type mismatch\nr(109);" in shell('if "a" {\n di 1\n}\n', rc=109)


# -- quietly / noisily / capture blocks ------------------------------------------------------------
def test_quietly_noisily_and_capture_blocks(shell):
    text = shell("quietly {\n    di \"hidden\"\n    noisily di \"shown\"\n}\n"
                 "capture {\n    di \"also hidden\"\n    nosuchcommand\n    di \"not run\"\n}\n"
                 "di \"rc=\" _rc\n"
                 "capture noisily {\n    di \"visible\"\n    summarize nosuch\n}\n"
                 "di \"rc=\" _rc\n"
                 "capture noisily summarize x\n"
                 "di \"rc=\" _rc\n")
    out = printed(text)
    assert out[:4] == ["shown", "rc=199", "visible", "variable nosuch not found"]
    assert out[-1] == "rc=0" and "hidden" not in text.replace("\"hidden\"", "")
    assert "r(111);" not in text and "not run" not in text.replace("\"not run\"", "")


# -- errors ------------------------------------------------------------------------------------
def test_unbalanced_braces(shell):
    text = shell("di 1\nforeach x in a b {\n    di \"`x'\"\n", rc=612)
    assert "unexpected end of file\nr(612);\n\nend of do-file\n\nr(612);\n" in text
    text = shell("di 1\n}\ndi 2\n", rc=199)
    assert "} is not a valid command name\nr(199);" in text and "\n2\n" not in text
    text = shell("foreach x in a b { di 1\n", rc=198)
    assert "program error:  code follows on the same line as open brace\nr(198);" in text
    assert "invalid syntax\nr(198);" in shell("foreach x in a b\n", rc=198)


def test_foreach_over_a_missing_variable(shell):
    text = shell("foreach v of varlist x nosuch {\n    di \"`v'\"\n}\n", rc=111)
    assert "variable nosuch not found\nr(111);" in text and "\nx\n" not in text


def test_a_failing_command_in_a_loop_keeps_what_the_loop_did(shell):
    text = shell("forvalues i = 1/3 {\n"
                 "    replace x = x + 100 in `i'\n"
                 "    if `i' == 2 generate x = 0\n"
                 "}\n"
                 "di \"never\"\n", rc=110)
    assert text.endswith("variable x already defined\nr(110);\n\nend of do-file\n\nr(110);\n")
    assert text.count("variable x already defined") == 1           # printed once, not per level
    np.testing.assert_array_equal(shell.session.data["x"].to_numpy(), [105.0, 106.0, 7.0])
    assert shell.session.locals == {}                               # the do-file's locals are gone


def test_version_prefix_and_command():
    out, buf = capture_output()
    s = Session(out=out)
    assert run_line(s, "use hsb") == 0
    assert run_line(s, "version 11: xtmixed mathach || id:, nolog") == 0
    assert "Mixed-effects REML regression" in buf.getvalue()
    assert s.e.macros["cmd"] == "xtmixed"
    assert run_line(s, "version 99") == 9
    assert "this is version 18.0 of Stata; it cannot run version 99.0 programs\nr(9);" in \
        buf.getvalue()
    assert run_line(s, "version 12") == 0 and s.version == "12.0"


# -- start-up: the language imports nothing heavy -----------------------------------------------
def test_macros_loops_and_programs_load_neither_pandas_nor_scipy():
    code = ("from hlmshell.shell.dispatcher import run_line\n"
            "from hlmshell.shell.dofile import run_commands\n"
            "from hlmshell.lang.lines import script_lines\n"
            "from hlmshell.shell.session import Session\n"
            "from hlmshell.shell.output import capture_output\n"
            "out, buf = capture_output()\n"
            "s = Session(out=out)\n"
            "text = '''local n 3\nforvalues i = 1/`n' {\n  local s = `i' + 0`s'\n}\n"
            "program define twice, rclass\n  args v\n  return scalar t = 2*`v'\nend\n"
            "twice `s'\ndi r(t) \" `: word count a b'\"\n'''\n"
            "assert run_commands(s, script_lines(text), echo=False) == 0, buf.getvalue()\n"
            "assert buf.getvalue() == '12 2\\n', buf.getvalue()\n"
            "import sys\n"
            "print(' '.join(sorted(m for m in sys.modules if m.split('.')[0] in "
            "('pandas', 'scipy'))))")
    proc = subprocess.run([sys.executable, "-c", code], check=False, capture_output=True, text=True,
                          timeout=120, cwd=REPO)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.split() == []


def test_display_directives_and_pause(shell):
    text = shell('di in red "a" _n(2) as result "b" _skip(3) "c" _col(10) as error %5.1f 2.26 '
                 '_char(33)\npause\ndi "x" _continue\ndi "y"\n')
    assert printed(text) == ["a", "b   c      2.3!", 'x. di "y"', "y"]   # _continue: line open


def test_the_prompt_continues_a_block_until_its_brace_closes(tmp_path, monkeypatch):
    from prompt_toolkit.input import create_pipe_input
    from prompt_toolkit.output import DummyOutput

    from hlmshell.shell.repl import run_repl

    monkeypatch.setenv("HLMSHELL_HISTORY", str(tmp_path / "history"))
    out, buf = capture_output()
    session = Session(out=out, cwd=tmp_path)
    with create_pipe_input() as keys:
        keys.send_text("log using typed\r")
        keys.send_text("forvalues i = 1/2 {\r    di `i' * 7\r}\r")
        keys.send_text("program define hi\r    di \"hi \" `\"`0'\"'\rend\r")
        keys.send_text("hi there\r")
        keys.send_text("log close\r")
        keys.send_text("exit\r")
        assert run_repl(session, banner=False, input=keys, output=DummyOutput()) == 0
    assert [ln for ln in buf.getvalue().splitlines() if ln in ("7", "14", "hi there")] == \
        ["7", "14", "hi there"]
    log = (tmp_path / "typed.log").read_text()
    assert ". forvalues i = 1/2 {\n  2.     di `i' * 7\n  3. }\n7\n14\n" in log
    assert ". program define hi\n  1.     di \"hi \" `\"`0'\"'\n  2. end\n. hi there\nhi there\n" \
        in log
    history = (tmp_path / "history").read_text()
    assert "+forvalues i = 1/2 {\n+    di `i' * 7\n+}\n" in history     # one entry, three lines


def test_a_long_continued_loop_echoes_as_statas_log(shell):
    """A Stata 17 log of this loop at ``set linesize 43`` (the continued header keeps its tab as
    eight blanks, lines wrap onto ``> `` lines at the line size)."""
    text = shell("set linesize 43\n"
                 "foreach ///\n"
                 "\tvery_long_variable_name of numlist 1/5 {\n"
                 "\tdisplay \"This is the number in the sequence: `very_long_variable_name'\"\n"
                 "}\n")
    stata = (". foreach ///\n"
             ">         very_long_variable_name of numlis\n"
             "> t 1/5 {\n"
             "  2.         display \"This is the number in\n"
             ">  the sequence: `very_long_variable_name'\"\n"
             "  3. }\n" +
             "".join(f"This is the number in the sequence: {k}\n" for k in range(1, 6)))
    assert stata in text
