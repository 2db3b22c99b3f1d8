# Beran's local Kaplan-Meier estimator (conditional product-limit estimator).
#
# Design
# ------
# Sources k = 0..n-1 are the observations, sorted by time in DESCENDING order
# (ties adjacent), with scaled covariates v_k = (z_k - mean) / (sd * h) (the
# wrapper in `_ipw.py` standardises, divides by the bandwidth and sorts), a
# weight w_k >= 0 and an indicator e_k (1 = an "event" of the survival being
# estimated: a failure for the survival of T, a censoring for the censoring
# survival G). At a target covariate u the kernel weights are
#     b_k(u) = w_k exp(-0.5 |u - v_k|^2)          (product Gaussian kernel)
# and, over the distinct times s_1 > s_2 > ... (tie groups g),
#     S(t | u) = prod_{g: s_g <= t} R_g^- / R_g,   R_g = sum_{k: time_k >= s_g} b_k(u),
#     R_g^- = R_g - sum_{k in g, e_k = 1} b_k(u)  (formed as a sum, not a difference),
# (Beran 1981; with b_k = 1 it is the Kaplan-Meier estimator, ties grouped
# as in `_km.pyx`). `left` asks for the left limit S(t- | u) (groups s_g < t).
# A group whose risk-set mass R_g underflows to 0 leaves S unchanged.
#
# beran_rows:  one target (u_a, t_a) per output, the exact sums: each target
#              sweeps all n sources once in descending time, so R_g is a
#              running sum; O(m n d) time for m targets, O(n d) memory,
#              targets dealt to threads (prange); each output is computed by
#              one thread in a fixed order, so the result does not depend on
#              the number of threads.
# beran_nodes: the same sums at the nodes of a grid in the covariate space
#              (binned method). For each node a first pass (descending)
#              stores log R_g^- / R_g at each group's last position in a
#              per-thread scratch row, a second pass (ascending time) forms
#              the running log-product and writes log S(t_i | node) for the
#              target rows i whose grid cell has the node as a corner, into
#              out[i, corner]: each entry is written once, by one thread.
#
# The kernel values of a block of sources are computed by the vectorised C
# helpers below (squared distances, then w * exp(-0.5 d^2)); the scans over
# a block (tie groups, products) are scalar. Nothing here allocates, holds
# the GIL in a loop or warns; every n x n quantity is streamed, never stored.

from cython.parallel cimport prange, threadid
from libc.math cimport log

# Block helpers, verbatim C so that they vectorise; the squared distances and the
# branch-free exp are shared with `_propensity.pyx` (statoptim/_cy/gauss_kernel.h):
#   bk_sqdist_block: buf[j] = sum_k (u_k - src_t[k, jb + j])^2
#   bk_weight_block: buf[j] = w[j] * exp(-0.5 * buf[j]) (arguments below -708 give 0)
cdef extern from *:
    """
    #include "gauss_kernel.h"
    #define bk_sqdist_block gk_sqdist_block

    /* buf[j] = w[j] exp(-buf[j] / 2): kernel weights from squared distances. */
    GK_SIMD_CLONES
    static void bk_weight_block(const double *w, Py_ssize_t nb, double *buf)
    {
        Py_ssize_t j;
        GK_PRAGMA_SIMD
        for (j = 0; j < nb; j++) {
            buf[j] = w[j] * gk_exp_neg_half(buf[j]);
        }
    }
    """
    void bk_sqdist_block(const double* src_t, Py_ssize_t stride, Py_ssize_t n_features,
                         const double* u, Py_ssize_t jb, Py_ssize_t nb,
                         double* buf) noexcept nogil
    void bk_weight_block(const double* w, Py_ssize_t nb, double* buf) noexcept nogil


cdef enum:
    BLOCK = 512   # sources per block

BLOCK_SIZE = BLOCK

# log of a factor R^- / R that is exactly 0 (all the local mass had the event):
# far below any log-survival that matters, and finite, so that interpolation
# weights of 0 never meet -inf.
cdef double LOG_ZERO = -800.0


cdef int check_sources(const double[:, ::1] src_t, const double[::1] src_time,
                       const double[::1] src_w, const unsigned char[::1] src_event,
                       Py_ssize_t n_targets_features) except -1:
    cdef Py_ssize_t n = src_t.shape[1]
    if src_time.shape[0] != n or src_w.shape[0] != n or src_event.shape[0] != n:
        raise ValueError("src_time, src_w and src_event must have one entry per source")
    if n_targets_features != src_t.shape[0]:
        raise ValueError("the targets must have as many coordinates as the sources")
    return 0


cdef int check_threads(const double[:, ::1] scratch, int n_threads,
                       Py_ssize_t width) except -1:
    """``n_threads >= 1`` and a scratch row of at least ``width`` doubles per thread."""
    if n_threads < 1:
        raise ValueError("n_threads must be >= 1")
    if scratch.shape[0] < n_threads or scratch.shape[1] < width:
        raise ValueError(f"scratch must have shape at least (n_threads, {width}), got "
                         f"({scratch.shape[0]}, {scratch.shape[1]})")
    return 0


