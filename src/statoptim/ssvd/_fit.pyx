# Kernels of FIT-SSVD (Yang, Ma & Buja 2014): sparse SVD by fast iterative thresholding.
#
# Design
# ------
# One FIT-SSVD iteration (docs/ssvd.rst, "Iterations") is, on the u side,
#     U~ = eta(X_s[:, J_v] V[J_v, :], gamma_u),    X_s = X / sigma,
# followed by a thin QR, and the same on the v side with X_s' and the new U.
# The product touches only the active columns J_v (u side) or active rows
# I_u (v side) of X: skipping the zero rows of V (or U) is exact and is the
# main speed trick. The product and the thresholding eta are fused here:
#
#   dense_product_rows   U~ = eta(s * X[:, J] W[J, :])       X C-contiguous (W compact, transposed)
#   dense_product_cols   V~ = eta(s * X[I, :]' W[I, :])      X C-contiguous
#   csc_product_rows     the same as dense_product_rows for a CSC matrix
#   csr_product_cols     the same as dense_product_cols for a CSR matrix
#
# The sparse kernels optionally centre implicitly: a rank-one correction
# (X - a c') W = X W - a (c' W) applied before eta, so X is never densified.
#
# (`W` is the full (n_features, n_components) V, or (n_samples, n_components) U;
# only its rows listed in `active` are read.) Every product kernel also counts
# the nonzero entries of each output column, so the wrapper can detect an
# over-thresholded (all-zero) column without another pass.
#
# `energy_scores` is the fused O(n_samples * n_features) pass of the
# initialisation (docs/ssvd.rst, "Initialisation", step 1): the (optionally
# Huberised) energy Y_ij = X_ij^2 (or 2 sqrt(delta) |X_ij| - delta above delta), summed over rows
# and columns at once.
#
# `bootstrap_maxima` / `column_medians` compute the data-driven thresholds of
# the "bootstrap" rule (docs/ssvd.rst, "Bootstrap threshold"): for each replicate b,
# max_i |(Z*_b W)_ik| where Z*_b is filled from a pool of noise entries by
# indices drawn by the wrapper; then the median over the replicates.
#
# Conventions: X is float32 or float64 (`floating`), everything else float64.
# All outputs and scratch are allocated by the wrappers in `_core.py`; nothing
# here allocates, draws random numbers or warns, and every loop runs without
# the GIL. Indices are Py_ssize_t (numpy intp); bootstrap draws are uint32 or
# int64. Every kernel checks the shapes of its arguments (O(1)) and the active
# index lists (O(n_active)) and raises ValueError naming the argument; the
# sparse kernels check each pointer and index they read (one unsigned compare),
# and the bootstrap treats a draw outside [0, n_pool) as an implicit zero, so no
# argument can make a kernel read or write out of bounds.

from cython cimport floating
from libc.math cimport fabs, sqrt, INFINITY
from libc.stdint cimport uint32_t, int32_t, int64_t

# Index arrays of scipy.sparse matrices (int32 or int64, as scipy made them).
ctypedef fused index_t:
    int32_t
    int64_t

cdef extern from *:
    """
    #if defined(__GNUC__) || defined(__clang__)
    #define STATOPTIM_PREFETCH(p) __builtin_prefetch(p)
    #else
    #define STATOPTIM_PREFETCH(p) ((void)0)
    #endif
    """
    void STATOPTIM_PREFETCH(const void* p) noexcept nogil

# Bootstrap gathers are prefetched this many draws ahead (random reads from a pool
# of up to a few MB: latency-bound otherwise).
DEF PREFETCH_AHEAD = 32


def _fail(str name, str expected, got):
    """Raise ValueError naming a kernel argument whose shape or range is wrong.

    Callers test first and format the message only on failure: the checks cost a few
    comparisons per call.
    """
    raise ValueError(f"{name} must be {expected}, got {got}")


cdef Py_ssize_t first_outside(const Py_ssize_t[::1] idx, Py_ssize_t extent) noexcept nogil:
    """Position of the first entry of idx outside [0, extent), or -1."""
    cdef Py_ssize_t a
    for a in range(idx.shape[0]):
        if <size_t>idx[a] >= <size_t>extent:
            return a
    return -1


