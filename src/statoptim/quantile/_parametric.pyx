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
# Dual degeneracy (bounds binding together) and primal degeneracy (zero
# non-basic residuals, zero-length steps) are handled lexicographically: a
# basis is recorded only when it is optimal on a non-empty interval beyond
# the current tau; otherwise the pivot is taken at the same tau with Bland's
# rule (smallest row index), which cannot cycle.
#
# Each pivot is one pass over the rows (residuals and z_j'd computed
# afresh, so nothing drifts) plus O(p^3) for the LU of the new basis.
# Arrays are C-contiguous float64; the wrapper in `_process.py` validates,
# scales and allocates. Nothing here allocates in a loop or holds the GIL.

from libc.math cimport fabs, INFINITY
from libc.stdlib cimport malloc, free

from statoptim._cy._blas cimport blas_int, xgetrf, xgetrs, xgemv_rows

# Status codes shared with _process.py
DEF STATUS_DONE = 0        # reached tau = 1 (direction +1) or tau = 0 (direction -1)
DEF STATUS_FULL = 1        # the output arrays are full: grow them and call again
DEF STATUS_PIVOT_CAP = 2   # max_pivots reached
DEF STATUS_NUMERICAL = 3   # singular basis or no row to enter (rounding)

DEF SMALL_P = 8
DEF DBL_EPS = 2.220446049250313e-16


cdef struct Path:
    Py_ssize_t n
    Py_ssize_t p
    const double* Z
    const double* y
    const double* w
    Py_ssize_t* basis
    signed char* sign
    double* theta
    double* M          # LU of Z_h' (Fortran order: column k is row basis[k])
    blas_int* ipiv
    double* cneg       # sum over non-basic rows with s < 0 of w z
    double* a_all      # sum over all rows of w z
    double* gabs       # sum over all rows of w |z|
    double* znorm      # (n,) sum_j |z_ij|
    double* rbuf       # (n,) scratch for p > SMALL_P
    double* cbuf       # (n,) scratch for p > SMALL_P


cdef int factorize(Path* s) noexcept nogil:
    """LU of Z_h' and theta = Z_h^{-1} y_h; returns LAPACK info."""
    cdef Py_ssize_t k, j, p = s.p
    cdef int info
    for k in range(p):
        for j in range(p):
            s.M[k * p + j] = s.Z[s.basis[k] * p + j]
    info = xgetrf(p, s.M, s.ipiv)
    if info != 0:
        return info
    for k in range(p):
        s.theta[k] = s.y[s.basis[k]]
    xgetrs(p, s.M, s.ipiv, s.theta, True)
    return 0


cdef void negative_sum(Path* s) noexcept nogil:
    """cneg = sum over non-basic rows with s_i < 0 of w_i z_i (one pass)."""
    cdef Py_ssize_t i, j, p = s.p
    cdef double wi
    for j in range(p):
        s.cneg[j] = 0.0
    for i in range(s.n):
        if s.sign[i] < 0:
            wi = s.w[i]
            for j in range(p):
                s.cneg[j] += wi * s.Z[i * p + j]


cdef Py_ssize_t ratio_test(Path* s, const double* d, double dinf, double* sums,
                           double* t_out) noexcept nogil:
    """Row of the first non-basic residual to reach zero along theta + t d.

    Also returns through ``sums`` the sums ``S1 = sum w_i r_i`` and
    ``S2 = sum_{s_i < 0} w_i r_i`` over the non-basic rows at the current
    theta (the objective at tau is ``tau S1 - S2``), and recomputes
    ``cneg`` (so that it does not drift over many pivots). Ties of the ratio go to
    the smallest row index. Returns -1 if no residual reaches zero.
    """
    cdef Py_ssize_t i, j, p = s.p, n = s.n, enter = -1
    cdef double ri, ci, t, tbest = INFINITY, s1 = 0.0, s2 = 0.0, tol_row
    cdef const double* zi
    cdef signed char si
    cdef double* cfresh = s.cneg
    for j in range(p):
        cfresh[j] = 0.0
    if p > SMALL_P:
        for i in range(n):
            s.rbuf[i] = s.y[i]
        xgemv_rows(n, p, -1.0, s.Z, s.theta, 1.0, s.rbuf)
        xgemv_rows(n, p, 1.0, s.Z, d, 0.0, s.cbuf)
    for i in range(n):
        si = s.sign[i]
        if si == 0:
            continue
        if p > SMALL_P:
            ri = s.rbuf[i]
            ci = s.cbuf[i]
        else:
            zi = s.Z + i * p
            ri = s.y[i]
            ci = 0.0
            for j in range(p):
                ri -= zi[j] * s.theta[j]
                ci += zi[j] * d[j]
        s1 += s.w[i] * ri
        if si < 0:
            s2 += s.w[i] * ri
            for j in range(p):
                cfresh[j] += s.w[i] * s.Z[i * p + j]
        tol_row = 64.0 * DBL_EPS * dinf * s.znorm[i]
        if (si > 0 and ci > tol_row) or (si < 0 and ci < -tol_row):
            t = ri / ci
            if t < 0.0:   # a residual of the right side up to rounding
                t = 0.0
            if t < tbest:
                tbest = t
                enter = i
    sums[0] = s1
    sums[1] = s2
    t_out[0] = tbest
    return enter


