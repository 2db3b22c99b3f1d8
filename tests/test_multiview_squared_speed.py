"""The accelerated multi-view fit (``CPSolver(accelerate=True)``, issue 17 part 5).

Two parts: the products A = Z Theta updated through their linearity (CG steps,
rescaling) instead of recomputed, which must give the default iterates up to
rounding; and the extrapolation of whole cycles, which must keep J monotone,
restore a rejected point exactly and leave the block updates (so the fixed
points) alone.
"""
import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st
from numpy.testing import assert_allclose, assert_array_equal

from statoptim.multiview import _cp, _kernels_numpy
from statoptim.multiview._extrapolation import MAX_STEP, MIN_STEP, CycleExtrapolation
from statoptim.multiview._solver import CPSolver


def _problem(seed, n=80):
    rng = np.random.default_rng(seed)
    y = rng.integers(0, 3, n)
    Z = []
    for dims in ((5, 4), (6, 3)):
        views = []
        for d in dims:
            z = np.ones((n, d + 1))
            z[:, 1:] = rng.standard_normal((n, d)) + 0.5 * y[:, None]
            views.append(z)
        Z.append(views)
    return Z, np.eye(3)[y]


def _solver(accelerate, seed=0, **kw):
    Z, Y = _problem(seed)
    kw = {"block_update": "cg", **kw}
    return CPSolver(Z, Y, 3, 1e-2, 1.0, rng=np.random.default_rng(seed + 1),
                    accelerate=accelerate, **kw)


def _products_match_the_designs(s):
    for m in range(2):
        for v, z in enumerate(s.Z[m]):
            assert_allclose(s.state.A[m][v], z @ s.Theta[m][v], rtol=1e-10, atol=1e-12)


@pytest.mark.parametrize("kernels", [_cp, _kernels_numpy])
def test_block_operator_product_is_the_operator_and_keeps_z_theta(kernels):
    rng = np.random.default_rng(0)
    Z, W = rng.standard_normal((30, 6)), rng.standard_normal((30, 4))
    Q = rng.standard_normal((4, 4))
    Q = Q @ Q.T
    theta = rng.standard_normal((6, 4))
    want = np.empty_like(theta)
    _kernels_numpy.block_operator(Z, W, Q, 0.1, 0.3, theta, None, None, want)
    out, product = np.empty_like(theta), np.empty((30, 4))
    kernels.block_operator_product(Z, W, Q, 0.1, 0.3, theta, product, np.empty((30, 4)),
                                   np.empty((30, 4)), out)
    assert_allclose(out, want, rtol=1e-12)
    assert_allclose(product, Z @ theta, rtol=1e-12)


def test_block_operator_product_names_a_wrong_shape():
    rng = np.random.default_rng(0)
    Z, W, Q, theta = (rng.standard_normal(s) for s in ((30, 6), (30, 4), (4, 4), (6, 4)))
    with pytest.raises(ValueError, match="product must have shape"):
        _cp.block_operator_product(Z, W, Q, 0.1, 0.3, theta, np.empty((29, 4)),
                                   np.empty((30, 4)), np.empty((30, 4)), np.empty((6, 4)))


def test_cg_block_and_balance_reusing_products_match_the_default_up_to_rounding():
    plain, fast = _solver(False), _solver(True)
    for s in (plain, fast):
        s.update_phi(0)
        s.update_theta_cg(0, 1)
        s.update_theta_cg(1, 0)
    assert_allclose(fast.Theta[0][1], plain.Theta[0][1], rtol=1e-10, atol=1e-13)
    assert_allclose(fast.Theta[1][0], plain.Theta[1][0], rtol=1e-10, atol=1e-13)
    assert not np.array_equal(fast.Theta[0][0], fast.Theta[0][1])
    _products_match_the_designs(fast)
    f = [g.copy() for g in fast.f]
    fast.balance()
    plain.balance()
    _products_match_the_designs(fast)
    assert_allclose(fast.f[0], f[0], rtol=1e-10, atol=1e-13)
    assert_allclose(fast.objective(), plain.objective(), rtol=1e-12)


def test_accelerated_fit_is_monotone_records_its_moves_and_ends_at_products_of_its_factors():
    s = _solver(True)
    values, labels, n_iter, converged, _ = s.fit(40, 0.0)
    cycle = s.block_labels()
    assert cycle[-1] == "extrapolate" and labels[1:] == cycle * n_iter
    assert np.all(np.diff(values) <= 1e-12 * np.abs(values[:-1]))
    moves = s.cycle_extrapolation
    assert moves.n_accepted > 0 and moves.n_accepted + moves.n_rejected == n_iter - 1
    _products_match_the_designs(s)
    rebuilt = _solver(True)
    rebuilt.set_state(*s.get_state())
    assert_allclose(rebuilt.objective(), values[-1], rtol=1e-10)


