"""Shared argument checks.

Every check raises a ``ValueError`` (or ``TypeError``) whose message names the
argument, says what was expected and shows what came, so that users can fix
their call without reading the source.
"""
from __future__ import annotations

import math
import numbers
import os
import re

import numpy as np

__all__ = [
    "all_finite",
    "as_float_array",
    "check_1d_finite",
    "check_choice",
    "check_flag",
    "check_int",
    "check_n_threads",
    "check_positive_float",
    "check_positive_int",
    "check_quantiles",
    "check_random_state",
    "check_real",
    "check_sample_weight",
    "check_sparse_structure",
    "power_of_two_scale",
    "validate_named",
]


def _finite(value):
    """``math.isfinite`` that says False (not OverflowError) for ints beyond float64."""
    try:
        return math.isfinite(value)
    except OverflowError:
        return False


def _describe(value):
    """Short description of a received value for error messages."""
    if isinstance(value, np.ndarray):
        return f"array of shape {value.shape} and dtype {value.dtype}"
    text = repr(value)
    return text if len(text) <= 60 else text[:57] + "..."


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


def check_quantiles(quantile, name="quantile"):
    """Validate one quantile or a sequence of quantiles.

    Returns
    -------
    quantiles : ndarray of shape (n_quantiles,)
        The quantiles as float64.
    scalar : bool
        True if a single number was given (estimators then return 1-D ``coef_``).
    """
    scalar = isinstance(quantile, numbers.Real) and not isinstance(quantile, bool)
    if quantile is None:
        raise ValueError(
            f"{name} must be a number in (0, 1) or a sequence of such numbers, got None"
        )
    try:
        is_complex = np.iscomplexobj(quantile)
    except (TypeError, ValueError, OverflowError):
        is_complex = False
    if is_complex:
        raise TypeError(f"{name} must be a number in (0, 1) or a sequence of such numbers "
                        f"(real, not complex), got {_describe(quantile)}")
    try:
        arr = np.asarray(quantile, dtype=np.float64)
    except (TypeError, ValueError, OverflowError):
        raise ValueError(
            f"{name} must be a number in (0, 1) or a sequence of such numbers, "
            f"got {_describe(quantile)}"
        ) from None
    if isinstance(quantile, bool) or arr.ndim > 1 or arr.size == 0:
        raise ValueError(
            f"{name} must be a number in (0, 1) or a non-empty 1-D sequence of such "
            f"numbers, got {_describe(quantile)}"
        )
    arr = np.atleast_1d(arr)
    bad = ~((arr > 0.0) & (arr < 1.0))  # also catches NaN
    if bad.any():
        raise ValueError(
            f"{name} must lie strictly between 0 and 1, got {float(arr[bad][0])!r}"
            + ("" if scalar else f" in {_describe(quantile)}")
        )
    return arr, scalar


def check_sample_weight(sample_weight, n_samples, name="sample_weight"):
    """Validate non-negative, finite weights with a positive sum.

    ``None`` gives unit weights. Returns a C-contiguous float64 array.
    """
    if sample_weight is None:
        return np.ones(n_samples, dtype=np.float64)
    if isinstance(sample_weight, numbers.Real) and not isinstance(sample_weight, bool):
        sample_weight = np.full(n_samples, check_real(sample_weight, name, low=0))
    w = as_float_array(sample_weight, name, expected="an array of non-negative numbers")
    if w.ndim != 1 or w.shape[0] != n_samples:
        raise ValueError(
            f"{name} must have shape ({n_samples},) to match the number of samples, "
            f"got shape {w.shape}"
        )
    if not np.all(np.isfinite(w)):
        raise ValueError(f"{name} must be finite, got {int((~np.isfinite(w)).sum())} NaN or inf")
    if np.any(w < 0):
        raise ValueError(f"{name} must be non-negative, got minimum {float(w.min())!r}")
    if not np.any(w > 0):
        raise ValueError(f"{name} must have at least one positive entry, got all zeros")
    return w


def check_positive_int(value, name, minimum=1):
    """Validate an integer >= minimum."""
    if isinstance(value, bool) or not isinstance(value, numbers.Integral) or value < minimum:
        raise ValueError(f"{name} must be an integer >= {minimum}, got {_describe(value)}")
    return int(value)


