# Oracle fixtures from R's lme4 for hlmshell's mixed-model tests.
#
# Run from the repository root:  Rscript scripts/make_lme4_fixtures.R
# Needs (Debian): r-cran-lme4 r-cran-mlmrev r-cran-jsonlite r-cran-haven r-cran-numderiv.
# The test suite never needs R: it only reads the JSON this script writes to tests/fixtures/.
#
# Every model is fitted to the data files the product ships (data/hsb.dta, data/exam.csv,
# data/egsingle.csv, data/pastes.csv). The last two are written here from mlmRev::egsingle and
# lme4::Pastes with Stata-friendly variable names, then read back, so the fit sees exactly the file.
# Numbers are reported in Stata's parameterisation and names (fixed effects with _cons last,
# random-effects variables in the order typed with _cons last, outermost level first).

suppressPackageStartupMessages({
  library(lme4)
  library(jsonlite)
  library(haven)
})

stopifnot(file.exists("data/hsb.dta"))
fixture_dir <- "tests/fixtures"
dir.create(fixture_dir, showWarnings = FALSE, recursive = TRUE)

ctrl <- lmerControl(optimizer = "bobyqa",
                    optCtrl = list(maxfun = 1e5, rhoend = 1e-10))
# A second, independent optimiser: its log likelihood is recorded next to the main one as evidence
# that the main fit reached the optimum.
ctrl_check <- lmerControl(optimizer = "nloptwrap",
                          optCtrl = list(maxeval = 1e5, xtol_abs = 1e-12, ftol_abs = 1e-14,
                                         xtol_rel = 0, ftol_rel = 0))

meta <- list(
  generator = "scripts/make_lme4_fixtures.R",
  r_version = R.version.string,
  lme4_version = as.character(packageVersion("lme4")),
  optimizer = "bobyqa (maxfun = 1e5, rhoend = 1e-10)",
  check_optimizer = "nloptwrap (xtol_abs = 1e-12, ftol_abs = 1e-14)"
)

# ---------------------------------------------------------------------------------------------
# Data
# ---------------------------------------------------------------------------------------------

hsb <- as.data.frame(zap_formats(read_dta("data/hsb.dta")))
hsb$id <- factor(hsb$id, levels = unique(hsb$id))
# sector is numeric 0/1 in the .dta: ses*sector in lme4 equals Stata's c.ses##i.sector.

exam <- read.csv("data/exam.csv")
exam$school <- factor(exam$school)

write_csv_data <- function(df, path) {
  write.csv(df, path, row.names = FALSE, quote = TRUE)
  invisible(path)
}

if (requireNamespace("mlmRev", quietly = TRUE)) {
  eg <- mlmRev::egsingle
  eg_out <- data.frame(
    schoolid = as.integer(as.character(eg$schoolid)),
    childid  = as.integer(as.character(eg$childid)),
    year     = eg$year,
    grade    = eg$grade,
    math     = eg$math,
    retained = as.integer(as.character(eg$retained)),
    female   = as.integer(eg$female == "Female"),
    black    = as.integer(as.character(eg$black)),
    hispanic = as.integer(as.character(eg$hispanic)),
    size     = eg$size,
    lowinc   = eg$lowinc,
    mobility = eg$mobility
  )
  write_csv_data(eg_out, "data/egsingle.csv")
}

pastes_out <- data.frame(
  strength = lme4::Pastes$strength,
  batch    = as.integer(lme4::Pastes$batch),   # A..J -> 1..10
  cask     = as.integer(lme4::Pastes$cask),    # a..c -> 1..3 (within batch)
  sample   = as.integer(lme4::Pastes$sample)   # batch:cask -> 1..30
)
write_csv_data(pastes_out, "data/pastes.csv")

# ---------------------------------------------------------------------------------------------
# Fitting and extraction
# ---------------------------------------------------------------------------------------------

