# Oracle fixtures for small-sample inference after `mixed, reml dfmethod(satterthwaite|kroger)`.
#
# Run from the repository root:  Rscript scripts/make_ddf_fixtures.R
# (or bash scripts/make_ddf_margins_xtreg_fixtures.sh, which installs missing Debian packages).
# Needs (Debian): r-cran-lme4 r-cran-lmertest r-cran-pbkrtest r-cran-nlme r-cran-jsonlite.
# The test suite never needs R: it only reads tests/fixtures/ddf_*.json.
#
# Writes the data files data/sleepstudy.csv, data/sleepstudy_unbal.csv, data/machines.csv and
# data/orthodont.csv (from lme4::sleepstudy and nlme::Machines / nlme::Orthodont), reads them back
# and fits every model to exactly those files. See tests/fixtures/ddf_margins_xtreg.md.
#
# For every REML fit it records
#   * the unadjusted covariance (X'V^-1 X)^-1 (vcov(m), recomputed by hand as a check),
#   * Satterthwaite df, t, p per coefficient from lmerTest (observed information of the variance
#     parameters, numerical), and the same recomputed here analytically with the observed (OIM,
#     check against lmerTest) and the expected (EIM, Stata's documented default) information,
#   * Kenward-Roger: pbkrtest::vcovAdj, per-coefficient df (get_Lb_ddf), SEs, t, p, and the
#     adjusted covariance recomputed here by hand (check),
#   * joint Wald F tests (lmerTest::contest for Satterthwaite, pbkrtest::KRmodcomp for KR, and the
#     EIM Satterthwaite version computed here).

suppressPackageStartupMessages({
  library(lme4)
  library(lmerTest)
  library(pbkrtest)
  library(jsonlite)
})

fixture_dir <- "tests/fixtures"
dir.create(fixture_dir, showWarnings = FALSE, recursive = TRUE)

ctrl <- lmerControl(optimizer = "bobyqa", optCtrl = list(maxfun = 1e5, rhoend = 1e-10))
ctrl_fallback <- lmerControl(optimizer = "bobyqa", optCtrl = list(maxfun = 1e5, rhoend = 1e-9))
ctrl_check <- lmerControl(optimizer = "nloptwrap",
                          optCtrl = list(maxeval = 1e5, xtol_abs = 1e-12, ftol_abs = 1e-14,
                                         xtol_rel = 0, ftol_rel = 0))

meta <- list(
  generator = "scripts/make_ddf_fixtures.R",
  r_version = R.version.string,
  lme4_version = as.character(packageVersion("lme4")),
  lmerTest_version = as.character(packageVersion("lmerTest")),
  pbkrtest_version = as.character(packageVersion("pbkrtest")),
  nlme_version = as.character(packageVersion("nlme")),
  optimizer = "bobyqa (maxfun = 1e5, rhoend = 1e-10)",
  check_optimizer = "nloptwrap (xtol_abs = 1e-12, ftol_abs = 1e-14)"
)

write_csv_data <- function(df, path) {
  write.csv(df, path, row.names = FALSE, quote = TRUE)
  invisible(path)
}

# ---------------------------------------------------------------------------------------------
# Data
# ---------------------------------------------------------------------------------------------

ss <- lme4::sleepstudy
sleep_out <- data.frame(
  reaction = ss$Reaction,
  days     = ss$Days,
  subject  = as.integer(as.character(ss$Subject))   # 308, 309, ..., 372
)
write_csv_data(sleep_out, "data/sleepstudy.csv")

# Unbalanced subset (documented rule): rank the 18 subjects by subject number, r = 1..18; keep the
# rows of subject r with days < 4 + ((r - 1) mod 7). Subjects keep 4,5,...,10,4,...,10,4,...,7
# observations (days 0..3 up to 0..9): a monotone drop-out pattern, 120 rows in all.
subj_rank <- match(sleep_out$subject, sort(unique(sleep_out$subject)))
keep <- sleep_out$days < 4 + ((subj_rank - 1) %% 7)
write_csv_data(sleep_out[keep, ], "data/sleepstudy_unbal.csv")

