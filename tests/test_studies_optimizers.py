"""`statoptim reproduce optimizers`: the talk's toy figures, the 'Adam may miss the
optimum' experiment (with SWATS), the SWATS table, MNIST without a penalty and the
printed explanations."""
import argparse
import gzip
import json
import struct

import numpy as np
import pytest

from statoptim._optional import installed
from statoptim.cli import main
from statoptim.studies import optimizers as study
from statoptim.studies import optimizers_swats as swats
from statoptim.studies import optimizers_toy as toy


def test_toy_paths_reach_the_known_least_squares_optimum():
    """The talk's four toy figures: 600 full-batch iterations of each method end at
    the closed-form optimum (SGD and CM to rounding, RMSprop and Adam within their
    oscillation of about one step)."""
    result = toy.toy_paths(seed=0)
    Z, y, optimum = result["Z"], result["y"], result["optimum"]
    assert np.abs(Z.T @ (y - Z @ optimum)).max() < 1e-10  # the normal equations hold
    assert set(result["paths"]) == {"SGD", "CM", "RMSprop", "Adam"}
    for label, path in result["paths"].items():
        assert path.shape == (toy.TOY_ITERATIONS + 1, 2)
        assert np.array_equal(path[0], toy.TOY_START)
        start = np.linalg.norm(path[0] - optimum)
        assert np.linalg.norm(path[-1] - optimum) <= toy.TOY_TOLERANCE < start / 100, label
    for label in ("SGD", "CM"):
        assert np.linalg.norm(result["paths"][label][-1] - optimum) < 1e-10
    table = toy.toy_table(result)
    assert [r["method"] for r in table.rows] == ["SGD", "CM", "RMSprop", "Adam"]
    assert all(r["reached"] and r["gap"] >= -1e-12 for r in table.rows)


def test_toy_table_says_when_the_optimum_is_not_reached():
    result = toy.toy_paths(seed=0, iterations=5)
    assert not any(r["reached"] for r in toy.toy_table(result).rows)


def test_adam_misses_the_optimum_amsgrad_and_sgd_do_not():
    """Reddi, Kale & Kumar's Theorem 1 problem: the optimum is x = -1 (positive
    mean gradient), Adam settles at +1 (the worst point), AMSGrad and SGD at -1."""
    setting = toy.MISS_SETTINGS["Theorem 1"]
    period = setting["period"]
    assert setting["C"] - (period - 1) * setting["small"] > 0  # mean gradient > 0
    runs = toy.adam_miss(steps=50)
    assert list(runs) == ["Theorem 1", "Section 5"]
    assert {k: len(v.x) for k, v in runs["Section 5"].items()} == {
        "Adam": 50, "AMSGrad": 50, "SWATS": 50, "SWATS eps=0.001": 50}
    theorem = runs["Theorem 1"]
    assert theorem["Adam"].x[-150:].min() > 0.9
    assert theorem["AMSGrad"].x[-150:].max() < -0.9 and theorem["SGD"].x[-150:].max() < -0.9
    rows = {(r["setting"], r["method"]): r for r in toy.adam_miss_table(runs).rows}
    assert len(rows) == 9
    assert not rows["Theorem 1", "Adam"]["at_optimum"]
    assert rows["Theorem 1", "AMSGrad"]["at_optimum"] and rows["Theorem 1", "SGD"]["at_optimum"]
    # regret against x* = -1: zero at x* itself, positive for Adam's fixed point
    assert toy._regret(setting, -np.ones(300)) == 0.0
    assert rows["Theorem 1", "Adam"]["regret"] > 0.5 > rows["Theorem 1", "SGD"]["regret"]


