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
# - The update rules are those of _sgd_fast (one definition, _rules.pxd, cimported
#   by both kernels). The Adam step also returns p.g and p.p for the SWATS
#   projection (Keskar & Socher 2017, Algorithm 1, lines 14-21; the rule of
#   optim._optimizers.swats_projection).
# - The wrapper (optim/_stochastic.py) allocates every array, draws the permutation
#   and precomputes the step sizes; the kernels check every shape against X before
#   their nogil loops, which run without bounds checks.
from cython cimport floating
from libc.limits cimport INT_MAX
from libc.math cimport exp, fabs, isfinite, pow

from statoptim._cy._blas cimport xgemm_nn, xgemm_tn
from statoptim.optim._codes cimport (
    A_ALGORITHM1, A_CONSTANT_EPS_HAT, M_ADAM, M_ADAMAX, M_MOMENTUM, M_SGD,
)

ctypedef fused index_t:
    int
    long long

from statoptim.optim._rules cimport (
    AVG_EMA, AVG_NONE, average_step as _average, sigmoid as _sigmoid,
    update_rule,
)

# Layout of the SWATS state array (in/out, float64, length SW_LEN).
cdef enum:
    SW_ON = 0         # 1: SWATS (method must be Adam), 0: plain method
    SW_PHASE = 1      # 0: Adam phase, 1: SGD phase
    SW_LAM = 2        # lambda_k, the EMA of the projected learning rates
    SW_LAMBDA = 3     # Lambda, the SGD learning rate chosen at the switch
    SW_LR = 4         # alpha_t at the switch (the schedule's decay is applied relative to it)
    SW_T = 5          # step t of the switch (0 before)
    SW_TOL = 6        # the paper's epsilon
    SW_LEN = 7


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
    cdef Py_ssize_t i, n_batches, n_labels = 2 if n_classes == 1 else n_classes
    if batch_size < 1:
        raise ValueError(f"batch_size must be >= 1, got {batch_size}")
    if n_features < 1 or n_features >= INT_MAX:
        raise ValueError(f"X must have between 1 and {INT_MAX - 1} columns, got {n_features}")
    if n_classes < 1 or n_classes >= INT_MAX:
        raise ValueError(f"theta must have at least one column (class), got {n_classes}")
    if t_start < 0:
        raise ValueError(f"t_start must be >= 0, got {t_start}")
    if method < M_SGD or method > M_ADAMAX:
        raise ValueError(f"method code must be in [0, 4], got {method}")
    if adam_form < A_ALGORITHM1 or adam_form > A_CONSTANT_EPS_HAT:
        raise ValueError(f"adam_form code must be in [0, 2], got {adam_form}")
    if average < AVG_NONE or average > AVG_EMA:
        raise ValueError(f"average code must be in [0, 2], got {average}")
    _check_length(y.shape[0], n_samples, "y", "X.shape[0]")
    _check_length(order.shape[0], n_samples, "order", "X.shape[0]")
    for name, arr in (("theta", theta), ("s1", s1), ("s2", s2), ("s3", s3),
                      ("theta_avg", theta_avg), ("grad", grad)):
        if arr.shape[0] != n_features + 1 or arr.shape[1] != n_classes:
            raise ValueError(f"{name} must have shape ({n_features + 1}, {n_classes}) = "
                             f"(X.shape[1] + 1, n_classes), got ({arr.shape[0]}, "
                             f"{arr.shape[1]})")
    n_batches = n_samples // batch_size + (n_samples % batch_size != 0)
    if step_sizes.shape[0] < n_batches:
        raise ValueError(f"step_sizes must hold one step size per batch ({n_batches}), "
                         f"got {step_sizes.shape[0]}")
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


