"""Tests of the study runner (statoptim.studies._engine).

The replication function fits statoptim.QuantileRegressor on a small simulated
sample; its outputs other than ``time`` are deterministic functions of the
replication seed, so backends, worker counts, batchings, resumed and
uninterrupted runs must agree on them bit for bit.
"""
import argparse
import json
import os
import signal
import subprocess
import sys
import textwrap
import time
import warnings

import numpy as np
import pytest

from statoptim import QuantileRegressor
from statoptim.datasets import make_quantile_regression
from statoptim.studies import _engine
from statoptim.studies._engine import (
    CorruptResultsWarning,
    add_runner_arguments,
    load_results,
    replication_seed,
    run_grid,
    runner_kwargs,
)

SETTINGS = [{"n_samples": 200, "quantile": 0.25}, {"n_samples": 200, "quantile": 0.5},
            {"n_samples": 120, "quantile": 0.75}]
N_REPS = 6
CALLS = []  # (setting, first draw) of every call of counted_replication in this process


def qr_replication(setting, rng):
    """Fit a quantile regression on fresh data; deterministic but for ``time``."""
    X, y = make_quantile_regression(setting["n_samples"], random_state=rng)
    start = time.perf_counter()
    model = QuantileRegressor(quantile=setting["quantile"]).fit(X, y)
    return {"intercept": model.intercept_, "coef": model.coef_, "n_iter": model.n_iter_,
            "time": time.perf_counter() - start}


def counted_replication(setting, rng):
    CALLS.append(setting["quantile"])
    return qr_replication(setting, rng)


def slow_replication(setting, rng):
    time.sleep(0.03)
    return qr_replication(setting, rng)


def deterministic(records):
    """Records without the wall-time output, arrays as lists (comparable with ==)."""
    return [{k: (v.tolist() if isinstance(v, np.ndarray) else v)
             for k, v in rec.items() if k != "time"} for rec in records]


@pytest.fixture(scope="module")
def serial_records():
    return run_grid(qr_replication, SETTINGS, N_REPS, seed=7, study="t", backend="serial",
                    progress=False)


@pytest.fixture(scope="module")
def dask_client():
    distributed = pytest.importorskip("distributed")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # cluster start-up chatter is not ours to test
        cluster = distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=False,
                                           dashboard_address="127.0.0.1:0", host="127.0.0.1",
                                           protocol="tcp")
        client = distributed.Client(cluster)
    yield client
    client.close()
    cluster.close()


# ------------------------------------------------------------------- seeds and records


def test_replication_seed_is_the_spawned_child():
    for seed, s, r in [(0, 0, 0), (7, 2, 5), (123456789, 11, 999)]:
        spawned = np.random.SeedSequence(seed).spawn(s + 3)[s].spawn(r + 2)[r]
        direct = replication_seed(seed, s, r)
        np.testing.assert_array_equal(direct.generate_state(8), spawned.generate_state(8))
        assert (np.random.default_rng(direct).random(5).tolist()
                == np.random.default_rng(spawned).random(5).tolist())


def test_serial_records_match_a_direct_computation(serial_records):
    assert len(serial_records) == len(SETTINGS) * N_REPS
    keys = [(rec["quantile"], rec["n_samples"], rec["replication"]) for rec in serial_records]
    assert keys == [(s["quantile"], s["n_samples"], r) for s in SETTINGS for r in range(N_REPS)]
    # Independent answer: each replication recomputed by hand from SeedSequence.spawn.
    children = np.random.SeedSequence(7).spawn(len(SETTINGS))
    expected = []
    for setting, child in zip(SETTINGS, children):
        for r, grandchild in enumerate(child.spawn(N_REPS)):
            out = qr_replication(dict(setting), np.random.default_rng(grandchild))
            expected.append({**setting, "replication": r, **out})
    assert deterministic(serial_records) == deterministic(expected)
    rec = serial_records[0]
    assert isinstance(rec["intercept"], float) and isinstance(rec["n_iter"], int)
    assert isinstance(rec["coef"], np.ndarray) and rec["coef"].shape == (2,)
    # Different replications draw different data.
    assert len({r["intercept"] for r in serial_records}) == len(serial_records)