def test_accelerated_fit_reaches_a_lower_objective_in_fewer_cycles_than_plain_bcd():
    plain, fast = _solver(False, seed=3).fit(500, 1e-6), _solver(True, seed=3).fit(500, 1e-6)
    assert plain.converged and fast.converged
    assert fast.n_iter < plain.n_iter
    assert fast.objective[-1] <= plain.objective[-1] * (1 + 1e-6)


def test_extrapolation_keeps_the_fixed_points_stationary():
    # At a (near) stationary point of BCD the gradient is (near) zero: the
    # accelerated fit must end there too, since its blocks are plain BCD blocks.
    s = _solver(True, seed=5)
    s.fit(400, 1e-12)
    dTheta, dPhi, dalpha = s.gradients()
    scale = abs(s.objective())
    grad = max(np.abs(g).max() for g in [*dTheta[0], *dTheta[1], *dPhi])
    assert grad < 1e-5 * scale


def test_rejected_extrapolation_restores_the_cycle_point_exactly():
    s = _solver(True, seed=2)
    s.fit(5, 0.0)
    moves = s.cycle_extrapolation
    s.cycle_extrapolation = None
    s.cycle()   # a cycle without its move, then a move along it that overshoots
    s.cycle_extrapolation = moves
    before = s.get_state()
    f, J = [g.copy() for g in s.f], s.objective()
    assert not np.array_equal(moves._previous["Phi"][0], before.Phi[0])   # a real move
    moves.step = 1e6
    rejected = moves.n_rejected
    moves(s)
    assert moves.n_rejected == rejected + 1 and moves.step == max(1e6 / 2, MIN_STEP)
    after = s.get_state()
    for a, b in zip([*before.Theta[0], *before.Theta[1], *before.Phi, before.alpha],
                    [*after.Theta[0], *after.Theta[1], *after.Phi, after.alpha]):
        assert_array_equal(a, b)
    assert_array_equal(s.f[0], f[0])
    assert_array_equal(s.f[1], f[1])
    assert s.objective() == J and s.state.known_objective == J


def test_extrapolation_step_grows_to_its_cap_when_moves_are_kept():
    moves = CycleExtrapolation()
    s = _solver(True, seed=4)
    s.fit(2, 0.0)
    s.cycle_extrapolation = moves
    for _ in range(40):
        s.cycle()
    assert moves.n_accepted > 0 and MIN_STEP <= moves.step <= MAX_STEP


@pytest.mark.parametrize("options", [{"linear": True, "linear_regularization": 0.1},
                                     {"loss": "softmax"}, {"block_update": "auto"}])
def test_accelerated_fit_with_a_linear_term_softmax_or_exact_blocks_is_monotone(options):
    s = _solver(True, seed=6, **options)
    values = s.fit(15, 0.0).objective
    assert np.all(np.diff(values) <= 1e-12 * np.abs(values[:-1]))
    _products_match_the_designs(s)
    if s.linear:
        for L, w, h in zip(s.problem.linear_designs, s.W, s.state.h):
            assert_allclose(h, L @ w, rtol=1e-10, atol=1e-12)


def test_prox_linear_blocks_keep_their_own_extrapolation():
    s = _solver(True, block_update="prox-linear")
    fit = s.fit(5, 0.0)
    assert s.cycle_extrapolation is None and "extrapolate" not in fit.labels


def test_default_is_the_plain_schedule():
    s = _solver(None)
    fit = s.fit(3, 0.0)
    assert s.cycle_extrapolation is None and not s.problem.reuse_products
    assert "extrapolate" not in fit.labels


@pytest.mark.parametrize("consensus", [0.0, 0.7])
@pytest.mark.parametrize("kernels", [_cp, _kernels_numpy])
def test_squared_data_loss_is_the_squared_data_terms(kernels, consensus):
    rng = np.random.default_rng(1)
    f0, f1, Y = (rng.standard_normal((40, 5)) for _ in range(3))
    alpha = rng.random(5)
    F = f0 * alpha + f1 * (1 - alpha)
    want = np.sum((F - Y) ** 2) + consensus * (np.sum((f0 - Y) ** 2) + np.sum((f1 - Y) ** 2))
    assert_allclose(kernels.squared_data_loss(f0, f1, alpha, Y, consensus), want, rtol=1e-12)


