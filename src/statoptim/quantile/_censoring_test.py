"""Does the censoring depend on the covariates? A Cox score test of the censoring hazard.

References: Cox (1972) and Breslow (1974) for the partial likelihood and its
ties; docs/quantile.rst, "Dependent censoring".
"""
from __future__ import annotations

from typing import NamedTuple

import numpy as np
from numpy.typing import ArrayLike

from statoptim.quantile._checks import pow2_exponents
from statoptim.quantile._survival import _check_time_event_Z

__all__ = ["CensoringTestResult", "censoring_dependence_test"]


class CensoringTestResult(NamedTuple):
    """Score test of covariate-dependent censoring.

    Attributes
    ----------
    statistic : float
        ``U' I^+ U``, chi-squared with ``df`` degrees of freedom under the
        null hypothesis that the censoring hazard does not depend on ``Z``.
    df : int
        Rank of the information matrix ``I``.
    pvalue : float
        Upper tail probability of the statistic.

    Examples
    --------
    Six rows, the censored ones (``event == 0``) at ``z = 1``:

    >>> from statoptim import censoring_dependence_test
    >>> z = [0.0, 1.0, 0.0, 1.0, 0.0, 1.0]
    >>> res = censoring_dependence_test([1, 2, 3, 4, 5, 6], [1, 0, 1, 0, 1, 0], z)
    >>> res.df, round(res.statistic, 4), round(res.pvalue, 3)
    (1, 1.1635, 0.281)
    """

    statistic: float
    df: int
    pvalue: float


def censoring_dependence_test(time: ArrayLike, event: ArrayLike,
                              Z: ArrayLike) -> CensoringTestResult:
    """Cox partial-likelihood score test of the censoring hazard on covariates.

    Treats the censorings (``event == 0``) as the events of a Cox model
    ``lambda_C(t | z) = lambda_0(t) exp(z' gamma)`` and tests ``gamma = 0`` by
    the score statistic at ``gamma = 0`` (Breslow ties, risk sets
    ``{j: Y_j >= t}`` as survival's ``coxph``):
    ``U = sum_{i censored} (Z_i - Zbar(Y_i))``, ``I = sum_{i censored}
    Var_{R(Y_i)}(Z)``, where ``Zbar`` and ``Var`` are the mean and covariance
    over the risk set; ``U' I^+ U`` is compared with a chi-squared law.
    O(n log n + n d^2) time after one sort, O(n d) memory (no n x n array).

    Parameters
    ----------
    time : array-like of shape (n_samples,)
        Observed times ``Y_i = min(T_i, C_i)``; finite.
    event : array-like of shape (n_samples,)
        ``1`` if ``T_i`` was observed, ``0`` if censored.
    Z : array-like of shape (n_samples, n_features)
        Covariates; finite (a 1-D array is one column).

    Returns
    -------
    result : CensoringTestResult
        ``(statistic, df, pvalue)``; ``(0.0, 0, 1.0)`` when nothing is
        censored or the covariates are constant over the risk sets.

    Examples
    --------
    >>> import numpy as np
    >>> from statoptim import censoring_dependence_test
    >>> rng = np.random.default_rng(0)
    >>> z = rng.uniform(0, 2, 1000)
    >>> t, c = 1 + 2 * z + rng.standard_normal(1000), 4.5 - 1.5 * z + rng.standard_normal(1000)
    >>> res = censoring_dependence_test(np.minimum(t, c), (t <= c).astype(int), z)
    >>> bool(res.pvalue < 1e-6)
    True
    """
    from scipy.stats import chi2

    time, event, Z = _check_time_event_Z(time, event, Z)
    n_samples = time.shape[0]
    cens = event == 0
    if not cens.any():
        return CensoringTestResult(0.0, 0, 1.0)
    # exact power-of-two rescaling and centring: the statistic is invariant, the sums do
    # not overflow and the risk-set covariances lose less to cancellation
    Z = np.ldexp(Z, -pow2_exponents(Z, axis=0))
    Z = Z - Z.mean(axis=0)
    order = np.argsort(-time, kind="stable")  # descending: risk sets are prefixes
    ts, Zs, cs = time[order], Z[order], cens[order]
    n_at = np.arange(1, n_samples + 1, dtype=np.float64)
    s1 = np.cumsum(Zs, axis=0)
    # the risk set of a time is the prefix up to the last row tied with it
    last = np.searchsorted(-ts, -ts, side="right") - 1
    rows = np.flatnonzero(cs)
    at = last[rows]
    mean = s1[at] / n_at[at, None]
    U = (Zs[rows] - mean).sum(axis=0)
    d = Z.shape[1]
    info = np.zeros((d, d))
    # sum over censorings of the risk-set covariance, from running second moments
    s2 = np.cumsum(Zs[:, :, None] * Zs[:, None, :], axis=0) if d <= 16 else None
    if s2 is not None:
        info = (s2[at] / n_at[at, None, None]
                - mean[:, :, None] * mean[:, None, :]).sum(axis=0)
    else:  # many covariates: accumulate without the (n, d, d) array
        second = np.zeros((d, d))
        k = 0
        for i, row in enumerate(Zs):
            second += np.outer(row, row)
            while k < at.size and at[k] == i:
                m = mean[k]
                info += second / n_at[i] - np.outer(m, m)
                k += 1
    info = 0.5 * (info + info.T)
    evals, evecs = np.linalg.eigh(info)
    keep = evals > max(evals.max(initial=0.0), 0.0) * d * 1e-10
    df = int(keep.sum())
    if df == 0:
        return CensoringTestResult(0.0, 0, 1.0)
    proj = evecs[:, keep].T @ U
    stat = float(np.sum(proj**2 / evals[keep]))
    return CensoringTestResult(stat, df, float(chi2.sf(stat, df)))
