# R's rank-inversion intervals on the simulated cases of tests/test_rank_vs_r.py.
#
# Run by benchmarks/rank_vs_r.py (which writes the data):
#   Rscript benchmarks/r_rank_compare.R DIR
# DIR holds cases.csv (columns name, tau, intercept, weighted) and one NAME.csv per
# case (columns y, x1, ..., [w]). For each case and alpha in (0.05, 0.1) prints
#   case NAME ALPHA ROW coefficient lower upper sumy
# from coef(summary(fit, se = "rank", alpha = alpha)) (rq.fit.br with ci = TRUE and
# its defaults iid = TRUE, interp = TRUE, tcrit = TRUE). It also checks that
# summary(fit, se = "rank") without alpha equals the alpha = 0.1 call: R's default
# level is 90% (rq.fit.br's alpha = 0.1; summary.rq only passes `...` on).
suppressMessages(library(quantreg))
options(warn = 1)
dir <- commandArgs(trailingOnly = TRUE)[1]
cases <- read.csv(file.path(dir, "cases.csv"), stringsAsFactors = FALSE)
for (i in seq_len(nrow(cases))) {
  name <- cases$name[i]
  tau <- cases$tau[i]
  d <- read.csv(file.path(dir, paste0(name, ".csv")))
  f <- if (cases$intercept[i] == 1) y ~ . else y ~ . - 1
  fit <- if (cases$weighted[i] == 1) {
    w <- d$w
    d$w <- NULL
    rq(f, tau = tau, data = d, weights = w)
  } else {
    rq(f, tau = tau, data = d)
  }
  default <- coef(summary(fit, se = "rank"))
  for (alpha in c(0.05, 0.1)) {
    tab <- coef(summary(fit, se = "rank", alpha = alpha))
    if (alpha == 0.1 && !identical(tab, default))
      stop("summary(fit, se = 'rank') differs from alpha = 0.1 in ", name)
    for (j in seq_len(nrow(tab)))
      cat("case", name, alpha, j, sprintf("%.17g", tab[j, 1:3]), sprintf("%.17g", sum(d$y)),
          "\n")
  }
}
