"""The regression-quantile process: every solution over tau in [0, 1].

:class:`statoptim.QuantileRegressor` with ``quantile="all"`` calls
:func:`fit_process`, which finds an exact optimal basis at ``tau = 1/2``
with the exact solver (MM and simplex finish) and follows the process from
there towards ``tau = 1`` and towards ``tau = 0`` by parametric linear
programming in ``tau`` (Koenker & d'Orey 1987; Koenker 2005, section 6.3;
kernel ``_parametric.pyx``): the solution is piecewise constant in ``tau``,
and at each breakpoint one row of the basis is exchanged. R's
``quantreg::rq(tau = -1)`` computes the same process.

Also here: the rearrangement of crossing quantile predictions
(Chernozhukov, Fernandez-Val & Galichon 2010) and :func:`plot_process`,
the figure of the coefficient process with its confidence band, as R's
``plot(summary(rq(...)))`` draws it.
"""
from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Literal

import numpy as np
from numpy.typing import ArrayLike
from scipy import stats
from sklearn.base import BaseEstimator
from sklearn.utils.validation import check_is_fitted

from statoptim._optional import require
from statoptim._validation import _describe, check_real
from statoptim.quantile import _parametric, _simplex
from statoptim.quantile._checks import as_float_array, check_finite, check_flag
from statoptim.quantile._solver import _Design, _power_of_two_scale, _solve, _unscale_coef

__all__ = ["QuantileProcess", "fit_process", "plot_process", "rearrange"]

# The exact solver starts the process at the median, where MM is best
# conditioned; the process is followed from there in both directions.
_START = 0.5
_STATUS = _parametric.PROCESS_STATUS


