# Compiled update rules of the optimiser objects of statoptim.optim (SGD, Momentum,
# RMSprop, Adam, AdamW, Adamax, SWATS) for float32 and float64 parameters.
#
# Design:
# - One parameter array per call; the parameter, its gradient and its state arrays
#   share the `floating` dtype (state is kept in the parameter's dtype, as torch.optim
#   does). The rules are those of the epoch kernels (_rules.pxd, update_rule): each
#   element's update is computed in double and rounded once when stored, so for
#   float64 and no weight decay the optimiser objects and `minimize` give
#   bit-identical iterates.
# - Weight decay: coupled (L2 in the gradient) g_j <- g_j + wd * theta_j before the rule;
#   decoupled (AdamW) theta_j <- theta_j (1 - lr_t * wd) before the rule (torch's form).
# - The wrapper (_optimizers.py) validates the arguments, makes the arrays contiguous
#   and of one dtype, passes copies of the parameter and state and commits them only
#   when the result is finite; this kernel checks the lengths against each other.
# - Returns (p.g, p.p) for the step p = theta_new - theta_old and the gradient g used,
#   accumulated in double: the projection of SWATS (Keskar & Socher 2017) needs them.
from cython cimport floating

from statoptim.optim._codes cimport A_ALGORITHM1, A_CONSTANT_EPS_HAT, M_ADAMAX, M_SGD
from statoptim.optim._rules cimport update_rule


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
    cdef Py_ssize_t n = theta.shape[0]
    cdef double pg = 0.0, pp = 0.0
    cdef double shrink = 1.0 if decoupled_decay == 0.0 else 1.0 - lr * decoupled_decay
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
        update_rule(method, flags, adam_form, b1, b2, eps, t, lr, weight_decay, shrink, n,
                    &grad[0], &theta[0], &s1[0], &s2[0], &s3[0], &pg, &pp)
    return pg, pp
