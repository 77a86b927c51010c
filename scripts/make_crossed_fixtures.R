# lme4 oracle fixtures for crossed and partially crossed linear mixed models.
#
# Run from the repository root:  bash scripts/make_crossed_fixtures.sh
#   (or, when the data files exist:  Rscript scripts/make_crossed_fixtures.R [OUT.json])
# Needs (Debian): r-cran-lme4 r-cran-jsonlite r-cran-numderiv. The tests never need R.
#
# Data: data/crossed_small.csv, data/crossed_slopes.csv and data/insteval_like.csv, all written by
# scripts/gen_crossed_data.py (deterministic; the sha256 of each file is recorded in the fixture).
# Output (default): tests/fixtures/crossed_lme4.json. See tests/fixtures/crossed.md for the schema
# and for why the file is not called lme4_crossed.json.
#
# Conventions follow scripts/make_lme4_fixtures.R: bobyqa (rhoend 1e-10) with an nloptwrap re-fit
# as a check, Stata names and order, variance-component SEs from the numerical Hessian of the
# profiled deviance in Stata's metric gamma = (ln sd, atanh corr, ln sigma_e), 15 significant
# digits (jsonlite digits = NA). A crossed `|| _all: R.a` level is written as level "_all" with the
# single variable "R.a" and an identity covariance (one variance).

suppressPackageStartupMessages({
  library(lme4)
  library(jsonlite)
})

args <- commandArgs(trailingOnly = TRUE)
out_path <- if (length(args) >= 1) args[1] else "tests/fixtures/crossed_lme4.json"
only <- Sys.getenv("CROSSED_ONLY")    # e.g. CROSSED_ONLY=crossed_small to skip the big model

ctrl <- lmerControl(optimizer = "bobyqa",
                    optCtrl = list(maxfun = 1e5, rhoend = 1e-10))
ctrl_check <- lmerControl(optimizer = "nloptwrap",
                          optCtrl = list(maxeval = 1e5, xtol_abs = 1e-12, ftol_abs = 1e-14,
                                         xtol_rel = 0, ftol_rel = 0))

# numpy version of the data generator: set by scripts/make_crossed_fixtures.sh (Python run from
# inside R may not see the same site-packages).
numpy_version <- Sys.getenv("NUMPY_VERSION", NA_character_)

meta <- list(
  generator = "scripts/make_crossed_fixtures.R",
  r_version = R.version.string,
  lme4_version = as.character(packageVersion("lme4")),
  matrix_version = as.character(packageVersion("Matrix")),
  numderiv_version = as.character(packageVersion("numDeriv")),
  optimizer = "bobyqa (maxfun = 1e5, rhoend = 1e-10)",
  check_optimizer = "nloptwrap (xtol_abs = 1e-12, ftol_abs = 1e-14)",
  data_generator = "scripts/gen_crossed_data.py",
  numpy_version = numpy_version
)

# ---------------------------------------------------------------------------------------------
# Data
# ---------------------------------------------------------------------------------------------

sha256 <- function(path) strsplit(system2("sha256sum", path, stdout = TRUE), " ")[[1]][1]

data_files <- list(
  crossed_small = list(file = "data/crossed_small.csv", dataset = "crossed_small"),
  crossed_slopes = list(file = "data/crossed_slopes.csv", dataset = "crossed_slopes"),
  insteval = list(file = "data/insteval_like.csv", dataset = "insteval")
)
read_data <- function(key, factors) {
  info <- data_files[[key]]
  if (!file.exists(info$file))
    stop(info$file, " is missing: run python scripts/gen_crossed_data.py ", info$dataset,
         " --out ", info$file, " (or bash scripts/make_crossed_fixtures.sh)")
  d <- read.csv(info$file)
  for (f in factors) d[[f]] <- factor(d[[f]], levels = sort(unique(d[[f]])))
  list(data = d, info = list(
    file = info$file, reader = "utils::read.csv", n_rows = nrow(d),
    bytes = file.size(info$file), sha256 = sha256(info$file),
    generator_cmd = sprintf("python scripts/gen_crossed_data.py %s --out %s", info$dataset,
                            info$file),
    shipped = TRUE))
}

# ---------------------------------------------------------------------------------------------
# Variance-component SEs in Stata's way (as in scripts/make_lme4_fixtures.R): V(gamma) is the
# inverse of the numerical Hessian of -loglik (restricted loglik for REML) in gamma = (lns..,
# atr.., lnsig_e), beta profiled out by GLS; var/cov SEs by the delta method.
# ---------------------------------------------------------------------------------------------

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
  list(S = S, sigma2 = exp(2 * gamma[pos + 1]))
}

