# The minibatch epoch shared by the compiled epoch kernels (_sgd_fast.pyx: binary
# logistic; _softmax_fast.pyx: softmax and binary with SWATS): the settings and state
# arrays of an epoch (struct Epoch), the checks every epoch entry point makes, and the
# step that closes a batch (batch mean and ridge, the update, the running average).
# cdef inline functions, so each kernel compiles them into its own loops.
from libc.math cimport fabs, isfinite, pow

from statoptim.optim._codes cimport (
    A_ALGORITHM1, A_CONSTANT_EPS_HAT, M_ADAM, M_ADAMAX, M_MOMENTUM, M_SGD,
)
from statoptim.optim._rules cimport AVG_EMA, AVG_NONE, average_step, update_rule

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


cdef struct Epoch:
    # The update: codes of _codes.pxd, the rule's constants, the ridge alpha.
    int method, flags, adam_form
    double b1, b2, eps, alpha
    # Averaging of the iterates (AVG_* of _rules.pxd).
    int average
    long long avg_start
    double avg_decay
    # n_coef coefficients, the first K of them unpenalised intercepts.
    Py_ssize_t n_coef, K
    const double* step_sizes   # alpha_t of batch k of the epoch
    double* theta
    double* s1
    double* s2
    double* s3
    double* theta_avg
    double* grad               # the batch's gradient sum, filled by the kernel
    double* swats              # SWATS state (SW_LEN), or NULL: the plain method


cdef inline Py_ssize_t count_batches(Py_ssize_t n_samples,
                                     Py_ssize_t batch_size) noexcept nogil:
    return n_samples // batch_size + (n_samples % batch_size != 0)


cdef inline bint consecutive(const Py_ssize_t* rows, Py_ssize_t m) noexcept nogil:
    """Whether rows[0], ..., rows[m - 1] are consecutive rows of X."""
    cdef Py_ssize_t ii
    for ii in range(1, m):
        if rows[ii] != rows[ii - 1] + 1:
            return False
    return True


cdef inline int check_settings(Py_ssize_t batch_size, long long t_start, int method,
                               int adam_form, int average) except -1:
    """Raise ValueError unless the batch size, first step and codes are valid."""
    if batch_size < 1:
        raise ValueError(f"batch_size must be >= 1, got {batch_size}")
    if t_start < 0:
        raise ValueError(f"t_start must be >= 0, got {t_start}")
    if method < M_SGD or method > M_ADAMAX:
        raise ValueError(f"method code must be in [0, 4], got {method}")
    if adam_form < A_ALGORITHM1 or adam_form > A_CONSTANT_EPS_HAT:
        raise ValueError(f"adam_form code must be in [0, 2], got {adam_form}")
    if average < AVG_NONE or average > AVG_EMA:
        raise ValueError(f"average code must be in [0, 2], got {average}")
    return 0


cdef inline int check_steps(Py_ssize_t n_steps, Py_ssize_t n_batches) except -1:
    """Raise ValueError unless there is a step size for every batch."""
    if n_steps < n_batches:
        raise ValueError(f"step_sizes must hold one step size per batch ({n_batches}), "
                         f"got {n_steps}")
    return 0


cdef inline void _update(Epoch* ep, long long t, double lr) noexcept nogil:
    """One update; with SWATS on, Adam until the projected rate settles, then SGD with
    EMA momentum b1 (buffer s3, zero until the switch) at Lambda * lr / lr_switch."""
    cdef double pg, pp, gamma, lam_hat
    cdef double* sws = ep.swats
    if sws == NULL or sws[SW_ON] == 0.0:
        update_rule(ep.method, ep.flags, ep.adam_form, ep.b1, ep.b2, ep.eps, t, lr, 0.0, 1.0,
                    ep.n_coef, ep.grad, ep.theta, ep.s1, ep.s2, ep.s3, NULL, NULL)
        return
    if sws[SW_PHASE] != 0.0:
        update_rule(M_MOMENTUM, 0, ep.adam_form, ep.b1, ep.b2, ep.eps, t,
                    sws[SW_LAMBDA] * (lr / sws[SW_LR]), 0.0, 1.0, ep.n_coef, ep.grad,
                    ep.theta, ep.s3, ep.s1, ep.s2, NULL, NULL)
        return
    update_rule(M_ADAM, ep.flags, ep.adam_form, ep.b1, ep.b2, ep.eps, t, lr, 0.0, 1.0,
                ep.n_coef, ep.grad, ep.theta, ep.s1, ep.s2, ep.s3, &pg, &pp)
    # swats_projection (optim/_optimizers.py)
    if pg == 0.0 or not isfinite(pg) or not isfinite(pp):
        return
    gamma = pp / -pg
    sws[SW_LAM] = ep.b2 * sws[SW_LAM] + (1.0 - ep.b2) * gamma
    lam_hat = sws[SW_LAM] / (1.0 - pow(ep.b2, <double>t))
    if t > 1 and fabs(lam_hat - gamma) < sws[SW_TOL] and lam_hat > 0.0:
        sws[SW_PHASE] = 1.0
        sws[SW_LAMBDA] = lam_hat
        sws[SW_LR] = lr
        sws[SW_T] = <double>t


cdef inline long long end_batch(Epoch* ep, long long t, Py_ssize_t k,
                                Py_ssize_t m) noexcept nogil:
    """Close batch k of m rows: gradient = sum / m plus the coupled ridge alpha * theta
    (not on the intercepts), update t + 1 with step size step_sizes[k], then the running
    average. Returns t + 1."""
    cdef Py_ssize_t j
    cdef double inv = 1.0 / <double>m, alpha = ep.alpha
    cdef double* g = ep.grad
    cdef const double* th = ep.theta
    for j in range(ep.K):
        g[j] = g[j] * inv
    for j in range(ep.K, ep.n_coef):
        g[j] = g[j] * inv + alpha * th[j]
    t = t + 1
    _update(ep, t, ep.step_sizes[k])
    if ep.average != AVG_NONE:
        average_step(ep.average, t, ep.avg_start, ep.avg_decay, ep.n_coef, ep.theta,
                     ep.theta_avg)
    return t
