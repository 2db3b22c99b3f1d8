"""Learning-rate schedules: objects mapping a step (or epoch) count to a multiplier.

A schedule is a :class:`Schedule`: ``schedule.multiplier(t)`` is the factor applied to
the base learning rate at count ``t`` = 1, 2, ... (the number of the step being taken,
or of the epoch, whichever the caller counts). The step size of step t is then
``learning_rate * schedule.multiplier(t)``. Schedules hold no state, so the same
object can be shared by several optimisers and pickled.

Where they are used:

- the optimiser objects (:class:`statoptim.optim.Adam` and the others) take
  ``schedule=<Schedule>`` and count steps: step t uses ``lr_g * multiplier(t)`` for
  every parameter group g;
- :func:`statoptim.optim.minimize` takes ``schedule=<Schedule>`` and counts updates
  (minibatch steps; one epoch is ceil(n_samples / batch_size) updates);
- any code that takes a callable ``t -> step size`` (for example
  ``LogisticRegression(schedule=...)``) can use ``schedule.step_size_fn(learning_rate)``.

Schedules are deliberately not callable: a callable ``schedule`` elsewhere in
statoptim returns a step size, and a multiplier passed there would be silently
misread.

The counts follow torch.optim.lr_scheduler after ``t - 1`` calls of
``scheduler.step()``: :class:`StepDecay` is ``StepLR``, :class:`ExponentialDecay`
is ``ExponentialLR``, :class:`CosineDecay` is ``CosineAnnealingLR`` (held at its
minimum after ``total_steps`` instead of rising again), :class:`LinearWarmup` is
``LinearLR(start_factor=1/W, total_iters=W-1)`` and :class:`SequentialSchedule` is
``SequentialLR``.
"""
from __future__ import annotations

import itertools
import math
from collections.abc import Callable, Sequence

import numpy as np

from statoptim._validation import _describe, check_int, check_real

__all__ = ["CosineDecay", "ExponentialDecay", "LinearWarmup", "Schedule", "SequentialSchedule",
           "StepDecay", "warmup_cosine"]


class Schedule:
    """Base class: a map from the count t = 1, 2, ... to a learning-rate multiplier >= 0.

    Subclasses implement ``_multiplier(t)`` for a validated integer t >= 1.

    Examples
    --------
    A schedule that halves the learning rate at every step, used by an optimiser:

    >>> import numpy as np
    >>> from statoptim.optim import SGD, Schedule
    >>> class Halving(Schedule):
    ...     def _multiplier(self, t):
    ...         return 0.5 ** (t - 1)
    >>> Halving().multipliers(0, 3)
    array([1.  , 0.5 , 0.25])
    >>> theta = np.array([1.0])
    >>> opt = SGD(0.1, schedule=Halving())
    >>> for _ in range(3):
    ...     _ = opt.step(theta, [1.0])              # steps 0.1, 0.05, 0.025
    >>> theta.round(4)
    array([0.825])
    """

    def _multiplier(self, t):  # pragma: no cover - overridden
        raise NotImplementedError

    def multiplier(self, t: int) -> float:
        """The multiplier of the base learning rate at count ``t`` (an int >= 1)."""
        t = check_int(t, "t", minimum=1)
        value = float(self._multiplier(t))
        if not (math.isfinite(value) and value >= 0.0):  # pragma: no cover - by design
            raise ValueError(f"schedule {self!r} gave multiplier {value!r} at t = {t}")
        return value

    def multipliers(self, t_start: int, n_steps: int) -> np.ndarray:
        """Multipliers at t = t_start + 1, ..., t_start + n_steps as a float64 array."""
        t_start = check_int(t_start, "t_start", minimum=0)
        n_steps = check_int(n_steps, "n_steps", minimum=0)
        return np.array([self.multiplier(t_start + k + 1) for k in range(n_steps)],
                        dtype=np.float64)

    def step_size_fn(self, learning_rate: float) -> Callable[[int], float]:
        """A plain callable ``t -> learning_rate * multiplier(t)`` (step sizes).

        For code that takes a step-size callable, e.g. ``LogisticRegression(schedule=
        CosineDecay(1000).step_size_fn(0.1))``. Step sizes elsewhere must be > 0, so use a
        schedule whose multiplier stays positive there (``min_factor > 0``).
        """
        lr = check_real(learning_rate, "learning_rate", low=0.0, low_open=True)

        def step_size(t):
            return lr * self.multiplier(t)

        step_size.schedule = self
        return step_size

    def __eq__(self, other):
        return type(self) is type(other) and vars(self) == vars(other)

    def __hash__(self):
        return hash((type(self).__name__, repr(self)))

    def __repr__(self):
        args = ", ".join(f"{k}={v!r}" for k, v in vars(self).items())
        return f"{type(self).__name__}({args})"


