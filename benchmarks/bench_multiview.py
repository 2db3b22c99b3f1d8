"""Benchmarks of the multi-view CP-tensor model: whole fits and the Cython kernels.

Groups
------
- multiview-fit-samples / -views / -rank: one complete fit (validation,
  standardisation, 30 BCD cycles: tol=0 so every size does the same work)
  against the number of samples, views per modality and CP rank, on
  synthetic class-structured data.
- multiview-block-update: the same fit with exact (assembled + Cholesky)
  versus preconditioned-CG multi-view block updates.
- multiview-backend-*: the same 30-cycle BCD run on the Cython kernels and on
  their plain-NumPy twins (`harness.numpy_kernels`), over samples and
  block updates.
- multiview-loss: the same 30-cycle fit with the squared loss and with the
  softmax (cross-entropy) loss (Boehning majorant blocks), and the cost of
  the training-rows temperature fit behind ``predict_proba``.
- multiview-softmax-curvature: a softmax-loss fit run to the estimator's
  tol=1e-4 (at most 200 cycles) with the plain Boehning MM blocks and with
  the safeguarded adaptive curvature (the default).
- multiview-kernel-*: each Cython kernel beside a plain-NumPy version of the
  same computation (the NumPy Khatri-Rao version materialises K).

Run: ``pytest benchmarks/bench_multiview.py --benchmark-only``.
"""
import warnings

import numpy as np
import pytest
from threadpoolctl import threadpool_limits

from statoptim import MultiViewTensorMachine
from statoptim.multiview.harness import CPSolver, cython_kernels, fit_temperature, prepare

N_TOPICS = 10


@pytest.fixture(autouse=True)
def _single_thread_blas():
    """BLAS at 1 thread: the machine is shared, and 2-thread BLAS under load is erratic."""
    with threadpool_limits(1, user_api="blas"):
        yield


def make_views(n_samples, n_views, n_features, seed=0):
    """Class-structured views: each view is a noisy random projection of the class means."""
    rng = np.random.default_rng(seed)
    y = rng.integers(0, N_TOPICS, n_samples)
    views = []
    for _ in range(2):
        modality = []
        for _ in range(n_views):
            centers = rng.standard_normal((N_TOPICS, n_features))
            modality.append(centers[y] + 1.5 * rng.standard_normal((n_samples, n_features)))
        views.append(modality)
    return views[0], views[1], y


def _fit(model, a, b, y):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # ConvergenceWarning: tol=0 runs all cycles
        return model.fit(a, b, y)


@pytest.mark.parametrize("n_samples", [500, 2000, 5000])
def test_fit_samples(benchmark, n_samples):
    a, b, y = make_views(n_samples, 2, 40)
    benchmark.group = "multiview-fit-samples"
    model = MultiViewTensorMachine(rank=10, max_iter=30, tol=0.0, random_state=0)
    benchmark.pedantic(_fit, args=(model, a, b, y), rounds=3, iterations=1)
    assert model.n_iter_ == 30


@pytest.mark.parametrize("n_views", [1, 2, 3])
def test_fit_views(benchmark, n_views):
    a, b, y = make_views(1000, n_views, 40)
    benchmark.group = "multiview-fit-views"
    model = MultiViewTensorMachine(rank=10, max_iter=30, tol=0.0, random_state=0)
    benchmark.pedantic(_fit, args=(model, a, b, y), rounds=3, iterations=1)
    assert model.n_iter_ == 30


@pytest.mark.parametrize("rank", [5, 10, 20])
def test_fit_rank(benchmark, rank):
    a, b, y = make_views(1000, 2, 40)
    benchmark.group = "multiview-fit-rank"
    model = MultiViewTensorMachine(rank=rank, max_iter=30, tol=0.0, random_state=0)
    benchmark.pedantic(_fit, args=(model, a, b, y), rounds=3, iterations=1)
    assert model.n_iter_ == 30


