"""``mixed ... using file.parquet``: one streaming pass over the row groups gives the in-memory fit's
numbers (the same cross-products, summed chunk by chunk); what the pass cannot do is refused with
the data in memory left as they were."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from hlmshell.shell.dispatcher import run_line
from hlmshell.shell.output import capture_output
from hlmshell.shell.session import Session


@pytest.fixture(scope="module")
def parquet_file(tmp_path_factory):
    import pyarrow as pa
    from pyarrow import parquet as pq

    rng = np.random.default_rng(11)
    n, G = 40_000, 400
    g = rng.permutation(np.repeat(np.arange(G), n // G))    # a group's rows in many row groups
    school = g // 20
    x = rng.normal(size=n)
    y = (1 + 0.5 * x + rng.normal(0, 1, G)[g] + rng.normal(0, 0.3, G)[g] * x
         + rng.normal(0, 0.5, G // 20)[school] + rng.normal(size=n))
    y[::997] = np.nan                                      # missing: dropped in both fits
    path = tmp_path_factory.mktemp("stream") / "big.parquet"
    pq.write_table(pa.table({"y": y, "x": x, "cls": g.astype(np.int32),
                             "school": school.astype(np.int16)}), path, row_group_size=3_000)
    return path


def _session(cwd):
    out, buf = capture_output()
    return Session(out=out, cwd=cwd), buf


@pytest.mark.parametrize("fixed, rest", [("mixed y x", "|| cls: x, cov(unstructured)"),
                                         ("mixed y x", "|| school: || cls: x, reml"),
                                         ("mixed y x", ", noconstant || school: x")])
def test_streamed_fit_equals_the_in_memory_fit(parquet_file, fixed, rest):
    mem, _ = _session(parquet_file.parent)
    assert run_line(mem, "use big.parquet") == 0 and run_line(mem, f"qui {fixed} {rest}") == 0
    s, buf = _session(parquet_file.parent)
    assert run_line(s, f"{fixed} using big.parquet {rest}") == 0
    a, b = mem.e, s.e
    assert b.scalars["ll"] == pytest.approx(a.scalars["ll"], abs=1e-8)
    assert b.scalars["N"] == a.scalars["N"] == 40_000 - 41
    np.testing.assert_allclose(b.matrices["b"].values, a.matrices["b"].values, rtol=1e-8, atol=1e-10)
    # V comes from differences of the gradient, at the optimum or a step before it where the
    # curvature held to optimise.HESSIAN_REUSE (1e-4 of the flattest direction's): each element
    # against its row's and column's scale, to that tolerance (a covariance near 0 differs in its
    # leading digits from rounding at the level of the others)
    Va, Vb = a.matrices["V"].values, b.matrices["V"].values
    scale = np.sqrt(np.outer(np.diag(Va), np.diag(Va)))
    np.testing.assert_allclose(Vb / scale, Va / scale, rtol=0, atol=1e-4)
    for key in ("N_g", "g_min", "g_avg", "g_max"):
        np.testing.assert_array_equal(b.matrices[key].values, a.matrices[key].values)
    assert "Number of obs     =     39,959" in buf.getvalue()


def test_predict_after_a_streamed_fit_uses_the_data_in_memory(parquet_file):
    mem, _ = _session(parquet_file.parent)
    assert run_line(mem, "use big.parquet") == 0
    assert run_line(mem, "qui mixed y x || cls: x") == 0
    assert run_line(mem, "predict f0, fitted") == 0 and run_line(mem, "predict u1 u0, reffects") == 0
    s, _ = _session(parquet_file.parent)
    assert run_line(s, "use x cls in 1/500 using big.parquet") == 0
    assert run_line(s, "qui mixed y x using big.parquet || cls: x") == 0
    assert run_line(s, "count if e(sample)") == 0 and s.r.scalars["N"] == 0
    assert run_line(s, "predict u1 u0, reffects") == 0
    np.testing.assert_allclose(s.data["u0"], mem.data["u0"][:500], atol=1e-9)
    assert run_line(s, "predict xb, xb") == 0
    beta = s.e.matrices["b"].values[0]
    np.testing.assert_allclose(s.data["xb"], beta[0] * s.data["x"] + beta[1], rtol=1e-7)  # float


@pytest.mark.parametrize("cmd, rc", [
    ("mixed y x using big.parquet || _all: R.school || cls:", 198),
    ("mixed y i.school using big.parquet || cls:", 101),
    ("mixed y x using big.parquet if x > 0 || cls:", 101),
    ("mixed y x using big.parquet || cls:, reml dfmethod(kroger)", 198),
    ("mixed y x using nosuch.parquet || cls:", 601),
    ("mixed y nosuch using big.parquet || cls:", 111),
])
def test_what_the_pass_cannot_do_is_refused(parquet_file, cmd, rc):
    s, _ = _session(parquet_file.parent)
    s.set_data(pd.DataFrame({"a": [1.0, 2.0]}))
    before = s.data.copy()
    assert run_line(s, cmd) == rc
    pd.testing.assert_frame_equal(s.data, before)
    assert s.e is None
