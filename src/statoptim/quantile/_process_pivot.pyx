# Pivots of the regression-quantile process (the path itself: _parametric.pyx).
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
# (|y_h| + |Z_h| |theta|); the rounding tolerances use |Z_h^{-1}|.
#
# The state (struct Path) is declared in _process_pivot.pxd.

from libc.float cimport DBL_EPSILON as DBL_EPS
from libc.math cimport fabs, sqrt, INFINITY

from statoptim._cy._blas cimport xgetrf, xgetrs
from statoptim.quantile._screening cimport keep_smallest

# refactorise the basis (LU) at least this often between product-form updates
cdef enum:
    REFACTOR_EVERY = 32


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
