"""The talk's censored, incomplete-data design (docs/quantile.rst, "Simulation designs")."""
from __future__ import annotations

import functools
from typing import Literal

import numpy as np
from scipy import integrate, optimize, special, stats
from sklearn.utils import Bunch

from statoptim._validation import check_choice, check_int, check_random_state, check_real

__all__ = ["censoring_mean", "make_censored_quantile"]

# T = 4.5 Z1 - 2 Z2 + r with Z1, r ~ N(0, 1), Z2 ~ U(-3, 3)
_VAR_T = 4.5**2 + 4.0 * 3.0 + 1.0      # 33.25
_SD_T = float(np.sqrt(_VAR_T))          # 5.766


# Rates are capped below 1: beyond, the root of the censoring (or missingness)
# equation leaves any bracket a float64 computation can resolve.
_MAX_RATE = 0.999


def _check_rate(value, name):
    return check_real(value, name, low=0.0, high=_MAX_RATE)


def censoring_mean(rate: float) -> float:
    """Mean ``mu_c`` of ``C ~ N(mu_c, sd(T)^2)`` that censors a fraction ``rate``.

    Solves ``P(T > C) = (1/12) int_{-6}^{6} Phi((b - mu_c) / s) db = rate`` with
    ``s = sqrt(21.25 + 33.25)`` by quadrature and root finding (design B of
    docs/quantile.rst, "Simulation designs"): ``mu_c = 5.5268`` gives 25% and
    ``mu_c = 0`` gives 50%.

    Parameters
    ----------
    rate : float in [0, 0.999]
        Fraction censored; 0 gives ``inf`` (no censoring).

    Returns
    -------
    mu_c : float

    Examples
    --------
    >>> from statoptim.datasets import censoring_mean
    >>> round(censoring_mean(0.25), 4), round(censoring_mean(0.5), 4)
    (5.5268, 0.0)
    """
    return _censoring_mean(_check_rate(rate, "rate"))


@functools.lru_cache(maxsize=64)
def _censoring_mean(rate):
    if rate == 0.0:
        return np.inf
    s = np.sqrt(4.5**2 + 1.0 + _VAR_T)

    def censored_fraction(mu):
        val, _ = integrate.quad(lambda b: stats.norm.cdf((b - mu) / s), -6.0, 6.0)
        return val / 12.0 - rate

    # A rate below the censored fraction at mu = 200 (about 1e-150) needs a larger mean;
    # at mu = 1e4 the fraction underflows to 0.
    hi = 200.0 if censored_fraction(200.0) < 0 else 1e4
    return float(optimize.brentq(censored_fraction, -200.0, hi, xtol=1e-12))


def make_censored_quantile(
    n_samples: int = 500,
    *,
    censoring: float = 0.25,
    missing: float = 0.3,
    design: Literal["identifiable", "talk"] = "identifiable",
    random_state: int | np.random.SeedSequence | np.random.Generator | None = None,
) -> Bunch:
    """Simulate the talk's model with right censoring and a missing covariate.

    ``T = 4.5 Z1 - 2 Z2 + r`` with ``Z1 ~ N(0, 1)``, ``Z2 ~ U(-3, 3)``,
    ``r ~ N(0, 1)``; the conditional ``q``-quantile of ``T`` is
    ``qnorm(q) + 4.5 Z1 - 2 Z2`` (:func:`statoptim.datasets.quantile_truth`).

    Censoring (``Y = min(T, C)``, ``event = I(T <= C)``):

    * ``design="identifiable"`` (design B, recommended): ``C ~ N(mu_c, sd(T)^2)``
      independent of everything, ``mu_c`` from :func:`censoring_mean` so that
      a fraction ``censoring`` is censored in expectation. ``P(C > t) > 0``
      everywhere, so every quantile is identified.
    * ``design="talk"`` (design A, the talk's fixed cut): ``C = c``, the
      empirical ``1 - censoring`` quantile of ``T``. ``G(t) = 0`` beyond ``c``:
      positivity fails and no estimator weighting by ``1/G`` can be unbiased
      for quantiles that lie above ``c`` for some subjects.

    Missingness (both designs): ``Z2`` is missing (NaN) with
    ``logit P(complete) = a + 0.8 (Y - mean Y)/sd(Y) + 0.5 Z1``, ``a`` solved
    per sample so that the mean probability of a complete row is
    ``1 - missing``: missing at random given ``(Y, Z1)``.

    Parameters
    ----------
    n_samples : int >= 2, default=500
    censoring : float in [0, 0.999], default=0.25
        Expected fraction of censored responses.
    missing : float in [0, 0.999], default=0.3
        Expected fraction of rows with ``Z2`` missing.
    design : {"identifiable", "talk"}, default="identifiable"
    random_state : int >= 0, SeedSequence, Generator or None

    Returns
    -------
    data : sklearn.utils.Bunch
        ``X`` (n_samples, 2) with NaN where Z2 is missing, ``y`` the observed
        ``min(T, C)``, ``event`` (1 = observed, 0 = censored), ``complete``
        (bool), ``X_full`` and ``time`` (the uncensored ``T``, for an oracle
        fit), ``censoring_time``, ``design``.

    Examples
    --------
    >>> import numpy as np
    >>> from statoptim.datasets import make_censored_quantile
    >>> data = make_censored_quantile(1000, censoring=0.25, missing=0.3, random_state=0)
    >>> data.X.shape
    (1000, 2)
    >>> float(1 - data.event.mean()), float(np.isnan(data.X[:, 1]).mean())
    (0.238, 0.315)
    """
    n_samples = check_int(n_samples, "n_samples", minimum=2)
    censoring = _check_rate(censoring, "censoring")
    missing = _check_rate(missing, "missing")
    design = check_choice(design, "design", ("identifiable", "talk"))
    rng = check_random_state(random_state)
    z1 = rng.standard_normal(n_samples)
    z2 = rng.uniform(-3.0, 3.0, n_samples)
    t = 4.5 * z1 - 2.0 * z2 + rng.standard_normal(n_samples)
    if censoring == 0.0:
        c = np.full(n_samples, np.inf)
    elif design == "identifiable":
        c = rng.normal(_censoring_mean(censoring), _SD_T, n_samples)
    else:
        c = np.full(n_samples, np.quantile(t, 1.0 - censoring))
    y = np.minimum(t, c)
    event = (t <= c).astype(np.float64)

    x_full = np.column_stack([z1, z2])
    if missing == 0.0:
        complete = np.ones(n_samples, dtype=bool)
    else:
        sd = y.std()
        lin = 0.8 * (y - y.mean()) / (sd if sd > 0 else 1.0) + 0.5 * z1

        def excess(a):
            return special.expit(a + lin).mean() - (1.0 - missing)

        # The mean of expit(a + lin) increases in a. A rate within 1e-16 of 0 needs
        # a > 50 (expit rounds to 1 beyond a + lin = 37); |lin| is a few units.
        lo, hi = (-50.0, 50.0) if excess(50.0) > 0 else (-50.0, 1e3)
        a = optimize.brentq(excess, lo, hi, xtol=1e-12)
        complete = rng.random(n_samples) < special.expit(a + lin)
    X = x_full.copy()
    X[~complete, 1] = np.nan
    return Bunch(X=X, y=y, event=event, complete=complete, X_full=x_full, time=t,
                 censoring_time=c, design=design)
