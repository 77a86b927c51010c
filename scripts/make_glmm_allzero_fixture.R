# tests/fixtures/glmm_hsb_allzero.json: a random-intercept logit on HSB with one school whose
# outcomes are all 0 and one whose outcomes are all 1 (hi = mathach >= 13; school 1224 set to 0,
# school 1288 to 1), fitted by glmer with 7-point mode-centred adaptive quadrature (nAGQ = 7, what
# intmethod(mcaghermite) computes) and by Laplace.  Run from the repository root:
#   Rscript scripts/make_glmm_allzero_fixture.R
suppressMessages({library(lme4); library(jsonlite)})
d <- read.csv("tests/fixtures/hsb.csv")
d$hi <- as.integer(d$mathach >= 13)
d$hi[d$id == 1224] <- 0L
d$hi[d$id == 1288] <- 1L
d$id <- factor(d$id)
ctl <- glmerControl(optimizer = "bobyqa", optCtrl = list(maxfun = 1e5),
                    tolPwrss = 1e-10, check.conv.grad = .makeCC("warning", tol = 1e-6))
fit <- function(nagq) {
  m <- glmer(hi ~ ses + (1 | id), data = d, family = binomial, nAGQ = nagq, control = ctl)
  re <- ranef(m, condVar = FALSE)$id
  list(ll = as.numeric(logLik(m)), beta = unname(fixef(m)), se = unname(sqrt(diag(vcov(m)))),
       var_cons = unname(VarCorr(m)$id[1, 1]),
       mode_1224 = re["1224", 1], mode_1288 = re["1288", 1])
}
out <- list(description = paste("HSB, hi = mathach >= 13, school 1224 all 0, school 1288 all 1;",
                                "glmer(hi ~ ses + (1 | id), binomial)"),
            versions = list(R = R.version.string, lme4 = as.character(packageVersion("lme4"))),
            aghq7 = fit(7), laplace = fit(1))
writeLines(toJSON(out, auto_unbox = TRUE, digits = NA, pretty = TRUE),
           "tests/fixtures/glmm_hsb_allzero.json")