cov_to_theta <- function(S, sigma2, m, levels) {
  block_names <- names(VarCorr(m))
  theta <- numeric(0)
  for (i in seq_along(m@cnms)) {
    L <- which(vapply(levels, function(l) block_names[i] %in% l$blocks, logical(1)))
    stopifnot(length(L) == 1)
    stata_names <- names(levels[[L]]$vars)[match(m@cnms[[i]], levels[[L]]$vars)]
    B <- S[[L]][stata_names, stata_names, drop = FALSE] / sigma2
    Lc <- t(chol(B))
    theta <- c(theta, Lc[lower.tri(Lc, diag = TRUE)])
  }
  theta
}

make_deviance <- function(m, levels, reml) {
  f <- lme4:::devfun2(m, useSc = TRUE, signames = FALSE)
  env <- environment(f)
  pp <- env$pp
  resp <- env$resp
  n <- nobs(m)
  p <- length(fixef(m))
  n_eval <- 0L
  dev <- function(gamma) {
    n_eval <<- n_eval + 1L
    cv <- gamma_to_cov(gamma, levels)
    th <- cov_to_theta(cv$S, cv$sigma2, m, levels)
    .Call(lme4:::lmer_Deviance, pp$ptr(), resp$ptr(), th)
    s2 <- cv$sigma2
    d <- pp$ldL2() + (resp$wrss() + pp$sqrL(1)) / s2 + n * log(2 * pi * s2)
    if (reml) d <- d + pp$ldRX2() - p * log(2 * pi * s2)
    d
  }
  list(dev = dev, count = function() n_eval)
}

varcomp_se <- function(m, levels, gamma, reml, varcomp_names) {
  if (isSingular(m) || any(!is.finite(gamma))) return(NULL)
  t0 <- proc.time()[["elapsed"]]
  D <- make_deviance(m, levels, reml)
  dev <- D$dev
  stopifnot(abs(dev(gamma) + 2 * as.numeric(logLik(m))) < 1e-6)
  # Absolute steps (h = 3e-2 in gamma, Richardson r = 4 down to 3.75e-3), by differentiating at
  # z = 0 of dev(gamma + z). numDeriv's default steps are relative (1e-4 |gamma_k|), which is tiny
  # when a gamma is near 0 (here lnsig_e = -0.011 in crossed_small): the deviance's rounding
  # noise then dominates, and the default gave SEs 1-4% off on crossed_small.
  H <- numDeriv::hessian(function(z) dev(gamma + z) / 2, 0 * gamma,
                        method.args = list(eps = 3e-2, d = 0))
  Vg <- solve(H)
  comps <- function(g) {
    cv <- gamma_to_cov(g, levels)
    out <- numeric(0)
    for (L in seq_along(levels)) {
      S <- cv$S[[L]]
      q <- nrow(S)
      out <- c(out, diag(S))
      if (levels[[L]]$covariance == "unstructured" && q > 1)
        for (k in 1:(q - 1)) for (j in (k + 1):q) out <- c(out, S[k, j])
    }
    c(out, cv$sigma2)
  }
  J <- numDeriv::jacobian(comps, gamma)
  se <- sqrt(diag(J %*% Vg %*% t(J)))
  list(gamma_se = sqrt(diag(Vg)), varcomp_se = as.list(setNames(se, varcomp_names)),
       hessian = list(deviance_evaluations = D$count(),
                      seconds = round(proc.time()[["elapsed"]] - t0, 2)))
}

fit <- function(formula, data, reml, control) {
  warns <- character(0)
  t <- system.time(m <- withCallingHandlers(
    lmer(formula, data = data, REML = reml, control = control),
    warning = function(w) {
      warns <<- c(warns, conditionMessage(w))
      invokeRestart("muffleWarning")
    }))
  list(model = m, warnings = unique(c(warns, m@optinfo$conv$lme4$messages)), time = t)
}

