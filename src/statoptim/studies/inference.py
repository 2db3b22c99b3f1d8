"""``statoptim reproduce inference``: coverage of the quantile regression intervals.

Every method of :meth:`statoptim.QuantileRegressor.summary` gives a 95%
confidence interval for each coefficient: the inverted rank-score test
(``rank``), the Koenker-Bassett iid covariance (``iid``), the Hendricks-Koenker
sandwich (``nid``), Powell's kernel sandwich (``ker``) and the xy-pairs and wild
bootstraps (``boot-xy``, ``boot-wild``). This study checks that they cover the
true coefficients about 95% of the time, on two designs with ``x ~ U(0, 2)``:

``iid``
    ``y = 1 + 2 x + e``: the error does not depend on ``x``; the quantile-``q``
    line has intercept ``1 + Q(q)`` and slope 2 (``Q`` the quantile function
    of ``e``).
``hetero``
    ``y = 1 + 2 x + (1 + x) e``: the spread grows with ``x``; intercept
    ``1 + Q(q)`` and slope ``2 + Q(q)``. The ``iid`` covariance assumes the
    error density does not depend on ``x`` and is expected to be wrong here.

``e`` is standard normal or Student's t with 3 degrees of freedom
(``--errors``). Every replication draws one sample, fits it once and asks each
method for its interval, so the methods are compared on the same data; the
bootstraps get their own random streams (spawned from the replication's), so
a method's intervals do not depend on which other methods run. The table gives,
per method, design, n and q, the coverage, its Monte Carlo standard error
``sqrt(c (1 - c) / R)`` and the mean length, for the slope and the intercept;
the figure shows the coverage with the 93-97% band.
"""
from __future__ import annotations

import math
import time
import warnings

import numpy as np

from statoptim.studies._output import StudyOutput, Table
from statoptim.studies._registry import (
    deprecated_figure_option,
    format_table,
    int_at_least,
    real_in,
    register,
)

__all__ = [
    "BAND",
    "COEFS",
    "DESIGNS",
    "ERRORS",
    "METHODS",
    "plot_coverage",
    "replicate",
    "settings_grid",
    "simulate",
    "summarize",
    "truth",
]

#: Interval methods, as ``summary(se=...)`` (and ``bootstrap=``) names them.
METHODS = ("rank", "iid", "nid", "ker", "boot-xy", "boot-wild")
DESIGNS = ("iid", "hetero")
ERRORS = ("normal", "t3")
COEFS = ("slope", "intercept")
#: Coverage accepted for a nominal 95% interval (issue 13).
BAND = (0.93, 0.97)
ALPHA = 0.05
NOMINAL = 1.0 - ALPHA
#: Smallest --n: the bandwidth rules and the bootstraps need a few dozen rows.
MIN_N = 20
_SUMMARY_ARGS = {
    "rank": {"se": "rank"},
    "iid": {"se": "iid"},
    "nid": {"se": "nid"},
    "ker": {"se": "ker"},
    "boot-xy": {"se": "boot", "bootstrap": "xy"},
    "boot-wild": {"se": "boot", "bootstrap": "wild"},
}
_BOOT = ("boot-xy", "boot-wild")


def _error_quantile(errors, q):
    from scipy import stats

    return float(stats.norm.ppf(q) if errors == "normal" else stats.t.ppf(q, 3))


def truth(design, errors, q):
    """True ``(intercept, slope)`` of the conditional ``q``-quantile line.

    Parameters
    ----------
    design : {"iid", "hetero"}
    errors : {"normal", "t3"}
    q : float in (0, 1)

    Returns
    -------
    intercept, slope : float
        ``1 + Q(q)`` and ``2`` (``iid``) or ``2 + Q(q)`` (``hetero``), with
        ``Q`` the quantile function of the error law.
    """
    from statoptim._validation import check_choice, check_real

    check_choice(design, "design", DESIGNS)
    check_choice(errors, "errors", ERRORS)
    q = check_real(q, "q", low=0, high=1, low_open=True, high_open=True)
    eq = _error_quantile(errors, q)
    return 1.0 + eq, 2.0 + (eq if design == "hetero" else 0.0)


