"""Programs ([P] program, args, syntax, marksample, return): defining and running them as
commands, parsing their arguments with the commands' own declaration language, returning r(), e()
and s(), temporary objects, ``exit``/``error``/``assert``, and Stata's errors for each."""

from __future__ import annotations

import re

import numpy as np
import pandas as pd
import pytest
from scipy import stats
from runner import runner

DATA = pd.DataFrame({"g": [1.0, 1.0, 1.0, 2.0, 2.0], "x": [1.0, 2.0, np.nan, 4.0, 8.0],
                     "y": [3.0, 1.0, 4.0, 1.0, 5.0], "s": ["a", "b", "c", "d", "e"]})


@pytest.fixture
def shell(tmp_path):
    """``run(text, rc)``: run ``text`` (any number of lines) as a do-file; the lines it printed,
    without the echo (and without the final ``r(#);`` when it fails); ``run.text()``: all of it."""
    run_one = runner(data=DATA.copy(), cwd=tmp_path)
    printed = [""]

    def run(text: str, rc: int = 0) -> list[str]:
        (tmp_path / "p.do").write_text(text)
        printed[0] = run_one("do p", rc)
        return [ln for ln in printed[0].splitlines() if ln and ln != "end of do-file"
                and not re.match(r"^(\. |\s*\d+\. |> )", ln)][:-1 if rc else None]

    run.session = run_one.session       # type: ignore[attr-defined]
    run.text = lambda: printed[0]       # type: ignore[attr-defined]
    return run


SHOWARGS = """program define showargs
    di `"0=[`0'] 1=[`1'] 2=[`2'] 3=[`3'] *=[`*']"'
    args first second
    di "first=`first' second=`second'"
end
"""


def test_positional_arguments_and_args(shell):
    out = shell(SHOWARGS + 'showargs a "b c" d\nshowargs\n')
    assert out == ['0=[a "b c" d] 1=[a] 2=[b c] 3=[d] *=[a "b c" d]', "first=a second=b c",
                   "0=[] 1=[] 2=[] 3=[] *=[]", "first= second="]
    assert shell.session.locals == {}            # the program's locals stayed in the program


SYNTAX = """capture program drop opts
program define opts
    syntax [varlist(numeric default=none)] [if] [in] [, Detail noLOg Level(cilevel) ///
        Count(integer 3) Scale(real 0.5) Label(string) BY(varname) Keep(numlist) *]
    foreach m in varlist if in detail log level count scale label by keep options {
        di "`m'=[``m'']"
    }
end
"""


def test_syntax_leaves_statas_locals(shell):
    out = shell(SYNTAX + 'opts x y if g == 1 in 1/4, det nolog l(90) c(7) label("a b") by(g) '
                         "k(1/3) other(1) more\n")
    assert out == ["varlist=[x y]", "if=[if g == 1]", "in=[in 1/4]", "detail=[detail]",
                   "log=[nolog]", "level=[90]", "count=[7]", "scale=[.5]", "label=[a b]",
                   "by=[g]", "keep=[1 2 3]", "options=[other(1) more]"]
    out = shell(SYNTAX + "opts\n")
    assert out == ["varlist=[]", "if=[]", "in=[]", "detail=[]", "log=[]", "level=[95]",
                   "count=[3]", "scale=[.5]", "label=[]", "by=[]", "keep=[]", "options=[]"]


def test_syntax_refuses_what_the_declaration_does_not_allow(shell):
    prog = "capture program drop need\nprogram define need\n    syntax varlist(numeric min=2) [if/], Gen(name)\n" \
           "    di \"[`varlist'] [`gen'] [`if']\"\nend\n"
    assert shell(prog + "need x y if g > 1, gen(z)\n") == ["[x y] [z] [g > 1]"]
    for call, rc, message in (("need x, gen(z)", 102, "too few variables specified"),
                              ("need x y", 198, "option gen() required"),
                              ("need x y, gen(z) nosuch", 198, "option nosuch not allowed"),
                              ("need x nosuch, gen(z)", 111, "variable nosuch not found"),
                              ("need x s, gen(z)", 109, "string variables not allowed in varlist;")):
        out = shell(prog + call + "\n", rc=rc)
        assert out[0] == message and out[-1] == f"r({rc});", call
    out = shell("program define bad\n    syntax blah(x)\nend\nbad\n", rc=197)
    assert out[:2] == ["invalid syntax", "r(197);"]


RCLASS = """program define meanof, rclass
    syntax varname [if] [in]
    marksample touse
    quietly summarize `varlist' if `touse'
    return scalar mean = r(mean)
    return scalar N = r(N)
    return local var "`varlist'"
    quietly summarize y
end
"""


