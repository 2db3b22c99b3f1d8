"""Multi-view CP-tensor model, its BCD solver, kernels and retrieval metrics.

Independent answers: dense NumPy Kronecker formulas (reference_multiview.py),
central finite differences, grid search, ordinary least squares, a planted
low-rank model and scikit-learn's average_precision_score.
"""
import inspect
import os
import pickle

import numpy as np
import pytest
from _multiview_helpers import with_view
from numpy.testing import assert_allclose
from reference_multiview import (
    average_precision,
    block_hessian,
    hadamard_products,
    objective,
    topic_scores,
)
from sklearn.base import clone
from sklearn.exceptions import ConvergenceWarning, UndefinedMetricWarning
from sklearn.metrics import average_precision_score

from statoptim import (
    MultiViewTensorMachine,
    map_at_k,
    mean_average_precision,
    precision_at_k,
    retrieve,
)
from statoptim.multiview import (
    MixingCollapseWarning,
    RedundantRankWarning,
    ZeroScoreWarning,
    _cp,
)
from statoptim.multiview._losses import BOEHNING_CURVATURE
from statoptim.multiview._solver import CPSolver

N_SMALL = 40


@pytest.fixture(autouse=True)
def _single_thread_blas():
    """The solver is called directly here; the estimator limits BLAS itself."""
    from threadpoolctl import threadpool_limits

    with threadpool_limits(1, user_api="blas"):
        yield


def _designs(rng, n_samples, dims):
    out = []
    for d in dims:
        z = np.ones((n_samples, d + 1))
        z[:, 1:] = rng.standard_normal((n_samples, d))
        out.append(z)
    return out


def _small_solver(rng, mu, dims=((4, 3), (5,)), n_topics=3, rank=3, reg=0.05, **kw):
    Z = [_designs(rng, N_SMALL, dims[0]), _designs(rng, N_SMALL, dims[1])]
    Y = (rng.random((N_SMALL, n_topics)) < 0.4).astype(float)
    solver = CPSolver(Z, Y, rank, reg, mu, rng=np.random.default_rng(1), **kw)
    solver.set_state(Phi=[rng.standard_normal((n_topics, rank)) for _ in range(2)],
                     alpha=rng.uniform(0.1, 0.9, n_topics))
    return solver


def _fd(fun, x, h=1e-6):
    """Central finite differences of the scalar fun at the array x (copied)."""
    g = np.zeros_like(x)
    for idx in np.ndindex(x.shape):
        xp, xm = x.copy(), x.copy()
        xp[idx] += h
        xm[idx] -= h
        g[idx] = (fun(xp) - fun(xm)) / (2 * h)
    return g


def _rel_err(num, ana):
    return np.max(np.abs(num - ana)) / np.max(np.abs(ana))


# --------------------------------------------------------------------- kernels
def test_hadamard_products_match_reference(rng):
    A = rng.standard_normal((3, 50, 4))
    A[1, 3, 2] = 0.0  # exact zeros need prefix/suffix products, not division
    prod, loo = np.empty((50, 4)), np.empty((3, 50, 4))
    _cp.hadamard_products(A, prod, loo)
    ref_prod, ref_loo = hadamard_products(A)
    assert_allclose(prod, ref_prod, rtol=1e-14, atol=0)
    assert_allclose(loo, ref_loo, rtol=1e-14, atol=0)
    one = np.empty((1, 50, 4))
    _cp.hadamard_products(A[:1], prod, one)
    assert_allclose(one[0], 1.0, rtol=0, atol=0)


@pytest.mark.parametrize("n_samples", [7, 300, 513])  # below, above and not a multiple of a chunk
def test_khatri_rao_system_matches_dense_kronecker(rng, n_samples):
    Z = _designs(rng, n_samples, [4])[0]
    W = rng.standard_normal((n_samples, 3))
    M = rng.standard_normal((3, 3))
    Q = M @ M.T
    H = np.empty((15, 15))
    _cp.khatri_rao_system(Z, W, Q, 1.0 / n_samples, 0.3, H, np.empty((256 if n_samples > 256
                                                                       else n_samples, 15)))
    assert_allclose(H, block_hessian(Z, W, Q, 0.3), rtol=1e-12, atol=1e-13)
    # the operator form applies the same matrix (vec stacks the columns of Theta)
    theta = rng.standard_normal((5, 3))
    out = np.empty_like(theta)
    _cp.block_operator(Z, W, Q, 1.0 / n_samples, 0.3, theta, np.empty((n_samples, 3)),
                       np.empty((n_samples, 3)), out)
    assert_allclose(out.T.ravel(), H @ theta.T.ravel(), rtol=1e-12, atol=1e-12)
    rhs = rng.standard_normal(15)
    x = rhs.copy()
    assert _cp.cholesky_solve(H.copy(), x) == 0
    assert_allclose(x, np.linalg.solve(block_hessian(Z, W, Q, 0.3), rhs), rtol=1e-10, atol=0)


def test_weighted_cross_matches_numpy(rng):
    Z = _designs(rng, 60, [5])[0]
    W, M, T = (rng.standard_normal((60, 4)) for _ in range(3))
    theta = rng.standard_normal((6, 4))
    out = np.empty((6, 4))
    _cp.weighted_cross(Z, W, M, 0.5, theta, 0.2, np.empty((60, 4)), out)
    assert_allclose(out, 0.5 * Z.T @ (W * M) + 0.2 * theta, rtol=1e-13, atol=1e-13)


@pytest.mark.parametrize("update", ["exact", "cg", "prox-linear"])
def test_numpy_backend_gives_the_same_fit(rng, update):
    """The whole BCD run on the plain-NumPy kernel twins matches the Cython run."""
    Z = [_designs(rng, 80, (4, 3)), _designs(rng, 80, (5,))]
    Y = (rng.random((80, 3)) < 0.4).astype(float)
    runs = []
    for backend in ("cython", "numpy"):
        s = CPSolver(Z, Y, 3, 0.05, 0.5, block_update=update, rng=np.random.default_rng(3),
                     backend=backend)
        runs.append(s.fit(10, -np.inf)[0])
    # 10 cycles amplify summation-order differences of the BLAS calls: rtol 1e-9
    assert_allclose(runs[0], runs[1], rtol=1e-9)


# ------------------------------------------------------- objective, gradients
@pytest.mark.parametrize("mu", [0.0, 0.5])
def test_objective_matches_reference(rng, mu):
    s = _small_solver(rng, mu)
    Theta, Phi, alpha = s.get_state()
    assert_allclose(s.objective(), objective(s.Z, Theta, Phi, alpha, s.Y, s.reg, mu),
                    rtol=1e-13, atol=0)


def _assert_block_gradients(s, J, Theta, Phi, alpha, dTheta, dPhi, dalpha):
    """Every block gradient against central differences of the objective J."""
    for m in range(2):
        for v in range(len(s.Z[m])):
            def f_theta(x, m=m, v=v):
                return J(with_view(Theta, m, v, x), Phi, alpha)
            assert _rel_err(_fd(f_theta, Theta[m][v]), dTheta[m][v]) < 1e-7

        def f_phi(x, m=m):
            P = [p.copy() for p in Phi]
            P[m] = x
            return J(Theta, P, alpha)
        assert _rel_err(_fd(f_phi, Phi[m]), dPhi[m]) < 1e-7
    assert _rel_err(_fd(lambda a: J(Theta, Phi, a), alpha), dalpha) < 1e-7


