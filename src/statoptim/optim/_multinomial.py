"""Multinomial (softmax) logistic regression by L-BFGS and by Newton.

F(W, b) = sum_i w_i [logsumexp_k(eta_ik) - eta_{i y_i}] / sum_i w_i + alpha/2 ||W||_F^2
with eta_i = W x_i + b (K classes, W of shape (K, p), the intercepts b unpenalised).
scikit-learn's ``LogisticRegression(C=C)`` (multinomial) is ``alpha = 1 / (n C)``.

The objective and its gradient are two matrix products over X (dense BLAS-3, or
SciPy's sparse products for CSR X: never densified) and O(n K) work on the linear
predictors, processed in row blocks so that no n x K temporary beyond one block is
kept.

Newton (:func:`multinomial_newton`) builds the Hessian of the K (p + 1) parameters
block by block, ``X~^T diag(c_kl) X~`` for each pair of classes k <= l with
``c_kl = w (P_k delta_kl - P_k P_l) / n``, one BLAS-3 product per pair and row block
(never an n x n array).
"""
from __future__ import annotations

import numpy as np
import scipy.sparse as sp

from statoptim.optim._common import backtrack, check_newton_rows

__all__ = ["multinomial_lbfgs", "multinomial_newton", "multinomial_objective", "softmax"]

#: Newton refuses more parameters than this (a dense Hessian of MAX_NEWTON_PARAMS^2
#: float64 is 200 MB and its Cholesky ~4e10 flops); L-BFGS has no such limit.
MAX_NEWTON_PARAMS = 5000

_BLOCK = 8192


def softmax(eta):
    """Row-wise softmax of an (n, K) array without overflow."""
    z = eta - eta.max(axis=1, keepdims=True)
    np.exp(z, out=z)
    z /= z.sum(axis=1, keepdims=True)
    return z


def multinomial_objective(X, yk, theta, alpha, sw=None, *, return_max_eta=False):
    """F and its gradient for checked X (C-contiguous float32/64 or CSR), class indices
    ``yk`` (intp, in [0, K)), ``theta`` of shape (K, p + 1) (intercepts in column 0)
    and row weights ``sw`` normalised to mean 1 (None: unit weights).

    Returns ``(F, grad)`` with grad of the shape of theta, and with
    ``return_max_eta`` also max_i (max_k eta_ik - min_k eta_ik) (the spread of the
    linear predictors, which grows without bound under separation).
    """
    n = X.shape[0]
    W, b = theta[:, 1:], theta[:, 0]
    grad = np.zeros_like(theta)
    loss = 0.0
    spread = 0.0
    for start in range(0, n, _BLOCK):
        stop = min(n, start + _BLOCK)
        Xb = X[start:stop]
        eta = np.asarray(Xb @ W.T, dtype=np.float64) + b
        top = eta.max(axis=1)
        if return_max_eta and eta.shape[0]:
            spread = max(spread, float(np.max(top - eta.min(axis=1))))
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
    if return_max_eta:
        return F, grad, spread
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

    theta0 = np.zeros(shape)
    theta0[:, 0] = _start(yk, n_classes, sw)
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


def _start(yk, n_classes, sw):
    """W = 0 and the intercepts at the log class frequencies (the intercept-only optimum),
    centred to mean 0."""
    freq = np.bincount(yk, weights=sw, minlength=n_classes).astype(np.float64)
    with np.errstate(divide="ignore"):
        logf = np.log(freq / freq.sum())
    b = np.where(np.isfinite(logf), logf, -30.0)
    return b - b.mean()


