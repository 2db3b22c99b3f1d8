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
"""
from __future__ import annotations

import contextlib

__all__ = ["single_blas_thread"]

_CONTROLLER = None


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