@pytest.mark.parametrize("replications_per_task", [1, 4, None])
def test_batching_does_not_change_results(serial_records, replications_per_task):
    records = run_grid(qr_replication, SETTINGS, N_REPS, seed=7, study="t", backend="serial",
                       replications_per_task=replications_per_task, progress=False)
    assert deterministic(records) == deterministic(serial_records)


def test_joblib_two_workers_equals_serial(serial_records, tmp_path):
    records = run_grid(qr_replication, SETTINGS, N_REPS, seed=7, study="t", n_jobs=2,
                       out=tmp_path / "res", progress=False)
    assert deterministic(records) == deterministic(serial_records)
    # The stored copy reads back identically, types included.
    stored = load_results(tmp_path / "res")
    assert deterministic(stored) == deterministic(serial_records)
    assert [r["time"] for r in stored] == [r["time"] for r in records]
    assert type(stored[0]["n_iter"]) is int


def test_dask_equals_serial(serial_records, dask_client, tmp_path):
    records = run_grid(qr_replication, SETTINGS, N_REPS, seed=7, study="t",
                       scheduler=dask_client, out=tmp_path / "res", progress=False)
    assert deterministic(records) == deterministic(serial_records)
    assert deterministic(load_results(tmp_path / "res")) == deterministic(serial_records)
    # The client passed in is left running for its owner.
    assert dask_client.status == "running"


def test_dask_by_address(serial_records, dask_client):
    # run_grid opens (and closes) its own client to a scheduler given by address.
    address = dask_client.scheduler.address
    assert address.startswith("tcp://127.0.0.1:")
    records = run_grid(qr_replication, SETTINGS, N_REPS, seed=7, study="t", scheduler=address,
                       progress=False)
    assert deterministic(records) == deterministic(serial_records)


def crash_on_setting_2_rep_3(setting, rng):
    if setting["quantile"] == 0.75 and rng.bit_generator.seed_seq.spawn_key == (2, 3):
        # let the other worker finish (and the runner store) earlier replications
        # first, so that "some were kept" does not depend on scheduling
        time.sleep(1.0)
        raise Boom("simulated crash of one replication")
    return qr_replication(setting, rng)


@pytest.mark.parametrize("backend", ["joblib", "dask"])
def test_a_failing_replication_keeps_the_finished_ones(serial_records, tmp_path, backend,
                                                       request):
    kwargs = {"n_jobs": 2} if backend == "joblib" else {
        "scheduler": request.getfixturevalue("dask_client")}
    out = tmp_path / "res"
    with pytest.raises(Boom, match="simulated crash"):
        run_grid(crash_on_setting_2_rep_3, SETTINGS, N_REPS, seed=7, study="t", out=out,
                 replications_per_task=1, progress=False, **kwargs)
    stored = len(list((out / "chunks").glob("*.npz")))
    assert 1 <= stored < len(SETTINGS) * N_REPS
    CALLS.clear()
    records = run_grid(counted_replication, SETTINGS, N_REPS, seed=7, study="t",
                       backend="serial", out=out, progress=False)
    assert len(CALLS) == len(SETTINGS) * N_REPS - stored
    assert deterministic(records) == deterministic(serial_records)


def test_seeds_beyond_int64_are_stored(tmp_path):
    seed = 2**70 + 5
    first = run_grid(qr_replication, SETTINGS[:1], 2, seed=seed, backend="serial",
                     out=tmp_path / "r", progress=False)
    again = run_grid(never_called, SETTINGS[:1], 2, seed=seed, backend="serial",
                     out=tmp_path / "r", progress=False)
    assert deterministic(first) == deterministic(again)
    direct = np.random.SeedSequence(seed).spawn(1)[0].spawn(2)[1]
    assert first[1]["intercept"] == qr_replication(SETTINGS[0], np.random.default_rng(
        direct))["intercept"]


def test_dask_local_cluster_is_started_and_stopped(serial_records, monkeypatch):
    distributed = pytest.importorskip("distributed")
    made = []
    real = distributed.LocalCluster

    def small_cluster(**kwargs):
        kwargs.update(processes=False, protocol="tcp")  # threads: seconds faster to start
        made.append(real(**kwargs))
        return made[-1]

    monkeypatch.setattr(distributed, "LocalCluster", small_cluster)
    records = run_grid(qr_replication, SETTINGS[:1], N_REPS, seed=7, study="t",
                       scheduler="local", n_jobs=2, progress=False)
    assert deterministic(records) == deterministic(serial_records[:N_REPS])
    assert len(made) == 1 and made[0].status.name == "closed"


