# Oracle fixtures for Stata's `xtreg, re`, `xtreg, fe` and `xtreg, mle`.
#
# Run from the repository root:  Rscript scripts/make_xtreg_fixtures.R
# (or bash scripts/make_ddf_margins_xtreg_fixtures.sh, which installs missing Debian packages).
# Needs (Debian): r-cran-lme4 r-cran-plm r-cran-haven r-cran-numderiv r-cran-jsonlite.
# The test suite never needs R: it only reads tests/fixtures/xtreg_*.json.
#
# Every estimator is computed here by hand, following the steps of Stata's xtreg_re.ado (1.8.1),
# xtreg_fe.ado (2.1.0) and xtreg_ml.ado (2.8.1) as read in the public code index (formulas only;
# no Stata code is reproduced), and then cross-checked against plm (within, Swamy-Arora) and lme4
# (ML random intercept). See tests/fixtures/ddf_margins_xtreg.md for every definition.

suppressPackageStartupMessages({
  library(lme4)
  library(plm)
  library(haven)
  library(jsonlite)
})

fixture_dir <- "tests/fixtures"
dir.create(fixture_dir, showWarnings = FALSE, recursive = TRUE)

meta <- list(
  generator = "scripts/make_xtreg_fixtures.R",
  r_version = R.version.string,
  lme4_version = as.character(packageVersion("lme4")),
  plm_version = as.character(packageVersion("plm")),
  numDeriv_version = as.character(packageVersion("numDeriv"))
)

ctrl <- lmerControl(optimizer = "bobyqa", optCtrl = list(maxfun = 1e5, rhoend = 1e-10))

# Stata's summarize, detail percentiles (unweighted): with P = n p / 100, the mean of x(P) and
# x(P+1) when P is an integer, else x(ceiling(P)). That is R's quantile type 2.
stata_pctile <- function(x, p) unname(quantile(x, p / 100, type = 2))

group_mean <- function(v, g) ave(v, g, FUN = mean)

ols_fit <- function(X, y) {
  y <- as.numeric(y)
  X <- as.matrix(X)
  XtX <- crossprod(X)
  b <- solve(XtX, crossprod(X, y))
  r <- y - X %*% b
  list(b = drop(b), ssr = sum(r^2), XtXi = solve(XtX), resid = drop(r))
}

coef_table <- function(names, b, V, df = Inf) {
  se <- sqrt(diag(V))
  stat <- b / se
  q <- if (is.finite(df)) qt(0.975, df) else qnorm(0.975)
  p <- if (is.finite(df)) 2 * pt(-abs(stat), df) else 2 * pnorm(-abs(stat))
  list(names = I(names), estimates = I(unname(b)), se = I(unname(se)), stat = I(unname(stat)),
       p = I(unname(p)), ci_lower = I(unname(b - q * se)), ci_upper = I(unname(b + q * se)),
       vcov = unname(V))
}

# Stata's three R-squareds for a coefficient vector b (slopes) and constant c:
#   overall = corr(xb, y)^2 over observations, between = corr of the panel means of xb and y,
#   within = corr(xb - mean_i xb, y - mean_i y)^2.
r2_three <- function(X, y, g, b, c) {
  xb <- drop(X %*% b) + c
  xbm <- tapply(xb, g, mean)
  ym <- tapply(y, g, mean)
  list(within = cor(xb - group_mean(xb, g), y - group_mean(y, g))^2,
       between = cor(xbm, ym)^2,
       overall = cor(xb, y)^2)
}

# ---------------------------------------------------------------------------------------------
# xtreg, re  (GLS; Stata's default variance components, and the `sa` option)
# ---------------------------------------------------------------------------------------------

