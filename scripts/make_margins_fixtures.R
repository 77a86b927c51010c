# Oracle fixtures for Stata's `margins` (delta method) after regress, mixed and melogit.
#
# Run from the repository root:  Rscript scripts/make_margins_fixtures.R
# (or bash scripts/make_ddf_margins_xtreg_fixtures.sh, which installs missing Debian packages).
# Needs (Debian): r-cran-lme4 r-cran-emmeans r-cran-mlmrev r-cran-haven r-cran-numderiv
# r-cran-jsonlite. The test suite never needs R: it only reads tests/fixtures/margins_*.json.
#
# Every margin is computed in closed form here (the average over the estimation sample of the
# prediction with the covariates set as the margins command asks, and its gradient g with respect
# to e(b), SE = sqrt(g' V g)) and, where emmeans can express it, also with emmeans/emtrends; the
# two must agree (checked, stored as *_check_max_abs_diff). The JSON stores the closed form's numbers
# and the gradients (Jacobian rows, Stata e(b) order). See tests/fixtures/ddf_margins_xtreg.md.

suppressPackageStartupMessages({
  library(lme4)
  library(emmeans)
  library(haven)
  library(jsonlite)
})

fixture_dir <- "tests/fixtures"
dir.create(fixture_dir, showWarnings = FALSE, recursive = TRUE)

meta <- list(
  generator = "scripts/make_margins_fixtures.R",
  r_version = R.version.string,
  lme4_version = as.character(packageVersion("lme4")),
  emmeans_version = as.character(packageVersion("emmeans")),
  numDeriv_version = as.character(packageVersion("numDeriv"))
)

ctrl <- lmerControl(optimizer = "bobyqa", optCtrl = list(maxfun = 1e5, rhoend = 1e-10))
gctrl <- glmerControl(optimizer = "bobyqa", optCtrl = list(maxfun = 1e5, rhoend = 1e-10))
emm_options(lmer.df = "asymptotic")
# emmeans prints "Results may be misleading due to involvement in interactions" for sector-only
# grids; that NOTE is expected here (the margins average over ses explicitly) and is silenced.
emm_options(msg.interaction = FALSE)

# ---------------------------------------------------------------------------------------------
# Helpers
# ---------------------------------------------------------------------------------------------

# One margin from its estimate and gradient g (Stata e(b) order); df = Inf gives z statistics.
margin_row <- function(label, est, g, V, df) {
  se <- sqrt(drop(t(g) %*% V %*% g))
  stat <- est / se
  q <- if (is.finite(df)) qt(0.975, df) else qnorm(0.975)
  p <- if (is.finite(df)) 2 * pt(-abs(stat), df) else 2 * pnorm(-abs(stat))
  list(label = label, estimate = est, se = se, stat = stat, p = p,
       ci_lower = est - q * se, ci_upper = est + q * se, gradient = I(unname(g)))
}

# Table of margins -> list of rows; also returns estimates and SEs for the emmeans comparison.
collect <- function(rows) {
  list(rows = rows,
       est = vapply(rows, `[[`, 0, "estimate"),
       se = vapply(rows, `[[`, 0, "se"))
}

check_against <- function(closed, emm_est, emm_se) {
  max(abs(closed$est - emm_est), abs(closed$se - emm_se))
}

# ---------------------------------------------------------------------------------------------
# HSB: regress and mixed (ML) with i.sector##c.ses
# ---------------------------------------------------------------------------------------------

hsb <- as.data.frame(zap_formats(read_dta("data/hsb.dta")))
hsb$id <- factor(hsb$id, levels = unique(hsb$id))
hsb$sector <- factor(hsb$sector, levels = c(0, 1))   # 0/1 in the .dta; a factor for emmeans
n_hsb <- nrow(hsb)
sector01 <- as.numeric(as.character(hsb$sector))
ses <- hsb$ses

