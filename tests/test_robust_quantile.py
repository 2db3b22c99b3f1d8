"""Hardening of the quantile subpackage (issue 12): no crash, no silent wrong answer.

Regression tests, one per bug found (each fails on the code before its fix),
then hypothesis fuzz tests (``pytest -k fuzz``) over shapes, dtypes, memory
layouts, magnitudes, NaN/inf placement and parameter values of every public
entry point of ``statoptim.quantile``. The property is always: a clear
``ValueError``/``TypeError`` whose message names the argument, or a finite
answer that agrees with an independent reference:

* quantile fits: the optimal objective of ``scipy.optimize.linprog`` (HiGHS),
  on the problem rescaled by powers of two (exact, so HiGHS sees numbers of
  order one whatever the magnitudes);
* ``pinball_loss``: the exact value in rational arithmetic (``fractions``),
  correctly rounded;
* Kaplan-Meier and the propensity: plain NumPy references written here from
  the definitions (``np.unique`` and cumulative products; chunked kernel sums
  on data divided by their largest magnitude).
"""
import math
import re
import warnings
from fractions import Fraction

import numpy as np
import pytest
import scipy.fft
import scipy.sparse as sp
from hypothesis import assume, event, given, note
from hypothesis import strategies as st
from numpy.testing import assert_allclose, assert_array_equal
from sklearn.exceptions import ConvergenceWarning, UndefinedMetricWarning
from sklearn.metrics import r2_score
from sklearn.model_selection import GridSearchCV

from statoptim._validation import available_cpus
from statoptim.quantile import (
    CensoredQuantileRegressor,
    QuantileRegressor,
    _propensity,
    censoring_survival,
    ipcw_weights,
    kaplan_meier,
    kernel_propensity,
    pinball_loss,
    solve_quantile,
)
from statoptim.studies.quantile_solver import lp_quantile_objective

# --------------------------------------------------------------------------- #
# references
# --------------------------------------------------------------------------- #


def _exp2(values, axis=None):
    """Exponent k with max|values| / 2**k in [0.5, 1) (frexp of the largest magnitude)."""
    return np.frexp(np.max(np.abs(values), axis=axis))[1].astype(np.int64)


def _check_loss(r, q):
    return np.maximum(q * r, (q - 1.0) * r)


def lp_reference(Z, y, w, q):
    """HiGHS on the positive-weight rows, every column, y and w divided by a power of two.

    Returns the LP objective, the LP theta (scaled units), the scaled data and exponents.
    """
    keep = w > 0
    Z, y, w = Z[keep], y[keep], w[keep]
    kz, ky, kw = _exp2(Z, axis=0), int(_exp2(y)), int(_exp2(w))
    Zs, ys, ws = np.ldexp(Z, -kz), np.ldexp(y, -ky), np.ldexp(w, -kw)
    objective, theta = lp_quantile_objective(Zs, ys, q, ws)
    return objective, theta, (Zs, ys, ws), (kz, ky, kw)


def exact_pinball(y_true, y_pred, q, w, reduce):
    """The pinball loss in exact rational arithmetic, then correctly rounded (inf on overflow)."""
    qf = Fraction(q)
    total = Fraction(0)
    for yt, yp, wi in zip(y_true, y_pred, w):
        r = Fraction(float(yt)) - Fraction(float(yp))
        total += Fraction(float(wi)) * (qf * r if r >= 0 else (qf - 1) * r)
    if reduce == "mean":
        total /= sum(Fraction(float(wi)) for wi in w)
    try:
        return float(total)
    except OverflowError:
        return math.inf


def km_reference(time, event):
    """Kaplan-Meier of T and of C (events reversed) from the definitions, and G(Y_i-)."""
    s, inverse, counts = np.unique(time, return_inverse=True, return_counts=True)
    fail = np.bincount(inverse, weights=event, minlength=s.size)
    cens = counts - fail
    risk = time.size - np.concatenate([[0], np.cumsum(counts)[:-1]])
    surv = np.cumprod((risk - fail) / risk)
    gsurv = np.cumprod((risk - cens) / risk)
    g_left = np.concatenate([[1.0], gsurv[:-1]])[inverse]
    return s, surv, risk, fail, cens, g_left


def nw_reference(X, complete, h, leave_one_out=False):
    """Nadaraya-Watson sums on standardised columns (each first divided by its max |x|).

    Returns ``(numer, denom)``, or None when the coordinates in bandwidths overflow.
    """
    X = np.asarray(X, dtype=np.float64)
    top = np.max(np.abs(X), axis=0)
    X = X / np.where(top > 0, top, 1.0)
    sd = X.std(axis=0, ddof=1) if X.shape[0] > 1 else np.ones(X.shape[1])
    with np.errstate(over="ignore"):
        U = (X - X.mean(axis=0)) / np.where(sd > 0, sd, 1.0) / h
    if not np.all(np.isfinite(U)):
        return None
    n = U.shape[0]
    numer, denom = np.empty(n), np.empty(n)
    for start in range(0, n, 64):
        block = U[start:start + 64]
        with np.errstate(over="ignore"):
            sq = ((block[:, None, :] - U[None, :, :]) ** 2).sum(axis=2)
        K = np.exp(-0.5 * sq)
        if leave_one_out:
            K[np.arange(block.shape[0]), np.arange(start, start + block.shape[0])] = 0.0
        numer[start:start + 64] = K @ complete
        denom[start:start + 64] = K.sum(axis=1)
    return numer, denom


# --------------------------------------------------------------------------- #
# helpers
# --------------------------------------------------------------------------- #
_ARG_NAMES = (
    "X", "Z", "y", "y_true", "y_pred", "sample_weight", "quantile", "theta0", "tol",
    "max_iter", "max_pivots", "preprocess", "random_state", "time", "event", "complete",
    "bandwidth", "method", "leave_one_out", "grid_spacing", "n_threads", "fit_intercept",
    "propensity_method", "propensity_columns", "weight_cap", "weight_cap_quantile", "g_min",
    "pi_min", "stabilize", "reduce", "intercept",
)
_NAMED = re.compile(r"\b(" + "|".join(re.escape(name) for name in _ARG_NAMES) + r")\b")


def assert_named(exc, *names):
    """The message names one of ``names`` (any argument name if none is given)."""
    msg = str(exc)
    if names:
        assert any(re.search(rf"(?<![\w]){re.escape(n)}\b", msg) for n in names), msg
    else:
        assert _NAMED.search(msg), msg
    event(f"{type(exc).__name__}: " + re.sub(r"-?\d[\d.e+-]*", "#", msg)[:70])


def _layout(arr, layout):
    """The same values as ``arr`` in another memory layout or container."""
    if layout == "C":
        return np.ascontiguousarray(arr)
    if layout == "F":
        return np.asfortranarray(arr)
    if layout == "strided":  # a non-contiguous view
        wide = np.repeat(arr[..., None], 2, axis=-1)
        return wide[..., 0]
    if layout == "readonly":
        out = np.array(arr)
        out.flags.writeable = False
        return out
    if layout == "list":
        return arr.tolist()
    raise AssertionError(layout)


def _as_dtype(arr, dtype):
    """``arr`` converted to a test dtype; ``None`` if the conversion is not meaningful."""
    if dtype == "float64":
        return arr
    if dtype == "float32":
        with np.errstate(over="ignore"):
            return arr.astype(np.float32)
    if dtype == "int64":
        if not np.all(np.isfinite(arr)) or np.max(np.abs(arr), initial=0) >= 2.0**62:
            return None
        return np.round(arr).astype(np.int64)
    if dtype == "bool":
        return arr > 0
    if dtype == "object":
        return arr.astype(object)
    if dtype == "complex":
        return arr.astype(np.complex128)
    raise AssertionError(dtype)


