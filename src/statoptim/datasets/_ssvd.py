"""Simulation designs and the real-data loader of the FIT-SSVD study (spec ssvd.md, section 6)."""
from __future__ import annotations

import csv
import os

import numpy as np

__all__ = ["make_rank_one_ssvd", "make_lung_spiked", "load_lung200", "LUNG_GROUPS"]

# Column groups of the lung data, in the real data's order.
LUNG_GROUPS = (("Carcinoid", 20), ("Colon", 13), ("Normal", 17), ("SmallCell", 6))


def make_rank_one_ssvd(rep=0):
    """Rank-one example of Lee et al. (2010): 100 x 50, d = 50, N(0, 1) noise.

    u is proportional to (10, 9, ..., 3, 2 (x17), 0 (x75)) and v to
    (10, -10, 8, -8, 5, -5, 3 (x5), -3 (x5), 0 (x34)), both unit norm. The
    noise is ``default_rng(20140923 + rep).standard_normal((100, 50))``.

    Returns
    -------
    X : ndarray of shape (100, 50)
    U : ndarray of shape (100, 1)
    d : ndarray of shape (1,)
    V : ndarray of shape (50, 1)
    """
    u = np.r_[np.arange(10, 2, -1), np.full(17, 2.0), np.zeros(75)].astype(float)
    v = np.r_[10, -10, 8, -8, 5, -5, np.full(5, 3.0), np.full(5, -3.0), np.zeros(34)]
    u /= np.linalg.norm(u)
    v /= np.linalg.norm(v)
    d = np.array([50.0])
    Z = np.random.default_rng(20140923 + rep).standard_normal((100, 50))
    return d[0] * np.outer(u, v) + Z, u[:, None], d, v[:, None]


def make_lung_spiked(rep=0, *, n_samples=12_625, d=(150.0, 100.0, 70.0),
                     u_sizes=(200, 120, 60), sigma=1.0):
    """Lung-sized spiked model: 12,625 x 56, rank 3 (spec 6b).

    v_1, v_2, v_3 live on the Carcinoid, Colon and SmallCell columns (random
    sign x Uniform(0.5, 1), centred within the support, unit norm); the
    Normal columns are pure noise. The u_k have disjoint random supports of
    200, 120 and 60 rows with magnitudes decreasing linearly from 1 to 0.2,
    random signs and unit norm. Draws from ``default_rng(56012625 + rep)`` in
    the spec's order.

    Returns
    -------
    X : ndarray of shape (n_samples, 56)
    U : ndarray of shape (n_samples, 3)
    d : ndarray of shape (3,)
    V : ndarray of shape (56, 3)
    """
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
    d = np.asarray(d, dtype=float)
    return (U * d) @ V.T + sigma * Z, U, d, V


def load_lung200(data_dir):
    """Load ``lung200/lung200.csv`` from ``data_dir`` (the directory holding ``lung200/``).

    Returns
    -------
    X : ndarray of shape (200, 56)
        Row-centred expression values (genes x samples).
    labels : list of str
        The 56 tumour-type labels, in column order.
    probe_ids : ndarray of str, shape (200,)
    """
    path = os.path.join(data_dir, "lung200", "lung200.csv")
    if not os.path.exists(path):
        raise FileNotFoundError(f"lung200 data not found at {path!r}")
    with open(path, newline="") as fh:
        labels = next(csv.reader(fh))[1:]
    X = np.loadtxt(path, delimiter=",", skiprows=1, usecols=range(1, len(labels) + 1))
    probe_ids = np.loadtxt(path, delimiter=",", skiprows=1, usecols=0, dtype=str)
    return X, labels, probe_ids
