"""Exact quantile regression on dask arrays (statoptim/quantile/_distributed.py).

The distributed Portnoy-Koenker passes must return the in-memory optimum (the
LP optimum, unique in value) without gathering X: equality of objectives to
1e-11 relative and of coefficients to 1e-9 where the minimiser is unique.
"""
import warnings

import numpy as np
import pytest

da = pytest.importorskip("dask.array")
dask = pytest.importorskip("dask")

from statoptim import CensoredQuantileRegressor, QuantileRegressor
from statoptim._dask import RowBlocks, result_nbytes
from statoptim.exceptions import DegenerateDataWarning
from statoptim.quantile import _distributed


def _data(n_samples=60_000, n_features=4, seed=0, kind="hetero"):
    rng = np.random.default_rng(seed)
    X = rng.standard_normal((n_samples, n_features))
    if kind == "discrete":
        X = np.round(X)
    y = X @ np.arange(1.0, n_features + 1) + (1 + np.abs(X[:, 0])) * rng.standard_t(3, n_samples)
    if kind == "discrete":
        y = np.round(y)
    return X, y, rng.uniform(0.2, 3.0, n_samples)


def _same_fit(dask_model, ref, unique=True):
    assert np.all(np.asarray(dask_model.status_) == "optimal")
    np.testing.assert_allclose(dask_model.objective_, ref.objective_, rtol=1e-11, atol=0)
    if unique:
        np.testing.assert_allclose(dask_model.coef_, ref.coef_, rtol=1e-9, atol=1e-9)
        np.testing.assert_allclose(dask_model.intercept_, ref.intercept_, rtol=1e-9, atol=1e-9)


@pytest.mark.parametrize("q", [0.02, 0.5, [0.25, 0.75]])
@pytest.mark.parametrize("weights", ["none", "numpy", "dask"])
def test_dask_fit_equals_in_memory_fit(q, weights):
    X, y, w = _data()
    sw = {"none": None, "numpy": w, "dask": da.from_array(w, chunks=11_000)}[weights]
    ref = QuantileRegressor(quantile=q).fit(X, y, sample_weight=None if sw is None else w)
    with dask.config.set(scheduler="synchronous"):
        model = QuantileRegressor(quantile=q).fit(da.from_array(X, chunks=(9_000, 2)), y,
                                                  sample_weight=sw)
    _same_fit(model, ref)
    assert model.n_features_in_ == X.shape[1]


def test_dask_fit_variants_without_intercept_float32_and_ties():
    X, y, _ = _data(kind="discrete", seed=3)
    ref = QuantileRegressor(quantile=0.3, fit_intercept=False).fit(X, y)
    with dask.config.set(scheduler="synchronous"):
        model = QuantileRegressor(quantile=0.3, fit_intercept=False).fit(
            da.from_array(X, chunks=(7_000, 4)), da.from_array(y, chunks=5_000))
    _same_fit(model, ref, unique=False)  # tied data: the minimiser need not be unique
    X32 = X.astype(np.float32)
    ref32 = QuantileRegressor(quantile=0.6).fit(X32.astype(np.float64), y)
    with dask.config.set(scheduler="synchronous"):
        model32 = QuantileRegressor(quantile=0.6).fit(da.from_array(X32, chunks=(8_000, 4)), y)
    _same_fit(model32, ref32, unique=False)


def test_dask_fit_exact_power_of_two_scaling():
    """Columns of very different magnitudes are rescaled exactly, as in memory."""
    X, y, _ = _data(seed=5)
    # the second: a subnormal column, whose scale 2**1030 is no double (ldexp then)
    for scale, y_scale in (([1e-150, 1.0, 1e150, 3.0], 1e100), ([1e-310, 1.0, 1e100, 3.0], 1e-100)):
        Xs, ys = X * np.array(scale), y * y_scale
        ref = QuantileRegressor(quantile=0.5).fit(Xs, ys)
        with dask.config.set(scheduler="synchronous"):
            model = QuantileRegressor(quantile=0.5).fit(da.from_array(Xs, chunks=(10_000, 4)),
                                                        ys)
        _same_fit(model, ref)