def _as_float(converted):
    """What the converted input means as float64 (what the function must work with)."""
    return np.asarray(np.real(converted), dtype=np.float64)


_DTYPES = st.sampled_from(["float64", "float64", "float32", "int64", "bool", "object", "complex"])
_LAYOUTS = st.sampled_from(["C", "F", "strided", "readonly", "list"])


# --------------------------------------------------------------------------- #
# Regression tests: threads
# --------------------------------------------------------------------------- #

def test_every_propensity_path_caps_the_thread_count(monkeypatch):
    """n_threads=100000 reaches no kernel and no FFT uncapped (fft path included)."""
    seen = []

    def spy(module, name, key):
        original = getattr(module, name)

        def wrapper(*args, **kwargs):
            seen.append((name, kwargs[key] if key in kwargs else args[-1]))
            return original(*args, **kwargs)

        monkeypatch.setattr(module, name, wrapper)

    spy(_propensity, "nw_exact", "n_threads")
    spy(_propensity, "linear_interp", "n_threads")
    for name in ("rfftn", "irfftn", "rfft", "fft"):
        spy(scipy.fft, name, "workers")
    rng = np.random.default_rng(0)
    X = rng.standard_normal((300, 2))
    complete = rng.random(300) < 0.7
    for method in ("exact", "fft", "auto"):
        kernel_propensity(X, complete, method=method, n_threads=100_000)
    Xn = X.copy()
    Xn[~complete, 1] = np.nan
    y = X[:, 0] + rng.standard_normal(300)
    for method in ("exact", "fft"):
        CensoredQuantileRegressor(n_threads=100_000, propensity_method=method).fit(Xn, y)
    names = {name for name, _ in seen}
    assert {"nw_exact", "linear_interp", "rfftn", "irfftn"} <= names
    assert all(1 <= count <= available_cpus() for _, count in seen), seen


def test_huge_thread_request_starts_few_threads(isolated):
    """In a fresh interpreter: the OS thread count stays near the CPU count."""
    proc = isolated(
        """
        import os
        import numpy as np
        from statoptim.quantile import CensoredQuantileRegressor, kernel_propensity
        from statoptim._validation import available_cpus
        rng = np.random.default_rng(0)
        X = rng.standard_normal((6000, 2))
        complete = rng.random(6000) < 0.7
        for method in ("fft", "exact"):
            kernel_propensity(X, complete, method=method, n_threads=100000)
        Xn = X.copy()
        Xn[~complete, 1] = np.nan
        CensoredQuantileRegressor(n_threads=100000, propensity_method="fft").fit(
            Xn, X[:, 0] + rng.standard_normal(6000))
        print("threads", len(os.listdir("/proc/self/task")), available_cpus())
        """
    )
    assert proc.returncode == 0, proc.stderr
    threads, cpus = map(int, proc.stdout.split()[-2:])
    assert threads <= cpus + 8, proc.stdout


# --------------------------------------------------------------------------- #
# Regression tests: magnitudes
# --------------------------------------------------------------------------- #

def _propensity_data(n_samples=200, seed=1):
    rng = np.random.default_rng(seed)
    X = rng.standard_normal((n_samples, 2))
    complete = rng.random(n_samples) < 1 / (1 + np.exp(-2 * X[:, 0]))
    return X, complete


@pytest.mark.parametrize("method", ["exact", "fft"])
def test_propensity_is_scale_equivariant(method):
    """X * 2**k gives bit-identical propensities for k over the whole exponent range
    (the mean and the squares of sd over/underflowed: a constant propensity before)."""
    X, complete = _propensity_data()
    base = kernel_propensity(X, complete, method=method)
    assert np.ptp(base) > 0.5
    for k in (-1000, -600, 600, 1000, 1020):  # X * 2**k stays normal: exact
        assert_array_equal(kernel_propensity(np.ldexp(X, k), complete, method=method), base)
    for scale in (1e300, 1e-300):  # not powers of two: X * scale is rounded
        assert_allclose(kernel_propensity(X * scale, complete, method=method), base,
                        rtol=1e-9, atol=1e-12)


def test_propensity_tiny_bandwidth_raises_instead_of_nan():
    X, complete = _propensity_data()
    with pytest.raises(ValueError, match="bandwidth is too small"):
        kernel_propensity(X, complete, bandwidth=1e-320)


def test_fft_refuses_a_grid_coarser_than_a_bandwidth():
    """A bandwidth far below the spread of X: 'fft' raises (it used to bin on a grid
    of ~1e8 bandwidths with only a warning), 'auto' falls back to the exact sums."""
    X, complete = _propensity_data(6000)
    X[0] = 1e6  # spread of ~1e9 bandwidths
    with pytest.raises(ValueError, match="method='fft' cannot bin these data"):
        kernel_propensity(X, complete, method="fft", bandwidth=1e-3)
    assert_array_equal(kernel_propensity(X, complete, bandwidth=1e-3),
                       kernel_propensity(X, complete, bandwidth=1e-3, method="exact"))


def test_pinball_loss_huge_values_are_finite_and_exact():
    q = 0.3
    yt, yp = np.array([1e308, -1e308]), np.array([-1e308, 1e308])
    # r = +-2e308 overflowed: inf (and NaN with weights) before
    assert pinball_loss(yt, yp, quantile=q) == exact_pinball(yt, yp, q, [1, 1], "mean")
    assert pinball_loss(yt, yp, quantile=q, sample_weight=[1e10, 1.0]) == pytest.approx(
        exact_pinball(yt, yp, q, [1e10, 1], "mean"), rel=4e-16)
    assert pinball_loss(yt, yp, quantile=q, reduce="sum") == math.inf  # true value > max
    # products that underflow but whose mean does not
    tiny = np.full(3, 1e-300)
    expected = exact_pinball(tiny, np.zeros(3), 0.5, tiny, "mean")
    assert expected > 0
    assert_allclose(pinball_loss(tiny, np.zeros(3), sample_weight=tiny), expected, rtol=1e-15)


def test_quantile_fit_never_reports_infinite_coefficients_as_optimal():
    rng = np.random.default_rng(0)
    X = rng.standard_normal((60, 2))
    y = X @ [1.5, -2.0] + rng.standard_normal(60)
    base = QuantileRegressor().fit(X, y)
    # slope ~1e600: inf with status "optimal" before
    with pytest.raises(ValueError, match="coefficient of X column 0 .* overflows"):
        QuantileRegressor().fit(X * 1e-300, y * 1e300)
    with pytest.raises(ValueError, match="coefficient of X column 0 .* underflows"):
        QuantileRegressor().fit(X * 1e300, y * 1e-300)
    with pytest.raises(ValueError, match="coefficient of Z column 1 .* overflows"):
        solve_quantile(np.column_stack([np.ones(60), X * 1e-300]), y * 1e300)
    # representable answers at the edges of the range are exact
    for sx, sy in ((2.0**1000, 1.0), (1.0, 2.0**1000), (2.0**-1000, 2.0**-60)):
        model = QuantileRegressor().fit(X * sx, y * sy)
        assert model.status_ == "optimal"
        assert_allclose(model.coef_, base.coef_ * (sy / sx), rtol=1e-9)
        assert_allclose(model.intercept_, base.intercept_ * sy, rtol=1e-9)


def test_objective_is_inf_only_when_the_true_objective_overflows():
    rng = np.random.default_rng(0)
    X = rng.standard_normal((60, 2))
    y = X @ [1.5, -2.0] + rng.standard_normal(60)
    base = QuantileRegressor().fit(X, y)
    assert base.objective_ * 2.0**1000 < 1e308
    big = QuantileRegressor().fit(X, np.ldexp(y, 1000))  # objective ~ 2e302: finite
    assert_allclose(big.objective_, base.objective_ * 2.0**1000, rtol=1e-9)
    huge = QuantileRegressor().fit(X, np.ldexp(y, 1020))  # objective ~ 3e308: inf
    assert huge.objective_ == math.inf and huge.status_ == "optimal"
    assert_allclose(huge.coef_, base.coef_ * 2.0**1020, rtol=1e-9)


