"""Kaplan-Meier curve, censoring survival G(Y-) and IPCW weights.

Independent answers: a plain loop over the definitions of the spec (section 3),
a vectorised NumPy version, lifelines (when installed), a case worked by hand,
and the Satten-Datta identity linking D / (n G(Y-)) to the KM jumps of T.
"""
import numpy as np
import pytest
from numpy.testing import assert_allclose, assert_array_equal

from statoptim import censoring_survival, ipcw_weights, kaplan_meier


def km_reference(time, event):
    """Plain loop over the definitions (spec, section 3)."""
    time = [float(t) for t in time]
    event = [int(e) for e in event]
    n = len(time)
    s = sorted(set(time))
    risk, fail, cens, surv, gsurv = [], [], [], [], []
    S = G = 1.0
    for t in s:
        R = sum(1 for y in time if y >= t)
        d = sum(1 for y, e in zip(time, event) if y == t and e == 1)
        c = sum(1 for y, e in zip(time, event) if y == t and e == 0)
        S *= 1.0 - d / R
        G *= 1.0 - c / R
        risk.append(R), fail.append(d), cens.append(c), surv.append(S), gsurv.append(G)
    g_left = []
    for i in range(n):
        prod = 1.0
        for t, R, c in zip(s, risk, cens):
            if t < time[i]:
                prod *= 1.0 - c / R
        g_left.append(prod)
    return (np.array(s), np.array(surv), np.array(gsurv), np.array(risk), np.array(fail),
            np.array(cens), np.array(g_left))


def km_numpy(time, event):
    """Vectorised version: sort, group with np.unique, cumulative products."""
    s, inverse, counts = np.unique(time, return_inverse=True, return_counts=True)
    fail = np.bincount(inverse, weights=event, minlength=s.size)
    cens = counts - fail
    risk = time.size - np.concatenate([[0], np.cumsum(counts)[:-1]])
    surv = np.cumprod(1.0 - fail / risk)
    gsurv = np.cumprod(1.0 - cens / risk)
    g_before = np.concatenate([[1.0], gsurv[:-1]])
    return s, surv, gsurv, risk, fail, cens, g_before[inverse]


def make_data(rng, n_samples, ties, censor_rate=0.3):
    t = rng.exponential(2.0, n_samples)
    c = rng.exponential(2.0 * (1 - censor_rate) / max(censor_rate, 1e-9), n_samples)
    y = np.minimum(t, c)
    d = (t <= c).astype(int)
    if ties:
        y = np.round(y * 4) / 4  # many ties, both within and across event types
    return y, d


@pytest.mark.parametrize("ties", [False, True])
@pytest.mark.parametrize("n_samples", [1, 2, 7, 150])
@pytest.mark.parametrize("censor_rate", [0.0, 0.3, 0.8])
def test_matches_reference_loop(rng, ties, n_samples, censor_rate):
    y, d = make_data(rng, n_samples, ties, censor_rate)
    s, surv, _, risk, fail, cens, g_left = km_reference(y, d)
    km = kaplan_meier(y, d)
    assert_array_equal(km.time, s)
    assert_allclose(km.survival, surv, rtol=1e-12, atol=0)
    assert_array_equal(km.n_at_risk, risk)
    assert_array_equal(km.n_events, fail)
    assert_array_equal(km.n_censored, cens)
    assert_allclose(censoring_survival(y, d), g_left, rtol=1e-12, atol=0)
    w = ipcw_weights(y, d)
    assert_allclose(w, np.where(d == 1, 1.0 / g_left, 0.0), rtol=1e-12, atol=0)


def test_censoring_curve_is_km_with_events_reversed(rng):
    y, d = make_data(rng, 200, ties=True)
    _, _, gsurv, *_ = km_reference(y, d)
    reversed_km = kaplan_meier(y, 1 - d)
    assert_allclose(reversed_km.survival, gsurv, rtol=1e-12, atol=0)


@pytest.mark.parametrize("ties", [False, True])
def test_matches_numpy_at_scale(rng, ties):
    y, d = make_data(rng, 20_000, ties)
    y = y - 3.0  # negative times are allowed (the talk's T is a linear model)
    s, surv, _, risk, fail, cens, g_left = km_numpy(y, d)
    km = kaplan_meier(y, d)
    assert_array_equal(km.time, s)
    assert_array_equal(km.n_at_risk, risk)
    assert_array_equal(km.n_events, fail)
    assert_array_equal(km.n_censored, cens)
    # products of up to 2e4 factors formed as (R - d) / R here and 1 - d / R in NumPy:
    # an ulp per factor at most, far below 1e-12 relative
    assert_allclose(km.survival, surv, rtol=1e-12, atol=0)
    assert_allclose(censoring_survival(y, d), g_left, rtol=1e-12, atol=0)


