"""``statoptim reproduce optimizers``: SGD, momentum, RMSprop, Adam and Newton-Raphson on
logistic regression, as in J. Tao's talk on Kingma & Ba's Adam (Penn State, 2018).

Prints the talk's three tables (time, training error, test error, ||beta_hat - beta||)
with our numbers beside the talk's, for p = 19 and p = 99 under the stated 1000/250
design and the 480/120 design that the talk's error rates reveal, and for MNIST 0 vs 6
(``--mnist DIR``; digits 0 vs 6 from scikit-learn's ``load_digits`` otherwise),
where Newton-Raphson is also run without a penalty to show the separation warning
(the talk's "NA"). It counts separable training sets over seeds (on the study
runner: ``--out`` is also its results folder), prints the short explanations (why
480/120, why the talk's 30% test error cannot be matched, separability) as notes
beside the tables, and runs the talk's toy figures and an experiment for its slide
"Adam may miss the global optimum" (``statoptim.studies.optimizers_toy``, with
SWATS beside Adam and AMSGrad). The talk's remedy, SWATS (Keskar & Socher 2017:
Adam, then SGD), is tabulated beside plain Adam and Adam finished by L-BFGS on the
talk's three problems, with the switch epoch. With
``--out DIR`` it writes the tables as CSV and JSON and three figures there: the
relative loss gap against CPU time, the four toy paths over the loss contours, and
the iterates of Adam, AMSGrad and SWATS on Reddi et al.'s problem. Times are CPU seconds
on this machine; the talk's rows are its own numbers, on its hardware.

Compute, tabulate and plot are separate functions: the fits (``_fit_all``,
``gap_traces``, ``separation_replicate``, ``optimizers_swats.swats_runs`` and the toy
module's ``toy_paths`` and ``adam_miss``) return plain records; ``_table``,
``_unpenalized_table``, ``optimizers_swats.swats_table`` and the toy module's
``*_table`` turn them into tables
(``simulation_tables`` and ``real_data_tables`` chain the two per design); the
``plot_*`` functions draw. The fits go through the public API
(``LogisticRegression``, ``statoptim.optim.minimize``); the per-epoch traces of the
gap figure come from the internal harness ``statoptim.optim.harness``, which the
benchmarks share.
"""
from __future__ import annotations

import os
import time
import warnings

import numpy as np

from statoptim._optional import Progress
from statoptim.studies._engine import (
    add_runner_arguments,
    check_runner_arguments,
    run_from_args,
)
from statoptim.studies._output import Column, StudyOutput, Table
from statoptim.studies._registry import (
    deprecated_alias,
    find_dataset,
    int_at_least,
    register,
)
from statoptim.studies.optimizers_swats import error_rate, swats_runs, swats_table

__all__ = [
    "TALK",
    "gap_traces",
    "real_data_tables",
    "run",
    "separation_table",
    "simulation_tables",
    "swats_problems",
]

METHODS = ("sgd", "momentum", "rmsprop", "adam")
LABELS = {"sgd": "SGD", "momentum": "CM", "rmsprop": "RMSprop", "adam": "Adam",
          "newton": "N-R"}

#: The talk's tables (OCR fixed; docs/optim.rst, "The talk's experiments"): time (s),
#: train err %, test err %, ||beta_hat - beta||, for SGD, CM, Adam, N-R.
TALK = {
    "sim19": {"time": (0.23, 0.35, 0.08, 0.01), "train": (15.83, 15.83, 22.71, 16.04),
              "test": (30.83, 30.83, 27.50, 30.83), "dist": (0.66, 0.77, 2.11, 0.72)},
    "sim99": {"time": (1.26, 1.27, 0.57, 0.15), "train": (1.04, 1.25, 4.17, 0.0),
              "test": (13.33, 12.50, 11.70, 16.70), "dist": (3.18, 3.26, 3.04, 151.50)},
    "mnist": {"time": (1.58, 1.05, 0.30, 203.90), "train": (2.34, 2.31, 3.25, None),
              "test": (2.37, 2.79, 3.25, None), "dist": (None, None, None, None)},
}
_TALK_COL = {"sgd": 0, "momentum": 1, "adam": 2, "newton": 3}


