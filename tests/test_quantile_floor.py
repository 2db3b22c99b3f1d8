"""The preprocessing passes without the column of ones (issue 17).

``QuantileRegressor.fit`` no longer builds ``[1, X]``: the full-data passes
(``band_split``, ``glob_offenders_x``, ``gather_design``) take X and a flag.
Each is checked against a plain NumPy computation on the materialised design,
and the fits against the direct solve on ``[1, X]``.
"""
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from statoptim import QuantileRegressor
from statoptim.quantile import _band, _preprocess, _solver, solve_quantile


def _design(rng, n_samples, n_x, correlated=False):
    X = rng.standard_normal((n_samples, n_x))
    if correlated and n_x > 1:
        X[:, 1] = X[:, 0] + 0.1 * X[:, 1] + 3.0
    y = X @ rng.standard_normal(n_x) + 1.0 + rng.standard_normal(n_samples)
    return np.ascontiguousarray(X), y


def _reference_u(Z, y, theta, M):
    return (y - Z @ theta) / np.sqrt(np.sum((Z @ M) ** 2, axis=1))


@pytest.mark.parametrize("intercept", [True, False])
@pytest.mark.parametrize("n_x", [0, 2, 12])
@pytest.mark.parametrize("screen", [False, True])
def test_band_split_matches_numpy(intercept, n_x, screen):
    if n_x == 0 and not intercept:
        pytest.skip("no column at all")
    rng = np.random.default_rng(n_x + 10 * intercept + 100 * screen)
    n_samples = 5000
    X, y = _design(rng, n_samples, n_x, correlated=n_x == 12)
    Z = _solver._with_ones(X) if intercept else X
    w = rng.uniform(0.5, 2.0, n_samples)
    sub = rng.choice(n_samples, 800, replace=False)
    gram = Z[sub].T @ Z[sub]
    root = _preprocess._inverse_gram_root(gram)
    theta = np.linalg.lstsq(Z[sub], y[sub], rcond=None)[0]
    u_ref = _reference_u(Z, y, theta, root)
    kappa = tuple(np.quantile(u_ref, [0.4, 0.6]))
    p = Z.shape[1]
    u = np.empty(n_samples)
    side = np.empty(n_samples, dtype=np.int8)
    glob_z, glob_yw = np.empty((2, p)), np.empty(4)
    kept = np.empty(n_samples, dtype=np.intp)
    extra = ()
    if screen:
        gi = root @ root.T
        d = np.diag(gi).copy()
        eig = np.linalg.eigvalsh(gi / np.sqrt(np.outer(d, d)))
        extra = (d, eig[0] * (1 - 1e-12), eig[-1] * (1 + 1e-12))
    n_keep = _band.band_split(X, y, w, theta, root, *kappa, intercept, u, side, glob_z,
                            glob_yw, kept, *extra)
    lo, hi = u_ref < kappa[0], u_ref > kappa[1]
    # rows within rounding of a threshold may fall either way
    edge = np.minimum(np.abs(u_ref - kappa[0]), np.abs(u_ref - kappa[1])) < 1e-9
    assert np.array_equal((side == -1)[~edge], lo[~edge])
    assert np.array_equal((side == 1)[~edge], hi[~edge])
    np.testing.assert_array_equal(kept[:n_keep], np.flatnonzero(side == 0))
    for g, rows in ((0, side == -1), (1, side == 1)):
        np.testing.assert_allclose(glob_z[g], w[rows] @ Z[rows], rtol=1e-10, atol=1e-9)
        np.testing.assert_allclose(glob_yw[g], w[rows] @ y[rows], rtol=1e-10, atol=1e-9)
        np.testing.assert_allclose(glob_yw[2 + g], w[rows].sum(), rtol=1e-12)
    if not screen:
        np.testing.assert_allclose(u, u_ref, rtol=1e-9, atol=1e-12)
    else:  # exact where the bounds straddle a threshold, else a value of the interval
        ratio = u / u_ref
        assert np.all(ratio <= 1 + 1e-9)
        assert np.all(ratio >= np.sqrt(extra[1] / extra[2]) - 1e-9)


def test_band_split_rejects_bad_screening_and_shapes():
    rng = np.random.default_rng(0)
    X, y = _design(rng, 50, 3)
    w, theta, M = np.ones(50), np.zeros(4), np.eye(4)
    out = (np.empty(50), np.empty(50, dtype=np.int8), np.empty((2, 4)), np.empty(4),
           np.empty(50, dtype=np.intp))
    with pytest.raises(ValueError, match="lam_lo"):
        _band.band_split(X, y, w, theta, M, -1.0, 1.0, True, *out, np.ones(4), 2.0, 1.0)
    with pytest.raises(ValueError, match="diag"):
        _band.band_split(X, y, w, theta, M, -1.0, 1.0, True, *out, np.ones(3), 1.0, 1.0)
    with pytest.raises(ValueError, match="theta"):
        _band.band_split(X, y, w, theta[:3], M, -1.0, 1.0, True, *out)
    with pytest.raises(ValueError, match="one entry per row"):
        _band.band_split(X, y[:10], w, theta, M, -1.0, 1.0, True, *out)


