"""The do-file language end to end: a do-file written as a Stata user writes it -- macros and macro
functions, loops over models collecting e(ll) in locals, a program with ``syntax`` and ``rclass``,
``while``/``if``/``continue``, ``capture``/``quietly``/``noisily`` blocks, ``assert``, ``error``,
temporary variables and files, macro lists, formats, ``#delimit`` and a log -- with every figure it
prints checked against numbers computed here (numpy on the same data) or R's lme4 (the fixture of
``tests/test_mixed_lme4.py``).
"""

from __future__ import annotations

import datetime as dt
import json
import math
import re
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from scipy import stats

from hlmshell.shell.dispatcher import run_line
from hlmshell.shell.output import capture_output
from hlmshell.shell.session import Session

ROOT = Path(__file__).resolve().parents[1]
LME4 = {m["name"]: m for m in json.loads((ROOT / "tests" / "fixtures" / "lme4_hsb.json")
                                        .read_text())["models"]}
# the models of the do-file's loop, in order, as lme4 fitted them
MODELS = ["hsb_null_ml", "hsb_ses_ml", "hsb_ses_rslope_ml", "hsb_ses_sector_inter_ml"]

DO_FILE = r"""* Math achievement in the High School and Beyond schools, written as a Stata user writes it
version 17
set more off
clear all
log using analysis.smcl, replace
use hsb
label variable mathach "Math achievement"

// -- macros and macro functions ------------------------------------------------------------
local depvar mathach
global covariates "ses sector"
local ncov : word count $covariates
local second : word 2 of $covariates
local label : variable label `depvar'
local type : type `depvar'
display "`label' (`type') on `ncov' covariates; the second is `second'"

// -- OLS by hand: one model per covariate, coefficients collected in locals ------------------
foreach v of varlist ses meanses {
    quietly regress `depvar' `v'
    local b_`v' = _b[`v']
    local r2_`v' = e(r2)
    display "ols `v':" _col(14) "b =" %9.5f `b_`v'' _skip(2) "r2 =" %8.5f `r2_`v''
}

// -- multilevel models in a loop, e(ll) kept in locals ---------------------------------------
local m1 "|| id:"
local m2 "ses || id:"
local m3 "ses || id: ses, cov(unstructured)"
local m4 "c.ses##i.sector || id: ses, cov(unstructured)"
forvalues k = 1/4 {
    quietly mixed `depvar' `m`k''
    local ll`k' = e(ll)
    local df`k' = e(k)
}
forvalues k = 1/4 {
    display "model `k':" _col(12) "ll =" %12.3f `ll`k''
}
forvalues k = 2/4 {
    local j = `k' - 1
    local lr = 2*(`ll`k'' - `ll`j'')
    display "lr `j' vs `k':" _col(14) %9.3f `lr' _col(26) "p =" %7.4f chi2tail(`df`k''-`df`j'', `lr')
}

// -- a program with syntax and rclass -------------------------------------------------------
capture program drop gapby
program define gapby, rclass
    version 17
    syntax varname(numeric) [if] [in], BY(varname) [Level(cilevel) Detail]
    marksample touse
    markout `touse' `by'
    tempname top
    quietly summarize `varlist' if `touse' & `by' == 1
    scalar `top' = r(mean)
    local n1 = r(N)
    quietly summarize `varlist' if `touse' & `by' == 0
    return scalar gap = `top' - r(mean)
    return scalar N = `n1' + r(N)
    return local by "`by'"
    return local level "`level'"
    if "`detail'" != "" {
        display as text "gap in `varlist' by `by'"
    }
end
gapby mathach if minority == 0, by(sector) level(90) detail
display "gap =" %9.4f r(gap) _col(20) "N = " r(N) _col(32) "by `r(by)' at `r(level)'"
gapby ses, by(female)
local gap_ses = r(gap)
display "ses gap by female =" %9.5f `gap_ses'

// -- while, if / else if / else, continue ----------------------------------------------------
local i 0
local sum 0
while `i' < 10 {
    local ++i
    if mod(`i', 2) == 0 {
        continue
    }
    local sum = `sum' + `i'
}
display "odd sum = `sum'"
local kept
forvalues k = 1/10 {
    if `k' > 4 {
        continue, break
    }
    local kept `kept' `k'
}
display "kept:`kept'"
quietly summarize ses if sector == 1
if r(mean) > 0.1 {
    display "catholic ses high"
}
else if r(mean) > 0 {
    display "catholic ses positive"
}
else {
    display "catholic ses not positive"
}

// -- capture, quietly and noisily blocks, assert, error ------------------------------------
capture noisily regress mathach nosuchvar
display "rc = " _rc
capture {
    summarize mathach
    assert mathach > 0
}
display "assert rc = " _rc
assert !missing(mathach, ses)
capture error 2000
display "error rc = " _rc
quietly {
    summarize mathach
    noisily display "mean mathach " %9.5f r(mean) " in `r(N)' students"
}
set varabbrev off
capture summarize mathac
display "varabbrev off rc = " _rc
set varabbrev on

// -- temporary variables and files -------------------------------------------------------------
tempvar centred
tempfile copy
quietly summarize ses
generate `centred' = ses - r(mean)
quietly summarize `centred'
display "centred sd =" %10.6f r(sd)
save "`copy'"
use "`copy'", clear
display "copy has `c(N)' observations"

// -- lists, formats, #delimit --------------------------------------------------------------
local a x y z
local b y w
local union : list a | b
local both : list a & b
local only : list a - b
local size : list sizeof union
local where : list posof "z" in a
display "union `union'; both `both'; only `only'; size `size'; z at `where'"
local pi : display %6.4f c(pi)
display "[`pi'] [" %-8s "left" "] [" %8s "right" "] " %td 21915
global scratch temporary
macro drop scratch
display "scratch is [$scratch]"
#delimit ;
display "one command "
    "over two lines" ;
#delimit cr
log close
exit
display "never shown"
"""


