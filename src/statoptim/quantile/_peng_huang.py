"""Peng & Huang (2008) censored quantile regression: sequential martingale estimating equations.

The model is ``Q_T(tau | z) = z' beta(tau)`` for all ``tau`` up to the one
asked for, with ``T`` and the censoring time ``C`` independent given ``z``
(the censoring may depend on the covariates). With ``H(u) = -log(1 - u)``
and a grid ``0 = tau_0 < tau_1 < ... < tau_L``, ``beta(tau_j)`` solves

    sum_i w_i z_i [ D_i I(Y_i <= z_i' beta) - s_i(j) ] = 0,
    s_i(j) = sum_{k < j} I(Y_i >= z_i' beta(tau_k)) (H(tau_{k+1}) - H(tau_k)),

where ``beta(tau_0) = -inf`` (every row at risk at the start). Each step is
the exact weighted L1 problem

    min_b  sum_{i: D_i = 1} w_i (z_i' b - Y_i)^+ - r' b,   r = sum_i w_i s_i(j) z_i,

whose subgradient condition is the equation above. It is solved by
:func:`statoptim.solve_quantile`'s solver as a check-loss fit at a level
``q0`` over the uncensored rows plus one pseudo-observation at a large value
``y*`` with design row ``z* = r / q0 - sum_{D_i = 1} w_i z_i`` (Peng & Huang's
``R*``; they use two such rows for the median loss, one suffices): while its
residual ``y* - z*' b`` stays positive, the pseudo-row contributes the linear
term ``-q0 z*' b``, so a minimiser with a positive pseudo-residual solves the
step's problem exactly (convexity); ``y*`` is checked afterwards and enlarged
if needed. When no ``y*`` makes the residual positive, ``r`` lies outside the
set of attainable left-hand sides: the equations have no solution from that
``tau`` on (too little uncensored mass above), and the path stops there.
"""
from __future__ import annotations

import numpy as np

from statoptim.quantile._solver import _solve

__all__ = ["default_grid", "peng_huang_path"]

# Pseudo-observation height, in units of the largest |y|, and its enlargements.
_PSEUDO_HEIGHTS = (2.0**10, 2.0**30)
# A residual within this many ulps of the row's scale counts as zero (at risk).
_ZERO_RESIDUAL_ULPS = 64


def default_grid(n_samples, quantiles):
    """Quantreg's PengHuang step with the requested quantiles inserted.

    ``step = min(0.01, 1 / (2 n^0.7))`` as in R's ``crq(method="PengHuang")``;
    the grid is ``step, 2 step, ...`` up to the largest requested quantile,
    merged with the requested quantiles (so each is a grid point).
    """
    step = min(0.01, 1.0 / (2.0 * n_samples**0.7))
    top = float(np.max(quantiles))
    grid = np.arange(1, int(np.floor(top / step)) + 1) * step
    grid = np.union1d(grid[grid < top], np.asarray(quantiles, dtype=np.float64))
    # drop grid points closer than step / 100 to a requested quantile (no gain, one more fit)
    req = np.asarray(quantiles, dtype=np.float64)
    near = np.min(np.abs(grid[:, None] - req[None, :]), axis=1)
    keep = np.isin(grid, req) | (near > step * 1e-2)
    return grid[keep]


def peng_huang_path(Z, y, event, weights, grid, *, start=0.0, tol=1e-5, max_iter=1000,
                    max_pivots=None):
    """Peng-Huang coefficients at each grid point (validated input).

    Parameters
    ----------
    Z : ndarray of shape (n_samples, n_features)
        Design (with a leading column of ones for an intercept), finite,
        full column rank on the uncensored rows with positive weight.
    y : ndarray of shape (n_samples,)
        Observed responses ``min(T, C)`` (on the scale of the model, e.g. log
        times), finite.
    event : ndarray of shape (n_samples,) of bool
        ``True`` if ``T`` was observed.
    weights : ndarray of shape (n_samples,)
        Non-negative case weights (e.g. inverse propensities; 0 drops a row).
    grid : ndarray of shape (n_grid,)
        Increasing levels in ``(start, 1)``.
    start : float, default=0.0
        ``tau_0``: the hazard integral starts at ``H(start)`` (0 in the paper;
        R's crq starts at its first grid point ``1/n``).
    tol, max_iter, max_pivots
        Of each exact fit.

    Returns
    -------
    coef : ndarray of shape (n_solved, n_features)
        ``beta(grid[j])`` for the first ``n_solved`` grid points.
    status : str
        ``"optimal"`` if every fit carries the solver's optimality
        certificate, else ``"inexact"``.
    n_iter, n_pivots : int
        Totals over the fits.
    """
    n_samples, n_features = Z.shape
    unc = event & (weights > 0)
    Zu, yu, wu = Z[unc], y[unc], weights[unc]
    sum_zu = wu @ Zu
    has_intercept = bool(np.all(Z[:, 0] == 1.0))
    scale = float(np.max(np.abs(y))) or 1.0
    hazard = -np.log1p(-np.concatenate([[start], grid]))
    at_risk = np.ones(n_samples, dtype=bool)  # beta(tau_0) = -inf
    s = np.zeros(n_samples)
    coef = np.empty((grid.shape[0], n_features))
    beta = None
    status, n_iter, n_pivots = "optimal", 0, 0
    eps = _ZERO_RESIDUAL_ULPS * np.finfo(np.float64).eps
    Z_aug = np.vstack([Zu, np.zeros(n_features)])
    y_aug = np.append(yu, 0.0)
    w_aug = np.append(wu, 1.0)
    for j in range(grid.shape[0]):
        s[at_risk] += hazard[j + 1] - hazard[j]
        r = (weights * s) @ Z
        # the check-loss level that keeps the pseudo-row small: its intercept entry is 0
        q0 = float(np.clip(r[0] / sum_zu[0], 0.01, 0.99)) if has_intercept else 0.5
        z_star = r / q0 - sum_zu
        Z_aug[-1] = z_star
        base = 0.0 if beta is None else float(z_star @ beta)
        solved = False
        for height in _PSEUDO_HEIGHTS:
            y_aug[-1] = base + height * scale
            sol = _solve(Z_aug, y_aug, w_aug, q0, theta0=beta, tol=tol, max_iter=max_iter,
                         max_pivots=max_pivots, preprocess=False, random_state=None,
                         design="X", intercept=has_intercept)
            n_iter += sol.n_iter
            n_pivots += sol.n_pivots
            if y_aug[-1] - z_star @ sol.coef > 0:
                solved = True
                break
        if not solved:
            return coef[:j], status, n_iter, n_pivots
        if sol.status != "optimal":
            status = "inexact"
        beta = sol.coef
        coef[j] = beta
        fitted = Z @ beta
        resid = y - fitted
        # rows the fit interpolates have residual 0 up to rounding: at risk (Y >= z' beta)
        at_risk = resid >= -eps * (np.abs(y) + np.abs(Z) @ np.abs(beta))
    return coef, status, n_iter, n_pivots
