"""statoptim.optim under hostile input (issue 12): regression tests for each crash or
silent wrong answer found by the audit, and hypothesis fuzz tests (names contain
"fuzz") over shapes, dtypes, memory layouts, magnitudes, NaN/inf placement and
parameter values.

Property of every fuzz test: a clear error (ValueError/TypeError whose message names
the offending argument), or a finite answer that agrees with a plain NumPy reference.
Crash reproducers run in a fresh interpreter (the ``isolated`` fixture).
"""
import re
import warnings

import numpy as np
import pytest
import scipy.sparse as sp
from hypothesis import assume, given, note
from hypothesis import strategies as st
from numpy.testing import assert_allclose, assert_array_equal
from optim_helpers import expect_value_errors
from reference_optim import RefOptimizer
from sklearn.exceptions import ConvergenceWarning

from statoptim import optim as so
from statoptim.optim import (
    LogisticRegression,
    SeparationWarning,
    check_separation,
    logistic_objective,
    minimize,
    newton_logistic,
)

SAFE = 2.0 ** 100  # columns with max |x| outside [1/SAFE, SAFE] count as extreme


# ------------------------------------------------------------------ helpers
def _names(exc, *names):
    """Whether the message of ``exc`` names one of ``names`` as a word."""
    msg = str(exc)
    return any(re.search(rf"(?<![A-Za-z0-9_]){re.escape(n)}(?![A-Za-z0-9_])", msg)
               for n in names)


def _raises_naming(fn, *names):
    """Call fn; it must raise ValueError/TypeError naming one of ``names``."""
    with pytest.raises((ValueError, TypeError)) as info:
        fn()
    assert _names(info.value, *names), f"message does not name {names}: {info.value}"
    return info.value


def _ref_F_g(X, y, theta, alpha):
    """F and its gradient in plain NumPy (float64); the ridge term only if alpha > 0.

    Same formulas as ``reference_optim.ref_objective`` without the Hessian (whose
    x_i x_j products overflow at the magnitudes fuzzed here)."""
    X = np.asarray(X, dtype=np.float64)
    with np.errstate(all="ignore"):
        eta = theta[0] + X @ theta[1:]
        F = np.mean(np.logaddexp(0.0, eta) - y * eta)
        a = np.exp(-np.abs(eta))
        pi = np.where(eta >= 0, 1.0 / (1.0 + a), a / (1.0 + a))
        r = pi - y
        g = np.concatenate([[r.mean()], X.T @ r / X.shape[0]])
        if alpha:
            F = F + 0.5 * alpha * np.sum(theta[1:] ** 2)
            g[1:] += alpha * theta[1:]
    return F, g, eta


def _colmax(X):
    X = np.asarray(X, dtype=np.float64)
    return np.abs(X).max(axis=0) if X.shape[0] else np.zeros(X.shape[1])


def _extreme(X):
    m = _colmax(X)
    return bool(np.any((m > SAFE) | ((m > 0) & (m < 1.0 / SAFE))))


def _newton_decrement(X, y, theta, alpha):
    """g^T H^{-1} g / F from a NumPy gradient and Hessian, in the variables theta_j
    max_i |x_ij| (the decrement does not depend on the variables; these keep H in
    range): 0 at the optimum, and what Newton's tol bounds."""
    X = np.asarray(X, dtype=np.float64)
    m = _colmax(X)
    m = np.where(m > 0, m, 1.0)
    with np.errstate(all="ignore"):
        Xs = X / m
        F, g, eta = _ref_F_g(X, y, theta, alpha)
        gs = np.concatenate([[g[0]], g[1:] / m])
        a = np.exp(-np.abs(eta))
        w = a / (1.0 + a) ** 2
        Xt = np.column_stack([np.ones(X.shape[0]), Xs])
        H = (Xt * w[:, None]).T @ Xt / X.shape[0]
        if alpha:
            H[1:, 1:] += np.diag(alpha / m / m)
        H += 1e-300 * np.eye(H.shape[0])
        dec = float(gs @ np.linalg.lstsq(H, gs, rcond=None)[0])
    return dec / max(F, 1e-300)


def _problem(n=60, p=3, seed=0):
    rng = np.random.default_rng(seed)
    X = rng.standard_normal((n, p))
    y = (X @ np.linspace(1, -1, p) + rng.standard_normal(n) > 0).astype(np.float64)
    return X, y


# ======================================================= regression: crashes
def test_objective_wrong_lengths_raise_instead_of_out_of_bounds(isolated):
    # the audit: y or theta of the wrong length, or grad=np.empty(1), read and wrote
    # out of bounds (unchecked kernels, no shape checks in the wrapper)
    proc = isolated("""
        import numpy as np
        from statoptim.optim import logistic_objective
        X = np.ones((50, 3))
        for args, kw, name in [((X, np.zeros(3), np.zeros(4), 0.1), {}, "y"),
                               ((X, np.zeros(50), np.zeros(2), 0.1), {}, "theta"),
                               ((X, np.zeros(50), np.zeros(400), 0.1), {}, "theta"),
                               ((X, np.zeros(50), np.zeros(4), 0.1),
                                {"grad": np.empty(1)}, "grad")]:
            try:
                logistic_objective(*args, **kw)
            except ValueError as exc:
                assert name in str(exc), exc
                print("ok", name)
            else:
                raise SystemExit("no error for a wrong " + name)
    """)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.split() == ["ok", "y", "ok", "theta", "ok", "theta", "ok", "grad"]


