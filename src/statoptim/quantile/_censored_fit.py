"""CensoredQuantileRegressor, fit steps 3 to 5: the design, the exact fits, the attributes.

The design is ``X``, or with ``spline_column`` the linear columns and a
B-spline basis (knots chosen by the criterion when ``n_knots="auto"``); the
fits are the weighted check-loss fit (Kaplan-Meier weights), Wang & Wang's
locally weighted fit with its pseudo-observation, or Peng & Huang's path.
The fitted attributes of the estimator are set from them (:func:`set_attributes`).
"""
from __future__ import annotations

import warnings
from collections.abc import Sequence
from typing import NamedTuple

import numpy as np

from statoptim.exceptions import ConvergenceWarning
from statoptim.quantile._censored_weights import effective_size
from statoptim.quantile._estimator import QuantileRegressor
from statoptim.quantile._partially_linear import (
    centred_spline,
    search_knots,
    set_spline_attributes,
    spline_basis,
)
from statoptim.quantile._peng_huang import default_grid, peng_huang_path
from statoptim.quantile._solver import _solve

# Height of the pseudo-observation at "+infinity" of the locally weighted fit, in
# units of max |y|, and its enlargements.
_PSEUDO_HEIGHTS = (2.0**10, 2.0**30)
# Attributes that only some fits set (removed before each fit).
_METHOD_ATTRIBUTES = (
    "conditional_cdf_", "grid_", "grid_coef_", "grid_intercept_", "g_", "spline_coef_",
    "knots_", "boundary_knots_", "n_knots_", "knot_grid_", "criterion_values_",
    "_spline_column",
)


class _Solved(NamedTuple):
    """Coefficients (intercept first when fitted) and solver counts, one entry per quantile."""

    coefs: np.ndarray
    n_iter: Sequence
    n_pivots: Sequence
    objective: Sequence
    status: Sequence
    extra: dict               # attributes of the method (Peng-Huang's grid path)


def _warn_inexact(q, sol):
    """The pivot-cap warning of one locally weighted fit."""
    warnings.warn(
        f"CensoredQuantileRegressor: the fit at quantile {q:g} hit the pivot cap "
        f"({sol.n_pivots} pivots, {sol.n_iter} MM iterations); the coefficients are the "
        "best point found, not a certified optimum. Increase max_pivots.",
        ConvergenceWarning, stacklevel=5,
    )


def fit_spline(est, X, y, setup, weighting):
    """Fit on ``[Z, B(W)]``; with ``n_knots="auto"`` the knots chosen by ``criterion``."""
    settings, col = setup.spline
    rows = weighting.rows
    W = X[:, col]
    W_fit = np.ascontiguousarray(W[rows])
    Z = np.delete(X, col, axis=1)
    drop_first = setup.fit_intercept  # the basis sums to one: it spans the intercept
    # the criterion's mean check loss: over the real rows, with the fit's weights
    total = float(np.sum(weighting.weights[0][rows]))

    def solve_at(t):
        basis = np.full((X.shape[0], t.size - settings.degree - 1 - drop_first), np.nan)
        basis[rows] = spline_basis(W_fit, t, settings.degree, drop_first)
        solved = solve_weighted(est, np.hstack([Z, basis]), y, setup, weighting)
        objective = solved.objective[0] if setup.scalar else None
        return solved, objective, total

    search = search_knots(W_fit, est.knots, settings, Z.shape[1], col, solve_at)
    return search.result, search


