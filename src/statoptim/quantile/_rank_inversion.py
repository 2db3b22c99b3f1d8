"""Rank-inversion intervals for linear quantile regression (``se="rank"``).

Inverts the regression rank-score test (Gutenbrunner, Jureckova, Koenker &
Portnoy 1993; Koenker 1994; Koenker 2005, section 3.5.5) by parametric linear
programming in the tested value: the restricted fits of ``y - b x_j`` on the
other columns are walked in ``b`` (:class:`_Restricted`, :func:`_rank_bound`)
until the rank statistic reaches its critical value. The compiled kernel
(``_rank_walk.rank_walk``) takes every step it can and hands the others back to
the NumPy walk here, which stays the reference. :func:`_rank_inference` is the
``"rank"`` method of :func:`statoptim.quantile._inference.summarize`.
"""
from __future__ import annotations

import itertools
import math

import numpy as np
from scipy import stats

from statoptim.quantile import _rank_walk
from statoptim.quantile._density import _inverse_gram
from statoptim.quantile._solver import _solve

# Most candidate bases tried at a vertex where several residuals cross zero
# together (ties); beyond that the walk restarts from an exact fit.
_MAX_CANDIDATES = 200
# The compiled walk (_rank_walk.rank_walk) takes the steps it can; False
# leaves every step to the NumPy walk below, the reference it is tested against.
_COMPILED_WALK = True


class _Restricted:
    """The fit of ``y - b c`` on ``A`` with row weights ``w`` as ``b`` varies."""

    def __init__(self, A, c, y, w, q, solver):
        self.A = np.ascontiguousarray(A, dtype=np.float64)
        self.c, self.y, self.w = (np.ascontiguousarray(a, dtype=np.float64) for a in (c, y, w))
        self.q, self.solver = q, solver
        self.absA = np.abs(A).sum(axis=1)

    def segment(self, basis, b_at, direction, leaving):
        """Rank scores just past ``b_at`` for one basis, or None if not optimal.

        ``basis`` (m rows) interpolates the fit; rows in ``leaving`` have a
        zero residual at ``b_at`` and take the sign their residual has just
        past it in ``direction``. Optimality is Koenker's certificate
        (2005, Thm 2.1): the dual values ``v`` of the basic rows, from
        ``A_h'v = -sum_{i not in h} w_i psi(r_i) a_i``, lie in
        ``[w_i (tau - 1), w_i tau]``. Rows whose residual stays zero along
        the whole segment (proportional to basic rows, e.g. ``-1`` times one)
        get free dual values in the same box, found by a small feasibility
        LP. Returns ``(psi, b_next, crossing, margin)``: the dual solution
        (``w_i (tau - I(r_i < 0))`` off the basis), where the next residual
        crosses zero (None if none does), the rows crossing there and the
        distance of ``v`` to its bounds.
        """
        A, c, y, w, q = self.A, self.c, self.y, self.w, self.q
        n, m = A.shape
        eps = np.finfo(np.float64).eps
        if m:
            # m x m algebra in NumPy (SciPy's LAPACK wrappers cost milliseconds
            # per call on a loaded machine); the inverse is also the rounding bound
            Ah = A[basis]
            try:
                inv = np.linalg.inv(Ah)
            except np.linalg.LinAlgError:
                return None
            if not np.linalg.norm(Ah, 1) * np.linalg.norm(inv, 1) < 1e12:
                return None
            sol = inv @ np.column_stack([y[basis], c[basis]])
            u = y - A @ sol[:, 0]
            v = c - A @ sol[:, 1]
            # rounding levels of the residual r_i = u_i - b v_i and its slope v_i
            v_tol = 64 * eps * (np.abs(c) + self.absA * np.max(np.abs(sol[:, 1])))
            u_tol = 64 * eps * (np.abs(y) + self.absA * np.max(np.abs(sol[:, 0])))
        else:
            u, v = y.copy(), c.copy()
            v_tol = u_tol = np.zeros(n)
        u[basis] = 0.0
        v[basis] = 0.0
        r = u - b_at * v
        free = (np.abs(v) <= v_tol) & (np.abs(r) <= u_tol + abs(b_at) * v_tol)
        free[basis] = False
        r[leaving] = -direction * v[leaving]
        psi = w * np.where(r < 0, q - 1.0, q)
        margin = np.inf
        if free.any():
            psi[free] = 0.0
            psi[basis] = 0.0
            psi = self._free_duals(basis, np.flatnonzero(free), psi)
            if psi is None:
                return None
            margin = 0.0
        elif m:
            psi[basis] = 0.0
            vh = -(inv.T @ (A.T @ psi))
            wh = w[basis]
            tol = 1e-9 * wh + 64 * eps * (np.abs(inv).T @ (w @ np.abs(A)))
            margin = float(np.min(np.minimum(vh - wh * (q - 1.0), wh * q - vh) + tol))
            if margin < 0:
                return None
            psi[basis] = vh
        # next crossing: r_i(b) = u_i - b v_i = 0 at b = u_i / v_i
        cand = np.abs(v) > v_tol
        cand[basis] = False
        cand[leaving] = False
        idx = np.flatnonzero(cand)
        b_cross = u[idx] / v[idx]
        ahead = direction * (b_cross - b_at) > 0
        if not ahead.any():
            return psi, None, idx[:0], margin
        idx, b_cross = idx[ahead], b_cross[ahead]
        k = np.argmin(direction * b_cross)
        b_next = float(b_cross[k])
        tie = np.abs(b_cross - b_next) <= 1e-12 * (abs(b_next) + abs(b_next - b_at))
        return psi, b_next, idx[tie], margin

    def _free_duals(self, basis, free, psi):
        """Dual values of the basic and always-zero rows in their boxes, or None.

        Solves ``A_S' x = -sum_{i not in S} psi_i a_i`` with
        ``w_i (tau - 1) <= x_i <= w_i tau`` over ``S = basis + free`` (HiGHS).
        """
        from scipy.optimize import linprog

        A, w, q = self.A, self.w, self.q
        S = np.concatenate([basis, free])
        rhs = -(A.T @ psi)  # psi is zero on S here
        bounds = np.column_stack([w[S] * (q - 1.0), w[S] * q])
        if A.shape[1] == 0:
            x = bounds.mean(axis=1)
        else:
            res = linprog(np.zeros(S.size), A_eq=A[S].T, b_eq=rhs, bounds=bounds,
                          method="highs")
            if res.status != 0:
                return None
            x = res.x
        out = psi.copy()
        out[S] = x
        return out

    def enter(self, rows, b_at, direction):
        """The optimal basis just past ``b_at`` among ``rows`` (zero residuals there).

        Tries the choices of m rows (one pivot when a single residual
        crosses; a few more at ties) until one is optimal with a clear margin
        (the only optimal one when the vertex is not degenerate); otherwise
        returns the optimal one with the largest margin, or None.
        """
        m = self.A.shape[1]
        n_cand = math.comb(len(rows), m)
        if n_cand > _MAX_CANDIDATES:
            return None
        clear = 1e-7 * float(np.max(self.w[rows])) if len(rows) else 0.0
        best = None
        for keep in itertools.combinations(range(len(rows)), m):
            mask = np.zeros(len(rows), dtype=bool)
            mask[list(keep)] = True
            res = self.segment(rows[mask], b_at, direction, rows[~mask])
            if res is not None and (best is None or res[3] > best[1][3]):
                best = (rows[mask], res)
                if res[3] > clear:
                    break
        return best

    def probe(self, b, direction):
        """Basis and segment of the exact fit at ``b`` (meant for a generic ``b``)."""
        m = self.A.shape[1]
        y_b = self.y - b * self.c
        if not m:
            return self.enter(np.empty(0, dtype=np.intp), b, direction)
        sol = _solve(self.A, y_b, self.w, self.q, theta0=None, random_state=0, **self.solver)
        r = y_b - self.A @ sol.coef
        scale = 64 * np.finfo(np.float64).eps * (np.abs(y_b) + np.abs(self.A) @ np.abs(sol.coef))
        zero = np.flatnonzero(np.abs(r) <= scale)
        if zero.size < m:  # pragma: no cover - an exact vertex interpolates m rows
            zero = np.argsort(np.abs(r), kind="stable")[:m]
        return self.enter(zero, b, direction)


