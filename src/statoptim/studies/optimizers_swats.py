"""The talk's remedy for Adam, "first Adam, then SGD" (SWATS, Keskar & Socher 2017), in
``statoptim reproduce optimizers``: beside plain Adam and Adam finished by L-BFGS.

:func:`swats_runs` computes (one record per problem and method), :func:`swats_table`
tabulates and explains from the measured records. The problems are built by
``statoptim.studies.optimizers.swats_problems`` (the talk's three). The fits use the
public API: ``LogisticRegression`` for Adam and its L-BFGS finish,
:func:`statoptim.optim.minimize` with ``method="swats"`` on the same minibatches; F*
comes from the float64 Newton solve of ``statoptim.optim.harness.optimum``.
"""
from __future__ import annotations

import time

import numpy as np

from statoptim.studies._output import Column, Table

__all__ = ["SWATS_TOLS", "error_rate", "swats_runs", "swats_table"]

#: SWATS's switching tolerances: the paper's epsilon, and a looser one that switches.
SWATS_TOLS = (1e-9, 1e-3)


def _minibatch_objective(X, y, alpha):
    """``fun(theta, rows)`` for :func:`statoptim.optim.minimize`: F on the rows (all if None).

    The ridge is added to every minibatch, as in ``LogisticRegression``'s stochastic
    solvers, so the minibatch gradient is unbiased for the gradient of F.
    """
    from statoptim.optim import logistic_objective

    yf = np.asarray(y, dtype=np.float64)

    def fun(theta, rows):
        if rows is None:
            value, grad, _ = logistic_objective(X, yf, theta, alpha)
        else:
            value, grad, _ = logistic_objective(X[rows], yf[rows], theta, alpha)
        return value, grad
    return fun


def error_rate(theta, X, y):
    """Misclassification rate in % of theta (intercept first) on (X, y)."""
    eta = X @ theta[1:] + theta[0]
    return 100.0 * np.mean((eta > 0) != (y == 1))


def _swats_record(problem, method, theta, elapsed, F_star, **extra):
    from statoptim.optim import logistic_objective

    X, y, alpha = problem["X"], problem["y"], problem["alpha"]
    F = logistic_objective(X, y.astype(np.float64), theta, alpha)[0]
    record = {"problem": problem["problem"], "method": method, "epochs": problem["epochs"],
              "switch_epoch": None, "switch_learning_rate": None, "lbfgs_iterations": None,
              "time_s": elapsed, "gap": (F - F_star) / F_star,
              "train_error_pct": error_rate(theta, X, y),
              "test_error_pct": error_rate(theta, problem["X_test"], problem["y_test"])}
    record.update(extra)
    return record


def swats_runs(problems, seed, tols=SWATS_TOLS):
    """Adam, Adam finished by L-BFGS, and SWATS at each tolerance, on each problem.

    Adam is ``LogisticRegression("adam")`` (compiled epochs); its finish continues
    from it with ``set_params(solver="lbfgs", warm_start=True)`` (the time is Adam's
    plus the finish's); SWATS is :func:`statoptim.optim.minimize` with ``method="swats"``
    on the same minibatches (same seed). The gap is (F - F*)/F* with F* from a separate
    float64 Newton solve. Returns one record (dict) per problem and method.
    """
    from statoptim import LogisticRegression
    from statoptim.optim import minimize
    from statoptim.optim.harness import optimum

    records = []
    for problem in problems:
        X, y, alpha = problem["X"], problem["y"], problem["alpha"]
        lr, b, epochs = problem["learning_rate"], problem["batch_size"], problem["epochs"]
        _, F_star = optimum(X, y, alpha)
        est = LogisticRegression("adam", alpha=alpha, learning_rate=lr, batch_size=b,
                                 stopping=None, max_iter=epochs, check_every=epochs,
                                 random_state=seed)
        t0 = time.process_time()
        est.fit(X, y)
        adam_time = time.process_time() - t0
        records.append(_swats_record(problem, "Adam", np.r_[est.intercept_, est.coef_[0]],
                                     adam_time, F_star))
        est.set_params(solver="lbfgs", warm_start=True, max_iter=None, tol=None)
        t0 = time.process_time()
        est.fit(X, y)
        finish_time = time.process_time() - t0
        records.append(_swats_record(
            problem, "Adam, then L-BFGS", np.r_[est.intercept_, est.coef_[0]],
            adam_time + finish_time, F_star, lbfgs_iterations=int(est.n_iter_)))
        fun = _minibatch_objective(X, y, alpha)
        for tol in tols:
            t0 = time.process_time()
            res = minimize(fun, np.zeros(X.shape[1] + 1), "swats", n_samples=X.shape[0],
                           batch_size=b, learning_rate=lr, stopping=None, max_iter=epochs,
                           random_state=seed, switch_tol=tol)
            records.append(_swats_record(
                problem, f"SWATS, eps = {tol:g}", res.x, time.process_time() - t0, F_star,
                switch_epoch=res.switch_epoch, switch_learning_rate=res.switch_learning_rate,
                switch_tol=tol))
    return records


