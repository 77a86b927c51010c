"""The session commands (do, run, exit, log, help, cd, pwd, set, display, scalar, matrix, return)
declared once with Stata's syntax: what they print, the options they refuse, ``by``, ``help`` built
from the declarations, and a start-up that does not load pandas or scipy."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from hlmshell.lang.declaration import parse_declaration
from hlmshell.shell.dispatcher import run_line
from hlmshell.shell.output import capture_output
from hlmshell.shell.session import Session

REPO = Path(__file__).resolve().parent.parent


@pytest.fixture
def shell(tmp_path):
    """A session in ``tmp_path`` with two by-groups; ``run(line, rc)`` returns what it printed."""
    out, buf = capture_output()
    s = Session(out=out, cwd=tmp_path)
    s.set_data(pd.DataFrame({"g": [1.0, 1.0, 2.0], "x": [5.0, 6.0, 7.0]}), changed=False)

    def run(line: str, rc: int = 0) -> str:
        buf.seek(0)
        buf.truncate()
        got = run_line(s, line)
        assert got == rc, f"{line!r}: rc {got}, printed {buf.getvalue()!r}"
        return buf.getvalue()

    run.session = s         # type: ignore[attr-defined]
    yield run
    s.out.close_logs()


# -- every command: undeclared options are refused, by is refused (display: runs per group) ------
REFUSED_OPTION = [
    "do a, nosuch", "run a, nosuch", "exit, nosuch", "log using a, nosuch", "log close, nosuch",
    "log query, nosuch", "log, nosuch", "help summarize, nosuch", "cd ., nosuch", "pwd, nosuch",
    "set seed 1, nosuch", "set obs 5, nosuch", "set more off, nosuch", "scalar x = 1, nosuch",
    "scalar list, nosuch", "scalar drop x, nosuch", "matrix list A, nosuch", "matrix dir, nosuch",
    "matrix drop A, nosuch", "return list, nosuch", "return clear, nosuch",
]


@pytest.mark.parametrize("line", REFUSED_OPTION)
def test_an_undeclared_option_is_refused(shell, line):
    assert shell(line, rc=198) == "option nosuch not allowed\nr(198);\n"


def test_options_that_were_accepted_and_ignored_are_refused(shell):
    assert shell("log using a, smcl", rc=198) == "option smcl not allowed\nr(198);\n"
    assert not (Path(shell.session.cwd) / "a.log").exists()
    assert shell("set maxvar 100", rc=199) == "set maxvar not allowed\nr(199);\n"
    assert shell("set more on", rc=198) == \
        "set more on not available; output never pauses\nr(198);\n"


NOT_BYABLE = {
    "do a": "do", "run a": "run", "exit": "exit", "log using a": "log using",
    "log close": "log close", "log query": "log query", "log": "log", "help": "help", "cd .": "cd", "pwd": "pwd",
    "set seed 1": "set seed", "set obs 5": "set obs", "set more off": "set more",
    "scalar x = 1": "scalar", "scalar define x = 1": "scalar define", "scalar list": "scalar list",
    "scalar dir": "scalar dir", "scalar drop x": "scalar drop", "matrix A = I(2)": "matrix",
    "matrix list A": "matrix list", "matrix dir": "matrix dir", "matrix drop A": "matrix drop",
    "matrix rownames A = a b": "matrix rownames", "return list": "return list",
    "return clear": "return clear",
}


@pytest.mark.parametrize("line", sorted(NOT_BYABLE))
def test_by_is_refused(shell, line):
    expected = f"{NOT_BYABLE[line]} may not be combined with by\nr(190);\n"
    assert shell(f"by g: {line}", rc=190) == expected


def test_display_runs_once_per_by_group(shell):
    rule = "-" * 79
    text = shell('by g: display "x=" x " N=" _N')
    assert text == f"\n{rule}\n-> g = 1\nx=5 N=2\n\n{rule}\n-> g = 2\nx=7 N=1\n"
    assert shell("by g: di _n") == f"\n{rule}\n-> g = 1\n\n\n\n{rule}\n-> g = 2\n\n\n"
    assert shell("di x _N") == "53\n"                # outside by: the first observation, all of _N


# -- display ----------------------------------------------------------------------------------
def test_display_keeps_its_own_language(shell):
    assert shell('di "a", "b"') == "a b\n"            # a comma is a blank, not options
    assert shell('di "a",, "b"') == "ab\n"
    assert shell("di 1, nosuch", rc=111) == "nosuch not found\nr(111);\n"
    assert shell('di "in" _col(5) "if"') == "in  if\n"
    assert shell("di %5.2f 1/3") == " 0.33\n"
    assert shell("display") == "\n"
    assert shell("di chi2(1, 3.84)") == ".94995648\n"


# -- scalar -----------------------------------------------------------------------------------
def test_scalar_define_list_drop(shell):
    shell("scalar a = 2*3")
    shell('sca define b = "text"')
    assert shell.session.scalars == {"a": 6.0, "b": "text"}
    assert shell("scalar list") == "             a = 6\n             b = text\n"
    assert shell("sca li b") == "             b = text\n"
    assert shell("scalar dir a") == "             a = 6\n"
    assert shell("scalar") == "             a = 6\n             b = text\n"
    assert shell("scalar list c", rc=111) == "scalar c not found\nr(111);\n"
    shell("scalar drop a")
    assert list(shell.session.scalars) == ["b"]
    assert shell("scalar drop a", rc=111) == "scalar a not found\nr(111);\n"
    assert shell("scalar drop", rc=198) == "invalid syntax\nr(198);\n"
    assert shell("scalar _all = 1", rc=198) == "_all invalid name\nr(198);\n"
    assert shell("scalar x", rc=198) == "invalid syntax\nr(198);\n"
    shell("scalar drop _all")
    assert shell.session.scalars == {}


# -- matrix -----------------------------------------------------------------------------------
def test_matrix_define_list_rename_drop(shell):
    shell("matrix A = (1,2\\3,4)")
    assert shell("mat l A") == "\nA[2,2]\n    c1  c2\nr1   1   2\nr2   3   4\n"
    assert shell("mat list A, nohea") == "\n    c1  c2\nr1   1   2\nr2   3   4\n"
    assert shell("mat list A, format(%5.1f)") == \
        "\nA[2,2]\n     c1   c2\nr1  1.0  2.0\nr2  3.0  4.0\n"
    shell("mat def B = A'")
    shell("mat input C = (1,2)")
    shell("mat rown A = a b")
    shell("mat coln A = x y")
    assert shell("matrix list A") == "\nA[2,2]\n   x  y\na  1  2\nb  3  4\n"
    assert shell("matrix dir").split() == ["A[2,2]", "B[2,2]", "C[1,2]"]
    assert shell("matrix drop B nosuch", rc=111) == "matrix nosuch not found\nr(111);\n"
    shell("matrix drop B")
    assert list(shell.session.matrices) == ["A", "C"]
    assert shell("matrix", rc=198) == "invalid syntax\nr(198);\n"
    assert shell("matrix list", rc=198) == "invalid syntax\nr(198);\n"
    assert shell("matrix dir A", rc=198) == "invalid syntax\nr(198);\n"
    shell("matrix drop _all")
    assert shell.session.matrices == {}


# -- set, return --------------------------------------------------------------------------------
def test_set_seed_obs_more(shell):
    shell("set seed 12345")
    first = shell.session.rng.random()
    shell("set seed 12345")
    assert shell.session.rng.random() == first
    assert shell("set seed -1", rc=198) == "seed must be a nonnegative integer\nr(198);\n"
    assert shell("set seed abc", rc=198) == "abc invalid seed\nr(198);\n"
    assert shell("set seed 1 2", rc=198) == "invalid syntax\nr(198);\n"
    shell("set obs 5")
    assert shell.session.nobs == 5 and np.isnan(shell.session.data["x"].iloc[4])
    assert shell("set obs 2", rc=198) == "observations must be >= 5\nr(198);\n"
    assert shell("set more off") == ""
    assert shell("set", rc=198) == "invalid syntax\nr(198);\n"


def test_return_list_and_clear(shell):
    shell("summarize x")
    listing = shell("return list")
    assert listing.splitlines()[:4] == ["", "scalars:", "                  r(N) =  3",
                                        "              r(sum_w) =  3"]
    assert "               r(mean) =  6\n" in listing
    assert shell("ret li") == listing
    shell("return clear")
    assert shell("return list") == ""
    assert shell("return foo", rc=198) == "return foo is not supported\nr(198);\n"
    assert shell("return", rc=198) == "invalid syntax\nr(198);\n"


# -- do, run, exit, cd, pwd, log ------------------------------------------------------------------
def test_do_run_and_their_errors(shell, tmp_path):
    (tmp_path / "a.do").write_text("di 1+1\n")
    assert shell("do a") == ". di 1+1\n2\n\nend of do-file\n"
    assert shell("run a") == ""
    assert shell("do", rc=198) == "invalid file specification\nr(198);\n"
    (tmp_path / "args.do").write_text("di `\"`1'|`2'|`0'\"'\n")       # `1' `2' `0': the arguments
    assert shell('do args first "second one"') == \
        ". di `\"`1'|`2'|`0'\"'\nfirst|second one|first \"second one\"\n\nend of do-file\n"
    assert shell("do nosuch", rc=601) == "file nosuch.do not found\nr(601);\n"
    (tmp_path / "b.do").write_text("nosuchcmd\ndi 3\n")
    assert shell("do b, nostop", rc=199).endswith(". di 3\n3\n\nend of do-file\n\nr(199);\n")
    (tmp_path / "my file.do").write_text("di 4\n")
    assert shell('do "my file.do"') == ". di 4\n4\n\nend of do-file\n"


def test_exit_stata_leaves_from_inside_a_do_file(tmp_path):
    (tmp_path / "a.do").write_text("di 1\nexit\ndi 2\n")      # exit: the end of this do-file
    (tmp_path / "b.do").write_text("di 1\nexit 6, clear STATA\ndi 2\n")
    (tmp_path / "main.do").write_text("do a\ndo b\ndi 3\n")
    proc = subprocess.run([sys.executable, "-m", "hlmshell", "main.do"], cwd=tmp_path,
                          check=False, capture_output=True, text=True, timeout=60, env=_env())
    assert proc.returncode == 6
    assert ". di 2" not in proc.stdout and ". di 3" not in proc.stdout
    assert proc.stdout.count(". di 1\n1\n") == 2


def test_cd_and_pwd(shell, tmp_path):
    (tmp_path / "sub dir").mkdir()
    try:
        assert shell('cd "sub dir"') == f"{(tmp_path / 'sub dir').resolve()}\n"
        assert shell("pwd") == f"{(tmp_path / 'sub dir').resolve()}\n"
        assert shell("cd nosuch", rc=170) == "unable to change to nosuch\nr(170);\n"
        assert shell("pwd x", rc=198) == "invalid syntax\nr(198);\n"
    finally:
        os.chdir(REPO)


def test_log_using_close_query(shell, tmp_path):
    assert shell("log") == "no log file open\n"
    text = shell("log using first, text name(one)")
    assert text.startswith(f"      name:  one\n       log:  {tmp_path / 'first.log'}\n"
                           "  log type:  text\n")
    assert shell("log using first, name(two)", rc=602) == "file first.log already exists\nr(602);\n"
    assert shell("log using first, append replace name(two)", rc=198) == \
        "options append and replace may not be combined\nr(198);\n"
    assert shell("log using first, name(1x)", rc=198) == "1x invalid name\nr(198);\n"
    assert "status:  on" in shell("log query one")
    assert shell("log query two", rc=111) == "log two not found\nr(111);\n"
    assert shell("log c", rc=606) == "no log file open\nr(606);\n"   # no unnamed log open
    assert "closed on" in shell("log close one")
    assert shell("log foo", rc=198) == "invalid syntax\nr(198);\n"
    assert shell("log close _all") == ""


# -- help ----------------------------------------------------------------------------------------
def test_help_shows_the_declared_syntax_and_options(shell):
    page = shell("help su")
    assert page.startswith("help su[mmarize]\n\nSyntax\n\n"
                           "    summarize [varlist] [if] [in] [, detail meanonly separator(#)]\n")
    assert "Options\n\n    detail (d)\n    meanonly (mean)\n    separator(#) (sep)\n" in page
    page = shell("help log")
    assert "    log using filename [, append replace text name(name)]\n" \
           "    log close [logname|_all]\n    log query [logname|_all]\n" in page
    assert "Subcommands\n\n    using\n    close (c)\n    query\n" in page
    assert "    log using\n        append (a)\n        replace (r)\n" in page
    page = shell("help ret")
    assert "Syntax\n\n    return list\n    return clear\n" in page      # no bare "return" line
    page = shell("help mat list")
    assert page.startswith("help mat[rix] l[ist]\n\nSyntax\n\n"
                           "    matrix list matname [, format(...) noheader]\n")
    assert "    noheader (nohea)\n" in page
    assert shell("help exit").startswith("help exit\n\nSyntax\n\n    exit [#] [, clear stata]\n")
    assert shell("help do").startswith(
        "help do\n\nSyntax\n\n    do filename [arguments] [, nostop]\n")
    page = shell("help set")
    assert "\n    set seed #\n    set obs #\n    set more off\n" in page
    assert "\n    set scheme name\n    set graphics on|off\n" in page
    assert shell("help di").startswith("help di[splay]\n\nSyntax\n\n    display [directives]\n")
    assert "by varlist [, sort rc0]: command" in shell("help bys")
    assert shell("help mat nosuch", rc=111).startswith("help for mat nosuch not found\n")
    assert shell("help a b c", rc=198) == "invalid syntax\nr(198);\n"


def test_help_of_a_declared_command_with_required_and_passed_options():
    from hlmshell.commands.session.help import option_line

    decl = parse_declaration("varlist, Generate(name) [noLOg Level(cilevel) *]")
    assert [option_line(o) for o in decl.options] == [
        "generate(name) (g)  required", "nolog (nolo)", "level(#) (l)"]


# -- the declaration language's additions used here -----------------------------------------------
def test_declaration_id_filename_arguments_and_required_codes():
    assert parse_declaration("[anything(id=#)] [, clear]").usage() == "[#] [, clear]"
    decl = parse_declaration("filename(.do) [anything(id=arguments)] [, nostop]")
    assert decl.usage() == "filename [arguments] [, nostop]"
    args = decl.parse('"my file.do" a b, nostop')
    assert (args.filename, args.anything, args.nostop) == ("my file.do", "a b", True)
    assert decl.parse("f").anything == ""
    with pytest.raises(Exception) as err:
        decl.parse("")
    assert (str(err.value), err.value.rc) == ("invalid file specification\nr(198);", 198)
    with pytest.raises(Exception) as err:
        parse_declaration("namelist").parse("")
    assert err.value.rc == 198
    with pytest.raises(Exception) as err:
        parse_declaration("varlist").parse("", ["a"])
    assert (err.value.message, err.value.rc) == ("varlist required", 100)


# -- start-up -------------------------------------------------------------------------------------
def _env() -> dict[str, str]:
    path = os.pathsep.join([str(REPO), os.environ.get("PYTHONPATH", "")])
    return dict(os.environ, PYTHONPATH=path)


def _modules_after(code: str) -> set[str]:
    probe = code + "\nimport sys\nprint(' '.join(sorted(m for m in sys.modules " \
                   "if m.split('.')[0] in ('pandas', 'scipy', 'matplotlib'))))"
    proc = subprocess.run([sys.executable, "-c", probe], check=False, capture_output=True,
                          text=True, timeout=120, cwd=REPO, env=_env())
    assert proc.returncode == 0, proc.stderr
    return set(proc.stdout.split())


def test_the_session_commands_import_neither_pandas_nor_scipy():
    loaded = _modules_after(
        "import hlmshell.lang.expr, hlmshell.shell.dispatcher, hlmshell.shell.cli\n"
        "for m in ('display', 'help', 'log', 'matrix', 'returns', 'scalar', 'scripts', 'set'):\n"
        "    __import__('hlmshell.commands.session.' + m)")
    assert loaded == set()


def test_di_1_loads_neither_pandas_nor_scipy():
    loaded = _modules_after(
        "from hlmshell.shell.dispatcher import run_line\n"
        "from hlmshell.shell.session import Session\n"
        "from hlmshell.shell.output import capture_output\n"
        "out, buf = capture_output()\n"
        "assert run_line(Session(out=out), 'di 1') == 0 and buf.getvalue() == '1\\n'")
    assert loaded == set()
