"""The study runner: a grid of settings x replications on local cores or a Dask cluster.

Every ``statoptim reproduce ...`` Monte Carlo study runs through :func:`run_grid`::

    def one_replication(setting, rng):           # module level, so that it pickles
        X, y = make_quantile_regression(setting["n_samples"], random_state=rng)
        model = QuantileRegressor(quantile=setting["quantile"]).fit(X, y)
        return {"intercept": model.intercept_, "coef": model.coef_}

    settings = [{"n_samples": n, "quantile": q} for n in (500, 2000) for q in (0.25, 0.5)]
    records = run_grid(one_replication, settings, 200, study="quantile", seed=0,
                       out="results/quantile")

and its command line adds the options of every study and the runner's with
:func:`add_runner_arguments` and runs with ``run_from_args(func, settings, NAME,
args)`` (:func:`run_grid` with ``**runner_kwargs(args)``).

Contract
--------
``func(setting, rng) -> dict`` is called once per (setting, replication). It must be
a pure function of its arguments: ``setting`` is a copy of one dict of ``settings``
and ``rng`` is a :class:`numpy.random.Generator` seeded by

    ``numpy.random.SeedSequence(seed, spawn_key=(setting_index, replication))``,

which is exactly ``SeedSequence(seed).spawn(n_settings)[setting_index]
.spawn(n_replications)[replication]``. The seed depends only on the position of
the replication in the grid, never on which worker runs it, in which order or in
which batch, so every backend and every number of workers gives the same
numbers, bit for bit (outputs that measure time excepted, of course), and
adding replications later extends a study without changing the first ones.
``func`` returns a dict mapping output names (str) to numbers, booleans, strings
or fixed-shape numeric arrays. Each returned record is
``{**setting, "replication": r, **outputs}``; records are sorted by setting
(in the order of ``settings``) and then by replication.

Backends
--------
``"joblib"`` (the default) runs batches of replications on ``n_jobs`` local
processes (joblib's loky backend; ``n_jobs=None`` means 1, -1 all cores).
``"dask"`` submits them to a Dask distributed scheduler: ``scheduler`` is an
address such as ``"tcp://HOST:PORT"``, ``"local"`` for a
``distributed.LocalCluster`` of ``n_jobs`` single-threaded worker processes on
this machine (started and stopped by the run), or an existing
``distributed.Client``. Giving a scheduler selects the Dask backend. Dask is an
optional dependency: ``pip install "statoptim[dask]"``. ``"serial"`` runs in
the calling process (debugging, tests). Results are always written by the
calling process, so Dask workers need not share its file system.

Results folder (``out``)
------------------------
Each batch of replications is written to disk as soon as it completes, so a
run killed by SIGINT or SIGKILL loses only the batches in flight, and running
the same call again computes only what is missing. The folder holds:

``manifest.json``
    ``{"format": "statoptim-study-results", "format_version": 1, "study": ...,
    "seed": ..., "settings": [...], "settings_sha256": ..., "seeding": ...}``
    where ``settings_sha256`` is the SHA-256 of
    ``json.dumps(settings, sort_keys=True, separators=(",", ":"))``. A run whose
    study, seed or settings differ from the manifest refuses the folder.
``chunks/s{setting_index:06d}_r{first:08d}-{last:08d}_{digest}.npz``
    One NumPy ``.npz`` (a zip of ``.npy`` arrays, readable with ``numpy.load``)
    per completed batch, holding ``setting_index`` (0-d int64), ``replication``
    (int64, shape ``(n_batch,)``), ``study``, ``settings_sha256`` and ``seed``
    (0-d str arrays identifying the run) and one array ``outputs/<name>`` of shape
    ``(n_batch, ...)`` per output of ``func``. ``digest`` is the first 32 hex
    digits of the SHA-256 of the file's bytes (``sha256sum`` shows it). Files are
    written to a temporary name and renamed, so a kill never leaves a partial
    chunk; a chunk whose digest does not match (truncated, corrupted) or that
    belongs to another run is renamed to ``*.corrupt`` with a
    :class:`CorruptResultsWarning`, and its replications are recomputed.

``command.txt``, ``*.csv``, ``*.json``, ``*.png``
    What the ``statoptim`` command writes beside the results: the exact
    command (written first, so it is the one file a new results folder may
    already hold) and the study's tables and figures.
``.lock``
    Only one run may write into a results folder at a time: a computing run
    takes an exclusive ``flock`` on this file (holding a note with its pid,
    host, study and start time) and keeps it until it returns, so a second
    run on the same folder -- from this process or another, on this machine
    or, where the file system shares locks (NFS does), on another -- raises
    :class:`ResultsFolderLocked` naming the holder instead of duplicating its
    work. The OS releases the lock when the holder dies, however it dies, so
    a killed run never leaves a stale lock. The file itself stays. A file
    system without locks is refused (:class:`ResultsFolderError`).

:func:`load_results` reads a folder back into records; ``summarize_only=True``
returns the stored records without computing anything (tables and figures are
rebuilt from them). Both take the lock if it is free; while a run holds it they
read its completed chunks and touch no file.

Progress
--------
With ``progress=True`` a bar on stderr shows completed/total replications,
the rate and the time left (:class:`statoptim._optional.Progress`: tqdm's if
tqdm is importable, else a plain line printed at most every two seconds). It
counts replications as their batch completes, on every backend.

Interruption
------------
Ctrl-C stops the run: tasks in flight are cancelled, a local Dask cluster is
shut down (its workers ignore SIGINT, and its log is silenced meanwhile, so
no worker traceback follows), and only then one line on stderr says how many
replications are saved and that running the same command again resumes;
:class:`StudyInterrupted` (a ``KeyboardInterrupt``) is raised.

Modules
-------
This module holds :func:`run_grid`, :func:`load_results` and the handling of
Ctrl-C, and re-exports the rest: the results folder is
:mod:`statoptim.studies._engine_store`, the backends (batches, the joblib and
Dask schedulers) :mod:`statoptim.studies._engine_backends`, and the
command-line options :mod:`statoptim.studies._engine_cli`.
"""
from __future__ import annotations

