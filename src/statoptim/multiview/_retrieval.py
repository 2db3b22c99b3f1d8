"""Cross-modal retrieval by semantic matching and its ranking metrics.

Items of each modality are mapped to topic-score vectors (for the CP model,
``decision_function`` of their modality) and ranked by the cosine (default)
or dot product between the query's and each database item's vector
(Rasiwasia et al. 2010). Scores are computed a block of queries at a time
(about ``_BLOCK_ELEMENTS`` similarities per block, whatever the database
size), so no (n_queries, n_database) float matrix is ever held; the ranking
itself is the output. A top-k ranking (``n_results=k``) selects the k best
items of a block with ``np.argpartition`` and sorts only those, so it costs
O(n_database) time and O(k) memory per query beyond the block.

Scale: before similarities are formed, every score vector is rescaled by a
power of two (exact in binary floating point): for the cosine each row
separately, for the dot product each query row and the database by one common
power of two (a per-row rescaling of the database would change the dot-product
ranking). Rankings are therefore the same for scores of order 1e-300, 1 or
1e300, and no similarity overflows. When the database rows' magnitudes span
more than ``2**_DOT_EXPONENT_RANGE``, a common rescaling would push the small
rows' dot products into underflow (spurious ties); the dot products are then
compared exactly as (exponent, mantissa) pairs of per-row rescaled products.

Tie-breaking is explicit: ``ties="random"`` (default) breaks ties between
equal scores by an independent uniformly random order per query, drawn from
``random_state``; ``ties="index"`` keeps database order (a stable sort), which
reproduces legacy numbers but inflates mAP on class-sorted databases (a
collapsed model scores 0.209 instead of chance 0.106 on the class-sorted UCI
test set). With ``ties="index"`` a top-k ranking is exactly the first k
columns of the full ranking; with ``ties="random"`` it has the distribution of
the first k columns of a full random-tie ranking (the random draws differ, so
the same seed need not give the same items when ties straddle rank k).
"""
from __future__ import annotations

import numbers
import warnings
from typing import Literal

import numpy as np
import scipy.sparse as sp
from numpy.typing import ArrayLike

from statoptim._validation import _describe, check_random_state, check_sparse_structure
from statoptim.exceptions import UndefinedMetricWarning, ZeroScoreWarning

__all__ = ["ZeroScoreWarning", "map_at_k", "mean_average_precision",
           "mean_average_precision_at_k", "precision_at_k", "retrieve"]

#: Entries (similarities, relevance flags, ...) handled per block of queries:
#: 2**22 float64 = 32 MiB, so a block is about that size whatever the database.
_BLOCK_ELEMENTS = 1 << 22
#: Largest spread of the database rows' binary exponents for which the dot
#: product uses one common power-of-two rescaling of the database (see above).
_DOT_EXPONENT_RANGE = 768




