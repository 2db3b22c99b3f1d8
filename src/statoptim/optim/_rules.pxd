# The update rules, the running averages and the sigmoid shared by the compiled
# optimiser kernels (_sgd_fast.pyx: logistic epochs; _softmax_fast.pyx: softmax
# epochs): cdef inline functions, so each kernel compiles them into its own loops.
from libc.math cimport exp, fabs, pow, sqrt

from statoptim.optim._codes cimport (
    A_ALGORITHM1, A_EFFICIENT, F_AMSGRAD, F_EPS_INSIDE, F_NESTEROV,
    M_ADAM, M_ADAMAX, M_MOMENTUM, M_RMSPROP, M_SGD,
)

# Averaging of the iterates.
cdef enum:
    AVG_NONE = 0
    AVG_POLYAK = 1
    AVG_EMA = 2


cdef inline double sigmoid(double z) noexcept nogil:
    """1 / (1 + exp(-z)) without overflow."""
    cdef double e
    if z >= 0.0:
        e = exp(-z)
        return 1.0 / (1.0 + e)
    e = exp(z)
    return e / (1.0 + e)


cdef inline void update_rule(int method, int flags, int adam_form, double b1, double b2,
                             double eps, long long t, double lr, Py_ssize_t n_coef,
                             const double* g, double* theta, double* s1, double* s2,
                             double* s3, double* pg, double* pp) noexcept nogil:
    """One update theta_t = theta_{t-1} - ... at step t >= 1 with step size lr.

    State: momentum v = s1; RMSprop S = s1; Adam m = s1, v = s2, v_max = s3;
    Adamax m = s1, u = s2. b1 is mu (momentum), rho (RMSprop) or beta1 (Adam).
    For Adam, when ``pg`` is not NULL, also pg = p.g and pp = p.p of the step p
    taken (the SWATS projection, Keskar & Socher 2017, Algorithm 1, lines 14-21).
    """
    cdef Py_ssize_t j
    cdef double gj, v, bc1, bc2, a_t, eps_hat, denom, mhat, vhat, old, step
    cdef bint project = pg != NULL
    if project:
        pg[0] = 0.0
        pp[0] = 0.0
    if method == M_SGD:
        for j in range(n_coef):
            theta[j] = theta[j] - lr * g[j]
    elif method == M_MOMENTUM:
        for j in range(n_coef):
            gj = g[j]
            s1[j] = b1 * s1[j] + (1.0 - b1) * gj
            if flags & F_NESTEROV:
                theta[j] = theta[j] - lr * (b1 * s1[j] + (1.0 - b1) * gj)
            else:
                theta[j] = theta[j] - lr * s1[j]
    elif method == M_RMSPROP:
        for j in range(n_coef):
            gj = g[j]
            s1[j] = b1 * s1[j] + (1.0 - b1) * (gj * gj)
            if flags & F_EPS_INSIDE:
                denom = sqrt(s1[j] + eps)
            else:
                denom = sqrt(s1[j]) + eps
            theta[j] = theta[j] - lr * gj / denom
    elif method == M_ADAM:
        bc1 = 1.0 - pow(b1, <double>t)
        bc2 = 1.0 - pow(b2, <double>t)
        a_t = lr * sqrt(bc2) / bc1
        eps_hat = eps * sqrt(bc2)
        for j in range(n_coef):
            gj = g[j]
            s1[j] = b1 * s1[j] + (1.0 - b1) * gj
            s2[j] = b2 * s2[j] + (1.0 - b2) * (gj * gj)
            if flags & F_AMSGRAD:
                if s2[j] > s3[j]:
                    s3[j] = s2[j]
                v = s3[j]
            else:
                v = s2[j]
            old = theta[j]
            if adam_form == A_ALGORITHM1:
                mhat = s1[j] / bc1
                vhat = v / bc2
                theta[j] = old - lr * mhat / (sqrt(vhat) + eps)
            elif adam_form == A_EFFICIENT:
                theta[j] = old - a_t * s1[j] / (sqrt(v) + eps_hat)
            else:
                theta[j] = old - a_t * s1[j] / (sqrt(v) + eps)
            if project:
                step = theta[j] - old
                pg[0] = pg[0] + step * gj
                pp[0] = pp[0] + step * step
    elif method == M_ADAMAX:
        bc1 = 1.0 - pow(b1, <double>t)
        for j in range(n_coef):
            gj = g[j]
            s1[j] = b1 * s1[j] + (1.0 - b1) * gj
            v = b2 * s2[j]
            s2[j] = v if v > fabs(gj) else fabs(gj)
            if s2[j] > 0.0:
                theta[j] = theta[j] - (lr / bc1) * s1[j] / s2[j]


cdef inline void average_step(int average, long long t, long long avg_start, double decay,
                              Py_ssize_t n_coef, const double* theta,
                              double* theta_avg) noexcept nogil:
    """Polyak-Ruppert mean of theta_t over t > avg_start, or a raw EMA."""
    cdef Py_ssize_t j
    cdef double inv
    if average == AVG_POLYAK:
        if t <= avg_start:
            for j in range(n_coef):
                theta_avg[j] = theta[j]
        else:
            inv = 1.0 / <double>(t - avg_start)
            for j in range(n_coef):
                theta_avg[j] = theta_avg[j] + (theta[j] - theta_avg[j]) * inv
    elif average == AVG_EMA:
        for j in range(n_coef):
            theta_avg[j] = decay * theta_avg[j] + (1.0 - decay) * theta[j]
