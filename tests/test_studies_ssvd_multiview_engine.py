"""``reproduce ssvd`` and ``reproduce multiview`` on the study engine (issue 14, part 4).

Both studies keep every finished task in the results folder of ``--out``: a run
cut short by Ctrl-C resumes where it stopped, computing only what is missing; a
rerun of a complete folder computes nothing and prints the same tables; and
``--jobs 2`` (two worker processes) gives the same numbers as one process.
"""
import json

import numpy as np
import pytest
from test_studies_outputs import _write_tiny_data

from statoptim.cli import main
from statoptim.studies import multiview, multiview_compute, ssvd

# Columns that measure time on this machine: they differ from run to run.
TIME_COLUMNS = {"median_s", "seconds", "median_ms", "fit_s", "selection_s", "slowest_fit_s"}

SSVD = ["--repeats", "1", "--no-sparsepca", "--replications", "1",
        "--threshold-replications", "2", "--no-figures", "--no-progress"]
MULTIVIEW = ["--no-inner-cv", "--rank", "2", "--replications", "2", "--no-figures",
             "--no-progress"]


@pytest.fixture(scope="module")
def tiny_data(tmp_path_factory):
    return str(_write_tiny_data(tmp_path_factory.mktemp("data")))


def _argv(study, out, data, *extra):
    options = SSVD if study == "ssvd" else MULTIVIEW
    return ["reproduce", study, *options, "--data", data, "--out", str(out), *extra]


def _tables(out, skip_time=False):
    """{table name: rows} of every JSON table in ``out`` (time columns dropped if asked)."""
    tables = {}
    for path in sorted(out.glob("*.json")):
        if path.name == "manifest.json":
            continue
        rows = json.loads(path.read_text())["rows"]
        if skip_time:
            rows = [{k: v for k, v in row.items() if k not in TIME_COLUMNS} for row in rows]
        tables[path.stem] = rows
    return tables


def _stored(out):
    return sorted(p.name for p in (out / "chunks").glob("*.npz"))


class _Counting:
    """Stands in for a study's task: counts the calls, and raises Ctrl-C at call ``stop``."""

    def __init__(self, task, stop=None):
        self.task, self.stop, self.calls = task, stop, 0

    def __call__(self, setting, rng, **kwargs):
        self.calls += 1
        if self.calls == self.stop:
            raise KeyboardInterrupt
        return self.task(setting, rng, **kwargs)


def _interrupt_then_resume(module, study, tiny_data, tmp_path, monkeypatch, capsys,
                           resume_jobs=1):
    """Ctrl-C at the third task, resume on ``resume_jobs`` processes, rerun again.

    Returns (out, number of tasks).
    """
    task_name = "fit_task" if study == "ssvd" else "study_task"
    task = getattr(module, task_name)
    out = tmp_path / "out"
    argv = _argv(study, out, tiny_data, "--replications-per-task", "1")

    interrupted = _Counting(task, stop=3)
    monkeypatch.setattr(module, task_name, interrupted)
    assert main(argv + ["--jobs", "1"]) == 130
    err = capsys.readouterr().err
    assert "interrupted; 2 of" in err and "run the same command again to resume" in err
    saved = _stored(out)
    assert len(saved) == 2

    resumed = _Counting(task)  # counts in this process only (--jobs 1)
    monkeypatch.setattr(module, task_name, resumed)
    assert main(argv + ["--jobs", str(resume_jobs)]) == 0
    capsys.readouterr()
    n_tasks = len(_stored(out))
    assert set(saved) < set(_stored(out))          # the saved chunks are kept as they are
    if resume_jobs == 1:
        assert resumed.calls == n_tasks - 2        # only the missing tasks ran
    first = _tables(out)
    argv += ["--jobs", "1"]

    def must_not_run(setting, rng, **kwargs):
        raise AssertionError(f"recomputed {setting}")

    monkeypatch.setattr(module, task_name, must_not_run)
    assert main(argv) == 0
    assert len(_stored(out)) == n_tasks
    again = _tables(out)
    if study == "ssvd":  # part (c), one fit of the real data, is timed afresh in process
        first.pop("ssvd_lung200"), again.pop("ssvd_lung200")
    assert again == first                          # the stored results, times included
    return out, n_tasks


