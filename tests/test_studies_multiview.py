"""`statoptim reproduce multiview`: the mixing-weight record and figure, and the
image->text / text->image tables (issue 18, part 5).

The study runs here on small synthetic views shaped like its data sets
(Wikipedia: one view per modality; UCI: fou -> pix and two views per modality),
substituted for the loaders, so nothing needs the data folder.
"""
import json
import warnings

import numpy as np
import pytest
from sklearn.exceptions import ConvergenceWarning

from statoptim import MultiViewTensorMachine
from statoptim._optional import installed
from statoptim.cli import main
from statoptim.multiview import MixingCollapseWarning
from statoptim.studies import multiview as study
from statoptim.studies import multiview_compute as study_compute


def _views(seed, n=120, k=4, dims_a=(6, 4), dims_b=(5, 3), noise=1.0):
    """Class centres plus noise in every view: both modalities carry the label."""
    rng = np.random.default_rng(seed)
    y = np.repeat(np.arange(k), n // k)

    def modality(dims):
        out = []
        for d in dims:
            centres = rng.standard_normal((k, d))
            out.append(centres[y] + noise * rng.standard_normal((n, d)))
        return out
    return modality(dims_a), modality(dims_b), y


# The synthetic case of the collapse test: at this lambda the talk's objective
# (mu = 0) sends every alpha to 0 or 1 and the consensus fit (mu = 1) keeps
# every alpha inside (0, 1).
COLLAPSE_CASE = {"seed": 4, "regularization": 0.05, "rank": 4}


def _fit(consensus, **kwargs):
    a, b, y = _views(COLLAPSE_CASE["seed"])
    params = {"n_components": COLLAPSE_CASE["rank"], "alpha": COLLAPSE_CASE["regularization"],
              "consensus": consensus, "random_state": COLLAPSE_CASE["seed"]}
    params.update(kwargs)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", MixingCollapseWarning)
        return MultiViewTensorMachine(**params).fit(a, b, y)


# ---------------------------------------------------- mixing_weights_path_
def test_mixing_weights_path_records_the_weights_after_every_cycle():
    with pytest.warns(ConvergenceWarning, match="max_iter=12"):
        model = _fit(1.0, tol=0.0, max_iter=12)
    path = model.mixing_weights_path_
    assert path.shape == (model.n_iter_ + 1, 4) == (13, 4)
    assert np.array_equal(path[0], np.full(4, 0.5))
    assert np.array_equal(path[-1], model.mixing_weights_)
    # Row k is alpha after k cycles: a fit stopped after k cycles ends there.
    for k in (1, 5):
        with pytest.warns(ConvergenceWarning, match=f"max_iter={k}"):
            short = _fit(1.0, tol=0.0, max_iter=k)
        assert np.array_equal(short.mixing_weights_, path[k])
        assert np.array_equal(short.mixing_weights_path_, path[:k + 1])


@pytest.mark.parametrize("kwargs", [{"mixing": "fixed"}, {"n_init": 3},
                                    {"block_update": "prox-linear", "max_iter": 30,
                                     "tol": 1e-3},
                                    {"loss": "softmax", "linear_term": True}])
def test_mixing_weights_path_shape_and_end_in_every_mode(kwargs):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        model = _fit(1.0, **kwargs)
    assert model.mixing_weights_path_.shape == (model.n_iter_ + 1, 4)
    assert np.array_equal(model.mixing_weights_path_[-1], model.mixing_weights_)
    assert np.all((model.mixing_weights_path_ >= 0) & (model.mixing_weights_path_ <= 1))
    if kwargs.get("mixing") == "fixed":
        assert np.all(model.mixing_weights_path_ == 0.5)
    J = study.cycle_objective(model)
    assert J.shape == (model.n_iter_ + 1,) and J[-1] == model.objective_[-1]


def test_alpha_collapses_under_the_talks_objective_only():
    a, b, y = _views(COLLAPSE_CASE["seed"])
    talk = MultiViewTensorMachine(
        n_components=COLLAPSE_CASE["rank"], alpha=COLLAPSE_CASE["regularization"],
        consensus=0.0, random_state=COLLAPSE_CASE["seed"])
    with pytest.warns(MixingCollapseWarning, match="4 of 4 collapsed"):
        talk.fit(a, b, y)
    final = talk.mixing_weights_path_[-1]
    assert np.all((np.abs(final) <= 1e-6) | (np.abs(final - 1) <= 1e-6))
    consensus = _fit(1.0)
    final = consensus.mixing_weights_path_[-1]
    assert np.all((final > 1e-3) & (final < 1 - 1e-3)), final
    for model in (talk, consensus):  # J non-increasing per cycle
        J = study.cycle_objective(model)
        assert np.all(np.diff(J) <= 1e-12 * np.abs(J[:-1])), np.diff(J).max()
        assert J[-1] < J[0]


# ------------------------------------------------------------- the study
def _fake_settings(data, seeds, wikipedia_seed=0):
    """Stand-in for the loaders: small synthetic views with the data sets' layout."""
    def split(a, b, y, rng):
        idx = rng.permutation(y.size)
        tr, te = np.sort(idx[:y.size // 2]), np.sort(idx[y.size // 2:])
        return ([x[tr] for x in a], [x[tr] for x in b], y[tr],
                [x[te] for x in a], [x[te] for x in b], y[te])

    a, b, y = _views(100, n=240, k=5, dims_a=(12,), dims_b=(7,), noise=1.5)
    yield ("wikipedia", wikipedia_seed, *split(a, b, y, np.random.default_rng(0)))
    a, b, y = _views(101, n=240, k=5, dims_a=(6, 4), dims_b=(5, 3), noise=1.0)
    for name, keep_a, keep_b in (("uci fou->pix", [0], [0]),
                                 ("uci (fou,zer)->(kar,mor)", [0, 1], [0, 1])):
        for seed in seeds:
            yield (name, seed, *split([a[i] for i in keep_a], [b[i] for i in keep_b], y,
                                      np.random.default_rng(seed)))


@pytest.fixture
def fake_data(tmp_path, monkeypatch):
    """A --data folder with the files the argument check looks for, and fake loaders."""
    for name, files in study.DATA_FILES.items():
        (tmp_path / "data" / name).mkdir(parents=True)
        for f in files:
            (tmp_path / "data" / name / f).write_text("")
    monkeypatch.setattr(study_compute, "_settings", _fake_settings)
    return tmp_path


def _rows(folder, name):
    with open(folder / f"{name}.json", encoding="utf-8") as f:
        return json.load(f)["rows"]


def _run(fake_data, *extra):
    # --jobs 1: the study engine runs the splits in this process, where the fake
    # loaders are patched in (worker processes would read the empty files)
    out = fake_data / "out"
    argv = ["reproduce", "multiview", "--data", str(fake_data / "data"), "--out", str(out),
            "--no-inner-cv", "--no-progress", "--replications", "2", "--rank", "4",
            "--collapse-regularization", "0.05", "--jobs", "1", *extra]
    assert main(argv) == 0
    return out


def test_study_writes_the_direction_tables_and_mixing_outputs(fake_data, capsys):
    out = _run(fake_data, "--no-figures")
    printed = capsys.readouterr().out
    assert "image -> text (A -> B)" in printed and "text -> image (B -> A)" in printed
    methods = list(study.model_specs(_Args())) + list(study.BASELINES) + [
        f"{b} relevance" for b in study.RELEVANCE_BASELINES]
    settings = ["wikipedia", "uci fou->pix", "uci (fou,zer)->(kar,mor)"]
    for name in ("multiview_image_to_text", "multiview_text_to_image"):
        rows = _rows(out, name)
        assert [(r["data"], r["method"]) for r in rows] == [
            (s, m) for s in settings for m in methods]
        for r in rows:
            assert r["splits"] == (1 if r["data"] == "wikipedia" else 2)
            assert 0 <= r["map"] <= 1 and r["map_sd"] >= 0
            for k in study.DIRECTION_K:
                assert 0 <= r[f"p{k}"] <= 1
            # P@1 is a mean of 0/1 hits over the test queries (120) and splits
            assert abs(r["p1"] * 120 * r["splits"] - round(r["p1"] * 120 * r["splits"])) < 1e-9
    # the retrieval table's mAP columns are the same numbers
    main_rows = {(r["data"], r["method"]): r for r in _rows(out, "multiview_retrieval")}
    for fwd, rev in zip(_rows(out, "multiview_image_to_text"),
                        _rows(out, "multiview_text_to_image")):
        key = (fwd["data"], fwd["method"])
        assert fwd["map"] == main_rows[key]["map_ab"] and rev["map"] == main_rows[key]["map_ba"]
        assert fwd["p10"] == main_rows[key]["p10_ab"] and rev["p50"] == main_rows[key]["p50_ba"]

    summary = _rows(out, "multiview_mixing")
    assert [(r["data"], r["regularization"], r["consensus"]) for r in summary] == [
        (d, lam, mu) for d in study.MIXING_SETTINGS for lam in (1e-3, 0.05) for mu in (0, 1)]
    path = _rows(out, "multiview_mixing_path")
    for r in summary:
        assert r["max_increase"] <= 1e-12 * r["objective_init"]   # J non-increasing
        mine = [p for p in path if (p["data"], p["regularization"], p["consensus"])
                == (r["data"], r["regularization"], r["consensus"])]
        assert len(mine) == (r["cycles"] + 1) * r["n_topics"]
        final = np.array([p["alpha"] for p in mine if p["cycle"] == r["cycles"]])
        assert r["collapsed"] == int(np.sum((final <= 1e-6) | (final >= 1 - 1e-6)))
        assert r["alpha_min"] == final.min() and r["alpha_max"] == final.max()
        assert 0 <= r["map_ab"] <= 1 and 0 <= r["map_ba"] <= 1
    assert not list(out.glob("*.png"))


@pytest.mark.skipif(not installed("matplotlib"), reason="figures need matplotlib")
def test_study_draws_the_mixing_figure(fake_data):
    out = _run(fake_data, "--skip-baselines", "--replications", "1")
    for name in (study.MIXING_FIGURE, study.FIGURE):
        assert (out / name).stat().st_size > 10_000


class _Args:
    """The options ``model_specs`` and ``compute_mixing_paths`` read (the CLI defaults)."""

    consensus, softmax_regularization, linear_regularization = 1.0, 1e-2, 1e-2
    inner_cv, rank, regularization, n_init, seed, data, jobs = False, 4, 1e-3, 1, 0, None, 1
    collapse_regularization = 0.05


def _average_precision(ranked_relevance):
    """AP of one query: mean precision at the ranks of its relevant items."""
    hits = np.flatnonzero(ranked_relevance)
    return np.mean((np.arange(hits.size) + 1) / (hits + 1))


def test_direction_table_map_and_precision_match_numpy(monkeypatch):
    """mAP and P@K of the talk's row equal a plain NumPy computation on its scores."""
    monkeypatch.setattr(study_compute, "_settings", _fake_settings)
    args = _Args()
    models = {"TM mu=0 (talk)": study.model_specs(args)["TM mu=0 (talk)"]}
    results = study.compute_retrieval(args, [3], models, list(models))
    fwd, rev = study.direction_tables(results)
    setting = next(s for s in _fake_settings(None, [3]) if s[0] == "uci (fou,zer)->(kar,mor)")
    _, seed, A_tr, B_tr, y_tr, A_te, B_te, y_te = setting
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        model = study_compute._make_model(args, seed, consensus=0.0).fit(A_tr, B_tr, y_tr)
    fa, fb = model.decision_function(A_te, "a"), model.decision_function(B_te, "b")
    for table, (q, d) in ((fwd, (fa, fb)), (rev, (fb, fa))):
        qn = q / np.linalg.norm(q, axis=1, keepdims=True)
        dn = d / np.linalg.norm(d, axis=1, keepdims=True)
        order = np.argsort(-(qn @ dn.T), axis=1, kind="stable")  # continuous scores: no ties
        rel = y_te[order] == y_te[:, None]
        row = next(r for r in table.rows if r["data"] == setting[0])
        assert row["map"] == pytest.approx(np.mean([_average_precision(r) for r in rel]),
                                           rel=1e-12)
        for k in study.DIRECTION_K:
            assert row[f"p{k}"] == pytest.approx(rel[:, :k].mean(), rel=1e-12)


def test_mixing_paths_at_the_collapse_lambda(monkeypatch):
    """compute_mixing_paths on the collapse case: mu = 0 at 0/1, mu = 1 inside."""
    def settings(data, seeds, wikipedia_seed=0):
        a, b, y = _views(COLLAPSE_CASE["seed"])
        yield ("uci (fou,zer)->(kar,mor)", seeds[0], a, b, y, a, b, y)

    monkeypatch.setattr(study_compute, "_settings", settings)
    args = _Args()
    args.regularization = args.collapse_regularization = COLLAPSE_CASE["regularization"]
    paths = study.compute_mixing_paths(args, seed=COLLAPSE_CASE["seed"])
    assert [(p["regularization"], p["consensus"]) for p in paths] == [(0.05, 0.0), (0.05, 1.0)]
    talk, consensus = (p["alpha_path"][-1] for p in paths)
    assert np.all(np.minimum(talk, 1 - talk) <= 1e-6)
    assert np.all((consensus > 1e-3) & (consensus < 1 - 1e-3))
    summary, _ = study.mixing_tables(paths)
    assert [r["collapsed"] for r in summary.rows] == [4, 0]