stata_names <- c("1.sector", "ses", "1.sector#c.ses", "_cons")
lme4_names <- c("sector1", "ses", "sector1:ses", "(Intercept)")

# Design matrix rows (Stata order) for given sector and ses vectors.
design <- function(sec, s) cbind(sec, s, sec * s, 1)

hsb_margins <- function(b, V, df, model, kind) {
  out <- list()
  chk <- list()
  p1 <- mean(sector01)
  sbar <- mean(ses)

  # margins (overall predictive margin, as observed)
  X <- design(sector01, ses)
  out$overall <- list(stata_cmd = "margins", expression = "mean_i xb_i",
                      margins = list(margin_row("_cons", mean(X %*% b), colMeans(X), V, df)))

  # margins sector
  rows <- lapply(0:1, function(k) {
    Xk <- design(rep(k, n_hsb), ses)
    margin_row(sprintf("%d.sector", k), mean(Xk %*% b), colMeans(Xk), V, df)
  })
  cl <- collect(rows)
  e <- summary(emmeans(model, ~ sector))
  chk$sector <- check_against(cl, e$emmean, e$SE)
  out$sector <- list(stata_cmd = "margins sector",
                     expression = "mean_i xb_i with sector set to k for every observation",
                     margins = rows)

  # margins, dydx(ses) over(sector)
  rows <- lapply(0:1, function(k) {
    sub <- sector01 == k
    # d xb / d ses = b_ses + b_int * sector, averaged over the subsample with sector == k
    G <- cbind(0, 1, sector01[sub], 0)
    margin_row(sprintf("%d.sector", k), mean(G %*% b), colMeans(G), V, df)
  })
  cl <- collect(rows)
  e <- summary(emtrends(model, ~ sector, var = "ses"))
  chk$dydx_ses_over_sector <- check_against(cl, e$ses.trend, e$SE)
  out$dydx_ses_over_sector <- list(stata_cmd = "margins, dydx(ses) over(sector)",
                                   expression = "mean over the sector == k subsample of d xb/d ses",
                                   margins = rows)

  # margins sector, at(ses=(-1 0 1)): at-values outer, sector inner (Stata's _at#sector order)
  at <- c(-1, 0, 1)
  rows <- list()
  for (a in seq_along(at)) for (k in 0:1) {
    Xk <- design(rep(k, n_hsb), rep(at[a], n_hsb))
    rows[[length(rows) + 1]] <- margin_row(sprintf("%d._at#%d.sector", a, k), mean(Xk %*% b),
                                           colMeans(Xk), V, df)
  }
  cl <- collect(rows)
  e <- summary(emmeans(model, ~ sector | ses, at = list(ses = at)))
  e <- e[order(e$ses, e$sector), ]
  chk$sector_at_ses <- check_against(cl, e$emmean, e$SE)
  out$sector_at_ses <- list(stata_cmd = "margins sector, at(ses=(-1 0 1))",
                            at = list(ses = I(at)),
                            order = "at-values outer, sector inner: 1._at#0.sector, 1._at#1.sector, 2._at#0.sector, ...",
                            margins = rows)

  # margins, dydx(sector): average discrete change 1 vs 0
  D <- design(rep(1, n_hsb), ses) - design(rep(0, n_hsb), ses)
  rows <- list(margin_row("1.sector", mean(D %*% b), colMeans(D), V, df))
  cl <- collect(rows)
  e <- summary(pairs(emmeans(model, ~ sector), reverse = TRUE))
  chk$dydx_sector <- check_against(cl, e$estimate, e$SE)
  out$dydx_sector <- list(stata_cmd = "margins, dydx(sector)",
                          expression = "mean_i [xb_i(sector = 1) - xb_i(sector = 0)]",
                          margins = rows)

  # margins, at(ses=(-1(1)1)) atmeans: sector indicators at their sample means
  rows <- lapply(seq_along(at), function(a) {
    x <- c(p1, at[a], p1 * at[a], 1)
    margin_row(sprintf("%d._at", a), sum(x * b), x, V, df)
  })
  cl <- collect(rows)
  e <- summary(emmeans(model, ~ ses, at = list(ses = at), weights = "proportional"))
  chk$at_ses_atmeans <- check_against(cl, e$emmean, e$SE)
  out$at_ses_atmeans <- list(stata_cmd = "margins, at(ses=(-1(1)1)) atmeans",
                             at = list(ses = I(at)), atmeans = list(`1.sector` = p1, `0.sector` = 1 - p1),
                             margins = rows)

  # margins, at(ses=(-1(1)1)) (as observed; equals atmeans for this linear prediction)
  rows <- lapply(seq_along(at), function(a) {
    Xa <- design(sector01, rep(at[a], n_hsb))
    margin_row(sprintf("%d._at", a), mean(Xa %*% b), colMeans(Xa), V, df)
  })
  chk$at_ses_asobserved <- max(abs(collect(rows)$est - cl$est), abs(collect(rows)$se - cl$se))
  out$at_ses_asobserved <- list(stata_cmd = "margins, at(ses=(-1(1)1))", at = list(ses = I(at)),
                                margins = rows)

  for (nm in names(chk)) stopifnot(chk[[nm]] < 1e-8)
  list(margins = out, emmeans_check_max_abs_diff = chk)
}