def test_score_of_huge_responses_is_finite():
    """R^2 squared y ~ 1e200 into inf - inf = NaN before."""
    rng = np.random.default_rng(0)
    X = rng.standard_normal((60, 2))
    y = X @ [1.5, -2.0] + rng.standard_normal(60)
    base = QuantileRegressor().fit(X, y)
    model = QuantileRegressor().fit(X, y * 1e200)
    assert_allclose(model.score(X, y * 1e200), base.score(X, y), rtol=1e-9)


# --------------------------------------------------------------------------- #
# Regression tests: the solver on weights of very different magnitudes
# --------------------------------------------------------------------------- #

def test_light_rows_identifying_a_column_are_solved_exactly():
    """Column 1 is nonzero only on a row of weight 3.5 beside rows of weight 1e200: the
    least-squares start was ~1e184 and MM raised 'the weighted design matrix is singular'."""
    Z = np.array([[0.0, 1, 2, -1], [0, -1, 2, -1], [1, 0, -1, 1], [1, 0, 0, 0],
                  [0, 0, 2, 0], [-1, 0, -1, -1], [-1, 0, 1, 1]])
    y = np.array([-0.138, -0.224, 1.509, -0.537, -2.168, 0.244, 0.796])
    w = np.array([3.5, 0.0, 1e200, 1e200, 1e200, 3.5, 1e200])
    sol = solve_quantile(Z, y, w, 0.01)
    assert sol.status == "optimal"
    ref, _, _, (_, k_y, k_w) = lp_reference(Z, y, w, 0.01)
    assert np.ldexp(sol.objective, -k_y - k_w) <= ref + 1e-9


def test_exact_fits_of_zero_rows_do_not_stop_the_solver():
    """More than half the rows fit exactly, some of them rows of zeros: the MM weights
    spanned 1e17 and MM raised 'singular' on a full-rank design."""
    Z = np.array([[-1.0, 0, 0], [1, -1, 1], [0, 0, 0], [-1, 0, 1], [0, 0, 1], [2, 1, -2],
                  [0, 0, 0], [0, 2, 0], [0, 0, -1], [-1, -2, 2]])
    y = np.array([0.0, -1, 0, 0, 0, 1, 0, 1, -1, -1])
    w = np.array([0, 1, 1, 0, 1, 0, 1e-200, 3.5, 3.5, 1e-200])
    sol = solve_quantile(Z, y, w, 0.9)
    assert sol.status == "optimal"
    ref, _, _, (_, k_y, k_w) = lp_reference(Z, y, w, 0.9)
    assert np.ldexp(sol.objective, -k_y - k_w) <= ref + 1e-9


def test_weights_beyond_the_float64_ratio_raise():
    rng = np.random.default_rng(0)
    Z = np.column_stack([np.ones(20), rng.standard_normal(20)])
    w = np.ones(20)
    w[0] = 1e-300
    w[1] = 1e300
    with pytest.raises(ValueError, match="sample_weight spans too many orders"):
        solve_quantile(Z, rng.standard_normal(20), w)


# --------------------------------------------------------------------------- #
# Regression tests: parameters of solve_quantile (none was checked)
# --------------------------------------------------------------------------- #
_Z = np.column_stack([np.ones(30), np.random.default_rng(3).standard_normal((30, 2))])
_y = _Z @ [0.5, 1.0, -1.0] + np.random.default_rng(4).standard_normal(30)

_BAD_SOLVE = {
    "tol-0": ({"tol": 0}, ValueError, r"tol must be a finite number > 0, got 0"),
    "tol-neg": ({"tol": -1.0}, ValueError, r"tol must be a finite number > 0"),
    "tol-nan": ({"tol": np.nan}, ValueError, r"tol must be a finite number"),
    "tol-str": ({"tol": "x"}, ValueError, r"tol must be a finite number"),
    "tol-bool": ({"tol": True}, ValueError, r"tol must be a finite number"),
    "tol-bigint": ({"tol": 10**400}, ValueError, r"tol must be a finite number"),
    "max_iter-0": ({"max_iter": 0}, ValueError, r"max_iter must be an integer >= 1, got 0"),
    "max_iter-float": ({"max_iter": 1.5}, ValueError, r"max_iter must be an integer"),
    "max_iter-bool": ({"max_iter": True}, ValueError, r"max_iter must be an integer"),
    "max_pivots-0": ({"max_pivots": 0}, ValueError, r"max_pivots must be an integer >= 1"),
    "max_pivots-str": ({"max_pivots": "x"}, ValueError, r"max_pivots must be an integer"),
    "preprocess-str": ({"preprocess": "yes"}, ValueError, r"preprocess must be 'auto', True"),
    "preprocess-1": ({"preprocess": 1}, ValueError, r"preprocess must be 'auto', True"),
    "preprocess-None": ({"preprocess": None}, ValueError, r"preprocess must be"),
    "random_state-str": ({"random_state": "x"}, ValueError, r"random_state must be None"),
    "random_state-neg": ({"random_state": -1}, ValueError, r"random_state must be"),
    "random_state-bool": ({"random_state": True}, ValueError, r"random_state must be"),
    "theta0-shape": ({"theta0": [1.0, 2.0]}, ValueError, r"theta0 must have shape \(3,\)"),
    "theta0-nan": ({"theta0": [np.nan, 0, 0]}, ValueError, r"theta0 must be finite"),
    "theta0-complex": ({"theta0": [1j, 0, 0]}, TypeError, r"theta0 must be .*not complex"),
    "theta0-str": ({"theta0": ["a", "b", "c"]}, ValueError, r"theta0 must be None or a 1-D"),
    "quantile-two": ({"quantile": [0.2, 0.5]}, ValueError, r"quantile must be a single"),
    "quantile-1": ({"quantile": 1.0}, ValueError, r"quantile must lie strictly between"),
    "w-complex": ({"sample_weight": np.ones(30) * 1j}, TypeError,
                  r"sample_weight must be .*not complex"),
    "w-sparse": ({"sample_weight": sp.csr_matrix(np.ones((1, 30)))}, TypeError,
                 r"sample_weight must be .*scipy.sparse"),
    "w-bigint": ({"sample_weight": 10**400}, ValueError, r"sample_weight must be a finite"),
    "Z-complex": ({"Z": _Z * (1 + 0j)}, TypeError, r"Z must be .*not complex"),
    "Z-sparse": ({"Z": sp.csr_matrix(_Z)}, TypeError, r"Z must be .*scipy.sparse.*toarray"),
    "Z-objects": ({"Z": np.array([[{}, 1.0, 2.0]] * 30, dtype=object)}, TypeError,
                  r"Z must be .* not a real number"),
    "Z-str": ({"Z": np.array([["a", "b", "c"]] * 30)}, ValueError, r"Z must be a 2-D array"),
    "Z-1d": ({"Z": _Z[:, 1]}, ValueError, r"Z must be 2-D"),
    "Z-empty": ({"Z": _Z[:0], "y": _y[:0]}, ValueError, r"Z must have at least one row"),
    "Z-no-columns": ({"Z": _Z[:, :0]}, ValueError, r"Z must have at least one row and one col"),
    "Z-nan": ({"Z": np.where(_Z > 1.5, np.nan, _Z)}, ValueError, r"Z must be finite"),
    "Z-bigint": ({"Z": (_Z * 3).astype(np.int64) + 2**60}, ValueError,
                 r"Z holds integers beyond 2\*\*53"),
    "Z-rank": ({"Z": np.column_stack([_Z, _Z[:, 1]])}, ValueError, r"Z is rank deficient"),
    "Z-few-rows": ({"Z": _Z[:2], "y": _y[:2]}, ValueError,
                   r"Z must have at least as many rows with positive weight"),
    "y-length": ({"y": _y[:-1]}, ValueError, r"y must have shape \(30,\) to match Z"),
    "y-complex": ({"y": _y * (1 + 0j)}, TypeError, r"y must be .*not complex"),
    "y-inf": ({"y": np.where(_y > 1, np.inf, _y)}, ValueError, r"y must be finite"),
}


