"""Compare ``summary(se="rank")`` intervals with R quantreg's on simulated designs.

Run from the repository root (needs Rscript with quantreg):

    python benchmarks/rank_vs_r.py           # the comparison table and the max difference
    python benchmarks/rank_vs_r.py --emit    # also the literal pasted into tests/test_rank_vs_r.py

The cases and their data come from ``tests/test_rank_vs_r.py`` (``CASES``,
``make_case``); ``benchmarks/r_rank_compare.R`` fits each with ``rq`` and prints
``coef(summary(fit, se = "rank", alpha = alpha))`` for alpha = 0.05 and 0.1. Besides
the relative differences, the rank statistic ``|T(b)|`` just inside each R bound is
recomputed from independent exact restricted fits (``Restricted.probe`` of
``statoptim.quantile.harness``; "max|T| in",
below the cutoff ``qt(1 - alpha/2, n - p)``), and "same T" says whether it equals
``|T|`` just inside our bound (the same constant stretch of the step function).
The degenerate cases (``DEGENERATE_CASES``: p = 2, n tau an integer) are listed
apart from the maximum: there R's interpolated bound depends on its pivoting.
"""
import argparse
import importlib.util
import subprocess
import sys
import tempfile
from pathlib import Path

import numpy as np
from scipy import stats

from statoptim import QuantileRegressor
from statoptim.quantile.harness import Restricted

ROOT = Path(__file__).resolve().parent.parent
SOLVER = {"tol": 1e-5, "max_iter": 1000, "max_pivots": None, "preprocess": False}


def _load_cases():
    spec = importlib.util.spec_from_file_location("rank_cases",
                                                  ROOT / "tests" / "test_rank_vs_r.py")
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return {**mod.CASES, **mod.DEGENERATE_CASES}, mod.make_case, mod.DEGENERATE_CASES


def run_r(cases, make_case):
    """R's tables: {(name, alpha): array (p, 3)} and {name: sum(y) as R read it}."""
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        rows = ["name,tau,intercept,weighted"]
        for name in cases:
            X, y, w, tau, intercept = make_case(name)
            cols = [y, X] + ([w] if w is not None else [])
            head = ["y"] + [f"x{j + 1}" for j in range(X.shape[1])] + (["w"] if w is not None
                                                                         else [])
            np.savetxt(tmp / f"{name}.csv", np.column_stack(cols), delimiter=",",
                       header=",".join(head), comments="", fmt="%.17g")
            rows.append(f"{name},{tau},{int(intercept)},{int(w is not None)}")
        (tmp / "cases.csv").write_text("\n".join(rows) + "\n")
        out = subprocess.run(["Rscript", str(ROOT / "benchmarks" / "r_rank_compare.R"),
                              str(tmp)], capture_output=True, text=True, check=True)
    tables, sums = {}, {}
    for line in out.stdout.splitlines():
        if not line.startswith("case "):
            continue
        _, name, alpha, _, *vals = line.split()
        tables.setdefault((name, float(alpha)), []).append([float(v) for v in vals[:3]])
        sums[name] = float(vals[3])
    return {k: np.array(v) for k, v in tables.items()}, sums


def statistic_at(X, y, w, tau, intercept, j, b):
    """|T(b)| for coefficient j from an exact restricted fit at b (no walk)."""
    Z = np.column_stack([np.ones(len(y)), X]) if intercept else X
    w = np.ones(len(y)) if w is None else w
    Zt = w[:, None] * Z
    qn = 1.0 / np.diag(np.linalg.inv(Zt.T @ Zt))
    fit = Restricted(np.delete(Z, j, axis=1), Z[:, j], y, w, tau, SOLVER)
    found = fit.probe(b, 1.0)
    return abs(float(fit.c @ found[1][0])) / np.sqrt(qn[j] * tau * (1 - tau))


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--emit", action="store_true",
                        help="print the R_RANK_SIM literal for tests/test_rank_vs_r.py")
    args = parser.parse_args()
    cases, make_case, degenerate = _load_cases()
    tables, sums = run_r(cases, make_case)
    worst_rel = worst_width = 0.0
    print(f"{'case':42s} {'alpha':>5s} {'max rel diff':>12s} {'in widths':>10s} "
          f"{'max|T| in':>9s} {'same T':>7s} {'cutoff':>7s}")
    for name in cases:
        X, y, w, tau, intercept = make_case(name)
        model = QuantileRegressor(tau, fit_intercept=intercept).fit(X, y, sample_weight=w)
        for alpha in (0.05, 0.1):
            r = tables[(name, alpha)]
            res = model.summary(X, y, w, se="rank", alpha=alpha)
            ours = np.column_stack([res.coef, res.conf_int])
            rel = float(np.max(np.abs(ours - r) / np.abs(r)))
            width = r[:, 2] - r[:, 1]
            in_w = float(np.max(np.abs(ours[:, 1:] - r[:, 1:]) / width[:, None]))
            # the statistic just inside R's bounds and ours, from independent exact fits
            t_r, t_ours = [], []
            for j in range(r.shape[0]):
                for side, sgn in ((1, -1.0), (2, 1.0)):
                    eps = 1e-7 * width[j]
                    t_r.append(statistic_at(X, y, w, tau, intercept, j, r[j, side] - sgn * eps))
                    t_ours.append(statistic_at(X, y, w, tau, intercept, j,
                                               ours[j, side] - sgn * eps))
            same = np.allclose(t_r, t_ours, rtol=1e-9, atol=0)
            cutoff = stats.t.ppf(1 - alpha / 2, len(y) - r.shape[0])
            tag = " (degenerate)" if name in degenerate else ""
            if name not in degenerate:
                worst_rel, worst_width = max(worst_rel, rel), max(worst_width, in_w)
            print(f"{name + tag:42s} {alpha:5.2f} {rel:12.2e} {in_w:10.2e} {max(t_r):9.4f} "
                  f"{same!s:>7s} {cutoff:7.4f}")
    n_reg = 2 * (len(cases) - len(degenerate))
    print(f"max relative difference over the {n_reg} non-degenerate (case, alpha): "
          f"{worst_rel:.2e} "
          f"({worst_width:.2e} interval widths)")
    if args.emit:
        print("\nCHECK = {")
        for name in cases:
            print(f'    "{name}": {sums[name]!r},')
        print("}\n\nR_RANK_SIM = {")
        for (name, alpha), r in tables.items():
            print(f'    ("{name}", {alpha}): [')
            for row in r:
                print("        [" + ", ".join(repr(float(v)) for v in row) + "],")
            print("    ],")
        print("}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
