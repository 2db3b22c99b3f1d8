"""Covariate-dependent censoring: Beran's local Kaplan-Meier kernel (exact and binned),
the locally weighted estimator (censoring='conditional'), the score-test warning."""
import tracemalloc
import warnings
from pathlib import Path

import numpy as np
import pytest

from statoptim import (
    CensoredQuantileRegressor,
    DependentCensoringWarning,
    censoring_dependence_test,
    censoring_survival,
    conditional_survival,
    kaplan_meier,
)

DATA = Path(__file__).parent / "data"


def design(n, seed):
    """Issue 13: T = 1 + 2x + N(0,1), C = 4.5 - 1.5x + N(0,1), x ~ U(0, 2); ~50% censored."""
    rng = np.random.default_rng(seed)
    x = rng.uniform(0, 2, n)
    t = 1 + 2 * x + rng.standard_normal(n)
    c = 4.5 - 1.5 * x + rng.standard_normal(n)
    return x[:, None], np.minimum(t, c), (t <= c).astype(int)


def beran_reference(time, event, Z, h, left, w=None):
    """Plain O(n^2) Beran estimator: product over distinct times, ties grouped."""
    n = time.size
    w = np.ones(n) if w is None else w
    U = (Z - Z.mean(axis=0)) / Z.std(axis=0, ddof=1) / h
    out = np.empty(n)
    for i in range(n):
        b = w * np.exp(-0.5 * ((U - U[i]) ** 2).sum(axis=1))
        prod = 1.0
        for s in np.unique(time):
            if s < time[i] or (s == time[i] and not left):
                ev = b[(time == s) & (event == 1)].sum()
                if ev > 0:
                    rest = b[time > s].sum() + b[(time == s) & (event == 0)].sum()
                    prod *= rest / (rest + ev)
        out[i] = prod
    return out


@pytest.mark.parametrize("left", [False, True])
@pytest.mark.parametrize("n_features", [1, 2])
def test_beran_matches_numpy_reference(rng, left, n_features):
    n = 250
    Z = rng.standard_normal((n, n_features))
    time = np.round(rng.exponential(size=n), 1)  # many ties
    event = rng.integers(0, 2, n)
    w = rng.uniform(0.5, 2.0, n)
    got = conditional_survival(time, event, Z, left=left, bandwidth=0.5, sample_weight=w,
                               method="exact")
    want = beran_reference(time, event, Z, 0.5, left, w)
    np.testing.assert_allclose(got, want, rtol=1e-12, atol=0)


def test_beran_with_flat_kernel_is_kaplan_meier(rng):
    time = np.round(rng.exponential(size=300), 1)
    event = rng.integers(0, 2, 300)
    Z = rng.standard_normal((300, 2))
    g = conditional_survival(time, 1 - event, Z, left=True, bandwidth=1e8)
    np.testing.assert_allclose(g, censoring_survival(time, event), rtol=1e-12)
    s = conditional_survival(time, event, Z, bandwidth=1e8)
    km = kaplan_meier(time, event)
    np.testing.assert_allclose(s, km.survival[np.searchsorted(km.time, time)], rtol=1e-12)


def test_thread_count_invariance():
    X, y, d = design(6000, 3)
    for method in ("exact", "binned"):
        one = conditional_survival(y, d, X, method=method, n_threads=1)
        two = conditional_survival(y, d, X, method=method, n_threads=2)
        np.testing.assert_array_equal(one, two)


@pytest.mark.parametrize("spacing", [0.1, 0.3])
def test_binned_error_bound(spacing):
    # docstring: max |log S_binned - log S_exact| <= 0.25 (Delta / h)^2 (1 + |log S_exact|)
    X, y, d = design(3000, 4)
    for event, left in ((d, False), (1 - d, True)):
        exact = conditional_survival(y, event, X, left=left, method="exact")
        binned = conditional_survival(y, event, X, left=left, method="binned",
                                      grid_spacing=spacing)
        pos = exact > 0
        assert np.all(binned[~pos] < 1e-300)
        la, lb = np.log(exact[pos]), np.log(binned[pos])
        err = np.abs(la - lb) / (1 + np.abs(la))
        assert err.max() <= 0.25 * spacing**2
        assert err.max() > 1e-4 * spacing**2  # it is an approximation: the test can fail


def test_auto_uses_binned_for_large_n_in_one_dimension():
    X, y, d = design(20_000, 5)
    auto = conditional_survival(y, d, X)
    binned = conditional_survival(y, d, X, method="binned")
    np.testing.assert_array_equal(auto, binned)


def test_memory_is_linear_in_n():
    # the n x n rule: n = 5000 would need 200 MB for an n x n float64 array
    X, y, d = design(5000, 6)
    tracemalloc.start()
    conditional_survival(y, d, X, method="exact")
    conditional_survival(y, d, X, method="binned")
    censoring_dependence_test(y, d, X)
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    assert peak < 20e6