@pytest.mark.parametrize("loss", ["squared", "softmax"])
def test_fit_loss(benchmark, loss):
    a, b, y = make_views(1000, 2, 40)
    benchmark.group = "multiview-loss"
    model = MultiViewTensorMachine(rank=10, loss=loss, max_iter=30, tol=0.0, random_state=0)
    benchmark.pedantic(_fit, args=(model, a, b, y), rounds=3, iterations=1)
    assert model.n_iter_ == 30


@pytest.mark.parametrize("linear_term", [False, True], ids=["cp-only", "cp+linear"])
def test_fit_linear_term(benchmark, linear_term):
    """Cost of the linear term's extra exact block per modality (30 cycles, 2 + 2 views)."""
    a, b, y = make_views(1000, 2, 40)
    benchmark.group = "multiview-linear-term"
    model = MultiViewTensorMachine(rank=10, regularization=3e-2, linear_term=linear_term,
                                   linear_regularization=1e-2, max_iter=30, tol=0.0,
                                   random_state=0)
    benchmark.pedantic(_fit, args=(model, a, b, y), rounds=3, iterations=1)
    # tol=0 runs the 30 cycles unless J stops decreasing exactly (27 with the cp-only model
    # since features are rescaled by powers of two before standardising)
    assert 25 <= model.n_iter_ <= 30 and (model.linear_coef_ is not None) == linear_term


def test_fit_linear_term_peer_logistic_sm(benchmark):
    """Peer in the same group: semantic matching with scikit-learn's logistic regression
    (one multinomial fit per modality on the concatenated views)."""
    from sklearn.linear_model import LogisticRegression
    from sklearn.preprocessing import StandardScaler

    a, b, y = make_views(1000, 2, 40)
    benchmark.group = "multiview-linear-term"

    def fit_both():
        return [LogisticRegression(C=1.0, max_iter=2000).fit(
            StandardScaler().fit_transform(np.hstack(views)), y) for views in (a, b)]

    models = benchmark.pedantic(fit_both, rounds=3, iterations=1)
    assert all(m.n_iter_[0] < 2000 for m in models)


@pytest.mark.parametrize("adaptive", [False, True], ids=["boehning-mm", "adaptive"])
def test_softmax_curvature(benchmark, adaptive):
    a, b, y = make_views(1000, 2, 40)
    benchmark.group = "multiview-softmax-curvature"
    Z, Y = prepare(a, b, y, rank=10)
    fits = []

    def setup():
        solver = CPSolver(Z, Y, 10, 1e-2, 1.0, rng=np.random.default_rng(0), loss="softmax",
                          adaptive_curvature=adaptive)
        return (solver,), {}

    def run(solver):
        fits.append(solver.fit(200, 1e-4))

    benchmark.pedantic(run, setup=setup, rounds=3, iterations=1)
    values, _, n_iter, _, _ = fits[-1]
    benchmark.extra_info.update(cycles=n_iter, objective=float(values[-1]))
    assert np.all(np.diff(values) <= 1e-12 * abs(values[0]))


def test_temperature_fit(benchmark):
    rng = np.random.default_rng(0)
    y = rng.integers(0, N_TOPICS, 2000)
    Y = np.eye(N_TOPICS)[y]
    f = Y + 0.5 * rng.standard_normal(Y.shape)
    benchmark.group = "multiview-loss"
    beta = benchmark(fit_temperature, f, Y)
    assert beta > 0


@pytest.mark.parametrize("block_update", ["exact", "cg"])
def test_block_update(benchmark, block_update):
    a, b, y = make_views(1000, 2, 60)
    benchmark.group = "multiview-block-update"
    model = MultiViewTensorMachine(rank=10, block_update=block_update, max_iter=20, tol=0.0,
                                   random_state=0)
    benchmark.pedantic(_fit, args=(model, a, b, y), rounds=3, iterations=1)
    assert model.n_iter_ == 20


