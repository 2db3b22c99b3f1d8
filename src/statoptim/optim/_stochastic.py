"""The stochastic epoch drivers for logistic regression: state, permutations, step sizes.

One :class:`LogisticEpochRunner` (binary) or :class:`SoftmaxEpochRunner` (multinomial,
and binary SWATS) holds theta, the optimiser state, the step counter
t (never reset between epochs) and the averaged iterate; ``run_epoch`` draws the
epoch's permutation from the runner's Generator, precomputes alpha_t for the
epoch and calls the compiled kernel once.
"""
from __future__ import annotations

import numpy as np
import scipy.sparse as sp

from statoptim.optim._common import check_average, check_shuffle, epoch_order, step_sizes
from statoptim.optim._schedules import Schedule
from statoptim.optim._sgd_fast import csr_epoch, logistic_epoch
from statoptim.optim._softmax_fast import softmax_csr_epoch, softmax_epoch

__all__ = ["LogisticEpochRunner", "SoftmaxEpochRunner", "epoch_steps"]


def epoch_steps(schedule, learning_rate, t, n_batches):
    """alpha_t for the next ``n_batches`` updates after update t: a
    :class:`~statoptim.optim.Schedule` object multiplies ``learning_rate`` by its
    ``multiplier(t)`` (t counts minibatch updates, as in ``minimize``); a string or a
    callable as :func:`statoptim.optim._common.step_sizes`."""
    if isinstance(schedule, Schedule):
        return learning_rate * schedule.multipliers(t, n_batches)
    return step_sizes(schedule, learning_rate, t, n_batches, n_batches)


