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
"""
from __future__ import annotations

import hashlib
import io
import json
import logging
import math
import numbers
import os
import re
import socket
import sys
import time
import warnings

import numpy as np

from statoptim._optional import INSTALL, Progress, installed, optional_import
from statoptim._validation import _describe, available_cpus, check_int
from statoptim.studies._output import COMMAND_FILE
from statoptim.studies._runner import (
    CommandLineError,
    _probe_writable,
    _StoreTrue,
    add_study_arguments,
    given,
    int_at_least,
)

try:
    import fcntl
except ImportError:  # pragma: no cover - Windows
    fcntl = None
    import msvcrt

_WIN_LOCK_OFFSET = 1 << 30

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

BACKENDS = ("joblib", "dask", "serial")
FORMAT = "statoptim-study-results"
FORMAT_VERSION = 1
SEEDING = "numpy.random.SeedSequence(seed, spawn_key=(setting_index, replication))"
# Seconds to wait for a Dask scheduler before giving up with a ConnectionError.
CONNECT_TIMEOUT = 5.0
_MAX_AUTO_BATCH = 25
_CHUNK_RE = re.compile(r"^s(\d{6})_r(\d{8})-(\d{8})_([0-9a-f]{32})\.npz$")
_OUTPUT_PREFIX = "outputs/"
_ALLOWED_KINDS = "biufcU"


class CorruptResultsWarning(UserWarning):
    """A stored results file failed its checksum and will be recomputed."""


class SchedulerUnreachableError(CommandLineError, ConnectionError):
    """The Dask scheduler given by address did not answer in time."""


class StudyInterrupted(KeyboardInterrupt):
    """Ctrl-C stopped a run; its one-line message (what is saved) is already printed.

    ``message`` is that line; ``reported`` is True.
    """

    reported = True

    def __init__(self, message):
        super().__init__(message)
        self.message = message


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


# ------------------------------------------------------------------- validation


def _canonical_settings(settings):
    if isinstance(settings, (str, bytes, dict)) or not hasattr(settings, "__iter__"):
        raise ValueError(f"settings must be a list of dicts, got {_describe(settings)}")
    settings = list(settings)
    if not settings:
        raise ValueError("settings must be a non-empty list of dicts, got an empty list")
    seen = {}
    for i, setting in enumerate(settings):
        if not isinstance(setting, dict):
            raise ValueError(f"settings[{i}] must be a dict, got {_describe(setting)}")
        if "replication" in setting:
            raise ValueError(f"settings[{i}] must not have the key 'replication' (it is reserved)")
        try:
            text = json.dumps(setting, sort_keys=True, separators=(",", ":"), allow_nan=False)
        except (TypeError, ValueError) as exc:
            raise ValueError(
                f"settings[{i}] must be JSON-serialisable (str keys; str, int, float, bool, "
                f"None, list or dict values; use int()/float() on NumPy scalars), "
                f"got {_describe(setting)}: {exc}"
            ) from None
        if json.loads(text) != setting:
            raise ValueError(
                f"settings[{i}] must survive a JSON round trip unchanged (str keys, lists "
                f"rather than tuples), got {_describe(setting)}"
            )
        if text in seen:
            raise ValueError(
                f"settings[{i}] duplicates settings[{seen[text]}] ({text}); "
                "records could not tell them apart"
            )
        seen[text] = i
    blob = json.dumps(settings, sort_keys=True, separators=(",", ":"))
    return settings, hashlib.sha256(blob.encode()).hexdigest()


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


# ----------------------------------------------------------------- results folder


def _atomic_write(path, data):
    tmp = f"{path}.{os.getpid()}.tmp"
    with open(tmp, "wb") as f:
        f.write(data)
        f.flush()
        os.fsync(f.fileno())
    os.replace(tmp, path)


class ResultsFolderError(CommandLineError, ValueError):
    """``out`` cannot be used: a file, not writable, or results of another run.

    A ``ValueError``; the ``statoptim`` command reports it on one line.
    """


class ResultsFolderLocked(ResultsFolderError):
    """``out`` is in use by another run (it holds the folder's lock)."""


LOCK_NAME = ".lock"


def _try_lock(fd):
    """Take an exclusive lock on ``fd`` without waiting; False if another holds it.

    ``flock`` locks belong to the open file, so the OS releases them when the
    holder exits however it exits (SIGKILL, crash, power loss of a client):
    a lock left by a dead run never blocks the next one.
    """
    if fcntl is not None:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            return False
        return True
    # Windows: lock one byte far past the holder's note (msvcrt locks are mandatory).
    os.lseek(fd, _WIN_LOCK_OFFSET, os.SEEK_SET)
    try:
        msvcrt.locking(fd, msvcrt.LK_NBLCK, 1)
    except OSError:
        return False
    return True


def _unlock(fd):
    if fcntl is not None:
        fcntl.flock(fd, fcntl.LOCK_UN)
    else:
        os.lseek(fd, _WIN_LOCK_OFFSET, os.SEEK_SET)
        msvcrt.locking(fd, msvcrt.LK_UNLCK, 1)


def _holder(fd):
    """The note the lock's holder wrote (``{pid, host, study, since}``), or {}."""
    try:
        os.lseek(fd, 0, os.SEEK_SET)
        note = json.loads(os.read(fd, 4096).decode("utf-8"))
        return note if isinstance(note, dict) else {}
    except (OSError, ValueError):  # empty while the holder is writing it
        return {}


def _no_locks_error(folder, exc):
    return ResultsFolderError(
        f"out={folder!r}: cannot lock {LOCK_NAME} ({exc.strerror or exc}); without file "
        "locks a second run on the folder could not be refused: use a folder on a local "
        "file system")


def _locked_error(path, fd):
    note = _holder(fd)
    who = ", ".join(f"{k} {note[k]}" for k in ("pid", "host", "study", "since") if k in note)
    return ResultsFolderLocked(
        f"out={path!r} is in use by another run ({who or 'starting up'}); two runs "
        "writing into one results folder would duplicate work. Wait for it to finish "
        "(or stop it with Ctrl-C and rerun to resume), or give another --out folder"
    )


class _FolderLock:
    """The exclusive lock of a results folder: ``flock`` on ``out/.lock``.

    The file holds a note naming the holder (pid, host, study, start time)
    for the error message of a refused run. It is never deleted: deleting a
    lock file races with a process that opened it just before and would then
    lock an orphan inode.
    """

    def __init__(self, fd):
        self.fd = fd

    @classmethod
    def acquire(cls, folder, study, required):
        """Lock ``folder``; if busy raise (``required``) or return None."""
        path = os.path.join(folder, LOCK_NAME)
        try:
            fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o644)
        except OSError as exc:
            if not required:
                return None
            raise ResultsFolderError(f"out={folder!r}: cannot create the lock file "
                                     f"{LOCK_NAME} ({exc.strerror or exc})") from None
        try:
            if not _try_lock(fd):
                if required:
                    raise _locked_error(folder, fd)
                os.close(fd)
                return None
        except OSError as exc:  # ENOLCK, EINVAL: no locks on this file system
            os.close(fd)
            if not required:
                return None
            raise _no_locks_error(folder, exc) from None
        except BaseException:
            os.close(fd)
            raise
        note = {"pid": os.getpid(), "host": socket.gethostname(), "study": study,
                "since": time.strftime("%Y-%m-%d %H:%M:%S")}
        try:
            os.ftruncate(fd, 0)
            os.lseek(fd, 0, os.SEEK_SET)
            os.write(fd, json.dumps(note).encode("utf-8"))
        except OSError:  # the note only improves messages
            pass
        return cls(fd)

    @staticmethod
    def probe(folder):
        """Raise :class:`ResultsFolderLocked` if a run holds ``folder``'s lock now."""
        path = os.path.join(folder, LOCK_NAME)
        fd = None
        # Read-write where allowed: NFS emulates flock by byte-range locks, whose
        # exclusive kind needs a file open for writing.
        for mode in (os.O_RDWR, os.O_RDONLY):
            try:
                fd = os.open(path, mode)
                break
            except FileNotFoundError:  # no lock file: nobody ever locked the folder
                return
            except OSError:
                continue
        if fd is None:
            return  # unreadable: acquire() will say what is wrong
        try:
            if not _try_lock(fd):
                raise _locked_error(folder, fd)
            _unlock(fd)
        except OSError as exc:
            raise _no_locks_error(folder, exc) from None
        finally:
            os.close(fd)

    def release(self):
        try:
            os.ftruncate(self.fd, 0)
        except OSError:
            pass
        try:
            _unlock(self.fd)
        finally:
            os.close(self.fd)


