"""LogisticRegression with sample_weight and class_weight (issue 16, part 1).

References: duplicated rows (an integer weight k is k copies of the row), scikit-learn's
compute_class_weight and its LogisticRegression at the matching penalty.
"""
import warnings

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays
from numpy.testing import assert_allclose
from sklearn.exceptions import ConvergenceWarning
from sklearn.utils.class_weight import compute_class_weight
from statoptim.optim._sgd_fast import logistic_loss_grad

from statoptim import LogisticRegression
from statoptim.optim._newton import _objective, logistic_hessian

STOCHASTIC = ("sgd", "momentum", "rmsprop", "adam", "adamax")


def _problem(n=120, p=4, seed=0):
    rng = np.random.default_rng(seed)
    X = rng.standard_normal((n, p))
    eta = 0.3 + X @ np.linspace(1.0, -0.5, p)
    y = (rng.random(n) < 1.0 / (1.0 + np.exp(-eta))).astype(np.float64)
    w = rng.integers(0, 4, n)  # zeros included: a row of weight 0 is absent
    w[:2] = [1, 3]
    return X, y, w


def _dup(X, y, w):
    rows = np.repeat(np.arange(X.shape[0]), w)
    return X[rows], y[rows]


def _theta(est):
    return np.concatenate([est.intercept_, est.coef_[0]])


def test_kernels_weighted_equal_duplicated_rows():
    X, y, w = _problem()
    Xd, yd = _dup(X, y, w)
    theta = np.array([0.2, 0.5, -1.0, 0.3, 0.1])
    sw = w * (X.shape[0] / w.sum())
    g, gd = np.empty(5), np.empty(5)
    F, _ = _objective(X, y, theta, 0.1, g, sw)
    Fd, _ = _objective(Xd, yd, theta, 0.1, gd)
    assert F == pytest.approx(Fd, rel=1e-13)
    assert_allclose(g, gd, rtol=1e-12, atol=1e-15)
    assert_allclose(logistic_hessian(X, theta, 0.1, sw=sw),
                    logistic_hessian(Xd, theta, 0.1), rtol=1e-12, atol=1e-15)
    # the kernel with unit weights is the unweighted kernel
    work = np.empty(4096)
    a = logistic_loss_grad(X, y, theta, 0.1, g, work)
    b = logistic_loss_grad(X, y, theta, 0.1, gd, work, np.ones(X.shape[0]))
    assert a == b
    with pytest.raises(ValueError, match="sw"):
        logistic_loss_grad(X, y, theta, 0.1, g, work, np.ones(3))


@pytest.mark.parametrize("solver", ["newton", "auto"])
@pytest.mark.parametrize("alpha", [0.0, 1e-2])
def test_integer_weights_equal_duplicated_rows(solver, alpha):
    X, y, w = _problem()
    Xd, yd = _dup(X, y, w)
    kw = {"solver": solver, "alpha": alpha, "tol": 1e-14}
    a = LogisticRegression(**kw).fit(X, y, sample_weight=w)
    b = LogisticRegression(**kw).fit(Xd, yd)
    assert_allclose(_theta(a), _theta(b), rtol=1e-8, atol=1e-8)
    # float weights: scaling all weights changes nothing
    c = LogisticRegression(**kw).fit(X, y, sample_weight=2.5 * w)
    assert_allclose(_theta(c), _theta(a), rtol=1e-8, atol=1e-8)