def check_positive_float(value, name, allow_zero=False):
    """Validate a finite float > 0 (or >= 0 with ``allow_zero``)."""
    ok = isinstance(value, numbers.Real) and not isinstance(value, bool) and _finite(value)
    ok = ok and (value >= 0 if allow_zero else value > 0)
    if not ok:
        bound = ">= 0" if allow_zero else "> 0"
        raise ValueError(f"{name} must be a finite number {bound}, got {_describe(value)}")
    return float(value)


def check_random_state(random_state, name="random_state"):
    """Turn None, an int, a SeedSequence or a Generator into a numpy Generator."""
    if random_state is None or isinstance(
        random_state, (numbers.Integral, np.random.SeedSequence)
    ):
        if isinstance(random_state, numbers.Integral) and random_state < 0:
            raise ValueError(f"{name} must be a non-negative integer, got {random_state!r}")
        return np.random.default_rng(random_state)
    if isinstance(random_state, np.random.Generator):
        return random_state
    if isinstance(random_state, np.random.RandomState):
        return np.random.default_rng(random_state.randint(0, 2**31 - 1))
    raise ValueError(
        f"{name} must be None, an int, a SeedSequence or a numpy Generator, "
        f"got {_describe(random_state)}"
    )


def check_1d_finite(values, name, n_samples=None):
    """Validate a finite 1-D float64 array (optionally of a given length)."""
    arr = as_float_array(values, name, expected="a 1-D array of numbers")
    if arr.ndim != 1:
        raise ValueError(f"{name} must be 1-D, got an array of shape {arr.shape}")
    if n_samples is not None and arr.shape[0] != n_samples:
        raise ValueError(f"{name} must have length {n_samples}, got {arr.shape[0]}")
    if not np.all(np.isfinite(arr)):
        raise ValueError(f"{name} must be finite, got {int((~np.isfinite(arr)).sum())} NaN or inf")
    return arr


_EXPECTED = {"X": "a non-empty 2-D array of numbers", "y": "a non-empty 1-D array of numbers"}


def validate_named(estimator, X, y="no_validation", **check_params):
    """``sklearn.utils.validation.validate_data`` with errors that name the argument.

    scikit-learn's messages for empty, non-numeric, 1-D or mismatched input
    ("Found array with 0 sample(s)", "could not convert string to float",
    "Found input variables with inconsistent numbers of samples") do not say
    which argument is wrong. Those are re-raised with the argument and what
    was expected in front of scikit-learn's text (which shows what came).
    Messages that already start with the argument's name pass through
    unchanged, and the exception type is kept (scikit-learn's estimator
    checks expect a ``TypeError`` for objects that are not numbers).
    """
    from sklearn.utils.validation import validate_data

    try:
        return validate_data(estimator, X, y, **check_params)
    except (TypeError, ValueError) as exc:
        msg = str(exc)
        if re.match(r"(Input )?(X|y)\b", msg):
            raise
        name = _culprit(X, y, check_params.get("dtype", "numeric"))
        if name == "X and y":
            text = f"X and y must have the same number of samples; {msg}"
        else:
            text = f"{name} must be {_EXPECTED[name]}; {msg}"
        cls = TypeError if isinstance(exc, TypeError) else ValueError
        raise cls(text) from exc


def is_ready_float64(X, y):
    """Whether ``(X, y)`` need no conversion and no check but finiteness.

    True for a non-empty, C-contiguous float64 ndarray ``X`` (2-D) and a
    float64 ndarray ``y`` (1-D) of the same length, both finite. Estimators
    then call ``validate_data(..., skip_check_array=True)``, which still
    records ``n_features_in_`` and feature names, and skip the cost of
    scikit-learn's generic conversion (a third of a 1 ms fit at n = 2000).
    """
    return (
        type(X) is np.ndarray and type(y) is np.ndarray
        and X.dtype == np.float64 and y.dtype == np.float64
        and X.ndim == 2 and y.ndim == 1 and X.flags.c_contiguous
        and X.shape[0] == y.shape[0] and X.shape[0] > 0 and X.shape[1] > 0
        and all_finite(X) and all_finite(y)
    )


#: Elements per block of :func:`all_finite`: its boolean temporary is 1 MiB.
_FINITE_BLOCK = 1 << 20


