"""The multi-view fit at speed (issue 17, part 5).

- the compiled softmax statistics (row maxima, then NumPy's exp, then sums,
  logs, gradient and value) against a plain NumPy/SciPy reference;
- a rejected trial step restores the cached loss statistics instead of
  recomputing them, and the Boehning step then starts from the same state;
- a CP part that has decayed below eps of f and J is set to zero (a fixed
  point of its blocks) and its blocks are skipped; one that still counts is not;
- top-k retrieval holds a bounded block of similarities, whatever the number of
  queries: its peak memory grows by the output alone (tracemalloc).
"""
import tracemalloc

import numpy as np
import pytest
from _multiview_helpers import problem
from hypothesis import given
from hypothesis import strategies as st
from numpy.testing import assert_allclose
from scipy.special import logsumexp, softmax

from statoptim.multiview import _blocks, _cp, _kernels_numpy, _retrieval
from statoptim.multiview._losses import SoftmaxLoss
from statoptim.multiview._solver import CPSolver


def _reference_stats(f, Y):
    rows = Y.sum(axis=1, keepdims=True)
    t = np.divide(Y, rows, out=np.zeros_like(Y), where=rows > 0)
    w = t.sum(axis=1)
    lse = logsumexp(f, axis=1)
    grad = w[:, None] * softmax(f, axis=1) - t
    return lse, grad, float(w @ lse - np.sum(t * f))


@pytest.mark.parametrize("kernels", [_cp, _kernels_numpy], ids=["cython", "numpy"])
def test_softmax_stats_kernel_matches_scipy(rng, kernels):
    f = 5 * rng.standard_normal((50, 7))
    f[0] += 800.0   # would overflow exp without the shift
    f[1] -= 800.0
    Y = (rng.random((50, 7)) < 0.3).astype(float)
    Y[2] = 0.0      # a row without labels has weight 0
    stats = SoftmaxLoss(Y, kernels).stats(f)
    lse, grad, value = _reference_stats(f, Y)
    assert_allclose(stats.logsumexp, lse, rtol=1e-14)
    assert_allclose(stats.gradient, grad, rtol=1e-12, atol=1e-15)
    assert_allclose(stats.value, value, rtol=1e-12)


@given(st.integers(1, 30), st.integers(1, 9), st.floats(1e-3, 300.0), st.integers(0, 2**31))
def test_fuzz_softmax_stats_kernel(n, p, scale, seed):
    rng = np.random.default_rng(seed)
    f = scale * rng.standard_normal((n, p))
    Y = (rng.random((n, p)) < 0.4).astype(float)
    stats = SoftmaxLoss(Y).stats(f)
    lse, grad, value = _reference_stats(f, Y)
    assert np.all(np.isfinite(stats.logsumexp)) and np.isfinite(stats.value)
    assert_allclose(stats.logsumexp, lse, rtol=1e-13, atol=1e-13)
    assert_allclose(stats.gradient, grad, rtol=1e-11, atol=1e-14)
    assert_allclose(stats.value, value, rtol=1e-11, atol=1e-11 * n * scale)


def test_softmax_stats_kernel_propagates_nan(rng):
    f = rng.standard_normal((4, 3))
    f[1, 2] = np.nan
    stats = SoftmaxLoss(np.eye(3)[[0, 1, 2, 0]]).stats(f)
    assert np.isnan(stats.logsumexp[1]) and np.isnan(stats.value)
    assert np.all(np.isfinite(np.delete(stats.logsumexp, 1)))


