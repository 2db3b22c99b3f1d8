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
from statoptim.quantile._density import (
    BANDWIDTH_RULES,
    _adaptive_density_at_zero,
    _inverse_gram,
    _leverages,
    sparsity_bandwidth,
)
from statoptim.quantile._rank_inversion import _rank_inference
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