def all_finite(a):
    """Whether every entry of the contiguous float array ``a`` is finite.

    Checked block by block, so the boolean temporary is bounded (1 MiB) instead
    of one byte per entry.

    Examples
    --------
    >>> import numpy as np
    >>> from statoptim._validation import all_finite
    >>> all_finite(np.ones((3, 2))), all_finite(np.array([1.0, np.nan]))
    (True, False)
    """
    flat = a.reshape(-1)
    return all(bool(np.isfinite(flat[i:i + _FINITE_BLOCK]).all())
               for i in range(0, flat.size, _FINITE_BLOCK))


def _culprit(X, y, dtype):
    """Which of X and y fails validation on its own ("X and y" if neither does)."""
    from sklearn.utils.validation import check_array

    try:
        check_array(X, dtype=dtype, ensure_all_finite=False)
    except (TypeError, ValueError):
        return "X"
    if isinstance(y, str) and y == "no_validation":
        return "X"
    try:
        check_array(y, dtype=dtype, ensure_2d=False, ensure_all_finite=False)
    except (TypeError, ValueError):
        return "y"
    return "X and y"


def check_binary(values, n_samples, name, *, meaning=("0", "1"),
                 length="the same length as time"):
    """Validate a 1-D indicator of 0/1 (or bool) of length ``n_samples``.

    ``meaning`` names what 0 and 1 stand for and ``length`` what the length
    must match, for the error messages. Returns an int8 array.
    """
    if _is_sparse(values):
        raise TypeError(
            f"{name} must be a 1-D array of 0/1 (or bool); got a scipy.sparse matrix, which "
            f"is not supported: convert it with {name}.toarray()"
        )
    try:
        arr = np.asarray(values)
        if arr.dtype.kind == "c" or (arr.dtype == object and any(
                isinstance(v, (complex, np.complexfloating)) for v in arr.flat)):
            raise TypeError(f"{name} must be a 1-D array of 0/1 (or bool), got complex numbers")
        if arr.dtype == object:
            arr = arr.astype(np.float64)
    except TypeError as exc:
        if "complex" in str(exc):
            raise
        raise ValueError(
            f"{name} must be a 1-D array of 0/1 (or bool), got {_describe(values)}"
        ) from None
    except (ValueError, OverflowError):
        raise ValueError(
            f"{name} must be a 1-D array of 0/1 (or bool), got {_describe(values)}"
        ) from None
    if arr.ndim != 1:
        raise ValueError(f"{name} must be 1-D, got an array of shape {arr.shape}")
    if arr.shape[0] != n_samples:
        raise ValueError(
            f"{name} must have {length} ({n_samples}), got length {arr.shape[0]}"
        )
    if arr.dtype == np.bool_:
        return arr.astype(np.int8)
    if not np.issubdtype(arr.dtype, np.number):
        raise ValueError(f"{name} must be numeric 0/1 or bool, got dtype {arr.dtype}")
    ok = (arr == 0) | (arr == 1)  # NaN compares False
    if not ok.all():
        first = int(np.flatnonzero(~ok)[0])
        raise ValueError(
            f"{name} must contain only 0 ({meaning[0]}) and 1 ({meaning[1]}), "
            f"got {arr[first]!r} at index {first}"
        )
    return arr.astype(np.int8)


def check_real(value, name, *, low=None, high=None, low_open=False, high_open=False):
    """Validate a finite real number in an (open or closed) interval.

    ``low``/``high`` of None leave that side unbounded; ``low_open`` and
    ``high_open`` make the bound strict. The message states the interval.

    Examples
    --------
    >>> check_real(0.5, "tol", low=0, low_open=True)
    0.5
    """
    ok = isinstance(value, numbers.Real) and not isinstance(value, bool) and _finite(value)
    if ok and low is not None:
        ok = value > low if low_open else value >= low
    if ok and high is not None:
        ok = value < high if high_open else value <= high
    if not ok:
        lo = "" if low is None else (f"> {low}" if low_open else f">= {low}")
        hi = "" if high is None else (f"< {high}" if high_open else f"<= {high}")
        bounds = " and ".join(x for x in (lo, hi) if x)
        raise ValueError(f"{name} must be a finite number{' ' + bounds if bounds else ''}, "
                         f"got {_describe(value)}")
    return float(value)