@dataclass
class QuantileProcess:
    """The regression-quantile process of a fitted :class:`~statoptim.QuantileRegressor`.

    The solution ``theta(tau)`` is piecewise constant: piece ``j`` is the
    exact solution for every ``tau`` in ``[breakpoints[j], breakpoints[j+1]]``
    (at a breakpoint both neighbouring pieces are optimal). As in R's
    ``rq(tau = -1)``, ``breakpoints[j]`` for ``j < n_pieces`` is where piece
    ``j`` takes over.

    Attributes
    ----------
    breakpoints : ndarray of shape (n_pieces + 1,)
        Increasing, from 0 to 1 (when ``complete``).
    coef : ndarray of shape (n_pieces, n_coef)
        The solution on each piece, the intercept first when one was fitted.
    objective : ndarray of shape (n_pieces,)
        ``sum_i w_i rho_tau(y_i - z_i'theta)`` at ``tau = breakpoints[j]``.
    basis : ndarray of shape (n_pieces, n_coef)
        Rows of the training data (indices into the ``X`` given to ``fit``)
        that the fit of each piece interpolates.
    n_pivots : int
        Parametric pivots taken (simplex pivots at a fixed ``tau`` included).
    complete : bool
        False when the pivot cap (``max_pivots``) or rounding stopped the
        path early; the pieces then cover ``[breakpoints[0], breakpoints[-1]]``.
    fit_intercept : bool
        Whether ``coef[:, 0]`` is the intercept.

    Examples
    --------
    >>> import numpy as np
    >>> from statoptim import QuantileRegressor
    >>> rng = np.random.default_rng(0)
    >>> x = rng.uniform(0, 2, 50)
    >>> y = 1 + 2 * x + (1 + x) * rng.standard_normal(50)
    >>> process = QuantileRegressor(quantile="all").fit(x[:, None], y).process_
    >>> process.complete, process.coef.shape[1]
    (True, 2)
    >>> bool(np.all(np.diff(process.breakpoints) > 0))
    True
    """

    breakpoints: np.ndarray
    coef: np.ndarray
    objective: np.ndarray
    basis: np.ndarray
    n_pivots: int
    complete: bool
    fit_intercept: bool
    _sums: np.ndarray  # (n_pieces, 2): objective on piece j is tau S1 - S2 (scaled back)

    @property
    def n_pieces(self):
        """Number of distinct solutions (pieces) of the process."""
        return self.coef.shape[0]

    def _piece(self, quantile):
        q = as_float_array(quantile, "quantile", expected="a number or an array of numbers")
        check_finite(np.atleast_1d(q), "quantile")
        lo, hi = self.breakpoints[0], self.breakpoints[-1]
        bad = (q < lo) | (q > hi)
        if bad.any():
            raise ValueError(
                f"quantile must lie in [{lo:g}, {hi:g}] (the range the process covers), got "
                f"{float(q[bad].flat[0])!r}"
            )
        j = np.searchsorted(self.breakpoints, q, side="right") - 1
        return q, np.minimum(j, self.n_pieces - 1)

    def coef_at(self, quantile: float | ArrayLike) -> np.ndarray:
        """The solution at the level(s) ``quantile`` (right-continuous at breakpoints).

        Parameters
        ----------
        quantile : float or array-like of float in [0, 1]

        Returns
        -------
        coef : ndarray of shape (n_coef,) or quantile.shape + (n_coef,)
            Intercept first when one was fitted.
        """
        _, j = self._piece(quantile)
        return self.coef[j]

    def __call__(self, quantile):
        """The process as a function of the level: the same as :meth:`coef_at`.

        ``model.process_(tau)`` gives the exact solution at every level of the
        array ``tau`` (piecewise constant, right-continuous at breakpoints)
        without refitting; parameters and result as for :meth:`coef_at`.
        """
        return self.coef_at(quantile)

    def predict(self, Z: ArrayLike, quantile: float | ArrayLike,
                monotone: bool = False) -> np.ndarray:
        """Predicted quantiles ``Z theta(tau)`` of design rows at the levels ``quantile``.

        Parameters
        ----------
        Z : ndarray of shape (n_samples, n_coef)
            Design rows, the intercept's column of ones first when one was
            fitted (:meth:`QuantileRegressor.predict` adds it).
        quantile : float or array-like of float in [0, 1]
        monotone : bool, default=False
            Evaluate the rearranged quantile function of each row instead
            (Chernozhukov, Fernandez-Val & Galichon 2010): the piecewise-constant
            predictions ``z'theta(tau)``, each carried with the length of its
            piece, sorted; its value at ``tau`` is the smallest prediction
            whose cumulated length from ``breakpoints[0]`` exceeds
            ``tau - breakpoints[0]`` (right-continuous, as :meth:`coef_at`).
            Equal to the plain prediction for rows whose predictions never
            cross.

        Returns
        -------
        y_pred : ndarray of shape (n_samples,) + quantile.shape
        """
        q, j = self._piece(quantile)
        if not monotone:
            return np.moveaxis(np.asarray(self.coef[j] @ Z.T), -1, 0)
        lengths = np.diff(self.breakpoints)
        flat = np.atleast_1d(q).ravel()
        out = np.empty((Z.shape[0], flat.size))
        # rows in blocks: the predictions at every piece are (block, n_pieces)
        step = max(1, (1 << 22) // max(self.n_pieces, 1))
        for start in range(0, Z.shape[0], step):
            pred = Z[start:start + step] @ self.coef.T
            order = np.argsort(pred, axis=1, kind="stable")
            ends = self.breakpoints[0] + np.cumsum(lengths[order], axis=1)
            for i in range(pred.shape[0]):
                k = np.searchsorted(ends[i], flat, side="right")
                out[start + i] = pred[i, order[i, np.minimum(k, self.n_pieces - 1)]]
        return out.reshape((Z.shape[0],) + np.shape(q))

    def objective_at(self, quantile: float | ArrayLike) -> float | np.ndarray:
        """The minimal objective ``sum_i w_i rho_tau(r_i)`` at the level(s) ``quantile``.

        Parameters
        ----------
        quantile : float or array-like of float in [0, 1]

        Returns
        -------
        objective : float or ndarray of the shape of ``quantile``
        """
        q, j = self._piece(quantile)
        out = np.maximum(q * self._sums[j, 0] - self._sums[j, 1], 0.0)  # >= 0 but for rounding
        return float(out) if out.ndim == 0 else out


def _follow(Zs, ys, ws, xi, basis, sign, direction, max_pivots, n_candidates=-1):
    """Run the kernel from ``_START`` in one direction, growing its outputs."""
    n, p = Zs.shape
    capacity = n + 64
    out_tau = np.empty(capacity)
    out_theta = np.empty((capacity, p))
    out_basis = np.empty((capacity, p), dtype=np.intp)
    out_sums = np.empty((capacity, 2))
    n_out = total = 0
    tau = _START
    moved = False
    first_moved = None
    while True:
        n_out, piv, status, tau, moved, first = _parametric.process_path(
            Zs, ys, ws, xi, basis, sign, tau, direction, max(max_pivots - total, 0),
            out_tau, out_theta, out_basis, out_sums, n_out, moved, n_candidates,
        )
        total += piv
        if first_moved is None:
            first_moved = first
        if _STATUS[status] != "full":
            break
        capacity *= 2
        out_tau = np.resize(out_tau, capacity)
        out_theta = np.resize(out_theta, (capacity, p))
        out_basis = np.resize(out_basis, (capacity, p))
        out_sums = np.resize(out_sums, (capacity, 2))
    return (out_tau[:n_out], out_theta[:n_out], out_basis[:n_out], out_sums[:n_out],
            total, _STATUS[status], tau, first_moved)


def _unscale_rows(theta, shift, Zs, ys, design):
    """:func:`_unscale_coef` for every row of ``theta`` at once."""
    with np.errstate(over="ignore", under="ignore", invalid="ignore"):
        coef = np.ldexp(theta, shift[None, :])
        back = np.ldexp(coef, -shift[None, :])
    colmax = np.max(np.abs(Zs), axis=0)
    moved = np.abs(back - theta) * colmax
    scale = float(np.max(np.abs(ys))) + np.abs(theta) @ colmax
    bad = ~(moved <= 64 * np.finfo(np.float64).eps * scale[:, None])
    if bad.any():
        _unscale_coef(theta[np.flatnonzero(bad.any(axis=1))[0]], shift, Zs, ys, design)
    return coef


def fit_process(Z, y, w, *, tol, max_iter, max_pivots, preprocess, intercept, rows=None):
    """The whole regression-quantile process of validated data.

    Parameters
    ----------
    Z : ndarray of shape (n_samples, n_coef)
        C-contiguous, finite; the intercept's column of ones first when
        ``intercept``. Full column rank.
    y : ndarray of shape (n_samples,)
    w : ndarray of shape (n_samples,)
        Positive weights.
    tol, max_iter, preprocess
        Options of the exact solve at ``tau = 1/2`` that starts the path.
    max_pivots : int or None
        Cap on the pivots of the path (both directions together); None means
        ``200 (n_samples + n_coef) + 1000``.
    intercept : bool
    rows : ndarray of shape (n_samples,), default=None
        Index of each row in the caller's data (for ``basis``).

    Returns
    -------
    process : QuantileProcess
    start : QuantileSolution
        The exact solve at ``tau = 1/2``.
    status : str
        ``"done"``, ``"pivot cap"`` or ``"numerical"``.
    """
    n, p = Z.shape
    design = _Design("X", intercept)
    k_y = int(_power_of_two_scale(y))
    k_w = int(_power_of_two_scale(w, nonnegative=True))
    k_z = _power_of_two_scale(Z, axis=0)
    ys = np.ldexp(y, -k_y) if k_y else y
    ws = np.ldexp(w, -k_w) if k_w else w
    if float(np.min(ws)) < 2.0**-1021:
        raise ValueError(
            "sample_weight spans too many orders of magnitude: the ratio of its largest to "
            "its smallest positive entry exceeds 2**1021 (~2e307); drop the rows of "
            "negligible weight or compress the weights"
        )
    Zs = np.ascontiguousarray(np.ldexp(Z, -k_z[None, :])) if np.any(k_z) else Z
    # the exact solution at the median (checks the rank too); on the scaled
    # data the solver's own rescaling is the identity
    start = _solve(Zs, ys, ws, _START, theta0=None, tol=tol, max_iter=max_iter,
                   max_pivots=None, preprocess=preprocess, random_state=0,
                   design="X", intercept=intercept)
    r = ys - Zs @ start.coef
    order = np.argsort(np.abs(r), kind="stable").astype(np.intp)
    basis = np.empty(p, dtype=np.intp)
    if _simplex.choose_basis(Zs, order, basis) < p:  # pragma: no cover - rank was checked
        raise ValueError("X is rank deficient on the rows with positive weight")
    Zh_inv = np.linalg.inv(Zs[basis])
    theta = Zh_inv @ ys[basis]
    r = ys - Zs @ theta
    # residuals zero to rounding take the side of the symbolic perturbation
    # xi of y (lexicographic rule of the kernel)
    xi = np.random.default_rng(0x5EED).uniform(-1.0, 1.0, n)
    theta_err = np.abs(theta) + np.abs(Zh_inv) @ np.abs(ys[basis])
    zero = np.abs(r) <= 64 * np.finfo(np.float64).eps * (np.abs(ys) + np.abs(Zs) @ theta_err)
    side = np.where(zero, xi - Zs @ (Zh_inv @ xi[basis]), r)
    sign = np.where(side >= 0, 1, -1).astype(np.int8)
    sign[basis] = 0
    if max_pivots is None:
        max_pivots = 200 * (n + p) + 1000

    # the cap is shared: half each way, and what one direction leaves to the other
    up = _follow(Zs, ys, ws, xi, basis.copy(), sign.copy(), 1, (max_pivots + 1) // 2)
    down = _follow(Zs, ys, ws, xi, basis.copy(), sign.copy(), -1, max_pivots - up[4])
    tau_u, th_u, b_u, s_u, piv_u, st_u, end_u, moved_u = up
    tau_d, th_d, b_d, s_d, piv_d, st_d, end_d, moved_d = down
    # downward piece i covers [tau_d[i + 1], tau_d[i]] (the last one from end_d)
    left_d = np.append(tau_d[1:], end_d)[::-1]
    th_d, b_d, s_d = th_d[::-1], b_d[::-1], s_d[::-1]
    if len(tau_d) and len(tau_u) and not moved_u and not moved_d:
        # the starting vertex is optimal on both sides of the start: one piece
        tau_u, th_u, b_u, s_u = tau_u[1:], th_u[1:], b_u[1:], s_u[1:]
    left = np.concatenate([left_d, tau_u])
    theta = np.concatenate([th_d, th_u])
    bases = np.concatenate([b_d, b_u])
    sums = np.concatenate([s_d, s_u])
    breakpoints = np.append(left, end_u)
    # a direction stopped by the cap at the start leaves a piece of length zero
    keep = np.diff(breakpoints) > 0
    if not keep.all() and keep.any():
        left, theta, bases, sums = left[keep], theta[keep], bases[keep], sums[keep]
        breakpoints = np.append(left, end_u)

    coef = _unscale_rows(theta, k_y - k_z, Zs, ys, design)
    with np.errstate(over="ignore", under="ignore"):
        sums = np.ldexp(sums, k_y + k_w)
    objective = np.maximum(left * sums[:, 0] - sums[:, 1], 0.0)  # >= 0 but for rounding
    status = st_u if st_u != "done" else st_d
    if rows is not None:
        bases = rows[bases]
    process = QuantileProcess(
        breakpoints=breakpoints, coef=coef, objective=objective,
        basis=np.sort(bases, axis=1), n_pivots=int(piv_u + piv_d),
        complete=status == "done", fit_intercept=bool(intercept), _sums=sums,
    )
    return process, start, status


# --------------------------------------------------------------------------
# rearrangement
# --------------------------------------------------------------------------
def rearrange(pred, quantiles, lengths=None):
    """Monotone rearrangement of predicted quantiles (Chernozhukov et al. 2010).

    Parameters
    ----------
    pred : ndarray of shape (n_samples, n_quantiles)
        Predicted quantiles, column ``j`` at level ``quantiles[j]``.
    quantiles : ndarray of shape (n_quantiles,)
        The levels (any order).
    lengths : ndarray of shape (n_quantiles,), default=None
        For a piecewise-constant quantile function (the process): column
        ``j`` holds its value on an interval of this length, and the result
        is the rearranged function (the quantile function of the values,
        each carried with its length) at the midpoint of each interval.
        None: the levels form a grid and each row is sorted over it.

    Returns
    -------
    ndarray of shape (n_samples, n_quantiles)
        Non-decreasing in the level for every row; equal to ``pred`` when
        ``pred`` already is.
    """
    order = np.argsort(quantiles, kind="stable")
    out = np.empty_like(pred)
    if lengths is None:
        out[:, order] = np.sort(pred[:, order], axis=1)
        return out
    lengths = np.asarray(lengths, dtype=np.float64)[order]
    mids = np.cumsum(lengths) - 0.5 * lengths
    for i in range(pred.shape[0]):
        values = pred[i, order]
        by_value = np.argsort(values, kind="stable")
        ends = np.cumsum(lengths[by_value])
        k = np.searchsorted(ends, mids, side="right")
        out[i, order] = values[by_value[np.minimum(k, values.size - 1)]]
    return out


# --------------------------------------------------------------------------
# figure
# --------------------------------------------------------------------------
_DEFAULT_GRID = np.arange(1, 20) / 20.0


def _axes_for(ax, k):
    """``k`` axes: a new grid when ``ax`` is None, else the ones given."""
    plt = require("matplotlib.pyplot", "plot_process")
    if ax is None:
        ncols = min(k, 3)
        nrows = math.ceil(k / ncols)
        fig, axes = plt.subplots(nrows, ncols, figsize=(4.0 * ncols, 3.2 * nrows),
                                 squeeze=False, layout="constrained")
        axes = axes.ravel()
        for extra in axes[k:]:
            fig.delaxes(extra)
        return axes[:k]
    from matplotlib.axes import Axes

    axes = np.array([ax], dtype=object) if isinstance(ax, Axes) else np.asarray(ax, object)
    axes = axes.ravel()
    if axes.size != k or not all(isinstance(a, Axes) for a in axes):
        raise ValueError(
            f"ax must be None or {k} matplotlib Axes (one per coefficient, the intercept "
            f"first), got {_describe(ax)}"
        )
    return axes


def plot_process(model: BaseEstimator, *, quantiles: Sequence[float] | None = None,
                 ax: Any = None, alpha: float = 0.05,
                 se: Literal["nid", "iid", "ker", "boot", "rank"] = "nid",
                 ols: bool = True) -> np.ndarray:
    """Figure of the coefficient process with its confidence band.

    As R's ``plot(summary(rq(y ~ x, tau = taus)))``: one panel per
    coefficient (the intercept first), the estimates at a grid of quantile
    levels joined by a line, a shaded ``1 - alpha`` confidence band from
    :meth:`QuantileRegressor.summary` at each level and, with ``ols``, the
    weighted least-squares estimate (red) with its confidence interval
    (dashed). For a fit with ``quantile="all"`` the exact process is drawn
    too, as a step function over the range of the grid.

    Parameters
    ----------
    model : QuantileRegressor
        Fitted; its training data (kept by ``fit``) are refitted at the grid.
    quantiles : sequence of float in (0, 1), default=None
        The grid. None uses the model's own quantiles when it was fitted at
        two or more, else ``0.05, 0.10, ..., 0.95``.
    ax : matplotlib Axes or sequence of Axes, default=None
        One per coefficient; None creates a figure.
    alpha : float in (0, 1), default=0.05
    se : {"nid", "iid", "ker", "boot", "rank"}, default="nid"
        Standard errors of the band (see :meth:`QuantileRegressor.summary`).
    ols : bool, default=True

    Returns
    -------
    axes : ndarray of matplotlib Axes, shape (n_coef,)

    Raises
    ------
    ImportError
        Without matplotlib (``pip install "statoptim[plot]"``).

    Examples
    --------
    >>> import numpy as np
    >>> from statoptim import QuantileRegressor
    >>> from statoptim.quantile import plot_process
    >>> rng = np.random.default_rng(0)
    >>> x = rng.uniform(0, 2, 200)
    >>> y = 1 + 2 * x + (1 + x) * rng.standard_normal(200)
    >>> model = QuantileRegressor(quantile="all").fit(x[:, None], y)
    >>> fig = plot_process(model)  # doctest: +SKIP
    """
    from statoptim.quantile._estimator import QuantileRegressor

    if not isinstance(model, QuantileRegressor):
        raise TypeError(f"model must be a fitted QuantileRegressor, got {_describe(model)}")
    check_is_fitted(model)
    alpha = check_real(alpha, "alpha", low=0, high=1, low_open=True, high_open=True)
    ols = check_flag(ols, "ols")
    summary, names, taus, coef, conf = _grid_summary(model, quantiles, se, alpha)
    k = coef.shape[1]
    axes = _axes_for(ax, k)
    band = _ols_band(model, k, alpha) if ols else None
    steps = _process_steps(model, taus)
    for j, a in enumerate(axes):
        a.fill_between(taus, conf[:, j, 0], conf[:, j, 1], color="0.8", linewidth=0,
                       label=f"{100 * (1 - alpha):g}% band ({summary.se})")
        a.plot(taus, coef[:, j], "o-", color="black", markersize=3, linewidth=1,
               label="estimate")
        if steps is not None:
            a.step(steps[0], steps[1][:, j], where="post", color="C0", linewidth=0.6,
                   label="process")
        if band is not None:
            beta, half = band
            a.axhline(beta[j], color="red", linewidth=1, label="least squares")
            for s in (-1, 1):
                a.axhline(beta[j] + s * half[j], color="red", linewidth=0.8, linestyle="--")
        a.set_title(names[j])
        a.set_xlabel("quantile")
    return axes


def _grid_summary(model, quantiles, se, alpha):
    """The summary of ``model`` at the grid of :func:`plot_process` (a refit
    unless the model was fitted at two or more quantiles and no grid is given),
    its coefficient names and, sorted by level, the levels, estimates and intervals."""
    from sklearn.base import clone

    own = (not isinstance(model.quantile, str)) and np.ndim(model.quantile) == 1 \
        and len(model.quantile) >= 2
    if quantiles is None and own:
        fitted = model
    else:
        grid = _DEFAULT_GRID if quantiles is None else quantiles
        if isinstance(grid, str):
            raise ValueError(f"quantiles must be a sequence of numbers in (0, 1), got {grid!r}")
        X, y, w = model._training_data
        fitted = clone(model).set_params(quantile=np.atleast_1d(grid).tolist()).fit(X, y, w)
    summary = fitted.summary(se=se, alpha=alpha)
    names = list(summary.names)
    feature_names = getattr(model, "feature_names_in_", None)
    if fitted is not model and feature_names is not None:  # the refit saw bare arrays
        names = (["intercept"] if model.fit_intercept else []) + [str(f) for f in feature_names]
    taus = np.atleast_1d(summary.quantile)
    order = np.argsort(taus, kind="stable")
    taus = taus[order]
    coef = np.reshape(summary.coef, (taus.size, -1))[order]
    conf = np.reshape(summary.conf_int, (taus.size, coef.shape[1], 2))[order]
    return summary, names, taus, coef, conf


def _ols_band(model, k, alpha):
    """Weighted least squares on the training data: the estimate and the
    half-width of its ``1 - alpha`` t interval."""
    X, y, w = model._training_data
    keep = w > 0
    Xk, yk, wk = X[keep], y[keep], w[keep]
    Zk = np.column_stack([np.ones(len(yk)), Xk]) if model.fit_intercept else Xk
    sw = np.sqrt(wk)
    beta, *_ = np.linalg.lstsq(Zk * sw[:, None], yk * sw, rcond=None)
    dof = max(len(yk) - k, 1)
    s2 = float(wk @ (yk - Zk @ beta) ** 2) / dof
    R = np.linalg.qr(Zk * sw[:, None], mode="r")
    Rinv = np.linalg.inv(R)
    se_ols = np.sqrt(s2 * np.sum(Rinv * Rinv, axis=1))
    return beta, stats.t.ppf(1.0 - alpha / 2.0, dof) * se_ols


def _process_steps(model, taus):
    """The exact process of a ``quantile="all"`` fit as a step function over
    the range of ``taus``: ``(x, coef)``, or None without one."""
    process = getattr(model, "process_", None)
    if process is None:
        return None
    lo = max(taus[0], process.breakpoints[0])
    hi = min(taus[-1], process.breakpoints[-1])
    j0, j1 = np.searchsorted(process.breakpoints, [lo, hi], side="right") - 1
    j1 = min(j1, process.n_pieces - 1)
    step_x = np.concatenate([[lo], process.breakpoints[j0 + 1:j1 + 1], [hi]])
    step_y = np.concatenate([process.coef[j0:j1 + 1], process.coef[j1:j1 + 1]])
    return step_x, step_y
