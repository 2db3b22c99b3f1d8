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

Every function works on the row-centred scores ``f_i - max_p f_ip``: softmax
and the cross-entropy are invariant under a per-row shift, and the centred
scores lie in [-range_i, 0], so ``beta * f`` overflows for no finite beta and
score offset.
"""
from __future__ import annotations

import numpy as np
from scipy.optimize import brentq
from scipy.special import log_softmax, softmax

__all__ = [
    "MAX_LOGIT_RANGE",
    "fit_temperature",
    "softmax_scores",
    "temperature_nll",
    "temperature_nll_derivative",
]

#: Cap on beta * (largest per-row score range). When the training rows are
#: separable the cross-entropy decreases for ever; beyond this range softmax is
#: one-hot to double precision (exp(-50) ~ 2e-22), so a larger beta changes nothing.
MAX_LOGIT_RANGE = 50.0


def _targets(Y):
    """Row-normalised label weights (a multi-label row spreads its unit mass)."""
    Y = np.asarray(Y, dtype=np.float64)
    s = Y.sum(axis=1, keepdims=True)
    return np.divide(Y, s, out=np.zeros_like(Y), where=s > 0)


def _centred(scores):
    """``scores - max per row`` (every entry in [-row range, 0])."""
    scores = np.asarray(scores, dtype=np.float64)
    return scores - scores.max(axis=1, keepdims=True)


def _scaled(beta, centred):
    """beta * centred scores; a product below -max float saturates at -inf (exp = 0)."""
    with np.errstate(over="ignore"):
        return beta * centred


def softmax_scores(scores, temperature):
    """``softmax(temperature * scores)`` row-wise: rows are positive and sum to one."""
    return softmax(_scaled(temperature, _centred(scores)), axis=1)


def temperature_nll(beta, scores, Y):
    """Mean multinomial cross-entropy of ``softmax(beta * scores)`` against ``Y``."""
    T = _targets(Y)
    logp = log_softmax(_scaled(beta, _centred(scores)), axis=1)
    logp[T == 0] = 0.0   # 0 * log(0) = 0 for topics without label mass
    return -float(np.sum(T * logp) / scores.shape[0])


def temperature_nll_derivative(beta, scores, Y):
    """d/d beta of :func:`temperature_nll`: mean of (E_softmax[f] - E_labels[f]) per row.

    Invariant under a per-row shift of the scores for labelled rows (and rows
    without labels contribute 0), so it is evaluated on the centred scores.
    """
    T = _targets(Y)
    scores = _centred(scores)
    S = softmax(_scaled(beta, scores), axis=1)
    w = T.sum(axis=1)  # 1 for a labelled row, 0 for a row without labels
    return float(np.sum(w * np.sum(S * scores, axis=1)) - np.sum(T * scores)) / scores.shape[0]


def fit_temperature(scores, Y):
    """Temperature ``beta >= 0`` minimising :func:`temperature_nll` on training rows.

    Returns 0 when the scores do not rank the labelled topics above the average
    (derivative >= 0 at 0), and the cap ``MAX_LOGIT_RANGE / max row range`` when
    the cross-entropy still decreases there (separable training rows).
    """
    scores = _centred(scores) if np.size(scores) else np.asarray(scores, dtype=np.float64)
    spread = float(-np.min(scores)) if scores.size else 0.0
    if spread == 0.0 or temperature_nll_derivative(0.0, scores, Y) >= 0.0:
        return 0.0
    with np.errstate(over="ignore"):
        # a subnormal score range would give an infinite cap: saturate at the largest float
        cap = min(MAX_LOGIT_RANGE / spread, float(np.finfo(np.float64).max))
    if temperature_nll_derivative(cap, scores, Y) <= 0.0:
        return cap
    return float(brentq(temperature_nll_derivative, 0.0, cap, args=(scores, Y),
                        xtol=1e-12 * cap, rtol=1e-12))
