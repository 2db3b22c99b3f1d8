"""Portnoy-Koenker (1997) preprocessing around the exact direct solver.

One round fits MM on a subsample, splits the rows into two globs and a kept
band in one compiled pass (``_band.pyx``), narrows the band around an MM fit
of the reduced problem and solves that exactly (``_direct.py``); a pass over
the globs then verifies the answer for the full data. :func:`_solve_preprocessed`
runs the rounds; the distributed solver (``_distributed.py``) reuses the band
helpers on row blocks.
"""
from __future__ import annotations

import numpy as np

from statoptim.quantile import _band
from statoptim.quantile._direct import (
    _X_DESIGN,
    QuantileSolution,
    _check_full_rank,
    _mm_fit,
    _solve_direct,
    _with_ones,
)

# The band split screens rows with O(p) bounds of the standardised residual
# (_screening) above this many coefficients and while the bounds are within
# this ratio (of the quadratic form) of each other.
_SCREEN_MIN_FEATURES = 8
_SCREEN_MAX_SPREAD = 16.0
# MM steps allowed on each reduced problem of preprocessing
_REDUCED_MM_ITER = 30
# Fix-up rounds (offenders moved back into the band) per band
_MAX_FIXUPS = 8


def _design_rows(X, rows, ones):
    """Rows ``rows`` of the design ``[1, X]`` (``ones``) or ``X``, materialised."""
    rows = np.ascontiguousarray(rows, dtype=np.intp)
    out = np.empty((rows.size, X.shape[1] + int(ones)))
    _band.gather_design(X, rows, ones, out)
    return out


def _thresholds(u, level_lo, level_hi):
    """Order statistics of ``u`` at the levels ``level_lo < level_hi`` (+-inf outside (0, 1))."""
    size = u.size
    k_lo = int(np.floor(level_lo * size))
    k_hi = int(np.ceil(level_hi * size))
    kth = [k for k in (k_lo, k_hi) if 0 <= k < size]
    part = np.partition(u, kth) if kth else u
    kappa_lo = float(part[k_lo]) if k_lo >= 0 else -np.inf
    kappa_hi = float(part[k_hi]) if k_hi < size else np.inf
    return kappa_lo, kappa_hi


def _screening_bounds(root):
    """``(d, lam_lo, lam_hi)``: ``d = diag(G^-1)`` and the extreme eigenvalues of
    ``D^-1/2 G^-1 D^-1/2`` for ``G^-1 = root root'``, or () if they are not positive.

    ``lam_lo sum_j d_j z_j^2 <= z'G^-1 z <= lam_hi sum_j d_j z_j^2`` for every ``z``.
    """
    gi = root @ root.T
    d = np.diag(gi).copy()
    if not np.all(d > 0):  # pragma: no cover - root is nonsingular
        return ()
    s = 1.0 / np.sqrt(d)
    eig = np.linalg.eigvalsh(gi * s[:, None] * s[None, :])
    if not eig[0] > 0:
        return ()
    return d, float(eig[0]), float(eig[-1])


def _screening(root):
    """Arguments ``(diag, lam_lo, lam_hi)`` of :func:`_band.band_split`'s screening, or ().

    The quadratic form ``z'G^-1 z`` lies within :func:`_screening_bounds` times
    ``sum_j d_j z_j^2``, which costs O(p) a row instead of O(p^2). Screening
    pays while those bounds are close (near-orthogonal columns) and the exact
    form is expensive (many columns); otherwise every row is exact.
    """
    if root.shape[0] <= _SCREEN_MIN_FEATURES:
        return ()
    bounds = _screening_bounds(root)
    if not bounds or bounds[2] > _SCREEN_MAX_SPREAD * bounds[1]:
        return ()
    return bounds


