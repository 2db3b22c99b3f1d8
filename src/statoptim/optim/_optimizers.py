"""Optimiser objects with torch.optim's interface on NumPy arrays.

Usage
-----
One array (the original interface)::

    opt = Adam(1e-3)
    opt.step(theta, grad)                 # theta updated in place and returned

A list of arrays, one group::

    opt.step([W, b], [gW, gb])            # every array updated in place

Parameter groups with their own hyper-parameters (torch's ``Adam(params, lr=...)``)::

    opt = Adam(1e-3, params=[{"params": [W, b], "learning_rate": 1e-2},
                             {"params": [c], "weight_decay": 1e-4}])
    opt.step([gW, gb, gc])                # gradients in the order the arrays were given

The first positional argument is the default learning rate or, as in torch, the
parameters: ``Adam([{"params": [W, b], "learning_rate": 1e-2}, {"params": [c]}])``
(groups without a rate use the default, 1e-3 for Adam). To give both a default rate
and the parameters, name them: ``Adam(1e-3, params=...)``. Keys of a group override the optimiser's
arguments of the same name for its arrays: ``learning_rate``, ``weight_decay`` and the
rule's own hyper-parameters (``beta1``, ``beta2``, ``eps``, ... as in the constructor).
torch's ``lr`` is spelt ``learning_rate``.

Semantics
---------
- Updates are in place, as in torch; ``step`` returns the array (one array given) or
  the list of arrays. A step either updates every array or, on any error (bad input,
  a non-finite result), none of them, and leaves ``t`` and the state unchanged.
- Parameters are C-contiguous writeable float32 or float64 arrays; the optimiser
  state of an array has its dtype (float32 stays float32). Each update is computed in
  float64 and rounded once to the parameter's dtype. Gradients are converted to the
  parameter's dtype. Arrays of different dtypes in one group are refused (groups may
  differ).
- ``weight_decay`` (every optimiser) adds ``weight_decay * theta`` to the gradient
  (an L2 penalty weight_decay/2 ||theta||^2 in the objective), as torch's
  ``weight_decay``. :class:`AdamW` decays the weights instead (decoupled).
- ``schedule`` scales every group's learning rate at step t (1, 2, ...): a string
  ("constant", "invsqrt": 1/sqrt(t), "invtime": 1/(1 + t/t0)), a
  :class:`~statoptim.optim.Schedule` (``learning_rate * schedule.multiplier(t)``) or a
  callable ``t -> step size`` of the default learning rate (groups with their own
  learning rate get it times their ratio to the default).
- ``state_dict()`` / ``load_state_dict()`` save and restore the step counter, the
  hyper-parameters and the state; continuing after a round trip gives bit-identical
  steps. Loading a state for another parameter layout (number, shapes or dtypes of the
  arrays) raises ValueError.
"""
from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from typing import Any, Literal

import numpy as np

from statoptim._validation import _describe, check_flag, check_int, check_real
from statoptim.optim._common import (
    DEFAULT_LEARNING_RATE,
    METHODS,
    _as_real_array,
    check_schedule,
    method_hyper,
    step_sizes,
)
from statoptim.optim._optim_fast import update as _update
from statoptim.optim._schedules import Schedule

__all__ = ["SGD", "SWATS", "Adam", "AdamW", "Adamax", "Momentum", "RMSprop"]

_FLOAT_DTYPES = (np.dtype(np.float32), np.dtype(np.float64))
#: Values of every hyper-parameter the rules do not use (method_hyper needs them all).
_NEUTRAL = {"momentum": 0.9, "rho": 0.9, "beta1": 0.9, "beta2": 0.999, "eps": 1e-8,
            "nesterov": False, "amsgrad": False, "eps_inside": False,
            "adam_form": "algorithm1"}


def _check_param(a, name):
    if not (isinstance(a, np.ndarray) and a.dtype in _FLOAT_DTYPES
            and a.flags.c_contiguous and a.flags.writeable):
        raise ValueError(f"{name} must be a writeable C-contiguous float32 or float64 ndarray "
                         f"(updated in place), got {_describe(a)}")
    if a.size == 0:
        raise ValueError(f"{name} must have at least one entry, got an empty array")


def _check_finite_param(a, name):
    if not np.all(np.isfinite(a)):
        raise ValueError(f"{name} must be finite, got {int((~np.isfinite(a)).sum())} NaN or inf")


def _check_no_alias(arrays, names):
    for i in range(len(arrays)):
        for j in range(i):
            if np.may_share_memory(arrays[i], arrays[j]):
                raise ValueError(f"{names[i]} shares memory with {names[j]}: each parameter "
                                 "array must be given once and not overlap another")


def _layout(arrays):
    return [(tuple(a.shape), a.dtype.str) for a in arrays]


