"""Malformed and random command lines: never a traceback, always a Stata-style error, data untouched.

r(9999) is the dispatcher's code for an internal error (a bug in a command), so it fails the test.
Commands that write files, leave the shell or could run for long are not fuzzed here.

Run ``python tests/test_fuzz.py [N]`` to list every failing line of N random ones instead of stopping
at the first.
"""

from __future__ import annotations

import re
import sys
import tempfile
import warnings
from pathlib import Path

import numpy as np
import pandas as pd
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from hlmshell.errors import StataError
from hlmshell.lang.command import parse_command
from hlmshell.shell.registry import Registry
from hlmshell.shell.dispatcher import run_line
from hlmshell.shell.output import capture_output
from hlmshell.shell.session import Session

WORKDIR = Path(tempfile.mkdtemp(prefix="hlmshell-fuzz-"))

# Commands that write files, change directory, leave, run scripts, or can be made to run for long.
EXCLUDED = {"save", "saveold", "export", "outsheet", "outfile", "log", "do", "run", "exit", "cd",
            "shell", "set", "expand", "sleep", "graph", "putexcel", "webuse", "sysuse", "net", "ssc",
            "erase", "rm", "mkdir", "copy", "file", "translate"}
FORBIDDEN_TEXT = ("sav", "export", "outsheet", "outfile", "_dup", "replace using")

VARS = ["id", "x", "y", "g", "s", "x*", "_all", "x-y", "id-g", "nosuch", "X", "_n", "_N", "_cons"]
OPERATORS = ["==", "!=", "<", ">", "<=", ">=", "&", "|", "!", "+", "-", "*", "/", "^", "=", "~", "#",
             "##", ":", "||", "|", "/*", "*/", "//", "///", "`", "'", "$"]
PUNCT = ['"', '"abc"', '""', "(", ")", "[", "]", ",", ", ", "{", "}", ";", ".", "..", "\\"]
WORDS = ["if", "in", "using", "by", "bysort", "quietly", "capture", "noisily", "i.", "c.", "ib1.",
         "L.", "1/5", "f/l", "-3/-1", "0", "1", "-1", "2.5", "1e300", "-1e300", ".", ".a", "nan",
         "inf", "_b[x]", "_se[x]", "e(N)", "r(mean)", "e(b)", "exp(x)", "ln(-1)", "sqrt(", "mean(x)",
         "tag(id)", "group(g)", "id:", "R.id", "cov(un)", "cov(exchangeable)", "cov(bogus)", "reml",
         "mle", "nolog", "detail", "d", "gen(z)", "by(g)", "missing", "nolabel", "clear", "z",
         "newvar", "string", "str5", "double", "float", "byte", "label", "variable", "values",
         "store", "m1", "restore", "table", "list", "drop", "ic", "icc", "recov", "dir", "all"]


COMMANDS = Registry.standard()


def command_words() -> list[str]:
    names = [n for n in COMMANDS.names() if COMMANDS.lookup(n).name not in EXCLUDED]
    return names + ["sumarize", "sum", "su", "tab", "ta", "gen", "g", "di", "l", "regress",
                    "xtmixed", "mi", "me"]


def excluded(line: str) -> bool:
    """Lines for commands this test does not fuzz (see EXCLUDED)."""
    if any(text in line.lower() for text in FORBIDDEN_TEXT):
        return True
    try:
        cmd = parse_command(line)
        name = COMMANDS.lookup(cmd.name).name if cmd.name else ""
    except StataError:
        return False
    return name in EXCLUDED


def lines() -> st.SearchStrategy[str]:
    token = st.sampled_from(VARS + OPERATORS + PUNCT + WORDS + command_words())
    structured = st.builds(
        lambda first, rest, sep: first + " " + sep.join(rest),
        st.sampled_from(command_words()), st.lists(token, max_size=12),
        st.sampled_from([" ", " ", "", "  "]))
    tokens = st.builds(lambda toks, sep: sep.join(toks), st.lists(token, min_size=1, max_size=10),
                       st.sampled_from([" ", ""]))
    real = st.sampled_from(["id", "x", "y", "g", "s", "_all", "x-g", "x*", "z"])
    plausible = st.builds(
        lambda cmd, vs, cond, rng, opts: " ".join(
            [cmd, *vs, *cond, *rng, ("," + " ".join(opts)) if opts else ""]),
        st.sampled_from(command_words() + ["gen z =", "egen z = mean(x),", "replace x =",
                                           "mixed y", "mixed y x || id:", "by g:", "bysort id:",
                                           "tab", "sum", "list", "xtmixed y x || id: x,"]),
        st.lists(real, max_size=3),
        st.one_of(st.just([]), st.tuples(st.just("if"), real, st.sampled_from(OPERATORS[:6]),
                                         st.sampled_from(["0", "1", ".", "x", '"u"', "-1e9"]))),
        st.one_of(st.just([]), st.tuples(st.just("in"), st.sampled_from(
            ["1", "1/5", "-3/l", "f/l", "5/1", "0", "13", "2/", "l"]))),
        st.lists(st.sampled_from(["d", "detail", "gen(z)", "by(g)", "cov(un)", "reml", "nolog",
                                  "missing", "nofreq", "clear", "replace", "mle", "variance",
                                  "stddev", "noconstant", "cov(ind)", "cov(id)", "cov(ex)",
                                  "iterate(0)", "level(50)", "level(101)", "format(%9.2f)",
                                  "sort", "row", "col", "all", "fixed", "reffects", "xb"]),
                 max_size=3))
    printable = st.text(st.characters(min_codepoint=32, max_codepoint=126), max_size=60)
    unicode = st.text(max_size=30)
    return st.one_of(structured, structured, plausible, plausible, tokens, printable, unicode)


