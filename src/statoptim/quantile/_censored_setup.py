"""CensoredQuantileRegressor, fit step 1: the parameters and the rows of the data checked.

The checks of the scalar parameters (:func:`check_parameters`) are shared with
the fit on a dask array (:mod:`statoptim.quantile._censored_dask`).
"""
from __future__ import annotations

import copy
from typing import NamedTuple

import numpy as np

from statoptim._validation import _describe, check_choice, check_random_state
from statoptim.quantile._censored_inference import training_checksum
from statoptim.quantile._checks import (
    as_float_array,
    check_count,
    check_flag,
    check_number,
    check_preprocess,
    check_quantile_levels,
    check_tol,
)
from statoptim.quantile._ipw import _check_n_threads, _resolve_bandwidth
from statoptim.quantile._partially_linear import _check_spline_column, check_spline_settings
from statoptim.quantile._survival import _beran_bandwidth, _check_event


def _optional_float(value, name, low, high, low_open=True, high_open=False):
    """None, or a number in the interval from ``low`` to ``high`` (open ends as given)."""
    if value is None:
        return None
    lo, hi = ("(" if low_open else "["), (")" if high_open else "]")
    try:
        return check_number(value, name, low=low, high=None if np.isinf(high) else high,
                            low_open=low_open, high_open=high_open)
    except ValueError:
        raise ValueError(
            f"{name} must be None or a number in {lo}{low}, {high}{hi}, got {_describe(value)}"
        ) from None


def _check_columns(value, name, n_features):
    """A 1-D sequence of distinct column indices of X (an empty one is allowed)."""
    cols = np.asarray(value)
    if cols.ndim == 1 and cols.size == 0:
        cols = cols.astype(np.intp)
    if cols.ndim != 1 or not np.issubdtype(cols.dtype, np.integer):
        raise ValueError(
            f"{name} must be None or a 1-D sequence of column indices, got {_describe(value)}"
        )
    if np.unique(cols).size != cols.size:
        raise ValueError(f"{name} must not repeat a column, got {_describe(cols.tolist())}")
    bad = cols[(cols < 0) | (cols >= n_features)]
    if bad.size:
        raise ValueError(f"{name} must index the {n_features} columns of X, got {bad[0]}")
    return cols.astype(np.intp)


def _check_grid(grid, quantiles):
    """Peng-Huang grid: finite, strictly increasing, in (0, 1), holding every quantile."""
    arr = as_float_array(grid, "grid", expected="None or a 1-D array of levels in (0, 1)")
    if arr.ndim != 1 or arr.size == 0:
        raise ValueError(
            f"grid must be None or a non-empty 1-D array of levels in (0, 1), got "
            f"{_describe(grid)}"
        )
    if not np.all(np.isfinite(arr)) or np.any(arr <= 0) or np.any(arr >= 1):
        raise ValueError(f"grid must hold levels in (0, 1), got {_describe(grid)}")
    if np.any(np.diff(arr) <= 0):
        raise ValueError(f"grid must be strictly increasing, got {_describe(grid)}")
    missing = quantiles[~np.isin(quantiles, arr)]
    if missing.size:
        raise ValueError(
            f"grid must contain every requested quantile; {missing[0]:g} is not in it"
        )
    return arr


class _Setup(NamedTuple):
    """The validated parameters and the row masks of one fit."""

    quantiles: np.ndarray
    scalar: bool
    fit_intercept: bool
    event: np.ndarray
    observed: np.ndarray      # event == 1
    complete: np.ndarray      # no NaN in the row of X
    use: np.ndarray           # observed & complete
    missing: np.ndarray       # isnan(X)
    caps: tuple               # weight_cap, weight_cap_quantile, g_min, pi_min
    stabilize: bool
    n_threads: int
    prop_method: str
    leave_one_out: bool
    grid: np.ndarray | None
    spline: tuple | None      # (SplineSettings, column) or None
    always_cols: np.ndarray
    method: str
    censoring: str
    cens_cols: np.ndarray
    cens_h: np.ndarray
    cens_method: str


class _Params(NamedTuple):
    """The scalar parameters of a fit, checked."""

    quantiles: np.ndarray
    scalar: bool
    fit_intercept: bool
    prop_method: str
    leave_one_out: bool
    caps: tuple               # weight_cap, weight_cap_quantile, g_min, pi_min
    stabilize: bool
    n_threads: int


def check_parameters(est, n_samples):
    """Check the scalar parameters of ``est`` (whichever path the data take)."""
    quantiles, scalar = check_quantile_levels(est.quantile)
    fit_intercept = check_flag(est.fit_intercept, "fit_intercept")
    check_tol(est.tol)
    check_count(est.max_iter, "max_iter")
    if est.max_pivots is not None:
        check_count(est.max_pivots, "max_pivots")
    check_preprocess(est.preprocess)
    check_random_state(est.random_state)
    prop_method = check_choice(est.propensity_method, "propensity_method",
                               ("auto", "exact", "fft"))
    leave_one_out = check_flag(est.leave_one_out, "leave_one_out")
    caps = (_optional_float(est.weight_cap, "weight_cap", 0.0, np.inf, high_open=True),
            _optional_float(est.weight_cap_quantile, "weight_cap_quantile", 0.0, 1.0),
            _optional_float(est.g_min, "g_min", 0.0, 1.0),
            _optional_float(est.pi_min, "pi_min", 0.0, 1.0))
    stabilize = check_flag(est.stabilize, "stabilize")
    n_threads = _check_n_threads(est.n_threads, n_samples)
    return _Params(quantiles, scalar, fit_intercept, prop_method, leave_one_out, caps,
                   stabilize, n_threads)


