"""Nadaraya-Watson propensity: exact kernel vs a chunked NumPy O(n^2) reference,
the binned-FFT approximation vs the exact kernel within its stated error.

Neither the kernel nor the references here allocate an n x n array.
"""
import tracemalloc

import numpy as np
import pytest
from numpy.testing import assert_allclose, assert_array_equal
from scipy.optimize import brentq

from statoptim import kernel_propensity
from statoptim.quantile import _ipw


def nw_reference(X, complete, h, leave_one_out=False, chunk=128):
    """Chunked plain-NumPy O(n^2 d) sums; memory O(chunk * n * d)."""
    X = np.asarray(X, dtype=float)
    sd = X.std(axis=0, ddof=1)
    U = (X - X.mean(axis=0)) / np.where(sd > 0, sd, 1.0) / h
    n = U.shape[0]
    num = np.empty(n)
    den = np.empty(n)
    for start in range(0, n, chunk):
        block = U[start:start + chunk]
        sq = ((block[:, None, :] - U[None, :, :]) ** 2).sum(axis=2)
        K = np.exp(-0.5 * sq)
        if leave_one_out:
            K[np.arange(block.shape[0]), np.arange(start, start + block.shape[0])] = 0.0
        num[start:start + chunk] = K @ complete
        den[start:start + chunk] = K.sum(axis=1)
    return num, den


def talk_design(rng, n_samples, censor_mu=5.5268, missing_rate=0.3):
    """Design B of the spec (section 6): X = (Y, Z1), MAR missingness of Z2."""
    z1 = rng.standard_normal(n_samples)
    z2 = rng.uniform(-3, 3, n_samples)
    t = 4.5 * z1 - 2 * z2 + rng.standard_normal(n_samples)
    y = np.minimum(t, rng.normal(censor_mu, 5.766, n_samples))
    lin = 0.8 * (y - y.mean()) / y.std() + 0.5 * z1
    a = brentq(lambda a: np.mean(1 / (1 + np.exp(-(a + lin)))) - (1 - missing_rate), -30, 30)
    complete = rng.random(n_samples) < 1 / (1 + np.exp(-(a + lin)))
    return np.column_stack([y, z1]), complete


@pytest.mark.parametrize("n_features", [1, 2, 3, 5])
@pytest.mark.parametrize("leave_one_out", [False, True])
def test_exact_matches_reference(rng, n_features, leave_one_out):
    n_samples = 1237  # not a multiple of the kernel's column block
    X = rng.standard_normal((n_samples, n_features)) * rng.uniform(0.5, 3, n_features)
    complete = (rng.random(n_samples) < 0.6).astype(float)
    h = rng.uniform(0.2, 0.8, n_features)
    num, den = nw_reference(X, complete, h, leave_one_out)
    pi = kernel_propensity(X, complete, bandwidth=h, method="exact", leave_one_out=leave_one_out)
    assert_allclose(pi, num / den, rtol=1e-12, atol=0)
    # the sums themselves, not only their ratio
    V = _ipw._scaled_coordinates(np.asarray(X), h)
    knum, kden = _ipw._nw_exact(V, complete, leave_one_out, 2)
    assert_allclose(knum, num, rtol=1e-12, atol=0)
    assert_allclose(kden, den, rtol=1e-12, atol=0)


@pytest.mark.parametrize("n_threads", [1, 2, 3])
def test_threads_memory_layout_and_dtypes_agree(rng, n_threads):
    X = rng.standard_normal((700, 2))
    complete = rng.random(700) < 0.5
    ref = kernel_propensity(X, complete, method="exact", n_threads=1)
    pi = kernel_propensity(X, complete, method="exact", n_threads=n_threads)
    # threads hold partial column sums, added at the end: only the last bits change
    assert_allclose(pi, ref, rtol=1e-14, atol=0)
    # and a given thread count is deterministic
    assert_array_equal(kernel_propensity(X, complete, method="exact", n_threads=n_threads), pi)
    Xf = np.asfortranarray(X)
    Xf.flags.writeable = False
    pi = kernel_propensity(Xf, complete.astype(np.int8), method="exact", n_threads=n_threads)
    # column means and sds of a Fortran array are summed in another order: last-ulp changes
    assert_allclose(pi, ref, rtol=1e-13, atol=0)
    assert_allclose(kernel_propensity(X.tolist(), list(complete), method="exact"), ref,
                    rtol=1e-14, atol=0)


