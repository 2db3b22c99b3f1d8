"""statoptim.optim: kernels against plain-NumPy references, solvers against Newton and
SciPy, seeding, separation, the estimator contract, bad input and the IDX loader."""
import gzip
import warnings

import numpy as np
import pytest
from numpy.testing import assert_allclose, assert_array_equal
from reference_optim import RefOptimizer, ref_epochs, ref_objective, ref_torch_heavy_ball
from scipy.optimize import minimize as scipy_minimize
from sklearn.exceptions import ConvergenceWarning
from sklearn.utils.estimator_checks import parametrize_with_checks
from statoptim.optim._sgd_fast import apply_update

from statoptim import LogisticRegression
from statoptim import optim as so
from statoptim.datasets import (
    load_digits_0v6,
    load_mnist,
    make_logistic,
    mnist_binary,
    read_idx,
)
from statoptim.optim import SeparationWarning, check_separation, logistic_objective
from statoptim.optim._common import method_hyper
from statoptim.optim._newton import logistic_hessian, newton_logistic


def _problem(n=1000, p=19, seed=0):
    X, y, beta = make_logistic(n, p, random_state=seed)
    return X, y.astype(np.float64), beta


def _gap(X, y, theta, alpha, F_star):
    return (logistic_objective(X, y, theta, alpha)[0] - F_star) / F_star


def _theta(est):
    return np.concatenate([est.intercept_, est.coef_[0]])


# --------------------------------------------------------------- objective
@pytest.mark.parametrize("scale", [0.5, 300.0])  # 300: |eta| up to ~800
@pytest.mark.parametrize("alpha", [0.0, 0.3])
def test_gradient_and_hessian_match_finite_differences(scale, alpha):
    rng = np.random.default_rng(1)
    X = rng.standard_normal((60, 4))
    y = (rng.random(60) < 0.5).astype(float)
    theta = rng.standard_normal(5) * scale
    F, g, max_eta = logistic_objective(X, y, theta, alpha)
    assert np.isfinite(F) and np.all(np.isfinite(g))
    if scale > 1:
        assert max_eta > 400
    h = 1e-3 * max(1.0, scale / 10)
    fd = np.empty(5)
    for j in range(5):
        e = np.zeros(5)
        e[j] = h
        f = [logistic_objective(X, y, theta + k * e, alpha)[0] for k in (-2, -1, 1, 2)]
        fd[j] = (f[0] - 8 * f[1] + 8 * f[2] - f[3]) / (12 * h)
    assert_allclose(g, fd, rtol=1e-7, atol=1e-9 * max(1.0, abs(F)))
    Fr, gr, Hr = ref_objective(X, y, theta, alpha)
    assert_allclose(F, Fr, rtol=1e-12)
    assert_allclose(g, gr, rtol=1e-10, atol=1e-13)
    H = logistic_hessian(X, theta, alpha)
    assert_allclose(np.triu(H), np.triu(Hr), rtol=1e-10, atol=1e-14)
    # Hessian columns against finite differences of the gradient
    for j in range(5):
        e = np.zeros(5)
        e[j] = 1e-5
        col = (logistic_objective(X, y, theta + e, alpha)[1]
               - logistic_objective(X, y, theta - e, alpha)[1]) / 2e-5
        H_full = np.triu(H) + np.triu(H, 1).T
        assert_allclose(H_full[:, j], col, rtol=1e-5, atol=1e-8)


def test_intercept_is_not_penalised():
    X, y, _ = _problem(50, 3)
    theta = np.array([0.7, 0.1, -0.2, 0.3])
    d = np.array([1.0, 0, 0, 0])
    F0 = logistic_objective(X, y, theta + d, 0.0)[0]
    F1 = logistic_objective(X, y, theta + d, 5.0)[0]
    Fb0 = logistic_objective(X, y, theta, 0.0)[0]
    Fb1 = logistic_objective(X, y, theta, 5.0)[0]
    assert_allclose(F1 - F0, Fb1 - Fb0, rtol=1e-12)  # moving beta_0 leaves the penalty alone
    assert_allclose(Fb1 - Fb0, 2.5 * np.sum(theta[1:] ** 2), rtol=1e-12)


def test_float32_objective_accumulates_in_float64():
    X, y, _ = _problem(300, 7)
    X32 = X.astype(np.float32)
    theta = np.linspace(-1, 1, 8)
    F32, g32, _ = logistic_objective(X32, y, theta, 0.1)
    Fr, gr, _ = ref_objective(X32.astype(np.float64), y, theta, 0.1)
    assert_allclose(F32, Fr, rtol=1e-12)
    assert_allclose(g32, gr, rtol=1e-10, atol=1e-14)


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@pytest.mark.parametrize("block_rows", [1, 7, 300, 1000])
def test_blocked_objective_matches_reference(monkeypatch, dtype, block_rows):
    import statoptim.optim._logistic_loss as newton_mod

    X, y, _ = _problem(300, 7, seed=4)  # 300 = 42 blocks of 7 + a remainder of 6
    X = X.astype(dtype)
    monkeypatch.setattr(newton_mod, "_BLOCK_VALUES", block_rows * 8)
    assert newton_mod._work(X).shape[0] == min(block_rows, 300) * 8
    theta = np.linspace(-2, 2, 8) * 3
    F, g, max_eta = logistic_objective(X, y, theta, 0.2)
    Fr, gr, _ = ref_objective(X.astype(np.float64), y, theta, 0.2)
    assert_allclose(F, Fr, rtol=1e-12)
    assert_allclose(g, gr, rtol=1e-10, atol=1e-14)
    eta = theta[0] + X.astype(np.float64) @ theta[1:]
    assert max_eta == pytest.approx(np.abs(eta).max(), rel=1e-12)


