"""Exact MM quantile regression: kernel vs reference, certificates, invariances, API, errors.

The objective comparison with an LP solver is in test_quantile_lp.py. Here:

* the Cython MM step against the plain NumPy step of ``reference.py`` (rtol 1e-12);
* the surrogate ``L_e`` never increases along the MM iterations;
* Koenker's optimality certificate, recomputed in NumPy, holds at the solution;
* invariances of the optimum (spec section 9): weights as repeated rows, scaled
  weights, row permutations, ``y + Z b``, ``y -> -y`` with ``q -> 1 - q``, zero weights;
* the estimator API (several quantiles, no intercept, predict, score, pinball loss,
  ConvergenceWarning) and bad input.

Coefficients are compared only on problems whose solution is unique, which the test
asserts through a strictly positive certificate margin; otherwise objective values are
compared. A unique solution is the vertex ``Z_h^{-1} y_h``: two routes to it agree to
the rounding error of a p x p solve, hence ``rtol=1e-9`` on coefficients.
"""
import numpy as np
import pytest
from numpy.testing import assert_allclose
from reference import (
    check_loss,
    koenker_certificate,
    mm_step,
    perturbed_objective,
    quantile_objective,
)
from sklearn.metrics import mean_pinball_loss, r2_score

from statoptim import QuantileRegressor, pinball_loss
from statoptim.exceptions import ConvergenceWarning
from statoptim.quantile import _mm, solve_quantile
from statoptim.studies.quantile_solver import lp_quantile_objective

DBL_EPS = np.finfo(np.float64).eps


def _design(rng, n_samples, n_features):
    """Intercept column plus N(0, 1) covariates; y with t(3) noise."""
    Z = np.ones((n_samples, n_features))
    Z[:, 1:] = rng.standard_normal((n_samples, n_features - 1))
    y = Z @ rng.uniform(-2, 2, n_features) + rng.standard_t(3, n_samples)
    return Z, y


def _problem(seed, n_samples=200, n_features=4, weighted=True):
    rng = np.random.default_rng(seed)
    Z, y = _design(rng, n_samples, n_features)
    w = rng.uniform(0.2, 2.0, n_samples) if weighted else np.ones(n_samples)
    return Z, y, w


def _unique_solution(Z, y, w, q, **kwargs):
    """Solve and assert that the solution is certified and unique (margin > 0)."""
    sol = solve_quantile(Z, y, w, q, **kwargs)
    assert sol.status == "optimal"
    _, margin = koenker_certificate(Z, y, w, q, sol.coef)
    assert margin.min() > 1e-8, "test problem should have a unique solution"
    return sol


# ---------------------------------------------------------------------------
# Kernel against the NumPy reference
# ---------------------------------------------------------------------------

def _run_kernel(Z, y, w, q, e, theta0, max_iter, tol=0.0):
    """``mm_quantile_fit`` with one continuation stage from ``theta0``."""
    n_samples, n_features = Z.shape
    theta = np.array(theta0, dtype=np.float64)
    resid = np.empty(n_samples)
    work_n = np.empty(2 * n_samples)
    work_np = np.empty(n_samples * n_features if n_features > 8 else 0)
    n_iter, status = _mm.mm_quantile_fit(
        Z, y, w, q, theta, np.array([e]), tol, max_iter, resid, work_n, work_np
    )
    return theta, resid, n_iter, status


def _start(rng, Z, y, w):
    """Weighted least squares moved off by a random amount: far from the optimum."""
    ls = np.linalg.lstsq(Z * np.sqrt(w)[:, None], y * np.sqrt(w), rcond=None)[0]
    return ls + 0.3 * rng.standard_normal(Z.shape[1])


