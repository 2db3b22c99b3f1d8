"""Shared pieces of the stochastic optimisers: method codes, defaults, checks, schedules.

The codes mirror the enums of ``_sgd_fast.pyx``.
"""
from __future__ import annotations


import numpy as np

from statoptim._validation import _describe, check_choice, check_real

METHODS = {"sgd": 0, "momentum": 1, "rmsprop": 2, "adam": 3, "adamax": 4}
F_NESTEROV, F_AMSGRAD, F_EPS_INSIDE = 1, 2, 4
ADAM_FORMS = {"algorithm1": 0, "efficient": 1, "constant_eps_hat": 2}
AVERAGES = {False: 0, None: 0, True: 1, "polyak": 1, "ema": 2}
SCHEDULES = ("constant", "invsqrt", "invtime")

#: Default learning rate of each method (spec, section 2).
DEFAULT_LEARNING_RATE = {"sgd": 0.01, "momentum": 0.01, "rmsprop": 1e-3, "adam": 1e-3,
                         "adamax": 2e-3}


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
        out = np.array([schedule(int(ti)) for ti in t], dtype=np.float64)
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