cdef int pivot(Path* s, Py_ssize_t kpos, double sigma, double* d, double* sums) noexcept nogil:
    """Release basic row ``basis[kpos]`` to the side ``-sigma`` and let the
    first row whose residual reaches zero along ``d = Z_h^{-1}(sigma e_k)``
    enter. Returns 0, or STATUS_NUMERICAL."""
    cdef Py_ssize_t j, p = s.p, enter, leave
    cdef double dinf = 0.0, t
    for j in range(p):
        d[j] = 0.0
    d[kpos] = sigma
    xgetrs(p, s.M, s.ipiv, d, True)
    for j in range(p):
        if fabs(d[j]) > dinf:
            dinf = fabs(d[j])
    enter = ratio_test(s, d, dinf, sums, &t)
    if enter < 0:
        return STATUS_NUMERICAL
    leave = s.basis[kpos]
    if s.sign[enter] < 0:
        for j in range(p):
            s.cneg[j] -= s.w[enter] * s.Z[enter * p + j]
    if sigma > 0.0:   # the leaving row's residual becomes -sigma t < 0
        for j in range(p):
            s.cneg[j] += s.w[leave] * s.Z[leave * p + j]
        s.sign[leave] = -1
    else:
        s.sign[leave] = 1
    s.sign[enter] = 0
    s.basis[kpos] = enter
    if factorize(s) != 0:
        return STATUS_NUMERICAL
    return 0