cdef int _check_active(const Py_ssize_t[::1] active, Py_ssize_t extent, str what) except -1:
    cdef Py_ssize_t bad = first_outside(active, extent)
    if bad >= 0:
        raise ValueError(f"active must hold {what} indices in [0, {extent}), got "
                         f"{active[bad]} at position {bad}")
    return 0


cdef int _check_pointers(Py_ssize_t n_ptr, Py_ssize_t n_major, Py_ssize_t n_indices,
                         Py_ssize_t n_data, str fmt) except -1:
    if not (n_ptr == n_major + 1):
        _fail("indptr", f"of length {n_major + 1} ({fmt})", n_ptr)
    if not (n_indices == n_data):
        _fail("indices", f"of length {n_data} (as data)", n_indices)
    return 0


def _bad_slice(Py_ssize_t bad, Py_ssize_t n_minor, str fmt):
    raise ValueError(f"the {fmt} index arrays are invalid in slice {bad}: pointers out of "
                     f"order or past the data, or indices outside [0, {n_minor})")


cdef int _check_outputs(double[:, ::1] out, Py_ssize_t n_rows, Py_ssize_t n_components,
                        const double[::1] gamma, Py_ssize_t[::1] col_nnz) except -1:
    if not (out.shape[0] == n_rows and out.shape[1] == n_components):
        _fail("out", f"of shape ({n_rows}, {n_components})", (out.shape[0], out.shape[1]))
    if not (gamma.shape[0] == n_components):
        _fail("gamma", f"of length {n_components}", gamma.shape[0])
    if not (col_nnz.shape[0] == n_components):
        _fail("col_nnz", f"of length {n_components}", col_nnz.shape[0])
    return 0


cdef int _check_centring(const double[::1] row_offset, const double[::1] col_weight,
                         Py_ssize_t n_rows, Py_ssize_t n_components) except -1:
    if row_offset.shape[0] > 0:
        if not (row_offset.shape[0] == n_rows):
            _fail("row_offset", f"empty or of length {n_rows}", row_offset.shape[0])
        if not (col_weight.shape[0] == n_components):
            _fail("col_weight", f"of length {n_components}", col_weight.shape[0])
    return 0


# Thresholding functions eta (the kernels' `mode` argument).
DEF MODE_HARD = 0
DEF MODE_SOFT = 1
DEF MODE_SCAD = 2
#: The a of SCAD (Fan & Li 2001, their recommended value; the FIT-SSVD paper's option).
SCAD_A = 3.7
DEF SCAD_A_C = 3.7


cdef int _check_mode(int mode) except -1:
    if not (MODE_HARD <= mode <= MODE_SCAD):
        _fail("mode", "0 (hard), 1 (soft) or 2 (SCAD)", mode)
    return 0


cdef inline double eta(double x, double gamma, int mode) noexcept nogil:
    """eta(x, gamma) for one entry; gamma >= 0.

    mode 0, hard:  x 1{|x| >= gamma}
    mode 1, soft:  sign(x) max(|x| - gamma, 0)
    mode 2, SCAD (Fan & Li 2001, a = 3.7):
        sign(x) max(|x| - gamma, 0)                  if |x| <= 2 gamma
        ((a - 1) x - sign(x) a gamma) / (a - 2)      if 2 gamma < |x| <= a gamma
        x                                            if |x| > a gamma
    """
    cdef double ax = fabs(x)
    if mode == MODE_HARD:
        return x if ax >= gamma else 0.0
    if not (ax > gamma):              # (also a NaN: 0, as hard thresholding gives)
        return 0.0
    if mode == MODE_SOFT or ax <= 2.0 * gamma:
        return x - gamma if x > 0.0 else x + gamma
    if ax <= SCAD_A_C * gamma:
        if x > 0.0:
            return ((SCAD_A_C - 1.0) * x - SCAD_A_C * gamma) / (SCAD_A_C - 2.0)
        return ((SCAD_A_C - 1.0) * x + SCAD_A_C * gamma) / (SCAD_A_C - 2.0)
    return x


