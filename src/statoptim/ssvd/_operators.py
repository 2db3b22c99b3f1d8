"""The matrix operators of FIT-SSVD and the order statistics of its noise scale.

An operator wraps X (dense, scipy.sparse, optionally centred) and gives the
products the iterations need (``_fit.pyx`` kernels) without copying X; the
noise scale sigma = MAD(X) / 0.6745 is found by selection, not a full sort
(docs/ssvd.rst, "Noise scale").
"""
from __future__ import annotations

import math

import numpy as np
from scipy import sparse

from statoptim.ssvd import _fit

__all__ = ["DenseOperator", "SparseOperator", "huber_delta", "make_operator",
           "median_with_constant", "noise_scale"]

MAD_CONSTANT = 1.4826


# --------------------------------------------------------------------------- #
# Matrix operators: the same products for dense and scipy.sparse input
# --------------------------------------------------------------------------- #
class DenseOperator:
    """A C-contiguous float32/float64 matrix and the kernels that read it."""

    def __init__(self, X):
        self.X = X
        self.shape = X.shape
        self.sparse = False
        self._plain = None

    def energy_scores(self, delta):
        if delta == np.inf and self._plain is not None:
            return self._plain[:2]
        n_samples, n_features = self.shape
        t = np.empty(n_samples)
        s = np.empty(n_features)
        total = _fit.energy_scores(self.X, delta, t, s)
        if delta == np.inf:
            self._plain = (t, s, total)
        return t, s

    def product_rows(self, active, W, scale, gamma, mode, out, nnz):
        Wt = np.ascontiguousarray(W[active].T)
        _fit.dense_product_rows(self.X, active, Wt, scale, gamma, mode, out, nnz)

    def product_cols(self, active, W, scale, gamma, mode, out, nnz):
        _fit.dense_product_cols(self.X, active, W, scale, gamma, mode, out, nnz)

    def block(self, rows, cols):
        """Dense float64 copy of X[rows][:, cols]."""
        return np.asarray(self.X[np.ix_(rows, cols)], dtype=np.float64)

    def block_values(self, rows, cols):
        """Nonzero values of X[rows][:, cols] in row-major order, as float64.

        The same values in the same order as ``SparseOperator.block_values``, so that
        the bootstrap draws the same entries from dense and sparse input.
        """
        block = self.block(rows, cols).ravel()
        return np.ascontiguousarray(block[block != 0.0])

    def flat_values(self):
        """All entries as a 1-D array, and the number of implicit zeros (0)."""
        return self.X.ravel(), 0

    def sq_frobenius(self):
        """||X||_F^2, from the (cached) fused pass that also gives the plain energies."""
        if self._plain is None:
            self.energy_scores(np.inf)
        return float(self._plain[2])

    def max_abs(self):
        """max |X_ij| (0 for an empty matrix)."""
        return float(np.max(np.abs(self.X), initial=0.0))


