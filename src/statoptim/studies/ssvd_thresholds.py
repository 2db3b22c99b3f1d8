"""The FIT-SSVD threshold study of ``statoptim reproduce ssvd``.

The talk's future work asks which thresholding function gives "the good
estimate with fastest speed": hard, soft or another one. This module answers
it on two designs of docs/ssvd.rst, "Simulation designs": the rank-one example
(100 x 50, used by Yang, Ma & Buja 2014 after Lee et al. 2010) and the
lung-sized spiked model (12,625 x 56, rank 3). Every combination of the
thresholding function (hard, soft, SCAD with a = 3.7) and the threshold rule
("theory": universal thresholds sqrt(2 log n); "bootstrap": the paper's
data-driven thresholds) is fitted on the same data sets, and each fit is scored
by the losses the paper reports: the projection losses of U and V and the
support errors (false positive / false negative rows), against its time.

The work is split in three: :func:`fit_data_set` (the fits on one data set:
the study engine's task in ``statoptim reproduce ssvd``; :func:`compute_thresholds`
runs it in process on any designs),
:func:`tabulate_thresholds` (one row per setting x threshold x rule, with Monte
Carlo standard errors, the numpy SVD as a baseline and the R reference rows) and
:func:`plot_thresholds` (accuracy against time); :func:`verdict` says which is
best and by how much.
"""
from __future__ import annotations

import math
import time
import warnings
from dataclasses import dataclass

import numpy as np

from statoptim._optional import Progress
from statoptim._threads import single_blas_thread
from statoptim.exceptions import ConvergenceWarning
from statoptim.studies._output import Column, Table

__all__ = ["CONFIGS", "REFERENCE_HARD", "Setting", "collect", "compute_thresholds",
           "fit_data_set", "plot_thresholds", "report_thresholds", "tabulate_thresholds",
           "verdict"]

THRESHOLDS = ("hard", "soft", "scad")
RULES = ("theory", "bootstrap")
#: (threshold, rule) pairs, in table order.
CONFIGS = tuple((t, r) for t in THRESHOLDS for r in RULES)
FIGURE = "ssvd_thresholds_accuracy_vs_time.png"
METRICS = ("loss_u", "loss_v", "fp_u", "fn_u", "fp_v", "fn_v", "seconds", "n_iter",
           "converged")

#: Hard-threshold losses of the R reference implementation (ssvd 1.0) on the first three
#: data sets of each design (docs/ssvd.rst, "Reference figures"): (lossU, lossV) per rule.
#: The paper's own tables are not in the specification, so these are the reference numbers.
REFERENCE_HARD = {
    "rank_one": {"theory": (0.018, 0.0075), "bootstrap": (0.018, 0.0075)},
    "lung_sized": {"theory": (0.098, 0.0062), "bootstrap": (0.098, 0.0067)},
}
#: Data sets behind each reference mean (seeds 0, 1, 2 of the design).
REFERENCE_DATA_SETS = 3


@dataclass
class Setting:
    """One design of the study: ``make(seed) -> (X, U, d, V)`` at rank ``rank``."""

    key: str
    title: str
    make: object
    rank: int
    replications: int


def _projection_loss(A, B):
    return float(A.shape[1] - np.linalg.norm(A.T @ B) ** 2)


def _support_errors(est, truth):
    s_hat, s = np.any(est != 0, axis=1), np.any(truth != 0, axis=1)
    return int((s_hat & ~s).sum()), int((~s_hat & s).sum())


def _fit_once(X, U, V, rank, threshold, rule, seed, repeats):
    """Fit one configuration; its losses, support errors and best-of-``repeats`` time."""
    from statoptim import SparseSVD

    best, model, converged = math.inf, None, True
    for _ in range(max(1, repeats)):
        est = SparseSVD(rank, threshold=threshold, threshold_rule=rule, random_state=seed)
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always", ConvergenceWarning)
            t0 = time.perf_counter()
            model = est.fit(X)
            best = min(best, time.perf_counter() - t0)
        capped = [w for w in caught if issubclass(w.category, ConvergenceWarning)
                  and "did not converge" in str(w.message)]
        converged = not capped
    for w in caught:            # the last fit's other warnings go on to the caller
        if not any(w is c for c in capped):
            warnings.warn(w.message, w.category, stacklevel=2)
    Uh, Vh = model.left_singular_vectors_, model.components_.T
    fp_u, fn_u = _support_errors(Uh, U)
    fp_v, fn_v = _support_errors(Vh, V)
    return {"loss_u": _projection_loss(U, Uh), "loss_v": _projection_loss(V, Vh),
            "fp_u": fp_u, "fn_u": fn_u, "fp_v": fp_v, "fn_v": fn_v, "seconds": best,
            "n_iter": model.n_iter_, "converged": converged}


