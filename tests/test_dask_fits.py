"""LogisticRegression and SparseSVD fits on dask arrays (issue 17, part 3).

The distributed fits (statoptim/optim/_distributed.py, statoptim/ssvd/_distributed.py)
must give the in-memory answer to 1e-9 without gathering X: every pass returns
small reductions only, which the tests check by the bytes a pass returns.
"""
import warnings

import numpy as np
import pytest

from statoptim import LogisticRegression, SparseSVD, _dask
from statoptim.datasets import make_logistic
from statoptim.optim import SeparationWarning
from statoptim.ssvd import _distributed as ssvd_dist
from statoptim.ssvd._estimator import WeakComponentWarning

da = pytest.importorskip("dask.array")
dask = pytest.importorskip("dask")


@pytest.fixture(scope="module")
def client():
    distributed = pytest.importorskip("distributed")
    with distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=False,
                                  dashboard_address=":0") as cluster, \
            distributed.Client(cluster, set_as_default=False) as client:
        yield client


@pytest.fixture(autouse=True)
def threaded():
    with dask.config.set(scheduler="threads"):
        yield


def _logistic_data(n=20_000, p=5, seed=0):
    X, y, _ = make_logistic(n, p, random_state=seed)
    w = np.random.default_rng(seed + 1).uniform(0.1, 3.0, n)
    return X, y, w


def _same_logistic(model, ref, atol=1e-9):
    np.testing.assert_array_equal(model.classes_, ref.classes_)
    np.testing.assert_allclose(model.coef_, ref.coef_, rtol=0, atol=atol)
    np.testing.assert_allclose(model.intercept_, ref.intercept_, rtol=0, atol=atol)
    assert model.solver_ == ref.solver_
    assert model.n_features_in_ == ref.n_features_in_


def _spy(monkeypatch):
    """Record the bytes every pass (RowBlocks.map / map_some) returns to the client."""
    returned = []
    real_map, real_some = _dask.RowBlocks.map, _dask.RowBlocks.map_some

    def spy_map(self, func, *args, per_block=None):
        out = real_map(self, func, *args, per_block=per_block)
        returned.append(_dask.result_nbytes(out))
        return out

    def spy_some(self, func, parts):
        out = real_some(self, func, parts)
        returned.append(_dask.result_nbytes(out))
        return out

    monkeypatch.setattr(_dask.RowBlocks, "map", spy_map)
    monkeypatch.setattr(_dask.RowBlocks, "map_some", spy_some)
    return returned


# --------------------------------------------------------------------------- logistic
@pytest.mark.parametrize("solver", ["newton", "lbfgs", "auto"])
@pytest.mark.parametrize("weights", ["none", "numpy", "dask"])
@pytest.mark.parametrize("class_weight", [None, "balanced"])
def test_logistic_dask_equals_in_memory(solver, weights, class_weight):
    X, y, w = _logistic_data()
    sw = {"none": None, "numpy": w, "dask": da.from_array(w, chunks=4_000)}[weights]
    # Newton at a tight tol; L-BFGS at its default: both runs take the same iterates,
    # while below ~1e-9 L-BFGS stops at its own rounding floor (different in each run)
    tol = 1e-14 if solver != "lbfgs" else 1e-8
    kw = dict(alpha=1e-3, tol=tol, class_weight=class_weight)
    ref = LogisticRegression(solver, **kw).fit(X, y, sample_weight=None if sw is None else w)
    model = LogisticRegression(solver, **kw).fit(da.from_array(X, chunks=(3_000, 5)),
                                                  da.from_array(y, chunks=7_000), sample_weight=sw)
    _same_logistic(model, ref)
    assert model.n_iter_ == ref.n_iter_


def test_logistic_dask_multinomial_labels_and_class_weight_dict():
    X, _, w = _logistic_data(p=4, seed=3)
    y = np.array(["a", "b", "c"])[np.digitize(X[:, 0] + 0.5 * X[:, 1], [-0.5, 0.6])]
    kw = dict(alpha=1e-3, tol=1e-10, class_weight={"b": 2.0})
    ref = LogisticRegression(**kw).fit(X, y, sample_weight=w)
    model = LogisticRegression(**kw).fit(da.from_array(X, chunks=(5_000, 4)), y,
                                         sample_weight=w)
    _same_logistic(model, ref)
    np.testing.assert_array_equal(model.predict(X), ref.predict(X))


