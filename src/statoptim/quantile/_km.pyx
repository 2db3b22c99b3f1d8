# Kaplan-Meier kernel: the O(n) pass over observations sorted by time.
#
# Design
# ------
# The wrapper (`_ipw.py`) validates `time` and `event`, argsorts `time` once
# (the O(n log n) step) and allocates every output. This kernel walks the rows
# in that order, groups tied times, and for each distinct time s_k records
#     R_k = #{j: Y_j >= s_k}                     (at risk),
#     d_k = #{j: Y_j = s_k, D_j = 1}             (failures),
#     c_k = #{j: Y_j = s_k, D_j = 0}             (censorings),
#     S(s_k) = prod_{l <= k} (R_l - d_l) / R_l   (KM of T),
#     G(s_k) = prod_{l <= k} (R_l - c_l) / R_l   (KM of C, events reversed),
# and for every row i the left limit G(Y_i-) = prod_{l: s_l < Y_i} (R_l - c_l) / R_l
# (docs/quantile.rst, "Censoring weights"). Ties: failures precede censorings, so censorings at the
# time of a failure do not lower that failure's G(Y_i-): the product runs over
# s_l < Y_i only. The factors are formed as (R - d) / R, one correctly rounded
# division of exact integers, rather than 1 - d / R.
#
# Nothing here allocates, holds the GIL in the loop or warns.

from numpy cimport intp_t, int64_t, uint8_t


def km_sorted_pass(const double[::1] time,          # IN  (n_samples,) finite
                   const uint8_t[::1] event,        # IN  (n_samples,) 1 = failure observed
                   const intp_t[::1] order,         # IN  (n_samples,) argsort of time
                   double[::1] times_out,           # OUT (n_samples,) distinct times, first m used
                   double[::1] survival_out,        # OUT (n_samples,) S(s_k)
                   double[::1] cens_survival_out,   # OUT (n_samples,) G(s_k)
                   int64_t[::1] at_risk_out,        # OUT (n_samples,) R_k
                   int64_t[::1] events_out,         # OUT (n_samples,) d_k
                   int64_t[::1] censored_out,       # OUT (n_samples,) c_k
                   double[::1] g_left_out):         # OUT (n_samples,) G(Y_i-) in input order
    """One pass of the Kaplan-Meier estimator over rows sorted by time.

    Returns the number ``m`` of distinct times; only the first ``m`` entries
    of the per-time outputs are written. ``g_left_out[i]`` is the censoring
    survival just before ``time[i]``, for every row ``i`` (input order).
    """
    cdef Py_ssize_t n_samples = time.shape[0]
    cdef Py_ssize_t i = 0, j, m, k = 0
    cdef int64_t n_fail, n_cens, n_risk
    cdef double t, surv = 1.0, cens = 1.0
    if event.shape[0] != n_samples or order.shape[0] != n_samples:
        raise ValueError("event and order must have one entry per time")
    if (times_out.shape[0] < n_samples or survival_out.shape[0] < n_samples
            or cens_survival_out.shape[0] < n_samples or at_risk_out.shape[0] < n_samples
            or events_out.shape[0] < n_samples or censored_out.shape[0] < n_samples
            or g_left_out.shape[0] != n_samples):
        raise ValueError("every output must have one entry per time")
    for i in range(n_samples):
        if order[i] < 0 or order[i] >= n_samples:
            raise ValueError("order must be a permutation of range(n_samples)")
    i = 0
    with nogil:
        while i < n_samples:
            t = time[order[i]]
            n_fail = 0
            n_cens = 0
            j = i
            while j < n_samples and time[order[j]] == t:
                if event[order[j]]:
                    n_fail += 1
                else:
                    n_cens += 1
                j += 1
            n_risk = n_samples - i
            # left limit: G before the censorings at t are applied
            for m in range(i, j):
                g_left_out[order[m]] = cens
            surv = surv * (<double>(n_risk - n_fail) / <double>n_risk)
            cens = cens * (<double>(n_risk - n_cens) / <double>n_risk)
            times_out[k] = t
            survival_out[k] = surv
            cens_survival_out[k] = cens
            at_risk_out[k] = n_risk
            events_out[k] = n_fail
            censored_out[k] = n_cens
            k += 1
            i = j
    return k
