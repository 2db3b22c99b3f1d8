"""Hardening of the multiview entry points (issue 12): regressions and fuzzing.

Every public entry point -- MultiViewTensorMachine (fit, decision_function,
predict_proba, predict_mixed), retrieve and the ranking metrics -- must give a
clear ValueError/TypeError naming the argument, or a finite answer that agrees
with a plain reference: exact rational rankings (Python integers and
fractions), average precision by its definition, and the model's own
prediction formula in NumPy.
"""
import math
import tracemalloc
import warnings
from fractions import Fraction

import numpy as np
import pytest
import scipy.sparse as sp
from hypothesis import event, given
from hypothesis import strategies as st
from numpy.testing import assert_allclose, assert_array_equal
from reference_multiview import average_precision
from sklearn.exceptions import ConvergenceWarning, UndefinedMetricWarning

from statoptim.multiview import (
    MixingCollapseWarning,
    MultiViewTensorMachine,
    RedundantRankWarning,
    ZeroScoreWarning,
    _retrieval,
    map_at_k,
    mean_average_precision,
    precision_at_k,
    retrieve,
)
from statoptim.multiview._calibration import fit_temperature, softmax_scores
from statoptim.multiview._estimator import _check_labels, _design, _standardize_fit
from statoptim.multiview._solver import CPSolver

FIT_WARNINGS = (ConvergenceWarning, RedundantRankWarning, MixingCollapseWarning)


@pytest.fixture(autouse=True)
def _single_thread_blas():
    from threadpoolctl import threadpool_limits

    with threadpool_limits(1, user_api="blas"):
        yield


# ------------------------------------------------------------------ references
def exact_keys(Q, D, similarity):
    """Exact similarity keys (Fractions, larger = more similar) of every database item.

    Floats are converted exactly (``Fraction(x)``): the dot product, or for the
    cosine its sign times its square over the item's squared norm (the query's
    norm is a common factor). Returns per query the list of keys and of the
    bounds ``sum_i |q_i d_ji|`` on the magnitudes of the products.
    """
    Qf = [[Fraction(float(x)) for x in row] for row in Q]
    Df = [[Fraction(float(x)) for x in row] for row in D]
    keys, sizes = [], []
    for q in Qf:
        row, size = [], []
        for d in Df:
            dot = sum(a * b for a, b in zip(q, d))
            size.append(sum(abs(a * b) for a, b in zip(q, d)))
            if similarity == "dot":
                row.append(dot)
            else:
                norm2 = sum(b * b for b in d)
                row.append(Fraction(0) if dot == 0 else (1 if dot > 0 else -1) * dot * dot / norm2)
        keys.append(row)
        sizes.append(size)
    return keys, sizes


def reference_order(keys_row):
    """Brute-force full ranking: decreasing key, ties by index."""
    return sorted(range(len(keys_row)), key=lambda j: (-keys_row[j], j))


def cosine_value(key, q):
    """The cosine from an exact squared-cosine key and the query's score vector."""
    norm2 = sum(Fraction(float(x)) ** 2 for x in q)
    squared = key / norm2 if norm2 else Fraction(0)      # in [-1, 1]: no overflow
    return math.copysign(math.sqrt(abs(float(squared))), float(squared))


def naive_relevance(q_label, d_labels):
    if np.ndim(q_label) == 0:
        return np.array([d == q_label for d in d_labels])
    return np.array([bool(np.any(np.logical_and(q_label, d))) for d in d_labels])


# ======================================================= retrieval: regressions
def test_rankings_survive_scores_of_magnitude_1e300(rng):
    """Regression: at 1e300 the norms overflowed (cosine -> all 0) and Q @ D.T was inf."""
    Q, D = rng.standard_normal((12, 5)), rng.standard_normal((40, 5))
    for similarity in ("cosine", "dot"):
        ref = retrieve(Q, D, similarity=similarity, ties="index")
        assert_array_equal(np.argsort(-(Q @ D.T if similarity == "dot" else
                                        (Q / np.linalg.norm(Q, axis=1, keepdims=True))
                                        @ (D / np.linalg.norm(D, axis=1, keepdims=True)).T),
                                      axis=1, kind="stable"), ref)
        for scale in (1e300, 1e-300, 2.0 ** 1000, 2.0 ** -1000):
            got = retrieve(Q * scale, D * scale, similarity=similarity, ties="index")
            assert_array_equal(got, ref)
        # queries and database at opposite extremes
        assert_array_equal(retrieve(Q * 1e300, D * 1e-300, similarity=similarity,
                                    ties="index"), ref)
    # cosine: every row rescaled separately, so each row's magnitude is irrelevant
    row_scales = 2.0 ** rng.integers(-1000, 1000, 40)
    assert_array_equal(retrieve(Q, D * row_scales[:, None], ties="index"),
                       retrieve(Q, D, ties="index"))


def test_dot_with_database_rows_of_wildly_different_magnitude_is_exact():
    """A common rescaling of rows 2**-1000 and 2**1000 apart underflows; compare exactly."""
    rng = np.random.default_rng(5)
    de = rng.choice([-1000, -999, 0, 999, 1000], 30)
    Q = np.ldexp(rng.integers(-3, 4, (6, 3)).astype(float), rng.integers(-50, 50, 6)[:, None])
    D = np.ldexp(rng.integers(-3, 4, (30, 3)).astype(float), de[:, None])
    keys, _ = exact_keys(Q, D, "dot")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ZeroScoreWarning)
        got = retrieve(Q, D, similarity="dot", ties="index")
        top = retrieve(Q, D, similarity="dot", ties="index", n_results=7)
    for q in range(6):
        assert got[q].tolist() == reference_order(keys[q])
        assert top[q].tolist() == reference_order(keys[q])[:7]


