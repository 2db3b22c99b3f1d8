"""CensoredQuantileRegressor, fit step 2: the weights, from the covariates as given.

Propensities of the complete rows, the score test of the censoring on the
covariates, and one of three weightings: Kaplan-Meier (``"marginal"``),
Wang & Wang's local weights from Beran's estimate (``"local"``) or the
``1 / pi`` case weights of Peng & Huang (``"peng-huang"``).
"""
from __future__ import annotations

import warnings
from typing import NamedTuple

import numpy as np

from statoptim.exceptions import DegenerateDataWarning, DependentCensoringWarning
from statoptim.quantile._censoring_test import censoring_dependence_test
from statoptim.quantile._checks import pow2_exponents
from statoptim.quantile._ipw import _scaled_coordinates, kernel_propensity
from statoptim.quantile._survival import _beran_survival, _km_pass

# Warn (censoring="marginal") when the score test of the censoring hazard on the
# covariates rejects at this level.
_DEPENDENT_CENSORING_ALPHA = 1e-3
# Warn when the effective sample size of the weights falls below this share of the rows.
_N_EFF_WARN_SHARE = 0.05  # design B at 50% censoring: 7-40% (n = 500), ~17% (n = 1e4)
# A fixed censoring cut is flagged when at least this share of the rows are
# censorings tied at the largest observed time.
_FIXED_CUT_SHARE = 0.05


def _finish_weights(weights, use, stabilize, cap_q, weight_cap):
    """stabilize, then the quantile cap, then the absolute cap (as documented)."""
    if stabilize:
        k = int(pow2_exponents(weights))  # the mean without overflow, bit-exact
        weights = weights / np.ldexp(np.mean(np.ldexp(weights, -k)), k)
    if cap_q is not None:
        weights = np.minimum(weights, np.quantile(weights[use], cap_q))
    if weight_cap is not None:
        weights = np.minimum(weights, weight_cap)
    return weights


class _Weighting(NamedTuple):
    """The weights of the fit, computed from the covariates as given."""

    mode: str                 # "marginal", "local" or "peng-huang"
    rows: np.ndarray          # the rows that enter the fit (positive weight)
    propensity: np.ndarray
    weights: list             # one (n_samples,) array per quantile
    survival: np.ndarray      # censoring_survival_
    rest: list | None = None  # "local": mass of each censored row moved to +infinity
    cens_rows: np.ndarray | None = None


def compute_weights(est, X, y, setup):
    """Propensities, the score test of the censoring and the weights of the fit."""
    propensity, case_w = propensity_weights(est, X, y, setup)
    # is the censoring independent of the covariates? Score test on every row, with
    # the always-observed columns (the complete rows alone are a selected sample when
    # the missingness depends on the response)
    est.censoring_test_ = None
    observed = setup.observed
    observed_cols = np.flatnonzero(~setup.missing.any(axis=0))
    # (bootstrap replicates of summary() skip this diagnostic: _replicate is set)
    if not observed.all() and observed_cols.size and not est._replicate:
        est.censoring_test_ = censoring_dependence_test(y, setup.event, X[:, observed_cols])
        if setup.method == "ipw" and setup.censoring == "marginal":
            check_dependent_censoring(est.censoring_test_)
    if setup.method == "peng-huang":
        k = setup.quantiles.size
        return _Weighting("peng-huang", case_w > 0, propensity, [case_w] * k,
                          np.ones(X.shape[0]))
    if setup.censoring == "conditional" and not observed.all():
        return _local_weights(est, X, y, setup, propensity, case_w)
    return _marginal_weights(est, y, setup, propensity)


def propensity_weights(est, X, y, setup):
    """Missingness propensity from the response and the always-observed columns."""
    n_samples = X.shape[0]
    if setup.complete.all():
        propensity = np.ones(n_samples)
    else:
        always = np.column_stack([y, X[:, setup.always_cols]])
        propensity = kernel_propensity(
            always, setup.complete, bandwidth=est.bandwidth, method=setup.prop_method,
            leave_one_out=setup.leave_one_out, n_threads=setup.n_threads,
        )
    pi_min = setup.caps[3]
    pi_used = propensity if pi_min is None else np.maximum(propensity, pi_min)
    with np.errstate(divide="ignore", over="ignore"):
        case_w = np.where(setup.complete, 1.0 / pi_used, 0.0)
    if not np.all(np.isfinite(case_w)):
        row = int(np.flatnonzero(~np.isfinite(case_w))[0])
        raise ValueError(
            f"the weight 1 / propensity of row {row} is not finite (propensity = "
            f"{pi_used[row]:.3g}" + (", leave_one_out=True" if setup.leave_one_out else "")
            + "): positivity fails there; set pi_min or a larger bandwidth"
        )
    return propensity, case_w


