"""Exact power-of-two rescaling of X for FIT-SSVD: no square, sum or product over- or
underflows, and the fit stays scale-equivariant."""
from __future__ import annotations

import numpy as np
from scipy import sparse

from statoptim._validation import power_of_two_scale

__all__ = ["RATIO_BOUND", "SQ_NORM_BAND", "divided", "finite_or_raise", "scaled_operator"]

# Internally X is used at a scale where ||X||_F^2 lies in [2^-200, 2^200]: data outside that
# band is divided by a power of two (exact), so no square, sum or product over- or
# underflows and the fit is scale-equivariant (singular values and sigma scale exactly,
# vectors are unchanged).
SQ_NORM_BAND = (2.0 ** -200, 2.0 ** 200)
# ||X||_F / sigma must lie within 2^-250..2^250: beyond, sigma^2 or the scores
# t_i / (sigma^2 n_features) leave the float64 range.
RATIO_BOUND = 2.0 ** 250


def divided(X, scale):
    """X / scale (a power of two, so exact) as a new float64 array or sparse matrix.

    float32 data is widened first: a power of two beyond float32's range would not
    divide it exactly.
    """
    if sparse.issparse(X):
        X = X.astype(np.float64)   # a copy
        X.data /= scale
        return X
    return np.asarray(X, dtype=np.float64) / scale


def finite_or_raise(values, what):
    """Raise a ValueError naming ``what`` unless every entry of ``values`` is finite."""
    if not np.all(np.isfinite(values)):
        raise ValueError(
            f"X is too large for float64: {what} overflows; divide X by a constant")


def scaled_operator(X, operator):
        """The operator on X / scale, with scale a power of two keeping ||X||_F^2 in band.

        Returns (op, scale, ||X / scale||_F^2 after centring, centring means on the
        original scale or None). Data already in band (the usual case) is not copied.
        """
        scale = 1.0
        for attempt in range(3):
            Xs = X if scale == 1.0 else divided(X, scale)
            with np.errstate(over="ignore", invalid="ignore"):
                op, means = operator(Xs)
                sq_norm = op.sq_frobenius()
            if SQ_NORM_BAND[0] <= sq_norm <= SQ_NORM_BAND[1]:
                break
            # First by max|X| (X is finite, so this makes the centring safe), then, if
            # centring cancelled most of X, by the largest centred entry.
            if attempt == 0:
                step = power_of_two_scale(X.data if sparse.issparse(X) else X)
            else:
                step = power_of_two_scale([op.max_abs()])
            if step == 1.0:
                break
            scale *= step
        if means is not None:
            means = means * scale
        return op, scale, sq_norm, means
