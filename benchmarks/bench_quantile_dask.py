"""Exact median regression of data on disk: in memory against dask (issue 17).

``X`` (n x 10, N(0, 1) columns; y = X 1 + t3 noise) and ``y`` are written block by
block to two ``.npy`` files and read back by row-blocks of 10^6: each dask task opens
the file and reads its own rows (``np.load(mmap_mode="r")``), so no process ever holds
more than the blocks it is working on. Fitted in the same run:

* ``in-memory``: ``np.load`` of both files, then ``QuantileRegressor(0.5).fit``; run
  only when about 2.2 times X's bytes (X and ``[1, X]``) fit in the budget
  ``STATOPTIM_BENCH_MEMORY_GB`` (default: a quarter of the physical memory);
* ``dask-threads``: the dask array on the threaded scheduler of this process;
* ``dask-cluster``: a ``LocalCluster`` of two worker processes (one thread each),
  *spawned* (``distributed.worker.multiprocessing-method = "spawn"``: fresh
  interpreters, not forks of this process).

**Peak memory, measured per process.** ``ru_maxrss`` is no measure here: Linux keeps a
process's ``maxrss`` across ``fork`` *and* ``exec``, so a worker started by a process that
had held the in-memory fit reports that fit's peak. Instead, before each fit every
process (this one and each worker, through ``client.run``) resets its resident-set
high-water mark (``echo 5 > /proc/self/clear_refs``, Linux >= 4.0) and reads ``VmHWM``
and ``VmRSS`` from ``/proc/self/status`` after it: the peak resident set during the fit
itself, exact (kept by the kernel, no sampling). Where ``clear_refs`` cannot be written
(another OS) a thread samples ``psutil``'s RSS every 5 ms instead. ``extra_info`` holds,
per process, the peak during the fit and its rise over the resident set at the start
(``client`` is this process, which also runs the ``LocalCluster``'s scheduler).

**Time.** Wall time (pytest-benchmark) and CPU time: this process's (every thread) plus,
for the cluster, each worker's (``getrusage`` deltas through ``client.run``). On a
loaded machine the CPU time is the fairer figure; wall time needs an idle machine.

Run: ``pytest benchmarks/bench_quantile_dask.py --benchmark-only -p no:cacheprovider``
(n = 10^7, 800 MB on disk). ``STATOPTIM_BENCH_ROWS=100000000`` runs n = 10^8 (8 GB on
disk; the in-memory fit is skipped unless it fits the budget);
``STATOPTIM_BENCH_DIR`` puts the files in that folder instead of pytest's temporary
one (they are deleted at the end); ``STATOPTIM_BENCH_ROUNDS`` sets the rounds (3).
With ``--benchmark-disable`` (the CI smoke test) n = 2 * 10^5.
"""
import os
import resource
import threading
import time
from pathlib import Path

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


def _rounds():
    return int(os.environ.get("STATOPTIM_BENCH_ROUNDS", "3"))


@pytest.fixture(scope="module")
def stored(tmp_path_factory, request):
    """(path of X.npy, path of y.npy, n) written block by block; deleted afterwards."""
    n = _rows(request)
    folder = os.environ.get("STATOPTIM_BENCH_DIR")
    if folder:
        folder = Path(folder)
        folder.mkdir(parents=True, exist_ok=True)
    else:
        folder = tmp_path_factory.mktemp("qr-dask")
    path, ypath = folder / f"X-{n}.npy", folder / f"y-{n}.npy"
    rng = np.random.default_rng(0)
    # written block by block with plain writes: a writable memmap would count every
    # written page in this process's resident set (8 GB at n = 10^8)
    with open(path, "wb") as fx, open(ypath, "wb") as fy:
        for f, shape in ((fx, (n, N_FEATURES)), (fy, (n,))):
            np.lib.format.write_array_header_1_0(
                f, {"descr": "<f8", "fortran_order": False, "shape": shape})
        for start in range(0, n, CHUNK):
            stop = min(n, start + CHUNK)
            block = rng.standard_normal((stop - start, N_FEATURES))
            fx.write(block.tobytes())
            fy.write((block.sum(axis=1) + rng.standard_t(3, stop - start)).tobytes())
    yield path, ypath, n
    path.unlink(missing_ok=True)
    ypath.unlink(missing_ok=True)


# ---------------------------------------------------------------------------
# Peak resident set of one process during a fit
# ---------------------------------------------------------------------------

def _status_kib(field):
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith(field + ":"):
                return int(line.split()[1])
    raise OSError(field)


class _Sampler:
    """Fallback: the largest RSS seen by a thread polling every 5 ms."""

    def __init__(self):
        import psutil

        self.proc, self.peak, self.stop = psutil.Process(), 0, threading.Event()
        self.thread = threading.Thread(target=self._run, daemon=True)
        self.thread.start()

    def _run(self):
        while not self.stop.is_set():
            self.peak = max(self.peak, self.proc.memory_info().rss)
            time.sleep(0.005)


_SAMPLER = None


def mem_start():
    """Reset this process's peak RSS; return (RSS now in MiB, CPU seconds so far, method)."""
    global _SAMPLER
    usage = resource.getrusage(resource.RUSAGE_SELF)
    cpu = usage.ru_utime + usage.ru_stime
    try:
        with open("/proc/self/clear_refs", "w") as f:
            f.write("5")
        return _status_kib("VmRSS") / 1024, cpu, "VmHWM"
    except OSError:
        if _SAMPLER is not None:
            _SAMPLER.stop.set()
        _SAMPLER = _Sampler()
        return _SAMPLER.proc.memory_info().rss / 2**20, cpu, "psutil sampling"


