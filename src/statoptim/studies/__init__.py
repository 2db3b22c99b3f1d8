"""The studies behind ``statoptim reproduce``: one module per talk.

Each study registers itself with :func:`statoptim.studies._registry.register`;
the CLI lists and runs whatever is registered.
"""
# Importing a study module registers it.
from statoptim.studies import (  # noqa: F401
    inference,
    multiview,
    optimizers,
    quantile,
    quantile_solver,
    ssvd,
)
from statoptim.studies._registry import STUDIES, register

__all__ = ["STUDIES", "register"]
