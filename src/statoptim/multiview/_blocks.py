"""Block solvers of the multi-view CP-tensor model.

Design notes: docs/multiview.rst, "Exact block updates" and "Large blocks".

Every block (Phi_m, Theta_m^(v), the linear term W_m, alpha) enters the
objective through the quadratic data model of the current state: targets
``T`` and per-topic weights ``w`` (:class:`BlockTargets`, computed by the
schedule in `_solver` from the loss's working responses), so

    (1/N) sum_p w_p ||f_m[:, p] - T[:, p] / w_p||^2 + ridge terms + const

is what a block minimises. The solvers here know nothing of the loss: they
take the targets, minimise (or, for CG and prox-linear steps, decrease) the
block's quadratic and write the new factor into the :class:`CPState` through
its ``set_*`` methods.

Notation of a Theta block (see ``_cp.pyx``): ``weights`` is the leave-one-out
product Pi^(-v) of the modality, ``gram`` the R x R matrix Q with
``Q = Phi^T diag(w) Phi``, ``rhs`` the right-hand side B; the block Hessian / 2
is ``H = (1/N) (K^T K) o (Q kron 1) + lambda I`` with ``K[i] = weights[i] kron z_i``.
"""
from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import NamedTuple

import numpy as np

__all__ = [
    "CG_STEPS",
    "PCG_RTOL",
    "BlockTargets",
    "ProxMemory",
    "ThetaSystem",
    "assemble_hessian",
    "balance",
    "drop_negligible_cp",
    "theta_system",
    "update_alpha",
    "update_linear",
    "update_phi",
    "update_theta_cg",
    "update_theta_exact",
    "update_theta_prox",
]

# Preconditioned CG steps per block under block_update="cg" (the multi-view default).
CG_STEPS = 3
# Relative residual at which PCG stops (the block gradient is -2 x the residual).
PCG_RTOL = 1e-12
# Rows of the Khatri-Rao product built at a time when assembling H.
_CHUNK_ROWS = 256
# Power iterations for the Lipschitz constant of a prox-linear block.
_POWER_ITERATIONS = 30
# A CP part whose scores and penalty are below this fraction of f_m and J is
# set to zero (see drop_negligible_cp).
_NEGLIGIBLE = np.finfo(np.float64).eps
# Extrapolation cap delta of Xu & Yin (2013), (2.2).
_DELTA = 0.9999
# Step-size doublings tried by a prox-linear step before it gives up.
_MAX_BACKTRACKS = 60


class BlockTargets(NamedTuple):
    """Targets T (n_samples, n_topics) and weights w (n_topics,) of a modality's blocks."""

    targets: np.ndarray
    weights: np.ndarray


class ThetaSystem(NamedTuple):
    """``H vec(Theta) = vec(rhs)`` of a Theta block (see the module notes)."""

    weights: np.ndarray
    gram: np.ndarray
    rhs: np.ndarray


@dataclass
class ProxMemory:
    """Previous Theta and Lipschitz constant of every prox-linear block, by (m, v)."""

    previous: dict = field(default_factory=dict)
    lipschitz: dict = field(default_factory=dict)

    def copy(self):
        return ProxMemory(dict(self.previous), dict(self.lipschitz))


# --------------------------------------------------------------- Phi, W, alpha
def update_phi(problem, state, m, targets):
    """Exact Phi_m: row p solves [w_p Pi^T Pi / N + lambda I] phi_p = Pi^T T_p / N."""
    T, w = targets
    n = problem.n_samples
    Pi = state.Pi[m]
    e, U = np.linalg.eigh(Pi.T @ Pi / n)
    e = np.maximum(e, 0.0)
    C = U.T @ (Pi.T @ T / n)             # (rank, n_topics)
    C /= e[:, None] * w[None, :] + problem.ridge
    state.Phi[m] = np.ascontiguousarray((U @ C).T)
    state.set_scores(m, Pi @ state.Phi[m].T + state.h[m])