# ---------------------------------------------------------------------------------------------
# Polishing the optimum. lme4's deviance is reproducible only to about 1 ulp from run to run (the
# summation order in Eigen/CHOLMOD depends on memory alignment), and a derivative-free optimiser
# then stops at points that differ by ~sqrt(ulp) on a flat optimum: up to 1e-5 relative in a
# variance between two runs of bobyqa. A few Newton steps on the profiled deviance in theta, with
# Richardson-extrapolated numerical gradients (numDeriv, absolute step 1e-3, r = 2), pin the optimum
# to the gradient's noise level instead (~1e-10 in theta). Skipped when a variance parameter of
# theta is below 0.01 (at or near its lower bound).
# ---------------------------------------------------------------------------------------------

polish_theta <- function(formula, data, reml, theta0, max_iter = 4) {
  devf <- lmer(formula, data = data, REML = reml, devFunOnly = TRUE)
  lower <- environment(devf)$lower
  info <- list(done = FALSE, iterations = 0L, steps = I(numeric(0)), grad = I(numeric(0)),
               deviance_change = 0)
  if (any(theta0[lower == 0] < 1e-2)) return(list(theta = theta0, info = info))
  # Gradient: absolute steps h = 1e-3 in theta (Richardson r = 2), taken at z = 0 of
  # devf(theta + z). The deviance is smooth in theta, and rounding noise / h is what limits the
  # accuracy. The Hessian only sets the rate of convergence, so it is computed once.
  mg <- list(eps = 1e-3, d = 0, r = 2)
  H <- numDeriv::hessian(function(z) devf(theta0 + z), 0 * theta0,
                         method.args = list(eps = 3e-3, d = 0, r = 2))
  th <- theta0
  d0 <- d_cur <- devf(theta0)
  for (it in seq_len(max_iter)) {
    g <- numDeriv::grad(function(z) devf(th + z), 0 * th, method.args = mg)
    step <- -solve(H, g)
    info$grad <- I(c(info$grad, max(abs(g))))
    th_new <- th + step
    if (any(th_new[lower == 0] <= 0)) break
    d_new <- devf(th_new)
    if (d_new > d_cur + 1e-12 * abs(d_cur)) break     # worse beyond rounding noise: stop
    th <- th_new
    d_cur <- d_new
    info$iterations <- it
    info$steps <- I(c(info$steps, max(abs(step))))
    if (max(abs(step)) < 1e-9 * max(1, max(abs(th)))) break
  }
  info$done <- TRUE
  info$deviance_change <- d_cur - d0
  list(theta = th, info = info)
}

# ---------------------------------------------------------------------------------------------
# Extraction. level: list(name = Stata level ("_all" for R.var), rvar = "R.a" or NULL,
#   factor = lme4 grouping factor (flist name), blocks = VarCorr blocks, covariance = Stata
#   covariance, vars = named vector Stata name -> lme4 column, in Stata order).
# ---------------------------------------------------------------------------------------------

level_label <- function(lev) if (is.null(lev$rvar)) lev$name else paste0(lev$name, ": ", lev$rvar)

size_summary <- function(sizes) list(min = min(sizes), median = median(sizes), avg = mean(sizes),
                                     max = max(sizes))

