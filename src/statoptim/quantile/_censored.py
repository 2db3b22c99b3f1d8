"""Quantile regression for right-censored responses with missing covariates (IPW)."""
from __future__ import annotations

import copy
import warnings
from collections.abc import Sequence
from typing import Literal, NamedTuple

import numpy as np
from numpy.typing import ArrayLike
from sklearn.base import BaseEstimator, RegressorMixin
from sklearn.utils.validation import check_is_fitted

from statoptim._validation import _describe, check_choice, check_random_state, validate_named
from statoptim.exceptions import (
    ConvergenceWarning,
    DegenerateDataWarning,
    DependentCensoringWarning,
)
from statoptim.quantile._censored_inference import (
    CensoredQuantileSummary,
    bootstrap_summary,
    training_checksum,
)
from statoptim.quantile._checks import (
    as_float_array,
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
    _check_n_threads,
    _resolve_bandwidth,
    _scaled_coordinates,
    kernel_propensity,
)
from statoptim.quantile._loss import r2_score_scaled
from statoptim.quantile._partially_linear import (
    _check_spline_column,
    centred_spline,
    check_spline_settings,
    search_knots,
    set_spline_attributes,
    spline_basis,
)
from statoptim.quantile._peng_huang import default_grid, peng_huang_path
from statoptim.quantile._solver import _solve
from statoptim.quantile._survival import (
    _beran_bandwidth,
    _beran_survival,
    _check_event,
    _km_pass,
    censoring_dependence_test,
)

__all__ = ["CensoredQuantileRegressor", "DependentCensoringWarning"]

# Warn (censoring="marginal") when the score test of the censoring hazard on the
# covariates rejects at this level.
_DEPENDENT_CENSORING_ALPHA = 1e-3
# Height of the pseudo-observation at "+infinity" of the locally weighted fit, in
# units of max |y|, and its enlargements.
_PSEUDO_HEIGHTS = (2.0**10, 2.0**30)



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


def _finish_weights(weights, use, stabilize, cap_q, weight_cap):
    """stabilize, then the quantile cap, then the absolute cap (as documented)."""
    if stabilize:
        k = int(pow2_exponents(weights))  # the mean without overflow, bit-exact
        weights = weights / np.ldexp(np.mean(np.ldexp(weights, -k)), k)
    if cap_q is not None:
        weights = np.minimum(weights, np.quantile(weights[use], cap_q))
    if weight_cap is not None:
        weights = np.minimum(weights, weight_cap)
    return weights


# Attributes that only some fits set (removed before each fit).
_METHOD_ATTRIBUTES = (
    "conditional_cdf_", "grid_", "grid_coef_", "grid_intercept_", "g_", "spline_coef_",
    "knots_", "boundary_knots_", "n_knots_", "knot_grid_", "criterion_values_",
    "_spline_column",
)


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


class _Weighting(NamedTuple):
    """The weights of the fit, computed from the covariates as given."""

    mode: str                 # "marginal", "local" or "peng-huang"
    rows: np.ndarray          # the rows that enter the fit (positive weight)
    propensity: np.ndarray
    weights: list             # one (n_samples,) array per quantile
    survival: np.ndarray      # censoring_survival_
    rest: list | None = None  # "local": mass of each censored row moved to +infinity
    cens_rows: np.ndarray | None = None


class _Solved(NamedTuple):
    """Coefficients (intercept first when fitted) and solver counts, one entry per quantile."""

    coefs: np.ndarray
    n_iter: Sequence
    n_pivots: Sequence
    objective: Sequence
    status: Sequence
    extra: dict               # attributes of the method (Peng-Huang's grid path)


def _warn_inexact(q, sol):
    warnings.warn(
        f"CensoredQuantileRegressor: the fit at quantile {q:g} hit the pivot cap "
        f"({sol.n_pivots} pivots, {sol.n_iter} MM iterations); the coefficients are the "
        "best point found, not a certified optimum. Increase max_pivots.",
        ConvergenceWarning, stacklevel=5,
    )


