"""Partially linear quantile regression (issue 18, part 2).

The fit is checked against the exact LP on the spline design (HiGHS, with the
B-spline basis built here by the Cox-de Boor recursion, independently of the
estimator), against R's ``quantreg::rq`` with ``splines::bs`` (numbers stored
below with the R calls that produced them), against a planted truth, and for
the choice of the number of knots by Schwarz's criterion.
"""
import warnings

import numpy as np
import pytest
from hypothesis import example, given
from hypothesis import strategies as st
from scipy.optimize import linprog
from sklearn.base import clone
from sklearn.utils.estimator_checks import parametrize_with_checks

from statoptim import (
    CensoredQuantileRegressor,
    PartiallyLinearQuantileRegressor,
    ipcw_weights,
)
from statoptim.quantile import PartiallyLinearQuantileRegressor as FromQuantile


def cox_de_boor(x, t, k):
    """B-spline basis of degree k on the full knot vector t, by the recursion (dense)."""
    x = np.asarray(x, dtype=float)
    m = len(t) - 1
    last = np.flatnonzero(t[:-1] < t[1:])[-1]  # the right end belongs to the last interval
    B = np.zeros((x.size, m))
    for j in range(m):
        B[:, j] = (t[j] <= x) & (x < t[j + 1])
    B[x == t[-1], last] = 1.0
    for d in range(1, k + 1):
        new = np.zeros((x.size, m - d))
        for j in range(m - d):
            if t[j + d] > t[j]:
                new[:, j] += (x - t[j]) / (t[j + d] - t[j]) * B[:, j]
            if t[j + d + 1] > t[j + 1]:
                new[:, j] += (t[j + d + 1] - x) / (t[j + d + 1] - t[j + 1]) * B[:, j + 1]
        B = new
    return B


def lp_objective(D, y, q, w):
    """min sum w (q u + (1 - q) v) s.t. D b + u - v = y, u, v >= 0, by HiGHS.

    HiGHS's ``fun`` and ``b`` carry its feasibility tolerance (off by up to
    about 1e-8 relative on tiny designs), so the vertex of HiGHS's basis is
    recomputed exactly: ``b`` interpolating the ``p`` rows of smallest
    residual, kept when it is no worse than HiGHS's own ``b``.
    """
    n, p = D.shape
    c = np.concatenate([np.zeros(p), q * w, (1 - q) * w])
    A = np.hstack([D, np.eye(n), -np.eye(n)])
    bounds = [(None, None)] * p + [(0, None)] * (2 * n)
    res = linprog(c, A_eq=A, b_eq=y, bounds=bounds, method="highs")
    assert res.status == 0
    b = res.x[:p]
    value = check_sum(y - D @ b, q, w)
    basis = np.argsort(np.abs(y - D @ b), kind="stable")[:p]
    if np.linalg.cond(D[basis]) < 1e10:
        value = min(value, check_sum(y - D @ np.linalg.solve(D[basis], y[basis]), q, w))
    return value


def check_sum(r, q, w=None):
    w = np.ones_like(r) if w is None else w
    return float(np.sum(w * np.maximum(q * r, (q - 1) * r)))


def r_theta(model):
    """Coefficients in R's parametrisation [intercept, z, bs columns] (g(min w) = 0)."""
    c = model.spline_coef_
    return np.r_[model.intercept_ + c[0], model.coef_, c[1:] - c[0]]


def planted(n, g, seed, sigma=0.3):
    rng = np.random.default_rng(seed)
    X = np.column_stack([rng.uniform(0, 1, n), rng.standard_normal(n)])
    y = 1 + 2 * X[:, 1] + g(X[:, 0]) + sigma * rng.standard_normal(n)
    return X, y