class _ResultsFolder:
    """The on-disk results of one study run (see the module docstring)."""

    def __init__(self, path, study, seed, settings, settings_sha256):
        self.path = os.fspath(path)
        self.chunks = os.path.join(self.path, "chunks")
        self.study, self.seed = study, seed
        self.settings, self.settings_sha256 = settings, settings_sha256
        self._lock = None

    @property
    def manifest_path(self):
        return os.path.join(self.path, "manifest.json")

    @property
    def locked(self):
        """Whether this run holds the folder's lock (it may then clean up files)."""
        return self._lock is not None

    def manifest(self):
        return {
            "format": FORMAT,
            "format_version": FORMAT_VERSION,
            "study": self.study,
            "seed": self.seed,
            "settings_sha256": self.settings_sha256,
            "seeding": SEEDING,
            "n_settings": len(self.settings),
            "settings": self.settings,
        }

    def _foreign_files(self):
        # (A manifest.json.PID.tmp is what a run killed while creating the folder left.)
        # command.txt: the statoptim command writes the exact command first.
        return [name for name in os.listdir(self.path)
                if not name.endswith(".tmp") and name not in (LOCK_NAME, COMMAND_FILE)]

    def _no_manifest_error(self):
        return ResultsFolderError(f"out={self.path!r} holds no study results (no "
                                  "manifest.json); run the study with this --out first")

    def _foreign_error(self):
        return ResultsFolderError(
            f"out={self.path!r} is a non-empty folder without a manifest.json, so it does "
            "not hold statoptim study results; give a new or empty folder")

    def check(self, create):
        """Raise :class:`ResultsFolderError` unless this run can use the folder.

        Changes nothing on disk: the pre-flight check of the command line,
        and the first step of :meth:`open`. ``create`` is True for a run that
        computes (the folder must be, or become, a writable results folder of
        this run, not in use by another run) and False for reading stored
        results (it must hold a manifest of this run).
        """
        if not self.path:
            raise ResultsFolderError("out must be a folder path, got ''")
        if os.path.exists(self.path) and not os.path.isdir(self.path):
            raise ResultsFolderError(f"out must be a directory, got the file {self.path!r}")
        if not os.path.exists(self.manifest_path):
            if not create:
                raise self._no_manifest_error()
            if os.path.isdir(self.path) and self._foreign_files():
                raise self._foreign_error()
        else:
            self._check_manifest()
        if os.path.exists(self.chunks) and not os.path.isdir(self.chunks):
            raise ResultsFolderError(f"out={self.path!r}: 'chunks' must be a folder, got a "
                                     "file; this is not a statoptim results folder")
        if create:
            parent = os.path.abspath(self.path)
            while not os.path.exists(parent):
                parent = os.path.dirname(parent)
            if not os.path.isdir(parent):
                raise ResultsFolderError(f"out={self.path!r} cannot be created: {parent!r} "
                                         "is a file")
            for folder in (parent, self.chunks):
                if os.path.isdir(folder):
                    try:
                        _probe_writable(folder)
                    except OSError as exc:
                        raise ResultsFolderError(
                            f"out={self.path!r} is not writable: cannot create files in "
                            f"{folder!r} ({exc.strerror or exc})") from None
            if os.path.isdir(self.path):
                _FolderLock.probe(self.path)

    def open(self, create):
        """Check the folder belongs to this run, create it if asked, and lock it.

        A computing run (``create``) must get the lock and raises
        :class:`ResultsFolderLocked` otherwise. A reading run takes it if it
        is free; if another run holds it, it reads without touching any
        file (the other run's temporary files are in flight). Release the
        lock with :meth:`close`.
        """
        self.check(create)
        if create:
            try:
                os.makedirs(self.path, exist_ok=True)
            except OSError as exc:
                raise ResultsFolderError(f"out={self.path!r} cannot be created "
                                         f"({exc.strerror or exc})") from None
        self._lock = _FolderLock.acquire(self.path, self.study, required=create)
        try:
            # Checked again under the lock: another run may have created the
            # folder since :meth:`check`.
            if os.path.exists(self.manifest_path):
                self._check_manifest()
            elif not create:
                raise self._no_manifest_error()
            elif self._foreign_files():
                raise self._foreign_error()
            else:
                text = json.dumps(self.manifest(), indent=1, sort_keys=True)
                _atomic_write(self.manifest_path, text.encode())
            if create:
                os.makedirs(self.chunks, exist_ok=True)
        except BaseException:
            self.close()
            raise

    def close(self):
        """Release the lock (if held)."""
        if self._lock is not None:
            self._lock.release()
            self._lock = None

    def _check_manifest(self):
        try:
            with open(self.manifest_path, encoding="utf-8") as f:
                stored = json.load(f)
        except (OSError, ValueError) as exc:
            raise ResultsFolderError(f"out={self.path!r}: cannot read manifest.json ({exc}); "
                                     "it is damaged or not a statoptim results folder") \
                from None
        if not isinstance(stored, dict) or stored.get("format") != FORMAT:
            raise ResultsFolderError(f"out={self.path!r}: manifest.json is not a statoptim "
                                     "study results manifest")
        if stored.get("format_version") != FORMAT_VERSION:
            raise ResultsFolderError(f"out={self.path!r} uses results format version "
                                     f"{stored.get('format_version')!r}; this statoptim reads "
                                     f"version {FORMAT_VERSION}")
        problems = []
        if stored.get("study") != self.study:
            problems.append(f"study {stored.get('study')!r} (this run: {self.study!r})")
        if stored.get("seed") != self.seed:
            problems.append(f"seed {stored.get('seed')!r} (this run: {self.seed!r})")
        if stored.get("settings_sha256") != self.settings_sha256:
            n_old = stored.get("n_settings")
            problems.append(
                f"a different settings grid ({n_old} settings, sha256 "
                f"{str(stored.get('settings_sha256'))[:12]}...; this run: "
                f"{len(self.settings)} settings, sha256 {self.settings_sha256[:12]}...)"
            )
        if problems:
            raise ResultsFolderError(
                f"out={self.path!r} holds results of another run: " + "; ".join(problems)
                + ". Mixing them would give wrong tables: use another --out folder, or "
                "delete this one to start over."
            )

    def write(self, batch):
        """Write one completed batch as a chunk file (atomically)."""
        arrays = {
            "setting_index": np.int64(batch["setting_index"]),
            "replication": batch["replication"],
            "study": np.str_(self.study),
            "settings_sha256": np.str_(self.settings_sha256),
            "seed": np.str_(str(self.seed)),  # str: seeds may exceed int64
        }
        for name, value in batch["outputs"].items():
            arrays[_OUTPUT_PREFIX + name] = value
        buf = io.BytesIO()
        np.savez(buf, **arrays)
        data = buf.getvalue()
        digest = hashlib.sha256(data).hexdigest()[:32]
        reps = batch["replication"]
        name = (f"s{batch['setting_index']:06d}_r{int(reps[0]):08d}-{int(reps[-1]):08d}_"
                f"{digest}.npz")
        _atomic_write(os.path.join(self.chunks, name), data)

    def _reject(self, path, reason):
        if not self.locked:  # another run holds the folder: touch nothing
            warnings.warn(f"results file {path} is {reason}; it is skipped",
                          CorruptResultsWarning, stacklevel=4)
            return
        warnings.warn(
            f"results file {path} is {reason}; it is set aside as {os.path.basename(path)}"
            ".corrupt and its replications are recomputed",
            CorruptResultsWarning, stacklevel=4,
        )
        try:
            os.replace(path, path + ".corrupt")
        except OSError:
            pass

    def read(self, n_replications):
        """Load every valid chunk: ``{(setting_index, replication): outputs}``.

        Without the lock (another run is writing) only complete chunks are
        read and no file is removed or renamed.
        """
        done = {}
        if not os.path.isdir(self.chunks):
            return done
        for fname in sorted(os.listdir(self.chunks)):
            path = os.path.join(self.chunks, fname)
            if fname.endswith(".tmp"):
                # Under the lock, a file of a run killed while writing: never complete.
                # Without it, possibly the writing run's chunk in flight.
                if self.locked:
                    try:
                        os.remove(path)
                    except OSError:
                        pass
                continue
            if not fname.endswith(".npz"):
                continue
            match = _CHUNK_RE.match(fname)
            if match is None:
                self._reject(path, "not named like a results chunk")
                continue
            with open(path, "rb") as f:
                data = f.read()
            if hashlib.sha256(data).hexdigest()[:32] != match.group(4):
                self._reject(path, "truncated or corrupted (its SHA-256 does not match its name)")
                continue
            try:
                with np.load(io.BytesIO(data), allow_pickle=False) as npz:
                    arrays = {key: npz[key] for key in npz.files}
                s = int(arrays["setting_index"])
                reps = arrays["replication"]
                ok = (str(arrays["study"]) == self.study
                      and str(arrays["settings_sha256"]) == self.settings_sha256
                      and str(arrays["seed"]) == str(self.seed))
            except Exception as exc:  # noqa: BLE001 - any unreadable file is set aside
                self._reject(path, f"unreadable ({type(exc).__name__}: {exc})")
                continue
            if not ok or not 0 <= s < len(self.settings) or s != int(match.group(1)):
                self._reject(path, "from another study, seed or settings grid")
                continue
            outputs = {k[len(_OUTPUT_PREFIX):]: v for k, v in arrays.items()
                       if k.startswith(_OUTPUT_PREFIX)}
            if reps.ndim != 1 or any(v.shape[:1] != reps.shape for v in outputs.values()):
                self._reject(path, "inconsistent (arrays of different lengths)")
                continue
            for i, r in enumerate(reps.tolist()):
                if r < n_replications and (s, r) not in done:
                    done[s, r] = {k: v[i] for k, v in outputs.items()}
        return done