class _Optimizer:
    """Base class: validation, groups, schedules and state; the rule is ``_method``."""

    _method = None
    _hyper_keys = ()        # the rule's own hyper-parameters (constructor keywords)
    _decoupled = False      # AdamW: weight_decay is decoupled

    def __init__(self, learning_rate=None, *, params=None, weight_decay=0.0,
                 schedule="constant", t0=100.0, maximize=False):
        if params is None and isinstance(learning_rate, (list, tuple, dict)):
            params, learning_rate = learning_rate, None  # torch's Adam(params, lr=...)
        self.learning_rate = learning_rate
        self.weight_decay = weight_decay
        self.schedule = schedule
        self.t0 = t0
        self.maximize = maximize
        self.t = 0
        self._states = None
        self._layout = None
        self._extra = None
        self.param_groups = None if params is None else self._parse_groups(params)

    @property
    def _state(self):
        """The (3, n) state array of a one-array optimiser (the list for several)."""
        if self._states is None:
            return None
        return self._states[0] if len(self._states) == 1 else self._states

    # -- parameter groups -------------------------------------------------------------
    def _group_keys(self):
        return ("learning_rate", "weight_decay") + self._hyper_keys

    def _parse_groups(self, params):
        if isinstance(params, np.ndarray):
            params = [params]
        if isinstance(params, dict):
            params = [params]
        if not isinstance(params, (list, tuple)) or len(params) == 0:
            raise TypeError(f"params must be a non-empty list of arrays or of dicts "
                            f"{{'params': [arrays], ...}}, got {_describe(params)}")
        if all(isinstance(p, dict) for p in params):
            raw = list(params)
        elif any(isinstance(p, dict) for p in params):
            raise TypeError("params must be a list of arrays or a list of group dicts, got a "
                            "mix of both")
        else:
            raw = [{"params": list(params)}]
        groups, arrays, names = [], [], []
        keys = self._group_keys()
        for gi, group in enumerate(raw):
            where = f"params[{gi}]" if len(raw) > 1 or isinstance(params[0], dict) else "params"
            if "params" not in group:
                raise ValueError(f"{where} must have a 'params' entry (the list of arrays), got "
                                 f"keys {sorted(map(str, group))}")
            for key in group:
                if key != "params" and key not in keys:
                    hint = " (torch's lr is learning_rate here)" if key == "lr" else ""
                    raise ValueError(f"{where} has an unknown key {key!r}{hint}; "
                                     f"{type(self).__name__} groups take {list(keys)}")
            members = group["params"]
            if isinstance(members, np.ndarray):
                members = [members]
            if not isinstance(members, (list, tuple)) or len(members) == 0:
                raise TypeError(f"{where}['params'] must be a non-empty list of arrays, got "
                                f"{_describe(members)}")
            start = len(arrays)
            for k, a in enumerate(members):
                name = f"{where}['params'][{k}]" if where != "params" else f"params[{k}]"
                _check_param(a, name)
                arrays.append(a)
                names.append(name)
            dtypes = {a.dtype for a in members}
            if len(dtypes) > 1:
                raise ValueError(f"{where} mixes dtypes {sorted(str(d) for d in dtypes)}: the "
                                 "arrays of one parameter group must share one dtype "
                                 "(float32 or float64); put them in separate groups")
            overrides = {k: v for k, v in group.items() if k != "params"}
            groups.append({"params": list(range(start, len(arrays))), **overrides})
        _check_no_alias(arrays, names)
        self._arrays = arrays
        self._names = names
        return groups

    def add_param_group(self, group):
        """Register one more group ``{'params': [arrays], key: value, ...}``.

        Only before the first step (or after :meth:`reset`).
        """
        if self.t != 0 or self._states is not None:
            raise ValueError(f"add_param_group must come before the first step (t = {self.t}); "
                             "call reset() first")
        if not isinstance(group, dict):
            raise TypeError(f"group must be a dict {{'params': [arrays], ...}}, got "
                            f"{_describe(group)}")
        old = [] if self.param_groups is None else [
            {**{k: v for k, v in g.items() if k != "params"},
             "params": [self._arrays[i] for i in g["params"]]} for g in self.param_groups]
        self.param_groups = self._parse_groups(old + [group])

    # -- hyper-parameters ---------------------------------------------------------------
    def _values(self, overrides):
        values = {k: getattr(self, k) for k in self._group_keys()}
        values.update(overrides)
        return values

    def _hyper(self, values):
        """The compiled kernel's codes for this rule with the group's ``values``."""
        return _method_hyper(self._method, values)

    def _rule(self, values, where):
        """(code, flags, form, b1, b2, eps, lr, weight_decay) of one group."""
        try:
            code, flags, form, b1, b2, eps = self._hyper(values)
            lr = values["learning_rate"]
            lr = DEFAULT_LEARNING_RATE[self._method] if lr is None else check_real(
                lr, "learning_rate", low=0.0, low_open=True)
            wd = check_real(values["weight_decay"], "weight_decay", low=0.0)
        except ValueError as exc:
            if where is None:
                raise
            raise ValueError(f"{where}: {exc}") from None
        return code, flags, form, b1, b2, eps, lr, wd

    def _step_size(self, schedule, lr, base_lr, t, t0):
        """Step size of a group with learning rate ``lr`` at step t (>= 1)."""
        if isinstance(schedule, Schedule):
            return lr * schedule.multiplier(t)
        if callable(schedule):
            alpha = step_sizes(schedule, base_lr, t - 1, 1, t0)[0]
            return alpha if lr == base_lr else alpha * (lr / base_lr)
        return step_sizes(schedule, lr, t - 1, 1, t0)[0]

    # -- the step ------------------------------------------------------------------------
    def reset(self):
        """Forget the step counter and all state (the groups are kept)."""
        self.t = 0
        self._states = None
        self._layout = None
        self._extra = None

    def _arguments(self, params, grad):
        """(arrays, names, grads, grad names, groups, single) of one step call."""
        if grad is None:
            if self.param_groups is None:
                raise TypeError("grad is required: call step(params, grad), or build the "
                                "optimiser with params=... and call step(grads)")
            grads = params
            arrays, names, groups, single = self._arrays, self._names, self.param_groups, False
        else:
            if self.param_groups is not None:
                given = [params] if isinstance(params, np.ndarray) else params
                if not (isinstance(given, (list, tuple)) and len(given) == len(self._arrays)
                        and all(a is b for a, b in zip(given, self._arrays))):
                    raise ValueError("params must be the arrays this optimiser was built with "
                                     f"({len(self._arrays)} arrays), got {_describe(params)}; "
                                     "or call step(grads) alone")
                arrays, names, groups = self._arrays, self._names, self.param_groups
                single = isinstance(params, np.ndarray)
            elif isinstance(params, np.ndarray):
                arrays, names, single = [params], ["params"], True
                groups = [{"params": [0]}]
            elif isinstance(params, (list, tuple)) and len(params) > 0:
                arrays, single = list(params), False
                names = [f"params[{i}]" for i in range(len(arrays))]
                groups = [{"params": list(range(len(arrays)))}]
            else:
                raise ValueError(f"params must be a writeable C-contiguous float32 or float64 "
                                 "ndarray (updated in place) or a non-empty list of them, got "
                                 f"{_describe(params)}")
            if not self.param_groups and len(arrays) > 1:
                for a, name in zip(arrays, names):
                    _check_param(a, name)
                _check_no_alias(arrays, names)
                dtypes = sorted(str(d) for d in {a.dtype for a in arrays})
                if len(dtypes) > 1:
                    raise ValueError(f"params mixes dtypes {dtypes}: the arrays of one "
                                     "parameter group must share one dtype (float32 or "
                                     "float64); use parameter groups (params=[{'params': "
                                     "[...]}, ...]) for arrays of different dtypes")
        for a, name in zip(arrays, names):
            _check_param(a, name)
            _check_finite_param(a, name)
        if single:  # one array: grad is one array-like (possibly a list of numbers)
            grads = [grad]
            gnames = ["grad"]
        else:
            grads = grads if grad is None else grad
            if not isinstance(grads, (list, tuple)) or len(grads) != len(arrays):
                raise ValueError(f"grad must be a list of {len(arrays)} arrays (one per "
                                 f"parameter array), got {_describe(grads)}")
            gnames = [f"grad[{i}]" for i in range(len(arrays))]
        out = []
        for a, g, gname in zip(arrays, grads, gnames):
            g = _as_real_array(g, gname, "an array of real numbers")
            if g.shape != a.shape:
                raise ValueError(f"{gname} must have the shape of its parameter {a.shape}, "
                                 f"got shape {g.shape}")
            with np.errstate(over="ignore"):
                g = np.array(g, dtype=a.dtype, order="C").reshape(-1)
            if not np.all(np.isfinite(g)):
                raise ValueError(f"{gname} must be finite, got {int((~np.isfinite(g)).sum())} "
                                 f"NaN or inf (in {a.dtype}) at step t = {self.t + 1}")
            out.append(g)
        return arrays, names, out, groups, single

    def step(self, params, grad=None):
        """One step: update the parameter arrays in place and return them.

        Parameters
        ----------
        params : ndarray, or list of ndarray, or (optimisers built with ``params=``)
            the list of gradients
            C-contiguous, writeable, finite, non-empty float32 or float64 arrays,
            updated in place. The optimiser's state is for one layout (number, shapes
            and dtypes of the arrays); after ``reset()`` it may change.
        grad : array-like or list of array-like, optional
            Gradient of the objective at ``params`` (ascent direction if
            ``maximize=True``), with the shape of each parameter; finite. Omitted
            when the optimiser holds its parameters: ``step(grads)``.

        Returns
        -------
        ndarray or list of ndarray
            The parameter array(s), updated.

        Raises
        ------
        ValueError or TypeError
            For bad arguments or hyper-parameters, and when the step would make a
            parameter or the state non-finite (too large a learning rate); the
            parameters, the state and ``t`` are then left unchanged.
        """
        arrays, names, grads, groups, single = self._arguments(params, grad)
        sign = -1.0 if check_flag(self.maximize, "maximize") else 1.0
        t = check_int(self.t, "t", minimum=0)
        schedule = self.schedule if isinstance(self.schedule, Schedule) else check_schedule(
            self.schedule)
        t0 = check_real(self.t0, "t0", low=0.0, low_open=True)
        layout = _layout(arrays)
        if self._states is None:
            if t != 0:
                raise ValueError(f"t must be 0 for an optimiser without state, got {t}; "
                                 "call reset()")
            state = [np.zeros((3, a.size), dtype=a.dtype) for a in arrays]
        elif self._layout != layout:
            raise ValueError(f"params must have the layout {self._fmt(self._layout)} of the "
                             f"previous steps of this optimiser, got {self._fmt(layout)}; call "
                             "reset() to start over with new parameters")
        else:
            state = [s.copy() for s in self._states]
        base_rule = self._rule(self._values({}), None)  # validates the defaults too
        base_lr = base_rule[6]
        new = [a.reshape(-1).copy() for a in arrays]
        if sign < 0:
            grads = [-g for g in grads]
        extra = self._begin_extra(len(groups))
        for gi, group in enumerate(groups):
            overrides = {k: v for k, v in group.items() if k != "params"}
            where = None if self.param_groups is None else f"params[{gi}]"
            rule = self._rule(self._values(overrides), where) if overrides else base_rule
            lr_t = self._step_size(schedule, rule[6], base_lr, t + 1, t0)
            items = [(grads[i], new[i], state[i]) for i in group["params"]]
            self._group_step(gi, rule, lr_t, t + 1, items, extra)
        for i, (n_, s) in enumerate(zip(new, state)):
            if not (np.all(np.isfinite(n_)) and np.all(np.isfinite(s))):
                gmax = float(np.abs(grads[i]).max())
                raise ValueError(f"the step t = {t + 1} would make {names[i]} or the optimiser "
                                 f"state non-finite (max |grad| = {gmax:.3g}); reduce "
                                 "learning_rate or rescale the objective")
        for a, n_ in zip(arrays, new):
            a.reshape(-1)[:] = n_
        self._states = state
        self._layout = layout
        self._extra = extra
        self.t = t + 1
        return arrays[0] if single else list(arrays)

    @staticmethod
    def _fmt(layout):
        return "[" + ", ".join(f"{s} {np.dtype(d).name}" for s, d in layout) + "]"

    def _begin_extra(self, n_groups):
        return None

    def _group_step(self, gi, rule, lr_t, t, items, extra):
        code, flags, form, b1, b2, eps, _, wd = rule
        coupled, decoupled = (0.0, wd) if self._decoupled else (wd, 0.0)
        for g, theta, s in items:
            _update(code, flags, form, b1, b2, eps, t, lr_t, coupled, decoupled, g, theta,
                    s[0], s[1], s[2])

    # -- state dict ---------------------------------------------------------------------------
    def _default_keys(self):
        return self._group_keys() + ("schedule", "t0", "maximize")

    def state_dict(self):
        """The step counter, hyper-parameters, groups and state (copies), as a dict.

        ``load_state_dict`` of an optimiser of the same class over arrays of the same
        layout restores it; the following steps are then bit-identical. It pickles when
        ``schedule`` does (strings and Schedule objects do; a lambda does not).
        """
        return {
            "optimizer": type(self).__name__,
            "t": self.t,
            "defaults": {k: getattr(self, k) for k in self._default_keys()},
            "param_groups": None if self.param_groups is None else [
                {k: (list(v) if k == "params" else v) for k, v in g.items()}
                for g in self.param_groups],
            "layout": None if self._layout is None else [(tuple(s), d) for s, d in
                                                         self._layout],
            "state": None if self._states is None else [s.copy() for s in self._states],
            "extra": _copy_extra(self._extra),
        }

    def load_state_dict(self, state_dict):
        """Restore what :meth:`state_dict` returned (copies are taken).

        Raises
        ------
        TypeError or ValueError
            If ``state_dict`` is not such a dict, comes from another optimiser class,
            or is for another parameter layout (number, shapes or dtypes of the arrays,
            or group structure) than the arrays this optimiser holds.
        """
        keys = {"optimizer", "t", "defaults", "param_groups", "layout", "state", "extra"}
        if not isinstance(state_dict, dict) or set(state_dict) != keys:
            raise TypeError(f"state_dict must be a dict returned by state_dict() with keys "
                            f"{sorted(keys)}, got {_describe(state_dict)}")
        if state_dict["optimizer"] != type(self).__name__:
            raise ValueError(f"state_dict is from a {state_dict['optimizer']!r} optimiser, "
                             f"not {type(self).__name__!r}")
        t = check_int(state_dict["t"], "state_dict['t']", minimum=0)
        layout, state = state_dict["layout"], state_dict["state"]
        if (state is None) != (layout is None) or (state is None) != (t == 0):
            raise ValueError("state_dict has inconsistent 't', 'layout' and 'state' entries")
        if layout is not None:
            layout = [(tuple(s), np.dtype(d).str) for s, d in layout]
            if not (isinstance(state, list) and len(state) == len(layout)):
                raise ValueError("state_dict['state'] must hold one array per parameter")
            for i, ((shape, d), s) in enumerate(zip(layout, state)):
                size = int(np.prod(shape))
                if not (isinstance(s, np.ndarray) and s.shape == (3, size)
                        and s.dtype == np.dtype(d) and np.all(np.isfinite(s))):
                    raise ValueError(f"state_dict['state'][{i}] must be a finite {np.dtype(d)} "
                                     f"array of shape (3, {size}), got {_describe(s)}")
        groups = state_dict["param_groups"]
        if self.param_groups is not None:
            mine = _layout(self._arrays)
            if layout is not None and layout != mine:
                raise ValueError(f"state_dict is for the parameter layout {self._fmt(layout)}, "
                                 f"this optimiser holds {self._fmt(mine)}")
            theirs = None if groups is None else [list(g["params"]) for g in groups]
            if theirs is None or theirs != [g["params"] for g in self.param_groups]:
                raise ValueError("state_dict is for another parameter-group structure: "
                                 f"{theirs}"
                                 f", this optimiser has {[g['params'] for g in self.param_groups]}")
        elif groups is not None:
            raise ValueError("state_dict holds parameter groups, but this optimiser was built "
                             "without params=...; build it over arrays of the same layout")
        self._check_extra(state_dict["extra"], None if groups is None else len(groups))
        for k in state_dict["defaults"]:
            if k not in self._default_keys():
                raise ValueError(f"state_dict['defaults'] has an unknown key {k!r}")
        for k, v in state_dict["defaults"].items():
            setattr(self, k, v)
        if groups is not None:
            self.param_groups = [{k: (list(v) if k == "params" else v) for k, v in g.items()}
                                 for g in groups]
        self.t = t
        self._layout = layout
        self._states = None if state is None else [s.copy() for s in state]
        self._extra = _copy_extra(state_dict["extra"])

    def _check_extra(self, extra, n_groups):
        if extra is not None:
            raise ValueError(f"state_dict['extra'] must be None for {type(self).__name__}")


