"""Exact median regression at large n against its memory floor and its peers.

Issue "to the memory floor": n = 10^6 rows, p = 2 and 20 columns (the talk's model
``make_quantile_regression`` with N(0, 1) noise columns), q = 0.5, with an intercept.
Timed in the same run, each a separate benchmark:

* ``statoptim-1thread``: ``QuantileRegressor(quantile=0.5).fit(X, y)`` with BLAS at
  one thread (threadpoolctl); ``statoptim-default``: the same with the default
  thread settings (the package's own policy);
* ``floor-pass``: one pass over X (``X @ theta``) and ``floor-gram``: one Gram
  matrix ``X' X`` (NumPy, one BLAS thread): what any exact method must at least
  spend (a few passes);
* ``R-pfn`` and ``R-conquer`` (``benchmarks/r_quantile_floor.R``): R quantreg's
  exact ``rq.fit.pfn`` and conquer's smoothed (not exact) fit, timed inside R on the
  same data (best of the rounds in ``extra_info["r_best_seconds"]``); skipped
  cleanly without Rscript, quantreg or conquer.

Peak memory of one fit (tracemalloc, which sees NumPy's allocations and the
kernels' working arrays made by NumPy) is stored in ``extra_info["peak_mib"]`` beside
X's own size. The objective of every peer is compared with statoptim's exact one in
``extra_info["gap"]``. On a shared machine wall times swell with the load; the best
CPU time of the rounds (``time.process_time`` here, user + system in R) is stored in
``extra_info["cpu_seconds"]`` (R: ``r_best_cpu_seconds``) as the fairer number.

Run: ``pytest benchmarks/bench_quantile_floor.py --benchmark-only -p no:cacheprovider``.
With ``--benchmark-disable`` (the CI smoke test) the sizes shrink to n = 2 * 10^4 and
R is not run.
"""
import shutil
import subprocess
import time
import tracemalloc
from pathlib import Path

import numpy as np
import pytest
from threadpoolctl import threadpool_limits

from statoptim import QuantileRegressor
from statoptim.datasets import make_quantile_regression

ROOT = Path(__file__).resolve().parents[1]
CASES = [(1_000_000, 2), (1_000_000, 20)]
_CACHE = {}


def _disabled(config):
    return bool(config.getoption("benchmark_disable", False))


def _data(n_samples, n_features):
    key = (n_samples, n_features)
    if key not in _CACHE:
        _CACHE.clear()
        X, y = make_quantile_regression(n_samples, n_noise_features=n_features - 2,
                                        random_state=0)
        _CACHE[key] = {"X": np.ascontiguousarray(X), "y": y}
    return _CACHE[key]


def _size(request, n_samples):
    return 20_000 if _disabled(request.config) else n_samples


def _objective(data, intercept, coef):
    r = data["y"] - data["X"] @ coef - intercept
    return float(np.sum(np.maximum(0.5 * r, -0.5 * r)))


def _exact(data):
    if "objective" not in data:
        with threadpool_limits(1):
            model = QuantileRegressor(quantile=0.5).fit(data["X"], data["y"])
        data["objective"] = _objective(data, model.intercept_, model.coef_)
        tracemalloc.start()
        QuantileRegressor(quantile=0.5).fit(data["X"], data["y"])
        data["peak_mib"] = tracemalloc.get_traced_memory()[1] / 2**20
        tracemalloc.stop()
    return data


@pytest.mark.parametrize("n_samples,n_features", CASES, ids=lambda v: str(v))
@pytest.mark.parametrize("threads", ["1thread", "default"])
def test_statoptim(benchmark, request, n_samples, n_features, threads):
    data = _exact(_data(_size(request, n_samples), n_features))
    benchmark.group = f"qr-floor n={n_samples} p={n_features}"
    benchmark.extra_info.update(peak_mib=round(data["peak_mib"], 1),
                                x_mib=round(data["X"].nbytes / 2**20, 1))

    cpu = []

    def fit():
        start = time.process_time()
        model = QuantileRegressor(quantile=0.5).fit(data["X"], data["y"])
        cpu.append(time.process_time() - start)
        return model

    if threads == "1thread":
        with threadpool_limits(1):
            model = benchmark.pedantic(fit, rounds=5, iterations=1, warmup_rounds=1)
    else:
        model = benchmark.pedantic(fit, rounds=5, iterations=1, warmup_rounds=1)
    benchmark.extra_info["cpu_seconds"] = round(min(cpu), 4)
    assert model.status_ == "optimal"


@pytest.mark.parametrize("n_samples,n_features", CASES, ids=lambda v: str(v))
@pytest.mark.parametrize("kind", ["pass", "gram"])
def test_floor(benchmark, request, n_samples, n_features, kind):
    data = _data(_size(request, n_samples), n_features)
    benchmark.group = f"qr-floor n={n_samples} p={n_features}"
    X = data["X"]
    theta = np.ones(X.shape[1])
    with threadpool_limits(1):
        if kind == "pass":
            benchmark.pedantic(lambda: X @ theta, rounds=10, iterations=1, warmup_rounds=1)
        else:
            benchmark.pedantic(lambda: X.T @ X, rounds=5, iterations=1, warmup_rounds=1)


def _r_available():
    if shutil.which("Rscript") is None:
        return False
    probe = subprocess.run(
        ["Rscript", "-e", "suppressMessages({library(quantreg); library(conquer)})"],
        capture_output=True, check=False)
    return probe.returncode == 0


@pytest.mark.parametrize("n_samples,n_features", CASES, ids=lambda v: str(v))
def test_r_peers(benchmark, request, tmp_path, n_samples, n_features):
    if _disabled(request.config):
        pytest.skip("smoke test (--benchmark-disable): R is not run")
    if not _r_available():
        pytest.skip("Rscript with quantreg and conquer is not installed")
    data = _exact(_data(n_samples, n_features))
    path = tmp_path / "data.bin"
    with open(path, "wb") as fh:
        np.asfortranarray(data["X"]).T.astype("<f8").tofile(fh)  # column-major X
        data["y"].astype("<f8").tofile(fh)
    cmd = ["Rscript", str(ROOT / "benchmarks" / "r_quantile_floor.R"), str(path),
           str(n_samples), str(n_features), "5"]
    benchmark.group = f"qr-floor n={n_samples} p={n_features} (R, timed inside R)"
    out = benchmark.pedantic(
        lambda: subprocess.run(cmd, capture_output=True, text=True, check=True).stdout,
        rounds=1, iterations=1)
    for line in out.strip().splitlines():
        name, best, median, objective, cpu = line.split()
        gap = (float(objective) - data["objective"]) / data["objective"]
        benchmark.extra_info[name] = {"r_best_seconds": float(best),
                                      "r_median_seconds": float(median),
                                      "r_best_cpu_seconds": float(cpu), "gap": gap}
        assert gap >= -1e-9, f"{name} beat the exact optimum: gap {gap}"
