"""Multinomial (softmax) logistic regression: statoptim against scikit-learn in the same run.

Two problems, ridge alpha (scikit-learn's C = 1 / (n alpha)):

- ``synthetic``: n x 20 standard normal X, K = 3 classes drawn from a softmax model,
  alpha = 1e-3; always runs (n = 2 * 10^4, or 2000 in the smoke test);
- ``mnist10``: MNIST's 60000 training images (pixels / 255, 784 columns), all ten digits,
  alpha = 1 / n (C = 1); the data are looked up with ``statoptim.datasets.find_dataset``
  ("mnist", e.g. ../shared/data/mnist) and the problem is skipped when absent. Newton
  would need a dense Hessian of K (p + 1) = 7850 parameters (> 5000): it refuses, and
  the refusal is what is checked.

Every fit records its CPU time (pytest-benchmark; ``cpu_s_best`` in extra_info), the
objective F (mean cross-entropy + alpha/2 ||W||^2) it reaches as a relative gap to a
reference optimum (statoptim's L-BFGS at tol 1e-9, computed once, untimed) and its peak
traced memory (tracemalloc: NumPy/SciPy buffers; scikit-learn's own C allocations are
not traced).

Run ``pytest benchmarks/bench_multinomial.py --benchmark-only`` (one BLAS thread).
With ``--benchmark-disable`` (the CI smoke test) every fit runs once on small data
(MNIST: the first 3000 images).
"""
import time
import warnings

import numpy as np
import pytest
from _measure import measured_fits, record_fit
from sklearn.exceptions import ConvergenceWarning
from threadpoolctl import threadpool_limits

from statoptim import LogisticRegression
from statoptim.datasets import find_dataset, load_mnist
from statoptim.optim import Adam

_CACHE = {}


@pytest.fixture(autouse=True, scope="module")
def _one_thread():
    with threadpool_limits(1):
        yield


def softmax(eta):
    z = eta - eta.max(axis=1, keepdims=True)
    np.exp(z, out=z)
    return z / z.sum(axis=1, keepdims=True)


def _objective(X, yk, theta, alpha):
    """F = mean cross-entropy + alpha/2 ||W||^2 in plain NumPy (docs/optim.rst)."""
    eta = X @ theta[:, 1:].T + theta[:, 0]
    top = eta.max(axis=1)
    lse = top + np.log(np.exp(eta - top[:, None]).sum(axis=1))
    loss = float(np.mean(lse - eta[np.arange(X.shape[0]), yk]))
    return loss + 0.5 * alpha * float(np.sum(theta[:, 1:] ** 2))


def _synthetic(n, p=20, K=3, seed=0):
    rng = np.random.default_rng(seed)
    X = rng.standard_normal((n, p))
    P = softmax(X @ rng.standard_normal((K, p)).T)
    y = (P.cumsum(axis=1) > rng.random(n)[:, None]).argmax(axis=1)
    return X, y


def _problem(name, small):
    key = (name, small)
    if key not in _CACHE:
        if name == "synthetic":
            X, y = _synthetic(2000 if small else 20_000)
            alpha = 1e-3
        else:
            folder = find_dataset("mnist", required=False)
            if folder is None:
                _CACHE[key] = None
                return None
            images, labels = load_mnist(folder)
            if small:
                images, labels = images[:3000], labels[:3000]
            X = images.astype(np.float64) / 255.0
            y = labels.astype(np.intp)
            alpha = 1.0 / X.shape[0]
        with threadpool_limits(1), warnings.catch_warnings():
            warnings.simplefilter("ignore", ConvergenceWarning)
            ref = LogisticRegression("lbfgs", alpha=alpha, tol=1e-9, max_iter=5000).fit(X, y)
        _CACHE[key] = (X, y, alpha, _F(ref, X, y, alpha))
    return _CACHE[key]


def _F(est, X, y, alpha):
    yk = np.searchsorted(est.classes_, y).astype(np.intp)
    theta = np.column_stack([est.intercept_, est.coef_])
    return _objective(X, yk, theta, alpha)


