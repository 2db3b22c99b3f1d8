"""Cross-modal retrieval by semantic matching and its ranking metrics.

Items of each modality are mapped to topic-score vectors (for the CP model,
``decision_function`` of their modality) and ranked by the cosine (default)
or dot product between the query's and each database item's vector
(Rasiwasia et al. 2010). Scores are computed a block of queries at a time, so
no (n_queries, n_database) float matrix is ever held; the ranking itself is
the output.

Tie-breaking is explicit: ``ties="random"`` (default) breaks ties between
equal scores by an independent uniformly random order per query, drawn from
``random_state``; ``ties="index"`` keeps database order (a stable sort), which
reproduces legacy numbers but inflates mAP on class-sorted databases (a
collapsed model scores 0.209 instead of chance 0.106 on the class-sorted UCI
test set).
"""
from __future__ import annotations

import numbers
import warnings

import numpy as np
from sklearn.exceptions import UndefinedMetricWarning

from statoptim._validation import _describe, check_random_state

__all__ = ["retrieve", "mean_average_precision", "precision_at_k", "map_at_k",
           "mean_average_precision_at_k", "ZeroScoreWarning"]

_CHUNK = 256


class ZeroScoreWarning(UserWarning):
    """Some score vector is all zeros: its cosine with every item is 0 (all ties)."""


def _check_scores(x, name):
    try:
        arr = np.asarray(x, dtype=np.float64)
    except (TypeError, ValueError):
        raise ValueError(f"{name} must be a 2-D array of scores, got {_describe(x)}") from None
    if arr.ndim != 2 or arr.shape[0] == 0 or arr.shape[1] == 0:
        raise ValueError(f"{name} must be a non-empty 2-D array (n_items, n_topics), "
                         f"got shape {arr.shape}")
    if not np.all(np.isfinite(arr)):
        raise ValueError(f"{name} must be finite, got "
                         f"{int((~np.isfinite(arr)).sum())} NaN or inf")
    return np.ascontiguousarray(arr)


def _normalize_rows(x, name):
    norms = np.linalg.norm(x, axis=1)
    zero = norms == 0
    if zero.any():
        warnings.warn(f"{int(zero.sum())} of the {x.shape[0]} {name} score vectors are zero; "
                      "their cosine with every item is 0, so their ranking is the tie-break",
                      ZeroScoreWarning, stacklevel=3)
    norms[zero] = 1.0
    return x / norms[:, None]


