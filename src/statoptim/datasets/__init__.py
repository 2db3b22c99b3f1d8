"""Simulation designs of the talks and loaders for real data given by path."""
from statoptim.datasets._censored import censoring_mean, make_censored_quantile
from statoptim.datasets._logistic import (
    load_digits_0v6,
    load_mnist,
    make_logistic,
    mnist_binary,
    read_idx,
)
from statoptim.datasets._multiview import (
    load_uci_multifeature,
    load_wikipedia_rasiwasia,
    uci_multifeature_split,
)
from statoptim.datasets._simulated import make_quantile_regression, quantile_truth
from statoptim.datasets._ssvd import load_lung200, make_lung_spiked, make_rank_one_ssvd

__all__ = [
    "censoring_mean",
    "load_digits_0v6",
    "load_lung200",
    "load_mnist",
    "load_uci_multifeature",
    "load_wikipedia_rasiwasia",
    "make_censored_quantile",
    "make_logistic",
    "make_lung_spiked",
    "make_quantile_regression",
    "make_rank_one_ssvd",
    "mnist_binary",
    "quantile_truth",
    "read_idx",
    "uci_multifeature_split",
]
