"""Benchmark the mixed-model estimation core; prints a table (not a test).

Each case runs in a fresh subprocess so that its peak memory (ru_maxrss) is its own.
Usage: python scripts/bench_mixed.py [--max-rows N] [--statsmodels]
       python scripts/bench_mixed.py --whole [--rows 10000000] [--groups 100000]

``--whole`` times what a user waits for: ``import delimited`` of a CSV of y, x and a group code,
then ``mixed y x || g: x, cov(unstructured)`` (ML), each as typed at the prompt, with the process's
peak memory, against (a) the fit alone (fit_lmm inside that command), (b) a numpy one-pass
cross-product: the per-group sums of [1 x]'[1 x y] by np.bincount, the least pass over the data any
method makes, and (c) the data's binary size (three float64 columns, as the issue counts it).
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import resource
import subprocess
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]

CASES = [("hsb", 7185, 160, "slope")] + [
    ("synthetic", n, g, kind)
    for n, g in ((10_000, 100), (100_000, 1_000), (1_000_000, 10_000), (10_000_000, 100_000))
    for kind in ("intercept", "slope")
]


def _data(name: str, n: int, g: int):
    if name == "hsb":
        import pandas as pd

        d = pd.read_stata(ROOT / "data" / "hsb.dta")
        return d.mathach.to_numpy(float), d.ses.to_numpy(float), d.id.to_numpy()
    rng = np.random.default_rng(12345)
    grp = rng.integers(0, g, size=n)
    x = rng.normal(size=n)
    u0 = rng.normal(0, 1.5, size=g)
    u1 = rng.normal(0, 0.5, size=g)
    y = 1.0 + 0.5 * x + u0[grp] + u1[grp] * x + rng.normal(0, 2.0, size=n)
    return y, x, grp


def run_case(name: str, n: int, g: int, kind: str, with_statsmodels: bool) -> dict:
    import scipy.optimize  # noqa: F401 - imported on first use by the fit; not part of its time

    from hlmshell.model.multilevel.lmm import REEquation, fit_lmm

    y, x, grp = _data(name, n, g)
    one = np.ones(len(y))
    X = np.column_stack([x, one])
    if kind == "slope":
        eq = REEquation(0, ["x", "_cons"], np.column_stack([x, one]), "unstructured")
    else:
        eq = REEquation(0, ["_cons"], one[:, None], "identity")
    # the inputs of fit_lmm: y, X, group codes, Z
    data_bytes = y.nbytes + X.nbytes + np.asarray(grp).nbytes + eq.Z.nbytes
    base_rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    t = time.perf_counter()
    fit = fit_lmm(y, X, [grp], [eq])
    secs = time.perf_counter() - t
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    out = {"case": f"{name} {kind}", "n": len(y), "groups": fit.levels[0].n_groups, "secs": secs,
           "iters": fit.optimiser.iterations, "ll": fit.ll, "converged": fit.converged,
           "extra_mb": (peak - base_rss) / 1024, "data_mb": data_bytes / 2**20, "sm": None}
    if with_statsmodels and len(y) <= 100_000:
        try:
            from statsmodels.regression.mixed_linear_model import MixedLM
        except ImportError:
            out["sm"] = "not installed"
        else:
            t = time.perf_counter()
            exog_re = np.column_stack([one, x]) if kind == "slope" else one[:, None]
            r = MixedLM(y, X, groups=grp, exog_re=exog_re).fit(reml=False)
            out["sm"] = f"{time.perf_counter() - t:.2f}s ll={r.llf:.3f}"
    return out


WHOLE = """
import json, resource, sys, time
import numpy as np
from hlmshell.model.multilevel import lmm, mixed_model
from hlmshell.shell.dispatcher import run_line
from hlmshell.shell.session import Session
spent = {}
inner = mixed_model.fit_lmm
def timed(*a, **k):
    t = time.perf_counter(); out = inner(*a, **k); spent["fit"] = time.perf_counter() - t
    return out
