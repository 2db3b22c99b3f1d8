"""Time of quantile-regression standard errors against statsmodels' QuantReg.

Data: the talk's model ``Y = 4.5 Z1 - 2 Z2 + r`` with 3 extra N(0, 1) noise
columns (``make_quantile_regression(n, 3)``, p = 5 features plus an intercept),
q = 0.5. Timed in the same run:

* ``nid`` at n = 1e5: ``QuantileRegressor.summary(X, y, se="nid")`` on a fitted
  model (two exact refits at q +- h and the sandwich), the same with the fit
  included, and statsmodels ``QuantReg(y, Z).fit(q=0.5)``, whose standard errors
  (``vcov="robust"``: Powell's sandwich, Epanechnikov kernel, Hall-Sheather
  bandwidth) are computed inside ``fit``;
* ``boot`` at n = 2000: ``summary(se="boot", n_boot=200)``, xy pairs and wild,
  with 1 and 2 threads; statsmodels ``fit`` again for scale (it has no bootstrap);
* ``rank`` at n = 1000 (R's default method below n = 1001): rank-inversion
  intervals by parametric programming (statsmodels has none);
* ``rank`` at n = 2000 and 1e4 on ``make_quantile_regression(n, 1)`` (p = 4:
  three covariates and the intercept), with R's ``summary(rq(y ~ ., tau = 0.5),
  se = "rank")`` (``rq.fit.br(ci = TRUE)``) on the same data, timed inside R by
  ``benchmarks/r_inference.R bench`` (fit excluded, as for statoptim; skipped
  without Rscript, and at n = 1e4 in the smoke run);
* ``nid`` at n = 1e6 (p = 6): statoptim's summary, fit included or not; R's
  ``summary(rq(..., method = "fn"), se = "nid")`` and statsmodels' ``fit`` only
  with ``BENCH_SLOW=1`` (tens of seconds each); the whole case is skipped in
  the smoke run (``--benchmark-disable``).

CPU seconds (``time.process_time`` for statoptim, R's user + system time) are
stored in ``extra_info["cpu_s"]`` (best of the rounds): on a shared machine they
are the cost of the work, while wall times include waiting for a core.

statsmodels' and statoptim's standard errors estimate the same asymptotic
covariance by different methods; their largest relative difference is stored in
``extra_info["bse_rel_diff_vs_statsmodels"]`` and required to be below 5% for the
analytic ``nid`` at n = 1e5 (0.6% measured) and 35% for the bootstrap at n = 2000,
whose standard errors of quantile-regression coefficients are noisy (relative error
O(n^{-1/4}) plus the Monte Carlo error of 200 replicates; up to 18% measured).

Run: ``pytest benchmarks/bench_inference.py --benchmark-only``. With
``--benchmark-disable`` every case runs once.
"""
import os
import re
import shutil
import subprocess
import time
import warnings
from pathlib import Path

import numpy as np
import pytest

from statoptim import QuantileRegressor
from statoptim.datasets import make_quantile_regression

QUANTILE = 0.5
N_NOISE = 3
ROOT = Path(__file__).resolve().parent.parent
SLOW = os.environ.get("BENCH_SLOW") == "1"

_CACHE = {}


def _data(n_samples, n_noise=N_NOISE):
    """X, y, Z = [1, X], a fitted model and statsmodels' bse, for one size."""
    key = (n_samples, n_noise)
    if key not in _CACHE:
        _CACHE.clear()
        X, y = make_quantile_regression(n_samples, n_noise, random_state=0)
        Z = np.column_stack([np.ones(n_samples), X])
        model = QuantileRegressor(QUANTILE).fit(X, y)
        _CACHE[key] = {"X": X, "y": y, "Z": Z, "model": model}
    return _CACHE[key]


def _statsmodels_fit(data):
    from statsmodels.regression.quantile_regression import QuantReg

    with warnings.catch_warnings():  # IterationLimitWarning etc. are not the point here
        warnings.simplefilter("ignore")
        return QuantReg(data["y"], data["Z"]).fit(q=QUANTILE)


def _record_bse(benchmark, data, bse, limit):
    if "sm_bse" not in data:
        data["sm_bse"] = np.asarray(_statsmodels_fit(data).bse)
    rel = float(np.max(np.abs(bse / data["sm_bse"] - 1.0)))
    benchmark.extra_info["bse"] = [float(b) for b in bse]
    benchmark.extra_info["bse_rel_diff_vs_statsmodels"] = rel
    assert rel < limit, f"standard errors {rel:.1%} away from statsmodels'"