# ------------------------------------------------------------------- tables
def _fit_all(X, y, Xte, yte, beta, alpha, *, epochs, batch_size, seed, steps, decay=False,
             methods=METHODS):
    """One fit per method; returns {method: dict(time, train, test, dist, gap, ...)}.

    ``decay=True`` runs the stochastic methods with alpha_t = alpha / sqrt(t) and
    Polyak averaging (docs/optim.rst, "Noise floor and remedies") instead of constant steps.
    ``methods``: the stochastic methods to run (N-R always runs)."""
    from statoptim import LogisticRegression
    from statoptim.optim import SeparationWarning, logistic_objective
    from statoptim.optim.harness import optimum

    # F* (for the stochastic methods' gaps) by a separate Newton solve to 1e-24
    _, F_star = optimum(X, y, alpha) if alpha > 0 and methods else (None, None)
    res = {}
    for m in (*methods, "newton"):
        if m == "newton":
            est = LogisticRegression("newton", alpha=alpha)  # the talk's N-R, not "auto"
        else:
            # check_every=epochs: the full objective is evaluated once, at the end
            extra = {"schedule": "invsqrt", "average": True} if decay else {}
            est = LogisticRegression(m, alpha=alpha, learning_rate=steps[m],
                                     batch_size=batch_size, stopping=None, max_iter=epochs,
                                     check_every=epochs, random_state=seed, **extra)
        with warnings.catch_warnings(record=True) as rec:
            warnings.simplefilter("always")
            t0 = time.process_time()
            est.fit(X, y)
            elapsed = time.process_time() - t0
        theta = np.concatenate([est.intercept_, est.coef_[0]])
        F = logistic_objective(X, y.astype(np.float64), theta, alpha)[0]
        res[m] = {
            "time": elapsed, "train": error_rate(theta, X, y), "test": error_rate(theta, Xte, yte),
            "dist": None if beta is None else float(np.linalg.norm(theta - beta)),
            "gap": None if F_star is None else (F - F_star) / F_star, "F": F,
            "separation": any(issubclass(w.category, SeparationWarning) for w in rec),
            "warnings": [str(w.message) for w in rec
                         if issubclass(w.category, SeparationWarning)],
            "coef_max": float(np.abs(theta).max()), "n_iter": int(est.n_iter_),
        }
    if F_star is None and not res["newton"]["separation"]:  # alpha = 0 and the MLE exists
        F_star = res["newton"]["F"]
        for r in res.values():
            r["gap"] = (r["F"] - F_star) / F_star
    return res


_QUANTITIES = {  # key: (printed row label, format of our value)
    "time_s": ("time (s), here", "{:.4f}"),
    "train_error_pct": ("training error (%)", "{:.2f}"),
    "test_error_pct": ("test error (%)", "{:.2f}"),
    "dist": ("||b_hat - b||", "{:.2f}"),
    "F": ("F (train objective)", "{:.5f}"),
    "gap": ("gap (F - F*)/F*", None),
    "separation": ("SeparationWarning", None),
}
_RESULT_KEYS = {"time_s": "time", "train_error_pct": "train", "test_error_pct": "test",
                "dist": "dist"}


def _cell(value, row):
    if value is None:
        return "-" if row["quantity"] in _RESULT_KEYS else ""
    quantity = row["quantity"]
    if row["source"] == "talk":
        return f"{value:.2f}"
    if quantity == "gap":
        return f"{max(value, 0):.1e}"
    if quantity == "separation":
        return "yes" if value else ""
    return _QUANTITIES[quantity][1].format(value)


def _row_label(value, row):
    if row["source"] == "talk":
        return "  talk (its hardware)" if value == "time_s" else "  talk"
    return _QUANTITIES[value][0]


