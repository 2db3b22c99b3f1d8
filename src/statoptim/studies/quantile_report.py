"""The quantile study's tables and figure, from the replications' records.

:func:`summarize` (designs A and B), :func:`summarize_design_c` and
:func:`summarize_coverage` reduce the records of
:func:`statoptim.studies.quantile.replicate`; :func:`tabulate` builds every
printed table and :func:`plot_boxplot` the talk's box plot.
"""
from __future__ import annotations

import numpy as np

from statoptim.studies._output import Column, Table
from statoptim.studies.quantile_design import (
    CELLS,
    COVERAGE_LEVEL,
    DESIGN_C,
    DESIGN_C_ESTIMATORS,
    DESIGN_C_LABELS,
    DESIGN_C_SLOPE,
    QUANTILES,
    TALK_MM_MAX_ITER,
    TALK_MM_RULES,
    TALK_MM_SHORT,
    TALK_MM_TAU,
    TALK_SECONDS,
    TALK_TABLE,
    TRUTH,
    _n_values,
    design_c_truth,
)

__all__ = ["plot_boxplot", "summarize", "summarize_coverage", "summarize_design_c",
           "tabulate"]

def _cell_name(censoring, missing):
    return f"C{round(100 * censoring)} M{round(100 * missing)}"


def summarize(records, n=None):
    """Bias and MSE per (design, cell, estimator, coefficient, quantile).

    Returns a dict keyed by ``(design, censoring, missing)`` whose values map
    ``"{est}_{coef}_q{q}"`` to ``(bias, mse, values)``, plus ``"n_eff"``,
    ``"seconds"`` and ``"replications"``; with ``n``, over the records of
    that sample size only. Records holding the talk's MM (see
    :func:`_talk_mm_fits`) add ``"talkmm_{rule}_{coef}_q{q}"`` (bias, MSE,
    values), ``"talkmm_{rule}_gap_q{q}"`` (median, max, values),
    ``"talkmm_{rule}_iter_q{q}"`` (mean) and ``"talkmm_{rule}_seconds"``
    (median).
    """
    groups = {}
    for rec in records:
        if rec["design"] == DESIGN_C or (n is not None and rec["n"] != n):
            continue
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
        if all(f"talkmm_{TALK_MM_RULES[0]}_seconds" in r for r in recs):
            cell.update(_summarize_talk_mm(recs))
        summary[key] = cell
    return summary


def _summarize_talk_mm(recs):
    """The talk's MM part of :func:`summarize` for one cell's records."""
    cell = {}
    for rule in TALK_MM_RULES:
        for q in QUANTILES:
            for coef in ("theta1", "theta2"):
                values = np.array([r[f"talkmm_{rule}_{coef}_q{q}"] for r in recs])
                err = values - TRUTH[coef]
                cell[f"talkmm_{rule}_{coef}_q{q}"] = (float(err.mean()),
                                                     float(np.mean(err**2)), values)
            gaps = np.array([r[f"talkmm_{rule}_gap_q{q}"] for r in recs])
            cell[f"talkmm_{rule}_gap_q{q}"] = (float(np.median(gaps)), float(gaps.max()), gaps)
            cell[f"talkmm_{rule}_iter_q{q}"] = float(np.mean(
                [r[f"talkmm_{rule}_iter_q{q}"] for r in recs]))
        cell[f"talkmm_{rule}_seconds"] = float(np.median(
            [r[f"talkmm_{rule}_seconds"] for r in recs]))
    return cell