def test_swats_in_the_miss_experiment_as_measured():
    """SWATS at the paper's eps = 1e-9 never switches on Reddi et al.'s problem, so it
    is Adam step for step and shares Adam's wrong fixed point +1; at eps = 1e-3 it
    switches to SGD at once (Theorem 1: step 2) and escapes to the optimum -1."""
    runs = toy.adam_miss(steps=400)
    table = {(r["setting"], r["method"]): r for r in toy.adam_miss_table(runs).rows}
    for name in ("Theorem 1", "Section 5"):
        paper = runs[name]["SWATS"]
        assert paper.switch_step is None and table[name, "SWATS"]["switch_step"] is None
        np.testing.assert_array_equal(paper.x, runs[name]["Adam"].x)  # Adam until a switch
        assert table[name, "SWATS"]["at_optimum"] is False
        assert table[name, "Adam"]["switch_step"] is None  # not a SWATS row
    loose = runs["Theorem 1"]["SWATS eps=0.001"]
    assert loose.switch_step == 2
    assert loose.x[-150:].max() < -0.9 and table["Theorem 1", "SWATS eps=0.001"]["at_optimum"]
    # Section 5: the switch happens, and the SGD phase moves x below 0, towards -1
    sec5 = runs["Section 5"]["SWATS eps=0.001"]
    assert sec5.switch_step is not None and sec5.x[-1] < 0.0
    note = toy.adam_miss_table(runs).note
    assert "Theorem 1, eps = 1e-9, the paper's: never switched" in note
    assert "Theorem 1, eps = 0.001: switched to SGD at step 2" in note


def _swats_problem(seed=0, n=400, p=5, alpha=0.0, epochs=15):
    from statoptim.datasets import make_logistic

    X, y, _, Xte, yte = make_logistic(n, p, n_test=100, random_state=seed)
    return {"problem": f"toy p = {p}", "X": X, "y": y, "X_test": Xte, "y_test": yte,
            "alpha": alpha, "learning_rate": 0.01, "batch_size": 32, "epochs": epochs}


def test_swats_table_shape_and_properties():
    """One row per problem and method: Adam; Adam finished by L-BFGS at the Newton
    optimum; SWATS at the paper's eps (no switch: exactly the Adam row) and at a loose
    eps (a switch epoch and the SGD step Lambda reported)."""
    problems = [_swats_problem(), _swats_problem(1, p=9, alpha=1e-3)]
    records = swats.swats_runs(problems, seed=0)
    table = swats.swats_table(records)
    assert table.name == "optimizers_swats"
    assert table.keys == ["problem", "method", "epochs", "switch_epoch", "switch_learning_rate",
                          "lbfgs_iterations", "time_s", "gap", "train_error_pct",
                          "test_error_pct"]
    methods = ["Adam", "Adam, then L-BFGS", "SWATS, eps = 1e-09", "SWATS, eps = 0.001"]
    assert [(r["problem"], r["method"]) for r in table.rows] == [
        (pr["problem"], m) for pr in problems for m in methods]
    for k in range(len(problems)):
        adam, finish, paper, loose = table.rows[4 * k: 4 * k + 4]
        assert finish["gap"] < 1e-9 and finish["lbfgs_iterations"] >= 1  # F* reached
        assert adam["gap"] > 1e3 * max(finish["gap"], 1e-15)  # constant-step Adam is not there
        assert paper["switch_epoch"] is None
        # minimize("swats") without a switch runs the compiled Adam's exact path
        assert paper["gap"] == pytest.approx(adam["gap"], rel=1e-8)
        assert paper["train_error_pct"] == adam["train_error_pct"]
        assert loose["switch_epoch"] is not None and 1 <= loose["switch_epoch"] <= 15
        assert loose["switch_learning_rate"] > 0
        assert all(r["time_s"] >= 0 and 0 <= r["test_error_pct"] <= 100 for r in (
            adam, finish, paper, loose))
    text = table.text()
    assert "never" in text and "SWATS" in text and "L-BFGS" in text
    assert "eps = 1e-09 (the paper's): never switched" in table.note


def _write_idx(path, array):
    header = struct.pack(">HBB", 0, 8, array.ndim) + b"".join(
        struct.pack(">I", d) for d in array.shape)
    with gzip.open(path, "wb") as f:
        f.write(header + array.astype(np.uint8).tobytes())


