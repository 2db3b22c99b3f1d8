"""Time of the whole regression-quantile process against R's rq(tau = -1).

Data: ``y = 1 + x1 + 2 x2 + e`` with x1, x2, e independent N(0, 1), n = 1e4
(p = 3 with the intercept), seed 0. Timed in the same run:

* ``statoptim``: ``QuantileRegressor(quantile="all").fit(X, y)`` (the exact
  solve at tau = 1/2 and the parametric path in both directions);
* ``statoptim-fullpass``: the same path with the ratio-test screening off
  (every pivot a pass over the data), to show what the screening buys;
* ``R``: ``rq(y ~ x1 + x2, tau = -1)`` of quantreg on the same data (written to
  a CSV), timed inside R by ``benchmarks/r_process.R bench`` (3 runs; the
  median is stored in ``extra_info["r_seconds"]``); skipped without Rscript
  and in the smoke run (``--benchmark-disable``).
  Most of R's time goes to allocating its n x n_breakpoints dual solution.

The number of pieces must equal R's number of columns minus one (R repeats the
last solution at tau = 1), and the pieces are checked at a few quantile levels
against the exact solver.

At p = 20 (``y = 1 + sum_j x_j + e``, 19 N(0, 1) covariates, seed 0, n = 1e4),
where the pivots' linear algebra dominates: ``statoptim`` and (only with
``BENCH_SLOW=1``, several seconds) ``R``; their piece counts are recorded (not
asserted: at p = 20 a few near-degenerate breakpoints come out differently).
CPU seconds of statoptim (best of the rounds) are in ``extra_info["cpu_s"]``.

Run: ``pytest benchmarks/bench_process.py --benchmark-only``. With
``--benchmark-disable`` every case runs once.
"""
import os
import re
import shutil
import subprocess
import time
from pathlib import Path

import numpy as np
import pytest

from statoptim import QuantileRegressor
from statoptim.quantile import solve_quantile
from statoptim.quantile.harness import process_without_screening

N_SAMPLES = 10_000
ROOT = Path(__file__).resolve().parent.parent

_CACHE = {}


def _data():
    if not _CACHE:
        rng = np.random.default_rng(0)
        X = rng.standard_normal((N_SAMPLES, 2))
        y = 1.0 + X @ [1.0, 2.0] + rng.standard_normal(N_SAMPLES)
        _CACHE.update(X=X, y=y)
    return _CACHE["X"], _CACHE["y"]


def _data_p20():
    if "X20" not in _CACHE:
        rng = np.random.default_rng(0)
        X = rng.standard_normal((N_SAMPLES, 19))
        _CACHE.update(X20=X, y20=1.0 + X.sum(axis=1) + rng.standard_normal(N_SAMPLES))
    return _CACHE["X20"], _CACHE["y20"]


def _check(model, X, y):
    Z = np.column_stack([np.ones(len(y)), X])
    for tau in (0.013, 0.5, 0.77):
        sol = solve_quantile(Z, y, quantile=tau)
        np.testing.assert_allclose(model.process_.coef_at(tau), sol.coef, rtol=1e-9, atol=1e-12)


def _timed_fit(benchmark, X, y, rounds, warmup_rounds=0):
    """The whole process of (X, y), timed; the best CPU time of the rounds in
    ``extra_info["cpu_s"]``."""
    cpu = []

    def run():
        start = time.process_time()
        out = QuantileRegressor(quantile="all").fit(X, y)
        cpu.append(time.process_time() - start)
        return out

    model = benchmark.pedantic(run, rounds=rounds, iterations=1, warmup_rounds=warmup_rounds)
    benchmark.extra_info["cpu_s"] = min(cpu)
    return model


def test_process_statoptim(benchmark):
    X, y = _data()
    benchmark.group = "quantile process n=1e4 p=3"
    model = _timed_fit(benchmark, X, y, rounds=5, warmup_rounds=1)
    _CACHE["pieces"] = model.process_.n_pieces
    benchmark.extra_info.update(method="statoptim", n_pieces=model.process_.n_pieces,
                                n_pivots=int(model.n_pivots_))
    _check(model, X, y)


def test_process_statoptim_fullpass(benchmark):
    X, y = _data()
    benchmark.group = "quantile process n=1e4 p=3"
    with process_without_screening(N_SAMPLES):
        model = benchmark.pedantic(lambda: QuantileRegressor(quantile="all").fit(X, y),
                                   rounds=3, iterations=1)
    benchmark.extra_info.update(method="statoptim, no screening",
                                n_pieces=model.process_.n_pieces)
    _check(model, X, y)


def _r_runs(benchmark, tmp_path, X, y):
    """Time ``benchmarks/r_process.R bench`` on (X, y) (3 runs inside R); returns
    its (breakpoints, elapsed, user, system) of each run."""
    path = tmp_path / "process_bench.csv"
    names = ",".join([f"x{j + 1}" for j in range(X.shape[1])] + ["y"])
    np.savetxt(path, np.column_stack([X, y]), delimiter=",", header=names, comments="",
               fmt="%.17g")
    cmd = ["Rscript", str(ROOT / "benchmarks" / "r_process.R"), "bench", str(path)]
    out = benchmark.pedantic(
        lambda: subprocess.run(cmd, capture_output=True, text=True, check=True, cwd=ROOT),
        rounds=1, iterations=1)
    runs = re.findall(r"(\d+) breakpoints, elapsed ([0-9.]+) s \(user ([0-9.]+), system "
                      r"([0-9.]+)\)", out.stdout)
    assert len(runs) == 3, out.stdout + out.stderr
    return runs


def test_process_r(benchmark, tmp_path, request):
    if shutil.which("Rscript") is None:
        pytest.skip("Rscript is not installed")
    if request.config.getoption("benchmark_disable"):
        pytest.skip("smoke test (--benchmark-disable): large peer cases skipped (R takes "
                    "about 15 s of CPU)")
    X, y = _data()
    benchmark.group = "quantile process n=1e4 p=3"
    runs = _r_runs(benchmark, tmp_path, X, y)
    seconds = sorted(float(t) for _, t, _, _ in runs)
    benchmark.extra_info.update(method="R quantreg rq(tau = -1)", r_seconds=seconds[1],
                                r_columns=int(runs[0][0]),
                                cpu_s=min(float(u) + float(sy) for _, _, u, sy in runs))
    if "pieces" in _CACHE:
        assert int(runs[0][0]) == _CACHE["pieces"] + 1


def test_process_statoptim_p20(benchmark):
    X, y = _data_p20()
    benchmark.group = "quantile process n=1e4 p=20"
    model = _timed_fit(benchmark, X, y, rounds=3)
    benchmark.extra_info.update(method="statoptim", n_pieces=model.process_.n_pieces,
                                n_pivots=int(model.n_pivots_))
    _check(model, X, y)


@pytest.mark.skipif(os.environ.get("BENCH_SLOW") != "1", reason="several seconds; BENCH_SLOW=1")
def test_process_r_p20(benchmark, tmp_path):
    if shutil.which("Rscript") is None:
        pytest.skip("Rscript is not installed")
    X, y = _data_p20()
    benchmark.group = "quantile process n=1e4 p=20"
    runs = _r_runs(benchmark, tmp_path, X, y)
    benchmark.extra_info.update(
        method="R quantreg rq(tau = -1)", r_columns=int(runs[0][0]),
        cpu_s=min(float(u) + float(sy) for _, _, u, sy in runs))
