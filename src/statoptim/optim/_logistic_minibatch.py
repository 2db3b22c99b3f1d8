"""The minibatch fits of :class:`statoptim.LogisticRegression`: the compiled epochs of
SGD, momentum, RMSprop, Adam, Adamax and SWATS with the stopping rules (a mixin of the
estimator)."""
from __future__ import annotations

import warnings

import numpy as np

from statoptim._validation import check_random_state, check_real
from statoptim.exceptions import ConvergenceWarning
from statoptim.optim._common import check_average
from statoptim.optim._multinomial import multinomial_objective, multinomial_separable
from statoptim.optim._newton import (
    SEPARATION_MESSAGE,
    SeparationWarning,
    _objective,
    _positive_rows,
    _separable,
)
from statoptim.optim._stochastic import LogisticEpochRunner, SoftmaxEpochRunner

__all__: list[str] = []


class _MinibatchFit:
    """The minibatch state and epochs of :class:`statoptim.LogisticRegression`."""
    def _runner_key(self, n_classes=2):
        """What a minibatch state belongs to: partial_fit starts a new state (moments,
        step counter, averages) when the solver, the averaging mode or the number of
        classes changed."""
        return (self.solver, check_average(self.average), n_classes)

    def _new_runner(self, X, alpha, theta0=None, n_classes=2):
        """A fresh minibatch state for the current parameters, starting at theta0 (or 0):
        the binary kernel for two classes, the softmax kernel for three or more and for
        SWATS (K = 1 column for two classes). theta0 has shape (K, n_features + 1) or
        (n_features + 1,)."""
        lr, batch_size, schedule, hyper = self._validate_stochastic(X.shape[0])
        kw = dict(learning_rate=lr, schedule=schedule, alpha=alpha, batch_size=batch_size,
                  average=self.average, avg_decay=hyper[4], shuffle=self.shuffle,
                  rng=check_random_state(self.random_state))
        if n_classes == 2 and self.solver != "swats":
            self._runner = LogisticEpochRunner(X.shape[1], hyper, **kw)
            if theta0 is not None:
                self._runner.theta[:] = np.ravel(theta0)
                self._runner.theta_avg[:] = self._runner.theta
        else:
            switch_tol = (check_real(self.switch_tol, "switch_tol", low=0.0, low_open=True)
                          if self.solver == "swats" else None)
            K = 1 if n_classes == 2 else n_classes
            self._runner = SoftmaxEpochRunner(X.shape[1], K, hyper, switch_tol=switch_tol, **kw)
            if theta0 is not None:
                self._runner.set_coef(np.reshape(theta0, (K, X.shape[1] + 1)))
        self._runner.key = self._runner_key(n_classes)
        self.loss_curve_ = []
        self.n_iter_ = 0

    @staticmethod
    def _full_objective(X, y, theta, alpha, sw):
        """F, its gradient and the largest |eta| (multinomial: spread of eta over the
        classes) at a runner's iterate, on all rows."""
        if theta.ndim == 2 and theta.shape[0] > 1:
            return multinomial_objective(X, y, theta, alpha, sw, return_max_eta=True)
        grad = np.empty(X.shape[1] + 1)
        F, max_eta = _objective(X, y, np.ascontiguousarray(theta.ravel()), alpha, grad, sw)
        return F, grad, max_eta

    def _fit_epochs(self, X, yb, alpha, tol, max_iter, check, sw=None):
        runner = self._runner
        multinomial = self.classes_.shape[0] > 2
        # labels as the kernel reads them: float 0/1 (binary kernel), intp (softmax kernel)
        y_run = yb.astype(np.intp) if isinstance(runner, SoftmaxEpochRunner) else yb
        grad = np.zeros(1)
        best = np.inf
        no_change = 0
        rel = float("nan")
        converged = False
        F = np.nan
        max_eta = 0.0
        for epoch in range(1, max_iter + 1):
            runner.run_epoch(X, y_run, sw)
            self.n_iter_ += 1
            last = epoch == max_iter
            if not (epoch % self.check_every == 0 or last):
                continue
            theta = runner.coef()
            F_prev = F
            finite = bool(np.all(np.isfinite(theta)))
            if finite:
                F, grad, max_eta = self._full_objective(X, yb, theta, alpha, sw)
            if not (finite and np.isfinite(F) and np.all(np.isfinite(grad))):
                raise ValueError(
                    f"the {self.solver} iterates diverged (non-finite loss or coefficients) "
                    f"at epoch {self.n_iter_}; reduce learning_rate (got {runner.learning_rate:g})")
            self.loss_curve_.append(F)
            rel = abs(F_prev - F) / max(abs(F), 1e-300) if np.isfinite(F_prev) else np.nan
            if not check or self.stopping is None:
                continue
            if self.stopping == "grad":
                if np.abs(grad).max() <= tol:
                    converged = True
                    break
            else:
                if F > best - tol * max(1.0, abs(best)):
                    no_change += 1
                else:
                    no_change = 0
                best = min(best, F)
                if no_change >= self.n_iter_no_change:
                    converged = True
                    break
        self._set_coef(runner.coef())
        self.t_ = runner.t
        self.grad_inf_ = float(np.abs(grad).max())
        self.separable_ = None
        if isinstance(runner, SoftmaxEpochRunner) and self.solver == "swats":
            self.switch_epoch_ = runner.switch_epoch
            self.switch_learning_rate_ = runner.switch_learning_rate
        n_coef = (X.shape[1] + 1) * (self.classes_.shape[0] if multinomial else 1)
        if alpha == 0.0 and max_eta > 30.0 and X.shape[0] * n_coef <= 4_000_000:
            Xp, yp = _positive_rows(X, yb, sw)
            self.separable_ = (multinomial_separable(Xp, yp, self.classes_.shape[0])
                               if multinomial else _separable(Xp, yp))
            if self.separable_:
                warnings.warn(SEPARATION_MESSAGE, SeparationWarning, stacklevel=3)
        if check and self.stopping is not None and not converged:
            what = ("||grad F||_inf <= tol on the full data" if self.stopping == "grad"
                    else f"F to drop by tol * max(1, F) within n_iter_no_change="
                         f"{self.n_iter_no_change} checks")
            warnings.warn(
                f"{self.solver} did not converge in max_iter={max_iter} epochs: final "
                f"||grad F||_inf = {self.grad_inf_:.3g}, last relative change of F = {rel:.3g}; "
                f"tol={tol:g} asks for {what}. Increase max_iter, or use a decaying schedule "
                "with average=True (constant steps stall at a noise floor).",
                ConvergenceWarning, stacklevel=3)