def test_top_k_with_index_ties_is_the_prefix_of_the_full_ranking(rng):
    Q = rng.integers(-1, 2, (50, 2)).astype(float)
    D = rng.integers(-1, 2, (80, 2)).astype(float)   # many exact ties
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ZeroScoreWarning)
        for similarity in ("cosine", "dot"):
            full = retrieve(Q, D, similarity=similarity, ties="index")
            for k in (1, 2, 5, 17, 79, 80):
                assert_array_equal(retrieve(Q, D, similarity=similarity, ties="index",
                                            n_results=k), full[:, :k])


def test_top_k_random_tie_break_is_uniform():
    """All 6 scores tied: the top 2 of a query is a uniform ordered pair (30 outcomes)."""
    n_q = 6000
    top = retrieve(np.ones((n_q, 2)), np.ones((6, 2)), n_results=2, random_state=0)
    assert np.all(top[:, 0] != top[:, 1])
    counts = np.bincount(top[:, 0] * 6 + top[:, 1], minlength=36)
    counts = counts[np.arange(36) % 7 != 0]          # drop the impossible (i, i)
    expected = n_q / 30
    chi2 = np.sum((counts - expected) ** 2 / expected)
    assert chi2 < 70  # 29 degrees of freedom: P(chi2 > 70) ~ 3e-5
    # a tied block straddling rank k: items 0..2 score 2, items 3..8 score 1, k = 5
    D = np.array([[2.0]] * 3 + [[1.0]] * 6)
    top = retrieve(np.ones((n_q, 1)), D, similarity="dot", n_results=5, random_state=1)
    assert np.all(np.sort(top[:, :3], axis=1) == [0, 1, 2])
    picked = np.bincount(top[:, 3:].ravel(), minlength=9)[3:]
    assert_allclose(picked / (2 * n_q), np.full(6, 1 / 6), atol=0.02)
    # and the order within the top tied block is uniform too
    assert_allclose(np.bincount(top[:, 0], minlength=3) / n_q, np.full(3, 1 / 3), atol=0.03)


def test_top_k_does_not_depend_on_the_block_size(rng, monkeypatch):
    Q = rng.standard_normal((30, 3))
    D = rng.integers(-2, 3, (50, 3)).astype(float)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ZeroScoreWarning)
        ref = [retrieve(Q, D, similarity=s, ties="index", n_results=k)
               for s in ("cosine", "dot") for k in (3, 50)]
        monkeypatch.setattr(_retrieval, "_BLOCK_ELEMENTS", 7)
        got = [retrieve(Q, D, similarity=s, ties="index", n_results=k)
               for s in ("cosine", "dot") for k in (3, 50)]
    for a, b in zip(ref, got):
        assert_array_equal(a, b)


def test_top_k_memory_is_bounded_by_the_block():
    """Regression: n_results=10 held and fully sorted 256 x n_database blocks (3.4 GB at 400k).

    Now the traced peak is a fixed-size block plus O(k) per query: here 200,000
    items and 300 queries stay far below the 4 x 256 x 200,000 x 8 bytes (1.6
    GB) of the old full sort.
    """
    rng = np.random.default_rng(0)
    Q, D = rng.standard_normal((300, 4)), rng.standard_normal((200_000, 4))
    tracemalloc.start()
    try:
        top = retrieve(Q, D, n_results=10, random_state=0)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert peak < 150 * 2 ** 20
    # agrees with a brute-force ranking on a few queries
    Dn = D / np.linalg.norm(D, axis=1, keepdims=True)
    for q in (0, 150, 299):
        S = Dn @ (Q[q] / np.linalg.norm(Q[q]))
        assert_array_equal(top[q], np.argsort(-S)[:10])


def test_zero_query_vectors_warn_for_the_dot_product_too(rng):
    Q, D = rng.standard_normal((4, 3)), rng.standard_normal((9, 3))
    Q[1] = 0.0
    with pytest.warns(ZeroScoreWarning, match="1 of the 4 query score vectors are zero; "
                                              "their dot product"):
        ranking = retrieve(Q, D, similarity="dot", ties="index")
    assert ranking[1].tolist() == list(range(9))


@pytest.mark.parametrize("kwargs, error, match", [
    (dict(queries=np.ones((2, 3)) + 1j), ValueError, "queries must be a 2-D array of real"),
    (dict(database=np.array([["a", "b", "c"]])), ValueError, "database must be a 2-D array"),
    (dict(queries=[[1.0, 2.0], [3.0]]), ValueError, "queries must be a 2-D array of scores"),
    (dict(database=np.empty((0, 3))), ValueError, "database must be a non-empty"),
    (dict(database=np.full((3, 3), np.inf)), ValueError, "database must be finite"),
    (dict(similarity=np.array("dot")), ValueError, "similarity must be 'cosine' or 'dot'"),
    (dict(ties=["random"]), ValueError, "ties must be 'random' or 'index'"),
    (dict(n_results=True), ValueError, "n_results must be an integer"),
    (dict(n_results=6), ValueError, r"n_results must be an integer in \[1, n_database=5\]"),
    (dict(random_state=-1), ValueError, "random_state must be a non-negative"),
])
def test_retrieve_bad_input(kwargs, error, match):
    args = dict(queries=np.ones((2, 3)), database=np.arange(15.0).reshape(5, 3))
    args.update(kwargs)
    with pytest.raises(error, match=match):
        retrieve(args.pop("queries"), args.pop("database"), **args)


