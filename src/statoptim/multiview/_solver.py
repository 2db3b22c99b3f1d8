"""Block coordinate descent for the multi-view CP-tensor model.

Notation of docs/multiview.rst, "The model". Two modalities m in {0, 1} (the
estimator's ``a`` and ``b``); modality m has views v with design matrices
``Z[m][v] = [1, X_m^(v)]`` (standardised), factors ``Theta[m][v]`` of shape
(n_cols, rank), topic factors ``Phi[m]`` (n_topics, rank) and mixing weights
``alpha`` (n_topics,). With ``A = Z Theta``, ``Pi_m`` the Hadamard product of
the ``A`` of modality m, ``f_m = Pi_m Phi_m^T`` and
``F = f_0 diag(alpha) + f_1 diag(1 - alpha)``::

    J = (1/N) ||F - Y||^2 + (mu/N) sum_m ||f_m - Y||^2
        + lambda (sum_{m,v} ||Theta[m][v]||^2 + sum_m ||Phi[m]||^2).

Each block (Phi_m, Theta_m^(v), alpha) enters J as a convex quadratic; the
exact block minimisers are Xu & Yin's (2013) update (1.3a) and the prox-linear
update with extrapolation is their (1.3c).

The pieces: the losses (value, gradient, working responses) are in
`_losses`, the block solvers in `_blocks`, the problem data and the explicit
state in `_state`. This module holds :class:`CPSolver`, the schedule: which
block is updated when, with which quadratic model, the curvature safeguard of
the softmax loss and the extrapolation restarts.

``loss="softmax"`` replaces each ``||g - Y||^2`` by the multinomial
cross-entropy. The blocks are then not quadratic: every block update works on
Boehning's (1992) quadratic majorant of the cross-entropy at the current state
(curvature 1/4), which the squared-loss block machinery minimises unchanged;
J never increases (majorise-minimise).

The curvature safeguard of the softmax blocks is in `_safeguard`.
"""
from __future__ import annotations

import math
from typing import NamedTuple

import numpy as np

from statoptim.multiview import _blocks, _cp, _kernels_numpy
from statoptim.multiview._extrapolation import CycleExtrapolation
from statoptim.multiview._losses import BOEHNING_CURVATURE, make_loss
from statoptim.multiview._safeguard import CurvatureSafeguard
from statoptim.multiview._state import CHOLESKY_MAX_SIZE, CPProblem, CPState

__all__ = ["BOEHNING_CURVATURE", "CHOLESKY_MAX_SIZE", "CPSolver", "Factors",
           "FitResult"]


# J may rise by this much (relative) from rounding alone after an exact block
_J_ROUNDING = 1e-12


class Factors(NamedTuple):
    """Copies of the CP factors: ``Theta[m][v]``, ``Phi[m]`` and ``alpha``."""

    Theta: list
    Phi: list
    alpha: np.ndarray


class FitResult(NamedTuple):
    """What :meth:`CPSolver.fit` returns."""

    objective: np.ndarray       # J after initialisation, then after every block
    labels: list                # the block updated before each entry ("init" first)
    n_iter: int                 # completed cycles
    converged: bool             # the relative decrease over a cycle fell below tol
    relative_decrease: float    # that of the last cycle