def test_squared_data_loss_names_a_wrong_shape():
    f = np.zeros((4, 3))
    with pytest.raises(ValueError, match="alpha must have shape"):
        _cp.squared_data_loss(f, f, np.zeros(2), f, 1.0)


def test_accelerated_objective_is_the_default_objective():
    plain, fast = _solver(False), _solver(True)
    for s in (plain, fast):
        s.update_phi(0)
        s.update_alpha()
    assert_allclose(fast.objective(), plain.objective(), rtol=1e-13)


def _decaying_solver(**kw):
    """No consensus, fixed mixing: the CP part of modality a decays to zero."""
    rng = np.random.default_rng(20261129)
    Z = []
    for dims in ((4, 3), (5,)):
        views = []
        for d in dims:
            z = np.ones((40, d + 1))
            z[:, 1:] = rng.standard_normal((40, d))
            views.append(z)
        Z.append(views)
    Y = (rng.random((40, 3)) < 0.4).astype(float)
    s = CPSolver(Z, Y, 3, 0.05, 0.0, rng=np.random.default_rng(1), learn_mixing=False,
                 block_update="cg", **kw)
    s.set_state(Phi=[rng.standard_normal((3, 3)) for _ in range(2)],
                alpha=rng.uniform(0.1, 0.9, 3))
    s.initialize()
    return s


def test_a_decaying_cp_part_keeps_its_products_exact_and_j_monotone():
    # A CG step that cancels most of Z Theta leaves a rounding error large relative
    # to the new product, which the rescaling then blew up (J rose to 1e97): such
    # a product is recomputed from Z, and the fit ends where plain BCD does.
    plain, fast = _decaying_solver(accelerate=False), _decaying_solver(accelerate=True)
    J_plain = plain.fit(30, -np.inf).objective
    J_fast = fast.fit(30, -np.inf).objective
    assert np.max(np.diff(J_fast)) <= 1e-12 * abs(J_fast[0])
    assert_allclose(J_fast[-1], J_plain[-1], rtol=1e-9)
    assert fast.zero_cp == plain.zero_cp == [True, False]
    _products_match_the_designs(fast)


@given(n=st.integers(1, 12), d=st.integers(1, 6), rank=st.integers(1, 4),
       bad=st.sampled_from([None, "W", "Q", "Theta", "product", "out"]),
       seed=st.integers(0, 2**16))
def test_fuzz_block_operator_product(n, d, rank, bad, seed):
    # a clear ValueError naming the argument, or the NumPy twin's answer
    rng = np.random.default_rng(seed)
    shapes = {"W": (n, rank), "Q": (rank, rank), "Theta": (d, rank), "product": (n, rank),
              "out": (d, rank)}
    if bad is not None:
        shapes[bad] = (shapes[bad][0] + 1, shapes[bad][1])
    Z = rng.standard_normal((n, d))
    args = {k: rng.standard_normal(s) for k, s in shapes.items()}
    call = (Z, args["W"], args["Q"], 0.5, 0.1, args["Theta"], args["product"],
            np.empty((n, rank)), np.empty((n, rank)), args["out"])
    if bad is not None:
        with pytest.raises(ValueError, match=bad):
            _cp.block_operator_product(*call)
        return
    _cp.block_operator_product(*call)
    want, product = np.empty((d, rank)), np.empty((n, rank))
    _kernels_numpy.block_operator_product(*call[:6], product, None, None, want)
    assert_allclose(args["out"], want, rtol=1e-10, atol=1e-12)
    assert_allclose(args["product"], product, rtol=1e-10, atol=1e-12)


@given(n=st.integers(1, 12), p=st.integers(1, 5), consensus=st.sampled_from([0.0, 0.5, 2.0]),
       scale=st.sampled_from([1e-150, 1.0, 1e150]), seed=st.integers(0, 2**16))
def test_fuzz_squared_data_loss(n, p, consensus, scale, seed):
    rng = np.random.default_rng(seed)
    f0, f1, Y = (scale * rng.standard_normal((n, p)) for _ in range(3))
    alpha = rng.random(p)
    with np.errstate(over="ignore"):
        want = _kernels_numpy.squared_data_loss(f0, f1, alpha, Y, consensus)
        got = _cp.squared_data_loss(f0, f1, alpha, Y, consensus)
    assert_allclose(got, want, rtol=1e-10, atol=0)
