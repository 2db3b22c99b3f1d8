"""
Study ``multiview``: precision–recall curves
============================================

The figure of ``statoptim reproduce multiview``: 11-point interpolated
precision–recall curves of cross-modal retrieval in both directions. The
study draws them on Wikipedia and UCI Multiple Features (``--data``); here a
synthetic two-modality data set (two views against one, five topics) stands
in. Compared: the CP-tensor model with the talk's objective
(``consensus=0``), with the consensus term (``consensus=1``), and ridge
semantic matching (a ridge regression of the one-hot topics on each
modality), all scored by the cosine.
"""
import matplotlib.pyplot as plt
import numpy as np
from sklearn.linear_model import Ridge

from statoptim import MultiViewTensorMachine, retrieve

rng = np.random.default_rng(1)
n_topics, n = 5, 500
y = rng.integers(0, n_topics, n)
centres = [rng.standard_normal((n_topics, d)) for d in (6, 5, 8)]
views = [c[y] + 1.5 * rng.standard_normal((n, c.shape[1])) for c in centres]
train, test = np.arange(n) < 350, np.arange(n) >= 350
a_tr, a_te = [v[train] for v in views[:2]], [v[test] for v in views[:2]]
b_tr, b_te = [views[2][train]], [views[2][test]]


def pr_curve(scores_q, scores_d, labels):
    """Mean 11-point interpolated precision over queries (relevant: same topic)."""
    ranking = retrieve(scores_q, scores_d, random_state=0)
    rel = labels[ranking] == labels[:, None]
    hits = np.cumsum(rel, axis=1)
    precision = hits / np.arange(1, rel.shape[1] + 1)
    recall = hits / hits[:, -1:]
    levels = np.linspace(0, 1, 11)
    return np.mean([[p[r >= lv].max() for lv in levels] for p, r in zip(precision, recall)],
                   axis=0)


curves = {}
for mu in (0.0, 1.0):
    model = MultiViewTensorMachine(n_components=5, consensus=mu, alpha=1e-2,
                                   random_state=0)
    model.fit(a_tr, b_tr, y[train])
    fa = model.decision_function(a_te, modality="a")
    fb = model.decision_function(b_te, modality="b")
    curves[f"CP model, consensus = {mu:g}"] = (pr_curve(fa, fb, y[test]),
                                              pr_curve(fb, fa, y[test]))
onehot = np.eye(n_topics)[y[train]]
ra = Ridge(1.0).fit(np.hstack(a_tr), onehot).predict(np.hstack(a_te))
rb = Ridge(1.0).fit(np.hstack(b_tr), onehot).predict(np.hstack(b_te))
curves["ridge semantic matching"] = (pr_curve(ra, rb, y[test]), pr_curve(rb, ra, y[test]))

levels = np.linspace(0, 1, 11)
fig, axes = plt.subplots(1, 2, figsize=(9, 3.8), sharey=True)
for col, title in enumerate(("a -> b", "b -> a")):
    for label, pair in curves.items():
        axes[col].plot(levels, pair[col], "-o", ms=3, label=label)
    axes[col].set_title(title)
    axes[col].set_xlabel("recall")
    axes[col].set_ylim(0, 1)
axes[0].set_ylabel("precision (11-point interpolated)")
axes[0].legend(fontsize=8)
fig.tight_layout()
for label, pair in curves.items():
    print(f"{label:28s} precision at recall 0.5: {pair[0][5]:.3f} / {pair[1][5]:.3f}")
plt.show()