mixed_model.fit_lmm = timed
s = Session()
t = time.perf_counter(); assert run_line(s, "qui import delimited %s") == 0
spent["import"] = time.perf_counter() - t
rss_import = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
t = time.perf_counter(); assert run_line(s, "qui mixed y x || g: x, cov(unstructured) nolog") == 0
spent["mixed"] = time.perf_counter() - t
rss_command = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024   # before the numpy pass
d = s.data
y, x, g = d.y.to_numpy(float), d.x.to_numpy(float), d.g.to_numpy()
t = time.perf_counter()
G = int(g.max()) + 1
cols = [np.ones(len(x)), x, y]
sums = [np.bincount(g, weights=cols[a] * cols[b], minlength=G) for a in range(2) for b in range(a, 3)]
spent["crossprod"] = time.perf_counter() - t
print(json.dumps(dict(spent, ll=s.e.scalars["ll"], evals=s.e.model.fit.optimiser.evaluations,
                      rss_import=rss_import, rss=rss_command)))
"""


def whole_command(rows: int, groups: int) -> None:
    import os

    csv = Path(f"/tmp/bench_whole_{rows}_{groups}.csv")
    if not csv.exists():
        y, x, grp = _data("synthetic", rows, groups)
        import pandas as pd

        pd.DataFrame({"y": np.round(y, 4), "x": np.round(x, 4), "g": grp}).to_csv(
            csv, index=False, float_format="%.4f")
    load = os.getloadavg()
    out = subprocess.run([sys.executable, "-c", WHOLE % csv], capture_output=True, text=True,
                         check=True, cwd=ROOT)
    r = json.loads(out.stdout.strip().splitlines()[-1])
    data_mb = rows * 3 * 8 / 2**20
    whole = r["import"] + r["mixed"]
    print(f"{rows:,} rows, {groups:,} groups, CSV {csv.stat().st_size / 2**20:.0f} MiB; "
          f"load average {load[0]:.2f} {load[1]:.2f} {load[2]:.2f} "
          f"(after: {' '.join(f'{v:.2f}' for v in os.getloadavg())})")
    print(f"  import delimited {r['import']:8.2f} s   peak RSS so far {r['rss_import']:7.0f} MiB")
    print(f"  mixed            {r['mixed']:8.2f} s   of which the fit {r['fit']:.2f} s "
          f"({r['evals']} likelihood+gradient evaluations), ll {r['ll']:.4f}")
    print(f"  whole command    {whole:8.2f} s = {whole / r['fit']:.2f}x the fit")
    print(f"  numpy one-pass per-group cross-products {r['crossprod']:.2f} s: the fit is "
          f"{r['fit'] / r['crossprod']:.1f}x")
    print(f"  peak RSS of the two commands {r['rss']:.0f} MiB = {r['rss'] / data_mb:.2f}x the data's "
          f"{data_mb:.0f} MiB (3 float64 columns; before the numpy pass, whose columns are its own)")


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--max-rows", type=int, default=10_000_000)
    ap.add_argument("--statsmodels", action="store_true")
    ap.add_argument("--whole", action="store_true")
    ap.add_argument("--rows", type=int, default=10_000_000)
    ap.add_argument("--groups", type=int, default=100_000)
    ap.add_argument("--one", help=argparse.SUPPRESS)
    a = ap.parse_args()
    if a.whole:
        whole_command(a.rows, a.groups)
        return
    if a.one:
        name, n, g, kind = json.loads(a.one)
        print(json.dumps(run_case(name, n, g, kind, a.statsmodels)))
        return
    sm_note = ("statsmodels available" if importlib.util.find_spec("statsmodels")
               else "statsmodels not installed: no comparison")
    print(f"{'case':<22}{'rows':>11}{'groups':>8}{'seconds':>9}{'iters':>7}{'conv':>6}"
          f"{'input MB':>9}{'extra MB':>10}  log likelihood")
    for case in CASES:
        if case[1] > a.max_rows:
            continue
        cmd = [sys.executable, __file__, "--one", json.dumps(case)] + (["--statsmodels"] if a.statsmodels else [])
        res = json.loads(subprocess.run(cmd, capture_output=True, text=True, check=True).stdout)
        print(f"{res['case']:<22}{res['n']:>11,}{res['groups']:>8,}{res['secs']:>9.3f}{res['iters']:>7}"
              f"{str(res['converged']):>6}{res['data_mb']:>9.1f}{res['extra_mb']:>10.1f}  {res['ll']:.4f}"
              + (f"   statsmodels: {res['sm']}" if res["sm"] else ""))
    print(f"({sm_note}; input MB = y, X, Z and group codes as passed to fit_lmm;\n"
          " extra MB = peak RSS during the fit minus peak RSS before it)")


if __name__ == "__main__":
    main()