def test_logistic_dask_extreme_columns_constant_column_and_warm_start():
    X, y, _ = _logistic_data(p=4, seed=5)
    X = X * np.array([1e-150, 1.0, 1e150, 1.0])
    X[:, 3] = 2.5  # constant: not identifiable at alpha = 0
    with pytest.warns(SeparationWarning, match=r"columns \[3\] of X are constant"):
        ref = LogisticRegression("newton", alpha=0.0, tol=1e-14).fit(X, y)
    with pytest.warns(SeparationWarning, match=r"columns \[3\] of X are constant"):
        model = LogisticRegression("newton", alpha=0.0, tol=1e-14).fit(
            da.from_array(X, chunks=(6_000, 4)), y)
    np.testing.assert_allclose(model.coef_[0] * [1e-150, 1, 1e150, 1],
                               ref.coef_[0] * [1e-150, 1, 1e150, 1], rtol=0, atol=1e-9)
    assert model.coef_[0, 3] == 0.0
    # warm start from the in-memory fit: Newton stops at once (the same optimum)
    ref2 = LogisticRegression("newton", alpha=1e-2, tol=1e-14).fit(X[:, :3], y)
    warm = LogisticRegression("newton", alpha=1e-2, tol=1e-14, warm_start=True)
    warm.fit(X[:, :3], y)
    warm.fit(da.from_array(X[:, :3], chunks=(6_000, 3)), y)
    assert warm.n_iter_ <= 1
    _same_logistic(warm, ref2)


def test_logistic_dask_never_gathers_x(monkeypatch):
    X, y, w = _logistic_data(n=200_000, p=4)
    returned = _spy(monkeypatch)
    for solver in ("newton", "lbfgs"):
        LogisticRegression(solver, alpha=1e-4).fit(da.from_array(X, chunks=(20_000, 4)), y,
                                                    sample_weight=w)
    assert len(returned) >= 6  # scan + evaluations
    assert max(returned) < X.nbytes / 50, (max(returned), X.nbytes)


def test_logistic_dask_bad_input_is_a_clear_error():
    X, y, w = _logistic_data(n=4_000, p=3)
    Xd = da.from_array(X, chunks=(1_000, 3))
    Xn = X.copy()
    Xn[2_345, 1] = np.nan
    with pytest.raises(ValueError, match="X must be finite"):
        LogisticRegression().fit(da.from_array(Xn, chunks=(1_000, 3)), y)
    with pytest.raises(ValueError, match=r"y must have shape \(4000,\) to match X"):
        LogisticRegression().fit(Xd, y[:-1])
    with pytest.raises(ValueError, match=r"sample_weight must have shape \(4000,\)"):
        LogisticRegression().fit(Xd, y, sample_weight=w[:10])
    bad_w = w.copy()
    bad_w[3] = -1.0
    with pytest.raises(ValueError, match="sample_weight must be finite and non-negative"):
        LogisticRegression().fit(Xd, y, sample_weight=bad_w)
    with pytest.raises(ValueError, match=r"solver='adam' does not support a dask array X.*"
                                         r"'newton', 'lbfgs'"):
        LogisticRegression("adam").fit(Xd, y)
    with pytest.raises(ValueError, match="hessian_subsample must be None for a dask array"):
        LogisticRegression("newton", hessian_subsample=100).fit(Xd, y)
    with pytest.raises(ValueError, match="unknown chunk sizes"):
        LogisticRegression().fit(Xd[Xd[:, 0] > -10], y)
    with pytest.raises(ValueError, match="at least two classes"):
        LogisticRegression("newton").fit(Xd, np.zeros(4_000))
    with pytest.raises(ValueError, match="X must be 2-D"):
        LogisticRegression().fit(da.from_array(X[:, 0], chunks=1_000), y)


