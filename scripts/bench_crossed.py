"""Benchmark crossed random effects against lme4 in the same run; prints a table (not a test).

Cases (ML):
  insteval   data/insteval_like.csv (73,421 ratings, 2,972 students x 1,128 lecturers x 14 depts):
             mixed y i.service || _all: R.s || _all: R.d || dept:
             lme4: y ~ service + (1 | s) + (1 | d) + (1 | dept)
  lme4insteval  lme4's InstEval itself (73,421 ratings; written to /tmp by R), the same model
  movielens  1,000,000 ratings, 6,040 users x 3,706 movies (scripts/gen_crossed_data.py movielens):
             mixed rating || _all: R.user || _all: R.movie
             lme4: rating ~ 1 + (1 | user) + (1 | movie)

Each side runs in a fresh process, ours with the package's bytecode compiled first (as ``pip
install`` does; this machine sets PYTHONDONTWRITEBYTECODE, so otherwise every run recompiles the
modules the command imports); ours times the ``mixed`` command (the whole command, with the
standard errors of the variance components) after importing scipy and the modules ``mixed``
runs (hlmshell's model code: these are imported when first used), as lme4's side loads lme4
before it times ``lmer`` with its default settings (nloptwrap), without the SEs of the variance
components that Stata and we report.  The machine's
load average is printed with the results.

Usage: python scripts/bench_crossed.py [--cases insteval,lme4insteval,movielens] [--no-lme4]
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
MOVIELENS = Path("/tmp/movielens_like.csv")
INSTEVAL = Path("/tmp/insteval_lme4.csv")        # lme4's own InstEval, written by R when missing
EXPORT_INSTEVAL = f"""
d <- lme4::InstEval
d$service <- as.integer(d$service) - 1L
for (v in c("s", "d", "dept")) d[[v]] <- as.integer(as.character(d[[v]]))
write.csv(d[, c("y", "service", "s", "d", "dept")], "{INSTEVAL}", row.names = FALSE)
"""

CASES = {
    "insteval": (ROOT / "data" / "insteval_like.csv",
                 "mixed y i.service || _all: R.s || _all: R.d || dept:, nolog",
                 "y ~ service + (1 | s) + (1 | d) + (1 | dept)", ["s", "d", "dept"]),
    "lme4insteval": (INSTEVAL, "mixed y i.service || _all: R.s || _all: R.d || dept:, nolog",
                     "y ~ service + (1 | s) + (1 | d) + (1 | dept)", ["s", "d", "dept"]),
    "movielens": (MOVIELENS, "mixed rating || _all: R.user || _all: R.movie, nolog",
                  "rating ~ 1 + (1 | user) + (1 | movie)", ["user", "movie"]),
}

OURS = """
import json, resource, sys, time
t = time.perf_counter()
import scipy.linalg, scipy.optimize, scipy.sparse, threadpoolctl   # lme4's library(lme4)
t_libs = time.perf_counter() - t
t = time.perf_counter()     # the code mixed runs, as library(lme4) loads lme4's before lmer is timed
import hlmshell.commands.estimation.mixed, hlmshell.model.multilevel.mixed_model
import hlmshell.model.multilevel.objective, hlmshell.render.mixed
t_code = time.perf_counter() - t
from hlmshell.model.multilevel import objective
from hlmshell.shell.dispatcher import run_line
from hlmshell.shell.session import Session
work = {{"crossed_core": 0, "crossed_posterior": 0}}
for name in work:                   # count the factorisations and the gradients' posteriors
    def counted(*a, _f=getattr(objective, name), _n=name, **k):
        work[_n] += 1
        return _f(*a, **k)
    setattr(objective, name, counted)