# --------------------------------------------------------------------------- #
# exact LP on the spline design
# --------------------------------------------------------------------------- #
@pytest.mark.parametrize("seed, q, degree, n_knots, weighted", [
    (0, 0.5, 3, 4, False),
    (1, 0.2, 3, 2, True),
    (2, 0.9, 1, 5, False),
    (3, 0.35, 2, 0, True),
    (4, 0.5, 0, 3, False),
])
def test_objective_matches_linprog_on_spline_design(seed, q, degree, n_knots, weighted):
    rng = np.random.default_rng(seed)
    n = 180
    X = np.column_stack([rng.standard_normal(n), rng.uniform(-2, 3, n),
                         rng.standard_normal(n)])
    y = X[:, 0] - X[:, 2] + np.cos(2 * X[:, 1]) + rng.standard_t(3, n)
    w = rng.uniform(0.2, 3.0, n) if weighted else None
    model = PartiallyLinearQuantileRegressor(q, spline_column=1, degree=degree,
                                             n_knots=n_knots).fit(X, y, sample_weight=w)
    assert model.status_ == "optimal" and model.n_knots_ == n_knots
    W = X[:, 1]
    t = np.r_[[W.min()] * (degree + 1), model.knots_, [W.max()] * (degree + 1)]
    np.testing.assert_allclose(model.g_.t, t)
    B = cox_de_boor(W, t, degree)
    D = np.column_stack([np.ones(n), X[:, [0, 2]], B[:, 1:]])
    ww = np.ones(n) if w is None else w
    lp = lp_objective(D, y, q, ww)
    np.testing.assert_allclose(model.objective_, lp, rtol=1e-9, atol=0)
    # the objective is that of the predictions, and predict is intercept + Z'theta + g(W)
    pred = model.predict(X)
    np.testing.assert_allclose(check_sum(y - pred, q, ww), lp, rtol=1e-9)
    np.testing.assert_allclose(pred, D @ r_theta(model), rtol=1e-10, atol=1e-10)
    # g is centred: weighted mean zero over the training rows
    assert abs(np.sum(ww * model.g_(W))) < 1e-9 * np.sum(ww)
    np.testing.assert_array_equal(model.partial_dependence(W), model.g_(W))


def test_spline_only_and_negative_spline_column():
    rng = np.random.default_rng(5)
    w = rng.uniform(0, 1, 120)
    y = np.sin(3 * w) + 0.1 * rng.standard_normal(120)
    model = PartiallyLinearQuantileRegressor(0.5, spline_column=-1, n_knots=2).fit(w[:, None], y)
    assert model.coef_.shape == (0,)
    t = model.g_.t
    lp = lp_objective(cox_de_boor(w, t, 3), y, 0.5, np.ones(120))
    np.testing.assert_allclose(model.objective_, lp, rtol=1e-9)


# --------------------------------------------------------------------------- #
# R's rq with bs(): the same estimator
# --------------------------------------------------------------------------- #
def r_data():
    """The data given to R (written to CSV with 4 decimals, as rounded here)."""
    rng = np.random.default_rng(20240518)
    n = 150
    w = np.round(rng.uniform(0, 1, n), 4)
    z = np.round(rng.standard_normal(n), 4)
    y = np.round(1 + 2 * z + np.sin(2 * np.pi * w) + 0.5 * rng.standard_normal(n), 4)
    return np.column_stack([w, z]), y


