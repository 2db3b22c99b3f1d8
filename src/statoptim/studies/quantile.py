"""``statoptim reproduce quantile``: the talk's censored, incomplete-data study.

Shetty (2018), "MM algorithm for quantile regression for censored data with
missing observations", simulated ``T = 4.5 Z1 - 2 Z2 + r``, censored the
response and deleted ``Z2`` at random, and fitted the inverse-probability
weighted quantile regression (Kaplan-Meier weights for censoring, kernel
propensities for missingness) by MM. It reported biases of -0.25 to -2.25 on
the slope 4.5 and 835 s per fit at n = 2000.

This study runs the same estimator (exactly solved) on both censoring designs
of docs/quantile.rst, "Simulation designs": the talk's fixed cut (design A; the
estimand is not identifiable there, see
``statoptim.datasets.make_censored_quantile``) and independent
random censoring (design B), at the talk's sample sizes n = 500, 1000 and 2000
(``--n``), prints bias and MSE of theta1 and theta2 beside the talk's table, an
oracle fit on the uncensored complete data, the effective sample size of the
weights, the time per fit beside the talk's (each labelled with where it was
measured), and with ``--out DIR`` writes the tables as CSV and JSON and the box
plot of theta1 estimates per situation there.

The talk's own MM (Hunter & Lange's perturbation with the talk's rule
``e n |ln e| = tau`` and its stopping rule, read literally and as the paper
states it) is rerun on every weighted problem as a plain reference
(``statoptim.studies.quantile_talk_mm``, not the package's solver), with its
objective gap to the exact optimum: it shows how much of the talk's bias an
unconverged solver can explain.

Design C adds censoring that depends on the covariate: ``T = 1 + 2x + e``,
``C = 4.5 - 1.5x + u`` with ``x ~ U(0, 2)`` and ``e, u ~ N(0, 1)`` (about 52%
censored). Kaplan-Meier weights assume ``C`` independent of ``x`` and are
inconsistent there; the locally weighted estimator (``censoring=
"conditional"``) and Peng & Huang's only need ``T`` and ``C`` independent
given ``x``. The three are fitted side by side on every sample.
"""
from __future__ import annotations

import time
import warnings

import numpy as np

from statoptim.exceptions import (
    BootstrapWarning,
    ConvergenceWarning,
    DegenerateDataWarning,
    DependentCensoringWarning,
)
from statoptim.studies._output import Column, StudyOutput, Table
from statoptim.studies._registry import (
    _Store,
    deprecated_figure_option,
    given,
    int_at_least,
    register,
)
from statoptim.studies.quantile_design import (
    CELLS,
    COVERAGE_LEVEL,
    DESIGN_C,
    DESIGN_C_ESTIMATORS,
    DESIGN_C_SLOPE,
    MIN_N,
    QUANTILES,
    TALK_MM_MAX_ITER,
    TALK_MM_RULES,
    TALK_MM_TAU,
    TALK_N,
    TALK_SECONDS,
    TALK_TABLE,
    TRUTH,
    _n_values,
    design_c_truth,
    make_design_c,
)
from statoptim.studies.quantile_report import (
    plot_boxplot,
    summarize,
    summarize_coverage,
    summarize_design_c,
    tabulate,
)

# The designs' constants and the report's functions are re-exported: the study is one name.
__all__ = ["CELLS", "DESIGN_C_ESTIMATORS", "QUANTILES", "TALK_MM_RULES", "TALK_TABLE", "compute",
           "design_c_truth", "make_design_c", "plot_boxplot", "replicate", "run", "summarize",
           "summarize_coverage", "summarize_design_c", "tabulate"]


def _bootstrap_slope(model, setting, rng, out, truth):
    """Add the bootstrap interval of the slope and whether it covers ``truth``.

    Outputs ``boot_lo_q{q}``, ``boot_hi_q{q}``, ``boot_covers_q{q}`` (1.0/0.0,
    NaN when the bootstrap failed) and ``boot_failed`` (1.0 when
    ``summary`` refused: too many failed replicates).
    """
    try:
        with warnings.catch_warnings():
            # the replicates' own warnings (small resamples: a tie at the largest
            # time, extreme weights) and a few failed replicates (RuntimeWarning,
            # counted by summary) are expected here; a refusal is counted below
            for category in (BootstrapWarning, ConvergenceWarning, DegenerateDataWarning,
                             DependentCensoringWarning):
                warnings.simplefilter("ignore", category)
            res = model.summary(se="boot", n_boot=setting["n_boot"],
                                alpha=1.0 - COVERAGE_LEVEL, random_state=rng, n_threads=1)
        ci = np.asarray(res.conf_int)[:, 1, :]  # (n_quantiles, 2): the first slope
        out["boot_failed"] = 0.0
    except ValueError:
        ci = np.full((len(QUANTILES), 2), np.nan)
        out["boot_failed"] = 1.0
    for k, q in enumerate(QUANTILES):
        lo, hi = float(ci[k, 0]), float(ci[k, 1])
        out[f"boot_lo_q{q}"], out[f"boot_hi_q{q}"] = lo, hi
        out[f"boot_covers_q{q}"] = (float(lo <= truth <= hi) if np.isfinite(lo)
                                    else float("nan"))


