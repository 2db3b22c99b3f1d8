"""The optimiser objects as torch.optim users expect them (issue 16, part 6): lists of
parameter arrays, parameter groups, weight decay and AdamW, float32, state_dict, and
the learning-rate schedules. References are plain NumPy transcriptions of each rule
(and torch.optim when it is installed)."""
import copy
import math
import pickle
import re

import numpy as np
import pytest
from hypothesis import given, note
from hypothesis import strategies as st
from numpy.testing import assert_allclose, assert_array_equal
from optim_helpers import raises_naming as _raises_naming

import statoptim.optim as so
from statoptim.optim import (
    CosineDecay,
    ExponentialDecay,
    LinearWarmup,
    SequentialSchedule,
    StepDecay,
    minimize,
    warmup_cosine,
)

# --- plain NumPy reference of every rule ---------------------------------------------------
_DEFAULT_LR = {"sgd": 0.01, "momentum": 0.01, "rmsprop": 1e-3, "adam": 1e-3, "adamw": 1e-3,
               "adamax": 2e-3}


class Ref:
    """theta_t from theta_{t-1} by the textbook formula of each rule (float64)."""

    def __init__(self, kind, lr=None, wd=0.0, **hp):
        self.kind, self.lr, self.wd = kind, _DEFAULT_LR[kind] if lr is None else lr, wd
        self.hp = {"momentum": 0.9, "nesterov": False, "rho": 0.9, "eps": 1e-8,
                   "eps_inside": False, "beta1": 0.9, "beta2": 0.999, "amsgrad": False}
        self.hp.update(hp)
        self.t = 0
        self.s = None

    def step(self, theta, g, lr=None):
        h, lr = self.hp, self.lr if lr is None else lr
        theta, g = np.asarray(theta, dtype=np.float64), np.asarray(g, dtype=np.float64)
        if self.s is None:
            self.s = {k: np.zeros_like(theta) for k in ("m", "v", "vmax")}
        s = self.s
        self.t += 1
        t = self.t
        if self.kind == "adamw":
            theta = theta * (1.0 - lr * self.wd)
        else:
            g = g + self.wd * theta
        if self.kind == "sgd":
            return theta - lr * g
        if self.kind == "momentum":
            mu = h["momentum"]
            s["m"] = mu * s["m"] + (1 - mu) * g
            d = mu * s["m"] + (1 - mu) * g if h["nesterov"] else s["m"]
            return theta - lr * d
        if self.kind == "rmsprop":
            s["v"] = h["rho"] * s["v"] + (1 - h["rho"]) * g ** 2
            den = np.sqrt(s["v"] + h["eps"]) if h["eps_inside"] else np.sqrt(s["v"]) + h["eps"]
            return theta - lr * g / den
        b1, b2 = h["beta1"], h["beta2"]
        s["m"] = b1 * s["m"] + (1 - b1) * g
        if self.kind == "adamax":
            s["v"] = np.maximum(b2 * s["v"], np.abs(g))
            return theta - lr / (1 - b1 ** t) * s["m"] / s["v"]
        s["v"] = b2 * s["v"] + (1 - b2) * g ** 2
        s["vmax"] = np.maximum(s["vmax"], s["v"])
        v = s["vmax"] if h["amsgrad"] else s["v"]
        return theta - lr * (s["m"] / (1 - b1 ** t)) / (np.sqrt(v / (1 - b2 ** t)) + h["eps"])


_CLS = {"sgd": so.SGD, "momentum": so.Momentum, "rmsprop": so.RMSprop, "adam": so.Adam,
        "adamw": so.AdamW, "adamax": so.Adamax}
_RULES = [("sgd", {}), ("momentum", {}), ("momentum", {"nesterov": True}),
          ("momentum", {"momentum": 0.5}), ("rmsprop", {}), ("rmsprop", {"eps_inside": True}),
          ("adam", {}), ("adam", {"amsgrad": True}), ("adam", {"beta1": 0.8, "eps": 1e-3}),
          ("adamw", {}), ("adamax", {})]


def _make(kind, lr=None, wd=0.0, **kw):
    return _CLS[kind](lr, weight_decay=wd, **kw)


def _grads(rng, shape, n):
    return [rng.standard_normal(shape) * rng.uniform(0.1, 3.0) for _ in range(n)]


