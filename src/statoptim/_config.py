"""What this installation of statoptim runs on: versions, BLAS, OpenMP, SIMD clone, CPU."""
from __future__ import annotations

import platform
from typing import Any

__all__ = ["config_info", "show_config"]


def _cpu_model():
    try:
        with open("/proc/cpuinfo", encoding="ascii", errors="replace") as fh:
            for line in fh:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def config_info() -> dict[str, Any]:
    """The facts that decide statoptim's speed on this machine, as a dict.

    Keys: ``statoptim``, ``python``, ``numpy``, ``scipy``, ``cpu`` (the model
    name), ``simd_clone`` (which compiled clone of the Gaussian-kernel loops
    this CPU runs: ``"avx512f"``, ``"avx2"`` or ``"default"``; see
    BENCHMARKS.md, "Every CPU"), ``blas`` and ``openmp`` (threadpoolctl's view:
    library, version, threads).

    Examples
    --------
    >>> from statoptim import config_info
    >>> info = config_info()
    >>> sorted(info)
    ['blas', 'cpu', 'numpy', 'openmp', 'python', 'scipy', 'simd_clone', 'statoptim']
    >>> info["simd_clone"] in ("avx512f", "avx2", "default")
    True
    """
    import numpy
    import scipy
    from threadpoolctl import threadpool_info

    import statoptim
    from statoptim.quantile import _propensity

    libs = threadpool_info()

    def describe(api):
        return [f"{lib.get('internal_api')} {lib.get('version') or ''} "
                f"({lib.get('num_threads')} threads, {lib.get('architecture') or 'n/a'})".strip()
                for lib in libs if lib["user_api"] == api]

    return {
        "statoptim": getattr(statoptim, "__version__", "unknown"),
        "python": platform.python_version(),
        "numpy": numpy.__version__,
        "scipy": scipy.__version__,
        "cpu": _cpu_model(),
        "simd_clone": _propensity.simd_clone(),
        "blas": describe("blas"),
        "openmp": describe("openmp"),
    }


def show_config() -> None:
    """Print :func:`config_info`, one line a fact (include it in bug reports and benchmarks).

    Examples
    --------
    >>> from statoptim import show_config
    >>> show_config()  # doctest: +ELLIPSIS
    statoptim: ...
    simd_clone: ...
    """
    for key, value in config_info().items():
        if isinstance(value, list):
            value = "; ".join(value) or "none"
        print(f"{key}: {value}")
