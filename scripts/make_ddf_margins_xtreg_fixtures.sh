#!/usr/bin/env bash
# Regenerate the small-sample df, margins and xtreg oracle fixtures from R:
#   tests/fixtures/ddf_*.json      (scripts/make_ddf_fixtures.R; also writes data/sleepstudy.csv,
#                                   data/sleepstudy_unbal.csv, data/machines.csv, data/orthodont.csv)
#   tests/fixtures/margins_*.json  (scripts/make_margins_fixtures.R; writes data/contraception.csv
#                                   only if it is missing)
#   tests/fixtures/xtreg_*.json    (scripts/make_xtreg_fixtures.R)
# Developer tool only: the test suite never runs R. Debian packages needed (installed if missing).
# Usage: bash scripts/make_ddf_margins_xtreg_fixtures.sh [ddf|margins|xtreg ...]   (default: all)
set -euo pipefail
cd "$(dirname "$0")/.."
pkgs="lme4 lmerTest pbkrtest emmeans mlmRev plm nlme numDeriv jsonlite haven"
if ! Rscript -e "for (p in strsplit('$pkgs', ' ')[[1]]) library(p, character.only = TRUE)" >/dev/null 2>&1; then
  apt-get update
  apt-get install -y r-cran-lme4 r-cran-lmertest r-cran-pbkrtest r-cran-emmeans r-cran-mlmrev \
    r-cran-plm r-cran-nlme r-cran-numderiv r-cran-jsonlite r-cran-haven
fi
targets=("$@")
if [ ${#targets[@]} -eq 0 ]; then targets=(ddf margins xtreg); fi
for t in "${targets[@]}"; do
  case "$t" in
    ddf|margins|xtreg) Rscript "scripts/make_${t}_fixtures.R" ;;
    *) echo "unknown target: $t (use ddf, margins or xtreg)" >&2; exit 2 ;;
  esac
done