def test_objective_kernel_rejects_too_small_scratch():
    from statoptim.optim._sgd_fast import logistic_loss_grad

    X, y, _ = _problem(20, 3)
    with pytest.raises(ValueError, match="work must hold"):
        logistic_loss_grad(X, y, np.zeros(4), 0.0, np.empty(4), np.empty(3))


# --------------------------------------------------------- update rules
def _grad_sequence(n_coef=5, T=60, seed=3):
    rng = np.random.default_rng(seed)
    G = rng.standard_normal((T, n_coef))
    G[5] = 0.0
    G[10, :2] = 1e-20
    G[11, 2] = 1e8
    G[12:20] *= np.where(np.arange(8) % 2 == 0, 1.0, -1.0)[:, None]  # sign flips
    G[25:30, 3] = 0.0  # a rarely active coordinate
    return G


VARIANTS = [
    ("sgd", {}), ("momentum", {}), ("momentum", {"nesterov": True}),
    ("momentum", {"momentum": 0.0}), ("rmsprop", {}), ("rmsprop", {"eps_inside": True}),
    ("adam", {}), ("adam", {"amsgrad": True}), ("adam", {"adam_form": "efficient"}),
    ("adam", {"adam_form": "constant_eps_hat"}),
    ("adam", {"adam_form": "efficient", "amsgrad": True}), ("adamax", {}),
]


def _hyper(method, kw):
    full = dict(momentum=0.9, nesterov=False, rho=0.9, beta1=0.9, beta2=0.999, eps=1e-8,
                amsgrad=False, eps_inside=False, adam_form="algorithm1")
    full.update(kw)
    return method_hyper(method, **full)


@pytest.mark.parametrize("method,kw", VARIANTS)
def test_update_matches_numpy_reference(method, kw):
    G = _grad_sequence()
    code, flags, form, b1, b2, eps = _hyper(method, kw)
    theta = np.linspace(-1, 1, 5)
    state = np.zeros((3, 5))
    ref = RefOptimizer(method, 5, **kw)
    theta_ref = theta.copy()
    lrs = 0.01 / np.sqrt(np.arange(1, len(G) + 1))
    for t, g in enumerate(G, start=1):
        apply_update(code, flags, form, b1, b2, eps, t, lrs[t - 1], g, theta,
                     state[0], state[1], state[2])
        theta_ref = ref.step(theta_ref, g, lr=lrs[t - 1])
        assert_allclose(theta, theta_ref, rtol=1e-12, atol=0)
    assert np.all(np.isfinite(theta))


def test_optimizer_objects_match_reference_and_keep_t():
    G = _grad_sequence()
    for cls, method, kw in [(so.SGD, "sgd", {}), (so.Momentum, "momentum", {"nesterov": True}),
                            (so.RMSprop, "rmsprop", {"eps_inside": True}),
                            (so.Adam, "adam", {"amsgrad": True}), (so.Adamax, "adamax", {})]:
        opt = cls(0.05, schedule="invsqrt", **kw)
        ref = RefOptimizer(method, 5, **kw)
        x = np.zeros(5)
        xr = np.zeros(5)
        for t, g in enumerate(G, start=1):
            opt.step(x, g)
            xr = ref.step(xr, g, lr=0.05 / np.sqrt(t))
        assert opt.t == len(G)
        assert_allclose(x, xr, rtol=1e-12, atol=0)


def test_ema_momentum_equals_torch_heavy_ball():
    G = _grad_sequence()
    mu, a = 0.9, 0.02
    opt = so.Momentum(a, momentum=mu)
    x = np.zeros(5)
    path = []
    for g in G:
        path.append(opt.step(x, g).copy())
    assert_allclose(np.array(path), ref_torch_heavy_ball(G, np.zeros(5), a * (1 - mu), mu),
                    rtol=1e-12, atol=1e-15)


def test_adam_algorithm1_equals_efficient_form_up_to_rounding():
    G = _grad_sequence(T=200)
    xa, xe = np.zeros(5), np.zeros(5)
    a, e = so.Adam(1e-2), so.Adam(1e-2, adam_form="efficient")
    for g in G:
        a.step(xa, g)
        e.step(xe, g)
    assert_allclose(xa, xe, rtol=1e-12)
    # the constant-eps_hat form differs early, where sqrt(v_hat) is comparable to eps
    xc = np.zeros(5)
    c = so.Adam(1e-2, adam_form="constant_eps_hat", eps=1e-3)
    xa2 = np.zeros(5)
    a2 = so.Adam(1e-2, eps=1e-3)
    for g in G[:5] * 1e-3:
        c.step(xc, g)
        a2.step(xa2, g)
    assert not np.allclose(xc, xa2, rtol=1e-6)


