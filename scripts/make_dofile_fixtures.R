# Oracle numbers for the do-file tests (tests/test_dofile_fixtures.py): the Baum slides' London exam
# workflow (tests/fixtures/baum_exam.do) fitted in R on the file the product ships, data/exam.csv.
#
# Run from the repository root:  Rscript scripts/make_dofile_fixtures.R
# Needs (Debian): r-cran-lme4 r-cran-jsonlite.  The tests never need R.

suppressPackageStartupMessages({
  library(lme4)
  library(jsonlite)
})

exam <- read.csv("data/exam.csv")
names(exam) <- tolower(names(exam))        # import delimited lower-cases the names
# encode schgend orders the labels alphabetically: boys = 1 (the base of i.), girls = 2, mixed = 3
exam$sgender <- factor(exam$schgend, levels = sort(unique(exam$schgend)))

# statsby alpha=_b[_cons] beta=_b[standlrt], by(school): regress normexam standlrt
ols <- t(sapply(split(exam, exam$school),
                function(d) coef(lm(normexam ~ standlrt, data = d))))
alpha <- unname(ols[, 1])
beta <- unname(ols[, 2])

ctrl <- lmerControl(optimizer = "bobyqa", optCtrl = list(maxfun = 1e5, rhoend = 1e-10))
fixed <- function(m) {
  b <- fixef(m)
  se <- sqrt(diag(as.matrix(vcov(m))))
  k <- c(2:length(b), 1)                      # Stata's order: _cons last
  list(estimates = unname(b[k]), se = unname(se[k]))
}
# xtmixed normexam standlrt i.sgender || school: standlrt, cov(un) mle
m1 <- lmer(normexam ~ standlrt + sgender + (standlrt | school), data = exam, REML = FALSE,
           control = ctrl)
vc1 <- as.data.frame(VarCorr(m1))
# version 11: xtmixed normexam standlrt || school:   (REML, Stata 11's default)
m2 <- lmer(normexam ~ standlrt + (1 | school), data = exam, REML = TRUE, control = ctrl)
vc2 <- as.data.frame(VarCorr(m2))

out <- list(
  fixture = "dofile_exam",
  description = "Baum exam workflow: per-school OLS, ML random slope with i.sgender, REML null",
  generator = "scripts/make_dofile_fixtures.R",
  r_version = R.version.string,
  lme4_version = as.character(packageVersion("lme4")),
  statsby = list(n = length(alpha), alpha_mean = mean(alpha), alpha_sd = sd(alpha),
                 beta_mean = mean(beta), beta_sd = sd(beta),
                 alpha_min = min(alpha), alpha_max = max(alpha),
                 beta_min = min(beta), beta_max = max(beta),
                 cov = unname(cov(cbind(alpha, beta)))),
  rslope_sgender_ml = c(list(ll = as.numeric(logLik(m1)),
                             names = c("standlrt", "2.sgender", "3.sgender", "_cons")),
                        fixed(m1),
                        list(sd_standlrt = vc1$sdcor[2], sd_cons = vc1$sdcor[1],
                             corr = vc1$sdcor[3], sd_residual = vc1$sdcor[4])),
  null_reml = c(list(ll = as.numeric(logLik(m2)), names = c("standlrt", "_cons")), fixed(m2),
                list(sd_cons = vc2$sdcor[1], sd_residual = vc2$sdcor[2]))
)
write_json(out, "tests/fixtures/dofile_exam.json", digits = NA, auto_unbox = TRUE, pretty = TRUE)
