"""``statoptim.LogisticRegression``: L2-penalised binary and multinomial (softmax)
logistic regression by Newton-Raphson, L-BFGS or compiled minibatch SGD, momentum,
RMSprop, Adam, Adamax or SWATS."""
from __future__ import annotations

import warnings
from collections.abc import Callable
from typing import Any, Literal

import numpy as np
import scipy.sparse as sp
from numpy.typing import ArrayLike
from sklearn.base import BaseEstimator, ClassifierMixin
from sklearn.utils.class_weight import compute_class_weight
from sklearn.utils.metaestimators import available_if
from sklearn.utils.multiclass import check_classification_targets
from sklearn.utils.validation import check_is_fitted

from statoptim._threads import single_blas_thread
from statoptim._validation import (
    _describe,
    check_choice,
    check_flag,
    check_positive_int,
    check_random_state,
    check_real,
    check_sample_weight,
    check_sparse_structure,
    validate_named,
)
from statoptim.exceptions import ConvergenceWarning
from statoptim.optim._common import (
    ADAM_FORMS,
    DEFAULT_LEARNING_RATE,
    SAFE_EXPONENT,
    check_average,
    check_schedule,
    check_shuffle,
    column_scales,
    method_hyper,
    sparse_column_absmax,
    sparse_ptp,
)
from statoptim.optim._inference import LogisticSummary
from statoptim.optim._multinomial import (
    multinomial_lbfgs,
    multinomial_newton,
    multinomial_objective,
    multinomial_separable,
)
from statoptim.optim._newton import (
    SEPARATION_MESSAGE,
    SeparationWarning,
    _objective,
    _positive_rows,
    _separable,
    lbfgs_core,
    newton_core,
    rescaled_problem,
    warn_identifiability,
)
from statoptim.optim._schedules import Schedule
from statoptim.optim._stochastic import LogisticEpochRunner, SoftmaxEpochRunner

__all__ = ["LogisticRegression"]

SOLVERS = ("auto", "newton", "lbfgs", "sgd", "momentum", "rmsprop", "adam", "adamax", "swats")
#: Every solver fits the multinomial (softmax) model for three or more classes.
MULTINOMIAL_SOLVERS = SOLVERS
FULL_BATCH = ("auto", "newton", "lbfgs")

#: solver="auto" uses Newton when n_features + 1 <= AUTO_NEWTON_MAX_COEF, L-BFGS
#: otherwise. Newton's iteration costs ~n p^2 (BLAS-3) against ~4 n p (BLAS-2) for an
#: L-BFGS evaluation, with ~5-8 against ~10-30 iterations (100 on MNIST 0 vs 6): the
#: crossover measured on the talk's design (n = 10^3 and 10^5) lies at p ~ 20-25, and
#: L-BFGS is 2-5x faster at p = 99, 10^6 x 100 and MNIST (BENCHMARKS.md, issue 16).
AUTO_NEWTON_MAX_COEF = 25
STOPPINGS = ("grad", "loss", None)


def _check_targets(y):
    """scikit-learn's target check, with a message that names y."""
    try:
        check_classification_targets(y)
    except ValueError as exc:
        raise ValueError(f"y must hold class labels (two distinct values); {exc}") from None


def _is_stochastic(est):
    return est.solver not in FULL_BATCH


def _method(solver):
    """The update rule of a stochastic solver (SWATS starts as Adam)."""
    return "adam" if solver == "swats" else solver


def _check_schedule(schedule):
    """A schedule name, a :class:`~statoptim.optim.Schedule` object or a callable."""
    if isinstance(schedule, Schedule):
        return schedule
    if isinstance(schedule, type) and issubclass(schedule, Schedule):
        raise ValueError(f"schedule must be a Schedule object, got the class "
                         f"{schedule.__name__}; pass an instance, e.g. {schedule.__name__}(...)")
    try:
        return check_schedule(schedule)
    except ValueError:
        raise ValueError(
            "schedule must be one of ['constant', 'invsqrt', 'invtime'], a "
            "statoptim.optim.Schedule object (StepDecay, ExponentialDecay, CosineDecay, "
            "LinearWarmup, SequentialSchedule, warmup_cosine(...)) or a callable t -> step "
            f"size, got {_describe(schedule)}") from None


