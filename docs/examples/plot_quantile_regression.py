"""
Exact quantile regression and the quantile process
==================================================

Fit linear conditional quantiles of a heteroscedastic model,
:math:`y = 1 + 2x + (1 + x)e`, whose slope grows with the quantile level:
the :math:`q`-quantile line is :math:`1 + \\Phi^{-1}(q) + (2 + \\Phi^{-1}(q))x`.
Every fit is an exact solution of the linear program (``status_`` is
``"optimal"``: Koenker's certificate holds). ``quantile="all"`` follows the
whole process :math:`\\tau \\mapsto \\hat\\theta(\\tau)`, and
:func:`~statoptim.quantile.plot_process` draws it with its confidence band.
"""
import matplotlib.pyplot as plt
import numpy as np

from statoptim import QuantileRegressor
from statoptim.quantile import plot_process

rng = np.random.default_rng(0)
n = 400
x = rng.uniform(0, 2, n)
y = 1 + 2 * x + (1 + x) * rng.standard_normal(n)

model = QuantileRegressor(quantile=[0.1, 0.5, 0.9]).fit(x[:, None], y)
print("status:", model.status_)
print("slopes:", model.coef_.ravel().round(3), "(truth 0.72, 2.00, 3.28)")
print(model.summary(se="nid"))

# %%
# The fitted quantile lines over the data.
fig, ax = plt.subplots(figsize=(6, 4))
ax.scatter(x, y, s=6, color="0.6")
grid = np.linspace(0, 2, 50)[:, None]
for q, pred in zip(model.quantiles_, model.predict(grid).T):
    ax.plot(grid[:, 0], pred, label=f"q = {q:g}")
ax.set_xlabel("x")
ax.set_ylabel("y")
ax.legend()
fig.tight_layout()

# %%
# The whole regression-quantile process, with 95% pointwise bands.
process = QuantileRegressor(quantile="all").fit(x[:, None], y)
print(f"{len(process.quantiles_)} pieces of the process")
plot_process(process, quantiles=np.linspace(0.05, 0.95, 19))
plt.show()