def _copy_extra(extra):
    return None if extra is None else [dict(e) for e in extra]


def _method_hyper(method, values):
    kw = dict(_NEUTRAL)
    kw.update({k: v for k, v in values.items() if k in _NEUTRAL})
    return method_hyper(method, **kw)


class SGD(_Optimizer):
    """Plain (minibatch) gradient steps: theta_t = theta_{t-1} - alpha_t g_t.

    With ``weight_decay`` = w, g_t is the gradient plus w theta_{t-1} (torch's SGD).

    Parameters
    ----------
    learning_rate : float, default=None (0.01)
        Or, as in torch, the parameters (a list of arrays or of group dicts).
    params : list of arrays or of dicts, optional
        Parameter arrays (or groups) this optimiser updates with ``step(grads)``;
        see the module documentation.
    weight_decay : float >= 0, default=0
        L2 coefficient added to the gradient.
    schedule : {"constant", "invsqrt", "invtime"}, Schedule or callable, default="constant"
    t0 : float, default=100
        Time scale of "invtime": alpha_t = alpha / (1 + t / t0).
    maximize : bool, default=False
        Step along +grad.

    Examples
    --------
    >>> import numpy as np
    >>> from statoptim.optim import SGD
    >>> theta = np.array([1.0, -2.0])
    >>> opt = SGD(learning_rate=0.1)
    >>> for _ in range(3):
    ...     _ = opt.step(theta, 2 * theta)       # gradient of ||theta||^2
    >>> theta.round(4), opt.t
    (array([ 0.512, -1.024]), 3)
    """

    _method = "sgd"


