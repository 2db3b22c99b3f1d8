"""Exact quantile regression on a dask array, without gathering X.

Portnoy & Koenker's (1997) preprocessing is a distributed algorithm in
disguise: only a subsample, a band of rows near the fit and two sums (the
"globs") are ever needed in one place, and exactness is settled by a pass
that checks the sign of every globbed row's residual. The passes here run
one task per row-block of ``X`` (:class:`statoptim._dask.RowBlocks`), and each
task returns a few numbers or a few rows:

1. *scan*: finiteness, column magnitudes (for the exact power-of-two
   scaling of :func:`statoptim.quantile.solve_quantile`) and a Bernoulli
   subsample of about ``m = ((p + 1) n)^(2/3)`` rows, seeded per block from
   ``random_state`` so the answer does not depend on the scheduler;
2. on the client, MM on the subsample, whose standardised residuals give
   the band's edges;
3. *band*: the rows inside the band come back; the rows below and above it
   are summed into the two globs;
4. on the client, MM on the reduced problem, the band narrowed around that
   fit and the exact simplex finish (the steps of the in-memory solver);
5. *verify*: every row's side is recomputed (the same arithmetic on the same
   block as in step 3) and any globbed row with a residual of the wrong sign
   comes back. None: the answer is exact for the whole data. A few: they
   join the band and step 4 runs again. Many: the band is widened, or ``m``
   doubled.

Client memory is O(m p) (the subsample and the band), each task's one block.
"""
from __future__ import annotations

import numpy as np

from statoptim._dask import RowBlocks, is_dask_array
from statoptim.quantile import _band
from statoptim.quantile._direct import (
    QuantileSolution,
    _check_full_rank,
    _Design,
    _mm_fit,
    _solve_direct,
)
from statoptim.quantile._preprocess import (
    _REDUCED_MM_ITER,
    _glob,
    _inverse_gram_root,
    _narrow,
    _narrow_size,
)
from statoptim.quantile._solver import _power_of_two_scale, _unscale_coef

__all__ = ["is_dask_array", "solve_quantile_dask"]

_MAX_FIXUPS = 8  # re-solves with offenders moved back, per band


# ---------------------------------------------------------------------------
# Tasks: one row-block each
# ---------------------------------------------------------------------------

def _design(xb, intercept, k_z):
    """The block's scaled design ``[1, X] * 2**-k_z`` as C-contiguous float64."""
    xb = np.asarray(xb, dtype=np.float64)
    with np.errstate(over="ignore", under="ignore"):
        scale = np.ldexp(1.0, -k_z)
    if not np.all((scale > 0) & np.isfinite(scale)):  # 2**-k beyond the doubles: ldexp
        if intercept:
            xb = np.column_stack([np.ones(xb.shape[0]), xb])
        return np.ascontiguousarray(np.ldexp(xb, -k_z[None, :]))
    # one pass, into a new array (the block is dask's): x * 2**-k is correctly rounded,
    # so it equals ldexp(x, -k) bit for bit
    Z = np.empty((xb.shape[0], xb.shape[1] + int(intercept)))
    if intercept:
        Z[:, 0] = scale[0]
    np.multiply(xb, scale[int(intercept):], out=Z[:, int(intercept):])
    return Z


def _vector(vb, n_rows, default=None):
    if vb is None:
        return np.full(n_rows, default)
    return np.ascontiguousarray(np.asarray(vb, dtype=np.float64).reshape(-1))


def _scan_task(xb, yb, wb, seed, prob):
    """Validation facts and a Bernoulli(prob) subsample of the rows with w > 0."""
    xb = np.ascontiguousarray(np.asarray(xb, dtype=np.float64))
    n_rows = xb.shape[0]
    yb = _vector(yb, n_rows)
    wb = _vector(wb, n_rows, 1.0)
    colmax = np.zeros(xb.shape[1])
    x_bad = _band.column_absmax(xb, colmax) if n_rows else 0
    with np.errstate(invalid="ignore"):
        facts = {
            "n_rows": n_rows,
            "colmax": colmax,
            "x_bad": int(x_bad),
            "y_bad": int(np.count_nonzero(~np.isfinite(yb))),
            "ymax": float(np.max(np.abs(yb))) if n_rows else 0.0,
            "w_bad": int(np.count_nonzero(~np.isfinite(wb))),
            "w_neg": int(np.count_nonzero(wb < 0)),
            "wmax": float(np.max(wb)) if n_rows else 0.0,
            "wmin_pos": float(np.min(wb[wb > 0])) if np.any(wb > 0) else np.inf,
            "n_pos": int(np.count_nonzero(wb > 0)),
        }
    pick = (np.random.default_rng(seed).random(n_rows) < prob) & (wb > 0)
    facts["sample"] = (xb[pick], yb[pick], wb[pick])
    return facts