# R 4, quantreg, splines; d <- read.csv(...) with columns w, z, y as r_data() gives;
# rho <- function(r, t) r * (t - (r < 0)); options(digits = 17).
R_FITS = [
    # f <- rq(y ~ z + bs(w, knots = c(0.3, 0.5, 0.7), degree = 3), tau = 0.3, data = d)
    # unname(coef(f)); sum(rho(resid(f), 0.3))
    ({"quantile": 0.3, "knots": [0.3, 0.5, 0.7], "degree": 3},
     [0.22294872513885106, 2.03670096357807084, 0.68326272314012837, 2.83909827291672290,
      0.17931559114088788, -0.38890067256489103, -0.27317803320833012, 0.57778005944045741],
     28.01644615765667, None),
    # b <- bs(d$w, df = 7, degree = 3); unname(attr(b, "knots"))
    # f <- rq(d$y ~ d$z + b, tau = 0.5); unname(coef(f)); sum(rho(resid(f), 0.5))
    ({"quantile": 0.5, "n_knots": 4, "degree": 3},
     [1.47624733877274661, 2.02293298445373493, -0.69778093598791002, 1.02745449929974186,
      0.51962700614025992, -0.93279647917475328, -1.80608500357159718, -0.90212903140219780,
      -0.60978274212374506],
     30.411346236382684, [0.2371, 0.3967, 0.54006, 0.78214]),
    # f <- rq(y ~ z + bs(w, knots = c(0.25, 0.6), degree = 1), tau = 0.75, data = d)
    ({"quantile": 0.75, "knots": [0.25, 0.6], "degree": 1},
     [1.53357173910820332, 2.03903183289777390, 1.27485353436326054, -0.82440449038671892,
      -0.72859867458464755],
     24.892827053026824, None),
]


@pytest.mark.parametrize("params, coef, objective, knots", R_FITS)
def test_matches_r_rq_with_bs(params, coef, objective, knots):
    X, y = r_data()
    model = PartiallyLinearQuantileRegressor(**params).fit(X, y)
    np.testing.assert_allclose(model.objective_, objective, rtol=1e-9)
    np.testing.assert_allclose(r_theta(model), coef, rtol=1e-7, atol=1e-9)
    if knots is not None:  # knots at quantiles of w, as bs(df = ) places them
        np.testing.assert_allclose(model.knots_, knots, rtol=1e-12)


# --------------------------------------------------------------------------- #
# planted truth and the choice of knots
# --------------------------------------------------------------------------- #
def test_planted_truth_recovered():
    def g(w):
        return np.sin(2 * np.pi * w)
    X, y = planted(2000, g, seed=0)
    model = PartiallyLinearQuantileRegressor(0.5).fit(X, y)
    assert model.status_ == "optimal"
    assert abs(model.coef_[0] - 2) < 0.03
    grid = np.linspace(0.01, 0.99, 197)
    truth = g(grid) - np.mean(g(X[:, 0]))  # g-hat is centred on the sample
    assert np.max(np.abs(model.g_(grid) - truth)) < 0.1
    assert abs(model.intercept_ - (1 + np.mean(g(X[:, 0])))) < 0.05
    # the upper quartile moves the level by sigma * z_0.75, not the shape
    upper = PartiallyLinearQuantileRegressor(0.75, n_knots=model.n_knots_).fit(X, y)
    assert abs(upper.intercept_ - model.intercept_ - 0.3 * 0.6745) < 0.05
    assert np.max(np.abs(upper.g_(grid) - truth)) < 0.15


def test_sic_chooses_more_knots_for_wigglier_g():
    chosen = {}
    for name, g in [("linear", lambda w: 0.5 * w), ("sin2", lambda w: np.sin(2 * np.pi * w)),
                    ("sin6", lambda w: np.sin(6 * np.pi * w))]:
        X, y = planted(2000, g, seed=1)
        chosen[name] = PartiallyLinearQuantileRegressor(0.5).fit(X, y).n_knots_
    assert chosen["linear"] <= 1
    assert 1 <= chosen["sin2"] < chosen["sin6"]


