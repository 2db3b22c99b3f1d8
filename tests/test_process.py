"""The regression-quantile process: QuantileRegressor(quantile="all"), monotone
predictions and plot_process.

Reference data. ``tests/data/process_data.csv`` was generated in NumPy and
rounded to 6 digits::

    rng = np.random.default_rng(20240613); n = 60
    x1 = rng.standard_normal(n); x2 = rng.uniform(0, 2, n)
    y = 1 + x1 - 0.5 * x2 + (0.5 + 0.5 * x2) * rng.standard_normal(n)
    w = rng.uniform(0.5, 2.0, n)

``tests/data/process_r.csv`` holds every column of R's ``rq(...)$sol`` (tau,
objective, coefficients; quantreg 6.1) for the calls (``Rscript
benchmarks/r_process.R reference`` writes it)::

    plain:    rq(y ~ x1 + x2, tau = -1, data = d)
    weighted: rq(y ~ x1 + x2, tau = -1, data = d, weights = w)
    nointer:  rq(y ~ x1 + x2 - 1, tau = -1, data = d)
    ties:     rq(round(y, 1) ~ x1 + x2, tau = -1, data = d)

R's last column repeats the last solution at tau = 1. The suite never runs R.
"""
import csv
import sys
import warnings
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st
from scipy.optimize import linprog
from sklearn.base import clone
from sklearn.exceptions import ConvergenceWarning, NotFittedError

from statoptim import QuantileRegressor
from statoptim.quantile import QuantileProcess, plot_process, solve_quantile
from statoptim.quantile._process import rearrange

DATA = Path(__file__).parent / "data"


def _data():
    d = np.genfromtxt(DATA / "process_data.csv", delimiter=",", names=True)
    return np.column_stack([d["x1"], d["x2"]]), d["y"], d["w"]


def _r_process(case):
    with open(DATA / "process_r.csv") as f:
        rows = [r for r in csv.DictReader(f) if r["case"] == case]
    return np.array([[float(r[k]) for k in ("tau", "objective", "b0", "b1", "b2")]
                     for r in rows])


def _design(X, fit_intercept):
    return np.column_stack([np.ones(len(X)), X]) if fit_intercept else X


def _objective(Z, y, w, coef, tau):
    r = y - Z @ coef
    return float(np.sum(w * r * (tau - (r < 0))))


def _assert_optimal(value, best, y, w):
    """``value`` equals the minimal objective ``best`` to 1e-9 relative (to the
    rounding of the objective, 1e-12 sum w |y|, when ``best`` is about 0)."""
    assert abs(value - best) <= 1e-9 * abs(best) + 1e-12 * float(w @ np.abs(y))


def _highs(Z, y, w, tau):
    """Minimal objective by SciPy's HiGHS on the LP of the check loss."""
    n, p = Z.shape
    c = np.concatenate([np.zeros(p), tau * w, (1 - tau) * w])
    A = np.hstack([Z, np.eye(n), -np.eye(n)])
    res = linprog(c, A_eq=A, b_eq=y, bounds=[(None, None)] * p + [(0, None)] * (2 * n),
                  method="highs")
    assert res.status == 0
    return res.fun


def _fit(X, y, w=None, **kw):
    return QuantileRegressor(quantile="all", **kw).fit(X, y, w)


# --------------------------------------------------------------------------
# against R's rq(tau = -1)
# --------------------------------------------------------------------------
@pytest.mark.parametrize("case", ["plain", "weighted", "ties"])
def test_matches_r_rq_process(case):
    X, y, w = _data()
    if case == "ties":
        y = np.round(y, 1)
    model = _fit(X, y, w if case == "weighted" else None)
    ref = _r_process(case)
    # one piece per column of R's sol but the last, which repeats the last piece at 1
    assert model.quantiles_.shape == (len(ref) - 1,)
    np.testing.assert_allclose(model.quantiles_, ref[:-1, 0], rtol=0, atol=1e-12)
    np.testing.assert_allclose(model.process_.breakpoints[-1], ref[-1, 0])
    np.testing.assert_allclose(model.intercept_, ref[:-1, 2], rtol=1e-10, atol=1e-12)
    np.testing.assert_allclose(model.coef_, ref[:-1, 3:], rtol=1e-10, atol=1e-12)
    np.testing.assert_allclose(model.objective_, ref[:-1, 1], rtol=1e-10, atol=1e-12)
    np.testing.assert_allclose(model.coef_[-1], ref[-1, 3:], rtol=1e-10)