def _sides(Z, yb, wb, band):
    """-1 / +1 for rows below / above the band, 0 inside, 2 for weight 0."""
    u = np.empty(Z.shape[0])
    _band.standardized_residuals(Z, yb, band.theta, band.root, u)
    side = np.where(u < band.kappa_lo, -1, np.where(u > band.kappa_hi, 1, 0)).astype(np.int8)
    side[wb <= 0] = 2
    return side


def _band_task(xb, yb, wb, offset, scaling, band):
    """Glob sums of the rows outside the band; the rows inside it."""
    intercept, k_z, k_y, k_w = scaling
    Z = _design(xb, intercept, k_z)
    yb = np.ldexp(_vector(yb, Z.shape[0]), -k_y)
    wb = np.ldexp(_vector(wb, Z.shape[0], 1.0), -k_w)
    side = _sides(Z, yb, wb, band)
    # both globs in one pass over Z (no copies of its rows): weights zeroed off each side
    w_side = np.zeros((2, Z.shape[0]))
    np.copyto(w_side[0], wb, where=side == -1)
    np.copyto(w_side[1], wb, where=side == 1)
    glob_z = w_side @ Z
    glob_yw = np.concatenate([w_side @ yb, w_side.sum(axis=1)])
    kept = np.flatnonzero(side == 0)
    return glob_z, glob_yw, (kept + offset, Z[kept], yb[kept], wb[kept])


def _verify_task(xb, yb, wb, offset, scaling, band, q, theta, local_idx, local_side, max_rows):
    """Objective at ``theta`` and the globbed rows whose residual has the wrong sign."""
    intercept, k_z, k_y, k_w = scaling
    Z = _design(xb, intercept, k_z)
    yb = np.ldexp(_vector(yb, Z.shape[0]), -k_y)
    wb = np.ldexp(_vector(wb, Z.shape[0], 1.0), -k_w)
    side = _sides(Z, yb, wb, band)
    side[local_idx] = local_side
    r = yb - Z @ theta
    objective = float(wb @ np.where(r >= 0, q * r, (q - 1.0) * r))
    bad = np.flatnonzero(((side == -1) & (r > 0)) | ((side == 1) & (r < 0)))
    if bad.size > max_rows:
        return objective, bad.size, None
    return objective, bad.size, (bad + offset, Z[bad], yb[bad], wb[bad], side[bad])


# ---------------------------------------------------------------------------
# Client side
# ---------------------------------------------------------------------------

class _Band:
    """Where the band lies: the subsample fit, the root of its inverse Gram, the edges."""

    def __init__(self, theta, root, kappa_lo, kappa_hi):
        self.theta, self.root = theta, root
        self.kappa_lo, self.kappa_hi = float(kappa_lo), float(kappa_hi)


def _row_blocks(X, y, w):
    """The row-blocks of ``X``, ``y`` and ``w`` (:class:`statoptim._dask.RowBlocks`)."""
    for name, v in (("y", y), ("sample_weight", w)):
        dtype = None if v is None else (v.dtype if is_dask_array(v) else np.asarray(v).dtype)
        if dtype is not None and dtype.kind not in "biuf":
            raise ValueError(f"{name} must be a 1-D array of numbers, got dtype {dtype}")
    return RowBlocks(X, {"y": y, "sample_weight": w})


def _scan(blocks, prob, seed_seq):
    seeds = seed_seq.spawn(len(blocks))

    def task(xb, yb, wb, offset, prob, seed):
        return _scan_task(xb, yb, wb, seed, prob)

    return blocks.map(task, prob, per_block=[(s,) for s in seeds])