def _table(name, title, res, talk_key, has_truth, note=""):
    """One of the talk's tables: our numbers per method, the talk's beneath them."""
    all_methods = (*METHODS, "newton")
    columns = [Column("quantity", "row", _row_label), Column("source", show=False)]
    columns += [Column(m, LABELS[m], _cell) for m in all_methods]
    table = Table(name, title, columns, note=note)
    talk = TALK.get(talk_key)
    for key, result_key in _RESULT_KEYS.items():
        if key == "dist" and not has_truth:
            continue
        table.add(quantity=key, source="here", **{m: res[m][result_key] for m in all_methods})
        if talk is not None:
            table.add(quantity=key, source="talk",
                      **{m: talk[result_key][_TALK_COL[m]] for m in all_methods
                         if m in _TALK_COL})
    table.add(quantity="F", source="here", **{m: res[m]["F"] for m in all_methods})
    if res["newton"]["gap"] is not None:
        table.add(quantity="gap", source="here", **{m: res[m]["gap"] for m in all_methods})
    table.add(quantity="separation", source="here",
              **{m: bool(res[m]["separation"]) for m in all_methods})
    return table


# ------------------------------------------------------------------ figures
def plot_gap_vs_time(traces, path, title):
    """Figure 1: relative gap against CPU seconds, one line per method (needs matplotlib)."""
    from matplotlib.figure import Figure

    fig = Figure(figsize=(6.4, 4.2))
    ax = fig.subplots()
    for label, (tr, r) in traces.items():
        t = np.array([s for s, _ in tr])
        ax.loglog(np.maximum(t, 1e-6), np.maximum(r, 1e-16), marker=".", ms=3, label=label)
    for tol in (1e-2, 1e-3, 1e-4):
        ax.axhline(tol, color="0.8", lw=0.8, ls="--")
    ax.set_xlabel("CPU seconds (one thread)")
    ax.set_ylabel("relative gap (F - F*) / F*")
    ax.set_title(title, fontsize=10)
    ax.legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(path, dpi=120)


# --------------------------------------------------------------------- run
#: Figure 2 is the talk's four toy figures (linear regression paths over the loss
#: contours); figure 3 the "Adam may miss the global optimum" experiment.
FIGURES = ("optimizers_gap_vs_time.png", "optimizers_paths_2d.png",
           "optimizers_adam_miss.png")


def _add_arguments(parser):
    parser.add_argument("--mnist", default=None, metavar="DIR",
                        help="folder with the MNIST IDX files ('auto': mnist/ in the data "
                             "folder, see --data); without it, digits 0 vs 6 from "
                             "scikit-learn are used")
    parser.add_argument("--epochs", type=int_at_least(1), default=100,
                        help="epochs of each stochastic method in the tables (default 100)")
    parser.add_argument("--sgd-batch-size", dest="sgd_batch_size", type=int_at_least(1),
                        default=32,
                        help="minibatch size of the stochastic methods (default 32)")
    parser.add_argument("--miss-steps", dest="miss_steps", type=int_at_least(10),
                        default=20_000,
                        help="steps of the 'Adam may miss the optimum' experiment in Reddi "
                             "et al.'s Section 5 setting (default 20000; Adam reaches the "
                             "wrong end after about 10000)")
    # --seed seeds the tables' data and fits; --replications is the number of
    # simulated training sets checked for separation (run on the study runner)
    add_runner_arguments(
        parser, replications=20, seed=0,
        replications_help="simulated training sets per design checked for separation, on "
                          "the study runner (default: {default}; with --summarize-only: all "
                          "stored)",
        data_help="the folder with one subfolder per data set; only its mnist/ is used, "
                  "with --mnist auto (default: $STATOPTIM_DATA, then ./shared/data or "
                  "../shared/data)",
        unused=())
    deprecated_alias(parser, "--figures", "--out", dest="out", metavar="DIR",
                     message="--figures DIR is deprecated; use --out DIR (the figures, the "
                             "tables and the stored separation count all go there)",
                     refuse=lambda text: None if text else "expected a folder, got ''")


def _mnist_dir(args):
    """The MNIST folder of --mnist (resolving 'auto' with --data), or None for digits."""
    if args.mnist == "auto":
        return find_dataset(args.data, "mnist", option="--mnist", required=False)
    return args.mnist