def fit_data_set(X, U, V, rank, data_seed, *, repeats=1, configs=CONFIGS):
    """Every configuration of ``configs`` and the numpy SVD on one data set.

    Returns a flat dict of scalars: ``{threshold}_{rule}_{metric}`` for each
    configuration and metric of :data:`METRICS`, and ``svd_loss_u``,
    ``svd_loss_v`` (the plain truncated SVD). The bootstrap rule is seeded
    ``data_seed``.
    """
    Us, _, Vt = np.linalg.svd(X, full_matrices=False)
    out = {"svd_loss_u": _projection_loss(U, Us[:, :rank]),
           "svd_loss_v": _projection_loss(V, Vt[:rank].T)}
    for c in configs:
        fit = _fit_once(X, U, V, rank, *c, data_seed, repeats)
        out.update((f"{c[0]}_{c[1]}_{m}", fit[m]) for m in METRICS)
    return out


def collect(rows, configs=CONFIGS):
    """``{(threshold, rule): {metric: ndarray}, "svd": {...}}`` of per-data-set dicts.

    ``rows`` are the outputs of :func:`fit_data_set` (or records holding
    them), one per data set, in data-set order.
    """
    out = {c: {m: np.asarray([r[f"{c[0]}_{c[1]}_{m}"] for r in rows]) for m in METRICS}
           for c in configs}
    out["svd"] = {m: np.asarray([r[f"svd_{m}"] for r in rows]) for m in ("loss_u", "loss_v")}
    return out


def compute_thresholds(settings, *, seed=0, repeats=1, configs=CONFIGS, progress=False):
    """Fit every (threshold, rule) of ``configs`` on each setting's data sets, in process.

    Data set ``i`` of a setting is ``make(seed + i)``; all configurations see the
    same data sets (and the bootstrap the seed ``seed + i``). Times are the best of
    ``repeats`` fits, at one BLAS thread. ``statoptim reproduce ssvd`` runs the
    same fits (:func:`fit_data_set`) on the study engine instead.

    Returns
    -------
    dict
        ``{setting.key: {(threshold, rule): {metric: ndarray}, "svd": {"loss_u",
        "loss_v": ndarray}}}`` with one entry per data set.
    """
    results = {}
    total = sum(s.replications for s in settings)
    bar = Progress(total, "thresholds", unit="data set", enabled=progress, leave=False)
    with single_blas_thread(openmp=True), bar:
        for s in settings:
            rows = []
            for i in range(s.replications):
                X, U, _, V = s.make(seed + i)
                rows.append(fit_data_set(X, U, V, s.rank, seed + i, repeats=repeats,
                                         configs=configs))
                bar.update(1)
            results[s.key] = collect(rows, configs)
    return results


def _mean_se(values):
    values = np.asarray(values, dtype=np.float64)
    se = float(values.std(ddof=1) / math.sqrt(values.size)) if values.size > 1 else math.nan
    return float(values.mean()), se


def _fmt_se(key):
    def fmt(v, row):
        if v is None:
            return "-"
        se = row.get(key)
        return f"{v:.4f}" if se is None or not math.isfinite(se) else f"{v:.4f} ({se:.4f})"
    return fmt


def _pair(second):
    return lambda v, row: "" if v is None else f"{v:.1f} / {row[second]:.1f}"


def _summary(res):
    """Mean (and SE) of each metric of one configuration's fits."""
    lu, lu_se = _mean_se(res["loss_u"])
    lv, lv_se = _mean_se(res["loss_v"])
    tot, tot_se = _mean_se(res["loss_u"] + res["loss_v"])
    means = {m: float(res[m].mean()) for m in ("fp_u", "fn_u", "fp_v", "fn_v", "n_iter",
                                                "converged")}
    return {"data_sets": int(res["loss_u"].size),
            "median_ms": 1e3 * float(np.median(res["seconds"])), "loss_u": lu,
            "loss_u_se": lu_se, "loss_v": lv, "loss_v_se": lv_se, "loss": tot,
            "loss_se": tot_se, **means}


