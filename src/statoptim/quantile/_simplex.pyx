# The exact finish of weighted linear quantile regression.
#
# `simplex_finish` turns the MM point (_mm.pyx) into an exact solution of the
# linear program: basis from the rows with the smallest residuals
# (`choose_basis`), Koenker's optimality certificate, and Barrodale-Roberts
# pivots (a weighted-median line search along an edge of the polytope) until it
# holds (docs/quantile.rst, "Exact finish").
#
# Arrays are C-contiguous float64; Z includes the intercept column when there
# is one. The wrappers in `_direct.py` validate the input, allocate every
# output and scratch array, and turn the returned status into warnings.
# Nothing here allocates in a loop, holds the GIL in a loop or warns.

from libc.math cimport fabs, sqrt, INFINITY
from libc.stdlib cimport malloc, free

from statoptim._cy._blas cimport blas_int, xdot, xgetrf, xgetrs
from statoptim.quantile._lp cimport (
    DBL_EPS, STATUS_DEGENERATE, STATUS_NUMERICAL, STATUS_OK, STATUS_PIVOT_CAP, ZTX, ZX,
    check_loss, product, psi, residuals,
)

# For _direct.py: the meaning of the status of `simplex_finish`.
FINISH_STATUS = {STATUS_OK: "optimal", STATUS_PIVOT_CAP: "pivot cap",
                 STATUS_NUMERICAL: "numerical", STATUS_DEGENERATE: "degenerate"}


