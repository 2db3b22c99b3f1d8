# Reference numbers for tests/test_inference.py from R's quantreg (summary.rq).
#
# Run from the repository root:  Rscript benchmarks/r_inference.R
# Prints Python literals that are pasted into tests/test_inference.py (R_SUMMARY,
# R_AKJ, R_BOOT, R_RANK, R_RANK_TEST). Needs R with the quantreg package
# (Debian: r-cran-quantreg); the test suite itself never needs R.
#
# Timing mode (benchmarks/bench_inference.py runs it; skipped there without R):
#   Rscript benchmarks/r_inference.R bench DATA.csv SE [METHOD]
#       DATA.csv has columns x1, ..., y; fits rq(y ~ ., tau = 0.5, method = METHOD)
#       (default "br"; "fn" at n = 1e6) once, then times summary(fit, se = SE)
#       3 times and prints the CPU (user + system) and elapsed seconds of each
#       run and the coefficient table of the last one. For SE = rank it passes
#       alpha = 0.05 (statoptim's default; R's default is alpha = 0.1).
# The rank-interval comparison on simulated designs: benchmarks/rank_vs_r.py
# (with benchmarks/r_rank_compare.R).
suppressMessages(library(quantreg))
options(warn = 1)

args <- commandArgs(trailingOnly = TRUE)
if (length(args) && args[1] == "bench") {
  d <- read.csv(args[2])
  se <- args[3]
  method <- if (length(args) >= 4) args[4] else "br"
  fit <- rq(y ~ ., tau = 0.5, data = d, method = method)
  for (r in 1:3) {
    # se = "rank": alpha = 0.05 as statoptim's default; R's own default is
    # rq.fit.br's alpha = 0.1 (90% intervals), which summary.rq does not override
    t <- system.time(s <- if (se == "rank") summary(fit, se = se, alpha = 0.05)
                          else summary(fit, se = se))
    cat(sprintf("run %d: se = %s, n = %d, p = %d, cpu %.4f s, elapsed %.4f s\n", r, se,
                nrow(d), ncol(d), t[["user.self"]] + t[["sys.self"]], t[["elapsed"]]))
  }
  tab <- coef(s)
  for (j in seq_len(nrow(tab)))
    cat("coef", j, sprintf("%.12g", tab[j, ]), "\n")
  quit(save = "no")
}

hetero <- read.csv("tests/data/inference_hetero.csv")
weighted <- read.csv("tests/data/inference_weighted.csv")

num <- function(v) paste0("[", paste(sprintf("%.12g", v), collapse = ", "), "]")
bw_name <- function(hs) if (hs) "hall-sheather" else "bofinger"
py_bool <- function(b) if (b) "True" else "False"
# one entry of a printed Python dict: key (the inside of a tuple) -> {name: vector}
py_entry <- function(key, fields) {
  cat(sprintf("    (%s): {\n", key))
  for (field in names(fields))
    cat(sprintf("        \"%s\": %s,\n", field, num(fields[[field]])))
  cat("    },\n")
}

fit_case <- function(name, tau, intercept) {
  if (name == "hetero") {
    f <- if (intercept) y ~ x1 + x2 else y ~ x1 + x2 - 1
    rq(f, tau = tau, data = hetero)
  } else {
    f <- if (intercept) y ~ x1 + x2 + x3 else y ~ x1 + x2 + x3 - 1
    rq(f, tau = tau, data = weighted, weights = w)
  }
}

cat("R_SUMMARY = {\n")
cases <- list(
  list("hetero", 0.5, TRUE), list("hetero", 0.25, TRUE), list("hetero", 0.9, TRUE),
  list("hetero", 0.5, FALSE), list("weighted", 0.5, TRUE), list("weighted", 0.3, TRUE),
  list("weighted", 0.75, TRUE), list("weighted", 0.75, FALSE)
)
for (cs in cases) {
  name <- cs[[1]]; tau <- cs[[2]]; intercept <- cs[[3]]
  fit <- fit_case(name, tau, intercept)
  for (se in c("iid", "nid", "ker")) {
    for (hs in c(TRUE, FALSE)) {
      # the exact call behind each entry:
      s <- summary(fit, se = se, hs = hs)
      tab <- coef(s)
      py_entry(sprintf("\"%s\", %s, \"%s\", \"%s\", %s", name, tau, se, bw_name(hs),
                       py_bool(intercept)),
               list(coef = tab[, 1], bse = tab[, 2], tvalues = tab[, 3], pvalues = tab[, 4]))
    }
  }
}
cat("}\n\n")

