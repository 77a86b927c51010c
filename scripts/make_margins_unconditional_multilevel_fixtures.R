# Oracle fixture for `margins ..., vce(unconditional)` after ML `mixed` and `melogit`
# (tests/test_margins_unconditional_multilevel.py).
#
# Run from the repository root:  Rscript scripts/make_margins_unconditional_multilevel_fixtures.R
# Needs (Debian): r-cran-lme4 r-cran-numderiv r-cran-haven r-cran-jsonlite.  The tests never need R.
#
# Stata's linearization (_marg_work.class, _linearize) after a multilevel model: `predict,
# scores` gives one score per highest-level group ([ME] mixed postestimation: "One score per
# highest-level group is calculated"; the me commands through gsem_p), margins clusters the
# linearized variables at that level (mixed's vce(robust) sets e(clustvar) to it) and _robust's
# scale with minus(1) and M clusters is M / (M - 1).  For margin k over the rows S_k, cluster c's
# linearized value is
#     Psi_ck = sum_{i in c, i in S_k} (p_ik - m_k) / |S_k| + g_k' D s_c,
# D the model-based variance of the estimates (OIM), s_c the cluster's score, and
# V = M / (M - 1) sum_c Psi_c Psi_c'.
#
# Everything is computed here independently of hlmshell and of lme4's internals: each cluster's
# marginal log likelihood in closed form (random-intercept LMM: V_c = s_e^2 I + s_u^2 11') or by
# 7-point mode-curvature adaptive Gauss-Hermite quadrature (glmer's nAGQ = 7, Stata's
# intmethod(mcaghermite)), maximised here (from lmer / glmer's estimates), scores by numDeriv's
# jacobian of the vector of cluster contributions, D by numDeriv's Hessian (for mixed the
# block-diagonal e(V) Stata posts: (X'V^-1 X)^-1 for beta, and the Hessian of the log likelihood
# in (lns1_1_1, lnsig_e) with beta profiled).  Parameters are in Stata's metric: beta, then ln
# s_u (and ln s_e); the unconditional variance does not depend on the metric of the variance
# parameters (D s and g' transform inversely), so melogit's e(b) in var(_cons[id]) gives the same.

suppressPackageStartupMessages({
  library(lme4)
  library(numDeriv)
  library(haven)
  library(jsonlite)
})

hsb <- as.data.frame(read_dta("data/hsb.dta"))
sector <- as.numeric(hsb$sector)
ses <- as.numeric(hsb$ses)
y <- as.numeric(hsb$mathach)
hi <- as.numeric(y >= 13)
gi <- as.integer(factor(hsb$id))
G <- max(gi)
N <- length(y)
ng <- as.numeric(table(gi))
# Stata's e(b) order of the estimable columns: 1.sector ses 1.sector#c.ses _cons
X <- cbind(sector, ses, sector * ses, 1)
design_at <- function(s) cbind(s, ses, s * ses, 1)

# Psi and the unconditional SEs; P: N x K predictions, Gr: K x length(phi) gradients
unconditional <- function(P, Gr, D, S) {
  m <- colMeans(P)
  dev <- sweep(P, 2, m) / N
  Psi <- rowsum(dev, gi) + S %*% D %*% t(Gr)
  V <- G / (G - 1) * crossprod(Psi)
  list(estimate = unname(m), se = unname(sqrt(diag(V))))
}

# The fixture's two margins of one model, with the delta method's SEs beside them
margin_specs <- function(P_sector, G_sector, P_dydx, G_dydx, D, S) {
  delta <- function(Gr) sqrt(diag(Gr %*% D %*% t(Gr)))
  list(
    sector = c(list(stata_cmd = "margins sector, vce(unconditional)", labels = c("0", "1")),
               unconditional(P_sector, G_sector, D, S), list(se_delta = delta(G_sector))),
    dydx = c(list(stata_cmd = "margins, dydx(ses) vce(unconditional)", labels = "ses"),
             unconditional(P_dydx, G_dydx, D, S), list(se_delta = delta(G_dydx))))
}

