"""LogisticRegression on scipy.sparse X (issue 16, part 3): the same fit as on the dense
array, without densifying, and clear errors for bad sparse input."""
import tracemalloc
import warnings

import numpy as np
import pytest
import scipy.sparse as sp
from numpy.testing import assert_allclose
from optim_helpers import expect_value_errors
from sklearn.exceptions import ConvergenceWarning

from statoptim import LogisticRegression
from statoptim.optim._newton import _objective, logistic_hessian

STOCHASTIC = ("sgd", "momentum", "rmsprop", "adam", "adamax")


def _problem(n=150, p=6, density=0.3, seed=0):
    rng = np.random.default_rng(seed)
    X = sp.random(n, p, density=density, format="csr", random_state=seed,
                  data_rvs=rng.standard_normal)
    eta = 0.2 + X @ np.linspace(1.5, -1.0, p)
    y = (rng.random(n) < 1.0 / (1.0 + np.exp(-eta))).astype(np.float64)
    w = rng.integers(0, 3, n).astype(np.float64)
    w[0] = 1.0
    return X, y, w


def _theta(est):
    return np.concatenate([est.intercept_, est.coef_[0]])


@pytest.mark.parametrize("index_dtype", [np.int32, np.int64])
def test_csr_kernels_equal_dense(index_dtype):
    X, y, w = _problem()
    X.indices = X.indices.astype(index_dtype)
    X.indptr = X.indptr.astype(index_dtype)
    D = X.toarray()
    theta = np.linspace(-0.5, 0.7, 7)
    sw = w * (len(w) / w.sum())
    for weights in (None, sw):
        g, gd = np.empty(7), np.empty(7)
        F, m = _objective(X, y, theta, 0.1, g, weights)
        Fd, md = _objective(D, y, theta, 0.1, gd, weights)
        assert F == pytest.approx(Fd, rel=1e-14) and m == pytest.approx(md, rel=1e-14)
        assert_allclose(g, gd, rtol=1e-13, atol=1e-16)
        H = logistic_hessian(X, theta, 0.1, sw=weights)
        Hd = logistic_hessian(D, theta, 0.1, sw=weights)
        assert_allclose(np.triu(H), np.triu(Hd), rtol=1e-13, atol=1e-16)


def test_csr_kernels_check_the_structure(isolated):
    proc = isolated(expect_value_errors("""
        import numpy as np
        from statoptim.optim._sgd_fast import csr_loss_grad, csr_hessian, csr_epoch
        data = np.ones(4); idx = np.array([0, 1, 2, 7], dtype=np.intp)
        ptr = np.array([0, 2, 4], dtype=np.intp); y = np.zeros(2); th = np.zeros(4)
        ok = np.array([0, 1, 2, 3], dtype=np.intp)
        cases = [
            ("indices", lambda: csr_loss_grad(data, idx, ptr, y, th, 0.0, np.empty(4))),
            ("indices", lambda: csr_loss_grad(data, -idx, ptr, y, th, 0.0, np.empty(4))),
            ("indptr", lambda: csr_loss_grad(data, idx[:2], ptr, y, th, 0.0, np.empty(4))),
            ("indptr", lambda: csr_loss_grad(data, idx, ptr[::-1].copy(), y, th, 0.0,
                                             np.empty(4))),
            ("y", lambda: csr_loss_grad(data, ok, ptr, y[:1], np.zeros(8), 0.0,
                                        np.empty(8))),
            ("rows", lambda: csr_hessian(data, ok, ptr, np.zeros(8),
                                         np.array([5], dtype=np.intp), np.zeros((8, 8)))),
            ("H", lambda: csr_hessian(data, ok, ptr, np.zeros(8),
                                      np.array([0], dtype=np.intp), np.zeros((2, 8)))),
            ("order", lambda: csr_epoch(data, ok, ptr, y, np.array([0, 9], dtype=np.intp),
                                        1, 0.0, 0, 0, 0, .9, .9, 1e-8, np.ones(2), 0,
                                        np.zeros(8), *[np.zeros(8)] * 3, 0, 0, .9,
                                        np.zeros(8), np.zeros(8))),
            ("sw", lambda: csr_loss_grad(data, ok, ptr, y, np.zeros(8), 0.0, np.empty(8),
                                         np.ones(5))),
        ]
    """))
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.strip() == "all 9"