@pytest.mark.parametrize("kind,hp", _RULES)
@pytest.mark.parametrize("wd", [0.0, 0.1])
def test_each_rule_matches_its_numpy_formula(kind, hp, wd):
    rng = np.random.default_rng(0)
    lr = 0.05
    opt, ref = _make(kind, lr, wd, **hp), Ref(kind, lr, wd, **hp)
    x = rng.standard_normal(7)
    xr = x.copy()
    for g in _grads(rng, 7, 25):
        assert opt.step(x, g) is x
        xr = ref.step(xr, g)
        assert_allclose(x, xr, rtol=1e-12, atol=1e-15)
    assert opt.t == 25


@pytest.mark.parametrize("kind,hp", _RULES)
def test_each_rule_matches_torch_optim(kind, hp):
    torch = pytest.importorskip("torch")
    rng = np.random.default_rng(1)
    lr, wd = 0.05, 0.1
    x0 = rng.standard_normal(6)
    w = torch.tensor(x0.copy(), dtype=torch.float64, requires_grad=True)
    if kind == "sgd":
        topt = torch.optim.SGD([w], lr=lr, weight_decay=wd)
    elif kind == "momentum":  # ours with alpha = gamma / (1 - mu) is torch's heavy ball
        mu = hp.get("momentum", 0.9)
        topt = torch.optim.SGD([w], lr=lr * (1 - mu), momentum=mu, weight_decay=wd,
                               nesterov=hp.get("nesterov", False))
    elif kind == "rmsprop":
        if hp.get("eps_inside"):
            pytest.skip("torch has no eps-inside RMSprop")
        topt = torch.optim.RMSprop([w], lr=lr, alpha=0.9, eps=1e-8, weight_decay=wd)
    elif kind in ("adam", "adamw"):
        cls = torch.optim.Adam if kind == "adam" else torch.optim.AdamW
        topt = cls([w], lr=lr, betas=(hp.get("beta1", 0.9), 0.999), eps=hp.get("eps", 1e-8),
                   weight_decay=wd, amsgrad=hp.get("amsgrad", False))
    else:
        topt = torch.optim.Adamax([w], lr=lr, betas=(0.9, 0.999), eps=1e-8, weight_decay=wd)
    opt = _make(kind, lr, wd, **hp)
    x = x0.copy()
    for g in _grads(rng, 6, 20):
        opt.step(x, g)
        w.grad = torch.tensor(g, dtype=torch.float64)
        topt.step()
        # torch's Adamax adds eps to |g| inside the max: agreement to ~1e-8 relative
        assert_allclose(x, w.detach().numpy(), rtol=1e-7, atol=1e-10)


def test_schedules_match_torch_lr_schedulers():
    torch = pytest.importorskip("torch")
    cases = [(StepDecay(3, 0.5), lambda o: torch.optim.lr_scheduler.StepLR(o, 3, 0.5)),
             (ExponentialDecay(0.9), lambda o: torch.optim.lr_scheduler.ExponentialLR(o, 0.9)),
             (CosineDecay(10, 0.1),
              lambda o: torch.optim.lr_scheduler.CosineAnnealingLR(o, 10, eta_min=0.1))]
    for sched, make in cases:
        o = torch.optim.SGD([torch.zeros(1, requires_grad=True)], lr=1.0)
        ts = make(o)
        for t in range(1, 11):
            assert math.isclose(sched.multiplier(t), o.param_groups[0]["lr"], rel_tol=1e-12,
                                abs_tol=1e-15)
            o.step()
            ts.step()


@pytest.mark.parametrize("kind,hp", _RULES)
def test_list_of_params_equals_the_concatenated_single_array(kind, hp):
    rng = np.random.default_rng(2)
    shapes = [(3, 4), (4,), (2, 1)]
    arrays = [rng.standard_normal(s) for s in shapes]
    flat = np.concatenate([a.ravel() for a in arrays])
    a_opt, f_opt = _make(kind, 0.03, 0.01, **hp), _make(kind, 0.03, 0.01, **hp)
    for _ in range(15):
        gs = [rng.standard_normal(s) for s in shapes]
        out = a_opt.step(arrays, gs)
        assert all(o is a for o, a in zip(out, arrays))
        f_opt.step(flat, np.concatenate([g.ravel() for g in gs]))
        assert_array_equal(np.concatenate([a.ravel() for a in arrays]), flat)


