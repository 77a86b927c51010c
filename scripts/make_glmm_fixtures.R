# Oracle fixtures from R (lme4, glmmTMB, glm) for hlmshell's generalized linear mixed models:
# Stata's melogit / meprobit / mecloglog / mepoisson / menbreg / meglm.
#
# Run from the repository root:  Rscript scripts/make_glmm_fixtures.R
# (or bash scripts/make_glmm_fixtures.sh, which installs the Debian packages if missing).
# Needs (Debian): r-cran-lme4 r-cran-glmmtmb r-cran-mlmrev r-cran-hsaur3 r-cran-jsonlite
# r-cran-numderiv. The test suite never needs R: it only reads the JSON written here.
#
# Data: data/cbpp.csv, data/contraception.csv, data/toenail.csv and data/grouseticks.csv are written
# from lme4::cbpp, mlmRev::Contraception, HSAUR3::toenail and lme4::grouseticks with Stata-friendly
# names and integer codes, then READ BACK, so every fit uses exactly the shipped files.
#
# Numbers are reported in Stata's parameterisation: fixed effects named as in e(b) (`2.period`,
# `c.age#c.age`, `_cons` last), random-effects variables in the order typed with `_cons` last,
# levels outermost first; standard errors from the inverse negative Hessian of the log likelihood
# in Stata's estimation metric (beta, ln sd, atanh corr, ln alpha). See tests/fixtures/glmm.md.
#
# Precision. lme4 1.1.31 has two traps that this script works around (both documented in glmm.md):
#  * For nAGQ > 1, logLik() omits the saturated log likelihood sum(log f(y | mu = y)) (the AGQ
#    deviance is built from deviance residuals). For Bernoulli responses that term is 0; for
#    binomial counts and Poisson it is not. The script adds it back and checks it.
#  * The Laplace value depends on the PIRLS tolerance (tolPwrss, default 1e-7): at the default the
#    cbpp log likelihood is off by 2.8e-4, and even at 1e-12 the nested Poisson model is off by 3e-6.
# Hence every likelihood reported as `ll` is recomputed here by an independent evaluator (Newton for
# the modes to machine precision, then Laplace / mode-curvature adaptive Gauss-Hermite with the
# observed curvature, i.e. Stata's intmethod(laplace) / intmethod(mcaghermite)), and the glmer
# optimum is polished by Newton steps on that exact objective. glmer's own numbers are kept under
# `lme4` in every model for comparison.

suppressPackageStartupMessages({
  library(lme4)
  library(glmmTMB)
  library(jsonlite)
  library(numDeriv)
})

t_start <- proc.time()[["elapsed"]]
fixture_dir <- "tests/fixtures"
stopifnot(dir.exists(fixture_dir), dir.exists("data"))

TOL_PWRSS <- 1e-12
# glmer's PIRLS occasionally fails ("step-halvings failed") at a tight tolPwrss when the optimiser
# tries a wild point; the fit is then retried with the next setting, and the one used is recorded.
GLMER_ATTEMPTS <- list(list(rhobeg = 0.02, tolPwrss = TOL_PWRSS), list(rhobeg = 0.02, tolPwrss = 1e-10),
                       list(rhobeg = NULL, tolPwrss = TOL_PWRSS), list(rhobeg = NULL, tolPwrss = 1e-10))
ctrl_main <- function(a) glmerControl(optimizer = "bobyqa", tolPwrss = a$tolPwrss,
                                      optCtrl = c(list(maxfun = 1e5, rhoend = 1e-10), if (!is.null(a$rhobeg)) list(rhobeg = a$rhobeg)))
ctrl_check <- function(a) glmerControl(optimizer = "nloptwrap", tolPwrss = a$tolPwrss,
                                       optCtrl = list(maxeval = 1e5, xtol_abs = 1e-12,
                                                      ftol_abs = 1e-14, xtol_rel = 0, ftol_rel = 0))
glmer_with_retry <- function(args, ctrl_fun) {
  errs <- character(0)
  for (a in GLMER_ATTEMPTS) {
    r <- tryCatch(capture_fit(do.call(glmer, c(args, list(control = ctrl_fun(a))))),
                  error = function(e) { errs <<- c(errs, conditionMessage(e)); NULL })
    if (!is.null(r)) { r$attempt <- a; r$errors <- errs; return(r) }
  }
  stop("glmer failed: ", paste(errs, collapse = "; "))
}

meta <- list(
  generator = "scripts/make_glmm_fixtures.R",
  r_version = R.version.string,
  lme4_version = as.character(packageVersion("lme4")),
  glmmTMB_version = as.character(packageVersion("glmmTMB")),
  TMB_version = as.character(packageVersion("TMB")),
  numDeriv_version = as.character(packageVersion("numDeriv")),
  jsonlite_version = as.character(packageVersion("jsonlite")),
  mlmRev_version = as.character(packageVersion("mlmRev")),
  HSAUR3_version = as.character(packageVersion("HSAUR3")),
  optimizer = sprintf("glmer: bobyqa (maxfun = 1e5, rhobeg = 0.02, rhoend = 1e-10), tolPwrss = %g (retried with tolPwrss = 1e-10 and/or bobyqa's default rhobeg if PIRLS fails; see each model's lme4 block); then Newton polish on the exact objective. glmmTMB: nlminb (default), then Newton polish", TOL_PWRSS),
  check_optimizer = sprintf("glmer: nloptwrap (xtol_abs = 1e-12, ftol_abs = 1e-14), tolPwrss = %g; glmmTMB: optim BFGS; own: optim BFGS", TOL_PWRSS),
  ll_evaluator = "own: Newton for the conditional modes (|step| < 1e-12), then Laplace / mode-curvature AGHQ with the observed curvature (Stata's laplace / mcaghermite); glmmTMB: TMB's Laplace objective"
)

# ---------------------------------------------------------------------------------------------
# Data: write the CSVs, then read them back
# ---------------------------------------------------------------------------------------------

# A data file that already exists (data/contraception.csv is also written by
# scripts/make_margins_fixtures.R) is never overwritten: it must be byte-identical to what this
# script would write, or the script stops.
write_csv_data <- function(df, path) {
  tmp <- tempfile(fileext = ".csv")
  write.csv(df, tmp, row.names = FALSE, quote = TRUE)
  if (file.exists(path)) {
    if (unname(tools::md5sum(tmp)) != unname(tools::md5sum(path)))
      stop(path, " exists and differs from the file this script writes; not overwriting it")
  } else {
    stopifnot(file.copy(tmp, path))
  }
  unlink(tmp)
  invisible(path)
}

cb0 <- lme4::cbpp
write_csv_data(data.frame(
  herd      = as.integer(as.character(cb0$herd)),     # 1..15
  incidence = as.integer(cb0$incidence),
  size      = as.integer(cb0$size),
  period    = as.integer(as.character(cb0$period))  # 1..4
), "data/cbpp.csv")

ct0 <- mlmRev::Contraception
write_csv_data(data.frame(
  woman    = as.integer(as.character(ct0$woman)),
  district = as.integer(as.character(ct0$district)),
  use      = as.integer(ct0$use == "Y"),
  livch    = as.integer(ct0$livch) - 1L,               # 0, 1, 2, 3 = "0", "1", "2", "3+"
  age      = ct0$age,                                  # centred, as in mlmRev
  urban    = as.integer(ct0$urban == "Y")
), "data/contraception.csv")

te0 <- HSAUR3::toenail
stopifnot(identical(levels(te0$outcome), c("none or mild", "moderate or severe")),
          identical(levels(te0$treatment), c("itraconazole", "terbinafine")))
write_csv_data(data.frame(
  patientid = as.integer(as.character(te0$patientID)),
  outcome   = as.integer(te0$outcome == "moderate or severe"),
  treatment = as.integer(te0$treatment == "terbinafine"),
  time      = te0$time,
  visit     = as.integer(te0$visit)
), "data/toenail.csv")

gt0 <- lme4::grouseticks
write_csv_data(data.frame(
  index    = as.integer(as.character(gt0$INDEX)),
  ticks    = as.integer(gt0$TICKS),
  brood    = as.integer(as.character(gt0$BROOD)),
  height   = gt0$HEIGHT,
  year     = as.integer(as.character(gt0$YEAR)),       # 95, 96, 97
  location = as.integer(as.character(gt0$LOCATION)),
  cheight  = gt0$HEIGHT - mean(gt0$HEIGHT)
), "data/grouseticks.csv")

cbpp <- read.csv("data/cbpp.csv")
cbpp$herd <- factor(cbpp$herd)
cbpp$period <- factor(cbpp$period, levels = 1:4)

contra <- read.csv("data/contraception.csv")
contra$district <- factor(contra$district)
contra$livch <- factor(contra$livch, levels = 0:3)
stopifnot(all(contra$use %in% 0:1), all(contra$urban %in% 0:1))

toe <- read.csv("data/toenail.csv")
toe$patientid <- factor(toe$patientid)

grouse <- read.csv("data/grouseticks.csv")
grouse$year <- factor(grouse$year, levels = c(95, 96, 97))
grouse$location <- factor(grouse$location)
grouse$brood <- factor(grouse$brood)
# Each brood belongs to exactly one location, so (1 | location/brood) = Stata's || location: || brood:
stopifnot(all(tapply(grouse$location, grouse$brood, function(x) length(unique(x))) == 1))

