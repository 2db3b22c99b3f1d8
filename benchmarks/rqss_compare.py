"""Partially linear censored quantile regression against R's ``rqss``.

Run from the repository root (R with quantreg is used when ``Rscript`` is on the
PATH; without it only our side runs and R's columns say so):

    python benchmarks/rqss_compare.py                  # n = 500, 1000, 2000, 5000
    python benchmarks/rqss_compare.py --n 500 1000 --seeds 3
    python benchmarks/rqss_compare.py --emit           # the literals of the test's R case

The data are those of ``tests/test_censored_spline.py`` (``rqss_data``):
``T = 1 + 2 z + sin(2 pi w) + 0.3 e``, ``C ~ N(3, 1.5)`` independent (about 20%
censored), rounded to 4 decimals. Ours: ``CensoredQuantileRegressor(0.5,
spline_column=0)`` (Kaplan-Meier weights, cubic B-spline, knots by SIC). R's:
``rqss(y ~ z + qss(w, lambda = L), tau = 0.5, weights = weight)`` on the rows
with positive weight, with our Kaplan-Meier weights (``weights_``), ``L`` chosen
by ``AIC(fit, k = -1)`` (Schwarz) over 16 values from 0.02 to 20
(``benchmarks/r_rqss.R``). Both estimate the conditional median
``1 + 2 z + sin(2 pi w)``; the table gives each one's sup distance to it on the
grid ``w = 0.05, 0.10, ..., 0.95`` at ``z = 0`` (level included), the error of
the slope, their sup distance to each other and the CPU times: ours best of
``--repeats`` fits (the knot search included), R's whole lambda search and one
fit at the chosen lambda (best of ``--repeats``).
"""
import argparse
import importlib.util
import shutil
import subprocess
import sys
import tempfile
import time
import warnings
from pathlib import Path

import numpy as np

from statoptim import CensoredQuantileRegressor

ROOT = Path(__file__).resolve().parent.parent


def _load_test_module():
    sys.path.insert(0, str(ROOT / "tests"))  # the test imports a helper of another test
    spec = importlib.util.spec_from_file_location(
        "censored_spline_cases", ROOT / "tests" / "test_censored_spline.py")
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


def ours(X, y, event, tau, repeats):
    """The fitted model and its best-of-``repeats`` CPU time."""
    best = np.inf
    for _ in range(repeats):
        start = time.process_time()
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # a ConvergenceWarning would be reported below
            model = CensoredQuantileRegressor(tau, spline_column=0).fit(X, y, event=event)
        best = min(best, time.process_time() - start)
    return model, best


def run_r(cases, grid):
    """{name: (lambda, select_s, fit_s, theta, g_on_grid)} from benchmarks/r_rqss.R."""
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        rows = ["name,tau,lambda,repeats"]
        for name, (X, y, weights, tau, lam, repeats) in cases.items():
            keep = weights > 0
            np.savetxt(tmp / f"{name}.csv",
                       np.column_stack([X[keep, 0], X[keep, 1], y[keep], weights[keep]]),
                       delimiter=",", header="w,z,y,weight", comments="", fmt="%.17g")
            rows.append(f"{name},{tau},{'NA' if lam is None else repr(lam)},{repeats}")
        (tmp / "cases.csv").write_text("\n".join(rows) + "\n")
        np.savetxt(tmp / "grid.csv", grid, header="w", comments="", fmt="%.17g")
        out = subprocess.run(["Rscript", str(ROOT / "benchmarks" / "r_rqss.R"), str(tmp)],
                             capture_output=True, text=True, check=True)
    fits, g = {}, {}
    for line in out.stdout.splitlines():
        parts = line.split()
        if parts[:1] == ["fit"]:
            fits[parts[1]] = tuple(float(v) for v in parts[2:6])
        elif parts[:1] == ["g"]:
            g.setdefault(parts[1], []).append(float(parts[3]))
    return {name: fits[name] + (np.array(g[name]),) for name in fits}


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, nargs="+", default=[500, 1000, 2000, 5000])
    parser.add_argument("--seeds", type=int, default=1, help="replications per n")
    parser.add_argument("--repeats", type=int, default=3, help="best of this many fits")
    parser.add_argument("--emit", action="store_true",
                        help="print R's numbers for the test's stored case")
    args = parser.parse_args()
    mod = _load_test_module()
    grid, tau = mod.RQSS_GRID, 0.5
    truth = 1 + np.sin(2 * np.pi * grid)
    have_r = shutil.which("Rscript") is not None
    cases, fitted = {}, {}
    for n in args.n:
        for seed in range(args.seeds):
            X, y, event = mod.rqss_data(n, seed)
            model, secs = ours(X, y, event, tau, args.repeats)
            name = f"n{n}_s{seed}"
            fitted[name] = (n, seed, model, secs, event)
            cases[name] = (X, y, model.weights_, tau, None, args.repeats)
    if args.emit:
        X, y, event = mod.rqss_data(*mod.RQSS_CASE)
        model = CensoredQuantileRegressor(tau, spline_column=0).fit(X, y, event=event)
        cases["stored"] = (X, y, model.weights_, tau, None, 1)
    r = run_r(cases, grid) if have_r else {}
    if not have_r:
        print("Rscript not found: R's columns are left empty")
    print(f"{'n':>5s} {'seed':>4s} {'cens':>5s} {'K':>2s} {'ours sup|g-g0|':>14s} "
          f"{'|th-2|':>7s} {'CPU s':>6s} | {'lambda':>7s} {'rqss sup|g-g0|':>14s} "
          f"{'|th-2|':>7s} {'search s':>8s} {'fit s':>6s} | {'sup|ours-rqss|':>14s}")
    for name, (n, seed, model, secs, event) in fitted.items():
        g_ours = model.predict(np.column_stack([grid, np.zeros(grid.size)]))
        d_ours = np.max(np.abs(g_ours - truth))
        line = (f"{n:5d} {seed:4d} {1 - event.mean():5.2f} {model.n_knots_:2d} "
                f"{d_ours:14.4f} {abs(model.coef_[0] - 2):7.4f} {secs:6.3f} | ")
        if name in r:
            lam, sel, fit_s, theta, g_r = r[name]
            line += (f"{lam:7.3f} {np.max(np.abs(g_r - truth)):14.4f} {abs(theta - 2):7.4f} "
                     f"{sel:8.3f} {fit_s:6.3f} | {np.max(np.abs(g_ours - g_r)):14.4f}")
        print(line)
    if args.emit and "stored" in r:
        lam, _, _, theta, g_r = r["stored"]
        print(f"\nRQSS_LAMBDA = {float(lam)!r}\nRQSS_THETA = {float(theta)!r}\nRQSS_G = [")
        for v in g_r:
            print(f"    {float(v)!r},")
        print("]")
    return 0


if __name__ == "__main__":
    sys.exit(main())
