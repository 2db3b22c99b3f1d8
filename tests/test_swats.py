"""SWATS, the switch from Adam to SGD (Keskar & Socher 2017, "Improving generalization
performance by switching from Adam to SGD"; issue 16, part 7): minimize(method="swats")
and the SWATS optimiser object against a NumPy transcription of the paper's Algorithm 1,
on problems where the switch provably happens."""
import math

import numpy as np
import pytest
from numpy.testing import assert_allclose, assert_array_equal
from optim_helpers import raises_naming as _raises_naming
from scipy.optimize import minimize as scipy_minimize

import statoptim.optim as so
from statoptim.optim import SWATS, StepDecay, minimize, swats_projection

DELTA = 1.0


def _huber_problem():
    """Huber regression (intercept + 2 slopes) started far from the optimum."""
    rng = np.random.default_rng(1)
    n = 60
    X = np.column_stack([np.ones(n), rng.standard_normal((n, 2))])
    y = X @ np.array([1.0, -2.0, 0.5]) + 0.3 * rng.standard_normal(n)

    def fun(th, rows=None):
        Xr, yr = (X, y) if rows is None else (X[rows], y[rows])
        r = Xr @ th - yr
        a = np.abs(r)
        f = np.where(a <= DELTA, 0.5 * r ** 2, DELTA * (a - 0.5 * DELTA))
        return f.mean(), Xr.T @ np.clip(r, -DELTA, DELTA) / len(yr)

    return X, y, fun, np.array([100.0, 0.0, 0.0])


def test_swats_switches_at_step_2_under_a_constant_gradient_and_reaches_the_optimum():
    """While every residual is in the linear zone of the Huber loss the gradient is a
    constant g. Adam then has m_hat_k = g and v_hat_k = g^2 (up to rounding), so
    p_1 = p_2 = -alpha g / (|g| + eps), gamma_1 = gamma_2 and the bias-corrected average
    Lambda_2 = gamma_2: the criterion |Lambda_k - gamma_k| < 1e-9 holds at k = 2 with
    Lambda = alpha sum g^2/(|g|+eps)^2 / sum g^2/(|g|+eps). SGD with momentum and that
    rate then converges on the (locally strongly convex) Huber objective."""
    X, y, fun, x0 = _huber_problem()
    alpha, eps = 0.05, 1e-8
    # precondition of the argument: two Adam steps (each |p_j| < alpha) keep every
    # residual beyond DELTA, so both gradients are the same g
    r0 = X @ x0 - y
    assert np.all(r0 > DELTA + 2 * alpha * np.abs(X).sum(axis=1))
    g = fun(x0)[1]
    expected = alpha * np.sum(g ** 2 / (np.abs(g) + eps) ** 2) / np.sum(
        g ** 2 / (np.abs(g) + eps))
    res = minimize(fun, x0, method="swats", learning_rate=alpha, max_iter=5000, tol=1e-10)
    assert res.switch_t == 2 and res.switch_epoch == 2  # full batch: one update per epoch
    assert math.isclose(res.switch_learning_rate, expected, rel_tol=1e-12)
    ref = scipy_minimize(lambda t: fun(t)[0], x0, jac=lambda t: fun(t)[1], method="BFGS",
                         options={"gtol": 1e-13})
    assert res.success and np.abs(res.jac).max() <= 1e-10
    assert_allclose(res.x, ref.x, atol=1e-8)
    assert res.fun <= ref.fun + 1e-14


