# Nadaraya-Watson kernel sums for the missingness propensity.
#
# Design
# ------
# For rows i = 0..n-1 of the scaled coordinates v_i = (x_i - mean) / (sd * h)
# (standardised, then divided by the per-dimension bandwidth; the wrapper in
# `_ipw.py` does this), the exact kernel computes
#     numer_i = sum_j K(v_i - v_j) delta_j,   denom_i = sum_j K(v_i - v_j),
#     K(v) = exp(-0.5 * sum_k v_k^2)          (product Gaussian, spec section 4),
# with j = i included unless `leave_one_out` (then the j = i term is skipped,
# not subtracted, so no cancellation). Rows run in parallel (`prange`, static
# schedule); each row walks j in blocks of BLOCK columns: the squared
# distances of a block are accumulated dimension by dimension into a
# per-thread scratch row (contiguous loads, vectorisable), exponentiated in
# place, then reduced into the row's two sums. Memory: O(n d) input plus
# n_threads * BLOCK scratch, allocated by the wrapper; never n x n.
#
# The coordinates are passed transposed, shape (n_features, n_samples), so a
# block of one coordinate is contiguous.
#
# Nothing here allocates, holds the GIL in a loop or warns.

from cython.parallel cimport prange, threadid
from libc.math cimport exp

cdef enum:
    BLOCK = 512


def nw_exact(const double[:, ::1] coords_t,   # IN  (n_features, n_samples) scaled coordinates
             const double[::1] complete,      # IN  (n_samples,) 1.0 = row complete, else 0.0
             bint leave_one_out,              # IN  skip the j = i term
             double[::1] numer_out,           # OUT (n_samples,) sum_j K_ij delta_j
             double[::1] denom_out,           # OUT (n_samples,) sum_j K_ij
             double[:, ::1] scratch,          # SCRATCH (n_threads, BLOCK)
             int n_threads):
    """Exact Nadaraya-Watson numerator and denominator, O(n^2 d) time, O(n d) memory."""
    cdef Py_ssize_t n_features = coords_t.shape[0]
    cdef Py_ssize_t n_samples = coords_t.shape[1]
    cdef Py_ssize_t i, jb, jj, nb, k
    cdef int tid
    cdef double num, den, vik, diff, a0, a1, a2, a3, b0, b1, b2, b3
    cdef double* buf
    cdef const double* col
    cdef const double* cmp
    if scratch.shape[0] < n_threads or scratch.shape[1] < BLOCK:
        raise ValueError("scratch must have shape at least (n_threads, %d)" % BLOCK)
    if n_samples == 0:
        return
    for i in prange(n_samples, nogil=True, schedule='static', num_threads=n_threads):
        tid = threadid()
        buf = &scratch[tid, 0]
        num = 0.0
        den = 0.0
        jb = 0
        while jb < n_samples:
            nb = n_samples - jb
            if nb > BLOCK:
                nb = BLOCK
            for jj in range(nb):
                buf[jj] = 0.0
            for k in range(n_features):
                vik = coords_t[k, i]
                col = &coords_t[k, jb]
                for jj in range(nb):
                    diff = vik - col[jj]
                    buf[jj] = buf[jj] + diff * diff
            for jj in range(nb):
                buf[jj] = exp(-0.5 * buf[jj])
            if leave_one_out and jb <= i < jb + nb:
                buf[i - jb] = 0.0
            cmp = &complete[jb]
            a0 = 0.0
            a1 = 0.0
            a2 = 0.0
            a3 = 0.0
            b0 = 0.0
            b1 = 0.0
            b2 = 0.0
            b3 = 0.0
            jj = 0
            while jj + 4 <= nb:
                a0 = a0 + buf[jj] * cmp[jj]
                a1 = a1 + buf[jj + 1] * cmp[jj + 1]
                a2 = a2 + buf[jj + 2] * cmp[jj + 2]
                a3 = a3 + buf[jj + 3] * cmp[jj + 3]
                b0 = b0 + buf[jj]
                b1 = b1 + buf[jj + 1]
                b2 = b2 + buf[jj + 2]
                b3 = b3 + buf[jj + 3]
                jj = jj + 4
            while jj < nb:
                a0 = a0 + buf[jj] * cmp[jj]
                b0 = b0 + buf[jj]
                jj = jj + 1
            num = num + ((a0 + a1) + (a2 + a3))
            den = den + ((b0 + b1) + (b2 + b3))
            jb = jb + nb
        numer_out[i] = num
        denom_out[i] = den


BLOCK_SIZE = BLOCK  # columns per block; the wrapper sizes the scratch with it
