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

from statoptim._validation import check_real
from statoptim.optim._common import (
    METHODS,
)
from statoptim.optim._optim_fast import update as _update
from statoptim.optim._optimizer_base import (
    _copy_extra,
    _Optimizer,
)
from statoptim.optim._schedules import Schedule

__all__ = ["SGD", "SWATS", "Adam", "AdamW", "Adamax", "Momentum", "RMSprop"]

#: The annotations of the constructors' shared arguments.
Params = Sequence[np.ndarray] | Sequence[dict[str, Any]] | None
ScheduleLike = str | Schedule | Callable[[int], float]
AdamForm = Literal["algorithm1", "efficient", "constant_eps_hat"]

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
                 nesterov: bool = False, params: Params = None, weight_decay: float = 0.0,
                 schedule: ScheduleLike = "constant", t0: float = 100.0,
                 maximize: bool = False) -> None:
        self._init_from(locals())


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
                 eps_inside: bool = False, params: Params = None, weight_decay: float = 0.0,
                 schedule: ScheduleLike = "constant", t0: float = 100.0,
                 maximize: bool = False) -> None:
        self._init_from(locals())


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
                 adam_form: AdamForm = "algorithm1", params: Params = None,
                 weight_decay: float = 0.0, schedule: ScheduleLike = "constant", t0: float = 100.0,
                 maximize: bool = False) -> None:
        self._init_from(locals())


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
                 adam_form: AdamForm = "algorithm1", params: Params = None,
                 weight_decay: float = 0.01, schedule: ScheduleLike = "constant",
                 t0: float = 100.0, maximize: bool = False) -> None:
        self._init_from(locals())


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
                 beta2: float = 0.999, params: Params = None, weight_decay: float = 0.0,
                 schedule: ScheduleLike = "constant", t0: float = 100.0,
                 maximize: bool = False) -> None:
        self._init_from(locals())


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
                 adam_form: AdamForm = "algorithm1", params: Params = None,
                 weight_decay: float = 0.0, schedule: ScheduleLike = "constant", t0: float = 100.0,
                 maximize: bool = False) -> None:
        self._init_from(locals())

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
