"""CensoredQuantileRegressor.summary(): the pipeline bootstrap.

Each replicate is checked against an independent refit of the documented
resample; results do not depend on the number of worker threads; the
statistics follow from the replicates; the bootstrap standard deviation
agrees with the Monte Carlo one on a planted truth; failed replicates are
counted, warned about, or an error; replicate warnings are reissued once;
bad arguments get errors that name them.
"""
import re
import warnings

import numpy as np
import pytest
from hypothesis import event as record_event
from hypothesis import given
from hypothesis import strategies as st
from numpy.testing import assert_allclose, assert_array_equal
from scipy import stats
from sklearn.exceptions import NotFittedError

from statoptim import CensoredQuantileRegressor, DependentCensoringWarning
from statoptim.datasets import make_censored_quantile
from statoptim.exceptions import BootstrapWarning, ConvergenceWarning
from statoptim.quantile import CensoredQuantileSummary, QuantileSummary

CONFIGS = {
    "ipw-marginal": {},
    "ipw-conditional": {"censoring": "conditional"},
    "peng-huang": {"method": "peng-huang"},
}


def data(n=300, seed=0):
    d = make_censored_quantile(n, censoring=0.25, missing=0.3, random_state=seed)
    return d.X, d.y, d.event


def fitted(quantile=0.5, n=300, seed=0, **params):
    X, y, event = data(n, seed)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # fit's own diagnostics are not the point here
        return CensoredQuantileRegressor(quantile, **params).fit(X, y, event), (X, y, event)


def refit_replicate(params, X, y, event, seed, b):
    """The documented replicate b: rows from SeedSequence(seed, spawn_key=(b,)), fresh fit."""
    rng = np.random.default_rng(np.random.SeedSequence(seed, spawn_key=(b,)))
    rows = rng.integers(0, X.shape[0], X.shape[0])
    est = CensoredQuantileRegressor(**dict(params, n_threads=1))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        est.fit(X[rows], y[rows], event[rows])
    coef = np.atleast_2d(est.coef_)
    if est.fit_intercept:
        coef = np.column_stack([np.atleast_1d(est.intercept_), coef])
    return coef


@pytest.mark.parametrize("name", list(CONFIGS))
def test_replicates_are_refits_of_documented_resamples(name):
    """The whole pipeline (censoring survival, propensity, fit) is refit per replicate."""
    model, (X, y, event) = fitted([0.25, 0.5], **CONFIGS[name])
    res = model.summary(n_boot=6, random_state=11, n_threads=1, interval="normal")
    params = model.get_params()
    for b in range(6):
        expected = refit_replicate(params, X, y, event, 11, b)
        for j in range(2):
            assert_array_equal(res.replicates[j][b], expected[j])
    # a bootstrap with weights held fixed would differ: the propensities of a resample
    # are not those of the original rows
    assert np.all(np.ptp(res.replicates[0], axis=0) > 0)


@pytest.mark.parametrize("name", list(CONFIGS))
def test_identical_for_one_and_two_workers(name):
    model, _ = fitted([0.25, 0.5], **CONFIGS[name])
    one = model.summary(n_boot=40, random_state=3, n_threads=1)
    two = model.summary(n_boot=40, random_state=3, n_threads=2)
    for a, b in zip(one.replicates, two.replicates):
        assert_array_equal(a, b)
    assert_array_equal(one.bse, two.bse)
    assert_array_equal(one.conf_int, two.conf_int)
    other = model.summary(n_boot=40, random_state=4, n_threads=2)
    assert not np.array_equal(other.replicates[0], one.replicates[0])