def _solve_preprocessed(Z, y, w, q, theta0, tol, max_iter, max_pivots, rng,
                        design=_X_DESIGN, ones=False):
    """Portnoy-Koenker (1997) preprocessing around the exact direct solver.

    Fit MM on a subsample of ``m = ((p + 1) n)^(2/3)`` rows; rows whose
    standardised residuals lie far below (above) that fit are merged into one
    pseudo-row each (weighted means of their ``z`` and ``y`` with the sum of
    their weights). Since ``sum_i w_i rho(r_i) >= rho(sum_i w_i r_i)`` with
    equality when the ``r_i`` share a sign, the objective of such a reduced
    problem is a lower bound of the full one, tight at the reduced solution
    if no merged row changed sign: the answer is then exact for the full
    data. The band of about ``0.8 m`` kept rows is sized for the subsample's
    sampling error (its thresholds are the subsample's own quantiles of the
    standardised residuals, so that one pass over the data computes the
    residuals, splits the rows and sums the globs; exact quantiles of the
    full data are taken when the band came out far from its size); MM on
    that reduced problem then pins the coefficients down far more
    precisely, so the band is narrowed around the MM fit (:func:`_narrow`)
    before the exact simplex finish, whose pivots each cost a pass over the
    kept rows. Offenders are moved back (when few); a narrowed band that
    fails is widened again, and ``m`` is doubled when the wide band fails.

    With ``ones``, ``Z`` is ``X`` and the design is ``[1, X]``, whose column
    of ones is never materialised: the full-data passes take a flag and only
    the subsample and the kept rows are copied. Each full-data step is one
    compiled pass; memory is O(n), Z is not copied.
    """
    return _Preprocessing(Z, y, w, q, tol, max_iter, max_pivots, design, ones).run(theta0, rng)


