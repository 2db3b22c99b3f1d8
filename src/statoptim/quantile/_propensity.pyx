# Nadaraya-Watson kernel sums for the missingness propensity.
#
# Design
# ------
# For rows i = 0..n-1 of the scaled coordinates v_i = (x_i - mean) / (sd * h)
# (standardised, then divided by the per-dimension bandwidth; the wrapper in
# `_ipw.py` does this), the exact kernel computes
#     numer_i = sum_j K(v_i - v_j) delta_j,   denom_i = sum_j K(v_i - v_j),
#     K(v) = exp(-0.5 * sum_k v_k^2)          (product Gaussian; docs/quantile.rst,
#                                             "Missingness propensity"),
# with j = i included unless `leave_one_out` (then the j = i term is left out,
# not subtracted, so no cancellation). K is symmetric, so each value is
# computed once, for j > i, and added to the sums of both rows: half the
# exponentials of the plain double loop. Rows go in tiles of TILE rows dealt
# to threads cyclically (`prange`, static schedule); a tile sweeps the columns
# j in blocks of BLOCK: squared distances are accumulated dimension by
# dimension into a per-thread scratch row (contiguous loads, vectorised), then
# one vectorised pass exponentiates them and updates the row's sums and the
# thread's column sums. Memory: O(n d) input, n_threads * 2 * n accumulators
# and n_threads * (BLOCK + TILE (d + 2)) scratch, allocated by the wrapper;
# never n x n.
#
# The coordinates are passed transposed, shape (n_features, n_samples), so a
# block of one coordinate is contiguous. The binned-FFT approximation's two
# kernels (linear binning, multilinear interpolation) are at the end.
#
# Nothing here allocates, holds the GIL in a loop or warns.

from cython.parallel cimport prange, threadid

# The two block loops are verbatim C so that they vectorise: Cython can emit neither
# `#pragma omp simd` (needed for the vectorised reduction) nor per-function target
# attributes. With GCC on x86-64 Linux each is compiled for AVX-512, AVX2 and the
# baseline (target_clones) and the best is picked at load time.
#   so_sqdist_block: buf[jj] = sum_k (v_k - coords_t[k, jb + jj])^2.
#   so_exp_sym:      with e_jj = exp(-buf[jj] / 2): num += sum_jj e_jj complete[jb + jj],
#                    den += sum_jj e_jj (row i), and acc_num[jj] += e_jj complete[i],
#                    acc_den[jj] += e_jj (rows jb + jj),
# with the branch-free exp of statoptim/_cy/gauss_kernel.h (Cody-Waite range reduction,
# degree-13 Taylor polynomial on |r| <= ln(2) / 2, the power of two built in the exponent
# bits); arguments below -708 (and +inf distances) give 0, the true value being < 3.3e-308.
# The order of the sums depends on the vector width (the CPU), never on the number
# of threads.
cdef extern from *:
    """
    #include "gauss_kernel.h"
    #define so_sqdist_block gk_sqdist_block
    #if defined(_OPENMP)
    #define SO_PRAGMA_SIMD_SUM _Pragma("omp simd reduction(+:num, den)")
    #else
    #define SO_PRAGMA_SIMD_SUM
    #endif

    /* Symmetric variant: the pairs (i, jb + jj) feed row i's sums (num, den) and,
       through acc_num / acc_den (per-thread, indexed from jb), the sums of rows jb + jj. */
    GK_SIMD_CLONES
    static void so_exp_sym(const double *buf, const double *complete, Py_ssize_t nb,
                           double complete_i, double *acc_num, double *acc_den,
                           double *num_out, double *den_out)
    {
        double num = 0.0, den = 0.0;
        Py_ssize_t j;
        SO_PRAGMA_SIMD_SUM
        for (j = 0; j < nb; j++) {
            double e = gk_exp_neg_half(buf[j]);
            num += e * complete[j];
            den += e;
            acc_num[j] += e * complete_i;
            acc_den[j] += e;
        }
        *num_out += num;
        *den_out += den;
    }
    """
    const char* gk_simd_clone() noexcept nogil
    void so_sqdist_block(const double* coords_t, Py_ssize_t stride, Py_ssize_t n_features,
                         const double* v, Py_ssize_t jb, Py_ssize_t nb,
                         double* buf) noexcept nogil
    void so_exp_sym(const double* buf, const double* complete, Py_ssize_t nb,
                    double complete_i, double* acc_num, double* acc_den,
                    double* num_out, double* den_out) noexcept nogil


cdef enum:
    BLOCK = 512   # columns per block
    TILE = 32     # rows per tile of the symmetric kernel


def simd_clone():
    """The instruction-set clone of the kernel loops this CPU runs.

    One of "avx512f", "avx2" or "default".
    """
    return gk_simd_clone().decode("ascii")