def test_parameter_groups_have_their_own_hyperparameters():
    rng = np.random.default_rng(3)
    W, b, c = rng.standard_normal((2, 3)), rng.standard_normal(3), rng.standard_normal(4)
    W2, b2, c2 = W.copy(), b.copy(), c.copy()
    opt = so.Adam(1e-3, params=[{"params": [W, b], "learning_rate": 1e-2, "beta1": 0.5},
                                {"params": [c], "weight_decay": 0.1}])
    first, second = so.Adam(1e-2, beta1=0.5), so.Adam(1e-3, weight_decay=0.1)
    for _ in range(10):
        gs = [rng.standard_normal(a.shape) for a in (W, b, c)]
        out = opt.step(gs)
        assert out[0] is W and out[2] is c
        first.step([W2, b2], gs[:2])
        second.step(c2, gs[2])
    assert_array_equal(W, W2)
    assert_array_equal(b, b2)
    assert_array_equal(c, c2)
    # params= is the positional form; the held arrays may also be passed again
    W3 = W.copy()
    so.SGD(params=[W2], learning_rate=0.1).step([W2], [np.ones_like(W2)])
    so.SGD([{"params": [W3], "learning_rate": 0.1}]).step([np.ones_like(W3)])
    assert_array_equal(W2, W3)
    assert_allclose(W2, W - 0.1)


def test_add_param_group_and_group_errors():
    rng = np.random.default_rng(4)
    W, c = rng.standard_normal(3), rng.standard_normal(2)
    opt = so.Momentum(0.1, params=[W])
    opt.add_param_group({"params": [c], "learning_rate": 0.5, "momentum": 0.0})
    c0 = c.copy()
    opt.step([np.zeros(3), np.ones(2)])
    assert_allclose(c, c0 - 0.5)  # momentum 0: plain steps of 0.5
    _raises_naming(lambda: opt.add_param_group({"params": [np.ones(2)]}), "add_param_group")
    _raises_naming(lambda: so.Adam([{"params": [W], "lr": 0.1}]), "lr")
    _raises_naming(lambda: so.Adam([{"weights": [W]}]), "params")
    _raises_naming(lambda: so.Adam([{"params": []}]), "params")
    _raises_naming(lambda: so.Adam(params=[W, W]), "params[1]")  # the same array twice
    _raises_naming(lambda: so.Adam(params=[W, W[:2]]), "params[1]")  # overlapping views
    _raises_naming(lambda: so.Adam(params=[W, {"params": [c]}]), "params")
    _raises_naming(lambda: so.Adam(params=[W.astype(np.int64)]), "params[0]")
    _raises_naming(lambda: so.Adam(params=[np.ones((3, 3))[:, 0]]), "params[0]")
    bad = so.Adam([{"params": [W]}, {"params": [c], "beta1": 1.5}])
    e = _raises_naming(lambda: bad.step([np.ones(3), np.ones(2)]), "beta1")
    assert "params[1]" in str(e)
    ok = so.Adam(params=[W, c])
    _raises_naming(lambda: ok.step([np.ones(3)]), "grad")  # one gradient short
    _raises_naming(lambda: ok.step([np.ones(3), np.ones(3)]), "grad[1]")
    _raises_naming(lambda: ok.step([W.copy(), c], [np.ones(3), np.ones(2)]), "params")
    _raises_naming(lambda: so.Adam().step([np.ones(2)]), "grad", exc=TypeError)


@pytest.mark.parametrize("kind,hp", [r for r in _RULES if r[0] != "adamw"])
def test_weight_decay_equals_an_explicit_l2_term_in_the_gradient(kind, hp):
    rng = np.random.default_rng(5)
    wd = 0.3
    x = rng.standard_normal(5)
    y = x.copy()
    a, b = _make(kind, 0.02, wd, **hp), _make(kind, 0.02, 0.0, **hp)
    for g in _grads(rng, 5, 12):
        a.step(x, g)
        b.step(y, g + wd * y)
        assert_allclose(x, y, rtol=1e-14, atol=1e-16)


