"""A plain reference of the talk's MM for weighted quantile regression.

REFERENCE ONLY: this is *not* the package's solver (``statoptim.quantile`` runs
a guarded, continued MM finished by an exact simplex step). It reimplements
the Hunter & Lange (2000) MM exactly as the quantile talk (Shetty 2018)
describes it, so that ``statoptim reproduce quantile`` can show how far from
the optimum that algorithm stops:

* the perturbed check loss ``rho_e(r) = rho_q(r) - (e/2) ln(e + |r|)`` with
  ``e`` fixed once by the talk's rule ``e n |ln e| = tau``;
* the quadratic majoriser, minimised by one weighted least-squares solve per
  iteration, started at the weighted least-squares fit;
* the stopping rule on the relative change of the majoriser,
  ``(Q(theta_{k+1} | theta_k) - Q(theta_k | theta_k)) / Q(theta_k | theta_k) < tau``:
  either as the talk's slide prints it (signed, so the first decrease stops the
  loop, ``rule="printed"``) or as Hunter & Lange state it (absolute value,
  ``rule="paper"``).

No step guard, no continuation in ``e``, no exact finish: those are the
package's fixes and would hide what this reference is meant to show.
"""
from __future__ import annotations

import numpy as np

__all__ = ["RULES", "check_loss", "talk_epsilon", "talk_mm"]

#: The two readings of the talk's stopping rule.
RULES = ("printed", "paper")


def check_loss(Z, y, w, theta, q):
    """Weighted check loss ``sum_i w_i rho_q(y_i - z_i' theta)``.

    Parameters
    ----------
    Z : ndarray of shape (n, p)
    y, w : ndarray of shape (n,)
    theta : ndarray of shape (p,)
    q : float in (0, 1)

    Returns
    -------
    float
    """
    r = y - Z @ theta
    return float(w @ np.where(r >= 0, q * r, (q - 1.0) * r))


def talk_epsilon(n, tau):
    """The perturbation ``e`` solving ``e n |ln e| = tau`` with ``0 < e < 1/e``.

    Newton's method on ``f(e) = -e ln e - tau / n`` from ``t / |ln t|``,
    ``t = tau / n`` (Hunter & Lange's start), until the relative step is below
    1e-14.

    Parameters
    ----------
    n : int, positive
    tau : float in (0, 1)

    Returns
    -------
    float
    """
    if not (isinstance(n, (int, np.integer)) and n >= 1):
        raise ValueError(f"n must be a positive integer, got {n!r}")
    if not (isinstance(tau, (int, float)) and 0.0 < tau < 1.0):
        raise ValueError(f"tau must be a number in (0, 1), got {tau!r}")
    t = tau / n
    e = t / abs(np.log(t))
    for _ in range(50):
        step = (-e * np.log(e) - t) / (-np.log(e) - 1.0)
        e -= step
        if abs(step) <= 1e-14 * e:
            break
    return float(e)


def _majoriser(r_new, r_old, w, q, e):
    """``sum_i w_i zeta(r_new_i | r_old_i)`` (Hunter & Lange's quadratic majoriser)."""
    scale = e + np.abs(r_old)
    rho_e = np.where(r_old >= 0, q * r_old, (q - 1.0) * r_old) - 0.5 * e * np.log(scale)
    c = 4.0 * rho_e - r_old**2 / scale - (4.0 * q - 2.0) * r_old
    return float(w @ (0.25 * (r_new**2 / scale + (4.0 * q - 2.0) * r_new + c)))


def talk_mm(Z, y, w, q, *, tau=1e-6, rule="paper", max_iter=1000):
    """Fit weighted quantile regression by the talk's MM (reference, see the module).

    Parameters
    ----------
    Z : ndarray of shape (n, p)
        Design matrix, intercept column included; full column rank.
    y : ndarray of shape (n,)
    w : ndarray of shape (n,)
        Positive weights.
    q : float in (0, 1)
        The quantile.
    tau : float in (0, 1), default=1e-6
        The talk's tolerance: it sets ``e`` (``e n |ln e| = tau``) and stops the loop.
    rule : {"printed", "paper"}, default="paper"
        The stopping rule: signed relative change below ``tau`` (as printed) or
        its absolute value (Hunter & Lange).
    max_iter : int, default=1000

    Returns
    -------
    theta : ndarray of shape (p,)
    info : dict
        ``n_iter``, ``epsilon`` and ``status`` ("converged", "max_iter" or
        "singular": the weighted Gram matrix could not be solved or the step
        was not finite; ``theta`` is then the last finite iterate).
    """
    if rule not in RULES:
        raise ValueError(f"rule must be one of {RULES}, got {rule!r}")
    Z, y, w = (np.asarray(a, dtype=np.float64) for a in (Z, y, w))
    e = talk_epsilon(Z.shape[0], tau)
    sw = np.sqrt(w)
    theta = np.linalg.lstsq(Z * sw[:, None], y * sw, rcond=None)[0]
    status, k = "max_iter", 0
    for k in range(1, max_iter + 1):  # noqa: B007 (k is the count returned)
        r = y - Z @ theta
        a = w / (e + np.abs(r))
        try:
            step = np.linalg.solve(Z.T @ (Z * a[:, None]), Z.T @ (a * r + (2.0 * q - 1.0) * w))
        except np.linalg.LinAlgError:
            step = np.full_like(theta, np.nan)
        if not np.all(np.isfinite(step)):
            status = "singular"
            break
        new = theta + step
        q_old = _majoriser(r, r, w, q, e)
        q_new = _majoriser(y - Z @ new, r, w, q, e)
        theta = new
        change = (q_new - q_old) / q_old
        if (change if rule == "printed" else abs(change)) < tau:
            status = "converged"
            break
    return theta, {"n_iter": k, "epsilon": e, "status": status}
