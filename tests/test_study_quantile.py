"""The censored-data study: its replication, its summary and its command line."""
import numpy as np
import pytest

from statoptim.cli import main
from statoptim.studies import quantile as study


def test_replication_is_a_pure_function_of_its_seed():
    setting = {"design": "identifiable", "censoring": 0.25, "missing": 0.3, "n": 300}
    a = study.replicate(setting, np.random.default_rng(3))
    b = study.replicate(setting, np.random.default_rng(3))
    for key in a:
        if key != "seconds":
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
    assert "12 stored replications" in err and "(2 per setting x 6 settings)" in err
