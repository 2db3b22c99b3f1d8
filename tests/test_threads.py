"""The package's BLAS thread policy (statoptim/_threads.py)."""
import numpy as np
import pytest
from threadpoolctl import threadpool_info, threadpool_limits

from statoptim._threads import single_blas_thread
from statoptim.quantile import _solver, solve_quantile


def _blas_threads():
    return [lib["num_threads"] for lib in threadpool_info() if lib["user_api"] == "blas"]


def test_single_blas_thread_limits_and_restores():
    if not _blas_threads():
        pytest.skip("no BLAS library reported by threadpoolctl")
    with threadpool_limits(2, user_api="blas"):
        before = _blas_threads()
        with single_blas_thread():
            assert set(_blas_threads()) == {1}
        assert _blas_threads() == before
        with single_blas_thread(enabled=False):
            assert _blas_threads() == before


@pytest.mark.parametrize("n_samples,limited", [(200, False), (30_000, True)])
def test_quantile_solver_holds_blas_at_one_thread_on_large_fits(monkeypatch, n_samples,
                                                                limited):
    seen = []
    real = _solver.single_blas_thread

    def spy(enabled=True):
        seen.append(enabled)
        return real(enabled)

    monkeypatch.setattr(_solver, "single_blas_thread", spy)
    rng = np.random.default_rng(0)
    Z = np.column_stack([np.ones(n_samples), rng.standard_normal((n_samples, 2))])
    y = Z @ np.ones(3) + rng.standard_normal(n_samples)
    assert solve_quantile(Z, y).status == "optimal"
    assert seen == [limited]


def test_single_blas_thread_with_openmp_limits_every_runtime():
    from threadpoolctl import threadpool_info

    with single_blas_thread(openmp=True):
        assert all(lib["num_threads"] == 1 for lib in threadpool_info())
