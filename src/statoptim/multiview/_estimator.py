"""The multi-view CP-tensor model as a scikit-learn style estimator."""
from __future__ import annotations

import warnings
from collections.abc import Sequence
from typing import Literal

import numpy as np
import scipy.sparse as sp
from numpy.typing import ArrayLike
from sklearn.base import BaseEstimator
from sklearn.utils.validation import check_array, check_is_fitted

from statoptim._threads import single_blas_thread
from statoptim._validation import (
    _describe,
    check_flag,
    check_int,
    check_random_state,
    check_real,
    check_sparse_structure,
)
from statoptim.exceptions import ConvergenceWarning, MixingCollapseWarning, RedundantRankWarning
from statoptim.multiview._calibration import fit_temperature, softmax_scores
from statoptim.multiview._retrieval import _indicator_values, _real_array
from statoptim.multiview._solver import CPSolver
from statoptim.multiview._state import linear_design

__all__ = ["MixingCollapseWarning", "MultiViewTensorMachine", "RedundantRankWarning"]

#: Range of the ridge strengths relative to the data terms, ``lambda / (1 + mu)``.
#: Features are standardised and labels are 0/1, so the data terms of J are of
#: order one per sample; J / (1 + mu) has the same minimisers with ridge
#: ``lambda / (1 + mu)``. Below 1e-12 that ridge is under the rounding level of
#: the block systems (rank-deficient designs -- duplicated features, more
#: features than samples -- give numerically singular blocks and overflowing
#: factors); above 1e12 it shrinks every factor to zero in double precision.
RIDGE_RANGE = (1e-12, 1e12)


def _check_views(views, name, n_samples=None, n_features=None):
    """Validate a list of 2-D views; returns a list of float64 C-contiguous arrays."""
    if sp.issparse(views) or isinstance(views, np.ndarray) or (
            hasattr(views, "__array__") and not isinstance(views, (list, tuple))):
        views = [views]
    if not isinstance(views, (list, tuple)):
        raise TypeError(f"{name} must be a list of 2-D arrays (one per view), "
                        f"got {_describe(views)}")
    if len(views) == 0:
        raise ValueError(f"{name} must contain at least one view, got an empty list")
    if n_features is not None and len(views) != len(n_features):
        raise ValueError(f"{name} must have {len(n_features)} views as in fit, "
                         f"got {len(views)}")
    out = []
    for v, x in enumerate(views):
        label = f"{name}[{v}]"
        if sp.issparse(x):
            raise TypeError(f"{label} must be a dense array, got a scipy.sparse matrix of "
                            f"shape {x.shape}: the model standardises (centres) every "
                            f"feature, which makes it dense; pass {label}.toarray()")
        arr = _real_array(x, label, "a 2-D numeric array")
        if arr.ndim != 2:
            raise ValueError(f"{label} must be a 2-D array (n_samples, n_features), "
                             f"got an array of shape {arr.shape}")
        if arr.shape[0] == 0 or arr.shape[1] == 0:
            raise ValueError(f"{label} must be a non-empty 2-D array with at least one row "
                             f"and one feature, got shape {arr.shape}")
        arr = check_array(arr, dtype=np.float64, order="C", ensure_all_finite=True,
                          input_name=label)
        if n_samples is not None and arr.shape[0] != n_samples:
            raise ValueError(f"{label} must have {n_samples} rows like {name}[0]"
                             f"{'' if name.endswith('_a') else ' and views_a'}, "
                             f"got {arr.shape[0]}")
        if n_features is not None and arr.shape[1] != n_features[v]:
            raise ValueError(f"{label} must have {n_features[v]} features as in fit, "
                             f"got {arr.shape[1]}")
        n_samples = arr.shape[0] if n_samples is None else n_samples
        out.append(arr)
    return out


