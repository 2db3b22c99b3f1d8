"""statoptim: fast, exact statistical optimisation.

Quantile regression by the MM algorithm (finished to an exact LP solution),
stochastic optimisers, FIT-SSVD and multi-view CP-tensor models, each with
the study that motivated it (``statoptim reproduce --list``).
"""
from statoptim.multiview import (
    MultiViewTensorMachine, map_at_k, mean_average_precision, precision_at_k, retrieve,
)
from statoptim.quantile import (
    CensoredQuantileRegressor,
    QuantileRegressor,
    pinball_loss,
    KaplanMeierResult,
    censoring_survival,
    ipcw_weights,
    kaplan_meier,
    kernel_propensity,
)

__version__ = "0.1.0.dev0"

__all__ = ["QuantileRegressor", "pinball_loss", "__version__"]
__all__ += [
    "CensoredQuantileRegressor",
    "KaplanMeierResult",
    "censoring_survival",
    "ipcw_weights",
    "kaplan_meier",
    "kernel_propensity",
]
__all__ += ["MultiViewTensorMachine", "retrieve", "mean_average_precision", "precision_at_k",
            "map_at_k"]
