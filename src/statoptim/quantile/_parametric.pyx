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
# Screening. The ratio r_j / z_j'd of row j is at least
# (|r_j| / ||z_j||) / ||d|| (Cauchy-Schwarz), and |r_j| / ||z_j|| moves by at
# most ||theta - theta_ref|| from its value at a reference vertex. The rows
# with the K ~ 4 sqrt(n) smallest keys |r_j(theta_ref)| / ||z_j|| are kept
# sorted; the ratio test scans them in that order and stops as soon as the
# bound exceeds the best ratio found, which is after a few dozen rows: a
# pivot costs O(K p) instead of a pass over the data. The reference is
# rebuilt (one pass, a quickselect and a sort of K keys) when the scan gets
# long or cannot exclude the rows outside the candidates (then that ratio
# test is a full pass). The objective sums and c are kept relative to the
# reference, refreshed at each rebuild, so nothing drifts.
#
# The basis. Z_h^{-1} is kept explicitly and updated at each pivot (one row of
# Z_h replaced: the product-form / Sherman-Morrison update, O(p^2)); theta,
# eta, the directions d (columns of Z_h^{-1}) and the duals (Z_h^{-T} times
# a vector) are products with it. It is refactorised (LU, O(p^3)) every
# REFACTOR_EVERY pivots, when the pivot element is small relative to its row,
# and whenever theta fails the residual check |y_h - Z_h theta| <= 16 eps
# (|y_h| + |Z_h| |theta|); the tolerances below use |Z_h^{-1}| as before.
# Before, every pivot refactorised: O(p^3) per pivot, most of the time at p = 20.
#
# Arrays are C-contiguous float64; the wrapper in `_process.py` validates,
# scales and allocates. Nothing here allocates in a loop or holds the GIL.

from libc.math cimport fabs, sqrt, INFINITY
from libc.stdlib cimport malloc, free, qsort

from statoptim._cy._blas cimport blas_int, xgetrf, xgetrs

# Status codes shared with _process.py
DEF STATUS_DONE = 0        # reached tau = 1 (direction +1) or tau = 0 (direction -1)
DEF STATUS_FULL = 1        # the output arrays are full: grow them and call again
DEF STATUS_PIVOT_CAP = 2   # max_pivots reached
DEF STATUS_NUMERICAL = 3   # singular basis or no row to enter (rounding)
# The same codes for Python (_process.py): code -> name.
PROCESS_STATUS = {STATUS_DONE: "done", STATUS_FULL: "full", STATUS_PIVOT_CAP: "pivot cap",
                  STATUS_NUMERICAL: "numerical"}

DEF DBL_EPS = 2.220446049250313e-16
# rebuild the reference at least this often (bounds the drift of c and the sums)
DEF MAX_SINCE_REBUILD = 1024
# refactorise the basis (LU) at least this often between product-form updates
DEF REFACTOR_EVERY = 32


cdef struct Keyed:
    double key
    Py_ssize_t row


cdef int compare_keyed(const void* a, const void* b) noexcept nogil:
    cdef double ka = (<const Keyed*>a).key, kb = (<const Keyed*>b).key
    if ka < kb:
        return -1
    if ka > kb:
        return 1
    return ((<const Keyed*>a).row > (<const Keyed*>b).row) - \
        ((<const Keyed*>a).row < (<const Keyed*>b).row)


cdef void select_smallest(Keyed* items, Py_ssize_t n, Py_ssize_t k) noexcept nogil:
    """Reorder ``items`` so that its first ``k`` entries are the ``k`` smallest
    keys (in any order): quickselect, median-of-three pivots, expected O(n)."""
    cdef Py_ssize_t lo = 0, hi = n - 1, i, j, mid
    cdef Keyed pivot, tmp
    if k <= 0 or k >= n:
        return
    while hi > lo:
        mid = lo + (hi - lo) // 2
        # median of three into items[mid]
        if compare_keyed(&items[mid], &items[lo]) < 0:
            tmp = items[mid]; items[mid] = items[lo]; items[lo] = tmp
        if compare_keyed(&items[hi], &items[lo]) < 0:
            tmp = items[hi]; items[hi] = items[lo]; items[lo] = tmp
        if compare_keyed(&items[hi], &items[mid]) < 0:
            tmp = items[hi]; items[hi] = items[mid]; items[mid] = tmp
        pivot = items[mid]
        i = lo
        j = hi
        while i <= j:
            while compare_keyed(&items[i], &pivot) < 0:
                i += 1
            while compare_keyed(&items[j], &pivot) > 0:
                j -= 1
            if i <= j:
                tmp = items[i]; items[i] = items[j]; items[j] = tmp
                i += 1
                j -= 1
        # [lo, j] <= pivot <= [i, hi]
        if k - 1 <= j:
            hi = j
        elif k - 1 >= i:
            lo = i
        else:
            return


cdef Py_ssize_t keep_smallest(Keyed* items, Py_ssize_t n, Py_ssize_t k,
                              double* key_cut) noexcept nogil:
    """Screen ``items`` to its ``k`` smallest keys, sorted, and return how many it kept.

    ``key_cut`` gets the (k+1)-th smallest key, which bounds every row left out
    (INFINITY when ``k >= n`` keeps them all).
    """
    cdef Py_ssize_t i, j = 0
    if k >= n:
        key_cut[0] = INFINITY
        k = n
    else:
        select_smallest(items, n, k + 1)
        for i in range(1, k + 1):
            if compare_keyed(&items[i], &items[j]) > 0:
                j = i
        key_cut[0] = items[j].key
        items[j], items[k] = items[k], items[j]
    qsort(items, k, sizeof(Keyed), compare_keyed)
    return k


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


cdef inline double resid_at(Path* s, Py_ssize_t i, const double* theta) noexcept nogil:
    cdef Py_ssize_t j
    cdef double r = s.y[i]
    cdef const double* zi = s.Z + i * s.p
    for j in range(s.p):
        r -= zi[j] * theta[j]
    return r


