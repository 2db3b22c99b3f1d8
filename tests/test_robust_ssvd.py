"""Hardening of statoptim.ssvd (issue 12): bad input, extreme scales, sparse structure.

Every public entry point (``SparseSVD.fit``, ``transform``, ``inverse_transform``,
the parameters, and the compiled kernels of ``statoptim.ssvd._fit``) must give a
clear ``ValueError``/``TypeError`` naming the argument, or a finite answer that
agrees with a plain NumPy reference. The fuzz tests (``-k fuzz``) check exactly
that property; ``HYPOTHESIS_PROFILE=long`` runs them thoroughly.
"""
import math
import re
import warnings

import numpy as np
import pytest
from hypothesis import assume, given
from hypothesis import strategies as st
from numpy.testing import assert_allclose, assert_array_equal
from scipy import sparse

from statoptim import SparseSVD
from statoptim.datasets import make_rank_one_ssvd
from statoptim.ssvd import WeakComponentWarning, _fit

# Names an error message may cite: the data and every constructor parameter.
ARGUMENTS = ("X", "n_components", "threshold_rule", "threshold", "sigma", "gamma_u", "gamma_v",
             "alpha_theory", "alpha_holm", "huber_beta", "center", "tol", "max_iter",
             "n_bootstrap", "orthogonal", "max_nonzero_rows", "max_nonzero_features",
             "warm_start", "random_state")
SPARSE_FORMATS = ("csr", "csc", "coo", "bsr", "lil", "dok", "dia")


def names_an_argument(message, names=ARGUMENTS):
    return any(re.search(rf"(?<![A-Za-z_]){re.escape(n)}(?![A-Za-z_])", message) for n in names)


def fit_or_error(X, names=ARGUMENTS, **params):
    """Fit; return the model, or None after checking that the error names an argument.

    Only the documented warnings may appear (UserWarning: over-thresholding;
    ConvergenceWarning, a UserWarning); a RuntimeWarning means a silent
    overflow/NaN somewhere.
    """
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        try:
            model = SparseSVD(**params).fit(X)
        except (ValueError, TypeError) as exc:
            assert names_an_argument(str(exc), names), f"unclear error: {exc!r}"
            model = None
    bad = [w for w in caught if not issubclass(w.category, UserWarning)]
    assert not bad, [str(w.message) for w in bad]
    return model


def check_fitted(model, shape):
    """The invariants of any successful fit."""
    n_samples, n_features = shape
    r = model.n_components_
    U, V, d = model.left_singular_vectors_, model.components_.T, model.singular_values_
    assert U.shape == (n_samples, r) and V.shape == (n_features, r)
    for a in (U, V, d, model.explained_variance_ratio_, model.left_singular_vectors_orth_,
              model.components_orth_):
        assert np.all(np.isfinite(a))
    assert math.isfinite(model.noise_scale_) and model.noise_scale_ > 0
    assert np.all(d >= 0) and np.all(np.diff(d) <= 0)
    Uo, Vo = model.left_singular_vectors_orth_, model.components_orth_.T
    assert_allclose(Uo.T @ Uo, np.eye(r), atol=1e-10)
    assert_allclose(Vo.T @ Vo, np.eye(r), atol=1e-10)
    ev = model.explained_variance_ratio_
    assert np.all(ev >= 0) and ev.sum() <= 1 + 1e-9
    assert 0 <= model.captured_variance_ratio_ <= 1 + 1e-9


