"""Quantile regression for right-censored responses with missing covariates (IPW).

The estimator's fit runs in steps, each in its module: the checks
(:mod:`._censored_setup`), the weights (:mod:`._censored_weights`), the design
and the exact weighted fits (:mod:`._censored_fit`), then the fitted
attributes (here). A dask ``X`` goes to :mod:`._censored_dask`.
"""
from __future__ import annotations

from collections.abc import Sequence
from typing import Literal

import numpy as np
from numpy.typing import ArrayLike
from sklearn.base import BaseEstimator, RegressorMixin
from sklearn.utils.validation import check_is_fitted

from statoptim._dask import is_dask_array
from statoptim._validation import validate_named
from statoptim.exceptions import DependentCensoringWarning
from statoptim.quantile._censored_dask import fit_censored_dask
from statoptim.quantile._censored_fit import (
    _METHOD_ATTRIBUTES,
    fit_spline,
    set_attributes,
    solve_weighted,
)
from statoptim.quantile._censored_inference import CensoredQuantileSummary, bootstrap_summary
from statoptim.quantile._censored_setup import check_setup
from statoptim.quantile._censored_weights import compute_weights
from statoptim.quantile._checks import check_weights
from statoptim.quantile._loss import r2_score_scaled

__all__ = ["CensoredQuantileRegressor", "DependentCensoringWarning"]


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
    >>> n = 2000
    >>> rng = np.random.default_rng(0)
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
        setup = check_setup(self, X, y, event)
        for name in _METHOD_ATTRIBUTES:
            self.__dict__.pop(name, None)
        weighting = compute_weights(self, X, y, setup)
        if setup.spline is None:
            solved = solve_weighted(self, X, y, setup, weighting)
            search = None
        else:
            solved, search = fit_spline(self, X, y, setup, weighting)
        set_attributes(self, X, setup, weighting, solved, search)
        return self

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
