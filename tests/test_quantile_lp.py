"""The MM solver's answer against an exact LP solver (HiGHS).

The LP optimum is unique in value even when the minimiser is not (an even-n
median, degenerate designs), so objectives are compared at relative 1e-9, the
acceptance bound of the exact finish.
"""
import numpy as np
import pytest

from statoptim.quantile import solve_quantile
from statoptim.studies.quantile_solver import lp_quantile_objective


def _problem(rng, n_samples, n_features, kind):
    Z = np.ones((n_samples, n_features))
    if n_features > 1:
        Z[:, 1:] = rng.standard_normal((n_samples, n_features - 1))
    if kind == "discrete":  # tied covariate values make the LP degenerate
        Z[:, 1:] = np.round(Z[:, 1:])
    y = Z @ rng.standard_normal(n_features) + rng.standard_normal(n_samples)
    if kind == "tied":
        y = np.round(y)
    return Z, y


@pytest.mark.parametrize("seed", range(12))
@pytest.mark.parametrize("kind", ["continuous", "discrete", "tied"])
def test_objective_matches_linprog(seed, kind):
    rng = np.random.default_rng(seed)
    n_samples = int(rng.integers(20, 2000))
    n_features = int(rng.integers(1, 31)) if kind == "continuous" else int(rng.integers(2, 6))
    q = float(rng.uniform(0.05, 0.95))
    Z, y = _problem(rng, n_samples, n_features, kind)
    w = rng.uniform(0.1, 3.0, n_samples) if seed % 2 else None
    sol = solve_quantile(Z, y, w, q)
    lp_obj, _ = lp_quantile_objective(Z, y, q, w)
    assert sol.status == "optimal"
    np.testing.assert_allclose(sol.objective, lp_obj, rtol=1e-9, atol=0)
    # the reported objective is the objective at the returned coefficients
    r = y - Z @ sol.coef
    ww = np.ones(n_samples) if w is None else w
    direct = ww @ np.where(r >= 0, q * r, (q - 1) * r)
    np.testing.assert_allclose(sol.objective, direct, rtol=1e-12, atol=0)


@pytest.mark.parametrize("n_features", [2, 5])
def test_preprocessing_is_exact(n_features):
    """Portnoy-Koenker preprocessing returns the full-data optimum."""
    rng = np.random.default_rng(7)
    Z, y = _problem(rng, 30_000, n_features, "continuous")
    q = 0.3
    full = solve_quantile(Z, y, None, q, preprocess=False)
    pre = solve_quantile(Z, y, None, q, preprocess=True)
    assert pre.status == "optimal" and pre.n_rounds >= 1
    np.testing.assert_allclose(pre.objective, full.objective, rtol=1e-11, atol=0)


