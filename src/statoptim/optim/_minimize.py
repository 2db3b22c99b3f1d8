"""The ``minimize`` driver for user objectives that are means of smooth per-row terms.

The optimiser objects (``step(params, grad)``) live in ``_optimizers.py`` and are
re-exported here."""
from __future__ import annotations

from collections.abc import Callable
from typing import Any, Literal, NamedTuple

import numpy as np
from numpy.typing import ArrayLike
from scipy import linalg
from scipy.optimize import OptimizeResult

from statoptim._validation import (
    _describe,
    check_choice,
    check_flag,
    check_positive_int,
    check_random_state,
    check_real,
)
from statoptim.optim._common import (
    DEFAULT_LEARNING_RATE,
    METHODS,
    _as_real_array,
    backtrack,
    check_average,
    check_schedule,
    check_shuffle,
    epoch_order,
    method_hyper,
    step_sizes,
)
from statoptim.optim._optim_fast import update as _update
from statoptim.optim._optimizers import (
    SGD,
    SWATS,
    Adam,
    Adamax,
    AdamW,
    Momentum,
    RMSprop,
    swats_projection,
)
from statoptim.optim._schedules import Schedule
from statoptim.optim._sgd_fast import apply_update

__all__ = ["SGD", "SWATS", "Adam", "AdamW", "Adamax", "Momentum", "RMSprop", "minimize"]


_CLASSES = {"sgd": SGD, "momentum": Momentum, "rmsprop": RMSprop, "adam": Adam,
            "adamax": Adamax, "swats": SWATS}

#: The ``**options`` of :func:`minimize` each method reads (beta2 is also the decay of
#: ``average="ema"``, for every method).
_OPTIONS_USED = {"sgd": (), "momentum": ("momentum", "nesterov"),
                 "rmsprop": ("rho", "eps", "eps_inside"),
                 "adam": ("beta1", "beta2", "eps", "amsgrad", "adam_form"),
                 "adamax": ("beta1", "beta2"),
                 "swats": ("beta1", "beta2", "eps", "switch_tol", "adam_form")}


def _call(fun, theta, rows, sign, t):
    out = fun(theta.copy(), None if rows is None else rows.copy())
    try:
        value, grad = out
    except (TypeError, ValueError):
        raise ValueError(f"fun must return (value, gradient), got {_describe(out)}") from None
    if isinstance(value, (bool, np.bool_)) or np.ndim(value) != 0 or np.iscomplexobj(value):
        raise ValueError(f"fun must return a real scalar value, got {_describe(value)}")
    try:
        value = float(value)
    except (TypeError, ValueError):
        raise ValueError(f"fun must return a real scalar value, got {_describe(value)}") from None
    try:
        grad = _as_real_array(grad, "the gradient returned by fun", "an array of real numbers")
    except TypeError as exc:
        raise ValueError(str(exc)) from None
    grad = np.asarray(grad, dtype=np.float64).reshape(-1)
    if grad.shape != theta.shape:
        raise ValueError(f"fun must return a gradient of shape {theta.shape}, got {grad.shape}")
    if not np.isfinite(value) or not np.all(np.isfinite(grad)):
        where = "the full data" if rows is None else f"{len(rows)} rows"
        raise ValueError(f"fun returned a non-finite value or gradient (value={value!r}) on "
                         f"{where} at update t = {t}; check the objective or reduce "
                         "learning_rate")
    return sign * value, sign * grad