def test_retrieve_accepts_sparse_scores(rng):
    Q, D = rng.standard_normal((5, 4)), rng.standard_normal((9, 4))
    D[:, 1:][D[:, 1:] < 0] = 0   # sparse, but no zero row (column 0 kept)
    assert_array_equal(retrieve(sp.csr_matrix(Q), sp.coo_matrix(D), ties="index"),
                       retrieve(Q, D, ties="index"))
    bad = sp.csr_matrix(D)
    bad.indices[0] = 99
    with pytest.raises(ValueError, match="database is a CSR matrix.*invalid"):
        retrieve(Q, bad)


# ========================================================= metrics: regressions
@pytest.mark.parametrize("bad, match", [
    (np.array([[0, 1, 3], [2, 1, 0], [1, 0, 2]]), r"database indices in \[0, 3\)"),
    (np.array([[0, 1, -1], [2, 1, 0], [1, 0, 2]]), r"database indices in \[0, 3\)"),
    (np.array([[0, 1, 2**63 + 5]] * 3, dtype=np.uint64), r"database indices in \[0, 3\)"),
    (np.array([[0, 1, 1], [2, 1, 0], [1, 0, 2]]), "must not repeat"),
    (np.array([[0, 1, 2]] * 3, dtype=float), "2-D integer array"),
    (np.array([[0, 1, 2]] * 3, dtype=object), "2-D integer array"),
    (np.array([[True, False, True]] * 3), "2-D integer array"),
    (np.zeros((3, 0), dtype=int), "between 1 and n_database=3 columns"),
    ([[0, 1], [2]], "ranking must be a 2-D integer array"),
])
@pytest.mark.parametrize("metric", ["map", "p@k", "map@k"])
def test_metrics_never_read_outside_the_database(bad, match, metric):
    labels = np.array([0, 1, 0])
    fn = {"map": lambda r: mean_average_precision(labels, labels, r),
          "p@k": lambda r: precision_at_k(labels, labels, r, 1),
          "map@k": lambda r: map_at_k(labels, labels, r, 1)}[metric]
    with pytest.raises(ValueError, match=match):
        fn(bad)


def test_metrics_label_checks():
    ranking = np.array([[0, 1, 2], [2, 1, 0], [1, 0, 2]])
    labels = np.array([0, 1, 0])
    cases = [
        (0, labels, "query_labels must be 1-D class labels.*shape \\(\\)"),
        (labels, 0, "database_labels must be 1-D class labels.*shape \\(\\)"),
        (labels[:0], labels, "query_labels must be .* with at least one row"),
        (np.array([0.0, np.nan, 1.0]), labels, "query_labels must not contain NaN"),
        (labels, np.array([0, None, float("nan")], dtype=object),
         "database_labels must not contain NaN"),
        (labels.astype(str), labels, "labels of the same kind"),
        (np.zeros((3, 0)), np.zeros((3, 0)), "query_labels must have at least one label column"),
        (np.eye(3), np.full((3, 3), 0.5), "database_labels must be a 0/1 indicator matrix"),
        (np.eye(3).astype(str), np.eye(3), "query_labels must be a numeric 0/1"),
    ]
    for q, d, match in cases:
        for fn, extra in ((mean_average_precision, ()), (precision_at_k, (2,)),
                          (map_at_k, (2,))):
            with pytest.raises(ValueError, match=match):
                fn(q, d, ranking, *extra)
    with pytest.raises(TypeError, match="per_query must be True or False, got 'no'"):
        mean_average_precision(labels, labels, ranking, per_query="no")
    # sparse indicator matrices are the dense ones
    L = np.array([[1, 0], [0, 1], [1, 1]])
    for fn in (lambda a, b: mean_average_precision(a, b, ranking, per_query=True),
               lambda a, b: map_at_k(a, b, ranking, 2)):
        assert_allclose(fn(sp.csr_matrix(L), sp.csc_matrix(L)), fn(L, L), rtol=0)


def test_multilabel_relevance_uses_both_strategies(rng, monkeypatch):
    """Gathering ranked label rows and the shared-label matrix give the same metrics."""
    Lq = (rng.random((25, 3)) < 0.4).astype(int)
    Ld = (rng.random((40, 3)) < 0.4).astype(int)
    ranking = retrieve(rng.standard_normal((25, 4)), rng.standard_normal((40, 4)),
                       random_state=0)
    ref = [average_precision(naive_relevance(Lq[i], Ld)[ranking[i]]) for i in range(25)]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UndefinedMetricWarning)
        assert_allclose(mean_average_precision(Lq, Ld, ranking, per_query=True), ref,
                        rtol=1e-12)
        p5 = np.mean([naive_relevance(Lq[i], Ld)[ranking[i, :5]].mean() for i in range(25)])
        assert_allclose(precision_at_k(Lq, Ld, ranking, 5), p5, rtol=1e-12)
        monkeypatch.setattr(_retrieval, "_BLOCK_ELEMENTS", 5)
        assert_allclose(mean_average_precision(Lq, Ld, ranking, per_query=True), ref,
                        rtol=1e-12)
        assert_allclose(precision_at_k(Lq, Ld, ranking, 5), p5, rtol=1e-12)


# ======================================================= estimator: regressions
def _data(rng, n=30):
    y = rng.integers(0, 3, n)
    a = rng.standard_normal((n, 3)) + y[:, None]
    b = rng.standard_normal((n, 2)) - y[:, None]
    return a, b, y


