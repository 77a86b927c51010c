#!/usr/bin/env bash
# Regenerate tests/fixtures/lme4_*.json (and data/egsingle.csv, data/pastes.csv) from R's lme4.
# Developer tool only: the test suite never runs R. Debian packages needed (installed if missing).
set -euo pipefail
cd "$(dirname "$0")/.."
if ! Rscript -e 'for (p in c("lme4","mlmRev","jsonlite","haven","numDeriv")) library(p, character.only = TRUE)' >/dev/null 2>&1; then
  apt-get update
  apt-get install -y r-cran-lme4 r-cran-mlmrev r-cran-jsonlite r-cran-haven r-cran-numderiv
fi
Rscript scripts/make_lme4_fixtures.R