def summarize_design_c(records, n=None):
    """Bias and MSE per (estimator, coefficient, quantile) of design C.

    With ``n``, over the records of that sample size only. Returns ``None``
    without design C records, else a dict mapping
    ``"{est}_{coef}_q{q}"`` to ``(bias, mse, n_ok)`` over the replications
    whose fit succeeded, plus ``"{est}_failed"`` (count), ``"{est}_warned"``
    (share of replications with a ``DependentCensoringWarning``),
    ``"censored_share"`` (mean) and ``"replications"``.
    """
    recs = [r for r in records if r["design"] == DESIGN_C and (n is None or r["n"] == n)]
    if not recs:
        return None
    cell = {"replications": len(recs),
            "censored_share": float(np.mean([r["censored_share"] for r in recs]))}
    for est in DESIGN_C_ESTIMATORS:
        cell[f"{est}_failed"] = int(sum(r[f"{est}_failed"] for r in recs))
        cell[f"{est}_warned"] = float(np.mean([r[f"{est}_warned"] for r in recs]))
        for coef in ("theta0", "theta1"):
            for q in QUANTILES:
                values = np.array([r[f"{est}_{coef}_q{q}"] for r in recs])
                values = values[np.isfinite(values)]
                err = values - design_c_truth(coef, q)
                if err.size:
                    cell[f"{est}_{coef}_q{q}"] = (float(err.mean()), float(np.mean(err**2)),
                                                  int(err.size))
                else:
                    cell[f"{est}_{coef}_q{q}"] = (None, None, 0)
    return cell


def summarize_coverage(records, n=None):
    """Coverage of the bootstrap slope intervals per design B cell and design C.

    With ``n``, over the records of that sample size only.

    Returns a list of rows ``{"design", "cell", "estimator", "q", "truth",
    "coverage", "mc_se", "width", "replications", "failed", "n_boot"}``
    (``mc_se = sqrt(coverage (1 - coverage) / replications)``, the Monte Carlo
    standard error; ``width``, the mean interval length), over the
    replications that hold an interval; empty when none does.
    """
    groups = {}
    for rec in records:
        if "boot_failed" in rec and (n is None or rec["n"] == n):
            key = (rec["design"], rec.get("censoring"), rec.get("missing"))
            groups.setdefault(key, []).append(rec)
    rows = []
    order = [("identifiable", c, m) for c, m in CELLS] + [(DESIGN_C, None, None)]
    for key in order:
        recs = groups.get(key)
        if not recs:
            continue
        design, c, m = key
        in_c = design == DESIGN_C
        for q in QUANTILES:
            covers = np.array([r[f"boot_covers_q{q}"] for r in recs])
            ok = np.isfinite(covers)
            n_ok = int(ok.sum())
            width = np.array([r[f"boot_hi_q{q}"] - r[f"boot_lo_q{q}"] for r in recs])[ok]
            cov = float(covers[ok].mean()) if n_ok else None
            rows.append({
                "design": "C" if in_c else "B",
                "cell": "x-dependent" if in_c else _cell_name(c, m),
                "estimator": "conditional" if in_c else "marginal IPW",
                "q": q, "truth": DESIGN_C_SLOPE if in_c else TRUTH["theta1"],
                "coverage": cov,
                "mc_se": None if cov is None else float(np.sqrt(cov * (1 - cov) / n_ok)),
                "width": float(width.mean()) if n_ok else None,
                "replications": n_ok, "failed": len(recs) - n_ok,
                "n_boot": int(recs[0]["n_boot"]),
            })
    return rows


def _sizes(ns):
    return ", ".join(str(n) for n in ns)


