"""Wald inference for a fitted :class:`statoptim.LogisticRegression`:
standard errors, z statistics, p-values and intervals from the observed information
(unpenalised fits) or the ridge sandwich (penalised fits).

The coefficient table formatting is written here (not imported from
``statoptim.quantile``); it follows :class:`statoptim.quantile.QuantileSummary`'s
layout so that the lead can move a shared formatter to one place.
"""
from __future__ import annotations

import numpy as np
import scipy.sparse as sp
from scipy import stats

from statoptim._optional import require
from statoptim.optim._newton import (
    SEPARATION_MESSAGE,
    _objective,
    _positive_rows,
    _separable,
    logistic_hessian,
    rescaled_problem,
)

__all__ = ["LogisticSummary"]

#: ||grad F||_inf above which the fitted coefficients are not taken as a stationary
#: point of F on the data given to summary() (wrong data, or a fit far from converged).
STATIONARY_TOL = 1e-3


def _fmt(value, digits=4):
    if not np.isfinite(value):
        return str(value)
    if value != 0 and (abs(value) >= 1e5 or abs(value) < 1e-4):
        return f"{value:.{digits - 1}e}"
    return f"{value:.{digits}f}"


class LogisticSummary:
    """Coefficients, standard errors, Wald tests and intervals of a logistic regression.

    Returned by :meth:`statoptim.LogisticRegression.summary`.

    Attributes
    ----------
    coef : ndarray of shape (n_features + 1,)
        The fitted coefficients, intercept first.
    bse : ndarray of shape (n_features + 1,)
        Standard errors, the square roots of the diagonal of ``cov``.
    zvalues : ndarray of shape (n_features + 1,)
        ``coef / bse``.
    pvalues : ndarray of shape (n_features + 1,)
        Two-sided p-values of ``coef = 0`` from the standard normal.
    conf_int : ndarray of shape (n_features + 1, 2)
        Wald intervals ``coef -+ z_{1 - (1 - level)/2} bse``.
    cov : ndarray of shape (n_features + 1, n_features + 1)
        ``I^{-1}`` with ``I = sum_i w_i pi_i (1 - pi_i) x~_i x~_i^T`` the observed
        (= expected) information of the unpenalised log-likelihood, or for a ridge
        fit the sandwich ``(I + P)^{-1} I (I + P)^{-1}`` with ``P = W alpha
        diag(0, 1, ..., 1)`` the penalty's Hessian (le Cessie & van Houwelingen 1992).
    cov_type : str
        ``"observed information"`` or ``"ridge sandwich"``.
    note : str
        What the covariance means (for a ridge fit: the ridge biases the
        coefficients toward 0 and the intervals are centred at the biased estimate,
        so their coverage is below ``level``).
    level : float
        Confidence level of ``conf_int``.
    names : list of str
        Coefficient names (``"intercept"``, then ``"x0"``, ``"x1"``, ... or the
        feature names seen by ``fit``).
    nobs : float
        Sum of the weights (the number of rows without weights).
    alpha : float
        The ridge strength of the fit.
    """

    def __init__(self, *, coef, cov, level, names, nobs, alpha, cov_type, note):
        self.coef = np.asarray(coef, dtype=np.float64)
        self.cov = np.asarray(cov, dtype=np.float64)
        self.bse = np.sqrt(np.diag(self.cov))
        self.zvalues = self.coef / self.bse
        self.pvalues = 2.0 * stats.norm.sf(np.abs(self.zvalues))
        crit = stats.norm.ppf(0.5 + level / 2.0)
        self.conf_int = np.column_stack([self.coef - crit * self.bse,
                                         self.coef + crit * self.bse])
        self.level = float(level)
        self.names = list(names)
        self.nobs = nobs
        self.alpha = float(alpha)
        self.cov_type = cov_type
        self.note = note

    def _table(self):
        return np.column_stack([self.coef, self.bse, self.zvalues, self.pvalues,
                                self.conf_int])

    def _columns(self):
        lo, hi = (1.0 - self.level) / 2.0, 0.5 + self.level / 2.0
        return ["coef", "std err", "z", "P>|z|", f"[{lo:g}", f"{hi:g}]"]

    def to_frame(self):
        """The coefficient table as a pandas DataFrame.

        Returns
        -------
        frame : pandas.DataFrame
            Columns ``coef, std err, z, P>|z|, [lo, hi]``, one row per coefficient,
            indexed by name.

        Raises
        ------
        ImportError
            If pandas is not installed.
        """
        pd = require("pandas", "LogisticSummary.to_frame",
                     "use the arrays (coef, bse, zvalues, pvalues, conf_int) directly")
        return pd.DataFrame(self._table(), index=pd.Index(self.names, name="term"),
                            columns=self._columns())

    def __str__(self):
        width = max(12, max(len(n) for n in self.names) + 1)
        line_len = width + 6 * 11
        nobs = f"{self.nobs:g}"
        out = [
            "Logistic regression results".center(line_len),
            "=" * line_len,
            f"{'Covariance:':<20}{self.cov_type}",
            f"{'No. observations:':<20}{nobs:<12}{'Ridge alpha:':<16}{self.alpha:g}",
            "-" * line_len,
            " " * width + "".join(f"{c:>11}" for c in self._columns()),
            "-" * line_len,
        ]
        for name, row in zip(self.names, self._table()):
            cells = [_fmt(row[0]), _fmt(row[1]), _fmt(row[2], 3), f"{row[3]:.3f}",
                     _fmt(row[4]), _fmt(row[5])]
            out.append(f"{name:<{width}}" + "".join(f"{c:>11}" for c in cells))
        out.append("=" * line_len)
        if self.note:
            out.append(self.note)
        return "\n".join(out)

    __repr__ = __str__