datasets <- list(cbpp = cbpp, contraception = contra, toenail = toe, grouseticks = grouse)

# ---------------------------------------------------------------------------------------------
# Conditional log densities and their first two derivatives in eta (observed, not expected)
# ---------------------------------------------------------------------------------------------

make_family <- function(family, link) {
  if (family == "poisson") {
    stopifnot(link == "log")
    return(list(
      ll = function(eta, y, n) y * eta - exp(eta) - lgamma(y + 1),
      d1 = function(eta, y, n) y - exp(eta),
      d2 = function(eta, y, n) -exp(eta),
      ei = function(eta, y, n) exp(eta),
      sat = function(y, n) sum(dpois(y, y, log = TRUE))))
  }
  stopifnot(family == "binomial")
  sat <- function(y, n) sum(dbinom(y, n, ifelse(n > 0, y / n, 0), log = TRUE))
  switch(link,
    logit = list(
      ll = function(eta, y, n) lchoose(n, y) + y * plogis(eta, log.p = TRUE) +
        (n - y) * plogis(eta, lower.tail = FALSE, log.p = TRUE),
      d1 = function(eta, y, n) y - n * plogis(eta),
      d2 = function(eta, y, n) { p <- plogis(eta); -n * p * (1 - p) },
      ei = function(eta, y, n) { p <- plogis(eta); n * p * (1 - p) },
      sat = sat),
    probit = list(
      ll = function(eta, y, n) lchoose(n, y) + y * pnorm(eta, log.p = TRUE) +
        (n - y) * pnorm(eta, lower.tail = FALSE, log.p = TRUE),
      d1 = function(eta, y, n) {
        ld <- dnorm(eta, log = TRUE)
        l1 <- exp(ld - pnorm(eta, log.p = TRUE))
        l0 <- exp(ld - pnorm(eta, lower.tail = FALSE, log.p = TRUE))
        y * l1 - (n - y) * l0
      },
      d2 = function(eta, y, n) {
        ld <- dnorm(eta, log = TRUE)
        l1 <- exp(ld - pnorm(eta, log.p = TRUE))
        l0 <- exp(ld - pnorm(eta, lower.tail = FALSE, log.p = TRUE))
        -y * l1 * (eta + l1) - (n - y) * l0 * (l0 - eta)
      },
      ei = function(eta, y, n) n * exp(2 * dnorm(eta, log = TRUE) - pnorm(eta, log.p = TRUE) -
                                         pnorm(eta, lower.tail = FALSE, log.p = TRUE)),
      sat = sat),
    cloglog = list(
      ll = function(eta, y, n) { t <- exp(eta); lchoose(n, y) + y * log(-expm1(-t)) - (n - y) * t },
      d1 = function(eta, y, n) { t <- exp(eta); y * t / expm1(t) - (n - y) * t },
      d2 = function(eta, y, n) {
        t <- exp(eta)
        a <- t / expm1(t)
        b <- exp(2 * eta - log(expm1(t)) - log(-expm1(-t)))   # a^2 e^t
        y * (a - b) - (n - y) * t
      },
      ei = function(eta, y, n) { t <- exp(eta); n * t^2 / expm1(t) },
      sat = sat),
    stop("unknown link ", link))
}

# Unit check of the analytic derivatives against numDeriv.
local({
  eta <- c(-3.1, -0.4, 0.2, 1.7)
  y <- c(0, 2, 1, 3); n <- c(3, 4, 1, 3)
  for (fl in list(c("binomial", "logit"), c("binomial", "probit"), c("binomial", "cloglog"),
                  c("poisson", "log"))) {
    f <- make_family(fl[1], fl[2])
    for (i in seq_along(eta)) {
      g1 <- numDeriv::grad(function(e) f$ll(e, y[i], n[i]), eta[i])
      g2 <- numDeriv::hessian(function(e) f$ll(e, y[i], n[i]), eta[i])
      stopifnot(abs(g1 - f$d1(eta[i], y[i], n[i])) < 1e-8, abs(g2 - f$d2(eta[i], y[i], n[i])) < 1e-6)
    }
  }
})

# ---------------------------------------------------------------------------------------------
# Exact evaluators of the marginal log likelihood
# ---------------------------------------------------------------------------------------------

logsumexp_rows <- function(M) { mx <- apply(M, 1, max); mx + log(rowSums(exp(M - mx))) }

# One scalar random intercept per group (g = 1..J): Newton for every group's mode at once, then
# Laplace (k = 1) or mode-curvature adaptive Gauss-Hermite with k points and the observed curvature.
make_scalar_evaluator <- function(X, y, ntr, g, fam) {
  J <- max(g)
  env <- new.env()
  env$u <- rep(0, J)
  hj <- function(eta0, u, sigma)
    rowsum(fam$ll(eta0 + u[g], y, ntr), g, reorder = TRUE)[, 1] - u^2 / (2 * sigma^2) -
      0.5 * log(2 * pi * sigma^2)
  modes <- function(beta, sigma) {
    eta0 <- drop(X %*% beta)
    u <- env$u
    if (any(!is.finite(u))) u <- rep(0, J)
    hcur <- hj(eta0, u, sigma)
    for (it in 1:200) {
      e <- eta0 + u[g]
      G <- rowsum(fam$d1(e, y, ntr), g, reorder = TRUE)[, 1] - u / sigma^2
      H <- rowsum(fam$d2(e, y, ntr), g, reorder = TRUE)[, 1] - 1 / sigma^2
      step <- -G / H
      lam <- rep(1, J)
      for (half in 1:60) {
        unew <- u + lam * step
        hnew <- hj(eta0, unew, sigma)
        bad <- hnew < hcur - 1e-12 * (1 + abs(hcur))
        if (!any(bad)) break
        lam[bad] <- lam[bad] / 2
      }
      u <- unew
      hcur <- hnew
      if (max(abs(lam * step)) < 1e-12) break
    }
    e <- eta0 + u[g]
    H <- rowsum(fam$d2(e, y, ntr), g, reorder = TRUE)[, 1] - 1 / sigma^2
    env$u <- u
    list(eta0 = eta0, u = u, s = 1 / sqrt(-H), h = hcur)
  }
  # curvature = "observed" (Stata's mcaghermite: -d2/du2 of the log integrand at the mode) or
  # "expected" (Fisher weights, which is what lme4's Laplace/AGQ use; identical for canonical links).
  ll <- function(beta, sigma, k, curvature = "observed") {
    md <- modes(beta, sigma)
    if (curvature == "expected") {
      e <- md$eta0 + md$u[g]
      md$s <- 1 / sqrt(rowsum(fam$ei(e, y, ntr), g, reorder = TRUE)[, 1] + 1 / sigma^2)
    }
    GH <- GHrule(k)
    z <- GH[, "z"]
    lw <- log(GH[, "w"]) + z^2 / 2
    M <- vapply(seq_along(z), function(q) hj(md$eta0, md$u + md$s * z[q], sigma) + lw[q],
                numeric(J))
    M <- matrix(M, nrow = J)
    sum(log(md$s) + 0.5 * log(2 * pi) + logsumexp_rows(M))
  }
  # Brute-force integration per group (integrate(), piecewise around the mode).
  group_h <- function(eta0, j, sigma) {
    i <- which(g == j)
    e <- eta0[i]; yy <- y[i]; nn <- ntr[i]
    ni <- length(i)
    function(u) {
      colSums(matrix(fam$ll(outer(e, u, "+"), yy, nn), nrow = ni)) - u^2 / (2 * sigma^2) -
        0.5 * log(2 * pi * sigma^2)
    }
  }
  integrate_group <- function(h, u0, s, h0, power) {
    br <- u0 + s * c(-40, -20, -8, -3, 0, 3, 8, 20, 40)
    f <- function(u) (u - u0)^power * exp(h(u) - h0)
    tot <- 0
    integ <- function(a, b, tol) tryCatch(
      integrate(f, a, b, rel.tol = tol, abs.tol = 0, subdivisions = 1000L)$value,
      error = function(e) integrate(f, a, b, rel.tol = 1e-10, abs.tol = 0, subdivisions = 1000L)$value)
    for (q in seq_len(length(br) - 1)) tot <- tot + integ(br[q], br[q + 1], 1e-12)
    tot + integ(-Inf, br[1], 1e-10) + integ(br[length(br)], Inf, 1e-10)
  }
  exact <- function(beta, sigma, moments = FALSE) {
    md <- modes(beta, sigma)
    llj <- pm <- psd <- numeric(J)
    for (j in seq_len(J)) {
      h <- group_h(md$eta0, j, sigma)
      h0 <- md$h[j]
      m0 <- integrate_group(h, md$u[j], md$s[j], h0, 0)
      llj[j] <- h0 + log(m0)
      if (moments) {
        m1 <- integrate_group(h, md$u[j], md$s[j], h0, 1) / m0
        m2 <- integrate_group(h, md$u[j], md$s[j], h0, 2) / m0
        pm[j] <- md$u[j] + m1
        psd[j] <- sqrt(m2 - m1^2)
      }
    }
    list(ll = sum(llj), ll_groups = llj, post_mean = pm, post_sd = psd, mode = md$u,
         mode_sd = md$s)
  }
  list(ll = ll, modes = modes, exact = exact)
}

