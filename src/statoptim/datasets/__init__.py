"""Simulation designs of the talks and loaders for real data given by path."""
from statoptim.datasets._censored import censoring_mean, make_censored_quantile
from statoptim.datasets._simulated import make_quantile_regression, quantile_truth

__all__ = [
    "censoring_mean",
    "make_censored_quantile",
    "make_quantile_regression",
    "quantile_truth",
]
