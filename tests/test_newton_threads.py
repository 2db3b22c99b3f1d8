"""Row blocks on threads for the logistic Hessian and gradient (issue 17, part 2).

The block split depends only on the size of X, and the pieces are added in block
order: Newton's and L-BFGS's answers are bit for bit the same for any n_threads,
and agree with the one-block (unsplit) computation to rounding. The block sizes
are shrunk here so that small arrays split into many blocks.
"""
import threading
import time

import numpy as np
import pytest
from numpy.testing import assert_allclose, assert_array_equal
from reference_optim import ref_objective

import statoptim.optim._logistic_loss as loss_mod
from statoptim._threads import reduce_blocks, row_blocks
from statoptim.datasets import make_logistic
from statoptim.optim._logistic_loss import _objective, logistic_hessian
from statoptim.optim._newton import lbfgs_core, newton_core, newton_logistic


@pytest.fixture
def small_blocks(monkeypatch):
    """Blocks of 64 rows (Hessian) and about 100 rows (gradient) at p = 5."""
    monkeypatch.setattr(loss_mod, "_CHUNK", 16)
    monkeypatch.setattr(loss_mod, "_HESSIAN_BLOCK_WORK", 64 * 36)
    monkeypatch.setattr(loss_mod, "_OBJECTIVE_BLOCK_WORK", 100 * 6)


def _problem(n=1500, p=5, seed=0, dtype=np.float64):
    X, y, _ = make_logistic(n, p, random_state=seed)
    return np.ascontiguousarray(X, dtype=dtype), y.astype(np.float64)


def _weights(n, seed=1):
    sw = np.random.default_rng(seed).exponential(size=n)
    sw[::7] = 0.0  # rows of weight 0 are absent
    return sw / sw.mean()


def test_small_problems_are_one_block_and_large_ones_split():
    # the estimator's small fits run the unsplit code; 2e5 x 100 is split
    assert len(row_blocks(1000, 21 * 21, loss_mod._HESSIAN_BLOCK_WORK, loss_mod._CHUNK)) == 2
    assert len(row_blocks(1000, 21, loss_mod._OBJECTIVE_BLOCK_WORK)) == 2
    assert len(row_blocks(200_000, 101 * 101, loss_mod._HESSIAN_BLOCK_WORK,
                          loss_mod._CHUNK)) > 10
    assert len(row_blocks(200_000, 101, loss_mod._OBJECTIVE_BLOCK_WORK)) > 5


@pytest.mark.parametrize("n_rows, align", [(1, 1), (5, 3), (1000, 16), (4097, 4096)])
def test_row_blocks_cover_the_rows_in_aligned_order(n_rows, align):
    bounds = row_blocks(n_rows, 7, 50, align=align)
    assert bounds[0] == 0 and bounds[-1] == n_rows
    assert all(a < b for a, b in zip(bounds, bounds[1:]))
    assert all(b % align == 0 for b in bounds[:-1])


@pytest.mark.parametrize("n_threads", [1, 2, 3])
@pytest.mark.parametrize("weighted", [False, True])
@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_threaded_hessian_equals_the_numpy_gram(small_blocks, n_threads, weighted, dtype):
    X, _ = _problem(dtype=dtype)
    n = X.shape[0]
    theta = np.linspace(-1.0, 1.0, 6)
    sw = _weights(n) if weighted else None
    rows = np.sort(np.random.default_rng(2).choice(n, 900, replace=False))
    assert len(row_blocks(900, 36, loss_mod._HESSIAN_BLOCK_WORK, 16)) > 10
    Xt = np.column_stack([np.ones(n), X.astype(np.float64)])[rows]
    pi = 1.0 / (1.0 + np.exp(-Xt @ theta))
    w = pi * (1.0 - pi) * (1.0 if sw is None else sw[rows])
    ref = Xt.T @ (w[:, None] * Xt) / (900 if sw is None else sw[rows].sum())
    ref[1:, 1:] += 0.3 * np.eye(5)
    H = logistic_hessian(X, theta, 0.3, rows=rows, sw=sw, n_threads=n_threads)
    assert H.flags.f_contiguous
    assert_allclose(H, ref, rtol=1e-12, atol=1e-15)  # both triangles
    assert_array_equal(H, logistic_hessian(X, theta, 0.3, rows=rows, sw=sw, n_threads=1))