def test_criterion_values_are_sic_of_each_fit():
    X, y = planted(300, lambda w: np.sin(2 * np.pi * w), seed=2)
    sw = np.random.default_rng(0).uniform(0.5, 2, 300)
    model = PartiallyLinearQuantileRegressor(0.4, max_knots=5).fit(X, y, sample_weight=sw)
    np.testing.assert_array_equal(model.knot_grid_, np.arange(6))
    n = 300
    for k, value in zip(model.knot_grid_, model.criterion_values_):
        fixed = PartiallyLinearQuantileRegressor(0.4, n_knots=int(k)).fit(X, y, sample_weight=sw)
        p = 1 + 1 + k + 3
        expected = np.log(fixed.objective_ / sw.sum()) + np.log(n) / (2 * n) * p
        np.testing.assert_allclose(value, expected, rtol=1e-12)
    assert model.n_knots_ == np.argmin(model.criterion_values_)
    aic = PartiallyLinearQuantileRegressor(0.4, max_knots=5, criterion="aic").fit(X, y, sw)
    np.testing.assert_allclose(aic.criterion_values_ - model.criterion_values_,
                               (1 / n - np.log(n) / (2 * n)) * (2 + np.arange(6) + 3))


def test_ties_skip_unidentified_knot_numbers():
    # W takes 6 values: a cubic spline has at most 6 coefficients there (2 knots)
    rng = np.random.default_rng(3)
    X = np.column_stack([rng.integers(0, 6, 400).astype(float), rng.standard_normal(400)])
    y = X[:, 1] + (X[:, 0] - 2.5) ** 2 / 4 + rng.standard_normal(400)
    model = PartiallyLinearQuantileRegressor(0.5, max_knots=6).fit(X, y)
    assert model.n_knots_ <= 2
    assert np.isnan(model.criterion_values_[3:]).all()
    assert np.isfinite(model.criterion_values_[:3]).all()


# --------------------------------------------------------------------------- #
# weights, censoring, prediction
# --------------------------------------------------------------------------- #
def test_integer_weights_equal_duplicated_rows_and_zero_weights_drop_rows():
    X, y = planted(200, lambda w: np.cos(3 * w), seed=4)
    rng = np.random.default_rng(4)
    reps = rng.integers(0, 3, 200)
    kw = {"quantile": 0.3, "knots": [0.3, 0.6]}
    weighted = PartiallyLinearQuantileRegressor(**kw).fit(X, y, sample_weight=reps)
    dup = PartiallyLinearQuantileRegressor(**kw).fit(np.repeat(X, reps, axis=0),
                                                     np.repeat(y, reps))
    np.testing.assert_allclose(weighted.objective_, dup.objective_, rtol=1e-10)
    np.testing.assert_allclose(weighted.boundary_knots_, dup.boundary_knots_)
    grid = np.linspace(*dup.boundary_knots_, 50)
    np.testing.assert_allclose(weighted.g_(grid), dup.g_(grid), atol=1e-7)


def test_ipcw_weights_give_the_censored_estimator_on_the_spline_design():
    rng = np.random.default_rng(6)
    n = 600
    X = np.column_stack([rng.uniform(0, 1, n), rng.standard_normal(n)])
    t = 2 + X[:, 1] + np.sin(2 * np.pi * X[:, 0]) + 0.5 * rng.standard_normal(n)
    c = rng.normal(3.5, 1.5, n)
    y, event = np.minimum(t, c), (t <= c).astype(int)
    model = PartiallyLinearQuantileRegressor(0.5, n_knots=3).fit(
        X, y, sample_weight=ipcw_weights(y, event))
    # the same fit by CensoredQuantileRegressor on the basis built from the chosen knots
    keep = event == 1
    W = X[:, 0]
    t_full = np.r_[[W[keep].min()] * 4, model.knots_, [W[keep].max()] * 4]
    design = np.column_stack([X[:, 1], cox_de_boor(np.clip(W, *t_full[[0, -1]]), t_full, 3)[:, 1:]])
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # the score test on the basis columns
        ref = CensoredQuantileRegressor(0.5).fit(design, y, event=event)
    np.testing.assert_allclose(model.objective_, ref.objective_, rtol=1e-9)


