"""Rank selection for FIT-SSVD by Wold-style ("speckled") cross-validation.

docs/ssvd.rst, "Rank selection" (after HSSVD's "Algorithm 2" and Owen & Perry 2009): the
entries of the selected block X[I, J] are split at random into folds; each
fold in turn is treated as missing and filled by SVDImpute (Troyanskaya et
al. 2001) at every candidate rank k = 0..k_max; the rank with the smallest
mean squared prediction error on the held-out cells wins (at least 1).
"""
from __future__ import annotations

import numpy as np

__all__ = ["svd_impute", "wold_cv_rank"]


def svd_impute(A, missing, rank, *, tol=1e-4, max_iter=20):
    """Fill the cells of ``A`` where ``missing`` is True by iterated rank-``rank`` SVD.

    Starts from the column means of the observed cells, then repeats {rank-k SVD
    of the completed matrix; refill the missing cells} until the relative change
    of the residual sum of squares on the observed cells is below ``tol`` or
    ``max_iter`` iterations. Rank 0 predicts 0. Returns the completed matrix.
    """
    A = np.asarray(A, dtype=np.float64)
    if rank == 0:
        return np.where(missing, 0.0, A)
    observed = ~missing
    counts = observed.sum(axis=0)
    sums = np.where(observed, A, 0.0).sum(axis=0)
    col_means = np.divide(sums, counts, out=np.zeros_like(sums), where=counts > 0)
    filled = np.where(missing, col_means[None, :], A)
    rss_old = np.inf
    for _ in range(max_iter):
        U, s, Vt = np.linalg.svd(filled, full_matrices=False)
        approx = (U[:, :rank] * s[:rank]) @ Vt[:rank]
        rss = float(np.sum((A - approx)[observed] ** 2))
        filled = np.where(missing, approx, A)
        if rss == 0.0 or abs(rss_old - rss) / rss < tol:
            break
        rss_old = rss
    return filled


def wold_cv_rank(A, *, n_folds=5, max_rank=20, rng):
    """Rank of ``A`` by K-fold speckled cross-validation with SVDImpute.

    Returns ``(rank, msep)`` where ``msep[k]`` is the fold-averaged mean squared
    prediction error of rank k on held-out cells, k = 0..k_max with
    k_max = min(max_rank, n_rows, n_cols); rank = argmin_k msep[k], raised to 1
    if that is 0 (and 1, with NaN errors, if A has a single row or column).
    """
    A = np.asarray(A, dtype=np.float64)
    n_rows, n_cols = A.shape
    k_max = min(max_rank, n_rows, n_cols)
    if n_rows <= 1 or n_cols <= 1:
        return 1, np.full(k_max + 1, np.nan)
    n_cells = n_rows * n_cols
    fold_of = rng.permutation(n_cells) % n_folds
    fold_of = fold_of.reshape(n_rows, n_cols)
    msep = np.zeros(k_max + 1)
    # A block of fewer cells than folds leaves some folds empty: average over the others.
    folds = [f for f in range(n_folds) if np.any(fold_of == f)]
    for f in folds:
        missing = fold_of == f
        held = A[missing]
        for k in range(k_max + 1):
            filled = svd_impute(A, missing, k)
            msep[k] += np.mean((filled[missing] - held) ** 2) / len(folds)
    rank = int(np.argmin(msep))
    return max(rank, 1), msep
