"""Exact weighted quantile regression: the public solver and its dispatch.

:func:`solve_quantile` validates its input; :func:`_solve` (the entry of the
estimators) rescales the problem exactly by powers of two and runs the direct
solver (``_direct.py``: MM, then the exact simplex finish) or the
Portnoy-Koenker preprocessing around it (``_preprocess.py``). Validation of
user input happens in the estimators, except that :func:`solve_quantile`, being
public, checks shapes and finiteness cheaply.
"""
from __future__ import annotations

from typing import Literal

import numpy as np
from numpy.typing import ArrayLike

from statoptim._threads import single_blas_thread
from statoptim._validation import check_random_state
from statoptim.quantile import _band
from statoptim.quantile._checks import (
    as_float_array,
    check_count,
    check_finite,
    check_preprocess,
    check_quantile_levels,
    check_tol,
    check_weights,
)
from statoptim.quantile._direct import (
    _X_DESIGN,
    QuantileSolution,
    _check_full_rank,
    _Design,
    _solve_direct,
    _with_ones,
)
from statoptim.quantile._preprocess import (
    _solve_preprocessed,
)

__all__ = ["QuantileSolution", "solve_quantile"]

# Preprocessing pays off above max(10000, 1000 p) rows (measured, p = 2 and 20).
_PREPROCESS_MIN_SAMPLES = 10_000
_PREPROCESS_MIN_RATIO = 1_000
# Fits on at least this many entries of Z hold BLAS at one thread.
_SINGLE_THREAD_MIN_SIZE = 50_000


def _power_of_two_scale(values, axis=None, nonnegative=False):
    """Exponents k with 2**k near max|values| (0 where that is within 2**+-32).

    Dividing by powers of two is exact in floating point, so the solver can
    run on data of any magnitude (squares of 1e300 overflow) and the answer
    is unscaled without rounding.
    """
    biggest = np.max(values, axis=axis)
    if not nonnegative:
        biggest = np.maximum(biggest, -np.min(values, axis=axis))
    _, exponent = np.frexp(biggest)
    in_range = (biggest == 0) | ((biggest > 2.0**-32) & (biggest < 2.0**32))
    return np.where(in_range, 0, exponent).astype(np.int64)


def solve_quantile(
    Z: ArrayLike,
    y: ArrayLike,
    sample_weight: ArrayLike | None = None,
    quantile: float = 0.5,
    *,
    theta0: ArrayLike | None = None,
    tol: float = 1e-5,
    max_iter: int = 1000,
    max_pivots: int | None = None,
    preprocess: Literal["auto"] | bool = "auto",
    random_state: int | np.random.SeedSequence | np.random.Generator | None = 0,
) -> QuantileSolution:
    """Exact weighted linear quantile regression on a design matrix.

    Minimises ``sum_i w_i rho_q(y_i - z_i'theta)`` over ``theta``. ``Z`` is
    used as given: add a column of ones yourself for an intercept (or use
    :class:`statoptim.QuantileRegressor`). Rows with zero weight are dropped.

    Parameters
    ----------
    Z : array-like of shape (n_samples, n_features)
        Finite real numbers (not sparse); full column rank on the rows with
        positive weight.
    y : array-like of shape (n_samples,)
        Finite real numbers.
    sample_weight : array-like of shape (n_samples,), default=None
        Finite, non-negative, with a positive entry; ``None`` means ones.
    quantile : float in (0, 1), default=0.5
        One quantile level.
    theta0 : array-like of shape (n_features,), default=None
        Finite warm start; weighted least squares when ``None`` (or when
        the residuals at ``theta0`` overflow). The answer does not depend on it.
    tol : float > 0, default=1e-5
    max_iter : int >= 1, default=1000
    max_pivots : int >= 1, default=None
    preprocess : {"auto", True, False}, default="auto"
        As in :class:`statoptim.QuantileRegressor`.
    random_state : None, int >= 0, SeedSequence or Generator, default=0
        Seed of the preprocessing subsample (the answer does not depend on it
        when ``status == "optimal"``).

    Returns
    -------
    QuantileSolution

    Raises
    ------
    ValueError
        For bad arguments (the message names the argument), a rank-deficient
        design, and when a coefficient of the exact solution lies outside the
        float64 range (it would overflow to inf, or underflow with a loss of
        precision that changes the fitted values): rescale that column of
        ``Z`` or ``y``. The solver itself works on data of any magnitude
        (exact power-of-two rescaling), so every representable solution is
        returned exactly.
    TypeError
        For sparse, complex or non-numeric arrays.

    Examples
    --------
    >>> import numpy as np
    >>> from statoptim.quantile import solve_quantile
    >>> Z = np.column_stack([np.ones(5), [0.0, 1.0, 2.0, 3.0, 4.0]])
    >>> y = np.array([0.0, 1.5, 1.8, 3.2, 4.0])
    >>> sol = solve_quantile(Z, y, quantile=0.5)
    >>> sol.status, sol.coef.round(4), round(sol.objective, 4)
    ('optimal', array([0., 1.]), 0.45)
    """
    Z, y = _check_design(Z, y)
    n_samples, n_features = Z.shape
    quantiles, _ = check_quantile_levels(quantile)
    if quantiles.size != 1:
        raise ValueError(
            f"quantile must be a single number in (0, 1) for solve_quantile, got "
            f"{quantiles.size} values; call it once per quantile or use QuantileRegressor"
        )
    w = check_weights(sample_weight, n_samples)
    if theta0 is not None:
        theta0 = _check_theta0(theta0, n_features)
    tol = check_tol(tol)
    max_iter = check_count(max_iter, "max_iter")
    if max_pivots is not None:
        max_pivots = check_count(max_pivots, "max_pivots")
    preprocess = check_preprocess(preprocess)
    is_bool = isinstance(random_state, (bool, np.bool_))
    if is_bool:
        raise ValueError(
            f"random_state must be None, an int, a SeedSequence or a numpy Generator, "
            f"got {random_state!r}"
        )
    rng = check_random_state(random_state)
    return _solve(Z, y, w, quantiles[0], theta0=theta0, tol=tol, max_iter=max_iter,
                  max_pivots=max_pivots, preprocess=preprocess, random_state=rng,
                  design="Z")


