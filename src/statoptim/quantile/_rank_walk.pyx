# Kernel of the rank-inversion walk (summary(se="rank")): parametric programming in b.
#
# The restricted fit of y - b c on A (n x m, weights w, level q) as b moves
# in one direction, with the rank-score statistic T(b) = c'psi(b) / scale of
# its dual solution psi, until |T| reaches the cutoff. The kernel takes the
# same steps, with the same tests and tolerances, as the NumPy walk in
# `_rank_inversion.py` (`_Restricted.segment` / `.enter`, `_rank_bound`), which
# stays the reference and takes every step the kernel hands back.
#
# A step starts at b_at with rows R = h + C (m + 1 rows of zero residual at
# b_at: the basis of the last segment and the row crossing there). The
# candidate bases are the m-subsets of R in the order of
# itertools.combinations; candidate h' (row l of R left out) has duals
#     v_h' = -A_h'^{-T} (g0 + psi_l a_l),  g0 = sum_{i not in R} psi_i a_i,
# psi_i = w_i (q - 1{r_i < 0}) at b_at+ and psi_l from the side row l moves
# to. The first candidate whose duals lie in their boxes with a clear margin
# is taken (the one optimal basis when the vertex is not degenerate). On the
# segment of basis h the residuals are r_i(b) = u_i - b v_i, u = y - A sol0,
# v = c - A sol1 (sol = A_h^{-1} (y_h, c_h)); the next crossing is the
# smallest u_i / v_i ahead. g0 and T are updated by the two rows that swap
# sides (the crossing row joins R, the leaving row leaves it) and recomputed
# every RANK_REFRESH steps.
#
# Screening, as for the process (_process_pivot.pyx), in zeta = (b, theta) with rows
# z_i = (c_i, a_i): |r_i(zeta)| / ||z_i|| moves by at most
# ||zeta - zeta_ref|| from its key at a reference vertex, and |v_i| <=
# ||z_i|| ||(1, sol1)||, so a row whose key exceeds
#     ||zeta_at - zeta_ref|| + ||(1, sol1)|| |b_next - b_at| (+ rounding)
# neither crosses before b_next nor has a residual zero to rounding there.
# The rows with the K ~ 4 sqrt(n) smallest keys are kept sorted and a step
# looks at them in that order until the bound stops it: O(K m) per step
# instead of O(n m). The reference is rebuilt (a pass, a quickselect and a
# sort of K keys) when a scan gets long or has to be a full pass.
#
# The kernel stops and hands the step back (status RANK_HAND_BACK, with R
# and b_at) whenever the NumPy walk would take a path it does not: several
# rows crossing together (ties), a residual zero to rounding outside R
# (rows whose residual stays zero need the small LP of the free duals), a
# candidate with such a row, or no candidate with a clear margin.
#
# The state (structs Walk and Step) is declared in _rank_walk.pxd.

from libc.float cimport DBL_EPSILON as DBL_EPS
from libc.math cimport fabs, sqrt, INFINITY
from libc.stdlib cimport malloc, free, qsort

from statoptim._cy._blas cimport xgetrf, xgetrs
from statoptim.quantile._screening cimport compare_index, keep_smallest, screen_size

cdef enum:
    RANK_CARRY_ON = -1     # (internal) the walk goes on
    RANK_BOUND = 0         # |T| reached the cutoff: interpolate
    RANK_INFINITE = 1      # no further crossing: the bound is infinite
    RANK_HAND_BACK = 2     # the next step needs the NumPy walk
    RANK_STEP_CAP = 3      # max_steps reached
    RANK_REFRESH = 64      # recompute g0 and T from scratch this often
# The walk's codes for Python (_rank_inversion.py).
WALK_BOUND = RANK_BOUND
WALK_INFINITE = RANK_INFINITE


