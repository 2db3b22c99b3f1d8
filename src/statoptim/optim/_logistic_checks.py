"""Parameter, data and weight checks of :class:`statoptim.LogisticRegression`.

The solver names and the ``solver="auto"`` rule, the label encoding, the row weights
(``sample_weight`` times ``class_weight``) and the checks of every hyper-parameter;
:class:`_LogisticChecks` holds the estimator's methods for them."""
from __future__ import annotations

import numpy as np
import scipy.sparse as sp
from sklearn.utils.class_weight import compute_class_weight
from sklearn.utils.multiclass import check_classification_targets

from statoptim._validation import (
    _describe,
    check_choice,
    check_flag,
    check_n_threads,
    check_positive_int,
    check_random_state,
    check_real,
    check_sample_weight,
    check_sparse_structure,
    validate_named,
)
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
)
from statoptim.optim._schedules import Schedule

__all__: list[str] = []

SOLVERS = ("auto", "newton", "lbfgs", "sgd", "momentum", "rmsprop", "adam", "adamax", "swats")
#: Every solver fits the multinomial (softmax) model for three or more classes.
MULTINOMIAL_SOLVERS = SOLVERS
FULL_BATCH = ("auto", "newton", "lbfgs")

#: solver="auto" uses Newton when n_features + 1 <= AUTO_NEWTON_MAX_COEF, L-BFGS
#: otherwise. Newton's iteration costs ~n p^2 (BLAS-3) against ~4 n p (BLAS-2) for an
#: L-BFGS evaluation, and Newton needs fewer iterations: the crossover lies near this
#: number of coefficients (the timings are in BENCHMARKS.md).
AUTO_NEWTON_MAX_COEF = 25
STOPPINGS = ("grad", "loss", None)


def _check_targets(y):
    """scikit-learn's target check, with a message that names y."""
    try:
        check_classification_targets(y)
    except ValueError as exc:
        raise ValueError(f"y must hold class labels (two distinct values); {exc}") from None


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



class _LogisticChecks:
    """The checks of :class:`statoptim.LogisticRegression` (a mixin: it reads the
    estimator's parameters)."""

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
        check_n_threads(self.n_threads)
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
