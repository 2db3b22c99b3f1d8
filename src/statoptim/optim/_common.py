"""Shared pieces of the optimisers: method codes, defaults, checks, schedules, and the
array validators of the public entry points of :mod:`statoptim.optim`.

The codes mirror the enums of ``_sgd_fast.pyx``.
"""
from __future__ import annotations

import numpy as np
import scipy.sparse as sp

from statoptim._validation import (
    _describe,
    check_1d_finite,
    check_binary,
    check_choice,
    check_flag,
    check_real,
)

METHODS = {"sgd": 0, "momentum": 1, "rmsprop": 2, "adam": 3, "adamax": 4}
F_NESTEROV, F_AMSGRAD, F_EPS_INSIDE = 1, 2, 4
ADAM_FORMS = {"algorithm1": 0, "efficient": 1, "constant_eps_hat": 2}
AVERAGES = {False: 0, None: 0, True: 1, "polyak": 1, "ema": 2}
SCHEDULES = ("constant", "invsqrt", "invtime")

#: Default learning rate of each method (docs/optim.rst, "Update rules").
DEFAULT_LEARNING_RATE = {"sgd": 0.01, "momentum": 0.01, "rmsprop": 1e-3, "adam": 1e-3,
                         "adamax": 2e-3}


#: Columns whose largest |x| lies outside [2**-SAFE_EXPONENT, 2**SAFE_EXPONENT] are
#: rescaled exactly by a power of two before Newton, L-BFGS, the objective and the
#: separation LP (see :func:`column_scales`). In that range x**2, n * x**2 and the
#: products with coefficients of order 1/x neither overflow nor leave the normal range.
SAFE_EXPONENT = 100


def _not_sparse(value, name):
    if sp.issparse(value):
        raise TypeError(f"{name} must be a dense array: scipy.sparse input is not supported "
                        f"here, got a {value.format.upper()} matrix of shape {value.shape}; "
                        f"pass {name}.toarray() if it fits in memory")


def _as_real_array(value, name, what):
    """``np.asarray`` that refuses sparse, complex and non-numeric input (TypeError)."""
    _not_sparse(value, name)
    try:
        arr = np.asarray(value)
    except (TypeError, ValueError):
        raise TypeError(f"{name} must be {what}, got {_describe(value)}") from None
    if np.iscomplexobj(arr):
        raise TypeError(f"{name} must be real, got complex values ({_describe(arr)})")
    if arr.dtype == object:
        try:
            arr = arr.astype(np.float64)
        except (TypeError, ValueError):
            raise TypeError(f"{name} must be {what}, got {_describe(value)}") from None
    if arr.dtype.kind not in "biuf":
        raise TypeError(f"{name} must be {what}, got {_describe(arr)}")
    return arr


def column_absmax(X):
    """max_i |x_ij| per column of a C-contiguous float32/float64 X (one compiled pass),
    and whether X holds a NaN."""
    from statoptim.optim._sgd_fast import column_absmax as kernel

    top = np.empty(X.shape[1])
    nan = kernel(X, top)
    return top, bool(nan)


def sparse_column_absmax(X):
    """max_i |x_ij| per column of a CSR/CSC matrix (0 for columns without stored
    entries), from its stored entries: O(nnz), no dense temporary."""
    top = np.zeros(X.shape[1])
    if X.nnz:
        cols = X.indices if X.format == "csr" else np.repeat(
            np.arange(X.shape[1]), np.diff(X.indptr))
        np.maximum.at(top, cols[:X.indptr[-1]], np.abs(X.data[:X.indptr[-1]]))
    return top


def sparse_ptp(X):
    """max - min per column of a sparse matrix, implicit zeros included."""
    return (X.max(axis=0).toarray().ravel() - X.min(axis=0).toarray().ravel())