class Momentum(_Optimizer):
    """Classical momentum in the EMA form, with an optional Nesterov look-ahead.

    v_t = mu v_{t-1} + (1 - mu) g_t and theta_t = theta_{t-1} - alpha_t v_t, or with
    ``nesterov=True`` theta_t = theta_{t-1} - alpha_t (mu v_t + (1 - mu) g_t).
    torch's ``SGD(lr=gamma, momentum=mu)`` (heavy ball) is this with
    alpha = gamma / (1 - mu). Defaults: learning_rate 0.01, momentum 0.9. Groups may
    set ``momentum`` and ``nesterov``; the other arguments are those of :class:`SGD`.

    Examples
    --------
    >>> import numpy as np
    >>> from statoptim.optim import Momentum
    >>> theta = np.array([1.0, -2.0])
    >>> opt = Momentum(learning_rate=0.1, momentum=0.9, nesterov=True)
    >>> for _ in range(3):
    ...     _ = opt.step(theta, 2 * theta)
    >>> theta.round(4)
    array([ 0.8445, -1.6891])

    ``state_dict()`` saves the counter and the velocity; a restored copy continues
    bit for bit:

    >>> clone = Momentum()
    >>> clone.load_state_dict(opt.state_dict())
    >>> a, b = theta.copy(), theta.copy()
    >>> _ = opt.step(a, 2 * a)
    >>> _ = clone.step(b, 2 * b)
    >>> np.array_equal(a, b), clone.t
    (True, 4)
    """

    _method = "momentum"
    _hyper_keys = ("momentum", "nesterov")

    def __init__(self, learning_rate: float | None = None, *, momentum: float = 0.9,
                 nesterov: bool = False,
                 params: Sequence[np.ndarray] | Sequence[dict[str, Any]] | None = None,
                 weight_decay: float = 0.0,
                 schedule: str | Schedule | Callable[[int], float] = "constant", t0: float = 100.0,
                 maximize: bool = False) -> None:
        self.momentum = momentum
        self.nesterov = nesterov
        super().__init__(learning_rate, params=params, weight_decay=weight_decay,
                         schedule=schedule, t0=t0, maximize=maximize)


