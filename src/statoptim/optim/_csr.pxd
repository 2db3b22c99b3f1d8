# Compressed sparse row (CSR) matrices in the compiled optimiser kernels (_sgd_fast.pyx,
# _softmax_fast.pyx): X as (data, indices, indptr), never densified. The wrappers check
# the structure with statoptim._validation.check_sparse_structure; the kernels check it
# again (check_csr) before their nogil loops, since a bad index would read or write out
# of bounds.
from cython cimport floating


ctypedef fused index_t:
    int
    long long


cdef inline int check_csr(const floating[::1] data, const index_t[::1] indices,
                          const index_t[::1] indptr, Py_ssize_t n_features) except -1:
    """Raise ValueError unless (data, indices, indptr) is a valid CSR structure with
    column indices in [0, n_features)."""
    cdef Py_ssize_t n_rows = indptr.shape[0] - 1, i, k, bad_row = -1, bad_k = -1
    if indptr.shape[0] < 1:
        raise ValueError("indptr must have n_rows + 1 >= 1 entries, got 0")
    if indptr[0] != 0 or indptr[n_rows] > indices.shape[0] or \
            indptr[n_rows] > data.shape[0]:
        raise ValueError(f"indptr must start at 0 and end at most at len(indices) = "
                         f"{indices.shape[0]} and len(data) = {data.shape[0]}, got "
                         f"{indptr[0]} ... {indptr[n_rows]}")
    with nogil:
        for i in range(n_rows):
            if indptr[i + 1] < indptr[i]:
                bad_row = i
                break
            for k in range(indptr[i], indptr[i + 1]):
                if indices[k] < 0 or indices[k] >= n_features:
                    bad_k = k
                    break
            if bad_k >= 0:
                break
    if bad_row >= 0:
        raise ValueError(f"indptr must be non-decreasing, got a decrease after row {bad_row}")
    if bad_k >= 0:
        raise ValueError(f"indices must hold column indices in [0, {n_features}), got "
                         f"{indices[bad_k]} at position {bad_k}")
    return 0


cdef inline double csr_dot(const floating* v, const index_t* idx, Py_ssize_t lo,
                           Py_ssize_t hi, const double* w) noexcept nogil:
    """sum over the stored entries lo <= k < hi of a row of v[k] * w[idx[k]]."""
    cdef double a = 0.0
    cdef Py_ssize_t k
    for k in range(lo, hi):
        a = a + <double>v[k] * w[idx[k]]
    return a
