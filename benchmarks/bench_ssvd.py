"""Benchmarks of FIT-SSVD (statoptim.SparseSVD) against dense and truncated SVDs.

Run: ``pytest benchmarks/bench_ssvd.py --benchmark-only`` (timings) or with
``--benchmark-disable`` (smoke test, each case once). Peers are timed in the same
run and group. Data are built outside the timed calls.

Groups
------
ssvd-lung          lung-sized spiked model (12,625 x 56, rank 3, spec 6b, rep 0): FIT-SSVD
                   "theory" and "bootstrap" vs numpy.linalg.svd and scipy.sparse.linalg.svds(k=3)
ssvd-large-sparse  100,000 x 1,000 CSR matrix (1% dense noise + a planted rank-3 sparse signal):
                   FIT-SSVD (sigma given) vs svds(k=3) on the same CSR matrix
ssvd-kernels       the fused active-set product + threshold on the lung model
"""
import math

import numpy as np
import pytest
from scipy import sparse
from scipy.sparse.linalg import svds

from statoptim import SparseSVD
from statoptim.datasets import make_lung_spiked
from statoptim.ssvd.harness import kernels


def _loss(A, B):
    return A.shape[1] - np.linalg.norm(A.T @ B) ** 2


@pytest.fixture(scope="module")
def lung():
    return make_lung_spiked(0)


@pytest.fixture(scope="module")
def large_sparse():
    rng = np.random.default_rng(100_000)
    n_samples, n_features, r = 100_000, 1_000, 3
    noise = sparse.random(n_samples, n_features, density=0.01, random_state=rng,
                          data_rvs=rng.standard_normal, format="csr")
    U = np.zeros((n_samples, r))
    V = np.zeros((n_features, r))
    rows = rng.permutation(n_samples)[: 200 * r].reshape(r, 200)
    cols = rng.permutation(n_features)[: 20 * r].reshape(r, 20)
    for k in range(r):
        U[rows[k], k] = rng.choice([-1, 1], 200) / math.sqrt(200)
        V[cols[k], k] = rng.choice([-1, 1], 20) / math.sqrt(20)
    signal = sparse.csr_matrix((U * np.array([150.0, 120.0, 100.0])) @ V.T)
    X = (noise + signal).tocsr()
    # Noise sd per entry: sqrt(density) = 0.1 (N(0,1) entries present 1% of the time).
    return X, U, V, 0.1


@pytest.mark.parametrize("rule", ["theory", "bootstrap"])
def test_fit_ssvd_lung(benchmark, lung, rule):
    X, U, d, V = lung
    benchmark.group = "ssvd-lung"
    model = SparseSVD(3, threshold_rule=rule, random_state=0)
    benchmark.pedantic(model.fit, args=(X,), rounds=15, iterations=1, warmup_rounds=1)
    lu = _loss(U, model.left_singular_vectors_)
    lv = _loss(V, model.components_.T)
    benchmark.extra_info.update(loss_u=round(lu, 4), loss_v=round(lv, 5),
                                nnz_rows_u=int(np.any(model.left_singular_vectors_, 1).sum()))
    assert lu < 0.15 and lv < 0.01


def test_numpy_svd_lung(benchmark, lung):
    X, U, d, V = lung
    benchmark.group = "ssvd-lung"
    Us, s, Vt = benchmark.pedantic(np.linalg.svd, args=(X,), kwargs={"full_matrices": False},
                                   rounds=15, iterations=1, warmup_rounds=1)
    benchmark.extra_info.update(loss_u=round(_loss(U, Us[:, :3]), 4))
    assert s.shape == (56,)


def test_scipy_svds_lung(benchmark, lung):
    X, U, d, V = lung
    benchmark.group = "ssvd-lung"
    Us, s, Vt = benchmark.pedantic(svds, args=(X,), kwargs={"k": 3, "random_state": 0},
                                   rounds=15, iterations=1, warmup_rounds=1)
    benchmark.extra_info.update(loss_u=round(_loss(U, Us), 4))
    assert s.shape == (3,)


def test_fit_ssvd_large_sparse(benchmark, large_sparse):
    X, U, V, sigma = large_sparse
    benchmark.group = "ssvd-large-sparse"
    model = SparseSVD(3, sigma=sigma)
    benchmark.pedantic(model.fit, args=(X,), rounds=5, iterations=1, warmup_rounds=1)
    lu = _loss(U, model.left_singular_vectors_)
    lv = _loss(V, model.components_.T)
    benchmark.extra_info.update(loss_u=round(lu, 4), loss_v=round(lv, 5))
    assert lu < 0.1 and lv < 0.1


def test_scipy_svds_large_sparse(benchmark, large_sparse):
    X, U, V, sigma = large_sparse
    benchmark.group = "ssvd-large-sparse"
    Us, s, Vt = benchmark.pedantic(svds, args=(X,), kwargs={"k": 3, "random_state": 0},
                                   rounds=5, iterations=1, warmup_rounds=1)
    benchmark.extra_info.update(loss_u=round(_loss(U, Us), 4))
    assert s.shape == (3,)


def test_kernel_product_rows(benchmark, lung):
    X, U, d, V = lung
    benchmark.group = "ssvd-kernels"
    J = np.flatnonzero(V.any(axis=1)).astype(np.intp)
    Wt = np.ascontiguousarray(V[J].T)
    out = np.empty((X.shape[0], 3))
    nnz = np.empty(3, dtype=np.intp)
    gamma = np.full(3, math.sqrt(2 * math.log(X.shape[0])))
    benchmark(kernels.dense_product_rows, X, J, Wt, 1.0, gamma, False, out, nnz)
    assert nnz.sum() > 0


def test_numpy_product_rows(benchmark, lung):
    X, U, d, V = lung
    benchmark.group = "ssvd-kernels"
    J = np.flatnonzero(V.any(axis=1))
    gamma = math.sqrt(2 * math.log(X.shape[0]))

    def numpy_step():
        P = X[:, J] @ V[J]
        return np.where(np.abs(P) >= gamma, P, 0.0)

    out = benchmark(numpy_step)
    assert out.shape == (X.shape[0], 3)
