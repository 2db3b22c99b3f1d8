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

``loss="softmax"`` replaces each ``||g - Y||^2`` by the multinomial
cross-entropy ``sum_i [w_i logsumexp(g_i) - t_i^T g_i]`` (t = row-normalised
labels, w_i = 1 for a labelled row). The blocks are then not quadratic: every
block update works on Boehning's (1992) quadratic majorant of the
cross-entropy at the current state (Hessian <= I/2, so curvature 1/4 and
working targets ``g - 2 (w softmax(g) - t)``), which the squared-loss block
machinery minimises unchanged; J never increases (majorise-minimise).

The bound's curvature 1/4 is loose once rows are confidently classified (the
Hessian of a row shrinks with its softmax entropy), so plain MM crawls. Each
softmax block (Phi, exact/CG Theta, alpha) therefore first tries a smaller
curvature ``a`` per block (a quadratic model that need not majorise J). The
step is kept if J decreased by at least TRIAL_RATIO times the model's
predicted decrease (a trust-region ratio test), and the block's next ``a`` is
divided by TRIAL_SHRINK; otherwise the block is restored, redone with the
Boehning curvature (a guaranteed MM step) and its ``a`` multiplied by
TRIAL_GROW (capped at 1/4). J is monotone in both cases; for every ``a`` the
model's value and gradient at the current state equal J's, so the fixed points
(block stationarity) are those of the plain MM update. ``adaptive_curvature=
False`` gives the plain MM scheme.
"""
from __future__ import annotations

import math

import numpy as np

from statoptim.multiview import _cp, _kernels_numpy

__all__ = ["CHOLESKY_MAX_SIZE", "EXACT_MAX_SIZE", "CPSolver"]

# Blocks with rank * n_cols above this use the prox-linear update under "auto".
EXACT_MAX_SIZE = 3000
# Exact multi-view blocks larger than this are solved by PCG instead of Cholesky.
CHOLESKY_MAX_SIZE = EXACT_MAX_SIZE
# Preconditioned CG steps per block under block_update="cg" (the multi-view default).
CG_STEPS = 3
# Relative residual at which PCG stops (the block gradient is -2 x the residual).
PCG_RTOL = 1e-12
# Rows of the Khatri-Rao product built at a time when assembling H.
_CHUNK_ROWS = 256
# Power iterations for the Lipschitz constant of a prox-linear block.
_POWER_ITERATIONS = 30
# Extrapolation cap delta of Xu & Yin (2013), (2.2).
_DELTA = 0.9999
# Softmax loss: Boehning's curvature (a true majorant) and the smallest trial curvature.
BOEHNING_CURVATURE = 0.25
MIN_TRIAL_CURVATURE = BOEHNING_CURVATURE / 1024.0
# Trial curvature factors: divided after an accepted step, multiplied after a rejected one.
TRIAL_SHRINK = 1.5
TRIAL_GROW = 4.0
# A trial step is kept if J decreased by at least this fraction of the model's decrease.
TRIAL_RATIO = 0.25


def _logsumexp_softmax_rows(f):
    """(log sum_p exp(f_ip), softmax(f_i)) per row in one pass, shifted by the row maximum.

    Plain NumPy: scipy.special.logsumexp's array-API dispatch cost dominated
    the softmax-loss fits (the objective is evaluated after every block).
    """
    mx = f.max(axis=1, keepdims=True)
    e = np.exp(f - mx)
    tot = e.sum(axis=1, keepdims=True)
    e /= tot
    return np.log(tot[:, 0]) + mx[:, 0], e


def linear_design(Zm):
    """L_m = [1, X^(1), ..., X^(V)]: the designs of a modality's views side by side,
    one constant column (the design of the linear term)."""
    return np.ascontiguousarray(np.hstack([Zm[0]] + [z[:, 1:] for z in Zm[1:]]))


class CPSolver:
    """State and block updates of the BCD fit (internal; the estimator wraps it).

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
    backend : {"cython", "numpy"}
        Compiled kernels, or their plain-NumPy twins in `_kernels_numpy`.
    rng : numpy.random.Generator
        Draws the initial Theta (modality 0 before 1, views in order) and the
        starting vectors of the power iterations.
    """

    def __init__(self, Z, Y, rank, regularization, consensus, learn_mixing=True,
                 block_update="auto", rng=None, extrapolate=True, balance=True,
                 backend="cython", loss="squared", adaptive_curvature=True, linear=False,
                 linear_regularization=None):
        if loss not in ("squared", "softmax"):
            raise ValueError(f"loss must be 'squared' or 'softmax', got {loss!r}")
        self.loss = loss
        # Softmax loss: curvature of the quadratic model used by the block updates
        # (`_curvature`), and the next trial curvature of each block (safeguarded scheme).
        self.adaptive_curvature = bool(adaptive_curvature) and loss == "softmax"
        self._curvature = BOEHNING_CURVATURE
        self._trial_curvature = {}   # block -> next trial curvature
        # J of the current state when known (set by `fit`'s record and by kept
        # trial steps; cleared by every other state change) - saves evaluations.
        self._J_now = None
        self.n_accepted = 0   # trial-curvature steps kept / redone as MM steps
        self.n_rejected = 0
        self.Z = Z
        # "numpy" runs the same algorithm on plain-NumPy kernels (benchmarks, tests).
        self._k = _cp if backend == "cython" else _kernels_numpy
        self.Y = np.ascontiguousarray(Y, dtype=np.float64)
        self.n_samples, self.n_topics = self.Y.shape
        # softmax loss: row-normalised label weights t_i (a multi-label row
        # spreads its unit mass) and w_i = sum_p t_ip (0 for a row without labels).
        rows = self.Y.sum(axis=1, keepdims=True)
        self._Yn = np.divide(self.Y, rows, out=np.zeros_like(self.Y), where=rows > 0)
        self._row_w = self._Yn.sum(axis=1, keepdims=True)
        self.rank = int(rank)
        self.reg = float(regularization)
        # ridge strength of the linear term W (defaults to lambda)
        self.reg_lin = self.reg if linear_regularization is None else float(linear_regularization)
        self.mu = float(consensus)
        self.learn_mixing = bool(learn_mixing)
        self.extrapolate = bool(extrapolate)
        self.balance_factors = bool(balance)
        self.rng = np.random.default_rng(rng) if not isinstance(rng, np.random.Generator) else rng
        # Update of every Theta block: "exact", "cg" (a few preconditioned CG
        # steps, warm-started) or "prox" (prox-linear with extrapolation).
        self.mode = []
        for Zm in Z:
            modes = []
            for z in Zm:
                if block_update == "prox-linear":
                    modes.append("prox")
                elif block_update == "exact" or (block_update == "auto" and len(Zm) == 1):
                    modes.append("exact")
                else:
                    modes.append("cg")
            self.mode.append(modes)
        # Eigendecompositions of Z^T Z / N per view (Z is fixed during a fit): the
        # single-view shortcut and the preconditioner of the CG solves.
        self._zgram = [[None] * len(Zm) for Zm in Z]
        for m in range(2):
            for v, z in enumerate(Z[m]):
                if self.mode[m][v] != "prox":
                    s, V = np.linalg.eigh(z.T @ z / self.n_samples)
                    self._zgram[m][v] = (np.maximum(s, 0.0), V)
        self._gram_eig = [self._zgram[m][0] if len(Z[m]) == 1 and self.mode[m][0] == "exact"
                          else None for m in range(2)]
        # Exact multi-view blocks up to this size are factored (Cholesky of the
        # assembled H); larger ones are solved by preconditioned conjugate gradients
        # to round-off level (see `solve_pcg`).
        self.cholesky_max_size = CHOLESKY_MAX_SIZE
        # Optional linear term of each modality (MFM's task-specific linear
        # term): f_m = Pi_m Phi_m^T + L_m W_m with L_m = [1, X_m^(1), ..., X_m^(V)]
        # (the views' standardised columns side by side, one constant column).
        self.linear = bool(linear)
        self.L = [None, None]
        self._lgram = [None, None]
        if self.linear:
            for m in range(2):
                self.L[m] = L = linear_design(Z[m])
                s, V = np.linalg.eigh(L.T @ L / self.n_samples)
                self._lgram[m] = (np.maximum(s, 0.0), V)
        self._extrapolating = False
        # prox-linear memory (previous block and Lipschitz constant); reset by `fit`
        self._theta_prev, self._L_prev = {}, {}
        self.pcg_iterations = 0
        self._scratch = {}
        self._memo_store = {}   # see `_memo`
        self.initialize()

    # ------------------------------------------------------------------ state
    def initialize(self):
        """Standard-normal Theta with unit-norm columns, Phi = 0, alpha = 1/2."""
        self.Theta = []
        for m in range(2):
            thetas = []
            for z in self.Z[m]:
                t = self.rng.standard_normal((z.shape[1], self.rank))
                t /= np.linalg.norm(t, axis=0, keepdims=True)
                thetas.append(np.ascontiguousarray(t))
            self.Theta.append(thetas)
        self.Phi = [np.zeros((self.n_topics, self.rank)) for _ in range(2)]
        self.alpha = np.full(self.n_topics, 0.5)
        self.W = [np.zeros((L.shape[1], self.n_topics)) if L is not None else None
                  for L in self.L]
        self.h = [np.zeros_like(self.Y) if L is not None else 0.0 for L in self.L]
        self.refresh()

    def set_state(self, Theta=None, Phi=None, alpha=None, W=None):
        """Replace parameters (copies) and recompute the derived quantities.

        ``W``: the two linear-term coefficient matrices (``linear=True`` only).
        """
        if W is not None:
            if not self.linear:
                raise ValueError("W is only part of the state when linear=True")
            self.W = [np.asarray(w, dtype=np.float64).copy() for w in W]
            self.h = [L @ w for L, w in zip(self.L, self.W)]
        if Theta is not None:
            self.Theta = [[np.ascontiguousarray(t, dtype=np.float64).copy() for t in Tm]
                          for Tm in Theta]
        if Phi is not None:
            self.Phi = [np.ascontiguousarray(p, dtype=np.float64).copy() for p in Phi]
        if alpha is not None:
            self.alpha = np.asarray(alpha, dtype=np.float64).copy()
        self.refresh()

    def get_state(self):
        return ([[t.copy() for t in Tm] for Tm in self.Theta],
                [p.copy() for p in self.Phi], self.alpha.copy())

    def refresh(self, modalities=(0, 1)):
        """Recompute A, Pi, the leave-one-out products and f for the given modalities."""
        self._J_now = None
        if not hasattr(self, "A"):
            self.A = [None, None]
            self.Pi = [None, None]
            self.loo = [None, None]
            self.f = [None, None]
        for m in modalities:
            n_views = len(self.Z[m])
            A = np.empty((n_views, self.n_samples, self.rank))
            for v in range(n_views):
                np.matmul(self.Z[m][v], self.Theta[m][v], out=A[v])
            self.A[m] = A
            self._products(m)

    def _products(self, m):
        A = self.A[m]
        if self.loo[m] is None or self.loo[m].shape != A.shape:
            self.Pi[m] = np.empty(A.shape[1:])
            self.loo[m] = np.empty(A.shape)
        self._k.hadamard_products(A, self.Pi[m], self.loo[m])
        self.f[m] = self.Pi[m] @ self.Phi[m].T + self.h[m]

    def weights(self, m):
        """c_m: alpha for modality 0 and 1 - alpha for modality 1."""
        return self.alpha if m == 0 else 1.0 - self.alpha

    # ------------------------------------------------------------- objective
    # Memo of derived arrays. Every state change *replaces* the arrays f[m] and
    # alpha (never writes into them), so an entry keyed by the identity of its
    # inputs, which it keeps alive (ids cannot be reused), stays valid as long
    # as those very objects are current. Callers never modify what they get.
    _MEMO_SIZE = 8

    def _memo(self, key, inputs, compute):
        memo = self._memo_store
        hit = memo.get(key)
        if hit is not None and len(hit[0]) == len(inputs) and all(
                a is b for a, b in zip(hit[0], inputs)):
            return hit[1]
        value = compute()
        if len(memo) >= self._MEMO_SIZE:
            memo.clear()
        memo[key] = (inputs, value)
        return value

    def _mixture(self):
        """F = f_0 diag(alpha) + f_1 diag(1 - alpha) (memoised; do not modify)."""
        f0, f1, alpha = self.f[0], self.f[1], self.alpha
        return self._memo("mixture", (f0, f1, alpha),
                          lambda: f0 * alpha + f1 * (1.0 - alpha))

    def _softmax_stats(self, f):
        """(row logsumexp, d loss / d f) of the cross-entropy at f, in one pass (memoised)."""
        def compute():
            lse, grad = _logsumexp_softmax_rows(f)
            grad *= self._row_w
            grad -= self._Yn
            return lse, grad
        return self._memo(("softmax", id(f)), (f,), compute)

    def _loss(self, f):
        """Sum over rows of the data loss of scores f (before the 1/N)."""
        if self.loss == "squared":
            d = (f - self.Y).ravel()
            return float(np.dot(d, d))
        # multinomial cross-entropy: sum_i [w_i logsumexp(f_i) - t_i^T f_i]
        lse = self._softmax_stats(f)[0]
        return float(np.dot(self._row_w[:, 0], lse) - np.vdot(self._Yn, f))

    def _loss_grad(self, f):
        """d loss / d f (before the 1/N): 2 (f - Y), or w_i softmax(f_i) - t_i.

        The softmax gradient is memoised: callers must not modify it."""
        if self.loss == "squared":
            return 2.0 * (f - self.Y)
        return self._softmax_stats(f)[1]

    def _working(self, f):
        """(a, Y_w): the data loss of f is majorised by a ||f - Y_w||^2 + const.

        Squared loss: a = 1, Y_w = Y (exact). Softmax loss: the Hessian of a row's
        cross-entropy, w_i (diag(s) - s s^T), is <= (1/2) I (Boehning 1992), so
        a = 1/4 and Y_w = f - 2 (w softmax(f) - t), tight at the current f. With
        the current `_curvature` a (1/4 unless a safeguarded trial is running):
        Y_w = f - (w softmax(f) - t) / (2 a), same value and gradient at f.
        """
        if self.loss == "squared":
            return 1.0, self.Y
        a = self._curvature
        return a, f - self._loss_grad(f) / (2.0 * a)

    def objective(self):
        """J at the current state."""
        n = self.n_samples
        J = self._loss(self._mixture()) / n
        if self.mu > 0:
            J += self.mu / n * (self._loss(self.f[0]) + self._loss(self.f[1]))
        return float(J + self._penalty())

    def _penalty(self):
        """lambda (sum ||Theta||^2 + sum ||Phi||^2) (+ lambda_W sum ||W||^2)."""
        penalty = sum(np.vdot(t, t) for Tm in self.Theta for t in Tm)
        penalty += sum(np.vdot(p, p) for p in self.Phi)
        penalty *= self.reg
        if self.linear:
            penalty += self.reg_lin * sum(np.vdot(w, w) for w in self.W)
        return float(penalty)

    def residual_weights(self, m):
        """G_m = G diag(c_m) + (2 mu / N)(f_m - Y), G = (2/N)(F - Y)."""
        n = self.n_samples
        F = self._mixture()
        Gm = self._loss_grad(F) * (self.weights(m) / n)
        if self.mu > 0:
            Gm += (self.mu / n) * self._loss_grad(self.f[m])
        return Gm

    def gradients(self):
        """Analytic gradients (G1)-(G3): ``(dTheta, dPhi, dalpha)``."""
        dTheta, dPhi = [], []
        for m in range(2):
            Gm = self.residual_weights(m)
            GPhi = np.ascontiguousarray(Gm @ self.Phi[m])
            grads = []
            for v, z in enumerate(self.Z[m]):
                out = np.empty_like(self.Theta[m][v])
                self._k.weighted_cross(z, self.loo[m][v], GPhi, 1.0, self.Theta[m][v],
                                       2.0 * self.reg, self._buf("nr", m), out)
                grads.append(out)
            dTheta.append(grads)
            dPhi.append(Gm.T @ self.Pi[m] + 2.0 * self.reg * self.Phi[m])
        F = self._mixture()
        G = self._loss_grad(F) / self.n_samples
        dalpha = np.sum(G * (self.f[0] - self.f[1]), axis=0)
        return dTheta, dPhi, dalpha

    def linear_gradients(self):
        """dJ/dW_m = L_m^T G_m + 2 lambda_W W_m for both modalities (``linear=True``)."""
        return [self.L[m].T @ self.residual_weights(m) + 2.0 * self.reg_lin * self.W[m]
                for m in range(2)]

    def _buf(self, key, m, shape=None):
        shape = shape or (self.n_samples, self.rank)
        k = (key, m, shape)
        if k not in self._scratch:
            self._scratch[k] = np.empty(shape)
        return self._scratch[k]

    # ---------------------------------------------------- block quantities
    def _targets(self, m):
        """T = (Y - E) diag(c_m) + mu Y and w_p = c_{m,p}^2 + mu for modality m.

        With the softmax loss, Y is replaced by the working targets of the
        quadratic majorant at the current state (`_working`) and the weights by
        a c_m^2 and b mu: minimising the block majorant decreases J (MM).
        """
        o = 1 - m
        c_m, c_o = self.weights(m), self.weights(o)
        F = None if self.loss == "squared" else self._mixture()
        a, Ya = self._working(F)
        T = (Ya - self.f[o] * c_o) * (a * c_m)
        w = a * c_m * c_m
        if self.mu > 0:
            b, Yb = self._working(self.f[m])
            T += (self.mu * b) * Yb
            w = w + self.mu * b
        if self.linear:
            # the CP blocks fit what the linear term leaves: f_m = g + h_m
            T -= self.h[m] * w
        return T, w

    def theta_system(self, m, v):
        """(W, Q, B) of the Theta_m^(v) block: H = (1/N)(K^T K) o (Q kron 1) + lambda I."""
        T, w = self._targets(m)
        Phi = self.Phi[m]
        Q = np.ascontiguousarray((Phi.T * w) @ Phi)
        TPhi = np.ascontiguousarray(T @ Phi)
        W = self.loo[m][v]
        B = np.empty_like(self.Theta[m][v])
        self._k.weighted_cross(self.Z[m][v], W, TPhi, 1.0 / self.n_samples,
                               self.Theta[m][v], 0.0, self._buf("nr", m), B)
        return W, Q, B

    def assemble_H(self, m, v, W=None, Q=None):
        """The dense block Hessian / 2 (size rank * n_cols), for exact solves and tests."""
        if W is None:
            W, Q, _ = self.theta_system(m, v)
        z = self.Z[m][v]
        n = self.rank * z.shape[1]
        H = np.empty((n, n))
        scratch = self._buf("kr", m, (min(_CHUNK_ROWS, self.n_samples), n))
        self._k.khatri_rao_system(z, W, Q, 1.0 / self.n_samples, self.reg, H, scratch)
        return H

    # ------------------------------------------------------------- updates
    def update_phi(self, m):
        """Exact Phi_m: row p solves [w_p Pi^T Pi / N + lambda I] phi_p = Pi^T T_p / N."""
        T, w = self._targets(m)
        Pi = self.Pi[m]
        e, U = np.linalg.eigh(Pi.T @ Pi / self.n_samples)
        e = np.maximum(e, 0.0)
        C = U.T @ (Pi.T @ T / self.n_samples)             # (rank, n_topics)
        C /= e[:, None] * w[None, :] + self.reg
        self.Phi[m] = np.ascontiguousarray((U @ C).T)
        self.f[m] = Pi @ self.Phi[m].T + self.h[m]

    def update_linear(self, m):
        """Exact W_m: column p solves [w_p L^T L / N + lambda_W I] W_p = L^T R_p / N.

        R = T_full - g diag(w), with g = f - h = Pi Phi^T the CP part and T_full
        the targets before `_targets` subtracted h diag(w); one
        eigendecomposition of L^T L / N (fixed during a fit) serves all topics.
        """
        T, w = self._targets(m)
        R = T + (2.0 * self.h[m] - self.f[m]) * w
        s, V = self._lgram[m]
        C = V.T @ (self.L[m].T @ R / self.n_samples)
        C /= s[:, None] * w[None, :] + self.reg_lin
        self.W[m] = V @ C
        h = self.L[m] @ self.W[m]
        self.f[m] = self.f[m] + (h - self.h[m])
        self.h[m] = h

    def update_theta_exact(self, m, v):
        """Exact Theta_m^(v) (Xu & Yin 1.3a)."""
        W, Q, B = self.theta_system(m, v)
        z = self.Z[m][v]
        if self._gram_eig[m] is not None:
            # V_m = 1: H = Q kron (Z^T Z / N) + lambda I; diagonalise both factors.
            s, V = self._gram_eig[m]
            q, U = np.linalg.eigh(Q)
            C = V.T @ B @ U
            C /= s[:, None] * q[None, :] + self.reg
            theta = V @ C @ U.T
        elif self.rank * z.shape[1] > self.cholesky_max_size:
            theta = self.solve_pcg(m, v, W, Q, B)
        else:
            H = self.assemble_H(m, v, W, Q)
            rhs = np.ascontiguousarray(B.T).ravel()
            if self._k.cholesky_solve(H, rhs) == 0:
                theta = rhs.reshape(self.rank, z.shape[1]).T
            else:
                # H >= lambda I is positive definite, but with lambda below the rounding
                # level of the data part (rank-deficient designs) it is numerically
                # indefinite: solve by PCG instead and keep the better of the two blocks
                theta = self.solve_pcg(m, v, W, Q, B, factor=False)
                if (self._block_quadratic(m, v, W, Q, B, theta)
                        > self._block_quadratic(m, v, W, Q, B, self.Theta[m][v])):
                    theta = self.Theta[m][v]
        self._set_theta(m, v, theta)

    def _block_quadratic(self, m, v, W, Q, B, theta):
        """<theta, H theta> - 2 <B, theta>: the block's part of J, up to a constant."""
        out = np.empty_like(theta)
        theta = np.ascontiguousarray(theta)
        self._k.block_operator(self.Z[m][v], W, Q, 1.0 / self.n_samples, self.reg, theta,
                               self._buf("nr", m), self._buf("nr2", m), out)
        return float(np.vdot(theta, out) - 2.0 * np.vdot(B, theta))

    def update_theta_cg(self, m, v):
        """Inexact Theta_m^(v): CG_STEPS preconditioned CG steps from the current Theta.

        Every CG iterate minimises the block quadratic over a Krylov space that
        contains the starting point, so J never increases; with the mean-field
        Kronecker preconditioner of `solve_pcg` (exact when V = 1) a few steps
        capture most of the block's decrease at O(N R (d + R)) each, instead of
        the O(N R^2 d^2 + R^3 d^3) of assembling and factoring H.
        """
        W, Q, B = self.theta_system(m, v)
        self._set_theta(m, v, self.solve_pcg(m, v, W, Q, B, max_steps=CG_STEPS))


    def _pcg_steps(self, x, r, apply, precondition, n_steps, target):
        """At most ``n_steps`` preconditioned CG steps on ``H x = B``; ``x`` and the
        residual ``r = B - H x`` are updated in place. Stops when ``||r|| <= target``
        (or the preconditioned residual vanishes)."""
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
            r -= step * Hp
            zr = precondition(r)
            rz, rz_old = np.vdot(r, zr), rz
            p = zr + (rz / rz_old) * p
            self.pcg_iterations += 1

    def solve_pcg(self, m, v, W, Q, B, max_steps=None, factor=True):
        """Solve H Theta = B by conjugate gradients, warm-started at the current Theta.

        H is applied in operator form (`block_operator`, O(N R (d + R)) per
        product). The preconditioner replaces (1/N) sum_i (D_i Q D_i) kron z_i z_i^T
        by its mean-field approximation (Q o W^T W / N) kron (Z^T Z / N) + lambda I,
        which is exact when V = 1 and is inverted through the eigendecompositions
        of its two Kronecker factors. Stops at a relative residual of PCG_RTOL
        (the true residual is re-checked); falls back to Cholesky otherwise
        (``factor=True``) unless that fails, and then returns the last iterate,
        which every CG step moved downhill on the block quadratic.
        """
        z = self.Z[m][v]
        n = self.n_samples
        s, V = self._zgram[m][v]
        q, U = np.linalg.eigh(Q * (W.T @ W / n))
        denom = s[:, None] * np.maximum(q, 0.0)[None, :] + self.reg

        def precondition(X):
            return V @ (((V.T @ X) @ U) / denom) @ U.T

        s1, s2 = self._buf("nr", m), self._buf("nr2", m)
        HX = np.empty_like(B)

        def apply(X):
            self._k.block_operator(z, W, Q, 1.0 / n, self.reg, np.ascontiguousarray(X),
                                   s1, s2, HX)
            return HX

        x = self.Theta[m][v].copy()
        r = B - apply(x)
        target = PCG_RTOL * np.linalg.norm(B)
        if max_steps is not None:
            self._pcg_steps(x, r, apply, precondition, max_steps, target)
            return x
        size = self.rank * z.shape[1]
        for _ in range(2):  # a second pass restarts from the true residual
            self._pcg_steps(x, r, apply, precondition, size, target)
            r = B - apply(x)
            if np.linalg.norm(r) <= 10 * target:
                return x
        if not factor:
            return x
        H = self.assemble_H(m, v, W, Q)  # did not reach round-off: factor instead
        rhs = np.ascontiguousarray(B.T).ravel()
        if self._k.cholesky_solve(H, rhs) != 0:   # numerically indefinite (see above)
            return x
        return rhs.reshape(self.rank, z.shape[1]).T

    def balance(self):
        """Rescale the CP columns so every block of a modality has equal column norms.

        For each modality and component r, column r of every Theta_m^(v) and of
        Phi_m is scaled by s_b with prod_b s_b = 1: f is unchanged and, by the
        AM-GM inequality, the ridge penalty can only decrease. This exact step
        removes the scaling ambiguity of the CP factors, along which plain BCD
        crawls.
        """
        for m in range(2):
            blocks = [self.Phi[m]] + self.Theta[m]
            norms = np.array([np.linalg.norm(b, axis=0) for b in blocks])
            ok = np.all(norms > 0, axis=0)
            if not ok.any():
                continue
            geo = np.exp(np.mean(np.log(np.where(norms > 0, norms, 1.0)), axis=0))
            for b, nb in zip(blocks, norms):
                b[:, ok] *= (geo / np.where(nb > 0, nb, 1.0))[ok]
        self.refresh()

    def _set_theta(self, m, v, theta):
        self.Theta[m][v] = np.ascontiguousarray(theta)
        np.matmul(self.Z[m][v], self.Theta[m][v], out=self.A[m][v])
        self._products(m)

    def lipschitz(self, m, v, W, Q):
        """2 lambda_max(H) by power iterations with the operator form, times 1.01."""
        z = self.Z[m][v]
        x = np.ascontiguousarray(self.rng.standard_normal((z.shape[1], self.rank)))
        x /= np.linalg.norm(x)
        out = np.empty_like(x)
        s1, s2 = self._buf("nr", m), self._buf("nr2", m)
        lam = self.reg
        for _ in range(_POWER_ITERATIONS):
            self._k.block_operator(z, W, Q, 1.0 / self.n_samples, self.reg, x, s1, s2, out)
            lam = float(np.linalg.norm(out))
            if lam == 0.0:
                break
            x = out / lam
            out = np.empty_like(x)
        return 2.0 * 1.01 * max(lam, self.reg)

    def update_theta_prox(self, m, v, omega_cap):
        """Prox-linear Theta_m^(v) with extrapolation (Xu & Yin 1.3c).

        theta_hat = theta + omega (theta - theta_prev),
        theta <- theta_hat - grad J(theta_hat) / L, L = 2 lambda_max(H).
        Without extrapolation the step is a majorisation step; if round-off in
        the power iteration underestimated L and J rose, L is doubled and the
        step redone, so the update never increases J.
        """
        W, Q, B = self.theta_system(m, v)
        z = self.Z[m][v]
        L = self.lipschitz(m, v, W, Q)
        key = (m, v)
        L_prev = self._L_prev.get(key, L)
        theta = self.Theta[m][v]
        theta_prev = self._theta_prev.get(key, theta)
        omega = 0.0
        if omega_cap > 0:
            omega = min(omega_cap, _DELTA * math.sqrt(L_prev / L))
        theta_hat = np.ascontiguousarray(theta + omega * (theta - theta_prev))
        HT = np.empty_like(theta)
        s1, s2 = self._buf("nr", m), self._buf("nr2", m)
        J0 = self.objective() if omega == 0.0 else None
        for _ in range(60):
            self._k.block_operator(z, W, Q, 1.0 / self.n_samples, self.reg, theta_hat,
                                   s1, s2, HT)
            grad = 2.0 * (HT - B)
            self._set_theta(m, v, theta_hat - grad / L)
            if omega != 0.0 or self.objective() <= J0 + 1e-13 * abs(J0):
                break
            L *= 2.0
            self._set_theta(m, v, theta)
        self._theta_prev[key] = theta
        self._L_prev[key] = L

    def update_alpha(self):
        """alpha_p = clip(D_p^T (y_p - f_1p) / ||D_p||^2, 0, 1), D = f_0 - f_1."""
        D = self.f[0] - self.f[1]
        den = np.sum(D * D, axis=0)
        F = None if self.loss == "squared" else self._mixture()
        _, Ya = self._working(F)  # softmax loss: exact minimiser of the majorant in alpha
        num = np.sum(D * (Ya - self.f[1]), axis=0)
        ok = den > 0
        self.alpha = self.alpha.copy()
        self.alpha[ok] = np.clip(num[ok] / den[ok], 0.0, 1.0)

    # ------------------------------------------------------------------ loop
    def _uses_prox(self):
        """Whether any Theta block is updated by prox-linear steps."""
        return any(mode == "prox" for modes in self.mode for mode in modes)

    def block_labels(self):
        labels = []
        for m, name in enumerate("ab"):
            labels.append(f"phi_{name}")
            labels.extend(f"theta_{name}[{v}]" for v in range(len(self.Z[m])))
            if self.linear:
                labels.append(f"linear_{name}")
        if self.learn_mixing:
            labels.append("alpha")
        # `cycle` skips the rebalancing while prox-linear extrapolation is active
        if self.balance_factors and not (self._uses_prox() and self.extrapolate):
            labels.append("balance")
        return labels

    def _safeguarded(self, key, update, save, restore):
        """Run a block update with the block's trial curvature (see the module notes).

        ``save()`` returns what ``restore(saved)`` needs to undo ``update()``. A
        trial step is kept only if J decreased by at least TRIAL_RATIO x the
        model's decrease; otherwise it is undone and redone as a Boehning MM step.
        Squared loss (or ``adaptive_curvature=False``): just ``update()``.
        """
        J0, self._J_now = self._J_now, None
        if not self.adaptive_curvature:
            update()
            return
        trial = self._trial_curvature.get(key, BOEHNING_CURVATURE / 2)
        if trial >= BOEHNING_CURVATURE:
            self._curvature = BOEHNING_CURVATURE
            update()
            self._trial_curvature[key] = BOEHNING_CURVATURE / 2
            return
        if J0 is None:
            J0 = self.objective()
        saved = save()
        self._curvature = trial
        try:
            model = self._trial_model()
            M0 = model()
            update()
            predicted = M0 - model()   # >= 0: the update decreases the model
        finally:
            self._curvature = BOEHNING_CURVATURE
        J1 = self.objective()
        # Keep the step only if J decreased by a fair share of the model's
        # prediction (ratio test): a too-small curvature overshoots, and an
        # overshooting step that leaves J about equal would stall the fit.
        if J1 < J0 and J0 - J1 >= TRIAL_RATIO * predicted:
            self.n_accepted += 1
            self._J_now = J1
            self._trial_curvature[key] = max(trial / TRIAL_SHRINK, MIN_TRIAL_CURVATURE)
            return
        self.n_rejected += 1
        restore(saved)
        update()  # the Boehning curvature: a majorant, so J does not increase
        self._trial_curvature[key] = min(trial * TRIAL_GROW, BOEHNING_CURVATURE)

    def _trial_model(self):
        """The quadratic model of J at the current state (curvature `_curvature`).

        Returns a function of the (later) state: the data terms' quadratic
        models a ||g - Y_w||^2 frozen at the current state plus the exact ridge
        penalty, up to a constant (only differences are used).
        """
        n = self.n_samples
        a, Yw = self._working(self._mixture())
        Yc = [self._working(f)[1] for f in self.f] if self.mu > 0 else None

        def value():
            d = (self._mixture() - Yw).ravel()
            v = a * np.dot(d, d)
            if Yc is not None:
                for f, y in zip(self.f, Yc):
                    d = (f - y).ravel()
                    v += self.mu * a * np.dot(d, d)
            return v / n + self._penalty()
        return value

    def _run_phi(self, m):
        def restore(saved):
            self.Phi[m], self.f[m] = saved
        self._safeguarded(("phi", m), lambda: self.update_phi(m),
                          lambda: (self.Phi[m].copy(), self.f[m].copy()), restore)

    def _run_theta(self, m, v, omega_cap):
        mode = self.mode[m][v]
        if mode == "prox":  # has its own backtracking on J; plain Boehning model
            self._J_now = None
            self.update_theta_prox(m, v, omega_cap)
            return
        update = (lambda: self.update_theta_exact(m, v)) if mode == "exact" \
            else (lambda: self.update_theta_cg(m, v))

        def save():
            return (self.Theta[m][v].copy(), self.A[m].copy(), self.Pi[m].copy(),
                    self.loo[m].copy(), self.f[m].copy())

        def restore(saved):
            self.Theta[m][v], A, Pi, loo, self.f[m] = saved
            self.A[m][...] = A
            self.Pi[m][...] = Pi
            self.loo[m][...] = loo
        self._safeguarded(("theta", m, v), update, save, restore)

    def _run_linear(self, m):
        def restore(saved):
            self.W[m], self.h[m], self.f[m] = saved
        self._safeguarded(("linear", m), lambda: self.update_linear(m),
                          lambda: (self.W[m].copy(), self.h[m].copy(), self.f[m].copy()),
                          restore)

    def _run_alpha(self):
        def restore(saved):
            self.alpha = saved
        self._safeguarded("alpha", self.update_alpha, lambda: self.alpha.copy(), restore)

    def cycle(self, omega_cap=0.0, record=None):
        """One cycle Phi_a -> Theta_a^(1..) -> Phi_b -> Theta_b^(1..) -> alpha."""
        for m in range(2):
            self._run_phi(m)
            if record is not None:
                record(f"phi_{'ab'[m]}")
            for v in range(len(self.Z[m])):
                self._run_theta(m, v, omega_cap)
                if record is not None:
                    record(f"theta_{'ab'[m]}[{v}]")
            if self.linear:
                self._run_linear(m)
                if record is not None:
                    record(f"linear_{'ab'[m]}")
        if self.learn_mixing:
            self._run_alpha()
            if record is not None:
                record("alpha")
        if self.balance_factors and not self._extrapolating:
            self.balance()
            if record is not None:
                record("balance")

    def fit(self, max_iter, tol, callback=None):
        """Run cycles until the relative decrease of J over a cycle is < tol.

        Returns ``(objective, labels, n_iter, converged, last_relative_decrease)``.
        """
        values = [self.objective()]
        labels = ["init"]

        def record(label):
            # J of the current state: known from a kept trial step, else computed
            J = self._J_now if self._J_now is not None else self.objective()
            self._J_now = J
            values.append(J)
            labels.append(label)

        self._theta_prev, self._L_prev = {}, {}
        uses_prox = self._uses_prox()
        # Rescaling would corrupt the extrapolation memory: no balancing then.
        self._extrapolating = uses_prox and self.extrapolate
        t_prev = 1.0
        J_prev = values[0]
        rel = np.inf
        converged = False
        n_iter = 0
        for n_iter in range(1, max_iter + 1):
            t = (1.0 + math.sqrt(1.0 + 4.0 * t_prev * t_prev)) / 2.0
            omega_cap = (t_prev - 1.0) / t if (uses_prox and self.extrapolate) else 0.0
            if omega_cap > 0:
                snapshot = self.get_state() + (([w.copy() for w in self.W],) if self.linear else ())
                mark = len(values)
                memory = (dict(self._theta_prev), dict(self._L_prev))
            self.cycle(omega_cap, record)
            if omega_cap > 0 and values[-1] > J_prev:
                # Xu & Yin's restart: redo the cycle without extrapolation.
                del values[mark:], labels[mark:]
                self.set_state(*snapshot)
                self._theta_prev, self._L_prev = memory
                self.cycle(0.0, record)
                t = 1.0
            t_prev = t
            J = values[-1]
            rel = (J_prev - J) / abs(J_prev) if J_prev != 0 else 0.0
            J_prev = J
            if callback is not None:
                callback(n_iter, J)
            if rel < tol:
                converged = True
                break
        return np.asarray(values), labels, n_iter, converged, rel