import json
import numbers
import os
import sys
import warnings

from statoptim._optional import Progress
from statoptim._validation import _describe, available_cpus, check_int
from statoptim.exceptions import IncompleteResultsWarning
from statoptim.studies._engine_backends import (
    BACKENDS,
    SchedulerUnreachableError,
    _connect,
    _iter_dask,
    _iter_joblib,
    _iter_serial,
    _no_cleanup,
    _plan,
    _resolve_backend,
    replication_seed,
)
from statoptim.studies._engine_cli import (
    add_runner_arguments,
    check_runner_arguments,
    run_from_args,
    runner_kwargs,
)
from statoptim.studies._engine_store import (  # noqa: F401 (FORMAT ... SEEDING: re-exported)
    FORMAT,
    FORMAT_VERSION,
    LOCK_NAME,
    SEEDING,
    CorruptResultsWarning,
    ResultsFolderError,
    ResultsFolderLocked,
    _batch_results,
    _canonical_settings,
    _records,
    _ResultsFolder,
)

__all__ = [
    "BACKENDS",
    "CorruptResultsWarning",
    "ResultsFolderError",
    "ResultsFolderLocked",
    "SchedulerUnreachableError",
    "StudyInterrupted",
    "add_runner_arguments",
    "check_runner_arguments",
    "load_results",
    "replication_seed",
    "run_from_args",
    "run_grid",
    "runner_kwargs",
]

# Seconds to wait for a Dask scheduler before giving up with a ConnectionError.
CONNECT_TIMEOUT = 5.0


class StudyInterrupted(KeyboardInterrupt):
    """Ctrl-C stopped a run; its one-line message (what is saved) is already printed.

    ``message`` is that line; ``reported`` is True.
    """

    reported = True

    def __init__(self, message):
        super().__init__(message)
        self.message = message


# ------------------------------------------------------------------------ public API