class _EpochRunner:
    """What the two runners share: the hyper-parameters, the iterate, its moments and
    running average (arrays of ``shape``), the step counter and the epoch plan."""

    def __init__(self, shape, hyper, *, learning_rate, schedule, alpha, batch_size,
                 average, avg_decay, shuffle, rng):
        self.average = check_average(average)
        self._set_params(hyper, learning_rate=learning_rate, schedule=schedule, alpha=alpha,
                         batch_size=batch_size, avg_decay=avg_decay, shuffle=shuffle)
        self.rng = rng
        self.theta = np.zeros(shape)
        self.state = np.zeros((3,) + shape)
        self.theta_avg = np.zeros(shape)
        self.grad = np.empty(shape)
        self.t = 0
        self.avg_start = None  # set to one epoch of updates at the first epoch
        self.key = None  # what the owner uses to decide whether this state still applies

    def update_params(self, hyper, *, learning_rate, schedule, alpha, batch_size, avg_decay,
                      shuffle):
        """Use new hyper-parameters from the next epoch on, keeping theta, the moments,
        t and the averages (the method and the averaging mode must not change)."""
        if hyper[0] != self.hyper[0]:
            raise ValueError("update_params cannot change the method; start a new runner")
        self._set_params(hyper, learning_rate=learning_rate, schedule=schedule, alpha=alpha,
                         batch_size=batch_size, avg_decay=avg_decay, shuffle=shuffle)

    def _set_params(self, hyper, *, learning_rate, schedule, alpha, batch_size, avg_decay,
                    shuffle):
        """The hyper-parameters a runner may change between epochs."""
        self.hyper = hyper
        self.learning_rate = learning_rate
        self.schedule = schedule
        self.alpha = alpha
        self.batch_size = batch_size
        self.avg_decay = avg_decay
        self.shuffle = check_shuffle(shuffle)

    def _plan(self, X):
        """``(batch size, row order, step sizes)`` of the next epoch over X, or None for
        an empty X; checks X's width against the state."""
        n_coef = self.theta.shape[0]
        if X.ndim != 2 or X.shape[1] + 1 != n_coef:
            raise ValueError(f"X must have {n_coef - 1} columns (this optimiser state's "
                             f"n_features), got shape {X.shape}")
        n_samples = X.shape[0]
        if n_samples == 0:
            return None
        b = min(self.batch_size, n_samples)
        n_batches = -(-n_samples // b)
        if self.avg_start is None:
            self.avg_start = n_batches
        order = epoch_order(n_samples, b, self.shuffle, self.rng)
        return b, order, epoch_steps(self.schedule, self.learning_rate, self.t, n_batches)


class LogisticEpochRunner(_EpochRunner):
    """Mutable state of a minibatch optimiser on the logistic objective.

    Parameters
    ----------
    n_features : int
    hyper : tuple
        (method_code, flags, adam_form_code, b1, b2, eps) from ``method_hyper``.
    learning_rate, schedule : step size and schedule ("constant", "invsqrt",
        "invtime" or a callable t -> alpha_t).
    alpha : float
        Ridge strength (coupled: added to every minibatch gradient).
    batch_size : int
    average : False, True/"polyak" or "ema"
    avg_decay : float
        EMA decay (beta2) for ``average="ema"``.
    shuffle : True/"rows", "batches" or False
        See :func:`statoptim.optim._common.epoch_order`.
    rng : numpy Generator
    """

    def __init__(self, n_features, hyper, *, learning_rate, schedule, alpha, batch_size,
                 average, avg_decay, shuffle, rng):
        super().__init__((n_features + 1,), hyper, learning_rate=learning_rate,
                         schedule=schedule, alpha=alpha, batch_size=batch_size,
                         average=average, avg_decay=avg_decay, shuffle=shuffle, rng=rng)

    def run_epoch(self, X, y, sw=None):
        """One pass of ceil(n / batch_size) updates over X (C-contiguous float32/64,
        or a CSR matrix checked by the caller).

        X must have the runner's n_features columns and y one 0/1 label per row
        (the kernel checks every length and raises ValueError otherwise). ``sw``:
        row weights normalised to mean 1, or None.
        """
        plan = self._plan(X)
        if plan is None:
            return self.t
        b, order, steps = plan
        code, flags, form, b1, b2, eps = self.hyper
        if sp.issparse(X):
            self.t = csr_epoch(X.data, X.indices, X.indptr, y, order, b, self.alpha, code,
                               flags, form, b1, b2, eps, steps, self.t, self.theta,
                               self.state[0], self.state[1], self.state[2], self.average,
                               self.avg_start, self.avg_decay, self.theta_avg, self.grad, sw)
            return self.t
        self.t = logistic_epoch(X, y, order, b, self.alpha, code, flags, form, b1, b2, eps,
                                steps, self.t, self.theta, self.state[0], self.state[1],
                                self.state[2], self.average, self.avg_start, self.avg_decay,
                                self.theta_avg, self.grad, self._resid(b), sw)
        return self.t

    def _resid(self, b):
        """Scratch for a batch's residuals (kept between epochs)."""
        if getattr(self, "_resid_buf", None) is None or self._resid_buf.shape[0] < b:
            self._resid_buf = np.empty(b)
        return self._resid_buf

    def coef(self):
        """The returned iterate: theta, the Polyak-Ruppert mean, or the bias-corrected EMA."""
        if self.average == 1:
            return self.theta_avg.copy() if self.t > 0 else self.theta.copy()
        if self.average == 2:
            if self.t == 0:
                return self.theta.copy()
            return self.theta_avg / (1.0 - self.avg_decay ** self.t)
        return self.theta.copy()


# SWATS state layout of the softmax epochs (SW_* in _epoch.pxd).
_SW_ON, _SW_PHASE, _SW_LAMBDA, _SW_T, _SW_TOL, _SW_LEN = 0, 1, 3, 5, 6, 7


class SoftmaxEpochRunner(_EpochRunner):
    """Mutable state of a minibatch optimiser on the multinomial (softmax) objective
    with ``n_classes`` >= 2 classes, or on the binary one with ``n_classes=1`` (one
    column of coefficients, labels in {0, 1}).

    Parameters are those of :class:`LogisticEpochRunner`, plus ``n_classes`` and
    ``switch_tol``: a float turns the method (which must be Adam) into SWATS, None
    leaves it plain. The coefficients are kept as a (n_features + 1, K) array
    (intercepts in row 0; the kernel's layout); :meth:`coef` returns them as
    (K, n_features + 1), intercepts in column 0.
    """

    def __init__(self, n_features, n_classes, hyper, *, learning_rate, schedule, alpha,
                 batch_size, average, avg_decay, shuffle, rng, switch_tol=None):
        super().__init__((n_features + 1, n_classes), hyper, learning_rate=learning_rate,
                         schedule=schedule, alpha=alpha, batch_size=batch_size,
                         average=average, avg_decay=avg_decay, shuffle=shuffle, rng=rng)
        self.swats = np.zeros(_SW_LEN)
        if switch_tol is not None:
            self.swats[_SW_ON] = 1.0
            self.swats[_SW_TOL] = switch_tol
        self.switch_epoch = None
        self.epochs = 0
        self._xbuf = self._ebuf = None

    def update_params(self, hyper, *, learning_rate, schedule, alpha, batch_size, avg_decay,
                      shuffle, switch_tol=None):
        """As :meth:`LogisticEpochRunner.update_params`; ``switch_tol`` for SWATS."""
        super().update_params(hyper, learning_rate=learning_rate, schedule=schedule,
                              alpha=alpha, batch_size=batch_size, avg_decay=avg_decay,
                              shuffle=shuffle)
        if switch_tol is not None:
            self.swats[_SW_TOL] = switch_tol

    def set_coef(self, theta):
        """Start from ``theta`` of shape (K, n_features + 1)."""
        self.theta[:] = np.asarray(theta).T
        self.theta_avg[:] = self.theta

    def run_epoch(self, X, y, sw=None):
        """One pass of minibatch updates over X (C-contiguous float32/64 or checked CSR)
        with class indices ``y`` (intp; 0/1 for the binary model)."""
        K = self.theta.shape[1]
        plan = self._plan(X)
        if plan is None:
            return self.t
        b, order, steps = plan
        code, flags, form, b1, b2, eps = self.hyper
        if self._ebuf is None or self._ebuf.shape[0] < b:
            self._ebuf = np.empty((b, K))
        args = (y, order, b, self.alpha, code, flags, form, b1, b2, eps, steps, self.t,
                self.theta, self.state[0], self.state[1], self.state[2], self.average,
                self.avg_start, self.avg_decay, self.theta_avg, self.grad)
        if sp.issparse(X):
            self.t = softmax_csr_epoch(X.data, X.indices, X.indptr, *args, self._ebuf,
                                       self.swats, sw)
        else:
            if self._xbuf is None or self._xbuf.shape[0] < b:
                self._xbuf = np.empty((b, X.shape[1]))
            self.t = softmax_epoch(X, *args, self._xbuf, self._ebuf, self.swats, sw)
        self.epochs += 1
        if self.switch_epoch is None and self.swats[_SW_PHASE] != 0.0:
            self.switch_epoch = self.epochs
        return self.t

    @property
    def switch_t(self):
        """The update t of the SWATS switch (None before)."""
        return int(self.swats[_SW_T]) if self.swats[_SW_PHASE] != 0.0 else None

    @property
    def switch_learning_rate(self):
        """Lambda, the SGD learning rate chosen at the switch (None before)."""
        return float(self.swats[_SW_LAMBDA]) if self.swats[_SW_PHASE] != 0.0 else None

    def coef(self):
        """The returned iterate (K, n_features + 1): theta, the Polyak-Ruppert mean, or
        the bias-corrected EMA."""
        if self.average == 1 and self.t > 0:
            out = self.theta_avg
        elif self.average == 2 and self.t > 0:
            out = self.theta_avg / (1.0 - self.avg_decay ** self.t)
        else:
            out = self.theta
        return np.ascontiguousarray(out.T)
