"""Benchmark small-sample inference after REML mixed (not a test): Kenward–Roger and Satterthwaite.

For each synthetic random-slope data set of bench_mixed.py (y = 1 + 0.5x + u0 + u1·x + e, groups
of equal expected size) it times, in this process, the REML fit (``fit_lmm``) and then the df step (the REML
derivatives by differencing the factorisation, Kenward–Roger's adjusted covariance and df, and
Satterthwaite's df, both with the expected information).  On sizes R can do, the same data go to R:
``lme4::lmer`` (REML, bobyqa), ``pbkrtest::vcovAdj`` + ``get_Lb_ddf`` and ``lmerTest``'s
Satterthwaite summary (observed information: its df differ from ours by design), timed there, and
the df and KR SEs are compared.  pbkrtest forms n x n matrices, so the largest size is ours alone.

Usage: python scripts/bench_ddf.py [--max-r-rows N] [--no-r]
"""

from __future__ import annotations

import argparse
import json
import shutil
import subprocess
import tempfile
import time
from pathlib import Path

import numpy as np
from bench_mixed import (
    _data as synthetic_data,  # the same synthetic data (scripts/ is on the path)
)

SIZES = [(2_000, 100), (5_000, 250), (100_000, 1_000)]

R_SCRIPT = r"""
suppressPackageStartupMessages({library(lme4); library(pbkrtest); library(lmerTest); library(jsonlite)})
d <- read.csv(commandArgs(TRUE)[1])
t0 <- proc.time()[["elapsed"]]
m <- lme4::lmer(y ~ x + (x | g), data = d, REML = TRUE,
                control = lmerControl(optimizer = "bobyqa"))
t1 <- proc.time()[["elapsed"]]
V <- as.matrix(vcovAdj(m))
L <- diag(2)
kr <- sapply(1:2, function(i) get_Lb_ddf(m, L[i, , drop = FALSE]))
t2 <- proc.time()[["elapsed"]]
s <- summary(as_lmerModLmerTest(m), ddf = "Satterthwaite")
t3 <- proc.time()[["elapsed"]]
cat(toJSON(list(fit = t1 - t0, kr = t2 - t1, sat = t3 - t2, ll = as.numeric(logLik(m)),
                kr_df = kr, kr_se = sqrt(diag(V)), sat_df = unname(s$coefficients[, "df"])),
           digits = NA, auto_unbox = TRUE))
"""


def ours(y: np.ndarray, x: np.ndarray, grp: np.ndarray) -> dict:
    import scipy.optimize  # noqa: F401 - imported on first use; not part of the timings

    from hlmshell.inference.ddf import approximate
    from hlmshell.model.multilevel.lmm import REEquation, fit_lmm
    from hlmshell.model.multilevel.reml_derivatives import reml_derivatives

    one = np.ones(len(y))
    X = np.column_stack([one, x])                 # lme4's order: (Intercept), x
    eq = REEquation(0, ["x", "_cons"], np.column_stack([x, one]), "unstructured")
    t0 = time.perf_counter()
    fit = fit_lmm(y, X, [grp], [eq], reml=True)
    t1 = time.perf_counter()
    d = reml_derivatives(fit)
    cols = (0, 1)
    kr = approximate("kroger", True, cols, 2, d.XtVX, d.P, d.Q, d.eim, d.oim)
    sat = approximate("satterthwaite", True, cols, 2, d.XtVX, d.P, d.Q, d.eim, d.oim)
    t2 = time.perf_counter()
    sat_oim = approximate("satterthwaite", False, cols, 2, d.XtVX, d.P, d.Q, d.eim, d.oim)
    return {"fit": t1 - t0, "ddf": t2 - t1, "ll": fit.ll, "kr_df": kr.df.tolist(),
            "kr_se": np.sqrt(np.diag(kr.V)).tolist(), "sat_df": sat.df.tolist(),
            "sat_oim_df": sat_oim.df.tolist()}


def in_r(y: np.ndarray, x: np.ndarray, grp: np.ndarray) -> dict | None:
    if shutil.which("Rscript") is None:
        return None
    with tempfile.TemporaryDirectory() as tmp:
        csv, script = Path(tmp) / "d.csv", Path(tmp) / "bench.R"
        np.savetxt(csv, np.column_stack([y, x, grp]), delimiter=",", header="y,x,g",
                   comments="", fmt=["%.17g", "%.17g", "%d"])
        script.write_text(R_SCRIPT)
        t = time.perf_counter()
        run = subprocess.run(["Rscript", str(script), str(csv)], capture_output=True, text=True)
        wall = time.perf_counter() - t
    if run.returncode:
        return {"error": run.stderr.strip().splitlines()[-1:]}
    out = json.loads(run.stdout)
    out["wall"] = wall
    return out


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--max-r-rows", type=int, default=5_000)
    ap.add_argument("--no-r", action="store_true")
    a = ap.parse_args()
    print(f"{'rows':>8}{'groups':>7}{'fit s':>8}{'df s':>7}  {'KR df (x, _cons)':<22}"
          f"{'KR se':<22}{'R: fit s':>9}{'KR s':>8}{'Satt s':>8}  max rel diff (KR df, KR se); "
          "Satt EIM (Stata's default) vs lmerTest (OIM)")
    for n, g in SIZES:
        y, x, grp = synthetic_data("synthetic", n, g)
        o = ours(y, x, grp)
        line = (f"{n:>8,}{g:>7,}{o['fit']:>8.2f}{o['ddf']:>7.2f}  "
                f"{o['kr_df'][1]:>9.3f} {o['kr_df'][0]:>9.3f}   {o['kr_se'][1]:>9.5f} "
                f"{o['kr_se'][0]:>9.5f}  ")
        r = None if a.no_r or n > a.max_r_rows else in_r(y, x, grp)
        if r is None:
            line += f"{'(not run)':>9}"
        elif "error" in r:
            line += f"  R failed: {r['error']}"
        else:
            dfd = max(abs(p / q - 1) for p, q in zip(o["kr_df"], r["kr_df"]))
            sed = max(abs(p / q - 1) for p, q in zip(o["kr_se"], r["kr_se"]))
            satd = max(abs(p / q - 1) for p, q in zip(o["sat_df"], r["sat_df"]))
            oimd = max(abs(p / q - 1) for p, q in zip(o["sat_oim_df"], r["sat_df"]))
            line += (f"{r['fit']:>9.2f}{r['kr']:>8.2f}{r['sat']:>8.2f}  {dfd:.1e}, {sed:.1e}; "
                     f"{satd:.1e} (our OIM: {oimd:.1e}; ll diff {o['ll'] - r['ll']:.1e})")
        print(line, flush=True)


if __name__ == "__main__":
    main()
