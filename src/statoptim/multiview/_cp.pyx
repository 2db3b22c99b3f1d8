# Kernels of the multi-view CP-tensor model (docs/multiview.rst, "Exact block updates").
#
# Design
# ------
# A modality has V views. View v contributes A^(v) = Z^(v) Theta^(v) (n_samples x rank);
# the modality's factor product is the Hadamard product Pi = A^(1) o ... o A^(V) and
# the leave-one-out products Pi^(-v) are the products over v' != v.
#
# With W = Pi^(-v) (the weight of view v's block), Q (rank x rank, SPD or PSD) and the
# ridge strength lambda, the exact minimiser of the objective in Theta^(v) solves
#     H vec(Theta) = vec(B),
#     H = (1/N) sum_i (D_i Q D_i) kron z_i z_i^T + lambda I,   D_i = diag(W[i]),
# with vec stacking the columns of Theta (index r * n_cols + j for Theta[j, r]).
# Block (r, s) of H is Q_rs (1/N) Z^T diag(w_r o w_s) Z, i.e.
#     H = (1/N) (K^T K) o (Q kron 1) + lambda I,   K[i] = W[i] kron Z[i]
# (row-wise Khatri-Rao product). `khatri_rao_system` builds K in row chunks
# (bounded memory), accumulates K^T K with one dsyrk per chunk, then applies the
# Q weights and the ridge; `cholesky_solve` factors and solves in place.
#
# `weighted_cross` computes scale * Z^T (W o M) + coef * Theta, which is the block
# gradient (G1) with M = G_m Phi_m and the right-hand side B with M = T Phi_m.
# `block_operator` applies H without forming it (power iterations, prox-linear, CG);
# `block_operator_product` also keeps Z Theta.
#
# Arrays are C-contiguous float64. The callers (`_state.py`, `_blocks.py` and
# `_solver.py`) allocate every output and scratch array; nothing here allocates,
# warns or holds the GIL in a loop. Each kernel still checks that the shapes of
# its arguments agree (and fit the 32-bit BLAS integers) before it enters the
# nogil loops, so a wrong call raises a ValueError naming the argument instead
# of reading or writing out of bounds.

from libc.math cimport log

from statoptim._cy._blas cimport xsyrk_gram, xpotrf_solve, xgemm_tn, xgemm_nn

# Largest dimension the (32-bit integer) BLAS/LAPACK interface can take.
cdef Py_ssize_t _BLAS_MAX = 2147483647


cdef int _shape(str name, Py_ssize_t rows, Py_ssize_t cols,
                Py_ssize_t want_rows, Py_ssize_t want_cols) except -1:
    """Raise unless the 2-D argument ``name`` has shape (want_rows, want_cols)."""
    if rows != want_rows or cols != want_cols:
        raise ValueError(f"{name} must have shape ({want_rows}, {want_cols}), "
                         f"got ({rows}, {cols})")
    return 0


cdef int _sizes(str what, Py_ssize_t a, Py_ssize_t b, Py_ssize_t c) except -1:
    """Raise unless every size is >= 1 and fits a BLAS integer."""
    if a < 1 or b < 1 or c < 1:
        raise ValueError(f"{what} must be non-empty, got sizes ({a}, {b}, {c})")
    if a > _BLAS_MAX or b > _BLAS_MAX or c > _BLAS_MAX:
        raise ValueError(f"{what} sizes ({a}, {b}, {c}) exceed the BLAS integer range")
    return 0


def hadamard_products(const double[:, :, ::1] factors,   # IN  (n_views, n_samples, rank)
                      double[:, ::1] product,             # OUT (n_samples, rank)
                      double[:, :, ::1] leave_one_out):   # OUT (n_views, n_samples, rank)
    """Hadamard product of the view factors and its leave-one-out products.

    ``product = A[0] o ... o A[V-1]`` and ``leave_one_out[v]`` is the product over
    ``v' != v`` (all ones when ``V == 1``). Prefix times suffix products are used,
    so no division happens and zero factors are exact.
    """
    cdef Py_ssize_t n_views = factors.shape[0]
    cdef Py_ssize_t n_samples = factors.shape[1]
    cdef Py_ssize_t rank = factors.shape[2]
    cdef Py_ssize_t i, r, v
    cdef double acc
    _shape("product", product.shape[0], product.shape[1], n_samples, rank)
    if (leave_one_out.shape[0] != n_views or leave_one_out.shape[1] != n_samples
            or leave_one_out.shape[2] != rank):
        raise ValueError(f"leave_one_out must have the shape of factors "
                         f"({n_views}, {n_samples}, {rank}), got ({leave_one_out.shape[0]}, "
                         f"{leave_one_out.shape[1]}, {leave_one_out.shape[2]})")
    with nogil:
        for i in range(n_samples):
            for r in range(rank):
                acc = 1.0
                for v in range(n_views):
                    leave_one_out[v, i, r] = acc
                    acc = acc * factors[v, i, r]
                product[i, r] = acc
                acc = 1.0
                for v in range(n_views - 1, -1, -1):
                    leave_one_out[v, i, r] = leave_one_out[v, i, r] * acc
                    acc = acc * factors[v, i, r]


