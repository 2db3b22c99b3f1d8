"""The warnings statoptim issues, in one place.

Every warning of the package is a :class:`StatoptimWarning` (itself a
``UserWarning``), so one filter silences or raises them all, and each kind has a
class of its own, so a filter never has to match message text::

    import warnings
    from statoptim.exceptions import ConvergenceWarning, StatoptimWarning

    warnings.simplefilter("error", ConvergenceWarning)   # fail on non-convergence
    warnings.simplefilter("ignore", StatoptimWarning)    # or hear nothing at all

Non-convergence is a :class:`ConvergenceWarning`, which is also scikit-learn's
``sklearn.exceptions.ConvergenceWarning``: a filter written for scikit-learn's
estimators applies to statoptim's unchanged. The classes are also importable
from the subpackage whose estimators issue them (``statoptim.optim.SeparationWarning``
is this module's class).

====================================  ========================================================
class                                 issued when
====================================  ========================================================
:class:`ConvergenceWarning`           an iteration stopped at ``max_iter`` (or a pivot cap)
                                      before its stopping rule held; the message gives the count
:class:`SeparationWarning`            the unpenalised logistic MLE does not exist (separation)
:class:`WeakComponentWarning`         a FIT-SSVD component cannot be told from the noise
:class:`DependentCensoringWarning`    censoring modelled as marginal depends on covariates
:class:`DegenerateDataWarning`        the data leave part of the answer undetermined or the
                                      estimate unreliable (extreme weights, a fixed censoring
                                      cut, every entry thresholded away)
:class:`ApproximationWarning`         an approximation had to be coarser than asked for
:class:`BootstrapWarning`             bootstrap replicates failed or are too few for the interval
:class:`MixingCollapseWarning`        multi-view mixing weights reached 0 or 1
:class:`RedundantRankWarning`         a multi-view rank larger than a modality can use
:class:`ZeroScoreWarning`             a retrieval score vector is all zeros (all ties)
:class:`UndefinedMetricWarning`       a retrieval metric is undefined for some queries
:class:`CorruptResultsWarning`        a stored study result failed its checksum
:class:`IncompleteResultsWarning`     a study summary uses only some of its replications
====================================  ========================================================
"""
from __future__ import annotations

from sklearn.exceptions import ConvergenceWarning as _SklearnConvergenceWarning
from sklearn.exceptions import UndefinedMetricWarning as _SklearnUndefinedMetricWarning

__all__ = [
    "ApproximationWarning",
    "BootstrapWarning",
    "ConvergenceWarning",
    "CorruptResultsWarning",
    "DegenerateDataWarning",
    "DependentCensoringWarning",
    "IncompleteResultsWarning",
    "MixingCollapseWarning",
    "RedundantRankWarning",
    "SeparationWarning",
    "StatoptimWarning",
    "UndefinedMetricWarning",
    "WeakComponentWarning",
    "ZeroScoreWarning",
]


class StatoptimWarning(UserWarning):
    """The base class of every warning statoptim issues.

    Examples
    --------
    >>> import warnings
    >>> from statoptim.exceptions import StatoptimWarning, ConvergenceWarning
    >>> issubclass(ConvergenceWarning, StatoptimWarning)
    True
    >>> with warnings.catch_warnings():
    ...     warnings.simplefilter("ignore", StatoptimWarning)   # silence the package
    ...     warnings.warn("not shown", ConvergenceWarning)
    """


class ConvergenceWarning(StatoptimWarning, _SklearnConvergenceWarning):
    """An iteration stopped at its cap before its stopping rule held.

    The message names the estimator, the cap (``max_iter=...`` or the pivot cap)
    and the iteration count. A subclass of scikit-learn's
    ``sklearn.exceptions.ConvergenceWarning`` as well, so filters written for
    scikit-learn apply.

    Examples
    --------
    >>> import warnings
    >>> import numpy as np
    >>> import sklearn.exceptions
    >>> from statoptim import SparseSVD
    >>> from statoptim.exceptions import ConvergenceWarning
    >>> issubclass(ConvergenceWarning, sklearn.exceptions.ConvergenceWarning)
    True
    >>> X = np.random.default_rng(0).standard_normal((40, 30))
    >>> with warnings.catch_warnings(record=True) as caught:
    ...     warnings.simplefilter("always")
    ...     _ = SparseSVD(1, max_iter=1, random_state=0).fit(X)
    >>> any(issubclass(w.category, ConvergenceWarning) for w in caught)
    True
    """