cdef int load_basis(Walk* s, const Py_ssize_t* h) noexcept nogil:
    """LU and inverse of A_h, sol0, sol1; 1 if singular or ill conditioned
    (the NumPy walk's test: ||A_h||_1 ||A_h^{-1}||_1 < 1e12)."""
    cdef Py_ssize_t k, j, m = s.m
    cdef double norm_a = 0.0, norm_i = 0.0, col
    for k in range(m):       # M = A_h in Fortran order: M[k + j m] = A[h_k, j]
        for j in range(m):
            s.M[k + j * m] = s.A[h[k] * m + j]
    for j in range(m):
        col = 0.0
        for k in range(m):
            col += fabs(s.M[k + j * m])
        if col > norm_a:
            norm_a = col
    if xgetrf(m, s.M, s.ipiv) != 0:
        return 1
    for j in range(m):
        for k in range(m):
            s.inv[k + j * m] = 1.0 if k == j else 0.0
        xgetrs(m, s.M, s.ipiv, &s.inv[j * m], False)
        col = 0.0
        for k in range(m):
            col += fabs(s.inv[k + j * m])
        if col > norm_i:
            norm_i = col
    if not (norm_a * norm_i < 1e12):
        return 1
    for k in range(m):
        s.sol0[k] = 0.0
        s.sol1[k] = 0.0
    for j in range(m):
        for k in range(m):
            s.sol0[k] += s.inv[k + j * m] * s.y[h[j]]
            s.sol1[k] += s.inv[k + j * m] * s.c[h[j]]
    return 0


cdef inline double max_abs(const double* x, Py_ssize_t m) noexcept nogil:
    cdef Py_ssize_t k
    cdef double out = 0.0
    for k in range(m):
        if fabs(x[k]) > out:
            out = fabs(x[k])
    return out


cdef inline void uv(Walk* s, Py_ssize_t i, double* ui, double* vi) noexcept nogil:
    """u_i = y_i - a_i'sol0 and v_i = c_i - a_i'sol1 for the loaded basis."""
    cdef Py_ssize_t k
    cdef const double* ai = s.A + i * s.m
    cdef double uu = s.y[i], vv = s.c[i]
    for k in range(s.m):
        uu -= ai[k] * s.sol0[k]
        vv -= ai[k] * s.sol1[k]
    ui[0] = uu
    vi[0] = vv


cdef int outside_sums(Walk* s, double b, double* g0, double* gc) noexcept nogil:
    """g0 = sum psi_i a_i and gc = sum psi_i c_i over the rows outside R (mark 0)
    at b+ on the segment of the loaded basis; 1 if one of them has a residual
    zero to rounding there."""
    cdef Py_ssize_t i, k, m = s.m
    cdef double r, psi, q = s.q, ui, vi, m0 = max_abs(s.sol0, m), m1 = max_abs(s.sol1, m)
    cdef const double* ai
    for k in range(m):
        g0[k] = 0.0
    gc[0] = 0.0
    for i in range(s.n):
        if s.mark[i]:
            continue
        uv(s, i, &ui, &vi)
        r = ui - b * vi
        if fabs(r) <= 64.0 * DBL_EPS * (fabs(s.y[i]) + s.absA[i] * m0 + fabs(b) * (
                fabs(s.c[i]) + s.absA[i] * m1)):
            return 1
        psi = s.w[i] * (q - 1.0 if r < 0.0 else q)
        ai = s.A + i * m
        for k in range(m):
            g0[k] += psi * ai[k]
        gc[0] += psi * s.c[i]
    return 0


cdef void rank_rebuild(Walk* s, double b, Py_ssize_t k_target) noexcept nogil:
    """Reference at (b, theta(b)) of the loaded basis: keys and candidates."""
    cdef Py_ssize_t i, j, n = s.n, m = s.m
    cdef double ui, vi
    s.zeta_ref[0] = b
    for j in range(m):
        s.zeta_ref[j + 1] = s.sol0[j] - b * s.sol1[j]
    for i in range(n):
        uv(s, i, &ui, &vi)
        s.cand[i].row = i
        if s.zn[i] > 0.0:
            s.cand[i].key = fabs(ui - b * vi) / s.zn[i]
        else:
            s.cand[i].key = 0.0 if s.y[i] == 0.0 else INFINITY
    s.n_cand = keep_smallest(s.cand, n, k_target, &s.key_cut)
    s.want_rebuild = False