cdef int factorize(Path* s) noexcept nogil:
    """LU of Z_h', Z_h^{-1}, theta = Z_h^{-1} y_h and its rounding bound; returns LAPACK info."""
    cdef Py_ssize_t k, j, p = s.p
    cdef int info
    cdef double yk
    for k in range(p):
        for j in range(p):
            s.M[k * p + j] = s.Z[s.basis[k] * p + j]
    info = xgetrf(p, s.M, s.ipiv)
    if info != 0:
        return info
    for k in range(p):
        s.theta[k] = s.y[s.basis[k]]
    xgetrs(p, s.M, s.ipiv, s.theta, True)
    for k in range(p):
        s.eta[k] = s.xi[s.basis[k]]
    xgetrs(p, s.M, s.ipiv, s.eta, True)
    for j in range(p):
        s.theta_err[j] = fabs(s.theta[j])
    for k in range(p):   # column k of Z_h^{-1} (times |y_k| in the rounding bound)
        for j in range(p):
            s.col[j] = 1.0 if j == k else 0.0
        xgetrs(p, s.M, s.ipiv, s.col, True)
        yk = fabs(s.y[s.basis[k]])
        for j in range(p):
            s.Binv[j * p + k] = s.col[j]
            s.theta_err[j] += fabs(s.col[j]) * yk
    s.since_refactor = 0
    return 0


cdef int update_basis(Path* s, Py_ssize_t kpos) noexcept nogil:
    """Z_h^{-1} after row ``basis[kpos]`` (already replaced in ``basis``) changed:
    the product-form (Sherman-Morrison) update in O(p^2), then theta, eta and
    the rounding bound from it. A refactorisation instead every REFACTOR_EVERY
    pivots, when the pivot element is small, or when theta does not solve
    Z_h theta = y_h to rounding (the residual check). Returns LAPACK info."""
    cdef Py_ssize_t k, j, p = s.p, e = s.basis[kpos]
    cdef double piv, amax = 0.0, yk, r, tol
    cdef const double* ze = s.Z + e * p
    cdef const double* zk
    if s.since_refactor >= REFACTOR_EVERY:
        return factorize(s)
    for j in range(p):
        s.alpha[j] = 0.0
    for k in range(p):
        for j in range(p):
            s.alpha[j] += ze[k] * s.Binv[k * p + j]
    for j in range(p):
        if fabs(s.alpha[j]) > amax:
            amax = fabs(s.alpha[j])
    piv = s.alpha[kpos]
    if not (fabs(piv) > 1e-6 * amax):
        return factorize(s)
    for k in range(p):
        s.Binv[k * p + kpos] /= piv
    for k in range(p):
        for j in range(p):
            if j != kpos:
                s.Binv[k * p + j] -= s.alpha[j] * s.Binv[k * p + kpos]
    for j in range(p):
        s.theta[j] = 0.0
        s.eta[j] = 0.0
        s.theta_err[j] = 0.0
    for k in range(p):
        yk = s.y[s.basis[k]]
        for j in range(p):
            s.theta[j] += s.Binv[j * p + k] * yk
            s.eta[j] += s.Binv[j * p + k] * s.xi[s.basis[k]]
            s.theta_err[j] += fabs(s.Binv[j * p + k]) * fabs(yk)
    for j in range(p):
        s.theta_err[j] += fabs(s.theta[j])
    # residual check: the basic rows must be interpolated to rounding
    for k in range(p):
        zk = s.Z + s.basis[k] * p
        r = s.y[s.basis[k]]
        tol = fabs(r)
        for j in range(p):
            r -= zk[j] * s.theta[j]
            tol += fabs(zk[j] * s.theta[j])
        if fabs(r) > 16.0 * DBL_EPS * tol:
            return factorize(s)
    s.since_refactor += 1
    return 0


cdef void rebuild(Path* s, Py_ssize_t k_target) noexcept nogil:
    """Reference at the current theta: keys, candidates, c and the sums.

    At a vertex with many zero residuals every ratio test scans them all
    (lexicographic ties): the candidates then hold three times as many rows,
    so that those scans stay within them.
    """
    cdef Py_ssize_t i, j, p = s.p, n = s.n, n_zero = 0
    cdef double r, wi, s1 = 0.0, s2 = 0.0, tnorm = 0.0, zero_key
    for j in range(p):
        s.theta_ref[j] = s.theta[j]
        s.cneg[j] = 0.0
        tnorm += s.theta[j] * s.theta[j]
    zero_key = 64.0 * DBL_EPS * (s.ynorm_max + sqrt(tnorm))
    for i in range(n):
        r = resid_at(s, i, s.theta)
        wi = s.w[i]
        s1 += wi * r
        if s.sign[i] < 0:
            s2 += wi * r
            for j in range(p):
                s.cneg[j] += wi * s.Z[i * p + j]
        s.cand[i].row = i
        s.cand[i].key = fabs(r) / s.zn2[i] if s.zn2[i] > 0.0 else INFINITY
        n_zero += s.cand[i].key <= zero_key
    if 3 * n_zero + 32 > k_target:
        k_target = 3 * n_zero + 32
    s.n_zero = n_zero
    s.s1_ref = s1
    s.s2_ref = s2
    s.n_cand = keep_smallest(s.cand, n, k_target, &s.key_cut)
    s.since_rebuild = 0
    s.want_rebuild = False