class RMSprop(_Optimizer):
    """RMSprop: S_t = rho S_{t-1} + (1 - rho) g_t^2, theta -= alpha_t g_t / (sqrt(S_t) + eps).

    ``eps_inside=True`` uses g / sqrt(S + eps) (the talk's and Keras's form). S is not
    bias-corrected, so the first step is about 3.2 alpha at rho = 0.9 (as in every
    library). Defaults: learning_rate 1e-3, rho 0.9, eps 1e-8. Groups may set ``rho``,
    ``eps``, ``eps_inside``; the other arguments are those of :class:`SGD`.

    Examples
    --------
    >>> import numpy as np
    >>> from statoptim.optim import RMSprop
    >>> theta = np.array([1.0, -2.0])
    >>> opt = RMSprop(learning_rate=0.01)
    >>> _ = opt.step(theta, 2 * theta)            # first step ~ 3.2 * learning_rate
    >>> theta.round(4)
    array([ 0.9684, -1.9684])
    """

    _method = "rmsprop"
    _hyper_keys = ("rho", "eps", "eps_inside")

    def __init__(self, learning_rate: float | None = None, *, rho: float = 0.9, eps: float = 1e-8,
                 eps_inside: bool = False,
                 params: Sequence[np.ndarray] | Sequence[dict[str, Any]] | None = None,
                 weight_decay: float = 0.0,
                 schedule: str | Schedule | Callable[[int], float] = "constant", t0: float = 100.0,
                 maximize: bool = False) -> None:
        self.rho = rho
        self.eps = eps
        self.eps_inside = eps_inside
        super().__init__(learning_rate, params=params, weight_decay=weight_decay,
                         schedule=schedule, t0=t0, maximize=maximize)