def _newton(fun, hess, x, sign, tol, max_iter, callback):
    F, g = _call(fun, x, None, sign, 0)
    history = [sign * F]
    converged = False
    n_iter = 0
    message = ""
    while n_iter < max_iter:
        out = hess(x.copy())
        try:
            H = sign * np.asarray(_as_real_array(out, "hess", "a real array"), dtype=np.float64)
        except TypeError:
            H = np.zeros(0)
        if H.shape != (x.size, x.size) or not np.all(np.isfinite(H)):
            raise ValueError(f"hess must return a finite real ({x.size}, {x.size}) array, "
                             f"got {_describe(out)}")
        H = 0.5 * (H + H.T)
        tau = 0.0
        scale = max(np.abs(np.diag(H)).max(), 1e-12)
        for _ in range(80):  # Levenberg shift until the Cholesky factorisation succeeds
            try:
                c = linalg.cho_factor(H + tau * np.eye(x.size), check_finite=False)
                break
            except linalg.LinAlgError:
                tau = scale * 1e-10 if tau == 0.0 else 10.0 * tau
        else:  # pragma: no cover
            raise RuntimeError("newton: Hessian could not be made positive definite")
        delta = linalg.cho_solve(c, g, check_finite=False)
        dec = float(g @ delta)
        if 0.5 * dec <= tol * max(1.0, abs(F)):
            converged = True
            message = "half the squared Newton decrement <= tol * max(1, |F|)"
            break
        step = backtrack(lambda c, t=n_iter + 1: _call(fun, c, None, sign, t), x, delta, F, dec)
        if step is None:
            converged = True
            message = "line search found no decrease: at the optimum to machine precision"
            break
        F, g, x = step
        n_iter += 1
        history.append(sign * F)
        if callback is not None:
            callback(x.copy())
    if not converged:
        message = f"max_iter={max_iter} Newton iterations reached"
    return OptimizeResult(x=x, fun=sign * F, jac=sign * g, nit=n_iter, t=n_iter,
                          loss_history=np.asarray(history), success=converged,
                          status=0 if converged else 1, message=message)


