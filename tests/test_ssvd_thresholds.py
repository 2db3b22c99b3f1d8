"""SCAD thresholding in FIT-SSVD and the threshold study of `statoptim reproduce ssvd`."""
import csv
import functools
import json
import math

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays
from scipy import sparse

from statoptim import SparseSVD
from statoptim._optional import installed
from statoptim.datasets import make_lung_spiked, make_rank_one_ssvd
from statoptim.ssvd import _fit
from statoptim.studies import ssvd_thresholds as th

A_SCAD = 3.7
MODES = {"hard": 0, "soft": 1, "scad": 2}


def scad_reference(A, gamma, a=A_SCAD):
    """SCAD thresholding of Fan & Li (2001), column-wise, by its three pieces."""
    A = np.asarray(A, dtype=float)
    g = np.broadcast_to(np.asarray(gamma, dtype=float), (A.shape[-1],))
    x = np.abs(A)
    soft = np.sign(A) * np.maximum(x - g, 0.0)
    middle = ((a - 1.0) * A - np.sign(A) * a * g) / (a - 2.0)
    return np.select([x <= 2 * g, x <= a * g], [soft, middle], default=A)


def kernel(A, gamma, mode):
    out = np.empty_like(A)
    nnz = np.empty(A.shape[1], dtype=np.intp)
    _fit.threshold_columns(np.ascontiguousarray(A), np.asarray(gamma, float), mode, out, nnz)
    return out, nnz


# --------------------------------------------------------------------------- #
# The SCAD function
# --------------------------------------------------------------------------- #
def test_scad_kernel_matches_the_numpy_reference_on_every_piece():
    gamma = np.array([1.0, 2.5, 0.0])
    # each piece, both signs, and the breakpoints gamma, 2 gamma, a gamma exactly
    base = np.array([0.0, 0.5, 1.0, 1.5, 2.0, 2.6, 3.7, 3.71, 9.0])
    A = np.column_stack([np.r_[base, -base] * g if g else np.r_[base, -base] for g in gamma])
    out, nnz = kernel(A, gamma, MODES["scad"])
    expected = scad_reference(A, gamma)
    np.testing.assert_allclose(out, expected, rtol=1e-13, atol=1e-15)
    np.testing.assert_array_equal(nnz, np.count_nonzero(expected, axis=0))
    # gamma = 0 is the identity; at |x| = gamma the value is 0, above a gamma it is x
    np.testing.assert_array_equal(out[:, 2], A[:, 2])
    assert out[2, 0] == 0.0 and out[8, 0] == 9.0 and out[17, 0] == -9.0


def test_scad_is_continuous_between_soft_and_identity():
    x = np.linspace(-12, 12, 24001)[:, None]
    y, _ = kernel(x, [2.0], MODES["scad"])
    soft, _ = kernel(x, [2.0], MODES["soft"])
    assert np.max(np.abs(np.diff(y[:, 0]))) < 3 * (x[1, 0] - x[0, 0])     # no jumps
    assert np.all(np.abs(y) <= np.abs(x) + 1e-15)                          # shrinks
    assert np.all(np.abs(y) >= np.abs(soft) - 1e-15)                       # less than soft
    np.testing.assert_array_equal(y[np.abs(x) > A_SCAD * 2.0], x[np.abs(x) > A_SCAD * 2.0])


@given(arrays(np.float64, st.tuples(st.integers(0, 30), st.integers(1, 4)),
              elements=st.floats(-1e6, 1e6)),
       st.lists(st.floats(0, 1e3), min_size=4, max_size=4))
def test_fuzz_scad_kernel_agrees_with_numpy(A, gammas):
    gamma = np.array(gammas[:A.shape[1]])
    out, nnz = kernel(A, gamma, MODES["scad"])
    expected = scad_reference(A, gamma)
    np.testing.assert_allclose(out, expected, rtol=1e-12, atol=1e-9)
    np.testing.assert_array_equal(nnz, np.count_nonzero(out, axis=0))