def _design_c_table(cells):
    """Design C: bias and MSE of the three estimators side by side, per sample size.

    ``cells`` maps each sample size to its :func:`summarize_design_c` cell.
    """
    columns = [Column("n"), Column("coef"), Column("q"), Column("truth", fmt="{:+.4f}")]
    for est in DESIGN_C_ESTIMATORS:
        label = DESIGN_C_LABELS[est]
        columns += [Column(f"{est}_bias", f"{label} bias", "{:+.4f}"),
                    Column(f"{est}_mse", f"{label} MSE", "{:.4f}"),
                    Column(f"{est}_ok", show=False)]
    columns += [Column("marginal_warned", show=False), Column("censored_share", show=False),
                Column("replications", "reps")]
    table = Table(
        "quantile_bias_mse_design_c",
        "\nDesign C, censoring depending on the covariate: T = 1 + 2x + N(0,1), "
        "C = 4.5 - 1.5x + N(0,1), x ~ U(0,2)\n(truth: slope 2, intercept 1 + Phi^-1(q)); "
        f"n = {_sizes(cells)}",
        columns)
    notes = []
    for n, cell in cells.items():
        for coef in ("theta1", "theta0"):
            for q in QUANTILES:
                row = {"n": n, "coef": coef, "q": q, "truth": design_c_truth(coef, q),
                       "marginal_warned": cell["marginal_warned"],
                       "censored_share": cell["censored_share"],
                       "replications": cell["replications"]}
                for est in DESIGN_C_ESTIMATORS:
                    bias, mse, n_ok = cell[f"{est}_{coef}_q{q}"]
                    row.update({f"{est}_bias": bias, f"{est}_mse": mse, f"{est}_ok": n_ok})
                table.add(row)
        notes.append(f"n = {n}: {100 * cell['censored_share']:.0f}% censored on average; the "
                     "marginal IPW fit issued a DependentCensoringWarning (silenced) in "
                     f"{100 * cell['marginal_warned']:.0f}% of the replications")
        failed = {DESIGN_C_LABELS[e]: cell[f"{e}_failed"] for e in DESIGN_C_ESTIMATORS
                  if cell[f"{e}_failed"]}
        if failed:
            notes.append(f"n = {n}: failed fits, left out of bias and MSE: "
                         + ", ".join(f"{k} {v}" for k, v in failed.items()))
    notes.append("Its Kaplan-Meier weights assume censoring independent of x.")
    table.note = "\n".join(notes)
    return table


def _coverage_table(rows, n_values):
    """Coverage of the 95% percentile bootstrap intervals of the slope (rows hold ``n``)."""
    columns = [Column("n"), Column("design"), Column("cell"), Column("estimator"), Column("q"),
               Column("truth", fmt="{:g}"), Column("coverage", fmt="{:.3f}"),
               Column("mc_se", "MC s.e.", "{:.3f}"), Column("width", "mean width", "{:.4f}"),
               Column("replications", "reps"), Column("failed"), Column("n_boot", "B")]
    table = Table(
        "quantile_bootstrap_coverage",
        f"\nCoverage of the {100 * COVERAGE_LEVEL:.0f}% percentile bootstrap intervals of "
        f"the slope (pipeline bootstrap); n = {_sizes(n_values)}",
        columns, rows)
    table.note = ("MC s.e. = sqrt(coverage (1 - coverage) / reps); 'failed': replications "
                  "whose bootstrap (or fit) failed, left out.")
    return table


_DESIGNS = (
    ("talk", "a", ("Design A, the talk's fixed cut (NOT identifiable: G(t) = 0 beyond the cut;\n"
                   "the bias below is a property of the design, not of the estimator)")),
    ("identifiable", "b", "Design B, independent N(mu_c, sd(T)^2) censoring (identifiable)"),
)