cdef inline void look_at(Walk* s, Py_ssize_t i, Py_ssize_t leave, double b_at, double dirn,
                         double m1, Py_ssize_t* n_seen, double* best_key,
                         Py_ssize_t* first) noexcept nogil:
    """u_i, v_i and the crossing point of row i (not a basic row)."""
    cdef double ui, vi, bc, key = INFINITY
    uv(s, i, &ui, &vi)
    s.u[i] = ui
    s.v[i] = vi
    if i != leave and fabs(vi) > 64.0 * DBL_EPS * (fabs(s.c[i]) + s.absA[i] * m1):
        bc = ui / vi
        if dirn * (bc - b_at) > 0.0:
            key = dirn * bc
            if key < best_key[0] or (key == best_key[0] and i < first[0]):
                best_key[0] = key
                first[0] = i
    s.bkey[i] = key
    s.seen[n_seen[0]] = i
    n_seen[0] += 1


cdef inline int load_candidate(Walk* s, Py_ssize_t e) noexcept nogil:
    """Load the candidate basis h = R without R[e] (see `load_basis`)."""
    cdef Py_ssize_t j = 0, k
    for k in range(s.m + 1):
        if k != e:
            s.h[j] = s.cand_rows[k]
            j += 1
    return load_basis(s, s.h)


cdef inline void leaving_duals(Walk* s, Step* st, double vl) noexcept nogil:
    """psi of the leaving row (on the side v_l moves it to) and the duals vh of
    the loaded basis, -A_h^{-T} (g0 + psi_l a_l)."""
    cdef Py_ssize_t k, j, m = s.m
    st.psil = s.w[st.leave] * (s.q - 1.0 if -st.dirn * vl < 0.0 else s.q)
    for k in range(m):
        s.g[k] = s.g0[k] + st.psil * s.A[st.leave * m + k]
    for k in range(m):
        s.vh[k] = 0.0
        for j in range(m):
            s.vh[k] -= s.inv[j + k * m] * s.g[j]


cdef double candidate_margin(Walk* s, Step* st, Py_ssize_t e, double* amb,
                             bint* need_np) noexcept nogil:
    """Load candidate ``e`` and return the smallest margin of its duals inside
    their boxes (negative: infeasible). -INFINITY when the basis is singular or
    the leaving row's residual stays zero (free duals: sets ``need_np``).
    ``amb`` grows to the rounding of the margins."""
    cdef Py_ssize_t k, j, m = s.m, leave = s.cand_rows[e]
    cdef double ul, vl, tolk, lo_hi, margin = INFINITY
    if load_candidate(s, e) != 0:
        return -INFINITY
    st.leave = leave
    uv(s, leave, &ul, &vl)
    tolk = 64.0 * DBL_EPS * (fabs(s.c[leave]) + s.absA[leave] * max_abs(s.sol1, m))
    if fabs(vl) <= tolk and fabs(ul - st.b_at * vl) <= 64.0 * DBL_EPS * (
            fabs(s.y[leave]) + s.absA[leave] * max_abs(s.sol0, m)) + fabs(st.b_at) * tolk:
        need_np[0] = True   # a residual that stays zero: free duals
        return -INFINITY
    leaving_duals(s, st, vl)
    for k in range(m):
        tolk = 0.0
        for j in range(m):
            tolk += fabs(s.inv[j + k * m]) * s.wabsA[j]
        if 256.0 * DBL_EPS * tolk > amb[0]:
            amb[0] = 256.0 * DBL_EPS * tolk
        tolk = 1e-9 * s.w[s.h[k]] + 64.0 * DBL_EPS * tolk
        lo_hi = s.vh[k] - s.w[s.h[k]] * (s.q - 1.0)
        if s.w[s.h[k]] * s.q - s.vh[k] < lo_hi:
            lo_hi = s.w[s.h[k]] * s.q - s.vh[k]
        if lo_hi + tolk < margin:
            margin = lo_hi + tolk
    return margin