cdef inline void _step(int method, int flags, int adam_form, double b1, double b2,
                       double eps, long long t, double lr, Py_ssize_t n_coef,
                       const double* g, double* theta, double* s1, double* s2, double* s3,
                       double* sws) noexcept nogil:
    """One update; with SWATS on, Adam until the projected rate settles, then SGD with
    EMA momentum b1 (buffer s3, zero until the switch) at Lambda * lr / lr_switch."""
    cdef double pg, pp, gamma, lam_hat
    if sws[SW_ON] == 0.0:
        update_rule(method, flags, adam_form, b1, b2, eps, t, lr, 0.0, 1.0, n_coef, g, theta,
                    s1, s2, s3, NULL, NULL)
        return
    if sws[SW_PHASE] != 0.0:
        update_rule(M_MOMENTUM, 0, adam_form, b1, b2, eps, t,
                    sws[SW_LAMBDA] * (lr / sws[SW_LR]), 0.0, 1.0, n_coef, g, theta, s3, s1, s2,
                    NULL, NULL)
        return
    update_rule(M_ADAM, flags, adam_form, b1, b2, eps, t, lr, 0.0, 1.0, n_coef, g, theta,
                s1, s2, s3, &pg, &pp)
    # swats_projection (optim/_optimizers.py)
    if pg == 0.0 or not isfinite(pg) or not isfinite(pp):
        return
    gamma = pp / -pg
    sws[SW_LAM] = b2 * sws[SW_LAM] + (1.0 - b2) * gamma
    lam_hat = sws[SW_LAM] / (1.0 - pow(b2, <double>t))
    if t > 1 and fabs(lam_hat - gamma) < sws[SW_TOL] and lam_hat > 0.0:
        sws[SW_PHASE] = 1.0
        sws[SW_LAMBDA] = lam_hat
        sws[SW_LR] = lr
        sws[SW_T] = <double>t