def test_logistic_dask_chunked_by_columns_is_rechunked():
    X, y, _ = _logistic_data(n=6_000, p=6)
    ref = LogisticRegression("newton", alpha=1e-3, tol=1e-14).fit(X, y)
    model = LogisticRegression("newton", alpha=1e-3, tol=1e-14).fit(
        da.from_array(X, chunks=(2_000, 2)), y)
    _same_logistic(model, ref)


# --------------------------------------------------------------------------- SparseSVD
def _ssvd_data(n=6_000, p=120, seed=0):
    rng = np.random.default_rng(seed)
    X = rng.standard_normal((n, p))
    for d in (90.0, 60.0):
        u = np.zeros(n)
        u[rng.choice(n, 40, replace=False)] = rng.standard_normal(40)
        v = np.zeros(p)
        v[rng.choice(p, 15, replace=False)] = rng.standard_normal(15)
        X += d * np.outer(u / np.linalg.norm(u), v / np.linalg.norm(v))
    return X


def _same_ssvd(model, ref):
    assert model.noise_scale_ == ref.noise_scale_  # exact distributed MAD
    for name in ("left_singular_vectors_", "components_", "left_singular_vectors_orth_",
                 "components_orth_"):
        np.testing.assert_allclose(getattr(model, name), getattr(ref, name), rtol=0,
                                   atol=1e-9, err_msg=name)
    np.testing.assert_allclose(model.singular_values_, ref.singular_values_, rtol=1e-12)
    assert model.n_iter_ == ref.n_iter_
    if ref.mean_ is not None:
        np.testing.assert_allclose(model.mean_, ref.mean_, rtol=1e-12, atol=1e-15)


@pytest.mark.parametrize("kw", [
    dict(n_components=2),
    dict(n_components=2, threshold="soft"),
    dict(n_components=2, threshold="scad", orthogonal=False),
    dict(n_components=2, center="columns"),
    dict(n_components=2, center="rows", max_nonzero_rows=30),
    dict(n_components="cv"),
])
def test_ssvd_dask_equals_in_memory(kw):
    X = _ssvd_data()
    ref = SparseSVD(**kw).fit(X)
    model = SparseSVD(**kw).fit(da.from_array(X, chunks=(1_100, 120)))
    _same_ssvd(model, ref)
    assert model.n_components_ == ref.n_components_


def test_ssvd_dask_float32_scaled_and_column_chunks():
    X = _ssvd_data(seed=2).astype(np.float32)
    ref = SparseSVD(2).fit(X)
    _same_ssvd(SparseSVD(2).fit(da.from_array(X, chunks=(700, 40))), ref)
    Xb = _ssvd_data(seed=2) * 1e200  # ||X||_F^2 out of band: divided by a power of two
    ref = SparseSVD(2).fit(Xb)
    model = SparseSVD(2).fit(da.from_array(Xb, chunks=(1_500, 120)))
    assert model.noise_scale_ == ref.noise_scale_
    np.testing.assert_allclose(model.components_, ref.components_, atol=1e-9)
    np.testing.assert_allclose(model.singular_values_, ref.singular_values_, rtol=1e-12)


def test_ssvd_dask_never_gathers_x(monkeypatch):
    X = _ssvd_data(n=30_000, p=100, seed=4)
    returned = _spy(monkeypatch)
    SparseSVD(2).fit(da.from_array(X, chunks=(3_000, 100)))
    assert len(returned) >= 8  # scan, energies, MAD passes, products
    assert max(returned) < X.nbytes / 10, (max(returned), X.nbytes)