def resolve_solver(solver, n_features, n_samples=None, alpha=None):
    """The solver that ``solver="auto"`` stands for on n_features columns (L-BFGS also
    when alpha = 0 and there are fewer rows than coefficients, where the Hessian is
    singular everywhere and Newton refuses)."""
    if solver != "auto":
        return solver
    if alpha == 0.0 and n_samples is not None and n_samples < n_features + 1:
        return "lbfgs"
    return "newton" if n_features + 1 <= AUTO_NEWTON_MAX_COEF else "lbfgs"


def _as_csr(X):
    """A checked sparse X as CSR (CSC converted once) with canonical entries and index
    arrays of one dtype (int32 or intp), as the compiled CSR kernels read them."""
    X = X.tocsr() if X.format != "csr" else X
    if not X.has_canonical_format:
        X = X.copy()
        X.sum_duplicates()
    if X.indices.dtype != X.indptr.dtype or X.indices.dtype not in (np.int32, np.intp):
        X = sp.csr_matrix((X.data, X.indices.astype(np.intp), X.indptr.astype(np.intp)),
                          shape=X.shape)
    return X


def _check_stochastic_scale(X, solver):
    """The minibatch solvers need columns of ordinary magnitude: their step sizes and the
    gradient tolerance are in the units of X, so a column with max |x| outside
    [2**-SAFE_EXPONENT, 2**SAFE_EXPONENT] would overflow the iterates or never move its
    coefficient (a silently wrong answer at alpha=0). Newton and L-BFGS rescale such
    columns exactly instead."""
    tops = sparse_column_absmax(X) if sp.issparse(X) else None
    scale = column_scales(X, tops)
    if scale is None:
        return
    j = int(np.flatnonzero(scale != 1.0)[0])
    top = float(tops[j]) if tops is not None else max(float(np.max(X[:, j])),
                                                        -float(np.min(X[:, j])))
    raise ValueError(
        f"X has a column of extreme magnitude (column {j}: max |x| = {top:.3g}, outside "
        f"[2**-{SAFE_EXPONENT}, 2**{SAFE_EXPONENT}]): solver={solver!r} is not "
        "scale-invariant (step sizes and tol are in the units of X). Standardise the "
        "columns of X (e.g. StandardScaler), or use solver='newton' or 'lbfgs', which "
        "rescale such columns exactly")


