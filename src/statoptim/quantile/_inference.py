"""Standard errors, tests and confidence intervals for linear quantile regression.

:meth:`statoptim.QuantileRegressor.summary` calls :func:`summarize`, which
validates the data and options once and then, for each fitted quantile,
estimates the covariance matrix of the coefficients by one of the methods of
R's ``quantreg::summary.rq`` (Koenker 2005, section 3.4):

``"iid"``
    ``tau (1 - tau) s^2 (X'X)^{-1}`` with the sparsity ``s = 1 / f(F^{-1}(tau))``
    estimated by a difference quotient of the empirical quantile function of
    the residuals (Koenker & Bassett 1982; Siddiqui 1960).
``"nid"``
    The Hendricks & Koenker (1992) sandwich ``tau (1 - tau) H^{-1} J H^{-1}``,
    ``J = X'X``, ``H = X'FX``, with the conditional densities
    ``f_i = 2h / x_i'(beta(tau + h) - beta(tau - h))`` from two refits.
``"ker"``
    Powell's (1991) kernel sandwich: ``f_i = phi(r_i / c) / c`` with a Gaussian
    kernel and the bandwidth ``c`` of Koenker (2005, eq. 3.20).
``"boot"``
    The covariance of bootstrap replicates: xy-pairs (Efron 1979) or the wild
    bootstrap of Feng, He & Hu (2011), each replicate solved exactly by
    :func:`statoptim.quantile.solve_quantile`.
``"rank"``
    Intervals from inverting the regression rank-score test (Gutenbrunner,
    Jureckova, Koenker & Portnoy 1993; Koenker 1994), by parametric linear
    programming in the tested value; no covariance. Equal to R's
    ``summary(fit, se = "rank", alpha = alpha)``; note that R's default level
    there is ``rq.fit.br``'s ``alpha = 0.1`` (90% intervals), not 0.05.
    Where the restricted fit is degenerate (e.g. p = 2 with an intercept and
    ``n * tau`` an integer) R's interpolated bound depends on which optimal
    basis its simplex holds and can differ from ours by a few percent of the
    interval width (both inside the same step of the rank statistic).

Weights follow R's convention for ``rq(..., weights = w)``: every row of
``(X, y)`` and every residual is multiplied by its weight before the formulas
above are applied, so that ``J = X'W^2X`` and ``H = X'WFX`` (the sandwich of
the weighted estimating equation ``sum_i w_i psi_tau(r_i) x_i = 0``). Weights
are therefore treated as sampling (inverse-probability) weights: a weight of 2
is not the same as a duplicated row for the standard errors. Rows with zero
weight are dropped, as in ``fit`` (R keeps them in ``n``).

t statistics use ``n - p`` degrees of freedom, as R and statsmodels do.
"""
from __future__ import annotations

import itertools
import math
import numbers
import warnings
from concurrent.futures import ThreadPoolExecutor

import numpy as np
from scipy import stats

from statoptim._validation import (
    _describe,
    check_choice,
    check_int,
    check_n_threads,
    check_random_state,
    check_real,
)
from statoptim.exceptions import BootstrapWarning, ConvergenceWarning
from statoptim.quantile import _rank_walk
from statoptim.quantile._density import (
    BANDWIDTH_RULES,
    _adaptive_density_at_zero,
    _inverse_gram,
    _leverages,
    sparsity_bandwidth,
)
from statoptim.quantile._solver import _solve
from statoptim.quantile._summary import QuantileSummary

__all__ = ["QuantileSummary", "sparsity_bandwidth", "summarize"]

SE_METHODS = ("iid", "nid", "ker", "boot", "rank")
BOOTSTRAP_KINDS = ("xy", "wild")

# R's summary.rq counts residuals below sqrt(machine epsilon) as zero (in
# absolute terms); here the threshold is relative to max |y| so that the
# count does not change when the data are rescaled.
_ZERO_RESID = math.sqrt(np.finfo(np.float64).eps)