#: The MNIST IDX files ``load_mnist`` reads (each gzipped, raw, or with ".idx" for "-idx").
MNIST_STEMS = ("train-images-idx3-ubyte", "train-labels-idx1-ubyte",
               "t10k-images-idx3-ubyte", "t10k-labels-idx1-ubyte")


def _missing_mnist_file(folder):
    """The first MNIST file that ``load_mnist`` would not find in ``folder``, or None."""
    for stem in MNIST_STEMS:
        names = (stem + ".gz", stem, stem.replace("-idx", ".idx"))
        if not any(os.path.isfile(os.path.join(folder, name)) for name in names):
            return stem
    return None


def _check_arguments(args):
    if args.mnist == "auto":
        try:
            mnist_dir = find_dataset(args.data, "mnist", required=False)
        except ValueError as exc:  # --data DIR without mnist/
            raise ValueError("argument --mnist: 'auto' looks for mnist/ in --data: "
                             f"{str(exc).split(': ', 1)[1]}") from None
        if mnist_dir is None:
            raise ValueError("argument --mnist: 'auto' looks for mnist/ in the data folder, "
                             "but none was found; pass --data DIR or --mnist DIR")
    else:
        mnist_dir = args.mnist
    if mnist_dir:
        if not os.path.isdir(mnist_dir):
            raise ValueError(f"argument --mnist: folder {mnist_dir!r} does not exist")
        missing = _missing_mnist_file(mnist_dir)
        if missing is not None:
            raise ValueError(f"argument --mnist: MNIST file {missing}(.gz) not found in "
                             f"{mnist_dir!r} (give the folder holding the IDX files)")
    check_runner_arguments(args, SEPARATION_STUDY, SEPARATION_SETTINGS)


def separation_replicate(setting, rng):
    """One replication of the separation count: is a simulated training set separable?"""
    from statoptim.datasets import make_logistic
    from statoptim.optim import check_separation

    X, y, _ = make_logistic(setting["n_train"], setting["p"], random_state=rng)
    return {"separable": bool(check_separation(X, y))}


SEPARATION_STUDY = "optimizers-separation"
SEPARATION_SETTINGS = [{"n_train": 480, "p": 99}, {"n_train": 1000, "p": 99}]
STEPS = {"sgd": 0.5, "momentum": 0.5, "rmsprop": 3e-3, "adam": 3e-3}
DECAY_STEPS = {"sgd": 3.0, "momentum": 3.0, "rmsprop": 0.1, "adam": 0.1}


# The short explanations printed beside the tables (docs/optim.rst, "The talk's experiments").
WHY_480 = (
    "Why 480/120: the talk states n_train = 1000 and n_test = 250, but every simulated error "
    "rate it prints is a multiple\nof 1/480 (train) or 1/120 (test) and none of 1/1000 or "
    "1/250 (15.83% = 76/480, 30.83% = 37/120, 13.33% = 16/120):\nit ran 600 rows split "
    "80/20. Both designs are shown.")
WHY_SEPARABLE = (
    "Separability: with p = 99 and 480 rows (p/n = 0.21) the training set is usually "
    "linearly separable (LP check; count below),\nso the unpenalised MLE does not exist: "
    "N-R (R's glm: 'did not converge') runs off to 0% training error and a huge\n"
    "||b_hat - b|| (the talk's 151.5), a diverging iterate, not an estimate. The stochastic "
    "methods' smaller distance is early\nstopping acting as a ridge (Soudry et al. 2018); "
    "the ridge alpha = 1/n is the fair comparison. With 1000 rows the MLE exists.")


def _why_30(res, truth_test, n_test):
    """The p = 19 note: why the talk's ~30% test error cannot be matched, with our numbers."""
    mle = res["newton"]["test"]
    z = (TALK["sim19"]["test"][3] - mle) / (100.0 * np.sqrt(mle / 100 * (1 - mle / 100) / n_test))
    return (f"Why the talk's 30% cannot be matched: at p = 19 the MLE exists and N-R converges; "
            f"on these rows its test error is {mle:.1f}%\n(the true beta: {truth_test:.1f}%). "
            f"The talk's 30.83% (37/120), the same for SGD, CM and N-R, lies {z:.1f} binomial "
            "standard errors\nabove it: it reflects the talk's own test draw, seed or truth "
            "(none stated), not the methods; no seed is tuned here to match it.")


