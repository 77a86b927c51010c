"""Generic post-estimation commands (ereturn list, matrix, estat ic, estimates, lrtest) against the
reference log, on estimation results built by hand from the numbers the log prints.

The reference log has Stata's blank lines removed, so output is compared line by line after dropping
blank lines; the blank lines themselves are checked separately where Stata's layout is known.
"""

from __future__ import annotations


from types import SimpleNamespace

import numpy as np
import pytest

from hlmshell.results.shell import Text
from conftest import reference_output
from hlmshell.shell.registry import Registry
from hlmshell.shell.dispatcher import run_line
from hlmshell.shell.output import capture_output
from hlmshell.shell.session import EResults, Session, StataMatrix

def log_output(command: str, occurrence: int = 0) -> list[str]:
    """What Stata printed for a command of the reference log, lines as printed."""
    return reference_output(command, occurrence)


def nonblank(text: str) -> list[str]:
    return [line for line in text.splitlines() if line.strip()]


# -- results as the log shows them ----------------------------------------------------------------
NULL_SCALARS = [
    ("rank", 3), ("k_f", 1), ("k_r", 2), ("k", 3), ("k_rs", 2), ("k_rc", 0), ("k_res", 0),
    ("converged", 1), ("ic", 1), ("ll", -23557.90510815813), ("ll_c", -24049.86601856097),
    ("df_c", 1), ("chi2_c", 983.9218208056773), ("p_c", 2.8059555978e-216), ("N", 7185),
    ("nrgroups", 1), ("small", 0), ("df_m", 0), ("p", float("nan")), ("chi2", float("nan")), ("rc", 0),
]
NULL_MACROS = [
    ("cmdline", "mixed mathach || id:"), ("datasignaturevars", "mathach id"),
    ("datasignature", "7185:2:1423354169:3944075123"), ("chi2type", "Wald"),
    ("rstructlab", "Independent"), ("rstructure", "independent"), ("estat_cmd", "mixed_estat"),
    ("predict", "mixed_p"), ("redim", "1"), ("ivars", "id"), ("vartypes", "Identity"),
    ("revars", "_cons"), ("cmd", "mixed"), ("title", "Mixed-effects ML regression"),
    ("technique", "nr"), ("ml_method", "d0"), ("opt", "moptimize"), ("method", "ML"),
    ("optmetric", "matsqrt"), ("depvar", "mathach"), ("properties", "b V"),
]


def mixed_results(names: list[str], b: list[float], *, ll: float, k_f: int, k_rs: int, k_rc: int,
                  N: int = 7185, method: str = "ML", sample: np.ndarray | None = None,
                  cmdline: str = "mixed") -> EResults:
    """Results shaped like Stata's mixed: e(b) with eq:name columns, e(V), e(rank) = #parameters."""
    k = len(b)
    e = EResults()
    e.scalars.update({"rank": float(k), "k_f": float(k_f), "k_r": float(k - k_f), "k": float(k),
                      "k_rs": float(k_rs), "k_rc": float(k_rc), "ll": ll, "N": float(N)})
    e.macros.update({"cmdline": cmdline, "cmd": "mixed", "depvar": "mathach", "method": method})
    bm = StataMatrix(np.array([b], dtype=float), ["y1"], list(names))
    V = StataMatrix(np.diag(np.full(k, 0.01)), list(names), list(names))
    e.matrices.update({"b": bm, "V": V})
    e.sample = np.flatnonzero(np.ones(N, dtype=bool) if sample is None else sample)
    e.model = SimpleNamespace(kind="multilevel", df_resid=None)
    return e


def null_model() -> EResults:
    e = mixed_results(["mathach:_cons", "lns1_1_1:_cons", "lnsig_e:_cons"],
                      [12.63707, 0.5 * np.log(8.5535197), 1.8336797], ll=-23557.90510815813, k_f=1, k_rs=2, k_rc=0,
                      cmdline="mixed mathach || id:")
    e.scalars = {k: float(v) for k, v in NULL_SCALARS}
    e.macros = dict(NULL_MACROS)
    one = lambda v: StataMatrix(np.array([[v]], dtype=float), ["r1"], ["c1"])  # noqa: E731
    e.matrices.update({"g_max": one(67), "g_avg": one(44.9), "g_min": one(14), "N_g": one(160)})
    return e


