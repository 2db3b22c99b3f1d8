"""The shared argument checks of statoptim._validation, on hostile values."""
import math

import numpy as np
import pytest
import scipy.sparse as sp

from statoptim._validation import (
    as_float_array,
    available_cpus,
    check_1d_finite,
    check_binary,
    check_int,
    check_n_threads,
    check_positive_float,
    check_quantiles,
    check_real,
    check_sample_weight,
    check_sparse_structure,
    power_of_two_scale,
)

HUGE_INT = 10**400  # beyond float64: float(HUGE_INT) raises OverflowError


@pytest.mark.parametrize("check, args", [
    (check_real, ("tol",)),
    (check_positive_float, ("tol",)),
    (check_quantiles, ()),
    (check_int, ("max_iter",)),
])
def test_ints_beyond_float64_are_named_errors(check, args):
    name = args[0] if args else "quantile"
    with pytest.raises(ValueError, match=name):
        check(-HUGE_INT if check is check_int else HUGE_INT, *args)


@pytest.mark.parametrize("check, args, name", [
    (check_quantiles, (), "quantile"),
    (check_sample_weight, (2,), "sample_weight"),
    (check_1d_finite, ("y",), "y"),
    (check_binary, (2, "event"), "event"),
])
def test_complex_input_is_refused_not_cast(check, args, name):
    value = np.array([0.5 + 1j, 0.5]) if check is not check_binary else np.array([1 + 0j, 0j])
    with pytest.raises(TypeError, match=f"{name} must .*complex"):
        check(value, *args)


def test_sparse_input_is_refused_by_dense_checks():
    with pytest.raises(TypeError, match="event .*scipy.sparse"):
        check_binary(sp.csr_matrix(np.ones((1, 3))), 3, "event")
    with pytest.raises(TypeError, match="sample_weight .*scipy.sparse"):
        check_sample_weight(sp.csr_matrix(np.ones((1, 3))), 3)


def test_as_float_array_refuses_inexact_big_ints_and_objects():
    with pytest.raises(ValueError, match="time .*2\\*\\*53"):
        as_float_array(np.array([2**60 + 1, 1]), "time", expected="an array of times")
    with pytest.raises(TypeError, match="time .*not a real number"):
        as_float_array(np.array(["a", 1], dtype=object), "time", expected="an array of times")
    out = as_float_array([1, 2], "x", expected="numbers")
    assert out.dtype == np.float64 and out.flags.c_contiguous


def test_n_threads_capped_and_checked():
    assert check_n_threads(100000) == available_cpus()
    assert check_n_threads(None) == available_cpus()
    assert check_n_threads(None, default=1) == 1
    for bad in (0, -1, 1.5, True, "2"):
        with pytest.raises(ValueError, match="n_threads must be None or an integer >= 1"):
            check_n_threads(bad)


def test_sparse_structure_out_of_range_indices():
    M = sp.csr_matrix(np.eye(3))
    M.indices[0] = 7  # corrupt: column 7 of a 3-column matrix
    with pytest.raises(ValueError, match="X is a CSR matrix of shape \\(3, 3\\)"):
        check_sparse_structure(M)
    C = sp.coo_matrix(np.eye(3))
    C.row[0] = -1
    with pytest.raises(ValueError, match="A is a COO matrix of shape"):
        check_sparse_structure(C, "A")
    good = sp.csc_matrix(np.eye(3))
    assert check_sparse_structure(good) is good


@pytest.mark.parametrize("top", [0.75, 3.0, 1e-300, 5e-324, 1e300, np.finfo(float).max])
def test_power_of_two_scale_is_exact_power_and_in_range(top):
    scale = power_of_two_scale(np.array([top, -top / 3]))
    mantissa, _ = math.frexp(scale)
    assert mantissa == 0.5  # a power of two
    ratio = top / scale
    assert (0.5 <= ratio < 1.0) or (scale == 2.0**1023 and 1.0 <= ratio < 2.0)
    assert power_of_two_scale(np.zeros(3)) == 1.0 and power_of_two_scale([]) == 1.0


def test_sparse_pointer_array_ending_in_zero_is_caught_without_modifying():
    # scipy's check_format trims the arrays to indptr[-1] first, so a pointer array
    # ending in 0 passed it whatever its order; scipy's toarray then read out of bounds
    M = sp.csr_matrix(np.eye(3))
    M.indptr = np.array([0, 3, 1, 0], dtype=M.indptr.dtype)
    before = (M.indptr.copy(), M.indices.copy(), M.data.copy())
    with pytest.raises(ValueError, match="indptr is not non-decreasing"):
        check_sparse_structure(M)
    for a, b in zip(before, (M.indptr, M.indices, M.data)):
        np.testing.assert_array_equal(a, b)


@pytest.mark.parametrize("where", [0, (1 << 20) - 1, 1 << 20, 3 * (1 << 20) + 5])
@pytest.mark.parametrize("bad", [np.nan, np.inf, -np.inf])
def test_all_finite_finds_a_non_finite_entry_in_any_block(where, bad):
    from statoptim._validation import _FINITE_BLOCK, all_finite, is_ready_float64

    assert _FINITE_BLOCK == 1 << 20
    X = np.zeros((3 * (1 << 20) + 6) // 2 * 2).reshape(-1, 2)
    assert all_finite(X) and is_ready_float64(X, np.zeros(X.shape[0]))
    X.reshape(-1)[where] = bad
    assert not all_finite(X)
    assert not is_ready_float64(X, np.zeros(X.shape[0]))


def test_all_finite_bounds_its_temporary():
    import tracemalloc

    from statoptim._validation import all_finite

    X = np.ones((1 << 22, 4))       # 16 M entries: a whole-array check needs 16 MiB
    tracemalloc.start()
    assert all_finite(X)
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    assert peak < 3 << 20