xtreg_re <- function(y, X, g, xnames, sa = FALSE, sa_weighted_between = FALSE) {
  N <- length(y); k <- ncol(X)
  Ti_obs <- ave(rep(1, N), g, FUN = length)
  Ti <- as.vector(table(g))
  n <- length(Ti)
  # within regression -> sigma_e
  Xw <- X - apply(X, 2, group_mean, g = g)
  yw <- y - group_mean(y, g)
  w <- ols_fit(Xw, yw)
  df_t <- N - n - k
  s_e2 <- w$ssr / df_t
  # between regression on the n panel means (unweighted), with a constant
  Xm <- cbind(apply(X, 2, function(v) tapply(v, g, mean)), 1)
  ym <- tapply(y, g, mean)
  bfit <- ols_fit(Xm, ym)
  K <- k + 1
  rmse_b2 <- bfit$ssr / (n - K)
  Tbar <- 1 / mean(1 / Ti)                        # harmonic mean of T_i
  if (!sa) {
    s_u2 <- rmse_b2 - s_e2 / Tbar
    sa_parts <- NULL
  } else {
    # `sa`: residuals of every observation from the (unweighted) between coefficients,
    # ubPub = sum_i (sum_t e_it)^2 / T_i, tr = trace[(sum_i T_i z_i z_i')^-1 sum_i T_i^2 z_i z_i'],
    # z_i = (xbar_i, 1); sigma_u^2 = (ubPub - (n - K) s_e^2) / (N - tr).
    # (sa_weighted_between = TRUE uses the T_i-weighted between coefficients instead: this is
    # Baltagi & Chang's (1994) version, which plm's random.method = "swar" computes; check only.)
    b_B <- if (sa_weighted_between) drop(solve(crossprod(Xm * sqrt(Ti)), crossprod(Xm * Ti, ym)))
           else bfit$b
    e_it <- y - drop(cbind(X, 1) %*% b_B)
    se_i <- tapply(e_it, g, sum)
    ubPub <- sum(se_i^2 / Ti)
    xpx <- crossprod(Xm * sqrt(Ti))
    xzx <- crossprod(Xm * Ti)
    tr <- sum(diag(solve(xpx) %*% xzx))
    s_u2 <- (ubPub - (n - K) * s_e2) / (N - tr)
    sa_parts <- list(ubPub = ubPub, trace = tr)
  }
  truncated <- !is.finite(s_u2) || s_u2 < 0
  if (truncated) s_u2 <- 0
  theta_i <- 1 - sqrt(s_e2 / (Ti * s_u2 + s_e2))
  theta_obs <- 1 - sqrt(s_e2 / (Ti_obs * s_u2 + s_e2))
  # GLS = OLS of the theta-transformed data, constant column (1 - theta_i)
  Xs <- cbind(X - theta_obs * apply(X, 2, group_mean, g = g), 1 - theta_obs)
  ys <- y - theta_obs * group_mean(y, g)
  gls <- ols_fit(Xs, ys)
  rmse2 <- gls$ssr / (N - K)
  V <- rmse2 * gls$XtXi                           # OLS VCE of the transformed regression (Stata)
  V_alt <- s_e2 * gls$XtXi                        # sigma_e^2 (X*'X*)^-1, for comparison only
  bs <- gls$b[1:k]
  Vs <- V[1:k, 1:k, drop = FALSE]
  chi2 <- drop(t(bs) %*% solve(Vs) %*% bs)
  list(
    coef = coef_table(c(xnames, "_cons"), gls$b, V),
    se_alt_sigma_e = I(unname(sqrt(diag(V_alt)))),
    sigma_u = sqrt(s_u2), sigma_e = sqrt(s_e2), sigma = sqrt(s_u2 + s_e2),
    rho = s_u2 / (s_u2 + s_e2),
    sigma_u_truncated_at_zero = truncated,
    rmse = sqrt(rmse2),
    Tbar = Tbar,
    theta = list(min = min(theta_i), p5 = stata_pctile(theta_i, 5),
                 p50 = stata_pctile(theta_i, 50), p95 = stata_pctile(theta_i, 95),
                 max = max(theta_i)),
    theta_by_panel = I(unname(theta_i)),
    r2 = r2_three(X, y, g, bs, gls$b[K]),
    chi2 = chi2, df_m = k, p_chi2 = pchisq(chi2, k, lower.tail = FALSE),
    parts = c(list(ssr_within = w$ssr, df_within = df_t, ssr_between = bfit$ssr,
                   df_between = n - K, b_within = I(unname(w$b)),
                   b_between = I(unname(bfit$b))), sa_parts)
  )
}

# ---------------------------------------------------------------------------------------------
# xtreg, fe
# ---------------------------------------------------------------------------------------------

