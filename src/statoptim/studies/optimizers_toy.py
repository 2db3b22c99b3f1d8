"""Small deterministic experiments of ``statoptim reproduce optimizers``.

* The talk's four toy figures: SGD, classical momentum (CM), RMSprop and Adam
  on a simple linear regression, 600 iterations each, their paths drawn over
  the contours of the quadratic loss. The gradient is the full-data gradient,
  so the paths are deterministic and the least-squares optimum is known in
  closed form: each method is checked to reach it.
* The slide "Adam may miss the global optimum": the online convex problem of
  Reddi, Kale & Kumar ("On the convergence of Adam and beyond", ICLR 2018),
  ``f_t(x) = C x`` once every ``period`` steps and ``-small * x`` otherwise,
  on ``x in [-1, 1]``. The mean gradient is positive, so the optimum is
  ``x = -1``; Adam's normalised steps drift to ``x = +1`` and stay there (its
  fixed point differs from the optimum), while AMSGrad (Adam with the running
  maximum of ``v``) and SGD do not. Both of their settings are run: their
  Theorem 1 (``beta1 = 0``, ``beta2 = 1 / (1 + C^2)``, ``C = 3``, period 3) and
  their Section 5 experiment (``C = 1010``, period 101, ``beta1 = 0.9``,
  ``beta2 = 0.99``, ``alpha / sqrt(t)``).

The optimisers are the package's (``statoptim.optim.SGD``, ``Momentum``,
``RMSprop``, ``Adam``), stepped one gradient at a time.
"""
from __future__ import annotations

from typing import NamedTuple

import numpy as np

from statoptim.studies._output import Column, Table

__all__ = ["MISS_SETTINGS", "MISS_SWATS_TOLS", "TOY_ITERATIONS", "MissRun", "adam_miss",
           "adam_miss_table", "plot_adam_miss", "plot_toy_paths", "toy_paths", "toy_table"]

#: The talk's iteration count of its toy figures.
TOY_ITERATIONS = 600
#: Start of every toy path, and the steps: the talk gives none; these reach the
#: optimum within 600 iterations (RMSprop and Adam then oscillate within about
#: their step size, which is what "reached" tolerates: see ``TOY_TOLERANCE``).
TOY_START = (-2.0, -1.0)
TOY_STEPS = {"SGD": 0.2, "CM": 0.2, "RMSprop": 0.01, "Adam": 0.05}
#: "Reached": the last iterate within this distance of the least-squares optimum.
TOY_TOLERANCE = 0.02


def _toy_optimizer(label):
    from statoptim import optim

    lr = TOY_STEPS[label]
    return {"SGD": lambda: optim.SGD(lr), "CM": lambda: optim.Momentum(lr, momentum=0.9),
            "RMSprop": lambda: optim.RMSprop(lr, rho=0.9),
            "Adam": lambda: optim.Adam(lr)}[label]()


def toy_regression(seed, n=100):
    """The toy data: ``y = 1 + 2 x + N(0, 1)``, ``x ~ N(1, 1)``; returns ``(Z, y, optimum)``.

    ``Z = [1, x]``; the optimum is the least-squares fit (``numpy.linalg.lstsq``).
    """
    rng = np.random.default_rng([seed, 600])
    x = rng.normal(1.0, 1.0, n)
    y = 1.0 + 2.0 * x + rng.standard_normal(n)
    Z = np.column_stack([np.ones(n), x])
    return Z, y, np.linalg.lstsq(Z, y, rcond=None)[0]


def toy_loss(Z, y, theta):
    """Half the mean squared residual: ``(1/2n) ||y - Z theta||^2``."""
    r = y - Z @ theta
    return 0.5 * float(r @ r) / len(y)