def _check_design(Z, y):
    """``Z`` and ``y`` of :func:`solve_quantile` as finite float64 arrays of matching shapes."""
    Z = as_float_array(Z, "Z", expected="a 2-D array of numbers")
    if Z.ndim != 2:
        raise ValueError(f"Z must be 2-D (n_samples, n_features), got an array of shape {Z.shape}")
    if Z.shape[0] == 0 or Z.shape[1] == 0:
        raise ValueError(f"Z must have at least one row and one column, got shape {Z.shape}")
    check_finite(Z, "Z")
    n_samples, n_features = Z.shape
    y = as_float_array(y, "y", expected="a 1-D array of numbers")
    if y.shape != (n_samples,):
        raise ValueError(f"y must have shape ({n_samples},) to match Z, got shape {y.shape}")
    check_finite(y, "y")
    return Z, y


def _check_theta0(theta0, n_features):
    """The warm start of :func:`solve_quantile` as a finite float64 array of shape (p,)."""
    theta0 = as_float_array(theta0, "theta0", expected="None or a 1-D array of numbers")
    if theta0.shape != (n_features,):
        raise ValueError(
            f"theta0 must have shape ({n_features},) (one entry per column of Z), "
            f"got shape {theta0.shape}"
        )
    check_finite(theta0, "theta0")
    return theta0


def _solve(Z, y, w, q, *, theta0, tol, max_iter, max_pivots, preprocess, random_state,
           design="X", intercept=False, ones=False):
    """:func:`solve_quantile` on validated input (finite, C-contiguous float64).

    ``design`` names the design matrix in error messages; ``intercept`` says
    its first column is the intercept's (so that messages name ``X``'s columns).
    With ``ones``, ``Z`` is ``X`` alone and the design is ``[1, X]`` (the
    coefficients, intercept first, are those of ``[1, X]``): the column of ones
    is only materialised where a small problem is solved directly.
    """
    if not np.all(w > 0):
        keep = w > 0
        Z, y, w = np.ascontiguousarray(Z[keep]), y[keep], w[keep]
    intercept = intercept or ones
    off = int(ones)
    n_samples = Z.shape[0]
    n_features = Z.shape[1] + off
    # Exact power-of-two scaling of y, w and the columns of Z: the solution of
    # the scaled problem maps back without rounding (theta_j * 2**(k_y - k_z))
    # unless it leaves the float64 range (checked below).
    k_y = int(_power_of_two_scale(y))
    k_w = int(_power_of_two_scale(w, nonnegative=True))
    colmax = np.zeros(n_features)
    if n_samples:
        _band.column_absmax(Z, colmax[off:])  # one pass, no n x p temporary
    if ones:
        colmax[0] = 1.0
    k_z = _power_of_two_scale(colmax[None, :], axis=0, nonnegative=True)
    if k_y:
        y = np.ldexp(y, -k_y)
    if k_w:
        w = np.ldexp(w, -k_w)
    if float(np.min(w)) < 2.0**-1021:  # a weight would be subnormal (or 0): rows lost
        raise ValueError(
            "sample_weight spans too many orders of magnitude: the ratio of its largest to "
            "its smallest positive entry exceeds 2**1021 (~2e307), so float64 cannot hold "
            "both once rescaled; drop the rows of negligible weight or compress the weights"
        )
    if np.any(k_z):
        Z = np.ldexp(Z, -k_z[None, off:])
        colmax = np.ldexp(colmax, -k_z)
    if theta0 is not None:
        theta0 = np.asarray(theta0, dtype=np.float64)
        if theta0.shape != (n_features,):
            raise ValueError(f"theta0 must have shape ({n_features},), got {theta0.shape}")
        with np.errstate(over="ignore", under="ignore", invalid="ignore"):
            theta0 = np.ldexp(theta0, k_z - k_y)
            # a warm start whose residuals overflow is no help: start from least squares
            fitted = Z @ theta0[off:] + (theta0[0] if ones else 0.0)
            if not (np.all(np.isfinite(theta0)) and np.all(np.isfinite(fitted))):
                theta0 = None
    # BLAS at one thread (statoptim/_threads.py): the products here are small
    # and threads only lose, badly on a loaded machine. Below the threshold a
    # fit takes well under a millisecond and the limit itself would cost more.
    with single_blas_thread(Z.size >= _SINGLE_THREAD_MIN_SIZE):
        sol = _solve_scaled(Z, y, w, q, theta0=theta0, tol=tol, max_iter=max_iter,
                            max_pivots=max_pivots, preprocess=preprocess,
                            random_state=random_state, design=_Design(design, intercept),
                            ones=ones)
    sol.coef = _unscale_coef(sol.coef, k_y - k_z, Z, y, _Design(design, intercept), colmax)
    if k_y or k_w:
        with np.errstate(over="ignore", under="ignore"):  # inf only if the true value is
            sol.objective = float(np.ldexp(sol.objective, k_y + k_w))
    return sol


