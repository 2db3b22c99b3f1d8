"""Logistic-regression data: the talk's simulation design and MNIST/digits loaders.

``load_mnist`` reads IDX files (gzip or raw) from a path the user gives and never
downloads anything; ``load_digits_0v6`` is the shipped fallback built on
scikit-learn's ``load_digits``.
"""
from __future__ import annotations

import gzip
import math
import os
import zlib
from typing import Literal

import numpy as np
from numpy.typing import ArrayLike

from statoptim._validation import (
    _describe,
    check_choice,
    check_int,
    check_random_state,
    check_real,
)
from statoptim.datasets._io import check_path

__all__ = ["load_digits_0v6", "load_mnist", "make_logistic", "mnist_binary", "read_idx"]

_MNIST_FILES = {
    "train_images": "train-images-idx3-ubyte",
    "train_labels": "train-labels-idx1-ubyte",
    "test_images": "t10k-images-idx3-ubyte",
    "test_labels": "t10k-labels-idx1-ubyte",
}


def make_logistic(
    n_samples: int = 1000, n_features: int = 19, *, n_test: int = 0, rho: float = 0.3,
    random_state: int | np.random.SeedSequence | np.random.Generator | None = None,
) -> tuple[np.ndarray, ...]:
    """The talk's design: equicorrelated Gaussian covariates and uniform coefficients.

    ``x_i = sqrt(1 - rho) z_i + sqrt(rho) u_i 1`` with z_i ~ N(0, I) and u_i ~ N(0, 1)
    (unit variances, pairwise correlation ``rho``), ``beta ~ U(-1, 1)^(p + 1)`` with the
    intercept first, ``y_i ~ Bernoulli(sigma(beta_0 + x_i . beta_{1:p}))``. The
    coefficients are drawn first, then the training rows, then the test rows.

    Parameters
    ----------
    n_samples : int >= 1, default=1000
        Training rows (the talk states 1000; its error rates reveal 480).
    n_features : int >= 1, default=19
        p (19 or 99 in the talk).
    n_test : int >= 0, default=0
        Extra test rows drawn from the same model (250 stated, 120 revealed).
    rho : float in [0, 1), default=0.3
    random_state : None, int >= 0, SeedSequence or Generator

    Returns
    -------
    X : ndarray of shape (n_samples, n_features)
    y : ndarray of shape (n_samples,), int64 in {0, 1}
    beta : ndarray of shape (n_features + 1,)
        The true coefficients, intercept first.
    X_test, y_test : ndarrays, only if ``n_test > 0``

    Examples
    --------
    >>> from statoptim.datasets import make_logistic
    >>> X, y, beta = make_logistic(100, 5, random_state=0)
    >>> X.shape, y.shape, beta.shape
    ((100, 5), (100,), (6,))
    """
    n_samples = check_int(n_samples, "n_samples", minimum=1)
    n_features = check_int(n_features, "n_features", minimum=1)
    n_test = check_int(n_test, "n_test", minimum=0)
    rho = check_real(rho, "rho", low=0.0, high=1.0, high_open=True)
    rng = check_random_state(random_state)
    beta = rng.uniform(-1.0, 1.0, n_features + 1)

    def draw(n):
        z = rng.standard_normal((n, n_features))
        u = rng.standard_normal((n, 1))
        X = np.sqrt(1.0 - rho) * z + np.sqrt(rho) * u
        eta = beta[0] + X @ beta[1:]
        y = (rng.random(n) < 0.5 * (1.0 + np.tanh(0.5 * eta))).astype(np.int64)
        return X, y

    X, y = draw(n_samples)
    if n_test:
        X_test, y_test = draw(n_test)
        return X, y, beta, X_test, y_test
    return X, y, beta


# numpy arrays have at most 64 dimensions; IDX files of MNIST have 1 or 3.
_IDX_MAX_NDIM = 32


