"""One place for the package's BLAS thread policy.

The kernels of statoptim run their own loops single-threaded (or on the
threads a caller asks for with ``n_threads``); the BLAS calls inside them
are small products (Gram matrices of a subsample, blocks of 1024 rows)
that gain nothing from more threads and, on a loaded machine, lose badly:
OpenBLAS threads that spin while another process holds the cores made an
exact median regression at n = 10^6, p = 20 eight times slower (see
BENCHMARKS.md, "Threads"). So the solvers hold BLAS at one thread while
they run, through one cached :class:`threadpoolctl.ThreadpoolController`
(about 50 microseconds a call, where ``threadpool_limits`` re-scans the
loaded libraries for about 10 ms). Users who want something else wrap
their call in ``threadpoolctl.threadpool_limits(...)``: the limit here
only ever lowers the thread count for the duration of the call.

Where a pass over the rows is worth parallelising (the logistic Hessian and
gradient), the package splits the rows into blocks of its own
(:func:`row_blocks`) and runs them on Python threads, each calling BLAS at one
thread (:func:`reduce_blocks`): one join per pass instead of OpenBLAS's
barriers inside every call, so a thread that the OS deschedules delays only
the blocks it holds while the others take the rest. The split depends only on
the problem's size and the pieces are added in block order, so the answer
does not depend on the number of threads nor on their scheduling.
"""
from __future__ import annotations

import collections
import concurrent.futures
import contextlib
import os
import threading

__all__ = ["reduce_blocks", "row_blocks", "single_blas_thread"]

_CONTROLLER = None
_POOLS = {}
_POOLS_LOCK = threading.Lock()


def _controller():
    global _CONTROLLER
    if _CONTROLLER is None:
        from threadpoolctl import ThreadpoolController

        _CONTROLLER = ThreadpoolController()
    return _CONTROLLER


def single_blas_thread(enabled=True, *, openmp=False):
    """Context manager holding BLAS (and with ``openmp`` also OpenMP) at one thread.

    A no-op when ``enabled`` is false. Studies use ``openmp=True`` for timings
    that compare like with like across machines.

    Examples
    --------
    >>> import numpy as np
    >>> from statoptim._threads import single_blas_thread
    >>> with single_blas_thread():
    ...     gram = np.ones((3, 2)).T @ np.ones((3, 2))
    >>> gram.tolist()
    [[3.0, 3.0], [3.0, 3.0]]
    """
    if not enabled:
        return contextlib.nullcontext()
    try:
        if openmp:  # OpenMP runtimes load with the kernels that use them: scan afresh
            from threadpoolctl import threadpool_limits

            return threadpool_limits(limits=1)
        controller = _controller()
    except ImportError:  # pragma: no cover - threadpoolctl comes with scikit-learn
        return contextlib.nullcontext()
    return controller.limit(limits=1, user_api="blas")


def row_blocks(n_rows, row_cost, block_cost, align=1):
    """Boundaries of a split of ``n_rows`` rows into blocks of about ``block_cost`` work.

    ``row_cost`` is the work of one row in the caller's unit (e.g. multiply-adds),
    ``block_cost`` the work a block should have at least, so that starting it on a
    thread costs little beside it. Boundaries are multiples of ``align`` (except
    the last, ``n_rows``). The split depends only on the arguments, never on the
    number of threads: results summed block by block are then the same on any
    number of threads. Returns a list of ``n_blocks + 1`` increasing ints from 0
    to ``n_rows``; one block (``[0, n_rows]``) when the rows are too few to split.

    Examples
    --------
    >>> from statoptim._threads import row_blocks
    >>> row_blocks(10_000, row_cost=100, block_cost=250_000, align=1000)
    [0, 2000, 5000, 7000, 10000]
    >>> row_blocks(100, row_cost=100, block_cost=250_000)
    [0, 100]
    """
    units = -(-n_rows // align)
    n_blocks = max(1, min(units, (n_rows * row_cost) // max(block_cost, 1)))
    return [min(n_rows, (b * units // n_blocks) * align) for b in range(n_blocks + 1)]


def _pool(n_workers):
    """The package's thread pool of ``n_workers`` threads, made once per process
    (after a fork the child makes its own: the parent's threads do not exist there)."""
    key = (os.getpid(), n_workers)
    with _POOLS_LOCK:
        pool = _POOLS.get(key)
        if pool is None:
            pool = concurrent.futures.ThreadPoolExecutor(
                n_workers, thread_name_prefix="statoptim-rows")
            _POOLS[key] = pool
    return pool


def reduce_blocks(compute, n_blocks, n_threads, combine):
    """``combine`` the pieces ``compute(0), ..., compute(n_blocks - 1)`` in block order.

    With ``n_threads > 1`` the pieces are computed on up to ``n_threads`` threads of
    a shared pool, with BLAS held at one thread (NumPy's BLAS calls and the
    package's ``nogil`` kernels release the GIL), and at most ``2 n_threads``
    pieces wait at a time, so memory stays bounded for many blocks. Each free
    thread takes the next block, so a descheduled thread delays only its own
    block. ``combine(total, piece)`` returns the new total (the first piece is the
    first total) and always sees the pieces in block order, so the result is the
    same for any ``n_threads``. An exception in a block is raised here after the
    other blocks have stopped.

    Examples
    --------
    >>> import numpy as np
    >>> from statoptim._threads import reduce_blocks
    >>> X = np.arange(12.0).reshape(6, 2)
    >>> parts = lambda b: X[3 * b:3 * b + 3].T @ X[3 * b:3 * b + 3]
    >>> gram = reduce_blocks(parts, 2, n_threads=2, combine=np.add)
    >>> bool(np.array_equal(gram, X.T @ X))
    True
    """
    n_workers = min(n_threads, n_blocks)
    if n_workers <= 1:
        total = compute(0)
        for b in range(1, n_blocks):
            total = combine(total, compute(b))
        return total
    pool = _pool(n_workers)
    with single_blas_thread():
        pending = collections.deque()
        try:
            for b in range(min(2 * n_workers, n_blocks)):
                pending.append(pool.submit(compute, b))
            total = None
            for b in range(n_blocks):
                piece = pending.popleft().result()
                nxt = b + len(pending) + 1
                if nxt < n_blocks:
                    pending.append(pool.submit(compute, nxt))
                total = piece if b == 0 else combine(total, piece)
        except BaseException:
            for future in pending:
                future.cancel()
            concurrent.futures.wait(pending)
            raise
    return total