mach <- nlme::Machines
mach_out <- data.frame(
  worker  = as.integer(as.character(mach$Worker)),  # labels "1".."6" (the factor is ordered by mean)
  machine = as.integer(mach$Machine),               # A, B, C -> 1, 2, 3
  score   = mach$score
)
write_csv_data(mach_out, "data/machines.csv")

orth <- nlme::Orthodont
orth_subj <- as.character(orth$Subject)
orth_out <- data.frame(
  distance = orth$distance,
  age      = orth$age,
  subject  = match(orth_subj, unique(orth_subj)),  # order of appearance: M01..M16 = 1..16, F01..F11 = 17..27
  female   = as.integer(orth$Sex == "Female")
)
write_csv_data(orth_out, "data/orthodont.csv")

read_data <- function(path, factors) {
  d <- read.csv(path)
  for (f in factors) d[[f]] <- factor(d[[f]])
  d
}
sleep <- read_data("data/sleepstudy.csv", "subject")
sleep_unbal <- read_data("data/sleepstudy_unbal.csv", "subject")
pastes <- read_data("data/pastes.csv", c("batch", "cask"))
machines <- read_data("data/machines.csv", c("worker", "machine"))
orthodont <- read_data("data/orthodont.csv", "subject")
stopifnot(nrow(sleep) == 180, nrow(sleep_unbal) == 120, nrow(machines) == 54,
          nrow(orthodont) == 108, nrow(pastes) == 60)
stopifnot(all(range(table(sleep_unbal$subject)) == c(4, 10)))

# ---------------------------------------------------------------------------------------------
# Own computations in the linear covariance parameters phi (V = sum_k phi_k G_k), the
# parameterisation of pbkrtest::get_SigmaG: per random-effects block the lower triangle of its
# covariance matrix, then the residual variance (G = I).
# ---------------------------------------------------------------------------------------------

own_parts <- function(m) {
  sg <- pbkrtest:::get_SigmaG(m)
  V <- as.matrix(sg$Sigma)
  G <- lapply(sg$G, as.matrix)
  X <- as.matrix(getME(m, "X"))
  y <- getME(m, "y")
  Vi <- solve(V)
  Phi <- solve(t(X) %*% Vi %*% X)
  P <- Vi - Vi %*% X %*% Phi %*% t(X) %*% Vi
  K <- length(G)
  PG <- lapply(G, function(g) P %*% g)
  Py <- P %*% y
  eim <- matrix(0, K, K)
  oim <- matrix(0, K, K)
  for (i in 1:K) for (j in i:K) {
    tr <- sum(t(PG[[i]]) * PG[[j]])                    # tr(P G_i P G_j)
    q <- drop(t(Py) %*% G[[i]] %*% P %*% G[[j]] %*% Py)  # y'P G_i P G_j P y
    eim[i, j] <- eim[j, i] <- tr / 2
    oim[i, j] <- oim[j, i] <- q - tr / 2
  }
  # dPhi/dphi_k = Phi X'V^-1 G_k V^-1 X Phi
  dPhi <- lapply(G, function(g) Phi %*% t(X) %*% Vi %*% g %*% Vi %*% X %*% Phi)
  list(V = V, G = G, X = X, y = y, Vi = Vi, Phi = Phi, P = P, eim = eim, oim = oim,
       dPhi = dPhi, K = K)
}

# Satterthwaite df of l'beta with A = covariance of phi-hat.
satt_df_1 <- function(parts, A, l) {
  v <- drop(t(l) %*% parts$Phi %*% l)
  g <- vapply(parts$dPhi, function(d) drop(t(l) %*% d %*% l), numeric(1))
  2 * v^2 / drop(t(g) %*% A %*% g)
}