cdef inline Py_ssize_t kernel_block(const double* src_t, Py_ssize_t n, Py_ssize_t n_features,
                                    const double* src_w, const double* u, Py_ssize_t jb,
                                    double* buf) noexcept nogil:
    """Kernel weights at ``u`` of the sources ``jb, ..., jb + nb - 1`` into ``buf``; ``nb``."""
    cdef Py_ssize_t nb = n - jb
    if nb > BLOCK:
        nb = BLOCK
    bk_sqdist_block(src_t, n, n_features, u, jb, nb, buf)
    bk_weight_block(src_w + jb, nb, buf)
    return nb


def beran_rows(const double[:, ::1] src_t,        # IN  (d, n) scaled coordinates, time-descending
               const double[::1] src_time,        # IN  (n,) times, non-increasing
               const double[::1] src_w,           # IN  (n,) weights >= 0
               const unsigned char[::1] src_event,  # IN  (n,) 1 = event of this survival
               const double[:, ::1] targets,      # IN  (m, d) scaled target coordinates
               const double[::1] target_time,     # IN  (m,) times t_a
               bint left,                         # IN  left limit S(t- | u)
               double[::1] out,                   # OUT (m,) S(t_a | u_a)
               double[:, ::1] scratch,            # SCRATCH (n_threads, BLOCK)
               int n_threads):
    """Exact Beran survival at m targets, O(m n d) time, O(n d) memory.

    ``out[a] = prod_{g: s_g <= t_a} R_g^- / R_g`` (``s_g < t_a`` when ``left``)
    with the kernel weights of target ``a`` (see the module comment).
    """
    cdef Py_ssize_t n_features = src_t.shape[0], n = src_t.shape[1]
    cdef Py_ssize_t m = targets.shape[0]
    cdef Py_ssize_t a, jb, jj, j, nb
    cdef double r_prev, r_non, r_ev, prod, t_a, s, bk
    cdef double* buf
    check_sources(src_t, src_time, src_w, src_event, targets.shape[1])
    if target_time.shape[0] != m or out.shape[0] != m:
        raise ValueError("target_time and out must have one entry per target")
    check_threads(scratch, n_threads, BLOCK)
    if m == 0:
        return
    if n == 0 or n_features == 0:
        raise ValueError("at least one source and one coordinate are needed")
    for a in prange(m, nogil=True, schedule='dynamic', chunksize=8, num_threads=n_threads):
        buf = &scratch[threadid(), 0]
        t_a = target_time[a]
        r_prev = 0.0
        r_non = 0.0
        r_ev = 0.0
        prod = 1.0
        jb = 0
        while jb < n:
            nb = kernel_block(&src_t[0, 0], n, n_features, &src_w[0], &targets[a, 0], jb, buf)
            for jj in range(nb):
                j = jb + jj
                bk = buf[jj]
                if src_event[j]:
                    r_ev = r_ev + bk
                else:
                    r_non = r_non + bk
                if j == n - 1 or src_time[j + 1] != src_time[j]:  # end of a tie group
                    s = src_time[j]
                    if r_ev > 0.0 and (s < t_a or (s == t_a and not left)):
                        prod = prod * ((r_prev + r_non) / (r_prev + r_non + r_ev))
                    r_prev = r_prev + r_non + r_ev
                    r_non = 0.0
                    r_ev = 0.0
            jb = jb + nb
        out[a] = prod


def beran_nodes(const double[:, ::1] src_t,        # IN  (d, n) scaled coordinates, time-descending
                const double[::1] src_time,        # IN  (n,) times, non-increasing
                const double[::1] src_w,           # IN  (n,) weights >= 0
                const unsigned char[::1] src_event,  # IN (n,) 1 = event of this survival
                const double[::1] lo,              # IN  (d,) first node (scaled units)
                const double[::1] step,            # IN  (d,) node spacing
                const Py_ssize_t[::1] n_nodes,     # IN  (d,) nodes per axis
                const Py_ssize_t[:, ::1] lower,    # IN  (n, d) lower cell node of each source
                                                   #     row (sorted order); < 0 = not a target
                bint left,                         # IN  left limit S(t- | node)
                double[:, ::1] out,                # OUT (n, 2^d) log S(time_i | corner node)
                double[:, ::1] scratch,            # SCRATCH (n_threads, BLOCK + n + d)
                int n_threads):
    """Beran log-survival at the grid nodes, read off at each target row's time.

    For every target row ``i`` (``lower[i, 0] >= 0``; rows in the sorted
    order) and every corner ``c`` of its cell (bit ``k`` of ``c``: upper node
    along axis ``k``), ``out[i, c] = log S(time_i | node)`` (the left limit
    when ``left``). O(N n d) time for N nodes; each node's row of kernel
    values is streamed twice.
    """
    cdef Py_ssize_t n_features = src_t.shape[0], n = src_t.shape[1]
    cdef Py_ssize_t n_total, node, rest, k
    cdef double* buf
    cdef double* lf
    cdef double* u
    n_total = check_nodes(src_t, src_time, src_w, src_event, lo, step, n_nodes, lower, out)
    check_threads(scratch, n_threads, BLOCK + n + n_features)
    if n == 0:
        return
    for node in prange(n_total, nogil=True, schedule='dynamic', chunksize=1,
                       num_threads=n_threads):
        buf = &scratch[threadid(), 0]
        lf = buf + BLOCK
        u = lf + n
        rest = node
        for k in range(n_features - 1, -1, -1):  # row-major: last axis fastest
            u[k] = lo[k] + (rest % n_nodes[k]) * step[k]
            rest = rest // n_nodes[k]
        node_log_factors(&src_t[0, 0], &src_time[0], &src_w[0], &src_event[0], n, n_features,
                         u, buf, lf)
        node_read_off(&src_time[0], &lower[0, 0], &n_nodes[0], n, n_features, node, lf, left,
                      &out[0, 0])