def check_flag(value, name):
    """Validate a boolean flag (Python or NumPy bool; 0/1 and strings are refused)."""
    if isinstance(value, (bool, np.bool_)):
        return bool(value)
    raise ValueError(f"{name} must be True or False, got {_describe(value)}")


def check_int(value, name, minimum=1, maximum=None):
    """Validate an integer in ``[minimum, maximum]`` (bool is not an integer here)."""
    ok = isinstance(value, numbers.Integral) and not isinstance(value, bool)
    ok = ok and value >= minimum and (maximum is None or value <= maximum)
    if not ok:
        bounds = f">= {minimum}" + ("" if maximum is None else f" and <= {maximum}")
        raise ValueError(f"{name} must be an integer {bounds}, got {_describe(value)}")
    return int(value)


def check_choice(value, name, choices):
    """Validate that ``value`` is one of ``choices`` (same type and equal)."""
    for c in choices:
        if (type(value) is type(c) or (isinstance(value, str) and isinstance(c, str))) \
                and value == c:
            return value
    raise ValueError(f"{name} must be one of {list(choices)!r}, got {_describe(value)}")


def available_cpus():
    """Number of CPUs this process may run on (affinity mask where the OS has one)."""
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except AttributeError:  # pragma: no cover - not Linux
        return max(1, os.cpu_count() or 1)


def check_n_threads(n_threads, name="n_threads", default=None):
    """Validate a thread count and cap it at the CPUs available.

    ``None`` gives ``default`` (all available CPUs when ``default`` is None).
    Asking for more threads than CPUs is allowed but capped: starting
    thousands of OpenMP threads exhausts the process (libgomp aborts), and
    more threads than cores is never faster for these kernels.
    """
    cpus = available_cpus()
    if n_threads is None:
        return cpus if default is None else max(1, min(int(default), cpus))
    if isinstance(n_threads, bool) or not isinstance(n_threads, numbers.Integral) \
            or n_threads < 1:
        raise ValueError(f"{name} must be None or an integer >= 1, got {_describe(n_threads)}")
    return int(min(n_threads, cpus))


def check_sparse_structure(X, name="X"):
    """Check the index arrays of a scipy.sparse ``X`` before anything reads them.

    scikit-learn's validation and scipy's format conversions read the indices without
    checking them: out-of-range or inconsistent index arrays crash the interpreter. The
    pointers of CSR/CSC/BSR are checked here in full (see ``_check_compressed_pointers``),
    then CSR/CSC/COO go through ``check_sparse_structure`` and BSR through scipy's full
    format check; LIL, DOK and DIA are converted by pure NumPy code. Index arrays of an
    unsigned integer dtype are converted (a copy: ``X`` is not modified); other dtypes are
    an error. Returns ``X`` or a copy.
    """
    from scipy import sparse

    if not sparse.issparse(X):
        return X
    fmt = X.format
    if fmt in ("csr", "csc", "bsr"):
        arrays = {"indices": X.indices, "indptr": X.indptr}
    elif fmt == "coo":
        arrays = {"row": X.row, "col": X.col}
    else:
        return X
    for attr, arr in arrays.items():
        if not isinstance(arr, np.ndarray) or arr.dtype.kind not in "iu" or arr.ndim != 1:
            raise ValueError(
                f"{name} is a {fmt.upper()} matrix whose {attr} array must be a 1-D array of "
                f"integers, got {_describe(arr)}")
    data = np.asarray(X.data)
    if fmt == "coo" and not (data.ndim == 1 and X.row.size == X.col.size == data.size):
        raise ValueError(
            f"{name} is a COO matrix whose row, col and data arrays must be 1-D of the same "
            f"length, got lengths {X.row.size}, {X.col.size} and data of shape {data.shape}")
    if fmt in ("csr", "csc", "bsr"):
        _check_compressed_pointers(X, name, data)
    if any(arr.dtype.kind == "u" for arr in arrays.values()):
        # scipy accepts only signed index arrays; uint64 beyond int64 wraps negative and is
        # then rejected below.
        cast = {attr: arr.astype(np.int64) for attr, arr in arrays.items()}
        if fmt == "coo":
            X = type(X)((data, (cast["row"], cast["col"])), shape=X.shape, copy=False)
        else:
            X = X.copy()
            X.indices, X.indptr = cast["indices"], cast["indptr"]
    if fmt != "coo" and X.indptr[-1] < X.indices.size:
        # scipy's format check would trim the unused tail of the caller's arrays in place.
        X = X.copy()
    if fmt == "bsr":
        try:
            X.check_format(full_check=True)
        except ValueError as exc:
            raise ValueError(
                f"{name} is a BSR matrix of shape {X.shape} whose index arrays are invalid "
                f"({exc}); build it with scipy.sparse constructors") from None
        return X
    return _check_index_format(X, name)


