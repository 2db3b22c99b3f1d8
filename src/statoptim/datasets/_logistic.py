"""Logistic-regression data: the talk's simulation design and MNIST/digits loaders.

``load_mnist`` reads IDX files (gzip or raw) from a path the user gives and never
downloads anything; ``load_digits_0v6`` is the shipped fallback built on
scikit-learn's ``load_digits``.
"""
from __future__ import annotations

import gzip
import os

import numpy as np

from statoptim._validation import _describe, check_positive_int, check_random_state

__all__ = ["make_logistic", "load_mnist", "read_idx", "mnist_binary", "load_digits_0v6"]

_MNIST_FILES = {
    "train_images": "train-images-idx3-ubyte",
    "train_labels": "train-labels-idx1-ubyte",
    "test_images": "t10k-images-idx3-ubyte",
    "test_labels": "t10k-labels-idx1-ubyte",
}


def make_logistic(n_samples=1000, n_features=19, *, n_test=0, rho=0.3, random_state=None):
    """The talk's design: equicorrelated Gaussian covariates and uniform coefficients.

    ``x_i = sqrt(1 - rho) z_i + sqrt(rho) u_i 1`` with z_i ~ N(0, I) and u_i ~ N(0, 1)
    (unit variances, pairwise correlation ``rho``), ``beta ~ U(-1, 1)^(p + 1)`` with the
    intercept first, ``y_i ~ Bernoulli(sigma(beta_0 + x_i . beta_{1:p}))``. The
    coefficients are drawn first, then the training rows, then the test rows.

    Parameters
    ----------
    n_samples : int, default=1000
        Training rows (the talk states 1000; its error rates reveal 480).
    n_features : int, default=19
        p (19 or 99 in the talk).
    n_test : int, default=0
        Extra test rows drawn from the same model (250 stated, 120 revealed).
    rho : float, default=0.3
    random_state : None, int or Generator

    Returns
    -------
    X : ndarray of shape (n_samples, n_features)
    y : ndarray of shape (n_samples,), int64 in {0, 1}
    beta : ndarray of shape (n_features + 1,)
        The true coefficients, intercept first.
    X_test, y_test : ndarrays, only if ``n_test > 0``
    """
    n_samples = check_positive_int(n_samples, "n_samples")
    n_features = check_positive_int(n_features, "n_features")
    n_test = check_positive_int(n_test, "n_test", minimum=0)
    if not (isinstance(rho, (int, float)) and 0.0 <= rho < 1.0):
        raise ValueError(f"rho must be a number in [0, 1), got {_describe(rho)}")
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


def read_idx(path):
    """Read one IDX file (gzip or raw) and return its uint8 array.

    Validates the two zero bytes, the type byte (0x08 = uint8), the dimensions and
    that the payload length is their product. Errors name the file.
    """
    path = os.fspath(path)
    if not os.path.isfile(path):
        raise ValueError(f"IDX file {path!r} does not exist (load_mnist never downloads; "
                         "give the folder holding the MNIST files)")
    with open(path, "rb") as fh:
        head = fh.read(2)
    opener = gzip.open if head == b"\x1f\x8b" else open
    try:
        with opener(path, "rb") as fh:
            data = fh.read()
    except (OSError, EOFError) as exc:
        raise ValueError(f"IDX file {path!r}: cannot decompress ({exc})") from None
    if len(data) < 4:
        raise ValueError(f"IDX file {path!r}: expected a 4-byte magic number, got "
                         f"{len(data)} byte(s)")
    if data[0] != 0 or data[1] != 0:
        raise ValueError(f"IDX file {path!r}: expected magic bytes 00 00, got "
                         f"{data[0]:02x} {data[1]:02x}")
    if data[2] != 0x08:
        raise ValueError(f"IDX file {path!r}: expected type byte 0x08 (uint8), got "
                         f"0x{data[2]:02x}")
    ndim = data[3]
    header = 4 + 4 * ndim
    if ndim == 0 or len(data) < header:
        raise ValueError(f"IDX file {path!r}: expected {ndim} dimension(s) in a "
                         f"{header}-byte header, got {len(data)} byte(s)")
    dims = tuple(int(d) for d in np.frombuffer(data, dtype=">u4", count=ndim, offset=4))
    expected = int(np.prod(dims))
    payload = len(data) - header
    if payload != expected:
        raise ValueError(f"IDX file {path!r}: expected {expected} data bytes for shape "
                         f"{dims}, got {payload} (truncated or corrupt file)")
    return np.frombuffer(data, dtype=np.uint8, offset=header).reshape(dims)


def _find(folder, stem):
    for name in (stem + ".gz", stem, stem.replace("-idx", ".idx")):
        p = os.path.join(folder, name)
        if os.path.isfile(p):
            return p
    raise ValueError(f"MNIST file {stem}(.gz) not found in {folder!r} "
                     "(load_mnist never downloads; give the folder holding the IDX files)")


def load_mnist(path, *, kind="train"):
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
    """
    if kind not in ("train", "test", "both"):
        raise ValueError(f"kind must be 'train', 'test' or 'both', got {_describe(kind)}")
    folder = os.fspath(path)
    if not os.path.isdir(folder):
        raise ValueError(f"path must be an existing directory with the MNIST IDX files, got "
                         f"{folder!r} (load_mnist never downloads)")
    out = []
    for split in (("train", "test") if kind == "both" else (kind,)):
        img = read_idx(_find(folder, _MNIST_FILES[f"{split}_images"]))
        lab = read_idx(_find(folder, _MNIST_FILES[f"{split}_labels"]))
        if img.ndim != 3 or lab.ndim != 1 or img.shape[0] != lab.shape[0]:
            raise ValueError(f"MNIST {split}: expected images (n, rows, cols) and labels (n,), "
                             f"got {img.shape} and {lab.shape}")
        out += [img.reshape(img.shape[0], -1), lab]
    return tuple(out)


def mnist_binary(images, labels, digits=(0, 6), *, dtype=np.float64):
    """Rows of two digits in their original order, pixels scaled by 1/255, y = 1 for
    the second digit (MNIST 0 vs 6: 11,841 train and 1,938 test rows)."""
    a, b = digits
    keep = (labels == a) | (labels == b)
    X = np.ascontiguousarray(images[keep], dtype=dtype) / dtype(255.0)
    return X, (labels[keep] == b).astype(np.int64)


def load_digits_0v6(*, dtype=np.float64):
    """scikit-learn's ``load_digits`` restricted to 0 vs 6 (359 rows, p = 64, /16).

    The shipped fallback for MNIST; label results as *digits*, never as MNIST.
    13 columns are all zero and the two classes are linearly separable.
    """
    from sklearn.datasets import load_digits

    d = load_digits()
    keep = (d.target == 0) | (d.target == 6)
    X = np.ascontiguousarray(d.data[keep], dtype=dtype) / dtype(16.0)
    return X, (d.target[keep] == 6).astype(np.int64)
