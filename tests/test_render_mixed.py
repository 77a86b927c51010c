"""Renderers of mixed, estat icc and estat recov against the real Stata 17 log (tests/fixtures).

The numbers Stata printed go into the result dataclasses; the rendered text must equal the log's
lines.  The log has its blank lines removed, so the comparison drops blank lines and trailing blanks.
"""

from __future__ import annotations


import pytest

from conftest import reference_output
from hlmshell.render import render
from hlmshell.results.estimation import (
    CoefRow,
    CoefTable,
    GroupInfo,
    ICCRow,
    ICCTable,
    IterationLog,
    IterationStep,
    LRTestVsLinear,
    MixedHeader,
    MixedOutput,
    REBlock,
    RECovMatrix,
    REParam,
    RETable,
)

HSB_GROUPS = (GroupInfo("id", 160, 14, 44.90625, 67),)


def log_output(command: str, occurrence: int = 0) -> list[str]:
    """Lines printed after the ``occurrence``-th echo of ``command``, up to the next echo."""
    return [ln.rstrip() for ln in reference_output(command, occurrence)]


def shown(text: str) -> list[str]:
    return [ln.rstrip() for ln in text.splitlines() if ln.strip()]


def assert_renders_as_log(rendered: str, expected: list[str]) -> None:
    """The rendered text is the log's block, line for line (the log's commentary is not in it)."""
    assert expected, "no reference lines to compare with"
    assert shown(rendered) == expected


def re_param(label: str, *nums: float) -> REParam:
    return REParam(label, *nums)


def null_model() -> MixedOutput:
    header = MixedHeader(reml=False, n_obs=7185, groups=HSB_GROUPS, wald_df=0, wald_chi2=None,
                         wald_p=None, ll=-23557.90510815813)
    coefs = CoefTable("mathach", (CoefRow("_cons", 12.63707, .2436178, 51.87, 0.0, 12.15959, 13.11455),))
    re = RETable(
        blocks=(REBlock("id", "Identity", (re_param("var(_cons)", 8.55352, 1.068642, 6.69575, 10.92674),)),),
        residual=(re_param("var(Residual)", 39.14839, .6606469, 37.87473, 40.46489),),
        lr=LRTestVsLinear(983.9218208056773, 1, 2.8059555978e-216, chibar=True),
    )
    return MixedOutput(header, coefs, re)


def test_null_model_matches_log() -> None:
    text = render(null_model())
    expected = log_output("mixed mathach || id:")
    assert_renders_as_log(text, expected)
    assert shown(text)[-1] == ("LR test vs. linear model: chibar2(01) = 983.92        "
                               "Prob >= chibar2 = 0.0000")
    assert len(shown(text)) == 22


def test_stata_blank_lines_are_kept() -> None:
    lines = render(null_model()).splitlines()
    # a blank line before the header, the coefficient table and the random-effects table
    assert lines[0] == "" and lines[9] == "" and lines[15] == ""


def test_unstructured_model_chi2_and_note() -> None:
    m = MixedOutput(
        MixedHeader(False, 7185, HSB_GROUPS, 1, 414.12, 0.0, -23318.235),
        CoefTable("mathach", (
            CoefRow("ses", 2.394934, .1176881, 20.35, 0.0, 2.16427, 2.625598),
            CoefRow("_cons", 12.66559, .1890996, 66.98, 0.0, 12.29496, 13.03621),
        )),
        RETable(
            blocks=(REBlock("id", "Unstructured", (
                re_param("var(ses)", .3983418, .2324055, .1269513, 1.249898),
                re_param("var(_cons)", 4.785235, .6648578, 3.644499, 6.283024),
                re_param("cov(ses,_cons)", -.1558654, .2956225, -.7352749, .4235441),
            )),),
            residual=(re_param("var(Residual)", 36.83154, .6293445, 35.61847, 38.08592),),
            lr=LRTestVsLinear(461.47, 3, 1e-99, chibar=False, conservative=True),
        ),
    )
    text = render(m)
    assert_renders_as_log(text, log_output("mixed mathach ses || id: ses, cov(unstructured)"))
    assert shown(text)[-1] == "Note: LR test is conservative and provided only for reference."
    assert text.splitlines()[-2] == ""


def interaction_coefs() -> CoefTable:
    return CoefTable("mathach", (
        CoefRow("ses", 2.959745, .1429495, 20.70, 0.0, 2.679569, 3.239921),
        CoefRow("1.sector", 2.128714, .3434358, 6.20, 0.0, 1.455593, 2.801836),
        CoefRow("1", -1.312909, .2153851, -6.10, 0.0, -1.735056, -.8907615, term="sector#c.ses"),
        CoefRow("_cons", 11.75256, .2301634, 51.06, 0.0, 11.30145, 12.20368),
    ))