def test_adamw_is_loshchilov_hutter_algorithm_2():
    rng = np.random.default_rng(6)
    lr, wd, b1, b2, eps = 0.05, 0.2, 0.9, 0.999, 1e-8
    sched = CosineDecay(20, 0.1)
    opt = so.AdamW(lr, weight_decay=wd, schedule=sched)
    x = rng.standard_normal(4)
    theta, m, v = x.copy(), np.zeros(4), np.zeros(4)
    for t in range(1, 21):
        g = rng.standard_normal(4)
        opt.step(x, g)
        eta = sched.multiplier(t)  # paper: theta -= eta_t (alpha m_hat/(sqrt(v_hat)+eps)
        m = b1 * m + (1 - b1) * g  # + lambda theta) with lambda = alpha * weight_decay
        v = b2 * v + (1 - b2) * g * g
        mh, vh = m / (1 - b1 ** t), v / (1 - b2 ** t)
        theta = theta - eta * (lr * mh / (np.sqrt(vh) + eps) + lr * wd * theta)
        assert_allclose(x, theta, rtol=1e-12, atol=1e-15)
    # AdamW with no decay is Adam; Adam's (coupled) weight_decay is not AdamW's
    a, w, c, d = np.ones(3), np.ones(3), np.ones(3), np.ones(3)
    so.Adam(0.1).step(a, [1.0, 2.0, 3.0])
    so.AdamW(0.1, weight_decay=0.0).step(w, [1.0, 2.0, 3.0])
    so.Adam(0.1, weight_decay=0.5).step(c, [1.0, 2.0, 3.0])
    so.AdamW(0.1, weight_decay=0.5).step(d, [1.0, 2.0, 3.0])
    assert_array_equal(a, w)
    assert_allclose(d, c * 1.0 - 0.1 * 0.5)  # first Adam step is -lr sign(g) either way


@pytest.mark.parametrize("kind,hp", _RULES)
def test_float32_stays_float32_and_agrees_with_float64(kind, hp):
    rng = np.random.default_rng(7)
    x32 = rng.standard_normal((3, 2)).astype(np.float32)
    x64 = x32.astype(np.float64)
    o32, o64 = _make(kind, 0.01, 0.05, **hp), _make(kind, 0.01, 0.05, **hp)
    for _ in range(30):
        g = rng.standard_normal((3, 2)).astype(np.float32)
        assert o32.step(x32, g.astype(np.float64)).dtype == np.float32  # grads converted
        o64.step(x64, g)
    assert x32.dtype == np.float32
    assert all(s.dtype == np.float32 for s in o32.state_dict()["state"])
    assert_allclose(x32, x64, rtol=2e-5, atol=2e-6)
    # groups of different dtypes are fine; one group mixing them is refused
    a, b = np.ones(2, dtype=np.float32), np.ones(3)
    so.Adam([{"params": [a]}, {"params": [b]}]).step([np.ones(2), np.ones(3)])
    assert a.dtype == np.float32 and a[0] < 1
    _raises_naming(lambda: so.Adam(params=[a, b]), "params")
    _raises_naming(lambda: so.Adam().step([a, b], [np.ones(2), np.ones(3)]), "params")
    # a float64 gradient beyond float32's range is a clear error, nothing is changed
    opt, a0 = so.SGD(0.1), a.copy()
    _raises_naming(lambda: opt.step(a, [1e39, 1.0]), "grad")
    assert_array_equal(a, a0)
    assert opt.t == 0


@pytest.mark.parametrize("kind,hp", _RULES + [("swats", {"switch_tol": 1e-3})])
def test_state_dict_round_trip_gives_bit_identical_steps(kind, hp):
    rng = np.random.default_rng(8)
    make = (lambda: so.SWATS(0.05, **hp)) if kind == "swats" else (
        lambda: _make(kind, 0.05, 0.01, schedule=StepDecay(4, 0.5), **hp))
    W, c = rng.standard_normal((2, 2)), rng.standard_normal(3).astype(np.float32)
    opt = make()
    grads = [[rng.standard_normal((2, 2)), rng.standard_normal(3)] for _ in range(20)]
    for g in grads[:10]:
        opt.step([W], [g[0]])
    sd = opt.state_dict()
    sd = pickle.loads(pickle.dumps(sd))
    W_saved = W.copy()
    for g in grads[10:]:
        opt.step([W], [g[0]])
    fresh = make()
    fresh.load_state_dict(sd)
    W2 = W_saved.copy()
    for g in grads[10:]:
        fresh.step([W2], [g[0]])
    assert_array_equal(W2, W)
    assert fresh.t == opt.t == 20
    if kind == "swats":
        assert fresh.switch_steps == opt.switch_steps
    # registered groups, float32 and float64 together
    W, c = rng.standard_normal((2, 2)), rng.standard_normal(3).astype(np.float32)
    opt = _CLS["adam" if kind == "swats" else kind](
        [{"params": [W], "learning_rate": 0.02}, {"params": [c]}])
    for g in grads[:10]:
        opt.step(g)
    sd = copy.deepcopy(opt.state_dict())
    saved = W.copy(), c.copy()
    for g in grads[10:]:
        opt.step(g)
    W2, c2 = saved[0].copy(), saved[1].copy()
    fresh = type(opt)([{"params": [W2], "learning_rate": 0.02}, {"params": [c2]}])
    fresh.load_state_dict(sd)
    for g in grads[10:]:
        fresh.step(g)
    assert_array_equal(W2, W)
    assert_array_equal(c2, c)
    assert c2.dtype == np.float32


