"""``statoptim reproduce ssvd``: FIT-SSVD on the talk's examples.

The designs are those of docs/ssvd.rst, "Simulation designs".

Three settings:

(a) the rank-one example of Lee et al. (2010), 100 x 50;
(b) the lung-sized spiked model, 12,625 x 56, rank 3 (the talk's 3.7 s claim is
    about the real matrix of this size, which is not available offline);
(c) the real lung200 data (200 genes x 56 patients), a smoke test against a plain SVD.

On (a) and (b) it also runs the threshold study of
:mod:`statoptim.studies.ssvd_thresholds` (hard, soft and SCAD thresholds x the
"theory" and "bootstrap" rules, accuracy against time), the talk's open question.

For (a) and (b) it prints projection losses, support recovery, relative
reconstruction error and time for FIT-SSVD ("theory" and "bootstrap" rules), the
dense SVD and scikit-learn's SparsePCA, beside the R reference figures
(docs/ssvd.rst, "Reference figures"). For
(c), with ``--out DIR``, it writes the talk's two figures there: the scatter of the
right singular vectors coloured by tumour type, and the rank-3 reconstruction.

The simulations run on the study engine (:mod:`statoptim.studies._engine`): one
task (:func:`fit_task`) per table, method and data set of (a) and (b), and per
data set of the threshold study, so ``--out DIR`` keeps every finished fit and a
rerun resumes, ``--jobs`` and ``--scheduler`` spread them, and
``--summarize-only`` rebuilds the tables from the stored results. Data set ``i``
is seeded ``--seed + i`` (the engine's own random streams are not used), so the
numbers do not depend on the engine's options; the timings do: ``--jobs`` is 1
by default so that each fit has a core to itself. Part (c), one fit of a fixed
data set, runs in the calling process. The code is in three layers:
:func:`compute` (the engine's records), :func:`tabulate` (the tables) and the
``plot_*`` functions (the figures).
"""
from __future__ import annotations

import math
import os
import time

import numpy as np

from statoptim._threads import single_blas_thread
from statoptim.studies._output import Column, Table, open_study
from statoptim.studies._registry import (
    DATA_ENV,
    DEFAULT_DATA,
    deprecated_alias,
    find_dataset,
    int_at_least,
    register,
)

__all__ = ["DESIGNS", "METHODS", "compute", "compute_lung200", "default_data_dir", "fit_method",
           "fit_task", "make_design", "projection_loss", "relative_error", "run", "study_grid",
           "support_counts", "tabulate", "tabulate_lung200", "threshold_results"]

LUNG200_FILES = ("lung200.csv",)
FIGURES = ("ssvd_lung200_right_vectors.png", "ssvd_lung200_reconstruction.png")

# R reference figures (docs/ssvd.rst, "Reference figures"): (seconds, lossU, lossV), R
# implementations on the same designs (median time over 3 data sets; losses are means).
_REFERENCE_B = [
    ("R ssvd 1.0 'method'", 1.21, 0.098, 0.0067),
    ("R ssvd 1.0 'theory'", 0.29, 0.098, 0.0062),
    ("R s4vd LSHM", 114.3, 0.108, 0.0041),
]


def default_data_dir():
    """The data folder holding lung200/ among the default places (or None).

    The places are those of :func:`statoptim.studies._registry.find_dataset`:
    ``$STATOPTIM_DATA``, then ``./shared/data`` and ``../shared/data``.
    """
    folder = find_dataset(None, "lung200", LUNG200_FILES, required=False)
    return None if folder is None else os.path.dirname(folder)


def projection_loss(A, B):
    """||AA' - BB'||_F^2 / 2 = r - ||A'B||_F^2 for orthonormal A, B (docs/ssvd.rst,
    "Accuracy metrics")."""
    return float(A.shape[1] - np.linalg.norm(A.T @ B) ** 2)


def support_counts(est, truth):
    """(nnz rows, false positive rows, false negative rows) of an estimate vs the truth."""
    s_hat = np.any(est != 0, axis=1)
    s = np.any(truth != 0, axis=1)
    return int(s_hat.sum()), int((s_hat & ~s).sum()), int((~s_hat & s).sum())