def _algorithm1(grad_fn, x0, batches, alpha, b1=0.9, b2=0.999, eps=1e-8, tol=1e-9):
    """Keskar & Socher's Algorithm 1 in plain NumPy (Adam's eps placed as Kingma & Ba's
    Algorithm 1, the package default). Returns (x, switch step k or None, Lambda)."""
    w = np.array(x0, dtype=float)
    m, a, v = np.zeros_like(w), np.zeros_like(w), np.zeros_like(w)
    lam, phase, Lam, k_switch = 0.0, "adam", None, None
    for k, rows in enumerate(batches, start=1):
        g = grad_fn(w, rows)
        if phase == "sgd":
            v = b1 * v + g
            w = w - (1 - b1) * Lam * v
            continue
        m = b1 * m + (1 - b1) * g
        a = b2 * a + (1 - b2) * g * g
        p = -alpha * (m / (1 - b1 ** k)) / (np.sqrt(a / (1 - b2 ** k)) + eps)
        w = w + p
        if p @ g != 0:
            gamma = (p @ p) / (-(p @ g))
            lam = b2 * lam + (1 - b2) * gamma
            if k > 1 and abs(lam / (1 - b2 ** k) - gamma) < tol:
                phase, v, Lam, k_switch = "sgd", np.zeros_like(w), lam / (1 - b2 ** k), k
    return w, k_switch, Lam


def _least_squares():
    rng = np.random.default_rng(3)
    n, p = 100, 4
    X = rng.standard_normal((n, p))
    beta = rng.standard_normal(p)
    y = X @ beta  # consistent: every minibatch gradient vanishes at beta

    def fun(th, rows):
        Xr, yr = (X, y) if rows is None else (X[rows], y[rows])
        r = Xr @ th - yr
        return 0.5 * np.mean(r ** 2), Xr.T @ r / len(r)

    return X, y, beta, fun


