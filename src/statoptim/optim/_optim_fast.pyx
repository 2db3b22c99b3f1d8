# Compiled update rules of the optimiser objects of statoptim.optim (SGD, Momentum,
# RMSprop, Adam, AdamW, Adamax, SWATS) for float32 and float64 parameters.
#
# Design:
# - One parameter array per call; the parameter, its gradient and its state arrays
#   share the `floating` dtype (state is kept in the parameter's dtype, as torch.optim
#   does). Each element's update is computed in double and rounded once when stored.
# - For float64 and no weight decay the arithmetic is, operation for operation, that of
#   `_update` in _sgd_fast.pyx (the kernel of `minimize` and LogisticRegression), so the
#   optimiser objects and `minimize` give bit-identical iterates.
# - Weight decay: coupled (L2 in the gradient) g_j <- g_j + wd * theta_j before the rule;
#   decoupled (AdamW) theta_j <- theta_j (1 - lr_t * wd) before the rule (torch's form).
# - The wrapper (_optimizers.py) validates the arguments, makes the arrays contiguous
#   and of one dtype, passes copies of the parameter and state and commits them only
#   when the result is finite; this kernel checks the lengths against each other.
# - Returns (p.g, p.p) for the step p = theta_new - theta_old and the gradient g used,
#   accumulated in double: the projection of SWATS (Keskar & Socher 2017) needs them.
from cython cimport floating
from libc.math cimport sqrt, fabs, pow

from statoptim.optim._codes cimport (
    A_ALGORITHM1, A_CONSTANT_EPS_HAT, A_EFFICIENT, F_AMSGRAD, F_EPS_INSIDE, F_NESTEROV,
    M_ADAM, M_ADAMAX, M_MOMENTUM, M_RMSPROP, M_SGD,
)


def update(int method, int flags, int adam_form, double b1, double b2, double eps,
           long long t, double lr, double weight_decay, double decoupled_decay,
           const floating[::1] grad,      # IN  (n,)
           floating[::1] theta,           # IN/OUT (n,)
           floating[::1] s1, floating[::1] s2, floating[::1] s3):   # IN/OUT state (n,)
    """Apply one update of ``method`` at step ``t`` (>= 1) with step size ``lr`` in place.

    State: momentum v = s1; RMSprop S = s1; Adam m = s1, v = s2, v_max = s3; Adamax
    m = s1, u = s2. ``b1`` is mu (momentum), rho (RMSprop) or beta1 (Adam, Adamax).
    Returns ``(p @ g, p @ p)`` for the step p taken and the gradient g used (after
    the coupled weight decay).
    """
    cdef Py_ssize_t n = theta.shape[0], j
    cdef double gj, th, v, m, bc1, bc2, a_t, eps_hat, denom, mhat, vhat, d
    cdef double pg = 0.0, pp = 0.0
    cdef double shrink = 1.0 - lr * decoupled_decay
    if method < M_SGD or method > M_ADAMAX:
        raise ValueError(f"method code must be in [0, 4], got {method}")
    if adam_form < A_ALGORITHM1 or adam_form > A_CONSTANT_EPS_HAT:
        raise ValueError(f"adam_form code must be in [0, 2], got {adam_form}")
    if t < 1:
        raise ValueError(f"t must be >= 1 (the step being taken), got {t}")
    for name, length in (("grad", grad.shape[0]), ("s1", s1.shape[0]), ("s2", s2.shape[0]),
                         ("s3", s3.shape[0])):
        if length != n:
            raise ValueError(f"{name} must have len(theta) = {n} entries, got {length}")
    if n == 0:
        return 0.0, 0.0
    with nogil:
        bc1 = 1.0 - pow(b1, <double>t)
        bc2 = 1.0 - pow(b2, <double>t)
        a_t = lr * sqrt(bc2) / bc1
        eps_hat = eps * sqrt(bc2)
        for j in range(n):
            gj = grad[j]
            th = theta[j]
            if weight_decay != 0.0:
                gj = gj + weight_decay * th
            if decoupled_decay != 0.0:
                th = th * shrink
            if method == M_SGD:
                th = th - lr * gj
            elif method == M_MOMENTUM:
                s1[j] = <floating>(b1 * s1[j] + (1.0 - b1) * gj)
                if flags & F_NESTEROV:
                    th = th - lr * (b1 * s1[j] + (1.0 - b1) * gj)
                else:
                    th = th - lr * s1[j]
            elif method == M_RMSPROP:
                s1[j] = <floating>(b1 * s1[j] + (1.0 - b1) * (gj * gj))
                if flags & F_EPS_INSIDE:
                    denom = sqrt(s1[j] + eps)
                else:
                    denom = sqrt(s1[j]) + eps
                th = th - lr * gj / denom
            elif method == M_ADAM:
                s1[j] = <floating>(b1 * s1[j] + (1.0 - b1) * gj)
                s2[j] = <floating>(b2 * s2[j] + (1.0 - b2) * (gj * gj))
                if flags & F_AMSGRAD:
                    if s2[j] > s3[j]:
                        s3[j] = s2[j]
                    v = s3[j]
                else:
                    v = s2[j]
                m = s1[j]
                if adam_form == A_ALGORITHM1:
                    mhat = m / bc1
                    vhat = v / bc2
                    th = th - lr * mhat / (sqrt(vhat) + eps)
                elif adam_form == A_EFFICIENT:
                    th = th - a_t * m / (sqrt(v) + eps_hat)
                else:
                    th = th - a_t * m / (sqrt(v) + eps)
            else:
                s1[j] = <floating>(b1 * s1[j] + (1.0 - b1) * gj)
                v = b2 * s2[j]
                s2[j] = <floating>(v if v > fabs(gj) else fabs(gj))
                if s2[j] > 0.0:
                    th = th - (lr / bc1) * s1[j] / s2[j]
            d = <double>(<floating>th) - <double>theta[j]
            theta[j] = <floating>th
            pg = pg + d * gj
            pp = pp + d * d
    return pg, pp