def test_random_state_forms():
    model, _ = fitted()
    kw = {"n_boot": 5, "interval": "normal", "n_threads": 2}
    ref = model.summary(random_state=5, **kw)
    # an int is the entropy of the root SeedSequence
    assert_array_equal(model.summary(random_state=np.random.SeedSequence(5), **kw).replicates,
                       ref.replicates)
    assert ref.entropy == 5 and ref.spawn_key == ()
    # a SeedSequence's replicates are its spawn children
    root = np.random.SeedSequence(5, spawn_key=(2,))
    res = model.summary(random_state=root, **kw)
    assert res.spawn_key == (2,)
    again = model.summary(random_state=np.random.SeedSequence(5).spawn(3)[2], **kw)
    assert_array_equal(res.replicates, again.replicates)
    # None: fresh entropy, kept so the run can be repeated
    fresh = model.summary(random_state=None, **kw)
    assert_array_equal(model.summary(random_state=fresh.entropy, **kw).replicates,
                       fresh.replicates)
    # a Generator: reproducible from its seed, and it advances
    g = np.random.default_rng(8)
    first = model.summary(random_state=g, **kw)
    assert_array_equal(model.summary(random_state=np.random.default_rng(8), **kw).replicates,
                       first.replicates)
    assert not np.array_equal(model.summary(random_state=g, **kw).replicates,
                              first.replicates)


@pytest.mark.parametrize("interval", ["percentile", "normal"])
def test_statistics_follow_from_replicates(interval):
    model, _ = fitted([0.25, 0.5, 0.75])
    alpha = 0.1
    res = model.summary(n_boot=40, random_state=0, alpha=alpha, interval=interval)
    assert isinstance(res, QuantileSummary) and isinstance(res, CensoredQuantileSummary)
    coef = np.column_stack([model.intercept_, model.coef_])
    assert_array_equal(res.coef, coef)
    z = stats.norm.ppf(1 - alpha / 2)
    for j in range(3):
        reps = res.replicates[j]
        assert reps.shape == (40, 3)
        assert_allclose(res.cov[j], np.cov(reps, rowvar=False), rtol=1e-12)
        assert_allclose(res.bse[j], reps.std(axis=0, ddof=1), rtol=1e-12)
        assert_allclose(res.conf_int_percentile[j],
                        np.quantile(reps, [alpha / 2, 1 - alpha / 2], axis=0).T, rtol=1e-12)
        assert_allclose(res.conf_int_normal[j][:, 0], coef[j] - z * res.bse[j], rtol=1e-12)
        assert_allclose(res.conf_int_normal[j][:, 1], coef[j] + z * res.bse[j], rtol=1e-12)
    assert_allclose(res.tvalues, coef / res.bse, rtol=1e-12)
    assert_allclose(res.pvalues, 2 * stats.norm.sf(np.abs(coef / res.bse)), rtol=1e-12)
    expected = res.conf_int_percentile if interval == "percentile" else res.conf_int_normal
    assert res.conf_int is expected and res.interval == interval
    assert (res.n_boot, res.n_failed, res.nobs, res.se) == (40, 0, 300, "boot")


@pytest.mark.parametrize(("quantile", "fit_intercept", "shape"), [
    (0.5, True, (3,)), ([0.5], True, (1, 3)), ([0.3, 0.6], True, (2, 3)),
    (0.5, False, (2,)), ((0.2, 0.4, 0.6), False, (3, 2)),
])
def test_quantile_shapes(quantile, fit_intercept, shape):
    model, _ = fitted(quantile, fit_intercept=fit_intercept)
    res = model.summary(n_boot=40, random_state=1)
    k = shape[-1]
    for name in ("coef", "bse", "tvalues", "pvalues"):
        assert getattr(res, name).shape == shape, name
    assert res.conf_int.shape == shape + (2,)
    assert res.conf_int_normal.shape == shape + (2,)
    assert res.cov.shape == shape + (k,)
    assert res.names == (["intercept"] if fit_intercept else []) + ["x1", "x2"]
    if np.ndim(quantile) == 0:
        assert res.replicates.shape == (40, k) and res.quantile == 0.5
    else:
        assert len(res.replicates) == shape[0]
        assert_array_equal(res.quantile, quantile)
    assert np.all(res.bse > 0) and np.all(np.isfinite(res.conf_int))
    assert np.all(res.conf_int[..., 0] < res.conf_int[..., 1])
    text = str(res)
    assert "Intervals:" in text and "percentile" in text and "0 of 40" in text
    assert "pipeline, 40 replicates" in text and "P>|z|" in text


