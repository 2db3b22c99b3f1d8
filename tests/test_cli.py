"""The ``statoptim`` command: no traceback, no silent wrong answer (issue 12).

A bad option value or an unusable folder gives one line on stderr and exit
status 2 before anything is computed; a results folder in use by another run
is refused (a lock, tested with real processes); Ctrl-C says what is saved.
"""
import json
import os
import signal
import subprocess
import sys
import tempfile
import textwrap
import time

import pytest
from hypothesis import given
from hypothesis import strategies as st

from statoptim.cli import main
from statoptim.studies import STUDIES, _engine
from statoptim.studies._engine import (
    ResultsFolderLocked,
    load_results,
    run_grid,
)
from statoptim.studies._registry import Study
from statoptim.studies.quantile import _settings as quantile_settings

STATOPTIM = os.path.join(os.path.dirname(sys.executable), "statoptim")
# The quantile study at its smallest, computing nothing but the Monte Carlo grid.
QUANTILE = ["reproduce", "quantile", "--n", "50", "--timing-n", "--no-figures",
            "--no-progress", "--jobs", "1"]


def constant(setting, rng):
    """A replication that costs nothing (module level: it pickles)."""
    return {"value": float(rng.random())}


def assert_usage_error(capsys, argv, *needles):
    """``main(argv)`` exits with 2, prints nothing on stdout and one line on stderr."""
    code = main(argv)
    out, err = capsys.readouterr()
    assert code == 2, err
    assert out == ""  # refused before computing (every study prints a header first)
    assert "Traceback" not in err
    lines = err.splitlines()
    assert len(lines) == 1, err
    assert lines[0].startswith("statoptim") and ": error: " in lines[0]
    for needle in needles:
        assert needle in lines[0]
    return lines[0]


@pytest.fixture
def places(tmp_path):
    """Paths for the argument cases: a file, a foreign folder, a fake data folder."""
    (tmp_path / "file.txt").write_text("not a folder")
    (tmp_path / "foreign").mkdir()
    (tmp_path / "foreign" / "notes.txt").write_text("mine")
    data = tmp_path / "data"
    for sub, names in {
        "wikipedia_rasiwasia2010": ["raw_features.mat", "trainset_txt_img_cat.list",
                                    "testset_txt_img_cat.list"],
        "uci_multifeature": [f"mfeat-{v}.csv" for v in ("fou", "fac", "kar", "pix", "zer",
                                                        "mor")],
        "lung200": ["lung200.csv"],
    }.items():
        (data / sub).mkdir(parents=True)
        for name in names:  # the pre-flight checks only that the files are there
            (data / sub / name).write_text("")
    return {"tmp": str(tmp_path), "file": str(tmp_path / "file.txt"),
            "foreign": str(tmp_path / "foreign"), "data": str(data)}