extract <- function(spec, data, data_info) {
  formula <- as.formula(spec$formula)
  reml <- spec$method == "REML"
  res <- fit(formula, data, reml, ctrl)
  m_opt <- res$model
  t_pol <- system.time(pol <- polish_theta(formula, data, reml, getME(m_opt, "theta")))
  # the model at the polished theta (optimizer = NULL: lme4 only evaluates at `start`)
  m <- suppressWarnings(lmer(formula, data = data, REML = reml, start = list(theta = pol$theta),
                             control = lmerControl(optimizer = NULL)))
  stopifnot(as.numeric(logLik(m)) >= as.numeric(logLik(m_opt)) * (1 + 1e-12) - 1e-9)  # ll < 0
  chk <- fit(formula, data, reml, ctrl_check)
  alt <- chk$model
  flist <- getME(m, "flist")
  stopifnot(setequal(names(flist), vapply(spec$levels, `[[`, "", "factor")))

  beta <- fixef(m)
  V <- as.matrix(vcov(m))
  lme4_fx <- unname(spec$fixed)
  fixed <- list(
    names = I(names(spec$fixed)),
    lme4_names = I(lme4_fx),
    estimates = I(unname(beta[lme4_fx])),
    se = I(unname(sqrt(diag(V))[lme4_fx])),
    vcov = unname(V[lme4_fx, lme4_fx, drop = FALSE])
  )

  vc <- VarCorr(m)
  sigma2 <- sigma(m)^2
  random <- list()
  varcomp <- list()
  stata_b_names <- c(paste0(spec$depvar, ":", names(spec$fixed)))
  stata_b <- unname(beta[lme4_fx])
  n_groups <- list()
  group_sizes <- list()
  n <- nobs(m)
  for (L in seq_along(spec$levels)) {
    lev <- spec$levels[[L]]
    q <- length(lev$vars)
    S <- matrix(0, q, q, dimnames = list(names(lev$vars), names(lev$vars)))
    for (b in lev$blocks) {
      blk <- vc[[b]]
      cols <- colnames(blk)
      idx <- match(cols, lev$vars)
      stopifnot(!anyNA(idx))
      S[idx, idx] <- blk[cols, cols]
    }
    sizes <- as.vector(table(flist[[lev$factor]]))
    # Stata's header: an _all level is one group holding every observation.
    if (lev$name == "_all") {
      n_groups[["_all"]] <- 1L
      group_sizes[["_all"]] <- list(min = n, avg = n, max = n)
    } else {
      n_groups[[lev$name]] <- length(sizes)
      group_sizes[[lev$name]] <- list(min = min(sizes), avg = mean(sizes), max = max(sizes))
    }
    random[[L]] <- c(
      list(level = lev$name),
      if (!is.null(lev$rvar)) list(var = lev$rvar),
      list(lme4_factor = lev$factor,
           lme4_blocks = I(lev$blocks),
           covariance = lev$covariance,
           vars = I(names(lev$vars)),
           cov = unname(S),
           n_levels = length(sizes),
           obs_per_level = size_summary(sizes)))
    v <- names(lev$vars)
    for (k in seq_len(q)) {
      varcomp[[sprintf("%s: var(%s)", lev$name, v[k])]] <- S[k, k]
      stata_b_names <- c(stata_b_names, sprintf("lns%d_1_%d:_cons", L, k))
      stata_b <- c(stata_b, log(sqrt(S[k, k])))
    }
    if (lev$covariance == "unstructured" && q > 1) {
      for (k in 1:(q - 1)) for (j in (k + 1):q) {
        varcomp[[sprintf("%s: cov(%s,%s)", lev$name, v[k], v[j])]] <- S[k, j]
        stata_b_names <- c(stata_b_names, sprintf("atr%d_1_%d_%d:_cons", L, k, j))
        stata_b <- c(stata_b, atanh(S[k, j] / sqrt(S[k, k] * S[j, j])))
      }
    }
  }
  varcomp[["var(Residual)"]] <- sigma2
  stata_b_names <- c(stata_b_names, "lnsig_e:_cons")
  stata_b <- c(stata_b, log(sigma(m)))

  n_fx <- length(lme4_fx)
  gamma <- stata_b[-seq_len(n_fx)]
  ses <- varcomp_se(m, spec$levels, gamma, reml, names(varcomp))
  stata_b_se <- c(unname(sqrt(diag(V))[lme4_fx]),
                  if (is.null(ses)) rep(NA_real_, length(gamma)) else ses$gamma_se)
  varcomp_se_out <- if (is.null(ses)) setNames(as.list(rep(NA_real_, length(varcomp))), names(varcomp))
                    else ses$varcomp_se

  ll <- as.numeric(logLik(m))
  conv_msgs <- res$warnings[!grepl("singular", res$warnings)]
  list(
    name = spec$name,
    data_file = data_info$file,
    data_sha256 = data_info$sha256,
    generator_cmd = data_info$generator_cmd,
    lme4_formula = spec$formula,
    stata_cmd = spec$stata,
    stata_prepare = I(if (is.null(spec$prepare)) character(0) else spec$prepare),
    method = spec$method,
    depvar = spec$depvar,
    n = n,
    ll = ll,
    df = attr(logLik(m), "df"),
    converged = length(conv_msgs) == 0,
    singular = isSingular(m),
    warnings = I(res$warnings),
    check_warnings = I(chk$warnings),
    ll_check_optimizer = as.numeric(logLik(alt)),
    fixed = fixed,
    random = random,
    residual_variance = sigma2,
    varcomp = varcomp,
    varcomp_se = varcomp_se_out,
    stata_b = list(names = I(stata_b_names), values = I(stata_b), se = I(stata_b_se)),
    n_groups = n_groups,
    group_sizes = group_sizes,
    theta = I(unname(getME(m, "theta"))),
    theta_optimizer = I(unname(getME(m_opt, "theta"))),
    ll_optimizer = as.numeric(logLik(m_opt)),
    optimizer_evaluations = m_opt@optinfo$feval,
    polish = pol$info,
    fit_time = list(
      main_elapsed = unname(round(res$time[["elapsed"]], 2)),
      main_user = unname(round(res$time[["user.self"]], 2)),
      check_elapsed = unname(round(chk$time[["elapsed"]], 2)),
      polish_elapsed = unname(round(t_pol[["elapsed"]], 2)),
      hessian_elapsed = if (is.null(ses)) NA_real_ else ses$hessian$seconds,
      hessian_deviance_evaluations = if (is.null(ses)) NA_integer_
                                     else ses$hessian$deviance_evaluations),
    .model = m
  )
}

