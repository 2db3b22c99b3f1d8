# Kernel of the regression-quantile process: parametric programming in tau.
#
# Design
# ------
# For a basis h (p rows of Z, linearly independent, residual zero) the vertex
# is theta = Z_h^{-1} y_h. Every other row i has a sign s_i in {+1, -1} (the
# side of the fit it lies on; rows with a zero residual at a degenerate
# vertex keep the side they came from). With
#     a = sum_{i not in h} w_i z_i,   c = sum_{i not in h, s_i < 0} w_i z_i,
# the gradient of the weighted check loss over the non-basic rows is
#     g(tau) = tau a - c,
# and Koenker's certificate (2005, Thm 2.1) says the vertex is optimal at
# tau iff v(tau) = Z_h^{-T}(c - tau a) = v0 + tau v1 satisfies
#     w_k (tau - 1) <= v_k(tau) <= w_k tau      for every basic row k.
# Each bound is linear in tau, so the basis is optimal on an interval of tau
# (Koenker & d'Orey 1987; Koenker 2005, section 6.3). At its end one bound
# binds: the basic row k leaves, the edge d = Z_h^{-1}(sigma e_k) is flat
# at that tau, and just beyond it the objective decreases along the edge up
# to the first non-basic residual that reaches zero (the minimum ratio
# r_j / z_j'd), whose row enters. One pivot per breakpoint.
#
# Degeneracy is handled lexicographically. Primal: the ratio test is that of
# the response y + e xi, e -> 0+, for fixed pseudo-random xi (the caller's):
# residuals that are zero to rounding tie at ratio 0 and the tie goes to the
# smallest xi'_j / z_j'd, xi' = xi - Z Z_h^{-1} xi_h the perturbation's
# residual, whose sign is also the side of a zero-residual row. Without
# this, a vertex with many zero residuals (integer or constant responses)
# made the path cycle or take O(m^2) pivots. Dual (bounds binding together,
# or a basis optimal only at the current tau): a basis is recorded only when
# it is optimal on a non-empty interval beyond the current tau; otherwise
# the pivot is taken at the same tau (leaving row: the smallest index).
# Bounds are tested to their rounding error: that of v (the solves with
# Z_h', componentwise) and that of the breakpoint tau itself; slopes within
# it are zero. Tighter tests made two bases undo each other's pivot at one
# tau forever (Cauchy designs; rounded data with a bound tight on a whole
# interval).
# A piece is a vertex: bases of the same vertex (degenerate steps between
# them) are not recorded twice.
#
# The pivots, the ratio tests with their screening and the basis updates are in
# _process_pivot.pyx; this module follows the path from breakpoint to breakpoint.
# Arrays are C-contiguous float64; the wrapper in `_process.py` validates,
# scales and allocates. Nothing here allocates in a loop or holds the GIL.

from libc.float cimport DBL_EPSILON as DBL_EPS
from libc.math cimport fabs, sqrt, INFINITY
from libc.stdlib cimport malloc, free

from statoptim._cy._blas cimport blas_int
from statoptim.quantile._process_pivot cimport (
    MAX_SINCE_REBUILD, STATUS_DONE, STATUS_FULL, STATUS_NUMERICAL, STATUS_PIVOT_CAP, Path,
    factorize, objective_sums, pivot, rebuild)
from statoptim.quantile._screening cimport Keyed, screen_size

# The status codes of process_path for Python (_process.py): code -> name.
PROCESS_STATUS = {STATUS_DONE: "done", STATUS_FULL: "full", STATUS_PIVOT_CAP: "pivot cap",
                  STATUS_NUMERICAL: "numerical"}


cdef struct Bounds:
    # Koenker's certificate of the basis, w_k (tau - 1) <= v_k(tau) <= w_k tau
    double* v0             # (p,) v(tau) = v0 + tau v1
    double* v1
    double* tolv           # (p,) tolerance of each bound at T
    double* d              # (p,) edge of a pivot (scratch)
    double T               # the current tau
    double t_err           # rounding of T (that of the breakpoint it was computed as)
    double dirn            # +1: towards tau = 1, -1: towards 0
    double t_end


cdef struct Record:
    # the outputs of process_path (C-contiguous rows; strides in elements)
    double* tau
    double* theta
    Py_ssize_t* basis
    double* sums
    Py_ssize_t theta_row
    Py_ssize_t basis_row
    Py_ssize_t sums_row
    Py_ssize_t capacity
    Py_ssize_t n_out
    bint moved             # the vertex moved since the caller's last record
    bint first             # no record yet in this call
    bint first_moved


