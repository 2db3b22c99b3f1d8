"""The quantile study's designs: the talk's cells and published numbers, design C.

Constants and data generators shared by the study's computation
(:mod:`statoptim.studies.quantile`) and its tables and figure
(:mod:`statoptim.studies.quantile_report`).
"""
from __future__ import annotations

import numpy as np
from scipy.stats import norm

__all__ = ["CELLS", "DESIGN_C", "DESIGN_C_ESTIMATORS", "QUANTILES", "TALK_TABLE", "TRUTH",
           "design_c_truth", "make_design_c"]

QUANTILES = (0.25, 0.5, 0.75)
# (censoring, missing) cells of the talk
CELLS = ((0.25, 0.30), (0.50, 0.30), (0.25, 0.50))
# The talk's published bias and MSE: TALK_TABLE[coef][(censoring, missing)][q] = (bias, mse)
TALK_TABLE = {
    "theta1": {
        (0.25, 0.30): {0.25: (-0.2486, 0.0719), 0.5: (-0.2474, 0.0693), 0.75: (-1.0631, 1.1749)},
        (0.50, 0.30): {0.25: (-0.2172, 0.0586), 0.5: (-2.2552, 5.1272), 0.75: (-2.2495, 5.1068)},
        (0.25, 0.50): {0.25: (-0.2387, 0.0703), 0.5: (-0.6786, 0.5033), 0.75: (-1.0252, 1.1038)},
    },
    "theta2": {
        (0.25, 0.30): {0.25: (0.1140, 0.0155), 0.5: (0.1136, 0.0153), 0.75: (0.4406, 0.2009)},
        (0.50, 0.30): {0.25: (0.1167, 0.0163), 0.5: (0.9935, 0.9949), 0.75: (0.9829, 0.9738)},
        (0.25, 0.50): {0.25: (0.1058, 0.0145), 0.5: (0.2982, 0.0973), 0.75: (0.4386, 0.2009)},
    },
}
TALK_SECONDS = {500: 23.6, 1000: 130.0, 2000: 835.0}
#: The talk's sample sizes (of its timings; its bias table states none): the --n default.
TALK_N = (500, 1000, 2000)
#: The talk's MM (studies/quantile_talk_mm.py, a reference, not the package's solver):
#: its stopping-rule readings, tolerance (the talk states none; ours) and iteration cap.
TALK_MM_RULES = ("printed", "paper")
TALK_MM_SHORT = {"printed": "printed", "paper": "H-L"}
TALK_MM_TAU = 1e-6
TALK_MM_MAX_ITER = 1000
TRUTH = {"theta1": 4.5, "theta2": -2.0}
#: Smallest --n: below it the censored, incomplete samples leave too few rows
#: with positive weight for the 3 coefficients (about 1% of replications fail
#: at n = 20; none of 1,200 at n = 30).
MIN_N = 50

#: Design C (covariate-dependent censoring): the setting's ``design`` value,
#: the estimators fitted side by side (output prefix -> estimator parameters)
#: and the truth: slope 2 at every quantile, intercept ``1 + Phi^-1(q)``.
DESIGN_C = "covariate"
DESIGN_C_ESTIMATORS = {
    "marginal": {},
    "conditional": {"censoring": "conditional"},
    "peng_huang": {"method": "peng-huang"},
}
DESIGN_C_LABELS = {"marginal": "marginal IPW", "conditional": "conditional",
                   "peng_huang": "Peng-Huang"}
DESIGN_C_SLOPE = 2.0
#: Bootstrap coverage: the estimator whose slope intervals are checked per design
#: (design B: the marginal IPW fit of ``replicate``; design C: the conditional one).
COVERAGE_LEVEL = 0.95


def design_c_truth(coef, q):
    """True ``theta0`` (``1 + Phi^-1(q)``) or ``theta1`` (2) of design C at quantile ``q``."""
    return DESIGN_C_SLOPE if coef == "theta1" else 1.0 + float(norm.ppf(q))


def make_design_c(n, rng):
    """Simulate design C: ``(X, y, event)`` with ``X`` of shape ``(n, 1)``.

    ``T = 1 + 2x + e``, ``C = 4.5 - 1.5x + u``, ``x ~ U(0, 2)``, ``e, u ~
    N(0, 1)`` independent; ``y = min(T, C)``, ``event = T <= C``.
    """
    x = rng.uniform(0.0, 2.0, n)
    t = 1.0 + DESIGN_C_SLOPE * x + rng.standard_normal(n)
    c = 4.5 - 1.5 * x + rng.standard_normal(n)
    return x[:, None], np.minimum(t, c), (t <= c).astype(np.int64)


def _n_values(n_samples):
    """``--n`` as a list of distinct sizes in the given order (an int: one size)."""
    if isinstance(n_samples, (int, np.integer)):
        return [int(n_samples)]
    return list(dict.fromkeys(int(n) for n in n_samples))
