# The majorise-minimise iterations of weighted linear quantile regression.
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
# The exact finish from the MM point is in _simplex.pyx, the preprocessing
# passes in _band.pyx; the helpers they share are in _lp.pxd.
#
# Arrays are C-contiguous float64; Z includes the intercept column when there
# is one. The wrappers in `_direct.py` validate the input, allocate every
# output and scratch array, and turn the returned status into warnings.
# Nothing here allocates in a loop, holds the GIL in a loop or warns.

from libc.math cimport fabs, log, sqrt
from libc.stdlib cimport malloc, free

from statoptim._cy._blas cimport xgemv_cols, xsyrk_gram, xpotrf_solve
from statoptim.quantile._lp cimport (
    DBL_EPS, SMALL_P, STATUS_OK, STATUS_SINGULAR, check_loss, residuals,
)

# For _direct.py: the columns up to which `mm_quantile_fit` needs no `work_np`
# scratch, and the meaning of its status.
FUSED_MAX_FEATURES = SMALL_P
MM_STATUS = {STATUS_OK: "ok", STATUS_SINGULAR: "singular"}

DEF MAX_HALVINGS = 30


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
