"""Simulation designs of the talks and loaders for real data given by path."""
from statoptim.datasets._simulated import make_quantile_regression, quantile_truth

from statoptim.datasets._logistic import (
    load_digits_0v6, load_mnist, make_logistic, mnist_binary, read_idx,
)

__all__ = ["make_quantile_regression", "quantile_truth"]
__all__ += ["make_logistic", "load_mnist", "read_idx", "mnist_binary", "load_digits_0v6"]