cdef void basis_duals(Path* s, Bounds* b) noexcept nogil:
    """v1 = -Z_h^{-T} a, v0 = Z_h^{-T} c (a over the non-basic rows) and the
    tolerance of each bound at T."""
    cdef Py_ssize_t j, k, p = s.p
    cdef double wi, tolk
    cdef const double* inv = s.Binv   # Z_h^{-1}, row-major: Z_h^{-T} x = inv' x
    cdef double* v0 = b.v0
    cdef double* v1 = b.v1
    cdef double* tolv = b.tolv
    for j in range(p):
        v1[j] = -s.a_all[j]
    for k in range(p):
        wi = s.w[s.basis[k]]
        for j in range(p):
            v1[j] += wi * s.Z[s.basis[k] * p + j]
    for k in range(p):
        s.col[k] = v1[k]
        v1[k] = 0.0
        v0[k] = 0.0
    for j in range(p):
        for k in range(p):
            v1[k] += inv[j * p + k] * s.col[j]
            v0[k] += inv[j * p + k] * s.cneg[j]
    # rounding bound of v: |Z_h^{-T}| sum_i w_i |z_i|
    # and the backward error of the solves, |Z_h^{-T}| |Z_h'| |v|, in `col`
    for j in range(p):
        s.col[j] = 0.0
        for k in range(p):
            s.col[j] += fabs(s.Z[s.basis[k] * p + j]) * (fabs(v0[k]) + fabs(v1[k]))
    for k in range(p):
        tolv[k] = 0.0
        tolk = 0.0
        for j in range(p):
            tolv[k] += fabs(inv[j * p + k]) * s.gabs[j]
            tolk += fabs(inv[j * p + k]) * s.col[j]
        # tolerance of the bounds at T: rounding of v, and of T itself
        tolv[k] = 64.0 * DBL_EPS * (tolv[k] * (1.0 + b.T) + tolk + s.w[s.basis[k]]) \
            + fabs(s.w[s.basis[k]] - v1[k]) * b.t_err


cdef Py_ssize_t violated_bound(Path* s, Bounds* b, double* sigma_out) noexcept nogil:
    """The basic row (position in the basis, -1 if none) whose bound fails just
    beyond T, lexicographically; the smallest row among several (Bland's rule).
    ``sigma_out`` gets the side it leaves to (see `pivot`)."""
    cdef Py_ssize_t i, k, kk = -1
    cdef double wi, beta, vT, fU, fL, tolk, sigma
    for k in range(s.p):
        i = s.basis[k]
        wi = s.w[i]
        beta = wi - b.v1[k]
        vT = b.v0[k] + b.T * b.v1[k]
        fU = wi * b.T - vT          # slope beta
        fL = vT - wi * (b.T - 1.0)  # slope -beta
        tolk = b.tolv[k]
        # slopes within rounding of zero are zero: a tight bound that
        # stays tight (dual degeneracy) is not violated beyond T
        if fabs(beta) <= b.tolv[k]:
            beta = 0.0
        sigma = 0.0
        if fU < -tolk or (fU <= tolk and b.dirn * beta < 0.0):
            sigma = -1.0
        elif fL < -tolk or (fL <= tolk and b.dirn * beta > 0.0):
            sigma = 1.0
        if sigma != 0.0 and (kk < 0 or i < s.basis[kk]):
            kk = k
            sigma_out[0] = sigma
    return kk


cdef int record_vertex(Path* s, Record* r, double T) noexcept nogil:
    """Record the vertex, which takes over at T, unless it is the last record's;
    a record at the same T as the last one replaces it. STATUS_FULL if no room."""
    cdef Py_ssize_t j, slot, p = s.p
    cdef double sums[2]
    if not (r.n_out == 0 or s.moved or r.moved):
        return STATUS_DONE
    if r.n_out > 0 and r.tau[r.n_out - 1] == T:
        slot = r.n_out - 1
    elif r.n_out == r.capacity:
        return STATUS_FULL
    else:
        slot = r.n_out
        r.n_out += 1
    r.tau[slot] = T
    for j in range(p):
        r.theta[slot * r.theta_row + j] = s.theta[j]
        r.basis[slot * r.basis_row + j] = s.basis[j]
    objective_sums(s, sums)
    r.sums[slot * r.sums_row] = sums[0]
    r.sums[slot * r.sums_row + 1] = sums[1]
    if r.first:
        r.first_moved = s.moved
        r.first = False
    s.moved = False
    r.moved = False
    return STATUS_DONE