@pytest.mark.parametrize("alpha", [0.0, 1e-2])
def test_lbfgs_weights_equal_duplicated_rows(alpha):
    # L-BFGS sees the same F and gradient (to rounding) on both, so its iterates agree
    # to 1e-8 ...
    X, y, w = _problem()
    Xd, yd = _dup(X, y, w)
    kw = {"solver": "lbfgs", "alpha": alpha, "max_iter": 8, "tol": 0.0}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        a = LogisticRegression(**kw).fit(X, y, sample_weight=w)
        b = LogisticRegression(**kw).fit(Xd, yd)
    assert a.n_iter_ == b.n_iter_ == 8
    assert_allclose(_theta(a), _theta(b), rtol=1e-8, atol=1e-8)
    # ... and both converge to the duplicated-row optimum as far as a line search on F
    # in float64 can tell (||grad F|| ~ sqrt(eps F mu), a few 1e-9 here)
    ref = LogisticRegression("newton", alpha=alpha, tol=1e-14).fit(Xd, yd)
    a = LogisticRegression("lbfgs", alpha=alpha, tol=1e-12).fit(X, y, sample_weight=w)
    assert_allclose(_theta(a), _theta(ref), rtol=1e-6, atol=1e-6)


@pytest.mark.parametrize("method", STOCHASTIC)
def test_stochastic_full_batch_weighted_equals_duplicated(method):
    # a batch holding every row: the weighted minibatch gradient is the gradient of the
    # weighted mean loss, which is the duplicated data's, so the iterates agree
    X, y, w = _problem(60, 3)
    Xd, yd = _dup(X, y, w)
    kw = {"solver": method, "alpha": 1e-2, "batch_size": 10**6, "shuffle": False, "stopping": None,
              "max_iter": 25, "learning_rate": 0.05}
    a = LogisticRegression(**kw).fit(X, y, sample_weight=w)
    b = LogisticRegression(**kw).fit(Xd, yd)
    assert_allclose(_theta(a), _theta(b), rtol=1e-10, atol=1e-12)
    # and partial_fit, one epoch at a time
    pa = LogisticRegression(**kw)
    pb = LogisticRegression(**kw)
    for _ in range(3):
        pa.partial_fit(X, y, classes=[0, 1], sample_weight=w)
        pb.partial_fit(Xd, yd, classes=[0, 1])
    assert_allclose(_theta(pa), _theta(pb), rtol=1e-10, atol=1e-12)


def test_stochastic_minibatch_weighted_reaches_weighted_optimum():
    # minibatches: unbiased weighted gradients; the stopping rule certifies the
    # weighted full-data gradient, so the answer is the weighted optimum
    X, y, w = _problem(400, 3, seed=2)
    ref = LogisticRegression("newton", alpha=0.05, tol=1e-14).fit(X, y, sample_weight=w)
    est = LogisticRegression("adam", alpha=0.05, learning_rate=0.1, batch_size=50,
                             schedule="invsqrt", average=True, tol=1e-3, max_iter=500,
                             random_state=0)
    est.fit(X, y, sample_weight=w)
    assert est.grad_inf_ <= 1e-3
    gap = np.abs(_theta(est) - _theta(ref)).max()
    assert gap < 0.02
    unweighted = LogisticRegression("newton", alpha=0.05, tol=1e-14).fit(X, y)
    assert np.abs(_theta(unweighted) - _theta(ref)).max() > 4 * gap


def test_unit_weights_are_the_unweighted_fit():
    X, y, _ = _problem()
    # huge equal weights: their sum overflows float64, but the fit is scale-free
    a = LogisticRegression().fit(X, y, sample_weight=np.full(len(y), 1e308))
    np.testing.assert_array_equal(_theta(a), _theta(LogisticRegression().fit(X, y)))
    for solver in ("newton", "adam"):
        kw = {"solver": solver, "random_state": 0, "max_iter": 5, "stopping": None}
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", ConvergenceWarning)
            a = LogisticRegression(**kw).fit(X, y)
            b = LogisticRegression(**kw).fit(X, y, sample_weight=np.ones(len(y)))
        np.testing.assert_array_equal(_theta(a), _theta(b))