def update_linear(problem, state, m, targets):
    """Exact W_m: column p solves [w_p L^T L / N + lambda_W I] W_p = L^T R_p / N.

    R = T_full - g diag(w), with g = f - h = Pi Phi^T the CP part and T_full
    the targets before the linear part h diag(w) was taken off them; one
    eigendecomposition of L^T L / N (fixed during a fit) serves all topics.
    """
    T, w = targets
    L = problem.linear_designs[m]
    R = T + (2.0 * state.h[m] - state.f[m]) * w
    s, V = problem.linear_grams[m]
    C = V.T @ (L.T @ R / problem.n_samples)
    C /= s[:, None] * w[None, :] + problem.linear_ridge
    state.W[m] = V @ C
    h = L @ state.W[m]
    f = state.f[m] + (h - state.h[m])
    state.h[m] = h
    state.set_scores(m, f)


def update_alpha(state, mixture_targets):
    """alpha_p = clip(D_p^T (y_p - f_1p) / ||D_p||^2, 0, 1), D = f_0 - f_1.

    ``mixture_targets``: the working targets of the mixture (Y for the squared
    loss); the result minimises the mixture's quadratic model in alpha.
    """
    D = state.f[0] - state.f[1]
    den = np.sum(D * D, axis=0)
    num = np.sum(D * (mixture_targets - state.f[1]), axis=0)
    ok = den > 0
    alpha = state.alpha.copy()
    alpha[ok] = np.clip(num[ok] / den[ok], 0.0, 1.0)
    state.set_alpha(alpha)


def balance(problem, state):
    """Rescale the CP columns so every block of a modality has equal column norms.

    For each modality and component r, column r of every Theta_m^(v) and of
    Phi_m is scaled by s_b with prod_b s_b = 1: f is unchanged and, by the
    AM-GM inequality, the ridge penalty can only decrease. This exact step
    removes the scaling ambiguity of the CP factors, along which plain BCD
    crawls. Only the modalities with a column to rescale are refreshed (a
    modality whose CP part is zero keeps its products, scores and J).
    """
    rescaled = []
    for m in range(2):
        blocks = [state.Phi[m]] + state.Theta[m]
        norms = np.array([np.linalg.norm(b, axis=0) for b in blocks])
        ok = np.all(norms > 0, axis=0)
        if not ok.any():
            continue
        geo = np.exp(np.mean(np.log(np.where(norms > 0, norms, 1.0)), axis=0))
        scales = [(geo / np.where(nb > 0, nb, 1.0))[ok] for nb in norms]
        for b, scale in zip(blocks, scales):
            b[:, ok] *= scale
        if problem.reuse_products:   # A = Z Theta is rescaled like Theta
            for A, scale in zip(state.A[m], scales[1:]):
                A[:, ok] *= scale
            state.update_products(problem, m)
        rescaled.append(m)
    if rescaled and problem.reuse_products:
        state.known_objective = None
    elif rescaled:
        state.refresh(problem, rescaled)


def drop_negligible_cp(problem, state, m, J):
    """Set modality m's CP part to zero if it no longer counts; returns whether it did.

    With a large ridge the CP part of a modality can decay towards zero (on
    UCI 2+2 with lambda = 0.1 and the linear term it loses ten to thirty orders
    of magnitude per cycle, through the denormal range): zero is then the
    limit, and a fixed point of the modality's exact and CG blocks (Phi = 0
    and Theta = 0 give a zero right-hand side for every block), and near zero
    the ridge outweighs the cubic coupling of the factors, so the exact
    iteration would keep shrinking it. Once its scores ``Pi_m Phi_m^T``
    (bounded entrywise by ``R max|Pi_m| max|Phi_m|``) are below eps times the
    largest |f_m| and its penalty below eps J (``J``: the current objective),
    setting it to zero changes f and J by less than their rounding.
    """
    # the penalty first: small arrays, and it fails at once for a live CP part
    penalty = sum(np.vdot(t, t) for t in state.Theta[m]) + np.vdot(state.Phi[m], state.Phi[m])
    if not problem.ridge * penalty <= _NEGLIGIBLE * abs(J):
        return False
    bound = problem.rank * np.max(np.abs(state.Phi[m])) * np.max(np.abs(state.Pi[m]))
    if not bound <= _NEGLIGIBLE * np.max(np.abs(state.f[m])):
        return False
    state.Theta[m] = [np.zeros_like(t) for t in state.Theta[m]]
    state.Phi[m] = np.zeros_like(state.Phi[m])
    state.refresh(problem, (m,))
    return True