def run_grid(func, settings, n_replications, *, seed=0, study="study", backend=None,
             n_jobs=None, scheduler=None, out=None, progress=True, summarize_only=False,
             replications_per_task=None):
    """Run ``func`` on every (setting, replication) of a Monte Carlo grid.

    Parameters
    ----------
    func : callable
        ``func(setting: dict, rng: numpy.random.Generator) -> dict`` returning
        named outputs (numbers, bools, strings or fixed-shape arrays). A pure
        function of its arguments, defined at module level so that it pickles.
    settings : list of dict
        The grid: JSON-serialisable dicts, all different.
    n_replications : int or None
        Replications per setting (>= 1). None only with ``summarize_only``:
        every replication stored.
    seed : int, default=0
        Root seed; replication ``r`` of ``settings[s]`` gets
        ``default_rng(SeedSequence(seed, spawn_key=(s, r)))``.
    study : str, default="study"
        Name recorded in the results folder (a folder of another study is refused).
    backend : {"joblib", "dask", "serial"} or None, default=None
        None means "dask" if ``scheduler`` is given, else "joblib".
    n_jobs : int or None, default=None
        joblib workers (None: 1, -1: all cores) or the number of workers of
        ``scheduler="local"``, at most the CPUs available. Ignored for a
        remote scheduler.
    scheduler : str, distributed.Client or None, default=None
        ``"tcp://HOST:PORT"``, ``"local"`` or a Client; selects the Dask backend.
    out : path or None, default=None
        Results folder: batches are written as they complete and reused by
        later runs (see the module docstring for the format). The run holds
        the folder's lock until it returns.
    progress : bool, default=True
        Show a progress bar (completed/total and time left) on stderr.
    summarize_only : bool, default=False
        Compute nothing: return the records stored in ``out``.
    replications_per_task : int or None, default=None
        Replications per task and per chunk file. None picks about 20 tasks per
        worker, at most 25 replications each.

    Returns
    -------
    records : list of dict
        ``{**setting, "replication": r, **outputs}`` sorted by setting, then
        replication. Scalars are Python numbers, array outputs NumPy arrays.

    Raises
    ------
    ValueError
        Bad arguments; :class:`ResultsFolderError` for an ``out`` that is a file,
        not writable or holds results of another study, seed or settings.
    ResultsFolderLocked
        Another run is writing into ``out`` (a :class:`ResultsFolderError`).
    ConnectionError
        The Dask scheduler cannot be reached within ``CONNECT_TIMEOUT`` seconds
        (:class:`SchedulerUnreachableError`).
    ImportError
        The Dask backend without Dask installed.
    StudyInterrupted
        Ctrl-C (a ``KeyboardInterrupt``), after one line on stderr saying what
        is saved.
    """
    if not callable(func):
        raise ValueError(f"func must be callable, got {_describe(func)}")
    settings, settings_sha256 = _canonical_settings(settings)
    if n_replications is not None or not summarize_only:
        n_replications = check_int(n_replications, "n_replications", 1)
    seed = check_int(seed, "seed", 0)
    if not isinstance(study, str) or not study:
        raise ValueError(f"study must be a non-empty str, got {_describe(study)}")
    backend, scheduler = _resolve_backend(backend, scheduler)
    if n_jobs is not None and (not isinstance(n_jobs, numbers.Integral)
                               or isinstance(n_jobs, bool) or n_jobs == 0):
        raise ValueError(f"n_jobs must be None or a non-zero int, got {_describe(n_jobs)}")
    if replications_per_task is not None:
        replications_per_task = check_int(replications_per_task, "replications_per_task", 1)
    if n_jobs is not None and n_jobs > 0:
        # More processes than CPUs is never faster, and thousands exhaust the machine.
        n_jobs = min(int(n_jobs), available_cpus())
    if summarize_only and out is None:
        raise ValueError("summarize_only=True needs out, the folder of stored results")

    if out is None:
        return _run(func, settings, n_replications, seed, study, backend, scheduler, n_jobs,
                    None, progress, summarize_only, replications_per_task)
    folder = _ResultsFolder(out, study, seed, settings, settings_sha256)
    folder.open(create=not summarize_only)
    try:
        return _run(func, settings, n_replications, seed, study, backend, scheduler, n_jobs,
                    folder, progress, summarize_only, replications_per_task)
    finally:
        folder.close()


def _run(func, settings, n_replications, seed, study, backend, scheduler, n_jobs, folder,
         progress, summarize_only, replications_per_task):
    """:func:`run_grid` after validation; ``folder`` is open (and locked) or None."""
    results = _read_stored(folder, n_replications, study, summarize_only)
    if summarize_only:
        total = None if n_replications is None else len(settings) * n_replications
        if total is not None and len(results) < total:
            warnings.warn(
                f"{folder.path} holds {len(results)} of the {total} replications of study "
                f"{study!r}; the summary uses only those (rerun without --summarize-only "
                "to compute the rest)", IncompleteResultsWarning, stacklevel=3)
        return _records(settings, results)
    missing = [(s, r) for s in range(len(settings)) for r in range(n_replications)
               if (s, r) not in results]
    if missing:
        runner = (backend, scheduler, n_jobs, replications_per_task)
        _compute(func, settings, seed, study, runner, folder, progress, results, missing)
    return _records(settings, results)