def relative_error(X, Uh, Vh, U, d, V):
    """||P_Uh X P_Vh - U D V'||_F / ||U D V'||_F without forming n x p products."""
    M = Uh.T @ X @ Vh
    cross = np.trace(M.T @ (Uh.T @ U) @ np.diag(d) @ (V.T @ Vh))
    sq = np.sum(M ** 2) + np.sum(d ** 2) - 2.0 * cross
    return float(math.sqrt(max(sq, 0.0)) / np.linalg.norm(d))


def _orth(A):
    return np.linalg.qr(A)[0]


def _timed(fn, repeats):
    times = []
    out = None
    for _ in range(max(1, repeats)):
        t0 = time.perf_counter()
        out = fn()
        times.append(time.perf_counter() - t0)
    return out, float(np.median(times))


# ----------------------------------------------------------------- compute
#: The simulated designs: key -> (rank, title of its table, R reference rows, note).
DESIGNS = {
    "rank_one": (1, "(a) rank-one example of Lee et al. (2010): 100 x 50, d = 50",
                 [("R ssvd 'theory' (lossU 0.018)", 0.004, 0.018, 0.0075)],
                 "Truth: 25 / 16 nonzero rows of u / v."),
    "lung_sized": (3, "(b) lung-sized spiked model: 12,625 x 56, rank 3, d = (150, 100, 70)",
                   _REFERENCE_B, "Truth: 380 / 39 nonzero rows of U / V."),
}
SPARSEPCA = "SparsePCA a=sqrt(2 log n) on X'"
#: The methods of tables (a) and (b), in table order.
METHODS = ("FIT-SSVD theory", "FIT-SSVD bootstrap", "numpy SVD", SPARSEPCA)


def make_design(design, data_set):
    """Data set ``data_set`` of a design of :data:`DESIGNS`: ``(X, U, d, V)``."""
    from statoptim.datasets import make_lung_spiked, make_rank_one_ssvd

    make = {"rank_one": make_rank_one_ssvd, "lung_sized": make_lung_spiked}[design]
    return make(data_set)


def fit_method(method, X, r):
    """Fit one method of :data:`METHODS` at rank ``r``; return ``(Uh, Vh)`` orthonormal
    (SparsePCA: zero columns where a component is empty)."""
    from statoptim import SparseSVD

    if method.startswith("FIT-SSVD"):
        m = SparseSVD(r, threshold_rule=method.split()[1], random_state=0).fit(X)
        return m.left_singular_vectors_, m.components_.T
    if method == "numpy SVD":
        U, _, Vt = np.linalg.svd(X, full_matrices=False)
        return U[:, :r], Vt[:r].T
    if method != SPARSEPCA:
        raise ValueError(f"method must be one of {METHODS}, got {method!r}")
    from sklearn.decomposition import SparsePCA

    alpha = math.sqrt(2 * math.log(X.shape[0]))
    spca = SparsePCA(n_components=r, alpha=alpha, random_state=0, max_iter=200).fit(X.T)
    loadings = spca.components_.T          # (n_samples, r), sparse over rows of X
    keep = np.any(loadings != 0, axis=0)
    if not keep.any():
        return np.zeros((X.shape[0], r)), _orth(X.T @ np.ones((X.shape[0], r)))
    Uh = np.zeros((X.shape[0], r))
    Uh[:, keep] = _orth(loadings[:, keep])
    Vh = _orth(X.T @ Uh[:, keep])
    return Uh, np.pad(Vh, ((0, 0), (0, r - Vh.shape[1])))


def _method_outputs(setting, X, U, d, V):
    """Time and accuracy of one method on one data set (see :func:`fit_task`)."""
    r = DESIGNS[setting["design"]][0]
    (Uh, Vh), t = _timed(lambda: fit_method(setting["method"], X, r), setting["repeats"])
    nnz, fp, fn = support_counts(Uh, U)
    return {"seconds": t, "loss_u": projection_loss(U, Uh), "loss_v": projection_loss(V, Vh),
            "nnz_rows_u": nnz, "fp_rows_u": fp, "fn_rows_u": fn,
            "nnz_rows_v": support_counts(Vh, V)[0],
            "relerr": relative_error(X, Uh, Vh, U, d, V)}