# ---------------------------------------------------------------------------------------------
# BLUPs of every random-effects level, with conditional SDs and comparative SEs, from Henderson's
# mixed-model equations in lme4's spherical parameterisation b = Lambda u:
#   C = [Lambda'Z'Z Lambda + I, Lambda'Z'X; X'Z Lambda, X'X],
#   condvar  = sigma^2 Lambda (Lambda'Z'Z Lambda + I)^-1 Lambda'          (beta known),
#   comparative = sigma^2 Lambda [C^-1]_uu Lambda' = Var(b_hat - b)      (carries Var(beta_hat)).
# Both are checked against lme4 (ranef(condVar = TRUE) and vcov()).
# ---------------------------------------------------------------------------------------------

blups_of <- function(fitted, spec) {
  m <- fitted$.model
  Z <- getME(m, "Z")
  X <- getME(m, "X")
  Lam <- getME(m, "Lambda")
  s2 <- sigma(m)^2
  y <- getME(m, "y")
  q <- ncol(Z)
  ZL <- Z %*% Lam
  A <- as.matrix(crossprod(ZL)) + diag(q)
  Cm <- rbind(cbind(A, as.matrix(crossprod(ZL, X))), cbind(as.matrix(crossprod(X, ZL)),
                                                           as.matrix(crossprod(X))))
  Ci <- solve(Cm)
  sol <- Ci %*% c(as.vector(crossprod(ZL, y)), as.vector(crossprod(X, y)))
  Ld <- diag(as.matrix(Lam))
  stopifnot(max(abs(as.matrix(Lam) - diag(Ld))) == 0)   # diagonal Lambda for the models here
  b_hat <- Ld * sol[seq_len(q)]
  comp_var <- s2 * Ld^2 * diag(Ci)[seq_len(q)]
  cond_var <- s2 * Ld^2 * diag(solve(A))
  beta_chk <- max(abs(sol[-seq_len(q)] - fixef(m)))
  vcov_chk <- max(abs(s2 * Ci[-seq_len(q), -seq_len(q)] - as.matrix(vcov(m))))
  re <- ranef(m, condVar = TRUE)
  stopifnot(identical(names(re), names(m@cnms)))     # Z's column blocks are in this order
  b_lme4 <- unlist(lapply(names(re), function(f) re[[f]][, 1]))
  pv_lme4 <- unlist(lapply(names(re), function(f) attr(re[[f]], "postVar")[1, 1, ]))
  # getME(m, "Z") columns follow the flist terms in ranef's order for these intercept-only models
  stopifnot(length(b_lme4) == q)
  chk <- c(blup = max(abs(b_hat - b_lme4)), condvar = max(abs(cond_var - pv_lme4)),
           beta = beta_chk, vcov = vcov_chk)
  cat(sprintf("  %s: BLUP checks vs lme4 (max abs diff): %s\n", fitted$name,
              paste(names(chk), signif(chk, 3), collapse = ", ")))
  stopifnot(chk["blup"] < 1e-6, chk["condvar"] < 1e-8, chk["beta"] < 1e-6, chk["vcov"] < 1e-8)

  pos <- 0
  lev_out <- list()
  for (f in names(re)) {
    k <- nrow(re[[f]])
    idx <- pos + seq_len(k)
    pos <- pos + k
    lev <- spec$levels[[which(vapply(spec$levels, `[[`, "", "factor") == f)]]
    keys <- rownames(re[[f]])
    key_var <- if (!is.null(lev$rvar)) sub("^R\\.", "", lev$rvar) else lev$name
    if (grepl(":", f)) {
      # nested b within c: lme4 level "b:c"; keyed by the b code (b codes are unique across c)
      keys <- sub(":.*$", "", keys)
      stopifnot(!anyDuplicated(keys))
    }
    counts <- as.vector(table(getME(m, "flist")[[f]]))
    lev_out[[length(lev_out) + 1]] <- list(
      level = lev$name,
      var = if (is.null(lev$rvar)) "_cons" else lev$rvar,
      lme4_factor = f,
      key = key_var,
      n_obs = as.list(setNames(counts, keys)),
      blup = as.list(setNames(b_hat[idx], keys)),
      condvar_sd = as.list(setNames(sqrt(cond_var[idx]), keys)),
      comparative_se = as.list(setNames(sqrt(comp_var[idx]), keys)))
  }
  # order as the Stata levels
  ord <- order(match(vapply(lev_out, `[[`, "", "lme4_factor"),
                     vapply(spec$levels, `[[`, "", "factor")))
  stata_vars <- vapply(spec$levels, function(l) if (is.null(l$rvar)) l$name else sub("^R\\.", "", l$rvar), "")
  list(
    model = fitted$name,
    method = fitted$method,
    stata_cmd = fitted$stata_cmd,
    stata_predict = I(c(sprintf("predict %s, reffects", paste0("re_", stata_vars, collapse = " ")),
                        sprintf("predict %s, reses", paste0("se_", stata_vars, collapse = " ")))),
    stata_reses = if (fitted$method == "ML") "condvar_sd" else "comparative_se",
    levels = lev_out[ord]
  )
}