class SparseOperator:
    """A scipy.sparse matrix, kept as CSR (row slices) and CSC (column slices)."""

    def __init__(self, X, center=None):
        # One of the two formats shares the caller's arrays; copy only when a canonical
        # form (no explicit zeros, sorted indices) has to be made, never mutate the input.
        csr, csc = sparse.csr_matrix(X), sparse.csc_matrix(X)
        csr, csc = self._canonical(csr), self._canonical(csc)
        self.shape = n_samples, n_features = csr.shape
        self.sparse = True
        self.csr, self.csc = csr, csc
        # The kernels take scipy's own index dtype (int32 or int64): no conversion.
        self._csr_idx = (csr.indices, csr.indptr)
        self._csc_idx = (csc.indices, csc.indptr)
        # Implicit centring X - a c' (rank-one correction; X stays sparse).
        self.center = center
        self.means = None
        if center == "columns":
            self.means = np.asarray(csr.mean(axis=0), dtype=np.float64).ravel()
            self.a, self.c = np.ones(n_samples), self.means
        elif center == "rows":
            self.means = np.asarray(csr.mean(axis=1), dtype=np.float64).ravel()
            self.a, self.c = self.means, np.ones(n_features)
        else:
            self.a = self.c = np.empty(0)
        self._rows_of_nz = (np.repeat(np.arange(n_samples), np.diff(csr.indptr))
                            if center is not None else None)

    @staticmethod
    def _canonical(M):
        """M with sorted indices, no duplicates and no explicit zeros (a copy only if needed).

        Duplicate entries are summed, as ``toarray`` does: otherwise each would count as a
        separate entry of the median, the MAD and the bootstrap pools. Canonical form is
        checked on the index arrays themselves (scipy's cached flags can be stale when
        they were set or the arrays were edited by hand).
        """
        if _is_canonical(M.indices, M.indptr) and not np.any(M.data == 0):
            return M
        M = M.copy()
        M.has_sorted_indices = False       # make scipy sort and sum, whatever its flags say
        M.has_canonical_format = False
        M.sum_duplicates()
        M.eliminate_zeros()   # explicit zeros are zeros (same bootstrap pools as dense input)
        return M

    def _centred_data(self):
        x = self.csr.data.astype(np.float64)
        if self.center is None:
            return x
        return x - self.a[self._rows_of_nz] * self.c[self.csr.indices]

    def energy_scores(self, delta):
        n_samples, n_features = self.shape
        x = self._centred_data()

        def energy(v):
            y = v * v
            if np.isfinite(delta):
                big = y > delta
                y[big] = 2.0 * math.sqrt(delta) * np.abs(v[big]) - delta
            return y

        y = energy(x)
        if self.center is not None:
            # Zero entries are -a_i c_j: add their energy as (all cells) - (nonzero cells).
            y = y - energy(-self.a[self._rows_of_nz] * self.c[self.csr.indices])
        ycsr = sparse.csr_matrix((y, self.csr.indices, self.csr.indptr), shape=self.shape)
        t = np.asarray(ycsr.sum(axis=1)).ravel()
        s = np.asarray(ycsr.sum(axis=0)).ravel()
        if self.center == "columns":
            base = energy(-self.c)            # zero cell of column j
            t += base.sum()
            s += n_samples * base
        elif self.center == "rows":
            base = energy(-self.a)            # zero cell of row i
            t += n_features * base
            s += base.sum()
        return t, s

    def product_rows(self, active, W, scale, gamma, mode, out, nnz):
        indices, indptr = self._csc_idx
        w = W[active].T @ self.c[active] if self.center else np.empty(0)
        _fit.csc_product_rows(self.csc.data, indices, indptr, active, W, scale, gamma, mode,
                              self.a, w, out, nnz)

    def product_cols(self, active, W, scale, gamma, mode, out, nnz):
        indices, indptr = self._csr_idx
        w = W[active].T @ self.a[active] if self.center else np.empty(0)
        _fit.csr_product_cols(self.csr.data, indices, indptr, active, W, scale, gamma, mode,
                              self.c, w, out, nnz)

    def block(self, rows, cols):
        B = self.csr[rows][:, cols].toarray().astype(np.float64, copy=False)
        if self.center is not None:
            B -= np.outer(self.a[rows], self.c[cols])
        return B

    def sparse_block(self, rows, cols):
        """X[rows][:, cols] for ARPACK: a sparse matrix, or a LinearOperator when centred."""
        B = self.csr[rows][:, cols].astype(np.float64)
        if self.center is None:
            return B
        from scipy.sparse.linalg import LinearOperator

        a, c = self.a[rows], self.c[cols]
        return LinearOperator(
            B.shape, dtype=np.float64,
            matvec=lambda x: B @ np.ravel(x) - a * (c @ np.ravel(x)),
            rmatvec=lambda y: B.T @ np.ravel(y) - c * (a @ np.ravel(y)))

    def block_values(self, rows, cols):
        if self.center is not None:
            raise ValueError("the bootstrap needs an uncentred sparse matrix")
        sub = self.csr[rows][:, cols]
        return np.ascontiguousarray(sub.data, dtype=np.float64)

    def entry_multiset(self):
        """All n_samples * n_features entries as (values, constants, counts).

        ``values`` are the entries at the nonzero cells; the other cells hold
        ``constants[k]`` ``counts[k]`` times (0 without centring; -c_j per column or
        -a_i per row with centring).
        """
        n_samples, n_features = self.shape
        values = self._centred_data()
        if self.center == "columns":
            counts = n_samples - np.diff(self.csc.indptr)
            return values, -self.c, counts
        if self.center == "rows":
            counts = n_features - np.diff(self.csr.indptr)
            return values, -self.a, counts
        return values, np.zeros(1), np.array([n_samples * n_features - self.csr.nnz])

    def flat_values(self):
        values, consts, counts = self.entry_multiset()
        if self.center is not None:
            raise ValueError("flat_values needs an uncentred sparse matrix")
        return values, int(counts[0])

    def sq_frobenius(self):
        values, consts, counts = self.entry_multiset()
        return float(np.dot(values, values) + np.dot(counts, consts * consts))

    def max_abs(self):
        """max |X_ij| of the (implicitly centred) matrix, implicit entries included."""
        values, consts, counts = self.entry_multiset()
        return float(max(np.max(np.abs(values), initial=0.0),
                         np.max(np.abs(consts[counts > 0]), initial=0.0)))


def _is_canonical(indices, indptr):
    """Whether the indices of every row (CSR) or column (CSC) strictly increase."""
    if indices.size < 2:
        return True
    increasing = np.diff(indices) > 0
    starts = np.asarray(indptr[1:-1])
    starts = starts[(starts > 0) & (starts < indices.size)]
    increasing[starts - 1] = True        # no order between the last of one row and the next
    return bool(increasing.all())


def make_operator(X, center=None):
    """Wrap a validated dense (C-contiguous, already centred) or sparse matrix.

    ``center`` is only used for sparse input, which is centred implicitly.
    """
    return SparseOperator(X, center) if sparse.issparse(X) else DenseOperator(X)