cdef inline void consider(Path* s, Py_ssize_t i, const double* d, double dinf,
                          double* best) noexcept nogil:
    """Ratio of row i along d, kept if it is the smallest lexicographically.

    ``best`` holds (ratio, tie, row). A residual within its rounding bound
    of zero (or of the wrong sign by rounding) has ratio 0: a degenerate
    step that stays at the vertex; ties go to the smallest ratio of the
    perturbation's residual, ``xi'_i / z_i'd``, then to the smallest row.
    """
    cdef Py_ssize_t j
    cdef double ri = s.y[i], ci = 0.0, t, tol_row, tol_r, tie
    cdef const double* zi = s.Z + i * s.p
    cdef signed char si = s.sign[i]
    if si == 0:
        return
    for j in range(s.p):
        ri -= zi[j] * s.theta[j]
        ci += zi[j] * d[j]
    tol_row = 64.0 * DBL_EPS * dinf * s.znorm[i]
    if (si > 0 and ci > tol_row) or (si < 0 and ci < -tol_row):
        tol_r = fabs(s.y[i])
        for j in range(s.p):
            tol_r += fabs(zi[j]) * s.theta_err[j]
        if fabs(ri) <= 64.0 * DBL_EPS * tol_r or (ri < 0.0) == (si > 0):
            t = 0.0
        else:
            t = ri / ci
        if t > best[0]:
            return
        tie = s.xi[i]
        for j in range(s.p):
            tie -= zi[j] * s.eta[j]
        tie /= ci
        if t < best[0] or tie < best[1] or (tie == best[1] and i < <Py_ssize_t>best[2]):
            best[0] = t
            best[1] = tie
            best[2] = <double>i


cdef Py_ssize_t ratio_test(Path* s, const double* d, double dinf, double* t_out) noexcept nogil:
    """Row of the first non-basic residual to reach zero along theta + t d
    (lexicographically, see `consider`); -1 if none does."""
    cdef Py_ssize_t i, j, p = s.p, n = s.n, scanned = 0
    cdef double best[3]
    cdef double delta = 0.0, dnorm = 0.0, tnorm = 0.0, rnorm = 0.0
    cdef double margin, bound
    for j in range(p):
        delta += (s.theta[j] - s.theta_ref[j]) ** 2
        dnorm += d[j] * d[j]
        tnorm += s.theta[j] * s.theta[j]
        rnorm += s.theta_ref[j] * s.theta_ref[j]
    delta = sqrt(delta)
    dnorm = sqrt(dnorm)
    # rounding of |r_i| / ||z_i|| at theta and at theta_ref, of delta and of ||d||
    margin = 64.0 * DBL_EPS * (s.ynorm_max + sqrt(tnorm) + sqrt(rnorm)) + 1e-12 * delta
    best[0] = INFINITY
    best[1] = INFINITY
    best[2] = -1.0
    for i in range(s.n_cand):
        bound = s.cand[i].key - delta - margin
        if bound > best[0] * dnorm * (1.0 + 1e-12):
            break
        consider(s, s.cand[i].row, d, dinf, best)
        scanned += 1
    else:
        if s.n_cand < n and s.key_cut - delta - margin <= best[0] * dnorm * (1.0 + 1e-12):
            # the rows outside the candidates may hold the minimum: full pass
            for i in range(n):
                consider(s, i, d, dinf, best)
            s.want_rebuild = True
    # a long scan beyond the zero residuals means the reference is stale
    if 2 * (scanned - s.n_zero) > s.n_cand - s.n_zero:
        s.want_rebuild = True
    t_out[0] = best[0]
    return <Py_ssize_t>best[2]


cdef int pivot(Path* s, Py_ssize_t kpos, double sigma, double* d) noexcept nogil:
    """Release basic row ``basis[kpos]`` to the side ``-sigma`` and let the
    first row whose residual reaches zero along ``d = Z_h^{-1}(sigma e_k)``
    enter. Returns 0, or STATUS_NUMERICAL."""
    cdef Py_ssize_t j, p = s.p, enter, leave
    cdef double dinf = 0.0, t
    for j in range(p):
        d[j] = 0.0
    for j in range(p):   # column kpos of Z_h^{-1}
        d[j] = sigma * s.Binv[j * p + kpos]
    for j in range(p):
        if fabs(d[j]) > dinf:
            dinf = fabs(d[j])
    enter = ratio_test(s, d, dinf, &t)
    if enter < 0:
        return STATUS_NUMERICAL
    if t > 0.0:
        s.moved = True
    leave = s.basis[kpos]
    if s.sign[enter] < 0:
        for j in range(p):
            s.cneg[j] -= s.w[enter] * s.Z[enter * p + j]
        s.s2_ref -= s.w[enter] * resid_at(s, enter, s.theta_ref)
    if sigma > 0.0:   # the leaving row's residual becomes -sigma t < 0
        for j in range(p):
            s.cneg[j] += s.w[leave] * s.Z[leave * p + j]
        s.s2_ref += s.w[leave] * resid_at(s, leave, s.theta_ref)
        s.sign[leave] = -1
    else:
        s.sign[leave] = 1
    s.sign[enter] = 0
    s.basis[kpos] = enter
    if update_basis(s, kpos) != 0:
        return STATUS_NUMERICAL
    s.since_rebuild += 1
    return 0