def _unscale_coef(theta, shift, Z, y, design, colmax=None):
    """``theta * 2**shift``, or a ``ValueError`` if that leaves the float64 range.

    ``theta`` solves the problem on the scaled data ``Z``, ``y``. The product
    is exact unless it overflows (inf) or underflows into the subnormals,
    where it is rounded to a multiple of ``2**-1074``; such rounding is
    accepted while the fitted values it moves, ``sum_j |d theta_j| max|Z_j|``,
    stay within a few ulps of their own magnitude. ``colmax``, if given, is
    ``max_i |Z[i, j]|`` per column (saves a pass).
    """
    if not np.all(np.isfinite(theta)):  # pragma: no cover - finite data, full rank
        raise ValueError("the solver produced non-finite coefficients; please report this")
    with np.errstate(over="ignore", under="ignore", invalid="ignore"):
        coef = np.ldexp(theta, shift)
        back = np.ldexp(coef, -shift)
    if colmax is None:
        colmax = np.max(np.abs(Z), axis=0)
    moved = np.abs(back - theta) * colmax
    scale = float(np.max(np.abs(y))) + float(np.abs(theta) @ colmax)
    bad = ~(moved <= 64 * np.finfo(np.float64).eps * scale)  # also catches inf and NaN
    if bad.any():
        j = int(np.flatnonzero(bad)[0])
        exponent = int(np.frexp(theta[j])[1]) + int(shift[j])
        if design.intercept and j == 0:
            what, fix = "the intercept", "shift or rescale y"
        else:
            what, fix = f"the coefficient of {design.column(j)}", (
                f"rescale {design.column(j)} or y")
        side = "overflows" if not np.isfinite(coef[j]) else (
            "underflows (it would lose precision in the subnormal range)")
        raise ValueError(
            f"{what} of the exact solution is about 2**{exponent} and {side} in float64: "
            f"the data's scales are too far apart to represent the answer; {fix}"
        )
    return coef


def _solve_scaled(Z, y, w, q, *, theta0, tol, max_iter, max_pivots, preprocess,
                  random_state, design=_X_DESIGN, ones=False):
    n_samples = Z.shape[0]
    n_features = Z.shape[1] + int(ones)
    if preprocess == "auto":
        preprocess = n_samples >= max(_PREPROCESS_MIN_SAMPLES, _PREPROCESS_MIN_RATIO * n_features)
    # With preprocessing the rank is checked on the first subsample (a full-rank
    # subset of rows implies a full-rank design); otherwise on all rows.
    if preprocess:
        rng = np.random.default_rng(random_state)
        return _solve_preprocessed(Z, y, w, q, theta0, tol, max_iter, max_pivots, rng, design,
                                   ones)
    if ones:
        Z = _with_ones(Z)
    gram = _check_full_rank(Z, w, design)
    return _solve_direct(Z, y, w, q, theta0, tol, max_iter, max_pivots, gram)