def test_swats_minibatches_match_algorithm_1_and_report_a_consistent_switch_epoch():
    beta, fun = _least_squares()[2:]
    n, b, epochs = 100, 10, 195
    kw = {"method": "swats", "learning_rate": 0.01, "n_samples": n, "batch_size": b,
          "shuffle": False, "switch_tol": 1e-5}
    res = minimize(fun, np.zeros(4), max_iter=epochs, stopping=None, **kw)
    batches = [np.arange(k * b, (k + 1) * b) for _ in range(epochs) for k in range(n // b)]
    x_ref, k_ref, lam_ref = _algorithm1(lambda w, r: fun(w, r)[1], np.zeros(4), batches,
                                        0.01, tol=1e-5)
    assert k_ref is not None and res.switch_t == k_ref
    assert res.switch_epoch == math.ceil(k_ref / (n // b))  # 10 updates per epoch
    assert math.isclose(res.switch_learning_rate, lam_ref, rel_tol=1e-10)
    assert_allclose(res.x, x_ref, rtol=1e-9, atol=1e-12)
    # after the switch SGD reaches the least-squares solution
    done = minimize(fun, np.zeros(4), max_iter=1000, tol=1e-9, **kw)
    assert done.success and done.switch_t == res.switch_t
    assert_allclose(done.x, beta, atol=1e-8)
    # the epoch reported is the one whose updates include switch_t
    assert (done.switch_epoch - 1) * 10 < done.switch_t <= done.switch_epoch * 10


def test_no_switch_is_reported_as_none_and_adam_phase_is_plain_adam():
    fun = _least_squares()[3]
    kw = {"learning_rate": 0.01, "n_samples": 100, "batch_size": 10, "shuffle": False,
          "max_iter": 20, "stopping": None}
    s = minimize(fun, np.zeros(4), method="swats", **kw)
    a = minimize(fun, np.zeros(4), method="adam", **kw)
    assert s.switch_t is None and s.switch_epoch is None and s.switch_learning_rate is None
    assert_array_equal(s.x, a.x)  # before any switch SWATS is Adam, bit for bit
    assert not hasattr(a, "switch_t")


def test_swats_object_equals_minimize_and_uses_lines_6_7_after_the_switch():
    _, _, fun, x0 = _huber_problem()
    res = minimize(fun, x0, method="swats", learning_rate=0.05, max_iter=40, stopping=None)
    opt = SWATS(0.05)
    x = x0.copy()
    for _ in range(40):
        opt.step(x, fun(x)[1])
    assert_array_equal(x, res.x)
    assert opt.switch_steps == [2] and opt.switch_learning_rates == [res.switch_learning_rate]
    # SGD phase (Algorithm 1, lines 6-7), v = 0 at the switch, and a schedule's decay
    # since the switch scales Lambda: w_3 = w_2 - (1 - b1) Lambda m(3)/m(2) g_3
    sched = StepDecay(2, 0.5)  # multiplier 1 at t = 1, 2 and 0.5 at t = 3
    opt = SWATS(0.05, schedule=sched)
    x = x0.copy()
    opt.step(x, fun(x)[1])
    opt.step(x, fun(x)[1])
    assert opt.switch_steps == [2]
    lam = opt.switch_learning_rates[0]
    x2, g3 = x.copy(), fun(x)[1]
    opt.step(x, g3)
    assert_allclose(x, x2 - (1 - 0.9) * lam * 0.5 * g3, rtol=1e-14, atol=1e-14)
    opt.step(x, g3)  # v_4 = b1 v_3 + g (EMA form: lr (1 - b1)(1 + b1) g at multiplier 0.5)
    assert_allclose(x, x2 - (1 - 0.9) * lam * 0.5 * g3 * (1 + 1 + 0.9), rtol=1e-13)


def test_swats_groups_switch_independently():
    rng = np.random.default_rng(5)
    a, c = np.zeros(3), np.zeros(2)
    opt = SWATS(params=[{"params": [a]}, {"params": [c], "learning_rate": 0.01}])
    for _ in range(30):
        opt.step([np.array([1.0, -2.0, 0.5]), rng.standard_normal(2)])
    assert opt.switch_steps[0] == 2 and opt.switch_steps[1] is None
    assert math.isclose(opt.switch_learning_rates[0], 1e-3 * 3 / 3.5, rel_tol=1e-6)


def test_swats_projection_formula():
    # gamma = p.p / (-p.g); first call: lambda_1 = (1 - b2) gamma and no switch at k = 1
    lam, sw = swats_projection(-0.5, 0.25, 1, 0.0, 0.9, 1e-9)
    assert lam == pytest.approx(0.1 * 0.5) and sw is None
    sw = swats_projection(-0.5, 0.25, 2, lam, 0.9, 1e-9)[1]  # same gamma: switch
    assert sw == pytest.approx(0.5, rel=1e-14)
    assert swats_projection(0.0, 1.0, 5, 0.3, 0.9, 1e-9) == (0.3, None)  # p.g = 0: kept
    assert swats_projection(0.5, 0.25, 2, -0.05, 0.9, 1.0)[1] is None  # negative: no switch


def test_swats_bad_input():
    _, _, fun, x0 = _huber_problem()
    _raises_naming(lambda: minimize(fun, x0, method="swats", switch_tol=0.0), "switch_tol")
    _raises_naming(lambda: minimize(fun, x0, method="swats", switch_tol="a"), "switch_tol")
    _raises_naming(lambda: minimize(fun, x0, method="adam", switch_tol=1e-9), "switch_tol")
    _raises_naming(lambda: minimize(fun, x0, method="swats", momentum=0.5), "momentum")
    _raises_naming(lambda: minimize(fun, x0, method="swats", beta1=1.0), "beta1")
    _raises_naming(lambda: SWATS(switch_tol=-1.0).step(np.ones(2), [1.0, 1.0]), "switch_tol")
    _raises_naming(lambda: SWATS(amsgrad=True), "amsgrad")
    opt = SWATS(0.1)
    opt.step(np.ones(2), [1.0, 1.0])
    _raises_naming(lambda: SWATS(0.1, params=[np.ones(3)]).load_state_dict(
        opt.state_dict()), "state_dict")
    _raises_naming(lambda: so.Adam(0.1).load_state_dict(opt.state_dict()), "state_dict")