# Any glmer random-effects structure, Laplace only: b = Lambda(theta) u, u ~ N(0, I); sparse Newton.
make_general_laplace <- function(m, y, ntr, fam) {
  X <- getME(m, "X")
  Z <- as(getME(m, "Z"), "CsparseMatrix")
  Lt0 <- getME(m, "Lambdat")
  Lind <- getME(m, "Lind")
  q <- ncol(Z)
  Iq <- Diagonal(q)
  env <- new.env()
  env$u <- rep(0, q)
  function(theta, beta) {
    Lt <- Lt0
    Lt@x <- theta[Lind]
    ZL <- Z %*% t(Lt)
    eta0 <- drop(X %*% beta)
    hfun <- function(u) sum(fam$ll(eta0 + as.vector(ZL %*% u), y, ntr)) - 0.5 * sum(u^2)
    Amat <- function(e) crossprod(Diagonal(x = sqrt(-fam$d2(e, y, ntr))) %*% ZL) + Iq
    u <- env$u
    hcur <- hfun(u)
    for (it in 1:200) {
      e <- eta0 + as.vector(ZL %*% u)
      G <- as.vector(crossprod(ZL, fam$d1(e, y, ntr))) - u
      step <- as.vector(solve(Amat(e), G))
      lam <- 1
      for (half in 1:60) {
        unew <- u + lam * step
        hnew <- hfun(unew)
        if (hnew >= hcur - 1e-12 * (1 + abs(hcur))) break
        lam <- lam / 2
      }
      u <- unew
      hcur <- hnew
      if (max(abs(lam * step)) < 1e-12) break
    }
    e <- eta0 + as.vector(ZL %*% u)
    env$u <- u
    hcur - 0.5 * as.numeric(determinant(Amat(e), logarithm = TRUE)$modulus)
  }
}

# ---------------------------------------------------------------------------------------------
# Stata's estimation metric: gamma = (lns.., atr..) per level; covariance matrices; lme4's theta
# ---------------------------------------------------------------------------------------------

n_gamma_level <- function(lev) {
  q <- length(lev$vars)
  q + if (lev$covariance == "unstructured") q * (q - 1) / 2 else 0
}

gamma_to_cov <- function(gamma, levels) {
  pos <- 0
  S <- list()
  for (L in seq_along(levels)) {
    lev <- levels[[L]]
    q <- length(lev$vars)
    lns <- gamma[pos + seq_len(q)]
    pos <- pos + q
    M <- diag(exp(2 * lns), q)
    if (lev$covariance == "unstructured" && q > 1) {
      for (k in 1:(q - 1)) for (j in (k + 1):q) {
        pos <- pos + 1
        M[k, j] <- M[j, k] <- tanh(gamma[pos]) * exp(lns[k] + lns[j])
      }
    }
    dimnames(M) <- list(names(lev$vars), names(lev$vars))
    S[[L]] <- M
  }
  S
}

cov_to_gamma <- function(S, levels) {
  out <- numeric(0)
  for (L in seq_along(levels)) {
    M <- S[[L]]
    q <- nrow(M)
    out <- c(out, 0.5 * log(diag(M)))
    if (levels[[L]]$covariance == "unstructured" && q > 1)
      for (k in 1:(q - 1)) for (j in (k + 1):q) out <- c(out, atanh(M[k, j] / sqrt(M[k, k] * M[j, j])))
  }
  out
}

gamma_names <- function(levels) {
  out <- character(0)
  for (L in seq_along(levels)) {
    lev <- levels[[L]]
    q <- length(lev$vars)
    out <- c(out, sprintf("lns%d_1_%d:_cons", L, seq_len(q)))
    if (lev$covariance == "unstructured" && q > 1)
      for (k in 1:(q - 1)) for (j in (k + 1):q) out <- c(out, sprintf("atr%d_1_%d_%d:_cons", L, k, j))
  }
  out
}

# Stata's label for a level: nested levels are written outer>inner.
stata_level_label <- function(levels, L) paste(vapply(levels[seq_len(L)], `[[`, "", "name"), collapse = ">")

varcomp_names <- function(levels, style = c("fixture", "stata_b")) {
  style <- match.arg(style)
  out <- character(0)
  for (L in seq_along(levels)) {
    lev <- levels[[L]]
    v <- names(lev$vars)
    q <- length(v)
    lab <- stata_level_label(levels, L)
    if (style == "fixture") {
      out <- c(out, sprintf("%s: var(%s)", lev$name, v))
    } else {
      out <- c(out, sprintf("/var(%s[%s])", v, lab))
    }
    if (lev$covariance == "unstructured" && q > 1)
      for (k in 1:(q - 1)) for (j in (k + 1):q)
        out <- c(out, if (style == "fixture") sprintf("%s: cov(%s,%s)", lev$name, v[k], v[j])
                      else sprintf("/cov(%s[%s],%s[%s])", v[k], lab, v[j], lab))
  }
  out
}

varcomp_values <- function(S, levels) {
  out <- numeric(0)
  for (L in seq_along(levels)) {
    M <- S[[L]]
    q <- nrow(M)
    out <- c(out, diag(M))
    if (levels[[L]]$covariance == "unstructured" && q > 1)
      for (k in 1:(q - 1)) for (j in (k + 1):q) out <- c(out, M[k, j])
  }
  out
}

# lme4 theta (relative Cholesky factors, blocks in m@cnms order) from Stata-order covariances.
cov_to_theta_lme4 <- function(S, cnms, levels) {
  theta <- numeric(0)
  for (i in seq_along(cnms)) {
    L <- which(vapply(levels, function(l) l$factor == names(cnms)[i], logical(1)))
    stopifnot(length(L) == 1)
    st <- names(levels[[L]]$vars)[match(cnms[[i]], levels[[L]]$vars)]
    stopifnot(!anyNA(st))
    Lc <- t(chol(S[[L]][st, st, drop = FALSE]))
    theta <- c(theta, Lc[lower.tri(Lc, diag = TRUE)])
  }
  theta
}

# lme4 VarCorr -> Stata-order covariance matrices.
vc_to_cov <- function(vc, levels) {
  lapply(levels, function(lev) {
    q <- length(lev$vars)
    S <- matrix(0, q, q, dimnames = list(names(lev$vars), names(lev$vars)))
    blk <- vc[[lev$factor]]
    cols <- colnames(blk)
    idx <- match(cols, lev$vars)
    stopifnot(!anyNA(idx))
    S[idx, idx] <- blk[cols, cols]
    S
  })
}

# ---------------------------------------------------------------------------------------------
# Shared helpers
# ---------------------------------------------------------------------------------------------

capture_fit <- function(expr) {
  warns <- character(0)
  val <- withCallingHandlers(expr, warning = function(w) {
    warns <<- c(warns, conditionMessage(w))
    invokeRestart("muffleWarning")
  })
  list(value = val, warnings = unique(warns))
}

group_info <- function(data, levels) {
  n_groups <- list()
  group_sizes <- list()
  for (L in seq_along(levels)) {
    key <- interaction(data[vapply(levels[seq_len(L)], `[[`, "", "name")], drop = TRUE)
    sizes <- as.vector(table(key))
    n_groups[[levels[[L]]$name]] <- length(sizes)
    group_sizes[[levels[[L]]$name]] <- list(min = min(sizes), avg = mean(sizes), max = max(sizes))
  }
  list(n_groups = n_groups, group_sizes = group_sizes)
}

random_block <- function(S, levels) {
  lapply(seq_along(levels), function(L) {
    lev <- levels[[L]]
    list(level = lev$name, stata_label = stata_level_label(levels, L), lme4_factor = lev$factor,
         covariance = lev$covariance, vars = I(names(lev$vars)), cov = unname(S[[L]]))
  })
}

# Newton polish of a maximum: returns the new point, the largest step and the final gradient.
newton_polish <- function(negll, par, max_iter = 4) {
  # the Newton direction only needs an approximate Hessian (2 Richardson steps); the SEs use a
  # full-accuracy Hessian at the final point
  H <- numDeriv::hessian(negll, par, method.args = list(r = 2))
  steps <- numeric(0)
  for (it in seq_len(max_iter)) {
    gr <- numDeriv::grad(negll, par)
    step <- solve(H, gr)
    par <- par - step
    steps <- c(steps, max(abs(step)))
    if (max(abs(step)) < 1e-10) break
  }
  gr <- numDeriv::grad(negll, par)
  # predicted remaining gain in ll (half the Newton decrement), scale-free convergence measure
  list(par = par, first_step = steps[1], steps = steps, gradient = max(abs(gr)),
       gain = 0.5 * sum(gr * solve(H, gr)))
}

# Standard errors in Stata's metric from the negative log likelihood f(beta, [dispersion,] gamma).
stata_ses <- function(H, par_names, n_fixed, levels, gamma_offset, gamma_par) {
  V <- solve(H)
  V <- (V + t(V)) / 2
  dimnames(V) <- list(par_names, par_names)
  comps <- function(g) varcomp_values(gamma_to_cov(g, levels), levels)
  idx <- gamma_offset + seq_along(gamma_par)
  J <- numDeriv::jacobian(comps, gamma_par)
  Vg <- V[idx, idx, drop = FALSE]
  list(V = V, se = sqrt(diag(V)), varcomp_se = sqrt(diag(J %*% Vg %*% t(J))))
}

vec_map <- function(names, values) as.list(setNames(values, names))

# ---------------------------------------------------------------------------------------------
# GLMM via glmer (+ exact evaluator, polishing, Stata-metric SEs)
# ---------------------------------------------------------------------------------------------


