"""The censored-data study: its replication, its summary and its command line."""
import json

import numpy as np
import pytest

from statoptim.cli import main
from statoptim.studies import quantile as study


def test_replication_is_a_pure_function_of_its_seed():
    setting = {"design": "identifiable", "censoring": 0.25, "missing": 0.3, "n": 300}
    a = study.replicate(setting, np.random.default_rng(3))
    b = study.replicate(setting, np.random.default_rng(3))
    for key in a:
        if not key.endswith("seconds"):  # wall times
            assert a[key] == b[key]
    assert 0 < a["n_eff"] <= 300


def test_design_b_is_nearly_unbiased_and_design_a_is_not():
    """Planted truth: under random censoring the IPW slope is close to 4.5,
    under the talk's fixed cut at 50% censoring it is pulled towards 0.

    At n = 3000 the sampling SD of theta1 is about 0.05 (design B, C50 M30),
    so 0.2 is four SDs; the fixed-cut bias is about -0.3 (spec section 6).
    """
    rng = np.random.default_rng(11)
    setting = {"censoring": 0.5, "missing": 0.3, "n": 3000}
    b = study.replicate({**setting, "design": "identifiable"}, rng)
    a = study.replicate({**setting, "design": "talk"}, rng)
    assert abs(b["ipw_theta1_q0.5"] - 4.5) < 0.2
    assert a["ipw_theta1_q0.5"] < 4.5 - 0.15


def test_summary_bias_and_mse():
    records = [
        {"design": "talk", "censoring": 0.25, "missing": 0.3, "seconds": 0.01,
         "n_eff": 100.0, "max_weight_share": 0.1,
         **{f"{e}_{c}_q{q}": (4.5 if c == "theta1" else -2.0) + d
            for e in ("ipw", "oracle") for c in ("theta1", "theta2")
            for q in study.QUANTILES}}
        for d in (-0.1, 0.3)
    ]
    cell = study.summarize(records)[("talk", 0.25, 0.3)]
    bias, mse, values = cell["ipw_theta1_q0.5"]
    assert bias == pytest.approx(0.1, rel=1e-12)
    assert mse == pytest.approx((0.01 + 0.09) / 2, rel=1e-12)
    assert values.shape == (2,)


def test_command_line_writes_tables_and_figure(tmp_path, capsys):
    pytest.importorskip("matplotlib")
    out = tmp_path / "results"
    code = main(["reproduce", "quantile", "--replications", "2", "--n", "200",
                 "--timing-n", "--no-progress", "--jobs", "1", "--out", str(out)])
    assert code == 0
    printed = capsys.readouterr().out
    assert "Design A" in printed and "Design B" in printed and "talk bias" in printed
    assert (out / "quantile_theta1_boxplot.png").stat().st_size > 10_000
    # the stored results rebuild the same tables without computing anything, and
    # --summarize-only says how many replications that is (all stored: 2 per setting)
    code = main(["reproduce", "quantile", "--n", "200", "--timing-n", "--no-figures",
                 "--summarize-only", "--out", str(out)])
    assert code == 0
    again, err = capsys.readouterr()
    table = printed[printed.index("Design A"):printed.index("replications in")]
    assert table == again[again.index("Design A"):again.index("replications in")]
    # 6 settings of designs A and B, 1 of design C
    assert "14 stored replications" in err and "(2 per setting x 7 settings)" in err


# ------------------------------------------------------------- design C and coverage


def test_design_c_replication_is_a_pure_function_of_its_seed():
    setting = {"design": "covariate", "n": 200}
    a = study.replicate(setting, np.random.default_rng(5))
    b = study.replicate(setting, np.random.default_rng(5))
    assert a == b
    for est in study.DESIGN_C_ESTIMATORS:
        assert a[f"{est}_failed"] == 0.0
        for q in study.QUANTILES:
            assert np.isfinite(a[f"{est}_theta1_q{q}"]) and np.isfinite(a[f"{est}_theta0_q{q}"])
    assert 0.35 < a["censored_share"] < 0.7


def test_design_c_simulates_the_stated_model():
    """About 52% censored (the brief's figure), x on [0, 2], the stated truths."""
    X, _y, event = study.make_design_c(20_000, np.random.default_rng(0))
    assert X.shape == (20_000, 1) and 0.0 <= X.min() and X.max() <= 2.0
    assert event.mean() == pytest.approx(0.48, abs=0.02)
    assert study.design_c_truth("theta0", 0.5) == 1.0
    assert study.design_c_truth("theta0", 0.25) == pytest.approx(1 - 0.6744897501960817)
    assert study.design_c_truth("theta1", 0.75) == 2.0