def test_dask_fit_small_n_solves_every_row():
    """From m >= n / 2 on every row is solved directly, not a Bernoulli subsample of them.

    (Regression: at n = 150, p = 3 the direct solve took the ~55% subsample and returned
    a wrong fit with status 'optimal'.)"""
    rng = np.random.default_rng(0)
    X = rng.standard_normal((150, 3))
    y = X.sum(axis=1) + rng.standard_t(3, 150)
    for q in (0.5, 0.2):
        ref = QuantileRegressor(quantile=q).fit(X, y)
        with dask.config.set(scheduler="synchronous"):
            model = QuantileRegressor(quantile=q).fit(da.from_array(X, chunks=(40, 3)), y)
        _same_fit(model, ref)


def test_dask_band_centred_for_weights_correlated_with_y():
    """Inverse-probability weights grow with y: the band is centred where the rows' share
    below the fit lies, not at q: two rounds here (centred at q every band failed: 5
    rounds, then a direct solve, which was also wrong: a subsample)."""
    X, y, event = _censored()
    w = CensoredQuantileRegressor().fit(X, y, event=event).weights_
    ref = QuantileRegressor(quantile=0.25, fit_intercept=False).fit(X, y, sample_weight=w)
    with dask.config.set(scheduler="synchronous"):
        sol = _distributed.solve_quantile_dask(da.from_array(X, chunks=(7_000, 3)), y, w, 0.25,
                                               fit_intercept=False)
    assert sol.n_rounds <= 2 and sol.status == "optimal"
    np.testing.assert_allclose(sol.objective, ref.objective_, rtol=1e-11)
    np.testing.assert_allclose(sol.coef, ref.coef_, rtol=1e-9, atol=1e-9)


def _spy_on_passes(monkeypatch):
    """Record the bytes of arrays every pass over the blocks returns to the client."""
    returned = []
    real_map = RowBlocks.map

    def spy(self, func, *args, per_block=None):
        out = real_map(self, func, *args, per_block=per_block)
        returned.append(result_nbytes(out))
        return out

    monkeypatch.setattr(RowBlocks, "map", spy)
    return returned


def test_dask_fit_never_gathers_x(monkeypatch):
    """Every task returns a few rows at most: the band, subsample and offenders."""
    X, y, _ = _data(n_samples=200_000, n_features=3)
    returned = _spy_on_passes(monkeypatch)
    with dask.config.set(scheduler="synchronous"):
        QuantileRegressor(quantile=0.5).fit(da.from_array(X, chunks=(20_000, 3)), y)
    assert len(returned) >= 3  # scan, band, verify
    assert max(returned) < X.nbytes / 5, (returned, X.nbytes)


def test_dask_fit_on_a_local_cluster():
    distributed = pytest.importorskip("distributed")
    X, y, w = _data(n_samples=40_000, n_features=3, seed=9)
    ref = QuantileRegressor(quantile=[0.1, 0.5]).fit(X, y, sample_weight=w)
    with distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=True,
                                  dashboard_address=":0") as cluster, \
            distributed.Client(cluster):
        model = QuantileRegressor(quantile=[0.1, 0.5]).fit(
            da.from_array(X, chunks=(6_000, 3)), da.from_array(y, chunks=6_000),
            sample_weight=da.from_array(w, chunks=6_000))
    _same_fit(model, ref)


