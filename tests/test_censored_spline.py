"""Partially linear censored quantile regression (issue 18 part 2, in the censored estimator).

``CensoredQuantileRegressor(spline_column=...)`` fits ``Q_q(T | Z, W) = b +
Z'theta + g(W)`` with ``g`` a B-spline, in each weighting mode. Checked against
the exact LP on the spline design (HiGHS, the basis built here by the Cox-de Boor
recursion of tests/test_partially_linear.py, independently of the estimator)
with the estimator's own weights, against the same estimator on an explicit
spline design, against a planted truth, and against R's ``rqss`` (a different
estimator: a total-variation penalty) on stored data.
"""
import warnings

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st
from scipy.optimize import linprog
from sklearn.base import clone
from test_partially_linear import cox_de_boor

from statoptim import CensoredQuantileRegressor, PartiallyLinearQuantileRegressor

# --------------------------------------------------------------------------- #
# data
# --------------------------------------------------------------------------- #
RQSS_GRID = np.round(np.arange(1, 20) / 20, 2)  # w = 0.05, 0.10, ..., 0.95
RQSS_CASE = (400, 2024)  # (n, seed) of the data given to R below


def rqss_data(n, seed):
    """``T = 1 + 2 z + sin(2 pi w) + 0.3 e``, ``C ~ N(3, 1.5)``; rounded to 4 decimals.

    About 20% of the responses are censored. This is the data of
    benchmarks/rqss_compare.py, which wrote it to CSV (17 digits) for R.
    """
    rng = np.random.default_rng(seed)
    w = np.round(rng.uniform(0, 1, n), 4)
    z = np.round(rng.standard_normal(n), 4)
    t = 1 + 2 * z + np.sin(2 * np.pi * w) + 0.3 * rng.standard_normal(n)
    c = rng.normal(3.0, 1.5, n)
    y = np.round(np.minimum(t, c), 4)
    event = (t <= c).astype(int)
    return np.column_stack([w, z]), y, event


def censored_data(n, seed, missing=0.0, dependent=False):
    """Columns (z1, w, z2): ``T = 1 + z1 - z2 + sin(2 pi w) + 0.4 e``; about 25% censored.

    ``dependent``: the censoring time depends on z1. ``missing``: that share of
    z2 goes missing at random given (y, z1).
    """
    rng = np.random.default_rng(seed)
    X = np.column_stack([rng.standard_normal(n), rng.uniform(0, 1, n), rng.standard_normal(n)])
    t = 1 + X[:, 0] - X[:, 2] + np.sin(2 * np.pi * X[:, 1]) + 0.4 * rng.standard_normal(n)
    c = rng.normal(2.3 + (0.8 * X[:, 0] if dependent else 0.0), 1.5, n)
    y, event = np.minimum(t, c), (t <= c).astype(int)
    if missing:
        lin = -1.5 + 0.6 * (y - y.mean()) / y.std() + 0.4 * X[:, 0]
        p = 1 / (1 + np.exp(-lin))
        drop = rng.random(n) < p * missing / p.mean()
        X[drop, 2] = np.nan
    return X, y, event


def g_true(w):
    return np.sin(2 * np.pi * w)


def lp_objective(D, y, q, w, linear=None):
    """min sum w rho_q(y - D b) + linear'b by HiGHS (u - v = y - D b, u, v >= 0).

    HiGHS's ``fun`` and ``b`` carry its feasibility tolerance: on tiny designs
    the long fuzz run saw both off by up to 8e-9 relative (the optimum checked
    by enumerating every vertex). So the vertex of HiGHS's basis is recomputed
    exactly: ``b`` interpolating the ``p`` rows of smallest residual, kept when
    it is no worse than HiGHS's own ``b``.
    """
    n, p = D.shape
    linear = np.zeros(p) if linear is None else linear
    c = np.concatenate([linear, q * w, (1 - q) * w])
    A = np.hstack([D, np.eye(n), -np.eye(n)])
    bounds = [(None, None)] * p + [(0, None)] * (2 * n)
    res = linprog(c, A_eq=A, b_eq=y, bounds=bounds, method="highs")
    assert res.status == 0
    b = res.x[:p]
    value = check_loss(y - D @ b, q, w) + float(linear @ b)
    basis = np.argsort(np.abs(y - D @ b), kind="stable")[:p]
    if np.linalg.cond(D[basis]) < 1e10:
        b = np.linalg.solve(D[basis], y[basis])
        value = min(value, check_loss(y - D @ b, q, w) + float(linear @ b))
    return value