# --------------------------------------------------------------------------- #
# Order statistics by selection (no full sort)
# --------------------------------------------------------------------------- #
def _kth_smallest(values, k, constant=0.0, n_constant=0):
    """k-th smallest (0-based) of ``values`` together with ``n_constant`` copies of ``constant``."""
    if n_constant == 0:
        return float(np.partition(values, k)[k])
    below = values[values < constant]
    if k < below.size:
        return float(np.partition(below, k)[k])
    n_equal = n_constant + int(np.count_nonzero(values == constant))
    if k < below.size + n_equal:
        return float(constant)
    above = values[values > constant]
    k2 = k - below.size - n_equal
    return float(np.partition(above, k2)[k2])


def _two_smallest_at(values, k):
    """(k-th, (k+1)-th) smallest of values (0-based), from a single partition."""
    part = np.partition(values, k + 1)
    return float(part[: k + 1].max()), float(part[k + 1])


def median_with_constant(values, constant=0.0, n_constant=0):
    """Median of ``values`` plus ``n_constant`` copies of ``constant``, by selection."""
    values = np.asarray(values).ravel()
    total = values.size + n_constant
    if total == 0:
        raise ValueError("median of an empty set")
    h = total // 2
    if n_constant == 0:
        if total % 2 == 1:
            return float(np.partition(values, h)[h])
        lo, hi = _two_smallest_at(values, h - 1)
        return 0.5 * (lo + hi)
    if total % 2 == 1:
        return _kth_smallest(values, h, constant, n_constant)
    return 0.5 * (_kth_smallest(values, h - 1, constant, n_constant)
                  + _kth_smallest(values, h, constant, n_constant))


def _kth_weighted(values, consts, counts, k):
    """k-th smallest (0-based) of ``values`` plus ``counts[m]`` copies of each ``consts[m]``."""
    allv = np.concatenate([values, consts])
    weights = np.concatenate([np.ones(values.size, dtype=np.int64),
                              np.asarray(counts, dtype=np.int64)])
    order = np.argsort(allv, kind="stable")
    cum = np.cumsum(weights[order])
    return float(allv[order[np.searchsorted(cum, k, side="right")]])


def _median_weighted(values, consts, counts):
    total = values.size + int(np.sum(counts))
    h = total // 2
    if total % 2:
        return _kth_weighted(values, consts, counts, h)
    return 0.5 * (_kth_weighted(values, consts, counts, h - 1)
                  + _kth_weighted(values, consts, counts, h))


def _centred_sparse(op):
    return getattr(op, "sparse", False) and getattr(op, "center", None) is not None


def noise_scale(op):
    """sigma-hat = 1.4826 * median |X_ij - median(X)| over all n_samples * n_features entries."""
    if _centred_sparse(op):
        values, consts, counts = op.entry_multiset()
        med = _median_weighted(values, consts, counts)
        return MAD_CONSTANT * _median_weighted(np.abs(values - med), np.abs(consts - med), counts)
    values, n_zero = op.flat_values()
    if n_zero == 0:
        # One float64 work copy, partitioned twice in place.
        work = np.array(values, dtype=np.float64)
        total = work.size
        h = total // 2
        work.partition(h)
        med = float(work[h]) if total % 2 else 0.5 * (float(work[:h].max()) + float(work[h]))
        np.subtract(work, med, out=work)
        np.abs(work, out=work)
        work.partition(h)
        mad = float(work[h]) if total % 2 else 0.5 * (float(work[:h].max()) + float(work[h]))
        return MAD_CONSTANT * mad
    med = median_with_constant(values, 0.0, n_zero)
    dev = np.abs(values - med) if values.dtype == np.float64 else np.abs(
        values.astype(np.float64) - med)
    return MAD_CONSTANT * median_with_constant(dev, abs(med), n_zero)


def huber_delta(op, beta):
    """delta = beta-quantile of {X_ij^2} (linear interpolation, R type 7 = NumPy default)."""
    if _centred_sparse(op):
        values, consts, counts = op.entry_multiset()
        sq, csq = values * values, consts * consts
        total = values.size + int(np.sum(counts))
        h = (total - 1) * beta
        lo = int(math.floor(h))
        a = _kth_weighted(sq, csq, counts, lo)
        b = _kth_weighted(sq, csq, counts, min(lo + 1, total - 1))
        return a + (h - lo) * (b - a)
    values, n_zero = op.flat_values()
    sq = np.square(values, dtype=np.float64)
    total = sq.size + n_zero
    h = (total - 1) * beta
    lo = int(math.floor(h))
    frac = h - lo
    if lo + 1 >= total:
        return _kth_smallest(sq, total - 1, 0.0, n_zero)
    if n_zero == 0:
        a, b = _two_smallest_at(sq, lo)
    else:
        a = _kth_smallest(sq, lo, 0.0, n_zero)
        b = _kth_smallest(sq, lo + 1, 0.0, n_zero)
    return a + frac * (b - a)