def ses_model() -> EResults:
    return mixed_results(["mathach:ses", "mathach:_cons", "lns1_1_1:_cons", "lnsig_e:_cons"],
                         [2.3914994, 12.657623, 0.77680602, 1.8058613], ll=-23320.5024, k_f=2,
                         k_rs=2, k_rc=0)


def slope_model() -> EResults:
    return mixed_results(["mathach:ses", "mathach:_cons", "lns1_1_1:_cons", "lns1_1_2:_cons",
                          "atr1_1_1_2:_cons", "lnsig_e:_cons"],
                         [2.394934, 12.66559, -0.46, 0.78, -0.11, 1.80], ll=-23318.2346, k_f=2,
                         k_rs=3, k_rc=1)


def regress_results(ll: float, rank: int, N: int = 7185) -> EResults:
    e = EResults()
    e.scalars.update({"N": float(N), "rank": float(rank), "ll": ll, "ll_0": -24200.0})
    e.macros.update({"cmd": "regress", "depvar": "mathach"})
    names = ["ses", "_cons"][:rank]
    e.matrices["b"] = StataMatrix(np.zeros((1, rank)), ["y1"], names)
    e.matrices["V"] = StataMatrix(np.eye(rank) * 0.01, names, names)
    e.sample = np.arange(N)
    e.model = SimpleNamespace(kind="linear", df_resid=float(N - rank))
    return e


@pytest.fixture()
def shell():
    out, buf = capture_output()
    session = Session(out=out)

    def run(line: str, rc: int = 0) -> tuple[int, str]:
        """Run a line and return (rc, output); the rc must be ``rc`` (0 unless a test of an error)."""
        start = buf.tell()
        got = run_line(session, line)
        buf.seek(start)
        text = buf.read()
        assert got == rc, f"{line!r} gave r({got}), not r({rc}):\n{text}"
        return got, text

    return session, run


# -- ereturn list ---------------------------------------------------------------------------------
def test_ereturn_list_matches_log(shell):
    session, run = shell
    session.e = null_model()
    rc, text = run("ereturn list")
    assert rc == 0
    assert nonblank(text) == log_output("ereturn list")
    # Stata's blank lines: before each section heading
    assert text.startswith("\nscalars:\n")
    assert "\n\nmacros:\n" in text and "\n\nmatrices:\n" in text and "\n\nfunctions:\n" in text


def test_ereturn_list_hides_estimates_name_and_needs_list(shell):
    session, run = shell
    session.e = null_model()
    assert run("estimates store null")[0] == 0
    rc, text = run("eret li")
    assert rc == 0 and "_estimates_name" not in text and nonblank(text) == log_output("ereturn list")
    rc, text = run("ereturn", rc=198)
    assert rc == 198 and "r(198);" in text


# -- matrix ---------------------------------------------------------------------------------------
def test_mat_list_eb_matches_log(shell):
    session, run = shell
    session.e = null_model()
    rc, text = run("mat list e(b)")
    assert rc == 0
    assert nonblank(text) == log_output("mat list e(b)")
    assert text.startswith("\ne(b)[1,3]\n")


def test_mat_copies_and_lists_like_log(shell):
    session, run = shell
    session.e = null_model()
    assert run("mat base=e(b)")[0] == 0
    session.e = ses_model()
    assert run("matrix ses = e(b)")[0] == 0
    assert nonblank(run("mat list base")[1]) == log_output("mat list base")
    assert nonblank(run("mat list ses")[1]) == log_output("mat list ses")
    # the copy is independent of later estimation results
    session.e = null_model()
    assert session.matrices["ses"].values.shape == (1, 4)
    assert run("di exp(base[1,2])^2")[1].strip() == "8.5535197"


def test_mat_list_symmetric_lower_triangle(shell):
    session, run = shell
    names = ["mathach:ses", "mathach:_cons"]
    session.e = mixed_results(names, [2.39, 12.66], ll=-1.0, k_f=2, k_rs=0, k_rc=0)
    session.e.matrices["V"] = StataMatrix(np.array([[0.01117, -0.00123], [-0.00123, 0.03509]]),
                                          names, names)
    rc, text = run("matrix list e(V)")
    assert rc == 0
    assert text.splitlines() == [
        "",
        "symmetric e(V)[2,2]",
        "                mathach:  mathach:",
        "                    ses     _cons",
        "  mathach:ses    .01117",
        "mathach:_cons   -.00123    .03509",
    ]