def simulate(design, errors, n, rng):
    """Draw ``n`` rows of a design: ``X`` of shape (n, 1) and ``y`` of shape (n,).

    ``x ~ U(0, 2)``; ``y = 1 + 2 x + s(x) e`` with ``s = 1`` (``iid``) or
    ``1 + x`` (``hetero``) and ``e`` standard normal or t with 3 degrees of
    freedom. ``rng`` is a :class:`numpy.random.Generator`.
    """
    from statoptim._validation import check_choice, check_int

    check_choice(design, "design", DESIGNS)
    check_choice(errors, "errors", ERRORS)
    n = check_int(n, "n", minimum=1)
    if not isinstance(rng, np.random.Generator):
        raise TypeError(f"rng must be a numpy.random.Generator, got {type(rng).__name__}")
    x = rng.uniform(0.0, 2.0, n)
    e = rng.standard_normal(n) if errors == "normal" else rng.standard_t(3, n)
    scale = 1.0 if design == "iid" else 1.0 + x
    return x[:, None], 1.0 + 2.0 * x + scale * e


def replicate(setting, rng):
    """One replication: draw a sample, fit it, and get every method's interval.

    ``setting`` holds ``design``, ``errors``, ``n``, ``q``, ``methods`` (a
    list of names from :data:`METHODS`) and, when a bootstrap is among them,
    ``n_boot``. The two bootstrap streams are spawned from ``rng`` before the
    sample is drawn, whatever the methods, so every method's interval is the
    same whichever others run.

    Returns
    -------
    dict
        ``slope_hat`` and ``intercept_hat``; for each method ``m`` and
        coefficient ``c``: ``{m}_{c}_lo`` and ``{m}_{c}_hi`` (the 95%
        interval; NaN if the method failed), ``{m}_failed`` (1 if ``summary``
        raised ``ValueError``, e.g. a zero sparsity estimate), ``{m}_warnings``
        (warnings it emitted, e.g. crossing refits in ``nid``) and
        ``{m}_seconds``.
    """
    from statoptim import QuantileRegressor

    boot_rngs = dict(zip(_BOOT, rng.spawn(len(_BOOT))))
    X, y = simulate(setting["design"], setting["errors"], setting["n"], rng)
    model = QuantileRegressor(quantile=setting["q"]).fit(X, y)
    out = {"intercept_hat": float(model.intercept_), "slope_hat": float(model.coef_[0])}
    for method in setting["methods"]:
        kwargs = dict(_SUMMARY_ARGS[method])
        if method in _BOOT:
            kwargs.update(n_boot=setting["n_boot"], random_state=boot_rngs[method])
        failed = 0
        t0 = time.perf_counter()
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            try:
                # one thread: the study runs replications in parallel processes
                ci = model.summary(alpha=ALPHA, n_threads=1, **kwargs).conf_int
            except ValueError:
                ci, failed = np.full((2, 2), np.nan), 1
        out[f"{method}_seconds"] = time.perf_counter() - t0
        out[f"{method}_failed"] = failed
        out[f"{method}_warnings"] = len(caught)
        for k, coef in enumerate(("intercept", "slope")):
            out[f"{method}_{coef}_lo"] = float(ci[k, 0])
            out[f"{method}_{coef}_hi"] = float(ci[k, 1])
    return out