cdef inline void threshold_block(Py_ssize_t n_rows, Py_ssize_t n_components, double* out,
                                 const double* gamma, int mode,
                                 Py_ssize_t* col_nnz) noexcept nogil:
    """Apply eta in place to a C-contiguous (n_rows, n_components) block; count nonzeros."""
    cdef Py_ssize_t i, k
    cdef double v
    for k in range(n_components):
        col_nnz[k] = 0
    for i in range(n_rows):
        for k in range(n_components):
            v = eta(out[i * n_components + k], gamma[k], mode)
            out[i * n_components + k] = v
            if v != 0.0:
                col_nnz[k] += 1


def threshold_columns(const double[:, ::1] A,      # IN  (n_rows, n_components)
                      const double[::1] gamma,     # IN  (n_components,) one threshold per column
                      int mode,                    # IN  0 hard, 1 soft, 2 SCAD
                      double[:, ::1] out,          # OUT (n_rows, n_components), may alias A
                      Py_ssize_t[::1] col_nnz):    # OUT (n_components,) nonzeros per column
    """out = eta(A, gamma) column by column (docs/ssvd.rst).

    `mode` picks eta: 0 hard (keeps |x| == gamma), 1 soft, 2 SCAD (Fan & Li 2001,
    a = 3.7; see `eta`).
    """
    cdef Py_ssize_t i, k, n_rows = A.shape[0], n_components = A.shape[1]
    if not (gamma.shape[0] == n_components):
        _fail("gamma", f"of length {n_components}", gamma.shape[0])
    if not (out.shape[0] == n_rows and out.shape[1] == n_components):
        _fail("out", f"of shape ({n_rows}, {n_components})", (out.shape[0], out.shape[1]))
    if not (col_nnz.shape[0] == n_components):
        _fail("col_nnz", f"of length {n_components}", col_nnz.shape[0])
    _check_mode(mode)
    with nogil:
        for i in range(n_rows):
            for k in range(n_components):
                out[i, k] = A[i, k]
        if n_rows > 0 and n_components > 0:
            threshold_block(n_rows, n_components, &out[0, 0], &gamma[0], mode, &col_nnz[0])
        else:
            for k in range(n_components):
                col_nnz[k] = 0


def energy_scores(const floating[:, ::1] X,        # IN  (n_samples, n_features)
                  double delta,                    # IN  Huber cut on X^2; INFINITY: plain X^2
                  double[::1] row_scores,          # OUT (n_samples,)  t_i = sum_j Y_ij
                  double[::1] col_scores):         # OUT (n_features,) s_j = sum_i Y_ij
    """Row and column sums of the energy Y in one pass (docs/ssvd.rst, "Initialisation", step 1).

    Y_ij = X_ij^2 if X_ij^2 <= delta, else 2 sqrt(delta) |X_ij| - delta
    (the Huberised energy of the "method" rule; delta = INFINITY gives X^2).
    Returns sum_ij X_ij^2 (the squared Frobenius norm), computed in the same pass.
    """
    cdef Py_ssize_t i, j, n_samples = X.shape[0], n_features = X.shape[1]
    cdef double x, y, acc, sq, total = 0.0
    cdef double root = sqrt(delta) if delta < INFINITY else INFINITY
    if not (row_scores.shape[0] == n_samples):
        _fail("row_scores", f"of length {n_samples}", row_scores.shape[0])
    if not (col_scores.shape[0] == n_features):
        _fail("col_scores", f"of length {n_features}", col_scores.shape[0])
    with nogil:
        for j in range(n_features):
            col_scores[j] = 0.0
        for i in range(n_samples):
            acc = 0.0
            for j in range(n_features):
                x = X[i, j]
                sq = x * x
                total += sq
                y = sq
                if sq > delta:
                    y = 2.0 * root * fabs(x) - delta
                acc += y
                col_scores[j] += y
            row_scores[i] = acc
    return total


