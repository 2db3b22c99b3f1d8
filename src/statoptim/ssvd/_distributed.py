"""``SparseSVD.fit`` on a dask array X, without gathering X.

FIT-SSVD reads X only through a small operator interface (``energy_scores``,
``product_rows``, ``product_cols``, ``block`` of a few rows and columns): the
in-memory driver :func:`statoptim.ssvd._core.fit_ssvd` runs unchanged on
:class:`DaskOperator`, whose every method is one pass over the row-blocks of X
(:class:`statoptim._dask.RowBlocks`) returning small pieces:

* ``energy_scores``: each block returns its rows' scores t (n_b numbers) and its
  contribution to the column scores s (p numbers); one pass, cached (it also gives
  ||X||_F^2);
* ``product_rows`` (the u half-step, eta(X_s V)): each block returns its rows of
  the thresholded product (n_b x r) and their nonzero counts, by the in-memory
  kernel on the block, so the rows are the same numbers as in memory;
* ``product_cols`` (the v half-step, eta(X_s' U)): only the blocks holding rows of
  U's support run; each returns its X_b' U_b (p x r), the client sums them,
  scales and thresholds (the in-memory kernel's ``eta``);
* ``block(rows, cols)``: the entries of the selected submatrix (small) for the
  initial SVD, computed locally.

The noise scale sigma = 1.4826 median |X_ij - median X| is computed exactly as in
memory by distributed selection (:func:`exact_order_statistics`): a histogram
pass brackets the wanted ranks, further passes narrow the bracket until it holds
few values, and a last pass returns only those. Not distributed: the
``"bootstrap"`` threshold rule (its noise pools are most of X): ValueError
naming ``threshold_rule``.
"""
from __future__ import annotations

import math

import numpy as np

from statoptim._dask import RowBlocks
from statoptim._validation import power_of_two_scale
from statoptim.ssvd import _fit
from statoptim.ssvd._operators import MAD_CONSTANT

__all__ = ["DaskOperator", "exact_order_statistics", "fit_ssvd_dask"]

_N_BINS = 2048


# ---------------------------------------------------------------------------
# Tasks: one row-block each
# ---------------------------------------------------------------------------

class _Prep:
    """The block as the in-memory fit sees it: X / scale, then centred."""

    def __init__(self, scale=1.0, center=None, col_means=None):
        self.scale, self.center, self.col_means = scale, center, col_means

    def block(self, xb):
        xb = np.asarray(xb)
        if xb.dtype not in (np.float32, np.float64):
            xb = xb.astype(np.float64)
        if self.scale != 1.0:
            xb = np.asarray(xb, dtype=np.float64) / self.scale
        if self.center == "rows":
            means = xb.mean(axis=1, dtype=np.float64)
            xb = xb - means[:, None].astype(xb.dtype)
        elif self.center == "columns":
            xb = xb - self.col_means[None, :].astype(xb.dtype)
        return np.ascontiguousarray(xb)


def _scan_task(xb, offset):
    """Whether the raw block is finite, and its max |x|."""
    xb = np.asarray(xb)
    if not xb.size:
        return True, 0.0
    lo, hi = float(np.min(xb)), float(np.max(xb))  # NaN propagates
    finite = math.isfinite(lo) and math.isfinite(hi)
    return finite, max(-lo, hi) if finite else 0.0


def _colsum_task(xb, offset, prep):
    xb = prep.block(xb)
    return xb.sum(axis=0, dtype=np.float64), xb.shape[0]


def _rowmean_task(xb, offset, prep):
    return prep.block(xb).mean(axis=1, dtype=np.float64)


def _energy_task(xb, offset, prep, delta):
    X = prep.block(xb)
    t = np.empty(X.shape[0])
    s = np.empty(X.shape[1])
    total = _fit.energy_scores(X, delta, t, s)
    with np.errstate(invalid="ignore"):
        lo = float(np.min(X, initial=np.inf))  # NaN propagates: the finiteness test
        hi = float(np.max(X, initial=-np.inf))
    return t, s, float(total), lo, hi


