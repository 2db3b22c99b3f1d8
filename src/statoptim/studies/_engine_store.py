"""The results folder of the study engine: one run's replications on disk.

The format (``manifest.json``, ``chunks/*.npz``, ``.lock``) is described in
:mod:`statoptim.studies._engine`, "Results folder". :class:`_ResultsFolder`
checks, creates, locks, writes and reads a folder; :class:`_FolderLock` is its
exclusive ``flock``; :func:`_records` turns what was read into the records
:func:`statoptim.studies._engine.run_grid` returns.
"""
from __future__ import annotations

import hashlib
import io
import json
import os
import re
import socket
import time
import warnings

import numpy as np

from statoptim._validation import _describe
from statoptim.exceptions import CorruptResultsWarning
from statoptim.studies._output import COMMAND_FILE
from statoptim.studies._registry import CommandLineError, _probe_writable

try:
    import fcntl
except ImportError:  # pragma: no cover - Windows
    fcntl = None
    import msvcrt

_WIN_LOCK_OFFSET = 1 << 30

FORMAT = "statoptim-study-results"
FORMAT_VERSION = 1
SEEDING = "numpy.random.SeedSequence(seed, spawn_key=(setting_index, replication))"
_CHUNK_RE = re.compile(r"^s(\d{6})_r(\d{8})-(\d{8})_([0-9a-f]{32})\.npz$")
_OUTPUT_PREFIX = "outputs/"





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