def _read_stored(folder, n_replications, study, summarize_only):
    """The replications stored in ``folder`` (``{}`` without one); Ctrl-C says they are kept."""
    if folder is None:
        return {}
    try:
        return folder.read(sys.maxsize if n_replications is None else n_replications)
    except KeyboardInterrupt:
        if summarize_only:
            raise
        message = (f"{study}: interrupted while reading the stored results; they are kept "
                   f"in {folder.path}; run the same command again to resume")
        print(f"\n{message}", file=sys.stderr, flush=True)
        raise StudyInterrupted(message) from None


def _start(backend, scheduler, n_jobs):
    """``(n_workers, client or None, cleanup)`` of a backend (a Dask cluster is started)."""
    if backend == "dask":
        client, cleanup = _connect(scheduler, n_jobs, CONNECT_TIMEOUT)
        return max(1, len(client.scheduler_info().get("workers", {}))), client, cleanup
    if backend == "joblib":
        from joblib import effective_n_jobs

        return effective_n_jobs(n_jobs), None, _no_cleanup
    return 1, None, _no_cleanup


def _compute(func, settings, seed, study, runner, folder, progress, results, missing):
    """Run the ``missing`` replications, adding each finished batch to ``results`` (and
    to ``folder``); on Ctrl-C, clean up quietly and say last what is saved.

    ``runner`` is ``(backend, scheduler, n_jobs, replications_per_task)``.
    """
    backend, scheduler, n_jobs, replications_per_task = runner
    out = None if folder is None else folder.path
    total = len(results) + len(missing)
    bar, batches, cleanup, interrupted = None, iter(()), _no_cleanup, None
    guard = _InterruptGuard()
    guard.install()
    try:
        n_workers, client, cleanup = _start(backend, scheduler, n_jobs)
        tasks = _plan(missing, n_workers, replications_per_task)
        if progress and results:
            print(f"{study}: resuming from {out}: {len(results)} of {total} replications "
                  f"stored, computing {len(missing)}", file=sys.stderr, flush=True)
        bar = Progress(total, study, unit="replication", enabled=progress,
                       initial=len(results))
        if backend == "dask":
            batches = _iter_dask(func, settings, tasks, seed, client)
        elif backend == "joblib":
            batches = _iter_joblib(func, settings, tasks, seed, n_jobs)
        else:
            batches = _iter_serial(func, settings, tasks, seed)
        for batch in batches:
            with _sigint_deferred():  # what is on disk and what is counted agree
                if folder is not None:
                    folder.write(batch)
                results.update(_batch_results(batch))
            bar.update(len(batch["replication"]))
    except KeyboardInterrupt:
        if folder is not None:
            interrupted = (f"{study}: interrupted; {len(results)} of {total} replications "
                           f"are saved in {out}; run the same command again to resume")
        else:
            interrupted = (f"{study}: interrupted after {len(results)} of {total} "
                           "replications; nothing is saved without --out DIR")
        raise StudyInterrupted(interrupted) from None
    finally:
        _finish(guard, bar, batches, cleanup, interrupted)


def _finish(guard, bar, batches, cleanup, interrupted):
    """Close the bar, stop the batches in flight, shut the backend down, restore Ctrl-C.

    After Ctrl-C (``interrupted`` is the line to print) a second Ctrl-C must
    not cut the clean-up short, and the shutdown of a local Dask cluster is
    not news; the line saying what is saved comes last.
    """
    if interrupted is not None:
        guard.shield()
    try:
        if bar is not None:
            bar.close()
        if hasattr(batches, "close"):  # stop a generator cut short: cancels tasks
            with warnings.catch_warnings():
                # joblib's count of finished-but-unused tasks: noise after Ctrl-C
                warnings.filterwarnings("ignore", message=r".*tasks have been "
                                        "successfully executed", category=UserWarning)
                batches.close()
        cleanup()
    finally:
        guard.restore()
    if interrupted is not None:
        print(f"\n{interrupted}", file=sys.stderr, flush=True)


