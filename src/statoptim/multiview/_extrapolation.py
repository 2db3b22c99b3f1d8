"""Extrapolation of whole BCD cycles of the multi-view fit (``CPSolver(accelerate=True)``).

Plain BCD on a CP model moves along a slowly turning valley: consecutive
cycles take nearly parallel steps. After each cycle the factors are therefore
moved on along the cycle's step,

    X <- X + s (X - X_prev),   X = (Theta, Phi, alpha, W),

alpha clipped to [0, 1], and the move is kept only if it lowers J (else the
cycle's point is restored exactly): J stays monotone and the block updates are
untouched, so the fixed points are those of plain BCD. This is the line-search
extrapolation of CP alternating least squares (Bro 1998; Rajih, Comon and
Harshman 2008) with an adaptive step: s grows by GROW after a kept move and
shrinks by SHRINK after a rejected one, within [MIN_STEP, MAX_STEP]. X_prev
is the point kept after the previous cycle.

The products ``A = Z Theta`` and ``h = L W`` are linear in the factors, so they
are extrapolated the same way instead of being recomputed from the designs
(except a ``Z Theta`` whose extrapolation cancelled: see ``_state.CANCELLATION``).
"""
from __future__ import annotations

import numpy as np

from statoptim.multiview._state import CANCELLATION

__all__ = ["GROW", "MAX_STEP", "MIN_STEP", "SHRINK", "CycleExtrapolation"]

#: Step factor after a kept move, and after a rejected one.
GROW = 1.5
SHRINK = 0.5
#: Bounds of the extrapolation step s.
MIN_STEP = 0.25
MAX_STEP = 8.0


def _take(state):
    """Copies of the factors and of the products linear in them."""
    return {"Theta": [[t.copy() for t in Tm] for Tm in state.Theta],
            "Phi": [p.copy() for p in state.Phi],
            "alpha": state.alpha.copy(),
            "W": [None if w is None else w.copy() for w in state.W],
            "h": [h if np.isscalar(h) else h.copy() for h in state.h],
            "A": [a.copy() for a in state.A]}


def _move(new, old, step):
    return new + step * (new - old)


class CycleExtrapolation:
    """The extrapolation memory of one fit (see the module notes).

    Attributes
    ----------
    step : float
        The next extrapolation step s.
    n_accepted, n_rejected : int
        Moves kept, and undone because J did not decrease.
    """

    def __init__(self):
        self.step = 1.0
        self.n_accepted = 0
        self.n_rejected = 0
        self._previous = None

    def __call__(self, solver):
        """Try the extrapolated point after a cycle of ``solver``; keep it if J decreases."""
        state = solver.state
        J = state.known_objective
        if J is None:
            J = state.known_objective = solver.objective()
        current, previous = _take(state), self._previous
        self._previous = current
        if previous is None:
            return
        cache = state.cache()
        trial = {key: self._extrapolate(key, current, previous) for key in current}
        self._set(solver, trial)
        self._check_products(solver, current, previous)
        J_new = solver.objective()
        if J_new < J:
            self.n_accepted += 1
            state.known_objective = J_new
            self._previous = _take(state)
            self.step = min(self.step * GROW, MAX_STEP)
            return
        self.n_rejected += 1
        self._set(solver, current)
        state.restore_cache(cache)   # f and alpha are again those of the cache
        self.step = max(self.step * SHRINK, MIN_STEP)

    def _extrapolate(self, key, current, previous):
        s = self.step
        new, old = current[key], previous[key]
        if key == "alpha":
            return np.clip(_move(new, old, s), 0.0, 1.0)
        if key == "Theta":
            return [[_move(t, tp, s) for t, tp in zip(Tm, Tp)] for Tm, Tp in zip(new, old)]
        return [n if n is None or np.isscalar(n) else _move(n, o, s) for n, o in zip(new, old)]

    def _check_products(self, solver, current, previous):
        """Recompute from Z the extrapolated products Z Theta that cancelled (CANCELLATION)."""
        state, problem = solver.state, solver.problem
        for m in range(2):
            stale = False
            for v, (A, A_prev) in enumerate(zip(current["A"][m], previous["A"][m])):
                magnitude = np.linalg.norm(A) + self.step * np.linalg.norm(A - A_prev)
                if not np.linalg.norm(state.A[m][v]) >= CANCELLATION * magnitude:
                    np.matmul(problem.Z[m][v], state.Theta[m][v], out=state.A[m][v])
                    stale = True
            if stale:
                state.update_products(problem, m)

    @staticmethod
    def _set(solver, point):
        """Write ``point`` (copies are taken) into the state and recompute what follows."""
        state, problem = solver.state, solver.problem
        for m in range(2):
            state.Theta[m] = [t.copy() for t in point["Theta"][m]]
            state.Phi[m] = point["Phi"][m].copy()
            state.A[m][...] = point["A"][m]
            if point["W"][m] is not None:
                state.W[m] = point["W"][m].copy()
                state.h[m] = point["h"][m].copy()
            state.update_products(problem, m)
        state.set_alpha(point["alpha"].copy())