# --------------------------------------------------------------------------
# covariance estimators (one quantile); Zt, rt are the weighted design rows
# w_i z_i and residuals w_i r_i
# --------------------------------------------------------------------------
def _fit(problem, q, theta0):
    """Exact weighted quantile regression of the problem's data at ``q``."""
    Z, y, w, opts = problem["Z"], problem["y"], problem["w"], problem["solver"]
    sol = _solve(Z, y, w, q, theta0=theta0, random_state=0, **opts)
    if sol.status != "optimal":
        warnings.warn(
            f"summary: the refit at quantile {q:.6g} stopped after {sol.n_pivots} simplex "
            f"pivots without an optimality certificate ({sol.status}); its coefficients "
            f"are the best point found. Increase max_pivots.",
            ConvergenceWarning,
            stacklevel=5,
        )
    return sol.coef


def _halved(q, h):
    """Halve ``h`` until ``q - h`` and ``q + h`` lie inside (0, 1) (R's rule)."""
    while q - h <= 0.0 or q + h >= 1.0:
        h *= 0.5
    return h


def _cov_iid(problem, q, coef, h):
    """Koenker-Bassett iid covariance ``tau (1 - tau) s^2 (X'X)^{-1}``.

    The sparsity ``s`` is the slope of a median regression of the sorted
    residuals with the smallest absolute values (ranks ``k = z + 1, ...,
    z + m + 1``, after the ``z`` zero residuals of the basic rows) on
    ``k / (n - p)``, with ``m = max(p + 1, ceil(n h))``: a difference quotient
    of the empirical quantile function of the residuals over a band of width
    about ``h`` (Koenker 2005, section 3.4.1; R's ``summary.rq(se = "iid")``).
    """
    Zt, rt, yt = problem["Zt"], problem["rt"], problem["yt"]
    n, p = Zt.shape
    xxinv = _inverse_gram(Zt, "X'X")
    absr = np.abs(rt)
    n_zero = int(np.count_nonzero(absr < _ZERO_RESID * max(float(np.max(np.abs(yt))), 1e-300)))
    m = max(p + 1, math.ceil(n * h))
    ranks = np.arange(n_zero + 1, min(n_zero + m + 1, n) + 1)  # 1-based, as in R
    if ranks.size < 2:
        raise ValueError(
            f"se='iid' needs at least 2 non-zero residuals in the sparsity band, got "
            f"{ranks.size} (n_samples={n}, {n_zero} zero residuals)"
        )
    order = np.argsort(absr, kind="stable")
    band = np.sort(rt[order[ranks - 1]])
    design = np.column_stack([np.ones(ranks.size), ranks / (n - p)])
    slope = float(_solve(design, band, np.ones(ranks.size), 0.5, theta0=None, tol=1e-5,
                         max_iter=1000, max_pivots=None, preprocess=False,
                         random_state=0).coef[1])
    if not slope > 0:
        raise ValueError(
            "se='iid': the estimated sparsity is zero (the residuals near zero are tied); "
            "use se='nid', 'ker' or 'boot'"
        )
    return q * (1.0 - q) * slope**2 * xxinv