def separation_table(args):
    """Run (or read) the separation count on the study runner; return its table."""
    records = run_from_args(separation_replicate, SEPARATION_SETTINGS, SEPARATION_STUDY, args)
    table = Table(
        "optimizers_separation",
        "Separable training sets at p = 99 (LP check) over simulated training sets:",
        [Column("n_train"), Column("p"), Column("separable"),
         Column("replications", "training sets")], note=WHY_SEPARABLE)
    for setting in SEPARATION_SETTINGS:
        flags = [r["separable"] for r in records if r["n_train"] == setting["n_train"]]
        table.add(n_train=setting["n_train"], p=setting["p"], separable=int(sum(flags)),
                  replications=len(flags))
    return table


SIM_BLOCKS = (("sim19", 19, 1000, 250), ("sim19", 19, 480, 120), ("sim99", 99, 1000, 250),
              ("sim99", 99, 480, 120))


def simulation_tables(args, key, p, n, n_test):
    """The tables of one simulated design: constant steps, decaying steps, ridge if separable."""
    from statoptim.datasets import make_logistic

    X, y, beta, Xte, yte = make_logistic(
        n, p, n_test=n_test, random_state=np.random.default_rng([args.seed, p, n]))
    fit = {"epochs": args.epochs, "batch_size": args.sgd_batch_size, "seed": args.seed}
    res = _fit_all(X, y, Xte, yte, beta, 0.0, steps=STEPS, **fit)
    notes = []
    if p == 19:
        notes.append(_why_30(res, error_rate(beta, Xte, yte), n_test))
    if n == 480 and p == 19:
        notes.append(WHY_480)
    if res["newton"]["separation"]:
        notes.append("SeparationWarning: " + res["newton"]["warnings"][0])
    name = f"optimizers_sim_p{p}_n{n}"
    tables = [_table(name, f"Sim p = {p}, n_train = {n}, n_test = {n_test}, alpha = 0", res,
                     key, True, note="\n".join(notes))]
    dec = _fit_all(X, y, Xte, yte, beta, 0.0, steps=DECAY_STEPS, decay=True, **fit)
    tables.append(_table(f"{name}_decay", "  same data, stochastic methods with alpha_t = "
                         f"alpha/sqrt(t) + Polyak averaging, alpha = {DECAY_STEPS}", dec,
                         None, True))
    if res["newton"]["separation"]:
        ridge = _fit_all(X, y, Xte, yte, beta, 1.0 / n, steps=STEPS, **fit)
        tables.append(_table(f"{name}_ridge", "  separable: N-R stopped with a "
                             f"SeparationWarning. The ridge alpha = 1/n = {1 / n:.2g} "
                             "instead:", ridge, None, True))
    return tables


def _real_data(args):
    """MNIST 0 vs 6 (--mnist) or scikit-learn's digits 0 vs 6, split 80/20 by the seed."""
    from statoptim.datasets import load_digits_0v6, load_mnist, mnist_binary

    mnist_dir = _mnist_dir(args)
    if mnist_dir:
        Xtr, ytr, Xte_all, yte_all = load_mnist(mnist_dir, kind="both")
        X, y = mnist_binary(Xtr, ytr)
        Xte, yte = mnist_binary(Xte_all, yte_all)
        return X, y, Xte, yte, {"name": "MNIST 0 vs 6", "key": "mnist",
                                "table": "optimizers_mnist_0v6"}
    Xd, yd = load_digits_0v6()
    perm = np.random.default_rng(args.seed).permutation(len(yd))
    cut = int(0.8 * len(yd))
    return (Xd[perm[:cut]], yd[perm[:cut]], Xd[perm[cut:]], yd[perm[cut:]],
            {"name": "digits 0 vs 6 (scikit-learn load_digits, NOT MNIST)", "key": None,
             "table": "optimizers_digits_0v6"})


