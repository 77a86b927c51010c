#!/usr/bin/env bash
# Regenerate tests/fixtures/glmm_*.json (and data/cbpp.csv, data/contraception.csv, data/toenail.csv,
# data/grouseticks.csv) from R's lme4 / glmmTMB. Developer tool only: the test suite never runs R.
# Debian packages needed (installed if missing). Takes about 5-9 minutes.
set -euo pipefail
cd "$(dirname "$0")/.."
if ! Rscript -e 'for (p in c("lme4","glmmTMB","mlmRev","HSAUR3","jsonlite","numDeriv")) library(p, character.only = TRUE)' >/dev/null 2>&1; then
  apt-get update
  apt-get install -y r-cran-lme4 r-cran-glmmtmb r-cran-mlmrev r-cran-hsaur3 r-cran-jsonlite r-cran-numderiv
fi
Rscript scripts/make_glmm_fixtures.R
