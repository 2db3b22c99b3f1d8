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
# per-thread scratch row (contiguous loads, vectorised), then exponentiated
# and reduced into the row's two sums in one vectorised pass. Memory: O(n d)
# input plus n_threads * (BLOCK + d) scratch, allocated by the wrapper; never
# n x n.
#
# The coordinates are passed transposed, shape (n_features, n_samples), so a
# block of one coordinate is contiguous.
#
# Nothing here allocates, holds the GIL in a loop or warns.

from cython.parallel cimport prange, threadid
from libc.math cimport INFINITY

# The two block loops are verbatim C so that they vectorise: Cython can emit neither
# `#pragma omp simd` (needed for the vectorised reduction) nor per-function target
# attributes. With GCC on x86-64 Linux each is compiled for AVX-512, AVX2 and the
# baseline (target_clones) and the best is picked at load time.
#   so_sqdist_block: buf[jj] = sum_k (v_k - coords_t[k, jb + jj])^2.
#   so_exp_reduce:   num += sum_jj exp(-buf[jj] / 2) complete[jj], den += sum_jj exp(-buf[jj] / 2),
# with a branch-free exp (Cody-Waite range reduction, degree-13 Taylor polynomial on
# |r| <= ln(2) / 2, the power of two built in the exponent bits): ~2 ulp on [-708, 0];
# arguments below -708 (and +inf distances) give 0, the true value being < 3.3e-308.
# The order of the sums depends on the vector width (the CPU), never on the number
# of threads.
cdef extern from *:
    """
    #include <stdint.h>
    #include <string.h>
    #if defined(__GNUC__) && !defined(__clang__) && defined(__x86_64__) && defined(__linux__)
    #define SO_SIMD_CLONES __attribute__((target_clones("avx512f", "avx2", "default")))
    #else
    #define SO_SIMD_CLONES
    #endif
    #if defined(_OPENMP)
    #define SO_PRAGMA_SIMD _Pragma("omp simd")
    #define SO_PRAGMA_SIMD_SUM _Pragma("omp simd reduction(+:num, den)")
    #else
    #define SO_PRAGMA_SIMD
    #define SO_PRAGMA_SIMD_SUM
    #endif

    SO_SIMD_CLONES
    static void so_sqdist_block(const double *coords_t, Py_ssize_t stride,
                                Py_ssize_t n_features, const double *v,
                                Py_ssize_t jb, Py_ssize_t nb, double *buf)
    {
        Py_ssize_t j, k;
        const double *col = coords_t + jb;
        double vk = v[0];
        SO_PRAGMA_SIMD
        for (j = 0; j < nb; j++) {
            double diff = vk - col[j];
            buf[j] = diff * diff;
        }
        for (k = 1; k < n_features; k++) {
            col = coords_t + k * stride + jb;
            vk = v[k];
            SO_PRAGMA_SIMD
            for (j = 0; j < nb; j++) {
                double diff = vk - col[j];
                buf[j] += diff * diff;
            }
        }
    }

    SO_SIMD_CLONES
    static void so_exp_reduce(const double *buf, const double *complete, Py_ssize_t nb,
                              double *num_out, double *den_out)
    {
        const double log2e = 1.4426950408889634, magic = 6755399441055744.0;
        const double ln2_hi = 6.93147180369123816490e-01, ln2_lo = 1.90821492927058770002e-10;
        double num = 0.0, den = 0.0;
        Py_ssize_t j;
        SO_PRAGMA_SIMD_SUM
        for (j = 0; j < nb; j++) {
            double x = -0.5 * buf[j];
            double xc = x < -708.0 ? -708.0 : x;
            double t = xc * log2e + magic;
            double k = t - magic;
            double r = (xc - k * ln2_hi) - k * ln2_lo;
            double p = 1.0 / 6227020800.0;
            double scale, e;
            int64_t bits;
            p = p * r + 1.0 / 479001600.0;
            p = p * r + 1.0 / 39916800.0;
            p = p * r + 1.0 / 3628800.0;
            p = p * r + 1.0 / 362880.0;
            p = p * r + 1.0 / 40320.0;
            p = p * r + 1.0 / 5040.0;
            p = p * r + 1.0 / 720.0;
            p = p * r + 1.0 / 120.0;
            p = p * r + 1.0 / 24.0;
            p = p * r + 1.0 / 6.0;
            p = p * r + 0.5;
            p = p * r + 1.0;
            p = p * r + 1.0;
            memcpy(&bits, &t, sizeof bits);
            bits = (int64_t)((uint64_t)(bits + 1023) << 52);
            memcpy(&scale, &bits, sizeof scale);
            e = x < -708.0 ? 0.0 : p * scale;
            num += e * complete[j];
            den += e;
        }
        *num_out += num;
        *den_out += den;
    }
    """
    void so_sqdist_block(const double* coords_t, Py_ssize_t stride, Py_ssize_t n_features,
                         const double* v, Py_ssize_t jb, Py_ssize_t nb,
                         double* buf) noexcept nogil
    void so_exp_reduce(const double* buf, const double* complete, Py_ssize_t nb,
                       double* num_out, double* den_out) noexcept nogil


