"""The full-batch fits of :class:`statoptim.LogisticRegression`: Newton-Raphson and
L-BFGS, binary and multinomial (a mixin of the estimator)."""
from __future__ import annotations

import warnings

import numpy as np
import scipy.sparse as sp

from statoptim._validation import check_n_threads, check_random_state
from statoptim.exceptions import ConvergenceWarning
from statoptim.optim._common import (
    active_part,
    expand_active,
    lbfgs_not_converged,
    newton_not_converged,
    sparse_ptp,
)
from statoptim.optim._logistic_checks import FULL_BATCH, _as_csr, _check_stochastic_scale
from statoptim.optim._multinomial import multinomial_lbfgs, multinomial_newton
from statoptim.optim._newton import (
    SEPARATION_MESSAGE,
    SeparationWarning,
    _positive_rows,
    _separable,
    lbfgs_core,
    newton_core,
    rescaled_problem,
    warn_identifiability,
)

__all__: list[str] = []


class _FullBatchFit:
    """Newton and L-BFGS fits of :class:`statoptim.LogisticRegression`."""

    def _fit_multinomial(self, X, yk, sw, alpha, theta0=None):
        """Softmax regression for three or more classes: L-BFGS ("auto", "lbfgs"), Newton,
        or the minibatch solvers (compiled softmax epochs)."""
        solver = self.solver_ = "lbfgs" if self.solver == "auto" else self.solver
        tol, max_iter = self._defaults(solver)
        n_classes = self.classes_.shape[0]
        if solver not in FULL_BATCH:
            _check_stochastic_scale(X, self.solver)
            self._new_runner(X, alpha, theta0, n_classes=n_classes)
            self._fit_epochs(X, yk, alpha, tol, max_iter, check=True, sw=sw)
            return self
        if solver == "newton":
            theta, info = multinomial_newton(X, yk, n_classes, alpha, tol=tol,
                                             max_iter=max_iter, sw=sw)
            if info["separable"]:
                warnings.warn(SEPARATION_MESSAGE, SeparationWarning, stacklevel=3)
        else:
            theta, info = multinomial_lbfgs(X, yk, n_classes, alpha, tol=tol,
                                            max_iter=max_iter, sw=sw)
            info["separable"] = None
        if not info["converged"] and not info["separable"]:
            warnings.warn(
                f"{solver} (multinomial) did not converge after {info['n_iter']} iterations "
                f"(max_iter={max_iter}): final ||grad F||_inf = {info['grad_inf']:.3g}, "
                f"tol={tol:g}; {info['message']}", ConvergenceWarning, stacklevel=3)
        self._set_softmax_fit(theta, info, info["separable"])
        return self

    def _fit_newton(self, X, yb, alpha, tol, max_iter, theta0=None, sw=None):
        X, pen, scale = rescaled_problem(X, alpha)
        if self.solver_ == "lbfgs":
            theta, info = self._lbfgs(X, yb, alpha, pen, scale, tol, max_iter, theta0, sw,
                                      check_n_threads(self.n_threads))
            if not info["converged"]:
                warnings.warn(lbfgs_not_converged(info, max_iter, tol), ConvergenceWarning,
                              stacklevel=3)
            self._set_coef(theta)
            self._record_fit(info, None)
            # diverging iterates at alpha = 0: the MLE may not exist (as Newton checks)
            # (and always with fewer rows than coefficients, where Newton refuses)
            if (alpha == 0.0 and (info["max_eta"] > 30.0 or X.shape[0] < X.shape[1] + 1)
                    and X.shape[0] * (X.shape[1] + 1) <= 4_000_000):
                self.separable_ = _separable(*_positive_rows(X, yb, sw))
                if self.separable_:
                    warnings.warn(SEPARATION_MESSAGE, SeparationWarning, stacklevel=3)
            return self
        theta, info = newton_core(X, yb, alpha, pen, scale, tol=tol, max_iter=max_iter,
                                  theta0=theta0, separation_check=True,
                                  hessian_subsample=self.hessian_subsample,
                                  rng=check_random_state(self.random_state), callback=None,
                                  sw=sw, n_threads=check_n_threads(self.n_threads))
        warn_identifiability(info)
        if not info["converged"] and not info["separable"]:
            warnings.warn(newton_not_converged(info, max_iter, tol), ConvergenceWarning,
                          stacklevel=3)
        self._set_coef(theta)
        self._record_fit(info, info["separable"])
        return self

    @staticmethod
    def _lbfgs(X, yb, alpha, pen, scale, tol, max_iter, theta0, sw, n_threads):
        """L-BFGS; at alpha = 0 constant columns are not identifiable: as Newton does, their
        coefficients are set to 0 and reported (SeparationWarning)."""
        const = np.zeros(0, dtype=np.intp)
        if alpha == 0.0 and X.shape[0] > 0:
            Xp, _ = _positive_rows(X, yb, sw)
            ptp = sparse_ptp(Xp) if sp.issparse(Xp) else np.ptp(Xp, axis=0)
            const = np.flatnonzero(ptp == 0)
        if const.size == 0:
            return lbfgs_core(X, yb, pen, scale, tol=tol, max_iter=max_iter, theta0=theta0,
                              sw=sw, n_threads=n_threads)
        active = np.setdiff1d(np.arange(X.shape[1]), const)
        Xa = _as_csr(X[:, active]) if sp.issparse(X) else np.ascontiguousarray(X[:, active])
        theta_a, info = lbfgs_core(Xa, yb, pen, None if scale is None else scale[active],
                                   tol=tol, max_iter=max_iter,
                                   theta0=None if theta0 is None else active_part(theta0, active),
                                   sw=sw, n_threads=n_threads)
        theta = expand_active(theta_a, active, X.shape[1])
        info["constant_columns"] = const
        warn_identifiability({"constant_columns": const})
        return theta, info

    def _set_coef(self, theta):
        theta = np.asarray(theta)
        if theta.ndim == 2 and theta.shape[0] > 1:  # multinomial: (K, p + 1)
            self.coef_ = theta[:, 1:].copy()
            self.intercept_ = theta[:, 0] - theta[:, 0].mean()  # softmax is shift-invariant
            return
        theta = theta.ravel()
        self.coef_ = theta[1:].reshape(1, -1).copy()
        self.intercept_ = theta[:1].copy()

    def _record_fit(self, info, separable):
        """The fitted attributes of a full-batch solve besides the coefficients."""
        self.n_iter_ = self.t_ = info["n_iter"]
        self.loss_curve_ = list(info["loss_curve"])
        self.grad_inf_ = info["grad_inf"]
        self.separable_ = separable

    def _set_softmax_fit(self, theta, info, separable):
        """The fitted attributes of a multinomial solve: coef_ and intercept_ from the
        (n_classes, n_features + 1) theta as the solver centred it, and the rest."""
        self.coef_ = theta[:, 1:].copy()
        self.intercept_ = theta[:, 0].copy()
        self._record_fit(info, separable)