def test_bootstrap_sd_matches_monte_carlo_sd():
    """Planted truth at n = 300: the mean bootstrap sd is within 25% of the Monte Carlo sd.

    Monte Carlo sd from 300 datasets (relative error ~4%), bootstrap sd averaged over
    20 datasets of 50 replicates (~3%); measured ratios 1.15, 0.99, 1.08.
    """
    n = 300
    coefs = []
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        for s in range(300):
            X, y, event = data(n, 1000 + s)
            m = CensoredQuantileRegressor(0.5, n_threads=1).fit(X, y, event)
            coefs.append(np.r_[m.intercept_, m.coef_])
    mc_sd = np.std(coefs, axis=0, ddof=1)
    boot_sd = np.mean([fitted(n=n, seed=s)[0].summary(n_boot=50, random_state=s).bse
                       for s in range(20)], axis=0)
    assert_allclose(boot_sd / mc_sd, 1.0, atol=0.25)


def few_complete_rows():
    """Two complete uncensored rows: many resamples have none, or a singular design."""
    rng = np.random.default_rng(0)
    n = 30
    X = rng.uniform(1, 2, (n, 2))
    y = X[:, 0] + X[:, 1] + rng.standard_normal(n)
    event = np.ones(n, int)
    event[::3] = 0
    X[3:, 1] = np.nan
    event[:3] = [1, 1, 0]
    return X, y, event


def test_failed_replicates_are_counted_warned_and_limited():
    X, y, event = few_complete_rows()
    model = CensoredQuantileRegressor(0.5, fit_intercept=False).fit(X, y, event)
    with pytest.raises(ValueError, match=r"summary\(se='boot'\): \d+ of 50 bootstrap "
                       r"replicates failed, more than max_failed=0.1") as info:
        model.summary(n_boot=50, random_state=0)
    assert "no row of X is both complete" in str(info.value)
    with pytest.raises(ValueError, match=r"failed, fewer than 2 are left"):
        model.summary(n_boot=2, random_state=4, max_failed=0.6, interval="normal")
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        res = model.summary(n_boot=50, random_state=0, max_failed=0.9, interval="normal")
    failed = []
    for b in range(50):
        try:
            refit_replicate(model.get_params(), X, y, event, 0, b)
        except ValueError:
            failed.append(b)
    assert 5 <= len(failed) <= 45
    assert_array_equal(res.failed_replicates, failed)
    assert res.n_failed == len(failed) and res.replicates.shape == (50 - len(failed), 2)
    runtime = [w for w in caught if w.category is BootstrapWarning]
    assert len(runtime) == 1
    assert f"{len(failed)} of 50 bootstrap replicates failed and were left out" in str(
        runtime[0].message)
    assert runtime[0].filename == __file__  # points at the caller
    assert f"Failed replicates:  {len(failed)} of 50" in str(res)
    # max_failed is a share: exactly at it passes
    share = len(failed) / 50
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        model.summary(n_boot=50, random_state=0, max_failed=share, interval="normal")
    assert any("left out" in str(w.message) for w in caught)


@pytest.mark.parametrize("name", list(CONFIGS))
def test_replicate_warnings_are_collected_from_worker_threads(name):
    """Every replicate warns (pivot cap or MM cap): one warning per category, with the count."""
    model, _ = fitted(max_iter=1, max_pivots=1, **CONFIGS[name])
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        model.summary(n_boot=12, random_state=0, n_threads=2, interval="normal")
    conv = [w for w in caught if w.category is ConvergenceWarning]
    assert len(conv) == 1, [str(w.message) for w in caught]
    assert re.match(r"summary: 12 of 12 bootstrap replicate fits issued this warning",
                    str(conv[0].message))
    assert conv[0].filename == __file__
    assert len(caught) == 1