def test_predict_extrapolates_with_end_polynomials_and_clone():
    X, y = planted(300, lambda w: np.sin(2 * np.pi * w), seed=7)
    model = PartiallyLinearQuantileRegressor(0.5, n_knots=3).fit(X, y)
    out = np.array([[-0.2, 0.0], [1.3, 0.0]])
    pred = model.predict(out)
    assert np.all(np.isfinite(pred))
    # near the boundary the extrapolation continues the end piece smoothly
    eps = 1e-7
    lo, hi = model.boundary_knots_
    np.testing.assert_allclose(model.g_([lo - eps, hi + eps]), model.g_([lo, hi]), atol=1e-5)
    assert FromQuantile is PartiallyLinearQuantileRegressor
    params = clone(model).get_params()
    assert params["n_knots"] == 3 and params["spline_column"] == 0


# --------------------------------------------------------------------------- #
# bad input: clear errors naming the argument
# --------------------------------------------------------------------------- #
@pytest.mark.parametrize("params, match", [
    ({"spline_column": 2}, "spline_column must index one of the 2 columns"),
    ({"spline_column": -3}, "spline_column must index"),
    ({"degree": -1}, "degree must be an integer >= 0"),
    ({"degree": 2.5}, "degree must be an integer"),
    ({"n_knots": -1}, "n_knots must be 'auto' or an integer >= 0, got -1"),
    ({"n_knots": "many"}, "n_knots must be one of"),
    ({"max_knots": -2}, "max_knots must be an integer >= 0"),
    ({"criterion": "bic"}, "criterion must be one of"),
    ({"knots": [0.2, 1.5]}, "knots must lie strictly inside the range .* got the knot 1.5"),
    ({"knots": [-0.5]}, "knots must lie strictly inside"),
    ({"knots": [0.6, 0.3]}, "knots must be strictly increasing"),
    ({"knots": [0.3, 0.3]}, "knots must be strictly increasing"),
    ({"knots": [[0.3]]}, "knots must be None or a 1-D array"),
    ({"knots": [0.3, np.nan]}, "knots must be finite"),
    ({"knots": ["a"]}, "knots"),
    ({"knots": [0.3], "n_knots": 2}, "n_knots must be 'auto' or len\\(knots\\) = 1"),
    ({"quantile": [0.2, 0.5]}, "quantile must be a single number"),
    ({"quantile": 1.0}, "quantile"),
    ({"n_knots": 200}, "coefficients .* but only 100 rows"),
    ({"tol": 0}, "tol"),
    ({"max_iter": 0}, "max_iter"),
])
def test_bad_parameters_name_the_argument(params, match):
    X, y = planted(100, np.cos, seed=8)
    with pytest.raises(ValueError, match=match):
        PartiallyLinearQuantileRegressor(**params).fit(X, y)


@pytest.mark.parametrize("value", [1.0, True, "w", None])
def test_spline_column_of_the_wrong_type(value):
    X, y = planted(50, np.cos, seed=8)
    with pytest.raises(TypeError, match="spline_column must be an integer index"):
        PartiallyLinearQuantileRegressor(spline_column=value).fit(X, y)


def test_bad_data_and_unidentified_splines():
    rng = np.random.default_rng(9)
    X = np.column_stack([rng.integers(0, 3, 50).astype(float), rng.standard_normal(50)])
    y = rng.standard_normal(50)
    with pytest.raises(ValueError, match="at least degree \\+ 1 = 4 distinct values"):
        PartiallyLinearQuantileRegressor().fit(X, y)
    assert PartiallyLinearQuantileRegressor(degree=2).fit(X, y).n_knots_ == 0
    X[:, 0] = np.linspace(0, 1, 50)
    with pytest.raises(ValueError, match="Schoenberg-Whitney"):  # no data in (0.5, 0.504)
        PartiallyLinearQuantileRegressor(knots=0.5 + np.arange(5) / 1000).fit(X, y)
    with pytest.raises(ValueError, match="n_samples = 1"):
        PartiallyLinearQuantileRegressor().fit(X[:1], y[:1])
    with pytest.raises(ValueError, match="sample_weight"):
        PartiallyLinearQuantileRegressor().fit(X, y, sample_weight=-np.ones(50))
    with pytest.raises(ValueError, match="rank deficient"):  # Z is a function of W
        PartiallyLinearQuantileRegressor(n_knots=2).fit(
            np.column_stack([X[:, 0], X[:, 0] ** 2]), y)
    model = PartiallyLinearQuantileRegressor(n_knots=1).fit(X, y)
    with pytest.raises(ValueError, match="w must be a 1-D array"):
        model.partial_dependence(np.ones((2, 2)))
    with pytest.raises(ValueError, match="w must be finite"):
        model.partial_dependence([np.inf])
    with pytest.raises(ValueError, match="X has 3 features"):
        model.predict(np.ones((2, 3)))


