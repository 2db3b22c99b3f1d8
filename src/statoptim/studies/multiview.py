"""``statoptim reproduce multiview``: cross-modal retrieval with the multi-view CP model.

Wikipedia (Rasiwasia et al. 2010, standard split: image SIFT-BoW vs text LDA)
and UCI Multiple Features (fou -> pix, and (fou, zer) -> (kar, mor); 50/50
stratified splits seeded --seed, ..., --seed + --replications - 1, by default
0-4). For each, the CP-tensor model with the talk's objective (consensus mu = 0)
and with the consensus term (mu = 1) is compared
with baselines built from scikit-learn -- CCA, PLSCanonical, semantic matching
with logistic regression (SM), semantic correlation matching (SCM = CCA then
SM) and ridge semantic matching (LS-SM) -- all scored by the cosine of the
item representations, mAP in both directions and P@K. The published numbers
and the talk's NUS-WIDE table (not reproducible offline) are printed beside
them, and a figure (with ``--out DIR``, as are the tables in CSV and JSON)
shows 11-point interpolated precision-recall curves.

Retrieval representations of the CP model: the raw topic scores f_m
(``decision_function``) and the temperature-scaled posteriors
softmax(beta_m f_m) (``predict_proba``, beta fitted on the training rows),
scored by the cosine (the default of ``retrieve``) or by their dot product. On
posteriors the dot product sum_p P(p | query) P(p | item) is the probability
that query and item share their topic, so ranking by it follows the
probability ranking principle (Robertson 1977); those rows are labelled
"relevance", and SM and SCM -- whose representations are posteriors too --
are scored the same way beside them for a like-for-like comparison.

Model variants: the squared loss (the talk's), the softmax (cross-entropy)
loss, and the linear term per modality (MFM's task-specific linear term,
``linear_term=True``), which lets a multi-view modality add the views'
linear effects to the CP interactions. The headline row, "inner-CV", fits
the softmax loss (relevance scoring multiplies topic probabilities, which the
cross-entropy fit estimates) and picks lambda, the linear term and its
lambda_W on the decade grid by stratified 5-fold cross-validation *on the
training rows* (validation items of one modality query those of the other,
relevance scoring), then refits the winner on all training rows; the test
split is never used for a choice.

Image-to-text and text-to-image tables (``multiview_image_to_text``,
``multiview_text_to_image``) give every row's mAP and P@1, P@5, P@10 and P@50.
The mixing-weight table and figure (``multiview_mixing``, its per-cycle data
``multiview_mixing_path`` and ``multiview_mixing.png``) follow the weights per topic
and J per BCD cycle of the squared-loss model on the first split of Wikipedia
and UCI (fou,zer)->(kar,mor), with mu = 0 (the talk's objective) and mu =
--consensus, at --regularization and at --collapse-regularization, where the
talk's objective drives them to 0 or 1.

The splits run on the study engine (:mod:`statoptim.studies._engine`): one task
(:func:`study_task`) per split of each data set, and one per fit of the
mixing-weight study, so ``--out DIR`` keeps every finished split and a rerun
resumes, ``--jobs`` and ``--scheduler`` spread the splits over processes or a
Dask cluster, and ``--summarize-only`` rebuilds the tables from the stored
results. Each split is seeded by its own seed (the engine's random streams are
not used), so the numbers do not depend on the engine's options. The tasks
read the data sets from ``--data`` where they run: on a remote Dask cluster
the folder must be at the same path on every worker.

The code is in three layers, each in its module and re-exported here:
:func:`compute` (the engine's records; the in-process :func:`compute_retrieval`
and :func:`compute_mixing_paths` run the same fits) in
:mod:`statoptim.studies.multiview_compute`; the ``*_table(s)`` functions that
build the :class:`~statoptim.studies._output.Table` objects in
:mod:`statoptim.studies.multiview_report`; ``_plot`` and :func:`plot_mixing`
(matplotlib only there) in :mod:`statoptim.studies.multiview_plot`. This module
holds the command line and :func:`run`, which joins them.
"""
from __future__ import annotations

