"""Does the default BLAS threading ever lose? (issue 17, part 2)

Times each estimator's ``fit`` four ways in the same run: with the package's
default settings (its own loops and row blocks on every CPU, BLAS held at one
thread inside the fits); on one thread ("1": the package's own threads at one,
as ``n_threads=1`` would, inside ``threadpool_limits(1)``); with every thread
("all": the package's default threads, and every BLAS thread, with the package's
one-thread BLAS limit switched off); and "1 + BLAS all" (the package's own
threads at one, every BLAS thread: the setting of a serial loop over threaded
BLAS). On an idle machine and with ``--load K`` competing CPU-bound processes
(plain Python busy loops, started before and stopped after the timings). The
policy is met when the default is within 10% of the best of the others in both
conditions.

Run::

    python benchmarks/threads_policy.py                # idle
    python benchmarks/threads_policy.py --load 2       # two competing processes
    python benchmarks/threads_policy.py --only Logistic  # the logistic fits only

Prints a Markdown table: median wall seconds of ``--repeats`` fits per
setting, default / min(others), and the median CPU seconds of this process
(every thread) for the default and the one-thread setting (on a shared machine
the fair figure for the work done).
"""
from __future__ import annotations

import argparse
import contextlib
import multiprocessing as mp
import os
import statistics
import time
import warnings

import numpy as np
from threadpoolctl import threadpool_limits

import statoptim
import statoptim._threads
import statoptim._validation
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


@contextlib.contextmanager
def _blas_unlimited(n_cpu):
    """Every BLAS thread: the package's one-thread limit switched off."""
    saved = statoptim._threads._CONTROLLER
    statoptim._threads._CONTROLLER = _NoLimit()
    try:
        with threadpool_limits(n_cpu):
            yield
    finally:
        statoptim._threads._CONTROLLER = saved


@contextlib.contextmanager
def _own_threads_one():
    """The package's own threads at one: ``n_threads=None`` then means one CPU."""
    saved = statoptim._validation.available_cpus
    statoptim._validation.available_cpus = lambda: 1
    try:
        yield
    finally:
        statoptim._validation.available_cpus = saved


def _time(fit, repeats):
    """Median wall and CPU seconds (this process, every thread) of ``repeats`` fits."""
    fit()  # warm-up: kernels, caches
    walls, cpus = [], []
    for _ in range(repeats):
        t0, c0 = time.perf_counter(), time.process_time()
        fit()
        walls.append(time.perf_counter() - t0)
        cpus.append(time.process_time() - c0)
    return statistics.median(walls), statistics.median(cpus)


def _settings(fit, repeats, n_cpu):
    """(wall, cpu) of the default, one-thread, all-thread and 1 + BLAS-all settings."""
    default = _time(fit, repeats)
    with _own_threads_one(), threadpool_limits(1):
        one = _time(fit, repeats)
    with _blas_unlimited(n_cpu):
        every = _time(fit, repeats)
    with _own_threads_one(), _blas_unlimited(n_cpu):
        serial_blas = _time(fit, repeats)
    return default, one, every, serial_blas


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
    parser.add_argument("--only", default="",
                        help="time only the fits whose name contains this text")
    args = parser.parse_args(argv)
    # weak components, redundant ranks: the toy problems are for timing only
    warnings.simplefilter("ignore", statoptim.exceptions.StatoptimWarning)
    n_cpu = os.cpu_count() or 1
    problems = {name: fit for name, fit in _problems(args.scale).items()
                if args.only in name}
    stop = mp.Event()
    workers = [mp.Process(target=_busy, args=(stop,), daemon=True) for _ in range(args.load)]
    for w in workers:
        w.start()
    if workers:
        time.sleep(args.warmup)
    try:
        rows = []
        for name, fit in problems.items():
            rows.append((name, *_settings(fit, args.repeats, n_cpu)))
    finally:
        stop.set()
        for w in workers:
            w.join()
    print(f"statoptim {statoptim.__version__}, {n_cpu} CPUs, {args.load} competing "
          f"process(es), load average {os.getloadavg()[0]:.1f} at the end, median of "
          f"{args.repeats} (wall s)\n")
    print(f"| fit | default | 1 | all ({n_cpu}) | 1 + BLAS all | default / best "
          "| CPU s: default / 1 |")
    print("|---|---|---|---|---|---|---|")
    for name, default, one, every, serial_blas in rows:
        best = min(one[0], every[0], serial_blas[0])
        print(f"| {name} | {default[0]:.3f} | {one[0]:.3f} | {every[0]:.3f} | "
              f"{serial_blas[0]:.3f} | {default[0] / best:.2f} | "
              f"{default[1]:.3f} / {one[1]:.3f} |")


if __name__ == "__main__":
    main()