cdef Py_ssize_t weighted_select(double* tval, double* aval, Py_ssize_t* idx,
                                Py_ssize_t m, double target) noexcept nogil:
    """Position (after partial reordering) of the breakpoint where the
    cumulative sum of `aval`, taken in increasing order of `tval`, first
    reaches `target`. Ties in `tval` are broken by the smallest `idx`
    (Bland's rule). Expected O(m) (quickselect with a three-way partition).
    Returns -1 if the total is below `target`.
    """
    cdef Py_ssize_t lo = 0, hi = m, i, lt, gt, best
    cdef double acc = 0.0, sum_lt, sum_eq, pivot, a, b, c
    cdef double td, ad
    cdef Py_ssize_t tmpi
    while lo < hi:
        # median of three as pivot
        a = tval[lo]
        b = tval[lo + (hi - lo) // 2]
        c = tval[hi - 1]
        if a > b:
            a, b = b, a
        if b > c:
            b = c
        pivot = a if a > b else b
        # three-way partition [lo, lt) < pivot, [lt, gt) == pivot, [gt, hi) > pivot
        lt = lo
        gt = hi
        i = lo
        while i < gt:
            if tval[i] < pivot:
                td = tval[i]; tval[i] = tval[lt]; tval[lt] = td
                ad = aval[i]; aval[i] = aval[lt]; aval[lt] = ad
                tmpi = idx[i]; idx[i] = idx[lt]; idx[lt] = tmpi
                lt += 1
                i += 1
            elif tval[i] > pivot:
                gt -= 1
                td = tval[i]; tval[i] = tval[gt]; tval[gt] = td
                ad = aval[i]; aval[i] = aval[gt]; aval[gt] = ad
                tmpi = idx[i]; idx[i] = idx[gt]; idx[gt] = tmpi
            else:
                i += 1
        sum_lt = 0.0
        for i in range(lo, lt):
            sum_lt += aval[i]
        if acc + sum_lt >= target and lt > lo:
            hi = lt
            continue
        acc += sum_lt
        sum_eq = 0.0
        for i in range(lt, gt):
            sum_eq += aval[i]
        if acc + sum_eq >= target:
            best = lt
            for i in range(lt + 1, gt):
                if idx[i] < idx[best]:
                    best = i
            return best
        acc += sum_eq
        lo = gt
    return -1


def choose_basis(const double[:, ::1] Z,         # IN  (n_samples, n_features)
                 const Py_ssize_t[::1] order,    # IN  candidate rows, best first
                 Py_ssize_t[::1] basis):         # OUT (n_features,)
    """Greedy full-rank basis: the first rows of `order` that are linearly
    independent (modified Gram-Schmidt twice, relative threshold 1e-9, on
    rows whose columns are scaled by their largest magnitude among the
    candidates, so that badly scaled columns are not mistaken for zero).

    Returns the number of rows found (n_features on success).
    """
    cdef Py_ssize_t n_features = Z.shape[1], n_found = 0, k, j, l, row
    cdef double nrm0, nrm, proj
    cdef double* Q
    cdef double* v
    cdef double* colmax
    if basis.shape[0] != n_features:
        raise ValueError("basis must have one entry per column of Z")
    for k in range(order.shape[0]):
        if order[k] < 0 or order[k] >= Z.shape[0]:
            raise ValueError("order must hold row indices of Z")
    Q = <double*>malloc((n_features * n_features + 2 * n_features) * sizeof(double))
    if Q == NULL:
        raise MemoryError()
    v = Q + n_features * n_features
    colmax = v + n_features
    with nogil:
        for j in range(n_features):
            colmax[j] = 0.0
        for k in range(order.shape[0]):
            for j in range(n_features):
                if fabs(Z[order[k], j]) > colmax[j]:
                    colmax[j] = fabs(Z[order[k], j])
        for j in range(n_features):
            if colmax[j] == 0.0:
                colmax[j] = 1.0
        for k in range(order.shape[0]):
            if n_found == n_features:
                break
            row = order[k]
            nrm0 = 0.0
            for j in range(n_features):
                v[j] = Z[row, j] / colmax[j]
                nrm0 += v[j] * v[j]
            nrm0 = sqrt(nrm0)
            if nrm0 == 0.0:
                continue
            for l in range(n_found):   # twice for stability
                proj = xdot(n_features, &Q[l * n_features], v)
                for j in range(n_features):
                    v[j] -= proj * Q[l * n_features + j]
            for l in range(n_found):
                proj = xdot(n_features, &Q[l * n_features], v)
                for j in range(n_features):
                    v[j] -= proj * Q[l * n_features + j]
            nrm = sqrt(xdot(n_features, v, v))
            if nrm <= 1e-9 * nrm0:
                continue
            for j in range(n_features):
                Q[n_found * n_features + j] = v[j] / nrm
            basis[n_found] = row
            n_found += 1
    free(Q)
    return n_found


cdef struct Vertex:
    # State of the simplex finish at one vertex; every pointer is borrowed.
    Py_ssize_t n_samples
    Py_ssize_t n_features
    const double* Z
    const double* y
    const double* w
    double q
    Py_ssize_t* basis
    signed char* in_basis
    double* theta
    double* r
    double* g        # sum_{i not in h} w_i psi(r_i) z_i
    double* M        # LU factors of Z_h' (Fortran order)
    blas_int* ipiv


cdef int factorize(Vertex* v) noexcept nogil:
    """LU of Z_h' into v.M; returns LAPACK info."""
    cdef Py_ssize_t k, j, p = v.n_features
    for k in range(p):
        for j in range(p):
            v.M[k * p + j] = v.Z[v.basis[k] * p + j]
    return xgetrf(p, v.M, v.ipiv)


cdef double refresh(Vertex* v, double* u) noexcept nogil:
    """Recompute theta = Z_h^{-1} y_h, r, g and the objective from the basis.

    `u` is scratch of n_samples. Returns the objective.
    """
    cdef Py_ssize_t i, k, p = v.n_features, n = v.n_samples
    cdef double obj = 0.0
    for k in range(p):
        v.theta[k] = v.y[v.basis[k]]
    xgetrs(p, v.M, v.ipiv, v.theta, True)
    residuals(n, p, v.Z, v.y, v.theta, v.r)
    for k in range(p):
        v.r[v.basis[k]] = 0.0
    for i in range(n):
        obj += v.w[i] * check_loss(v.r[i], v.q)
        u[i] = 0.0 if v.in_basis[i] else v.w[i] * psi(v.r[i], v.q)
    product(ZTX, n, p, v.Z, u, v.g)
    return obj


cdef struct Scratch:
    # Work arrays of the simplex finish; every pointer is borrowed.
    double* c        # (n) z_j'd along the edge, then scratch of `refresh`
    double* tval     # (n) breakpoints r_j / c_j
    double* aval     # (n) their weights w_j |c_j|
    double* znorm    # (n) sum_k |z_jk|, bounds the rounding of z_j'd
    Py_ssize_t* idx  # (n) the breakpoints' rows
    double* vbuf     # (p) certificate: Z_h' v = -g
    double* inv_abs  # (p * p) Z_h^-T (then used as |.|) for the rounding bound
    double* gabs     # (p) sum_i w_i |z_i|, bounds the rounding of g
    double* tolv     # (p) the certificate's tolerances
    double* dvec     # (p) edge direction
    double* best_theta  # (p)
    double yabs      # sum_i w_i |y_i|, scale of the objective's rounding


cdef struct SimplexResult:
    Py_ssize_t n_pivots
    int status
    double objective


cdef struct Edge:
    # The released basic row and the line search along its edge.
    Py_ssize_t kpos     # position in the basis of the released row
    double sigma        # direction: the released row's residual goes to -sigma t
    double slope        # the objective's slope at t = 0 along the edge (< 0)
    Py_ssize_t enter    # the entering row
    double tstar        # step length


cdef void rounding_bounds(Vertex* v, Scratch* s) noexcept nogil:
    """gabs = sum_i w_i |z_i| (rounding of g), znorm_i = sum_j |z_ij| (of z_i'd),
    yabs = sum_i w_i |y_i| (of the objective)."""
    cdef Py_ssize_t i, j, p = v.n_features
    cdef double cj
    for j in range(p):
        s.gabs[j] = 0.0
    s.yabs = 0.0
    for i in range(v.n_samples):
        s.yabs += v.w[i] * fabs(v.y[i])
        s.znorm[i] = 0.0
        for j in range(p):
            cj = fabs(v.Z[i * p + j])
            s.znorm[i] += cj
            s.gabs[j] += v.w[i] * cj


cdef Py_ssize_t price(Vertex* v, Scratch* s, bint bland) noexcept nogil:
    """Pricing: Koenker's certificate at the current basis.

    Solves ``Z_h' v = -g`` and returns the basis position of the basic row
    whose multiplier leaves ``[w_i (q - 1), w_i q]`` the most (the smallest
    row index under Bland's rule), or -1 if the certificate holds to the
    tolerance ``1e-10 w_i`` plus the propagated rounding of ``g``.
    """
    cdef Py_ssize_t i, j, k, p = v.n_features, kpos = -1
    cdef double lo_k, hi_k, viol, best_viol = 0.0, q = v.q
    for j in range(p):
        s.vbuf[j] = -v.g[j]
    xgetrs(p, v.M, v.ipiv, s.vbuf, False)
    for k in range(p):
        for j in range(p):
            s.inv_abs[k * p + j] = 1.0 if k == j else 0.0
        xgetrs(p, v.M, v.ipiv, &s.inv_abs[k * p], False)
    for k in range(p):
        s.tolv[k] = 0.0
    for j in range(p):
        for k in range(p):
            s.tolv[k] += fabs(s.inv_abs[j * p + k]) * s.gabs[j]
    for k in range(p):
        i = v.basis[k]
        lo_k = v.w[i] * (q - 1.0)
        hi_k = v.w[i] * q
        viol = lo_k - s.vbuf[k]
        if s.vbuf[k] - hi_k > viol:
            viol = s.vbuf[k] - hi_k
        if viol <= 1e-10 * v.w[i] + 64.0 * DBL_EPS * s.tolv[k]:
            continue
        if bland:
            if kpos < 0 or v.basis[k] < v.basis[kpos]:
                kpos = k
                best_viol = viol
        elif viol > best_viol:
            kpos = k
            best_viol = viol
    return kpos


cdef Py_ssize_t ratio_test(Vertex* v, Scratch* s, Edge* e) noexcept nogil:
    """Ratio test: the weighted-median line search along the released row's edge.

    Sets the direction ``d = Z_h^{-1} (sigma e_k)``, ``c = Z d`` and, over the
    breakpoints ``t = r_j / c_j > 0`` of the non-basic rows, the one where the
    objective's slope turns non-negative: ``e.enter`` and ``e.tstar``.
    Returns -1 when no breakpoint reaches it (rounding trouble), else 0.
    """
    cdef Py_ssize_t i, j, m = 0, sel, p = v.n_features
    cdef double dinf = 0.0, cj, rj, tol_row, toward, q = v.q
    i = v.basis[e.kpos]
    if s.vbuf[e.kpos] < v.w[i] * (q - 1.0):
        e.sigma = 1.0
        e.slope = s.vbuf[e.kpos] + v.w[i] * (1.0 - q)
    else:
        e.sigma = -1.0
        e.slope = -s.vbuf[e.kpos] + v.w[i] * q
    for j in range(p):
        s.dvec[j] = 0.0
    s.dvec[e.kpos] = e.sigma
    xgetrs(p, v.M, v.ipiv, s.dvec, True)
    for j in range(p):
        if fabs(s.dvec[j]) > dinf:
            dinf = fabs(s.dvec[j])
    product(ZX, v.n_samples, p, v.Z, s.dvec, s.c)
    # breakpoints: residual r_j - t c_j crosses zero at t = r_j / c_j > 0
    # (c_j beyond rounding, of r_j's sign). Written without branches: every
    # row is stored at position m, which advances only for a breakpoint.
    for j in range(v.n_samples):
        cj = s.c[j]
        rj = v.r[j]
        tol_row = 64.0 * DBL_EPS * dinf * s.znorm[j]
        toward = cj * (1.0 - 2.0 * (rj < 0.0))   # c_j with the sign of r_j
        s.tval[m] = rj / cj
        s.aval[m] = v.w[j] * fabs(cj)
        s.idx[m] = j
        m += (toward > tol_row) & (v.in_basis[j] == 0)
    sel = weighted_select(s.tval, s.aval, s.idx, m, -e.slope)
    if sel < 0:
        return -1
    e.enter = s.idx[sel]
    e.tstar = s.tval[sel]
    if e.tstar < 0.0:
        e.tstar = 0.0
    return 0


cdef double pivot_update(Vertex* v, Scratch* s, Edge* e) noexcept nogil:
    """Pivot: theta += t d, r -= t c, and the basis exchange.

    Rows whose sign class changes update g; the entering row leaves g, the
    released row joins it. Returns the objective at the new vertex.
    """
    cdef Py_ssize_t j, k, p = v.n_features, i = v.basis[e.kpos], enter = e.enter
    cdef double rj, rnew, delta, renter, objective = 0.0, q = v.q, tstar = e.tstar
    cdef double* c = s.c
    for j in range(p):
        v.theta[j] += tstar * s.dvec[j]
    renter = v.r[enter]
    for j in range(v.n_samples):
        rj = v.r[j]
        rnew = rj - tstar * c[j]
        if v.in_basis[j]:
            rnew = 0.0 if j != i else -e.sigma * tstar
        elif j == enter:
            rnew = 0.0
        elif (rj >= 0.0) != (rnew >= 0.0):
            delta = v.w[j] * (psi(rnew, q) - psi(rj, q))
            for k in range(p):
                v.g[k] += delta * v.Z[j * p + k]
        v.r[j] = rnew
        objective += v.w[j] * (rnew * (q - (rnew < 0.0)))  # check_loss without a branch
    delta = v.w[enter] * psi(renter, q)
    for k in range(p):
        v.g[k] += v.w[i] * psi(v.r[i], q) * v.Z[i * p + k] - delta * v.Z[enter * p + k]
    v.in_basis[i] = 0
    v.in_basis[enter] = 1
    v.basis[e.kpos] = enter
    return objective


cdef double best_vertex(Vertex* v, Scratch* s) noexcept nogil:
    """Back to the best vertex seen (theta, r); returns its objective."""
    cdef Py_ssize_t j, p = v.n_features
    cdef double objective = 0.0
    for j in range(p):
        v.theta[j] = s.best_theta[j]
    residuals(v.n_samples, p, v.Z, v.y, v.theta, v.r)
    for j in range(v.n_samples):
        objective += v.w[j] * check_loss(v.r[j], v.q)
    return objective


cdef SimplexResult simplex_loop(Vertex* v, Scratch* s, Py_ssize_t max_pivots,
                                bint stop_if_degenerate) noexcept nogil:
    """The pivots of `simplex_finish`: price, ratio test, pivot, refactorise.

    ``r`` and ``g`` are refreshed from the basis every 32 pivots and before
    optimality is declared; a degenerate pivot (no decrease beyond rounding)
    switches to Bland's rule, or stops with status 5 under
    ``stop_if_degenerate``; an uphill step beyond rounding stops at the best
    vertex seen.
    """
    cdef Py_ssize_t j, k, since_refresh = 0, p = v.n_features
    cdef SimplexResult res
    cdef Edge e
    cdef double best_obj = INFINITY
    cdef bint bland = False
    res.n_pivots = 0
    res.status = STATUS_OK
    res.objective = 0.0
    for j in range(p):
        s.best_theta[j] = v.theta[j]
    rounding_bounds(v, s)
    for k in range(p):
        v.in_basis[v.basis[k]] = 1
    if factorize(v) != 0:
        res.status = STATUS_NUMERICAL
    else:
        res.objective = refresh(v, s.c)
        best_obj = res.objective
        for j in range(p):
            s.best_theta[j] = v.theta[j]

    while res.status == STATUS_OK:
        e.kpos = price(v, s, bland)
        if e.kpos < 0:
            if since_refresh > 0:   # confirm on freshly computed r and g
                res.objective = refresh(v, s.c)
                since_refresh = 0
                continue
            break                   # certified optimal
        if res.n_pivots >= max_pivots:
            res.status = STATUS_PIVOT_CAP
            break
        if ratio_test(v, s, &e) < 0:
            res.status = STATUS_NUMERICAL
            break
        if e.tstar == 0.0 and stop_if_degenerate:
            res.status = STATUS_DEGENERATE
            break
        res.objective = pivot_update(v, s, &e)
        res.n_pivots += 1
        since_refresh += 1
        if factorize(v) != 0:
            res.status = STATUS_NUMERICAL
            break
        if res.objective >= best_obj - 64.0 * DBL_EPS * s.yabs:
            # degenerate pivot (no decrease beyond rounding)
            if stop_if_degenerate:
                res.status = STATUS_DEGENERATE
                break
            bland = True    # Bland's rule prevents cycling
        if since_refresh >= 32:
            res.objective = refresh(v, s.c)
            since_refresh = 0
        if res.objective < best_obj:
            best_obj = res.objective
            for j in range(p):
                s.best_theta[j] = v.theta[j]
        elif res.objective > best_obj * (1.0 + 1e-11) + 256.0 * DBL_EPS * s.yabs:
            res.status = STATUS_NUMERICAL   # rounding went uphill: stop at the best
            break

    if res.status == STATUS_DEGENERATE:
        if factorize(v) == 0:
            res.objective = refresh(v, s.c)
    elif res.status != STATUS_OK:
        res.objective = best_vertex(v, s)
    for k in range(p):
        v.in_basis[v.basis[k]] = 0
    return res


def simplex_finish(const double[:, ::1] Z,       # IN  (n_samples, n_features)
                   const double[::1] y,          # IN  (n_samples,)
                   const double[::1] w,          # IN  (n_samples,) weights > 0
                   double quantile,
                   Py_ssize_t[::1] basis,        # IN/OUT (n_features,) full-rank rows
                   double[::1] theta,            # OUT (n_features,)
                   Py_ssize_t max_pivots,
                   double[::1] resid,            # OUT (n_samples,)
                   double[::1] work_n,           # scratch (4 * n_samples,)
                   Py_ssize_t[::1] work_idx,     # scratch (n_samples,)
                   signed char[::1] in_basis,    # scratch (n_samples,) zeros on entry
                   bint stop_if_degenerate=False):
    """Exact finish by simplex pivots (Barrodale & Roberts 1973; Koenker 2005).

    From the vertex ``theta = Z_h^{-1} y_h`` of the basis ``h`` check Koenker's
    optimality certificate (2005, Thm 2.1, weighted): with
    ``psi(r) = q - I(r < 0)``, ``g = sum_{i not in h} w_i psi(r_i) z_i`` and
    ``Z_h' v = -g``, the vertex is optimal iff
    ``w_i (q - 1) <= v_i <= w_i q`` for every basic row (to a tolerance of
    ``1e-10 w_i`` plus the propagated rounding error of ``g``). Otherwise
    release the most violated basic row (Bland's rule after a degenerate
    pivot) and move along the edge ``d = Z_h^{-1} (sigma e_k)`` to the minimum
    of the convex piecewise-linear objective on it (weighted-median line
    search over the breakpoints ``r_j / (z_j'd)``, expected O(n)), where a
    non-basic row enters. ``r`` and ``g`` are updated incrementally (only rows
    whose residual changes sign touch ``g``) and recomputed from the basis
    every 32 pivots and before optimality is declared.

    At a degenerate vertex (a non-basic row with zero residual) the
    certificate, which takes ``psi(0) = q``, can fail for every basis of an
    optimal vertex; with ``stop_if_degenerate`` the kernel then returns
    status 5 at the first pivot of step length zero, and the wrapper
    continues on a slightly perturbed response (see ``_direct.py``).

    Returns
    -------
    n_pivots : int
    status : int
        0 optimal, 2 pivot cap reached, 3 numerical failure (singular basis
        or no descent), in which case the best vertex found is returned;
        5 degenerate pivot met with ``stop_if_degenerate``.
    objective : float
        sum_i w_i rho_q(y_i - z_i'theta) at the returned theta.
    """
    cdef Py_ssize_t n_samples = Z.shape[0], n_features = Z.shape[1]
    cdef Py_ssize_t p = n_features, k
    cdef Vertex v
    cdef Scratch s
    cdef double* buf
    cdef SimplexResult res

    if n_features < 1 or n_samples < n_features:
        raise ValueError("Z must have at least one column and as many rows as columns")
    if (y.shape[0] != n_samples or w.shape[0] != n_samples or resid.shape[0] != n_samples
            or in_basis.shape[0] != n_samples):
        raise ValueError("y, w, resid and in_basis must have one entry per row of Z")
    if theta.shape[0] != n_features or basis.shape[0] != n_features:
        raise ValueError("theta and basis must have one entry per column of Z")
    for k in range(n_features):
        if basis[k] < 0 or basis[k] >= n_samples or in_basis[basis[k]] != 0:
            raise ValueError("basis must hold distinct row indices of Z (in_basis zero)")
        in_basis[basis[k]] = 1
    for k in range(n_features):
        in_basis[basis[k]] = 0
    if work_n.shape[0] < 4 * n_samples or work_idx.shape[0] < n_samples:
        raise ValueError("work_n must hold 4 * n_samples values and work_idx n_samples")
    buf = <double*>malloc((2 * p * p + 7 * p) * sizeof(double))
    v.ipiv = <blas_int*>malloc(p * sizeof(blas_int))
    if buf == NULL or v.ipiv == NULL:
        free(buf)
        free(v.ipiv)
        raise MemoryError()
    v.M = buf
    s.inv_abs = buf + p * p
    s.vbuf = s.inv_abs + p * p
    s.gabs = s.vbuf + p
    s.tolv = s.gabs + p
    s.dvec = s.tolv + p
    s.best_theta = s.dvec + p
    v.g = s.best_theta + p
    s.c = &work_n[0]
    s.tval = &work_n[n_samples]
    s.aval = &work_n[2 * n_samples]
    s.znorm = &work_n[3 * n_samples]
    s.idx = &work_idx[0]
    v.n_samples = n_samples
    v.n_features = p
    v.Z = &Z[0, 0]
    v.y = &y[0]
    v.w = &w[0]
    v.q = quantile
    v.basis = &basis[0]
    v.in_basis = &in_basis[0]
    v.theta = &theta[0]
    v.r = &resid[0]
    with nogil:
        res = simplex_loop(&v, &s, max_pivots, stop_if_degenerate)
    free(buf)
    free(v.ipiv)
    return res.n_pivots, res.status, res.objective
