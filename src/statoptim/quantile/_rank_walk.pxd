# The state of the rank-inversion walk (_rank_walk.pyx).

from statoptim._cy._blas cimport blas_int
from statoptim.quantile._screening cimport Keyed


cdef struct Walk:
    Py_ssize_t n
    Py_ssize_t m
    const double* A
    const double* c
    const double* y
    const double* w
    double q
    double* absA           # (n,) sum_j |A_ij|
    double* zn             # (n,) ||(c_i, a_i)||_2
    double* wabsA          # (m,) sum_i w_i |A_ij|
    double* M              # (m * m) LU of A_h, Fortran order
    double* inv            # (m * m) A_h^{-1}, Fortran order: inv[k + j m] = (A_h^{-1})_kj
    blas_int* ipiv
    double* sol0           # (m,) A_h^{-1} y_h
    double* sol1           # (m,) A_h^{-1} c_h
    double* vh             # (m,) duals of the basis
    double* g              # (m,) scratch
    double* u              # (n,) u_i, v_i of the rows looked at in this step
    double* v
    double* bkey           # (n,) direction times the crossing point (inf: none ahead)
    Py_ssize_t* seen       # (n,) the rows looked at in this step
    signed char* mark      # (n,) 1 on the rows of R
    Py_ssize_t* rows       # (n + 1,) R: the basis (m rows) then the crossing rows
    Py_ssize_t* cand_rows  # (m + 1,) R at the start of the step
    Py_ssize_t* h          # (m + 1,) the loaded basis
    double* g0             # (m,) sum of psi_i a_i over the rows outside R
    double* margins        # (m + 1,) margin of each candidate basis
    # screening
    Keyed* cand
    Py_ssize_t n_cand
    double key_cut
    double* zeta_ref       # (m + 1,) (b, theta) at the reference
    double ynorm_max       # max_i |y_i| / ||z_i||
    bint want_rebuild


cdef struct Step:
    # where the walk is: R in rows[:nr], crossing zero at b_at
    Py_ssize_t nr
    Py_ssize_t steps
    Py_ssize_t leave       # the row of R the chosen basis leaves out
    double b_at
    double prev_b          # start of the last segment
    double prev_t          # T on the last segment
    double t_here          # T on the segment from b_at
    double gc              # sum of psi_i c_i over the rows outside R
    double psil            # psi of the leaving row on the segment
    double dirn