def _replicate_design_c(setting, rng):
    """Design C: the three estimators on one sample (see :func:`replicate`)."""
    from statoptim import CensoredQuantileRegressor
    from statoptim.quantile import DependentCensoringWarning

    X, y, event = make_design_c(setting["n"], rng)
    out = {"censored_share": float(1.0 - event.mean())}
    models = {}
    for name, params in DESIGN_C_ESTIMATORS.items():
        model = CensoredQuantileRegressor(quantile=list(QUANTILES), **params)
        # every warning is caught (silenced); the marginal fit's expected
        # DependentCensoringWarning is counted
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            try:
                model.fit(X, y, event=event)
                failed = False
            except ValueError:  # e.g. a Peng-Huang grid that cannot reach q at tiny n
                failed = True
        out[f"{name}_warned"] = float(any(issubclass(w.category, DependentCensoringWarning)
                                          for w in caught))
        out[f"{name}_failed"] = float(failed)
        for k, q in enumerate(QUANTILES):
            out[f"{name}_theta0_q{q}"] = np.nan if failed else float(model.intercept_[k])
            out[f"{name}_theta1_q{q}"] = np.nan if failed else float(model.coef_[k, 0])
        models[name] = None if failed else model
    if setting.get("n_boot"):
        if models["conditional"] is None:
            _bootstrap_slope_failed(out)
        else:
            _bootstrap_slope(models["conditional"], setting, rng, out, DESIGN_C_SLOPE)
    return out


def _bootstrap_slope_failed(out):
    out["boot_failed"] = 1.0
    for q in QUANTILES:
        out[f"boot_lo_q{q}"] = out[f"boot_hi_q{q}"] = out[f"boot_covers_q{q}"] = float("nan")


def replicate(setting, rng):
    """One replication: simulate, fit the IPW estimator and the oracle.

    ``setting`` holds ``design``, ``censoring``, ``missing`` and ``n``.
    Returns scalars: ``{est}_{coef}_q{q}`` for est in (ipw, oracle), the
    intercept, ``n_eff`` (Kish's effective sample size of the weights,
    ``(sum w)^2 / sum w^2``), ``max_weight_share`` and ``seconds`` (the IPW
    fit, all three quantiles, weights included).

    With ``design="covariate"`` (design C; ``setting`` holds ``design`` and
    ``n``) it fits the estimators of :data:`DESIGN_C_ESTIMATORS` instead and
    returns ``{est}_theta0_q{q}``, ``{est}_theta1_q{q}`` (NaN when the fit
    failed), ``{est}_failed`` and ``{est}_warned`` (1.0 when it issued a
    ``DependentCensoringWarning``, silenced here) and ``censored_share``.

    When ``setting`` holds ``n_boot`` > 0 (``--coverage``), design B and C
    replications also hold the percentile bootstrap interval of the slope
    (``theta1``; the marginal IPW fit in design B, the conditional one in
    design C) with ``n_boot`` replicates, seeded from ``rng``: see
    ``_bootstrap_slope``.
    """
    if setting["design"] == DESIGN_C:
        return _replicate_design_c(setting, rng)
    from statoptim import CensoredQuantileRegressor, QuantileRegressor
    from statoptim.datasets import make_censored_quantile

    data = make_censored_quantile(
        setting["n"], censoring=setting["censoring"], missing=setting["missing"],
        design=setting["design"], random_state=rng,
    )
    out = {}
    with warnings.catch_warnings():
        # design A warns (by design) that its fixed cut breaks positivity
        warnings.simplefilter("ignore", DegenerateDataWarning)
        warnings.simplefilter("ignore", DependentCensoringWarning)
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
    out.update(_talk_mm_fits(model, data))
    if setting.get("n_boot") and setting["design"] == "identifiable":
        _bootstrap_slope(model, setting, rng, out, TRUTH["theta1"])
    return out