BAD_ARGUMENTS = [
    # (argv, words the error line must contain)
    ([], ["a command is required"]),
    (["--bogus"], ["unrecognized arguments: --bogus"]),
    (["reproduce"], ["a study is required"]),
    (["reproduce", "nosuch"], ["invalid choice: 'nosuch'"]),
    # quantile-solver
    (["reproduce", "quantile-solver", "--n", "0"], ["argument --n", "got 0"]),
    (["reproduce", "quantile-solver", "--n", "-5"], ["argument --n", "got -5"]),
    (["reproduce", "quantile-solver", "--n", "3"], ["argument --n", ">= 4"]),
    (["reproduce", "quantile-solver", "--n", "abc"], ["argument --n", "'abc'"]),
    (["reproduce", "quantile-solver", "--n"], ["argument --n"]),
    (["reproduce", "quantile-solver", "--quantiles", "1.5"], ["argument --quantiles", "1.5"]),
    (["reproduce", "quantile-solver", "--quantiles", "0"], ["argument --quantiles"]),
    (["reproduce", "quantile-solver", "--quantiles", "nan"], ["argument --quantiles", "nan"]),
    (["reproduce", "quantile-solver", "--lp-max-n", "-1"], ["argument --lp-max-n"]),
    (["reproduce", "quantile-solver", "--repeats", "0"], ["argument --repeats"]),
    (["reproduce", "quantile-solver", "--replications", "0"], ["argument --replications"]),
    (["reproduce", "quantile-solver", "--jobs", "0"], ["argument --jobs"]),
    (["reproduce", "quantile-solver", "--data", "{tmp}/nope"], ["argument --data"]),
    (["reproduce", "quantile-solver", "--out", "{file}"], ["argument --out", "file"]),
    (["reproduce", "quantile-solver", "--seed", "-1"], ["argument --seed"]),
    (["reproduce", "quantile-solver", "--seed", "1.5"], ["argument --seed", "'1.5'"]),
    (["reproduce", "quantile-solver", "--bogus", "1"], ["unrecognized arguments"]),
    # quantile, and the study-runner options every Monte Carlo study shares
    (QUANTILE + ["--n", "10"], ["argument --n", ">= 50"]),
    (QUANTILE + ["--timing-n", "5"], ["argument --timing-n"]),
    (QUANTILE + ["--replications", "0"], ["argument --replications", "got 0"]),
    (QUANTILE + ["--replications", "two"], ["argument --replications", "'two'"]),
    (QUANTILE + ["--jobs", "0"], ["argument --jobs", "got 0"]),
    (QUANTILE + ["--replications-per-task", "0"], ["argument --replications-per-task"]),
    (QUANTILE + ["--seed", "-3"], ["argument --seed"]),
    (QUANTILE + ["--scheduler", "not an address"], ["argument --scheduler"]),
    (QUANTILE + ["--summarize-only"], ["argument --summarize-only", "--out"]),
    (QUANTILE + ["--out", "{file}"], ["argument --out", "file.txt"]),
    (QUANTILE + ["--out", "{file}/sub"], ["argument --out", "is a file"]),
    (QUANTILE + ["--out", "{foreign}"], ["argument --out", "non-empty folder"]),
    (QUANTILE + ["--out", ""], ["argument --out"]),
    (QUANTILE + ["--out", "{tmp}/new", "--summarize-only"], ["argument --out", "no manifest"]),
    (QUANTILE + ["--figure", "{tmp}/box.png"], ["argument --figure", "--out DIR",
                                                "quantile_theta1_boxplot.png"]),
    (QUANTILE + ["--repeats", "0"], ["argument --repeats"]),
    (QUANTILE + ["--data", "{tmp}/nope"], ["argument --data", "does not exist"]),
    # multiview
    (["reproduce", "multiview", "--data", "{tmp}/nope"], ["argument --data", "does not exist"]),
    (["reproduce", "multiview", "--data", "{tmp}"], ["argument --data", "raw_features.mat"]),
    (["reproduce", "multiview", "--data", "{data}", "--figure", "{tmp}/pr.png"],
     ["argument --figure", "--out DIR"]),
    (["reproduce", "multiview", "--data", "{data}", "--out", "{file}"], ["argument --out"]),
    (["reproduce", "multiview", "--data", "{data}", "--replications", "0"],
     ["argument --replications"]),
    (["reproduce", "multiview", "--data", "{data}", "--seeds", "1", "2", "--seed", "3"],
     ["argument --seeds", "not both"]),
    (["reproduce", "multiview", "--rank", "0"], ["argument --rank"]),
    (["reproduce", "multiview", "--regularization", "0"], ["argument --regularization"]),
    (["reproduce", "multiview", "--consensus", "-1"], ["argument --consensus"]),
    (["reproduce", "multiview", "--n-init", "0"], ["argument --n-init"]),
    (["reproduce", "multiview", "--seeds", "-1"], ["argument --seeds"]),
    (["reproduce", "multiview", "--softmax-regularization", "inf"],
     ["argument --softmax-regularization"]),
    (["reproduce", "multiview", "--linear-regularization", "-1"],
     ["argument --linear-regularization"]),
    (["reproduce", "multiview", "--jobs", "0"], ["argument --jobs"]),
    # ssvd
    (["reproduce", "ssvd", "--reps", "0"], ["argument --reps"]),
    (["reproduce", "ssvd", "--replications", "0"], ["argument --replications"]),
    (["reproduce", "ssvd", "--seed", "-1"], ["argument --seed"]),
    (["reproduce", "ssvd", "--repeats", "-1"], ["argument --repeats"]),
    (["reproduce", "ssvd", "--sparsepca-reps", "-1"], ["argument --sparsepca-reps"]),
    (["reproduce", "ssvd", "--data", "{tmp}/nope"], ["argument --data", "does not exist"]),
    (["reproduce", "ssvd", "--data", "{tmp}"], ["argument --data", "lung200"]),
    (["reproduce", "ssvd", "--data", "{data}", "--out", "{file}"], ["argument --out", "file"]),
    # optimizers
    (["reproduce", "optimizers", "--epochs", "0"], ["argument --epochs"]),
    (["reproduce", "optimizers", "--sgd-batch-size", "0"], ["argument --sgd-batch-size"]),
    (["reproduce", "optimizers", "--data", "{tmp}/nope"], ["argument --data"]),
    (["reproduce", "optimizers", "--mnist", "{tmp}/nope"], ["argument --mnist", "not exist"]),
    (["reproduce", "optimizers", "--mnist", "{tmp}"], ["argument --mnist", "MNIST file"]),
    (["reproduce", "optimizers", "--mnist", "auto", "--data", "{tmp}"], ["argument --mnist"]),
    (["reproduce", "optimizers", "--figures", ""], ["argument --figures", "folder"]),
    (["reproduce", "optimizers", "--figures", "{file}"], ["argument --out", "file"]),
    (["reproduce", "optimizers", "--out", "{file}"], ["argument --out"]),
    (["reproduce", "optimizers", "--replications", "0"], ["argument --replications"]),
    # inference
    (["reproduce", "inference", "--methods", "sandwich"], ["argument --methods", "'sandwich'"]),
    (["reproduce", "inference", "--n", "10"], ["argument --n", ">= 20"]),
    (["reproduce", "inference", "--figure", "{tmp}/missing/c.png"],
     ["argument --figure", "written into --out DIR now"]),
]


