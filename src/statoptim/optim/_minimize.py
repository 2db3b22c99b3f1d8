"""Optimiser objects with a ``step(params, grad)`` interface and the ``minimize`` driver
for user objectives that are means of smooth per-row terms."""
from __future__ import annotations

import numpy as np
from scipy import linalg
from scipy.optimize import OptimizeResult

from statoptim._validation import (
    _describe,
    check_choice,
    check_flag,
    check_int,
    check_positive_int,
    check_random_state,
    check_real,
)
from statoptim.optim._common import (
    DEFAULT_LEARNING_RATE,
    _as_real_array,
    check_average,
    check_schedule,
    check_shuffle,
    epoch_order,
    method_hyper,
    step_sizes,
)
from statoptim.optim._sgd_fast import apply_update

__all__ = ["SGD", "Adam", "Adamax", "Momentum", "RMSprop", "minimize"]


class _Optimizer:
    """Base class: the update rule of ``_method`` applied by the compiled kernel."""

    _method = None

    def __init__(self, learning_rate=None, *, schedule="constant", t0=100.0, maximize=False):
        self.learning_rate = learning_rate
        self.schedule = schedule
        self.t0 = t0
        self.maximize = maximize
        self.t = 0
        self._state = None

    def _hyper(self):  # pragma: no cover - overridden
        raise NotImplementedError

    def reset(self):
        """Forget the step counter and all state."""
        self.t = 0
        self._state = None

    def step(self, params, grad):
        """Update ``params`` in place with one step on ``grad`` and return it.

        Parameters
        ----------
        params : ndarray of float64, C-contiguous, writeable, finite, non-empty
            Updated in place (1-D; other shapes are flattened views). The optimiser
            state is for one parameter size: after ``reset()`` it may change.
        grad : array-like of real numbers with the shape of ``params``
            Gradient of the objective at ``params`` (ascent direction if
            ``maximize=True``); finite.

        Raises
        ------
        ValueError
            For bad arguments or hyper-parameters, and when the step would make
            ``params`` non-finite (too large a learning rate); ``params``, the state
            and ``t`` are then left unchanged.
        """
        if not (isinstance(params, np.ndarray) and params.dtype == np.float64
                and params.flags.c_contiguous and params.flags.writeable):
            raise ValueError("params must be a writeable C-contiguous float64 ndarray "
                             f"(updated in place), got {_describe(params)}")
        if params.size == 0:
            raise ValueError("params must have at least one entry, got an empty array")
        if not np.all(np.isfinite(params)):
            raise ValueError(f"params must be finite, got {int((~np.isfinite(params)).sum())} "
                             "NaN or inf")
        flat = params.reshape(-1)
        g = _as_real_array(grad, "grad", "an array of real numbers")
        if g.shape != params.shape:
            raise ValueError(f"grad must have the shape of params {params.shape}, got shape "
                             f"{g.shape}")
        g = np.ascontiguousarray(g, dtype=np.float64).reshape(-1)
        if np.may_share_memory(g, flat):
            g = g.copy()
        if not np.all(np.isfinite(g)):
            raise ValueError(f"grad must be finite, got {int((~np.isfinite(g)).sum())} NaN or "
                             f"inf at step t = {self.t + 1}")
        if check_flag(self.maximize, "maximize"):
            g = -g
        t = check_int(self.t, "t", minimum=0)
        lr = DEFAULT_LEARNING_RATE[self._method] if self.learning_rate is None else check_real(
            self.learning_rate, "learning_rate", low=0.0, low_open=True)
        schedule = check_schedule(self.schedule)
        t0 = check_real(self.t0, "t0", low=0.0, low_open=True)
        code, flags, form, b1, b2, eps = self._hyper()
        if self._state is None:
            if t != 0:
                raise ValueError(f"t must be 0 for an optimiser without state, got {t}; "
                                 "call reset()")
            state = np.zeros((3, flat.size))
        elif self._state.shape[1] != flat.size:
            raise ValueError(f"params must have {self._state.shape[1]} entries like in the "
                             f"previous steps of this optimiser, got {flat.size}; call reset() "
                             "to start over with new parameters")
        else:
            state = self._state.copy()
        lr_t = step_sizes(schedule, lr, t, 1, t0)[0]
        new = flat.copy()
        apply_update(code, flags, form, b1, b2, eps, t + 1, lr_t, g, new,
                     state[0], state[1], state[2])
        if not (np.all(np.isfinite(new)) and np.all(np.isfinite(state))):
            raise ValueError(f"the step t = {t + 1} would make params or the optimiser state "
                             f"non-finite (step size {lr_t:g}, max |grad| = "
                             f"{float(np.abs(g).max()):.3g}); reduce learning_rate or rescale "
                             "the objective")
        flat[:] = new
        self._state = state
        self.t = t + 1
        return params


