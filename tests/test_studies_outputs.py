"""What every study writes, and that it runs without the optional extras (issue 15).

Each study, at its smallest, writes its tables as CSV and JSON into ``--out``
(with its figures and the exact command) and nothing anywhere else; without
matplotlib it still runs to the end and says so in one line. The data sets
are tiny stand-ins laid out as the shared data folder is (one subfolder per
data set), so the tests need no download and stay fast.
"""
import csv
import json
import os
import subprocess
import sys
import textwrap

import numpy as np
import pytest

from statoptim._optional import Progress, installed, missing, optional_import
from statoptim.cli import main
from statoptim.studies import STUDIES
from statoptim.studies._registry import find_dataset

SKIP_LINE = 'figures skipped: matplotlib is not installed (pip install "statoptim[plot]")'


# --------------------------------------------------------------------- tiny data


def _write_tiny_data(root):
    """Tiny data sets in the shared-data layout: Wikipedia, UCI and lung200 stand-ins."""
    from scipy.io import savemat

    rng = np.random.default_rng(0)
    n_classes = 10

    def blobs(labels, dim, scale=1.0):
        centres = rng.standard_normal((n_classes, dim)) * 3
        return centres[labels] + scale * rng.standard_normal((labels.size, dim))

    wiki = root / "wikipedia_rasiwasia2010"
    wiki.mkdir(parents=True)
    y_tr, y_te = np.repeat(np.arange(n_classes), 10), np.repeat(np.arange(n_classes), 10)
    savemat(wiki / "raw_features.mat",
            {"I_tr": np.abs(blobs(y_tr, 12)), "T_tr": np.abs(blobs(y_tr, 5)),
             "I_te": np.abs(blobs(y_te, 12)), "T_te": np.abs(blobs(y_te, 5))})
    for name, labels in (("trainset_txt_img_cat.list", y_tr), ("testset_txt_img_cat.list", y_te)):
        (wiki / name).write_text("".join(f"txt{i}\timg{i}\t{c + 1}\n"
                                         for i, c in enumerate(labels)))

    uci = root / "uci_multifeature"
    uci.mkdir()
    y = np.repeat(np.arange(n_classes), 20)  # 100 test items: P@100
    for view, dim in (("fou", 6), ("fac", 5), ("kar", 6), ("pix", 7), ("zer", 5), ("mor", 4)):
        X = blobs(y, dim)
        lines = [",".join(map(str, range(dim + 1)))]
        lines += [",".join(f"{v:.6g}" for v in row) + f",{c}" for row, c in zip(X, y)]
        (uci / f"mfeat-{view}.csv").write_text("\n".join(lines) + "\n")

    lung = root / "lung200"
    lung.mkdir()
    types = ["Carcinoid", "Colon", "Normal", "SmallCell"]
    labels = [t for t in types for _ in range(4)]
    n_genes = 40
    signal = np.zeros((n_genes, len(labels)))
    for k, t in enumerate(types):  # a block of genes up in each tumour type
        signal[10 * k:10 * k + 10, [j for j, lab in enumerate(labels) if lab == t]] = 4.0
    X = signal + rng.standard_normal(signal.shape)
    X -= X.mean(axis=1, keepdims=True)
    lines = ["probe," + ",".join(labels)]
    lines += [f"g{i}," + ",".join(f"{v:.6g}" for v in row) for i, row in enumerate(X)]
    (lung / "lung200.csv").write_text("\n".join(lines) + "\n")
    return root


@pytest.fixture(scope="module")
def tiny_data(tmp_path_factory):
    return str(_write_tiny_data(tmp_path_factory.mktemp("data")))


# Each study at its smallest; {data} is the tiny data folder.
TINY = {
    "quantile-solver": ["--n", "60", "--lp-max-n", "100"],
    "quantile": ["--n", "50", "--timing-n", "60", "--repeats", "1"],
    "optimizers": ["--epochs", "1"],
    "ssvd": ["--repeats", "1", "--no-sparsepca", "--data", "{data}"],
    "multiview": ["--data", "{data}", "--no-inner-cv", "--rank", "2"],
    "inference": ["--n", "60", "--quantiles", "0.5", "--methods", "iid", "nid",
                  "--designs", "iid"],
}
COMMON = ["--replications", "1", "--jobs", "1", "--no-progress"]