def test_fused_product_kernels_apply_scad(rng):
    X = rng.standard_normal((40, 12)) * 3
    W = rng.standard_normal((12, 2))
    U = rng.standard_normal((40, 2))
    gamma = np.array([2.0, 5.0])
    J = np.array([0, 3, 4, 9], dtype=np.intp)
    I = np.array([1, 2, 7, 30, 39], dtype=np.intp)
    out = np.empty((40, 2))
    nnz = np.empty(2, dtype=np.intp)
    _fit.dense_product_rows(X, J, np.ascontiguousarray(W[J].T), 0.5, gamma, 2, out, nnz)
    np.testing.assert_allclose(out, scad_reference(0.5 * X[:, J] @ W[J], gamma), rtol=1e-12)
    out2 = np.empty((12, 2))
    _fit.dense_product_cols(X, I, U, 0.5, gamma, 2, out2, nnz)
    np.testing.assert_allclose(out2, scad_reference(0.5 * X[I].T @ U[I], gamma), rtol=1e-12)
    S = sparse.csc_matrix(X)
    _fit.csc_product_rows(S.data, S.indices, S.indptr, J, W, 0.5, gamma, 2, np.empty(0),
                          np.empty(0), out, nnz)
    np.testing.assert_allclose(out, scad_reference(0.5 * X[:, J] @ W[J], gamma), rtol=1e-12)


@pytest.mark.parametrize("mode", [-1, 3, 100])
def test_a_kernel_rejects_an_unknown_mode_by_name(mode):
    with pytest.raises(ValueError, match=r"mode must be 0 \(hard\), 1 \(soft\) or 2 \(SCAD\)"):
        kernel(np.ones((3, 1)), [1.0], mode)


# --------------------------------------------------------------------------- #
# The estimator option
# --------------------------------------------------------------------------- #
def test_scad_option_recovers_a_planted_rank_one_support():
    rng = np.random.default_rng(7)
    n, p = 400, 80
    u = np.zeros(n)
    v = np.zeros(p)
    u[:30] = rng.choice([-1, 1], 30) * rng.uniform(0.5, 1.0, 30)
    v[10:22] = rng.choice([-1, 1], 12) * rng.uniform(0.5, 1.0, 12)
    u /= np.linalg.norm(u)
    v /= np.linalg.norm(v)
    X = 60.0 * np.outer(u, v) + rng.standard_normal((n, p))
    fits = {t: SparseSVD(1, threshold=t).fit(X) for t in ("hard", "soft", "scad")}
    m = fits["scad"]
    u_hat, v_hat = m.left_singular_vectors_[:, 0], m.components_[0]
    # the whole support is found (no false negatives); at sqrt(2 log n) about 0.4 noise
    # entries per side pass by chance, so allow a stray false positive or two
    for est, true in ((u_hat, u), (v_hat, v)):
        found, truth = set(np.flatnonzero(est)), set(np.flatnonzero(true))
        assert truth <= found and len(found - truth) <= 2
    # SCAD shrinks the entries below a * gamma (most of u here), so u is less accurate than
    # with hard thresholding (0.008 on this seed), but far better than the plain SVD (0.116)
    U, _, Vt = np.linalg.svd(X, full_matrices=False)
    loss_u, loss_v = 1 - (u @ u_hat) ** 2, 1 - (v @ v_hat) ** 2
    assert loss_u < 0.05 and loss_v < 0.01
    assert loss_u < 0.5 * (1 - (u @ U[:, 0]) ** 2) and loss_v < 0.5 * (1 - (v @ Vt[0]) ** 2)
    # a different estimator from hard and soft thresholding
    for other in ("hard", "soft"):
        assert not np.allclose(fits[other].left_singular_vectors_, m.left_singular_vectors_)


def test_scad_with_zero_thresholds_is_the_truncated_svd(rng):
    X = rng.standard_normal((60, 20)) + 8 * np.outer(rng.standard_normal(60),
                                                       rng.standard_normal(20)) / 3
    m = SparseSVD(1, threshold="scad", gamma_u=0.0, gamma_v=0.0, tol=1e-14,
                  max_iter=2000).fit(X)
    _, s, Vt = np.linalg.svd(X, full_matrices=False)
    assert abs(abs(m.components_[0] @ Vt[0]) - 1.0) < 1e-6
    np.testing.assert_allclose(m.singular_values_, s[:1], rtol=1e-6)


def test_threshold_option_names_scad_in_its_error():
    with pytest.raises(ValueError, match="threshold.*scad"):
        SparseSVD(1, threshold="firm").fit(np.random.default_rng(0).standard_normal((20, 10)))


# --------------------------------------------------------------------------- #
# The study
# --------------------------------------------------------------------------- #
@functools.cache
def _small_lung(seed):
    return make_lung_spiked(seed, n_samples=1500, u_sizes=(60, 40, 20))