def test_kernels_check_lengths_and_row_indices(isolated):
    # the kernels themselves never trust their caller: every length, and row indices
    proc = isolated(expect_value_errors("""
        import numpy as np
        from statoptim.optim._sgd_fast import (apply_update, hessian_rows, logistic_epoch,
                                                logistic_loss_grad)
        X = np.ones((20, 3)); y = np.zeros(20); th = np.zeros(4)
        cases = [
            ("y", lambda: logistic_loss_grad(X, y[:5], th, 0.0, np.empty(4), np.empty(64))),
            ("grad", lambda: logistic_loss_grad(X, y, th, 0.0, np.empty(1), np.empty(64))),
            ("rows", lambda: hessian_rows(X, th, np.array([0, 10**9]), np.empty((2, 4)))),
            ("rows", lambda: hessian_rows(X, th, np.array([-1]), np.empty((1, 4)))),
            ("out", lambda: hessian_rows(X, th, np.array([0, 1, 2]), np.empty((1, 4)))),
            ("grad", lambda: apply_update(0, 0, 0, .9, .9, 1e-8, 1, .1, np.ones(1), th,
                                          th.copy(), th.copy(), th.copy())),
            ("s2", lambda: apply_update(3, 0, 0, .9, .9, 1e-8, 1, .1, np.ones(4), th,
                                        th.copy(), np.empty(1), th.copy())),
            ("t", lambda: apply_update(3, 0, 0, .9, .9, 1e-8, 0, .1, np.ones(4), th,
                                       th.copy(), th.copy(), th.copy())),
            ("method", lambda: apply_update(9, 0, 0, .9, .9, 1e-8, 1, .1, np.ones(4), th,
                                            th.copy(), th.copy(), th.copy())),
        ]
        order = np.arange(20, dtype=np.intp)
        def epoch(order=order, theta=th, steps=np.ones(5), resid=np.empty(4), s1=None):
            return logistic_epoch(X, y, order, 4, 0.0, 0, 0, 0, .9, .9, 1e-8, steps, 0,
                                  theta.copy(), th.copy() if s1 is None else s1, th.copy(),
                                  th.copy(), 0, 0, .9, th.copy(), np.empty(4), resid)
        bad = order.copy(); bad[7] = 10**6
        cases += [("order", lambda: epoch(order=bad)), ("order", lambda: epoch(order[:5])),
                  ("theta", lambda: epoch(theta=np.zeros(2))),
                  ("s1", lambda: epoch(s1=np.zeros(1))),
                  ("step_sizes", lambda: epoch(steps=np.ones(2))),
                  ("resid", lambda: epoch(resid=np.empty(2)))]
    """))
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.strip() == "all 15"


def test_column_absmax_kernel():
    from statoptim.optim._sgd_fast import column_absmax

    rng = np.random.default_rng(3)
    for dtype in (np.float64, np.float32):
        X = (rng.standard_normal((37, 5)) * [1, 1e-30, 1e30, 0, 3]).astype(dtype)
        out = np.empty(5)
        assert not column_absmax(X, out)
        assert_array_equal(out, np.abs(X).max(axis=0).astype(np.float64))
        X[4, 2], X[30, 0] = np.nan, -np.inf
        assert column_absmax(X, out) and out[0] == np.inf
    assert not column_absmax(np.empty((3, 0)), np.empty(0))
    with pytest.raises(ValueError, match="out"):
        column_absmax(np.ones((3, 4)), np.empty(2))


def test_stale_minibatch_state_after_solver_change(isolated):
    # the audit's reproducer: sgd fit on 3 features, newton fit on 300, then sgd
    # partial_fit on 300 ran the stale 3-feature state over 300 features (heap overflow)
    proc = isolated("""
        import warnings
        import numpy as np
        from statoptim.optim import LogisticRegression
        rng = np.random.default_rng(0)
        X3, X300 = rng.standard_normal((400, 3)), rng.standard_normal((400, 300))
        y = (rng.random(400) < 0.5).astype(int)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            est = LogisticRegression(solver="sgd", max_iter=3, random_state=0).fit(X3, y)
            est.set_params(solver="newton").fit(X300, y)
            newton_coef = est.coef_.copy()
            est.set_params(solver="sgd", learning_rate=1e-12).partial_fit(X300, y)
        # a new state (t restarts) from the Newton coefficients
        assert est.t_ == 4, est.t_
        assert np.allclose(est.coef_, newton_coef, atol=1e-9)
        try:
            est.partial_fit(X3, y)
        except ValueError as exc:
            assert "300 features" in str(exc) and "X" in str(exc), exc
        else:
            raise SystemExit("partial_fit accepted 3 features after a 300-feature fit")
        print("ok")
    """)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.strip() == "ok"


def test_refit_and_partial_fit_state_rules():
    X, y = _problem(64, 3)
    est = LogisticRegression("sgd", batch_size=16, max_iter=2, stopping=None, random_state=0)
    est.fit(X, y)
    assert est.t_ == 8 and est._runner.t == 8
    est.partial_fit(X, y)  # same solver: the state continues
    assert est.t_ == 12 and est.n_iter_ == 3
    est.fit(X, y)  # a refit starts over
    assert est.t_ == 8 and est.n_iter_ == 2
    est.set_params(solver="adam").partial_fit(X, y)  # solver change: a new state
    assert est.t_ == 4 and est.n_iter_ == 1
    est.set_params(average=True).partial_fit(X, y)  # averaging change: a new state
    assert est.t_ == 4
    # set_params applies to the continuing state (learning_rate is read per call)
    est2 = LogisticRegression("sgd", batch_size=64, random_state=0, learning_rate=0.1)
    est2.partial_fit(X, y)
    before = np.concatenate([est2.intercept_, est2.coef_[0]])
    _, g, _ = _ref_F_g(X, y, before, est2.alpha)
    est2.set_params(learning_rate=0.5, shuffle=False).partial_fit(X, y)
    after = np.concatenate([est2.intercept_, est2.coef_[0]])
    assert_allclose(after, before - 0.5 * g, rtol=1e-12, atol=1e-15)
    _raises_naming(lambda: est2.partial_fit(X, y, classes=[0, 1, 2]), "classes")
    _raises_naming(lambda: LogisticRegression("sgd").partial_fit(X, y, classes=[1, 1]),
                   "classes")
    est3 = LogisticRegression("sgd").partial_fit(X, y, classes=[1.0, 0.0])
    assert_array_equal(est3.classes_, [0.0, 1.0])


def test_objective_intercept_only_design():
    # X with no columns: the kernel called BLAS with a leading dimension of 0 and read
    # uninitialised scratch (F = 2.24 instead of log 2 here)
    y = np.array([0.0, 1.0, 1.0, 0.0, 1.0])
    F, g, max_eta = logistic_objective(np.empty((5, 0)), y, np.array([0.3]), 0.1)
    Fr, gr, _ = _ref_F_g(np.empty((5, 0)), y, np.array([0.3]), 0.1)
    assert_allclose([F, g[0], max_eta], [Fr, gr[0], 0.3], rtol=1e-14)
    theta, info = newton_logistic(np.empty((5, 0)), y, 0.0, tol=1e-20)
    assert_allclose(theta, [np.log(3 / 2)], rtol=1e-10)
    assert info["converged"]


def test_objective_zero_alpha_ignores_overflowing_norm():
    # alpha = 0 with ||theta||^2 = inf gave 0 * inf = NaN though F is finite
    X = np.full((3, 1), 1e-200)
    y = np.ones(3)
    F, g, _ = logistic_objective(X, y, np.array([0.0, 1e200]), 0.0)
    assert_allclose(F, np.log1p(np.exp(-1.0)), rtol=1e-14)
    assert np.isfinite(g).all()