@pytest.mark.parametrize("backend", ["cython", "numpy"])
@pytest.mark.parametrize("block_update", ["cg", "exact"])
@pytest.mark.parametrize("n_samples", [500, 2000])
def test_fit_backend(benchmark, backend, block_update, n_samples):
    a, b, y = make_views(n_samples, 2, 40)
    Z, Y = prepare(a, b, y, rank=10)

    def run():
        solver = CPSolver(Z, Y, 10, 1e-3, 1.0, block_update=block_update,
                          rng=np.random.default_rng(0), backend=backend)
        return solver.fit(30, -np.inf)

    benchmark.group = f"multiview-backend-{block_update}-N{n_samples}"
    values = benchmark.pedantic(run, rounds=3, iterations=1)[0]
    assert np.max(np.diff(values)) <= 1e-12 * values[0]


# ------------------------------------------------------------------- kernels
def _numpy_hadamard(A):
    prod = np.prod(A, axis=0)
    loo = np.stack([np.prod(np.delete(A, v, axis=0), axis=0) for v in range(A.shape[0])])
    return prod, loo


def _numpy_khatri_rao(Z, W, Q, scale, reg):
    n_samples, n_cols = Z.shape
    K = (W[:, :, None] * Z[:, None, :]).reshape(n_samples, -1)
    H = (K.T @ K) * scale * np.kron(Q, np.ones((n_cols, n_cols)))
    H[np.diag_indices_from(H)] += reg
    return H


def _numpy_operator(Z, W, Q, scale, reg, theta):
    return scale * Z.T @ (W * ((W * (Z @ theta)) @ Q)) + reg * theta


@pytest.mark.parametrize("impl", ["cython", "numpy"])
@pytest.mark.parametrize("n_views", [2, 4])
def test_kernel_hadamard(benchmark, impl, n_views):
    A = np.random.default_rng(0).standard_normal((n_views, 2000, 10))
    benchmark.group = f"multiview-kernel-hadamard-V{n_views}"
    if impl == "cython":
        prod, loo = np.empty((2000, 10)), np.empty((n_views, 2000, 10))
        benchmark(cython_kernels.hadamard_products, A, prod, loo)
    else:
        prod, loo = benchmark(_numpy_hadamard, A)
    np.testing.assert_allclose(prod, np.prod(A, axis=0), rtol=1e-12)


@pytest.mark.parametrize("impl", ["cython", "numpy"])
@pytest.mark.parametrize("n_features", [20, 76])
def test_kernel_khatri_rao_system(benchmark, impl, n_features):
    rng = np.random.default_rng(0)
    n_samples, rank = 1000, 10
    Z = np.column_stack([np.ones(n_samples), rng.standard_normal((n_samples, n_features))])
    W = rng.standard_normal((n_samples, rank))
    M = rng.standard_normal((rank, rank))
    Q = M @ M.T
    n = rank * (n_features + 1)
    benchmark.group = f"multiview-kernel-khatri-rao-d{n_features}"
    if impl == "cython":
        H = np.empty((n, n))
        scratch = np.empty((256, n))
        benchmark(cython_kernels.khatri_rao_system, Z, W, Q, 1.0 / n_samples, 1e-3, H, scratch)
    else:
        H = benchmark(_numpy_khatri_rao, Z, W, Q, 1.0 / n_samples, 1e-3)
    np.testing.assert_allclose(H, H.T, rtol=0, atol=1e-12)


@pytest.mark.parametrize("impl", ["cython", "numpy"])
def test_kernel_block_operator(benchmark, impl):
    rng = np.random.default_rng(0)
    n_samples, rank, n_cols = 1000, 10, 77
    Z = rng.standard_normal((n_samples, n_cols))
    W = rng.standard_normal((n_samples, rank))
    Q = np.eye(rank)
    theta = rng.standard_normal((n_cols, rank))
    benchmark.group = "multiview-kernel-block-operator"
    if impl == "cython":
        out = np.empty_like(theta)
        s1, s2 = np.empty((n_samples, rank)), np.empty((n_samples, rank))
        benchmark(cython_kernels.block_operator, Z, W, Q, 1.0 / n_samples, 1e-3, theta, s1, s2, out)
    else:
        out = benchmark(_numpy_operator, Z, W, Q, 1.0 / n_samples, 1e-3, theta)
    np.testing.assert_allclose(out, _numpy_operator(Z, W, Q, 1.0 / n_samples, 1e-3, theta),
                               rtol=1e-10, atol=1e-12)
