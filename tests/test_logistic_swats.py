"""LogisticRegression(solver="swats") (issue 16, part 7): Adam, then SGD once the projected
learning rate settles (Keskar & Socher 2017), binary and multinomial, against the SWATS
optimiser object stepping on the full-data gradient, with the switch reported."""
import re
import warnings

import numpy as np
import pytest
import scipy.sparse as sp
from numpy.testing import assert_allclose
from sklearn.exceptions import ConvergenceWarning
from sklearn.utils.estimator_checks import parametrize_with_checks

from statoptim import LogisticRegression
from statoptim.optim import SWATS, logistic_objective
from statoptim.optim._multinomial import multinomial_objective, softmax


def _problem(n=300, p=4, K=3, seed=0):
    rng = np.random.default_rng(seed)
    X = rng.standard_normal((n, p))
    P = softmax(X @ rng.standard_normal((K, p)).T)
    y = (P.cumsum(axis=1) > rng.random(n)[:, None]).argmax(axis=1)
    return X, y


def _reference(X, y, n_classes, alpha, lr, switch_tol, epochs):
    """The SWATS object stepping on the exact (full-batch) gradient: what the estimator's
    compiled epochs do with batch_size >= n_samples."""
    p = X.shape[1]
    K = 1 if n_classes == 2 else n_classes
    theta = np.zeros(K * (p + 1))
    opt = SWATS(lr, switch_tol=switch_tol)
    for _ in range(epochs):
        if K == 1:
            g = logistic_objective(X, y, theta, alpha)[1]
        else:
            g = multinomial_objective(X, y.astype(np.intp), theta.reshape(K, p + 1), alpha)[1]
        opt.step(theta, g.ravel())
    return theta.reshape(K, p + 1), opt


@pytest.mark.parametrize("n_classes", [2, 3])
def test_swats_full_batch_equals_the_swats_optimiser(n_classes):
    X, y = _problem(200, 4, n_classes, seed=n_classes)
    tol = 1e-3 if n_classes == 2 else 1e-4  # switches at step 2, and at step 36
    theta, opt = _reference(X, y, n_classes, 1e-2, 0.01, tol, 60)
    assert opt.switch_steps[0] is not None  # the problem does switch
    est = LogisticRegression("swats", alpha=1e-2, learning_rate=0.01, switch_tol=tol,
                             batch_size=10**6, shuffle=False, stopping=None,
                             max_iter=60).fit(X, y)
    # one update per epoch: the switch step is the switch epoch
    assert est.switch_epoch_ == opt.switch_steps[0]
    assert est.switch_learning_rate_ == pytest.approx(opt.switch_learning_rates[0], rel=1e-12)
    assert_allclose(np.column_stack([est.intercept_ if n_classes == 2 else
                                     est.intercept_ + theta[:, 0].mean(), est.coef_]),
                    theta, atol=1e-12)


def test_swats_before_the_switch_is_adam_and_never_switching_reports_none():
    X, y = _problem(300, 4, 2, seed=5)
    kw = dict(alpha=1e-2, learning_rate=0.01, stopping=None, max_iter=5, random_state=0)
    swats = LogisticRegression("swats", switch_tol=1e-12, **kw).fit(X, y)
    adam = LogisticRegression("adam", **kw).fit(X, y)
    assert swats.switch_epoch_ is None and swats.switch_learning_rate_ is None
    assert_allclose(swats.coef_, adam.coef_, atol=1e-12)
    assert_allclose(swats.intercept_, adam.intercept_, atol=1e-12)
    assert not hasattr(adam, "switch_epoch_")


@pytest.mark.parametrize("n_classes", [2, 3])
def test_swats_minibatch_switches_and_reaches_the_optimum(n_classes):
    X, y = _problem(600, 5, n_classes, seed=7)
    alpha = 1e-2
    est = LogisticRegression("swats", alpha=alpha, learning_rate=0.01, switch_tol=1e-4,
                             stopping=None, max_iter=150, random_state=0).fit(X, y)
    assert est.switch_epoch_ is not None and 1 <= est.switch_epoch_ < 150
    assert est.switch_learning_rate_ > 0
    ref = LogisticRegression("newton", alpha=alpha).fit(X, y)
    theta = np.column_stack([est.intercept_, est.coef_])
    theta_ref = np.column_stack([ref.intercept_, ref.coef_])
    if n_classes == 2:
        F = logistic_objective(X, y, theta[0], alpha)[0]
        F_ref = logistic_objective(X, y, theta_ref[0], alpha)[0]
    else:
        F = multinomial_objective(X, y.astype(np.intp), theta, alpha)[0]
        F_ref = multinomial_objective(X, y.astype(np.intp), theta_ref, alpha)[0]
    # the SGD phase at a constant step stalls at a noise floor (measured 1e-4 here)
    assert F_ref <= F <= F_ref * (1 + 1e-3)
    assert_allclose(est.predict_proba(X).sum(axis=1), 1.0, rtol=1e-14)


def test_swats_partial_fit_keeps_the_phase_and_csr_equals_dense():
    X, y = _problem(300, 4, 3, seed=11)
    kw = dict(alpha=1e-2, learning_rate=0.01, switch_tol=1e-3, random_state=0)
    est = LogisticRegression("swats", **kw)
    for _ in range(10):
        est.partial_fit(X, y, classes=[0, 1, 2])
    fit = LogisticRegression("swats", stopping=None, max_iter=10, **kw).fit(X, y)
    assert est.switch_epoch_ == fit.switch_epoch_ is not None
    assert_allclose(est.coef_, fit.coef_, atol=1e-13)
    csr = LogisticRegression("swats", stopping=None, max_iter=10, **kw).fit(sp.csr_matrix(X), y)
    assert csr.switch_epoch_ == fit.switch_epoch_
    assert_allclose(csr.coef_, fit.coef_, atol=1e-12)


@pytest.mark.parametrize("params,name", [
    ({"switch_tol": -1.0}, "switch_tol"),
    ({"switch_tol": np.nan}, "switch_tol"),
    ({"amsgrad": True}, "amsgrad"),
    ({"beta2": 1.0}, "beta2"),
])
def test_swats_bad_parameters(params, name):
    X, y = _problem(60, 3, 2)
    with pytest.raises((ValueError, TypeError)) as info:
        LogisticRegression("swats", **params).fit(X, y)
    assert re.search(rf"\b{name}\b", str(info.value)), str(info.value)


@parametrize_with_checks([
    LogisticRegression("swats", learning_rate=0.05, max_iter=50, tol=1e-2, random_state=0,
                       switch_tol=1e-4),
])
def test_sklearn_compatible(estimator, check):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        check(estimator)