fixed_block <- function(b, V) {
  list(names = I(stata_names), lme4_names = I(lme4_names), estimates = I(unname(b)),
       se = I(unname(sqrt(diag(V)))), vcov = unname(V))
}

# regress mathach i.sector##c.ses
ols <- lm(mathach ~ sector * ses, data = hsb)
b_ols <- coef(ols)[c("sector1", "ses", "sector1:ses", "(Intercept)")]
V_ols <- vcov(ols)[names(b_ols), names(b_ols)]
stopifnot(identical(names(b_ols), lme4_names))
df_r <- df.residual(ols)
reg <- hsb_margins(unname(b_ols), unname(V_ols), df_r, ols, "regress")
reg_entry <- c(list(
  name = "hsb_regress",
  estimation_cmd = "regress mathach i.sector##c.ses",
  r_call = "lm(mathach ~ sector * ses, data = hsb)   # sector a factor with levels 0, 1",
  n = nobs(ols),
  df_r = df_r,
  statistic = "t",
  fixed = fixed_block(b_ols, V_ols)), reg)

# mixed mathach i.sector##c.ses || id:   (ML)
mx <- lmer(mathach ~ sector * ses + (1 | id), data = hsb, REML = FALSE, control = ctrl)
b_mx <- fixef(mx)[lme4_names]
V_mx <- as.matrix(vcov(mx))[lme4_names, lme4_names]
mix <- hsb_margins(unname(b_mx), unname(V_mx), Inf, mx, "mixed")
mix_entry <- c(list(
  name = "hsb_mixed_ml",
  estimation_cmd = "mixed mathach i.sector##c.ses || id:",
  r_call = "lmer(mathach ~ sector * ses + (1 | id), data = hsb, REML = FALSE)",
  n = nobs(mx),
  ll = as.numeric(logLik(mx)),
  lme4_warnings = I(as.character(mx@optinfo$conv$lme4$messages)),
  varcomp = list(`id: var(_cons)` = as.numeric(VarCorr(mx)$id), `var(Residual)` = sigma(mx)^2),
  statistic = "z",
  fixed = fixed_block(b_mx, V_mx)), mix)

cat(sprintf("regress: emmeans check max %.2e; mixed: %.2e\n",
            max(unlist(reg$emmeans_check_max_abs_diff)), max(unlist(mix$emmeans_check_max_abs_diff))))

hsb_info <- list(file = "data/hsb.dta", reader = "haven::read_dta", n_rows = n_hsb,
                 sample_means = list(ses = mean(ses), `1.sector` = mean(sector01),
                                     `1.sector#c.ses` = mean(sector01 * ses)))