def _settings(rank_one=4, lung=2, make_lung=_small_lung):
    return [th.Setting("rank_one", "(a) rank one", make_rank_one_ssvd, 1, rank_one),
            th.Setting("lung_sized", "(b) lung", make_lung, 3, lung)]


@pytest.mark.filterwarnings("ignore::statoptim.ssvd.WeakComponentWarning")
def test_every_threshold_gives_finite_losses_and_a_full_table(tmp_path):
    settings = _settings()
    results = th.compute_thresholds(settings, seed=0)
    table = th.tabulate_thresholds(results, settings)
    assert len(table.rows) == 2 * (len(th.CONFIGS) + 1 + 2)
    for s in settings:
        for c in th.CONFIGS:
            r = results[s.key][c]
            assert r["loss_u"].shape == (s.replications,)
            for m in ("loss_u", "loss_v", "seconds"):
                assert np.all(np.isfinite(r[m])) and np.all(r[m] >= 0), (s.key, c, m)
            assert np.all(r["loss_u"] <= s.rank + 1e-12)
    ours = [row for row in table.rows if row["source"] == "here" and row["threshold"] != "none"]
    assert all(math.isfinite(row["loss"]) and row["median_ms"] > 0 for row in ours)
    if installed("matplotlib"):
        path = tmp_path / "f.png"
        th.plot_thresholds(str(path), table, settings)
        assert path.stat().st_size > 10_000


def test_hard_threshold_meets_the_reference_losses():
    """Hard thresholding on the reference's data sets 0-2 of both designs (full size)
    matches the R reference losses within two Monte Carlo standard errors, and beats the
    plain SVD's losses (the oracle-free baseline)."""
    hard = [("hard", "theory"), ("hard", "bootstrap")]
    settings = _settings(rank_one=3, lung=3, make_lung=make_lung_spiked)
    results = th.compute_thresholds(settings, seed=0, configs=hard)
    for s in settings:
        for rule in ("theory", "bootstrap"):
            for name, ours, ref, tol in th.reference_check(results, s.key, rule):
                assert abs(ours - ref) <= tol, (s.key, rule, name, ours, ref, tol)
                assert tol < 0.5 * ref + 0.02        # the tolerance is not vacuous
            for m in ("loss_u", "loss_v"):
                assert results[s.key][("hard", rule)][m].mean() < results[s.key]["svd"][m].mean()


def test_the_verdict_answers_hard_and_says_by_how_much():
    settings = _settings(rank_one=12, lung=1)[:1]
    results = th.compute_thresholds(settings, seed=0)
    v = th.verdict(results, "rank_one")
    assert v["best"][0] == "hard" and v["fastest_good"][0] == "hard"
    assert all(c[0] == "hard" for c in v["good"])
    assert min(v["ratio"][c] for c in th.CONFIGS if c[0] != "hard") > 2.0
    text = th.verdict_text(results, settings)
    assert "rank_one: best hard/" in text and "soft/theory" in text


@pytest.mark.filterwarnings("ignore::statoptim.ssvd.WeakComponentWarning")
def test_reproduce_ssvd_writes_the_threshold_table_and_figure(tmp_path, monkeypatch, capsys):
    from statoptim.cli import main

    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("STATOPTIM_DATA", str(tmp_path / "none"))
    out = tmp_path / "out"
    assert main(["reproduce", "ssvd", "--repeats", "1", "--no-sparsepca", "--replications",
                 "1", "--threshold-replications", "3", "--no-progress", "--out",
                 str(out)]) == 0
    printed = capsys.readouterr().out
    assert "Answer to the talk's question" in printed and "lung_sized: best " in printed
    with open(out / "ssvd_thresholds.csv", newline="") as f:
        rows = list(csv.DictReader(f))
    doc = json.loads((out / "ssvd_thresholds.json").read_text())
    assert len(rows) == len(doc["rows"]) == 18
    here = [r for r in doc["rows"] if r["source"] == "here" and r["threshold"] != "none"]
    assert {(r["threshold"], r["rule"]) for r in here} == set(th.CONFIGS)
    assert {r["data_sets"] for r in here if r["setting"] == "rank_one"} == {3}
    assert all(r["loss_u"] >= 0 and r["median_ms"] > 0 for r in here)
    if installed("matplotlib"):
        assert (out / th.FIGURE).stat().st_size > 10_000
