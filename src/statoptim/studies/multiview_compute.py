"""The compute layer of ``statoptim reproduce multiview`` (see :mod:`statoptim.studies.multiview`).

The fits and the retrieval measures: the data sets and their splits
(:func:`_settings`), the CP-model rows (:func:`model_specs`) and the baselines
(:func:`fit_baseline`), the inner cross-validation on the training rows
(:func:`select_on_training`), the in-process runs (:func:`compute_retrieval`,
:func:`compute_mixing_paths`) and the study engine's tasks (:func:`study_task`,
:func:`study_grid`, :func:`compute`) with the records turned back into results
(:func:`retrieval_results`, :func:`mixing_paths`). Tables are in
:mod:`statoptim.studies.multiview_report`, figures in
:mod:`statoptim.studies.multiview_plot`.
"""
from __future__ import annotations

import functools
import time
import warnings
from types import SimpleNamespace

import numpy as np

from statoptim._threads import single_blas_thread
from statoptim.studies._registry import find_dataset

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


def _split_seeds(args):
    """The UCI split seeds: --seed, ..., --seed + R - 1 (or the deprecated --seeds list)."""
    seeds = getattr(args, "split_seeds", None)
    if seeds is not None:
        return list(seeds)
    return list(range(args.seed, args.seed + args.replications))


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
#: all with consensus mu and n_components --rank). Relevance scoring multiplies
#: topic probabilities, which the softmax (cross-entropy) fit estimates directly
#: (the squared loss needs a temperature on top), so the candidates are softmax
#: fits on the decade grid: alpha (lambda) in DECADES without the linear term,
#: and with it at every linear_alpha (lambda_W) in DECADES -- 12 candidates.
INNER_CV_CANDIDATES = tuple(
    [{"loss": "softmax", "alpha": lam, "tol": SOFTMAX_TOL} for lam in DECADES]
    + [{"loss": "softmax", "alpha": lam, "linear_term": True, "linear_alpha": lam_w,
        "tol": SOFTMAX_TOL}
       for lam in DECADES for lam_w in DECADES])


def describe_candidate(kwargs):
    """Short label of a candidate, e.g. ``softmax 0.1 +linear 0.01``."""
    text = f"{kwargs.get('loss', 'squared')} {kwargs.get('alpha', 1e-3):g}"
    if kwargs.get("linear_term"):
        reg_w = kwargs.get("linear_alpha")
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
               "alpha": args.softmax_regularization, "tol": SOFTMAX_TOL}
    softmax_linear = dict(softmax, linear_term=True, linear_alpha=args.linear_regularization)
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

    params = {"n_components": args.rank, "alpha": args.regularization,
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
        warnings.simplefilter("ignore", category=UserWarning)  # collapse/redundancy notes: reported
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
        model = _make_model(args, seed, consensus=consensus, alpha=regularization)
        model.fit(A_tr, B_tr, y_tr)
        res = _evaluate(model.decision_function(A_te, "a"),
                        model.decision_function(B_te, "b"), y_te, seed)
    return {"alpha_path": model.mixing_weights_path_, "objective": cycle_objective(model),
            "map_ab": res["map_fwd"], "map_ba": res["map_rev"]}


def _mixing_grid(args):
    """The (lambda, mu) pairs of the mixing-weight study, in table order."""
    mus = sorted({0.0, float(args.consensus)})
    lams = sorted({float(args.regularization), float(args.collapse_regularization)})
    return [(lam, mu) for lam in lams for mu in mus]


def compute_mixing_paths(args, seed=None):
    """The mixing weights and J per BCD cycle on the first split of each MIXING_SETTINGS.

    Fits the squared-loss model (``args.rank`` components, ``args.n_init``
    starts) with consensus 0 (the talk's) and ``args.consensus``, at alpha =
    ``args.regularization`` and ``args.collapse_regularization``, in process.
    Returns a list of dicts with keys data, regularization, consensus,
    alpha_path (the model's ``mixing_weights_path_``, (n_iter + 1, n_topics)),
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
