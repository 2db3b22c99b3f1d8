"""Simulation designs and the real-data loader of the FIT-SSVD study.

See docs/ssvd.rst, "Simulation designs".
"""
from __future__ import annotations

import numbers
import os
from collections.abc import Sequence

import numpy as np

from statoptim._validation import _describe, check_int, check_real
from statoptim.datasets._io import check_dir, check_file, parse_float, read_csv_rows

__all__ = ["LUNG_GROUPS", "load_lung200", "make_lung_spiked", "make_rank_one_ssvd"]

# Column groups of the lung data, in the real data's order.
LUNG_GROUPS = (("Carcinoid", 20), ("Colon", 13), ("Normal", 17), ("SmallCell", 6))


def make_rank_one_ssvd(rep: int = 0) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Rank-one example of Lee et al. (2010): 100 x 50, d = 50, N(0, 1) noise.

    u is proportional to (10, 9, ..., 3, 2 (x17), 0 (x75)) and v to
    (10, -10, 8, -8, 5, -5, 3 (x5), -3 (x5), 0 (x34)), both unit norm. The
    noise is ``default_rng(20140923 + rep).standard_normal((100, 50))``.

    Parameters
    ----------
    rep : int >= 0, default=0
        Replication number (selects the noise seed).

    Returns
    -------
    X : ndarray of shape (100, 50)
    U : ndarray of shape (100, 1)
    d : ndarray of shape (1,)
    V : ndarray of shape (50, 1)

    Examples
    --------
    >>> from statoptim.datasets import make_rank_one_ssvd
    >>> X, u, d, v = make_rank_one_ssvd(0)
    >>> X.shape, d, int((u != 0).sum()), int((v != 0).sum())
    ((100, 50), array([50.]), 25, 16)
    """
    rep = check_int(rep, "rep", minimum=0)
    u = np.r_[np.arange(10, 2, -1), np.full(17, 2.0), np.zeros(75)].astype(float)
    v = np.r_[10, -10, 8, -8, 5, -5, np.full(5, 3.0), np.full(5, -3.0), np.zeros(34)]
    u /= np.linalg.norm(u)
    v /= np.linalg.norm(v)
    d = np.array([50.0])
    Z = np.random.default_rng(20140923 + rep).standard_normal((100, 50))
    return d[0] * np.outer(u, v) + Z, u[:, None], d, v[:, None]


def make_lung_spiked(rep: int = 0, *, n_samples: int = 12_625,
                     d: Sequence[float] = (150.0, 100.0, 70.0),
                     u_sizes: Sequence[int] = (200, 120, 60),
                     sigma: float = 1.0) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Lung-sized spiked model: 12,625 x 56, rank 3 (docs/ssvd.rst, "Simulation designs").

    v_1, v_2, v_3 live on the Carcinoid, Colon and SmallCell columns (random
    sign x Uniform(0.5, 1), centred within the support, unit norm); the
    Normal columns are pure noise. The u_k have disjoint random supports of
    200, 120 and 60 rows with magnitudes decreasing linearly from 1 to 0.2,
    random signs and unit norm. Draws from ``default_rng(56012625 + rep)`` in
    the order of docs/ssvd.rst, "Simulation designs".

    Parameters
    ----------
    rep : int >= 0, default=0
        Replication number (selects the seed).
    n_samples : int, default=12625
        Rows; at least ``sum(u_sizes)`` (the supports are disjoint).
    d : sequence of 3 finite numbers > 0, default=(150, 100, 70)
        Singular values.
    u_sizes : sequence of 3 integers >= 1, default=(200, 120, 60)
        Support sizes of u_1, u_2, u_3.
    sigma : finite float >= 0, default=1.0
        Noise standard deviation.

    Returns
    -------
    X : ndarray of shape (n_samples, 56)
    U : ndarray of shape (n_samples, 3)
    d : ndarray of shape (3,)
    V : ndarray of shape (56, 3)

    Examples
    --------
    >>> from statoptim.datasets import make_lung_spiked
    >>> X, U, d, V = make_lung_spiked(0, n_samples=1000, u_sizes=(40, 30, 20))
    >>> X.shape, d
    ((1000, 56), array([150., 100.,  70.]))
    >>> int((U != 0).any(axis=1).sum()), int((V != 0).any(axis=1).sum())
    (90, 39)
    """
    rep = check_int(rep, "rep", minimum=0)
    d = _triple(d, "d", "finite numbers > 0")
    d = np.array([check_real(x, f"d[{k}]", low=0, low_open=True) for k, x in enumerate(d)])
    u_sizes = _triple(u_sizes, "u_sizes", "integers >= 1")
    u_sizes = [check_int(x, f"u_sizes[{k}]", minimum=1) for k, x in enumerate(u_sizes)]
    n_samples = check_int(n_samples, "n_samples", minimum=sum(u_sizes))
    sigma = check_real(sigma, "sigma", low=0)
    rng = np.random.default_rng(56012625 + rep)
    n_features = sum(size for _, size in LUNG_GROUPS)
    starts = np.cumsum([0] + [size for _, size in LUNG_GROUPS])
    groups = {name: np.arange(starts[g], starts[g + 1])
              for g, (name, _) in enumerate(LUNG_GROUPS)}
    V = np.zeros((n_features, 3))
    for k, name in enumerate(("Carcinoid", "Colon", "SmallCell")):
        cols = groups[name]
        signs = rng.choice([-1, 1], size=cols.size)
        mags = rng.uniform(0.5, 1.0, size=cols.size)
        v = signs * mags
        v = v - v.mean()
        V[cols, k] = v / np.linalg.norm(v)
    perm = rng.permutation(n_samples)
    U = np.zeros((n_samples, 3))
    start = 0
    for k, size in enumerate(u_sizes):
        rows = perm[start:start + size]
        start += size
        signs = rng.choice([-1, 1], size=size)
        u = signs * np.linspace(1.0, 0.2, size)
        U[rows, k] = u / np.linalg.norm(u)
    Z = rng.standard_normal((n_samples, n_features))
    return (U * d) @ V.T + sigma * Z, U, d, V