@pytest.mark.parametrize("argv, needles", BAD_ARGUMENTS,
                         ids=[" ".join(a[1:2] + a[2:][-2:]) or "empty"
                              for a, _ in BAD_ARGUMENTS])
def test_a_bad_argument_is_one_line_and_exit_2(argv, needles, places, capsys):
    argv = [a.format(**places) for a in argv]
    assert_usage_error(capsys, argv, *needles)


def test_every_study_is_covered():
    covered = {argv[1] for argv, _ in BAD_ARGUMENTS if len(argv) > 1}
    assert set(STUDIES) <= covered


def test_out_of_another_study_or_grid_is_refused(tmp_path, capsys):
    other = tmp_path / "other"
    run_grid(constant, [{"a": 1}], 1, study="other", backend="serial", out=other,
             progress=False)
    assert_usage_error(capsys, QUANTILE + ["--out", str(other)], "argument --out",
                       "study 'other'")
    mine = tmp_path / "quantile-n100"
    run_grid(constant, quantile_settings(100), 1, study="quantile", backend="serial",
             out=mine, progress=False)
    assert_usage_error(capsys, QUANTILE + ["--out", str(mine)], "a different settings grid")
    assert_usage_error(capsys, QUANTILE + ["--n", "100", "--seed", "1", "--out", str(mine)],
                       "seed 0 (this run: 1)")
    # optimizers computes its tables before its Monte Carlo part: --out is checked first
    assert_usage_error(capsys, ["reproduce", "optimizers", "--no-figures", "--out", str(mine)],
                       "study 'quantile'")


@pytest.fixture
def unwritable_dir(tmp_path):
    """A folder this process cannot create files in (root ignores permission bits)."""
    folder = tmp_path / "read-only"
    folder.mkdir()
    folder.chmod(0o500)
    try:
        for candidate in (str(folder), "/sys"):
            try:
                tempfile.TemporaryFile(dir=candidate).close()
            except OSError:
                yield candidate
                return
        pytest.skip("no unwritable folder here (running as root without a read-only /sys)")
    finally:
        folder.chmod(0o700)


def test_an_unwritable_out_is_refused_before_computing(unwritable_dir, capsys):
    target = os.path.join(unwritable_dir, "results")
    for argv in (QUANTILE, ["reproduce", "optimizers"], ["reproduce", "quantile-solver"],
                 ["reproduce", "ssvd"]):
        assert_usage_error(capsys, argv + ["--out", target], "argument --out", "not writable")