def _check_compressed_pointers(X, name, data):
    """Pointers and indices of a CSR/CSC/BSR matrix, checked without modifying it.

    scipy's ``check_format(full_check=True)`` first trims the arrays to ``indptr[-1]``
    and then checks the pointers' order only if entries remain, so a pointer array
    ending in 0 passes it whatever its order (and scipy's own conversions then read
    out of bounds). Here every pointer is checked.
    """
    fmt = X.format
    n_rows, n_cols = X.shape
    if fmt == "bsr":
        R, C = X.blocksize
        n_major, n_minor = n_rows // R, n_cols // C
    elif fmt == "csr":
        n_major, n_minor = n_rows, n_cols
    else:
        n_major, n_minor = n_cols, n_rows
    indptr, indices = X.indptr, X.indices
    problem = None
    if indptr.size != n_major + 1:
        problem = f"indptr has length {indptr.size}, expected {n_major + 1}"
    elif data.ndim < 1 or data.shape[0] != indices.size:
        problem = (f"indices has length {indices.size} but data has shape {data.shape}")
    elif indptr[0] != 0:
        problem = f"indptr starts with {indptr[0]}, expected 0"
    elif np.any(indptr[1:] < indptr[:-1]):
        problem = "indptr is not non-decreasing"
    elif indptr[-1] > indices.size:
        problem = f"indptr ends with {indptr[-1]} > {indices.size} stored entries"
    else:
        used = indices[: int(indptr[-1])]
        if used.size and (used.min() < 0 or used.max() >= n_minor):
            problem = f"an index is outside [0, {n_minor})"
    if problem is not None:
        raise ValueError(
            f"{name} is a {fmt.upper()} matrix of shape {X.shape} whose index arrays are "
            f"invalid ({problem}); build it with scipy.sparse constructors")


def _check_index_format(M, name="X"):
    """scipy's full format check of CSR/CSC, bounds of COO indices, as named errors.

    Called by :func:`check_sparse_structure` after the pointers are known to
    be consistent (scipy's check trims arrays past ``indptr[-1]`` in place).
    """
    import scipy.sparse as sp

    if not sp.issparse(M):
        return M
    fmt = M.format
    try:
        if fmt in ("csr", "csc"):
            M.check_format(full_check=True)
        elif fmt == "coo":
            shape = M.shape
            for idx, extent, axis in ((M.row, shape[0], "row"), (M.col, shape[1], "column")):
                if idx.size and (idx.min() < 0 or idx.max() >= extent):
                    raise ValueError(f"{axis} index out of range [0, {extent})")
    except ValueError as exc:
        raise ValueError(
            f"{name} is a {fmt.upper()} matrix of shape {M.shape} whose index arrays are "
            f"invalid ({exc}); build it with scipy.sparse constructors"
        ) from None
    return M


def power_of_two_scale(values):
    """Power of two ``2**k`` with ``max|values| / 2**k`` in ``[0.5, 1)``.

    Dividing by a power of two is exact in binary floating point (no digit
    is lost unless the result under- or overflows), so kernels can work on
    data of order one and results can be scaled back exactly. Returns 1.0
    for an all-zero or empty array. ``values`` must be finite. For
    ``max|values| >= 2**1023`` the scale is capped at ``2**1023`` (the
    largest power of two a float64 holds), so the quotient lies in [1, 2).

    Examples
    --------
    >>> power_of_two_scale([3.0, -0.1])
    4.0
    >>> power_of_two_scale([1e308]) == 2.0 ** 1023
    True
    """
    a = np.asarray(values)
    if a.size == 0:
        return 1.0
    top = float(np.max(np.abs(a)))
    if top == 0.0 or not math.isfinite(top):
        return 1.0
    _, exponent = math.frexp(top)
    return math.ldexp(1.0, min(exponent, 1023))