class _Preprocessing:
    """The rounds of :func:`_solve_preprocessed` and the state they share.

    ``X`` is the design (or ``X`` of ``[1, X]`` with ``ones``); ``u``,
    ``side``, ``kept``, ``glob_z`` and ``glob_yw`` are the outputs of the
    band split, reused by every round; ``theta`` is the latest fit, the
    start of the next one; the totals count MM steps and pivots over all
    rounds.
    """

    def __init__(self, X, y, w, q, tol, max_iter, max_pivots, design, ones):
        self.X, self.y, self.w, self.q = X, y, w, q
        self.tol, self.max_iter, self.max_pivots = tol, max_iter, max_pivots
        self.design, self.ones = design, ones
        n_samples = X.shape[0]
        self.n_features = X.shape[1] + int(ones)
        self.u = np.empty(n_samples)
        self.side = np.empty(n_samples, dtype=np.int8)
        self.kept = np.empty(n_samples, dtype=np.intp)
        # one buffer: the kept rows are copied out before any verification
        self.offenders = self.kept
        self.glob_z = np.empty((2, self.n_features))
        self.glob_yw = np.empty(4)
        self.theta = None
        self.total_iter = self.total_piv = self.n_rounds = 0
        self.capped = False

    def run(self, theta0, rng):
        """Rounds until one verifies, ``m`` doubling after each failure."""
        n_samples = self.X.shape[0]
        m = int(((self.n_features + 1) * n_samples) ** (2.0 / 3.0))
        self.theta = theta0
        while True:
            self.n_rounds += 1
            if m >= n_samples // 2:
                return self._solve_all_rows()
            sub = np.sort(rng.choice(n_samples, size=m, replace=False))
            fit = self._fit_subsample(sub)
            if fit is not None:
                wide = self._split(*fit)
                band, narrowed = self._narrow_band(wide[3], int(0.8 * m))
                sol = self._verify(band, wide, narrowed)
                if sol is not None:
                    return sol
            m = min(n_samples, 2 * m)  # an unlucky subsample or a failed band: grow it

    def _solve_all_rows(self):
        """The direct solver on every row (the subsample would be half the data)."""
        Z = _with_ones(self.X) if self.ones else self.X
        gram = _check_full_rank(Z, self.w, self.design)
        sol = _solve_direct(Z, self.y, self.w, self.q, self.theta, self.tol, self.max_iter,
                            self.max_pivots, gram)
        sol.n_iter += self.total_iter
        sol.n_pivots += self.total_piv
        sol.mm_capped |= self.capped
        sol.n_rounds = self.n_rounds
        return sol

    def _fit_subsample(self, sub):
        """MM on the rows ``sub``: ``(root, u_sub)``, the root of their inverse Gram
        matrix and their standardised residuals ``r_i / b_i``, with
        ``b_i = sqrt(z_i'(Zs'Ws Zs)^{-1} z_i)``; None if the rows are rank
        deficient (an unlucky subsample of a full-rank design)."""
        Zs, ys, ws = _design_rows(self.X, sub, self.ones), self.y[sub], self.w[sub]
        try:
            gram = _check_full_rank(Zs, ws)
        except ValueError:
            # raises if the full design is rank deficient
            _check_full_rank(_with_ones(self.X) if self.ones else self.X, self.w, self.design)
            return None
        # The subsample fit only places the band: its sampling error, of order
        # m^-1/2, dwarfs what the exact finish would correct.
        self.theta, _, _, n_iter, mm_capped = _mm_fit(Zs, ys, ws, self.q, self.theta, self.tol,
                                                      self.max_iter, gram)
        self.total_iter += n_iter
        self.capped |= mm_capped
        root = _inverse_gram_root(gram)
        u_sub = np.empty(sub.size)
        _band.standardized_residuals(Zs, ys, self.theta, root, u_sub)
        return root, u_sub

    def _split(self, root, u_sub):
        """Globs and band around the subsample fit: ``(side, glob_z, glob_yw, band)``
        copies, ``band = (rows, Z rows, y rows, w rows)`` of the kept rows.

        The rows are split at the subsample's own quantiles of the standardised
        residuals around ``q``, for a band of about ``0.8 m`` rows, or at the full
        data's when the band came out far from that.
        """
        X, y, w, ones = self.X, self.y, self.w, self.ones
        n_samples = X.shape[0]
        n_keep = int(0.8 * u_sub.size)
        levels = (self.q - n_keep / (2.0 * n_samples), self.q + n_keep / (2.0 * n_samples))
        kappa = _thresholds(u_sub, *levels)
        out = (self.u, self.side, self.glob_z, self.glob_yw, self.kept)
        n_kept = _band.band_split(X, y, w, self.theta, root, *kappa, ones, *out,
                                  *_screening(root))
        if not 0.5 * n_keep <= n_kept <= 2.0 * n_keep:
            kappa = _thresholds(self.u, *levels)  # the full data's own order statistics
            n_kept = _band.band_split(X, y, w, self.theta, root, *kappa, ones, *out)
        keep = self.kept[:n_kept].copy()
        band = (keep, _design_rows(X, keep, ones), y[keep], w[keep])
        return self.side.copy(), self.glob_z.copy(), self.glob_yw.copy(), band

    def _narrow_band(self, band, n_keep):
        """The band narrowed around an MM fit of its reduced problem (when that pays):
        ``(band, narrowed)``; the rows it drops join the globs."""
        keep = band[0]
        n_narrow = _narrow_size(n_keep, keep.size, self.n_features)
        if n_narrow is None:
            return band, False
        Zr, yr, wr = _glob(*band[1:], self.glob_z, self.glob_yw)
        self.theta, resid, _, n_iter, _ = _mm_fit(
            Zr, yr, wr, self.q, self.theta, self.tol, min(self.max_iter, _REDUCED_MM_ITER))
        self.total_iter += n_iter
        del Zr, yr, wr
        # on the band's own rows (band-local sides, mapped back after)
        side_band = np.zeros(keep.size, dtype=np.int8)
        _narrow(band[1], band[2], band[3], np.arange(keep.size), resid[:keep.size],
                n_narrow, side_band, self.glob_z, self.glob_yw)
        self.side[keep] = side_band
        return tuple(a[side_band == 0] for a in band), True

    def _verify(self, band, wide, narrowed):
        """Exact fits of the reduced problem, verified on the globs: the solution, or
        None when the wide band fails (too many offenders, or still some after
        ``_MAX_FIXUPS`` rounds of moving them back)."""
        X, y, w, q, ones = self.X, self.y, self.w, self.q, self.ones
        n_fixups = 0
        while n_fixups < _MAX_FIXUPS:
            keep = band[0]
            Zr, yr, wr = _glob(*band[1:], self.glob_z, self.glob_yw)
            # a few MM steps only: the start is near the optimum, and the heavy
            # pseudo-rows make MM's tail slow (pivots finish the job)
            sol = _solve_direct(Zr, yr, wr, q, self.theta, self.tol,
                                min(self.max_iter, _REDUCED_MM_ITER), self.max_pivots)
            self.total_iter += sol.n_iter
            self.total_piv += sol.n_pivots
            n_bad, objective = _band.glob_offenders_x(X, y, w, q, sol.coef, self.side, ones,
                                                      self.offenders)
            if n_bad == 0:
                return QuantileSolution(
                    coef=sol.coef, objective=float(objective), n_iter=self.total_iter,
                    n_pivots=self.total_piv, status=sol.status, mm_capped=self.capped,
                    n_rounds=self.n_rounds,
                )
            if n_bad > 0.1 * keep.size:
                if not narrowed:
                    return None
                # the narrow band missed the optimum: back to the wide one
                self.side[:], self.glob_z[:], self.glob_yw[:] = wide[:3]
                band = wide[3]
                narrowed = False
                continue
            self.theta = sol.coef
            band = _readmit(X, y, w, ones, band, self.offenders[:n_bad], self.side,
                            self.glob_z, self.glob_yw)
            n_fixups += 1
        return None


