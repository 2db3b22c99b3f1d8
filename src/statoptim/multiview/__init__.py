"""Multi-view CP-tensor model fitted by block coordinate descent, and cross-modal retrieval."""
from statoptim.multiview._estimator import (
    MixingCollapseWarning,
    MultiViewTensorMachine,
    RedundantRankWarning,
)
from statoptim.multiview._retrieval import (
    ZeroScoreWarning,
    map_at_k,
    mean_average_precision,
    mean_average_precision_at_k,
    precision_at_k,
    retrieve,
)

__all__ = [
    "MixingCollapseWarning",
    "MultiViewTensorMachine",
    "RedundantRankWarning",
    "ZeroScoreWarning",
    "map_at_k",
    "mean_average_precision",
    "mean_average_precision_at_k",
    "precision_at_k",
    "retrieve",
]
