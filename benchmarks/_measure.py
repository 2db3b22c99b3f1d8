"""Shared by the estimator benchmarks: time a fit in CPU seconds with its peak traced
memory, under pytest-benchmark, and record the figures in ``benchmark.extra_info``.

Imported as ``_measure`` (pytest puts ``benchmarks/`` on ``sys.path`` for the
``bench_*.py`` files, as running a file of this folder as a script does).
"""
from __future__ import annotations

import time
import tracemalloc
import warnings

import numpy as np
from sklearn.exceptions import ConvergenceWarning


def measured_fits(benchmark, make, X, y, rounds):
    """``make().fit(X, y)`` ``rounds`` times (ConvergenceWarning ignored): the last fitted
    estimator, the CPU seconds of each round and the peak traced bytes of each."""
    peaks, fitted, cpu = [], [], []

    def run():
        t0 = time.process_time()
        tracemalloc.start()
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", ConvergenceWarning)
            est = make().fit(X, y)
        peaks.append(tracemalloc.get_traced_memory()[1])
        tracemalloc.stop()
        cpu.append(time.process_time() - t0)
        fitted.append(est)

    benchmark.pedantic(run, rounds=rounds, iterations=1)
    return fitted[-1], cpu, peaks


def record_fit(benchmark, est, cpu, peaks, F, gap):
    """The figures of :func:`measured_fits` and the objective reached, in extra_info."""
    benchmark.extra_info.update(cpu_s_best=min(cpu), F=F, rel_gap=gap,
                                peak_traced_MB=max(peaks) / 1e6,
                                n_iter=int(np.max(est.n_iter_)))