@pytest.mark.parametrize("pen", [0.0, 0.2, "per-coefficient"])
def test_blocked_gradient_equals_the_reference_and_any_thread_count(small_blocks, pen):
    X, y = _problem()
    sw = _weights(X.shape[0])
    theta = np.linspace(-2.0, 2.0, 6)
    pen = np.linspace(0.1, 0.5, 5) if isinstance(pen, str) else pen
    grads = [np.empty(6) for _ in range(3)]
    values = [_objective(X, y, theta, pen, g, sw, n_threads=k)
              for g, k in zip(grads, (1, 2, 4))]
    assert values[0] == values[1] == values[2]
    assert_array_equal(grads[0], grads[1])
    assert_array_equal(grads[0], grads[2])
    # the reference: weighted mean log-loss plus the ridge
    eta = theta[0] + X @ theta[1:]
    loss = sw * (np.logaddexp(0.0, eta) - y * eta)
    r = sw * (1.0 / (1.0 + np.exp(-eta)) - y)
    F_ref = loss.mean() + 0.5 * float(np.sum(pen * theta[1:] ** 2))
    g_ref = np.concatenate([[r.mean()], X.T @ r / X.shape[0] + pen * theta[1:]])
    assert_allclose(values[0][0], F_ref, rtol=1e-13)
    assert_allclose(grads[0], g_ref, rtol=1e-11, atol=1e-15)
    assert values[0][1] == pytest.approx(np.abs(eta[sw > 0]).max(), rel=1e-14)


def test_blocked_objective_matches_the_unweighted_reference(small_blocks):
    X, y = _problem(700, 5, seed=3)
    theta = np.linspace(-1.0, 2.0, 6)
    F, _ = _objective(X, y, theta, 0.2, g := np.empty(6), None, 2)
    F_ref, g_ref, _ = ref_objective(X, y, theta, 0.2)
    assert_allclose(F, F_ref, rtol=1e-13)
    assert_allclose(g, g_ref, rtol=1e-11, atol=1e-15)


def test_newton_gives_the_same_answer_for_any_n_threads(small_blocks, monkeypatch):
    X, y = _problem(2000, 5, seed=4)
    fits = [newton_logistic(X, y, 1e-3, tol=1e-14, n_threads=k) for k in (1, 2, 3, 64)]
    for theta, info in fits[1:]:
        assert_array_equal(theta, fits[0][0])
        assert info["loss_curve"] == fits[0][1]["loss_curve"]
    # one block (the unsplit code): the same optimum to rounding
    monkeypatch.setattr(loss_mod, "_HESSIAN_BLOCK_WORK", 1 << 60)
    monkeypatch.setattr(loss_mod, "_OBJECTIVE_BLOCK_WORK", 1 << 60)
    theta1, _ = newton_logistic(X, y, 1e-3, tol=1e-14, n_threads=2)
    assert_allclose(fits[0][0], theta1, rtol=1e-9, atol=1e-12)


def test_weighted_newton_core_and_lbfgs_core_do_not_depend_on_n_threads(small_blocks):
    X, y = _problem(1200, 5, seed=5)
    sw = _weights(X.shape[0], seed=6)
    kw = dict(tol=1e-12, max_iter=50, theta0=None, separation_check=True,
              hessian_subsample=300, rng=None, callback=None, sw=sw)
    a = newton_core(X, y, 1e-3, 1e-3, None, n_threads=1,
                    **{**kw, "rng": np.random.default_rng(0)})
    b = newton_core(X, y, 1e-3, 1e-3, None, n_threads=2,
                    **{**kw, "rng": np.random.default_rng(0)})
    assert_array_equal(a[0], b[0])
    assert a[1]["converged"] and a[1]["n_iter"] == b[1]["n_iter"]
    c = lbfgs_core(X, y, 1e-3, None, tol=1e-10, max_iter=200, sw=sw, n_threads=1)
    d = lbfgs_core(X, y, 1e-3, None, tol=1e-10, max_iter=200, sw=sw, n_threads=2)
    assert_array_equal(c[0], d[0])
    assert_allclose(c[0], a[0], rtol=1e-5, atol=1e-7)


