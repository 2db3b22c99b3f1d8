"""Quantile regression by the MM algorithm of Hunter & Lange (2000), finished exactly."""
from statoptim.quantile._censored import CensoredQuantileRegressor, DependentCensoringWarning
from statoptim.quantile._censored_inference import CensoredQuantileSummary
from statoptim.quantile._censoring_test import CensoringTestResult, censoring_dependence_test
from statoptim.quantile._estimator import QuantileRegressor
from statoptim.quantile._inference import QuantileSummary
from statoptim.quantile._ipw import kernel_propensity
from statoptim.quantile._loss import pinball_loss
from statoptim.quantile._partially_linear import PartiallyLinearQuantileRegressor
from statoptim.quantile._process import QuantileProcess, plot_process
from statoptim.quantile._solver import solve_quantile
from statoptim.quantile._survival import (
    KaplanMeierResult,
    censoring_survival,
    conditional_survival,
    ipcw_weights,
    kaplan_meier,
)

__all__ = ["QuantileRegressor", "QuantileSummary", "pinball_loss", "solve_quantile"]
__all__ += ["QuantileProcess", "plot_process"]
__all__ += [
    "CensoredQuantileRegressor",
    "CensoredQuantileSummary",
    "CensoringTestResult",
    "DependentCensoringWarning",
    "KaplanMeierResult",
    "censoring_dependence_test",
    "censoring_survival",
    "conditional_survival",
    "ipcw_weights",
    "kaplan_meier",
    "kernel_propensity",
]
__all__ += ["PartiallyLinearQuantileRegressor"]
