"""The base class of the optimiser objects (``_optimizers.py`` has the rules).

Parameter layout checks, groups, the schedule, ``state_dict`` and the all-or-nothing
``step``; each subclass names its method code and hyper-parameters."""
from __future__ import annotations

import numpy as np

from statoptim._validation import _describe, check_flag, check_int, check_real
from statoptim.optim._common import (
    DEFAULT_LEARNING_RATE,
    _as_real_array,
    check_schedule,
    method_hyper,
    step_sizes,
)
from statoptim.optim._optim_fast import update as _update
from statoptim.optim._schedules import Schedule

__all__: list[str] = []


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

    def _init_from(self, args):
        """The body of every subclass constructor: ``args`` is its ``locals()``, the
        rule's ``_hyper_keys`` become attributes and the rest goes to this class's
        ``__init__`` (each subclass spells out its keywords in its own signature)."""
        for key in self._hyper_keys:
            setattr(self, key, args[key])
        _Optimizer.__init__(self, args["learning_rate"], params=args["params"],
                            weight_decay=args["weight_decay"], schedule=args["schedule"],
                            t0=args["t0"], maximize=args["maximize"])

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