# n_features 8 uses the fused row loop, 9 and 20 the dsyrk path (SMALL_P = 8)
@pytest.mark.parametrize("n_features", [1, 3, 8, 9, 20])
@pytest.mark.parametrize("q", [0.2, 0.5, 0.9])
def test_mm_step_matches_reference(n_features, q):
    rng = np.random.default_rng(100 * n_features + int(10 * q))
    Z, y = _design(rng, 300, n_features)
    w = rng.uniform(0.5, 2.0, 300)
    theta0 = _start(rng, Z, y, w)
    e = 0.05 * np.median(np.abs(y - Z @ theta0))
    expected = mm_step(Z, y, w, q, e, theta0)
    # the full step descends, so the monotone guard must not halve it
    assert perturbed_objective(Z, y, w, q, e, expected) < perturbed_objective(
        Z, y, w, q, e, theta0
    )
    theta, resid, n_iter, status = _run_kernel(Z, y, w, q, e, theta0, max_iter=1)
    assert (n_iter, status) == (1, 0)
    scale = np.abs(expected).max()
    assert_allclose(theta, expected, rtol=1e-12, atol=1e-12 * scale)
    assert_allclose(resid, y - Z @ expected, rtol=1e-12, atol=1e-12 * np.abs(y).max())
    # theta moved: the comparison is not between two copies of the start
    assert np.abs(theta - theta0).max() > 1e-3


@pytest.mark.parametrize("n_features", [2, 20])
@pytest.mark.parametrize("e_rel", [1e-2, 1e-6])
def test_surrogate_never_increases(n_features, e_rel):
    """L_e along MM iterates 1, 2, 3, ... from one start (one stage, tol = 0)."""
    rng = np.random.default_rng(n_features)
    Z, y = _design(rng, 500, n_features)
    w = rng.uniform(0.5, 2.0, 500)
    theta0 = _start(rng, Z, y, w)
    e = e_rel * np.median(np.abs(y - Z @ theta0))
    q = 0.3
    losses = [perturbed_objective(Z, y, w, q, e, theta0)]
    for k in range(1, 31):
        theta, _, n_iter, status = _run_kernel(Z, y, w, q, e, theta0, max_iter=k)
        assert status == 0 and n_iter <= k
        losses.append(perturbed_objective(Z, y, w, q, e, theta))
    losses = np.array(losses)
    # the kernel's guard tolerates a rise of 64 ulps of sum_i w_i |rho_e(r_i)|
    r = y - Z @ theta0
    slack = 64 * DBL_EPS * np.sum(w * (check_loss(r, q) + np.abs(0.5 * e * np.log(e + np.abs(r)))))
    assert np.all(np.diff(losses) <= slack), np.diff(losses).max()
    assert losses[-1] < losses[0] - 1e-3 * abs(losses[0])  # real progress was made


# ---------------------------------------------------------------------------
# Optimality certificate at the returned solution
# ---------------------------------------------------------------------------

@pytest.mark.parametrize("seed", range(8))
def test_koenker_certificate_holds(seed):
    rng = np.random.default_rng(seed)
    n_samples = int(rng.integers(30, 2000))
    n_features = int(rng.integers(1, 13))
    q = float(rng.uniform(0.05, 0.95))
    Z, y = _design(rng, n_samples, n_features)
    w = rng.uniform(0.1, 3.0, n_samples) if seed % 2 else np.ones(n_samples)
    sol = solve_quantile(Z, y, w if seed % 2 else None, q)
    assert sol.status == "optimal"
    basis, margin = koenker_certificate(Z, y, w, q, sol.coef)
    assert margin.min() >= -1e-9
    assert_allclose(sol.objective, quantile_objective(Z, y, w, q, sol.coef), rtol=1e-12)
    # the vertex interpolates its basic rows
    assert_allclose(Z[basis] @ sol.coef, y[basis], rtol=0, atol=1e-9 * np.abs(y).max())


def test_koenker_certificate_holds_after_preprocessing():
    rng = np.random.default_rng(3)
    Z, y = _design(rng, 25_000, 3)
    sol = solve_quantile(Z, y, None, 0.7, preprocess=True)
    assert sol.status == "optimal" and sol.n_rounds >= 1
    _, margin = koenker_certificate(Z, y, np.ones(y.size), 0.7, sol.coef)
    assert margin.min() >= -1e-9


