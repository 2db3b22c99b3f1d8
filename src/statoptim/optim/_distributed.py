"""``LogisticRegression.fit`` on a dask array X, without gathering X.

Newton and L-BFGS only need F, its gradient and (Newton) the Hessian, and each is
a sum over rows. So every evaluation is one pass over the row-blocks of X
(:class:`statoptim._dask.RowBlocks`), each task returning the block's sums:

* *scan* (once): finiteness of X, max |x| per column (the exact power-of-two
  column scales of the in-memory fit), min and max per column over the rows of
  positive weight (constant columns at ``alpha=0``), the labels of y with their
  counts, weighted counts and largest sample weight (classes, ``class_weight``,
  the normalisation of the weights);
* *evaluate*: sum_i w_i l_i and sum_i w_i grad l_i (p + 1 numbers), and for Newton
  also sum_i w_i pi_i (1 - pi_i) x~_i x~_i' ((p + 1)^2 numbers), at one theta.
  Multinomial: the loss and the K x (p + 1) gradient.

The client runs the same Newton iteration (Cholesky with the same exact
rescaling, Armijo backtracking, the same stopping rule) or SciPy's L-BFGS with
the same options as the in-memory fit, so both reach the same minimiser. Newton
computes the Hessian in the same pass as each trial point's F and gradient (it
is the next iteration's Hessian when the step is accepted): one pass per
iteration when the full step is taken.

Not distributed: the LP separation check at ``alpha=0`` (it needs all rows in one
place; a diverging fit at alpha=0 warns instead), ``hessian_subsample`` and the
minibatch solvers (ValueError naming them).
"""
from __future__ import annotations

import warnings
from typing import NamedTuple

import numpy as np
from scipy.linalg.blas import dsyrk

from statoptim._dask import RowBlocks
from statoptim._validation import check_flag
from statoptim.exceptions import ConvergenceWarning
from statoptim.optim._common import (
    active_part,
    backtrack,
    column_scales,
    expand_active,
    lbfgs_not_converged,
    newton_not_converged,
)
from statoptim.optim._logistic_checks import (
    FULL_BATCH,
    MULTINOMIAL_SOLVERS,
    _check_targets,
    class_weights,
    resolve_solver,
)
from statoptim.optim._newton import (
    SeparationWarning,
    _cholesky_solve,
    _scale_theta0,
    _unscale,
    warn_identifiability,
)
from statoptim.optim._sgd_fast import hessian_rows, logistic_loss_grad

__all__ = ["fit_logistic_dask"]

_HESS_ROWS = 4096  # rows per dsyrk call inside a block


# ---------------------------------------------------------------------------
# Tasks: one row-block each
# ---------------------------------------------------------------------------

def _labels(yb):
    yb = np.asarray(yb).reshape(-1)
    return yb


def _scan_task(xb, yb, wb, offset, ranges):
    """Validation facts of a block, its column magnitudes and its labels."""
    from statoptim.optim._sgd_fast import column_absmax

    xb = np.asarray(xb)
    if xb.dtype not in (np.float32, np.float64):
        xb = xb.astype(np.float64)
    xb = np.ascontiguousarray(xb)
    n_rows = xb.shape[0]
    yb = _labels(yb)
    top = np.zeros(xb.shape[1])
    x_bad = bool(column_absmax(xb, top)) if n_rows else False
    x_bad = x_bad or not np.all(np.isfinite(top))
    w = None if wb is None else np.asarray(wb, dtype=np.float64).reshape(-1)
    facts = {"n_rows": n_rows, "top": top, "x_bad": x_bad,
             "w_bad": bool(w is not None and not np.all(np.isfinite(w)))}
    if w is not None and not facts["w_bad"]:
        facts["w_bad"] = bool(np.any(w < 0))
    if yb.dtype.kind == "f" and not np.all(np.isfinite(yb)):
        facts["y_bad"] = True
        return facts
    facts["y_bad"] = False
    labels, inverse = np.unique(yb, return_inverse=True)
    inverse = inverse.reshape(-1)
    facts["labels"] = labels
    facts["counts"] = np.bincount(inverse, minlength=labels.size)
    ww = np.ones(n_rows) if w is None else w
    facts["wsum"] = np.bincount(inverse, weights=ww, minlength=labels.size)
    wmax = np.zeros(labels.size)
    np.maximum.at(wmax, inverse, ww)
    facts["wmax"] = wmax
    # per label: column min and max over the rows of positive sample weight (alpha = 0:
    # constant columns)
    lo = np.full((labels.size, xb.shape[1]), np.inf)
    hi = np.full((labels.size, xb.shape[1]), -np.inf)
    for k in range(labels.size if ranges else 0):
        rows = (inverse == k) & (ww > 0)
        if rows.any():
            lo[k] = xb[rows].min(axis=0)
            hi[k] = xb[rows].max(axis=0)
    facts["lo"], facts["hi"] = lo, hi
    return facts


