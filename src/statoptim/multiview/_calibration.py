"""Temperature-scaled softmax of topic scores (normalised topic posteriors).

Semantic matching (Rasiwasia et al. 2010) retrieves with the *posterior*
probabilities of the topics, not with raw classifier outputs. The consensus
model's per-modality scores f_m are squared-loss predictions of the 0/1 label
indicators; turning them into posteriors ``softmax(beta * f_m)`` sharpens the
dominant topics and damps the small negative and positive residuals of the
other topics before the cosine. The single scale ``beta`` per modality is
fitted by *temperature scaling* (Guo et al., ICML 2017): the multinomial
cross-entropy of ``softmax(beta * f)`` against the training labels is
minimised over beta >= 0. The cross-entropy is convex in beta, so its minimiser
is the root of the derivative, found by bracketing and Brent's method. Only the
training rows are used; nothing is tuned on test data.
"""
from __future__ import annotations

import numpy as np
from scipy.optimize import brentq
from scipy.special import log_softmax, softmax

__all__ = ["softmax_scores", "temperature_nll", "temperature_nll_derivative",
           "fit_temperature", "MAX_LOGIT_RANGE"]

#: Cap on beta * (largest per-row score range). When the training rows are
#: separable the cross-entropy decreases for ever; beyond this range softmax is
#: one-hot to double precision (exp(-50) ~ 2e-22), so a larger beta changes nothing.
MAX_LOGIT_RANGE = 50.0


def _targets(Y):
    """Row-normalised label weights (a multi-label row spreads its unit mass)."""
    Y = np.asarray(Y, dtype=np.float64)
    s = Y.sum(axis=1, keepdims=True)
    return np.divide(Y, s, out=np.zeros_like(Y), where=s > 0)


def softmax_scores(scores, temperature):
    """``softmax(temperature * scores)`` row-wise: rows are positive and sum to one."""
    return softmax(temperature * np.asarray(scores, dtype=np.float64), axis=1)


def temperature_nll(beta, scores, Y):
    """Mean multinomial cross-entropy of ``softmax(beta * scores)`` against ``Y``."""
    T = _targets(Y)
    return -float(np.sum(T * log_softmax(beta * scores, axis=1)) / scores.shape[0])


def temperature_nll_derivative(beta, scores, Y):
    """d/d beta of :func:`temperature_nll`: mean of (E_softmax[f] - E_labels[f]) per row."""
    T = _targets(Y)
    S = softmax(beta * scores, axis=1)
    w = T.sum(axis=1)  # 1 for a labelled row, 0 for a row without labels
    return float(np.sum(w * np.sum(S * scores, axis=1)) - np.sum(T * scores)) / scores.shape[0]


def fit_temperature(scores, Y):
    """Temperature ``beta >= 0`` minimising :func:`temperature_nll` on training rows.

    Returns 0 when the scores do not rank the labelled topics above the average
    (derivative >= 0 at 0), and the cap ``MAX_LOGIT_RANGE / max row range`` when
    the cross-entropy still decreases there (separable training rows).
    """
    scores = np.asarray(scores, dtype=np.float64)
    spread = float(np.max(np.ptp(scores, axis=1))) if scores.size else 0.0
    if spread == 0.0 or temperature_nll_derivative(0.0, scores, Y) >= 0.0:
        return 0.0
    cap = MAX_LOGIT_RANGE / spread
    if temperature_nll_derivative(cap, scores, Y) <= 0.0:
        return cap
    return float(brentq(temperature_nll_derivative, 0.0, cap, args=(scores, Y),
                        xtol=1e-12 * cap, rtol=1e-12))
