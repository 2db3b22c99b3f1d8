"""Generic helpers for fits on a ``dask.array`` X that is never gathered.

A fit on a dask array runs as a few *passes*; one pass is one task per row-block
of ``X`` (``X`` rechunked to whole rows), and every task returns a small
reduction (a gradient, a p x p Hessian, r columns of a product, a histogram) to
the client. :class:`RowBlocks` holds the blocks of X and of the per-row vectors
(y, sample_weight) as dask delayed objects and runs such passes.

Used by :mod:`statoptim.optim._distributed`, :mod:`statoptim.ssvd._distributed` and
:mod:`statoptim.quantile._distributed`.
"""
from __future__ import annotations

import math

import numpy as np

__all__ = ["RowBlocks", "is_dask_array"]


def is_dask_array(obj):
    """Whether ``obj`` is a ``dask.array.Array`` (without importing dask)."""
    module = type(obj).__module__ or ""
    return module.startswith("dask.") and hasattr(obj, "to_delayed") and hasattr(obj, "chunks")


def _known_chunks(arr, name):
    if any(isinstance(c, float) and math.isnan(c) for axis in arr.chunks for c in axis):
        raise ValueError(f"{name} is a dask array with unknown chunk sizes; call "
                         f"{name}.compute_chunk_sizes() first")


class RowBlocks:
    """The row-blocks of a 2-D dask array ``X`` and of per-row vectors.

    ``X`` is rechunked so that every block holds whole rows: a dask array chunked
    by columns has its column chunks merged (and its rows re-split by dask's
    ``"auto"`` rule, so that a block stays about ``array.chunk-size``). The
    ``vectors`` (name -> 1-D numpy or dask array of length n_samples, or None) are
    chunked like the rows of ``X``; a numpy vector is kept as one dask array
    (the client already holds it).

    Parameters
    ----------
    X : dask.array.Array of shape (n_samples, n_features)
    vectors : dict of str to array-like or None, optional
    persist : bool, default=True
        Persist the vectors (not X) once, so that every pass reads them from the
        workers instead of shipping them again.
    """

    def __init__(self, X, vectors=None, *, persist=True):
        import dask
        import dask.array as da

        if X.ndim != 2:
            raise ValueError("X must be 2-D (n_samples, n_features), got a dask array of "
                             f"shape {X.shape}")
        _known_chunks(X, "X")
        if X.dtype.kind not in "biuf":
            raise ValueError(f"X must hold real numbers, got a dask array of dtype {X.dtype}")
        if len(X.chunks[1]) > 1:  # chunked by columns: whole rows per block
            X = X.rechunk({0: "auto", 1: -1})
        self.X = X
        rows = X.chunks[0]
        self.rows = tuple(int(r) for r in rows)
        self.n_samples, self.n_features = int(sum(rows)), int(X.shape[1])
        self.offsets = np.concatenate([[0], np.cumsum(rows)[:-1]]).astype(np.intp)
        self.x = list(X.to_delayed().ravel())
        self.names = []
        arrays = []
        for name, v in (vectors or {}).items():
            self.names.append(name)
            arrays.append(None if v is None else self._vector(da, v, name))
        present = [a for a in arrays if a is not None]
        if persist and present:
            present = list(dask.persist(*present))
        self._persisted = list(present)  # keeps a cluster's futures of the vectors alive
        self.vectors = []
        for a in arrays:
            if a is None:
                self.vectors.append([None] * len(self.x))
            else:
                self.vectors.append(list(present.pop(0).to_delayed().ravel()))

    def _vector(self, da, v, name):
        if is_dask_array(v):
            _known_chunks(v, name)
        else:
            v = np.asarray(v)
        if v.dtype.kind not in "biufUSOb":
            raise ValueError(f"{name} must be a 1-D array, got dtype {v.dtype}")
        if v.ndim == 2 and v.shape[1] == 1:
            v = v.reshape(-1)
        if v.ndim != 1 or v.shape[0] != self.n_samples:
            raise ValueError(f"{name} must have shape ({self.n_samples},) to match X, got "
                             f"shape {tuple(v.shape)}")
        return da.asarray(v).rechunk((self.rows,))

    def __len__(self):
        return len(self.x)

    def map(self, func, *args, per_block=None):
        """Compute ``func(x, *vectors, offset, *args, *per_block[b])`` on every block.

        Returns the list of the tasks' results (in block order), computed with the
        current dask scheduler (a ``distributed.Client`` if one is the default).
        """
        import dask

        tasks = []
        for b, x in enumerate(self.x):
            extra = per_block[b] if per_block is not None else ()
            vecs = [v[b] for v in self.vectors]
            tasks.append(dask.delayed(func, pure=False)(x, *vecs, int(self.offsets[b]),
                                                        *args, *extra))
        return list(dask.compute(*tasks))

    def map_some(self, func, parts):
        """Compute ``func(x, *vectors, offset, *args)`` on some blocks only.

        ``parts`` is a list of ``(b, *args)``: block index and its arguments (e.g.
        the block's own slice of a long vector). Returns the results in that order.
        """
        import dask

        tasks = []
        for b, *args in parts:
            vecs = [v[b] for v in self.vectors]
            tasks.append(dask.delayed(func, pure=False)(self.x[b], *vecs, int(self.offsets[b]),
                                                        *args))
        return list(dask.compute(*tasks))


def result_nbytes(obj):
    """Bytes of the NumPy arrays in a (nested) task result: what a pass returns."""
    if isinstance(obj, np.ndarray):
        return obj.nbytes
    if isinstance(obj, dict):
        return sum(result_nbytes(v) for v in obj.values())
    if isinstance(obj, (list, tuple)):
        return sum(result_nbytes(v) for v in obj)
    return 0