class _Prep:
    """What every evaluation task needs to turn a raw block into the fit's arrays."""

    def __init__(self, classes, class_w, norm, active, scale):
        self.classes = classes      # the fitted classes_ (labels)
        self.class_w = class_w      # weight of each class (None: all 1)
        self.norm = norm            # w_i = sample_weight_i * class_w[y_i] * norm (mean 1)
        self.active = active        # the columns used (None: all)
        self.scale = scale          # exact power-of-two column scales (None: none)

    def block(self, xb, yb, wb):
        xb = np.asarray(xb)
        if xb.dtype not in (np.float32, np.float64):
            xb = xb.astype(np.float64)
        if self.active is not None:
            xb = xb[:, self.active]
        if self.scale is not None:
            xb = xb / self.scale
        xb = np.ascontiguousarray(xb)
        yb = _labels(yb)
        k = np.searchsorted(self.classes, yb)
        w = None
        if wb is not None or self.class_w is not None or self.norm != 1.0:
            w = np.ones(yb.shape[0]) if wb is None else np.asarray(
                wb, dtype=np.float64).reshape(-1).copy()
            if self.class_w is not None:
                w *= self.class_w[k]
            w *= self.norm
        return xb, k, w


def _eval_task(xb, yb, wb, offset, prep, theta, hessian):
    """Sums over the block's rows: sum w_i l_i, sum w_i grad l_i [, Hessian], max |eta|."""
    X, k, w = prep.block(xb, yb, wb)
    n_rows, n_coef = X.shape[0], X.shape[1] + 1
    grad = np.zeros(n_coef)
    H = np.zeros((n_coef, n_coef), order="F") if hessian else None
    if n_rows == 0:
        return 0.0, grad, 0.0, H
    y01 = (k == 1).astype(np.float64)
    chunk = max(1, min(n_rows, 32768 // n_coef))
    F, max_eta = logistic_loss_grad(X, y01, theta, 0.0, grad, np.empty(chunk * n_coef), w)
    F *= n_rows  # the kernel returns means over the block's rows
    grad *= n_rows
    if hessian:
        buf = np.empty((min(_HESS_ROWS, n_rows), n_coef))
        for start in range(0, n_rows, _HESS_ROWS):
            r = np.arange(start, min(n_rows, start + _HESS_ROWS), dtype=np.intp)
            A = buf[:r.shape[0]]
            hessian_rows(X, theta, r, A, w)
            H = dsyrk(1.0, A.T, beta=1.0, c=H, trans=0, lower=0, overwrite_c=1)
    return float(F), grad, float(max_eta), H


def _multi_task(xb, yb, wb, offset, prep, theta):
    from statoptim.optim._multinomial import multinomial_objective

    X, k, w = prep.block(xb, yb, wb)
    n_rows = X.shape[0]
    if n_rows == 0:
        return 0.0, np.zeros_like(theta)
    F, grad = multinomial_objective(X, k.astype(np.intp), theta, 0.0, w)
    return F * n_rows, grad * n_rows


# ---------------------------------------------------------------------------
# Client side
# ---------------------------------------------------------------------------

class _Problem:
    """F, grad F and the Hessian of the weighted-mean objective, one pass each."""

    def __init__(self, blocks, prep, pen, n_samples):
        self.blocks, self.prep, self.pen, self.n = blocks, prep, pen, n_samples
        self.n_passes = 0

    def evaluate(self, theta, hessian=False):
        self.n_passes += 1
        out = self.blocks.map(_eval_task, self.prep, np.ascontiguousarray(theta), hessian)
        F = sum(o[0] for o in out) / self.n
        grad = np.sum([o[1] for o in out], axis=0) / self.n
        max_eta = max(o[2] for o in out)
        coef = theta[1:]
        grad[1:] += self.pen * coef
        F += 0.5 * float(np.sum(self.pen * coef * coef))
        H = None
        if hessian:
            H = np.asfortranarray(np.sum([o[3] for o in out], axis=0) / self.n)
            n_coef = H.shape[0]
            diag = H.reshape(-1, order="F")[n_coef + 1::n_coef + 1]
            diag += self.pen
        return F, grad, max_eta, H


def _newton(problem, theta, tol, max_iter):
    """The iteration of :func:`statoptim.optim._newton.newton_core` on distributed sums."""
    F, grad, max_eta, H = problem.evaluate(theta, hessian=True)
    curve = [F]
    converged = False
    decrement = np.inf
    n_iter = 0
    while n_iter < max_iter:
        delta, _ = _cholesky_solve(H, grad)
        decrement = float(grad @ delta)
        if 0.5 * decrement <= tol * max(F, np.finfo(float).tiny) or not np.any(delta):
            converged = True
            break
        step = backtrack(lambda c: problem.evaluate(c, hessian=True), theta, delta, F,
                         decrement)
        if step is None:  # no decrease possible: at machine precision of the optimum
            converged = True
            break
        F_new, g_new, eta_new, H_new, cand = step
        n_iter += 1
        theta, grad, max_eta, H = cand, g_new, eta_new, H_new
        rel_change = (F - F_new) / max(abs(F), 1e-300)
        F = F_new
        curve.append(F)
        if rel_change == 0.0 and 0.5 * decrement <= 1e-14 * max(F, 1e-300):
            converged = True
            break
    return theta, {"n_iter": n_iter, "converged": converged, "loss_curve": curve,
                   "grad_inf": float(np.abs(grad).max()), "decrement": decrement,
                   "max_eta": max_eta}


def _lbfgs(problem, x0, tol, max_iter, memory=30):
    """SciPy's L-BFGS with the options of :func:`statoptim.optim._newton.lbfgs_core`."""
    from scipy.optimize import minimize

    curve = []
    last = {}

    def fun(theta):
        F, grad, max_eta, _ = problem.evaluate(theta)
        curve.append(F)
        last["max_eta"] = max_eta
        return F, grad

    res = minimize(fun, x0, jac=True, method="L-BFGS-B",
                   options={"maxiter": max_iter, "gtol": tol, "ftol": 0.0, "maxcor": memory,
                            "maxfun": 2 * max_iter + 20})
    g_inf = float(np.abs(res.jac).max())
    floor = 10.0 * np.sqrt(np.finfo(float).eps) * max(1.0, abs(float(res.fun)))
    converged = g_inf <= tol or (res.status in (0, 2) and g_inf <= floor)
    return res.x, {"n_iter": int(res.nit), "converged": converged, "loss_curve": curve,
                   "grad_inf": g_inf, "message": str(res.message),
                   "max_eta": last.get("max_eta", 0.0)}


def _merge_labels(facts):
    labels = np.unique(np.concatenate([f["labels"] for f in facts]))
    n_labels = labels.size
    counts, wsum, wmax = np.zeros(n_labels), np.zeros(n_labels), np.zeros(n_labels)
    n_features = facts[0]["top"].shape[0]
    lo = np.full((n_labels, n_features), np.inf)
    hi = np.full((n_labels, n_features), -np.inf)
    for f in facts:
        pos = np.searchsorted(labels, f["labels"])
        counts[pos] += f["counts"]
        wsum[pos] += f["wsum"]
        wmax[pos] = np.maximum(wmax[pos], f["wmax"])
        lo[pos] = np.minimum(lo[pos], f["lo"])
        hi[pos] = np.maximum(hi[pos], f["hi"])
    return labels, counts, wsum, wmax, lo, hi


class _Scan(NamedTuple):
    """The merged scan of every block: the labels of y with their counts, weighted
    counts and largest sample weights, per label the column min and max over the rows
    of positive weight, and max |x| per column."""

    labels: np.ndarray
    counts: np.ndarray
    wsum: np.ndarray
    wmax: np.ndarray
    lo: np.ndarray
    hi: np.ndarray
    top: np.ndarray


class _Weights(NamedTuple):
    """How the row weights are formed: the weight of each class (None: all 1), the
    normalisation to mean 1, and the sum of the normalised weights per class and in all."""

    class_w: np.ndarray | None
    norm: float
    w_class: np.ndarray
    total: float


class _Columns(NamedTuple):
    """The exact power-of-two column scales, the ridge per column, and at ``alpha=0``
    the constant columns and the others (``active``, None when none is constant)."""

    scale: np.ndarray | None
    pen: float | np.ndarray
    const: np.ndarray
    active: np.ndarray | None


def fit_logistic_dask(est, X, y, sample_weight=None):
    """``est.fit(X, y, sample_weight)`` for a dask array X (rows in chunks).

    ``y`` and ``sample_weight`` are NumPy or dask vectors. Sets the same fitted
    attributes as the in-memory fit and returns ``est``.
    """
    alpha, tol, max_iter, previous = _check_call(est, y)
    blocks = _open_blocks(est, X, y, sample_weight)
    scan = _scan(blocks, alpha)
    multinomial = est.solver in MULTINOMIAL_SOLVERS and scan.labels.size > 2
    if multinomial:
        _check_targets(scan.labels)
        est.classes_ = scan.labels
    else:
        est.classes_, _ = est._encode(scan.labels)
    weights = _row_weights(est, scan, sample_weight is not None, blocks.n_samples)
    if multinomial:
        return _fit_multinomial(est, blocks, scan.labels, weights.class_w, weights.norm,
                                blocks.n_samples, alpha, weights.w_class)

    n_features = blocks.n_features
    solver = est.solver_ = resolve_solver(est.solver, n_features)
    if est.solver == "auto":
        tol, max_iter = est._defaults(solver)
    theta0 = None
    if previous is not None and previous[0].shape[0] == n_features + 1 and np.array_equal(
            previous[1], est.classes_):
        theta0 = previous[0]
    columns = _columns(scan, weights.w_class > 0, alpha)
    theta, info = _solve_binary(est, blocks, weights, columns, solver, theta0, tol, max_iter)
    warn_identifiability({"constant_columns": columns.const})
    # In memory, max |eta| > 30 at alpha = 0 triggers the LP separation check, which needs
    # all rows in one place: here it is only reported
    if alpha == 0.0 and info["max_eta"] > 30.0:
        warnings.warn(
            f"at alpha=0 the fit reached max |eta| = {info['max_eta']:.3g} > 30: the training "
            "data may be linearly separable, in which case the MLE does not exist (the "
            "coefficients diverge). The LP separation check is not run on a dask array X; "
            "set alpha > 0, e.g. 1/n_samples", SeparationWarning, stacklevel=3)
    if not info["converged"]:
        msg = (lbfgs_not_converged(info, max_iter, tol) if solver == "lbfgs"
               else newton_not_converged(info, max_iter, tol))
        warnings.warn(msg, ConvergenceWarning, stacklevel=3)
    est._set_coef(theta)
    est._record_fit(info, None)
    return est


def _check_call(est, y):
    """The estimator's parameters for a dask fit: ``(alpha, tol, max_iter, previous)``,
    previous the warm start's ``(theta, classes)`` or None."""
    alpha, tol, max_iter = est._validate_params()
    if est.solver not in FULL_BATCH:
        raise ValueError(
            f"solver={est.solver!r} does not support a dask array X: fits on dask arrays "
            f"use the full-batch solvers {FULL_BATCH!r} (distributed gradients and "
            "Hessians); compute X (X.compute()) for the minibatch solvers")
    if est.hessian_subsample is not None:
        raise ValueError("hessian_subsample must be None for a dask array X (the Hessian is "
                         f"summed over all row-blocks), got {est.hessian_subsample!r}")
    warm_start = check_flag(est.warm_start, "warm_start")
    est._runner = None
    previous = None
    if warm_start and hasattr(est, "coef_") and est.coef_.shape[0] == 1:
        previous = (np.concatenate([est.intercept_, est.coef_[0]]), est.classes_)
    if y is None:
        raise ValueError("y must be given (class labels), got None")
    return alpha, tol, max_iter, previous


def _open_blocks(est, X, y, sample_weight):
    """The row-blocks of X, y and sample_weight; sets ``n_features_in_``."""
    blocks = RowBlocks(X, {"y": y, "sample_weight": sample_weight})
    n_samples, n_features = blocks.n_samples, blocks.n_features
    if n_samples < 1 or n_features < 1:
        raise ValueError(f"X must have at least one row and one column, got shape "
                         f"({n_samples}, {n_features})")
    for attr in ("feature_names_in_",):
        if hasattr(est, attr):
            delattr(est, attr)
    est.n_features_in_ = n_features
    return blocks


def _scan(blocks, alpha):
    """One pass over the blocks: the validation of X, y and sample_weight and the
    facts of :class:`_Scan` (the column ranges only at ``alpha=0``)."""
    facts = blocks.map(_scan_task, alpha == 0.0)
    if any(f["x_bad"] for f in facts):
        raise ValueError("X must be finite, got NaN or infinite value(s) in a block of the "
                         "dask array X")
    if any(f["y_bad"] for f in facts):
        raise ValueError("y must hold class labels, got NaN or infinite value(s)")
    if any(f["w_bad"] for f in facts):
        raise ValueError("sample_weight must be finite and non-negative")
    top = np.max([f["top"] for f in facts], axis=0)
    return _Scan(*_merge_labels(facts), top)


def _row_weights(est, scan, weighted, n_samples):
    """The row weights as the in-memory ``_row_weights`` forms them (``class_weight``
    "balanced" with the sample-weighted class counts when ``weighted``), from the
    per-label sums of the scan."""
    labels = scan.labels
    class_w = None
    if est.class_weight is not None:
        class_w = class_weights(est.class_weight, labels, labels,
                                scan.wsum if weighted else scan.counts)
    cw = np.ones(labels.size) if class_w is None else np.asarray(class_w, dtype=np.float64)
    w_top = float(np.max(scan.wmax * cw))
    if not (np.isfinite(w_top) and w_top > 0.0):
        raise ValueError(
            "sample_weight times class_weight must be finite with a positive entry, got "
            f"a largest weight of {w_top!r}")
    w_class = scan.wsum * cw / w_top  # sum of the normalised weights, per class
    total = float(np.sum(w_class))
    if np.count_nonzero(w_class > 0) < 2:
        raise ValueError(
            "sample_weight (times class_weight) must give positive weight to rows of both "
            "classes (of two classes at least), got positive weights only for class "
            f"{labels[int(np.argmax(w_class > 0))]!r}: the weighted data have one class")
    unit = not weighted and class_w is None
    norm = 1.0 if unit else n_samples / (total * w_top)
    if not unit and np.all(cw == cw[0]) and not weighted:
        norm, class_w = 1.0, None  # every weight equal: unit weights, as in memory
    return _Weights(class_w, norm, w_class, total)


def _columns(scan, positive, alpha):
    """Exact column scales with the rescaled ridge and, at ``alpha=0``, the constant
    columns over the rows of positive weight (``positive``: per label)."""
    top = scan.top
    n_features = top.shape[0]
    scale = column_scales(np.empty((1, n_features)), top)
    pen = alpha
    if scale is not None and alpha != 0.0:
        with np.errstate(over="ignore", under="ignore", divide="ignore"):
            pen = alpha / (scale * scale)
        bad = ~(np.isfinite(pen) & (pen >= np.finfo(np.float64).tiny))
        if bad.any():
            j = int(np.flatnonzero(bad)[0])
            raise ValueError(
                f"X has a column of extreme magnitude (column {j}: max |x| = {top[j]:.3g}); "
                f"with alpha={alpha:g} the ridge term is not representable in float64 at "
                "that scale (alpha / max|x|^2 under- or overflows). Rescale the columns of "
                "X (e.g. StandardScaler) or set alpha=0")
    const = np.zeros(0, dtype=np.intp)
    if alpha == 0.0:
        const = np.flatnonzero(scan.lo[positive].min(axis=0) == scan.hi[positive].max(axis=0))
    active = None
    if const.size:
        active = np.setdiff1d(np.arange(n_features), const)
    return _Columns(scale, pen, const, active)


def _solve_binary(est, blocks, weights, columns, solver, theta0, tol, max_iter):
    """Newton or L-BFGS on the active, rescaled columns; the coefficients for X."""
    scale, pen, const, active = columns
    n_features = blocks.n_features
    scale_a = scale if scale is None or active is None else scale[active]
    pen_a = pen if np.ndim(pen) == 0 or active is None else pen[active]
    prep = _Prep(est.classes_, weights.class_w, weights.norm, active, scale_a)
    problem = _Problem(blocks, prep, pen_a, blocks.n_samples)
    start = None
    if theta0 is not None:
        start = active_part(_scale_theta0(np.asarray(theta0, dtype=np.float64), scale),
                            active)
    if solver == "lbfgs":
        if start is None:
            start = np.zeros(n_features + 1 - const.size)
            p1 = float(weights.w_class[1] / weights.total)
            start[0] = float(np.log(p1 / (1.0 - p1))) if 0.0 < p1 < 1.0 else 0.0
        theta, info = _lbfgs(problem, start, tol, max_iter)
    else:
        theta, info = _newton(problem, np.zeros(n_features + 1 - const.size)
                              if start is None else start, tol, max_iter)
    return expand_active(_unscale(theta, scale_a), active, n_features), info


def _fit_multinomial(est, blocks, labels, class_w, norm, n_samples, alpha, w_class):
    """Softmax regression by L-BFGS, as ``_fit_multinomial`` of the estimator."""
    from scipy.optimize import minimize

    n_classes = labels.size
    p = blocks.n_features
    shape = (n_classes, p + 1)
    prep = _Prep(labels, class_w, norm, None, None)
    _, _, max_iter = est._validate_params()
    tol, max_iter = est._defaults("lbfgs")
    est.solver_ = "lbfgs"
    curve = []

    def fun(v):
        theta = v.reshape(shape)
        out = blocks.map(_multi_task, prep, theta)
        F = sum(o[0] for o in out) / n_samples
        grad = np.sum([o[1] for o in out], axis=0) / n_samples
        grad[:, 1:] += alpha * theta[:, 1:]
        F += 0.5 * alpha * float(np.sum(theta[:, 1:] ** 2))
        curve.append(F)
        return F, grad.ravel()

    theta0 = np.zeros(shape)
    with np.errstate(divide="ignore"):
        logf = np.log(w_class / w_class.sum())
    theta0[:, 0] = np.where(np.isfinite(logf), logf, -30.0)
    theta0[:, 0] -= theta0[:, 0].mean()
    res = minimize(fun, theta0.ravel(), jac=True, method="L-BFGS-B",
                   options={"maxiter": max_iter, "gtol": tol, "ftol": 0.0, "maxcor": 30,
                            "maxfun": 2 * max_iter + 20})
    theta = res.x.reshape(shape).copy()
    theta[:, 0] -= theta[:, 0].mean()
    g_inf = float(np.abs(res.jac).max())
    floor = 10.0 * np.sqrt(np.finfo(float).eps) * max(1.0, abs(float(res.fun)))
    if not (g_inf <= tol or (res.status in (0, 2) and g_inf <= floor)):
        warnings.warn(
            f"lbfgs (multinomial) did not converge after {int(res.nit)} iterations "
            f"(max_iter={max_iter}): final ||grad F||_inf = {g_inf:.3g} > "
            f"tol={tol:g}; SciPy says: {res.message}", ConvergenceWarning, stacklevel=3)
    est._set_softmax_fit(theta, {"n_iter": int(res.nit), "loss_curve": curve,
                                 "grad_inf": g_inf}, None)
    return est