def test_objective_keeps_relative_accuracy_for_well_fitted_rows():
    # eta - y eta and 1 / (1 + e) - y cancelled for y = 1 at large eta: F = 0 and a zero
    # gradient instead of log1p(e^-40) = 4.2e-18, so Newton's relative stopping test
    # (half decrement <= tol F) declared convergence on rounding noise (found by
    # fuzzing: a decrement of 4e36 F reported as converged)
    X = np.array([[1.0], [-1.0]])
    y = np.array([1.0, 0.0])
    F, g, _ = logistic_objective(X, y, np.array([0.0, 40.0]), 0.0)
    assert_allclose(F, np.log1p(np.exp(-40.0)), rtol=1e-14)
    assert_allclose(g, [0.0, -np.exp(-40.0) / (1 + np.exp(-40.0))], rtol=1e-14, atol=1e-300)
    X = np.array([[2.51460442e-01, -2.64209727e+39], [1.28084530e+00, 2.09800234e+39],
                  [-1.07133875e+00, 7.23190110e+39]])
    y = np.array([0.0, 1.0, 1.0])
    for sub in (None, 2):
        theta, info = newton_logistic(X, y, 1.0, tol=1e-16, max_iter=60, hessian_subsample=sub)
        assert not info["converged"] or _newton_decrement(X, y, theta, 1.0) <= 1e-9


def test_objective_grad_aliasing_and_output_checks():
    X, y = _problem(30, 3)
    theta = np.array([0.1, -0.2, 0.3, 0.4])
    F, g, _ = logistic_objective(X, y, theta, 0.1)
    t2 = theta.copy()
    F2, g2, _ = logistic_objective(X, y, t2, 0.1, grad=t2)  # grad is theta: theta is read first
    assert F2 == F and g2 is t2
    assert_allclose(g2, g, rtol=0, atol=0)
    flat = np.ascontiguousarray(X).reshape(-1)  # grad inside X's buffer
    _raises_naming(lambda: logistic_objective(flat.reshape(30, 3), y, theta, 0.1,
                                              grad=flat[:4]), "grad")
    _raises_naming(lambda: logistic_objective(X, y, theta, 0.1, grad=np.empty(4, np.float32)),
                   "grad")
    ro = np.empty(4)
    ro.flags.writeable = False
    _raises_naming(lambda: logistic_objective(X, y, theta, 0.1, grad=ro), "grad")


# ====================================================== regression: validation
@pytest.mark.parametrize("kw,name", [
    ({"n_iter_no_change": 0, "stopping": "loss"}, "n_iter_no_change"),
    ({"n_iter_no_change": 0}, "n_iter_no_change"),
    ({"maximize": "yes"}, "maximize"),
    ({"callback": 3}, "callback"),
    ({"batch_size": 4}, "batch_size"),
    ({"hess": lambda th: np.eye(2)}, "hess"),
    ({"method": "sgd", "momentum": 0.5}, "momentum"),
    ({"method": "adam", "amsgrad": "no"}, "amsgrad"),
    ({"method": "newton", "hess": lambda th: np.eye(2), "beta1": 0.5}, "beta1"),
    ({"x0": np.zeros((2, 2))}, "x0"),
    ({"x0": [1 + 1j, 0]}, "x0"),
    ({"x0": sp.csr_matrix([[1.0, 2.0]])}, "x0"),
    ({"schedule": lambda t: "big"}, "schedule"),
])
def test_minimize_validates_every_parameter(kw, name):
    # n_iter_no_change=0 reported success after one epoch
    kw = dict(kw)
    x0 = kw.pop("x0", np.ones(2))
    _raises_naming(lambda: minimize(lambda th, r: (float(th @ th), 2 * th), x0, **kw), name)


@pytest.mark.parametrize("out,name", [
    ((np.ones(2), np.zeros(2)), "value"), ((1j, np.zeros(2)), "value"),
    ((1.0, 1j * np.ones(2)), "gradient"), ((1.0, np.array(["a", "b"])), "gradient"),
    ((True, np.zeros(2)), "value"),
])
def test_minimize_checks_what_fun_returns(out, name):
    _raises_naming(lambda: minimize(lambda th, r: out, np.ones(2)), name)


def test_minimize_diverging_steps_raise():
    # the update itself overflows (x = 1 - 1e308 * 2 = -inf): raise before calling fun
    with pytest.raises(ValueError, match="diverged.*learning_rate"):
        minimize(lambda th, r: (float(th @ th), 2 * th), np.ones(2), method="sgd",
                 learning_rate=1e308)


def test_optimizer_step_state_and_failure_leave_params_unchanged():
    opt = so.Adam(0.1)
    x = np.ones(3)
    opt.step(x, np.ones(3))
    _raises_naming(lambda: opt.step(np.ones(4), np.ones(4)), "params")  # stale state size
    opt.t = -2
    _raises_naming(lambda: opt.step(x, np.ones(3)), "t")
    opt.reset()
    opt.step(np.ones(4), np.ones(4))  # after reset a new size is fine
    sgd = so.SGD(1e308)
    x = np.array([1.0, 2.0])
    _raises_naming(lambda: sgd.step(x, [1e10, 1.0]), "learning_rate")
    assert_array_equal(x, [1.0, 2.0])
    assert sgd.t == 0 and sgd._state is None
    _raises_naming(lambda: so.SGD().step(np.array([np.nan]), [1.0]), "params")
    _raises_naming(lambda: so.SGD().step(np.ones(2), np.ones((2, 1))), "grad")
    _raises_naming(lambda: so.SGD().step(np.ones(2), 1j * np.ones(2)), "grad")
    _raises_naming(lambda: so.Momentum(nesterov="yes").step(np.ones(2), np.ones(2)), "nesterov")


@pytest.mark.parametrize("y,name", [
    (np.r_[-np.ones(25), np.ones(25)], "y"), (np.r_[np.zeros(25), np.ones(27)], "y"),
    (np.r_[np.zeros(24), np.nan, np.ones(25)], "y"), (np.full(50, 0.5), "y"),
])
def test_newton_logistic_validates_labels(y, name):
    X, _ = _problem(50, 3)
    _raises_naming(lambda: newton_logistic(X, y, 0.1), name)
    _raises_naming(lambda: check_separation(X, y), name)
    _raises_naming(lambda: logistic_objective(X, y, np.zeros(4), 0.1), name)


@pytest.mark.parametrize("kw,name", [
    ({"alpha": -1.0}, "alpha"), ({"alpha": np.nan}, "alpha"), ({"tol": -1.0}, "tol"),
    ({"max_iter": -1}, "max_iter"), ({"theta0": np.zeros(3)}, "theta0"),
    ({"theta0": [0, np.inf, 0, 0]}, "theta0"), ({"hessian_subsample": 1}, "hessian_subsample"),
    ({"separation_check": "no"}, "separation_check"), ({"rng": "seed"}, "rng"),
    ({"callback": 1}, "callback"),
])
def test_newton_logistic_validates_parameters(kw, name):
    X, y = _problem(50, 3)
    kw = {"alpha": 0.1, **kw}
    alpha = kw.pop("alpha")
    _raises_naming(lambda: newton_logistic(X, y, alpha, **kw), name)


