"""Study runner: scaling from 1 to 2 local workers, and the Dask per-replication overhead.

Run with ``pytest benchmarks/bench_engine.py --benchmark-only`` (add
``--benchmark-columns=min,median,max,rounds``); the Dask benchmarks need the
``dask`` extra and are skipped without it.

* group ``engine-scaling``: 60 quantile-regression replications (n_samples =
  50 000, quantiles 0.25 and 0.75: simulate, fit statoptim.QuantileRegressor;
  10-20 ms each)
  run in the calling process (``serial``), with joblib on 1 and 2 workers and
  on a Dask LocalCluster (processes, one thread each) with 1 and 2 workers.
  The cluster is started outside the timed region. Speed-up = time(1) / time(2).
* group ``engine-overhead``: 200 replications of a function that only draws
  one random number, serial vs Dask (one worker) with ``replications_per_task=1`` (one
  task per replication) and with the automatic batch size. (Dask time -
  serial time) / 200 is the per-replication overhead of the Dask backend.
"""
import time

import numpy as np
import pytest

from statoptim import QuantileRegressor
from statoptim.datasets import make_quantile_regression
from statoptim.studies.harness import run_grid

SETTINGS = [{"n_samples": 50_000, "quantile": 0.25}, {"n_samples": 50_000, "quantile": 0.75}]
N_REPS = 30
N_TRIVIAL = 200


def qr_replication(setting, rng):
    X, y = make_quantile_regression(setting["n_samples"], random_state=rng)
    model = QuantileRegressor(quantile=setting["quantile"]).fit(X, y)
    return {"intercept": model.intercept_, "coef": model.coef_}


def trivial_replication(setting, rng):
    return {"x": rng.random()}


def _check(records, n):
    assert len(records) == n
    assert all(np.isfinite(r["x"] if "x" in r else r["intercept"]) for r in records)


@pytest.fixture(scope="module")
def reference():
    from threadpoolctl import threadpool_limits

    with threadpool_limits(1):
        return run_grid(qr_replication, SETTINGS, N_REPS, backend="serial", progress=False)


@pytest.fixture(scope="module")
def cluster():
    distributed = pytest.importorskip("distributed")
    cluster = distributed.LocalCluster(n_workers=1, threads_per_worker=1, processes=True,
                                       dashboard_address="127.0.0.1:0", host="127.0.0.1",
                                       silence_logs=40)
    client = distributed.Client(cluster)
    yield cluster, client
    client.close()
    try:
        cluster.close()
    except KeyError:
        # distributed's LocalCluster can be told of a worker's removal after it already
        # dropped the worker from scheduler_info (a race after scaling down, seen under
        # load: KeyError in SpecCluster._update_worker_status); the cluster is closed.
        pass


def _same(records, reference):
    assert [r["intercept"] for r in records] == [r["intercept"] for r in reference]


def test_scaling_serial(benchmark, reference):
    from threadpoolctl import threadpool_limits

    benchmark.group = "engine-scaling"

    def run():
        with threadpool_limits(1):
            return run_grid(qr_replication, SETTINGS, N_REPS, backend="serial", progress=False)

    _same(benchmark.pedantic(run, rounds=3, iterations=1), reference)


@pytest.mark.parametrize("n_jobs", [1, 2])
def test_scaling_joblib(benchmark, reference, n_jobs):
    from threadpoolctl import threadpool_limits

    benchmark.group = "engine-scaling"
    # Warm the worker pool (process start-up is a one-off, not per-study cost).
    run_grid(qr_replication, [{"n_samples": 100, "quantile": 0.5}], 8, n_jobs=n_jobs,
             replications_per_task=1, progress=False)

    def run():
        with threadpool_limits(1):
            return run_grid(qr_replication, SETTINGS, N_REPS, n_jobs=n_jobs, progress=False)

    _same(benchmark.pedantic(run, rounds=3, iterations=1), reference)


def _scale(cluster, client, n_workers):
    """Resize the cluster and import everything on every worker (untimed)."""
    cluster.scale(n_workers)
    client.wait_for_workers(n_workers, timeout=120)
    while len(client.scheduler_info()["workers"]) > n_workers:  # scaling down
        time.sleep(0.1)
    run_grid(qr_replication, [{"n_samples": 100, "quantile": 0.5}], 4 * n_workers,
             scheduler=client, replications_per_task=1, progress=False)


@pytest.mark.parametrize("n_workers", [1, 2])
def test_scaling_dask(benchmark, reference, cluster, n_workers):
    cluster, client = cluster
    benchmark.group = "engine-scaling"
    _scale(cluster, client, n_workers)
    records = benchmark.pedantic(
        run_grid, args=(qr_replication, SETTINGS, N_REPS),
        kwargs={"scheduler": client, "progress": False}, rounds=3, iterations=1)
    _same(records, reference)


def test_overhead_serial(benchmark):
    benchmark.group = "engine-overhead"
    records = benchmark.pedantic(
        run_grid, args=(trivial_replication, [{}], N_TRIVIAL),
        kwargs={"backend": "serial", "replications_per_task": 1, "progress": False},
        rounds=3, iterations=1)
    _check(records, N_TRIVIAL)