def test_matrix_expressions_and_plain_names(shell):
    session, run = shell
    assert run("matrix A = (1,2\\3,4)")[0] == 0
    assert run("mat list A")[1].splitlines() == ["", "A[2,2]", "    c1  c2", "r1   1   2", "r2   3   4"]
    assert run("mat B = A' * A + 2*I(2)")[0] == 0
    np.testing.assert_allclose(session.matrices["B"].values, [[12, 14], [14, 22]])
    assert run("mat C = J(2,3,0.5)")[0] == 0
    assert session.matrices["C"].shape == (2, 3)
    assert run("mat rownames C = a b")[0] == 0
    assert session.matrices["C"].rownames == ["a", "b"]
    assert run("matrix drop A B")[0] == 0
    assert list(session.matrices) == ["C"]


def test_matrix_errors_leave_session_unchanged(shell):
    session, run = shell
    run("matrix A = (1,2)")
    before = dict(session.matrices)
    rc, text = run("mat list x", rc=111)
    assert rc == 111 and text.splitlines() == ["matrix x not found", "r(111);"]
    rc, text = run("mat b = e(b)", rc=111)
    assert rc == 111 and "matrix e(b) not found" in text
    rc, text = run("mat D = A * A", rc=503)
    assert rc == 503 and text.splitlines() == ["conformability error", "r(503);"]
    assert run("matrix drop A nothere", rc=111)[0] == 111
    assert session.matrices == before


# -- estat ic ---------------------------------------------------------------------------------------
def test_estat_ic_slope_model_matches_log(shell):
    session, run = shell
    session.e = slope_model()
    rc, text = run("estat ic")
    assert rc == 0
    assert nonblank(text) == log_output("estat ic", 0)
    assert text.startswith("\nAkaike's information criterion and Bayesian information criterion\n\n---")
    S = session.r.matrices["S"]
    np.testing.assert_allclose(S.values[0], [7185, np.nan, -23318.235, 6, 46648.47, 46689.75],
                               atol=0.01)


def test_estat_ic_model_column_shows_stored_name(shell):
    session, run = shell
    session.e = mixed_results(["mathach:ses", "mathach:sector", "mathach:_cons", "lns1_1_1:_cons",
                               "lns1_1_2:_cons", "atr1_1_1_2:_cons", "lnsig_e:_cons"],
                              [2.39, 2.54, 11.47, -0.4, 0.7, 0.5, 1.8], ll=-23298.696, k_f=3, k_rs=3,
                              k_rc=1)
    assert run("est store sector")[0] == 0
    rc, text = run("estat ic")
    assert nonblank(text) == log_output("estat ic", 2)
    session.e = ses_model()
    assert nonblank(run("estat ic")[1]) == log_output("estat ic", 1)


def test_estat_ic_regress_uses_rank_and_ll0(shell):
    session, run = shell
    session.e = regress_results(-23500.0, 2)
    rc, text = run("estat ic")
    row = nonblank(text)[4]
    assert row == "           . |      7,185     -24200     -23500       2      47004   47017.76"


def test_estat_without_estimates_and_bad_subcommand(shell):
    session, run = shell
    rc, text = run("estat ic", rc=301)
    assert rc == 301 and text.splitlines() == ["last estimates not found", "r(301);"]
    session.e = regress_results(-10.0, 2)
    rc, text = run("estat nosuch", rc=321)
    assert rc == 321 and "invalid subcommand nosuch" in text


def test_register_estat_subcommand(shell):
    session, run = shell
    seen = []

    def fake_icc(sess, args):
        seen.append(args.level)
        return Text("icc here")

    session.registry = Registry.standard()
    session.registry.declare("estat ZZICc", "[, Level(cilevel)]", fake_icc,
                             requires=lambda s: getattr(s.e.model, "kind", "") == "multilevel")
    session.e = null_model()
    rc, text = run("estat zzic, level(90)")
    assert rc == 0 and text.strip() == "icc here" and seen == [90.0]
    session.e = regress_results(-10.0, 2)
    assert run("estat zzicc", rc=321)[0] == 321