xtreg_fe <- function(y, X, g, xnames) {
  N <- length(y); k <- ncol(X)
  n <- length(unique(g))
  Xw <- X - apply(X, 2, group_mean, g = g)
  yw <- y - group_mean(y, g)
  w <- ols_fit(Xw, yw)
  df_r <- N - n - k
  s2 <- w$ssr / df_r
  xbar <- colMeans(X)
  b <- w$b
  cons <- mean(y) - sum(xbar * b)
  # VCE of (b, _cons): OLS on (x - xbar_i + xbar, 1) with df_r residual df
  Xa <- cbind(Xw + matrix(xbar, N, k, byrow = TRUE), 1)
  V <- s2 * solve(crossprod(Xa))
  xb <- drop(X %*% b) + cons
  u_i <- tapply(y - xb, g, mean)
  u_obs <- group_mean(y - xb, g)
  pooled <- ols_fit(cbind(X, 1), y)
  tss <- sum((y - mean(y))^2)
  r2 <- 1 - w$ssr / tss
  r2c <- 1 - pooled$ssr / tss
  F_f <- ((r2 - r2c) / (n - 1)) / ((1 - r2) / df_r)
  Vs <- V[1:k, 1:k, drop = FALSE]
  Fm <- drop(t(b) %*% solve(Vs) %*% b) / k
  sigma_u <- sd(u_i)
  sigma_e <- sqrt(s2)
  list(
    coef = coef_table(c(xnames, "_cons"), c(b, cons), V, df_r),
    df_r = df_r, df_a = n - 1, df_b = k,
    F = Fm, p_F = pf(Fm, k, df_r, lower.tail = FALSE),
    F_u = F_f, F_u_df = I(c(n - 1, df_r)), p_F_u = pf(F_f, n - 1, df_r, lower.tail = FALSE),
    sigma_u = sigma_u, sigma_e = sigma_e, sigma = sqrt(sigma_u^2 + sigma_e^2),
    rho = sigma_u^2 / (sigma_u^2 + sigma_e^2),
    corr_u_xb = cor(xb, u_obs),
    rss = w$ssr, tss = tss,
    r2 = list(within = 1 - w$ssr / sum(yw^2), between = cor(tapply(xb, g, mean), tapply(y, g, mean))^2,
              overall = cor(xb, y)^2),
    r2_within_as_corr = cor(xb - group_mean(xb, g), yw)^2,
    u_i = I(unname(u_i))
  )
}

# ---------------------------------------------------------------------------------------------
# xtreg, mle  (ML random intercept; parameters (beta, sigma_u, sigma_e) as in e(b))
# ---------------------------------------------------------------------------------------------

re_loglik <- function(par, y, X1, g_idx, Ti, k1) {
  b <- par[1:k1]; su <- par[k1 + 1]; se <- par[k1 + 2]
  r <- y - drop(X1 %*% b)
  s1 <- rowsum(r, g_idx)[, 1]
  s2 <- rowsum(r^2, g_idx)[, 1]
  d <- se^2 + Ti * su^2
  sum(-Ti / 2 * log(2 * pi) - (Ti - 1) * log(se) - 0.5 * log(d) -
        (s2 - su^2 / d * s1^2) / (2 * se^2))
}

