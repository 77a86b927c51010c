#!/usr/bin/env bash
# Regenerate the crossed-effects lme4 fixture (default tests/fixtures/crossed_lme4.json; pass
# another path as $1) from the data files written by scripts/gen_crossed_data.py.
# Developer tool only: the test suite never runs R. Debian packages needed (installed if missing).
# Each data file is generated if it is missing, and otherwise checked byte for byte against a fresh
# run of the generator (a mismatch stops the script: the fixture must describe the shipped file).
set -euo pipefail
cd "$(dirname "$0")/.."
if ! Rscript -e 'for (p in c("lme4","jsonlite","numDeriv")) library(p, character.only = TRUE)' >/dev/null 2>&1; then
  apt-get update
  apt-get install -y r-cran-lme4 r-cran-jsonlite r-cran-numderiv
fi
PY=${PYTHON:-python3}
for spec in crossed_small:data/crossed_small.csv crossed_slopes:data/crossed_slopes.csv \
            insteval:data/insteval_like.csv; do
  name=${spec%%:*}
  file=${spec#*:}
  if [ -f "$file" ]; then
    "$PY" scripts/gen_crossed_data.py "$name" --check "$file"
  else
    "$PY" scripts/gen_crossed_data.py "$name" --out "$file"
  fi
done
NUMPY_VERSION=$("$PY" -c "import numpy; print(numpy.__version__)") \
  Rscript scripts/make_crossed_fixtures.R "$@"