def test_planted_truth_conditional_censoring():
    # bias of the slope (truth 2) over 30 data sets of n = 4000 (~50% censored)
    slopes = []
    for seed in range(30):
        X, y, d = design(4000, 100 + seed)
        model = CensoredQuantileRegressor(quantile=[0.25, 0.5, 0.75],
                                          censoring="conditional").fit(X, y, d)
        slopes.append(model.coef_[:, 0])
    bias = np.mean(slopes, axis=0) - 2.0
    assert abs(bias[0]) < 0.05 and abs(bias[1]) < 0.05
    # q = 0.75: at x near 2, P(C > T) < 1%, so the upper tail is barely observed and the
    # local Kaplan-Meier estimate of F(C | x) there is rough; the slope is biased upwards
    # (about +0.04 at n = 4000, more at smaller n), still far below the marginal bias.
    assert abs(bias[2]) < 0.15


def test_marginal_is_biased_and_warned():
    X, y, d = design(4000, 7)
    with pytest.warns(DependentCensoringWarning, match=r"p = [0-9.e-]+\).*censoring='conditional'"):
        model = CensoredQuantileRegressor(quantile=[0.25, 0.5, 0.75]).fit(X, y, d)
    assert np.all(model.coef_[:, 0] < 1.75)  # truth 2; the brief's data: 1.39 / 1.19 / 0.85
    assert model.censoring_test_.pvalue < 1e-10
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        CensoredQuantileRegressor(censoring="conditional").fit(X, y, d)
        CensoredQuantileRegressor(method="peng-huang").fit(X, y, d)


def test_no_warning_for_independent_censoring(rng):
    n = 3000
    x = rng.uniform(0, 2, n)
    t = 1 + 2 * x + rng.standard_normal(n)
    c = rng.normal(4, 1.5, n)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        model = CensoredQuantileRegressor().fit(x[:, None], np.minimum(t, c), (t <= c).astype(int))
    assert model.censoring_test_.pvalue > 1e-3


def test_score_test_matches_r_coxph():
    # R: summary(coxph(Surv(y, 1 - d) ~ x, data = read.csv("tests/data/censoring_ph.csv",
    #    comment.char = "#"), ties = "breslow"))$sctest  (survival 3.x)
    dat = np.loadtxt(DATA / "censoring_ph.csv", delimiter=",", skiprows=2)
    res = censoring_dependence_test(dat[:, 1], dat[:, 2].astype(int), dat[:, 0])
    assert res.df == 1
    np.testing.assert_allclose(res.statistic, 117.926860831122, rtol=1e-10)
    np.testing.assert_allclose(res.pvalue, 1.79900957619456e-27, rtol=1e-8)


def test_score_test_matches_numpy_reference_with_ties(rng):
    n = 200
    time = np.round(rng.exponential(size=n), 1)
    event = rng.integers(0, 2, n)
    Z = rng.standard_normal((n, 2))
    U, info = np.zeros(2), np.zeros((2, 2))
    for i in np.flatnonzero(event == 0):
        R = Z[time >= time[i]]
        m = R.mean(axis=0)
        U += Z[i] - m
        info += (R - m).T @ (R - m) / R.shape[0]
    res = censoring_dependence_test(time, event, Z)
    np.testing.assert_allclose(res.statistic, U @ np.linalg.solve(info, U), rtol=1e-10)
    assert res.df == 2


def test_conditional_without_censoring_is_quantile_regression(rng):
    from statoptim import QuantileRegressor

    X = rng.standard_normal((300, 2))
    y = X @ [1.0, -1.0] + rng.standard_normal(300)
    a = CensoredQuantileRegressor(quantile=0.3, censoring="conditional").fit(X, y)
    b = QuantileRegressor(quantile=0.3).fit(X, y)
    np.testing.assert_allclose(a.coef_, b.coef_, rtol=1e-12, atol=1e-12)


def test_conditional_weights_and_missing_covariates(rng):
    X, y, d = design(800, 8)
    X = np.column_stack([X, rng.standard_normal(800)])
    X[rng.random(800) < 0.2, 1] = np.nan
    q = 0.4
    model = CensoredQuantileRegressor(quantile=q, censoring="conditional",
                                      censoring_columns=[0]).fit(X, y, d)
    complete = ~np.isnan(X).any(axis=1)
    cens = complete & (d == 0)
    F = model.conditional_cdf_
    assert np.all(np.isnan(F[~cens])) and np.all((F[cens] >= 0) & (F[cens] <= 1))
    # column 0 is always observed: every row enters the kernel with weight 1
    want_F = 1 - conditional_survival(y, d, X[:, [0]])
    np.testing.assert_allclose(F[cens], want_F[cens], rtol=1e-12)
    local = np.where(F[cens] < q, (q - F[cens]) / (1 - F[cens]), 1.0)
    pi = model.propensity_
    np.testing.assert_allclose(model.weights_[cens], local / pi[cens], rtol=1e-12)
    np.testing.assert_allclose(model.weights_[complete & (d == 1)], 1 / pi[complete & (d == 1)])
    assert np.all(model.weights_[~complete] == 0)