def settings_grid(designs, errors, n_values, quantiles, methods, n_boot):
    """The grid of the study: one setting per (design, errors, n, q).

    ``methods`` are put in the order of :data:`METHODS` (so that the order of
    ``--methods`` does not change the grid); ``n_boot`` is recorded only when
    a bootstrap method runs.
    """
    methods = [m for m in METHODS if m in methods]
    extra = {"n_boot": int(n_boot)} if any(m in _BOOT for m in methods) else {}
    return [
        {"design": d, "errors": e, "n": int(n), "q": float(q), "methods": methods, **extra}
        for d in designs for e in errors for n in n_values for q in quantiles
    ]


def summarize(records):
    """Coverage, its Monte Carlo standard error and mean length per cell.

    Returns
    -------
    list of dict
        One row per (method, design, errors, n, q, coef), in that order of
        nesting from the innermost: keys ``method``, ``design``, ``errors``,
        ``n``, ``q``, ``coef``, ``replications`` (replications where the
        method gave an interval), ``coverage``, ``mcse``
        (``sqrt(c (1 - c) / R)``), ``z`` (``(c - 0.95) / sqrt(0.95 * 0.05 /
        R)``: beyond +-2 the miss is unlikely to be Monte Carlo noise),
        ``mean_length`` (over finite intervals;
        NaN if none), ``infinite`` (intervals with an infinite end, which
        cover), ``failed`` and ``warnings``.
    """
    groups = {}
    for rec in records:
        key = (rec["design"], rec["errors"], rec["n"], rec["q"])
        groups.setdefault(key, []).append(rec)
    rows = []
    for coef in COEFS:
        for method in METHODS:
            for (design, errors, n, q), recs in groups.items():
                if method not in recs[0]["methods"]:
                    continue
                target = truth(design, errors, q)[0 if coef == "intercept" else 1]
                lo = np.array([r[f"{method}_{coef}_lo"] for r in recs], dtype=np.float64)
                hi = np.array([r[f"{method}_{coef}_hi"] for r in recs], dtype=np.float64)
                ok = ~(np.isnan(lo) | np.isnan(hi))
                lo, hi = lo[ok], hi[ok]
                n_ok = int(ok.sum())
                cover = float(np.mean((lo <= target) & (target <= hi))) if n_ok else math.nan
                finite = np.isfinite(lo) & np.isfinite(hi)
                rows.append({
                    "method": method, "design": design, "errors": errors, "n": n, "q": q,
                    "coef": coef, "replications": n_ok, "coverage": cover,
                    "mcse": math.sqrt(cover * (1.0 - cover) / n_ok) if n_ok else math.nan,
                    "z": (cover - NOMINAL) / math.sqrt(NOMINAL * (1.0 - NOMINAL) / n_ok)
                    if n_ok else math.nan,
                    "mean_length": float(np.mean(hi[finite] - lo[finite]))
                    if finite.any() else math.nan,
                    "infinite": int(n_ok - finite.sum()),
                    "failed": int(sum(r[f"{method}_failed"] for r in recs)),
                    "warnings": int(sum(r[f"{method}_warnings"] for r in recs)),
                })
    return rows


def _flag(coverage):
    if math.isnan(coverage):
        return "n/a"
    if coverage < BAND[0]:
        return "LOW"
    if coverage > BAND[1]:
        return "HIGH"
    return ""


