"""tabulate twoway: percentages, the key, chi2, likelihood-ratio chi2, Cramér's V and Fisher's exact
test, checked against a published Stata log, scipy.stats and a brute-force enumeration."""

import itertools
import math

import numpy as np
import pandas as pd
import pytest
from scipy import stats

from runner import runner

from hlmshell.inference.tables import fisher_exact, fisher_one_sided


def _session(counts, names=("r", "c")):
    rows = [(i, j) for i, row in enumerate(counts) for j, n in enumerate(row) for _ in range(n)]
    return runner(data=pd.DataFrame(rows, columns=list(names)))


# Stata's output for ``tab imut death, row chi2 lrchi2 V exact`` (a published log; its gamma and
# tau-b lines are left out: those options are not implemented).
STATA_IMUT_DEATH = """
+----------------+
| Key            |
|----------------|
| frequency      |
| row percentage |
+----------------+

           |         death
      imut |         0          1 |     Total
-----------+----------------------+----------
         0 |        39          4 |        43 
           |     90.70       9.30 |    100.00 
-----------+----------------------+----------
         1 |        31         11 |        42 
           |     73.81      26.19 |    100.00 
-----------+----------------------+----------
     Total |        70         15 |        85 
           |     82.35      17.65 |    100.00 

          Pearson chi2(1) =   4.1698   Pr = 0.041
 Likelihood-ratio chi2(1) =   4.3015   Pr = 0.038
               Cramér's V =   0.2215
           Fisher's exact =                 0.050
   1-sided Fisher's exact =                 0.038"""


def test_two_by_two_matches_the_stata_log():
    run = _session([[39, 4], [31, 11]], ("imut", "death"))
    assert run("tab imut death, row chi2 lrchi2 V exact") == \
        STATA_IMUT_DEATH + "\n"
    r = run.session.r.scalars
    assert r["N"] == 85 and r["r"] == 2 and r["c"] == 2
    expected = stats.chi2_contingency([[39, 4], [31, 11]], correction=False)
    assert r["chi2"] == pytest.approx(expected[0], rel=1e-12)
    assert r["p"] == pytest.approx(expected[1], rel=1e-10)
    assert r["p_exact"] == pytest.approx(stats.fisher_exact([[39, 4], [31, 11]])[1], rel=1e-10)
    assert r["p1_exact"] == pytest.approx(
        stats.fisher_exact([[39, 4], [31, 11]], alternative="greater")[1], rel=1e-10)


def test_tabi_example_fisher_and_layout():
    """``tabi 30 18 \\ 18 14, exact`` as the same published material prints it."""
    run = _session([[30, 18], [18, 14]], ("row", "col"))
    out = run("tab row col, exact").splitlines()
    assert out[-2:] == ["           Fisher's exact =                 0.645",
                        "   1-sided Fisher's exact =                 0.371"]
    assert out[1:4] == ["           |          col",
                        "       row |         0          1 |     Total",
                        "-----------+----------------------+----------"]


def _brute_force_exact(table):
    """Sum of the probabilities of every table with the same margins no more probable than it."""
    table = np.asarray(table)
    R, C, n = table.sum(1), table.sum(0), table.sum()

    def logp(t):
        return (sum(math.lgamma(v + 1) for v in R) + sum(math.lgamma(v + 1) for v in C)
                - math.lgamma(n + 1) - sum(math.lgamma(v + 1) for v in np.ravel(t)))

    observed, total = logp(table), 0.0
    cells = [range(min(r, c) + 1) for r in R[:-1] for c in C[:-1]]
    k = len(C) - 1
    for free in itertools.product(*cells):
        t = np.zeros_like(table)
        t[:-1, :-1] = np.array(free).reshape(len(R) - 1, k)
        t[:-1, -1] = R[:-1] - t[:-1, :-1].sum(1)
        t[-1, :] = C - t[:-1, :].sum(0)
        if (t < 0).any():
            continue
        if logp(t) <= observed + 1e-7 * abs(observed):
            total += math.exp(logp(t))
    return total


@pytest.mark.parametrize("table", [
    [[3, 1, 4], [1, 5, 2], [2, 2, 0]],
    [[5, 0, 2, 1], [1, 4, 1, 3]],
    [[2, 7], [8, 2], [3, 3]],
])
def test_r_by_c_statistics_against_scipy_and_enumeration(table):
    run = _session(table)
    out = run("tab r c, chi2 lrchi2 exact V")
    pearson = stats.chi2_contingency(table, correction=False)
    lr = stats.chi2_contingency(table, correction=False, lambda_="log-likelihood")
    r = run.session.r.scalars
    assert r["chi2"] == pytest.approx(pearson[0], rel=1e-12)
    assert r["chi2_lr"] == pytest.approx(lr[0], rel=1e-12)
    assert r["p_lr"] == pytest.approx(lr[1], rel=1e-10)
    v = math.sqrt(pearson[0] / (np.sum(table) * (min(np.shape(table)) - 1)))
    assert r["CramersV"] == pytest.approx(v, rel=1e-12)
    assert r["p_exact"] == pytest.approx(_brute_force_exact(table), rel=1e-9)
    assert "p1_exact" not in r
    df = (len(table) - 1) * (len(table[0]) - 1)
    assert f"          Pearson chi2({df}) = {pearson[0]:8.4f}   Pr = {pearson[1]:5.3f}" in out


def test_fisher_against_scipy_for_two_by_two():
    rng = np.random.default_rng(7)
    for _ in range(20):
        t = rng.integers(0, 30, size=(2, 2))
        if (t.sum(0) == 0).any() or (t.sum(1) == 0).any():
            continue
        assert fisher_exact(t) == pytest.approx(stats.fisher_exact(t)[1], rel=1e-9, abs=1e-15)
        a, (r1, c1, n) = t[0, 0], (t[0].sum(), t[:, 0].sum(), t.sum())
        side = "greater" if a >= r1 * c1 / n else "less"
        assert fisher_one_sided(t) == pytest.approx(stats.fisher_exact(t, alternative=side)[1],
                                                    rel=1e-9, abs=1e-15)


def test_column_cell_and_nofreq_layout():
    run = _session([[2, 1], [1, 4]])
    out = run("tab r c, col cell nofreq").splitlines()
    assert out[:8] == ["", "+-------------------+", "| Key               |",
                       "|-------------------|", "| column percentage |",
                       "| cell percentage   |", "+-------------------+", ""]
    assert out[10:13] == ["-----------+----------------------+----------",
                          "         0 |     66.67      20.00 |     37.50 ",
                          "           |     25.00      12.50 |     37.50 "]
    assert out[-2:] == ["     Total |    100.00     100.00 |    100.00 ",
                        "           |     37.50      62.50 |    100.00 "]


def test_two_way_options_are_refused_for_one_way_tables():
    run = _session([[2, 1], [1, 4]])
    assert run("tab r, chi2", rc=198).splitlines() == ["option chi2 not allowed", "r(198);"]
    assert run("tab r, row", rc=198).splitlines() == ["option row not allowed", "r(198);"]
