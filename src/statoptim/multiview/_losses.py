"""Data losses of the multi-view CP-tensor model, separate from the solvers.

Each loss scores a matrix of topic scores ``f`` (n_samples, n_topics) against
the label indicators ``Y`` and gives what the block solvers need, all before
the 1/N of the objective:

- ``value(f)``: the summed loss;
- ``gradient(f)``: d value / d f;
- ``working(f, curvature)``: a :class:`WorkingResponse` ``(a, Y_w)`` with
  ``a ||g - Y_w||^2 + const`` a quadratic model of the loss in ``g`` that has
  the loss's value and gradient at ``g = f``. The block solvers minimise these
  models; for the squared loss the model is the loss itself.

``stats(f)`` computes once what value, gradient and working response share
(for the softmax loss the row log-sum-exp and the gradient); the solver caches
it per score matrix in its state and passes it back as ``stats=``.
"""
from __future__ import annotations

from typing import NamedTuple

import numpy as np

from statoptim.multiview import _cp

__all__ = [
    "BOEHNING_CURVATURE",
    "LOSSES",
    "SoftmaxLoss",
    "SoftmaxStats",
    "SquaredLoss",
    "WorkingResponse",
    "logsumexp_softmax_rows",
    "make_loss",
]

#: Boehning's (1992) bound on the Hessian of a row's cross-entropy, as the
#: curvature ``a`` of the quadratic model (H <= I/2, so a = 1/4): a true majorant.
BOEHNING_CURVATURE = 0.25


class WorkingResponse(NamedTuple):
    """Quadratic model ``curvature * ||g - targets||^2 + const`` of a loss around f."""

    curvature: float
    targets: np.ndarray


class SoftmaxStats(NamedTuple):
    """Row log-sum-exp of the scores, the cross-entropy's gradient and value at them."""

    logsumexp: np.ndarray
    gradient: np.ndarray
    value: float


def logsumexp_softmax_rows(f):
    """(log sum_p exp(f_ip), softmax(f_i)) per row in one pass, shifted by the row maximum.

    Plain NumPy: the objective is evaluated after every block, and
    ``scipy.special.logsumexp``'s array-API dispatch costs more than the work.
    """
    mx = f.max(axis=1, keepdims=True)
    e = np.exp(f - mx)
    tot = e.sum(axis=1, keepdims=True)
    e /= tot
    return np.log(tot[:, 0]) + mx[:, 0], e


class SquaredLoss:
    """``||f - Y||^2``: its own quadratic model (curvature 1, targets Y).

    Parameters
    ----------
    Y : ndarray of shape (n_samples, n_topics)
        Targets; kept by reference.
    kernels : module or None
        Unused (the signature of :class:`SoftmaxLoss`).
    """

    name = "squared"
    #: The loss is its own quadratic model: no curvature to adapt.
    quadratic = True

    def __init__(self, Y, kernels=None):
        self.Y = Y

    def stats(self, f):
        """Nothing is shared between value and gradient: None."""

    def value(self, f, stats=None):
        """``||f - Y||^2``."""
        d = (f - self.Y).ravel()
        return float(np.dot(d, d))

    def gradient(self, f, stats=None):
        """``2 (f - Y)`` (a new array)."""
        return 2.0 * (f - self.Y)

    def working(self, f, curvature, stats=None):
        """``(1, Y)`` whatever f and curvature: the loss is exactly quadratic."""
        return WorkingResponse(1.0, self.Y)


class SoftmaxLoss:
    """Multinomial cross-entropy ``sum_i [w_i logsumexp(f_i) - t_i^T f_i]``.

    ``t`` holds the row-normalised labels (a multi-label row spreads its unit
    mass) and ``w_i = sum_p t_ip`` (0 for a row without labels).

    Parameters
    ----------
    Y : ndarray of shape (n_samples, n_topics)
        Label indicators; ``t`` and ``w`` are computed once here.
    kernels : module or None
        Where ``row_max_shift`` and ``softmax_finish`` come from: the compiled
        `_cp` (None) or their NumPy twins in `_kernels_numpy`.
    """

    name = "softmax"
    quadratic = False

    def __init__(self, Y, kernels=None):
        self.Y = Y
        self.kernels = _cp if kernels is None else kernels
        rows = Y.sum(axis=1, keepdims=True)
        self.row_targets = np.ascontiguousarray(
            np.divide(Y, rows, out=np.zeros_like(Y), where=rows > 0), dtype=np.float64)
        self.row_weights = self.row_targets.sum(axis=1, keepdims=True)
        self._weights_1d = np.ascontiguousarray(self.row_weights[:, 0])

    def stats(self, f):
        """:class:`SoftmaxStats` of f (row log-sum-exp, ``w_i softmax(f_i) - t_i``, value).

        One pass of the compiled kernels around NumPy's vectorised ``exp``
        (row maxima and shift, exp, then sums, logs, gradient and value): the
        objective is evaluated after every block update, so this is the fit's
        most frequent computation.
        """
        f = np.ascontiguousarray(f, dtype=np.float64)
        n_samples = f.shape[0]
        row_max = np.empty(n_samples)
        lse = np.empty(n_samples)
        grad = np.empty_like(f)
        self.kernels.row_max_shift(f, row_max, grad)
        np.exp(grad, out=grad)
        value = self.kernels.softmax_finish(f, row_max, self._weights_1d, self.row_targets, lse,
                                            grad)
        return SoftmaxStats(lse, grad, value)

    def value(self, f, stats=None):
        """The summed cross-entropy of the rows of f."""
        if stats is None:
            stats = self.stats(f)
        return float(stats.value)

    def gradient(self, f, stats=None):
        """``w_i softmax(f_i) - t_i``; with ``stats`` given, its array (do not modify)."""
        if stats is None:
            stats = self.stats(f)
        return stats.gradient

    def working(self, f, curvature, stats=None):
        """``(a, f - gradient(f) / (2 a))`` with ``a = curvature``.

        With ``a = BOEHNING_CURVATURE`` the model majorises the loss (the Hessian
        of a row's cross-entropy, ``w_i (diag(s) - s s^T)``, is <= I/2); a
        smaller ``a`` gives a tighter model with the same value and gradient at
        f that need not majorise it (the solver's safeguard checks the step).
        """
        return WorkingResponse(curvature, f - self.gradient(f, stats) / (2.0 * curvature))


LOSSES = {"squared": SquaredLoss, "softmax": SoftmaxLoss}


def make_loss(name, Y, kernels=None):
    """The loss object called ``name`` for targets Y (``kernels``: see SoftmaxLoss)."""
    if not isinstance(name, str) or name not in LOSSES:
        raise ValueError(f"loss must be 'squared' or 'softmax', got {name!r}")
    return LOSSES[name](Y, kernels)
