"""``statoptim reproduce quantile-solver``: the exact MM solver on the talk's model.

Fits q in {0.25, 0.5, 0.75} on ``Y = 4.5 Z1 - 2 Z2 + r`` at several sample
sizes, prints the estimates beside the truth, the objective beside an exact LP
solver's (SciPy's HiGHS) where that is affordable, and the time per fit.
"""
from __future__ import annotations

import time

import numpy as np

from statoptim._optional import Progress
from statoptim.studies._output import Column, StudyOutput, Table
from statoptim.studies._registry import (
    add_study_arguments,
    check_output_dir,
    deprecated_alias,
    int_at_least,
    real_in,
    register,
)

__all__ = ["lp_quantile_objective", "run"]

#: Seconds per fit the talk reported for its censored/missing-data pipeline.
TALK_SECONDS = {500: 23.6, 1000: 130.0, 2000: 835.0}


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
    add_study_arguments(parser, replications=5,
                        replications_help="timed fits per cell, the median is shown (no Monte "
                                          "Carlo here: the estimates are the same each time)",
                        unused=("data", "jobs", "scheduler"))
    deprecated_alias(parser, "--repeats", "--replications", dest="replications",
                     type=int_at_least(1), metavar="R")


def _check_arguments(args):
    if args.out is not None:
        check_output_dir(args.out, "--out")


COLUMNS = [
    Column("n"), Column("q"),
    Column("intercept", "intercept (truth)",
           lambda v, row: f"{v:+.4f} ({row['intercept_truth']:+.4f})"),
    Column("intercept_truth", show=False),
    Column("theta1", "theta1 (truth)", lambda v, row: f"{v:.4f} ({row['theta1_truth']:g})"),
    Column("theta1_truth", show=False),
    Column("theta2", "theta2 (truth)", lambda v, row: f"{v:.4f} ({row['theta2_truth']:g})"),
    Column("theta2_truth", show=False),
    Column("objective", fmt="{:.10g}"),
    Column("lp_objective", "LP objective",
           lambda v, row: "(skipped)" if v is None else f"{v:.10g}"),
    Column("rel_gap", "rel. gap", lambda v, row: "" if v is None else f"{v:+.1e}"),
    Column("lp_ms", "LP ms", lambda v, row: "" if v is None else f"{v:.1f}"),
    Column("mm_ms", "MM ms", "{:.2f}"),
    Column("iterations", "iter"), Column("pivots"), Column("status"),
]


@register("quantile-solver", "exact MM quantile regression on the talk's model",
          _add_arguments, _check_arguments)
def run(args):
    from statoptim import QuantileRegressor
    from statoptim.datasets import make_quantile_regression, quantile_truth

    output = StudyOutput(args, "quantile-solver")
    output.start()
    print("Quantile regression by MM, finished exactly (statoptim.QuantileRegressor)")
    print("Model: Y = 4.5 Z1 - 2 Z2 + r, Z1 ~ N(0,1), Z2 ~ U(-3,3), r ~ N(0,1)")
    print("Truth at quantile q: (intercept, theta1, theta2) = (qnorm(q), 4.5, -2)\n")
    table = Table(
        "quantile_solver", "", COLUMNS,
        note=f"\nMM ms: median wall time on this machine of one complete fit (validation "
             f"included) over {args.replications} repeats; LP: "
             "scipy.optimize.linprog(method='highs'), also here.")
    cells = [(n, q) for n in args.n for q in args.quantiles]
    with Progress(len(cells), "quantile-solver", unit="fit", enabled=not args.no_progress,
                  leave=False) as bar:
        for n in args.n:
            X, y = make_quantile_regression(
                n, random_state=np.random.default_rng([args.seed, n]))
            Z = np.column_stack([np.ones(n), X])
            for q in args.quantiles:
                model = QuantileRegressor(quantile=q)
                times = []
                for _ in range(args.replications):
                    t0 = time.perf_counter()
                    model.fit(X, y)
                    times.append(time.perf_counter() - t0)
                b0, truth = quantile_truth(q)
                row = {"n": n, "q": q, "intercept": float(model.intercept_),
                       "intercept_truth": b0, "theta1": float(model.coef_[0]),
                       "theta1_truth": float(truth[0]), "theta2": float(model.coef_[1]),
                       "theta2_truth": float(truth[1]), "objective": float(model.objective_),
                       "mm_ms": np.median(times) * 1e3, "iterations": int(model.n_iter_),
                       "pivots": int(model.n_pivots_), "status": model.status_}
                if n <= args.lp_max_n:
                    t0 = time.perf_counter()
                    lp_obj, _ = lp_quantile_objective(Z, y, q)
                    row.update(lp_objective=lp_obj, lp_ms=(time.perf_counter() - t0) * 1e3,
                               rel_gap=(model.objective_ - lp_obj) / lp_obj)
                table.add(row)
                bar.update()
    output.table(table)
    talk = ", ".join(f"{s:g} s (n = {n})" for n, s in TALK_SECONDS.items())
    print(f"The talk: {talk} per fit of its censored/missing-data pipeline, on the talk's "
          "hardware; the MM ms column is the complete-data fit measured here, on this "
          "machine (see `statoptim reproduce quantile` for the talk's pipeline).")
    output.finish(figures_possible=False)
    return 0
