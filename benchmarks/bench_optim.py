"""Benchmarks of statoptim.optim against scikit-learn (and torch.optim when installed).

Run ``pytest benchmarks/bench_optim.py --benchmark-only`` (one BLAS thread). With
``--benchmark-disable`` (the CI smoke test) every benchmark runs once on small data.

Groups
------
- ``fit-<problem>``: whole fits to the optimum (or to a 1e-4 relative gap for the
  stochastic solvers, with the number of epochs fixed beforehand by an untimed
  trace); each benchmark asserts the gap it claims and stores it in extra_info.
- ``epoch-<n>x<p>``: one compiled epoch (rows shuffled / minibatch blocks shuffled
  (``shuffle="batches"``) / in order, float64 / float32)
  against the memory floor, one ``X @ w`` plus one ``X.T @ r`` with NumPy.

The full time-to-tolerance tables (1e-2 / 1e-3 / 1e-4, tuned learning rates, every
peer) are produced by ``python benchmarks/optim_tolerance.py``; see BENCHMARKS.md.
"""
import warnings

import numpy as np
import pytest
from threadpoolctl import threadpool_limits

from statoptim import LogisticRegression
from statoptim.datasets import load_mnist, make_logistic, mnist_binary
from statoptim.optim import logistic_objective
from statoptim.optim.harness import epoch_runner, gaps, optimum, trace_stochastic


@pytest.fixture(autouse=True, scope="module")
def _one_thread():
    with threadpool_limits(1):
        yield


def _small(request):
    return request.config.getoption("benchmark_disable", default=False)


def _mnist_dir():
    """The MNIST folder (statoptim.datasets.find_dataset), or None."""
    from statoptim.datasets import find_dataset

    return find_dataset("mnist", required=False)


_CACHE = {}


def _problem(name, small):
    key = (name, small)
    if key not in _CACHE:
        if name == "sim19":
            X, y, _ = make_logistic(1000, 19, random_state=np.random.default_rng([0, 19, 1000]))
            alpha, cap, b = 0.0, 300, 128
        elif name == "sim99":
            X, y, _ = make_logistic(1000, 99, random_state=np.random.default_rng([0, 99, 1000]))
            alpha, cap, b = 0.0, 300, 128
        elif name == "mnist":
            d = _mnist_dir()
            if d is None:
                pytest.skip("MNIST files not available")
            Xtr, ytr = load_mnist(d)
            X, y = mnist_binary(Xtr, ytr)
            if small:
                X, y = X[:2000], y[:2000]
            alpha, cap, b = 1.0 / X.shape[0], 60, 128
        else:  # large
            n = 20_000 if small else 1_000_000
            X, y, _ = make_logistic(n, 100, random_state=np.random.default_rng([0, 100]))
            alpha, cap, b = 0.0, 5, 1024
        theta_star, F_star = optimum(X, y, alpha)
        _CACHE[key] = (X, y, alpha, cap, b, F_star)
    return _CACHE[key]


def _gap(est, X, y, alpha, F_star):
    theta = np.concatenate([np.ravel(est.intercept_), np.ravel(est.coef_)])
    return (logistic_objective(X, y.astype(float), theta, alpha)[0] - F_star) / F_star


def _fit(benchmark, make, X, y, rounds):
    def run():
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            return make().fit(X, y)
    return benchmark.pedantic(run, rounds=rounds, iterations=1, warmup_rounds=0)


# (label, factory(alpha, n, X), max gap the fit must reach, problems)
def _sk(**kw):
    from sklearn.linear_model import LogisticRegression as SkLR

    def make(alpha, n):
        C = np.inf if alpha == 0 else 1.0 / (alpha * n)
        return SkLR(C=C, **kw)
    return make