def check_matrix(X, name="X", *, min_rows=1, min_cols=0):
    """Validate a dense 2-D array of finite real numbers.

    Returns ``(X, top)``: X C-contiguous, float32 kept and every other real dtype
    (bool, integers, float16, longdouble) converted to float64, and ``top`` the
    largest |x| of each column (for :func:`column_scales`). scipy.sparse, complex
    and non-numeric input raise TypeError; a wrong number of dimensions, too few
    rows or columns and NaN/inf raise ValueError. One compiled pass over X, no
    n x p temporary.
    """
    arr = _as_real_array(X, name, "a 2-D array of real numbers")
    if arr.ndim != 2:
        raise ValueError(f"{name} must be 2-D (n_samples, n_features), got an array of "
                         f"shape {arr.shape}")
    if arr.shape[0] < min_rows:
        raise ValueError(f"{name} must have at least {min_rows} row(s), got shape {arr.shape}")
    if arr.shape[1] < min_cols:
        raise ValueError(f"{name} must have at least {min_cols} column(s), got shape "
                         f"{arr.shape}")
    dtype = np.float32 if arr.dtype == np.float32 else np.float64
    with np.errstate(over="ignore"):  # longdouble beyond float64: inf, reported below
        arr = np.ascontiguousarray(arr, dtype=dtype)
    top, nan = column_absmax(arr)
    if nan or not np.all(np.isfinite(top)):
        n_nan = int(np.isnan(arr).sum())
        n_inf = int(np.isinf(arr).sum())
        raise ValueError(f"{name} must be finite, got {n_nan} NaN and {n_inf} inf "
                         f"(after conversion to {arr.dtype})")
    return arr, top


def check_vector(values, name, length=None):
    """Validate a finite real 1-D array (optionally of a given length); float64 copy-free
    when possible. Sparse or complex input raises TypeError."""
    arr = _as_real_array(values, name, "a 1-D array of real numbers")
    return check_1d_finite(arr, name, n_samples=length)


def check_labels01(y, n_samples, name="y"):
    """Validate 0/1 (or bool) labels, one per row of X; returns float64."""
    arr = _as_real_array(y, name, "a 1-D array of 0/1 labels")
    return check_binary(arr, n_samples, name, meaning=("negative", "positive"),
                        length="one label per row of X").astype(np.float64)


def column_scales(X, top=None):
    """Exact power-of-two scales s_j for the columns of extreme magnitude, or None.

    s_j = 2**k with max_i |x_ij| / s_j in [1, 2) for columns whose largest |x|
    lies outside [2**-SAFE_EXPONENT, 2**SAFE_EXPONENT], 1 for the others (and for
    zero columns); None when no column needs it. Dividing by a power of two is
    exact, and X / s with coefficients theta_j * s_j gives the same linear
    predictor, so the rescaled problem is the same problem in float64. ``top``
    (max |x| per column) is computed when not given.
    """
    if X.size == 0:
        return None
    if top is None:
        top = (sparse_column_absmax(X) if sp.issparse(X)
               else column_absmax(np.ascontiguousarray(X))[0])
    bad = (top > 2.0 ** SAFE_EXPONENT) | ((top > 0) & (top < 2.0 ** -SAFE_EXPONENT))
    if not bad.any():
        return None
    scale = np.ones(X.shape[1])
    scale[bad] = np.ldexp(1.0, np.frexp(top[bad])[1] - 1)  # 2**1024 would overflow
    return scale


def check_average(average):
    """False/None, True/"polyak" or "ema"; returns the kernel code 0, 1 or 2."""
    if average is None or average is False or (isinstance(average, (bool, np.bool_))
                                               and not average):
        return 0
    if average is True or (isinstance(average, np.bool_) and average):
        return 1
    if isinstance(average, str) and average in ("polyak", "ema"):
        return AVERAGES[average]
    raise ValueError(f"average must be one of False, True, 'polyak' or 'ema', "
                     f"got {_describe(average)}")


def check_shuffle(shuffle):
    """True/"rows", "batches" or False; returns "rows", "batches" or "none"."""
    if shuffle is True or (isinstance(shuffle, np.bool_) and shuffle):
        return "rows"
    if shuffle is False or (isinstance(shuffle, np.bool_) and not shuffle):
        return "none"
    if isinstance(shuffle, str) and shuffle in ("rows", "batches"):
        return shuffle
    raise ValueError(f"shuffle must be one of True, False, 'rows' or 'batches', "
                     f"got {_describe(shuffle)}")