def test_dask_fit_bad_input_is_a_clear_error():
    X, y, w = _data(n_samples=20_000, n_features=2)
    Xd = da.from_array(X, chunks=(5_000, 2))
    Xn = X.copy()
    Xn[12_345, 1] = np.nan
    bad_w = w.copy()
    bad_w[7] = -1.0
    with dask.config.set(scheduler="synchronous"):
        with pytest.raises(ValueError, match="X must be finite"):
            QuantileRegressor().fit(da.from_array(Xn, chunks=(5_000, 2)), y)
        with pytest.raises(ValueError, match="sample_weight must be finite and non-negative"):
            QuantileRegressor().fit(Xd, y, sample_weight=bad_w)
        with pytest.raises(ValueError, match=r"y must have shape \(20000,\)"):
            QuantileRegressor().fit(Xd, y[:-1])
        with pytest.raises(ValueError, match="quantile='all'"):
            QuantileRegressor(quantile="all").fit(Xd, y)
        with pytest.raises(ValueError, match="unknown chunk sizes"):
            QuantileRegressor().fit(Xd[Xd[:, 0] > -10], y)
        with pytest.raises(ValueError, match="rank deficient"):
            QuantileRegressor().fit(da.from_array(np.column_stack([X, X[:, 0]]),
                                                  chunks=(5_000, 3)), y)
        model = QuantileRegressor().fit(Xd, y)
    with pytest.raises(ValueError, match="fitted on a dask array"):
        model.summary()
    summary = model.summary(X, y, se="iid")  # with the data in memory it works
    assert summary.coef.shape == (3,)


def _censored(n_samples=30_000, seed=0):
    rng = np.random.default_rng(seed)
    X = rng.standard_normal((n_samples, 3))
    T = X @ np.array([1.0, -2.0, 0.5]) + (1 + 0.5 * np.abs(X[:, 0])) * rng.standard_t(3, n_samples)
    C = rng.normal(1.5, 3.0, n_samples)  # independent censoring, about 35%
    return X, np.minimum(T, C), (T <= C).astype(np.int8)


@pytest.mark.parametrize("params", [
    {},
    {"quantile": [0.25, 0.6], "fit_intercept": False},
    {"stabilize": True, "weight_cap_quantile": 0.99, "g_min": 0.2},
])
@pytest.mark.parametrize("as_dask", [False, True])
def test_censored_dask_fit_equals_in_memory_fit(params, as_dask):
    """Kaplan-Meier weights from the gathered (y, event), then the distributed exact fit."""
    X, y, event = _censored()
    ref = CensoredQuantileRegressor(**params).fit(X, y, event=event)
    yd, ed = ((da.from_array(y, chunks=4_000), da.from_array(event, chunks=6_000)) if as_dask
              else (y, event))
    with dask.config.set(scheduler="synchronous"):
        model = CensoredQuantileRegressor(**params).fit(da.from_array(X, chunks=(7_000, 3)),
                                                        yd, event=ed)
    assert np.all(np.asarray(model.status_) == "optimal")
    np.testing.assert_allclose(model.objective_, ref.objective_, rtol=1e-11, atol=0)
    np.testing.assert_allclose(model.coef_, ref.coef_, rtol=1e-9, atol=1e-9)
    np.testing.assert_allclose(model.intercept_, ref.intercept_, rtol=1e-9, atol=1e-9)
    np.testing.assert_array_equal(model.weights_, ref.weights_)
    np.testing.assert_array_equal(model.censoring_survival_, ref.censoring_survival_)
    assert model.n_eff_ == ref.n_eff_ and model.n_features_in_ == 3
    assert model.censoring_test_ is None  # the score test needs X in memory: not run


def test_censored_dask_fit_never_gathers_x(monkeypatch):
    X, y, event = _censored(n_samples=200_000, seed=2)
    returned = _spy_on_passes(monkeypatch)
    Xd = da.from_array(X, chunks=(20_000, 3))
    with dask.config.set(scheduler="synchronous"):
        model = CensoredQuantileRegressor(quantile=0.4).fit(Xd, y, event=event)
    assert model.status_ == "optimal"
    assert len(returned) >= 3  # scan, band, verify
    assert max(returned) < X.nbytes / 5, (returned, X.nbytes)