def _bias_tables(summaries):
    """The two bias/MSE tables (design A, design B) beside the talk's numbers.

    ``summaries`` maps each sample size to its :func:`summarize` result; the
    rows run over coefficient, cell, quantile and then sample size.
    """
    columns = [
        Column("coef"), Column("cell"), Column("censoring", show=False),
        Column("missing", show=False), Column("q"), Column("n"),
        Column("bias", fmt="{:+.4f}"), Column("mse", "MSE", "{:.4f}"),
        Column("talk_bias", "talk bias", "{:+.4f}"), Column("talk_mse", "talk MSE", "{:.4f}"),
        Column("oracle_bias", "oracle bias", "{:+.4f}"),
        Column("oracle_mse", "oracle MSE", "{:.4f}"),
        Column("n_eff", fmt="{:.0f}"), Column("replications", "reps"),
    ]
    tables = []
    for design, letter, title in _DESIGNS:
        table = Table(f"quantile_bias_mse_design_{letter}",
                      f"\n{title}; n = {_sizes(summaries)}", columns,
                      note="talk: its published table (its n is not stated; the same "
                           "numbers are shown beside every n)")
        for coef in ("theta1", "theta2"):
            for c, m in CELLS:
                for q in QUANTILES:
                    for n, summary in summaries.items():
                        cell = summary.get((design, c, m))
                        if cell is None:
                            continue
                        bias, mse, _ = cell[f"ipw_{coef}_q{q}"]
                        tb, tm = TALK_TABLE[coef][(c, m)][q]
                        obias, omse, _ = cell[f"oracle_{coef}_q{q}"]
                        table.add(coef=coef, cell=_cell_name(c, m), censoring=c, missing=m,
                                  q=q, n=n, bias=bias, mse=mse, talk_bias=tb, talk_mse=tm,
                                  oracle_bias=obias, oracle_mse=omse, n_eff=cell["n_eff"],
                                  replications=cell["replications"])
        tables.append(table)
    return tables


def _gap(value, row):
    return "-" if value is None else f"{max(value, 0.0):.1e}"


def _talk_mm_tables(summaries):
    """Per design: the exact fit's theta1 bias beside the talk's MM's and the talk's.

    Rows (cell, q, n); the objective gaps are relative, ``(L_mm - L*) / L*``
    with ``L*`` the exact optimum of the same weighted problem. Empty list when
    no stored record holds the talk's MM (results of an older version).
    """
    columns = [Column("cell"), Column("q"), Column("n"),
               Column("exact_bias", "exact: theta1 bias", "{:+.4f}")]
    for rule in TALK_MM_RULES:
        # the printed rule always stops after one iteration: its max gap and
        # iteration count go to the files only
        columns += [Column(f"{rule}_bias", f"MM {TALK_MM_SHORT[rule]}: bias", "{:+.4f}"),
                    Column(f"{rule}_gap", "gap (median)", _gap),
                    Column(f"{rule}_gap_max", "gap (max)", _gap, show=rule == "paper"),
                    Column(f"{rule}_iter", "iter", "{:.0f}", show=rule == "paper"),
                    Column(f"{rule}_theta2_bias", show=False)]
    columns += [Column("exact_theta2_bias", show=False),
                Column("talk_bias", "talk: theta1 bias", "{:+.4f}"),
                Column("talk_theta2_bias", show=False), Column("replications", "reps")]
    tables = []
    for design, letter, title in _DESIGNS:
        table = Table(f"quantile_talk_mm_design_{letter}",
                      f"\nThe talk's MM (e n |ln e| = tau = {TALK_MM_TAU:g}, WLS start, at most "
                      f"{TALK_MM_MAX_ITER} iterations) on the same weighted problems; "
                      f"{title.splitlines()[0].split(' (')[0]}; n = {_sizes(summaries)}",
                      columns)
        for c, m in CELLS:
            for q in QUANTILES:
                for n, summary in summaries.items():
                    cell = summary.get((design, c, m))
                    if cell is None or f"talkmm_paper_gap_q{q}" not in cell:
                        continue
                    row = {"cell": _cell_name(c, m), "q": q, "n": n,
                           "exact_bias": cell[f"ipw_theta1_q{q}"][0],
                           "exact_theta2_bias": cell[f"ipw_theta2_q{q}"][0],
                           "talk_bias": TALK_TABLE["theta1"][(c, m)][q][0],
                           "talk_theta2_bias": TALK_TABLE["theta2"][(c, m)][q][0],
                           "replications": cell["replications"]}
                    for rule in TALK_MM_RULES:
                        gap_med, gap_max, _ = cell[f"talkmm_{rule}_gap_q{q}"]
                        row.update({f"{rule}_bias": cell[f"talkmm_{rule}_theta1_q{q}"][0],
                                    f"{rule}_theta2_bias":
                                        cell[f"talkmm_{rule}_theta2_q{q}"][0],
                                    f"{rule}_gap": gap_med, f"{rule}_gap_max": gap_max,
                                    f"{rule}_iter": cell[f"talkmm_{rule}_iter_q{q}"]})
                    table.add(row)
        if table.rows:
            table.note = TALK_MM_NOTE
            tables.append(table)
    return tables


