"""``statoptim.LogisticRegression``: L2-penalised binary and multinomial (softmax)
logistic regression by Newton-Raphson, L-BFGS or compiled minibatch SGD, momentum,
RMSprop, Adam, Adamax or SWATS."""
from __future__ import annotations

from collections.abc import Callable
from typing import Any, Literal

import numpy as np
from numpy.typing import ArrayLike
from sklearn.base import BaseEstimator, ClassifierMixin
from sklearn.utils.metaestimators import available_if
from sklearn.utils.validation import check_is_fitted

from statoptim._threads import single_blas_thread
from statoptim._validation import (
    _describe,
    check_flag,
    check_real,
    check_sparse_structure,
    validate_named,
)
from statoptim.optim._inference import LogisticSummary
from statoptim.optim._logistic_checks import (
    FULL_BATCH,
    MULTINOMIAL_SOLVERS,
    _check_stochastic_scale,
    _LogisticChecks,
    resolve_solver,
)
from statoptim.optim._logistic_fullbatch import _FullBatchFit
from statoptim.optim._logistic_minibatch import _MinibatchFit
from statoptim.optim._stochastic import SoftmaxEpochRunner

__all__ = ["LogisticRegression"]

def _is_stochastic(est):
    return est.solver not in FULL_BATCH



