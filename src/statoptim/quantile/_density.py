"""Sparsity bandwidths, density estimates and the Gram inverse of quantile inference.

The pieces :mod:`statoptim.quantile._inference` builds its covariance estimators
from: the Hall-Sheather and Bofinger bandwidths of the sparsity estimate
(Koenker 2005, section 3.4), the adaptive kernel density at zero of R's
``akj`` (used by the wild bootstrap's pilot density), and the inverse and
leverages of a Gram matrix by QR.
"""
from __future__ import annotations

import math

import numpy as np
from scipy import stats

from statoptim._validation import check_choice, check_int, check_real

__all__ = ["sparsity_bandwidth"]

BANDWIDTH_RULES = ("hall-sheather", "bofinger")
# Elements per block of the O(n^2) pilot density of the wild bootstrap.
_BLOCK = 1 << 20


# --------------------------------------------------------------------------
# bandwidths and densities
# --------------------------------------------------------------------------
def sparsity_bandwidth(quantile, n_samples, rule="hall-sheather"):
    """Bandwidth, on the quantile scale, of the sparsity estimates.

    Parameters
    ----------
    quantile : float in (0, 1)
    n_samples : int >= 1
    rule : {"hall-sheather", "bofinger"}, default="hall-sheather"
        ``"hall-sheather"`` (Hall & Sheather 1988; Koenker 2005, eq. 3.18)::

            n^(-1/3) z^(2/3) (1.5 phi(x)^2 / (2 x^2 + 1))^(1/3),

        with ``x = Phi^{-1}(quantile)`` and ``z = Phi^{-1}(0.975)``, the rate
        ``O(n^{-1/3})`` that is optimal for the coverage of a 95% interval.
        (The level is fixed at 95% whatever the level of the intervals, as in
        R's ``bandwidth.rq`` and statsmodels.)
        ``"bofinger"`` (Bofinger 1975; Koenker 2005, eq. 3.17)::

            n^(-1/5) (4.5 phi(x)^4 / (2 x^2 + 1)^2)^(1/5),

        the ``O(n^{-1/5})`` rate that minimises the mean squared error of the
        sparsity estimate. Both assume a Gaussian shape for the rule's constant.

    Returns
    -------
    h : float
        The bandwidth ``h``; the difference quotients use ``tau +- h``.
    """
    q = check_real(quantile, "quantile", low=0, high=1, low_open=True, high_open=True)
    n = check_int(n_samples, "n_samples", minimum=1)
    check_choice(rule, "rule", BANDWIDTH_RULES)
    x0 = stats.norm.ppf(q)
    f0 = stats.norm.pdf(x0)
    if rule == "hall-sheather":
        z = stats.norm.ppf(0.975)
        return float(n ** (-1.0 / 3.0) * z ** (2.0 / 3.0)
                     * (1.5 * f0**2 / (2.0 * x0**2 + 1.0)) ** (1.0 / 3.0))
    return float(n ** -0.2 * (4.5 * f0**4 / (2.0 * x0**2 + 1.0) ** 2) ** 0.2)


def _adaptive_density_at_zero(r):
    """Adaptive Gaussian kernel density of the sample ``r`` at zero.

    Silverman's (1986, section 5.3) adaptive estimator as in R's
    ``quantreg::akj(r, z = 0)``: a pilot estimate with the fixed bandwidth
    ``h = 0.9 min(sd, IQR / 1.34) n^(-1/5)``, local bandwidths
    ``h lambda_i`` with ``lambda_i = (f_pilot(r_i) / g)^(-1/2)`` (``g`` the
    geometric mean of the pilot), then the density at 0. The pilot costs
    O(n^2) time in blocks of O(n) memory.
    """
    x = np.sort(np.asarray(r, dtype=np.float64))
    n = x.size
    p = np.full(n, 1.0 / n)
    mean = float(np.sum(x * p))
    sd = math.sqrt(max(float(np.sum(x * x * p)) - mean * mean, 0.0))
    # quartiles as akj takes them: the first point where the running sum of
    # the probabilities reaches 1/4, and the last where (1 - its tail) <= 3/4
    cum = np.cumsum(p[:-1])  # akj stops before the last point
    lo_hits = np.flatnonzero(cum >= 0.25)
    lower = x[lo_hits[0]] if lo_hits.size else x[0]
    tail = np.subtract.accumulate(np.concatenate(([1.0], p[::-1])))[1:]
    hi_hits = np.flatnonzero(tail <= 0.75)
    upper = x[n - 1 - hi_hits[0]] if hi_hits.size else x[-1]
    spread = min(sd, (upper - lower) / 1.34)
    if not spread > 0:
        spread = sd
    if not spread > 0:
        raise ValueError(
            "the residuals are all equal: their density at zero, which the wild "
            "bootstrap needs, cannot be estimated"
        )
    h = 0.9 * spread / n**0.2
    con = 1.0 / math.sqrt(2.0 * math.pi)
    pilot = np.empty(n)
    step = max(1, _BLOCK // n)
    for start in range(0, n, step):
        d = (x[start:start + step, None] - x[None, :]) / h
        pilot[start:start + step] = np.exp(-0.5 * d * d) @ p
    pilot *= con / h
    g = math.exp(float(np.sum(p * np.log(pilot))))
    inv_width = 1.0 / (h * (pilot / g) ** -0.5)
    u = x * inv_width
    return float(con * np.sum(p * np.exp(-0.5 * u * u) * inv_width))


# --------------------------------------------------------------------------
# linear algebra helpers
# --------------------------------------------------------------------------
def _inverse_gram(A, what):
    """``(A'A)^{-1}`` from the R factor of a QR decomposition of ``A``."""
    R = np.linalg.qr(A, mode="r")
    d = np.abs(np.diag(R))
    if not (d.min() > 1e-13 * d.max()):
        raise ValueError(
            f"{what} is singular or nearly so (QR diagonal ratio "
            f"{d.min() / max(d.max(), 1e-300):.3g}); the covariance cannot be estimated"
        )
    Rinv = np.linalg.inv(R)  # p x p; NumPy: SciPy's threaded LAPACK is slow on tiny calls
    return Rinv @ Rinv.T


def _leverages(A):
    """Diagonal of the hat matrix ``A (A'A)^{-1} A'`` without forming it."""
    R = np.linalg.qr(A, mode="r")
    Q1 = A @ np.linalg.inv(R)
    return np.einsum("ij,ij->i", Q1, Q1)