# ---------------------------------------------------------------------------------------------
# Standard errors of the variance components, as Stata computes them: V(gamma) is the inverse of
# the numerical Hessian of -loglik (restricted loglik for REML) in gamma = (lns.., atr.., lnsig_e),
# with beta profiled out by GLS; var/cov SEs follow by the delta method.
# ---------------------------------------------------------------------------------------------

# gamma (Stata metric, random part only) -> list(S = per-level covariance matrices, sigma2).
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

# Per-level covariance matrices and sigma^2 -> lme4's theta (blocks in the model's order).
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

# -2 log likelihood (ML) or -2 restricted log likelihood (REML) at gamma, beta profiled by GLS.
make_deviance <- function(m, levels, reml) {
  f <- lme4:::devfun2(m, useSc = TRUE, signames = FALSE)
  env <- environment(f)
  pp <- env$pp
  resp <- env$resp
  n <- nobs(m)
  p <- length(fixef(m))
  function(gamma) {
    cv <- gamma_to_cov(gamma, levels)
    th <- cov_to_theta(cv$S, cv$sigma2, m, levels)
    .Call(lme4:::lmer_Deviance, pp$ptr(), resp$ptr(), th)
    s2 <- cv$sigma2
    dev <- pp$ldL2() + (resp$wrss() + pp$sqrL(1)) / s2 + n * log(2 * pi * s2)
    if (reml) dev <- dev + pp$ldRX2() - p * log(2 * pi * s2)
    dev
  }
}

# Returns list(gamma_se, varcomp_se) or NULL for a singular fit (gamma is then infinite).
varcomp_se <- function(m, levels, gamma, reml, varcomp_names) {
  if (isSingular(m) || any(!is.finite(gamma))) return(NULL)
  dev <- make_deviance(m, levels, reml)
  stopifnot(abs(dev(gamma) + 2 * as.numeric(logLik(m))) < 1e-6)
  H <- numDeriv::hessian(function(g) dev(g) / 2, gamma)
  Vg <- solve(H)
  # Delta method: each variance component as a function of gamma, in varcomp order.
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
  list(gamma_se = sqrt(diag(Vg)), varcomp_se = as.list(setNames(se, varcomp_names)))
}

fit <- function(formula, data, reml, control) {
  warns <- character(0)
  m <- withCallingHandlers(
    lmer(formula, data = data, REML = reml, control = control),
    warning = function(w) {
      warns <<- c(warns, conditionMessage(w))
      invokeRestart("muffleWarning")
    })
  list(model = m, warnings = unique(c(warns, m@optinfo$conv$lme4$messages)))
}

# level: list(name = Stata level name, factor = lme4 grouping factor name, blocks = VarCorr block
#   names making up this level, covariance = Stata covariance type, vars = named character vector
#   Stata name -> lme4 column name, in Stata order).
extract <- function(spec, data, data_file) {
  formula <- as.formula(spec$formula)
  reml <- spec$method == "REML"
  res <- fit(formula, data, reml, ctrl)
  m <- res$model
  alt <- fit(formula, data, reml, ctrl_check)$model

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
  flist <- getME(m, "flist")
  sigma2 <- sigma(m)^2
  random <- list()
  varcomp <- list()
  stata_b_names <- c(paste0(spec$depvar, ":", names(spec$fixed)))
  stata_b <- unname(beta[lme4_fx])
  n_groups <- list()
  group_sizes <- list()
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
    n_groups[[lev$name]] <- length(sizes)
    group_sizes[[lev$name]] <- list(min = min(sizes), avg = mean(sizes), max = max(sizes))
    random[[L]] <- list(
      level = lev$name,
      lme4_factor = lev$factor,
      lme4_blocks = I(lev$blocks),
      covariance = lev$covariance,
      vars = I(names(lev$vars)),
      cov = unname(S)
    )
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
    data_file = data_file,
    lme4_formula = spec$formula,
    stata_cmd = spec$stata,
    method = spec$method,
    depvar = spec$depvar,
    n = nobs(m),
    ll = ll,
    df = attr(logLik(m), "df"),
    converged = length(conv_msgs) == 0,
    singular = isSingular(m),
    warnings = I(res$warnings),
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
    .model = m
  )
}

