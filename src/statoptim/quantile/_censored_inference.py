"""Bootstrap inference for :class:`statoptim.CensoredQuantileRegressor`.

:meth:`statoptim.CensoredQuantileRegressor.summary` calls
:func:`bootstrap_summary`: the whole pipeline is bootstrapped (Efron 1979,
pairs): each replicate resamples the rows of ``(X, y, event)`` with
replacement, NaNs included, and refits a fresh estimator with the parameters
of the fit, so the censoring survival (Kaplan-Meier or Beran), the
missing-covariate propensities and the weighted fit are all re-estimated.
The variability of the estimated weights is thereby part of the standard
errors, which plug-in formulas with fixed weights miss.

Seeding follows the study runner (:func:`statoptim.studies.replication_seed`):
replicate ``b`` draws its rows from
``np.random.SeedSequence(entropy, spawn_key=(b,))``, so a replicate does not
depend on which worker thread runs it, nor on how many there are.
"""
from __future__ import annotations

import numbers
import threading
import warnings
import zlib
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from typing import Literal

import numpy as np
from numpy.typing import ArrayLike
from scipy import stats

from statoptim._validation import (
    _describe,
    check_choice,
    check_int,
    check_n_threads,
    check_random_state,
    check_real,
)
from statoptim.exceptions import BootstrapWarning
from statoptim.quantile._inference import QuantileSummary, coef_names, stacked_coefs

__all__ = ["CensoredQuantileSummary", "bootstrap_summary", "training_checksum"]

SE_METHODS = ("boot",)
INTERVALS = ("percentile", "normal")
# Exceptions that make a replicate fail (a resample the estimator cannot fit: no
# complete uncensored row, positivity failing, a singular design, ...). Anything else
# is a bug and propagates.
_REPLICATE_ERRORS = (ValueError, ArithmeticError, np.linalg.LinAlgError)


def training_checksum(*arrays):
    """CRC-32 of the bytes of ``arrays`` (C-contiguous), to detect in-place changes."""
    crc = 0
    for a in arrays:
        crc = zlib.crc32(memoryview(np.ascontiguousarray(a)).cast("B"), crc)
    return crc


def _seed_root(random_state):
    """``(entropy, spawn_key)`` of the root SeedSequence of the replicates.

    An int is the entropy itself and a SeedSequence is used as is (its
    children are then its ``spawn`` children); None, a Generator or a
    RandomState give 128 bits drawn from it (fresh OS entropy for None).
    """
    if isinstance(random_state, bool):
        raise TypeError(
            "random_state must be None, an int, a SeedSequence or a numpy Generator, "
            f"got {_describe(random_state)}"
        )
    if isinstance(random_state, np.random.SeedSequence):
        return random_state.entropy, tuple(random_state.spawn_key)
    rng = check_random_state(random_state)  # checks the type and the sign
    if isinstance(random_state, numbers.Integral):
        return int(random_state), ()
    hi, lo = (int(w) for w in rng.integers(0, 2**64, size=2, dtype=np.uint64))
    return (hi << 64) | lo, ()


class _ReplicateWarnings:
    """Route the warnings of replicate fits, from any thread, to per-replicate logs.

    Python's warning filters are process-wide (before 3.14), so inside this
    context every warning is shown ("always"); one issued by a thread that is
    running a replicate is appended to that replicate's log (thread-local),
    any other one goes to the ``showwarning`` that was installed before.
    """

    def __init__(self):
        self._local = threading.local()

    def run(self, func, *args):
        """``func(*args)`` with its warnings logged; returns (result, log)."""
        self._local.log = log = []
        try:
            return func(*args), log
        finally:
            self._local.log = None

    def __enter__(self):
        self._context = warnings.catch_warnings()
        self._context.__enter__()
        warnings.simplefilter("always")
        previous = warnings.showwarning

        def show(message, category, filename, lineno, file=None, line=None):
            log = getattr(self._local, "log", None)
            if log is None:
                previous(message, category, filename, lineno, file, line)
            else:
                log.append((category, str(message)))

        warnings.showwarning = show
        return self

    def __exit__(self, *exc):
        return self._context.__exit__(*exc)