def dense_product_rows(const floating[:, ::1] X,   # IN  (n_samples, n_features)
                       const Py_ssize_t[::1] active,  # IN  (n_active,) active columns J
                       const double[:, ::1] Wt,    # IN  (n_components, n_active): V[J, :].T
                       double scale,               # IN  1 / sigma
                       const double[::1] gamma,    # IN  (n_components,) thresholds
                       int mode,
                       double[:, ::1] out,         # OUT (n_samples, n_components)
                       Py_ssize_t[::1] col_nnz):   # OUT (n_components,)
    """out = eta(scale * X[:, J] @ V[J, :], gamma): the u half-step.

    See docs/ssvd.rst, "Iterations", steps 1 and 3.

    V enters compact and transposed (``Wt[k, a] = V[J[a], k]``) so that each
    output entry is one scalar dot product over the active columns of a row.
    """
    cdef Py_ssize_t i, a, k, n_samples = X.shape[0]
    cdef Py_ssize_t n_active = active.shape[0], n_components = Wt.shape[0]
    cdef double acc
    cdef const floating* xi
    cdef const double* wk
    cdef const double* wbase
    if not (Wt.shape[1] == n_active):
        _fail("Wt", f"of shape (n_components, {n_active})", (Wt.shape[0], Wt.shape[1]))
    _check_outputs(out, n_samples, n_components, gamma, col_nnz)
    _check_mode(mode)
    _check_active(active, X.shape[1], "column")
    if n_samples == 0 or n_components == 0:
        return
    if n_active == 0:
        out[:, :] = 0.0
        col_nnz[:] = 0
        return
    wbase = &Wt[0, 0]
    with nogil:
        for i in range(n_samples):
            xi = &X[i, 0]
            for k in range(n_components):
                wk = wbase + k * n_active
                acc = 0.0
                for a in range(n_active):
                    acc += xi[active[a]] * wk[a]
                out[i, k] = acc * scale
        threshold_block(n_samples, n_components, &out[0, 0], &gamma[0], mode, &col_nnz[0])


def dense_product_cols(const floating[:, ::1] X,   # IN  (n_samples, n_features)
                       const Py_ssize_t[::1] active,  # IN  active rows I (rows of W != 0)
                       const double[:, ::1] W,     # IN  (n_samples, n_components), U
                       double scale,               # IN  1 / sigma
                       const double[::1] gamma,    # IN  (n_components,) thresholds
                       int mode,
                       double[:, ::1] out,         # OUT (n_features, n_components)
                       Py_ssize_t[::1] col_nnz):   # OUT (n_components,)
    """out = eta(scale * X[I, :]' @ W[I, :], gamma): the v half-step.

    See docs/ssvd.rst, "Iterations", step 5.
    """
    cdef Py_ssize_t i, a, j, k, n_features = X.shape[1], n_active = active.shape[0]
    cdef Py_ssize_t n_components = W.shape[1], m
    cdef double x
    cdef const floating* xi
    cdef const double* wi
    cdef double* o
    if not (W.shape[0] == X.shape[0]):
        _fail("W", f"of shape ({X.shape[0]}, n_components)", (W.shape[0], W.shape[1]))
    _check_outputs(out, n_features, n_components, gamma, col_nnz)
    _check_mode(mode)
    _check_active(active, X.shape[0], "row")
    if n_features == 0 or n_components == 0:
        return
    m = n_features * n_components
    with nogil:
        o = &out[0, 0]
        for j in range(m):
            o[j] = 0.0
        for a in range(n_active):
            i = active[a]
            xi = &X[i, 0]
            wi = &W[i, 0]
            for j in range(n_features):
                x = xi[j]
                for k in range(n_components):
                    o[j * n_components + k] += x * wi[k]
        for j in range(m):
            o[j] *= scale
        threshold_block(n_features, n_components, o, &gamma[0], mode, &col_nnz[0])


cdef Py_ssize_t scatter_slices(const floating[::1] data, const index_t[::1] indices,
                               const index_t[::1] indptr, const Py_ssize_t[::1] active,
                               const double[:, ::1] W, double[:, ::1] out) noexcept nogil:
    """out = sum over the active slices m of (slice m of X) outer W[m, :].

    A slice is a column of a CSC or a row of a CSR matrix; its minor indices
    address the rows of `out`. Returns -1, or the first slice whose pointers
    or indices are out of bounds (`out` is then partial).
    """
    cdef Py_ssize_t i, a, m, k, nz, lo, hi, n_data = data.shape[0]
    cdef Py_ssize_t n_out = out.shape[0], n_components = W.shape[1]
    cdef double x
    for i in range(n_out):
        for k in range(n_components):
            out[i, k] = 0.0
    for a in range(active.shape[0]):
        m = active[a]
        lo = indptr[m]
        hi = indptr[m + 1]
        if lo < 0 or hi < lo or hi > n_data:
            return m
        for nz in range(lo, hi):
            i = indices[nz]
            if <size_t>i >= <size_t>n_out:
                return m
            x = data[nz]
            for k in range(n_components):
                out[i, k] += x * W[m, k]
    return -1