# ---------------------------------------------------------------------------------------------
# Model specifications
# ---------------------------------------------------------------------------------------------

lev_id_identity <- list(name = "id", factor = "id", blocks = "id", covariance = "identity",
                        vars = c(`_cons` = "(Intercept)"))
lev_id_unstr <- list(name = "id", factor = "id", blocks = "id", covariance = "unstructured",
                     vars = c(ses = "ses", `_cons` = "(Intercept)"))
lev_id_indep <- list(name = "id", factor = "id", blocks = c("id", "id.1"),
                     covariance = "independent", vars = c(ses = "ses", `_cons` = "(Intercept)"))

hsb_specs <- list(
  list(stem = "hsb_null", formula = "mathach ~ 1 + (1 | id)", stata = "mixed mathach || id:",
       fixed = c(`_cons` = "(Intercept)"), levels = list(lev_id_identity)),
  list(stem = "hsb_ses", formula = "mathach ~ ses + (1 | id)", stata = "mixed mathach ses || id:",
       fixed = c(ses = "ses", `_cons` = "(Intercept)"), levels = list(lev_id_identity)),
  list(stem = "hsb_ses_rslope", formula = "mathach ~ ses + (ses | id)",
       stata = "mixed mathach ses || id: ses, cov(unstructured)",
       fixed = c(ses = "ses", `_cons` = "(Intercept)"), levels = list(lev_id_unstr)),
  list(stem = "hsb_ses_sector_inter", formula = "mathach ~ ses * sector + (ses | id)",
       stata = "mixed mathach c.ses##i.sector || id: ses, cov(unstructured)",
       fixed = c(ses = "ses", `1.sector` = "sector", `1.sector#c.ses` = "ses:sector",
                 `_cons` = "(Intercept)"),
       levels = list(lev_id_unstr)),
  list(stem = "hsb_ses_sector_indep", formula = "mathach ~ ses + sector + (1 | id) + (0 + ses | id)",
       stata = "mixed mathach ses sector || id: ses, cov(independent)",
       fixed = c(ses = "ses", sector = "sector", `_cons` = "(Intercept)"),
       levels = list(lev_id_indep))
)