def _replicate_coefs(model, params, X, y, event, entropy, key, b):
    """Coefficients (n_quantiles, n_coef) of replicate ``b``, or the error message."""
    rng = np.random.default_rng(np.random.SeedSequence(entropy, spawn_key=key + (b,)))
    n = X.shape[0]
    rows = rng.integers(0, n, n)
    est = type(model)(**params)
    est._replicate = True  # skips the censoring-dependence score test (a diagnostic)
    try:
        est.fit(X[rows], y[rows], event[rows])
    except _REPLICATE_ERRORS as exc:
        return str(exc)
    return stacked_coefs(est, params["fit_intercept"])


def _report_replicate_warnings(logs, n_boot):
    """One warning per category: how many replicates issued it, and the first text."""
    first, count = {}, {}
    for log in logs:
        for category in {c for c, _ in log}:
            count[category] = count.get(category, 0) + 1
        for category, text in log:
            first.setdefault(category, text)
    for category, k in count.items():
        warnings.warn(
            f"summary: {k} of {n_boot} bootstrap replicate fits issued this warning "
            f"(first shown): {first[category]}",
            category,
            stacklevel=4,
        )


class CensoredQuantileSummary(QuantileSummary):
    """Bootstrap inference for a :class:`statoptim.CensoredQuantileRegressor`.

    Returned by :meth:`statoptim.CensoredQuantileRegressor.summary`; a
    :class:`statoptim.QuantileSummary` (same arrays, table and
    ``to_frame()``) with ``se="boot"`` and ``bootstrap="pipeline"``.
    Differences: ``bse`` and ``cov`` are the standard deviations (``ddof=1``)
    and covariance of the successful replicates; ``tvalues`` are the z
    statistics ``coef / bse`` and ``pvalues`` their two-sided normal
    p-values; ``conf_int`` is the interval named by ``interval``.

    Attributes
    ----------
    interval : {"percentile", "normal"}
        What ``conf_int`` holds.
    conf_int_percentile : ndarray of shape (n_coef, 2) or (n_quantiles, n_coef, 2)
        The ``alpha / 2`` and ``1 - alpha / 2`` quantiles of the replicates
        (linear interpolation, NumPy's default).
    conf_int_normal : ndarray, same shape
        ``coef -+ z_{1 - alpha/2} bse``.
    n_boot : int
        Replicates attempted.
    n_failed : int
        Replicates whose fit failed, left out of every statistic.
    failed_replicates : ndarray of int
        Their indices ``b``.
    entropy : int or sequence of int
        Entropy of the root SeedSequence (with ``spawn_key``): replicate
        ``b`` used ``SeedSequence(entropy, spawn_key=spawn_key + (b,))``.
        ``random_state=entropy`` reproduces a run made with
        ``random_state=None``.
    spawn_key : tuple of int
    nobs : int
        Rows resampled (every row of the training data, censored and
        incomplete ones included).

    Other attributes are those of :class:`statoptim.QuantileSummary`;
    ``df_resid`` is ``nobs - n_coef`` but no test uses it.

    Examples
    --------
    >>> from statoptim import CensoredQuantileRegressor
    >>> from statoptim.datasets import make_censored_quantile
    >>> data = make_censored_quantile(300, censoring=0.25, missing=0.0, random_state=0)
    >>> model = CensoredQuantileRegressor(0.5).fit(data.X, data.y, event=data.event)
    >>> summary = model.summary(n_boot=50, random_state=0)
    >>> summary.coef.shape, summary.conf_int.shape
    ((3,), (3, 2))
    >>> bool((summary.bse > 0).all())
    True
    """

    def __init__(self, *, coef: np.ndarray, alpha: float, quantile: float | np.ndarray,
                 scalar: bool, names: list[str], nobs: int, replicates: ArrayLike,
                 interval: Literal["percentile", "normal"], n_boot: int, failed: int,
                 entropy: int | Sequence[int], spawn_key: tuple[int, ...]) -> None:
        reps = np.asarray(replicates, dtype=np.float64)  # (n_ok, n_q, k)
        n_q, k = coef.shape
        cov = np.empty((n_q, k, k))
        for j in range(n_q):
            cov[j] = np.atleast_2d(np.cov(reps[:, j, :], rowvar=False))
        with np.errstate(divide="ignore", invalid="ignore"):  # its t tests are replaced
            super().__init__(coef=coef, cov=cov, se="boot", alpha=alpha, quantile=quantile,
                             scalar=scalar, names=names, nobs=nobs, bootstrap="pipeline",
                             replicates=[reps[:, j, :] for j in range(n_q)])
        bse = np.sqrt(np.diagonal(cov, axis1=1, axis2=2))
        with np.errstate(divide="ignore", invalid="ignore"):
            z = np.where(bse > 0, coef / bse, np.nan)  # equal replicates: no test
        pvalues = 2.0 * stats.norm.sf(np.abs(z))
        crit = stats.norm.ppf(1.0 - alpha / 2.0)
        normal = np.stack([coef - crit * bse, coef + crit * bse], axis=-1)
        percentile = np.moveaxis(np.quantile(reps, [alpha / 2.0, 1.0 - alpha / 2.0], axis=0),
                                 0, -1)
        pick = (lambda a: a[0]) if scalar else (lambda a: a)
        self.tvalues, self.pvalues = pick(z), pick(pvalues)
        self.conf_int_percentile, self.conf_int_normal = pick(percentile), pick(normal)
        self.interval = interval
        self.conf_int = self.conf_int_percentile if interval == "percentile" \
            else self.conf_int_normal
        self.n_boot = int(n_boot)
        self.failed_replicates = np.asarray(failed, dtype=np.intp)
        self.n_failed = int(self.failed_replicates.size)
        self.entropy, self.spawn_key = entropy, tuple(spawn_key)

    def _columns(self):
        lo, hi = self.alpha / 2.0, 1.0 - self.alpha / 2.0
        return ["coef", "std err", "z", "P>|z|", f"[{lo:g}", f"{hi:g}]"]

    def __str__(self):
        lines = super().__str__().split("\n")
        lines[0] = "Censored quantile regression results".center(len(lines[1]))
        lines[3:3] = [
            f"{'Intervals:':<20}{self.interval}",
            f"{'Failed replicates:':<20}{self.n_failed} of {self.n_boot}",
        ]
        return "\n".join(lines)

    def __repr__(self):
        return (f"CensoredQuantileSummary(se='boot', interval={self.interval!r}, "
                f"quantile={self.quantile!r}, nobs={self.nobs}, n_coef={len(self.names)}, "
                f"n_boot={self.n_boot}, n_failed={self.n_failed})")


