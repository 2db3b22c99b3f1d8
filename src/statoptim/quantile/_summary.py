"""The result of :meth:`statoptim.QuantileRegressor.summary`: :class:`QuantileSummary`."""
from __future__ import annotations

from typing import Any

import numpy as np
from numpy.typing import ArrayLike
from scipy import stats

from statoptim._optional import require

__all__ = ["QuantileSummary"]


# --------------------------------------------------------------------------
# result
# --------------------------------------------------------------------------
class QuantileSummary:
    """Coefficients, standard errors, tests and intervals of a quantile regression.

    Returned by :meth:`statoptim.QuantileRegressor.summary`. With one fitted
    quantile the arrays have a coefficient axis (intercept first, when fitted);
    with several, a leading quantile axis in the order of ``quantile``.

    Attributes
    ----------
    coef : ndarray of shape (n_coef,) or (n_quantiles, n_coef)
        The fitted coefficients, intercept first.
    bse : ndarray, same shape as ``coef``
        Standard errors.
    tvalues : ndarray, same shape as ``coef``
        ``coef / bse``; for ``se="rank"``, the rank-score statistic ``T(0)``
        of ``coef = 0``.
    pvalues : ndarray, same shape as ``coef``
        Two-sided p-values of ``coef = 0`` from Student's t with ``df_resid``
        degrees of freedom (for ``se="rank"``: of the rank-score test).
    conf_int : ndarray of shape (n_coef, 2) or (n_quantiles, n_coef, 2)
        ``coef -+ t_{1 - alpha/2, df_resid} bse``; for ``se="rank"`` the
        inverted rank test, not symmetric about ``coef`` (infinite when the
        test never rejects on that side).
    cov : ndarray of shape (n_coef, n_coef) or (n_quantiles, n_coef, n_coef)
        Estimated covariance matrix of the coefficients; NaN for
        ``se="rank"``, which estimates none (``bse`` is NaN too).
    se : str
        The method: ``"iid"``, ``"nid"``, ``"ker"``, ``"boot"`` or ``"rank"``.
    alpha : float
        One minus the confidence level of ``conf_int``.
    quantile : float or ndarray of shape (n_quantiles,)
        The quantile(s) of the model.
    bandwidth : float, ndarray or None
        The bandwidth ``h`` (quantile scale) used after halving, per quantile;
        None for the bootstrap.
    bandwidth_rule : str or None
        ``"hall-sheather"``, ``"bofinger"``, ``"user"`` or None (bootstrap).
    bootstrap : str or None
        ``"xy"`` or ``"wild"`` for ``se="boot"``.
    replicates : ndarray of shape (n_ok, n_coef) or list of them, or None
        The bootstrap coefficient replicates (per quantile when several).
    names : list of str
        Coefficient names.
    nobs : int
        Rows with positive weight.
    df_resid : int
        ``nobs - n_coef``.

    Examples
    --------
    >>> import numpy as np
    >>> from statoptim import QuantileRegressor
    >>> rng = np.random.default_rng(0)
    >>> x = rng.uniform(0, 2, 200)
    >>> y = 1 + 2 * x + rng.standard_normal(200)
    >>> summary = QuantileRegressor(0.5).fit(x[:, None], y).summary(se="nid")
    >>> summary.coef.round(3)
    array([1.001, 1.822])
    >>> summary.conf_int.shape
    (2, 2)
    >>> bool(summary.conf_int[1, 0] < 2 < summary.conf_int[1, 1])
    True
    """

    def __init__(self, *, coef: ArrayLike, cov: ArrayLike, se: str, alpha: float,
                 quantile: float | np.ndarray, scalar: bool, names: list[str], nobs: int,
                 bandwidth: float | np.ndarray | None = None, bandwidth_rule: str | None = None,
                 bootstrap: str | None = None,
                 replicates: np.ndarray | list[np.ndarray] | None = None, rank: Any = None) -> None:
        coef = np.asarray(coef, dtype=np.float64)  # (n_q, k)
        cov = np.asarray(cov, dtype=np.float64)  # (n_q, k, k)
        k = coef.shape[1]
        self.nobs = int(nobs)
        self.df_resid = self.nobs - k
        bse = np.sqrt(np.diagonal(cov, axis1=1, axis2=2))
        if rank is None:
            tvalues = coef / bse
            crit = stats.t.ppf(1.0 - alpha / 2.0, self.df_resid)
            conf = np.stack([coef - crit * bse, coef + crit * bse], axis=-1)
        else:  # rank inversion: intervals and rank-test statistics, no covariance
            conf, tvalues = rank
        pvalues = 2.0 * stats.t.sf(np.abs(tvalues), self.df_resid)
        pick = (lambda a: a[0]) if scalar else (lambda a: a)
        self.coef, self.bse, self.tvalues = pick(coef), pick(bse), pick(tvalues)
        self.pvalues, self.conf_int, self.cov = pick(pvalues), pick(conf), pick(cov)
        self.se, self.alpha = se, float(alpha)
        quantile = np.asarray(quantile, dtype=np.float64)
        self.quantile = float(quantile[0]) if scalar else quantile
        self.bandwidth = None if bandwidth is None else (
            float(bandwidth[0]) if scalar else np.asarray(bandwidth, dtype=np.float64))
        self.bandwidth_rule = bandwidth_rule
        self.bootstrap = bootstrap
        self.replicates = None if replicates is None else pick(replicates)
        self.names = list(names)
        self._scalar = scalar

    # -- tabular views -----------------------------------------------------
    def _rows(self):
        """(quantile, 2-D table rows) per quantile."""
        qs = np.atleast_1d(self.quantile)
        arrays = [np.reshape(a, (qs.size, len(self.names)))
                  for a in (self.coef, self.bse, self.tvalues, self.pvalues)]
        conf = np.reshape(self.conf_int, (qs.size, len(self.names), 2))
        for j, q in enumerate(qs):
            yield float(q), np.column_stack([a[j] for a in arrays] + [conf[j]])

    def _columns(self):
        lo, hi = self.alpha / 2.0, 1.0 - self.alpha / 2.0
        return ["coef", "std err", "t", "P>|t|", f"[{lo:g}", f"{hi:g}]"]

    def to_frame(self) -> Any:
        """The coefficient table as a pandas DataFrame.

        Returns
        -------
        frame : pandas.DataFrame
            Columns ``coef, std err, t, P>|t|, [alpha/2, 1-alpha/2]``; one row
            per coefficient, indexed by name, or by ``(quantile, name)`` when
            several quantiles were fitted.

        Raises
        ------
        ImportError
            If pandas is not installed.
        """
        pd = require("pandas", "QuantileSummary.to_frame",
                     "use the arrays (coef, bse, tvalues, pvalues, conf_int) directly")
        blocks = list(self._rows())
        if self._scalar:
            return pd.DataFrame(blocks[0][1], index=pd.Index(self.names, name="term"),
                                columns=self._columns())
        index = pd.MultiIndex.from_tuples(
            [(q, name) for q, _ in blocks for name in self.names], names=["quantile", "term"]
        )
        return pd.DataFrame(np.vstack([t for _, t in blocks]), index=index,
                            columns=self._columns())

    def __str__(self):
        width = max(12, max(len(n) for n in self.names) + 1)
        line_len = width + 6 * 11
        method = self.se
        if self.se == "boot":
            method += f" ({self.bootstrap}, {self.replicates_count()} replicates)"
        elif self.bandwidth_rule is not None:
            method += f" ({self.bandwidth_rule} bandwidth)"
        head = [
            "Quantile regression results".center(line_len),
            "=" * line_len,
            f"{'Std. errors:':<20}{method}",
            f"{'No. observations:':<20}{self.nobs:<12d}{'Df residuals:':<16}{self.df_resid}",
        ]
        out = head
        cols = self._columns()
        hdr = " " * width + "".join(f"{c:>11}" for c in cols)
        for j, (q, table) in enumerate(self._rows()):
            h = "" if self.bandwidth is None else np.atleast_1d(self.bandwidth)[j]
            extra = "" if h == "" else f"{'Bandwidth h:':<16}{h:.4g}"
            out += ["=" * line_len, f"{'Quantile:':<20}{q:<12g}{extra}".rstrip(),
                    "-" * line_len, hdr, "-" * line_len]
            for name, row in zip(self.names, table):
                cells = [_fmt(row[0]), _fmt(row[1]), _fmt(row[2], 3), f"{row[3]:.3f}",
                         _fmt(row[4]), _fmt(row[5])]
                out.append(f"{name:<{width}}" + "".join(f"{c:>11}" for c in cells))
        out.append("=" * line_len)
        return "\n".join(out)

    def replicates_count(self) -> int:
        """Number of bootstrap replicates used (per quantile), or 0."""
        if self.replicates is None:
            return 0
        reps = self.replicates if isinstance(self.replicates, list) else [self.replicates]
        return min(r.shape[0] for r in reps)

    def __repr__(self):
        return (f"QuantileSummary(se={self.se!r}, quantile={self.quantile!r}, "
                f"nobs={self.nobs}, n_coef={len(self.names)})")


def _fmt(v, digits=4):
    """Fixed notation for moderate magnitudes, scientific otherwise."""
    if np.isnan(v):
        return "--"
    if not np.isfinite(v):
        return str(v)
    if v == 0 or 1e-3 <= abs(v) < 1e7:
        return f"{v:.{digits}f}"
    return f"{v:.{digits - 1}e}"