cdef bint choose_candidate(Walk* s, Step* st) noexcept nogil:
    """Load the basis of the segment from b_at: the candidates R without R[e],
    e = m, m - 1, ..., 0, the first with a clear margin, else the largest margin.
    False when the NumPy walk must choose: a candidate with free duals, none
    feasible, or a runner-up within rounding of the largest margin (dual
    degeneracy: both bases optimal, a choice only the NumPy walk can repeat)."""
    cdef Py_ssize_t k, e, m = s.m, best_e = -1
    cdef double wmax = 0.0, clear, bm = -INFINITY, amb, margin, ul, vl
    cdef bint need_np = False
    for k in range(m + 1):
        s.cand_rows[k] = s.rows[k]
    for k in range(m + 1):
        if s.w[s.cand_rows[k]] > wmax:
            wmax = s.w[s.cand_rows[k]]
    clear = 1e-7 * wmax
    amb = 1e-10 * wmax
    for e in range(m, -1, -1):
        margin = candidate_margin(s, st, e, &amb, &need_np)
        if margin < 0.0:
            s.margins[e] = -INFINITY
            continue
        s.margins[e] = margin
        if margin > bm:
            bm = margin
            best_e = e
        if margin > clear:
            return True   # the candidate loaded last
    if need_np or best_e < 0:
        return False
    for k in range(m + 1):
        if k != best_e and s.margins[k] >= bm - amb:
            return False
    if best_e != 0:   # load the chosen candidate again
        load_candidate(s, best_e)
        st.leave = s.cand_rows[best_e]
        uv(s, st.leave, &ul, &vl)
        leaving_duals(s, st, vl)
    return True


cdef Py_ssize_t next_crossing(Walk* s, Step* st, Py_ssize_t k_target,
                              Py_ssize_t* n_seen) noexcept nogil:
    """The first row (not in h) whose residual crosses zero beyond b_at on the
    segment of the loaded basis, -1 if none; screened, with a full pass when
    the rows outside the candidates may matter. ``n_seen``: rows looked at."""
    cdef Py_ssize_t i, k, idx, m = s.m, first = -1, leave = st.leave
    cdef double m0, m1, dnorm, delta, znorm_at, znorm_ref, zt, base, cl
    cdef double dist, slack, bound = INFINITY, best_key = INFINITY, b_at = st.b_at
    cdef double dirn = st.dirn
    cdef bint stopped = False
    for k in range(m + 1):
        s.mark[s.cand_rows[k]] = 0
    for k in range(m):
        s.mark[s.h[k]] = 1
    if s.want_rebuild:
        rank_rebuild(s, b_at, k_target)
    m0 = max_abs(s.sol0, m)
    m1 = max_abs(s.sol1, m)
    dnorm = 1.0
    delta = (b_at - s.zeta_ref[0]) ** 2
    znorm_at = b_at * b_at
    znorm_ref = s.zeta_ref[0] ** 2
    for k in range(m):
        dnorm += s.sol1[k] * s.sol1[k]
        cl = s.sol0[k] - b_at * s.sol1[k]
        delta += (cl - s.zeta_ref[k + 1]) ** 2
        znorm_at += cl * cl
        znorm_ref += s.zeta_ref[k + 1] ** 2
    dnorm = sqrt(dnorm)
    delta = sqrt(delta)
    # rounding of the keys and of delta; a residual zero to rounding
    # at b (relative to ||z_i||) is below zt + 64 eps |b| (1 + m1) sqrt(m + 1)
    base = delta + 64.0 * DBL_EPS * (s.ynorm_max + sqrt(znorm_at) + sqrt(znorm_ref)) \
        + 1e-12 * delta
    zt = 64.0 * DBL_EPS * (s.ynorm_max + sqrt(<double>(m + 1)) * (m0 + 1.0 + m1))
    n_seen[0] = 0
    for idx in range(s.n_cand):
        i = s.cand[idx].row
        if first >= 0:
            dist = dirn * (dirn * best_key - b_at)
            slack = fabs(b_at) + dist
            bound = base + zt * (1.0 + slack) + dnorm * (dist * (1.0 + 1e-9) + 1e-9 * slack)
            if s.cand[idx].key > bound:
                stopped = True
                break
        if s.mark[i]:
            continue
        look_at(s, i, leave, b_at, dirn, m1, n_seen, &best_key, &first)
    if not stopped and s.n_cand < s.n and not (s.key_cut > bound):
        # the rows outside the candidates may matter: a full pass
        n_seen[0] = 0
        best_key = INFINITY
        first = -1
        for i in range(s.n):
            if not s.mark[i]:
                look_at(s, i, leave, b_at, dirn, m1, n_seen, &best_key, &first)
        s.want_rebuild = True
    elif 2 * n_seen[0] > s.n_cand:
        s.want_rebuild = True
    return first