# Joint test, Fai & Cornelius / lmerTest's contestMD construction: eigen-decompose L Phi L',
# one Satterthwaite df per eigen-direction, then combine with lmerTest's get_Fstat_ddf.
satt_joint <- function(parts, A, L, beta) {
  VL <- L %*% parts$Phi %*% t(L)
  e <- eigen(VL, symmetric = TRUE)
  tol <- max(sqrt(.Machine$double.eps) * e$values[1], 0)
  pos <- e$values > tol
  q <- sum(pos)
  PtL <- crossprod(e$vectors, L)[seq_len(q), , drop = FALSE]
  d <- e$values[seq_len(q)]
  Fval <- sum(drop(PtL %*% beta)^2 / d) / q
  nu <- vapply(seq_len(q), function(k) {
    g <- vapply(parts$dPhi, function(D) drop(t(PtL[k, ]) %*% D %*% PtL[k, ]), numeric(1))
    2 * d[k]^2 / drop(t(g) %*% A %*% g)
  }, numeric(1))
  ddf <- lmerTest:::get_Fstat_ddf(nu, tol = 1e-8)
  list(F = Fval, ndf = q, ddf = ddf, p = pf(Fval, q, ddf, lower.tail = FALSE), nu = I(nu))
}

# Kenward-Roger adjusted covariance (linear covariance structure, so R_ij = 0):
#   Phi_A = Phi + 2 Phi { sum_ij W_ij (Q_ij - P_i Phi P_j) } Phi,  W = covariance of phi-hat
#   (EIM^-1 as in pbkrtest and Stata's default; OIM^-1 for Stata's `kroger, oim`),
#   P_i = -X'V^-1 G_i V^-1 X,  Q_ij = X'V^-1 G_i V^-1 G_j V^-1 X.
kr_vcov_own <- function(parts, W) {
  with(parts, {
    Pm <- lapply(G, function(g) -t(X) %*% Vi %*% g %*% Vi %*% X)
    S <- matrix(0, ncol(X), ncol(X))
    for (i in 1:K) for (j in 1:K) {
      Q <- t(X) %*% Vi %*% G[[i]] %*% Vi %*% G[[j]] %*% Vi %*% X
      S <- S + W[i, j] * (Q - Pm[[i]] %*% Phi %*% Pm[[j]])
    }
    list(PhiA = Phi + 2 * Phi %*% S %*% Phi, P = Pm, W = W)
  })
}

# Kenward-Roger F test of L beta = 0 (Kenward & Roger 1997, as in pbkrtest's .KR_adjust):
#   Theta = L'(L Phi L')^-1 L, A1 = sum_ij W_ij tr(Theta Phi P_i Phi) tr(Theta Phi P_j Phi),
#   A2 = sum_ij W_ij tr(Theta Phi P_i Phi Theta Phi P_j Phi), B = (A1 + 6 A2) / (2q),
#   g = ((q+1) A1 - (q+4) A2) / ((q+2) A2), c1 = g / (3q + 2(1-g)), c2 = (q-g) / (3q + 2(1-g)),
#   c3 = (q+2-g) / (3q + 2(1-g)), E* = 1 / (1 - A2/q), V* = (2/q)(1 + c1 B) / ((1 - c2 B)^2 (1 - c3 B)),
#   rho = V* / (2 E*^2), m = 4 + (q+2) / (q rho - 1), lambda = m / (E* (m - 2)),
#   F = (L b)'(L Phi_A L')^-1 (L b) / q, F* = lambda F ~ F(q, m).
kr_test_own <- function(parts, kr, L, beta) {
  Phi <- parts$Phi
  q <- qr(L)$rank
  Theta <- t(L) %*% solve(L %*% Phi %*% t(L), L)
  U <- lapply(kr$P, function(P) Theta %*% Phi %*% P %*% Phi)
  A1 <- A2 <- 0
  for (i in seq_along(U)) for (j in seq_along(U)) {
    A1 <- A1 + kr$W[i, j] * sum(diag(U[[i]])) * sum(diag(U[[j]]))
    A2 <- A2 + kr$W[i, j] * sum(U[[i]] * t(U[[j]]))
  }
  B <- (A1 + 6 * A2) / (2 * q)
  g <- ((q + 1) * A1 - (q + 4) * A2) / ((q + 2) * A2)
  d <- 3 * q + 2 * (1 - g)
  c1 <- g / d; c2 <- (q - g) / d; c3 <- (q + 2 - g) / d
  Estar <- 1 / (1 - A2 / q)
  Vstar <- (2 / q) * (1 + c1 * B) / ((1 - c2 * B)^2 * (1 - c3 * B))
  rho <- Vstar / (2 * Estar^2)
  m <- 4 + (q + 2) / (q * rho - 1)
  lambda <- if (abs(m - 2) < 0.01) 1 else m / (Estar * (m - 2))
  Lb <- L %*% beta
  Fu <- drop(t(Lb) %*% solve(L %*% kr$PhiA %*% t(L), Lb)) / q
  list(F = lambda * Fu, F_unscaled = Fu, ndf = q, ddf = m, F_scaling = lambda,
       p = pf(lambda * Fu, q, m, lower.tail = FALSE), A1 = A1, A2 = A2)
}