from statoptim.studies._output import open_study
from statoptim.studies._registry import (
    DATA_ENV,
    DEFAULT_DATA,
    deprecated_alias,
    deprecated_figure_option,
    find_dataset,
    given,
    int_at_least,
    real_in,
    register,
)
from statoptim.studies.multiview_compute import (  # noqa: F401 (re-exported)
    BASELINES,
    DATA_FILES,
    DECADES,
    ELEVEN_POINTS,
    INNER_CV_CANDIDATES,
    K_VALUES,
    MIXING_SETTINGS,
    OPTIONS,
    RELEVANCE_BASELINES,
    SOFTMAX_TOL,
    UCI_SETTINGS,
    _split_seeds,
    compute,
    compute_mixing_paths,
    compute_retrieval,
    cycle_objective,
    describe_candidate,
    fit_baseline,
    mixing_paths,
    model_specs,
    precision_recall_points,
    retrieval_results,
    select_on_training,
    study_grid,
    study_task,
)
from statoptim.studies.multiview_plot import _plot, plot_mixing
from statoptim.studies.multiview_report import (  # noqa: F401 (re-exported)
    COLLAPSE_TOL,
    DIRECTION_K,
    NUS_WIDE_TALK,
    PUBLISHED_WIKIPEDIA,
    TARGETS,
    _curves,
    _curves_table,
    _retrieval_table,
    _targets_table,
    direction_tables,
    mixing_tables,
    published_tables,
)

__all__ = ["BASELINES", "compute", "compute_mixing_paths", "compute_retrieval", "cycle_objective",
           "direction_tables", "fit_baseline", "mixing_tables", "model_specs", "plot_mixing",
           "mixing_paths", "precision_recall_points", "published_tables", "retrieval_results",
           "run", "select_on_training", "study_grid", "study_task"]

FIGURE = "multiview_precision_recall.png"
MIXING_FIGURE = "multiview_mixing.png"


def _add_arguments(parser):
    from statoptim.studies._engine import add_runner_arguments

    positive = real_in(0, low_open=True)
    parser.add_argument("--rank", type=int_at_least(1), default=10)
    parser.add_argument("--regularization", type=positive, default=1e-3)
    parser.add_argument("--consensus", type=real_in(0), default=1.0,
                        help="mu of the consensus model (the talk's objective is mu = 0)")
    parser.add_argument("--collapse-regularization", type=positive, default=3e-2,
                        metavar="LAMBDA",
                        help="the second lambda of the mixing-weight figure and table, besides "
                             "--regularization (default 3e-2, where the talk's objective "
                             "collapses the mixing weights)")
    parser.add_argument("--n-init", type=int_at_least(1), default=1,
                        help="random starts of the CP model (lowest objective kept)")
    parser.add_argument("--softmax-regularization", type=positive, default=1e-2,
                        help="lambda of the fixed softmax-loss rows (default 1e-2)")
    parser.add_argument("--linear-regularization", type=positive, default=1e-2,
                        metavar="LAMBDA_W",
                        help="lambda of the linear term in the 'softmax +linear' row "
                             "(default 1e-2; lambda is --softmax-regularization)")
    parser.add_argument("--no-inner-cv", dest="inner_cv", action="store_false",
                        help="skip the inner-CV row (model selection by 5-fold CV on the "
                             "training rows; about 15 s per UCI split on 2 cores)")
    parser.add_argument("--skip-baselines", action="store_true",
                        help="fit only the CP model (faster)")
    add_runner_arguments(
        parser, replications=5,
        replications_help="UCI train/test splits, seeded --seed, --seed + 1, ... (Wikipedia "
                          "has one standard split; default: {default})",
        data_help="the folder with one subfolder per data set: wikipedia_rasiwasia2010/ and "
                  f"uci_multifeature/ (default: ${DATA_ENV}, then "
                  f"{' or '.join(DEFAULT_DATA)})",
        jobs_help="local worker processes, one split at a time each (joblib; default -1: all "
                  "cores), or the number of workers of --scheduler local; the numbers do not "
                  "depend on it",
        unused=())
    deprecated_alias(parser, "--seeds", "--seed FIRST --replications COUNT",
                     dest="split_seeds", type=int_at_least(0), nargs="+", metavar="SEED",
                     message="--seeds is deprecated; use --seed FIRST --replications COUNT "
                             "(the splits FIRST, FIRST + 1, ...); the seeds given are used")
    deprecated_figure_option(parser, "--figure", FIGURE)


