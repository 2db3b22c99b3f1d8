# Compiled minibatch epochs for multinomial (softmax) logistic regression, and for the
# binary model when it needs what the binary kernel of _sgd_fast.pyx has not: SWATS.
#
# Design:
# - The objective is F(W, b) = mean_i w_i [logsumexp_k(eta_ik) - eta_{i y_i}]
#   + alpha/2 ||W||^2, eta_i = b + x_i W (optim/_multinomial.py). With K = 1 column
#   the kernel is the binary model: eta_i = b + x_i . w and the residual
#   sigma(eta_i) - y_i (y_i in {0, 1}), as in _sgd_fast.logistic_epoch.
# - theta is stored TRANSPOSED as a C-contiguous (p + 1, K) array, intercepts in row 0:
#   a minibatch is then two BLAS-3 products on C-contiguous arrays, E = X_B @ W
#   (batch x p @ p x K) and G_W = X_B^T @ R (p x batch @ batch x K), and a CSR row
#   touches K contiguous values per stored entry. The Python side transposes once.
# - Rows of a batch that are not consecutive in X (shuffled epochs), and float32
#   rows, are first gathered into a float64 (batch, p) scratch block: one read of the
#   rows, after which the products run at BLAS speed; consecutive float64 rows are
#   used in place.
# - The update rules, the batch step and SWATS (Keskar & Socher 2017, Algorithm 1; the
#   rule of optim._optimizers.swats_projection) are those of _sgd_fast: one definition
#   in _rules.pxd and _epoch.pxd, cimported by both kernels. One epoch body (_epoch,
#   _batch_gradient) serves X dense (indptr NULL) and in CSR form.
# - The wrapper (optim/_stochastic.py) allocates every array, draws the permutation
#   and precomputes the step sizes; the kernels check every shape against X before
#   their nogil loops, which run without bounds checks.
from cython cimport floating
from libc.limits cimport INT_MAX
from libc.math cimport exp

from statoptim._cy._blas cimport xgemm_nn, xgemm_tn
from statoptim.optim._csr cimport check_csr, index_t
from statoptim.optim._epoch cimport (
    SW_LEN, SW_ON, Epoch, check_settings, check_steps, consecutive, count_batches,
    end_batch,
)
from statoptim.optim._codes cimport M_ADAM
from statoptim.optim._rules cimport sigmoid as _sigmoid


cdef int _check_length(Py_ssize_t got, Py_ssize_t want, str name, str what) except -1:
    if got != want:
        raise ValueError(f"{name} must have {what} = {want} entries, got {got}")
    return 0


cdef int _check_common(Py_ssize_t n_samples, Py_ssize_t n_features, Py_ssize_t n_classes,
                       const Py_ssize_t[::1] y, const Py_ssize_t[::1] order,
                       Py_ssize_t batch_size, int method, int adam_form, int average,
                       long long t_start, const double[::1] step_sizes,
                       double[:, ::1] theta, double[:, ::1] s1, double[:, ::1] s2,
                       double[:, ::1] s3, double[:, ::1] theta_avg, double[:, ::1] grad,
                       double[:, ::1] ebuf, double[::1] swats,
                       const double[::1] sw) except -1:
    """Every shape and code the nogil loop relies on (O(n) for the index arrays)."""
    cdef Py_ssize_t i, n_labels = 2 if n_classes == 1 else n_classes
    check_settings(batch_size, t_start, method, adam_form, average)
    if n_features < 1 or n_features >= INT_MAX:
        raise ValueError(f"X must have between 1 and {INT_MAX - 1} columns, got {n_features}")
    if n_classes < 1 or n_classes >= INT_MAX:
        raise ValueError(f"theta must have at least one column (class), got {n_classes}")
    _check_length(y.shape[0], n_samples, "y", "X.shape[0]")
    _check_length(order.shape[0], n_samples, "order", "X.shape[0]")
    for name, arr in (("theta", theta), ("s1", s1), ("s2", s2), ("s3", s3),
                      ("theta_avg", theta_avg), ("grad", grad)):
        if arr.shape[0] != n_features + 1 or arr.shape[1] != n_classes:
            raise ValueError(f"{name} must have shape ({n_features + 1}, {n_classes}) = "
                             f"(X.shape[1] + 1, n_classes), got ({arr.shape[0]}, "
                             f"{arr.shape[1]})")
    check_steps(step_sizes.shape[0], count_batches(n_samples, batch_size))
    if n_samples and (ebuf.shape[0] < min(batch_size, n_samples) or ebuf.shape[1] != n_classes):
        raise ValueError(f"ebuf must have shape (>= {min(batch_size, n_samples)}, {n_classes}), "
                         f"got ({ebuf.shape[0]}, {ebuf.shape[1]})")
    _check_length(swats.shape[0], SW_LEN, "swats", "the SWATS state length")
    if swats[SW_ON] != 0.0 and method != M_ADAM:
        raise ValueError("SWATS needs the Adam method code")
    if sw is not None:
        _check_length(sw.shape[0], n_samples, "sw", "X.shape[0]")
    for i in range(n_samples):
        if order[i] < 0 or order[i] >= n_samples:
            raise ValueError(f"order must hold row indices in [0, {n_samples}), got "
                             f"{order[i]} at position {i}")
        if y[i] < 0 or y[i] >= n_labels:
            raise ValueError(f"y must hold class indices in [0, {n_labels}), got {y[i]} at "
                             f"row {i}")
    return 0