def test_no_intercept_matches_r_then_goes_on_to_one():
    """R's rq(y ~ x1 + x2 - 1, tau = -1) stops early: its last piece [0.9912, 1]
    is optimal only up to 0.99568, as HiGHS confirms; statoptim follows the
    process to 1 and agrees with R before that."""
    X, y, _ = _data()
    model = _fit(X, y, fit_intercept=False)
    ref = _r_process("nointer")
    m = len(ref) - 1
    np.testing.assert_allclose(model.quantiles_[:m], ref[:-1, 0], rtol=0, atol=1e-12)
    np.testing.assert_allclose(model.coef_[:m], ref[:-1, 3:], rtol=1e-10, atol=1e-12)
    np.testing.assert_allclose(model.intercept_, 0.0)
    assert model.quantiles_.size > m
    ones = np.ones(len(y))
    for tau in (0.9958, 0.997, 0.999):  # beyond R's last breakpoint
        process_obj = _objective(X, y, ones, model.process_.coef_at(tau), tau)
        r_obj = _objective(X, y, ones, ref[-1, 3:], tau)
        best = _highs(X, y, ones, tau)
        _assert_optimal(process_obj, best, y, ones)
        assert r_obj > best * (1 + 1e-4)


# --------------------------------------------------------------------------
# exactness: at any tau the process is an exact fit
# --------------------------------------------------------------------------
def _cases():
    rng = np.random.default_rng(7)
    n = 80
    X = rng.standard_normal((n, 2))
    y = X @ [1.0, -0.5] + rng.standard_normal(n)
    Xd = rng.integers(0, 3, (n, 2)).astype(float)
    return {
        "gaussian": (X, y, None, True),
        "weighted": (X, y, rng.uniform(0.1, 5.0, n), True),
        "no intercept": (X, y, None, False),
        "integer y": (X, np.round(y), None, True),
        "discrete x and y": (Xd, np.round(y), rng.integers(1, 4, n).astype(float), True),
        "duplicated rows": (np.vstack([X[:40], X[:40]]), np.concatenate([y[:40]] * 2),
                            None, True),
        "one column of ones": (np.ones((n, 1)), y, None, False),
        "p = 6": (rng.standard_normal((n, 5)), y, None, True),
        "heavy tails": (rng.standard_cauchy((n, 2)), rng.standard_cauchy(n), None, True),
        "zero weights": (X, y, np.where(np.arange(n) % 4 == 0, 0.0, 1.0), True),
    }


@pytest.mark.parametrize("name", list(_cases()))
def test_process_is_exact_at_random_quantiles(name):
    X, y, w, fit_intercept = _cases()[name]
    model = _fit(X, y, w, fit_intercept=fit_intercept)
    proc = model.process_
    assert proc.complete and model.status_ == "optimal"
    assert proc.breakpoints[0] == 0.0 and proc.breakpoints[-1] == 1.0
    assert np.all(np.diff(proc.breakpoints) > 0)
    Z = _design(X, fit_intercept)
    ww = np.ones(len(y)) if w is None else w
    rng = np.random.default_rng(1)
    taus = np.concatenate([rng.uniform(0, 1, 6), proc.breakpoints[[0, -1]],
                           proc.breakpoints[1:-1][rng.integers(0, proc.n_pieces - 1, 2)]]
                          if proc.n_pieces > 1 else rng.uniform(0, 1, 6))
    for tau in taus:
        best = _highs(Z, y, ww, tau)
        _assert_optimal(_objective(Z, y, ww, proc.coef_at(tau), tau), best, y, ww)
        _assert_optimal(proc.objective_at(tau), best, y, ww)


def test_process_coefficients_equal_exact_fits_between_breakpoints():
    """Inside a piece the solution is unique (continuous data): the exact
    solver and the process give the same coefficients."""
    X, y, w, _ = _cases()["weighted"]
    model = _fit(X, y, w)
    bp = model.process_.breakpoints
    rng = np.random.default_rng(3)
    for j in rng.choice(len(bp) - 1, 8, replace=False):
        tau = bp[j] + rng.uniform(0.1, 0.9) * (bp[j + 1] - bp[j])
        sol = solve_quantile(_design(X, True), y, w, quantile=tau)
        assert sol.status == "optimal"
        np.testing.assert_allclose(model.process_.coef_at(tau), sol.coef, rtol=1e-9,
                                   atol=1e-12)
        np.testing.assert_allclose(model.intercept_[j], sol.coef[0], rtol=1e-9, atol=1e-12)
        np.testing.assert_allclose(model.coef_[j], sol.coef[1:], rtol=1e-9, atol=1e-12)