cdef void centre_scale_threshold(double[:, ::1] out, double scale, const double[::1] gamma,
                                 int mode, const double[::1] row_offset,
                                 const double[::1] col_weight,
                                 Py_ssize_t[::1] col_nnz) noexcept nogil:
    """out = eta(scale * (out - row_offset col_weight'), gamma), no centring if empty."""
    cdef Py_ssize_t i, k, n_out = out.shape[0], n_components = out.shape[1]
    cdef bint centred = row_offset.shape[0] > 0
    for i in range(n_out):
        for k in range(n_components):
            if centred:
                out[i, k] = (out[i, k] - row_offset[i] * col_weight[k]) * scale
            else:
                out[i, k] = out[i, k] * scale
    if n_out > 0 and n_components > 0:
        threshold_block(n_out, n_components, &out[0, 0], &gamma[0], mode, &col_nnz[0])


cdef int sparse_product(const floating[::1] data, const index_t[::1] indices,
                        const index_t[::1] indptr, const Py_ssize_t[::1] active,
                        const double[:, ::1] W, double scale, const double[::1] gamma,
                        int mode, const double[::1] row_offset,
                        const double[::1] col_weight, double[:, ::1] out,
                        Py_ssize_t[::1] col_nnz, str fmt) except -1:
    """Check the arguments, then out = eta(scale * (sum of active slices x W - offset)).

    The body of `csc_product_rows` (``fmt="CSC"``: slices are columns) and
    `csr_product_cols` (``fmt="CSR"``: slices are rows).
    """
    cdef Py_ssize_t bad
    _check_outputs(out, out.shape[0], W.shape[1], gamma, col_nnz)
    _check_mode(mode)
    _check_centring(row_offset, col_weight, out.shape[0], W.shape[1])
    _check_active(active, W.shape[0], "column" if fmt == "CSC" else "row")
    _check_pointers(indptr.shape[0], W.shape[0], indices.shape[0], data.shape[0], fmt)
    with nogil:
        bad = scatter_slices(data, indices, indptr, active, W, out)
    if bad >= 0:
        _bad_slice(bad, out.shape[0], fmt)
    with nogil:
        centre_scale_threshold(out, scale, gamma, mode, row_offset, col_weight, col_nnz)
    return 0


def csc_product_rows(const floating[::1] data,     # IN  CSC values
                     const index_t[::1] indices,   # IN  CSC row indices
                     const index_t[::1] indptr,    # IN  CSC column pointers (n_features + 1)
                     const Py_ssize_t[::1] active,   # IN  active columns J
                     const double[:, ::1] W,       # IN  (n_features, n_components), V
                     double scale,
                     const double[::1] gamma,
                     int mode,
                     const double[::1] row_offset,  # IN  (n_samples,) a, or empty: no centring
                     const double[::1] col_weight,  # IN  (n_components,) w = c[J]' V[J, :]
                     double[:, ::1] out,           # OUT (n_samples, n_components)
                     Py_ssize_t[::1] col_nnz):     # OUT (n_components,)
    """dense_product_rows for a CSC matrix: reads only the columns in J.

    With a non-empty `row_offset` the product is taken on the implicitly centred
    matrix X - a c' (a rank-one correction, X stays sparse):
    out[i, k] = eta(scale * ((X[:, J] V[J])_ik - a_i w_k), gamma_k).
    """
    sparse_product(data, indices, indptr, active, W, scale, gamma, mode, row_offset,
                   col_weight, out, col_nnz, "CSC")


