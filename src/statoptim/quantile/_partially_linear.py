"""Partially linear quantile regression with a B-spline in one covariate."""
from __future__ import annotations

import numbers
import warnings
from typing import Literal, NamedTuple

import numpy as np
from numpy.typing import ArrayLike
from scipy.interpolate import BSpline
from sklearn.base import BaseEstimator, RegressorMixin
from sklearn.utils.validation import check_is_fitted

from statoptim._threads import single_blas_thread
from statoptim._validation import (
    _describe,
    check_choice,
    check_int,
    check_random_state,
    validate_named,
)
from statoptim.exceptions import ConvergenceWarning
from statoptim.quantile._checks import (
    as_float_array,
    check_count,
    check_preprocess,
    check_quantile_levels,
    check_tol,
    check_weights,
)
from statoptim.quantile._loss import r2_score_scaled
from statoptim.quantile._solver import _solve

__all__ = ["PartiallyLinearQuantileRegressor"]

# Name of the augmented design in the solver's error messages.
_DESIGN = "the partially linear design [1, X without spline_column, B-spline basis]"
# A spline basis whose scaled Gram matrix on the distinct values of W has a
# smallest eigenvalue below this share of its largest is treated as singular
# (the threshold of the solver's own rank check).
_RANK_TOL = 1e-12


def _check_spline_column(value, n_features):
    """An integer index of a column of X (negative counts from the end)."""
    if not isinstance(value, numbers.Integral) or isinstance(value, bool):
        raise TypeError(
            f"spline_column must be an integer index of a column of X, got {_describe(value)}"
        )
    if not -n_features <= value < n_features:
        raise ValueError(
            f"spline_column must index one of the {n_features} columns of X (from "
            f"{-n_features} to {n_features - 1}), got {value}"
        )
    return int(value) % n_features


def _check_knots(knots, low, high):
    """User's interior knots: 1-D, finite, strictly increasing, strictly inside (low, high)."""
    arr = as_float_array(knots, "knots", expected="None or a 1-D array of interior knots")
    if arr.ndim != 1:
        raise ValueError(
            f"knots must be None or a 1-D array of interior knots, got {_describe(knots)}"
        )
    if not np.all(np.isfinite(arr)):
        raise ValueError(f"knots must be finite, got {arr.tolist()!r}")
    if np.any(np.diff(arr) <= 0):
        raise ValueError(f"knots must be strictly increasing, got {arr.tolist()!r}")
    outside = arr[(arr <= low) | (arr >= high)]
    if outside.size:
        raise ValueError(
            f"knots must lie strictly inside the range of the spline column on the rows with "
            f"positive weight, ({low:.6g}, {high:.6g}), got the knot {outside[0]:.6g}"
        )
    return arr


def quantile_knots(w, n_knots):
    """``n_knots`` interior knots at the quantiles ``j / (n_knots + 1)`` of ``w``.

    The quantiles are R's default (type 7, ``np.quantile``'s ``"linear"``),
    as ``splines::bs(w, df = n_knots + degree)`` places them. Knots that
    coincide (ties in ``w``) or fall on the range's ends are dropped, so
    fewer knots may come back.
    """
    if n_knots == 0:
        return np.empty(0)
    knots = np.quantile(w, np.arange(1, n_knots + 1) / (n_knots + 1))
    knots = np.unique(knots)
    return knots[(knots > w.min()) & (knots < w.max())]


def _full_knots(interior, low, high, degree):
    return np.concatenate([np.full(degree + 1, low), interior, np.full(degree + 1, high)])


def _basis(w, t, degree):
    """Dense B-spline design matrix, the polynomial end pieces continued outside."""
    return BSpline.design_matrix(w, t, degree, extrapolate=True).toarray()


def _spline_identified(w_unique, t, degree):
    """Whether the basis has full column rank on the distinct values of W (Schoenberg-Whitney)."""
    basis = _basis(w_unique, t, degree)
    if basis.shape[0] < basis.shape[1]:
        return False
    gram = basis.T @ basis
    d = np.sqrt(np.diag(gram))
    if np.any(d == 0):
        return False
    eig = np.linalg.eigvalsh(gram / np.outer(d, d))
    return bool(eig[0] > _RANK_TOL * eig[-1])