@pytest.mark.filterwarnings("ignore::statoptim.ssvd.WeakComponentWarning")
@pytest.mark.filterwarnings("ignore:a whole component was thresholded to zero:UserWarning")
def test_ssvd_resumes_from_its_results_folder_on_two_jobs(tiny_data, tmp_path, monkeypatch,
                                                           capsys):
    """Interrupted on one process, resumed on two: the numbers of the in-process fits."""
    from statoptim.datasets import make_rank_one_ssvd
    from statoptim.studies import ssvd_thresholds as th

    out, n_tasks = _interrupt_then_resume(ssvd, "ssvd", tiny_data, tmp_path, monkeypatch,
                                          capsys, resume_jobs=2)
    # (a), (b): three methods on one data set each; thresholds: 2 + 1 data sets
    assert n_tasks == 2 * 3 + 3
    rows = [r for r in _tables(out, skip_time=True)["ssvd_thresholds"]
            if r["setting"] == "rank_one"]
    settings = [th.Setting("rank_one", "(a)", make_rank_one_ssvd, 1, 2)]
    direct = th.tabulate_thresholds(th.compute_thresholds(settings, seed=0), settings)
    assert rows == [{k: v for k, v in r.items() if k not in TIME_COLUMNS}
                    for r in direct.rows if r["setting"] == "rank_one"]


def test_multiview_resumes_from_its_results_folder(tiny_data, tmp_path, monkeypatch, capsys):
    out, n_tasks = _interrupt_then_resume(multiview_compute, "multiview", tiny_data, tmp_path,
                                          monkeypatch, capsys)
    # Wikipedia + 2 x 2 UCI splits, and 2 data sets x 2 lambdas x 2 mu of the mixing study
    assert n_tasks == 1 + 2 * 2 + 8
    assert {r["splits"] for r in _tables(out)["multiview_retrieval"]} == {1, 2}


def test_multiview_on_two_jobs_gives_the_numbers_of_one(tiny_data, tmp_path, capsys):
    one, two = tmp_path / "one", tmp_path / "two"
    assert main(_argv("multiview", one, tiny_data, "--jobs", "1")) == 0
    assert main(_argv("multiview", two, tiny_data, "--jobs", "2")) == 0
    capsys.readouterr()
    assert len(_stored(two)) > 0
    assert _tables(two, skip_time=True) == _tables(one, skip_time=True)


def test_summarize_only_rebuilds_the_tables_without_computing(tiny_data, tmp_path,
                                                              monkeypatch, capsys):
    out = tmp_path / "out"
    assert main(_argv("multiview", out, tiny_data, "--jobs", "1")) == 0
    first = _tables(out)
    def must_not_run(setting, rng, **kwargs):
        raise AssertionError(f"computed {setting}")

    monkeypatch.setattr(multiview_compute, "study_task", must_not_run)
    assert main(_argv("multiview", out, tiny_data, "--summarize-only")) == 0
    assert "nothing is computed" in capsys.readouterr().err
    assert _tables(out) == first


def test_the_engine_s_tasks_are_the_in_process_fits(monkeypatch):
    """study_task on one split gives what compute_retrieval gives (same seeds, same fits)."""
    import test_studies_multiview as fake

    monkeypatch.setattr(multiview_compute, "_settings", fake._fake_settings)
    args = fake._Args()
    models = {name: spec for name, spec in multiview.model_specs(args).items()
              if "softmax" not in name}
    methods = list(models) + ["CCA", "SM relevance"]
    direct = multiview.compute_retrieval(args, [4], models, methods)
    setting = {"task": "retrieval", "data": "uci fou->pix", "split": 4, "methods": methods,
               "options": multiview_compute._options(args)}
    record = {**setting, **multiview.study_task(setting, None)}
    engine = multiview.retrieval_results([record])
    for method in methods:
        (a,), (b,) = direct[("uci fou->pix", method)], engine[("uci fou->pix", method)]
        assert set(a) == set(b)
        for key in a:
            if key != "fit_s":
                np.testing.assert_array_equal(a[key], b[key], err_msg=f"{method} {key}")


def test_ssvd_task_is_the_threshold_study_s_fit():
    """fit_task on one threshold data set equals ssvd_thresholds.compute_thresholds."""
    from statoptim.datasets import make_rank_one_ssvd
    from statoptim.studies import ssvd_thresholds as th

    settings = [th.Setting("rank_one", "(a)", make_rank_one_ssvd, 1, 2)]
    direct = th.compute_thresholds(settings, seed=5)["rank_one"]
    rows = [ssvd.fit_task({"part": "thresholds", "design": "rank_one", "data_set": 5 + i,
                           "repeats": 1}, None) for i in range(2)]
    engine = th.collect(rows)
    for config, metrics in direct.items():
        for m, values in metrics.items():
            if m != "seconds":
                np.testing.assert_array_equal(values, engine[config][m], err_msg=f"{config} {m}")
