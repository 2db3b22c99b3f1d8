"""FIT-SSVD: sparse SVD by fast iterative thresholding (Yang, Ma & Buja 2014)."""
from statoptim.ssvd._estimators import SparseSVD

__all__ = ["SparseSVD"]