def csr_product_cols(const floating[::1] data,     # IN  CSR values
                     const index_t[::1] indices,   # IN  CSR column indices
                     const index_t[::1] indptr,    # IN  CSR row pointers (n_samples + 1)
                     const Py_ssize_t[::1] active,   # IN  active rows I
                     const double[:, ::1] W,       # IN  (n_samples, n_components), U
                     double scale,
                     const double[::1] gamma,
                     int mode,
                     const double[::1] row_offset,  # IN  (n_features,) c, or empty: no centring
                     const double[::1] col_weight,  # IN  (n_components,) w = a[I]' U[I, :]
                     double[:, ::1] out,           # OUT (n_features, n_components)
                     Py_ssize_t[::1] col_nnz):     # OUT (n_components,)
    """dense_product_cols for a CSR matrix: reads only the rows in I.

    With a non-empty `row_offset` the product is taken on X - a c':
    out[j, k] = eta(scale * ((X[I, :]' U[I])_jk - c_j w_k), gamma_k).
    """
    sparse_product(data, indices, indptr, active, W, scale, gamma, mode, row_offset,
                   col_weight, out, col_nnz, "CSR")


ctypedef fused draw_t:
    uint32_t
    int64_t


cdef inline void replicate_maxima(const double* pool, Py_ssize_t n_pool, const draw_t* dr,
                                  Py_ssize_t n_out, Py_ssize_t n_active, const double* W,
                                  double scale, double* acc, double* mx,
                                  const Py_ssize_t n_components) noexcept nogil:
    """mx[k] = max_i |(Z* W)_ik| for one bootstrap replicate (see `bootstrap_maxima`).

    Called with a literal `n_components` for small ranks so that the C compiler
    unrolls the inner loops; two interleaved accumulators (even and odd a)
    shorten the floating-point dependency chains.
    """
    cdef Py_ssize_t a, k, d0, d1
    cdef double z0, z1, s
    cdef double* acc0 = acc
    cdef double* acc1 = acc + n_components
    for k in range(n_components):
        mx[k] = 0.0
    for _ in range(n_out):
        for k in range(n_components):
            acc0[k] = 0.0
            acc1[k] = 0.0
        a = 0
        while a + 1 < n_active:
            if a + PREFETCH_AHEAD + 1 < n_active:
                d0 = <Py_ssize_t>dr[a + PREFETCH_AHEAD]
                d1 = <Py_ssize_t>dr[a + PREFETCH_AHEAD + 1]
                if <size_t>d0 < <size_t>n_pool:
                    STATOPTIM_PREFETCH(&pool[d0])
                if <size_t>d1 < <size_t>n_pool:
                    STATOPTIM_PREFETCH(&pool[d1])
            d0 = <Py_ssize_t>dr[a]
            d1 = <Py_ssize_t>dr[a + 1]
            z0 = pool[d0] if <size_t>d0 < <size_t>n_pool else 0.0
            z1 = pool[d1] if <size_t>d1 < <size_t>n_pool else 0.0
            for k in range(n_components):
                acc0[k] += z0 * W[a * n_components + k]
                acc1[k] += z1 * W[(a + 1) * n_components + k]
            a += 2
        if a < n_active:
            d0 = <Py_ssize_t>dr[a]
            z0 = pool[d0] if <size_t>d0 < <size_t>n_pool else 0.0
            for k in range(n_components):
                acc0[k] += z0 * W[a * n_components + k]
        for k in range(n_components):
            s = fabs(acc0[k] + acc1[k]) * scale
            if s > mx[k]:
                mx[k] = s
        dr += n_active