xtreg_mle <- function(y, X, g, yname, xnames, data_lmer, formula, formula0) {
  N <- length(y); k <- ncol(X)
  g_idx <- as.integer(factor(g))
  Ti <- as.vector(table(g_idx))
  X1 <- cbind(X, 1)
  m <- lmer(formula, data = data_lmer, REML = FALSE, control = ctrl)
  m0 <- lmer(formula0, data = data_lmer, REML = FALSE, control = ctrl)
  lme4_x <- c(xnames, "(Intercept)")
  b <- unname(fixef(m)[lme4_x])
  su <- as.numeric(attr(VarCorr(m)[[1]], "stddev"))
  se <- sigma(m)
  par <- c(b, su, se)
  ll <- re_loglik(par, y, X1, g_idx, Ti, k + 1)
  stopifnot(abs(ll - as.numeric(logLik(m))) < 1e-8)
  grad <- numDeriv::grad(re_loglik, par, y = y, X1 = X1, g_idx = g_idx, Ti = Ti, k1 = k + 1)
  H <- numDeriv::hessian(re_loglik, par, y = y, X1 = X1, g_idx = g_idx, Ti = Ti, k1 = k + 1)
  V <- solve(-H)
  names_b <- c(xnames, "_cons", "/sigma_u", "/sigma_e")
  ct <- coef_table(names_b, par, V)
  V_gls <- as.matrix(vcov(m))[lme4_x, lme4_x]
  ll0 <- as.numeric(logLik(m0))
  pooled <- ols_fit(X1, y)
  ll_c <- -N / 2 * (log(2 * pi) + log(pooled$ssr / N) + 1)  # regress e(ll)
  chi2_c <- if (su < 1e-5) 0 else abs(-2 * (ll_c - ll))
  lr <- 2 * (ll - ll0)
  # rho = su^2 / (su^2 + se^2): delta method and probit-scale CI (Stata's diparm ci(probit))
  rho <- su^2 / (su^2 + se^2)
  dr <- c(2 * su * se^2 / (su^2 + se^2)^2, -2 * se * su^2 / (su^2 + se^2)^2)
  Vsig <- V[k + 2:3, k + 2:3]
  rho_se <- sqrt(drop(t(dr) %*% Vsig %*% dr))
  z <- qnorm(0.975)
  zr <- qnorm(rho)
  rho_ci <- pnorm(zr + c(-1, 1) * z * rho_se / dnorm(zr))
  log_ci <- function(s, s_se) s * exp(c(-1, 1) * z * s_se / s)
  su_se <- sqrt(V[k + 2, k + 2]); se_se <- sqrt(V[k + 3, k + 3])
  list(
    stata_b_names = I(c(paste0(yname, ":", c(xnames, "_cons")), "sigma_u:_cons", "sigma_e:_cons")),
    coef = ct,
    se_beta_gls = I(unname(sqrt(diag(V_gls)))),
    vcov_beta_gls = unname(V_gls),
    gradient_at_optimum = I(grad),
    ll = ll, ll_0 = ll0, ll_c = ll_c,
    lr_chi2 = lr, lr_df = k, p_lr = pchisq(lr, k, lower.tail = FALSE),
    sigma_u = su, sigma_u_se = su_se, sigma_u_ci = I(log_ci(su, su_se)),
    sigma_e = se, sigma_e_se = se_se, sigma_e_ci = I(log_ci(se, se_se)),
    rho = rho, rho_se = rho_se, rho_ci = I(rho_ci),
    lr_sigma_u = list(chibar2 = chi2_c, p_chibar2 = 0.5 * pchisq(chi2_c, 1, lower.tail = FALSE),
                      e_p = pchisq(chi2_c, 1, lower.tail = FALSE)),
    lme4_formula = deparse(formula),
    lme4_warnings = I(as.character(m@optinfo$conv$lme4$messages))
  )
}

# ---------------------------------------------------------------------------------------------
# Cross-checks against plm
# ---------------------------------------------------------------------------------------------

plm_checks <- function(df, yname, xnames, panel, re_def, re_sa, re_sa_w, fe) {
  pd <- pdata.frame(df[, c(panel, yname, xnames)], index = panel, row.names = FALSE)
  f <- as.formula(paste(yname, "~", paste(xnames, collapse = " + ")))
  within <- plm(f, data = pd, model = "within")
  swar <- plm(f, data = pd, model = "random", random.method = "swar")
  ec <- ercomp(swar)
  fe_diff <- max(abs(coef(within) - fe$coef$estimates[seq_along(xnames)]),
                 abs(sqrt(diag(vcov(within))) - fe$coef$se[seq_along(xnames)]))
  stopifnot(fe_diff < 1e-8)
  bc_diff <- abs(sqrt(ec$sigma2[["id"]]) - re_sa_w$sigma_u)
  stopifnot(bc_diff < 1e-10)
  ord <- c(xnames, "(Intercept)")
  list(
    within_max_abs_diff = fe_diff,
    swar = list(
      call = "plm(y ~ x, model = \"random\", random.method = \"swar\")",
      estimates = I(unname(coef(swar)[ord])),
      se = I(unname(sqrt(diag(vcov(swar)))[ord])),
      sigma_u = sqrt(ec$sigma2[["id"]]), sigma_e = sqrt(ec$sigma2[["idios"]]),
      theta = list(min = min(unlist(ec$theta)), max = max(unlist(ec$theta))),
      sigma_u_minus_stata_default = sqrt(ec$sigma2[["id"]]) - re_def$sigma_u,
      sigma_u_minus_stata_sa = sqrt(ec$sigma2[["id"]]) - re_sa$sigma_u,
      sigma_e_minus_stata = sqrt(ec$sigma2[["idios"]]) - re_def$sigma_e,
      sigma_u_sa_formula_with_weighted_between = re_sa_w$sigma_u,
      sigma_u_minus_sa_formula_with_weighted_between = sqrt(ec$sigma2[["id"]]) - re_sa_w$sigma_u,
      estimates_minus_stata_default = I(unname(coef(swar)[ord]) - re_def$coef$estimates)
    )
  )
}