@pytest.fixture(scope="module")
def run(tmp_path_factory):
    """The do-file run once with ``do``: (what it printed, the session, its folder)."""
    folder = tmp_path_factory.mktemp("language")
    (folder / "analysis.do").write_text(DO_FILE)
    out, buf = capture_output()
    session = Session(out=out, cwd=folder)
    rc = run_line(session, "do analysis")
    session.out.close_logs()
    assert rc == 0, buf.getvalue()
    return buf.getvalue(), session, folder


@pytest.fixture(scope="module")
def hsb():
    return pd.read_stata(ROOT / "data" / "hsb.dta")


def output_lines(text: str) -> list[str]:
    """What the commands printed: the echo (``. cmd``, `` 2. body``, ``> more``) left out."""
    return [ln for ln in text.splitlines()
            if not re.match(r"^(\. |\s*\d+\. |> )", ln) and ln.strip()]


def printed(text: str, start: str) -> str:
    found = [ln for ln in output_lines(text) if ln.startswith(start)]
    assert len(found) == 1, (start, found)
    return found[0]


def numbers(line: str) -> list[float]:
    return [float(x) for x in re.findall(r"-?\d+\.\d+|-?\d+", line.split(":", 1)[-1])]


def test_macros_and_macro_functions(run):
    text, _, _ = run
    assert printed(text, "Math achievement") == \
        "Math achievement (double) on 2 covariates; the second is sector"


def test_ols_loop_collects_coefficients_in_locals(run, hsb):
    text, _, _ = run
    y = hsb["mathach"].to_numpy()
    for v in ("ses", "meanses"):
        X = np.column_stack([hsb[v].to_numpy(), np.ones(len(y))])
        beta, *_ = np.linalg.lstsq(X, y, rcond=None)
        r2 = 1 - np.sum((y - X @ beta) ** 2) / np.sum((y - y.mean()) ** 2)
        label = f"ols {v}:"
        assert printed(text, label) == f"{label:<13}b ={beta[0]:9.5f}  r2 ={r2:8.5f}"


def test_mixed_models_loop_keeps_e_ll_in_locals(run):
    text, _, _ = run
    lls = [LME4[name]["ll"] for name in MODELS]
    for k, ll in enumerate(lls, start=1):
        line = printed(text, f"model {k}:")
        head = f"{f'model {k}:':<11}ll ="                                # _col(12)
        assert line.startswith(head) and len(line) == len(head) + 12       # %12.3f
        assert abs(numbers(line)[-1] - ll) < 2e-3, (k, line, ll)     # lme4's ll at 1e-3
    for k in range(2, 5):
        lr = 2 * (lls[k - 1] - lls[k - 2])
        df = LME4[MODELS[k - 1]]["df"] - LME4[MODELS[k - 2]]["df"]
        line = printed(text, f"lr {k - 1} vs {k}:")
        got_lr, got_p = numbers(line.replace(f"lr {k - 1} vs {k}:", ":"))
        assert abs(got_lr - lr) < 5e-3 and abs(got_p - stats.chi2.sf(lr, df)) < 2e-4, line