make_stata_ll <- function(spec, m, data) {
  fam <- make_family(spec$family, spec$link)
  y <- data[[spec$depvar]]
  ntr <- if (is.null(spec$trials)) rep(1, nrow(data)) else data[[spec$trials]]
  lme4_fx <- unname(spec$fixed)
  p <- length(lme4_fx)
  X <- getME(m, "X")[, lme4_fx, drop = FALSE]
  cnms <- m@cnms
  scalar <- length(cnms) == 1 && length(cnms[[1]]) == 1
  k <- spec$nAGQ
  if (scalar) {
    g <- as.integer(getME(m, "flist")[[1]])
    ev <- make_scalar_evaluator(X, y, ntr, g, fam)
    f <- function(par, curvature = "observed") ev$ll(par[seq_len(p)], exp(par[p + 1]), k, curvature)
  } else {
    stopifnot(k == 1)
    gl <- make_general_laplace(m, y, ntr, fam)
    # the general evaluator takes beta in lme4's column order
    ord <- match(colnames(getME(m, "X")), lme4_fx)
    f <- function(par) {
      S <- gamma_to_cov(par[-seq_len(p)], spec$levels)
      th <- cov_to_theta_lme4(S, cnms, spec$levels)
      gl(th, par[seq_len(p)][ord])
    }
    ev <- NULL
  }
  list(f = f, ev = ev, fam = fam, y = y, ntr = ntr, X = X, scalar = scalar,
       sat = fam$sat(y, ntr))
}

# lme4's deviance function in Stata's metric (as asked for: update(m, devFunOnly = TRUE), which for
# nAGQ >= 1 takes c(theta, beta)). Returns -loglik up to lme4's constant.
make_lme4_negll <- function(spec, m) {
  df <- update(m, devFunOnly = TRUE)
  lme4_fx <- unname(spec$fixed)
  p <- length(lme4_fx)
  bnames <- colnames(getME(m, "X"))
  ord <- match(bnames, lme4_fx)
  function(par) {
    S <- gamma_to_cov(par[-seq_len(p)], spec$levels)
    th <- cov_to_theta_lme4(S, m@cnms, spec$levels)
    df(c(th, par[seq_len(p)][ord])) / 2
  }
}

glmer_call_string <- function(spec, a) {
  fam <- sprintf('%s(link = "%s")', spec$family, spec$link)
  sprintf("glmer(%s, data = %s, family = %s, nAGQ = %d, control = glmerControl(optimizer = \"bobyqa\", tolPwrss = %g, optCtrl = list(maxfun = 1e5, %srhoend = 1e-10)))",
          spec$formula, spec$data, fam, spec$nAGQ, a$tolPwrss,
          if (is.null(a$rhobeg)) "" else sprintf("rhobeg = %g, ", a$rhobeg))
}

fit_glmer <- function(spec) {
  data <- datasets[[spec$data]]
  formula <- as.formula(spec$formula)
  fam_r <- get(spec$family)(link = spec$link)
  t0 <- proc.time()[["elapsed"]]
  # do.call embeds the objects in the call, so update(m, ...) works from anywhere
  args <- list(formula = formula, data = data, family = fam_r, nAGQ = spec$nAGQ)
  # light = TRUE (toenail quadrature series only): nloptwrap alone, no lme4 devfun Hessian
  light <- isTRUE(spec$light)
  main <- glmer_with_retry(args, if (light) ctrl_check else ctrl_main)
  m <- main$value
  alt_r <- if (light) main else glmer_with_retry(args, ctrl_check)
  alt <- alt_r$value
  lme4_fx <- unname(spec$fixed)
  p <- length(lme4_fx)
  start_of <- function(mm) c(unname(fixef(mm)[lme4_fx]), cov_to_gamma(vc_to_cov(VarCorr(mm), spec$levels), spec$levels))
  par0 <- start_of(m)
  sl <- make_stata_ll(spec, m, data)
  negll <- function(par) -sl$f(par)
  pol <- newton_polish(negll, par0)
  par <- pol$par
  H <- numDeriv::hessian(negll, par)
  res <- finish_model(spec, data, par, H, -negll(par), levels = spec$levels, p = p,
                      disp = NULL)
  # lme4's own numbers
  sat_add <- if (spec$nAGQ > 1) sl$sat else 0
  ll_lme4 <- as.numeric(logLik(m))
  lme4_negll <- make_lme4_negll(spec, m)
  H_lme4 <- if (light) NULL else tryCatch(numDeriv::hessian(lme4_negll, par), error = function(e) NULL)
  lme4_hess <- if (is.null(H_lme4)) NULL else {
    V <- solve(H_lme4)
    list(se_beta_joint = I(sqrt(diag(V))[seq_len(p)]), gamma_se = I(sqrt(diag(V))[-seq_len(p)]),
         max_rel_diff_vs_own = max(abs(sqrt(diag(V)) / res$se_all - 1)))
  }
  V_lme4 <- as.matrix(vcov(m))[lme4_fx, lme4_fx]
  V_rx <- as.matrix(suppressWarnings(vcov(m, use.hessian = FALSE)))[lme4_fx, lme4_fx]
  res$ll_check_optimizer <- if (light) NA else sl$f(start_of(alt))
  conv_msgs <- unlist(m@optinfo$conv$lme4$messages)
  res$converged <- m@optinfo$conv$opt == 0 && !any(grepl("failed to converge", main$warnings)) &&
    pol$gain < 1e-10
  res$warnings <- I(unique(c(main$warnings, conv_msgs)))
  res$polish <- list(first_newton_step = pol$first_step, gradient_after = pol$gradient,
                     predicted_gain_after = pol$gain)
  res$lme4 <- list(
    tolPwrss = main$attempt$tolPwrss,
    bobyqa_rhobeg = if (is.null(main$attempt$rhobeg)) "default" else main$attempt$rhobeg,
    failed_attempts = I(main$errors),
    check_tolPwrss = alt_r$attempt$tolPwrss,
    ll_reported = ll_lme4,
    ll_saturated_added = sat_add,
    ll_full = ll_lme4 + sat_add,
    ll_full_nloptwrap = as.numeric(logLik(alt)) + sat_add,
    ll_own_at_lme4_estimates = sl$f(par0),
    estimates = I(par0[seq_len(p)]),
    gamma = I(par0[-seq_len(p)]),
    theta = I(unname(getME(m, "theta"))),
    se_vcov = I(unname(sqrt(diag(V_lme4)))),
    se_vcov_rx = I(unname(sqrt(diag(V_rx)))),
    devfun_hessian = lme4_hess,
    feval = m@optinfo$feval
  )
  # consistency checks between lme4 and the exact evaluator. lme4 uses the expected curvature
  # (Fisher weights); compare like with like.
  if (sl$scalar && spec$link %in% c("probit", "cloglog")) {
    res$lme4$ll_own_expected_curvature_at_lme4_estimates <- sl$f(par0, "expected")
    res$ll_expected_curvature <- sl$f(par, "expected")
    d_ll <- res$lme4$ll_own_expected_curvature_at_lme4_estimates - res$lme4$ll_full
  } else {
    d_ll <- res$lme4$ll_own_at_lme4_estimates - res$lme4$ll_full
  }
  cat(sprintf("%-34s ll = %.10f  lme4 %.10f (own at lme4 pars - lme4 = %.2e)  step %.1e  gain %.1e  %.1fs\n",
              spec$name, res$ll, res$lme4$ll_full, d_ll, pol$first_step, pol$gain,
              proc.time()[["elapsed"]] - t0))
  # lme4's value differs from the exact one only through its PIRLS tolerance (mode accurate to
  # ~sqrt(tolPwrss)); a definitional difference (e.g. a missing constant) would be >> 1e-5.
  res$lme4$ll_full_minus_own_at_lme4_estimates <- -d_ll
  stopifnot(abs(d_ll) < 1e-5, res$ll >= res$lme4$ll_own_at_lme4_estimates - 1e-9)
  if (sl$scalar) {
    ex <- sl$ev$exact(par[seq_len(p)], exp(par[p + 1]), moments = isTRUE(spec$ebmeans))
    res$ll_exact_integral <- ex$ll
    if (isTRUE(spec$ebmeans)) res$.exact <- ex
  }
  res$r_call <- glmer_call_string(spec, main$attempt)
  if (light) res$r_call <- sub('optimizer = "bobyqa"', 'optimizer = "nloptwrap"', sub("optCtrl = list\\(.*\\)\\)\\)$", "optCtrl = list(maxeval = 1e5, xtol_abs = 1e-12, ftol_abs = 1e-14, xtol_rel = 0, ftol_rel = 0)))", res$r_call))
  res$fitter <- "glmer"
  res$.model <- m
  res$.sl <- sl
  res$.par <- par
  res
}