@pytest.mark.parametrize("case", list(_BAD_SOLVE))
def test_solve_quantile_checks_every_argument(case):
    kwargs, exc, match = _BAD_SOLVE[case]
    args = {"Z": _Z, "y": _y, **kwargs}
    with pytest.raises(exc, match=match):
        solve_quantile(args.pop("Z"), args.pop("y"), **args)


def test_huge_caps_mean_no_cap():
    """max_iter=10**30 raised OverflowError (Python int too large for C ssize_t)."""
    ref = solve_quantile(_Z, _y)
    for kwargs in ({"max_iter": 10**30}, {"max_pivots": 2**63}):
        assert_allclose(solve_quantile(_Z, _y, **kwargs).coef, ref.coef, rtol=1e-12)
        assert_allclose(QuantileRegressor(**kwargs).fit(_Z[:, 1:], _y).coef_, ref.coef[1:],
                        rtol=1e-9)


def test_warm_start_that_overflows_falls_back():
    """theta0 = 1e308 overflowed Z @ theta0 (RuntimeWarning, then an answer by luck)."""
    sol = solve_quantile(_Z, _y, theta0=[1e308, -1e308, 1e308])
    assert sol.status == "optimal"
    assert_allclose(sol.coef, solve_quantile(_Z, _y).coef, rtol=1e-12)


@pytest.mark.parametrize("name, value", [("Z", None), ("y", None), ("sample_weight", None)])
def test_complex_input_raises_instead_of_dropping_the_imaginary_part(name, value):
    args = {"Z": _Z, "y": _y, "sample_weight": np.ones(30)}
    args[name] = np.asarray(args[name]) + 1e-3j
    with pytest.raises(TypeError, match=rf"{name} must be .*not complex"):
        solve_quantile(args["Z"], args["y"], args["sample_weight"])


def test_complex_and_sparse_input_of_the_other_entry_points():
    rng = np.random.default_rng(0)
    t = rng.exponential(size=20)
    d = rng.random(20) < 0.7
    for f in (kaplan_meier, censoring_survival, ipcw_weights):
        with pytest.raises(TypeError, match="time must be .*not complex"):
            f(t + 0j, d)
        with pytest.raises(TypeError, match="time must be .*scipy.sparse"):
            f(sp.csr_matrix(t), d)
        with pytest.raises(ValueError, match=r"time holds integers beyond 2\*\*53"):
            f(np.array([2**60, 2**60 + 1] + [1] * 18), d)  # would merge into a tie
    X = rng.standard_normal((20, 2))
    with pytest.raises(TypeError, match="X must be .*not complex"):
        kernel_propensity(X + 0j, d)
    with pytest.raises(TypeError, match="X must be .*scipy.sparse"):
        kernel_propensity(sp.csr_matrix(X), d)
    with pytest.raises(TypeError, match="bandwidth must be .*not complex"):
        kernel_propensity(X, d, bandwidth=np.complex128(0.5))
    with pytest.raises(ValueError, match="grid_spacing must be a number in"):
        kernel_propensity(X, d, grid_spacing=10**400)
    for f in (kaplan_meier, censoring_survival, ipcw_weights):  # 0/1 + 0j was cast
        with pytest.raises(TypeError, match="event must be .*complex"):
            f(t, d + 0j)
        with pytest.raises(TypeError, match="event must be .*scipy.sparse"):
            f(t, sp.csr_matrix(d.astype(float)))
    with pytest.raises(TypeError, match="complete must be .*complex"):
        kernel_propensity(X, d + 0j)
    for kwargs in ({"y_true": t + 0j}, {"y_pred": t + 0j}, {"sample_weight": t + 0j}):
        args = {"y_true": t, "y_pred": t, **kwargs}
        with pytest.raises(TypeError, match=f"{next(iter(kwargs))} must be .*not complex"):
            pinball_loss(args.pop("y_true"), args.pop("y_pred"), **args)


# --------------------------------------------------------------------------- #
# Regression tests: CensoredQuantileRegressor
# --------------------------------------------------------------------------- #

def _censored_data(n_samples=300, seed=0):
    rng = np.random.default_rng(seed)
    X = rng.standard_normal((n_samples, 2))
    t = 1 + X @ [1.0, -0.5] + rng.standard_normal(n_samples)
    c = rng.normal(2.0, 2.0, n_samples)
    y, event = np.minimum(t, c), (t <= c).astype(int)
    X[rng.random(n_samples) < 0.3, 1] = np.nan
    return X, y, event


def test_censored_score_works_on_missing_covariates():
    """score raised on the NaN covariates fit and predict accept."""
    X, y, event = _censored_data()
    model = CensoredQuantileRegressor().fit(X, y, event=event)
    complete = ~np.isnan(X).any(axis=1)
    assert_allclose(model.score(X, y), r2_score(y[complete], model.predict(X[complete])),
                    rtol=1e-12)
    w = np.random.default_rng(1).uniform(0.5, 2, y.size)
    assert_allclose(model.score(X, y, sample_weight=w),
                    r2_score(y[complete], model.predict(X[complete]), sample_weight=w[complete]),
                    rtol=1e-12)
    with pytest.raises(ValueError, match="X has no complete row"):
        model.score(np.full_like(X, np.nan), y)
    with pytest.raises(ValueError, match=r"y must have shape \(300,\)"):
        model.score(X, y[:-1])


def test_grid_search_scores_every_candidate():
    """With NaN covariates GridSearchCV scored every candidate NaN and picked the first."""
    X, y, event = _censored_data(400)
    search = GridSearchCV(CensoredQuantileRegressor(), {"quantile": [0.1, 0.5, 0.9]}, cv=3,
                          error_score="raise")
    search.fit(X, y, event=event)
    scores = search.cv_results_["mean_test_score"]
    assert np.all(np.isfinite(scores))
    assert search.best_params_["quantile"] == 0.5  # R^2 favours the median here


@pytest.mark.parametrize("dtype", [np.float32, np.int64, bool])
def test_censored_accepts_every_numeric_y(dtype):
    """float32, int or bool y hit 'Buffer dtype mismatch' in the Kaplan-Meier kernel."""
    X, y, event = _censored_data(200)
    y_cast = (y > 1) if dtype is bool else (y * 4).astype(dtype)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)  # ties at the top for bool y
        model = CensoredQuantileRegressor().fit(X, y_cast, event=event)
        ref = CensoredQuantileRegressor().fit(X, np.asarray(y_cast, dtype=np.float64),
                                              event=event)
    assert_array_equal(model.coef_, ref.coef_)


def test_censored_checks_parameters_on_every_path():
    X, y, event = _censored_data(100)
    full = np.nan_to_num(X)  # no missing covariate: the propensity is never computed
    cases = [
        ({"leave_one_out": "yes"}, "leave_one_out must be True or False"),
        ({"bandwidth": -1.0}, "bandwidth must be finite and > 0"),
        ({"propensity_method": "binned"}, "propensity_method must be one of"),
        ({"fit_intercept": 1}, "fit_intercept must be True or False"),
        ({"tol": 10**400}, "tol must be a finite number"),
        ({"max_iter": 0}, "max_iter must be an integer >= 1"),
        ({"weight_cap": 10**400}, "weight_cap must be None or a number"),
        ({"g_min": np.inf}, "g_min must be None or a number"),
        ({"propensity_columns": [0, 0]}, "propensity_columns must not repeat"),
    ]
    for kwargs, match in cases:
        with pytest.raises(ValueError, match=match):
            CensoredQuantileRegressor(**kwargs).fit(full, y, event=event)
    with pytest.raises(TypeError, match="X must be a non-empty 2-D array of numbers"):
        CensoredQuantileRegressor().fit(sp.csr_matrix(full), y, event=event)
    with pytest.raises(ValueError, match="X must be a non-empty 2-D array of numbers"):
        CensoredQuantileRegressor().fit(full[:, 0], y, event=event)