class LogisticRegression(ClassifierMixin, BaseEstimator):
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
        switch_tol: float = 1e-9,
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

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.classifier_tags.multi_class = self.solver in MULTINOMIAL_SOLVERS
        tags.input_tags.sparse = True
        return tags

    # ------------------------------------------------------------------ checks
    def _validate_params(self):
        check_choice(self.solver, "solver", SOLVERS)
        alpha = check_real(self.alpha, "alpha", low=0.0)
        tol, max_iter = self._defaults(self.solver)
        if self.hessian_subsample is not None:
            check_positive_int(self.hessian_subsample, "hessian_subsample", minimum=2)
        self._check_other_params()
        return alpha, tol, max_iter

    def _check_other_params(self):
        """Every parameter is checked whatever the solver (a bad value of a parameter the
        chosen solver does not read is still a bad call, and would bite after set_params)."""
        if self.learning_rate is not None:
            check_real(self.learning_rate, "learning_rate", low=0.0, low_open=True)
        if self.batch_size is not None:
            check_positive_int(self.batch_size, "batch_size")
        _check_schedule(self.schedule)
        check_real(self.switch_tol, "switch_tol", low=0.0, low_open=True)
        for name in ("momentum", "rho", "beta1", "beta2"):
            check_real(getattr(self, name), name, low=0.0, high=1.0, high_open=True)
        check_real(self.eps, "eps", low=0.0, low_open=True)
        for name in ("nesterov", "eps_inside", "amsgrad", "warm_start"):
            check_flag(getattr(self, name), name)
        check_choice(self.adam_form, "adam_form", tuple(ADAM_FORMS))
        check_average(self.average)
        check_shuffle(self.shuffle)
        check_choice(self.stopping, "stopping", STOPPINGS)
        check_positive_int(self.n_iter_no_change, "n_iter_no_change")
        check_positive_int(self.check_every, "check_every")
        check_random_state(self.random_state)
        if self.class_weight is not None and not (
                isinstance(self.class_weight, dict) or (isinstance(self.class_weight, str)
                                                        and self.class_weight == "balanced")):
            raise ValueError("class_weight must be None, 'balanced' or a dict {class label: "
                             f"weight}}, got {_describe(self.class_weight)}")

    def _validate_stochastic(self, n_samples):
        lr = self.learning_rate
        lr = DEFAULT_LEARNING_RATE[_method(self.solver)] if lr is None else check_real(
            lr, "learning_rate", low=0.0, low_open=True)
        if self.batch_size is None:
            batch_size = min(128, max(n_samples, 1))
        else:
            batch_size = check_positive_int(self.batch_size, "batch_size")
        schedule = _check_schedule(self.schedule)
        check_choice(self.stopping, "stopping", STOPPINGS)
        check_average(self.average)
        check_shuffle(self.shuffle)
        check_positive_int(self.n_iter_no_change, "n_iter_no_change")
        check_positive_int(self.check_every, "check_every")
        if self.solver == "swats" and check_flag(self.amsgrad, "amsgrad"):
            raise ValueError("amsgrad=True requires solver='adam', got solver='swats' (SWATS "
                             "switches from plain Adam)")
        hyper = method_hyper(_method(self.solver), momentum=self.momentum, rho=self.rho,
                             beta1=self.beta1, beta2=self.beta2, eps=self.eps,
                             nesterov=self.nesterov, amsgrad=self.amsgrad,
                             eps_inside=self.eps_inside, adam_form=self.adam_form)
        return lr, batch_size, schedule, hyper

    def _validate_Xy(self, X, y, reset):
        X = check_sparse_structure(X, "X")  # before scikit-learn reads the index arrays
        with np.errstate(invalid="ignore", over="ignore"):  # scikit-learn's finiteness
            # check sums X: +inf and -inf would warn before its clear error
            X, y = validate_named(self, X, y, dtype=[np.float64, np.float32], order="C",
                                  accept_sparse=("csr", "csc"), reset=reset)
        if sp.issparse(X):
            X = _as_csr(X)
        return X, y

    def _encode(self, y, classes=None):
        """The classes and the encoded labels: float64 0/1 (positive = ``classes[1]``) for
        two classes, intp class indices for three or more."""
        labels = np.unique(y)
        if classes is None and labels.shape[0] < 2:
            _check_targets(y)
            raise ValueError(
                f"y must contain at least two classes, got one class {labels.tolist()!r}"
                " (for partial_fit on such a batch, pass classes=[every class label])")
        if classes is None:
            _check_targets(y)  # "Unknown label type" for continuous y
            classes = labels
        else:
            given = np.asarray(classes)
            if given.ndim != 1 or np.unique(given).shape[0] != given.shape[0]:
                raise ValueError("classes must be a 1-D array of distinct labels, got "
                                 f"{_describe(classes)}")
            classes = np.unique(given)
            if classes.shape[0] < 2:
                raise ValueError("classes must hold at least two class labels, got "
                                 f"{_describe(given)}")
        if y.ndim != 1:  # pragma: no cover - validate_data already raveled y
            raise ValueError(f"y must be 1-D, got shape {y.shape}")
        unknown = ~np.isin(y, classes)
        if unknown.any():
            raise ValueError(f"y contains labels not in classes {classes.tolist()!r}: "
                             f"{_describe(np.unique(y[unknown]))}")
        if classes.shape[0] == 2:
            return classes, (y == classes[1]).astype(np.float64)
        return classes, np.searchsorted(classes, y).astype(np.intp)

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
        # One BLAS thread: the solvers' BLAS calls are on blocks of rows and minibatches.
        # Idle, two threads were no faster (Newton at 2e5 x 100: median 0.49 s against
        # 0.36 s); busy, threaded OpenBLAS made Newton 12x slower (BENCHMARKS.md, "Threads").
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

    def _fit_multinomial(self, X, yk, sw, alpha, theta0=None):
        """Softmax regression for three or more classes: L-BFGS ("auto", "lbfgs"), Newton,
        or the minibatch solvers (compiled softmax epochs)."""
        solver = self.solver_ = "lbfgs" if self.solver == "auto" else self.solver
        tol, max_iter = self._defaults(solver)
        n_classes = self.classes_.shape[0]
        if solver not in FULL_BATCH:
            _check_stochastic_scale(X, self.solver)
            self._new_runner(X, alpha, theta0, n_classes=n_classes)
            self._fit_epochs(X, yk, alpha, tol, max_iter, check=True, sw=sw)
            return self
        if solver == "newton":
            theta, info = multinomial_newton(X, yk, n_classes, alpha, tol=tol,
                                             max_iter=max_iter, sw=sw)
            if info["separable"]:
                warnings.warn(SEPARATION_MESSAGE, SeparationWarning, stacklevel=3)
        else:
            theta, info = multinomial_lbfgs(X, yk, n_classes, alpha, tol=tol,
                                            max_iter=max_iter, sw=sw)
            info["separable"] = None
        if not info["converged"] and not info["separable"]:
            warnings.warn(
                f"{solver} (multinomial) did not converge after {info['n_iter']} iterations "
                f"(max_iter={max_iter}): final ||grad F||_inf = {info['grad_inf']:.3g}, "
                f"tol={tol:g}; {info['message']}", ConvergenceWarning, stacklevel=3)
        self.coef_ = theta[:, 1:].copy()
        self.intercept_ = theta[:, 0].copy()
        self.n_iter_ = self.t_ = info["n_iter"]
        self.loss_curve_ = list(info["loss_curve"])
        self.grad_inf_ = info["grad_inf"]
        self.separable_ = info["separable"]
        return self

    def _defaults(self, solver):
        """tol and max_iter for the given (resolved) solver."""
        tol = self.tol
        if tol is None:
            tol = {"newton": 1e-10, "lbfgs": 1e-8}.get(solver, 1e-4)
        tol = check_real(tol, "tol", low=0.0)
        default_iter = 1000 if solver == "lbfgs" else 100
        max_iter = default_iter if self.max_iter is None else check_positive_int(
            self.max_iter, "max_iter")
        return tol, max_iter

    def _row_weights(self, y, yb, sample_weight, partial):
        """Row weights w_i = sample_weight_i * class_weight[y_i], normalised to mean 1
        over the rows (the kernels' ``sw``; None when every weight is equal), and their
        sum before normalisation."""
        n = yb.shape[0]
        w = None
        if sample_weight is not None:
            w = check_sample_weight(sample_weight, n, "sample_weight")
        if self.class_weight is not None:
            cw = class_weights(self.class_weight, self.classes_, y, w, partial=partial)
            w = (np.ones(n) if w is None else w) * cw[yb.astype(np.intp)]
        if w is None:
            return None, float(n)
        top = float(np.max(w))
        if not (np.isfinite(top) and top > 0.0):
            raise ValueError(
                "sample_weight times class_weight must be finite with a positive entry, got "
                f"a largest weight of {top!r}")
        w = w / top  # the sum of huge weights could overflow; the fit is scale-free
        total = float(np.sum(w))
        if not partial and np.unique(yb[w > 0]).shape[0] < 2:
            raise ValueError(
                "sample_weight (times class_weight) must give positive weight to rows of both "
                "classes (of two classes at least), got positive weights only for class "
                f"{self.classes_[int(yb[w > 0][0])]!r}: the weighted data have one class")
        sw = w * (n / total)
        with np.errstate(over="ignore"):
            total *= top  # the sum of the weights (inf if it overflows; only summary reads it)
        if np.all(sw == 1.0):
            return None, total
        return np.ascontiguousarray(sw, dtype=np.float64), total

    def _runner_key(self, n_classes=2):
        """What a minibatch state belongs to: partial_fit starts a new state (moments,
        step counter, averages) when the solver, the averaging mode or the number of
        classes changed."""
        return (self.solver, check_average(self.average), n_classes)

    def _new_runner(self, X, alpha, theta0=None, n_classes=2):
        """A fresh minibatch state for the current parameters, starting at theta0 (or 0):
        the binary kernel for two classes, the softmax kernel for three or more and for
        SWATS (K = 1 column for two classes). theta0 has shape (K, n_features + 1) or
        (n_features + 1,)."""
        lr, batch_size, schedule, hyper = self._validate_stochastic(X.shape[0])
        kw = dict(learning_rate=lr, schedule=schedule, alpha=alpha, batch_size=batch_size,
                  average=self.average, avg_decay=hyper[4], shuffle=self.shuffle,
                  rng=check_random_state(self.random_state))
        if n_classes == 2 and self.solver != "swats":
            self._runner = LogisticEpochRunner(X.shape[1], hyper, **kw)
            if theta0 is not None:
                self._runner.theta[:] = np.ravel(theta0)
                self._runner.theta_avg[:] = self._runner.theta
        else:
            switch_tol = (check_real(self.switch_tol, "switch_tol", low=0.0, low_open=True)
                          if self.solver == "swats" else None)
            K = 1 if n_classes == 2 else n_classes
            self._runner = SoftmaxEpochRunner(X.shape[1], K, hyper, switch_tol=switch_tol, **kw)
            if theta0 is not None:
                self._runner.set_coef(np.reshape(theta0, (K, X.shape[1] + 1)))
        self._runner.key = self._runner_key(n_classes)
        self.loss_curve_ = []
        self.n_iter_ = 0

    def _fit_newton(self, X, yb, alpha, tol, max_iter, theta0=None, sw=None):
        X, pen, scale = rescaled_problem(X, alpha)
        if self.solver_ == "lbfgs":
            theta, info = self._lbfgs(X, yb, alpha, pen, scale, tol, max_iter, theta0, sw)
            if not info["converged"]:
                warnings.warn(
                    f"lbfgs did not converge after {info['n_iter']} iterations "
                    f"(max_iter={max_iter}): final ||grad F||_inf = {info['grad_inf']:.3g} > "
                    f"tol={tol:g}; SciPy says: {info['message']}", ConvergenceWarning,
                    stacklevel=3)
            self._set_coef(theta)
            self.n_iter_ = self.t_ = info["n_iter"]
            self.loss_curve_ = list(info["loss_curve"])
            self.grad_inf_ = info["grad_inf"]
            self.separable_ = None
            # diverging iterates at alpha = 0: the MLE may not exist (as Newton checks)
            # (and always with fewer rows than coefficients, where Newton refuses)
            if (alpha == 0.0 and (info["max_eta"] > 30.0 or X.shape[0] < X.shape[1] + 1)
                    and X.shape[0] * (X.shape[1] + 1) <= 4_000_000):
                self.separable_ = _separable(*_positive_rows(X, yb, sw))
                if self.separable_:
                    warnings.warn(SEPARATION_MESSAGE, SeparationWarning, stacklevel=3)
            return self
        theta, info = newton_core(X, yb, alpha, pen, scale, tol=tol, max_iter=max_iter,
                                  theta0=theta0, separation_check=True,
                                  hessian_subsample=self.hessian_subsample,
                                  rng=check_random_state(self.random_state), callback=None,
                                  sw=sw)
        warn_identifiability(info)
        if not info["converged"] and not info["separable"]:
            curve = info["loss_curve"]
            rel = (abs(curve[-2] - curve[-1]) / max(abs(curve[-1]), 1e-300)
                   if len(curve) > 1 else float("nan"))
            warnings.warn(
                f"Newton did not converge in max_iter={max_iter} iterations: final "
                f"||grad F||_inf = {info['grad_inf']:.3g}, last relative change of F = "
                f"{rel:.3g}; tol={tol:g} bounds half the squared Newton decrement "
                "relative to F. Increase max_iter.", ConvergenceWarning, stacklevel=3)
        self._set_coef(theta)
        self.n_iter_ = self.t_ = info["n_iter"]
        self.loss_curve_ = list(info["loss_curve"])
        self.grad_inf_ = info["grad_inf"]
        self.separable_ = info["separable"]
        return self

    @staticmethod
    def _lbfgs(X, yb, alpha, pen, scale, tol, max_iter, theta0, sw):
        """L-BFGS; at alpha = 0 constant columns are not identifiable: as Newton does, their
        coefficients are set to 0 and reported (SeparationWarning)."""
        const = np.zeros(0, dtype=np.intp)
        if alpha == 0.0 and X.shape[0] > 0:
            Xp, _ = _positive_rows(X, yb, sw)
            ptp = sparse_ptp(Xp) if sp.issparse(Xp) else np.ptp(Xp, axis=0)
            const = np.flatnonzero(ptp == 0)
        if const.size == 0:
            return lbfgs_core(X, yb, pen, scale, tol=tol, max_iter=max_iter, theta0=theta0,
                              sw=sw)
        active = np.setdiff1d(np.arange(X.shape[1]), const)
        Xa = _as_csr(X[:, active]) if sp.issparse(X) else np.ascontiguousarray(X[:, active])
        keep = np.concatenate([[0], 1 + active])
        theta_a, info = lbfgs_core(Xa, yb, pen, None if scale is None else scale[active],
                                   tol=tol, max_iter=max_iter,
                                   theta0=None if theta0 is None else theta0[keep], sw=sw)
        theta = np.zeros(X.shape[1] + 1)
        theta[keep] = theta_a
        info["constant_columns"] = const
        warn_identifiability({"constant_columns": const})
        return theta, info

    def _set_coef(self, theta):
        theta = np.asarray(theta)
        if theta.ndim == 2 and theta.shape[0] > 1:  # multinomial: (K, p + 1)
            self.coef_ = theta[:, 1:].copy()
            self.intercept_ = theta[:, 0] - theta[:, 0].mean()  # softmax is shift-invariant
            return
        theta = theta.ravel()
        self.coef_ = theta[1:].reshape(1, -1).copy()
        self.intercept_ = theta[:1].copy()

    @staticmethod
    def _full_objective(X, y, theta, alpha, sw):
        """F, its gradient and the largest |eta| (multinomial: spread of eta over the
        classes) at a runner's iterate, on all rows."""
        if theta.ndim == 2 and theta.shape[0] > 1:
            return multinomial_objective(X, y, theta, alpha, sw, return_max_eta=True)
        grad = np.empty(X.shape[1] + 1)
        F, max_eta = _objective(X, y, np.ascontiguousarray(theta.ravel()), alpha, grad, sw)
        return F, grad, max_eta

    def _fit_epochs(self, X, yb, alpha, tol, max_iter, check, sw=None):
        runner = self._runner
        multinomial = self.classes_.shape[0] > 2
        # labels as the kernel reads them: float 0/1 (binary kernel), intp (softmax kernel)
        y_run = yb.astype(np.intp) if isinstance(runner, SoftmaxEpochRunner) else yb
        grad = np.zeros(1)
        best = np.inf
        no_change = 0
        rel = float("nan")
        converged = False
        F = np.nan
        max_eta = 0.0
        for epoch in range(1, max_iter + 1):
            runner.run_epoch(X, y_run, sw)
            self.n_iter_ += 1
            last = epoch == max_iter
            if not (epoch % self.check_every == 0 or last):
                continue
            theta = runner.coef()
            F_prev = F
            finite = bool(np.all(np.isfinite(theta)))
            if finite:
                F, grad, max_eta = self._full_objective(X, yb, theta, alpha, sw)
            if not (finite and np.isfinite(F) and np.all(np.isfinite(grad))):
                raise ValueError(
                    f"the {self.solver} iterates diverged (non-finite loss or coefficients) "
                    f"at epoch {self.n_iter_}; reduce learning_rate (got {runner.learning_rate:g})")
            self.loss_curve_.append(F)
            rel = abs(F_prev - F) / max(abs(F), 1e-300) if np.isfinite(F_prev) else np.nan
            if not check or self.stopping is None:
                continue
            if self.stopping == "grad":
                if np.abs(grad).max() <= tol:
                    converged = True
                    break
            else:
                if F > best - tol * max(1.0, abs(best)):
                    no_change += 1
                else:
                    no_change = 0
                best = min(best, F)
                if no_change >= self.n_iter_no_change:
                    converged = True
                    break
        self._set_coef(runner.coef())
        self.t_ = runner.t
        self.grad_inf_ = float(np.abs(grad).max())
        self.separable_ = None
        if isinstance(runner, SoftmaxEpochRunner) and self.solver == "swats":
            self.switch_epoch_ = runner.switch_epoch
            self.switch_learning_rate_ = runner.switch_learning_rate
        n_coef = (X.shape[1] + 1) * (self.classes_.shape[0] if multinomial else 1)
        if alpha == 0.0 and max_eta > 30.0 and X.shape[0] * n_coef <= 4_000_000:
            Xp, yp = _positive_rows(X, yb, sw)
            self.separable_ = (multinomial_separable(Xp, yp, self.classes_.shape[0])
                               if multinomial else _separable(Xp, yp))
            if self.separable_:
                warnings.warn(SEPARATION_MESSAGE, SeparationWarning, stacklevel=3)
        if check and self.stopping is not None and not converged:
            what = ("||grad F||_inf <= tol on the full data" if self.stopping == "grad"
                    else f"F to drop by tol * max(1, F) within n_iter_no_change="
                         f"{self.n_iter_no_change} checks")
            warnings.warn(
                f"{self.solver} did not converge in max_iter={max_iter} epochs: final "
                f"||grad F||_inf = {self.grad_inf_:.3g}, last relative change of F = {rel:.3g}; "
                f"tol={tol:g} asks for {what}. Increase max_iter, or use a decaying schedule "
                "with average=True (constant steps stall at a noise floor).",
                ConvergenceWarning, stacklevel=3)

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