class SeparationWarning(ConvergenceWarning):
    """The unpenalised logistic MLE does not exist (complete or quasi-complete separation),
    or some coefficients are not identifiable (constant columns at ``alpha=0``).

    The iteration cannot converge then (the coefficients grow without bound), so
    this is a :class:`ConvergenceWarning`.

    Examples
    --------
    >>> import warnings
    >>> import numpy as np
    >>> from statoptim import LogisticRegression
    >>> from statoptim.optim import SeparationWarning
    >>> X = np.array([[-2.0], [-1.0], [1.0], [2.0]])
    >>> y = np.array([0, 0, 1, 1])                 # y = 1 exactly when x > 0
    >>> with warnings.catch_warnings(record=True) as caught:
    ...     warnings.simplefilter("always")
    ...     _ = LogisticRegression(alpha=0.0).fit(X, y)
    >>> any(issubclass(w.category, SeparationWarning) for w in caught)
    True
    """


class WeakComponentWarning(ConvergenceWarning):
    """A fitted component could not be separated from the noise.

    Raised by :meth:`statoptim.SparseSVD.fit` for each component whose estimated
    signal-to-noise ratio (``component_snr_``) is low: its singular value is about
    what a component of pure noise with the same number of entries above the
    thresholds would reach, so it may be noise (the data may hold fewer than
    ``n_components`` detectable components) or a real component recovered only in
    part.

    Examples
    --------
    >>> from statoptim.ssvd import WeakComponentWarning
    >>> issubclass(WeakComponentWarning, UserWarning)
    True
    """


class DependentCensoringWarning(StatoptimWarning):
    """The censoring looks dependent on the covariates while it is modelled as marginal.

    Issued by :class:`statoptim.CensoredQuantileRegressor` with
    ``censoring="marginal"`` and ``method="ipw"`` when the Cox score test of the
    censoring hazard on the covariates (:func:`statoptim.censoring_dependence_test`)
    has a p-value below 0.001: the Kaplan-Meier weights are then inconsistent. Use
    ``censoring="conditional"`` or ``method="peng-huang"``.

    Examples
    --------
    >>> import warnings
    >>> import numpy as np
    >>> from statoptim import CensoredQuantileRegressor, DependentCensoringWarning
    >>> rng = np.random.default_rng(0)
    >>> x = rng.uniform(0, 2, 500)
    >>> t = 1 + 2 * x + rng.standard_normal(500)
    >>> c = 4.5 - 1.5 * x + rng.standard_normal(500)
    >>> y, event = np.minimum(t, c), (t <= c).astype(int)
    >>> with warnings.catch_warnings(record=True) as caught:
    ...     warnings.simplefilter("always")
    ...     _ = CensoredQuantileRegressor(0.5).fit(x[:, None], y, event=event)
    >>> any(issubclass(w.category, DependentCensoringWarning) for w in caught)
    True
    """


class DegenerateDataWarning(StatoptimWarning):
    """The data leave part of the answer undetermined, or the estimate unreliable.

    Examples: inverse-probability weights so extreme that the effective sample
    size is a small share of n; many censored responses at the largest time (a
    fixed censoring cut, beyond which quantiles are not identified); a sparse SVD
    whose thresholds remove every entry.

    Examples
    --------
    >>> from statoptim.exceptions import DegenerateDataWarning, StatoptimWarning
    >>> issubclass(DegenerateDataWarning, StatoptimWarning)
    True
    """


