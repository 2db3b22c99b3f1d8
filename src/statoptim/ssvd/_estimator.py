"""``SparseSVD``: FIT-SSVD (Yang, Ma & Buja 2014) as a scikit-learn transformer."""
from __future__ import annotations

import math
import numbers
import warnings
from typing import Literal

import numpy as np
from numpy.typing import ArrayLike
from scipy import sparse
from sklearn.base import BaseEstimator, TransformerMixin
from sklearn.utils.validation import check_array, check_is_fitted

from statoptim._threads import single_blas_thread
from statoptim._validation import (
    check_choice,
    check_flag,
    check_int,
    check_random_state,
    check_real,
    check_sparse_structure,
    power_of_two_scale,
    validate_named,
)
from statoptim.exceptions import ConvergenceWarning, DegenerateDataWarning, WeakComponentWarning
from statoptim.ssvd._core import (
    component_snr,
    diag_product,
    fit_ssvd,
    make_operator,
    noise_scale,
    orient_components,
)
from statoptim.ssvd._initialise import initial_selection
from statoptim.ssvd._rank import wold_cv_rank
from statoptim.ssvd._scaling import RATIO_BOUND, divided, finite_or_raise, scaled_operator

__all__ = ["SparseSVD", "WeakComponentWarning"]

# A component whose estimated signal-to-noise ratio (``component_snr_``) is below this is
# reported with a WeakComponentWarning. Pure-noise components score 0-1.25 (a component
# thresholded to zero kept its previous value: 0); on the lung-sized model components
# recovered only in part (projection loss >= 0.25) score 1.16-1.55, and components whose
# RMS entry d / sqrt(k_u) is at least 6 sigma (loss <= 0.12) score >= 1.65.
SNR_WARN = 1.6