@pytest.mark.parametrize("n_x", [0, 3, 15])
def test_glob_offenders_x_and_gather_match_the_materialised_design(n_x):
    rng = np.random.default_rng(n_x)
    X, y = _design(rng, 3000, n_x)
    Z = _solver._with_ones(X)
    w = rng.uniform(0.5, 2.0, 3000)
    theta = rng.standard_normal(n_x + 1)
    side = rng.integers(-1, 2, 3000).astype(np.int8)
    out_a, out_b = np.empty(3000, dtype=np.intp), np.empty(3000, dtype=np.intp)
    n_a, obj_a = _band.glob_offenders(Z, y, w, 0.3, theta, side, out_a)
    n_b, obj_b = _band.glob_offenders_x(X, y, w, 0.3, theta, side, True, out_b)
    assert n_a == n_b
    np.testing.assert_array_equal(out_a[:n_a], out_b[:n_b])
    np.testing.assert_allclose(obj_b, obj_a, rtol=1e-12)
    rows = np.array([5, 0, 2999, 5], dtype=np.intp)
    got = np.empty((4, n_x + 1))
    _band.gather_design(X, rows, True, got)
    np.testing.assert_array_equal(got, Z[rows])
    with pytest.raises(ValueError, match="row indices"):
        _band.gather_design(X, np.array([3000], dtype=np.intp), True, got)


@pytest.mark.parametrize("n_x", [1, 12])
@pytest.mark.parametrize("q", [0.1, 0.5])
def test_fit_without_materialised_ones_equals_the_direct_solve(n_x, q):
    rng = np.random.default_rng(n_x)
    n_samples = 30_000 if n_x == 1 else 40_000
    X, y = _design(rng, n_samples, n_x, correlated=True)
    w = rng.uniform(0.5, 2.0, n_samples)
    model = QuantileRegressor(quantile=q).fit(X, y, sample_weight=w)
    direct = solve_quantile(_solver._with_ones(X), y, w, q, preprocess=False)
    assert model.status_ == "optimal" and direct.status == "optimal"
    r = y - X @ model.coef_ - model.intercept_
    objective = float(w @ np.maximum(q * r, (q - 1) * r))
    np.testing.assert_allclose(objective, direct.objective, rtol=1e-11)


def test_band_far_from_its_size_falls_back_to_exact_thresholds(monkeypatch):
    """Thresholds estimated from the subsample that keep too few rows are redone."""
    calls = []
    real = _preprocess._thresholds

    def skewed(u, level_lo, level_hi):
        calls.append(u.size)
        if len(calls) == 1:  # the subsample's estimate: a band of almost nothing
            return real(u, 0.5 * (level_lo + level_hi), 0.5 * (level_lo + level_hi))
        return real(u, level_lo, level_hi)

    monkeypatch.setattr(_preprocess, "_thresholds", skewed)
    rng = np.random.default_rng(5)
    X, y = _design(rng, 30_000, 3)
    Z = _solver._with_ones(X)
    pre = solve_quantile(Z, y, None, 0.5, preprocess=True)
    full = solve_quantile(Z, y, None, 0.5, preprocess=False)
    assert len(calls) >= 2 and calls[1] == 30_000  # the full data's own order statistics
    assert pre.status == "optimal"
    np.testing.assert_allclose(pre.objective, full.objective, rtol=1e-11)


@settings(deadline=None)
@given(n_samples=st.integers(1, 3000), n_x=st.integers(0, 14), intercept=st.booleans(),
       screen=st.booleans(), seed=st.integers(0, 2**32 - 1),
       levels=st.tuples(st.floats(0.0, 1.0), st.floats(0.0, 1.0)),
       scale=st.sampled_from([1e-3, 1.0, 1e3]))
def test_fuzz_band_split(n_samples, n_x, intercept, screen, seed, levels, scale):
    """band_split (with or without screening) splits rows as NumPy does and sums the globs."""
    if n_x + intercept == 0:
        n_x = 1
    rng = np.random.default_rng(seed)
    X = scale * rng.standard_normal((n_samples, n_x))
    if n_x > 1 and rng.random() < 0.3:
        X[:, 1] = X[:, 0] + rng.uniform(0.01, 1.0) * X[:, 1]  # correlated columns
    Z = _solver._with_ones(X) if intercept else X
    p = Z.shape[1]
    y = Z @ rng.standard_normal(p) + rng.standard_normal(n_samples)
    w = rng.uniform(0.1, 3.0, n_samples)
    gram = Z.T @ Z + 1e-3 * np.eye(p)
    root = _preprocess._inverse_gram_root(gram)
    theta = rng.standard_normal(p)
    u_ref = _reference_u(Z, y, theta, root)
    kappa = tuple(np.sort(np.quantile(u_ref, levels)))
    extra = () if not screen else _preprocess._screening_bounds(root)
    u = np.empty(n_samples)
    side = np.empty(n_samples, dtype=np.int8)
    glob_z, glob_yw = np.empty((2, p)), np.empty(4)
    kept = np.empty(n_samples, dtype=np.intp)
    n_keep = _band.band_split(np.ascontiguousarray(X), y, w, theta, root, *kappa, intercept, u,
                            side, glob_z, glob_yw, kept, *extra)
    edge = np.minimum(np.abs(u_ref - kappa[0]), np.abs(u_ref - kappa[1])) <= 1e-9 * (
        1 + np.abs(u_ref))
    assert np.array_equal((side == -1)[~edge], (u_ref < kappa[0])[~edge])
    assert np.array_equal((side == 1)[~edge], (u_ref > kappa[1])[~edge])
    np.testing.assert_array_equal(kept[:n_keep], np.flatnonzero(side == 0))
    for g, rows in ((0, side == -1), (1, side == 1)):
        ref = w[rows] @ Z[rows]
        tol = 1e-10 * (w[rows] @ np.abs(Z[rows])) + 1e-300
        assert np.all(np.abs(glob_z[g] - ref) <= tol)
        np.testing.assert_allclose(glob_yw[2 + g], w[rows].sum(), rtol=1e-12)