# table name -> (columns that must be there, number of rows or None)
TABLES = {
    "quantile-solver": {"quantile_solver": (["n", "q", "theta1", "objective", "lp_objective",
                                             "rel_gap", "mm_ms", "status"], 3)},
    "quantile": {
        "quantile_bias_mse_design_a": (["coef", "censoring", "missing", "q", "bias", "mse",
                                        "talk_bias", "talk_mse", "replications"], 18),
        "quantile_bias_mse_design_b": (["coef", "q", "bias", "mse", "oracle_bias"], 18),
        "quantile_bias_mse_design_c": (["coef", "q", "truth", "marginal_bias", "marginal_mse",
                                        "conditional_bias", "conditional_mse",
                                        "peng_huang_bias", "peng_huang_mse",
                                        "marginal_warned", "replications"], 6),
        "quantile_time_per_fit": (["n", "here_ms", "talk_s", "talk_over_here"], 1),
        "quantile_talk_mm_design_a": ([], 9),
        "quantile_talk_mm_design_b": ([], 9),
        "quantile_time_in_study": ([], None),
    },
    "optimizers": {
        "optimizers_sim_p19_n1000": (["quantity", "source", "sgd", "momentum", "rmsprop",
                                      "adam", "newton"], None),
        "optimizers_sim_p99_n480_decay": (["quantity", "source", "adam"], None),
        "optimizers_separation": (["n_train", "p", "separable", "replications"], 2),
        "optimizers_digits_0v6": (["quantity", "source", "newton"], None),
        "optimizers_digits_0v6_unpenalized": ([], None),
        "optimizers_toy_regression": ([], None),
        "optimizers_adam_miss": (["method", "x_tail", "at_optimum", "switch_step"], 9),
        "optimizers_swats": (["problem", "method", "switch_epoch", "lbfgs_iterations", "gap",
                              "test_error_pct"], 12),  # 3 problems x 4 methods
    },
    "ssvd": {
        "ssvd_rank_one": (["method", "source", "data_sets", "median_s", "loss_u", "loss_v"],
                          4),
        "ssvd_lung_sized": (["method", "median_s", "nnz_rows_u", "relerr"], 6),
        "ssvd_lung200": (["method", "seconds", "rows_kept", "d1", "ari_kmeans4_v"], 2),
        "ssvd_thresholds": ([], None),
    },
    "inference": {
        "inference_coverage": (["method", "design", "errors", "n", "q", "coef", "coverage",
                                "mcse"], 4),  # 2 methods x 2 coefficients
    },
    "multiview": {
        "multiview_retrieval": (["data", "method", "map_ab", "map_ba", "p10_ab", "fit_s"],
                                3 * 14),  # 7 TM rows, 5 + 2 baselines
        "multiview_targets": (["data", "method", "target_ab", "map_ab", "met"], 12),
        "multiview_published_wikipedia": (["method", "i_to_t", "t_to_i", "source"], 10),
        "multiview_nus_wide_talk": (["method", "i_to_t_map", "t_to_i_precision"], 3),
        "multiview_precision_recall": (["data", "method", "direction", "recall",
                                        "precision"], None),
        "multiview_image_to_text": ([], None),
        "multiview_text_to_image": ([], None),
        "multiview_mixing": ([], None),
        "multiview_mixing_path": ([], None),
    },
}
FIGURES = {
    "quantile-solver": [],
    "quantile": ["quantile_theta1_boxplot.png"],
    "optimizers": ["optimizers_gap_vs_time.png", "optimizers_paths_2d.png",
                   "optimizers_adam_miss.png"],
    "ssvd": ["ssvd_lung200_right_vectors.png", "ssvd_lung200_reconstruction.png",
             "ssvd_thresholds_accuracy_vs_time.png"],
    "multiview": ["multiview_precision_recall.png", "multiview_mixing.png"],
    "inference": ["inference_coverage.png"],
}


def _argv(study, out, data):
    return ["reproduce", study, *[a.format(data=data) for a in TINY[study]], *COMMON,
            "--out", str(out)]


def test_every_study_is_covered():
    assert set(TINY) == set(STUDIES) == set(TABLES) == set(FIGURES)