# --------------------------------------------------------------------------- #
# The spline part shared with CensoredQuantileRegressor(spline_column=...)
# --------------------------------------------------------------------------- #
class SplineSettings(NamedTuple):
    """Validated spline parameters (``n_knots`` is None when ``auto``)."""

    degree: int
    auto: bool
    n_knots: int | None
    max_knots: int | None
    criterion: str


class KnotSearch(NamedTuple):
    """The knots chosen, the candidates tried and the fit on the chosen basis."""

    t: np.ndarray            # full knot vector of the chosen basis
    result: object           # what ``solve`` returned for it
    knot_grid: np.ndarray    # numbers of knots requested
    values: np.ndarray       # criterion at each (NaN: skipped or not computed)
    low: float
    high: float


def check_spline_settings(degree, n_knots, max_knots, criterion):
    """Check ``degree``, ``n_knots``, ``max_knots`` and ``criterion`` (no data needed)."""
    degree = check_int(degree, "degree", minimum=0)
    criterion = check_choice(criterion, "criterion", ("sic", "aic"))
    auto = isinstance(n_knots, str)
    if auto:
        check_choice(n_knots, "n_knots", ("auto",))
        n_knots = None
    else:
        try:
            n_knots = check_int(n_knots, "n_knots", minimum=0)
        except ValueError:
            raise ValueError(
                f"n_knots must be 'auto' or an integer >= 0, got {_describe(n_knots)}"
            ) from None
    if max_knots is not None:
        max_knots = check_int(max_knots, "max_knots", minimum=0)
    return SplineSettings(degree, auto, n_knots, max_knots, criterion)


def spline_basis(w, t, degree, drop_first=True):
    """B-spline design ``[B_1(w), ..., B_m(w)]`` (``B_0`` too unless ``drop_first``)."""
    basis = _basis(w, t, degree)
    return basis[:, 1:] if drop_first else basis


def search_knots(W, knots, settings, n_linear, col, solve):
    """Candidate knots for the spline column, each fitted by ``solve``; the best kept.

    Parameters
    ----------
    W : ndarray of shape (n_rows,)
        The spline column on the rows that enter the fit (positive weight).
    knots : array-like or None
        The user's interior knots (checked here against the range of ``W``).
    settings : SplineSettings
    n_linear : int
        Number of linearly entering columns (the intercept not counted).
    col : int
        Index of the spline column in ``X`` (for the messages).
    solve : callable
        ``solve(t) -> (result, objective, total_weight)`` fits the design
        with the full knot vector ``t``; ``objective`` (the weighted check
        loss) may be None when the estimator has none.

    Returns
    -------
    KnotSearch
        With ``n_knots="auto"``, the candidate of smallest criterion
        ``log(objective / total_weight) + penalty * p`` (``p = 1 + n_linear
        + K + degree``, penalty ``log(n) / (2 n)`` for SIC, ``1 / n`` for
        AIC); otherwise the one candidate.
    """
    degree, n_rows = settings.degree, W.shape[0]
    low, high = float(W.min()), float(W.max())
    w_unique = np.unique(W)
    if w_unique.size < degree + 1:
        raise ValueError(
            f"the spline column (X column {col}) must have at least degree + 1 = "
            f"{degree + 1} distinct values on the rows with positive weight, got "
            f"{w_unique.size}; lower degree or enter the column linearly"
        )
    if knots is not None:
        user_knots = _check_knots(knots, low, high)
        if not settings.auto and settings.n_knots != user_knots.size:
            raise ValueError(
                f"n_knots must be 'auto' or len(knots) = {user_knots.size} when knots is "
                f"given, got {settings.n_knots}"
            )
        candidates = [(user_knots.size, user_knots)]
    else:
        if settings.auto:
            top = (int(np.ceil(n_rows ** (1 / 3))) if settings.max_knots is None
                   else settings.max_knots)
            top = min(top, n_rows - 1 - n_linear - degree)  # never more coefficients than rows
            grid = range(max(top, 0) + 1)
        else:
            grid = [settings.n_knots]
        candidates = [(k, quantile_knots(W, k)) for k in grid]

    n_pos = float(n_rows)
    penalty = np.log(n_pos) / (2 * n_pos) if settings.criterion == "sic" else 1.0 / n_pos
    values = np.full(len(candidates), np.nan)
    best = None
    # BLAS at one thread over the whole search (statoptim/_threads.py): the fits are
    # small, and threads only lose on them (20x CPU time measured on a loaded machine)
    with single_blas_thread():
        for i, (_, interior) in enumerate(candidates):
            t = _full_knots(interior, low, high, degree)
            n_coef = 1 + n_linear + interior.size + degree
            identified = n_coef <= n_rows and _spline_identified(w_unique, t, degree)
            if not identified:
                if len(candidates) == 1 or i == 0:
                    _raise_unidentified(col, interior, degree, n_coef, n_rows)
                continue
            result, objective, total = solve(t)
            if objective is not None:
                with np.errstate(divide="ignore"):  # a perfect fit has criterion -inf
                    values[i] = np.log(objective / total) + penalty * n_coef
            if best is None or values[i] < values[best[0]]:
                best = (i, t, result)
    _, t, result = best
    return KnotSearch(t, result, np.array([k for k, _ in candidates], dtype=np.intp), values,
                      low, high)