def _swats_note(records):
    """The printed explanation, from the measured records."""
    finish = [r for r in records if r["method"] == "Adam, then L-BFGS"]
    stochastic = [r for r in records if r["method"] == "Adam" or "switch_tol" in r]
    lines = [
        "SWATS (Keskar & Socher 2017) runs Adam and switches for good to SGD with momentum "
        "once its estimate of the SGD step\nthat projects onto Adam's settles: |lambda_k / "
        "(1 - beta2^k) - gamma_k| < eps. Until the switch it is the Adam row exactly\n(same "
        "minibatches, same updates). Measured here:"]
    for tol in SWATS_TOLS:
        rows = [r for r in records if r.get("switch_tol") == tol]
        switched = [f"{r['problem']} at epoch {r['switch_epoch']}" for r in rows
                    if r["switch_epoch"] is not None]
        switched = ["; ".join(switched)] if switched else []
        never = [r["problem"] for r in rows if r["switch_epoch"] is None]
        text = f"  eps = {tol:g}{' (the paper' + chr(39) + 's)' if tol == 1e-9 else ''}: "
        parts = []
        if switched:
            parts.append("switched on " + ", ".join(switched))
        if never:
            parts.append(("never switched" if not switched else "never on " + "; ".join(never))
                         + " (so it ends where Adam does)")
        lines.append(text + "; ".join(parts) + ".")
    iterations = "; ".join(f"{r['problem']}: {r['lbfgs_iterations']}" for r in finish)
    lines.append(
        f"The L-BFGS finish (warm start from the Adam fit, the estimator's default tol) ends "
        f"at a gap of at most {max(max(r['gap'] for r in finish), 0.0):.1e}\nto the Newton "
        f"optimum F* (L-BFGS iterations: {iterations}); the smallest gap of Adam and SWATS\nat "
        f"constant steps is {min(r['gap'] for r in stochastic):.1e}. Times: Adam and its "
        "finish run compiled epochs;\nSWATS runs minimize's Python loop over minibatches, so "
        "its time is not comparable with theirs.")
    return "\n".join(lines)


def swats_table(records):
    """The SWATS comparison table: one row per problem and method."""
    def switch(value, row):
        if "SWATS" not in row["method"]:
            return ""
        return "never" if value is None else str(value)

    table = Table(
        "optimizers_swats",
        "\nThe talk's remedy, 'first Adam, then SGD' (SWATS), beside Adam and Adam finished "
        "by L-BFGS (same epochs, steps and minibatches; sim: n_train = 1000, n_test = 250, "
        "alpha = 0; real data: alpha = 1/n)",
        [Column("problem"), Column("method"), Column("epochs"),
         Column("switch_epoch", "switch epoch", switch),
         Column("switch_learning_rate", "SGD step",
                lambda v, row: "" if v is None else f"{v:.3g}"),
         Column("lbfgs_iterations", "L-BFGS its", lambda v, row: "" if v is None else str(v)),
         Column("time_s", "CPU s", "{:.3f}"),
         Column("gap", "gap (F - F*)/F*", lambda v, row: f"{max(v, 0.0):.1e}"),
         Column("train_error_pct", "train err %", "{:.2f}"),
         Column("test_error_pct", "test err %", "{:.2f}")],
        note=_swats_note(records))
    for r in records:
        table.add(**{k: v for k, v in r.items() if k != "switch_tol"})
    return table
