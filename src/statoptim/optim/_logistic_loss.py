"""The binary logistic loss over all rows: F(theta) with its gradient, and the Hessian.

F(theta) = mean_i [log(1 + e^eta_i) - y_i eta_i] + alpha/2 ||theta_{1:}||^2 with
eta_i = theta_0 + x_i^T theta_{1:}. The gradient is one pass of the compiled kernel
(two dgemv calls per cache-sized block of rows); the Hessian X~^T W X~ is
accumulated by syrk over chunks of sqrt(w_i) x~_i (never an n x n array, no copy
of X). On a large dense X both passes are split into row blocks whose sums are
added in block order on ``n_threads`` threads (:func:`statoptim._threads.reduce_blocks`);
the split depends only on the size of X, so the answer is the same for any
``n_threads``. Newton (:mod:`statoptim.optim._newton`), L-BFGS and the inference
code call these.
"""
from __future__ import annotations

import numpy as np
import scipy.sparse as sp
from numpy.typing import ArrayLike
from scipy.linalg.blas import dsyrk

from statoptim._threads import reduce_blocks, row_blocks
from statoptim._validation import _describe, check_real
from statoptim.optim._common import (
    check_labels01,
    check_matrix,
    check_vector,
    column_scales,
)
from statoptim.optim._sgd_fast import csr_hessian, csr_loss_grad, hessian_rows, logistic_loss_grad

__all__ = ["logistic_hessian", "logistic_objective"]

# Rows per dsyrk call of the Hessian.
_CHUNK = 4096

# Rows per block of the one-pass objective: ~256 KB of float64, so that a block
# stays in the L2 cache between its two dgemv calls.
_BLOCK_VALUES = 32768

# Work of one thread's block, in multiply-adds (about a millisecond): X is split
# into blocks for threads only when it holds two or more such blocks.
_HESSIAN_BLOCK_WORK = 1 << 25
_OBJECTIVE_BLOCK_WORK = 1 << 21


