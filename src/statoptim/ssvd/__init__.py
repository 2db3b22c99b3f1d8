"""FIT-SSVD: sparse SVD by fast iterative thresholding (Yang, Ma & Buja 2014)."""
from statoptim.ssvd._estimator import SparseSVD, WeakComponentWarning

__all__ = ["SparseSVD", "WeakComponentWarning"]
