"""Benchmarks of covariate-dependent censoring: Beran's local Kaplan-Meier kernel and
the Peng-Huang fit.

Run:  pytest benchmarks/bench_censoring.py --benchmark-only
Peers in the same run: a NumPy Beran estimator (per row: one vectorised pass over the
rows sorted by time, O(n^2) in total) at n = 2000, and the exact kernel against the
binned one at n = 1e5 (exact: one round, about two minutes on two busy cores; only with
BENCH_SLOW=1).
R's crq(method="PengHuang") is timed by benchmarks/r_censoring.R (not needed here).
"""
import os
import warnings

import numpy as np
import pytest

from statoptim import CensoredQuantileRegressor, conditional_survival


def design(n, seed=0):
    rng = np.random.default_rng(seed)
    x = rng.uniform(0, 2, n)
    t = 1 + 2 * x + rng.standard_normal(n)
    c = 4.5 - 1.5 * x + rng.standard_normal(n)
    return x[:, None], np.minimum(t, c), (t <= c).astype(int)


def numpy_beran(time, event, Z, h):
    """Peer: S(Y_i | Z_i) by one cumulative pass per row (no ties in these data)."""
    U = (Z - Z.mean(axis=0)) / Z.std(axis=0, ddof=1) / h
    order = np.argsort(-time, kind="stable")
    ts, es, Us = time[order], event[order] == 1, U[order]
    out = np.empty(time.size)
    for i in range(time.size):
        b = np.exp(-0.5 * ((Us - U[i]) ** 2).sum(axis=1))
        risk = np.cumsum(b)
        m = es & (ts <= time[i])
        out[i] = np.prod((risk[m] - b[m]) / risk[m])
    return out


@pytest.mark.parametrize("impl", ["statoptim-exact", "numpy"])
def test_beran_2000(benchmark, impl):
    X, y, d = design(2000)
    benchmark.group = "beran n=2000"
    h = 2000 ** -0.2
    if impl == "numpy":
        out = benchmark.pedantic(numpy_beran, args=(y, d, X, h), rounds=3, iterations=1)
    else:
        out = benchmark.pedantic(conditional_survival, args=(y, d, X),
                                 kwargs={"method": "exact"}, rounds=10, iterations=1,
                                 warmup_rounds=1)
    np.testing.assert_allclose(out, numpy_beran(y, d, X, h), rtol=1e-9)


@pytest.mark.parametrize("method", [
    "binned",
    pytest.param("exact", marks=pytest.mark.skipif(
        not os.environ.get("BENCH_SLOW"), reason="about 2 minutes; set BENCH_SLOW=1")),
])
def test_beran_100000(benchmark, method):
    X, y, d = design(100_000)
    benchmark.group = "beran n=1e5"
    rounds = 3 if method == "binned" else 1
    out = benchmark.pedantic(conditional_survival, args=(y, d, X), kwargs={"method": method},
                             rounds=rounds, iterations=1)
    benchmark.extra_info["kernel_values_per_s"] = (
        100_000**2 / benchmark.stats["mean"] if method == "exact" else None)
    assert np.all((out >= 0) & (out <= 1))


@pytest.mark.parametrize("method", ["peng-huang", "conditional", "marginal"])
def test_fit_2000(benchmark, method):
    X, y, d = design(2000, 1)
    benchmark.group = "censored fit n=2000, quantiles .25/.5/.75"
    kw = {"method": "peng-huang"} if method == "peng-huang" else {"censoring": method}
    model = CensoredQuantileRegressor(quantile=[0.25, 0.5, 0.75], **kw)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        benchmark.pedantic(model.fit, args=(X, y, d), rounds=5, iterations=1, warmup_rounds=1)


def test_peng_huang_full_grid_2000(benchmark):
    """Like crq: the whole grid 1/n .. 1 - 1/n (stops where the equations lose a solution)."""
    from statoptim.quantile.harness import peng_huang_path

    X, y, d = design(2000, 1)
    n = y.size
    g = np.arange(1 / n, 1 - 1 / n, min(0.01, 1 / (2 * n**0.7)))
    Z = np.column_stack([np.ones(n), X])
    benchmark.group = "peng-huang full grid n=2000"
    benchmark.pedantic(peng_huang_path, args=(Z, y, d == 1, np.ones(n), g[1:]),
                       kwargs={"start": g[0]}, rounds=5, iterations=1, warmup_rounds=1)
