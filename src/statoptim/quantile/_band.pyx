# Portnoy-Koenker preprocessing passes of weighted linear quantile regression
# (one pass over the data each): standardised residuals of a subsample fit, the
# split of the rows into two globs and the kept band, and the verification of
# the globs' signs at the band's exact fit (_preprocess.py runs them).
#
# Arrays are C-contiguous float64. Nothing here allocates in a loop, holds the
# GIL in a loop or warns.

from libc.math cimport fabs, sqrt, INFINITY
from libc.stdlib cimport malloc, free

from statoptim._cy._blas cimport xgemm_nn, xgemm_tn
from statoptim.quantile._lp cimport SMALL_P, ZX_SUBTRACT, check_loss, product


cdef inline double standardized(double r, const double* v, Py_ssize_t p) noexcept nogil:
    """r / ||v|| for the p values at v (0 when v is zero): a standardised residual."""
    cdef Py_ssize_t j
    cdef double quad = 0.0
    for j in range(p):
        quad += v[j] * v[j]
    return r / sqrt(quad) if quad > 0.0 else 0.0


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
                out[start + i] = standardized(y[start + i] - V[i * q + p], &V[i * q], p)
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
    cdef double nz, rr, s_hi, s_lo, u_lo, u_hi
    cdef const double* xi
    for i in range(rows):
        R[i] = y[i] - b0
    if px:
        product(ZX_SUBTRACT, rows, px, X, theta + off, R)
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
        i = amb[k]
        u[i] = standardized(R[i], &V[k * p], p)


cdef void exact_block(Py_ssize_t rows, Py_ssize_t px, bint intercept, const double* X,
                      const double* y, const double* W, double* V, double* u) noexcept nogil:
    """u_i = (y_i - z_i'theta) / ||z_i'M|| for a block, with W = [M | theta] and one dgemm."""
    cdef Py_ssize_t p = px + (1 if intercept else 0), ncol = p + 1, i
    block_fit_values(rows, px, ncol, intercept, X, W, V)
    for i in range(rows):
        u[i] = standardized(y[i] - V[i * ncol + p], &V[i * ncol], p)


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
                product(ZX_SUBTRACT, rows, px, &X[start, 0], &theta[off], V)
            for i in range(rows):
                r = V[i]
                objective += w[start + i] * check_loss(r, quantile)
                # a glob row on the wrong side: side and r of opposite signs
                out[n_bad] = start + i
                n_bad += side[start + i] * r < 0.0
            start += rows
    free(V)
    return n_bad, objective