class SGD(_Optimizer):
    """Plain (minibatch) gradient steps: theta_t = theta_{t-1} - alpha_t g_t.

    Parameters
    ----------
    learning_rate : float, default=None (0.01)
    schedule : {"constant", "invsqrt", "invtime"} or callable, default="constant"
    t0 : float, default=100
        Time scale of "invtime": alpha_t = alpha / (1 + t / t0).
    maximize : bool, default=False
        Step along +grad.

    Examples
    --------
    >>> import numpy as np
    >>> from statoptim.optim import SGD
    >>> theta = np.array([1.0, -2.0])
    >>> opt = SGD(learning_rate=0.1)
    >>> for _ in range(3):
    ...     _ = opt.step(theta, 2 * theta)       # gradient of ||theta||^2
    >>> theta.round(4), opt.t
    (array([ 0.512, -1.024]), 3)
    """

    _method = "sgd"

    def _hyper(self):
        return method_hyper("sgd", momentum=0.9, rho=0.9, beta1=0.9, beta2=0.999, eps=1e-8,
                            nesterov=False, amsgrad=False, eps_inside=False,
                            adam_form="algorithm1")


class Momentum(_Optimizer):
    """Classical momentum in the EMA form, with an optional Nesterov look-ahead.

    v_t = mu v_{t-1} + (1 - mu) g_t and theta_t = theta_{t-1} - alpha_t v_t, or with
    ``nesterov=True`` theta_t = theta_{t-1} - alpha_t (mu v_t + (1 - mu) g_t).
    torch's ``SGD(lr=gamma, momentum=mu)`` (heavy ball) is this with
    alpha = gamma / (1 - mu). Defaults: learning_rate 0.01, momentum 0.9.

    Examples
    --------
    >>> import numpy as np
    >>> from statoptim.optim import Momentum
    >>> theta = np.array([1.0, -2.0])
    >>> opt = Momentum(learning_rate=0.1, momentum=0.9, nesterov=True)
    >>> for _ in range(3):
    ...     _ = opt.step(theta, 2 * theta)
    >>> theta.round(4)
    array([ 0.8445, -1.6891])
    """

    _method = "momentum"

    def __init__(self, learning_rate=None, *, momentum=0.9, nesterov=False,
                 schedule="constant", t0=100.0, maximize=False):
        super().__init__(learning_rate, schedule=schedule, t0=t0, maximize=maximize)
        self.momentum = momentum
        self.nesterov = nesterov

    def _hyper(self):
        return method_hyper("momentum", momentum=self.momentum, rho=0.9, beta1=0.9,
                            beta2=0.999, eps=1e-8, nesterov=self.nesterov, amsgrad=False,
                            eps_inside=False, adam_form="algorithm1")