def _tiny_mnist(folder, rng):
    """Separable stand-ins: zeros bright on the left of the middle row, sixes on its
    right, and some 1s. Only that row varies (28 of 784 columns, fewer than the rows):
    the other columns are constant and dropped at alpha = 0, which keeps Newton fast."""
    for split, n in (("train", 90), ("t10k", 20)):
        labels = rng.choice([0, 6, 1], size=n)
        images = np.zeros((n, 28, 28), dtype=np.int64)
        images[:, 14] = rng.integers(0, 40, size=(n, 28))
        images[labels == 0, 14, :14] += 200
        images[labels == 6, 14, 14:] += 200
        _write_idx(folder / f"{split}-images-idx3-ubyte.gz", images)
        _write_idx(folder / f"{split}-labels-idx1-ubyte.gz", labels)


def test_mnist_without_a_penalty_shows_the_separation_warning(tmp_path):
    """The talk's "NA": N-R at alpha = 0 on separable MNIST warns and is shown beside
    the ridge alpha = 1/n (no warning) and the talk's 203.9 s."""
    _tiny_mnist(tmp_path, np.random.default_rng(0))
    args = argparse.Namespace(mnist=str(tmp_path), data=None, epochs=1, seed=0)
    X, y, Xte, yte, data = study._real_data(args)  # through load_mnist and mnist_binary
    assert X.shape[1] == 784 and set(np.unique(y)) == {0, 1}
    assert data["table"] == "optimizers_mnist_0v6"
    # the ridge N-R fit that real_data_tables passes on (the stochastic fits skipped here)
    ridge = study._fit_all(X, y, Xte, yte, None, 1.0 / len(y), epochs=1, batch_size=1,
                           seed=0, steps={}, methods=())["newton"]
    unpenalized = study._unpenalized_table(data, X, y, Xte, yte, ridge)
    assert unpenalized.name == "optimizers_mnist_0v6_unpenalized"
    here = [r for r in unpenalized.rows if r["source"] == "here"]
    assert [r["alpha"] for r in here] == [0.0, 1 / len(y)]
    assert [r["warning"] for r in here] == ["SeparationWarning", "none"]
    assert here[0]["coef_max"] > here[1]["coef_max"]
    talk = [r for r in unpenalized.rows if r["source"] == "talk"]
    assert len(talk) == 1 and talk[0]["time_s"] == 203.9
    assert "linearly separable" in unpenalized.note
    assert "MNIST 0 vs 6 without a penalty" in unpenalized.text()


def test_reproduce_writes_the_new_tables_and_explanations(tmp_path, capsys):
    out = tmp_path / "out"
    code = main(["reproduce", "optimizers", "--epochs", "1", "--replications", "1",
                 "--jobs", "1", "--no-progress", "--miss-steps", "50", "--out", str(out)])
    assert code == 0
    printed = capsys.readouterr().out

    def doc(name):
        return json.loads((out / f"{name}.json").read_text())

    toy_rows = doc("optimizers_toy_regression")["rows"]
    assert [r["method"] for r in toy_rows] == ["SGD", "CM", "RMSprop", "Adam"]
    assert all(r["reached"] and r["iterations"] == 600 for r in toy_rows)
    miss = doc("optimizers_adam_miss")["rows"]
    assert [(r["setting"], r["method"]) for r in miss] == [
        ("Theorem 1", "Adam"), ("Theorem 1", "AMSGrad"), ("Theorem 1", "SGD"),
        ("Theorem 1", "SWATS"), ("Theorem 1", "SWATS eps=0.001"),
        ("Section 5", "Adam"), ("Section 5", "AMSGrad"), ("Section 5", "SWATS"),
        ("Section 5", "SWATS eps=0.001")]
    assert miss[0]["at_optimum"] is False and miss[0]["x_tail"] > 0.9
    assert [r["switch_step"] for r in miss if r["method"].startswith("SWATS")][:2] == [None, 2]
    swats = doc("optimizers_swats")
    assert [(r["problem"], r["method"]) for r in swats["rows"]] == [
        (problem, method) for problem in ("sim p = 19", "sim p = 99", "digits 0 vs 6")
        for method in ("Adam", "Adam, then L-BFGS", "SWATS, eps = 1e-09",
                       "SWATS, eps = 0.001")]
    assert all(r["gap"] < 1e-9 for r in swats["rows"] if r["method"] == "Adam, then L-BFGS")
    assert all(r["switch_epoch"] is None for r in swats["rows"]
               if r["method"] == "SWATS, eps = 1e-09")
    assert (out / "optimizers_swats.csv").read_text().startswith("problem,method,epochs,")
    unpen = doc("optimizers_digits_0v6_unpenalized")  # no --mnist: digits, labelled so
    assert [r["warning"] for r in unpen["rows"]] == ["SeparationWarning", "none"]
    assert "NOT MNIST" in unpen["title"]
    # the explanations are printed beside the tables and kept in their notes
    assert "Why the talk's 30% cannot be matched" in doc("optimizers_sim_p19_n1000")["note"]
    assert "Why 480/120" in doc("optimizers_sim_p19_n480")["note"]
    assert "Separability" in doc("optimizers_separation")["note"]
    for phrase in ("Why 480/120", "Why the talk's 30%", "Separability",
                   "Adam may miss the global optimum", "Toy figures", "SWATS (Keskar & Socher",
                   "The L-BFGS finish"):
        assert phrase in printed
    if installed("matplotlib"):
        for name in study.FIGURES:
            assert (out / name).stat().st_size > 10_000, name


