# The state of the regression-quantile process (_parametric.pyx) and its pivots
# (_process_pivot.pyx): the basis, its vertex, the sums the duals need and the
# screening of the ratio tests.

from statoptim._cy._blas cimport blas_int
from statoptim.quantile._screening cimport Keyed

# Status codes of the path; _parametric exports them to Python as PROCESS_STATUS.
cdef enum:
    STATUS_DONE = 0        # reached tau = 1 (direction +1) or tau = 0 (direction -1)
    STATUS_FULL = 1        # the output arrays are full: grow them and call again
    STATUS_PIVOT_CAP = 2   # max_pivots reached
    STATUS_NUMERICAL = 3   # singular basis or no row to enter (rounding)

# rebuild the reference at least this often (bounds the drift of c and the sums)
cdef enum:
    MAX_SINCE_REBUILD = 1024


cdef struct Path:
    Py_ssize_t n
    Py_ssize_t p
    const double* Z
    const double* y
    const double* w
    Py_ssize_t* basis
    signed char* sign
    double* theta
    double* theta_err  # rounding bound of theta: |theta| + |Z_h^{-1}| |y_h|
    const double* xi   # (n,) perturbation direction of y (symbolic)
    double* eta        # (p,) Z_h^{-1} xi_h
    double* col        # (p,) scratch
    double* M          # LU of Z_h' (Fortran order: column k is row basis[k])
    blas_int* ipiv
    double* Binv       # (p, p) Z_h^{-1}, row-major; updated by each pivot
    double* alpha      # (p,) scratch of the update
    Py_ssize_t since_refactor
    double* cneg       # sum over non-basic rows with s < 0 of w z
    double* a_all      # sum over all rows of w z
    double* gabs       # sum over all rows of w |z|
    double* znorm      # (n,) sum_j |z_ij|
    double* zn2        # (n,) ||z_i||_2
    # screening
    Keyed* cand        # (n,) rows by key at theta_ref; the first n_cand are sorted
    Py_ssize_t n_cand
    Py_ssize_t n_zero  # candidates with a zero residual at theta_ref (scanned first)
    double key_cut     # keys of rows outside the candidates are >= key_cut
    double* theta_ref
    double ynorm_max   # max_i |y_i| / ||z_i|| (rounding margin of the keys)
    double s1_ref      # sum_i w_i r_i(theta_ref) over all rows
    double s2_ref      # sum over the current s < 0 rows of w_i r_i(theta_ref)
    Py_ssize_t since_rebuild
    bint want_rebuild
    bint moved         # the vertex moved since the last record


cdef int factorize(Path* s) noexcept nogil
cdef void rebuild(Path* s, Py_ssize_t k_target) noexcept nogil
cdef int pivot(Path* s, Py_ssize_t kpos, double sigma, double* d) noexcept nogil
cdef void objective_sums(Path* s, double* sums) noexcept nogil
