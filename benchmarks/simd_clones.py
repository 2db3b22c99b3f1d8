"""Throughput of the Gaussian-kernel loops in the clone a build runs (BENCHMARKS.md, "Every CPU").

Build the clone to measure into its own folder and run this script against it:

    pip install --no-build-isolation --no-deps . -Csetup-args=-Dsimd-clones=avx2 \
        -Cbuild-dir=/tmp/build-avx2 --target /tmp/so-avx2
    PYTHONPATH=/tmp/so-avx2 python benchmarks/simd_clones.py

(in an environment where statoptim is not installed in editable mode, which would take
precedence). Prints the clone that ran, the exact propensity kernel's pairs per second at
n = 2000 and 10^4 (one thread, best and median CPU time) and the n = 2000 pipeline time.
"""

import time

import numpy as np

import statoptim
from statoptim import CensoredQuantileRegressor, kernel_propensity
from statoptim.datasets import make_censored_quantile


def best_and_median(fn, rounds):
    """Best and median CPU seconds of ``fn()`` over ``rounds`` calls."""
    times = []
    for _ in range(rounds):
        t0 = time.process_time()
        fn()
        times.append(time.process_time() - t0)
    return min(times), float(np.median(times))


def main():
    out = {"clone": statoptim.config_info()["simd_clone"], "file": statoptim.__file__}
    for n in (2000, 10_000):
        d = make_censored_quantile(n, censoring=0.25, missing=0.3, random_state=0)
        X, complete = np.column_stack([d.y, d.X[:, 0]]), d.complete
        best, median = best_and_median(
            lambda X=X, complete=complete: kernel_propensity(X, complete, method="exact",
                                                             n_threads=1),
            15 if n == 2000 else 5)
        out[f"pairs_per_s_n{n}"] = f"{n * n / best:.3g} (best) {n * n / median:.3g} (median)"
    d = make_censored_quantile(2000, censoring=0.25, missing=0.3, random_state=0)
    event = d.event.astype(np.int64)
    best, median = best_and_median(
        lambda: CensoredQuantileRegressor(quantile=0.5).fit(d.X, d.y, event=event), 15)
    out["pipeline_n2000_ms"] = f"{best * 1e3:.1f} (best) {median * 1e3:.1f} (median) CPU"
    for key, value in out.items():
        print(f"{key}: {value}")


if __name__ == "__main__":
    main()