def _cov_nid(problem, q, coef, h):
    """Hendricks-Koenker sandwich with densities from refits at ``tau +- h``."""
    Zt = problem["Zt"]
    b_hi = _fit(problem, q + h, coef)
    b_lo = _fit(problem, q - h, coef)
    delta = b_hi - b_lo
    dyhat = Zt @ delta
    # R's summary.rq takes f_i = max(0, 2h / (dyhat_i - 1.5e-8)), a guard in
    # the units of y; here differences within the rounding error of the two
    # fitted values count as non-positive, so that the estimate does not
    # change when y is rescaled (the two agree to about 1e-8 / dyhat relative).
    rounding = 64 * np.finfo(np.float64).eps * (np.abs(Zt) @ (np.abs(b_hi) + np.abs(b_lo)))
    positive = dyhat > rounding
    n_bad = int(dyhat.size - np.count_nonzero(positive))
    if n_bad:
        warnings.warn(
            f"summary(se='nid'): {n_bad} of {dyhat.size} rows have a non-positive "
            f"density estimate (crossing quantile fits at {q - h:.4g} and {q + h:.4g}); "
            f"they get density 0",
            BootstrapWarning,
            stacklevel=4,
        )
    f = np.zeros_like(dyhat)
    f[positive] = (2.0 * h) / dyhat[positive]
    return _sandwich(Zt, f, q, "X'FX (se='nid': too few positive density estimates)")


def _cov_ker(problem, q, coef, h):
    """Powell's kernel sandwich with a Gaussian kernel."""
    Zt, rt = problem["Zt"], problem["rt"]
    q25, q75 = np.percentile(rt, [25.0, 75.0])  # R's default (type 7) quantiles
    spread = min(float(np.std(rt, ddof=1)), (q75 - q25) / 1.34)
    c = (stats.norm.ppf(q + h) - stats.norm.ppf(q - h)) * spread
    # a spread at the rounding level of y is an exact fit, not a tiny scale
    if not spread > _ZERO_RESID * float(np.max(np.abs(problem["yt"]))):
        raise ValueError(
            "se='ker': the kernel bandwidth is zero (the residuals have no spread); use "
            "se='nid' or 'boot'"
        )
    f = stats.norm.pdf(rt / c) / c
    return _sandwich(Zt, f, q, "X'FX (se='ker')")


def _sandwich(Zt, f, q, what):
    """``tau (1 - tau) H^{-1} J H^{-1}``, ``H = Zt' diag(f) Zt``, ``J = Zt'Zt``."""
    hinv = _inverse_gram(np.sqrt(f)[:, None] * Zt, what)
    return q * (1.0 - q) * (hinv @ (Zt.T @ Zt) @ hinv)


# --------------------------------------------------------------------------
# rank-test inversion (Koenker 1994; Koenker 2005, section 3.5.5)
# --------------------------------------------------------------------------
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


def _cov_boot(problem, q, coef, n_boot, kind, rng, n_threads):
    """Covariance of bootstrap replicates (xy pairs or wild); returns it and them."""
    Z, y, w = problem["Z"], problem["y"], problem["w"]
    n = Z.shape[0]
    gens = rng.spawn(n_boot)
    if kind == "xy":
        def replicate(g):
            counts = np.bincount(g.integers(0, n, n), minlength=n)
            return _solve_replicate(problem, y, counts * w, q, coef)
    else:
        # Feng, He & Hu (2011): y* = x'beta + v |r~| with v = 2(1 - tau) w.p.
        # 1 - tau and -2 tau w.p. tau, on residuals corrected for their
        # downward bias: r~_i = r_i + h_ii (tau - I(r_i < 0)) / f(0). In R's
        # convention for weights the rows and residuals are the weighted ones.
        rt = problem["rt"]
        f0 = _adaptive_density_at_zero(rt)
        radj = np.abs(rt + _leverages(problem["Zt"]) * (q - (rt < 0)) / f0) / w
        fitted = Z @ coef

        def replicate(g):
            v = np.where(g.random(n) < q, -2.0 * q, 2.0 * (1.0 - q))
            return _solve_replicate(problem, fitted + v * radj, w, q, coef)

    if n_threads > 1:
        with ThreadPoolExecutor(max_workers=n_threads) as pool:
            results = list(pool.map(replicate, gens))
    else:
        results = [replicate(g) for g in gens]
    ok = [b for b in results if b is not None]
    n_failed = n_boot - len(ok)
    if len(ok) < 2:
        raise ValueError(
            f"se='boot': {n_failed} of {n_boot} bootstrap replicates had a rank-deficient "
            f"design; the bootstrap covariance cannot be estimated"
        )
    if n_failed:
        warnings.warn(
            f"summary(se='boot'): {n_failed} of {n_boot} replicates had a rank-deficient "
            f"design and were left out",
            BootstrapWarning,
            stacklevel=4,
        )
    reps = np.array(ok)
    return np.atleast_2d(np.cov(reps, rowvar=False)), reps