def test_percentile_ends_warning():
    model, _ = fitted()
    with pytest.warns(UserWarning, match=r"percentile interval's ends are the extreme"):
        model.summary(n_boot=30, alpha=0.05, random_state=0)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        model.summary(n_boot=30, alpha=0.05, random_state=0, interval="normal")
        model.summary(n_boot=40, alpha=0.05, random_state=0)


def test_no_dependent_censoring_warning_from_replicates():
    """The score test is a diagnostic of fit: summary does not rerun it 200 times."""
    rng = np.random.default_rng(1)
    n = 300
    X = rng.standard_normal((n, 2))
    t = X @ [1.0, -1.0] + rng.standard_normal(n)
    c = 1.5 * X[:, 0] + rng.standard_normal(n)  # censoring depends on X
    y, event = np.minimum(t, c), (t <= c).astype(int)
    with pytest.warns(DependentCensoringWarning):
        model = CensoredQuantileRegressor(0.3).fit(X, y, event)
    test = model.censoring_test_
    with warnings.catch_warnings():
        warnings.simplefilter("error", DependentCensoringWarning)
        model.summary(n_boot=40, random_state=0, n_threads=2)
    assert model.censoring_test_ is test


def test_uses_the_fit_and_its_parameters():
    model, (X, y, event) = fitted(0.5)
    ref = model.summary(n_boot=8, random_state=2, interval="normal")
    model.set_params(quantile=[0.1, 0.9], fit_intercept=False)  # after fit: no effect
    res = model.summary(n_boot=8, random_state=2, interval="normal")
    assert_array_equal(res.replicates, ref.replicates)
    assert res.quantile == 0.5 and res.names[0] == "intercept"
    # modifying the training arrays in place after fit is refused
    model, (X, y, event) = fitted(0.5)
    assert model._training_data[0] is X  # a reference, not a copy
    X[0, 0] += 1.0
    with pytest.raises(ValueError, match="modified in place after fit"):
        model.summary(n_boot=8, random_state=2)
    # a refit on the modified data is fine
    model.fit(X, y, event)
    model.summary(n_boot=8, random_state=2, interval="normal")


def test_feature_names():
    pd = pytest.importorskip("pandas")
    X, y, event = data()
    frame = pd.DataFrame(X, columns=["age", "dose"])
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        model = CensoredQuantileRegressor([0.25, 0.5]).fit(frame, y, event)
    res = model.summary(n_boot=40, random_state=0)
    assert res.names == ["intercept", "age", "dose"]
    table = res.to_frame()
    assert list(table.columns[:4]) == ["coef", "std err", "z", "P>|z|"]


def test_summary_before_fit():
    with pytest.raises(NotFittedError, match="CensoredQuantileRegressor.*not fitted"):
        CensoredQuantileRegressor().summary()


@pytest.mark.parametrize(("kwargs", "match"), [
    ({"se": "nid"}, r"se must be 'boot' for CensoredQuantileRegressor, got 'nid'"),
    ({"se": "bootstrap"}, r"se must be one of \['boot'\], got 'bootstrap'"),
    ({"se": None}, "se must be one of"),
    ({"alpha": 0.0}, "alpha must"),
    ({"alpha": 1.0}, "alpha must"),
    ({"alpha": 1.5}, "alpha must"),
    ({"alpha": float("nan")}, "alpha must"),
    ({"alpha": "0.05"}, "alpha must"),
    ({"n_boot": 1}, "n_boot must"),
    ({"n_boot": 0}, "n_boot must"),
    ({"n_boot": 2.5}, "n_boot must"),
    ({"n_boot": None}, "n_boot must"),
    ({"interval": "bca"}, "interval must be one of"),
    ({"n_threads": 0}, "n_threads must"),
    ({"n_threads": 1.5}, "n_threads must"),
    ({"max_failed": 1.0}, "max_failed must"),
    ({"max_failed": -0.1}, "max_failed must"),
    ({"random_state": -1}, "random_state must"),
    ({"random_state": "seed"}, "random_state must"),
    ({"random_state": True}, "random_state must"),
])
def test_bad_arguments_name_the_argument(kwargs, match):
    kwargs = dict(kwargs)
    model, _ = fitted(n=100)
    with pytest.raises((ValueError, TypeError), match=match):
        model.summary(n_boot=kwargs.pop("n_boot", 20), **kwargs)