def test_amsgrad_vmax_never_decreases():
    G = _grad_sequence()
    G[30:] *= 1e-3  # v_t falls after the large gradients
    opt = so.Adam(1e-3, amsgrad=True)
    x = np.zeros(5)
    prev = np.zeros(5)
    for g in G:
        opt.step(x, g)
        vmax = opt._state[2]
        assert np.all(vmax >= prev) and np.all(vmax >= opt._state[1])
        prev = vmax.copy()


def test_rmsprop_first_step_is_about_3_alpha():
    x = np.zeros(3)
    so.RMSprop(1e-3, rho=0.9).step(x, np.array([2.0, -0.5, 1e-3]))
    assert_allclose(x, -1e-3 * np.sign([2.0, -0.5, 1e-3]) / np.sqrt(0.1), rtol=1e-4)


# ------------------------------------------------------------ the epoch kernel
def _ref_orders(shuffle, n, b, n_epochs, seed):
    """Row orders of ``n_epochs`` epochs, built here independently of the package."""
    rng = np.random.default_rng(seed)
    orders = []
    for _ in range(n_epochs):
        if shuffle in (True, "rows"):
            orders.append(rng.permutation(n))
        elif shuffle == "batches":  # whole blocks of b rows in random order, remainder last
            blocks = rng.permutation(n // b)
            orders.append(np.concatenate([np.arange(k * b, (k + 1) * b) for k in blocks]
                                         + [np.arange(n // b * b, n)]))
        else:
            orders.append(np.arange(n))
    return orders


@pytest.mark.parametrize("dtype,rtol", [(np.float64, 1e-12), (np.float32, 1e-12)])
@pytest.mark.parametrize("method,kw", [("sgd", {}), ("momentum", {"nesterov": True}),
                                       ("rmsprop", {}), ("adam", {"amsgrad": True})])
@pytest.mark.parametrize("average", [None, "polyak", "ema"])
@pytest.mark.parametrize("shuffle", [True, "batches", False])
def test_epoch_kernel_matches_reference(dtype, rtol, method, kw, average, shuffle):
    X, y, _ = _problem(103, 6, seed=2)  # 103 rows: a remainder batch of 103 mod 16 = 7
    X = X.astype(dtype)
    est = LogisticRegression(method, alpha=0.05, learning_rate=0.05, batch_size=16,
                             schedule="invsqrt", average=average or False, stopping=None,
                             max_iter=3, random_state=7, shuffle=shuffle, **kw).fit(X, y)
    orders = _ref_orders(shuffle, 103, 16, 3, 7)
    ref = RefOptimizer(method, 7, lr=0.05, **kw)
    # the reference reads the same float32-rounded X, in float64
    _, rep = ref_epochs(X.astype(np.float64), y, 0.05, orders, 16, ref,
                        lambda t: 0.05 / np.sqrt(t), average=average)
    assert est.t_ == 3 * 7 and est.n_iter_ == 3
    assert_allclose(_theta(est), rep, rtol=rtol, atol=1e-14)


def test_schedule_callable_and_t_continues_across_partial_fit():
    X, y, _ = _problem(64, 3)
    seen = []

    def sched(t):
        seen.append(t)
        return 0.1 / (1 + t)

    est = LogisticRegression("sgd", batch_size=16, schedule=sched, random_state=0)
    for _ in range(3):
        est.partial_fit(X, y)
    assert seen == list(range(1, 13)) and est.t_ == 12 and est.n_iter_ == 3


# ------------------------------------------------------------- convergence
@pytest.fixture(scope="module")
def strongly_convex():
    X, y, _ = _problem(1000, 19, seed=0)
    alpha = 1e-2
    theta, info = newton_logistic(X, y, alpha, tol=1e-24)  # F*: ||grad||_inf ~ 1e-16
    assert info["grad_inf"] <= 1e-12
    return X, y, alpha, theta, info["loss_curve"][-1]


def test_newton_matches_scipy(strongly_convex):
    X, y, alpha, theta, F_star = strongly_convex
    res = scipy_minimize(lambda th: ref_objective(X, y, th, alpha)[:2], np.zeros(20),
                         jac=True, hess=lambda th: ref_objective(X, y, th, alpha)[2],
                         method="trust-exact", options={"gtol": 1e-13})
    assert_allclose(theta, res.x, rtol=0, atol=1e-8)
    assert ref_objective(X, y, theta, alpha)[0] <= res.fun + 1e-14
    assert np.abs(ref_objective(X, y, theta, alpha)[1]).max() < 1e-10
    est = LogisticRegression(alpha=alpha).fit(X, y)  # default tol=1e-10: F to ~1e-10
    F_est = logistic_objective(X, y, _theta(est), alpha)[0]
    assert 0 <= (F_est - F_star) / F_star <= 1e-10
    est = LogisticRegression(alpha=alpha, tol=1e-24).fit(X, y)
    assert_allclose(_theta(est), theta, rtol=0, atol=1e-12)
    # unpenalised Newton: the score equations hold
    est0 = LogisticRegression(alpha=0.0, tol=1e-24).fit(X, y)
    assert np.abs(ref_objective(X, y, _theta(est0), 0.0)[1]).max() < 1e-10


def test_lbfgs_starts_at_the_intercept_only_optimum():
    X, y, _ = _problem(200, 4, seed=5)
    y = (y * (np.arange(200) % 3 > 0)).astype(float)  # unbalanced classes
    est = LogisticRegression("lbfgs", alpha=0.1, tol=1e-6).fit(X, y)
    start = np.zeros(5)
    start[0] = np.log(y.mean() / (1 - y.mean()))
    F0, g0, _ = logistic_objective(X, y, start, 0.1)
    assert est.loss_curve_[0] == pytest.approx(F0, rel=1e-14)
    assert abs(g0[0]) < 1e-14  # the intercept is already optimal there
    assert est.loss_curve_[0] < logistic_objective(X, y, np.zeros(5), 0.1)[0]


def test_lbfgs_and_subsampled_newton_reach_the_same_optimum(strongly_convex):
    X, y, alpha, theta_star, F_star = strongly_convex
    est = LogisticRegression("lbfgs", alpha=alpha, tol=1e-9).fit(X, y)
    assert est.grad_inf_ <= 1e-8  # ~1e-9 is where F stops decreasing in float64
    assert_allclose(_theta(est), theta_star, rtol=0, atol=1e-6)
    # the Hessian from 300 of 1000 rows: exact gradient, so the same fixed point
    est = LogisticRegression(alpha=alpha, hessian_subsample=300, tol=1e-24, max_iter=60,
                             random_state=0).fit(X, y)
    # 1e-8: the line search stops once F no longer decreases in float64 (|F - F*| ~ 1e-17)
    assert_allclose(_theta(est), theta_star, rtol=0, atol=1e-8)
    assert est.n_iter_ > 5  # linear rather than quadratic convergence
    est = LogisticRegression(alpha=alpha, tol=1e-24).fit(X.astype(np.float32), y)
    theta32, _ = newton_logistic(X.astype(np.float32).astype(np.float64), y, alpha, tol=1e-24)
    assert_allclose(_theta(est), theta32, rtol=0, atol=1e-12)  # float32 storage, float64 sums
    with pytest.warns(ConvergenceWarning, match="lbfgs did not converge"):
        LogisticRegression("lbfgs", alpha=alpha, max_iter=2).fit(X, y)


def test_warm_start_finishes_a_stochastic_fit(strongly_convex):
    X, y, alpha, theta_star, F_star = strongly_convex
    est = LogisticRegression("momentum", alpha=alpha, learning_rate=1.0, max_iter=2,
                             stopping=None, random_state=0).fit(X, y)
    start = _theta(est)
    cold = LogisticRegression(alpha=alpha, tol=1e-20).fit(X, y)
    est.set_params(solver="newton", warm_start=True, tol=1e-20, max_iter=None).fit(X, y)
    assert_allclose(_theta(est), theta_star, rtol=0, atol=1e-9)
    assert est.n_iter_ < cold.n_iter_  # it did start from the stochastic iterate
    assert est.loss_curve_[0] == pytest.approx(logistic_objective(X, y, start, alpha)[0],
                                               rel=1e-12)
    est.set_params(solver="lbfgs").fit(X, y)  # already optimal: L-BFGS stops at once
    assert est.n_iter_ <= 2


@pytest.mark.parametrize("method,lr", [("sgd", 3.0), ("momentum", 3.0), ("rmsprop", 0.1),
                                       ("adam", 0.1)])
def test_decaying_steps_with_averaging_reach_newton_optimum(strongly_convex, method, lr):
    X, y, alpha, theta_star, F_star = strongly_convex
    gaps = []
    for epochs in (100, 200):
        est = LogisticRegression(method, alpha=alpha, learning_rate=lr, schedule="invsqrt",
                                 average=True, stopping=None, max_iter=epochs,
                                 random_state=0).fit(X, y)
        gaps.append(_gap(X, y, _theta(est), alpha, F_star))
    assert 0 <= gaps[0] <= 1e-4  # budget set from the NumPy reference (r ~ 1e-5 there)
    assert gaps[1] < gaps[0]
    assert np.linalg.norm(_theta(est) - theta_star) < 2e-2


def test_full_batch_gd_converges_linearly(strongly_convex):
    X, y, alpha, theta_star, F_star = strongly_convex
    n = X.shape[0]
    Xt = np.column_stack([np.ones(n), X])
    L = np.linalg.eigvalsh(Xt.T @ Xt / n).max() / 4 + alpha
    est = LogisticRegression("sgd", alpha=alpha, learning_rate=1 / L, batch_size=n,
                             shuffle=False, stopping=None, max_iter=400).fit(X, y)
    gaps = np.array(est.loss_curve_) - F_star
    assert np.all(np.diff(gaps) <= 1e-15)
    assert gaps[-1] < 1e-8 * F_star
    k = int(np.argmax(gaps < 1e-10))  # before rounding noise sets in
    assert k > 20
    rate = (gaps[k] / gaps[k // 2]) ** (1 / (k - k // 2))
    assert rate < 0.97  # geometric decrease


def test_constant_step_floor_shrinks_with_step(strongly_convex):
    X, y, alpha, _, F_star = strongly_convex
    floors = []
    for lr in (1.0, 0.1):
        est = LogisticRegression("sgd", alpha=alpha, learning_rate=lr, stopping=None,
                                 max_iter=150, random_state=1).fit(X, y)
        floors.append(np.median((np.array(est.loss_curve_[-30:]) - F_star) / F_star))
    assert floors[1] < floors[0] / 10


def test_grad_stopping_rule_and_convergence_warning(strongly_convex):
    X, y, alpha, _, _ = strongly_convex
    est = LogisticRegression("adam", alpha=alpha, learning_rate=0.1, schedule="invsqrt",
                             average=True, tol=1e-3, max_iter=100, random_state=0).fit(X, y)
    assert est.n_iter_ < 100 and est.grad_inf_ <= 1e-3
    with pytest.warns(ConvergenceWarning, match=r"max_iter=3 epochs.*\|\|grad F\|\|_inf"):
        LogisticRegression("sgd", alpha=alpha, max_iter=3, random_state=0).fit(X, y)
    with pytest.warns(ConvergenceWarning, match="max_iter=1 iterations"):
        LogisticRegression(alpha=alpha, max_iter=1).fit(X, y)
    est = LogisticRegression("sgd", alpha=alpha, stopping="loss", tol=1e-2, learning_rate=0.5,
                             random_state=0).fit(X, y)
    assert est.n_iter_ < 100


# ----------------------------------------------------------------- seeding
def test_same_seed_same_fit_any_layout():
    X, y, _ = _problem(300, 5)
    kw = dict(solver="adam", learning_rate=0.05, batch_size=32, stopping=None, max_iter=5)
    a = LogisticRegression(**kw, random_state=3).fit(X, y)
    b = LogisticRegression(**kw, random_state=3).fit(np.asfortranarray(X), y)
    Xr = X.copy()
    Xr.flags.writeable = False
    c = LogisticRegression(**kw, random_state=3).fit(Xr, y)
    for other in (b, c):
        assert_array_equal(a.coef_, other.coef_)
        assert_array_equal(a.loss_curve_, other.loss_curve_)
    d = LogisticRegression(**kw, random_state=4).fit(X, y)
    assert not np.array_equal(a.coef_, d.coef_)
    # partial_fit epochs equal fit epochs
    p = LogisticRegression(**kw, random_state=3)
    for _ in range(5):
        p.partial_fit(X, y, classes=[0, 1])
    assert_array_equal(a.coef_, p.coef_)
    assert p.t_ == a.t_
    # a Generator is used as given, not reseeded
    gen = np.random.default_rng(11)
    e1 = LogisticRegression(**kw, random_state=gen).fit(X, y)
    e2 = LogisticRegression(**kw, random_state=gen).fit(X, y)
    assert not np.array_equal(e1.coef_, e2.coef_)


def test_batch_shuffle_visits_contiguous_blocks_once_per_epoch():
    from statoptim.optim._common import epoch_order

    rng = np.random.default_rng(5)
    for n, b in [(103, 16), (96, 16), (10, 32), (1, 1)]:
        orders = [epoch_order(n, b, "batches", rng) for _ in range(4)]
        for order in orders:
            assert order.dtype == np.intp
            assert_array_equal(np.sort(order), np.arange(n))  # every row once per epoch
            bb = min(b, n)
            for k in range(-(-n // bb)):
                block = order[k * bb:(k + 1) * bb]
                assert block[0] % bb == 0 and np.all(np.diff(block) == 1)  # contiguous
            assert_array_equal(order[n // bb * bb:], np.arange(n // bb * bb, n))
        if n // min(b, n) > 3:
            assert len({tuple(o) for o in orders}) > 1  # the block order changes


def test_batch_shuffle_seeding_and_minimize():
    X, y, _ = _problem(300, 5)
    kw = dict(solver="adam", learning_rate=0.05, batch_size=32, stopping=None, max_iter=4,
              shuffle="batches")
    a = LogisticRegression(**kw, random_state=3).fit(X, y)
    b = LogisticRegression(**kw, random_state=3).fit(X, y)
    p = LogisticRegression(**kw, random_state=3)
    for _ in range(4):
        p.partial_fit(X, y, classes=[0, 1])
    assert_array_equal(a.coef_, b.coef_)
    assert_array_equal(a.coef_, p.coef_)
    c = LogisticRegression(**kw, random_state=4).fit(X, y)
    assert not np.array_equal(a.coef_, c.coef_)
    r = LogisticRegression(**dict(kw, shuffle="rows"), random_state=3).fit(X, y)
    assert not np.array_equal(a.coef_, r.coef_)
    # minimize hands fun the same contiguous blocks, in the same seeded order
    seen = []

    def fun(theta, rows):
        if rows is not None:
            seen.append(np.array(rows))
        return float(theta @ theta), 2 * theta

    so.minimize(fun, np.ones(2), method="sgd", n_samples=103, batch_size=16,
                   shuffle="batches", stopping=None, max_iter=2, random_state=9)
    expected = _ref_orders("batches", 103, 16, 2, 9)
    got = [np.concatenate(seen[:7]), np.concatenate(seen[7:])]
    assert len(seen) == 14
    for e, g in zip(expected, got):
        assert_array_equal(e, g)


# -------------------------------------------------------------- separation
def test_separation_1d_toy():
    x = np.linspace(-1, 1, 40)[:, None]
    y = (x[:, 0] > 0).astype(int)
    with pytest.warns(SeparationWarning, match="linearly separable"):
        est = LogisticRegression(alpha=0.0).fit(x, y)
    assert np.all(np.isfinite(est.coef_)) and est.separable_
    assert est.score(x, y) == 1.0
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        LogisticRegression(alpha=1e-3).fit(x, y)  # a ridge: no warning


def test_quasi_complete_separation():
    x = np.r_[np.linspace(-2, 0, 21), np.linspace(0, 2, 21)][:, None]
    y = np.r_[np.zeros(20), [0, 1], np.ones(20)].astype(int)  # tie at x = 0
    assert check_separation(x, y)
    with pytest.warns(SeparationWarning):
        est = LogisticRegression(alpha=0.0).fit(x, y)
    assert np.all(np.isfinite(est.coef_))


def test_separation_talk_design_480_vs_1000_rows():
    X, y, _ = make_logistic(480, 99, random_state=0)
    assert check_separation(X, y)
    with pytest.warns(SeparationWarning, match="set alpha > 0"):
        est = LogisticRegression(alpha=0.0).fit(X, y)
    assert np.all(np.isfinite(est.coef_))
    X, y, _ = make_logistic(1000, 99, random_state=0)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        est = LogisticRegression("newton", alpha=0.0).fit(X, y)  # issue 16: the default
        # is now "auto", which is L-BFGS at p = 99
    assert est.separable_ is False or est.separable_ is None
    assert est.n_iter_ <= 20
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        auto = LogisticRegression(alpha=0.0, tol=1e-10).fit(X, y)
    assert auto.solver_ == "lbfgs"
    np.testing.assert_allclose(auto.coef_, est.coef_, rtol=1e-5, atol=1e-6)


def test_separation_digits_zero_columns():
    X, y = load_digits_0v6()
    assert X.shape == (359, 64) and int(y.sum()) == 181
    zero = np.flatnonzero(~X.any(axis=0))
    assert zero.size == 13
    with pytest.warns(SeparationWarning) as rec:
        est = LogisticRegression(alpha=0.0).fit(X, y)
    msgs = " ".join(str(r.message) for r in rec)
    assert "linearly separable" in msgs and "constant" in msgs
    assert np.all(np.isfinite(est.coef_)) and np.all(est.coef_[0, zero] == 0)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        est = LogisticRegression(alpha=1.0 / len(y)).fit(X, y)
    assert np.all(est.coef_[0, zero] == 0)


def test_stochastic_solver_warns_on_separable_data():
    x = np.linspace(-1, 1, 40)[:, None]
    y = (x[:, 0] > 0).astype(int)
    with pytest.warns(SeparationWarning):
        LogisticRegression("adam", alpha=0.0, learning_rate=3.0, stopping=None, max_iter=100,
                           random_state=0).fit(x, y)


# --------------------------------------------------------- estimator contract
@parametrize_with_checks([
    LogisticRegression(),
    LogisticRegression("adam", learning_rate=0.05, max_iter=50, tol=1e-2, random_state=0),
])
def test_sklearn_compatible(estimator, check):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        check(estimator)


def test_predict_proba_and_labels():
    X, y, _ = _problem(200, 4)
    labels = np.where(y == 1, "yes", "no")
    est = LogisticRegression().fit(X, labels)
    assert_array_equal(est.classes_, ["no", "yes"])
    P = est.predict_proba(X)
    assert_allclose(P.sum(axis=1), 1.0, rtol=1e-15)
    assert_allclose(np.exp(est.predict_log_proba(X)), P, rtol=1e-12)
    assert_array_equal(est.predict(X), np.where(est.decision_function(X) > 0, "yes", "no"))


# --------------------------------------------------------------- bad input
@pytest.mark.parametrize("params,match", [
    ({"alpha": -1.0}, "alpha"),
    ({"solver": "adam", "learning_rate": 0.0}, "learning_rate"),
    ({"solver": "sgd", "learning_rate": -1.0}, "learning_rate"),
    ({"solver": "adam", "batch_size": 0}, "batch_size"),
    ({"solver": "liblinear"}, "solver"),
    ({"hessian_subsample": 1}, "hessian_subsample"),
    ({"solver": "adam", "schedule": "cosine"}, "schedule"),
    ({"solver": "momentum", "momentum": 1.0}, "momentum"),
    ({"solver": "adam", "adam_form": "keras"}, "adam_form"),
    ({"solver": "adam", "average": "mean"}, "average"),
    ({"solver": "adam", "shuffle": "blocks"}, "shuffle"),
    ({"solver": "adam", "shuffle": 1}, "shuffle"),
    ({"solver": "sgd", "amsgrad": True}, "amsgrad"),
    ({"max_iter": 0}, "max_iter"),
    ({"tol": -1.0}, "tol"),
])
def test_bad_parameters(params, match):
    X, y, _ = _problem(50, 3)
    with pytest.raises(ValueError, match=match):
        LogisticRegression(**params).fit(X, y)


def test_bad_data():
    X, y, _ = _problem(60, 3)
    with pytest.raises(ValueError, match="at least two classes"):
        LogisticRegression("newton").fit(X, np.zeros_like(y))  # three or more: multinomial
    Xn = X.copy()
    Xn[3, 1] = np.nan
    with pytest.raises(ValueError, match="NaN"):
        LogisticRegression("adam").fit(Xn, y)
    Xn[3, 1] = np.inf
    with pytest.raises(ValueError, match="infinity"):
        LogisticRegression().fit(Xn, y)
    with pytest.raises(ValueError, match="diverged.*learning_rate"):
        LogisticRegression("sgd", learning_rate=1e308, random_state=0).fit(X * 1e10, y)


def test_minimize_bad_objective():
    def nan_fun(theta, rows):
        return np.nan, np.zeros_like(theta)

    with pytest.raises(ValueError, match="fun returned a non-finite"):
        so.minimize(nan_fun, np.zeros(2))

    def bad_grad(theta, rows):
        return 0.0, np.array([np.inf, 0.0])

    with pytest.raises(ValueError, match="non-finite"):
        so.minimize(bad_grad, np.zeros(2), method="sgd", n_samples=10)
    with pytest.raises(ValueError, match="hess"):
        so.minimize(lambda th, r: (0.0, th), np.zeros(2), method="newton")
    with pytest.raises(ValueError, match="learning_rate"):
        so.minimize(lambda th, r: (0.0, th), np.zeros(2), learning_rate=-1)
    with pytest.raises(ValueError, match="batch_size"):
        so.minimize(lambda th, r: (0.0, th), np.zeros(2), n_samples=5, batch_size=0)
    with pytest.raises(ValueError, match="grad must be finite"):
        so.Adam().step(np.zeros(2), [np.nan, 1.0])
    with pytest.raises(ValueError, match="params"):
        so.SGD().step([0.0, 1.0], [1.0, 1.0])


# ------------------------------------------------------------- minimize
def _logistic_fun(X, y, alpha):
    def fun(theta, rows):
        Xr, yr = (X, y) if rows is None else (X[rows], y[rows])
        F, g, _ = ref_objective(Xr, yr, theta, alpha)
        return F, g

    def hess(theta):
        return ref_objective(X, y, theta, alpha)[2]

    return fun, hess


def test_minimize_newton_and_adam_reach_logistic_optimum(strongly_convex):
    X, y, alpha, theta_star, F_star = strongly_convex
    fun, hess = _logistic_fun(X, y, alpha)
    res = so.minimize(fun, np.zeros(20), method="newton", hess=hess, tol=1e-24)
    assert res.success and res.nit <= 10
    assert_allclose(res.x, theta_star, rtol=0, atol=1e-9)
    res = so.minimize(fun, np.zeros(20), method="adam", n_samples=X.shape[0], learning_rate=0.1,
                      schedule="invsqrt", average=True, max_iter=100, stopping=None,
                      random_state=0)
    assert (res.fun - F_star) / F_star < 1e-4
    assert res.t == 100 * 8 and len(res.loss_history) == 101
    # maximising the log-likelihood is the same problem
    res2 = so.minimize(lambda th, r: tuple(-v for v in fun(th, r)), np.zeros(20),
                       method="newton", hess=lambda th: -hess(th), maximize=True, tol=1e-24)
    assert_allclose(res2.x, theta_star, atol=1e-9)
    assert_allclose(res2.fun, -F_star, rtol=1e-12)


def test_minimize_newton_levenberg_on_nonconvex():
    # Rosenbrock: the Hessian is indefinite at (-1.2, 1) off the valley floor at (0, 1)
    def fun(x, rows):
        f = (1 - x[0]) ** 2 + 100 * (x[1] - x[0] ** 2) ** 2
        g = np.array([-2 * (1 - x[0]) - 400 * x[0] * (x[1] - x[0] ** 2),
                      200 * (x[1] - x[0] ** 2)])
        return f, g

    def hess(x):
        return np.array([[2 - 400 * (x[1] - 3 * x[0] ** 2), -400 * x[0]],
                         [-400 * x[0], 200.0]])

    assert np.linalg.eigvalsh(hess(np.array([0.0, 1.0]))).min() < 0
    res = so.minimize(fun, [0.0, 1.0], method="newton", hess=hess, max_iter=200)
    assert res.success
    assert_allclose(res.x, [1.0, 1.0], atol=1e-6)


def test_minimize_full_batch_gd_on_quadratic():
    A = np.diag([1.0, 4.0])
    b = np.array([1.0, -2.0])
    res = so.minimize(lambda x, r: (0.5 * x @ A @ x - b @ x, A @ x - b), np.zeros(2),
                      method="sgd", learning_rate=0.2, max_iter=500, tol=1e-10)
    assert res.success and res.t == res.nit
    assert_allclose(res.x, np.linalg.solve(A, b), atol=1e-9)


# ---------------------------------------------------------------- IDX loader
def _write_idx(path, arr, magic_type=0x08, gz=True, truncate=0):
    header = bytes([0, 0, magic_type, arr.ndim]) + b"".join(
        int(d).to_bytes(4, "big") for d in arr.shape)
    payload = header + arr.astype(np.uint8).tobytes()
    if truncate:
        payload = payload[:-truncate]
    with (gzip.open if gz else open)(path, "wb") as fh:
        fh.write(payload)


@pytest.mark.parametrize("gz", [True, False])
def test_idx_round_trip(tmp_path, gz):
    rng = np.random.default_rng(0)
    imgs = rng.integers(0, 256, (7, 28, 28), dtype=np.uint8)
    labs = np.array([0, 6, 1, 6, 0, 3, 6], dtype=np.uint8)
    sfx = ".gz" if gz else ""
    for split, _n in (("train", 7), ("t10k", 7)):
        _write_idx(tmp_path / f"{split}-images-idx3-ubyte{sfx}", imgs, gz=gz)
        _write_idx(tmp_path / f"{split}-labels-idx1-ubyte{sfx}", labs, gz=gz)
    Xtr, ytr, Xte, yte = load_mnist(tmp_path, kind="both")
    assert Xtr.dtype == np.uint8 and Xtr.shape == (7, 784)
    assert_array_equal(Xtr, imgs.reshape(7, -1))
    assert_array_equal(yte, labs)
    X, y01 = mnist_binary(Xtr, ytr)
    assert X.shape == (5, 784)
    assert_array_equal(y01, [0, 1, 1, 0, 1])
    assert_allclose(X, imgs[[0, 1, 3, 4, 6]].reshape(5, -1) / 255.0, rtol=1e-15)


def test_idx_errors(tmp_path):
    arr = np.zeros((3, 2, 2), dtype=np.uint8)
    _write_idx(tmp_path / "bad_type", arr, magic_type=0x0D)
    with pytest.raises(ValueError, match=r"bad_type.*type byte 0x08"):
        read_idx(tmp_path / "bad_type")
    _write_idx(tmp_path / "trunc.gz", arr, truncate=3)
    with pytest.raises(ValueError, match=r"trunc.gz.*expected 12 data bytes.*got 9"):
        read_idx(tmp_path / "trunc.gz")
    (tmp_path / "magic").write_bytes(b"\x01\x02\x08\x01\x00\x00\x00\x00")
    with pytest.raises(ValueError, match="magic bytes 00 00"):
        read_idx(tmp_path / "magic")
    with pytest.raises(ValueError, match="does not exist"):
        read_idx(tmp_path / "missing.gz")
    with pytest.raises(ValueError, match="never downloads"):
        load_mnist(tmp_path / "nowhere")
    with pytest.raises(ValueError, match="not found"):
        load_mnist(tmp_path)


def _mnist_dir():
    from statoptim.datasets import find_dataset

    return find_dataset("mnist", required=False)


@pytest.mark.skipif(_mnist_dir() is None, reason="real MNIST files not available")
def test_real_mnist_0v6_counts():
    Xtr, ytr, Xte, yte = load_mnist(_mnist_dir(), kind="both")
    assert Xtr.shape == (60000, 784) and Xte.shape == (10000, 784)
    assert_array_equal(np.bincount(ytr), [5923, 6742, 5958, 6131, 5842, 5421, 5918, 6265,
                                          5851, 5949])
    X, y = mnist_binary(Xtr, ytr)
    assert X.shape == (11841, 784) and int(y.sum()) == 5918
    assert_allclose(Xtr.mean() / 255, 0.130660, atol=1e-6)


# ------------------------------------------------------------------- study
def test_study_optimizers_smoke(tmp_path, capsys):
    pytest.importorskip("matplotlib")
    import argparse

    from statoptim.studies import STUDIES

    study = STUDIES["optimizers"]
    parser = argparse.ArgumentParser()
    study.add_arguments(parser)
    args = parser.parse_args(["--epochs", "5", "--replications", "2", "--figures", str(tmp_path),
                              "--no-progress", "--jobs", "1"])
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # tqdm/matplotlib chatter is not under test
        assert study.run(args) == 0
    out = capsys.readouterr().out
    assert "Sim p = 99, n_train = 480" in out and "digits 0 vs 6" in out
    assert "separable: N-R stopped with a SeparationWarning" in out
    for name in ("optimizers_gap_vs_time.png", "optimizers_paths_2d.png"):
        assert (tmp_path / name).stat().st_size > 10_000