cdef enum:
    BLOCK = 512


def nw_exact(const double[:, ::1] coords_t,   # IN  (n_features, n_samples) scaled coordinates
             const double[::1] complete,      # IN  (n_samples,) 1.0 = row complete, else 0.0
             bint leave_one_out,              # IN  skip the j = i term
             double[::1] numer_out,           # OUT (n_samples,) sum_j K_ij delta_j
             double[::1] denom_out,           # OUT (n_samples,) sum_j K_ij
             double[:, ::1] scratch,          # SCRATCH (n_threads, BLOCK + n_features)
             int n_threads):
    """Exact Nadaraya-Watson numerator and denominator, O(n^2 d) time, O(n d) memory.

    ``numer_out[i] = sum_j K_ij complete[j]``, ``denom_out[i] = sum_j K_ij`` with
    ``K_ij = exp(-0.5 * sum_k (coords_t[k, i] - coords_t[k, j])^2)`` (spec, section 4);
    the term j = i is skipped when ``leave_one_out``.
    """
    cdef Py_ssize_t n_features = coords_t.shape[0]
    cdef Py_ssize_t n_samples = coords_t.shape[1]
    cdef Py_ssize_t i, jb, nb, k
    cdef double num, den
    cdef double* buf
    cdef double* vi
    if scratch.shape[0] < n_threads or scratch.shape[1] < BLOCK + n_features:
        raise ValueError("scratch must have shape at least (n_threads, %d + n_features)" % BLOCK)
    if n_samples == 0 or n_features == 0:
        return
    for i in prange(n_samples, nogil=True, schedule='static', num_threads=n_threads):
        buf = &scratch[threadid(), 0]
        vi = buf + BLOCK
        for k in range(n_features):
            vi[k] = coords_t[k, i]
        num = 0.0
        den = 0.0
        jb = 0
        while jb < n_samples:
            nb = n_samples - jb
            if nb > BLOCK:
                nb = BLOCK
            so_sqdist_block(&coords_t[0, 0], n_samples, n_features, vi, jb, nb, buf)
            if leave_one_out and jb <= i < jb + nb:
                buf[i - jb] = INFINITY  # K_ii = 0
            so_exp_reduce(buf, &complete[jb], nb, &num, &den)
            jb = jb + nb
        numer_out[i] = num
        denom_out[i] = den


BLOCK_SIZE = BLOCK  # columns per block; the wrapper sizes the scratch with it


# --------------------------------------------------------------------------- #
# Linear binning and multilinear interpolation for the binned-FFT method
# (Wand 1994). The grid has n_nodes[k] nodes along axis k, node g_k at
# lo[k] + g_k * step[k]; the flat index is row-major (last axis fastest). A row
# with position p_k = (v_k - lo[k]) / step[k] sits in the cell of lower node
# i_k = clip(floor(p_k), 0, n_nodes[k] - 2) with fraction f_k = clip(p_k - i_k, 0, 1)
# and gives the 2^d cell corners the weights prod_k (f_k or 1 - f_k).
# At most 3 dimensions (the FFT grid would be too large beyond).
# --------------------------------------------------------------------------- #
from libc.math cimport floor


cdef inline void cell_of(const double[:, ::1] coords, Py_ssize_t i, const double[::1] lo,
                         const double[::1] step, const Py_ssize_t[::1] n_nodes,
                         Py_ssize_t* lower, double* frac) noexcept nogil:
    cdef Py_ssize_t k, g
    cdef double p
    for k in range(coords.shape[1]):
        p = (coords[i, k] - lo[k]) / step[k]
        g = <Py_ssize_t>floor(p)
        if g < 0:
            g = 0
        if g > n_nodes[k] - 2:
            g = n_nodes[k] - 2
        p = p - g
        if p < 0.0:
            p = 0.0
        if p > 1.0:
            p = 1.0
        lower[k] = g
        frac[k] = p


