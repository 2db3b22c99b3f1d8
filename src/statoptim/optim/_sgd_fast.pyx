# Compiled kernels of statoptim.optim: one epoch of minibatch updates on the
# L2-penalised logistic loss, the shared element-wise update rules, and the
# full-data loss and gradient.
#
# Design (see docs/optim.rst, "Update rules" and "Noise floor and remedies"):
# - The objective is F(theta) = mean_i [log(1 + e^eta_i) - y_i eta_i]
#   + alpha/2 * sum_{j>=1} theta_j^2 with eta_i = theta_0 + x_i . theta_{1:},
#   theta_0 the unpenalised intercept.
# - X is C-contiguous float64 or float32 (`floating` fused type); every sum is
#   accumulated in float64 and theta, the gradient and all optimiser state are
#   float64.
# - The wrapper allocates every output and scratch array, draws the row
#   permutation and precomputes the step sizes alpha_t of the epoch; kernels do
#   not allocate, draw random numbers or warn.
# - The update rules are _rules.update_rule (one definition for every kernel);
#   the epochs and the `apply_update` entry point (used by `minimize` and the
#   tests) call it. One epoch body serves X dense and in CSR form (_epoch,
#   through the row functions row_eta and row_add); the batch step it shares
#   with the softmax kernel is _epoch.end_batch.
# - Every entry point checks the shapes of its arrays against each other (and
#   index arrays against the rows of X) before its nogil loop, in O(1) or
#   O(n_rows): the loops run without bounds checks, so a wrong length would
#   otherwise read or write out of bounds. BLAS takes 32-bit sizes: a gemv is
#   used only for blocks of fewer than INT_MAX rows and columns.
from cython cimport floating
from libc.limits cimport INT_MAX
from libc.math cimport exp, log1p, sqrt, fabs
from statoptim._cy._blas cimport xgemv_cols, xgemv_rows

# Rows fetched ahead of use in shuffled epochs: random row order defeats the
# hardware prefetcher, so each row's cache lines are requested this many rows early.
DEF PREFETCH_ROWS = 4

# Method codes, flags and Adam forms: _codes.pxd (one definition for both kernels).
from statoptim.optim._codes cimport A_ALGORITHM1, A_CONSTANT_EPS_HAT, M_ADAMAX, M_SGD

# The update rules and the sigmoid: _rules.pxd; the epoch's batch step: _epoch.pxd (both
# shared with _softmax_fast).
from statoptim.optim._rules cimport sigmoid as _sigmoid, update_rule
from statoptim.optim._csr cimport check_csr, csr_dot, index_t
from statoptim.optim._rows cimport prefetch_row, row_add, row_axpy, row_dot, row_eta
from statoptim.optim._epoch cimport (
    Epoch, check_settings, check_steps, consecutive, count_batches, end_batch,
)


cdef int _check_length(Py_ssize_t got, Py_ssize_t want, str name, str what) except -1:
    """Raise ValueError unless an array has the length its kernel will index."""
    if got != want:
        raise ValueError(f"{name} must have {what} = {want} entries, got {got}")
    return 0


cdef int _check_rows(const Py_ssize_t[::1] rows, Py_ssize_t n_samples, str name) except -1:
    """Raise ValueError unless every row index lies in [0, n_samples)."""
    cdef Py_ssize_t k, bad = -1
    with nogil:
        for k in range(rows.shape[0]):
            if rows[k] < 0 or rows[k] >= n_samples:
                bad = k
                break
    if bad >= 0:
        raise ValueError(f"{name} must hold row indices in [0, {n_samples}), got "
                         f"{rows[bad]} at position {bad}")
    return 0


cdef int _check_codes(int method, int adam_form) except -1:
    if method < M_SGD or method > M_ADAMAX:
        raise ValueError(f"method code must be in [0, 4], got {method}")
    if adam_form < A_ALGORITHM1 or adam_form > A_CONSTANT_EPS_HAT:
        raise ValueError(f"adam_form code must be in [0, 2], got {adam_form}")
    return 0