def test_censored_tiny_weight_cap_gives_a_finite_n_eff():
    """weight_cap=1e-300: n_eff was (sum w)^2 / sum w^2 = 0 / 0 (RuntimeWarning, NaN)."""
    X, y, event = _censored_data(200)
    model = CensoredQuantileRegressor(weight_cap=1e-300).fit(X, y, event=event)
    use = model.weights_ > 0
    assert model.n_eff_ == pytest.approx(use.sum())
    assert model.max_weight_share_ == pytest.approx(1 / use.sum())


def test_censored_no_complete_uncensored_row_raises():
    """Complete rows all censored: every weight 0, then 0 / 0 in stabilize and n_eff, an
    IndexError from np.quantile (found by the fuzz test below)."""
    X = np.array([[0.0, 1.0], [1.0, np.nan], [2.0, 0.5], [3.0, np.nan]])
    y = np.array([1.0, 2.0, 3.0, 4.0])
    event = np.array([0, 1, 0, 1])
    for kwargs in ({}, {"stabilize": True}, {"weight_cap_quantile": 0.9}):
        with pytest.raises(ValueError, match="no row of X is both complete .* and uncensored"):
            CensoredQuantileRegressor(**kwargs).fit(X, y, event=event)


def test_censored_empty_propensity_columns_use_the_response_only():
    X, y, event = _censored_data(200)
    model = CensoredQuantileRegressor(propensity_columns=[]).fit(X, y, event=event)
    complete = ~np.isnan(X).any(axis=1)
    assert_array_equal(model.propensity_, kernel_propensity(y, complete))


# --------------------------------------------------------------------------- #
# Regression tests: kernels check their arguments (memory safety, in a subprocess)
# --------------------------------------------------------------------------- #

def test_kernels_refuse_bad_shapes_and_indices(isolated):
    proc = isolated(
        """
        import numpy as np
        from statoptim.quantile import _band, _km, _mm, _propensity, _simplex
        n, p = 20, 3
        Z = np.ones((n, p)); y = np.zeros(n); w = np.ones(n)
        calls = {
            "simplex basis": lambda: _simplex.simplex_finish(
                Z, y, w, 0.5, np.array([0, 1, 10**6], dtype=np.intp), np.zeros(p), 10,
                np.zeros(n), np.zeros(4 * n), np.zeros(n, dtype=np.intp),
                np.zeros(n, dtype=np.int8)),
            "simplex y": lambda: _simplex.simplex_finish(
                Z, y[:5], w, 0.5, np.arange(p, dtype=np.intp), np.zeros(p), 10,
                np.zeros(n), np.zeros(4 * n), np.zeros(n, dtype=np.intp),
                np.zeros(n, dtype=np.int8)),
            "mm theta": lambda: _mm.mm_quantile_fit(
                Z, y, w, 0.5, np.zeros(1), np.array([0.1]), 1e-5, 10, np.zeros(n),
                np.zeros(2 * n), np.zeros(0)),
            "choose order": lambda: _simplex.choose_basis(
                Z, np.array([10**6], dtype=np.intp), np.zeros(p, dtype=np.intp)),
            "globs": lambda: _band.glob_offenders(
                Z, y, w, 0.5, np.zeros(p), np.zeros(n, dtype=np.int8),
                np.zeros(1, dtype=np.intp)),
            "km order": lambda: _km.km_sorted_pass(
                y, np.ones(n, dtype=np.uint8), np.full(n, 10**6, dtype=np.intp),
                *[np.zeros(n) for _ in range(3)], *[np.zeros(n, dtype=np.int64)] * 3,
                np.zeros(n)),
            "nw complete": lambda: _propensity.nw_exact(
                np.zeros((2, n)), np.ones(3), False, np.zeros((1, 2, n)),
                np.zeros((1, 4096)), 1),
            "bin counts": lambda: _propensity.linear_bin(
                np.zeros((n, 1)), np.ones(n), np.zeros(1), np.ones(1),
                np.array([50], dtype=np.intp), np.zeros(3), np.zeros(3)),
        }
        for name, call in calls.items():
            try:
                call()
            except ValueError:
                print("refused", name)
        """
    )
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.count("refused") == 8, proc.stdout


# --------------------------------------------------------------------------- #
# Fuzz: solve_quantile and QuantileRegressor against HiGHS
# --------------------------------------------------------------------------- #

@st.composite
def design(draw, max_rows=24, max_cols=4):
    """(Z, y, w, note) with random shape, magnitudes, ties, constant columns, NaN/inf."""
    n = draw(st.integers(1, max_rows))
    p = draw(st.integers(1, max_cols))
    rng = np.random.default_rng(draw(st.integers(0, 2**32 - 1)))
    Z = rng.standard_normal((n, p))
    y = rng.standard_normal(n)
    if draw(st.booleans()):  # ties
        Z, y = np.round(Z), np.round(y)
    if draw(st.integers(0, 3)) == 0:  # a constant (or zero) column
        Z[:, draw(st.integers(0, p - 1))] = draw(st.sampled_from([1.0, -3.0, 0.0]))
    kz = draw(st.lists(st.integers(-1000, 1000), min_size=p, max_size=p))
    if draw(st.booleans()):
        kz = [0] * p
    Z = np.ldexp(Z, np.array(kz))
    y = np.ldexp(y, draw(st.one_of(st.just(0), st.integers(-1000, 1000))))
    w_kind = draw(st.sampled_from(["none", "uniform", "zeros", "spread", "scalar"]))
    if w_kind == "none":
        w = None
    elif w_kind == "uniform":
        w = rng.uniform(0.1, 3.0, n)
    elif w_kind == "zeros":
        w = rng.choice([0.0, 1.0, 2.5], n)
    elif w_kind == "spread":
        w = np.ldexp(1.0, rng.integers(-300, 300, n))
    else:
        w = draw(st.sampled_from([2.0, 0.5, 0.0]))
    bad = draw(st.sampled_from(["none"] * 6 + ["Z-nan", "Z-inf", "y-nan", "y-inf", "w-nan"]))
    if bad != "none":
        target = {"Z": Z, "y": y, "w": w}[bad[0] if bad[0] != "w" else "w"]
        if isinstance(target, np.ndarray):
            target.flat[draw(st.integers(0, target.size - 1))] = (
                np.nan if bad.endswith("nan") else -np.inf)
    return Z, y, w


def _check_quantile_solution(coef, objective, status, Z, y, w, q):
    """coef finite; objective = the objective at coef; no worse than HiGHS."""
    assert np.all(np.isfinite(coef)), coef
    w = np.ones(y.shape[0]) if w is None else np.broadcast_to(np.asarray(w, float), y.shape)
    lp, _, (Zs, ys, ws), (kz, ky, kw) = lp_reference(Z, y, w, q)
    theta_s = np.ldexp(coef, kz - ky)
    ours = float(ws @ _check_loss(ys - Zs @ theta_s, q))
    note(f"ours={ours!r} lp={lp!r} status={status}")
    if status == "optimal":
        assert ours <= lp + 1e-9 * (1.0 + lp)
    else:
        assert ours >= lp - 1e-7 * (1.0 + lp)
    with np.errstate(over="ignore", under="ignore"):  # the objective, unscaled
        expected = np.ldexp(ours, ky + kw)
        slack = np.ldexp(1e-12 * len(ys), ky + kw)  # rounding of the recomputation
    if math.isinf(expected):
        assert objective > 1e307
    else:  # (below the normal range only the smallness of the objective is meaningful)
        assert abs(objective - expected) <= 1e-7 * expected + max(slack, 1e-280)