class CPSolver:
    """The BCD schedule of the fit, over an explicit state (the estimator wraps it).

    Parameters
    ----------
    Z : list of two lists of ndarray
        ``Z[m][v]`` is the C-contiguous (n_samples, n_features_v + 1) design of
        view v of modality m, first column all ones.
    Y : ndarray of shape (n_samples, n_topics)
        Targets (label indicators).
    rank, regularization, consensus : int, float, float
        R, lambda > 0 and mu >= 0.
    learn_mixing : bool
        Whether alpha is a block (True) or fixed at its initial value.
    block_update : {"auto", "exact", "cg", "prox-linear"}
        Update for the Theta blocks (see MultiViewTensorMachine).
    rng : numpy.random.Generator, int or None
        Draws the initial Theta (modality 0 before 1, views in order) and the
        starting vectors of the power iterations.
    extrapolate : bool
        Extrapolate prox-linear blocks (with restarts) when there are any.
    balance : bool
        Rebalance the CP column norms after every cycle (not while extrapolating).
    backend : {"cython", "numpy"}
        Compiled kernels, or their plain-NumPy twins in `_kernels_numpy`.
    loss : {"squared", "softmax"}
        The data loss (see `_losses`).
    adaptive_curvature : bool
        Softmax loss: try smaller curvatures per block, safeguarded (module notes).
    linear, linear_regularization : bool, float or None
        A linear term per modality, with its ridge (default lambda).
    accelerate : bool
        Extrapolate whole cycles (`_extrapolation`; not with prox-linear blocks)
        and update the products Z Theta through their linearity
        (``CPProblem.reuse_products``); ``MultiViewTensorMachine(accelerate=)``.

    Attributes
    ----------
    problem : CPProblem
        Data and what is computed from it alone.
    state : CPState
        Factors and derived products.
    loss : SquaredLoss or SoftmaxLoss
    n_accepted, n_rejected : int
        Trial-curvature steps kept, and redone as Boehning MM steps.
    alpha_path : ndarray of shape (n_iter + 1, n_topics)
        alpha at the start of the last :meth:`fit`, then after each of its
        cycles (a copy of n_topics numbers per cycle; an extrapolated cycle
        that was redone is recorded once, after the redo).
    """

    def __init__(self, Z, Y, rank, regularization, consensus, learn_mixing=True,
                 block_update="auto", rng=None, extrapolate=True, balance=True,
                 backend="cython", loss="squared", adaptive_curvature=True, linear=False,
                 linear_regularization=None, accelerate=False):
        Y = np.ascontiguousarray(Y, dtype=np.float64)
        kernels = _cp if backend == "cython" else _kernels_numpy
        self.loss = make_loss(loss, Y, kernels)
        self.adaptive_curvature = bool(adaptive_curvature) and not self.loss.quadratic
        self.safeguard = CurvatureSafeguard(self.adaptive_curvature)
        self.alpha_path = None
        reg = float(regularization)
        self.problem = CPProblem.build(
            Z, Y.shape[1], int(rank), reg,
            reg if linear_regularization is None else float(linear_regularization),
            float(consensus), kernels, block_update,
            bool(linear))
        self.problem.reuse_products = bool(accelerate)
        self.learn_mixing = bool(learn_mixing)
        self.extrapolate = bool(extrapolate)
        self.balance_factors = bool(balance)
        self.rng = rng if isinstance(rng, np.random.Generator) else np.random.default_rng(rng)
        self._extrapolating = False
        self._prox_memory = _blocks.ProxMemory()
        self.initialize()

    # ------------------------------------------------------- problem views
    @property
    def Z(self):
        return self.problem.Z

    @property
    def Y(self):
        return self.loss.Y

    @property
    def rank(self):
        return self.problem.rank

    @property
    def reg(self):
        return self.problem.ridge

    @property
    def mu(self):
        return self.problem.consensus

    @property
    def linear(self):
        return self.problem.linear

    # --------------------------------------------------------- state views
    @property
    def Theta(self):
        return self.state.Theta

    @property
    def Phi(self):
        return self.state.Phi

    @property
    def alpha(self):
        return self.state.alpha

    @alpha.setter
    def alpha(self, value):
        self.state.set_alpha(value)

    @property
    def W(self):
        return self.state.W

    @property
    def f(self):
        return self.state.f

    @property
    def loo(self):
        return self.state.loo

    # ------------------------------------------------------------ state
    def initialize(self):
        """Standard-normal Theta with unit-norm columns, Phi = 0, alpha = 1/2."""
        problem = self.problem
        Theta = []
        for views in problem.Z:
            thetas = []
            for z in views:
                t = self.rng.standard_normal((z.shape[1], problem.rank))
                t /= np.linalg.norm(t, axis=0, keepdims=True)
                thetas.append(np.ascontiguousarray(t))
            Theta.append(thetas)
        Phi = [np.zeros((problem.n_topics, problem.rank)) for _ in range(2)]
        alpha = np.full(problem.n_topics, 0.5)
        W = [None if L is None else np.zeros((L.shape[1], problem.n_topics))
             for L in problem.linear_designs]
        h = [0.0 if L is None else np.zeros_like(self.Y) for L in problem.linear_designs]
        self.state = CPState(Theta, Phi, alpha, W, h)
        self.state.refresh(problem)
        self.zero_cp = [False, False]
        self._forget_cycles()

    def _forget_cycles(self):
        """A new extrapolation memory (None when cycles are not extrapolated)."""
        extrapolates = self.problem.reuse_products and not self.problem.uses_prox()
        self.cycle_extrapolation = CycleExtrapolation() if extrapolates else None

    def set_state(self, Theta=None, Phi=None, alpha=None, W=None):
        """Replace parameters (copies) and recompute the derived quantities.

        ``W``: the two linear-term coefficient matrices (``linear=True`` only).
        """
        state = self.state
        if W is not None:
            if not self.linear:
                raise ValueError("W is only part of the state when linear=True")
            state.W = [np.asarray(w, dtype=np.float64).copy() for w in W]
            state.h = [L @ w for L, w in zip(self.problem.linear_designs, state.W)]
        if Theta is not None:
            state.Theta = [[np.ascontiguousarray(t, dtype=np.float64).copy() for t in Tm]
                           for Tm in Theta]
        if Phi is not None:
            state.Phi = [np.ascontiguousarray(p, dtype=np.float64).copy() for p in Phi]
        if alpha is not None:
            state.set_alpha(np.asarray(alpha, dtype=np.float64).copy())
        state.refresh(self.problem)
        self.zero_cp = [False, False]
        self._forget_cycles()

    def get_state(self):
        """:class:`Factors` (copies of Theta, Phi and alpha)."""
        return Factors([[t.copy() for t in Tm] for Tm in self.Theta],
                       [p.copy() for p in self.Phi], self.alpha.copy())

    def refresh(self):
        """Recompute every product after the factors were modified in place."""
        self.state.refresh(self.problem)

    def weights(self, m):
        """c_m: alpha for modality 0 and 1 - alpha for modality 1."""
        return self.state.weights(m)

    # -------------------------------------------------------- objective
    def _working(self, key, curvature):
        """The loss's working response at the mixture ("mixture") or at f[m] (m)."""
        if self.loss.quadratic:   # (1, Y) whatever the scores: F is not formed
            return self.loss.working(None, curvature)
        state = self.state
        return self.loss.working(state.scores(key), curvature,
                                 state.loss_stats(self.loss, key))

    def _gradient(self, key):
        """d loss / d scores at the mixture or at f[m] (before the 1/N; do not modify)."""
        state = self.state
        return self.loss.gradient(state.scores(key), state.loss_stats(self.loss, key))

    def _data_loss(self, key):
        state = self.state
        return self.loss.value(state.scores(key), state.loss_stats(self.loss, key))

    def objective(self):
        """J at the current state."""
        n, state = self.problem.n_samples, self.state
        if self.loss.quadratic and self.problem.reuse_products:   # one pass, F not formed
            return float(self.problem.kernels.squared_data_loss(
                state.f[0], state.f[1], state.alpha, self.Y, self.mu) / n + self._penalty())
        J = self._data_loss("mixture") / n
        if self.mu > 0:
            J += self.mu / n * (self._data_loss(0) + self._data_loss(1))
        return float(J + self._penalty())

    def _penalty(self):
        return self.state.penalty(self.problem.ridge, self.problem.linear_ridge)

    def residual_weights(self, m):
        """G_m = G diag(c_m) + (mu / N) dloss(f_m), G = (1/N) dloss(F)."""
        n = self.problem.n_samples
        Gm = self._gradient("mixture") * (self.weights(m) / n)
        if self.mu > 0:
            Gm += (self.mu / n) * self._gradient(m)
        return Gm

    def gradients(self):
        """Analytic gradients (G1)-(G3): ``(dTheta, dPhi, dalpha)``."""
        problem, state = self.problem, self.state
        dTheta, dPhi = [], []
        for m in range(2):
            Gm = self.residual_weights(m)
            GPhi = np.ascontiguousarray(Gm @ state.Phi[m])
            grads = []
            for v, z in enumerate(problem.Z[m]):
                out = np.empty_like(state.Theta[m][v])
                problem.kernels.weighted_cross(z, state.loo[m][v], GPhi, 1.0, state.Theta[m][v],
                                               2.0 * self.reg, problem.buffer("nr", m), out)
                grads.append(out)
            dTheta.append(grads)
            dPhi.append(Gm.T @ state.Pi[m] + 2.0 * self.reg * state.Phi[m])
        G = self._gradient("mixture") / problem.n_samples
        dalpha = np.sum(G * (state.f[0] - state.f[1]), axis=0)
        return dTheta, dPhi, dalpha

    def linear_gradients(self):
        """dJ/dW_m = L_m^T G_m + 2 lambda_W W_m for both modalities (``linear=True``)."""
        return [self.problem.linear_designs[m].T @ self.residual_weights(m)
                + 2.0 * self.problem.linear_ridge * self.W[m] for m in range(2)]

    # ---------------------------------------------------- block updates
    def targets(self, m, curvature=BOEHNING_CURVATURE):
        """:class:`~_blocks.BlockTargets` of modality m's blocks.

        T = (Y_a - f_o diag(c_o)) diag(a c_m) + mu b Y_b and w = a c_m^2 + mu b,
        with ``(a, Y_a)`` and ``(b, Y_b)`` the working responses of the mixture
        and of f_m (``curvature``: that of the softmax loss's model; the
        squared loss gives a = b = 1, Y_a = Y_b = Y). Minimising a block's
        model with these decreases J when the model majorises it (MM).
        """
        state = self.state
        other = 1 - m
        c_m, c_o = state.weights(m), state.weights(other)
        a, Ya = self._working("mixture", curvature)
        T = (Ya - state.f[other] * c_o) * (a * c_m)
        w = a * c_m * c_m
        if self.mu > 0:
            b, Yb = self._working(m, curvature)
            T += (self.mu * b) * Yb
            w = w + self.mu * b
        if self.linear:
            # the CP blocks fit what the linear term leaves: f_m = g + h_m
            T -= state.h[m] * w
        return _blocks.BlockTargets(T, w)

    def theta_system(self, m, v):
        """(weights, Q, B) of the Theta_m^(v) block (see `_blocks`)."""
        return _blocks.theta_system(self.problem, self.state, m, v, self.targets(m))

    def assemble_H(self, m, v):
        """The dense Hessian / 2 of the Theta_m^(v) block (for tests)."""
        return _blocks.assemble_hessian(self.problem, m, v, self.theta_system(m, v))

    def update_phi(self, m, curvature=BOEHNING_CURVATURE):
        _blocks.update_phi(self.problem, self.state, m, self.targets(m, curvature))

    def update_linear(self, m, curvature=BOEHNING_CURVATURE):
        _blocks.update_linear(self.problem, self.state, m, self.targets(m, curvature))

    def update_theta_exact(self, m, v, curvature=BOEHNING_CURVATURE):
        _blocks.update_theta_exact(self.problem, self.state, m, v, self.targets(m, curvature))

    def update_theta_cg(self, m, v, curvature=BOEHNING_CURVATURE):
        _blocks.update_theta_cg(self.problem, self.state, m, v, self.targets(m, curvature))

    def update_alpha(self, curvature=BOEHNING_CURVATURE):
        """Exact alpha (softmax loss: the minimiser of the mixture's model in alpha)."""
        _blocks.update_alpha(self.state, self._working("mixture", curvature).targets)

    def balance(self):
        """Equalise the CP column norms within each modality (see `_blocks.balance`)."""
        _blocks.balance(self.problem, self.state)

    # ------------------------------------------------ curvature safeguard
    def _safeguarded(self, key, update, save, restore):
        """``update`` under the block's trial curvature (see `_safeguard`)."""
        self.safeguard.run(self, key, update, save, restore)

    @property
    def n_accepted(self):
        return self.safeguard.n_accepted

    @property
    def n_rejected(self):
        return self.safeguard.n_rejected

    # ------------------------------------------------ collapsed CP parts
    def drop_negligible_cp(self, m):
        """Set modality m's CP part to zero if it no longer counts; returns whether it did.

        See `_blocks.drop_negligible_cp`; the modality's CP blocks are skipped
        from then on (``zero_cp[m]``; cleared by :meth:`set_state`). Prox-linear
        modalities are never dropped: their extrapolation can move a zero block.
        """
        if "prox" in self.problem.modes[m]:
            return False
        J = self.state.known_objective
        if J is None:
            J = self.state.known_objective = self.objective()
        dropped = _blocks.drop_negligible_cp(self.problem, self.state, m, J)
        self.zero_cp[m] = self.zero_cp[m] or dropped
        return dropped

    # --------------------------------------------------------- schedule
    def _run_phi(self, m):
        state = self.state

        def restore(saved):
            state.Phi[m] = saved[0]
            state.set_scores(m, saved[1])
        self._safeguarded(("phi", m), lambda a: self.update_phi(m, a),
                          lambda: (state.Phi[m].copy(), state.f[m].copy()), restore)

    def _run_theta(self, m, v, omega_cap):
        state = self.state
        mode = self.problem.modes[m][v]
        if mode == "prox":  # has its own backtracking on J; plain Boehning model
            _blocks.update_theta_prox(self.problem, state, m, v, self.targets(m), omega_cap,
                                      self._prox_memory, self.objective, self.rng)
            return
        update = self.update_theta_exact if mode == "exact" else self.update_theta_cg

        def save():
            return (state.Theta[m][v].copy(), state.A[m].copy(), state.Pi[m].copy(),
                    state.loo[m].copy(), state.f[m].copy())

        def restore(saved):
            state.Theta[m][v], A, Pi, loo, f = saved
            state.A[m][...] = A
            state.Pi[m][...] = Pi
            state.loo[m][...] = loo
            state.set_scores(m, f)
        if mode != "exact":
            self._safeguarded(("theta", m, v), lambda a: update(m, v, a), save, restore)
            return
        # An exact block minimises its quadratic, so J cannot rise, except when the
        # factored system is lost to rounding (a ridge near 1e-9 beside duplicated
        # features gave blocks of norm 1e4 that raised J threefold, while the
        # operator-form quadratic, itself lost to cancellation, claimed a
        # decrease). J is computed from the scores, not from the quadratic, so it
        # sees that: the block is then redone by CG, or left as it was.
        J0 = state.known_objective
        if J0 is None:
            J0 = self.objective()
        saved = save()
        self._safeguarded(("theta", m, v), lambda a: update(m, v, a), save, restore)
        if self.objective() <= J0 + _J_ROUNDING * abs(J0):
            return
        restore(saved)
        self.update_theta_cg(m, v)
        if self.objective() > J0 + _J_ROUNDING * abs(J0):
            restore(saved)

    def _run_linear(self, m):
        state = self.state

        def restore(saved):
            state.W[m], state.h[m] = saved[:2]
            state.set_scores(m, saved[2])
        self._safeguarded(("linear", m), lambda a: self.update_linear(m, a),
                          lambda: (state.W[m].copy(), state.h[m].copy(), state.f[m].copy()),
                          restore)

    def _run_alpha(self):
        self._safeguarded("alpha", self.update_alpha, self.state.alpha.copy,
                          self.state.set_alpha)

    def block_labels(self):
        """Labels of the blocks of one cycle, in order (as in ``fit``'s record)."""
        labels = []
        for m, name in enumerate("ab"):
            labels.append(f"phi_{name}")
            labels.extend(f"theta_{name}[{v}]" for v in range(len(self.Z[m])))
            if self.linear:
                labels.append(f"linear_{name}")
        if self.learn_mixing:
            labels.append("alpha")
        # `cycle` skips the rebalancing while prox-linear extrapolation is active
        if self.balance_factors and not (self.problem.uses_prox() and self.extrapolate):
            labels.append("balance")
        return labels + ["extrapolate"] * (self.cycle_extrapolation is not None)

    def cycle(self, omega_cap=0.0, record=None):
        """One cycle Phi_a -> Theta_a^(1..) -> [W_a] -> Phi_b -> ... -> alpha -> balance."""
        def done(label):
            if record is not None:
                record(label)

        for m, name in enumerate("ab"):
            # a zero CP part is a fixed point of its blocks: they are recorded, not run
            skip = self.zero_cp[m] or self.drop_negligible_cp(m)
            if not skip:
                self._run_phi(m)
            done(f"phi_{name}")
            for v in range(len(self.Z[m])):
                if not skip:
                    self._run_theta(m, v, omega_cap)
                done(f"theta_{name}[{v}]")
            if self.linear:
                self._run_linear(m)
                done(f"linear_{name}")
        if self.learn_mixing:
            self._run_alpha()
            done("alpha")
        if self.balance_factors and not self._extrapolating:
            self.balance()
            done("balance")
        if self.cycle_extrapolation is not None:
            self.cycle_extrapolation(self)
            done("extrapolate")

    def _snapshot(self):
        """What a restart of an extrapolated cycle restores."""
        snapshot = self.get_state()._asdict()
        if self.linear:
            snapshot["W"] = [w.copy() for w in self.W]
        return snapshot, self._prox_memory.copy()

    def fit(self, max_iter, tol, callback=None):
        """Run cycles until the relative decrease of J over a cycle is < tol.

        Returns a :class:`FitResult`. Prox-linear blocks are extrapolated
        (``extrapolate=True``) with Xu & Yin's restart: a cycle that increased J
        is redone without extrapolation.
        """
        values = [self.objective()]
        labels = ["init"]
        alphas = [self.alpha.copy()]

        def record(label):
            # J of the current state: known from a kept trial step, else computed
            J = self.state.known_objective
            if J is None:
                J = self.state.known_objective = self.objective()
            values.append(J)
            labels.append(label)

        self._prox_memory = _blocks.ProxMemory()
        self._forget_cycles()
        # Rescaling would corrupt the extrapolation memory: no balancing then.
        self._extrapolating = self.problem.uses_prox() and self.extrapolate
        t_prev = 1.0
        J_prev = values[0]
        rel = np.inf
        converged = False
        n_iter = 0
        for n_iter in range(1, max_iter + 1):
            t = (1.0 + math.sqrt(1.0 + 4.0 * t_prev * t_prev)) / 2.0
            omega_cap = (t_prev - 1.0) / t if self._extrapolating else 0.0
            if omega_cap > 0:
                snapshot, memory = self._snapshot()
                mark = len(values)
            self.cycle(omega_cap, record)
            if omega_cap > 0 and values[-1] > J_prev:
                del values[mark:], labels[mark:]
                self.set_state(**snapshot)
                self._prox_memory = memory
                self.cycle(0.0, record)
                t = 1.0
            t_prev = t
            alphas.append(self.alpha.copy())
            J = values[-1]
            rel = (J_prev - J) / abs(J_prev) if J_prev != 0 else 0.0
            J_prev = J
            if callback is not None:
                callback(n_iter, J)
            if rel < tol:
                converged = True
                break
        self.alpha_path = np.asarray(alphas)
        return FitResult(np.asarray(values), labels, n_iter, converged, rel)