def class_weights(class_weight, classes, y, sample_weight=None, *, partial=False):
    """The weight of each class of ``classes`` (in that order) for ``class_weight``.

    ``class_weight`` is a dict {label: weight} (unnamed classes get 1) or "balanced"
    (scikit-learn's ``compute_class_weight``, with the sample-weighted class counts).
    A label that is not a class, or a negative or non-finite weight, is a ValueError
    naming class_weight; "balanced" is refused when ``partial`` (partial_fit).
    """
    if isinstance(class_weight, str):
        if class_weight != "balanced":
            raise ValueError("class_weight must be None, 'balanced' or a dict {class label: "
                             f"weight}}, got {class_weight!r}")
        if partial:
            raise ValueError(
                "class_weight='balanced' is not supported by partial_fit: one batch's class "
                "counts are not those of the data. Pass the dict of "
                "sklearn.utils.class_weight.compute_class_weight('balanced', classes=classes, "
                "y=y) computed on all the labels instead")
        return compute_class_weight("balanced", classes=classes, y=y,
                                    sample_weight=sample_weight)
    if not isinstance(class_weight, dict):
        raise ValueError("class_weight must be None, 'balanced' or a dict {class label: "  # noqa: TRY004
                         f"weight}}, got {_describe(class_weight)}")
    known = classes.tolist()
    unknown = [k for k in class_weight if not any(_same_label(k, c) for c in known)]
    if unknown:
        raise ValueError(f"class_weight names labels that are not classes of y: {unknown!r} "
                         f"(the classes are {known!r})")
    out = np.ones(len(known))
    for key, value in class_weight.items():
        value = check_real(value, f"class_weight[{key!r}]", low=0.0)
        for j, c in enumerate(known):
            if _same_label(key, c):
                out[j] = value
    return out


def _same_label(a, b):
    try:
        return bool(a == b)
    except (TypeError, ValueError):  # pragma: no cover - exotic label types
        return False