def fit_task(setting, rng):
    """One task of the study engine: every fit of the study on one simulated data set.

    ``setting`` holds ``part``, ``design`` (a key of :data:`DESIGNS`),
    ``data_set`` (the data seed) and ``repeats``. ``part="methods"`` (tables
    (a) and (b)) also names the ``method`` and returns its median time over
    ``repeats`` fits, the projection losses, the support counts and the relative
    error; ``part="thresholds"`` returns
    :func:`~statoptim.studies.ssvd_thresholds.fit_data_set` (every threshold x
    rule, best of ``repeats`` fits). ``rng`` is unused: the data sets and the
    bootstrap are seeded by ``data_set``, as the study has always been. At one
    BLAS (and OpenMP) thread.
    """
    from statoptim.studies.ssvd_thresholds import fit_data_set

    X, U, d, V = make_design(setting["design"], setting["data_set"])
    with single_blas_thread(openmp=True):
        if setting["part"] == "thresholds":
            return fit_data_set(X, U, V, DESIGNS[setting["design"]][0], setting["data_set"],
                                repeats=setting["repeats"])
        return _method_outputs(setting, X, U, d, V)


def study_grid(args):
    """The engine's settings: one per (table, method, data set), SparsePCA last.

    SparsePCA runs last because the thread pools it leaves spinning slowed the
    timings after it 2-3x; it runs on the first ``--sparsepca-reps`` data sets.
    """
    from statoptim.studies.ssvd_thresholds import default_settings

    grid, last = [], []
    for design in DESIGNS:
        for method in METHODS:
            if method == SPARSEPCA and args.no_sparsepca:
                continue
            reps = min(args.sparsepca_reps, args.replications) if method == SPARSEPCA \
                else args.replications
            (last if method == SPARSEPCA else grid).extend(
                {"part": "methods", "design": design, "method": method,
                 "data_set": args.seed + rep, "repeats": 1 if method == SPARSEPCA
                 else args.repeats} for rep in range(reps))
    for s in default_settings(args):
        grid.extend({"part": "thresholds", "design": s.key, "data_set": args.seed + i,
                     "repeats": min(args.repeats, 3)} for i in range(s.replications))
    return grid + last


def compute(args):
    """Run (or read, with --summarize-only) the engine's tasks; return the records."""
    from statoptim.studies._engine import run_from_args

    return run_from_args(fit_task, study_grid(args), "ssvd", args, n_replications=1)


def compute_lung200(X, repeats):
    """Part (c) on the real data: FIT-SSVD and the SVD at rank 3, timed, in process.

    One fit of a fixed data set (no replications): it runs in the calling
    process, not on the study engine. Returns ``(model, svd, t_fit, t_svd)``.
    """
    from statoptim import SparseSVD

    with single_blas_thread(openmp=True):
        (model, t_fit) = _timed(lambda: SparseSVD(3).fit(X), repeats)
        (svd, t_svd) = _timed(lambda: np.linalg.svd(X, full_matrices=False), repeats)
    return model, svd, t_fit, t_svd