def test_subsampled_newton_confirms_convergence_with_the_full_hessian():
    # found by the fuzz suite: with a 2-row Hessian the line search failed (or the
    # decrement was small) away from the optimum and "converged" was reported with a
    # true Newton decrement of 1.3e-7 F at tol=1e-16
    X = np.array([[1.32964489, -0.73463461], [1.35175251, 0.41270962],
                  [-4.20388546, -2.68495628], [0.39049974, 4.63280215],
                  [1.29152573, -0.77012394], [-0.06468802, -2.70429239],
                  [0.55505578, -1.5823888], [-2.84726788, -2.10564994]])
    y = np.array([1.0, 1.0, 0.0, 1.0, 0.0, 0.0, 1.0, 1.0])
    n_converged = 0
    for seed in [None, 1, 2, 3, 4]:
        theta, info = newton_logistic(X, y, 0.0, tol=1e-16, max_iter=60,
                                      hessian_subsample=2, rng=seed)
        assert info["separable"] is False
        if info["converged"]:  # only when it is true
            n_converged += 1
            assert _newton_decrement(X, y, theta, 0.0) <= 1e-12
    assert n_converged >= 1


def test_newton_shift_is_relative_to_the_scaled_hessian():
    # found by the fuzz suite: with a column of 1e29 next to ones, the Levenberg shift
    # (1e-12 max H_jj) swamped the other coefficients and Newton reported convergence
    # far from the optimum (true decrement 0.34 F here, 0.98 F on the fuzz example)
    for seed in range(30, 40):  # collinear columns of 1e28 and 1e48 next to an O(1) one
        rng = np.random.default_rng(seed)
        u, v = rng.standard_normal(6), rng.standard_normal(6)
        X = np.column_stack([u * 1e28, u * 1e48, v])
        y = (rng.random(6) < 0.5).astype(float)
        theta, info = newton_logistic(X, y, 1e-4, tol=1e-16)
        assert info["converged"] or seed != 35
        if info["converged"]:  # before: "converged" at decrements up to 2e29 F
            assert _newton_decrement(X, y, theta, 1e-4) <= 1e-12
    X = np.array([[5.12233967e+89, -1.67462809e+29], [2.60912796e+90, 1.32976696e+29]])
    theta, info = newton_logistic(X, [0, 1], 0.01, tol=1e-16)
    assert not info["converged"] or _newton_decrement(X, np.array([0.0, 1.0]), theta,
                                                      0.01) <= 1e-9


def test_newton_logistic_rejects_bad_X():
    X, y = _problem(50, 3)
    Xn = X.copy()
    Xn[4, 2] = np.nan
    _raises_naming(lambda: newton_logistic(Xn, y, 0.1), "X")
    _raises_naming(lambda: newton_logistic(sp.csr_matrix(X), y, 0.1), "X")
    _raises_naming(lambda: newton_logistic(X + 0j, y, 0.1), "X")
    _raises_naming(lambda: newton_logistic(X[:0], y[:0], 0.1), "X")
    _raises_naming(lambda: newton_logistic(X[:, 0], y, 0.1), "X")
    with pytest.raises(TypeError, match="X"):
        newton_logistic(sp.csr_matrix(X), y, 0.1)


def test_estimator_checks_every_parameter_whatever_the_solver():
    X, y = _problem(40, 3)
    for params, name in [({"momentum": 1.5}, "momentum"), ({"eps_inside": "no"}, "eps_inside"),
                         ({"warm_start": 2}, "warm_start"), ({"batch_size": 0}, "batch_size"),
                         ({"random_state": "x"}, "random_state"),
                         ({"learning_rate": -1.0}, "learning_rate")]:
        for solver in ("newton", "lbfgs", "adam"):
            est = LogisticRegression(solver, **params)
            _raises_naming(lambda est=est: est.fit(X, y), name)


def test_estimator_errors_name_the_argument():
    X, y = _problem(40, 3)
    _raises_naming(lambda: LogisticRegression().fit(X + 1j, y), "X")
    _raises_naming(lambda: LogisticRegression().fit(X[:0], y[:0]), "X")
    _raises_naming(lambda: LogisticRegression().fit(X, y[:-1]), "X", "y")
    _raises_naming(lambda: LogisticRegression().fit(X, np.linspace(0, 1, 40)), "y")
    # issue 16: sparse X is supported now; a sparse X with NaN data is a clear error
    Xs = sp.csr_matrix(X)
    Xs.data[3] = np.nan
    with pytest.raises(ValueError, match="X"):
        LogisticRegression().fit(Xs, y)


# ================================================== regression: magnitudes
@pytest.mark.parametrize("scale", [2.0 ** 1000, 2.0 ** -1000, 1e300, 1e-300])
def test_extreme_columns_are_rescaled_exactly_at_alpha_zero(scale):
    # 1e300 gave theta = 0 (overflowing Hessian) and 1e-300 a silently wrong answer
    X, y = _problem(80, 3, seed=1)
    theta, info = newton_logistic(X, y, 0.0, tol=1e-20)
    assert info["converged"]
    Xs = X.copy()
    Xs[:, 1] *= scale  # one extreme column next to ordinary ones
    expected = theta.copy()
    expected[2] /= scale
    for fit in (lambda: newton_logistic(Xs, y, 0.0, tol=1e-20)[0],
                lambda: _coef(LogisticRegression(alpha=0.0, tol=1e-20).fit(Xs, y)),
                lambda: _coef(LogisticRegression("lbfgs", alpha=0.0, tol=1e-12).fit(Xs, y))):
        got = fit()
        assert np.all(np.isfinite(got))
        assert_allclose(got, expected, rtol=1e-6)
    away = 0.7 * expected  # the objective off the optimum, where the gradient is O(x)
    F, g, _ = logistic_objective(Xs, y, away, 0.0)
    Fr, gr, _ = _ref_F_g(Xs, y, away, 0.0)
    assert_allclose(F, Fr, rtol=1e-12)
    assert_allclose(g, gr, rtol=1e-10)
    assert check_separation(Xs, y) == check_separation(X, y)


def _coef(est):
    return np.concatenate([est.intercept_, est.coef_[0]])


