"""Shared set-up of the multi-view solver tests (plain NumPy, no statoptim code)."""
import numpy as np


def problem(seed, n=60, dims=((4, 3), (5,)), n_topics=3):
    """Designs ``Z[m][v] = [1, N(0, 1) features]`` of two modalities and a 0/1 ``Y``.

    ``dims`` gives the features of each view of modality a, then b; every
    topic of ``Y`` is on with probability 0.4. The draws (views in order, then
    ``Y``) come from ``default_rng(seed)``.
    """
    rng = np.random.default_rng(seed)
    Z = []
    for modality in dims:
        views = []
        for d in modality:
            z = np.ones((n, d + 1))
            z[:, 1:] = rng.standard_normal((n, d))
            views.append(z)
        Z.append(views)
    return Z, (rng.random((n, n_topics)) < 0.4).astype(float)


def with_view(Theta, m, v, x):
    """A copy of the view factors ``Theta`` with ``Theta[m][v]`` replaced by ``x``."""
    T = [[t.copy() for t in Tm] for Tm in Theta]
    T[m][v] = x
    return T
