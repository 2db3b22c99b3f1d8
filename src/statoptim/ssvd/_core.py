"""FIT-SSVD driver: initialisation, thresholded power iterations, bootstrap thresholds.

The hot loops (the fused active-set product + thresholding, the energy scores
and the bootstrap maxima) are the kernels of ``_fit.pyx``; this module
prepares their inputs, draws the bootstrap indices, and does the small dense
linear algebra (thin QR and r x r SVDs of the few nonzero rows) in LAPACK via
NumPy. Sections and steps refer to docs/ssvd.rst.
"""
from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np

from statoptim.ssvd import _fit
from statoptim.ssvd._initialise import _row_mask, initial_frame, select_chi2, select_holm
from statoptim.ssvd._operators import (
    DenseOperator,
    SparseOperator,
    huber_delta,
    make_operator,
    median_with_constant,
    noise_scale,
)

__all__ = [
    "DenseOperator",
    "SparseOperator",
    "make_operator",
    "median_with_constant",
    "noise_scale",
    "select_chi2",
    "select_holm",
    "huber_delta",
    "principal_distance",
    "fit_ssvd",
    "FitResult",
    "initial_frame",
    "component_snr",
]

# The thresholding functions eta and the kernels' ``mode`` codes (_fit.pyx, ``eta``).
THRESHOLD_MODES = {"hard": 0, "soft": 1, "scad": 2}
# Bootstrap indices are drawn in chunks of at most this many entries.
_DRAW_CHUNK = 1 << 22
_SQRT2 = math.sqrt(2.0)  # the default gamma of the "theory" rule


# --------------------------------------------------------------------------- #
# Small dense helpers
# --------------------------------------------------------------------------- #
def principal_distance(A, B):
    """1 - sigma_min(A' B)^2 = sin^2 of the largest principal angle (A, B orthonormal)."""
    s = np.linalg.svd(A.T @ B, compute_uv=False)
    return float(min(1.0, max(0.0, 1.0 - s[-1] ** 2)))


def _orthonormalise(Ut, U_old):
    """Thin QR of Ut computed on its nonzero rows only (exact: Q has Ut's zero rows).

    Returns (Q, rows, mask) with Q the (n, r) orthonormal factor, ``rows`` its
    support and ``mask`` the same as a boolean array.
    """
    n_components = Ut.shape[1]
    mask = _row_mask(Ut)
    rows = np.flatnonzero(mask)
    if rows.size < n_components:
        # Rank-deficient support: widen by the previous support so Q can be orthonormal.
        mask |= _row_mask(U_old)
        rows = np.flatnonzero(mask)
    Q = np.zeros_like(Ut)
    Q[rows] = np.linalg.qr(Ut[rows])[0]
    return Q, rows, mask


@dataclass
class FitResult:
    """Raw output of :func:`fit_ssvd` (before sorting and the sign rule)."""

    U: np.ndarray
    V: np.ndarray
    U_orth: np.ndarray
    V_orth: np.ndarray
    n_iter: int
    converged: bool
    dist_u: float
    dist_v: float
    n_threshold_fallbacks: int = 0
    n_bootstrap_runs: int = 0
    init_fallback: tuple = (False, False)
    init_completed: int = 0
    # Per component, at the last u and v half-steps: entries kept by the thresholds (before
    # QR mixes the columns) and the thresholds themselves (in noise-sd units).
    kept_u: np.ndarray = field(default_factory=lambda: np.empty(0, dtype=np.intp))
    kept_v: np.ndarray = field(default_factory=lambda: np.empty(0, dtype=np.intp))
    gamma_u: np.ndarray = field(default_factory=lambda: np.empty(0))
    gamma_v: np.ndarray = field(default_factory=lambda: np.empty(0))
    zero_column_events: int = 0
    stopped_all_zero: bool = False
    init_rows: np.ndarray = field(default_factory=lambda: np.empty(0, dtype=np.intp))
    init_cols: np.ndarray = field(default_factory=lambda: np.empty(0, dtype=np.intp))


# Hysteresis of the bootstrap's dense fallback (see _bootstrap_threshold).
FALLBACK_HYSTERESIS = 0.1