def test_extreme_columns_with_a_ridge():
    X, y = _problem(80, 3, seed=1)
    # representable: X * 2^200 with alpha * 2^400 is the same problem (theta / 2^200)
    theta, _ = newton_logistic(X, y, 0.5, tol=1e-20)
    got, _ = newton_logistic(X * 2.0 ** 200, y, 0.5 * 2.0 ** 400, tol=1e-20)
    assert_allclose(got[1:] * 2.0 ** 200, theta[1:], rtol=1e-9)
    assert_allclose(got[0], theta[0], rtol=1e-9)
    # not representable: alpha / max|x|^2 underflows, a clear error
    for fit in (lambda: newton_logistic(X * 1e300, y, 0.1),
                lambda: LogisticRegression(alpha=0.1).fit(X * 1e-300, y),
                lambda: LogisticRegression("lbfgs", alpha=0.1).fit(X * 1e300, y)):
        exc = _raises_naming(fit, "X")
        assert _names(exc, "alpha")


@pytest.mark.parametrize("scale", [1e29, 1e-29, 2.0 ** 1000, 2.0 ** -1070])
def test_separation_lp_at_any_column_scale(scale):
    # found by the fuzz suite: a column of 1e29 made HiGHS stop with "Model error"
    # (a RuntimeError from check_separation and from Newton at alpha=0)
    X = np.array([[0.0, 0.0], [1.0, 1.0], [0.0, 1.0], [1.0, 0.0]])
    for y, separable in (([0, 1, 0, 1], True), ([0, 0, 1, 1], False)):  # x_1 > 0.5; XOR
        assert check_separation(X, y) is separable
        Xs = X.copy()
        Xs[:, 1] *= scale
        assert check_separation(Xs, y) is separable


def test_coefficients_beyond_float64_are_a_clear_error():
    # a subnormal column: the coefficient of the (separated) fit is ~1e323, beyond
    # float64; a clear error instead of inf coefficients
    X = np.array([[2e-323], [-2e-323]])
    with pytest.raises(ValueError, match="X.*not representable"):
        LogisticRegression(alpha=0.0).fit(X, [0, 1])


@pytest.mark.parametrize("solver", ["sgd", "momentum", "rmsprop", "adam", "adamax"])
@pytest.mark.parametrize("scale", [1e300, 1e-300])
def test_stochastic_solvers_refuse_extreme_columns(solver, scale):
    # adam returned theta = 0 at 1e300, sgd "converged" to the wrong coefficients at 1e-300
    X, y = _problem(40, 3)
    _raises_naming(lambda: LogisticRegression(solver, alpha=0.0).fit(X * scale, y), "X")
    _raises_naming(lambda: LogisticRegression(solver).partial_fit(X * scale, y), "X")


def test_objective_overflow_is_a_clear_error():
    X = np.full((3, 2), 1e308)
    exc = _raises_naming(lambda: logistic_objective(X, np.ones(3), np.r_[0.0, -1, -1], 0.1),
                         "X")
    assert _names(exc, "theta")
    # huge columns: the row sums are done on the rescaled columns, no overflow
    F, g, _ = logistic_objective(np.full((300, 2), 1e307), np.ones(300),
                                 np.r_[0.0, 1e-307, 1e-307], 0.1)
    assert_allclose(F, np.log1p(np.exp(-2.0)), rtol=1e-12)
    assert_allclose(g[1:], -1e307 / (1 + np.exp(2.0)), rtol=1e-12)


# ====================================================================== fuzz
DTYPES = ["float64", "float32", "int64", "bool", "float16", "object", "complex128", "str"]
LAYOUTS = ["C", "F", "strided", "readonly", "list"]


def _layout(A, layout):
    if layout == "F":
        return np.asfortranarray(A)
    if layout == "strided":
        B = np.repeat(A, 2, axis=-1) if A.ndim else A
        return B[..., ::2] if A.ndim else B
    if layout == "readonly":
        B = A.copy()
        B.flags.writeable = False
        return B
    if layout == "list":
        return A.tolist()
    return A


@st.composite
def designs(draw, min_rows=0, max_rows=20, min_cols=0, max_cols=4):
    """(X as given to the function, X in float64 as the function should read it or
    None if X is invalid)."""
    n = draw(st.integers(min_rows, max_rows))
    p = draw(st.integers(min_cols, max_cols))
    seed = draw(st.integers(0, 2 ** 32 - 1))
    base = np.random.default_rng(seed).standard_normal((n, p)) * 2
    if draw(st.booleans()):  # column magnitudes: powers of two (exact) or of ten
        exps = draw(st.lists(st.sampled_from([0, 0, 0, -1070, -1000, -300, -101, 99, 300, 1000,
                                              1021]), min_size=p, max_size=p))
        with np.errstate(all="ignore"):
            base = np.ldexp(base, np.array(exps, dtype=int))
    else:
        exps = draw(st.lists(st.sampled_from([0, 0, -300, -40, 40, 300]), min_size=p,
                             max_size=p))
        base = base * 10.0 ** np.array(exps, dtype=float)
    bad = draw(st.sampled_from([None] * 6 + ["nan", "inf", "-inf"]))
    if bad is not None and base.size:
        i = draw(st.integers(0, n - 1))
        j = draw(st.integers(0, p - 1))
        base[i, j] = {"nan": np.nan, "inf": np.inf, "-inf": -np.inf}[bad]
    dtype = draw(st.sampled_from(DTYPES))
    with np.errstate(all="ignore"), warnings.catch_warnings():
        warnings.simplefilter("ignore")
        if dtype == "str":
            A = base.astype(str)
        elif dtype == "object":
            A = base.astype(object)
        else:
            A = base.astype(dtype)
    layout = draw(st.sampled_from(LAYOUTS))
    X = _layout(A, layout)
    if layout == "list" and A.size == 0:  # [[], []] carries no dtype: an empty float array
        return X, np.zeros(A.shape) if A.ndim == 2 and A.shape[0] else None
    if dtype in ("complex128", "str"):
        return X, None
    with np.errstate(all="ignore"):
        read = np.asarray(A, dtype=np.float64)
    if not np.all(np.isfinite(read)):
        return X, None
    return X, read


@st.composite
def labels01(draw, n):
    """(y as given, y as float64 0/1 or None if invalid)."""
    seed = draw(st.integers(0, 2 ** 32 - 1))
    y = (np.random.default_rng(seed).random(n) < 0.5).astype(np.float64)
    kind = draw(st.sampled_from(["float", "int", "bool", "list", "pm1", "short", "long",
                                 "nan", "half", "complex", "2d"]))
    if kind == "float":
        return y, y
    if kind == "int":
        return y.astype(np.int64), y
    if kind == "bool":
        return y.astype(bool), y
    if kind == "list":
        return y.tolist(), y
    if kind == "pm1":
        return 2 * y - 1, (y if n and not np.any(y == 0) else None)
    if kind == "short":
        return (y[:-1], None) if n else (y, y)
    if kind == "long":
        return np.r_[y, 1.0], None
    if kind == "nan":
        return np.r_[y[:-1], np.nan] if n else y, (None if n else y)
    if kind == "half":
        return np.r_[y[:-1], 0.5] if n else y, (None if n else y)
    if kind == "complex":
        return y + 0j, None
    return y[:, None], None


