"""e(sample) and predict follow the observations, not their row positions (issue 12, item 2).

Every observation keeps a key through sort, gsort, drop, keep, merge and preserve/restore
(hlmshell/shell/session.py set_data); e(sample) is the set of keys a fit used, and predict evaluates
the model on the variables of each observation.  Each example of the issue is checked here against
what was predicted before the data were rearranged.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from runner import runner


@pytest.fixture(scope="module")
def fitted():
    """HSB after ``mixed mathach ses if female==1 || id: ses``, with the predictions made at once
    (by student number ``obs``)."""
    run = runner()
    run("use hsb")
    run("gen obs = _n")
    run("quietly mixed mathach ses if female==1 || id: ses")
    run("predict double u1 u0, reffects")
    run("predict double fit, fitted")
    run("predict double res, residuals")
    run("predict double xb, xb")
    snap = run.session.snapshot()
    reference = run.session.data.set_index("obs")[["u1", "u0", "fit", "res", "xb"]].copy()
    return run, snap, reference


@pytest.fixture
def sh(fitted):
    run, snap, reference = fitted
    run.session.restore(snap)
    run("drop u1 u0 fit res xb")
    run.reference = reference
    return run


def _sample_count(sh, condition: str = "") -> int:
    return int(sh(f"count if e(sample){condition}").strip().replace(",", ""))


def _predictions_match(sh) -> None:
    """Predict again and compare observation by observation with what was predicted first."""
    for line in ("predict double u1 u0, reffects", "predict double fit, fitted",
                 "predict double res, residuals", "predict double xb, xb"):
        sh(line)
    now = sh.session.data.set_index("obs")[["u1", "u0", "fit", "res", "xb"]]
    pd.testing.assert_frame_equal(now.sort_index(), sh.reference.loc[now.index].sort_index(),
                                  rtol=1e-12, atol=1e-12)
    # a school's random effects are one value for all its students
    assert (sh.session.data.groupby("id")[["u1", "u0"]].nunique(dropna=False) <= 1).all().all()


N = 3795        # girls: the estimation sample


@pytest.mark.parametrize("reorder", ["sort ses", "gsort -mathach", "gsort -id +ses",
                                     "sort id minority mathach"])
def test_a_sort_moves_the_sample_and_the_predictions_with_the_observations(sh, reorder):
    sh(reorder)
    assert _sample_count(sh) == N
    assert _sample_count(sh, " & female==0") == 0
    _predictions_match(sh)


def _girls(sh) -> int:
    """The estimation sample in memory: every girl (HSB has no missing values)."""
    return int((sh.session.data["female"] == 1).sum())


def test_drop_in_after_a_sort(sh):
    sh("sort ses")
    sh("drop in 1/500")
    assert _sample_count(sh) == _girls(sh) < N
    assert _sample_count(sh, " & female==0") == 0
    _predictions_match(sh)


def test_keep_if(sh):
    sh("keep if minority==1")
    assert _sample_count(sh) == _girls(sh)
    assert _sample_count(sh, " & minority==0") == 0
    _predictions_match(sh)


def test_keep_in_after_gsort(sh):
    sh("gsort -mathach")
    sh("keep in 1/1000")
    assert _sample_count(sh) == _girls(sh)
    _predictions_match(sh)


def test_preserve_drop_restore(sh):
    sh("preserve")
    sh("sort ses")
    sh("drop if female==1")
    assert _sample_count(sh) == 0
    sh("restore")
    assert _sample_count(sh) == N
    assert _sample_count(sh, " & female==0") == 0
    _predictions_match(sh)


def test_merge_many_to_one_keeps_the_sample(sh, tmp_path):
    schools = sh.session.data.groupby("id", as_index=False)["size"].first()
    schools["big"] = (schools["size"] > 1000).astype(np.int8)
    schools[["id", "big"]].to_stata(tmp_path / "schools.dta", write_index=False, version=118)
    sh.session.cwd = tmp_path
    sh("gsort -ses")
    sh("merge m:1 id using schools")
    assert _sample_count(sh) == N
    assert _sample_count(sh, " & female==0") == 0
    _predictions_match(sh)


def test_merge_that_adds_observations_leaves_them_out_of_the_sample(sh, tmp_path):
    extra = pd.DataFrame({"obs": [900001.0, 900002.0], "id": [9999.0, 9999.0],
                          "female": [1.0, 1.0], "ses": [0.0, 1.0], "mathach": [10.0, 12.0]})
    extra.to_stata(tmp_path / "more.dta", write_index=False, version=118)
    sh.session.cwd = tmp_path
    sh("sort ses")
    sh("merge 1:1 obs using more, nogenerate")
    assert sh.session.nobs == 7185 + 2
    assert _sample_count(sh) == N
    assert _sample_count(sh, " & obs > 900000") == 0


def test_keys_widen_past_int32_and_e_sample_still_matches():
    """Keys are int32 while every key given out fits (half the memory at 1e7 rows), int64 after;
    an e(sample) kept in one type selects the same observations in the other."""
    run = runner()
    run("use hsb")
    assert run.session.keys.dtype == np.int32
    run("quietly regress mathach ses if female==1")
    fitted = int(run.session.data["female"].eq(1).sum())
    run.session._next_key = 2**31 - 10          # as after many datasets; the next keys overflow int32
    run("set obs 7200")                         # 15 new observations: keys past 2**31
    keys = run.session.keys
    assert keys.dtype == np.int64 and keys.max() >= 2**31 and len(np.unique(keys)) == 7200
    run("count if e(sample)")
    assert run.session.r.scalars["N"] == fitted == 3795
    run("gsort -mathach")
    run("count if e(sample) & female == 0")
    assert run.session.r.scalars["N"] == 0