def test_an_rclass_program_returns_r(shell):
    out = shell(RCLASS + "meanof x if g == 1\ndi r(mean) \" \" r(N) \" `r(var)'\"\n"
                         "return list\n")
    x = DATA["x"]
    mean = x[(DATA.g == 1) & x.notna()].mean()
    assert out[0] == f"{mean:g} {int(((DATA.g == 1) & x.notna()).sum())} x"
    assert "               r(mean) =  1.5" in out and "                r(var) : \"x\"" in out
    assert not any("sum_w" in ln for ln in out)          # the inner summarize's r() is gone
    assert not any(v.startswith("__") for v in shell.session.variables)   # touse dropped


def test_results_only_from_the_class_declared(shell):
    out = shell("program define plain\n    return scalar a = 1\nend\nplain\n", rc=151)
    assert out[:2] == ["non r-class program may not set r()", "r(151);"]
    out = shell("program define r2, rclass\n    ereturn local a b\nend\nr2\n", rc=152)
    assert out[0] == "non e-class program may not set e()"
    out = shell("program define s1, sclass\n    sreturn local kind \"fixed\"\nend\n"
                "s1\ndi \"`s(kind)'\"\n")
    assert out == ["fixed"]


def test_an_eclass_program_posts_b_and_v(shell):
    prog = ("program define post2, eclass\n"
            "    matrix b = (1, 2)\n"
            "    matrix colnames b = x _cons\n"
            "    matrix V = (4, 1 \\ 1, 9)\n"
            "    ereturn post b V, obs(5) depname(y)\n"
            "    ereturn local cmd \"post2\"\n"
            "    ereturn scalar extra = 42\n"
            "end\n"
            "post2\n"
            "ereturn display\n"
            "lincom x + _cons\n")
    out = shell(prog)
    e = shell.session.e
    assert (e.macros["cmd"], e.macros["depvar"], e.scalars["N"], e.scalars["extra"]) == \
        ("post2", "y", 5.0, 42.0)
    np.testing.assert_array_equal(e.matrices["V"].values, [[4.0, 1.0], [1.0, 9.0]])
    assert "b" not in shell.session.matrices           # posting moves the matrices
    table = next(ln for ln in out if ln.lstrip().startswith("x |")).split()
    z = 1 / 2
    assert table[2:] == ["1", "2", f"{z:.2f}", f"{2 * stats.norm.sf(z):.3f}",
                         f"{1 - stats.norm.ppf(0.975) * 2:.6f}", f"{1 + stats.norm.ppf(0.975) * 2:.6f}"]
    row = next(ln for ln in out if ln.lstrip().startswith("(1)"))
    assert row.split()[2:4] == ["3", f"{np.sqrt(4 + 9 + 2):.7g}"]   # b1+b2, sqrt(v11+v22+2v12)


def test_marksample_markout_and_temporary_objects(shell):
    prog = ("program define marks\n"
            "    syntax varlist [if]\n"
            "    marksample touse\n"
            "    tempvar w\n"
            "    tempname sc\n"
            "    generate `w' = `touse' * 2\n"
            "    scalar `sc' = 1\n"
            "    quietly count if `touse'\n"
            "    di \"marked \" r(N)\n"
            "    markout `touse' y\n"
            "    quietly summarize `w'\n"
            "    di \"w sum \" r(sum)\n"
            "    global seen `touse' `w' `sc'\n"
            "end\n"
            "marks x if y > 1\n")
    out = shell(prog)
    keep = (DATA.x.notna()) & (DATA.y > 1)
    assert out == [f"marked {int(keep.sum())}", f"w sum {2 * int(keep.sum())}"]
    names = shell.session.globals["seen"].split()
    assert len(names) == 3 and all(n.startswith("__") for n in names)
    assert not set(names) & (set(shell.session.variables) | set(shell.session.scalars))


def test_exit_error_and_assert_inside_programs(shell):
    prog = ("capture program drop stop\nprogram define stop\n    args code\n    di \"before\"\n    exit `code'\n"
            "    di \"after\"\nend\n")
    assert shell(prog + "stop 0\ndi \"went on\"\n") == ["before", "went on"]
    assert shell(prog + "stop 459\n", rc=459) == ["before", "r(459);"]
    assert shell("error 2000\n", rc=2000) == ["no observations", "r(2000);"]
    assert shell("capture error 0\ndi _rc\n") == ["0"]
    out = shell("assert y > 1\n", rc=9)
    assert out[:3] == [f"{int((DATA.y <= 1).sum())} contradictions in 5 observations",
                       "assertion is false", "r(9);"]
    assert shell("assert y > 1 in 1, rc0\nassert y < 10\n") == []
    assert shell("assert y > 2, fast\n", rc=9)[:1] == ["assertion is false"]


