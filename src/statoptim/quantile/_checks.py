"""Argument checks of the quantile subpackage's public functions.

The general checks (real numbers, quantile levels, weights, 0/1 indicators,
float arrays that refuse complex, sparse and out-of-range input) live in
:mod:`statoptim._validation` and are re-exported here under the names the
quantile modules use; what is particular to the quantile solvers (iteration
caps, ``preprocess``, the exact power-of-two exponents) is defined here.
Every error names the argument, what was expected and what came.
"""
from __future__ import annotations

import numpy as np

from statoptim._validation import (
    _describe,
    as_float_array,
    check_flag,
    check_int,
)
from statoptim._validation import (
    check_binary as check_indicator,
)
from statoptim._validation import (
    check_quantiles as check_quantile_levels,
)
from statoptim._validation import (
    check_real as check_number,
)
from statoptim._validation import (
    check_sample_weight as check_weights,
)

__all__ = [
    "as_float_array",
    "check_count",
    "check_finite",
    "check_flag",
    "check_indicator",
    "check_number",
    "check_preprocess",
    "check_quantile_levels",
    "check_tol",
    "check_weights",
    "pow2_exponents",
]

# Iteration and pivot caps beyond this are "no cap" (and must fit a C Py_ssize_t).
MAX_COUNT = 2**62


def check_finite(arr, name, what="NaN or infinite value(s)"):
    """Raise a ``ValueError`` naming ``name`` and the first bad entry if ``arr`` is not finite."""
    if arr.dtype.kind == "f":
        with np.errstate(over="ignore", invalid="ignore"):
            if np.isfinite(np.sum(arr)):  # one pass, no temporary (as scikit-learn does)
                return arr
    bad = ~np.isfinite(arr)
    if bad.any():
        first = np.unravel_index(int(np.flatnonzero(bad)[0]), arr.shape)
        where = f"index {first[0]}" if arr.ndim == 1 else f"row {first[0]}, column {first[1]}"
        raise ValueError(f"{name} must be finite, got {int(bad.sum())} {what} (first at {where})")
    return arr


def check_count(value, name, minimum=1):
    """An integer cap >= ``minimum``; values beyond 2**62 mean "no cap" and are clipped."""
    return min(check_int(value, name, minimum=minimum), MAX_COUNT)


def check_tol(value, name="tol"):
    """A finite number > 0."""
    return check_number(value, name, low=0, low_open=True)


def check_preprocess(value, name="preprocess"):
    """``"auto"``, True or False (NumPy bools included)."""
    if isinstance(value, str) and value == "auto":
        return "auto"
    if isinstance(value, (bool, np.bool_)):
        return bool(value)
    raise ValueError(f"{name} must be 'auto', True or False, got {_describe(value)}")


def pow2_exponents(values, axis=None):
    """Exponents ``k`` with ``max|values| / 2**k`` in ``[0.5, 1)`` (0 where all are zero).

    Dividing by ``2**k`` with ``np.ldexp(values, -k)`` is exact (barring
    subnormal results) and never overflows, unlike multiplying by the
    reciprocal ``2.0**-k`` (which is inf or 0 for ``|k| > 1023``).
    ``values`` must be finite.
    """
    top = np.max(np.abs(values), axis=axis)
    _, exponent = np.frexp(top)
    return exponent.astype(np.int64)