def small_session() -> tuple[Session, "object"]:
    out, buf = capture_output()
    s = Session(out=out, cwd=WORKDIR)
    data = pd.DataFrame({
        "id": pd.array(["a", "a", "a", "b", "b", "b", "c", "c", "c", "d", "d", "d"], dtype=object),
        "x": [0.5, -1.2, 0.3, 1.1, 0.0, 2.2, -0.7, 0.9, 1.4, -0.2, 0.6, np.nan],
        "y": [3.1, 2.0, 4.4, 5.2, 3.3, 6.1, 1.9, 4.0, 5.5, 2.7, 3.9, 4.2],
        "g": np.array([1, 1, 2, 2, 1, 2, 1, 2, 2, 1, 1, 2], dtype=np.int8),
        "s": pd.array(["u", "v", "", "w", "u", "v", "", "w", "u", "v", "w", "u"], dtype=object),
    })
    s.set_data(data, changed=False)
    s.var_labels = {"x": "a predictor", "y": "an outcome"}
    return s, buf


PYTHON_ERROR = re.compile(r"Traceback|^\w+(Error|Exception|Warning): |internal error", re.M)


_FITTED: dict[str, object] = {}


def fitted_session() -> tuple[Session, "object"]:
    """The small data set after ``mixed y x || id:`` and ``estimates store m1`` (fitted once)."""
    if not _FITTED:
        s, buf = small_session()
        for line in ("mixed y x || id:", "estimates store m1"):
            assert run_line(s, line) == 0, buf.getvalue()
        _FITTED.update(s.snapshot())
    s, buf = small_session()
    s.restore({k: v for k, v in _FITTED.items()})
    return s, buf


def check(line: str, fitted: bool = False) -> str | None:
    """Run ``line`` on a fresh session; a description of what went wrong, or None."""
    s, buf = fitted_session() if fitted else small_session()
    before, labels = s.data.copy(), dict(s.var_labels)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        rc = run_line(s, line)
    text = buf.getvalue()
    failed = s.rc if parse_command_safe(line) else rc
    if PYTHON_ERROR.search(text):
        return f"Python error text in the output:\n{text}"
    if rc == 9999 or failed == 9999:
        return f"internal error r(9999):\n{text}"
    if rc and f"r({rc});" not in text.splitlines():
        return f"rc {rc} without an r({rc}); line:\n{text}"
    if failed:
        try:
            pd.testing.assert_frame_equal(s.data, before)
        except AssertionError as err:
            return f"failed with r({failed}) but changed the data: {err}"
        if s.var_labels != labels:
            return f"failed with r({failed}) but changed the variable labels"
    return None


def parse_command_safe(line: str) -> bool:
    """Whether the line is run under ``capture`` (its rc is then in session.rc)."""
    try:
        return parse_command(line).capture
    except StataError:
        return False


@settings(max_examples=1000, deadline=None,
          suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much])
@given(line=lines())
def test_random_lines_fail_like_stata(line):
    assume(not excluded(line))
    problem = check(line)
    assert problem is None, f"input {line!r}: {problem}"


POSTESTIMATION = ["estat", "estat ic", "estat icc", "estat recov", "estat group", "predict",
                  "predict z, reffects", "estimates", "est store", "est restore", "est table",
                  "lrtest", "lrtest m1", "ereturn list", "mixed", "matrix list", "mat b = e(b)",
                  "di", "di e(", "display _b[", "return list", "replay"]


@settings(max_examples=300, deadline=None,
          suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much])
@given(head=st.sampled_from(POSTESTIMATION),
       tail=st.lists(st.sampled_from(VARS + OPERATORS + PUNCT + WORDS), max_size=6))
def test_random_postestimation_lines_after_a_fit(head, tail):
    line = head + " " + " ".join(tail)
    assume(not excluded(line))
    problem = check(line, fitted=True)
    assert problem is None, f"input {line!r} after mixed y x || id: {problem}"


def test_the_fuzz_data_set_is_what_the_commands_see():
    s, _ = small_session()
    assert run_line(s, "nosuchcommand x") == 199
    assert s.variables == ["id", "x", "y", "g", "s"] and s.nobs == 12


if __name__ == "__main__":        # list every failing line instead of stopping at the first
    post = st.builds(lambda h, t: h + " " + " ".join(t), st.sampled_from(POSTESTIMATION),
                     st.lists(st.sampled_from(VARS + OPERATORS + PUNCT + WORDS), max_size=6))
    strategy = st.one_of(lines(), post)
    n = int(sys.argv[1]) if len(sys.argv) > 1 else 3000
    seen: dict[str, str] = {}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        for _ in range(n):
            line = strategy.example()
            if excluded(line):
                continue
            problem = check(line) or check(line, fitted=True)
            if problem:
                detail = problem.splitlines()[-2] if problem.count("\n") > 1 else problem
                key = f"{line.split()[0] if line.split() else ''} {detail}"
                seen.setdefault(key, f"{line!r}\n    {problem}")
    for report in seen.values():
        print(report, "\n")
    print(f"{len(seen)} distinct problems")
