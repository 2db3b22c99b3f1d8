"""Plain-NumPy references for the multiview kernels and objective (no statoptim code)."""
import numpy as np


def hadamard_products(A):
    """Pi and leave-one-out products by explicit loops over views."""
    n_views = A.shape[0]
    prod = np.prod(A, axis=0)
    loo = np.empty_like(A)
    for v in range(n_views):
        others = [A[u] for u in range(n_views) if u != v]
        loo[v] = np.prod(others, axis=0) if others else np.ones_like(A[v])
    return prod, loo


def block_hessian(Z, W, Q, reg):
    """H = (1/N) sum_i (D_i Q D_i) kron z_i z_i^T + reg I, with dense Kronecker products."""
    n_samples, n_cols = Z.shape
    rank = W.shape[1]
    H = np.zeros((rank * n_cols, rank * n_cols))
    for i in range(n_samples):
        D = np.diag(W[i])
        H += np.kron(D @ Q @ D, np.outer(Z[i], Z[i]))
    return H / n_samples + reg * np.eye(rank * n_cols)


def topic_scores(Z, Theta, Phi):
    """``[f_a, f_b]``: the CP topic scores ``(prod_v Z^(v) Theta^(v)) Phi^T`` per modality."""
    f = []
    for m in range(2):
        Pi = np.ones((Z[m][0].shape[0], Phi[m].shape[1]))
        for z, t in zip(Z[m], Theta[m]):
            Pi = Pi * (z @ t)
        f.append(Pi @ Phi[m].T)
    return f


def objective(Z, Theta, Phi, alpha, Y, reg, mu):
    """J of spec A computed from the parameters alone."""
    n = Y.shape[0]
    f = topic_scores(Z, Theta, Phi)
    F = f[0] * alpha + f[1] * (1 - alpha)
    J = np.sum((F - Y) ** 2) / n
    J += mu / n * (np.sum((f[0] - Y) ** 2) + np.sum((f[1] - Y) ** 2))
    pen = sum(np.sum(t ** 2) for Tm in Theta for t in Tm) + sum(np.sum(p ** 2) for p in Phi)
    return J + reg * pen


def average_precision(rel):
    """AP of one ranked 0/1 relevance vector by the definition (talk eq. 10)."""
    rel = np.asarray(rel, dtype=float)
    total = 0.0
    hits = 0
    for k, r in enumerate(rel, start=1):
        if r:
            hits += 1
            total += hits / k
    return total / rel.sum() if rel.sum() else 0.0