def mem_peak():
    """(peak RSS in MiB since ``mem_start``, CPU seconds so far)."""
    usage = resource.getrusage(resource.RUSAGE_SELF)
    cpu = usage.ru_utime + usage.ru_stime
    if _SAMPLER is None:
        return _status_kib("VmHWM") / 1024, cpu
    _SAMPLER.peak = max(_SAMPLER.peak, _SAMPLER.proc.memory_info().rss)
    return _SAMPLER.peak / 2**20, cpu


class _Rounds:
    """Runs the fit once per benchmark round, keeping peak memory and CPU of each."""

    def __init__(self, fit, client=None):
        self.fit, self.client = fit, client
        self.cpu, self.peak, self.rise, self.workers = [], [], [], []
        self.model = None

    def __call__(self):
        self.model = None  # an in-memory model keeps X for summary(): not into the next round
        start = mem_start()
        cpu0 = time.process_time()
        w_start = self.client.run(mem_start) if self.client is not None else {}
        self.model = self.fit()
        peak, _ = mem_peak()
        cpu = time.process_time() - cpu0
        self.peak.append(peak)
        self.rise.append(peak - start[0])
        self.method = start[2]
        if self.client is not None:
            w_end = self.client.run(mem_peak)
            self.workers.append({
                i: {"peak_mib": round(w_end[a][0], 1),
                    "rise_mib": round(w_end[a][0] - w_start[a][0], 1),
                    "cpu_s": round(w_end[a][1] - w_start[a][1], 2)}
                for i, a in enumerate(sorted(w_end))})
            cpu += sum(w_end[a][1] - w_start[a][1] for a in w_end)
        self.cpu.append(cpu)

    def record(self, benchmark):
        info = benchmark.extra_info
        info["n"] = self.n
        info["memory_method"] = self.method
        info["cpu_s"] = [round(c, 2) for c in self.cpu]
        info["client_peak_mib"] = [round(v, 1) for v in self.peak]
        info["client_rise_mib"] = [round(v, 1) for v in self.rise]
        if self.workers:
            info["workers"] = self.workers
            info["worker_peak_mib"] = max(v["peak_mib"] for r in self.workers
                                          for v in r.values())
        info["objective"] = self.model.objective_


# ---------------------------------------------------------------------------
# Data and fits
# ---------------------------------------------------------------------------

def _read(path, start, stop):
    return np.array(np.load(path, mmap_mode="r")[start:stop])


def _on_disk(path, n, chunk, shape):
    """A dask array whose tasks each read their own rows of a ``.npy`` file."""
    blocks = [da.from_delayed(dask.delayed(_read)(str(path), s, min(n, s + chunk)),
                              shape=(min(n, s + chunk) - s, *shape), dtype=np.float64)
              for s in range(0, n, chunk)]
    return da.concatenate(blocks, axis=0)


def _dask_xy(stored):
    path, ypath, n = stored
    return _on_disk(path, n, CHUNK, (N_FEATURES,)), _on_disk(ypath, n, CHUNK, ())


def _fit(X, y):
    return QuantileRegressor(quantile=0.5).fit(X, y)


def _fits_in_memory(n):
    budget = os.environ.get("STATOPTIM_BENCH_MEMORY_GB")
    budget = (float(budget) * 2**30 if budget
              else 0.25 * os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES"))
    return 2.2 * n * N_FEATURES * 8 <= budget


@pytest.fixture(scope="module")
def reference():
    """The in-memory objective, once test_in_memory ran (else None)."""
    return {}


def _check(runs, reference):
    assert runs.model.status_ == "optimal"
    if "objective" in reference:
        gap = abs(runs.model.objective_ - reference["objective"]) / reference["objective"]
        assert gap <= 1e-11
        return gap
    return None


def test_in_memory(benchmark, stored, reference):
    path, ypath, n = stored
    if not _fits_in_memory(n):
        pytest.skip("X does not fit comfortably in memory (STATOPTIM_BENCH_MEMORY_GB)")
    benchmark.group = f"qr dask n={n}"
    runs = _Rounds(lambda: _fit(np.load(path), np.load(ypath)))
    runs.n = n
    benchmark.pedantic(runs, rounds=_rounds(), iterations=1)
    runs.record(benchmark)
    reference["objective"] = runs.model.objective_
    assert runs.model.status_ == "optimal"


def test_dask_threads(benchmark, stored, reference):
    benchmark.group = f"qr dask n={stored[2]}"
    X, y = _dask_xy(stored)
    runs = _Rounds(lambda: _fit(X, y))
    runs.n = stored[2]
    with dask.config.set(scheduler="threads"):
        benchmark.pedantic(runs, rounds=_rounds(), iterations=1)
    runs.record(benchmark)
    benchmark.extra_info["gap"] = _check(runs, reference)


def test_dask_cluster(benchmark, stored, reference):
    distributed = pytest.importorskip("distributed")
    benchmark.group = f"qr dask n={stored[2]}"
    X, y = _dask_xy(stored)
    with dask.config.set({"distributed.worker.multiprocessing-method": "spawn"}), \
            distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=True,
                                     dashboard_address=":0") as cluster, \
            distributed.Client(cluster) as client:
        runs = _Rounds(lambda: _fit(X, y), client)
        runs.n = stored[2]
        benchmark.pedantic(runs, rounds=_rounds(), iterations=1)
    runs.record(benchmark)
    benchmark.extra_info["gap"] = _check(runs, reference)