def check_loss(r, q, w):
    return float(np.sum(w * np.maximum(q * r, (q - 1) * r)))


def spline_design(model, X, rows, col, fit_intercept=True):
    """``[1, Z, B_1(W), ..., B_m(W)]`` on ``rows`` by Cox-de Boor (B_0 too without intercept).

    The knots are checked first: boundary knots at the range of W over ``rows``,
    interior knots at its quantiles j / (K + 1) (or the user's).
    """
    W = X[rows, col]
    d = model.g_.k
    t = np.r_[[W.min()] * (d + 1), model.knots_, [W.max()] * (d + 1)]
    np.testing.assert_array_equal(model.g_.t, t)
    np.testing.assert_array_equal(model.boundary_knots_, [W.min(), W.max()])
    B = cox_de_boor(W, t, d)
    Z = np.delete(X[rows], col, axis=1)
    if fit_intercept:
        return np.column_stack([np.ones(W.size), Z, B[:, 1:]])
    return np.column_stack([Z, B])


def fit(*args, **params):
    """``CensoredQuantileRegressor(**params).fit(*args)``, its warnings silenced."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # score test, extreme weights: not the subject here
        return CensoredQuantileRegressor(**params).fit(*args)


# --------------------------------------------------------------------------- #
# the exact LP on the spline design, with the estimator's weights
# --------------------------------------------------------------------------- #
@pytest.mark.parametrize("seed, q, degree, n_knots, knots, missing", [
    (0, 0.5, 3, 3, None, 0.2),
    (1, 0.3, 1, 4, None, 0.0),
    (2, 0.7, 2, 0, None, 0.25),
    (3, 0.5, 3, None, [0.3, 0.6], 0.2),
    (4, 0.4, 0, 2, None, 0.0),
])
def test_marginal_matches_lp_on_spline_design(seed, q, degree, n_knots, knots, missing):
    X, y, event = censored_data(160, seed, missing=missing)
    if missing:  # the spline column goes missing too
        X[np.random.default_rng(seed).random(160) < 0.1, 1] = np.nan
    kw = {"n_knots": n_knots} if knots is None else {"knots": knots}
    model = fit(X, y, event, quantile=q, spline_column=1, degree=degree, **kw)
    complete = ~np.isnan(X).any(axis=1)
    rows = model.weights_ > 0
    np.testing.assert_array_equal(rows, complete & (event == 1))
    if knots is None:  # knots at quantiles of W over the rows of the fit
        np.testing.assert_allclose(model.knots_, np.quantile(
            X[rows, 1], np.arange(1, n_knots + 1) / (n_knots + 1)), rtol=1e-13)
    else:
        np.testing.assert_array_equal(model.knots_, knots)
    D = spline_design(model, X, rows, 1)
    w = model.weights_[rows]
    lp = lp_objective(D, y[rows], q, w)
    assert model.status_ == "optimal"
    np.testing.assert_allclose(model.objective_, lp, rtol=1e-9)
    pred = model.predict(X)
    np.testing.assert_allclose(check_loss(y[rows] - pred[rows], q, w), lp, rtol=1e-9)
    # the weights are computed from X as given, as without the spline
    linear = fit(X, y, event, quantile=q)
    np.testing.assert_array_equal(model.weights_, linear.weights_)
    np.testing.assert_array_equal(model.propensity_, linear.propensity_)
    # g is centred over the rows of the fit with the weights of the fit
    assert abs(np.sum(w * model.g_(X[rows, 1]))) < 1e-9 * np.sum(w)
    assert np.isnan(pred[~complete]).all() and np.isfinite(pred[complete]).all()


def test_without_intercept_the_whole_basis_is_kept():
    X, y, event = censored_data(150, 5)
    model = fit(X, y, event, quantile=0.6, spline_column=1, n_knots=2, fit_intercept=False)
    assert model.intercept_ == 0.0 and model.spline_coef_.shape == (6,)
    rows = model.weights_ > 0
    D = spline_design(model, X, rows, 1, fit_intercept=False)
    np.testing.assert_allclose(model.objective_,
                               lp_objective(D, y[rows], 0.6, model.weights_[rows]), rtol=1e-9)
    np.testing.assert_allclose(model.predict(X[rows]),
                               D @ np.r_[model.coef_, model.spline_coef_], rtol=1e-12)


@pytest.mark.parametrize("seed, q, n_knots, missing", [
    (0, 0.5, 2, 0.0),
    (1, 0.4, 3, 0.2),
])
def test_conditional_matches_lp_with_the_pseudo_observation(seed, q, n_knots, missing):
    """Wang & Wang's fit: the real rows plus mass ``sum rest`` at +infinity.

    Far above every fitted value the pseudo-observation's check loss is
    ``q * mass * (y_star - z_star'b)``: the LP is the real rows' loss plus the
    linear term ``-q * sum_i rest_i D_i'b`` over the censored rows (their
    ``rest_i = 1 / pi_i - w_i``).
    """
    X, y, event = censored_data(150, seed, missing=missing, dependent=True)
    model = fit(X, y, event, quantile=q, spline_column=1, n_knots=n_knots,
                censoring="conditional")
    complete = ~np.isnan(X).any(axis=1)
    rows = model.weights_ > 0
    np.testing.assert_array_equal(rows, complete)
    D = spline_design(model, X, rows, 1)
    cens = ~event.astype(bool)[rows]
    rest = 1 / model.propensity_[rows][cens] - model.weights_[rows][cens]
    assert np.all(rest >= 0) and rest.sum() > 0
    lp = lp_objective(D, y[rows], q, model.weights_[rows], linear=-q * rest @ D[cens])
    pred = model.predict(X)[rows]
    ours = model.objective_ - q * rest @ pred[cens]
    assert abs(ours - lp) <= 1e-9 * (model.objective_ + q * abs(rest @ pred[cens]))
    # the weights come from Beran's estimate on X as given, as without the spline
    linear = fit(X, y, event, quantile=q, censoring="conditional")
    np.testing.assert_array_equal(model.conditional_cdf_, linear.conditional_cdf_)
    np.testing.assert_array_equal(model.weights_, linear.weights_)


@pytest.mark.parametrize("quantile", [0.5, [0.3, 0.5]])
def test_peng_huang_equals_the_linear_fit_on_the_explicit_design(quantile):
    """The basis enters Peng-Huang's steps as any covariates would."""
    X, y, event = censored_data(300, 6, missing=0.15)
    kw = {"method": "peng-huang", "propensity_columns": []}  # pi from y: same in both fits
    model = fit(X, y, event, quantile=quantile, spline_column=1, n_knots=2, **kw)
    rows = model.weights_ > 0
    np.testing.assert_array_equal(rows, ~np.isnan(X).any(axis=1))
    t = model.g_.t
    B = cox_de_boor(np.clip(X[:, 1], t[0], t[-1]), t, 3)[:, 1:]
    explicit = fit(np.column_stack([X[:, [0, 2]], B]), y, event, quantile=quantile, **kw)
    np.testing.assert_allclose(model.coef_, np.asarray(explicit.coef_)[..., :2], atol=1e-9)
    np.testing.assert_allclose(model.grid_coef_, explicit.grid_coef_, atol=1e-9)
    pred = explicit.predict(np.column_stack([X[:, [0, 2]], B]))
    np.testing.assert_allclose(model.predict(X)[rows], pred[rows], atol=1e-9)
    grid = np.linspace(0.1, 0.9, 7)
    assert model.g_(grid).shape == ((7,) if np.ndim(quantile) == 0 else (7, 2))


