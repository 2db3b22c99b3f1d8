"""
Sparse SVD: recovering sparse singular vectors
==============================================

The rank-one example of Lee et al. (2010): a 100 × 50 matrix
:math:`X = d\\,uv^\\top + Z` with :math:`d = 50`, 25 nonzero entries in
:math:`u`, 16 in :math:`v` and standard normal noise.
:class:`~statoptim.SparseSVD` recovers the supports by thresholding with no
tuning; the plain SVD spreads noise over every entry.
"""
import matplotlib.pyplot as plt
import numpy as np

from statoptim import SparseSVD
from statoptim.datasets import make_rank_one_ssvd

X, u, d, v = make_rank_one_ssvd(0)
model = SparseSVD(n_components=1).fit(X)
u_hat = model.left_singular_vectors_[:, 0]
v_hat = model.components_[0]
u_svd, s_svd, vt_svd = np.linalg.svd(X, full_matrices=False)
sign = np.sign(u_svd[:, 0] @ u[:, 0])


def loss(a, b):
    """Projection loss 1 - (a'b)^2 of two unit vectors."""
    return 1 - float(a @ b) ** 2


print(f"FIT-SSVD: d = {model.singular_values_[0]:.2f}, {np.count_nonzero(u_hat)} rows of u "
      f"and {np.count_nonzero(v_hat)} of v kept, {model.n_iter_} iterations")
print(f"loss of u: FIT-SSVD {loss(u_hat, u[:, 0]):.4f}, SVD {loss(u_svd[:, 0], u[:, 0]):.4f}")
print(f"loss of v: FIT-SSVD {loss(v_hat, v[:, 0]):.4f}, SVD {loss(vt_svd[0], v[:, 0]):.4f}")

# %%
fig, axes = plt.subplots(2, 1, figsize=(7, 5))
for ax, truth, fit, svd, name in [(axes[0], u[:, 0], u_hat, sign * u_svd[:, 0], "u"),
                                  (axes[1], v[:, 0], v_hat, sign * vt_svd[0], "v")]:
    ax.plot(truth, "k-", lw=1, label="truth")
    ax.plot(svd, ".", color="0.6", label="SVD")
    ax.plot(fit, "o", ms=3, mfc="none", label="FIT-SSVD")
    ax.set_ylabel(name)
axes[0].legend(fontsize=8)
axes[1].set_xlabel("index")
fig.tight_layout()
plt.show()