@pytest.mark.skipif(not installed("matplotlib"), reason="needs matplotlib")
def test_the_toy_and_miss_figures_are_drawn(tmp_path):
    toy.plot_toy_paths(toy.toy_paths(0, iterations=20), tmp_path / "toy.png")
    toy.plot_adam_miss(toy.adam_miss(steps=30), tmp_path / "miss.png")
    assert (tmp_path / "toy.png").stat().st_size > 10_000
    assert (tmp_path / "miss.png").stat().st_size > 10_000


def test_the_harness_traces_follow_the_public_estimator():
    """statoptim.optim.harness (used by the gap figure and the benchmarks): the traced
    compiled epochs are LogisticRegression's epochs, F* is the Newton optimum, and the
    gaps and first-reaching times are read off the trace."""
    from statoptim import LogisticRegression
    from statoptim.datasets import make_logistic
    from statoptim.optim import harness, logistic_objective

    X, y, _ = make_logistic(300, 4, random_state=3)
    theta_star, F_star = harness.optimum(X, y, 1e-3)
    _, grad, _ = logistic_objective(X, y, theta_star, 1e-3)
    assert np.abs(grad).max() < 1e-10
    trace = harness.trace_stochastic(X, y, 1e-3, "adam", epochs=7, learning_rate=0.05,
                                     batch_size=32, random_state=5)
    est = LogisticRegression("adam", alpha=1e-3, learning_rate=0.05, batch_size=32,
                             stopping=None, max_iter=7, random_state=5).fit(X, y)
    np.testing.assert_allclose(trace[-1][1], np.r_[est.intercept_, est.coef_[0]],
                               rtol=0, atol=1e-12)
    times = [t for t, _ in trace]
    assert len(trace) == 7 and times == sorted(times)
    r = harness.gaps(trace, X, y, 1e-3, F_star)
    assert r.shape == (7,) and np.all(r > -1e-12)
    tol = float(np.sort(r)[3])
    assert harness.first_reaching(trace, r, tol) == trace[int(np.argmax(r <= tol))][0]
    assert harness.first_reaching(trace, r, -1.0) is None
    newton = harness.trace_newton(X, y, 1e-3, tol=1e-20)
    assert harness.gaps(newton, X, y, 1e-3, F_star)[-1] < 1e-14
    runner = harness.epoch_runner(4, "sgd", learning_rate=0.1, batch_size=50)
    runner.run_epoch(X, y.astype(np.float64))
    assert runner.t == 6 and np.all(np.isfinite(runner.coef()))


@pytest.mark.parametrize("name", ["{}.gz", "{}", "{}.raw"])
def test_the_mnist_folder_check_accepts_what_load_mnist_reads(tmp_path, name):
    for stem in study.MNIST_STEMS:
        file = name.format(stem) if name != "{}.raw" else stem.replace("-idx", ".idx")
        (tmp_path / file).write_bytes(b"")
    assert study._missing_mnist_file(tmp_path) is None
    (tmp_path / (name.format(study.MNIST_STEMS[2]) if name != "{}.raw"
                 else study.MNIST_STEMS[2].replace("-idx", ".idx"))).unlink()
    assert study._missing_mnist_file(tmp_path) == study.MNIST_STEMS[2]
