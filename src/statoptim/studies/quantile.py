"""``statoptim reproduce quantile``: the talk's censored, incomplete-data study.

Shetty (2018), "MM algorithm for quantile regression for censored data with
missing observations", simulated ``T = 4.5 Z1 - 2 Z2 + r``, censored the
response and deleted ``Z2`` at random, and fitted the inverse-probability
weighted quantile regression (Kaplan-Meier weights for censoring, kernel
propensities for missingness) by MM. It reported biases of -0.25 to -2.25 on
the slope 4.5 and 835 s per fit at n = 2000.

This study runs the same estimator (exactly solved) on both censoring designs
of the spec: the talk's fixed cut (design A; the estimand is not identifiable
there, see ``statoptim.datasets.make_censored_quantile``) and independent
random censoring (design B), prints bias and MSE of theta1 and theta2 beside
the talk's table, an oracle fit on the uncensored complete data, the
effective sample size of the weights, the time per fit beside the talk's (each
labelled with where it was measured), and with ``--out DIR`` writes the tables
as CSV and JSON and the box plot of theta1 estimates per situation there.
"""
from __future__ import annotations

import time
import warnings

import numpy as np

from statoptim.studies._output import Column, StudyOutput, Table
from statoptim.studies._runner import deprecated_figure_option, int_at_least, register

__all__ = ["CELLS", "QUANTILES", "TALK_TABLE", "replicate", "run"]

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
TRUTH = {"theta1": 4.5, "theta2": -2.0}
#: Smallest --n: below it the censored, incomplete samples leave too few rows
#: with positive weight for the 3 coefficients (about 1% of replications fail
#: at n = 20; none of 1,200 at n = 30).
MIN_N = 50


def replicate(setting, rng):
    """One replication: simulate, fit the IPW estimator and the oracle.

    ``setting`` holds ``design``, ``censoring``, ``missing`` and ``n``.
    Returns scalars: ``{est}_{coef}_q{q}`` for est in (ipw, oracle), the
    intercept, ``n_eff`` (Kish's effective sample size of the weights,
    ``(sum w)^2 / sum w^2``), ``max_weight_share`` and ``seconds`` (the IPW
    fit, all three quantiles, weights included).
    """
    from statoptim import CensoredQuantileRegressor, QuantileRegressor
    from statoptim.datasets import make_censored_quantile

    data = make_censored_quantile(
        setting["n"], censoring=setting["censoring"], missing=setting["missing"],
        design=setting["design"], random_state=rng,
    )
    out = {}
    with warnings.catch_warnings():
        # design A warns (by design) that its fixed cut breaks positivity
        warnings.filterwarnings("ignore", message="CensoredQuantileRegressor: ",
                                category=UserWarning)
        t0 = time.perf_counter()
        model = CensoredQuantileRegressor(quantile=list(QUANTILES)).fit(
            data.X, data.y, event=data.event
        )
        out["seconds"] = time.perf_counter() - t0
    oracle = QuantileRegressor(quantile=list(QUANTILES)).fit(data.X_full, data.time)
    for name, est in (("ipw", model), ("oracle", oracle)):
        for k, q in enumerate(QUANTILES):
            out[f"{name}_theta0_q{q}"] = float(est.intercept_[k])
            out[f"{name}_theta1_q{q}"] = float(est.coef_[k, 0])
            out[f"{name}_theta2_q{q}"] = float(est.coef_[k, 1])
    out["n_eff"] = float(model.n_eff_)
    out["max_weight_share"] = float(model.max_weight_share_)
    return out


def _settings(n_samples):
    return [
        {"design": design, "censoring": c, "missing": m, "n": n_samples}
        for design in ("talk", "identifiable")
        for c, m in CELLS
    ]


def _cell_name(censoring, missing):
    return f"C{round(100 * censoring)} M{round(100 * missing)}"


