"""Logistic regression and sparse SVD of data on disk: in memory against dask (issue 17).

The data are written to ``.npy`` files and read back by row-blocks: each dask task
opens the file and reads its own rows (``np.load(mmap_mode="r")``), so no process
holds more than the blocks it works on. Timed in the same run, per problem:

* ``in-memory``: ``np.load`` of the whole file, then ``fit``;
* ``dask-threads``: the dask array on the threaded scheduler of this process;
* ``dask-cluster``: a ``LocalCluster`` with two worker processes (one thread each).

Problems: ``LogisticRegression(alpha=1e-4)`` ("auto": Newton) on n x 20, N(0, 1)
columns and a logistic response, and ``SparseSVD(2)`` on n x 500 noise plus two
sparse rank-one components. ``extra_info`` holds this process's peak memory during
one fit (tracemalloc: NumPy's allocations; with the threaded scheduler the blocks
in flight are allocated here too), each worker's peak resident set for the cluster,
and the largest difference to the in-memory coefficients / vectors (<= 1e-9).

Run: ``pytest benchmarks/bench_dask_fits.py --benchmark-only -p no:cacheprovider``
(logistic n = 10^6, 160 MB; SSVD n = 2 * 10^5, 800 MB). ``STATOPTIM_BENCH_SCALE=0.1``
shrinks both. With ``--benchmark-disable`` (the CI smoke test) the sizes are tiny.
"""
import os
import resource
import tracemalloc

import numpy as np
import pytest

from statoptim import LogisticRegression, SparseSVD

da = pytest.importorskip("dask.array")
dask = pytest.importorskip("dask")

PROBLEMS = {"logistic": (1_000_000, 20, 100_000), "ssvd": (200_000, 500, 10_000)}


def _shape(request, kind):
    n, p, chunk = PROBLEMS[kind]
    if request.config.getoption("benchmark_disable", False):
        return n // 200, p // 5, chunk // 100
    scale = float(os.environ.get("STATOPTIM_BENCH_SCALE", "1"))
    return int(n * scale), p, max(1, int(chunk * scale))


def _write(path, n, p, chunk, fill):
    X = np.lib.format.open_memmap(path, mode="w+", dtype=np.float64, shape=(n, p))
    for start in range(0, n, chunk):
        stop = min(n, start + chunk)
        X[start:stop] = fill(start, stop)
    X.flush()
    del X


@pytest.fixture(scope="module", params=["logistic", "ssvd"])
def stored(tmp_path_factory, request):
    """(kind, path of X.npy, y or None, chunk rows)."""
    kind = request.param
    n, p, chunk = _shape(request, kind)
    path = tmp_path_factory.mktemp(f"dask-{kind}") / "X.npy"
    rng = np.random.default_rng(0)
    if kind == "logistic":
        beta = rng.standard_normal(p) / np.sqrt(p)
        y = np.empty(n)

        def fill(start, stop):
            block = rng.standard_normal((stop - start, p))
            eta = 0.3 + block @ beta
            y[start:stop] = rng.random(stop - start) < 1.0 / (1.0 + np.exp(-eta))
            return block
    else:
        y = None
        u = np.zeros((n, 2))
        v = np.zeros((p, 2))
        for k, d in enumerate((8.0, 6.0)):  # entries of d * sigma on 100 x 25 cells
            u[rng.choice(n, 100, replace=False), k] = 1.0
            v[rng.choice(p, 25, replace=False), k] = d

        def fill(start, stop):
            return rng.standard_normal((stop - start, p)) + u[start:stop] @ v.T
    _write(path, n, p, chunk, fill)
    return kind, path, y, chunk


def _read(path, start, stop):
    return np.array(np.load(path, mmap_mode="r")[start:stop])


def _on_disk(path, chunk):
    """A dask array whose tasks each read their own rows of a ``.npy`` file."""
    n, p = np.load(path, mmap_mode="r").shape
    blocks = [da.from_delayed(dask.delayed(_read)(str(path), s, min(n, s + chunk)),
                              shape=(min(n, s + chunk) - s, p), dtype=np.float64)
              for s in range(0, n, chunk)]
    return da.concatenate(blocks, axis=0)


def _fit(kind, X, y):
    if kind == "logistic":
        return LogisticRegression(alpha=1e-4).fit(X, y)
    return SparseSVD(2).fit(X)


def _answer(kind, model):
    if kind == "logistic":
        return np.concatenate([model.intercept_, model.coef_.ravel()])
    return np.concatenate([model.left_singular_vectors_.ravel(), model.components_.ravel(),
                           model.singular_values_ / model.singular_values_[0]])


def _peak(fn):
    tracemalloc.start()
    out = fn()
    peak = tracemalloc.get_traced_memory()[1] / 2**20
    tracemalloc.stop()
    return out, peak


@pytest.fixture(scope="module")
def reference(stored):
    kind, path, y, _ = stored
    return _answer(kind, _fit(kind, np.load(path), y))


def _group(benchmark, stored):
    kind, path, _, _ = stored
    n, p = np.load(path, mmap_mode="r").shape
    benchmark.group = f"dask fits: {kind} {n} x {p}"


def test_in_memory(benchmark, stored, reference):
    kind, path, y, _ = stored
    _group(benchmark, stored)
    _, peak = _peak(lambda: _fit(kind, np.load(path), y))
    benchmark.extra_info["peak_mib"] = round(peak, 1)
    benchmark.pedantic(lambda: _fit(kind, np.load(path), y), rounds=3, iterations=1)


def test_dask_threads(benchmark, stored, reference):
    kind, path, y, chunk = stored
    _group(benchmark, stored)
    X = _on_disk(path, chunk)
    with dask.config.set(scheduler="threads"):
        model, peak = _peak(lambda: _fit(kind, X, y))
        benchmark.pedantic(lambda: _fit(kind, X, y), rounds=3, iterations=1)
    benchmark.extra_info["peak_mib"] = round(peak, 1)
    diff = float(np.max(np.abs(_answer(kind, model) - reference)))
    benchmark.extra_info["max_diff"] = diff
    assert diff <= 1e-9


def test_dask_cluster(benchmark, stored, reference):
    distributed = pytest.importorskip("distributed")
    if benchmark.disabled:  # the smoke test: tests/test_dask_fits.py runs a LocalCluster
        pytest.skip("a LocalCluster of worker processes takes ~20 s to start here")
    kind, path, y, chunk = stored
    _group(benchmark, stored)
    X = _on_disk(path, chunk)
    with distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=True,
                                  dashboard_address=":0") as cluster, \
            distributed.Client(cluster) as client:
        model, peak = _peak(lambda: _fit(kind, X, y))
        benchmark.pedantic(lambda: _fit(kind, X, y), rounds=3, iterations=1)
        rss = client.run(lambda: resource.getrusage(resource.RUSAGE_SELF).ru_maxrss)
    benchmark.extra_info["peak_mib"] = round(peak, 1)
    benchmark.extra_info["worker_peak_rss_mib"] = [round(v / 1024, 1) for v in rss.values()]
    diff = float(np.max(np.abs(_answer(kind, model) - reference)))
    benchmark.extra_info["max_diff"] = diff
    assert diff <= 1e-9
