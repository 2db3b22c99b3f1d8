"""Peng & Huang (2008) censored quantile regression: R crq agreement on stored data, the
estimating equations at every grid point, planted truth, errors."""
import warnings
from pathlib import Path

import numpy as np
import pytest

from statoptim import CensoredQuantileRegressor
from statoptim.quantile._peng_huang import default_grid, peng_huang_path

DATA = Path(__file__).parent / "data"


def load_ph():
    dat = np.loadtxt(DATA / "censoring_ph.csv", delimiter=",", skiprows=2)
    return dat[:, :1], dat[:, 1], dat[:, 2].astype(int)


def design(n, seed):
    rng = np.random.default_rng(seed)
    x = rng.uniform(0, 2, n)
    t = 1 + 2 * x + rng.standard_normal(n)
    c = 4.5 - 1.5 * x + rng.standard_normal(n)
    return x[:, None], np.minimum(t, c), (t <= c).astype(int)


def test_matches_r_crq_peng_huang():
    # tests/data/censoring_ph_crq.csv: R quantreg 5.94, crq(Surv(y, d) ~ x,
    # method = "PengHuang")$sol on tests/data/censoring_ph.csv (benchmarks/r_censoring.R).
    # crq's grid: seq(1/n, 1 - 1/n, by = min(0.01, 1 / (2 n^0.7))); its hazard integral
    # starts at the first grid point, and its column j (labelled grid[j]) is the
    # solution after the hazard step to grid[j + 1]: start=grid[0], grid[1:] here.
    X, y, d = load_ph()
    r = np.loadtxt(DATA / "censoring_ph_crq.csv", delimiter=",", skiprows=2)
    n = y.size
    g = np.arange(1 / n, 1 - 1 / n, min(0.01, 1 / (2 * n**0.7)))
    np.testing.assert_allclose(r[:, 0], g[: r.shape[0]], rtol=0, atol=1e-12)
    Z = np.column_stack([np.ones(n), X])
    coef, status, _, _ = peng_huang_path(Z, y, d.astype(bool), np.ones(n), g[1:], start=g[0])
    assert status == "optimal"
    m = min(coef.shape[0], r.shape[0])
    sel = g[:m] <= 0.8
    diff = np.abs(coef[:m] - r[:m, 1:]).max(axis=1)[sel]
    # Tolerance. Where both programs take the same at-risk decisions they solve the same
    # LP and agree to rounding (the majority of the columns, to 1e-8). crq's interior point
    # leaves the p rows its fit interpolates with residuals of about +-1e-9 (rqfnb's
    # eps = 1e-8), whose signs decide whether they stay at risk; ours are zeros and stay
    # at risk (Y >= z'beta, Peng & Huang's indicator). The right-hand side then differs by
    # dH * z_i, which can move the exact solution to a neighbouring vertex of the LP: about
    # one order-statistic spacing of the uncensored responses (~0.1 in the slope at n=500).
    assert np.mean(diff < 1e-8) > 0.5
    assert diff.max() < 0.3
    assert np.abs(np.mean(coef[:m][sel] - r[:m, 1:][sel], axis=0)).max() < 0.02


def reference_rhs(Z, y, d, grid, coefs):
    """r_j = sum_i z_i s_i(j), from the fitted path (Peng & Huang's definition)."""
    hazard = -np.log1p(-np.concatenate([[0.0], grid]))
    s = np.zeros(y.size)
    at_risk = np.ones(y.size, dtype=bool)
    out = []
    for j in range(grid.size):
        s[at_risk] += hazard[j + 1] - hazard[j]
        out.append(Z.T @ s)
        resid = y - Z @ coefs[j]
        at_risk = resid >= -1e-9
    return np.array(out)