def test_errors():
    X, y, d = design(200, 9)
    fit = CensoredQuantileRegressor
    with pytest.raises(ValueError, match="censoring must be one of"):
        fit(censoring="beran").fit(X, y, d)
    with pytest.raises(ValueError, match="censoring_bandwidth must be finite and > 0"):
        fit(censoring="conditional", censoring_bandwidth=0.0).fit(X, y, d)
    with pytest.raises(ValueError, match="censoring_bandwidth must be"):
        fit(censoring="conditional", censoring_bandwidth="wide").fit(X, y, d)
    with pytest.raises(ValueError, match="censoring_bandwidth must be"):
        fit(censoring="conditional", censoring_bandwidth=[0.1, 0.2]).fit(X, y, d)
    with pytest.raises(ValueError, match="censoring_columns must index the 1 columns"):
        fit(censoring="conditional", censoring_columns=[1]).fit(X, y, d)
    with pytest.raises(ValueError, match="censoring_columns must name at least one"):
        fit(censoring="conditional", censoring_columns=[]).fit(X, y, d)
    with pytest.raises(ValueError, match="censoring_columns must be None or a 1-D"):
        fit(censoring="conditional", censoring_columns=[0.5]).fit(X, y, d)
    with pytest.raises(ValueError, match="censoring_method must be one of"):
        fit(censoring="conditional", censoring_method="fft").fit(X, y, d)
    t = y
    with pytest.raises(ValueError, match="Z must have one row per entry of time"):
        conditional_survival(t, d, X[:-1])
    with pytest.raises(ValueError, match="Z must be finite"):
        conditional_survival(t, d, np.full((200, 1), np.nan))
    with pytest.raises(ValueError, match="bandwidth must be finite and > 0"):
        conditional_survival(t, d, X, bandwidth=-1.0)
    with pytest.raises(ValueError, match=r"grid_spacing must be a number in \(0, 1\]"):
        conditional_survival(t, d, X, grid_spacing=0.0)
    with pytest.raises(ValueError, match="method must be one of"):
        conditional_survival(t, d, X, method="fft")
    with pytest.raises(ValueError, match="sample_weight must be non-negative"):
        conditional_survival(t, d, X, sample_weight=-np.ones(200))
    with pytest.raises(ValueError, match="left must be True or False"):
        conditional_survival(t, d, X, left=1)
    with pytest.raises(ValueError, match="n_threads must be None or an integer"):
        conditional_survival(t, d, X, n_threads=0)
    with pytest.raises(ValueError, match="method='binned' supports Z with at most 3"):
        conditional_survival(t, d, np.random.default_rng(0).standard_normal((200, 4)),
                             method="binned")
    with pytest.raises(ValueError, match="bandwidth is too small: column 0 of Z"):
        conditional_survival(t, d, X, bandwidth=1e-320)
    with pytest.raises(ValueError, match="Z must have one row per entry of time"):
        censoring_dependence_test(t, d, X[:-1])


def test_kernel_rejects_bad_shapes(isolated):
    proc = isolated("""
import numpy as np
from statoptim.quantile import _beran
src = np.zeros((1, 5)); t = np.zeros(5); w = np.ones(5); e = np.zeros(5, np.uint8)
for bad in (dict(targets=np.zeros((3, 2))), dict(out=np.zeros(2)), dict(scratch=np.zeros((1, 4)))):
    args = dict(targets=np.zeros((3, 1)), out=np.zeros(3), scratch=np.zeros((1, _beran.BLOCK_SIZE)))
    args.update(bad)
    try:
        _beran.beran_rows(src, t, w, e, args["targets"], np.zeros(3), False, args["out"],
                          args["scratch"], 1)
    except ValueError:
        pass
    else:
        raise SystemExit("no error for " + str(list(bad)))
try:
    _beran.beran_nodes(src, t, w, e, np.zeros(1), np.ones(1), np.array([2], np.intp),
                       np.full((5, 1), 7, np.intp), False, np.zeros((5, 2)),
                       np.zeros((1, _beran.BLOCK_SIZE + 6)), 1)
except ValueError:
    pass
else:
    raise SystemExit("no error for a node index beyond the grid")
""", 60)
    assert proc.returncode == 0, proc.stderr