def _plausible_solver_error(exc, Z, y, w, q):
    """Named ValueErrors about the data must be true of the data."""
    msg = str(exc)
    w = np.ones(y.shape[0]) if w is None else np.broadcast_to(np.asarray(w, float), y.shape)
    keep = w > 0
    if "rank deficient" in msg or "at least as many rows" in msg or "at least as many sam" in msg:
        Zk = Z[keep]
        if Zk.shape[0] < Zk.shape[1]:
            return
        Zn = Zk / np.where(np.abs(Zk).max(0) > 0, np.abs(Zk).max(0), 1.0)
        Zn = Zn * np.sqrt(w[keep] / w[keep].max())[:, None]
        assert np.linalg.matrix_rank(Zn, tol=1e-5 * np.linalg.norm(Zn, 2)) < Zn.shape[1], msg
    elif "spans too many orders" in msg:
        assert w.max() / w[keep].min() > 2.0**1000, msg
    elif "overflows" in msg or "underflows" in msg:
        # some quantile's LP solution (HiGHS) also has a coefficient near the range's ends
        # (with several optimal vertices, HiGHS's may be representable and ours not)
        plausible = False
        for qk in np.atleast_1d(q):
            _, theta, _, (kz, ky, _) = lp_reference(Z, y, w, float(qk))
            exponents = np.frexp(theta)[1] + ky - kz
            plausible |= bool(np.any((np.abs(theta) > 1e-12)
                                     & ((exponents > 1000) | (exponents < -1000))))
        assert plausible, msg


@given(data=design(), q=st.one_of(st.sampled_from([0.5, 0.1, 0.9, 1e-9, 1 - 1e-9]),
                                  st.floats(0.01, 0.99)),
       dtype=_DTYPES, layout=_LAYOUTS, max_pivots=st.sampled_from([None, None, 1, 5]),
       max_iter=st.sampled_from([1000, 1000, 3]), preprocess=st.sampled_from(["auto", True]))
def test_fuzz_solve_quantile(data, q, dtype, layout, max_pivots, max_iter, preprocess):
    Z, y, w = data
    converted = _as_dtype(Z, dtype)
    assume(converted is not None)
    Z_in = _layout(converted, layout)
    Zf = _as_float(converted)
    try:
        sol = solve_quantile(Z_in, y, w, q, max_pivots=max_pivots, max_iter=max_iter,
                             preprocess=preprocess)
    except TypeError as exc:
        assert dtype == "complex"
        assert_named(exc, "Z")
        return
    except ValueError as exc:
        assert dtype != "complex"
        assert_named(exc, "Z", "y", "sample_weight")
        finite = np.all(np.isfinite(Zf)) and np.all(np.isfinite(y)) and (
            w is None or np.all(np.isfinite(w)))
        if finite:
            _plausible_solver_error(exc, Zf, y, w, q)
        return
    assert dtype != "complex"
    assert np.all(np.isfinite(Zf)) and np.all(np.isfinite(y))
    _check_quantile_solution(sol.coef, sol.objective, sol.status, Zf, y, w, q)


@given(data=design(max_cols=3), quantile=st.sampled_from([0.5, 0.25, [0.2, 0.8]]),
       fit_intercept=st.booleans(), dtype=_DTYPES, layout=_LAYOUTS)
def test_fuzz_quantile_regressor(data, quantile, fit_intercept, dtype, layout):
    X, y, w = data
    converted = _as_dtype(X, dtype)
    assume(converted is not None)
    X_in = _layout(converted, layout)
    Xf = _as_float(converted)
    model = QuantileRegressor(quantile=quantile, fit_intercept=fit_intercept)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", ConvergenceWarning)
            model.fit(X_in, y, sample_weight=w)
    except (TypeError, ValueError) as exc:
        assert_named(exc, "X", "y", "sample_weight", "intercept")
        if isinstance(exc, ValueError) and dtype != "complex" and np.all(np.isfinite(Xf)) \
                and np.all(np.isfinite(y)) and (w is None or np.all(np.isfinite(w))):
            Z = np.column_stack([np.ones(len(y)), Xf]) if fit_intercept else Xf
            _plausible_solver_error(exc, Z, y, w, quantile)
        else:
            assert dtype == "complex" or not (
                np.all(np.isfinite(Xf)) and np.all(np.isfinite(y))
                and (w is None or np.all(np.isfinite(w))))
        return
    assert dtype != "complex"
    Z = np.column_stack([np.ones(len(y)), Xf]) if fit_intercept else Xf
    qs = np.atleast_1d(quantile)
    coefs = np.atleast_2d(model.coef_)
    intercepts = np.atleast_1d(model.intercept_)
    for k, q in enumerate(qs):
        coef = np.r_[intercepts[k], coefs[k]] if fit_intercept else coefs[k]
        _check_quantile_solution(coef, np.atleast_1d(model.objective_)[k],
                                 np.atleast_1d(model.status_)[k] if len(qs) > 1
                                 else model.status_, Z, y, w, q)
    with np.errstate(over="ignore", invalid="ignore"):
        pred = model.predict(X_in)
    try:
        with warnings.catch_warnings(record=True) as record:
            warnings.simplefilter("always")
            score = model.score(X_in, y, sample_weight=w)
    except ValueError as exc:  # predictions beyond the float64 range
        assert not np.all(np.isfinite(pred))
        assert_named(exc, "X")
        return
    if len(y) < 2:  # scikit-learn's convention: R^2 undefined, a warning and NaN
        assert any(issubclass(r.category, UndefinedMetricWarning) for r in record)
    else:
        assert not record and np.isfinite(score)


# --------------------------------------------------------------------------- #
# Fuzz: pinball_loss against exact rational arithmetic
# --------------------------------------------------------------------------- #
_ANY_FLOAT = st.floats(allow_nan=False, allow_infinity=False, width=64)


@given(n=st.integers(1, 8), q=st.one_of(st.sampled_from([0.5, 0.3, [0.1, 0.9]]),
                                       st.floats(1e-12, 1 - 1e-12)),
       data=st.data(), weighted=st.booleans(), reduce=st.sampled_from(["mean", "sum"]),
       special=st.sampled_from([None] * 5 + ["nan", "inf", "complex", "sparse"]))
def test_fuzz_pinball_loss(n, q, data, weighted, reduce, special):
    n_q = np.atleast_1d(q).size
    y_true = np.array(data.draw(st.lists(_ANY_FLOAT, min_size=n, max_size=n)))
    y_pred = np.array(data.draw(st.lists(_ANY_FLOAT, min_size=n * n_q, max_size=n * n_q)))
    y_pred = y_pred.reshape(n, n_q) if n_q > 1 else y_pred
    w = None
    if weighted:
        w = np.array(data.draw(st.lists(st.floats(0, 1e308), min_size=n, max_size=n)))
        assume(np.any(w > 0))
    args = {"y_true": y_true, "y_pred": y_pred, "sample_weight": w}
    if special:
        name = data.draw(st.sampled_from(["y_true", "y_pred"] + (["sample_weight"] * weighted)))
        arr = np.array(args[name], dtype=np.float64)
        if special in ("nan", "inf"):
            arr.flat[0] = np.nan if special == "nan" else np.inf
            args[name] = arr
        else:
            args[name] = arr + 0j if special == "complex" else sp.csr_matrix(arr)
        exc_type = ValueError if special in ("nan", "inf") else TypeError
        with pytest.raises(exc_type) as info:
            pinball_loss(args["y_true"], args["y_pred"], quantile=q, sample_weight=args[
                "sample_weight"], reduce=reduce)
        assert_named(info.value, name)
        return
    result = np.atleast_1d(pinball_loss(y_true, y_pred, quantile=q, sample_weight=w,
                                        reduce=reduce))
    weights = np.ones(n) if w is None else w
    for k, qk in enumerate(np.atleast_1d(q)):
        exact = exact_pinball(y_true, y_pred.reshape(n, n_q)[:, k], float(qk), weights, reduce)
        note(f"quantile {qk}: got {result[k]!r}, exact {exact!r}")
        if math.isinf(exact):
            assert result[k] == math.inf
        else:
            assert result[k] == pytest.approx(exact, rel=1e-12, abs=2.0**-1070)


