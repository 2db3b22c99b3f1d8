"""FIT-SSVD initialisation: the rows and columns to start from, and the first frame.

Steps of docs/ssvd.rst, "Initialisation": per-row and per-column energy scores,
their selection (the chi-square rule of the "theory" threshold or Holm's
test), the leading singular vectors of the selected block, and the frame
completed to ``n_components`` columns. The power iterations that follow are
in ``_core``.
"""
from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
from scipy.special import ndtr

from statoptim.ssvd._operators import MAD_CONSTANT, huber_delta, median_with_constant

__all__ = ["Frame", "energy_delta", "initial_frame", "initial_selection", "select_chi2",
           "select_holm", "top_singular_triplets", "top_singular_vectors"]


# --------------------------------------------------------------------------- #
# Initial selection of rows and columns (docs/ssvd.rst, "Initialisation")
# --------------------------------------------------------------------------- #
def select_chi2(scores, sigma, n_other, alpha):
    """Chi-square-type rule: keep i with scores_i / (sigma^2 m) > 1 + alpha sqrt(log m / m).

    ``n_other`` = m, the number of entries summed in each score.
    """
    m = n_other
    bound = 1.0 + alpha * math.sqrt(math.log(m) / m) if m > 1 else 1.0
    return np.flatnonzero(scores / (sigma * sigma * m) > bound)


def select_holm(scores, alpha):
    """Robust Holm rule (docs/ssvd.rst, "Initialisation", step 2, the "bootstrap" rule).

    pi_i = 1 - Phi((t_i - median t) / MAD t); with the scores sorted decreasingly,
    reject the k-th (1-based) while pi_(k) < alpha / (m - k + 1); return the leading
    run of rejections (all indices if all are rejected). Returns None when MAD t = 0
    (degenerate p-values), which the caller treats as a fallback.
    """
    scores = np.asarray(scores, dtype=np.float64)
    m = scores.size
    med = median_with_constant(scores)
    mad = MAD_CONSTANT * median_with_constant(np.abs(scores - med))
    if not mad > 0:
        return None
    order = np.argsort(-scores, kind="stable")
    pvals = 1.0 - ndtr((scores[order] - med) / mad)
    bounds = alpha / (m - np.arange(m))          # alpha / (m - k + 1), k = 1..m
    fail = np.flatnonzero(~(pvals < bounds))
    n_reject = m if fail.size == 0 else int(fail[0])
    return np.sort(order[:n_reject])


def _top_scores(scores, count):
    order = np.argsort(-scores, kind="stable")
    return np.sort(order[:count])


# Above this many entries (and a smaller side > _SVDS_MIN_SIDE), the initial block's
# leading singular vectors come from ARPACK instead of a full LAPACK SVD.
_SVDS_MIN_SIZE = 1 << 18
_SVDS_MIN_SIDE = 60


def top_singular_triplets(op, rows, cols, rank, block=None):
    """Leading ``rank`` singular triplets of X[rows][:, cols].

    Returns U (|rows|, rank), s and V' (rank, |cols|).

    Small blocks: dense LAPACK SVD. Large ones (noisy data can select many rows):
    ARPACK ``svds`` on the block (kept sparse for sparse input), started from a
    fixed vector so that the fit stays deterministic. ``block``, if given, is the
    dense block itself (used for the deflated residual of the frame completion).
    """
    n_rows, n_cols = len(rows), len(cols)
    dense = n_rows * n_cols < _SVDS_MIN_SIZE or min(n_rows, n_cols) <= max(_SVDS_MIN_SIDE,
                                                                           3 * rank)
    if block is None:
        block = op.block(rows, cols) if dense or not op.sparse else op.sparse_block(rows, cols)
    if dense:
        U, s, Vt = np.linalg.svd(block, full_matrices=False)
        return U[:, :rank], s[:rank], Vt[:rank]
    from scipy.sparse.linalg import svds

    v0 = np.random.default_rng(0).standard_normal(min(block.shape))
    U, s, Vt = svds(block, k=rank, tol=0, v0=v0, solver="arpack")
    order = np.argsort(-s, kind="stable")
    return U[:, order], s[order], Vt[order]