def test_more_replications_extend_a_study(serial_records, tmp_path):
    out = tmp_path / "res"
    first = run_grid(qr_replication, SETTINGS, 3, seed=7, study="t", backend="serial",
                     out=out, progress=False)
    assert deterministic(first) == deterministic(
        [r for r in serial_records if r["replication"] < 3])
    CALLS.clear()
    full = run_grid(counted_replication, SETTINGS, N_REPS, seed=7, study="t",
                    backend="serial", out=out, progress=False)
    assert len(CALLS) == len(SETTINGS) * (N_REPS - 3)
    assert deterministic(full) == deterministic(serial_records)


# ------------------------------------------------------------------------ resume


class Boom(RuntimeError):
    pass


def failing_after(k):
    count = [0]

    def func(setting, rng):
        count[0] += 1
        if count[0] > k:
            raise Boom("simulated crash")
        return qr_replication(setting, rng)

    return func


def test_resume_after_a_crash_computes_only_the_missing(serial_records, tmp_path):
    out = tmp_path / "res"
    with pytest.raises(Boom):
        run_grid(failing_after(7), SETTINGS, N_REPS, seed=7, study="t", backend="serial",
                 replications_per_task=2, out=out, progress=False)
    chunks = sorted(os.listdir(out / "chunks"))
    assert len(chunks) == 3  # 7 calls = 3 complete batches of 2, the 4th died in flight
    before = {c: (out / "chunks" / c).read_bytes() for c in chunks}
    CALLS.clear()
    records = run_grid(counted_replication, SETTINGS, N_REPS, seed=7, study="t",
                       backend="serial", out=out, progress=False)
    assert len(CALLS) == len(SETTINGS) * N_REPS - 6
    assert deterministic(records) == deterministic(serial_records)
    assert all((out / "chunks" / c).read_bytes() == b for c, b in before.items())
    # A third run computes nothing.
    CALLS.clear()
    again = run_grid(counted_replication, SETTINGS, N_REPS, seed=7, study="t",
                     backend="serial", out=out, progress=False)
    assert CALLS == [] and deterministic(again) == deterministic(serial_records)