def test_bandwidth_rules(rng):
    X = rng.standard_normal((400, 2))
    complete = rng.random(400) < 0.7
    scott = 400 ** (-1 / 6)
    silver = (4 / 4) ** (1 / 6) * scott  # equal for d = 2
    ref = kernel_propensity(X, complete, bandwidth=scott, method="exact")
    assert_array_equal(kernel_propensity(X, complete, method="exact"), ref)
    assert_array_equal(kernel_propensity(X, complete, bandwidth="silverman", method="exact"),
                       kernel_propensity(X, complete, bandwidth=silver, method="exact"))
    assert_array_equal(kernel_propensity(X, complete, bandwidth=[scott, scott], method="exact"),
                       ref)
    X3 = rng.standard_normal((400, 3))
    silver3 = (4 / 5) ** (1 / 7) * 400 ** (-1 / 7)
    assert_array_equal(kernel_propensity(X3, complete, bandwidth="silverman", method="exact"),
                       kernel_propensity(X3, complete, bandwidth=silver3, method="exact"))


def test_invariances_and_limits(rng):
    X = rng.standard_normal((500, 2))
    complete = rng.random(500) < 0.7
    pi = kernel_propensity(X, complete)
    # standardised coordinates: affine maps of the columns change nothing
    assert_allclose(kernel_propensity(X * [3.0, -0.01] + [100.0, 2.0], complete), pi,
                    rtol=1e-12, atol=0)
    perm = rng.permutation(500)
    assert_allclose(kernel_propensity(X[perm], complete[perm]), pi[perm], rtol=1e-12, atol=0)
    assert np.all(pi[complete] > 0) and np.all(pi <= 1)
    assert_array_equal(kernel_propensity(X, np.ones(500)), np.ones(500))
    assert_array_equal(kernel_propensity(X, np.zeros(500)), np.zeros(500))
    # a constant column plays no role
    Xc = np.column_stack([X, np.full(500, 7.0)])
    assert_allclose(kernel_propensity(Xc, complete, bandwidth=[pi.size ** (-1 / 6)] * 3), pi,
                    rtol=1e-12, atol=0)
    # a huge bandwidth gives the overall complete fraction; a tiny one gives delta itself
    assert_allclose(kernel_propensity(X, complete, bandwidth=1e8), complete.mean(), rtol=1e-12)
    assert_array_equal(kernel_propensity(X, complete, bandwidth=1e-8), complete.astype(float))


def test_auto_uses_exact_for_small_n(rng):
    X, complete = talk_design(rng, 3000)
    assert_array_equal(kernel_propensity(X, complete),
                       kernel_propensity(X, complete, method="exact"))


@pytest.mark.parametrize("n_samples, seed", [(2000, 0), (6000, 1)])
@pytest.mark.parametrize("leave_one_out", [False, True])
def test_fft_within_stated_error_on_talk_design(n_samples, seed, leave_one_out):
    rng = np.random.default_rng(seed)
    X, complete = talk_design(rng, n_samples)
    exact = kernel_propensity(X, complete, method="exact", leave_one_out=leave_one_out)
    h = np.full(2, n_samples ** (-1 / 6))
    V = _ipw._scaled_coordinates(X, h)
    max_err = {}
    for spacing in (0.2, 0.1, 0.05):
        approx = kernel_propensity(X, complete, method="fft", grid_spacing=spacing,
                                   leave_one_out=leave_one_out)
        err = np.abs(approx - exact)
        # 1) the rigorous per-row bound of the docstring holds on every row
        grid = _ipw._fft_grid(V, spacing, n_samples)
        num, den, e_num, e_den = _ipw._nw_binned(V, complete.astype(float), leave_one_out,
                                                 grid, with_bound=True)
        assert_allclose(np.clip(num / den, 0, 1), approx, rtol=1e-12, atol=0)
        bound = _ipw._fft_error_bound(num, den, e_num, e_den)
        assert np.all(err <= bound)
        assert np.median(bound) < 1.2 * spacing**2  # and is informative: ~(1 + pi)(d/4) r^2
        # 2) the stated practical error: max |error| <= 0.25 (Delta / h)^2
        # (0.09-0.2 (Delta / h)^2 observed on this design at n = 2e3..2e4)
        assert err.max() <= 0.25 * spacing**2
        assert err.mean() <= 0.02 * spacing**2
        max_err[spacing] = err.max()
    # second order: a 4x finer grid cuts the error by far more than 4x (ideally 16x)
    assert max_err[0.05] < max_err[0.2] / 6