def test_factor_interaction_rows() -> None:
    m = MixedOutput(
        MixedHeader(False, 7185, HSB_GROUPS, 3, 621.52, 1e-100, -23281.589),
        interaction_coefs(),
        RETable(
            blocks=(REBlock("id", "Unstructured", (
                re_param("var(ses)", .073949, .0888935, .0070099, .7801067),
                re_param("var(_cons)", 3.75385, .5494602, 2.817633, 5.001144),
                re_param("cov(ses,_cons)", .5268683, .3298837, -.1196919, 1.173429),
            )),),
            residual=(re_param("var(Residual)", 36.77872, .6226819, 35.57831, 38.01963),),
            lr=LRTestVsLinear(343.64, 3, 0.0, chibar=False, conservative=True),
        ),
    )
    expected = log_output("mixed mathach c.ses##i.sector || id: ses, cov(unstr)")
    assert_renders_as_log(render(m), expected)


def test_ib1_interaction_and_random_intercept_model() -> None:
    coefs = CoefTable("mathach", (
        CoefRow("ses", 2.953382, .1405383, 21.01, 0.0, 2.677932, 3.228832),
        CoefRow("1.sector", 2.137317, .3389169, 6.31, 0.0, 1.473052, 2.801582),
        CoefRow("1", -1.312292, .2118813, -6.19, 0.0, -1.727572, -.8970123, term="sector#c.ses"),
        CoefRow("_cons", 11.79835, .2269266, 51.99, 0.0, 11.35358, 12.24312),
    ))
    m = MixedOutput(
        MixedHeader(False, 7185, HSB_GROUPS, 3, 617.69, 0.0, -23284.091),
        coefs,
        RETable(
            blocks=(REBlock("id", "Identity", (re_param("var(_cons)", 3.629644, .5210396, 2.739511, 4.809002),)),),
            residual=(re_param("var(Residual)", 36.83112, .6219293, 35.63211, 38.07047),),
            lr=LRTestVsLinear(338.63, 1, 0.0, chibar=True),
        ),
    )
    assert_renders_as_log(render(m), log_output("mixed mathach c.ses##i.sector || id:"))


def test_icc_titles() -> None:
    plain = ICCTable("", (ICCRow("id", .1793119, .0185938, .145709, .2186805),))
    assert_renders_as_log(render(plain), log_output("estat icc", 0))
    residual = ICCTable("residual", (ICCRow("id", .1132354, .0139342, .0886613, .1435479),))
    assert_renders_as_log(render(residual), log_output("estat icc", 1))
    lines = render(plain).splitlines()
    assert lines[:3] == ["", "Intraclass correlation", ""]


def test_icc_conditional_note_and_long_labels() -> None:
    rows = (ICCRow("school", .2, .05, .1, .3), ICCRow("a_very_long_classroom_name|school", .5, .05, .4, .6))
    lines = render(ICCTable("conditional", rows)).splitlines()
    assert lines[1] == "Conditional intraclass correlation"
    assert lines[3] == "Level 2: a_very_long_classroom_name|school"
    assert lines[4] == ""
    assert lines[-4].startswith("                      school |")
    assert lines[-3].startswith("                     Level 2 |")
    assert lines[-1] == "Note: ICC is conditional on zero values of random-effects covariates."


def test_recov_covariance_and_correlation() -> None:
    cov = RECovMatrix("id", ("ses", "_cons"), ((.3983418, -.1558654), (-.1558654, 4.785235)))
    assert_renders_as_log(render(cov), log_output("estat recov"))
    corr = RECovMatrix("id", ("ses", "_cons"), ((1.0, -.1128938), (-.1128938, 1.0)), correlation=True)
    assert_renders_as_log(render(corr), log_output("estat recov, corr"))
    # matlist keeps the blank cells of the upper triangle
    assert render(cov).splitlines()[5] == "         ses |  .3983418            "