def _nid_run(data, method):
    """The timed call of a statoptim nid case: the summary of the fitted model,
    or (``"statoptim-fit+summary"``) the fit and the summary."""
    X, y = data["X"], data["y"]
    if method == "statoptim-summary":
        return lambda: data["model"].summary(X, y, se="nid")
    return lambda: QuantileRegressor(QUANTILE).fit(X, y).summary(X, y, se="nid")


@pytest.mark.parametrize("method", ["statoptim-summary", "statoptim-fit+summary",
                                    "statsmodels-fit"])
def test_nid_large(benchmark, method):
    data = _data(100_000)
    benchmark.group = "inference nid n=1e5 p=5"
    benchmark.extra_info.update(method=method, n_samples=100_000, n_features=5)
    if method == "statsmodels-fit":
        res = benchmark.pedantic(_statsmodels_fit, args=(data,), rounds=3, iterations=1)
        data["sm_bse"] = np.asarray(res.bse)
        _record_bse(benchmark, data, data["sm_bse"], 1e-12)
        return
    res = benchmark.pedantic(_nid_run(data, method), rounds=10, iterations=1, warmup_rounds=1)
    benchmark.extra_info["bandwidth"] = res.bandwidth
    _record_bse(benchmark, data, res.bse, 0.05)


BOOT_CASES = [
    pytest.param(kind, nt, id=f"statoptim-{kind}-threads{nt}")
    for kind in ("xy", "wild") for nt in (1, 2)
] + [pytest.param("statsmodels", 1, id="statsmodels-fit")]


@pytest.mark.parametrize("kind, n_threads", BOOT_CASES)
def test_boot_2000(benchmark, kind, n_threads):
    data = _data(2000)
    benchmark.group = "inference boot (200 replicates) n=2000 p=5"
    benchmark.extra_info.update(method=kind, n_threads=n_threads, n_samples=2000,
                                n_features=5, n_boot=200)
    if kind == "statsmodels":
        res = benchmark.pedantic(_statsmodels_fit, args=(data,), rounds=10, iterations=1)
        _record_bse(benchmark, data, np.asarray(res.bse), 1e-12)
        return

    def run():
        return data["model"].summary(data["X"], data["y"], se="boot", bootstrap=kind,
                                     n_boot=200, random_state=0, n_threads=n_threads)

    res = benchmark.pedantic(run, rounds=10, iterations=1, warmup_rounds=1)
    _record_bse(benchmark, data, res.bse, 0.35)


def test_rank_1000(benchmark):
    data = _data(1000)
    benchmark.group = "inference rank n=1000 p=5"
    benchmark.extra_info.update(method="rank", n_samples=1000, n_features=5)

    def run():
        return data["model"].summary(data["X"], data["y"], se="rank")

    res = benchmark.pedantic(run, rounds=5, iterations=1, warmup_rounds=1)
    # the rank intervals and the nid intervals estimate the same thing
    nid = data["model"].summary(data["X"], data["y"], se="nid").conf_int
    rel = float(np.max(np.abs(res.conf_int - nid) / (nid[:, 1:] - nid[:, :1])))
    benchmark.extra_info["max_bound_diff_vs_nid_in_widths"] = rel
    assert rel < 0.25


def _cpu_timed(benchmark, run, rounds):
    """benchmark.pedantic with the best CPU time of the rounds in extra_info."""
    cpu = []

    def timed():
        start = time.process_time()
        out = run()
        cpu.append(time.process_time() - start)
        return out

    res = benchmark.pedantic(timed, rounds=rounds, iterations=1,
                             warmup_rounds=1 if rounds > 1 else 0)
    benchmark.extra_info["cpu_s"] = float(min(cpu))
    return res