def test_hand_checked_ties():
    # s:      1    2    3    4    5
    # R:      8    7    4    3    1
    # d, c: 1,0  1,2  0,1  1,1  1,0
    y = np.array([1, 2, 2, 2, 3, 4, 4, 5], dtype=float)
    d = np.array([1, 1, 0, 0, 0, 1, 0, 1])
    km = kaplan_meier(y, d)
    assert_array_equal(km.time, [1, 2, 3, 4, 5])
    assert_array_equal(km.n_at_risk, [8, 7, 4, 3, 1])
    assert_array_equal(km.n_events, [1, 1, 0, 1, 1])
    assert_array_equal(km.n_censored, [0, 2, 1, 1, 0])
    assert_allclose(km.survival, [7 / 8, 6 / 8, 6 / 8, 4 / 8, 0.0], rtol=1e-15, atol=0)
    G = [1.0, 5 / 7, 15 / 28, 5 / 14, 5 / 14]
    assert_allclose(kaplan_meier(y, 1 - d).survival, G, rtol=1e-15, atol=0)
    # left limits; the failure at 2 is not down-weighted by the two censorings at 2
    # (failures precede censorings), nor the failure at 4 by the censoring at 4
    g_left = [1.0, 1.0, 1.0, 1.0, 5 / 7, 15 / 28, 15 / 28, 5 / 14]
    assert_allclose(censoring_survival(y, d), g_left, rtol=1e-15, atol=0)
    assert_allclose(
        ipcw_weights(y, d), [1.0, 1.0, 0, 0, 0, 28 / 15, 0, 14 / 5], rtol=1e-15, atol=0
    )


@pytest.mark.parametrize("seed", range(3))
def test_satten_datta_identity(seed):
    """Tie-free data: D_i / (n G(Y_i-)) is the jump of the KM of T at Y_i."""
    rng = np.random.default_rng(seed)
    y, d = make_data(rng, 500, ties=False, censor_rate=0.4)
    d[np.argmax(y)] = rng.integers(0, 2)  # either kind of last observation
    km = kaplan_meier(y, d)
    before = np.concatenate([[1.0], km.survival[:-1]])
    jump = (before - km.survival)[np.searchsorted(km.time, y)]
    assert_allclose(ipcw_weights(y, d) / y.size, jump, rtol=1e-12, atol=1e-15)
    # the weights of the uncensored rows and the KM mass add up the same way
    assert_allclose(ipcw_weights(y, d).sum() / y.size, 1 - km.survival[-1], rtol=1e-12)


def test_matches_lifelines(rng):
    lifelines = pytest.importorskip("lifelines")
    for ties in (False, True):
        y, d = make_data(rng, 400, ties)
        y = y + 0.01  # lifelines wants positive durations
        fitter = lifelines.KaplanMeierFitter().fit(y, event_observed=d)
        sf = fitter.survival_function_.iloc[:, 0]
        km = kaplan_meier(y, d)
        assert_allclose(sf.loc[km.time].to_numpy(), km.survival, rtol=1e-12, atol=1e-15)
        # censoring survival: lifelines with event_observed = 1 - D, then the left limit
        gfit = lifelines.KaplanMeierFitter().fit(y, event_observed=1 - d)
        gs = gfit.survival_function_.iloc[:, 0]
        times = gs.index.to_numpy()
        vals = gs.to_numpy()
        left = vals[np.searchsorted(times, y, side="left") - 1]  # last time strictly below
        assert_allclose(censoring_survival(y, d), left, rtol=1e-12, atol=0)


def test_invariances(rng):
    y, d = make_data(rng, 300, ties=True)
    g = censoring_survival(y, d)
    perm = rng.permutation(y.size)
    assert_allclose(censoring_survival(y[perm], d[perm]), g[perm], rtol=0, atol=0)
    # bool events, lists, and monotone transforms of time give the same weights
    assert_array_equal(censoring_survival(list(y), d.astype(bool)), g)
    assert_array_equal(censoring_survival(np.exp(y) - 5, d), g)
    # event=None: no censoring, G = 1, weights 1
    assert_array_equal(censoring_survival(y, np.ones_like(d)), np.ones(y.size))
    km = kaplan_meier(y)
    assert_array_equal(km.n_censored, 0)
    # read-only input
    y_ro = y.copy()
    y_ro.flags.writeable = False
    assert_array_equal(censoring_survival(y_ro, d), g)


def test_positive_left_limit_even_when_last_is_censored():
    y = np.array([1.0, 2.0, 3.0])
    d = np.array([1, 0, 0])
    assert kaplan_meier(y, 1 - d).survival[-1] == 0.0
    assert np.all(censoring_survival(y, d) > 0)
    assert_allclose(ipcw_weights(y, d), [1.0, 0.0, 0.0], rtol=0, atol=0)


@pytest.mark.parametrize("func", [kaplan_meier, censoring_survival, ipcw_weights])
def test_bad_input(func):
    y = np.array([1.0, 2.0, 3.0])
    with pytest.raises(ValueError, match="event must contain only 0"):
        func(y, [1, 2, 0])
    with pytest.raises(ValueError, match="event must contain only 0"):
        func(y, [1, np.nan, 0])
    with pytest.raises(ValueError, match="event must have the same length as time"):
        func(y, [1, 0])
    with pytest.raises(ValueError, match="time must be finite"):
        func([1.0, np.nan, 2.0], [1, 0, 1])
    with pytest.raises(ValueError, match="time must be finite"):
        func([1.0, np.inf, 2.0], [1, 0, 1])
    with pytest.raises(ValueError, match="time must be 1-D"):
        func(np.ones((3, 2)), [1, 0, 1])
    with pytest.raises(ValueError, match="time must contain at least one"):
        func([], [])
    with pytest.raises(ValueError, match="time must be a 1-D array of numbers"):
        func(["a", "b"], [1, 0])
    with pytest.raises(ValueError, match="event must be numeric 0/1 or bool"):
        func(y, ["a", "b", "c"])
