"""Simulation designs of the talks and loaders for real data given by path."""
from statoptim.datasets._simulated import make_quantile_regression, quantile_truth

__all__ = ["make_quantile_regression", "quantile_truth"]