def _check_labels(Y, n_samples):
    """Turn Y (1-D labels or a 0/1 indicator matrix) into a float indicator matrix."""
    if sp.issparse(Y):
        Y = check_sparse_structure(Y, "Y")
        Y = Y.toarray() if Y.ndim == 2 else Y
    try:
        arr = np.asarray(Y)
    except (TypeError, ValueError):
        raise ValueError(f"Y must be 1-D class labels or a 2-D 0/1 indicator matrix, "
                         f"got {_describe(Y)}") from None
    if arr.ndim not in (1, 2):
        raise ValueError(f"Y must be 1-D class labels or a 2-D 0/1 indicator matrix, "
                         f"got an array of shape {arr.shape}")
    if arr.shape[0] != n_samples:
        raise ValueError(f"Y must have {n_samples} rows like the views, got {arr.shape[0]}")
    if arr.ndim == 1:
        if arr.dtype.kind not in "biufcUSO":
            raise ValueError(f"Y must be 1-D class labels or a 2-D 0/1 indicator matrix, "
                             f"got dtype {arr.dtype}")
        if arr.dtype.kind in "fc" and not np.all(np.isfinite(arr)):
            raise ValueError("Y must not contain NaN or inf")
        if arr.dtype.kind == "O":
            try:
                missing = np.asarray(arr != arr, dtype=bool)  # noqa: PLR0124 (NaN check)
            except (TypeError, ValueError):
                missing = np.zeros(n_samples, dtype=bool)
            if missing.shape == arr.shape and missing.any():
                raise ValueError("Y must not contain NaN or inf")
        try:
            classes, codes = np.unique(arr, return_inverse=True)
        except TypeError as exc:
            raise ValueError(f"Y must hold class labels of one sortable type (all numbers or "
                             f"all strings), got an object array that cannot be sorted "
                             f"({exc})") from None
        codes = codes.reshape(-1)
        ind = np.zeros((n_samples, classes.size))
        ind[np.arange(n_samples), codes] = 1.0
        return ind, classes
    if arr.shape[1] == 0:
        raise ValueError("Y must have at least one topic (column), got shape "
                         f"{arr.shape}")
    ind = _indicator_values(arr, "Y")
    if not np.all((ind == 0) | (ind == 1)):
        bad = ind[~((ind == 0) | (ind == 1))]
        raise ValueError(f"Y must be a 0/1 indicator matrix, got the value {float(bad[0])!r}")
    empty = np.flatnonzero(ind.sum(axis=0) == 0)
    if empty.size:
        raise ValueError("Y must have at least one positive in every topic (column); "
                         f"topics {empty.tolist()} have none")
    return np.ascontiguousarray(ind), np.arange(ind.shape[1])


def _standardize_fit(views):
    """Per-feature (exponent, mean, scale) on the training rows.

    Each column is first multiplied by ``2**-exponent`` so that its largest
    |entry| lies in [0.5, 1). That is exact in binary floating point, so the
    mean and standard deviation (of the rescaled column) neither overflow for
    features of order 1e300 nor underflow for features of order 1e-300, and
    the design does not depend on a column's binary magnitude. A constant
    column (all entries equal, or a standard deviation within 10 eps of its
    mean's magnitude) gets scale 1, so its design column is 0.
    """
    out = []
    eps = np.finfo(np.float64).eps
    for x in views:
        exponent = np.frexp(np.max(np.abs(x), axis=0))[1]   # C int, as ldexp takes
        xs = np.ldexp(x, -exponent)
        mean = xs.mean(axis=0)
        scale = xs.std(axis=0)
        equal = np.ptp(xs, axis=0) == 0
        mean[equal] = xs[0, equal]   # the rounded mean would leave a +-eps design column
        constant = equal | (scale <= 10.0 * eps * np.abs(mean))
        out.append((exponent, mean, np.where(constant, 1.0, scale)))
    return out


def _design(views, standardization):
    """Z = [1, (X 2**-exponent - mean) / scale] for every view."""
    out = []
    for x, (exponent, mean, scale) in zip(views, standardization):
        z = np.empty((x.shape[0], x.shape[1] + 1))
        z[:, 0] = 1.0
        np.ldexp(x, -exponent, out=z[:, 1:])
        z[:, 1:] -= mean
        z[:, 1:] /= scale
        out.append(z)
    return out


