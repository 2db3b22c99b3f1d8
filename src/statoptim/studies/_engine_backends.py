"""Where the study engine runs its batches: in process, on joblib workers or on Dask.

:func:`_run_batch` runs one batch of replications of one setting (on a worker);
:func:`_plan` groups the missing replications into batches; ``_iter_serial``,
``_iter_joblib`` and ``_iter_dask`` yield the finished batches as they complete;
:func:`_connect` starts or reaches a Dask scheduler. The contract of the
replication function is in :mod:`statoptim.studies._engine`.
"""
from __future__ import annotations

import logging
import math
import re

import numpy as np

from statoptim._optional import INSTALL, optional_import
from statoptim._validation import _describe, available_cpus
from statoptim.studies._registry import CommandLineError

BACKENDS = ("joblib", "dask", "serial")
_MAX_AUTO_BATCH = 25
_ALLOWED_KINDS = "biufcU"


class SchedulerUnreachableError(CommandLineError, ConnectionError):
    """The Dask scheduler given by address did not answer in time."""



# --------------------------------------------------------------------------- seeding


def replication_seed(seed, setting_index, replication):
    """The :class:`numpy.random.SeedSequence` of one replication.

    Equal to ``SeedSequence(seed).spawn(n_settings)[setting_index]
    .spawn(n_replications)[replication]`` for any large enough ``n_settings`` and
    ``n_replications``, but built directly in O(1).
    """
    return np.random.SeedSequence(seed, spawn_key=(int(setting_index), int(replication)))


def _run_batch(func, setting, setting_index, replications, seed):
    """Run ``func`` on replications of one setting; return the batch as arrays.

    Executed on the workers. Returns ``{"setting_index": int, "replication":
    int64 array, "outputs": {name: array of shape (n_batch, ...)}}``.
    """
    outputs = []
    for r in replications:
        rng = np.random.default_rng(replication_seed(seed, setting_index, r))
        result = func(dict(setting), rng)
        outputs.append(_check_outputs(result, setting, r))
    names = list(outputs[0])
    arrays = {}
    for name in names:
        values = []
        for r, out in zip(replications, outputs):
            if list(out) != names:
                raise ValueError(
                    f"func must return the same output names for every replication; "
                    f"replication {r} of setting {setting!r} returned {sorted(out)}, "
                    f"replication {replications[0]} returned {sorted(names)}"
                )
            values.append(out[name])
        shapes = {v.shape for v in values}
        if len(shapes) != 1:
            raise ValueError(
                f"output {name!r} of func must have the same shape in every replication, "
                f"got shapes {sorted(shapes)} for setting {setting!r}"
            )
        arrays[name] = np.stack(values)
    return {
        "setting_index": int(setting_index),
        "replication": np.asarray(replications, dtype=np.int64),
        "outputs": arrays,
    }


def _check_outputs(result, setting, replication):
    """Validate what ``func`` returned for one replication; values as arrays."""
    if not isinstance(result, dict):
        raise ValueError(
            f"func must return a dict of outputs, got {type(result).__name__} for "
            f"replication {replication} of setting {setting!r}"
        )
    checked = {}
    for name in result:
        if not isinstance(name, str) or not name or "/" in name:
            raise ValueError(f"func output names must be non-empty str without '/', got {name!r}")
        if name == "replication" or name in setting:
            raise ValueError(
                f"func output {name!r} clashes with a setting key or 'replication'; "
                "records are {**setting, 'replication': r, **outputs}, so rename it"
            )
        value = np.asarray(result[name])
        if value.dtype.kind not in _ALLOWED_KINDS:
            raise ValueError(
                f"func output {name!r} must be a number, bool, str or numeric array, got "
                f"{type(result[name]).__name__} (dtype {value.dtype})"
            )
        checked[name] = value
    return dict(sorted(checked.items()))


def _resolve_backend(backend, scheduler):
    if backend is None:
        backend = "joblib" if scheduler is None else "dask"
    if backend not in BACKENDS:
        raise ValueError(f"backend must be one of {', '.join(map(repr, BACKENDS))}, "
                         f"got {_describe(backend)}")
    if scheduler is not None and backend != "dask":
        raise ValueError(f"scheduler is only used by the 'dask' backend, got "
                         f"backend={backend!r} with scheduler={_describe(scheduler)}")
    if backend == "dask" and scheduler is None:
        scheduler = "local"
    if isinstance(scheduler, str) and scheduler != "local" and \
            not re.fullmatch(r"([a-z][a-z0-9+.-]*://)?[^\s/:]+(:\d+)?", scheduler) and \
            not re.fullmatch(r"[a-z][a-z0-9+.-]*://\[[0-9a-fA-F:]+\](:\d+)?", scheduler):
        raise ValueError(
            f"scheduler must be 'local' or a Dask scheduler address such as "
            f"'tcp://HOST:PORT', got {scheduler!r}"
        )
    return backend, scheduler