def test_softmax_kernels_reject_wrong_shapes_naming_the_argument():
    f = np.zeros((4, 3))
    with pytest.raises(ValueError, match="row_max must have shape"):
        _cp.row_max_shift(f, np.empty(3), np.empty((4, 3)))
    with pytest.raises(ValueError, match="shifted must have shape"):
        _cp.row_max_shift(f, np.empty(4), np.empty((4, 2)))
    with pytest.raises(ValueError, match="row_targets must have shape"):
        _cp.softmax_finish(f, np.zeros(4), np.ones(4), np.zeros((3, 3)), np.empty(4),
                           np.ones((4, 3)))
    with pytest.raises(ValueError, match="gradient must have shape"):
        _cp.softmax_finish(f, np.zeros(4), np.ones(4), np.zeros((4, 3)), np.empty(4),
                           np.ones((4, 4)))
    with pytest.raises(ValueError, match="must be non-empty"):
        _cp.row_max_shift(np.zeros((0, 3)), np.empty(0), np.empty((0, 3)))


# ------------------------------------------------------------------ solver
def test_rejected_trial_step_restores_the_cached_statistics():
    Z, Y = problem(1)
    s = CPSolver(Z, Y, 3, 0.05, 0.5, loss="softmax", rng=np.random.default_rng(0))
    s.fit(3, -np.inf)
    state = s.state
    J = state.known_objective = s.objective()
    cache = state.cache()
    saved = (state.Phi[0].copy(), state.f[0].copy())
    s.update_phi(0, 1e-3)          # a trial step with a small curvature...
    assert state.known_objective is None
    state.Phi[0] = saved[0]        # ... undone as _safeguarded undoes it
    state.set_scores(0, saved[1])
    state.restore_cache(cache)
    assert state.known_objective == J
    for key in ("mixture", 0, 1):
        cached = state.loss_stats(s.loss, key)
        fresh = s.loss.stats(state.scores(key))
        for got, want in zip(cached, fresh):
            assert_allclose(got, want, rtol=0, atol=0)
    assert s.objective() == J


def _decayed_solver(scale, update="auto", seed=2, ridge=0.01):
    """A fitted softmax solver whose modality-0 CP part is then scaled by ``scale``.

    With ridge 0.01 the CP parts of this problem stay away from zero (with 0.05
    that of modality 0 decays to zero within 30 cycles).
    """
    Z, Y = problem(seed)
    s = CPSolver(Z, Y, 3, ridge, 1.0, loss="softmax", block_update=update, linear=True,
                 linear_regularization=0.1, rng=np.random.default_rng(seed))
    s.fit(4, -np.inf)
    Theta, Phi, alpha = s.get_state()
    Phi[0] *= scale
    Theta[0] = [t * scale for t in Theta[0]]
    s.set_state(Theta, Phi, alpha, W=s.W)
    return s


def test_negligible_cp_part_is_dropped_and_its_blocks_are_fixed_points():
    s = _decayed_solver(1e-20)
    f_before = [f.copy() for f in s.f]
    J_before = s.objective()
    assert s.drop_negligible_cp(0) and s.zero_cp == [True, False]
    assert all(not np.any(t) for t in s.Theta[0]) and not np.any(s.Phi[0])
    assert_allclose(s.f[0], f_before[0], rtol=1e-15, atol=0)
    assert_allclose(s.f[1], f_before[1], rtol=0, atol=0)
    assert_allclose(s.objective(), J_before, rtol=1e-15)
    # every block update of the zero CP part leaves it at zero (what skipping assumes)
    for curvature in (0.25, 1e-3):
        s.update_phi(0, curvature)
        s.update_theta_cg(0, 0, curvature)
        s.update_theta_exact(0, 1, curvature)
        _blocks.update_theta_exact(s.problem, s.state, 0, 0, s.targets(0, curvature))
        assert all(not np.any(t) for t in s.Theta[0]) and not np.any(s.Phi[0])
    # the fit goes on with the modality's blocks recorded but skipped
    values, labels, n_iter, _, _ = s.fit(3, -np.inf)
    assert s.zero_cp[0] and labels[1:4] == ["phi_a", "theta_a[0]", "theta_a[1]"]
    assert values[1] == values[0] and np.max(np.diff(values)) <= 1e-12 * abs(values[0])
    assert not np.any(s.Phi[0])
    # set_state clears the flag: the blocks run again from the factors given
    s.set_state(*_decayed_solver(1.0).get_state())
    assert s.zero_cp == [False, False]