@pytest.mark.parametrize("mu", [0.0, 0.5])
def test_block_gradients_match_central_differences(rng, mu):
    s = _small_solver(rng, mu)
    dTheta, dPhi, dalpha = s.gradients()
    Theta, Phi, alpha = s.get_state()
    J = lambda T, P, a: objective(s.Z, T, P, a, s.Y, s.reg, mu)  # noqa: E731
    _assert_block_gradients(s, J, Theta, Phi, alpha, dTheta, dPhi, dalpha)


def test_spec_b_gradients(rng):
    """Spec B (one topic, Phi frozen at 1): the same kernels give eq. (7)/(8)."""
    s = _small_solver(rng, 0.0, n_topics=1)
    s.set_state(Phi=[np.ones((1, 3)), np.ones((1, 3))])
    dTheta, _, _ = s.gradients()
    Theta, Phi, alpha = s.get_state()
    for m in range(2):
        for v in range(len(s.Z[m])):
            def f_theta(x, m=m, v=v):
                return objective(s.Z, with_view(Theta, m, v, x), Phi, alpha, s.Y, s.reg, 0.0)
            assert _rel_err(_fd(f_theta, Theta[m][v]), dTheta[m][v]) < 1e-7
            # the talk's eq. (7)/(8): alpha_p Z^T [dL/df o Pi^(-v)] + 2 lambda Theta
            F = s.f[0] * s.alpha + s.f[1] * (1 - s.alpha)
            G = 2.0 / N_SMALL * (F - s.Y) * s.weights(m)
            eq7 = s.Z[m][v].T @ (s.loo[m][v] * G) + 2 * s.reg * Theta[m][v]
            assert_allclose(dTheta[m][v], eq7, rtol=1e-12, atol=1e-14)


def test_theta_gradient_is_twice_the_block_system_residual(rng):
    s = _small_solver(rng, 0.5)
    dTheta, _, _ = s.gradients()
    W, Q, B = s.theta_system(0, 1)
    H = s.assemble_H(0, 1)
    theta = s.Theta[0][1]
    assert_allclose(dTheta[0][1].T.ravel(), 2 * (H @ theta.T.ravel() - B.T.ravel()),
                    rtol=1e-10, atol=1e-12)


# ------------------------------------------------------------------ BCD steps
@pytest.mark.parametrize("mu", [0.0, 1.0])
@pytest.mark.parametrize("learn", [True, False])
@pytest.mark.parametrize("update", ["exact", "cg", "prox-linear"])
def test_objective_never_increases(rng, mu, learn, update):
    s = _small_solver(rng, mu, learn_mixing=learn, block_update=update, extrapolate=False)
    s.initialize()
    values, labels, n_iter, _, _ = s.fit(30, -np.inf)  # no early stop
    assert n_iter == 30 and len(values) == len(labels)
    assert np.max(np.diff(values)) <= 1e-12 * abs(values[0])


def test_block_gradient_vanishes_after_exact_update(rng):
    s = _small_solver(rng, 0.5)
    for m in range(2):
        s.update_phi(m)
        g = s.gradients()[1][m]
        assert np.max(np.abs(g)) <= 1e-8 * np.max(np.abs(s.Phi[m]))
        for v in range(len(s.Z[m])):
            s.update_theta_exact(m, v)
            g = s.gradients()[0][m][v]
            assert np.max(np.abs(g)) <= 1e-8 * np.max(np.abs(s.Theta[m][v]))
    s.update_alpha()
    g = s.gradients()[2]
    inside = (s.alpha > 0) & (s.alpha < 1)
    assert np.all(np.abs(g[inside]) <= 1e-10)
    assert np.all(g[s.alpha == 0] >= -1e-12) and np.all(g[s.alpha == 1] <= 1e-12)


def test_single_view_shortcut_equals_kronecker_solve(rng):
    s = _small_solver(rng, 0.5, dims=((4,), (5,)))
    shortcut = s.get_state()
    s.update_theta_exact(1, 0)
    fast = s.Theta[1][0].copy()
    s.set_state(*shortcut)
    s.problem.single_view_grams[1] = None  # force the generic Khatri-Rao + Cholesky path
    s.update_theta_exact(1, 0)
    assert_allclose(s.Theta[1][0], fast, rtol=1e-10, atol=1e-12)


def test_iterative_solves_match_cholesky(rng):
    """PCG to round-off equals the factored solve; for one view, CG steps are exact."""
    s = _small_solver(rng, 0.5, dims=((6, 5), (5,)), rank=4)
    start = s.get_state()
    for m, v in [(0, 0), (0, 1)]:
        s.set_state(*start)
        s.update_theta_exact(m, v)  # Cholesky (size 28 or 24 <= CHOLESKY_MAX_SIZE)
        chol = s.Theta[m][v].copy()
        s.set_state(*start)
        s.problem.cholesky_max_size = 0
        s.update_theta_exact(m, v)
        s.problem.cholesky_max_size = 3000
        assert_allclose(s.Theta[m][v], chol, rtol=1e-9, atol=1e-11)
    s.set_state(*start)
    s.update_theta_exact(1, 0)
    exact = s.Theta[1][0].copy()
    s.set_state(*start)
    s.update_theta_cg(1, 0)  # the mean-field preconditioner is H itself when V = 1
    assert_allclose(s.Theta[1][0], exact, rtol=1e-9, atol=1e-11)


def test_alpha_closed_form_beats_grid(rng):
    s = _small_solver(rng, 0.0)
    # topic 0: unconstrained optimum pushed outside [0, 1]; topic 2: Delta = 0
    s.Y[:, 0] = 3.0 * s.f[0][:, 0] - 2.0 * s.f[1][:, 0]
    s.Phi[0][2] = 0.0
    s.Phi[1][2] = 0.0
    s.refresh()
    before = s.alpha.copy()
    s.update_alpha()
    assert np.all((s.alpha >= 0) & (s.alpha <= 1))
    assert s.alpha[0] == 1.0 and s.alpha[2] == before[2]
    grid = np.linspace(0, 1, 10001)
    for p in range(2):
        def J(a):
            alpha = s.alpha.copy()
            alpha[p] = a
            s.alpha = alpha
            return s.objective()
        best = s.alpha[p]
        J_star = J(best)
        J_grid = min(J(a) for a in grid)
        J(best)
        assert J_star <= J_grid + 1e-12 * abs(J_grid)


def test_prox_linear_with_extrapolation_reaches_exact_objective(rng):
    exact = _small_solver(rng, 1.0, block_update="exact")
    exact.initialize()
    J_exact = exact.fit(500, 1e-12)[0][-1]
    prox = CPSolver(exact.Z, exact.Y, 3, 0.05, 1.0, rng=np.random.default_rng(1),
                    block_update="prox-linear")
    J_prox = prox.fit(3000, 1e-12)[0][-1]
    # both are local minima of a nonconvex problem from the same start; here the same one
    assert_allclose(J_prox, J_exact, rtol=1e-4)


