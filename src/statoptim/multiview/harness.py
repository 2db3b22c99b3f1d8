"""Internal harness of the multi-view model for the studies and the benchmarks.

Not part of the public API (no stability promise): it exists so that
``statoptim.studies`` and ``benchmarks/`` reach the solver and its kernels
through one documented module instead of the subpackage's private modules.
Library code and users should use :class:`statoptim.MultiViewTensorMachine`.

- :class:`CPSolver`: the block-coordinate-descent fit on prepared designs.
- :func:`prepare`: the validated, standardised designs ``Z`` and the label
  indicator matrix ``Y`` that ``MultiViewTensorMachine.fit`` would pass to it.
- ``cython_kernels`` / ``numpy_kernels``: the compiled kernels
  (``hadamard_products``, ``khatri_rao_system``, ``cholesky_solve``,
  ``weighted_cross``, ``block_operator``) and their plain-NumPy twins.
- :func:`fit_temperature`: the training-rows temperature behind ``predict_proba``.
"""
from statoptim.multiview import _cp as cython_kernels
from statoptim.multiview import _kernels_numpy as numpy_kernels
from statoptim.multiview._calibration import fit_temperature
from statoptim.multiview._estimator import MultiViewTensorMachine
from statoptim.multiview._solver import CPSolver, FitResult

__all__ = [
    "CPSolver",
    "FitResult",
    "cython_kernels",
    "fit_temperature",
    "numpy_kernels",
    "prepare",
]


def prepare(views_a, views_b, Y, **params):
    """``(Z, Y_indicator)`` as ``MultiViewTensorMachine(**params).fit`` prepares them.

    Parameters
    ----------
    views_a, views_b, Y
        As in :meth:`MultiViewTensorMachine.fit` (validated the same way).
    **params
        Estimator parameters the validation depends on (e.g. ``n_components``).
    """
    Z, Y, _ = MultiViewTensorMachine(**params)._prepare(views_a, views_b, Y)
    return Z, Y