# ---------------------------------------------------------------------------------------------
# mixed mathach i.sector##c.ses || id:   (ML)
# ---------------------------------------------------------------------------------------------
lmm_cluster_ll <- function(phi) {
  beta <- phi[1:4]; su2 <- exp(2 * phi[5]); se2 <- exp(2 * phi[6])
  r <- y - drop(X %*% beta)
  c <- su2 / (se2 + ng * su2)
  rr <- drop(rowsum(r * r, gi)); rs <- drop(rowsum(r, gi))
  -0.5 * (ng * log(2 * pi) + (ng - 1) * log(se2) + log(se2 + ng * su2) + (rr - c * rs^2) / se2)
}
gls_beta <- function(gam) {
  su2 <- exp(2 * gam[1]); se2 <- exp(2 * gam[2])
  c <- su2 / (se2 + ng * su2)
  Xs <- rowsum(X, gi); ys <- drop(rowsum(y, gi))
  XtVX <- (crossprod(X) - crossprod(Xs * sqrt(c))) / se2
  XtVy <- (crossprod(X, y) - crossprod(Xs, c * ys)) / se2
  list(beta = drop(solve(XtVX, XtVy)), XtVX = XtVX)
}
profiled <- function(gam) sum(lmm_cluster_ll(c(gls_beta(gam)$beta, gam)))

lm_fit <- lmer(y ~ sector * ses + (1 | gi), REML = FALSE,
               control = lmerControl(optimizer = "bobyqa"))
vc <- as.data.frame(VarCorr(lm_fit))
gam0 <- log(vc$sdcor)
opt <- optim(gam0, function(g) -profiled(g), method = "BFGS",
             control = list(reltol = 1e-15, maxit = 1000))
gam <- opt$par
fixed <- gls_beta(gam)
phi_l <- c(fixed$beta, gam)
D_l <- matrix(0, 6, 6)
D_l[1:4, 1:4] <- solve(fixed$XtVX)
D_l[5:6, 5:6] <- solve(-hessian(profiled, gam))
S_l <- jacobian(lmm_cluster_ll, phi_l)
b <- phi_l[1:4]
P_sector <- cbind(design_at(0) %*% b, design_at(1) %*% b)
G_sector <- rbind(c(colMeans(design_at(0)), 0, 0), c(colMeans(design_at(1)), 0, 0))
P_dydx <- matrix(b[2] + b[3] * sector, ncol = 1)
G_dydx <- matrix(c(0, 1, mean(sector), 0, 0, 0), nrow = 1)
mixed <- list(
  name = "hsb_mixed_ml", estimation_cmd = "mixed mathach i.sector##c.ses || id:",
  r_call = "lmer(mathach ~ sector * ses + (1 | id), REML = FALSE), polished by optim",
  ll = sum(lmm_cluster_ll(phi_l)), lme4_ll = as.numeric(logLik(lm_fit)),
  phi = phi_l, phi_names = c("1.sector", "ses", "1.sector#c.ses", "_cons", "lns1_1_1", "lnsig_e"),
  n_clusters = G, score_sum_max_abs = max(abs(colSums(S_l))),
  margins = margin_specs(P_sector, G_sector, P_dydx, G_dydx, D_l, S_l))

# ---------------------------------------------------------------------------------------------
# melogit hi i.sector##c.ses || id:, intmethod(mcaghermite)   (7 points)
# ---------------------------------------------------------------------------------------------
hermite <- function(n) {          # physicists' Gauss-Hermite by Golub-Welsch
  J <- matrix(0, n, n)
  off <- sqrt(seq_len(n - 1) / 2)
  J[cbind(1:(n - 1), 2:n)] <- off
  J[cbind(2:n, 1:(n - 1))] <- off
  e <- eigen(J, symmetric = TRUE)
  list(x = e$values, w = sqrt(pi) * e$vectors[1, ]^2)
}
gh7 <- hermite(7)
gh64 <- hermite(64)

agq_cluster_ll <- function(phi) {
  beta <- phi[1:4]; s <- exp(phi[5])
  eta0 <- drop(X %*% beta)
  b <- rep(0, G)
  for (it in 1:100) {
    mu <- plogis(eta0 + b[gi])
    g1 <- drop(rowsum(hi - mu, gi)) - b / s^2
    h2 <- drop(rowsum(mu * (1 - mu), gi)) + 1 / s^2
    step <- g1 / h2
    b <- b + step
    if (max(abs(step)) < 1e-13) break
  }
  mu <- plogis(eta0 + b[gi])
  H <- drop(rowsum(mu * (1 - mu), gi)) + 1 / s^2
  sc <- sqrt(2 / H)
  vals <- sapply(seq_along(gh7$x), function(k) {
    bk <- b + sc * gh7$x[k]
    drop(rowsum(dbinom(hi, 1, plogis(eta0 + bk[gi]), log = TRUE), gi)) +
      dnorm(bk, 0, s, log = TRUE) + gh7$x[k]^2 + log(gh7$w[k])
  })
  top <- apply(vals, 1, max)
  log(sc) + top + log(rowSums(exp(vals - top)))
}

