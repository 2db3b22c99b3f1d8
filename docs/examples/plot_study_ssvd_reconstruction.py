"""
Study ``ssvd``: the data and their rank-3 reconstructions
=========================================================

The second lung figure of ``statoptim reproduce ssvd``: heat maps of the data,
the FIT-SSVD rank-3 reconstruction :math:`\\hat U\\hat D\\hat V^\\top` and the
plain SVD's, genes sorted by their dominant FIT-SSVD component, patients in
tumour-type order. As in the previous example, the lung-shaped simulated model
stands in for the real lung200 data (here 600 genes, 200 of them with signal).
"""
import matplotlib.pyplot as plt
import numpy as np

from statoptim import SparseSVD
from statoptim.datasets import make_lung_spiked

X, U, d, V = make_lung_spiked(0, n_samples=600, u_sizes=(100, 60, 40))
model = SparseSVD(n_components=3).fit(X)
Uf, df, Vf = model.left_singular_vectors_, model.singular_values_, model.components_.T
Us, s, Vt = np.linalg.svd(X, full_matrices=False)
recon = (Uf * df) @ Vf.T
recon_svd = (Us[:, :3] * s[:3]) @ Vt[:3]
truth = (U * d) @ V.T
for name, M in (("FIT-SSVD", recon), ("SVD", recon_svd)):
    err = np.linalg.norm(M - truth) / np.linalg.norm(truth)
    print(f"{name:9s} relative error against the signal: {err:.3f}")

dominant = np.where((Uf != 0).any(axis=1), np.abs(Uf).argmax(axis=1), Uf.shape[1])
value = Uf[np.arange(Uf.shape[0]), np.minimum(dominant, Uf.shape[1] - 1)]
order = np.lexsort((-value, dominant))
lim = np.quantile(np.abs(X), 0.99)
fig, axes = plt.subplots(1, 4, figsize=(11, 4.5), sharey=True)
for ax, (title, M) in zip(axes, [("data X", X), ("signal U D V'", truth),
                                 ("FIT-SSVD rank 3", recon), ("SVD rank 3", recon_svd)]):
    im = ax.imshow(M[order], aspect="auto", cmap="RdBu_r", vmin=-lim, vmax=lim,
                   interpolation="nearest")
    for b in (19.5, 32.5, 49.5):
        ax.axvline(b, c="k", lw=0.6)
    ax.set_title(title, fontsize=9)
    ax.set_xlabel("patients", fontsize=8)
axes[0].set_ylabel("genes")
fig.colorbar(im, ax=axes, shrink=0.7)
plt.show()