class CensoredQuantileRegressor(RegressorMixin, BaseEstimator):
    """Linear quantile regression of a right-censored response with missing covariates.

    Inverse-probability weighting (docs/quantile.rst, "Combined weights"): each row gets the weight
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

    **Censoring that depends on the covariates.** Kaplan-Meier weights need
    ``C`` independent of ``(T, X)``; when the censoring depends on ``X`` they
    are inconsistent (a ``DependentCensoringWarning`` says so when the score
    test rejects). Two estimators only need ``T`` and ``C`` independent given
    the covariates:

    * ``censoring="conditional"``: locally weighted censored quantile
      regression (Wang & Wang 2009). Beran's local Kaplan-Meier estimate
      ``F(t | Z)`` of the distribution of ``T`` (kernel in the standardised
      covariates, :func:`statoptim.conditional_survival`) gives each
      censored row ``i`` the weight ``w_i = (q - F(C_i | Z_i)) / (1 -
      F(C_i | Z_i))`` at ``Y_i = C_i`` when ``F(C_i | Z_i) < q`` (else 1), and
      its remaining mass ``1 - w_i`` goes to a pseudo-observation far above
      every response. Uncensored rows weigh 1. Unlike inverse-probability
      weights ``1 / G(Y | Z)`` it needs no positivity in the upper tail of
      ``T``: the censored rows say ``T > C``, which is what the check loss
      uses. Every weight is multiplied by the missing-covariate weight
      ``delta_i / pi_i``, and the kernel estimate weighs the complete rows by
      ``1 / pi`` too (all rows count with weight 1 when the kernel's
      covariates are always observed).
    * ``method="peng-huang"``: Peng & Huang's (2008) martingale estimating
      equations, solved exactly on a grid of quantiles from 0 up to the
      largest one asked for (each step an exact weighted L1 fit). It
      assumes the linear model at every quantile up to the one asked for.
      Complete rows are weighted by ``1 / pi``.

    Parameters
    ----------
    quantile : float or sequence of float in (0, 1), default=0.5
        Quantile(s) to fit; a sequence fits all of them in one call with the
        same weights (``coef_`` then has one row per quantile).
    fit_intercept : bool, default=True
        Whether to fit an intercept.
    method : {"ipw", "peng-huang"}, default="ipw"
        ``"ipw"``: weighted check-loss fit with the censoring handled as
        ``censoring`` says. ``"peng-huang"``: Peng & Huang's estimator (see
        above); ``censoring``, ``g_min``, ``weight_cap`` and
        ``weight_cap_quantile`` do not apply to it.
    censoring : {"marginal", "conditional"}, default="marginal"
        For ``method="ipw"``: ``"marginal"`` weights the uncensored rows by
        ``1 / G(Y-)`` (Kaplan-Meier, censoring independent of the
        covariates); ``"conditional"`` is the locally weighted estimator
        above (censoring may depend on the covariates).
    censoring_columns : array-like of int, default=None
        Columns of ``X`` in the kernel of ``censoring="conditional"``
        (standardised); ``None`` uses every column. Rows with NaN in them
        enter the kernel with weight 0 (the others with ``1 / pi``).
    censoring_bandwidth : {"scott", "silverman"}, float or array-like, default="scott"
        Bandwidth of that kernel in standard deviations of each column;
        ``"scott"`` is ``n^(-1/(d+4))``. See
        :func:`statoptim.conditional_survival`.
    censoring_method : {"auto", "exact", "binned"}, default="auto"
        Method of :func:`statoptim.conditional_survival` (``"binned"``:
        grid of spacing 0.1 bandwidths, relative error of ``1 - F`` below
        about 0.25% (1 + |log(1 - F)|), for at most 3 kernel columns).
    grid : array-like of float, default=None
        For ``method="peng-huang"``: the increasing grid of levels in (0, 1)
        on which the equations are solved; it must contain every requested
        quantile. ``None``: steps of ``min(0.01, 1 / (2 n^0.7))`` (R
        quantreg's ``crq``) up to the largest requested quantile, the
        requested quantiles inserted.
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
    tol, max_iter, max_pivots, preprocess, random_state
        Passed to :class:`statoptim.QuantileRegressor` for each weighted fit
        (``random_state`` seeds its preprocessing subsample; the Peng-Huang path
        uses no random draws).
    n_threads : int, default=None
        Threads of the propensity kernels; ``None``: all cores from 4000
        rows on, one thread below (see :func:`statoptim.kernel_propensity`).
    spline_column : int, default=None
        Partially linear model ``Q_q(T | Z, W) = b + Z'theta + g(W)``: the
        column ``W`` of ``X`` with this index (negative counts from the end)
        enters through a B-spline ``g`` as in
        :class:`statoptim.PartiallyLinearQuantileRegressor`, the other columns
        ``Z`` linearly. ``None`` (the default): every column enters linearly.
        The weights (propensities, Kaplan-Meier or Beran, the score test) are
        computed from ``X`` as given, ``W`` included; the basis replaces ``W``
        in the fitted design only. The boundary knots are the smallest and
        largest ``W`` on the rows that enter the fit (complete uncensored rows
        for ``censoring="marginal"``, complete rows for ``"conditional"`` and
        ``method="peng-huang"``) and the interior knots are quantiles of ``W``
        over them. With ``fit_intercept=True`` the first basis function is
        dropped (the basis sums to one) and ``g`` is centred to weighted mean 0
        over those rows (weights ``weights_``), its level in ``intercept_``;
        with ``fit_intercept=False`` the whole basis is kept and ``g`` is not
        centred.
    n_knots : "auto" or int >= 0, default="auto"
        Interior knots at the quantiles ``j / (n_knots + 1)`` of ``W``, or
        ``"auto"``: chosen by ``criterion`` from ``0, ..., max_knots`` with the
        weighted check loss of the real rows (the pseudo-observation of
        ``censoring="conditional"`` left out). ``"auto"`` needs one quantile
        and an objective, so not ``method="peng-huang"``: give ``n_knots``
        or ``knots`` there. Used only with ``spline_column``.
    degree : int >= 0, default=3
        Degree of the spline.
    knots : array-like of float, default=None
        Interior knots, strictly increasing, strictly inside the range of
        ``W`` on the rows that enter the fit; only with ``spline_column``.
    max_knots : int >= 0, default=None
        Largest number of knots tried by ``n_knots="auto"`` (None:
        ``ceil(n^(1/3))`` for ``n`` rows in the fit).
    criterion : {"sic", "aic"}, default="sic"
        Criterion of ``n_knots="auto"``, as in
        :class:`statoptim.PartiallyLinearQuantileRegressor`.

    Attributes
    ----------
    coef_ : ndarray of shape (n_features,) or (n_quantiles, n_features)
        Slope coefficients (with ``spline_column``: ``theta``, the
        ``n_features - 1`` columns other than ``W``, in the order of ``X``).
    intercept_ : float or ndarray of shape (n_quantiles,)
        Intercepts.
    weights_ : ndarray of shape (n_samples,) or (n_quantiles, n_samples)
        The weights ``w_i`` used (0 for censored or incomplete rows). With
        ``censoring="conditional"`` they depend on the quantile (one row per
        quantile when several were fitted) and exclude the pseudo-observation;
        with ``method="peng-huang"``, ``delta_i / pi_i``.
    conditional_cdf_ : ndarray of shape (n_samples,)
        ``censoring="conditional"`` only: ``F(Y_i | Z_i)`` at the censored
        complete rows, NaN at the other rows (where it is not used).
    censoring_test_ : CensoringTestResult or None
        Cox score test of the censoring hazard on the always-observed
        covariates, over every row (see
        :func:`statoptim.censoring_dependence_test`); ``None`` without
        censoring or without an always-observed column.
    grid_ : ndarray of shape (n_grid,)
        ``method="peng-huang"`` only: the grid of levels solved.
    grid_coef_ : ndarray of shape (n_grid, n_features)
        ``method="peng-huang"`` only: slopes at each grid level.
    grid_intercept_ : ndarray of shape (n_grid,)
        ``method="peng-huang"`` only: intercepts at each grid level.
    propensity_ : ndarray of shape (n_samples,)
        ``pi(X_i)`` (all ones when no covariate is missing).
    censoring_survival_ : ndarray of shape (n_samples,)
        ``G(Y_i-)`` (all ones when nothing is censored).
    n_eff_ : float
        Effective sample size ``(sum w)^2 / sum w^2`` of the weights.
    max_weight_share_ : float
        ``max w / sum w``.
    n_iter_, n_pivots_, objective_, status_
        As in :class:`statoptim.QuantileRegressor` (``objective_`` over the
        real rows; with ``method="peng-huang"``, totals over the grid and
        ``objective_`` is None: there is no objective).
    g_ : scipy.interpolate.BSpline
        With ``spline_column``: the fitted ``g``; ``g_(w)`` has shape
        ``(n_points,)``, or ``(n_points, n_quantiles)`` for several quantiles.
        The end polynomials continue it outside the boundary knots.
    spline_coef_ : ndarray of shape (n_basis,) or (n_quantiles, n_basis)
        The B-spline coefficients of ``g_`` on the knots ``g_.t``.
    knots_, boundary_knots_, n_knots_, knot_grid_, criterion_values_
        As in :class:`statoptim.PartiallyLinearQuantileRegressor`
        (``criterion_values_`` is NaN where it was not computed: several
        quantiles, ``method="peng-huang"``). With ``method="peng-huang"``,
        ``grid_coef_`` holds ``theta`` followed by the B-spline coefficients
        of the uncentred ``g`` (without the first when ``fit_intercept``).
    n_features_in_ : int
        Number of covariate columns seen during ``fit``.

    Warns
    -----
    statoptim.exceptions.DegenerateDataWarning
        When ``n_eff_`` is below 5% of the rows (extreme weights), and when
        many censorings share the largest observed time (a fixed censoring
        cut: ``G = 0`` beyond it, positivity fails).
    DependentCensoringWarning
        With ``censoring="marginal"`` and ``method="ipw"``, when the score
        test of the censoring on the covariates has p < 0.001.

    References
    ----------
    Bang & Tsiatis (2002), Biometrika 89, 905-911. Peng & Huang (2008),
    Survival analysis with quantile regression models, JASA 103, 637-649.
    Wang & Wang (2009), Locally weighted censored quantile regression, JASA
    104, 1117-1128.

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

    A partially linear model, ``g`` a B-spline in the first column:

    >>> W = rng.uniform(0, 1, n)
    >>> T = 2 * Z[:, 0] + np.sin(2 * np.pi * W) + 0.3 * rng.standard_normal(n)
    >>> C = rng.normal(2.5, 2.0, n)
    >>> y, event = np.minimum(T, C), (T <= C).astype(int)
    >>> X = np.column_stack([W, Z[:, 0]])
    >>> model = CensoredQuantileRegressor(0.5, spline_column=0).fit(X, y, event=event)
    >>> model.coef_.round(1)  # truth 2
    array([2.])
    >>> grid = np.linspace(0.1, 0.9, 5)
    >>> truth = np.sin(2 * np.pi * grid) - np.mean(np.sin(2 * np.pi * W))
    >>> bool(np.max(np.abs(model.g_(grid) - truth)) < 0.2)
    True
    """

    def __init__(self, quantile: float | Sequence[float] = 0.5, *, fit_intercept: bool = True,
                 method: Literal["ipw", "peng-huang"] = "ipw",
                 censoring: Literal["marginal", "conditional"] = "marginal",
                 censoring_columns: ArrayLike | None = None,
                 censoring_bandwidth: Literal["scott", "silverman"] | float | ArrayLike = "scott",
                 censoring_method: Literal["auto", "exact", "binned"] = "auto",
                 grid: ArrayLike | None = None,
                 bandwidth: Literal["scott", "silverman"] | float | ArrayLike = "scott",
                 propensity_method: Literal["auto", "exact", "fft"] = "auto",
                 leave_one_out: bool = False, propensity_columns: ArrayLike | None = None,
                 weight_cap: float | None = None, weight_cap_quantile: float | None = None,
                 g_min: float | None = None, pi_min: float | None = None, stabilize: bool = False,
                 tol: float = 1e-5, max_iter: int = 1000, max_pivots: int | None = None,
                 preprocess: Literal["auto"] | bool = "auto", n_threads: int | None = None,
                 spline_column: int | None = None, n_knots: Literal["auto"] | int = "auto",
                 degree: int = 3, knots: ArrayLike | None = None, max_knots: int | None = None,
                 criterion: Literal["sic", "aic"] = "sic",
                 random_state: int | np.random.Generator | None = 0) -> None:
        self.quantile = quantile
        self.fit_intercept = fit_intercept
        self.method = method
        self.censoring = censoring
        self.censoring_columns = censoring_columns
        self.censoring_bandwidth = censoring_bandwidth
        self.censoring_method = censoring_method
        self.grid = grid
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
        self.random_state = random_state
        self.spline_column = spline_column
        self.n_knots = n_knots
        self.degree = degree
        self.knots = knots
        self.max_knots = max_knots
        self.criterion = criterion

    # set on the private clones that summary() refits to resampled rows of the training
    # data: they skip the input validation (done by the original fit), the score test of
    # the censoring (a diagnostic) and keep no training data
    _replicate = False

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.input_tags.allow_nan = True
        return tags

    def fit(self, X: ArrayLike, y: ArrayLike,
            event: ArrayLike | None = None) -> CensoredQuantileRegressor:
        """Fit by inverse-probability-weighted quantile regression.

        The steps: validation of the data and every parameter, the weights
        (propensities, censoring survival or Beran's local weights, computed
        from the covariates as given), the design (``X``, or with
        ``spline_column`` the linear columns and the B-spline basis, the knots
        chosen by ``criterion`` when ``n_knots="auto"``), the exact weighted
        fit(s) on it, and the fitted attributes.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            Covariates; NaN marks a missing value (its row is then
            incomplete). Columns without NaN are always-observed and enter
            the propensity model with the response. A ``dask.array`` chunked
            by rows is fitted without gathering it (Kaplan-Meier weights only:
            ``method="ipw"``, ``censoring="marginal"``, complete covariates;
            only ``y`` and ``event`` are brought to the client).
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
        from statoptim.quantile._distributed import fit_censored_dask, is_dask_array
        if is_dask_array(X):  # rows in chunks, never gathered: Kaplan-Meier weights only
            return fit_censored_dask(self, X, y, event)
        if self._replicate:  # summary(): rows of the arrays validated by the original fit
            self.n_features_in_ = X.shape[1]
        else:
            with np.errstate(invalid="ignore", over="ignore"):  # sklearn sums +-inf first
                X, y = validate_named(self, X, y, dtype=np.float64, order="C",
                                      ensure_all_finite="allow-nan", y_numeric=True)
            if y.dtype.kind not in "biuf":  # y_numeric converts object arrays only
                raise ValueError(f"y must be a 1-D array of numbers, got dtype {y.dtype}")
            y = np.ascontiguousarray(y, dtype=np.float64)
        setup = self._check_setup(X, y, event)
        for name in _METHOD_ATTRIBUTES:
            self.__dict__.pop(name, None)
        weighting = self._weights(X, y, setup)
        if setup.spline is None:
            solved = self._solve(X, y, setup, weighting)
            search = None
        else:
            solved, search = self._fit_spline(X, y, setup, weighting)
        self._set_attributes(X, setup, weighting, solved, search)
        return self

    # ------------------------------------------------------------------ #
    # fit, step 1: validation
    # ------------------------------------------------------------------ #
    def _check_setup(self, X, y, event):
        """Check every parameter (whichever path the data take) and the rows of the data."""
        n_samples, n_features = X.shape
        if n_samples < 2:
            raise ValueError(
                f"CensoredQuantileRegressor needs at least 2 samples, got n_samples = {n_samples}"
            )
        check_quantile_levels(self.quantile)
        fit_intercept = check_flag(self.fit_intercept, "fit_intercept")
        check_tol(self.tol)
        check_count(self.max_iter, "max_iter")
        if self.max_pivots is not None:
            check_count(self.max_pivots, "max_pivots")
        check_preprocess(self.preprocess)
        check_random_state(self.random_state)
        prop_method = check_choice(self.propensity_method, "propensity_method",
                                   ("auto", "exact", "fft"))
        leave_one_out = check_flag(self.leave_one_out, "leave_one_out")
        event = _check_event(event, n_samples)
        if not self._replicate:
            # kept for summary(): references to the validated arrays (event is a copy),
            # a checksum that detects later in-place changes and the parameters of the fit
            self._training_data = (X, y, event)
            self._training_checksum = training_checksum(X, y, event)
            self._fit_params = copy.deepcopy(self.get_params(deep=False))
        caps = (_optional_float(self.weight_cap, "weight_cap", 0.0, np.inf, high_open=True),
                _optional_float(self.weight_cap_quantile, "weight_cap_quantile", 0.0, 1.0),
                _optional_float(self.g_min, "g_min", 0.0, 1.0),
                _optional_float(self.pi_min, "pi_min", 0.0, 1.0))
        stabilize = check_flag(self.stabilize, "stabilize")
        n_threads = _check_n_threads(self.n_threads, n_samples)
        missing = np.isnan(X)
        columns = self._check_columns_and_methods(missing, n_samples, n_features)
        quantiles, scalar = check_quantile_levels(self.quantile)
        grid = None if self.grid is None else _check_grid(self.grid, quantiles)
        spline = self._check_spline(n_features, scalar, columns["method"])
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
        return _Setup(quantiles=quantiles, scalar=scalar, fit_intercept=fit_intercept,
                      event=event, observed=observed, complete=complete, use=use,
                      missing=missing, caps=caps, stabilize=stabilize, n_threads=n_threads,
                      prop_method=prop_method, leave_one_out=leave_one_out, grid=grid,
                      spline=spline, **columns)

    def _check_columns_and_methods(self, missing, n_samples, n_features):
        """The column sets of the propensity and censoring kernels, and the methods."""
        all_missing = missing.all(axis=0)
        if all_missing.any():
            col = int(np.flatnonzero(all_missing)[0])
            raise ValueError(
                f"X column {col} is entirely NaN: it has no observed value to fit a "
                "coefficient for; drop it"
            )
        always_cols = np.flatnonzero(~missing.any(axis=0))
        if self.propensity_columns is not None:
            cols = _check_columns(self.propensity_columns, "propensity_columns", n_features)
            with_nan = cols[missing[:, cols].any(axis=0)]
            if with_nan.size:
                raise ValueError(
                    f"propensity_columns must be always observed, but column {with_nan[0]} "
                    "of X has NaN"
                )
            always_cols = cols
        _resolve_bandwidth(self.bandwidth, n_samples, 1 + always_cols.size)  # checks it
        method = check_choice(self.method, "method", ("ipw", "peng-huang"))
        censoring = check_choice(self.censoring, "censoring", ("marginal", "conditional"))
        if method == "peng-huang" and censoring == "conditional":
            raise ValueError(
                "censoring='conditional' applies to method='ipw'; method='peng-huang' already "
                "allows censoring that depends on the covariates: leave censoring='marginal'"
            )
        if self.censoring_columns is None:
            cens_cols = np.arange(n_features)
        else:
            cens_cols = _check_columns(self.censoring_columns, "censoring_columns", n_features)
            if cens_cols.size == 0:
                raise ValueError(
                    "censoring_columns must name at least one column of X, got an empty "
                    "sequence; use censoring='marginal' for censoring that does not depend "
                    "on the covariates"
                )
        cens_h = _beran_bandwidth(self.censoring_bandwidth, n_samples, cens_cols.size,
                                  name="censoring_bandwidth")
        cens_method = check_choice(self.censoring_method, "censoring_method",
                                   ("auto", "exact", "binned"))
        if cens_method == "binned" and cens_cols.size > 3:
            raise ValueError(
                f"censoring_method='binned' supports at most 3 censoring_columns, got "
                f"{cens_cols.size}; use 'exact' or 'auto'"
            )
        return {"always_cols": always_cols, "method": method, "censoring": censoring,
                "cens_cols": cens_cols, "cens_h": cens_h, "cens_method": cens_method}

    def _check_spline(self, n_features, scalar, method):
        """Spline settings (None without ``spline_column``); the knots are checked on the data."""
        settings = check_spline_settings(self.degree, self.n_knots, self.max_knots,
                                         self.criterion)
        if self.spline_column is None:
            if self.knots is not None:
                raise ValueError(
                    f"knots are the interior knots of the spline column, but spline_column "
                    f"is None, got knots={_describe(self.knots)}; set spline_column"
                )
            return None
        col = _check_spline_column(self.spline_column, n_features)
        if settings.auto and self.knots is None:
            if method == "peng-huang":
                raise ValueError(
                    "n_knots='auto' chooses the knots by the check-loss objective, which "
                    "method='peng-huang' does not have; give n_knots (an integer) or knots"
                )
            if not scalar:
                raise ValueError(
                    f"n_knots='auto' chooses the knots for one quantile, got "
                    f"{_describe(self.quantile)}; give n_knots (an integer) or knots to fit "
                    "several quantiles on one basis, or fit one estimator per quantile"
                )
        return settings, col

    # ------------------------------------------------------------------ #
    # fit, step 2: the weights (from the covariates as given)
    # ------------------------------------------------------------------ #
    def _weights(self, X, y, setup):
        """Propensities, the score test of the censoring and the weights of the fit."""
        propensity, case_w = self._propensity(X, y, setup)
        # is the censoring independent of the covariates? Score test on every row, with
        # the always-observed columns (the complete rows alone are a selected sample when
        # the missingness depends on the response)
        self.censoring_test_ = None
        observed = setup.observed
        observed_cols = np.flatnonzero(~setup.missing.any(axis=0))
        # (bootstrap replicates of summary() skip this diagnostic: _replicate is set)
        if not observed.all() and observed_cols.size and not self._replicate:
            self.censoring_test_ = censoring_dependence_test(y, setup.event,
                                                             X[:, observed_cols])
            if setup.method == "ipw" and setup.censoring == "marginal":
                self._check_dependent_censoring(self.censoring_test_)
        if setup.method == "peng-huang":
            k = setup.quantiles.size
            return _Weighting("peng-huang", case_w > 0, propensity, [case_w] * k,
                              np.ones(X.shape[0]))
        if setup.censoring == "conditional" and not observed.all():
            return self._local_weights(X, y, setup, propensity, case_w)
        return self._marginal_weights(y, setup, propensity)

    def _propensity(self, X, y, setup):
        """Missingness propensity from the response and the always-observed columns."""
        n_samples = X.shape[0]
        if setup.complete.all():
            propensity = np.ones(n_samples)
        else:
            always = np.column_stack([y, X[:, setup.always_cols]])
            propensity = kernel_propensity(
                always, setup.complete, bandwidth=self.bandwidth, method=setup.prop_method,
                leave_one_out=setup.leave_one_out, n_threads=setup.n_threads,
            )
        pi_min = setup.caps[3]
        pi_used = propensity if pi_min is None else np.maximum(propensity, pi_min)
        with np.errstate(divide="ignore", over="ignore"):
            case_w = np.where(setup.complete, 1.0 / pi_used, 0.0)
        if not np.all(np.isfinite(case_w)):
            row = int(np.flatnonzero(~np.isfinite(case_w))[0])
            raise ValueError(
                f"the weight 1 / propensity of row {row} is not finite (propensity = "
                f"{pi_used[row]:.3g}" + (", leave_one_out=True" if setup.leave_one_out else "")
                + "): positivity fails there; set pi_min or a larger bandwidth"
            )
        return propensity, case_w

    def _marginal_weights(self, y, setup, propensity):
        """``1 / (G(Y_i-) pi_i)`` with G the reversed Kaplan-Meier estimate."""
        n_samples = y.shape[0]
        weight_cap, cap_q, g_min, pi_min = setup.caps
        observed, use = setup.observed, setup.use
        if observed.all():
            g_left = np.ones(n_samples)
        else:
            *_, n_cens, g_left = _km_pass(y, setup.event)
            self._check_fixed_cut(y, observed, n_cens[-1], n_samples)
        pi_used = propensity if pi_min is None else np.maximum(propensity, pi_min)
        g_used = g_left if g_min is None else np.maximum(g_left, g_min)
        weights = np.zeros(n_samples)
        with np.errstate(divide="ignore", over="ignore"):
            weights[use] = 1.0 / (g_used[use] * pi_used[use])
        if not np.all(np.isfinite(weights)):
            row = int(np.flatnonzero(~np.isfinite(weights))[0])
            raise ValueError(
                f"the weight 1 / (G(Y-) * propensity) of row {row} is not finite "
                f"(G(Y-) = {g_used[row]:.3g}, propensity = {pi_used[row]:.3g}"
                + (", leave_one_out=True" if setup.leave_one_out else "")
                + "): positivity fails there; set pi_min or g_min, or a larger bandwidth"
            )
        weights = _finish_weights(weights, use, setup.stabilize, cap_q, weight_cap)
        self._effective_size(weights, use, n_samples, stacklevel=5)
        return _Weighting("marginal", use, propensity, [weights] * setup.quantiles.size,
                          g_left)

    def _local_weights(self, X, y, setup, propensity, case_w):
        """Wang & Wang's local weights: Beran's F(C_i | Z_i) at the censored complete rows."""
        n_samples = X.shape[0]
        observed, complete = setup.observed, setup.complete
        Zc = X[:, setup.cens_cols]
        rows = ~np.isnan(Zc).any(axis=1)  # rows whose kernel covariates are observed
        src_w = np.where(rows, 1.0, 0.0) if rows.all() else case_w
        src_w = src_w / src_w.max()
        idx = np.flatnonzero(rows)
        V = _scaled_coordinates(Zc[idx], setup.cens_h, "X[:, censoring_columns]")
        targets = np.flatnonzero(((~observed) & complete)[idx])
        surv, _ = _beran_survival(y[idx], setup.event[idx], V, src_w[idx], targets, False,
                                  setup.cens_method, 0.1, setup.n_threads)
        cdf = np.full(n_samples, np.nan)
        cdf[idx[targets]] = 1.0 - surv
        self.conditional_cdf_ = cdf
        cens_rows = idx[targets]
        F = cdf[cens_rows]
        weight_cap, cap_q = setup.caps[:2]
        weights, rest = [], []
        for q in setup.quantiles:
            w = np.where(observed & complete, case_w, 0.0)
            local = np.where(F < q, (q - F) / (1.0 - F), 1.0)
            w[cens_rows] = case_w[cens_rows] * local
            rest.append(case_w[cens_rows] * (1.0 - local))
            weights.append(_finish_weights(w, w > 0, setup.stabilize, cap_q, weight_cap))
        return _Weighting("local", complete, propensity, weights, np.ones(n_samples),
                          rest, cens_rows)

    # ------------------------------------------------------------------ #
    # fit, step 3: the design (X, or the linear columns and a B-spline basis)
    # ------------------------------------------------------------------ #
    def _fit_spline(self, X, y, setup, weighting):
        """Fit on ``[Z, B(W)]``; with ``n_knots="auto"`` the knots chosen by ``criterion``."""
        settings, col = setup.spline
        rows = weighting.rows
        W = X[:, col]
        W_fit = np.ascontiguousarray(W[rows])
        Z = np.delete(X, col, axis=1)
        drop_first = setup.fit_intercept  # the basis sums to one: it spans the intercept
        # the criterion's mean check loss: over the real rows, with the fit's weights
        total = float(np.sum(weighting.weights[0][rows]))

        def solve(t):
            basis = np.full((X.shape[0], t.size - settings.degree - 1 - drop_first), np.nan)
            basis[rows] = spline_basis(W_fit, t, settings.degree, drop_first)
            solved = self._solve(np.hstack([Z, basis]), y, setup, weighting)
            objective = solved.objective[0] if setup.scalar else None
            return solved, objective, total

        search = search_knots(W_fit, self.knots, settings, Z.shape[1], col, solve)
        return search.result, search

    # ------------------------------------------------------------------ #
    # fit, step 4: the exact weighted fit(s) on the design
    # ------------------------------------------------------------------ #
    def _solve(self, D, y, setup, weighting):
        """Coefficients on the design ``D`` (n_samples rows; incomplete rows unused)."""
        if weighting.mode == "peng-huang":
            return self._solve_peng_huang(D, y, setup, weighting)
        if weighting.mode == "local":
            return self._solve_local(D, y, setup, weighting)
        weights, use = weighting.weights[0], setup.use
        model = QuantileRegressor(
            quantile=self.quantile, fit_intercept=setup.fit_intercept, tol=self.tol,
            max_iter=self.max_iter, max_pivots=self.max_pivots, preprocess=self.preprocess,
        )
        model.fit(D[use], y[use], sample_weight=weights[use])
        coefs = np.atleast_2d(model.coef_)
        if setup.fit_intercept:
            coefs = np.column_stack([np.atleast_1d(model.intercept_), coefs])
        return _Solved(coefs, np.atleast_1d(model.n_iter_), np.atleast_1d(model.n_pivots_),
                       np.atleast_1d(model.objective_),
                       [model.status_] if setup.scalar else model.status_, {})

    def _solve_local(self, D, y, setup, weighting):
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
                                 preprocess=self.preprocess, random_state=self.random_state,
                                 design="X", intercept=setup.fit_intercept,
                                 **self._solver_args())
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
                sol = _solve(Zr, yr, wr, float(q), theta0=None, preprocess=self.preprocess,
                             random_state=self.random_state, design="X",
                             intercept=setup.fit_intercept,
                             **self._solver_args())
            resid = yr - Zr @ sol.coef
            objective.append(float(np.sum(wr * resid * (q - (resid < 0)))))
            coefs.append(sol.coef)
            status.append(sol.status)
            n_iter.append(sol.n_iter)
            n_pivots.append(sol.n_pivots)
            if sol.status != "optimal":
                _warn_inexact(q, sol)
        return _Solved(np.array(coefs), n_iter, n_pivots, objective, status, {})

    def _solve_peng_huang(self, D, y, setup, weighting):
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
            **self._solver_args())
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

    def _solver_args(self):
        return {"tol": self.tol, "max_iter": self.max_iter, "max_pivots": self.max_pivots}

    # ------------------------------------------------------------------ #
    # fit, step 5: the fitted attributes
    # ------------------------------------------------------------------ #
    def _set_attributes(self, X, setup, weighting, solved, search):
        n_samples = X.shape[0]
        coefs = solved.coefs
        if search is not None:
            coefs = self._split_spline(X, setup, weighting, coefs, search)
        scalar = setup.scalar
        if weighting.mode == "local":
            first = weighting.weights[0]
            self._effective_size(first, first > 0, n_samples, stacklevel=4)
        self._set_fit(coefs, scalar, solved.n_iter, solved.n_pivots, solved.objective,
                      solved.status)
        for name, value in solved.extra.items():
            setattr(self, name, value)
        if weighting.mode == "peng-huang":
            case_w = weighting.weights[0]
            self.weights_ = case_w
            rel = case_w / case_w.max()
            self.n_eff_ = float(rel.sum() ** 2 / np.sum(rel**2))
            self.max_weight_share_ = float(1.0 / rel.sum())
        elif weighting.mode == "local" and not scalar:  # the local weights depend on q
            self.weights_ = np.array(weighting.weights)
        else:
            self.weights_ = weighting.weights[0]
        self.propensity_ = weighting.propensity
        self.censoring_survival_ = weighting.survival

    def _split_spline(self, X, setup, weighting, coefs, search):
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
        set_spline_attributes(self, search, degree, spline[0] if setup.scalar else spline.T)
        self._spline_column = col
        return linear

    def summary(self, *, se: Literal["boot"] = "boot", n_boot: int = 200, alpha: float = 0.05,
                interval: Literal["percentile", "normal"] = "percentile",
                random_state: int | np.random.SeedSequence | np.random.Generator | None = None,
                n_threads: int | None = None, max_failed: float = 0.1) -> CensoredQuantileSummary:
        """Bootstrap standard errors, tests and confidence intervals of the coefficients.

        The whole pipeline is bootstrapped: each replicate resamples the rows
        of the training data ``(X, y, event)`` with replacement (rows with
        missing covariates and censored rows included) and refits a new
        estimator with the parameters of this fit, so the censoring survival
        (Kaplan-Meier or Beran), the propensities and the weighted fit are
        re-estimated every time and their variability enters the standard
        errors. ``fit`` keeps references to its validated ``X`` and ``y``
        (not copies) for this; modifying them in place afterwards is detected
        and refused.

        Replicate ``b`` draws its rows from
        ``np.random.SeedSequence(entropy, spawn_key=(b,))`` (the convention of
        :func:`statoptim.studies.replication_seed`), and its kernels run on one
        thread, so the result depends on ``random_state`` only, not on
        ``n_threads``. The score test of the censoring on the covariates
        (``censoring_test_``, a diagnostic) is skipped in the replicates;
        other warnings of the replicate fits are collected and reissued once
        per category with the number of replicates that issued them.

        Parameters
        ----------
        se : {"boot"}, default="boot"
            The only method: plug-in formulas with the weights held fixed
            would ignore the estimation of the censoring survival and of the
            propensities.
        n_boot : int >= 2, default=200
            Bootstrap replicates.
        alpha : float in (0, 1), default=0.05
            The intervals have level ``1 - alpha``. The percentile interval
            needs ``n_boot * alpha / 2`` of at least 1 (a warning says when
            its ends are the extreme replicates); a few dozen are better.
        interval : {"percentile", "normal"}, default="percentile"
            What ``conf_int`` holds: ``"percentile"``, the ``alpha / 2`` and
            ``1 - alpha / 2`` quantiles of the replicates (Efron's percentile
            interval, which follows skewed sampling distributions);
            ``"normal"``, ``coef -+ z_{1 - alpha/2} bse`` with the bootstrap
            standard deviation ``bse``. Both are kept in the result
            (``conf_int_percentile``, ``conf_int_normal``).
        random_state : int, SeedSequence, Generator or None, default=None
            Seed of the resampling. An int ``s`` seeds replicate ``b`` with
            ``SeedSequence(s, spawn_key=(b,))``; with None the entropy drawn
            is kept in the result (``entropy``) so the run can be repeated.
        n_threads : int, default=None
            Replicates fitted in parallel threads (the kernels and the solver
            release the GIL); None uses every available CPU.
        max_failed : float in [0, 1), default=0.1
            Largest share of replicates allowed to fail (a resample without
            a complete uncensored row, with failing positivity, or a
            Peng-Huang grid that cannot reach the quantile). Failed
            replicates are left out, counted in the result and reported by a
            :class:`~statoptim.exceptions.BootstrapWarning` (a
            ``RuntimeWarning``); more than this share (or fewer than 2
            successful replicates) raise a ``ValueError``.

        Returns
        -------
        CensoredQuantileSummary
            A :class:`statoptim.QuantileSummary`: ``coef``, ``bse``,
            ``tvalues`` (z statistics), ``pvalues`` (two-sided normal),
            ``conf_int``, ``cov``, ``replicates`` (intercept first; a leading
            quantile axis for several quantiles), a printable table,
            ``to_frame()``, and ``conf_int_percentile``, ``conf_int_normal``,
            ``n_failed``, ``failed_replicates``, ``entropy``.

        Raises
        ------
        ValueError
            For an invalid argument, or when too many replicates fail.
        sklearn.exceptions.NotFittedError
            Before ``fit``.

        References
        ----------
        Efron (1979), Bootstrap methods: another look at the jackknife, Ann.
        Statist. 7, 1-26. Efron & Tibshirani (1993), An Introduction to the
        Bootstrap, chapters 12-13 (percentile and normal intervals).
        """
        check_is_fitted(self)
        return bootstrap_summary(self, se=se, n_boot=n_boot, alpha=alpha, interval=interval,
                                 random_state=random_state, n_threads=n_threads,
                                 max_failed=max_failed)

    def _effective_size(self, weights, use, n_samples, stacklevel=3):
        """n_eff_ and max_weight_share_ (scale-free), with the extreme-weight warning."""
        # relative to the largest weight: tiny or huge weights give no 0 / 0 or inf / inf
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
                DegenerateDataWarning,
                stacklevel=stacklevel,
            )

    @staticmethod
    def _check_dependent_censoring(test):
        if test.pvalue < _DEPENDENT_CENSORING_ALPHA:
            warnings.warn(
                f"CensoredQuantileRegressor: the censoring depends on the covariates (Cox "
                f"score test of the censoring hazard on X: chi2 = {test.statistic:.1f} on "
                f"{test.df} df, p = {test.pvalue:.2g}), but censoring='marginal' weights by "
                "the Kaplan-Meier estimate, which assumes it does not: the coefficients are "
                "biased. Use censoring='conditional' (locally weighted, Wang & Wang 2009) or "
                "method='peng-huang' (Peng & Huang 2008).",
                DependentCensoringWarning,
                stacklevel=4,
            )

    def _set_fit(self, coefs, scalar, n_iter, n_pivots, objective, status):
        if self.fit_intercept:
            intercept, coef = coefs[:, 0], coefs[:, 1:]
        else:
            intercept, coef = np.zeros(coefs.shape[0]), coefs
        if scalar:
            self.coef_, self.intercept_ = coef[0], float(intercept[0])
            self.n_iter_, self.n_pivots_ = int(n_iter[0]), int(n_pivots[0])
            self.objective_ = None if objective[0] is None else float(objective[0])
            self.status_ = status[0]
        else:
            self.coef_, self.intercept_ = coef, intercept
            self.n_iter_, self.n_pivots_ = np.array(n_iter), np.array(n_pivots)
            self.objective_ = None if objective[0] is None else np.array(objective)
            self.status_ = list(status)

    @staticmethod
    def _check_fixed_cut(y, observed, n_censored_last, n_samples):
        if n_censored_last >= max(2, _FIXED_CUT_SHARE * n_samples):
            warnings.warn(
                f"CensoredQuantileRegressor: {n_censored_last} censored responses share the "
                f"largest observed time {y.max():g}: this looks like a fixed censoring cut. "
                "The censoring survival is 0 beyond it (positivity fails), so conditional "
                "quantiles above the cut are not identified and the estimates are biased "
                "towards it.",
                DegenerateDataWarning,
                stacklevel=5,
            )

    def predict(self, X: ArrayLike) -> np.ndarray:
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
        return self._predictor(X)

    def _predictor(self, X):
        """``intercept_ + X'coef_``, with ``spline_column``: ``+ Z'coef_ + g_(W)``."""
        col = getattr(self, "_spline_column", None)
        if col is None:
            return X @ np.asarray(self.coef_).T + self.intercept_
        Z = np.delete(X, col, axis=1)
        W = X[:, col]
        g = np.full((X.shape[0],) + self.g_.c.shape[1:], np.nan)
        known = ~np.isnan(W)
        g[known] = self.g_(W[known])
        return Z @ np.asarray(self.coef_).T + self.intercept_ + g

    def score(self, X: ArrayLike, y: ArrayLike, sample_weight: ArrayLike | None = None) -> float:
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
        y_pred = self._predictor(X)
        w = check_weights(sample_weight, X.shape[0]) * complete
        if not np.any(w > 0):
            raise ValueError(
                "X has no complete row (without NaN) with positive sample_weight: there is "
                "no prediction to score"
            )
        y_pred[~complete] = 0.0  # weight 0: these rows do not enter the score
        return r2_score_scaled(y, y_pred, w)