def test_n_components_is_bounded_by_the_number_of_samples(rng):
    """Regression: n_components=10**4 on 60 rows ran for minutes (O(R^3) per block)."""
    a, b, y = _data(rng, 60)
    with pytest.raises(ValueError, match=r"n_components must be at most the number of training "
                                         r"samples \(60\), got 10000"):
        MultiViewTensorMachine(n_components=10**4).fit([a, a[:, :2]], [b], y)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", FIT_WARNINGS)
        model = MultiViewTensorMachine(n_components=12, max_iter=2, random_state=0).fit(
            [a[:12], a[:12, :2]], [b[:12]], y[:12])
    assert model.topic_factors_[0].shape == (3, 12)


@pytest.mark.parametrize("kwargs, match", [
    (dict(alpha=1e-13),
     r"alpha / \(1 \+ consensus\) must lie in \[1e-12, 1e\+12\].*got 5e-14"),
    (dict(alpha=1e-3, consensus=1e10), r"alpha / \(1 \+ consensus\)"),
    (dict(alpha=1e13, consensus=0.0), r"got 1e\+13 from alpha=1e\+13"),
    (dict(linear_term=True, linear_alpha=1e-300),
     r"linear_alpha / \(1 \+ consensus\)"),
    (dict(consensus=np.inf), "consensus must be a finite number >= 0"),
    (dict(tol=np.nan), "tol must be a finite number >= 0"),
    (dict(n_components=True), "n_components must be an integer >= 1"),
    (dict(loss=np.array("squared")), "loss must be 'squared' or 'softmax'"),
])
def test_ridge_range_and_parameter_types(rng, kwargs, match):
    """Regression: ridges of 1e-300 / 1e300 overflowed or hit singular Cholesky factors."""
    a, b, y = _data(rng)
    with pytest.raises(ValueError, match=match):
        MultiViewTensorMachine(**kwargs).fit([a], [b], y)