def toy_paths(seed, iterations=TOY_ITERATIONS):
    """Run the four methods from :data:`TOY_START`; return a dict with the data and paths.

    Keys: ``Z``, ``y``, ``optimum``, ``paths`` ({label: array (iterations + 1, 2)}).
    """
    Z, y, optimum = toy_regression(seed)
    paths = {}
    for label in TOY_STEPS:
        opt = _toy_optimizer(label)
        theta = np.array(TOY_START, dtype=np.float64)
        path = np.empty((iterations + 1, 2))
        path[0] = theta
        for k in range(1, iterations + 1):
            opt.step(theta, -Z.T @ (y - Z @ theta) / len(y))
            path[k] = theta
        paths[label] = path
    return {"Z": Z, "y": y, "optimum": optimum, "paths": paths}


def toy_table(result):
    """One row per method: its last iterate, distance and relative loss gap to the optimum."""
    Z, y, optimum = result["Z"], result["y"], result["optimum"]
    best = toy_loss(Z, y, optimum)
    table = Table(
        "optimizers_toy_regression",
        f"Toy figures: simple linear regression y = 1 + 2x + N(0,1), n = {len(y)}, full-batch "
        f"gradient, {len(next(iter(result['paths'].values()))) - 1} iterations from "
        f"{TOY_START}; least-squares optimum ({optimum[0]:.4f}, {optimum[1]:.4f})",
        [Column("method"), Column("learning_rate", "step", "{:g}"),
         Column("iterations"), Column("theta0", fmt="{:.4f}"), Column("theta1", fmt="{:.4f}"),
         Column("distance", "||theta - opt||", "{:.1e}"),
         Column("gap", "(F - F*)/F*", lambda v, row: f"{max(v, 0.0):.1e}"),
         Column("reached", fmt=lambda v, row: "yes" if v else "NO")])
    for label, path in result["paths"].items():
        last = path[-1]
        dist = float(np.linalg.norm(last - optimum))
        table.add(method=label, learning_rate=TOY_STEPS[label], iterations=len(path) - 1,
                  theta0=float(last[0]), theta1=float(last[1]), distance=dist,
                  gap=(toy_loss(Z, y, last) - best) / best, reached=dist <= TOY_TOLERANCE)
    table.note = (f"reached: within {TOY_TOLERANCE} of the optimum. CM is the EMA form "
                  "(momentum 0.9); RMSprop (rho 0.9) and Adam (defaults) end oscillating "
                  "within about their step of the optimum: constant steps, normalised by "
                  "sqrt(v).")
    return table


def plot_toy_paths(result, path):
    """The talk's four toy figures: each method's path over the loss contours (matplotlib)."""
    from matplotlib.figure import Figure

    Z, y, optimum = result["Z"], result["y"], result["optimum"]
    pts = np.vstack(list(result["paths"].values()) + [optimum[None, :]])
    lo, hi = pts.min(axis=0) - 0.5, pts.max(axis=0) + 0.5
    b0, b1 = np.linspace(lo[0], hi[0], 150), np.linspace(lo[1], hi[1], 150)
    F = np.array([[toy_loss(Z, y, np.array([u, v])) for u in b0] for v in b1])
    fig = Figure(figsize=(9.5, 8.0))
    axes = fig.subplots(2, 2, sharex=True, sharey=True).ravel()
    levels = F.min() + (F.max() - F.min()) * np.linspace(0.0, 1.0, 25)[1:] ** 2
    for ax, (label, p) in zip(axes, result["paths"].items()):
        ax.contour(b0, b1, F, levels=levels, colors="0.7", linewidths=0.7,
                   linestyles="solid")
        ax.plot(p[:, 0], p[:, 1], ".-", ms=2, lw=0.8, color="tab:blue")
        ax.plot(*p[0], "o", color="tab:green", ms=6, label="start")
        ax.plot(*optimum, "r*", ms=12, label="least-squares optimum")
        ax.set_title(f"{label} (step {TOY_STEPS[label]:g}, {len(p) - 1} iterations)",
                     fontsize=10)
        ax.legend(fontsize=7, loc="lower right")
    for ax in axes[2:]:
        ax.set_xlabel("intercept theta_0")
    for ax in axes[::2]:
        ax.set_ylabel("slope theta_1")
    fig.suptitle("Simple linear regression: paths over the contours of the quadratic loss")
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    return path