FULL_BATCH = [
    ("statoptim-newton", lambda a, n: LogisticRegression(alpha=a), ("sim19", "sim99")),
    ("statoptim-newton-sub20000",
     lambda a, n: LogisticRegression(alpha=a, hessian_subsample=min(20000, n // 2), tol=1e-8,
                                     random_state=0), ("large",)),
    ("statoptim-lbfgs", lambda a, n: LogisticRegression("lbfgs", alpha=a, tol=1e-7),
     ("sim19", "sim99", "mnist", "large")),
    ("sklearn-lbfgs", _sk(), ("sim19", "sim99", "mnist", "large")),
    ("sklearn-lbfgs-tol1e-6", _sk(tol=1e-6, max_iter=1000), ("mnist",)),
    ("sklearn-newton-cholesky", _sk(solver="newton-cholesky"), ("sim19", "sim99", "large")),
]


@pytest.mark.parametrize("problem", ["sim19", "sim99", "mnist", "large"])
@pytest.mark.parametrize("label,make,problems", FULL_BATCH, ids=[f[0] for f in FULL_BATCH])
def test_fit_full_batch(benchmark, request, problem, label, make, problems):
    if problem not in problems:
        pytest.skip(f"{label} is not run on {problem}")
    X, y, alpha, cap, b, F_star = _problem(problem, _small(request))
    benchmark.group = f"fit-{problem}"
    est = _fit(benchmark, lambda: make(alpha, X.shape[0]), X, y,
               rounds=3 if problem in ("mnist", "large") else 10)
    r = _gap(est, X, y, alpha, F_star)
    benchmark.extra_info["gap"] = float(r)
    assert np.isfinite(r) and r > -1e-12


STOCHASTIC = [("adam", 1e-2, {}), ("adam", 0.3, {"schedule": "invsqrt", "average": True}),
              ("momentum", 0.3, {}), ("sgd", 0.3, {})]


@pytest.mark.parametrize("problem", ["sim19", "sim99"])
@pytest.mark.parametrize("method,lr,kw", STOCHASTIC,
                         ids=["adam", "adam-invsqrt-avg", "momentum", "sgd"])
def test_fit_stochastic_to_1e4(benchmark, request, problem, method, lr, kw):
    """Epochs to a 1e-4 gap fixed by an untimed trace, then the whole fit is timed."""
    X, y, alpha, cap, b, F_star = _problem(problem, _small(request))
    tr = trace_stochastic(X, y, alpha, method, epochs=cap, learning_rate=lr,
                          batch_size=b, random_state=0, **kw)
    r = gaps(tr, X, y, alpha, F_star)
    hit = np.flatnonzero(r <= 1e-4)
    epochs = int(hit[0]) + 1 if hit.size else cap
    benchmark.group = f"fit-{problem}"
    est = _fit(benchmark, lambda: LogisticRegression(
        method, alpha=alpha, learning_rate=lr, batch_size=b, stopping=None, max_iter=epochs,
        random_state=0, **kw), X, y, rounds=10)
    gap = _gap(est, X, y, alpha, F_star)
    benchmark.extra_info.update(epochs=epochs, gap=float(gap), reached_1e4=bool(hit.size))
    # the timed fit follows the traced path exactly (same seed, same kernel)
    assert gap == pytest.approx(r[epochs - 1], rel=1e-9, abs=1e-15)


# ----------------------------------------------------------------- epochs
def _runner(p, shuffle, b, method="adam"):
    return epoch_runner(p, method, learning_rate=1e-3, alpha=0.0, batch_size=b,
                        shuffle=shuffle, random_state=0)


_EPOCH_DATA = {}

def _numpy_adam_epoch(X, y, order, b, state, lr=1e-3, b1=0.9, b2=0.999, eps=1e-8):
    """A plain NumPy/Python minibatch Adam epoch: the per-step overhead baseline."""
    theta, m, v, t = state
    for k in range(0, X.shape[0], b):
        rows = order[k:k + b]
        Xb = X[rows]
        r = 1.0 / (1.0 + np.exp(-(theta[0] + Xb @ theta[1:]))) - y[rows]
        g = np.concatenate([[r.mean()], Xb.T @ r / len(rows)])
        t += 1
        m = b1 * m + (1 - b1) * g
        v = b2 * v + (1 - b2) * g * g
        theta = theta - lr * (m / (1 - b1 ** t)) / (np.sqrt(v / (1 - b2 ** t)) + eps)
    state[:] = [theta, m, v, t]


EPOCH_CASES = ["numpy-python-loop-adam", "numpy-floor-float64", "numpy-floor-float32",
               "adam-ordered-float64",
               "adam-shuffled-float64", "adam-batches-float64", "adam-ordered-float32",
               "adam-shuffled-float32", "adam-batches-float32", "sgd-shuffled-float64"]


@pytest.mark.parametrize("case", EPOCH_CASES)
@pytest.mark.parametrize("size", ["1000x19", "11841x784", "1000000x100"])
def test_epoch_vs_memory_floor(benchmark, request, case, size):
    n, p = map(int, size.split("x"))
    if _small(request):
        n = min(n, 20_000)
    if _EPOCH_DATA.get("key") != (n, p):  # keep one data set alive (800 MB at 1e6 x 100)
        _EPOCH_DATA.clear()
        X, y, _ = make_logistic(n, p, random_state=np.random.default_rng([1, n, p]))
        _EPOCH_DATA.update(key=(n, p), X=X, y=y.astype(np.float64))
    X, y = _EPOCH_DATA["X"], _EPOCH_DATA["y"]
    dtype = np.float32 if case.endswith("float32") else np.float64
    Xd = X if dtype == np.float64 else X.astype(np.float32)
    benchmark.group = f"epoch-{size}"
    rounds = 5 if n >= 100_000 else 50
    if case == "numpy-python-loop-adam":
        b = 1024 if n >= 100_000 else 128
        state = [np.zeros(p + 1), np.zeros(p + 1), np.zeros(p + 1), 0]
        rng = np.random.default_rng(0)
        benchmark.pedantic(lambda: _numpy_adam_epoch(X, y, rng.permutation(n), b, state),
                           rounds=3 if n >= 100_000 else 20, iterations=1)
        assert np.all(np.isfinite(state[0]))
        return
    if case.startswith("numpy-floor"):
        w = np.full(p, 0.01, dtype=dtype)
        yd = y.astype(dtype)
        out = benchmark.pedantic(lambda: Xd.T @ (Xd @ w - yd), rounds=rounds, iterations=1)
        assert out.shape == (p,)
        return
    method = case.split("-")[0]
    shuffle = {"ordered": False, "shuffled": "rows", "batches": "batches"}[case.split("-")[1]]
    runner = _runner(p, shuffle, 1024 if n >= 100_000 else 128, method)
    benchmark.pedantic(lambda: runner.run_epoch(Xd, y), rounds=rounds, iterations=1)
    assert np.all(np.isfinite(runner.theta)) and runner.t > 0


# ------------------------------------------------------------------ torch
def test_torch_adam_sim19(benchmark, request):
    """torch.optim.Adam (float32 Linear + BCEWithLogitsLoss, batch 128), when installed."""
    torch = pytest.importorskip("torch")
    torch.set_num_threads(1)
    X, y, alpha, cap, b, F_star = _problem("sim19", _small(request))
    Xt = torch.tensor(X, dtype=torch.float32)
    yt = torch.tensor(y, dtype=torch.float32)

    def fit():
        torch.manual_seed(0)
        model = torch.nn.Linear(X.shape[1], 1)
        opt = torch.optim.Adam(model.parameters(), lr=1e-2)
        loss_fn = torch.nn.BCEWithLogitsLoss()
        for _ in range(60):
            perm = torch.randperm(X.shape[0])
            for k in range(0, X.shape[0], b):
                idx = perm[k:k + b]
                opt.zero_grad()
                loss_fn(model(Xt[idx]).squeeze(1), yt[idx]).backward()
                opt.step()
        return model

    benchmark.group = "fit-sim19"
    model = benchmark.pedantic(fit, rounds=3, iterations=1)
    theta = np.concatenate([model.bias.detach().numpy(), model.weight.detach().numpy()[0]])
    r = (logistic_objective(X, y.astype(float), theta.astype(float), alpha)[0] - F_star) / F_star
    benchmark.extra_info["gap"] = float(r)
    assert np.isfinite(r)