# ------------------------------------------------------------------- Theta
def theta_system(problem, state, m, v, targets):
    """The :class:`ThetaSystem` of block Theta_m^(v) at the current state."""
    T, w = targets
    Phi = state.Phi[m]
    Q = np.ascontiguousarray((Phi.T * w) @ Phi)
    TPhi = np.ascontiguousarray(T @ Phi)
    weights = state.loo[m][v]
    B = np.empty_like(state.Theta[m][v])
    problem.kernels.weighted_cross(problem.Z[m][v], weights, TPhi, 1.0 / problem.n_samples,
                                   state.Theta[m][v], 0.0, problem.buffer("nr", m), B)
    return ThetaSystem(weights, Q, B)


def assemble_hessian(problem, m, v, system):
    """The dense block Hessian / 2 (size rank * n_cols), for exact solves and tests."""
    z = problem.Z[m][v]
    size = problem.rank * z.shape[1]
    H = np.empty((size, size))
    scratch = problem.buffer("kr", m, (min(_CHUNK_ROWS, problem.n_samples), size))
    problem.kernels.khatri_rao_system(z, system.weights, system.gram, 1.0 / problem.n_samples,
                                      problem.ridge, H, scratch)
    return H


def _apply_hessian(problem, m, v, system, theta, out):
    """out = H theta in operator form, O(N R (d + R))."""
    problem.kernels.block_operator(problem.Z[m][v], system.weights, system.gram,
                                   1.0 / problem.n_samples, problem.ridge, theta,
                                   problem.buffer("nr", m), problem.buffer("nr2", m), out)
    return out


def _block_quadratic(problem, m, v, system, theta):
    """<theta, H theta> - 2 <B, theta>: the block's part of J, up to a constant."""
    theta = np.ascontiguousarray(theta)
    Htheta = _apply_hessian(problem, m, v, system, theta, np.empty_like(theta))
    return float(np.vdot(theta, Htheta) - 2.0 * np.vdot(system.rhs, theta))


def _cholesky_solve(problem, m, v, system):
    """Theta from the assembled H factored in place, or None if H is numerically indefinite."""
    H = assemble_hessian(problem, m, v, system)
    rhs = np.ascontiguousarray(system.rhs.T).ravel()
    if problem.kernels.cholesky_solve(H, rhs) != 0:
        return None
    return rhs.reshape(problem.rank, problem.Z[m][v].shape[1]).T


def update_theta_exact(problem, state, m, v, targets):
    """Exact Theta_m^(v) (Xu & Yin 1.3a)."""
    system = theta_system(problem, state, m, v, targets)
    gram = problem.single_view_grams[m]
    if gram is not None:
        # V_m = 1: H = Q kron (Z^T Z / N) + lambda I; diagonalise both factors.
        s, V = gram
        q, U = np.linalg.eigh(system.gram)
        C = V.T @ system.rhs @ U
        C /= s[:, None] * q[None, :] + problem.ridge
        theta = V @ C @ U.T
    elif problem.rank * problem.Z[m][v].shape[1] > problem.cholesky_max_size:
        theta = solve_pcg(problem, state, m, v, system)
    else:
        theta = _cholesky_solve(problem, m, v, system)
        if theta is None:
            # H >= lambda I is positive definite, but with lambda below the rounding
            # level of the data part (rank-deficient designs) it is numerically
            # indefinite: solve by PCG instead and keep the better of the two blocks
            theta = solve_pcg(problem, state, m, v, system, factor=False)
            if (_block_quadratic(problem, m, v, system, theta)
                    > _block_quadratic(problem, m, v, system, state.Theta[m][v])):
                theta = state.Theta[m][v]
    state.set_theta(problem, m, v, theta)