def _check_scan(facts):
    if sum(f["x_bad"] for f in facts):
        raise ValueError("X must be finite, got NaN or infinite value(s)")
    if sum(f["y_bad"] for f in facts):
        raise ValueError("y must be finite, got NaN or infinite value(s)")
    if sum(f["w_bad"] for f in facts) or sum(f["w_neg"] for f in facts):
        raise ValueError("sample_weight must be finite and non-negative")
    if not sum(f["n_pos"] for f in facts):
        raise ValueError("sample_weight must have a positive entry")


def _scaling(facts, intercept, n_features):
    colmax = np.max([f["colmax"] for f in facts], axis=0)
    if intercept:
        colmax = np.concatenate([[1.0], colmax])
    k_z = _power_of_two_scale(colmax[None, :], axis=0, nonnegative=True)
    k_y = int(_power_of_two_scale(np.array([max(f["ymax"] for f in facts)])))
    wmax = max(f["wmax"] for f in facts)
    k_w = int(_power_of_two_scale(np.array([wmax]), nonnegative=True))
    if min(f["wmin_pos"] for f in facts) < 2.0**(k_w - 1021):
        raise ValueError("sample_weight spans too many orders of magnitude (a ratio beyond "
                         "2**1021 between its largest and smallest positive entries)")
    ymax = np.ldexp(max(f["ymax"] for f in facts), -k_y)
    return (bool(intercept), k_z, k_y, k_w), np.ldexp(colmax, -k_z), ymax


def _subsample(facts, scaling):
    intercept, k_z, k_y, k_w = scaling
    xs = np.concatenate([f["sample"][0] for f in facts])
    Zs = _design(xs, intercept, k_z)
    ys = np.ldexp(np.concatenate([f["sample"][1] for f in facts]), -k_y)
    ws = np.ldexp(np.concatenate([f["sample"][2] for f in facts]), -k_w)
    return Zs, ys, ws


def _place_band(Zs, ys, ws, q, gram, theta, tol, max_iter, n_pos, m):
    """MM on the subsample; the band's edges from its standardised residuals."""
    theta, _, _, n_iter, capped = _mm_fit(Zs, ys, ws, q, theta, tol, max_iter, gram)
    root = _inverse_gram_root(gram)
    u = np.empty(Zs.shape[0])
    _band.standardized_residuals(Zs, ys, theta, root, u)
    half = 0.4 * m / n_pos  # the band keeps about 0.8 m of the n_pos rows
    # centred on the share of rows below the fit: q without weights, but weights
    # correlated with y (inverse-probability weights) move it far from q
    centre = float(np.mean(u < 0)) if u.size else q
    lo, hi = centre - half, centre + half
    kappa_lo = np.quantile(u, lo) if lo > 0 else -np.inf
    kappa_hi = np.quantile(u, hi) if hi < 1 else np.inf
    return _Band(theta, root, kappa_lo, kappa_hi), n_iter, capped