# ---------------------------------------------------------------- tabulate
def _simulation_table(design, records):
    """Table (a) or (b) from the records of its design: one row per method, then R's."""
    _, title, reference_rows, note = DESIGNS[design]
    table = Table(
        f"ssvd_{design}", f"\n{title}",
        [Column("method"), Column("source", show=False),
         Column("data_sets", "reps"), Column("median_s", "median s",
                                             lambda v, row: f"{v:.4f}" if row["source"] ==
                                             "here" else f"{v:.3f}"),
         Column("loss_u", "lossU", "{:.4f}"), Column("loss_v", "lossV", "{:.4f}"),
         Column("nnz_rows_u", "nnz rows U / V",
                lambda v, row: "" if v is None else f"{v:.1f} / {row['nnz_rows_v']:.1f}"),
         Column("nnz_rows_v", show=False),
         Column("fp_rows_u", "FP / FN rows U",
                lambda v, row: "" if v is None else f"{v:.1f} / {row['fn_rows_u']:.1f}"),
         Column("fn_rows_u", show=False),
         Column("relerr", fmt=lambda v, row: "" if v is None else f"{v:.3f}")],
        note=note)
    for method in METHODS:
        runs = [r for r in records if r["part"] == "methods" and r["design"] == design
                and r["method"] == method]
        if not runs:
            continue

        def mean(key, runs=runs):
            return float(np.mean([r[key] for r in runs]))

        table.add(method=method, source="here", data_sets=len(runs),
                  median_s=float(np.median([r["seconds"] for r in runs])),
                  **{key: mean(key) for key in ("loss_u", "loss_v", "nnz_rows_u", "nnz_rows_v",
                                                "fp_rows_u", "fn_rows_u", "relerr")})
    for method, t, lu, lv in reference_rows:
        table.add(method=f"[R reference] {method}", source="R reference", data_sets=3, median_s=t,
                  loss_u=lu, loss_v=lv)
    return table


def threshold_results(records, args):
    """The threshold study's settings and results (as ``compute_thresholds``) from records.

    A design without stored records is left out; the replications of each
    setting are the data sets found.
    """
    from dataclasses import replace

    from statoptim.studies.ssvd_thresholds import collect, default_settings

    settings, results = [], {}
    for s in default_settings(args):
        rows = [r for r in records if r["part"] == "thresholds" and r["design"] == s.key]
        if rows:
            settings.append(replace(s, replications=len(rows)))
            results[s.key] = collect(rows)
    return settings, results


def tabulate(records):
    """Tables (a) and (b) from the records, and the lung-sized median FIT-SSVD time."""
    tables = [_simulation_table(design, records) for design in DESIGNS]
    times = [r["seconds"] for r in records if r["part"] == "methods"
             and r["design"] == "lung_sized" and r["method"] == "FIT-SSVD theory"]
    return tables, (float(np.median(times)) if times else None)


def tabulate_lung200(X, labels, model, svd, t_fit, t_svd):
    """Table (c): FIT-SSVD against the SVD on lung200, with the k-means(4) ARI on V."""
    from sklearn.cluster import KMeans
    from sklearn.metrics import adjusted_rand_score

    _, s, Vt = svd
    Vf = model.components_.T
    types = np.array(labels)

    def ari(V):
        km = KMeans(4, n_init=20, random_state=0).fit(V)
        return adjusted_rand_score(types, km.labels_)

    table = Table(
        "ssvd_lung200",
        "\n(c) real lung200 data (200 genes x 56 patients; every row carries signal, so a "
        "smoke test, not a sparse regime)",
        [Column("method"), Column("seconds", "s", "{:.4f}"), Column("rows_kept", "rows kept"),
         Column("cols_kept", "cols kept"),
         Column("d1", "d", lambda v, row: f"{v:.2f} {row['d2']:.2f} {row['d3']:.2f}"),
         Column("d2", show=False), Column("d3", show=False),
         Column("ari_kmeans4_v", "ARI k-means(4) on V", "{:.2f}")],
        note=f"noise scale (MAD) {model.noise_scale_:.5f} (data README: 1.61441); "
             f"{model.n_iter_} iterations. The R reference keeps 170 genes / 54 "
             "patients, ARI 0.38 vs 0.74 for the SVD.")
    d = model.singular_values_
    table.add(method="FIT-SSVD theory, r=3", seconds=t_fit,
              rows_kept=int(np.any(model.left_singular_vectors_ != 0, axis=1).sum()),
              cols_kept=int(np.any(Vf != 0, axis=1).sum()), d1=float(d[0]), d2=float(d[1]),
              d3=float(d[2]), ari_kmeans4_v=float(ari(Vf)))
    table.add(method="numpy SVD, r=3", seconds=t_svd, rows_kept=X.shape[0],
              cols_kept=X.shape[1], d1=float(s[0]), d2=float(s[1]), d3=float(s[2]),
              ari_kmeans4_v=float(ari(Vt[:3].T)))
    return table