def _check_error(exc, valid, names):
    """An error on valid input is a failure; on invalid input it must name an argument."""
    assert not valid, f"valid input raised {type(exc).__name__}: {exc}"
    assert _names(exc, *names), f"message names none of {names}: {exc}"


@given(data=st.data())
def test_fuzz_logistic_objective(data):
    X, Xr = data.draw(designs(min_rows=0))
    n, p = np.shape(X) if np.ndim(X) == 2 else (len(X), 0)
    y, yr = data.draw(labels01(n))
    seed = data.draw(st.integers(0, 2 ** 32 - 1))
    u = np.random.default_rng(seed).standard_normal(p + 1)
    theta_kind = data.draw(st.sampled_from(["matched", "matched", "raw", "short", "nan"]))
    theta = u.copy()
    if theta_kind == "matched" and Xr is not None and Xr.shape[1] == p:  # |eta| of order one
        m = _colmax(Xr)
        with np.errstate(all="ignore"):
            theta[1:] = np.where(m > 0, u[1:] / np.where(m > 0, m, 1.0), u[1:])
    theta_ok = theta_kind in ("matched", "raw") and np.all(np.isfinite(theta))
    if theta_kind == "short":
        theta = theta[:-1]
    elif theta_kind == "nan":
        theta[-1] = np.nan
    alpha = data.draw(st.sampled_from([0.0, 0.0, 1e-3, 1.0, 1e300, -1.0, np.nan, np.inf]))
    alpha_ok = np.isfinite(alpha) and alpha >= 0
    grad_kind = data.draw(st.sampled_from([None, None, "ok", "short", "f32"]))
    grad = {None: None, "ok": np.empty(p + 1), "short": np.empty(max(p, 1) - 1 + 0),
            "f32": np.empty(p + 1, np.float32)}[grad_kind]
    X_ok = Xr is not None and n >= 1
    y_ok = yr is not None and X_ok
    valid = X_ok and y_ok and theta_ok and alpha_ok and grad_kind in (None, "ok")
    note(f"n={n} p={p} X_ok={X_ok} y_ok={y_ok} theta={theta_kind} alpha={alpha} "
         f"grad={grad_kind}")
    try:
        F, g, max_eta = logistic_objective(X, y, theta, alpha, grad=grad)
    except (ValueError, TypeError) as exc:
        if valid:  # only a genuine float64 overflow may stop valid input
            Fr, gr, eta = _ref_F_g(Xr, yr, theta, alpha)
            assert not (np.isfinite(Fr) and np.all(np.isfinite(gr))
                        and np.all(np.isfinite(eta))), f"valid input raised: {exc}"
            assert _names(exc, "X", "theta")
            return
        names = [k for k, ok in (("X", X_ok), ("y", y_ok), ("theta", theta_ok),
                                 ("alpha", alpha_ok), ("grad", grad_kind in (None, "ok")))
                 if not ok]
        _check_error(exc, valid, names or ["X"])
        return
    assert valid, "invalid input accepted"
    assert np.isfinite(F) and np.all(np.isfinite(g)) and np.isfinite(max_eta)
    Fr, gr, eta = _ref_F_g(Xr, yr, theta, alpha)
    assume(np.isfinite(Fr) and np.all(np.isfinite(gr)))  # the reference itself overflowed
    pen = 0.5 * alpha * float(np.sum(theta[1:] ** 2)) if alpha else 0.0
    assert abs(F - Fr) <= 1e-10 * (1.0 + abs(Fr) + float(np.max(np.abs(eta))) + pen)
    Xt = np.column_stack([np.ones(n), Xr])
    scale_g = np.abs(Xt).max(axis=0) * (1 + 1e-300) + alpha * np.abs(theta)
    assert np.all(np.abs(g - gr) <= 1e-9 * scale_g + 1e-300)
    assert max_eta == pytest.approx(float(np.max(np.abs(eta))), rel=1e-9, abs=1e-300)


@given(data=st.data())
def test_fuzz_newton_logistic(data):
    X, Xr = data.draw(designs(min_rows=0, max_rows=30, max_cols=3))
    n = np.shape(X)[0] if np.ndim(X) >= 1 else 0
    y, yr = data.draw(labels01(n))
    alpha = data.draw(st.sampled_from([0.0, 0.0, 1e-2, 1.0, -1.0, np.nan]))
    alpha_ok = np.isfinite(alpha) and alpha >= 0
    sub = data.draw(st.sampled_from([None, None, 1, 2, 5, 10 ** 9]))
    X_ok = Xr is not None and n >= 1
    y_ok = yr is not None and X_ok
    valid = X_ok and y_ok and alpha_ok and sub != 1
    note(f"X_ok={X_ok} y_ok={y_ok} alpha={alpha} sub={sub}")
    try:
        theta, info = newton_logistic(X, y, alpha, tol=1e-16, max_iter=60,
                                      hessian_subsample=sub)
    except (ValueError, TypeError) as exc:
        if valid and alpha == 0 and "rows of positive weight" in str(exc):
            # the refusal of an unpenalised fit with fewer rows than coefficients (its
            # Hessian is singular everywhere); constant columns are not counted
            assert Xr.shape[0] < Xr.shape[1] + 1 and _names(exc, "alpha")
            return
        if valid:  # the legitimate refusals: a ridge or coefficients that are not
            # representable in float64 at the scale of X
            assert _extreme(Xr) and "not representable" in str(exc), f"valid input raised: {exc}"
            assert _names(exc, "X") and (alpha == 0 or _names(exc, "alpha"))
            return
        names = [k for k, ok in (("X", X_ok), ("y", y_ok), ("alpha", alpha_ok),
                                 ("hessian_subsample", sub != 1)) if not ok]
        _check_error(exc, valid, names)
        return
    assert valid, "invalid input accepted"
    assert theta.shape == (Xr.shape[1] + 1,) and np.all(np.isfinite(theta))
    if info["converged"] and not info["separable"]:
        assert _newton_decrement(Xr, yr, theta, alpha) <= 1e-9