def _factor(value, name, *, low=0.0, low_open=False, high=1.0, high_open=False):
    return check_real(value, name, low=low, low_open=low_open, high=high, high_open=high_open)


class StepDecay(Schedule):
    """Multiply by ``gamma`` every ``step_size`` counts: gamma ** floor((t - 1) / step_size).

    Parameters
    ----------
    step_size : int >= 1
        Steps (or epochs) between decays.
    gamma : float in (0, 1], default=0.1

    Examples
    --------
    >>> from statoptim.optim import StepDecay
    >>> StepDecay(2, gamma=0.5).multipliers(0, 5)
    array([1.  , 1.  , 0.5 , 0.5 , 0.25])
    """

    def __init__(self, step_size: int, gamma: float = 0.1) -> None:
        self.step_size = check_int(step_size, "step_size", minimum=1)
        self.gamma = _factor(gamma, "gamma", low_open=True)

    def _multiplier(self, t):
        return self.gamma ** ((t - 1) // self.step_size)


class ExponentialDecay(Schedule):
    """Multiply by ``gamma`` at every count: gamma ** (t - 1).

    Parameters
    ----------
    gamma : float in (0, 1]

    Examples
    --------
    >>> from statoptim.optim import ExponentialDecay
    >>> ExponentialDecay(0.9).multipliers(0, 3)
    array([1.  , 0.9 , 0.81])
    """

    def __init__(self, gamma: float) -> None:
        self.gamma = _factor(gamma, "gamma", low_open=True)

    def _multiplier(self, t):
        return self.gamma ** (t - 1)


class CosineDecay(Schedule):
    """Cosine annealing (Loshchilov & Hutter 2017, SGDR, eq. 5 without restarts).

    multiplier(t) = m + (1 - m) (1 + cos(pi min(t - 1, T) / T)) / 2 with T =
    ``total_steps`` and m = ``min_factor``: 1 at t = 1, m from t = T + 1 on.

    Parameters
    ----------
    total_steps : int >= 1
    min_factor : float in [0, 1], default=0
        The final multiplier (torch's ``eta_min / lr``).

    Examples
    --------
    >>> from statoptim.optim import CosineDecay
    >>> CosineDecay(4).multipliers(0, 6).round(3)       # held at min_factor after t = 5
    array([1.   , 0.854, 0.5  , 0.146, 0.   , 0.   ])
    """

    def __init__(self, total_steps: int, min_factor: float = 0.0) -> None:
        self.total_steps = check_int(total_steps, "total_steps", minimum=1)
        self.min_factor = _factor(min_factor, "min_factor")

    def _multiplier(self, t):
        n = min(t - 1, self.total_steps)
        m = self.min_factor
        return m + (1.0 - m) * 0.5 * (1.0 + math.cos(math.pi * n / self.total_steps))


class LinearWarmup(Schedule):
    """Linear warm-up: multiplier(t) = min(1, t / warmup_steps).

    The first step uses 1 / warmup_steps of the learning rate, step ``warmup_steps``
    and later ones all of it (Goyal et al. 2017, "Accurate, large minibatch SGD",
    section 2.2, gradual warm-up).

    Parameters
    ----------
    warmup_steps : int >= 1

    Examples
    --------
    >>> from statoptim.optim import LinearWarmup
    >>> LinearWarmup(4).multipliers(0, 5)
    array([0.25, 0.5 , 0.75, 1.  , 1.  ])
    """

    def __init__(self, warmup_steps: int) -> None:
        self.warmup_steps = check_int(warmup_steps, "warmup_steps", minimum=1)

    def _multiplier(self, t):
        return min(1.0, t / self.warmup_steps)


class SequentialSchedule(Schedule):
    """Schedules one after another: ``schedules[i]`` runs after ``milestones[i - 1]``.

    For milestones[i - 1] < t <= milestones[i] the multiplier is
    ``schedules[i].multiplier(t - milestones[i - 1])`` (each schedule restarts its count
    at 1; milestones[-1] = 0 for the first one).

    Parameters
    ----------
    schedules : sequence of Schedule, length k >= 1
    milestones : sequence of k - 1 strictly increasing ints >= 1

    Examples
    --------
    Two warm-up steps, then halving at every step (its count restarts at 1):

    >>> from statoptim.optim import ExponentialDecay, LinearWarmup, SequentialSchedule
    >>> SequentialSchedule([LinearWarmup(2), ExponentialDecay(0.5)], [2]).multipliers(0, 5)
    array([0.5 , 1.  , 1.  , 0.5 , 0.25])
    """

    def __init__(self, schedules: Sequence[Schedule], milestones: Sequence[int]) -> None:
        if isinstance(schedules, Schedule) or not isinstance(schedules, (list, tuple)):
            raise TypeError(f"schedules must be a list of Schedule objects, got "
                            f"{_describe(schedules)}")
        if len(schedules) == 0:
            raise ValueError("schedules must hold at least one Schedule, got an empty list")
        for i, s in enumerate(schedules):
            if not isinstance(s, Schedule):
                raise TypeError(f"schedules[{i}] must be a Schedule, got {_describe(s)}")
        if not isinstance(milestones, (list, tuple)):
            raise TypeError(f"milestones must be a list of ints, got {_describe(milestones)}")
        if len(milestones) != len(schedules) - 1:
            raise ValueError(f"milestones must hold len(schedules) - 1 = {len(schedules) - 1} "
                             f"counts, got {len(milestones)}")
        ms = [check_int(m, f"milestones[{i}]", minimum=1) for i, m in enumerate(milestones)]
        if any(b <= a for a, b in itertools.pairwise(ms)):
            raise ValueError(f"milestones must be strictly increasing, got {ms}")
        self.schedules = list(schedules)
        self.milestones = ms

    def _multiplier(self, t):
        start = 0
        for schedule, stop in zip(self.schedules, self.milestones):
            if t <= stop:
                return schedule._multiplier(t - start)
            start = stop
        return self.schedules[-1]._multiplier(t - start)


def warmup_cosine(warmup_steps: int, total_steps: int,
                  min_factor: float = 0.0) -> SequentialSchedule:
    """Linear warm-up for ``warmup_steps`` then cosine decay to ``min_factor`` at
    ``total_steps`` (a :class:`SequentialSchedule`).

    multiplier(t) = t / W for t <= W, then m + (1 - m)(1 + cos(pi (t - W - 1) / (T - W))) / 2,
    held at m after t = T + 1, with W = ``warmup_steps`` < T = ``total_steps``.

    Examples
    --------
    >>> from statoptim.optim import Adam, warmup_cosine
    >>> schedule = warmup_cosine(2, 6)
    >>> schedule.multipliers(0, 7).round(3)
    array([0.5  , 1.   , 1.   , 0.854, 0.5  , 0.146, 0.   ])
    >>> opt = Adam(1e-3, schedule=schedule)             # step t uses 1e-3 * multiplier(t)
    """
    w = check_int(warmup_steps, "warmup_steps", minimum=1)
    total = check_int(total_steps, "total_steps", minimum=2)
    if total <= w:
        raise ValueError(f"total_steps must exceed warmup_steps = {w}, got {total}")
    return SequentialSchedule([LinearWarmup(w), CosineDecay(total - w, min_factor)], [w])