def minimize(
    fun: Callable[..., Any], x0: ArrayLike,
    method: Literal["sgd", "momentum", "rmsprop", "adam", "adamax", "swats", "newton"] = "adam", *,
    n_samples: int | None = None, batch_size: int | None = None, learning_rate: float | None = None,
    schedule: str | Schedule | Callable[[int], float] = "constant",
    average: bool | Literal["polyak", "ema"] = False,
    shuffle: bool | Literal["rows", "batches"] = True,
    stopping: Literal["grad", "loss"] | None = "grad", tol: float | None = None,
    n_iter_no_change: int = 5, max_iter: int = 100,
    random_state: int | np.random.Generator | None = None, maximize: bool = False,
    hess: Callable[[np.ndarray], np.ndarray] | None = None,
    callback: Callable[[np.ndarray], Any] | None = None, **options,
) -> OptimizeResult:
    """Minimise (or maximise) a mean of smooth terms with a stochastic optimiser or Newton.

    Parameters
    ----------
    fun : callable ``fun(theta, rows) -> (value, gradient)``
        Mean over the row indices ``rows`` (an int array) of the per-row terms and of
        their gradients; ``rows=None`` means all rows. Non-finite returns raise
        ValueError.
    x0 : array-like of shape (n_params,)
    method : {"sgd", "momentum", "rmsprop", "adam", "adamax", "swats", "newton"}, default="adam"
        "swats": Adam that switches to SGD with momentum when the projected SGD
        learning rate settles (Keskar & Socher 2017; see below and
        :class:`statoptim.optim.SWATS`).
    n_samples : int, default=None
        Number of rows; None runs full-batch steps (one step per epoch).
    batch_size : int, default=None
        Rows per minibatch, default ``min(128, n_samples)``.
    learning_rate, average, shuffle
        As in :class:`statoptim.LogisticRegression`.
    schedule : {"constant", "invsqrt", "invtime"}, Schedule or callable, default="constant"
        As in :class:`statoptim.LogisticRegression` (t0 of "invtime" = one epoch); a
        :class:`statoptim.optim.Schedule` multiplies ``learning_rate`` by
        ``schedule.multiplier(t)`` at update t (t counts minibatch updates: an epoch is
        ceil(n_samples / batch_size) of them, e.g. ``StepDecay(10 * n_batches)`` decays
        every 10 epochs).
    stopping : {"grad", "loss", None}, default="grad"
        "grad": ||full gradient||_inf <= tol after an epoch (one extra full call);
        "loss": the full value fails to improve by tol * max(1, |F|) for
        ``n_iter_no_change`` epochs (not a certificate); None: run ``max_iter`` epochs.
        Newton stops when half the squared Newton decrement <= tol * max(1, |F|).
    tol : float, default=None
        1e-10 for Newton, 1e-4 otherwise.
    max_iter : int, default=100
        Epochs (Newton: iterations).
    random_state : None, int or Generator
        Seeds the per-epoch permutations.
    maximize : bool, default=False
        Maximise ``fun`` instead (e.g. a log-likelihood).
    hess : callable ``hess(theta) -> ndarray (n_params, n_params)``
        Required by Newton: the Hessian of the full-data mean. If it is not positive
        definite, a Levenberg shift tau I is increased until Cholesky succeeds.
    callback : callable ``callback(theta)``, optional
        Called after every epoch (Newton: iteration) with a copy of the iterate.
    **options
        Method hyper-parameters: ``momentum``, ``nesterov`` (momentum); ``rho``, ``eps``,
        ``eps_inside`` (rmsprop); ``beta1``, ``beta2``, ``eps``, ``amsgrad``,
        ``adam_form`` (adam); ``beta1``, ``beta2`` (adamax); ``beta1``, ``beta2``, ``eps``,
        ``switch_tol`` (the paper's epsilon, default 1e-9), ``adam_form`` (swats; the
        paper's form is "constant_eps_hat", see :class:`statoptim.optim.SWATS`);
        ``beta2`` is also the EMA decay of
        ``average="ema"``. An option the method does not use raises
        ValueError (it would be silently ignored), as does any option with Newton,
        ``hess`` with another method, and ``batch_size`` without ``n_samples``.

    Returns
    -------
    OptimizeResult
        ``x``, ``fun`` (full-data value at ``x``), ``jac``, ``nit`` (epochs or Newton
        iterations), ``t`` (updates), ``loss_history`` (full-data value after each
        epoch, starting at x0), ``success``, ``message``. With ``method="swats"`` also
        ``switch_t`` (the update k at which SGD took over, None if it did not),
        ``switch_epoch`` (the epoch of that update, 1-based, None if none) and
        ``switch_learning_rate`` (the SGD learning rate Lambda, None if none).

    Notes
    -----
    SWATS (Keskar & Socher 2017, "Improving generalization performance by switching
    from Adam to SGD", Algorithm 1) runs Adam steps p_k = -alpha_k m_hat_k /
    (sqrt(v_hat_k) + eps) (the paper's line 12 with eps placed as in Kingma & Ba; the
    paper's own placement is ``adam_form="constant_eps_hat"``); after each it computes
    the learning rate for which SGD's step projects onto p_k,
    gamma_k = p_k^T p_k / (-p_k^T g_k) (line 15), and its average lambda_k = b2 lambda_{k-1} +
    (1 - b2) gamma_k (line 16). Once k > 1 and |lambda_k / (1 - b2^k) - gamma_k| <
    ``switch_tol`` (and the estimate is positive),
    the remaining updates are SGD with momentum b1, v_k = b1 v_{k-1} + g_k,
    x_k = x_{k-1} - (1 - b1) Lambda v_k with Lambda = lambda_k / (1 - b2^k) (scaled by
    the schedule's decay since the switch, ``alpha_k / alpha_switch``).

    Examples
    --------
    >>> import numpy as np
    >>> from statoptim.optim import minimize
    >>> A = np.random.default_rng(0).standard_normal((200, 3))
    >>> b = A @ np.array([1.0, -2.0, 0.5])
    >>> def fun(theta, rows):                      # mean squared error over the rows
    ...     rows = slice(None) if rows is None else rows
    ...     r = A[rows] @ theta - b[rows]
    ...     return r @ r / len(r), 2 * A[rows].T @ r / len(r)
    >>> res = minimize(fun, np.zeros(3), method="adam", n_samples=200, batch_size=20,
    ...                learning_rate=0.05, schedule="invsqrt", average=True, max_iter=200,
    ...                random_state=0)
    >>> res.x.round(2)
    array([ 0.97, -1.71,  0.5 ])
    >>> newton = minimize(fun, np.zeros(3), method="newton", hess=lambda th: 2 * A.T @ A / 200)
    >>> newton.x.round(6), newton.success
    (array([ 1. , -2. ,  0.5]), True)
    """
    check_choice(method, "method", tuple(_CLASSES) + ("newton",))
    if not callable(fun):
        raise TypeError(f"fun must be callable, got {_describe(fun)}")
    x = _check_x0(x0)
    max_iter = check_positive_int(max_iter, "max_iter")
    check_choice(stopping, "stopping", ("grad", "loss", None))
    tol = (1e-10 if method == "newton" else 1e-4) if tol is None else check_real(
        tol, "tol", low=0.0)
    n_iter_no_change = check_positive_int(n_iter_no_change, "n_iter_no_change")
    sign = -1.0 if check_flag(maximize, "maximize") else 1.0
    if callback is not None and not callable(callback):
        raise ValueError(f"callback must be None or callable, got {_describe(callback)}")
    lr = DEFAULT_LEARNING_RATE.get("adam" if method == "swats" else method) \
        if learning_rate is None \
        else check_real(learning_rate, "learning_rate", low=0.0, low_open=True)
    if not isinstance(schedule, Schedule):
        schedule = check_schedule(schedule)
    avg_mode = check_average(average)
    shuffle = check_shuffle(shuffle)
    n_rows, b, n_batches = _minibatches(n_samples, batch_size)
    rng = check_random_state(random_state)
    if method == "newton":
        if hess is None or not callable(hess):
            raise ValueError(f"hess must be a callable theta -> Hessian for method='newton', "
                             f"got {_describe(hess)}")
        if options:
            raise ValueError(f"method='newton' takes no optimiser options, got "
                             f"{sorted(options)}")
        return _newton(fun, hess, x, sign, tol, max_iter, callback)
    if hess is not None:
        raise ValueError(f"hess is only used by method='newton', got method={method!r}")
    stepper = _Stepper(x, method, _stochastic_options(method, options, avg_mode), avg_mode,
                       n_batches, lr)
    return _stochastic(fun, stepper, sign, schedule, lr, n_rows, b, n_batches, shuffle, rng,
                       stopping, tol, n_iter_no_change, max_iter, callback)