def logistic_summary(X, y, sw, total_weight, theta, alpha, *, level, names, separable):
    """The :class:`LogisticSummary` of ``theta`` fitted to checked (X, y, sw).

    ``sw`` are the row weights normalised to mean 1 (None: unit weights) and
    ``total_weight`` their sum before normalisation (n without weights), so that the
    information is that of the weighted log-likelihood sum_i w_i l_i (frequency
    weights). ``separable`` is the fit's separation result (None: not checked).
    Raises ValueError when the covariance does not exist or cannot be trusted.
    """
    n_coef = theta.shape[0]
    grad = np.empty(n_coef)
    _, max_eta = _objective(X, y, theta, alpha, grad, sw)
    g_inf = float(np.abs(grad).max())
    if not np.isfinite(g_inf) or g_inf > STATIONARY_TOL:
        raise ValueError(
            f"summary: the fitted coefficients are not a stationary point of the objective on "
            f"these X, y (||grad F||_inf = {g_inf:.3g} > {STATIONARY_TOL:g}); pass the data "
            "(and sample_weight) given to fit, or refit to convergence")
    if alpha == 0.0:
        if separable is None and max_eta > 10.0:
            separable = _separable(*_positive_rows(X, y, sw))
        if separable:
            raise ValueError(
                "summary: no standard errors at alpha=0, because the "
                + SEPARATION_MESSAGE + " (the information matrix is singular at the "
                "boundary and Wald intervals are meaningless)")
    Xs, pen, scale = rescaled_problem(X, alpha)
    s = np.ones(n_coef) if scale is None else np.concatenate([[1.0], scale])
    theta_s = theta * s
    info = logistic_hessian(Xs, theta_s, 0.0, sw=sw)
    info = np.triu(info) + np.triu(info, 1).T if not sp.issparse(Xs) else info
    info = np.ascontiguousarray(info) * total_weight
    if alpha == 0.0:
        cov_s = _inverse(info, "the observed information")
        cov_type, note = "observed information", ""
    else:
        P = np.zeros(n_coef)
        P[1:] = total_weight * np.broadcast_to(pen, (n_coef - 1,))
        H_inv = _inverse(info + np.diag(P), "the penalised Hessian")
        cov_s = H_inv @ info @ H_inv
        cov_type = "ridge sandwich"
        note = (f"Ridge fit (alpha={alpha:g}): covariance (I + P)^-1 I (I + P)^-1 with I the "
                "information and P the penalty's Hessian; the coefficients are shrunk "
                "toward 0, so the intervals are centred at a biased estimate and cover "
                "less than their level. Refit with alpha=0 for the usual Wald inference.")
    cov = cov_s / np.outer(s, s)
    return LogisticSummary(coef=theta, cov=cov, level=level, names=names,
                           nobs=total_weight, alpha=alpha, cov_type=cov_type, note=note)


def _inverse(A, what):
    """A^{-1} for a symmetric positive definite A by Cholesky; ValueError when A is
    singular to working precision (collinear columns, or a constant column at
    alpha=0)."""
    d = np.sqrt(np.diag(A))
    if not np.all(np.isfinite(d)) or np.any(d <= 0):
        j = int(np.flatnonzero(~(np.isfinite(d) & (d > 0)))[0])
        raise ValueError(f"summary: {what} is singular (coefficient {j} has no information: "
                         "a column of zeros, or a constant column next to the intercept); "
                         "drop it or set alpha > 0")
    B = A / np.outer(d, d)
    try:
        L = np.linalg.cholesky(B)
    except np.linalg.LinAlgError:
        L = None
    if L is None or np.min(np.diag(L)) ** 2 < 1e3 * np.finfo(float).eps:
        raise ValueError(f"summary: {what} is singular to working precision (collinear "
                         "columns of X, e.g. a constant column next to the intercept); drop "
                         "the redundant columns or set alpha > 0")
    Linv = np.linalg.inv(L)
    return (Linv.T @ Linv) / np.outer(d, d)