def test_coef_table_omitted_base_and_wide_names() -> None:
    table = CoefTable("Congruence1", (
        CoefRow("RL_HP", 1.320605, .1693017, 7.80, 0.0, .9887797, 1.65243, term="AgentType"),
        CoefRow("TrialNum", -.0068457, .0200878, -0.34, .733, -.046217, .0325256),
        CoefRow("RL_HP", -.0221736, .0284084, -0.78, .435, -.0778531, .0335058,
                term="AgentType#c.TrialNum"),
        CoefRow("_cons", -.569429, .1235039, -4.61, 0.0, -.8114922, -.3273657),
    ))
    # Stata 18 log (public), same _coef_table geometry
    assert shown(render(table)) == [
        "-" * 86,
        "         Congruence1 | Coefficient  Std. err.      z    P>|z|     [95% conf. interval]",
        "-" * 21 + "+" + "-" * 64,
        "           AgentType |",
        "              RL_HP  |   1.320605   .1693017     7.80   0.000     .9887797     1.65243",
        "            TrialNum |  -.0068457   .0200878    -0.34   0.733     -.046217    .0325256",
        "                     |",
        "AgentType#c.TrialNum |",
        "              RL_HP  |  -.0221736   .0284084    -0.78   0.435    -.0778531    .0335058",
        "                     |",
        "               _cons |   -.569429   .1235039    -4.61   0.000    -.8114922   -.3273657",
        "-" * 86,
    ]
    flagged = CoefTable("y", (
        CoefRow("x", status="omitted"),
        CoefRow("0", term="sector", status="base"),
        CoefRow("1", 1.0, .5, 2.0, .0456, .02, 1.98, term="sector"),
        CoefRow("_cons", 1.0, .5, 2.0, .0456, .02, 1.98),
    ))
    lines = shown(render(flagged))
    assert lines[3] == "           x |          0  (omitted)"
    assert lines[4] == "             |"
    assert lines[5] == "      sector |"
    assert lines[6] == "          0  |          0  (base)"
    assert lines[7] == "          1  |          1         .5     2.00   0.046          .02        1.98"
    assert lines[8] == "             |"


def test_confidence_level_shifts_title() -> None:
    table = CoefTable("mathach", (CoefRow("_cons", 1.0, .1, 10.0, 0.0, .8, 1.2),), level=99.5)
    assert shown(render(table))[1] == (
        "     mathach | Coefficient  Std. err.      z    P>|z|   [99.5% conf. interval]")


def test_multilevel_header_group_table() -> None:
    h = MixedHeader(True, 816, (GroupInfo("region", 9, 51, 90.66667, 144),
                                GroupInfo("state", 48, 17, 17.0, 17)), 4, 1148.37, 0.0, 1430.5017)
    lines = render(h).splitlines()
    assert lines[1] == "Mixed-effects REML regression                   Number of obs     =        816"
    assert lines[3] == "Grouping information"
    assert lines[5] == "                |     No. of       Observations per group"
    assert lines[6] == " Group variable |     groups    Minimum    Average    Maximum"
    assert lines[8] == "         region |          9         51       90.7        144"
    assert lines[9] == "          state |         48         17       17.0         17"
    assert lines[-2] == "                                                Wald chi2(4)      =    1148.37"
    assert lines[-1] == "Log restricted-likelihood =  1430.5017          Prob > chi2       =     0.0000"


def test_iteration_log_stata17_text() -> None:
    log = IterationLog(False, (IterationStep(-14210.823), IterationStep(-14209.62),
                               IterationStep(-14209.62, "(backed up)")))
    assert render(log).splitlines() == [
        "",
        "Performing EM optimization ...",
        "",
        "Performing gradient-based optimization: ",
        "Iteration 0:   log likelihood = -14210.823  ",
        "Iteration 1:   log likelihood =  -14209.62  ",
        "Iteration 2:   log likelihood =  -14209.62  (backed up)",
        "",
        "Computing standard errors ...",
    ]
    reml = IterationLog(True, (IterationStep(-694.41877),), em=False)
    assert render(reml).splitlines()[2] == "Iteration 0:   log restricted-likelihood = -694.41877  "


@pytest.mark.parametrize("chi2, expected", [
    (0.0, "LR test vs. linear model: chibar2(01) = 0.00          Prob >= chibar2 = 1.0000"),
    (1360.14, "LR test vs. linear model: chibar2(01) = 1360.14       Prob >= chibar2 = 1.0000"),
    (0.001, "LR test vs. linear model: chibar2(01) = 1.00e-03      Prob >= chibar2 = 1.0000"),
])
def test_lr_statistic_formats(chi2: float, expected: str) -> None:
    t = RETable((), (re_param("var(Residual)", 1.0, .1, .8, 1.2),), LRTestVsLinear(chi2, 1, 1.0, True))
    assert render(t).splitlines()[-1] == expected


def test_lr_chi2_two_df_layout() -> None:
    t = RETable((), (), LRTestVsLinear(7.99, 2, .0184, False, conservative=True))
    lines = render(t).splitlines()
    assert lines[-3] == "LR test vs. linear model: chi2(2) = 7.99                  Prob > chi2 = 0.0184"
    assert lines[-2:] == ["", "Note: LR test is conservative and provided only for reference."]


def test_empty_re_block() -> None:
    t = RETable((REBlock("school", "Identity", ()),), (), None)
    assert render(t).splitlines()[4] == "school:              (empty) |"