# akj(r, z = 0)$dens: the density at zero used by the wild bootstrap, on the
# median-regression residuals of each data set (weighted: residuals times w)
cat("R_AKJ = {\n")
r1 <- resid(rq(y ~ x1 + x2, tau = 0.5, data = hetero))
r2 <- resid(rq(y ~ x1 + x2 + x3, tau = 0.75, data = weighted, weights = w)) * weighted$w
cat(sprintf("    \"hetero\": %.12g,\n", akj(sort(r1), z = 0)$dens))
cat(sprintf("    \"weighted\": %.12g,\n", akj(sort(r2), z = 0)$dens))
cat("}\n\n")

# Bootstrap standard errors with many replicates (their own Monte Carlo
# error is about 1 / sqrt(2 R) = 0.5% relative)
cat("R_BOOT = {\n")
set.seed(20240613)
nrep <- 20000
for (cs in list(list("hetero", 0.5), list("weighted", 0.75))) {
  fit <- fit_case(cs[[1]], cs[[2]], TRUE)
  for (bs in c("xy", "wild")) {
    s <- summary(fit, se = "boot", bsmethod = bs, R = nrep)
    cat(sprintf("    (\"%s\", %s, \"%s\"): %s,\n", cs[[1]], cs[[2]], bs, num(coef(s)[, 2])))
  }
}
cat("}\n")

# Rank-inversion intervals: coef(summary(fit, se = "rank", alpha = alpha))[, 2:3]
# (rq.fit.br with ci = TRUE and its defaults iid = TRUE, interp = TRUE, tcrit = TRUE)
cat("\nR_RANK = {\n")
for (cs in list(list("hetero", 0.5, TRUE, 0.05), list("hetero", 0.25, TRUE, 0.1),
                list("hetero", 0.9, TRUE, 0.05), list("hetero", 0.5, FALSE, 0.05),
                list("weighted", 0.5, TRUE, 0.05), list("weighted", 0.75, TRUE, 0.05),
                list("weighted", 0.3, TRUE, 0.1), list("weighted", 0.75, FALSE, 0.05))) {
  fit <- fit_case(cs[[1]], cs[[2]], cs[[3]])
  tab <- coef(summary(fit, se = "rank", alpha = cs[[4]]))
  py_entry(sprintf("\"%s\", %s, %s, %s", cs[[1]], cs[[2]], py_bool(cs[[3]]), cs[[4]]),
           list(coef = tab[, 1], lower = tab[, 2], upper = tab[, 3]))
}
cat("}\n")

# Rank-score tests of each coefficient = 0 ("tau" scores, iid):
# anova(fit, reduced, test = "rank", score = "tau")$table$pvalue, reduced = fit
# without that term (the intercept: "- 1")
cat("\nR_RANK_TEST = {\n")
for (cs in list(list("hetero", 0.25), list("weighted", 0.75))) {
  fit <- fit_case(cs[[1]], cs[[2]], TRUE)
  d <- if (cs[[1]] == "hetero") hetero else weighted
  terms <- if (cs[[1]] == "hetero") c("x1", "x2") else c("x1", "x2", "x3")
  pv <- c()
  for (drop in c("(Intercept)", terms)) {
    f <- if (drop == "(Intercept)") paste("y ~", paste(terms, collapse = " + "), "- 1")
         else paste("y ~", paste(setdiff(terms, drop), collapse = " + "))
    red <- if (cs[[1]] == "hetero") rq(as.formula(f), tau = cs[[2]], data = d)
           else rq(as.formula(f), tau = cs[[2]], data = d, weights = w)
    pv <- c(pv, anova(fit, red, test = "rank", score = "tau")$table$pvalue)
  }
  cat(sprintf("    (\"%s\", %s): %s,\n", cs[[1]], cs[[2]], num(pv)))
}
cat("}\n")
