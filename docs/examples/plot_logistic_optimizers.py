"""
Logistic regression: Newton against stochastic optimisers
=========================================================

The talk's design (:func:`~statoptim.datasets.make_logistic`, :math:`p = 19`)
fitted by damped Newton–Raphson and by SGD, momentum and Adam. Newton reaches
the optimum :math:`F^*` in a handful of iterations; constant-step stochastic
methods stall at a noise floor, while Adam with :math:`\\alpha/\\sqrt t` steps
and iterate averaging keeps approaching :math:`F^*`. ``loss_curve_`` holds the
full-data objective after every epoch.
"""
import warnings

import matplotlib.pyplot as plt
import numpy as np
from sklearn.exceptions import ConvergenceWarning

from statoptim import LogisticRegression
from statoptim.datasets import make_logistic

X, y, beta = make_logistic(1000, 19, random_state=0)
alpha = 1e-3
newton = LogisticRegression(alpha=alpha, tol=1e-12).fit(X, y)
f_star = newton.loss_curve_[-1]
print(f"Newton: {newton.n_iter_} iterations, F* = {f_star:.6f}")

settings = {
    "SGD, constant": {"solver": "sgd", "learning_rate": 0.5},
    "momentum, constant": {"solver": "momentum", "learning_rate": 0.5},
    "Adam, constant": {"solver": "adam", "learning_rate": 0.01},
    "Adam, invsqrt + averaging": {"solver": "adam", "learning_rate": 0.3, "schedule": "invsqrt",
                                      "average": True},
}
fig, ax = plt.subplots(figsize=(6, 4))
for label, kw in settings.items():
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)  # 60 epochs on purpose
        model = LogisticRegression(alpha=alpha, max_iter=60, tol=0.0, batch_size=32,
                                   random_state=0, **kw).fit(X, y)
    gap = (np.asarray(model.loss_curve_) - f_star) / f_star
    ax.semilogy(np.arange(len(gap)), np.maximum(gap, 1e-16), label=label)
    print(f"{label:28s} relative gap after {model.n_iter_} epochs: {gap[-1]:.1e}")
ax.set_xlabel("epoch")
ax.set_ylabel("relative gap (F - F*) / F*")
ax.legend(fontsize=8)
fig.tight_layout()
plt.show()