def summarize(records):
    """Bias and MSE per (design, cell, estimator, coefficient, quantile).

    Returns a dict keyed by ``(design, censoring, missing)`` whose values map
    ``"{est}_{coef}_q{q}"`` to ``(bias, mse, values)``, plus ``"n_eff"``,
    ``"seconds"`` and ``"replications"``.
    """
    groups = {}
    for rec in records:
        groups.setdefault((rec["design"], rec["censoring"], rec["missing"]), []).append(rec)
    summary = {}
    for key, recs in groups.items():
        cell = {"replications": len(recs)}
        for est in ("ipw", "oracle"):
            for coef in ("theta1", "theta2"):
                for q in QUANTILES:
                    name = f"{est}_{coef}_q{q}"
                    values = np.array([r[name] for r in recs])
                    err = values - TRUTH[coef]
                    cell[name] = (float(err.mean()), float(np.mean(err**2)), values)
        cell["n_eff"] = float(np.mean([r["n_eff"] for r in recs]))
        cell["max_weight_share"] = float(np.mean([r["max_weight_share"] for r in recs]))
        cell["seconds"] = float(np.median([r["seconds"] for r in recs]))
        summary[key] = cell
    return summary


def _bias_tables(summary, n_samples):
    """The two bias/MSE tables (design A, design B) beside the talk's numbers."""
    columns = [
        Column("coef"), Column("cell"), Column("censoring", show=False),
        Column("missing", show=False), Column("q"),
        Column("bias", fmt="{:+.4f}"), Column("mse", "MSE", "{:.4f}"),
        Column("talk_bias", "talk bias", "{:+.4f}"), Column("talk_mse", "talk MSE", "{:.4f}"),
        Column("oracle_bias", "oracle bias", "{:+.4f}"),
        Column("oracle_mse", "oracle MSE", "{:.4f}"),
        Column("n_eff", fmt="{:.0f}"), Column("replications", "reps"),
    ]
    tables = []
    for design, name, title in (
        ("talk", "quantile_bias_mse_design_a",
         ("Design A, the talk's fixed cut (NOT identifiable: G(t) = 0 beyond the cut;\n"
          "the bias below is a property of the design, not of the estimator)")),
        ("identifiable", "quantile_bias_mse_design_b",
         "Design B, independent N(mu_c, sd(T)^2) censoring (identifiable)"),
    ):
        table = Table(name, f"\n{title}; n = {n_samples}", columns)
        for coef in ("theta1", "theta2"):
            for c, m in CELLS:
                cell = summary.get((design, c, m))
                if cell is None:
                    continue
                for q in QUANTILES:
                    bias, mse, _ = cell[f"ipw_{coef}_q{q}"]
                    tb, tm = TALK_TABLE[coef][(c, m)][q]
                    obias, omse, _ = cell[f"oracle_{coef}_q{q}"]
                    table.add(coef=coef, cell=_cell_name(c, m), censoring=c, missing=m, q=q,
                              bias=bias, mse=mse, talk_bias=tb, talk_mse=tm,
                              oracle_bias=obias, oracle_mse=omse, n_eff=cell["n_eff"],
                              replications=cell["replications"])
        tables.append(table)
    return tables


def _timing(n_values, repeats, seed):
    """The time-per-fit table: here (this machine) beside the talk (its hardware)."""
    from statoptim import CensoredQuantileRegressor
    from statoptim.datasets import make_censored_quantile

    table = Table(
        "quantile_time_per_fit",
        "\nTime per fit (KM weights + kernel propensities + exact weighted fit, q = 0.5, "
        f"C25 M30, median of {repeats}):",
        [Column("n"), Column("here_ms", "here: ms per fit (this machine)", "{:.2f}"),
         Column("talk_s", "talk: s per fit (talk's hardware)", "{:g}"),
         Column("talk_over_here", "talk / here", "{:,.0f}")])
    for n in n_values:
        data = make_censored_quantile(n, censoring=0.25, missing=0.3,
                                      random_state=np.random.default_rng([seed, n]))
        model = CensoredQuantileRegressor(quantile=0.5)
        times = []
        for _ in range(repeats):
            t0 = time.perf_counter()
            model.fit(data.X, data.y, event=data.event)
            times.append(time.perf_counter() - t0)
        ours = float(np.median(times))
        talk = TALK_SECONDS.get(n)
        table.add(n=n, here_ms=ours * 1e3, talk_s=talk,
                  talk_over_here=None if talk is None else talk / ours)
    compared = [row for row in table.rows if row["talk_s"] is not None]
    if compared:
        row = compared[-1]
        table.note = (f"talk: {row['talk_s']:g} s per fit at n = {row['n']} on the talk's "
                      f"hardware; here: {row['here_ms']:.2f} ms on this machine. Same "
                      "model and estimator, different hardware and code: the ratio is not a "
                      "speed-up of the method alone.")
    return table


