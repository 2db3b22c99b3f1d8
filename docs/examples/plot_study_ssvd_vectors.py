"""
Study ``ssvd``: right singular vectors by tumour type
=====================================================

The first lung figure of ``statoptim reproduce ssvd``: pairs of right singular
vectors (one point per patient), coloured by tumour type, from FIT-SSVD and
from the plain SVD. The study draws it for the real lung200 data (``--data``);
here it is drawn for the simulated lung-shaped spiked model with 2,000 genes,
whose three components live on the Carcinoid, Colon and SmallCell patients
while the Normal patients are pure noise. FIT-SSVD sets the noise patients'
entries to exactly zero.
"""
import matplotlib.pyplot as plt
import numpy as np

from statoptim import SparseSVD
from statoptim.datasets import make_lung_spiked

X, U, d, V = make_lung_spiked(0, n_samples=2000, u_sizes=(200, 120, 60))
labels = ["Carcinoid"] * 20 + ["Colon"] * 13 + ["Normal"] * 17 + ["SmallCell"] * 6
model = SparseSVD(n_components=3).fit(X)
V_fit = model.components_.T
V_svd = np.linalg.svd(X, full_matrices=False)[2][:3].T
print("singular values:", model.singular_values_.round(1), "(truth 150, 100, 70)")
print("patients kept by FIT-SSVD:", int((V_fit != 0).any(axis=1).sum()), "of 56 (39 carry signal)")

types = list(dict.fromkeys(labels))
fig, axes = plt.subplots(2, 3, figsize=(11, 6.5))
for row, (Vm, name) in enumerate([(V_fit, "FIT-SSVD"), (V_svd, "SVD")]):
    for col, (a, b) in enumerate([(0, 1), (0, 2), (1, 2)]):
        ax = axes[row, col]
        for t in types:
            idx = [i for i, lab in enumerate(labels) if lab == t]
            ax.scatter(Vm[idx, a], Vm[idx, b], s=18, label=t, alpha=0.85)
        ax.axhline(0, c="0.8", lw=0.6, zorder=0)
        ax.axvline(0, c="0.8", lw=0.6, zorder=0)
        ax.set_title(f"{name}: v{a + 1} vs v{b + 1}", fontsize=9)
axes[0, 0].legend(fontsize=7, frameon=False)
fig.tight_layout()
plt.show()