def _triple(value, name, what):
    """``value`` as a list of exactly three items (a sequence, not a str or mapping)."""
    if isinstance(value, np.ndarray):
        if value.ndim != 1:
            raise ValueError(f"{name} must be a sequence of 3 {what}, got {_describe(value)}")
        value = value.tolist()
    if isinstance(value, (str, bytes, dict)) or not hasattr(value, "__len__") \
            or not hasattr(value, "__iter__"):
        raise TypeError(f"{name} must be a sequence of 3 {what}, got {_describe(value)}")
    items = list(value)
    if len(items) != 3:
        raise ValueError(f"{name} must be a sequence of 3 {what} (one per component), "
                         f"got {len(items)}: {_describe(value)}")
    for k, x in enumerate(items):
        if isinstance(x, bool) or not isinstance(x, numbers.Real):
            raise TypeError(f"{name}[{k}] must be one of 3 {what}, got {_describe(x)}")
    return items


def load_lung200(
    data_dir: str | os.PathLike[str] | None = None,
) -> tuple[np.ndarray, list[str], np.ndarray]:
    """Load the lung200 expression data (200 genes x 56 tumour samples).

    Without ``data_dir`` this reads the copy shipped inside the package
    (``statoptim/datasets/data/lung200/``, with its provenance in
    ``README.md``). The file has a header ``probe_id,label_1,...,label_p`` and
    one row per gene: its probe id, then ``p`` finite numbers. Any other
    layout is a ``ValueError`` naming the file, the row and the column.

    Licence: GPL-2, as the R package s4vd 1.1-1 (M. Sill, S. Kaiser) it comes
    from; original data A. Bhattacharjee et al. (2001), PNAS 98(24).

    Parameters
    ----------
    data_dir : str or path-like, optional
        The folder holding ``lung200/lung200.csv`` (one subfolder per data
        set, as ``--data DIR`` of the studies). Default: the shipped copy.

    Returns
    -------
    X : ndarray of shape (200, 56)
        Row-centred expression values (genes x samples); (n_genes, p) for another file.
    labels : list of str
        The 56 tumour-type labels, in column order.
    probe_ids : ndarray of str, shape (200,)

    Examples
    --------
    >>> from statoptim.datasets import load_lung200
    >>> X, labels, probe_ids = load_lung200()
    >>> X.shape, labels[0], labels[-1]
    ((200, 56), 'Carcinoid', 'SmallCell')
    """
    if data_dir is None:
        from statoptim.datasets._fetch import packaged_data_home

        data_dir = packaged_data_home()
    folder = check_dir(data_dir, "data_dir", "the folder holding lung200/lung200.csv")
    path = check_file(os.path.join(folder, "lung200", "lung200.csv"), "data_dir",
                      "lung200 data lung200/lung200.csv")
    what = "lung200.csv"
    rows = read_csv_rows(path, "data_dir", what)
    if len(rows) < 2 or len(rows[0]) < 2:
        raise ValueError(f"data_dir: {what} at {path!r} must have a header (probe id and "
                         "sample labels) and at least one gene row with a value, got "
                         f"{len(rows)} row(s) and {len(rows[0]) if rows else 0} column(s)")
    labels = [lab.strip() for lab in rows[0][1:]]
    width = len(rows[0])
    X = np.empty((len(rows) - 1, width - 1))
    for i, row in enumerate(rows[1:], start=2):
        if len(row) != width:
            raise ValueError(f"data_dir: {what} at {path!r} must have {width} columns in "
                             f"every row (as in its header), got {len(row)} in row {i}")
        X[i - 2] = [parse_float(t, "data_dir", what, path, i, j)
                    for j, t in enumerate(row[1:], start=2)]
    probe_ids = np.array([row[0] for row in rows[1:]], dtype=str)
    return X, labels, probe_ids