class RMSprop(_Optimizer):
    """RMSprop: S_t = rho S_{t-1} + (1 - rho) g_t^2, theta -= alpha_t g_t / (sqrt(S_t) + eps).

    ``eps_inside=True`` uses g / sqrt(S + eps) (the talk's and Keras's form). S is not
    bias-corrected, so the first step is about 3.2 alpha at rho = 0.9 (as in every
    library). Defaults: learning_rate 1e-3, rho 0.9, eps 1e-8.

    Examples
    --------
    >>> import numpy as np
    >>> from statoptim.optim import RMSprop
    >>> theta = np.array([1.0, -2.0])
    >>> opt = RMSprop(learning_rate=0.01)
    >>> _ = opt.step(theta, 2 * theta)            # first step ~ 3.2 * learning_rate
    >>> theta.round(4)
    array([ 0.9684, -1.9684])
    """

    _method = "rmsprop"

    def __init__(self, learning_rate=None, *, rho=0.9, eps=1e-8, eps_inside=False,
                 schedule="constant", t0=100.0, maximize=False):
        super().__init__(learning_rate, schedule=schedule, t0=t0, maximize=maximize)
        self.rho = rho
        self.eps = eps
        self.eps_inside = eps_inside

    def _hyper(self):
        return method_hyper("rmsprop", momentum=0.9, rho=self.rho, beta1=0.9, beta2=0.999,
                            eps=self.eps, nesterov=False, amsgrad=False,
                            eps_inside=self.eps_inside, adam_form="algorithm1")


class Adam(_Optimizer):
    """Adam (Kingma & Ba 2015, Algorithm 1), optionally AMSGrad or the efficient form.

    m_t = b1 m + (1 - b1) g, v_t = b2 v + (1 - b2) g^2, theta -= alpha_t m_hat /
    (sqrt(v_hat) + eps). ``adam_form="efficient"`` uses a_t = alpha sqrt(1 - b2^t) /
    (1 - b1^t) with eps_hat_t = eps sqrt(1 - b2^t) (equal to Algorithm 1 up to
    rounding); "constant_eps_hat" uses a constant eps_hat = eps (TF/Keras).
    ``amsgrad=True`` replaces v by its running maximum (torch's variant).
    Defaults: learning_rate 1e-3, beta1 0.9, beta2 0.999, eps 1e-8.

    Examples
    --------
    >>> import numpy as np
    >>> from statoptim.optim import Adam
    >>> theta = np.array([1.0, -2.0])
    >>> opt = Adam(learning_rate=0.1)
    >>> for _ in range(200):
    ...     _ = opt.step(theta, 2 * (theta - 3))  # minimise ||theta - 3||^2
    >>> theta.round(2)
    array([3., 3.])
    """

    _method = "adam"

    def __init__(self, learning_rate=None, *, beta1=0.9, beta2=0.999, eps=1e-8,
                 amsgrad=False, adam_form="algorithm1", schedule="constant", t0=100.0,
                 maximize=False):
        super().__init__(learning_rate, schedule=schedule, t0=t0, maximize=maximize)
        self.beta1 = beta1
        self.beta2 = beta2
        self.eps = eps
        self.amsgrad = amsgrad
        self.adam_form = adam_form

    def _hyper(self):
        return method_hyper("adam", momentum=0.9, rho=0.9, beta1=self.beta1, beta2=self.beta2,
                            eps=self.eps, nesterov=False, amsgrad=self.amsgrad,
                            eps_inside=False, adam_form=self.adam_form)