def multinomial_hessian(X, theta, alpha, n_free, sw=None):
    """Hessian of :func:`multinomial_objective` in the parameters of the first
    ``n_free`` classes (the others held fixed), shape (n_free (p+1), n_free (p+1)),
    rows ordered like ``theta[:n_free].ravel()`` (intercept first in each class).

    Block (k, l) is ``X~^T diag(c_kl) X~ / n + alpha delta_kl D`` with c_kl =
    w (P_k delta_kl - P_k P_l) and D the identity without the intercept: one BLAS-3
    product per pair k <= l and block of rows (a CSR X: SciPy's sparse products,
    never densified beyond the (p+1)^2 blocks).
    """
    n, p = X.shape
    q = p + 1
    H = np.zeros((n_free * q, n_free * q))
    W, b = theta[:, 1:], theta[:, 0]
    for start in range(0, n, _BLOCK):
        stop = min(n, start + _BLOCK)
        Xb = X[start:stop]
        dense = not sp.issparse(Xb)
        if dense:
            Xb = np.asarray(Xb, dtype=np.float64)
        P = softmax(np.asarray(Xb @ W.T, dtype=np.float64) + b)
        if sw is not None:
            wP = P * sw[start:stop, None]
        else:
            wP = P
        for k in range(n_free):
            for m in range(k, n_free):
                c = -wP[:, k] * P[:, m]
                if k == m:
                    c += wP[:, k]
                blk = H[k * q:(k + 1) * q, m * q:(m + 1) * q]
                blk[0, 0] += c.sum()
                cx = np.asarray(c @ Xb).ravel() if not dense else c @ Xb
                blk[0, 1:] += cx
                blk[1:, 0] += cx
                if dense:
                    blk[1:, 1:] += Xb.T @ (Xb * c[:, None])
                else:
                    blk[1:, 1:] += (Xb.T @ sp.diags(c) @ Xb).toarray()
    H /= n
    for k in range(n_free):
        for m in range(k + 1, n_free):
            H[m * q:(m + 1) * q, k * q:(k + 1) * q] = H[k * q:(k + 1) * q, m * q:(m + 1) * q].T
        idx = np.arange(k * q + 1, (k + 1) * q)
        H[idx, idx] += alpha
    return H


def multinomial_separable(X, yk, n_classes):
    """Whether the rows are (quasi-)completely separated for the softmax model, i.e.
    no finite unpenalised MLE: maximise sum_{i, k != y_i} (theta_{y_i} - theta_k) . x~_i
    subject to each term >= 0 and -1 <= theta <= 1, in the reference parametrisation
    (theta of the last class 0), by HiGHS; an optimum above a scaled tolerance means
    a direction along which the likelihood increases for ever (Albert & Anderson 1984).
    The columns are first scaled exactly by powers of two to max |x| in [1, 2).
    """
    from scipy.optimize import linprog

    n, p = X.shape
    Xs = sp.csr_matrix(X, dtype=np.float64)
    top = np.zeros(p)
    if Xs.nnz:
        np.maximum.at(top, Xs.indices, np.abs(Xs.data))
    scale = np.where(top > 0, np.ldexp(1.0, np.frexp(top)[1] - 1), 1.0)
    Xt = sp.hstack([sp.csr_matrix(np.ones((n, 1))), Xs @ sp.diags(1.0 / scale)], format="csr")
    blocks = []
    for k in range(n_classes):
        rows = np.flatnonzero(yk != k)
        if rows.size == 0:
            continue
        A_rows = Xt[rows]
        # (theta_{y_i} - theta_k) . x~_i: +x~_i in the columns of class y_i, -x~_i in k's
        parts = []
        for c in range(n_classes - 1):
            sign = (yk[rows] == c).astype(np.float64) - (1.0 if c == k else 0.0)
            parts.append(sp.diags(sign) @ A_rows)
        blocks.append(sp.hstack(parts, format="csr"))
    A = sp.vstack(blocks, format="csr")
    res = linprog(-np.asarray(A.sum(axis=0)).ravel(), A_ub=-A, b_ub=np.zeros(A.shape[0]),
                  bounds=(-1.0, 1.0), method="highs")
    if res.status != 0:  # pragma: no cover - HiGHS solves this bounded LP
        raise RuntimeError(f"separation check: linprog failed: {res.message}")
    return bool(-res.fun > 1e-7 * max(float(abs(A).sum()), 1.0))