# --------------------------------------------------------------------------- #
# planted truth
# --------------------------------------------------------------------------- #
def sup_error(model, X):
    """sup over a grid of |g_hat - g| (g centred as g_hat is: over the rows of the fit)."""
    rows = model.weights_ > 0
    w = model.weights_[rows]
    grid = np.linspace(0.03, 0.97, 95)
    truth = g_true(grid) - np.sum(w * g_true(X[rows, 1])) / np.sum(w)
    return float(np.max(np.abs(model.g_(grid) - truth)))


@pytest.mark.parametrize("params, dependent, missing", [
    ({}, False, 0.2),
    ({"censoring": "conditional"}, True, 0.0),
    ({"method": "peng-huang", "n_knots": 3}, True, 0.0),
])
def test_planted_truth_recovered_error_shrinks_with_n(params, dependent, missing):
    errors, slopes = {}, {}
    for n in (400, 3200):
        errs, slope = [], []
        for seed in range(2):
            X, y, event = censored_data(n, 10 + seed, missing=missing, dependent=dependent)
            model = fit(X, y, event, quantile=0.5, spline_column=1, **params)
            errs.append(sup_error(model, X))
            slope.append(np.max(np.abs(model.coef_ - [1, -1])))
        errors[n], slopes[n] = np.mean(errs), np.max(slope)
    print(params, errors, slopes)
    assert errors[3200] < 0.12 and slopes[3200] < 0.05
    assert errors[3200] < 0.7 * errors[400]


