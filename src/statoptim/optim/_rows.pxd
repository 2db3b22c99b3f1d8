# Rows of X for the logistic kernels (_sgd_fast.pyx), dense or in CSR form: one
# function per operation on a row (its dot product with the coefficients, adding a
# multiple of it), taking either a C-contiguous dense block (indptr NULL, rows of
# n_features values) or a CSR structure. cdef inline, so the row loops compile into
# each kernel; the dense/CSR test is one predictable branch per row.
from cython cimport floating

from statoptim.optim._csr cimport csr_dot, index_t


cdef extern from *:
    """
    #if defined(__GNUC__) || defined(__clang__)
    #define STATOPTIM_PREFETCH(p) __builtin_prefetch((const void *)(p), 0, 3)
    #else
    #define STATOPTIM_PREFETCH(p) ((void)0)
    #endif
    """
    void STATOPTIM_PREFETCH(const void* p) noexcept nogil


cdef inline double row_dot(const floating* x, const double* w,
                           Py_ssize_t n) noexcept nogil:
    """sum_j x[j] * w[j] in float64 with four independent accumulators."""
    cdef double a0 = 0.0, a1 = 0.0, a2 = 0.0, a3 = 0.0
    cdef Py_ssize_t j, n4 = n - n % 4
    for j in range(0, n4, 4):
        a0 = a0 + <double>x[j] * w[j]
        a1 = a1 + <double>x[j + 1] * w[j + 1]
        a2 = a2 + <double>x[j + 2] * w[j + 2]
        a3 = a3 + <double>x[j + 3] * w[j + 3]
    for j in range(n4, n):
        a0 = a0 + <double>x[j] * w[j]
    return (a0 + a1) + (a2 + a3)


cdef inline void row_axpy(double r, const floating* x, double* out,
                          Py_ssize_t n) noexcept nogil:
    """out[j] += r * x[j] (float64 accumulation)."""
    cdef Py_ssize_t j
    for j in range(n):
        out[j] = out[j] + r * <double>x[j]


cdef inline double row_eta(const floating* data, const index_t* indices,
                           const index_t* indptr, Py_ssize_t i, Py_ssize_t n_features,
                           const double* th) noexcept nogil:
    """theta_0 + x_i . theta_{1:} for row i of X, dense (indptr NULL) or CSR."""
    if indptr == NULL:
        return th[0] + row_dot(data + i * n_features, th + 1, n_features)
    if indptr[i + 1] > indptr[i]:
        return th[0] + csr_dot(data, indices, indptr[i], indptr[i + 1], th + 1)
    return th[0]


cdef inline void row_add(double r, const floating* data, const index_t* indices,
                         const index_t* indptr, Py_ssize_t i, Py_ssize_t n_features,
                         double* out) noexcept nogil:
    """out += r * x_i for row i of X, dense (indptr NULL) or CSR."""
    cdef Py_ssize_t k
    if indptr == NULL:
        row_axpy(r, data + i * n_features, out, n_features)
        return
    for k in range(indptr[i], indptr[i + 1]):
        out[indices[k]] = out[indices[k]] + r * <double>data[k]


cdef inline void prefetch_row(const floating* x, Py_ssize_t n) noexcept nogil:
    """Ask for every 64-byte cache line of a row of n values."""
    cdef const char* p = <const char*>x
    cdef Py_ssize_t off, n_bytes = n * sizeof(floating)
    for off in range(0, n_bytes, 64):
        STATOPTIM_PREFETCH(p + off)
    STATOPTIM_PREFETCH(p + n_bytes - 1)