class Adam(_Optimizer):
    """Adam (Kingma & Ba 2015, Algorithm 1), optionally AMSGrad or the efficient form.

    m_t = b1 m + (1 - b1) g, v_t = b2 v + (1 - b2) g^2, theta -= alpha_t m_hat /
    (sqrt(v_hat) + eps). ``adam_form="efficient"`` uses a_t = alpha sqrt(1 - b2^t) /
    (1 - b1^t) with eps_hat_t = eps sqrt(1 - b2^t) (equal to Algorithm 1 up to
    rounding); "constant_eps_hat" uses a constant eps_hat = eps (TF/Keras).
    ``amsgrad=True`` replaces v by its running maximum (torch's variant).
    ``weight_decay`` adds w theta to g (L2, torch's ``Adam(weight_decay=w)``); for the
    decoupled decay use :class:`AdamW`. Defaults: learning_rate 1e-3, beta1 0.9,
    beta2 0.999, eps 1e-8. Groups may set ``beta1``, ``beta2``, ``eps``, ``amsgrad``,
    ``adam_form``; the other arguments are those of :class:`SGD`.

    Examples
    --------
    >>> import numpy as np
    >>> from statoptim.optim import Adam
    >>> theta = np.array([1.0, -2.0])
    >>> opt = Adam(learning_rate=0.1)
    >>> for _ in range(200):
    ...     _ = opt.step(theta, 2 * (theta - 3))  # minimise ||theta - 3||^2
    >>> theta.round(2)
    array([3., 3.])

    Several arrays are stepped together, each in place (the first Adam step is
    about ``learning_rate`` against the sign of the gradient):

    >>> W, b = np.ones((2, 2)), np.zeros(2)
    >>> _ = Adam(0.1).step([W, b], [W - 3, b + 1])
    >>> W.round(2), b.round(2)
    (array([[1.1, 1.1],
           [1.1, 1.1]]), array([-0.1, -0.1]))
    """

    _method = "adam"
    _hyper_keys = ("beta1", "beta2", "eps", "amsgrad", "adam_form")

    def __init__(self, learning_rate: float | None = None, *, beta1: float = 0.9,
                 beta2: float = 0.999, eps: float = 1e-8, amsgrad: bool = False,
                 adam_form: Literal["algorithm1", "efficient", "constant_eps_hat"] = "algorithm1",
                 params: Sequence[np.ndarray] | Sequence[dict[str, Any]] | None = None,
                 weight_decay: float = 0.0,
                 schedule: str | Schedule | Callable[[int], float] = "constant", t0: float = 100.0,
                 maximize: bool = False) -> None:
        self.beta1 = beta1
        self.beta2 = beta2
        self.eps = eps
        self.amsgrad = amsgrad
        self.adam_form = adam_form
        super().__init__(learning_rate, params=params, weight_decay=weight_decay,
                         schedule=schedule, t0=t0, maximize=maximize)


class AdamW(Adam):
    """Adam with decoupled weight decay (Loshchilov & Hutter 2019, "Decoupled weight
    decay regularization", Algorithm 2, AdamW).

    theta_t = theta_{t-1} (1 - alpha_t w) - alpha_t m_hat_t / (sqrt(v_hat_t) + eps),
    with m_hat, v_hat the Adam moments of the plain gradient g_t (no w theta term) and
    alpha_t the scheduled learning rate. This is torch's ``AdamW`` and the paper's
    line 12, theta_t = theta_{t-1} - eta_t (alpha m_hat_t / (sqrt(v_hat_t) + eps) +
    lambda theta_{t-1}), with eta_t the schedule multiplier and lambda = alpha w.
    Defaults as :class:`Adam` with ``weight_decay=0.01`` (torch's default).

    Examples
    --------
    Parameter groups: decay the weights ``W`` but not the bias ``b``. With zero
    gradients only the decay acts, W <- W (1 - 0.1 * 0.5) at each step:

    >>> import numpy as np
    >>> from statoptim.optim import AdamW
    >>> W, b = np.ones((2, 2)), np.ones(2)
    >>> opt = AdamW(0.1, params=[{"params": [W], "weight_decay": 0.5},
    ...                          {"params": [b], "weight_decay": 0.0}])
    >>> for _ in range(3):
    ...     _ = opt.step([np.zeros((2, 2)), np.zeros(2)])   # the gradients, in order
    >>> W.round(4), b
    (array([[0.8574, 0.8574],
           [0.8574, 0.8574]]), array([1., 1.]))
    """

    _decoupled = True

    def __init__(self, learning_rate: float | None = None, *, beta1: float = 0.9,
                 beta2: float = 0.999, eps: float = 1e-8, amsgrad: bool = False,
                 adam_form: Literal["algorithm1", "efficient", "constant_eps_hat"] = "algorithm1",
                 params: Sequence[np.ndarray] | Sequence[dict[str, Any]] | None = None,
                 weight_decay: float = 0.01,
                 schedule: str | Schedule | Callable[[int], float] = "constant", t0: float = 100.0,
                 maximize: bool = False) -> None:
        super().__init__(learning_rate, beta1=beta1, beta2=beta2, eps=eps, amsgrad=amsgrad,
                         adam_form=adam_form, params=params, weight_decay=weight_decay,
                         schedule=schedule, t0=t0, maximize=maximize)


