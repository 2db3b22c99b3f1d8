"""The explicit state of the multi-view solver: cached products never go stale.

``CPState`` caches the mixture F, the loss statistics of F and of each f_m and
J; the block solvers drop them through ``set_scores`` / ``set_alpha``. After
every block of a cycle, the cached quantities must equal those of a state
rebuilt from scratch from the same factors.
"""
import numpy as np
import pytest
from _multiview_helpers import problem
from numpy.testing import assert_allclose

from statoptim.multiview._losses import SoftmaxLoss, SquaredLoss, make_loss
from statoptim.multiview._solver import CPSolver


def _problem(seed):
    return problem(seed, n=50, dims=((3, 4), (5,)))


def _solver(Z, Y, loss, update, seed=0):
    return CPSolver(Z, Y, 3, 0.05, 0.5, block_update=update, loss=loss, linear=True,
                    linear_regularization=0.1, rng=np.random.default_rng(seed))


@pytest.mark.parametrize("loss", ["squared", "softmax"])
@pytest.mark.parametrize("update", ["exact", "cg", "prox-linear"])
def test_cached_quantities_match_a_rebuilt_state_after_every_block(loss, update):
    Z, Y = _problem(3)
    s = _solver(Z, Y, loss, update)
    checked = []

    def check(label):
        state = s.state
        fresh = _solver(Z, Y, loss, update)
        fresh.set_state(*s.get_state(), W=s.W)
        if state.known_objective is not None:
            assert_allclose(state.known_objective, fresh.objective(), rtol=1e-12)
        # the cached values are compared before the solver recomputes anything
        assert_allclose(state.mixture(), fresh.state.mixture(), rtol=1e-12, atol=1e-14)
        for key in ("mixture", 0, 1):
            got = state.loss_stats(s.loss, key)
            want = fresh.state.loss_stats(fresh.loss, key)
            if want is not None:
                for g, w in zip(got, want):
                    assert_allclose(g, w, rtol=1e-11, atol=1e-13)
        for m in range(2):
            assert_allclose(state.f[m], fresh.f[m], rtol=1e-12, atol=1e-13)
        assert_allclose(s.objective(), fresh.objective(), rtol=1e-12)
        checked.append(label)

    for _ in range(3):
        s.cycle(0.0, check)
    assert len(checked) >= 3 * len(s.block_labels())  # (+ balance: cycle() outside fit)


def test_setting_alpha_drops_the_cached_mixture():
    Z, Y = _problem(1)
    s = _solver(Z, Y, "softmax", "exact")
    s.set_state(Phi=[np.random.default_rng(2).standard_normal((3, 3)) for _ in range(2)])
    J = s.objective()
    s.alpha = np.full(3, 0.9)
    assert_allclose(s.state.mixture(), s.f[0] * 0.9 + s.f[1] * (1.0 - 0.9), rtol=0)
    assert s.objective() != J


@pytest.mark.parametrize("cls", [SquaredLoss, SoftmaxLoss])
def test_loss_value_gradient_and_working_response_agree(cls):
    rng = np.random.default_rng(0)
    Y = (rng.random((20, 4)) < 0.4).astype(float)
    loss = cls(Y)
    f = rng.standard_normal(Y.shape)
    stats = loss.stats(f)
    assert loss.value(f, stats) == loss.value(f)
    assert_allclose(loss.gradient(f, stats), loss.gradient(f), rtol=0, atol=0)
    h = 1e-6
    fd = np.zeros_like(f)
    for idx in np.ndindex(f.shape):
        fp, fm = f.copy(), f.copy()
        fp[idx] += h
        fm[idx] -= h
        fd[idx] = (loss.value(fp) - loss.value(fm)) / (2 * h)
    assert_allclose(loss.gradient(f), fd, rtol=1e-6, atol=1e-8)
    for curvature in (0.25, 0.01):
        a, Yw = loss.working(f, curvature)
        assert_allclose(2 * a * (f - Yw), loss.gradient(f), rtol=1e-10, atol=1e-13)


@pytest.mark.parametrize("bad", ["hinge", ["squared"], None])
def test_unknown_loss_is_a_value_error_naming_the_argument(bad):
    with pytest.raises(ValueError, match="loss must be 'squared' or 'softmax'"):
        make_loss(bad, np.zeros((2, 2)))
    with pytest.raises(ValueError, match="loss must be 'squared' or 'softmax'"):
        CPSolver(*_problem(0), 2, 0.1, 0.0, loss=bad)