cdef Py_ssize_t next_breakpoint(Path* s, Bounds* b, double* sigma_out, double* tnext,
                                double* t_err_next) noexcept nogil:
    """The nearest bound that binds in the direction of travel: its position in
    the basis (-1 if none), the side its row leaves to, where it binds and the
    rounding of that tau. Bounds that still hold at the end of [0, 1] up to
    rounding do not bind."""
    cdef Py_ssize_t i, k, kbest = -1
    cdef double wi, beta, tolk, tstar, sigma, dist, best = INFINITY, dirn = b.dirn
    for k in range(s.p):
        i = s.basis[k]
        wi = s.w[i]
        beta = wi - b.v1[k]
        if fabs(beta) <= b.tolv[k]:
            continue
        tolk = b.tolv[k] + 64.0 * DBL_EPS * b.tolv[k]
        if dirn * beta < 0.0:   # fU decreases: v reaches w tau
            if beta * b.t_end - b.v0[k] >= -tolk:
                continue
            tstar = b.v0[k] / beta
            sigma = -1.0
        else:                   # fL decreases: v reaches w (tau - 1)
            if b.v0[k] + wi - beta * b.t_end >= -tolk:
                continue
            tstar = (b.v0[k] + wi) / beta
            sigma = 1.0
        dist = dirn * (tstar - b.T)
        if dist < best or (dist == best and kbest >= 0 and i < s.basis[kbest]):
            best = dist
            kbest = k
            sigma_out[0] = sigma
            tnext[0] = tstar if dist > 0.0 else b.T
            t_err_next[0] = tolk / fabs(beta)
    return kbest


cdef int follow(Path* s, Bounds* b, Record* r, Py_ssize_t max_pivots, Py_ssize_t k_target,
                Py_ssize_t* n_pivots) noexcept nogil:
    """Pivot from T until the end of [0, 1], a full output, the pivot cap or a
    numerical failure; returns the status (T: where the path stopped)."""
    cdef Py_ssize_t k
    cdef double sigma = 0.0, tnext = b.T, t_err_next = 0.0
    cdef bint at_breakpoint
    cdef int info
    while True:
        if s.want_rebuild or s.since_rebuild >= MAX_SINCE_REBUILD:
            rebuild(s, k_target)
        basis_duals(s, b)
        # a basis not optimal just beyond T pivots at T; an optimal one is
        # recorded and pivots at the next breakpoint
        k = violated_bound(s, b, &sigma)
        at_breakpoint = k < 0
        if at_breakpoint:
            if record_vertex(s, r, b.T) != STATUS_DONE:
                return STATUS_FULL
            k = next_breakpoint(s, b, &sigma, &tnext, &t_err_next)
            if k < 0 or b.dirn * (b.t_end - tnext) <= 0.0:
                b.T = b.t_end
                return STATUS_DONE
        if n_pivots[0] >= max_pivots:
            return STATUS_PIVOT_CAP
        info = pivot(s, k, sigma, b.d)
        n_pivots[0] += 1
        if info != 0:
            return info
        if at_breakpoint:
            if tnext != b.T:
                b.t_err = t_err_next
            b.T = tnext