def centred_spline(t, degree, spline, W, w):
    """Shift the B-spline coefficients so that ``g`` has weighted mean 0 over ``W``.

    Returns the shifted coefficients and the shift (the basis sums to one,
    so subtracting ``shift`` from every coefficient moves ``g`` by it).
    """
    shift = float(np.sum(w * (_basis(W, t, degree) @ spline)) / np.sum(w))
    return spline - shift, shift


def set_spline_attributes(est, search, degree, spline):
    """``g_``, ``spline_coef_``, knots and criterion attributes of a fitted estimator.

    ``spline`` has shape (n_basis,) or (n_basis, n_quantiles); ``g_`` is then
    scalar- or vector-valued accordingly.
    """
    t = search.t
    est.spline_coef_ = spline if spline.ndim == 1 else spline.T.copy()
    est.g_ = BSpline(t, spline, degree, extrapolate=True)
    est.knots_ = t[degree + 1:t.size - degree - 1].copy()
    est.boundary_knots_ = np.array([search.low, search.high])
    est.n_knots_ = int(est.knots_.size)
    est.knot_grid_ = search.knot_grid
    est.criterion_values_ = search.values


def _raise_unidentified(col, interior, degree, n_coef, n_samples):
    if n_coef > n_samples:
        raise ValueError(
            f"the partially linear model has {n_coef} coefficients (intercept, linear "
            f"columns, {interior.size} knots + degree {degree}) but only {n_samples} rows "
            f"with positive weight; use fewer knots (n_knots, knots) or a lower degree"
        )
    raise ValueError(
        f"the B-spline basis of the spline column (X column {col}) with knots "
        f"{np.round(interior, 6).tolist()} and degree {degree} is not identified: too few "
        f"distinct values of the column lie between the knots (Schoenberg-Whitney); use "
        f"fewer knots (n_knots, knots) or a lower degree"
    )