# -- estimates ------------------------------------------------------------------------------------
def test_store_restore_round_trip_is_a_copy(shell):
    session, run = shell
    session.e = slope_model()
    assert run("est store slope")[0] == 0
    session.e = ses_model()
    rc, text = run("estimates restore slope")
    assert rc == 0 and text.strip() == "(results slope are active now)"
    assert session.e.scalars["ll"] == -23318.2346
    assert session.e.macros["_estimates_name"] == "slope"
    # changing the active results leaves the stored copy alone
    session.e.scalars["ll"] = 0.0
    session.e.matrices["b"].values[0, 0] = 99.0
    stored = session.estimates["slope"]
    assert stored.scalars["ll"] == -23318.2346 and stored.matrices["b"].values[0, 0] == 2.394934


def test_estimates_dir_drop_clear(shell):
    session, run = shell
    session.e = null_model()
    run("est store null")
    session.e = slope_model()
    run("estimates store slope")
    rc, text = run("estimates dir")
    assert text.splitlines() == [
        "",
        "-------------------------------------------------------",
        "        name | command      depvar       npar  title ",
        "-------------+-----------------------------------------",
        "        null | mixed        mathach         3",
        "       slope | mixed        mathach         6",
        "-------------------------------------------------------",
    ]
    assert run("est drop null")[0] == 0
    assert list(session.estimates) == ["slope"]
    assert run("est drop slope")[0] == 0
    assert "_estimates_name" not in session.e.macros
    run("est store a1")
    run("est store a2")
    assert run("estimates clear")[0] == 0 and session.estimates == {}


def test_estimates_errors(shell):
    session, run = shell
    rc, text = run("est store m1", rc=301)
    assert rc == 301 and "last estimation results not found, nothing to store" in text
    session.e = null_model()
    run("est store m1")
    before = (session.e, dict(session.estimates))
    rc, text = run("est restore nope", rc=111)
    assert rc == 111 and text.splitlines() == ["estimation result nope not found", "r(111);"]
    assert run("est drop nope", rc=111)[0] == 111
    assert run("est frobnicate", rc=198)[0] == 198
    assert (session.e, session.estimates) == before


def test_estimates_replay_uses_the_results_own_display(shell):
    session, run = shell
    e = regress_results(-5.0, 2)
    e.show = lambda e, display: [Text(f"replayed ll={e.scalars['ll']}")]
    session.e = e
    run("est store m1")
    session.e = null_model()
    rc, text = run("estimates replay m1")
    assert rc == 0
    lines = text.splitlines()
    assert lines[2] == "Model m1" and lines[4] == "replayed ll=-5.0"
    session.e.show = None
    rc, text = run("est replay", rc=198)
    assert rc == 198 and "impossible to replay estimation command" in text


def test_estimates_stats_several_models(shell):
    session, run = shell
    session.e = slope_model()
    run("est store slope")
    session.e = ses_model()
    rc, text = run("estimates stats slope .")
    rows = nonblank(text)[4:6]
    assert rows[0] == log_output("estat ic", 0)[4].replace("           . ", "       slope ")
    assert rows[1] == log_output("estat ic", 1)[4]


def test_estimates_table_side_by_side(shell):
    session, run = shell
    session.e = ses_model()
    run("est store ri")
    session.e = slope_model()
    run("est store slope")
    rc, text = run("estimates table ri slope, b(%9.3f) se stats(N ll aic bic) keep(mathach:)")
    assert rc == 0
    # %9.3f gives 9-character columns; like Stata, an ll wider than that pushes its row right
    assert text.splitlines() == [
        "",
        "--------------------------------------",
        "    Variable |    ri         slope    ",
        "-------------+------------------------",
        "         ses |     2.391       2.395  ",
        "             |     0.100       0.100  ",
        "       _cons |    12.658      12.666  ",
        "             |     0.100       0.100  ",
        "-------------+------------------------",
        "           N |      7185        7185  ",
        "          ll | -23320.502   -23318.235  ",
        "         aic | 46649.005   46648.469  ",
        "         bic | 46676.524   46689.748  ",
        "--------------------------------------",
        "                          Legend: b/se",
    ]
    rc, text = run("estimates table ri slope")
    lines = text.splitlines()
    assert lines[2] == "    Variable |     ri         slope     "
    assert lines[4:7] == ["mathach      |", "         ses |  2.3914994     2.394934  ",
                          "       _cons |  12.657623     12.66559  "]
    assert "lns1_1_2     |" in lines and "       _cons |                     .78  " in lines
    # the active results are the "Active" column (Stata 17+ capitalises it, and "Legend")
    session.e = ses_model()
    rc, text = run("estimates table, keep(mathach:ses)")
    assert text.splitlines()[2:5] == ["    Variable |   Active    ", "-------------+-------------",
                                      "         ses |  2.3914994  "]