def test_design_c_marginal_weights_warn_and_the_conditional_estimators_recover_the_slope():
    """Planted truth, slope 2 at n = 2000: the conditional and Peng-Huang fits
    have a sampling SD of about 0.1 at the median (10 replications measured),
    so 0.35 is 3.5 SDs; the marginal IPW fit is pulled down to about 1.45 and
    its DependentCensoringWarning (score test, p < 0.001) is counted, not shown."""
    out = study.replicate({"design": "covariate", "n": 2000}, np.random.default_rng(2))
    assert abs(out["conditional_theta1_q0.5"] - 2.0) < 0.35
    assert abs(out["peng_huang_theta1_q0.5"] - 2.0) < 0.35
    assert out["marginal_theta1_q0.5"] < 2.0 - 0.2
    assert out["marginal_warned"] == 1.0
    assert out["conditional_warned"] == 0.0 and out["peng_huang_warned"] == 0.0


def _c_record(delta, failed_ph=False):
    rec = {"design": "covariate", "n": 100, "censored_share": 0.5}
    for est in study.DESIGN_C_ESTIMATORS:
        failed = failed_ph and est == "peng_huang"
        rec[f"{est}_failed"] = float(failed)
        rec[f"{est}_warned"] = float(est == "marginal")
        for coef in ("theta0", "theta1"):
            for q in study.QUANTILES:
                value = study.design_c_truth(coef, q) + delta
                rec[f"{est}_{coef}_q{q}"] = np.nan if failed else value
    return rec


def test_design_c_summary_leaves_failed_fits_out_and_counts_them():
    cell = study.summarize_design_c([_c_record(-0.1), _c_record(0.3),
                                     _c_record(0.5, failed_ph=True)])
    bias, mse, n_ok = cell["conditional_theta1_q0.5"]
    assert bias == pytest.approx(0.7 / 3) and mse == pytest.approx(0.35 / 3) and n_ok == 3
    bias, mse, n_ok = cell["peng_huang_theta0_q0.25"]
    assert bias == pytest.approx(0.1) and mse == pytest.approx(0.05) and n_ok == 2
    assert cell["peng_huang_failed"] == 1 and cell["marginal_failed"] == 0
    assert cell["marginal_warned"] == 1.0 and cell["replications"] == 3
    # designs A and B ignore design C records
    assert study.summarize([_c_record(0.0)]) == {}
    assert study.summarize_design_c([]) is None


def test_coverage_summary_and_its_monte_carlo_standard_error():
    def rec(lo, hi, failed=False):
        r = {"design": "covariate", "n": 100, "n_boot": 50, "boot_failed": float(failed)}
        for q in study.QUANTILES:
            r[f"boot_lo_q{q}"], r[f"boot_hi_q{q}"] = (np.nan, np.nan) if failed else (lo, hi)
            r[f"boot_covers_q{q}"] = np.nan if failed else float(lo <= 2.0 <= hi)
        return r

    records = [rec(1.5, 2.5), rec(1.0, 3.0), rec(2.1, 2.3), rec(1.9, 2.1), rec(0, 0, True)]
    rows = study.summarize_coverage(records)
    assert len(rows) == len(study.QUANTILES)
    row = rows[0]
    assert row["design"] == "C" and row["estimator"] == "conditional"
    assert row["coverage"] == pytest.approx(0.75)
    assert row["mc_se"] == pytest.approx(np.sqrt(0.75 * 0.25 / 4))
    assert row["width"] == pytest.approx((1.0 + 2.0 + 0.2 + 0.2) / 4)
    assert row["replications"] == 4 and row["failed"] == 1 and row["n_boot"] == 50
    assert study.summarize_coverage([_c_record(0.0)]) == []  # no --coverage: no table


def test_tiny_run_writes_the_design_c_and_coverage_tables(tmp_path, capsys):
    out = tmp_path / "results"
    code = main(["reproduce", "quantile", "--replications", "2", "--n", "60", "--timing-n",
                 "--no-progress", "--jobs", "1", "--no-figures", "--coverage", "--n-boot", "20",
                 "--out", str(out)])
    assert code == 0
    printed = capsys.readouterr().out
    assert "Design C" in printed and "Peng-Huang bias" in printed and "Coverage" in printed
    rows = json.loads((out / "quantile_bias_mse_design_c.json").read_text())["rows"]
    assert [(r["coef"], r["q"]) for r in rows] == [
        (c, q) for c in ("theta1", "theta0") for q in study.QUANTILES]
    for r in rows:
        for est in study.DESIGN_C_ESTIMATORS:
            assert np.isfinite(r[f"{est}_bias"]) and r[f"{est}_mse"] >= 0
        assert r["replications"] == 2 and 0 <= r["marginal_warned"] <= 1
    coverage = json.loads((out / "quantile_bootstrap_coverage.json").read_text())["rows"]
    assert [r["design"] for r in coverage] == ["B"] * 9 + ["C"] * 3
    for r in coverage:
        assert r["replications"] + r["failed"] == 2 and r["n_boot"] == 20
        if r["replications"]:
            assert 0 <= r["coverage"] <= 1 and r["width"] > 0


def test_n_boot_without_coverage_is_refused(capsys):
    code = main(["reproduce", "quantile", "--n", "60", "--n-boot", "50", "--timing-n",
                 "--no-progress"])
    assert code != 0
    assert "argument --n-boot" in capsys.readouterr().err