@pytest.mark.parametrize("replications_per_task", [1, None], ids=["batch1", "auto"])
def test_overhead_dask(benchmark, cluster, replications_per_task):
    cluster, client = cluster
    benchmark.group = "engine-overhead"
    _scale(cluster, client, 1)
    records = benchmark.pedantic(
        run_grid, args=(trivial_replication, [{}], N_TRIVIAL),
        kwargs={"scheduler": client, "replications_per_task": replications_per_task,
                "progress": False},
        rounds=3, iterations=1)
    _check(records, N_TRIVIAL)


def timed_replication(setting, rng):
    start = time.perf_counter()
    out = qr_replication(setting, rng)
    out["time"] = time.perf_counter() - start
    return out


def main(rounds=5):
    """Interleaved timings (less sensitive to load drift than pytest-benchmark's blocks).

    ``python benchmarks/bench_engine.py [ROUNDS]`` prints, per configuration, the
    median wall time of the 60-replication workload, the speed-up over one
    worker, the median in-worker time of one replication (if that grows with 2
    workers, the cores were busy with other work, not with overhead) and
    "busy %": the summed in-worker time / (workers x wall time), the share of
    the workers' time spent in replications rather than in the runner. The
    speed-up on free cores is about 2 x busy(2 workers) / busy(1 worker).
    """
    import os
    import sys

    import distributed
    from threadpoolctl import threadpool_limits

    clusters = {n: distributed.LocalCluster(n_workers=n, threads_per_worker=1, processes=True,
                                            dashboard_address="127.0.0.1:0",
                                            host="127.0.0.1", silence_logs=40)
                for n in (1, 2)}
    clients = {n: distributed.Client(c) for n, c in clusters.items()}
    for client in clients.values():  # warm up: imports on every worker
        run_grid(qr_replication, [{"n_samples": 100, "quantile": 0.5}], 8, scheduler=client,
                 replications_per_task=1, progress=False)
    run_grid(qr_replication, [{"n_samples": 100, "quantile": 0.5}], 8, n_jobs=2,
             replications_per_task=1, progress=False)

    def run_on(**kwargs):
        return lambda: run_grid(timed_replication, SETTINGS, N_REPS, progress=False, **kwargs)

    configs = {"serial": run_on(backend="serial"), "joblib 2": run_on(n_jobs=2),
               "dask 1": run_on(scheduler=clients[1]), "dask 2": run_on(scheduler=clients[2])}
    walls = {k: [] for k in configs}
    per_rep = {k: [] for k in configs}
    busy = {k: [] for k in configs}
    with threadpool_limits(1):
        for _ in range(rounds):
            for name, run in configs.items():
                start = time.perf_counter()
                records = run()
                walls[name].append(time.perf_counter() - start)
                per_rep[name].append(np.median([r["time"] for r in records]))
                busy[name].append(sum(r["time"] for r in records))
    overhead = {}
    for replications_per_task in (1, None):
        t_dask, t_serial = [], []
        for _ in range(rounds):
            start = time.perf_counter()
            run_grid(trivial_replication, [{}], N_TRIVIAL, scheduler=clients[1],
                     replications_per_task=replications_per_task, progress=False)
            t_dask.append(time.perf_counter() - start)
            start = time.perf_counter()
            run_grid(trivial_replication, [{}], N_TRIVIAL, backend="serial", progress=False)
            t_serial.append(time.perf_counter() - start)
        overhead[replications_per_task] = (np.median(t_dask) - np.median(t_serial)) / N_TRIVIAL
    for n in clients:
        clients[n].close()
        clusters[n].close()
    print(f"load average before/after: {os.getloadavg()}  python {sys.version.split()[0]}")
    print(f"{'config':10s} {'wall s (median)':>16s} {'min':>7s} {'per-rep ms':>11s} "
          f"{'busy %':>7s}")
    workers = {"serial": 1, "joblib 2": 2, "dask 1": 1, "dask 2": 2}
    for name in configs:
        utilisation = np.median(np.array(busy[name]) / (workers[name] * np.array(walls[name])))
        print(f"{name:10s} {np.median(walls[name]):16.3f} {min(walls[name]):7.3f} "
              f"{1e3 * np.median(per_rep[name]):11.2f} {100 * utilisation:7.1f}")
    print(f"speed-up joblib 1->2 workers (serial = 1 worker): "
          f"{np.median(walls['serial']) / np.median(walls['joblib 2']):.2f}x; "
          f"dask 1->2 workers: {np.median(walls['dask 1']) / np.median(walls['dask 2']):.2f}x")
    print(f"dask overhead per replication: {1e3 * overhead[1]:.2f} ms with one task per "
          f"replication, {1e3 * overhead[None]:.2f} ms with the automatic batch size")


if __name__ == "__main__":
    import sys

    main(int(sys.argv[1]) if len(sys.argv) > 1 else 5)
