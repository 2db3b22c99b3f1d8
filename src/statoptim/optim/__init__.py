"""Stochastic first-order optimisers and Newton-Raphson.

- :class:`LogisticRegression`: L2-penalised binary logistic regression by damped
  Newton-Raphson or by compiled minibatch SGD / momentum / RMSprop / Adam epochs.
- :func:`minimize` and the optimiser objects :class:`SGD`, :class:`Momentum`,
  :class:`RMSprop`, :class:`Adam`, :class:`Adamax` (``step(params, grad)``) for
  user objectives that are means of smooth per-row terms.
- :func:`logistic_objective`, :func:`check_separation` and :class:`SeparationWarning`.
- :class:`AdamW` (decoupled weight decay), :class:`SWATS` (Adam, then SGD) and the
  learning-rate schedules (:class:`Schedule`, :func:`warmup_cosine`, ...); every optimiser
  object steps lists of float32/float64 arrays, with parameter groups and ``state_dict()``.
"""
from statoptim.optim._estimator import LogisticRegression
from statoptim.optim._minimize import SGD, Adam, Adamax, Momentum, RMSprop, minimize
from statoptim.optim._newton import (
    SeparationWarning,
    check_separation,
    logistic_objective,
    newton_logistic,
)
from statoptim.optim._optimizers import SWATS, AdamW, swats_projection
from statoptim.optim._schedules import (
    CosineDecay,
    ExponentialDecay,
    LinearWarmup,
    Schedule,
    SequentialSchedule,
    StepDecay,
    warmup_cosine,
)

__all__ = [
    "SGD",
    "SWATS",
    "Adam",
    "AdamW",
    "Adamax",
    "CosineDecay",
    "ExponentialDecay",
    "LinearWarmup",
    "LogisticRegression",
    "Momentum",
    "RMSprop",
    "Schedule",
    "SeparationWarning",
    "SequentialSchedule",
    "StepDecay",
    "check_separation",
    "logistic_objective",
    "minimize",
    "newton_logistic",
    "swats_projection",
    "warmup_cosine",
]
