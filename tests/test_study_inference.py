"""The coverage study of the quantile regression intervals: replication, summary, CLI."""
import math

import numpy as np
import pytest
from scipy import stats

from statoptim import QuantileRegressor
from statoptim.cli import main
from statoptim.studies import inference as study
from statoptim.studies._engine import load_results, replication_seed, run_grid

SETTING = {"design": "hetero", "errors": "normal", "n": 100, "q": 0.25,
           "methods": list(study.METHODS), "n_boot": 20}


def _table(text):
    """The printed coverage tables, without the timing lines."""
    return text[text.index("Slope:"):text.index("Median milliseconds")]


def test_replication_gives_sane_intervals_and_is_a_pure_function_of_its_seed():
    a = study.replicate(dict(SETTING), np.random.default_rng(5))
    b = study.replicate(dict(SETTING), np.random.default_rng(5))
    assert {k: v for k, v in a.items() if not k.endswith("_seconds")} == \
        {k: v for k, v in b.items() if not k.endswith("_seconds")}
    for method in study.METHODS:
        assert a[f"{method}_failed"] == 0
        assert a[f"{method}_seconds"] >= 0
        for coef in ("intercept", "slope"):
            lo, hi = a[f"{method}_{coef}_lo"], a[f"{method}_{coef}_hi"]
            hat = a[f"{coef}_hat"]
            assert lo < hat < hi, (method, coef, lo, hat, hi)
            # an interval at n = 100 is neither a point nor wider than the data's range
            assert 0.05 < hi - lo < 10, (method, coef, hi - lo)
    # another seed, another sample
    c = study.replicate(dict(SETTING), np.random.default_rng(6))
    assert c["slope_hat"] != a["slope_hat"]


def test_a_methods_interval_does_not_depend_on_the_other_methods():
    alone = study.replicate({**SETTING, "methods": ["boot-wild"]}, np.random.default_rng(9))
    together = study.replicate(dict(SETTING), np.random.default_rng(9))
    for key in ("boot-wild_slope_lo", "boot-wild_slope_hi", "boot-wild_intercept_lo",
                "slope_hat"):
        assert alone[key] == together[key]
    assert "rank_slope_lo" not in alone


@pytest.mark.parametrize("design", study.DESIGNS)
@pytest.mark.parametrize("errors", study.ERRORS)
def test_truth_is_the_quantile_line_of_the_simulated_data(design, errors):
    """Planted truth: a fit on a large sample lands on truth() (not on the mean line)."""
    q = 0.8
    X, y = study.simulate(design, errors, 40_000, np.random.default_rng(1))
    assert X.shape == (40_000, 1) and y.shape == (40_000,)
    assert X.min() >= 0 and X.max() <= 2
    fit = QuantileRegressor(quantile=q).fit(X, y)
    intercept, slope = study.truth(design, errors, q)
    # standard errors here are about 0.02 (slope) and 0.025 (intercept)
    assert fit.coef_[0] == pytest.approx(slope, abs=0.1)
    assert fit.intercept_ == pytest.approx(intercept, abs=0.1)
    eq = stats.norm.ppf(q) if errors == "normal" else stats.t.ppf(q, 3)
    assert slope - 2 == pytest.approx(eq if design == "hetero" else 0.0, abs=1e-12)


def test_truth_and_simulate_reject_bad_arguments():
    with pytest.raises(ValueError, match="design"):
        study.truth("linear", "normal", 0.5)
    with pytest.raises(ValueError, match="q"):
        study.truth("iid", "normal", 1.0)
    with pytest.raises(ValueError, match="errors"):
        study.simulate("iid", "cauchy", 10, np.random.default_rng(0))
    with pytest.raises(TypeError, match="rng"):
        study.simulate("iid", "normal", 10, 0)


def test_summary_coverage_mcse_and_length():
    base = {"design": "iid", "errors": "normal", "n": 50, "q": 0.5, "methods": ["iid"]}
    _, slope = study.truth("iid", "normal", 0.5)
    intervals = [(slope - 1, slope + 1), (slope + 0.5, slope + 1.5), (-np.inf, slope + 2),
                 (np.nan, np.nan)]
    records = []
    for lo, hi in intervals:
        records.append({**base, "iid_slope_lo": lo, "iid_slope_hi": hi,
                        "iid_intercept_lo": 0.0, "iid_intercept_hi": 2.0,
                        "iid_failed": int(np.isnan(lo)), "iid_warnings": 1})
    rows = study.summarize(records)
    slope_row = next(r for r in rows if r["coef"] == "slope")
    assert slope_row["replications"] == 3
    assert slope_row["coverage"] == pytest.approx(2 / 3)
    assert slope_row["mcse"] == pytest.approx(math.sqrt(2 / 9 / 3))
    assert slope_row["z"] == pytest.approx((2 / 3 - 0.95) / math.sqrt(0.95 * 0.05 / 3))
    assert slope_row["mean_length"] == pytest.approx(1.5)  # the two finite intervals
    assert slope_row["infinite"] == 1 and slope_row["failed"] == 1
    assert slope_row["warnings"] == 4
    intercept_row = next(r for r in rows if r["coef"] == "intercept")
    assert intercept_row["coverage"] == 1.0  # truth 1 + 0 lies in [0, 2]


