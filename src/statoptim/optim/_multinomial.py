"""Multinomial (softmax) logistic regression by L-BFGS.

F(W, b) = sum_i w_i [logsumexp_k(eta_ik) - eta_{i y_i}] / sum_i w_i + alpha/2 ||W||_F^2
with eta_i = W x_i + b (K classes, W of shape (K, p), the intercepts b unpenalised).
scikit-learn's ``LogisticRegression(C=C)`` (multinomial) is ``alpha = 1 / (n C)``.

The objective and its gradient are two matrix products over X (dense BLAS-3, or
SciPy's sparse products for CSR X: never densified) and O(n K) work on the linear
predictors, processed in row blocks so that no n x K temporary beyond one block is
kept.
"""
from __future__ import annotations

import numpy as np
import scipy.sparse as sp

__all__ = ["multinomial_lbfgs", "multinomial_objective", "softmax"]

_BLOCK = 8192


def softmax(eta):
    """Row-wise softmax of an (n, K) array without overflow."""
    z = eta - eta.max(axis=1, keepdims=True)
    np.exp(z, out=z)
    z /= z.sum(axis=1, keepdims=True)
    return z


def multinomial_objective(X, yk, theta, alpha, sw=None):
    """F and its gradient for checked X (C-contiguous float32/64 or CSR), class indices
    ``yk`` (intp, in [0, K)), ``theta`` of shape (K, p + 1) (intercepts in column 0)
    and row weights ``sw`` normalised to mean 1 (None: unit weights).

    Returns ``(F, grad)`` with grad of the shape of theta.
    """
    n = X.shape[0]
    W, b = theta[:, 1:], theta[:, 0]
    grad = np.zeros_like(theta)
    loss = 0.0
    for start in range(0, n, _BLOCK):
        stop = min(n, start + _BLOCK)
        Xb = X[start:stop]
        eta = np.asarray(Xb @ W.T, dtype=np.float64) + b
        top = eta.max(axis=1)
        P = np.exp(eta - top[:, None])
        s = P.sum(axis=1)
        rows = np.arange(stop - start)
        li = top + np.log(s) - eta[rows, yk[start:stop]]
        P /= s[:, None]
        P[rows, yk[start:stop]] -= 1.0
        if sw is not None:
            wb = sw[start:stop]
            li = li * wb
            P *= wb[:, None]
        loss += float(li.sum())
        grad[:, 0] += P.sum(axis=0)
        grad[:, 1:] += np.asarray(Xb.T @ P).T if sp.issparse(Xb) else P.T @ Xb
    grad /= n
    grad[:, 1:] += alpha * W
    F = loss / n + 0.5 * alpha * float(np.sum(W * W))
    return F, grad


def multinomial_lbfgs(X, yk, n_classes, alpha, *, tol, max_iter, sw=None, memory=30):
    """Minimise :func:`multinomial_objective` by SciPy's L-BFGS from W = 0 and the
    intercepts at the log class frequencies (the exact intercept-only optimum).

    Returns ``(theta, info)``: theta of shape (K, p + 1) with the intercepts centred
    to mean 0 (softmax is invariant to a common shift, which the unpenalised
    intercepts do not fix), and info like :func:`statoptim.optim._newton.lbfgs_core`.
    """
    from scipy.optimize import minimize

    p = X.shape[1]
    shape = (n_classes, p + 1)
    curve = []

    def fun(v):
        F, g = multinomial_objective(X, yk, v.reshape(shape), alpha, sw)
        curve.append(F)
        return F, g.ravel()

    freq = np.bincount(yk, weights=sw, minlength=n_classes).astype(np.float64)
    theta0 = np.zeros(shape)
    with np.errstate(divide="ignore"):
        logf = np.log(freq / freq.sum())
    theta0[:, 0] = np.where(np.isfinite(logf), logf, -30.0)
    theta0[:, 0] -= theta0[:, 0].mean()
    res = minimize(fun, theta0.ravel(), jac=True, method="L-BFGS-B",
                   options={"maxiter": max_iter, "gtol": tol, "ftol": 0.0, "maxcor": memory,
                            "maxfun": 2 * max_iter + 20})
    theta = res.x.reshape(shape).copy()
    theta[:, 0] -= theta[:, 0].mean()
    g_inf = float(np.abs(res.jac).max())
    floor = 10.0 * np.sqrt(np.finfo(float).eps) * max(1.0, abs(float(res.fun)))
    converged = g_inf <= tol or (res.status in (0, 2) and g_inf <= floor)
    return theta, {"n_iter": int(res.nit), "converged": converged, "grad_inf": g_inf,
                   "loss_curve": curve, "message": str(res.message)}