@pytest.mark.parametrize("q", [0.25, 0.5, 0.75])
def test_planted_truth_recovered(q):
    """The talk's model at n = 20000: estimates within 5 asymptotic standard errors."""
    from scipy.stats import norm

    from statoptim.datasets import make_quantile_regression, quantile_truth

    X, y = make_quantile_regression(20_000, random_state=5)
    model = QuantileRegressor(quantile=q).fit(X, y)
    intercept, coef = quantile_truth(q)
    # sqrt(q (1 - q)) / f(F^{-1}(q)) (Z'Z / n)^{-1/2} / sqrt(n), N(0, 1) errors;
    # Var Z1 = 1, Var Z2 = 3 (U(-3, 3)), the intercept's variance factor is 1
    sparsity = np.sqrt(q * (1 - q)) / norm.pdf(norm.ppf(q))
    se = sparsity / np.sqrt(20_000) * np.array([1.0, 1.0, 1.0 / np.sqrt(3.0)])
    err = np.abs(np.r_[model.intercept_ - intercept, model.coef_ - coef])
    assert np.all(err < 5 * se), err / se


# ---------------------------------------------------------------------------
# Invariances of the optimum
# ---------------------------------------------------------------------------

def test_integer_weight_equals_repeated_rows():
    Z, y, _ = _problem(1)
    counts = np.random.default_rng(1).integers(0, 4, y.size)
    for q in (0.3, 0.5):
        weighted = solve_quantile(Z, y, counts.astype(float), q)
        repeated = solve_quantile(np.repeat(Z, counts, axis=0), np.repeat(y, counts), None, q)
        assert_allclose(repeated.objective, weighted.objective, rtol=1e-10)
        assert weighted.status == "optimal"


def test_repeated_rows_are_certified():
    Z, y, _ = _problem(1)
    counts = np.random.default_rng(1).integers(0, 4, y.size)
    sol = solve_quantile(np.repeat(Z, counts, axis=0), np.repeat(y, counts), None, 0.5)
    assert sol.status == "optimal"


def test_weight_two_equals_duplicated_row_estimator():
    """The acceptance statement itself, through the estimator: w_i = 2 vs row i twice."""
    Z, y, _ = _problem(2, n_samples=100)
    X = Z[:, 1:]
    w = np.ones(y.size)
    w[:10] = 2.0
    weighted = QuantileRegressor(quantile=0.4).fit(X, y, sample_weight=w)
    X_dup, y_dup = np.vstack([X, X[:10]]), np.concatenate([y, y[:10]])
    sol = solve_quantile(np.c_[np.ones(y_dup.size), X_dup], y_dup, None, 0.4)
    assert_allclose(sol.objective, weighted.objective_, rtol=1e-10)


@pytest.mark.parametrize("c", [1e-3, 7.0, 1e4])
def test_scaling_weights_scales_objective(c):
    Z, y, w = _problem(3)
    base = _unique_solution(Z, y, w, 0.35)
    scaled = solve_quantile(Z, y, c * w, 0.35)
    assert_allclose(scaled.objective, c * base.objective, rtol=1e-10)
    assert_allclose(scaled.coef, base.coef, rtol=1e-9, atol=1e-12)


def test_row_permutation_invariance():
    Z, y, w = _problem(4)
    base = _unique_solution(Z, y, w, 0.6)
    perm = np.random.default_rng(4).permutation(y.size)
    permuted = solve_quantile(Z[perm], y[perm], w[perm], 0.6)
    assert_allclose(permuted.objective, base.objective, rtol=1e-12)
    assert_allclose(permuted.coef, base.coef, rtol=1e-9, atol=1e-12)


def test_shift_by_z_b_shifts_solution():
    Z, y, w = _problem(5)
    b = np.array([3.0, -1.0, 0.5, 10.0])
    base = _unique_solution(Z, y, w, 0.25)
    shifted = solve_quantile(Z, y + Z @ b, w, 0.25)
    assert_allclose(shifted.objective, base.objective, rtol=1e-10)
    assert_allclose(shifted.coef, base.coef + b, rtol=1e-9, atol=1e-9)


@pytest.mark.parametrize("q", [0.1, 0.5, 0.8])
def test_reflection_negates_solution(q):
    Z, y, w = _problem(6)
    base = _unique_solution(Z, y, w, q)
    reflected = solve_quantile(Z, -y, w, 1.0 - q)
    assert_allclose(reflected.objective, base.objective, rtol=1e-10)
    assert_allclose(reflected.coef, -base.coef, rtol=1e-9, atol=1e-12)