class Adamax(_Optimizer):
    """Adamax (Kingma & Ba 2015, section 7.1): u_t = max(b2 u_{t-1}, |g_t|),
    theta -= alpha_t m_t / ((1 - b1^t) u_t). Defaults: learning_rate 2e-3. Groups may
    set ``beta1``, ``beta2``; the other arguments are those of :class:`SGD`.

    Examples
    --------
    >>> import numpy as np
    >>> from statoptim.optim import Adamax
    >>> theta = np.array([1.0, -2.0])
    >>> opt = Adamax(learning_rate=0.1)
    >>> _ = opt.step(theta, 2 * theta)            # the first step is learning_rate * sign(grad)
    >>> theta.round(4)
    array([ 0.9, -1.9])
    """

    _method = "adamax"
    _hyper_keys = ("beta1", "beta2")

    def __init__(self, learning_rate: float | None = None, *, beta1: float = 0.9,
                 beta2: float = 0.999,
                 params: Sequence[np.ndarray] | Sequence[dict[str, Any]] | None = None,
                 weight_decay: float = 0.0,
                 schedule: str | Schedule | Callable[[int], float] = "constant", t0: float = 100.0,
                 maximize: bool = False) -> None:
        self.beta1 = beta1
        self.beta2 = beta2
        super().__init__(learning_rate, params=params, weight_decay=weight_decay,
                         schedule=schedule, t0=t0, maximize=maximize)


def swats_projection(pg: float, pp: float, k: int, lam: float, beta2: float,
                     switch_tol: float) -> tuple[float, float | None]:
    """One update of the SWATS learning-rate estimate (Keskar & Socher 2017, Algorithm 1,
    lines 14-21).

    For the Adam step p_k and the gradient g_k (``pg`` = p_k^T g_k, ``pp`` = p_k^T p_k)
    at step k, the projection of -gamma_k g_k on p_k equals p_k for

        gamma_k = p_k^T p_k / (-p_k^T g_k)   (Algorithm 1, line 15)

    and its exponential average is lambda_k = beta2 lambda_{k-1} + (1 - beta2) gamma_k
    (line 16); the switch happens when k > 1 and |lambda_k / (1 - beta2^k) - gamma_k| <
    ``switch_tol`` (the paper's epsilon), with the SGD learning rate Lambda =
    lambda_k / (1 - beta2^k). If p_k^T g_k = 0, lambda_k = lambda_{k-1}. As a safeguard
    not in Algorithm 1, a switch needs Lambda > 0 (a negative estimate would make the
    SGD steps ascend).

    Returns
    -------
    (lam, Lambda_or_None)
        The new lambda_k and, if the switch happens at this step, Lambda.

    Examples
    --------
    A constant Adam step p = (-0.1, 0.1) against the gradient g = (1, -1) gives
    gamma_k = 0.02 / 0.2 = 0.1 at every step, so the estimate settles at step 2:

    >>> from statoptim.optim import swats_projection
    >>> lam, Lambda = swats_projection(-0.2, 0.02, 1, 0.0, 0.999, 1e-9)
    >>> round(lam, 6), Lambda                       # no switch at step 1
    (0.0001, None)
    >>> lam, Lambda = swats_projection(-0.2, 0.02, 2, lam, 0.999, 1e-9)
    >>> round(Lambda, 6)                            # switch: SGD with learning rate 0.1
    0.1
    """
    if pg == 0.0 or not math.isfinite(pg) or not math.isfinite(pp):
        return lam, None
    gamma = pp / -pg
    lam = beta2 * lam + (1.0 - beta2) * gamma
    lam_hat = lam / (1.0 - beta2 ** k)
    if k > 1 and abs(lam_hat - gamma) < switch_tol and lam_hat > 0.0:
        return lam, lam_hat
    return lam, None