gm <- glmer(hi ~ sector * ses + (1 | gi), family = binomial, nAGQ = 7,
            control = glmerControl(optimizer = "bobyqa"))
phi0 <- c(unname(fixef(gm))[c(2, 3, 4, 1)], log(as.data.frame(VarCorr(gm))$sdcor))
agq_ll <- function(phi) sum(agq_cluster_ll(phi))
opt <- optim(phi0, function(p) -agq_ll(p), function(p) -grad(agq_ll, p), method = "BFGS",
             control = list(reltol = 1e-15, maxit = 1000))
phi_g <- opt$par
D_g <- solve(-hessian(agq_ll, phi_g))
S_g <- jacobian(agq_cluster_ll, phi_g)

# the marginal mean E[expit(xb + s_u z)] and its derivative in xb, by 64-point Gauss-Hermite
marginal <- function(xb, s, deriv = FALSE) {
  z <- sqrt(2) * s * gh64$x
  w <- gh64$w / sqrt(pi)
  f <- if (deriv) function(e) dlogis(e) else plogis
  drop(f(outer(xb, z, `+`)) %*% w)
}
mean_at <- function(phi, s0) marginal(drop(design_at(s0) %*% phi[1:4]), exp(phi[5]))
dydx_i <- function(phi) {
  xb <- drop(X %*% phi[1:4])
  marginal(xb, exp(phi[5]), deriv = TRUE) * (phi[2] + phi[3] * sector)
}
P_sector_g <- cbind(mean_at(phi_g, 0), mean_at(phi_g, 1))
G_sector_g <- rbind(grad(function(p) mean(mean_at(p, 0)), phi_g),
                    grad(function(p) mean(mean_at(p, 1)), phi_g))
P_dydx_g <- matrix(dydx_i(phi_g), ncol = 1)
G_dydx_g <- matrix(grad(function(p) mean(dydx_i(p)), phi_g), nrow = 1)
melogit <- list(
  name = "hsb_melogit_mcaghermite",
  estimation_cmd = "melogit hi i.sector##c.ses || id:, intmethod(mcaghermite)",
  generate = "gen byte hi = mathach >= 13",
  r_call = "glmer(hi ~ sector * ses + (1 | id), family = binomial, nAGQ = 7), polished by optim on the 7-point AGQ above",
  ll = agq_ll(phi_g), lme4_ll = as.numeric(logLik(gm)),
  phi = phi_g, phi_names = c("1.sector", "ses", "1.sector#c.ses", "_cons", "lns1_1_1"),
  n_clusters = G, score_sum_max_abs = max(abs(colSums(S_g))),
  margins = margin_specs(P_sector_g, G_sector_g, P_dydx_g, G_dydx_g, D_g, S_g))

fixture <- list(
  fixture = "margins_unconditional_hsb",
  description = paste("margins sector and margins, dydx(ses) with vce(unconditional) after ML",
                      "mixed and melogit (mcaghermite, 7 points) of i.sector##c.ses || id: on",
                      "HSB: Stata's linearization clustered at id, scale M/(M-1)"),
  generator = "scripts/make_margins_unconditional_multilevel_fixtures.R",
  r_version = R.version.string,
  lme4_version = as.character(packageVersion("lme4")),
  numDeriv_version = as.character(packageVersion("numDeriv")),
  data = list(file = "data/hsb.dta", n = N),
  models = list(mixed, melogit))
writeLines(toJSON(fixture, auto_unbox = TRUE, digits = NA, pretty = TRUE),
           "tests/fixtures/margins_unconditional_hsb.json")
cat(sprintf("mixed: ll %.8f (lme4 %.8f), SEs %s\n", mixed$ll, mixed$lme4_ll,
            paste(signif(c(mixed$margins$sector$se, mixed$margins$dydx$se), 8), collapse = " ")))
cat(sprintf("melogit: ll %.8f (lme4 %.8f), SEs %s\n", melogit$ll, melogit$lme4_ll,
            paste(signif(c(melogit$margins$sector$se, melogit$margins$dydx$se), 8), collapse = " ")))