def test_resume_after_sigkill(serial_records, tmp_path):
    out = tmp_path / "res"
    script = textwrap.dedent(f"""
        import sys
        sys.path.insert(0, {os.path.dirname(__file__)!r})
        from test_engine import SETTINGS, N_REPS, slow_replication
        from statoptim.studies._engine import run_grid
        run_grid(slow_replication, SETTINGS, N_REPS, seed=7, study="t", backend="serial",
                 replications_per_task=1, out={str(out)!r}, progress=False)
        print("finished")
    """)
    proc = subprocess.Popen([sys.executable, "-c", script], start_new_session=True,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    deadline = time.monotonic() + 60
    try:
        while time.monotonic() < deadline and proc.poll() is None:
            if (out / "chunks").is_dir() and len(list((out / "chunks").glob("*.npz"))) >= 5:
                break
            time.sleep(0.005)
    finally:
        os.killpg(proc.pid, signal.SIGKILL)
        stdout, stderr = proc.communicate(timeout=30)
    assert b"finished" not in stdout, "the run ended before it was killed"
    assert proc.returncode == -signal.SIGKILL, stderr.decode()
    stored = [c for c in os.listdir(out / "chunks") if c.endswith(".npz")]
    assert 5 <= len(stored) < len(SETTINGS) * N_REPS
    CALLS.clear()
    records = run_grid(counted_replication, SETTINGS, N_REPS, seed=7, study="t",
                       backend="serial", out=out, progress=False)  # no warning: nothing torn
    assert len(CALLS) == len(SETTINGS) * N_REPS - len(stored)
    assert deterministic(records) == deterministic(serial_records)
    assert not [c for c in os.listdir(out / "chunks") if not c.endswith(".npz")]


def test_corrupted_and_truncated_files_are_recomputed_with_a_warning(serial_records,
                                                                     tmp_path):
    out = tmp_path / "res"
    run_grid(qr_replication, SETTINGS, N_REPS, seed=7, study="t", backend="serial",
             replications_per_task=3, out=out, progress=False)
    chunks = sorted((out / "chunks").iterdir())
    assert len(chunks) == 6
    truncated, flipped = chunks[1], chunks[4]
    truncated.write_bytes(truncated.read_bytes()[:-40])
    data = bytearray(flipped.read_bytes())
    data[len(data) // 2] ^= 0x01
    flipped.write_bytes(bytes(data))
    CALLS.clear()
    with pytest.warns(CorruptResultsWarning) as caught:
        records = run_grid(counted_replication, SETTINGS, N_REPS, seed=7, study="t",
                           backend="serial", out=out, progress=False)
    messages = " ".join(str(w.message) for w in caught)
    assert truncated.name in messages and flipped.name in messages
    assert "truncated or corrupted" in messages
    assert len(CALLS) == 6  # the two damaged chunks of 3 replications
    assert deterministic(records) == deterministic(serial_records)
    assert (out / "chunks" / (truncated.name + ".corrupt")).exists()
    assert (out / "chunks" / (flipped.name + ".corrupt")).exists()
    # Set aside once: the next run is silent and computes nothing.
    CALLS.clear()
    run_grid(counted_replication, SETTINGS, N_REPS, seed=7, study="t", backend="serial",
             out=out, progress=False)
    assert CALLS == []


def test_a_chunk_from_another_run_is_not_used(serial_records, tmp_path):
    a, b = tmp_path / "a", tmp_path / "b"
    run_grid(qr_replication, SETTINGS, 2, seed=7, study="t", backend="serial", out=a,
             replications_per_task=2, progress=False)
    run_grid(qr_replication, SETTINGS, 2, seed=8, study="t", backend="serial", out=b,
             replications_per_task=2, progress=False)
    foreign = sorted((b / "chunks").iterdir())[0]
    mine = sorted((a / "chunks").iterdir())[0]
    mine.unlink()
    (a / "chunks" / foreign.name).write_bytes(foreign.read_bytes())
    with pytest.warns(CorruptResultsWarning, match="another study, seed or settings"):
        records = run_grid(qr_replication, SETTINGS, 2, seed=7, study="t", backend="serial",
                           out=a, progress=False)
    assert deterministic(records) == deterministic(
        [r for r in serial_records if r["replication"] < 2])


# ------------------------------------------------------------------ summarize-only


def never_called(setting, rng):
    raise AssertionError("summarize_only must not compute")


def test_summarize_only_reads_without_computing(serial_records, tmp_path):
    out = tmp_path / "res"
    run_grid(qr_replication, SETTINGS, N_REPS, seed=7, study="t", backend="serial", out=out,
             progress=False)
    records = run_grid(never_called, SETTINGS, N_REPS, seed=7, study="t", out=out,
                       summarize_only=True, progress=False)
    assert deterministic(records) == deterministic(serial_records)
    with pytest.warns(UserWarning, match=f"holds {len(SETTINGS) * N_REPS} of the"):
        partial = run_grid(never_called, SETTINGS, N_REPS + 1, seed=7, study="t", out=out,
                           summarize_only=True, progress=False)
    assert len(partial) == len(SETTINGS) * N_REPS
    with pytest.raises(ValueError, match="summarize_only=True needs out"):
        run_grid(never_called, SETTINGS, N_REPS, summarize_only=True)
    with pytest.raises(ValueError, match="no manifest.json"):
        run_grid(never_called, SETTINGS, N_REPS, out=tmp_path / "empty",
                 summarize_only=True)


# ----------------------------------------------------------------- folder checks


@pytest.mark.parametrize("change, message", [
    ({"study": "other"}, "study 't'"),
    ({"seed": 8}, "seed 7"),
    ({"settings": SETTINGS[:2]}, "a different settings grid"),
    ({"settings": SETTINGS[::-1]}, "a different settings grid"),
])
def test_a_folder_of_another_run_is_refused(tmp_path, change, message):
    out = tmp_path / "res"
    run_grid(qr_replication, SETTINGS, 1, seed=7, study="t", backend="serial", out=out,
             progress=False)
    kwargs = {"settings": SETTINGS, "seed": 7, "study": "t", **change}
    with pytest.raises(ValueError, match=f"holds results of another run: {message}"):
        run_grid(qr_replication, kwargs.pop("settings"), 1, backend="serial", out=out,
                 progress=False, **kwargs)


def test_a_folder_left_by_a_kill_during_creation_is_reused(tmp_path):
    (tmp_path / "manifest.json.123.tmp").write_text('{"format": ')
    run_grid(qr_replication, SETTINGS, 1, out=tmp_path, backend="serial", progress=False)
    assert (tmp_path / "manifest.json").exists()


def test_a_foreign_folder_is_refused(tmp_path):
    (tmp_path / "notes.txt").write_text("mine")
    with pytest.raises(ValueError, match="non-empty folder without a manifest.json"):
        run_grid(qr_replication, SETTINGS, 1, out=tmp_path, backend="serial", progress=False)
    (tmp_path / "manifest.json").write_text("{not json")
    with pytest.raises(ValueError, match="cannot read manifest.json"):
        run_grid(qr_replication, SETTINGS, 1, out=tmp_path, backend="serial", progress=False)
    (tmp_path / "manifest.json").write_text(json.dumps({"format": "something else"}))
    with pytest.raises(ValueError, match="not a statoptim study results manifest"):
        run_grid(qr_replication, SETTINGS, 1, out=tmp_path, backend="serial", progress=False)
    with pytest.raises(ValueError, match="out must be a directory"):
        run_grid(qr_replication, SETTINGS, 1, out=tmp_path / "notes.txt", backend="serial",
                 progress=False)


def test_manifest_documents_the_run(tmp_path):
    run_grid(qr_replication, SETTINGS, 1, seed=7, study="t", backend="serial",
             out=tmp_path / "r", progress=False)
    manifest = json.loads((tmp_path / "r" / "manifest.json").read_text())
    assert manifest["study"] == "t" and manifest["seed"] == 7
    assert manifest["settings"] == SETTINGS
    import hashlib
    blob = json.dumps(SETTINGS, sort_keys=True, separators=(",", ":")).encode()
    assert manifest["settings_sha256"] == hashlib.sha256(blob).hexdigest()
    chunk = next((tmp_path / "r" / "chunks").iterdir())
    assert hashlib.sha256(chunk.read_bytes()).hexdigest()[:32] in chunk.name
    with np.load(chunk) as npz:
        assert {"setting_index", "replication", "outputs/intercept", "outputs/coef"} <= set(
            npz.files)


# ------------------------------------------------------------------------ bad input


def test_unknown_backend():
    with pytest.raises(ValueError, match="backend must be one of 'joblib', 'dask', 'serial', "
                                         "got 'spark'"):
        run_grid(qr_replication, SETTINGS, 1, backend="spark")


@pytest.mark.parametrize("kwargs, message", [
    ({"backend": "joblib", "scheduler": "local"}, "scheduler is only used by the 'dask'"),
    ({"scheduler": "not an address"}, "scheduler must be 'local' or a Dask scheduler address"),
    ({"n_jobs": 0}, "n_jobs must be None or a non-zero int, got 0"),
    ({"seed": -1}, "seed must be an integer >= 0, got -1"),
    ({"study": ""}, "study must be a non-empty str"),
    ({"replications_per_task": 0}, "replications_per_task must be an integer >= 1, got 0"),
])
def test_bad_keyword_arguments(kwargs, message):
    with pytest.raises(ValueError, match=message):
        run_grid(qr_replication, SETTINGS, 1, progress=False, **kwargs)


@pytest.mark.parametrize("func, settings, n_rep, message", [
    (3, SETTINGS, 1, "func must be callable, got 3"),
    (qr_replication, SETTINGS, 0, "n_replications must be an integer >= 1, got 0"),
    (qr_replication, SETTINGS, 2.5, "n_replications must be an integer >= 1, got 2.5"),
    (qr_replication, [], 1, "settings must be a non-empty list"),
    (qr_replication, {"n_samples": 3}, 1, "settings must be a list of dicts"),
    (qr_replication, [3], 1, r"settings\[0\] must be a dict, got 3"),
    (qr_replication, [{"a": np.int64(3)}], 1, r"settings\[0\] must be JSON-serialisable"),
    (qr_replication, [{"a": (1, 2)}], 1, r"settings\[0\] must survive a JSON round trip"),
    (qr_replication, [{"a": 1}, {"a": 1}], 1, r"settings\[1\] duplicates settings\[0\]"),
    (qr_replication, [{"replication": 1}], 1, "'replication' .it is reserved"),
])
def test_bad_grid(func, settings, n_rep, message):
    with pytest.raises(ValueError, match=message):
        run_grid(func, settings, n_rep, backend="serial", progress=False)


def returns_list(setting, rng):
    return [1.0]


def returns_clash(setting, rng):
    return {"n_samples": 1.0}


def returns_object(setting, rng):
    return {"x": {"nested": 1}}


def returns_varying(setting, rng):
    return {"x": 1.0} if rng.random() < 0.5 else {"y": 1.0}


@pytest.mark.parametrize("func, message", [
    (returns_list, "func must return a dict of outputs, got list"),
    (returns_clash, "func output 'n_samples' clashes with a setting key"),
    (returns_object, "func output 'x' must be a number, bool, str or numeric array"),
    (returns_varying, "func must return the same output names for every replication"),
])
def test_bad_replication_outputs(func, message):
    with pytest.raises(ValueError, match=message):
        run_grid(func, SETTINGS, 20, backend="serial", replications_per_task=20, progress=False)


def test_unreachable_scheduler_fails_fast(monkeypatch):
    pytest.importorskip("distributed")
    monkeypatch.setattr(_engine, "CONNECT_TIMEOUT", 1.0)
    start = time.monotonic()
    with pytest.raises(ConnectionError, match="could not connect to the Dask scheduler at "
                                              "scheduler='tcp://127.0.0.1:1' within 1 s"):
        run_grid(qr_replication, SETTINGS, 1, scheduler="tcp://127.0.0.1:1", progress=False)
    assert time.monotonic() - start < 10


def test_dask_missing_gives_an_install_hint(monkeypatch):
    monkeypatch.setitem(sys.modules, "distributed", None)
    with pytest.raises(ImportError, match=r"pip install \"statoptim\[dask\]\""):
        run_grid(qr_replication, SETTINGS, 1, scheduler="local", progress=False)


# ----------------------------------------------------------------- progress and CLI


def test_plain_progress_line_without_tqdm(monkeypatch, capsys):
    monkeypatch.setitem(sys.modules, "tqdm", None)
    monkeypatch.setitem(sys.modules, "tqdm.auto", None)
    run_grid(qr_replication, SETTINGS, 2, study="t", backend="serial", progress=True)
    err = capsys.readouterr().err
    assert "t: 0/6 replications (0%)" in err and "t: 6/6 replications (100%)" in err


def test_tqdm_progress_bar(capsys, tmp_path):
    pytest.importorskip("tqdm")
    run_grid(qr_replication, SETTINGS, 2, study="t", backend="serial", out=tmp_path / "r",
             progress=True, replications_per_task=1)
    run_grid(qr_replication, SETTINGS, 3, study="t", backend="serial", out=tmp_path / "r",
             progress=True)
    err = capsys.readouterr().err
    assert "6/6" in err and "9/9" in err
    assert "resuming from" in err and "6 of 9 replications stored, computing 3" in err


def test_cli_arguments_drive_run_grid(serial_records, tmp_path):
    parser = argparse.ArgumentParser()
    add_runner_arguments(parser, replications=N_REPS, seed=7)
    args = parser.parse_args(["--jobs", "2", "--out", str(tmp_path / "r"), "--no-progress"])
    kwargs = runner_kwargs(args)
    assert kwargs["backend"] == "joblib" and kwargs["n_replications"] == N_REPS
    records = run_grid(qr_replication, SETTINGS, study="t", **kwargs)
    assert deterministic(records) == deterministic(serial_records)
    args = parser.parse_args(["--out", str(tmp_path / "r"), "--summarize-only",
                              "--no-progress", "--replications", "2"])
    records = run_grid(never_called, SETTINGS, study="t", **runner_kwargs(args))
    assert len(records) == 2 * len(SETTINGS)
    args = parser.parse_args(["--scheduler", "tcp://127.0.0.1:8786"])
    assert runner_kwargs(args)["backend"] == "dask"
    assert runner_kwargs(args)["progress"] is True


def test_a_registered_study_runs_from_the_command_line(serial_records, tmp_path, capsys,
                                                       monkeypatch):
    from statoptim.cli import main
    from statoptim.studies import STUDIES
    from statoptim.studies._registry import Study, format_table

    def run(args):
        records = run_grid(qr_replication, SETTINGS, study="engine-test", **runner_kwargs(args))
        rows = [[s["quantile"], float(np.mean([r["intercept"] for r in records
                                               if r["quantile"] == s["quantile"]]))]
                for s in SETTINGS]
        print(format_table(["q", "mean intercept"], rows))
        return 0

    def add_arguments(parser):
        add_runner_arguments(parser, replications=N_REPS, seed=7)

    monkeypatch.setitem(STUDIES, "engine-test", Study("engine-test", "test", run, add_arguments))
    out = str(tmp_path / "r")
    assert main(["reproduce", "engine-test", "--out", out, "--no-progress",
                 "--replications-per-task", "5"]) == 0
    table = capsys.readouterr().out
    assert main(["reproduce", "engine-test", "--out", out, "--summarize-only"]) == 0
    assert capsys.readouterr().out == table
    expected = np.mean([r["intercept"] for r in serial_records if r["quantile"] == 0.5])
    assert f"{expected:.4g}" in table
    assert len(os.listdir(os.path.join(out, "chunks"))) == 6  # 3 settings x (5 + 1)


def test_summarize_only_uses_what_is_stored_and_says_how_much(tmp_path, capsys):
    """Without --replications, --summarize-only takes every stored replication (not
    the study's default count) and says how many; asked for more, it says so."""
    from statoptim.studies._engine import run_from_args

    parser = argparse.ArgumentParser()
    add_runner_arguments(parser, replications=50, seed=7)
    out = str(tmp_path / "r")
    run_grid(qr_replication, SETTINGS, 4, seed=7, study="t", backend="serial", out=out,
             progress=False)
    args = parser.parse_args(["--out", out, "--summarize-only"])
    assert runner_kwargs(args)["n_replications"] is None
    records = run_from_args(never_called, SETTINGS, "t", args)
    assert len(records) == 4 * len(SETTINGS)
    err = capsys.readouterr().err.strip()
    assert err == (f"statoptim reproduce t: --summarize-only: 12 stored replications in {out} "
                   "(4 per setting x 3 settings); nothing is computed")
    args = parser.parse_args(["--out", out, "--summarize-only", "--replications", "6"])
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # the engine's warning becomes this one line
        records = run_from_args(never_called, SETTINGS, "t", args)
    assert len(records) == 12
    assert "--replications 6 asked for more: rerun without --summarize-only" in \
        capsys.readouterr().err
    args = parser.parse_args(["--out", out, "--summarize-only", "--replications", "2"])
    assert len(run_from_args(never_called, SETTINGS, "t", args)) == 6
    assert "(2 per setting x 3 settings)" in capsys.readouterr().err


def test_ctrl_c_between_a_write_and_its_count_is_deferred(tmp_path, capsys, monkeypatch):
    """The saved count printed after Ctrl-C is what is on disk: a SIGINT that
    arrives while a batch is written takes effect once it is counted."""
    writes = []
    real_write = _engine._ResultsFolder.write

    def write_then_interrupt(self, batch):
        real_write(self, batch)
        writes.append(batch["setting_index"])
        if len(writes) == 2:
            signal.raise_signal(signal.SIGINT)  # Ctrl-C right after the file is on disk

    monkeypatch.setattr(_engine._ResultsFolder, "write", write_then_interrupt)
    out = str(tmp_path / "r")
    with pytest.raises(KeyboardInterrupt):
        run_grid(qr_replication, SETTINGS, 3, study="t", backend="serial", out=out,
                 progress=False, replications_per_task=1)
    line = capsys.readouterr().err.strip().splitlines()[-1]
    assert line.startswith("t: interrupted; 2 of 9 replications are saved in")
    assert len(load_results(out)) == 2
