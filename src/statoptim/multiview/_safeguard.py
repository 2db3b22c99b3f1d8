"""The curvature safeguard of the softmax blocks of the multi-view fit.

The bound's curvature 1/4 is loose once rows are confidently classified (the
Hessian of a row shrinks with its softmax entropy), so plain MM crawls. Each
softmax block (Phi, exact/CG Theta, W, alpha) therefore first tries a smaller
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

import numpy as np

from statoptim.multiview._losses import BOEHNING_CURVATURE

__all__ = ["CurvatureSafeguard"]

# Softmax loss: the smallest trial curvature.
MIN_TRIAL_CURVATURE = BOEHNING_CURVATURE / 1024.0
# Trial curvature factors: divided after an accepted step, multiplied after a rejected one.
TRIAL_SHRINK = 1.5
TRIAL_GROW = 4.0
# A trial step is kept if J decreased by at least this fraction of the model's decrease.
TRIAL_RATIO = 0.25



class CurvatureSafeguard:
    """The trial curvature of every block, and the counts of kept and redone trial steps.

    Parameters
    ----------
    enabled : bool
        Try smaller curvatures (softmax loss, ``adaptive_curvature=True``); when
        False every update uses the Boehning curvature.

    Attributes
    ----------
    trial : dict
        Block key -> the curvature its next update tries.
    n_accepted, n_rejected : int
        Trial steps kept, and undone and redone as Boehning MM steps.
    """

    def __init__(self, enabled):
        self.enabled = bool(enabled)
        self.trial = {}
        self.n_accepted = 0
        self.n_rejected = 0

    def run(self, solver, key, update, save, restore):
        """Run ``update(curvature)`` on ``solver`` with block ``key``'s trial curvature.

        ``save()`` returns what ``restore(saved)`` needs to undo ``update``. A
        trial step is kept only if J decreased by at least TRIAL_RATIO x the
        model's decrease; otherwise it is undone and redone as a Boehning MM step.
        """
        state = solver.state
        J0 = state.known_objective
        if not self.enabled:
            update(BOEHNING_CURVATURE)
            return
        trial = self.trial.get(key, BOEHNING_CURVATURE / 2)
        if trial >= BOEHNING_CURVATURE:
            update(BOEHNING_CURVATURE)
            self.trial[key] = BOEHNING_CURVATURE / 2
            return
        if J0 is None:
            J0 = state.known_objective = solver.objective()
        saved = save()
        cache = state.cache()   # valid again once restore(saved) has run
        model = trial_model(solver, trial)
        M0 = model()
        update(trial)
        predicted = M0 - model()   # >= 0: the update decreases the model
        J1 = solver.objective()
        # Keep the step only if J decreased by a fair share of the model's
        # prediction (ratio test): a too-small curvature overshoots, and an
        # overshooting step that leaves J about equal would stall the fit.
        if J1 < J0 and J0 - J1 >= TRIAL_RATIO * predicted:
            self.n_accepted += 1
            state.known_objective = J1
            self.trial[key] = max(trial / TRIAL_SHRINK, MIN_TRIAL_CURVATURE)
            return
        self.n_rejected += 1
        restore(saved)
        state.restore_cache(cache)   # the Boehning step starts from the same state
        update(BOEHNING_CURVATURE)  # a majorant, so J does not increase
        self.trial[key] = min(trial * TRIAL_GROW, BOEHNING_CURVATURE)


def trial_model(solver, curvature):
    """The quadratic model of J at the solver's current state with the given curvature.

    Returns a function of the (later) state: the data terms' quadratic models
    a ||g - Y_w||^2 frozen at the current state plus the exact ridge penalty,
    up to a constant (only differences are used).
    """
    n = solver.problem.n_samples
    state = solver.state
    a, Yw = solver._working("mixture", curvature)
    Yc = ([solver._working(m, curvature).targets for m in range(2)] if solver.mu > 0
          else None)

    def value():
        d = (state.mixture() - Yw).ravel()
        v = a * np.dot(d, d)
        if Yc is not None:
            for f, y in zip(state.f, Yc):
                d = (f - y).ravel()
                v += solver.mu * a * np.dot(d, d)
        return v / n + solver._penalty()
    return value
