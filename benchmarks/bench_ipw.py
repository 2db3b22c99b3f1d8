"""Benchmarks of the IPW weights: Kaplan-Meier G(Y-) and the kernel propensity.

Run:  pytest benchmarks/bench_ipw.py --benchmark-only
Peers are timed in the same run: a NumPy sort + cumprod Kaplan-Meier, lifelines
(if installed), and a chunked NumPy O(n^2) propensity. Exact-kernel throughput
(kernel pairs per second) is stored in each benchmark's extra_info.
"""
import numpy as np
import pytest

from statoptim import censoring_survival, kaplan_meier, kernel_propensity
from statoptim.datasets import make_censored_quantile

KM_SIZES = [100_000, 1_000_000]
EXACT_SIZES = [2000, 20_000]


def _talk_design(n_samples, seed=0):
    """X = (Y, Z1) and the completeness indicator of the talk's design (spec section 6, B)."""
    data = make_censored_quantile(n_samples, censoring=0.25, missing=0.3, random_state=seed)
    return data.y, data.event.astype(np.int64), np.column_stack([data.y, data.X[:, 0]]), \
        data.complete


_CACHE = {}


def _data(n_samples):
    if n_samples not in _CACHE:
        _CACHE[n_samples] = _talk_design(n_samples)
    return _CACHE[n_samples]


def numpy_censoring_survival(time, event):
    """Peer: G(Y-) by sort + grouping + cumprod in plain NumPy."""
    s, inverse, counts = np.unique(time, return_inverse=True, return_counts=True)
    cens = counts - np.bincount(inverse, weights=event, minlength=s.size)
    risk = time.size - np.concatenate([[0], np.cumsum(counts)[:-1]])
    g = np.cumprod(1.0 - cens / risk)
    return np.concatenate([[1.0], g[:-1]])[inverse]


def numpy_propensity(X, complete, h, chunk=256):
    """Peer: chunked NumPy O(n^2 d) Nadaraya-Watson (memory O(chunk n))."""
    U = (X - X.mean(axis=0)) / X.std(axis=0, ddof=1) / h
    c = complete.astype(float)
    out = np.empty(U.shape[0])
    for start in range(0, U.shape[0], chunk):
        K = np.exp(-0.5 * ((U[start:start + chunk, None, :] - U[None, :, :]) ** 2).sum(axis=2))
        out[start:start + chunk] = (K @ c) / K.sum(axis=1)
    return out


# ------------------------------------------------------------------ Kaplan-Meier
@pytest.mark.parametrize("n_samples", KM_SIZES)
def test_km_statoptim(benchmark, n_samples):
    y, d, _, _ = _data(n_samples)
    benchmark.group = f"km-G(Y-) n={n_samples:.0e}"
    g = benchmark.pedantic(censoring_survival, args=(y, d), rounds=5, iterations=1,
                           warmup_rounds=1)
    np.testing.assert_allclose(g, numpy_censoring_survival(y, d), rtol=1e-10)


@pytest.mark.parametrize("n_samples", KM_SIZES)
def test_km_curve_statoptim(benchmark, n_samples):
    y, d, _, _ = _data(n_samples)
    benchmark.group = f"km-G(Y-) n={n_samples:.0e}"
    km = benchmark.pedantic(kaplan_meier, args=(y, d), rounds=5, iterations=1)
    assert km.survival[0] <= 1


@pytest.mark.parametrize("n_samples", KM_SIZES)
def test_km_numpy(benchmark, n_samples):
    y, d, _, _ = _data(n_samples)
    benchmark.group = f"km-G(Y-) n={n_samples:.0e}"
    g = benchmark.pedantic(numpy_censoring_survival, args=(y, d), rounds=5, iterations=1)
    assert np.all(g > 0)


@pytest.mark.parametrize("n_samples", KM_SIZES)
def test_km_lifelines(benchmark, n_samples):
    lifelines = pytest.importorskip("lifelines")
    y, d, _, _ = _data(n_samples)
    benchmark.group = f"km-G(Y-) n={n_samples:.0e}"

    def fit():  # the survival curve only (lifelines has no left-limit evaluation)
        return lifelines.KaplanMeierFitter().fit(y, event_observed=1 - d)

    benchmark.pedantic(fit, rounds=3, iterations=1)