def test_fit_is_invariant_to_power_of_two_feature_scales(rng):
    """Regression: features of order 1e300 overflowed the standard deviation (the
    feature was silently dropped) and features of order 1e-17 were taken as constant."""
    a, b, y = _data(rng)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", FIT_WARNINGS)
        kw = dict(n_components=2, max_iter=4, random_state=0)
        ref = MultiViewTensorMachine(**kw).fit([a, b], [b], y)
        fa, fb = ref.decision_function([a, b], "a"), ref.decision_function([b], "b")
        for e in (-1000, -60, 1000):   # every entry stays a normal number
            sa = np.ldexp(a, np.array([e, 0, -e // 2]))      # per-column exponents
            model = MultiViewTensorMachine(**kw).fit([sa, b], [np.ldexp(b, e)], y)
            assert_array_equal(model.decision_function([sa, b], "a"), fa)
            assert_array_equal(model.decision_function([np.ldexp(b, e)], "b"), fb)
        model = MultiViewTensorMachine(**kw).fit([a * 1e300, b], [b * 1e-300], y)
        assert_allclose(model.decision_function([a * 1e300, b], "a"), fa, rtol=1e-6,
                        atol=1e-9)


def test_constant_columns_of_any_magnitude_are_dropped(rng):
    a, _, y = _data(rng)
    for c in (1e-300, 3.0, 1e300):
        x = np.column_stack([a, np.full(len(y), c)])
        exponent, mean, scale = _standardize_fit([x])[0]
        assert scale[-1] == 1.0
        assert np.all(_design([x], [(exponent, mean, scale)])[0][:, -1] == 0.0)


def test_overflowing_test_scores_raise(rng):
    a, b, y = _data(rng)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", FIT_WARNINGS)
        model = MultiViewTensorMachine(n_components=2, max_iter=3, random_state=0).fit(
            [a, a[:, :1]], [b], y)
    far = a.copy()
    far[4] = 1e200
    with pytest.raises(ValueError, match=r"views_a give non-finite scores in 1 rows "
                                         r"\(first: row 4\)"):
        model.decision_function([far, far[:, :1]], "a")
    with pytest.raises(ValueError, match="views_a give non-finite scores"):
        model.predict_proba([far, far[:, :1]], "a")


@pytest.mark.parametrize("views_a, error, match", [
    ([sp.csr_matrix(np.ones((30, 3)))], TypeError, r"views_a\[0\] must be a dense array"),
    (sp.csr_matrix(np.ones((30, 3))), TypeError, r"views_a\[0\] must be a dense array"),
    ([np.ones((30, 3)) * 1j], ValueError, r"views_a\[0\] must be a 2-D array of real"),
    ([np.ones((30, 3)).astype(str)], ValueError, r"views_a\[0\] must be a 2-D array of real"),
    ("abc", TypeError, "views_a must be a list of 2-D arrays"),
])
def test_view_kinds(rng, views_a, error, match):
    _, b, y = _data(rng)
    with pytest.raises(error, match=match):
        MultiViewTensorMachine(n_components=2).fit(views_a, [b], y)


def test_label_kinds(rng):
    a, b, y = _data(rng)
    model = MultiViewTensorMachine(n_components=2, max_iter=2, random_state=0)
    for bad, match in [(np.array([None] * 30), "Y must hold class labels of one sortable"),
                       (np.array([1, "a"] * 15, dtype=object), "Y must hold class labels"),
                       (np.array([1.0, float("nan")] * 15, dtype=object), "Y must not contain"),
                       (np.zeros((30, 2), dtype="datetime64[s]"), "Y must be a numeric 0/1")]:
        with pytest.raises(ValueError, match=match):
            model.fit([a], [b], bad)
    Y = (y[:, None] == np.arange(3)).astype(int)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", FIT_WARNINGS)
        dense = model.fit([a], [b], Y).decision_function([a])
        assert_array_equal(model.fit([a], [b], sp.csr_matrix(Y)).decision_function([a]), dense)


def test_failed_refit_leaves_the_fitted_model_intact(rng):
    a, b, y = _data(rng)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", FIT_WARNINGS)
        model = MultiViewTensorMachine(n_components=2, max_iter=3, random_state=0).fit([a], [b], y)
    before = model.decision_function([a])
    with pytest.raises(ValueError, match="n_components must be at most"):
        model.set_params(n_components=50).fit([np.ones((20, 7))], [np.ones((20, 1))], y[:20])
    # the fitted attributes (and the fitted n_components) are the old ones
    assert model.n_features_views_ == ([3], [2])
    assert_array_equal(model.decision_function([a]), before)


def test_exact_block_survives_a_numerically_indefinite_cholesky():
    """Regression: duplicated features and a ridge of 1e-12 made dpotrf fail
    (LinAlgError); the block is now solved by PCG and J still never increases."""
    rng = np.random.default_rng(2)
    a, b, y = rng.standard_normal((30, 3)), rng.standard_normal((30, 40)), rng.integers(0, 3, 30)
    views = ([np.hstack([a, a, a[:, :1] * 1e-9]), b], [b, a])
    Z = [_design(v, _standardize_fit(v)) for v in views]
    Y, _ = _check_labels(y, 30)
    solver = CPSolver(Z, Y, 3, 1e-12, 1.0, block_update="exact", loss="softmax",
                      rng=np.random.default_rng(0))
    kernels = solver.problem.kernels
    failures = []

    class Counting:
        def __getattr__(self, name):
            return getattr(kernels, name)

        def cholesky_solve(self, H, rhs):
            info = kernels.cholesky_solve(H, rhs)
            failures.append(info != 0)
            return info

    solver.problem.kernels = Counting()
    values = solver.fit(15, 0.0)[0]
    assert any(failures)
    assert np.all(np.isfinite(values))
    assert np.all(np.diff(values) <= 1e-12 * np.abs(values[:-1]))


def test_temperature_of_subnormal_or_offset_scores_is_finite():
    """Regression: a subnormal score range gave an infinite temperature (NaN
    posteriors), and beta * f overflowed for test scores far from the training ones."""
    Y = np.eye(3)[[0, 1, 2, 0]]
    beta = fit_temperature(Y * 1e-310 - 3e-310, Y)   # score range below 50 / max float
    assert np.isfinite(beta) and beta > 1e300
    with np.errstate(all="raise"):
        P = softmax_scores(Y * 1e5 + 7.0, beta)      # beta * f = inf before centring
    assert np.all(np.isfinite(P)) and np.all(np.argmax(P, axis=1) == [0, 1, 2, 0])
    assert_allclose(P.sum(axis=1), 1.0)
    assert_allclose(softmax_scores(16 * Y + 1e17, 0.125), softmax_scores(16 * Y, 0.125),
                    rtol=1e-15)


def test_kernels_reject_wrong_shapes_without_touching_memory(isolated):
    """Regression: the compiled kernels trusted their callers' shapes (out-of-bounds
    reads and writes on a wrong call); each now raises a ValueError naming the argument."""
    proc = isolated("""
        import numpy as np
        from statoptim.multiview import _cp
        Z, W, Q = np.ones((5, 3)), np.ones((5, 2)), np.eye(2)
        T, out = np.ones((3, 2)), np.empty((3, 2))
        s = np.empty((5, 2))
        calls = [
            lambda: _cp.hadamard_products(np.ones((2, 5, 2)), np.empty((4, 2)),
                                          np.empty((2, 5, 2))),
            lambda: _cp.hadamard_products(np.ones((2, 5, 2)), np.empty((5, 2)),
                                          np.empty((1, 5, 2))),
            lambda: _cp.khatri_rao_system(Z, W, Q, 1.0, 1.0, np.empty((5, 5)), np.empty((5, 6))),
            lambda: _cp.khatri_rao_system(Z, W[:4], Q, 1.0, 1.0, np.empty((6, 6)),
                                          np.empty((5, 6))),
            lambda: _cp.khatri_rao_system(Z, W, Q, 1.0, 1.0, np.empty((6, 6)), np.empty((0, 6))),
            lambda: _cp.cholesky_solve(np.eye(4), np.ones(3)),
            lambda: _cp.cholesky_solve(np.empty((0, 0)), np.ones(0)),
            lambda: _cp.weighted_cross(Z, W, np.ones((4, 2)), 1.0, T, 0.0, s, out),
            lambda: _cp.weighted_cross(Z, W, W, 1.0, T, 0.0, s, np.empty((2, 2))),
            lambda: _cp.weighted_cross(Z[:0], W[:0], W[:0], 1.0, T, 0.0, s[:0], out),
            lambda: _cp.block_operator(Z, W, np.eye(3), 1.0, 1.0, T, s, s, out),
            lambda: _cp.block_operator(Z, W, Q, 1.0, 1.0, np.ones((4, 2)), s, s, out),
            lambda: _cp.block_operator(Z, W, Q, 1.0, 1.0, T, s[:3], s, out),
        ]
        for call in calls:
            try:
                call()
            except ValueError as exc:
                print("ValueError:", exc)
            else:
                print("no error")
    """)
    lines = proc.stdout.strip().splitlines()
    assert proc.returncode == 0, proc.stderr
    assert len(lines) == 13 and all(line.startswith("ValueError:") for line in lines), lines
    for name in ("product", "leave_one_out", "H", "W", "scratch", "rhs", "M", "out", "Q",
                 "Theta", "scratch1", "non-empty"):
        assert any(name in line for line in lines), name


# ===================================================================== fuzzing
exponents = st.integers(-1000, 1000)


@st.composite
def score_problems(draw):
    """Small integer scores (exact products, many ties) or arbitrary floats, times
    per-row powers of two: one magnitude for the whole database or one per row."""
    nq, nd, t = draw(st.integers(1, 6)), draw(st.integers(1, 25)), draw(st.integers(1, 4))
    exact = draw(st.booleans())
    entries = st.integers(-3, 3) if exact else st.floats(-4, 4, allow_subnormal=False)

    def matrix(rows):
        return np.array(draw(st.lists(st.lists(entries, min_size=t, max_size=t),
                                      min_size=rows, max_size=rows)), dtype=float)

    Q, D = matrix(nq), matrix(nd)
    qe = np.array(draw(st.lists(exponents, min_size=nq, max_size=nq)))
    if draw(st.booleans()):
        de = np.full(nd, draw(exponents))
    else:
        de = np.array(draw(st.lists(exponents, min_size=nd, max_size=nd)))
    return np.ldexp(Q, qe[:, None]), np.ldexp(D, de[:, None]), exact


@given(problem=score_problems(), similarity=st.sampled_from(["cosine", "dot"]),
       ties=st.sampled_from(["index", "random"]), k=st.none() | st.integers(1, 25),
       seed=st.integers(0, 2**32 - 1))
def test_fuzz_retrieve_matches_exact_ranking(problem, similarity, ties, k, seed):
    """Against a brute-force ranking of the exact (rational) similarities: the same
    items for exact products, else the same sorted similarities up to round-off."""
    Q, D, exact = problem
    nd, t = D.shape
    k = None if k is None else min(k, nd)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ZeroScoreWarning)
        got = retrieve(Q, D, similarity=similarity, ties=ties, n_results=k, random_state=seed)
    n = nd if k is None else k
    assert got.shape == (Q.shape[0], n) and got.dtype == np.int64
    keys, sizes = exact_keys(Q, D, similarity)
    for q in range(Q.shape[0]):
        row = got[q].tolist()
        assert len(set(row)) == n and min(row) >= 0 and max(row) < nd
        ref = reference_order(keys[q])[:n]
        if similarity == "dot":
            if exact and ties == "index":
                assert row == ref
            elif exact:
                assert [keys[q][j] for j in row] == [keys[q][j] for j in ref]
            else:   # sorting is 1-Lipschitz: positions differ by at most 2 x the error
                bound = 2 * (t + 2) * Fraction(2) ** -52 * max(sizes[q])
                assert all(abs(keys[q][a] - keys[q][b]) <= bound for a, b in zip(row, ref))
        else:
            got_vals = [cosine_value(keys[q][j], Q[q]) for j in row]
            ref_vals = [cosine_value(keys[q][j], Q[q]) for j in ref]
            assert_allclose(got_vals, ref_vals, rtol=0, atol=1e-12)


@st.composite
def metric_problems(draw):
    nq, nd = draw(st.integers(1, 6)), draw(st.integers(1, 12))
    if draw(st.booleans()):
        L = draw(st.integers(1, 3))
        bit = st.integers(0, 1)
        q = np.array(draw(st.lists(st.lists(bit, min_size=L, max_size=L),
                                   min_size=nq, max_size=nq)))
        d = np.array(draw(st.lists(st.lists(bit, min_size=L, max_size=L),
                                   min_size=nd, max_size=nd)))
    else:
        q = np.array(draw(st.lists(st.integers(0, 2), min_size=nq, max_size=nq)))
        d = np.array(draw(st.lists(st.integers(0, 2), min_size=nd, max_size=nd)))
    seed = draw(st.integers(0, 2**32 - 1))
    rng = np.random.default_rng(seed)
    ranking = np.array([rng.permutation(nd) for _ in range(nq)])
    n_cols = draw(st.integers(1, nd))
    corruption = draw(st.sampled_from(["none"] * 6 + ["high", "negative", "duplicate",
                                                      "float", "rows", "nan_labels"]))
    return q, d, ranking, n_cols, corruption, draw(st.integers(1, nd + 1))


@given(problem=metric_problems())
def test_fuzz_metrics_match_naive_definitions(problem):
    q, d, ranking, n_cols, corruption, k = problem
    nd = d.shape[0]
    errors = {"high": "ranking entries must be database indices",
              "negative": "ranking entries must be database indices",
              "duplicate": "must not repeat", "float": "ranking must be a 2-D integer array",
              "rows": "ranking must have", "nan_labels": "query_labels must not contain NaN"}
    if corruption == "high":
        ranking[0, 0] = nd
    elif corruption == "negative":
        ranking[-1, 0] = -1
    elif corruption == "duplicate" and nd > 1:
        ranking[0, 1] = ranking[0, 0]
    elif corruption == "float":
        ranking = ranking.astype(float)
    elif corruption == "rows":
        ranking = np.vstack([ranking, ranking[:1]])
    elif corruption == "nan_labels" and q.ndim == 1:
        q = q.astype(float)
        q[0] = np.nan
    else:
        corruption = "none"
    calls = {
        "map": (nd, lambda: mean_average_precision(q, d, ranking, per_query=True)),
        "p@k": (n_cols, lambda: precision_at_k(q, d, ranking[:, :n_cols], k)),
        "map@k": (n_cols, lambda: map_at_k(q, d, ranking[:, :n_cols], k)),
    }
    for name, (cols, call) in calls.items():
        expect = errors.get(corruption)
        if corruption == "duplicate" and cols < 2:
            expect = None          # the repeated column is not part of the ranking
        if expect is None and name != "map" and k > n_cols:
            expect = f"k={k} exceeds"
        event(f"{name}: {'error' if expect else 'value'}")
        if expect is not None:
            with pytest.raises(ValueError, match=expect):
                call()
            continue
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", UndefinedMetricWarning)
            value = call()
        rel = [naive_relevance(q[i], d)[ranking[i]] for i in range(q.shape[0])]
        if name == "map":
            assert_allclose(value, [average_precision(r) for r in rel], rtol=1e-12)
        elif name == "p@k":
            assert_allclose(value, np.mean([r[:k].mean() for r in rel]), rtol=1e-12)
        else:
            assert_allclose(value, np.mean([average_precision(r[:k]) for r in rel]),
                            rtol=1e-12)


def _predict_reference(model, views, m):
    """f_m from the fitted attributes, in plain NumPy (standardise, CP product, linear)."""
    Z = []
    for x, mean, scale in zip(views, model.view_means_[m], model.view_scales_[m]):
        Z.append(np.column_stack([np.ones(len(x)), (x - mean) / scale]))
    Pi = np.ones((len(views[0]), model.topic_factors_[m].shape[1]))
    for z, theta in zip(Z, model.view_factors_[m]):
        Pi = Pi * (z @ theta)
    f = Pi @ model.topic_factors_[m].T
    if model.linear_coef_ is not None:
        L = np.column_stack([Z[0]] + [z[:, 1:] for z in Z[1:]])
        f = f + L @ model.linear_coef_[m]
    return f


@st.composite
def estimator_problems(draw):
    n = draw(st.integers(2, 14))
    seed = draw(st.integers(0, 2**32 - 1))
    rng = np.random.default_rng(seed)

    def view(d):
        kind = draw(st.sampled_from(["normal", "integers", "duplicated", "constant", "range"]))
        x = rng.standard_normal((n, d))
        if kind == "integers":             # many equal values
            x = rng.integers(-1, 2, (n, d)).astype(float)
        elif kind == "duplicated":         # rank-deficient design
            x = np.column_stack([x, x[:, :1]])
        elif kind == "constant":
            x[:, -1] = draw(st.sampled_from([0.0, 1.0, -3e5]))
        elif kind == "range":              # columns of very different magnitudes
            x = np.ldexp(x, rng.integers(-60, 60, d))
        return x

    views_a = [view(d) for d in draw(st.lists(st.integers(1, 3), min_size=1, max_size=2))]
    views_b = [view(d) for d in draw(st.lists(st.integers(1, 3), min_size=1, max_size=2))]
    if draw(st.booleans()):
        y = rng.integers(0, draw(st.integers(1, 3)), n)
    else:                                  # multi-label, rows without labels allowed
        y = (rng.random((n, draw(st.integers(1, 3)))) < 0.4).astype(float)
        y[rng.integers(0, n, y.shape[1]), np.arange(y.shape[1])] = 1.0
    params = dict(
        n_components=draw(st.integers(1, 16)),
        alpha=10.0 ** draw(st.floats(-13, 13)),
        consensus=draw(st.sampled_from([0.0, 0.5, 1.0, 1e6])),
        loss=draw(st.sampled_from(["squared", "softmax"])),
        block_update=draw(st.sampled_from(["auto", "exact", "cg", "prox-linear"])),
        linear_term=draw(st.booleans()),
        mixing=draw(st.sampled_from(["learn", "fixed"])),
        max_iter=draw(st.integers(1, 4)), random_state=seed % 1000)
    if params["linear_term"] and draw(st.booleans()):
        params["linear_alpha"] = 10.0 ** draw(st.floats(-13, 13))
    corruption = draw(st.sampled_from(["none"] * 6 + ["nan", "rows_b", "rows_y", "empty",
                                                      "complex", "sparse", "n_views"]))
    scale = draw(st.integers(-900, 900))   # keeps every entry a normal number
    return views_a, views_b, y, params, corruption, scale


@given(problem=estimator_problems())
def test_fuzz_estimator_error_or_finite_reference_answer(problem):
    views_a, views_b, y, params, corruption, scale = problem
    n = len(y)
    name = None
    if corruption == "nan":
        views_a[-1][0, 0] = np.nan
        name = "views_a"
    elif corruption == "rows_b":
        views_b[0] = views_b[0][:-1]
        name = "views_b"
    elif corruption == "rows_y":
        y = np.append(y, 0)
        name = "Y"
    elif corruption == "empty":
        views_b[-1] = views_b[-1][:, :0]
        name = "views_b"
    elif corruption == "complex":
        views_a[0] = views_a[0] + 1j
        name = "views_a"
    elif corruption == "sparse":
        views_b[0] = sp.csr_matrix(views_b[0])
        name = "views_b"
    ridge = params["alpha"] / (1 + params["consensus"])
    ridge_w = params.get("linear_alpha", params["alpha"])
    if not 1e-12 <= ridge <= 1e12:     # parameters are checked before the data
        name = "alpha"
    elif not 1e-12 <= ridge_w / (1 + params["consensus"]) <= 1e12:
        name = "linear_alpha"
    elif name is None and params["n_components"] > n:
        name = "n_components"
    scaled_a = [np.ldexp(v, scale) if isinstance(v, np.ndarray) and v.dtype.kind == "f" else v
                for v in views_a]
    model = MultiViewTensorMachine(**params)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", FIT_WARNINGS)
        if name is not None:
            event(f"error naming {name}")
            with pytest.raises((ValueError, TypeError), match=name):
                model.fit(scaled_a, views_b, y)
            return
        event("fitted")
        model.fit(scaled_a, views_b, y)
        ref = MultiViewTensorMachine(**params).fit(views_a, views_b, y)
    fa = model.decision_function(scaled_a, "a")
    fb = model.decision_function(views_b, "b")
    assert np.all(np.isfinite(fa)) and np.all(np.isfinite(fb))
    # exact power-of-two rescaling of the features: the very same fit
    assert_array_equal(fa, ref.decision_function(views_a, "a"))
    # plain NumPy prediction formula on the unscaled model
    assert_allclose(fb, _predict_reference(ref, views_b, 1), rtol=1e-9, atol=1e-12)
    assert_allclose(ref.decision_function(views_a, "a"), _predict_reference(ref, views_a, 0),
                    rtol=1e-9, atol=1e-12)
    # J never increases from one cycle to the next (prox-linear extrapolation may
    # raise it inside a cycle; a cycle that ends higher is redone without it)
    J = model.objective_
    per_cycle = (len(J) - 1) // model.n_iter_
    ends = J[::per_cycle]
    assert np.all(np.isfinite(J)) and np.all(np.diff(ends) <= 1e-9 * np.abs(ends[:-1]))
    P = model.predict_proba(views_b, "b")
    assert np.all(P >= 0)
    assert_allclose(P.sum(axis=1), 1.0, rtol=1e-12)
    if corruption == "n_views":
        with pytest.raises(ValueError, match="views_a must have"):
            model.decision_function(scaled_a + scaled_a[:1], "a")



# Found by fuzzing (the exact bits matter: rounded to 8 digits the fit is fine)
_NEAR_SINGULAR = {
    "a0": [[0.6442836653573567, -1.172868951012853, 0.0],
         [0.32149660897453564, -0.9449408619424501, 0.0],
         [-2.4527407522998463, -0.151160295831048, 0.0],
         [0.5439764096884703, -0.3575500656214927, 0.0],
         [-2.5110924739450873, 1.100789858209315, 0.0],
         [-0.7537338446237717, -1.2934458640497073, 0.0],
         [0.8320712426352584, -0.57299836498294, 0.0],
         [1.1140784828796781, -1.0975946633617253, 0.0],
         [1.3245178712743213, 1.9444247742409426, 0.0],
         [0.4081511897502052, 1.6011128023777481, 0.0],
         [0.25406470676160503, 0.24038168464513474, 0.0],
         [-1.6665215497696657, 0.35431875287098336, 0.0],
         [0.6457616326861815, -2.5306689518252243, 0.0],
         [1.0827172472575757, 0.5969296630302747, 0.0]],
    "b0": [[0.1314992599933992, -1.088382071626557, 0.1314992599933992],
         [0.5018268154817228, 1.848029865672147, 0.5018268154817228],
         [-0.11676844070960773, -0.7806608338156458, -0.11676844070960773],
         [0.7924985369783882, -0.647964177382318, 0.7924985369783882],
         [0.07978707244263465, -0.23879191048598988, 0.07978707244263465],
         [-0.03918347573271787, -0.24408400856382803, -0.03918347573271787],
         [0.05549966282474437, 0.019373175200610975, 0.05549966282474437],
         [-0.30091274407565244, 0.39887564359640937, -0.30091274407565244],
         [0.9536454985385611, -1.1119118053788095, 0.9536454985385611],
         [-0.3386646886007869, 0.24391734202431184, -0.3386646886007869],
         [0.3208481987841155, 2.523310942090112, 0.3208481987841155],
         [0.4759785190829807, 0.866278938354439, 0.4759785190829807],
         [0.9388473672375568, 1.245331303045261, 0.9388473672375568],
         [0.5051464348805481, 0.9479150837505508, 0.5051464348805481]],
    "b1": [[1.0, 0.0, 0.0], [1.0, 1.0, 1.0], [0.0, -1.0, 0.0], [-1.0, -1.0, 1.0], [0.0, -1.0, 1.0],
         [-1.0, -1.0, 0.0], [-1.0, 1.0, 0.0], [0.0, 1.0, 0.0], [0.0, -1.0, -1.0],
         [-1.0, 1.0, -1.0], [-1.0, 0.0, 1.0], [0.0, 1.0, 1.0], [-1.0, 0.0, 1.0],
         [-1.0, -1.0, 0.0]],
    "y": [[0.0], [0.0], [0.0], [0.0], [1.0], [1.0], [1.0], [1.0], [1.0], [1.0], [0.0], [0.0],
         [1.0], [0.0]],
}


def test_exact_blocks_never_raise_the_objective_on_a_near_singular_block():
    """A ridge of 6e-10 beside a zero and a duplicated feature column.

    The factored block system was lost to rounding (a block of norm 1.6e4 that raised
    J from 0.12 to 0.37). J, computed from the scores, now guards every exact block:
    the block is redone by CG, or kept as it was.
    """
    data = {k: np.array(v) for k, v in _NEAR_SINGULAR.items()}
    model = MultiViewTensorMachine(n_components=10, alpha=6.034636505583964e-10,
                                   consensus=0.0, loss="squared", block_update="exact",
                                   linear_term=False, mixing="learn", max_iter=3,
                                   random_state=417)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", FIT_WARNINGS)
        model.fit([data["a0"]], [data["b0"], data["b1"]], data["y"])
    J = model.objective_
    ends = J[::(len(J) - 1) // model.n_iter_]
    assert np.all(np.isfinite(J))
    assert np.all(np.diff(ends) <= 1e-9 * np.abs(ends[:-1])), ends