@pytest.mark.parametrize("scale", [1.0, 1e-4])
def test_cp_part_that_still_counts_is_kept(scale):
    # scale 1e-4: scores ~1e-12 of f, penalty ~1e-8 of J, above the eps threshold
    s = _decayed_solver(scale)
    assert not s.drop_negligible_cp(0)
    assert np.any(s.Phi[0]) and s.zero_cp == [False, False]
    if scale == 1.0:   # a fitted CP part stays (the scaled one decays within cycles)
        values = s.fit(2, -np.inf)[0]
        assert not s.zero_cp[0] and np.any(s.Phi[0])
        assert np.max(np.diff(values)) <= 1e-12 * abs(values[0])


def test_prox_linear_cp_part_is_never_dropped():
    s = _decayed_solver(1e-20, update="prox-linear")
    assert not s.drop_negligible_cp(0)
    assert np.any(s.Phi[0])


def test_initial_state_is_not_dropped():
    """At initialisation Phi = 0 but the unit-norm Theta carry a penalty: kept."""
    Z, Y = problem(3)
    s = CPSolver(Z, Y, 3, 0.05, 1.0, loss="softmax", rng=np.random.default_rng(0))
    assert not s.drop_negligible_cp(0) and not s.drop_negligible_cp(1)


# --------------------------------------------------------------- retrieval
def _peak_retrieve(n_queries, n_database, k, block):
    rng = np.random.default_rng(0)
    q = rng.random((n_queries, 5))
    d = rng.random((n_database, 5))
    old = _retrieval._BLOCK_ELEMENTS
    _retrieval._BLOCK_ELEMENTS = block
    try:
        tracemalloc.start()
        ranking = _retrieval.retrieve(q, d, n_results=k, random_state=0)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
        _retrieval._BLOCK_ELEMENTS = old
    assert ranking.shape == (n_queries, k)
    return peak


@pytest.mark.parametrize("similarity_block", [1 << 14])
def test_top_k_retrieval_memory_is_a_block_plus_the_output(similarity_block):
    n_database, k = 2000, 5
    small = _peak_retrieve(400, n_database, k, similarity_block)
    large = _peak_retrieve(4000, n_database, k, similarity_block)
    # 3600 more queries: their inputs (5 floats), rankings (k int64) and unit rows,
    # not 3600 x 2000 similarities (57.6 MB); a block is 2**14 entries
    per_query = 8 * (5 + 5 + k)
    assert large - small <= 2 * 3600 * per_query
    assert small <= 6 * 8 * similarity_block + 400 * per_query * 4 + 200_000


def test_non_finite_cp_part_is_not_dropped():
    s = _decayed_solver(1e-20)
    s.state.Phi[0][0, 0] = np.nan
    s.refresh()
    assert not s.drop_negligible_cp(0) and s.zero_cp == [False, False]


def test_without_linear_term_only_an_exactly_zero_cp_part_is_dropped():
    """f_m is the CP part alone: dropped only once its scores are exactly zero."""
    Z, Y = problem(4)
    s = CPSolver(Z, Y, 3, 0.01, 1.0, loss="softmax", rng=np.random.default_rng(0))
    s.fit(3, -np.inf)
    Theta, Phi, alpha = s.get_state()
    s.set_state([[t * 1e-30 for t in Theta[0]], Theta[1]], [Phi[0] * 1e-30, Phi[1]], alpha)
    assert not s.drop_negligible_cp(0)      # tiny, but all of f_0
    s.set_state(Phi=[np.zeros_like(Phi[0]), Phi[1]])
    assert s.drop_negligible_cp(0) and not np.any(s.f[0])
