"""Argument checks of the quantile subpackage's public functions.

They complement :mod:`statoptim._validation` (which they use) where its
helpers let something through: complex input (NumPy casts it to real with a
warning, then the imaginary part is silently gone), ``scipy.sparse``
matrices, object arrays of non-numbers, Python integers too large for a
float, integers that float64 cannot hold exactly, and counts beyond the C
integer range. Every error names the argument, what was expected and what
came. Candidates for :mod:`statoptim._validation`.
"""
from __future__ import annotations

import numbers

import numpy as np

from statoptim._validation import (
    _describe,
    check_binary,
    check_int,
    check_quantiles,
    check_real,
    check_sample_weight,
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
# float64 holds every integer up to 2**53 exactly.
_EXACT_INT = 2**53


def _is_sparse(value):
    try:
        import scipy.sparse as sp
    except ImportError:  # pragma: no cover - scipy is a dependency
        return False
    return sp.issparse(value)


def as_float_array(value, name, *, expected):
    """``value`` as a C-contiguous float64 ndarray (same shape, 0-d kept), or a named error.

    Raises ``TypeError`` for sparse matrices, complex numbers and objects that
    are not numbers; ``ValueError`` for strings, ragged sequences, numbers
    too large for float64 and integers beyond 2**53 that float64 would
    round (which would, e.g., merge distinct times into ties). ``expected``
    completes "``name`` must be ..." in the messages.
    """
    if _is_sparse(value):
        raise TypeError(
            f"{name} must be {expected}; got a scipy.sparse matrix of shape {value.shape}, "
            f"which is not supported: convert it with {name}.toarray()"
        )
    try:
        arr = np.asarray(value)
    except (TypeError, ValueError, OverflowError):
        raise ValueError(f"{name} must be {expected}, got {_describe(value)}") from None
    kind = arr.dtype.kind
    if kind == "c":
        raise TypeError(f"{name} must be {expected} (real, not complex), got {_describe(value)}")
    if kind == "O":
        for v in arr.flat:
            if isinstance(v, (complex, np.complexfloating)):
                raise TypeError(
                    f"{name} must be {expected} (real, not complex), got {_describe(value)}"
                )
            if not isinstance(v, (numbers.Real, np.bool_)):
                raise TypeError(
                    f"{name} must be {expected}, got an object that is not a real number: "
                    f"{_describe(v)}"
                )
        try:
            arr = arr.astype(np.float64)
        except OverflowError:
            raise ValueError(
                f"{name} must be {expected} within the float64 range, got {_describe(value)}"
            ) from None
    elif kind not in "biuf":
        raise ValueError(f"{name} must be {expected}, got {_describe(value)}")
    if kind in "iu" and arr.size:
        as_float = arr.astype(np.float64)
        big = np.abs(as_float) > _EXACT_INT
        if big.any() and any(int(f) != int(i) for f, i in zip(as_float[big], arr[big])):
            raise ValueError(
                f"{name} holds integers beyond 2**53 that float64 cannot represent exactly; "
                "convert them to float yourself if rounding them is acceptable"
            )
    if arr.ndim == 0:  # np.ascontiguousarray would make it 1-D
        return np.asarray(arr, dtype=np.float64)
    return np.ascontiguousarray(arr, dtype=np.float64)


def check_indicator(values, n_samples, name, **kwargs):
    """:func:`statoptim._validation.check_binary` after refusing sparse and complex input
    (which it would cast to real with a ``ComplexWarning``)."""
    if _is_sparse(values):
        raise TypeError(
            f"{name} must be a 1-D array of 0/1 (or bool); got a scipy.sparse matrix, which "
            f"is not supported: convert it with {name}.toarray()"
        )
    try:
        is_complex = np.iscomplexobj(values)
    except (TypeError, ValueError, OverflowError):
        is_complex = False
    if is_complex:
        raise TypeError(f"{name} must be a 1-D array of 0/1 (or bool), got complex numbers")
    return check_binary(values, n_samples, name, **kwargs)


def check_finite(arr, name, what="NaN or infinite value(s)"):
    """Raise a ``ValueError`` naming ``name`` and the first bad entry if ``arr`` is not finite."""
    bad = ~np.isfinite(arr)
    if bad.any():
        first = np.unravel_index(int(np.flatnonzero(bad)[0]), arr.shape)
        where = f"index {first[0]}" if arr.ndim == 1 else f"row {first[0]}, column {first[1]}"
        raise ValueError(f"{name} must be finite, got {int(bad.sum())} {what} (first at {where})")
    return arr


def check_quantile_levels(quantile, name="quantile"):
    """:func:`statoptim._validation.check_quantiles`, refusing complex numbers and ints
    beyond float64 (which it casts with a ``ComplexWarning`` or lets raise ``OverflowError``).
    """
    expected = f"{name} must be a number in (0, 1) or a sequence of such numbers"
    try:
        is_complex = np.iscomplexobj(quantile)
    except (TypeError, ValueError, OverflowError):
        is_complex = False
    if is_complex:
        raise TypeError(f"{expected} (real, not complex), got {_describe(quantile)}")
    try:
        return check_quantiles(quantile, name)
    except OverflowError:
        raise ValueError(f"{expected}, got {_describe(quantile)}") from None


def check_flag(value, name):
    """A bool (Python or NumPy); 0/1 and strings are refused."""
    ok = isinstance(value, (bool, np.bool_))
    if not ok:  # a ValueError, as for every other parameter of an estimator
        raise ValueError(f"{name} must be True or False, got {_describe(value)}")
    return bool(value)


def check_count(value, name, minimum=1):
    """An integer cap >= ``minimum``; values beyond 2**62 mean "no cap" and are clipped."""
    return min(check_int(value, name, minimum=minimum), MAX_COUNT)


def check_number(value, name, **bounds):
    """:func:`statoptim._validation.check_real`, with Python ints beyond float64 refused.

    ``check_real`` passes such ints to ``math.isfinite``, which raises an
    ``OverflowError`` instead of a message naming the argument.
    """
    if isinstance(value, numbers.Integral) and not isinstance(value, bool):
        try:
            float(value)
        except OverflowError:
            raise ValueError(
                f"{name} must be a finite number, got an integer beyond the float64 range "
                f"({_describe(value)})"
            ) from None
    return check_real(value, name, **bounds)


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


def check_weights(sample_weight, n_samples, name="sample_weight"):
    """:func:`statoptim._validation.check_sample_weight` after refusing sparse and complex."""
    if sample_weight is None:
        return check_sample_weight(None, n_samples, name)
    if isinstance(sample_weight, numbers.Real) and not isinstance(sample_weight, bool):
        value = check_number(sample_weight, name, low=0)
        return check_sample_weight(value, n_samples, name)
    arr = as_float_array(sample_weight, name, expected="an array of non-negative numbers")
    return check_sample_weight(arr, n_samples, name)


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
