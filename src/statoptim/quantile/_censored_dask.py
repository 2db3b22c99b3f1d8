"""CensoredQuantileRegressor.fit on a dask array: Kaplan-Meier weights, X never gathered."""
from __future__ import annotations

import numpy as np

from statoptim._dask import is_dask_array
from statoptim._validation import check_1d_finite, check_choice
from statoptim.quantile._censored_fit import _METHOD_ATTRIBUTES
from statoptim.quantile._censored_setup import (
    _check_columns,
    _check_grid,
    _check_spline,
    check_parameters,
)
from statoptim.quantile._censored_weights import (
    _finish_weights,
    check_fixed_cut,
    effective_size,
)
from statoptim.quantile._estimator import QuantileRegressor
from statoptim.quantile._ipw import _resolve_bandwidth
from statoptim.quantile._survival import _beran_bandwidth, _check_event, _km_pass

__all__ = ["fit_censored_dask"]

_DASK_CENSORED_MODE = ("on a dask array X, CensoredQuantileRegressor supports method='ipw' with "
                       "censoring='marginal' (Kaplan-Meier weights) and complete covariates "
                       "(no NaN in X); compute X into memory for the other modes")


class _NotInMemory:
    """The training data of a model fitted on a dask array: ``summary()`` refuses them."""

    def __iter__(self):
        raise ValueError("this model was fitted on a dask array: summary() refits resampled "
                         "rows of (X, y, event) in memory, which a dask fit never gathers; fit "
                         "on NumPy arrays for bootstrap standard errors")


def _gathered(v):
    """A dask array computed into memory (``y`` and ``event`` only, never ``X``)."""
    return np.asarray(v.compute()) if is_dask_array(v) else v


def fit_censored_dask(model, X, y, event):
    """``CensoredQuantileRegressor.fit`` on a dask array ``X`` chunked by rows.

    The Kaplan-Meier weights ``w_i = D_i / G(Y_i-)`` (``censoring="marginal"``,
    censoring independent of ``(T, X)``) need ``y`` and ``event`` only: these
    two vectors are gathered on the client (dask arrays are computed; 9 bytes
    a row), the weights are computed there as in memory (``g_min``,
    ``stabilize``, ``weight_cap_quantile``, ``weight_cap`` included), sent to
    the workers once, and the weighted exact fit is
    :func:`statoptim.quantile._distributed.solve_quantile_dask` (through
    ``QuantileRegressor.fit``), so ``X`` is never gathered. The answer is the
    in-memory fit's. The client holds O(n) numbers for the weights: ``y``,
    ``event``, ``weights_`` and ``censoring_survival_`` (26 bytes a row) during
    the fit, about 70 bytes a row at the peak of the Kaplan-Meier pass before
    it; the workers the blocks they work on (and the weights' blocks).

    Conditional (Beran) censoring weights, Peng-Huang, a spline column and
    missing covariates (propensity weights) need ``X`` in memory: ``method``,
    ``censoring``, ``spline_column`` or a NaN in ``X`` says so in a
    ``ValueError``. The Cox score test of the censoring on the covariates (a
    diagnostic) is not run: ``censoring_test_`` is None. ``summary()`` needs
    the data in memory.

    Parameters
    ----------
    model : CensoredQuantileRegressor
        The estimator being fitted (its parameters are read, its fitted
        attributes set).
    X : dask.array.Array of shape (n_samples, n_features)
        Covariates, rows in chunks.
    y, event : array-like or dask.array.Array of shape (n_samples,)
        As in ``CensoredQuantileRegressor.fit``.

    Returns
    -------
    model : CensoredQuantileRegressor
    """
    n_samples, n_features, params = _check_dask_setup(model, X)
    # y and event are gathered (allowed: two vectors); X never is
    y_fit = y
    y = check_1d_finite(_gathered(y), "y", n_samples)
    y = np.ascontiguousarray(y, dtype=np.float64)
    if not is_dask_array(y_fit):
        y_fit = y
    event = _check_event(_gathered(event), n_samples)
    weights, g_left = _km_weights(model, y, event, params)
    reg = QuantileRegressor(quantile=model.quantile, fit_intercept=model.fit_intercept,
                            tol=model.tol, max_iter=model.max_iter,
                            max_pivots=model.max_pivots, preprocess=model.preprocess,
                            random_state=model.random_state)
    try:
        reg.fit(X, y_fit, sample_weight=weights)
    except ValueError as exc:
        if str(exc).startswith("X must be finite"):
            raise ValueError(f"{exc} (a NaN is a missing covariate, whose propensity weights "
                             f"need X in memory): {_DASK_CENSORED_MODE}") from None
        raise
    for name in ("coef_", "intercept_", "n_iter_", "n_pivots_", "objective_", "status_"):
        setattr(model, name, getattr(reg, name))
    for name in _METHOD_ATTRIBUTES + ("feature_names_in_", "_training_checksum", "_fit_params"):
        model.__dict__.pop(name, None)
    model.n_features_in_ = n_features
    model.censoring_test_ = None
    model.weights_ = weights
    model.propensity_ = np.ones(n_samples)
    model.censoring_survival_ = g_left
    model._training_data = _NotInMemory()
    return model