cdef int check_path_args(const double[:, ::1] Z, const double[::1] y, const double[::1] w,
                         const double[::1] xi, Py_ssize_t[::1] basis, signed char[::1] sign,
                         double tau, int direction, double[::1] out_tau,
                         double[:, ::1] out_theta, Py_ssize_t[:, ::1] out_basis,
                         double[:, ::1] out_sums, Py_ssize_t n_out) except -1:
    """The ValueError of `process_path` for inconsistent arguments."""
    cdef Py_ssize_t n = Z.shape[0], p = Z.shape[1], capacity = out_tau.shape[0], i, j, k
    if p < 1 or n < p:
        raise ValueError("Z must have at least one column and as many rows as columns")
    if y.shape[0] != n or w.shape[0] != n or sign.shape[0] != n or xi.shape[0] != n:
        raise ValueError("y, w, xi and sign must have one entry per row of Z")
    if basis.shape[0] != p:
        raise ValueError("basis must have one entry per column of Z")
    if (out_theta.shape[0] != capacity or out_basis.shape[0] != capacity
            or out_sums.shape[0] != capacity or out_theta.shape[1] != p
            or out_basis.shape[1] != p or out_sums.shape[1] != 2):
        raise ValueError("out_tau, out_theta, out_basis and out_sums must have matching shapes")
    if not (0 <= n_out <= capacity):
        raise ValueError("n_out must lie in [0, capacity]")
    if not (0.0 <= tau <= 1.0):
        raise ValueError("tau must lie in [0, 1]")
    if direction != 1 and direction != -1:
        raise ValueError("direction must be +1 or -1")
    for i in range(n):
        if sign[i] != 1 and sign[i] != -1 and sign[i] != 0:
            raise ValueError("sign must hold 0 (basic rows) or +-1")
        if not w[i] > 0.0:
            raise ValueError("w must be positive")
    k = 0
    for i in range(n):
        k += sign[i] == 0
    if k != p:
        raise ValueError("sign must be 0 exactly on the rows of basis")
    for k in range(p):
        if basis[k] < 0 or basis[k] >= n or sign[basis[k]] != 0:
            raise ValueError("basis must hold distinct row indices with sign 0")
    for k in range(p):
        for j in range(k):
            if basis[j] == basis[k]:
                raise ValueError("basis must hold distinct row indices with sign 0")
    return 0


cdef void path_sums(Path* s) noexcept nogil:
    """The sums over all rows (a, |a|), the row norms and the keys' rounding margin."""
    cdef Py_ssize_t i, j, p = s.p
    cdef double wi
    for j in range(p):
        s.a_all[j] = 0.0
        s.gabs[j] = 0.0
    s.ynorm_max = 0.0
    for i in range(s.n):
        wi = s.w[i]
        s.znorm[i] = 0.0
        s.zn2[i] = 0.0
        for j in range(p):
            s.a_all[j] += wi * s.Z[i * p + j]
            s.gabs[j] += wi * fabs(s.Z[i * p + j])
            s.znorm[i] += fabs(s.Z[i * p + j])
            s.zn2[i] += s.Z[i * p + j] * s.Z[i * p + j]
        s.zn2[i] = sqrt(s.zn2[i])
        if s.zn2[i] > 0.0 and fabs(s.y[i]) / s.zn2[i] > s.ynorm_max:
            s.ynorm_max = fabs(s.y[i]) / s.zn2[i]


cdef double* path_alloc(Path* s, Bounds* b, Py_ssize_t n, Py_ssize_t p) except NULL:
    """Point the arrays of ``s`` and ``b`` into one buffer (returned, to free)
    and allocate the pivots and candidates."""
    cdef double* buf = <double*>malloc((p * p * 2 + 13 * p + 2 * n + 4) * sizeof(double))
    s.cand = <Keyed*>malloc(n * sizeof(Keyed))
    s.ipiv = <blas_int*>malloc(p * sizeof(blas_int))
    if buf == NULL or s.ipiv == NULL or s.cand == NULL:
        free(buf)
        free(s.ipiv)
        free(s.cand)
        raise MemoryError()
    s.M = buf
    s.Binv = buf + p * p
    s.theta = s.Binv + p * p
    s.cneg = s.theta + p
    s.a_all = s.cneg + p
    s.gabs = s.a_all + p
    s.theta_ref = s.gabs + p
    b.v0 = s.theta_ref + p
    b.v1 = b.v0 + p
    b.tolv = b.v1 + p
    b.d = b.tolv + p
    s.theta_err = b.d + p
    s.col = s.theta_err + p
    s.eta = s.col + p
    s.znorm = s.eta + p
    s.zn2 = s.znorm + n
    s.alpha = s.zn2 + n
    return buf