def test_good_arguments_run(capsys):
    assert main(["reproduce", "quantile-solver", "--n", "200", "--replications", "1",
                 "--no-progress"]) == 0
    out, err = capsys.readouterr()
    assert "rel. gap" in out and "200" in out
    # no --out: one line on how to keep the tables, nothing else
    assert err.splitlines() == [("statoptim reproduce quantile-solver: nothing written: pass "
                                 "--out DIR to keep the tables (CSV, JSON) and the command")]
    assert main(["reproduce", "--list"]) == 0
    assert "quantile-solver" in capsys.readouterr().out
    assert main(["reproduce", "quantile", "--help"]) == 0
    assert "--replications" in capsys.readouterr().out


def test_errors_while_running(monkeypatch, capsys):
    """A results folder taken meanwhile is a user error; any other exception is a bug."""

    def taken(args):
        raise ResultsFolderLocked("out='x' is in use by another run (pid 1)")

    def buggy(args):
        raise ValueError("an internal bug")

    monkeypatch.setitem(STUDIES, "taken", Study("taken", "test", taken))
    monkeypatch.setitem(STUDIES, "buggy", Study("buggy", "test", buggy))
    assert_usage_error(capsys, ["reproduce", "taken"], "in use by another run")
    with pytest.raises(ValueError, match="an internal bug"):  # keeps its traceback
        main(["reproduce", "buggy"])


def test_an_unreachable_scheduler_is_one_line(monkeypatch, capsys):
    pytest.importorskip("distributed")
    monkeypatch.setattr(_engine, "CONNECT_TIMEOUT", 0.5)
    assert_usage_error(capsys, QUANTILE + ["--replications", "1", "--scheduler",
                                           "tcp://127.0.0.1:1"], "could not connect",
                       "scheduler='tcp://127.0.0.1:1'")


def test_console_script_prints_one_line():
    proc = subprocess.run([STATOPTIM, "reproduce", "quantile-solver", "--n", "0"],
                          capture_output=True, text=True, timeout=60, check=False)
    assert proc.returncode == 2
    assert proc.stdout == ""
    assert proc.stderr.count("\n") == 1 and "Traceback" not in proc.stderr
    assert proc.stderr.startswith("statoptim reproduce quantile-solver: error: argument --n")


# ---------------------------------------------------------------------- the lock


def _wait_for(condition, what, proc, timeout=60):
    deadline = time.monotonic() + timeout
    while not condition():
        if proc.poll() is not None:
            pytest.fail(f"{what}: the first run exited ({proc.returncode}): "
                        f"{proc.stderr.read()}")
        if time.monotonic() > deadline:
            proc.kill()
            proc.communicate()
            pytest.fail(f"{what}: not within {timeout} s")
        time.sleep(0.05)


def _holder_pid(out):
    try:
        with open(os.path.join(out, ".lock")) as f:
            return json.loads(f.read()).get("pid")
    except (OSError, ValueError):
        return None


def _n_chunks(out):
    chunks = os.path.join(out, "chunks")
    return sum(name.endswith(".npz") for name in os.listdir(chunks)) \
        if os.path.isdir(chunks) else 0