def _block_rows(per_row):
    """Rows per block so that a block holds about ``_BLOCK_ELEMENTS`` entries."""
    return max(1, _BLOCK_ELEMENTS // max(1, int(per_row)))


def _real_array(x, name, expected):
    """``np.asarray(x)`` with a real (bool, int or float) dtype; object arrays become float64.

    ``expected`` completes the message "``name`` must be ..." when ``x`` is not
    an array at all (e.g. "a 2-D array of scores").
    """
    try:
        arr = np.asarray(x)
        arr = arr.astype(np.float64) if arr.dtype.kind == "O" else arr
    except (TypeError, ValueError):
        raise ValueError(f"{name} must be {expected}, got {_describe(x)}") from None
    if arr.dtype.kind not in "biuf":
        raise ValueError(f"{name} must be a 2-D array of real numbers, got dtype {arr.dtype}")
    return arr


def _indicator_values(arr, name):
    """A 2-D label indicator array as float64 (its 0/1 values are the caller's check)."""
    try:
        if arr.dtype.kind not in "biufO":
            raise TypeError
        return np.asarray(arr, dtype=np.float64)
    except (TypeError, ValueError):
        raise ValueError(f"{name} must be a numeric 0/1 indicator matrix, got dtype "
                         f"{arr.dtype}") from None


def _check_scores(x, name):
    """A finite, non-empty 2-D float64 array of scores (sparse input is densified)."""
    if sp.issparse(x):
        x = check_sparse_structure(x, name).toarray()
    arr = _real_array(x, name, "a 2-D array of scores")
    if arr.ndim != 2 or arr.shape[0] == 0 or arr.shape[1] == 0:
        raise ValueError(f"{name} must be a non-empty 2-D array (n_items, n_topics), "
                         f"got shape {arr.shape}")
    arr = np.asarray(arr, dtype=np.float64)
    if not np.all(np.isfinite(arr)):
        raise ValueError(f"{name} must be finite, got "
                         f"{int((~np.isfinite(arr)).sum())} NaN or inf")
    return np.ascontiguousarray(arr)


def _row_exponents(x):
    """Per row, the e with ``max_j |x_ij| * 2**-e`` in [0.5, 1) (0 for a zero row)."""
    return np.frexp(np.max(np.abs(x), axis=1))[1]   # C int: ldexp's exponent type


def _warn_zero(x, what, name):
    """Warn about all-zero rows of x (their similarity is 0 with every item)."""
    zero = ~np.any(x != 0, axis=1)
    if zero.any():
        warnings.warn(f"{int(zero.sum())} of the {x.shape[0]} {name} score vectors are zero; "
                      f"their {what} with every item is 0, so their ranking is the tie-break",
                      ZeroScoreWarning, stacklevel=3)
    return zero


def _unit_rows(x, name):
    """Rows of x divided by their norm, after an exact power-of-two rescaling.

    With each row's largest entry in [0.5, 1) the squared norm neither
    overflows nor underflows, so rows of any magnitude give the same unit vector.
    """
    zero = _warn_zero(x, "cosine", name)
    xs = np.ldexp(x, -_row_exponents(x)[:, None])
    norms = np.sqrt(np.einsum("ij,ij->i", xs, xs))
    norms[zero] = 1.0
    xs /= norms[:, None]
    return xs


def _wide_dot_keys(Qs, M, exponents):
    """Exact ranking keys of ``(Qs @ M.T) * 2**exponents`` per row (smaller = better).

    ``M`` holds the database rows rescaled to a largest entry in [0.5, 1) and
    ``exponents`` their binary exponents. Each product ``t = mant * 2**ex`` is
    compared through (sign, ex + exponent, mant) -- no rescaling to a common
    exponent, so no underflow -- and replaced by its dense rank per row (equal
    products get equal ranks), a float key for :func:`_rank_block`.
    """
    t = Qs @ M.T
    mant, ex = np.frexp(t)
    expo = ex.astype(np.int64) + exponents[None, :]
    sign = np.sign(t)
    # ascending keys for descending products: positives (larger exponent, then
    # larger mantissa first), zeros, negatives (smaller exponent, then smaller |mant|)
    k0 = -sign
    k1 = np.where(sign > 0, -expo, np.where(sign < 0, expo, 0))
    k2 = -mant
    k2[sign == 0] = 0.0
    order = np.lexsort((k2, k1, k0), axis=1)
    new = np.ones(order.shape, dtype=bool)
    for k in (k0, k1, k2):
        s = np.take_along_axis(k, order, axis=1)
        new[:, 1:] |= s[:, 1:] != s[:, :-1]
    keys = np.empty(t.shape)
    np.put_along_axis(keys, order, np.cumsum(new, axis=1).astype(np.float64), axis=1)
    return keys


def _rank_block(key, k, ties, rng):
    """Indices of the k smallest keys of every row, in increasing key order.

    Ties: ``"index"`` orders equal keys by index (the first k columns of a
    stable full sort); ``"random"`` orders them uniformly at random per row
    and, when equal keys straddle rank k, keeps a uniformly random subset.
    """
    n = key.shape[1]
    if k < n:
        top = np.ascontiguousarray(np.argpartition(key, k - 1, axis=1)[:, :k])
        vals = np.take_along_axis(key, top, axis=1)
        kth = vals.max(axis=1)
        in_top = np.count_nonzero(vals == kth[:, None], axis=1)
        in_row = np.count_nonzero(key == kth[:, None], axis=1)
        # argpartition picks arbitrary members of a tied block at rank k:
        # choose them by the tie rule instead (few rows, O(n_database) each)
        for r in np.flatnonzero(in_row > in_top):
            tied = np.flatnonzero(key[r] == kth[r])
            m = int(in_top[r])
            chosen = tied[:m] if ties == "index" else rng.choice(tied, m, replace=False)
            top[r] = np.concatenate([top[r][vals[r] != kth[r]], chosen])
    else:
        top = np.broadcast_to(np.arange(n), key.shape)
    if ties == "random":
        # Shuffle each row uniformly, then sort. A comparison sort sees tied
        # items only through their keys, so relabelling two tied items swaps
        # them in the output: from a uniformly shuffled input, every order
        # of a tied block is equally likely, whether or not the sort is stable.
        top = rng.permuted(top, axis=1)
        order = np.argsort(np.take_along_axis(key, top, axis=1), axis=1)
    else:
        if k < n:
            top.sort(axis=1)
        order = np.argsort(np.take_along_axis(key, top, axis=1), axis=1, kind="stable")
    return np.take_along_axis(top, order, axis=1)


def _cosine_keys(Q, D):
    """keys(rows): minus the cosines of query rows ``rows`` with every database row."""
    Qs = _unit_rows(Q, "query")
    Dneg = -_unit_rows(D, "database")

    def keys(rows):
        return Qs[rows] @ Dneg.T
    return keys


def _dot_keys(Q, D):
    """keys(rows): ranking keys of the dot products (smaller = better), rescaled exactly."""
    _warn_zero(Q, "dot product", "query")
    Qs = np.ldexp(Q, -_row_exponents(Q)[:, None])   # order within a row unchanged
    expo = _row_exponents(D)
    nonzero = np.any(D != 0, axis=1)   # a zero row's exponent (0) means nothing
    top = int(expo[nonzero].max()) if nonzero.any() else 0
    if nonzero.any() and top - int(expo[nonzero].min()) > _DOT_EXPONENT_RANGE:
        M = np.ldexp(D, -expo[:, None])

        def keys(rows):
            return _wide_dot_keys(Qs[rows], M, expo)
        return keys
    Dneg = -np.ldexp(D, -top)   # one common power of two: the ranking is unchanged

    def keys(rows):
        return Qs[rows] @ Dneg.T
    return keys


def retrieve(queries: ArrayLike, database: ArrayLike, *,
             similarity: Literal["cosine", "dot"] = "cosine", n_results: int | None = None,
             ties: Literal["random", "index"] = "random",
             random_state: int | np.random.Generator | None = None) -> np.ndarray:
    """Rank database items for every query by decreasing similarity.

    Parameters
    ----------
    queries : array-like of shape (n_queries, n_topics)
        Score vectors of the query items (e.g. ``decision_function`` of modality a).
    database : array-like of shape (n_database, n_topics)
        Score vectors of the database items (the other modality).
    similarity : {"cosine", "dot"}, default="cosine"
        Cosine of the score vectors (0 against a zero vector, with a
        :class:`ZeroScoreWarning`) or their dot product. On topic posteriors
        (``MultiViewTensorMachine.predict_proba``) of single-label data the dot
        product ``sum_p P(p | query) P(p | item)`` is the probability that the
        two items share their topic, so ``"dot"`` ranks by the probability of
        relevance (Robertson's probability ranking principle); the cosine
        instead favours database items with flat posteriors.
    n_results : int or None, default=None
        Length of each ranking; None ranks the whole database. A short ranking
        costs O(n_database) time and O(n_results) memory per query beyond a
        block of about ``2**22`` similarities (no full sort).
    ties : {"random", "index"}, default="random"
        Items with equal scores are ordered uniformly at random, independently
        per query (drawn from ``random_state``), or by database index. With
        ``"index"``, ``retrieve(..., n_results=k)`` equals the first k columns of
        the full ranking; with ``"random"`` it has their distribution.
    random_state : int, Generator or None, default=None
        Seed of the random tie-break.

    Returns
    -------
    ranking : ndarray of shape (n_queries, n_results), dtype int64
        ``ranking[q, k]`` is the database index at rank k (0 = most similar).

    Notes
    -----
    Score vectors are rescaled by powers of two (exactly) before similarities
    are formed, so the ranking does not change when queries or database are
    multiplied by a power of two and no similarity overflows, even for scores
    of order 1e300 (see the module notes).

    Examples
    --------
    >>> import numpy as np
    >>> from statoptim import retrieve
    >>> queries = np.array([[0.9, 0.1], [0.2, 0.8]])
    >>> database = np.array([[1.0, 0.0], [0.0, 1.0], [0.7, 0.3]])
    >>> retrieve(queries, database, random_state=0)
    array([[0, 2, 1],
           [1, 2, 0]])
    >>> retrieve(queries, database, n_results=1, random_state=0)
    array([[0],
           [1]])
    """
    Q = _check_scores(queries, "queries")
    D = _check_scores(database, "database")
    if Q.shape[1] != D.shape[1]:
        raise ValueError(f"database must have {Q.shape[1]} columns like queries, "
                         f"got {D.shape[1]}")
    if not isinstance(similarity, str) or similarity not in ("cosine", "dot"):
        raise ValueError(f"similarity must be 'cosine' or 'dot', got {_describe(similarity)}")
    if not isinstance(ties, str) or ties not in ("random", "index"):
        raise ValueError(f"ties must be 'random' or 'index', got {_describe(ties)}")
    n_database = D.shape[0]
    if n_results is None:
        n_results = n_database
    if (isinstance(n_results, bool) or not isinstance(n_results, numbers.Integral)
            or not 1 <= n_results <= n_database):
        raise ValueError(f"n_results must be an integer in [1, n_database={n_database}], "
                         f"got {_describe(n_results)}")
    n_results = int(n_results)
    rng = check_random_state(random_state)
    keys = _cosine_keys(Q, D) if similarity == "cosine" else _dot_keys(Q, D)
    ranking = np.empty((Q.shape[0], n_results), dtype=np.int64)
    step = _block_rows(n_database)
    for start in range(0, Q.shape[0], step):
        rows = slice(start, start + step)
        ranking[rows] = _rank_block(keys(rows), n_results, ties, rng)
    return ranking


_LABELS = "1-D class labels or a 2-D 0/1 indicator matrix"


def _check_labels(labels, name):
    """1-D class labels (no NaN) or a float 0/1 indicator matrix with >= 1 column."""
    if sp.issparse(labels):
        labels = check_sparse_structure(labels, name).toarray()
    try:
        arr = np.asarray(labels)
    except (TypeError, ValueError):
        raise ValueError(f"{name} must be {_LABELS}, got {_describe(labels)}") from None
    if arr.ndim not in (1, 2) or arr.shape[0] == 0:
        raise ValueError(f"{name} must be {_LABELS} with at least one row, "
                         f"got shape {arr.shape}")
    if arr.ndim == 2:
        if arr.shape[1] == 0:
            raise ValueError(f"{name} must have at least one label column, got shape "
                             f"{arr.shape}")
        arr = _indicator_values(arr, name)
        if not np.all((arr == 0) | (arr == 1)):
            raise ValueError(f"{name} must be a 0/1 indicator matrix (multi-label)")
        return arr
    if arr.dtype.kind not in "biufcUSO":
        raise ValueError(f"{name} must be {_LABELS}, got dtype {arr.dtype}")
    try:
        missing = np.asarray(arr != arr, dtype=bool)  # noqa: PLR0124 (NaN, also in objects)
    except (TypeError, ValueError):
        missing = np.zeros(arr.shape, dtype=bool)
    if missing.shape == arr.shape and missing.any():
        raise ValueError(f"{name} must not contain NaN: {int(missing.sum())} of its "
                         f"{arr.shape[0]} labels are NaN (NaN equals no label)")
    if arr.dtype.kind in "fc" and not np.all(np.isfinite(arr)):
        raise ValueError(f"{name} must not contain inf")
    return arr


def _check_label_pair(query_labels, database_labels):
    q = _check_labels(query_labels, "query_labels")
    d = _check_labels(database_labels, "database_labels")
    if q.ndim != d.ndim or (q.ndim == 2 and q.shape[1] != d.shape[1]):
        raise ValueError("query_labels and database_labels must both be 1-D labels or both "
                         f"indicator matrices with the same columns, got shapes {q.shape} "
                         f"and {d.shape}")
    if q.ndim == 1:
        kinds = {arr.dtype.kind for arr in (q, d)} - {"O"}
        if kinds & set("biufc") and kinds & set("US"):
            raise ValueError("query_labels and database_labels must be labels of the same "
                             f"kind, got dtypes {q.dtype} and {d.dtype}: a number never "
                             "equals a string, so no item would be relevant")
    return q, d


def _check_ranking(ranking, n_queries, n_database, full):
    try:
        arr = np.asarray(ranking)
    except (TypeError, ValueError):
        raise ValueError(f"ranking must be a 2-D integer array, got {_describe(ranking)}") \
            from None
    if arr.ndim != 2 or arr.dtype.kind not in "iu":
        raise ValueError("ranking must be a 2-D integer array (n_queries, n_results), got "
                         f"{_describe(arr)}")
    if arr.shape[0] != n_queries:
        raise ValueError(f"ranking must have {n_queries} rows like query_labels, "
                         f"got {arr.shape[0]}")
    if arr.shape[1] == 0 or arr.shape[1] > n_database:
        raise ValueError(f"ranking must have between 1 and n_database={n_database} columns, "
                         f"got {arr.shape[1]}")
    if full and arr.shape[1] != n_database:
        raise ValueError(f"mean_average_precision needs a full ranking of all "
                         f"{n_database} database items, got {arr.shape[1]} columns; use "
                         "map_at_k for truncated rankings")
    low, high = arr.min(), arr.max()
    if low < 0 or high >= n_database:
        raise ValueError(f"ranking entries must be database indices in [0, {n_database}), "
                         f"got values in [{low}, {high}]")
    step = _block_rows(arr.shape[1])
    for start in range(0, arr.shape[0], step):
        srt = np.sort(arr[start:start + step], axis=1)
        if np.any(srt[:, 1:] == srt[:, :-1]):
            raise ValueError("ranking rows must not repeat a database index")
    return arr.astype(np.intp, copy=False)


def _relevance_chunks(q, d, ranking):
    """Yield boolean relevance of the ranked items, a block of queries at a time.

    Memory per block stays near ``_BLOCK_ELEMENTS``: 1-D labels compare the
    ranked items' labels; indicator matrices gather the ranked items' label
    rows when that is smaller than one row of shared-label flags per query.
    """
    n_queries, k = ranking.shape
    if q.ndim == 1:
        step = _block_rows(k)
        for start in range(0, n_queries, step):
            yield d[ranking[start:start + step]] == q[start:start + step, None]
        return
    n_labels = q.shape[1]
    if k * n_labels <= d.shape[0]:
        qb, db = q > 0, d > 0
        step = _block_rows(k * n_labels)
        for start in range(0, n_queries, step):
            block = ranking[start:start + step]
            yield np.any(db[block] & qb[start:start + step, None, :], axis=2)
    else:
        step = _block_rows(d.shape[0])
        for start in range(0, n_queries, step):
            shared = q[start:start + step] @ d.T > 0          # (block, n_database)
            yield np.take_along_axis(shared, ranking[start:start + step], axis=1)


def _check_k(k, n_results, n_database):
    if isinstance(k, bool) or not isinstance(k, numbers.Integral) or k < 1:
        raise ValueError(f"k must be a positive integer, got {_describe(k)}")
    if k > n_database:
        raise ValueError(f"k={k} exceeds the number of database items ({n_database})")
    if k > n_results:
        raise ValueError(f"k={k} exceeds the length of the rankings ({n_results} columns)")
    return int(k)


def _prepare(query_labels, database_labels, ranking, full):
    q, d = _check_label_pair(query_labels, database_labels)
    return q, d, _check_ranking(ranking, q.shape[0], d.shape[0], full)


def mean_average_precision(query_labels: ArrayLike, database_labels: ArrayLike, ranking: ArrayLike,
                           *, per_query: bool = False) -> float | np.ndarray:
    """Mean over queries of the average precision of a full ranking (talk eq. 10).

    ``AP(q) = (1/|Rel_q|) sum_k P_q(k) rel_q(k)`` with ``P_q(k)`` the precision
    among the first k ranked items and ``|Rel_q|`` the number of relevant items
    in the whole database. Relevant means the same class (1-D labels) or at
    least one shared label (indicator matrices). For a tie-free ranking this
    equals ``sklearn.metrics.average_precision_score(rel_q, score_q)``. A query
    with no relevant item gets AP = 0 and an ``UndefinedMetricWarning``.

    Parameters
    ----------
    query_labels : array-like of shape (n_queries,) or (n_queries, n_labels)
        Class labels (no NaN) or a 0/1 indicator matrix (dense or sparse).
    database_labels : array-like of shape (n_database,) or (n_database, n_labels)
        Labels of the same kind as ``query_labels``.
    ranking : array-like of shape (n_queries, n_database)
        Full rankings, e.g. from :func:`retrieve`: every row a permutation of
        the database indices (checked, so nothing is read out of bounds).
    per_query : bool, default=False
        Return the AP of every query instead of the mean.

    Returns
    -------
    map : float, or ndarray of shape (n_queries,) with ``per_query=True``

    Examples
    --------
    >>> import numpy as np
    >>> from statoptim import mean_average_precision
    >>> query_labels = np.array([0, 1])
    >>> database_labels = np.array([0, 1, 0, 1])
    >>> ranking = np.array([[0, 1, 2, 3], [0, 2, 1, 3]])
    >>> mean_average_precision(query_labels, database_labels, ranking, per_query=True).round(4)
    array([0.8333, 0.4167])
    >>> round(mean_average_precision(query_labels, database_labels, ranking), 4)
    0.625
    """
    if not isinstance(per_query, (bool, np.bool_)):
        raise TypeError(f"per_query must be True or False, got {_describe(per_query)}")
    q, d, ranking = _prepare(query_labels, database_labels, ranking, full=True)
    out = []
    n_empty = 0
    for rel in _relevance_chunks(q, d, ranking):
        hits = np.cumsum(rel, axis=1)
        prec = hits / np.arange(1, rel.shape[1] + 1)
        n_rel = hits[:, -1]
        total = np.sum(prec * rel, axis=1)
        out.append(np.divide(total, n_rel, out=np.zeros_like(total), where=n_rel > 0))
        n_empty += int(np.sum(n_rel == 0))
    if n_empty:
        warnings.warn(f"{n_empty} queries have no relevant database item; "
                      "their average precision is set to 0", UndefinedMetricWarning,
                      stacklevel=2)
    ap = np.concatenate(out)
    return ap if per_query else float(ap.mean())


def precision_at_k(query_labels: ArrayLike, database_labels: ArrayLike, ranking: ArrayLike,
                   k: int) -> float:
    """Mean over queries of the fraction of relevant items among the first k ranked.

    ``P@K(q) = (1/K) sum_{j <= K} rel_q(j)``. ``k`` larger than the database or
    than the rankings raises ``ValueError``; labels and ``ranking`` are checked
    as in :func:`mean_average_precision` (rankings may be truncated).

    Examples
    --------
    >>> import numpy as np
    >>> from statoptim import precision_at_k
    >>> ranking = np.array([[0, 1, 2, 3], [0, 2, 1, 3]])
    >>> precision_at_k([0, 1], [0, 1, 0, 1], ranking, 2)
    0.25
    """
    q, d, ranking = _prepare(query_labels, database_labels, ranking, full=False)
    k = _check_k(k, ranking.shape[1], d.shape[0])
    vals = [rel.mean(axis=1) for rel in _relevance_chunks(q, d, ranking[:, :k])]
    return float(np.concatenate(vals).mean())


def map_at_k(query_labels: ArrayLike, database_labels: ArrayLike, ranking: ArrayLike,
             k: int) -> float:
    """Mean average precision at K, as reported by hashing papers (e.g. SMFH).

    ``AP@K(q) = (1/R_K(q)) sum_{k <= K} P_q(k) rel_q(k)``, where ``R_K(q)`` is the
    number of relevant items among the first K (AP@K = 0 when there are none,
    without a warning). Some papers divide by ``min(|Rel_q|, K)`` instead; this
    function does not. ``k`` larger than the database or the rankings raises;
    labels and ``ranking`` are checked as in :func:`mean_average_precision`.

    Examples
    --------
    >>> import numpy as np
    >>> from statoptim import map_at_k
    >>> query_labels = np.array([0, 1])
    >>> database_labels = np.array([0, 1, 0, 1])
    >>> ranking = np.array([[0, 1, 2, 3], [0, 2, 1, 3]])
    >>> round(map_at_k(query_labels, database_labels, ranking, 2), 4)
    0.5
    """
    q, d, ranking = _prepare(query_labels, database_labels, ranking, full=False)
    k = _check_k(k, ranking.shape[1], d.shape[0])
    out = []
    for rel in _relevance_chunks(q, d, ranking[:, :k]):
        hits = np.cumsum(rel, axis=1)
        prec = hits / np.arange(1, k + 1)
        n_rel = hits[:, -1]
        total = np.sum(prec * rel, axis=1)
        out.append(np.divide(total, n_rel, out=np.zeros_like(total), where=n_rel > 0))
    return float(np.concatenate(out).mean())


mean_average_precision_at_k = map_at_k