def _rows_task(xb, offset, prep, active, Wt, scale, gamma, mode):
    X = prep.block(xb)
    out = np.empty((X.shape[0], Wt.shape[0]))
    nnz = np.empty(Wt.shape[0], dtype=np.intp)
    _fit.dense_product_rows(X, active, Wt, scale, gamma, mode, out, nnz)
    return out, nnz


def _cols_task(xb, offset, prep, active, W):
    X = prep.block(xb)
    r = W.shape[1]
    out = np.empty((X.shape[1], r))
    nnz = np.empty(r, dtype=np.intp)
    _fit.dense_product_cols(X, active, W, 1.0, np.zeros(r), 0, out, nnz)  # unthresholded
    return out


def _block_task(xb, offset, prep, rows, cols):
    X = prep.block(xb)
    return np.asarray(X[np.ix_(rows, cols)], dtype=np.float64)


def _values(xb, prep, center_value):
    """The block's entries as float64 (a view when possible), or |entries - center_value|."""
    v = np.asarray(prep.block(xb), dtype=np.float64).ravel()
    if center_value is not None:
        v = np.subtract(v, center_value)
        np.abs(v, out=v)
    return v


def _bins(v, lo, hi, n_bins):
    """Equal-width bins of [lo, hi]: floor((v - lo) n_bins / (hi - lo)), clipped.

    Monotone in v (rounded subtraction and multiplication are), the same on every
    block; a value of bin i lies within ``1e-9 (hi - lo)`` plus a few ulps of
    ``[lo + i w, lo + (i + 1) w]`` (w the bin width), which the caller's bracket allows for.
    """
    t = np.subtract(v, lo)
    np.multiply(t, n_bins / (hi - lo), out=t)
    np.floor(t, out=t)
    np.clip(t, 0, n_bins - 1, out=t)
    return t.astype(np.intp)


def _select_task(xb, offset, prep, center_value, lo, hi, n_bins, whole):
    """Count below ``lo``; in [lo, hi]: a histogram of ``n_bins`` bins (0: the values).

    ``whole``: [lo, hi] holds every value (the first level), nothing to filter.
    """
    v = _values(xb, prep, center_value)
    if whole:
        below, inside = 0, v
    else:
        below = int(np.count_nonzero(v < lo))
        inside = v[(v >= lo) & (v <= hi)]
    if not n_bins:
        return below, inside
    counts = np.bincount(_bins(inside, lo, hi, n_bins), minlength=n_bins)
    lo_in = float(inside.min()) if inside.size else np.inf
    hi_in = float(inside.max()) if inside.size else -np.inf
    return below, counts, lo_in, hi_in


# ---------------------------------------------------------------------------
# Client side
# ---------------------------------------------------------------------------

def exact_order_statistics(blocks, prep, ranks, lo, hi, center_value=None, cap=None):
    """The entries of ranks ``ranks`` (0-based) among all entries of the prepared X.

    With ``center_value`` c, among the |X_ij - c| instead. All values lie in
    [lo, hi]. Each pass returns a histogram of the values in the current bracket
    (``_N_BINS`` counts per block); the bracket shrinks to the bins that hold the
    wanted ranks (widened by a margin for rounding) until it holds at most ``cap``
    values (default max(2^16, N / 1024)), which a last pass returns. The result is
    exact: the same values a sort of all entries would give.
    """
    n_total = blocks.n_samples * blocks.n_features
    if cap is None:
        cap = max(1 << 16, n_total >> 10)
    ranks = [int(k) for k in ranks]
    count_in = n_total
    whole = True
    for _ in range(64):
        if count_in <= cap or not lo < hi:
            break
        out = blocks.map(_select_task, prep, center_value, lo, hi, _N_BINS, whole)
        whole = False
        below = sum(o[0] for o in out)
        counts = np.sum([o[1] for o in out], axis=0)
        lo_in = min(o[2] for o in out)
        hi_in = max(o[3] for o in out)
        if lo_in == hi_in:  # every value in the bracket is the same
            return [lo_in] * len(ranks)
        cum = below + np.cumsum(counts)
        i1 = int(np.searchsorted(cum, min(ranks), side="right"))
        i2 = int(np.searchsorted(cum, max(ranks), side="right"))
        # bins i1..i2 hold the ranks; their values lie in [lo + i1 w, lo + (i2 + 1) w]
        # up to the rounding of _bins, which the margin covers
        width = (hi - lo) / _N_BINS
        margin = 1e-9 * (hi - lo) + 8.0 * np.spacing(max(abs(lo), abs(hi)))
        new_lo = max(lo + i1 * width - margin, lo_in)
        new_hi = min(lo + (i2 + 1) * width + margin, hi_in)
        if (new_lo, new_hi) == (lo, hi):
            break
        count_in = int(counts[i1:i2 + 1].sum())
        lo, hi = new_lo, new_hi
    out = blocks.map(_select_task, prep, center_value, lo, hi, 0, whole)
    below = sum(o[0] for o in out)
    inside = np.sort(np.concatenate([o[1] for o in out]))
    return [float(inside[k - below]) for k in ranks]


