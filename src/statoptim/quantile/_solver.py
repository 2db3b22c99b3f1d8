"""Exact weighted quantile regression: MM, simplex finish and preprocessing.

The functions here prepare arrays for the kernels of ``_mm.pyx`` and combine
them; validation of user input happens in the estimators, except that
:func:`solve_quantile`, being public, checks shapes and finiteness cheaply.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Literal, NamedTuple

import numpy as np
from numpy.typing import ArrayLike

from statoptim._threads import single_blas_thread
from statoptim._validation import check_random_state
from statoptim.quantile import _mm
from statoptim.quantile._checks import (
    as_float_array,
    check_count,
    check_finite,
    check_preprocess,
    check_quantile_levels,
    check_tol,
    check_weights,
)

__all__ = ["QuantileSolution", "solve_quantile"]

_STATUS = {0: "optimal", 1: "singular", 2: "inexact", 3: "inexact", 4: "singular", 5: "inexact"}

# Continuation of the perturbation, relative to the residual scale (docs/quantile.rst,
# "Continuation and the monotone guard").
# The exact finish makes deep continuation unnecessary: MM only has to bring
# the p smallest residuals near the optimal basis, after which each simplex
# pivot (one pass over the data) is cheaper than an MM step (a Gram matrix).
_EPS_STAGES = np.array([1e-1, 1e-3])
# Preprocessing pays off above max(10000, 1000 p) rows (measured, p = 2 and 20).
_PREPROCESS_MIN_SAMPLES = 10_000
_PREPROCESS_MIN_RATIO = 1_000
# The band split screens rows with O(p) bounds of the standardised residual
# (_screening) above this many coefficients and while the bounds are within
# this ratio (of the quadratic form) of each other.
_SCREEN_MIN_FEATURES = 8
_SCREEN_MAX_SPREAD = 16.0
# MM steps allowed on each reduced problem of preprocessing
_REDUCED_MM_ITER = 30
# Fits on at least this many entries of Z hold BLAS at one thread.
_SINGLE_THREAD_MIN_SIZE = 50_000


@dataclass
class QuantileSolution:
    """Result of :func:`solve_quantile`.

    Attributes
    ----------
    coef : ndarray of shape (n_features,)
        An exact minimiser of ``sum_i w_i rho_q(y_i - z_i'coef)`` when
        ``status == "optimal"``.
    objective : float
        The objective at ``coef``; ``inf`` only when its true value exceeds
        the float64 range (``coef`` is exact and finite all the same).
    n_iter : int
        MM iterations (over every subproblem when preprocessing).
    n_pivots : int
        Simplex pivots of the exact finish.
    status : str
        ``"optimal"`` (certificate holds) or ``"inexact"`` (pivot cap or
        rounding trouble; ``coef`` is the best vertex found).
    mm_capped : bool
        Whether an MM run stopped at ``max_iter``.
    n_rounds : int
        Preprocessing rounds (0 when the problem was solved directly).
    """

    coef: np.ndarray
    objective: float
    n_iter: int
    n_pivots: int
    status: str
    mm_capped: bool
    n_rounds: int = 0


def _power_of_two_scale(values, axis=None, nonnegative=False):
    """Exponents k with 2**k near max|values| (0 where that is within 2**+-32).

    Dividing by powers of two is exact in floating point, so the solver can
    run on data of any magnitude (squares of 1e300 overflow) and the answer
    is unscaled without rounding.
    """
    biggest = np.max(values, axis=axis)
    if not nonnegative:
        biggest = np.maximum(biggest, -np.min(values, axis=axis))
    _, exponent = np.frexp(biggest)
    in_range = (biggest == 0) | ((biggest > 2.0**-32) & (biggest < 2.0**32))
    return np.where(in_range, 0, exponent).astype(np.int64)


class _Design(NamedTuple):
    """How error messages name the design matrix and its columns."""

    name: str = "X"  # the user's argument
    intercept: bool = False  # column 0 is the intercept's column of ones

    def column(self, j):
        if self.intercept and j == 0:
            return "the intercept column"
        return f"{self.name} column {j - int(self.intercept)}"


_X_DESIGN = _Design()


def _check_full_rank(Z, w, design=_X_DESIGN):
    """Raise a clear error when the weighted design is (nearly) rank deficient."""
    n_samples, n_features = Z.shape
    if n_samples < n_features:
        raise ValueError(
            f"{design.name} must have at least as many rows with positive weight as "
            f"coefficients to fit ({n_features}), got {n_samples}"
        )
    gram = Z.T @ (Z * w[:, None])
    d = np.sqrt(np.diag(gram))
    if np.any(d == 0):
        col = int(np.flatnonzero(d == 0)[0])
        raise ValueError(
            f"{design.name} is rank deficient: {design.column(col)} is zero on every row with "
            f"positive weight; drop it"
        )
    eig = np.linalg.eigvalsh(gram / np.outer(d, d))
    if eig[0] <= 1e-12 * eig[-1]:
        raise ValueError(
            f"{design.name} is rank deficient or nearly so (collinear columns, or a "
            "constant column "
            f"alongside the intercept): the condition number of the scaled design is about "
            f"{np.sqrt(eig[-1] / max(eig[0], 1e-300)):.3g}. The quantile regression "
            "coefficients are not identified; remove redundant columns."
        )
    return gram


def _start(Z, y, w, gram=None):
    """Weighted least-squares start, solved with the Gram matrix equilibrated.

    Without the diagonal scaling, weights of very different magnitudes (a
    column seen only by rows of weight 1e-200 beside rows of weight 1) made
    the solve return a start of order 1e184, whose residuals then
    underflowed the MM weights and left the MM Gram matrix singular.
    """
    if gram is None:
        gram = Z.T @ (Z * w[:, None])
    rhs = Z.T @ (w * y)
    d = np.sqrt(np.diag(gram))
    d = np.where(d > 0, d, 1.0)
    try:
        return np.linalg.solve(gram / np.outer(d, d), rhs / d) / d
    except np.linalg.LinAlgError:
        return np.linalg.lstsq(gram, rhs, rcond=None)[0]


def _mm_fit(Z, y, w, q, theta0, tol, max_iter, gram=None):
    """MM with continuation in the perturbation, without the exact finish.

    Returns ``(theta, resid, scale, n_iter, mm_capped)``: the last iterate,
    its residuals, the residual scale that set the perturbations and the
    iteration count.
    """
    n_samples, n_features = Z.shape
    theta = np.array(theta0, dtype=np.float64) if theta0 is not None else _start(Z, y, w, gram)
    resid = y - Z @ theta
    # The scale only sets the continuation of eps: a strided subsample of at
    # most 4096 rows estimates it well enough, in O(n) time at most.
    # Unweighted: the pseudo-rows of preprocessing carry huge weights and
    # residuals, and would set a scale far above that of the ordinary rows.
    stride = max(1, n_samples // 4096)
    scale = float(np.median(np.abs(resid[::stride])))
    if not scale > 0:
        scale = float(np.mean(np.abs(y - np.median(y))))
    if not scale > 0:
        scale = float(np.max(np.abs(y)))
    if not scale > 0:
        scale = 1.0
    work_n = np.empty(2 * n_samples)
    work_np = np.empty(n_samples * n_features if n_features > 8 else 0)
    # The minimiser of the perturbed loss lies where the log term's pull,
    # about e / (2 |r|) per row, balances the smaller slope min(q, 1 - q) of
    # the check loss: e must shrink with min(q, 1 - q) or, at extreme
    # quantiles, MM chases a point far from the LP solution.
    eps_stages = (2.0 * min(q, 1.0 - q) * scale) * _EPS_STAGES
    n_iter, status = _mm.mm_quantile_fit(
        Z, y, w, q, theta, eps_stages, tol, max_iter, resid, work_n, work_np
    )
    # status 1: an MM Gram matrix was numerically singular although the design
    # has full rank (MM weights w_i / (e + |r_i|) spanning 1e17 when fewer than
    # p rows with positive weight fit exactly, e.g. rows of zeros among them).
    # MM only supplies a start: the exact finish goes on from the last iterate.
    mm_capped = status == 0 and n_iter >= max_iter
    return theta, resid, scale, int(n_iter), bool(mm_capped)


def _solve_direct(Z, y, w, q, theta0, tol, max_iter, max_pivots, gram=None):
    """MM with continuation, then the exact simplex finish, on all rows."""
    n_samples, n_features = Z.shape
    theta, resid, scale, n_iter, mm_capped = _mm_fit(Z, y, w, q, theta0, tol, max_iter, gram)
    if max_pivots is None:
        max_pivots = 10 * (n_samples + n_features) + 100
    n_pivots, fstatus, objective = _exact_finish(Z, y, w, q, theta, resid, max_pivots, scale)
    return QuantileSolution(
        coef=theta,
        objective=float(objective),
        n_iter=n_iter,
        n_pivots=int(n_pivots),
        status=_STATUS[fstatus],
        mm_capped=mm_capped,
    )


def _initial_basis(Z, resid):
    """The rows with the smallest |residual| that form a full-rank basis."""
    n_samples, n_features = Z.shape
    basis = np.empty(n_features, dtype=np.intp)
    absr = np.abs(resid)
    n_cand = min(n_samples, 4 * n_features + 16)
    if n_cand < n_samples:
        cand = np.argpartition(absr, n_cand - 1)[:n_cand]
        cand = cand[np.argsort(absr[cand], kind="stable")]
    else:
        cand = np.argsort(absr, kind="stable")
    found = _mm.choose_basis(Z, np.ascontiguousarray(cand, dtype=np.intp), basis)
    if found < n_features and n_cand < n_samples:
        cand = np.argsort(absr, kind="stable").astype(np.intp)
        found = _mm.choose_basis(Z, cand, basis)
    if found < n_features:  # pragma: no cover - rank was checked before
        raise ValueError("X is rank deficient on the rows with positive weight")
    return basis


def _certify(Z, y, w, q, basis, resid_pert):
    """Koenker's certificate for the vertex of ``basis`` on the original ``y``.

    Rows whose original residual is zero to rounding may take any
    ``psi`` in ``[q - 1, q]``; they take the sign of their residual in the
    perturbed problem (``resid_pert``), which is a valid choice when it
    certifies. Returns ``(ok, theta, resid, objective)``.
    """
    Zh = Z[basis]
    inv = np.linalg.inv(Zh)
    theta = np.linalg.solve(Zh, y[basis])
    resid = y - Z @ theta
    resid[basis] = 0.0
    # rounding bound of each residual, including the error of the solve
    eps = np.finfo(np.float64).eps
    theta_err = np.abs(theta) + np.abs(inv) @ np.abs(y[basis])
    zero = np.abs(resid) <= 64 * eps * (np.abs(y) + np.abs(Z) @ theta_err)
    sign_src = np.where(zero, resid_pert, resid)
    psi = np.where(sign_src >= 0, q, q - 1.0) * w
    psi[basis] = 0.0
    g = Z.T @ psi
    inv_t = inv.T  # Z_h^{-T}
    v = -inv_t @ g
    tol = 1e-10 * w[basis] + 64 * eps * (np.abs(inv_t) @ (w @ np.abs(Z)))
    wb = w[basis]
    ok = bool(np.all(v >= wb * (q - 1.0) - tol) and np.all(v <= wb * q + tol))
    objective = float(w @ np.where(resid >= 0, q * resid, (q - 1.0) * resid))
    return ok, theta, resid, objective


def _exact_finish(Z, y, w, q, theta, resid, max_pivots, scale):
    """Simplex pivots to an exact LP vertex, with degeneracy handled.

    Pivots run on the original problem until the first degenerate pivot
    (step length zero). Ties can then make the certificate fail at every
    basis of an optimal vertex, so the pivots continue on the response
    perturbed by ``1e-9 * scale`` times fixed uniform noise, whose optimal
    basis is certified on the original response with the perturbed signs of
    its zero residuals (a lexicographic argument); a smaller perturbation is
    tried if that fails, and plain pivots under Bland's rule as a last resort.
    ``theta`` and ``resid`` are updated in place. Returns
    ``(n_pivots, status, objective)``.
    """
    n_samples = Z.shape[0]
    basis = _initial_basis(Z, resid)
    work_n = np.empty(4 * n_samples)
    work_idx = np.empty(n_samples, dtype=np.intp)
    in_basis = np.zeros(n_samples, dtype=np.int8)
    n_pivots, status, objective = _mm.simplex_finish(
        Z, y, w, q, basis, theta, max_pivots, resid, work_n, work_idx, in_basis, True
    )
    if status != 5:
        return n_pivots, status, objective
    # perturbation scale: relative to the spread of y too, since the residuals
    # can all be zero (y exactly linear in Z)
    scale = max(scale, float(np.mean(np.abs(y - np.median(y)))), 1e-3 * float(np.max(np.abs(y))))
    noise = np.random.default_rng(0x5EED).uniform(-1.0, 1.0, n_samples)
    for rel in (1e-9, 1e-12):
        y_pert = y + (rel * scale) * noise
        piv, status, _ = _mm.simplex_finish(
            Z, y_pert, w, q, basis, theta, max(max_pivots - n_pivots, 0), resid, work_n,
            work_idx, in_basis, False,
        )
        n_pivots += piv
        if status != 0:
            break
        ok, theta_o, resid_o, objective = _certify(Z, y, w, q, basis, resid)
        if ok:
            theta[:] = theta_o
            resid[:] = resid_o
            return n_pivots, 0, objective
    piv, status, objective = _mm.simplex_finish(
        Z, y, w, q, basis, theta, max(max_pivots - n_pivots, 0), resid, work_n, work_idx,
        in_basis, False,
    )
    return n_pivots + piv, status, objective


def _with_ones(X):
    """The design ``[1, X]``, materialised (the direct solver's input)."""
    Z = np.empty((X.shape[0], X.shape[1] + 1))
    Z[:, 0] = 1.0
    Z[:, 1:] = X
    return Z


def _design_rows(X, rows, ones):
    """Rows ``rows`` of the design ``[1, X]`` (``ones``) or ``X``, materialised."""
    rows = np.ascontiguousarray(rows, dtype=np.intp)
    out = np.empty((rows.size, X.shape[1] + int(ones)))
    _mm.gather_design(X, rows, ones, out)
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
    """Arguments ``(diag, lam_lo, lam_hi)`` of :func:`_mm.band_split`'s screening, or ().

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
    X = Z
    n_samples = X.shape[0]
    n_features = X.shape[1] + int(ones)
    m = int(((n_features + 1) * n_samples) ** (2.0 / 3.0))
    total_iter = total_piv = n_rounds = 0
    capped = False
    theta = theta0
    u = np.empty(n_samples)
    side = np.empty(n_samples, dtype=np.int8)
    kept = np.empty(n_samples, dtype=np.intp)
    offenders = kept  # one buffer: the kept rows are copied out before any verification
    glob_z = np.empty((2, n_features))
    glob_yw = np.empty(4)
    while True:
        n_rounds += 1
        if m >= n_samples // 2:
            Z = _with_ones(X) if ones else X
            gram = _check_full_rank(Z, w, design)
            sol = _solve_direct(Z, y, w, q, theta, tol, max_iter, max_pivots, gram)
            sol.n_iter += total_iter
            sol.n_pivots += total_piv
            sol.mm_capped |= capped
            sol.n_rounds = n_rounds
            return sol
        sub = np.sort(rng.choice(n_samples, size=m, replace=False))
        Zs, ys, ws = _design_rows(X, sub, ones), y[sub], w[sub]
        try:
            gram = _check_full_rank(Zs, ws)
        except ValueError:
            # raises if the full design is rank deficient
            _check_full_rank(_with_ones(X) if ones else X, w, design)
            m = min(n_samples, 2 * m)  # else an unlucky subsample: grow it
            continue
        # The subsample fit only places the band: its sampling error, of order
        # m^-1/2, dwarfs what the exact finish would correct.
        theta, _, _, n_iter, mm_capped = _mm_fit(Zs, ys, ws, q, theta, tol, max_iter, gram)
        total_iter += n_iter
        capped |= mm_capped
        # standardised residuals r_i / b_i, b_i = sqrt(z_i'(Zs'Ws Zs)^{-1} z_i)
        root = _inverse_gram_root(gram)
        n_keep = int(0.8 * m)
        levels = (q - n_keep / (2.0 * n_samples), q + n_keep / (2.0 * n_samples))
        u_sub = np.empty(m)
        _mm.standardized_residuals(Zs, ys, theta, root, u_sub)
        del Zs, ys, ws
        kappa = _thresholds(u_sub, *levels)
        n_kept = _mm.band_split(X, y, w, theta, root, *kappa, ones, u, side, glob_z, glob_yw,
                                kept, *_screening(root))
        if not 0.5 * n_keep <= n_kept <= 2.0 * n_keep:
            kappa = _thresholds(u, *levels)  # the full data's own order statistics
            n_kept = _mm.band_split(X, y, w, theta, root, *kappa, ones, u, side, glob_z,
                                    glob_yw, kept)
        keep = kept[:n_kept].copy()
        band = (keep, _design_rows(X, keep, ones), y[keep], w[keep])
        wide = (side.copy(), glob_z.copy(), glob_yw.copy(), band)
        n_narrow = _narrow_size(n_keep, keep.size, n_features)
        narrowed = False
        if n_narrow is not None:
            Zr, yr, wr = _glob(*band[1:], glob_z, glob_yw)
            theta, resid, _, n_iter, mm_capped = _mm_fit(
                Zr, yr, wr, q, theta, tol, min(max_iter, _REDUCED_MM_ITER))
            total_iter += n_iter
            del Zr, yr, wr
            # on the band's own rows (band-local sides, mapped back after)
            side_band = np.zeros(keep.size, dtype=np.int8)
            _narrow(band[1], band[2], band[3], np.arange(keep.size), resid[:keep.size],
                    n_narrow, side_band, glob_z, glob_yw)
            side[keep] = side_band
            band = tuple(a[side_band == 0] for a in band)
            narrowed = True
        n_fixups = 0
        while n_fixups < 8:  # fix-up rounds with offenders moved back
            keep = band[0]
            Zr, yr, wr = _glob(*band[1:], glob_z, glob_yw)
            # a few MM steps only: the start is near the optimum, and the heavy
            # pseudo-rows make MM's tail slow (pivots finish the job)
            sol = _solve_direct(Zr, yr, wr, q, theta, tol, min(max_iter, _REDUCED_MM_ITER),
                                max_pivots)
            total_iter += sol.n_iter
            total_piv += sol.n_pivots
            n_bad, objective = _mm.glob_offenders_x(X, y, w, q, sol.coef, side, ones,
                                                    offenders)
            if n_bad == 0:
                return QuantileSolution(
                    coef=sol.coef, objective=float(objective), n_iter=total_iter,
                    n_pivots=total_piv, status=sol.status, mm_capped=capped,
                    n_rounds=n_rounds,
                )
            if n_bad > 0.1 * keep.size:
                if not narrowed:
                    break
                # the narrow band missed the optimum: back to the wide one
                side[:], glob_z[:], glob_yw[:] = wide[:3]
                band = wide[3]
                narrowed = False
                continue
            theta = sol.coef
            band = _readmit(X, y, w, ones, band, offenders[:n_bad], side, glob_z, glob_yw)
            n_fixups += 1
        m = min(n_samples, 2 * m)


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


def solve_quantile(
    Z: ArrayLike,
    y: ArrayLike,
    sample_weight: ArrayLike | None = None,
    quantile: float = 0.5,
    *,
    theta0: ArrayLike | None = None,
    tol: float = 1e-5,
    max_iter: int = 1000,
    max_pivots: int | None = None,
    preprocess: Literal["auto"] | bool = "auto",
    random_state: int | np.random.SeedSequence | np.random.Generator | None = 0,
) -> QuantileSolution:
    """Exact weighted linear quantile regression on a design matrix.

    Minimises ``sum_i w_i rho_q(y_i - z_i'theta)`` over ``theta``. ``Z`` is
    used as given: add a column of ones yourself for an intercept (or use
    :class:`statoptim.QuantileRegressor`). Rows with zero weight are dropped.

    Parameters
    ----------
    Z : array-like of shape (n_samples, n_features)
        Finite real numbers (not sparse); full column rank on the rows with
        positive weight.
    y : array-like of shape (n_samples,)
        Finite real numbers.
    sample_weight : array-like of shape (n_samples,), default=None
        Finite, non-negative, with a positive entry; ``None`` means ones.
    quantile : float in (0, 1), default=0.5
        One quantile level.
    theta0 : array-like of shape (n_features,), default=None
        Finite warm start; weighted least squares when ``None`` (or when
        the residuals at ``theta0`` overflow). The answer does not depend on it.
    tol : float > 0, default=1e-5
    max_iter : int >= 1, default=1000
    max_pivots : int >= 1, default=None
    preprocess : {"auto", True, False}, default="auto"
        As in :class:`statoptim.QuantileRegressor`.
    random_state : None, int >= 0, SeedSequence or Generator, default=0
        Seed of the preprocessing subsample (the answer does not depend on it
        when ``status == "optimal"``).

    Returns
    -------
    QuantileSolution

    Raises
    ------
    ValueError
        For bad arguments (the message names the argument), a rank-deficient
        design, and when a coefficient of the exact solution lies outside the
        float64 range (it would overflow to inf, or underflow with a loss of
        precision that changes the fitted values): rescale that column of
        ``Z`` or ``y``. The solver itself works on data of any magnitude
        (exact power-of-two rescaling), so every representable solution is
        returned exactly.
    TypeError
        For sparse, complex or non-numeric arrays.

    Examples
    --------
    >>> import numpy as np
    >>> from statoptim.quantile import solve_quantile
    >>> Z = np.column_stack([np.ones(5), [0.0, 1.0, 2.0, 3.0, 4.0]])
    >>> y = np.array([0.0, 1.5, 1.8, 3.2, 4.0])
    >>> sol = solve_quantile(Z, y, quantile=0.5)
    >>> sol.status, sol.coef.round(4), round(sol.objective, 4)
    ('optimal', array([0., 1.]), 0.45)
    """
    Z = as_float_array(Z, "Z", expected="a 2-D array of numbers")
    if Z.ndim != 2:
        raise ValueError(f"Z must be 2-D (n_samples, n_features), got an array of shape {Z.shape}")
    if Z.shape[0] == 0 or Z.shape[1] == 0:
        raise ValueError(f"Z must have at least one row and one column, got shape {Z.shape}")
    check_finite(Z, "Z")
    n_samples, n_features = Z.shape
    y = as_float_array(y, "y", expected="a 1-D array of numbers")
    if y.shape != (n_samples,):
        raise ValueError(f"y must have shape ({n_samples},) to match Z, got shape {y.shape}")
    check_finite(y, "y")
    quantiles, _ = check_quantile_levels(quantile)
    if quantiles.size != 1:
        raise ValueError(
            f"quantile must be a single number in (0, 1) for solve_quantile, got "
            f"{quantiles.size} values; call it once per quantile or use QuantileRegressor"
        )
    w = check_weights(sample_weight, n_samples)
    if theta0 is not None:
        theta0 = as_float_array(theta0, "theta0", expected="None or a 1-D array of numbers")
        if theta0.shape != (n_features,):
            raise ValueError(
                f"theta0 must have shape ({n_features},) (one entry per column of Z), "
                f"got shape {theta0.shape}"
            )
        check_finite(theta0, "theta0")
    tol = check_tol(tol)
    max_iter = check_count(max_iter, "max_iter")
    if max_pivots is not None:
        max_pivots = check_count(max_pivots, "max_pivots")
    preprocess = check_preprocess(preprocess)
    is_bool = isinstance(random_state, (bool, np.bool_))
    if is_bool:
        raise ValueError(
            f"random_state must be None, an int, a SeedSequence or a numpy Generator, "
            f"got {random_state!r}"
        )
    rng = check_random_state(random_state)
    return _solve(Z, y, w, quantiles[0], theta0=theta0, tol=tol, max_iter=max_iter,
                  max_pivots=max_pivots, preprocess=preprocess, random_state=rng,
                  design="Z")


def _solve(Z, y, w, q, *, theta0, tol, max_iter, max_pivots, preprocess, random_state,
           design="X", intercept=False, ones=False):
    """:func:`solve_quantile` on validated input (finite, C-contiguous float64).

    ``design`` names the design matrix in error messages; ``intercept`` says
    its first column is the intercept's (so that messages name ``X``'s columns).
    With ``ones``, ``Z`` is ``X`` alone and the design is ``[1, X]`` (the
    coefficients, intercept first, are those of ``[1, X]``): the column of ones
    is only materialised where a small problem is solved directly.
    """
    if not np.all(w > 0):
        keep = w > 0
        Z, y, w = np.ascontiguousarray(Z[keep]), y[keep], w[keep]
    intercept = intercept or ones
    off = int(ones)
    n_samples = Z.shape[0]
    n_features = Z.shape[1] + off
    # Exact power-of-two scaling of y, w and the columns of Z: the solution of
    # the scaled problem maps back without rounding (theta_j * 2**(k_y - k_z))
    # unless it leaves the float64 range (checked below).
    k_y = int(_power_of_two_scale(y))
    k_w = int(_power_of_two_scale(w, nonnegative=True))
    colmax = np.zeros(n_features)
    if n_samples:
        _mm.column_absmax(Z, colmax[off:])  # one pass, no n x p temporary
    if ones:
        colmax[0] = 1.0
    k_z = _power_of_two_scale(colmax[None, :], axis=0, nonnegative=True)
    if k_y:
        y = np.ldexp(y, -k_y)
    if k_w:
        w = np.ldexp(w, -k_w)
    if float(np.min(w)) < 2.0**-1021:  # a weight would be subnormal (or 0): rows lost
        raise ValueError(
            "sample_weight spans too many orders of magnitude: the ratio of its largest to "
            "its smallest positive entry exceeds 2**1021 (~2e307), so float64 cannot hold "
            "both once rescaled; drop the rows of negligible weight or compress the weights"
        )
    if np.any(k_z):
        Z = np.ldexp(Z, -k_z[None, off:])
        colmax = np.ldexp(colmax, -k_z)
    if theta0 is not None:
        theta0 = np.asarray(theta0, dtype=np.float64)
        if theta0.shape != (n_features,):
            raise ValueError(f"theta0 must have shape ({n_features},), got {theta0.shape}")
        with np.errstate(over="ignore", under="ignore", invalid="ignore"):
            theta0 = np.ldexp(theta0, k_z - k_y)
            # a warm start whose residuals overflow is no help: start from least squares
            fitted = Z @ theta0[off:] + (theta0[0] if ones else 0.0)
            if not (np.all(np.isfinite(theta0)) and np.all(np.isfinite(fitted))):
                theta0 = None
    # BLAS at one thread (statoptim/_threads.py): the products here are small
    # and threads only lose, badly on a loaded machine. Below the threshold a
    # fit takes well under a millisecond and the limit itself would cost more.
    with single_blas_thread(Z.size >= _SINGLE_THREAD_MIN_SIZE):
        sol = _solve_scaled(Z, y, w, q, theta0=theta0, tol=tol, max_iter=max_iter,
                            max_pivots=max_pivots, preprocess=preprocess,
                            random_state=random_state, design=_Design(design, intercept),
                            ones=ones)
    sol.coef = _unscale_coef(sol.coef, k_y - k_z, Z, y, _Design(design, intercept), colmax)
    if k_y or k_w:
        with np.errstate(over="ignore", under="ignore"):  # inf only if the true value is
            sol.objective = float(np.ldexp(sol.objective, k_y + k_w))
    return sol


def _unscale_coef(theta, shift, Z, y, design, colmax=None):
    """``theta * 2**shift``, or a ``ValueError`` if that leaves the float64 range.

    ``theta`` solves the problem on the scaled data ``Z``, ``y``. The product
    is exact unless it overflows (inf) or underflows into the subnormals,
    where it is rounded to a multiple of ``2**-1074``; such rounding is
    accepted while the fitted values it moves, ``sum_j |d theta_j| max|Z_j|``,
    stay within a few ulps of their own magnitude. ``colmax``, if given, is
    ``max_i |Z[i, j]|`` per column (saves a pass).
    """
    if not np.all(np.isfinite(theta)):  # pragma: no cover - finite data, full rank
        raise ValueError("the solver produced non-finite coefficients; please report this")
    with np.errstate(over="ignore", under="ignore", invalid="ignore"):
        coef = np.ldexp(theta, shift)
        back = np.ldexp(coef, -shift)
    if colmax is None:
        colmax = np.max(np.abs(Z), axis=0)
    moved = np.abs(back - theta) * colmax
    scale = float(np.max(np.abs(y))) + float(np.abs(theta) @ colmax)
    bad = ~(moved <= 64 * np.finfo(np.float64).eps * scale)  # also catches inf and NaN
    if bad.any():
        j = int(np.flatnonzero(bad)[0])
        exponent = int(np.frexp(theta[j])[1]) + int(shift[j])
        if design.intercept and j == 0:
            what, fix = "the intercept", "shift or rescale y"
        else:
            what, fix = f"the coefficient of {design.column(j)}", (
                f"rescale {design.column(j)} or y")
        side = "overflows" if not np.isfinite(coef[j]) else (
            "underflows (it would lose precision in the subnormal range)")
        raise ValueError(
            f"{what} of the exact solution is about 2**{exponent} and {side} in float64: "
            f"the data's scales are too far apart to represent the answer; {fix}"
        )
    return coef


def _solve_scaled(Z, y, w, q, *, theta0, tol, max_iter, max_pivots, preprocess,
                  random_state, design=_X_DESIGN, ones=False):
    n_samples = Z.shape[0]
    n_features = Z.shape[1] + int(ones)
    if preprocess == "auto":
        preprocess = n_samples >= max(_PREPROCESS_MIN_SAMPLES, _PREPROCESS_MIN_RATIO * n_features)
    # With preprocessing the rank is checked on the first subsample (a full-rank
    # subset of rows implies a full-rank design); otherwise on all rows.
    if preprocess:
        rng = np.random.default_rng(random_state)
        return _solve_preprocessed(Z, y, w, q, theta0, tol, max_iter, max_pivots, rng, design,
                                   ones)
    if ones:
        Z = _with_ones(Z)
    gram = _check_full_rank(Z, w, design)
    return _solve_direct(Z, y, w, q, theta0, tol, max_iter, max_pivots, gram)