def epoch_order(n_samples, batch_size, shuffle, rng):
    """The row visiting order of one epoch (an intp array of length ``n_samples``).

    Minibatch k is ``order[k*b:(k+1)*b]`` with b = ``batch_size``.

    - "rows": ``rng.permutation(n_samples)``, a new uniformly random permutation:
      every minibatch is a uniformly random subset of rows, drawn without
      replacement within the epoch.
    - "batches": the rows are cut once into the fixed contiguous blocks
      ``[j*b, (j+1)*b)``; each epoch visits the n_samples // b full blocks in the
      order ``rng.permutation(n_samples // b)`` and then the remainder block
      ``[(n_samples // b)*b, n_samples)`` (if any) last. Minibatch composition is
      fixed across epochs, only the order of the minibatches is random, and rows are
      read contiguously (the hardware prefetcher works: no cache/TLB misses from
      random rows). Each epoch is still one pass over every row; the minibatch
      gradients are unbiased only if the rows are in random order to begin with
      (i.i.d. draws, or X shuffled once by the caller, e.g.
      ``X[rng.permutation(n)]``). Do not use it on data sorted by label or by time.
    - "none": ``arange(n_samples)``.
    """
    if shuffle == "rows":
        return rng.permutation(n_samples).astype(np.intp, copy=False)
    if shuffle == "batches":
        b = min(batch_size, n_samples)
        n_full = n_samples // b
        blocks = rng.permutation(n_full).astype(np.intp, copy=False)
        order = np.empty(n_samples, dtype=np.intp)
        full = order[:n_full * b].reshape(n_full, b)
        np.add(blocks[:, None] * b, np.arange(b, dtype=np.intp)[None, :], out=full)
        order[n_full * b:] = np.arange(n_full * b, n_samples, dtype=np.intp)
        return order
    return np.arange(n_samples, dtype=np.intp)


def check_schedule(schedule):
    if callable(schedule):
        return schedule
    if isinstance(schedule, str) and schedule in SCHEDULES:
        return schedule
    raise ValueError(
        f"schedule must be one of {list(SCHEDULES)!r} or a callable t -> step size, "
        f"got {_describe(schedule)}"
    )


def step_sizes(schedule, learning_rate, t_start, n_steps, t0):
    """alpha_t for t = t_start + 1, ..., t_start + n_steps as a float64 array.

    "constant": alpha; "invsqrt": alpha / sqrt(t); "invtime": alpha / (1 + t / t0);
    a callable is called with each t and must return a finite positive number.
    """
    t = np.arange(t_start + 1, t_start + n_steps + 1, dtype=np.float64)
    if callable(schedule):
        out = np.empty(n_steps)
        for k, ti in enumerate(t):
            value = schedule(int(ti))
            if not (isinstance(value, (int, float, np.integer, np.floating))
                    and not isinstance(value, (bool, np.bool_))):
                raise TypeError(f"schedule must return a real number (the step size), got "
                                 f"{_describe(value)} at t = {int(ti)}")
            out[k] = value
        bad = ~(np.isfinite(out) & (out > 0))
        if bad.any():
            k = int(np.flatnonzero(bad)[0])
            raise ValueError(
                f"schedule must return finite step sizes > 0, got {out[k]!r} at t = {int(t[k])}"
            )
        return out
    if schedule == "constant":
        return np.full(n_steps, learning_rate)
    if schedule == "invsqrt":
        return learning_rate / np.sqrt(t)
    return learning_rate / (1.0 + t / t0)


def method_hyper(method, *, momentum, rho, beta1, beta2, eps, nesterov, amsgrad,
                 eps_inside, adam_form):
    """Validate hyper-parameters and return (code, flags, adam_form_code, b1, b2, eps)."""
    check_choice(method, "solver" if method not in METHODS else "method", tuple(METHODS))
    eps = check_real(eps, "eps", low=0.0, low_open=True)
    nesterov = check_flag(nesterov, "nesterov")
    amsgrad = check_flag(amsgrad, "amsgrad")
    eps_inside = check_flag(eps_inside, "eps_inside")
    flags = 0
    if method == "momentum":
        b1 = check_real(momentum, "momentum", low=0.0, high=1.0, high_open=True)
        if nesterov:
            flags |= F_NESTEROV
    elif method == "rmsprop":
        b1 = check_real(rho, "rho", low=0.0, high=1.0, high_open=True)
        if eps_inside:
            flags |= F_EPS_INSIDE
    else:
        b1 = check_real(beta1, "beta1", low=0.0, high=1.0, high_open=True)
    b2 = check_real(beta2, "beta2", low=0.0, high=1.0, high_open=True)
    if amsgrad:
        if method != "adam":
            raise ValueError(f"amsgrad=True requires the 'adam' method, got {method!r}")
        flags |= F_AMSGRAD
    check_choice(adam_form, "adam_form", tuple(ADAM_FORMS))
    return METHODS[method], flags, ADAM_FORMS[adam_form], b1, b2, eps


