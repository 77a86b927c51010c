"""Benchmark GLMMs against lme4's glmer in the same run; prints a table (not a test).

Data: 100,000 rows in 1,000 groups of 100 (seeded numpy, written once to /tmp/glmm_bench.csv),
y ~ Bernoulli(invlogit(-0.5 + 0.6 x1 - 0.4 x2 + u_g + v_g x1)), u_g ~ N(0, 0.8²),
v_g ~ N(0, 0.4²), x1 normal, x2 a 0/1 draw.

Cases:
  ri_mvagh   melogit y x1 x2 || g:                           (Stata's default, mvaghermite 7)
  ri_mcagh   melogit y x1 x2 || g:, intmethod(mcaghermite)   (the rule glmer's nAGQ = 7 uses)
             glmer(y ~ x1 + x2 + (1 | g), binomial, nAGQ = 7) for both
  rs_laplace melogit y x1 x2 || g: x1, covariance(unstructured) intmethod(laplace)
             glmer(y ~ x1 + x2 + (x1 | g), binomial)   (Laplace, nAGQ = 1)

Each side runs in a fresh process and is timed in wall and CPU (user + system) seconds.  Ours times the whole ``melogit`` command: the single-level
logit it starts from and compares with (the LR test), the fit, and the standard errors of every
parameter from the Hessian of the log likelihood (variance components included).  glmer is timed
with its defaults (bobyqa + Nelder-Mead), which do not compute SEs for the variance components.
The machine's load average is printed with each case.

Usage: python scripts/bench_glmm.py [--cases ri_mvagh,ri_mcagh,rs_laplace] [--no-glmer]
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
CSV = Path("/tmp/glmm_bench.csv")

RI = "y ~ x1 + x2 + (1 | g)"
CASES = {
    "ri_mvagh": ("melogit y x1 x2 || g:", RI, 7),
    "ri_mcagh": ("melogit y x1 x2 || g:, intmethod(mcaghermite)", RI, 7),
    "rs_laplace": ("melogit y x1 x2 || g: x1, covariance(unstructured) intmethod(laplace)",
                   "y ~ x1 + x2 + (x1 | g)", 1),
}

OURS = """
import json, resource, sys, time
import numpy as np
from hlmshell.shell.dispatcher import run_line
from hlmshell.shell.session import Session
s = Session()
assert run_line(s, "qui import delimited {csv}, asdouble") == 0
r = resource.getrusage(resource.RUSAGE_SELF)
t = time.perf_counter(); assert run_line(s, "qui {cmd}") == 0
secs = time.perf_counter() - t
r1 = resource.getrusage(resource.RUSAGE_SELF)
cpu = r1.ru_utime + r1.ru_stime - r.ru_utime - r.ru_stime
e = s.e
names = e.matrices["b"].colnames
b = e.matrices["b"].values.reshape(-1)
print(json.dumps({{"secs": secs, "cpu": cpu, "ll": e.scalars["ll"],
                  "fixed": [float(v) for n, v in zip(names, b) if n.startswith("y:")],
                  "var": [float(v) for n, v in zip(names, b) if n.startswith("/:")]}}))
"""

GLMER = """
suppressMessages(library(lme4))
d <- read.csv("{csv}")
d$g <- factor(d$g)
t <- system.time(m <- glmer({formula}, data = d, family = binomial, nAGQ = {nagq}))
vc <- as.data.frame(VarCorr(m))
cat(sprintf('{{"secs": %.3f, "cpu": %.3f, "ll": %.6f, "fixed": [%s], "var": [%s]}}\\n',
            t[["elapsed"]], t[["user.self"]] + t[["sys.self"]], as.numeric(logLik(m)),
            paste(sprintf("%.8g", fixef(m)), collapse=","),
            paste(sprintf("%.8g", vc$vcov), collapse=",")))
"""


def write_data() -> None:
    import numpy as np
    rng = np.random.default_rng(20240509)
    groups, n = 1000, 100_000
    g = np.repeat(np.arange(1, groups + 1), n // groups)
    x1 = rng.normal(size=n)
    x2 = rng.binomial(1, 0.5, size=n)
    u = rng.normal(0.0, 0.8, groups)[g - 1]
    v = rng.normal(0.0, 0.4, groups)[g - 1]
    eta = -0.5 + 0.6 * x1 - 0.4 * x2 + u + v * x1
    y = rng.binomial(1, 1.0 / (1.0 + np.exp(-eta)))
    with CSV.open("w") as f:
        f.write("y,x1,x2,g\n")
        for row in zip(y.tolist(), x1.tolist(), x2.tolist(), g.tolist()):
            f.write(f"{row[0]},{row[1]!r},{row[2]},{row[3]}\n")


def run_ours(cmd: str) -> dict:
    code = OURS.format(csv=CSV, cmd=cmd)
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True,
                         cwd=ROOT)
    return json.loads(out.stdout.strip().splitlines()[-1])


def run_glmer(formula: str, nagq: int) -> dict:
    code = GLMER.format(csv=CSV, formula=formula, nagq=nagq)
    out = subprocess.run(["Rscript", "-e", code], capture_output=True, text=True, check=True)
    return json.loads(out.stdout.strip().splitlines()[-1])


def _numbers(values: list[float]) -> str:
    return " ".join(f"{v:.5g}" for v in values)


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--cases", default="ri_mvagh,ri_mcagh,rs_laplace")
    ap.add_argument("--no-glmer", action="store_true")
    a = ap.parse_args()
    if not CSV.exists():
        write_data()
    print(f"{'case':<12}{'side':<7}{'wall s':>8}{'ratio':>7}{'CPU s':>8}{'ratio':>7}"
          f"  log likelihood  fixed effects  |  variance components")
    glmer_runs: dict[tuple[str, int], dict] = {}
    for name in a.cases.split(","):
        cmd, formula, nagq = CASES[name]
        load = os.getloadavg()
        ours = run_ours(cmd)
        glmer = None
        if not a.no_glmer:
            glmer = glmer_runs.get((formula, nagq)) or run_glmer(formula, nagq)
            glmer_runs[(formula, nagq)] = glmer
        ratio = f"{ours['secs'] / glmer['secs']:.3f}" if glmer else "-"
        cpu_ratio = f"{ours['cpu'] / glmer['cpu']:.3f}" if glmer else "-"
        print(f"{name:<12}{'ours':<7}{ours['secs']:>8.2f}{ratio:>7}{ours['cpu']:>8.2f}"
              f"{cpu_ratio:>7}  {ours['ll']:.4f}  {_numbers(ours['fixed'])}  |  "
              f"{_numbers(ours['var'])}")
        if glmer:
            print(f"{'':<12}{'glmer':<7}{glmer['secs']:>8.2f}{'':>7}{glmer['cpu']:>8.2f}{'':>7}"
                  f"  {glmer['ll']:.4f}  {_numbers(glmer['fixed'][1:] + glmer['fixed'][:1])}  |  "
                  f"{_numbers(glmer['var'])}")
        print(f"{'':<12}load average before the case: {load[0]:.2f} {load[1]:.2f} {load[2]:.2f};"
              f" after: {' '.join(f'{x:.2f}' for x in os.getloadavg())}")
        sys.stdout.flush()


if __name__ == "__main__":
    t0 = time.perf_counter()
    main()
    print(f"(total {time.perf_counter() - t0:.0f} s)")
