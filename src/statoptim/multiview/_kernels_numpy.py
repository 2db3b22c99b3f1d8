"""Plain-NumPy twins of the `_cp` kernels, with the same signatures.

``CPSolver(..., backend="numpy")`` runs the whole fit on these, so the
benchmarks can time the Cython kernels against NumPy over the same sweep and
the tests can check that both backends give the same fit. The Khatri-Rao
system materialises K (n_samples x rank * n_cols), which the kernel avoids.
"""
import numpy as np
from scipy.linalg import cho_factor, cho_solve

__all__ = [
    "block_operator",
    "block_operator_product",
    "cholesky_solve",
    "hadamard_products",
    "khatri_rao_system",
    "row_max_shift",
    "softmax_finish",
    "squared_data_loss",
    "weighted_cross",
]


def hadamard_products(factors, product, leave_one_out):
    n_views = factors.shape[0]
    product[...] = np.prod(factors, axis=0)
    for v in range(n_views):
        if n_views == 1:
            leave_one_out[v] = 1.0
        else:
            leave_one_out[v] = np.prod(np.delete(factors, v, axis=0), axis=0)


def khatri_rao_system(Z, W, Q, scale, reg, H, scratch):
    n_samples, n_cols = Z.shape
    K = (W[:, :, None] * Z[:, None, :]).reshape(n_samples, -1)
    H[...] = (K.T @ K) * scale * np.kron(Q, np.ones((n_cols, n_cols)))
    H[np.diag_indices_from(H)] += reg


def cholesky_solve(H, rhs):
    try:
        rhs[...] = cho_solve(cho_factor(H, lower=True), rhs)
    except np.linalg.LinAlgError:
        return 1
    return 0


def weighted_cross(Z, W, M, scale, Theta, coef, scratch, out):
    out[...] = scale * (Z.T @ (W * M)) + coef * Theta


def block_operator(Z, W, Q, scale, reg, Theta, scratch1, scratch2, out):
    out[...] = scale * (Z.T @ (W * ((W * (Z @ Theta)) @ Q))) + reg * Theta


def block_operator_product(Z, W, Q, scale, reg, Theta, product, scratch1, scratch2, out):
    product[...] = Z @ Theta
    out[...] = scale * (Z.T @ (W * ((W * product) @ Q))) + reg * Theta


def row_max_shift(f, row_max, shifted):
    row_max[...] = f.max(axis=1)
    shifted[...] = f - row_max[:, None]


def softmax_finish(f, row_max, row_weights, row_targets, logsumexp, gradient):
    tot = gradient.sum(axis=1)
    logsumexp[...] = np.log(tot) + row_max
    gradient /= tot[:, None]
    gradient *= row_weights[:, None]
    gradient -= row_targets
    return float(row_weights @ logsumexp - np.vdot(row_targets, f))


def squared_data_loss(f0, f1, alpha, Y, consensus):
    d = (f0 * alpha + f1 * (1.0 - alpha) - Y).ravel()
    if consensus == 0.0:
        return float(np.dot(d, d))
    own = sum(float(np.dot(e, e)) for e in ((f0 - Y).ravel(), (f1 - Y).ravel()))
    return float(np.dot(d, d)) + consensus * own

