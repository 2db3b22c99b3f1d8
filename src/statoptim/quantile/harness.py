"""Internal harness of the quantile subpackage for the studies and the benchmarks.

Not part of the public API (no stability promise): it exists so that
``statoptim.studies`` and ``benchmarks/`` reach the internals they measure
through one documented module instead of the subpackage's private modules.
Library code and users should use :class:`statoptim.QuantileRegressor`,
:class:`statoptim.CensoredQuantileRegressor` and their ``summary`` methods.

- :func:`peng_huang_path`: Peng & Huang's coefficients along a grid of levels
  on validated input (what ``CensoredQuantileRegressor(method="peng-huang")``
  runs), for timing the whole grid as R's ``crq`` does.
- :class:`Restricted`: the exact restricted fit ``y - b c`` on ``A`` as ``b``
  varies, which the rank-inversion intervals walk (``summary(se="rank")``);
  its ``probe(b, direction)`` recomputes the rank statistic at a given ``b``.
- :func:`process_without_screening`: a context manager under which the
  quantile process (``QuantileRegressor(quantile="all")``) prices every row at
  every pivot instead of screening candidates (the unscreened baseline).
"""
import contextlib

from statoptim.quantile import _process
from statoptim.quantile._peng_huang import peng_huang_path
from statoptim.quantile._rank_inversion import _Restricted as Restricted

__all__ = ["Restricted", "peng_huang_path", "process_without_screening"]


@contextlib.contextmanager
def process_without_screening(n_candidates):
    """Inside the block the quantile process prices ``n_candidates`` rows per pivot.

    Parameters
    ----------
    n_candidates : int
        Rows priced at every pivot; the number of samples disables the
        screening (every row is a candidate).

    Examples
    --------
    >>> import numpy as np
    >>> from statoptim import QuantileRegressor
    >>> from statoptim.quantile.harness import process_without_screening
    >>> rng = np.random.default_rng(0)
    >>> X = rng.standard_normal((50, 1))
    >>> y = X[:, 0] + rng.standard_normal(50)
    >>> with process_without_screening(50):
    ...     model = QuantileRegressor(quantile="all").fit(X, y)
    >>> model.process_.n_pieces > 1
    True
    """
    follow = _process._follow

    def full_pass(*args, **kwargs):
        kwargs["n_candidates"] = n_candidates
        return follow(*args, **kwargs)

    _process._follow = full_pass
    try:
        yield
    finally:
        _process._follow = follow