def process_path(const double[:, ::1] Z,          # IN  (n_samples, n_features)
                 const double[::1] y,             # IN  (n_samples,)
                 const double[::1] w,             # IN  (n_samples,) weights > 0
                 const double[::1] xi,            # IN  (n_samples,) perturbation of y
                 Py_ssize_t[::1] basis,           # IN/OUT (n_features,) basis at tau
                 signed char[::1] sign,           # IN/OUT (n_samples,) 0 basic, +-1 side
                 double tau,                      # IN  start (in [0, 1])
                 int direction,                   # +1: towards tau = 1, -1: towards 0
                 Py_ssize_t max_pivots,
                 double[::1] out_tau,             # OUT (capacity,) where each basis starts
                 double[:, ::1] out_theta,        # OUT (capacity, n_features)
                 Py_ssize_t[:, ::1] out_basis,    # OUT (capacity, n_features)
                 double[:, ::1] out_sums,         # OUT (capacity, 2) S1, S2 of each piece
                 Py_ssize_t n_out,                # entries of out_* already filled
                 bint moved=True,                 # the vertex moved since the last record
                 Py_ssize_t n_candidates=-1):     # screening set size (-1: 4 sqrt(n) + 32)
    """Follow the regression-quantile process from ``tau`` in one direction.

    ``basis`` must be a full-rank set of rows and ``sign`` give the side of every other
    row at its vertex (for residuals that are zero to rounding: the sign of the residual
    of ``xi``, see the module comment); the basis need not be optimal at ``tau`` (simplex
    pivots at ``tau`` first make it so). Each basis that is optimal on a non-empty
    interval of tau beyond the current one is appended to the outputs: ``out_tau`` the end
    of that interval nearest the start (the breakpoint where the basis takes over),
    ``out_theta`` its vertex, ``out_basis`` its rows and ``out_sums`` ``(S1, S2)`` with
    which its objective is ``tau S1 - S2`` on the interval. A record at the same tau as
    the previous one replaces it; a basis at the same vertex as the previous record (only
    degenerate steps since) is not recorded: a piece is a vertex, not a basis. ``moved``
    says whether the vertex of ``basis`` differs from the last record's (pass back the
    returned value when resuming). ``n_candidates >= n`` turns the screening off (every
    ratio test is a full pass).

    Returns
    -------
    n_out : int
        Entries of the outputs filled.
    n_pivots : int
    status : int
        0 done (tau reached 1, or 0 with ``direction=-1``), 1 outputs full
        (call again with larger outputs and the returned ``tau``; ``basis``
        and ``sign`` hold the state), 2 ``max_pivots`` reached, 3 numerical
        failure (singular basis, no entering row).
    tau : float
        Where the path stopped.
    moved : bool
        Whether the current vertex differs from the last record's.
    first_moved : bool
        Whether the first record of this call is at another vertex than the
        one of the given ``basis`` (False: the same vertex).
    """
    cdef Py_ssize_t n = Z.shape[0], p = Z.shape[1], n_pivots = 0, k_target
    cdef int status = STATUS_DONE
    cdef Path s
    cdef Bounds b
    cdef Record r
    cdef double* buf

    check_path_args(Z, y, w, xi, basis, sign, tau, direction, out_tau, out_theta, out_basis,
                    out_sums, n_out)
    k_target = screen_size(n, n_candidates)
    buf = path_alloc(&s, &b, n, p)
    s.n = n
    s.p = p
    s.Z = &Z[0, 0]
    s.y = &y[0]
    s.w = &w[0]
    s.xi = &xi[0]
    s.basis = &basis[0]
    s.sign = &sign[0]
    b.T = tau
    b.t_err = 0.0
    b.dirn = 1.0 if direction > 0 else -1.0
    b.t_end = 1.0 if direction > 0 else 0.0
    r.capacity = out_tau.shape[0]
    r.n_out = n_out
    r.moved = moved
    r.first = n_out == 0
    r.first_moved = True
    if r.capacity > 0:
        r.tau = &out_tau[0]
        r.theta = &out_theta[0, 0]
        r.basis = &out_basis[0, 0]
        r.sums = &out_sums[0, 0]
        r.theta_row = out_theta.strides[0] // sizeof(double)
        r.basis_row = out_basis.strides[0] // sizeof(Py_ssize_t)
        r.sums_row = out_sums.strides[0] // sizeof(double)
    else:   # nothing can be recorded: STATUS_FULL at the first record
        r.tau = r.theta = r.sums = NULL
        r.basis = NULL

    with nogil:
        path_sums(&s)
        s.moved = False
        if factorize(&s) != 0:
            status = STATUS_NUMERICAL
        else:
            rebuild(&s, k_target)
            status = follow(&s, &b, &r, max_pivots, k_target, &n_pivots)
    free(buf)
    free(s.ipiv)
    free(s.cand)
    return r.n_out, n_pivots, status, b.T, bool(s.moved or r.moved), bool(r.first_moved)