# ---------------------------------------------------------------------------------------------
# One model
# ---------------------------------------------------------------------------------------------

ttest <- function(est, se, df) {
  t <- est / se
  q <- qt(0.975, df)
  list(t = I(unname(t)), p = I(unname(2 * pt(-abs(t), df))),
       ci_lower = I(unname(est - q * se)), ci_upper = I(unname(est + q * se)))
}

fit_lmer <- function(formula, data, control) {
  warns <- character(0)
  m <- withCallingHandlers(
    lmerTest::lmer(formula, data = data, REML = TRUE, control = control),
    warning = function(w) {
      warns <<- c(warns, conditionMessage(w))
      invokeRestart("muffleWarning")
    })
  list(model = m, warnings = unique(c(warns, m@optinfo$conv$lme4$messages)))
}

fit_model <- function(spec, data) {
  formula <- as.formula(spec$formula)
  res <- fit_lmer(formula, data, ctrl)
  optimizer_used <- meta$optimizer
  first_warnings <- res$warnings
  if (res$model@optinfo$conv$opt != 0) {
    # bobyqa can stop with code 3 ("a trust region step failed to reduce q") when it is already at
    # the optimum and rhoend is tiny; refit with rhoend = 1e-9 (documented in the md).
    res <- fit_lmer(formula, data, ctrl_fallback)
    optimizer_used <- "bobyqa (maxfun = 1e5, rhoend = 1e-9), after rhoend = 1e-10 stopped with a convergence code"
    stopifnot(res$model@optinfo$conv$opt == 0)
  }
  m <- res$model
  warns <- res$warnings
  alt <- fit_lmer(formula, data, ctrl_check)$model
  ll_check <- as.numeric(logLik(alt))
  stopifnot(abs(ll_check - as.numeric(logLik(m))) < 1e-7)

  lme4_fx <- unname(spec$fixed)
  stata_fx <- names(spec$fixed)
  p <- length(lme4_fx)
  beta_all <- fixef(m)
  stopifnot(setequal(names(beta_all), lme4_fx))
  beta <- unname(beta_all[lme4_fx])
  V <- as.matrix(vcov(m))[lme4_fx, lme4_fx, drop = FALSE]
  se <- sqrt(diag(V))

  parts <- own_parts(m)
  ord <- match(lme4_fx, colnames(parts$X))          # Stata order -> lme4 column positions
  vcov_diff <- max(abs(parts$Phi[ord, ord, drop = FALSE] - V))
  stopifnot(vcov_diff < 1e-8 * max(abs(V)))

  # Satterthwaite, lmerTest
  co <- summary(m, ddf = "Satterthwaite")$coefficients[lme4_fx, , drop = FALSE]
  satt_df <- unname(co[, "df"])
  stopifnot(max(abs(co[, "Std. Error"] - se)) < 1e-10)

  unit <- function(k) { l <- numeric(ncol(parts$X)); l[ord[k]] <- 1; l }
  A_oim <- solve(parts$oim)
  A_eim <- solve(parts$eim)
  own_oim_df <- vapply(seq_len(p), function(k) satt_df_1(parts, A_oim, unit(k)), numeric(1))
  own_eim_df <- vapply(seq_len(p), function(k) satt_df_1(parts, A_eim, unit(k)), numeric(1))
  oim_check <- max(abs(own_oim_df / satt_df - 1))

  # Kenward-Roger, pbkrtest
  Vadj_full <- as.matrix(vcovAdj(m))
  Vadj <- Vadj_full[ord, ord, drop = FALSE]
  kr_e <- kr_vcov_own(parts, A_eim)
  kr_o <- kr_vcov_own(parts, A_oim)
  kr_check <- max(abs(kr_e$PhiA[ord, ord, drop = FALSE] - Vadj)) / max(abs(Vadj))
  stopifnot(kr_check < 1e-8)
  kr_df <- vapply(seq_len(p), function(k) get_Lb_ddf(m, matrix(unit(k), 1)), numeric(1))
  kr_se <- sqrt(diag(Vadj))
  kr_own_df <- vapply(seq_len(p), function(k) kr_test_own(parts, kr_e, matrix(unit(k), 1),
                                                          fixef(m))$ddf, numeric(1))
  kr_df_check <- max(abs(kr_own_df / kr_df - 1))
  stopifnot(kr_df_check < 1e-8)
  Vadj_oim <- kr_o$PhiA[ord, ord, drop = FALSE]
  kr_oim_se <- sqrt(diag(Vadj_oim))
  kr_oim_df <- vapply(seq_len(p), function(k) kr_test_own(parts, kr_o, matrix(unit(k), 1),
                                                          fixef(m))$ddf, numeric(1))

  # Joint tests
  joint <- lapply(spec$joint, function(jt) {
    rows <- match(jt$coefficients, stata_fx)
    stopifnot(!anyNA(rows))
    L_stata <- matrix(0, length(rows), p)
    for (r in seq_along(rows)) L_stata[r, rows[r]] <- 1
    L <- matrix(0, length(rows), ncol(parts$X))
    L[, ord] <- L_stata
    ct <- contest(m, L, joint = TRUE, ddf = "Satterthwaite")
    kr <- KRmodcomp(m, L)
    own_e <- satt_joint(parts, A_eim, L, fixef(m))
    own_o <- satt_joint(parts, A_oim, L, fixef(m))
    kr_te <- kr_test_own(parts, kr_e, L, fixef(m))
    kr_to <- kr_test_own(parts, kr_o, L, fixef(m))
    stopifnot(abs(kr_te$ddf / kr$stats$ddf - 1) < 1e-8, abs(kr_te$F / kr$stats$Fstat - 1) < 1e-8)
    list(
      name = jt$name,
      stata_cmd = jt$stata,
      coefficients = I(jt$coefficients),
      L = L_stata,
      satterthwaite = list(F = ct[["F value"]], numDF = ct[["NumDF"]], denDF = ct[["DenDF"]],
                           p = ct[["Pr(>F)"]]),
      satterthwaite_eim = list(F = own_e$F, numDF = own_e$ndf, denDF = own_e$ddf, p = own_e$p,
                               per_direction_df = own_e$nu),
      satterthwaite_oim_own = list(F = own_o$F, numDF = own_o$ndf, denDF = own_o$ddf, p = own_o$p),
      kenward_roger = list(F = kr$stats$Fstat, F_unscaled = kr$stats$FstatU, ndf = kr$stats$ndf,
                           ddf = kr$stats$ddf, F_scaling = kr$stats$F.scaling,
                           p = kr$stats$p.value, p_unscaled = kr$stats$p.valueU),
      kenward_roger_oim = list(F = kr_to$F, F_unscaled = kr_to$F_unscaled, ndf = kr_to$ndf,
                               ddf = kr_to$ddf, F_scaling = kr_to$F_scaling, p = kr_to$p)
    )
  })

  # Variance components (Stata labels), for orientation only.
  vc <- as.data.frame(VarCorr(m))
  varcomp <- list()
  for (k in seq_len(nrow(vc))) {
    key <- if (vc$grp[k] == "Residual") "var(Residual)"
           else if (is.na(vc$var2[k])) sprintf("%s: var(%s)", vc$grp[k], vc$var1[k])
           else sprintf("%s: cov(%s,%s)", vc$grp[k], vc$var1[k], vc$var2[k])
    varcomp[[key]] <- vc$vcov[k]
  }

  resid_df <- nobs(m) - qr(parts$X)$rank
  cat(sprintf("%-26s ll = %.6f  satt df = %s  kr df = %s  (oim check %.1e, kr check %.1e) %s\n",
              spec$name, as.numeric(logLik(m)), paste(signif(satt_df, 8), collapse = ","),
              paste(signif(kr_df, 8), collapse = ","), oim_check, kr_check,
              paste(warns, collapse = "; ")))

  list(
    name = spec$name,
    data_file = spec$data_file,
    lme4_formula = spec$formula,
    stata_cmd = spec$stata,
    stata_cmd_satterthwaite = paste0(spec$stata, " dfmethod(satterthwaite)"),
    stata_cmd_kroger = paste0(spec$stata, " dfmethod(kroger)"),
    method = "REML",
    n = nobs(m),
    n_groups = as.list(vapply(getME(m, "flist"), nlevels, integer(1))),
    ll = as.numeric(logLik(m)),
    converged = length(warns[!grepl("singular", warns)]) == 0,
    singular = isSingular(m),
    warnings = I(warns),
    optimizer = optimizer_used,
    first_fit_warnings = I(first_warnings),
    ll_check_optimizer = ll_check,
    fixed = list(
      names = I(stata_fx),
      lme4_names = I(lme4_fx),
      estimates = I(beta),
      se = I(unname(se)),
      vcov = unname(V),
      vcov_check_max_abs_diff = vcov_diff
    ),
    varcomp = varcomp,
    theta = I(unname(getME(m, "theta"))),
    residual_df = resid_df,
    satterthwaite = c(list(source = "lmerTest summary(m, ddf = \"Satterthwaite\")",
                           df = I(satt_df), se = I(unname(se))),
                      ttest(beta, se, satt_df)),
    satterthwaite_eim = c(list(source = "own: expected REML information of the variance parameters",
                               df = I(own_eim_df), se = I(unname(se))),
                          ttest(beta, se, own_eim_df)),
    satterthwaite_oim_own_df = I(own_oim_df),
    satterthwaite_oim_check_max_rel_diff = oim_check,
    kenward_roger = c(list(source = "pbkrtest vcovAdj(m), get_Lb_ddf(m, L)",
                           vcov_adj = unname(Vadj), se = I(unname(kr_se)), df = I(kr_df)),
                      ttest(beta, kr_se, kr_df),
                      list(vcov_adj_check_max_rel_diff = kr_check,
                           df_own_check_max_rel_diff = kr_df_check)),
    kenward_roger_oim = c(list(source = "own: Kenward-Roger with W = inverse observed REML information",
                               vcov_adj = unname(Vadj_oim), se = I(unname(kr_oim_se)),
                               df = I(kr_oim_df)),
                          ttest(beta, kr_oim_se, kr_oim_df)),
    joint_tests = joint
  )
}