def _median(blocks, prep, lo, hi, center_value=None):
    total = blocks.n_samples * blocks.n_features
    h = total // 2
    if total % 2:
        return exact_order_statistics(blocks, prep, [h], lo, hi, center_value)[0]
    a, b = exact_order_statistics(blocks, prep, [h - 1, h], lo, hi, center_value)
    return 0.5 * (a + b)


class DaskOperator:
    """The operator interface of :mod:`statoptim.ssvd._core` on a dask array."""

    sparse = False

    def __init__(self, blocks, scale=1.0, center=None):
        self.blocks = blocks
        self.shape = (blocks.n_samples, blocks.n_features)
        self.means = None
        col_means = None
        if center == "columns":
            out = blocks.map(_colsum_task, _Prep(scale))
            col_means = np.sum([o[0] for o in out], axis=0) / blocks.n_samples
            self.means = col_means
        elif center == "rows":  # the row means (n_samples numbers): mean_ of the fit
            out = blocks.map(_rowmean_task, _Prep(scale))
            self.means = np.concatenate(out)
        self.prep = _Prep(scale, center, col_means)
        self._plain = None
        self.n_passes = 0

    def _map(self, *args, **kwargs):
        self.n_passes += 1
        return self.blocks.map(*args, **kwargs)

    def energy_scores(self, delta):
        if delta == np.inf and self._plain is not None:
            return self._plain[:2]
        out = self._map(_energy_task, self.prep, float(delta))
        t = np.concatenate([o[0] for o in out])
        s = np.sum([o[1] for o in out], axis=0)
        if delta == np.inf:
            self._plain = (t, s, sum(o[2] for o in out), min(o[3] for o in out),
                           max(o[4] for o in out))
        return t, s

    def product_rows(self, active, W, scale, gamma, mode, out, nnz):
        Wt = np.ascontiguousarray(W[active].T)
        active = np.ascontiguousarray(active, dtype=np.intp)
        res = self._map(_rows_task, self.prep, active, Wt, float(scale),
                        np.ascontiguousarray(gamma, dtype=np.float64), int(mode))
        nnz[:] = 0
        for (part, count), start in zip(res, self.blocks.offsets):
            out[start:start + part.shape[0]] = part
            nnz += count
        if not res:
            out[:] = 0.0

    def product_cols(self, active, W, scale, gamma, mode, out, nnz):
        active = np.asarray(active, dtype=np.intp)
        blocks, offsets, rows = self.blocks, self.blocks.offsets, self.blocks.rows
        r = W.shape[1]
        # only the blocks that hold rows of the support of W run
        which = np.searchsorted(offsets, active, side="right") - 1
        parts = []
        for b in np.unique(which):
            start, n_b = int(offsets[b]), rows[b]
            local = np.ascontiguousarray(active[which == b] - start)
            parts.append((b, self.prep, local, np.ascontiguousarray(W[start:start + n_b])))
        total = np.zeros((self.shape[1], r))
        if parts:
            self.n_passes += 1
            res = blocks.map_some(_cols_task, parts)
            for part in res:
                total += part
        np.multiply(total, scale, out=out)
        _fit.threshold_columns(out, np.ascontiguousarray(gamma, dtype=np.float64), int(mode),
                               out, nnz)

    def block(self, rows, cols):
        rows = np.asarray(rows, dtype=np.intp)
        cols = np.ascontiguousarray(cols, dtype=np.intp)
        offsets = self.blocks.offsets
        which = np.searchsorted(offsets, rows, side="right") - 1
        parts = []
        for b in np.unique(which):
            pos = np.flatnonzero(which == b)
            parts.append((b, self.prep, rows[pos] - int(offsets[b]), cols))
        out = np.empty((rows.size, cols.size))
        if parts:
            self.n_passes += 1
            res = self.blocks.map_some(_block_task, parts)
            for b, part in zip(np.unique(which), res):
                out[which == b] = part
        return out

    def block_values(self, rows, cols):  # pragma: no cover - the bootstrap rule is refused
        raise ValueError("threshold_rule='bootstrap' is not supported for a dask array X")

    def sq_frobenius(self):
        if self._plain is None:
            self.energy_scores(np.inf)
        return float(self._plain[2])

    def min_max(self):
        """The smallest and largest entry (from the cached energy pass)."""
        if self._plain is None:
            self.energy_scores(np.inf)
        return self._plain[3], self._plain[4]

    def max_abs(self):
        lo, hi = self.min_max()
        return max(abs(lo), abs(hi), 0.0)