cdef void objective_sums(Path* s, double* sums) noexcept nogil:
    """S1 = sum w_i r_i, S2 = sum_{s_i < 0} w_i r_i at theta (objective tau S1 - S2)."""
    cdef Py_ssize_t j
    cdef double s1 = s.s1_ref, s2 = s.s2_ref, dt
    for j in range(s.p):
        dt = s.theta[j] - s.theta_ref[j]
        s1 -= s.a_all[j] * dt
        s2 -= s.cneg[j] * dt
    sums[0] = s1
    sums[1] = s2


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
    cdef Py_ssize_t n = Z.shape[0], p = Z.shape[1], capacity = out_tau.shape[0]
    cdef Py_ssize_t i, j, k, kk, slot = -1, n_pivots = 0, kbest, k_target
    cdef double T = tau, dirn = 1.0 if direction > 0 else -1.0
    cdef double t_end = 1.0 if direction > 0 else 0.0
    cdef double beta, vT, fU, fL, tolk, wi, tstar, tnext = tau, dist, best, sigma, sbest
    cdef double t_err = 0.0, t_err_next = 0.0
    cdef int status = STATUS_DONE, info
    cdef bint done, first_moved = True, first = n_out == 0
    cdef Path s
    cdef double* buf
    cdef double* v0
    cdef double* v1
    cdef double* inv
    cdef double* tolv
    cdef double* d
    cdef double sums[2]

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
    if n_candidates < 0:
        k_target = 4 * <Py_ssize_t>sqrt(<double>n) + 32
    else:
        k_target = n_candidates
    if k_target > n:
        k_target = n

    buf = <double*>malloc((p * p * 2 + 13 * p + 2 * n + 4) * sizeof(double))
    s.cand = <Keyed*>malloc(n * sizeof(Keyed))
    s.ipiv = <blas_int*>malloc(p * sizeof(blas_int))
    if buf == NULL or s.ipiv == NULL or s.cand == NULL:
        free(buf)
        free(s.ipiv)
        free(s.cand)
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
    s.theta_ref = s.gabs + p
    v0 = s.theta_ref + p
    v1 = v0 + p
    tolv = v1 + p
    d = tolv + p
    s.theta_err = d + p
    s.col = s.theta_err + p
    s.eta = s.col + p
    s.xi = &xi[0]
    s.znorm = s.eta + p
    s.zn2 = s.znorm + n
    s.alpha = s.zn2 + n
    s.Binv = inv

    with nogil:
        for j in range(p):
            s.a_all[j] = 0.0
            s.gabs[j] = 0.0
        s.ynorm_max = 0.0
        for i in range(n):
            wi = w[i]
            s.znorm[i] = 0.0
            s.zn2[i] = 0.0
            for j in range(p):
                s.a_all[j] += wi * s.Z[i * p + j]
                s.gabs[j] += wi * fabs(s.Z[i * p + j])
                s.znorm[i] += fabs(s.Z[i * p + j])
                s.zn2[i] += s.Z[i * p + j] * s.Z[i * p + j]
            s.zn2[i] = sqrt(s.zn2[i])
            if s.zn2[i] > 0.0 and fabs(y[i]) / s.zn2[i] > s.ynorm_max:
                s.ynorm_max = fabs(y[i]) / s.zn2[i]
        s.moved = False
        if factorize(&s) != 0:
            status = STATUS_NUMERICAL
        else:
            rebuild(&s, k_target)
        while status == STATUS_DONE:
            if s.want_rebuild or s.since_rebuild >= MAX_SINCE_REBUILD:
                rebuild(&s, k_target)
            # --- duals: v1 = -Z_h^{-T} a, v0 = Z_h^{-T} c; a over non-basic rows
            for j in range(p):
                v1[j] = -s.a_all[j]
            for k in range(p):
                wi = w[basis[k]]
                for j in range(p):
                    v1[j] += wi * s.Z[basis[k] * p + j]
            # (inv is Z_h^{-1}, row-major: Z_h^{-T} x = inv' x)
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
                    s.col[j] += fabs(s.Z[basis[k] * p + j]) * (fabs(v0[k]) + fabs(v1[k]))
            for k in range(p):
                tolv[k] = 0.0
                tolk = 0.0
                for j in range(p):
                    tolv[k] += fabs(inv[j * p + k]) * s.gabs[j]
                    tolk += fabs(inv[j * p + k]) * s.col[j]
                # tolerance of the bounds at T: rounding of v, and of T itself
                # (t_err, the rounding of the breakpoint T was computed as)
                tolv[k] = 64.0 * DBL_EPS * (tolv[k] * (1.0 + T) + tolk + w[basis[k]]) \
                    + fabs(w[basis[k]] - v1[k]) * t_err
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
                tolk = tolv[k]
                # slopes within rounding of zero are zero: a tight bound that
                # stays tight (dual degeneracy) is not violated beyond T
                if fabs(beta) <= tolv[k]:
                    beta = 0.0
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
                info = pivot(&s, kk, sbest, d)
                n_pivots += 1
                if info != 0:
                    status = info
                    break
                continue
            # --- record the vertex, which takes over at T (unless it is the last one's)
            if n_out == 0 or s.moved or moved:
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
                objective_sums(&s, sums)
                out_sums[slot, 0] = sums[0]
                out_sums[slot, 1] = sums[1]
                if first:
                    first_moved = s.moved
                    first = False
                s.moved = False
                moved = False
            # --- the nearest bound that binds in the direction of travel
            # (bounds that still hold at the end of [0, 1] up to rounding do not bind)
            kbest = -1
            best = INFINITY
            tstar = T
            for k in range(p):
                i = basis[k]
                wi = w[i]
                beta = wi - v1[k]
                if fabs(beta) <= tolv[k]:
                    continue
                tolk = tolv[k] + 64.0 * DBL_EPS * tolv[k]
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
                    tnext = tstar if dist > 0.0 else T
                    t_err_next = tolk / fabs(beta)
            done = kbest < 0 or dirn * (t_end - tnext) <= 0.0
            if done:
                T = t_end
                break
            if n_pivots >= max_pivots:
                status = STATUS_PIVOT_CAP
                break
            info = pivot(&s, kbest, sbest, d)
            n_pivots += 1
            if info != 0:
                status = info
                break
            if tnext != T:
                t_err = t_err_next
            T = tnext
    free(buf)
    free(s.ipiv)
    free(s.cand)
    return n_out, n_pivots, status, T, bool(s.moved or moved), bool(first_moved)


