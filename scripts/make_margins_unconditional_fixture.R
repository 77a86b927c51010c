# Oracle fixture for `margins, vce(unconditional)` after regress (tests/test_margins.py).
#
# Run from the repository root:  Rscript scripts/make_margins_unconditional_fixture.R
# Needs (Debian): r-cran-numderiv r-cran-jsonlite.  The tests never need R.
#
# Data: data/iris.csv, R's datasets::iris with Stata-friendly names and three derived variables
# (wide = Sepal.Width > 3, heavy = Petal.Length > 4, scount = round(2 Sepal.Width)), the file that
# marginaleffects' Stata suite reads (r/inst/tinytest/stata/databases/generate_iris.R).
#
# Stata's numbers: printed by Stata for `regress swidth slength pwidth i.heavy, vce(robust)` and
# six `margins ..., vce(unconditional)` commands, as stored in marginaleffects'
# r/inst/tinytest/stata/results/unconditional.csv (commit 267959f5e268; rows
# iris_lm_gaussian_identity_*).  The unconditional variance does not depend on the model's VCE
# (margins' _linearize uses the model-based variance and the scores), so they hold after a plain
# regress too.  They are transcribed below and checked here against an independent computation:
# the sandwich of the stacked estimating equations (OLS normal equations and, per margin,
# 1[i in S_k] (p_ik(b) - m_k)), its bread by numDeriv, scaled by n / (n - k) as Stata does.

suppressPackageStartupMessages({library(jsonlite); library(numDeriv)})

iris_path <- "data/iris.csv"
dat <- data.frame(
  slength = iris$Sepal.Length, swidth = iris$Sepal.Width, plength = iris$Petal.Length,
  pwidth = iris$Petal.Width, species = as.integer(iris$Species),
  wide = as.integer(iris$Sepal.Width > 3), heavy = as.integer(iris$Petal.Length > 4),
  scount = as.integer(round(iris$Sepal.Width * 2)))
write.csv(dat, iris_path, row.names = FALSE)

# Stata: estimate, std. error (t with 146 df)
stata <- list(
  avg_predictions = list(cmd = "margins, vce(unconditional)", labels = "_cons",
    estimate = 3.057333333333334, se = .0359521074971357),
  avg_predictions_by = list(cmd = "margins, over(species) vce(unconditional)",
    labels = c("1.species", "2.species", "3.species"),
    estimate = c(3.261283053531524, 3.022090657604227, 2.888626288864251),
    se = c(.0578037196310684, .0314241741624812, .0457448228802633)),
  dydx_heavy = list(cmd = "margins, dydx(i.heavy) vce(unconditional)", labels = "1.heavy",
    estimate = -.0576286136827542, se = .1486478883835118),
  dydx_heavy_by = list(cmd = "margins, dydx(i.heavy) over(species) vce(unconditional)",
    labels = c("1.species", "2.species", "3.species"),
    estimate = rep(-.0576286136827542, 3),
    se = c(.1486478883603697, .1486478884461637, .1486478883440024)),
  dydx_slength = list(cmd = "margins, dydx(slength) vce(unconditional)", labels = "slength",
    estimate = .2968093996558007, se = .069529466498089),
  dydx_slength_by = list(cmd = "margins, dydx(slength) over(species) vce(unconditional)",
    labels = c("1.species", "2.species", "3.species"),
    estimate = rep(.2968093996558007, 3),
    se = c(.069529466242588, .0695294665730658, .0695294666786125)))

X <- cbind(dat$slength, dat$pwidth, dat$heavy, 1)      # Stata order: slength pwidth 1.heavy _cons
y <- dat$swidth
n <- nrow(X)
k <- ncol(X)
b_hat <- drop(solve(crossprod(X), crossprod(X, y)))

# Per-observation quantity averaged by each margin, as a function of b.
quantity <- list(
  avg_predictions = function(b) list(drop(X %*% b)),
  avg_predictions_by = function(b) lapply(1:3, function(s) drop(X %*% b)),
  dydx_heavy = function(b) list(rep(b[3], n)),
  dydx_heavy_by = function(b) lapply(1:3, function(s) rep(b[3], n)),
  dydx_slength = function(b) list(rep(b[1], n)),
  dydx_slength_by = function(b) lapply(1:3, function(s) rep(b[1], n)))
subsets <- function(key) if (grepl("_by$", key)) lapply(1:3, function(s) dat$species == s) else
  list(rep(TRUE, n))

check <- lapply(names(stata), function(key) {
  S <- subsets(key)
  K <- length(S)
  psi <- function(theta) {                              # n x (k + K) estimating functions
    b <- theta[1:k]
    m <- theta[-(1:k)]
    q <- quantity[[key]](b)
    cbind(X * drop(y - X %*% b), sapply(1:K, function(j) S[[j]] * (q[[j]] - m[j])))
  }
  m_hat <- sapply(1:K, function(j) mean(quantity[[key]](b_hat)[[j]][S[[j]]]))
  theta <- c(b_hat, m_hat)
  A <- jacobian(function(t) colSums(psi(t)), theta)
  P <- psi(theta)
  V <- solve(A) %*% crossprod(P) %*% t(solve(A)) * n / (n - k)
  se <- sqrt(diag(V))[-(1:k)]
  c(estimate = max(abs(m_hat - stata[[key]]$estimate)), se = max(abs(se - stata[[key]]$se)))
})
names(check) <- names(stata)
worst <- max(unlist(check))
cat(sprintf("unconditional: max |sandwich - Stata| = %.2e\n", worst))
stopifnot(worst < 1e-7)         # Stata differentiates numerically: ~1e-8

fixture <- list(
  fixture = "margins_unconditional_iris",
  description = "margins, vce(unconditional) after regress swidth slength pwidth i.heavy on iris: Stata's estimates and SEs (t, 146 df)",
  generator = "scripts/make_margins_unconditional_fixture.R",
  stata_source = "marginaleffects r/inst/tinytest/stata/results/unconditional.csv @ 267959f5e268 (Stata, regress ..., vce(robust))",
  r_version = R.version.string,
  data = list(file = iris_path, n = n, md5 = unname(tools::md5sum(iris_path))),
  estimation_cmd = "regress swidth slength pwidth i.heavy",
  df_r = n - k,
  sandwich_check_max_abs_diff = worst,
  margins = lapply(stata, function(m) list(stata_cmd = m$cmd, labels = I(m$labels),
                                           estimate = I(m$estimate), se = I(m$se))))
writeLines(toJSON(fixture, auto_unbox = TRUE, digits = NA, pretty = TRUE),
           "tests/fixtures/margins_unconditional_iris.json")
cat("wrote tests/fixtures/margins_unconditional_iris.json\n")