cdef inline double _loss_term(double eta, double yi, double* r) noexcept nogil:
    """Row loss log(1 + e^eta) - y eta; r[0] = its derivative sigma(eta) - y.

    One exp for both. (1 - y) eta and (1 - y) - e / (1 + e) instead of eta - y eta and
    1 / (1 + e) - y: no cancellation for a well-fitted row with y = 1, whose loss
    log1p(e) and residual -e / (1 + e) would round to 0 next to eta; so F and its
    gradient keep their relative accuracy as F -> 0 (separable data), which Newton's
    relative stopping test needs.
    """
    cdef double e = exp(-fabs(eta))
    if eta >= 0.0:
        r[0] = (1.0 - yi) - e / (1.0 + e)
        return log1p(e) + (1.0 - yi) * eta
    r[0] = e / (1.0 + e) - yi
    return log1p(e) - yi * eta


cdef inline double _finish_loss_grad(double* g, const double* th, Py_ssize_t n_coef,
                                     Py_ssize_t n_samples, double alpha,
                                     double loss) noexcept nogil:
    """Mean over the rows of the sums in g and loss, plus the ridge; returns F."""
    cdef Py_ssize_t j
    cdef double inv = 1.0 / <double>n_samples, pen = 0.0
    g[0] = g[0] * inv
    for j in range(1, n_coef):
        g[j] = g[j] * inv + alpha * th[j]
        pen = pen + th[j] * th[j]
    if alpha == 0.0:  # no 0 * inf = NaN when ||theta||^2 overflows but F does not
        return loss * inv
    return loss * inv + 0.5 * alpha * pen


cdef inline const double* _block_eta(const floating* xs, Py_ssize_t m, Py_ssize_t n_features,
                                     const double* th, double* er,
                                     double* buf) noexcept nogil:
    """er[:m] = X_c @ theta_{1:} for the block X_c of m rows at xs (one BLAS dgemv);
    returns X_c in float64: xs itself, or widened into buf (float32)."""
    cdef Py_ssize_t i
    if n_features == 0:  # intercept only (BLAS rejects a leading dimension of 0)
        for i in range(m):
            er[i] = 0.0
        return buf
    if floating is double:
        xgemv_rows(m, n_features, 1.0, xs, th + 1, 0.0, er)
        return xs
    for i in range(m * n_features):
        buf[i] = <double>xs[i]
    xgemv_rows(m, n_features, 1.0, buf, th + 1, 0.0, er)
    return buf


def apply_update(int method, int flags, int adam_form, double b1, double b2, double eps,
                 long long t, double lr,
                 const double[::1] grad,      # IN  (n_coef,)
                 double[::1] theta,           # IN/OUT (n_coef,)
                 double[::1] s1, double[::1] s2, double[::1] s3):   # IN/OUT state
    """Apply one update of ``method`` at step ``t`` (>= 1) in place.

    The same code as inside :func:`logistic_epoch`; state arrays have the
    length of ``theta`` (unused ones may be any float64 arrays of that length).
    """
    cdef Py_ssize_t n_coef = theta.shape[0]
    _check_codes(method, adam_form)
    if t < 1:
        raise ValueError(f"t must be >= 1 (the step being taken), got {t}")
    _check_length(grad.shape[0], n_coef, "grad", "len(theta)")
    _check_length(s1.shape[0], n_coef, "s1", "len(theta)")
    _check_length(s2.shape[0], n_coef, "s2", "len(theta)")
    _check_length(s3.shape[0], n_coef, "s3", "len(theta)")
    if n_coef == 0:
        return
    with nogil:
        update_rule(method, flags, adam_form, b1, b2, eps, t, lr, 0.0, 1.0, n_coef,
                    &grad[0], &theta[0], &s1[0], &s2[0], &s3[0], NULL, NULL)