# Assemble the common part of a model record from Stata-metric estimates and the Hessian of -ll.
finish_model <- function(spec, data, par, H, ll, levels, p, disp) {
  nd <- if (is.null(disp)) 0 else 1
  gpar <- par[-seq_len(p + nd)]
  S <- gamma_to_cov(gpar, levels)
  vc_fix <- varcomp_names(levels, "fixture")
  vc_stata <- varcomp_names(levels, "stata_b")
  gnames <- gamma_names(levels)
  pnames <- c(paste0(spec$depvar, ":", names(spec$fixed)), if (nd) paste0("/", disp$name), gnames)
  ses <- stata_ses(H, pnames, p, levels, p + nd, gpar)
  vcv <- varcomp_values(S, levels)
  gi <- group_info(data, levels)
  res <- list(
    name = spec$name,
    data_file = sprintf("data/%s.csv", spec$data),
    fitter = NA,
    r_call = NA,
    stata_cmd = spec$stata,
    family = if (!is.null(spec$family_label)) spec$family_label else spec$family,
    link = spec$link,
    intmethod = if (spec$nAGQ == 1) "laplace" else "mcaghermite",
    intpoints = spec$nAGQ,
    depvar = spec$depvar,
    trials = spec$trials,
    n = nrow(data),
    n_groups = gi$n_groups,
    group_sizes = gi$group_sizes,
    ll = ll,
    df = length(par),
    converged = NA,
    warnings = I(character(0)),
    ll_check_optimizer = NA,
    fixed = list(
      names = I(names(spec$fixed)),
      lme4_names = I(unname(spec$fixed)),
      estimates = I(par[seq_len(p)]),
      se = I(ses$se[seq_len(p)]),
      vcov = unname(ses$V[seq_len(p), seq_len(p), drop = FALSE])
    ),
    se_beta_joint = I(ses$se[seq_len(p)]),
    random = random_block(S, levels),
    varcomp = vec_map(vc_fix, vcv),
    varcomp_se = vec_map(vc_fix, ses$varcomp_se),
    gamma = list(names = I(gnames), values = I(gpar)),
    gamma_se = I(ses$se[p + nd + seq_along(gpar)]),
    V_estimation_metric = list(names = I(pnames), matrix = unname(ses$V)),
    stata_b = list(
      names = I(c(paste0(spec$depvar, ":", names(spec$fixed)), if (nd) paste0("/", disp$name), vc_stata)),
      values = I(c(par[seq_len(p)], if (nd) par[p + 1], vcv)),
      se = I(c(ses$se[seq_len(p)], if (nd) ses$se[p + 1], ses$varcomp_se))
    )
  )
  if (nd) {
    lnd <- par[p + 1]
    se_lnd <- ses$se[p + 1]
    res$dispersion <- c(list(
      type = disp$type,
      name = disp$name,
      value = lnd, se = se_lnd,
      natural_name = sub("^ln", "", disp$name),
      natural_value = exp(lnd), natural_se = exp(lnd) * se_lnd), disp$extra)
  }
  res$se_all <- ses$se
  res
}

# ---------------------------------------------------------------------------------------------
# glmmTMB (Laplace): Stata metric via beta, betad, theta
# ---------------------------------------------------------------------------------------------
# glmmTMB's theta for one term with q columns (cnms order): log sd_1..q, then the correlation
# parameters; for q = 2 the correlation is th / sqrt(1 + th^2), i.e. th = sinh(atanh corr).
# betad: nbinom2 log(theta_NB) with Var = mu + mu^2/theta_NB, so Stata ln(alpha) = -betad;
#        nbinom1 log(phi) with Var = mu (1 + phi), so Stata ln(delta) = betad.

tmb_maps <- function(spec, m, p) {
  cnms <- m$modelInfo$reTrms$cond$cnms
  levels <- spec$levels
  has_d <- !is.null(spec$disp)
  # Build an index: TMB par vector <- function of Stata par (beta in Stata order, [lnd], gamma)
  tmb_names <- names(m$obj$par)
  bcols <- names(fixef(m)$cond)
  stopifnot(identical(sort(bcols), sort(unname(spec$fixed))))
  to_tmb <- function(par) {
    beta <- par[seq_len(p)][match(bcols, unname(spec$fixed))]
    out <- beta
    if (has_d) out <- c(out, if (spec$disp$type == "mean") -par[p + 1] else par[p + 1])
    gam <- par[-seq_len(p + has_d)]
    pos <- 0
    gl <- list()
    for (L in seq_along(levels)) { n <- n_gamma_level(levels[[L]]); gl[[L]] <- gam[pos + seq_len(n)]; pos <- pos + n }
    th <- numeric(0)
    for (i in seq_along(cnms)) {
      L <- which(vapply(levels, function(l) l$factor == names(cnms)[i], logical(1)))
      stopifnot(length(L) == 1)
      lev <- levels[[L]]
      q <- length(lev$vars)
      st <- match(cnms[[i]], lev$vars)           # Stata positions in cnms order
      th <- c(th, gl[[L]][st])
      if (q > 1) {
        stopifnot(q == 2, lev$covariance == "unstructured")
        th <- c(th, sinh(gl[[L]][q + 1]))
      }
    }
    out <- c(out, th)
    stopifnot(length(out) == length(tmb_names))
    out
  }
  to_tmb
}

fit_tmb <- function(spec) {
  data <- datasets[[spec$data]]
  t0 <- proc.time()[["elapsed"]]
  fam_r <- eval(parse(text = spec$tmb_family))
  main <- capture_fit(glmmTMB(as.formula(spec$formula), data = data, family = fam_r))
  m <- main$value
  alt <- capture_fit(glmmTMB(as.formula(spec$formula), data = data, family = fam_r,
                             control = glmmTMBControl(optimizer = optim, optArgs = list(method = "BFGS"),
                                                      optCtrl = list(reltol = 1e-14, maxit = 10000))))$value
  p <- length(spec$fixed)
  has_d <- !is.null(spec$disp)
  to_tmb <- tmb_maps(spec, m, p)
  obj <- m$obj
  negll <- function(par) as.numeric(obj$fn(to_tmb(par)))
  # Starting values in Stata's metric from glmmTMB's estimates
  bet <- fixef(m)$cond[unname(spec$fixed)]
  vc <- VarCorr(m)$cond
  S0 <- lapply(spec$levels, function(lev) {
    blk <- vc[[lev$factor]]
    cols <- colnames(blk)
    q <- length(lev$vars)
    S <- matrix(0, q, q, dimnames = list(names(lev$vars), names(lev$vars)))
    idx <- match(cols, lev$vars)
    S[idx, idx] <- as.matrix(blk)[cols, cols]
    S
  })
  lnd0 <- if (has_d) { bd <- m$fit$par[names(m$fit$par) == "betad"]; if (spec$disp$type == "mean") -bd else bd } else NULL
  par0 <- c(unname(bet), lnd0, cov_to_gamma(S0, spec$levels))
  stopifnot(abs(negll(par0) - m$fit$objective) < 1e-8)
  # Newton polish with TMB's exact gradient (chain rule through the elementwise map)
  gr_stata <- function(par) {
    eps <- 1e-6
    # d tmb / d stata is diagonal: 1, -1 (lnalpha), cosh(atr) for correlation parameters
    dm <- vapply(seq_along(par), function(i) {
      e <- rep(0, length(par)); e[i] <- eps
      (to_tmb(par + e) - to_tmb(par - e)) / (2 * eps)
    }, numeric(length(par)))
    obj$fn(to_tmb(par))
    drop(obj$gr(to_tmb(par)) %*% dm)
  }
  par <- par0
  steps <- numeric(0)
  for (it in 1:4) {
    H <- numDeriv::jacobian(gr_stata, par)
    H <- (H + t(H)) / 2
    step <- solve(H, gr_stata(par))
    par <- par - step
    steps <- c(steps, max(abs(step)))
    if (max(abs(step)) < 1e-10) break
  }
  H <- numDeriv::jacobian(gr_stata, par)
  H <- (H + t(H)) / 2
  g_final <- gr_stata(par)
  gain <- 0.5 * sum(g_final * solve(H, g_final))
  ll <- -negll(par)
  disp <- if (has_d) list(type = spec$disp$type, name = spec$disp$name,
                          extra = spec$disp$extra_fun(par[p + 1])) else NULL
  res <- finish_model(spec, data, par, H, ll, spec$levels, p, disp)
  res$fitter <- "glmmTMB"
  res$r_call <- sprintf("glmmTMB(%s, data = %s, family = %s)", spec$formula, spec$data, spec$tmb_family)
  res$ll_check_optimizer <- as.numeric(logLik(alt))
  res$converged <- m$fit$convergence == 0 && isTRUE(m$sdr$pdHess) && gain < 1e-10
  res$warnings <- I(main$warnings)
  res$polish <- list(first_newton_step = steps[1], gradient_after = max(abs(g_final)),
                     predicted_gain_after = gain)
  res$glmmTMB <- list(
    ll_reported = as.numeric(logLik(m)),
    par = I(unname(m$fit$par)),
    par_names = I(names(m$fit$par)),
    se_sdreport = I(unname(sqrt(diag(vcov(m)$cond))[unname(spec$fixed)]))
  )
  cat(sprintf("%-34s ll = %.10f  glmmTMB %.10f  check %.10f  step %.1e  %.1fs\n", spec$name, ll,
              res$glmmTMB$ll_reported, res$ll_check_optimizer, steps[1], proc.time()[["elapsed"]] - t0))
  stopifnot(ll >= res$glmmTMB$ll_reported - 1e-9)
  res$.model <- m
  res$.par <- par
  res
}

# ---------------------------------------------------------------------------------------------
# AGHQ beyond lme4's limit (nAGQ <= 25): own evaluator maximised directly (scalar RE only)
# ---------------------------------------------------------------------------------------------