def nw_exact(const double[:, ::1] coords_t,   # IN  (n_features, n_samples) scaled coordinates
             const double[::1] complete,      # IN  (n_samples,) 1.0 = row complete, else 0.0
             bint leave_one_out,              # IN  leave out the j = i term
             double[:, :, ::1] acc,           # OUT (n_threads, 2, n_samples), zeroed by caller
             double[:, ::1] scratch,          # SCRATCH (n_threads, BLOCK + TILE * (d + 2))
             int n_threads):
    """Exact Nadaraya-Watson numerators and denominators, O(n^2 d) time, O(n d) memory.

    ``sum_t acc[t, 0, i] = sum_j K_ij complete[j]``, ``sum_t acc[t, 1, i] = sum_j K_ij``
    with ``K_ij = exp(-0.5 * sum_k (coords_t[k, i] - coords_t[k, j])^2)``
    (docs/quantile.rst, "Missingness propensity"); the term j = i is left out when
    ``leave_one_out``. Each kernel
    value is computed once (K_ij = K_ji): row i pairs with the rows j > i only,
    adding K_ij to its own sums and to those of row j. Rows go in tiles of TILE
    rows, dealt to threads cyclically (static schedule, chunks of one tile:
    balances the triangular work); a tile
    sweeps the columns in blocks of BLOCK, so a block's coordinates and column
    sums stay in L1 while the tile's rows use them. Thread t accumulates into
    ``acc[t, 0]`` (numerators) and ``acc[t, 1]`` (denominators); the caller
    adds the threads' rows in order, so the result depends on the number of
    threads only in the last bits. Per-thread scratch: BLOCK squared distances,
    the tile's coordinates (TILE * n_features) and its row sums (2 * TILE).
    """
    cdef Py_ssize_t n_features = coords_t.shape[0]
    cdef Py_ssize_t n_samples = coords_t.shape[1]
    cdef Py_ssize_t n_tiles = (n_samples + TILE - 1) // TILE
    cdef Py_ssize_t tile, i, i0, i1, ii, jb, je, js, nb, k
    cdef int tid
    cdef double* buf
    cdef double* tile_coords
    cdef double* row_num
    cdef double* row_den
    cdef double* acc_num
    cdef double* acc_den
    if scratch.shape[0] < n_threads or scratch.shape[1] < BLOCK + TILE * (n_features + 2):
        raise ValueError("scratch must have shape at least (n_threads, BLOCK + TILE * (d + 2))")
    if acc.shape[0] < n_threads or acc.shape[1] != 2 or acc.shape[2] != n_samples:
        raise ValueError("acc must have shape (n_threads, 2, n_samples)")
    if complete.shape[0] != n_samples:
        raise ValueError("complete must have one entry per row")
    if n_threads < 1:
        raise ValueError("n_threads must be >= 1")
    if n_samples == 0 or n_features == 0:
        return
    for tile in prange(n_tiles, nogil=True, schedule='static', chunksize=1,
                       num_threads=n_threads):
        tid = threadid()
        buf = &scratch[tid, 0]
        tile_coords = buf + BLOCK
        row_num = tile_coords + TILE * n_features
        row_den = row_num + TILE
        acc_num = &acc[tid, 0, 0]
        acc_den = &acc[tid, 1, 0]
        i0 = tile * TILE
        i1 = i0 + TILE
        if i1 > n_samples:
            i1 = n_samples
        for ii in range(i1 - i0):
            for k in range(n_features):
                tile_coords[ii * n_features + k] = coords_t[k, i0 + ii]
            row_num[ii] = 0.0
            row_den[ii] = 0.0
        jb = i0 + 1
        while jb < n_samples:
            je = jb + BLOCK
            if je > n_samples:
                je = n_samples
            for ii in range(i1 - i0):
                js = i0 + ii + 1  # pairs j > i only
                if js < jb:
                    js = jb
                nb = je - js
                if nb > 0:
                    so_sqdist_block(&coords_t[0, 0], n_samples, n_features,
                                    tile_coords + ii * n_features, js, nb, buf)
                    so_exp_sym(buf, &complete[js], nb, complete[i0 + ii], acc_num + js,
                               acc_den + js, row_num + ii, row_den + ii)
            jb = je
        for ii in range(i1 - i0):
            i = i0 + ii
            if not leave_one_out:
                row_num[ii] = row_num[ii] + complete[i]
                row_den[ii] = row_den[ii] + 1.0
            acc_num[i] = acc_num[i] + row_num[ii]
            acc_den[i] = acc_den[i] + row_den[ii]


BLOCK_SIZE = BLOCK  # columns per block; the wrapper sizes the scratch with it
TILE_SIZE = TILE


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


cdef int check_grid(Py_ssize_t n_samples, Py_ssize_t n_features, const double[::1] lo,
                    const double[::1] step, const Py_ssize_t[::1] n_nodes,
                    Py_ssize_t n_total) except -1:
    """Shapes of the grid arguments; n_total is the length of the flat grid arrays."""
    cdef Py_ssize_t k, prod = 1
    if n_features > 3:
        raise ValueError("the binned kernels support at most 3 dimensions")
    if lo.shape[0] != n_features or step.shape[0] != n_features or n_nodes.shape[0] != n_features:
        raise ValueError("lo, step and n_nodes must have one entry per dimension")
    for k in range(n_features):
        if n_nodes[k] < 2:
            raise ValueError("every axis of the grid needs at least 2 nodes")
        prod *= n_nodes[k]
    if n_total != prod:
        raise ValueError("the flat grid arrays must have prod(n_nodes) entries")
    return 0


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
    check_grid(n_samples, n_features, lo, step, n_nodes, counts.shape[0])
    if counts_complete.shape[0] != counts.shape[0] or complete.shape[0] != n_samples:
        raise ValueError("counts_complete must match counts and complete the rows")
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
    check_grid(n_samples, n_features, lo, step, n_nodes, smooth.shape[0])
    if smooth_complete.shape[0] != smooth.shape[0]:
        raise ValueError("smooth_complete must match smooth")
    if denom_out.shape[0] != n_samples or numer_out.shape[0] != n_samples:
        raise ValueError("denom_out and numer_out must have one entry per row")
    if n_threads < 1:
        raise ValueError("n_threads must be >= 1")
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