def test_neighbouring_pieces_are_both_optimal_at_their_breakpoint():
    X, y, w, _ = _cases()["weighted"]
    proc = _fit(X, y, w).process_
    Z = _design(X, True)
    for j in range(1, proc.n_pieces):
        tau = proc.breakpoints[j]
        left = _objective(Z, y, w, proc.coef[j - 1], tau)
        right = _objective(Z, y, w, proc.coef[j], tau)
        assert left == pytest.approx(right, rel=1e-10)
        assert proc.objective[j] == pytest.approx(right, rel=1e-10)


def test_basis_rows_are_interpolated():
    X, y, w, _ = _cases()["zero weights"]
    proc = _fit(X, y, w).process_
    Z = _design(X, True)
    assert proc.basis.shape == proc.coef.shape
    assert np.all(w[proc.basis] > 0)  # indices into the X given to fit
    for coef, rows in zip(proc.coef, proc.basis):
        np.testing.assert_allclose(y[rows] - Z[rows] @ coef, 0.0, atol=1e-12)


def test_weights_equal_duplicated_rows():
    rng = np.random.default_rng(11)
    X = rng.standard_normal((30, 2))
    y = X @ [2.0, 1.0] + rng.standard_normal(30)
    w = rng.integers(1, 4, 30).astype(float)
    weighted = _fit(X, y, w)
    rep = np.repeat(np.arange(30), w.astype(int))
    duplicated = _fit(X[rep], y[rep])
    np.testing.assert_allclose(weighted.quantiles_, duplicated.quantiles_, atol=1e-14)
    np.testing.assert_allclose(weighted.coef_, duplicated.coef_, rtol=1e-12, atol=1e-13)


def test_constant_and_exactly_linear_responses_give_one_piece():
    """Every residual is zero: the lexicographic rule walks the bases of one
    vertex (R's rq(tau = -1) segfaults on a constant response)."""
    rng = np.random.default_rng(5)
    X = rng.integers(-5, 5, (200, 2)).astype(float)
    for y, coef in ((np.full(200, 2.5), [2.5, 0, 0]), (3 + X @ [1.0, -2.0], [3, 1, -2])):
        model = _fit(X, y)
        assert model.quantiles_.tolist() == [0.0]
        np.testing.assert_allclose(np.r_[model.intercept_, model.coef_[0]], coef, atol=1e-13)
        assert model.objective_[0] == pytest.approx(0.0, abs=1e-12)


def _stress_case(seed):
    rng = np.random.default_rng(seed)
    n, p = int(rng.integers(20, 1500)), int(rng.integers(1, 6))
    X = rng.standard_normal((n, p))
    if seed % 6 == 1:
        X = np.round(X)
    if seed % 6 == 2:
        X = rng.standard_cauchy((n, p))
    y = X @ rng.standard_normal(p) + rng.standard_normal(n) * (1 + np.abs(X[:, 0]))
    if seed % 6 == 1:
        y = np.round(y)
    return X, y


