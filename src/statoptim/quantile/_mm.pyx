# Kernels of weighted linear quantile regression.
#
# Design
# ------
# `mm_quantile_fit` runs the majorise-minimise iteration of Hunter & Lange
# (2000) on the perturbed check loss
#     rho_e(r) = rho_q(r) - (e/2) ln(e + |r|),
# for a decreasing sequence of perturbations e (continuation), each stage
# warm-started from the previous one. An MM step is one weighted least-squares
# solve (docs/quantile.rst, "The MM iteration", increment form):
#     a_i = w_i / (e + |r_i|),
#     theta <- theta + (Z'AZ)^{-1} Z'(A r + (2q - 1) w).
# A monotone guard halves a step that would raise L_e = sum w_i rho_e(r_i)
# beyond rounding, and ends the stage if 30 halvings do not help.
#
# `simplex_finish` turns the MM point into an exact solution of the linear
# program: basis from the rows with the smallest residuals, Koenker's
# optimality certificate, and Barrodale-Roberts pivots (a weighted-median line
# search along an edge of the polytope) until it holds (docs/quantile.rst, "Exact finish").
#
# Arrays are C-contiguous float64; Z includes the intercept column when there
# is one. The wrappers in `_solver.py` validate the input, allocate every
# output and scratch array, and turn the returned status into warnings.
# Nothing here allocates in a loop, holds the GIL in a loop or warns.

from libc.math cimport fabs, log, sqrt, INFINITY
from libc.stdlib cimport malloc, free

from statoptim._cy._blas cimport (
    blas_int, xdot, xgemm_nn, xgemm_tn, xgemv_rows, xgemv_cols, xsyrk_gram, xpotrf_solve, xgetrf,
    xgetrs,
)

# Status codes shared with _solver.py
DEF STATUS_OK = 0
DEF STATUS_SINGULAR = 1
DEF STATUS_PIVOT_CAP = 2
DEF STATUS_NUMERICAL = 3
DEF STATUS_DEGENERATE = 5

# Below this many columns the Gram matrix is accumulated in the fused row loop;
# above it the rows are scaled into a buffer and BLAS dsyrk does the product.
DEF SMALL_P = 8
DEF MAX_HALVINGS = 30
DEF DBL_EPS = 2.220446049250313e-16


cdef inline double check_loss(double r, double q) noexcept nogil:
    """Check loss rho_q(r) = r (q - I(r < 0)), written without a branch.

    The same values as ``_mathutils.check_loss`` (``q - 0.0`` is ``q``), but
    the signs of residuals are random and a branch on them mispredicts half
    the time in the passes over the rows.
    """
    return r * (q - (r < 0.0))


cdef inline double perturbed_loss(double r, double q, double e) noexcept nogil:
    """rho_e(r) = rho_q(r) - (e / 2) ln(e + |r|)."""
    return check_loss(r, q) - 0.5 * e * log(e + fabs(r))


cdef double surrogate(Py_ssize_t n_samples, const double* r, const double* w,
                      double q, double e, double* scale) noexcept nogil:
    """L_e = sum_i w_i rho_e(r_i); `scale` receives sum_i w_i |rho_e(r_i)|-ish bound."""
    cdef Py_ssize_t i
    cdef double total = 0.0, mag = 0.0, lg, cl
    for i in range(n_samples):
        cl = check_loss(r[i], q)
        lg = 0.5 * e * log(e + fabs(r[i]))
        total += w[i] * (cl - lg)
        mag += w[i] * (cl + fabs(lg))
    scale[0] = mag
    return total


cdef void matvec_rows(Py_ssize_t n_samples, Py_ssize_t n_features, const double* Z,
                      const double* x, double* out) noexcept nogil:
    """out = Z x; a plain loop for few columns (BLAS call overhead dominates there)."""
    cdef Py_ssize_t i, j
    cdef double acc
    cdef const double* zi
    if n_features > SMALL_P:
        xgemv_rows(n_samples, n_features, 1.0, Z, x, 0.0, out)
        return
    for i in range(n_samples):
        zi = Z + i * n_features
        acc = 0.0
        for j in range(n_features):
            acc += zi[j] * x[j]
        out[i] = acc