cdef int take_crossing(Walk* s, Step* st, Py_ssize_t first, Py_ssize_t n_seen) noexcept nogil:
    """Move to the crossing b_next of row ``first``: R = h and the rows crossing
    there. RANK_HAND_BACK (at b_next) for ties or a row with a residual zero to
    rounding outside R; else RANK_CARRY_ON."""
    cdef Py_ssize_t i, k, idx, m = s.m, nr = m
    cdef double b_next = s.u[first] / s.v[first], tolk, dirn = st.dirn
    cdef double m0 = max_abs(s.sol0, m), m1 = max_abs(s.sol1, m)
    for k in range(m):
        s.rows[k] = s.h[k]
    tolk = 1e-12 * (fabs(b_next) + fabs(b_next - st.b_at))
    for idx in range(n_seen):
        i = s.seen[idx]
        if s.bkey[i] < INFINITY and fabs(dirn * s.bkey[i] - b_next) <= tolk:
            s.rows[nr] = i
            nr += 1
            s.mark[i] = 1
    st.nr = nr
    st.b_at = b_next
    if nr != m + 1:
        # ties: in increasing row order, as the NumPy walk lists them
        # (its search over the candidate bases depends on that order)
        qsort(&s.rows[m], nr - m, sizeof(Py_ssize_t), compare_index)
        return RANK_HAND_BACK
    # every other row must have a residual clear of zero there
    for idx in range(n_seen):
        i = s.seen[idx]
        if not s.mark[i] and fabs(s.u[i] - b_next * s.v[i]) <= 64.0 * DBL_EPS * (
                fabs(s.y[i]) + s.absA[i] * m0
                + fabs(b_next) * (fabs(s.c[i]) + s.absA[i] * m1)):
            return RANK_HAND_BACK
    return RANK_CARRY_ON


cdef int swap_sides(Walk* s, Step* st) noexcept nogil:
    """g0 and gc after the crossing row joined R and the leaving row left it;
    recomputed every RANK_REFRESH steps."""
    cdef Py_ssize_t k, m = s.m, e = s.rows[m], leave = st.leave
    cdef double psie
    if st.steps % RANK_REFRESH == 0:
        if outside_sums(s, st.b_at, s.g0, &st.gc) != 0:   # pragma: no cover - checked above
            return RANK_HAND_BACK
        return RANK_CARRY_ON
    # psi of the crossing row on the segment it ends: sign of v_e * direction
    psie = s.w[e] * (s.q - 1.0 if st.dirn * s.v[e] < 0.0 else s.q)
    for k in range(m):
        s.g0[k] += st.psil * s.A[leave * m + k] - psie * s.A[e * m + k]
    st.gc += st.psil * s.c[leave] - psie * s.c[e]
    return RANK_CARRY_ON


