# Helpers and codes shared by the linear quantile-regression kernels (_mm.pyx: the
# MM iterations; _simplex.pyx: the exact simplex finish; _band.pyx: the
# preprocessing passes): cdef inline functions, so each kernel compiles them into
# its own loops instead of calling through a pointer.
from libc.float cimport DBL_EPSILON as DBL_EPS  # 2**-52, scale of the rounding tolerances

from statoptim._cy._blas cimport xgemv_cols, xgemv_rows

# Status codes returned by the kernels (_mm.MM_STATUS and _simplex.FINISH_STATUS
# name them for Python).
cdef enum:
    STATUS_OK = 0
    STATUS_SINGULAR = 1
    STATUS_PIVOT_CAP = 2
    STATUS_NUMERICAL = 3
    STATUS_DEGENERATE = 5

# Up to this many columns the row loops are plain C (BLAS call overhead dominates
# there) and the MM Gram matrix is accumulated in the fused row loop; above it BLAS
# does the products.
cdef enum:
    SMALL_P = 8

# The products of `product`.
cdef enum:
    ZX = 0              # out = Z x (n_rows values)
    ZX_SUBTRACT = 1     # out -= Z x
    ZTX = 2             # out = Z' x (n_cols values)


cdef inline double check_loss(double r, double q) noexcept nogil:
    """Check loss rho_q(r) = r (q - I(r < 0)), written without a branch.

    The same values as ``_mathutils.check_loss`` (``q - 0.0`` is ``q``), but
    the signs of residuals are random and a branch on them mispredicts half
    the time in the passes over the rows.
    """
    return r * (q - (r < 0.0))


cdef inline double psi(double r, double q) noexcept nogil:
    """Right derivative of the check loss: q - I(r < 0) (without a branch)."""
    return q - (r < 0.0)


cdef inline void residuals(Py_ssize_t n_samples, Py_ssize_t n_features, const double* Z,
                           const double* y, const double* theta, double* r) noexcept nogil:
    """r = y - Z theta."""
    cdef Py_ssize_t i, j
    cdef double acc
    cdef const double* zi
    if n_features > SMALL_P:
        for i in range(n_samples):
            r[i] = y[i]
        xgemv_rows(n_samples, n_features, -1.0, Z, theta, 1.0, r)
        return
    for i in range(n_samples):
        zi = Z + i * n_features
        acc = y[i]
        for j in range(n_features):
            acc -= zi[j] * theta[j]
        r[i] = acc


cdef inline void product(int kind, Py_ssize_t n_rows, Py_ssize_t n_cols, const double* Z,
                         const double* x, double* out) noexcept nogil:
    """One of the products ``ZX``, ``ZX_SUBTRACT``, ``ZTX`` (`kind`, a constant at each
    call, so the compiler keeps only its branch) with Z C-contiguous (n_rows, n_cols):
    BLAS above SMALL_P columns, plain loops below (BLAS call overhead dominates there).
    """
    cdef Py_ssize_t i, j
    cdef double acc
    cdef const double* zi
    if n_cols > SMALL_P:
        if kind == ZTX:
            xgemv_cols(n_rows, n_cols, 1.0, Z, x, 0.0, out)
        elif kind == ZX_SUBTRACT:
            xgemv_rows(n_rows, n_cols, -1.0, Z, x, 1.0, out)
        else:
            xgemv_rows(n_rows, n_cols, 1.0, Z, x, 0.0, out)
        return
    if kind == ZTX:
        for j in range(n_cols):
            out[j] = 0.0
        for i in range(n_rows):
            zi = Z + i * n_cols
            acc = x[i]
            for j in range(n_cols):
                out[j] += zi[j] * acc
        return
    for i in range(n_rows):
        zi = Z + i * n_cols
        acc = 0.0
        for j in range(n_cols):
            acc += zi[j] * x[j]
        if kind == ZX_SUBTRACT:
            out[i] -= acc
        else:
            out[i] = acc
