# R's regression-quantile process, rq(tau = -1), for tests/test_process.py and
# benchmarks/bench_process.py. Needs R with quantreg (Debian: r-cran-quantreg);
# the test suite itself never needs R. Run from the repository root:
#
#   Rscript benchmarks/r_process.R reference
#       reads tests/data/process_data.csv (generated in NumPy, 6 digits; see
#       tests/test_process.py) and writes tests/data/process_r.csv: one row per
#       column of rq(...)$sol (tau, objective, coefficients) for each case:
#         plain:     rq(y ~ x1 + x2, tau = -1, data = d)
#         weighted:  rq(y ~ x1 + x2, tau = -1, data = d, weights = w)
#         nointer:   rq(y ~ x1 + x2 - 1, tau = -1, data = d)
#         ties:      rq(round(y, 1) ~ x1 + x2, tau = -1, data = d)
#
#   Rscript benchmarks/r_process.R bench [data.csv]
#       times rq(y ~ ., tau = -1) at n = 1e4 (p = 3 with the intercept) on
#       data.csv (columns x1, x2, ..., y: bench_process.py writes it; 19
#       covariates for its p = 20 case) or, without it,
#       on y = 1 + x1 + 2 x2 + N(0, 1) noise; prints the elapsed times of 3 runs
#       and the number of breakpoints.
suppressMessages(library(quantreg))
args <- commandArgs(trailingOnly = TRUE)
mode <- if (length(args)) args[1] else "reference"

if (mode == "reference") {
  d <- read.csv("tests/data/process_data.csv")
  d$yt <- round(d$y, 1)
  fits <- list(
    plain = rq(y ~ x1 + x2, tau = -1, data = d),
    weighted = rq(y ~ x1 + x2, tau = -1, data = d, weights = w),
    nointer = rq(y ~ x1 + x2 - 1, tau = -1, data = d),
    ties = rq(yt ~ x1 + x2, tau = -1, data = d)
  )
  rows <- c()
  for (name in names(fits)) {
    sol <- fits[[name]]$sol
    coef <- sol[4:nrow(sol), , drop = FALSE]
    if (nrow(coef) == 2) coef <- rbind(0, coef)  # no intercept: a column of zeros
    for (j in seq_len(ncol(sol))) {
      rows <- c(rows, paste(name, sprintf("%.15g", sol[1, j]), sprintf("%.15g", sol[3, j]),
                            paste(sprintf("%.15g", coef[, j]), collapse = ","), sep = ","))
    }
  }
  writeLines(c("case,tau,objective,b0,b1,b2", rows), "tests/data/process_r.csv")
  cat("wrote tests/data/process_r.csv:", length(rows), "rows\n")
} else if (mode == "bench") {
  if (length(args) >= 2) {
    d <- read.csv(args[2])
  } else {
    set.seed(1)
    n <- 10000
    d <- data.frame(x1 = rnorm(n), x2 = rnorm(n))
    d$y <- 1 + d$x1 + 2 * d$x2 + rnorm(n)
  }
  for (r in 1:3) {
    t <- system.time(f <- rq(y ~ ., tau = -1, data = d))
    cat(sprintf("run %d: n = %d, %d breakpoints, elapsed %.2f s (user %.2f, system %.2f)\n",
                r, nrow(d), ncol(f$sol), t[["elapsed"]], t[["user.self"]], t[["sys.self"]]))
  }
} else {
  stop("usage: Rscript benchmarks/r_process.R [reference | bench [data.csv]]")
}