# ==========================================================================
# Rank-inversion walk (summary(se="rank")): parametric programming in b
# ==========================================================================
#
# The restricted fit of y - b c on A (n x m, weights w, level q) as b moves
# in one direction, with the rank-score statistic T(b) = c'psi(b) / scale of
# its dual solution psi, until |T| reaches the cutoff. The kernel takes the
# same steps, with the same tests and tolerances, as the NumPy walk in
# `_inference.py` (`_Restricted.segment` / `.enter`, `_rank_bound`), which
# stays the reference and takes every step the kernel hands back.
#
# A step starts at b_at with rows R = h + C (m + 1 rows of zero residual at
# b_at: the basis of the last segment and the row crossing there). The
# candidate bases are the m-subsets of R in the order of
# itertools.combinations; candidate h' (row l of R left out) has duals
#     v_h' = -A_h'^{-T} (g0 + psi_l a_l),  g0 = sum_{i not in R} psi_i a_i,
# psi_i = w_i (q - 1{r_i < 0}) at b_at+ and psi_l from the side row l moves
# to. The first candidate whose duals lie in their boxes with a clear margin
# is taken (the one optimal basis when the vertex is not degenerate). On the
# segment of basis h the residuals are r_i(b) = u_i - b v_i, u = y - A sol0,
# v = c - A sol1 (sol = A_h^{-1} (y_h, c_h)); the next crossing is the
# smallest u_i / v_i ahead. g0 and T are updated by the two rows that swap
# sides (the crossing row joins R, the leaving row leaves it) and recomputed
# every RANK_REFRESH steps.
#
# Screening, as for the process above, in zeta = (b, theta) with rows
# z_i = (c_i, a_i): |r_i(zeta)| / ||z_i|| moves by at most
# ||zeta - zeta_ref|| from its key at a reference vertex, and |v_i| <=
# ||z_i|| ||(1, sol1)||, so a row whose key exceeds
#     ||zeta_at - zeta_ref|| + ||(1, sol1)|| |b_next - b_at| (+ rounding)
# neither crosses before b_next nor has a residual zero to rounding there.
# The rows with the K ~ 4 sqrt(n) smallest keys are kept sorted and a step
# looks at them in that order until the bound stops it: O(K m) per step
# instead of O(n m). The reference is rebuilt (a pass, a quickselect and a
# sort of K keys) when a scan gets long or has to be a full pass.
#
# The kernel stops and hands the step back (status RANK_HAND_BACK, with R
# and b_at) whenever the NumPy walk would take a path it does not: several
# rows crossing together (ties), a residual zero to rounding outside R
# (rows whose residual stays zero need the small LP of the free duals), a
# candidate with such a row, or no candidate with a clear margin.

DEF RANK_BOUND = 0       # |T| reached the cutoff: interpolate
DEF RANK_INFINITE = 1    # no further crossing: the bound is infinite
DEF RANK_HAND_BACK = 2   # the next step needs the NumPy walk
DEF RANK_STEP_CAP = 3    # max_steps reached
# The walk's codes for Python (_inference.py).
WALK_BOUND = RANK_BOUND
WALK_INFINITE = RANK_INFINITE
DEF RANK_REFRESH = 64    # recompute g0 and T from scratch this often


cdef int compare_index(const void* a, const void* b) noexcept nogil:
    cdef Py_ssize_t ia = (<const Py_ssize_t*>a)[0], ib = (<const Py_ssize_t*>b)[0]
    return (ia > ib) - (ia < ib)


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
    # screening
    Keyed* cand
    Py_ssize_t n_cand
    double key_cut
    double* zeta_ref       # (m + 1,) (b, theta) at the reference
    double ynorm_max       # max_i |y_i| / ||z_i||
    bint want_rebuild


cdef int load_basis(Walk* s, const Py_ssize_t* h) noexcept nogil:
    """LU and inverse of A_h, sol0, sol1; 1 if singular or ill conditioned
    (the NumPy walk's test: ||A_h||_1 ||A_h^{-1}||_1 < 1e12)."""
    cdef Py_ssize_t k, j, m = s.m
    cdef double norm_a = 0.0, norm_i = 0.0, col
    for k in range(m):       # M = A_h in Fortran order: M[k + j m] = A[h_k, j]
        for j in range(m):
            s.M[k + j * m] = s.A[h[k] * m + j]
    for j in range(m):
        col = 0.0
        for k in range(m):
            col += fabs(s.M[k + j * m])
        if col > norm_a:
            norm_a = col
    if xgetrf(m, s.M, s.ipiv) != 0:
        return 1
    for j in range(m):
        for k in range(m):
            s.inv[k + j * m] = 1.0 if k == j else 0.0
        xgetrs(m, s.M, s.ipiv, &s.inv[j * m], False)
        col = 0.0
        for k in range(m):
            col += fabs(s.inv[k + j * m])
        if col > norm_i:
            norm_i = col
    if not (norm_a * norm_i < 1e12):
        return 1
    for k in range(m):
        s.sol0[k] = 0.0
        s.sol1[k] = 0.0
    for j in range(m):
        for k in range(m):
            s.sol0[k] += s.inv[k + j * m] * s.y[h[j]]
            s.sol1[k] += s.inv[k + j * m] * s.c[h[j]]
    return 0


cdef inline double max_abs(const double* x, Py_ssize_t m) noexcept nogil:
    cdef Py_ssize_t k
    cdef double out = 0.0
    for k in range(m):
        if fabs(x[k]) > out:
            out = fabs(x[k])
    return out


cdef inline void uv(Walk* s, Py_ssize_t i, double* ui, double* vi) noexcept nogil:
    """u_i = y_i - a_i'sol0 and v_i = c_i - a_i'sol1 for the loaded basis."""
    cdef Py_ssize_t k
    cdef const double* ai = s.A + i * s.m
    cdef double uu = s.y[i], vv = s.c[i]
    for k in range(s.m):
        uu -= ai[k] * s.sol0[k]
        vv -= ai[k] * s.sol1[k]
    ui[0] = uu
    vi[0] = vv