def _readmit(X, y, w, ones, band, bad, side, glob_z, glob_yw):
    """Move the glob rows ``bad`` (offenders) back into the band, kept in row order."""
    Zbad = _design_rows(X, bad, ones)
    for g, sign in ((0, -1), (1, 1)):
        mine = side[bad] == sign
        if mine.any():
            wm = w[bad[mine]]
            glob_z[g] -= wm @ Zbad[mine]
            glob_yw[g] -= float(wm @ y[bad[mine]])
            glob_yw[2 + g] -= float(wm.sum())
    side[bad] = 0
    keep = np.concatenate([band[0], bad])
    order = np.argsort(keep, kind="stable")
    parts = (keep, np.concatenate([band[1], Zbad]), np.concatenate([band[2], y[bad]]),
             np.concatenate([band[3], w[bad]]))
    return tuple(a[order] for a in parts)


def _inverse_gram_root(gram):
    """``M`` with ``M M' = gram^{-1}`` (the transposed inverse Cholesky factor)."""
    d = np.sqrt(np.diag(gram))
    try:
        lower = np.linalg.cholesky(gram / np.outer(d, d))
    except np.linalg.LinAlgError:  # pragma: no cover - the rank was checked
        vals, vecs = np.linalg.eigh(gram)
        return np.ascontiguousarray(vecs / np.sqrt(np.maximum(vals, vals[-1] * 1e-16)))
    root = np.linalg.inv(lower).T / d[:, None]
    return np.ascontiguousarray(root)


def _narrow_size(n_band, n_kept, n_features):
    """Rows the narrowed band keeps, max(n_band / 6, 10 p^2); None if that is not
    under half the ``n_kept`` rows it would narrow (then it is not worth a solve)."""
    n_narrow = max(n_band // 6, 10 * n_features**2)
    return n_narrow if n_narrow < n_kept // 2 else None


def _narrow(Z, y, w, keep, resid_keep, n_narrow, side, glob_z, glob_yw):
    """Move all but the ``n_narrow`` kept rows of smallest ``|resid|`` into the globs.

    ``resid_keep`` are the residuals of the rows ``keep`` at a fit far more
    precise than the subsample's, so the rows that can still change sign
    at the optimum lie close to it. Updates ``side``, ``glob_z`` and
    ``glob_yw`` in place; the verification pass catches a band too narrow.
    """
    delta = np.partition(np.abs(resid_keep), n_narrow)[n_narrow]
    for g, rows in ((0, keep[resid_keep < -delta]), (1, keep[resid_keep > delta])):
        if rows.size:
            wm = w[rows]
            glob_z[g] += wm @ Z[rows]
            glob_yw[g] += float(wm @ y[rows])
            glob_yw[2 + g] += float(wm.sum())
            side[rows] = 2 * g - 1


def _glob(Z_keep, y_keep, w_keep, glob_z, glob_yw):
    """Kept rows plus one weighted-mean pseudo-row per non-empty glob."""
    parts_Z, parts_y, parts_w = [Z_keep], [y_keep], [w_keep]
    for g in (0, 1):
        wsum = glob_yw[2 + g]
        if wsum > 0:
            parts_Z.append((glob_z[g] / wsum)[None, :])
            parts_y.append(np.array([glob_yw[g] / wsum]))
            parts_w.append(np.array([wsum]))
    return (
        np.ascontiguousarray(np.concatenate(parts_Z)),
        np.concatenate(parts_y),
        np.concatenate(parts_w),
    )