class SWATS(_Optimizer):
    """SWATS: Adam that switches to SGD (Keskar & Socher 2017, "Improving
    generalization performance by switching from Adam to SGD", Algorithm 1).

    Adam phase, as :class:`Adam` (Algorithm 1, lines 10-13)::

        m_k = b1 m_{k-1} + (1 - b1) g_k,  a_k = b2 a_{k-1} + (1 - b2) g_k^2,
        p_k = -alpha_k sqrt(1 - b2^k) / (1 - b1^k) m_k / (sqrt(a_k) + eps),
        w_k = w_{k-1} + p_k

    (line 12 is ``adam_form="constant_eps_hat"``; the default "algorithm1" is
    Kingma & Ba's form, alpha_k m_hat_k / (sqrt(a_hat_k) + eps), so that the Adam phase
    is exactly :class:`Adam`; they differ in the placement of eps only, which matters
    for the switch: with a constant gradient g the paper's form gives p_k = -alpha_k g /
    (|g| + eps / sqrt(1 - b2^k)), whose drift with k alone can keep |Lambda_k - gamma_k|
    above ``switch_tol``); after each Adam step the projected SGD learning rate gamma_k =
    p_k^T p_k /
    (-p_k^T g_k) (line 15) and its bias-corrected average Lambda_k = lambda_k /
    (1 - b2^k), lambda_k = b2 lambda_{k-1} + (1 - b2) gamma_k (line 16) are updated, and
    the optimiser switches for good when k > 1 and |Lambda_k - gamma_k| < ``switch_tol``
    (lines 14-21; see :func:`swats_projection`). SGD phase (lines 5-8)::

        v_k = b1 v_{k-1} + g_k,  w_k = w_{k-1} - (1 - b1) Lambda v_k   (v = 0 at switch)

    i.e. :class:`Momentum` with momentum b1 and learning rate Lambda (times the
    schedule's decay since the switch, ``alpha_k / alpha_switch``). Each parameter group
    has its own projection and switch (one group: the paper's whole-vector projection).
    After steps, ``switch_steps`` lists per group the step k of the switch (None before)
    and ``switch_learning_rates`` the Lambda.

    Parameters
    ----------
    learning_rate : float, default=None (1e-3)
    beta1, beta2, eps : float, defaults 0.9, 0.999, 1e-8
    switch_tol : float > 0, default=1e-9
        The paper's epsilon of the switching criterion.
    adam_form : {"algorithm1", "constant_eps_hat", "efficient"}, default="algorithm1"
        Form of the Adam step (see :class:`Adam`); "constant_eps_hat" is the paper's.
    params, weight_decay (coupled, L2), schedule, t0, maximize
        As in :class:`Adam`. Groups may set ``beta1``, ``beta2``, ``eps``,
        ``switch_tol``, ``adam_form``.

    Examples
    --------
    On the Huber loss far from its minimum the gradient is constant, the projected
    rate settles at once and SWATS switches to SGD at step 2:

    >>> import numpy as np
    >>> from statoptim.optim import SWATS
    >>> theta = np.array([5.0, -5.0])
    >>> opt = SWATS(0.1)
    >>> for _ in range(100):
    ...     _ = opt.step(theta, np.clip(theta, -1, 1))   # gradient of the Huber loss
    >>> opt.switch_steps, round(opt.switch_learning_rates[0], 4), theta.round(2)
    ([2], 0.1, array([ 0.02, -0.02]))
    """

    _method = "adam"
    _hyper_keys = ("beta1", "beta2", "eps", "switch_tol", "adam_form")

    def __init__(self, learning_rate: float | None = None, *, beta1: float = 0.9,
                 beta2: float = 0.999, eps: float = 1e-8, switch_tol: float = 1e-9,
                 adam_form: Literal["algorithm1", "efficient", "constant_eps_hat"] = "algorithm1",
                 params: Sequence[np.ndarray] | Sequence[dict[str, Any]] | None = None,
                 weight_decay: float = 0.0,
                 schedule: str | Schedule | Callable[[int], float] = "constant", t0: float = 100.0,
                 maximize: bool = False) -> None:
        self.beta1 = beta1
        self.beta2 = beta2
        self.eps = eps
        self.switch_tol = switch_tol
        self.adam_form = adam_form
        super().__init__(learning_rate, params=params, weight_decay=weight_decay,
                         schedule=schedule, t0=t0, maximize=maximize)

    def _hyper(self, values):
        self._tol = check_real(values["switch_tol"], "switch_tol", low=0.0, low_open=True)
        return super()._hyper(values)

    def _begin_extra(self, n_groups):
        if self._extra is None:
            return [{"phase": "adam", "lam": 0.0, "Lambda": None, "switch_t": None,
                     "switch_lr": None} for _ in range(n_groups)]
        return _copy_extra(self._extra)

    def _group_step(self, gi, rule, lr_t, t, items, extra):
        code, flags, form, b1, b2, eps, _, wd = rule
        tol = self._tol
        e = extra[gi]
        if e["phase"] == "sgd":
            lr_sgd = e["Lambda"] * (lr_t / e["switch_lr"])
            for g, theta, s in items:  # the momentum buffer is s[2] (zero until the switch)
                _update(METHODS["momentum"], 0, 0, b1, b2, eps, t, lr_sgd, wd, 0.0, g, theta,
                        s[2], s[0], s[1])
            return
        pg = pp = 0.0
        for g, theta, s in items:
            a, b = _update(code, flags, form, b1, b2, eps, t, lr_t, wd, 0.0, g, theta,
                           s[0], s[1], s[2])
            pg += a
            pp += b
        lam, Lambda = swats_projection(pg, pp, t, e["lam"], b2, tol)
        e["lam"] = lam
        if Lambda is not None:
            e.update(phase="sgd", Lambda=Lambda, switch_t=t, switch_lr=lr_t)

    @property
    def switch_steps(self):
        """Per group, the step k at which it switched to SGD (None if not yet)."""
        n = 1 if self.param_groups is None else len(self.param_groups)
        return [None] * n if self._extra is None else [e["switch_t"] for e in self._extra]

    @property
    def switch_learning_rates(self):
        """Per group, the SGD learning rate Lambda chosen at the switch (None if not yet)."""
        n = 1 if self.param_groups is None else len(self.param_groups)
        return [None] * n if self._extra is None else [e["Lambda"] for e in self._extra]

    def _check_extra(self, extra, n_groups):
        if extra is None:
            return
        keys = {"phase", "lam", "Lambda", "switch_t", "switch_lr"}
        if not (isinstance(extra, list) and all(isinstance(e, dict) and set(e) == keys
                                                for e in extra)):
            raise ValueError("state_dict['extra'] must be the SWATS per-group states")
        if len(extra) != (1 if n_groups is None else n_groups):
            raise ValueError(f"state_dict['extra'] holds {len(extra)} group states, expected "
                             f"{1 if n_groups is None else n_groups}")