class PartiallyLinearQuantileRegressor(RegressorMixin, BaseEstimator):
    """Partially linear quantile regression: linear in X, a B-spline in one column W.

    Fits the ``q``-th conditional quantile ``Q_q(y | Z, W) = b + Z'theta + g(W)``,
    with ``W`` the column ``spline_column`` of ``X``, ``Z`` the other columns
    and ``g`` a B-spline of degree ``degree`` (He & Shi 1996; Koenker 2005,
    section 7.2). The check loss is minimised over ``(b, theta, g)`` on the
    design ``[1, Z, B_1(W), ..., B_m(W)]`` (the first basis function is
    dropped: the basis sums to one, so with the intercept it would be
    redundant) by the package's exact solver
    (:func:`statoptim.quantile.solve_quantile`): the fit is an exact
    solution of the linear program, the same estimator as R's
    ``rq(y ~ z + bs(w, knots = ..., degree = ...))``. Afterwards ``g`` is
    centred: its (weighted) mean over the training rows is 0 and the level
    is in ``intercept_``.

    The boundary knots are the smallest and largest ``W`` on the rows with
    positive weight. The interior knots are ``knots`` if given, otherwise
    ``n_knots`` of them at the quantiles ``j / (n_knots + 1)`` of ``W`` (as
    R's ``bs(w, df = n_knots + degree)``; tied quantiles are merged). With
    ``n_knots="auto"`` the number is chosen from ``0, 1, ..., max_knots`` by
    Schwarz's criterion as Koenker uses it for ``rqss`` and quantile splines,

        ``SIC(K) = log(mean_w rho_q(r)) + log(n) / (2 n) * p(K)``,

    where ``mean_w rho_q(r)`` is the weighted mean check loss of the fit with
    ``K`` knots, ``n`` the number of rows with positive weight and ``p(K)``
    the number of coefficients (``1 + n_Z + K + degree``, the number of rows
    an exact fit interpolates). ``criterion="aic"`` uses ``p(K) / n`` as the
    penalty instead. Knot numbers whose basis is not identified by the
    distinct values of ``W`` (too few of them between knots) are skipped.

    Parameters
    ----------
    quantile : float in (0, 1), default=0.5
        The quantile to fit (one level; fit several estimators for several).
    spline_column : int, default=0
        Index of the column of ``X`` that enters through the spline (negative
        indices count from the end). The other columns enter linearly.
    n_knots : "auto" or int >= 0, default="auto"
        Number of interior knots at quantiles of ``W``, or ``"auto"`` to choose
        it by ``criterion``. Ignored when ``knots`` is given (it must then be
        ``"auto"`` or ``len(knots)``).
    degree : int >= 0, default=3
        Degree of the spline (3: cubic, 1: piecewise linear, 0: step function).
    knots : array-like of float, default=None
        Interior knots, strictly increasing and strictly inside the range of
        ``W`` on the training rows with positive weight.
    max_knots : int >= 0, default=None
        Largest number of knots tried by ``n_knots="auto"``; None means
        ``ceil(n^(1/3))`` (10 at n = 1000, 13 at n = 2000), and never more
        coefficients than rows.
    criterion : {"sic", "aic"}, default="sic"
        Criterion of ``n_knots="auto"``: Schwarz (``log(n) / (2 n)`` per
        coefficient) or Akaike (``1 / n`` per coefficient).
    tol, max_iter, max_pivots, preprocess, random_state
        As in :class:`statoptim.QuantileRegressor`, for each fit.

    Attributes
    ----------
    coef_ : ndarray of shape (n_features - 1,)
        Coefficients ``theta`` of the linear columns, in the order of ``X``
        without ``spline_column``.
    intercept_ : float
        The level ``b`` (``g`` has mean zero over the training rows).
    g_ : scipy.interpolate.BSpline
        The fitted ``g``, centred; ``g_(w)`` evaluates it (the polynomial end
        pieces continue it outside the boundary knots).
    spline_coef_ : ndarray of shape (n_knots_ + degree + 1,)
        The B-spline coefficients of ``g_`` on the knots ``g_.t``.
    knots_ : ndarray of shape (n_knots_,)
        The interior knots used.
    boundary_knots_ : ndarray of shape (2,)
        The smallest and largest ``W`` of the training rows with positive weight.
    n_knots_ : int
        The number of interior knots used.
    knot_grid_ : ndarray of shape (n_candidates,)
        The numbers of knots requested when choosing (``[n_knots]`` or
        ``[len(knots)]`` otherwise).
    criterion_values_ : ndarray of shape (n_candidates,)
        The criterion at each entry of ``knot_grid_`` (NaN where the basis was
        not identified and the number was skipped).
    objective_ : float
        The minimised objective ``sum_i w_i rho_q(r_i)`` of the chosen fit.
    n_iter_, n_pivots_, status_
        MM iterations, simplex pivots and ``"optimal"``/``"inexact"`` of the
        chosen fit, as in :class:`statoptim.QuantileRegressor`.
    n_features_in_ : int
        Number of columns of ``X`` seen during ``fit``.

    See Also
    --------
    statoptim.QuantileRegressor : the linear model.
    statoptim.ipcw_weights : with ``fit(X, y, sample_weight=ipcw_weights(y, event))``
        this estimator is the Bang-Tsiatis inverse-probability-weighted fit of a
        right-censored response (censoring independent of the covariates).

    References
    ----------
    He, X. and Shi, P. (1996). Bivariate tensor-product B-splines in a partly
    linear model. J. Multivariate Anal. 58, 162-181.
    Koenker, R. (2005). Quantile Regression. Cambridge University Press.
    Koenker, R., Ng, P. and Portnoy, S. (1994). Quantile smoothing splines.
    Biometrika 81, 673-680.
    Schwarz, G. (1978). Estimating the dimension of a model. Ann. Statist. 6, 461-464.

    Examples
    --------
    >>> import numpy as np
    >>> from statoptim import PartiallyLinearQuantileRegressor
    >>> rng = np.random.default_rng(0)
    >>> n = 1000
    >>> X = np.column_stack([rng.uniform(0, 1, n), rng.standard_normal(n)])
    >>> y = 2 * X[:, 1] + np.sin(2 * np.pi * X[:, 0]) + 0.3 * rng.standard_normal(n)
    >>> model = PartiallyLinearQuantileRegressor(0.5, spline_column=0).fit(X, y)
    >>> model.coef_.round(1)  # truth 2
    array([2.])
    >>> grid = np.linspace(0.1, 0.9, 5)
    >>> bool(np.max(np.abs(model.g_(grid) - np.sin(2 * np.pi * grid))) < 0.15)
    True
    >>> model.n_knots_ >= 1, model.status_
    (True, 'optimal')
    """

    def __init__(self, quantile: float = 0.5, *, spline_column: int = 0,
                 n_knots: Literal["auto"] | int = "auto", degree: int = 3,
                 knots: ArrayLike | None = None, max_knots: int | None = None,
                 criterion: Literal["sic", "aic"] = "sic", tol: float = 1e-5, max_iter: int = 1000,
                 max_pivots: int | None = None,
                 preprocess: Literal["auto"] | bool = "auto",
                 random_state: int | np.random.Generator | None = 0) -> None:
        self.quantile = quantile
        self.spline_column = spline_column
        self.n_knots = n_knots
        self.degree = degree
        self.knots = knots
        self.max_knots = max_knots
        self.criterion = criterion
        self.tol = tol
        self.max_iter = max_iter
        self.max_pivots = max_pivots
        self.preprocess = preprocess
        self.random_state = random_state

    def fit(self, X: ArrayLike, y: ArrayLike,
            sample_weight: ArrayLike | None = None) -> PartiallyLinearQuantileRegressor:
        """Fit the partially linear quantile regression.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            Covariates, finite; column ``spline_column`` is ``W``.
        y : array-like of shape (n_samples,)
            Responses, finite.
        sample_weight : array-like of shape (n_samples,), default=None
            Non-negative weights of the check loss (rows with weight 0 are
            dropped, also from the knot placement; the knots are quantiles of
            ``W`` over the other rows, unweighted, as in R's ``bs``).

        Returns
        -------
        self : PartiallyLinearQuantileRegressor
            The fitted estimator.
        """
        with np.errstate(invalid="ignore", over="ignore"):  # sklearn sums +-inf first
            X, y = validate_named(self, X, y, dtype=np.float64, order="C", y_numeric=True)
        if y.dtype.kind not in "biuf":  # y_numeric converts object arrays only
            raise ValueError(f"y must be a 1-D array of numbers, got dtype {y.dtype}")
        y = np.ascontiguousarray(y, dtype=np.float64)
        quantiles, scalar = check_quantile_levels(self.quantile)
        if not scalar:
            raise ValueError(
                f"quantile must be a single number in (0, 1) for "
                f"PartiallyLinearQuantileRegressor (the knots are chosen per quantile), got "
                f"{_describe(self.quantile)}; fit one estimator per quantile"
            )
        q = float(quantiles[0])
        n_features = X.shape[1]
        col = _check_spline_column(self.spline_column, n_features)
        settings = check_spline_settings(self.degree, self.n_knots, self.max_knots,
                                         self.criterion)
        solver_args = {
            "tol": check_tol(self.tol),
            "max_iter": check_count(self.max_iter, "max_iter"),
            "max_pivots": None if self.max_pivots is None else check_count(self.max_pivots,
                                                                         "max_pivots"),
            "preprocess": check_preprocess(self.preprocess),
            "random_state": self.random_state,
        }
        check_random_state(self.random_state)
        w = check_weights(sample_weight, X.shape[0])
        keep = w > 0
        if not keep.all():
            X, y, w = X[keep], y[keep], w[keep]
        W = np.ascontiguousarray(X[:, col])
        Z = np.delete(X, col, axis=1)
        n_samples, n_linear = Z.shape
        if n_samples < 2:
            raise ValueError(
                f"PartiallyLinearQuantileRegressor needs at least 2 samples with positive "
                f"weight, got n_samples = {n_samples}"
            )
        base = np.empty((n_samples, 1 + n_linear))
        base[:, 0] = 1.0
        base[:, 1:] = Z
        degree = settings.degree

        def solve(t):
            design = np.hstack([base, spline_basis(W, t, degree)])
            sol = _solve(np.ascontiguousarray(design), y, w, q, theta0=None,
                         design=_DESIGN, intercept=True, **solver_args)
            return sol, sol.objective, np.sum(w)

        search = search_knots(W, self.knots, settings, n_linear, col, solve)
        sol = search.result
        self._warn_unconverged(sol, q)

        theta = sol.coef
        spline, shift = centred_spline(search.t, degree,
                                       np.concatenate([[0.0], theta[1 + n_linear:]]), W, w)
        self.intercept_ = float(theta[0] + shift)
        self.coef_ = theta[1:1 + n_linear].copy()
        set_spline_attributes(self, search, degree, spline)
        self.objective_ = float(sol.objective)
        self.n_iter_, self.n_pivots_, self.status_ = int(sol.n_iter), int(sol.n_pivots), sol.status
        self._spline_column = col
        return self

    def _warn_unconverged(self, res, quantile):
        if res.mm_capped:
            warnings.warn(
                f"PartiallyLinearQuantileRegressor: the MM iteration for quantile {quantile:g} "
                f"hit max_iter={self.max_iter} after {res.n_iter} iterations; the exact finish "
                f"then took {res.n_pivots} simplex pivots. Increase max_iter or tol.",
                ConvergenceWarning, stacklevel=3,
            )
        if res.status != "optimal":
            warnings.warn(
                f"PartiallyLinearQuantileRegressor: the exact finish for quantile "
                f"{quantile:g} stopped after {res.n_pivots} simplex pivots ({res.status}); the "
                f"coefficients are the best point found, not a certified optimum. Increase "
                f"max_pivots.",
                ConvergenceWarning, stacklevel=3,
            )

    def partial_dependence(self, w: ArrayLike) -> np.ndarray:
        """The fitted (centred) function ``g`` at new values of the spline column.

        Parameters
        ----------
        w : array-like of shape (n_points,)
            Values of ``W``, finite. Outside ``boundary_knots_`` the polynomial
            end pieces are continued (extrapolation, to be used with care).

        Returns
        -------
        g : ndarray of shape (n_points,)
            ``g_(w)``; ``predict`` adds ``intercept_ + Z'coef_`` to it.
        """
        check_is_fitted(self)
        arr = as_float_array(w, "w", expected="a 1-D array of numbers")
        if arr.ndim != 1:
            raise ValueError(f"w must be a 1-D array of values of the spline column, got "
                             f"shape {arr.shape}")
        if not np.all(np.isfinite(arr)):
            raise ValueError("w must be finite, got NaN or infinite value(s)")
        return self.g_(arr)

    def predict(self, X: ArrayLike) -> np.ndarray:
        """Predict the conditional quantile ``intercept_ + Z'coef_ + g_(W)``.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)

        Returns
        -------
        y_pred : ndarray of shape (n_samples,)
        """
        check_is_fitted(self)
        with np.errstate(invalid="ignore", over="ignore"):  # sklearn sums +-inf first
            X = validate_named(self, X, dtype=np.float64, reset=False)
        col = self._spline_column
        Z = np.delete(X, col, axis=1)
        return self.intercept_ + Z @ self.coef_ + self.g_(X[:, col])

    def score(self, X: ArrayLike, y: ArrayLike, sample_weight: ArrayLike | None = None) -> float:
        """Coefficient of determination R^2 of the prediction (as every scikit-learn regressor).

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
        y : array-like of shape (n_samples,)
        sample_weight : array-like of shape (n_samples,), default=None

        Returns
        -------
        score : float
        """
        return r2_score_scaled(y, self.predict(X), sample_weight)