write_fixture <- function(name, description, data_info, models) {
  obj <- c(list(fixture = name, description = description), meta,
           list(data = data_info, models = models))
  path <- file.path(fixture_dir, paste0(name, ".json"))
  writeLines(toJSON(obj, auto_unbox = TRUE, digits = NA, pretty = TRUE, null = "null",
                    na = "null"), path)
  cat("wrote", path, "\n")
}

write_fixture("margins_hsb",
              "margins after regress and mixed (ML) of mathach on i.sector##c.ses, HSB: predictive margins, average marginal effects, at() and atmeans, delta-method SEs with gradients",
              hsb_info, list(reg_entry, mix_entry))

# Full covariance of (sigma_u, beta) of a glmer fit with one scalar random intercept, from the
# numerical Hessian (numDeriv) of its nAGQ = 7 deviance; rows and columns named sigma_u and
# lme4's fixed-effect names.  Its beta block is checked against lme4's vcov by the callers.
full_vcov <- function(fit, formula, data) {
  devf <- glmer(formula, data = data, family = binomial, nAGQ = 7, devFunOnly = TRUE)
  par_hat <- c(unname(getME(fit, "theta")), fixef(fit))   # lme4 order: theta, fixed effects
  stopifnot(abs(devf(par_hat) + 2 * as.numeric(logLik(fit))) < 1e-6)
  V <- 2 * solve(numDeriv::hessian(devf, par_hat))
  dimnames(V) <- list(c("sigma_u", names(fixef(fit))), c("sigma_u", names(fixef(fit))))
  V
}

# Gauss-Hermite rule (Golub-Welsch) for E f(Z), Z ~ N(0, 1), 64 nodes.
gh_normal <- function(k) {
  J <- matrix(0, k, k)
  off <- sqrt(seq_len(k - 1) / 2)
  J[cbind(1:(k - 1), 2:k)] <- off
  J[cbind(2:k, 1:(k - 1))] <- off
  e <- eigen(J, symmetric = TRUE)
  list(z = e$values * sqrt(2), w = e$vectors[1, ]^2)
}
gh <- gh_normal(64)
stopifnot(abs(sum(gh$w) - 1) < 1e-12, abs(sum(gh$w * gh$z^2) - 1) < 1e-10)

# A GLMM margin: its row with the SE over beta alone (V_beta) and over (sigma_u, beta) (se_full).
glmm_row <- function(label, est, g_sig, g_beta, V_beta, V_full) {
  r <- margin_row(label, est, g_beta, V_beta, Inf)
  se_full <- sqrt(drop(t(c(g_sig, g_beta)) %*% V_full %*% c(g_sig, g_beta)))
  c(r, list(gradient_sigma_u = g_sig, se_full = se_full))
}

# ---------------------------------------------------------------------------------------------
# Contraception: melogit use age i.urban || district:  (glmer, nAGQ = 7)
# ---------------------------------------------------------------------------------------------

contra_path <- "data/contraception.csv"
if (!file.exists(contra_path)) {
  d <- mlmRev::Contraception
  contra_out <- data.frame(
    woman    = as.integer(as.character(d$woman)),
    district = as.integer(as.character(d$district)),   # labels 1..61 (54 absent)
    use      = as.integer(d$use == "Y"),
    livch    = as.integer(d$livch) - 1L,                # 0, 1, 2, 3 (= "3+")
    age      = d$age,                                   # centred at the sample mean, as in mlmRev
    urban    = as.integer(d$urban == "Y")
  )
  write.csv(contra_out, contra_path, row.names = FALSE, quote = TRUE)
}
cc <- read.csv(contra_path)
stopifnot(all(c("woman", "district", "use", "livch", "age", "urban") %in% names(cc)),
          nrow(cc) == 1934, all(cc$use %in% 0:1), all(cc$urban %in% 0:1))