def logistic_loss_grad(const floating[:, ::1] X,    # IN  (n_samples, n_features)
                       const double[::1] y,          # IN  (n_samples,)
                       const double[::1] theta,      # IN  (n_features + 1,)
                       double alpha,
                       double[::1] grad,             # OUT (n_features + 1,)
                       double[::1] work,             # scratch (chunk * (n_features + 1),)
                       const double[::1] sw=None):   # IN  (n_samples,) row weights or None
    """F(theta) and its gradient on all rows, reading X once; returns F and max|eta|.

    F = mean_i [log(1 + e^eta_i) - y_i eta_i] + alpha/2 sum_{j>=1} theta_j^2, or
    with row weights ``sw`` (finite, >= 0, normalised by the wrapper to mean 1)
    mean_i sw_i [...] + the ridge. max|eta| is over rows of positive weight.

    X is processed in blocks of ``chunk = work.shape[0] // (n_features + 1)`` rows:
    eta = X_c @ w and g += X_c.T @ r are two BLAS dgemv calls on the block while it
    is in cache, so X is read from memory once and the products run at BLAS speed.
    float32 blocks are first widened to float64 in ``work`` (float64 products and
    sums throughout); ``work[:chunk]`` holds eta and then r of the block.
    """
    cdef Py_ssize_t n_samples = X.shape[0], n_features = X.shape[1]
    cdef Py_ssize_t chunk = work.shape[0] // (n_features + 1)
    cdef Py_ssize_t i, j, start, m
    cdef double eta, loss = 0.0, max_eta = 0.0, g0 = 0.0
    cdef const double* th
    cdef double* g
    cdef double* er
    cdef double* buf
    cdef const double* A
    cdef const floating* xs = NULL
    cdef double r, li, wi = 1.0
    cdef const double* wp = NULL
    if n_samples < 1:
        raise ValueError("X must have at least one row (F is a mean over rows), got 0")
    if sw is not None:
        _check_length(sw.shape[0], n_samples, "sw", "X.shape[0]")
        wp = &sw[0]
    if n_features >= INT_MAX:
        raise ValueError(f"X must have fewer than {INT_MAX} columns (BLAS sizes are "
                         f"32-bit), got {n_features}")
    _check_length(y.shape[0], n_samples, "y", "X.shape[0]")
    _check_length(theta.shape[0], n_features + 1, "theta", "X.shape[1] + 1")
    _check_length(grad.shape[0], n_features + 1, "grad", "X.shape[1] + 1")
    if chunk < 1:
        raise ValueError(f"work must hold at least n_features + 1 = {n_features + 1} "
                         f"values, got {work.shape[0]}")
    if chunk > (1 << 20):  # rows per gemv: far below INT_MAX, and cache-sized anyway
        chunk = 1 << 20
    th = &theta[0]
    g = &grad[0]
    er = &work[0]
    buf = &work[0] + chunk
    if n_features > 0:
        xs = &X[0, 0]
    with nogil:
        for j in range(n_features + 1):
            g[j] = 0.0
        start = 0
        while start < n_samples:
            m = chunk if start + chunk <= n_samples else n_samples - start
            A = _block_eta(xs + start * n_features, m, n_features, th, er, buf)
            for i in range(m):
                eta = th[0] + er[i]
                li = _loss_term(eta, y[start + i], &r)
                if wp != NULL:
                    wi = wp[start + i]
                    if wi == 0.0:  # a row of weight 0 is absent (no 0 * inf)
                        li = 0.0
                        r = 0.0
                    else:
                        li = li * wi
                        r = r * wi
                loss = loss + li
                if fabs(eta) > max_eta and wi != 0.0:
                    max_eta = fabs(eta)
                g0 = g0 + r
                er[i] = r
            if n_features > 0:
                xgemv_cols(m, n_features, 1.0, A, er, 1.0, g + 1)
            start = start + m
        g[0] = g0
        loss = _finish_loss_grad(g, th, n_features + 1, n_samples, alpha, loss)
    return loss, max_eta


