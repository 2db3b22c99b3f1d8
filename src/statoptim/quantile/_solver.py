"""Exact weighted quantile regression: MM, simplex finish and preprocessing.

The functions here prepare arrays for the kernels of ``_mm.pyx`` and combine
them; validation of user input happens in the estimators, except that
:func:`solve_quantile`, being public, checks shapes and finiteness cheaply.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from statoptim._validation import check_quantiles, check_sample_weight
from statoptim.quantile import _mm

__all__ = ["solve_quantile", "QuantileSolution"]

_STATUS = {0: "optimal", 1: "singular", 2: "inexact", 3: "inexact", 4: "singular"}

# Continuation of the perturbation, relative to the residual scale (spec 2.3).
_EPS_STAGES = np.array([1e-2, 1e-4, 1e-6])
# Preprocessing pays off above this many rows (and rows >> columns).
_PREPROCESS_MIN_SAMPLES = 20_000


@dataclass
class QuantileSolution:
    """Result of :func:`solve_quantile`.

    Attributes
    ----------
    coef : ndarray of shape (n_features,)
        An exact minimiser of ``sum_i w_i rho_q(y_i - z_i'coef)`` when
        ``status == "optimal"``.
    objective : float
        The objective at ``coef``.
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


def _weighted_median(values, weights):
    order = np.argsort(values, kind="stable")
    cw = np.cumsum(weights[order])
    return float(values[order[np.searchsorted(cw, 0.5 * cw[-1])]])


def _check_full_rank(Z, w):
    """Raise a clear error when the weighted design is (nearly) rank deficient."""
    n_samples, n_features = Z.shape
    if n_samples < n_features:
        raise ValueError(
            f"X must have at least as many rows with positive weight as coefficients to "
            f"fit ({n_features}), got {n_samples}"
        )
    gram = Z.T @ (Z * w[:, None])
    d = np.sqrt(np.diag(gram))
    if np.any(d == 0):
        col = int(np.flatnonzero(d == 0)[0])
        raise ValueError(
            f"X is rank deficient: coefficient column {col} is zero on every row with "
            f"positive weight; drop it"
        )
    eig = np.linalg.eigvalsh(gram / np.outer(d, d))
    if eig[0] <= 1e-12 * eig[-1]:
        raise ValueError(
            "X is rank deficient or nearly so (collinear columns, or a constant column "
            f"alongside the intercept): the condition number of the scaled design is about "
            f"{np.sqrt(eig[-1] / max(eig[0], 1e-300)):.3g}. The quantile regression "
            "coefficients are not identified; remove redundant columns."
        )
    return gram


def _start(Z, y, w, gram=None):
    """Weighted least-squares start."""
    if gram is None:
        gram = Z.T @ (Z * w[:, None])
    rhs = Z.T @ (w * y)
    try:
        return np.linalg.solve(gram, rhs)
    except np.linalg.LinAlgError:
        return np.linalg.lstsq(gram, rhs, rcond=None)[0]


def _solve_direct(Z, y, w, q, theta0, tol, max_iter, max_pivots, gram=None):
    """MM with continuation, then the exact simplex finish, on all rows."""
    n_samples, n_features = Z.shape
    theta = np.array(theta0, dtype=np.float64) if theta0 is not None else _start(Z, y, w, gram)
    resid = y - Z @ theta
    scale = _weighted_median(np.abs(resid), w)
    if not scale > 0:
        scale = float(np.mean(np.abs(y - np.median(y))))
    if not scale > 0:
        scale = 1.0
    work_n = np.empty(3 * n_samples)
    work_np = np.empty(n_samples * n_features if n_features > 8 else 0)
    n_iter, status = _mm.mm_quantile_fit(
        Z, y, w, q, theta, scale * _EPS_STAGES, tol, max_iter, resid, work_n, work_np
    )
    del work_np
    if status != 0:  # pragma: no cover - rank was checked before
        raise ValueError("the weighted design matrix is singular; remove collinear columns")
    mm_capped = n_iter >= max_iter

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
    if max_pivots is None:
        max_pivots = 10 * (n_samples + n_features) + 100
    n_pivots, fstatus, objective = _mm.simplex_finish(
        Z, y, w, q, basis, theta, max_pivots, resid, work_n,
        np.empty(n_samples, dtype=np.intp), np.zeros(n_samples, dtype=np.int8),
    )
    return QuantileSolution(
        coef=theta,
        objective=float(objective),
        n_iter=int(n_iter),
        n_pivots=int(n_pivots),
        status=_STATUS[fstatus],
        mm_capped=bool(mm_capped),
    )


def _solve_preprocessed(Z, y, w, q, theta0, tol, max_iter, max_pivots, rng):
    """Portnoy-Koenker (1997) preprocessing around the exact direct solver.

    Solve on a subsample of ``m = ((p + 1) n)^(2/3)`` rows; rows whose
    standardised residuals lie far below (above) the fit are merged into one
    pseudo-row each; the reduced problem is solved exactly; if no merged row
    changed sign the answer is exact for the full data (the reduced objective
    is a lower bound of the full one that is tight there). Offenders are moved
    back (few) or ``m`` is doubled (many).
    """
    n_samples, n_features = Z.shape
    m = int(min(n_samples, ((n_features + 1) * n_samples) ** (2.0 / 3.0)))
    total_iter = total_piv = n_rounds = 0
    capped = False
    theta = theta0
    while True:
        n_rounds += 1
        if m >= n_samples // 2:
            sol = _solve_direct(Z, y, w, q, theta, tol, max_iter, max_pivots)
            sol.n_iter += total_iter
            sol.n_pivots += total_piv
            sol.mm_capped |= capped
            sol.n_rounds = n_rounds
            return sol
        sub = rng.choice(n_samples, size=m, replace=False)
        sub.sort()
        Zs, ys, ws = Z[sub], y[sub], w[sub]
        sol = _solve_direct(Zs, ys, ws, q, theta, tol, max_iter, max_pivots)
        total_iter += sol.n_iter
        total_piv += sol.n_pivots
        capped |= sol.mm_capped
        theta = sol.coef
        # standardised residuals r_i / b_i, b_i = sqrt(z_i'(Zs'Ws Zs)^{-1} z_i)
        gram = Zs.T @ (Zs * ws[:, None])
        chol = np.linalg.cholesky(gram)
        resid = y - Z @ theta
        b = _row_leverage_norm(Z, chol)
        u = resid / b
        n_keep = int(0.8 * m)
        lo_q, hi_q = q - n_keep / (2.0 * n_samples), q + n_keep / (2.0 * n_samples)
        kappa_lo = np.quantile(u, lo_q) if lo_q > 0 else -np.inf
        kappa_hi = np.quantile(u, hi_q) if hi_q < 1 else np.inf
        low = u < kappa_lo
        high = u > kappa_hi
        for _ in range(8):  # fix-up rounds with offenders moved back
            keep = ~(low | high)
            Zr, yr, wr = _glob(Z, y, w, keep, low, high)
            sol = _solve_direct(Zr, yr, wr, q, theta, tol, max_iter, max_pivots)
            total_iter += sol.n_iter
            total_piv += sol.n_pivots
            capped |= sol.mm_capped
            theta = sol.coef
            resid = y - Z @ theta
            bad_low = low & (resid > 0)
            bad_high = high & (resid < 0)
            n_bad = int(bad_low.sum() + bad_high.sum())
            if n_bad == 0:
                objective = float(np.dot(w, np.where(resid >= 0, q * resid, (q - 1.0) * resid)))
                return QuantileSolution(
                    coef=theta, objective=objective, n_iter=total_iter,
                    n_pivots=total_piv, status=sol.status, mm_capped=capped,
                    n_rounds=n_rounds,
                )
            if n_bad > 0.1 * n_keep:
                break
            low &= ~bad_low
            high &= ~bad_high
        m = min(n_samples, 2 * m)


def _row_leverage_norm(Z, chol, chunk=65536):
    """b_i = sqrt(z_i' G^{-1} z_i) with G = chol chol', in row chunks (O(chunk p) memory)."""
    from scipy.linalg import solve_triangular

    out = np.empty(Z.shape[0])
    for start in range(0, Z.shape[0], chunk):
        block = solve_triangular(chol, Z[start:start + chunk].T, lower=True, check_finite=False)
        out[start:start + chunk] = np.sqrt(np.einsum("ij,ij->j", block, block))
    return out


def _glob(Z, y, w, keep, low, high):
    """Kept rows plus one weighted-mean pseudo-row per non-empty glob."""
    parts_Z, parts_y, parts_w = [Z[keep]], [y[keep]], [w[keep]]
    for mask in (low, high):
        if mask.any():
            wm = w[mask]
            total = wm.sum()
            parts_Z.append((wm @ Z[mask] / total)[None, :])
            parts_y.append(np.array([wm @ y[mask] / total]))
            parts_w.append(np.array([total]))
    return (
        np.ascontiguousarray(np.concatenate(parts_Z)),
        np.concatenate(parts_y),
        np.concatenate(parts_w),
    )


def solve_quantile(
    Z,
    y,
    sample_weight=None,
    quantile=0.5,
    *,
    theta0=None,
    tol=1e-8,
    max_iter=1000,
    max_pivots=None,
    preprocess="auto",
    random_state=0,
):
    """Exact weighted linear quantile regression on a design matrix.

    Minimises ``sum_i w_i rho_q(y_i - z_i'theta)`` over ``theta``. ``Z`` is
    used as given: add a column of ones yourself for an intercept (or use
    :class:`statoptim.QuantileRegressor`, which also validates its input more
    thoroughly). Rows with zero weight are dropped.

    Parameters
    ----------
    Z : array-like of shape (n_samples, n_features)
    y : array-like of shape (n_samples,)
    sample_weight : array-like of shape (n_samples,), default=None
    quantile : float in (0, 1), default=0.5
    theta0 : array-like of shape (n_features,), default=None
        Warm start; weighted least squares when ``None``.
    tol, max_iter, max_pivots, preprocess
        As in :class:`statoptim.QuantileRegressor`.
    random_state : int, Generator or None, default=0
        Seed of the preprocessing subsample (the answer does not depend on it
        when ``status == "optimal"``).

    Returns
    -------
    QuantileSolution
    """
    Z = np.ascontiguousarray(Z, dtype=np.float64)
    y = np.ascontiguousarray(y, dtype=np.float64)
    if Z.ndim != 2:
        raise ValueError(f"Z must be 2-D, got an array of shape {Z.shape}")
    if y.shape != (Z.shape[0],):
        raise ValueError(f"y must have shape ({Z.shape[0]},) to match Z, got {y.shape}")
    if not (np.all(np.isfinite(Z)) and np.all(np.isfinite(y))):
        raise ValueError("Z and y must be finite (no NaN or inf)")
    (q,), _ = check_quantiles(quantile)
    w = check_sample_weight(sample_weight, Z.shape[0])
    if not np.all(w > 0):
        keep = w > 0
        Z, y, w = np.ascontiguousarray(Z[keep]), y[keep], w[keep]
    n_samples, n_features = Z.shape
    gram = _check_full_rank(Z, w)
    if theta0 is not None:
        theta0 = np.asarray(theta0, dtype=np.float64)
        if theta0.shape != (n_features,):
            raise ValueError(f"theta0 must have shape ({n_features},), got {theta0.shape}")
    if preprocess == "auto":
        preprocess = n_samples >= _PREPROCESS_MIN_SAMPLES and n_samples >= 200 * n_features
    if preprocess:
        rng = np.random.default_rng(random_state)
        return _solve_preprocessed(Z, y, w, q, theta0, tol, max_iter, max_pivots, rng)
    return _solve_direct(Z, y, w, q, theta0, tol, max_iter, max_pivots, gram)