def tabulate_thresholds(results, settings):
    """One :class:`Table`: a row per setting x threshold x rule, then the baselines."""
    table = Table(
        "ssvd_thresholds",
        "\nThreshold study (the talk's question: hard, soft or another threshold, 'the good "
        "estimate with fastest speed'?)",
        [Column("setting"), Column("threshold"), Column("rule"), Column("source", show=False),
         Column("data_sets", "reps"),
         Column("median_ms", "ms/fit", lambda v, row: "" if v is None else f"{v:.2f}"),
         Column("loss_u", "lossU (se)", _fmt_se("loss_u_se")), Column("loss_u_se", show=False),
         Column("loss_v", "lossV (se)", _fmt_se("loss_v_se")), Column("loss_v_se", show=False),
         Column("loss", show=False), Column("loss_se", show=False),
         Column("fp_u", "FP / FN rows U", _pair("fn_u")), Column("fn_u", show=False),
         Column("fp_v", "FP / FN rows V", _pair("fn_v")), Column("fn_v", show=False),
         Column("n_iter", "iters", lambda v, row: "" if v is None else f"{v:.1f}"),
         Column("converged", "conv.", lambda v, row: "" if v is None else f"{v:.0%}")],
        note="ms/fit: median over data sets of the best of --repeats fits (wall time, one "
             "BLAS thread). lossU, lossV: projection losses (0 perfect, r orthogonal), means "
             "with Monte Carlo standard errors. conv.: share of fits that met tol within "
             "max_iter=100. [R reference]: the R ssvd 1.0 hard-threshold fits on data sets "
             "0-2 (docs/ssvd.rst); numpy SVD: the plain truncated SVD on the same data.")
    for s in settings:
        for c in CONFIGS:
            if c in results[s.key]:
                table.add(setting=s.key, threshold=c[0], rule=c[1], source="here",
                          **_summary(results[s.key][c]))
        svd = results[s.key]["svd"]
        lu, lu_se = _mean_se(svd["loss_u"])
        lv, lv_se = _mean_se(svd["loss_v"])
        table.add(setting=s.key, threshold="none", rule="numpy SVD", source="here",
                  data_sets=int(svd["loss_u"].size), loss_u=lu, loss_u_se=lu_se, loss_v=lv,
                  loss_v_se=lv_se, loss=lu + lv)
        for rule, (lu, lv) in REFERENCE_HARD[s.key].items():
            table.add(setting=s.key, threshold="hard", rule=f"[R reference] {rule}",
                      source="R reference", data_sets=REFERENCE_DATA_SETS, loss_u=lu,
                      loss_v=lv, loss=lu + lv)
    return table


def verdict(results, key, configs=CONFIGS):
    """Which configuration of one setting is best, and by how much.

    "Best" is the lowest mean total projection loss lossU + lossV. A configuration is
    "as good" when its paired difference from the best (same data sets) is within two
    standard errors; the answer to the talk's question is the fastest of those.

    Returns
    -------
    dict
        ``best``, ``fastest_good`` ((threshold, rule) pairs), ``good`` (list),
        ``loss`` and ``ms`` ({config: mean loss, median ms}) and ``ratio``
        ({config: its mean loss / the best's}).
    """
    res = {c: results[key][c] for c in configs if c in results[key]}
    loss = {c: float(np.mean(r["loss_u"] + r["loss_v"])) for c, r in res.items()}
    ms = {c: 1e3 * float(np.median(r["seconds"])) for c, r in res.items()}
    best = min(loss, key=loss.get)
    b = res[best]["loss_u"] + res[best]["loss_v"]
    good = []
    for c, r in res.items():
        diff = r["loss_u"] + r["loss_v"] - b
        se = float(diff.std(ddof=1) / math.sqrt(diff.size)) if diff.size > 1 else 0.0
        if diff.mean() <= 2.0 * se:
            good.append(c)
    fastest = min(good, key=ms.get)
    ratio = {c: v / loss[best] if loss[best] > 0 else math.inf for c, v in loss.items()}
    return {"best": best, "fastest_good": fastest, "good": good, "loss": loss, "ms": ms,
            "ratio": ratio}


def verdict_text(results, settings):
    """The printed answer: per setting, the best threshold and how far the others are."""
    def name(c):
        return f"{c[0]}/{c[1]}"

    lines = [("\nAnswer to the talk's question (best = lowest mean lossU + lossV; 'as good' = "
              "within 2 paired standard errors of the best):")]
    for s in settings:
        v = verdict(results, s.key)
        b, f = v["best"], v["fastest_good"]
        others = ", ".join(f"{name(c)} {v['ratio'][c]:.1f}x" for c in v["loss"] if c != b)
        lines.append(
            f"  {s.key}: best {name(b)} (lossU + lossV {v['loss'][b]:.4f}); the others' "
            f"losses relative to it: {others}. Fastest of the as-good ones: {name(f)} "
            f"({v['ms'][f]:.2f} ms/fit; the slowest configuration takes "
            f"{max(v['ms'].values()):.2f} ms).")
    return "\n".join(lines)