def top_singular_vectors(op, rows, cols, rank):
    """Leading ``rank`` singular vectors of X[rows][:, cols].

    Returns (U (|rows|, rank), V' (rank, |cols|)).
    """
    U, _, Vt = top_singular_triplets(op, rows, cols, rank)
    return U, Vt


def energy_delta(op, rule, huber_beta):
    """The Huber cut of the energies: inf ("theory": plain X^2) or the beta-quantile of X^2."""
    if rule == "theory":
        return np.inf
    delta = huber_delta(op, huber_beta)
    return delta if delta > 0 else np.inf


def select_from_scores(t, s, n_components, sigma, rule, alpha_theory, alpha_holm):
    """Rows and columns selected from the energy scores t, s (docs/ssvd.rst,
    "Initialisation", steps 2-3).

    Returns (I, J, (row_fallback, col_fallback)).
    """
    n_samples, n_features = t.size, s.size
    if rule == "theory":
        rows = select_chi2(t, sigma, n_features, alpha_theory)
        cols = select_chi2(s, sigma, n_samples, alpha_theory)
    else:
        rows = select_holm(t, alpha_holm)
        cols = select_holm(s, alpha_holm)
    fallback = [False, False]
    if rows is None or rows.size < n_components:
        rows = _top_scores(t, min(n_components + 10, n_samples))
        fallback[0] = True
    if cols is None or cols.size < n_components:
        cols = _top_scores(s, min(n_components + 10, n_features))
        fallback[1] = True
    return rows.astype(np.intp), cols.astype(np.intp), tuple(fallback)


def initial_selection(op, n_components, sigma, rule, alpha_theory, alpha_holm, huber_beta):
    """Rows I and columns J of the initial block (docs/ssvd.rst, "Initialisation").

    Returns (I, J, (row_fallback, col_fallback)).
    """
    t, s = op.energy_scores(energy_delta(op, rule, huber_beta))
    return select_from_scores(t, s, n_components, sigma, rule, alpha_theory, alpha_holm)


# A component of the initial block whose singular value is below this multiple of the block's
# noise edge sigma (sqrt|I| + sqrt|J|) is not taken as found (observed: noise components of
# selected blocks reach 1.0-1.1 times the edge; the real ones of the lung model 1.8-2.2).
FRAME_MARGIN = 1.5


def _energy(x, delta):
    """Entrywise (Huberised) energy, as the kernel computes it."""
    y = x * x
    if np.isfinite(delta):
        big = y > delta
        y[big] = 2.0 * math.sqrt(delta) * np.abs(x[big]) - delta
    return y


@dataclass
class Frame:
    """Initial frame (U0, V0) of FIT-SSVD and how it was found."""

    U: np.ndarray
    V: np.ndarray
    rows: np.ndarray
    cols: np.ndarray
    fallback: tuple
    strength: np.ndarray        # per component: block singular value / block noise edge
    n_completed: int = 0        # components taken from the deflated residual
    n_refined: int = 0          # fits of the found components before a residual search


