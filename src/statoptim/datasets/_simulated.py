"""Simulated designs of the talks behind statoptim."""
from __future__ import annotations

import numpy as np
from scipy.stats import norm

from statoptim._validation import check_int, check_random_state, check_real

__all__ = ["make_quantile_regression", "quantile_truth"]


def make_quantile_regression(
    n_samples: int = 500, n_noise_features: int = 0, *,
    random_state: int | np.random.SeedSequence | np.random.Generator | None = None,
) -> tuple[np.ndarray, np.ndarray]:
    """The talk's location-shift model ``T = 4.5 Z1 - 2 Z2 + r``.

    ``Z1 ~ N(0, 1)``, ``Z2 ~ U(-3, 3)``, ``r ~ N(0, 1)``; optionally
    ``n_noise_features`` extra N(0, 1) covariates with coefficient 0 (the
    p = 20 benchmark design adds 18). The conditional ``q``-quantile is
    ``Phi^{-1}(q) + 4.5 Z1 - 2 Z2`` (see :func:`quantile_truth`).

    Parameters
    ----------
    n_samples : int >= 1, default=500
    n_noise_features : int >= 0, default=0
    random_state : int >= 0, SeedSequence, Generator or None

    Returns
    -------
    X : ndarray of shape (n_samples, 2 + n_noise_features)
    y : ndarray of shape (n_samples,)

    Examples
    --------
    >>> from statoptim.datasets import make_quantile_regression
    >>> X, y = make_quantile_regression(100, random_state=0)
    >>> X.shape, y.shape
    ((100, 2), (100,))
    """
    n_samples = check_int(n_samples, "n_samples", minimum=1)
    n_noise_features = check_int(n_noise_features, "n_noise_features", minimum=0)
    rng = check_random_state(random_state)
    X = np.empty((n_samples, 2 + n_noise_features))
    X[:, 0] = rng.standard_normal(n_samples)
    X[:, 1] = rng.uniform(-3.0, 3.0, n_samples)
    if n_noise_features:
        X[:, 2:] = rng.standard_normal((n_samples, n_noise_features))
    y = 4.5 * X[:, 0] - 2.0 * X[:, 1] + rng.standard_normal(n_samples)
    return X, y


def quantile_truth(quantile: float, n_noise_features: int = 0) -> tuple[float, np.ndarray]:
    """True ``(intercept, coef)`` of the conditional quantile in the talk's model.

    Parameters
    ----------
    quantile : float in (0, 1)
    n_noise_features : int >= 0, default=0
        As in :func:`make_quantile_regression`.

    Returns
    -------
    intercept : float
        ``Phi^{-1}(quantile)``.
    coef : ndarray of shape (2 + n_noise_features,)
        ``(4.5, -2, 0, ..., 0)``.

    Examples
    --------
    >>> from statoptim.datasets import quantile_truth
    >>> intercept, coef = quantile_truth(0.75)
    >>> round(intercept, 4), coef
    (0.6745, array([ 4.5, -2. ]))
    """
    quantile = check_real(quantile, "quantile", low=0, high=1, low_open=True, high_open=True)
    n_noise_features = check_int(n_noise_features, "n_noise_features", minimum=0)
    coef = np.zeros(2 + n_noise_features)
    coef[:2] = (4.5, -2.0)
    return float(norm.ppf(quantile)), coef