def test_state_dict_for_another_layout_is_a_clear_error():
    opt = so.Adam(params=[np.ones(3), np.ones(2)])
    opt.step([np.ones(3), np.ones(2)])
    sd = opt.state_dict()
    sd_before = copy.deepcopy(sd)
    opt.step([np.ones(3), np.ones(2)])  # the state dict is a copy
    assert_array_equal(sd["state"][0], sd_before["state"][0])
    _raises_naming(lambda: so.Adam(params=[np.ones(3), np.ones(4)]).load_state_dict(sd),
                   "state_dict")
    _raises_naming(lambda: so.Adam(params=[np.ones(3, dtype=np.float32),
                                           np.ones(2, dtype=np.float32)])
                   .load_state_dict(sd), "state_dict")
    _raises_naming(lambda: so.Adam(params=[np.ones(3)]).load_state_dict(sd), "state_dict")
    _raises_naming(lambda: so.AdamW(params=[np.ones(3), np.ones(2)]).load_state_dict(sd),
                   "state_dict")
    _raises_naming(lambda: so.Adam().load_state_dict(sd), "state_dict")
    _raises_naming(lambda: so.Adam().load_state_dict({"t": 3}), "state_dict", exc=TypeError)
    broken = copy.deepcopy(sd)
    broken["state"][0] = broken["state"][0][:, :2]
    _raises_naming(lambda: so.Adam(params=[np.ones(3), np.ones(2)]).load_state_dict(broken),
                   "state_dict")
    # an optimiser without registered arrays checks the layout at its next step
    single = so.RMSprop(0.1)
    single.step(np.ones(4), np.ones(4))
    other = so.RMSprop(0.1)
    other.load_state_dict(single.state_dict())
    _raises_naming(lambda: other.step(np.ones(5), np.ones(5)), "params")
    _raises_naming(lambda: other.step(np.ones(4, dtype=np.float32), np.ones(4)), "params")
    other.step(np.ones(4), np.ones(4))
    assert other.t == 2


def test_failed_list_step_leaves_every_array_unchanged():
    a, b = np.ones(2), np.ones(3)
    opt = so.SGD(1e308)
    _raises_naming(lambda: opt.step([a, b], [np.ones(2), [1e10, 1.0, 1.0]]), "learning_rate")
    assert_array_equal(a, 1.0)
    assert_array_equal(b, 1.0)
    assert opt.t == 0 and opt._state is None
    opt = so.Adam(0.1)
    _raises_naming(lambda: opt.step([a, b], [np.ones(2), [np.nan, 1.0, 1.0]]), "grad[1]")
    assert_array_equal(a, 1.0)