cdef inline void _residuals(double* e, Py_ssize_t K, const double* b, Py_ssize_t yi,
                            double wi) noexcept nogil:
    """e[:K] (the row's x W) -> w_i (softmax(e + b) - onehot(y_i)); K = 1: sigmoid."""
    cdef Py_ssize_t k
    cdef double top, s
    if K == 1:
        e[0] = wi * (_sigmoid(e[0] + b[0]) - <double>yi)
        return
    top = e[0] + b[0]
    for k in range(K):
        e[k] = e[k] + b[k]
        if e[k] > top:
            top = e[k]
    s = 0.0
    for k in range(K):
        e[k] = exp(e[k] - top)
        s = s + e[k]
    s = 1.0 / s
    for k in range(K):
        e[k] = wi * (e[k] * s - (1.0 if k == yi else 0.0))


cdef void _residual_rows(double* E, Py_ssize_t m, Py_ssize_t K, const double* th,
                         const Py_ssize_t* y, const Py_ssize_t* rows, const double* wp,
                         double* g) noexcept nogil:
    """E (m, K), the batch rows' x W, -> their residuals w_i (softmax(eta_i) - e_{y_i});
    g[:K] = the residuals' column sums (the intercepts' gradient sums)."""
    cdef Py_ssize_t ii, i, j
    cdef double wi
    for j in range(K):
        g[j] = 0.0
    for ii in range(m):
        i = rows[ii]
        wi = 1.0 if wp == NULL else wp[i]
        _residuals(E + ii * K, K, th, y[i], wi)
        for j in range(K):
            g[j] = g[j] + E[ii * K + j]


cdef void _csr_rows_times(const floating* data, const index_t* indices,
                          const index_t* indptr, const Py_ssize_t* rows, Py_ssize_t m,
                          Py_ssize_t K, const double* W, double* E) noexcept nogil:
    """E[ii] = x_{rows[ii]} W for the m rows (W: (n_features, K), C order)."""
    cdef Py_ssize_t ii, i, l, c
    cdef double x
    cdef double* e
    cdef const double* w
    for ii in range(m):
        i = rows[ii]
        e = E + ii * K
        for c in range(K):
            e[c] = 0.0
        for l in range(indptr[i], indptr[i + 1]):
            x = <double>data[l]
            w = W + indices[l] * K
            for c in range(K):
                e[c] = e[c] + x * w[c]


cdef void _csr_rows_t_times(const floating* data, const index_t* indices,
                            const index_t* indptr, const Py_ssize_t* rows, Py_ssize_t m,
                            Py_ssize_t n_features, Py_ssize_t K, const double* E,
                            double* G) noexcept nogil:
    """G (n_features, K) = sum over the m rows of x_{rows[ii]}^T E[ii]."""
    cdef Py_ssize_t ii, i, j, l, c
    cdef double x
    cdef double* gj
    for j in range(n_features * K):
        G[j] = 0.0
    for ii in range(m):
        i = rows[ii]
        for l in range(indptr[i], indptr[i + 1]):
            x = <double>data[l]
            gj = G + indices[l] * K
            for c in range(K):
                gj[c] = gj[c] + x * E[ii * K + c]