cc$district <- factor(cc$district)
cc$urban <- factor(cc$urban, levels = c(0, 1))
urban01 <- as.numeric(as.character(cc$urban))

gm <- glmer(use ~ age + urban + (1 | district), data = cc, family = binomial, nAGQ = 7,
            control = gctrl)
g_names_lme4 <- c("age", "urban1", "(Intercept)")
g_names_stata <- c("age", "1.urban", "_cons")
beta <- fixef(gm)[g_names_lme4]
theta <- unname(getME(gm, "theta"))              # = sigma_u for a scalar random intercept
V_beta <- as.matrix(vcov(gm))[g_names_lme4, g_names_lme4]

V_full <- full_vcov(gm, use ~ age + urban + (1 | district), cc)[c("sigma_u", g_names_lme4),
                                                                 c("sigma_u", g_names_lme4)]
vcov_check <- max(abs(V_full[-1, -1] - V_beta)) / max(abs(V_beta))

Xg <- cbind(cc$age, urban01, 1)                  # Stata order: age, 1.urban, _cons
b <- unname(beta)

urban_margins <- function(type) {
  rows <- list()
  ests <- list()
  for (k in 0:1) {
    Xk <- Xg
    Xk[, 2] <- k
    eta <- drop(Xk %*% b)
    if (type == "fixedonly") {
      p <- plogis(eta)
      est <- mean(p)
      g_beta <- colMeans(p * (1 - p) * Xk)
      g_sig <- 0
    } else {
      P <- plogis(outer(eta, theta * gh$z, `+`))      # n x nodes
      est <- mean(P %*% gh$w)
      dP <- P * (1 - P)
      g_beta <- colMeans(drop(dP %*% gh$w) * Xk)
      g_sig <- mean(dP %*% (gh$w * gh$z))              # d/d sigma_u of E invlogit(eta + sigma z)
    }
    ests[[k + 1]] <- list(est = est, g_beta = g_beta, g_sig = g_sig)
  }
  mk <- function(label, est, g_beta, g_sig) glmm_row(label, est, g_sig, g_beta, V_beta, V_full)
  rows <- lapply(0:1, function(k) mk(sprintf("%d.urban", k), ests[[k + 1]]$est,
                                     ests[[k + 1]]$g_beta, ests[[k + 1]]$g_sig))
  dc <- mk("1.urban", ests[[2]]$est - ests[[1]]$est, ests[[2]]$g_beta - ests[[1]]$g_beta,
           ests[[2]]$g_sig - ests[[1]]$g_sig)
  list(urban = rows, dydx_urban = list(dc))
}

fixedonly <- urban_margins("fixedonly")
marginal <- urban_margins("marginal")

# emmeans check of the fixed-portion margins (counterfactual average on the response scale).
e <- summary(emmeans(ref_grid(gm, counterfactuals = "urban"), "urban", type = "response"))
emm_check <- max(abs(vapply(fixedonly$urban, `[[`, 0, "estimate") - e$prob),
                 abs(vapply(fixedonly$urban, `[[`, 0, "se") - e$SE))
stopifnot(emm_check < 1e-8)
# Quadrature check of the marginal mean against integrate() for a few observations.
quad_check <- max(vapply(c(1, 500, 1934), function(i) {
  eta <- sum(Xg[i, ] * b)
  ref <- integrate(function(u) plogis(eta + u) * dnorm(u, 0, theta), -Inf, Inf,
                   rel.tol = 1e-12)$value
  abs(sum(gh$w * plogis(eta + theta * gh$z)) - ref)
}, numeric(1)))
stopifnot(quad_check < 1e-10)
cat(sprintf("melogit: ll = %.6f, vcov check %.2e, emmeans check %.2e, quadrature check %.2e\n",
            as.numeric(logLik(gm)), vcov_check, emm_check, quad_check))