def multinomial_newton(X, yk, n_classes, alpha, *, tol, max_iter, sw=None):
    """Damped Newton on :func:`multinomial_objective` (the objective of
    :func:`multinomial_lbfgs`), from the same start.

    The softmax is invariant to adding one vector to every class's parameters. The
    unpenalised intercepts are fixed by holding the last class's intercept at 0; at
    ``alpha = 0`` the whole last class is held at 0 (the reference-class
    parametrisation, (K-1)(p+1) parameters), and the result is centred over the
    classes (sum_k theta_k = 0: the minimiser that gradient methods started at zero
    converge to, since the gradient sums to 0 over classes). With alpha > 0 the
    coefficients of the minimiser already sum to 0 and only the intercepts are
    centred. Each step solves H d = g by Cholesky (``_cholesky_solve``: exactly scaled,
    shifted if not numerically positive definite) and backtracks (Armijo); it stops
    when half the squared Newton decrement is <= tol * F. At alpha = 0 separation is
    checked by LP (:func:`multinomial_separable`) once the linear predictors diverge.

    Returns ``(theta, info)`` like :func:`multinomial_lbfgs` (info also has
    ``separable``: True, False or None = not checked). Raises ValueError when the
    Hessian would have more than MAX_NEWTON_PARAMS rows, or at alpha = 0 when there
    are fewer rows of positive weight than p + 1 (the Hessian is singular everywhere).
    """
    from statoptim.optim._newton import _cholesky_solve

    n, p = X.shape
    q = p + 1
    K = n_classes
    n_free_cls = K - 1 if alpha == 0.0 else K
    n_params = n_free_cls * q - (0 if alpha == 0.0 else 1)
    if n_params > MAX_NEWTON_PARAMS:
        raise ValueError(
            f"solver='newton' needs a dense Hessian of {n_params} x {n_params} parameters "
            f"(n_classes={K} times n_features + 1 = {q}), more than {MAX_NEWTON_PARAMS}; use "
            "solver='lbfgs' (or 'auto'), which never forms it")
    check_newton_rows(n, sw, q, alpha)
    theta = np.zeros((K, q))
    theta[:, 0] = _start(yk, K, sw)
    theta[:, 0] -= theta[-1, 0]
    free = np.zeros((K, q), dtype=bool)
    free[:n_free_cls] = True
    free[K - 1, 0] = False
    free_flat = free[:n_free_cls].ravel()
    F, G, spread = multinomial_objective(X, yk, theta, alpha, sw, return_max_eta=True)
    curve = [F]
    converged = False
    separable = None
    n_iter = 0
    while n_iter < max_iter:
        H = multinomial_hessian(X, theta, alpha, n_free_cls, sw)
        if not free_flat.all():
            H = H[np.ix_(free_flat, free_flat)]
        g = G[free]
        d, _ = _cholesky_solve(np.asfortranarray(H), g)
        decrement = float(g @ d)
        if 0.5 * decrement <= tol * max(F, np.finfo(float).tiny) or not np.any(d):
            converged = True
            # the last (tiny) full step: near the optimum Newton converges quadratically,
            # so it takes the gradient from ~sqrt(tol) to rounding level for one pass
            cand = theta.copy()
            cand[free] -= d
            F_new, G_new = multinomial_objective(X, yk, cand, alpha, sw)
            if np.isfinite(F_new) and F_new <= F and np.abs(G_new).max() < np.abs(G).max():
                theta, F = cand, F_new
            break
        direction = np.zeros_like(theta)
        direction[free] = d
        step = backtrack(
            lambda c: multinomial_objective(X, yk, c, alpha, sw, return_max_eta=True),
            theta, direction, F, decrement)
        if step is None:  # no decrease possible: at machine precision of the optimum
            converged = True
            break
        F_new, G_new, spread_new, cand = step
        n_iter += 1
        grew = float(np.sum(cand * cand)) > float(np.sum(theta * theta))
        rel_change = (F - F_new) / max(abs(F), 1e-300)
        theta, F, G, spread = cand, F_new, G_new, spread_new
        curve.append(F)
        if alpha == 0.0 and spread > 30.0 and grew and n * K * q <= 4_000_000:
            if separable is None:
                separable = multinomial_separable(X, yk, K) if sw is None else \
                    multinomial_separable(X[sw > 0], yk[sw > 0], K)
            if separable:
                break
        if rel_change == 0.0 and 0.5 * decrement <= 1e-14 * max(F, 1e-300):
            converged = True
            break
    if alpha == 0.0:
        theta -= theta.mean(axis=0)
    else:
        theta[:, 0] -= theta[:, 0].mean()
    _, G = multinomial_objective(X, yk, theta, alpha, sw)
    return theta, {"n_iter": n_iter, "converged": converged, "separable": separable,
                   "grad_inf": float(np.abs(G).max()), "loss_curve": curve,
                   "message": "Newton decrement" if converged else "max_iter reached"}
