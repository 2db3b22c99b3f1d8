"""The fixed problem data and the explicit state of a multi-view BCD fit.

:class:`CPProblem` holds what depends on the data alone (designs, their Gram
eigendecompositions, ridge strengths, kernels); :class:`CPState` holds the
factors and the products derived from them. The block solvers write a factor
and then call the state's ``set_*`` method for what it changes, which drops
the cached quantities that depended on it: nothing is keyed by array identity.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from types import ModuleType
from typing import NamedTuple

import numpy as np

__all__ = ["CANCELLATION", "CHOLESKY_MAX_SIZE", "CPProblem", "CPState", "Eigen", "linear_design"]

#: A product Z Theta updated through its linearity (a sum of terms) is kept
#: only if its norm is at least this fraction of the summed norms of the terms;
#: below, the sum cancelled and its rounding error, relative to the terms,
#: would be large relative to it (a rescaling would then amplify it): it is
#: recomputed from Z.
CANCELLATION = 1.0 / 16

#: Exact multi-view blocks with rank * n_cols above this are solved by PCG
#: instead of an assembled Cholesky factorisation.
CHOLESKY_MAX_SIZE = 3000


class Eigen(NamedTuple):
    """Eigendecomposition of a symmetric PSD matrix (eigenvalues clipped at 0)."""

    values: np.ndarray
    vectors: np.ndarray


def _gram_eigen(design, n_samples):
    s, V = np.linalg.eigh(design.T @ design / n_samples)
    return Eigen(np.maximum(s, 0.0), V)


def linear_design(views):
    """L_m = [1, X^(1), ..., X^(V)]: the designs of a modality's views side by side,
    one constant column (the design of the linear term)."""
    return np.ascontiguousarray(np.hstack([views[0]] + [z[:, 1:] for z in views[1:]]))


def _theta_modes(Z, block_update):
    """Update of every Theta block: "exact", "cg" (a few warm-started PCG steps)
    or "prox" (prox-linear with extrapolation)."""
    modes = []
    for views in Z:
        if block_update == "prox-linear":
            modes.append(["prox"] * len(views))
        elif block_update == "exact" or (block_update == "auto" and len(views) == 1):
            modes.append(["exact"] * len(views))
        else:
            modes.append(["cg"] * len(views))
    return modes


@dataclass(eq=False)
class CPProblem:
    """Data of a fit and what is computed from the data alone (fixed during a fit).

    ``view_grams[m][v]``: eigendecomposition of Z^T Z / N (the single-view
    shortcut and the PCG preconditioner; None for prox-linear blocks).
    ``single_view_grams[m]``: that of the only view of modality m when its block
    is solved exactly by the Kronecker shortcut, else None.
    ``linear_designs[m]`` and ``linear_grams[m]``: L_m and the eigendecomposition
    of L_m^T L_m / N with a linear term, else None.
    """

    Z: list
    n_samples: int
    n_topics: int
    rank: int
    ridge: float
    linear_ridge: float
    consensus: float
    kernels: ModuleType
    modes: list
    view_grams: list
    single_view_grams: list
    linear_designs: list
    linear_grams: list
    cholesky_max_size: int = CHOLESKY_MAX_SIZE
    scratch: dict = field(default_factory=dict)
    #: Update the products A = Z Theta through their linearity in Theta (CG
    #: steps, rescaling, extrapolation) instead of multiplying by Z again: the
    #: same products up to rounding, fewer passes over the designs.
    reuse_products: bool = False

    @classmethod
    def build(cls, Z, n_topics, rank, ridge, linear_ridge, consensus, kernels, block_update,
              linear):
        """The problem of designs Z (n_topics, rank and ridges as in CPSolver).

        ``kernels``: the kernel module; ``block_update`` picks each Theta block's
        update; ``linear`` adds the linear-term designs and their Gram matrices.
        """
        n_samples = Z[0][0].shape[0]
        modes = _theta_modes(Z, block_update)
        view_grams = [[None if mode == "prox" else _gram_eigen(z, n_samples)
                       for z, mode in zip(views, modes_m)]
                      for views, modes_m in zip(Z, modes)]
        single = [view_grams[m][0] if len(Z[m]) == 1 and modes[m][0] == "exact" else None
                  for m in range(2)]
        designs = [linear_design(views) if linear else None for views in Z]
        grams = [None if L is None else _gram_eigen(L, n_samples) for L in designs]
        return cls(Z, n_samples, n_topics, rank, ridge, linear_ridge, consensus, kernels,
                   modes, view_grams, single, designs, grams)

    @property
    def linear(self):
        return self.linear_designs[0] is not None

    def uses_prox(self):
        """Whether any Theta block is updated by prox-linear steps."""
        return any(mode == "prox" for modes in self.modes for mode in modes)

    def buffer(self, key, m, shape=None):
        """A scratch array kept for reuse (contents undefined)."""
        shape = shape or (self.n_samples, self.rank)
        k = (key, m, shape)
        if k not in self.scratch:
            self.scratch[k] = np.empty(shape)
        return self.scratch[k]


@dataclass(eq=False)
class CPState:
    """Factors of the model and the products derived from them.

    Factors: ``Theta[m][v]``, ``Phi[m]``, ``alpha`` and the linear-term
    coefficients ``W[m]`` (None without a linear term). Products, per modality:
    ``A[m]`` (n_views, N, R) with ``A[m][v] = Z Theta``, their Hadamard product
    ``Pi[m]`` and leave-one-out products ``loo[m]`` (buffers rewritten in
    place), the linear part ``h[m] = L_m W_m`` (0.0 without one) and the scores
    ``f[m] = Pi Phi^T + h``. Cached: the mixture F, the loss statistics of F
    and of each f[m], and J when the solver knows it; ``set_scores`` and
    ``set_alpha`` drop what depends on what they set.
    """

    Theta: list
    Phi: list
    alpha: np.ndarray
    W: list
    h: list
    A: list = field(default_factory=lambda: [None, None])
    Pi: list = field(default_factory=lambda: [None, None])
    loo: list = field(default_factory=lambda: [None, None])
    f: list = field(default_factory=lambda: [None, None])
    known_objective: float | None = None
    _mixture: np.ndarray | None = None
    _loss_stats: dict = field(default_factory=dict)

    # ----------------------------------------------------------- products
    def refresh(self, problem, modalities=(0, 1)):
        """Recompute A, Pi, the leave-one-out products and f for the given modalities."""
        self.known_objective = None
        for m in modalities:
            n_views = len(problem.Z[m])
            A = np.empty((n_views, problem.n_samples, problem.rank))
            for v in range(n_views):
                np.matmul(problem.Z[m][v], self.Theta[m][v], out=A[v])
            self.A[m] = A
            self.update_products(problem, m)

    def update_products(self, problem, m):
        """Pi[m], loo[m] (in their buffers) and f[m] from the current A[m]."""
        A = self.A[m]
        if self.loo[m] is None or self.loo[m].shape != A.shape:
            self.Pi[m] = np.empty(A.shape[1:])
            self.loo[m] = np.empty(A.shape)
        problem.kernels.hadamard_products(A, self.Pi[m], self.loo[m])
        f = self.Pi[m] @ self.Phi[m].T
        if not (np.isscalar(self.h[m]) and self.h[m] == 0.0):   # no linear term: no pass
            f += self.h[m]
        self.set_scores(m, f)

    def set_theta(self, problem, m, v, theta, product=None, magnitude=0.0):
        """Theta[m][v] = theta, and the products of modality m.

        ``product``: Z theta when the caller has it as a sum of terms whose
        norms sum to ``magnitude`` (recomputed if the sum cancelled, see
        CANCELLATION); else it is computed.
        """
        self.Theta[m][v] = np.ascontiguousarray(theta)
        if product is None or not np.linalg.norm(product) >= CANCELLATION * magnitude:
            np.matmul(problem.Z[m][v], self.Theta[m][v], out=self.A[m][v])
        else:
            self.A[m][v] = product
        self.update_products(problem, m)

    # ------------------------------------------------------ invalidation
    def set_scores(self, m, f):
        """f[m] = f (a new array): drops the mixture, its and f[m]'s loss statistics and J."""
        self.f[m] = f
        self._mixture = None
        self._loss_stats.pop(m, None)
        self._loss_stats.pop("mixture", None)
        self.known_objective = None

    def set_alpha(self, alpha):
        """alpha = alpha (a new array): drops the mixture, its loss statistics and J."""
        self.alpha = alpha
        self._mixture = None
        self._loss_stats.pop("mixture", None)
        self.known_objective = None

    # ------------------------------------------------------------ caches
    def cache(self):
        """The cached mixture, loss statistics and J, for :meth:`restore_cache`."""
        return self._mixture, dict(self._loss_stats), self.known_objective

    def restore_cache(self, cache):
        """Reinstate :meth:`cache` ``()`` after the factors it was taken at were restored.

        The caller guarantees that f and alpha hold again the values they had
        when the cache was taken (a rejected step undone from saved copies), so
        the mixture, its loss statistics and J need not be recomputed.
        """
        self._mixture, stats, self.known_objective = cache
        self._loss_stats = dict(stats)

    def weights(self, m):
        """c_m: alpha for modality 0 and 1 - alpha for modality 1."""
        return self.alpha if m == 0 else 1.0 - self.alpha

    def mixture(self):
        """F = f_0 diag(alpha) + f_1 diag(1 - alpha) (cached: do not modify)."""
        if self._mixture is None:
            self._mixture = self.f[0] * self.alpha + self.f[1] * (1.0 - self.alpha)
        return self._mixture

    def scores(self, key):
        """The mixture F (key "mixture") or f[m] (key m)."""
        return self.mixture() if key == "mixture" else self.f[key]

    def loss_stats(self, loss, key):
        """``loss.stats`` of :meth:`scores` ``(key)`` (cached: do not modify)."""
        if key not in self._loss_stats:
            self._loss_stats[key] = loss.stats(self.scores(key))
        return self._loss_stats[key]

    def penalty(self, ridge, linear_ridge):
        """ridge (sum ||Theta||^2 + sum ||Phi||^2) (+ linear_ridge sum ||W||^2)."""
        penalty = sum(np.vdot(t, t) for Tm in self.Theta for t in Tm)
        penalty += sum(np.vdot(p, p) for p in self.Phi)
        penalty *= ridge
        if self.W[0] is not None:
            penalty += linear_ridge * sum(np.vdot(w, w) for w in self.W)
        return float(penalty)