def _solve_replicate(problem, y, w, q, coef):
    """One bootstrap fit, or None when the resampled design is rank deficient."""
    try:
        return _fit(dict(problem, y=y, w=w), q, coef)
    except ValueError:
        return None


# --------------------------------------------------------------------------
# entry point
# --------------------------------------------------------------------------
def _check_bandwidth(bandwidth):
    """A rule name or a user bandwidth in (0, 1); returns (rule, value or None)."""
    if isinstance(bandwidth, str):
        return check_choice(bandwidth, "bandwidth", BANDWIDTH_RULES), None
    if isinstance(bandwidth, numbers.Real) and not isinstance(bandwidth, bool):
        return "user", check_real(bandwidth, "bandwidth", low=0, high=1, low_open=True,
                                  high_open=True)
    raise ValueError(
        f"bandwidth must be one of {list(BANDWIDTH_RULES)!r} or a number in (0, 1), "
        f"got {_describe(bandwidth)}"
    )


def _check_training_data(r, y, w, q, fit_intercept):
    """With an intercept, an optimal fit balances the residual signs (KKT).

    ``sum_{r>0} w q - sum_{r<0} w (1 - q)`` must lie in
    ``[-q W_0, (1 - q) W_0]`` (``W_0`` the weight of zero residuals): a cheap
    test that ``X, y, sample_weight`` are the data the model was fitted on.
    """
    if not fit_intercept:
        return
    tiny = _ZERO_RESID * float(np.max(np.abs(y)))
    pos, neg = r > tiny, r < -tiny
    zero = ~(pos | neg)
    w_pos, w_neg, w_zero = w[pos].sum(), w[neg].sum(), w[zero].sum()
    balance = q * w_pos - (1.0 - q) * w_neg
    slack = 1e-8 * w.sum()
    if balance < -q * w_zero - slack or balance > (1.0 - q) * w_zero + slack:
        raise ValueError(
            f"X, y and sample_weight do not look like the data the model was fitted on: "
            f"at quantile {q:g} the weighted share of negative residuals is "
            f"{w_neg / w.sum():.4g} and of positive ones {w_pos / w.sum():.4g}, which no "
            f"optimal fit with an intercept gives. Pass the training data to summary()"
        )


def _positive_rows(X, y, w, fit_intercept):
    """``(Z, y, w)`` on the rows of positive weight, ``Z = [1, X]`` when fitted with an
    intercept; a ValueError without a residual degree of freedom."""
    keep = w > 0
    if not keep.all():
        X, y, w = X[keep], y[keep], w[keep]
    n = X.shape[0]
    if fit_intercept:
        Z = np.empty((n, X.shape[1] + 1))
        Z[:, 0] = 1.0
        Z[:, 1:] = X
    else:
        Z = np.ascontiguousarray(X)
    k = Z.shape[1]
    if n <= k:
        raise ValueError(
            f"summary needs more samples with positive weight than coefficients ({k}) for "
            f"a residual degree of freedom, got n_samples = {n}"
        )
    return Z, y, w


def stacked_coefs(model, fit_intercept):
    """(n_quantiles, n_coef) coefficients of a fitted model, intercept first when fitted."""
    coef = np.atleast_2d(np.asarray(model.coef_, dtype=np.float64))
    if fit_intercept:
        intercept = np.atleast_1d(np.asarray(model.intercept_, dtype=np.float64))
        coef = np.column_stack([intercept, coef])
    return coef


