"""The check (pinball) loss of quantile regression."""
from __future__ import annotations

from collections.abc import Sequence
from typing import Literal

import numpy as np
from numpy.typing import ArrayLike

from statoptim._validation import _describe
from statoptim.quantile._checks import (
    as_float_array,
    check_finite,
    check_quantile_levels,
    check_weights,
    pow2_exponents,
)

__all__ = ["pinball_loss"]


def pinball_loss(y_true: ArrayLike, y_pred: ArrayLike, *, quantile: float | Sequence[float] = 0.5,
                 sample_weight: ArrayLike | None = None,
                 reduce: Literal["mean", "sum"] = "mean") -> float | np.ndarray:
    """Check (pinball) loss of quantile regression.

    ``rho_q(r) = r * (q - I(r < 0)) = max(q r, (q - 1) r) >= 0`` with
    ``r = y_true - y_pred``: under-predictions cost ``q`` per unit, over-predictions
    ``1 - q``.

    Parameters
    ----------
    y_true : array-like of shape (n_samples,)
        Observed responses.
    y_pred : array-like of shape (n_samples,) or (n_samples, n_quantiles)
        Predictions, one column per quantile when several are given.
    quantile : float or sequence of float in (0, 1), default=0.5
        The quantile level(s); one per column of ``y_pred``.
    sample_weight : array-like of shape (n_samples,), default=None
        Non-negative weights; ``None`` weighs every sample by 1.
    reduce : {"mean", "sum"}, default="mean"
        ``"mean"`` divides the weighted sum by the sum of the weights (scikit-learn's
        ``mean_pinball_loss``); ``"sum"`` returns the weighted sum, which is the
        objective ``QuantileRegressor`` minimises (its ``objective_``).

    Returns
    -------
    loss : float or ndarray of shape (n_quantiles,)
        A float for a single quantile, one value per quantile otherwise.
        Finite whenever the true value is representable, ``inf`` only when
        it exceeds the float64 range (see Notes).

    Notes
    -----
    Computed without intermediate overflow or underflow: each term
    ``w_i rho_q(r_i)`` is kept as a mantissa and a power of two
    (``np.frexp``), a residual ``y_true - y_pred`` that overflows is formed
    from halves, and the terms are summed relative to the largest one, so
    inputs anywhere in the float64 range (e.g. ``y_true = 1e308`` and
    ``y_pred = -1e308``, or weights and residuals of ``1e-300`` each) give
    the correctly scaled answer. The result is ``inf`` exactly when the
    true loss is above the largest float64 (about ``1.8e308``); terms more
    than ``2**1074`` times smaller than the largest are below its rounding
    error and vanish.

    Examples
    --------
    >>> from statoptim import pinball_loss
    >>> y_true = [1.0, 2.0, 3.0]
    >>> y_pred = [1.5, 1.5, 1.5]
    >>> float(pinball_loss(y_true, y_pred, quantile=0.5))
    0.4166666666666667
    >>> float(pinball_loss(y_true, y_pred, quantile=0.9))
    0.6166666666666667
    >>> float(pinball_loss(y_true, y_pred, quantile=0.9, reduce="sum"))
    1.85
    """
    quantiles, scalar = check_quantile_levels(quantile)
    y_true = as_float_array(y_true, "y_true", expected="a 1-D array of numbers")
    if y_true.ndim != 1:
        raise ValueError(f"y_true must be 1-D, got an array of shape {y_true.shape}")
    if y_true.size == 0:
        raise ValueError("y_true must hold at least one sample, got an empty array")
    check_finite(y_true, "y_true")
    y_pred = as_float_array(y_pred, "y_pred", expected="an array of numbers")
    if y_pred.ndim == 1:
        y_pred = y_pred[:, None]
    if y_pred.ndim != 2 or y_pred.shape[0] != y_true.shape[0]:
        raise ValueError(
            f"y_pred must have shape ({y_true.shape[0]},) or ({y_true.shape[0]}, n_quantiles), "
            f"got {y_pred.shape}"
        )
    check_finite(y_pred, "y_pred")
    if y_pred.shape[1] != quantiles.size:
        raise ValueError(
            f"y_pred has {y_pred.shape[1]} column(s) but {quantiles.size} quantile(s) were given"
        )
    if not (isinstance(reduce, str) and reduce in ("mean", "sum")):
        raise ValueError(f"reduce must be 'mean' or 'sum', got {_describe(reduce)}")
    w = check_weights(sample_weight, y_true.shape[0])

    with np.errstate(over="ignore"):
        r = y_true[:, None] - y_pred
    overflowed = ~np.isfinite(r)  # the inputs are finite: |r| > max float64
    if overflowed.any():  # r = 2 * (y_true / 2 - y_pred / 2), exact for such large values
        r[overflowed] = (0.5 * y_true[:, None] - 0.5 * y_pred)[overflowed]
    loss = np.where(r >= 0, quantiles * r, (quantiles - 1.0) * r)  # >= 0, no overflow
    m_loss, e_loss = np.frexp(loss)
    m_w, e_w = np.frexp(w)
    mant = m_w[:, None] * m_loss  # in [0.25, 1) or 0
    expo = e_w[:, None].astype(np.int64) + e_loss + overflowed
    expo = np.where(mant > 0, expo, np.iinfo(np.int32).min)
    top = expo.max(axis=0)  # per quantile
    with np.errstate(over="ignore", under="ignore"):
        total = np.ldexp(mant, expo - top).sum(axis=0)  # in [0.25, n_samples]
        if reduce == "mean":
            top_w = int(e_w[w > 0].max())
            w_sum = np.ldexp(m_w, e_w - top_w).sum()  # in [0.5, n_samples]
            result = np.ldexp(total / w_sum, top - top_w)
        else:
            result = np.ldexp(total, top)
    result = np.where(total > 0, result, 0.0)
    return float(result[0]) if scalar else result


def r2_score_scaled(y, y_pred, sample_weight=None):
    """scikit-learn's R^2 on power-of-two rescaled data (mean over columns of ``y_pred``).

    R^2 is invariant to a common scale of ``y`` and ``y_pred`` and to the
    scale of the weights; rescaling them by powers of two before
    ``sklearn.metrics.r2_score`` keeps its squares from overflowing to
    ``inf - inf = NaN`` (responses near 1e200) or underflowing to 0.
    ``y`` is validated here (named ``y``); ``y_pred`` comes from ``predict``.
    """
    from sklearn.metrics import r2_score

    y = as_float_array(y, "y", expected="a 1-D array of numbers")
    if y.ndim != 1 or y.shape[0] != y_pred.shape[0]:
        raise ValueError(
            f"y must have shape ({y_pred.shape[0]},) (one entry per row of X), got shape "
            f"{y.shape}"
        )
    check_finite(y, "y")
    if sample_weight is not None:
        sample_weight = check_weights(sample_weight, y.shape[0])
        sample_weight = np.ldexp(sample_weight, -pow2_exponents(sample_weight))
    if not np.all(np.isfinite(y_pred)):
        raise ValueError(
            "the predictions for X overflow float64 (X times the coefficients is beyond "
            "about 1.8e308), so R^2 cannot be computed; rescale X"
        )
    k = max(int(pow2_exponents(y)), int(pow2_exponents(y_pred)))
    y = np.ldexp(y, -k)
    y_pred = np.ldexp(y_pred, -k)
    if y_pred.ndim == 1:
        return float(r2_score(y, y_pred, sample_weight=sample_weight))
    return float(np.mean([r2_score(y, col, sample_weight=sample_weight) for col in y_pred.T]))