def initial_frame(op, n_components, sigma, rule, alpha_theory, alpha_holm, huber_beta,
                  refine=None):
    """Initial U (n_samples, r) and V (n_features, r), completed by deflation.

    See docs/ssvd.rst, "Initialisation".

    The reference takes the rank-r SVD of the block X[I, J] selected by the energy scores.
    When one component is much weaker than the others its rows and columns can be missing
    from that block: the scores of the columns of the strong components dominate (with the
    robust Holm rule on lung-shaped data, 39 of 56 columns carry signal, so it falls back to
    the top r + 10 = 13 columns, all from the two strongest groups). The block's singular
    vector for that component is then noise, and thresholded iterations started from a
    frame with no overlap with a component cannot reach it (X v_k carries no signal and is
    thresholded away).

    So every component of the block is checked against the block's noise edge
    sigma (sqrt|I| + sqrt|J|): components above ``FRAME_MARGIN`` times the edge are
    found. If some are not, the found ones are first fitted on their own
    (``refine(U_f, V_f)``: FIT-SSVD at that rank from the block's vectors; the block's
    estimates miss 10-20% of a strong component, whose leftover energy in the strong
    columns would again outweigh a weak component), then the missing ones are searched
    for in the residual (I - U_f U_f') X, by the same selection rule on the residual's
    energy scores (where the strong columns no longer dominate) and the SVD of the
    residual's block. For each missing slot the candidate with the larger strength
    (singular value / noise edge of its block) is kept. Up to r rounds.
    """
    n_samples, n_features = op.shape
    r = n_components
    delta = energy_delta(op, rule, huber_beta)
    t, s = op.energy_scores(delta)
    I, J, fallback = select_from_scores(t, s, r, sigma, rule, alpha_theory, alpha_holm)
    Ub, sb, Vbt = top_singular_triplets(op, I, J, r)
    U = np.zeros((n_samples, r))
    V = np.zeros((n_features, r))
    U[I] = Ub
    V[J] = Vbt.T
    strength = np.zeros(r)
    strength[:sb.size] = sb / (sigma * (math.sqrt(I.size) + math.sqrt(J.size)))
    frame = Frame(U, V, I, J, fallback, strength)
    found = strength >= FRAME_MARGIN
    all_cols = np.arange(n_features)
    for _ in range(r):
        if found.all() or not found.any():
            # Nothing to deflate with (no component stands out): the block is all there is.
            break
        if refine is not None:
            U[:, found], V[:, found] = refine(U[:, found], V[:, found])
            frame.n_refined += 1
        # Rows of X touched by the found components: the residual differs from X only there.
        Uf = U[:, found]
        rows_f = np.flatnonzero(_row_mask(Uf))
        XI = op.block(rows_f, all_cols)
        RI = XI - Uf[rows_f] @ (Uf[rows_f].T @ XI)
        eX, eR = _energy(XI, delta), _energy(RI, delta)
        t_res = t.copy()
        t_res[rows_f] = eR.sum(axis=1)
        s_res = s - eX.sum(axis=0) + eR.sum(axis=0)
        n_missing = int(r - found.sum())
        I2, J2, _ = select_from_scores(t_res, s_res, n_missing, sigma, rule, alpha_theory,
                                       alpha_holm)
        # The residual block: X[I2, J2] minus its projection on the found components.
        B = op.block(I2, J2)
        Wf = Uf[rows_f].T @ XI[:, J2]
        B -= Uf[I2] @ Wf
        Uc, sc, Vct = top_singular_triplets(op, I2, J2, n_missing, block=B)
        cand = np.zeros(n_missing)
        cand[:sc.size] = sc / (sigma * (math.sqrt(I2.size) + math.sqrt(J2.size)))
        slots = np.flatnonzero(~found)
        improved = False
        for c, k in enumerate(slots[:sc.size]):
            if cand[c] > strength[k]:
                U[:, k] = 0.0
                V[:, k] = 0.0
                U[I2, k] = Uc[:, c]
                V[J2, k] = Vct[c]
                strength[k] = cand[c]
                frame.n_completed += 1
                improved = True
        found = strength >= FRAME_MARGIN
        if not improved:
            break
    if frame.n_completed or frame.n_refined:
        # The candidates came from other blocks: make the frame orthonormal again.
        for A in (U, V):
            rows = np.flatnonzero(_row_mask(A))
            if rows.size < r:            # (tiny matrices) widen to every row
                rows = np.arange(A.shape[0])
            A[rows] = np.linalg.qr(A[rows])[0]
        frame.rows = np.flatnonzero(_row_mask(U))
        frame.cols = np.flatnonzero(_row_mask(V))
    return frame


def _row_mask(A):
    return np.any(A != 0.0, axis=1)