# The tiny stand-in of lung200 is nearly noise: FIT-SSVD rightly warns that its
# components are weak (issue 19); the study passes such warnings on to the user.
@pytest.mark.filterwarnings("ignore::statoptim.ssvd.WeakComponentWarning")
@pytest.mark.filterwarnings("ignore:a whole component was thresholded to zero:UserWarning")
@pytest.mark.parametrize("study", sorted(TINY))
def test_a_study_writes_its_tables_into_out_and_nothing_elsewhere(study, tiny_data, tmp_path,
                                                                  monkeypatch, capsys):
    cwd = tmp_path / "cwd"
    cwd.mkdir()
    monkeypatch.chdir(cwd)
    monkeypatch.delenv("STATOPTIM_DATA", raising=False)
    out = tmp_path / "out"
    argv = _argv(study, out, tiny_data)
    assert main(argv) == 0, capsys.readouterr().err
    printed = capsys.readouterr().out
    assert os.listdir(cwd) == []  # nothing written outside --out
    for name, (columns, n_rows) in TABLES[study].items():
        with open(out / f"{name}.csv", newline="", encoding="utf-8") as f:
            rows = list(csv.DictReader(f))
        with open(out / f"{name}.json", encoding="utf-8") as f:
            document = json.load(f)
        assert document["study"] == study and document["table"] == name
        assert list(rows[0]) == document["columns"]
        assert set(columns) <= set(document["columns"]), (name, document["columns"])
        assert len(rows) == len(document["rows"]) > 0
        if n_rows is not None:
            assert len(rows) == n_rows, name
        for row, record in zip(rows, document["rows"]):
            assert list(record) == document["columns"]
            for key in columns:  # the CSV cell is the JSON value, as text
                value = record[key]
                assert row[key] == ("" if value is None else str(value)), (name, key)
        if document["title"].strip():
            assert document["title"].strip().splitlines()[0] in printed
    if installed("matplotlib"):
        for name in FIGURES[study]:
            assert (out / name).stat().st_size > 5_000, name
    command = (out / "command.txt").read_text().splitlines()
    assert command[-1].split() == ["statoptim", *argv]
    assert f"Written to {out}" in printed


def test_tables_hold_numbers_not_text(tiny_data, tmp_path, capsys):
    out = tmp_path / "out"
    assert main(_argv("quantile", out, tiny_data)) == 0
    document = json.loads((out / "quantile_bias_mse_design_b.json").read_text())
    row = document["rows"][0]
    assert isinstance(row["bias"], float) and isinstance(row["replications"], int)
    assert row["talk_bias"] == -0.2486 and row["cell"] == "C25 M30"
    assert document["headers"]["talk_bias"] == "talk bias"
    timing = json.loads((out / "quantile_time_per_fit.json").read_text())["rows"][0]
    assert timing["talk_s"] is None and timing["talk_over_here"] is None  # n = 60: no talk


NO_EXTRAS = """
    import contextlib, importlib.abc, io, json, os, sys

    class NoExtras(importlib.abc.MetaPathFinder):
        # as after `pip install .`: none of the optional packages can be imported

        def find_spec(self, name, path=None, target=None):
            if name.split(".")[0] in ("matplotlib", "tqdm", "pandas", "dask", "distributed"):
                raise ModuleNotFoundError(f"No module named {{name!r}}", name=name)

    sys.meta_path.insert(0, NoExtras())
    from statoptim.cli import main

    results = {{}}
    for study, argv in json.loads({runs!r}).items():
        err = io.StringIO()
        with contextlib.redirect_stderr(err), contextlib.redirect_stdout(io.StringIO()):
            code = main(argv)
        out = argv[argv.index("--out") + 1]
        results[study] = {{"code": code, "stderr": err.getvalue(),
                          "files": sorted(os.listdir(out))}}
    print(json.dumps(results))
"""


def test_every_study_runs_without_the_extras(tiny_data, tmp_path):
    """matplotlib, tqdm, pandas and Dask blocked: each study runs to the end,
    writes its tables, and says in one line that its figures are skipped."""
    runs = {study: _argv(study, tmp_path / study, tiny_data) for study in TINY}
    code = textwrap.dedent(NO_EXTRAS.format(runs=json.dumps(runs)))
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          timeout=240, cwd=tmp_path, check=False)
    assert proc.returncode == 0, proc.stderr
    results = json.loads(proc.stdout)
    for study, result in results.items():
        err = result["stderr"]
        assert result["code"] == 0, (study, err)
        assert "Traceback" not in err and "ModuleNotFoundError" not in err, (study, err)
        skip_lines = [line for line in err.splitlines() if "matplotlib" in line]
        if FIGURES[study]:
            assert skip_lines == [f"statoptim reproduce {study}: {SKIP_LINE}"], (study, err)
        else:
            assert skip_lines == [], (study, err)
        assert not [f for f in result["files"] if f.endswith(".png")]
        assert {f"{name}.csv" for name in TABLES[study]} <= set(result["files"])
        assert {f"{name}.json" for name in TABLES[study]} <= set(result["files"])


