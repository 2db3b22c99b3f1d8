"""Plain NumPy references for the FIT-SSVD kernels and algorithm (spec ssvd.md).

Written for clarity, not speed: full products (no active sets), full QR,
explicit loops where the spec describes one. The tests compare the compiled
kernels and the estimator with these.
"""
import math

import numpy as np
from scipy.stats import norm


def eta(A, gamma, soft):
    """Column-wise hard (keep |x| >= gamma) or soft thresholding."""
    A = np.asarray(A, dtype=float)
    gamma = np.broadcast_to(np.asarray(gamma, dtype=float), (A.shape[-1],))
    if soft:
        return np.sign(A) * np.maximum(np.abs(A) - gamma, 0.0)
    return np.where(np.abs(A) >= gamma, A, 0.0)


def energy_scores(X, delta=np.inf):
    """Row and column sums of the (Huberised) energy, and sum X^2."""
    X = np.asarray(X, dtype=float)
    Y = X ** 2
    if np.isfinite(delta):
        Y = np.where(Y <= delta, Y, 2 * np.sqrt(delta) * np.abs(X) - delta)
    return Y.sum(axis=1), Y.sum(axis=0), float((X ** 2).sum())


def mad_sigma(X):
    """1.4826 * median |X - median X| over all entries (dense copy of X)."""
    x = np.asarray(X, dtype=float).ravel()
    return 1.4826 * np.median(np.abs(x - np.median(x)))


def huber_delta(X, beta):
    return float(np.quantile(np.asarray(X, dtype=float).ravel() ** 2, beta))


def select_chi2(scores, sigma, m, alpha):
    bound = 1 + alpha * math.sqrt(math.log(m) / m)
    return np.array([i for i, t in enumerate(scores) if t / (sigma ** 2 * m) > bound], dtype=int)


def select_holm(scores, alpha):
    """Robust Holm step-down, as a loop over the decreasingly sorted scores."""
    scores = np.asarray(scores, dtype=float)
    m = len(scores)
    med = np.median(scores)
    mad = 1.4826 * np.median(np.abs(scores - med))
    if mad == 0:
        return None
    order = sorted(range(m), key=lambda i: (-scores[i], i))
    chosen = []
    for k, i in enumerate(order, start=1):
        p = 1 - norm.cdf((scores[i] - med) / mad)
        if p < alpha / (m - k + 1):
            chosen.append(i)
        else:
            break
    return np.array(sorted(chosen), dtype=int)


def bootstrap_maxima(pool, n_block, draws, n_out, W, scale):
    """maxima[b, k] = max_i |(Z*_b W)_ik| with Z*_b gathered from the pool by ``draws``."""
    n_active, r = W.shape
    full = np.zeros(n_block)
    full[: len(pool)] = pool
    Z = full[draws].reshape(-1, n_out, n_active) * scale
    return np.abs(Z @ W).max(axis=1)


def principal_distance(A, B):
    """sin^2 of the largest principal angle, from scipy's subspace_angles."""
    from scipy.linalg import subspace_angles

    return float(np.sin(subspace_angles(A, B).max()) ** 2)


def projection_loss(A, B):
    """||AA' - BB'||_F^2 / 2 = r - ||A'B||_F^2 for orthonormal A, B."""
    return float(A.shape[1] - np.linalg.norm(A.T @ B) ** 2)


def fit_theory(X, r, *, sigma=None, soft=False, gamma=1.4142135623730951, alpha=1.5, tol=1e-8,
               max_iter=100):
    """FIT-SSVD with the "theory" rule, written from the spec with full products.

    Returns (U, V, n_iter) before sorting/sign normalisation.
    """
    X = np.asarray(X, dtype=float)
    n, p = X.shape
    if sigma is None:
        sigma = mad_sigma(X)
    t, s, _ = energy_scores(X)
    I = select_chi2(t, sigma, p, alpha)
    J = select_chi2(s, sigma, n, alpha)
    if len(I) < r:
        I = np.sort(np.argsort(-t, kind="stable")[: min(r + 10, n)])
    if len(J) < r:
        J = np.sort(np.argsort(-s, kind="stable")[: min(r + 10, p)])
    u0, _, v0t = np.linalg.svd(X[np.ix_(I, J)])
    U = np.zeros((n, r))
    V = np.zeros((p, r))
    U[I] = u0[:, :r]
    V[J] = v0t[:r].T
    Xs = X / sigma
    gu, gv = gamma * math.sqrt(math.log(n)), gamma * math.sqrt(math.log(p))
    it = 0
    for it in range(1, max_iter + 1):  # noqa: B007 (it is the count returned)
        Ut = eta(Xs @ V, gu, soft)
        Un = np.linalg.qr(Ut)[0]
        du = 1 - np.linalg.svd(Un.T @ U, compute_uv=False)[-1] ** 2
        U = Un
        Vt = eta(Xs.T @ U, gv, soft)
        Vn = np.linalg.qr(Vt)[0]
        dv = 1 - np.linalg.svd(Vn.T @ V, compute_uv=False)[-1] ** 2
        V = Vn
        if max(du, dv) <= tol:
            break
    return U, V, it