@pytest.mark.parametrize("seed", [19, 266])
def test_rounding_does_not_make_bases_undo_each_other(seed):
    """Seed 266 (Cauchy design): a bound violated by 3e-11 beyond a tolerance
    without the rounding of the breakpoint itself; seed 19 (rounded design and
    response): a bound tight on a whole interval with a slope of -7e-15. Both
    made two bases pivot back and forth at one tau until max_pivots."""
    X, y = _stress_case(seed)
    model = _fit(X, y)  # a ConvergenceWarning would fail the test
    proc = model.process_
    assert proc.complete and proc.n_pivots < 10 * len(y)
    Z, ones = _design(X, True), np.ones(len(y))
    for tau in (proc.breakpoints[proc.n_pieces // 2] + 1e-9, 0.9, 0.99):
        sol = solve_quantile(Z, y, quantile=tau)
        _assert_optimal(_objective(Z, y, ones, proc.coef_at(tau), tau), sol.objective, y, ones)


def test_exact_power_of_two_rescaling():
    """Data beyond 2**+-32 are rescaled by powers of two before the path: the
    same path, coefficients scaled exactly (and close to the unscaled data's)."""
    X, y, _, _ = _cases()["gaussian"]
    small = _fit(X * 2.0**100, y * 2.0**-100)
    huge = _fit(X * 2.0**400, y * 2.0**-400)
    np.testing.assert_array_equal(huge.quantiles_, small.quantiles_)
    np.testing.assert_array_equal(huge.coef_, small.coef_ * 2.0**-600)
    np.testing.assert_array_equal(huge.intercept_, small.intercept_ * 2.0**-300)
    base = _fit(X, y)
    np.testing.assert_allclose(small.quantiles_, base.quantiles_, rtol=1e-12)
    np.testing.assert_allclose(small.coef_ * 2.0**200, base.coef_, rtol=1e-12)


def test_attributes_and_predict():
    X, y, _, _ = _cases()["gaussian"]
    model = _fit(X, y)
    proc = model.process_
    assert isinstance(proc, QuantileProcess)
    k = proc.n_pieces
    assert model.coef_.shape == (k, 2) and model.intercept_.shape == (k,)
    assert model.objective_.shape == (k,) and model.quantiles_.shape == (k,)
    np.testing.assert_array_equal(model.quantiles_, proc.breakpoints[:-1])
    np.testing.assert_array_equal(np.column_stack([model.intercept_, model.coef_]), proc.coef)
    assert model.n_pivots_ >= proc.n_pivots >= k - 1
    pred = model.predict(X[:7])
    assert pred.shape == (7, k)
    np.testing.assert_allclose(pred, X[:7] @ model.coef_.T + model.intercept_)
    np.testing.assert_allclose(proc.coef_at([0.0, 1.0]), proc.coef[[0, -1]])
    # right-continuous at a breakpoint
    np.testing.assert_array_equal(proc.coef_at(proc.breakpoints[3]), proc.coef[3])
    assert np.isfinite(model.score(X, y))


def test_refit_with_a_grid_drops_the_process():
    X, y, _, _ = _cases()["gaussian"]
    model = _fit(X, y)
    assert hasattr(model, "process_")
    model.set_params(quantile=[0.25, 0.75]).fit(X, y)
    assert not hasattr(model, "process_")
    np.testing.assert_array_equal(model.quantiles_, [0.25, 0.75])
    assert clone(_fit(X, y)).get_params()["quantile"] == "all"


def test_pivot_cap_warns_and_returns_a_partial_process():
    X, y, _, _ = _cases()["gaussian"]
    with pytest.warns(ConvergenceWarning, match="stopped after 10 pivots"):
        model = QuantileRegressor(quantile="all", max_pivots=10).fit(X, y)
    proc = model.process_
    assert not proc.complete and model.status_ == "inexact"
    assert 0 < proc.breakpoints[0] < 0.5 < proc.breakpoints[-1] < 1
    assert np.all(np.diff(proc.breakpoints) > 0)
    full = _fit(X, y).process_
    mid = 0.5 * (proc.breakpoints[0] + proc.breakpoints[-1])
    np.testing.assert_allclose(proc.coef_at(mid), full.coef_at(mid))
    with pytest.raises(ValueError, match=r"quantile must lie in \["):
        proc.coef_at(0.999)


# --------------------------------------------------------------------------
# bad input
# --------------------------------------------------------------------------
@pytest.mark.parametrize("quantile", ["al", "ALL", "0.5", ""])
def test_quantile_strings_other_than_all_are_refused(quantile):
    X, y, _, _ = _cases()["gaussian"]
    with pytest.raises(ValueError, match="quantile must be .*or 'all'"):
        QuantileRegressor(quantile=quantile).fit(X, y)


def test_bad_input_errors():
    X, y, _, _ = _cases()["gaussian"]
    model = _fit(X, y)
    with pytest.raises(ValueError, match="summary.*quantile='all'"):
        model.summary()
    with pytest.raises(ValueError, match="quantile must lie in"):
        model.process_.coef_at(1.5)
    with pytest.raises(ValueError, match="quantile must lie in"):
        model.process_.objective_at([-0.1, 0.5])
    with pytest.raises(ValueError, match="quantile"):
        model.process_.coef_at(np.nan)
    with pytest.raises(ValueError, match="monotone must be True or False"):
        model.predict(X, monotone=1)
    with pytest.raises(ValueError, match="X .*column"):
        _fit(np.column_stack([X, X[:, 0]]), y)  # collinear
    with pytest.raises(ValueError, match="y"):
        _fit(X, np.where(np.arange(len(y)) == 3, np.nan, y))
    with pytest.raises(ValueError, match="sample_weight"):
        _fit(X, y, -np.ones(len(y)))
    with pytest.raises(NotFittedError):
        QuantileRegressor(quantile="all").predict(X)


# --------------------------------------------------------------------------
# monotone rearrangement
# --------------------------------------------------------------------------
def test_monotone_grid_sorts_over_quantile_order():
    rng = np.random.default_rng(2)
    X = rng.standard_normal((60, 2))
    y = X @ [1.0, 1.0] + rng.standard_exponential(60)
    model = QuantileRegressor(quantile=[0.9, 0.1, 0.5, 0.85, 0.88]).fit(X, y)
    X_new = 4 * rng.standard_normal((300, 2))  # far out: fits cross
    raw, mono = model.predict(X_new), model.predict(X_new, monotone=True)
    order = np.argsort(model.quantiles_)
    assert np.any(np.diff(raw[:, order], axis=1) < 0)  # crossings to repair
    assert np.all(np.diff(mono[:, order], axis=1) >= 0)
    np.testing.assert_array_equal(np.sort(mono, axis=1), np.sort(raw, axis=1))
    fine = np.all(np.diff(raw[:, order], axis=1) >= 0, axis=1)
    assert fine.any()
    np.testing.assert_array_equal(mono[fine], raw[fine])


def test_monotone_single_quantile_is_unchanged():
    X, y, _, _ = _cases()["gaussian"]
    model = QuantileRegressor(quantile=0.3).fit(X, y)
    np.testing.assert_array_equal(model.predict(X, monotone=True), model.predict(X))


def test_monotone_process():
    X, y, w, _ = _cases()["weighted"]
    model = _fit(X, y, w)
    rng = np.random.default_rng(4)
    X_new = np.vstack([2 * rng.standard_normal((50, 2)), (w @ X) / w.sum()])
    raw, mono = model.predict(X_new), model.predict(X_new, monotone=True)
    assert np.all(np.diff(mono, axis=1) >= 0)
    assert np.any(np.diff(raw, axis=1) < 0)
    # at the weighted mean of the design the process never crosses (Koenker
    # 2005, section 2.5): the rearrangement leaves it as it is
    assert np.all(np.diff(raw[-1]) >= -1e-12)
    np.testing.assert_allclose(mono[-1], raw[-1], atol=1e-12)


def test_rearrange_is_the_quantile_function_of_the_pieces():
    """Integer piece lengths: the rearranged function is read off the values
    repeated length times and sorted (the reference) at each piece's midpoint."""
    rng = np.random.default_rng(9)
    lengths = rng.integers(1, 6, 25)
    values = rng.standard_normal((4, 25))
    got = rearrange(values, np.cumsum(lengths) - lengths, lengths.astype(float))
    mid = (np.cumsum(lengths) - lengths / 2).astype(int)  # floor of the midpoint
    for i in range(4):
        expanded = np.sort(np.repeat(values[i], lengths))
        np.testing.assert_array_equal(got[i], expanded[mid])


# --------------------------------------------------------------------------
# figure
# --------------------------------------------------------------------------
def test_plot_process_draws_and_returns_axes():
    matplotlib = pytest.importorskip("matplotlib")
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    from matplotlib.collections import PolyCollection

    rng = np.random.default_rng(8)
    X = rng.standard_normal((1000, 2))
    y = X @ [1.0, 2.0] + rng.standard_normal(1000)
    model = _fit(X, y)
    axes = plot_process(model, quantiles=np.linspace(0.2, 0.8, 7))
    assert len(axes) == 3
    assert [a.get_title() for a in axes] == ["intercept", "x1", "x2"]
    for a in axes:
        assert any(isinstance(c, PolyCollection) for c in a.collections)  # the band
        assert len(a.lines) >= 5  # estimates, process, least squares and its interval
    plt.close(axes[0].figure)

    grid = QuantileRegressor(quantile=[0.25, 0.5, 0.75]).fit(X, y)
    fig, ax = plt.subplots(1, 3)
    out = plot_process(grid, ax=ax, se="iid", ols=False)
    assert list(out) == list(ax)
    # the band is the summary's interval
    lo = grid.summary(se="iid").conf_int[:, 1, 0]
    band = out[1].collections[0].get_paths()[0].vertices
    assert np.min(band[:, 1]) == pytest.approx(lo.min())
    plt.close(fig)


def test_plot_process_titles_use_feature_names():
    pd = pytest.importorskip("pandas")
    matplotlib = pytest.importorskip("matplotlib")
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    X, y, _, _ = _cases()["gaussian"]
    model = _fit(pd.DataFrame(X, columns=["age", "dose"]), y)
    axes = plot_process(model, quantiles=[0.3, 0.5, 0.7], se="iid")
    assert [a.get_title() for a in axes] == ["intercept", "age", "dose"]
    plt.close(axes[0].figure)


def test_plot_process_bad_input():
    matplotlib = pytest.importorskip("matplotlib")
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    X, y, _, _ = _cases()["gaussian"]
    model = QuantileRegressor(quantile=[0.3, 0.7]).fit(X, y)
    with pytest.raises(TypeError, match="model must be a fitted QuantileRegressor"):
        plot_process("model")
    with pytest.raises(NotFittedError):
        plot_process(QuantileRegressor())
    with pytest.raises(ValueError, match="alpha"):
        plot_process(model, alpha=1.5)
    with pytest.raises(ValueError, match="quantiles must be a sequence"):
        plot_process(model, quantiles="all")
    with pytest.raises(ValueError, match="quantile must lie strictly between 0 and 1"):
        plot_process(model, quantiles=[0.5, 1.0])
    with pytest.raises(ValueError, match="se must be"):
        plot_process(model, se="sandwich")
    _, ax = plt.subplots(1, 2)
    with pytest.raises(ValueError, match="ax must be None or 3 matplotlib Axes"):
        plot_process(model, ax=ax)
    plt.close("all")


def test_plot_process_without_matplotlib(monkeypatch):
    X, y, _, _ = _cases()["gaussian"]
    model = QuantileRegressor(quantile=[0.3, 0.7]).fit(X, y)
    monkeypatch.setitem(sys.modules, "matplotlib.pyplot", None)
    with pytest.raises(ImportError, match=r'pip install "statoptim\[plot\]"'):
        plot_process(model)


# --------------------------------------------------------------------------
# fuzz
# --------------------------------------------------------------------------
@given(
    n=st.integers(3, 30),
    p=st.integers(1, 3),
    intercept=st.booleans(),
    digits=st.integers(0, 3),
    weighted=st.booleans(),
    seed=st.integers(0, 2**32 - 1),
)
def test_fuzz_process_exact(n, p, intercept, digits, weighted, seed):
    """A finite process covering [0, 1] that is exact at random quantiles, or a
    clear error (rank-deficient designs)."""
    rng = np.random.default_rng(seed)
    X = np.round(rng.standard_normal((n, p)), digits)
    y = np.round(rng.standard_normal(n) * 3, digits)
    w = rng.integers(0, 4, n).astype(float) if weighted else None
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error")
            model = _fit(X, y, w, fit_intercept=intercept)
    except ValueError as exc:
        assert any(s in str(exc) for s in ("rank deficient", "at least as many",
                                            "sample_weight"))
        return
    proc = model.process_
    assert proc.complete and proc.breakpoints[0] == 0 and proc.breakpoints[-1] == 1
    assert np.all(np.diff(proc.breakpoints) > 0) and np.all(np.isfinite(proc.coef))
    Z = _design(X, intercept)
    ww = np.ones(n) if w is None else w
    for tau in rng.uniform(0, 1, 3):
        best = _highs(Z, y, ww, tau)
        _assert_optimal(_objective(Z, y, ww, proc.coef_at(tau), tau), best, y, ww)
        _assert_optimal(proc.objective_at(tau), best, y, ww)


# --------------------------------------------------------------------------
# the fitted process as a function of the level (issue 13, part 4)
# --------------------------------------------------------------------------
def test_process_is_callable_and_predicts_at_any_quantile():
    X, y, w = _data()
    model = QuantileRegressor(quantile="all").fit(X, y, w)
    proc = model.process_
    taus = np.array([0.013, 0.2, 0.5, 0.77, 0.999])
    np.testing.assert_array_equal(proc(taus), proc.coef_at(taus))
    np.testing.assert_array_equal(proc(0.3), proc.coef_at(0.3))
    pred = model.predict(X, quantile=taus)
    assert pred.shape == (len(y), taus.size)
    np.testing.assert_allclose(pred, _design(X, True) @ proc(taus).T, rtol=1e-14, atol=1e-14)
    assert model.predict(X[:4], quantile=0.25).shape == (4,)
    assert model.predict(X[:4], quantile=[[0.1, 0.2, 0.3]]).shape == (4, 1, 3)
    # right-continuous at a breakpoint: the piece that takes over there
    b = proc.breakpoints[5]
    np.testing.assert_array_equal(model.predict(X[:3], quantile=b),
                                  _design(X[:3], True) @ proc.coef[5])


@pytest.mark.parametrize("fit_intercept, weighted", [(True, False), (True, True),
                                                     (False, False)])
def test_predict_at_quantiles_equals_separate_exact_fits(fit_intercept, weighted):
    # the process at tau is an exact optimum: its objective equals that of a
    # separate fit at tau (the solution itself may differ only where it is not
    # unique, i.e. at breakpoints)
    X, y, w = _data()
    w = w if weighted else np.ones_like(y)
    model = QuantileRegressor(quantile="all", fit_intercept=fit_intercept).fit(X, y, w)
    Z = _design(X, fit_intercept)
    taus = np.random.default_rng(3).uniform(0.01, 0.99, 12)
    pred = model.predict(X, quantile=taus)
    for k, tau in enumerate(taus):
        single = QuantileRegressor(quantile=tau, fit_intercept=fit_intercept).fit(X, y, w)
        best = _objective(Z, y, w, np.r_[single.intercept_, single.coef_] if fit_intercept
                          else single.coef_, tau)
        r = y - pred[:, k]
        _assert_optimal(float(np.sum(w * r * (tau - (r < 0)))), best, y, w)
        _assert_optimal(best, _highs(Z, y, w, tau), y, w)


def test_predict_at_quantiles_monotone():
    X, y, _ = _data()
    model = QuantileRegressor(quantile="all").fit(X, y)
    proc = model.process_
    Xn = np.vstack([X, [[4.0, 3.0], [-4.0, -1.0]]])  # far out: crossing predictions
    taus = np.linspace(0.0, 1.0, 201)
    plain = model.predict(Xn, quantile=taus)
    mono = model.predict(Xn, quantile=taus, monotone=True)
    assert np.all(np.diff(mono, axis=1) >= 0)
    # the same distribution of values over [0, 1] as the plain process
    assert np.any(np.diff(plain, axis=1) < 0)
    np.testing.assert_allclose(np.sort(mono, axis=1)[:, [0, -1]],
                               np.sort(plain, axis=1)[:, [0, -1]])
    # at the midpoints of the pieces: predict(monotone=True) of the process
    mids = 0.5 * (proc.breakpoints[:-1] + proc.breakpoints[1:])
    np.testing.assert_allclose(model.predict(Xn, quantile=mids, monotone=True),
                               model.predict(Xn, monotone=True), rtol=1e-12, atol=1e-12)
    # by definition: the smallest value v with |{tau : Q(tau) <= v}| > tau
    lengths = np.diff(proc.breakpoints)
    for i in (0, len(Xn) - 1):
        values = _design(Xn[i:i + 1], True) @ proc.coef.T
        for k in (3, 100, 180):
            below = np.array([lengths[values[0] <= v].sum() for v in values[0]])
            np.testing.assert_allclose(mono[i, k], values[0][below > taus[k]].min())


def test_predict_quantile_bad_input():
    X, y, _ = _data()
    grid = QuantileRegressor(quantile=[0.25, 0.75]).fit(X, y)
    with pytest.raises(ValueError, match="quantile='all'"):
        grid.predict(X, quantile=0.5)
    model = QuantileRegressor(quantile="all").fit(X, y)
    for bad in (1.5, -0.1, [0.2, np.nan]):
        with pytest.raises(ValueError, match="quantile"):
            model.predict(X, quantile=bad)
    with pytest.raises((ValueError, TypeError), match="quantile"):
        model.predict(X, quantile="half")
    with pytest.raises(ValueError, match="monotone"):
        model.predict(X, quantile=0.5, monotone="yes")