def _unpenalized_table(data, X, y, Xte, yte, ridge_newton):
    """N-R without a penalty (the talk's "NA"): the SeparationWarning shown, beside the ridge."""
    res = _fit_all(X, y, Xte, yte, None, 0.0, epochs=1, batch_size=1, seed=0, steps={},
                   methods=())["newton"]
    table = Table(
        f"{data['table']}_unpenalized",
        f"\n{data['name']} without a penalty (the talk's 'NA': glm fails): N-R at alpha = 0 "
        "beside alpha = 1/n",
        [Column("source", show=False), Column("alpha", fmt="{:.3g}"),
         Column("time_s", "time (s)", "{:.3f}"), Column("n_iter", "iterations"),
         Column("train_error_pct", "train err %", "{:.2f}"),
         Column("test_error_pct", "test err %", "{:.2f}"),
         Column("coef_max", "max |theta_j|", "{:.3g}"),
         Column("warning", "warning", lambda v, row: v or "")])
    for alpha, r in ((0.0, res), (1.0 / len(y), ridge_newton)):
        table.add(source="here", alpha=alpha, time_s=r["time"], n_iter=r["n_iter"],
                  train_error_pct=r["train"], test_error_pct=r["test"],
                  coef_max=r["coef_max"],
                  warning="SeparationWarning" if r["separation"] else "none")
    if data["key"] == "mnist":
        table.add(source="talk", alpha=0.0, time_s=TALK["mnist"]["time"][3],
                  warning="talk: NA (glm: no proper answer)")
    table.note = "\n".join(f"  {w}" for w in res["warnings"]) or "  (no warning)"
    return table


def real_data_tables(args):
    """The MNIST (or digits) tables: every method at alpha = 1/n, and N-R at alpha = 0."""
    X, y, Xte, yte, data = _real_data(args)
    n = X.shape[0]
    res = _fit_all(X, y, Xte, yte, None, 1.0 / n, epochs=min(args.epochs, 60),
                   batch_size=128, seed=args.seed, steps={"sgd": 0.5, "momentum": 0.5,
                                                          "rmsprop": 1e-2, "adam": 1e-2})
    note = "" if data["key"] else "(the talk's MNIST numbers are not shown beside digits)"
    return [_table(data["table"], f"{data['name']}: n_train = {n}, n_test = {Xte.shape[0]}, "
                                  f"p = {X.shape[1]}, alpha = 1/n (the unpenalised MLE does "
                                  "not exist)", res, data["key"], False, note=note),
            _unpenalized_table(data, X, y, Xte, yte, res["newton"])]


# ------------------------------------------------------------------- SWATS
def swats_problems(args):
    """The talk's three problems for the SWATS comparison, as dicts.

    Keys: ``problem`` (the label), ``X``, ``y``, ``X_test``, ``y_test``, ``alpha``,
    ``learning_rate``, ``batch_size``, ``epochs``. The simulated designs are those of
    :func:`simulation_tables` at n_train = 1000 (the same rows; the MLE exists, so
    alpha = 0 as in the talk); the real data are :func:`real_data_tables`' at alpha = 1/n.
    """
    from statoptim.datasets import make_logistic

    problems = []
    for p in (19, 99):
        X, y, _, Xte, yte = make_logistic(
            1000, p, n_test=250, random_state=np.random.default_rng([args.seed, p, 1000]))
        problems.append({"problem": f"sim p = {p}", "X": X, "y": y, "X_test": Xte,
                         "y_test": yte, "alpha": 0.0, "learning_rate": STEPS["adam"],
                         "batch_size": args.sgd_batch_size, "epochs": args.epochs})
    X, y, Xte, yte, data = _real_data(args)
    problems.append({"problem": data["name"].split(" (")[0], "X": X, "y": y, "X_test": Xte,
                     "y_test": yte, "alpha": 1.0 / X.shape[0], "learning_rate": 1e-2,
                     "batch_size": 128, "epochs": min(args.epochs, 60)})
    return problems


