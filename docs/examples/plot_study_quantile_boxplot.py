"""
Study ``quantile``: the slope under two censoring designs
=========================================================

The figure of ``statoptim reproduce quantile``, on a small scale (n = 300,
40 replications instead of 500; the study runs 500 per cell): box plots of
the median-regression estimate of :math:`\\theta_1` (truth 4.5) with 50%
censoring and 30% of :math:`Z_2` missing, under the talk's fixed cut (design A,
where the slope is not identifiable) and under random censoring (design B,
identifiable), beside an oracle fit on the uncensored, complete data.
"""
import warnings

import matplotlib.pyplot as plt
import numpy as np

from statoptim import CensoredQuantileRegressor, QuantileRegressor
from statoptim.datasets import make_censored_quantile

n, reps = 300, 40
estimates = {"A: fixed cut": [], "B: random censoring": [], "oracle": []}
for rep in range(reps):
    for label, design in (("A: fixed cut", "talk"), ("B: random censoring", "identifiable")):
        data = make_censored_quantile(n, censoring=0.5, missing=0.3, design=design,
                                      random_state=rep)
        with warnings.catch_warnings():
            # under design A, fit warns that the cut makes the slope unidentifiable:
            # that is the point of this figure
            warnings.filterwarnings("ignore", message=".*fixed censoring cut")
            model = CensoredQuantileRegressor(0.5).fit(data.X, data.y, event=data.event)
        estimates[label].append(model.coef_[0])
    full = make_censored_quantile(n, censoring=0.0, missing=0.0, random_state=rep)
    estimates["oracle"].append(QuantileRegressor(0.5).fit(full.X, full.y).coef_[0])

for label, values in estimates.items():
    print(f"{label:20s} bias of theta_1 = {np.mean(values) - 4.5:+.3f}")

fig, ax = plt.subplots(figsize=(6, 3.5))
ax.boxplot(list(estimates.values()))
ax.set_xticks(range(1, 4), list(estimates))
ax.axhline(4.5, color="k", ls="--", lw=0.8)
ax.set_ylabel("estimate of theta_1 (q = 0.5)")
ax.set_title(f"C50% M30%, n = {n}, {reps} replications", fontsize=10)
fig.tight_layout()
plt.show()