def _to_python(value):
    return value.item() if value.ndim == 0 else value


def _records(settings, results):
    records = []
    for (s, r) in sorted(results):
        record = dict(settings[s])
        record["replication"] = r
        record.update((k, _to_python(v)) for k, v in results[s, r].items())
        records.append(record)
    return records


def _batch_results(batch):
    s = batch["setting_index"]
    return {(s, int(r)): {k: v[i] for k, v in batch["outputs"].items()}
            for i, r in enumerate(batch["replication"].tolist())}


# ------------------------------------------------------------------------ progress


# ------------------------------------------------------------------------ backends


def _plan(missing, n_workers, batch_size):
    """Group missing (setting, replication) pairs into per-setting batches."""
    by_setting = {}
    for s, r in missing:
        by_setting.setdefault(s, []).append(r)
    if batch_size is None:
        per_worker = math.ceil(len(missing) / (20 * max(1, n_workers)))
        batch_size = max(1, min(_MAX_AUTO_BATCH, per_worker))
    tasks = []
    for s in sorted(by_setting):
        reps = sorted(by_setting[s])
        tasks.extend((s, reps[i:i + batch_size]) for i in range(0, len(reps), batch_size))
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


def _connect(scheduler, n_jobs):
    """Return ``(client, cleanup)`` for a scheduler spec."""
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
        client = distributed.Client(scheduler, timeout=CONNECT_TIMEOUT)
    except Exception as exc:  # noqa: BLE001 - OSError, TimeoutError, protocol garbage
        raise SchedulerUnreachableError(
            f"could not connect to the Dask scheduler at scheduler={scheduler!r} within "
            f"{CONNECT_TIMEOUT:g} s ({type(exc).__name__}: {exc}). Is `dask scheduler` "
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


# ------------------------------------------------------------------------ public API


def run_grid(func, settings, n_replications, *, seed=0, study="study", backend=None,
             n_jobs=None, scheduler=None, out=None, progress=True, summarize_only=False,
             batch_size=None):
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
    batch_size : int or None, default=None
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
    if batch_size is not None:
        batch_size = check_int(batch_size, "batch_size", 1)
    if n_jobs is not None and n_jobs > 0:
        # More processes than CPUs is never faster, and thousands exhaust the machine.
        n_jobs = min(int(n_jobs), available_cpus())
    if summarize_only and out is None:
        raise ValueError("summarize_only=True needs out, the folder of stored results")

    if out is None:
        return _run(func, settings, n_replications, seed, study, backend, scheduler, n_jobs,
                    None, progress, summarize_only, batch_size)
    folder = _ResultsFolder(out, study, seed, settings, settings_sha256)
    folder.open(create=not summarize_only)
    try:
        return _run(func, settings, n_replications, seed, study, backend, scheduler, n_jobs,
                    folder, progress, summarize_only, batch_size)
    finally:
        folder.close()


def _run(func, settings, n_replications, seed, study, backend, scheduler, n_jobs, folder,
         progress, summarize_only, batch_size):
    """:func:`run_grid` after validation; ``folder`` is open (and locked) or None."""
    out = None if folder is None else folder.path
    limit = sys.maxsize if n_replications is None else n_replications
    try:
        results = {} if folder is None else folder.read(limit)
    except KeyboardInterrupt:
        if summarize_only:
            raise
        message = (f"{study}: interrupted while reading the stored results; they are kept "
                   f"in {out}; run the same command again to resume")
        print(f"\n{message}", file=sys.stderr, flush=True)
        raise StudyInterrupted(message) from None

    if summarize_only:
        total = None if n_replications is None else len(settings) * n_replications
        if total is not None and len(results) < total:
            warnings.warn(
                f"{out} holds {len(results)} of the {total} replications of study "
                f"{study!r}; the summary uses only those (rerun without --summarize-only "
                "to compute the rest)", UserWarning, stacklevel=3)
        return _records(settings, results)

    total = len(settings) * n_replications
    missing = [(s, r) for s in range(len(settings)) for r in range(n_replications)
               if (s, r) not in results]
    if not missing:
        return _records(settings, results)

    bar, batches, cleanup, interrupted = None, iter(()), _no_cleanup, None
    guard = _InterruptGuard()
    guard.install()
    try:
        if backend == "dask":
            client, cleanup = _connect(scheduler, n_jobs)
            n_workers = max(1, len(client.scheduler_info().get("workers", {})))
        elif backend == "joblib":
            from joblib import effective_n_jobs

            n_workers = effective_n_jobs(n_jobs)
        else:
            n_workers = 1
        tasks = _plan(missing, n_workers, batch_size)
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
        # After Ctrl-C: a second Ctrl-C must not cut the clean-up short, and the
        # shutdown of a local Dask cluster is not news; the line saying what is
        # saved comes last.
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
    return _records(settings, results)


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


# ------------------------------------------------------------------------------ CLI


def add_runner_arguments(parser, *, replications=100, seed=0, replications_help=None,
                         **kwargs):
    """Add the options of every study plus the study runner's to a study's sub-parser.

    The options of :func:`~statoptim.studies._runner.add_study_arguments`
    (``--out`` is also the results folder here) plus ``--summarize-only`` and
    ``--batch-size``; the defaults of ``--replications`` and ``--seed`` are
    the study's. Other keyword arguments (``jobs_help``, ``data_help``, ``unused``, ...) go
    to ``add_study_arguments``.
    """
    kwargs.setdefault("unused", ("data",))
    kwargs.setdefault(
        "out_help", "results folder: every finished batch of replications is saved there as "
                    "it completes (a rerun computes only what is missing; one run at a time), "
                    "beside the tables as CSV and JSON, the figures and command.txt; without "
                    "it nothing is written")
    kwargs.setdefault("jobs_help", "local worker processes (joblib; default -1: all cores; at "
                                   "most the CPUs available), or the number of workers of "
                                   "--scheduler local")
    group = add_study_arguments(
        parser, replications=replications,
        replications_help=replications_help or "Monte Carlo replications per setting "
                                               "(default: {default}; with --summarize-only: "
                                               "all stored)",
        seed=seed, **kwargs)
    group.add_argument("--summarize-only", action=_StoreTrue,
                       help="rebuild tables and figures from the replications stored in --out "
                            "without computing (all of them unless --replications is given)")
    group.add_argument("--batch-size", type=int_at_least(1), default=None, metavar="B",
                       help="replications per task and per results file (default: auto)")
    return parser


def check_runner_arguments(args, study, settings):
    """Pre-flight check of the options of :func:`add_runner_arguments`; computes nothing.

    Checks what the argparse types cannot: the ``--scheduler`` address (and
    that Dask is installed), ``--summarize-only`` without ``--out``, and the
    ``--out`` folder: not a file, creatable and writable, empty or holding
    results of this ``study``, seed and ``settings`` (the grid the run will
    pass to :func:`run_grid`), and not in use by another run. Raises
    ``ValueError`` (:class:`ResultsFolderError` for ``--out``) whose message
    starts with ``argument --OPTION:``.
    """
    scheduler = args.scheduler
    try:
        _resolve_backend("dask" if scheduler is not None else "joblib", scheduler)
    except ValueError as exc:
        raise ValueError(f"argument --scheduler: {exc}") from None
    if scheduler is not None and not installed("distributed"):
        raise ValueError("argument --scheduler: running on Dask needs Dask distributed, "
                         f"which is not installed ({INSTALL['distributed']})")
    if args.summarize_only and args.out is None:
        raise ValueError("argument --summarize-only: needs --out DIR, the folder of the "
                         "stored results")
    if args.out is not None:
        settings, sha = _canonical_settings(settings)
        folder = _ResultsFolder(args.out, study, args.seed, settings, sha)
        try:
            folder.check(create=not args.summarize_only)
        except ResultsFolderError as exc:
            raise type(exc)(f"argument --out: {exc}") from None


def runner_kwargs(args):
    """Keyword arguments of :func:`run_grid` from options added by :func:`add_runner_arguments`.

    Use as ``run_grid(func, settings, study=NAME, **runner_kwargs(args))``; it
    includes ``n_replications`` (None, i.e. all stored, for
    ``--summarize-only`` without ``--replications``) and ``seed``.
    """
    summarize_only = bool(getattr(args, "summarize_only", False))
    everything = summarize_only and not given(args, "replications")
    return {
        "n_replications": None if everything else args.replications,
        "seed": args.seed,
        "backend": "dask" if args.scheduler is not None else "joblib",
        "n_jobs": args.jobs,
        "scheduler": args.scheduler,
        "out": args.out,
        "progress": not args.no_progress,
        "summarize_only": summarize_only,
        "batch_size": getattr(args, "batch_size", None),
    }


def run_from_args(func, settings, study, args, *, n_replications=None):
    """:func:`run_grid` with the command-line options of :func:`add_runner_arguments`.

    With ``--summarize-only`` it says on stderr, in one line, how many
    replications are stored and used (all of them, or the first
    ``--replications`` per setting).

    Parameters
    ----------
    func, settings, study
        As :func:`run_grid`.
    args : argparse.Namespace
        The parsed options.
    n_replications : int or None, default=None
        Replications per setting instead of ``--replications``: for a study
        whose ``--replications`` counts something its settings already hold
        (data sets or splits named in each setting, run once each).

    Returns
    -------
    records : list of dict
        As :func:`run_grid`.
    """
    kwargs = runner_kwargs(args)
    if n_replications is not None:
        kwargs["n_replications"] = check_int(n_replications, "n_replications", 1)
    if not kwargs["summarize_only"]:
        return run_grid(func, settings, study=study, **kwargs)
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message=r".* holds \d+ of the \d+ replications",
                                category=UserWarning)
        records = run_grid(func, settings, study=study, **kwargs)
    settings = list(settings)
    counts = [0] * len(settings)
    for rec in records:
        for i, setting in enumerate(settings):
            if all(rec.get(k) == v for k, v in setting.items()):
                counts[i] += 1
                break
    low, high = min(counts), max(counts)
    per = f"{low}" if low == high else f"{low} to {high}"
    asked = kwargs["n_replications"]
    line = (f"--summarize-only: {len(records)} stored replications in {args.out} "
            f"({per} per setting x {len(settings)} settings); nothing is computed")
    if asked is not None and low < asked:
        line += (f"; --replications {asked} asked for more: rerun without --summarize-only "
                 "to compute the rest")
    prog = getattr(args, "_prog", None) or f"statoptim reproduce {study}"
    print(f"{prog}: {line}", file=sys.stderr, flush=True)
    return records