def khatri_rao_system(const double[:, ::1] Z,        # IN  (n_samples, n_cols)
                      const double[:, ::1] W,        # IN  (n_samples, rank)
                      const double[:, ::1] Q,        # IN  (rank, rank) symmetric
                      double scale, double reg,
                      double[:, ::1] H,              # OUT (rank*n_cols, rank*n_cols)
                      double[:, ::1] scratch):       # SCRATCH (n_chunk, rank*n_cols)
    """Assemble H = scale * (K^T K) o (Q kron 1) + reg * I, K[i] = W[i] kron Z[i].

    The full symmetric matrix is written. Cost O(n_samples (rank n_cols)^2 / 2)
    (one dsyrk per chunk of ``scratch.shape[0]`` rows) plus O((rank n_cols)^2).
    """
    cdef Py_ssize_t n_samples = Z.shape[0], n_cols = Z.shape[1], rank = W.shape[1]
    cdef Py_ssize_t n = rank * n_cols, n_chunk = scratch.shape[0]
    cdef Py_ssize_t start, stop, i, r, j, a, b, c
    cdef double w
    _sizes("khatri_rao_system: Z and W", n_samples, n_cols, rank)
    _sizes("khatri_rao_system: the block system", n, n_chunk, 1)
    _shape("W", W.shape[0], W.shape[1], n_samples, rank)
    _shape("Q", Q.shape[0], Q.shape[1], rank, rank)
    _shape("H", H.shape[0], H.shape[1], n, n)
    _shape("scratch", n_chunk, scratch.shape[1], n_chunk, n)
    with nogil:
        for a in range(n):
            for b in range(n):
                H[a, b] = 0.0
        start = 0
        while start < n_samples:
            stop = start + n_chunk
            if stop > n_samples:
                stop = n_samples
            for i in range(start, stop):
                c = i - start
                for r in range(rank):
                    w = W[i, r]
                    for j in range(n_cols):
                        scratch[c, r * n_cols + j] = w * Z[i, j]
            xsyrk_gram(stop - start, n, &scratch[0, 0], 1.0, &H[0, 0])
            start = stop
        # xsyrk_gram fills the row-major upper triangle (a <= b); weight, mirror, ridge
        for a in range(n):
            for b in range(a, n):
                H[a, b] = H[a, b] * scale * Q[a // n_cols, b // n_cols]
                H[b, a] = H[a, b]
            H[a, a] = H[a, a] + reg


def cholesky_solve(double[:, ::1] H,     # IN/OUT (n, n) SPD; overwritten by its factor
                   double[::1] rhs):     # IN/OUT (n,); overwritten by the solution
    """Solve H x = rhs in place by Cholesky (LAPACK dpotrf/dpotrs).

    Returns the LAPACK info: 0 on success, > 0 when H is not positive definite.
    """
    cdef int info
    _sizes("cholesky_solve: H", H.shape[0], 1, 1)
    _shape("H", H.shape[0], H.shape[1], H.shape[0], H.shape[0])
    _shape("rhs", rhs.shape[0], 1, H.shape[0], 1)
    with nogil:
        info = xpotrf_solve(H.shape[0], &H[0, 0], &rhs[0])
    return info


def weighted_cross(const double[:, ::1] Z,       # IN  (n_samples, n_cols)
                   const double[:, ::1] W,       # IN  (n_samples, rank)
                   const double[:, ::1] M,       # IN  (n_samples, rank)
                   double scale,
                   const double[:, ::1] Theta,   # IN  (n_cols, rank)
                   double coef,
                   double[:, ::1] scratch,       # SCRATCH (n_samples, rank)
                   double[:, ::1] out):          # OUT (n_cols, rank)
    """out = scale * Z^T (W o M) + coef * Theta.

    With M = G_m Phi_m, scale = 1 and coef = 2 lambda this is the block gradient
    (G1); with M = T Phi_m, scale = 1/N and coef = 0 it is the right-hand side B.
    """
    cdef Py_ssize_t n_samples = Z.shape[0], n_cols = Z.shape[1], rank = W.shape[1]
    cdef Py_ssize_t i, r, j
    _sizes("weighted_cross: Z and W", n_samples, n_cols, rank)
    _shape("W", W.shape[0], W.shape[1], n_samples, rank)
    _shape("M", M.shape[0], M.shape[1], n_samples, rank)
    _shape("Theta", Theta.shape[0], Theta.shape[1], n_cols, rank)
    _shape("scratch", scratch.shape[0], scratch.shape[1], n_samples, rank)
    _shape("out", out.shape[0], out.shape[1], n_cols, rank)
    with nogil:
        for i in range(n_samples):
            for r in range(rank):
                scratch[i, r] = W[i, r] * M[i, r]
        for j in range(n_cols):
            for r in range(rank):
                out[j, r] = coef * Theta[j, r]
        xgemm_tn(n_samples, n_cols, rank, scale, &Z[0, 0], &scratch[0, 0], 1.0, &out[0, 0])


cdef int _check_operator(str what, const double[:, ::1] Z, const double[:, ::1] W,
                         const double[:, ::1] Q, const double[:, ::1] Theta,
                         const double[:, ::1] scratch1, const double[:, ::1] scratch2,
                         const double[:, ::1] out) except -1:
    """Raise unless the arguments of `block_operator(_product)` have matching shapes."""
    cdef Py_ssize_t n_samples = Z.shape[0], n_cols = Z.shape[1], rank = W.shape[1]
    _sizes(what + ": Z and W", n_samples, n_cols, rank)
    _shape("W", W.shape[0], W.shape[1], n_samples, rank)
    _shape("Q", Q.shape[0], Q.shape[1], rank, rank)
    _shape("Theta", Theta.shape[0], Theta.shape[1], n_cols, rank)
    _shape("scratch1", scratch1.shape[0], scratch1.shape[1], n_samples, rank)
    _shape("scratch2", scratch2.shape[0], scratch2.shape[1], n_samples, rank)
    _shape("out", out.shape[0], out.shape[1], n_cols, rank)
    return 0


cdef void _apply_operator(Py_ssize_t n_samples, Py_ssize_t n_cols, Py_ssize_t rank,
                          const double* Z, const double* W, const double* Q, double scale,
                          double reg, const double* Theta, double* product,
                          double* weighted, double* scratch, double* out) noexcept nogil:
    """out = scale * Z^T [W o ((W o product) Q)] + reg * Theta with product = Z Theta
    (``weighted`` may be ``product``, then overwritten by W o product)."""
    cdef Py_ssize_t a
    xgemm_nn(n_samples, n_cols, rank, 1.0, Z, Theta, 0.0, product)
    for a in range(n_samples * rank):
        weighted[a] = product[a] * W[a]
    xgemm_nn(n_samples, rank, rank, 1.0, weighted, Q, 0.0, scratch)
    for a in range(n_samples * rank):
        scratch[a] = scratch[a] * W[a]
    for a in range(n_cols * rank):
        out[a] = reg * Theta[a]
    xgemm_tn(n_samples, n_cols, rank, scale, Z, scratch, 1.0, out)


def block_operator(Z, W, Q, double scale, double reg, Theta, scratch1, scratch2, out):
    """out = H Theta = scale * Z^T [W o ((W o Z Theta) Q)] + reg * Theta, H not formed.

    `block_operator_product` with ``scratch1`` (n_samples, rank) as the product;
    Z (n_samples, n_cols), W (n_samples, rank), Q (rank, rank), Theta and out
    (n_cols, rank), scratch2 (n_samples, rank). Cost O(n_samples rank (n_cols + rank)).
    """
    block_operator_product(Z, W, Q, scale, reg, Theta, scratch1, scratch1, scratch2, out)


def block_operator_product(const double[:, ::1] Z,       # IN  (n_samples, n_cols)
                           const double[:, ::1] W,       # IN  (n_samples, rank)
                           const double[:, ::1] Q,       # IN  (rank, rank)
                           double scale, double reg,
                           const double[:, ::1] Theta,   # IN  (n_cols, rank)
                           double[:, ::1] product,       # OUT (n_samples, rank)
                           double[:, ::1] scratch1,      # SCRATCH (n_samples, rank)
                           double[:, ::1] scratch2,      # SCRATCH (n_samples, rank)
                           double[:, ::1] out):          # OUT (n_cols, rank)
    """`block_operator` that also returns ``product = Z Theta`` (which may be ``scratch1``).

    A CG step moves Theta along its direction p, and with ``Z p`` kept the
    product ``Z Theta`` of the new iterate is an update, not a new pass over Z.
    """
    _check_operator("block_operator", Z, W, Q, Theta, scratch1, scratch2, out)
    _shape("product", product.shape[0], product.shape[1], Z.shape[0], W.shape[1])
    with nogil:
        _apply_operator(Z.shape[0], Z.shape[1], W.shape[1], &Z[0, 0], &W[0, 0], &Q[0, 0],
                        scale, reg, &Theta[0, 0], &product[0, 0], &scratch1[0, 0],
                        &scratch2[0, 0], &out[0, 0])


def squared_data_loss(const double[:, ::1] f0,      # IN  (n_samples, n_topics)
                      const double[:, ::1] f1,      # IN  (n_samples, n_topics)
                      const double[::1] alpha,      # IN  (n_topics,)
                      const double[:, ::1] Y,       # IN  (n_samples, n_topics)
                      double consensus):
    """``||F - Y||^2 + consensus (||f0 - Y||^2 + ||f1 - Y||^2)``, F = f0 diag(alpha) +
    f1 diag(1 - alpha): the squared-loss data terms of J in one pass, F not formed."""
    cdef Py_ssize_t n_samples = f0.shape[0], n_topics = f0.shape[1]
    cdef Py_ssize_t i, p
    cdef double mixture = 0.0, own = 0.0, d0, d1, dm
    _sizes("squared_data_loss: f0", n_samples, n_topics, 1)
    _shape("f1", f1.shape[0], f1.shape[1], n_samples, n_topics)
    _shape("alpha", alpha.shape[0], 1, n_topics, 1)
    _shape("Y", Y.shape[0], Y.shape[1], n_samples, n_topics)
    with nogil:
        for i in range(n_samples):
            for p in range(n_topics):
                d0 = f0[i, p] - Y[i, p]
                d1 = f1[i, p] - Y[i, p]
                dm = f0[i, p] * alpha[p] + f1[i, p] * (1.0 - alpha[p]) - Y[i, p]
                mixture = mixture + dm * dm
                own = own + d0 * d0 + d1 * d1
    if consensus == 0.0:
        return mixture
    return mixture + consensus * own


def row_max_shift(const double[:, ::1] f,         # IN  (n_samples, n_topics)
                  double[::1] row_max,            # OUT (n_samples,)
                  double[:, ::1] shifted):        # OUT (n_samples, n_topics)
    """``row_max[i] = max_p f[i, p]`` and ``shifted = f - row_max[:, None]``.

    The first half of the softmax statistics (`softmax_finish` is the second;
    the exponential in between is NumPy's vectorised ``exp``). A NaN in a row
    makes its maximum NaN, as in NumPy.
    """
    cdef Py_ssize_t n_samples = f.shape[0], n_topics = f.shape[1]
    cdef Py_ssize_t i, p
    cdef double mx
    _sizes("row_max_shift: f", n_samples, n_topics, 1)
    _shape("row_max", row_max.shape[0], 1, n_samples, 1)
    _shape("shifted", shifted.shape[0], shifted.shape[1], n_samples, n_topics)
    with nogil:
        for i in range(n_samples):
            mx = f[i, 0]
            for p in range(1, n_topics):
                if not f[i, p] <= mx:   # a NaN propagates
                    mx = f[i, p]
            row_max[i] = mx
            for p in range(n_topics):
                shifted[i, p] = f[i, p] - mx


def softmax_finish(const double[:, ::1] f,              # IN  (n_samples, n_topics)
                   const double[::1] row_max,           # IN  (n_samples,)
                   const double[::1] row_weights,       # IN  (n_samples,)
                   const double[:, ::1] row_targets,    # IN  (n_samples, n_topics)
                   double[::1] logsumexp,               # OUT (n_samples,)
                   double[:, ::1] gradient):            # IN/OUT (n_samples, n_topics)
    """The multinomial cross-entropy's statistics from ``exp(f - row_max)``.

    On entry ``gradient`` holds ``exp(f - row_max[:, None])``; on exit
    ``gradient[i] = row_weights[i] softmax(f[i]) - row_targets[i]`` and
    ``logsumexp[i] = log sum_p exp(f[i, p])``. Returns the summed loss
    ``sum_i row_weights[i] logsumexp[i] - sum_ip row_targets[i, p] f[i, p]``.
    """
    cdef Py_ssize_t n_samples = f.shape[0], n_topics = f.shape[1]
    cdef Py_ssize_t i, p
    cdef double tot, lse, w, dot, value = 0.0
    _sizes("softmax_finish: f", n_samples, n_topics, 1)
    _shape("row_max", row_max.shape[0], 1, n_samples, 1)
    _shape("row_weights", row_weights.shape[0], 1, n_samples, 1)
    _shape("row_targets", row_targets.shape[0], row_targets.shape[1], n_samples, n_topics)
    _shape("logsumexp", logsumexp.shape[0], 1, n_samples, 1)
    _shape("gradient", gradient.shape[0], gradient.shape[1], n_samples, n_topics)
    with nogil:
        for i in range(n_samples):
            tot = 0.0
            for p in range(n_topics):
                tot = tot + gradient[i, p]
            lse = log(tot) + row_max[i]
            logsumexp[i] = lse
            w = row_weights[i]
            dot = 0.0
            for p in range(n_topics):
                gradient[i, p] = gradient[i, p] / tot * w - row_targets[i, p]
                dot = dot + row_targets[i, p] * f[i, p]
            value = value + (w * lse - dot)
    return value