class SparseSVD(TransformerMixin, BaseEstimator):
    """Sparse singular value decomposition by fast iterative thresholding (FIT-SSVD).

    Fits the spiked-mean model ``X = U D V' + Z`` with ``U`` (n_samples x r) and
    ``V`` (n_features x r) orthonormal and row-sparse, by the thresholded block
    power iterations of Yang, Ma & Buja (2014): starting from the SVD of a
    block of high-energy rows and columns, alternately compute
    ``U = QR(eta(X_s V, gamma_u))`` and ``V = QR(eta(X_s' U, gamma_v))`` on
    ``X_s = X / sigma``, reading only the columns (rows) of ``X`` where ``V``
    (``U``) is nonzero.

    Parameters
    ----------
    n_components : int or "cv", default=1
        Rank r. ``"cv"`` estimates it by Wold-style 5-fold speckled
        cross-validation with SVDImpute (ranks 0..20) on the block of rows and
        columns selected by the initialisation of ``threshold_rule`` at r = 1
        (``n_components_`` and ``cv_msep_`` are set).
    threshold_rule : {"theory", "bootstrap"}, default="theory"
        ``"theory"``: chi-square-type initial selection and the universal
        thresholds ``gamma_u * sqrt(log n_samples)``, ``gamma_v * sqrt(log
        n_features)`` (``= sqrt(2 log n)`` by default); deterministic.
        ``"bootstrap"``: the paper's data-driven methodology (the reference's
        ``"method"``): Huberised energies with a robust Holm selection and
        thresholds estimated by bootstrap from rows/columns presumed to be
        noise. When the noise block is too small for the bootstrap (routine on
        tall data, see ``n_threshold_fallbacks_``) the theory value is used; near
        that boundary a side keeps its previous choice unless the block is 10%
        past it (otherwise a one-row change of support can flip the threshold
        back and forth and the iterations cycle without converging).
    threshold : {"hard", "soft", "scad"}, default="hard"
        Thresholding function eta(x, gamma): hard ``x 1{|x| >= gamma}``, soft
        ``sign(x) max(|x| - gamma, 0)``, or SCAD, the smoothly clipped absolute
        deviation rule of Fan & Li (2001) with ``a = 3.7``: soft for ``|x| <= 2
        gamma``, ``((a - 1) x - sign(x) a gamma) / (a - 2)`` for ``2 gamma < |x|
        <= a gamma`` and ``x`` above (soft near the threshold, unbiased for
        large entries, continuous everywhere).
    sigma : float or None, default=None
        Noise standard deviation. None: ``1.4826 * median |X_ij - median(X)|``
        over all ``n_samples * n_features`` entries, implicit zeros of a sparse
        matrix included (so a mostly-zero matrix needs ``sigma`` given: a zero
        estimate raises ``ValueError``).
    gamma_u, gamma_v : float, default=sqrt(2)
        Multipliers of the universal thresholds (``"theory"`` rule and the
        bootstrap's fallback). 0 turns thresholding off (plain block power
        iterations, i.e. the ordinary truncated SVD).
    alpha_theory : float, default=1.5
        Constant of the chi-square selection rule of the ``"theory"`` rule.
    alpha_holm : float, default=0.05
        Level of the Holm selection of the ``"bootstrap"`` rule.
    huber_beta : float, default=0.95
        Quantile of ``X_ij^2`` at which the energies are Huberised
        (``"bootstrap"`` rule).
    center : {None, "rows", "columns"}, default=None
        Centring applied before the fit. The model puts the signal in the
        mean, so nothing is centred by default. ``"rows"`` subtracts each row's
        own mean (also from new rows in ``transform``); ``"columns"`` subtracts
        the training column means (stored in ``mean_``). Sparse input is centred
        implicitly (a rank-one correction inside the products; X is never
        densified), with the ``"theory"`` rule only.
    tol : float, default=1e-8
        Stop when ``max(dist_u, dist_v) <= tol``, where dist is the sin^2 of the
        largest principal angle between successive iterates.
    max_iter : int, default=100
        Maximum number of iterations (one u and one v half-step each).
    n_bootstrap : int, default=100
        Bootstrap replicates per threshold (``"bootstrap"`` rule).
    orthogonal : bool, default=True
        If False (the reference's ``non_orth``), finish with one half-step per
        side without QR, so each component keeps its own support; the
        components are then unit-norm but not orthogonal, and the orthonormal
        pair is kept in ``left_singular_vectors_orth_``/``components_orth_``.
    max_nonzero_rows, max_nonzero_features : int or None, default=None
        Optional caps on the number of nonzero rows of U (samples) and of V
        (features): after each thresholding only the rows with the largest
        norms are kept. At least ``n_components``. None: no cap (the
        thresholds alone decide, as in the paper).
    warm_start : bool, default=False
        If True and the estimator was fitted before on data of the same shape
        and rank, start the iterations from the previous orthonormal U and V
        instead of the initial selection (``init_fallback_`` is then
        (False, False)).
    random_state : int, Generator or None, default=None
        Seeds the bootstrap draws and the CV folds. The ``"theory"`` rule with
        an integer ``n_components`` is deterministic and ignores it.

    Attributes
    ----------
    left_singular_vectors_ : ndarray of shape (n_samples, n_components_)
        Sparse left singular vectors U (of the training matrix).
    components_ : ndarray of shape (n_components_, n_features)
        Sparse right singular vectors V' (one row per component).
    singular_values_ : ndarray of shape (n_components_,)
        ``d_k = u_k' X v_k >= 0`` on the scale of (centred) X, sorted
        decreasingly. Only the diagonal of U'XV: its off-diagonal entries are
        not zero in general.
    explained_variance_ratio_ : ndarray of shape (n_components_,)
        ``d_k^2 / ||X||_F^2``.
    captured_variance_ratio_ : float
        ``||U' X V||_F^2 / ||X||_F^2`` (at least the sum of the above).
    n_components_ : int
        The rank fitted (from ``n_components`` or the CV).
    n_iter_ : int
        Iterations done.
    noise_scale_ : float
        sigma used (given or estimated).
    mean_ : ndarray or None
        Row means (``center="rows"``, shape (n_samples,)), column means
        (``center="columns"``, shape (n_features,)) or None.
    left_support_, right_support_ : ndarray of bool
        Per-component supports ``U != 0`` (n_samples, r) and ``V != 0``
        (n_features, r). The thin QR mixes components: component k's support is
        the union of the supports of thresholded components 1..k where they
        overlap (the row support, any component nonzero, is unaffected).
    n_threshold_fallbacks_ : int
        Bootstrap half-steps that used the theory threshold because the noise
        block was too small (``"bootstrap"`` rule; always 0 for ``"theory"``).
    init_fallback_ : tuple of bool
        Whether the initial row / column selection kept fewer than r indices
        and fell back to the top ``r + 10`` scores.
    init_completed_ : int
        Components of the initial frame that were not found in the initial
        block (singular value below 1.5 times the block's noise edge
        ``sigma (sqrt|I| + sqrt|J|)``) and were searched for again in the
        residual after fitting the others (see Notes).
    component_snr_ : ndarray of shape (n_components_,)
        Estimated signal-to-noise ratio of each component:
        ``d_k / (sigma * null_k)`` with ``null_k`` the singular value a
        component of pure noise would reach with the same numbers of entries
        kept by the thresholds, ``max(gamma_u sqrt(k_u), gamma_v sqrt(k_v),
        sqrt(k_u) + sqrt(k_v))`` (thresholds in units of sigma). About 1 (or 0,
        for a component thresholded to zero) for noise; a
        ``WeakComponentWarning`` names each component below 1.6.
    dist_ : tuple of float
        Final (dist_u, dist_v).
    cv_msep_ : ndarray or None
        CV prediction errors of ranks 0..k_max (``n_components="cv"``).
    left_singular_vectors_orth_, components_orth_ : ndarray
        The orthonormal pair (equal to the above unless ``orthogonal=False``).
    n_features_in_ : int
        Number of features seen in ``fit``.

    Notes
    -----
    Sign convention: components are sorted by ``singular_values_``
    (descending) and ``u_k``, ``v_k`` are flipped together so that the
    largest-magnitude entry of ``u_k`` is positive (ties: lowest index); then
    ``d_k >= 0``. ``transform(X) = (X - centring) @ components_.T``.

    Scale: when ``||X||_F^2`` is outside ``[2^-200, 2^200]`` the fit runs on X
    divided by a power of two (exact in floating point) and d, sigma and the means
    are scaled back, so X of any finite magnitude fits without overflow and
    ``fit(2^k X)`` gives the same vectors and ``2^k`` times d. ``sigma`` (given or
    estimated) must lie within a factor ``2^250`` of ``||X||_F`` (else
    ``ValueError``). scipy.sparse index arrays are checked before they are read.

    Initial frame: as in the reference, the iterations start from the rank-r
    SVD of a block of high-energy rows and columns. A component much weaker
    than the others can be missing from that block (its columns are outscored
    by those of the strong components); thresholded iterations cannot reach a
    component the start has no overlap with. So components whose block
    singular value does not clear 1.5 times the block's noise edge are searched
    for again: the clear ones are fitted first, projected out of X, and the
    same selection rule and block SVD are applied to the residual
    (``init_completed_`` counts them).

    A :class:`~statoptim.exceptions.DegenerateDataWarning` is raised when thresholding
    removes every entry (the previous iterate is returned) or a whole component (it
    keeps its previous value for that half-step); a ``ConvergenceWarning`` when
    ``max_iter`` is reached with ``max(dist_u, dist_v) > tol``; a
    ``WeakComponentWarning`` (a ``ConvergenceWarning``) for each component whose
    ``component_snr_`` is below 1.6.

    References
    ----------
    D. Yang, Z. Ma and A. Buja (2014), A sparse singular value decomposition
    method for high-dimensional data, JCGS 23:923-942.

    Examples
    --------
    >>> import numpy as np
    >>> from statoptim import SparseSVD
    >>> rng = np.random.default_rng(0)
    >>> u = np.r_[np.ones(20), np.zeros(480)] / np.sqrt(20)
    >>> v = np.r_[np.ones(10), np.zeros(90)] / np.sqrt(10)
    >>> X = 60 * np.outer(u, v) + rng.standard_normal((500, 100))
    >>> model = SparseSVD(n_components=1).fit(X)
    >>> bool(np.all(model.components_[0, :10] != 0))   # the planted support is found
    True
    >>> model.transform(X).shape
    (500, 1)
    """

    def __init__(self, n_components: int | Literal["cv"] = 1, *,
                 threshold_rule: Literal["theory", "bootstrap"] = "theory",
                 threshold: Literal["hard", "soft", "scad"] = "hard", sigma: float | None = None,
                 gamma_u: float = math.sqrt(2.0), gamma_v: float = math.sqrt(2.0),
                 alpha_theory: float = 1.5, alpha_holm: float = 0.05, huber_beta: float = 0.95,
                 center: Literal["rows", "columns"] | None = None, tol: float = 1e-8,
                 max_iter: int = 100, n_bootstrap: int = 100, orthogonal: bool = True,
                 max_nonzero_rows: int | None = None, max_nonzero_features: int | None = None,
                 warm_start: bool = False,
                 random_state: int | np.random.Generator | None = None) -> None:
        self.n_components = n_components
        self.threshold_rule = threshold_rule
        self.threshold = threshold
        self.sigma = sigma
        self.gamma_u = gamma_u
        self.gamma_v = gamma_v
        self.alpha_theory = alpha_theory
        self.alpha_holm = alpha_holm
        self.huber_beta = huber_beta
        self.center = center
        self.tol = tol
        self.max_iter = max_iter
        self.n_bootstrap = n_bootstrap
        self.orthogonal = orthogonal
        self.max_nonzero_rows = max_nonzero_rows
        self.max_nonzero_features = max_nonzero_features
        self.warm_start = warm_start
        self.random_state = random_state

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.input_tags.sparse = True
        return tags

    # ------------------------------------------------------------------ #
    def _check_params(self):
        check_choice(self.threshold_rule, "threshold_rule", ("theory", "bootstrap"))
        check_choice(self.threshold, "threshold", ("hard", "soft", "scad"))
        check_choice(self.center, "center", (None, "rows", "columns"))
        if self.sigma is not None:
            check_real(self.sigma, "sigma", low=0.0, low_open=True)
        check_real(self.gamma_u, "gamma_u", low=0.0)
        check_real(self.gamma_v, "gamma_v", low=0.0)
        check_real(self.alpha_theory, "alpha_theory", low=0.0)
        check_real(self.alpha_holm, "alpha_holm", low=0.0, high=1.0, low_open=True,
                    high_open=True)
        check_real(self.huber_beta, "huber_beta", low=0.0, high=1.0, low_open=True)
        check_real(self.tol, "tol", low=0.0)
        check_int(self.max_iter, "max_iter")
        check_int(self.n_bootstrap, "n_bootstrap")
        for name in ("orthogonal", "warm_start"):
            check_flag(getattr(self, name), name)
        for name in ("max_nonzero_rows", "max_nonzero_features"):
            if getattr(self, name) is not None:
                check_int(getattr(self, name), name)
        if not (isinstance(self.n_components, str) and self.n_components == "cv"):
            check_int(self.n_components, "n_components")

    def _operator(self, X):
        """Centre X (dense: explicitly; sparse: implicitly) and wrap it.

        Returns the operator and the centring means (None without centring).
        """
        if self.center is None:
            return make_operator(X), None
        if sparse.issparse(X):
            op = make_operator(X, self.center)
            return op, op.means
        axis = 1 if self.center == "rows" else 0
        means = X.mean(axis=axis, dtype=np.float64)
        shift = means[:, None] if axis == 1 else means[None, :]
        return make_operator(np.ascontiguousarray(X - shift.astype(X.dtype))), means

    def _prepare(self, X):
        """The operator on X / scale: see :func:`~statoptim.ssvd._scaling.scaled_operator`."""
        return scaled_operator(X, self._operator)

    def fit(self, X: ArrayLike, y: None = None) -> SparseSVD:
        """Fit the sparse SVD of X.

        Parameters
        ----------
        X : {array-like, sparse matrix} of shape (n_samples, n_features)
            Data (float64 or float32; other dtypes are converted to float64).
            CSR/CSC input is never densified; other scipy.sparse formats are
            converted to CSR. A ``dask.array`` chunked by rows is fitted without
            gathering it (``threshold_rule="theory"``: each iteration is one pass
            returning X V and X'U).
        y : None
            Ignored.

        Returns
        -------
        self : SparseSVD
        """
        from statoptim._dask import is_dask_array
        if is_dask_array(X):  # distributed X V and X' U products: X is never gathered
            from statoptim.ssvd._distributed import fit_ssvd_dask
            return fit_ssvd_dask(self, X)
        self._check_params()
        X = check_sparse_structure(X, "X")
        # scikit-learn's quick finiteness test sums X: that sum can overflow for finite data
        # near the float range (a RuntimeWarning; the exact test follows).
        with np.errstate(over="ignore", invalid="ignore"):
            X = validate_named(self, X, accept_sparse=("csr", "csc"),
                               dtype=(np.float64, np.float32), order="C")
        self._check_against_shape(*X.shape)
        if sparse.issparse(X) and self.center is not None and self.threshold_rule == "bootstrap":
            raise ValueError(
                "threshold_rule='bootstrap' needs center=None for scipy.sparse input (its noise "
                f"block would be densified), got center={self.center!r}; use "
                "threshold_rule='theory' or centre a dense array")
        # Everything below runs on X / scale (exact); d, sigma and the means are scaled back.
        op, scale, sq_norm, means = self._prepare(X)
        sigma = self._noise_scale(op, sq_norm, scale, noise_scale)
        return self._fit_operator(op, sq_norm, scale, sigma, means)

    def _check_against_shape(self, n_samples, n_features):
        """``n_components`` and the row caps against the shape of X (in memory or dask)."""
        k = self.n_components
        if isinstance(k, numbers.Integral) and not isinstance(k, bool) \
                and k > min(n_samples, n_features):
            raise ValueError(
                f"n_components must be <= min(n_samples, n_features) = "
                f"{min(n_samples, n_features)}, got {k}")
        for name in ("max_nonzero_rows", "max_nonzero_features"):
            cap = getattr(self, name)
            if cap is not None and isinstance(k, numbers.Integral) and cap < k:
                raise ValueError(f"{name} must be >= n_components = {k}, got {cap}")

    def _noise_scale(self, op, sq_norm, scale, estimate):
        """sigma of X / scale: given, or ``estimate(op)`` (the MAD); refuses an all-zero X."""
        if not sq_norm > 0:
            raise ValueError(
                "X must have at least one nonzero entry"
                + (" after centring" if self.center is not None else "")
                + f", got an all-zero matrix of shape {op.shape}")
        if self.sigma is not None:
            return float(self.sigma) / scale
        sigma = estimate(op)
        if not sigma > 0:
            raise ValueError(
                "sigma could not be estimated: the median absolute deviation of X is 0 "
                "(more than half of the entries are equal, e.g. a sparse matrix); "
                "pass the noise scale as sigma=")
        return sigma

    def _fit_operator(self, op, sq_norm, scale, sigma, means, stacklevel=3):
        """Check sigma, run FIT-SSVD on the wrapped matrix ``op``, set the attributes.

        Shared by the in-memory and the dask fits (``_distributed.fit_ssvd_dask``):
        ``op`` is X / scale (centred: ``means`` are the removed means, rescaled),
        ``sq_norm`` its squared Frobenius norm, ``sigma`` the noise scale of X / scale.
        ``stacklevel`` makes the warnings point at the caller of ``fit``.
        """
        n_samples, n_features = op.shape
        ratio = math.sqrt(sq_norm) / sigma
        if not 1.0 / RATIO_BOUND <= ratio <= RATIO_BOUND:
            origin = "given" if self.sigma is not None else "estimated from X"
            raise ValueError(
                f"sigma ({origin}) = {sigma * scale:.6g} is out of range for X: ||X||_F / sigma "
                f"= {ratio:.3g} must lie within 2^-250..2^250 (float64 range)"
                + ("" if self.sigma is not None else
                   "; X's entries span too many orders of magnitude, pass sigma="))
        finite_or_raise(sigma * scale, "the noise scale sigma")
        rng = check_random_state(self.random_state)

        self.cv_msep_ = None
        # The dense linear algebra here is small (QR and SVDs of a few hundred rows, r x r
        # SVDs): threaded BLAS only adds overhead, 2-3x on a busy machine.
        with single_blas_thread():
            if self.n_components == "cv":
                rank, self.cv_msep_ = self._cv_rank(op, sigma, rng)
            else:
                rank = int(self.n_components)
            init = None
            if (check_flag(self.warm_start, "warm_start")
                    and hasattr(self, "left_singular_vectors_orth_")
                    and self.left_singular_vectors_orth_.shape == (n_samples, rank)
                    and self.components_orth_.shape == (rank, n_features)):
                init = (self.left_singular_vectors_orth_, self.components_orth_.T)
            caps = [None if c is None else max(int(c), rank)
                    for c in (self.max_nonzero_rows, self.max_nonzero_features)]
            res = fit_ssvd(
                op, rank, sigma=sigma, rule=self.threshold_rule,
                threshold=self.threshold, gamma_u=self.gamma_u, gamma_v=self.gamma_v,
                alpha_theory=self.alpha_theory, alpha_holm=self.alpha_holm,
                huber_beta=self.huber_beta, tol=self.tol, max_iter=self.max_iter,
                n_bootstrap=self.n_bootstrap, orthogonal=bool(self.orthogonal), rng=rng,
                max_rows=caps[0], max_cols=caps[1], init=init)
            self._finish(op, res, sq_norm, scale, sigma)
        if res.stopped_all_zero:
            warnings.warn(
                f"every entry was thresholded to zero at iteration {res.n_iter}: the "
                "thresholds are too large for this matrix (check sigma, gamma_u, gamma_v); "
                "the previous iterate is returned", DegenerateDataWarning, stacklevel=stacklevel)
        elif res.zero_column_events:
            warnings.warn(
                f"a whole component was thresholded to zero in {res.zero_column_events} "
                "half-step(s); it kept its previous value there", DegenerateDataWarning,
                stacklevel=stacklevel)
        if not res.stopped_all_zero:
            for k in np.flatnonzero(self.component_snr_ < SNR_WARN):
                warnings.warn(
                    f"component {k} of {rank} (0-based, singular value "
                    f"{self.singular_values_[k]:.4g}) is weak: its estimated signal-to-noise "
                    f"ratio component_snr_[{k}] = {self.component_snr_[k]:.3g} < {SNR_WARN}. "
                    "It may be noise (the data may hold fewer detectable components than "
                    "n_components) or a component recovered only in part.",
                    WeakComponentWarning, stacklevel=stacklevel)
        if not res.converged and not res.stopped_all_zero:
            warnings.warn(
                f"FIT-SSVD did not converge in max_iter={self.max_iter} iterations: "
                f"max(dist_u, dist_v) = {max(res.dist_u, res.dist_v):.3g} > tol = {self.tol:g}",
                ConvergenceWarning, stacklevel=stacklevel)

        self.mean_ = means
        self.n_components_ = rank
        self.n_iter_ = res.n_iter
        self.noise_scale_ = sigma * scale
        self.n_threshold_fallbacks_ = res.n_threshold_fallbacks
        self.init_fallback_ = res.init_fallback
        self.init_completed_ = res.init_completed
        self.dist_ = (res.dist_u, res.dist_v)
        return self

    def _cv_rank(self, op, sigma, rng):
        # The block selected by this threshold_rule's initialisation at r = 1. (HSSVD uses
        # the Huber + Holm selection; on lung-shaped data its column step falls back to
        # r + 10 = 11 columns, too few to see the third component, so the chi-square
        # selection of the "theory" rule, ~20-25 columns there, estimates the rank better.)
        I, J, _ = initial_selection(op, 1, sigma, self.threshold_rule, self.alpha_theory,
                                    self.alpha_holm, self.huber_beta)
        # Thousands of small SVDs: fit runs them under single_blas_thread (threaded BLAS
        # only adds synchronisation to SVDs this small; BENCHMARKS.md, "Threads policy").
        return wold_cv_rank(op.block(I, J), n_folds=5, max_rank=20, rng=rng)

    def _finish(self, op, res, sq_norm, scale=1.0, sigma=1.0):
        """d = diag(U'XV), sorting, sign rule and the derived attributes.

        ``op`` holds X / scale (and sigma is on that scale); d is returned on the scale
        of X.
        """
        U, V, Uo, Vo = res.U, res.V, res.U_orth, res.V_orth
        P, d = diag_product(op, U, V)
        # ||U'XV||_F^2 is invariant to the sign flips and the sorting below.
        if res.U is res.U_orth:
            captured = float(np.sum((U.T @ P) ** 2))
        else:
            captured = float(np.sum((Uo.T @ diag_product(op, Uo, Vo)[0]) ** 2))
        snr = component_snr(np.abs(d), sigma, res.kept_u, res.kept_v, res.gamma_u,
                            res.gamma_v) if res.kept_u.size and res.kept_v.size \
            else np.zeros_like(d)
        U, V, Uo, Vo, d, order = orient_components(U, V, Uo, Vo, d)
        self.component_snr_ = snr[order]
        self.left_singular_vectors_ = U
        self.components_ = np.ascontiguousarray(V.T)
        with np.errstate(over="ignore"):
            self.singular_values_ = d * scale
        finite_or_raise(self.singular_values_, "a singular value")
        self.left_singular_vectors_orth_ = Uo
        self.components_orth_ = np.ascontiguousarray(Vo.T)
        self.explained_variance_ratio_ = d ** 2 / sq_norm
        self.captured_variance_ratio_ = captured / sq_norm
        self.left_support_ = U != 0.0
        self.right_support_ = V != 0.0

    # ------------------------------------------------------------------ #
    def _project(self, X, scale):
        """(X / scale - centring) @ components_.T, X dense or sparse."""
        mean = None if self.mean_ is None else self.mean_ / scale
        V = self.components_
        if scale != 1.0:
            X = divided(X, scale)
        if sparse.issparse(X):
            out = np.asarray(X @ V.T, dtype=np.float64)
            if self.center == "rows":     # (X - m 1') V = XV - m (1'V), X stays sparse
                out -= np.outer(np.asarray(X.mean(axis=1, dtype=np.float64)).ravel(),
                                V.sum(axis=1))
            elif self.center == "columns":
                out -= mean @ V.T
            return out
        if self.center == "rows":
            X = X - X.mean(axis=1, dtype=np.float64)[:, None]
        elif self.center == "columns":
            X = X - mean[None, :]
        return np.asarray(X, dtype=np.float64) @ V.T

    def transform(self, X: ArrayLike) -> np.ndarray:
        """Project X on the right singular vectors: ``(X - centring) @ components_.T``.

        Parameters
        ----------
        X : {array-like, sparse matrix} of shape (n_samples, n_features)

        Returns
        -------
        X_new : ndarray of shape (n_samples, n_components_)
        """
        check_is_fitted(self)
        X = check_sparse_structure(X, "X")
        with np.errstate(over="ignore", invalid="ignore"):
            X = validate_named(self, X, accept_sparse=("csr", "csc"),
                               dtype=(np.float64, np.float32), reset=False)
        with np.errstate(over="ignore", invalid="ignore"):
            out = self._project(X, 1.0)
        if not np.all(np.isfinite(out)):
            # An intermediate overflowed: redo on X / 2^k (exact) and scale back.
            scale = power_of_two_scale(X.data if sparse.issparse(X) else X)
            with np.errstate(over="ignore", invalid="ignore"):
                out = self._project(X, scale) * scale
            finite_or_raise(out, "the projection X @ components_.T")
        return out

    def inverse_transform(self, X: ArrayLike) -> np.ndarray:
        """Map scores back to the data space: ``X @ components_`` (+ column means).

        With ``center="rows"`` the row means of the new data are unknown, so the
        result is the row-centred reconstruction.

        Parameters
        ----------
        X : {array-like, sparse matrix} of shape (n_samples, n_components_)

        Returns
        -------
        X_original : ndarray of shape (n_samples, n_features)
        """
        check_is_fitted(self)
        r = self.components_.shape[0]
        X = check_sparse_structure(X, "X")
        try:
            with np.errstate(over="ignore", invalid="ignore"):
                X = check_array(X, accept_sparse=("csr", "csc"), dtype=np.float64,
                                input_name="X")
        except (TypeError, ValueError) as exc:
            raise type(exc)(f"X must be a 2-D array of shape (n_samples, {r}) of finite "
                            f"numbers; {exc}") from None
        if X.shape[1] != r:
            raise ValueError(
                f"X must have shape (n_samples, {r}) (n_components_ columns), "
                f"got shape {X.shape}")
        scale = 1.0
        for _ in range(2):
            Xs = X if scale == 1.0 else divided(X, scale)
            with np.errstate(over="ignore", invalid="ignore"):
                out = np.asarray(Xs @ self.components_)
                if self.center == "columns":
                    out = out + self.mean_[None, :] / scale
                out = out * scale
            if np.all(np.isfinite(out)):
                break
            scale = max(power_of_two_scale(X.data if sparse.issparse(X) else X),
                        power_of_two_scale(self.mean_ if self.center == "columns" else []))
        finite_or_raise(out, "the reconstruction X @ components_")
        return out
