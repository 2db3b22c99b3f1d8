# The update rules, the running averages and the sigmoid shared by the compiled
# optimiser kernels (_sgd_fast.pyx: logistic epochs; _softmax_fast.pyx: softmax
# epochs; _optim_fast.pyx: the optimiser objects): cdef inline functions, so each
# kernel compiles them into its own loops.
from cython cimport floating
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


cdef inline double _load(const floating* g, floating* theta, Py_ssize_t j, double* gj,
                         double weight_decay, double shrink, bint plain) noexcept nogil:
    """gj = g[j]; returns theta[j], both after the weight decay (none if ``plain``):
    coupled g_j += wd theta_j, then decoupled theta_j *= shrink."""
    cdef double th = theta[j]
    gj[0] = g[j]
    if plain:
        return th
    if weight_decay != 0.0:
        gj[0] = gj[0] + weight_decay * th
    if shrink != 1.0:
        th = th * shrink
    return th


cdef inline void _store(floating* theta, Py_ssize_t j, double th, double gj, double* pg,
                        double* pp, bint plain) noexcept nogil:
    """theta[j] = th rounded to the array's dtype; unless ``plain``, adds the step taken
    d = theta_new - theta_old to pg += d gj and pp += d d."""
    cdef double d
    if not plain:
        d = <double>(<floating>th) - <double>theta[j]
        pg[0] = pg[0] + d * gj
        pp[0] = pp[0] + d * d
    theta[j] = <floating>th


cdef inline void _update_loops(int method, int flags, int adam_form, double b1, double b2,
                               double eps, long long t, double lr, double weight_decay,
                               double shrink, Py_ssize_t n_coef, const floating* g,
                               floating* theta, floating* s1, floating* s2, floating* s3,
                               double* pg, double* pp, bint plain) noexcept nogil:
    # One loop per rule, not one switch per element: with ``plain`` a constant, the
    # compiler drops the decay and the projection and vectorises the loops of SGD and
    # momentum (a switch inside the loop blocks that). One piece: the five rules.
    cdef Py_ssize_t j
    cdef double gj, th, v, bc1, bc2, a_t, eps_hat, denom, spg = 0.0, spp = 0.0
    if method == M_SGD:
        for j in range(n_coef):
            th = _load(g, theta, j, &gj, weight_decay, shrink, plain)
            _store(theta, j, th - lr * gj, gj, &spg, &spp, plain)
    elif method == M_MOMENTUM:
        for j in range(n_coef):
            th = _load(g, theta, j, &gj, weight_decay, shrink, plain)
            s1[j] = b1 * s1[j] + (1.0 - b1) * gj
            if flags & F_NESTEROV:
                th = th - lr * (b1 * s1[j] + (1.0 - b1) * gj)
            else:
                th = th - lr * s1[j]
            _store(theta, j, th, gj, &spg, &spp, plain)
    elif method == M_RMSPROP:
        for j in range(n_coef):
            th = _load(g, theta, j, &gj, weight_decay, shrink, plain)
            s1[j] = b1 * s1[j] + (1.0 - b1) * (gj * gj)
            if flags & F_EPS_INSIDE:
                denom = sqrt(s1[j] + eps)
            else:
                denom = sqrt(s1[j]) + eps
            _store(theta, j, th - lr * gj / denom, gj, &spg, &spp, plain)
    elif method == M_ADAM:
        bc1 = 1.0 - pow(b1, <double>t)
        bc2 = 1.0 - pow(b2, <double>t)
        a_t = lr * sqrt(bc2) / bc1
        eps_hat = eps * sqrt(bc2)
        for j in range(n_coef):
            th = _load(g, theta, j, &gj, weight_decay, shrink, plain)
            s1[j] = b1 * s1[j] + (1.0 - b1) * gj
            s2[j] = b2 * s2[j] + (1.0 - b2) * (gj * gj)
            if flags & F_AMSGRAD:
                if s2[j] > s3[j]:
                    s3[j] = s2[j]
                v = s3[j]
            else:
                v = s2[j]
            if adam_form == A_ALGORITHM1:
                th = th - lr * (s1[j] / bc1) / (sqrt(v / bc2) + eps)
            elif adam_form == A_EFFICIENT:
                th = th - a_t * s1[j] / (sqrt(v) + eps_hat)
            else:
                th = th - a_t * s1[j] / (sqrt(v) + eps)
            _store(theta, j, th, gj, &spg, &spp, plain)
    elif method == M_ADAMAX:
        bc1 = 1.0 - pow(b1, <double>t)
        for j in range(n_coef):
            th = _load(g, theta, j, &gj, weight_decay, shrink, plain)
            s1[j] = b1 * s1[j] + (1.0 - b1) * gj
            v = b2 * s2[j]
            s2[j] = v if v > fabs(gj) else fabs(gj)
            if s2[j] > 0.0:
                th = th - (lr / bc1) * s1[j] / s2[j]
            _store(theta, j, th, gj, &spg, &spp, plain)
    if not plain:
        pg[0] = spg
        pp[0] = spp


cdef inline void update_rule(int method, int flags, int adam_form, double b1, double b2,
                             double eps, long long t, double lr, double weight_decay,
                             double shrink, Py_ssize_t n_coef, const floating* g,
                             floating* theta, floating* s1, floating* s2, floating* s3,
                             double* pg, double* pp) noexcept nogil:
    """One update theta_t = theta_{t-1} - ... at step t >= 1 with step size lr.

    State: momentum v = s1; RMSprop S = s1; Adam m = s1, v = s2, v_max = s3;
    Adamax m = s1, u = s2. b1 is mu (momentum), rho (RMSprop) or beta1 (Adam).
    Each element is computed in double and rounded once when stored (float32
    arrays keep their state in float32, as torch.optim does). Weight decay
    (``_load``): ``weight_decay`` coupled, ``shrink`` = 1 - lr * decoupled decay
    (AdamW); 0.0 and 1.0 switch them off. When ``pg`` is not NULL, pg = p.g and
    pp = p.p of the step p taken and the gradient g used (the SWATS projection,
    Keskar & Socher 2017, Algorithm 1, lines 14-21).
    """
    cdef double unused
    cdef Py_ssize_t j
    if weight_decay == 0.0 and shrink == 1.0 and pg == NULL:
        if method == M_SGD:  # the loop in its simplest form (the compiler vectorises it)
            for j in range(n_coef):
                theta[j] = theta[j] - lr * g[j]
            return
        _update_loops(method, flags, adam_form, b1, b2, eps, t, lr, 0.0, 1.0, n_coef, g,
                      theta, s1, s2, s3, NULL, NULL, True)
    elif pg == NULL:
        _update_loops(method, flags, adam_form, b1, b2, eps, t, lr, weight_decay, shrink,
                      n_coef, g, theta, s1, s2, s3, &unused, &unused, False)
    else:
        _update_loops(method, flags, adam_form, b1, b2, eps, t, lr, weight_decay, shrink,
                      n_coef, g, theta, s1, s2, s3, pg, pp, False)


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