class ApproximationWarning(StatoptimWarning):
    """An approximation had to be coarser than requested (its error bound is stated).

    Examples
    --------
    >>> from statoptim.exceptions import ApproximationWarning
    >>> issubclass(ApproximationWarning, UserWarning)
    True
    """


class BootstrapWarning(StatoptimWarning, RuntimeWarning):
    """Bootstrap replicates failed and were left out, or are too few for the interval asked.

    Also a ``RuntimeWarning``, the category these messages had before.

    Examples
    --------
    >>> from statoptim.exceptions import BootstrapWarning
    >>> issubclass(BootstrapWarning, RuntimeWarning)
    True
    """


class MixingCollapseWarning(StatoptimWarning):
    """Some mixing weight reached 0 or 1 with ``consensus=0``.

    The modality with weight 0 then gets a zero topic factor for that topic; when
    this happens for every topic the two modalities score disjoint topics and
    cosine retrieval degenerates to the tie-break.

    Examples
    --------
    >>> from statoptim.multiview import MixingCollapseWarning
    >>> issubclass(MixingCollapseWarning, UserWarning)
    True
    """


class RedundantRankWarning(StatoptimWarning):
    """``n_components`` exceeds what a single-view modality can use (min(n_topics, n_features + 1)).

    Examples
    --------
    >>> import warnings
    >>> import numpy as np
    >>> from statoptim import MultiViewTensorMachine
    >>> from statoptim.multiview import RedundantRankWarning
    >>> rng = np.random.default_rng(0)
    >>> a, b = rng.standard_normal((60, 3)), rng.standard_normal((60, 2))
    >>> y = rng.integers(0, 2, 60)
    >>> with warnings.catch_warnings(record=True) as caught:
    ...     warnings.simplefilter("always")
    ...     _ = MultiViewTensorMachine(n_components=5, max_iter=5, random_state=0).fit([a], [b], y)
    >>> any(issubclass(w.category, RedundantRankWarning) for w in caught)
    True
    """


class ZeroScoreWarning(StatoptimWarning):
    """Some score vector is all zeros: its similarity with every item is 0 (all ties).

    Raised for zero query or database vectors under the cosine and for zero
    query vectors under the dot product; those queries are ranked by the tie-break.

    Examples
    --------
    >>> import warnings
    >>> import numpy as np
    >>> from statoptim import retrieve
    >>> from statoptim.multiview import ZeroScoreWarning
    >>> with warnings.catch_warnings(record=True) as caught:
    ...     warnings.simplefilter("always")
    ...     ranking = retrieve([[0.0, 0.0]], [[1.0, 0.0], [0.0, 1.0]], random_state=0)
    >>> [w.category.__name__ for w in caught]
    ['ZeroScoreWarning']
    """


class UndefinedMetricWarning(StatoptimWarning, _SklearnUndefinedMetricWarning):
    """A retrieval metric is undefined for some queries (no relevant database item).

    Also scikit-learn's ``sklearn.exceptions.UndefinedMetricWarning``.

    Examples
    --------
    >>> import warnings
    >>> from statoptim import mean_average_precision
    >>> from statoptim.exceptions import UndefinedMetricWarning
    >>> with warnings.catch_warnings(record=True) as caught:
    ...     warnings.simplefilter("always")
    ...     _ = mean_average_precision([0, 2], [1, 1], [[0, 1], [1, 0]])
    >>> [w.category.__name__ for w in caught]
    ['UndefinedMetricWarning']
    """


class CorruptResultsWarning(StatoptimWarning):
    """A stored study results file failed its checksum; it is set aside and recomputed.

    Examples
    --------
    >>> from statoptim.exceptions import CorruptResultsWarning
    >>> issubclass(CorruptResultsWarning, UserWarning)
    True
    """


class IncompleteResultsWarning(StatoptimWarning):
    """A study summary (``--summarize-only``) uses only the replications stored so far.

    Examples
    --------
    >>> from statoptim.exceptions import IncompleteResultsWarning
    >>> issubclass(IncompleteResultsWarning, UserWarning)
    True
    """
