"""Multinomial (softmax) LogisticRegression (issue 16, part 5; solver "auto"/"lbfgs")."""
import numpy as np
import pytest
import scipy.sparse as sp
from numpy.testing import assert_allclose
from sklearn.datasets import load_iris

from statoptim import LogisticRegression
from statoptim.optim._multinomial import multinomial_objective


def _iris():
    X, y = load_iris(return_X_y=True)
    return (X - X.mean(axis=0)) / X.std(axis=0), y


def _F(est, X, y, alpha):
    yk = np.searchsorted(est.classes_, y)
    theta = np.column_stack([est.intercept_, est.coef_])
    return multinomial_objective(X, yk.astype(np.intp), theta, alpha)[0]


def test_objective_gradient_by_finite_differences():
    rng = np.random.default_rng(0)
    X = rng.standard_normal((40, 3))
    yk = rng.integers(0, 4, 40).astype(np.intp)
    theta = rng.standard_normal((4, 4))
    sw = rng.random(40) * 2
    F, g = multinomial_objective(X, yk, theta, 0.3, sw)
    h = 1e-6
    num = np.zeros_like(theta)
    for idx in np.ndindex(theta.shape):
        e = np.zeros_like(theta)
        e[idx] = h
        num[idx] = (multinomial_objective(X, yk, theta + e, 0.3, sw)[0]
                    - multinomial_objective(X, yk, theta - e, 0.3, sw)[0]) / (2 * h)
    assert_allclose(g, num, rtol=1e-6, atol=1e-8)
    # NumPy reference for F
    eta = X @ theta[:, 1:].T + theta[:, 0]
    ref = np.sum(sw * (np.log(np.exp(eta).sum(1)) - eta[np.arange(40), yk])) / 40
    assert F == pytest.approx(ref + 0.15 * np.sum(theta[:, 1:] ** 2), rel=1e-13)


@pytest.mark.parametrize("C", [0.1, 10.0])
def test_objective_equals_sklearn_multinomial_lbfgs(C):
    from sklearn.linear_model import LogisticRegression as SkLR

    X, y = _iris()
    alpha = 1.0 / (C * X.shape[0])  # sklearn: sum loss + ||W||^2/(2C); ours: mean + alpha/2
    ours = LogisticRegression(alpha=alpha, tol=1e-10).fit(X, y)
    sk = SkLR(C=C, tol=1e-12, max_iter=10_000).fit(X, y)
    assert ours.solver_ == "lbfgs" and ours.coef_.shape == (3, 4)
    F_ours = _F(ours, X, y, alpha)
    F_sk = _F(sk, X, y, alpha)
    assert F_ours <= F_sk + 1e-6 * abs(F_sk)
    assert F_ours == pytest.approx(F_sk, rel=1e-6)
    assert_allclose(ours.predict_proba(X), sk.predict_proba(X), atol=1e-4)
    P = ours.predict_proba(X)
    assert_allclose(P.sum(axis=1), 1.0, rtol=1e-14)
    assert_allclose(np.exp(ours.predict_log_proba(X)), P, rtol=1e-12)
    np.testing.assert_array_equal(ours.predict(X), ours.classes_[P.argmax(axis=1)])


def test_multinomial_weights_sparse_and_labels():
    X, y = _iris()
    rng = np.random.default_rng(1)
    w = rng.integers(0, 3, len(y))
    labels = np.array(["setosa", "versicolor", "virginica"])[y]
    a = LogisticRegression(alpha=1e-2, tol=1e-10).fit(X, labels, sample_weight=w)
    rows = np.repeat(np.arange(len(y)), w)
    b = LogisticRegression(alpha=1e-2, tol=1e-10).fit(X[rows], labels[rows])
    assert_allclose(a.predict_proba(X), b.predict_proba(X), atol=1e-6)
    c = LogisticRegression(alpha=1e-2, tol=1e-10).fit(sp.csr_matrix(X), labels,
                                                      sample_weight=w)
    assert_allclose(c.predict_proba(X), a.predict_proba(X), atol=1e-6)
    assert list(a.classes_) == ["setosa", "versicolor", "virginica"]
    bal = LogisticRegression(alpha=1e-2, class_weight="balanced").fit(X[:120], labels[:120])
    assert bal.coef_.shape == (3, 4)


def test_multinomial_refusals():
    X, y = _iris()
    for solver in ("newton", "adam"):
        with pytest.raises(ValueError, match="exactly two classes.*multinomial"):
            LogisticRegression(solver).fit(X, y)
    est = LogisticRegression().fit(X, y)
    with pytest.raises(ValueError, match="binary"):
        est.summary(X, y)