# --------------------------------------------------------------------------- #
# several quantiles, prediction, refits, summary()
# --------------------------------------------------------------------------- #
def test_several_quantiles_share_the_basis_and_match_single_fits():
    X, y, event = censored_data(250, 7, missing=0.1)
    both = fit(X, y, event, quantile=[0.3, 0.6], spline_column=1, n_knots=3)
    assert both.coef_.shape == (2, 2) and both.spline_coef_.shape == (2, 7)
    assert np.isnan(both.criterion_values_).all()  # no criterion for several quantiles
    grid = np.linspace(0.05, 0.95, 11)
    for j, q in enumerate([0.3, 0.6]):
        one = fit(X, y, event, quantile=q, spline_column=1, n_knots=3)
        np.testing.assert_allclose(both.coef_[j], one.coef_, atol=1e-10)
        np.testing.assert_allclose(both.intercept_[j], one.intercept_, atol=1e-10)
        np.testing.assert_allclose(both.g_(grid)[:, j], one.g_(grid), atol=1e-10)
        np.testing.assert_allclose(both.predict(X)[:, j], one.predict(X), atol=1e-10)
        np.testing.assert_allclose(both.objective_[j], one.objective_, rtol=1e-12)


def test_knot_choice_and_refit_without_spline():
    X, y, event = censored_data(600, 8)
    model = fit(X, y, event, quantile=0.5, spline_column=-2, max_knots=5)
    np.testing.assert_array_equal(model.knot_grid_, np.arange(6))
    assert model.n_knots_ == np.nanargmin(model.criterion_values_)
    # the criterion is SIC of each fixed-knot fit (weights: sum over the rows of the fit)
    n = int((model.weights_ > 0).sum())
    for k in (0, 3):
        fixed = fit(X, y, event, quantile=0.5, spline_column=1, n_knots=k)
        expected = (np.log(fixed.objective_ / model.weights_.sum())
                    + np.log(n) / (2 * n) * (1 + 2 + k + 3))
        np.testing.assert_allclose(model.criterion_values_[k], expected, rtol=1e-12)
    aic = fit(X, y, event, quantile=0.5, spline_column=1, max_knots=5, criterion="aic")
    np.testing.assert_allclose(aic.criterion_values_ - model.criterion_values_,
                               (1 / n - np.log(n) / (2 * n)) * (3 + np.arange(6) + 3))
    # same as the uncensored estimator when nothing is censored or missing
    full = np.ones_like(event)
    t = y  # take y as the uncensored response
    ours = fit(X, t, full, quantile=0.5, spline_column=1)
    ref = PartiallyLinearQuantileRegressor(0.5, spline_column=1).fit(X, t)
    np.testing.assert_allclose(ours.objective_, ref.objective_, rtol=1e-12)
    np.testing.assert_allclose(ours.g_.t, ref.g_.t)
    np.testing.assert_allclose(ours.predict(X), ref.predict(X), atol=1e-9)
    # a refit without the spline removes its attributes
    plain = clone(model).set_params(spline_column=None).fit(X, y, event)
    assert not hasattr(plain, "g_") and not hasattr(plain, "knots_")
    assert plain.coef_.shape == (3,)
    np.testing.assert_allclose(plain.predict(X), X @ plain.coef_ + plain.intercept_)
    assert clone(model).get_params()["spline_column"] == -2


