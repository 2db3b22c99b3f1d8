# Shared BLAS/LAPACK helpers for every kernel of statoptim.
#
# All BLAS and LAPACK calls of the package go through this file, so that the
# integer type of an ILP64 SciPy build is a one-line change (`blas_int`).
# Arrays are row-major (C-contiguous) on the Python side; a C-contiguous
# (n_rows, n_cols) array is the Fortran (n_cols, n_rows) matrix with leading
# dimension n_cols, and the helpers below take care of the transposition.
#
# Every helper is `cdef inline ... noexcept nogil`: header-only, callable
# from inside `with nogil:` blocks, with no exception check after each call.

from scipy.linalg.cython_blas cimport ddot, dgemv, dsyrk, daxpy, dscal, dnrm2
from scipy.linalg.cython_lapack cimport dpotrf, dpotrs, dgetrf, dgetrs

ctypedef int blas_int


cdef inline double xdot(Py_ssize_t n, const double* x, const double* y) noexcept nogil:
    """Return sum_i x[i] * y[i] (unit strides)."""
    cdef blas_int n_ = <blas_int>n, one = 1
    return ddot(&n_, <double*>x, &one, <double*>y, &one)


cdef inline void xgemv_rows(Py_ssize_t n_rows, Py_ssize_t n_cols, double alpha,
                            const double* A, const double* x, double beta,
                            double* out) noexcept nogil:
    """out[:n_rows] = alpha * A @ x + beta * out, A C-contiguous (n_rows, n_cols)."""
    cdef blas_int m = <blas_int>n_cols, n = <blas_int>n_rows, one = 1
    cdef char trans = b'T'
    if n_rows == 0:
        return
    dgemv(&trans, &m, &n, &alpha, <double*>A, &m, <double*>x, &one, &beta, out, &one)


cdef inline void xgemv_cols(Py_ssize_t n_rows, Py_ssize_t n_cols, double alpha,
                            const double* A, const double* x, double beta,
                            double* out) noexcept nogil:
    """out[:n_cols] = alpha * A.T @ x + beta * out, A C-contiguous (n_rows, n_cols)."""
    cdef blas_int m = <blas_int>n_cols, n = <blas_int>n_rows, one = 1
    cdef char trans = b'N'
    cdef Py_ssize_t j
    if n_rows == 0:
        for j in range(n_cols):
            out[j] = beta * out[j]
        return
    dgemv(&trans, &m, &n, &alpha, <double*>A, &m, <double*>x, &one, &beta, out, &one)


cdef inline void xsyrk_gram(Py_ssize_t n_rows, Py_ssize_t n_cols, const double* A,
                            double beta, double* G) noexcept nogil:
    """G = A.T @ A + beta * G for C-contiguous A (n_rows, n_cols).

    Only one triangle of the C-contiguous (n_cols, n_cols) array G is written:
    its upper triangle in row-major terms (the Fortran 'L' triangle).
    """
    cdef blas_int n = <blas_int>n_cols, k = <blas_int>n_rows
    cdef char uplo = b'L', trans = b'N'
    cdef double alpha = 1.0
    dsyrk(&uplo, &trans, &n, &k, &alpha, <double*>A, &n, &beta, G, &n)


cdef inline int xpotrf_solve(Py_ssize_t n, double* G, double* b) noexcept nogil:
    """Solve G x = b in place (b <- x) for symmetric positive definite G.

    G is the C-contiguous array filled by `xsyrk_gram` (its Fortran 'L'
    triangle is used) and is overwritten by its Cholesky factor. Returns the
    LAPACK info: 0 on success, > 0 if G is not positive definite.
    """
    cdef blas_int n_ = <blas_int>n, one = 1, info = 0
    cdef char uplo = b'L'
    dpotrf(&uplo, &n_, G, &n_, &info)
    if info != 0:
        return info
    dpotrs(&uplo, &n_, &one, G, &n_, b, &n_, &info)
    return info


cdef inline int xgetrf(Py_ssize_t n, double* A, blas_int* ipiv) noexcept nogil:
    """LU factorisation in place of the Fortran-ordered square matrix A."""
    cdef blas_int n_ = <blas_int>n, info = 0
    dgetrf(&n_, &n_, A, &n_, ipiv, &info)
    return info


cdef inline int xgetrs(Py_ssize_t n, const double* LU, const blas_int* ipiv,
                       double* b, bint transpose) noexcept nogil:
    """Solve A x = b (or A.T x = b) in place with the factors from `xgetrf`.

    A is the Fortran-ordered matrix that was factorised.
    """
    cdef blas_int n_ = <blas_int>n, one = 1, info = 0
    cdef char trans = b'T' if transpose else b'N'
    dgetrs(&trans, &n_, &one, <double*>LU, &n_, <blas_int*>ipiv, b, &n_, &info)
    return info


# --- added for statoptim.multiview (general matrix products) -----------------
from scipy.linalg.cython_blas cimport dgemm


cdef inline void xgemm_tn(Py_ssize_t n_rows, Py_ssize_t n_a, Py_ssize_t n_b, double alpha,
                          const double* A, const double* B, double beta,
                          double* C) noexcept nogil:
    """C = alpha * A.T @ B + beta * C for C-contiguous A (n_rows, n_a), B (n_rows, n_b).

    C is C-contiguous (n_a, n_b). In Fortran terms C.T = B.T @ A, i.e.
    dgemm('N', 'T') on the transposed (column-major) views.
    """
    cdef blas_int m = <blas_int>n_b, n = <blas_int>n_a, k = <blas_int>n_rows
    cdef char ta = b'N', tb = b'T'
    if n_a == 0 or n_b == 0:
        return
    dgemm(&ta, &tb, &m, &n, &k, &alpha, <double*>B, &m, <double*>A, &n, &beta, C, &m)


cdef inline void xgemm_nn(Py_ssize_t n_rows, Py_ssize_t n_inner, Py_ssize_t n_cols,
                          double alpha, const double* A, const double* B, double beta,
                          double* C) noexcept nogil:
    """C = alpha * A @ B + beta * C for C-contiguous A (n_rows, n_inner), B (n_inner, n_cols).

    C is C-contiguous (n_rows, n_cols). In Fortran terms C.T = B.T @ A.T.
    """
    cdef blas_int m = <blas_int>n_cols, n = <blas_int>n_rows, k = <blas_int>n_inner
    cdef char ta = b'N', tb = b'N'
    if n_rows == 0 or n_cols == 0:
        return
    dgemm(&ta, &tb, &m, &n, &k, &alpha, <double*>B, &m, <double*>A, &k, &beta, C, &m)