def backtrack(evaluate, theta, direction, F, decrement, max_halvings=60):
    """Armijo backtracking from the full Newton step, shared by every Newton iteration.

    Tries ``cand = theta - s * direction`` for s = 1, 1/2, 1/4, ...;
    ``evaluate(cand)`` returns a tuple whose first entry is the objective there.
    The first step with a finite value ``<= F - 1e-4 s decrement`` is accepted:
    returns ``(*evaluate(cand), cand)``. None when ``max_halvings`` halvings find no
    decrease (the iterate is at the optimum to machine precision).
    """
    s = 1.0
    for _ in range(max_halvings):
        cand = theta - s * direction
        out = evaluate(cand)
        if np.isfinite(out[0]) and out[0] <= F - 1e-4 * s * decrement:
            return (*out, cand)
        s *= 0.5
    return None


def check_newton_rows(n_samples, sw, n_coef, alpha, columns=""):
    """Refuse Newton at ``alpha=0`` with fewer rows of positive weight than coefficients.

    There X~^T W X~ has rank <= n_pos < n_coef at every theta: no Cholesky succeeds
    without a shift, and the iteration would follow a separating direction for dozens
    of steps, so the fit is refused before any factorisation. ``sw`` is the row
    weights (None: all rows count); ``columns`` says what the n_features + 1 count
    holds, e.g. " (non-constant columns + intercept)".
    """
    n_pos = n_samples if sw is None else int(np.count_nonzero(sw > 0))
    if alpha == 0.0 and n_pos < n_coef:
        raise ValueError(
            f"solver='newton' with alpha=0 needs at least n_features + 1 = {n_coef} rows of "
            f"positive weight{columns}, got {n_pos}: the Hessian is singular at every "
            "point, the coefficients are not identifiable, and such data are typically "
            "separable (no MLE). Set alpha > 0 (e.g. 1/n_samples) or use solver='lbfgs'")


def active_part(theta, active):
    """The intercept and the coefficients of the ``active`` columns (None: all)."""
    if active is None:
        return theta
    return np.concatenate([[theta[0]], theta[1 + active]])


def expand_active(theta, active, n_features):
    """The inverse of :func:`active_part`: n_features + 1 coefficients, 0 for the
    columns left out of ``active`` (None: theta is returned as it is)."""
    if active is None:
        return theta
    full = np.zeros(n_features + 1)
    full[0] = theta[0]
    full[1 + active] = theta[1:]
    return full


def newton_not_converged(info, max_iter, tol):
    """The ConvergenceWarning message of a binary Newton fit that ran out of iterations."""
    curve = info["loss_curve"]
    rel = (abs(curve[-2] - curve[-1]) / max(abs(curve[-1]), 1e-300)
           if len(curve) > 1 else float("nan"))
    return (f"Newton did not converge in max_iter={max_iter} iterations: final "
            f"||grad F||_inf = {info['grad_inf']:.3g}, last relative change of F = "
            f"{rel:.3g}; tol={tol:g} bounds half the squared Newton decrement "
            "relative to F. Increase max_iter.")


def lbfgs_not_converged(info, max_iter, tol):
    """The ConvergenceWarning message of a binary L-BFGS fit that did not converge."""
    return (f"lbfgs did not converge after {info['n_iter']} iterations "
            f"(max_iter={max_iter}): final ||grad F||_inf = {info['grad_inf']:.3g} > "
            f"tol={tol:g}; SciPy says: {info['message']}")
