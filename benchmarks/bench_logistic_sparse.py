"""Sparse logistic regression: statoptim against scikit-learn in the same run.

A text-like CSR matrix (10^5 x 10^5, density 1e-4: 10^6 stored entries, ~10 per row,
column frequencies skewed like words) with labels from a sparse true coefficient
vector, ridge alpha = 1e-5 (scikit-learn's C = 1 / (n alpha), SGDClassifier's
alpha = alpha). Every fit records its CPU time (pytest-benchmark), the objective
F = mean log-loss + alpha/2 ||coef||^2 it reaches (relative gap to the L-BFGS
optimum at tol 1e-10, computed once, untimed) and its peak traced memory
(tracemalloc: NumPy/SciPy buffers; scikit-learn's own C allocations are not
traced). Dense X would take 80 GB.

Run ``pytest benchmarks/bench_logistic_sparse.py --benchmark-only`` (one BLAS thread).
With ``--benchmark-disable`` (the CI smoke test) every fit runs once on a 5000 x 5000
matrix of density 1e-3.
"""

import numpy as np
import pytest
import scipy.sparse as sp
from _measure import measured_fits, record_fit
from threadpoolctl import threadpool_limits

from statoptim import LogisticRegression

ALPHA = 1e-5


@pytest.fixture(autouse=True, scope="module")
def _one_thread():
    with threadpool_limits(1):
        yield


def text_like(n, p, density, seed=0):
    """CSR (n, p) with ~density * n * p entries: Zipf-like column frequencies, tf-idf-like
    positive values, rows scaled to unit norm; labels from 200 informative columns."""
    rng = np.random.default_rng(seed)
    nnz = int(density * n * p)
    rows = rng.integers(0, n, nnz)
    freq = 1.0 / np.arange(1, p + 1) ** 0.8
    cols = rng.choice(p, nnz, p=freq / freq.sum())
    X = sp.csr_matrix((rng.exponential(1.0, nnz), (rows, cols)), shape=(n, p))
    X.sum_duplicates()
    norms = np.sqrt(np.asarray(X.multiply(X).sum(axis=1)).ravel())
    X = sp.diags(1.0 / np.where(norms > 0, norms, 1.0)) @ X
    beta = np.zeros(p)
    beta[rng.choice(min(p, 2000), 200, replace=False)] = rng.normal(0.0, 8.0, 200)
    eta = X @ beta
    y = (rng.random(n) < 1.0 / (1.0 + np.exp(-(eta - np.median(eta))))).astype(np.float64)
    return X.tocsr(), y


_CACHE = {}


def _objective(X, y, theta, alpha):
    """F = mean(log(1 + e^eta) - y eta) + alpha/2 ||beta||^2 in plain NumPy/SciPy.

    The objective of docs/optim.rst.
    """
    eta = X @ theta[1:] + theta[0]
    return float(np.mean(np.logaddexp(0.0, eta) - y * eta) + 0.5 * alpha * theta[1:] @ theta[1:])


def _problem(small):
    if small not in _CACHE:
        X, y = text_like(5000, 5000, 1e-3) if small else text_like(100_000, 100_000, 1e-4)
        with threadpool_limits(1):
            ref = LogisticRegression("lbfgs", alpha=ALPHA, tol=1e-10, max_iter=20_000).fit(X, y)
        theta = np.concatenate([ref.intercept_, ref.coef_[0]])
        F_star = _objective(X, y, theta, ALPHA)
        _CACHE[small] = (X, y, F_star)
    return _CACHE[small]


def _fits(n):
    C = 1.0 / (n * ALPHA)
    from sklearn.linear_model import LogisticRegression as SkLR
    from sklearn.linear_model import SGDClassifier

    return {
        "statoptim-auto": lambda: LogisticRegression(alpha=ALPHA, tol=1e-6),
        "statoptim-lbfgs": lambda: LogisticRegression("lbfgs", alpha=ALPHA, tol=1e-6),
        "statoptim-adam": lambda: LogisticRegression(
            "adam", alpha=ALPHA, learning_rate=0.01, batch_size=256, stopping=None,
            max_iter=10, random_state=0),
        "sklearn-saga": lambda: SkLR(solver="saga", C=C, tol=1e-4, max_iter=100),
        "sklearn-sgd": lambda: SGDClassifier(loss="log_loss", alpha=ALPHA, tol=1e-4,
                                             max_iter=100, random_state=0),
    }


@pytest.mark.parametrize("method", ["statoptim-auto", "statoptim-lbfgs", "statoptim-adam",
                                    "sklearn-saga", "sklearn-sgd"])
def test_sparse_fit(benchmark, request, method):
    small = bool(request.config.getoption("benchmark_disable", default=False))
    X, y, F_star = _problem(small)
    make = _fits(X.shape[0])[method]
    benchmark.group = f"sparse-{X.shape[0]}x{X.shape[1]}-nnz{X.nnz}"
    est, cpu, peaks = measured_fits(benchmark, make, X, y, rounds=1 if small else 3)
    theta = np.concatenate([np.ravel(est.intercept_), np.ravel(est.coef_)])
    F = _objective(X, y, theta, ALPHA)
    gap = (F - F_star) / F_star
    record_fit(benchmark, est, cpu, peaks, F, gap)
    assert np.isfinite(F) and gap > -1e-8
    assert max(peaks) < 0.5 * X.shape[0] * X.shape[1] * 8  # never anything near dense