def hessian_rows(const floating[:, ::1] X,      # IN  (n_samples, n_features)
                 const double[::1] theta,        # IN  (n_features + 1,)
                 const Py_ssize_t[::1] rows,     # IN  (n_rows,) row indices
                 double[:, ::1] out,             # OUT (n_rows, n_features + 1)
                 const double[::1] sw=None):     # IN  (n_samples,) row weights or None
    """Rows sqrt(w_i) x~_i with w_i = pi_i (1 - pi_i) (times the row weight sw_i when
    given), so that out.T @ out is the (unnormalised) Hessian of the log-loss over
    ``rows``; one pass, no temporaries."""
    cdef Py_ssize_t n_rows = rows.shape[0], n_features = X.shape[1]
    cdef Py_ssize_t k, j
    cdef double eta, e, s
    cdef const floating* xi
    cdef double* o
    cdef const double* th
    cdef const double* wp = NULL
    _check_length(theta.shape[0], n_features + 1, "theta", "X.shape[1] + 1")
    if sw is not None:
        _check_length(sw.shape[0], X.shape[0], "sw", "X.shape[0]")
        if sw.shape[0] > 0:
            wp = &sw[0]
    _check_length(out.shape[0], n_rows, "out", "len(rows)")
    _check_length(out.shape[1], n_features + 1, "out's second axis", "X.shape[1] + 1")
    _check_rows(rows, X.shape[0], "rows")
    th = &theta[0]
    with nogil:
        for k in range(n_rows):
            if n_features > 0:
                xi = &X[rows[k], 0]
                eta = th[0] + row_dot(xi, th + 1, n_features)
            else:
                eta = th[0]
            e = exp(-fabs(eta))
            s = sqrt(e) / (1.0 + e)  # sqrt(pi (1 - pi)) = sqrt(e) / (1 + e), no overflow
            if wp != NULL:
                s = s * sqrt(wp[rows[k]])
            o = &out[k, 0]
            o[0] = s
            for j in range(n_features):
                o[j + 1] = s * <double>xi[j]


def column_absmax(const floating[:, ::1] X,   # IN  (n_samples, n_features)
                  double[::1] out):            # OUT (n_features,)
    """out[j] = max_i |x_ij| in one pass over X; returns True if some entry is NaN.

    An infinite entry shows as out[j] = inf. Used by the wrappers both for the
    finiteness check and for the power-of-two column scales (NumPy's axis-0
    reductions take ~8x longer than one pass on C-ordered data).
    """
    cdef Py_ssize_t n_samples = X.shape[0], n_features = X.shape[1]
    cdef Py_ssize_t i, j
    cdef const floating* row
    cdef double* o
    cdef double a, b
    cdef long long n_nan = 0
    _check_length(out.shape[0], n_features, "out", "X.shape[1]")
    if n_features == 0:
        return False
    o = &out[0]
    with nogil:
        for j in range(n_features):
            o[j] = 0.0
        for i in range(n_samples):
            row = &X[i, 0]
            for j in range(n_features):  # branch-free: the compiler vectorises it
                a = fabs(<double>row[j])
                b = o[j]
                o[j] = a if a > b else b
                n_nan += a != a
    return n_nan > 0


# ----------------------------------------------------------------- CSR kernels
# X in CSR form (data, indices, indptr; _csr.pxd), never densified.

def csr_loss_grad(const floating[::1] data, const index_t[::1] indices,
                  const index_t[::1] indptr,      # X (n_samples, n_features) in CSR form
                  const double[::1] y,            # IN  (n_samples,)
                  const double[::1] theta,        # IN  (n_features + 1,)
                  double alpha,
                  double[::1] grad,               # OUT (n_features + 1,)
                  const double[::1] sw=None):     # IN  (n_samples,) row weights or None
    """:func:`logistic_loss_grad` for X in CSR form (n_features = len(theta) - 1):
    one pass over the stored entries; returns (F, max|eta|)."""
    cdef Py_ssize_t n_samples = indptr.shape[0] - 1, n_features = theta.shape[0] - 1
    cdef Py_ssize_t i, j
    cdef double eta, r, li, wi = 1.0, loss = 0.0, max_eta = 0.0
    cdef const double* wp = NULL
    cdef double* g
    cdef const double* th
    cdef const floating* dp = NULL
    cdef const index_t* ip = NULL
    if n_samples < 1:
        raise ValueError("X must have at least one row (F is a mean over rows), got 0")
    check_csr(data, indices, indptr, n_features)
    _check_length(y.shape[0], n_samples, "y", "X.shape[0]")
    _check_length(grad.shape[0], n_features + 1, "grad", "len(theta)")
    if sw is not None:
        _check_length(sw.shape[0], n_samples, "sw", "X.shape[0]")
        wp = &sw[0]
    if indptr[n_samples] > 0:
        dp = &data[0]
        ip = &indices[0]
    g = &grad[0]
    th = &theta[0]
    with nogil:
        for j in range(n_features + 1):
            g[j] = 0.0
        for i in range(n_samples):
            eta = row_eta(dp, ip, &indptr[0], i, n_features, th)
            li = _loss_term(eta, y[i], &r)
            if wp != NULL:
                wi = wp[i]
                if wi == 0.0:
                    continue
                li = li * wi
                r = r * wi
            loss = loss + li
            if fabs(eta) > max_eta:
                max_eta = fabs(eta)
            g[0] = g[0] + r
            row_add(r, dp, ip, &indptr[0], i, n_features, g + 1)
        loss = _finish_loss_grad(g, th, n_features + 1, n_samples, alpha, loss)
    return loss, max_eta