glmm_entry <- list(
  name = "contraception_melogit",
  estimation_cmd = "melogit use age i.urban || district:",
  r_call = "glmer(use ~ age + urban + (1 | district), family = binomial, nAGQ = 7)   # urban a factor 0/1",
  integration = "lme4 adaptive Gauss-Hermite, 7 points (Stata's default is intmethod(mvaghermite) intpoints(7))",
  n = nobs(gm),
  n_groups = nlevels(cc$district),
  ll = as.numeric(logLik(gm)),
  lme4_warnings = I(as.character(gm@optinfo$conv$lme4$messages)),
  fixed = list(names = I(g_names_stata), lme4_names = I(g_names_lme4), estimates = I(b),
               se = I(unname(sqrt(diag(V_beta)))), vcov = unname(V_beta)),
  sigma_u = theta,
  var_u = theta^2,
  vcov_full = list(names = I(c("sigma_u", g_names_stata)), matrix = unname(V_full),
                   source = "2 * solve(numDeriv::hessian(deviance, c(sigma_u, beta)))"),
  vcov_beta_check_max_rel_diff = vcov_check,
  statistic = "z",
  fixedonly = list(
    stata_cmd = "margins urban, predict(mu fixedonly)   and   margins, dydx(urban) predict(mu fixedonly)",
    expression = "mean_i invlogit(x_i b) with urban set to k (random effects at 0)",
    urban = fixedonly$urban, dydx_urban = fixedonly$dydx_urban,
    emmeans_check_max_abs_diff = emm_check),
  marginal = list(
    stata_cmd = "margins urban, predict(mu marginal)   and   margins, dydx(urban) predict(mu marginal)",
    expression = "mean_i integral invlogit(x_i b + u) phi(u; 0, sigma_u^2) du with urban set to k",
    quadrature = "64-node Gauss-Hermite (checked against integrate())",
    quadrature_check_max_abs_diff = quad_check,
    urban = marginal$urban, dydx_urban = marginal$dydx_urban)
)

write_fixture("margins_contraception",
              "margins urban after melogit use age i.urban || district: (glmer nAGQ = 7): fixed-portion and marginal (random effect integrated out) predicted probabilities, delta-method SEs",
              list(file = contra_path, reader = "utils::read.csv", n_rows = nrow(cc),
                   source = "mlmRev::Contraception",
                   written_if_missing_by = "scripts/make_margins_fixtures.R (mlmRev::Contraception recoded)",
                   md5 = unname(tools::md5sum(contra_path)),
                   column_sums = lapply(read.csv(contra_path), sum)),
              list(glmm_entry))

# ---------------------------------------------------------------------------------------------
# HSB: melogit hi i.sector##c.ses || id:  with hi = mathach >= 13 (glmer, nAGQ = 7)
# ---------------------------------------------------------------------------------------------
# The three margins of the issue on the marginal mean (Stata's default after melogit,
# predict(mu marginal): the random intercept integrated out, 64-node Gauss-Hermite).  Each margin is
# a function f(sigma_u, beta) (beta in Stata order); its gradient is numDeriv's (Richardson), its
# se_full sqrt(g' V_full g) over (sigma_u, beta).

hsb$hi <- as.integer(hsb$mathach >= 13)
hi_formula <- hi ~ sector * ses + (1 | id)
gh_fit <- glmer(hi_formula, data = hsb, family = binomial, nAGQ = 7, control = gctrl)
b_hi <- unname(fixef(gh_fit)[lme4_names])
sig_hi <- unname(getME(gh_fit, "theta"))
V_hi <- as.matrix(vcov(gh_fit))[lme4_names, lme4_names]
V_hi_full <- full_vcov(gh_fit, hi_formula, hsb)[c("sigma_u", lme4_names), c("sigma_u", lme4_names)]
hi_vcov_check <- max(abs(V_hi_full[-1, -1] - V_hi)) / max(abs(V_hi))