def _interpolate(prev_b, prev_t, b_at, t_here, direction, cutoff):
    """Where ``|T|`` reaches the cutoff, linearly between two segments (R's ``interp``)."""
    if t_here == prev_t:  # pragma: no cover - a jump is never zero
        return b_at
    return prev_b + direction * abs(b_at - prev_b) * (cutoff - abs(prev_t)) / abs(
        t_here - prev_t)


def _rank_bound(fit, b0, rows, direction, cutoff, scale):
    """Walk the restricted fits from ``b0`` until ``|T(b)| >= cutoff``.

    ``T(b) = c'psi(b) / scale`` is piecewise constant between the values of
    ``b`` where a residual of the restricted fit changes sign. Each step
    swaps the crossing row into the basis (parametric linear programming);
    the bound interpolates linearly between the last segment inside and the
    first outside, as R's ``rq.fit.br(ci = TRUE, interp = TRUE)`` does.
    """
    n, m = fit.A.shape
    prev_b, prev_t = b0, 0.0
    b_at = b0
    max_steps = 4 * n + 10
    steps = 0
    buffer = np.empty(n + 1, dtype=np.intp)
    while steps < max_steps:
        if _COMPILED_WALK and m and steps and len(rows) == m + 1:
            # the compiled walk takes every step it can; it hands back the
            # ones that need the combinatorial search below (ties, free duals)
            buffer[:m + 1] = rows
            status, n_rows, b_at, prev_b, prev_t, t_here, taken = _rank_walk.rank_walk(
                fit.A, fit.c, fit.y, fit.w, fit.q, buffer, m + 1, b_at, direction, prev_b,
                prev_t, cutoff, scale, max_steps - steps)
            steps += taken
            if status == _rank_walk.WALK_BOUND:
                return _interpolate(prev_b, prev_t, b_at, t_here, direction, cutoff)
            if status == _rank_walk.WALK_INFINITE:
                return direction * np.inf
            rows = buffer[:n_rows].copy()
            if steps >= max_steps:
                break
        steps += 1
        found = fit.enter(rows, b_at, direction)
        if found is None:
            # a degenerate vertex (ties): restart from an exact fit just past it
            step = 1e-9 * max(abs(b_at), abs(b_at - b0), abs(b0), 1e-300)
            found = fit.probe(b_at + direction * step, direction)
            if found is None:
                raise ValueError(
                    "se='rank': the rank-inversion walk met a degenerate restricted fit "
                    "it could not resolve (tied data); use se='nid', 'ker' or 'boot'"
                )
        basis, (psi, b_next, crossing, _) = found
        t_here = float(fit.c @ psi) / scale
        if abs(t_here) >= cutoff:
            return _interpolate(prev_b, prev_t, b_at, t_here, direction, cutoff)
        prev_b, prev_t = b_at, t_here
        if b_next is None:
            return direction * np.inf
        rows = np.concatenate([basis, crossing])
        b_at = b_next
    raise ValueError(  # pragma: no cover - each step passes one of finitely many crossings
        "se='rank': the rank-inversion walk did not end; use se='nid', 'ker' or 'boot'"
    )