def _marginal_weights(est, y, setup, propensity):
    """``1 / (G(Y_i-) pi_i)`` with G the reversed Kaplan-Meier estimate."""
    n_samples = y.shape[0]
    weight_cap, cap_q, g_min, pi_min = setup.caps
    observed, use = setup.observed, setup.use
    if observed.all():
        g_left = np.ones(n_samples)
    else:
        *_, n_cens, g_left = _km_pass(y, setup.event)
        check_fixed_cut(y, n_cens[-1], n_samples)
    pi_used = propensity if pi_min is None else np.maximum(propensity, pi_min)
    g_used = g_left if g_min is None else np.maximum(g_left, g_min)
    weights = np.zeros(n_samples)
    with np.errstate(divide="ignore", over="ignore"):
        weights[use] = 1.0 / (g_used[use] * pi_used[use])
    if not np.all(np.isfinite(weights)):
        row = int(np.flatnonzero(~np.isfinite(weights))[0])
        raise ValueError(
            f"the weight 1 / (G(Y-) * propensity) of row {row} is not finite "
            f"(G(Y-) = {g_used[row]:.3g}, propensity = {pi_used[row]:.3g}"
            + (", leave_one_out=True" if setup.leave_one_out else "")
            + "): positivity fails there; set pi_min or g_min, or a larger bandwidth"
        )
    weights = _finish_weights(weights, use, setup.stabilize, cap_q, weight_cap)
    effective_size(est, weights, use, n_samples, stacklevel=5)
    return _Weighting("marginal", use, propensity, [weights] * setup.quantiles.size,
                      g_left)


def _local_weights(est, X, y, setup, propensity, case_w):
    """Wang & Wang's local weights: Beran's F(C_i | Z_i) at the censored complete rows."""
    n_samples = X.shape[0]
    observed, complete = setup.observed, setup.complete
    Zc = X[:, setup.cens_cols]
    rows = ~np.isnan(Zc).any(axis=1)  # rows whose kernel covariates are observed
    src_w = np.where(rows, 1.0, 0.0) if rows.all() else case_w
    src_w = src_w / src_w.max()
    idx = np.flatnonzero(rows)
    V = _scaled_coordinates(Zc[idx], setup.cens_h, "X[:, censoring_columns]")
    targets = np.flatnonzero(((~observed) & complete)[idx])
    surv, _ = _beran_survival(y[idx], setup.event[idx], V, src_w[idx], targets, False,
                              setup.cens_method, 0.1, setup.n_threads)
    cdf = np.full(n_samples, np.nan)
    cdf[idx[targets]] = 1.0 - surv
    est.conditional_cdf_ = cdf
    cens_rows = idx[targets]
    F = cdf[cens_rows]
    weight_cap, cap_q = setup.caps[:2]
    weights, rest = [], []
    for q in setup.quantiles:
        w = np.where(observed & complete, case_w, 0.0)
        local = np.where(F < q, (q - F) / (1.0 - F), 1.0)
        w[cens_rows] = case_w[cens_rows] * local
        rest.append(case_w[cens_rows] * (1.0 - local))
        weights.append(_finish_weights(w, w > 0, setup.stabilize, cap_q, weight_cap))
    return _Weighting("local", complete, propensity, weights, np.ones(n_samples),
                      rest, cens_rows)


def effective_size(est, weights, use, n_samples, stacklevel=3):
    """n_eff_ and max_weight_share_ (scale-free), with the extreme-weight warning."""
    # relative to the largest weight: tiny or huge weights give no 0 / 0 or inf / inf
    rel = weights / weights.max()
    est.n_eff_ = float(rel.sum() ** 2 / np.sum(rel**2))
    est.max_weight_share_ = float(1.0 / rel.sum())
    if est.n_eff_ < _N_EFF_WARN_SHARE * n_samples:
        warnings.warn(
            f"CensoredQuantileRegressor: extreme weights, effective sample size "
            f"n_eff = {est.n_eff_:.1f} of {n_samples} rows ({use.sum()} with positive "
            f"weight; the largest weight carries {100 * est.max_weight_share_:.1f}% of "
            f"the total). Estimates will be variable; consider weight_cap_quantile, "
            f"g_min or pi_min (they change the estimand).",
            DegenerateDataWarning,
            stacklevel=stacklevel,
        )


def check_dependent_censoring(test):
    """Warn when the score test says the censoring depends on the covariates."""
    if test.pvalue < _DEPENDENT_CENSORING_ALPHA:
        warnings.warn(
            f"CensoredQuantileRegressor: the censoring depends on the covariates (Cox "
            f"score test of the censoring hazard on X: chi2 = {test.statistic:.1f} on "
            f"{test.df} df, p = {test.pvalue:.2g}), but censoring='marginal' weights by "
            "the Kaplan-Meier estimate, which assumes it does not: the coefficients are "
            "biased. Use censoring='conditional' (locally weighted, Wang & Wang 2009) or "
            "method='peng-huang' (Peng & Huang 2008).",
            DependentCensoringWarning,
            stacklevel=4,
        )


def check_fixed_cut(y, n_censored_last, n_samples):
    """Warn when many censorings share the largest time (a fixed censoring cut)."""
    if n_censored_last >= max(2, _FIXED_CUT_SHARE * n_samples):
        warnings.warn(
            f"CensoredQuantileRegressor: {n_censored_last} censored responses share the "
            f"largest observed time {y.max():g}: this looks like a fixed censoring cut. "
            "The censoring survival is 0 beyond it (positivity fails), so conditional "
            "quantiles above the cut are not identified and the estimates are biased "
            "towards it.",
            DegenerateDataWarning,
            stacklevel=5,
        )
