"""Plain-NumPy references for statoptim.optim: objective, update rules, one epoch.

Written from the formulas of the spec (section 2), independently of the Cython
kernel; the update rules follow the kernel's documented operation order.
"""
import numpy as np


def ref_objective(X, y, theta, alpha):
    """F, gradient and Hessian of mean log-loss + alpha/2 ||theta_{1:}||^2 (float64)."""
    X = np.asarray(X, dtype=np.float64)
    Xt = np.column_stack([np.ones(X.shape[0]), X])
    eta = Xt @ theta
    n = X.shape[0]
    F = np.mean(np.logaddexp(0.0, eta) - y * eta) + 0.5 * alpha * np.sum(theta[1:] ** 2)
    pi = np.where(eta >= 0, 1.0 / (1.0 + np.exp(-np.abs(eta))),
                  np.exp(-np.abs(eta)) / (1.0 + np.exp(-np.abs(eta))))
    D = np.ones_like(theta)
    D[0] = 0.0
    g = Xt.T @ (pi - y) / n + alpha * D * theta
    H = (Xt * (pi * (1 - pi))[:, None]).T @ Xt / n + alpha * np.diag(D)
    return F, g, H


class RefOptimizer:
    """One update at a time, state as NumPy vectors (spec section 2 table)."""

    def __init__(self, method, n, *, lr=0.01, momentum=0.9, nesterov=False, rho=0.9,
                 eps=1e-8, eps_inside=False, beta1=0.9, beta2=0.999, amsgrad=False,
                 adam_form="algorithm1"):
        self.method, self.lr = method, lr
        self.mu, self.nesterov, self.rho = momentum, nesterov, rho
        self.eps, self.eps_inside = eps, eps_inside
        self.b1, self.b2, self.amsgrad, self.form = beta1, beta2, amsgrad, adam_form
        self.s1, self.s2, self.s3 = np.zeros(n), np.zeros(n), np.zeros(n)
        self.t = 0

    def step(self, theta, g, lr=None):
        lr = self.lr if lr is None else lr
        self.t += 1
        t = self.t
        if self.method == "sgd":
            return theta - lr * g
        if self.method == "momentum":
            self.s1 = self.mu * self.s1 + (1.0 - self.mu) * g
            if self.nesterov:
                return theta - lr * (self.mu * self.s1 + (1.0 - self.mu) * g)
            return theta - lr * self.s1
        if self.method == "rmsprop":
            self.s1 = self.rho * self.s1 + (1.0 - self.rho) * (g * g)
            den = np.sqrt(self.s1 + self.eps) if self.eps_inside else np.sqrt(self.s1) + self.eps
            return theta - lr * g / den
        if self.method == "adam":
            self.s1 = self.b1 * self.s1 + (1.0 - self.b1) * g
            self.s2 = self.b2 * self.s2 + (1.0 - self.b2) * (g * g)
            if self.amsgrad:
                self.s3 = np.maximum(self.s3, self.s2)
                v = self.s3
            else:
                v = self.s2
            bc1 = 1.0 - self.b1 ** t
            bc2 = 1.0 - self.b2 ** t
            if self.form == "algorithm1":
                return theta - lr * (self.s1 / bc1) / (np.sqrt(v / bc2) + self.eps)
            a_t = lr * np.sqrt(bc2) / bc1
            eps_hat = self.eps * np.sqrt(bc2) if self.form == "efficient" else self.eps
            return theta - a_t * self.s1 / (np.sqrt(v) + eps_hat)
        if self.method == "adamax":
            self.s1 = self.b1 * self.s1 + (1.0 - self.b1) * g
            self.s2 = np.maximum(self.b2 * self.s2, np.abs(g))
            out = theta.copy()
            nz = self.s2 > 0
            out[nz] = theta[nz] - (lr / (1.0 - self.b1 ** t)) * self.s1[nz] / self.s2[nz]
            return out
        raise ValueError(self.method)


def ref_torch_heavy_ball(grads, theta0, gamma, mu):
    """torch.optim.SGD(lr=gamma, momentum=mu, dampening=0): b_1 = g_1, b_t = mu b + g."""
    theta = theta0.copy()
    b = None
    out = []
    for g in grads:
        b = g.copy() if b is None else mu * b + g
        theta = theta - gamma * b
        out.append(theta.copy())
    return np.array(out)


def ref_epochs(X, y, alpha, orders, batch_size, opt, steps_fn, average=None, decay=0.999):
    """Minibatch epochs with the plain reference: returns (theta, reported iterate).

    ``orders`` is a list of row permutations (one per epoch), ``steps_fn(t)`` gives
    alpha_t; Polyak averaging starts after one epoch of updates.
    """
    X = np.asarray(X, dtype=np.float64)
    n, p = X.shape
    theta = np.zeros(p + 1)
    avg = np.zeros(p + 1)
    n_batches = -(-n // batch_size)
    for order in orders:
        for k in range(n_batches):
            rows = order[k * batch_size:(k + 1) * batch_size]
            Xb = X[rows]
            eta = theta[0] + Xb @ theta[1:]
            r = 1.0 / (1.0 + np.exp(-eta)) - y[rows]
            g = np.concatenate([[r.mean()], Xb.T @ r / len(rows) + alpha * theta[1:]])
            theta = opt.step(theta, g, lr=steps_fn(opt.t + 1))
            t = opt.t
            if average == "polyak":
                avg = theta.copy() if t <= n_batches else avg + (theta - avg) / (t - n_batches)
            elif average == "ema":
                avg = decay * avg + (1 - decay) * theta
    if average == "polyak":
        return theta, avg
    if average == "ema":
        return theta, avg / (1 - decay ** opt.t)
    return theta, theta