class Adamax(_Optimizer):
    """Adamax (Kingma & Ba 2015, section 7.1): u_t = max(b2 u_{t-1}, |g_t|),
    theta -= alpha_t m_t / ((1 - b1^t) u_t). Defaults: learning_rate 2e-3.

    Examples
    --------
    >>> import numpy as np
    >>> from statoptim.optim import Adamax
    >>> theta = np.array([1.0, -2.0])
    >>> opt = Adamax(learning_rate=0.1)
    >>> _ = opt.step(theta, 2 * theta)            # the first step is learning_rate * sign(grad)
    >>> theta.round(4)
    array([ 0.9, -1.9])
    """

    _method = "adamax"

    def __init__(self, learning_rate=None, *, beta1=0.9, beta2=0.999, schedule="constant",
                 t0=100.0, maximize=False):
        super().__init__(learning_rate, schedule=schedule, t0=t0, maximize=maximize)
        self.beta1 = beta1
        self.beta2 = beta2

    def _hyper(self):
        return method_hyper("adamax", momentum=0.9, rho=0.9, beta1=self.beta1,
                            beta2=self.beta2, eps=1e-8, nesterov=False, amsgrad=False,
                            eps_inside=False, adam_form="algorithm1")


_CLASSES = {"sgd": SGD, "momentum": Momentum, "rmsprop": RMSprop, "adam": Adam,
            "adamax": Adamax}

#: The ``**options`` of :func:`minimize` each method reads (beta2 is also the decay of
#: ``average="ema"``, for every method).
_OPTIONS_USED = {"sgd": (), "momentum": ("momentum", "nesterov"),
                 "rmsprop": ("rho", "eps", "eps_inside"),
                 "adam": ("beta1", "beta2", "eps", "amsgrad", "adam_form"),
                 "adamax": ("beta1", "beta2")}


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
        s = 1.0
        for _ in range(60):
            cand = x - s * delta
            Fc, gc = _call(fun, cand, None, sign, n_iter + 1)
            if Fc <= F - 1e-4 * s * dec:
                break
            s *= 0.5
        else:
            converged = True
            message = "line search found no decrease: at the optimum to machine precision"
            break
        x, F, g = cand, Fc, gc
        n_iter += 1
        history.append(sign * F)
        if callback is not None:
            callback(x.copy())
    if not converged:
        message = f"max_iter={max_iter} Newton iterations reached"
    return OptimizeResult(x=x, fun=sign * F, jac=sign * g, nit=n_iter, t=n_iter,
                          loss_history=np.asarray(history), success=converged,
                          status=0 if converged else 1, message=message)