# -- lrtest -----------------------------------------------------------------------------------------
def test_lrtest_matches_log_either_order(shell):
    session, run = shell
    session.e = slope_model()
    run("est store slope")
    session.e = ses_model()
    rc, text = run("lrtest . slope")
    assert rc == 0
    assert nonblank(text) == log_output("lrtest . slope")
    assert text.splitlines()[:4] == ["", "Likelihood-ratio test", "Assumption: . nested within slope", ""]
    assert session.r.scalars["df"] == 2
    assert session.r.scalars["chi2"] == pytest.approx(4.5356)
    assert session.r.scalars["p"] == pytest.approx(0.1036, abs=1e-4)
    rc, text = run("lrtest slope")
    assert nonblank(text) == log_output("lrtest . slope")


def test_lrtest_sector_and_interaction_blocks(shell):
    session, run = shell
    session.e = mixed_results([f"c{i}" for i in range(7)], [0.0] * 7, ll=-23298.6963, k_f=3, k_rs=3,
                              k_rc=1)
    run("est store sector")
    session.e = mixed_results([f"c{i}" for i in range(5)], [0.0] * 5, ll=-23303.2155, k_f=3, k_rs=2,
                              k_rc=0)
    assert nonblank(run("lrtest sector .")[1]) == log_output("lrtest sector .")
    session.e = mixed_results([f"c{i}" for i in range(8)], [0.0] * 8, ll=-23281.5893, k_f=4, k_rs=3,
                              k_rc=1)
    run("est store interaction")
    session.e = mixed_results([f"c{i}" for i in range(6)], [0.0] * 6, ll=-23284.0907, k_f=4, k_rs=2,
                              k_rc=0)
    assert nonblank(run("lrtest interaction .")[1]) == log_output("lrtest interaction .")


def test_lrtest_regress_vs_mixed(shell):
    session, run = shell
    session.e = regress_results(-23500.0, 2)
    run("est store ols")
    session.e = ses_model()
    session.e.scalars["df_c"] = 1.0
    rc, text = run("lrtest ols .")
    # A linear regression is nested in an ML mixed model (on the boundary): allowed, df = e(df_c).
    assert rc == 0 and " LR chi2(1) = 359.00" in text and "boundary of the parameter space" in text
    session.e.macros["method"] = "REML"
    rc, text = run("lrtest ols .", rc=498)
    assert rc == 498
    session.e = ses_model()
    rc, text = run("lrtest ols ., force")
    assert rc == 0
    assert " LR chi2(2) = 359.00" in text and "Assumption: ols nested within ." in text


def test_lrtest_errors_leave_session_unchanged(shell):
    session, run = shell
    rc, text = run("lrtest a b", rc=111)
    assert rc == 111 and text.splitlines() == ["estimation result a not found", "r(111);"]
    rc, text = run("lrtest a", rc=111)
    assert rc == 111
    session.e = slope_model()
    run("est store slope")
    session.e = ses_model()
    session.e.scalars["N"] = 7000.0
    before = (session.e, dict(session.estimates), session.r)
    rc, text = run("lrtest . slope", rc=498)
    assert rc == 498 and text.splitlines() == ["observations differ: 7185 vs. 7000", "r(498);"]
    assert (session.e, session.estimates, session.r) == before
    session.e = slope_model()
    rc, text = run("lrtest slope .", rc=498)
    assert rc == 498 and "df(unrestricted) = df(restricted) = 6" in text


def test_lrtest_reml_and_nesting_checks(shell):
    session, run = shell
    session.e = mixed_results(["a", "b", "c", "d"], [0.0] * 4, ll=-100.0, k_f=2, k_rs=2, k_rc=0,
                              method="REML")
    run("est store big")
    session.e = mixed_results(["a", "c", "d"], [0.0] * 3, ll=-101.0, k_f=1, k_rs=2, k_rc=0,
                              method="REML")
    rc, text = run("lrtest big .", rc=498)
    assert rc == 498 and "REML criterion is not comparable under different" in text
    session.e = mixed_results(["a", "c", "d"], [0.0] * 3, ll=-101.0, k_f=1, k_rs=2, k_rc=0)
    rc, text = run("lrtest big .", rc=498)
    assert rc == 498 and "cannot compare a REML model with an ML model" in text


