"""Simulation designs of the talks, the real data sets and where they live.

Real data: ``fetch_mnist``, ``fetch_uci_multifeature`` and ``fetch_wikipedia``
download into a cache (:func:`get_data_home`) once and then read offline;
``load_lung200()`` reads the copy shipped inside the package; the ``load_*``
functions read a folder given by path; :func:`find_dataset` is the one lookup
of a data set's folder (used by the studies' ``--data``, the tests and the
benchmarks).
"""
from statoptim.datasets._censored import censoring_mean, make_censored_quantile
from statoptim.datasets._fetch import ChecksumError, find_dataset, get_data_home
from statoptim.datasets._fetchers import fetch_mnist, fetch_uci_multifeature, fetch_wikipedia
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
    "ChecksumError",
    "censoring_mean",
    "fetch_mnist",
    "fetch_uci_multifeature",
    "fetch_wikipedia",
    "find_dataset",
    "get_data_home",
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