cdef int walk(Walk* s, Step* st, double cutoff, double scale, Py_ssize_t max_steps,
              Py_ssize_t k_target) noexcept nogil:
    """Take steps until |T| reaches the cutoff, no crossing is left, the NumPy
    walk is needed or max_steps are taken; returns the status."""
    cdef Py_ssize_t k, first, n_seen
    cdef double cl
    cdef int status
    while True:
        if st.steps >= max_steps:
            return RANK_STEP_CAP
        if not choose_candidate(s, st):
            return RANK_HAND_BACK
        # T on the segment from b_at
        cl = st.gc + s.c[st.leave] * st.psil
        for k in range(s.m):
            cl += s.c[s.h[k]] * s.vh[k]
        st.t_here = cl / scale
        st.steps += 1
        if fabs(st.t_here) >= cutoff:
            return RANK_BOUND
        st.prev_b = st.b_at
        st.prev_t = st.t_here
        first = next_crossing(s, st, k_target, &n_seen)
        if first < 0:
            return RANK_INFINITE
        status = take_crossing(s, st, first, n_seen)
        if status == RANK_CARRY_ON:
            status = swap_sides(s, st)
        if status != RANK_CARRY_ON:
            return status


cdef int walk_start(Walk* s, Step* st, Py_ssize_t k_target) noexcept nogil:
    """Row norms, the basis of the segment that ended at b_at, the sums outside
    R and the reference; RANK_HAND_BACK if the NumPy walk must start."""
    cdef Py_ssize_t i, k, n = s.n, m = s.m
    cdef double cl, vl
    s.ynorm_max = 0.0
    for k in range(m):
        s.wabsA[k] = 0.0
    for i in range(n):
        s.mark[i] = 0
        cl = 0.0
        vl = s.c[i] * s.c[i]
        for k in range(m):
            cl += fabs(s.A[i * m + k])
            vl += s.A[i * m + k] * s.A[i * m + k]
            s.wabsA[k] += s.w[i] * fabs(s.A[i * m + k])
        s.absA[i] = cl
        s.zn[i] = sqrt(vl)
        if s.zn[i] > 0.0 and fabs(s.y[i]) / s.zn[i] > s.ynorm_max:
            s.ynorm_max = fabs(s.y[i]) / s.zn[i]
    for k in range(m):
        s.h[k] = s.rows[k]
    if load_basis(s, s.h) != 0:
        return RANK_HAND_BACK
    for k in range(st.nr):
        s.mark[s.rows[k]] = 1
    if st.nr == m + 1 and outside_sums(s, st.b_at, s.g0, &st.gc) == 0:
        rank_rebuild(s, st.b_at, k_target)
        return RANK_CARRY_ON
    return RANK_HAND_BACK


cdef int check_walk_args(const double[:, ::1] A, const double[::1] c, const double[::1] y,
                         const double[::1] w, double q, Py_ssize_t[::1] rows, Py_ssize_t n_rows,
                         double direction, double cutoff, double scale) except -1:
    """The ValueError of `rank_walk` for inconsistent arguments."""
    cdef Py_ssize_t n = A.shape[0], m = A.shape[1], i, k
    if m < 1 or n < m + 1:
        raise ValueError("A must have at least one column and more rows than columns")
    if c.shape[0] != n or y.shape[0] != n or w.shape[0] != n or rows.shape[0] < n + 1:
        raise ValueError("c, y and w must have one entry per row of A, rows n + 1 entries")
    if not (m + 1 <= n_rows <= n):
        raise ValueError("n_rows must lie in [m + 1, n]")
    for k in range(n_rows):
        if rows[k] < 0 or rows[k] >= n:
            raise ValueError("rows must hold row indices of A")
    if direction != 1.0 and direction != -1.0:
        raise ValueError("direction must be +1 or -1")
    if not (0.0 < q < 1.0) or not (scale > 0.0) or not (cutoff > 0.0):
        raise ValueError("q must lie in (0, 1), scale and cutoff must be positive")
    for i in range(n):
        if not w[i] > 0.0:
            raise ValueError("w must be positive")
    return 0