# --- schedules -------------------------------------------------------------------------------
def test_schedule_values():
    t = np.arange(1, 13)
    assert_allclose(StepDecay(3, 0.5).multipliers(0, 12), 0.5 ** ((t - 1) // 3))
    assert_allclose(ExponentialDecay(0.9).multipliers(0, 12), 0.9 ** (t - 1))
    cos = CosineDecay(8, 0.1).multipliers(0, 12)
    assert_allclose(cos, 0.1 + 0.9 * 0.5 * (1 + np.cos(np.pi * np.minimum(t - 1, 8) / 8)))
    assert cos[0] == 1.0 and cos[8] == pytest.approx(0.1) and cos[-1] == pytest.approx(0.1)
    assert_allclose(LinearWarmup(4).multipliers(0, 12), np.minimum(1.0, t / 4))
    wc = warmup_cosine(4, 12, 0.0)
    expected = np.where(t <= 4, t / 4, 0.5 * (1 + np.cos(np.pi * (t - 5) / 8)))
    assert_allclose(wc.multipliers(0, 12), expected, atol=1e-15)
    assert wc.multiplier(4) == 1.0 and wc.multiplier(5) == 1.0
    assert wc.multiplier(13) == pytest.approx(0.0, abs=1e-15)
    seq = SequentialSchedule([StepDecay(2, 0.5), ExponentialDecay(0.8), LinearWarmup(2)],
                             [4, 6])
    assert_allclose(seq.multipliers(0, 8), [1, 1, 0.5, 0.5, 1, 0.8, 0.5, 1])
    assert_allclose(seq.multipliers(5, 2), [0.8, 0.5])
    assert wc == warmup_cosine(4, 12, 0.0) and wc != warmup_cosine(4, 13, 0.0)
    f = CosineDecay(10, 0.5).step_size_fn(0.2)
    assert f(1) == 0.2 and f(11) == pytest.approx(0.1)
    assert pickle.loads(pickle.dumps(wc)) == wc
    assert not callable(wc)  # a multiplier is not a step size: no silent mix-up


def test_schedules_drive_the_optimisers_and_minimize():
    sched = warmup_cosine(3, 10, 0.2)
    x, xr = np.zeros(2), np.zeros(2)
    opt = so.SGD(0.5, schedule=sched)
    opt2 = so.SGD(0.5, params=[{"params": [xr], "learning_rate": 0.25}], schedule=sched)
    for t in range(1, 13):
        before = x.copy()
        opt.step(x, [1.0, -2.0])
        assert_allclose(before - x, 0.5 * sched.multiplier(t) * np.array([1.0, -2.0]))
        opt2.step([[1.0, -2.0]])
        assert_allclose(xr, x / 2, rtol=1e-14)  # the group's rate times the multiplier

    rng = np.random.default_rng(9)
    A = rng.standard_normal((40, 3))
    yv = A @ np.array([1.0, 2.0, -1.0])

    def fun(th, rows):
        Ar, yr = (A, yv) if rows is None else (A[rows], yv[rows])
        r = Ar @ th - yr
        return 0.5 * np.mean(r ** 2), Ar.T @ r / len(r)

    kw = {"method": "momentum", "n_samples": 40, "batch_size": 8, "max_iter": 30,
          "random_state": 0, "stopping": None, "learning_rate": 0.1}
    a = minimize(fun, np.zeros(3), schedule=StepDecay(25, 0.5), **kw)
    b = minimize(fun, np.zeros(3), schedule=StepDecay(25, 0.5).step_size_fn(0.1), **kw)
    c = minimize(fun, np.zeros(3), **kw)
    assert_array_equal(a.x, b.x)
    assert not np.array_equal(a.x, c.x)
    # a cosine schedule that reaches 0 is allowed (no step at the end)
    d = minimize(fun, np.zeros(3), schedule=CosineDecay(50), **kw)
    assert np.all(np.isfinite(d.x))


def test_schedule_bad_input():
    _raises_naming(lambda: StepDecay(0), "step_size")
    _raises_naming(lambda: StepDecay(2, 0.0), "gamma")
    _raises_naming(lambda: ExponentialDecay(1.5), "gamma")
    _raises_naming(lambda: CosineDecay(10, -0.1), "min_factor")
    _raises_naming(lambda: CosineDecay(2.5), "total_steps")
    _raises_naming(lambda: LinearWarmup(0), "warmup_steps")
    _raises_naming(lambda: warmup_cosine(5, 5), "total_steps")
    _raises_naming(lambda: SequentialSchedule([LinearWarmup(2)], [2]), "milestones")
    _raises_naming(lambda: SequentialSchedule([LinearWarmup(2), StepDecay(1)], [3, 1]),
                   "milestones")
    _raises_naming(lambda: SequentialSchedule([LinearWarmup(2), StepDecay(1)], [0]),
                   "milestones[0]")
    _raises_naming(lambda: SequentialSchedule([LinearWarmup(2), 0.5], [2]), "schedules[1]")
    _raises_naming(lambda: SequentialSchedule(LinearWarmup(2), []), "schedules")
    _raises_naming(lambda: StepDecay(2).multiplier(0), "t")
    _raises_naming(lambda: StepDecay(2).step_size_fn(-1.0), "learning_rate")
    _raises_naming(lambda: so.SGD(schedule="cosine").step(np.ones(1), [1.0]), "schedule")
    _raises_naming(lambda: so.SGD(weight_decay=-1.0).step(np.ones(1), [1.0]), "weight_decay")
    _raises_naming(lambda: minimize(lambda t, r: (0.0, t), np.ones(1), schedule="cos"),
                   "schedule")


# --- fuzz ------------------------------------------------------------------------------------
@given(data=st.data())
def test_fuzz_parameter_lists(data):
    """Random layouts, dtypes, groups and gradients: a clear error naming the argument, or
    every array updated as the NumPy reference of its group says."""
    kind = data.draw(st.sampled_from(sorted(_CLS)))
    n_arrays = data.draw(st.integers(1, 3))
    shapes = [tuple(data.draw(st.lists(st.integers(0, 3), min_size=1, max_size=2)))
              for _ in range(n_arrays)]
    dtypes = [data.draw(st.sampled_from([np.float64, np.float32, np.int64]))
              for _ in range(n_arrays)]
    grouped = data.draw(st.booleans())
    lrs = [data.draw(st.sampled_from([None, 0.1, 1e-3, -1.0])) for _ in range(n_arrays)]
    g_scale = data.draw(st.sampled_from([1.0, 1e-30, 1e200]))
    seed = data.draw(st.integers(0, 2 ** 32 - 1))
    rng = np.random.default_rng(seed)
    arrays = [rng.standard_normal(s).astype(d) for s, d in zip(shapes, dtypes)]
    grads = [rng.standard_normal(s) * g_scale for s in shapes]
    note(f"kind={kind} shapes={shapes} dtypes={dtypes} grouped={grouped} lrs={lrs}")
    before = [a.copy() for a in arrays]
    try:
        if grouped:
            groups = [{"params": [a]} if lr is None else {"params": [a], "learning_rate": lr}
                      for a, lr in zip(arrays, lrs)]
            opt = _CLS[kind](groups)
            opt.step(grads)
        else:
            opt = _CLS[kind](lrs[0])
            opt.step(arrays, grads)
    except (ValueError, TypeError) as exc:
        msg = str(exc)
        assert re.search(r"params|grad|learning_rate", msg), msg
        bad_params = any(a.size == 0 or a.dtype == np.int64 for a in arrays) or (
            not grouped and len(set(dtypes)) > 1)
        bad_lr = (lrs if grouped else lrs[:1]).count(-1.0) > 0
        with np.errstate(over="ignore"):
            bad_grad = any(not np.all(np.isfinite(g.astype(a.dtype)))
                           for a, g in zip(arrays, grads) if a.dtype != np.int64)
        assert bad_params or bad_lr or bad_grad or "non-finite" in msg, msg
        for a, b0 in zip(arrays, before):
            assert_array_equal(a, b0)
        return
    for i, (a, b0, g) in enumerate(zip(arrays, before, grads)):
        lr = lrs[i] if grouped else lrs[0]
        assert a.dtype == b0.dtype and a.dtype != np.int64 and lr != -1.0
        gr = g.astype(a.dtype).astype(np.float64)
        wd = 0.01 if kind == "adamw" else 0.0  # AdamW decays by default, as torch
        expected = Ref(kind, lr, wd).step(b0.astype(np.float64), gr)
        tol = 1e-12 if a.dtype == np.float64 else 1e-6
        scale = max(1.0, float(np.abs(b0).max()))
        assert_allclose(a, expected, rtol=tol, atol=tol * scale)


def test_kernel_checks_its_arguments():
    from statoptim.optim._optim_fast import update

    z = np.zeros(3)

    def call(**kw):
        args = {"method": 3, "flags": 0, "form": 0, "t": 1, "grad": np.ones(3), "theta": z.copy(),
                "s1": z.copy(), "s2": z.copy(), "s3": z.copy()}
        args.update(kw)
        return update(args["method"], args["flags"], args["form"], 0.9, 0.999, 1e-8, args["t"],
                      0.1, 0.0, 0.0, args["grad"], args["theta"], args["s1"], args["s2"],
                      args["s3"])

    for name in ("grad", "s1", "s2", "s3"):
        _raises_naming(lambda name=name: call(**{name: np.zeros(2)}), name)
    _raises_naming(lambda: call(t=0), "t")
    _raises_naming(lambda: call(method=7), "method")
    _raises_naming(lambda: call(form=5), "adam_form")
    with pytest.raises(ValueError):  # one dtype for all arrays (the fused type)
        call(grad=np.ones(3, dtype=np.float32))
    pg, pp = call()
    assert pp > 0 and pg < 0