def test_lrtest_boundary_note_only_with_mecmd(shell):
    session, run = shell
    session.e = slope_model()
    run("est store slope")
    session.e = ses_model()
    text = run("lrtest . slope")[1]
    assert nonblank(text) == log_output("lrtest . slope")  # Stata 17/18 mixed: no e(mecmd), no note
    assert "Note:" not in text
    session.e.macros["mecmd"] = "xtmixed"
    rc, text = run("lrtest . slope")
    assert rc == 0
    assert text.splitlines()[6:] == [
        "",
        "Note: The reported degrees of freedom assumes the null hypothesis is not on",
        "      the boundary of the parameter space.  If this is not true, then the",
        "      reported test is conservative.",
    ]


def test_lrtest_samples_differ(shell):
    session, run = shell
    sample = np.ones(7185, dtype=bool)
    sample[0] = False
    session.e = slope_model()
    run("est store slope")
    session.e = mixed_results(["a", "b", "c", "d"], [0.0] * 4, ll=-23320.502, k_f=2, k_rs=2, k_rc=0,
                              sample=sample)
    rc, text = run("lrtest . slope", rc=498)
    assert rc == 498 and "samples differ" in text


# -- end to end with mixed ---------------------------------------------------------------------------
def test_log_sequence_end_to_end(shell):
    """The log's qui mixed / mat / estat ic / est store / lrtest sequence, replayed command by command."""
    session, run = shell
    assert run("use hsb.dta, clear")[0] == 0

    def same(command: str, occurrence: int = 0, shown: str | None = None) -> None:
        rc, text = run(shown or command)
        assert rc == 0, text
        assert nonblank(text) == log_output(command, occurrence), command

    assert run("qui mixed mathach || id:")[0] == 0
    rc, text = run("mat list e(b)")
    got, want = nonblank(text), log_output("mat list e(b)")
    assert got[:3] == want[:3]  # title and the equation:column header
    np.testing.assert_allclose([float(v) for v in got[3].split()[1:]],
                               [float(v) for v in want[3].split()[1:]], rtol=1e-5)
    assert run("mat base=e(b)")[0] == 0
    assert run("qui mixed mathach ses || id:")[0] == 0
    assert run("mat ses=e(b)")[0] == 0
    assert nonblank(run("mat list ses")[1])[:3] == log_output("mat list ses")[:3]
    assert run("di (exp(base[1,3])^2 - exp(ses[1,4])^2)/exp(base[1,3])^2")[1].strip()[:6] == ".05411"

    assert run("qui mixed mathach ses || id: ses, cov(unstructured)")[0] == 0
    same("estat ic", 0)
    assert run("est store slope")[0] == 0
    assert run("qui mixed mathach ses || id:")[0] == 0
    same("estat ic", 1)
    same("lrtest . slope")

    assert run("qui mixed mathach ses sector || id: ses, cov(unstr)")[0] == 0
    assert run("est store sector")[0] == 0
    same("estat ic", 2)
    assert run("qui mixed mathach ses sector || id:")[0] == 0
    same("lrtest sector .")
    same("estat ic", 3)

    assert run("qui mixed mathach c.ses##i.sector || id: ses, cov(unstr)")[0] == 0
    assert run("est store interaction")[0] == 0
    same("estat ic", 4)
    assert run("qui mixed mathach c.ses##i.sector || id:")[0] == 0
    same("estat ic", 5)
    same("lrtest interaction .")
    assert session.r.scalars["df"] == 2

    # a stored model replays its full mixed output
    rc, text = run("estimates replay slope")
    assert rc == 0 and "Model slope" in text and "Log likelihood = -23318.235" in text
    assert "id: Unstructured" in text
    # restoring brings back the stored results, under their name
    assert run("est restore sector")[0] == 0
    assert session.e.macros["cmdline"] == "mixed mathach ses sector || id: ses, cov(unstr)"
    same("estat ic", 2)