def csr_hessian(const floating[::1] data, const index_t[::1] indices,
                const index_t[::1] indptr,        # X (n_samples, n_features) in CSR form
                const double[::1] theta,          # IN  (n_features + 1,)
                const Py_ssize_t[::1] rows,       # IN  (n_rows,) row indices
                double[:, ::1] H,                 # IN/OUT (n_features + 1, n_features + 1)
                const double[::1] sw=None):       # IN  (n_samples,) row weights or None
    """H += sum over ``rows`` of w_i x~_i x~_i^T with w_i = pi_i (1 - pi_i) (times sw_i),
    both triangles; O(sum_i nnz_i^2), never a dense row of X."""
    cdef Py_ssize_t n_samples = indptr.shape[0] - 1, n_coef = theta.shape[0]
    cdef Py_ssize_t kk, i, k, l, a
    cdef double eta, e, w, xa
    cdef const double* wp = NULL
    cdef const double* th
    check_csr(data, indices, indptr, n_coef - 1)
    _check_length(H.shape[0], n_coef, "H", "len(theta)")
    _check_length(H.shape[1], n_coef, "H's second axis", "len(theta)")
    _check_rows(rows, n_samples, "rows")
    if sw is not None:
        _check_length(sw.shape[0], n_samples, "sw", "X.shape[0]")
        if n_samples > 0:
            wp = &sw[0]
    if n_coef < 1:
        raise ValueError("theta must have at least one entry (the intercept)")
    th = &theta[0]
    with nogil:
        for kk in range(rows.shape[0]):
            i = rows[kk]
            eta = th[0]
            if indptr[i + 1] > indptr[i]:
                eta = eta + csr_dot(&data[0], &indices[0], indptr[i], indptr[i + 1], th + 1)
            e = exp(-fabs(eta))
            w = e / ((1.0 + e) * (1.0 + e))
            if wp != NULL:
                w = w * wp[i]
            if w == 0.0:
                continue
            H[0, 0] += w
            for k in range(indptr[i], indptr[i + 1]):
                a = 1 + indices[k]
                xa = w * <double>data[k]
                H[0, a] += xa
                H[a, 0] += xa
                for l in range(indptr[i], indptr[i + 1]):
                    H[a, 1 + indices[l]] += xa * <double>data[l]


# ----------------------------------------------------------------- epochs
# One epoch body (_epoch, _batch_gradient) for X dense (indptr NULL: C-contiguous rows
# of n_features values) or in CSR form; the `def` entry points check X and call it.
cdef inline double _residual(double eta, const double* y, const double* wp, Py_ssize_t i,
                             double* g) noexcept nogil:
    """Row i's residual r = (sigma(eta) - y_i) (times sw_i), added to g[0]; returns r."""
    cdef double r = _sigmoid(eta) - y[i]
    if wp != NULL:
        r = r * wp[i]
    g[0] = g[0] + r
    return r