def bootstrap_maxima(const double[::1] pool,       # IN  (n_pool,) nonzero noise entries
                     Py_ssize_t n_block,           # IN  size of the noise block (>= n_pool)
                     const draw_t[::1] draws,      # IN  (n_boot * n_out * n_active,) < n_block
                     Py_ssize_t n_out,             # IN  rows of each bootstrap matrix Z*_b
                     const double[:, ::1] W,       # IN  (n_active, n_components) compact weights
                     double scale,                 # IN  1 / sigma
                     double[:, ::1] acc,           # SCRATCH (2, n_components)
                     double[:, ::1] maxima):       # OUT (n_boot, n_components)
    """maxima[b, k] = max_i |(Z*_b W)_ik| (docs/ssvd.rst, "Bootstrap threshold").

    Z*_b is the (n_out, n_active) matrix whose entry (i, a) is `scale` times
    pool[d] with d = draws[(b * n_out + i) * n_active + a] if 0 <= d < n_pool, and 0
    otherwise: entries drawn uniformly with replacement from a noise block of
    n_block entries whose nonzero values are `pool` (for dense input, the whole
    block). W holds the active rows of the other side's singular vectors. The
    wrapper draws `draws` (uint32 or int64); the kernel only gathers,
    multiplies and takes maxima.
    """
    cdef Py_ssize_t n_boot = maxima.shape[0], n_components = W.shape[1]
    cdef Py_ssize_t n_active = W.shape[0], n_pool = pool.shape[0]
    cdef Py_ssize_t b, stride = n_out * n_active
    cdef const double* P
    cdef const double* Wp
    cdef const draw_t* dr
    cdef double* ac
    if not (n_out >= 0 and n_block >= n_pool):
        _fail("n_out and n_block", f"n_out >= 0 and n_block >= len(pool) = {n_pool}",
              (n_out, n_block))
    if not (draws.shape[0] >= n_boot * stride):
        _fail("draws", f"of length >= n_boot * n_out * n_active = {n_boot * stride}",
              draws.shape[0])
    if not (acc.shape[0] == 2 and acc.shape[1] >= n_components):
        _fail("acc", f"of shape (2, {n_components})", (acc.shape[0], acc.shape[1]))
    if not (maxima.shape[1] == n_components):
        _fail("maxima", f"of shape (n_boot, {n_components})", (maxima.shape[0], maxima.shape[1]))
    if n_boot == 0 or n_components == 0:
        return
    if n_active == 0 or n_pool == 0:
        maxima[:, :] = 0.0
        return
    P = &pool[0]
    Wp = &W[0, 0]
    ac = &acc[0, 0]
    with nogil:
        for b in range(n_boot):
            dr = &draws[b * stride]
            if n_components == 1:
                replicate_maxima(P, n_pool, dr, n_out, n_active, Wp, scale, ac, &maxima[b, 0], 1)
            elif n_components == 2:
                replicate_maxima(P, n_pool, dr, n_out, n_active, Wp, scale, ac, &maxima[b, 0], 2)
            elif n_components == 3:
                replicate_maxima(P, n_pool, dr, n_out, n_active, Wp, scale, ac, &maxima[b, 0], 3)
            elif n_components == 4:
                replicate_maxima(P, n_pool, dr, n_out, n_active, Wp, scale, ac, &maxima[b, 0], 4)
            else:
                replicate_maxima(P, n_pool, dr, n_out, n_active, Wp, scale, ac, &maxima[b, 0],
                                 n_components)


cdef void insertion_sort(double* v, Py_ssize_t n) noexcept nogil:
    cdef Py_ssize_t i, j
    cdef double x
    for i in range(1, n):
        x = v[i]
        j = i - 1
        while j >= 0 and v[j] > x:
            v[j + 1] = v[j]
            j -= 1
        v[j + 1] = x


def column_medians(const double[:, ::1] A,         # IN  (n_rows, n_columns), n_rows >= 1
                   double[::1] scratch,            # SCRATCH (n_rows,)
                   double[::1] out):               # OUT (n_columns,)
    """out[k] = median of A[:, k] (mean of the two middle values for even n_rows).

    Sorting by insertion: meant for the few hundred bootstrap replicates.
    """
    cdef Py_ssize_t i, k, n_rows = A.shape[0], n_columns = A.shape[1], h
    if not (n_rows >= 1):
        _fail("A", "of at least one row", n_rows)
    if not (scratch.shape[0] >= n_rows):
        _fail("scratch", f"of length >= {n_rows}", scratch.shape[0])
    if not (out.shape[0] == n_columns):
        _fail("out", f"of length {n_columns}", out.shape[0])
    with nogil:
        for k in range(n_columns):
            for i in range(n_rows):
                scratch[i] = A[i, k]
            insertion_sort(&scratch[0], n_rows)
            h = n_rows // 2
            if n_rows % 2 == 1:
                out[k] = scratch[h]
            else:
                out[k] = 0.5 * (scratch[h - 1] + scratch[h])