def test_censored_dask_fit_unsupported_modes_are_clear_errors():
    X, y, event = _censored(n_samples=5_000, seed=4)
    Xd = da.from_array(X, chunks=(1_000, 3))
    Xn = X.copy()
    Xn[123, 2] = np.nan  # a missing covariate: propensity weights, which need X
    supported = "supports method='ipw' with censoring='marginal'"
    with dask.config.set(scheduler="synchronous"):
        with pytest.raises(ValueError, match=f"method='peng-huang' needs X in memory.*{supported}"):
            CensoredQuantileRegressor(method="peng-huang").fit(Xd, y, event=event)
        with pytest.raises(ValueError, match=f"censoring='conditional'.*{supported}"):
            CensoredQuantileRegressor(censoring="conditional").fit(Xd, y, event=event)
        with pytest.raises(ValueError, match=f"X must be finite.*missing covariate.*{supported}"):
            CensoredQuantileRegressor().fit(da.from_array(Xn, chunks=(1_000, 3)), y, event=event)
        with pytest.raises(ValueError, match="event must"):
            CensoredQuantileRegressor().fit(Xd, y, event=np.full(5_000, 2))
        with pytest.raises(ValueError, match="y must have length 5000"):
            CensoredQuantileRegressor().fit(Xd, y[:-1], event=event)
        with pytest.raises(ValueError, match="every response is censored"):
            CensoredQuantileRegressor().fit(Xd, y, event=np.zeros(5_000))
        with pytest.raises(ValueError, match="weight_cap_quantile"):
            CensoredQuantileRegressor(weight_cap_quantile=2.0).fit(Xd, y, event=event)
        model = CensoredQuantileRegressor().fit(Xd, y, event=event)
    with pytest.raises(ValueError, match="fitted on a dask array: summary"):
        model.summary(n_boot=2)


def test_censored_dask_fit_refuses_a_spline_column_and_clears_a_previous_one():
    """A spline column needs X in memory; a refit on a dask array keeps no spline of before."""
    X, y, event = _censored(n_samples=5_000, seed=5)
    Xd = da.from_array(X, chunks=(1_000, 3))
    with dask.config.set(scheduler="synchronous"):
        with pytest.raises(ValueError, match=r"spline_column=0 \(a B-spline basis\) needs X in "
                                             r"memory"):
            CensoredQuantileRegressor(spline_column=0, n_knots=2).fit(Xd, y, event=event)
        model = CensoredQuantileRegressor(spline_column=0, n_knots=2).fit(X, y, event=event)
        model.set_params(spline_column=None, n_knots="auto").fit(Xd, y, event=event)
    ref = CensoredQuantileRegressor().fit(X, y, event=event)
    assert not hasattr(model, "g_") and not hasattr(model, "knots_")
    np.testing.assert_allclose(model.predict(X[:50]), ref.predict(X[:50]), rtol=1e-9, atol=1e-9)


def test_censored_dask_fit_warnings_point_at_the_caller():
    """The fixed-cut and extreme-weight warnings of a dask fit name the caller's line."""
    rng = np.random.default_rng(6)
    X = rng.standard_normal((4_000, 2))
    T = X @ np.array([1.0, -1.0]) + rng.standard_normal(4_000)
    cut = np.quantile(T, 0.3)  # a fixed censoring cut, 70% censored there
    y, event = np.minimum(T, cut), (T <= cut).astype(int)
    event[np.argsort(y)[:1_150]] = 0  # early censorings: extreme weights
    with dask.config.set(scheduler="synchronous"), warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        CensoredQuantileRegressor(quantile=0.2).fit(da.from_array(X, chunks=(1_000, 2)), y,
                                                   event=event)
    messages = {("fixed censoring cut" in str(w.message), "n_eff" in str(w.message)): w
                for w in caught if w.category is DegenerateDataWarning}
    assert set(messages) == {(True, False), (False, True)}, [str(w.message) for w in caught]
    assert all(w.filename == __file__ for w in messages.values())


def test_dask_fit_convergence_warning_points_at_the_caller():
    X, y, _ = _data(n_samples=20_000, n_features=2)
    with dask.config.set(scheduler="synchronous"), warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        QuantileRegressor(quantile=[0.3, 0.6], max_iter=1).fit(
            da.from_array(X, chunks=(5_000, 2)), y)
    capped = [w for w in caught if "hit max_iter=1" in str(w.message)]
    assert len(capped) == 2 and all(w.filename == __file__ for w in capped), \
        [(str(w.message), w.filename) for w in caught]