cdef void _batch_gradient(const floating* data, const index_t* indices, const index_t* indptr,
                          Py_ssize_t n_features, Py_ssize_t n_samples, const double* y,
                          const Py_ssize_t* order, const double* wp, Py_ssize_t start,
                          Py_ssize_t stop, const double* th, double* g,
                          double* er) noexcept nogil:
    """g = sum over rows i = order[start:stop] of x~_i (sigma(eta_i) - y_i) (times sw_i).

    Consecutive float64 dense rows: two BLAS dgemv calls (X_b @ w, then X_b.T @ r, the
    batch in cache between them, residuals in ``er``); other batches row by row (dot,
    then axpy, with software prefetch of the dense rows to come).
    """
    cdef Py_ssize_t ii, i, j
    cdef double r
    cdef const double* xb
    cdef const floating* xi
    for j in range(n_features + 1):
        g[j] = 0.0
    if floating is double:
        if indptr == NULL and n_features < INT_MAX and stop - start < INT_MAX \
                and consecutive(order + start, stop - start):
            xb = data + order[start] * n_features
            xgemv_rows(stop - start, n_features, 1.0, xb, th + 1, 0.0, er)
            for ii in range(start, stop):
                er[ii - start] = _residual(th[0] + er[ii - start], y, wp, order[ii], g)
            xgemv_cols(stop - start, n_features, 1.0, xb, er, 0.0, g + 1)
            return
    if indptr != NULL:
        for ii in range(start, stop):
            i = order[ii]
            r = _residual(row_eta(data, indices, indptr, i, n_features, th), y, wp, i, g)
            row_add(r, data, indices, indptr, i, n_features, g + 1)
        return
    for ii in range(start, stop):  # dense rows: the same with prefetch, no CSR branch
        if ii + PREFETCH_ROWS < n_samples:
            prefetch_row(data + order[ii + PREFETCH_ROWS] * n_features, n_features)
        xi = data + order[ii] * n_features
        r = _residual(th[0] + row_dot(xi, th + 1, n_features), y, wp, order[ii], g)
        row_axpy(r, xi, g + 1, n_features)


cdef long long _epoch(const floating* data, const index_t* indices, const index_t* indptr,
                      Py_ssize_t n_features, const double[::1] y, const Py_ssize_t[::1] order,
                      Py_ssize_t batch_size, double alpha, int method, int flags,
                      int adam_form, double b1, double b2, double eps,
                      const double[::1] step_sizes, long long t_start, double[::1] theta,
                      double[::1] s1, double[::1] s2, double[::1] s3, int average,
                      long long avg_start, double avg_decay, double[::1] theta_avg,
                      double[::1] grad, double* er, const double[::1] sw, str what) except -1:
    """Check the arguments shared by the dense and CSR epochs, then run the epoch;
    ``what`` names what fixes the coefficient count in the length messages."""
    cdef Py_ssize_t n_samples = y.shape[0], n_coef = n_features + 1, k, start, stop
    cdef long long t = t_start
    cdef const double* wp = NULL
    cdef Epoch ep
    check_settings(batch_size, t_start, method, adam_form, average)
    if n_features < 1:
        raise ValueError("X must have at least one column, got 0")
    _check_length(order.shape[0], n_samples, "order", "X.shape[0]")
    for name, arr in (("theta", theta), ("s1", s1), ("s2", s2), ("s3", s3),
                      ("theta_avg", theta_avg), ("grad", grad)):
        _check_length(arr.shape[0], n_coef, name, what)
    check_steps(step_sizes.shape[0], count_batches(n_samples, batch_size))
    _check_rows(order, n_samples, "order")
    if sw is not None:
        _check_length(sw.shape[0], n_samples, "sw", "X.shape[0]")
        if n_samples > 0:
            wp = &sw[0]
    if n_samples == 0:
        return t
    ep = Epoch(method, flags, adam_form, b1, b2, eps, alpha, average, avg_start, avg_decay,
               n_coef, 1, &step_sizes[0], &theta[0], &s1[0], &s2[0], &s3[0], &theta_avg[0],
               &grad[0], NULL)
    with nogil:
        for k in range(count_batches(n_samples, batch_size)):
            start = k * batch_size
            stop = start + batch_size if start + batch_size < n_samples else n_samples
            _batch_gradient(data, indices, indptr, n_features, n_samples, &y[0], &order[0],
                            wp, start, stop, ep.theta, ep.grad, er)
            t = end_batch(&ep, t, k, stop - start)
    return t