def _r_summary(benchmark, data, tmp_path, se, method="br"):
    """Time R's summary.rq on the same data (3 runs inside R); returns its table."""
    if shutil.which("Rscript") is None:
        pytest.skip("Rscript is not installed")
    X, y = data["X"], data["y"]
    path = tmp_path / "inference_bench.csv"
    names = ",".join([f"x{j + 1}" for j in range(X.shape[1])] + ["y"])
    np.savetxt(path, np.column_stack([X, y]), delimiter=",", header=names, comments="",
               fmt="%.17g")
    cmd = ["Rscript", str(ROOT / "benchmarks" / "r_inference.R"), "bench", str(path), se,
           method]
    out = benchmark.pedantic(
        lambda: subprocess.run(cmd, capture_output=True, text=True, check=True, cwd=ROOT),
        rounds=1, iterations=1)
    runs = re.findall(r"cpu ([0-9.]+) s, elapsed ([0-9.]+) s", out.stdout)
    assert len(runs) == 3, out.stdout + out.stderr
    table = np.array([[float(v) for v in line.split()[2:]]
                      for line in out.stdout.splitlines() if line.startswith("coef ")])
    benchmark.extra_info.update(method=f"R quantreg summary(se='{se}'), rq method {method}",
                                cpu_s=min(float(c) for c, _ in runs),
                                r_elapsed_s=sorted(float(e) for _, e in runs)[1])
    return table


RANK_CASES = [pytest.param(n, impl, id=f"{impl}-n{n}")
              for n in (2000, 10_000) for impl in ("statoptim", "R")]


@pytest.mark.parametrize("n_samples, impl", RANK_CASES)
def test_rank(benchmark, n_samples, impl, tmp_path, request):
    if impl == "R" and n_samples > 2000 and request.config.getoption("benchmark_disable"):
        pytest.skip("smoke test (--benchmark-disable): large peer cases skipped")
    data = _data(n_samples, 1)
    X, y = data["X"], data["y"]
    benchmark.group = f"inference rank n={n_samples} p=4"
    benchmark.extra_info.update(n_samples=n_samples, n_features=3)
    if impl == "R":
        table = _r_summary(benchmark, data, tmp_path, "rank")
        # R's rank bounds (rq.fit.br(ci = TRUE), run at alpha = 0.05 by
        # r_inference.R: R's own default is 0.1) equal statoptim's
        ours = data["model"].summary(X, y, se="rank").conf_int
        diff = float(np.max(np.abs(table[:, 1:3] - ours) / (ours[:, 1:] - ours[:, :1])))
        benchmark.extra_info["max_bound_diff_vs_statoptim_in_widths"] = diff
        assert diff < 1e-6
        return
    res = _cpu_timed(benchmark, lambda: data["model"].summary(X, y, se="rank"), rounds=5)
    benchmark.extra_info["method"] = "statoptim summary(se='rank')"
    nid = data["model"].summary(X, y, se="nid").conf_int
    rel = float(np.max(np.abs(res.conf_int - nid) / (nid[:, 1:] - nid[:, :1])))
    benchmark.extra_info["max_bound_diff_vs_nid_in_widths"] = rel
    assert rel < 0.25


NID_MILLION = [pytest.param("statoptim-summary", id="statoptim-summary"),
               pytest.param("statoptim-fit+summary", id="statoptim-fit+summary"),
               pytest.param("R", id="R-fn", marks=pytest.mark.skipif(
                   not SLOW, reason="about a minute; set BENCH_SLOW=1")),
               pytest.param("statsmodels-fit", id="statsmodels-fit", marks=pytest.mark.skipif(
                   not SLOW, reason="about a minute; set BENCH_SLOW=1"))]


@pytest.mark.parametrize("method", NID_MILLION)
def test_nid_million(benchmark, method, tmp_path, request):
    if request.config.getoption("benchmark_disable"):
        pytest.skip("smoke test (--benchmark-disable): the largest case is skipped")
    data = _data(1_000_000)
    X, y = data["X"], data["y"]
    benchmark.group = "inference nid n=1e6 p=6"
    benchmark.extra_info.update(method=method, n_samples=1_000_000, n_features=5)
    if method == "R":
        table = _r_summary(benchmark, data, tmp_path, "nid", "fn")
        ours = data["model"].summary(X, y, se="nid").bse
        benchmark.extra_info["bse_rel_diff_vs_statoptim"] = float(
            np.max(np.abs(table[:, 1] / ours - 1)))
        return
    if method == "statsmodels-fit":
        res = _cpu_timed(benchmark, lambda: _statsmodels_fit(data), rounds=1)
        benchmark.extra_info["bse"] = [float(b) for b in res.bse]
        return
    res = _cpu_timed(benchmark, _nid_run(data, method), rounds=3)
    benchmark.extra_info["bse"] = [float(b) for b in res.bse]
