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

import concurrent.futures
import contextlib
import os
import threading
import time

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


def row_blocks(n_rows, row_cost, block_cost, align=1, max_blocks=None):
    """Boundaries of a split of ``n_rows`` rows into blocks of about ``block_cost`` work.

    ``row_cost`` is the work of one row in the caller's unit (e.g. multiply-adds),
    ``block_cost`` the work a block should have at least, so that handing it to a
    thread costs little beside it. Boundaries are multiples of ``align`` (except
    the last, ``n_rows``); ``max_blocks`` caps the count (the pieces of all blocks
    are held until they are added). The split depends only on the arguments, never
    on the number of threads: results summed block by block are then the same on
    any number of threads. Returns a list of ``n_blocks + 1`` increasing ints from
    0 to ``n_rows``; one block (``[0, n_rows]``) when the rows are too few to split.

    Examples
    --------
    >>> from statoptim._threads import row_blocks
    >>> row_blocks(10_000, row_cost=100, block_cost=250_000, align=1000)
    [0, 2000, 5000, 7000, 10000]
    >>> row_blocks(100, row_cost=100, block_cost=250_000)
    [0, 100]
    """
    units = -(-n_rows // align)
    n_blocks = max(1, min(units, (n_rows * row_cost) // max(block_cost, 1),
                          units if max_blocks is None else max_blocks))
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


class _Blocks:
    """Blocks handed out one at a time to the calling thread and the helpers.

    The caller never waits long for a helper: when no block is left to hand out,
    it waits for a helper's unfinished block at most about as long as one of its
    own blocks took, then computes that block itself (``compute`` is a pure
    function of the block, so either copy gives the same piece). A helper that
    fails leaves its block to the caller, whose own computation raises.
    """

    def __init__(self, compute, n_blocks):
        self.compute, self.n_blocks = compute, n_blocks
        self.pieces = [None] * n_blocks
        self.done = [False] * n_blocks
        self.next = 0
        self.stop = False
        self.cond = threading.Condition()

    def _claim(self):
        with self.cond:
            if self.stop or self.next >= self.n_blocks:
                return None
            self.next += 1
            return self.next - 1

    def _store(self, b, piece):
        with self.cond:
            if not self.done[b]:
                self.pieces[b], self.done[b] = piece, True
                self.cond.notify_all()

    def help(self):
        """A helper thread: compute blocks until none is left to hand out."""
        while (b := self._claim()) is not None:
            try:
                piece = self.compute(b)
            except Exception:  # the caller computes the block again and raises
                continue
            self._store(b, piece)

    def run(self):
        """The calling thread: blocks until none is left, then the helpers' unfinished
        blocks (waited for a while, then computed again); returns the pieces in order."""
        try:
            start, own = time.perf_counter(), 0
            while (b := self._claim()) is not None:
                self._store(b, self.compute(b))
                own += 1
            patience = (time.perf_counter() - start) / max(own, 1)
            for b in range(self.n_blocks):
                with self.cond:
                    self.cond.wait_for(lambda b=b: self.done[b], timeout=patience)
                    ready = self.done[b]
                if not ready:
                    self._store(b, self.compute(b))
        finally:
            with self.cond:
                self.stop = True
        return self.pieces


def reduce_blocks(compute, n_blocks, n_threads, combine):
    """``combine`` the pieces ``compute(0), ..., compute(n_blocks - 1)`` in block order.

    With ``n_threads > 1`` the calling thread and ``n_threads - 1`` helper threads
    of a shared pool take the blocks one at a time, with BLAS held at one thread
    (NumPy's BLAS calls and the package's ``nogil`` kernels release the GIL). The
    caller never waits for a helper to start, and waits for a helper's block at
    most about one block's time before computing it itself: on a loaded machine
    where the helpers get no CPU the caller does the work alone, at about the
    one-thread speed. ``compute`` must be a pure function of the block (a block
    may be computed twice; a helper still computing one after the return is
    ignored). ``combine(total, piece)`` returns the new total (the first piece is
    the first total) and sees the pieces in block order, so the result is the
    same for any ``n_threads``. An exception in a block is raised in the caller.

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
    n_helpers = min(n_threads, n_blocks) - 1
    if n_helpers <= 0:
        total = compute(0)
        for b in range(1, n_blocks):
            total = combine(total, compute(b))
        return total
    blocks = _Blocks(compute, n_blocks)
    with single_blas_thread():
        pool = _pool(n_helpers)
        helpers = [pool.submit(blocks.help) for _ in range(n_helpers)]
        try:
            pieces = blocks.run()
        finally:
            for future in helpers:
                future.cancel()  # not started: nothing is left for it
    total = pieces[0]
    for b in range(1, n_blocks):
        total = combine(total, pieces[b])
        pieces[b] = None
    return total