def _check_dask_setup(model, X):
    """The shape of ``X`` and the parameters, checked as in memory (unsupported modes too)."""
    if X.ndim != 2:
        raise ValueError(f"X must be 2-D (n_samples, n_features), got a dask array of shape "
                         f"{X.shape}")
    n_samples, n_features = (int(s) if not np.isnan(s) else -1 for s in X.shape)
    if n_samples < 0:
        raise ValueError("X is a dask array with unknown chunk sizes; call "
                         "X.compute_chunk_sizes() first")
    if n_samples < 2:
        raise ValueError(f"CensoredQuantileRegressor needs at least 2 samples, got "
                         f"n_samples = {n_samples}")
    params = check_parameters(model, n_samples)
    cols = (np.arange(n_features) if model.propensity_columns is None
            else _check_columns(model.propensity_columns, "propensity_columns", n_features))
    _resolve_bandwidth(model.bandwidth, n_samples, 1 + cols.size)
    cens_cols = (np.arange(n_features) if model.censoring_columns is None
                 else _check_columns(model.censoring_columns, "censoring_columns", n_features))
    if cens_cols.size == 0:
        raise ValueError("censoring_columns must name at least one column of X, got an empty "
                         "sequence")
    _beran_bandwidth(model.censoring_bandwidth, n_samples, cens_cols.size,
                     name="censoring_bandwidth")
    check_choice(model.censoring_method, "censoring_method", ("auto", "exact", "binned"))
    if model.grid is not None:
        _check_grid(model.grid, params.quantiles)
    method = check_choice(model.method, "method", ("ipw", "peng-huang"))
    censoring = check_choice(model.censoring, "censoring", ("marginal", "conditional"))
    if method != "ipw":
        raise ValueError(f"method={method!r} needs X in memory: {_DASK_CENSORED_MODE}")
    if censoring != "marginal":
        raise ValueError(f"censoring={censoring!r} (Beran's local Kaplan-Meier) needs X in "
                         f"memory: {_DASK_CENSORED_MODE}")
    if _check_spline(model, n_features, params.scalar, method) is not None:
        raise ValueError(f"spline_column={model.spline_column!r} (a B-spline basis) needs X in "
                         f"memory: {_DASK_CENSORED_MODE}")
    return n_samples, n_features, params


def _km_weights(model, y, event, params):
    """``1 / G(Y_i-)`` at the uncensored rows, finished as in memory; and ``G(Y_i-)``."""
    n_samples = y.shape[0]
    weight_cap, cap_q, g_min, _ = params.caps
    observed = event.astype(bool)
    if not observed.any():
        raise ValueError("event is 0 for every row: every response is censored, so no row can "
                         "be weighted")
    if observed.all():
        g_left = np.ones(n_samples)
    else:
        km = _km_pass(y, event)  # its work arrays (7 n-vectors) are freed at once
        n_cens_last, g_left = int(km[5][-1]), km[6]
        del km
        check_fixed_cut(y, n_cens_last, n_samples)
    g_used = g_left if g_min is None else np.maximum(g_left, g_min)
    weights = np.zeros(n_samples)
    with np.errstate(divide="ignore", over="ignore"):
        weights[observed] = 1.0 / g_used[observed]
    if not np.all(np.isfinite(weights)):
        row = int(np.flatnonzero(~np.isfinite(weights))[0])
        raise ValueError(f"the weight 1 / G(Y-) of row {row} is not finite (G(Y-) = "
                         f"{g_used[row]:.3g}): positivity fails there; set g_min")
    weights = _finish_weights(weights, observed, params.stabilize, cap_q, weight_cap)
    effective_size(model, weights, observed, n_samples, stacklevel=5)
    return weights, g_left