@given(data=st.data())
def test_fuzz_logistic_regression(data):
    X, Xr = data.draw(designs(min_rows=2, max_rows=30, min_cols=1, max_cols=3))
    n = len(X)
    if np.asarray(X).dtype.kind == "U":  # scikit-learn reads numeric strings
        Xr = np.asarray(X).astype(np.float64)
        Xr = Xr if np.all(np.isfinite(Xr)) else None
    seed = data.draw(st.integers(0, 2 ** 32 - 1))
    y01 = (np.random.default_rng(seed).random(n) < 0.5).astype(int)
    y01[:2] = [0, 1]
    label_kind = data.draw(st.sampled_from(["int", "str", "bool", "pm1", "one", "three"]))
    y = {"int": y01, "str": np.where(y01, "yes", "no"), "bool": y01.astype(bool),
         "pm1": 2.0 * y01 - 1, "one": np.zeros(n), "three": np.arange(n) % 3}[label_kind]
    y_ok = label_kind != "one" and not (label_kind == "three" and n >= 3)
    solver = data.draw(st.sampled_from(["newton", "lbfgs", "sgd", "adam"]))
    alpha = data.draw(st.sampled_from([0.0, 1e-2, 1.0, -1.0]))
    param, value, param_ok = data.draw(st.sampled_from([
        (None, None, True), (None, None, True), ("max_iter", 0, False),
        ("batch_size", 0, False), ("learning_rate", np.nan, False), ("beta1", 1.0, False),
        ("tol", -1.0, False), ("shuffle", "x", False), ("average", True, True),
        ("hessian_subsample", 5, True), ("warm_start", "y", False)]))
    params = {} if param is None else {param: value}
    X_ok = Xr is not None
    valid = X_ok and y_ok and alpha >= 0 and param_ok
    stochastic = solver in ("sgd", "adam")
    note(f"solver={solver} alpha={alpha} labels={label_kind} params={params} X_ok={X_ok}")
    kw = {"max_iter": 5} if stochastic else {"tol": 1e-16}
    kw.update(params)
    est = LogisticRegression(solver, alpha=alpha, random_state=0, **kw)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always", (ConvergenceWarning, SeparationWarning))
        try:
            est.fit(X, y)
        except (ValueError, TypeError) as exc:
            if valid:  # refusals: the stochastic solvers, a ridge or coefficients that
                # are not representable at the scale of X
                assert _extreme(Xr) and (stochastic or alpha > 0 or "not representable"
                                         in str(exc)), f"valid input raised: {exc}"
                assert _names(exc, "X")
                return
            names = [k for k, ok in (("X", X_ok), ("y", y_ok), ("alpha", alpha >= 0),
                                     (param, param_ok)) if not ok]
            if X_ok and _extreme(Xr):  # the scale refusal may come before other checks
                names.append("X")
            _check_error(exc, valid, names)
            return
    assert valid, "invalid input accepted"
    theta = _coef(est)
    assert np.all(np.isfinite(theta))
    P = est.predict_proba(X)
    assert np.all(np.isfinite(P)) and np.all((P >= 0) & (P <= 1))
    assert_allclose(P.sum(axis=1), 1.0, rtol=1e-12)
    yb = (np.asarray(y) == est.classes_[1]).astype(np.float64)
    warned = any(issubclass(w.category, (ConvergenceWarning, SeparationWarning))
                 for w in caught)
    if solver == "newton" and not warned:
        assert _newton_decrement(Xr, yb, theta, alpha) <= 1e-9
    if solver == "lbfgs" and not warned and alpha > 0 and not _extreme(Xr):
        th_newton, _ = newton_logistic(Xr, yb, alpha, tol=1e-16)
        F, _, _ = _ref_F_g(Xr, yb, theta, alpha)
        F_star, _, _ = _ref_F_g(Xr, yb, th_newton, alpha)
        assert F <= F_star + 1e-6 * (1 + F_star)


def _quadratic(d, c):
    def fun(theta, rows):
        r = theta - c
        return 0.5 * float(np.sum(d * r * r)), d * r

    return fun


@given(data=st.data())
def test_fuzz_minimize(data):
    k = data.draw(st.integers(1, 4))
    seed = data.draw(st.integers(0, 2 ** 32 - 1))
    rng = np.random.default_rng(seed)
    d = rng.uniform(0.5, 2.0, k)
    c = rng.standard_normal(k)
    method = data.draw(st.sampled_from(["sgd", "momentum", "rmsprop", "adam", "adamax",
                                        "newton"]))
    x0_kind = data.draw(st.sampled_from(["ok", "ok", "list", "2d", "nan", "empty", "complex"]))
    x0 = {"ok": np.zeros(k), "list": [0.0] * k, "2d": np.zeros((k, 1)),
          "nan": np.full(k, np.nan), "empty": np.zeros(0), "complex": np.zeros(k) + 1j}[x0_kind]
    x0_ok = x0_kind in ("ok", "list")
    param, value, param_ok = data.draw(st.sampled_from([
        (None, None, True), (None, None, True), ("n_iter_no_change", 0, False),
        ("max_iter", 0, False), ("tol", np.nan, False), ("learning_rate", -1.0, False),
        ("stopping", "loss", True), ("stopping", None, True), ("average", "ema", True),
        ("average", "polyak", True), ("schedule", "invsqrt", True), ("n_samples", 7, True),
        ("batch_size", 3, False), ("shuffle", "batches", True), ("random_state", -3, False),
        ("beta1", 0.5, None), ("momentum", 1.0, False), ("maximize", 1, False)]))
    kw = {} if param is None else {param: value}
    if param == "beta1":  # an option: only adam and adamax read it
        param_ok = method in ("adam", "adamax")
    hess = (lambda th: np.diag(d)) if method == "newton" else None
    valid = x0_ok and param_ok
    note(f"method={method} x0={x0_kind} kw={kw}")
    call = {"learning_rate": 0.3} if method in ("sgd", "momentum") else {}
    call.update(kw)
    try:
        res = minimize(_quadratic(d, c), x0, method=method, hess=hess, **call)
    except (ValueError, TypeError) as exc:
        _check_error(exc, valid, [n for n, ok in (("x0", x0_ok), (param, param_ok)) if not ok])
        return
    assert valid, "invalid input accepted"
    assert np.all(np.isfinite(res.x)) and np.isfinite(res.fun)
    F, g = _quadratic(d, c)(res.x, None)
    assert res.fun == pytest.approx(F, rel=1e-12, abs=1e-300)
    if method == "newton":
        assert_allclose(res.x, c, rtol=1e-10, atol=1e-10)
    elif res.success and kw.get("stopping", "grad") == "grad":
        assert np.abs(g).max() <= (kw.get("tol") or 1e-4)


_OPT = {"sgd": so.SGD, "momentum": so.Momentum, "rmsprop": so.RMSprop, "adam": so.Adam,
        "adamax": so.Adamax}