def test_zero_weight_rows_are_ignored():
    Z, y, w = _problem(7)
    X = Z[:, 1:]
    rng = np.random.default_rng(7)
    X_extra = np.vstack([X, 1e200 * rng.standard_normal((5, X.shape[1])), np.zeros((5, 3))])
    y_extra = np.concatenate([y, [1e300, -1e300, 0.0, 5.0, 1.0], rng.standard_normal(5)])
    w_extra = np.concatenate([w, np.zeros(10)])
    base = QuantileRegressor(quantile=0.45).fit(X, y, sample_weight=w)
    extra = QuantileRegressor(quantile=0.45).fit(X_extra, y_extra, sample_weight=w_extra)
    assert_allclose(extra.coef_, base.coef_, rtol=1e-12)
    assert_allclose(extra.intercept_, base.intercept_, rtol=1e-12)
    assert_allclose(extra.objective_, base.objective_, rtol=1e-12)


def test_memory_layout_and_read_only_inputs_agree():
    Z, y, w = _problem(8)
    X = Z[:, 1:]
    base = QuantileRegressor(quantile=0.3).fit(X, y, sample_weight=w)
    X_f, y_ro, w_ro = np.asfortranarray(X), y.copy(), w.copy()
    X_f.flags.writeable = y_ro.flags.writeable = w_ro.flags.writeable = False
    other = QuantileRegressor(quantile=0.3).fit(X_f, y_ro, sample_weight=w_ro)
    assert_allclose(other.coef_, base.coef_, rtol=1e-12)
    assert_allclose(other.objective_, base.objective_, rtol=1e-12)
    assert_allclose(other.predict(X_f), base.predict(X), rtol=1e-12)


# ---------------------------------------------------------------------------
# Degenerate problems: the objective is optimal; the certificate is not reached
# ---------------------------------------------------------------------------

def _degenerate(kind):
    rng = np.random.default_rng(11)
    if kind == "tied-median":
        return np.ones((10, 1)), np.array([1, 1, 1, 2, 2, 2, 3, 3, 3, 3.0])
    if kind == "constant-y":
        return np.c_[np.ones(40), rng.standard_normal(40)], np.ones(40)
    if kind == "perfect-fit":
        Z = np.c_[np.ones(40), rng.standard_normal((40, 2))]
        return Z, Z @ np.array([1.0, 2.0, -1.0])
    if kind == "sklearn-check":  # the data of scikit-learn's check_sample_weights_*
        X = np.array([[1, 1], [1, 2], [1, 3], [1, 4], [2, 1], [2, 2], [2, 3], [2, 4],
                      [3, 1], [3, 2], [3, 3], [3, 4]], dtype=np.float64)
        return np.c_[np.ones(12), X], np.array([1, 1, 1, 1, 2, 2, 2, 2, 1, 1, 1, 1.0])
    if kind == "groups-counts":  # a treatment indicator and Poisson counts
        g = rng.integers(0, 2, 300).astype(float)
        return np.c_[np.ones(300), g], rng.poisson(3 + g).astype(float)
    raise ValueError(kind)


_DEGENERATE = ["tied-median", "constant-y", "perfect-fit", "sklearn-check", "groups-counts"]


@pytest.mark.parametrize("kind", _DEGENERATE)
@pytest.mark.parametrize("q", [0.25, 0.5])
def test_degenerate_objective_matches_linprog(kind, q):
    Z, y = _degenerate(kind)
    sol = solve_quantile(Z, y, None, q)
    lp_obj, _ = lp_quantile_objective(Z, y, q)
    assert_allclose(sol.objective, lp_obj, rtol=1e-9, atol=1e-12)


@pytest.mark.parametrize("kind", _DEGENERATE)
def test_degenerate_problems_are_certified(kind):
    Z, y = _degenerate(kind)
    sol = solve_quantile(Z, y, None, 0.5)
    assert sol.status == "optimal"
    assert sol.n_pivots <= 2 * y.size


# ---------------------------------------------------------------------------
# Estimator API
# ---------------------------------------------------------------------------

