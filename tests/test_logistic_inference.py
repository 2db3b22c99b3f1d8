"""LogisticRegression.summary() (issue 16, part 2) against statsmodels' Logit and GLM."""
import numpy as np
import pytest
import scipy.sparse as sp
from numpy.testing import assert_allclose

from statoptim import LogisticRegression
from statoptim.optim._inference import LogisticSummary

sm = pytest.importorskip("statsmodels.api")


def _problem(n=300, p=4, seed=0):
    rng = np.random.default_rng(seed)
    X = rng.standard_normal((n, p)) * [1.0, 3.0, 0.2, 1.0][:p]
    eta = -0.4 + X @ np.array([0.8, -0.3, 2.0, 0.0][:p])
    y = (rng.random(n) < 1.0 / (1.0 + np.exp(-eta))).astype(float)
    return X, y


def _statsmodels(X, y, **kw):
    return sm.Logit(y, sm.add_constant(X)).fit(disp=0, method="newton", tol=1e-14, **kw)


@pytest.mark.parametrize("solver", ["newton", "lbfgs"])
def test_summary_equals_statsmodels_logit(solver):
    X, y = _problem()
    est = LogisticRegression(solver, alpha=0.0, tol=1e-14 if solver == "newton" else 1e-11)
    s = est.fit(X, y).summary(X, y)
    ref = _statsmodels(X, y)
    assert_allclose(s.coef, ref.params, rtol=1e-6, atol=1e-7)
    assert_allclose(s.bse, ref.bse, rtol=1e-6)
    assert_allclose(s.zvalues, ref.tvalues, rtol=1e-6, atol=1e-7)
    assert_allclose(s.pvalues, ref.pvalues, rtol=1e-6, atol=1e-12)
    assert_allclose(s.conf_int, ref.conf_int(alpha=0.05), rtol=1e-6, atol=1e-7)
    assert_allclose(s.cov, ref.cov_params(), rtol=1e-6, atol=1e-12)
    assert s.cov_type == "observed information" and s.note == ""
    s90 = est.summary(X, y, level=0.9)
    assert_allclose(s90.conf_int, ref.conf_int(alpha=0.1), rtol=1e-6, atol=1e-7)


def test_summary_sparse_and_weighted_equal_statsmodels():
    X, y = _problem(200, 3, seed=1)
    rng = np.random.default_rng(2)
    w = rng.integers(1, 4, X.shape[0])
    est = LogisticRegression(alpha=0.0, tol=1e-14).fit(X, y, sample_weight=w)
    s = est.summary(sp.csr_matrix(X), y, sample_weight=w)
    # frequency weights: statsmodels on the duplicated rows, and its GLM freq_weights
    rows = np.repeat(np.arange(X.shape[0]), w)
    ref = _statsmodels(X[rows], y[rows])
    assert_allclose(s.bse, ref.bse, rtol=1e-6)
    glm = sm.GLM(y, sm.add_constant(X), family=sm.families.Binomial(),
                 freq_weights=w).fit(tol=1e-14)
    assert_allclose(s.bse, glm.bse, rtol=1e-6)
    assert s.nobs == w.sum()


def test_ridge_summary_is_the_sandwich_and_says_so():
    X, y = _problem()
    alpha = 0.05
    est = LogisticRegression(alpha=alpha, tol=1e-14).fit(X, y)
    s = est.summary(X, y)
    assert s.cov_type == "ridge sandwich" and "biased" in s.note and "sandwich" in str(s)
    # independent reference: information from statsmodels' Hessian of the log-likelihood
    # at the ridge estimate, penalty Hessian n alpha diag(0, 1, ..., 1)
    theta = np.concatenate([est.intercept_, est.coef_[0]])
    info = -sm.Logit(y, sm.add_constant(X)).hessian(theta)
    P = np.diag(np.r_[0.0, np.full(X.shape[1], X.shape[0] * alpha)])
    Hinv = np.linalg.inv(info + P)
    assert_allclose(s.cov, Hinv @ info @ Hinv, rtol=1e-8, atol=1e-14)
    # shrinkage: smaller than the unpenalised standard errors
    s0 = LogisticRegression(alpha=0.0, tol=1e-14).fit(X, y).summary(X, y)
    assert np.all(s.bse[1:] < s0.bse[1:])


def test_summary_refuses_separation_with_the_reason():
    x = np.linspace(-1, 1, 30)[:, None]
    y = (x[:, 0] > 0).astype(float)
    from statoptim.optim import SeparationWarning
    with pytest.warns(SeparationWarning):
        est = LogisticRegression(alpha=0.0).fit(x, y)
    with pytest.raises(ValueError, match="separable"):
        est.summary(x, y)
    # L-BFGS at alpha=0 checks separation too when its iterates diverge
    import warnings

    from sklearn.exceptions import ConvergenceWarning
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        with pytest.warns(SeparationWarning):
            est = LogisticRegression("lbfgs", alpha=0.0, max_iter=50).fit(x, y)
    assert est.separable_
    with pytest.raises(ValueError, match="separable"):
        est.summary(x, y)
    # with a ridge the estimate exists and summary answers
    s = LogisticRegression(alpha=0.1).fit(x, y).summary(x, y)
    assert np.all(np.isfinite(s.bse))


def test_summary_refuses_singular_information_and_other_data():
    X, y = _problem(100, 2)
    Xc = np.column_stack([X, np.full(100, 3.0)])  # constant column: not identifiable
    from statoptim.optim import SeparationWarning
    with pytest.warns(SeparationWarning, match="constant"):
        est = LogisticRegression(alpha=0.0).fit(Xc, y)
    with pytest.raises(ValueError, match="singular"):
        est.summary(Xc, y)
    est = LogisticRegression(alpha=0.0).fit(X, y)
    with pytest.raises(ValueError, match="stationary"):
        est.summary(X + 1.0, y)
    with pytest.raises(ValueError, match="level"):
        est.summary(X, y, level=1.0)
    with pytest.raises(ValueError, match="features"):
        est.summary(Xc, y)
    with pytest.raises(ValueError, match="sample_weight"):
        est.summary(X, y, sample_weight=-np.ones(100))


def test_summary_table_and_frame():
    X, y = _problem(150, 2)
    s = LogisticRegression(alpha=0.0).fit(X, y).summary(X, y)
    assert isinstance(s, LogisticSummary)
    text = str(s)
    for word in ("intercept", "x0", "x1", "std err", "P>|z|", "[0.025", "0.975]",
                 "observed information"):
        assert word in text
    pd = pytest.importorskip("pandas")
    frame = s.to_frame()
    assert list(frame.index) == ["intercept", "x0", "x1"]
    assert_allclose(frame["std err"].to_numpy(), s.bse)
    df = pd.DataFrame(X, columns=["age", "dose"])
    s2 = LogisticRegression(alpha=0.0).fit(df, y).summary(df, y)
    assert list(s2.to_frame().index) == ["intercept", "age", "dose"]