cdef int outside_sums(Walk* s, double b, double* g0, double* gc) noexcept nogil:
    """g0 = sum psi_i a_i and gc = sum psi_i c_i over the rows outside R (mark 0)
    at b+ on the segment of the loaded basis; 1 if one of them has a residual
    zero to rounding there."""
    cdef Py_ssize_t i, k, m = s.m
    cdef double r, psi, q = s.q, ui, vi, m0 = max_abs(s.sol0, m), m1 = max_abs(s.sol1, m)
    cdef const double* ai
    for k in range(m):
        g0[k] = 0.0
    gc[0] = 0.0
    for i in range(s.n):
        if s.mark[i]:
            continue
        uv(s, i, &ui, &vi)
        r = ui - b * vi
        if fabs(r) <= 64.0 * DBL_EPS * (fabs(s.y[i]) + s.absA[i] * m0 + fabs(b) * (
                fabs(s.c[i]) + s.absA[i] * m1)):
            return 1
        psi = s.w[i] * (q - 1.0 if r < 0.0 else q)
        ai = s.A + i * m
        for k in range(m):
            g0[k] += psi * ai[k]
        gc[0] += psi * s.c[i]
    return 0


cdef void rank_rebuild(Walk* s, double b, Py_ssize_t k_target) noexcept nogil:
    """Reference at (b, theta(b)) of the loaded basis: keys and candidates."""
    cdef Py_ssize_t i, j, n = s.n, m = s.m
    cdef double ui, vi
    s.zeta_ref[0] = b
    for j in range(m):
        s.zeta_ref[j + 1] = s.sol0[j] - b * s.sol1[j]
    for i in range(n):
        uv(s, i, &ui, &vi)
        s.cand[i].row = i
        if s.zn[i] > 0.0:
            s.cand[i].key = fabs(ui - b * vi) / s.zn[i]
        else:
            s.cand[i].key = 0.0 if s.y[i] == 0.0 else INFINITY
    s.n_cand = keep_smallest(s.cand, n, k_target, &s.key_cut)
    s.want_rebuild = False


cdef inline void look_at(Walk* s, Py_ssize_t i, Py_ssize_t leave, double b_at, double dirn,
                         double m1, Py_ssize_t* n_seen, double* best_key,
                         Py_ssize_t* first) noexcept nogil:
    """u_i, v_i and the crossing point of row i (not a basic row)."""
    cdef double ui, vi, bc, key = INFINITY
    uv(s, i, &ui, &vi)
    s.u[i] = ui
    s.v[i] = vi
    if i != leave and fabs(vi) > 64.0 * DBL_EPS * (fabs(s.c[i]) + s.absA[i] * m1):
        bc = ui / vi
        if dirn * (bc - b_at) > 0.0:
            key = dirn * bc
            if key < best_key[0] or (key == best_key[0] and i < first[0]):
                best_key[0] = key
                first[0] = i
    s.bkey[i] = key
    s.seen[n_seen[0]] = i
    n_seen[0] += 1