def test_program_with_syntax_and_rclass(run, hsb):
    text, session, _ = run
    keep = hsb[hsb["minority"] == 0]
    gap = keep.loc[keep.sector == 1, "mathach"].mean() - keep.loc[keep.sector == 0, "mathach"].mean()
    assert printed(text, "gap in") == "gap in mathach by sector"         # the detail option
    assert printed(text, "gap =") == f"gap ={gap:9.4f}     N = {len(keep)}    by sector at 90"
    ses_gap = (hsb.loc[hsb.female == 1, "ses"].mean() - hsb.loc[hsb.female == 0, "ses"].mean())
    assert printed(text, "ses gap") == f"ses gap by female ={ses_gap:9.5f}"
    assert set(session.programs) == {"gapby"}
    assert "  1.     version 17\n  2.     syntax varname(numeric) [if] [in], BY(varname)" in text


def test_while_if_continue(run, hsb):
    text, _, _ = run
    assert printed(text, "odd sum") == f"odd sum = {sum(range(1, 11, 2))}"
    assert printed(text, "kept:") == "kept:1 2 3 4"
    mean = hsb.loc[hsb.sector == 1, "ses"].mean()
    branch = "high" if mean > 0.1 else "positive" if mean > 0 else "not positive"
    assert printed(text, "catholic") == f"catholic ses {branch}"
    assert sum(ln.startswith("catholic") for ln in output_lines(text)) == 1


def test_capture_quietly_noisily_assert_error(run, hsb):
    text, _, _ = run
    lines = output_lines(text)
    assert lines[lines.index("rc = 111") - 1] == "variable nosuchvar not found"   # no r(111);
    assert "r(111);" not in text
    assert printed(text, "assert rc") == f"assert rc = {9 if (hsb.mathach <= 0).any() else 0}"
    assert printed(text, "error rc") == "error rc = 2000"
    y = hsb["mathach"]
    assert printed(text, "mean mathach") == f"mean mathach {y.mean():9.5f} in {len(y)} students"
    assert not any(ln.lstrip().startswith("Variable |") for ln in lines)   # summarize was quiet
    assert printed(text, "varabbrev") == "varabbrev off rc = 111"


def test_temporary_variables_and_files(run, hsb):
    text, session, _ = run
    centred = hsb["ses"] - hsb["ses"].mean()
    assert printed(text, "centred sd") == f"centred sd ={centred.std(ddof=1):10.6f}"
    assert printed(text, "copy has") == f"copy has {len(hsb)} observations"
    # a tempfile has no .dta extension, so Stata says which format it holds
    saved = re.search(r"^file (\S+) saved as \.dta format$", text, re.M).group(1)
    assert "St" in Path(saved).name and not Path(saved).exists()        # erased when the do-file ended
    assert not any(v.startswith("__") for v in session.variables)         # the tempvar went with it
    assert session.nobs == len(hsb)


def test_lists_formats_delimit_and_exit(run):
    text, _, _ = run
    a, b = ["x", "y", "z"], ["y", "w"]
    union = a + [w for w in b if w not in a]
    assert printed(text, "union") == (f"union {' '.join(union)}; both y; only x z; "
                                       f"size {len(union)}; z at {a.index('z') + 1}")
    day = dt.date(1960, 1, 1) + dt.timedelta(days=21915)
    assert printed(text, "[") == f"[{math.pi:6.4f}] [left    ] [   right] {day:%d}{day:%b}{day:%Y}" \
        .replace(f"{day:%b}", f"{day:%b}".lower())
    assert printed(text, "scratch") == "scratch is []"
    assert printed(text, "one command") == "one command over two lines"
    assert "delimiter now ;" in text and "delimiter now cr" in text
    assert "never shown" not in text.replace('display "never shown"', "")
    assert text.rstrip().endswith("end of do-file")


def test_the_log_is_readable_text_with_continuation_lines(run):
    text, _, folder = run
    log = (folder / "analysis.smcl").read_text()
    assert "{txt}" not in log and "{res}" not in log
    assert '. display "one command "\n>     "over two lines" ;\none command over two lines\n' in log
    assert "  2.     quietly regress `depvar' `v'\n" in log
    first = log.index(". use hsb")
    assert log[first:log.index(". log close")] in text