# --------------------------------------------------------- Adam misses the optimum
#: Reddi, Kale & Kumar's two settings: (C, period, small gradient, steps, schedule,
#: beta1, beta2 or None for 1 / (1 + C^2)); ``steps`` None: ``--miss-steps``.
MISS_SETTINGS = {
    "Theorem 1": {"C": 3.0, "period": 3, "small": 1.0, "steps": 1500, "lr": 0.01,
                  "schedule": "constant", "beta1": 0.0, "beta2": None},
    "Section 5": {"C": 1010.0, "period": 101, "small": 10.0, "steps": None, "lr": 0.5,
                  "schedule": "invsqrt", "beta1": 0.9, "beta2": 0.99},
}


def _miss_methods(setting):
    """The methods of one setting: label -> a fresh optimiser."""
    from statoptim import optim

    b2 = 1.0 / (1.0 + setting["C"] ** 2) if setting["beta2"] is None else setting["beta2"]
    kw = {"schedule": setting["schedule"], "t0": 1.0}
    adam = {"beta1": setting["beta1"], "beta2": b2, **kw}
    methods = {"Adam": lambda: optim.Adam(setting["lr"], **adam),
               "AMSGrad": lambda: optim.Adam(setting["lr"], amsgrad=True, **adam)}
    if setting["C"] < 100:  # SGD: steps must stay below 1/C; too slow at C = 1010
        methods["SGD"] = lambda: optim.SGD(setting["lr"], **kw)
    # SWATS (Keskar & Socher 2017): Adam, then SGD with momentum once its estimate of
    # the SGD step settles; the paper's epsilon and a looser one (MISS_SWATS_TOLS)
    for tol in MISS_SWATS_TOLS:
        methods[_swats_label(tol)] = (
            lambda tol=tol: optim.SWATS(setting["lr"], switch_tol=tol, **adam))
    return methods


#: SWATS's switching tolerances in the miss experiment: the paper's 1e-9 and 1e-3.
MISS_SWATS_TOLS = (1e-9, 1e-3)


def _swats_label(tol):
    return "SWATS" if tol == 1e-9 else f"SWATS eps={tol:g}"


class MissRun(NamedTuple):
    """One method's run: the iterates x_1..x_T, and SWATS's switch step (else None)."""

    x: np.ndarray
    switch_step: int | None


def _online_run(opt, setting, steps):
    """Projected online steps on Reddi et al.'s f_t; returns a :class:`MissRun`."""
    x = np.zeros(1)
    xs = np.empty(steps)
    for t in range(1, steps + 1):
        g = setting["C"] if t % setting["period"] == 1 else -setting["small"]
        opt.step(x, np.array([g]))
        np.clip(x, -1.0, 1.0, out=x)  # projection onto the feasible set [-1, 1]
        xs[t - 1] = x[0]
    switch = getattr(opt, "switch_steps", [None])[0]
    return MissRun(xs, switch)


def adam_miss(steps):
    """Run both settings; returns {setting: {method: MissRun}} (``steps``: Section 5's T)."""
    out = {}
    for name, setting in MISS_SETTINGS.items():
        T = setting["steps"] or steps
        out[name] = {label: _online_run(make(), setting, T)
                     for label, make in _miss_methods(setting).items()}
    return out


def _regret(setting, xs):
    """Average regret ``(1/T) sum_t f_t(x_t) - f_t(-1)``."""
    t = np.arange(1, len(xs) + 1)
    coef = np.where(t % setting["period"] == 1, setting["C"], -setting["small"])
    return float(np.mean(coef * (xs + 1.0)))


