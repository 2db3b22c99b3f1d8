"""Does the default BLAS threading ever lose? (issue 17, part 2)

Times each estimator's ``fit`` three ways in the same run: with the package's
default settings (which hold BLAS at one thread inside the fits), inside
``threadpool_limits(1)``, and with every BLAS thread (``threadpool_limits(cpu_count)``
with the package's own one-thread limit switched off), on an idle machine and with ``--load K``
competing CPU-bound processes (plain Python busy loops, started before and
stopped after the timings). The policy is met when the default is within 10%
of the better of one and all threads in both conditions.

Run::

    python benchmarks/threads_policy.py                # idle
    python benchmarks/threads_policy.py --load 2       # two competing processes

Prints a Markdown table: median wall seconds of ``--repeats`` fits per
setting, and default / min(one, all).
"""
from __future__ import annotations

import argparse
import multiprocessing as mp
import os
import statistics
import time
import warnings

import numpy as np
from threadpoolctl import threadpool_limits

import statoptim
import statoptim._threads
from statoptim import (
    LogisticRegression,
    MultiViewTensorMachine,
    QuantileRegressor,
    SparseSVD,
)


def _busy(stop):
    x = 0
    while not stop.is_set():
        for _ in range(100_000):
            x += 1


def _problems(scale):
    rng = np.random.default_rng(0)
    n = int(10**6 * scale)
    Xq = rng.standard_normal((n, 20))
    yq = Xq @ np.linspace(1, 2, 20) + rng.standard_normal(n)
    nl = int(2 * 10**5 * scale)
    Xl = rng.standard_normal((nl, 100))
    yl = (Xl @ rng.standard_normal(100) / 10 + rng.logistic(size=nl) > 0).astype(int)
    u = rng.standard_normal(2000)
    v = np.zeros(1000)
    v[:50] = rng.standard_normal(50)
    Xs = 3 * np.outer(u / np.linalg.norm(u), v / np.linalg.norm(v)) * 40 \
        + rng.standard_normal((2000, 1000))
    m = 1500
    z = rng.integers(0, 4, m)
    views_a = [rng.standard_normal((m, 30)) + z[:, None]]
    views_b = [rng.standard_normal((m, 20)) - z[:, None]]
    return {
        "QuantileRegressor(0.5), 10^6 x 20": lambda: QuantileRegressor(0.5).fit(Xq, yq),
        "LogisticRegression newton, 2*10^5 x 100":
            lambda: LogisticRegression("newton", alpha=1e-4).fit(Xl, yl),
        "LogisticRegression lbfgs, 2*10^5 x 100":
            lambda: LogisticRegression("lbfgs", alpha=1e-4).fit(Xl, yl),
        "SparseSVD(1), 2000 x 1000": lambda: SparseSVD(1, random_state=0).fit(Xs),
        "MultiViewTensorMachine, 1500 x (30, 20)":
            lambda: MultiViewTensorMachine(max_iter=50, random_state=0).fit(
                views_a, views_b, z),
    }


class _NoLimit:
    """Stands in for the package's cached threadpoolctl controller: limits nothing."""

    def limit(self, **kwargs):
        import contextlib

        return contextlib.nullcontext()


def _all_threads(fit, repeats, n_cpu):
    saved = statoptim._threads._CONTROLLER
    statoptim._threads._CONTROLLER = _NoLimit()
    try:
        with threadpool_limits(n_cpu):
            return _time(fit, repeats)
    finally:
        statoptim._threads._CONTROLLER = saved


def _time(fit, repeats):
    fit()  # warm-up: kernels, caches
    times = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        fit()
        times.append(time.perf_counter() - t0)
    return statistics.median(times)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--load", type=int, default=0,
                        help="competing CPU-bound processes during the timings")
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--warmup", type=float, default=75.0,
                        help="seconds the competing processes run before the timings, so "
                             "that the one-minute load average has risen (default 75)")
    parser.add_argument("--scale", type=float, default=1.0,
                        help="shrink the problems (e.g. 0.1 for a smoke run)")
    args = parser.parse_args(argv)
    # weak components, redundant ranks: the toy problems are for timing only
    warnings.simplefilter("ignore", statoptim.exceptions.StatoptimWarning)
    n_cpu = os.cpu_count() or 1
    problems = _problems(args.scale)
    stop = mp.Event()
    workers = [mp.Process(target=_busy, args=(stop,), daemon=True) for _ in range(args.load)]
    for w in workers:
        w.start()
    if workers:
        time.sleep(args.warmup)
    try:
        rows = []
        for name, fit in problems.items():
            default = _time(fit, args.repeats)
            with threadpool_limits(1):
                one = _time(fit, args.repeats)
            every = _all_threads(fit, args.repeats, n_cpu)
            rows.append((name, default, one, every, default / min(one, every)))
    finally:
        stop.set()
        for w in workers:
            w.join()
    print(f"statoptim {statoptim.__version__}, {n_cpu} CPUs, {args.load} competing "
          f"process(es), load average {os.getloadavg()[0]:.1f} at the end, median of "
          f"{args.repeats} (wall s)\n")
    print(f"| fit | default | 1 thread | {n_cpu} threads | default / best |")
    print("|---|---|---|---|---|")
    for name, default, one, every, ratio in rows:
        print(f"| {name} | {default:.3f} | {one:.3f} | {every:.3f} | {ratio:.2f} |")


if __name__ == "__main__":
    main()