fit_own <- function(spec, start_model) {
  data <- datasets[[spec$data]]
  t0 <- proc.time()[["elapsed"]]
  m <- start_model$.model              # a glmer fit of the same formula (any nAGQ), for X and groups
  p <- length(spec$fixed)
  sl <- make_stata_ll(spec, m, data)   # uses spec$nAGQ
  negll <- function(par) -sl$f(par)
  pol <- newton_polish(negll, start_model$.par)
  par <- pol$par
  H <- numDeriv::hessian(negll, par)
  res <- finish_model(spec, data, par, H, -negll(par), spec$levels, p, NULL)
  # check optimiser: BFGS from the Laplace solution (or whatever spec$check_start gives)
  chk <- optim(spec$check_start, negll, method = "BFGS",
               control = list(reltol = 1e-15, maxit = 10000))
  res$ll_check_optimizer <- -chk$value
  res$converged <- pol$gain < 1e-10
  res$polish <- list(first_newton_step = pol$first_step, gradient_after = pol$gradient,
                     predicted_gain_after = pol$gain)
  ex <- sl$ev$exact(par[seq_len(p)], exp(par[p + 1]))
  res$ll_exact_integral <- ex$ll
  res$fitter <- "own"
  res$r_call <- sprintf("own mode-curvature AGHQ (%d points, observed curvature) of %s, family %s(link = \"%s\"), maximised by Newton steps (numDeriv) from the %s fit",
                        spec$nAGQ, spec$formula, spec$family, spec$link, start_model$name)
  cat(sprintf("%-34s ll = %.10f  check %.10f  step %.1e  grad %.1e  %.1fs\n", spec$name, res$ll,
              res$ll_check_optimizer, pol$first_step, pol$gradient, proc.time()[["elapsed"]] - t0))
  res$.model <- m
  res$.par <- par
  res$.sl <- sl
  res
}

# ---------------------------------------------------------------------------------------------
# Predictions for a scalar random-intercept model: EB modes, their SDs, xb, mu; EB means
# ---------------------------------------------------------------------------------------------

predictions_block <- function(res, spec) {
  data <- datasets[[spec$data]]
  p <- length(spec$fixed)
  par <- res$.par
  beta <- par[seq_len(p)]
  sigma <- exp(par[p + 1])
  md <- res$.sl$ev$modes(beta, sigma)
  m <- res$.model
  fl <- getME(m, "flist")[[1]]
  ids <- as.integer(levels(fl))
  xb <- drop(res$.sl$X %*% beta)
  eta <- xb + md$u[as.integer(fl)]
  linv <- make.link(spec$link)$linkinv
  mu <- linv(eta)
  # checks against lme4 (at lme4's slightly different estimates)
  re_l <- ranef(m, condVar = TRUE)[[1]]
  d_re <- max(abs(re_l[, 1] - md$u))
  cat(sprintf("  predictions: max |own mode - lme4 ranef| = %.2e (different estimates)\n", d_re))
  out <- list(
    level = spec$levels[[1]]$name,
    ids = I(ids),
    n_obs = I(as.vector(table(fl))),
    ebmodes = I(md$u),
    ebmodes_sd = I(md$s),
    lme4_ranef = I(re_l[, 1]),
    lme4_condvar_sd = I(sqrt(as.vector(attr(re_l, "postVar")))),
    xb = I(xb),
    mu = I(mu),
    lme4_fitted = I(unname(fitted(m))),
    lme4_xb = I(unname(predict(m, re.form = NA)))
  )
  if (!is.null(spec$trials)) out$mu_count <- I(mu * data[[spec$trials]])
  if (!is.null(res$.exact)) {
    out$ebmeans <- I(res$.exact$post_mean)
    out$ebmeans_sd <- I(res$.exact$post_sd)
  }
  out
}

# ---------------------------------------------------------------------------------------------
# Single-level baselines (glm): ll, coefficients, OIM standard errors (as Stata)
# ---------------------------------------------------------------------------------------------

fit_glm <- function(spec) {
  data <- datasets[[spec$data]]
  fam_r <- get(spec$family)(link = spec$link)
  m <- glm(as.formula(spec$formula), data = data, family = fam_r,
           control = glm.control(epsilon = 1e-14, maxit = 100))
  lme4_fx <- unname(spec$fixed)
  X <- model.matrix(m)[, lme4_fx, drop = FALSE]
  fam <- make_family(spec$family, spec$link)
  y <- data[[spec$depvar]]
  ntr <- if (is.null(spec$trials)) rep(1, nrow(data)) else data[[spec$trials]]
  ll_fun <- function(b) sum(fam$ll(drop(X %*% b), y, ntr))
  b <- unname(coef(m)[lme4_fx])
  # Newton polish on the exact log likelihood (observed information)
  for (it in 1:3) {
    eta <- drop(X %*% b)
    G <- drop(crossprod(X, fam$d1(eta, y, ntr)))
    Hm <- -crossprod(X, X * fam$d2(eta, y, ntr))
    b <- b + solve(Hm, G)
  }
  eta <- drop(X %*% b)
  Hm <- crossprod(X, X * (-fam$d2(eta, y, ntr)))
  V <- solve(Hm)
  V <- (V + t(V)) / 2
  ll <- ll_fun(b)
  stopifnot(abs(ll - as.numeric(logLik(m))) < 1e-8)
  V_glm <- vcov(m)[lme4_fx, lme4_fx]
  cat(sprintf("%-34s ll = %.10f  (glm %.10f)\n", spec$name, ll, as.numeric(logLik(m))))
  list(
    name = spec$name,
    data_file = sprintf("data/%s.csv", spec$data),
    fitter = "glm",
    r_call = sprintf("glm(%s, data = %s, family = %s(link = \"%s\"))", spec$formula, spec$data,
                     spec$family, spec$link),
    stata_cmd = spec$stata,
    family = spec$family,
    link = spec$link,
    depvar = spec$depvar,
    trials = spec$trials,
    n = nrow(data),
    ll = ll,
    df = length(b),
    converged = m$converged,
    fixed = list(names = I(names(spec$fixed)), lme4_names = I(lme4_fx), estimates = I(b),
                 se = I(sqrt(diag(V))), vcov = unname(V)),
    se_glm_expected_information = I(unname(sqrt(diag(V_glm)))),
    vcov_glm_expected_information = unname(V_glm)
  )
}

# ---------------------------------------------------------------------------------------------
# Writing
# ---------------------------------------------------------------------------------------------

clean <- function(x) {
  x[c(".model", ".sl", ".par", ".exact", "se_all")] <- NULL
  x
}

write_fixture <- function(name, description, data_info, models, extra = list()) {
  obj <- c(list(fixture = name, description = description), meta,
           list(data = data_info, models = lapply(models, clean)), extra)
  path <- file.path(fixture_dir, paste0(name, ".json"))
  writeLines(toJSON(obj, auto_unbox = TRUE, digits = NA, pretty = TRUE, null = "null", na = "null"),
             path)
  cat("wrote", path, "\n")
}

data_info <- function(key, source, coding) {
  d <- datasets[[key]]
  list(file = sprintf("data/%s.csv", key), reader = "utils::read.csv", n_rows = nrow(d),
       source = source, coding = coding)
}

# ---------------------------------------------------------------------------------------------
# Level specifications
# ---------------------------------------------------------------------------------------------

lev_int <- function(name, factor = name)
  list(name = name, factor = factor, covariance = "identity", vars = c(`_cons` = "(Intercept)"))

# =============================================================================================
# 1. cbpp
# =============================================================================================

cbpp_fixed <- c(`2.period` = "period2", `3.period` = "period3", `4.period` = "period4",
                `_cons` = "(Intercept)")
cbpp_spec <- function(k) list(
  name = sprintf("cbpp_%s", if (k == 1) "laplace" else sprintf("aghq%d", k)),
  data = "cbpp", depvar = "incidence", trials = "size", family = "binomial", link = "logit",
  formula = "cbind(incidence, size - incidence) ~ period + (1 | herd)",
  stata = sprintf("melogit incidence i.period || herd:, binomial(size) %s",
                  if (k == 1) "intmethod(laplace)" else sprintf("intmethod(mcaghermite) intpoints(%d)", k)),
  fixed = cbpp_fixed, levels = list(lev_int("herd")), nAGQ = k, ebmeans = TRUE)

cbpp_models <- lapply(c(1, 7, 12), function(k) fit_glmer(cbpp_spec(k)))
for (i in seq_along(cbpp_models)) {
  cbpp_models[[i]]$predictions <- predictions_block(cbpp_models[[i]], cbpp_spec(c(1, 7, 12)[i]))
  cbpp_models[[i]]$predictions$ebmeans_note <- "posterior means/SDs of each herd's random effect by integrate(), at this model's estimates"
}
cbpp_lchoose <- sum(lchoose(cbpp$size, cbpp$incidence))
for (i in seq_along(cbpp_models)) cbpp_models[[i]]$ll_binomial_constant <- cbpp_lchoose

cbpp_glm <- fit_glm(list(
  name = "cbpp_glm_logit", data = "cbpp", depvar = "incidence", trials = "size",
  family = "binomial", link = "logit", formula = "cbind(incidence, size - incidence) ~ period",
  stata = "glm incidence i.period, family(binomial size) link(logit)", fixed = cbpp_fixed))
cbpp_glm$ll_binomial_constant <- cbpp_lchoose