@pytest.mark.parametrize("bad", [0, -1, 1.5, "2", True, np.float64(2.0)])
def test_bad_n_threads_is_a_clear_error(bad):
    X, y = _problem(50, 2)
    with pytest.raises(ValueError, match="n_threads must be None or an integer >= 1"):
        newton_logistic(X, y, 1e-2, n_threads=bad)


def test_reduce_blocks_combines_in_block_order_whatever_the_scheduling():
    def piece(b):
        time.sleep(0.002 * ((7 * b) % 5))  # later blocks often finish first
        return [b]

    for n_threads in (1, 2, 4):
        assert reduce_blocks(piece, 23, n_threads, lambda t, p: t + p) == list(range(23))


@pytest.mark.parametrize("n_threads", [1, 2, 3])
def test_reduce_blocks_raises_a_block_error_in_the_caller(n_threads):
    def piece(b):
        if b == 3:
            raise ValueError("block 3")
        time.sleep(0.001)
        return b

    with pytest.raises(ValueError, match="block 3"):
        reduce_blocks(piece, 40, n_threads, lambda t, p: t + p)
    assert reduce_blocks(lambda b: b, 5, n_threads, lambda t, p: t + p) == 10  # still works


def test_reduce_blocks_does_not_wait_for_a_stalled_helper():
    # a helper descheduled in the middle of a block: the caller computes that block
    # itself after about one block's time instead of waiting for it
    caller = threading.get_ident()
    release = threading.Event()

    def piece(b):
        if threading.get_ident() != caller:
            release.wait(10.0)  # the helper stalls until the test ends
        else:
            time.sleep(0.002)
        return [b]

    try:
        t0 = time.perf_counter()
        assert reduce_blocks(piece, 12, 2, lambda t, p: t + p) == list(range(12))
        assert time.perf_counter() - t0 < 5.0
    finally:
        release.set()


def test_reduce_blocks_works_in_a_forked_child(isolated):
    # the parent's pool threads do not exist after a fork: the child needs its own pool
    proc = isolated("""
import multiprocessing as mp
from statoptim._threads import reduce_blocks
add = lambda t, p: t + p
assert reduce_blocks(lambda b: b, 8, 2, add) == 28
def child(q):
    q.put(reduce_blocks(lambda b: b, 8, 2, add))
ctx = mp.get_context("fork")
q = ctx.Queue()
p = ctx.Process(target=child, args=(q,))
p.start()
assert q.get(timeout=20) == 28
p.join(20)
assert p.exitcode == 0
""", timeout=60)
    assert proc.returncode == 0, proc.stderr


@pytest.mark.parametrize("solver", ["newton", "lbfgs"])
def test_logistic_regression_n_threads_gives_the_same_bits(solver):
    """LogisticRegression(n_threads=) reaches the row-block passes; the answer does not
    depend on it, and a bad value is refused naming the argument."""
    from statoptim import LogisticRegression

    rng = np.random.default_rng(3)
    X = rng.standard_normal((60_000, 40))
    y = (X[:, 0] + rng.logistic(size=60_000) > 0).astype(float)
    fits = [LogisticRegression(solver, alpha=1e-3, n_threads=k).fit(X, y) for k in (1, 2)]
    assert fits[0].get_params()["n_threads"] == 1
    assert np.array_equal(fits[0].coef_, fits[1].coef_)
    assert np.array_equal(fits[0].intercept_, fits[1].intercept_)
    with pytest.raises(ValueError, match="n_threads"):
        LogisticRegression(solver, n_threads=0).fit(X[:100], y[:100])