def bootstrap_summary(model, *, se="boot", n_boot=200, alpha=0.05, interval="percentile",
                      random_state=None, n_threads=None, max_failed=0.1):
    """Pipeline bootstrap of a fitted :class:`~statoptim.CensoredQuantileRegressor`.

    See :meth:`statoptim.CensoredQuantileRegressor.summary` for the
    parameters. Uses the training data and parameters that ``fit`` kept.
    """
    if isinstance(se, str) and se in ("iid", "nid", "ker", "rank"):
        raise ValueError(
            f"se must be 'boot' for CensoredQuantileRegressor, got {se!r}: the analytic "
            "methods of QuantileRegressor.summary hold the weights fixed, which ignores the "
            "estimation of the censoring survival and of the propensities"
        )
    check_choice(se, "se", SE_METHODS)
    n_boot = check_int(n_boot, "n_boot", minimum=2)
    alpha = check_real(alpha, "alpha", low=0, high=1, low_open=True, high_open=True)
    interval = check_choice(interval, "interval", INTERVALS)
    n_threads = check_n_threads(n_threads)
    max_failed = check_real(max_failed, "max_failed", low=0, high=1, high_open=True)
    entropy, key = _seed_root(random_state)

    X, y, event = model._training_data
    if training_checksum(X, y, event) != model._training_checksum:
        raise ValueError(
            "the X or y given to fit was modified in place after fit (fit keeps references "
            "to them for summary()); refit the model on the current data, or pass copies "
            "to fit"
        )
    # the parameters of the fit (set_params after fit does not change them); the kernels
    # run on one thread in each replicate, so the result does not depend on n_threads
    params = dict(model._fit_params, n_threads=1)
    manager = _ReplicateWarnings()

    def replicate(b):
        return manager.run(_replicate_coefs, model, params, X, y, event, entropy, key, b)

    with manager:
        if n_threads > 1:
            with ThreadPoolExecutor(max_workers=n_threads) as pool:
                results = list(pool.map(replicate, range(n_boot)))
        else:
            results = [replicate(b) for b in range(n_boot)]

    failed = _check_failed(results, n_boot, max_failed)
    _report_replicate_warnings([log for res, log in results if not isinstance(res, str)],
                               n_boot)
    reps = np.array([res for res, _ in results if not isinstance(res, str)])
    # quantile and fit_intercept as fitted (set_params after fit changes neither)
    quantile, fit_intercept = params["quantile"], params["fit_intercept"]
    coef = stacked_coefs(model, fit_intercept)
    names = coef_names(model, X.shape[1], fit_intercept)
    spline_column = getattr(model, "_spline_column", None)
    if spline_column is not None:  # it enters through g_, not through a coefficient
        del names[int(fit_intercept) + spline_column]
    _warn_weak_replicates(reps, names, quantile, alpha, interval)
    return CensoredQuantileSummary(
        coef=coef, alpha=alpha, quantile=np.atleast_1d(np.asarray(quantile, dtype=float)),
        scalar=np.ndim(quantile) == 0, names=names, nobs=X.shape[0], replicates=reps,
        interval=interval, n_boot=n_boot, failed=failed, entropy=entropy, spawn_key=key,
    )