def reference_check(results, key, rule="theory"):
    """Hard-threshold losses on the reference's data sets vs the R reference.

    Returns ``[(name, ours, reference, tolerance)]`` for lossU and lossV, where
    ``ours`` is the mean over the first :data:`REFERENCE_DATA_SETS` data sets (which
    must be the reference's: seeds 0, 1, 2) and ``tolerance`` is two Monte Carlo
    standard errors of that mean plus the reference's rounding.
    """
    res = results[key][("hard", rule)]
    out = []
    for name, ref in zip(("loss_u", "loss_v"), REFERENCE_HARD[key][rule]):
        x = res[name][:REFERENCE_DATA_SETS]
        se = float(x.std(ddof=1) / math.sqrt(x.size)) if x.size > 1 else math.inf
        digits = len(repr(ref).split(".")[1])
        out.append((name, float(x.mean()), ref, 2.0 * se + 0.5 * 10.0 ** -digits))
    return out


_COLOURS = {"hard": "tab:blue", "soft": "tab:orange", "scad": "tab:green"}
_MARKERS = {"theory": "o", "bootstrap": "s"}


def plot_thresholds(path, table, settings):
    """Accuracy (lossU + lossV, +-2 se) against time per fit: one panel per setting,
    one marker per threshold x rule (colour: threshold; shape: rule). Needs matplotlib."""
    from matplotlib.figure import Figure

    fig = Figure(figsize=(5.2 * len(settings), 4.4))
    axes = np.atleast_1d(fig.subplots(1, len(settings)))
    for ax, s in zip(axes, settings):
        rows = [r for r in table.rows if r["setting"] == s.key and r["source"] == "here"
                and r["threshold"] in _COLOURS]
        for r in rows:
            err = 0.0 if r["loss_se"] is None or not math.isfinite(r["loss_se"]) \
                else 2.0 * r["loss_se"]
            ax.errorbar(r["median_ms"], r["loss"], yerr=err, fmt=_MARKERS[r["rule"]],
                        color=_COLOURS[r["threshold"]], ms=8, capsize=3,
                        label=f"{r['threshold']} / {r['rule']}")
        svd = [r for r in table.rows if r["setting"] == s.key and r["rule"] == "numpy SVD"]
        if svd:
            ax.axhline(svd[0]["loss"], color="0.5", ls="--", lw=1, label="numpy SVD loss")
        ax.set_xscale("log")
        ax.set_yscale("log")
        ax.set_xlabel("time per fit (ms, log scale)")
        ax.set_ylabel("lossU + lossV (mean, +-2 se; log scale)")
        ax.set_title(s.title, fontsize=9)
        ax.grid(True, which="both", alpha=0.3)
    axes[0].legend(fontsize=7, frameon=False)
    fig.suptitle("FIT-SSVD: hard, soft or SCAD thresholds? accuracy against time "
                 "(lower left is better)")
    fig.tight_layout()
    fig.savefig(path, dpi=110)


def default_settings(args):
    """The rank-one example and the lung-sized model, with the study's replications."""
    from statoptim.datasets import make_lung_spiked, make_rank_one_ssvd

    rank_one = args.threshold_replications or 25 * args.replications
    return [Setting("rank_one", "(a) rank-one example, 100 x 50, d = 50", make_rank_one_ssvd,
                    1, rank_one),
            Setting("lung_sized", "(b) lung-sized model, 12,625 x 56, rank 3",
                    make_lung_spiked, 3, args.replications)]


def report_thresholds(results, settings, output, *, seed=0):
    """Print and write the threshold table, the verdict and the figure.

    ``results`` as :func:`compute_thresholds` returns them; ``seed`` is the
    study's (the check against the R reference needs its data sets 0-2).
    Returns ``(table, figure path or None)``.
    """
    table = tabulate_thresholds(results, settings)
    output.table(table)
    print(verdict_text(results, settings))
    if seed == 0:
        for s in settings:
            if s.replications < REFERENCE_DATA_SETS:
                continue
            checks = "; ".join(f"{n} {o:.4f} vs {r} (+-{t:.4f})"
                               for n, o, r, t in reference_check(results, s.key))
            print(f"  {s.key}, hard/theory on the reference's data sets 0-2 vs R ssvd 1.0: "
                  f"{checks}")
    path = output.figure(FIGURE, lambda p: plot_thresholds(p, table, settings))
    return table, path