TALK_MM_NOTE = (
    "MM printed: the slide's stopping rule read literally (signed relative change < tau: the\n"
    "first decrease stops it, after one iteration); MM Hunter-Lange: |relative change| < tau.\n"
    "gap: (L_mm - L*) / L*, L* the exact optimum of the same weighted check loss (>= 0).\n"
    "The MM here is a plain reference (studies/quantile_talk_mm.py), not the package's solver.")


def _study_time_table(summaries):
    """Time per fit measured inside the replications, beside the talk's."""
    table = Table(
        "quantile_time_in_study",
        "\nTime per fit inside the replications (design A, C25 M30; median over the "
        "replications; all three quantiles):",
        [Column("n"), Column("ipw_ms", "here: pipeline ms (this machine)", "{:.2f}"),
         Column("talkmm_paper_ms", "here: talk's MM ms, H-L rule", "{:.2f}"),
         Column("talkmm_printed_ms", "here: talk's MM ms, printed rule", "{:.2f}"),
         Column("talk_s", "talk: s per fit (talk's hardware)", "{:g}")])
    for n, summary in summaries.items():
        cell = summary.get(("talk",) + CELLS[0])
        if cell is None:
            continue
        table.add(n=n, ipw_ms=1e3 * cell["seconds"], talk_s=TALK_SECONDS.get(n),
                  **{f"talkmm_{rule}_ms": 1e3 * cell[f"talkmm_{rule}_seconds"]
                     for rule in TALK_MM_RULES if f"talkmm_{rule}_seconds" in cell})
    table.note = ("here: wall time inside the study's worker processes on this machine "
                  "(other jobs running beside them); pipeline = Kaplan-Meier weights + kernel "
                  "propensities + exact weighted fits; talk's MM = the three reference MM fits "
                  "on the prepared weights. talk: its whole pipeline, its hardware and code.")
    return table
def plot_boxplot(summaries, path):
    """Box plot of the theta1 estimates per situation (as in the talk), both designs.

    One row of panels per sample size of ``summaries`` ({n: :func:`summarize`
    result}). Needs matplotlib (``pip install "statoptim[plot]"``).
    """
    from matplotlib.figure import Figure

    fig = Figure(figsize=(13, 1.0 + 3.8 * len(summaries)))
    axes = np.atleast_2d(fig.subplots(len(summaries), 2, sharey=True, squeeze=False))
    for row, (n, summary) in zip(axes, summaries.items()):
        for ax, design, title in ((row[0], "talk", "Design A: the talk's fixed cut"),
                                  (row[1], "identifiable", "Design B: random censoring")):
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
            ax.set_title(f"{title}, n = {n}", fontsize=10)
            ax.legend(loc="lower left", fontsize=8)
        row[0].set_ylabel(r"$\hat\theta_1$ (IPW quantile regression)")
    fig.suptitle("theta1 estimates per situation")
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    return path


def tabulate(records, n_values):
    """Every table computed from the replications, in the printed order."""
    n_values = _n_values(n_values)
    summaries = {n: summarize(records, n) for n in n_values}
    tables = _bias_tables(summaries) + _talk_mm_tables(summaries)
    cells = {n: summarize_design_c(records, n) for n in n_values}
    cells = {n: cell for n, cell in cells.items() if cell is not None}
    if cells:
        tables.append(_design_c_table(cells))
    coverage = [{"n": n, **row} for n in n_values for row in summarize_coverage(records, n)]
    if coverage:
        tables.append(_coverage_table(coverage, n_values))
    tables.append(_study_time_table(summaries))
    return summaries, tables