def test_several_quantiles_equal_separate_fits():
    Z, y, w = _problem(9, n_features=3)
    X = Z[:, 1:]
    quantiles = [0.75, 0.1, 0.5]
    joint = QuantileRegressor(quantile=quantiles).fit(X, y, sample_weight=w)
    assert joint.coef_.shape == (3, 2)
    assert joint.intercept_.shape == (3,)
    assert joint.n_iter_.shape == (3,) and joint.objective_.shape == (3,)
    assert len(joint.status_) == 3
    for k, q in enumerate(quantiles):
        single = QuantileRegressor(quantile=q).fit(X, y, sample_weight=w)
        _unique_solution(Z, y, w, q)
        assert np.ndim(single.coef_) == 1 and isinstance(single.intercept_, float)
        assert_allclose(joint.objective_[k], single.objective_, rtol=1e-10)
        assert_allclose(joint.coef_[k], single.coef_, rtol=1e-9, atol=1e-12)
        assert_allclose(joint.intercept_[k], single.intercept_, rtol=1e-9, atol=1e-12)
    # the quantiles stay in the order given
    assert joint.intercept_[1] < joint.intercept_[2] < joint.intercept_[0]


def test_single_quantile_in_a_list_gives_2d_coef():
    Z, y, _ = _problem(10, n_features=3)
    model = QuantileRegressor(quantile=[0.5]).fit(Z[:, 1:], y)
    assert model.coef_.shape == (1, 2) and model.predict(Z[:5, 1:]).shape == (5, 1)


def test_fit_intercept_false():
    Z, y, w = _problem(12, n_features=3)
    with_intercept = QuantileRegressor(quantile=0.3).fit(Z[:, 1:], y, sample_weight=w)
    no_intercept = QuantileRegressor(quantile=0.3, fit_intercept=False).fit(Z, y, sample_weight=w)
    assert no_intercept.intercept_ == 0.0
    assert no_intercept.coef_.shape == (3,)
    assert_allclose(no_intercept.objective_, with_intercept.objective_, rtol=1e-10)
    assert_allclose(no_intercept.coef_[0], with_intercept.intercept_, rtol=1e-9)
    assert_allclose(no_intercept.coef_[1:], with_intercept.coef_, rtol=1e-9)
    # and it really fits through the origin
    origin = QuantileRegressor(quantile=0.3, fit_intercept=False).fit(Z[:, 1:], y, sample_weight=w)
    sol = solve_quantile(Z[:, 1:], y, w, 0.3)
    assert_allclose(origin.objective_, sol.objective, rtol=1e-12)
    assert origin.objective_ > with_intercept.objective_


def test_predict_shapes_and_values():
    Z, y, _ = _problem(13, n_features=3)
    X = Z[:, 1:]
    X_new = np.random.default_rng(13).standard_normal((7, 2))
    single = QuantileRegressor(quantile=0.5).fit(X, y)
    pred = single.predict(X_new)
    assert pred.shape == (7,)
    assert_allclose(pred, X_new @ single.coef_ + single.intercept_, rtol=1e-12)
    joint = QuantileRegressor(quantile=[0.2, 0.8]).fit(X, y)
    pred = joint.predict(X_new)
    assert pred.shape == (7, 2)
    for k in range(2):
        assert_allclose(pred[:, k], X_new @ joint.coef_[k] + joint.intercept_[k], rtol=1e-12)
    no_int = QuantileRegressor(fit_intercept=False, quantile=[0.2, 0.8]).fit(X, y)
    assert no_int.predict(X_new).shape == (7, 2)


def test_score_is_r2():
    Z, y, w = _problem(14, n_features=3)
    X = Z[:, 1:]
    single = QuantileRegressor(quantile=0.5).fit(X, y)
    assert_allclose(single.score(X, y), r2_score(y, single.predict(X)), rtol=1e-12)
    assert_allclose(
        single.score(X, y, sample_weight=w),
        r2_score(y, single.predict(X), sample_weight=w),
        rtol=1e-12,
    )
    # several quantiles: the mean of the per-quantile R^2 (documented in score)
    quantiles = [0.25, 0.5, 0.75]
    joint = QuantileRegressor(quantile=quantiles).fit(X, y)
    separate = [QuantileRegressor(quantile=q).fit(X, y).score(X, y, sample_weight=w)
                for q in quantiles]
    assert_allclose(joint.score(X, y, sample_weight=w), np.mean(separate), rtol=1e-10)
    assert isinstance(joint.score(X, y), float)