def solve_weighted(est, D, y, setup, weighting):
    """Coefficients on the design ``D`` (n_samples rows; incomplete rows unused)."""
    if weighting.mode == "peng-huang":
        return _solve_peng_huang(est, D, y, setup, weighting)
    if weighting.mode == "local":
        return _solve_local(est, D, y, setup, weighting)
    weights, use = weighting.weights[0], setup.use
    model = QuantileRegressor(
        quantile=est.quantile, fit_intercept=setup.fit_intercept, tol=est.tol,
        max_iter=est.max_iter, max_pivots=est.max_pivots, preprocess=est.preprocess,
    )
    model.fit(D[use], y[use], sample_weight=weights[use])
    coefs = np.atleast_2d(model.coef_)
    if setup.fit_intercept:
        coefs = np.column_stack([np.atleast_1d(model.intercept_), coefs])
    return _Solved(coefs, np.atleast_1d(model.n_iter_), np.atleast_1d(model.n_pivots_),
                   np.atleast_1d(model.objective_),
                   [model.status_] if setup.scalar else model.status_, {})


def _solve_local(est, D, y, setup, weighting):
    """Locally weighted censored quantile regression (Wang & Wang 2009)."""
    n_samples = D.shape[0]
    Zfull = np.column_stack([np.ones(n_samples), D]) if setup.fit_intercept else D
    scale = float(np.max(np.abs(y))) or 1.0
    cens_rows = weighting.cens_rows
    coefs, status, n_iter, n_pivots, objective = [], [], [], [], []
    for q, w, rest in zip(setup.quantiles, weighting.weights, weighting.rest):
        mass = float(rest.sum())
        keep = w > 0
        Zr, yr, wr = Zfull[keep], y[keep], w[keep]
        if mass > 0:
            z_star = (rest @ Zfull[cens_rows]) / mass
            sol = None
            for height in _PSEUDO_HEIGHTS:
                y_star = height * scale
                sol = _solve(np.vstack([Zr, z_star]), np.append(yr, y_star),
                             np.append(wr, mass), float(q), theta0=None,
                             preprocess=est.preprocess, random_state=est.random_state,
                             design="X", intercept=setup.fit_intercept,
                             **_solver_args(est))
                if y_star - z_star @ sol.coef > 0:
                    break
            else:
                raise ValueError(
                    f"quantile {q:g} is not identified with censoring='conditional': "
                    f"the censored rows put {100 * mass / (mass + wr.sum()):.0f}% of the "
                    "weight above every response, so the fit follows the "
                    "pseudo-observation at +infinity; fit a lower quantile or use "
                    "method='peng-huang'"
                )
        else:
            sol = _solve(Zr, yr, wr, float(q), theta0=None, preprocess=est.preprocess,
                         random_state=est.random_state, design="X",
                         intercept=setup.fit_intercept,
                         **_solver_args(est))
        resid = yr - Zr @ sol.coef
        objective.append(float(np.sum(wr * resid * (q - (resid < 0)))))
        coefs.append(sol.coef)
        status.append(sol.status)
        n_iter.append(sol.n_iter)
        n_pivots.append(sol.n_pivots)
        if sol.status != "optimal":
            _warn_inexact(q, sol)
    return _Solved(np.array(coefs), n_iter, n_pivots, objective, status, {})


def _solve_peng_huang(est, D, y, setup, weighting):
    """Peng & Huang (2008) on the complete rows, weighted by 1 / pi."""
    n_samples = D.shape[0]
    quantiles, grid = setup.quantiles, setup.grid
    if grid is None:
        grid = default_grid(n_samples, quantiles)
    Zfull = np.column_stack([np.ones(n_samples), D]) if setup.fit_intercept else D
    case_w = weighting.weights[0]
    keep = weighting.rows
    path, status, n_iter, n_pivots = peng_huang_path(
        Zfull[keep], y[keep], setup.observed[keep], case_w[keep], grid,
        **_solver_args(est))
    if path.shape[0] < grid.shape[0]:
        last = grid[path.shape[0] - 1] if path.shape[0] else 0.0
        bad = quantiles[quantiles > last]
        if bad.size:
            raise ValueError(
                f"the Peng-Huang estimating equations have no solution at quantile "
                f"{grid[path.shape[0]]:g} and beyond (too little uncensored mass above "
                f"it), so quantile {bad.min():g} cannot be estimated; the largest "
                f"solvable level on this grid is {last:g}"
            )
    grid = grid[:path.shape[0]]
    pick = np.searchsorted(grid, quantiles)
    if setup.fit_intercept:
        extra = {"grid_intercept_": path[:, 0].copy(), "grid_coef_": path[:, 1:].copy()}
    else:
        extra = {"grid_intercept_": np.zeros(grid.shape[0]), "grid_coef_": path.copy()}
    extra["grid_"] = grid
    if status != "optimal":
        warnings.warn(
            "CensoredQuantileRegressor: a Peng-Huang step hit the pivot cap; the "
            "coefficients are not certified optimal. Increase max_pivots.",
            ConvergenceWarning, stacklevel=4,
        )
    k = quantiles.size
    return _Solved(path[pick], [n_iter] * k, [n_pivots] * k, [None] * k, [status] * k,
                   extra)