@pytest.mark.parametrize("kind", ["normal", "ties", "tiny_cap", "ulps"])
def test_exact_order_statistics_match_a_sort(kind):
    rng = np.random.default_rng(7)
    X = rng.standard_normal((4_000, 50))
    if kind == "ties":
        X = np.round(X * 2) / 2
        X[:, :30] = 0.0
    if kind == "ulps":  # bins narrower than the rounding margin: the last pass decides
        X = 1.0 + np.spacing(1.0) * rng.integers(0, 40, X.shape)
    blocks = _dask.RowBlocks(da.from_array(X, chunks=(900, 50)))
    prep = ssvd_dist._Prep()
    values = np.sort(X.ravel())
    ranks = [0, 1, 99_999, 100_000, 199_999]
    cap = 10 if kind in ("tiny_cap", "ulps") else None
    got = ssvd_dist.exact_order_statistics(blocks, prep, ranks, values[0], values[-1],
                                           cap=cap)
    assert got == [float(values[k]) for k in ranks]
    med = float(np.median(X))
    dev = np.sort(np.abs(X.ravel() - med))
    got = ssvd_dist.exact_order_statistics(blocks, prep, [100_000], 0.0, float(dev[-1]),
                                           center_value=med, cap=cap)
    assert got == [float(dev[100_000])]


def test_ssvd_dask_bad_input_is_a_clear_error():
    X = _ssvd_data(n=2_000, p=60)
    Xn = X.copy()
    Xn[1_234, 5] = np.inf
    with pytest.raises(ValueError, match="X must be finite"):
        SparseSVD().fit(da.from_array(Xn, chunks=(500, 60)))
    with pytest.raises(ValueError, match="threshold_rule must be 'theory' for a dask array"):
        SparseSVD(threshold_rule="bootstrap").fit(da.from_array(X, chunks=(500, 60)))
    with pytest.raises(ValueError, match="n_components must be <="):
        SparseSVD(n_components=61).fit(da.from_array(X, chunks=(500, 60)))
    with pytest.raises(ValueError, match="at least one nonzero entry"):
        SparseSVD().fit(da.zeros((100, 10), chunks=(30, 10)))
    with pytest.raises(ValueError, match="median absolute deviation of X is 0"):
        Z = np.zeros((200, 10))
        Z[:5] = 1.0
        SparseSVD().fit(da.from_array(Z, chunks=(50, 10)))


# --------------------------------------------------------------------------- cluster
def test_fits_on_a_local_cluster(client):
    X, y, w = _logistic_data(n=30_000, p=4, seed=11)
    Xd = client.persist(da.from_array(X, chunks=(5_000, 4)))
    wd = client.persist(da.from_array(w, chunks=5_000))
    ref = LogisticRegression("newton", alpha=1e-4, tol=1e-14, class_weight="balanced").fit(
        X, y, sample_weight=w)
    with dask.config.set(scheduler=client):
        model = LogisticRegression("newton", alpha=1e-4, tol=1e-14,
                                   class_weight="balanced").fit(Xd, y, sample_weight=wd)
    _same_logistic(model, ref)
    S = _ssvd_data(n=5_000, p=100, seed=12)
    ref = SparseSVD(2).fit(S)
    with dask.config.set(scheduler=client):
        model = SparseSVD(2).fit(client.persist(da.from_array(S, chunks=(800, 100))))
    _same_ssvd(model, ref)


def test_weak_component_warning_as_in_memory():
    X = _ssvd_data(n=3_000, p=80, seed=9)
    with warnings.catch_warnings(record=True) as caught_ref:
        warnings.simplefilter("always")
        SparseSVD(3).fit(X)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        SparseSVD(3).fit(da.from_array(X, chunks=(600, 80)))
    kinds = [w.category for w in caught if issubclass(w.category, WeakComponentWarning)]
    assert kinds == [w.category for w in caught_ref
                     if issubclass(w.category, WeakComponentWarning)]
    assert kinds  # the third component is noise


def test_logistic_dask_separable_data_warn():
    """The LP check needs all rows: on a dask array a diverging alpha=0 fit is reported."""
    X = np.random.default_rng(0).standard_normal((2_000, 3))
    y = (X[:, 0] > 0).astype(int)
    with pytest.warns(SeparationWarning, match="may be linearly separable"):
        LogisticRegression("lbfgs", alpha=0.0).fit(da.from_array(X, chunks=(500, 3)), y)
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # not separable: no warning
        LogisticRegression("lbfgs", alpha=0.0).fit(da.from_array(X, chunks=(500, 3)),
                                                   (X[:, 0] + X[:, 1] > 0.3 * X[:, 2] ** 2
                                                    - 0.5).astype(int) ^ (np.arange(2_000) % 7
                                                                          == 0))