def read_idx(path: str | os.PathLike[str]) -> np.ndarray:
    """Read one IDX file (gzip or raw) and return its uint8 array.

    Validates the two zero bytes, the type byte (0x08 = uint8), the dimensions and
    that the payload length is their product. The header is checked before the
    payload is read, and no more than the bytes the file really holds are ever
    read, so a damaged header cannot trigger a huge allocation. Errors name the file.

    Parameters
    ----------
    path : str or path-like
        The IDX file, raw or gzip-compressed.

    Returns
    -------
    array : ndarray of uint8
        Of the shape given in the header (read-only view of the file's bytes).

    Examples
    --------
    >>> import os, struct, tempfile
    >>> import numpy as np
    >>> from statoptim.datasets import read_idx
    >>> path = os.path.join(tempfile.mkdtemp(), "labels-idx1-ubyte")
    >>> with open(path, "wb") as f:                # magic 0x00000801: 1-D uint8
    ...     _ = f.write(struct.pack(">IIBBB", 0x801, 3, 7, 0, 6))
    >>> read_idx(path)
    array([7, 0, 6], dtype=uint8)
    """
    path = check_path(path, "path")
    if not os.path.exists(path):
        raise ValueError(f"path: IDX file {path!r} does not exist (load_mnist never "
                         "downloads; give the folder holding the MNIST files)")
    if not os.path.isfile(path):
        what = "a folder" if os.path.isdir(path) else "not a regular file"
        raise ValueError(f"path must be an IDX file, got {path!r}, which is {what}")
    with open(path, "rb") as fh:
        head = fh.read(2)
    compressed = head == b"\x1f\x8b"
    try:
        with (gzip.open if compressed else open)(path, "rb") as fh:
            return _parse_idx(fh, path, compressed)
    except (OSError, EOFError, zlib.error) as exc:
        raise ValueError(f"path: IDX file {path!r}: cannot "
                         f"{'decompress' if compressed else 'read'} it ({exc})") from None


def _parse_idx(fh, path, compressed):
    """Header, then exactly the payload the header announces (and one byte to spare)."""
    magic = fh.read(4)
    if len(magic) < 4:
        raise ValueError(f"path: IDX file {path!r}: expected a 4-byte magic number, got "
                         f"{len(magic)} byte(s)")
    if magic[0] != 0 or magic[1] != 0:
        raise ValueError(f"path: IDX file {path!r}: expected magic bytes 00 00, got "
                         f"{magic[0]:02x} {magic[1]:02x}")
    if magic[2] != 0x08:
        raise ValueError(f"path: IDX file {path!r}: expected type byte 0x08 (uint8), got "
                         f"0x{magic[2]:02x}")
    ndim = magic[3]
    header = 4 + 4 * ndim
    if not 1 <= ndim <= _IDX_MAX_NDIM:
        raise ValueError(f"path: IDX file {path!r}: expected 1 to {_IDX_MAX_NDIM} "
                         f"dimensions in the magic number, got {ndim}")
    raw_dims = fh.read(4 * ndim)
    if len(raw_dims) < 4 * ndim:
        raise ValueError(f"path: IDX file {path!r}: expected {ndim} dimension(s) in a "
                         f"{header}-byte header, got {4 + len(raw_dims)} byte(s)")
    dims = tuple(int.from_bytes(raw_dims[4 * k:4 * k + 4], "big") for k in range(ndim))
    expected = math.prod(dims)  # exact (Python ints): no overflow from a bogus header
    if not compressed:
        payload = os.fstat(fh.fileno()).st_size - header
        if payload != expected:
            raise ValueError(f"path: IDX file {path!r}: expected {expected} data bytes for "
                             f"shape {dims}, got {payload} (truncated or corrupt file)")
    # Read in chunks: memory stays bounded by what the file really holds.
    chunks, got = [], 0
    while got <= expected:
        chunk = fh.read(min(expected + 1 - got, 1 << 24))
        if not chunk:
            break
        chunks.append(chunk)
        got += len(chunk)
    if got != expected:
        more = " or more" if got > expected else ""
        raise ValueError(f"path: IDX file {path!r}: expected {expected} data bytes for "
                         f"shape {dims}, got {got}{more} (truncated or corrupt file)")
    return np.frombuffer(b"".join(chunks), dtype=np.uint8).reshape(dims)