@pytest.mark.parametrize("class_weight", ["balanced", {1: 3.0}, {0: 0.5, 1: 2.0}])
def test_class_weight_is_sklearns(class_weight):
    X, y, w = _problem(150, 3, seed=4)
    labels = np.where(y == 1, 1, 0)
    for sample_weight in (None, w.astype(float) + 0.5):
        cw = compute_class_weight(class_weight, classes=np.array([0, 1]), y=labels,
                                  sample_weight=sample_weight)
        rows = cw[labels] * (1.0 if sample_weight is None else sample_weight)
        a = LogisticRegression(alpha=1e-2, tol=1e-14, class_weight=class_weight).fit(
            X, labels, sample_weight=sample_weight)
        b = LogisticRegression(alpha=1e-2, tol=1e-14).fit(X, labels, sample_weight=rows)
        assert_allclose(_theta(a), _theta(b), rtol=1e-12, atol=1e-12)


def test_class_weight_matches_sklearn_logistic_regression():
    from sklearn.linear_model import LogisticRegression as SkLR

    X, y, _ = _problem(200, 3, seed=5)
    C = 0.5
    sk = SkLR(C=C, class_weight="balanced", tol=1e-12, max_iter=10_000).fit(X, y)
    # sklearn: sum_i w_i l_i + ||b||^2 / (2C); ours: sum_i w_i l_i / W + alpha/2 ||b||^2
    W = compute_class_weight("balanced", classes=np.array([0.0, 1.0]), y=y)[
        y.astype(int)].sum()
    ours = LogisticRegression(alpha=1.0 / (C * W), tol=1e-14, class_weight="balanced").fit(X, y)
    assert_allclose(ours.coef_, sk.coef_, rtol=1e-6, atol=1e-7)
    assert_allclose(ours.intercept_, sk.intercept_, rtol=1e-6, atol=1e-7)


@pytest.mark.parametrize("kwargs,match", [
    ({"sample_weight": -np.ones(120)}, "sample_weight"),
    ({"sample_weight": np.full(120, np.nan)}, "sample_weight"),
    ({"sample_weight": np.full(120, np.inf)}, "sample_weight"),
    ({"sample_weight": np.ones(7)}, "sample_weight"),
    ({"sample_weight": np.zeros(120)}, "sample_weight"),
    ({"sample_weight": np.r_[np.zeros(119), 1.0]}, "sample_weight.*both classes"),
])
def test_bad_sample_weight(kwargs, match):
    X, y, _ = _problem()
    for solver in ("newton", "sgd"):
        with pytest.raises(ValueError, match=match):
            LogisticRegression(solver).fit(X, y, **kwargs)


@pytest.mark.parametrize("class_weight,match", [
    ({2: 1.0}, "class_weight.*not classes"),
    ({"a": 1.0}, "class_weight.*not classes"),
    ({1: -1.0}, r"class_weight\[1\]"),
    ({1: np.nan}, r"class_weight\[1\]"),
    ("auto", "class_weight"),
    ([1.0, 2.0], "class_weight"),
])
def test_bad_class_weight(class_weight, match):
    X, y, _ = _problem()
    with pytest.raises(ValueError, match=match):
        LogisticRegression(class_weight=class_weight).fit(X, y)


def test_weights_leaving_one_class_are_refused():
    # found by the fuzz test: all weight on rows of one class left the intercept to
    # diverge (Newton's ConvergenceWarning); duplicated rows would be a one-class y
    X, y, _ = _problem()
    w = np.where(y == 1, 1.0, 0.0)
    for solver in ("newton", "lbfgs", "adam"):
        with pytest.raises(ValueError, match="sample_weight.*both classes"):
            LogisticRegression(solver).fit(X, y, sample_weight=w)


def test_partial_fit_refuses_balanced_but_takes_a_dict():
    X, y, _ = _problem()
    with pytest.raises(ValueError, match="balanced.*partial_fit"):
        LogisticRegression("sgd", class_weight="balanced").partial_fit(X, y, classes=[0, 1])
    est = LogisticRegression("sgd", class_weight={1.0: 2.0}, random_state=0)
    est.partial_fit(X, y, classes=[0, 1])
    ref = LogisticRegression("sgd", random_state=0).partial_fit(
        X, y, classes=[0, 1], sample_weight=np.where(y == 1, 2.0, 1.0))
    np.testing.assert_array_equal(_theta(est), _theta(ref))
    with pytest.raises(ValueError, match="sample_weight"):
        est.partial_fit(X, y, sample_weight=np.ones(3))