cdef void _batch_gradient(const floating* data, const index_t* indices, const index_t* indptr,
                          Py_ssize_t n_features, Py_ssize_t K, const Py_ssize_t* y,
                          const Py_ssize_t* rows, Py_ssize_t m, const double* wp,
                          const double* th, double* g, double* E,
                          double* xbuf) noexcept nogil:
    """g (n_features + 1, K) = sum over the m ``rows`` of x~_i (w_i (softmax(eta_i) -
    e_{y_i}))^T; dense X (indptr NULL): E = X_B @ W and G_W = X_B^T @ R by BLAS, on the
    rows in place when float64 and consecutive, else gathered into ``xbuf``."""
    cdef Py_ssize_t ii, j
    cdef const double* xb = NULL
    if indptr == NULL:
        if floating is double and consecutive(rows, m):
            xb = <const double*>(data + rows[0] * n_features)
        else:
            for ii in range(m):
                for j in range(n_features):
                    xbuf[ii * n_features + j] = <double>data[rows[ii] * n_features + j]
            xb = xbuf
        xgemm_nn(m, n_features, K, 1.0, xb, th + K, 0.0, E)
    else:
        _csr_rows_times(data, indices, indptr, rows, m, K, th + K, E)
    _residual_rows(E, m, K, th, y, rows, wp, g)
    if indptr == NULL:
        xgemm_tn(m, n_features, K, 1.0, xb, E, 0.0, g + K)
    else:
        _csr_rows_t_times(data, indices, indptr, rows, m, n_features, K, E, g + K)


cdef long long _epoch(const floating* data, const index_t* indices, const index_t* indptr,
                      Py_ssize_t n_samples, Py_ssize_t n_features, const Py_ssize_t[::1] y,
                      const Py_ssize_t[::1] order, Py_ssize_t batch_size, double alpha,
                      int method, int flags, int adam_form, double b1, double b2, double eps,
                      const double[::1] step_sizes, long long t_start, double[:, ::1] theta,
                      double[:, ::1] s1, double[:, ::1] s2, double[:, ::1] s3, int average,
                      long long avg_start, double avg_decay, double[:, ::1] theta_avg,
                      double[:, ::1] grad, double* xbuf, double[:, ::1] ebuf,
                      double[::1] swats, const double[::1] sw) except -1:
    """Check the arguments shared by the dense and CSR epochs, then run the epoch."""
    cdef Py_ssize_t K = theta.shape[1], k, start, m
    cdef long long t = t_start
    cdef const double* wp = NULL
    cdef Epoch ep
    _check_common(n_samples, n_features, K, y, order, batch_size, method, adam_form,
                  average, t_start, step_sizes, theta, s1, s2, s3, theta_avg, grad, ebuf,
                  swats, sw)
    if n_samples == 0:
        return t
    if sw is not None:
        wp = &sw[0]
    ep = Epoch(method, flags, adam_form, b1, b2, eps, alpha, average, avg_start, avg_decay,
               (n_features + 1) * K, K, &step_sizes[0], &theta[0, 0], &s1[0, 0], &s2[0, 0],
               &s3[0, 0], &theta_avg[0, 0], &grad[0, 0], &swats[0])
    with nogil:
        for k in range(count_batches(n_samples, batch_size)):
            start = k * batch_size
            m = batch_size if start + batch_size < n_samples else n_samples - start
            _batch_gradient(data, indices, indptr, n_features, K, &y[0], &order[start], m, wp,
                            ep.theta, ep.grad, &ebuf[0, 0], xbuf)
            t = end_batch(&ep, t, k, m)
    return t