def _find(folder, stem):
    """Path of the MNIST file ``stem`` (gzip or raw) in ``folder``, or a ``ValueError``."""
    for name in (stem + ".gz", stem, stem.replace("-idx", ".idx")):
        p = os.path.join(folder, name)
        if os.path.isfile(p):
            return p
    raise ValueError(f"MNIST file {stem}(.gz) not found in {folder!r} "
                     "(load_mnist never downloads; give the folder holding the IDX files)")


def load_mnist(path: str | os.PathLike[str], *,
               kind: Literal["train", "test", "both"] = "train") -> tuple[np.ndarray, np.ndarray]:
    """Read MNIST from IDX files in a folder given by the user (never downloads).

    Parameters
    ----------
    path : str or path-like
        A directory holding ``train-images-idx3-ubyte(.gz)``,
        ``train-labels-idx1-ubyte(.gz)``, ``t10k-images-idx3-ubyte(.gz)`` and
        ``t10k-labels-idx1-ubyte(.gz)``.
    kind : {"train", "test", "both"}, default="train"

    Returns
    -------
    images : ndarray of shape (n, 784), uint8 (scale by 1/255 yourself)
    labels : ndarray of shape (n,), uint8
        With ``kind="both"``: ``(X_train, y_train, X_test, y_test)``.

    Examples
    --------
    >>> import os, struct, tempfile
    >>> from statoptim.datasets import load_mnist
    >>> folder = tempfile.mkdtemp()
    >>> with open(os.path.join(folder, "train-images-idx3-ubyte"), "wb") as f:
    ...     _ = f.write(struct.pack(">IIII", 0x803, 2, 2, 2) + bytes(range(8)))
    >>> with open(os.path.join(folder, "train-labels-idx1-ubyte"), "wb") as f:
    ...     _ = f.write(struct.pack(">II", 0x801, 2) + bytes([0, 6]))
    >>> images, labels = load_mnist(folder)
    >>> images, labels
    (array([[0, 1, 2, 3],
           [4, 5, 6, 7]], dtype=uint8), array([0, 6], dtype=uint8))
    """
    kind = check_choice(kind, "kind", ("train", "test", "both"))
    path = check_path(path, "path")
    if not os.path.isdir(path):
        state = "a file" if os.path.exists(path) else "missing"
        raise ValueError(f"path must be an existing directory with the MNIST IDX files, got "
                         f"{path!r} ({state}; load_mnist never downloads)")
    folder = path
    out = []
    for split in (("train", "test") if kind == "both" else (kind,)):
        try:
            img_path = _find(folder, _MNIST_FILES[f"{split}_images"])
            lab_path = _find(folder, _MNIST_FILES[f"{split}_labels"])
        except ValueError as exc:
            raise ValueError(f"path: {exc}") from None
        img, lab = read_idx(img_path), read_idx(lab_path)
        if img.ndim != 3 or lab.ndim != 1 or img.shape[0] != lab.shape[0]:
            raise ValueError(f"MNIST {split}: expected images (n, rows, cols) and labels (n,), "
                             f"got {img.shape} and {lab.shape}")
        out += [img.reshape(img.shape[0], -1), lab]
    return tuple(out)


def _check_float_dtype(dtype):
    """``np.float32`` or ``np.float64`` (as a scalar type), or a named ``ValueError``."""
    try:
        dt = None if dtype is None else np.dtype(dtype)
    except (TypeError, ValueError):
        dt = None
    if dt is None or dt.type not in (np.float32, np.float64):
        raise ValueError(f"dtype must be numpy.float32 or numpy.float64, got {_describe(dtype)}")
    return dt.type