@pytest.mark.parametrize("n_features", [1, 3])
def test_fft_other_dimensions(rng, n_features):
    n_samples = 3000
    X = rng.standard_normal((n_samples, n_features))
    X[:, 0] = np.exp(X[:, 0])  # skewed
    complete = rng.random(n_samples) < 1 / (1 + np.exp(-X[:, -1]))
    exact = kernel_propensity(X, complete, method="exact")
    spacing = 0.15 if n_features == 1 else 0.3  # the 3-D grid must stay small
    approx = kernel_propensity(X, complete, method="fft", grid_spacing=spacing)
    h = np.full(n_features, n_samples ** (-1 / (n_features + 4)))
    V = _ipw._scaled_coordinates(X, h)
    grid = _ipw._fft_grid(V, spacing, n_samples)
    bound = _ipw._fft_error_bound(*_ipw._nw_binned(V, complete.astype(float), False, grid,
                                                   with_bound=True))
    assert np.all(np.abs(approx - exact) <= bound)
    assert np.abs(approx - exact).max() <= 0.25 * spacing**2


def test_fft_coarsens_an_oversized_grid_with_a_warning(rng):
    X = rng.standard_normal((3000, 3))
    complete = rng.random(3000) < 0.5
    with pytest.warns(UserWarning, match="grid_spacing=0.02 needs more than"):
        pi = kernel_propensity(X, complete, method="fft", grid_spacing=0.02)
    assert np.all((pi >= 0) & (pi <= 1))


def test_exact_memory_is_linear(rng):
    n_samples = 6000
    X = rng.standard_normal((n_samples, 2))
    complete = rng.random(n_samples) < 0.5
    kernel_propensity(X, complete, method="exact")  # warm up
    tracemalloc.start()
    kernel_propensity(X, complete, method="exact")
    kernel_propensity(X, complete, method="fft")
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    # a dense n x n float64 array would be 288 MB; allow a few dozen vectors of n
    assert peak < 80 * n_samples * 8 + (1 << 24)  # + FFT grid (< 16 MB here)


def test_leave_one_out_isolated_row_raises():
    X = np.array([[0.0], [0.1], [0.2], [100.0]])
    with pytest.raises(ValueError, match="bandwidth is too small for leave_one_out"):
        kernel_propensity(X, [1, 0, 1, 1], bandwidth=0.01, leave_one_out=True)


def test_bad_input(rng):
    X = rng.standard_normal((10, 2))
    c = np.ones(10)
    with pytest.raises(ValueError, match="complete must contain only 0"):
        kernel_propensity(X, np.full(10, 2.0))
    with pytest.raises(ValueError, match="complete must contain only 0"):
        kernel_propensity(X, np.r_[np.nan, np.ones(9)])
    with pytest.raises(ValueError, match=r"complete must have one entry per row of X \(10\)"):
        kernel_propensity(X, np.ones(9))
    Xn = X.copy()
    Xn[3, 1] = np.nan
    with pytest.raises(ValueError, match="X must be finite.*row 3, column 1"):
        kernel_propensity(Xn, c)
    for bad in (-1.0, 0.0, np.nan, np.inf, [0.5, -0.5]):
        with pytest.raises(ValueError, match="bandwidth must be finite and > 0"):
            kernel_propensity(X, c, bandwidth=bad)
    with pytest.raises(ValueError, match=r"bandwidth must be a positive number or an array of "
                                         r"shape \(2,\)"):
        kernel_propensity(X, c, bandwidth=[0.5, 0.5, 0.5])
    with pytest.raises(ValueError, match="bandwidth must be .* or one of"):
        kernel_propensity(X, c, bandwidth="wide")
    with pytest.raises(ValueError, match="method must be"):
        kernel_propensity(X, c, method="binned")
    with pytest.raises(ValueError, match="n_threads must be None or an integer >= 1"):
        kernel_propensity(X, c, n_threads=0)
    with pytest.raises(ValueError, match="grid_spacing must be a number in"):
        kernel_propensity(X, c, grid_spacing=0.0)
    with pytest.raises(ValueError, match="leave_one_out must be True or False"):
        kernel_propensity(X, c, leave_one_out="yes")
    with pytest.raises(ValueError, match="method='fft' supports X with at most 3 columns"):
        kernel_propensity(rng.standard_normal((10, 4)), c, method="fft")
    with pytest.raises(ValueError, match="X must have at least one row"):
        kernel_propensity(np.empty((0, 2)), [])
