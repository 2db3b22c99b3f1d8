"""The studies behind ``statoptim reproduce``: one module per talk.

Each study registers itself with :func:`statoptim.studies._runner.register`;
the CLI lists and runs whatever is registered.
"""
from statoptim.studies._runner import STUDIES, register

# Importing a study module registers it.
from statoptim.studies import quantile, quantile_solver  # noqa: F401,E402
from statoptim.studies import multiview  # noqa: F401,E402
from statoptim.studies import ssvd  # noqa: F401,E402
from statoptim.studies import optimizers  # noqa: F401,E402
from statoptim.studies import inference  # noqa: F401

__all__ = ["STUDIES", "register"]