def rank_walk(const double[:, ::1] A,       # IN  (n, m) the other columns
              const double[::1] c,           # IN  (n,) the tested column
              const double[::1] y,           # IN  (n,)
              const double[::1] w,           # IN  (n,) weights > 0
              double q,                      # IN  quantile level in (0, 1)
              Py_ssize_t[::1] rows,          # IN/OUT (n + 1,) basis (m) then crossing rows
              Py_ssize_t n_rows,             # IN  m + number of crossing rows
              double b_at,                   # IN  where the crossing rows cross
              double direction,              # IN  +1 or -1
              double prev_b,                 # IN  start of the last segment
              double prev_t,                 # IN  T on the last segment
              double cutoff,                 # IN  critical value of |T|
              double scale,                  # IN  T = c'psi / scale
              Py_ssize_t max_steps,
              Py_ssize_t n_candidates=-1):   # screening set size (-1: 4 sqrt(n) + 32)
    """Follow the rank-inversion walk from the end of a segment (see above).

    ``rows[:m]`` is the basis of the segment that ended at ``b_at`` and
    ``rows[m:n_rows]`` the rows crossing zero there (as `_rank_bound` holds
    them). ``n_candidates >= n`` turns the screening off. Returns
    ``(status, n_rows, b_at, prev_b, prev_t, t_here, n_steps)``: status 0
    (|T| = |t_here| >= cutoff on the segment from ``b_at``; the bound
    interpolates from ``(prev_b, prev_t)``), 1 (no crossing beyond
    ``prev_b``: infinite bound), 2 (the step from ``b_at`` with
    ``rows[:n_rows]`` needs the NumPy walk; ``prev_*`` updated) or 3
    (``max_steps`` taken; the same state as 2).
    """
    cdef Py_ssize_t n = A.shape[0], m = A.shape[1]
    cdef Py_ssize_t i, k, e, j, idx, steps = 0, best_e, nr = n_rows, k_target
    cdef Py_ssize_t leave = -1, first, n_seen
    cdef int status = RANK_HAND_BACK
    cdef bint need_np, stopped
    cdef double gc = 0.0, cl, vl, ul, psil = 0.0, margin, bm, tolk, lo_hi, clear, wmax
    cdef double t_here = 0.0, b_next, best_key, dirn = direction
    cdef double m0, m1, dnorm, delta, znorm_at, znorm_ref, zt, bound, dist, base, slack, amb
    cdef double* margins
    cdef Walk s
    cdef double* buf
    cdef Py_ssize_t* h
    cdef Py_ssize_t* cand_rows
    cdef double* g0

    if m < 1 or n < m + 1:
        raise ValueError("A must have at least one column and more rows than columns")
    if c.shape[0] != n or y.shape[0] != n or w.shape[0] != n or rows.shape[0] < n + 1:
        raise ValueError("c, y and w must have one entry per row of A, rows n + 1 entries")
    if not (m + 1 <= n_rows <= n):
        raise ValueError("n_rows must lie in [m + 1, n]")
    for k in range(n_rows):
        if rows[k] < 0 or rows[k] >= n:
            raise ValueError("rows must hold row indices of A")
    if direction != 1.0 and direction != -1.0:
        raise ValueError("direction must be +1 or -1")
    if not (0.0 < q < 1.0) or not (scale > 0.0) or not (cutoff > 0.0):
        raise ValueError("q must lie in (0, 1), scale and cutoff must be positive")
    for i in range(n):
        if not w[i] > 0.0:
            raise ValueError("w must be positive")
    k_target = 4 * <Py_ssize_t>sqrt(<double>n) + 32 if n_candidates < 0 else n_candidates
    if k_target > n:
        k_target = n

    buf = <double*>malloc((2 * m * m + 9 * m + 6 * n + 9) * sizeof(double))
    s.ipiv = <blas_int*>malloc(m * sizeof(blas_int))
    s.mark = <signed char*>malloc(n * sizeof(signed char))
    h = <Py_ssize_t*>malloc((2 * (m + 1) + n) * sizeof(Py_ssize_t))
    s.cand = <Keyed*>malloc(n * sizeof(Keyed))
    if buf == NULL or s.ipiv == NULL or s.mark == NULL or h == NULL or s.cand == NULL:
        free(buf)
        free(s.ipiv)
        free(s.mark)
        free(h)
        free(s.cand)
        raise MemoryError()
    cand_rows = h + (m + 1)
    s.seen = cand_rows + (m + 1)
    s.n = n
    s.m = m
    s.A = &A[0, 0]
    s.c = &c[0]
    s.y = &y[0]
    s.w = &w[0]
    s.q = q
    s.M = buf
    s.inv = s.M + m * m
    s.sol0 = s.inv + m * m
    s.sol1 = s.sol0 + m
    s.vh = s.sol1 + m
    s.g = s.vh + m
    s.wabsA = s.g + m
    g0 = s.wabsA + m
    s.zeta_ref = g0 + m
    s.u = s.zeta_ref + m + 1
    s.v = s.u + n
    s.bkey = s.v + n
    s.absA = s.bkey + n
    s.zn = s.absA + n
    margins = s.zn + n

    with nogil:
        s.ynorm_max = 0.0
        for k in range(m):
            s.wabsA[k] = 0.0
        for i in range(n):
            s.mark[i] = 0
            cl = 0.0
            vl = c[i] * c[i]
            for k in range(m):
                cl += fabs(s.A[i * m + k])
                vl += s.A[i * m + k] * s.A[i * m + k]
                s.wabsA[k] += s.w[i] * fabs(s.A[i * m + k])
            s.absA[i] = cl
            s.zn[i] = sqrt(vl)
            if s.zn[i] > 0.0 and fabs(y[i]) / s.zn[i] > s.ynorm_max:
                s.ynorm_max = fabs(y[i]) / s.zn[i]
        # the segment that ended at b_at: the sums outside R, the reference
        for k in range(m):
            h[k] = rows[k]
        if load_basis(&s, h) == 0:
            for k in range(nr):
                s.mark[rows[k]] = 1
            if nr == m + 1 and outside_sums(&s, b_at, g0, &gc) == 0:
                status = -1   # carry on
                rank_rebuild(&s, b_at, k_target)
        while status == -1:
            if steps >= max_steps:
                status = RANK_STEP_CAP
                break
            # --- the candidate bases: R without R[e], e = m, m - 1, ..., 0
            for k in range(m + 1):
                cand_rows[k] = rows[k]
            wmax = 0.0
            for k in range(m + 1):
                if s.w[cand_rows[k]] > wmax:
                    wmax = s.w[cand_rows[k]]
            clear = 1e-7 * wmax
            need_np = False
            best_e = -1
            bm = -INFINITY
            amb = 1e-10 * wmax
            for e in range(m, -1, -1):
                margins[e] = -INFINITY
                j = 0
                for k in range(m + 1):
                    if k != e:
                        h[j] = cand_rows[k]
                        j += 1
                leave = cand_rows[e]
                if load_basis(&s, h) != 0:
                    continue
                uv(&s, leave, &ul, &vl)
                tolk = 64.0 * DBL_EPS * (fabs(s.c[leave])
                                         + s.absA[leave] * max_abs(s.sol1, m))
                if fabs(vl) <= tolk and fabs(ul - b_at * vl) <= 64.0 * DBL_EPS * (
                        fabs(s.y[leave]) + s.absA[leave] * max_abs(s.sol0, m)) \
                        + fabs(b_at) * tolk:
                    need_np = True   # a residual that stays zero: free duals
                    continue
                psil = s.w[leave] * (q - 1.0 if -dirn * vl < 0.0 else q)
                for k in range(m):
                    s.g[k] = g0[k] + psil * s.A[leave * m + k]
                margin = INFINITY
                for k in range(m):
                    s.vh[k] = 0.0
                    tolk = 0.0
                    for j in range(m):
                        s.vh[k] -= s.inv[j + k * m] * s.g[j]
                        tolk += fabs(s.inv[j + k * m]) * s.wabsA[j]
                    if 256.0 * DBL_EPS * tolk > amb:
                        amb = 256.0 * DBL_EPS * tolk
                    tolk = 1e-9 * s.w[h[k]] + 64.0 * DBL_EPS * tolk
                    lo_hi = s.vh[k] - s.w[h[k]] * (q - 1.0)
                    if s.w[h[k]] * q - s.vh[k] < lo_hi:
                        lo_hi = s.w[h[k]] * q - s.vh[k]
                    if lo_hi + tolk < margin:
                        margin = lo_hi + tolk
                if margin < 0.0:
                    continue
                margins[e] = margin
                if margin > bm:
                    bm = margin
                    best_e = e
                if margin > clear:
                    break
            else:
                # no candidate with a clear margin: the NumPy walk takes the
                # largest margin; a runner-up within rounding of it (dual
                # degeneracy: both bases optimal) makes that choice a matter
                # of rounding, which only the NumPy walk can repeat
                if need_np or best_e < 0:
                    status = RANK_HAND_BACK
                    break
                for k in range(m + 1):
                    if k != best_e and margins[k] >= bm - amb:
                        status = RANK_HAND_BACK
                        break
                if status != -1:
                    break
            if best_e != e:   # load the chosen candidate again
                e = best_e
                j = 0
                for k in range(m + 1):
                    if k != e:
                        h[j] = cand_rows[k]
                        j += 1
                load_basis(&s, h)
                leave = cand_rows[e]
                uv(&s, leave, &ul, &vl)
                psil = s.w[leave] * (q - 1.0 if -dirn * vl < 0.0 else q)
                for k in range(m):
                    s.g[k] = g0[k] + psil * s.A[leave * m + k]
                for k in range(m):
                    s.vh[k] = 0.0
                    for j in range(m):
                        s.vh[k] -= s.inv[j + k * m] * s.g[j]
            # --- T on the segment from b_at
            cl = gc + s.c[leave] * psil
            for k in range(m):
                cl += s.c[h[k]] * s.vh[k]
            t_here = cl / scale
            steps += 1
            if fabs(t_here) >= cutoff:
                status = RANK_BOUND
                break
            prev_b = b_at
            prev_t = t_here
            # --- the segment: the next crossing, screened
            for k in range(m + 1):
                s.mark[cand_rows[k]] = 0
            for k in range(m):
                s.mark[h[k]] = 1
            if s.want_rebuild:
                rank_rebuild(&s, b_at, k_target)
            m0 = max_abs(s.sol0, m)
            m1 = max_abs(s.sol1, m)
            dnorm = 1.0
            delta = (b_at - s.zeta_ref[0]) ** 2
            znorm_at = b_at * b_at
            znorm_ref = s.zeta_ref[0] ** 2
            for k in range(m):
                dnorm += s.sol1[k] * s.sol1[k]
                cl = s.sol0[k] - b_at * s.sol1[k]
                delta += (cl - s.zeta_ref[k + 1]) ** 2
                znorm_at += cl * cl
                znorm_ref += s.zeta_ref[k + 1] ** 2
            dnorm = sqrt(dnorm)
            delta = sqrt(delta)
            # rounding of the keys and of delta; a residual zero to rounding
            # at b (relative to ||z_i||) is below zt + 64 eps |b| (1 + m1) sqrt(m + 1)
            base = delta + 64.0 * DBL_EPS * (s.ynorm_max + sqrt(znorm_at) + sqrt(znorm_ref)) \
                + 1e-12 * delta
            zt = 64.0 * DBL_EPS * (s.ynorm_max + sqrt(<double>(m + 1)) * (m0 + 1.0 + m1))
            best_key = INFINITY
            first = -1
            n_seen = 0
            stopped = False
            bound = INFINITY
            for idx in range(s.n_cand):
                i = s.cand[idx].row
                if first >= 0:
                    dist = dirn * (dirn * best_key - b_at)
                    slack = fabs(b_at) + dist
                    bound = base + zt * (1.0 + slack) + dnorm * (
                        dist * (1.0 + 1e-9) + 1e-9 * slack)
                    if s.cand[idx].key > bound:
                        stopped = True
                        break
                if s.mark[i]:
                    continue
                look_at(&s, i, leave, b_at, dirn, m1, &n_seen, &best_key, &first)
            if not stopped and s.n_cand < n and not (s.key_cut > bound):
                # the rows outside the candidates may matter: a full pass
                n_seen = 0
                best_key = INFINITY
                first = -1
                for i in range(n):
                    if not s.mark[i]:
                        look_at(&s, i, leave, b_at, dirn, m1, &n_seen, &best_key, &first)
                s.want_rebuild = True
            elif 2 * n_seen > s.n_cand:
                s.want_rebuild = True
            if first < 0:
                status = RANK_INFINITE
                break
            b_next = s.u[first] / s.v[first]
            # the rows crossing at b_next (to rounding); every other row must
            # have a residual clear of zero there
            for k in range(m):
                rows[k] = h[k]
            nr = m
            tolk = 1e-12 * (fabs(b_next) + fabs(b_next - b_at))
            for idx in range(n_seen):
                i = s.seen[idx]
                if s.bkey[i] < INFINITY and fabs(dirn * s.bkey[i] - b_next) <= tolk:
                    rows[nr] = i
                    nr += 1
                    s.mark[i] = 1
            if nr != m + 1:
                # ties: in increasing row order, as the NumPy walk lists them
                # (its search over the candidate bases depends on that order)
                qsort(&rows[m], nr - m, sizeof(Py_ssize_t), compare_index)
                status = RANK_HAND_BACK
                b_at = b_next
                break
            e = rows[m]   # the crossing row joins R; the leaving row leaves it
            for idx in range(n_seen):
                i = s.seen[idx]
                if not s.mark[i] and fabs(s.u[i] - b_next * s.v[i]) <= 64.0 * DBL_EPS * (
                        fabs(s.y[i]) + s.absA[i] * m0
                        + fabs(b_next) * (fabs(s.c[i]) + s.absA[i] * m1)):
                    status = RANK_HAND_BACK
                    break
            b_at = b_next
            if status != -1:
                break
            if steps % RANK_REFRESH == 0:
                if outside_sums(&s, b_at, g0, &gc) != 0:   # pragma: no cover - checked above
                    status = RANK_HAND_BACK
                    break
            else:
                # psi of the crossing row on the segment it ends: sign of v_e * direction
                cl = s.w[e] * (q - 1.0 if dirn * s.v[e] < 0.0 else q)
                for k in range(m):
                    g0[k] += psil * s.A[leave * m + k] - cl * s.A[e * m + k]
                gc += psil * s.c[leave] - cl * s.c[e]
    free(buf)
    free(s.ipiv)
    free(s.mark)
    free(h)
    free(s.cand)
    return status, nr, b_at, prev_b, prev_t, t_here, steps
