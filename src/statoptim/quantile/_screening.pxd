# Screening of the ratio tests (_process_pivot.pyx) and of the crossing search
# (_rank_walk.pyx): rows keyed by their distance to a reference vertex, the K
# smallest kept sorted. Inline, so each kernel compiles its own copy (qsort
# takes compare_keyed by address).

from libc.math cimport INFINITY, sqrt
from libc.stdlib cimport qsort


cdef struct Keyed:
    double key
    Py_ssize_t row


cdef inline int compare_keyed(const void* a, const void* b) noexcept nogil:
    cdef double ka = (<const Keyed*>a).key, kb = (<const Keyed*>b).key
    if ka < kb:
        return -1
    if ka > kb:
        return 1
    return ((<const Keyed*>a).row > (<const Keyed*>b).row) - \
        ((<const Keyed*>a).row < (<const Keyed*>b).row)


cdef inline int compare_index(const void* a, const void* b) noexcept nogil:
    cdef Py_ssize_t ia = (<const Py_ssize_t*>a)[0], ib = (<const Py_ssize_t*>b)[0]
    return (ia > ib) - (ia < ib)


cdef inline void select_smallest(Keyed* items, Py_ssize_t n, Py_ssize_t k) noexcept nogil:
    """Reorder ``items`` so that its first ``k`` entries are the ``k`` smallest
    keys (in any order): quickselect, median-of-three pivots, expected O(n)."""
    cdef Py_ssize_t lo = 0, hi = n - 1, i, j, mid
    cdef Keyed pivot, tmp
    if k <= 0 or k >= n:
        return
    while hi > lo:
        mid = lo + (hi - lo) // 2
        # median of three into items[mid]
        if compare_keyed(&items[mid], &items[lo]) < 0:
            tmp = items[mid]; items[mid] = items[lo]; items[lo] = tmp
        if compare_keyed(&items[hi], &items[lo]) < 0:
            tmp = items[hi]; items[hi] = items[lo]; items[lo] = tmp
        if compare_keyed(&items[hi], &items[mid]) < 0:
            tmp = items[hi]; items[hi] = items[mid]; items[mid] = tmp
        pivot = items[mid]
        i = lo
        j = hi
        while i <= j:
            while compare_keyed(&items[i], &pivot) < 0:
                i += 1
            while compare_keyed(&items[j], &pivot) > 0:
                j -= 1
            if i <= j:
                tmp = items[i]; items[i] = items[j]; items[j] = tmp
                i += 1
                j -= 1
        # [lo, j] <= pivot <= [i, hi]
        if k - 1 <= j:
            hi = j
        elif k - 1 >= i:
            lo = i
        else:
            return


cdef inline Py_ssize_t keep_smallest(Keyed* items, Py_ssize_t n, Py_ssize_t k,
                                     double* key_cut) noexcept nogil:
    """Screen ``items`` to its ``k`` smallest keys, sorted, and return how many it kept.

    ``key_cut`` gets the (k+1)-th smallest key, which bounds every row left out
    (INFINITY when ``k >= n`` keeps them all).
    """
    cdef Py_ssize_t i, j = 0
    if k >= n:
        key_cut[0] = INFINITY
        k = n
    else:
        select_smallest(items, n, k + 1)
        for i in range(1, k + 1):
            if compare_keyed(&items[i], &items[j]) > 0:
                j = i
        key_cut[0] = items[j].key
        items[j], items[k] = items[k], items[j]
    qsort(items, k, sizeof(Keyed), compare_keyed)
    return k


cdef inline Py_ssize_t screen_size(Py_ssize_t n, Py_ssize_t n_candidates) noexcept nogil:
    """Rows the screening keeps: ``n_candidates``, or 4 sqrt(n) + 32 when it is
    negative; at most ``n``."""
    cdef Py_ssize_t k = 4 * <Py_ssize_t>sqrt(<double>n) + 32 if n_candidates < 0 \
        else n_candidates
    return n if k > n else k
