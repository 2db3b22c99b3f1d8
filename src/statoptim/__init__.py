"""statoptim: fast, exact statistical optimisation.

Quantile regression by the MM algorithm (finished to an exact LP solution),
stochastic optimisers, FIT-SSVD and multi-view CP-tensor models, each with
the study that motivated it (``statoptim reproduce --list``).
"""
from statoptim import exceptions, optim  # warning classes; the optimiser objects
from statoptim._config import config_info, show_config
from statoptim._version import __version__  # generated from project(version:) in meson.build
from statoptim.multiview import (
    MultiViewTensorMachine,
    map_at_k,
    mean_average_precision,
    precision_at_k,
    retrieve,
)
from statoptim.optim import LogisticRegression
from statoptim.quantile import (
    CensoredQuantileRegressor,
    CensoringTestResult,
    DependentCensoringWarning,
    KaplanMeierResult,
    PartiallyLinearQuantileRegressor,
    QuantileRegressor,
    censoring_dependence_test,
    censoring_survival,
    conditional_survival,
    ipcw_weights,
    kaplan_meier,
    kernel_propensity,
    pinball_loss,
)
from statoptim.ssvd import SparseSVD

__all__ = [
    # quantile regression, censored and incomplete data
    "QuantileRegressor",
    "CensoredQuantileRegressor",
    "PartiallyLinearQuantileRegressor",
    "DependentCensoringWarning",
    "CensoringTestResult",
    "pinball_loss",
    "kaplan_meier",
    "KaplanMeierResult",
    "censoring_dependence_test",
    "censoring_survival",
    "conditional_survival",
    "ipcw_weights",
    "kernel_propensity",
    # stochastic optimisers and logistic regression
    "LogisticRegression",
    "optim",
    "exceptions",
    # sparse SVD
    "SparseSVD",
    # multi-view CP-tensor model and retrieval
    "MultiViewTensorMachine",
    "retrieve",
    "mean_average_precision",
    "precision_at_k",
    "map_at_k",
    "config_info",
    "show_config",
    "__version__",
]