def noise_scale_dask(op):
    """sigma = 1.4826 median |X_ij - median X|, exact, by distributed selection."""
    lo, hi = op.min_max()
    med = _median(op.blocks, op.prep, lo, hi)
    dev_hi = max(abs(hi - med), abs(lo - med))
    mad = _median(op.blocks, op.prep, 0.0, dev_hi, center_value=med)
    return MAD_CONSTANT * mad


def fit_ssvd_dask(est, X):
    """``est.fit(X)`` for a dask array X (rows in chunks); the same attributes as in memory."""
    from statoptim.ssvd._scaling import SQ_NORM_BAND

    est._check_params()
    if est.threshold_rule != "theory":
        raise ValueError(
            "threshold_rule must be 'theory' for a dask array X (the bootstrap draws its noise "
            f"pools from most of X, which would be gathered), got {est.threshold_rule!r}; "
            "use threshold_rule='theory' or compute X first")
    blocks = RowBlocks(X)
    n_samples, n_features = blocks.n_samples, blocks.n_features
    if n_samples < 1 or n_features < 1:
        raise ValueError(f"X must have at least one row and one column, got shape "
                         f"({n_samples}, {n_features})")
    if hasattr(est, "feature_names_in_"):
        del est.feature_names_in_
    est.n_features_in_ = n_features
    est._check_against_shape(n_samples, n_features)
    if est.center is None:  # the first energy pass also tells finiteness and max |x|
        op = DaskOperator(blocks)
        lo, hi = op.min_max()
        finite, top = math.isfinite(lo) and math.isfinite(hi), op.max_abs()
    else:
        facts = blocks.map(_scan_task)
        finite, top = all(f[0] for f in facts), max(f[1] for f in facts)
    if not finite:
        raise ValueError("X must be finite, got NaN or infinite value(s) in a block of the "
                         "dask array X")
    # The scale search of SparseSVD._prepare: ||X / scale||_F^2 (after centring) in band.
    scale = 1.0
    for attempt in range(3):
        with np.errstate(over="ignore", invalid="ignore"):
            if attempt or est.center is not None:
                op = DaskOperator(blocks, scale, est.center)
            sq_norm = op.sq_frobenius()
        if SQ_NORM_BAND[0] <= sq_norm <= SQ_NORM_BAND[1]:
            break
        step = power_of_two_scale([top] if attempt == 0 else [op.max_abs()])
        if step == 1.0:
            break
        scale *= step
    means = None if op.means is None else op.means * scale
    sigma = est._noise_scale(op, sq_norm, scale, noise_scale_dask)
    # fit -> fit_ssvd_dask -> _fit_operator -> warnings.warn
    return est._fit_operator(op, sq_norm, scale, sigma, means, stacklevel=4)