cdef void matvec_cols(Py_ssize_t n_samples, Py_ssize_t n_features, const double* Z,
                      const double* x, double* out) noexcept nogil:
    """out = Z' x (n_features values)."""
    cdef Py_ssize_t i, j
    cdef double xi
    cdef const double* zi
    if n_features > SMALL_P:
        xgemv_cols(n_samples, n_features, 1.0, Z, x, 0.0, out)
        return
    for j in range(n_features):
        out[j] = 0.0
    for i in range(n_samples):
        zi = Z + i * n_features
        xi = x[i]
        for j in range(n_features):
            out[j] += zi[j] * xi


cdef void residuals(Py_ssize_t n_samples, Py_ssize_t n_features, const double* Z,
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


cdef int mm_step(Py_ssize_t n_samples, Py_ssize_t n_features, const double* Z,
                 const double* w, const double* r, double q, double e,
                 double* u, double* scaled, double* gram, double* step) noexcept nogil:
    """Solve (Z'AZ) step = Z'(A r + (2q - 1) w) with a_i = w_i / (e + |r_i|).

    `u` (n_samples) and `scaled` (n_samples * n_features, used when
    n_features > SMALL_P) are scratch; `gram` (n_features**2) is overwritten
    by the Cholesky factor. Returns the LAPACK info (0 on success).
    """
    cdef Py_ssize_t i, j, k
    cdef double a, sa, ui, zij
    cdef const double* zi
    cdef double lin = 2.0 * q - 1.0
    if n_features <= SMALL_P:
        for j in range(n_features * n_features):
            gram[j] = 0.0
        for j in range(n_features):
            step[j] = 0.0
        for i in range(n_samples):
            a = w[i] / (e + fabs(r[i]))
            ui = a * r[i] + lin * w[i]
            zi = Z + i * n_features
            for j in range(n_features):
                zij = zi[j]
                step[j] += zij * ui
                zij = a * zij
                # Fortran 'L' triangle of the C array: gram[j * n + k] for k >= j
                for k in range(j, n_features):
                    gram[j * n_features + k] += zij * zi[k]
    else:
        for i in range(n_samples):
            a = w[i] / (e + fabs(r[i]))
            u[i] = a * r[i] + lin * w[i]
            sa = sqrt(a)
            zi = Z + i * n_features
            for j in range(n_features):
                scaled[i * n_features + j] = sa * zi[j]
        xsyrk_gram(n_samples, n_features, scaled, 0.0, gram)
        xgemv_cols(n_samples, n_features, 1.0, Z, u, 0.0, step)
    return xpotrf_solve(n_features, gram, step)


def mm_quantile_fit(const double[:, ::1] Z,      # IN  (n_samples, n_features)
                    const double[::1] y,         # IN  (n_samples,)
                    const double[::1] w,         # IN  (n_samples,) weights > 0
                    double quantile,
                    double[::1] theta,           # IN/OUT (n_features,) start -> end
                    const double[::1] eps_stages,  # IN  decreasing perturbations
                    double tol,
                    Py_ssize_t max_iter,
                    double[::1] resid,           # OUT (n_samples,) y - Z theta at the end
                    double[::1] work_n,          # scratch (2 * n_samples,)
                    double[::1] work_np):        # scratch (n_samples * n_features,) or (0,)
    """Hunter-Lange MM with continuation in the perturbation and a monotone guard.

    For each ``e`` in ``eps_stages`` iterate the MM step of Hunter & Lange
    (2000, eq. 7, increment form) until the relative decrease of
    ``L_e = sum_i w_i rho_e(r_i)`` falls below ``tol`` or the total iteration
    count reaches ``max_iter``. A step that would raise ``L_e`` by more than
    a few ulps of ``sum_i w_i |rho_e(r_i)|`` is halved (up to 30 times); if no
    halving descends, the stage ends.

    Returns
    -------
    n_iter : int
        MM steps taken over all stages.
    status : int
        0 on success, 1 if a weighted Gram matrix was not positive definite.
    """
    cdef Py_ssize_t n_samples = Z.shape[0], n_features = Z.shape[1]
    cdef Py_ssize_t n_stages = eps_stages.shape[0], stage, it = 0, _h, j
    cdef double e, loss, loss_new, scale, scale_new, t
    cdef int info = 0, status = STATUS_OK
    cdef bint accepted
    cdef double* gram
    cdef double* step
    cdef double* theta_new
    cdef double* r = &resid[0]
    cdef double* r_new = &work_n[0]
    cdef double* u = &work_n[n_samples]
    cdef double* scaled = &work_np[0] if work_np.shape[0] > 0 else NULL
    cdef double* swap

    if n_samples < 1 or n_features < 1:
        raise ValueError("Z must have at least one row and one column")
    if y.shape[0] != n_samples or w.shape[0] != n_samples or resid.shape[0] != n_samples:
        raise ValueError("y, w and resid must have one entry per row of Z")
    if theta.shape[0] != n_features:
        raise ValueError("theta must have one entry per column of Z")
    if work_n.shape[0] < 2 * n_samples:
        raise ValueError("work_n must hold 2 * n_samples values")
    if n_features > SMALL_P and work_np.shape[0] < n_samples * n_features:
        raise ValueError("work_np must hold n_samples * n_features values")
    gram = <double*>malloc(n_features * (n_features + 2) * sizeof(double))
    if gram == NULL:
        raise MemoryError()
    step = gram + n_features * n_features
    theta_new = step + n_features

    with nogil:
        residuals(n_samples, n_features, &Z[0, 0], &y[0], &theta[0], r)
        for stage in range(n_stages):
            e = eps_stages[stage]
            loss = surrogate(n_samples, r, &w[0], quantile, e, &scale)
            while it < max_iter:
                info = mm_step(n_samples, n_features, &Z[0, 0], &w[0], r, quantile, e,
                               u, scaled, gram, step)
                it += 1
                if info != 0:
                    status = STATUS_SINGULAR
                    break
                t = 1.0
                accepted = False
                for _h in range(MAX_HALVINGS):
                    for j in range(n_features):
                        theta_new[j] = theta[j] + t * step[j]
                    residuals(n_samples, n_features, &Z[0, 0], &y[0], theta_new, r_new)
                    loss_new = surrogate(n_samples, r_new, &w[0], quantile, e, &scale_new)
                    if loss_new <= loss + 64.0 * DBL_EPS * scale:
                        accepted = True
                        break
                    t *= 0.5
                if not accepted:
                    break
                for j in range(n_features):
                    theta[j] = theta_new[j]
                swap = r
                r = r_new
                r_new = swap
                if loss - loss_new <= tol * scale:
                    loss = loss_new
                    scale = scale_new
                    break
                loss = loss_new
                scale = scale_new
            if status != STATUS_OK:
                break
        if r != &resid[0]:
            for j in range(n_samples):
                resid[j] = r[j]
    free(gram)
    return it, status


# ---------------------------------------------------------------------------
# Exact finish: basis, certificate, simplex pivots
# ---------------------------------------------------------------------------

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


cdef inline double psi(double r, double q) noexcept nogil:
    """Right derivative of the check loss: q - I(r < 0) (without a branch)."""
    return q - (r < 0.0)


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
    matvec_cols(n, p, v.Z, u, v.g)
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
    matvec_rows(v.n_samples, p, v.Z, s.dvec, s.c)
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
    continues on a slightly perturbed response (see ``_solver.py``).

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


# ---------------------------------------------------------------------------
# Portnoy-Koenker preprocessing passes (one pass over the data each)
# ---------------------------------------------------------------------------

def column_absmax(const double[:, ::1] Z,   # IN  (n_samples, n_features)
                  double[::1] out):         # OUT (n_features,) max_i |Z[i, j]|
    """Largest magnitude of each column in one pass; NaN marks a non-finite column.

    Replaces ``np.max(np.abs(Z), axis=0)`` (an n x p temporary) and the two
    reductions of the power-of-two scaling. Returns the number of columns
    holding a NaN or an infinity (their ``out`` entry is NaN or inf).
    """
    cdef Py_ssize_t n_samples = Z.shape[0], p = Z.shape[1], i, j, n_bad = 0
    cdef double a
    if out.shape[0] != p:
        raise ValueError("out must have one entry per column of Z")
    with nogil:
        for j in range(p):
            out[j] = 0.0
        for i in range(n_samples):
            for j in range(p):
                a = fabs(Z[i, j])
                if a > out[j] or a != a:  # a NaN, once in, sticks (NaN > x is false)
                    out[j] = a
        for j in range(p):
            if not out[j] < INFINITY:
                n_bad += 1
    return n_bad


DEF STDRES_BLOCK = 1024


def standardized_residuals(const double[:, ::1] Z,     # IN  (n_samples, n_features)
                           const double[::1] y,        # IN  (n_samples,)
                           const double[::1] theta,    # IN  (n_features,)
                           const double[:, ::1] M,     # IN  (n_features, n_features)
                           double[::1] out):           # OUT (n_samples,)
    """u_i = (y_i - z_i'theta) / ||z_i' M||, with ``M M' = (Z_s'W_s Z_s)^{-1}``.

    Portnoy & Koenker (1997): residuals of the subsample fit in units of
    their standard error ``sqrt(z_i'(Z_s'W_s Z_s)^{-1} z_i)``; rows far in
    either tail are merged into globs. ``M`` is any square root of the
    inverse Gram matrix (the transposed inverse Cholesky factor). Blocks of
    rows go through one BLAS product with ``[M | theta]`` each, so the pass
    costs one matrix product instead of ``p^2`` scalar operations a row.
    """
    cdef Py_ssize_t n_samples = Z.shape[0], p = Z.shape[1], i, j, start, rows
    cdef Py_ssize_t q = p + 1
    cdef double quad, v
    cdef double* W
    cdef double* V
    if y.shape[0] != n_samples or out.shape[0] != n_samples:
        raise ValueError("y and out must have one entry per row of Z")
    if theta.shape[0] != p or M.shape[0] != p or M.shape[1] != p:
        raise ValueError("theta must have n_features entries and M shape (n_features,) * 2")
    if n_samples == 0:
        return
    W = <double*>malloc((p * q + STDRES_BLOCK * q) * sizeof(double))
    if W == NULL:
        raise MemoryError()
    V = W + p * q
    with nogil:
        for i in range(p):
            for j in range(p):
                W[i * q + j] = M[i, j]
            W[i * q + p] = theta[i]
        start = 0
        while start < n_samples:
            rows = min(STDRES_BLOCK, n_samples - start)
            xgemm_nn(rows, p, q, 1.0, &Z[start, 0], W, 0.0, V)
            for i in range(rows):
                quad = 0.0
                for j in range(p):
                    v = V[i * q + j]
                    quad += v * v
                v = y[start + i] - V[i * q + p]
                out[start + i] = v / sqrt(quad) if quad > 0.0 else 0.0
            start += rows
    free(W)


def split_globs(const double[:, ::1] Z,      # IN  (n_samples, n_features)
                const double[::1] y,         # IN  (n_samples,)
                const double[::1] w,         # IN  (n_samples,)
                const double[::1] u,         # IN  (n_samples,) standardised residuals
                double kappa_lo, double kappa_hi,
                signed char[::1] side,       # OUT (n_samples,) -1 low glob, +1 high, 0 kept
                double[:, ::1] glob_z,       # OUT (2, n_features) sums of w z per glob
                double[::1] glob_yw):        # OUT (4,) sum w y (lo, hi), sum w (lo, hi)
    """Assign rows to the low glob (u < kappa_lo), the high glob (u > kappa_hi)
    or the kept set, and accumulate each glob's sums of ``w z``, ``w y``, ``w``.

    Returns the number of kept rows.
    """
    cdef Py_ssize_t n_samples = Z.shape[0], p = Z.shape[1], i, j, n_keep = 0, g
    cdef double wi
    if (y.shape[0] != n_samples or w.shape[0] != n_samples or u.shape[0] != n_samples
            or side.shape[0] != n_samples):
        raise ValueError("y, w, u and side must have one entry per row of Z")
    if glob_z.shape[0] != 2 or glob_z.shape[1] != p or glob_yw.shape[0] < 4:
        raise ValueError("glob_z must have shape (2, n_features) and glob_yw 4 entries")
    for j in range(p):
        glob_z[0, j] = 0.0
        glob_z[1, j] = 0.0
    for j in range(4):
        glob_yw[j] = 0.0
    with nogil:
        for i in range(n_samples):
            if u[i] < kappa_lo:
                side[i] = -1
                g = 0
            elif u[i] > kappa_hi:
                side[i] = 1
                g = 1
            else:
                side[i] = 0
                n_keep += 1
                continue
            wi = w[i]
            for j in range(p):
                glob_z[g, j] += wi * Z[i, j]
            glob_yw[g] += wi * y[i]
            glob_yw[2 + g] += wi
    return n_keep


def glob_offenders(const double[:, ::1] Z,     # IN  (n_samples, n_features)
                   const double[::1] y,        # IN  (n_samples,)
                   const double[::1] w,        # IN  (n_samples,)
                   double quantile,
                   const double[::1] theta,    # IN  (n_features,)
                   const signed char[::1] side,  # IN  (n_samples,)
                   Py_ssize_t[::1] out):       # OUT (n_samples,) offending rows
    """Rows of a glob whose residual at ``theta`` has the wrong sign
    (positive in the low glob, negative in the high glob), and the full
    objective ``sum_i w_i rho_q(y_i - z_i'theta)`` in the same pass.

    Returns ``(n_bad, objective)``; the offenders' indices fill ``out``.
    """
    cdef Py_ssize_t n_samples = Z.shape[0], p = Z.shape[1], i, j, n_bad = 0
    cdef double r, objective = 0.0
    if (y.shape[0] != n_samples or w.shape[0] != n_samples or side.shape[0] != n_samples
            or out.shape[0] < n_samples):
        raise ValueError("y, w, side and out must have one entry per row of Z")
    if theta.shape[0] != p:
        raise ValueError("theta must have one entry per column of Z")
    with nogil:
        for i in range(n_samples):
            r = y[i]
            for j in range(p):
                r -= Z[i, j] * theta[j]
            objective += w[i] * check_loss(r, quantile)
            if (side[i] < 0 and r > 0.0) or (side[i] > 0 and r < 0.0):
                out[n_bad] = i
                n_bad += 1
    return n_bad, objective


# ---------------------------------------------------------------------------
# Preprocessing passes on X with an implicit intercept (the column of ones is
# never materialised: ``intercept`` says that coefficient 0 is the intercept's
# and X holds the other n_features - 1 columns)
# ---------------------------------------------------------------------------

cdef void block_fit_values(Py_ssize_t rows, Py_ssize_t px, Py_ssize_t ncol, bint intercept,
                           const double* X, const double* W, double* V) noexcept nogil:
    """V = [1 | X] W for a block of `rows` rows (or X W without the intercept).

    W is C-contiguous (px + intercept, ncol), V (rows, ncol); one dgemm.
    """
    cdef Py_ssize_t i, j, off = 1 if intercept else 0
    for i in range(rows):
        for j in range(ncol):
            V[i * ncol + j] = W[j] if intercept else 0.0
    if px:
        xgemm_nn(rows, px, ncol, 1.0, X, W + off * ncol, 1.0, V)


cdef void screened_block(Py_ssize_t rows, Py_ssize_t px, bint intercept, const double* X,
                         const double* y, const double* theta, const double* M,
                         const double* diag, double lam_lo, double lam_hi, double kappa_lo,
                         double kappa_hi, double* u, double* R, double* A, double* V,
                         Py_ssize_t* amb) noexcept nogil:
    """The standardised residuals of a block of `band_split` with screening.

    Scratch: R (rows), A (rows * px), V (rows * n_features), amb (rows).
    """
    cdef Py_ssize_t off = 1 if intercept else 0, p = px + off, i, j, k, n_amb = 0
    cdef double b0 = theta[0] if intercept else 0.0, d0 = diag[0] if intercept else 0.0
    cdef double nz, rr, s_hi, s_lo, u_lo, u_hi, quad, v
    cdef const double* xi
    for i in range(rows):
        R[i] = y[i] - b0
    if px:
        residuals_update(rows, px, X, theta + off, R)
    for i in range(rows):
        xi = X + i * px
        nz = d0
        for j in range(px):
            nz += diag[off + j] * xi[j] * xi[j]
        rr = R[i]
        s_hi = sqrt(lam_hi * nz)
        s_lo = sqrt(lam_lo * nz)
        if rr >= 0.0:
            u_lo = rr / s_hi
            u_hi = rr / s_lo
        else:
            u_lo = rr / s_lo
            u_hi = rr / s_hi
        u[i] = rr / s_hi
        if nz > 0.0 and (u_hi < kappa_lo or u_lo > kappa_hi
                         or (u_lo >= kappa_lo and u_hi <= kappa_hi)):
            continue
        amb[n_amb] = i      # the interval straddles a threshold: exact
        for j in range(px):
            A[n_amb * px + j] = xi[j]
        n_amb += 1
    if n_amb == 0:
        return
    block_fit_values(n_amb, px, p, intercept, A, M, V)
    for k in range(n_amb):
        quad = 0.0
        for j in range(p):
            v = V[k * p + j]
            quad += v * v
        i = amb[k]
        u[i] = R[i] / sqrt(quad) if quad > 0.0 else 0.0


cdef void exact_block(Py_ssize_t rows, Py_ssize_t px, bint intercept, const double* X,
                      const double* y, const double* W, double* V, double* u) noexcept nogil:
    """u_i = (y_i - z_i'theta) / ||z_i'M|| for a block, with W = [M | theta] and one dgemm."""
    cdef Py_ssize_t p = px + (1 if intercept else 0), ncol = p + 1, i, j
    cdef double quad, v
    block_fit_values(rows, px, ncol, intercept, X, W, V)
    for i in range(rows):
        quad = 0.0
        for j in range(p):
            v = V[i * ncol + j]
            quad += v * v
        v = y[i] - V[i * ncol + p]
        u[i] = v / sqrt(quad) if quad > 0.0 else 0.0


cdef Py_ssize_t classify_block(Py_ssize_t rows, Py_ssize_t start, double kappa_lo,
                               double kappa_hi, const double* u, const double* w,
                               const double* y, signed char* side, double* wlh,
                               Py_ssize_t* kept, Py_ssize_t n_keep,
                               double* sums) noexcept nogil:
    """Sides of a block's rows, their weights per glob and the kept rows' indices.

    Without unpredictable branches: each row's weight goes to the low or the
    high glob's column of ``wlh`` (rows, 2), zero in the other; every row is
    written to ``kept[n_keep]``, which advances only for a kept row. ``sums``
    accumulates ``sum w y`` and ``sum w`` of each glob. Returns the new n_keep.
    """
    cdef Py_ssize_t i
    cdef int is_lo, is_hi
    cdef signed char s
    for i in range(rows):
        is_lo = u[i] < kappa_lo
        is_hi = u[i] > kappa_hi
        s = is_hi - is_lo
        side[i] = s
        wlh[2 * i] = w[i] * is_lo
        wlh[2 * i + 1] = w[i] * is_hi
        sums[0] += wlh[2 * i] * y[i]
        sums[1] += wlh[2 * i + 1] * y[i]
        sums[2] += wlh[2 * i]
        sums[3] += wlh[2 * i + 1]
        kept[n_keep] = start + i
        n_keep += (s == 0)
    return n_keep


def band_split(const double[:, ::1] X,       # IN  (n_samples, n_x) covariates
               const double[::1] y,          # IN  (n_samples,)
               const double[::1] w,          # IN  (n_samples,)
               const double[::1] theta,      # IN  (n_features,) subsample fit
               const double[:, ::1] M,       # IN  (n_features, n_features) M M' = G^-1
               double kappa_lo, double kappa_hi,
               bint intercept,               # design [1, X] (n_features = n_x + 1) or X
               double[::1] u,                # OUT (n_samples,) standardised residuals
               signed char[::1] side,        # OUT (n_samples,) -1 low glob, +1 high, 0 kept
               double[:, ::1] glob_z,        # OUT (2, n_features) sums of w z per glob
               double[::1] glob_yw,          # OUT (4,) sum w y (lo, hi), sum w (lo, hi)
               Py_ssize_t[::1] kept,         # OUT (n_samples,) kept rows, in order
               const double[::1] diag=None,  # IN  (n_features,) diag(G^-1): screening
               double lam_lo=0.0, double lam_hi=0.0):
    """`standardized_residuals` and `split_globs` fused into one pass over X.

    Computes ``u_i = (y_i - z_i'theta) / ||z_i' M||`` with ``z_i = [1, x_i]``
    (or ``x_i``), assigns row i to the low glob (``u_i < kappa_lo``), the
    high glob (``u_i > kappa_hi``) or the kept set, accumulates each glob's
    sums of ``w z``, ``w y`` and ``w``, and lists the kept rows in ``kept``.
    The thresholds come from the caller (estimated before the pass), so a
    pass does what three did (residuals, a selection, the split).

    Screening (when ``diag`` is given): with ``d = diag(G^-1)`` and
    ``lam_lo <= lam_hi`` bounds of the spectrum of ``D^-1/2 G^-1 D^-1/2``,
    ``lam_lo <= ||z'M||^2 / sum_j d_j z_j^2 <= lam_hi``, so an interval of
    ``u_i`` costs O(p) a row; only rows whose interval straddles a threshold
    get the exact ``||z_i'M||`` (O(p^2), gathered into one product per
    block). The others' ``u`` is then a value of their interval (on the
    same side of both thresholds as the exact one), not the exact ``u``.

    Returns the number of kept rows.
    """
    cdef Py_ssize_t n_samples = X.shape[0], px = X.shape[1], i, j, start, rows
    cdef Py_ssize_t p = px + (1 if intercept else 0), ncol = p + 1, n_keep = 0, off
    cdef double sums[4]     # sum w y (low, high glob), sum w (low, high)
    cdef bint screen
    cdef const double* dptr
    cdef double* R
    cdef double* A
    cdef double* Vx
    cdef Py_ssize_t* amb = NULL
    cdef double* W
    cdef double* V
    cdef double* ub
    cdef double* wlh
    cdef double* acc
    cdef const double* xb
    off = 1 if intercept else 0
    if (y.shape[0] != n_samples or w.shape[0] != n_samples or u.shape[0] != n_samples
            or side.shape[0] != n_samples or kept.shape[0] < n_samples):
        raise ValueError("y, w, u, side and kept must have one entry per row of X")
    if p < 1 or theta.shape[0] != p or M.shape[0] != p or M.shape[1] != p:
        raise ValueError("theta must have n_features entries and M shape (n_features,) * 2")
    if glob_z.shape[0] != 2 or glob_z.shape[1] != p or glob_yw.shape[0] < 4:
        raise ValueError("glob_z must have shape (2, n_features) and glob_yw 4 entries")
    if diag is not None:
        if diag.shape[0] != p:
            raise ValueError("diag must have n_features entries")
        if not 0.0 < lam_lo <= lam_hi < INFINITY:
            raise ValueError("lam_lo and lam_hi must satisfy 0 < lam_lo <= lam_hi < inf")
    W = <double*>malloc((p * ncol + STDRES_BLOCK * (ncol + 2) + 2 * p
                         + STDRES_BLOCK * (2 * p + 1)) * sizeof(double))
    amb = <Py_ssize_t*>malloc(STDRES_BLOCK * sizeof(Py_ssize_t))
    if W == NULL or amb == NULL:
        free(W)
        free(amb)
        raise MemoryError()
    V = W + p * ncol
    wlh = V + STDRES_BLOCK * ncol       # (rows, 2): each row's weight in the low, high glob
    acc = wlh + 2 * STDRES_BLOCK        # (n_features, 2): sums of w z, low and high
    R = acc + 2 * p                     # screening scratch: residuals, rows, products
    A = R + STDRES_BLOCK
    Vx = A + STDRES_BLOCK * p
    screen = diag is not None
    dptr = &diag[0] if screen else NULL
    with nogil:
        for i in range(p):
            for j in range(p):
                W[i * ncol + j] = M[i, j]
            W[i * ncol + p] = theta[i]
        for j in range(2 * p):
            acc[j] = 0.0
        for j in range(4):
            sums[j] = 0.0
        start = 0
        while start < n_samples:
            rows = min(STDRES_BLOCK, n_samples - start)
            xb = &X[start, 0] if px else NULL
            ub = &u[start]
            if not screen:
                exact_block(rows, px, intercept, xb, &y[start], W, V, ub)
            else:
                screened_block(rows, px, intercept, xb, &y[start], &theta[0], &M[0, 0], dptr,
                               lam_lo, lam_hi, kappa_lo, kappa_hi, ub, R, A, Vx, amb)
            n_keep = classify_block(rows, start, kappa_lo, kappa_hi, ub, &w[start], &y[start],
                                    &side[start], wlh, &kept[0], n_keep, sums)
            if px:
                glob_sums(rows, px, xb, wlh, acc + 2 * off)
            start += rows
        for j in range(4):
            glob_yw[j] = sums[j]
        if intercept:
            acc[0] = sums[2]
            acc[1] = sums[3]
        for i in range(2):
            for j in range(p):
                glob_z[i, j] = acc[2 * j + i]
    free(W)
    free(amb)
    return n_keep


cdef void glob_sums(Py_ssize_t rows, Py_ssize_t px, const double* X, const double* a,
                    double* out) noexcept nogil:
    """out += X' a for a block X (rows, px) and a (rows, 2); out is (px, 2)."""
    cdef Py_ssize_t i, j
    cdef const double* xi
    cdef double a0, a1
    if px > SMALL_P:
        xgemm_tn(rows, px, 2, 1.0, X, a, 1.0, out)
        return
    for i in range(rows):
        xi = X + i * px
        a0 = a[2 * i]
        a1 = a[2 * i + 1]
        for j in range(px):
            out[2 * j] += a0 * xi[j]
            out[2 * j + 1] += a1 * xi[j]


def gather_design(const double[:, ::1] X,      # IN  (n_samples, n_x)
                  const Py_ssize_t[::1] rows,  # IN  (k,) row indices of X
                  bint intercept,
                  double[:, ::1] out):         # OUT (>= k, n_x + intercept)
    """``out[:k] = [1, X[rows]]`` (or ``X[rows]``): the design's rows, materialised."""
    cdef Py_ssize_t k = rows.shape[0], px = X.shape[1], i, j, r, off = 1 if intercept else 0
    if out.shape[0] < k or out.shape[1] != px + off:
        raise ValueError("out must have at least len(rows) rows and n_x + intercept columns")
    for i in range(k):
        if rows[i] < 0 or rows[i] >= X.shape[0]:
            raise ValueError("rows must hold row indices of X")
    with nogil:
        for i in range(k):
            r = rows[i]
            if intercept:
                out[i, 0] = 1.0
            for j in range(px):
                out[i, off + j] = X[r, j]


def glob_offenders_x(const double[:, ::1] X,     # IN  (n_samples, n_x)
                     const double[::1] y,        # IN  (n_samples,)
                     const double[::1] w,        # IN  (n_samples,)
                     double quantile,
                     const double[::1] theta,    # IN  (n_x + intercept,)
                     const signed char[::1] side,  # IN  (n_samples,)
                     bint intercept,
                     Py_ssize_t[::1] out):       # OUT (n_samples,) offending rows
    """`glob_offenders` on ``[1, X]`` (or X) without the column of ones.

    Rows of a glob whose residual at ``theta`` has the wrong sign, and the full
    objective, in one pass; the fitted values of blocks of rows go through one
    matrix-vector product each. Returns ``(n_bad, objective)``.
    """
    cdef Py_ssize_t n_samples = X.shape[0], px = X.shape[1], i, start, rows, n_bad = 0
    cdef Py_ssize_t off = 1 if intercept else 0
    cdef double r, objective = 0.0, b0
    cdef double* V
    if (y.shape[0] != n_samples or w.shape[0] != n_samples or side.shape[0] != n_samples
            or out.shape[0] < n_samples):
        raise ValueError("y, w, side and out must have one entry per row of X")
    if theta.shape[0] != px + off or px + off < 1:
        raise ValueError("theta must have one entry per column of the design")
    V = <double*>malloc(STDRES_BLOCK * sizeof(double))
    if V == NULL:
        raise MemoryError()
    b0 = theta[0] if intercept else 0.0
    with nogil:
        start = 0
        while start < n_samples:
            rows = min(STDRES_BLOCK, n_samples - start)
            for i in range(rows):
                V[i] = y[start + i] - b0
            if px:
                residuals_update(rows, px, &X[start, 0], &theta[off], V)
            for i in range(rows):
                r = V[i]
                objective += w[start + i] * check_loss(r, quantile)
                # a glob row on the wrong side: side and r of opposite signs
                out[n_bad] = start + i
                n_bad += side[start + i] * r < 0.0
            start += rows
    free(V)
    return n_bad, objective


cdef void residuals_update(Py_ssize_t n_samples, Py_ssize_t n_features, const double* Z,
                           const double* theta, double* r) noexcept nogil:
    """r -= Z theta."""
    cdef Py_ssize_t i, j
    cdef double acc
    cdef const double* zi
    if n_features > SMALL_P:
        xgemv_rows(n_samples, n_features, -1.0, Z, theta, 1.0, r)
        return
    for i in range(n_samples):
        zi = Z + i * n_features
        acc = 0.0
        for j in range(n_features):
            acc += zi[j] * theta[j]
        r[i] -= acc
