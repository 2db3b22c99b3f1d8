"""Scikit-learn compatible quantile regression estimators."""
from __future__ import annotations

import warnings
from collections.abc import Sequence
from typing import Literal

import numpy as np
from numpy.typing import ArrayLike
from sklearn.base import BaseEstimator, RegressorMixin
from sklearn.utils.validation import check_is_fitted, validate_data

from statoptim._validation import (
    _describe,
    check_random_state,
    is_ready_float64,
    validate_named,
)
from statoptim.exceptions import ConvergenceWarning
from statoptim.quantile._checks import (
    check_count,
    check_flag,
    check_preprocess,
    check_quantile_levels,
    check_tol,
    check_weights,
)
from statoptim.quantile._distributed import is_dask_array, solve_quantile_dask
from statoptim.quantile._inference import QuantileSummary, summarize
from statoptim.quantile._loss import r2_score_scaled
from statoptim.quantile._process import fit_process, rearrange
from statoptim.quantile._solver import _solve

__all__ = ["QuantileRegressor"]


class QuantileRegressor(RegressorMixin, BaseEstimator):
    """Linear quantile regression, solved exactly by MM and simplex pivots.

    Minimises ``sum_i w_i rho_q(y_i - x_i'beta - b)`` with the check loss
    ``rho_q(r) = r (q - I(r < 0))``. The solver runs the majorise-minimise
    iteration of Hunter & Lange (2000) with a continuation in the perturbation
    ``eps``, then finishes with simplex pivots from the basis of the smallest
    residuals until Koenker's optimality certificate holds: the coefficients
    returned are an exact solution of the linear program (to rounding), not a
    smoothed approximation. For large ``n_samples`` the Portnoy-Koenker
    preprocessing solves a reduced problem whose answer is verified on, and
    exact for, the full data.

    Parameters
    ----------
    quantile : float, sequence of float in (0, 1), or "all", default=0.5
        The quantile(s) to fit. A sequence fits every quantile in one call
        (each warm-started from its neighbour); ``coef_`` then has one row per
        quantile, in the order given. ``"all"`` fits the whole
        regression-quantile process, as R's ``rq(tau = -1)``: every distinct
        solution over ``tau`` in [0, 1], exactly, by parametric linear
        programming from the exact solution at ``tau = 1/2`` (Koenker &
        d'Orey 1987; Koenker 2005, section 6.3). The solution is piecewise
        constant in ``tau``; ``coef_`` has one row per piece, ``quantiles_``
        holds where each piece takes over (``quantiles_[0] = 0``) and
        ``process_`` the whole path (about ``1.3 n`` pieces for ``p = 3``).
    fit_intercept : bool, default=True
        Whether to fit an intercept (it is not penalised; there is no penalty).
    tol : float, default=1e-5
        Relative decrease of the smoothed MM objective below which a
        continuation stage stops. The exact finish makes the result exact
        whatever ``tol`` is; a smaller ``tol`` means more MM iterations and
        fewer simplex pivots.
    max_iter : int, default=1000
        Cap on the total number of MM iterations per quantile (all
        continuation stages together). Reaching it raises a
        ``ConvergenceWarning``; the exact finish still runs.
    max_pivots : int, default=None
        Cap on the simplex pivots of the exact finish per quantile; ``None``
        means ``10 * (n_samples + n_features) + 100``. If it is reached, the best
        point found is returned with a ``ConvergenceWarning``. With
        ``quantile="all"``: the cap on the pivots of the process (``None``
        means ``200 (n_samples + n_features) + 1000``); if it is reached, the
        process stops short of [0, 1] with a ``ConvergenceWarning``.
    preprocess : {"auto", True, False}, default="auto"
        Portnoy-Koenker preprocessing (solve on a subsample, merge rows whose
        residual signs are settled, verify, repeat). ``"auto"`` uses it when
        ``n_samples >= max(10000, 1000 * n_features)`` (where it measured faster).
    random_state : None, int >= 0 or numpy Generator, default=0
        Seeds the subsample of the preprocessing. The fit is the exact optimum
        whatever the seed; when the optimum is not unique (several optimal
        vertices, e.g. ``n * quantile`` an integer), the seed can pick which one
        is returned. The default 0 makes every fit reproducible.

    Attributes
    ----------
    coef_ : ndarray of shape (n_features,) or (n_quantiles, n_features)
        Slope coefficients; 2-D when ``quantile`` is a sequence or ``"all"``
        (then one row per piece of the process).
    intercept_ : float or ndarray of shape (n_quantiles,)
        Intercepts (0 when ``fit_intercept=False``).
    quantiles_ : ndarray of shape (n_quantiles,)
        The quantile levels of the rows of ``coef_``: the levels fitted, or,
        for ``quantile="all"``, the breakpoints where each piece of the
        process takes over (piece ``j`` is optimal on
        ``[quantiles_[j], quantiles_[j + 1]]``, the last one up to 1).
    process_ : QuantileProcess
        Only with ``quantile="all"``: breakpoints (0 to 1), the solution,
        objective and interpolated rows of each piece; ``process_(tau)``
        (or ``coef_at(tau)``) evaluates it at any levels and
        ``predict(X, quantile=tau)`` predicts there, without refitting.
    n_iter_ : int or ndarray of shape (n_quantiles,)
        MM iterations used (pivots are in ``n_pivots_``).
    n_pivots_ : int or ndarray of shape (n_quantiles,)
        Simplex pivots of the exact finish (with ``"all"``: of the start at
        ``tau = 1/2`` and of the process).
    objective_ : float or ndarray of shape (n_quantiles,)
        The minimised objective ``sum_i w_i rho_q(r_i)`` (``pinball_loss`` with
        ``reduce="sum"``); ``inf`` only when its true value exceeds the float64
        range. (A coefficient outside that range makes ``fit`` raise instead.)
        With ``"all"``: at each breakpoint ``quantiles_[j]``.
    status_ : str or list of str
        ``"optimal"`` when the optimality certificate holds, ``"inexact"`` when
        the pivot cap was reached (with ``"all"``: one string for the process).
    n_features_in_ : int
        Number of features seen during ``fit``.

    Examples
    --------
    >>> import numpy as np
    >>> from statoptim import QuantileRegressor
    >>> rng = np.random.default_rng(0)
    >>> X = rng.standard_normal((500, 2))
    >>> y = 4.5 * X[:, 0] - 2 * X[:, 1] + rng.standard_normal(500)
    >>> model = QuantileRegressor(quantile=[0.25, 0.5, 0.75]).fit(X, y)
    >>> model.coef_.shape
    (3, 2)
    >>> process = QuantileRegressor(quantile="all").fit(X, y)
    >>> bool(process.quantiles_[0] == 0.0), process.coef_.shape == (len(process.quantiles_), 2)
    (True, True)

    References
    ----------
    Hunter, D. R. and Lange, K. (2000). Quantile regression via an MM algorithm.
    J. Comput. Graph. Statist. 9, 60-77.
    Chernozhukov, V., Fernandez-Val, I. and Galichon, A. (2010). Quantile and
    probability curves without crossing. Econometrica 78, 1093-1125.
    Koenker, R. (2005). Quantile Regression. Cambridge University Press.
    Koenker, R. and d'Orey, V. (1987). Computing regression quantiles.
    J. Roy. Statist. Soc. C 36, 383-393.
    Portnoy, S. and Koenker, R. (1997). The Gaussian hare and the Laplacian
    tortoise. Statist. Sci. 12, 279-300.
    """

    def __init__(self, quantile: float | Sequence[float] | Literal["all"] = 0.5, *,
                 fit_intercept: bool = True, tol: float = 1e-5, max_iter: int = 1000,
                 max_pivots: int | None = None,
                 preprocess: Literal["auto"] | bool = "auto",
                 random_state: int | np.random.Generator | None = 0) -> None:
        self.quantile = quantile
        self.fit_intercept = fit_intercept
        self.tol = tol
        self.max_iter = max_iter
        self.max_pivots = max_pivots
        self.preprocess = preprocess
        self.random_state = random_state

    def fit(self, X: ArrayLike, y: ArrayLike,
            sample_weight: ArrayLike | None = None) -> QuantileRegressor:
        """Fit the quantile regression.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            Covariates, finite.
        y : array-like of shape (n_samples,)
            Responses, finite.
        sample_weight : array-like of shape (n_samples,), default=None
            Non-negative weights (rows with weight 0 are dropped). A weight of
            2 is equivalent to duplicating the row.

        Returns
        -------
        self : QuantileRegressor
            The fitted estimator.
        """
        if is_dask_array(X):
            return self._fit_dask(X, y, sample_weight)
        X, y = self._validate_X_y(X, y)
        process = _is_process(self.quantile)
        if not process:
            quantiles, scalar = check_quantile_levels(self.quantile)
        tol = check_tol(self.tol)
        max_iter = check_count(self.max_iter, "max_iter")
        max_pivots = None if self.max_pivots is None else check_count(self.max_pivots,
                                                                       "max_pivots")
        preprocess = check_preprocess(self.preprocess)
        fit_intercept = check_flag(self.fit_intercept, "fit_intercept")
        check_random_state(self.random_state)
        w = check_weights(sample_weight, X.shape[0])
        # kept for summary(): references to the validated arrays, not copies
        self._training_data = (X, y, w)

        keep = w > 0
        if not keep.all():
            X, y, w = X[keep], y[keep], w[keep]
        n_samples, n_features = X.shape
        n_coef = n_features + int(fit_intercept)
        if n_coef == 0:
            raise ValueError(
                "X has no columns and fit_intercept=False: there is nothing to fit"
            )
        if n_samples < n_coef:
            raise ValueError(
                f"X must have at least as many samples with positive weight as coefficients "
                f"to fit ({n_coef}), got n_samples = {n_samples}"
            )

        if process:
            Z = X
            if fit_intercept:
                Z = np.empty((n_samples, n_coef))
                Z[:, 0] = 1.0
                Z[:, 1:] = X
            return self._fit_process(Z, y, w, keep, tol, max_iter, max_pivots, preprocess,
                                     fit_intercept)
        self.__dict__.pop("process_", None)
        self.quantiles_ = quantiles.copy()

        def solve_at(q, theta):  # the design [1, X] is never materialised (ones=fit_intercept)
            return _solve(X, y, w, q, theta0=theta, tol=tol, max_iter=max_iter,
                          max_pivots=max_pivots, preprocess=preprocess,
                          random_state=self.random_state, ones=fit_intercept)

        solved = self._solve_each(quantiles, n_coef, solve_at, stacklevel=4)
        return self._store(*solved, scalar, fit_intercept)

    def _validate_X_y(self, X, y):
        """``X`` and ``y`` as C-contiguous float64 (no copy when they already are)."""
        if is_ready_float64(X, y):
            validate_data(self, X, y, skip_check_array=True)  # n_features_in_, names
            return X, np.ascontiguousarray(y)
        with np.errstate(invalid="ignore", over="ignore"):  # sklearn sums +-inf first
            X, y = validate_named(self, X, y, dtype=np.float64, order="C", y_numeric=True)
        if y.dtype.kind not in "biuf":  # y_numeric converts object arrays only
            raise ValueError(f"y must be a 1-D array of numbers, got dtype {y.dtype}")
        return X, np.ascontiguousarray(y, dtype=np.float64)

    def _solve_each(self, quantiles, n_coef, solve_at, stacklevel):
        """``solve_at(q, theta)`` at each quantile, increasing, warm-started at the previous.

        Returns the coefficients (one row per quantile, in the given order), the
        counts, objectives and statuses; ``stacklevel`` of the warnings names the
        caller of ``fit``.
        """
        coefs = np.empty((quantiles.size, n_coef))
        n_iter = np.zeros(quantiles.size, dtype=np.intp)
        n_pivots = np.zeros(quantiles.size, dtype=np.intp)
        objective = np.empty(quantiles.size)
        status = [""] * quantiles.size
        theta = None
        for k in np.argsort(quantiles, kind="stable"):
            res = solve_at(quantiles[k], theta)
            theta = res.coef
            coefs[k], n_iter[k], n_pivots[k] = res.coef, res.n_iter, res.n_pivots
            objective[k], status[k] = res.objective, res.status
            self._warn_unconverged(res, quantiles[k], stacklevel)
        return coefs, n_iter, n_pivots, objective, status

    def _warn_unconverged(self, res, quantile, stacklevel):
        if res.mm_capped:
            warnings.warn(
                f"QuantileRegressor: the MM iteration for quantile {quantile:g} hit "
                f"max_iter={self.max_iter} after {res.n_iter} iterations; the exact "
                f"finish then took {res.n_pivots} simplex pivots. Increase max_iter or tol "
                f"to silence this.",
                ConvergenceWarning,
                stacklevel=stacklevel,
            )
        if res.status != "optimal":
            warnings.warn(
                f"QuantileRegressor: the exact finish for quantile {quantile:g} "
                f"stopped after {res.n_pivots} simplex pivots ({res.status}); the "
                f"returned coefficients are the best point found, not a certified "
                f"optimum. Increase max_pivots.",
                ConvergenceWarning,
                stacklevel=stacklevel,
            )

    def _fit_dask(self, X, y, sample_weight):
        """``fit`` on a ``dask.array`` ``X`` chunked by rows, never gathering it.

        The distributed Portnoy-Koenker passes of
        :func:`statoptim.quantile._distributed.solve_quantile_dask`; the answer
        is the same exact optimum as in memory. ``y`` and ``sample_weight`` may
        be dask or NumPy arrays. ``summary()`` then needs ``X`` and ``y`` in
        memory, passed explicitly.
        """
        if _is_process(self.quantile):
            raise ValueError("quantile='all' (the whole process) needs X in memory; it is "
                             "not available for a dask array")
        quantiles, scalar = check_quantile_levels(self.quantile)
        tol = check_tol(self.tol)
        max_iter = check_count(self.max_iter, "max_iter")
        max_pivots = None if self.max_pivots is None else check_count(self.max_pivots,
                                                                       "max_pivots")
        check_preprocess(self.preprocess)  # always preprocessed: it is what distributes
        fit_intercept = check_flag(self.fit_intercept, "fit_intercept")
        if X.ndim == 2 and X.shape[1] == 0 and not fit_intercept:
            raise ValueError("X has no columns and fit_intercept=False: there is nothing to fit")
        self.__dict__.pop("process_", None)
        self.__dict__.pop("feature_names_in_", None)
        self._training_data = None
        n_coef = X.shape[1] + int(fit_intercept) if X.ndim == 2 else 0
        self.quantiles_ = quantiles.copy()

        def solve_at(q, theta):
            return solve_quantile_dask(X, y, sample_weight, float(q), fit_intercept=fit_intercept,
                                       tol=tol, max_iter=max_iter, max_pivots=max_pivots,
                                       random_state=_seed(self.random_state), theta0=theta)

        solved = self._solve_each(quantiles, n_coef, solve_at, stacklevel=5)
        self.n_features_in_ = int(X.shape[1])
        return self._store(*solved, scalar, fit_intercept)

    def _store(self, coefs, n_iter, n_pivots, objective, status, scalar, fit_intercept):
        """Set the fitted attributes from one row of coefficients per quantile."""
        quantiles = self.quantiles_
        if fit_intercept:
            intercept, coef = coefs[:, 0], coefs[:, 1:]
        else:
            intercept, coef = np.zeros(quantiles.size), coefs
        if scalar:
            self.coef_, self.intercept_ = coef[0], float(intercept[0])
            self.n_iter_, self.n_pivots_ = int(n_iter[0]), int(n_pivots[0])
            self.objective_, self.status_ = float(objective[0]), status[0]
        else:
            self.coef_, self.intercept_ = coef, intercept
            self.n_iter_, self.n_pivots_ = n_iter, n_pivots
            self.objective_, self.status_ = objective, status
        return self

    def _fit_process(self, Z, y, w, keep, tol, max_iter, max_pivots, preprocess,
                     fit_intercept):
        """``fit`` with ``quantile="all"``: the whole regression-quantile process."""
        rows = None if keep.all() else np.flatnonzero(keep)
        proc, start, status = fit_process(
            Z, y, w, tol=tol, max_iter=max_iter, max_pivots=max_pivots,
            preprocess=preprocess, intercept=fit_intercept, rows=rows,
        )
        if start.mm_capped:
            warnings.warn(
                f"QuantileRegressor: the MM iteration for the start of the process (quantile "
                f"0.5) hit max_iter={self.max_iter} after {start.n_iter} iterations; the "
                f"exact finish then took {start.n_pivots} simplex pivots.",
                ConvergenceWarning,
                stacklevel=3,
            )
        if status != "done":
            why = ("max_pivots" if status == "pivot cap"
                   else "a numerically singular basis")
            warnings.warn(
                f"QuantileRegressor: the quantile process stopped after {proc.n_pivots} "
                f"pivots ({why}); it covers quantiles [{proc.breakpoints[0]:.6g}, "
                f"{proc.breakpoints[-1]:.6g}] only. Increase max_pivots.",
                ConvergenceWarning,
                stacklevel=3,
            )
        coefs = proc.coef
        if fit_intercept:
            self.intercept_, self.coef_ = coefs[:, 0].copy(), coefs[:, 1:].copy()
        else:
            self.intercept_, self.coef_ = np.zeros(proc.n_pieces), coefs.copy()
        self.quantiles_ = proc.breakpoints[:-1].copy()
        self.objective_ = proc.objective.copy()
        self.n_iter_ = int(start.n_iter)
        self.n_pivots_ = int(start.n_pivots + proc.n_pivots)
        self.status_ = "optimal" if status == "done" else "inexact"
        self.process_ = proc
        return self

    def summary(self, X: ArrayLike | None = None, y: ArrayLike | None = None,
                sample_weight: ArrayLike | None = None, *,
                se: Literal["rank", "nid", "iid", "ker", "boot"] | None = None, alpha: float = 0.05,
                bandwidth: Literal["hall-sheather", "bofinger"] | float = "hall-sheather",
                n_boot: int = 200, bootstrap: Literal["xy", "wild"] = "xy",
                random_state: int | np.random.Generator | None = None,
                n_threads: int | None = None) -> QuantileSummary:
        """Standard errors, t tests and confidence intervals of the coefficients.

        By default the training data that ``fit`` kept (references to the
        validated arrays, not copies) are used. Pass ``X``, ``y`` (and
        ``sample_weight``) to use other data, e.g. after the arrays given to
        ``fit`` were modified in place; with an intercept, data that no
        optimal fit could give are detected and rejected.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features), default=None
            The covariates given to ``fit``; None uses the kept ones.
        y : array-like of shape (n_samples,), default=None
            The responses given to ``fit``; None uses the kept ones.
        sample_weight : array-like of shape (n_samples,), default=None
            With ``X`` and ``y``: the weights used in ``fit`` (without them,
            the kept weights are used). As in R's ``rq(weights = w)``, rows
            and residuals are multiplied by their weights before the
            covariance formulas (sampling-weight sandwich ``X'WFX``,
            ``X'W^2X``).
        se : {"rank", "nid", "iid", "ker", "boot"} or None, default=None
            None chooses as R does: ``"rank"`` below 1001 samples, else
            ``"nid"``.
            ``"iid"``: Koenker-Bassett ``tau (1 - tau) s^2 (X'X)^{-1}``, the
            sparsity ``s`` from the empirical quantile function of the
            residuals (Koenker 2005, section 3.4.1). ``"nid"``: the
            Hendricks-Koenker sandwich, densities from refits at
            ``tau +- h`` (section 3.4.2). ``"ker"``: Powell's (1991) kernel
            sandwich. ``"boot"``: bootstrap covariance (``bootstrap``).
            ``"rank"``: intervals from inverting the regression rank-score
            test (Koenker 1994; section 3.5.5), exact parametric
            programming, O(n^1.5) pivots; no standard errors (``bse`` is
            NaN), p-values of the rank test. Each matches R's
            ``quantreg::summary.rq(se = ...)`` (R's default for n < 1001 is
            ``"rank"``, else ``"nid"``).
        alpha : float in (0, 1), default=0.05
            ``conf_int`` has level ``1 - alpha``.
        bandwidth : {"hall-sheather", "bofinger"} or float in (0, 1)
            Bandwidth of the sparsity estimates for ``"iid"``, ``"nid"`` and
            ``"ker"``: Hall & Sheather (1988) (R's ``hs = TRUE``), Bofinger
            (1975) (``hs = FALSE``), or ``h`` itself on the quantile scale.
            ``h`` is halved until ``tau +- h`` lies in (0, 1) (not for
            ``"iid"``, where it sets a band of ranks).
        n_boot : int >= 2, default=200
            Bootstrap replicates (``se="boot"``).
        bootstrap : {"xy", "wild"}, default="xy"
            ``"xy"``: resample rows (with their weights); ``"wild"``: the wild
            bootstrap of Feng, He & Hu (2011).
        random_state : int, Generator or None, default=None
            Seed of the bootstrap; the result does not depend on ``n_threads``.
        n_threads : int, default=None
            Threads for the bootstrap replicates; None uses every available
            CPU (the solver releases the GIL; measured 1.5-2x faster on 2
            cores at n = 2000).

        Returns
        -------
        QuantileSummary
            ``coef``, ``bse``, ``tvalues``, ``pvalues``, ``conf_int``, ``cov``
            (intercept first; a leading quantile axis for several quantiles),
            a printable table and ``to_frame()``.
        """
        check_is_fitted(self)
        if hasattr(self, "process_"):
            raise ValueError(
                "summary() needs the quantiles chosen in advance, but this model was fitted "
                "with quantile='all' (the process, whose pieces are not unique at their "
                "breakpoints). Refit with the quantiles of interest, e.g. "
                "QuantileRegressor(quantile=[0.1, 0.5, 0.9]), or draw the process with its "
                "confidence band by statoptim.quantile.plot_process(model)"
            )
        if (X is None) != (y is None):
            raise ValueError(
                "X and y must be given together (or both left None to use the training "
                f"data kept by fit), got X={'None' if X is None else 'an array'} and "
                f"y={'None' if y is None else 'an array'}"
            )
        if X is None:
            if sample_weight is not None:
                raise ValueError("sample_weight needs X and y: without them the weights "
                                 "kept by fit are used")
            if self._training_data is None:
                raise ValueError("this model was fitted on a dask array, whose rows fit does "
                                 "not keep: pass X and y (in memory) to summary()")
            X, y, w = self._training_data
        else:
            X, y = validate_named(self, X, y, reset=False, dtype=np.float64, y_numeric=True)
            if y.dtype.kind not in "biuf":
                raise ValueError(f"y must be a 1-D array of numbers, got dtype {y.dtype}")
            y = np.ascontiguousarray(y, dtype=np.float64)
            w = check_weights(sample_weight, X.shape[0])
        if se is None:
            se = "rank" if X.shape[0] < 1001 else "nid"
        return summarize(self, X, y, w, se=se, alpha=alpha, bandwidth=bandwidth,
                         n_boot=n_boot, bootstrap=bootstrap, random_state=random_state,
                         n_threads=n_threads)

    def predict(self, X: ArrayLike, monotone: bool = False,
                quantile: float | ArrayLike | None = None) -> np.ndarray:
        """Predict conditional quantiles.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
        monotone : bool, default=False
            Rearrange the predicted quantiles of each row so that they never
            cross (Chernozhukov, Fernandez-Val & Galichon 2010): for several
            quantiles, the predictions of each row are sorted over the levels
            (in increasing order of ``quantiles_``, whatever the order of the
            columns); for the process (``quantile="all"``), the rearranged
            quantile function of the piecewise-constant predictions (each
            value carried with the length of its piece) is evaluated at the
            midpoint of each piece. Predictions that do not cross are left
            unchanged; with a single quantile there is nothing to rearrange.
            With ``quantile``: the rearranged process at those levels.
        quantile : float or array-like of float in [0, 1], default=None
            Only for a model fitted with ``quantile="all"``: predict at these
            levels from the fitted process (exact, no refit; see
            :meth:`QuantileProcess.predict`). None: the fitted quantiles.

        Returns
        -------
        y_pred : ndarray of shape (n_samples,) or (n_samples, n_quantiles)
            One column per quantile when several were fitted, one per piece
            of the process (``quantiles_``) with ``quantile="all"``; with
            ``quantile``, ``(n_samples,) + np.shape(quantile)``.
        """
        check_is_fitted(self)
        monotone = check_flag(monotone, "monotone")
        with np.errstate(invalid="ignore", over="ignore"):  # sklearn sums +-inf first
            X = validate_named(self, X, dtype=np.float64, reset=False)
        if quantile is not None:
            process = getattr(self, "process_", None)
            if process is None:
                raise ValueError(
                    f"predict(quantile=...) needs the whole process: fit with "
                    f"quantile='all' (this model was fitted with quantile={self.quantile!r}), "
                    f"or refit at the levels wanted"
                )
            Z = np.column_stack([np.ones(X.shape[0]), X]) if self.fit_intercept else X
            return process.predict(Z, quantile, monotone=monotone)
        pred = X @ np.asarray(self.coef_).T + self.intercept_
        if monotone and pred.ndim == 2:
            process = getattr(self, "process_", None)
            lengths = None if process is None else np.diff(process.breakpoints)
            pred = rearrange(pred, self.quantiles_, lengths)
        return pred

    def score(self, X: ArrayLike, y: ArrayLike, sample_weight: ArrayLike | None = None) -> float:
        """Coefficient of determination R^2 of the prediction.

        As for every scikit-learn regressor, ``1 - sum w (y - y_pred)^2 /
        sum w (y - mean_w(y))^2``. With several quantiles, the mean of the
        R^2 of each quantile's prediction column (each column is scored
        against the same ``y``). R^2 measures squared error, which quantile
        regression does not minimise; use :func:`statoptim.pinball_loss` for
        the check loss.

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


def _is_process(quantile):
    """Whether ``quantile`` asks for the whole process (``"all"``); other strings are refused."""
    if isinstance(quantile, str):
        if quantile == "all":
            return True
        raise ValueError(
            f"quantile must be a number in (0, 1), a sequence of such numbers or 'all' (the "
            f"whole regression-quantile process), got {_describe(quantile)}"
        )
    return False


def _seed(random_state):
    """An int seed (or None) for the dask fit's SeedSequence from ``random_state``."""
    check_random_state(random_state)
    if isinstance(random_state, np.random.Generator):
        return int(random_state.integers(2**63))
    return random_state
