"""The compiled rank-inversion walk (``_rank_walk.rank_walk``) against the NumPy walk.

``summary(se="rank")`` walks the restricted fits in ``b`` with the compiled
kernel, which hands back to the NumPy walk of ``_rank_inversion.py`` every step it
does not take itself (ties, rows whose residual stays zero, candidates without
a clear margin). The NumPy walk alone (``_rank_inversion._COMPILED_WALK = False``)
is the reference: the intervals and rank statistics must agree to rounding,
with the screening of the crossing search on, off, and with a tiny candidate
set (every step a full pass and a rebuild).
"""
import numpy as np
import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st

from statoptim import QuantileRegressor
from statoptim.datasets import make_quantile_regression
from statoptim.quantile import _rank_inversion, _rank_walk


def _data(kind, seed, n=300):
    rng = np.random.default_rng(seed)
    if kind == "smooth":
        return (*make_quantile_regression(n, 2, random_state=seed), None)
    if kind == "weighted":
        X = rng.standard_normal((n, 3))
        y = X @ [1.0, -0.5, 0.2] + (1 + 0.5 * np.abs(X[:, 0])) * rng.standard_t(4, n)
        return X, y, rng.uniform(0.2, 3.0, n)
    if kind == "rounded":  # many ties in y: degenerate vertices
        X = rng.standard_normal((n, 2))
        return X, np.round(1 + X @ [1.0, -1.0] + rng.standard_t(3, n), 1), None
    # integer design and response: rows that stay on the fit, free duals
    X = rng.integers(0, 4, (n, 2)).astype(float)
    return X, rng.integers(0, 6, n) + X[:, 0], None


def _rank(X, y, w, q, fit_intercept, monkeypatch, compiled=True, n_candidates=None):
    counts = {"steps": 0, "calls": 0, "hand_back": 0}
    walk = _rank_walk.rank_walk

    def counted(*args):
        if n_candidates is not None:
            args = args + (n_candidates,)
        out = walk(*args)
        counts["calls"] += 1
        counts["steps"] += out[-1]
        counts["hand_back"] += out[0] == 2
        return out

    with monkeypatch.context() as mp:
        mp.setattr(_rank_inversion, "_COMPILED_WALK", compiled)
        mp.setattr(_rank_walk, "rank_walk", counted)
        model = QuantileRegressor(q, fit_intercept=fit_intercept).fit(X, y, w)
        res = model.summary(X, y, w, se="rank")
    return res, counts


def _same(a, b):
    for x, y in ((a.conf_int, b.conf_int), (a.tvalues, b.tvalues)):
        assert np.array_equal(np.isfinite(x), np.isfinite(y))
        assert np.array_equal(x[~np.isfinite(x)], y[~np.isfinite(y)])
        np.testing.assert_allclose(x[np.isfinite(x)], y[np.isfinite(y)], rtol=1e-9, atol=1e-12)


@pytest.mark.parametrize("kind", ["smooth", "weighted", "rounded", "integer"])
@pytest.mark.parametrize("q, fit_intercept", [(0.5, True), (0.2, True), (0.85, False)])
def test_compiled_walk_matches_numpy_walk(kind, q, fit_intercept, monkeypatch):
    X, y, w = _data(kind, 7)
    ref, none = _rank(X, y, w, q, fit_intercept, monkeypatch, compiled=False)
    assert none["calls"] == 0
    res, counts = _rank(X, y, w, q, fit_intercept, monkeypatch)
    _same(res, ref)
    # the kernel took the walk (integer data: nearly every step is a tie
    # and goes back to the NumPy walk)
    assert counts["calls"] > 0
    if kind != "integer":
        assert counts["steps"] > 0
    if kind in ("smooth", "weighted"):
        assert counts["hand_back"] == 0


def test_hand_back_is_taken_on_ties(monkeypatch):
    X, y, w = _data("integer", 3)
    ref, _ = _rank(X, y, w, 0.5, True, monkeypatch, compiled=False)
    res, counts = _rank(X, y, w, 0.5, True, monkeypatch)
    assert counts["hand_back"] > 0
    _same(res, ref)


@pytest.mark.parametrize("n_candidates", [1, 5, 10**9])
def test_screening_does_not_change_the_walk(n_candidates, monkeypatch):
    # 1 and 5: nearly every step a full pass and a rebuild; 1e9: no screening
    X, y, w = _data("weighted", 11, n=600)
    ref, _ = _rank(X, y, w, 0.3, True, monkeypatch)
    res, counts = _rank(X, y, w, 0.3, True, monkeypatch, n_candidates=n_candidates)
    assert counts["steps"] > 0
    _same(res, ref)


@settings(deadline=None)
# found by the long profile: dual degeneracy (n q integer; the NumPy walk's
# choice between tied margins is rounding's: handed back), and ties at b = 0
# handed back in the scan's order instead of the row order
@example(seed=0, n=50, p=1, q=0.1, rounded=False)
@example(seed=0, n=50, p=1, q=0.5, rounded=True)
@given(seed=st.integers(0, 2**31 - 1), n=st.integers(12, 120), p=st.integers(1, 4),
       q=st.sampled_from([0.1, 0.35, 0.5, 0.8]), rounded=st.booleans())
def test_fuzz_rank_walk_matches_numpy(seed, n, p, q, rounded):
    rng = np.random.default_rng(seed)
    X = rng.standard_normal((n, p))
    y = X @ rng.standard_normal(p) + rng.standard_cauchy(n)
    if rounded:
        y = np.round(y)
    mp = pytest.MonkeyPatch()
    try:
        try:
            ref, _ = _rank(X, y, None, q, True, mp, compiled=False)
        except ValueError as exc:  # the NumPy walk refuses: so must the kernel's
            with pytest.raises(ValueError, match=str(exc)[:40].replace("(", r"\(")):
                _rank(X, y, None, q, True, mp)
            return
        res, _ = _rank(X, y, None, q, True, mp)
    finally:
        mp.undo()
    _same(res, ref)


def _walk_args(n=30, m=2):
    rng = np.random.default_rng(0)
    A = rng.standard_normal((n, m))
    rows = np.zeros(n + 1, dtype=np.intp)
    rows[:m + 1] = np.arange(m + 1)
    return [A, rng.standard_normal(n), rng.standard_normal(n), np.ones(n), 0.5, rows, m + 1,
            0.0, 1.0, 0.0, 0.0, 1.96, 1.0, 100]


@pytest.mark.parametrize("position, value, match", [
    (0, np.ones((30, 0)), "at least one column"),
    (1, np.ones(29), "one entry per row"),
    (5, np.zeros(30, dtype=np.intp), "n \\+ 1 entries"),
    (6, 2, "n_rows must lie"),
    (8, 0.5, "direction"),
    (4, 1.0, "q must lie"),
    (12, 0.0, "scale and cutoff"),
    (3, np.r_[np.ones(29), 0.0], "w must be positive"),
])
def test_rank_walk_rejects_bad_input(position, value, match):
    args = _walk_args()
    args[position] = value
    with pytest.raises(ValueError, match=match):
        _rank_walk.rank_walk(*args)


def test_rank_walk_rejects_bad_rows():
    args = _walk_args()
    args[5][0] = 30
    with pytest.raises(ValueError, match="row indices"):
        _rank_walk.rank_walk(*args)
