"""
Study ``optimizers``: relative gap against time
===============================================

The first figure of ``statoptim reproduce optimizers``, on the talk's
simulated design (:math:`p = 19`, 1000 training rows, :math:`\\lambda = 10^{-3}`):
the relative gap :math:`(F - F^*)/F^*` of each method against CPU seconds,
epoch by epoch (``partial_fit`` runs one epoch; the objective is evaluated
outside the timed region), with Newton's iterates for comparison.
"""
import time

import matplotlib.pyplot as plt
import numpy as np

from statoptim import LogisticRegression
from statoptim.datasets import make_logistic
from statoptim.optim import logistic_objective, newton_logistic

X, y, beta = make_logistic(1000, 19, random_state=0)
alpha = 1e-3
theta_star, info = newton_logistic(X, y, alpha, tol=1e-14)
f_star = logistic_objective(X, y, theta_star, alpha)[0]


def gap(theta):
    return (logistic_objective(X, y, theta, alpha)[0] - f_star) / f_star


traces = {}
newton_times, newton_thetas = [], []
start = time.process_time()
newton_logistic(X, y, alpha, tol=1e-14,
                callback=lambda th: (newton_times.append(time.process_time() - start),
                                     newton_thetas.append(th.copy())))
traces["Newton"] = (newton_times, [gap(th) for th in newton_thetas])

settings = {"SGD": {"solver": "sgd", "learning_rate": 0.5},
            "momentum": {"solver": "momentum", "learning_rate": 0.5},
            "RMSprop": {"solver": "rmsprop", "learning_rate": 0.01},
            "Adam": {"solver": "adam", "learning_rate": 0.01},
            "Adam, invsqrt + avg": {"solver": "adam", "learning_rate": 0.3, "schedule": "invsqrt",
                                        "average": True}}
for label, kw in settings.items():
    model = LogisticRegression(alpha=alpha, batch_size=32, random_state=0, **kw)
    seconds, gaps, elapsed = [], [], 0.0
    for _epoch in range(40):
        t0 = time.process_time()
        model.partial_fit(X, y, classes=[0, 1])
        elapsed += time.process_time() - t0
        seconds.append(elapsed)
        gaps.append(gap(np.r_[model.intercept_, model.coef_.ravel()]))
    traces[label] = (seconds, gaps)
    print(f"{label:20s} gap after 40 epochs: {gaps[-1]:.1e}")

fig, ax = plt.subplots(figsize=(6.4, 4.2))
for label, (t, r) in traces.items():
    ax.loglog(np.maximum(t, 1e-6), np.maximum(r, 1e-16), marker=".", ms=3, label=label)
for tol in (1e-2, 1e-3, 1e-4):
    ax.axhline(tol, color="0.8", lw=0.8, ls="--")
ax.set_xlabel("CPU seconds (one thread)")
ax.set_ylabel("relative gap (F - F*) / F*")
ax.legend(fontsize=8)
fig.tight_layout()
plt.show()
