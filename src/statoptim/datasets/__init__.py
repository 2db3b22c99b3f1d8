"""Simulation designs of the talks and loaders for real data given by path."""
from statoptim.datasets._simulated import make_quantile_regression, quantile_truth
from statoptim.datasets._ssvd import load_lung200, make_lung_spiked, make_rank_one_ssvd

__all__ = [
    "make_quantile_regression", "quantile_truth",
    "make_rank_one_ssvd", "make_lung_spiked", "load_lung200",
]
