# Small scalar helpers shared by the kernels (header-only, nogil).


cdef inline double check_loss(double r, double q) noexcept nogil:
    """Check (pinball) loss rho_q(r) = r * (q - I(r < 0)) >= 0."""
    return r * q if r >= 0.0 else r * (q - 1.0)