# ------------------------------------------------------------------------ backends


def _plan(missing, n_workers, replications_per_task):
    """Group missing (setting, replication) pairs into per-setting batches."""
    by_setting = {}
    for s, r in missing:
        by_setting.setdefault(s, []).append(r)
    if replications_per_task is None:
        per_worker = math.ceil(len(missing) / (20 * max(1, n_workers)))
        replications_per_task = max(1, min(_MAX_AUTO_BATCH, per_worker))
    tasks = []
    for s in sorted(by_setting):
        reps = sorted(by_setting[s])
        step = replications_per_task
        tasks.extend((s, reps[i:i + step]) for i in range(0, len(reps), step))
    # Interleave settings so that partial results cover the whole grid early.
    return sorted(tasks, key=lambda t: (t[1][0], t[0]))


def _iter_serial(func, settings, tasks, seed):
    for s, reps in tasks:
        yield _run_batch(func, settings[s], s, reps, seed)


def _iter_joblib(func, settings, tasks, seed, n_jobs):
    from joblib import Parallel, delayed

    try:
        parallel = Parallel(n_jobs=n_jobs, return_as="generator_unordered")
    except ValueError:  # joblib < 1.4
        parallel = Parallel(n_jobs=n_jobs, return_as="generator")
    yield from parallel(delayed(_run_batch)(func, settings[s], s, reps, seed)
                        for s, reps in tasks)


def _no_cleanup():
    pass


def _connect(scheduler, n_jobs, timeout):
    """Return ``(client, cleanup)`` for a scheduler spec (``timeout``: seconds to reach
    a scheduler given by address)."""
    distributed = optional_import("distributed")
    if distributed is None:
        raise ImportError(f"the 'dask' backend needs Dask distributed: {INSTALL['distributed']} "
                          "(or pip install \"dask[distributed]\")")
    if isinstance(scheduler, distributed.Client):
        return scheduler, _no_cleanup
    if not isinstance(scheduler, str):
        raise ValueError("scheduler must be 'local', an address such as 'tcp://HOST:PORT' or "
                         f"a distributed.Client, got {_describe(scheduler)}")
    if scheduler == "local":
        n_workers = available_cpus() if n_jobs is None or n_jobs < 0 else n_jobs
        cluster = distributed.LocalCluster(
            n_workers=n_workers, threads_per_worker=1, processes=True,
            dashboard_address="127.0.0.1:0", host="127.0.0.1",
            # Failures reach this process as exceptions of the futures; the log
            # of the workers and scheduler (in the workers even errors, such as
            # a heartbeat to a scheduler already shut down) would only bury them.
            silence_logs=logging.CRITICAL,
            # the workers run dask_setup below: Ctrl-C is the main process's business
            preload=[__name__],
        )
        client = distributed.Client(cluster)

        def cleanup():
            client.close()
            cluster.close()

        return client, cleanup
    try:
        client = distributed.Client(scheduler, timeout=timeout)
    except Exception as exc:  # noqa: BLE001 - OSError, TimeoutError, protocol garbage
        raise SchedulerUnreachableError(
            f"could not connect to the Dask scheduler at scheduler={scheduler!r} within "
            f"{timeout:g} s ({type(exc).__name__}: {exc}). Is `dask scheduler` "
            "running there and reachable from this machine? Use --scheduler local for a "
            "cluster on this machine."
        ) from None
    return client, client.close


def dask_setup(worker):
    """Preload of the workers of ``scheduler="local"``: they ignore SIGINT.

    Ctrl-C in a terminal reaches every process of the foreground group; the
    workers of a local cluster then died with tracebacks that buried the
    main process's line saying what is saved. The main process shuts them
    down instead.
    """
    import signal
    import threading

    if threading.current_thread() is threading.main_thread():
        signal.signal(signal.SIGINT, signal.SIG_IGN)


def _iter_dask(func, settings, tasks, seed, client):
    from distributed import as_completed

    futures = [client.submit(_run_batch, func, settings[s], s, reps, seed, pure=False)
               for s, reps in tasks]
    try:
        # Not ``with_results=True``: its background gathers can stall for good
        # (dask/distributed#7331; seen here under load). One result at a time.
        for future in as_completed(futures):
            yield future.result()
    finally:
        client.cancel(futures)