cdef double* walk_alloc(Walk* s, Py_ssize_t n, Py_ssize_t m) except NULL:
    """Point the arrays of ``s`` into one buffer (returned, to free) and allocate
    the rest (`walk_free`)."""
    cdef double* buf = <double*>malloc((2 * m * m + 9 * m + 6 * n + 9) * sizeof(double))
    s.ipiv = <blas_int*>malloc(m * sizeof(blas_int))
    s.mark = <signed char*>malloc(n * sizeof(signed char))
    s.h = <Py_ssize_t*>malloc((2 * (m + 1) + n) * sizeof(Py_ssize_t))
    s.cand = <Keyed*>malloc(n * sizeof(Keyed))
    if buf == NULL or s.ipiv == NULL or s.mark == NULL or s.h == NULL or s.cand == NULL:
        walk_free(s, buf)
        raise MemoryError()
    s.cand_rows = s.h + (m + 1)
    s.seen = s.cand_rows + (m + 1)
    s.M = buf
    s.inv = s.M + m * m
    s.sol0 = s.inv + m * m
    s.sol1 = s.sol0 + m
    s.vh = s.sol1 + m
    s.g = s.vh + m
    s.wabsA = s.g + m
    s.g0 = s.wabsA + m
    s.zeta_ref = s.g0 + m
    s.u = s.zeta_ref + m + 1
    s.v = s.u + n
    s.bkey = s.v + n
    s.absA = s.bkey + n
    s.zn = s.absA + n
    s.margins = s.zn + n
    return buf


cdef void walk_free(Walk* s, double* buf) noexcept:
    free(buf)
    free(s.ipiv)
    free(s.mark)
    free(s.h)
    free(s.cand)


def rank_walk(const double[:, ::1] A,       # IN  (n, m) the other columns
              const double[::1] c,           # IN  (n,) the tested column
              const double[::1] y,           # IN  (n,)
              const double[::1] w,           # IN  (n,) weights > 0
              double q,                      # IN  quantile level in (0, 1)
              Py_ssize_t[::1] rows,          # IN/OUT (n + 1,) basis (m) then crossing rows
              Py_ssize_t n_rows,             # IN  m + number of crossing rows
              double b_at,                   # IN  where the crossing rows cross
              double direction,              # IN  +1 or -1
              double prev_b,                 # IN  start of the last segment
              double prev_t,                 # IN  T on the last segment
              double cutoff,                 # IN  critical value of |T|
              double scale,                  # IN  T = c'psi / scale
              Py_ssize_t max_steps,
              Py_ssize_t n_candidates=-1):   # screening set size (-1: 4 sqrt(n) + 32)
    """Follow the rank-inversion walk from the end of a segment (see above).

    ``rows[:m]`` is the basis of the segment that ended at ``b_at`` and
    ``rows[m:n_rows]`` the rows crossing zero there (as `_rank_bound` holds
    them). ``n_candidates >= n`` turns the screening off. Returns
    ``(status, n_rows, b_at, prev_b, prev_t, t_here, n_steps)``: status 0
    (|T| = |t_here| >= cutoff on the segment from ``b_at``; the bound
    interpolates from ``(prev_b, prev_t)``), 1 (no crossing beyond
    ``prev_b``: infinite bound), 2 (the step from ``b_at`` with
    ``rows[:n_rows]`` needs the NumPy walk; ``prev_*`` updated) or 3
    (``max_steps`` taken; the same state as 2).
    """
    cdef Py_ssize_t n = A.shape[0], m = A.shape[1], k_target
    cdef int status
    cdef Walk s
    cdef Step st
    cdef double* buf

    check_walk_args(A, c, y, w, q, rows, n_rows, direction, cutoff, scale)
    k_target = screen_size(n, n_candidates)
    buf = walk_alloc(&s, n, m)
    s.n = n
    s.m = m
    s.A = &A[0, 0]
    s.c = &c[0]
    s.y = &y[0]
    s.w = &w[0]
    s.q = q
    s.rows = &rows[0]
    st.nr = n_rows
    st.steps = 0
    st.leave = -1
    st.b_at = b_at
    st.prev_b = prev_b
    st.prev_t = prev_t
    st.t_here = 0.0
    st.gc = 0.0
    st.psil = 0.0
    st.dirn = direction
    with nogil:
        status = walk_start(&s, &st, k_target)
        if status == RANK_CARRY_ON:
            status = walk(&s, &st, cutoff, scale, max_steps, k_target)
    walk_free(&s, buf)
    return status, st.nr, st.b_at, st.prev_b, st.prev_t, st.t_here, st.steps