def _check_x0(x0):
    """``x0`` as a fresh finite float64 1-D array."""
    x = np.atleast_1d(_as_real_array(x0, "x0", "a 1-D array of real numbers"))
    if x.ndim != 1:
        raise ValueError(f"x0 must be 1-D (n_params,), got an array of shape {x.shape}")
    x = np.array(x, dtype=np.float64)
    if x.size == 0 or not np.all(np.isfinite(x)):
        raise ValueError(f"x0 must be a non-empty finite 1-D array, got {_describe(x0)}")
    return x


def _minibatches(n_samples, batch_size):
    """``(n_rows, batch size, batches per epoch)``; n_rows is None for full-batch steps."""
    if n_samples is None:
        if batch_size is not None:
            raise ValueError(f"batch_size={batch_size!r} needs n_samples (the number of rows "
                             "the minibatches are drawn from), got n_samples=None")
        return None, 1, 1
    n_rows = check_positive_int(n_samples, "n_samples")
    b = min(n_rows, 128) if batch_size is None else check_positive_int(batch_size,
                                                                       "batch_size")
    b = min(b, n_rows)
    return n_rows, b, -(-n_rows // b)


def _stochastic_options(method, options, avg_mode):
    """Check ``**options`` against what ``method`` reads; returns its ``_Hyper``."""
    unknown = set(options) - set(_OPTIONS_USED["adam"]) - {"momentum", "nesterov", "rho",
                                                            "eps_inside", "switch_tol"}
    if unknown:
        raise ValueError(f"unknown option(s) for method={method!r}: {sorted(unknown)}")
    used = set(_OPTIONS_USED[method]) | ({"beta2"} if avg_mode == 2 else set())
    unused = set(options) - used
    if unused:
        raise ValueError(f"option(s) {sorted(unused)} are not used by method={method!r} "
                         f"(its options: {sorted(used) or 'none'})")
    hyper_kw = {"momentum": 0.9, "nesterov": False, "rho": 0.9, "eps": 1e-8,
                "eps_inside": False, "beta1": 0.9, "beta2": 0.999, "amsgrad": False,
                "adam_form": "algorithm1"}
    hyper_kw.update(options)
    switch_tol = check_real(hyper_kw.pop("switch_tol", 1e-9), "switch_tol", low=0.0,
                            low_open=True)
    code, flags, form, b1, b2, eps = method_hyper("adam" if method == "swats" else method,
                                                  **hyper_kw)
    return _Hyper(code, flags, form, b1, b2, eps, switch_tol)


class _Hyper(NamedTuple):
    """The compiled update's method code and hyperparameters (``method_hyper``)."""

    code: int
    flags: int
    form: int
    beta1: float
    beta2: float
    eps: float
    switch_tol: float


class _Stepper:
    """The optimiser's state over one run: the iterate, the moment buffers, the
    running average (``average=``) and, for SWATS, the phase and the switch."""

    def __init__(self, x, method, hyper, avg_mode, n_batches, lr):
        self.x, self.method, self.h, self.lr = x, method, hyper, lr
        self.avg_mode, self.n_batches = avg_mode, n_batches
        self.state = np.zeros((3, x.size))
        self.x_avg = x.copy()
        self.t = 0
        self.swats = method == "swats"
        self.phase_sgd, self.lam = False, 0.0
        self.switch = None  # SWATS: (t, epoch, Lambda, alpha_t)

    def step(self, g, step, epoch):
        """One update of ``x`` by the minibatch gradient ``g`` with step size ``step``."""
        self.t += 1
        h, t, x, state = self.h, self.t, self.x, self.state
        if not self.swats:
            apply_update(h.code, h.flags, h.form, h.beta1, h.beta2, h.eps, t, step, g, x,
                         state[0], state[1], state[2])
        elif self.phase_sgd:  # momentum buffer state[2]: zero at the switch
            _update(METHODS["momentum"], 0, 0, h.beta1, h.beta2, h.eps, t,
                    self.switch[2] * (step / self.switch[3]), 0.0, 0.0, g, x,
                    state[2], state[0], state[1])
        else:
            pg, pp = _update(h.code, h.flags, h.form, h.beta1, h.beta2, h.eps, t, step, 0.0,
                             0.0, g, x, state[0], state[1], state[2])
            self.lam, Lambda = swats_projection(pg, pp, t, self.lam, h.beta2, h.switch_tol)
            if Lambda is not None:
                self.phase_sgd, self.switch = True, (t, epoch, Lambda, step)
        if not np.all(np.isfinite(x)):
            raise ValueError(f"the {self.method} iterates diverged (non-finite parameters) "
                             f"at update t = {t}; reduce learning_rate (got {self.lr:g})")
        if self.avg_mode == 1:
            if t <= self.n_batches:
                self.x_avg[:] = x
            else:
                self.x_avg += (x - self.x_avg) / (t - self.n_batches)
        elif self.avg_mode == 2:
            self.x_avg = h.beta2 * self.x_avg + (1.0 - h.beta2) * x

    def reported(self):
        """The iterate reported at the end of an epoch (the average, when averaging)."""
        if self.avg_mode == 1:
            return self.x_avg.copy()
        if self.avg_mode == 2:
            return self.x_avg / (1.0 - self.h.beta2 ** self.t)
        return self.x.copy()


def _stochastic(fun, stepper, sign, schedule, lr, n_rows, b, n_batches, shuffle, rng,
                stopping, tol, n_iter_no_change, max_iter, callback):
    """The epochs of a stochastic method, with the stopping rules checked after each."""
    F, _ = _call(fun, stepper.x, None, sign, 0)
    history = [sign * F]
    best = F
    no_change = 0
    converged = False
    message = f"max_iter={max_iter} epochs reached"
    epoch = 0
    x_rep = stepper.x
    for epoch in range(1, max_iter + 1):
        if n_rows is None:
            batches = [None]
        else:
            order = epoch_order(n_rows, b, shuffle, rng)
            batches = [order[k * b:(k + 1) * b] for k in range(n_batches)]
        if isinstance(schedule, Schedule):
            steps = lr * schedule.multipliers(stepper.t, n_batches)
        else:
            steps = step_sizes(schedule, lr, stepper.t, n_batches, n_batches)
        for k, rows in enumerate(batches):
            _, g = _call(fun, stepper.x, rows, sign, stepper.t + 1)
            stepper.step(g, steps[k], epoch)
        x_rep = stepper.reported()
        F, g_full = _call(fun, x_rep, None, sign, stepper.t)
        history.append(sign * F)
        if callback is not None:
            callback(x_rep.copy())
        if stopping == "grad" and np.abs(g_full).max() <= tol:
            converged, message = True, "||gradient||_inf <= tol"
            break
        if stopping == "loss":
            no_change = no_change + 1 if F > best - tol * max(1.0, abs(best)) else 0
            best = min(best, F)
            if no_change >= n_iter_no_change:
                converged = True
                message = (f"value did not improve by tol * max(1, |F|) for "
                           f"{n_iter_no_change} epochs (not a certificate)")
                break
    F, g_full = _call(fun, x_rep, None, sign, stepper.t)
    result = OptimizeResult(x=x_rep, fun=sign * F, jac=sign * g_full, nit=epoch, t=stepper.t,
                            loss_history=np.asarray(history), success=converged,
                            status=0 if converged else 1, message=message)
    if stepper.swats:
        result.switch_t, result.switch_epoch, result.switch_learning_rate = (
            (None, None, None) if stepper.switch is None else stepper.switch[:3])
    return result