def update_theta_cg(problem, state, m, v, targets):
    """Inexact Theta_m^(v): CG_STEPS preconditioned CG steps from the current Theta.

    Every CG iterate minimises the block quadratic over a Krylov space that
    contains the starting point, so J never increases; with the mean-field
    Kronecker preconditioner of `solve_pcg` (exact when V = 1) a few steps
    capture most of the block's decrease at O(N R (d + R)) each, instead of
    the O(N R^2 d^2 + R^3 d^3) of assembling and factoring H.
    """
    if problem.reuse_products:
        _update_theta_cg_reusing(problem, state, m, v, targets)
        return
    system = theta_system(problem, state, m, v, targets)
    state.set_theta(problem, m, v,
                    solve_pcg(problem, state, m, v, system, max_steps=CG_STEPS))


def _update_theta_cg_reusing(problem, state, m, v, targets):
    """:func:`update_theta_cg` through the stored products (``problem.reuse_products``).

    ``H Theta = (1/N) Z^T [P o ((P o Z Theta) Q)] + lambda Theta`` needs no product
    by Z at the current Theta: ``P o Z Theta`` is the modality's product Pi (P
    the leave-one-out weights), so B and the data part of ``H Theta`` share one
    product by ``Z^T`` of 2 R columns. Each CG step's ``Z p`` is kept, and
    ``Z Theta`` follows the steps (``Z Theta += step Z p``) instead of being
    recomputed. The same iterates as :func:`update_theta_cg` up to rounding.
    """
    T, w = targets
    Phi, Z = state.Phi[m], problem.Z[m][v]
    n, rank = problem.n_samples, problem.rank
    Q = np.ascontiguousarray((Phi.T * w) @ Phi)
    weights = state.loo[m][v]
    M = problem.buffer("n2r", m, (n, 2 * rank))
    np.multiply(weights, T @ Phi, out=M[:, :rank])
    np.multiply(weights, state.Pi[m] @ Q, out=M[:, rank:])
    C = Z.T @ M
    C *= 1.0 / n
    x = state.Theta[m][v].copy()
    system = ThetaSystem(weights, Q, np.ascontiguousarray(C[:, :rank]))
    r = system.rhs - (C[:, rank:] + problem.ridge * x)
    product = state.A[m][v].copy()
    Zp, Hp = problem.buffer("nr3", m), np.empty_like(x)

    def apply(p):
        problem.kernels.block_operator_product(
            Z, weights, Q, 1.0 / n, problem.ridge, np.ascontiguousarray(p), Zp,
            problem.buffer("nr", m), problem.buffer("nr2", m), Hp)
        return Hp

    magnitude = [np.linalg.norm(product)]

    def moved(step):
        np.add(product, step * Zp, out=product)
        magnitude[0] += abs(step) * np.linalg.norm(Zp)

    precondition = _preconditioner(problem, m, v, system)
    _pcg_steps(x, r, apply, precondition, CG_STEPS, PCG_RTOL * np.linalg.norm(system.rhs),
               moved)
    state.set_theta(problem, m, v, x, product, magnitude[0])


def _pcg_steps(x, r, apply, precondition, n_steps, target, moved=None):
    """At most ``n_steps`` preconditioned CG steps on ``H x = B``; ``x`` and the
    residual ``r = B - H x`` are updated in place. Stops when ``||r|| <= target``
    (or the preconditioned residual vanishes). ``moved(step)``, if given, is
    called after each step ``x += step p``, ``apply(p)`` having been the last call."""
    zr = precondition(r)
    p = zr.copy()
    rz = np.vdot(r, zr)
    for _ in range(n_steps):
        if not rz > 0 or np.linalg.norm(r) <= target:
            break
        Hp = apply(p)
        curvature = np.vdot(p, Hp)
        if not curvature > 0:   # H is positive definite: only round-off gets here
            break
        step = rz / curvature
        x += step * p
        if moved is not None:
            moved(step)
        r -= step * Hp
        zr = precondition(r)
        rz, rz_old = np.vdot(r, zr), rz
        p = zr + (rz / rz_old) * p


def _preconditioner(problem, m, v, system):
    """X -> the mean-field Kronecker approximation of H (see `solve_pcg`) solved for X."""
    s, V = problem.view_grams[m][v]
    P = system.weights
    q, U = np.linalg.eigh(system.gram * (P.T @ P / problem.n_samples))
    denom = s[:, None] * np.maximum(q, 0.0)[None, :] + problem.ridge

    def precondition(X):
        return V @ (((V.T @ X) @ U) / denom) @ U.T
    return precondition