def retrieve(queries, database, *, similarity="cosine", n_results=None, ties="random",
             random_state=None):
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
        Length of each ranking; None ranks the whole database.
    ties : {"random", "index"}, default="random"
        Items with equal scores are ordered uniformly at random, independently
        per query (drawn from ``random_state``), or by database index.
    random_state : int, Generator or None, default=None
        Seed of the random tie-break.

    Returns
    -------
    ranking : ndarray of shape (n_queries, n_results), dtype int64
        ``ranking[q, k]`` is the database index at rank k (0 = most similar).
    """
    Q = _check_scores(queries, "queries")
    D = _check_scores(database, "database")
    if Q.shape[1] != D.shape[1]:
        raise ValueError(f"database must have {Q.shape[1]} columns like queries, "
                         f"got {D.shape[1]}")
    if similarity not in ("cosine", "dot"):
        raise ValueError(f"similarity must be 'cosine' or 'dot', got {similarity!r}")
    if ties not in ("random", "index"):
        raise ValueError(f"ties must be 'random' or 'index', got {ties!r}")
    n_database = D.shape[0]
    if n_results is None:
        n_results = n_database
    if (isinstance(n_results, bool) or not isinstance(n_results, numbers.Integral)
            or not 1 <= n_results <= n_database):
        raise ValueError(f"n_results must be an integer in [1, n_database={n_database}], "
                         f"got {_describe(n_results)}")
    rng = check_random_state(random_state)
    if similarity == "cosine":
        Q = _normalize_rows(Q, "query")
        D = _normalize_rows(D, "database")
    ranking = np.empty((Q.shape[0], n_results), dtype=np.int64)
    for start in range(0, Q.shape[0], _CHUNK):
        S = Q[start:start + _CHUNK] @ D.T
        if ties == "random":
            # Shuffle each row uniformly, then sort. A comparison sort sees tied
            # items only through their keys, so relabelling two tied items swaps
            # them in the output: from a uniformly shuffled input, every order
            # of a tied block is equally likely, whether or not the sort is stable.
            perm = rng.permuted(np.broadcast_to(np.arange(n_database), S.shape), axis=1)
            order = np.argsort(-np.take_along_axis(S, perm, axis=1), axis=1)
            order = np.take_along_axis(perm, order, axis=1)
        else:
            order = np.argsort(-S, axis=1, kind="stable")
        ranking[start:start + _CHUNK] = order[:, :n_results]
    return ranking


def _check_labels(labels, name):
    arr = np.asarray(labels)
    if arr.ndim not in (1, 2) or arr.shape[0] == 0:
        raise ValueError(f"{name} must be 1-D class labels or a 2-D 0/1 indicator matrix "
                         f"with at least one row, got shape {arr.shape}")
    if arr.ndim == 2:
        try:
            arr = np.asarray(arr, dtype=np.float64)
        except (TypeError, ValueError):
            raise ValueError(f"{name} must be a numeric 0/1 indicator matrix, got dtype "
                             f"{arr.dtype}") from None
        if not np.all((arr == 0) | (arr == 1)):
            raise ValueError(f"{name} must be a 0/1 indicator matrix (multi-label)")
    return arr


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
    if arr.min() < 0 or arr.max() >= n_database:
        raise ValueError(f"ranking entries must be database indices in [0, {n_database}), "
                         f"got values in [{arr.min()}, {arr.max()}]")
    for start in range(0, arr.shape[0], _CHUNK):
        srt = np.sort(arr[start:start + _CHUNK], axis=1)
        if np.any(srt[:, 1:] == srt[:, :-1]):
            raise ValueError("ranking rows must not repeat a database index")
    return arr


def _relevance_chunks(query_labels, database_labels, ranking):
    """Yield boolean relevance of ranked items, a block of queries at a time."""
    q = _check_labels(query_labels, "query_labels")
    d = _check_labels(database_labels, "database_labels")
    if q.ndim != d.ndim or (q.ndim == 2 and q.shape[1] != d.shape[1]):
        raise ValueError("query_labels and database_labels must both be 1-D labels or both "
                         f"indicator matrices with the same columns, got shapes {q.shape} "
                         f"and {d.shape}")
    for start in range(0, q.shape[0], _CHUNK):
        block = ranking[start:start + _CHUNK]
        if q.ndim == 1:
            yield d[block] == q[start:start + _CHUNK, None]
        else:
            shared = q[start:start + _CHUNK] @ d.T > 0         # (chunk, n_database)
            yield np.take_along_axis(shared, block, axis=1)


def _n_database(database_labels):
    return np.shape(database_labels)[0] if np.ndim(database_labels) >= 1 else 0


def _check_k(k, n_results, n_database):
    if isinstance(k, bool) or not isinstance(k, numbers.Integral) or k < 1:
        raise ValueError(f"k must be a positive integer, got {_describe(k)}")
    if k > n_database:
        raise ValueError(f"k={k} exceeds the number of database items ({n_database})")
    if k > n_results:
        raise ValueError(f"k={k} exceeds the length of the rankings ({n_results} columns)")
    return int(k)


def mean_average_precision(query_labels, database_labels, ranking, *, per_query=False):
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
    database_labels : array-like of shape (n_database,) or (n_database, n_labels)
    ranking : array-like of shape (n_queries, n_database)
        Full rankings, e.g. from :func:`retrieve`.
    per_query : bool, default=False
        Return the AP of every query instead of the mean.
    """
    n_database = _n_database(database_labels)
    n_queries = np.shape(query_labels)[0] if np.ndim(query_labels) >= 1 else 0
    ranking = _check_ranking(ranking, n_queries, n_database, full=True)
    out = []
    for rel in _relevance_chunks(query_labels, database_labels, ranking):
        hits = np.cumsum(rel, axis=1)
        prec = hits / np.arange(1, rel.shape[1] + 1)
        n_rel = hits[:, -1]
        total = np.sum(prec * rel, axis=1)
        ap = np.divide(total, n_rel, out=np.zeros_like(total), where=n_rel > 0)
        out.append(ap)
        if np.any(n_rel == 0):
            warnings.warn(f"{int(np.sum(n_rel == 0))} queries have no relevant database item; "
                          "their average precision is set to 0", UndefinedMetricWarning,
                          stacklevel=2)
    ap = np.concatenate(out)
    return ap if per_query else float(ap.mean())


def precision_at_k(query_labels, database_labels, ranking, k):
    """Mean over queries of the fraction of relevant items among the first k ranked.

    ``P@K(q) = (1/K) sum_{j <= K} rel_q(j)``. ``k`` larger than the database or
    than the rankings raises ``ValueError``.
    """
    n_database = _n_database(database_labels)
    n_queries = np.shape(query_labels)[0] if np.ndim(query_labels) >= 1 else 0
    ranking = _check_ranking(ranking, n_queries, n_database, full=False)
    k = _check_k(k, ranking.shape[1], n_database)
    ranking = ranking[:, :k]
    vals = [rel.mean(axis=1) for rel in _relevance_chunks(query_labels, database_labels,
                                                          ranking)]
    return float(np.concatenate(vals).mean())


def map_at_k(query_labels, database_labels, ranking, k):
    """Mean average precision at K, as reported by hashing papers (e.g. SMFH).

    ``AP@K(q) = (1/R_K(q)) sum_{k <= K} P_q(k) rel_q(k)``, where ``R_K(q)`` is the
    number of relevant items among the first K (AP@K = 0 when there are none,
    without a warning). Some papers divide by ``min(|Rel_q|, K)`` instead; this
    function does not. ``k`` larger than the database or the rankings raises.
    """
    n_database = _n_database(database_labels)
    n_queries = np.shape(query_labels)[0] if np.ndim(query_labels) >= 1 else 0
    ranking = _check_ranking(ranking, n_queries, n_database, full=False)
    k = _check_k(k, ranking.shape[1], n_database)
    ranking = ranking[:, :k]
    out = []
    for rel in _relevance_chunks(query_labels, database_labels, ranking):
        hits = np.cumsum(rel, axis=1)
        prec = hits / np.arange(1, k + 1)
        n_rel = hits[:, -1]
        total = np.sum(prec * rel, axis=1)
        out.append(np.divide(total, n_rel, out=np.zeros_like(total), where=n_rel > 0))
    return float(np.concatenate(out).mean())


mean_average_precision_at_k = map_at_k