def mnist_binary(
    images: ArrayLike, labels: ArrayLike, digits: tuple[int, int] = (0, 6), *,
    dtype: type[np.float64 | np.float32] = np.float64,
) -> tuple[np.ndarray, np.ndarray]:
    """Rows of two digits in their original order, pixels scaled by 1/255, y = 1 for
    the second digit (MNIST 0 vs 6: 11,841 train and 1,938 test rows).

    Parameters
    ----------
    images : array of shape (n, n_pixels)
        Pixel values in [0, 255] (as returned by :func:`load_mnist`).
    labels : array of shape (n,)
        Integer digit labels.
    digits : pair of distinct ints, default=(0, 6)
        The digit coded 0 and the digit coded 1.
    dtype : {numpy.float64, numpy.float32}, default=numpy.float64

    Returns
    -------
    X : ndarray of shape (n_kept, n_pixels) and the given dtype
    y : ndarray of shape (n_kept,), int64 in {0, 1}

    Examples
    --------
    >>> import numpy as np
    >>> from statoptim.datasets import mnist_binary
    >>> images = np.array([[0, 255], [255, 0], [51, 102]], dtype=np.uint8)
    >>> labels = np.array([0, 6, 3], dtype=np.uint8)
    >>> X, y = mnist_binary(images, labels, digits=(0, 6))
    >>> X, y
    (array([[0., 1.],
           [1., 0.]]), array([0, 1]))
    """
    dtype = _check_float_dtype(dtype)
    if isinstance(digits, (str, bytes)) or not hasattr(digits, "__len__") \
            or len(digits) != 2:
        raise ValueError(f"digits must be a pair of two distinct integers, "
                         f"got {_describe(digits)}")
    a = check_int(digits[0], "digits[0]", minimum=-(2**63))
    b = check_int(digits[1], "digits[1]", minimum=-(2**63))
    if a == b:
        raise ValueError(f"digits must be two distinct integers, got {_describe(digits)}")
    images = _as_numeric(images, "images", "an array of shape (n, n_pixels) of pixels in "
                         "[0, 255]")
    if images.ndim != 2:
        raise ValueError(f"images must be a 2-D array of shape (n, n_pixels), got an array "
                         f"of shape {images.shape}")
    labels = _as_numeric(labels, "labels", "a 1-D array of integer digit labels")
    if labels.ndim != 1 or labels.shape[0] != images.shape[0]:
        raise ValueError(f"labels must be a 1-D array with one label per row of images "
                         f"({images.shape[0]}), got an array of shape {labels.shape}")
    if images.dtype.kind == "f" and not np.isfinite(images).all():
        raise ValueError("images must be finite, got NaN or inf")
    keep = (labels == a) | (labels == b)
    if not keep.any():
        seen = (f"labels range from {labels.min()} to {labels.max()}" if labels.size
                else "labels is empty")
        raise ValueError(f"labels must hold rows of the digits {a} or {b}, got none "
                         f"({seen})")
    X = np.ascontiguousarray(images[keep], dtype=dtype) / dtype(255.0)
    return X, (labels[keep] == b).astype(np.int64)


def _as_numeric(value, name, expected):
    """``value`` as a real numeric ndarray (bool excluded), or a named error."""
    try:
        arr = np.asarray(value)
    except (TypeError, ValueError) as exc:
        raise ValueError(f"{name} must be {expected}, got {_describe(value)} ({exc})") from None
    if arr.dtype.kind not in "iuf":
        raise TypeError(f"{name} must be {expected}, got an array of dtype {arr.dtype}")
    return arr


def load_digits_0v6(
    *, dtype: type[np.float64 | np.float32] = np.float64,
) -> tuple[np.ndarray, np.ndarray]:
    """scikit-learn's ``load_digits`` restricted to 0 vs 6 (359 rows, p = 64, /16).

    The shipped fallback for MNIST; label results as *digits*, never as MNIST.
    13 columns are all zero and the two classes are linearly separable.

    Parameters
    ----------
    dtype : {numpy.float64, numpy.float32}, default=numpy.float64

    Returns
    -------
    X : ndarray of shape (359, 64)
    y : ndarray of shape (359,), int64 (1 for the digit 6)

    Examples
    --------
    >>> from statoptim.datasets import load_digits_0v6
    >>> X, y = load_digits_0v6()
    >>> X.shape, int(y.sum()), float(X.max())
    ((359, 64), 181, 1.0)
    """
    from sklearn.datasets import load_digits

    dtype = _check_float_dtype(dtype)
    d = load_digits()
    keep = (d.target == 0) | (d.target == 6)
    X = np.ascontiguousarray(d.data[keep], dtype=dtype) / dtype(16.0)
    return X, (d.target[keep] == 6).astype(np.int64)