# ------------------------------------------------------------ planted truths
@pytest.mark.parametrize("seed", [1, 4])
def test_planted_low_rank_model_is_recovered(seed):
    """alpha = 1, mu = 0: pure MFM regression on modality a (2 views, rank 3).

    BCD on a CP model can stall in a swamp from an unlucky start, so the fit
    with the lowest training objective among three starts is checked, against
    the noiseless truth on held-out rows (factors are identifiable only up to
    scaling, sign and permutation, predictions are).
    """
    rng = np.random.default_rng(seed)
    n, rank, n_topics = 2000, 3, 2
    Xa = [rng.standard_normal((2 * n, 3)), rng.standard_normal((2 * n, 4))]
    Xb = [rng.standard_normal((2 * n, 2))]
    theta = [rng.standard_normal((4, rank)), rng.standard_normal((5, rank))]
    phi = rng.standard_normal((n_topics, rank))

    def design(X, rows):
        return [np.column_stack([np.ones(len(rows)), x[rows]]) for x in X]

    def predict(Z, thetas, phi):
        Pi = np.ones((Z[0].shape[0], rank))
        for z, t in zip(Z, thetas):
            Pi *= z @ t
        return Pi @ phi.T

    train, test = np.arange(n), np.arange(n, 2 * n)
    f_train = predict(design(Xa, train), theta, phi)
    f_test = predict(design(Xa, test), theta, phi)
    Y = f_train + 0.01 * np.std(f_train) * rng.standard_normal(f_train.shape)
    Z = [design(Xa, train), design(Xb, train)]
    fits = []
    for start in range(3):
        s = CPSolver(Z, Y, rank, 1e-8, 0.0, learn_mixing=False,
                     rng=np.random.default_rng(start))
        s.set_state(alpha=np.ones(n_topics))
        J = s.fit(300, 1e-13)[0][-1]
        fits.append((J, predict(design(Xa, test), s.Theta[0], s.Phi[0])))
    pred = min(fits, key=lambda fit: fit[0])[1]
    rel_rmse = np.sqrt(np.mean((pred - f_test) ** 2) / np.mean(f_test ** 2))
    assert rel_rmse < 5e-3


def test_single_view_limit_is_least_squares(rng):
    """alpha = 1, mu = 1, R = P, lambda -> 0: f_m is the least-squares fit of Y on [1, X_m]."""
    n, n_topics = 200, 4
    Z = [_designs(rng, n, [6]), _designs(rng, n, [5])]
    Y = rng.standard_normal((n, n_topics))
    s = CPSolver(Z, Y, n_topics, 1e-10, 1.0, learn_mixing=False, rng=np.random.default_rng(0))
    s.set_state(alpha=np.ones(n_topics))
    s.fit(20, 0.0)
    for m in range(2):
        coef = np.linalg.lstsq(Z[m][0], Y, rcond=None)[0]
        ls = Z[m][0] @ coef
        assert np.linalg.norm(s.f[m] - ls) <= 1e-6 * np.linalg.norm(ls)