# quadrature_check at the nAGQ = 12 estimates
qc <- local({
  res12 <- cbpp_models[[3]]
  m12 <- res12$.model
  p <- length(cbpp_fixed)
  beta <- res12$.par[seq_len(p)]
  sigma <- exp(res12$.par[p + 1])
  ev <- res12$.sl$ev
  ex <- ev$exact(beta, sigma)
  sat <- res12$.sl$sat
  ks <- c(1, 3, 7, 12, 25)
  bl <- beta[match(colnames(getME(m12, "X")), cbpp_fixed)]
  lme4_raw <- vapply(ks, function(k) {
    df <- update(m12, nAGQ = k, devFunOnly = TRUE)
    -df(c(sigma, bl)) / 2
  }, numeric(1))
  own <- vapply(ks, function(k) ev$ll(beta, sigma, k), numeric(1))
  lme4_full <- lme4_raw + ifelse(ks > 1, sat, 0)
  cat(sprintf("quadrature_check: integrate %.12f; own %s; lme4 full %s\n", ex$ll,
              paste(sprintf("%.12f", own), collapse = " "), paste(sprintf("%.12f", lme4_full), collapse = " ")))
  stopifnot(abs(own[5] - ex$ll) < 1e-8, max(abs(own[-1] - lme4_full[-1])) < 1e-7)
  list(
    model = "cbpp_aghq12",
    description = "cbpp marginal log likelihood at the nAGQ = 12 estimates (fixed parameters), by brute-force integrate() per herd and by quadrature with k points",
    fixed_names = I(names(cbpp_fixed)),
    beta = I(beta),
    sigma = sigma,
    var_cons = sigma^2,
    ll_integrate = ex$ll,
    ll_integrate_by_herd = I(ex$ll_groups),
    integrate_rel_tol = 1e-12,
    intpoints = I(ks),
    ll_aghq_own = I(own),
    ll_lme4_devfun = I(lme4_raw),
    ll_lme4_devfun_plus_saturated = I(lme4_full),
    ll_saturated = sat,
    note = "ll_lme4_devfun = -devfun(c(theta, beta))/2 from update(m, nAGQ = k, devFunOnly = TRUE). For k > 1 lme4 omits the saturated log likelihood; ll_lme4_devfun_plus_saturated adds it back. The k = 1 lme4 value depends on tolPwrss; ll_aghq_own is exact."
  )
})

write_fixture("glmm_cbpp",
              "cbpp: binomial counts (incidence of size) by period, random intercept per herd; Laplace, AGHQ 7 and 12; glm baseline; quadrature check",
              data_info("cbpp", "lme4::cbpp", list(herd = "1..15 (lme4 factor levels)", period = "1..4")),
              c(cbpp_models, list(cbpp_glm)), list(quadrature_check = qc))

# =============================================================================================
# 2. Contraception
# =============================================================================================

ct_fixed <- c(age = "age", `c.age#c.age` = "I(age^2)", `1.urban` = "urban",
              `1.livch` = "livch1", `2.livch` = "livch2", `3.livch` = "livch3", `_cons` = "(Intercept)")
ct_rhs <- "age + I(age^2) + urban + livch"
ct_stata_rhs <- "use c.age##c.age i.urban i.livch"
intm <- function(k) if (k == 1) "intmethod(laplace)" else sprintf("intmethod(mcaghermite) intpoints(%d)", k)
ct_spec <- function(link, k, slope = FALSE) {
  cmd <- c(logit = "melogit", probit = "meprobit", cloglog = "mecloglog")[[link]]
  list(
    name = sprintf("contraception_%s_%s%s", link, if (slope) "rslope_" else "",
                   if (k == 1) "laplace" else sprintf("aghq%d", k)),
    data = "contraception", depvar = "use", family = "binomial", link = link,
    formula = sprintf("use ~ %s + (%s | district)", ct_rhs, if (slope) "1 + urban" else "1"),
    stata = sprintf("%s %s || district:%s, %s", cmd, ct_stata_rhs,
                    if (slope) " urban" else "", paste0(if (slope) "covariance(unstructured) " else "", intm(k))),
    fixed = ct_fixed,
    levels = list(if (slope) list(name = "district", factor = "district", covariance = "unstructured",
                                  vars = c(urban = "urban", `_cons` = "(Intercept)"))
                  else lev_int("district")),
    nAGQ = k, ebmeans = (!slope && k == 1 && link == "logit"))
}

ct_specs <- list(ct_spec("logit", 1), ct_spec("logit", 7), ct_spec("probit", 7),
                 ct_spec("cloglog", 7), ct_spec("logit", 1, slope = TRUE))
ct_models <- lapply(ct_specs, fit_glmer)
ct_models[[1]]$predictions <- predictions_block(ct_models[[1]], ct_specs[[1]])

# glmmTMB version of the random slope (Laplace)
ct_slope_tmb_spec <- ct_spec("logit", 1, slope = TRUE)
ct_slope_tmb_spec$name <- "contraception_logit_rslope_laplace_glmmTMB"
ct_slope_tmb_spec$tmb_family <- 'binomial(link = "logit")'
ct_tmb <- fit_tmb(ct_slope_tmb_spec)
ct_tmb$agreement_with_glmer <- local({
  a <- ct_models[[5]]
  list(ll_diff = ct_tmb$ll - a$ll,
       max_abs_diff_stata_b = max(abs(ct_tmb$stata_b$values - a$stata_b$values)),
       max_rel_diff_se = max(abs(ct_tmb$stata_b$se / a$stata_b$se - 1)))
})
cat(sprintf("  glmmTMB vs glmer random slope: ll diff %.2e, max |b| diff %.2e, max rel se diff %.2e\n",
            ct_tmb$agreement_with_glmer$ll_diff, ct_tmb$agreement_with_glmer$max_abs_diff_stata_b,
            ct_tmb$agreement_with_glmer$max_rel_diff_se))

ct_glms <- lapply(c("logit", "probit", "cloglog"), function(link) fit_glm(list(
  name = sprintf("contraception_glm_%s", link), data = "contraception", depvar = "use",
  family = "binomial", link = link, formula = sprintf("use ~ %s", ct_rhs),
  stata = sprintf("%s %s", link, ct_stata_rhs), fixed = ct_fixed)))

write_fixture("glmm_contraception",
              "Contraception (Bangladesh): use ~ age + age^2 + urban + livch, random intercept (and urban slope) per district; logit/probit/cloglog; glm baselines",
              data_info("contraception", "mlmRev::Contraception",
                        list(use = "1 = Y", urban = "1 = urban (Y)", livch = "0,1,2,3 = 0,1,2,3+ living children",
                             age = "centred, as in mlmRev", district = "mlmRev district codes (60 of 1..61)",
                             woman = "1..1934")),
              c(ct_models, list(ct_tmb), ct_glms))

# =============================================================================================
# 3. toenail
# =============================================================================================

toe_spec <- function(tvar, k) {
  fx <- setNames(c("treatment", tvar, sprintf("treatment:%s", tvar), "(Intercept)"),
                 c("1.treatment", tvar, sprintf("1.treatment#c.%s", tvar), "_cons"))
  list(
    name = sprintf("toenail_%s_%s", tvar, if (k == 1) "laplace" else sprintf("aghq%d", k)),
    data = "toenail", depvar = "outcome", family = "binomial", link = "logit",
    formula = sprintf("outcome ~ treatment * %s + (1 | patientid)", tvar),
    stata = sprintf("melogit outcome i.treatment##c.%s || patientid:, %s", tvar, intm(k)),
    fixed = fx, levels = list(lev_int("patientid")), nAGQ = k)
}

toe_models <- list()
toe_quad <- list()
for (tvar in c("visit", "time")) {
  ks <- c(1, 3, 5, 7, 9, 15, 25)
  fits <- list()
  for (k in ks) {
    sp <- toe_spec(tvar, k)
    sp$light <- !(k %in% c(1, 7))
    fits[[as.character(k)]] <- fit_glmer(sp)
  }
  s30 <- toe_spec(tvar, 30)
  s30$check_start <- fits[["1"]]$.par
  fits[["30"]] <- fit_own(s30, fits[["25"]])
  allk <- c(ks, 30)
  toe_quad[[tvar]] <- list(
    model = sprintf("outcome ~ treatment * %s + (1 | patientid)", tvar),
    stata_cmd = sprintf("melogit outcome i.treatment##c.%s || patientid:, intmethod(mcaghermite) intpoints(k)  (k = 1: intmethod(laplace))", tvar),
    intpoints = I(allk),
    fitter = I(vapply(fits, `[[`, "", "fitter")),
    ll = I(vapply(fits, `[[`, 0, "ll")),
    ll_exact_integral_at_estimates = I(vapply(fits, `[[`, 0, "ll_exact_integral")),
    var_cons = I(vapply(fits, function(f) f$varcomp[[1]], 0)),
    var_cons_se = I(vapply(fits, function(f) f$varcomp_se[[1]], 0)),
    fixed_names = I(names(s30$fixed)),
    fixed_estimates = unname(t(vapply(fits, function(f) f$fixed$estimates, numeric(4)))),
    fixed_se = unname(t(vapply(fits, function(f) f$fixed$se, numeric(4))))
  )
  for (k in c("1", "7", "30")) toe_models[[length(toe_models) + 1]] <- fits[[k]]
}