# --------------------------------------------------------------------------- #
# Fuzz: Kaplan-Meier, censoring survival, IPCW weights
# --------------------------------------------------------------------------- #

@given(n=st.integers(1, 30), seed=st.integers(0, 2**32 - 1), ties=st.booleans(),
       exponent=st.integers(-1070, 1020), dtype=st.sampled_from(["float64", "float32",
                                                                 "int64", "object", "bool"]),
       event_kind=st.sampled_from(["int", "bool", "float", "none", "bad", "complex", "sparse"]),
       layout=st.sampled_from(["C", "strided", "readonly", "list"]),
       special=st.sampled_from([None] * 6 + ["nan", "inf", "complex", "2d", "empty"]))
def test_fuzz_kaplan_meier(n, seed, ties, exponent, dtype, event_kind, layout, special):
    rng = np.random.default_rng(seed)
    time = rng.exponential(size=n) * (4 if ties else 1)
    if ties:
        time = np.round(time)
    time = np.ldexp(time, exponent) if dtype in ("float64", "object") else time * 8
    converted = _as_dtype(time, dtype)
    assume(converted is not None)
    event_ = rng.random(n) < 0.7
    ev = {"int": event_.astype(int), "bool": event_, "float": event_.astype(float),
          "none": None, "bad": np.where(event_, 2, 0), "complex": event_ + 0j,
          "sparse": sp.csr_matrix(event_.astype(float))}[event_kind]
    t_in = _layout(converted, layout)
    if special == "nan" or special == "inf":
        t_in = np.array(converted, dtype=np.float64)
        t_in[rng.integers(n)] = np.nan if special == "nan" else -np.inf
    elif special == "complex":
        t_in = np.asarray(converted, dtype=np.float64) + 0j
    elif special == "2d":
        t_in = np.asarray(converted, dtype=np.float64)[:, None]
    elif special == "empty":
        t_in, ev = np.empty(0), None if ev is None else np.asarray(event_)[:0]
    expect_error = special is not None or event_kind in ("complex", "sparse") or (
        event_kind == "bad" and np.any(event_))
    for f in (kaplan_meier, censoring_survival, ipcw_weights):
        try:
            out = f(t_in, ev) if (f is kaplan_meier or ev is not None) else f(t_in, np.ones(n))
        except (TypeError, ValueError) as exc:
            assert expect_error, str(exc)
            assert_named(exc, "time", "event")
            continue
        assert not expect_error
        tf = _as_float(converted)
        evf = np.ones(n) if ev is None else np.asarray(ev, dtype=np.float64)
        s, surv, risk, fail, cens, g_left = km_reference(tf, evf)
        if f is kaplan_meier:
            assert_array_equal(out.time, s)
            assert_allclose(out.survival, surv, rtol=1e-12, atol=1e-300)
            assert_array_equal(out.n_at_risk, risk)
            assert_array_equal(out.n_events, fail)
            assert_array_equal(out.n_censored, cens)
        elif f is censoring_survival:
            assert_allclose(out, g_left, rtol=1e-12)
            assert np.all(out > 0)
        else:
            assert_allclose(out, np.where(evf > 0, 1.0 / g_left, 0.0), rtol=1e-12)


# --------------------------------------------------------------------------- #
# Fuzz: kernel propensity
# --------------------------------------------------------------------------- #

@given(n=st.integers(1, 40), d=st.integers(1, 3), seed=st.integers(0, 2**32 - 1),
       exponents=st.lists(st.integers(-1060, 1020), min_size=3, max_size=3),
       ties=st.booleans(), constant=st.booleans(),
       bandwidth=st.one_of(st.sampled_from(["scott", "silverman", 1e-320, 1e-200]),
                           st.floats(0.05, 50.0)),
       method=st.sampled_from(["exact", "fft", "auto"]), leave_one_out=st.booleans(),
       dtype=st.sampled_from(["float64", "float32", "int64", "object"]),
       layout=_LAYOUTS, n_threads=st.sampled_from([None, 1, 2, 100_000]),
       special=st.sampled_from([None] * 8 + ["nan", "complete-nan", "complete-2",
                                             "complete-complex"]))
def test_fuzz_kernel_propensity(n, d, seed, exponents, ties, constant, bandwidth, method,
                                leave_one_out, dtype, layout, n_threads, special):
    rng = np.random.default_rng(seed)
    X = rng.standard_normal((n, d)) * 3
    if ties:
        X = np.round(X)
    if constant:
        X[:, 0] = 7.0
    if dtype in ("float64", "object"):
        X = np.ldexp(X, np.array(exponents[:d]))
    converted = _as_dtype(X, dtype)
    assume(converted is not None)
    complete = (rng.random(n) < 0.6).astype(float)
    X_in = _layout(converted, layout)
    if special == "nan":
        X_in = np.array(converted, dtype=np.float64)
        X_in[rng.integers(n), rng.integers(d)] = np.nan
    elif special == "complete-nan":
        complete[rng.integers(n)] = np.nan
    elif special == "complete-2":
        complete[rng.integers(n)] = 2
    Xf = _as_float(converted)
    ref = None
    if np.all(np.isfinite(Xf)) and np.all(np.isfinite(complete)):
        h = bandwidth
        if isinstance(bandwidth, str):
            base = n ** (-1.0 / (d + 4))
            h = base if bandwidth == "scott" else (4.0 / (d + 2)) ** (1.0 / (d + 4)) * base
        ref = nw_reference(Xf, complete, h, leave_one_out)
    if special == "complete-complex":
        complete = complete + 0j
    kwargs = {"bandwidth": bandwidth, "method": method, "leave_one_out": leave_one_out,
              "n_threads": n_threads}
    try:
        with warnings.catch_warnings(record=True) as record:
            warnings.simplefilter("always")
            pi = kernel_propensity(X_in, complete, **kwargs)
    except (TypeError, ValueError) as exc:
        assert_named(exc, "X", "complete", "bandwidth", "method")
        assert isinstance(exc, ValueError) or special == "complete-complex"
        msg = str(exc)
        if special is None:
            if "leave_one_out" in msg:
                # exact: sums below e^-708 are 0; fft: binned sums below 1e-12 n are 0
                floor = 1e-3 if method == "fft" else 1e-250
                assert leave_one_out and ref is not None and np.min(ref[1]) < floor, msg
            elif "method='fft'" in msg:
                assert method == "fft"
            else:
                assert "bandwidth is too small" in msg and ref is None, msg
        return
    assert special is None
    assert pi.shape == (n,) and np.all((pi >= 0) & (pi <= 1))
    assert ref is not None
    numer, denom = ref
    ok = denom > 1e-250  # the kernel's exp flushes below e^-708 to 0
    expected = numer[ok] / denom[ok]
    coarsened = any("grid_spacing" in str(r.message) for r in record)
    used_fft = method == "fft" or (method == "auto" and n > 5000)
    if not used_fft:
        assert_allclose(pi[ok], expected, rtol=1e-9, atol=1e-12)
    elif not coarsened:  # the stated bound, where a row has a kernel mass of 1/2 or more
        solid = denom[ok] >= 0.5
        assert np.all(np.abs(pi[ok] - expected)[solid] <= 0.25 * 0.1**2 + 1e-9)