# --------------------------------------------------------------- estimator API
def _toy(rng, n=120, n_classes=3):
    y = np.repeat(np.arange(n_classes), n // n_classes)
    a = [rng.standard_normal((n, 5)) + 2 * y[:, None],
         rng.standard_normal((n, 3)) * (1 + y[:, None])]
    b = [rng.standard_normal((n, 4)) - 2 * y[:, None]]
    return a, b, y


def test_estimator_fit_and_retrieval(rng):
    a, b, y = _toy(rng)
    model = MultiViewTensorMachine(n_components=3, random_state=0, tol=1e-4).fit(a, b, y)
    assert model.objective_labels_[0] == "init" and len(model.objective_) == len(
        model.objective_labels_)
    assert model.objective_labels_[1:6] == ["phi_a", "theta_a[0]", "theta_a[1]", "phi_b",
                                            "theta_b[0]"]
    assert np.max(np.diff(model.objective_)) <= 1e-12 * model.objective_[0]
    fa, fb = model.decision_function(a, "a"), model.decision_function(b, modality="b")
    assert fa.shape == (120, 3) and fb.shape == (120, 3)
    assert model.mixing_weights_.shape == (3,) and model.n_iter_ >= 1
    assert_allclose(model.predict_mixed(a, b),
                    fa * model.mixing_weights_ + fb * (1 - model.mixing_weights_), rtol=1e-14)
    ranking = retrieve(fa, fb, random_state=0)
    assert mean_average_precision(y, y, ranking) > 0.8
    # 1-D labels are one-hot encoded
    onehot = (y[:, None] == np.arange(3)).astype(float)
    other = MultiViewTensorMachine(n_components=3, random_state=0, tol=1e-4).fit(a, b, onehot)
    assert_allclose(other.objective_, model.objective_, rtol=1e-14)


def test_seeding_and_row_permutation_invariance(rng):
    a, b, y = _toy(rng)
    kw = dict(n_components=3, random_state=7, max_iter=15, tol=0.0)
    with pytest.warns(ConvergenceWarning, match="max_iter=15"):
        m1 = MultiViewTensorMachine(**kw).fit(a, b, y)
    with pytest.warns(ConvergenceWarning):
        m2 = MultiViewTensorMachine(**kw).fit(a, b, y)
    assert np.array_equal(m1.objective_, m2.objective_)
    for t1, t2 in zip(m1.view_factors_[0], m2.view_factors_[0]):
        assert np.array_equal(t1, t2)
    perm = rng.permutation(len(y))
    with pytest.warns(ConvergenceWarning):
        m3 = MultiViewTensorMachine(**kw).fit([x[perm] for x in a], [x[perm] for x in b],
                                               y[perm])
    assert_allclose(m3.objective_, m1.objective_, rtol=1e-10)
    assert_allclose(m3.decision_function(a, "a"), m1.decision_function(a, "a"),
                    rtol=1e-10, atol=1e-12)
    m4 = MultiViewTensorMachine(n_components=3, random_state=8, max_iter=15, tol=0.0)
    with pytest.warns(ConvergenceWarning):
        m4.fit(a, b, y)
    assert not np.array_equal(m4.objective_, m1.objective_)


def test_n_init_keeps_the_lowest_objective(rng):
    a, b, y = _toy(rng)
    kw = dict(n_components=3, tol=1e-4, random_state=np.random.default_rng(5))
    best = MultiViewTensorMachine(n_init=3, **kw).fit(a, b, y)
    gen = np.random.default_rng(5)
    finals = []
    for _ in range(3):  # the same three starts, one after the other
        kw["random_state"] = gen
        finals.append(MultiViewTensorMachine(n_init=1, **kw).fit(a, b, y).objective_[-1])
    assert best.objective_[-1] == min(finals)


def test_clone_params_and_pickle(rng):
    a, b, y = _toy(rng)
    model = MultiViewTensorMachine(n_components=2, consensus=0.5, mixing="fixed", random_state=0,
                                   tol=1e-4)
    assert clone(model).get_params() == model.get_params()
    model.fit(a, b, y)
    assert np.all(model.mixing_weights_ == 0.5)
    assert "alpha" not in model.objective_labels_
    again = pickle.loads(pickle.dumps(model))
    assert_allclose(again.decision_function(b, "b"), model.decision_function(b, "b"),
                    rtol=0, atol=0)


def test_mixing_collapse_is_detected(rng):
    """Spec section 4: mu = 0 with a large lambda drives alpha to {0, 1} on a 40-row toy."""
    rng = np.random.default_rng(0)
    y = np.repeat(np.arange(4), 10)
    a = rng.standard_normal((40, 5)) + 0.5 * y[:, None]
    b = rng.standard_normal((40, 4)) - 0.5 * y[:, None]
    with pytest.warns(MixingCollapseWarning, match="reached 0 or 1"):
        model = MultiViewTensorMachine(n_components=3, alpha=0.1, consensus=0.0,
                                       random_state=0, max_iter=200, tol=1e-8).fit([a], [b], y)
    assert np.all(np.isin(model.mixing_weights_, [0.0, 1.0]))
    # the zero-weight modality's topic factor is exactly 0 for the collapsed topics
    for p, alpha in enumerate(model.mixing_weights_):
        assert np.all(model.topic_factors_[0 if alpha == 0 else 1][p] == 0)
    # consensus > 0 keeps both modalities scoring every topic: no warning
    model = MultiViewTensorMachine(n_components=3, alpha=0.1, random_state=0,
                                   tol=1e-4).fit([a], [b], y)
    assert np.all(np.abs(model.topic_factors_[0]).sum(axis=1) > 0)


def test_redundant_rank_warns(rng):
    a, b, y = _toy(rng)
    with pytest.warns(RedundantRankWarning,
                      match=r"n_components=5 > min\(n_topics, n_features \+ 1\)=3"):
        MultiViewTensorMachine(n_components=5, random_state=0, max_iter=3, tol=1).fit(a, b, y)


@pytest.mark.parametrize("kwargs, match", [
    (dict(n_components=0), "n_components must be an integer >= 1, got 0"),
    (dict(n_components=2.5), "n_components must be an integer"),
    (dict(alpha=0.0), "alpha must be a finite number > 0"),
    (dict(consensus=-1.0), "consensus must be a finite number >= 0"),
    (dict(mixing="both"), "mixing must be 'learn' or 'fixed', got 'both'"),
    (dict(block_update="newton"), "block_update must be"),
    (dict(loss="hinge"), "loss must be 'squared' or 'softmax', got 'hinge'"),
    (dict(max_iter=0), "max_iter must be an integer >= 1"),
    (dict(n_init=0), "n_init must be an integer >= 1"),
])
def test_bad_parameters(rng, kwargs, match):
    a, b, y = _toy(rng)
    with pytest.raises(ValueError, match=match):
        MultiViewTensorMachine(**kwargs).fit(a, b, y)


@pytest.mark.parametrize("old, new", [("rank", "n_components"), ("regularization", "alpha"),
                                      ("linear_regularization", "linear_alpha")])
def test_old_parameter_names_are_rejected(old, new):
    """The package's naming table: n_components, alpha, linear_alpha (no aliases)."""
    with pytest.raises(TypeError, match=f"unexpected keyword argument '{old}'"):
        MultiViewTensorMachine(**{old: 3})
    with pytest.raises(ValueError, match=f"Invalid parameter '{old}'"):
        MultiViewTensorMachine().set_params(**{old: 3})
    model = MultiViewTensorMachine(**{new: 3})
    params = model.get_params()
    assert params[new] == 3 and old not in params
    assert f"{new}=3" in repr(model)


def test_public_names_follow_the_naming_table(rng):
    """get_params lists the new names; the weights' path ends at mixing_weights_."""
    params = MultiViewTensorMachine().get_params()
    assert {"n_components", "alpha", "linear_alpha"} <= set(params)
    assert not {"rank", "regularization", "linear_regularization"} & set(params)
    assert list(inspect.signature(MultiViewTensorMachine).parameters)[0] == "n_components"
    a, b, y = _toy(rng)
    model = MultiViewTensorMachine(n_components=2, alpha=0.05, random_state=0,
                                   max_iter=5, tol=0.0)
    with pytest.warns(ConvergenceWarning, match="max_iter=5"):
        model.fit(a, b, y)
    assert not hasattr(model, "alpha_path_")
    assert model.mixing_weights_path_.shape == (model.n_iter_ + 1, 3)
    assert np.array_equal(model.mixing_weights_path_[-1], model.mixing_weights_)
    assert model.topic_factors_[0].shape == (3, 2)
    with pytest.raises(ValueError, match="n_components must be an integer >= 1, got 0"):
        model.set_params(n_components=0).fit(a, b, y)
    with pytest.raises(ValueError, match=r"alpha / \(1 \+ consensus\) must lie in"):
        model.set_params(n_components=2, alpha=1e-20).fit(a, b, y)


def test_bad_input(rng):
    a, b, y = _toy(rng)
    model = MultiViewTensorMachine(n_components=2)
    with pytest.raises(ValueError, match=r"views_b\[0\] must have 120 rows"):
        model.fit(a, [b[0][:-1]], y)
    with pytest.raises(ValueError, match=r"views_a\[1\] must have 120 rows"):
        model.fit([a[0], a[1][:50]], b, y)
    with pytest.raises(ValueError, match=r"views_a\[1\] must be a non-empty 2-D array.*\(120, 0\)"):
        model.fit([a[0], np.empty((120, 0))], b, y)
    with pytest.raises(ValueError, match="views_b must contain at least one view"):
        model.fit(a, [], y)
    with pytest.raises(ValueError, match=r"views_a\[0\] must be a 2-D array"):
        model.fit([a[0][:, 0]], b, y)
    bad = a[0].copy()
    bad[3, 1] = np.nan
    with pytest.raises(ValueError, match=r"views_a\[0\] contains NaN"):
        model.fit([bad, a[1]], b, y)
    bad[3, 1] = np.inf
    with pytest.raises(ValueError, match=r"views_a\[0\] contains infinity"):
        model.fit([bad, a[1]], b, y)
    Y = (y[:, None] == np.arange(4)).astype(float)
    with pytest.raises(ValueError, match=r"at least one positive in every topic.*\[3\]"):
        model.fit(a, b, Y)
    with pytest.raises(ValueError, match="Y must be a 0/1 indicator matrix, got the value 0.5"):
        model.fit(a, b, np.full((120, 2), 0.5))
    with pytest.raises(ValueError, match="Y must have 120 rows"):
        model.fit(a, b, y[:-1])
    with pytest.raises(ValueError, match="Y must not contain NaN"):
        model.fit(a, b, np.where(y == 0, np.nan, y))
    model.set_params(max_iter=2, tol=1.0).fit(a, b, y)
    with pytest.raises(ValueError, match=r"views_a must have 2 views as in fit, got 1"):
        model.decision_function([a[0]], "a")
    with pytest.raises(ValueError, match=r"views_b\[0\] must have 4 features as in fit, got 3"):
        model.decision_function([b[0][:, :3]], "b")
    with pytest.raises(ValueError, match="modality must be 'a' or 'b'"):
        model.decision_function(b, "text")


# -------------------------------------------------------------------- metrics
def _scores(rng, n_queries, n_database, n_topics=5):
    return rng.standard_normal((n_queries, n_topics)), rng.standard_normal((n_database, n_topics))


@pytest.mark.parametrize("similarity", ["cosine", "dot"])
def test_map_equals_sklearn_average_precision(rng, similarity):
    q, d = _scores(rng, 37, 80)
    yq, yd = rng.integers(0, 4, 37), rng.integers(0, 4, 80)
    yq[0] = 9
    yd[5] = 9  # a query with a single relevant item
    ranking = retrieve(q, d, similarity=similarity, random_state=0)
    if similarity == "cosine":
        S = (q / np.linalg.norm(q, axis=1, keepdims=True)) @ (
            d / np.linalg.norm(d, axis=1, keepdims=True)).T
    else:
        S = q @ d.T
    assert np.all(np.argsort(-S, axis=1) == ranking)  # tie-free
    ref = [average_precision_score(yd == yq[i], S[i]) for i in range(37)]
    per_query = mean_average_precision(yq, yd, ranking, per_query=True)
    assert_allclose(per_query, ref, rtol=1e-12, atol=1e-15)
    assert_allclose(mean_average_precision(yq, yd, ranking), np.mean(ref), rtol=1e-12)
    # and the definition of eq. (10), by a plain loop
    assert_allclose(per_query[3], average_precision(yd[ranking[3]] == yq[3]), rtol=1e-12)


def test_map_multilabel_matches_sklearn(rng):
    q, d = _scores(rng, 20, 60)
    Lq = (rng.random((20, 6)) < 0.3).astype(int)
    Ld = (rng.random((60, 6)) < 0.3).astype(int)
    Lq[Lq.sum(axis=1) == 0, 0] = 1
    Ld[:, 0] = np.where(np.arange(60) < 3, 1, Ld[:, 0])
    ranking = retrieve(q, d, similarity="dot", random_state=0)
    S = q @ d.T
    rel = (Lq @ Ld.T) > 0
    ref = [average_precision_score(rel[i], S[i]) for i in range(20)]
    assert_allclose(mean_average_precision(Lq, Ld, ranking, per_query=True), ref,
                    rtol=1e-12, atol=1e-15)


def test_collapsed_model_tie_breaking():
    """Spec section 3: all scores equal on the class-sorted UCI test set (10 x 100)."""
    labels = np.repeat(np.arange(10), 100)
    scores = np.ones((1000, 4))
    by_index = retrieve(scores, scores, ties="index")
    expected = np.mean([np.mean([j / (100 * c + j) for j in range(1, 101)])
                        for c in range(10)])
    assert_allclose(expected, 0.2088, atol=5e-5)
    assert_allclose(mean_average_precision(labels, labels, by_index), expected, rtol=1e-12)
    random_order = [mean_average_precision(labels, labels, retrieve(scores, scores,
                                                                    random_state=s))
                    for s in range(2)]
    # chance: (1/D) sum_k [1 + (k-1)(R-1)/(D-1)] / k = 0.106; 2000 queries -> sd ~ 0.001
    D, R = 1000, 100
    chance = np.mean([(1 + (k - 1) * (R - 1) / (D - 1)) / k for k in range(1, D + 1)])
    assert_allclose(chance, 0.106, atol=5e-4)
    assert_allclose(np.mean(random_order), chance, atol=0.004)
    # scikit-learn's tie semantics (one threshold per tied block) give the prevalence
    assert_allclose(average_precision_score(labels == 0, np.ones(1000)), 0.1, rtol=1e-12)
    # index ties: every query's top 50 is class 0, relevant only to the 100 class-0 queries
    assert_allclose(precision_at_k(labels, labels, by_index, 50), 0.1, rtol=1e-12)


def test_zero_score_vectors_warn(rng):
    q, d = _scores(rng, 5, 10)
    q[2] = 0.0
    with pytest.warns(ZeroScoreWarning, match="1 of the 5 query score vectors are zero"):
        ranking = retrieve(q, d, random_state=0)
    assert sorted(ranking[2]) == list(range(10))


def test_precision_and_map_at_k_hand_computed():
    labels_q = np.array([0, 1])
    labels_d = np.array([0, 1, 0, 1, 0])
    ranking = np.array([[0, 1, 2, 3, 4],      # rel 1 0 1 0 1
                        [0, 2, 4, 1, 3]])     # rel 0 0 0 1 1
    assert_allclose(precision_at_k(labels_q, labels_d, ranking, 2), (1 / 2 + 0) / 2, rtol=1e-15)
    assert_allclose(precision_at_k(labels_q, labels_d, ranking, 5), (3 / 5 + 2 / 5) / 2,
                    rtol=1e-15)
    # AP@3: query 0 -> (1/1 + 2/3) / 2; query 1 -> no relevant item in top 3 -> 0
    assert_allclose(map_at_k(labels_q, labels_d, ranking, 3), ((1 + 2 / 3) / 2 + 0) / 2,
                    rtol=1e-15)
    # full AP: query 0 -> (1 + 2/3 + 3/5)/3, query 1 -> (1/4 + 2/5)/2
    assert_allclose(mean_average_precision(labels_q, labels_d, ranking),
                    ((1 + 2 / 3 + 3 / 5) / 3 + (1 / 4 + 2 / 5) / 2) / 2, rtol=1e-15)
    assert_allclose(map_at_k(labels_q, labels_d, ranking, 5),
                    mean_average_precision(labels_q, labels_d, ranking), rtol=1e-15)


def test_metric_errors(rng):
    labels = np.array([0, 1, 0])
    ranking = np.array([[0, 1, 2], [2, 1, 0], [1, 0, 2]])
    with pytest.raises(ValueError, match=r"k=4 exceeds the number of database items \(3\)"):
        precision_at_k(labels, labels, ranking, 4)
    with pytest.raises(ValueError, match="k must be a positive integer"):
        map_at_k(labels, labels, ranking, 0)
    with pytest.raises(ValueError, match="k=3 exceeds the length of the rankings"):
        precision_at_k(labels, labels, ranking[:, :2], 3)
    with pytest.raises(ValueError, match="needs a full ranking"):
        mean_average_precision(labels, labels, ranking[:, :2])
    with pytest.raises(ValueError, match="must not repeat"):
        mean_average_precision(labels, labels, np.array([[0, 0, 1]] * 3))
    with pytest.raises(ValueError, match="ranking must have 3 rows"):
        mean_average_precision(labels, labels, ranking[:2])
    with pytest.raises(ValueError, match=r"database indices in \[0, 3\)"):
        precision_at_k(labels, labels, ranking + 1, 1)
    with pytest.warns(UndefinedMetricWarning, match="no relevant database item"):
        value = mean_average_precision(np.array([5, 0, 0]), labels, ranking)
    # AP: query 0 has no relevant item -> 0; query 1 rel 1,0,1; query 2 rel 0,1,1
    assert_allclose(value, (0 + (1 + 2 / 3) / 2 + (1 / 2 + 2 / 3) / 2) / 3, rtol=1e-12)
    q, d = _scores(rng, 3, 4)
    with pytest.raises(ValueError, match="n_results must be an integer in"):
        retrieve(q, d, n_results=5)
    with pytest.raises(ValueError, match="database must have 5 columns like queries, got 4"):
        retrieve(q, d[:, :4])
    with pytest.raises(ValueError, match="similarity must be 'cosine' or 'dot'"):
        retrieve(q, d, similarity="euclid")
    with pytest.raises(ValueError, match="queries must be finite"):
        retrieve(np.full((2, 5), np.nan), d)
    assert retrieve(q, d, n_results=2, random_state=0).shape == (3, 2)


GOLDEN = os.path.join(os.path.dirname(__file__), "golden_multiview.json")


def _golden_payload():
    """Fitted outputs of a fixed small problem (objective trace, predictions, mAP)."""
    rng = np.random.default_rng(2026)
    a, b, y = _toy(rng, n=90)
    model = MultiViewTensorMachine(n_components=3, random_state=0, max_iter=8, tol=0.0)
    with pytest.warns(ConvergenceWarning):
        model.fit(a, b, y)
    fa, fb = model.decision_function(a, "a"), model.decision_function(b, "b")
    return {
        "objective": model.objective_.tolist(),
        "labels": model.objective_labels_,
        "mixing_weights": model.mixing_weights_.tolist(),
        "scores_a": fa[::9].tolist(),
        "scores_b": fb[::9].tolist(),
        "map_a_to_b": mean_average_precision(y, y, retrieve(fa, fb, random_state=0)),
    }


def test_golden_master():
    """Guards against silent changes of fitted outputs (scikit-learn#19549-style).

    Regenerate only on purpose: STATOPTIM_REGEN_GOLDEN=1 pytest -k golden_master.
    """
    import json

    payload = _golden_payload()
    if os.environ.get("STATOPTIM_REGEN_GOLDEN"):
        with open(GOLDEN, "w") as fh:
            json.dump(payload, fh, indent=1)
    with open(GOLDEN) as fh:
        gold = json.load(fh)
    assert payload["labels"] == gold["labels"]
    # 8 BCD cycles amplify BLAS summation-order differences across machines: 1e-7
    for key in ("objective", "mixing_weights", "scores_a", "scores_b"):
        assert_allclose(payload[key], gold[key], rtol=1e-7, atol=1e-9)
    assert_allclose(payload["map_a_to_b"], gold["map_a_to_b"], rtol=0, atol=1e-12)


def test_study_precision_recall_points_hand_computed():
    from statoptim.studies.multiview import precision_recall_points

    labels_q, labels_d = np.array([0]), np.array([0, 1, 0, 1])
    ranking = np.array([[0, 1, 2, 3]])  # rel 1 0 1 0: precision 1, 1/2, 2/3, 1/2
    pts = precision_recall_points(labels_q, labels_d, ranking, [0.0, 0.5, 0.6, 1.0])
    assert_allclose(pts, [1.0, 1.0, 2 / 3, 2 / 3], rtol=1e-15)


# ------------------------------------------------------------------ real data
def _data_dir():
    """The data folder holding wikipedia_rasiwasia2010/ and uci_multifeature/, or None."""
    from statoptim.datasets import find_dataset

    found = [find_dataset(name, required=False)
             for name in ("wikipedia_rasiwasia2010", "uci_multifeature")]
    if None in found or os.path.dirname(found[0]) != os.path.dirname(found[1]):
        return None
    return os.path.dirname(found[0])


@pytest.mark.skipif(_data_dir() is None, reason="shared Wikipedia data not available")
def test_wikipedia_consensus_model_matches_ridge_semantic_matching():
    """Spec section 8.6: on Wikipedia with mu = 1, lambda = 1e-3, mAP within 0.005 of LS-SM."""
    from sklearn.linear_model import Ridge
    from sklearn.preprocessing import StandardScaler

    from statoptim.datasets import load_wikipedia_rasiwasia

    w = load_wikipedia_rasiwasia(os.path.join(_data_dir(), "wikipedia_rasiwasia2010"))
    onehot = (w["y_train"][:, None] == np.arange(10)).astype(float)
    yt = w["y_test"]

    def ridge_scores(train, test):
        sc = StandardScaler().fit(train)
        return Ridge(alpha=1.0).fit(sc.transform(train), onehot).predict(sc.transform(test))

    ls_i = ridge_scores(w["image_train"], w["image_test"])
    ls_t = ridge_scores(w["text_train"], w["text_test"])
    model = MultiViewTensorMachine(n_components=10, random_state=0, max_iter=30, tol=1e-4).fit(
        [w["image_train"]], [w["text_train"]], w["y_train"])
    fi = model.decision_function([w["image_test"]], "a")
    ft = model.decision_function([w["text_test"]], "b")
    for qa, da, qb, db in [(fi, ft, ls_i, ls_t), (ft, fi, ls_t, ls_i)]:
        ours = mean_average_precision(yt, yt, retrieve(qa, da, ties="index"))
        ref = mean_average_precision(yt, yt, retrieve(qb, db, ties="index"))
        assert abs(ours - ref) <= 0.005


@pytest.mark.skipif(_data_dir() is None, reason="shared retrieval data not available")
def test_study_smoke(tmp_path, capsys):
    """`statoptim reproduce multiview` end to end on one UCI seed, CP model only."""
    pytest.importorskip("matplotlib")
    from statoptim.cli import main

    figure = tmp_path / "multiview_precision_recall.png"  # figures go into --out
    code = main(["reproduce", "multiview", "--data", _data_dir(), "--replications", "1",
                 "--skip-baselines", "--no-inner-cv", "--out", str(tmp_path)])
    out = capsys.readouterr().out
    assert code == 0 and figure.stat().st_size > 10_000
    assert "uci (fou,zer)->(kar,mor)" in out and "NOT reproducible offline" in out
    row = next(line for line in out.splitlines()
               if line.strip().startswith("wikipedia") and "TM mu=1" in line)
    # the V = 1 limit: LS-SM gives 0.236 / 0.210 on this split (spec section 6)
    fwd, rev = (float(x) for x in row.split()[3:5])
    assert abs(fwd - 0.236) < 0.01 and abs(rev - 0.210) < 0.01


def test_study_reports_missing_data(tmp_path, capsys):
    from statoptim.cli import main

    assert main(["reproduce", "multiview", "--data", str(tmp_path)]) == 2
    assert "not found; pass --data DIR" in capsys.readouterr().err


# ------------------------------------------------- softmax loss (MM blocks)
def _softmax_objective(Z, Theta, Phi, alpha, Y, reg, mu):
    """J with the multinomial cross-entropy, written out row by row (no statoptim code)."""
    n = Y.shape[0]
    f = topic_scores(Z, Theta, Phi)

    def ce(g):
        total = 0.0
        for gi, yi in zip(g, Y):
            if yi.sum() == 0:
                continue
            t = yi / yi.sum()
            logp = gi - gi.max() - np.log(np.sum(np.exp(gi - gi.max())))
            total -= float(t @ logp)
        return total

    J = (ce(f[0] * alpha + f[1] * (1 - alpha)) + mu * (ce(f[0]) + ce(f[1]))) / n
    pen = sum(np.sum(t ** 2) for Tm in Theta for t in Tm) + sum(np.sum(p ** 2) for p in Phi)
    return J + reg * pen


@pytest.mark.parametrize("mu", [0.0, 0.5])
def test_softmax_loss_objective_and_gradients(rng, mu):
    s = _small_solver(rng, mu, loss="softmax")
    s.Y[0] = 0.0  # a row without labels (multi-label data) contributes nothing
    s.__init__(s.Z, s.Y, s.rank, s.reg, mu, rng=np.random.default_rng(1), loss="softmax")
    s.set_state(Phi=[rng.standard_normal((3, 3)) for _ in range(2)],
                alpha=rng.uniform(0.1, 0.9, 3))
    Theta, Phi, alpha = s.get_state()
    J = lambda T, P, a: _softmax_objective(s.Z, T, P, a, s.Y, s.reg, mu)  # noqa: E731
    assert_allclose(s.objective(), J(Theta, Phi, alpha), rtol=1e-12)
    dTheta, dPhi, dalpha = s.gradients()
    _assert_block_gradients(s, J, Theta, Phi, alpha, dTheta, dPhi, dalpha)


def test_softmax_majorant_is_an_upper_bound_tight_at_the_point(rng):
    """Boehning: CE(f') <= CE(f) + grad^T (f' - f) + ||f' - f||^2 / 4 = a ||f' - Y_w||^2 + c."""
    s = _small_solver(rng, 0.0, loss="softmax")
    f = 3 * rng.standard_normal(s.Y.shape)
    a, Yw = s.loss.working(f, BOEHNING_CURVATURE)
    const = s.loss.value(f) - a * np.sum((f - Yw) ** 2)
    assert a == 0.25
    for scale in (1e-3, 0.1, 1.0, 10.0):
        for _ in range(20):
            g = f + scale * rng.standard_normal(f.shape)
            assert s.loss.value(g) <= a * np.sum((g - Yw) ** 2) + const + 1e-12
    assert_allclose(2 * a * (f - Yw), s.loss.gradient(f), rtol=1e-10, atol=1e-14)  # tangent at f


@pytest.mark.parametrize("update", ["exact", "cg", "prox-linear"])
def test_softmax_loss_objective_never_increases(rng, update):
    s = _small_solver(rng, 0.5, loss="softmax", block_update=update, extrapolate=False)
    s.initialize()
    values, labels, n_iter, _, _ = s.fit(30, -np.inf)
    assert n_iter == 30
    assert np.max(np.diff(values)) <= 1e-12 * abs(values[0])
    assert values[-1] < 0.9 * values[0]


def test_softmax_loss_stationary_point_after_many_cycles(rng):
    """MM blocks converge to a point where every block gradient vanishes (alpha: KKT)."""
    s = _small_solver(rng, 1.0, loss="softmax", block_update="exact", learn_mixing=False)
    s.initialize()
    s.fit(400, 1e-13)
    dTheta, dPhi, _ = s.gradients()
    assert max(np.max(np.abs(g)) for Tm in dTheta for g in Tm) < 1e-5
    assert max(np.max(np.abs(g)) for g in dPhi) < 1e-5


def test_softmax_loss_estimator_separates_classes(rng):
    a, b, y = _toy(rng)
    model = MultiViewTensorMachine(n_components=3, loss="softmax", alpha=0.01,
                                   random_state=0).fit(a, b, y)
    for m, views in (("a", a), ("b", b)):
        proba = model.predict_proba(views, m)
        assert np.mean(proba.argmax(axis=1) == y) > 0.9
    ranking = retrieve(model.predict_proba(a, "a"), model.predict_proba(b, "b"),
                       random_state=0)
    assert mean_average_precision(y, y, ranking) > 0.8


# ------------------------------------------- temperature-scaled posteriors
def test_temperature_derivative_matches_finite_differences(rng):
    from statoptim.multiview._calibration import temperature_nll, temperature_nll_derivative

    f = rng.standard_normal((50, 4))
    Y = (rng.random((50, 4)) < 0.4).astype(float)  # multi-label, some empty rows
    for beta in (0.0, 0.3, 2.0, 7.0):
        num = (temperature_nll(beta + 1e-6, f, Y) - temperature_nll(beta - 1e-6, f, Y)) / 2e-6
        assert_allclose(temperature_nll_derivative(beta, f, Y), num, rtol=1e-7, atol=1e-10)


def test_fitted_temperature_minimises_the_training_cross_entropy(rng):
    from statoptim.multiview._calibration import fit_temperature, temperature_nll

    y = rng.integers(0, 4, 200)
    Y = np.eye(4)[y]
    f = Y + 0.6 * rng.standard_normal(Y.shape)  # informative, not separable
    beta = fit_temperature(f, Y)
    grid = np.linspace(0, 20, 20001)
    nll = [temperature_nll(b, f, Y) for b in grid]
    assert 0 < beta < 20
    assert temperature_nll(beta, f, Y) <= min(nll) + 1e-12
    assert abs(beta - grid[int(np.argmin(nll))]) <= 2e-3


def test_fitted_temperature_edge_cases(rng):
    from statoptim.multiview._calibration import MAX_LOGIT_RANGE, fit_temperature

    Y = np.eye(3)[rng.integers(0, 3, 60)]
    assert fit_temperature(-Y, Y) == 0.0            # scores rank the labels last
    assert fit_temperature(np.ones_like(Y), Y) == 0.0  # constant scores
    beta = fit_temperature(2 * Y, Y)                 # separable: capped, finite
    assert beta == MAX_LOGIT_RANGE / 2.0


def test_predict_proba_properties(rng):
    from scipy.special import softmax

    a, b, y = _toy(rng)
    model = MultiViewTensorMachine(n_components=3, random_state=0).fit(a, b, y)
    assert len(model.temperatures_) == 2 and all(t > 0 for t in model.temperatures_)
    for m, views, beta in (("a", a, model.temperatures_[0]), ("b", b, model.temperatures_[1])):
        f = model.decision_function(views, m)
        p = model.predict_proba(views, m)
        assert np.all(p > 0) and np.all(np.isfinite(p))
        assert_allclose(p.sum(axis=1), 1.0, rtol=1e-12)
        assert_allclose(p, softmax(beta * f, axis=1), rtol=1e-12)
        # a monotone transform of each row: the topic order is unchanged
        assert np.array_equal(np.argsort(p, axis=1, kind="stable")[:, -1], f.argmax(axis=1))
    # the default squared-loss fit is unchanged by the new attribute
    ref = MultiViewTensorMachine(n_components=3, random_state=0).fit(a, b, y)
    assert_allclose(model.objective_, ref.objective_, rtol=0, atol=0)


def test_inner_cv_selection_uses_training_rows_only(rng):
    """The study's selection: best candidate by validation mAP on training folds."""
    from statoptim.studies.multiview import select_on_training

    a, b, y = _toy(rng, n=90)
    y = np.asarray(y)
    seen = []

    def make_model(**kw):
        seen.append(kw)
        return MultiViewTensorMachine(n_components=3, random_state=0, max_iter=500, **kw)

    cands = (dict(loss="squared", alpha=1e-3),
             dict(loss="squared", alpha=1e3))  # a ridge of 1e3 shrinks f to ~0
    best, scores = select_on_training(a, b, y, 0, make_model, candidates=cands)
    assert best == cands[0] and scores.shape == (2, 2)
    assert scores[0].min() > scores[1].max()
    assert len(seen) == 2 * 5  # every candidate on every fold (5 folds)
    # the fold fits on two processes give the same numbers
    best2, scores2 = select_on_training(a, b, y, 0, make_model, candidates=cands, n_jobs=2)
    assert best2 == best
    assert_allclose(scores2, scores, rtol=0, atol=0)


# ------------------------------- softmax loss: safeguarded adaptive curvature
def test_fast_row_logsumexp_and_softmax_match_scipy(rng):
    from scipy.special import logsumexp, softmax

    from statoptim.multiview._losses import logsumexp_softmax_rows as _logsumexp_softmax_rows
    f = 5 * rng.standard_normal((40, 6))
    f[0] += 800.0   # would overflow exp without the shift
    f[1] -= 800.0
    lse, sm = _logsumexp_softmax_rows(f)
    assert_allclose(lse, logsumexp(f, axis=1), rtol=1e-14)
    assert_allclose(sm, softmax(f, axis=1), rtol=1e-12, atol=1e-300)


@pytest.mark.parametrize("update", ["exact", "cg", "prox-linear"])
def test_adaptive_curvature_objective_never_increases_and_is_exercised(rng, update):
    s = _small_solver(rng, 0.5, loss="softmax", block_update=update, extrapolate=False)
    assert s.adaptive_curvature
    s.initialize()
    values, _, n_iter, _, _ = s.fit(60, -np.inf)
    assert n_iter == 60
    assert np.max(np.diff(values)) <= 1e-12 * abs(values[0])
    # both branches ran: trial steps kept, and trial steps redone as Boehning MM steps
    assert s.n_accepted > 0 and s.n_rejected > 0


def test_adaptive_curvature_trial_model_is_not_a_majorant_but_shares_the_tangent(rng):
    """A trial curvature a < 1/4 gives the same value and gradient at f (so the
    same fixed points) but can undercut the loss: hence the safeguard."""
    s = _small_solver(rng, 0.0, loss="softmax")
    f = 3 * rng.standard_normal(s.Y.shape)
    a, Yw = s.loss.working(f, 0.25 / 64)
    assert a == 0.25 / 64
    assert_allclose(2 * a * (f - Yw), s.loss.gradient(f), rtol=1e-10, atol=1e-14)
    const = s.loss.value(f) - a * np.sum((f - Yw) ** 2)
    g = f + 10 * rng.standard_normal(f.shape)
    assert s.loss.value(g) > a * np.sum((g - Yw) ** 2) + const


@pytest.mark.parametrize("block", ["phi", "theta", "alpha"])
def test_adaptive_curvature_block_gradient_vanishes_after_block_converges(rng, block):
    """Repeating one safeguarded block update converges to that block's minimiser."""
    s = _small_solver(rng, 1.0, loss="softmax", block_update="exact")
    for _ in range(400):
        if block == "phi":
            s._run_phi(1)
        elif block == "theta":
            s._run_theta(0, 1, 0.0)
        else:
            s._run_alpha()
    dTheta, dPhi, dalpha = s.gradients()
    if block == "phi":
        assert np.max(np.abs(dPhi[1])) < 1e-9
    elif block == "theta":
        assert np.max(np.abs(dTheta[0][1])) < 1e-9
    else:  # KKT of the box constraint 0 <= alpha <= 1
        inside = (s.alpha > 0) & (s.alpha < 1)
        assert np.all(np.abs(dalpha[inside]) < 1e-9)
        assert np.all(dalpha[s.alpha == 0] >= -1e-9) and np.all(dalpha[s.alpha == 1] <= 1e-9)
    assert s.n_accepted > 0


def _converged(rng_seed, adaptive):
    rng = np.random.default_rng(rng_seed)
    s = _small_solver(rng, 1.0, loss="softmax", block_update="exact", learn_mixing=False,
                      adaptive_curvature=adaptive)
    s.initialize()
    s.fit(3000, 1e-15)
    return s


def test_adaptive_curvature_shares_the_plain_mm_fixed_point():
    """Each scheme's limit is a fixed point of the other's cycle (same stationarity)."""
    for adaptive in (False, True):
        s = _converged(3, adaptive)
        dTheta, dPhi, _ = s.gradients()
        assert max(np.max(np.abs(g)) for Tm in dTheta for g in Tm) < 1e-7
        assert max(np.max(np.abs(g)) for g in dPhi) < 1e-7
        other = CPSolver(s.Z, s.Y, s.rank, s.reg, s.mu, learn_mixing=False,
                         block_update="exact", rng=np.random.default_rng(0), loss="softmax",
                         adaptive_curvature=not adaptive, balance=False)
        other.set_state(*s.get_state())
        f0 = [f.copy() for f in other.f]
        J0 = other.objective()
        for _ in range(5):
            other.cycle()
        assert_allclose(other.objective(), J0, rtol=1e-10)
        for m in range(2):
            assert_allclose(other.f[m], f0[m], rtol=1e-5, atol=1e-7)


def test_accelerate_keeps_j_monotone_and_the_retrieval_quality(rng):
    """accelerate=True (cycle extrapolation) is a different path to a minimum of the same J."""
    a, b, y = _toy(rng)
    kw = dict(n_components=3, random_state=0, tol=1e-6, max_iter=500)
    plain = MultiViewTensorMachine(**kw).fit(a, b, y)
    fast = MultiViewTensorMachine(accelerate=True, **kw).fit(a, b, y)
    assert fast.get_params()["accelerate"] is True
    assert np.max(np.diff(fast.objective_)) <= 1e-12 * fast.objective_[0]
    assert fast.objective_[-1] <= plain.objective_[-1] * (1 + 1e-3)
    maps = []
    for model in (plain, fast):
        ranking = retrieve(model.decision_function(a, "a"), model.decision_function(b, "b"))
        maps.append(mean_average_precision(y, y, ranking))
    assert abs(maps[0] - maps[1]) < 0.01
    with pytest.raises(ValueError, match="accelerate must be True or False, got"):
        MultiViewTensorMachine(accelerate="yes").fit(a, b, y)