def process_path(const double[:, ::1] Z,          # IN  (n_samples, n_features)
                 const double[::1] y,             # IN  (n_samples,)
                 const double[::1] w,             # IN  (n_samples,) weights > 0
                 Py_ssize_t[::1] basis,           # IN/OUT (n_features,) optimal basis at tau
                 signed char[::1] sign,           # IN/OUT (n_samples,) 0 basic, +-1 side
                 double tau,                      # IN  start (in [0, 1])
                 int direction,                   # +1: towards tau = 1, -1: towards 0
                 Py_ssize_t max_pivots,
                 double[::1] out_tau,             # OUT (capacity,) where each basis starts
                 double[:, ::1] out_theta,        # OUT (capacity, n_features)
                 Py_ssize_t[:, ::1] out_basis,    # OUT (capacity, n_features)
                 double[:, ::1] out_sums,         # OUT (capacity, 2) S1, S2 of each piece
                 Py_ssize_t n_out):               # entries of out_* already filled
    """Follow the regression-quantile process from ``tau`` in one direction.

    ``basis`` must be a full-rank set of rows and ``sign`` give the side of
    every other row at its vertex; the basis need not be optimal at ``tau``
    (simplex pivots at ``tau`` first make it so). Each basis that is optimal
    on a non-empty interval of tau beyond the current one is appended to the
    outputs: ``out_tau`` the end of that interval nearest the start (the
    breakpoint where the basis takes over), ``out_theta`` its vertex,
    ``out_basis`` its rows and ``out_sums`` ``(S1, S2)`` with which its
    objective is ``tau S1 - S2`` on the interval. A record at the same tau
    as the previous one replaces it.

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
    """
    cdef Py_ssize_t n = Z.shape[0], p = Z.shape[1], capacity = out_tau.shape[0]
    cdef Py_ssize_t i, j, k, kk, slot = -1, n_pivots = 0, kbest
    cdef double T = tau, dirn = 1.0 if direction > 0 else -1.0
    cdef double t_end = 1.0 if direction > 0 else 0.0
    cdef double beta, vT, fU, fL, tolk, wi, tstar, dist, best, sigma, sbest
    cdef int status = STATUS_DONE, info
    cdef bint done
    cdef Path s
    cdef double* buf
    cdef double* v0
    cdef double* v1
    cdef double* inv
    cdef double* tolv
    cdef double* d
    cdef double* a
    cdef double sums[2]

    if p < 1 or n < p:
        raise ValueError("Z must have at least one column and as many rows as columns")
    if y.shape[0] != n or w.shape[0] != n or sign.shape[0] != n:
        raise ValueError("y, w and sign must have one entry per row of Z")
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

    buf = <double*>malloc((p * p * 2 + 8 * p + 3 * n + 4) * sizeof(double))
    s.ipiv = <blas_int*>malloc(p * sizeof(blas_int))
    if buf == NULL or s.ipiv == NULL:
        free(buf)
        free(s.ipiv)
        raise MemoryError()
    s.n = n
    s.p = p
    s.Z = &Z[0, 0]
    s.y = &y[0]
    s.w = &w[0]
    s.basis = &basis[0]
    s.sign = &sign[0]
    s.M = buf
    inv = buf + p * p
    s.theta = inv + p * p
    s.cneg = s.theta + p
    s.a_all = s.cneg + p
    s.gabs = s.a_all + p
    v0 = s.gabs + p
    v1 = v0 + p
    tolv = v1 + p
    d = tolv + p
    s.znorm = d + p
    s.rbuf = s.znorm + n
    s.cbuf = s.rbuf + n
    a = inv   # reused: a is consumed before inv is filled

    with nogil:
        for j in range(p):
            s.a_all[j] = 0.0
            s.gabs[j] = 0.0
        for i in range(n):
            wi = w[i]
            s.znorm[i] = 0.0
            for j in range(p):
                s.a_all[j] += wi * s.Z[i * p + j]
                s.gabs[j] += wi * fabs(s.Z[i * p + j])
                s.znorm[i] += fabs(s.Z[i * p + j])
        negative_sum(&s)
        if factorize(&s) != 0:
            status = STATUS_NUMERICAL
        while status == STATUS_DONE:
            # --- duals: v1 = -Z_h^{-T} a, v0 = Z_h^{-T} c; a over non-basic rows
            for j in range(p):
                v1[j] = -s.a_all[j]
            for k in range(p):
                wi = w[basis[k]]
                for j in range(p):
                    v1[j] += wi * s.Z[basis[k] * p + j]
            xgetrs(p, s.M, s.ipiv, v1, False)
            for j in range(p):
                v0[j] = s.cneg[j]
            xgetrs(p, s.M, s.ipiv, v0, False)
            # rounding bound of v: |Z_h^{-T}| sum_i w_i |z_i|
            for k in range(p):
                for j in range(p):
                    inv[k * p + j] = 1.0 if k == j else 0.0
                xgetrs(p, s.M, s.ipiv, &inv[k * p], False)
            for k in range(p):
                tolv[k] = 0.0
            for j in range(p):
                for k in range(p):
                    tolv[k] += fabs(inv[j * p + k]) * s.gabs[j]
            # --- is the basis optimal just beyond T (lexicographically)?
            kk = -1
            sbest = 0.0
            for k in range(p):
                i = basis[k]
                wi = w[i]
                beta = wi - v1[k]
                vT = v0[k] + T * v1[k]
                fU = wi * T - vT          # slope beta
                fL = vT - wi * (T - 1.0)  # slope -beta
                tolk = 64.0 * DBL_EPS * (tolv[k] * (1.0 + T) + wi)
                sigma = 0.0
                if fU < -tolk or (fU <= tolk and dirn * beta < 0.0):
                    sigma = -1.0
                elif fL < -tolk or (fL <= tolk and dirn * beta > 0.0):
                    sigma = 1.0
                if sigma != 0.0 and (kk < 0 or i < basis[kk]):
                    kk = k
                    sbest = sigma
            if kk >= 0:   # pivot at T (Bland's rule)
                if n_pivots >= max_pivots:
                    status = STATUS_PIVOT_CAP
                    break
                info = pivot(&s, kk, sbest, d, sums)
                n_pivots += 1
                if info != 0:
                    status = info
                    break
                continue
            # --- record the basis, which takes over at T
            if n_out > 0 and out_tau[n_out - 1] == T:
                slot = n_out - 1
            elif n_out == capacity:
                status = STATUS_FULL
                break
            else:
                slot = n_out
                n_out += 1
            out_tau[slot] = T
            for j in range(p):
                out_theta[slot, j] = s.theta[j]
                out_basis[slot, j] = basis[j]
            # --- the nearest bound that binds in the direction of travel
            # (bounds that still hold at the end of [0, 1] up to rounding do not bind)
            kbest = -1
            best = INFINITY
            tstar = T
            for k in range(p):
                i = basis[k]
                wi = w[i]
                beta = wi - v1[k]
                if beta == 0.0:
                    continue
                tolk = 64.0 * DBL_EPS * (tolv[k] * 2.0 + wi)
                if dirn * beta < 0.0:   # fU decreases: v reaches w tau
                    if beta * t_end - v0[k] >= -tolk:
                        continue
                    tstar = v0[k] / beta
                    sigma = -1.0
                else:                   # fL decreases: v reaches w (tau - 1)
                    if v0[k] + wi - beta * t_end >= -tolk:
                        continue
                    tstar = (v0[k] + wi) / beta
                    sigma = 1.0
                dist = dirn * (tstar - T)
                if dist < best or (dist == best and kbest >= 0 and i < basis[kbest]):
                    best = dist
                    kbest = k
                    sbest = sigma
            if kbest >= 0:
                tstar = T + dirn * best if best > 0.0 else T
            done = kbest < 0 or dirn * (t_end - tstar) <= 0.0
            if done or n_pivots >= max_pivots:
                # the objective sums of the last piece: one pass with d = 0
                for j in range(p):
                    d[j] = 0.0
                ratio_test(&s, d, 0.0, sums, &best)
                out_sums[slot, 0] = sums[0]
                out_sums[slot, 1] = sums[1]
                if done:
                    T = t_end
                else:
                    status = STATUS_PIVOT_CAP
                break
            info = pivot(&s, kbest, sbest, d, sums)
            n_pivots += 1
            out_sums[slot, 0] = sums[0]
            out_sums[slot, 1] = sums[1]
            if info != 0:
                status = info
                break
            T = tstar
    free(buf)
    free(s.ipiv)
    return n_out, n_pivots, status, T