class MultiViewTensorMachine(BaseEstimator):
    """Two-modality multi-view CP-tensor model fitted by block coordinate descent.

    Each modality m (``a`` and ``b``, e.g. image and text) has one or more views
    X_m^(v). With Z = [1, standardised X], the modality's topic scores are
    ``f_m = (Z^(1) Theta^(1) o ... o Z^(V) Theta^(V)) Phi_m^T`` -- a Multi-View
    Machine (Cao et al. 2016) with the topic mode of Multilinear Factorization
    Machines (Lu et al. 2017) -- and the talk's mixed predictor is
    ``F_p = gamma_p f_{a,p} + (1 - gamma_p) f_{b,p}`` with the mixing weights
    ``gamma = mixing_weights_``. The fit minimises ::

        J = (1/N) ||F - Y||^2 + (consensus/N) (||f_a - Y||^2 + ||f_b - Y||^2)
            + alpha * (sum ||Theta||^2 + sum ||Phi||^2)

    by block coordinate descent (Xu & Yin 2013): Phi_a, Theta_a^(1..V_a), Phi_b,
    Theta_b^(1..V_b), then gamma, each block minimised exactly (or decreased by
    preconditioned CG or prox-linear steps), followed by an exact rebalancing
    of the CP column norms (f unchanged, penalty decreased).

    ``consensus=0`` is the talk's objective. It fits only the mixture, so each
    modality alone is a poor topic scorer and cross-modal retrieval suffers;
    with a large ``alpha`` the mixing weights can collapse to {0, 1}
    (a :class:`MixingCollapseWarning` is raised). ``consensus > 0`` makes each
    modality fit the labels on its own and is what retrieval needs.

    Parameters
    ----------
    n_components : int, default=10
        Number of CP components R (the CP rank, >= 1).
    alpha : float, default=1e-3
        Ridge strength lambda > 0 on every Theta and Phi.
    consensus : float, default=1.0
        Weight mu >= 0 of the per-modality fit terms; 0 gives the talk's objective.
    loss : {"squared", "softmax"}, default="squared"
        Data loss of the mixture and consensus terms. ``"squared"`` is the
        talk's ``||F - Y||^2``. ``"softmax"`` is the multinomial cross-entropy
        ``sum_i [logsumexp(f_i) - t_i^T f_i]`` with ``t_i`` the row-normalised
        labels (the loss of logistic semantic matching), so f are topic
        logits. Its blocks are not quadratic: every block update minimises (or,
        with ``"cg"``, decreases) Boehning's quadratic majorant of the
        cross-entropy (Hessian <= I/2) at the current state, a
        majorise-minimise step in the block coordinate framework, so J still
        never increases and the same kernels and exact solves serve both losses.
        To converge in fewer cycles each block first tries a tighter (smaller)
        curvature, adapted per block, and keeps the step only if J dropped by a
        fair share of the predicted decrease; otherwise it takes the majorant
        step, so J stays monotone (see ``statoptim.multiview._solver``).
    mixing : {"learn", "fixed"}, default="learn"
        Fit the per-topic mixing weights gamma (``mixing_weights_``), or keep
        them at 1/2.
    linear_term : bool, default=False
        Add a linear term per modality, ``f_m = Pi_m Phi_m^T + L_m W_m`` with
        ``L_m = [1, X_m^(1), ..., X_m^(V_m)]`` (standardised views side by side)
        and ``W_m`` of shape (1 + sum_v n_features_v, n_topics), penalised by
        ``linear_alpha * ||W_m||^2`` -- the task-specific linear term of the
        MFM authors' release. The CP part then models the interactions across
        views and the model contains semantic matching on the concatenated
        views (its ``loss`` decides which). ``W_m`` is one more exact block per
        modality, updated after the modality's Theta blocks (one
        eigendecomposition of ``L_m^T L_m / N`` per fit serves every topic).
    linear_alpha : float or None, default=None
        Ridge strength of the linear term (> 0); None uses ``alpha``.
    block_update : {"auto", "exact", "cg", "prox-linear"}, default="auto"
        Update of the Theta blocks.

        - ``"exact"``: exact block minimisation (Xu & Yin's 1.3a): a Kronecker
          eigen-solve for single-view modalities, else a Cholesky factorisation
          of the assembled block system (preconditioned CG to round-off when
          ``n_components * (n_features + 1) > 3000``).
        - ``"cg"``: three preconditioned conjugate-gradient steps on the block
          system, warm-started at the current block. Every step decreases J, so
          the objective stays monotone; the mean-field Kronecker preconditioner
          makes three steps nearly exact, at a fraction of the cost of
          assembling and factoring the block system.
        - ``"prox-linear"``: one prox-linear step with extrapolation (1.3c).
        - ``"auto"``: ``"exact"`` for single-view modalities (the eigen-solve is
          cheap), ``"cg"`` for views of multi-view modalities.
    tol : float, default=1e-4
        Stop when the relative decrease of J over a full cycle is below ``tol``.
        BCD on CP factors has a long sublinear tail; on the retrieval data sets
        the rankings no longer change (mAP to 3 decimals) below 1e-4.
    max_iter : int, default=200
        Maximum number of cycles; reaching it raises a ``ConvergenceWarning``.
    n_init : int, default=1
        Number of random starts; the fit with the lowest final objective is kept
        (BCD on CP factors reaches different local minima from different starts).
    accelerate : bool, default=False
        Extrapolate whole BCD cycles: after each cycle every factor moves on along
        that cycle's step, kept only if J decreases (so J stays monotone and the
        fixed points are those of the plain schedule), and the products
        ``Z Theta`` are updated through their linearity instead of recomputed.
        Fewer cycles reach a lower J (squared loss on UCI 2+2: 1.5-1.9x faster
        at the same mAP to 3 decimals, BENCHMARKS.md); the iterates differ from
        the plain schedule's, so the fit is not bit-identical to
        ``accelerate=False``. Prox-linear blocks are never extrapolated.
    random_state : int, Generator or None, default=None
        Seeds the initial Theta (modality a before b, views in order; the starts
        of ``n_init > 1`` are drawn one after the other from the same generator).

    Attributes
    ----------
    view_factors_ : tuple of two lists of ndarray
        Theta_m^(v) of shape (n_features_v + 1, n_components); row 0 multiplies the constant.
    topic_factors_ : tuple of two ndarray of shape (n_topics, n_components)
        Phi_a and Phi_b.
    linear_coef_ : tuple of two ndarray or None
        ``W_a, W_b`` of the linear term (row 0 multiplies the constant, then the
        features of the views in order); None without ``linear_term``.
    mixing_weights_ : ndarray of shape (n_topics,)
        gamma_p (the weight of modality a in topic p).
    mixing_weights_path_ : ndarray of shape (n_iter_ + 1, n_topics)
        The mixing weights after initialisation (1/2), then after every BCD
        cycle of the kept start; ``mixing_weights_path_[-1]`` equals
        ``mixing_weights_``. With ``consensus=0`` and a large
        ``alpha`` the rows run to 0 or 1 (see
        :class:`MixingCollapseWarning`). J at the same points is
        ``objective_[::n_blocks]`` with ``n_blocks = (len(objective_) - 1) //
        n_iter_`` (every cycle records the same blocks).
    objective_ : ndarray
        J after initialisation, then after every block update.
    objective_labels_ : list of str
        The block updated before each entry of ``objective_`` (``"init"`` first).
    n_iter_ : int
        Completed cycles.
    temperatures_ : tuple of two float
        beta_a, beta_b of :meth:`predict_proba`, fitted on the training rows by
        temperature scaling (minimum multinomial cross-entropy of
        ``softmax(beta * f_m)``; see ``statoptim.multiview._calibration``).
    classes_ : ndarray of shape (n_topics,)
        Class labels when ``Y`` was 1-D, else ``arange(n_topics)``.
    n_views_ : tuple of int
        (V_a, V_b).
    n_features_views_ : tuple of two lists of int
        Number of features per view.
    view_means_, view_scales_ : tuple of two lists of ndarray
        The per-feature standardisation learned on the training rows.

    Examples
    --------
    >>> import numpy as np
    >>> from statoptim import MultiViewTensorMachine, retrieve, mean_average_precision
    >>> rng = np.random.default_rng(0)
    >>> y = rng.integers(0, 3, 200)
    >>> img = rng.standard_normal((200, 5)) + y[:, None]
    >>> txt = rng.standard_normal((200, 4)) - y[:, None]
    >>> model = MultiViewTensorMachine(n_components=3, random_state=0).fit([img], [txt], y)
    >>> ranking = retrieve(model.decision_function([img], modality="a"),
    ...                    model.decision_function([txt], modality="b"), random_state=0)
    >>> round(mean_average_precision(y, y, ranking), 2) > 0.5
    True
    """

    def __init__(self, n_components: int = 10, *, alpha: float = 1e-3, consensus: float = 1.0,
                 loss: Literal["squared", "softmax"] = "squared",
                 mixing: Literal["learn", "fixed"] = "learn",
                 block_update: Literal["auto", "exact", "cg", "prox-linear"] = "auto",
                 linear_term: bool = False, linear_alpha: float | None = None,
                 tol: float = 1e-4, max_iter: int = 200, n_init: int = 1,
                 accelerate: bool = False,
                 random_state: int | np.random.Generator | None = None) -> None:
        self.n_components = n_components
        self.alpha = alpha
        self.consensus = consensus
        self.loss = loss
        self.mixing = mixing
        self.block_update = block_update
        self.linear_term = linear_term
        self.linear_alpha = linear_alpha
        self.tol = tol
        self.max_iter = max_iter
        self.n_init = n_init
        self.accelerate = accelerate
        self.random_state = random_state

    def _check_params(self):
        check_int(self.n_components, "n_components", minimum=1)
        check_real(self.alpha, "alpha", low=0, low_open=True)
        check_real(self.consensus, "consensus", low=0)
        check_real(self.tol, "tol", low=0)
        check_int(self.max_iter, "max_iter", minimum=1)
        check_int(self.n_init, "n_init", minimum=1)
        check_flag(self.accelerate, "accelerate")
        if not isinstance(self.loss, str) or self.loss not in ("squared", "softmax"):
            raise ValueError(f"loss must be 'squared' or 'softmax', got {self.loss!r}")
        if not isinstance(self.mixing, str) or self.mixing not in ("learn", "fixed"):
            raise ValueError(f"mixing must be 'learn' or 'fixed', got {self.mixing!r}")
        if self.linear_alpha is not None:
            check_real(self.linear_alpha, "linear_alpha", low=0, low_open=True)
        if not isinstance(self.linear_term, (bool, np.bool_)):
            raise ValueError(  # noqa: TRY004 (a ValueError, as the existing tests expect)
                f"linear_term must be True or False, got {self.linear_term!r}")
        if not isinstance(self.block_update, str) or self.block_update not in (
                "auto", "exact", "cg", "prox-linear"):
            raise ValueError("block_update must be 'auto', 'exact', 'cg' or 'prox-linear', "
                             f"got {self.block_update!r}")
        low, high = RIDGE_RANGE
        names = ["alpha"]
        if self.linear_term and self.linear_alpha is not None:
            names.append("linear_alpha")
        for name in names:
            ridge = getattr(self, name) / (1.0 + self.consensus)
            if not low <= ridge <= high:
                raise ValueError(
                    f"{name} / (1 + consensus) must lie in [{low:g}, {high:g}] (the ridge "
                    f"relative to the data terms, which are of order one), got {ridge:.3g} "
                    f"from {name}={getattr(self, name):g} and consensus={self.consensus:g}")

    def _prepare(self, views_a, views_b, Y):
        """Validate and standardise; returns (Z, Y_indicator, fitted attributes)."""
        self._check_params()
        views_a = _check_views(views_a, "views_a")
        n_samples = views_a[0].shape[0]
        views_b = _check_views(views_b, "views_b", n_samples=n_samples)
        if n_samples < 2:
            raise ValueError(f"views_a must have at least 2 rows to standardise, "
                             f"got {n_samples}")
        Y, classes = _check_labels(Y, n_samples)
        if self.n_components > n_samples:
            # Pi_m (n_samples x R) has rank <= n_samples: components beyond it add
            # nothing the training rows can tell apart, only O(R^3) work per block.
            raise ValueError(
                f"n_components must be at most the number of training samples ({n_samples}), "
                f"got {self.n_components}: the data cannot identify more components (the "
                f"{n_samples} x n_components matrix of component scores has rank <= "
                f"{n_samples})")
        attrs = {"classes_": classes, "n_views_": (len(views_a), len(views_b)),
                 "n_features_views_": ([x.shape[1] for x in views_a],
                                       [x.shape[1] for x in views_b])}
        standardization = tuple(_standardize_fit(views) for views in (views_a, views_b))
        Z = [_design(views, st) for views, st in zip((views_a, views_b), standardization)]
        attrs["_standardization"] = standardization
        with np.errstate(over="ignore"):   # informative copies; the design uses the exact form
            attrs["view_means_"] = tuple([np.ldexp(mean, e) for e, mean, _ in st]
                                         for st in standardization)
            attrs["view_scales_"] = tuple([np.ldexp(scale, e) for e, _, scale in st]
                                          for st in standardization)
        n_topics = Y.shape[1]
        for m, name in enumerate("ab"):
            if len(Z[m]) == 1:
                cap = min(n_topics, Z[m][0].shape[1])
                if self.n_components > cap:
                    warnings.warn(
                        f"n_components={self.n_components} > min(n_topics, n_features + 1)="
                        f"{cap} for the single-view modality {name}: the extra components "
                        "are redundant",
                        RedundantRankWarning, stacklevel=3)
        return Z, Y, attrs

    def _solver(self, Z, Y, rng):
        return CPSolver(Z, Y, self.n_components, self.alpha, self.consensus,
                        learn_mixing=self.mixing == "learn", block_update=self.block_update,
                        rng=rng, loss=self.loss, linear=bool(self.linear_term),
                        linear_regularization=self.linear_alpha,
                        accelerate=bool(self.accelerate))

    def fit(self, views_a: Sequence[ArrayLike], views_b: Sequence[ArrayLike],
            Y: ArrayLike) -> MultiViewTensorMachine:
        """Fit the model on paired samples of the two modalities.

        Parameters
        ----------
        views_a : list of array-like of shape (n_samples, n_features_v)
            The views of modality a (a single 2-D array means one view). Dense,
            real and finite; any magnitude (features are rescaled exactly by
            powers of two before they are standardised).
        views_b : list of array-like of shape (n_samples, n_features_v)
            The views of modality b, row-aligned with ``views_a``.
        Y : array-like of shape (n_samples,) or (n_samples, n_topics)
            Class labels (one-hot encoded internally) or a 0/1 label indicator
            matrix (multi-label, dense or sparse); every topic needs at least
            one positive.

        Returns
        -------
        self : MultiViewTensorMachine

        Raises
        ------
        ValueError
            For invalid input or parameters, including ``n_components`` above the number
            of samples and ridge strengths outside ``RIDGE_RANGE`` relative to
            ``1 + consensus``. The fitted attributes are only set when the fit
            succeeds.
        """
        Z, Y, attrs = self._prepare(views_a, views_b, Y)
        rng = check_random_state(self.random_state)
        best = None
        with single_blas_thread():  # small products: threads only lose (_threads.py)
            for _ in range(self.n_init):
                solver = self._solver(Z, Y, rng)
                fit = solver.fit(self.max_iter, self.tol)
                if best is None or fit[0][-1] < best[1][0][-1]:
                    best = (solver, fit)
        solver, (values, labels, n_iter, converged, rel) = best
        state = [t for Tm in solver.Theta for t in Tm] + list(solver.Phi) + [solver.alpha]
        state += list(solver.W) if solver.linear else []
        if not (np.isfinite(values[-1]) and all(np.all(np.isfinite(a)) for a in state)):
            raise ValueError(
                "MultiViewTensorMachine: the fit overflowed (non-finite objective or "
                "factors); increase alpha or decrease consensus")
        if not converged:
            warnings.warn(
                f"MultiViewTensorMachine did not converge in max_iter={self.max_iter} cycles "
                f"(last relative decrease {rel:.2e} > tol={self.tol:g}); increase max_iter",
                ConvergenceWarning, stacklevel=2)
        for key, value in attrs.items():
            setattr(self, key, value)
        self.view_factors_ = tuple([t.copy() for t in Tm] for Tm in solver.Theta)
        self.topic_factors_ = tuple(p.copy() for p in solver.Phi)
        self.mixing_weights_ = solver.alpha.copy()
        self.mixing_weights_path_ = solver.alpha_path
        self.linear_coef_ = (tuple(w.copy() for w in solver.W) if solver.linear
                             else None)
        self.objective_ = values
        self.objective_labels_ = labels
        self.n_iter_ = n_iter
        # Temperature scaling on the training rows only (in-sample scores f_m).
        self.temperatures_ = tuple(fit_temperature(f, Y) for f in solver.f)
        if self.consensus == 0 and self.mixing == "learn":
            ends = np.flatnonzero((self.mixing_weights_ == 0) | (self.mixing_weights_ == 1))
            if ends.size:
                warnings.warn(
                    f"mixing weights of topics {ends.tolist()} reached 0 or 1 with "
                    "consensus=0: the modality with weight 0 does not score those topics "
                    f"({ends.size} of {self.mixing_weights_.size} collapsed); use "
                    "consensus > 0 or mixing='fixed' for retrieval",
                    MixingCollapseWarning, stacklevel=2)
        return self

    def decision_function(self, views: Sequence[ArrayLike],
                          modality: Literal["a", "b"] = "a") -> np.ndarray:
        """Topic scores f_m of one modality, shape (n_samples, n_topics).

        Parameters
        ----------
        views : list of array-like
            The views of that modality, as in ``fit``.
        modality : {"a", "b"}
            Which modality ``views`` belong to.

        Raises
        ------
        ValueError
            For invalid views, and when the scores overflow: features so far
            from the training data that the degree-V polynomial of the model
            exceeds the double-precision range.
        """
        check_is_fitted(self, "topic_factors_")
        if not isinstance(modality, str):
            raise TypeError(f"modality must be 'a' or 'b', got {_describe(modality)}")
        if modality not in ("a", "b"):
            raise ValueError(f"modality must be 'a' or 'b', got {modality!r}")
        m = 0 if modality == "a" else 1
        name = f"views_{modality}"
        views = _check_views(views, name, n_features=self.n_features_views_[m])
        with np.errstate(over="ignore", invalid="ignore"):
            Z = _design(views, self._standardization[m])
            Pi = np.ones((Z[0].shape[0], self.topic_factors_[m].shape[1]))  # fitted n_components
            for z, theta in zip(Z, self.view_factors_[m]):
                Pi *= z @ theta
            f = Pi @ self.topic_factors_[m].T
            if self.linear_coef_ is not None:
                f += linear_design(Z) @ self.linear_coef_[m]
        if not np.all(np.isfinite(f)):
            bad = np.flatnonzero(~np.all(np.isfinite(f), axis=1))
            raise ValueError(
                f"{name} give non-finite scores in {bad.size} rows (first: row {bad[0]}): "
                "their features are so far from the training data (relative to its "
                "standard deviations) that the model's polynomial overflows")
        return f

    def predict_proba(self, views: Sequence[ArrayLike],
                      modality: Literal["a", "b"] = "a") -> np.ndarray:
        """Topic posteriors ``softmax(beta_m * f_m)``, shape (n_samples, n_topics).

        The retrieval representation of semantic matching (Rasiwasia et al.
        2010): rows are positive, sum to one and keep the order of
        :meth:`decision_function`; ``beta_m = temperatures_[m]`` was fitted on the
        training rows by temperature scaling, so nothing is tuned on test data.
        Cosine retrieval on these posteriors damps the small scores of the
        non-dominant topics, which otherwise weigh as much as the dominant ones.

        Parameters
        ----------
        views, modality
            As in :meth:`decision_function`.
        """
        f = self.decision_function(views, modality)
        return softmax_scores(f, self.temperatures_[0 if modality == "a" else 1])

    def predict_mixed(self, views_a: Sequence[ArrayLike],
                      views_b: Sequence[ArrayLike]) -> np.ndarray:
        """The mixed predictor F = f_a diag(gamma) + f_b diag(1 - gamma) on paired rows.

        ``gamma = mixing_weights_``.
        """
        fa = self.decision_function(views_a, "a")
        fb = self.decision_function(views_b, "b")
        if fa.shape[0] != fb.shape[0]:
            raise ValueError(f"views_b must have {fa.shape[0]} rows like views_a, "
                             f"got {fb.shape[0]}")
        return fa * self.mixing_weights_ + fb * (1.0 - self.mixing_weights_)