# ---------------------------------------------------------------------------------------------
# Model specifications
# ---------------------------------------------------------------------------------------------

rlev <- function(v) list(name = "_all", rvar = paste0("R.", v), factor = v, blocks = v,
                         covariance = "identity", vars = setNames("(Intercept)", paste0("R.", v)))
glev <- function(name, factor = name) list(name = name, factor = factor, blocks = factor,
                                           covariance = "identity", vars = c(`_cons` = "(Intercept)"))

small_specs <- list(
  list(stem = "crossed_small_ab", formula = "y ~ x + (1 | a) + (1 | b)",
       stata = "mixed y x || _all: R.a || _all: R.b",
       fixed = c(x = "x", `_cons` = "(Intercept)"), levels = list(rlev("a"), rlev("b"))),
  # Stata: c is nested in _all (= c's groups); b is nested in c, so its groups are (c, b)
  # combinations = lme4's c:b (named b:c), from (1 | c/b) = (1 | c) + (1 | c:b).
  list(stem = "crossed_small_a_cb", formula = "y ~ x + (1 | a) + (1 | c/b)",
       stata = "mixed y x || _all: R.a || c: || b:",
       fixed = c(x = "x", `_cons` = "(Intercept)"),
       levels = list(rlev("a"), glev("c"), glev("b", "b:c"))),
  # three crossed factors, all in the trailing block but the first (b is nested in c, but as
  # R.b and R.c they are separate terms, as lme4's (1 | b) + (1 | c))
  list(stem = "crossed_small_abc", formula = "y ~ x + (1 | a) + (1 | b) + (1 | c)",
       stata = "mixed y x || _all: R.a || _all: R.b || _all: R.c",
       fixed = c(x = "x", `_cons` = "(Intercept)"),
       levels = list(rlev("a"), rlev("b"), rlev("c")))
)
slopes_specs <- list(
  list(stem = "crossed_slopes", formula = "y ~ x + (1 | h) + (x | g)",
       stata = "mixed y x || _all: R.h || g: x, cov(unstructured)",
       fixed = c(x = "x", `_cons` = "(Intercept)"),
       levels = list(rlev("h"),
                     list(name = "g", factor = "g", blocks = "g", covariance = "unstructured",
                          vars = c(x = "x", `_cons` = "(Intercept)")))),
  # a random slope inside a nested term beside a crossed one: g (slope) nested in k = floor((g-1)/10)
  # (10 groups), both crossed with h; the test makes k with `stata_prepare`
  list(stem = "crossed_slopes_nested", formula = "y ~ x + (1 | h) + (1 | k) + (x | k:g)",
       stata = "mixed y x || _all: R.h || k: || g: x, cov(unstructured)",
       prepare = "generate k = floor((g - 1) / 10)",
       fixed = c(x = "x", `_cons` = "(Intercept)"),
       levels = list(rlev("h"), glev("k"),
                     list(name = "g", factor = "k:g", blocks = "k:g", covariance = "unstructured",
                          vars = c(x = "x", `_cons` = "(Intercept)"))))
)
insteval_specs <- list(
  # dept after the _all levels is nested in _all (the whole sample): its groups are the depts.
  list(stem = "insteval_like", formula = "y ~ service + (1 | s) + (1 | d) + (1 | dept)",
       stata = "mixed y i.service || _all: R.s || _all: R.d || dept:",
       fixed = c(`1.service` = "service", `_cons` = "(Intercept)"),
       levels = list(rlev("s"), rlev("d"), glev("dept")), methods = "ML")
)

