"""``statoptim reproduce quantile-solver``: the exact MM solver on the talk's model.

Fits q in {0.25, 0.5, 0.75} on ``Y = 4.5 Z1 - 2 Z2 + r`` at several sample
sizes, prints the estimates beside the truth, the objective beside an exact LP
solver's (SciPy's HiGHS) where that is affordable, and the time per fit.
"""
from __future__ import annotations

import time

import numpy as np

from statoptim.studies._runner import format_table, int_at_least, real_in, register

__all__ = ["run", "lp_quantile_objective"]


def lp_quantile_objective(Z, y, quantile, sample_weight=None):
    """Optimal objective of weighted quantile regression by ``scipy.optimize.linprog``.

    The LP ``min sum w_i (q u_i + (1-q) v_i)`` s.t. ``Z theta + u - v = y``,
    ``u, v >= 0`` with sparse identity blocks, solved by HiGHS. Returns
    ``(objective, theta)``.
    """
    from scipy import sparse
    from scipy.optimize import linprog

    n_samples, n_features = Z.shape
    w = np.ones(n_samples) if sample_weight is None else np.asarray(sample_weight, float)
    c = np.concatenate([np.zeros(n_features), quantile * w, (1.0 - quantile) * w])
    eye = sparse.identity(n_samples, format="csr")
    A_eq = sparse.hstack([sparse.csr_matrix(Z), eye, -eye], format="csr")
    bounds = [(None, None)] * n_features + [(0, None)] * (2 * n_samples)
    res = linprog(c, A_eq=A_eq, b_eq=y, bounds=bounds, method="highs",
                  options={"primal_feasibility_tolerance": 1e-10,
                           "dual_feasibility_tolerance": 1e-10})
    if res.status != 0:
        raise RuntimeError(f"linprog failed: {res.message}")
    theta = res.x[:n_features]
    r = y - Z @ theta
    objective = float(w @ np.where(r >= 0, quantile * r, (quantile - 1.0) * r))
    return objective, theta


def _add_arguments(parser):
    # n >= 4: the model has 3 coefficients, and 3 points are fitted exactly (objective 0).
    parser.add_argument("--n", type=int_at_least(4, " (the model has 3 coefficients)"),
                        nargs="+", default=[500, 2000, 100_000],
                        help="sample sizes (default: 500 2000 100000)")
    parser.add_argument("--quantiles", type=real_in(0, 1, low_open=True, high_open=True),
                        nargs="+", default=[0.25, 0.5, 0.75])
    parser.add_argument("--lp-max-n", type=int_at_least(0), default=20_000,
                        help="largest n at which the LP solver (HiGHS) is run for comparison")
    parser.add_argument("--repeats", type=int_at_least(1), default=5,
                        help="timed fits per cell (median)")
    parser.add_argument("--seed", type=int_at_least(0), default=0)


@register("quantile-solver", "exact MM quantile regression on the talk's model",
          _add_arguments)
def run(args):
    from statoptim import QuantileRegressor
    from statoptim.datasets import make_quantile_regression, quantile_truth

    print("Quantile regression by MM, finished exactly (statoptim.QuantileRegressor)")
    print("Model: Y = 4.5 Z1 - 2 Z2 + r, Z1 ~ N(0,1), Z2 ~ U(-3,3), r ~ N(0,1)")
    print("Truth at quantile q: (intercept, theta1, theta2) = (qnorm(q), 4.5, -2)\n")
    rows = []
    for n in args.n:
        X, y = make_quantile_regression(n, random_state=np.random.default_rng([args.seed, n]))
        Z = np.column_stack([np.ones(n), X])
        for q in args.quantiles:
            model = QuantileRegressor(quantile=q)
            times = []
            for _ in range(max(1, args.repeats)):
                t0 = time.perf_counter()
                model.fit(X, y)
                times.append(time.perf_counter() - t0)
            b0, truth = quantile_truth(q)
            if n <= args.lp_max_n:
                t0 = time.perf_counter()
                lp_obj, _ = lp_quantile_objective(Z, y, q)
                lp_time = time.perf_counter() - t0
                gap = (model.objective_ - lp_obj) / lp_obj
                lp_cols = [f"{lp_obj:.10g}", f"{gap:+.1e}", f"{lp_time * 1e3:.1f}"]
            else:
                lp_cols = ["(skipped)", "", ""]
            rows.append([
                n, q,
                f"{model.intercept_:+.4f} ({b0:+.4f})",
                f"{model.coef_[0]:.4f} (4.5)",
                f"{model.coef_[1]:.4f} (-2)",
                f"{model.objective_:.10g}", *lp_cols,
                f"{np.median(times) * 1e3:.2f}",
                model.n_iter_, model.n_pivots_, model.status_,
            ])
    header = ["n", "q", "intercept (truth)", "theta1 (truth)", "theta2 (truth)",
              "objective", "LP objective", "rel. gap", "LP ms", "MM ms", "iter", "pivots",
              "status"]
    print(format_table(header, rows))
    print("\nMM ms: median wall time of one complete fit (validation included) over "
          f"{args.repeats} repeats; LP: scipy.optimize.linprog(method='highs').")
    print("The talk reported 23.6 s (n=500), 130 s (n=1000) and 835 s (n=2000) per fit "
          "of its censored/missing-data pipeline.")
    return 0
