"""Internal harness of the SSVD subpackage for the studies and the benchmarks.

Not part of the public API (no stability promise): it exists so that
``statoptim.studies`` and ``benchmarks/`` reach the compiled kernels they
time through one documented module instead of the subpackage's private
modules. Library code and users should use :class:`statoptim.SparseSVD`.

- ``kernels``: the compiled FIT-SSVD kernels (``dense_product_rows``,
  ``sparse_product_rows``, the thresholds, ...), called on validated,
  C-contiguous float64 input exactly as :class:`statoptim.SparseSVD` calls them.
"""
from statoptim.ssvd import _fit as kernels

__all__ = ["kernels"]