class _Reduced:
    """The band's rows (on the client) and the glob sums of everything else."""

    def __init__(self, results, n_features):
        self.glob_z = np.sum([r[0] for r in results], axis=0).reshape(2, n_features)
        self.glob_yw = np.sum([r[1] for r in results], axis=0)
        self.idx = np.concatenate([r[2][0] for r in results])
        self.Z = np.concatenate([r[2][1] for r in results]).reshape(-1, n_features)
        self.y = np.concatenate([r[2][2] for r in results])
        self.w = np.concatenate([r[2][3] for r in results])
        self.side = np.zeros(self.idx.size, dtype=np.int8)  # 0: in the problem, +-1: globbed
        self.wide = (self.glob_z.copy(), self.glob_yw.copy())

    def narrow(self, resid, n_narrow):
        """All but the ``n_narrow`` band rows of smallest ``|resid|`` join the globs."""
        _narrow(self.Z, self.y, self.w, np.arange(self.idx.size), resid, n_narrow,
                self.side, self.glob_z, self.glob_yw)

    def widen(self):
        self.glob_z[:], self.glob_yw[:] = self.wide
        self.side[:] = 0

    def _glob_add(self, g, Z, y, w, sign):
        self.glob_z[g] += sign * (w @ Z)
        self.glob_yw[g] += sign * float(w @ y)
        self.glob_yw[2 + g] += sign * float(w.sum())

    def problem(self):
        keep = self.side == 0
        return _glob(self.Z[keep], self.y[keep], self.w[keep], self.glob_z, self.glob_yw)

    def take_back(self, offenders):
        """Offending rows leave their glob and join the problem."""
        idx, Z, y, w, side = offenders
        known = np.isin(idx, self.idx)
        for g, s in ((0, -1), (1, 1)):
            mine = side == s
            if mine.any():
                self._glob_add(g, Z[mine], y[mine], w[mine], -1.0)
        if known.any():  # narrowed rows of the band: back into the problem
            pos = np.searchsorted(self.idx, idx[known])
            self.side[pos] = 0
        new = ~known
        if new.any():  # rows of the wide globs: join the band's rows
            self.idx = np.concatenate([self.idx, idx[new]])
            self.Z = np.concatenate([self.Z, Z[new]])
            self.y = np.concatenate([self.y, y[new]])
            self.w = np.concatenate([self.w, w[new]])
            self.side = np.concatenate([self.side, np.zeros(int(new.sum()), np.int8)])
            order = np.argsort(self.idx, kind="stable")
            self.idx, self.Z, self.y = self.idx[order], self.Z[order], self.y[order]
            self.w, self.side = self.w[order], self.side[order]
            for g, s in ((0, -1), (1, 1)):  # the wide globs lose them for good
                mine = new & (side == s)
                if mine.any():
                    self.wide[0][g] -= w[mine] @ Z[mine]
                    self.wide[1][g] -= float(w[mine] @ y[mine])
                    self.wide[1][2 + g] -= float(w[mine].sum())

    def per_block(self, offsets, n_samples):
        """(local indices, sides) of the band's rows in each block."""
        ends = np.append(offsets[1:], n_samples)
        out = []
        for start, end in zip(offsets, ends):
            lo, hi = np.searchsorted(self.idx, [start, end])
            out.append((self.idx[lo:hi] - start, self.side[lo:hi]))
        return out


def solve_quantile_dask(X, y, w, q, *, fit_intercept=True, tol=1e-5, max_iter=1000,
                        max_pivots=None, random_state=0, theta0=None):
    """Exact weighted quantile regression of a dask array ``X`` (rows in chunks).

    The answer is the same LP optimum as the in-memory solver's (the
    certificate and the verification pass make it exact), found without
    ever gathering ``X``: see the module docstring for the passes.
    ``theta0`` (coefficients of ``[1, X]`` when ``fit_intercept``) warm-starts
    the subsample fit. Returns a :class:`QuantileSolution` whose ``coef``
    includes the intercept first when ``fit_intercept``.
    """
    blocks = _row_blocks(X, y, w)
    n_samples = blocks.n_samples
    n_coef = blocks.n_features + int(fit_intercept)
    seed_seq = np.random.SeedSequence(random_state)
    m = int(((n_coef + 1) * n_samples) ** (2.0 / 3.0))
    total_iter = total_piv = 0
    capped = False
    scaling = None
    n_round = 0
    while True:  # m doubles each round: at most log2(n / m) rounds
        n_round += 1
        # as in memory: from m >= n / 2 on, every row is solved directly (the band would
        # hold most of them); the scan then returns all of them, not a subsample
        prob = 1.0 if m >= n_samples // 2 else m / n_samples
        facts = _scan(blocks, prob, seed_seq.spawn(1)[0])
        if scaling is None:
            _check_scan(facts)
            scaling, colmax, ymax = _scaling(facts, fit_intercept, blocks.n_features)
            n_pos = sum(f["n_pos"] for f in facts)
            _, k_z, k_y, _ = scaling
            theta = None if theta0 is None else np.ldexp(np.asarray(theta0, float), k_z - k_y)
        Zs, ys, ws = _subsample(facts, scaling)
        del facts
        try:
            gram = _check_full_rank(Zs, ws)
        except ValueError:
            if prob >= 1.0:  # every row is in the subsample: the design itself is deficient
                _check_full_rank(Zs, ws, _Design("X", fit_intercept))
            m *= 2
            continue
        if prob >= 1.0:  # every row with w > 0 is in (Zs, ys, ws): solve them directly
            sol = _solve_direct(Zs, ys, ws, q, theta, tol, max_iter, max_pivots, gram)
            sol.n_iter += total_iter
            sol.n_pivots += total_piv
            sol.mm_capped |= capped
            return _finish(sol.coef, sol.objective, sol.status, sol, scaling, colmax, ymax,
                           fit_intercept, n_round)
        band, n_iter, mm_capped = _place_band(Zs, ys, ws, q, gram, theta, tol, max_iter,
                                              n_pos, m)
        total_iter += n_iter
        capped |= mm_capped
        theta = band.theta
        del Zs, ys, ws
        results = blocks.map(_band_task, scaling, band)
        red = _Reduced(results, n_coef)
        del results
        sol, n_iter, n_piv = _solve_band(blocks, red, scaling, band, q, theta, tol, max_iter,
                                         max_pivots)
        total_iter += n_iter
        total_piv += n_piv
        if sol is not None:
            done = QuantileSolution(coef=sol[0], objective=sol[1], n_iter=total_iter,
                                    n_pivots=total_piv, status=sol[2], mm_capped=capped)
            return _finish(sol[0], sol[1], sol[2], done, scaling, colmax, ymax, fit_intercept,
                           n_round)
        theta = band.theta
        m *= 2