cdef inline double corner_of(Py_ssize_t n_features, Py_ssize_t corner, const Py_ssize_t* lower,
                             const double* frac, const Py_ssize_t[::1] n_nodes,
                             Py_ssize_t* flat) noexcept nogil:
    """Flat node index (into `flat`) and weight of one of the 2^d corners of a cell."""
    cdef Py_ssize_t k, up, idx = 0
    cdef double w = 1.0
    for k in range(n_features):
        up = (corner >> k) & 1
        idx = idx * n_nodes[k] + lower[k] + up
        w = w * (frac[k] if up else 1.0 - frac[k])
    flat[0] = idx
    return w


def linear_bin(const double[:, ::1] coords,     # IN  (n_samples, n_features <= 3)
               const double[::1] complete,      # IN  (n_samples,) 0.0 / 1.0
               const double[::1] lo,            # IN  (n_features,) first node
               const double[::1] step,          # IN  (n_features,) node spacing
               const Py_ssize_t[::1] n_nodes,   # IN  (n_features,) nodes per axis
               double[::1] counts,              # OUT (prod n_nodes,) zeroed by the caller
               double[::1] counts_complete):    # OUT (prod n_nodes,) zeroed by the caller
    """Linear binning of the rows (counts) and of the complete rows; serial, O(2^d n)."""
    cdef Py_ssize_t n_samples = coords.shape[0], n_features = coords.shape[1]
    cdef Py_ssize_t i, corner, flat
    cdef Py_ssize_t lower[3]
    cdef double frac[3]
    cdef double w
    if n_features > 3:
        raise ValueError("linear_bin supports at most 3 dimensions")
    with nogil:
        for i in range(n_samples):
            cell_of(coords, i, lo, step, n_nodes, lower, frac)
            for corner in range(1 << n_features):
                w = corner_of(n_features, corner, lower, frac, n_nodes, &flat)
                counts[flat] += w
                counts_complete[flat] += w * complete[i]


def linear_interp(const double[:, ::1] coords,    # IN  (n_samples, n_features <= 3)
                  const double[::1] lo,           # IN  (n_features,)
                  const double[::1] step,         # IN  (n_features,)
                  const Py_ssize_t[::1] n_nodes,  # IN  (n_features,)
                  const double[::1] smooth,       # IN  (prod n_nodes,) grid denominator sums
                  const double[::1] smooth_complete,  # IN (prod n_nodes,) numerator sums
                  double[::1] denom_out,          # OUT (n_samples,)
                  double[::1] numer_out,          # OUT (n_samples,)
                  Py_ssize_t[:, ::1] lower_scratch,   # SCRATCH (n_threads, 3)
                  double[:, ::1] frac_scratch,        # SCRATCH (n_threads, 3)
                  int n_threads):
    """Multilinear interpolation of the two smoothed grids back to the rows."""
    cdef Py_ssize_t n_samples = coords.shape[0], n_features = coords.shape[1]
    cdef Py_ssize_t i, corner, flat
    cdef Py_ssize_t* lower
    cdef double* frac
    cdef double w, den, num
    if n_features > 3:
        raise ValueError("linear_interp supports at most 3 dimensions")
    if lower_scratch.shape[0] < n_threads or frac_scratch.shape[0] < n_threads:
        raise ValueError("scratch must have n_threads rows")
    if lower_scratch.shape[1] < 3 or frac_scratch.shape[1] < 3:
        raise ValueError("scratch must have 3 columns")
    for i in prange(n_samples, nogil=True, schedule='static', num_threads=n_threads):
        lower = &lower_scratch[threadid(), 0]  # per-thread: C arrays would be shared
        frac = &frac_scratch[threadid(), 0]
        cell_of(coords, i, lo, step, n_nodes, lower, frac)
        den = 0.0
        num = 0.0
        for corner in range(1 << n_features):
            w = corner_of(n_features, corner, lower, frac, n_nodes, &flat)
            den = den + w * smooth[flat]
            num = num + w * smooth_complete[flat]
        denom_out[i] = den
        numer_out[i] = num