# ---------------------------------------------------------------------------------------------
# Models
# ---------------------------------------------------------------------------------------------

sleep_joint <- list(list(name = "all", stata = "test days _cons",
                         coefficients = c("days", "_cons")))
specs <- list(
  list(name = "sleep_rslope", data = "sleep", data_file = "data/sleepstudy.csv",
       formula = "reaction ~ days + (days | subject)",
       stata = "mixed reaction days || subject: days, reml cov(unstructured)",
       fixed = c(days = "days", `_cons` = "(Intercept)"), joint = sleep_joint),
  list(name = "sleep_rint", data = "sleep", data_file = "data/sleepstudy.csv",
       formula = "reaction ~ days + (1 | subject)",
       stata = "mixed reaction days || subject:, reml",
       fixed = c(days = "days", `_cons` = "(Intercept)"), joint = sleep_joint),
  list(name = "sleep_unbal_rslope", data = "sleep_unbal", data_file = "data/sleepstudy_unbal.csv",
       formula = "reaction ~ days + (days | subject)",
       stata = "mixed reaction days || subject: days, reml cov(unstructured)",
       fixed = c(days = "days", `_cons` = "(Intercept)"), joint = sleep_joint),
  list(name = "sleep_unbal_rint", data = "sleep_unbal", data_file = "data/sleepstudy_unbal.csv",
       formula = "reaction ~ days + (1 | subject)",
       stata = "mixed reaction days || subject:, reml",
       fixed = c(days = "days", `_cons` = "(Intercept)"), joint = sleep_joint),
  list(name = "pastes_nested", data = "pastes", data_file = "data/pastes.csv",
       formula = "strength ~ 1 + (1 | batch/cask)",
       stata = "mixed strength || batch: || cask:, reml",
       fixed = c(`_cons` = "(Intercept)"), joint = list()),
  list(name = "machines_rint", data = "machines", data_file = "data/machines.csv",
       formula = "score ~ machine + (1 | worker)",
       stata = "mixed score i.machine || worker:, reml",
       fixed = c(`2.machine` = "machine2", `3.machine` = "machine3", `_cons` = "(Intercept)"),
       joint = list(list(name = "machine", stata = "testparm i.machine",
                         coefficients = c("2.machine", "3.machine")))),
  list(name = "machines_nested", data = "machines", data_file = "data/machines.csv",
       formula = "score ~ machine + (1 | worker) + (1 | worker:machine)",
       stata = "mixed score i.machine || worker: || machine:, reml",
       fixed = c(`2.machine` = "machine2", `3.machine` = "machine3", `_cons` = "(Intercept)"),
       joint = list(list(name = "machine", stata = "testparm i.machine",
                         coefficients = c("2.machine", "3.machine")))),
  list(name = "orthodont_rslope", data = "orthodont", data_file = "data/orthodont.csv",
       formula = "distance ~ age * female + (age | subject)",
       stata = "mixed distance c.age##i.female || subject: age, reml cov(unstructured)",
       fixed = c(age = "age", `1.female` = "female", `1.female#c.age` = "age:female",
                 `_cons` = "(Intercept)"),
       joint = list(list(name = "female", stata = "testparm i.female i.female#c.age",
                         coefficients = c("1.female", "1.female#c.age")),
                    list(name = "all_slopes", stata = "test age 1.female 1.female#c.age",
                         coefficients = c("age", "1.female", "1.female#c.age"))))
)

