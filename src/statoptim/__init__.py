"""statoptim: fast, exact statistical optimisation.

Quantile regression by the MM algorithm (finished to an exact LP solution),
stochastic optimisers, FIT-SSVD and multi-view CP-tensor models, each with
the study that motivated it (``statoptim reproduce --list``).
"""
from statoptim.quantile import QuantileRegressor, pinball_loss
from statoptim.optim import LogisticRegression
from statoptim import optim

__version__ = "0.1.0.dev0"

__all__ = ["QuantileRegressor", "pinball_loss", "__version__"]
__all__ += ["LogisticRegression", "optim"]