def _talk_mm_fits(model, data):
    """The talk's MM (a plain reference, not the package's solver) on the same weighted fit.

    For each stopping rule of :data:`TALK_MM_RULES` and quantile: the slopes
    ``talkmm_{rule}_{coef}_q{q}``, the relative objective gap to the exact
    optimum ``talkmm_{rule}_gap_q{q}`` (``(L_mm - L*) / L*``, >= 0 up to
    rounding), the iterations ``talkmm_{rule}_iter_q{q}``, and the wall time of
    the three fits ``talkmm_{rule}_seconds``.
    """
    from statoptim.studies.quantile_talk_mm import check_loss, talk_mm

    use = model.weights_ > 0
    Z = np.column_stack([np.ones(int(use.sum())), data.X[use]])
    y, w = data.y[use], model.weights_[use]
    out = {}
    for rule in TALK_MM_RULES:
        t0 = time.perf_counter()
        fits = [talk_mm(Z, y, w, q, tau=TALK_MM_TAU, rule=rule, max_iter=TALK_MM_MAX_ITER)
                for q in QUANTILES]
        out[f"talkmm_{rule}_seconds"] = time.perf_counter() - t0
        for k, (q, (theta, info)) in enumerate(zip(QUANTILES, fits)):
            exact = np.concatenate([[model.intercept_[k]], model.coef_[k]])
            best = check_loss(Z, y, w, exact, q)
            out[f"talkmm_{rule}_theta1_q{q}"] = float(theta[1])
            out[f"talkmm_{rule}_theta2_q{q}"] = float(theta[2])
            out[f"talkmm_{rule}_gap_q{q}"] = (check_loss(Z, y, w, theta, q) - best) / best
            out[f"talkmm_{rule}_iter_q{q}"] = float(info["n_iter"])
    return out


def _settings(n_samples, n_boot=0):
    """The grid, per sample size: designs A and B per cell, then design C.

    ``n_samples`` is one size or a sequence of sizes; ``n_boot`` > 0
    (``--coverage``) adds it to the design B and C settings.
    """
    boot = {"n_boot": n_boot} if n_boot else {}
    grid = []
    for n in _n_values(n_samples):
        grid += [
            {"design": design, "censoring": c, "missing": m, "n": n,
             **(boot if design == "identifiable" else {})}
            for design in ("talk", "identifiable")
            for c, m in CELLS
        ] + [{"design": DESIGN_C, "n": n, **boot}]
    return grid


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



def _add_arguments(parser):
    from statoptim.studies._engine import add_runner_arguments

    n_type = int_at_least(MIN_N, " (smaller censored samples leave too few complete rows)")
    parser.add_argument("--coverage", action="store_true",
                        help="also bootstrap the slope in every design B and C replication "
                             "and print the coverage of the 95%% intervals (costs about a "
                             "second per replication at n = 2000)")
    parser.add_argument("--n-boot", type=int_at_least(20), default=200, action=_Store,
                        help="bootstrap replicates per interval with --coverage (default 200)")
    parser.add_argument("--n", type=n_type, nargs="+", default=list(TALK_N),
                        help="sample sizes per replication (default: the talk's "
                             f"{' '.join(map(str, TALK_N))})")
    parser.add_argument("--timing-n", type=n_type, nargs="*", default=list(TALK_N),
                        help="sample sizes of the time-per-fit table (empty to skip)")
    parser.add_argument("--repeats", type=int_at_least(1), default=5,
                        help="timed fits per sample size in the time-per-fit table (median; "
                             "default 5)")
    add_runner_arguments(parser, replications=200)
    deprecated_figure_option(parser, "--figure", FIGURE)


def _check_arguments(args):
    from statoptim.studies._engine import check_runner_arguments

    if given(args, "n_boot") and not args.coverage:
        raise ValueError(f"argument --n-boot: applies to the bootstrap of --coverage, which "
                         f"is off; add --coverage or drop --n-boot {args.n_boot}")
    check_runner_arguments(args, "quantile", _settings(args.n, _n_boot(args)))


def _n_boot(args):
    return args.n_boot if args.coverage else 0


FIGURE = "quantile_theta1_boxplot.png"


def compute(args):
    """Run (or read, with --summarize-only) the replications; return (records, seconds)."""
    from statoptim.studies._engine import run_from_args

    t0 = time.perf_counter()
    records = run_from_args(replicate, _settings(args.n, _n_boot(args)), "quantile", args)
    return records, time.perf_counter() - t0


@register("quantile", "censored, incomplete-data quantile regression: the talk's study",
          _add_arguments, _check_arguments)
def run(args):
    output = StudyOutput(args, "quantile")
    output.start()
    records, elapsed = compute(args)
    summaries, tables = tabulate(records, args.n)
    print("IPW quantile regression for censored responses with a missing covariate")
    print("Model T = 4.5 Z1 - 2 Z2 + r; Z2 missing at random given (Y, Z1); weights "
          "delta D / (G(Y-) pi(Y, Z1)); each weighted fit solved exactly.")
    print("Bias and MSE of theta1 (truth 4.5) and theta2 (truth -2) beside the talk's "
          "published numbers; 'oracle' fits the uncensored, complete data.")
    for table in tables:
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
    path = output.figure(FIGURE, lambda path: plot_boxplot(summaries, path))
    if path:
        print(f"\nbox plot of theta1 written to {path}")
    output.finish()
    return 0