def test_estimating_equations_hold_at_every_grid_point():
    X, y, d = load_ph()
    model = CensoredQuantileRegressor(quantile=[0.3, 0.6], method="peng-huang").fit(X, y, d)
    Z = np.column_stack([np.ones(y.size), X])
    coefs = np.column_stack([model.grid_intercept_, model.grid_coef_])
    rhs = reference_rhs(Z, y, d, model.grid_, coefs)
    unc = d == 1
    for j in range(model.grid_.size):
        resid = y[unc] - Z[unc] @ coefs[j]
        zero = np.abs(resid) < 1e-9
        below = (resid < 0) & ~zero
        # KKT of min sum_unc (z'b - y)^+ - r'b: r = sum_{below} z + sum_{zero} a_i z_i, a in [0, 1]
        a = np.linalg.lstsq(Z[unc][zero].T, rhs[j] - Z[unc][below].sum(axis=0), rcond=None)[0]
        assert zero.sum() == 2
        assert np.all(a > -1e-9) and np.all(a < 1 + 1e-9), (j, a)
    # the requested quantiles are grid points
    for k, q in enumerate([0.3, 0.6]):
        j = int(np.flatnonzero(model.grid_ == q)[0])
        np.testing.assert_array_equal(model.coef_[k], model.grid_coef_[j])
        assert model.intercept_[k] == model.grid_intercept_[j]


def test_planted_truth_and_speed_of_grid():
    X, y, d = design(4000, 0)
    model = CensoredQuantileRegressor(quantile=[0.25, 0.5], method="peng-huang").fit(X, y, d)
    assert model.status_ == ["optimal", "optimal"]
    np.testing.assert_allclose(model.coef_[:, 0], 2.0, atol=0.2)
    np.testing.assert_allclose(model.intercept_, 1 + np.array([-0.6745, 0.0]), atol=0.25)
    step = min(0.01, 1 / (2 * 4000**0.7))
    assert model.grid_[0] == pytest.approx(step)
    assert np.all(np.diff(model.grid_) <= step * (1 + 1e-9))


def test_no_censoring_is_close_to_quantile_regression(rng):
    from statoptim import QuantileRegressor

    X = rng.uniform(0, 2, (1000, 1))
    y = 1 + 2 * X[:, 0] + rng.standard_normal(1000)
    ph = CensoredQuantileRegressor(quantile=0.5, method="peng-huang").fit(X, y)
    qr = QuantileRegressor(quantile=0.5).fit(X, y)
    # without censoring the equations are those of quantile regression up to the
    # grid's discretisation of H (steps of 0.01 here)
    assert abs(ph.coef_[0] - qr.coef_[0]) < 0.1


def test_missing_covariates_weighted_by_inverse_propensity(rng):
    X, y, d = design(600, 1)
    X = np.column_stack([X, rng.standard_normal(600)])
    X[rng.random(600) < 0.2, 1] = np.nan
    model = CensoredQuantileRegressor(quantile=0.5, method="peng-huang").fit(X, y, d)
    complete = ~np.isnan(X).any(axis=1)
    np.testing.assert_allclose(model.weights_[complete], 1 / model.propensity_[complete])
    assert np.all(model.weights_[~complete] == 0)
    Z = np.column_stack([np.ones(complete.sum()), X[complete]])
    grid = default_grid(600, np.array([0.5]))
    coef, *_ = peng_huang_path(Z, y[complete], d[complete] == 1, model.weights_[complete], grid)
    np.testing.assert_allclose(model.coef_, coef[-1, 1:], rtol=1e-12, atol=1e-12)


def test_errors():
    X, y, d = load_ph()
    with pytest.raises(ValueError, match="censoring='conditional' applies to method='ipw'"):
        CensoredQuantileRegressor(method="peng-huang", censoring="conditional").fit(X, y, d)
    with pytest.raises(ValueError, match="method must be one of"):
        CensoredQuantileRegressor(method="PengHuang").fit(X, y, d)
    with pytest.raises(ValueError, match="grid must contain every requested quantile"):
        CensoredQuantileRegressor(method="peng-huang", grid=[0.1, 0.2]).fit(X, y, d)
    with pytest.raises(ValueError, match="grid must be strictly increasing"):
        CensoredQuantileRegressor(method="peng-huang", grid=[0.5, 0.2]).fit(X, y, d)
    with pytest.raises(ValueError, match=r"grid must hold levels in \(0, 1\)"):
        CensoredQuantileRegressor(method="peng-huang", grid=[0.5, 1.0]).fit(X, y, d)
    with pytest.raises(ValueError, match="grid must be None or a non-empty 1-D"):
        CensoredQuantileRegressor(method="peng-huang", grid=[[0.5]]).fit(X, y, d)
    # heavy censoring at the top: the equations stop having a solution
    with pytest.raises(ValueError, match="no solution at quantile"), warnings.catch_warnings():
        warnings.simplefilter("ignore")
        CensoredQuantileRegressor(quantile=0.999, method="peng-huang").fit(X, y, d)