cdef inline void _finish_gradient(double* g, const double* th, Py_ssize_t n_features,
                                  Py_ssize_t K, Py_ssize_t m, double alpha) noexcept nogil:
    """Batch mean, plus the coupled ridge on W (not on the intercept row)."""
    cdef Py_ssize_t j
    cdef double inv = 1.0 / <double>m
    for j in range(K):
        g[j] = g[j] * inv
    for j in range(K, (n_features + 1) * K):
        g[j] = g[j] * inv + alpha * th[j]


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
    cdef Py_ssize_t K = theta.shape[1], n_coef
    cdef Py_ssize_t n_batches, kb, ii, i, j, start, stop, m
    cdef long long t = t_start
    cdef bint contiguous
    cdef const double* Xb
    cdef const double* wp = NULL
    cdef double wi
    cdef double* th
    cdef double* g
    cdef double* E
    _check_common(n_samples, n_features, K, y, order, batch_size, method, adam_form,
                  average, t_start, step_sizes, theta, s1, s2, s3, theta_avg, grad, ebuf,
                  swats, sw)
    if n_samples == 0:
        return t
    if xbuf.shape[0] < min(batch_size, n_samples) or xbuf.shape[1] != n_features:
        raise ValueError(f"xbuf must have shape (>= {min(batch_size, n_samples)}, "
                         f"{n_features}), got ({xbuf.shape[0]}, {xbuf.shape[1]})")
    if min(batch_size, n_samples) >= INT_MAX:
        raise ValueError(f"batch_size must be below {INT_MAX} (BLAS sizes are 32-bit)")
    n_coef = (n_features + 1) * K
    n_batches = n_samples // batch_size + (n_samples % batch_size != 0)
    if sw is not None:
        wp = &sw[0]
    th = &theta[0, 0]
    g = &grad[0, 0]
    E = &ebuf[0, 0]
    with nogil:
        for kb in range(n_batches):
            start = kb * batch_size
            stop = start + batch_size
            if stop > n_samples:
                stop = n_samples
            m = stop - start
            contiguous = floating is double
            if contiguous:
                for ii in range(start + 1, stop):
                    if order[ii] != order[ii - 1] + 1:
                        contiguous = False
                        break
            if contiguous:
                Xb = <const double*>&X[order[start], 0]
            else:
                for ii in range(m):
                    i = order[start + ii]
                    for j in range(n_features):
                        xbuf[ii, j] = <double>X[i, j]
                Xb = &xbuf[0, 0]
            # E = X_B @ W, then the weighted residuals, then G_W = X_B^T @ R
            xgemm_nn(m, n_features, K, 1.0, Xb, th + K, 0.0, E)
            for j in range(K):
                g[j] = 0.0
            for ii in range(m):
                i = order[start + ii]
                wi = 1.0 if wp == NULL else wp[i]
                _residuals(E + ii * K, K, th, y[i], wi)
                for j in range(K):
                    g[j] = g[j] + E[ii * K + j]
            xgemm_tn(m, n_features, K, 1.0, Xb, E, 0.0, g + K)
            _finish_gradient(g, th, n_features, K, m, alpha)
            t = t + 1
            _step(method, flags, adam_form, b1, b2, eps, t, step_sizes[kb], n_coef, g, th,
                  &s1[0, 0], &s2[0, 0], &s3[0, 0], &swats[0])
            if average != AVG_NONE:
                _average(average, t, avg_start, avg_decay, n_coef, th, &theta_avg[0, 0])
    return t


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
    cdef Py_ssize_t n_samples = indptr.shape[0] - 1, K = theta.shape[1]
    cdef Py_ssize_t n_features = theta.shape[0] - 1, n_coef
    cdef Py_ssize_t n_batches, kb, ii, i, j, l, c, start, stop, m
    cdef long long t = t_start
    cdef const double* wp = NULL
    cdef double wi, x
    cdef double* th
    cdef double* g
    cdef double* E
    cdef double* e
    cdef const double* w
    if n_samples < 0:
        raise ValueError("indptr must hold n_samples + 1 >= 1 offsets, got 0")
    _check_common(n_samples, n_features, K, y, order, batch_size, method, adam_form,
                  average, t_start, step_sizes, theta, s1, s2, s3, theta_avg, grad, ebuf,
                  swats, sw)
    if indptr[0] != 0 or indptr[n_samples] > data.shape[0] \
            or indptr[n_samples] > indices.shape[0]:
        raise ValueError("indptr must start at 0 and end within data and indices")
    for i in range(n_samples):
        if indptr[i + 1] < indptr[i]:
            raise ValueError(f"indptr must be non-decreasing, got a drop at row {i}")
    for l in range(indptr[n_samples]):
        if indices[l] < 0 or indices[l] >= n_features:
            raise ValueError(f"indices must lie in [0, {n_features}), got {indices[l]} at "
                             f"entry {l}")
    if n_samples == 0:
        return t
    n_coef = (n_features + 1) * K
    n_batches = n_samples // batch_size + (n_samples % batch_size != 0)
    if sw is not None:
        wp = &sw[0]
    th = &theta[0, 0]
    g = &grad[0, 0]
    E = &ebuf[0, 0]
    with nogil:
        for kb in range(n_batches):
            start = kb * batch_size
            stop = start + batch_size
            if stop > n_samples:
                stop = n_samples
            m = stop - start
            for j in range(n_coef):
                g[j] = 0.0
            for ii in range(m):
                i = order[start + ii]
                e = E + ii * K
                for c in range(K):
                    e[c] = 0.0
                for l in range(indptr[i], indptr[i + 1]):
                    x = <double>data[l]
                    w = th + (1 + indices[l]) * K
                    for c in range(K):
                        e[c] = e[c] + x * w[c]
                wi = 1.0 if wp == NULL else wp[i]
                _residuals(e, K, th, y[i], wi)
                for c in range(K):
                    g[c] = g[c] + e[c]
                for l in range(indptr[i], indptr[i + 1]):
                    x = <double>data[l]
                    j = (1 + indices[l]) * K
                    for c in range(K):
                        g[j + c] = g[j + c] + x * e[c]
            _finish_gradient(g, th, n_features, K, m, alpha)
            t = t + 1
            _step(method, flags, adam_form, b1, b2, eps, t, step_sizes[kb], n_coef, g, th,
                  &s1[0, 0], &s2[0, 0], &s3[0, 0], &swats[0])
            if average != AVG_NONE:
                _average(average, t, avg_start, avg_decay, n_coef, th, &theta_avg[0, 0])
    return t
