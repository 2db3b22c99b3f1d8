"""Internal harness of the optimisers for the benchmarks and the studies.

Not part of the public API (no stability promise): it exists so that
``benchmarks/`` and ``statoptim.studies`` reach the compiled minibatch epochs and
the traced full-batch solvers through one documented module instead of the
subpackage's private modules. Library code and users should use
:class:`statoptim.LogisticRegression` and :func:`statoptim.optim.minimize`.

The honest time-to-tolerance measurements (docs/optim.rst, "Honest time to
tolerance"): F* from a float64 Newton solve, each iterate's gap evaluated outside
the timed region, CPU time (``time.process_time``).

- :func:`optimum`: theta* and F* by float64 Newton to a gradient of about 1e-12.
- :func:`trace_stochastic`, :func:`trace_newton`, :func:`trace_lbfgs`: the iterates
  of a solver with the cumulative CPU seconds at each.
- :func:`gaps` and :func:`first_reaching`: relative gaps of a trace and the time of
  the first iterate below a tolerance.
- :func:`epoch_runner`: the compiled minibatch state behind
  ``LogisticRegression``'s stochastic solvers (``run_epoch(X, y)``, ``coef()``).
"""
from __future__ import annotations

import time
import warnings

import numpy as np

from statoptim.optim._common import method_hyper
from statoptim.optim._newton import lbfgs_logistic, logistic_objective, newton_logistic
from statoptim.optim._stochastic import LogisticEpochRunner

__all__ = [
    "epoch_runner",
    "first_reaching",
    "gaps",
    "optimum",
    "trace_lbfgs",
    "trace_newton",
    "trace_stochastic",
]

#: The optimisers' hyper-parameters of ``LogisticRegression``'s defaults.
DEFAULT_HYPER = {"momentum": 0.9, "rho": 0.9, "beta1": 0.9, "beta2": 0.999, "eps": 1e-8,
                 "nesterov": False, "amsgrad": False, "eps_inside": False,
                 "adam_form": "algorithm1"}


def optimum(X, y, alpha):
    """theta* and F* by float64 damped Newton to ||grad F||_inf ~ 1e-12 or below.

    Parameters
    ----------
    X : ndarray of shape (n_samples, n_features)
    y : array-like of shape (n_samples,), labels in {0, 1}
    alpha : float
        Ridge strength (>= 0).

    Returns
    -------
    theta : ndarray of shape (n_features + 1,)
        Intercept first.
    F : float
        The objective at theta.
    """
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        theta, info = newton_logistic(np.asarray(X, dtype=np.float64),
                                      np.asarray(y, dtype=np.float64), alpha, tol=1e-24,
                                      separation_check=False)
    return theta, info["loss_curve"][-1]


def epoch_runner(n_features, method, *, learning_rate, alpha=0.0, schedule="constant",
                 batch_size=128, average=False, shuffle=True, random_state=0, **hyper):
    """The compiled minibatch state of ``LogisticRegression(method)``.

    Parameters
    ----------
    n_features : int
    method : {"sgd", "momentum", "rmsprop", "adam", "adamax"}
    learning_rate, alpha, schedule, batch_size, average, shuffle
        As in :class:`statoptim.LogisticRegression` (``average`` True: Polyak).
    random_state : int or Generator
        Seeds the epoch orders.
    **hyper
        Optimiser hyper-parameters overriding :data:`DEFAULT_HYPER`.

    Returns
    -------
    runner
        ``run_epoch(X, y)`` runs one epoch; ``coef()`` is the current (averaged)
        iterate, intercept first; ``theta`` and ``t`` the raw iterate and update count.
    """
    kw = {**DEFAULT_HYPER, **hyper}
    return LogisticEpochRunner(
        n_features, method_hyper(method, **kw), learning_rate=learning_rate,
        schedule=schedule, alpha=alpha, batch_size=batch_size, average=average,
        avg_decay=kw["beta2"], shuffle=shuffle, rng=np.random.default_rng(random_state))


def trace_stochastic(X, y, alpha, method, *, epochs, learning_rate, schedule="constant",
                     average=False, batch_size=128, random_state=0, shuffle=True, **hyper):
    """Run ``epochs`` compiled epochs; return [(cumulative CPU s, theta)] per epoch.

    ``shuffle`` is the epoch order (True / "rows", "batches" or False). Only the
    epochs are timed; copying the returned iterate is outside the clock.
    """
    runner = epoch_runner(X.shape[1], method, learning_rate=learning_rate, alpha=alpha,
                          schedule=schedule, batch_size=batch_size, average=average,
                          shuffle=shuffle, random_state=random_state, **hyper)
    y = np.asarray(y, dtype=np.float64)
    out, total = [], 0.0
    for _ in range(epochs):
        t0 = time.process_time()
        runner.run_epoch(X, y)
        total += time.process_time() - t0
        out.append((total, runner.coef()))
    return out


def _trace_callback(run):
    stamps, thetas = [], []
    t0 = time.process_time()

    def cb(theta):
        stamps.append(time.process_time() - t0)
        thetas.append(np.array(theta, copy=True))

    run(cb)
    return list(zip(stamps, thetas))


def trace_newton(X, y, alpha, **kw):
    """[(CPU s since start, theta)] after each Newton iteration (``newton_logistic``)."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return _trace_callback(lambda cb: newton_logistic(
            X, np.asarray(y, dtype=np.float64), alpha, callback=cb, **kw))


def trace_lbfgs(X, y, alpha, **kw):
    """[(CPU s since start, theta)] after each iteration of the package's L-BFGS."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return _trace_callback(lambda cb: lbfgs_logistic(
            X, np.asarray(y, dtype=np.float64), alpha, callback=cb, **kw))


def gaps(trace, X, y, alpha, F_star):
    """Relative gaps r = (F - F*) / F* of each traced iterate (untimed)."""
    yf = np.asarray(y, dtype=np.float64)
    return np.array([(logistic_objective(X, yf, th, alpha)[0] - F_star) / F_star
                     for _, th in trace])


def first_reaching(trace, r, tol):
    """CPU time of the first iterate with gap <= tol, or None."""
    hit = np.flatnonzero(np.asarray(r) <= tol)
    return trace[hit[0]][0] if hit.size else None
