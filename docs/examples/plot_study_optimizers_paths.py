"""
Study ``optimizers``: paths on a two-parameter problem
======================================================

The second figure of ``statoptim reproduce optimizers``: a logistic
regression with an intercept and one slope (n = 200), so the iterates can be
drawn on the contours of the objective. Each stochastic method takes
minibatch steps of 20 rows for 12 epochs through the optimiser objects'
``step``; Newton–Raphson needs a few iterations.
"""
import matplotlib.pyplot as plt
import numpy as np

from statoptim import optim
from statoptim.optim import logistic_objective, newton_logistic

rng = np.random.default_rng(0)
n = 200
x = 2.0 * rng.standard_normal(n)
y = (rng.random(n) < 1 / (1 + np.exp(-(0.5 + 1.5 * x)))).astype(float)
X = x[:, None]


def objective(theta, rows=None):
    Xr, yr = (X, y) if rows is None else (X[rows], y[rows])
    value, grad, _ = logistic_objective(Xr, yr, theta, 0.0)
    return value, grad


start = np.array([-1.5, -0.5])
paths = {}
order = np.random.default_rng(1)
for label, opt in {"SGD": optim.SGD(0.3), "momentum": optim.Momentum(0.3),
                   "RMSprop": optim.RMSprop(0.05), "Adam": optim.Adam(0.1)}.items():
    theta = start.copy()
    path = [theta.copy()]
    for _epoch in range(12):
        perm = order.permutation(n)
        for k in range(0, n, 20):
            opt.step(theta, objective(theta, perm[k:k + 20])[1])
            path.append(theta.copy())
    paths[label] = np.array(path)
newton = [start.copy()]
newton_logistic(X, y, 0.0, theta0=start, callback=lambda th: newton.append(th.copy()))
paths["Newton"] = np.array(newton)
print(f"Newton: {len(newton) - 1} iterations to {newton[-1].round(3)}")

b0, b1 = np.linspace(-2.5, 3.2, 100), np.linspace(-2.0, 3.0, 100)
F = np.array([[objective(np.array([u, v]))[0] for u in b0] for v in b1])
fig, ax = plt.subplots(figsize=(6, 5))
levels = F.min() + (F.max() - F.min()) * np.linspace(0, 1, 22)[1:] ** 2
ax.contour(b0, b1, F, levels=levels, colors="0.75", linewidths=0.7)
for label, p in paths.items():
    ax.plot(p[:, 0], p[:, 1], marker="o" if label == "Newton" else ".",
            ms=5 if label == "Newton" else 2, lw=0.8, label=label)
ax.plot(*newton[-1], "k*", ms=12, label="optimum")
ax.set_xlabel("intercept")
ax.set_ylabel("slope")
ax.legend(fontsize=8)
fig.tight_layout()
plt.show()