def check_setup(est, X, y, event):
    """Check every parameter (whichever path the data take) and the rows of the data."""
    n_samples, n_features = X.shape
    if n_samples < 2:
        raise ValueError(
            f"CensoredQuantileRegressor needs at least 2 samples, got n_samples = {n_samples}"
        )
    params = check_parameters(est, n_samples)
    event = _check_event(event, n_samples)
    if not est._replicate:
        # kept for summary(): references to the validated arrays (event is a copy),
        # a checksum that detects later in-place changes and the parameters of the fit
        est._training_data = (X, y, event)
        est._training_checksum = training_checksum(X, y, event)
        est._fit_params = copy.deepcopy(est.get_params(deep=False))
    missing = np.isnan(X)
    columns = _check_columns_and_methods(est, missing, n_samples, n_features)
    grid = None if est.grid is None else _check_grid(est.grid, params.quantiles)
    spline = _check_spline(est, n_features, params.scalar, columns["method"])
    complete = ~missing.any(axis=1)
    if not complete.any():
        raise ValueError(
            "X has no complete row (every row has a NaN): the weighted fit uses complete "
            "rows only"
        )
    observed = event.astype(bool)
    if not observed.any():
        raise ValueError(
            "event is 0 for every row: every response is censored, so no row can be "
            "weighted"
        )
    use = observed & complete
    if not use.any():
        raise ValueError(
            "no row of X is both complete (no NaN) and uncensored (event = 1): every "
            "inverse-probability weight is 0, there is nothing to fit"
        )
    return _Setup(event=event, observed=observed, complete=complete, use=use,
                  missing=missing, grid=grid, spline=spline, **params._asdict(), **columns)


def _check_columns_and_methods(est, missing, n_samples, n_features):
    """The column sets of the propensity and censoring kernels, and the methods."""
    all_missing = missing.all(axis=0)
    if all_missing.any():
        col = int(np.flatnonzero(all_missing)[0])
        raise ValueError(
            f"X column {col} is entirely NaN: it has no observed value to fit a "
            "coefficient for; drop it"
        )
    always_cols = np.flatnonzero(~missing.any(axis=0))
    if est.propensity_columns is not None:
        cols = _check_columns(est.propensity_columns, "propensity_columns", n_features)
        with_nan = cols[missing[:, cols].any(axis=0)]
        if with_nan.size:
            raise ValueError(
                f"propensity_columns must be always observed, but column {with_nan[0]} "
                "of X has NaN"
            )
        always_cols = cols
    _resolve_bandwidth(est.bandwidth, n_samples, 1 + always_cols.size)  # checks it
    method = check_choice(est.method, "method", ("ipw", "peng-huang"))
    censoring = check_choice(est.censoring, "censoring", ("marginal", "conditional"))
    if method == "peng-huang" and censoring == "conditional":
        raise ValueError(
            "censoring='conditional' applies to method='ipw'; method='peng-huang' already "
            "allows censoring that depends on the covariates: leave censoring='marginal'"
        )
    if est.censoring_columns is None:
        cens_cols = np.arange(n_features)
    else:
        cens_cols = _check_columns(est.censoring_columns, "censoring_columns", n_features)
        if cens_cols.size == 0:
            raise ValueError(
                "censoring_columns must name at least one column of X, got an empty "
                "sequence; use censoring='marginal' for censoring that does not depend "
                "on the covariates"
            )
    cens_h = _beran_bandwidth(est.censoring_bandwidth, n_samples, cens_cols.size,
                              name="censoring_bandwidth")
    cens_method = check_choice(est.censoring_method, "censoring_method",
                               ("auto", "exact", "binned"))
    if cens_method == "binned" and cens_cols.size > 3:
        raise ValueError(
            f"censoring_method='binned' supports at most 3 censoring_columns, got "
            f"{cens_cols.size}; use 'exact' or 'auto'"
        )
    return {"always_cols": always_cols, "method": method, "censoring": censoring,
            "cens_cols": cens_cols, "cens_h": cens_h, "cens_method": cens_method}


def _check_spline(est, n_features, scalar, method):
    """Spline settings (None without ``spline_column``); the knots are checked on the data."""
    settings = check_spline_settings(est.degree, est.n_knots, est.max_knots,
                                     est.criterion)
    if est.spline_column is None:
        if est.knots is not None:
            raise ValueError(
                f"knots are the interior knots of the spline column, but spline_column "
                f"is None, got knots={_describe(est.knots)}; set spline_column"
            )
        return None
    col = _check_spline_column(est.spline_column, n_features)
    if settings.auto and est.knots is None:
        if method == "peng-huang":
            raise ValueError(
                "n_knots='auto' chooses the knots by the check-loss objective, which "
                "method='peng-huang' does not have; give n_knots (an integer) or knots"
            )
        if not scalar:
            raise ValueError(
                f"n_knots='auto' chooses the knots for one quantile, got "
                f"{_describe(est.quantile)}; give n_knots (an integer) or knots to fit "
                "several quantiles on one basis, or fit one estimator per quantile"
            )
    return settings, col