def test_defining_and_dropping_programs(shell):
    base = "program define once\n    di 1\nend\n"
    shell(base)
    out = shell(base, rc=110)
    assert out[:2] == ["program once already defined", "r(110);"]
    assert shell("program drop nosuch\n", rc=111)[:2] == ["program nosuch not found", "r(111);"]
    assert shell("capture program drop nosuch\ncapture program drop once\n" + base +
                 "once\n") == ["1"]
    assert shell("program define summarize\n    di 1\nend\n", rc=110)[0] == \
        "program summarize already defined"
    shell("program list once\n")
    assert shell.text().endswith(". program list once\n\nonce:\n  1.  di 1\n\n"
                                            "end of do-file\n")
    shell("program dir\n")
    assert ". program dir\n             5  once\n  ------------\n             5\n" in shell.text()
    assert shell("program drop _all\nonce\n", rc=199)[0] == "command once is unrecognized"
    shell(base)
    shell("clear all\n")
    assert shell.session.programs == {}


def test_programs_and_by(shell):
    plain = "program define count1\n    quietly count\n    di r(N)\nend\n"
    out = shell(plain + "by g: count1\n", rc=190)
    assert out[:2] == ["count1 may not be combined with by", "r(190);"]
    byable = ("program define countby, byable(recall)\n    syntax [varlist] [if]\n"
              "    marksample touse\n    quietly count if `touse'\n    di \"n=\" r(N)\nend\n"
              "by g: countby x\n")
    out = [ln for ln in shell(byable) if ln.startswith("n=")]
    counts = DATA[DATA.x.notna()].groupby("g").size().tolist()
    assert out == [f"n={c}" for c in counts]


def test_byable_onecall_program_runs_once_with_the_by_variables(shell):
    prog = ("program define spread, byable(onecall) rclass\n"
            "    syntax varname\n"
            "    di \"called with [`_byvars'] [`_byrc0']\"\n"
            "    tempvar m\n"
            "    if \"`_byvars'\" != \"\" quietly egen `m' = mean(`varlist'), by(`_byvars')\n"
            "    else quietly egen `m' = mean(`varlist')\n"
            "    quietly summarize `m'\n"
            "    return scalar spread = r(max) - r(min)\n"
            "end\n")
    means = DATA.groupby("g")["x"].mean()
    out = shell(prog + "spread x\ndi r(spread)\nby g: spread x\ndi r(spread)\n"
                "by g, rc0: spread x\n")
    assert out[:2] == ["called with [] []", "0"]
    assert out[2] == "called with [g] []"                   # once, not once per group
    assert float(out[3]) == pytest.approx(means.max() - means.min(), rel=1e-7)
    assert out[4:] == ["called with [g] [, rc0]"]
    assert shell("program define bad, byable(twice)\nend\n", rc=198) == \
        ["option byable() incorrectly specified", "r(198);"]


def test_recursion_and_programs_calling_programs(shell):
    prog = ("program define fact, rclass\n"
            "    args n\n"
            "    if `n' <= 1 {\n        return scalar f = 1\n        exit\n    }\n"
            "    fact `=`n'-1'\n"
            "    return scalar f = `n' * r(f)\n"
            "end\n"
            "fact 10\ndi r(f)\n")
    assert shell(prog) == ["3628800"]


def test_levelsof_feeds_foreach_and_confirm_checks(shell):
    out = shell("levelsof g, local(groups)\n"
                "foreach k of local groups {\n    quietly summarize y if g == `k'\n"
                "    di \"g`k' \" r(mean)\n}\n"
                "levelsof s if g == 1\n"
                "levelsof x, missing sep(,)\n"
                "confirm numeric variable x y\n"
                "capture confirm string variable x\n"
                "di _rc\n"
                "confirm integer number 12\n")
    means = DATA.groupby("g")["y"].mean()
    assert out == ["1 2"] + [f"g{int(k)} {m:.8g}" for k, m in means.items()] + \
        ['`"a"\' `"b"\' `"c"\'', "1,2,4,8,.", "7"]
    assert shell.session.r.scalars == {"N": 5.0, "r": 5.0}
    assert shell("confirm variable nosuch\n", rc=111)[0] == "variable nosuch not found"
    assert shell("confirm number 1a\n", rc=7)[0] == "1a found where number expected"
    assert shell("confirm file nosuch.dta\n", rc=601)[0] == "file nosuch.dta not found"