def test_a_figure_without_out_is_not_drawn_and_the_run_says_how(tmp_path, monkeypatch,
                                                                  capsys):
    monkeypatch.chdir(tmp_path)
    argv = ["reproduce", "quantile", "--n", "50", "--timing-n", *COMMON]
    assert main(argv) == 0
    err = capsys.readouterr().err
    assert os.listdir(tmp_path) == []
    assert err.splitlines()[-1] == ("statoptim reproduce quantile: nothing written: pass --out "
                                    "DIR to keep the tables and figures (CSV, JSON, PNG) and "
                                    "the command")


# ------------------------------------------------------------ the shared helpers


def test_find_dataset_looks_in_data_then_the_default_places(tmp_path, monkeypatch):
    root = tmp_path / "somewhere"
    (root / "uci_multifeature").mkdir(parents=True)
    (root / "uci_multifeature" / "mfeat-fou.csv").write_text("x")
    files = ["mfeat-fou.csv"]
    assert find_dataset(str(root), "uci_multifeature", files) == str(root / "uci_multifeature")
    with pytest.raises(ValueError, match=r"argument --data: .*mfeat-fou.csv' not found; pass "
                                         r"--data DIR.*fetch_uci_multifeature\(\)"):
        find_dataset(str(tmp_path), "uci_multifeature", files)
    cwd = tmp_path / "cwd"
    cwd.mkdir()
    monkeypatch.chdir(cwd)
    monkeypatch.delenv("STATOPTIM_DATA", raising=False)
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))  # an empty per-user cache
    assert find_dataset(None, "uci_multifeature", files, required=False) is None
    with pytest.raises(ValueError, match=r"argument --data: the data set uci_multifeature/ was "
                                         r"found neither in \$STATOPTIM_DATA \(not set\), the "
                                         r"cache .*cache/statoptim"):
        find_dataset(None, "uci_multifeature", files)
    monkeypatch.setenv("STATOPTIM_DATA", str(root))
    assert find_dataset(None, "uci_multifeature", files) == os.path.join(
        str(root), "uci_multifeature")
    monkeypatch.delenv("STATOPTIM_DATA")
    os.makedirs(tmp_path / "cache")
    os.rename(root, tmp_path / "cache" / "statoptim")  # the cache of the fetchers
    assert find_dataset(None, "uci_multifeature", files) == os.path.join(
        str(tmp_path / "cache" / "statoptim"), "uci_multifeature")
    (tmp_path / "shared").mkdir()
    os.rename(tmp_path / "cache" / "statoptim", tmp_path / "shared" / "data")
    # ../shared/data, the development fallback beside a checkout
    assert find_dataset(None, "uci_multifeature", files) == os.path.join(
        "../shared/data", "uci_multifeature")
    # lung200 ships inside the package: found with nothing else around
    from statoptim.datasets._fetch import packaged_data_home
    assert find_dataset(None, "lung200", ["lung200.csv"]) == os.path.join(
        packaged_data_home(), "lung200")


def test_optional_imports_and_the_one_line_note(monkeypatch):
    monkeypatch.setitem(sys.modules, "matplotlib", None)
    assert not installed("matplotlib") and optional_import("matplotlib") is None
    assert installed("numpy") and optional_import("numpy") is np
    assert missing("matplotlib", "figures skipped") == SKIP_LINE
    assert missing("distributed.client", "Dask skipped") == (
        'Dask skipped: distributed is not installed (pip install "statoptim[dask]")')


def test_plain_progress_without_tqdm(monkeypatch, capsys):
    monkeypatch.setitem(sys.modules, "tqdm", None)
    monkeypatch.setitem(sys.modules, "tqdm.auto", None)
    with Progress(3, "demo", unit="fit", interval=3600) as bar:
        assert list(bar.iterate("abc")) == ["a", "b", "c"]
    lines = capsys.readouterr().err.splitlines()
    # the start and the end; nothing in between within the interval
    assert len(lines) == 2
    assert lines[0].startswith("demo: 0/3 fits (0%)") and lines[1].startswith("demo: 3/3 fits")
    with Progress(3, "quiet", enabled=False) as bar:
        bar.update(3)
    assert bar.n == 3 and capsys.readouterr().err == ""
