"""The check (pinball) loss of quantile regression."""
from __future__ import annotations

import numpy as np

from statoptim._validation import (
    _describe,
    check_1d_finite,
    check_quantiles,
    check_sample_weight,
)

__all__ = ["pinball_loss"]


def pinball_loss(y_true, y_pred, *, quantile=0.5, sample_weight=None, reduce="mean"):
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
    """
    quantiles, scalar = check_quantiles(quantile)
    y_true = check_1d_finite(y_true, "y_true")
    if y_true.size == 0:
        raise ValueError("y_true must hold at least one sample, got an empty array")
    try:
        y_pred = np.asarray(y_pred, dtype=np.float64)
    except (TypeError, ValueError):
        raise ValueError(f"y_pred must be an array of numbers, got {_describe(y_pred)}") from None
    if not np.all(np.isfinite(y_pred)):
        raise ValueError(
            f"y_pred must be finite, got {int((~np.isfinite(y_pred)).sum())} NaN or inf"
        )
    if y_pred.ndim == 1:
        y_pred = y_pred[:, None]
    if y_pred.ndim != 2 or y_pred.shape[0] != y_true.shape[0]:
        raise ValueError(
            f"y_pred must have shape ({y_true.shape[0]},) or ({y_true.shape[0]}, n_quantiles), "
            f"got {y_pred.shape}"
        )
    if y_pred.shape[1] != quantiles.size:
        raise ValueError(
            f"y_pred has {y_pred.shape[1]} column(s) but {quantiles.size} quantile(s) were given"
        )
    if reduce not in ("mean", "sum"):
        raise ValueError(f"reduce must be 'mean' or 'sum', got {reduce!r}")
    w = check_sample_weight(sample_weight, y_true.shape[0])
    r = y_true[:, None] - y_pred
    loss = np.where(r >= 0, quantiles * r, (quantiles - 1.0) * r)
    total = w @ loss
    if reduce == "mean":
        total = total / w.sum()
    return float(total[0]) if scalar else total
