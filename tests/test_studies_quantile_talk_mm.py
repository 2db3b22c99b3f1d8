"""The quantile study at the talk's sample sizes and the talk's MM (a plain reference)."""
import json

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from statoptim.cli import main
from statoptim.studies import quantile as study
from statoptim.studies.quantile_solver import lp_quantile_objective
from statoptim.studies.quantile_talk_mm import check_loss, talk_epsilon, talk_mm


@pytest.mark.parametrize("n", [1, 50, 2000, 10**6])
@pytest.mark.parametrize("tau", [1e-12, 1e-6, 1e-3])
def test_talk_epsilon_solves_the_talks_rule(n, tau):
    e = talk_epsilon(n, tau)
    assert 0 < e < np.exp(-1)
    assert e * n * abs(np.log(e)) == pytest.approx(tau, rel=1e-12)


@pytest.mark.parametrize("n, tau, what", [(0, 1e-6, "n must"), (2.5, 1e-6, "n must"),
                                          (10, 0.0, "tau must"), (10, 1.0, "tau must"),
                                          (10, "x", "tau must")])
def test_talk_epsilon_refuses_bad_input(n, tau, what):
    with pytest.raises(ValueError, match=what):
        talk_epsilon(n, tau)


def _problem(n=300, seed=0):
    rng = np.random.default_rng(seed)
    Z = np.column_stack([np.ones(n), rng.standard_normal(n), rng.uniform(-3, 3, n)])
    y = Z @ [0.0, 4.5, -2.0] + rng.standard_normal(n)
    w = rng.uniform(0.5, 3.0, n)
    return Z, y, w


@pytest.mark.parametrize("q", [0.25, 0.5, 0.75])
def test_talk_mm_never_beats_the_exact_optimum_and_the_paper_rule_gets_close(q):
    """Against an independent exact solver (HiGHS): the MM's weighted check
    loss is >= the LP optimum; with Hunter and Lange's rule it stops within
    1e-3 (relative), with the printed rule after one iteration, further away."""
    Z, y, w = _problem()
    best, _ = lp_quantile_objective(Z, y, q, sample_weight=w)
    paper, info = talk_mm(Z, y, w, q, rule="paper")
    printed, info1 = talk_mm(Z, y, w, q, rule="printed")
    gap = (check_loss(Z, y, w, paper, q) - best) / best
    gap1 = (check_loss(Z, y, w, printed, q) - best) / best
    assert -1e-9 <= gap < 1e-3 and info["status"] == "converged" and info["n_iter"] > 1
    assert info1["n_iter"] == 1 and gap1 >= gap
    assert info["epsilon"] == talk_epsilon(len(y), 1e-6)


def test_talk_mm_reports_max_iter_and_refuses_an_unknown_rule():
    Z, y, w = _problem(100)
    _, info = talk_mm(Z, y, w, 0.5, tau=1e-12, max_iter=2)
    assert info == {"n_iter": 2, "epsilon": talk_epsilon(100, 1e-12), "status": "max_iter"}
    with pytest.raises(ValueError, match="rule must be one of"):
        talk_mm(Z, y, w, 0.5, rule="slide")


def test_the_talks_mm_explains_little_of_the_talks_bias():
    """One design A replication at the talk's worst cell (C50 M30, talk bias
    -2.26 at q = 0.5): the talk's MM with Hunter and Lange's rule lands within
    0.1 of the exact slope, far from a shift of -2; the gap is >= 0."""
    setting = {"design": "talk", "censoring": 0.5, "missing": 0.3, "n": 500}
    out = study.replicate(setting, np.random.default_rng(4))
    for q in study.QUANTILES:
        for rule in study.TALK_MM_RULES:
            assert out[f"talkmm_{rule}_gap_q{q}"] >= -1e-9
        assert abs(out[f"talkmm_paper_theta1_q{q}"] - out[f"ipw_theta1_q{q}"]) < 0.1
        assert out[f"talkmm_paper_gap_q{q}"] < 1e-2
        assert out["talkmm_printed_iter_q0.5"] == 1.0


def test_settings_take_several_sizes():
    grid = study._settings([60, 50, 60])
    assert [s["n"] for s in grid] == [60] * 7 + [50] * 7
    assert study._settings(60) == study._settings([60])


def test_reproduce_writes_one_row_per_size_and_the_talks_mm_tables(tmp_path, capsys):
    out = tmp_path / "results"
    code = main(["reproduce", "quantile", "--n", "50", "80", "--replications", "2",
                 "--timing-n", "--no-progress", "--jobs", "2", "--no-figures",
                 "--out", str(out)])
    assert code == 0
    printed = capsys.readouterr().out
    assert "The talk's MM" in printed and "MM H-L: bias" in printed

    def rows(name):
        return json.loads((out / f"{name}.json").read_text())["rows"]

    for letter in "ab":
        bias = rows(f"quantile_bias_mse_design_{letter}")
        assert len(bias) == 2 * 18 and {r["n"] for r in bias} == {50, 80}
        # rows run over (coef, cell, q) and then n: the sizes side by side
        assert [r["n"] for r in bias[:4]] == [50, 80, 50, 80]
        mm = rows(f"quantile_talk_mm_design_{letter}")
        assert len(mm) == 2 * 9
        for r in mm:
            for rule in study.TALK_MM_RULES:
                assert r[f"{rule}_gap"] >= -1e-9 and r[f"{rule}_gap_max"] >= r[f"{rule}_gap"]
            assert r["printed_iter"] == 1.0 and r["paper_iter"] >= 1.0
            assert r["talk_bias"] == study.TALK_TABLE["theta1"][
                {"C25 M30": (0.25, 0.3), "C50 M30": (0.5, 0.3),
                 "C25 M50": (0.25, 0.5)}[r["cell"]]][r["q"]][0]
    assert [r["n"] for r in rows("quantile_bias_mse_design_c")] == [50] * 6 + [80] * 6
    timing = rows("quantile_time_in_study")
    assert [r["n"] for r in timing] == [50, 80]
    assert all(r["ipw_ms"] > 0 and r["talkmm_paper_ms"] > 0 and r["talk_s"] is None
               for r in timing)


@given(n=st.integers(5, 40), q=st.floats(0.05, 0.95), seed=st.integers(0, 2**32 - 1),
       rule=st.sampled_from(["printed", "paper"]))
def test_fuzz_talk_mm_objective_is_finite_and_at_least_the_lp_optimum(n, q, seed, rule):
    rng = np.random.default_rng(seed)
    Z = np.column_stack([np.ones(n), rng.standard_normal((n, 2))])
    y = Z @ rng.normal(size=3) + rng.standard_t(2, size=n)
    w = rng.uniform(0.1, 5.0, n)
    best, _ = lp_quantile_objective(Z, y, q, sample_weight=w)
    theta, info = talk_mm(Z, y, w, q, rule=rule, max_iter=200)
    assert np.all(np.isfinite(theta)) and info["status"] in ("converged", "max_iter")
    assert check_loss(Z, y, w, theta, q) >= best * (1 - 1e-9) - 1e-12