def test_objective_is_summed_pinball_loss():
    Z, y, w = _problem(15, n_features=3)
    X = Z[:, 1:]
    quantiles = [0.3, 0.6]
    model = QuantileRegressor(quantile=quantiles).fit(X, y, sample_weight=w)
    loss = pinball_loss(y, model.predict(X), quantile=quantiles, sample_weight=w, reduce="sum")
    assert_allclose(model.objective_, loss, rtol=1e-12)


@pytest.mark.parametrize("q", [0.05, 0.5, 0.9])
@pytest.mark.parametrize("weighted", [False, True])
def test_pinball_loss_matches_sklearn(q, weighted):
    rng = np.random.default_rng(16)
    y_true, y_pred = rng.standard_normal(50), rng.standard_normal(50)
    y_pred[:5] = y_true[:5]  # r = 0 exactly
    w = rng.uniform(0, 2, 50) if weighted else None
    expected = mean_pinball_loss(y_true, y_pred, sample_weight=w, alpha=q)
    assert_allclose(pinball_loss(y_true, y_pred, quantile=q, sample_weight=w), expected, rtol=1e-12)
    total = expected * (50 if w is None else w.sum())
    assert_allclose(
        pinball_loss(y_true, y_pred, quantile=q, sample_weight=w, reduce="sum"), total, rtol=1e-12
    )


def test_pinball_loss_several_quantiles():
    rng = np.random.default_rng(17)
    y_true, y_pred = rng.standard_normal(40), rng.standard_normal((40, 3))
    quantiles = [0.1, 0.5, 0.9]
    loss = pinball_loss(y_true, y_pred, quantile=quantiles)
    assert loss.shape == (3,)
    for k, q in enumerate(quantiles):
        assert_allclose(loss[k], mean_pinball_loss(y_true, y_pred[:, k], alpha=q), rtol=1e-12)


@pytest.mark.parametrize(
    "kwargs, match",
    [
        ({"y_true": [1.0, np.nan], "y_pred": [0.0, 0.0]}, "y_true must be finite"),
        ({"y_true": [1.0, 2.0], "y_pred": [0.0, np.inf]}, "y_pred must be finite"),
        ({"y_true": [], "y_pred": []}, "y_true must hold at least one"),
        ({"y_true": ["a", "b"], "y_pred": [0.0, 0.0]}, "y_true must be a 1-D array of numbers"),
        ({"y_true": [[1.0, 2.0]], "y_pred": [[0.0, 0.0]]}, "y_true must be 1-D"),
        ({"y_true": [1.0, 2.0], "y_pred": [0.0]}, "y_pred must have shape"),
        ({"y_true": [1.0, 2.0], "y_pred": [[0.0, 1.0]] * 2}, "column"),
        ({"y_true": [1.0, 2.0], "y_pred": [0.0, 0.0], "quantile": 1.0}, "quantile"),
        ({"y_true": [1.0, 2.0], "y_pred": [0.0, 0.0], "reduce": "median"}, "reduce"),
        (
            {"y_true": [1.0, 2.0], "y_pred": [0.0, 0.0], "sample_weight": [1.0, -1.0]},
            "sample_weight",
        ),
    ],
)
def test_pinball_loss_bad_input(kwargs, match):
    with pytest.raises(ValueError, match=match):
        pinball_loss(**kwargs)


def test_convergence_warning_reports_iterations():
    Z, y, w = _problem(18, n_features=3)
    X = Z[:, 1:]
    exact = QuantileRegressor(quantile=0.4).fit(X, y, sample_weight=w)
    with pytest.warns(ConvergenceWarning, match=r"max_iter=2 after 2 iterations"):
        capped = QuantileRegressor(quantile=0.4, max_iter=2).fit(X, y, sample_weight=w)
    assert capped.n_iter_ == 2
    # the exact finish still returns the optimum
    assert capped.status_ == "optimal"
    assert_allclose(capped.objective_, exact.objective_, rtol=1e-9)