def minimize(fun, x0, method="adam", *, n_samples=None, batch_size=None, learning_rate=None,
             schedule="constant", average=False, shuffle=True, stopping="grad", tol=None,
             n_iter_no_change=5, max_iter=100, random_state=None, maximize=False, hess=None,
             callback=None, **options):
    """Minimise (or maximise) a mean of smooth terms with a stochastic optimiser or Newton.

    Parameters
    ----------
    fun : callable ``fun(theta, rows) -> (value, gradient)``
        Mean over the row indices ``rows`` (an int array) of the per-row terms and of
        their gradients; ``rows=None`` means all rows. Non-finite returns raise
        ValueError.
    x0 : array-like of shape (n_params,)
    method : {"sgd", "momentum", "rmsprop", "adam", "adamax", "newton"}, default="adam"
    n_samples : int, default=None
        Number of rows; None runs full-batch steps (one step per epoch).
    batch_size : int, default=None
        Rows per minibatch, default ``min(128, n_samples)``.
    learning_rate, schedule, average, shuffle
        As in :class:`statoptim.LogisticRegression` (t0 of "invtime" = one epoch).
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
        ``adam_form`` (adam); ``beta1``, ``beta2`` (adamax); ``beta2`` is also the EMA
        decay of ``average="ema"``. An option the method does not use raises
        ValueError (it would be silently ignored), as does any option with Newton,
        ``hess`` with another method, and ``batch_size`` without ``n_samples``.

    Returns
    -------
    OptimizeResult
        ``x``, ``fun`` (full-data value at ``x``), ``jac``, ``nit`` (epochs or Newton
        iterations), ``t`` (updates), ``loss_history`` (full-data value after each
        epoch, starting at x0), ``success``, ``message``.

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
    x = np.atleast_1d(_as_real_array(x0, "x0", "a 1-D array of real numbers"))
    if x.ndim != 1:
        raise ValueError(f"x0 must be 1-D (n_params,), got an array of shape {x.shape}")
    x = np.array(x, dtype=np.float64)
    if x.size == 0 or not np.all(np.isfinite(x)):
        raise ValueError(f"x0 must be a non-empty finite 1-D array, got {_describe(x0)}")
    max_iter = check_positive_int(max_iter, "max_iter")
    check_choice(stopping, "stopping", ("grad", "loss", None))
    tol = (1e-10 if method == "newton" else 1e-4) if tol is None else check_real(
        tol, "tol", low=0.0)
    n_iter_no_change = check_positive_int(n_iter_no_change, "n_iter_no_change")
    sign = -1.0 if check_flag(maximize, "maximize") else 1.0
    if callback is not None and not callable(callback):
        raise ValueError(f"callback must be None or callable, got {_describe(callback)}")
    lr = DEFAULT_LEARNING_RATE.get(method) if learning_rate is None else check_real(
        learning_rate, "learning_rate", low=0.0, low_open=True)
    schedule = check_schedule(schedule)
    avg_mode = check_average(average)
    shuffle = check_shuffle(shuffle)
    if n_samples is None:
        if batch_size is not None:
            raise ValueError(f"batch_size={batch_size!r} needs n_samples (the number of rows "
                             "the minibatches are drawn from), got n_samples=None")
        n_rows, b = None, 1
        n_batches = 1
    else:
        n_rows = check_positive_int(n_samples, "n_samples")
        b = min(n_rows, 128) if batch_size is None else check_positive_int(batch_size,
                                                                           "batch_size")
        b = min(b, n_rows)
        n_batches = -(-n_rows // b)
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
    unknown = set(options) - set(_OPTIONS_USED["adam"]) - {"momentum", "nesterov", "rho",
                                                            "eps_inside"}
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
    code, flags, form, b1, b2, eps = method_hyper(method, **hyper_kw)
    state = np.zeros((3, x.size))
    x_avg = x.copy()
    t = 0
    F, g = _call(fun, x, None, sign, 0)
    history = [sign * F]
    best = F
    no_change = 0
    converged = False
    message = f"max_iter={max_iter} epochs reached"
    epoch = 0
    x_rep = x
    for epoch in range(1, max_iter + 1):
        if n_rows is None:
            batches = [None]
        else:
            order = epoch_order(n_rows, b, shuffle, rng)
            batches = [order[k * b:(k + 1) * b] for k in range(n_batches)]
        steps = step_sizes(schedule, lr, t, n_batches, n_batches)
        for k, rows in enumerate(batches):
            _, g = _call(fun, x, rows, sign, t + 1)
            t += 1
            apply_update(code, flags, form, b1, b2, eps, t, steps[k], g, x,
                         state[0], state[1], state[2])
            if not np.all(np.isfinite(x)):
                raise ValueError(f"the {method} iterates diverged (non-finite parameters) at "
                                 f"update t = {t}; reduce learning_rate (got {lr:g})")
            if avg_mode == 1:
                if t <= n_batches:
                    x_avg[:] = x
                else:
                    x_avg += (x - x_avg) / (t - n_batches)
            elif avg_mode == 2:
                x_avg = b2 * x_avg + (1.0 - b2) * x
        if avg_mode == 1:
            x_rep = x_avg.copy()
        elif avg_mode == 2:
            x_rep = x_avg / (1.0 - b2 ** t)
        else:
            x_rep = x.copy()
        F, g_full = _call(fun, x_rep, None, sign, t)
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
    F, g_full = _call(fun, x_rep, None, sign, t)
    return OptimizeResult(x=x_rep, fun=sign * F, jac=sign * g_full, nit=epoch, t=t,
                          loss_history=np.asarray(history), success=converged,
                          status=0 if converged else 1, message=message)