# -------------------------------------------------------------------- plot
def plot_right_vectors(path, V_fit, V_svd, labels):
    """Scatter of the right singular vectors (pairs of components) coloured by tumour type.

    Needs matplotlib.
    """
    from matplotlib.figure import Figure

    types = list(dict.fromkeys(labels))
    colours = dict(zip(types, ["tab:blue", "tab:orange", "tab:green", "tab:red"]))
    pairs = [(0, 1), (0, 2), (1, 2)]
    fig = Figure(figsize=(12, 7.5))
    axes = fig.subplots(2, 3)
    for row, (V, name) in enumerate([(V_fit, "FIT-SSVD"), (V_svd, "SVD")]):
        for col, (a, b) in enumerate(pairs):
            ax = axes[row, col]
            for t in types:
                idx = [i for i, lab in enumerate(labels) if lab == t]
                ax.scatter(V[idx, a], V[idx, b], s=22, c=colours[t], label=t, alpha=0.85,
                           edgecolors="none")
            ax.axhline(0, c="0.8", lw=0.6, zorder=0)
            ax.axvline(0, c="0.8", lw=0.6, zorder=0)
            ax.set_xlabel(f"v{a + 1}")
            ax.set_ylabel(f"v{b + 1}")
            ax.set_title(f"{name}: v{a + 1} vs v{b + 1}")
    axes[0, 0].legend(fontsize=8, frameon=False)
    fig.suptitle("lung200: right singular vectors coloured by tumour type")
    fig.tight_layout()
    fig.savefig(path, dpi=110)


def plot_reconstruction(path, X, model, svd, labels):
    """Heat maps: the data, the FIT-SSVD rank-3 reconstruction and its layers, the SVD's.

    Needs matplotlib.
    """
    from matplotlib.figure import Figure

    U, d, V = model.left_singular_vectors_, model.singular_values_, model.components_.T
    Us, s, Vt = svd
    recon = (U * d) @ V.T
    recon_svd = (Us[:, :3] * s[:3]) @ Vt[:3]
    # Genes grouped by their dominant component (genes cut by FIT-SSVD last), then by value.
    dominant = np.where(np.any(U != 0, axis=1), np.argmax(np.abs(U), axis=1), U.shape[1])
    value = U[np.arange(U.shape[0]), np.minimum(dominant, U.shape[1] - 1)]
    order = np.lexsort((-value, dominant))
    panels = [("data X", X), ("FIT-SSVD rank 3", recon)]
    panels += [(f"layer {k + 1}: d{k + 1} u{k + 1} v{k + 1}'", d[k] * np.outer(U[:, k], V[:, k]))
               for k in range(3)]
    panels.append(("SVD rank 3", recon_svd))
    lim = np.quantile(np.abs(X), 0.99)
    fig = Figure(figsize=(3.0 * len(panels), 5.2))
    axes = fig.subplots(1, len(panels), sharey=True)
    bounds = np.flatnonzero(np.array(labels[1:]) != np.array(labels[:-1])) + 0.5
    for ax, (title, M) in zip(axes, panels):
        im = ax.imshow(M[order], aspect="auto", cmap="RdBu_r", vmin=-lim, vmax=lim,
                       interpolation="nearest")
        for b in bounds:
            ax.axvline(b, c="k", lw=0.6)
        ax.set_title(title, fontsize=9)
        ax.set_xlabel("patients", fontsize=8)
    axes[0].set_xlabel("patients: Carcinoid | Colon |\nNormal | SmallCell", fontsize=8)
    axes[0].set_ylabel("genes (sorted by dominant FIT-SSVD component)")
    fig.colorbar(im, ax=axes, shrink=0.7, label="expression (row-centred)")
    fig.suptitle("lung200: rank-3 reconstruction, FIT-SSVD vs SVD")
    fig.savefig(path, dpi=110, bbox_inches="tight")