def test_weights_with_string_labels_and_separation_on_positive_rows():
    # rows of weight 0 are absent: the positive-weight rows here are separable
    X = np.array([[-2.0], [-1.0], [1.0], [2.0], [0.5], [-0.5]])
    y = np.array(["a", "a", "b", "b", "a", "b"])
    w = np.array([1, 1, 1, 1, 0, 0])
    from statoptim.optim import SeparationWarning
    with pytest.warns(SeparationWarning):
        LogisticRegression(alpha=0.0).fit(X, y, sample_weight=w)
    est = LogisticRegression(alpha=0.1, class_weight={"b": 2.0}).fit(X, y)
    assert list(est.classes_) == ["a", "b"]


# ------------------------------------------------------------------------- fuzz


def _numpy_objective(X, y, theta, alpha):
    eta = theta[0] + X @ theta[1:]
    value = np.mean(np.logaddexp(0.0, eta) - y * eta) + 0.5 * alpha * theta[1:] @ theta[1:]
    r = 1.0 / (1.0 + np.exp(-eta)) - y
    return value, np.r_[r.mean(), X.T @ r / len(y) + alpha * theta[1:]]


@given(w=arrays(np.float64, 12, elements=st.one_of(
           st.integers(0, 3).map(float), st.sampled_from([-1.0, np.nan, np.inf]))),
       scale=st.sampled_from([1.0, 1e-300, 1e300]), seed=st.integers(0, 2**16),
       sparse=st.booleans())
def test_fuzz_logistic_weights(w, scale, seed, sparse):
    # integer weights (times a common scale, which changes nothing), or bad entries
    import scipy.sparse as sp

    rng = np.random.default_rng(seed)
    X = rng.standard_normal((12, 2)) * (rng.random((12, 2)) < 0.7)
    y = np.r_[0.0, 1.0, (rng.random(10) < 0.5).astype(float)]
    Xin = sp.csr_matrix(X) if sparse else X
    try:
        est = LogisticRegression(alpha=0.1, tol=1e-14).fit(Xin, y, sample_weight=w * scale)
    except ValueError as exc:
        assert "sample_weight" in str(exc)
        assert not (np.all(np.isfinite(w)) and np.all(w >= 0)
                    and len(np.unique(y[w > 0])) == 2)
        return
    k = w.astype(int)
    Xd, yd = X[np.repeat(np.arange(12), k)], y[np.repeat(np.arange(12), k)]
    theta = _theta(est)
    # the fit is the duplicated rows' fit, and stationary for their objective (NumPy)
    ref = LogisticRegression(alpha=0.1, tol=1e-14).fit(Xd, yd)
    assert_allclose(theta, _theta(ref), rtol=1e-8, atol=1e-8)
    _, g = _numpy_objective(Xd, yd, theta, 0.1)
    assert np.abs(g).max() < 1e-6



def test_subsampled_hessian_with_weights_reaches_the_same_fit():
    X, y, w = _problem(400, 3, seed=7)
    ref = LogisticRegression("newton", alpha=1e-2, tol=1e-14).fit(X, y, sample_weight=w)
    sub = LogisticRegression("newton", alpha=1e-2, tol=1e-14, hessian_subsample=50,
                             random_state=0).fit(X, y, sample_weight=w)
    # Newton's stopping rule (half the squared decrement <= tol * F) certifies ~1e-7 here
    assert_allclose(_theta(sub), _theta(ref), rtol=1e-6, atol=1e-6)
    plain = LogisticRegression("newton", alpha=1e-2, tol=1e-14).fit(X, y)
    assert np.abs(_theta(plain) - _theta(ref)).max() > 1e-2
