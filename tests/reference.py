"""Plain NumPy references for the kernels of statoptim, written for clarity, not speed.

Quantile regression (spec quantile.md, sections 1 and 2):

* :func:`check_loss` and :func:`quantile_objective`: ``rho_q(r) = r (q - I(r < 0))`` and
  ``L(theta) = sum_i w_i rho_q(y_i - z_i'theta)``.
* :func:`perturbed_objective`: Hunter & Lange's surrogate
  ``L_e(theta) = sum_i w_i [rho_q(r_i) - (e / 2) ln(e + |r_i|)]``.
* :func:`mm_step`: one MM step in increment form, ``a_i = w_i / (e + |r_i|)``,
  ``theta + (Z'AZ)^{-1} Z'(A r + (2q - 1) w)``.
* :func:`koenker_certificate`: Koenker's (2005, Thm 2.1) optimality certificate at a
  vertex, weighted.
"""
import numpy as np


def check_loss(r, q):
    """rho_q(r) = max(q r, (q - 1) r), elementwise."""
    r = np.asarray(r, dtype=np.float64)
    return np.maximum(q * r, (q - 1.0) * r)


def quantile_objective(Z, y, w, q, theta):
    """sum_i w_i rho_q(y_i - z_i'theta); ``w=None`` means unit weights."""
    r = y - Z @ theta
    w = np.ones_like(r) if w is None else w
    return float(np.sum(w * check_loss(r, q)))


def perturbed_objective(Z, y, w, q, e, theta):
    """L_e(theta) = sum_i w_i [rho_q(r_i) - (e / 2) ln(e + |r_i|)]."""
    r = y - Z @ theta
    return float(np.sum(w * (check_loss(r, q) - 0.5 * e * np.log(e + np.abs(r)))))


def mm_step(Z, y, w, q, e, theta):
    """One Hunter-Lange MM step from ``theta`` (the minimiser of the majoriser).

    ``a_i = w_i / (e + |r_i|)``; returns ``theta + (Z'AZ)^{-1} Z'(A r + (2q - 1) w)``,
    solved with ``np.linalg.solve`` on the explicitly formed Gram matrix.
    """
    r = y - Z @ theta
    a = w / (e + np.abs(r))
    gram = Z.T @ (a[:, None] * Z)
    rhs = Z.T @ (a * r + (2.0 * q - 1.0) * w)
    return theta + np.linalg.solve(gram, rhs)


def koenker_certificate(Z, y, w, q, theta, zero_tol=1e-9):
    """Koenker's optimality certificate at a vertex ``theta``.

    The basis ``h`` is the set of rows with ``|r_i| <= zero_tol * max(1, max|y|)``
    (there must be exactly ``n_features`` of them: a non-degenerate vertex). With
    ``psi(r) = q - I(r < 0)`` and ``g = sum_{i not in h} w_i psi(r_i) z_i``, solve
    ``Z_h' v = -g``; ``theta`` is optimal iff ``w_i (q - 1) <= v_i <= w_i q`` on ``h``.

    Returns
    -------
    basis : ndarray of int
        The basic rows.
    margin : ndarray of shape (n_basis,)
        ``min(v_i - w_i (q - 1), w_i q - v_i) / w_i``: non-negative iff the certificate
        holds, strictly positive iff the solution is moreover unique.
    """
    r = y - Z @ theta
    thresh = zero_tol * max(1.0, float(np.max(np.abs(y))))
    basis = np.flatnonzero(np.abs(r) <= thresh)
    if basis.size != Z.shape[1]:
        raise AssertionError(
            f"expected a non-degenerate vertex with {Z.shape[1]} zero residuals, "
            f"found {basis.size}"
        )
    rest = np.ones(r.size, dtype=bool)
    rest[basis] = False
    psi = np.where(r[rest] < 0, q - 1.0, q)
    g = Z[rest].T @ (w[rest] * psi)
    v = np.linalg.solve(Z[basis].T, -g)
    wb = w[basis]
    margin = np.minimum(v - wb * (q - 1.0), wb * q - v) / wb
    return basis, margin