def test_convergence_warning_per_quantile():
    Z, y, _ = _problem(19, n_features=3)
    with pytest.warns(ConvergenceWarning, match="max_iter=1 after 1 iterations") as record:
        QuantileRegressor(quantile=[0.3, 0.7], max_iter=1).fit(Z[:, 1:], y)
    messages = [str(r.message) for r in record if r.category is ConvergenceWarning]
    assert any("quantile 0.3" in m for m in messages) and any("quantile 0.7" in m for m in messages)


def test_pivot_cap_warns_and_returns_best_vertex():
    Z, y, _ = _problem(20, n_samples=400, n_features=5)
    with pytest.warns(ConvergenceWarning) as record:
        model = QuantileRegressor(max_iter=1, max_pivots=1).fit(Z[:, 1:], y)
    assert any("simplex pivots" in str(r.message) for r in record)
    assert model.status_ == "inexact"
    assert model.n_pivots_ == 1
    assert np.all(np.isfinite(model.coef_))


# ---------------------------------------------------------------------------
# Bad input
# ---------------------------------------------------------------------------

def _xy(n_samples=30, n_features=2):
    rng = np.random.default_rng(21)
    X = rng.standard_normal((n_samples, n_features))
    return X, X @ np.arange(1.0, n_features + 1) + rng.standard_normal(n_samples)


def _with(array, index, value):
    out = np.array(array, dtype=np.float64)
    out.flat[index] = value
    return out


_X, _Y = _xy()
_BAD_FIT = {
    "X-nan": ({}, _with(_X, 3, np.nan), _Y, None, "Input X contains NaN"),
    "X-inf": ({}, _with(_X, 3, np.inf), _Y, None, "Input X contains infinity"),
    "y-nan": ({}, _X, _with(_Y, 3, np.nan), None, "Input y contains NaN"),
    "y-inf": ({}, _X, _with(_Y, 3, -np.inf), None, "Input y contains infinity"),
    "q-0": ({"quantile": 0}, _X, _Y, None, "quantile must lie strictly between 0 and 1, got 0"),
    "q-1": ({"quantile": 1}, _X, _Y, None, "quantile must lie strictly between 0 and 1, got 1"),
    "q-neg": ({"quantile": -0.1}, _X, _Y, None, r"quantile .* got -0\.1"),
    "q-1.5": ({"quantile": 1.5}, _X, _Y, None, r"quantile .* got 1\.5"),
    "q-nan": ({"quantile": np.nan}, _X, _Y, None, "quantile .* got nan"),
    "q-empty": ({"quantile": []}, _X, _Y, None, r"quantile must be .* non-empty .* got \[\]"),
    "q-2d": ({"quantile": [[0.5]]}, _X, _Y, None, r"quantile must be .* 1-D .* got \[\[0\.5\]\]"),
    "q-list-bad": ({"quantile": [0.5, 2.0]}, _X, _Y, None, r"quantile .* got 2\.0"),
    "q-str": ({"quantile": "median"}, _X, _Y, None, "quantile must be a number"),
    "q-None": ({"quantile": None}, _X, _Y, None, "quantile must be a number .* got None"),
    "q-bool": ({"quantile": True}, _X, _Y, None, "quantile must be a number"),
    "w-negative": ({}, _X, _Y, _with(np.ones(30), 2, -1.0),
                   r"sample_weight must be non-negative, got minimum -1\.0"),
    "w-nan": ({}, _X, _Y, _with(np.ones(30), 2, np.nan), "sample_weight must be finite"),
    "w-all-zero": ({}, _X, _Y, np.zeros(30),
                   "sample_weight must have at least one positive entry"),
    "w-length": ({}, _X, _Y, np.ones(29), r"sample_weight must have shape \(30,\)"),
    "w-str": ({}, _X, _Y, ["a"] * 30, "sample_weight must be an array of non-negative"),
    "xy-length": ({}, _X, _Y[:-1], None, "X and y must have the same number of samples"),
    "empty": ({}, _X[:0], _Y[:0], None, "X must be a non-empty 2-D array.* 0 sample"),
    "no-columns": ({}, _X[:, :0], _Y, None, "X must be a non-empty 2-D array.* 0 feature"),
    "X-strings": ({}, np.array([["a", "b"]] * 30), _Y, None,
                  "X must be a non-empty 2-D array of numbers.*could not convert"),
    "y-strings": ({}, _X, np.array(["a"] * 30), None, "y must be a 1-D array of numbers"),
    "X-1d": ({}, _X[:, 0], _Y, None, "X must be a non-empty 2-D array.*Expected 2D"),
    "y-2d": ({}, _X, np.c_[_Y, _Y], None, "y should be a 1d array"),
    "collinear": ({}, np.c_[_X, _X[:, 0] - 2 * _X[:, 1]], _Y, None,
                  "X is rank deficient.*collinear"),
    "constant-column": ({}, np.c_[_X, np.full(30, 3.0)], _Y, None,
                        "X is rank deficient.*constant column"),
    "zero-column": ({"fit_intercept": False}, np.c_[_X, np.zeros(30)], _Y, None,
                    "X is rank deficient: X column 2 is zero"),
    "too-few-rows": ({}, _X[:2], _Y[:2], None,
                     r"at least as many samples .* coefficients to fit \(3\), got n_samples = 2"),
    "too-few-weighted-rows": ({}, _X, _Y, _with(np.zeros(30), [0, 1], 1.0),
                              "positive weight .* got n_samples = 2"),
    "no-intercept-no-columns": ({"fit_intercept": False}, _X[:, :0], _Y, None, "X must be"),
    "tol": ({"tol": -1.0}, _X, _Y, None, "tol must be a finite number > 0, got -1.0"),
    "tol-nan": ({"tol": np.nan}, _X, _Y, None, "tol must be a finite number"),
    "max_iter": ({"max_iter": 0}, _X, _Y, None, "max_iter must be an integer >= 1, got 0"),
    "max_iter-float": ({"max_iter": 10.5}, _X, _Y, None, "max_iter must be an integer"),
    "max_pivots": ({"max_pivots": 0}, _X, _Y, None, "max_pivots must be an integer >= 1"),
    "preprocess": ({"preprocess": "yes"}, _X, _Y, None, "preprocess must be 'auto', True or"),
    "fit_intercept": ({"fit_intercept": "yes"}, _X, _Y, None, "fit_intercept must be True or"),
}