# ------------------------------------------------------------------ exact propensity
@pytest.mark.parametrize("n_threads", [1, 2])
@pytest.mark.parametrize("n_samples", EXACT_SIZES)
def test_propensity_exact(benchmark, n_samples, n_threads):
    _, _, X, complete = _data(n_samples)
    benchmark.group = f"propensity-exact n={n_samples}"
    pi = benchmark.pedantic(
        kernel_propensity, args=(X, complete),
        kwargs={"method": "exact", "n_threads": n_threads},
        rounds=5 if n_samples <= 2000 else 3, iterations=1, warmup_rounds=1,
    )
    if benchmark.stats is not None:
        benchmark.extra_info["pairs_per_second"] = n_samples**2 / benchmark.stats.stats.median
    assert np.all((pi >= 0) & (pi <= 1))


@pytest.mark.parametrize("n_samples", EXACT_SIZES)
def test_propensity_numpy(benchmark, n_samples):
    if benchmark.disabled and n_samples > 2000:
        pytest.skip("the O(n^2) NumPy peer at large n is only run when timing")
    _, _, X, complete = _data(n_samples)
    benchmark.group = f"propensity-exact n={n_samples}"
    h = n_samples ** (-1 / 6)
    pi = benchmark.pedantic(numpy_propensity, args=(X, complete, h),
                            rounds=3 if n_samples <= 2000 else 1, iterations=1)
    if benchmark.stats is not None:
        benchmark.extra_info["pairs_per_second"] = n_samples**2 / benchmark.stats.stats.median
    np.testing.assert_allclose(pi, kernel_propensity(X, complete, method="exact"), rtol=1e-12)


# ------------------------------------------------------------------ binned FFT
@pytest.mark.parametrize("n_samples", [20_000, 100_000, 1_000_000])
def test_propensity_fft(benchmark, n_samples):
    _, _, X, complete = _data(n_samples)
    benchmark.group = "propensity-fft"
    pi = benchmark.pedantic(kernel_propensity, args=(X, complete), kwargs={"method": "fft"},
                            rounds=5, iterations=1, warmup_rounds=1)
    assert np.all((pi >= 0) & (pi <= 1))


# ------------------------------------------------------------------ whole pipeline
def _pipeline_data(n_samples, seed=0):
    """Design B, 25% censoring, 30% of Z2 missing (MAR given (Y, Z1)), p = 3."""
    data = make_censored_quantile(n_samples, censoring=0.25, missing=0.3, random_state=seed)
    return data.X, data.y, data.event.astype(np.int64)


def numpy_sklearn_pipeline(X, y, event):
    """Peer: the same estimator from NumPy (KM, O(n^2) NW) and scikit-learn (HiGHS)."""
    from sklearn.linear_model import QuantileRegressor as SkQR

    complete = ~np.isnan(X).any(axis=1)
    g = numpy_censoring_survival(y, event)
    pi = numpy_propensity(np.column_stack([y, X[:, 0]]), complete, y.size ** (-1 / 6))
    use = complete & (event == 1)
    w = 1.0 / (g[use] * pi[use])
    return SkQR(quantile=0.5, alpha=0.0, solver="highs").fit(X[use], y[use], sample_weight=w)


@pytest.mark.parametrize("n_samples", [500, 1000, 2000, 10_000, 100_000, 1_000_000])
def test_pipeline_statoptim(benchmark, n_samples):
    from statoptim import CensoredQuantileRegressor

    X, y, event = _pipeline_data(n_samples)
    benchmark.group = "pipeline (KM + propensity + weighted exact QR), q = 0.5"
    model = CensoredQuantileRegressor(quantile=0.5)
    benchmark.pedantic(model.fit, args=(X, y), kwargs={"event": event},
                       rounds=7 if n_samples <= 10_000 else 3, iterations=1, warmup_rounds=1)
    assert model.status_ == "optimal"
    assert abs(model.coef_[0] - 4.5) < (0.5 if n_samples < 10_000 else 0.1)


@pytest.mark.parametrize("n_samples", [500, 2000])
def test_pipeline_numpy_sklearn(benchmark, n_samples):
    X, y, event = _pipeline_data(n_samples)
    benchmark.group = "pipeline (KM + propensity + weighted exact QR), q = 0.5"
    model = benchmark.pedantic(numpy_sklearn_pipeline, args=(X, y, event), rounds=3,
                               iterations=1)
    assert abs(model.coef_[0] - 4.5) < 0.5