def test_a_second_run_on_one_results_folder_is_refused(tmp_path, capsys):
    """Two processes: the second is refused (CLI and API), Ctrl-C of the first saves."""
    out = str(tmp_path / "results")
    first = subprocess.Popen([STATOPTIM, *QUANTILE, "--replications", "100000",
                              "--replications-per-task", "1", "--out", out],
                             stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        # 14 chunks: replications 0 and 1 of the 7 settings (tasks go replication first)
        _wait_for(lambda: _holder_pid(out) == first.pid and _n_chunks(out) >= 14,
                  "lock taken and 14 chunks written", first)
        line = assert_usage_error(capsys, QUANTILE + ["--replications", "2", "--out", out],
                                  "argument --out", "in use by another run",
                                  f"pid {first.pid}")
        assert "study quantile" in line
        with pytest.raises(ResultsFolderLocked, match=f"in use by another run .pid {first.pid}"):
            run_grid(constant, quantile_settings(50), 1, study="quantile", backend="serial",
                     out=out, progress=False)
        # reading is allowed meanwhile: the completed chunks, no file touched
        records = load_results(out, n_replications=2)
        assert len(records) == 14
        assert main(QUANTILE + ["--replications", "2", "--out", out, "--summarize-only"]) == 0
        assert "Design B" in capsys.readouterr().out
        first.send_signal(signal.SIGINT)
        _, stderr = first.communicate(timeout=60)
    finally:
        if first.poll() is None:
            first.kill()
            first.communicate()
    assert first.returncode == 130
    assert "Traceback" not in stderr
    last = stderr.strip().splitlines()[-1]  # the line that matters comes last
    assert "replications are saved in" in last
    assert last.endswith("run the same command again to resume")
    # the lock is free again, and a rerun resumes: replications 0 and 1 are all stored
    assert main(QUANTILE + ["--replications", "2", "--out", out]) == 0
    assert "14 replications in" in capsys.readouterr().out


def test_ctrl_c_under_dask_ends_with_the_resume_line(tmp_path):
    """Ctrl-C in a terminal reaches the whole process group, Dask's workers too:
    no worker traceback, no scheduler log, and the resume line last."""
    pytest.importorskip("distributed")
    out = str(tmp_path / "results")
    # 300 x 6 tasks of one replication: far more than the test waits for; one
    # worker process, which the terminal's SIGINT reaches as well
    first = subprocess.Popen([STATOPTIM, *QUANTILE[:-2], "--replications", "300",
                              "--replications-per-task", "1", "--scheduler", "local", "--jobs", "1",
                              "--out", out],
                             stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                             start_new_session=True)
    try:
        _wait_for(lambda: _n_chunks(out) >= 6, "the Dask workers computing", first, 120)
        os.killpg(first.pid, signal.SIGINT)  # as Ctrl-C does
        _, stderr = first.communicate(timeout=120)
    finally:
        if first.poll() is None:
            os.killpg(first.pid, signal.SIGKILL)
            first.communicate()
    assert first.returncode == 130, stderr
    lines = stderr.strip().splitlines()
    assert "Traceback" not in stderr and "ERROR" not in stderr, stderr
    assert lines[-1].startswith("quantile: interrupted; ")
    assert lines[-1].endswith(f"are saved in {out}; run the same command again to resume")
    saved = int(lines[-1].split()[2])
    assert saved == len(load_results(out)) >= 6


def test_every_study_accepts_the_common_options(capsys):
    from statoptim.studies._registry import COMMON_OPTIONS

    for name in STUDIES:
        assert main(["reproduce", name, "--help"]) == 0
        text = capsys.readouterr().out
        for option in COMMON_OPTIONS:
            assert f"{option} " in text or f"{option}\n" in text, (name, option)


def test_deprecated_and_ignored_options_say_so_in_one_line(tmp_path, capsys):
    argv = ["reproduce", "quantile-solver", "--n", "60", "--repeats", "2", "--jobs", "2",
            "--scheduler", "local", "--no-progress", "--out", str(tmp_path / "o")]
    assert main(argv) == 0
    out, err = capsys.readouterr()
    prog = "statoptim reproduce quantile-solver: "
    assert err.splitlines() == [
        prog + "--repeats is deprecated; use --replications (same meaning)",
        prog + "--jobs ignored: this study runs in one process",
        prog + "--scheduler ignored: this study does not run on the study engine, nor on Dask"]
    assert "over 2 repeats" in out  # --repeats 2 reached --replications
    # a deprecated spelling with a bad value is still one line (and exit 2)
    assert_usage_error(capsys, ["reproduce", "ssvd", "--reps", "x"], "argument --reps")


SLOW_RUN = """
    import time
    from statoptim.studies._engine import run_grid

    def slow(setting, rng):
        time.sleep(0.02)
        return {{"value": float(rng.random())}}

    run_grid(slow, [{{"a": 1}}, {{"a": 2}}], 100000, study="slow", backend="serial",
             out={out!r}, progress=False, replications_per_task=1)
"""


def test_a_killed_run_leaves_no_stale_lock(tmp_path):
    out = str(tmp_path / "results")
    first = subprocess.Popen([sys.executable, "-c", textwrap.dedent(SLOW_RUN.format(out=out))],
                             stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        _wait_for(lambda: _holder_pid(out) == first.pid and _n_chunks(out) >= 2,
                  "lock taken", first)
        with pytest.raises(ResultsFolderLocked, match=f"pid {first.pid}"):
            run_grid(constant, [{"a": 1}, {"a": 2}], 1, study="slow", backend="serial",
                     out=out, progress=False)
        # a reader leaves the writer's files alone (this one could be a chunk in flight)
        in_flight = os.path.join(out, "chunks", "in-flight.npz.1.tmp")
        with open(in_flight, "w"):
            pass
        assert len(load_results(out, n_replications=1)) == 2
        assert os.path.exists(in_flight)
    finally:
        first.kill()  # SIGKILL: no cleanup runs; the OS releases the flock
        first.communicate()
    assert _holder_pid(out) == first.pid  # the dead holder's note is still there
    records = run_grid(constant, [{"a": 1}, {"a": 2}], 3, study="slow", backend="serial",
                       out=out, progress=False)
    assert len(records) == 6
    assert not os.path.exists(in_flight)  # under the lock: a dead run's leftover, removed


def test_the_lock_is_released_after_a_run(tmp_path):
    out = tmp_path / "results"
    for n_rep in (1, 2):  # the second run must not find its own lock taken
        run_grid(constant, [{"a": 1}], n_rep, study="t", backend="serial", out=out,
                 progress=False)
    assert (out / ".lock").read_text() == ""


def test_a_nested_run_on_the_same_folder_is_refused(tmp_path):
    out = tmp_path / "results"

    def nested(setting, rng):
        run_grid(constant, [{"a": 1}], 1, study="t", backend="serial", out=out,
                 progress=False)
        return {"value": 1.0}

    with pytest.raises(ResultsFolderLocked, match=f"pid {os.getpid()}"):
        run_grid(nested, [{"a": 1}], 1, study="t", backend="serial", out=out, progress=False)


# ----------------------------------------------------------------------- fuzzing

_OPTIONS = ["--n", "--quantiles", "--lp-max-n", "--repeats", "--seed", "--bogus", "-n",
            "--help", "--"]
_VALUES = ["0", "-1", "3", "4", "57", "200", "1e3", "0.5", "0.999", "1.5", "nan", "inf",
           "-inf", "", "abc", " 7", "0x10", "\u0663", "\u0664", "1_0"]


@given(st.lists(st.one_of(st.sampled_from(_OPTIONS), st.sampled_from(_VALUES),
                          st.text(max_size=4)), max_size=8))
def test_fuzz_cli_argv_never_gives_a_traceback(capsys, tokens):
    capsys.readouterr()
    # small defaults first, so that the runs the fuzzer makes valid stay fast
    argv = ["reproduce", "quantile-solver", "--n", "60", "--repeats", "1",
            "--lp-max-n", "100", *tokens]
    code = main(argv)
    out, err = capsys.readouterr()
    assert code in (0, 2), (argv, code, err)
    assert "Traceback" not in err
    if code == 2:
        assert len(err.splitlines()) == 1 and err.startswith("statoptim"), (argv, err)
    else:
        assert out


_COMMON = ["--out", "--replications", "--seed", "--jobs", "--scheduler", "--no-figures",
           "--no-progress", "--data", "--summarize-only", "--reps", "--seeds", "--repeats",
           "--figure", "--figures", "--"]
_COMMON_VALUES = ["0", "1", "-1", "3", "", "x", "local", "tcp://127.0.0.1:1", "nan", "1.5",
                  "/nonexistent", "."]


@given(st.sampled_from(sorted(STUDIES)),
       st.lists(st.one_of(st.sampled_from(_COMMON), st.sampled_from(_COMMON_VALUES)),
                max_size=8))
def test_fuzz_common_options_parse_or_one_line(capsys, study, tokens):
    """Any mix of the common options, old spellings included, on any study: a
    one-line usage error (exit 2), or one-line notes and the study runs."""
    capsys.readouterr()
    ran = []
    real = STUDIES[study]
    STUDIES[study] = Study(real.name, real.help, lambda args: ran.append(args) or 0,
                           real.add_arguments, real.check)
    try:
        code = main(["reproduce", study, *tokens])
    finally:
        STUDIES[study] = real
    out, err = capsys.readouterr()
    assert "Traceback" not in err
    assert code in (0, 2), (tokens, code, err)
    assert out == ""
    if code == 2:
        assert len(err.splitlines()) == 1 and err.startswith("statoptim"), (tokens, err)
        assert not ran
    else:
        assert len(ran) == 1
        for line in err.splitlines():
            assert line.startswith(f"statoptim reproduce {study}: "), (tokens, err)