def _print_tables(rows):
    for coef in COEFS:
        print(f"\n{coef.capitalize()}: coverage of the 95% intervals (band "
              f"{100 * BAND[0]:.0f}-{100 * BAND[1]:.0f}%), Monte Carlo SE, mean length")
        table = []
        for r in rows:
            if r["coef"] != coef:
                continue
            notes = []
            if r["infinite"]:
                notes.append(f"{r['infinite']} infinite")
            if r["failed"]:
                notes.append(f"{r['failed']} failed")
            if r["warnings"]:
                notes.append(f"{r['warnings']} warnings")
            table.append([r["method"], r["design"], r["errors"], r["n"], f"{r['q']:g}",
                          f"{100 * r['coverage']:.1f}", f"{100 * r['mcse']:.1f}",
                          f"{r['z']:+.1f}", f"{r['mean_length']:.4f}", r["replications"],
                          _flag(r["coverage"]), ", ".join(notes)])
        print(format_table(["method", "design", "errors", "n", "q", "cover %", "MCSE %",
                            "z", "mean length", "reps", "band", "notes"], table))
    outside = [r for r in rows if _flag(r["coverage"])]
    print(f"\n{len(outside)} of {len(rows)} cells outside "
          f"{100 * BAND[0]:.0f}-{100 * BAND[1]:.0f}%" + (":" if outside else "."))
    for r in outside:
        print(f"  {r['method']:9s} {r['coef']:9s} {r['design']:6s} {r['errors']:6s} "
              f"n={r['n']:<5d} q={r['q']:<5g} {100 * r['coverage']:.1f}% "
              f"(MCSE {100 * r['mcse']:.1f}, z {r['z']:+.1f})")


def _print_timing(records):
    methods = [m for m in METHODS if records and m in records[0]["methods"]]
    table = []
    for n in sorted({r["n"] for r in records}):
        recs = [r for r in records if r["n"] == n]
        table.append([n] + [f"{1e3 * np.median([r[f'{m}_seconds'] for r in recs]):.1f}"
                            for m in methods])
    print("\nMedian milliseconds per interval computation (fit excluded; one thread):")
    print(format_table(["n"] + methods, table))


def plot_coverage(rows, path):
    """Coverage (with 95% Monte Carlo error bars) of every cell and the 93-97% band.

    One panel per (coefficient, design, errors); methods along the x axis,
    one marker per (n, q).
    """
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    cells = sorted({(r["design"], r["errors"]) for r in rows},
                   key=lambda c: (DESIGNS.index(c[0]), ERRORS.index(c[1])))
    methods = [m for m in METHODS if any(r["method"] == m for r in rows)]
    combos = sorted({(r["n"], r["q"]) for r in rows})
    ns = sorted({n for n, _ in combos})
    qs = sorted({q for _, q in combos})
    markers = "osD^v<>p*"
    colors = plt.get_cmap("viridis")(np.linspace(0.1, 0.85, max(len(qs), 1)))
    fig, axes = plt.subplots(len(COEFS), len(cells), squeeze=False, sharey=True,
                             figsize=(max(8.0, 1.2 + 0.8 * len(methods) * len(cells)), 7.5))
    width = 0.7
    for i, coef in enumerate(COEFS):
        for j, (design, errors) in enumerate(cells):
            ax = axes[i, j]
            ax.axhspan(100 * BAND[0], 100 * BAND[1], color="tab:green", alpha=0.15, lw=0)
            ax.axhline(95, color="tab:green", lw=0.8)
            for k, (n, q) in enumerate(combos):
                offset = (k + 0.5) / len(combos) * width - width / 2
                pts = [(methods.index(r["method"]) + offset, 100 * r["coverage"],
                        196 * r["mcse"]) for r in rows
                       if (r["coef"], r["design"], r["errors"], r["n"], r["q"])
                       == (coef, design, errors, n, q)]
                if not pts:
                    continue
                px, py, pe = map(np.asarray, zip(*pts))
                ax.errorbar(px, py, yerr=pe, fmt=markers[ns.index(n) % len(markers)],
                            color=colors[qs.index(q)], ms=4, lw=0.8,
                            label=f"n={n}, q={q:g}")
            ax.set_xticks(range(len(methods)), methods, rotation=45, fontsize=8)
            ax.set_xlim(-0.6, len(methods) - 0.4)
            ax.set_title(f"{coef}: {design}, {errors}", fontsize=9)
            ax.grid(axis="y", lw=0.3)
        axes[i, 0].set_ylabel("coverage of the 95% interval (%)")
    handles, labels = axes[0, 0].get_legend_handles_labels()
    fig.legend(handles, labels, loc="lower center", ncol=min(len(labels), 6), fontsize=8)
    fig.suptitle("Coverage of 95% quantile regression intervals\n"
                 "(bars: +-1.96 Monte Carlo SE; shaded: 93-97%)", fontsize=10)
    fig.tight_layout(rect=(0, 0.07, 1, 0.95))
    fig.savefig(path, dpi=120)
    plt.close(fig)
    return path