def _solver_args(est):
    """The solver's stopping parameters of ``est``."""
    return {"tol": est.tol, "max_iter": est.max_iter, "max_pivots": est.max_pivots}


def split_spline(est, X, setup, weighting, coefs, search):
    """Set ``g_`` and the spline attributes; return ``[intercept, theta]`` per quantile."""
    settings, col = setup.spline
    degree, t = settings.degree, search.t
    n_lead = int(setup.fit_intercept) + X.shape[1] - 1
    linear, spline = coefs[:, :n_lead].copy(), coefs[:, n_lead:]
    if setup.fit_intercept:
        # centred: weighted mean 0 over the rows of the fit, the level in intercept_
        rows = weighting.rows
        W = X[rows, col]
        spline = np.column_stack([np.zeros(coefs.shape[0]), spline])
        for j, w in enumerate(weighting.weights):
            spline[j], shift = centred_spline(t, degree, spline[j], W, w[rows])
            linear[j, 0] += shift
    set_spline_attributes(est, search, degree, spline[0] if setup.scalar else spline.T)
    est._spline_column = col
    return linear


def set_attributes(est, X, setup, weighting, solved, search):
    """Step 5: the fitted attributes of ``est`` from the weights and the solutions."""
    n_samples = X.shape[0]
    coefs = solved.coefs
    if search is not None:
        coefs = split_spline(est, X, setup, weighting, coefs, search)
    scalar = setup.scalar
    if weighting.mode == "local":
        first = weighting.weights[0]
        effective_size(est, first, first > 0, n_samples, stacklevel=4)
    _set_fit(est, coefs, scalar, solved.n_iter, solved.n_pivots, solved.objective,
             solved.status)
    for name, value in solved.extra.items():
        setattr(est, name, value)
    if weighting.mode == "peng-huang":
        case_w = weighting.weights[0]
        est.weights_ = case_w
        rel = case_w / case_w.max()
        est.n_eff_ = float(rel.sum() ** 2 / np.sum(rel**2))
        est.max_weight_share_ = float(1.0 / rel.sum())
    elif weighting.mode == "local" and not scalar:  # the local weights depend on q
        est.weights_ = np.array(weighting.weights)
    else:
        est.weights_ = weighting.weights[0]
    est.propensity_ = weighting.propensity
    est.censoring_survival_ = weighting.survival


def _set_fit(est, coefs, scalar, n_iter, n_pivots, objective, status):
    """``coef_``, ``intercept_`` and the solver counts (scalars for one quantile)."""
    if est.fit_intercept:
        intercept, coef = coefs[:, 0], coefs[:, 1:]
    else:
        intercept, coef = np.zeros(coefs.shape[0]), coefs
    if scalar:
        est.coef_, est.intercept_ = coef[0], float(intercept[0])
        est.n_iter_, est.n_pivots_ = int(n_iter[0]), int(n_pivots[0])
        est.objective_ = None if objective[0] is None else float(objective[0])
        est.status_ = status[0]
    else:
        est.coef_, est.intercept_ = coef, intercept
        est.n_iter_, est.n_pivots_ = np.array(n_iter), np.array(n_pivots)
        est.objective_ = None if objective[0] is None else np.array(objective)
        est.status_ = list(status)