class LogisticRegression(_FullBatchFit, _MinibatchFit, _LogisticChecks, ClassifierMixin,
                         BaseEstimator):
    """Logistic regression (binary, or multinomial for three or more classes) with
    unpenalised intercepts and a ridge penalty.

    Minimises ``F(theta) = mean_i [log(1 + exp(eta_i)) - y_i eta_i]
    + alpha/2 ||coef||^2`` with ``eta_i = intercept + x_i . coef``. scikit-learn's
    ``LogisticRegression(C=C)`` is ``alpha = 1 / (n_samples * C)``; ``SGDClassifier``
    uses the same ``alpha``. With K >= 3 classes the model is the softmax
    ``P(y = k | x) = exp(eta_k) / sum_l exp(eta_l)``, ``eta_k = b_k + x . W_k``, and F is
    the mean cross-entropy plus ``alpha/2 ||W||_F^2`` (scikit-learn's multinomial
    objective at ``C = 1 / (alpha n_samples)``), for every solver.

    Parameters
    ----------
    solver : {"auto", "newton", "lbfgs", "sgd", "momentum", "rmsprop", "adam", \
            "adamax", "swats"}, default="auto"
        "auto": "newton" when n_features + 1 <= 25, "lbfgs" otherwise; the choice is
        stored in ``solver_``. A Newton iteration costs ~n p^2 (the Hessian) and an
        L-BFGS one ~4 n p (one pass for F and its gradient), with ~5-8 Newton against
        ~10-100 L-BFGS iterations: measured on the talk's design, Newton is faster
        up to p ~ 20 and L-BFGS 2-5x faster at p = 99, on 10^6 x 100 and on MNIST
        0 vs 6 (BENCHMARKS.md). Both give the same minimiser; at alpha = 0 both
        check separation.
        "newton": damped Newton-Raphson with a Cholesky solve and a backtracking line
        search (full batch). "lbfgs": SciPy's L-BFGS on the compiled one-pass
        objective (for large n_features, where a p x p Cholesky per step is too
        dear). The others run compiled minibatch epochs; the
        penalty is coupled (added to every minibatch gradient), so their fixed point
        is the same minimiser of F. "swats": Adam that switches for good to SGD with
        momentum ``beta1`` once its projected learning rate settles (Keskar & Socher
        2017; the rule of :class:`statoptim.optim.SWATS`); the epoch of the switch is
        ``switch_epoch_``. For three or more classes "auto" is "lbfgs"; "newton" forms
        the dense Hessian of the K (n_features + 1) parameters and refuses more than
        5000 of them.
    alpha : float, default=1e-4
        Ridge strength (>= 0); the intercept is not penalised. At ``alpha=0`` the
        MLE may not exist: separable data give a :class:`SeparationWarning`.
    learning_rate : float, default=None
        Base step size alpha_0 (> 0). None uses the method's default: 0.01 for "sgd"
        and "momentum", 1e-3 for "rmsprop" and "adam", 2e-3 for "adamax".
    batch_size : int, default=None
        Rows per minibatch; None means ``min(128, n_samples)``. The last batch of an
        epoch holds the remaining rows; ``batch_size >= n_samples`` is full-batch
        gradient descent.
    schedule : {"constant", "invsqrt", "invtime"}, Schedule or callable, \
            default="constant"
        alpha_t = alpha_0, alpha_0 / sqrt(t) or alpha_0 / (1 + t / t0) with t0 one
        epoch of updates; a :class:`statoptim.optim.Schedule` object (``StepDecay``,
        ``CosineDecay``, ``warmup_cosine(...)``, ...) gives alpha_t = alpha_0 *
        ``schedule.multiplier(t)``, t counting updates as in ``minimize``; a callable
        maps the update counter t (>= 1, never reset between epochs) to alpha_t.
        Constant steps stall at a noise floor proportional to alpha_0 / batch_size;
        decay plus averaging removes it.
    momentum : float, default=0.9
        mu of the EMA momentum v_t = mu v_{t-1} + (1 - mu) g_t, theta -= alpha_t v_t.
        torch's heavy ball with lr gamma equals this with alpha = gamma / (1 - mu).
    nesterov : bool, default=False
        Nesterov momentum: theta -= alpha_t (mu v_t + (1 - mu) g_t).
    rho : float, default=0.9
        RMSprop decay: S_t = rho S_{t-1} + (1 - rho) g_t^2 (not bias-corrected, so
        the first step is about alpha sign(g) / sqrt(1 - rho) = 3.2 alpha).
    beta1, beta2 : float, default=0.9, 0.999
        Adam's moment decays (also SWATS's; its SGD phase uses momentum ``beta1``).
    eps : float, default=1e-8
        Denominator guard of RMSprop and Adam.
    eps_inside : bool, default=False
        RMSprop with g / sqrt(S + eps) (the talk's and Keras's form) instead of
        torch's g / (sqrt(S) + eps).
    adam_form : {"algorithm1", "efficient", "constant_eps_hat"}, default="algorithm1"
        Kingma & Ba's Algorithm 1; the efficient form with eps_hat_t =
        eps sqrt(1 - beta2^t) (equal to Algorithm 1 up to rounding); or the
        efficient form with a constant eps_hat = eps (TF/Keras).
    amsgrad : bool, default=False
        Adam with v_max = max(v_max, v_t) in the denominator (torch's variant).
    average : {False, True, "polyak", "ema"}, default=False
        Return the Polyak-Ruppert mean of the iterates after the first epoch, or an
        EMA with decay ``beta2`` (bias-corrected). The stopping rule tests the
        returned iterate.
    shuffle : {True, "rows", "batches", False}, default=True
        How each epoch orders the rows (all draws from ``random_state``).
        True or "rows": a new uniformly random row permutation every epoch, so every
        minibatch is a random subset (sampling without replacement); the default, the
        standard choice, safe whatever the row order of X. "batches": X is cut once
        into contiguous blocks of ``batch_size`` rows and each epoch visits the
        blocks in a new random order (the remainder block last): minibatches keep
        their composition across epochs, and rows are read contiguously, which on
        data much larger than the CPU caches makes an epoch about 3x faster (10^6 x
        100: the NumPy memory floor instead of 2.8x it). It assumes the rows are
        already in random order (i.i.d. draws, or X shuffled once, e.g.
        ``X[rng.permutation(n_samples)]``); do not use it on data sorted by label or
        time. False: rows in their given order every epoch.
    stopping : {"grad", "loss", None}, default="grad"
        Stochastic solvers only. "grad": stop when ||grad F(theta)||_inf <= tol on
        the full data, checked every ``check_every`` epochs (one extra pass). With
        alpha > 0, F - F* <= ||grad F||_2^2 / (2 mu_min), a certificate. "loss": stop
        when F fails to drop by tol * max(1, F) for ``n_iter_no_change`` checks in a
        row; this is NOT a certificate of optimality. None: run ``max_iter`` epochs.
    tol : float, default=None
        None means 1e-10 for "newton" (half the squared Newton decrement <= tol * F),
        1e-8 for "lbfgs" (||grad F||_inf <= tol) and 1e-4 for the stochastic solvers
        (meaning set by ``stopping``).
    n_iter_no_change : int, default=5
    check_every : int, default=1
        Epochs between stopping checks (and ``loss_curve_`` entries).
    hessian_subsample : int, default=None
        "newton" only: build each Hessian from this many rows drawn (without
        replacement, from ``random_state``) at every iteration. The gradient and line
        search stay exact, so the answer is the same; an iteration costs one pass
        over X plus O(hessian_subsample * n_features^2). None uses all rows.
    max_iter : int, default=None
        Newton iterations (None: 100), L-BFGS iterations (None: 1000) or epochs
        (None: 100). Reaching it without
        meeting ``tol`` gives a ConvergenceWarning with the final ||grad F||_inf and
        the last relative change of F.
    warm_start : bool, default=False
        Start ``fit`` from the previous fit's coefficients (same classes and
        n_features), e.g. to finish a few cheap stochastic epochs with Newton or
        L-BFGS: ``est.set_params(solver="lbfgs", warm_start=True).fit(X, y)``. The
        optimiser state (moments, t) is not kept; use ``partial_fit`` for that.
    random_state : None, int or numpy Generator, default=None
        Seeds the permutations; a Generator is used as given, not reseeded.
    class_weight : None, "balanced" or dict, default=None
        Row weights by class, as in scikit-learn: a dict ``{class label: weight}``
        (classes not named get 1), or "balanced": ``n_samples / (2 * count_c)``
        with the (sample-weighted) class counts, i.e.
        ``sklearn.utils.class_weight.compute_class_weight``. Multiplies
        ``sample_weight``. "balanced" is refused by ``partial_fit`` (one batch's
        counts are not the data's); pass the dict it computes instead.
    switch_tol : float, default=1e-9
        "swats" only: the paper's epsilon; the switch happens when the bias-corrected
        average of the projected learning rates is within ``switch_tol`` of the
        current one.
    n_threads : int or None, default=None
        Threads of the full-batch solvers' passes over X ("newton", "lbfgs" and
        "auto", binary): on a large dense X the Hessian X'WX and the gradient are
        summed over row blocks computed by ``n_threads`` threads, each with
        one-thread BLAS (None: all available CPUs). The block split depends on the
        problem's size only, so the coefficients are the same bits for any
        ``n_threads``. BLAS itself is held to one thread inside ``fit`` (threaded
        BLAS collapses when other processes compete for the cores).

    Attributes
    ----------
    solver_ : str
        The solver used ("auto" resolved).
    coef_ : ndarray of shape (1, n_features) or (n_classes, n_features)
        One row for two classes, one per class for three or more (the multinomial
        fit; intercepts centred to sum 0).
    intercept_ : ndarray of shape (1,) or (n_classes,)
    classes_ : ndarray of shape (n_classes,)
    n_iter_ : int
        Newton iterations or epochs run.
    t_ : int
        Updates (minibatch steps) run; equals ``n_iter_`` for Newton.
    loss_curve_ : list of float
        F at the returned iterate at each check (Newton: after each iteration).
    grad_inf_ : float
        ||grad F||_inf at the returned iterate (at the last check); for Newton and
        L-BFGS on X with columns of extreme magnitude, of the rescaled problem.
    separable_ : bool or None
        Result of the LP separation check at alpha = 0 (None if not run).
    switch_epoch_ : int or None
        "swats" only: the epoch (counted from the start of the minibatch state) in
        which SWATS switched from Adam to SGD, None if it never switched.
    switch_learning_rate_ : float or None
        "swats" only: the SGD learning rate chosen at the switch.
    n_features_in_ : int

    Notes
    -----
    **Weights.** With row weights w_i (``sample_weight`` times the class weight)
    the loss is the weighted mean ``sum_i w_i l_i / sum_i w_i``, so an integer
    weight k is exactly k copies of the row (Newton and L-BFGS give the same
    coefficients to rounding) and a weight of 0 drops the row. The minibatch
    solvers use ``sum_{i in B} w_i g_i / (|B| mean(w))`` plus the ridge, an unbiased
    estimate of the weighted gradient (exact for a full batch), so they converge
    to the same minimiser, but their iterates are not those of the duplicated data.
    In ``partial_fit`` the weights are normalised over the given batch.

    **Sparse X.** CSR input (CSC is converted once; other formats as scikit-learn
    converts them) is never densified: the objective, the gradient and the
    minibatch epochs read the stored entries only (compiled kernels), and Newton's
    Hessian is accumulated from them in O(sum_i nnz_i^2) (a dense (p+1)^2 array,
    so use "lbfgs" or "auto" for many columns).

    Columns of X whose largest |x| lies outside [2**-100, 2**100] are handled
    exactly by Newton and L-BFGS: they solve the same problem on the columns divided
    by powers of two (ridge alpha / s_j^2 on the rescaled coefficients) and return the
    coefficients for X. When that ridge, or a coefficient, is not representable in
    float64 at the scale of X, ``fit`` raises ValueError. The stochastic solvers are
    not scale-invariant (step sizes and ``tol`` are in the units of X) and raise
    ValueError for such columns: standardise X first.

    Examples
    --------
    >>> import numpy as np
    >>> from statoptim import LogisticRegression
    >>> from statoptim.datasets import make_logistic
    >>> X, y, beta = make_logistic(1000, 5, random_state=0)
    >>> newton = LogisticRegression(alpha=1e-3).fit(X, y)
    >>> newton.coef_.round(2), newton.n_iter_
    (array([[-0.53, -0.85, -1.02,  0.7 ,  0.81]]), 4)
    >>> adam = LogisticRegression("adam", alpha=1e-3, learning_rate=0.3, schedule="invsqrt",
    ...                           average=True, tol=1e-3, max_iter=300, random_state=0)
    >>> adam = adam.fit(X, y)
    >>> bool(np.abs(adam.coef_ - newton.coef_).max() < 0.05)
    True
    >>> adam.predict_proba(X[:2]).shape
    (2, 2)
    """

    def __init__(
        self,
        solver: Literal[
            "auto", "newton", "lbfgs", "sgd", "momentum", "rmsprop", "adam", "adamax"
        ] = "auto",
        *, alpha: float = 1e-4, learning_rate: float | None = None, batch_size: int | None = None,
        schedule: Literal["constant", "invsqrt", "invtime"] | Callable[[int], float] = "constant",
        momentum: float = 0.9, nesterov: bool = False, rho: float = 0.9, beta1: float = 0.9,
        beta2: float = 0.999, eps: float = 1e-8, eps_inside: bool = False,
        adam_form: Literal["algorithm1", "efficient", "constant_eps_hat"] = "algorithm1",
        amsgrad: bool = False, average: bool | Literal["polyak", "ema"] = False,
        shuffle: bool | Literal["rows", "batches"] = True,
        stopping: Literal["grad", "loss"] | None = "grad", tol: float | None = None,
        n_iter_no_change: int = 5, check_every: int = 1, hessian_subsample: int | None = None,
        max_iter: int | None = None, warm_start: bool = False,
        random_state: int | np.random.Generator | None = None,
        class_weight: Literal["balanced"] | dict[Any, float] | None = None,
        switch_tol: float = 1e-9, n_threads: int | None = None,
    ) -> None:
        self.solver = solver
        self.alpha = alpha
        self.learning_rate = learning_rate
        self.batch_size = batch_size
        self.schedule = schedule
        self.momentum = momentum
        self.nesterov = nesterov
        self.rho = rho
        self.beta1 = beta1
        self.beta2 = beta2
        self.eps = eps
        self.eps_inside = eps_inside
        self.adam_form = adam_form
        self.amsgrad = amsgrad
        self.average = average
        self.shuffle = shuffle
        self.stopping = stopping
        self.tol = tol
        self.n_iter_no_change = n_iter_no_change
        self.check_every = check_every
        self.hessian_subsample = hessian_subsample
        self.warm_start = warm_start
        self.max_iter = max_iter
        self.random_state = random_state
        self.class_weight = class_weight
        self.switch_tol = switch_tol
        self.n_threads = n_threads

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.classifier_tags.multi_class = self.solver in MULTINOMIAL_SOLVERS
        tags.input_tags.sparse = True
        return tags

    # --------------------------------------------------------------------- fit
    def fit(self, X: ArrayLike, y: ArrayLike,
            sample_weight: ArrayLike | None = None) -> LogisticRegression:
        """Fit the model.

        Parameters
        ----------
        X : {array-like, sparse matrix} of shape (n_samples, n_features)
            float64, or float32 (read as float32, accumulated in float64). CSR or
            CSC matrices are never densified. A ``dask.array`` chunked by rows is
            fitted without gathering it (solvers "newton", "lbfgs" and "auto": one
            pass per evaluation returns the loss, gradient and Hessian sums).
        y : array-like of shape (n_samples,)
            Two classes (the second of ``np.unique(y)`` is the positive one), or three
            or more for the multinomial model.
        sample_weight : array-like of shape (n_samples,), default=None
            Finite non-negative row weights with a positive sum (see Notes); None
            means unit weights.

        Returns
        -------
        self
        """
        from statoptim._dask import is_dask_array
        if is_dask_array(X):  # distributed gradients and Hessians: X is never gathered
            from statoptim.optim._distributed import fit_logistic_dask
            return fit_logistic_dask(self, X, y, sample_weight)
        # One BLAS thread: the solvers' BLAS calls are on blocks of rows and minibatches,
        # too small for threads to pay, and threaded BLAS on a busy machine is much slower
        # (BENCHMARKS.md, "Threads").
        with single_blas_thread():
            alpha, tol, max_iter = self._validate_params()
            warm_start = check_flag(self.warm_start, "warm_start")
            self._runner = None  # a refit never continues a previous minibatch state
            previous = None
            if warm_start and hasattr(self, "coef_"):
                previous = (np.column_stack([self.intercept_, self.coef_]), self.classes_)
            X, y = self._validate_Xy(X, y, reset=True)
            self.classes_, yb = self._encode(y)
            sw, _ = self._row_weights(y, yb, sample_weight, partial=False)
            theta0 = None
            if previous is not None and previous[0].shape[1] == X.shape[1] + 1 and np.array_equal(
                    previous[1], self.classes_):
                theta0 = previous[0]
            for name in ("switch_epoch_", "switch_learning_rate_"):
                self.__dict__.pop(name, None)
            if self.classes_.shape[0] > 2:
                return self._fit_multinomial(X, yb, sw, alpha, theta0)
            solver = self.solver_ = resolve_solver(self.solver, X.shape[1], X.shape[0], alpha)
            if self.solver == "auto":
                tol, max_iter = self._defaults(solver)
            if theta0 is not None:
                theta0 = theta0[0]
            if solver in FULL_BATCH:
                return self._fit_newton(X, yb, alpha, tol, max_iter, theta0, sw)
            _check_stochastic_scale(X, self.solver)
            self._new_runner(X, alpha, theta0, n_classes=2)
            self._fit_epochs(X, yb, alpha, tol, max_iter, check=True, sw=sw)
            return self


    @available_if(_is_stochastic)
    def partial_fit(self, X, y, classes=None, sample_weight=None):
        """One epoch of minibatch updates over the given rows, keeping t and all state.

        Not per-sample SGD: the rows are split into minibatches of ``batch_size``.
        ``classes`` (every class label, two or more) is required on the first call
        unless ``y`` holds every class; three or more classes fit the multinomial
        model. Once fitted (by ``fit`` or ``partial_fit``), X must have the fitted
        n_features and y labels among the fitted classes (``classes``, if given
        again, must equal them). The minibatch state (moments, step
        counter t, averages) continues while the solver and ``average`` stay the same
        (other parameters changed by ``set_params`` apply from this call on); after a
        ``fit`` by Newton or L-BFGS, or a change of solver or ``average``, a new state
        starts from the fitted coefficients. ``fit`` always starts a new state.
        ``sample_weight`` (and a dict ``class_weight``) weight the rows of this call,
        normalised to mean 1 over them.

        Returns
        -------
        self
        """
        alpha, tol, _ = self._validate_params()
        fitted = hasattr(self, "coef_") and hasattr(self, "classes_")
        X, y = self._validate_Xy(X, y, reset=not fitted)
        _check_stochastic_scale(X, self.solver)
        self.solver_ = self.solver
        if not fitted:
            self.classes_, yb = self._encode(y, classes)
            sw, _ = self._row_weights(y, yb, sample_weight, partial=True)
            self._new_runner(X, alpha, n_classes=self.classes_.shape[0])
        else:
            if classes is not None:
                given = np.asarray(classes)
                if given.ndim != 1 or not np.array_equal(np.unique(given), self.classes_):
                    raise ValueError(f"classes must match the fitted {self.classes_.tolist()!r}"
                                     f", got {_describe(classes)}")
            _, yb = self._encode(y, self.classes_)
            sw, _ = self._row_weights(y, yb, sample_weight, partial=True)
            n_classes = self.classes_.shape[0]
            runner = getattr(self, "_runner", None)
            if runner is None or runner.key != self._runner_key(n_classes):
                # fitted by another solver, or the solver / averaging changed since: a new
                # minibatch state (moments, t) that starts from the fitted coefficients
                self._new_runner(X, alpha, np.column_stack([self.intercept_, self.coef_]),
                                 n_classes=n_classes)
            else:  # same state, current hyper-parameters (as after set_params)
                lr, batch_size, schedule, hyper = self._validate_stochastic(X.shape[0])
                extra = {}
                if isinstance(runner, SoftmaxEpochRunner) and self.solver == "swats":
                    extra["switch_tol"] = check_real(self.switch_tol, "switch_tol", low=0.0,
                                                     low_open=True)
                runner.update_params(hyper, learning_rate=lr, schedule=schedule, alpha=alpha,
                                     batch_size=batch_size, avg_decay=hyper[4],
                                     shuffle=self.shuffle, **extra)
        self._fit_epochs(X, yb, alpha, tol, 1, check=False, sw=sw)
        return self

    # --------------------------------------------------------------- inference
    def summary(self, X: ArrayLike, y: ArrayLike, sample_weight: ArrayLike | None = None, *,
                level: float = 0.95) -> LogisticSummary:
        """Standard errors, z tests and Wald intervals of the fitted coefficients.

        At ``alpha=0`` the covariance is the inverse of the observed information
        ``I = sum_i w_i pi_i (1 - pi_i) x~_i x~_i^T`` at the fit (for the logit link
        the observed and expected information are equal), as statsmodels' ``Logit``
        reports it. For a ridge fit (``alpha > 0``) it is the sandwich
        ``(I + P)^{-1} I (I + P)^{-1}``, P the penalty's Hessian, and the result says
        so: the ridge shrinks the coefficients, so those intervals are not calibrated.
        Weights (``sample_weight`` times the class weights) count as frequency
        weights: an integer weight k is k copies of the row, as in ``fit``.

        Parameters
        ----------
        X : {array-like, sparse matrix} of shape (n_samples, n_features)
            The data given to ``fit`` (the estimator does not keep them).
        y : array-like of shape (n_samples,)
            The labels given to ``fit``.
        sample_weight : array-like of shape (n_samples,), default=None
            The weights given to ``fit``.
        level : float, default=0.95
            Confidence level of the intervals, in (0, 1).

        Returns
        -------
        summary : LogisticSummary
            Arrays ``coef``, ``bse``, ``zvalues``, ``pvalues``, ``conf_int``, ``cov``;
            ``print(summary)`` shows the table and ``summary.to_frame()`` gives it
            as a pandas DataFrame.

        Raises
        ------
        ValueError
            Under separation at ``alpha=0`` (no MLE: the reason is given), when the
            information is singular (collinear or constant columns at alpha=0), or
            when the coefficients are not a stationary point of the objective on
            the given data (other data than ``fit``'s, or an unconverged fit).
        """
        from statoptim.optim._inference import logistic_summary

        check_is_fitted(self)
        if self.coef_.shape[0] != 1:
            raise ValueError("summary() is for binary fits; this one is multinomial "
                             f"({self.classes_.shape[0]} classes)")
        level = check_real(level, "level", low=0.0, high=1.0, low_open=True, high_open=True)
        alpha = check_real(self.alpha, "alpha", low=0.0)
        X, y = self._validate_Xy(X, y, reset=False)
        _, yb = self._encode(y, self.classes_)
        sw, total = self._row_weights(y, yb, sample_weight, partial=False)
        theta = np.concatenate([self.intercept_, self.coef_[0]])
        names = ["intercept"] + [str(c) for c in getattr(
            self, "feature_names_in_", [f"x{j}" for j in range(X.shape[1])])]
        return logistic_summary(X, yb, sw, total, theta, alpha, level=level,
                                names=names, separable=getattr(self, "separable_", None))

    # ----------------------------------------------------------------- predict
    def decision_function(self, X: ArrayLike) -> np.ndarray:
        """eta = intercept + X @ coef, shape (n_samples,); for a multinomial fit the
        linear predictor of every class, shape (n_samples, n_classes)."""
        check_is_fitted(self)
        X = check_sparse_structure(X, "X")
        with np.errstate(invalid="ignore", over="ignore"):
            X = validate_named(self, X, reset=False, dtype=[np.float64, np.float32],
                               accept_sparse=("csr", "csc"))
        if self.coef_.shape[0] > 1:
            return np.asarray(X @ self.coef_.T, dtype=np.float64) + self.intercept_
        return np.asarray(X @ self.coef_[0], dtype=np.float64) + self.intercept_[0]

    def predict_proba(self, X: ArrayLike) -> np.ndarray:
        """Class probabilities, shape (n_samples, n_classes), columns in ``classes_``
        order (softmax for a multinomial fit: rows sum to 1)."""
        eta = self.decision_function(X)
        if eta.ndim == 2:
            from statoptim.optim._multinomial import softmax

            return softmax(eta)
        p = 0.5 * (1.0 + np.tanh(0.5 * eta))
        return np.column_stack([1.0 - p, p])

    def predict_log_proba(self, X: ArrayLike) -> np.ndarray:
        """log of :meth:`predict_proba`, computed without log(0)."""
        eta = self.decision_function(X)
        if eta.ndim == 2:
            top = eta.max(axis=1, keepdims=True)
            return eta - top - np.log(np.exp(eta - top).sum(axis=1, keepdims=True))
        return np.column_stack([-np.logaddexp(0.0, eta), -np.logaddexp(0.0, -eta)])

    def predict(self, X: ArrayLike) -> np.ndarray:
        """The class of larger probability (``classes_[1]`` when eta > 0)."""
        eta = self.decision_function(X)
        if eta.ndim == 2:
            return self.classes_[np.argmax(eta, axis=1)]
        return self.classes_[(eta > 0).astype(int)]
