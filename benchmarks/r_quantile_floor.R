# Peers of benchmarks/bench_quantile_floor.py: R quantreg's rq(method = "pfn")
# (exact: Portnoy-Koenker preprocessing around the Frisch-Newton interior point)
# and conquer::conquer (convolution-smoothed quantile regression: fast, but it
# solves a smoothed problem, so its answer is not the LP optimum).
# Needs R with quantreg and conquer (Debian: r-cran-quantreg, r-cran-conquer);
# the benchmark skips cleanly without them. Run from the repository root:
#
#   Rscript benchmarks/r_quantile_floor.R DATA.bin N P ROUNDS
#
# DATA.bin holds float64 little-endian values, column-major: X (N x P) then y.
# Prints one line per method: "method best_seconds median_seconds objective best_cpu_seconds"
# (elapsed times, then the best of the rounds' user + system CPU time, which a loaded
# machine inflates less).
suppressMessages({
  library(quantreg)
  library(conquer)
})
args <- commandArgs(trailingOnly = TRUE)
path <- args[1]
n <- as.integer(args[2])
p <- as.integer(args[3])
rounds <- as.integer(args[4])
con <- file(path, "rb")
X <- matrix(readBin(con, "double", n * p, size = 8, endian = "little"), n, p)
y <- readBin(con, "double", n, size = 8, endian = "little")
close(con)
Z <- cbind(1, X)
check <- function(beta) {
  r <- y - Z %*% beta
  sum(pmax(0.5 * r, -0.5 * r))
}
time_it <- function(f) {
  times <- numeric(rounds)
  cpu <- numeric(rounds)
  for (k in seq_len(rounds)) {
    st <- system.time(beta <- f())
    times[k] <- st[["elapsed"]]
    cpu[k] <- st[["user.self"]] + st[["sys.self"]]
  }
  c(min(times), median(times), check(beta), min(cpu))
}
res <- list(
  pfn = time_it(function() rq.fit.pfn(Z, y, tau = 0.5)$coefficients),
  conquer = time_it(function() conquer(X, y, tau = 0.5)$coeff)
)
for (name in names(res)) {
  cat(name, sprintf("%.6f", res[[name]][1]), sprintf("%.6f", res[[name]][2]),
      sprintf("%.10g", res[[name]][3]), sprintf("%.6f", res[[name]][4]), "\n")
}
