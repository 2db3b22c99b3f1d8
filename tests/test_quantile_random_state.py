"""``random_state`` of the quantile estimators (issue 14: no hard-coded seed inside).

The seed picks the preprocessing subsample; the fit is the exact optimum whatever
the seed, the same seed gives the same fit, and a bad seed is refused by name.
"""
import numpy as np
import pytest

from statoptim import (
    CensoredQuantileRegressor,
    PartiallyLinearQuantileRegressor,
    QuantileRegressor,
)


@pytest.fixture(scope="module")
def data():
    rng = np.random.default_rng(0)
    X = rng.standard_normal((30000, 2))
    y = X @ [1.0, -2.0] + rng.standard_normal(30000)
    return X, y


def _objective(model, X, y, q=0.5):
    r = y - model.predict(X)
    return float(np.sum(np.maximum(q * r, (q - 1) * r)))


@pytest.mark.parametrize("seed", [0, 1, 12345, None])
def test_every_seed_gives_the_optimum(data, seed):
    X, y = data
    ref = QuantileRegressor(0.5, preprocess=False).fit(X, y)   # no subsample: no seed used
    model = QuantileRegressor(0.5, preprocess=True, random_state=seed).fit(X, y)
    assert model.status_ == "optimal"
    assert _objective(model, X, y) == pytest.approx(_objective(ref, X, y), rel=1e-12)


def test_same_seed_same_fit_and_generators(data):
    X, y = data
    a = QuantileRegressor([0.25, 0.75], preprocess=True, random_state=7).fit(X, y)
    b = QuantileRegressor([0.25, 0.75], preprocess=True, random_state=7).fit(X, y)
    np.testing.assert_array_equal(a.coef_, b.coef_)
    g1 = QuantileRegressor(0.5, preprocess=True,
                           random_state=np.random.default_rng(3)).fit(X, y)
    g2 = QuantileRegressor(0.5, preprocess=True,
                           random_state=np.random.default_rng(3)).fit(X, y)
    np.testing.assert_array_equal(g1.coef_, g2.coef_)
    assert QuantileRegressor().get_params()["random_state"] == 0


@pytest.mark.parametrize("Est", [QuantileRegressor, PartiallyLinearQuantileRegressor,
                                 CensoredQuantileRegressor])
@pytest.mark.parametrize("bad, match", [(-1, "non-negative"), ("x", "random_state must be"),
                                        (1.5, "random_state must be")])
def test_bad_seed_is_refused_by_name(data, Est, bad, match):
    X, y = data
    with pytest.raises(ValueError, match=match):
        Est(random_state=bad).fit(X[:200], y[:200])
