"""Models that are not identified are refused, not reported as converged (issue 12, item 6)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from runner import runner


@pytest.fixture(scope="module")
def hsb():
    run = runner()
    run("use hsb")
    run("gen one = 1")
    run("gen obs = _n")
    return run


def _refused(run, line: str, message: str) -> None:
    before, e = run.session.data.copy(), run.session.e
    assert run(line, rc=459).splitlines() == [message, "r(459);"]
    pd.testing.assert_frame_equal(run.session.data, before)
    assert run.session.e is e


def test_a_random_effect_that_is_constant_is_collinear_with_cons(hsb):
    _refused(hsb, "mixed mathach ses || id: one",
             "id: random effect one is collinear with _cons; the model is not identified")


def test_the_same_constant_without_cons_is_the_random_intercept(hsb):
    hsb("mixed mathach ses || id: one, nocons")
    assert hsb.session.e.scalars["converged"] == 1
    hsb("mixed mathach ses || id:")
    ll = hsb.session.e.scalars["ll"]
    hsb("mixed mathach ses || id: one, nocons")
    assert hsb.session.e.scalars["ll"] == pytest.approx(ll, abs=1e-6)


def test_a_school_level_slope_is_identified_through_heteroscedasticity(hsb):
    hsb("mixed mathach ses || id: meanses")
    assert hsb.session.e.scalars["converged"] == 1


@pytest.mark.parametrize("levels", [2, 16])
def test_a_level_repeated_with_its_cons(hsb, levels):
    _refused(hsb, "mixed mathach ses " + "|| id: " * levels,
             "id: random effect _cons is collinear with _cons in another equation of id; the "
             "model is not identified")


def test_a_slope_in_two_equations_of_one_level(hsb):
    _refused(hsb, "mixed mathach ses || id: ses || id: ses, nocons",
             "id: random effect ses is collinear with ses in another equation of id; the model "
             "is not identified")


def test_two_equations_of_one_level_with_different_effects_are_fitted(hsb):
    hsb("mixed mathach ses || id: ses, nocons || id:")
    assert hsb.session.e.macros["revars"] == "ses _cons"


def test_every_group_one_observation_is_refused_as_lme4_does(hsb):
    _refused(hsb, "mixed mathach ses || obs:",
             "obs: every group has one observation; its random effects cannot be told from the "
             "residual and the model is not identified")


def test_a_nested_level_of_single_observations(hsb):
    _refused(hsb, "mixed mathach ses || id: || obs:",
             "obs: every group has one observation; its random effects cannot be told from the "
             "residual and the model is not identified")


@pytest.mark.parametrize("sample", ["in 1", "in 1/2"])
def test_one_or_two_observations_are_insufficient(hsb, sample):
    assert hsb(f"mixed mathach ses {sample} || id:", rc=2001).splitlines() == [
        "insufficient observations", "r(2001);"]


def test_a_constant_outcome_is_refused_with_statas_message():
    run = runner(data=pd.DataFrame({"y": np.full(20, 3.0), "x": np.arange(20.0),
                                    "g": np.repeat(np.arange(5), 4)}))
    out = run("mixed y x || g:", rc=1400)
    assert out.splitlines() == ["initial values not feasible", "r(1400);"]
    assert "math domain" not in out