# The warnings below point at the caller of CensoredQuantileRegressor.summary:
# summary -> bootstrap_summary -> helper -> warnings.warn.
_CALLER = 4


def _check_failed(results, n_boot, max_failed):
    """The failed replicates' indices; a ValueError beyond ``max_failed``, else a warning."""
    failed = [b for b, (res, _) in enumerate(results) if isinstance(res, str)]
    n_failed = len(failed)
    if not n_failed:
        return failed
    first = results[failed[0]][0]
    if n_failed / n_boot > max_failed or n_boot - n_failed < 2:
        why = (f"more than max_failed={max_failed:g} of them"
               if n_failed / n_boot > max_failed else "fewer than 2 are left")
        raise ValueError(
            f"summary(se='boot'): {n_failed} of {n_boot} bootstrap replicates failed, "
            f"{why} (replicate {failed[0]}: {first}). The estimator does "
            "not fit resamples of these data reliably; "
            "intervals from the replicates that succeed would be biased. Check the "
            "data (censoring, missingness), or raise max_failed"
        )
    warnings.warn(
        f"summary(se='boot'): {n_failed} of {n_boot} bootstrap replicates failed and "
        f"were left out (replicate {failed[0]}: {first}); the statistics use the "
        f"other {n_boot - n_failed}",
        BootstrapWarning,
        stacklevel=_CALLER,
    )
    return failed


def _warn_weak_replicates(reps, names, quantile, alpha, interval):
    """Warn when the replicates are too few for the percentile ends, or constant."""
    n_ok = reps.shape[0]
    if interval == "percentile" and alpha / 2.0 * n_ok < 1.0:
        warnings.warn(
            f"summary: with {n_ok} replicates and alpha={alpha:g} the percentile interval's "
            f"ends are the extreme replicates (replicates * alpha / 2 = {alpha / 2 * n_ok:.2g} "
            "< 1); increase n_boot",
            BootstrapWarning,
            stacklevel=_CALLER,
        )
    constant = np.ptp(reps, axis=0) == 0  # (n_quantiles, n_coef)
    if constant.any():
        j, i = (int(v[0]) for v in np.nonzero(constant))
        warnings.warn(
            f"summary: the {n_ok} bootstrap replicates of {int(constant.sum())} "
            f"coefficient(s) are all equal (first: {names[i]!r} at quantile "
            f"{np.atleast_1d(quantile)[j]:g}), so their standard error is 0 and their z "
            "statistic and p-value are undefined (NaN); the data are too few or too tied "
            "for the bootstrap",
            BootstrapWarning,
            stacklevel=_CALLER,
        )