def plot_boxplot(summary, path, n_samples):
    """Box plot of the theta1 estimates per situation (as in the talk), both designs.

    Needs matplotlib (``pip install "statoptim[plot]"``).
    """
    from matplotlib.figure import Figure

    fig = Figure(figsize=(13, 4.8))
    axes = fig.subplots(1, 2, sharey=True)
    for ax, design, title in ((axes[0], "talk", "Design A: the talk's fixed cut"),
                              (axes[1], "identifiable", "Design B: random censoring")):
        data, labels = [], []
        for c, m in CELLS:
            cell = summary.get((design, c, m))
            if cell is None:
                continue
            for q in QUANTILES:
                data.append(cell[f"ipw_theta1_q{q}"][2])
                labels.append(f"{_cell_name(c, m)}\nq={q}")
        ax.boxplot(data, showfliers=True, flierprops={"markersize": 2})
        ax.set_xticks(range(1, len(labels) + 1), labels, fontsize=7)
        ax.axhline(4.5, color="tab:red", lw=1, ls="--", label="truth 4.5")
        ax.set_title(title)
        ax.legend(loc="lower left", fontsize=8)
    axes[0].set_ylabel(r"$\hat\theta_1$ (IPW quantile regression)")
    fig.suptitle(f"theta1 estimates per situation, n = {n_samples}")
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    return path


def _add_arguments(parser):
    from statoptim.studies._engine import add_runner_arguments

    n_type = int_at_least(MIN_N, " (smaller censored samples leave too few complete rows)")
    parser.add_argument("--n", type=n_type, default=500, help="sample size per replication")
    parser.add_argument("--timing-n", type=n_type, nargs="*", default=[500, 1000, 2000],
                        help="sample sizes of the time-per-fit table (empty to skip)")
    parser.add_argument("--repeats", type=int_at_least(1), default=5,
                        help="timed fits per sample size in the time-per-fit table (median; "
                             "default 5)")
    add_runner_arguments(parser, replications=200)
    deprecated_figure_option(parser, "--figure", FIGURE)


def _check_arguments(args):
    from statoptim.studies._engine import check_runner_arguments

    check_runner_arguments(args, "quantile", _settings(args.n))


FIGURE = "quantile_theta1_boxplot.png"


@register("quantile", "censored, incomplete-data quantile regression: the talk's study",
          _add_arguments, _check_arguments)
def run(args):
    from statoptim.studies._engine import run_from_args

    output = StudyOutput(args, "quantile")
    output.start()
    settings = _settings(args.n)
    t0 = time.perf_counter()
    records = run_from_args(replicate, settings, "quantile", args)
    elapsed = time.perf_counter() - t0
    summary = summarize(records)
    print("IPW quantile regression for censored responses with a missing covariate")
    print("Model T = 4.5 Z1 - 2 Z2 + r; Z2 missing at random given (Y, Z1); weights "
          "delta D / (G(Y-) pi(Y, Z1)); each weighted fit solved exactly.")
    print("Bias and MSE of theta1 (truth 4.5) and theta2 (truth -2) beside the talk's "
          "published numbers; 'oracle' fits the uncensored, complete data.")
    for table in _bias_tables(summary, args.n):
        output.table(table)
    verb = "read from" if args.summarize_only else "computed, in"
    print(f"\n{len(records)} replications in {elapsed:.1f} s ({verb} "
          f"{args.out or 'memory'})")
    if args.timing_n:
        if args.summarize_only:
            output.note("time-per-fit table skipped: --summarize-only computes nothing (the "
                        "table times fits on this machine)")
        else:
            output.table(_timing(args.timing_n, repeats=args.repeats, seed=args.seed))
    path = output.figure(FIGURE, lambda path: plot_boxplot(summary, path, args.n))
    if path:
        print(f"\nbox plot of theta1 written to {path}")
    output.finish()
    return 0
