# Small scalar helpers shared by the kernels (header-only, nogil).
from libc.math cimport fabs


cdef inline double check_loss(double r, double q) noexcept nogil:
    """Check (pinball) loss rho_q(r) = r * (q - I(r < 0)) >= 0."""
    return r * q if r >= 0.0 else r * (q - 1.0)


cdef inline double soft_threshold(double x, double t) noexcept nogil:
    """sign(x) * max(|x| - t, 0)."""
    if x > t:
        return x - t
    if x < -t:
        return x + t
    return 0.0


cdef inline double hard_threshold(double x, double t) noexcept nogil:
    """x * I(|x| > t)."""
    return x if fabs(x) > t else 0.0
