"""Quantile regression for right-censored responses with missing covariates (IPW)."""
from __future__ import annotations

import warnings

import numpy as np
from sklearn.base import BaseEstimator, RegressorMixin
from sklearn.utils.validation import check_is_fitted

from statoptim._validation import _describe, check_choice, validate_named
from statoptim.quantile._checks import (
    check_count,
    check_flag,
    check_number,
    check_preprocess,
    check_quantile_levels,
    check_tol,
    check_weights,
    pow2_exponents,
)
from statoptim.quantile._estimators import QuantileRegressor
from statoptim.quantile._ipw import (
    _check_event,
    _check_n_threads,
    _km_pass,
    _resolve_bandwidth,
    kernel_propensity,
)
from statoptim.quantile._loss import r2_score_scaled

__all__ = ["CensoredQuantileRegressor"]

# Warn when the effective sample size of the weights falls below this share of the rows.
_N_EFF_WARN_SHARE = 0.05  # design B at 50% censoring: 7-40% (n = 500), ~17% (n = 1e4)
# A fixed censoring cut is flagged when at least this share of the rows are
# censorings tied at the largest observed time.
_FIXED_CUT_SHARE = 0.05


def _optional_float(value, name, low, high, low_open=True, high_open=False):
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


class CensoredQuantileRegressor(RegressorMixin, BaseEstimator):
    """Linear quantile regression of a right-censored response with missing covariates.

    Inverse-probability weighting (spec, section 5): each row gets the weight
    ``w_i = D_i delta_i / (G(Y_i-) pi(X_i))``, where ``D_i`` says whether the
    response was observed (not censored), ``delta_i`` whether the row's
    covariates are complete, ``G(Y_i-)`` is the Kaplan-Meier estimate of the
    censoring survival just before ``Y_i`` (Bang & Tsiatis 2002) and
    ``pi(X_i)`` the Nadaraya-Watson estimate of ``P(delta = 1 | X)`` from the
    always-observed variables ``X`` (the response and the covariate columns
    without NaN; Chen, Wan & Zhou 2015). The weighted check-loss problem over
    the rows with ``w > 0`` is then solved exactly by
    :class:`statoptim.QuantileRegressor` (MM finished by simplex pivots).

    The estimator is consistent when the censoring time is independent of
    ``(T, X)``, the missingness is at random given the always-observed
    variables, and both positivity conditions hold: ``G > 0`` on the support
    of ``T`` (a fixed censoring cut violates it: quantiles above the cut are
    not identified and are biased towards it) and ``pi > 0``.

    Parameters
    ----------
    quantile : float or sequence of float in (0, 1), default=0.5
        Quantile(s) to fit; a sequence fits all of them in one call with the
        same weights (``coef_`` then has one row per quantile).
    fit_intercept : bool, default=True
        Whether to fit an intercept.
    bandwidth : {"scott", "silverman"}, float or array-like, default="scott"
        Bandwidth of the propensity kernel in standard deviations of each
        always-observed variable; see :func:`statoptim.kernel_propensity`.
    propensity_method : {"auto", "exact", "fft"}, default="auto"
        Method of :func:`statoptim.kernel_propensity`.
    leave_one_out : bool, default=False
        Leave-one-out propensities (the default includes ``j = i``, which
        keeps ``pi > 0`` for every complete row).
    propensity_columns : array-like of int, default=None
        Columns of ``X`` that enter the propensity model beside the response;
        each must be always observed. ``None`` uses every column without NaN.
        Nadaraya-Watson degrades quickly with the dimension, and the exact
        kernel costs O(n^2 d): with many always-observed covariates, pick the
        ones the missingness depends on.
    weight_cap : float, default=None
        Cap the weights at this value (after ``stabilize``). Changes the
        estimand (less variance, some bias); off by default.
    weight_cap_quantile : float in (0, 1], default=None
        Cap the weights at this quantile of the positive weights (e.g.
        0.99). Changes the estimand; off by default.
    g_min : float in (0, 1], default=None
        Floor on ``G(Y_i-)``. Changes the estimand; off by default.
    pi_min : float in (0, 1], default=None
        Floor on the propensity. Changes the estimand; off by default.
    stabilize : bool, default=False
        Divide the weights by their mean over all rows. The minimiser is
        unchanged; ``objective_`` and ``weights_`` are rescaled.
    tol, max_iter, max_pivots, preprocess
        Passed to :class:`statoptim.QuantileRegressor` for each weighted fit.
    n_threads : int, default=None
        Threads of the propensity kernels; ``None``: all cores from 4000
        rows on, one thread below (see :func:`statoptim.kernel_propensity`).

    Attributes
    ----------
    coef_ : ndarray of shape (n_features,) or (n_quantiles, n_features)
        Slope coefficients.
    intercept_ : float or ndarray of shape (n_quantiles,)
        Intercepts.
    weights_ : ndarray of shape (n_samples,)
        The weights ``w_i`` used (0 for censored or incomplete rows).
    propensity_ : ndarray of shape (n_samples,)
        ``pi(X_i)`` (all ones when no covariate is missing).
    censoring_survival_ : ndarray of shape (n_samples,)
        ``G(Y_i-)`` (all ones when nothing is censored).
    n_eff_ : float
        Effective sample size ``(sum w)^2 / sum w^2`` of the weights.
    max_weight_share_ : float
        ``max w / sum w``.
    n_iter_, n_pivots_, objective_, status_
        As in :class:`statoptim.QuantileRegressor`.
    n_features_in_ : int
        Number of covariate columns seen during ``fit``.

    Warns
    -----
    UserWarning
        When ``n_eff_`` is below 5% of the rows (extreme weights), and when
        many censorings share the largest observed time (a fixed censoring
        cut: ``G = 0`` beyond it, positivity fails).

    Examples
    --------
    >>> import numpy as np
    >>> from statoptim import CensoredQuantileRegressor
    >>> rng = np.random.default_rng(0)
    >>> n = 2000
    >>> Z = np.column_stack([rng.standard_normal(n), rng.uniform(-3, 3, n)])
    >>> T = 4.5 * Z[:, 0] - 2 * Z[:, 1] + rng.standard_normal(n)
    >>> C = rng.normal(5.5, 5.8, n)
    >>> y, event = np.minimum(T, C), (T <= C).astype(int)
    >>> Z[rng.random(n) < 0.3, 1] = np.nan          # a covariate goes missing
    >>> model = CensoredQuantileRegressor(quantile=0.5).fit(Z, y, event=event)
    >>> model.coef_.round(1)  # truth (4.5, -2)
    array([ 4.6, -2. ])
    >>> bool(model.n_eff_ < (model.weights_ > 0).sum())
    True
    """

    def __init__(
        self,
        quantile=0.5,
        *,
        fit_intercept=True,
        bandwidth="scott",
        propensity_method="auto",
        leave_one_out=False,
        propensity_columns=None,
        weight_cap=None,
        weight_cap_quantile=None,
        g_min=None,
        pi_min=None,
        stabilize=False,
        tol=1e-5,
        max_iter=1000,
        max_pivots=None,
        preprocess="auto",
        n_threads=None,
    ):
        self.quantile = quantile
        self.fit_intercept = fit_intercept
        self.bandwidth = bandwidth
        self.propensity_method = propensity_method
        self.leave_one_out = leave_one_out
        self.propensity_columns = propensity_columns
        self.weight_cap = weight_cap
        self.weight_cap_quantile = weight_cap_quantile
        self.g_min = g_min
        self.pi_min = pi_min
        self.stabilize = stabilize
        self.tol = tol
        self.max_iter = max_iter
        self.max_pivots = max_pivots
        self.preprocess = preprocess
        self.n_threads = n_threads

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.input_tags.allow_nan = True
        return tags

    def fit(self, X, y, event=None):
        """Fit by inverse-probability-weighted quantile regression.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            Covariates; NaN marks a missing value (its row is then
            incomplete). Columns without NaN are always-observed and enter
            the propensity model with the response.
        y : array-like of shape (n_samples,)
            Observed responses ``Y_i = min(T_i, C_i)``; finite.
        event : array-like of shape (n_samples,), default=None
            ``1`` (or True) if ``T_i`` was observed, ``0`` if censored;
            ``None`` means no censoring.

        Returns
        -------
        self : CensoredQuantileRegressor
            The fitted estimator.
        """
        with np.errstate(invalid="ignore", over="ignore"):  # sklearn sums +-inf first
            X, y = validate_named(self, X, y, dtype=np.float64, order="C",
                                  ensure_all_finite="allow-nan", y_numeric=True)
        if y.dtype.kind not in "biuf":  # y_numeric converts object arrays only
            raise ValueError(f"y must be a 1-D array of numbers, got dtype {y.dtype}")
        y = np.ascontiguousarray(y, dtype=np.float64)
        n_samples, n_features = X.shape
        if n_samples < 2:
            raise ValueError(
                f"CensoredQuantileRegressor needs at least 2 samples, got n_samples = {n_samples}"
            )
        # every parameter is checked here, whichever path the data take below
        check_quantile_levels(self.quantile)
        check_flag(self.fit_intercept, "fit_intercept")
        check_tol(self.tol)
        check_count(self.max_iter, "max_iter")
        if self.max_pivots is not None:
            check_count(self.max_pivots, "max_pivots")
        check_preprocess(self.preprocess)
        method = check_choice(self.propensity_method, "propensity_method",
                              ("auto", "exact", "fft"))
        leave_one_out = check_flag(self.leave_one_out, "leave_one_out")
        event = _check_event(event, n_samples)
        weight_cap = _optional_float(self.weight_cap, "weight_cap", 0.0, np.inf, high_open=True)
        cap_q = _optional_float(self.weight_cap_quantile, "weight_cap_quantile", 0.0, 1.0)
        g_min = _optional_float(self.g_min, "g_min", 0.0, 1.0)
        pi_min = _optional_float(self.pi_min, "pi_min", 0.0, 1.0)
        stabilize = check_flag(self.stabilize, "stabilize")
        n_threads = _check_n_threads(self.n_threads, n_samples)

        missing = np.isnan(X)
        all_missing = missing.all(axis=0)
        if all_missing.any():
            col = int(np.flatnonzero(all_missing)[0])
            raise ValueError(
                f"X column {col} is entirely NaN: it has no observed value to fit a "
                "coefficient for; drop it"
            )
        always_cols = np.flatnonzero(~missing.any(axis=0))
        if self.propensity_columns is not None:
            cols = np.asarray(self.propensity_columns)
            if cols.ndim == 1 and cols.size == 0:
                cols = cols.astype(np.intp)  # only the response enters
            if cols.ndim != 1 or not np.issubdtype(cols.dtype, np.integer):
                raise ValueError(
                    "propensity_columns must be None or a 1-D sequence of column indices, "
                    f"got {_describe(self.propensity_columns)}"
                )
            if np.unique(cols).size != cols.size:
                raise ValueError(
                    f"propensity_columns must not repeat a column, got {_describe(cols.tolist())}"
                )
            bad = cols[(cols < 0) | (cols >= n_features)]
            if bad.size:
                raise ValueError(
                    f"propensity_columns must index the {n_features} columns of X, got {bad[0]}"
                )
            with_nan = cols[missing[:, cols].any(axis=0)]
            if with_nan.size:
                raise ValueError(
                    f"propensity_columns must be always observed, but column {with_nan[0]} "
                    "of X has NaN"
                )
            always_cols = cols
        _resolve_bandwidth(self.bandwidth, n_samples, 1 + always_cols.size)  # checks it
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

        # censoring weights: G(Y_i-) from the reversed Kaplan-Meier
        if observed.all():
            g_left = np.ones(n_samples)
        else:
            *_, n_cens, g_left = _km_pass(y, event)
            self._check_fixed_cut(y, observed, n_cens[-1], n_samples)

        # missingness propensity from the response and the always-observed columns
        if complete.all():
            propensity = np.ones(n_samples)
        else:
            always = np.column_stack([y, X[:, always_cols]])
            propensity = kernel_propensity(
                always, complete, bandwidth=self.bandwidth, method=method,
                leave_one_out=leave_one_out, n_threads=n_threads,
            )

        g_used = g_left if g_min is None else np.maximum(g_left, g_min)
        pi_used = propensity if pi_min is None else np.maximum(propensity, pi_min)
        weights = np.zeros(n_samples)
        with np.errstate(divide="ignore", over="ignore"):
            weights[use] = 1.0 / (g_used[use] * pi_used[use])
        if not np.all(np.isfinite(weights)):
            row = int(np.flatnonzero(~np.isfinite(weights))[0])
            raise ValueError(
                f"the weight 1 / (G(Y-) * propensity) of row {row} is not finite "
                f"(G(Y-) = {g_used[row]:.3g}, propensity = {pi_used[row]:.3g}"
                + (", leave_one_out=True" if leave_one_out else "")
                + "): positivity fails there; set pi_min or g_min, or a larger bandwidth"
            )
        if stabilize:
            k = int(pow2_exponents(weights))  # the mean without overflow, bit-exact
            weights /= np.ldexp(np.mean(np.ldexp(weights, -k)), k)
        if cap_q is not None:
            weights = np.minimum(weights, np.quantile(weights[use], cap_q))
        if weight_cap is not None:
            weights = np.minimum(weights, weight_cap)

        # n_eff and the largest share from weights relative to the largest one:
        # scale-free, so tiny or huge weights give no 0 / 0 or inf / inf
        rel = weights / weights.max()
        self.n_eff_ = float(rel.sum() ** 2 / np.sum(rel**2))
        self.max_weight_share_ = float(1.0 / rel.sum())
        if self.n_eff_ < _N_EFF_WARN_SHARE * n_samples:
            warnings.warn(
                f"CensoredQuantileRegressor: extreme weights, effective sample size "
                f"n_eff = {self.n_eff_:.1f} of {n_samples} rows ({use.sum()} with positive "
                f"weight; the largest weight carries {100 * self.max_weight_share_:.1f}% of "
                f"the total). Estimates will be variable; consider weight_cap_quantile, "
                f"g_min or pi_min (they change the estimand).",
                UserWarning,
                stacklevel=2,
            )

        model = QuantileRegressor(
            quantile=self.quantile, fit_intercept=self.fit_intercept, tol=self.tol,
            max_iter=self.max_iter, max_pivots=self.max_pivots, preprocess=self.preprocess,
        )
        model.fit(X[use], y[use], sample_weight=weights[use])
        for name in ("coef_", "intercept_", "n_iter_", "n_pivots_", "objective_", "status_"):
            setattr(self, name, getattr(model, name))
        self.weights_ = weights
        self.propensity_ = propensity
        self.censoring_survival_ = g_left
        return self

    @staticmethod
    def _check_fixed_cut(y, observed, n_censored_last, n_samples):
        if n_censored_last >= max(2, _FIXED_CUT_SHARE * n_samples):
            warnings.warn(
                f"CensoredQuantileRegressor: {n_censored_last} censored responses share the "
                f"largest observed time {y.max():g}: this looks like a fixed censoring cut. "
                "The censoring survival is 0 beyond it (positivity fails), so conditional "
                "quantiles above the cut are not identified and the estimates are biased "
                "towards it.",
                UserWarning,
                stacklevel=3,
            )

    def predict(self, X):
        """Predict conditional quantiles of ``T``.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            Covariates. A row with a missing covariate (NaN) has no prediction:
            its output is NaN.

        Returns
        -------
        y_pred : ndarray of shape (n_samples,) or (n_samples, n_quantiles)
            One column per quantile when several were fitted.
        """
        check_is_fitted(self)
        with np.errstate(invalid="ignore", over="ignore"):  # sklearn sums +-inf first
            X = validate_named(self, X, dtype=np.float64, reset=False,
                               ensure_all_finite="allow-nan")
        return X @ np.asarray(self.coef_).T + self.intercept_

    def score(self, X, y, sample_weight=None):
        """R^2 of the prediction over the rows whose covariates are complete.

        ``score`` accepts the input ``fit`` and ``predict`` accept, NaN
        covariates included. A row with a missing covariate has no
        prediction, so it is left out (as if its weight were 0); the score
        is scikit-learn's weighted ``R^2 = 1 - sum w (y - y_pred)^2 / sum w
        (y - mean_w(y))^2`` over the complete rows, averaged over the
        quantiles when several were fitted (as
        :meth:`statoptim.QuantileRegressor.score`). This keeps model
        selection (``GridSearchCV``) meaningful where scoring every
        candidate NaN would silently pick the first.

        Caveats: it is a complete-case score, so when the missingness
        depends on the response the complete rows are not representative;
        ``y`` is scored as given, censored responses included (``score``
        receives no ``event``); and ``R^2`` measures squared error, which
        quantile regression does not minimise. For a scale-aware check-loss
        score pass ``scoring`` a :func:`statoptim.pinball_loss` scorer.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            Covariates; NaN marks a missing value.
        y : array-like of shape (n_samples,)
            Responses, finite.
        sample_weight : array-like of shape (n_samples,), default=None
            Non-negative weights; rows with a missing covariate get 0.

        Returns
        -------
        score : float

        Raises
        ------
        ValueError
            If no row with positive weight has complete covariates.
        """
        check_is_fitted(self)
        with np.errstate(invalid="ignore", over="ignore"):  # sklearn sums +-inf first
            X = validate_named(self, X, dtype=np.float64, reset=False,
                               ensure_all_finite="allow-nan")
        complete = ~np.isnan(X).any(axis=1)
        y_pred = X @ np.asarray(self.coef_).T + self.intercept_
        w = check_weights(sample_weight, X.shape[0]) * complete
        if not np.any(w > 0):
            raise ValueError(
                "X has no complete row (without NaN) with positive sample_weight: there is "
                "no prediction to score"
            )
        y_pred[~complete] = 0.0  # weight 0: these rows do not enter the score
        return r2_score_scaled(y, y_pred, w)