def gap_traces(seed):
    """Figure 1's data: relative gap per epoch/iteration on sim p = 19, n = 1000, alpha = 0."""
    from statoptim.datasets import make_logistic
    from statoptim.optim.harness import gaps, optimum, trace_newton, trace_stochastic

    X, y, _ = make_logistic(1000, 19, random_state=np.random.default_rng([seed, 19, 1000]))
    _, F_star = optimum(X, y, 0.0)
    traces = {}
    for m in METHODS:
        lr = STEPS[m] * (1 if m in ("sgd", "momentum") else 3)
        tr = trace_stochastic(X, y, 0.0, m, epochs=150, learning_rate=lr, batch_size=128,
                              random_state=seed)
        traces[LABELS[m]] = (tr, gaps(tr, X, y, 0.0, F_star))
    tr = trace_stochastic(X, y, 0.0, "adam", epochs=150, learning_rate=0.3,
                          schedule="invsqrt", average=True, random_state=seed)
    traces["Adam a/sqrt(t) + averaging"] = (tr, gaps(tr, X, y, 0.0, F_star))
    tr = trace_newton(X, y, 0.0, tol=1e-20)
    traces["N-R"] = (tr, gaps(tr, X, y, 0.0, F_star))
    return traces


def _print_header(args):
    print("Stochastic optimisers vs Newton-Raphson on logistic regression "
          "(statoptim.LogisticRegression)")
    print(f"Stochastic settings: batch {args.sgd_batch_size}, {args.epochs} epochs, constant "
          f"steps {STEPS} (the talk states none of these); CPU seconds, one process.")
    print("Design: x ~ N(0, 0.7 I + 0.3 11'), beta ~ U(-1, 1)^(p+1), y ~ Bernoulli(sigma)."
          "\nAll fits at alpha = 0 (the talk's unpenalised likelihood) unless stated.")
    print("Times: 'here' is CPU time measured on this machine; 'talk' rows are the talk's "
          "numbers, on its own (unstated) hardware and code.\n")


@register("optimizers", "SGD / momentum / RMSprop / Adam / Newton on logistic regression "
          "(the talk's three tables, its toy figures and 'Adam may miss the optimum')",
          _add_arguments, _check_arguments)
def run(args):
    from statoptim.studies import optimizers_toy as toy

    output = StudyOutput(args, "optimizers")
    output.start()
    t_start = time.perf_counter()
    # The separation count first: --out is its results folder, which must hold
    # its manifest before any table is written beside it.
    separation = separation_table(args)
    if args.summarize_only:
        output.table(separation)
        output.note("the optimizer tables and figures skipped: --summarize-only computes "
                    "nothing (they time fits on this machine)")
        output.finish()
        return 0
    _print_header(args)
    with Progress(len(SIM_BLOCKS), "simulations", unit="design", enabled=not args.no_progress,
                  leave=False) as bar:
        for block in bar.iterate(SIM_BLOCKS):
            for table in simulation_tables(args, *block):
                output.table(table)
            print()
    output.table(separation)
    print()
    for table in real_data_tables(args):
        output.table(table)
    print()
    output.table(swats_table(swats_runs(swats_problems(args), args.seed)))
    print()
    paths = toy.toy_paths(args.seed)
    output.table(toy.toy_table(paths))
    misses = toy.adam_miss(args.miss_steps)
    output.table(toy.adam_miss_table(misses))
    if output.wants_figures:  # the traces cost seconds: only when the figure is drawn
        traces = gap_traces(args.seed)
        output.figure(FIGURES[0], lambda path: plot_gap_vs_time(
            traces, path, "Sim p = 19, n = 1000, alpha = 0: gap vs CPU time"))
    output.figure(FIGURES[1], lambda path: toy.plot_toy_paths(paths, path))
    output.figure(FIGURES[2], lambda path: toy.plot_adam_miss(misses, path))
    print(f"\nTotal wall time {time.perf_counter() - t_start:.1f} s")
    output.finish()
    return 0
