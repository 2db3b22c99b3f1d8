# R's rqss (total-variation penalised quantile smoothing spline) on the data of
# benchmarks/rqss_compare.py and tests/test_censored_spline.py.
#
# Run by benchmarks/rqss_compare.py (which writes the data):
#   Rscript benchmarks/r_rqss.R DIR
# DIR holds cases.csv (columns name, tau, lambda, repeats; lambda NA: chosen by
# Schwarz's criterion AIC(fit, k = -1) over LAMBDAS), grid.csv (column w) and one
# NAME.csv per case (columns w, z, y, weight: the rows with positive weight). For
# each case it fits
#   f <- rqss(y ~ z + qss(w, lambda = L), tau = tau, data = d, weights = weight)
# and prints
#   fit NAME L SELECT_SECONDS FIT_SECONDS THETA
#   g NAME J VALUE        (predict(f, data.frame(z = 0, w = grid$w)): intercept + g)
# FIT_SECONDS is the best of `repeats` fits at the chosen L (user + system CPU time);
# SELECT_SECONDS the CPU time of the whole search over LAMBDAS (0 when L is given).
suppressMessages(library(quantreg))
options(warn = 1)
LAMBDAS <- exp(seq(log(0.02), log(20), length.out = 16))
dir <- commandArgs(trailingOnly = TRUE)[1]
cases <- read.csv(file.path(dir, "cases.csv"), stringsAsFactors = FALSE)
grid <- read.csv(file.path(dir, "grid.csv"))
cpu <- function(expr) {
  t <- system.time(expr)
  unname(t[["user.self"]] + t[["sys.self"]])
}
fit_at <- function(d, tau, lambda) {
  rqss(y ~ z + qss(w, lambda = lambda), tau = tau, data = d, weights = weight)
}
for (i in seq_len(nrow(cases))) {
  name <- cases$name[i]
  tau <- cases$tau[i]
  d <- read.csv(file.path(dir, paste0(name, ".csv")))
  lambda <- cases$lambda[i]
  select <- 0
  if (is.na(lambda)) {
    sic <- numeric(length(LAMBDAS))
    select <- cpu(for (j in seq_along(LAMBDAS))
      sic[j] <- AIC(fit_at(d, tau, LAMBDAS[j]), k = -1))
    lambda <- LAMBDAS[which.min(sic)]
  }
  best <- Inf
  for (r in seq_len(cases$repeats[i])) best <- min(best, cpu(f <- fit_at(d, tau, lambda)))
  theta <- unname(coef(f)[2])  # the parametric part comes first: (Intercept), z
  cat("fit", name, sprintf("%.17g", lambda), select, best, sprintf("%.17g", theta), "\n")
  # (predict.rqss warns "non-list contrasts argument ignored" from sparse.model.matrix)
  g <- suppressWarnings(predict(f, newdata = data.frame(z = 0, w = grid$w)))
  for (j in seq_along(g)) cat("g", name, j, sprintf("%.17g", g[j]), "\n")
}