def _swats_outcome(run):
    """What a SWATS run did, in words, from its iterates and switch step."""
    tail = float(run.x[-max(len(run.x) // 10, 1):].mean())
    if run.switch_step is None:
        return f"never switched, so it stayed Adam and ended at x_T = {run.x[-1]:+.3f}"
    half = len(run.x) // 2
    moving = " and still moving towards it" if run.x[-1] < run.x[half] else ""
    where = ("at the optimum" if abs(tail + 1.0) <= 0.1 else
             f"not yet at the optimum{moving}" if run.x[-1] < 0 else "on Adam's side, x > 0")
    return (f"switched to SGD at step {run.switch_step} and ended at x_T = "
            f"{run.x[-1]:+.3f}, {where}")


def _miss_note(runs):
    lines = [
        "The mean gradient is (C - (period - 1) small) / period > 0, so x* = -1. Adam divides "
        "each step by sqrt(v): the rare large\ngradient C inflates v, so its step is short, "
        "while the frequent small gradients, once v has decayed, take nearly full steps\n"
        "towards +1. Its fixed point is the worst point, +1: a property of the update, not of "
        "noise (every gradient here is exact).\nAMSGrad keeps the maximum of v and converges; "
        "SGD (only where its step can stay below 1/C) too. Theorem 1 uses beta1 = 0,\n"
        "beta2 = 1/(1 + C^2); Section 5 the usual beta1 = 0.9, beta2 = 0.99 with alpha/sqrt(t).",
        "SWATS (Adam, then SGD with momentum once |lambda_k/(1 - beta2^k) - gamma_k| < eps; "
        "Keskar & Socher 2017), measured:"]
    for name, by_method in runs.items():
        for label, run in by_method.items():
            if label.startswith("SWATS"):
                eps = "1e-9, the paper's" if label == "SWATS" else label.split("=")[1]
                lines.append(f"  {name}, eps = {eps}: {_swats_outcome(run)}.")
    return "\n".join(lines)


def adam_miss_table(runs):
    """Where each method sits at the end of each setting, beside the optimum -1."""
    table = Table(
        "optimizers_adam_miss",
        "\n'Adam may miss the global optimum': f_t(x) = C x once every `period` steps, "
        "-small x otherwise, x in [-1, 1] (Reddi, Kale & Kumar 2018); optimum x* = -1",
        [Column("setting"), Column("C", fmt="{:g}"), Column("period"), Column("method"),
         Column("steps"), Column("x_last", "x_T", "{:+.3f}"),
         Column("x_tail", "mean x, last 10%", "{:+.3f}"), Column("optimum", "x*", "{:+g}"),
         Column("regret", "regret / T", "{:.3f}"),
         Column("at_optimum", "at x*", lambda v, row: "yes" if v else "NO"),
         Column("switch_step", "SGD from step",
                lambda v, row: ("never" if v is None else str(v))
                if row["method"].startswith("SWATS") else "")])
    for name, by_method in runs.items():
        setting = MISS_SETTINGS[name]
        for label, run in by_method.items():
            xs = run.x
            tail = float(xs[-max(len(xs) // 10, 1):].mean())
            table.add(setting=name, C=setting["C"], period=setting["period"], method=label,
                      steps=len(xs), x_last=float(xs[-1]), x_tail=tail, optimum=-1.0,
                      regret=_regret(setting, xs), at_optimum=abs(tail + 1.0) <= 0.1,
                      switch_step=run.switch_step)
    table.note = _miss_note(runs)
    return table


def plot_adam_miss(runs, path):
    """x_t against t per method, one panel per setting (matplotlib)."""
    from matplotlib.figure import Figure

    fig = Figure(figsize=(11, 4.0))
    axes = fig.subplots(1, len(runs))
    for ax, (name, by_method) in zip(np.atleast_1d(axes), runs.items()):
        for label, run in by_method.items():
            style = "--" if label.startswith("SWATS") else "-"  # SWATS = Adam until a switch
            ax.plot(np.arange(1, len(run.x) + 1), run.x, style, lw=0.8, label=label)
        ax.axhline(-1.0, color="k", ls="--", lw=0.8, label="optimum x* = -1")
        s = MISS_SETTINGS[name]
        ax.set_title(f"{name}: C = {s['C']:g}, period {s['period']}", fontsize=10)
        ax.set_xlabel("step t")
        ax.set_ylim(-1.1, 1.1)
        ax.legend(fontsize=7)
    np.atleast_1d(axes)[0].set_ylabel("x_t")
    fig.suptitle("Adam may miss the global optimum (Reddi, Kale & Kumar 2018)")
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    return path