datasets <- list(sleep = sleep, sleep_unbal = sleep_unbal, pastes = pastes, machines = machines,
                 orthodont = orthodont)
models <- lapply(specs, function(s) fit_model(s, datasets[[s$data]]))
names(models) <- vapply(specs, `[[`, "", "name")

write_fixture <- function(name, description, data_info, models) {
  obj <- c(list(fixture = name, description = description), meta,
           list(data = data_info, models = unname(models)))
  path <- file.path(fixture_dir, paste0(name, ".json"))
  writeLines(toJSON(obj, auto_unbox = TRUE, digits = NA, pretty = TRUE, null = "null",
                    na = "null"), path)
  cat("wrote", path, "\n")
}

write_fixture("ddf_sleepstudy",
              "Small-sample df (Satterthwaite, Kenward-Roger) after REML mixed: sleepstudy, balanced and unbalanced subset, random intercept and random slope",
              list(list(file = "data/sleepstudy.csv", reader = "utils::read.csv", n_rows = nrow(sleep),
                        source = "lme4::sleepstudy"),
                   list(file = "data/sleepstudy_unbal.csv", reader = "utils::read.csv",
                        n_rows = nrow(sleep_unbal),
                        source = "lme4::sleepstudy, rows with days < 4 + ((r - 1) mod 7), r = rank of subject number")),
              models[c("sleep_rslope", "sleep_rint", "sleep_unbal_rslope", "sleep_unbal_rint")])
write_fixture("ddf_pastes",
              "Small-sample df after REML mixed: Pastes, cask nested in batch (three levels)",
              list(list(file = "data/pastes.csv", reader = "utils::read.csv", n_rows = nrow(pastes),
                        source = "lme4::Pastes")),
              models["pastes_nested"])
write_fixture("ddf_machines",
              "Small-sample df after REML mixed: Machines, i.machine with worker and worker:machine random intercepts, joint test of machine",
              list(list(file = "data/machines.csv", reader = "utils::read.csv", n_rows = nrow(machines),
                        source = "nlme::Machines")),
              models[c("machines_rint", "machines_nested")])
write_fixture("ddf_orthodont",
              "Small-sample df after REML mixed: Orthodont, c.age##i.female with random slope of age, joint tests",
              list(list(file = "data/orthodont.csv", reader = "utils::read.csv", n_rows = nrow(orthodont),
                        source = "nlme::Orthodont")),
              models["orthodont_rslope"])