@pytest.mark.parametrize("case", list(_BAD_FIT))
def test_bad_fit_input_raises_named_value_error(case):
    params, X, y, w, match = _BAD_FIT[case]
    with pytest.raises(ValueError, match=match):
        QuantileRegressor(**params).fit(X, y, sample_weight=w)


def test_non_number_objects_raise_named_type_error():
    """scikit-learn's contract (check_dtype_object) wants a TypeError here; it names X."""
    X = np.array([[{}, 1.0]] * 30, dtype=object)
    with pytest.raises(TypeError, match="X must be a non-empty 2-D array of numbers"):
        QuantileRegressor().fit(X, _Y)


@pytest.mark.parametrize(
    "X_new, match",
    [
        (_X[:, 0], "X must be a non-empty 2-D array.*Expected 2D"),
        (_X[:, :1], "X has 1 features, but QuantileRegressor is expecting 2"),
        (_with(_X, 0, np.nan), "Input X contains NaN"),
        (np.array([["a", "b"]]), "X must be a non-empty 2-D array of numbers"),
    ],
)
def test_bad_predict_input(X_new, match):
    model = QuantileRegressor().fit(_X, _Y)
    with pytest.raises(ValueError, match=match):
        model.predict(X_new)


def test_huge_but_finite_x_fits_or_raises_value_error():
    base = QuantileRegressor().fit(_X, _Y)
    try:
        model = QuantileRegressor().fit(_X * 1e300, _Y)
    except ValueError:
        return
    assert_allclose(model.coef_ * 1e300, base.coef_, rtol=1e-9)


def test_extreme_scales_of_y_are_exact():
    """Equivariance in y: scaling y by 1e+-300 scales the solution, no overflow or NaN."""
    base = QuantileRegressor(quantile=0.3).fit(_X, _Y)
    for c in (1e300, 1e-300):
        model = QuantileRegressor(quantile=0.3).fit(_X, c * _Y)
        assert model.status_ == "optimal"
        assert_allclose(model.coef_, c * base.coef_, rtol=1e-9)
        assert_allclose(model.objective_, c * base.objective_, rtol=1e-9)