write_fixture("glmm_toenail",
              "toenail (onycholysis): outcome ~ treatment * visit (and * time) + (1 | patientid), logit; Laplace, AGHQ 7 and 30; log likelihood by number of quadrature points",
              data_info("toenail", "HSAUR3::toenail",
                        list(outcome = "1 = moderate or severe, 0 = none or mild",
                             treatment = "1 = terbinafine, 0 = itraconazole",
                             time = "months since baseline", visit = "1..7",
                             patientid = "HSAUR3 patientID codes (294 of 1..383)")),
              toe_models, list(quadrature_ll = toe_quad))

# =============================================================================================
# 4. grouseticks
# =============================================================================================

gt_fixed <- c(`96.year` = "year96", `97.year` = "year97", cheight = "cheight", `_cons` = "(Intercept)")
gt_nested <- list(lev_int("location"), list(name = "brood", factor = "brood:location",
                                             covariance = "identity", vars = c(`_cons` = "(Intercept)")))
gt_models <- list()
gt_models[[1]] <- fit_glmer(list(
  name = "grouseticks_poisson_nested_laplace", data = "grouseticks", depvar = "ticks",
  family = "poisson", link = "log", formula = "ticks ~ year + cheight + (1 | location/brood)",
  stata = "mepoisson ticks i.year cheight || location: || brood:, intmethod(laplace)",
  fixed = gt_fixed, levels = gt_nested, nAGQ = 1))
gt_models[[2]] <- fit_glmer(list(
  name = "grouseticks_poisson_brood_aghq7", data = "grouseticks", depvar = "ticks",
  family = "poisson", link = "log", formula = "ticks ~ year + cheight + (1 | brood)",
  stata = "mepoisson ticks i.year cheight || brood:, intmethod(mcaghermite) intpoints(7)",
  fixed = gt_fixed, levels = list(lev_int("brood")), nAGQ = 7))

# glmmTMB: Poisson nested (check of the glmer Laplace fit), NB2 and NB1 nested
gt_tmb_specs <- list(
  list(name = "grouseticks_poisson_nested_laplace_glmmTMB", tmb_family = 'poisson(link = "log")',
       family = "poisson", stata = "mepoisson ticks i.year cheight || location: || brood:, intmethod(laplace)"),
  list(name = "grouseticks_nbinom2_nested_laplace", tmb_family = 'nbinom2(link = "log")',
       family = "poisson", family_label = "nbinomial (mean dispersion)",
       stata = "menbreg ticks i.year cheight || location: || brood:, dispersion(mean) intmethod(laplace)",
       disp = list(type = "mean", name = "lnalpha",
                   extra_fun = function(lnalpha) list(theta_glmmTMB = exp(-lnalpha), betad_glmmTMB = -lnalpha,
                                                      variance_function = "Var(y|u) = mu (1 + alpha mu); alpha = 1/theta_glmmTMB"))),
  list(name = "grouseticks_nbinom1_nested_laplace", tmb_family = 'nbinom1(link = "log")',
       family = "poisson", family_label = "nbinomial (constant dispersion)",
       stata = "menbreg ticks i.year cheight || location: || brood:, dispersion(constant) intmethod(laplace)",
       disp = list(type = "constant", name = "lndelta",
                   extra_fun = function(lndelta) list(phi_glmmTMB = exp(lndelta), betad_glmmTMB = lndelta,
                                                      variance_function = "Var(y|u) = mu (1 + delta); delta = phi_glmmTMB (sigma(m))")))
)
for (s in gt_tmb_specs) {
  s <- modifyList(list(data = "grouseticks", depvar = "ticks", link = "log",
                       formula = "ticks ~ year + cheight + (1 | location/brood)", fixed = gt_fixed,
                       levels = gt_nested, nAGQ = 1), s)
  r <- fit_tmb(s)
  if (!is.null(s$disp)) r$family <- s$family_label
  gt_models[[length(gt_models) + 1]] <- r
}
gt_models[[3]]$agreement_with_glmer <- list(
  ll_diff = gt_models[[3]]$ll - gt_models[[1]]$ll,
  max_abs_diff_stata_b = max(abs(gt_models[[3]]$stata_b$values - gt_models[[1]]$stata_b$values)),
  max_rel_diff_se = max(abs(gt_models[[3]]$stata_b$se / gt_models[[1]]$stata_b$se - 1)))
cat(sprintf("  glmmTMB vs glmer nested Poisson: ll diff %.2e, max |b| diff %.2e, max rel se diff %.2e\n",
            gt_models[[3]]$agreement_with_glmer$ll_diff, gt_models[[3]]$agreement_with_glmer$max_abs_diff_stata_b,
            gt_models[[3]]$agreement_with_glmer$max_rel_diff_se))

# NB1 parameterisation check: glmmTMB nbinom1 without random effects vs a hand-coded NB1 likelihood
# Var = mu (1 + delta): y ~ NegBin(size = mu / delta, mean mu).
nb_check <- local({
  Xg <- model.matrix(~ year + cheight, grouse)
  t1 <- glmmTMB(ticks ~ year + cheight, grouse, family = nbinom1())
  nll <- function(p) {
    mu <- exp(drop(Xg %*% p[1:4]))
    -sum(dnbinom(grouse$ticks, size = mu / exp(p[5]), mu = mu, log = TRUE))
  }
  o <- optim(t1$fit$par, nll, method = "BFGS", control = list(reltol = 1e-15, maxit = 10000))
  stopifnot(abs(o$value - t1$fit$objective) < 1e-7, max(abs(o$par - t1$fit$par)) < 1e-4)
  list(hand_coded_nll = o$value, glmmTMB_nll = t1$fit$objective,
       note = "nbinom1 in glmmTMB: Var = mu (1 + phi), phi = exp(betad) = sigma(m); equals Stata's dispersion(constant) delta")
})

# Baselines: poisson, nbreg (mean and constant dispersion) without random effects
gt_glm <- fit_glm(list(name = "grouseticks_glm_poisson", data = "grouseticks", depvar = "ticks",
                       family = "poisson", link = "log", formula = "ticks ~ year + cheight",
                       stata = "poisson ticks i.year cheight", fixed = gt_fixed))
nbreg_fit <- function(type) {
  fam <- if (type == "mean") nbinom2() else nbinom1()
  m <- glmmTMB(ticks ~ year + cheight, grouse, family = fam)
  Xg <- model.matrix(~ year + cheight, grouse)[, unname(gt_fixed)]
  nll <- function(p) {
    mu <- exp(drop(Xg %*% p[1:4]))
    if (type == "mean") -sum(dnbinom(grouse$ticks, size = exp(-p[5]), mu = mu, log = TRUE))
    else -sum(dnbinom(grouse$ticks, size = mu / exp(p[5]), mu = mu, log = TRUE))
  }
  bd <- m$fit$par[names(m$fit$par) == "betad"]
  p0 <- c(unname(fixef(m)$cond[unname(gt_fixed)]), if (type == "mean") -bd else bd)
  pol <- newton_polish(nll, p0)
  H <- numDeriv::hessian(nll, pol$par)
  V <- solve(H); V <- (V + t(V)) / 2
  se <- sqrt(diag(V))
  nm <- if (type == "mean") "lnalpha" else "lndelta"
  cat(sprintf("%-34s ll = %.10f  (glmmTMB %.10f)\n", paste0("grouseticks_nbreg_", type), -nll(pol$par),
              as.numeric(logLik(m))))
  list(
    name = sprintf("grouseticks_nbreg_%s", type), data_file = "data/grouseticks.csv",
    fitter = "glmmTMB + Newton polish on dnbinom likelihood",
    r_call = sprintf("glmmTMB(ticks ~ year + cheight, data = grouseticks, family = %s())",
                     if (type == "mean") "nbinom2" else "nbinom1"),
    stata_cmd = sprintf("nbreg ticks i.year cheight%s", if (type == "mean") "" else ", dispersion(constant)"),
    family = sprintf("nbinomial (%s dispersion)", type), link = "log", depvar = "ticks",
    n = nrow(grouse), ll = -nll(pol$par), df = 5, converged = pol$gradient < 1e-5,
    fixed = list(names = I(names(gt_fixed)), lme4_names = I(unname(gt_fixed)),
                 estimates = I(pol$par[1:4]), se = I(se[1:4]), vcov = unname(V[1:4, 1:4])),
    dispersion = list(type = type, name = nm, value = pol$par[5], se = se[5],
                      natural_name = sub("^ln", "", nm), natural_value = exp(pol$par[5]),
                      natural_se = exp(pol$par[5]) * se[5]),
    V_estimation_metric = list(names = I(c(paste0("ticks:", names(gt_fixed)), paste0("/", nm))),
                               matrix = unname(V))
  )
}
gt_nbreg <- lapply(c("mean", "constant"), nbreg_fit)

write_fixture("glmm_grouseticks",
              "grouseticks: tick counts on red grouse chicks; Poisson with broods nested in locations (Laplace), Poisson with brood intercepts (AGHQ 7), negative binomial NB2/NB1 (glmmTMB, Laplace); single-level baselines",
              data_info("grouseticks", "lme4::grouseticks",
                        list(index = "chick (INDEX)", year = "95, 96, 97", brood = "lme4 BROOD codes (each brood in one location)",
                             location = "lme4 LOCATION codes", height = "HEIGHT (m above sea level)",
                             cheight = "height - mean(height) (written to the CSV with 15 significant digits)")),
              c(gt_models, list(gt_glm), gt_nbreg), list(nbinom1_parameterisation_check = nb_check))

cat(sprintf("total time %.1f s\n", proc.time()[["elapsed"]] - t_start))