@pytest.mark.parametrize("solver", ["newton", "lbfgs"])
@pytest.mark.parametrize("alpha", [0.0, 1e-2])
def test_deterministic_sparse_fit_equals_dense(solver, alpha):
    X, y, w = _problem()
    for kw in ({}, {"sample_weight": w}):
        a = LogisticRegression(solver, alpha=alpha, tol=1e-14 if solver == "newton" else 1e-10)
        b = LogisticRegression(solver, alpha=alpha, tol=1e-14 if solver == "newton" else 1e-10)
        a.fit(X, y, **kw)
        b.fit(X.toarray(), y, **kw)
        assert_allclose(_theta(a), _theta(b), rtol=1e-8, atol=1e-8)
        assert_allclose(a.predict_proba(X), b.predict_proba(X.toarray()), atol=1e-8)


def test_csc_and_coo_are_converted_and_constant_columns_found():
    X, y, _ = _problem()
    X = sp.hstack([X, sp.csr_matrix((X.shape[0], 1))], format="csr")  # an all-zero column
    from statoptim.optim import SeparationWarning
    with pytest.warns(SeparationWarning, match="constant"):
        ref = LogisticRegression(alpha=0.0, tol=1e-14).fit(X.toarray(), y)
    for M in (X.tocsc(), X.tocoo(), X.astype(np.float32)):
        with pytest.warns(SeparationWarning, match="constant"):
            est = LogisticRegression(alpha=0.0, tol=1e-14).fit(M, y)
        assert est.coef_[0, -1] == 0.0
        assert_allclose(_theta(est), _theta(ref), rtol=1e-5 if M.dtype == np.float32 else 1e-8,
                        atol=1e-6 if M.dtype == np.float32 else 1e-8)


@pytest.mark.parametrize("method", STOCHASTIC)
def test_stochastic_sparse_epochs_equal_dense(method):
    X, y, w = _problem()
    kw = {"solver": method, "alpha": 1e-3, "batch_size": 16, "learning_rate": 0.05, "max_iter": 5,
              "stopping": None, "random_state": 3}
    for fit_kw in ({}, {"sample_weight": w}):
        a = LogisticRegression(**kw).fit(X, y, **fit_kw)
        b = LogisticRegression(**kw).fit(X.toarray(), y, **fit_kw)
        assert_allclose(_theta(a), _theta(b), rtol=1e-10, atol=1e-12)
        a.partial_fit(X, y, **fit_kw)
        b.partial_fit(X.toarray(), y, **fit_kw)
        assert_allclose(_theta(a), _theta(b), rtol=1e-10, atol=1e-12)


def test_sparse_fit_is_not_densified():
    # 20000 x 20000 at density 1e-4: dense would be 3.2 GB; the fit must stay near the
    # size of the matrix (0.5 MB of entries) plus O(n + p) vectors
    rng = np.random.default_rng(0)
    n = p = 20_000
    nnz = int(1e-4 * n * p)  # (scipy.sparse.random draws from n * p cells: slow here)
    X = sp.csr_matrix((rng.standard_normal(nnz), (rng.integers(0, n, nnz),
                                                  rng.integers(0, p, nnz))), shape=(n, p))
    y = (rng.random(n) < 0.5).astype(float)
    for solver in ("lbfgs", "adam"):
        tracemalloc.start()
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", ConvergenceWarning)
            LogisticRegression(solver, alpha=1e-3, max_iter=3).fit(X, y)
        peak = tracemalloc.get_traced_memory()[1]
        tracemalloc.stop()
        assert peak < 20e6, (solver, peak)
    # "auto" picks L-BFGS here: a Newton Hessian would be p x p
    est = LogisticRegression(alpha=1e-3, max_iter=2)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        est.fit(X, y)
    assert est.solver_ == "lbfgs"


def test_bad_sparse_input_names_x():
    X, y, _ = _problem()
    bad = X.copy()
    bad.data[0] = np.nan
    for solver in ("newton", "lbfgs", "sgd"):
        with pytest.raises(ValueError, match="X"):
            LogisticRegression(solver).fit(bad, y)
    bad = X.copy()
    bad.indices = bad.indices.copy()
    bad.indices[3] = 10**6  # out of range: must not be read
    with pytest.raises(ValueError, match="X"):
        LogisticRegression().fit(bad, y)
    est = LogisticRegression().fit(X, y)
    with pytest.raises(ValueError, match="X"):
        est.predict(bad)
    with pytest.raises(ValueError, match="features"):
        est.predict(sp.csr_matrix((3, 9)))