# mean over the rows `sub` of E invlogit(x b + sigma z) (level = FALSE) or of its derivative with
# respect to ses, (b_ses + b_int sector) E p(1 - p) (level = TRUE is the mean itself).
marginal_mean <- function(par, sec, s, sub = rep(TRUE, n_hsb), slope = FALSE) {
  sigma <- par[1]
  beta <- par[-1]
  eta <- drop(design(sec, s) %*% beta)[sub]
  P <- plogis(outer(eta, sigma * gh$z, `+`))
  if (!slope) return(mean(P %*% gh$w))
  mean(drop((P * (1 - P)) %*% gh$w) * (beta[2] + beta[3] * sec[sub]))
}
par_hi <- c(sig_hi, b_hi)
hi_row <- function(label, f) {
  g <- numDeriv::grad(f, par_hi)
  glmm_row(label, f(par_hi), g[1], g[-1], V_hi, V_hi_full)
}
hi_margins <- list(
  sector = list(stata_cmd = "margins sector", rows = lapply(0:1, function(k)
    hi_row(sprintf("%d.sector", k), function(p) marginal_mean(p, rep(k, n_hsb), ses)))),
  dydx_ses_over_sector = list(stata_cmd = "margins, dydx(ses) over(sector)", rows = lapply(0:1,
    function(k) hi_row(sprintf("%d.sector", k), function(p)
      marginal_mean(p, sector01, ses, sector01 == k, slope = TRUE)))),
  sector_at_ses = list(stata_cmd = "margins sector, at(ses=(-1 0 1))", rows = {
    rows <- list()
    for (a in seq_along(c(-1, 0, 1))) for (k in 0:1) {
      rows[[length(rows) + 1]] <- hi_row(sprintf("%d._at#%d.sector", a, k), function(p)
        marginal_mean(p, rep(k, n_hsb), rep(c(-1, 0, 1)[a], n_hsb)))
    }
    rows
  })
)
# The slope by central differences of the mean in ses, as a check of the closed form.
slope_check <- max(vapply(0:1, function(k) {
  h <- 1e-5
  sub <- sector01 == k
  fd <- (marginal_mean(par_hi, sector01, ses + h, sub) -
         marginal_mean(par_hi, sector01, ses - h, sub)) / (2 * h)
  abs(fd - marginal_mean(par_hi, sector01, ses, sub, slope = TRUE))
}, numeric(1)))
stopifnot(slope_check < 1e-8, hi_vcov_check < 1e-4)
cat(sprintf("melogit hsb: ll = %.6f, vcov check %.2e, slope check %.2e\n",
            as.numeric(logLik(gh_fit)), hi_vcov_check, slope_check))

write_fixture("margins_hsb_melogit",
              "margins sector, margins, dydx(ses) over(sector) and margins sector, at(ses=(-1 0 1)) after melogit hi i.sector##c.ses || id: (hi = mathach >= 13; glmer nAGQ = 7): marginal predicted means (random intercept integrated out), delta-method SEs over (sigma_u, beta)",
              hsb_info,
              list(list(
                name = "hsb_melogit",
                estimation_cmd = "melogit hi i.sector##c.ses || id:",
                generate = "gen byte hi = mathach >= 13",
                r_call = "glmer(hi ~ sector * ses + (1 | id), family = binomial, nAGQ = 7)",
                n = nobs(gh_fit), ll = as.numeric(logLik(gh_fit)),
                lme4_warnings = I(as.character(gh_fit@optinfo$conv$lme4$messages)),
                fixed = fixed_block(b_hi, V_hi), sigma_u = sig_hi, var_u = sig_hi^2,
                vcov_full = list(names = I(c("sigma_u", stata_names)), matrix = unname(V_hi_full)),
                vcov_beta_check_max_rel_diff = hi_vcov_check, slope_check_max_abs_diff = slope_check,
                statistic = "z",
                margins = lapply(hi_margins, function(m) list(stata_cmd = m$stata_cmd,
                                                              margins = m$rows)))))
