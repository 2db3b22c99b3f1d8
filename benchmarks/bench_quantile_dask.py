"""Exact median regression of data on disk: in memory against dask (issue "memory floor").

``X`` (n x 10, N(0, 1) columns; y = X 1 + t3 noise) is written to a ``.npy`` file
and read back by row-blocks: each dask task opens the file and reads its own rows
(``np.load(mmap_mode="r")``), so no process ever holds more than one block.
Timed in the same run:

* ``in-memory``: ``np.load`` of the whole file, then ``QuantileRegressor(0.5).fit``;
* ``dask-threads``: the dask array on the threaded scheduler of this process;
* ``dask-cluster``: a ``LocalCluster`` with two worker processes (one thread each).

``extra_info`` holds the peak memory: of this process during the fit (tracemalloc:
NumPy's allocations) and, for the cluster, each worker's peak resident set; and the
objective's relative gap to the in-memory fit (must be <= 1e-11).

Run: ``pytest benchmarks/bench_quantile_dask.py --benchmark-only -p no:cacheprovider``
(n = 10^7, 800 MB on disk). ``STATOPTIM_BENCH_ROWS=100000000`` runs the n = 10^8 case
(8 GB on disk; the in-memory fit is then skipped unless it fits in memory). With
``--benchmark-disable`` (the CI smoke test) n = 2 * 10^5.
"""
import os
import resource
import tracemalloc

import numpy as np
import pytest

da = pytest.importorskip("dask.array")
dask = pytest.importorskip("dask")

from statoptim import QuantileRegressor

N_FEATURES = 10
CHUNK = 1_000_000


def _rows(request):
    if request.config.getoption("benchmark_disable", False):
        return 200_000
    return int(os.environ.get("STATOPTIM_BENCH_ROWS", "10000000"))


@pytest.fixture(scope="module")
def stored(tmp_path_factory, request):
    """(path of X.npy, y) written block by block."""
    n = _rows(request)
    path = tmp_path_factory.mktemp("qr-dask") / "X.npy"
    X = np.lib.format.open_memmap(path, mode="w+", dtype=np.float64, shape=(n, N_FEATURES))
    y = np.empty(n)
    rng = np.random.default_rng(0)
    for start in range(0, n, CHUNK):
        stop = min(n, start + CHUNK)
        X[start:stop] = rng.standard_normal((stop - start, N_FEATURES))
        y[start:stop] = X[start:stop].sum(axis=1) + rng.standard_t(3, stop - start)
    X.flush()
    del X
    np.save(path.with_name("y.npy"), y)
    return path, y


def _read(path, start, stop):
    return np.array(np.load(path, mmap_mode="r")[start:stop])


def _on_disk(path, n, chunk, shape):
    """A dask array whose tasks each read their own rows of a ``.npy`` file."""
    blocks = [da.from_delayed(dask.delayed(_read)(str(path), s, min(n, s + chunk)),
                              shape=(min(n, s + chunk) - s, *shape), dtype=np.float64)
              for s in range(0, n, chunk)]
    return da.concatenate(blocks, axis=0)


def _dask_xy(path, n):
    return (_on_disk(path, n, CHUNK, (N_FEATURES,)),
            _on_disk(path.with_name("y.npy"), n, CHUNK, ()))


def _fit(X, y):
    return QuantileRegressor(quantile=0.5).fit(X, y)


def _peak(fn):
    tracemalloc.start()
    out = fn()
    peak = tracemalloc.get_traced_memory()[1] / 2**20
    tracemalloc.stop()
    return out, peak


@pytest.fixture(scope="module")
def reference(stored):
    path, y = stored
    if y.size * N_FEATURES * 8 > 0.4 * os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES"):
        return None
    return _fit(np.load(path), y).objective_


def test_in_memory(benchmark, stored, reference):
    path, y = stored
    if reference is None:
        pytest.skip("X does not fit comfortably in memory")
    benchmark.group = f"qr dask n={y.size}"
    model, peak = _peak(lambda: _fit(np.load(path), y))
    benchmark.extra_info["peak_mib"] = round(peak, 1)
    benchmark.pedantic(lambda: _fit(np.load(path), y), rounds=3, iterations=1)
    assert model.status_ == "optimal"


def test_dask_threads(benchmark, stored, reference):
    path, y = stored
    benchmark.group = f"qr dask n={y.size}"
    X, yd = _dask_xy(path, y.size)
    with dask.config.set(scheduler="threads"):
        model, peak = _peak(lambda: _fit(X, yd))
        benchmark.extra_info["peak_mib"] = round(peak, 1)
        benchmark.pedantic(lambda: _fit(X, yd), rounds=3, iterations=1)
    assert model.status_ == "optimal"
    if reference is not None:
        gap = abs(model.objective_ - reference) / reference
        benchmark.extra_info["gap"] = gap
        assert gap <= 1e-11


def test_dask_cluster(benchmark, stored, reference):
    distributed = pytest.importorskip("distributed")
    path, y = stored
    benchmark.group = f"qr dask n={y.size}"
    X, yd = _dask_xy(path, y.size)
    with distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=True,
                                  dashboard_address=None) as cluster, \
            distributed.Client(cluster) as client:
        model, peak = _peak(lambda: _fit(X, yd))
        benchmark.pedantic(lambda: _fit(X, yd), rounds=3, iterations=1)
        rss = client.run(lambda: resource.getrusage(resource.RUSAGE_SELF).ru_maxrss)
    benchmark.extra_info["peak_mib"] = round(peak, 1)
    benchmark.extra_info["worker_peak_rss_mib"] = [round(v / 1024, 1) for v in rss.values()]
    assert model.status_ == "optimal"
    if reference is not None:
        assert abs(model.objective_ - reference) / reference <= 1e-11