class _sigint_deferred:
    """Ctrl-C inside the block takes effect at its end (main thread; else a no-op)."""

    def __enter__(self):
        import signal
        import threading

        self._old, self.caught = None, False
        if threading.current_thread() is threading.main_thread():
            old = signal.getsignal(signal.SIGINT)
            if old is not None:  # None: a handler not set from Python; leave it alone
                self._old = old
                signal.signal(signal.SIGINT, self._catch)
        return self

    def _catch(self, signum, frame):
        self.caught = True

    def __exit__(self, *exc):
        import signal

        if self._old is not None:
            signal.signal(signal.SIGINT, self._old)
            if self.caught:  # delivered again, now to the handler the caller had
                signal.raise_signal(signal.SIGINT)
        return False


class _InterruptGuard:
    """How a run takes Ctrl-C: quietly, and without a second one cutting it short.

    :meth:`install` (main thread, where Python's default SIGINT handler is in
    place) replaces that handler by one that first silences the loggers of
    Dask, Tornado and asyncio and then raises ``KeyboardInterrupt`` as usual:
    a Ctrl-C that lands inside Dask's client makes its event loop log errors
    and tracebacks (on the loop's thread, at once) that are no news to the
    user. :meth:`shield` ignores SIGINT during the clean-up; :meth:`restore`
    puts back the handler and the log levels.
    """

    _ROOTS = ("distributed", "tornado", "asyncio")

    def __init__(self):
        self._handler = None
        self._levels = None

    def install(self):
        import signal
        import threading

        if threading.current_thread() is not threading.main_thread():
            return
        if signal.getsignal(signal.SIGINT) is signal.default_int_handler:
            self._handler = signal.signal(signal.SIGINT, self._on_sigint)

    def _on_sigint(self, signum, frame):
        self._quiet()
        raise KeyboardInterrupt

    def _quiet(self):
        if self._levels is not None:
            return
        import logging

        names = set(self._ROOTS) | {name for name in list(logging.root.manager.loggerDict)
                                    if name.startswith(tuple(f"{r}." for r in self._ROOTS))}
        self._levels = []
        for name in sorted(names):
            logger = logging.getLogger(name)
            self._levels.append((logger, logger.level))
            logger.setLevel(logging.CRITICAL + 1)

    def shield(self):
        """After Ctrl-C: SIGINT ignored (if installed) and the loggers silenced."""
        import signal

        self._quiet()
        if self._handler is not None:
            signal.signal(signal.SIGINT, signal.SIG_IGN)

    def restore(self):
        """The SIGINT handler and the log levels as they were before :meth:`install`."""
        import signal

        if self._handler is not None:
            signal.signal(signal.SIGINT, self._handler)
            self._handler = None
        for logger, level in self._levels or ():
            logger.setLevel(level)
        self._levels = None


def load_results(out, settings=None, *, study=None, seed=None, n_replications=None):
    """Read a results folder back into records (no computation).

    Parameters
    ----------
    out : path
        A folder written by :func:`run_grid`.
    settings, study, seed : optional
        If given, they must match the folder's manifest; by default the
        manifest's own values are used.
    n_replications : int or None
        Keep replications ``< n_replications`` only (default: all stored).

    Returns
    -------
    records : list of dict
        As returned by :func:`run_grid`, for the replications stored.

    Notes
    -----
    While a run is writing into ``out`` (it holds the folder's lock), the
    chunks it has completed are read and no file is touched.
    """
    path = os.fspath(out)
    try:
        with open(os.path.join(path, "manifest.json"), encoding="utf-8") as f:
            manifest = json.load(f)
    except (OSError, ValueError) as exc:
        raise ResultsFolderError(f"out={path!r} is not a readable statoptim results folder: "
                                 f"{exc}") from None
    if not isinstance(manifest, dict):
        raise ResultsFolderError(f"out={path!r}: manifest.json is not a statoptim study "
                                 "results manifest")
    settings = manifest.get("settings") if settings is None else settings
    settings, sha = _canonical_settings(settings)
    study = manifest.get("study") if study is None else study
    seed = manifest.get("seed") if seed is None else seed
    limit = sys.maxsize if n_replications is None else check_int(
        n_replications, "n_replications", 1)
    folder = _ResultsFolder(path, study, seed, settings, sha)
    folder.open(create=False)
    try:
        return _records(settings, folder.read(limit))
    finally:
        folder.close()