def _bootstrap_threshold(op, side, W_old, W_other, n_bootstrap, scale, rng, theory_value,
                         old_mask=None, other_mask=None, previous=None):
    """Data-driven thresholds, one per component (docs/ssvd.rst, "Bootstrap threshold").

    side "u": rows R = rows of X with U_old = 0, columns C = columns with V = 0,
    n_out = n_samples. side "v": the same on X' (rows of X with U = 0, columns
    with V_old = 0, n_out = n_features). ``old_mask``/``other_mask`` are the
    nonzero-row masks of W_old/W_other when the caller has them. Returns
    (gamma, fell_back).

    The dense fallback (theory value when the noise block has fewer than N log N
    entries) switches the threshold between two levels (on the lung model 2.84 and
    ~2.45 on the v side) when the supports sit at the boundary: a change of one row of
    U flips it, and the iterations can cycle between two supports forever (seen as a
    2-cycle with max(dist_u, dist_v) stuck at 4e-3). So the decision has hysteresis:
    ``previous`` (this side's decision at its previous half-step, None at the first)
    is kept unless the block is more than ``FALLBACK_HYSTERESIS`` (10%) past the
    boundary.
    """
    n_components = W_other.shape[1]
    old_mask = _row_mask(W_old) if old_mask is None else old_mask
    other_mask = _row_mask(W_other) if other_mask is None else other_mask
    free_out = np.flatnonzero(~old_mask)                           # R
    active = np.flatnonzero(other_mask)                            # J (or I)
    free_in = np.flatnonzero(~other_mask)                          # C
    n_out = W_old.shape[0]
    n_active = active.size
    N = n_out * n_active
    n_block = free_out.size * free_in.size
    if N == 0 or n_block == 0:
        return np.full(n_components, theory_value), True
    ratio = n_block / (N * math.log(N)) if N > 1 else math.inf
    if previous is None:
        fall_back = ratio < 1.0
    elif previous:                      # fell back last time: run only clearly past it
        fall_back = ratio < 1.0 + FALLBACK_HYSTERESIS
    else:
        fall_back = ratio < 1.0 - FALLBACK_HYSTERESIS
    if fall_back:
        return np.full(n_components, theory_value), True
    if side == "u":
        pool = op.block_values(free_out, free_in)
    else:
        pool = op.block_values(free_in, free_out)
    if pool.size == 0:
        # The noise block is entirely (implicit) zeros: every bootstrap product is 0.
        return np.zeros(n_components), False
    W = np.ascontiguousarray(W_other[active])
    maxima = np.empty((n_bootstrap, n_components))
    scratch = np.empty((2, n_components))
    draw_dtype = np.uint32 if n_block <= np.iinfo(np.uint32).max else np.int64
    per_rep = N
    reps_per_chunk = max(1, _DRAW_CHUNK // per_rep)
    start = 0
    while start < n_bootstrap:
        stop = min(n_bootstrap, start + reps_per_chunk)
        draws = rng.integers(0, n_block, size=(stop - start) * per_rep, dtype=draw_dtype)
        _fit.bootstrap_maxima(pool, n_block, draws, n_out, W, scale, scratch, maxima[start:stop])
        start = stop
    gamma = np.empty(n_components)
    _fit.column_medians(maxima, np.empty(n_bootstrap), gamma)
    return gamma, False


def fit_ssvd(op, n_components, *, sigma, rule="theory", threshold="hard", gamma_u=_SQRT2,
             gamma_v=_SQRT2, alpha_theory=1.5, alpha_holm=0.05, huber_beta=0.95,
             tol=1e-8, max_iter=100, n_bootstrap=100, orthogonal=True, rng=None,
             max_rows=None, max_cols=None, init=None):
    """Run FIT-SSVD at a fixed rank on a wrapped matrix (docs/ssvd.rst, "Iterations").

    ``max_rows``/``max_cols`` cap the number of nonzero rows of U / V after each
    thresholding (the rows with the largest norms are kept). ``init`` = (U0, V0),
    orthonormal, replaces the initial selection and SVD (warm start).

    ``threshold`` is the thresholding function eta: "hard", "soft" or "scad" (see
    ``THRESHOLD_MODES``).

    Returns a :class:`FitResult` with U (n_samples, r), V (n_features, r), both
    orthonormal unless ``orthogonal=False``, in the component order of the
    iterations (the estimator sorts them and applies the sign rule).
    """
    mode = THRESHOLD_MODES[threshold]
    n_samples, n_features = op.shape
    r = n_components
    scale = 1.0 / sigma
    theory_u = gamma_u * math.sqrt(math.log(n_samples)) if n_samples > 1 else 0.0
    theory_v = gamma_v * math.sqrt(math.log(n_features)) if n_features > 1 else 0.0
    gu = np.full(r, theory_u)
    gv = np.full(r, theory_v)

    # Step 1: initial block and its rank-r SVD, zero-padded (or the warm start).
    n_completed = 0
    if init is None:
        def refine(U0, V0):
            sub = fit_ssvd(op, U0.shape[1], sigma=sigma, rule=rule, threshold=threshold,
                           gamma_u=gamma_u,
                           gamma_v=gamma_v, tol=tol, max_iter=max_iter,
                           n_bootstrap=n_bootstrap, rng=rng, max_rows=max_rows,
                           max_cols=max_cols, init=(U0, V0))
            return sub.U, sub.V

        frame = initial_frame(op, r, sigma, rule, alpha_theory, alpha_holm, huber_beta,
                              refine=refine)
        U, V, I, J, init_fb = frame.U, frame.V, frame.rows, frame.cols, frame.fallback
        n_completed = frame.n_completed
    else:
        U, V = (np.array(A, dtype=np.float64, order="C") for A in init)
        I, J, init_fb = np.flatnonzero(_row_mask(U)), np.flatnonzero(_row_mask(V)), (False,
                                                                                      False)

    res = FitResult(U=U, V=V, U_orth=U, V_orth=V, n_iter=0, converged=False,
                    dist_u=1.0, dist_v=1.0, init_fallback=init_fb, init_rows=I, init_cols=J,
                    init_completed=n_completed)
    side_u = _Side("u", op.product_rows, theory_u, gu, max_rows, n_samples, r)
    side_v = _Side("v", op.product_cols, theory_v, gv, max_cols, n_features, r)
    u_mask, v_mask = _row_mask(U), _row_mask(V)
    steps = (op, scale, mode, rule, n_bootstrap, rng, res)
    for it in range(1, max_iter + 1):
        # u half-step (docs/ssvd.rst, "Iterations", steps 1-4)
        out = _half_step(side_u, U, V, u_mask, v_mask, *steps)
        if out is None:
            res.stopped_all_zero, res.n_iter = True, it
            break
        U, u_mask, dist_u = out
        # v half-step with the new U (docs/ssvd.rst, "Iterations", step 5)
        out = _half_step(side_v, V, U, v_mask, u_mask, *steps)
        if out is None:
            res.stopped_all_zero, res.n_iter, res.dist_u = True, it, dist_u
            break
        V, v_mask, dist_v = out
        res.n_iter, res.dist_u, res.dist_v = it, dist_u, dist_v
        if max(dist_u, dist_v) <= tol:
            res.converged = True
            break

    res.U, res.V, res.U_orth, res.V_orth = U, V, U, V
    res.n_threshold_fallbacks = side_u.n_fallbacks + side_v.n_fallbacks
    res.n_bootstrap_runs = side_u.n_bootstrap_runs + side_v.n_bootstrap_runs
    if not orthogonal:
        res.U, res.V = _non_orthogonal_step(op, U, V, scale, side_u.gamma, side_v.gamma, mode,
                                            res, max_rows, max_cols)
    return res


class _Side:
    """The buffers and thresholds of one side ("u": rows, "v": columns) of the iterations."""

    def __init__(self, name, product, theory, gamma, cap, n, r):
        self.name, self.product, self.theory, self.gamma, self.cap = (name, product, theory,
                                                                      gamma, cap)
        self.tilde = np.empty((n, r))          # the thresholded product, before the QR
        self.kept = np.zeros(r, dtype=np.intp)  # entries kept per component (kernel output)
        self.fell_back = None                  # the bootstrap's dense fallback state
        self.n_fallbacks = self.n_bootstrap_runs = 0


def _half_step(side, A, B, a_mask, b_mask, op, scale, mode, rule, n_bootstrap, rng, res):
    """One half-step: A_tilde = eta(X B / sigma) (or X' B for "v"), capped, orthonormalised.

    Returns ``(A_new, its row mask, principal distance to A)``, or None when the
    thresholds removed every entry (``A`` is kept).
    """
    if rule == "bootstrap":
        side.gamma, fb = _bootstrap_threshold(op, side.name, A, B, n_bootstrap, scale, rng,
                                              side.theory, a_mask, b_mask,
                                              previous=side.fell_back)
        side.fell_back = fb
        side.n_fallbacks += fb
        side.n_bootstrap_runs += not fb
    nnz = side.kept  # this half-step's kept entries
    setattr(res, f"kept_{side.name}", nnz)
    setattr(res, f"gamma_{side.name}", side.gamma)
    side.product(np.flatnonzero(b_mask), B, scale, side.gamma, mode, side.tilde, nnz)
    if side.cap is not None:
        _cap_rows(side.tilde, side.cap, nnz)
    if not np.any(nnz):
        return None
    if not np.all(nnz):
        res.zero_column_events += 1
        zero = nnz == 0
        side.tilde[:, zero] = A[:, zero]
    A_new, rows, a_mask = _orthonormalise(side.tilde, A)
    return A_new, a_mask, principal_distance(A_new[rows], A[rows])  # A_new is zero off rows


def component_snr(d, sigma, kept_u, kept_v, gamma_u, gamma_v):
    """Estimated signal-to-noise ratio of each component: d_k / (sigma * null_k).

    null_k is the value a pure-noise component with the same numbers of kept entries
    (k_u, k_v) would reach: at a fixed point of hard thresholding d / sigma = ||eta(X_s v)||
    with every kept entry at least gamma_u, so noise gives about gamma_u sqrt(k_u) (and
    gamma_v sqrt(k_v) on the other side); without thresholds (gamma = 0) the top singular
    value of a noise block of that size, sqrt(k_u) + sqrt(k_v). So snr ~ 1 for a component
    of noise, and a component whose entries stand well above the thresholds scores well
    above 1. A component that kept no entry on a side (thresholded to zero, so it kept its
    previous value) gets 0.
    """
    kept_u = np.asarray(kept_u, dtype=np.float64)
    kept_v = np.asarray(kept_v, dtype=np.float64)
    null = np.maximum.reduce([np.asarray(gamma_u) * np.sqrt(kept_u),
                              np.asarray(gamma_v) * np.sqrt(kept_v),
                              np.sqrt(kept_u) + np.sqrt(kept_v)])
    with np.errstate(divide="ignore", invalid="ignore"):
        snr = np.where((kept_u > 0) & (kept_v > 0), np.abs(d) / sigma / null, 0.0)
    return snr


def _cap_rows(A, max_rows, nnz):
    """Keep the ``max_rows`` rows of A with the largest norms (ties: lower index); update nnz."""
    mask = _row_mask(A)
    if np.count_nonzero(mask) <= max_rows:
        return
    norms = np.einsum("ij,ij->i", A, A)
    keep = np.argsort(-norms, kind="stable")[:max_rows]
    drop = np.ones(A.shape[0], dtype=bool)
    drop[keep] = False
    A[drop] = 0.0
    nnz[:] = np.count_nonzero(A, axis=0)


def _non_orthogonal_step(op, U, V, scale, gu, gv, mode, res, max_rows=None, max_cols=None):
    """One more half-step per side without QR: u_k = eta(X_s V)_k / ||.||.

    See docs/ssvd.rst, "Final step".

    A column thresholded to zero keeps its orthonormal value (counted in
    ``res.zero_column_events``).
    """
    n_samples, n_features = op.shape
    r = U.shape[1]
    nnz = np.empty(r, dtype=np.intp)
    nnz2 = np.empty(r, dtype=np.intp)
    Un = np.empty((n_samples, r))
    Vn = np.empty((n_features, r))
    op.product_rows(np.flatnonzero(np.any(V != 0.0, axis=1)), V, scale, gu, mode, Un, nnz)
    op.product_cols(np.flatnonzero(np.any(U != 0.0, axis=1)), U, scale, gv, mode, Vn, nnz2)
    if max_rows is not None:
        _cap_rows(Un, max_rows, nnz)
    if max_cols is not None:
        _cap_rows(Vn, max_cols, nnz2)
    for A, A_orth, counts in ((Un, U, nnz), (Vn, V, nnz2)):
        for k in range(r):
            norm = np.linalg.norm(A[:, k])
            if counts[k] == 0 or not norm > 0:
                A[:, k] = A_orth[:, k]
                res.zero_column_events += 1
            else:
                A[:, k] /= norm
    return Un, Vn


def orient_components(U, V, Uo, Vo, d):
    """Sort the components by |d| and fix their signs; returns ``(U, V, Uo, Vo, |d|, order)``.

    A negative d_k flips u_k; then the largest-magnitude entry of every u_k is made
    positive (the first index on ties), flipping u_k and v_k together, and the
    orthonormal pair (Uo, Vo) takes the signs that align it with (U, V), component by
    component. ``order`` is the sorting permutation of the input components.
    """
    flip = np.where(d < 0, -1.0, 1.0)
    d = np.abs(d)
    order = np.argsort(-d, kind="stable")
    U, V, Uo, Vo = (U * flip)[:, order], V[:, order], (Uo * flip)[:, order], Vo[:, order]
    lead = np.argmax(np.abs(U), axis=0)
    s = np.where(U[lead, np.arange(U.shape[1])] < 0, -1.0, 1.0)
    U, V = U * s, V * s
    so = np.where(np.einsum("ik,ik->k", Uo, U) < 0, -1.0, 1.0)
    return U, V, Uo * so, Vo * so, d[order], order


def diag_product(op, U, V):
    """P = X V (unscaled, active columns only) and d = diag(U' X V)."""
    n_samples = op.shape[0]
    r = V.shape[1]
    P = np.empty((n_samples, r))
    nnz = np.empty(r, dtype=np.intp)
    J = np.flatnonzero(np.any(V != 0.0, axis=1))
    op.product_rows(J, V, 1.0, np.zeros(r), THRESHOLD_MODES["hard"], P, nnz)
    return P, np.einsum("ik,ik->k", U, P)