def _degenerate_problem(rng, kind):
    n_samples, n_features = int(rng.integers(5, 400)), int(rng.integers(1, 6))
    Z = np.ones((n_samples, n_features))
    Z[:, 1:] = rng.integers(-2, 3, (n_samples, n_features - 1))
    if kind == "few-values":
        y = rng.integers(0, 4, n_samples).astype(float)
    elif kind == "exact-fit":  # every residual is zero at the optimum
        y = Z @ rng.integers(-2, 3, n_features).astype(float)
    elif kind == "triplicates":
        y = np.repeat(rng.standard_normal(n_samples // 3 + 1), 3)[:n_samples]
    else:  # constant response
        y = np.full(n_samples, 2.0)
    return Z, y


@pytest.mark.parametrize("seed", range(15))
@pytest.mark.parametrize("kind", ["few-values", "exact-fit", "triplicates", "constant"])
def test_degenerate_problems_are_certified(seed, kind):
    """Ties make vertices degenerate; the finish must still certify the optimum."""
    rng = np.random.default_rng(1000 + seed)
    Z, y = _degenerate_problem(rng, kind)
    q = float(rng.choice([0.25, 0.5, 0.75, rng.uniform(0.02, 0.98)]))
    w = rng.integers(1, 4, Z.shape[0]).astype(float) if seed % 2 else None
    try:
        sol = solve_quantile(Z, y, w, q)
    except ValueError as exc:  # a random discrete design can be rank deficient
        assert "rank deficient" in str(exc)
        return
    lp_obj, _ = lp_quantile_objective(Z, y, q, w)
    assert sol.status == "optimal"
    # objectives can be exactly 0 here: compare on the scale of the data
    scale = max(lp_obj, float(np.abs(y).sum()) * 1e-3, 1.0)
    assert abs(sol.objective - lp_obj) <= 1e-9 * scale


def _narrowing_problem(rng, kind, n_samples=20_000, n_features=4):
    Z, y = _problem(rng, n_samples, n_features, "discrete" if kind == "discrete" else "continuous")
    if kind == "heteroscedastic":  # the spread grows with a covariate: PK's standardisation
        y = Z[:, 1] + (1.0 + np.abs(Z[:, 1])) * rng.standard_normal(n_samples)
    elif kind == "heavy-tails":
        y = Z @ np.ones(n_features) + rng.standard_t(1.5, n_samples)
    elif kind == "leverage":  # a few rows far out in the design
        Z[:50, 1] *= 1e3
        y = Z @ np.ones(n_features) + rng.standard_normal(n_samples)
    return Z, y


@pytest.mark.parametrize("kind", ["continuous", "discrete", "heteroscedastic", "heavy-tails",
                                  "leverage"])
@pytest.mark.parametrize("q", [0.03, 0.5, 0.9])
def test_narrowed_preprocessing_is_exact(kind, q):
    """The band narrowed around the reduced MM fit still gives the full optimum.

    At n = 20000 and p = 4 the kept band (0.8 m = 1500 rows) is narrowed to
    250 rows before the exact finish; the answer must equal the direct
    solve, with and without weights.
    """
    rng = np.random.default_rng(int(q * 100) + len(kind))
    Z, y = _narrowing_problem(rng, kind)
    for w in (None, rng.uniform(0.2, 5.0, Z.shape[0])):
        full = solve_quantile(Z, y, w, q, preprocess=False)
        pre = solve_quantile(Z, y, w, q, preprocess=True)
        assert pre.status == "optimal" and pre.n_rounds >= 1
        np.testing.assert_allclose(pre.objective, full.objective, rtol=1e-11, atol=0)


def test_narrow_band_too_narrow_falls_back_to_the_wide_band(monkeypatch):
    """A band that misses the optimum is caught by the verification pass and widened."""
    from statoptim.quantile import _preprocess

    real = _preprocess._narrow
    calls = []

    def too_narrow(Z, y, w, keep, resid_keep, n_narrow, side, glob_z, glob_yw):
        calls.append(n_narrow)
        return real(Z, y, w, keep, resid_keep, Z.shape[1], side, glob_z, glob_yw)

    monkeypatch.setattr(_preprocess, "_narrow", too_narrow)
    rng = np.random.default_rng(3)
    Z, y = _narrowing_problem(rng, "continuous", n_samples=30_000, n_features=6)
    full = solve_quantile(Z, y, None, 0.5, preprocess=False)
    pre = solve_quantile(Z, y, None, 0.5, preprocess=True)
    assert calls, "the narrowing step did not run"
    assert pre.status == "optimal"
    np.testing.assert_allclose(pre.objective, full.objective, rtol=1e-11, atol=0)


def test_inverse_gram_root_and_standardized_residuals_match_numpy():
    """The blocked BLAS pass equals the plain formula r_i / sqrt(z_i' G^-1 z_i)."""
    from statoptim.quantile import _band, _preprocess

    rng = np.random.default_rng(5)
    for n_samples, n_features in ((1, 1), (1023, 3), (2500, 21)):  # around the block size
        Z = rng.standard_normal((n_samples, n_features)) * rng.uniform(0.1, 1e3, n_features)
        y = rng.standard_normal(n_samples)
        theta = rng.standard_normal(n_features)
        sub = Z[rng.integers(0, n_samples, max(4 * n_features, 8))]
        gram = sub.T @ sub + np.eye(n_features) * 1e-3
        root = _preprocess._inverse_gram_root(gram)
        np.testing.assert_allclose(root @ root.T, np.linalg.inv(gram), rtol=1e-9,
                                   atol=1e-12 * np.abs(np.linalg.inv(gram)).max())
        u = np.empty(n_samples)
        _band.standardized_residuals(Z, y, theta, root, u)
        quad = np.einsum("ij,jk,ik->i", Z, np.linalg.inv(gram), Z)
        np.testing.assert_allclose(u, (y - Z @ theta) / np.sqrt(quad), rtol=1e-9)
        colmax = np.empty(n_features)
        assert _band.column_absmax(Z, colmax) == 0
        np.testing.assert_array_equal(colmax, np.abs(Z).max(axis=0))
    Z[1, 2] = np.nan
    Z[0, 0] = np.inf
    assert _band.column_absmax(Z, colmax) == 2
    with pytest.raises(ValueError, match="out must have one entry per column"):
        _band.column_absmax(Z, np.empty(n_features + 1))
    with pytest.raises(ValueError, match="M shape"):
        _band.standardized_residuals(Z, y, theta, np.eye(n_features + 1), u)