def test_constant_replicates_warn_and_give_nan_tests():
    """Resamples that all give the same fit: bse 0, z and p NaN with a warning, not inf/0."""
    X = np.array([[0.0], [1.0], [2.0]] * 4)
    y = X[:, 0] * 2.0 + 1.0  # every resample with two distinct x fits the line exactly
    model = CensoredQuantileRegressor(0.5).fit(X, y)
    with pytest.warns(RuntimeWarning, match=r"replicates of 2 coefficient\(s\) are all equal"):
        res = model.summary(n_boot=20, random_state=0, interval="normal", max_failed=0.5)
    assert_array_equal(res.bse, 0.0)
    assert np.all(np.isnan(res.tvalues)) and np.all(np.isnan(res.pvalues))
    assert_allclose(res.conf_int, np.repeat(res.coef[:, None], 2, axis=1))


@given(n=st.integers(8, 50), censor=st.floats(0.0, 0.8), missing=st.floats(0.0, 0.6),
       config=st.sampled_from(list(CONFIGS)), quantile=st.sampled_from([0.3, 0.5, [0.4, 0.6]]),
       seed=st.integers(0, 2**16), n_boot=st.integers(2, 12),
       alpha=st.floats(0.001, 0.999), interval=st.sampled_from(["percentile", "normal"]),
       max_failed=st.floats(0.0, 0.99), n_threads=st.integers(1, 2))
def test_fuzz_censored_summary(n, censor, missing, config, quantile, seed, n_boot, alpha,
                               interval, max_failed, n_threads):
    """A finite answer consistent with its replicates, or an error naming the cause."""
    rng = np.random.default_rng(seed)
    X = np.round(rng.standard_normal((n, 2)), 1)
    t = X @ [1.0, -1.0] + rng.standard_normal(n)
    event = (rng.random(n) >= censor).astype(int)
    y = np.where(event == 1, t, t - rng.exponential(1.0, n))
    X[rng.random(n) < missing, 1] = np.nan
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        try:
            model = CensoredQuantileRegressor(quantile, **CONFIGS[config]).fit(X, y, event)
        except ValueError:
            record_event("fit refused the data")
            return
        try:
            res = model.summary(n_boot=n_boot, alpha=alpha, interval=interval,
                                random_state=seed, max_failed=max_failed, n_threads=n_threads)
        except ValueError as exc:
            assert "max_failed" in str(exc)
            record_event("too many failed replicates")
            return
    record_event("an answer" + (" with failed replicates" if res.n_failed else ""))
    k = 3
    reps = np.reshape(np.array(res.replicates), (-1, k))
    assert np.all(np.isfinite(reps))
    assert res.n_failed <= max_failed * n_boot + 1e-9 and res.n_failed <= n_boot - 2
    assert np.all(np.isfinite(res.bse)) and np.all(res.bse >= 0)
    assert np.all(np.isfinite(res.conf_int))
    assert np.all(res.conf_int[..., 0] <= res.conf_int[..., 1])
    ok = res.bse > 0
    assert np.all((res.pvalues[ok] >= 0) & (res.pvalues[ok] <= 1))
    assert np.all(np.isnan(res.pvalues[~ok]))
    lo, hi = reps.min(axis=0), reps.max(axis=0)
    pct = np.reshape(res.conf_int_percentile, (-1, k, 2))
    assert np.all((pct[..., 0] >= lo - 1e-9 * (1 + abs(lo))) &
                  (pct[..., 1] <= hi + 1e-9 * (1 + abs(hi))))
