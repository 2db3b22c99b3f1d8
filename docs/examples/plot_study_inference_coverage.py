"""
Study ``inference``: coverage of the confidence intervals
=========================================================

The figure of ``statoptim reproduce inference``, on a small scale (n = 100,
150 replications instead of 1000): how often the 95% interval of the slope
covers the truth, for the ``iid`` and ``nid`` standard errors, on
:math:`y = 1 + 2x + e` (iid) and :math:`y = 1 + 2x + (1 + x)e`
(heteroscedastic), :math:`x \\sim U(0, 2)`, at the median. The grey band is
where 95% coverage would land with the Monte Carlo error of this many
replications; ``iid`` averages the error density over :math:`x` and
under-covers under heteroscedasticity, while ``nid`` (the sandwich) does not.
"""
import matplotlib.pyplot as plt
import numpy as np
from scipy.stats import norm

from statoptim import QuantileRegressor

n, reps, methods = 100, 150, ("iid", "nid")
quantiles = (0.25, 0.5, 0.75)
coverage = {}
for design in ("iid", "hetero"):
    for q in quantiles:
        hits = dict.fromkeys(methods, 0)
        for rep in range(reps):
            rng = np.random.default_rng([rep, quantiles.index(q), design == "hetero"])
            x = rng.uniform(0, 2, n)
            e = rng.standard_normal(n)
            y = 1 + 2 * x + ((1 + x) * e if design == "hetero" else e)
            slope = 2 + (norm.ppf(q) if design == "hetero" else 0.0)
            model = QuantileRegressor(q).fit(x[:, None], y)
            for m in methods:
                lo, hi = model.summary(se=m).conf_int[1]
                hits[m] += lo <= slope <= hi
        for m in methods:
            coverage[design, q, m] = hits[m] / reps

band = 1.96 * np.sqrt(0.95 * 0.05 / reps)
fig, axes = plt.subplots(1, 2, figsize=(8, 3.5), sharey=True)
for ax, design in zip(axes, ("iid", "hetero")):
    ax.axhspan(0.95 - band, 0.95 + band, color="0.9")
    ax.axhline(0.95, color="k", lw=0.8)
    for m in methods:
        ax.plot(quantiles, [coverage[design, q, m] for q in quantiles], "o-", label=m)
    ax.set_title(f"{design} errors, n = {n}", fontsize=10)
    ax.set_xlabel("quantile")
axes[0].set_ylabel("coverage of the slope's 95% interval")
axes[0].legend()
fig.tight_layout()
for key, value in coverage.items():
    print(key, f"{value:.2f}")
plt.show()