def _rank_inference(problem, q, coef, alpha):
    """Rank-inversion intervals and rank-test statistics of ``beta_j = 0``.

    For each coefficient ``j`` the regression rank-score test of
    ``H0: beta_j = b`` (Gutenbrunner, Jureckova, Koenker & Portnoy 1993) fits
    ``y - b x_j`` on the other columns and uses the "tau" scores
    ``psi_i = a_i(b) - (1 - tau)`` of the dual solution:
    ``T(b) = x_j'psi / sqrt(tau (1 - tau) q_j)``, ``q_j = 1 / [(X'X)^{-1}]_jj``
    (iid errors). The interval is ``{b : |T(b)| < t_{1 - alpha/2, n - p}}``
    (Koenker 1994), found by parametric programming in ``b``; ``T(0)`` gives
    the test of ``beta_j = 0`` (at a tie, the side with the smaller ``|T|``).
    Matches R's ``summary.rq(se = "rank")`` (with its ``iid = TRUE``,
    ``interp = TRUE``, ``tcrit = TRUE``). Weights follow R's convention
    (``q_j`` from the weighted rows ``w_i x_i``); identical rows of
    ``(X, y)`` are merged (their weights added), which leaves ``T``
    unchanged and removes the degeneracy they cause.
    """
    Zt = problem["Zt"]
    n, p = Zt.shape
    cutoff = stats.t.ppf(1.0 - alpha / 2.0, n - p)
    qn = 1.0 / np.diag(_inverse_gram(Zt, "X'X"))
    rows, inverse = np.unique(np.column_stack([problem["Z"], problem["y"]]), axis=0,
                              return_inverse=True)
    Z, y = rows[:, :p], rows[:, p]
    w = np.bincount(inverse.ravel(), weights=problem["w"], minlength=rows.shape[0])
    r_full = y - Z @ coef
    full_basis = np.argsort(np.abs(r_full), kind="stable")[:p]
    conf = np.empty((p, 2))
    tstat = np.empty(p)
    for j in range(p):
        fit = _Restricted(np.delete(Z, j, axis=1), Z[:, j], y, w, q, problem["solver"])
        scale = math.sqrt(qn[j] * q * (1.0 - q))
        for side, direction in ((0, -1.0), (1, 1.0)):
            conf[j, side] = _rank_bound(fit, float(coef[j]), full_basis, direction, cutoff,
                                        scale)
        # T(0): 0 may be a crossing point itself (ties): take both sides
        width = conf[j, 1] - conf[j, 0]
        step = 1e-9 * (abs(coef[j]) + (width if np.isfinite(width) else 1.0))
        at_zero = fit.probe(0.0, 1.0)
        if at_zero is not None:
            tstat[j] = float(fit.c @ at_zero[1][0]) / scale
            continue
        found = [fit.probe(b, 1.0) for b in (step, -step)]
        values = [float(fit.c @ f[1][0]) / scale for f in found if f is not None]
        if not values:
            raise ValueError(
                "se='rank': the restricted fit at b = 0 is degenerate (tied data); use "
                "se='nid', 'ker' or 'boot'"
            )
        tstat[j] = min(values, key=abs)
    return conf, tstat