def _work(X):
    """Scratch of the one-pass objective: a block of rows, widened to float64."""
    chunk = max(1, min(X.shape[0], _BLOCK_VALUES // max(1, X.shape[1] + 1)))
    return np.empty(chunk * (X.shape[1] + 1))


def _loss_grad(X, y, theta, pen, grad, sw, n_threads=1):
    if sp.issparse(X):
        return csr_loss_grad(X.data, X.indices, X.indptr, y, theta, pen, grad, sw)
    bounds = row_blocks(X.shape[0], X.shape[1] + 1, _OBJECTIVE_BLOCK_WORK)
    if len(bounds) == 2:
        return logistic_loss_grad(X, y, theta, pen, grad, _work(X), sw)
    return _blocked_loss_grad(X, y, theta, pen, grad, sw, bounds, n_threads)


def _blocked_loss_grad(X, y, theta, pen, grad, sw, bounds, n_threads):
    """:func:`_loss_grad` of a dense X as the sum of its row blocks' shares."""
    n_samples = X.shape[0]

    def piece(b):
        lo, hi = bounds[b], bounds[b + 1]
        Xb = X[lo:hi]
        g = np.empty(X.shape[1] + 1)
        value, max_eta = logistic_loss_grad(Xb, y[lo:hi], theta, 0.0, g, _work(Xb),
                                            None if sw is None else sw[lo:hi])
        share = (hi - lo) / n_samples
        g *= share
        return value * share, g, max_eta

    def combine(total, part):
        total[1][:] += part[1]
        return total[0] + part[0], total[1], max(total[2], part[2])

    value, g, max_eta = reduce_blocks(piece, len(bounds) - 1, n_threads, combine)
    grad[:] = g
    if pen != 0.0:  # as the kernel: no 0 * inf when ||theta||^2 overflows
        coef = theta[1:]
        grad[1:] += pen * coef
        value += 0.5 * pen * float(coef @ coef)
    return value, max_eta


def _objective(X, y, theta, pen, grad, sw=None, n_threads=1):
    """F and its gradient (into ``grad``) for checked, prepared arrays; returns (F, max|eta|).

    ``pen`` is the ridge strength: a float, or one value per coefficient j >= 1
    (the ridge of an exactly rescaled problem, see
    :func:`statoptim.optim._newton.rescaled_problem`). X is a C-contiguous
    float32/float64 array or a checked CSR matrix; ``sw`` the row weights
    normalised to mean 1 (None: unit weights), so that F is the weighted mean of
    the log-loss. ``n_threads``: threads for the row blocks of a large dense X.
    """
    if np.ndim(pen) == 0:
        return _loss_grad(X, y, theta, float(pen), grad, sw, n_threads)
    value, max_eta = _loss_grad(X, y, theta, 0.0, grad, sw, n_threads)
    coef = theta[1:]
    grad[1:] += pen * coef
    return value + 0.5 * float(pen @ (coef * coef)), max_eta


def _check_grad_out(grad, n_features, X, y, theta):
    """The ``grad`` output of :func:`logistic_objective`; returns (grad, theta), theta
    copied when ``grad`` overlaps it (the kernel zeroes grad before it reads theta)."""
    if grad is None:
        return np.empty(n_features + 1), theta
    if not (isinstance(grad, np.ndarray) and grad.dtype == np.float64
            and grad.flags.c_contiguous and grad.flags.writeable):
        raise ValueError("grad must be None or a writeable C-contiguous float64 ndarray "
                         f"(the output), got {_describe(grad)}")
    if grad.shape != (n_features + 1,):
        raise ValueError(f"grad must have shape ({n_features + 1},) = (n_features + 1,), "
                         f"got {grad.shape}")
    if np.may_share_memory(grad, X) or np.may_share_memory(grad, y):
        raise ValueError("grad must not share memory with X or y (it is overwritten)")
    if np.may_share_memory(grad, theta):
        theta = theta.copy()
    return grad, theta


def logistic_objective(X: ArrayLike, y: ArrayLike, theta: ArrayLike, alpha: float,
                       grad: np.ndarray | None = None) -> tuple[float, np.ndarray, float]:
    """F(theta) = mean log-loss + alpha/2 ||theta_{1:}||^2 and its gradient.

    Parameters
    ----------
    X : array-like of shape (n_samples, n_features)
        Finite real numbers, n_samples >= 1; float32 is read as float32 (sums in
        float64), other dtypes are converted to float64. scipy.sparse is not
        supported (TypeError).
    y : array-like of shape (n_samples,)
        Labels in {0, 1} (or bool).
    theta : array-like of shape (n_features + 1,)
        Finite; intercept first.
    alpha : float
        Ridge strength (>= 0); the intercept is not penalised.
    grad : ndarray of shape (n_features + 1,), optional
        Output array for the gradient: writeable, C-contiguous float64, not sharing
        memory with X or y.

    Returns
    -------
    value : float
    grad : ndarray of shape (n_features + 1,)
    max_abs_eta : float
        max_i |eta_i|, used to detect diverging iterates.

    Raises
    ------
    ValueError
        For bad input (the message names the argument), and when F or its gradient
        is not representable in float64 (e.g. |eta_i| above 1.8e308). Columns of X
        of extreme magnitude (max |x| outside [2**-100, 2**100]) are rescaled
        exactly by powers of two first, so the sums over rows cannot overflow.

    Examples
    --------
    >>> import numpy as np
    >>> from statoptim.optim import logistic_objective
    >>> X = np.array([[0.5], [-1.0], [2.0]])
    >>> value, grad, max_abs_eta = logistic_objective(X, [1, 0, 1], np.zeros(2), alpha=0.0)
    >>> round(value, 6)                            # log(2) at theta = 0
    0.693147
    >>> grad.round(6)
    array([-0.166667, -0.583333])
    """
    X, top = check_matrix(X, "X", min_rows=1)
    n_samples, n_features = X.shape
    y = check_labels01(y, n_samples, "y")
    theta = check_vector(theta, "theta", n_features + 1)
    alpha = check_real(alpha, "alpha", low=0.0)
    grad, theta = _check_grad_out(grad, n_features, X, y, theta)
    scale = column_scales(X, top)
    if scale is None:
        value, max_eta = _objective(X, y, theta, alpha, grad)
    else:  # the same linear predictor with X / s and theta * s, then grad_j = s_j g'_j
        with np.errstate(over="ignore", invalid="ignore"):
            theta_s = theta.copy()
            theta_s[1:] *= scale
            if np.all(np.isfinite(theta_s)):
                value, max_eta = _objective(X / scale, y, theta_s, 0.0, grad)
                grad[1:] *= scale
                if alpha != 0.0:
                    grad[1:] += alpha * theta[1:]
                    value += 0.5 * alpha * float(theta[1:] @ theta[1:])
            else:
                value = max_eta = np.inf
    if not (np.isfinite(value) and np.isfinite(max_eta) and np.all(np.isfinite(grad))):
        raise ValueError(
            "logistic_objective: F(theta) or its gradient is not representable in float64 "
            f"for this X (max |x| = {float(np.max(np.abs(X))):.3g}) and theta (max |theta| = "
            f"{float(np.max(np.abs(theta))):.3g}): the linear predictor eta = theta_0 + X "
            "theta_{1:} or the ridge term overflows; rescale X or theta")
    return value, grad, max_eta


_ROWS = {}


def _all_rows(n_samples):
    """0..n_samples-1 as intp, cached for the last size (Newton calls this per step)."""
    if n_samples not in _ROWS:
        _ROWS.clear()
        _ROWS[n_samples] = np.arange(n_samples, dtype=np.intp)
    return _ROWS[n_samples]


def logistic_hessian(X, theta, alpha, rows=None, sw=None, n_threads=1):
    """Hessian X~^T W X~ / m + alpha D over all rows (or the given ``rows``).

    Accumulated by syrk over chunks of sqrt(w_i) x~_i built by a compiled kernel
    (never an n x n array, no copy of X). Returns a Fortran-ordered
    (n_features + 1)^2 array whose upper triangle is set. With row weights ``sw``
    (mean 1), W holds sw_i pi_i (1 - pi_i) and m is the sum of sw over ``rows``.
    A CSR X is accumulated row by row from its stored entries (both triangles).
    A large dense X is split into row blocks, summed in block order on
    ``n_threads`` threads (both triangles set; the same for any ``n_threads``).
    """
    n_coef = X.shape[1] + 1
    if rows is None:
        rows = _all_rows(X.shape[0])
    rows = np.asarray(rows, dtype=np.intp)
    m_total = rows.shape[0] if sw is None else float(np.sum(sw[rows]))
    theta = np.ascontiguousarray(theta, dtype=np.float64)
    if sp.issparse(X):
        Hc = np.zeros((n_coef, n_coef))
        csr_hessian(X.data, X.indices, X.indptr, theta, rows, Hc, sw)
        H = np.asfortranarray(Hc)
    else:
        # the blocks' (n_coef, n_coef) pieces are held until added: 64 MB at most
        bounds = row_blocks(rows.shape[0], n_coef * n_coef, _HESSIAN_BLOCK_WORK, align=_CHUNK,
                            max_blocks=max(2, (1 << 23) // (n_coef * n_coef)))
        if len(bounds) == 2:
            H = _syrk_rows(X, theta, rows, sw)
        else:
            H = np.asfortranarray(reduce_blocks(
                lambda b: _gram_rows(X, theta, rows[bounds[b]:bounds[b + 1]], sw),
                len(bounds) - 1, n_threads, lambda total, piece: np.add(total, piece, out=total)))
    H /= m_total if m_total > 0 else 1.0
    diag = H.reshape(-1, order="F")[n_coef + 1::n_coef + 1]  # H[j, j] for j >= 1, a view
    diag += alpha
    return H


def _syrk_rows(X, theta, rows, sw):
    """Upper triangle of sum over ``rows`` of w_i x~_i x~_i^T (Fortran order), by dsyrk."""
    n_coef = X.shape[1] + 1
    H = np.zeros((n_coef, n_coef), order="F")
    buf = np.empty((min(_CHUNK, max(rows.shape[0], 1)), n_coef))
    for start in range(0, rows.shape[0], _CHUNK):
        r = rows[start:start + _CHUNK]
        A = buf[:r.shape[0]]
        hessian_rows(X, theta, r, A, sw)
        H = dsyrk(1.0, A.T, beta=1.0, c=H, trans=0, lower=0, overwrite_c=1)
    return H


def _gram_rows(X, theta, rows, sw):
    """sum over ``rows`` of w_i x~_i x~_i^T (both triangles) by NumPy's A^T A, which
    releases the GIL in BLAS (SciPy's dsyrk wrapper holds it) so blocks run in parallel."""
    n_coef = X.shape[1] + 1
    H = np.zeros((n_coef, n_coef))
    buf = np.empty((min(_CHUNK, rows.shape[0]), n_coef))
    for start in range(0, rows.shape[0], _CHUNK):
        r = rows[start:start + _CHUNK]
        A = buf[:r.shape[0]]
        hessian_rows(X, theta, r, A, sw)
        H += A.T @ A
    return H