@given(st.integers(0, 2**32 - 1), st.integers(0, 3), st.integers(0, 6),
       st.floats(0.05, 0.95))
@example(3114790994, 3, 1, 0.3024901433308205)  # HiGHS's own objective 1.1e-8 off
def test_fuzz_partially_linear_matches_lp(seed, degree, n_knots, q):
    """A clear error or the exact LP optimum on the spline design."""
    rng = np.random.default_rng(seed)
    n = int(rng.integers(8, 60))
    X = rng.standard_normal((n, 2))
    if seed % 3 == 0:
        X[:, 0] = np.round(X[:, 0])  # ties in W
    y = X[:, 1] + rng.standard_normal(n)
    try:
        model = PartiallyLinearQuantileRegressor(q, degree=degree, n_knots=n_knots).fit(X, y)
    except ValueError as exc:
        assert any(word in str(exc) for word in ("distinct values", "Schoenberg-Whitney",
                                                 "coefficients", "rank deficient"))
        return
    t = model.g_.t
    D = np.column_stack([np.ones(n), X[:, 1], cox_de_boor(X[:, 0], t, degree)[:, 1:]])
    np.testing.assert_allclose(model.objective_, lp_objective(D, y, q, np.ones(n)),
                               rtol=1e-9, atol=1e-12)


# --------------------------------------------------------------------------- #
# scikit-learn compatibility
# --------------------------------------------------------------------------- #
_FEW_VALUES = (
    "by design: the check's spline column has 2 or 3 distinct values (or determines the "
    "other column); a cubic B-spline in it is not identified and fit raises ValueError"
)
_P_GT_N = (
    "by design: the check fits 15 samples (27 after repeating) with 30 features; a quantile "
    "regression with more coefficients than samples is not identified and fit raises ValueError"
)
ESTIMATORS = [
    PartiallyLinearQuantileRegressor(),
    PartiallyLinearQuantileRegressor(0.25, spline_column=-1, degree=1, n_knots=0),
]
EXPECTED_FAILURES = {
    "PartiallyLinearQuantileRegressor()": {
        "check_estimators_dtypes": _FEW_VALUES,
        "check_sample_weights_pandas_series": _FEW_VALUES,
        "check_sample_weights_not_an_array": _FEW_VALUES,
        "check_sample_weights_shape": _FEW_VALUES,
        "check_sample_weights_not_overwritten": _FEW_VALUES,
        "check_sample_weight_equivalence_on_dense_data": _P_GT_N,
    },
    "PartiallyLinearQuantileRegressor(degree=1, n_knots=0, quantile=0.25, spline_column=-1)": {
        "check_sample_weight_equivalence_on_dense_data": _P_GT_N,
    },
}


@parametrize_with_checks(ESTIMATORS)
def test_sklearn_compatible(estimator, check, request):
    name = getattr(check, "func", check).__name__
    key = " ".join(repr(estimator).split())  # the repr wraps long lines
    reason = EXPECTED_FAILURES.get(key, {}).get(name)
    if reason is not None:
        request.node.add_marker(pytest.mark.xfail(strict=True, reason=reason))
    check(estimator)