# ---------------------------------------------------------------------------------------------
# One data set
# ---------------------------------------------------------------------------------------------

run_case <- function(df, yname, xnames, panel, panel_note, data_file, reader, name, description) {
  y <- df[[yname]]
  X <- as.matrix(df[, xnames, drop = FALSE])
  g <- df[[panel]]
  Ti <- as.vector(table(g))
  re <- xtreg_re(y, X, g, xnames)
  re_sa <- xtreg_re(y, X, g, xnames, sa = TRUE)
  fe <- xtreg_fe(y, X, g, xnames)
  dl <- df
  dl[[panel]] <- factor(dl[[panel]])
  f1 <- as.formula(paste(yname, "~", paste(xnames, collapse = " + "), "+ (1 |", panel, ")"))
  f0 <- as.formula(paste(yname, "~ 1 + (1 |", panel, ")"))
  mle <- xtreg_mle(y, X, g, yname, xnames, dl, f1, f0)
  re_sa_w <- xtreg_re(y, X, g, xnames, sa = TRUE, sa_weighted_between = TRUE)
  chk <- plm_checks(df, yname, xnames, panel, re, re_sa, re_sa_w, fe)
  xs <- paste(xnames, collapse = " ")
  cat(sprintf("%s: re b = %s sigma_u = %.6f (sa %.6f, plm swar %.6f); fe b = %s; mle b = %s ll = %.4f\n",
              name, paste(signif(re$coef$estimates, 8), collapse = ","), re$sigma_u, re_sa$sigma_u,
              chk$swar$sigma_u, paste(signif(fe$coef$estimates, 8), collapse = ","),
              paste(signif(mle$coef$estimates[1:2], 8), collapse = ","), mle$ll))
  obj <- c(list(fixture = name, description = description), meta, list(
    data = list(file = data_file, reader = reader, n_rows = nrow(df), panel = panel,
                panel_note = panel_note),
    depvar = yname, indepvars = I(xnames),
    N = length(y), n_groups = length(Ti),
    group_sizes = list(min = min(Ti), avg = mean(Ti), max = max(Ti)),
    stata_setup = sprintf("xtset %s", panel),
    re = c(list(stata_cmd = sprintf("xtreg %s %s, re", yname, xs),
                statistic = "z", vce = "rmse^2 (X*'X*)^-1 of the theta-transformed OLS, df = N - (k + 1)"), re),
    re_sa = c(list(stata_cmd = sprintf("xtreg %s %s, re sa", yname, xs), statistic = "z"),
              re_sa[c("coef", "sigma_u", "sigma_e", "rho", "sigma_u_truncated_at_zero", "theta",
                      "r2", "chi2", "p_chi2", "parts")]),
    fe = c(list(stata_cmd = sprintf("xtreg %s %s, fe", yname, xs), statistic = "t"), fe),
    mle = c(list(stata_cmd = sprintf("xtreg %s %s, mle", yname, xs), statistic = "z"), mle),
    checks = chk
  ))
  path <- file.path(fixture_dir, paste0(name, ".json"))
  writeLines(toJSON(obj, auto_unbox = TRUE, digits = NA, pretty = TRUE, null = "null",
                    na = "null"), path)
  cat("wrote", path, "\n")
}

# HSB: id is a string in the .dta; Stata needs a numeric panel variable, e.g.
#   encode id, gen(school)   (codes in sorted order of the strings)
# The ids are 4-character strings stored sorted, so sorted order = order of appearance here.
hsb <- as.data.frame(zap_formats(read_dta("data/hsb.dta")))
ids <- sort(unique(hsb$id))
stopifnot(identical(ids, unique(hsb$id)))
hsb$school <- match(hsb$id, ids)
run_case(hsb, "mathach", "ses", "school",
         "school = encode id (1..160 in sorted = data order of the string id)",
         "data/hsb.dta", "haven::read_dta", "xtreg_hsb",
         "xtreg mathach ses with re (Stata default and sa), fe and mle; panels = schools (160, unbalanced 14..67)")

exam <- read.csv("data/exam.csv")
stopifnot(all(c("school", "normexam", "standLRT") %in% names(exam)))
run_case(exam, "normexam", "standLRT", "school", "school (integer 1..65 in data/exam.csv)",
         "data/exam.csv", "utils::read.csv", "xtreg_exam",
         "xtreg normexam standLRT with re (Stata default and sa), fe and mle; panels = schools (65, unbalanced 2..198)")