def _add_arguments(parser):
    from statoptim.studies._engine import add_runner_arguments

    parser.add_argument("--repeats", type=int_at_least(1), default=5,
                        help="timed fits per data set (median; default 5)")
    parser.add_argument("--no-sparsepca", action="store_true",
                        help="skip scikit-learn SparsePCA (the slowest method)")
    parser.add_argument("--sparsepca-reps", type=int_at_least(0), default=1,
                        help="data sets on which SparsePCA runs (default 1: ~5 s each on (b))")
    parser.add_argument("--threshold-replications", type=int_at_least(1), default=None,
                        metavar="R", help="data sets of the rank-one example in the threshold "
                        "study (default: 25 x --replications; the lung-sized model uses "
                        "--replications)")
    add_runner_arguments(
        parser, replications=3,
        replications_help="simulated data sets per setting, seeded --seed, --seed + 1, ... "
                          "(default: {default})",
        data_help="the folder with one subfolder per data set; its lung200/ is used for part "
                  f"(c), which is skipped without it (default: ${DATA_ENV}, then "
                  f"{' or '.join(DEFAULT_DATA)})",
        jobs_help="local worker processes (joblib; default 1: one fit at a time, so that the "
                  "timings are those of an otherwise idle core; more share the cores), or "
                  "the number of workers of --scheduler local",
        unused=())
    parser.set_defaults(jobs=1)
    deprecated_alias(parser, "--reps", "--replications", dest="replications",
                     type=int_at_least(1), metavar="R")


def _check_arguments(args):
    from statoptim.studies._engine import check_runner_arguments

    if args.data is not None:  # an explicit --data must hold lung200/
        find_dataset(args.data, "lung200", LUNG200_FILES)
    check_runner_arguments(args, "ssvd", study_grid(args))


def _print_header():
    print("FIT-SSVD (statoptim.SparseSVD): sparse SVD by fast iterative thresholding "
          "(Yang, Ma & Buja 2014)")
    print("Times: median wall time on this machine of one fit (validation included), one "
          "BLAS thread; losses are means over data sets. [R reference] rows: the R "
          "implementations on the "
          "same designs, as docs/ssvd.rst reports them (not rerun here).")


def _print_talk_time(t_fit):
    print(f"talk: FIT-SSVD 3.7 s (and LSHM > 1 hour) on the real 12,625 x 56 lung data, on "
          f"the talk's (unstated) hardware; here: FIT-SSVD 'theory' {t_fit:.4f} s on this "
          "machine, on the simulated model of that size. R reference (its machine): ssvd "
          "'theory' 0.29 s, LSHM 114 s. Different data, hardware and code: no speed-up is "
          "claimed from these.")


def _run_lung200(args, output):
    """Part (c): compute, tabulate and plot on lung200; the figure paths (or a note)."""
    from statoptim.datasets import load_lung200

    lung = find_dataset(args.data, "lung200", LUNG200_FILES, required=False)
    if lung is None:
        output.note("(c) lung200 skipped: data set lung200/ not found; pass --data DIR, the "
                    "folder with one subfolder per data set")
        return []
    if args.summarize_only:
        output.note("(c) lung200 skipped: --summarize-only computes nothing (part (c) fits "
                    "the real data in this process)")
        return []
    X, labels, _ = load_lung200(os.path.dirname(lung))
    model, svd, t_fit, t_svd = compute_lung200(X, args.repeats)
    output.table(tabulate_lung200(X, labels, model, svd, t_fit, t_svd))
    return [output.figure(FIGURES[0], lambda path: plot_right_vectors(
                path, model.components_.T, svd[2][:3].T, labels)),
            output.figure(FIGURES[1], lambda path: plot_reconstruction(
                path, X, model, svd, labels))]


@register("ssvd", "FIT-SSVD sparse SVD: rank-one example, lung-sized model, lung200 figures",
          _add_arguments, _check_arguments)
def run(args):
    from statoptim.studies.ssvd_thresholds import report_thresholds

    output, records = open_study(args, "ssvd", compute)
    tables, t_fit = tabulate(records)
    _print_header()
    for table in tables:
        output.table(table)
    if t_fit is not None:
        _print_talk_time(t_fit)
    paths = []
    settings, results = threshold_results(records, args)
    if settings:
        paths.append(report_thresholds(results, settings, output, seed=args.seed)[1])
    paths += _run_lung200(args, output)
    if any(paths):
        print("\nFigures: " + "\n         ".join(p for p in paths if p))
    output.finish()
    return 0
