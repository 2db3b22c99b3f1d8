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
``multiview_mixing_path`` and ``multiview_mixing.png``) follow alpha per topic
and J per BCD cycle of the squared-loss model on the first split of Wikipedia
and UCI (fou,zer)->(kar,mor), with mu = 0 (the talk's objective) and mu =
--consensus, at --regularization and at --collapse-regularization, where the
talk's objective drives alpha to 0 or 1.

The splits run on the study engine (:mod:`statoptim.studies._engine`): one task
(:func:`study_task`) per split of each data set, and one per fit of the
mixing-weight study, so ``--out DIR`` keeps every finished split and a rerun
resumes, ``--jobs`` and ``--scheduler`` spread the splits over processes or a
Dask cluster, and ``--summarize-only`` rebuilds the tables from the stored
results. Each split is seeded by its own seed (the engine's random streams are
not used), so the numbers do not depend on the engine's options. The tasks
read the data sets from ``--data`` where they run: on a remote Dask cluster
the folder must be at the same path on every worker.

The code is in three layers: :func:`compute` (the engine's records; the
in-process :func:`compute_retrieval` and :func:`compute_mixing_paths` run the
same fits), the ``*_table(s)`` functions build the
:class:`~statoptim.studies._output.Table` objects, and ``_plot`` /
:func:`plot_mixing` draw (matplotlib only there) -- these two layers are in
:mod:`statoptim.studies.multiview_report` (re-exported here); :func:`run` joins
them.
"""
from __future__ import annotations

import functools
import time
import warnings
from types import SimpleNamespace

import numpy as np

from statoptim._threads import single_blas_thread
from statoptim.studies._output import StudyOutput
from statoptim.studies._runner import (
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
from statoptim.studies.multiview_report import (  # noqa: F401 (re-exported)
    COLLAPSE_TOL,
    DIRECTION_K,
    NUS_WIDE_TALK,
    PUBLISHED_WIKIPEDIA,
    TARGETS,
    _curves,
    _curves_table,
    _plot,
    _retrieval_table,
    _targets_table,
    direction_tables,
    mixing_tables,
    plot_mixing,
    published_tables,
)

__all__ = ["BASELINES", "compute", "compute_mixing_paths", "compute_retrieval", "cycle_objective",
           "direction_tables", "fit_baseline", "mixing_tables", "model_specs", "plot_mixing",
           "mixing_paths", "precision_recall_points", "published_tables", "retrieval_results",
           "run", "select_on_training", "study_grid", "study_task"]

BASELINES = ("CCA", "PLSC", "SM", "SCM", "LS-SM")
#: Baselines whose representations are posteriors, also scored by relevance (dot).
RELEVANCE_BASELINES = ("SM", "SCM")
K_VALUES = (1, 5, 10, 50, 100)



#: The files the two loaders read, by data set (subfolder of --data).
DATA_FILES = {
    "wikipedia_rasiwasia2010": ("raw_features.mat", "trainset_txt_img_cat.list",
                                "testset_txt_img_cat.list"),
    "uci_multifeature": ("mfeat-fou.csv", "mfeat-fac.csv", "mfeat-kar.csv", "mfeat-pix.csv",
                         "mfeat-zer.csv", "mfeat-mor.csv"),
}
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
                             "collapses alpha)")
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


def _split_seeds(args):
    """The UCI split seeds: --seed, ..., --seed + R - 1 (or the deprecated --seeds list)."""
    seeds = getattr(args, "split_seeds", None)
    if seeds is not None:
        return list(seeds)
    return list(range(args.seed, args.seed + args.replications))


def _check_arguments(args):
    if getattr(args, "split_seeds", None) is not None and (
            given(args, "seed") or given(args, "replications")):
        raise ValueError("argument --seeds: give either --seed and --replications or the "
                         "deprecated --seeds, not both")
    from statoptim.studies._engine import check_runner_arguments

    for name, files in DATA_FILES.items():
        find_dataset(args.data, name, files)
    check_runner_arguments(args, "multiview", study_grid(args))


# ------------------------------------------------------------------ helpers
#: The recall levels of the 11-point interpolated precision.
ELEVEN_POINTS = np.linspace(0, 1, 11)


def precision_recall_points(query_labels, database_labels, ranking,
                            recall_levels=ELEVEN_POINTS):
    """11-point interpolated precision at the given recall levels, averaged over queries.

    For each query, precision and recall after each rank k; the interpolated
    precision at recall r is the largest precision at any rank with recall >= r
    (Rasiwasia et al. 2010). Queries without relevant items are skipped.
    """
    q = np.asarray(query_labels)
    d = np.asarray(database_labels)
    levels = np.asarray(recall_levels, dtype=float)
    total = np.zeros(levels.size)
    count = 0
    for start in range(0, q.shape[0], 256):
        block = ranking[start:start + 256]
        rel = d[block] == q[start:start + 256, None]
        hits = np.cumsum(rel, axis=1)
        n_rel = hits[:, -1]
        keep = n_rel > 0
        hits, n_rel = hits[keep], n_rel[keep]
        prec = hits / np.arange(1, rel.shape[1] + 1)
        rec = hits / n_rel[:, None]
        # running maximum of precision from the end: max over ranks with recall >= r
        best = np.maximum.accumulate(prec[:, ::-1], axis=1)[:, ::-1]
        for j, r in enumerate(levels):
            idx = np.argmax(rec >= r - 1e-12, axis=1)
            total[j] += best[np.arange(best.shape[0]), idx].sum()
        count += int(keep.sum())
    return total / max(count, 1)


def fit_baseline(name, A_train, B_train, y_train, A_test, B_test, n_components):
    """Fit one baseline on the training pairs; return the test representations (A, B)."""
    from sklearn.cross_decomposition import CCA, PLSCanonical
    from sklearn.linear_model import LogisticRegression, Ridge
    from sklearn.preprocessing import StandardScaler

    sa, sb = StandardScaler().fit(A_train), StandardScaler().fit(B_train)
    a_tr, b_tr, a_te, b_te = (sa.transform(A_train), sb.transform(B_train),
                              sa.transform(A_test), sb.transform(B_test))
    k = min(n_components, a_tr.shape[1], b_tr.shape[1])
    if name in ("CCA", "PLSC", "SCM"):
        cls = PLSCanonical if name == "PLSC" else CCA
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # scikit-learn's NIPALS convergence chatter
            model = cls(n_components=k, scale=True, max_iter=500).fit(a_tr, b_tr)
            a_tr_c, b_tr_c = model.transform(a_tr, b_tr)
            a_te_c, b_te_c = model.transform(a_te, b_te)
        if name != "SCM":
            return a_te_c, b_te_c
        a_tr, b_tr, a_te, b_te = a_tr_c, b_tr_c, a_te_c, b_te_c
        sa, sb = StandardScaler().fit(a_tr), StandardScaler().fit(b_tr)
        a_tr, b_tr, a_te, b_te = (sa.transform(a_tr), sb.transform(b_tr),
                                  sa.transform(a_te), sb.transform(b_te))
    if name in ("SM", "SCM"):
        out = []
        for tr, te in ((a_tr, a_te), (b_tr, b_te)):
            clf = LogisticRegression(C=1.0, max_iter=2000).fit(tr, y_train)
            out.append(clf.predict_proba(te))
        return tuple(out)
    if name == "LS-SM":
        onehot = (y_train[:, None] == np.unique(y_train)).astype(float)
        return tuple(Ridge(alpha=1.0).fit(tr, onehot).predict(te)
                     for tr, te in ((a_tr, a_te), (b_tr, b_te)))
    raise ValueError(f"unknown baseline {name!r}")


def _evaluate(rep_a, rep_b, y_test, seed, similarity="cosine"):
    from statoptim.multiview import map_at_k, mean_average_precision, precision_at_k, retrieve

    out = {}
    for key, (q, d) in (("fwd", (rep_a, rep_b)), ("rev", (rep_b, rep_a))):
        ranking = retrieve(q, d, similarity=similarity, random_state=seed)
        out[f"map_{key}"] = mean_average_precision(y_test, y_test, ranking)
        for k in K_VALUES:
            out[f"p{k}_{key}"] = precision_at_k(y_test, y_test, ranking, k)
        out[f"mapk_{key}"] = map_at_k(y_test, y_test, ranking, 50)
        out[f"pr_{key}"] = precision_recall_points(y_test, y_test, ranking)
    return out


#: tol of the softmax-loss fits: their rankings are settled at 1e-3 (UCI 2+2,
#: 5 seeds: mAP within 0.001 of tol=1e-4 at a third of the time).
SOFTMAX_TOL = 1e-3

#: The decade grid of both ridge strengths.
DECADES = (1e-3, 1e-2, 1e-1)

#: Candidates of the inner-CV row (keyword arguments of MultiViewTensorMachine;
#: all with consensus mu and rank --rank). Relevance scoring multiplies topic
#: probabilities, which the softmax (cross-entropy) fit estimates directly (the
#: squared loss needs a temperature on top), so the candidates are softmax fits
#: on the decade grid: lambda in DECADES without the linear term, and with it at
#: every lambda_W in DECADES -- 12 candidates.
INNER_CV_CANDIDATES = tuple(
    [{"loss": "softmax", "regularization": lam, "tol": SOFTMAX_TOL} for lam in DECADES]
    + [{"loss": "softmax", "regularization": lam, "linear_term": True,
        "linear_regularization": lam_w, "tol": SOFTMAX_TOL}
       for lam in DECADES for lam_w in DECADES])


def describe_candidate(kwargs):
    """Short label of a candidate, e.g. ``softmax 0.1 +linear 0.01``."""
    text = f"{kwargs.get('loss', 'squared')} {kwargs.get('regularization', 1e-3):g}"
    if kwargs.get("linear_term"):
        reg_w = kwargs.get("linear_regularization")
        text += " +linear" + ("" if reg_w is None else f" {reg_w:g}")
    return text


def _validation_map(A_tr, B_tr, y_tr, tr, va, model, similarity, seed):
    """(A->B, B->A) mAP of ``model`` fitted on rows ``tr``, validation rows ``va``."""
    from statoptim.multiview import mean_average_precision, retrieve

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # convergence notes of the fold fits
        model.fit([x[tr] for x in A_tr], [x[tr] for x in B_tr], y_tr[tr])
    qa = model.predict_proba([x[va] for x in A_tr], "a")
    qb = model.predict_proba([x[va] for x in B_tr], "b")
    return [mean_average_precision(y_tr[va], y_tr[va],
                                   retrieve(q, d, similarity=similarity, random_state=seed))
            for q, d in ((qa, qb), (qb, qa))]


def select_on_training(A_tr, B_tr, y_tr, seed, make_model, candidates=INNER_CV_CANDIDATES,
                       n_folds=5, similarity="dot", n_jobs=1):
    """Pick model keyword arguments by stratified K-fold CV on the training rows only.

    Each candidate (a dict of keyword arguments for ``make_model``) is fitted
    on K-1 folds; the held-out fold's items of one modality query those of the
    other (posteriors, ``similarity``: "dot" is the relevance scoring) and the
    mean of the two directions' mAP is averaged over folds. The fold fits run
    on ``n_jobs`` processes (joblib; every fit is seeded, so the result does
    not depend on it). Returns (best candidate, array of validation
    (A->B, B->A) mAP per candidate).
    """
    from sklearn.model_selection import StratifiedKFold

    folds = list(StratifiedKFold(n_folds, shuffle=True, random_state=seed).split(y_tr, y_tr))
    tasks = [(tr, va, make_model(**kwargs)) for tr, va in folds for kwargs in candidates]
    if n_jobs == 1:
        maps = [_validation_map(A_tr, B_tr, y_tr, tr, va, model, similarity, seed)
                for tr, va, model in tasks]
    else:
        from joblib import Parallel, delayed

        maps = Parallel(n_jobs=n_jobs)(
            delayed(_validation_map)(A_tr, B_tr, y_tr, tr, va, model, similarity, seed)
            for tr, va, model in tasks)
    scores = np.asarray(maps).reshape(n_folds, len(candidates), 2).mean(axis=0)
    return candidates[int(np.argmax(scores.sum(axis=1)))], scores


#: The UCI designs: name -> (views of modality A, views of modality B).
UCI_SETTINGS = {"uci fou->pix": (["fou"], ["pix"]),
                "uci (fou,zer)->(kar,mor)": (["fou", "zer"], ["kar", "mor"])}


@functools.lru_cache(maxsize=2)
def _load_uci(folder):
    """The UCI views, read once per process: every engine task of a worker reuses them
    (the splits index copies out of them)."""
    from statoptim.datasets import load_uci_multifeature

    return load_uci_multifeature(folder)


def _settings(data, seeds, wikipedia_seed=0):
    """Yield (setting, seed, A_tr list, B_tr list, y_tr, A_te list, B_te list, y_te).

    ``data`` is --data (None: the default places); ``wikipedia_seed`` seeds
    the models and tie-breaks on the one standard Wikipedia split.
    """
    from statoptim.datasets import load_wikipedia_rasiwasia, uci_multifeature_split

    w = load_wikipedia_rasiwasia(find_dataset(data, "wikipedia_rasiwasia2010",
                                              DATA_FILES["wikipedia_rasiwasia2010"]))
    yield ("wikipedia", wikipedia_seed, [w["image_train"]], [w["text_train"]], w["y_train"],
           [w["image_test"]], [w["text_test"]], w["y_test"])
    X, y = _load_uci(find_dataset(data, "uci_multifeature", DATA_FILES["uci_multifeature"]))
    for name, (a_views, b_views) in UCI_SETTINGS.items():
        for seed in seeds:
            tr, te = uci_multifeature_split(y, seed)
            yield (name, seed, [X[v][tr] for v in a_views], [X[v][tr] for v in b_views], y[tr],
                   [X[v][te] for v in a_views], [X[v][te] for v in b_views], y[te])


# ----------------------------------------------------------------- compute
def model_specs(args):
    """The CP-model rows: name -> (fit keyword arguments or None for inner CV, representation).

    Fits with the same arguments are shared (the posteriors reuse the
    raw-score fit). Representations: "scores" (f, cosine), "proba"
    (posteriors, cosine), "relevance" (posteriors, dot product: the
    probability of a shared topic).
    """
    mu = f"mu={args.consensus:g}"
    softmax = {"consensus": args.consensus, "loss": "softmax",
               "regularization": args.softmax_regularization, "tol": SOFTMAX_TOL}
    softmax_linear = dict(softmax, linear_term=True,
                          linear_regularization=args.linear_regularization)
    models = {
        "TM mu=0 (talk)": ({"consensus": 0.0}, "scores"),
        f"TM {mu}": ({"consensus": args.consensus}, "scores"),
        f"TM {mu} posteriors": ({"consensus": args.consensus}, "proba"),
        f"TM {mu} softmax loss": (softmax, "proba"),
        f"TM {mu} relevance": ({"consensus": args.consensus}, "relevance"),
        f"TM {mu} softmax relevance": (softmax, "relevance"),
        f"TM {mu} softmax +linear relevance": (softmax_linear, "relevance"),
    }
    if args.inner_cv:
        models[f"TM {mu} inner-CV relevance"] = (None, "relevance")
    return models


def _make_model(args, seed, **kwargs):
    from statoptim import MultiViewTensorMachine

    params = {"rank": args.rank, "regularization": args.regularization,
              "n_init": args.n_init, "random_state": seed}
    params.update(kwargs)
    return MultiViewTensorMachine(**params)


def _model_representations(args, spec, data, fits):
    """Fit (or reuse from ``fits``) one CP-model row; return (rep_a, rep_b, fit_s, extra)."""
    (kwargs, representation), (seed, A_tr, B_tr, y_tr, A_te, B_te) = spec, data
    extra = {}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        if kwargs is None:  # inner CV on the training rows
            t0 = time.perf_counter()
            best, _ = select_on_training(
                A_tr, B_tr, y_tr, seed,
                lambda **kw: _make_model(args, seed, consensus=args.consensus, **kw),
                n_jobs=getattr(args, "jobs", 1))
            kwargs = dict(best, consensus=args.consensus)
            extra["selected"] = describe_candidate(best)
            extra["select_s"] = time.perf_counter() - t0
        key = tuple(sorted(kwargs.items()))
        if key not in fits:
            t1 = time.perf_counter()
            model = _make_model(args, seed, **kwargs).fit(A_tr, B_tr, y_tr)
            fits[key] = (model, time.perf_counter() - t1)
    model, fit_s = fits[key]
    if representation in ("proba", "relevance"):
        rep_a, rep_b = model.predict_proba(A_te, "a"), model.predict_proba(B_te, "b")
    else:
        rep_a, rep_b = model.decision_function(A_te, "a"), model.decision_function(B_te, "b")
    alpha = model.mixing_weights_
    extra.update(n_iter=model.n_iter_, collapsed=int(np.sum((alpha == 0) | (alpha == 1))))
    return rep_a, rep_b, fit_s, extra


def _split_methods(args, split, methods, models=None):
    """Every method of ``methods`` on one split: {method: dict of measures}.

    ``split`` is ``(setting, seed, A_tr, B_tr, y_tr, A_te, B_te, y_te)``, as
    :func:`_settings` yields it; CP-model fits with the same arguments are
    shared between the rows (see :func:`model_specs`), and so are the baselines'
    between their cosine and relevance rows.
    """
    models = model_specs(args) if models is None else models
    setting, seed, A_tr, B_tr, y_tr, A_te, B_te, y_te = split
    n_comp = 7 if setting == "wikipedia" else 10
    fits, baseline_fits, out = {}, {}, {}
    with single_blas_thread(), warnings.catch_warnings():
        warnings.simplefilter("ignore", category=UserWarning)  # collapse/rank notes: reported
        for method in methods:
            t0 = time.perf_counter()
            if method in models:
                representation = models[method][1]
                rep_a, rep_b, fit_s, extra = _model_representations(
                    args, models[method], (seed, A_tr, B_tr, y_tr, A_te, B_te), fits)
            else:
                name, extra = method.split()[0], {}
                representation = "relevance" if method.endswith("relevance") else "proba"
                if name not in baseline_fits:
                    baseline_fits[name] = (fit_baseline(
                        name, np.hstack(A_tr), np.hstack(B_tr), y_tr, np.hstack(A_te),
                        np.hstack(B_te), n_comp), time.perf_counter() - t0)
                (rep_a, rep_b), fit_s = baseline_fits[name]
            res = _evaluate(rep_a, rep_b, y_te, seed,
                            "dot" if representation == "relevance" else "cosine")
            res.update(extra, fit_s=fit_s)
            out[method] = res
    return out


def compute_retrieval(args, seeds, models, methods, bar=None):
    """Every method on every setting and split, in process: {(setting, method): [per-split dict]}.

    Each dict holds what :func:`_evaluate` measures on the test split (mAP,
    P@K for ``K_VALUES``, mAP@50 and the 11-point curve, both directions),
    the fit time and, for the CP model, the cycles and collapsed weights.
    ``statoptim reproduce multiview`` runs the same splits as tasks of the
    study engine (:func:`study_task`).
    """
    results = {}
    for split in _settings(args.data, seeds, wikipedia_seed=args.seed):
        for method, res in _split_methods(args, split, methods, models).items():
            results.setdefault((split[0], method), []).append(res)
            if bar is not None:
                bar.update(1)
    return results


#: The settings of the mixing-weight study: the two data sets' multi-view designs.
MIXING_SETTINGS = ("wikipedia", "uci (fou,zer)->(kar,mor)")


def cycle_objective(model):
    """J after initialisation and after every cycle: ``objective_`` at the cycle ends."""
    n_blocks = (len(model.objective_) - 1) // model.n_iter_
    return np.asarray(model.objective_[::n_blocks])


def _mixing_fit(args, split, regularization, consensus):
    """One squared-loss fit of the mixing-weight study on ``split``: its path and mAP."""
    setting, seed, A_tr, B_tr, y_tr, A_te, B_te, y_te = split
    with single_blas_thread(), warnings.catch_warnings():
        warnings.simplefilter("ignore")  # collapse and convergence notes: shown by the paths
        model = _make_model(args, seed, consensus=consensus, regularization=regularization)
        model.fit(A_tr, B_tr, y_tr)
        res = _evaluate(model.decision_function(A_te, "a"),
                        model.decision_function(B_te, "b"), y_te, seed)
    return {"alpha_path": model.alpha_path_, "objective": cycle_objective(model),
            "map_ab": res["map_fwd"], "map_ba": res["map_rev"]}


def _mixing_grid(args):
    """The (lambda, mu) pairs of the mixing-weight study, in table order."""
    mus = sorted({0.0, float(args.consensus)})
    lams = sorted({float(args.regularization), float(args.collapse_regularization)})
    return [(lam, mu) for lam in lams for mu in mus]


def compute_mixing_paths(args, seed=None):
    """The mixing weights and J per BCD cycle on the first split of each MIXING_SETTINGS.

    Fits the squared-loss model (rank, n_init of ``args``) with consensus 0
    (the talk's) and ``args.consensus``, at ``args.regularization`` and at
    ``args.collapse_regularization``, in process. Returns a list of dicts with
    keys data, regularization, consensus, alpha_path (n_iter + 1, n_topics),
    objective (n_iter + 1,) and the test split's cosine-retrieval mAP of the
    scores f_m, map_ab (A->B) and map_ba (B->A).
    """
    seed = args.seed if seed is None else seed
    paths = []
    for split in _settings(args.data, [seed], seed):
        if split[0] not in MIXING_SETTINGS:
            continue
        for lam, mu in _mixing_grid(args):
            paths.append({"data": split[0], "regularization": lam, "consensus": mu,
                          **_mixing_fit(args, split, lam, mu)})
    return paths


# ------------------------------------------------------- the study engine
#: The options that change the numbers, held in every setting of the engine's grid.
OPTIONS = ("rank", "regularization", "consensus", "n_init", "softmax_regularization",
           "linear_regularization", "inner_cv")


def _options(args):
    return {name: getattr(args, name) for name in OPTIONS}


def _split_data(data, setting, seed):
    """The split of ``setting`` (a data set name) seeded ``seed``, from :func:`_settings`."""
    for split in _settings(data, [seed], wikipedia_seed=seed):
        if split[0] == setting:
            return split
    raise ValueError(f"unknown multiview setting {setting!r}")


def study_task(setting, rng, *, data=None):
    """One task of the study engine: one split of one data set.

    ``setting["task"]`` is ``"retrieval"`` (every method of
    ``setting["methods"]`` on the split; outputs ``"{method}|{measure}"``,
    the measures of :func:`compute_retrieval`) or ``"mixing"`` (one fit of
    the mixing-weight study at ``regularization`` and ``consensus``; outputs
    as :func:`compute_mixing_paths`). ``setting["data"]`` names the data
    set, ``setting["split"]`` seeds its split, the models and the
    tie-breaks; ``setting["options"]`` holds the model options
    (:data:`OPTIONS`). ``data`` is the --data folder; ``rng`` is unused (the
    splits are seeded by ``split``, as the study has always been).
    """
    args = SimpleNamespace(**setting["options"], jobs=1)
    split = _split_data(data, setting["data"], setting["split"])
    if setting["task"] == "mixing":
        return _mixing_fit(args, split, setting["regularization"], setting["consensus"])
    results = _split_methods(args, split, setting["methods"])
    return {f"{method}|{name}": value for method, res in results.items()
            for name, value in res.items()}


def _methods(args):
    methods = list(model_specs(args))
    if not args.skip_baselines:
        methods += list(BASELINES) + [f"{b} relevance" for b in RELEVANCE_BASELINES]
    return methods


def study_grid(args):
    """The engine's settings: each split of each data set, then the mixing-weight fits."""
    seeds, options, methods = _split_seeds(args), _options(args), _methods(args)
    splits = [("wikipedia", args.seed)] + [(name, seed) for name in UCI_SETTINGS
                                           for seed in seeds]
    grid = [{"task": "retrieval", "data": name, "split": seed, "methods": methods,
             "options": options} for name, seed in splits]
    grid += [{"task": "mixing", "data": name, "split": seeds[0], "regularization": lam,
              "consensus": mu, "options": options}
             for name in MIXING_SETTINGS for lam, mu in _mixing_grid(args)]
    return grid


def compute(args):
    """Run (or read, with --summarize-only) the engine's tasks; return the records."""
    from statoptim.studies._engine import run_from_args

    task = functools.partial(study_task, data=args.data)
    return run_from_args(task, study_grid(args), "multiview", args, n_replications=1)


def retrieval_results(records):
    """{(setting, method): [per-split dict]} (as :func:`compute_retrieval`) from records."""
    results = {}
    for rec in records:
        if rec["task"] != "retrieval":
            continue
        for method in rec["methods"]:
            prefix = f"{method}|"
            results.setdefault((rec["data"], method), []).append(
                {k[len(prefix):]: v for k, v in rec.items() if k.startswith(prefix)})
    return results


def mixing_paths(records):
    """The mixing-weight fits (as :func:`compute_mixing_paths`) from records."""
    return [{key: rec[key] for key in ("data", "regularization", "consensus", "alpha_path",
                                       "objective", "map_ab", "map_ba")}
            for rec in records if rec["task"] == "mixing"]


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
    output = StudyOutput(args, "multiview")
    output.start()
    records = compute(args)
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
          f"regularization={args.softmax_regularization:g}, tol={SOFTMAX_TOL:g}; "
          "+linear: with the linear term per modality, "
          f"linear_regularization={args.linear_regularization:g}.")
    print("relevance: posteriors scored by their dot product, the probability that "
          "the two items share their topic (probability ranking principle); all other "
          "rows use the cosine.")
    print("inner-CV: softmax loss; lambda, linear term and lambda_W chosen among "
          f"{len(INNER_CV_CANDIDATES)} candidates (decade grid {list(DECADES)}) by 5-fold CV "
          "on the training rows (relevance scoring); fit s is the refit, the selection "
          "time is listed below.")
    print(f"TM = statoptim.MultiViewTensorMachine(rank={args.rank}, "
          f"regularization={args.regularization:g}, n_init={args.n_init}); "
          "baselines: CCA-k/PLSC-k/SCM-k with k = 7 (Wikipedia) or 10 (UCI), "
          "SM = logistic regression C=1, LS-SM = ridge alpha=1.")
    print("fit s: median wall time of the fits on this machine (everything learned, both "
          "modalities; BLAS at 1 thread).\n")