def _check_arguments(args):
    if getattr(args, "split_seeds", None) is not None and (
            given(args, "seed") or given(args, "replications")):
        raise ValueError("argument --seeds: give either --seed and --replications or the "
                         "deprecated --seeds, not both")
    from statoptim.studies._engine import check_runner_arguments

    for name, files in DATA_FILES.items():
        find_dataset(args.data, name, files)
    check_runner_arguments(args, "multiview", study_grid(args))


# --------------------------------------------------------------------- run
def _write_tables(output, args, results, paths):
    """Print and write every table (the figures' data too, unprinted); the PR curves."""
    models = model_specs(args)
    output.table(_retrieval_table(results))
    for table in direction_tables(results):
        output.table(table)
    output.table(_targets_table(results, models))
    for table in published_tables():
        output.table(table)
    summary, path_table = mixing_tables(paths)
    output.table(summary)
    output.table(path_table, show=False)  # the mixing figure's data
    # The PR figure keeps the talk's objective, the package default, the headline
    # (inner-CV, or the +linear row without it) and the baselines.
    mu = f"mu={args.consensus:g}"
    headline = f"TM {mu} inner-CV relevance" if args.inner_cv else \
        f"TM {mu} softmax +linear relevance"
    curves = _curves(results, {"TM mu=0 (talk)", f"TM {mu}", headline})
    output.table(_curves_table(curves), show=False)  # the figure's data
    return curves


def _draw(output, curves, paths):
    path = output.figure(FIGURE, lambda path: _plot(curves, path))
    if path:
        print(f"\nPrecision-recall curves written to {path}")
    path = output.figure(MIXING_FIGURE, lambda path: plot_mixing(paths, path))
    if path:
        print(f"Mixing weights and J per cycle written to {path}")


@register("multiview", "cross-modal retrieval: CP-tensor model vs CCA/PLS/SM/SCM/LS-SM",
          _add_arguments, _check_arguments)
def run(args):
    output, records = open_study(args, "multiview", compute)
    results, paths = retrieval_results(records), mixing_paths(records)
    _print_header(args, _split_seeds(args))
    curves = _write_tables(output, args, results, paths)
    _draw(output, curves, paths)
    output.finish()
    return 0


def _print_header(args, seeds):
    """Say what the tables are: data, scoring, the model rows and the baselines."""
    print("Cross-modal retrieval, cosine similarity, random tie-break (seeded); "
          "mAP over all database items.")
    print("Wikipedia: standard split (2173 train / 693 test pairs), A = image, B = text. "
          f"UCI: split seeds {seeds}, mean +- sd (population).")
    print("TM posteriors: softmax(beta f) with beta fitted on the training rows "
          "(predict_proba); softmax loss: cross-entropy fit, "
          f"alpha={args.softmax_regularization:g}, tol={SOFTMAX_TOL:g}; "
          "+linear: with the linear term per modality, "
          f"linear_alpha={args.linear_regularization:g}.")
    print("relevance: posteriors scored by their dot product, the probability that "
          "the two items share their topic (probability ranking principle); all other "
          "rows use the cosine.")
    print("inner-CV: softmax loss; lambda, linear term and lambda_W chosen among "
          f"{len(INNER_CV_CANDIDATES)} candidates (decade grid {list(DECADES)}) by 5-fold CV "
          "on the training rows (relevance scoring); fit s is the refit, the selection "
          "time is listed below.")
    print(f"TM = statoptim.MultiViewTensorMachine(n_components={args.rank}, "
          f"alpha={args.regularization:g}, n_init={args.n_init}); "
          "baselines: CCA-k/PLSC-k/SCM-k with k = 7 (Wikipedia) or 10 (UCI), "
          "SM = logistic regression C=1, LS-SM = ridge alpha=1.")
    print("fit s: median wall time of the fits on this machine (everything learned, both "
          "modalities; BLAS at 1 thread).\n")