def test_summary_bootstraps_theta_with_the_knots_rechosen():
    X, y, event = censored_data(300, 9)
    model = fit(X, y, event, quantile=0.5, spline_column=1, n_knots=2)
    res = model.summary(n_boot=40, random_state=0, n_threads=1)
    assert res.names == ["intercept", "x1", "x3"]  # the spline column has no coefficient
    np.testing.assert_array_equal(res.coef, np.r_[model.intercept_, model.coef_])
    assert np.all(res.bse > 0)
    lo, hi = res.conf_int[1:].T
    assert np.all(lo < [1, -1]) and np.all(hi > [1, -1])
    # replicate 0 is the documented refit on the resampled rows
    rows = np.random.default_rng(np.random.SeedSequence(0, spawn_key=(0,))).integers(0, 300, 300)
    refit = fit(X[rows], y[rows], event[rows], **dict(model.get_params(), n_threads=1))
    np.testing.assert_allclose(res.replicates[0], np.r_[refit.intercept_, refit.coef_],
                               rtol=1e-12)


# --------------------------------------------------------------------------- #
# bad input: clear errors naming the argument
# --------------------------------------------------------------------------- #
@pytest.mark.parametrize("params, match", [
    ({"spline_column": 3}, "spline_column must index one of the 3 columns .* got 3"),
    ({"spline_column": -4}, "spline_column must index"),
    ({"degree": -1}, "degree must be an integer >= 0"),
    ({"degree": -1, "spline_column": None}, "degree must be an integer >= 0"),
    ({"n_knots": -2}, "n_knots must be 'auto' or an integer >= 0, got -2"),
    ({"criterion": "bic"}, "criterion must be one of"),
    ({"max_knots": -1}, "max_knots must be an integer >= 0"),
    ({"knots": [0.2, 1.5]}, "knots must lie strictly inside the range .* got the knot 1.5"),
    ({"knots": [-0.1]}, "knots must lie strictly inside"),
    ({"knots": [0.5, 0.4]}, "knots must be strictly increasing"),
    ({"knots": [0.5], "spline_column": None}, "knots .* spline_column is None"),
    ({"knots": [0.5], "n_knots": 3}, "n_knots must be 'auto' or len\\(knots\\) = 1"),
    ({"method": "peng-huang"}, "n_knots='auto' .* method='peng-huang'"),
    ({"quantile": [0.3, 0.5]}, "n_knots='auto' chooses the knots for one quantile"),
    ({"n_knots": 150}, "coefficients .* but only"),
    ({"knots": 0.5 + np.arange(6) / 1e5}, "Schoenberg-Whitney"),
])
def test_bad_spline_parameters_name_the_argument(params, match):
    X, y, event = censored_data(120, 11)
    params = {"spline_column": 1, **params}
    with pytest.raises(ValueError, match=match):
        fit(X, y, event, **params)


@pytest.mark.parametrize("value", [1.0, True, "w"])
def test_spline_column_of_the_wrong_type(value):
    X, y, event = censored_data(60, 12)
    with pytest.raises(TypeError, match="spline_column must be an integer index"):
        fit(X, y, event, spline_column=value)


def test_spline_column_with_too_few_values():
    X, y, event = censored_data(100, 13)
    X[:, 1] = np.round(X[:, 1] * 2)  # 3 distinct values
    with pytest.raises(ValueError, match="at least degree \\+ 1 = 4 distinct values"):
        fit(X, y, event, spline_column=1)
    assert fit(X, y, event, spline_column=1, degree=2).n_knots_ == 0