with_method <- function(specs, depvar) {
  out <- list()
  for (s in specs) for (meth in c("ML", "REML")) {
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

exam_specs <- list(
  list(stem = "exam_lrt_rslope", formula = "normexam ~ standLRT + (standLRT | school)",
       stata = "mixed normexam standLRT || school: standLRT, cov(unstructured)",
       fixed = c(standLRT = "standLRT", `_cons` = "(Intercept)"),
       levels = list(list(name = "school", factor = "school", blocks = "school",
                          covariance = "unstructured",
                          vars = c(standLRT = "standLRT", `_cons` = "(Intercept)"))))
)

pastes_specs <- list(
  list(stem = "pastes_nested", formula = "strength ~ 1 + (1 | batch/cask)",
       stata = "mixed strength || batch: || cask:",
       fixed = c(`_cons` = "(Intercept)"),
       levels = list(
         list(name = "batch", factor = "batch", blocks = "batch", covariance = "identity",
              vars = c(`_cons` = "(Intercept)")),
         list(name = "cask", factor = "cask:batch", blocks = "cask:batch", covariance = "identity",
              vars = c(`_cons` = "(Intercept)"))))
)

eg_specs <- list(
  list(stem = "egsingle_nested", formula = "math ~ year + (1 | schoolid/childid)",
       stata = "mixed math year || schoolid: || childid:",
       fixed = c(year = "year", `_cons` = "(Intercept)"),
       levels = list(
         list(name = "schoolid", factor = "schoolid", blocks = "schoolid", covariance = "identity",
              vars = c(`_cons` = "(Intercept)")),
         list(name = "childid", factor = "childid:schoolid", blocks = "childid:schoolid",
              covariance = "identity", vars = c(`_cons` = "(Intercept)")))),
  list(stem = "egsingle_rslope", formula = "math ~ year + (year | schoolid) + (1 | schoolid:childid)",
       stata = "mixed math year || schoolid: year, cov(unstructured) || childid:",
       fixed = c(year = "year", `_cons` = "(Intercept)"),
       levels = list(
         list(name = "schoolid", factor = "schoolid", blocks = "schoolid",
              covariance = "unstructured", vars = c(year = "year", `_cons` = "(Intercept)")),
         list(name = "childid", factor = "schoolid:childid", blocks = "schoolid:childid",
              covariance = "identity", vars = c(`_cons` = "(Intercept)"))))
)

# ---------------------------------------------------------------------------------------------
# Writing
# ---------------------------------------------------------------------------------------------

write_fixture <- function(name, description, data_info, models, extra = list()) {
  models <- lapply(models, function(x) { x$.model <- NULL; x })
  obj <- c(list(fixture = name, description = description), meta,
           list(data = data_info, models = models), extra)
  path <- file.path(fixture_dir, paste0(name, ".json"))
  writeLines(toJSON(obj, auto_unbox = TRUE, digits = NA, pretty = TRUE, null = "null",
                    na = "null"), path)
  cat("wrote", path, "\n")
}

run_specs <- function(specs, depvar, data, data_file) {
  lapply(with_method(specs, depvar), function(s) {
    r <- extract(s, data, data_file)
    cat(sprintf("%-32s %-5s ll = %.6f  (check %.6f)  %s\n", r$name, r$method, r$ll,
                r$ll_check_optimizer, paste(r$warnings, collapse = "; ")))
    r
  })
}

hsb_data_info <- list(file = "data/hsb.dta", reader = "haven::read_dta", n_rows = nrow(hsb))
hsb_models <- run_specs(hsb_specs, "mathach", hsb, "data/hsb.dta")
write_fixture("lme4_hsb",
              "HSB two-level models (random intercept, random slope, cross-level interaction, diagonal covariance), ML and REML",
              hsb_data_info, hsb_models)

# --- BLUPs of mathach ~ ses + (ses | id), ML and REML ------------------------------------------
# Comparative standard errors sqrt(diag Var(u_hat - u)), which also carry the uncertainty of the
# GLS estimate of beta:  Var(u_hat_j - u_j) = condVar_j + G Z_j' V_j^-1 X_j A^-1 X_j' V_j^-1 Z_j G,
# with A = sum_j X_j' V_j^-1 X_j. condVar_j = G - G Z_j' V_j^-1 Z_j G is recomputed here as a check.
# Stata's `predict, reses` is the conditional SD after ML and the comparative SE after REML (see
# tests/fixtures/README.md); both are written for both fits.
blup_entry <- function(model_name) {
  fitted <- hsb_models[[which(sapply(hsb_models, `[[`, "name") == model_name)]]
  m <- fitted$.model
  re <- ranef(m, condVar = TRUE)$id
  pv <- attr(re, "postVar")                         # 2 x 2 x J, lme4 order ((Intercept), ses)
  lme4_cols <- colnames(re)
  stopifnot(identical(lme4_cols, c("(Intercept)", "ses")))
  G <- as.matrix(VarCorr(m)$id)[lme4_cols, lme4_cols]
  s2 <- sigma(m)^2
  groups <- levels(hsb$id)
  Vinv <- list(); Zs <- list()
  A <- matrix(0, 2, 2)
  for (g in groups) {
    Z <- cbind(1, hsb$ses[hsb$id == g])
    Vi <- solve(Z %*% G %*% t(Z) + diag(s2, nrow(Z)))
    Vinv[[g]] <- Vi; Zs[[g]] <- Z
    A <- A + t(Z) %*% Vi %*% Z                       # X_j = Z_j = [1, ses] for this model
  }
  Ainv <- solve(A)
  comp_sd <- matrix(NA_real_, length(groups), 2)
  cond_check <- 0
  for (k in seq_along(groups)) {
    g <- groups[k]; Z <- Zs[[g]]; Vi <- Vinv[[g]]
    GZV <- G %*% t(Z) %*% Vi
    cond <- G - GZV %*% Z %*% G
    cond_check <- max(cond_check, abs(cond - pv[, , k]))
    comp <- cond + GZV %*% Z %*% Ainv %*% t(Z) %*% t(GZV)
    comp_sd[k, ] <- sqrt(diag(comp))
  }
  cat(sprintf("%s: condVar recomputation max abs diff: %.3g\n", model_name, cond_check))
  stopifnot(cond_check < 1e-8, identical(rownames(re), groups))
  list(
    fitted = fitted,
    blups = list(
      model = model_name,
      method = fitted$method,
      level = "id",
      stata_cmd = fitted$stata_cmd,
      stata_predict = I(c("predict u1 u0, reffects", "predict s1 s0, reses")),
      stata_reses = if (fitted$method == "ML") "condvar_sd" else "comparative_se",
      vars = I(c("ses", "_cons")),
      ids = I(groups),
      n_obs = I(as.vector(table(hsb$id)[groups])),
      blup = list(ses = I(re[, "ses"]), `_cons` = I(re[, "(Intercept)"])),
      condvar_sd = list(ses = I(sqrt(pv[2, 2, ])), `_cons` = I(sqrt(pv[1, 1, ]))),
      condvar_cov = I(pv[1, 2, ]),
      comparative_se = list(ses = I(comp_sd[, 2]), `_cons` = I(comp_sd[, 1]))
    )
  )
}
blup_entries <- lapply(c("hsb_ses_rslope_ml", "hsb_ses_rslope_reml"), blup_entry)
write_fixture("lme4_hsb_blups",
              "BLUPs (ranef) and their standard errors for mathach ~ ses + (ses | id), ML and REML",
              hsb_data_info, lapply(blup_entries, `[[`, "fitted"),
              list(blups = lapply(blup_entries, `[[`, "blups")))

# --- Exam --------------------------------------------------------------------------------------
exam_models <- run_specs(exam_specs, "normexam", exam, "data/exam.csv")
write_fixture("lme4_exam", "Exam data (65 schools): random slope of standLRT, ML and REML",
              list(file = "data/exam.csv", reader = "utils::read.csv", n_rows = nrow(exam)),
              exam_models)

# --- Pastes (three levels) ---------------------------------------------------------------------
pastes <- read.csv("data/pastes.csv")
pastes$batch <- factor(pastes$batch)
pastes$cask <- factor(pastes$cask)
pastes_models <- run_specs(pastes_specs, "strength", pastes, "data/pastes.csv")
write_fixture("lme4_pastes", "Pastes: strength, cask nested in batch (three levels), ML and REML",
              list(file = "data/pastes.csv", reader = "utils::read.csv", n_rows = nrow(pastes),
                   source = "lme4::Pastes"),
              pastes_models)

# --- egsingle (three levels) -------------------------------------------------------------------
if (file.exists("data/egsingle.csv")) {
  eg <- read.csv("data/egsingle.csv")
  eg$schoolid <- factor(eg$schoolid)
  eg$childid <- factor(eg$childid)
  eg_models <- run_specs(eg_specs, "math", eg, "data/egsingle.csv")
  write_fixture("lme4_egsingle",
                "egsingle: years within children within schools (three levels), ML and REML",
                list(file = "data/egsingle.csv", reader = "utils::read.csv", n_rows = nrow(eg),
                     source = "mlmRev::egsingle"),
                eg_models)
}