def test_coverage_is_near_95_percent_on_the_iid_design():
    """150 replications of two fast methods: a wrong truth, swapped ends or a
    mis-scaled interval would push the coverage far outside [0.88, 0.995]
    (the binomial SD at 95% is 1.8 points)."""
    settings = study.settings_grid(["iid"], ["normal"], [150], [0.5], ["nid", "iid"], 200)
    assert settings == [{"design": "iid", "errors": "normal", "n": 150, "q": 0.5,
                         "methods": ["iid", "nid"]}]  # METHODS order; no n_boot
    records = run_grid(study.replicate, settings, 150, seed=2, backend="serial",
                       progress=False)
    for row in study.summarize(records):
        assert 0.88 <= row["coverage"] <= 0.995, row


def test_command_line_table_resume_and_reproducibility(tmp_path, capsys):
    args = ["reproduce", "inference", "--replications", "20", "--n", "100",
            "--quantiles", "0.5", "--methods", "iid", "rank", "--no-figures",
            "--no-progress", "--jobs", "1", "--seed", "4"]
    out_dir = tmp_path / "results"
    assert main(args + ["--out", str(out_dir)]) == 0
    first = capsys.readouterr().out
    table = _table(first)
    for needle in ("cover %", "MCSE %", "mean length", "rank", "iid", "hetero"):
        assert needle in table
    # 2 coefficients x 2 methods x 2 designs rows with 20 replications each
    assert table.count(" 20 ") >= 8
    assert "40 replications in" in first

    # the stored records are replicate() at the engine's seeds: a pure function
    records = load_results(out_dir)
    rec = records[-1]
    setting = {k: rec[k] for k in ("design", "errors", "n", "q", "methods")}
    again = study.replicate(setting, np.random.default_rng(
        replication_seed(4, 1, rec["replication"])))
    assert again["rank_slope_lo"] == rec["rank_slope_lo"]
    assert again["iid_intercept_hi"] == rec["iid_intercept_hi"]

    # same seed, no results folder: the same table; the folder rebuilds it too
    assert main(args) == 0
    assert _table(capsys.readouterr().out) == table
    assert main(args + ["--out", str(out_dir), "--summarize-only"]) == 0
    assert _table(capsys.readouterr().out) == table
    # another seed, other numbers
    assert main(args[:-1] + ["5"]) == 0
    assert _table(capsys.readouterr().out) != table


def test_command_line_figure_and_its_absence(tmp_path, capsys, monkeypatch):
    pytest.importorskip("matplotlib")
    import statoptim.studies._output as output_module

    args = ["reproduce", "inference", "--replications", "3", "--n", "60", "--quantiles",
            "0.5", "--methods", "iid", "ker", "--designs", "hetero", "--no-progress",
            "--jobs", "1"]
    out_dir = tmp_path / "with"
    assert main(args + ["--out", str(out_dir)]) == 0
    capsys.readouterr()
    figure = out_dir / study.FIGURE
    assert figure.stat().st_size > 10_000
    assert (out_dir / "inference_coverage.csv").exists()
    assert (out_dir / "inference_coverage.json").exists()
    monkeypatch.setattr(output_module, "installed", lambda name: name != "matplotlib")
    other = tmp_path / "without"
    assert main(args + ["--out", str(other)]) == 0
    err = capsys.readouterr().err
    assert "figures skipped: matplotlib is not installed" in err
    assert not (other / study.FIGURE).exists()


@pytest.mark.parametrize("bad, option", [
    (["--methods", "sandwich"], "--methods"),
    (["--quantiles", "1.5"], "--quantiles"),
    (["--n", "5"], "--n"),
    (["--n-boot", "1"], "--n-boot"),
    (["--errors", "cauchy"], "--errors"),
])
def test_command_line_rejects_bad_options(bad, option, capsys):
    assert main(["reproduce", "inference", "--no-figures"] + bad) == 2
    err = capsys.readouterr().err
    assert option in err and "\n" not in err.rstrip("\n")