def planted(seed, n_samples, n_features, d, k_u=None, k_v=None):
    rng = np.random.default_rng(seed)
    r = len(d)
    k_u = k_u or max(1, n_samples // (2 * r))
    k_v = k_v or max(1, n_features // (2 * r))
    U = np.zeros((n_samples, r))
    V = np.zeros((n_features, r))
    rows = rng.permutation(n_samples)[: k_u * r].reshape(r, k_u)
    cols = rng.permutation(n_features)[: k_v * r].reshape(r, k_v)
    for k in range(r):
        U[rows[k], k] = rng.choice([-1, 1], k_u) / math.sqrt(k_u)
        V[cols[k], k] = rng.choice([-1, 1], k_v) / math.sqrt(k_v)
    return (U * np.asarray(d)) @ V.T + rng.standard_normal((n_samples, n_features))


def projection_loss(A, B):
    return A.shape[1] - np.linalg.norm(A.T @ B) ** 2


# --------------------------------------------------------------------------- #
# The reported bugs
# --------------------------------------------------------------------------- #
def test_sparse_bad_indices_do_not_crash(isolated):
    # Issue 12: SparseSVD().fit(M) with out-of-range CSR indices crashed the interpreter
    # (scipy's format conversions and the kernels trusted the index arrays).
    proc = isolated("""
        import numpy as np
        from scipy import sparse
        from statoptim import SparseSVD
        from statoptim.ssvd import _fit

        def corrupt(fmt, how):
            M = sparse.random(50, 40, density=0.5, random_state=0, format=fmt)
            if fmt == "coo":
                getattr(M, "row" if how == "index" else "col")[3] = 10**6
            elif how == "index":
                M.indices[3] = 10**6
            elif how == "negative":
                M.indices[3] = -5
            elif how == "pointer":
                M.indptr[5] = 10**6
            else:   # passes scipy's check_format (it trims to indptr[-1] = 0 first)
                M.indptr[-1] = 0
            return M

        good = SparseSVD(1, sigma=1.0).fit(sparse.random(50, 40, density=0.5, random_state=1))
        for fmt in ("csr", "csc", "coo", "bsr"):
            for how in ("index", "negative", "pointer", "last_pointer"):
                for call in ("fit", "transform"):
                    try:
                        if call == "fit":
                            SparseSVD(1, sigma=1.0).fit(corrupt(fmt, how))
                        else:
                            good.transform(corrupt(fmt, how))
                        print(fmt, how, call, "no error")
                    except ValueError as exc:
                        print(fmt, how, call, "ValueError", str(exc)[:6])
        # The kernels themselves, called with corrupt index arrays.
        S = sparse.random(20, 10, density=0.5, random_state=0, format="csc")
        V = np.ones((10, 2))
        for idx, ptr in ((S.indices.copy(), S.indptr), (S.indices, S.indptr.copy())):
            if idx is not S.indices:
                idx[5] = 10**6
            else:
                ptr[3] = 10**6
            try:
                _fit.csc_product_rows(S.data, idx, ptr, np.arange(10, dtype=np.intp), V, 1.0,
                                      np.zeros(2), False, np.empty(0), np.empty(0),
                                      np.empty((20, 2)), np.empty(2, dtype=np.intp))
                print("kernel no error")
            except ValueError as exc:
                print("kernel ValueError", str(exc)[:24])
    """)
    lines = proc.stdout.splitlines()
    assert proc.returncode == 0, proc.stderr
    assert len(lines) == 4 * 4 * 2 + 2
    for line in lines[:-2]:
        assert line.endswith("ValueError X is a"), line
    assert lines[-2:] == ["kernel ValueError the CSC index arrays are"] * 2


@pytest.mark.parametrize("factor", [1e200, 1e300, 1e-300, 1e-310])
def test_extreme_magnitudes(factor):
    # Issue 12: NaN explained_variance_ratio_ at 1e200 (||X||_F^2 overflowed) and
    # "all-zero matrix" at 1e-300 (it underflowed). Not powers of two: close, not exact.
    X, *_ = make_rank_one_ssvd(0)
    base = SparseSVD(1).fit(X)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        m = SparseSVD(1).fit(X * factor)
    check_fitted(m, X.shape)
    assert_allclose(m.explained_variance_ratio_, base.explained_variance_ratio_, rtol=1e-9)
    # 1e-310 is subnormal: the data themselves carry only ~14 significant bits.
    rtol = 1e-3 if factor < 1e-308 else 1e-9
    assert_allclose(m.singular_values_, base.singular_values_ * factor, rtol=rtol)
    assert_allclose(m.noise_scale_, base.noise_scale_ * factor, rtol=rtol)
    assert_allclose(m.transform(X * factor), base.transform(X) * factor, rtol=rtol, atol=0)


@pytest.mark.parametrize("rule", ["theory", "bootstrap"])
@pytest.mark.parametrize("center", [None, "columns", "rows"])
@pytest.mark.parametrize("fmt", ["dense", "csr"])
def test_power_of_two_scale_equivariance_is_exact(rule, center, fmt):
    if fmt != "dense" and rule == "bootstrap" and center is not None:
        pytest.skip("the bootstrap rule needs an uncentred sparse matrix")
    X, *_ = make_rank_one_ssvd(1)
    prep = sparse.csr_matrix if fmt == "csr" else np.asarray
    kw = {"threshold_rule": rule, "center": center, "random_state": 0}
    base = SparseSVD(1, **kw).fit(prep(X))
    for k in (-1000, -600, -101, -3, 7, 99, 500, 1000):
        c = 2.0 ** k
        m = SparseSVD(1, **kw).fit(prep(X * c))
        assert_array_equal(m.left_singular_vectors_, base.left_singular_vectors_)
        assert_array_equal(m.components_, base.components_)
        assert_array_equal(m.singular_values_, base.singular_values_ * c)
        assert m.noise_scale_ == base.noise_scale_ * c
        assert_array_equal(m.explained_variance_ratio_, base.explained_variance_ratio_)
        if center is not None:
            assert_array_equal(m.mean_, base.mean_ * c)


def test_sigma_out_of_float_range_is_an_error():
    X, *_ = make_rank_one_ssvd(0)
    for sigma in (1e-300, 5e-324, 1e300):
        with pytest.raises(ValueError, match=r"sigma \(given\) = .* out of range"):
            SparseSVD(1, sigma=sigma).fit(X)
    # A matrix whose entries span ~1e200: the MAD is ~1e-200 of the Frobenius norm.
    Y = np.random.default_rng(0).standard_normal((40, 30)) * 1e-200
    Y[0, 0] = 1.0
    with pytest.raises(ValueError, match=r"sigma \(estimated from X\).*pass sigma="):
        SparseSVD(1).fit(Y)


def test_overflowing_output_is_an_error():
    X = 1.2e308 * (1 + 0.1 * np.random.default_rng(0).uniform(-1, 1, (4, 3)))
    with pytest.raises(ValueError, match="X is too large for float64"):
        SparseSVD(1).fit(X)
    with pytest.warns(WeakComponentWarning):     # pure noise: no real component
        m = SparseSVD(1, sigma=1.0, gamma_u=0.0, gamma_v=0.0).fit(
            np.random.default_rng(0).standard_normal((10, 3)))
    with pytest.raises(ValueError, match="X is too large for float64"):
        m.transform(np.full((2, 3), 1.7e308) * np.sign(m.components_[0]))
    big = np.full((2, 3), 2.0 ** 1000) * np.sign(m.components_[0])
    assert_allclose(m.transform(big), m.transform(big / 2.0 ** 1000) * 2.0 ** 1000, rtol=1e-15)
    with pytest.warns(WeakComponentWarning):
        m2 = SparseSVD(2, sigma=1.0, gamma_u=0.0, gamma_v=0.0).fit(
            np.random.default_rng(1).standard_normal((10, 3)))
    j = np.argmax(np.abs(m2.components_).sum(axis=0))
    T = 1.7e308 * np.sign(m2.components_[:, j])[None, :]
    assert np.abs(m2.components_[:, j]).sum() > 1.06    # so T @ components_ overflows
    with pytest.raises(ValueError, match="X is too large for float64"):
        m2.inverse_transform(T)
    assert_allclose(m2.inverse_transform(T / 2), (T / 2 ** 1000) @ m2.components_ * 2 ** 999,
                    rtol=1e-14)


def test_sparse_duplicates_are_summed():
    # CSR/CSC with duplicate entries: each duplicate counted as an entry of the median,
    # the MAD and the bootstrap pools (sigma came out 0.30 instead of 1.03 on one matrix).
    rng = np.random.default_rng(1)
    X = planted(1, 60, 30, (40.0,))
    rows, cols = np.nonzero(X)
    split = rng.uniform(0.2, 0.8, rows.size)
    r2, c2 = np.r_[rows, rows], np.r_[cols, cols]
    d2 = np.r_[X[rows, cols] * split, X[rows, cols] * (1 - split)]
    order = np.argsort(r2, kind="stable")
    indptr = np.r_[0, np.cumsum(np.bincount(r2, minlength=60))]
    D = sparse.csr_matrix((d2[order], c2[order], indptr), shape=X.shape)
    assert not D.has_canonical_format
    before = D.data.copy()
    for rule in ("theory", "bootstrap"):
        dense = SparseSVD(1, threshold_rule=rule, random_state=0).fit(D.toarray())
        for M in (D, D.tocsc()):
            m = SparseSVD(1, threshold_rule=rule, random_state=0).fit(M)
            assert m.noise_scale_ == pytest.approx(dense.noise_scale_, rel=1e-12)
            assert_allclose(m.components_, dense.components_, atol=1e-12)
    assert_array_equal(D.data, before)          # the caller's matrix is not modified


def test_index_array_dtypes():
    S = sparse.random(40, 30, density=0.6, random_state=2, format="csr")
    ref = SparseSVD(1).fit(S)
    U32 = S.copy()
    U32.indices = U32.indices.astype(np.uint32)
    U32.indptr = U32.indptr.astype(np.uint64)
    assert_allclose(SparseSVD(1).fit(U32).components_, ref.components_, atol=1e-14)
    assert U32.indices.dtype == np.uint32          # converted on a copy
    F = S.copy()
    F.indices = F.indices.astype(np.float64)
    with pytest.raises(ValueError, match="X is a CSR matrix whose indices array must be"):
        SparseSVD(1).fit(F)


@pytest.mark.parametrize("bad, match", [
    (np.empty((0, 4)), "X must be a non-empty 2-D array"),
    (np.ones(5), "X must be a non-empty 2-D array"),
    (np.ones((2, 2, 2)), "X must be a non-empty 2-D array"),
    (np.ones((4, 4)) + 1j, "X must be a non-empty 2-D array"),
    ([["a", "b"], ["c", "d"]], "X must be a non-empty 2-D array"),
])
def test_bad_X_messages_name_X(bad, match):
    with pytest.raises(ValueError, match=match):
        SparseSVD(1).fit(bad)


def test_inverse_transform_validates():
    m = SparseSVD(2, sigma=1.0, gamma_u=0.0, gamma_v=0.0).fit(planted(3, 30, 20, (40.0, 25.0)))
    with pytest.raises(ValueError, match=r"X must be a 2-D array of shape \(n_samples, 2\)"):
        m.inverse_transform(np.array([[np.nan, 1.0]]))
    with pytest.raises(ValueError, match=r"X must be a 2-D array of shape \(n_samples, 2\)"):
        m.inverse_transform([["a", "b"]])
    T = np.array([[1.0, 2.0], [0.0, -1.0]])
    assert_allclose(m.inverse_transform(sparse.csr_matrix(T)), m.inverse_transform(T))


def test_cv_on_a_tiny_block_has_no_empty_folds():
    # A 2 x 2 block has 4 cells for 5 folds: averaging an empty fold gave NaN warnings.
    with warnings.catch_warnings():
        warnings.simplefilter("error", RuntimeWarning)
        warnings.simplefilter("ignore", WeakComponentWarning)    # 2 x 2: nothing to find
        m = SparseSVD("cv", sigma=1.0, gamma_u=0.0, gamma_v=0.0, random_state=0).fit(
            np.array([[3.0, 1.0], [1.0, 2.0]]))
    assert np.all(np.isfinite(m.cv_msep_))


def test_kernels_check_their_arguments():
    X = np.random.default_rng(0).standard_normal((20, 10))
    out, nnz, g = np.empty((20, 2)), np.empty(2, dtype=np.intp), np.zeros(2)
    J = np.array([0, 10], dtype=np.intp)
    with pytest.raises(ValueError, match=r"active must hold column indices in \[0, 10\)"):
        _fit.dense_product_rows(X, J, np.ones((2, 2)), 1.0, g, False, out, nnz)
    with pytest.raises(ValueError, match=r"active must hold row indices in \[0, 20\)"):
        _fit.dense_product_cols(X, np.array([-1], dtype=np.intp), np.ones((20, 2)), 1.0, g,
                                False, np.empty((10, 2)), nnz)
    with pytest.raises(ValueError, match=r"out must be of shape \(20, 2\)"):
        _fit.dense_product_rows(X, J[:1], np.ones((2, 1)), 1.0, g, False, out[:5], nnz)
    with pytest.raises(ValueError, match="gamma must be of length 2"):
        _fit.threshold_columns(out, np.zeros(1), False, out, nnz)
    with pytest.raises(ValueError, match="row_scores must be of length 20"):
        _fit.energy_scores(X, 1.0, np.empty(3), np.empty(10))
    with pytest.raises(ValueError, match="A must be of at least one row"):
        _fit.column_medians(np.empty((0, 2)), np.empty(0), np.empty(2))
    with pytest.raises(ValueError, match="draws must be of length >= "):
        _fit.bootstrap_maxima(np.ones(5), 10, np.zeros(3, dtype=np.uint32), 4, np.ones((3, 2)),
                              1.0, np.empty((2, 2)), np.empty((2, 2)))
    # Negative int64 draws are implicit zeros, not reads before the pool.
    maxima = np.empty((2, 2))
    _fit.bootstrap_maxima(np.ones(5), 10, np.full(24, -10**12, dtype=np.int64), 4,
                          np.ones((3, 2)), 1.0, np.empty((2, 2)), maxima)
    assert_array_equal(maxima, 0.0)


# --------------------------------------------------------------------------- #
# Fuzz tests (hypothesis)
# --------------------------------------------------------------------------- #
def _make_X(data, n_samples, n_features):
    """Random data of a random kind, dtype, layout and power-of-two magnitude."""
    seed = data.draw(st.integers(0, 2**32 - 1), label="seed")
    rng = np.random.default_rng(seed)
    kind = data.draw(st.sampled_from(["normal", "planted", "integers", "constant", "zeros",
                                      "heavy", "mostly_zero"]), label="kind")
    if kind == "planted":
        X = planted(seed, n_samples, n_features, (8.0 * math.sqrt(n_samples + n_features),))
    elif kind == "integers":
        X = rng.integers(-3, 4, (n_samples, n_features)).astype(float)
    elif kind == "constant":
        X = np.full((n_samples, n_features), 2.5)
    elif kind == "zeros":
        X = np.zeros((n_samples, n_features))
    elif kind == "heavy":
        X = rng.standard_cauchy((n_samples, n_features))
    elif kind == "mostly_zero":
        X = rng.standard_normal((n_samples, n_features)) * (rng.random((n_samples, n_features))
                                                             < 0.3)
    else:
        X = rng.standard_normal((n_samples, n_features))
    X = X * 2.0 ** data.draw(st.integers(-1000, 1000), label="log2 scale")
    special = data.draw(st.sampled_from([None, np.nan, np.inf, -np.inf]), label="special")
    if special is not None:
        X[rng.integers(n_samples), rng.integers(n_features)] = special
    dtype = data.draw(st.sampled_from(["float64", "float32", "int64", "bool", "float16"]),
                      label="dtype")
    if dtype in ("int64", "bool"):
        X = np.nan_to_num(X, nan=0.0, posinf=1.0, neginf=-1.0)
        if dtype == "int64":
            X = np.clip(X, -2**62, 2**62)
    with np.errstate(over="ignore", invalid="ignore"):
        X = X.astype(dtype)
    layout = data.draw(st.sampled_from(["C", "F", "strided", "readonly", "list"]), label="layout")
    if layout == "F":
        X = np.asfortranarray(X)
    elif layout == "strided":
        X = np.repeat(X, 2, axis=1)[:, ::2]
    elif layout == "readonly":
        X.setflags(write=False)
    elif layout == "list":
        X = X.tolist()
    return X


_PARAM_VALUES = {
    "threshold_rule": ["theory", "bootstrap", "method", None],
    "threshold": ["hard", "soft", "firm"],
    "sigma": [None, None, 1.0, 1e-3, 0.0, -1.0, np.nan, np.inf, "1"],
    "gamma_u": [math.sqrt(2), 0.0, 3.0, 1e300, -1.0, np.nan],
    "gamma_v": [math.sqrt(2), 0.0, 0.5, np.inf],
    "alpha_theory": [1.5, 0.0, 1e6, -2.0],
    "alpha_holm": [0.05, 0.5, 0.0, 1.0],
    "huber_beta": [0.95, 0.5, 1.0, 0.0, 2.0],
    "center": [None, "rows", "columns", "both"],
    "tol": [1e-8, 0.0, 1.0, -1e-3],
    "max_iter": [100, 1, 3, 0, 2.5],
    "n_bootstrap": [100, 1, 7, 0],
    "orthogonal": [True, False, 1],
    "max_nonzero_rows": [None, 1, 3, 0],
    "max_nonzero_features": [None, 2, -1],
    "warm_start": [False, True, "yes"],
    "random_state": [0, None, np.random.default_rng(1), -3, "seed"],
}


@given(data=st.data(), n_samples=st.integers(1, 25), n_features=st.integers(1, 25))
def test_fuzz_fit_arguments(data, n_samples, n_features):
    X = _make_X(data, n_samples, n_features)
    n_components = data.draw(st.one_of(st.integers(-1, 27), st.sampled_from(
        ["cv", "auto", 1.5, None, True, np.int64(2)])), label="n_components")
    params = {name: data.draw(st.sampled_from(values), label=name)
              for name, values in _PARAM_VALUES.items()
              if data.draw(st.booleans(), label=f"set {name}")}
    model = fit_or_error(X, n_components=n_components, **params)
    if model is not None:
        check_fitted(model, np.shape(X))
        T = model.transform(X)
        assert T.shape == (n_samples, model.n_components_) and np.all(np.isfinite(T))


@given(data=st.data(), n_samples=st.integers(8, 40), n_features=st.integers(8, 30),
       rank=st.integers(1, 3), log2_scale=st.integers(-900, 900),
       fmt=st.sampled_from(["dense", "float32", "csr", "csc", "coo"]),
       rule=st.sampled_from(["theory", "bootstrap"]), soft=st.booleans())
def test_fuzz_zero_threshold_matches_numpy_svd(data, n_samples, n_features, rank, log2_scale,
                                              fmt, rule, soft):
    # gamma_u = gamma_v = 0: FIT-SSVD is block power iteration, i.e. the truncated SVD.
    seed = data.draw(st.integers(0, 2**32 - 1), label="seed")
    rng = np.random.default_rng(seed)
    if fmt == "float32":            # stay inside float32's normal range
        log2_scale = log2_scale % 201 - 100
    scale = 2.0 ** log2_scale
    # d = diag(U'XV) matches the singular values only once each column has converged,
    # at rate s_{k+1}/s_k: keep consecutive singular values apart.
    d = 40.0 * math.sqrt(n_samples + n_features) * 0.5 ** np.arange(rank) * rng.uniform(
        0.9, 1.0, rank)
    X0 = planted(seed, n_samples, n_features, tuple(d))
    U, s, Vt = np.linalg.svd(X0, full_matrices=False)
    assume(np.all(s[1:rank + 1] / s[:rank] < 0.6))
    X = X0 * scale
    if fmt == "float32":
        X = X.astype(np.float32)
        U, s, Vt = np.linalg.svd(X.astype(np.float64) / scale, full_matrices=False)
    elif fmt != "dense":
        X = sparse.csr_matrix(X).asformat(fmt)
    model = fit_or_error(X, n_components=rank, threshold_rule=rule, gamma_u=0.0, gamma_v=0.0,
                         threshold="soft" if soft else "hard", tol=1e-14, max_iter=2000,
                         random_state=0)
    assert model is not None
    check_fitted(model, X0.shape)
    assert projection_loss(U[:, :rank], model.left_singular_vectors_) < 1e-9
    assert projection_loss(Vt[:rank].T, model.components_.T) < 1e-9
    # The stopping rule looks at the subspaces; inside them the columns converge at rate
    # s_{k+1}/s_k, so d = diag(U'XV) is close and the singular values of U'XV are exact.
    Uh, Vh = model.left_singular_vectors_, model.components_.T
    core = np.linalg.svd(Uh.T @ X0 @ Vh, compute_uv=False)
    assert_allclose(core, s[:rank], rtol=1e-6 if fmt == "float32" else 1e-9)
    assert_allclose(model.singular_values_ / scale, s[:rank], rtol=1e-3)
    assert_allclose(model.noise_scale_ / scale, 1.4826 * np.median(np.abs(
        X0 - np.median(X0))), rtol=1e-5 if fmt == "float32" else 1e-12)


@given(data=st.data(), n_samples=st.integers(2, 30), n_features=st.integers(2, 30),
       log2_scale=st.integers(-950, 950), rule=st.sampled_from(["theory", "bootstrap"]),
       center=st.sampled_from([None, "rows", "columns"]), fmt=st.sampled_from(["dense", "csr"]),
       rank=st.integers(1, 2))
def test_fuzz_power_of_two_scale_equivariance(data, n_samples, n_features, log2_scale, rule,
                                              center, fmt, rank):
    # fit(2^k X): the same vectors, bit for bit, and d, sigma, mean_ times 2^k exactly.
    assume(not (fmt == "csr" and rule == "bootstrap" and center is not None))
    assume(rank <= min(n_samples, n_features))
    seed = data.draw(st.integers(0, 2**32 - 1), label="seed")
    X = planted(seed, n_samples, n_features, (6.0 * math.sqrt(n_samples + n_features),))
    c = 2.0 ** log2_scale
    prep = sparse.csr_matrix if fmt == "csr" else np.asarray
    kw = {"n_components": rank, "threshold_rule": rule, "center": center, "random_state": 0}
    base = fit_or_error(prep(X), **kw)
    scaled = fit_or_error(prep(X * c), **kw)
    if base is None:
        assert scaled is None
        return
    assert_array_equal(scaled.left_singular_vectors_, base.left_singular_vectors_)
    assert_array_equal(scaled.components_, base.components_)
    assert_array_equal(scaled.singular_values_, base.singular_values_ * c)
    assert scaled.noise_scale_ == base.noise_scale_ * c
    assert_array_equal(scaled.explained_variance_ratio_, base.explained_variance_ratio_)
    assert_array_equal(scaled.transform(prep(X * c)), base.transform(prep(X)) * c)


@st.composite
def corrupted_sparse(draw):
    n_samples, n_features = draw(st.integers(1, 20)), draw(st.integers(1, 20))
    seed = draw(st.integers(0, 2**32 - 1))
    density = draw(st.sampled_from([0.0, 0.2, 0.7, 1.0]))
    fmt = draw(st.sampled_from(SPARSE_FORMATS))
    M = sparse.random(n_samples, n_features, density=density, random_state=seed, format="coo",
                      data_rvs=np.random.default_rng(seed).standard_normal)
    if draw(st.booleans()) and M.nnz:       # duplicates
        M = sparse.coo_matrix((np.r_[M.data, M.data[:1]], (np.r_[M.row, M.row[:1]],
                                                            np.r_[M.col, M.col[:1]])),
                              shape=M.shape)
    M = M.asformat(fmt)
    corruption = draw(st.sampled_from([None, None, "index", "negative", "pointer",
                                       "pointer_end", "data_short", "index_dtype"]))
    if fmt in ("csr", "csc", "bsr") and M.nnz:
        big = draw(st.sampled_from([1, 10**6, 2**31 - 1]))
        at = draw(st.integers(0, M.indices.size - 1))
        if corruption == "index":
            top = np.iinfo(M.indices.dtype).max
            M.indices[at] = min(int(M.indices.max()) + big, top) if fmt != "bsr" else 10**6
        elif corruption == "negative":
            M.indices[at] = -big
        elif corruption == "pointer":      # 0 at the end fooled scipy's check_format
            M.indptr[draw(st.integers(1, M.indptr.size - 1))] = draw(
                st.sampled_from([-1, 10**6, 0]))
        elif corruption == "pointer_end":
            M.indptr[-1] = min(int(M.indptr[-1]) + big, np.iinfo(M.indptr.dtype).max)
        elif corruption == "data_short":
            M.data = M.data[:-1]
        elif corruption == "index_dtype":
            M.indices = M.indices.astype(draw(st.sampled_from(["uint32", "int16", "float64"])))
    elif fmt == "coo" and M.nnz:
        if corruption in ("index", "negative"):
            arr = M.row if draw(st.booleans()) else M.col
            arr[draw(st.integers(0, arr.size - 1))] = 10**6 if corruption == "index" else -1
        elif corruption == "data_short":
            M.data = M.data[:-1]
    return M


def _sparse_to_dense_or_none(M):
    """The dense matrix M stands for (built here with NumPy), or None if M is invalid.

    Independent of scipy's ``check_format``/``toarray``: a pointer array ending in 0
    passes scipy's full check whatever its order, and ``toarray`` then crashes.
    """
    n_rows, n_cols = M.shape
    if M.format in ("lil", "dok", "dia"):
        return M.toarray()
    if M.format == "coo":
        row, col, data = M.row, M.col, np.asarray(M.data)
        if not (row.size == col.size == data.size):
            return None
        if row.size and (min(row.min(), col.min()) < 0 or row.max() >= n_rows
                         or col.max() >= n_cols):
            return None
        out = np.zeros(M.shape)
        np.add.at(out, (row, col), data)
        return out
    indptr, indices, data = M.indptr, M.indices, np.asarray(M.data)
    if indptr.dtype.kind not in "iu" or indices.dtype.kind not in "iu":
        return None
    R, C = M.blocksize if M.format == "bsr" else (1, 1)
    n_major, n_minor = (n_cols, n_rows) if M.format == "csc" else (n_rows // R, n_cols // C)
    indptr, indices = indptr.astype(np.int64), indices.astype(np.int64)
    if (indptr.size != n_major + 1 or indptr[0] != 0 or np.any(np.diff(indptr) < 0)
            or indptr[-1] > indices.size or data.shape[0] != indices.size):
        return None
    end = int(indptr[-1])
    major = np.repeat(np.arange(n_major), np.diff(indptr))
    minor = indices[:end]
    if minor.size and (minor.min() < 0 or minor.max() >= n_minor):
        return None
    out = np.zeros(M.shape)
    if M.format == "bsr":
        for b in range(end):
            out[major[b] * R:(major[b] + 1) * R, minor[b] * C:(minor[b] + 1) * C] += data[b]
    elif M.format == "csr":
        np.add.at(out, (major, minor), data[:end])
    else:
        np.add.at(out, (minor, major), data[:end])
    return out


@given(M=corrupted_sparse(), sigma=st.sampled_from([None, 1.0]),
       rule=st.sampled_from(["theory", "bootstrap"]))
def test_fuzz_sparse_structure(M, sigma, rule):
    # Valid structure: the same fit as the dense matrix it stands for. Invalid: an error
    # naming X (never a crash: every corruption here crashed or misread before).
    dense = _sparse_to_dense_or_none(M)
    kw = {"n_components": 1, "sigma": sigma, "threshold_rule": rule, "random_state": 0}
    model = fit_or_error(M, **kw)
    if dense is None:
        assert model is None
        return
    ref = fit_or_error(dense, **kw)
    assert (model is None) == (ref is None)
    if model is not None:
        assert model.noise_scale_ == pytest.approx(ref.noise_scale_, rel=1e-12)
        assert_allclose(model.components_, ref.components_, atol=1e-10)
        assert_allclose(model.singular_values_, ref.singular_values_, rtol=1e-10)


@given(data=st.data(), center=st.sampled_from([None, "rows", "columns"]))
def test_fuzz_transform_and_inverse(data, center):
    X = planted(5, 30, 12, (40.0, 20.0))
    model = SparseSVD(2, center=center, sigma=1.0, gamma_u=0.0, gamma_v=0.0).fit(X)
    n_rows = data.draw(st.integers(0, 6), label="rows")
    n_cols = data.draw(st.sampled_from([12, 12, 11, 2]), label="cols")
    k = data.draw(st.integers(-1000, 1000), label="log2 scale")
    rng = np.random.default_rng(data.draw(st.integers(0, 1000), label="seed"))
    Y = rng.standard_normal((n_rows, n_cols)) * 2.0 ** k
    if n_rows and data.draw(st.booleans(), label="nan"):
        Y[0, 0] = np.nan
    kind = data.draw(st.sampled_from(["dense", "csr", "csc", "coo", "1d", "list"]), label="kind")
    arg = {"csr": sparse.csr_matrix, "csc": sparse.csc_matrix, "coo": sparse.coo_matrix,
           "1d": np.ravel, "list": lambda a: a.tolist()}.get(kind, np.asarray)(Y)
    for method, width in (("transform", 12), ("inverse_transform", 2)):
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("error")
                out = getattr(model, method)(arg)
        except (ValueError, TypeError) as exc:
            assert names_an_argument(str(exc), ("X",)), repr(exc)
            assert kind == "1d" or n_rows == 0 or n_cols != width or np.isnan(Y).any()
            continue
        assert np.all(np.isfinite(out))
        A = Y / 2.0 ** k
        if method == "transform":
            A = A - (A.mean(axis=1, keepdims=True) if center == "rows" else 0.0) \
                - (model.mean_ / 2.0 ** k if center == "columns" else 0.0)
            expected = A @ model.components_.T
        else:
            expected = A @ model.components_ + (model.mean_ / 2.0 ** k if center == "columns"
                                                else 0.0)
        assert_allclose(out / 2.0 ** k, expected, rtol=1e-10, atol=1e-10 * np.abs(A).max(
            initial=1.0))


@given(data=st.data())
def test_fuzz_product_kernels(data):
    # The compiled kernels with arbitrary shapes and active sets: a ValueError naming the
    # argument, or the plain NumPy answer.
    n_samples, n_features, r = (data.draw(st.integers(0, 6), label=f"dim{i}") for i in range(3))
    rng = np.random.default_rng(data.draw(st.integers(0, 1000), label="seed"))
    X = rng.standard_normal((n_samples, n_features))
    side = data.draw(st.sampled_from(["rows", "cols", "csc", "csr"]), label="kernel")
    extent = n_features if side in ("rows", "csc") else n_samples
    active = np.array(data.draw(st.lists(st.integers(-2, extent + 1), max_size=5,
                                         unique=True), label="active"), dtype=np.intp)
    w_rows = extent + data.draw(st.sampled_from([0, 0, 1]), label="W rows off")
    W = rng.standard_normal((w_rows, r))
    n_out = (n_samples if side in ("rows", "csc") else n_features) + data.draw(
        st.sampled_from([0, 0, 1]), label="out off")
    out = np.empty((n_out, r))
    gamma = np.full(r + data.draw(st.sampled_from([0, 0, 1]), label="gamma off"), 0.5)
    nnz = np.empty(r, dtype=np.intp)
    try:
        if side == "rows":
            _fit.dense_product_rows(X, active, np.ascontiguousarray(
                W[np.clip(active, 0, max(w_rows - 1, 0))].T) if w_rows else np.empty((r, 0)),
                1.0, gamma, False, out, nnz)
        elif side == "cols":
            _fit.dense_product_cols(X, active, W, 1.0, gamma, False, out, nnz)
        elif side == "csc":
            S = sparse.csc_matrix(X)
            _fit.csc_product_rows(S.data, S.indices, S.indptr, active, W, 1.0, gamma, False,
                                  np.empty(0), np.empty(0), out, nnz)
        else:
            S = sparse.csr_matrix(X)
            _fit.csr_product_cols(S.data, S.indices, S.indptr, active, W, 1.0, gamma, False,
                                  np.empty(0), np.empty(0), out, nnz)
    except ValueError as exc:
        assert names_an_argument(str(exc), ("active", "out", "gamma", "W", "Wt", "indptr",
                                            "col_nnz")), repr(exc)
        return
    assert np.all((active >= 0) & (active < extent))
    Wa = np.zeros((extent, r))
    Wa[active] = W[active]
    P = X @ Wa if side in ("rows", "csc") else X.T @ Wa
    if side in ("csc", "csr"):
        # The sparse kernels take the length of the output side from `out` (the index
        # arrays are checked against it): a longer `out` is a matrix with empty rows.
        P = np.vstack([P, np.zeros((out.shape[0] - P.shape[0], r))])
    else:
        assert out.shape[0] == P.shape[0]
    assert_allclose(out, np.where(np.abs(P) >= 0.5, P, 0.0), rtol=1e-12, atol=1e-12)