def softmax_epoch(const floating[:, ::1] X,       # IN  (n_samples, n_features)
                  const Py_ssize_t[::1] y,         # IN  (n_samples,) class index
                  const Py_ssize_t[::1] order,     # IN  (n_samples,) row visiting order
                  Py_ssize_t batch_size, double alpha,
                  int method, int flags, int adam_form, double b1, double b2, double eps,
                  const double[::1] step_sizes,    # IN  (n_batches,)
                  long long t_start,
                  double[:, ::1] theta,            # IN/OUT (n_features + 1, K)
                  double[:, ::1] s1, double[:, ::1] s2, double[:, ::1] s3,
                  int average, long long avg_start, double avg_decay,
                  double[:, ::1] theta_avg,        # IN/OUT (n_features + 1, K)
                  double[:, ::1] grad,             # scratch (n_features + 1, K)
                  double[:, ::1] xbuf,             # scratch (>= batch, n_features)
                  double[:, ::1] ebuf,             # scratch (>= batch, K)
                  double[::1] swats,               # IN/OUT SWATS state (SW_LEN,)
                  const double[::1] sw=None):      # IN  (n_samples,) row weights or None
    """One epoch of ceil(n / batch_size) minibatch updates of the softmax model (K =
    theta.shape[1] >= 2) or of the binary model (K = 1, y in {0, 1}).

    Batch k holds rows ``order[k*b:(k+1)*b]``; its gradient is the batch mean of
    x~_i (w_i (softmax(eta_i) - e_{y_i}))^T plus ``alpha * W``. Step t = t_start + k + 1
    uses ``step_sizes[k]``. Returns the last step t. Row weights ``sw`` (mean 1) scale
    each row's term, the batch sum is divided by the batch's row count (an unbiased
    minibatch gradient, exact for a full batch), as in ``logistic_epoch``.
    """
    cdef Py_ssize_t n_samples = X.shape[0], n_features = X.shape[1]
    cdef const floating* data = NULL
    if n_samples > 0 and (xbuf.shape[0] < min(batch_size, n_samples)
                          or xbuf.shape[1] != n_features):
        raise ValueError(f"xbuf must have shape (>= {min(batch_size, n_samples)}, "
                         f"{n_features}), got ({xbuf.shape[0]}, {xbuf.shape[1]})")
    if min(batch_size, n_samples) >= INT_MAX:
        raise ValueError(f"batch_size must be below {INT_MAX} (BLAS sizes are 32-bit)")
    if n_samples > 0 and n_features > 0:
        data = &X[0, 0]
    return _epoch(data, <const int*>NULL, <const int*>NULL, n_samples, n_features, y, order,
                  batch_size, alpha, method, flags, adam_form, b1, b2, eps, step_sizes,
                  t_start, theta, s1, s2, s3, average, avg_start, avg_decay, theta_avg, grad,
                  &xbuf[0, 0] if data != NULL else NULL, ebuf, swats, sw)


def softmax_csr_epoch(const floating[::1] data, const index_t[::1] indices,
                      const index_t[::1] indptr,   # X (n_samples, n_features) in CSR form
                      const Py_ssize_t[::1] y, const Py_ssize_t[::1] order,
                      Py_ssize_t batch_size, double alpha,
                      int method, int flags, int adam_form, double b1, double b2, double eps,
                      const double[::1] step_sizes, long long t_start,
                      double[:, ::1] theta,
                      double[:, ::1] s1, double[:, ::1] s2, double[:, ::1] s3,
                      int average, long long avg_start, double avg_decay,
                      double[:, ::1] theta_avg, double[:, ::1] grad,
                      double[:, ::1] ebuf, double[::1] swats,
                      const double[::1] sw=None):
    """:func:`softmax_epoch` for X in CSR form (n_features = theta.shape[0] - 1): the
    linear predictors and the gradient read the stored entries of the batch's rows
    only (K contiguous coefficients per entry); the update acts on every coefficient,
    so the iterates are those of the dense epoch up to rounding."""
    cdef Py_ssize_t n_features = theta.shape[0] - 1
    cdef const floating* dp = NULL
    cdef const index_t* ip = NULL
    check_csr(data, indices, indptr, n_features)
    if indptr[indptr.shape[0] - 1] > 0:
        dp = &data[0]
        ip = &indices[0]
    return _epoch(dp, ip, &indptr[0], indptr.shape[0] - 1, n_features, y, order, batch_size,
                  alpha, method, flags, adam_form, b1, b2, eps, step_sizes, t_start, theta, s1,
                  s2, s3, average, avg_start, avg_decay, theta_avg, grad, NULL, ebuf, swats, sw)