def solve_pcg(problem, state, m, v, system, max_steps=None, factor=True):
    """Solve H Theta = B by conjugate gradients, warm-started at the current Theta.

    H is applied in operator form. The preconditioner replaces
    (1/N) sum_i (D_i Q D_i) kron z_i z_i^T by its mean-field approximation
    (Q o P^T P / N) kron (Z^T Z / N) + lambda I, P the leave-one-out weights,
    which is exact when V = 1 and is inverted through the eigendecompositions
    of its two Kronecker factors. With ``max_steps`` it takes at most that many
    steps. Otherwise it stops at a relative residual of PCG_RTOL (the true
    residual is re-checked) and falls back to Cholesky (``factor=True``)
    unless that fails; then it returns the last iterate, which every CG step
    moved downhill on the block quadratic.
    """
    precondition = _preconditioner(problem, m, v, system)
    HX = np.empty_like(system.rhs)

    def apply(X):
        return _apply_hessian(problem, m, v, system, np.ascontiguousarray(X), HX)

    B = system.rhs
    x = state.Theta[m][v].copy()
    r = B - apply(x)
    target = PCG_RTOL * np.linalg.norm(B)
    if max_steps is not None:
        _pcg_steps(x, r, apply, precondition, max_steps, target)
        return x
    size = problem.rank * problem.Z[m][v].shape[1]
    for _ in range(2):  # a second pass restarts from the true residual
        _pcg_steps(x, r, apply, precondition, size, target)
        r = B - apply(x)
        if np.linalg.norm(r) <= 10 * target:
            return x
    if not factor:
        return x
    theta = _cholesky_solve(problem, m, v, system)  # did not reach round-off: factor
    return x if theta is None else theta


def _lipschitz(problem, m, v, system, rng):
    """2 lambda_max(H) by power iterations with the operator form, times 1.01."""
    z = problem.Z[m][v]
    x = np.ascontiguousarray(rng.standard_normal((z.shape[1], problem.rank)))
    x /= np.linalg.norm(x)
    out = np.empty_like(x)
    lam = problem.ridge
    for _ in range(_POWER_ITERATIONS):
        _apply_hessian(problem, m, v, system, x, out)
        lam = float(np.linalg.norm(out))
        if lam == 0.0:
            break
        x = out / lam
        out = np.empty_like(x)
    return 2.0 * 1.01 * max(lam, problem.ridge)


def update_theta_prox(problem, state, m, v, targets, omega_cap, memory, objective, rng):
    """Prox-linear Theta_m^(v) with extrapolation (Xu & Yin 1.3c).

    theta_hat = theta + omega (theta - theta_prev),
    theta <- theta_hat - grad J(theta_hat) / Lip, Lip = 2 lambda_max(H).
    Without extrapolation the step is a majorisation step; if round-off in
    the power iteration underestimated Lip and J (``objective()``) rose, Lip
    is doubled and the step redone, so the update never increases J.
    ``memory`` (a :class:`ProxMemory`) is read and updated; ``rng`` starts the
    power iterations.
    """
    system = theta_system(problem, state, m, v, targets)
    lip = _lipschitz(problem, m, v, system, rng)
    key = (m, v)
    lip_prev = memory.lipschitz.get(key, lip)
    theta = state.Theta[m][v]
    theta_prev = memory.previous.get(key, theta)
    omega = 0.0
    if omega_cap > 0:
        omega = min(omega_cap, _DELTA * math.sqrt(lip_prev / lip))
    theta_hat = np.ascontiguousarray(theta + omega * (theta - theta_prev))
    Htheta = np.empty_like(theta)
    J0 = objective() if omega == 0.0 else None
    for _ in range(_MAX_BACKTRACKS):
        _apply_hessian(problem, m, v, system, theta_hat, Htheta)
        grad = 2.0 * (Htheta - system.rhs)
        state.set_theta(problem, m, v, theta_hat - grad / lip)
        if omega != 0.0 or objective() <= J0 + 1e-13 * abs(J0):
            break
        lip *= 2.0
        state.set_theta(problem, m, v, theta)
    memory.previous[key] = theta
    memory.lipschitz[key] = lip