def _finish(coef, objective, status, sol, scaling, colmax, ymax, fit_intercept, n_round):
    """Undo the power-of-two scaling of a solution of the scaled problem."""
    _, k_z, k_y, k_w = scaling
    sol.coef = _unscale_coef(coef, k_y - k_z, None, np.array([ymax]),
                             _Design("X", fit_intercept), colmax)
    with np.errstate(over="ignore", under="ignore"):
        sol.objective = float(np.ldexp(objective, k_y + k_w))
    sol.status = status
    sol.n_rounds = n_round
    return sol


def _solve_band(blocks, red, scaling, band, q, theta, tol, max_iter, max_pivots):
    """Step 4 and 5 of the module docstring; ``None`` when the wide band fails."""
    n_coef = red.Z.shape[1]
    n_iter = n_piv = 0
    n_narrow = _narrow_size(red.idx.size, red.idx.size, n_coef)
    narrowed = n_narrow is not None
    if narrowed:
        Zr, yr, wr = red.problem()
        theta, resid, _, it, _ = _mm_fit(Zr, yr, wr, q, theta, tol,
                                         min(max_iter, _REDUCED_MM_ITER))
        n_iter += it
        red.narrow(resid[:red.idx.size], n_narrow)
    fixups = 0
    while fixups < _MAX_FIXUPS:
        Zr, yr, wr = red.problem()
        sol = _solve_direct(Zr, yr, wr, q, theta, tol, min(max_iter, _REDUCED_MM_ITER),
                            max_pivots)
        n_iter += sol.n_iter
        n_piv += sol.n_pivots
        limit = max(int(0.1 * int((red.side == 0).sum())), 1)
        per_block = [(idx, side, limit) for idx, side in red.per_block(blocks.offsets,
                                                                       blocks.n_samples)]

        def task(xb, yb, wb, offset, scaling, band, q, theta, idx, side, limit):
            return _verify_task(xb, yb, wb, offset, scaling, band, q, theta, idx, side, limit)

        results = blocks.map(task, scaling, band, q, sol.coef, per_block=per_block)
        objective = sum(r[0] for r in results)
        n_bad = sum(r[1] for r in results)
        if n_bad == 0:
            return (sol.coef, objective, sol.status), n_iter, n_piv
        if n_bad > limit or any(r[2] is None for r in results):
            if not narrowed:
                return None, n_iter, n_piv
            red.widen()  # the narrow band missed the optimum: back to the wide one
            narrowed = False
            continue
        offenders = tuple(np.concatenate([r[2][k] for r in results]) for k in range(5))
        offenders = (offenders[0], offenders[1].reshape(-1, n_coef), *offenders[2:])
        red.take_back(offenders)
        theta = sol.coef
        fixups += 1
    return None, n_iter, n_piv