@given(st.integers(0, 2**32 - 1), st.integers(0, 3), st.integers(0, 5), st.floats(0.1, 0.9))
def test_fuzz_censored_spline_matches_lp(seed, degree, n_knots, q):
    """A clear error or the exact LP optimum on the spline design with the model's weights."""
    rng = np.random.default_rng(seed)
    n = int(rng.integers(12, 70))
    X, y, event = censored_data(n, seed)
    if seed % 3 == 0:
        X[:, 1] = np.round(X[:, 1], 1)  # ties in W
    try:
        model = fit(X, y, event, quantile=q, spline_column=1, degree=degree, n_knots=n_knots)
    except ValueError as exc:
        assert any(word in str(exc) for word in (
            "distinct values", "Schoenberg-Whitney", "coefficients", "rank deficient",
            "at least as many samples")), str(exc)
        return
    rows = model.weights_ > 0
    D = spline_design(model, X, rows, 1)
    lp = lp_objective(D, y[rows], q, model.weights_[rows])
    np.testing.assert_allclose(model.objective_, lp, rtol=1e-9, atol=1e-12)


# --------------------------------------------------------------------------- #
# R's rqss on stored data: a different estimator of the same function
# --------------------------------------------------------------------------- #
# python benchmarks/rqss_compare.py --emit (R 4.x, quantreg 5.94) wrote rqss_data(400, 2024)
# (columns w, z, y, weight: the rows with positive weight, weight = our Kaplan-Meier
# weights_ of CensoredQuantileRegressor(0.5, spline_column=0)) and ran
#   lambdas <- exp(seq(log(0.02), log(20), length.out = 16))
#   sic <- sapply(lambdas, function(L) AIC(rqss(y ~ z + qss(w, lambda = L), tau = 0.5,
#                                              data = d, weights = weight), k = -1))
#   L <- lambdas[which.min(sic)]                                   # RQSS_LAMBDA
#   f <- rqss(y ~ z + qss(w, lambda = L), tau = 0.5, data = d, weights = weight)
#   coef(f)[2]                                                     # RQSS_THETA
#   predict(f, newdata = data.frame(z = 0, w = seq(0.05, 0.95, by = 0.05)))   # RQSS_G
RQSS_LAMBDA = 0.502377286301916
RQSS_THETA = 2.070079309186351
RQSS_G = [
    1.4753453383485655, 1.605412117077739, 1.7354788957888405, 1.8637618859676903,
    1.9783442657818704, 1.8467672961620611, 1.7151903264491408, 1.533031967178903,
    1.2792777280244472, 1.0255234888730844, 0.7717692497296829, 0.5180150106381762,
    0.27120993955661166, 0.04181546430965977, -0.05924143057746445, -0.031774938568891464,
    0.2302285811325262, 0.4922321008424978, 0.7542356205575484,
]


def test_agrees_with_r_rqss_within_both_distances_to_the_truth():
    """Both estimate the conditional median ``1 + 2 z + sin(2 pi w)``.

    The tolerances come from 20 replications of these data at n = 400
    (``python benchmarks/rqss_compare.py --n 400 --seeds 20``, BENCHMARKS.md):
    sup over the grid of the distance to the truth at most 0.22 (ours, B-spline
    with SIC knots) and 0.28 (rqss, SIC lambda), to each other at most 0.32;
    slope errors at most 0.07 for both, a standard deviation of about 0.03. The
    bounds below are these maxima rounded up (for the slope, about 3 standard
    deviations): a fit outside them on the stored data would be an outlier of
    either estimator's sampling distribution. The two slopes are closer to each
    other than to the truth (they see the same sample), so their difference has
    the tighter bound.
    """
    X, y, event = rqss_data(*RQSS_CASE)
    model = fit(X, y, event, quantile=0.5, spline_column=0)
    ours = model.predict(np.column_stack([RQSS_GRID, np.zeros(RQSS_GRID.size)]))
    truth = 1 + g_true(RQSS_GRID)
    rqss = np.array(RQSS_G)
    d_ours, d_rqss = np.max(np.abs(ours - truth)), np.max(np.abs(rqss - truth))
    d_both = np.max(np.abs(ours - rqss))
    print(f"sup|g - truth|: ours {d_ours:.4f}, rqss {d_rqss:.4f}; sup|ours - rqss| "
          f"{d_both:.4f}; slope: ours {model.coef_[0]:.4f}, rqss {RQSS_THETA:.4f}")
    assert d_ours < 0.25 and d_rqss < 0.3 and d_both < 0.35
    assert abs(model.coef_[0] - 2) < 0.1 and abs(RQSS_THETA - 2) < 0.1
    assert abs(model.coef_[0] - RQSS_THETA) < 0.05