def _fits(n, alpha):
    from sklearn.linear_model import LogisticRegression as SkLR

    return {
        "statoptim-newton": lambda: LogisticRegression("newton", alpha=alpha),
        "statoptim-lbfgs": lambda: LogisticRegression("lbfgs", alpha=alpha, tol=1e-6),
        "statoptim-adam": lambda: LogisticRegression(
            "adam", alpha=alpha, learning_rate=1e-3, batch_size=128, stopping=None,
            max_iter=10, random_state=0),
        "sklearn-lbfgs": lambda: SkLR(C=1.0 / (n * alpha), tol=1e-6, max_iter=1000),
    }


@pytest.mark.parametrize("problem", ["synthetic", "mnist10"])
@pytest.mark.parametrize("method", ["statoptim-newton", "statoptim-lbfgs", "statoptim-adam",
                                    "sklearn-lbfgs"])
def test_multinomial_fit(benchmark, request, problem, method):
    small = bool(request.config.getoption("benchmark_disable", default=False))
    data = _problem(problem, small)
    if data is None:
        pytest.skip("MNIST not found (statoptim.datasets.find_dataset('mnist'))")
    X, y, alpha, F_star = data
    make = _fits(X.shape[0], alpha)[method]
    if method == "statoptim-newton" and problem == "mnist10":
        with pytest.raises(ValueError, match="lbfgs"):  # 10 x 785 parameters > 5000
            make().fit(X, y)
        pytest.skip("Newton refuses: a dense Hessian of 7850 parameters (> 5000)")
    benchmark.group = f"multinomial-{problem}-{X.shape[0]}x{X.shape[1]}"
    rounds = 1 if small or problem == "mnist10" else 3
    est, cpu, peaks = measured_fits(benchmark, make, X, y, rounds=rounds)
    F = _F(est, X, y, alpha)
    gap = (F - F_star) / F_star
    record_fit(benchmark, est, cpu, peaks, F, gap)
    P = est.predict_proba(X[:100])
    assert np.allclose(P.sum(axis=1), 1.0)
    assert np.isfinite(F) and gap > -1e-6



EPOCHS = 5


def _numpy_epochs(X, y, K, lr=1e-3, alpha=1e-4, b=128, seed=0):
    """EPOCHS shuffled Adam epochs with per-batch NumPy BLAS calls and the public Adam
    object, then one full objective pass (as the estimator's final check)."""
    rng = np.random.default_rng(seed)
    theta = np.zeros((K, X.shape[1] + 1))
    opt = Adam(lr)
    eye = np.eye(K)
    for _ in range(EPOCHS):
        order = rng.permutation(X.shape[0])
        for k in range(0, X.shape[0], b):
            idx = order[k:k + b]
            Xb = X[idx]
            R = softmax(Xb @ theta[:, 1:].T + theta[:, 0]) - eye[y[idx]]
            g = np.empty_like(theta)
            g[:, 0] = R.sum(axis=0) / len(idx)
            g[:, 1:] = R.T @ Xb / len(idx) + alpha * theta[:, 1:]
            opt.step(theta, g)
    return theta, _objective(X, y, theta, alpha)


@pytest.mark.parametrize("shape", [(20_000, 20, 3), (20_000, 100, 5), (60_000, 784, 10)])
def test_softmax_epochs_against_numpy_per_batch(request, shape):
    """CPU seconds of EPOCHS shuffled Adam epochs (batch 128) and one objective pass: the
    estimator's compiled softmax epochs against per-batch NumPy; printed (-s), best of 3."""
    small = bool(request.config.getoption("benchmark_disable", default=False))
    n, p, K = shape
    if small:
        n = 1000
    rng = np.random.default_rng(0)
    X = rng.random((n, p))
    y = rng.integers(0, K, n)
    compiled = numpy = np.inf
    for _ in range(1 if small else 3):
        est = LogisticRegression("adam", alpha=1e-4, learning_rate=1e-3, batch_size=128,
                                 stopping=None, max_iter=EPOCHS, check_every=EPOCHS,
                                 random_state=0)
        t0 = time.process_time()
        est.fit(X, y)
        compiled = min(compiled, time.process_time() - t0)
        t0 = time.process_time()
        theta, F = _numpy_epochs(X, y, K)
        numpy = min(numpy, time.process_time() - t0)
    print(f"\n{n} x {p}, K = {K}: {EPOCHS} epochs, compiled {compiled * 1e3:.1f} ms, NumPy "
          f"per batch {numpy * 1e3:.1f} ms ({numpy / compiled:.1f}x)")
    assert np.isfinite(F) and np.all(np.isfinite(est.coef_))