def coef_names(model, n_features, fit_intercept):
    """"intercept" (if fitted) and the feature names seen by fit, or x1, x2, ..."""
    names = ["intercept"] if fit_intercept else []
    feature_names = getattr(model, "feature_names_in_", None)
    if feature_names is not None:
        return names + [str(s) for s in feature_names]
    return names + [f"x{i}" for i in range(1, n_features + 1)]


def summarize(model, X, y, sample_weight=None, *, se="nid", alpha=0.05,
              bandwidth="hall-sheather", n_boot=200, bootstrap="xy", random_state=None,
              n_threads=None):
    """Inference for a fitted :class:`~statoptim.QuantileRegressor`.

    See :meth:`statoptim.QuantileRegressor.summary` for the parameters.
    ``X``, ``y`` and ``sample_weight`` are validated by the caller (float64,
    finite, matching ``n_features_in_``).
    """
    check_choice(se, "se", SE_METHODS)
    alpha = check_real(alpha, "alpha", low=0, high=1, low_open=True, high_open=True)
    rule, user_h = _check_bandwidth(bandwidth)
    if se == "boot":
        n_boot = check_int(n_boot, "n_boot", minimum=2)
        bootstrap = check_choice(bootstrap, "bootstrap", BOOTSTRAP_KINDS)
        rng = check_random_state(random_state)
        n_threads = check_n_threads(n_threads)

    Z, y, w = _positive_rows(X, y, sample_weight, model.fit_intercept)
    n, k = Z.shape
    coefs = stacked_coefs(model, model.fit_intercept)
    quantiles = np.atleast_1d(np.asarray(model.quantile, dtype=np.float64))
    scalar = np.ndim(model.quantile) == 0

    Zt = w[:, None] * Z
    yt = w * y
    problem = {
        "Z": Z, "y": y, "w": w, "Zt": Zt, "yt": yt,
        "solver": {"tol": model.tol, "max_iter": model.max_iter,
                   "max_pivots": model.max_pivots, "preprocess": model.preprocess},
    }
    covs = np.empty((quantiles.size, k, k))
    hs = np.empty(quantiles.size)
    reps = []
    rank_conf = np.empty((quantiles.size, k, 2))
    rank_t = np.empty((quantiles.size, k))
    statuses = [model.status_] if scalar else list(model.status_)
    for j, (q, coef) in enumerate(zip(quantiles, coefs)):
        r = y - Z @ coef
        if statuses[j] == "optimal":  # an uncertified fit need not balance the signs
            _check_training_data(r, y, w, q, model.fit_intercept)
        problem["rt"] = w * r
        if se == "boot":
            covs[j], rep = _cov_boot(problem, q, coef, n_boot, bootstrap, rng, n_threads)
            reps.append(rep)
            continue
        if se == "rank":
            covs[j] = np.nan
            rank_conf[j], rank_t[j] = _rank_inference(problem, q, coef, alpha)
            continue
        h = user_h if user_h is not None else sparsity_bandwidth(q, n, rule)
        if se == "iid":
            hs[j] = h  # a band of ranks, not tau +- h: no halving (as in R)
            covs[j] = _cov_iid(problem, q, coef, h)
        else:
            hs[j] = h = _halved(q, h)
            covs[j] = (_cov_nid if se == "nid" else _cov_ker)(problem, q, coef, h)

    names = coef_names(model, X.shape[1], model.fit_intercept)
    boot = se == "boot"
    no_h = se in ("boot", "rank")
    return QuantileSummary(
        coef=coefs, cov=covs, se=se, alpha=alpha, quantile=quantiles, scalar=scalar,
        names=names, nobs=n,
        bandwidth=None if no_h else hs, bandwidth_rule=None if no_h else rule,
        bootstrap=bootstrap if boot else None, replicates=reps if boot else None,
        rank=(rank_conf, rank_t) if se == "rank" else None,
    )
