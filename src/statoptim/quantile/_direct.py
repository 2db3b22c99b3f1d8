"""The exact solver of weighted linear quantile regression on all rows.

MM with continuation in the perturbation (``_mm.pyx``) brings the residuals
near the optimal basis; the simplex finish (``_simplex.pyx``) pivots to an
exact vertex of the linear program and certifies it, with the degenerate
vertices handled here. The preprocessing of ``_preprocess.py`` runs this
solver on reduced problems; ``_solver.py`` validates, rescales and dispatches.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import NamedTuple

import numpy as np

from statoptim.quantile import _mm, _simplex

__all__ = ["QuantileSolution"]

# The finish's status codes (their names come from the kernel) as the solution's status.
_DEGENERATE = {name: code for code, name in _simplex.FINISH_STATUS.items()}["degenerate"]
_STATUS = {code: "optimal" if name == "optimal" else "inexact"
           for code, name in _simplex.FINISH_STATUS.items()}

# Continuation of the perturbation, relative to the residual scale (docs/quantile.rst,
# "Continuation and the monotone guard").
# The exact finish makes deep continuation unnecessary: MM only has to bring
# the p smallest residuals near the optimal basis, after which each simplex
# pivot (one pass over the data) is cheaper than an MM step (a Gram matrix).
_EPS_STAGES = np.array([1e-1, 1e-3])


@dataclass
class QuantileSolution:
    """Result of :func:`solve_quantile`.

    Attributes
    ----------
    coef : ndarray of shape (n_features,)
        An exact minimiser of ``sum_i w_i rho_q(y_i - z_i'coef)`` when
        ``status == "optimal"``.
    objective : float
        The objective at ``coef``; ``inf`` only when its true value exceeds
        the float64 range (``coef`` is exact and finite all the same).
    n_iter : int
        MM iterations (over every subproblem when preprocessing).
    n_pivots : int
        Simplex pivots of the exact finish.
    status : str
        ``"optimal"`` (certificate holds) or ``"inexact"`` (pivot cap or
        rounding trouble; ``coef`` is the best vertex found).
    mm_capped : bool
        Whether an MM run stopped at ``max_iter``.
    n_rounds : int
        Preprocessing rounds (0 when the problem was solved directly).
    """

    coef: np.ndarray
    objective: float
    n_iter: int
    n_pivots: int
    status: str
    mm_capped: bool
    n_rounds: int = 0


class _Design(NamedTuple):
    """How error messages name the design matrix and its columns."""

    name: str = "X"  # the user's argument
    intercept: bool = False  # column 0 is the intercept's column of ones

    def column(self, j):
        if self.intercept and j == 0:
            return "the intercept column"
        return f"{self.name} column {j - int(self.intercept)}"


_X_DESIGN = _Design()


def _check_full_rank(Z, w, design=_X_DESIGN):
    """Raise a clear error when the weighted design is (nearly) rank deficient."""
    n_samples, n_features = Z.shape
    if n_samples < n_features:
        raise ValueError(
            f"{design.name} must have at least as many rows with positive weight as "
            f"coefficients to fit ({n_features}), got {n_samples}"
        )
    gram = Z.T @ (Z * w[:, None])
    d = np.sqrt(np.diag(gram))
    if np.any(d == 0):
        col = int(np.flatnonzero(d == 0)[0])
        raise ValueError(
            f"{design.name} is rank deficient: {design.column(col)} is zero on every row with "
            f"positive weight; drop it"
        )
    eig = np.linalg.eigvalsh(gram / np.outer(d, d))
    if eig[0] <= 1e-12 * eig[-1]:
        raise ValueError(
            f"{design.name} is rank deficient or nearly so (collinear columns, or a "
            "constant column "
            f"alongside the intercept): the condition number of the scaled design is about "
            f"{np.sqrt(eig[-1] / max(eig[0], 1e-300)):.3g}. The quantile regression "
            "coefficients are not identified; remove redundant columns."
        )
    return gram


def _start(Z, y, w, gram=None):
    """Weighted least-squares start, solved with the Gram matrix equilibrated.

    Without the diagonal scaling, weights of very different magnitudes (a
    column seen only by rows of weight 1e-200 beside rows of weight 1) made
    the solve return a start of order 1e184, whose residuals then
    underflowed the MM weights and left the MM Gram matrix singular.
    """
    if gram is None:
        gram = Z.T @ (Z * w[:, None])
    rhs = Z.T @ (w * y)
    d = np.sqrt(np.diag(gram))
    d = np.where(d > 0, d, 1.0)
    try:
        return np.linalg.solve(gram / np.outer(d, d), rhs / d) / d
    except np.linalg.LinAlgError:
        return np.linalg.lstsq(gram, rhs, rcond=None)[0]


def _mm_fit(Z, y, w, q, theta0, tol, max_iter, gram=None):
    """MM with continuation in the perturbation, without the exact finish.

    Returns ``(theta, resid, scale, n_iter, mm_capped)``: the last iterate,
    its residuals, the residual scale that set the perturbations and the
    iteration count.
    """
    n_samples, n_features = Z.shape
    theta = np.array(theta0, dtype=np.float64) if theta0 is not None else _start(Z, y, w, gram)
    resid = y - Z @ theta
    # The scale only sets the continuation of eps: a strided subsample of at
    # most 4096 rows estimates it well enough, in O(n) time at most.
    # Unweighted: the pseudo-rows of preprocessing carry huge weights and
    # residuals, and would set a scale far above that of the ordinary rows.
    stride = max(1, n_samples // 4096)
    scale = float(np.median(np.abs(resid[::stride])))
    if not scale > 0:
        scale = float(np.mean(np.abs(y - np.median(y))))
    if not scale > 0:
        scale = float(np.max(np.abs(y)))
    if not scale > 0:
        scale = 1.0
    work_n = np.empty(2 * n_samples)
    work_np = np.empty(n_samples * n_features if n_features > _mm.FUSED_MAX_FEATURES else 0)
    # The minimiser of the perturbed loss lies where the log term's pull,
    # about e / (2 |r|) per row, balances the smaller slope min(q, 1 - q) of
    # the check loss: e must shrink with min(q, 1 - q) or, at extreme
    # quantiles, MM chases a point far from the LP solution.
    eps_stages = (2.0 * min(q, 1.0 - q) * scale) * _EPS_STAGES
    n_iter, status = _mm.mm_quantile_fit(
        Z, y, w, q, theta, eps_stages, tol, max_iter, resid, work_n, work_np
    )
    # status 1: an MM Gram matrix was numerically singular although the design
    # has full rank (MM weights w_i / (e + |r_i|) spanning 1e17 when fewer than
    # p rows with positive weight fit exactly, e.g. rows of zeros among them).
    # MM only supplies a start: the exact finish goes on from the last iterate.
    mm_capped = _mm.MM_STATUS[status] == "ok" and n_iter >= max_iter
    return theta, resid, scale, int(n_iter), bool(mm_capped)


def _solve_direct(Z, y, w, q, theta0, tol, max_iter, max_pivots, gram=None):
    """MM with continuation, then the exact simplex finish, on all rows."""
    n_samples, n_features = Z.shape
    theta, resid, scale, n_iter, mm_capped = _mm_fit(Z, y, w, q, theta0, tol, max_iter, gram)
    if max_pivots is None:
        max_pivots = 10 * (n_samples + n_features) + 100
    n_pivots, fstatus, objective = _exact_finish(Z, y, w, q, theta, resid, max_pivots, scale)
    return QuantileSolution(
        coef=theta,
        objective=float(objective),
        n_iter=n_iter,
        n_pivots=int(n_pivots),
        status=_STATUS[fstatus],
        mm_capped=mm_capped,
    )


def _initial_basis(Z, resid):
    """The rows with the smallest |residual| that form a full-rank basis."""
    n_samples, n_features = Z.shape
    basis = np.empty(n_features, dtype=np.intp)
    absr = np.abs(resid)
    n_cand = min(n_samples, 4 * n_features + 16)
    if n_cand < n_samples:
        cand = np.argpartition(absr, n_cand - 1)[:n_cand]
        cand = cand[np.argsort(absr[cand], kind="stable")]
    else:
        cand = np.argsort(absr, kind="stable")
    found = _simplex.choose_basis(Z, np.ascontiguousarray(cand, dtype=np.intp), basis)
    if found < n_features and n_cand < n_samples:
        cand = np.argsort(absr, kind="stable").astype(np.intp)
        found = _simplex.choose_basis(Z, cand, basis)
    if found < n_features:  # pragma: no cover - rank was checked before
        raise ValueError("X is rank deficient on the rows with positive weight")
    return basis


def _certify(Z, y, w, q, basis, resid_pert):
    """Koenker's certificate for the vertex of ``basis`` on the original ``y``.

    Rows whose original residual is zero to rounding may take any
    ``psi`` in ``[q - 1, q]``; they take the sign of their residual in the
    perturbed problem (``resid_pert``), which is a valid choice when it
    certifies. Returns ``(ok, theta, resid, objective)``.
    """
    Zh = Z[basis]
    inv = np.linalg.inv(Zh)
    theta = np.linalg.solve(Zh, y[basis])
    resid = y - Z @ theta
    resid[basis] = 0.0
    # rounding bound of each residual, including the error of the solve
    eps = np.finfo(np.float64).eps
    theta_err = np.abs(theta) + np.abs(inv) @ np.abs(y[basis])
    zero = np.abs(resid) <= 64 * eps * (np.abs(y) + np.abs(Z) @ theta_err)
    sign_src = np.where(zero, resid_pert, resid)
    psi = np.where(sign_src >= 0, q, q - 1.0) * w
    psi[basis] = 0.0
    g = Z.T @ psi
    inv_t = inv.T  # Z_h^{-T}
    v = -inv_t @ g
    tol = 1e-10 * w[basis] + 64 * eps * (np.abs(inv_t) @ (w @ np.abs(Z)))
    wb = w[basis]
    ok = bool(np.all(v >= wb * (q - 1.0) - tol) and np.all(v <= wb * q + tol))
    objective = float(w @ np.where(resid >= 0, q * resid, (q - 1.0) * resid))
    return ok, theta, resid, objective


def _exact_finish(Z, y, w, q, theta, resid, max_pivots, scale):
    """Simplex pivots to an exact LP vertex, with degeneracy handled.

    Pivots run on the original problem until the first degenerate pivot
    (step length zero). Ties can then make the certificate fail at every
    basis of an optimal vertex, so the pivots continue on the response
    perturbed by ``1e-9 * scale`` times fixed uniform noise, whose optimal
    basis is certified on the original response with the perturbed signs of
    its zero residuals (a lexicographic argument); a smaller perturbation is
    tried if that fails, and plain pivots under Bland's rule as a last resort.
    ``theta`` and ``resid`` are updated in place. Returns
    ``(n_pivots, status, objective)``.
    """
    n_samples = Z.shape[0]
    basis = _initial_basis(Z, resid)
    work_n = np.empty(4 * n_samples)
    work_idx = np.empty(n_samples, dtype=np.intp)
    in_basis = np.zeros(n_samples, dtype=np.int8)
    n_pivots, status, objective = _simplex.simplex_finish(
        Z, y, w, q, basis, theta, max_pivots, resid, work_n, work_idx, in_basis, True
    )
    if status != _DEGENERATE:
        return n_pivots, status, objective
    # perturbation scale: relative to the spread of y too, since the residuals
    # can all be zero (y exactly linear in Z)
    scale = max(scale, float(np.mean(np.abs(y - np.median(y)))), 1e-3 * float(np.max(np.abs(y))))
    noise = np.random.default_rng(0x5EED).uniform(-1.0, 1.0, n_samples)
    for rel in (1e-9, 1e-12):
        y_pert = y + (rel * scale) * noise
        piv, status, _ = _simplex.simplex_finish(
            Z, y_pert, w, q, basis, theta, max(max_pivots - n_pivots, 0), resid, work_n,
            work_idx, in_basis, False,
        )
        n_pivots += piv
        if status != 0:
            break
        ok, theta_o, resid_o, objective = _certify(Z, y, w, q, basis, resid)
        if ok:
            theta[:] = theta_o
            resid[:] = resid_o
            return n_pivots, 0, objective
    piv, status, objective = _simplex.simplex_finish(
        Z, y, w, q, basis, theta, max(max_pivots - n_pivots, 0), resid, work_n, work_idx,
        in_basis, False,
    )
    return n_pivots + piv, status, objective


def _with_ones(X):
    """The design ``[1, X]``, materialised (the direct solver's input)."""
    Z = np.empty((X.shape[0], X.shape[1] + 1))
    Z[:, 0] = 1.0
    Z[:, 1:] = X
    return Z
