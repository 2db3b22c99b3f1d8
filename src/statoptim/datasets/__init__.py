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
    "make_censored_quantile",
    "make_quantile_regression",
    "quantile_truth",
    "load_wikipedia_rasiwasia",
    "load_uci_multifeature",
    "uci_multifeature_split",
    "make_rank_one_ssvd",
    "make_lung_spiked",
    "load_lung200",
    "make_logistic",
    "load_mnist",
    "read_idx",
    "mnist_binary",
    "load_digits_0v6",
]