def _unique(values):
    return list(dict.fromkeys(values))


def _grid(args):
    return settings_grid(_unique(args.designs), _unique(args.errors), _unique(args.n),
                         _unique(args.quantiles), args.methods, args.n_boot)


FIGURE = "inference_coverage.png"


def _add_arguments(parser):
    from statoptim.studies._engine import add_runner_arguments

    parser.add_argument("--n", type=int_at_least(MIN_N), nargs="+", default=[200, 1000],
                        help="sample sizes (default: 200 1000)")
    parser.add_argument("--quantiles", type=real_in(0, 1, low_open=True, high_open=True),
                        nargs="+", default=[0.25, 0.5, 0.75], metavar="Q",
                        help="quantile levels (default: 0.25 0.5 0.75)")
    parser.add_argument("--methods", nargs="+", choices=METHODS, default=list(METHODS),
                        metavar="METHOD",
                        help=f"interval methods (default: all of {', '.join(METHODS)})")
    parser.add_argument("--designs", nargs="+", choices=DESIGNS, default=list(DESIGNS),
                        help="iid: y = 1 + 2x + e; hetero: y = 1 + 2x + (1 + x) e "
                             "(default: both)")
    parser.add_argument("--errors", nargs="+", choices=ERRORS, default=["normal"],
                        help="law of e: standard normal or Student's t_3 (default: normal)")
    parser.add_argument("--n-boot", type=int_at_least(2), default=200, metavar="B",
                        help="bootstrap replicates per interval (default: 200)")
    add_runner_arguments(parser, replications=1000)
    deprecated_figure_option(parser, "--figure", FIGURE)


def _check_arguments(args):
    from statoptim.studies._engine import check_runner_arguments

    check_runner_arguments(args, "inference", _grid(args))


@register("inference", "coverage of the quantile regression confidence intervals "
          "(rank, iid, nid, ker, bootstraps)", _add_arguments, _check_arguments)
def run(args):
    """Run the coverage study and print its tables (and write its figure)."""
    from statoptim.studies._engine import run_grid, runner_kwargs

    output = StudyOutput(args, "inference")
    output.start()
    settings = _grid(args)
    t0 = time.perf_counter()
    records = run_grid(replicate, settings, study="inference", **runner_kwargs(args))
    elapsed = time.perf_counter() - t0
    print("Coverage of 95% confidence intervals for linear quantile regression")
    print("x ~ U(0, 2); iid: y = 1 + 2x + e; hetero: y = 1 + 2x + (1 + x) e; "
          "truth at q: intercept 1 + Q_e(q), slope 2 (iid) or 2 + Q_e(q) (hetero).")
    boot = f"; bootstraps with {args.n_boot} replicates" if "n_boot" in settings[0] else ""
    print(f"{args.replications} replications per cell{boot}; MCSE = sqrt(c (1 - c) / R); "
          "z = (c - 0.95) / sqrt(0.95 * 0.05 / R).")
    rows = summarize(records)
    _print_tables(rows)
    _print_timing(records)
    print(f"\n{len(records)} replications in {elapsed:.1f} s")
    keys = list(rows[0]) if rows else ["method", "design", "errors", "n", "q", "coef",
                                       "coverage", "mcse"]
    # every cell as CSV and JSON (the tables printed above show the same numbers)
    output.table(Table("inference_coverage", "Coverage of 95% confidence intervals for "
                       "linear quantile regression", keys, rows), show=False)
    output.figure(FIGURE, lambda path: plot_coverage(rows, path))
    output.finish()
    return 0
