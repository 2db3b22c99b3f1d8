# R reference for the Peng-Huang estimator (tests/test_peng_huang.py) and its timing.
#
# Run from the repository root:  Rscript benchmarks/r_censoring.R
# 1. Writes tests/data/censoring_ph_crq.csv: crq(Surv(y, d) ~ x, method = "PengHuang")
#    on tests/data/censoring_ph.csv (all grid columns: tau, intercept, slope).
# 2. Times crq PengHuang and Portnoy at n = 2000 on the design of issue 13
#    (x ~ U(0, 2), T = 1 + 2x + N(0, 1), C = 4.5 - 1.5x + N(0, 1)).
# Needs R with quantreg and survival; the test suite itself never needs R.
suppressMessages({library(quantreg); library(survival)})
options(digits = 15)

ph <- read.csv("tests/data/censoring_ph.csv", comment.char = "#")
fit <- crq(Surv(y, d) ~ x, data = ph, method = "PengHuang")
sol <- t(fit$sol[1:3, ])
out <- "tests/data/censoring_ph_crq.csv"
writeLines(c(
  sprintf("# R %s, quantreg %s: t(crq(Surv(y, d) ~ x, data = read.csv(\"tests/data/censoring_ph.csv\", comment.char = \"#\"), method = \"PengHuang\")$sol[1:3, ])",
          paste(R.version$major, R.version$minor, sep = "."), packageVersion("quantreg")),
  "tau,intercept,slope",
  sprintf("%.15g,%.15g,%.15g", sol[, 1], sol[, 2], sol[, 3])), out)
cat("wrote", out, "with", nrow(sol), "grid columns\n")

set.seed(1)
n <- 2000
x <- runif(n, 0, 2)
t <- 1 + 2 * x + rnorm(n)
cc <- 4.5 - 1.5 * x + rnorm(n)
dat <- data.frame(x = x, y = pmin(t, cc), d = as.integer(t <= cc))
for (m in c("PengHuang", "Portnoy")) {
  times <- sapply(1:5, function(i) system.time(crq(Surv(y, d) ~ x, data = dat, method = m))[["elapsed"]])
  cat(sprintf("crq method=%s n=%d: median %.3f s over 5 runs (min %.3f)\n", m, n, median(times), min(times)))
}
