"""Internal harness of the study engine for the benchmarks.

Not part of the public API (no stability promise): it exists so that
``benchmarks/`` reach the study engine through one documented module
instead of its private modules. Users run the studies with
``statoptim reproduce NAME``.

- :func:`run_grid`: run ``func(setting, rng)`` on every (setting,
  replication) of a Monte Carlo grid, locally or on Dask, with the resumable
  results folder (see :mod:`statoptim.studies._engine`).
- :func:`load_results`: read a results folder back into records.
- :func:`replication_seed`: the seed sequence of one replication.
"""
from statoptim.studies._engine import load_results, replication_seed, run_grid

__all__ = ["load_results", "replication_seed", "run_grid"]