with_method <- function(specs, depvar) {
  out <- list()
  for (s in specs) for (meth in if (is.null(s$methods)) c("ML", "REML") else s$methods) {
    s2 <- s
    s2$method <- meth
    s2$depvar <- depvar
    s2$name <- paste0(s$stem, "_", tolower(meth))
    last_eq <- tail(strsplit(s$stata, "||", fixed = TRUE)[[1]], 1)
    s2$stata <- if (meth == "REML") paste0(s$stata, if (grepl(",", last_eq)) " reml" else ", reml")
                else s$stata
    out[[length(out) + 1]] <- s2
  }
  out
}

run_specs <- function(specs, depvar, d) {
  lapply(with_method(specs, depvar), function(s) {
    r <- extract(s, d$data, d$info)
    cat(sprintf(paste("%-26s %-4s ll = %.8f (check %.8f) fit %.1fs check %.1fs polish %.1fs",
                      "(%d steps, |grad| %.2g -> %.2g, ll %+.2g) hessian %.1fs %s\n"),
                r$name, r$method, r$ll, r$ll_check_optimizer, r$fit_time$main_elapsed,
                r$fit_time$check_elapsed, r$fit_time$polish_elapsed, r$polish$iterations,
                r$polish$grad[1], tail(r$polish$grad, 1), r$ll - r$ll_optimizer,
                r$fit_time$hessian_elapsed, paste(r$warnings, collapse = "; ")))
    r$.spec <- s
    r
  })
}

# ---------------------------------------------------------------------------------------------
# Run
# ---------------------------------------------------------------------------------------------

t_all <- proc.time()[["elapsed"]]
want <- function(k) only == "" || k %in% strsplit(only, ",")[[1]]
models <- list()
blups <- list()
data_info <- list()
if (want("crossed_small")) {
  d <- read_data("crossed_small", c("a", "b", "c"))
  # b is nested in c and its codes are unique across c (so R.b and c:b group alike)
  stopifnot(all(tapply(d$data$c, d$data$b, function(v) length(unique(v))) == 1))
  data_info[[length(data_info) + 1]] <- d$info
  ms <- run_specs(small_specs, "y", d)
  blups <- c(blups, lapply(ms, function(r) blups_of(r, r$.spec)))
  models <- c(models, ms)
}
if (want("crossed_slopes")) {
  d <- read_data("crossed_slopes", c("g", "h"))
  d$data$k <- factor((as.integer(as.character(d$data$g)) - 1) %/% 10)
  data_info[[length(data_info) + 1]] <- d$info
  models <- c(models, run_specs(slopes_specs, "y", d))
}
if (want("insteval")) {
  d <- read_data("insteval", c("s", "d", "dept"))
  stopifnot(all(tapply(d$data$dept, d$data$d, function(v) length(unique(v))) == 1))
  data_info[[length(data_info) + 1]] <- d$info
  models <- c(models, run_specs(insteval_specs, "y", d))
}

models <- lapply(models, function(x) { x$.model <- NULL; x$.spec <- NULL; x })
obj <- c(list(fixture = sub("\\.json$", "", basename(out_path)),
              description = paste("Crossed and partially crossed linear mixed models (Stata",
                                  "`|| _all: R.var` levels), ML and REML, from lme4"),
              documentation = "tests/fixtures/crossed.md"),
         meta,
         list(data = data_info, models = models, blups = blups,
              total_seconds = round(proc.time()[["elapsed"]] - t_all, 1)))
dir.create(dirname(out_path), showWarnings = FALSE, recursive = TRUE)
writeLines(toJSON(obj, auto_unbox = TRUE, digits = NA, pretty = TRUE, null = "null", na = "null"),
           out_path)
cat("wrote", out_path, sprintf("(%.1f s)\n", proc.time()[["elapsed"]] - t_all))