s = Session()
t = time.perf_counter(); assert run_line(s, "qui import delimited {csv}") == 0
t_import = time.perf_counter() - t
t, cpu = time.perf_counter(), resource.getrusage(resource.RUSAGE_SELF).ru_utime
assert run_line(s, "qui {cmd}") == 0
secs = time.perf_counter() - t
user = resource.getrusage(resource.RUSAGE_SELF).ru_utime - cpu
fit = s.e.model.fit
print(json.dumps({{"import": t_import, "libs": t_libs, "code": t_code, "secs": secs, "user": user, "ll": s.e.scalars["ll"],
                  "evals": fit.optimiser.evaluations, "factorisations": work["crossed_core"],
                  "gradients": work["crossed_posterior"], "var": [float(v) for v in
                  __import__("numpy").exp(2 * fit.gamma)],
                  "rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024}}))
"""

LME4 = """
suppressMessages(library(lme4))
d <- read.csv("{csv}")
for (v in c({factors})) d[[v]] <- factor(d[[v]])
t <- system.time(m <- lmer({formula}, data = d, REML = FALSE))
vc <- as.data.frame(VarCorr(m))
cat(sprintf('{{"secs": %.3f, "user": %.3f, "ll": %.6f, "var": [%s]}}\\n', t[["elapsed"]],
            t[["user.self"]], as.numeric(logLik(m)), paste(sprintf("%.8g", vc$vcov), collapse=",")))
"""


def run_ours(csv: Path, cmd: str) -> dict:
    code = OURS.format(csv=csv, cmd=cmd)
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True,
                         cwd=ROOT)
    return json.loads(out.stdout.strip().splitlines()[-1])


def run_lme4(csv: Path, formula: str, factors: list[str]) -> dict:
    code = LME4.format(csv=csv, formula=formula, factors=", ".join(f'"{f}"' for f in factors))
    out = subprocess.run(["Rscript", "-e", code], capture_output=True, text=True, check=True)
    return json.loads(out.stdout.strip().splitlines()[-1])


def main() -> None:
    import compileall

    compileall.compile_dir(str(ROOT / "hlmshell"), quiet=1)
    ap = argparse.ArgumentParser()
    ap.add_argument("--cases", default="insteval,movielens")
    ap.add_argument("--no-lme4", action="store_true")
    a = ap.parse_args()
    if "movielens" in a.cases and not MOVIELENS.exists():
        subprocess.run([sys.executable, str(ROOT / "scripts" / "gen_crossed_data.py"), "movielens",
                        "--out", str(MOVIELENS)], check=True)
    if "lme4insteval" in a.cases and not INSTEVAL.exists():
        subprocess.run(["Rscript", "-e", EXPORT_INSTEVAL], check=True, capture_output=True)
    print(f"{'case':<11}{'side':<7}{'seconds':>9}{'ratio':>8}{'asked':>7}{'peak MB':>9}"
          f"  log likelihood   variances")
    for name in a.cases.split(","):
        csv, cmd, formula, factors = CASES[name]
        load = os.getloadavg()
        ours = run_ours(csv, cmd)
        lme4 = None if a.no_lme4 else run_lme4(csv, formula, factors)
        ratio = f"{ours['secs'] / lme4['secs']:.3f}" if lme4 else "-"   # elapsed; user below
        print(f"{name:<11}{'ours':<7}{ours['secs']:>9.2f}{ratio:>8}{ours['evals']:>7}"
              f"{ours['rss_mb']:>9.0f}  {ours['ll']:.4f}  {' '.join(f'{v:.5g}' for v in ours['var'])}"
              f"   (user {ours['user']:.1f} s; {ours['factorisations']} factorisations, "
              f"{ours['gradients']} gradients; import delimited {ours['import']:.2f} s; scipy "
              f"imported beforehand in {ours['libs']:.2f} s, hlmshell's mixed in {ours['code']:.2f} s)",
              flush=True)
        if lme4:
            print(f"{'':<11}{'lme4':<7}{lme4['secs']:>9.2f}{'':>8}{'':>7}{'':>9}  {lme4['ll']:.4f}  "
                  f"{' '.join(f'{v:.5g}' for v in lme4['var'])}   (user {lme4['user']:.1f} s; ratio of "
                  f"user CPU {ours['user'] / lme4['user']:.3f})")
        print(f"{'':<11}load average before the case: {load[0]:.2f} {load[1]:.2f} {load[2]:.2f}; "
              f"after: {' '.join(f'{x:.2f}' for x in os.getloadavg())}", flush=True)
    sys.stdout.flush()


if __name__ == "__main__":
    t0 = time.perf_counter()
    main()
    print(f"(total {time.perf_counter() - t0:.0f} s)")