def _step_inputs(p0, g0, p_kind, g_kind):
    """params and grad of one fuzzed optimiser step, in the requested kind."""
    if p_kind == "ok":
        params = p0.copy()
    elif p_kind == "f32":
        params = p0.astype(np.float32)
    elif p_kind == "F":
        params = np.asfortranarray(p0.copy())  # a copy also when p0 is already F-ordered
    elif p_kind in ("strided", "readonly", "list"):
        params = _layout(p0, p_kind)
    else:  # "nan"
        params = p0.copy()
        if params.size:
            params.flat[0] = np.nan
    grad = {"ok": lambda: g0, "list": g0.tolist, "f32": lambda: g0.astype(np.float32),
            "int": lambda: np.round(g0).astype(np.int64) if np.all(np.abs(g0) < 1e15) else g0,
            "shape": lambda: g0.reshape(-1, 1) if g0.ndim == 1 else g0.reshape(-1),
            "nan": lambda: np.full(g0.shape, np.nan), "complex": lambda: g0 + 1j,
            "sparse": lambda: sp.csr_matrix(g0.reshape(1, -1))}[g_kind]()
    return params, grad


@given(data=st.data())
def test_fuzz_optimizer_step(data):
    method = data.draw(st.sampled_from(list(_OPT)))
    shape = tuple(data.draw(st.lists(st.integers(0, 3), min_size=1, max_size=2)))
    seed = data.draw(st.integers(0, 2 ** 32 - 1))
    rng = np.random.default_rng(seed)
    p0 = rng.standard_normal(shape)
    g0 = rng.standard_normal(shape) * 10.0 ** data.draw(st.sampled_from([0, -200, 200]))
    p_kind = data.draw(st.sampled_from(["ok", "ok", "f32", "F", "strided", "readonly",
                                        "list", "nan"]))
    g_kind = data.draw(st.sampled_from(["ok", "ok", "list", "f32", "int", "shape", "nan",
                                        "complex", "sparse"]))
    lr = data.draw(st.sampled_from([None, 0.1, 1e-3, 0.0, -1.0, np.inf]))
    with np.errstate(all="ignore"):
        params, grad = _step_inputs(p0, g0, p_kind, g_kind)
        g_read = None if g_kind == "complex" else np.asarray(
            grad.toarray() if sp.issparse(grad) else grad, dtype=np.float64)
    p_ok = p0.size > 0 and (p_kind in ("ok", "f32") or (p_kind in ("F", "strided") and
                                                        np.asarray(params).flags.c_contiguous
                                                        and np.asarray(params).flags.writeable))
    g_ok = (g_kind in ("ok", "list", "f32", "int") and g_read is not None
            and np.all(np.isfinite(g_read)) and g_read.shape == shape)
    f32 = p_kind == "f32"  # float32 parameters: the gradient is read in float32
    if g_ok and f32:
        with np.errstate(over="ignore"):
            g_ok = bool(np.all(np.isfinite(g_read.astype(np.float32))))
    lr_ok = lr is None or (np.isfinite(lr) and lr > 0)
    valid = p_ok and g_ok and lr_ok
    opt = _OPT[method](lr)
    before = np.array(params, dtype=object if p_kind == "list" else None, copy=True)
    note(f"method={method} shape={shape} params={p_kind} grad={g_kind} lr={lr}")
    try:
        out = opt.step(params, grad)
    except (ValueError, TypeError) as exc:
        if valid:  # a step that would overflow the parameters is refused
            assert "non-finite" in str(exc) and _names(exc, "learning_rate"), exc
        else:
            _check_error(exc, valid, [n for n, ok in (("params", p_ok), ("grad", g_ok),
                                                      ("learning_rate", lr_ok)) if not ok])
        if isinstance(params, np.ndarray):
            assert_array_equal(params, before)  # untouched on error
        assert opt.t == 0
        return
    assert valid, "invalid input accepted"
    assert out is params and opt.t == 1 and np.all(np.isfinite(params))
    default_lr = {"sgd": 0.01, "momentum": 0.01, "rmsprop": 1e-3, "adam": 1e-3, "adamax": 2e-3}
    ref = RefOptimizer(method, p0.size, lr=default_lr[method] if lr is None else lr)
    with np.errstate(all="ignore"):
        g_ref = g_read.astype(np.float32).astype(np.float64) if f32 else g_read
        expected = ref.step(np.asarray(before, dtype=np.float64).reshape(-1), g_ref.reshape(-1))
    if f32:  # state in float32: agreement to float32 precision
        scale = max(1.0, float(np.abs(before).max()))
        assert params.dtype == np.float32
        assert_allclose(params.reshape(-1), expected, rtol=1e-6, atol=1e-6 * scale)
    else:
        assert_allclose(params.reshape(-1), expected, rtol=1e-12, atol=0)


@given(data=st.data())
def test_fuzz_check_separation(data):
    n = data.draw(st.integers(1, 12))
    p = data.draw(st.integers(0, 3))
    seed = data.draw(st.integers(0, 2 ** 32 - 1))
    rng = np.random.default_rng(seed)
    X = rng.integers(-3, 4, size=(n, p)).astype(np.float64)
    y = (rng.random(n) < 0.5).astype(np.float64)
    if data.draw(st.booleans()) and p:  # make it separable on purpose
        y = (X[:, 0] > 0).astype(np.float64)
    expected = check_separation(X, y)
    exps = np.array(data.draw(st.lists(st.sampled_from([0, -1000, -300, 300, 1000]),
                                       min_size=p, max_size=p)), dtype=int)
    Xs = np.ldexp(X, exps)
    layout = data.draw(st.sampled_from(["C", "F", "strided", "readonly", "list"]))
    assert check_separation(_layout(Xs, layout), y.astype(bool)) == expected
    if n and p:
        Xn = Xs.copy()
        Xn[0, 0] = np.nan
        _raises_naming(lambda: check_separation(Xn, y), "X")
    _raises_naming(lambda: check_separation(Xs, np.r_[y, 0.0]), "y")
    # the LP's answer against the definition on the small integer grid: a direction
    # theta with s_i x~_i theta >= 0 for all rows and > 0 for some
    s = 2 * y - 1
    A = np.column_stack([s, X * s[:, None]])
    grid = np.stack(np.meshgrid(*[np.arange(-3, 4)] * (p + 1)), -1).reshape(-1, p + 1)
    scores = grid @ A.T
    keep = np.ptp(X, axis=0) > 0 if n > 1 else np.zeros(p, bool)
    const = np.r_[False, ~keep]
    found = bool(np.any(np.all(scores >= 0, axis=1) & np.any(scores > 0, axis=1)
                        & ~np.any(grid[:, const] != 0, axis=1)))
    if found:
        assert expected
