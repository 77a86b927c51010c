"""Macros ([P] macro): expansion before a line is parsed, ``local``/``global`` and their forms, the
macro functions, ``macro list|drop|shift``, ``tokenize``/``gettoken`` and their errors."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest
from runner import runner

from hlmshell.lang.macros import expand, number_text, quoted_words, words


@pytest.fixture
def shell(tmp_path):
    """A session with a small dataset; ``run(line, rc)`` returns what the line printed."""
    return runner(data=pd.DataFrame({"g": [1.0, 1.0, 2.0, 2.0], "x": [5.0, 6.0, 7.0, 9.1],
                                     "name": ["a", "b b", "c", "d"]}), cwd=tmp_path)


class Fixed:
    """A macro source with fixed answers, for the expansion rules alone."""

    def __init__(self) -> None:
        self.locals = {"i": "1", "x1": "one", "a": "`b'", "b": "B", "*": "all"}
        self.globals = {"g": "G", "g1": "G one"}

    def local(self, name: str) -> str:
        return self.locals.get(name, "")

    def global_(self, name: str) -> str:
        return self.globals.get(name, "")

    def increment(self, name: str, delta: int, before: bool) -> str:
        old = int(self.locals.get(name, "0") or 0)
        self.locals[name] = str(old + delta)
        return self.locals[name] if before else str(old)

    def evaluate(self, exp: str) -> str:
        return f"<{exp}>"

    def function(self, text: str) -> str:
        return f"[{text}]"

    def stored(self, kind: str, name: str) -> str:
        return f"{kind}({name})"


@pytest.mark.parametrize("text, expanded", [
    ("`x`i''", "one"),                                   # the inner reference first
    ("$g ${g}x ${g`i'}", "G Gx G one"),
    ("`nosuch'|$nosuch|${nosuch}", "||"),                # undefined: empty
    ('`"a b"\' \\`i\' \\$g', '`"a b"\' `i\' $g'),        # compound quotes; escaped quote and $
    ("`=2+`i''", "<2+1>"),
    ("`: word count `x1''", "[word count one]"),
    ("`e(N)' `r(mean)' `c(pwd)' `s(x)'", "e(N) r(mean) c(pwd) s(x)"),
    ("don't `a' `macval(a)'", "don't B `b'"),             # contents expand unless macval()
    ("`*' $ 5 and `unclosed", "all $ 5 and `unclosed"),
])
def test_expansion_rules(text, expanded):
    assert expand(text, Fixed()) == expanded


def test_increment_operators_substitute_before_or_after():
    src = Fixed()
    assert expand("`++i' `i++' `i' `--i' `i--' `i'", src) == "2 2 3 2 2 1"


def test_words_keep_quoted_items_whole():
    assert words('a "b c"  `"d "e" f"\' g') == ["a", "b c", 'd "e" f', "g"]
    assert quoted_words('"b c" x') == [("b c", '"b c"'), ("x", "x")]


def test_numbers_in_macros_have_sixteen_digits():
    assert number_text(1 / 3) == ".3333333333333333"
    assert number_text(2 / 3) == ".6666666666666666"
    assert number_text(1576 / 74) == "21.2972972972973"          # Stata's r(mean) for auto mpg
    assert number_text(74.0) == "74" and number_text(math.nan) == "."


# -- local / global ------------------------------------------------------------------------------
def test_local_and_global_forms(shell):
    shell("local a = 1/3")
    shell("local b   hello   world  ")
    shell('local c "  padded "')
    shell('local d `"say "hi""\'')
    shell('global G = "str" + "ing"')
    shell("global H : word count a b c")
    s = shell.session
    assert s.locals["a"] == ".3333333333333333" and s.locals["b"] == "hello   world"
    assert s.locals["c"] == "  padded " and s.locals["d"] == 'say "hi"'
    assert s.globals == {"G": "string", "H": "3"}
    assert shell("di \"`a'|`b'|`c'|$G|${H}\"") == ".3333333333333333|hello   world|  padded |string|3\n"
    shell("local a")                                         # nothing after the name: dropped
    assert "a" not in s.locals and shell("di \"[`a']\"") == "[]\n"
    shell("local ++n")
    shell("local ++n")
    shell("local --m")
    assert (s.locals["n"], s.locals["m"]) == ("2", "-1")
    assert shell("local a-b 1", rc=198) == "a-b invalid name\nr(198);\n"
    assert shell("global 1x y", rc=198) == "1x invalid name\nr(198);\n"
    shell("local w word")
    assert shell("local ++w", rc=198) == "word invalid increment of local w\nr(198);\n"
    assert shell("local a = 1 +", rc=198) == "invalid syntax\nr(198);\n"
    assert "a" not in s.locals                               # a failed definition changes nothing


def test_stored_results_expand(shell):
    shell("summarize x")
    mean = np.mean([5.0, 6.0, 7.0, 9.1])
    assert shell("di \"`r(mean)' `r(N)' [`r(nosuch)']\"") == f"{number_text(mean)} 4 []\n"
    shell("quietly regress x g")
    assert shell("di \"`e(N)' `e(cmd)' `e(depvar)'\"") == "4 regress x\n"
    assert shell("di \"`c(N)' `c(k)' `c(varabbrev)'\"") == "4 3 on\n"
    assert shell("di c(N) + c(k)") == "7\n"


# -- macro functions -------------------------------------------------------------------------------
def test_word_piece_and_length(shell):
    shell('local s a "b c" d')
    assert shell("di \"`: word count `s''\"") == "3\n"
    assert shell("di \"`: word 2 of `s''|`: word 9 of `s''\"") == "b c|\n"
    shell('local p : piece 3 6 of "the quick brown fox"')      # the, quick, brown, fox
    assert shell.session.locals["p"] == "brown"
    shell("local n : strlen local s")
    assert shell.session.locals["n"] == str(len('a "b c" d'))
    shell('local t : subinstr local s "b" "B", all count(local k)')
    assert (shell.session.locals["t"], shell.session.locals["k"]) == ('a "B c" d', "1")
    shell("local v one two one")
    shell('local t : subinstr local v "one" "1", word all')
    assert shell.session.locals["t"] == "1 two 1"


def test_macro_lists(shell):
    shell("local a x y z y")
    shell("local b y w")
    s = shell.session
    results = {}
    for expr in ("uniq a", "dups a", "sort a", "rev a", "sizeof a", "a | b", "a & b", "a - b",
                 "a == b", "b === b", "b in a", 'posof "z" in a', 'posof "q" in a'):
        shell(f"local r : list {expr}")
        results[expr] = s.locals.get("r", "")
    a, b = ["x", "y", "z", "y"], ["y", "w"]
    assert results == {
        "uniq a": "x y z", "dups a": "y", "sort a": " ".join(sorted(a)), "rev a": "y z y x",
        "sizeof a": str(len(a)), "a | b": "x y z w", "a & b": "y",
        "a - b": " ".join(w for w in a if w not in b), "a == b": "0", "b === b": "1",
        "b in a": "0", 'posof "z" in a': "3", 'posof "q" in a': "0"}
    assert shell("local r : list nosuch a", rc=198) == "invalid syntax\nr(198);\n"


def test_data_and_result_functions(shell, tmp_path):
    shell('label variable x "The x"')
    s = shell.session
    for line, want in (("local r : variable label x", "The x"), ("local r : type x", "double"),
                       ("local r : type name", "str3"), ("local r : format x", "%10.0g"),
                       ("local r : display %6.2f 1/3", "  0.33"),
                       ('local r : di "x=" 2*3', "x=6")):
        shell(line)
        assert s.locals["r"] == want, line
    shell('label define grp 1 "first" 2 "second"')
    shell("label values g grp")
    for line, want in (("local r : value label g", "grp"), ("local r : label grp 2", "second"),
                       ("local r : label (g) 1", "first"), ("local r : label (g) 7", "7"),
                       ("local r : label grp 7, strict", ""), ("local r : label grp 1 3", "fir")):
        shell(line)
        assert s.locals.get("r", "") == want, line
    assert shell("local r : label nosuch 1", rc=111) == "value label nosuch not found\nr(111);\n"
    shell("quietly regress x g")
    shell("local r : colnames e(b)")
    assert s.locals["r"] == "g _cons"
    shell("local r : e(scalars)")
    assert {"N", "r2", "rmse"} <= set(s.locals["r"].split())
    shell("global keep1 a")
    shell("global keep2 b")
    shell("global other c")
    shell('local r : all globals "keep*"')
    assert s.locals["r"] == "keep1 keep2"
    (tmp_path / "one.csv").write_text("a\n")
    (tmp_path / "two.csv").write_text("a\n")
    (tmp_path / "three.txt").write_text("a\n")
    shell('local r : dir . files "*.csv"')
    assert s.locals["r"] == '"one.csv" "two.csv"'
    assert shell("local r : type nosuch", rc=111) == "variable nosuch not found\nr(111);\n"
    assert shell("local r : nosuch x", rc=198) == "nosuch invalid macro function\nr(198);\n"


# -- macro list / drop / shift; tokenize / gettoken ------------------------------------------------
def test_macro_list_drop_and_shift(shell):
    shell("global alpha first value")
    shell("local beta 2")
    assert shell("macro list alpha _beta") == "alpha:          first value\n_beta:          2\n"
    assert shell("macro list nosuch", rc=111) == "macro nosuch not found\nr(111);\n"
    shell("global alpha2 x")
    shell("macro drop alpha*")
    assert "alpha" not in shell.session.globals and "alpha2" not in shell.session.globals
    shell("macro drop _beta")
    assert "beta" not in shell.session.locals
    shell("tokenize a b c")
    shell("macro shift")
    assert [shell.session.locals.get(k) for k in ("1", "2", "3")] == ["b", "c", None]


def test_tokenize_and_gettoken(shell):
    shell('tokenize "a b" c d')
    s = shell.session
    assert [s.locals.get(k) for k in ("1", "2", "3", "4")] == ["a b", "c", "d", None]
    assert shell("tokenize a, d", rc=198) == "option d not allowed\nr(198);\n"
    shell('tokenize "x=1, y", parse("=,")')
    assert [s.locals.get(k) for k in "12345"] == ["x", "=", "1", ",", "y"]
    shell("local line reg y x, robust")
    shell('gettoken cmd rest : line')
    assert (s.locals["cmd"], s.locals["rest"]) == ("reg", " y x, robust")
    shell('gettoken before after : line, parse(",")')
    assert (s.locals["before"], s.locals["after"]) == ("reg y x", ", robust")
    assert shell("gettoken a b c : line", rc=198) == "invalid syntax\nr(198);\n"