def logistic_epoch(const floating[:, ::1] X,       # IN  (n_samples, n_features)
                   const double[::1] y,             # IN  (n_samples,) in {0, 1}
                   const Py_ssize_t[::1] order,     # IN  (n_samples,) row visiting order
                   Py_ssize_t batch_size, double alpha,
                   int method, int flags, int adam_form, double b1, double b2, double eps,
                   const double[::1] step_sizes,    # IN  (n_batches,) alpha_t of this epoch
                   long long t_start,
                   double[::1] theta,               # IN/OUT (n_features + 1,) intercept first
                   double[::1] s1, double[::1] s2, double[::1] s3,   # IN/OUT state
                   int average, long long avg_start, double avg_decay,
                   double[::1] theta_avg,           # IN/OUT (n_features + 1,)
                   double[::1] grad,                # scratch (n_features + 1,)
                   double[::1] resid,               # scratch (batch_size,)
                   const double[::1] sw=None):      # IN  (n_samples,) row weights or None
    """One epoch of ceil(n_samples / batch_size) minibatch updates.

    Batch k holds rows ``order[k*b : (k+1)*b]`` (the last one the remainder);
    its gradient is the batch mean of x~_i (sigma(eta_i) - y_i) plus the
    coupled ridge ``alpha * theta_j`` (j >= 1). Step t = t_start + k + 1 uses
    ``step_sizes[k]``. Returns the last step t.

    With row weights ``sw`` (finite, >= 0, normalised by the wrapper to mean 1
    over the rows), row i's term is multiplied by sw[i] and the batch sum is still
    divided by the number of rows in the batch: an unbiased estimate of the
    gradient of the weighted mean loss sum_i w_i l_i / sum_i w_i, and exactly that
    gradient for a full batch.

    A float64 batch whose rows are consecutive in X (``shuffle="batches"`` or
    rows in order) is done with two BLAS dgemv calls (X_b @ w, then X_b.T @ r,
    the batch in cache between them); other batches row by row (dot, then
    axpy, with software prefetch of the rows to come).
    """
    cdef Py_ssize_t n_samples = X.shape[0], n_features = X.shape[1]
    cdef const floating* data = NULL
    _check_length(y.shape[0], n_samples, "y", "X.shape[0]")
    if resid.shape[0] < min(batch_size, n_samples) or resid.shape[0] == 0:
        raise ValueError(f"resid must hold batch_size = {batch_size} values, "
                         f"got {resid.shape[0]}")
    if n_samples > 0 and n_features > 0:
        data = &X[0, 0]
    return _epoch(data, <const int*>NULL, <const int*>NULL, n_features, y, order, batch_size,
                  alpha, method, flags, adam_form, b1, b2, eps, step_sizes, t_start, theta,
                  s1, s2, s3, average, avg_start, avg_decay, theta_avg, grad, &resid[0], sw,
                  "X.shape[1] + 1")


def csr_epoch(const floating[::1] data, const index_t[::1] indices,
              const index_t[::1] indptr,          # X (n_samples, n_features) in CSR form
              const double[::1] y,                # IN  (n_samples,) in {0, 1}
              const Py_ssize_t[::1] order,        # IN  (n_samples,) row visiting order
              Py_ssize_t batch_size, double alpha,
              int method, int flags, int adam_form, double b1, double b2, double eps,
              const double[::1] step_sizes,       # IN  (n_batches,)
              long long t_start,
              double[::1] theta,                  # IN/OUT (n_features + 1,)
              double[::1] s1, double[::1] s2, double[::1] s3,
              int average, long long avg_start, double avg_decay,
              double[::1] theta_avg,              # IN/OUT (n_features + 1,)
              double[::1] grad,                   # scratch (n_features + 1,)
              const double[::1] sw=None):         # IN  (n_samples,) row weights or None
    """:func:`logistic_epoch` for X in CSR form (n_features = len(theta) - 1).

    The minibatch gradient is accumulated from the stored entries of the batch's
    rows only; the update itself (and the ridge) acts on every coefficient, as in
    the dense kernel, so the iterates are those of the dense epoch up to rounding.
    """
    cdef Py_ssize_t n_samples = indptr.shape[0] - 1, n_features = theta.shape[0] - 1
    cdef const floating* dp = NULL
    cdef const index_t* ip = NULL
    check_csr(data, indices, indptr, n_features)
    _check_length(y.shape[0], n_samples, "y", "X.shape[0]")
    if indptr[n_samples] > 0:
        dp = &data[0]
        ip = &indices[0]
    return _epoch(dp, ip, &indptr[0], n_features, y, order, batch_size,
                  alpha, method, flags, adam_form, b1, b2, eps, step_sizes, t_start, theta,
                  s1, s2, s3, average, avg_start, avg_decay, theta_avg, grad, NULL, sw,
                  "len(theta)")