# --------------------------------------------------------------------------- #
# Fuzz: CensoredQuantileRegressor
# --------------------------------------------------------------------------- #

@given(n=st.integers(2, 40), p=st.integers(1, 3), seed=st.integers(0, 2**32 - 1),
       missing_rate=st.sampled_from([0.0, 0.2, 0.5, 1.0]),
       censor_rate=st.sampled_from([0.0, 0.3, 0.7, 1.0]),
       y_exponent=st.sampled_from([0, 0, -1000, 1000]),
       x_exponent=st.sampled_from([0, 0, -500, 500]),
       quantile=st.sampled_from([0.5, 0.3, [0.25, 0.75]]),
       y_dtype=st.sampled_from(["float64", "float32", "object"]),
       layout=st.sampled_from(["C", "F", "readonly", "strided"]),
       options=st.fixed_dictionaries({}, optional={
           "stabilize": st.booleans(), "weight_cap_quantile": st.sampled_from([0.9, 1.0]),
           "pi_min": st.sampled_from([0.05, 1.0]), "leave_one_out": st.booleans(),
           "g_min": st.sampled_from([0.1, 1e-300])}))
def test_fuzz_censored_regressor(n, p, seed, missing_rate, censor_rate, y_exponent,
                                 x_exponent, quantile, y_dtype, layout, options):
    rng = np.random.default_rng(seed)
    X = rng.standard_normal((n, p))
    t = X @ rng.uniform(-2, 2, p) + rng.standard_normal(n)
    event_ = (rng.random(n) >= censor_rate).astype(int)
    y = np.ldexp(np.where(event_ == 1, t, t - rng.exponential(size=n)), y_exponent)
    X = np.ldexp(X, x_exponent)
    X[rng.random((n, p)) < missing_rate * np.r_[0.0, np.ones(p - 1)]] = np.nan
    y_in = _as_dtype(y, y_dtype)
    assume(y_in is not None)
    yf = _as_float(y_in)
    X_in = _layout(X, layout)
    model = CensoredQuantileRegressor(quantile=quantile, **options)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", UserWarning)  # extreme weights, fixed cut
            warnings.simplefilter("ignore", ConvergenceWarning)
            model.fit(X_in, y_in, event=event_)
    except ValueError as exc:
        assert_named(exc, "X", "y", "event", "bandwidth", "intercept")
        return
    complete = ~np.isnan(X).any(axis=1)
    use = complete & (event_ == 1)
    assert np.all(np.isfinite(model.weights_)) and np.all(model.weights_[~use] == 0)
    assert np.isfinite(model.n_eff_) and 0 < model.max_weight_share_ <= 1
    if not options:  # the weights from the references: D delta / (G(Y-) pi)
        g_left = km_reference(yf, event_.astype(float))[-1] if censor_rate else np.ones(n)
        if complete.all():
            pi = np.ones(n)
        else:
            always = np.column_stack([yf, X[:, ~np.isnan(X).any(axis=0)]])
            h = n ** (-1.0 / (always.shape[1] + 4))
            numer, denom = nw_reference(always, complete.astype(float), h)
            pi = numer / denom
        assert_allclose(model.weights_[use], 1.0 / (g_left[use] * pi[use]), rtol=1e-9)
    Z = np.column_stack([np.ones(use.sum()), X[use]])
    qs = np.atleast_1d(quantile)
    for k, q in enumerate(qs):
        coef = np.r_[np.atleast_1d(model.intercept_)[k], np.atleast_2d(model.coef_)[k]]
        status = model.status_[k] if len(qs) > 1 else model.status_
        _check_quantile_solution(coef, np.atleast_1d(model.objective_)[k], status, Z,
                                 yf[use], model.weights_[use], q)
    score = model.score(X_in, y_in)
    pred = X[complete] @ np.atleast_2d(model.coef_).T + np.atleast_1d(model.intercept_)
    k = int(max(_exp2(yf[complete]), _exp2(pred)))
    expected = np.mean([r2_score(np.ldexp(yf[complete], -k), np.ldexp(col, -k))
                        for col in pred.T]) if complete.sum() >= 2 else None
    if expected is not None:
        assert score == pytest.approx(expected, rel=1e-9, abs=1e-12)
    assert isinstance(score, float)



# --------------------------------------------------------------------------- #
# Fuzz: every parameter of every entry point
# --------------------------------------------------------------------------- #
_ANY_VALUE = st.one_of(
    st.none(), st.booleans(), st.integers(-3, 3), st.integers(-10**30, 10**30),
    st.just(10**400), st.floats(), st.floats(0, 1), st.text(max_size=6),
    st.sampled_from(["auto", "exact", "fft", "scott", "silverman", "mean", "sum"]),
    st.lists(st.floats(0, 1), max_size=3), st.complex_numbers(max_magnitude=10),
    st.just(np.float32(0.5)), st.just(np.int64(2)), st.just(np.bool_(True)),
    st.just(np.array([0.5, 0.5])),
)
_PARAMETERS = {
    "solve_quantile": ["quantile", "tol", "max_iter", "max_pivots", "preprocess",
                       "random_state", "theta0", "sample_weight"],
    "QuantileRegressor": ["quantile", "fit_intercept", "tol", "max_iter", "max_pivots",
                          "preprocess"],
    "CensoredQuantileRegressor": [
        "quantile", "fit_intercept", "bandwidth", "propensity_method", "leave_one_out",
        "propensity_columns", "weight_cap", "weight_cap_quantile", "g_min", "pi_min",
        "stabilize", "tol", "max_iter", "max_pivots", "preprocess", "n_threads"],
    "pinball_loss": ["quantile", "reduce", "sample_weight"],
    "kernel_propensity": ["bandwidth", "method", "leave_one_out", "grid_spacing", "n_threads"],
}


def _call(entry, name, value):
    rng = np.random.default_rng(5)
    X = rng.standard_normal((40, 2))
    y = X @ [1.0, -1.0] + rng.standard_normal(40)
    kwargs = {name: value}
    if entry == "solve_quantile":
        sol = solve_quantile(np.column_stack([np.ones(40), X]), y, **kwargs)
        return np.r_[sol.coef, sol.objective]
    if entry == "QuantileRegressor":
        model = QuantileRegressor(**kwargs).fit(X, y)
        return np.r_[np.ravel(model.coef_), np.ravel(model.objective_)]
    if entry == "CensoredQuantileRegressor":
        Xn = X.copy()
        Xn[rng.random(40) < 0.3, 1] = np.nan
        model = CensoredQuantileRegressor(**kwargs).fit(Xn, y, event=rng.random(40) < 0.8)
        return np.r_[np.ravel(model.coef_), model.weights_, model.score(Xn, y)]
    if entry == "pinball_loss":
        return np.atleast_1d(pinball_loss(y, np.zeros(40), **kwargs))
    return kernel_propensity(X, rng.random(40) < 0.6, **kwargs)


@given(entry=st.sampled_from(sorted(_PARAMETERS)), data=st.data(), value=_ANY_VALUE)
def test_fuzz_parameters(entry, data, value):
    name = data.draw(st.sampled_from(_PARAMETERS[entry]))
    note(f"{entry}({name}={value!r})")
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", ConvergenceWarning)  # max_iter=1 and the like
            warnings.simplefilter("ignore", UserWarning)  # extreme weights, coarse grids
            out = _call(entry, name, value)
    except (TypeError, ValueError) as exc:
        if name == "sample_weight" and entry == "pinball_loss":
            assert_named(exc, "sample_weight", "y_true")
        else:
            assert_named(exc, name, "X", "y", "Z")
        return
    event(f"accepted: {entry}({name}={type(value).__name__})")
    assert np.all(np.isfinite(out)), out