cdef Py_ssize_t check_nodes(const double[:, ::1] src_t, const double[::1] src_time,
                            const double[::1] src_w, const unsigned char[::1] src_event,
                            const double[::1] lo, const double[::1] step,
                            const Py_ssize_t[::1] n_nodes, const Py_ssize_t[:, ::1] lower,
                            double[:, ::1] out) except -1:
    """The shapes of ``beran_nodes``' arguments; the number of grid nodes."""
    cdef Py_ssize_t n_features = src_t.shape[0], n = src_t.shape[1]
    cdef Py_ssize_t n_total = 1, j, k
    check_sources(src_t, src_time, src_w, src_event, lo.shape[0])
    if step.shape[0] != n_features or n_nodes.shape[0] != n_features:
        raise ValueError("lo, step and n_nodes must have one entry per coordinate")
    if n_features > 3 or n_features < 1:
        raise ValueError("the binned method supports 1 to 3 coordinates")
    for k in range(n_features):
        if n_nodes[k] < 2:
            raise ValueError("every axis of the grid needs at least 2 nodes")
        n_total *= n_nodes[k]
    if lower.shape[0] != n or lower.shape[1] != n_features:
        raise ValueError("lower must have shape (n_sources, d)")
    if out.shape[0] != n or out.shape[1] != (1 << n_features):
        raise ValueError("out must have shape (n_sources, 2^d)")
    for j in range(n):
        for k in range(n_features):
            if lower[j, k] > n_nodes[k] - 2:
                raise ValueError("lower holds a node index beyond the grid")
    return n_total


cdef void node_log_factors(const double* src_t, const double* src_time, const double* src_w,
                           const unsigned char* src_event, Py_ssize_t n, Py_ssize_t n_features,
                           const double* u, double* buf, double* lf) noexcept nogil:
    """Pass 1 (descending time): ``lf[j] = log R^- / R`` of the group ending at ``j``, else 0."""
    cdef Py_ssize_t jb = 0, jj, j, nb
    cdef double r_prev = 0.0, r_non = 0.0, r_ev = 0.0, bk
    while jb < n:
        nb = kernel_block(src_t, n, n_features, src_w, u, jb, buf)
        for jj in range(nb):
            j = jb + jj
            bk = buf[jj]
            lf[j] = 0.0
            if src_event[j]:
                r_ev = r_ev + bk
            else:
                r_non = r_non + bk
            if j == n - 1 or src_time[j + 1] != src_time[j]:
                if r_ev > 0.0:
                    if r_prev + r_non > 0.0:
                        lf[j] = log((r_prev + r_non) / (r_prev + r_non + r_ev))
                        if lf[j] < LOG_ZERO:
                            lf[j] = LOG_ZERO
                    else:
                        lf[j] = LOG_ZERO
                r_prev = r_prev + r_non + r_ev
                r_non = 0.0
                r_ev = 0.0
        jb = jb + nb


cdef void node_read_off(const double* src_time, const Py_ssize_t* lower,
                        const Py_ssize_t* n_nodes, Py_ssize_t n, Py_ssize_t n_features,
                        Py_ssize_t node, const double* lf, bint left,
                        double* out) noexcept nogil:
    """Pass 2 (ascending time): the running log-product at the rows ``node`` is a corner of.

    ``out`` is row-major with ``2^d`` corners a row; ``lower`` with ``d`` columns.
    """
    cdef Py_ssize_t n_corners = 1 << n_features, p, j, k, c, off, rest
    cdef double cum = 0.0, cum_before = 0.0
    cdef bint inside
    for p in range(n):
        j = n - 1 - p
        if j == n - 1 or src_time[j + 1] != src_time[j]:  # first of its group here
            cum_before = cum
            cum = cum + lf[j]
            if cum < LOG_ZERO:
                cum = LOG_ZERO
        # is this node a corner of row j's cell (a target)? which one?
        inside = lower[j * n_features] >= 0
        c = 0
        rest = node
        for k in range(n_features - 1, -1, -1):
            off = rest % n_nodes[k] - lower[j * n_features + k]  # 0 or 1 on a corner
            rest = rest // n_nodes[k]
            if off != 0 and off != 1:
                inside = False
            c = c + (off << k)
        if inside:
            if left:
                out[j * n_corners + c] = cum_before
            else:
                out[j * n_corners + c] = cum
