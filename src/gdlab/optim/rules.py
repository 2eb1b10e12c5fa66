r"""Update rules with PyTorch's names, defaults and formulas, step for step.

Each rule is a small object with two methods, PyTorch's ``optimizer.step()`` split from
its state:

``init(params) -> state``
    a dict of arrays shaped like ``params`` plus an integer ``"step"``;
``step(params, grad, state, lr) -> None``
    updates ``params`` and ``state`` **in place** with the learning rate ``lr``
    of this step (the schedule's value; the rule's own ``lr`` is the base).

A rule is a :class:`~gdlab.optim.stepper.Stepper` (base class :class:`Rule`, in
:mod:`gdlab.optim.base`): the descent loop evaluates the gradient and calls ``update``,
which is ``step`` with the schedule's rate (and, for SGD, RMSprop and the Adam family, the
momentum or beta1 of a ``OneCycleLR``/``CyclicLR`` schedule: ``step(..., momentum=m)``).

``params`` may be one flat vector (a model) or a 2-D array ``(n_starts, d)``
(many starting points at once): every formula here is elementwise, so each row is
its own run. The dtype of ``params`` is kept (float32 stays float32).

The optimizers: ``SGD``, ``Adam``, ``AdamW``, ``RMSprop``, ``Adagrad``, ``Adadelta``,
``Adamax``, ``NAdam``, ``RAdam``, ``Rprop``, ``ASGD`` here, and ``LBFGS`` (whole-row dot
products and its own line search: :mod:`gdlab.optim.quasi_newton`); by name through
:func:`make_rule` (:data:`OPTIMIZERS`), or as ``gdlab.optim.<name>(**torch keywords)``.

The formulas mirror ``torch.optim``'s single-tensor implementations (2.13)
operation for operation, so trajectories agree with PyTorch to rounding;
``tests/test_optim_torch.py`` checks this against trajectories recorded
with PyTorch (``scripts/make_torch_reference.py``).

Notation: :math:`g_t` the gradient at step :math:`t` (negated first when
``maximize``), :math:`\theta` the parameters, :math:`\gamma` the learning
rate, :math:`\lambda` the weight decay.
"""

from __future__ import annotations

import copy
import difflib
import inspect
from typing import Any, Iterable, Sequence

import numpy as np

from .. import checks
from ..errors import ParameterError
from .base import Rule, addcmul, lerp
from .quasi_newton import LBFGS
from .stepper import State


class SGD(Rule):
    r"""Stochastic gradient descent, optionally with momentum or Nesterov momentum.

    As ``torch.optim.SGD``:

    .. math::
        g &\leftarrow g_t + \lambda\theta \\
        b_t &\leftarrow \begin{cases} g & t = 1 \\ \mu b_{t-1} + (1-\tau) g & t > 1\end{cases} \\
        g &\leftarrow \begin{cases} g + \mu b_t & \text{nesterov} \\
                                   b_t & \text{otherwise}\end{cases}
           \quad(\text{when } \mu \ne 0) \\
        \theta &\leftarrow \theta - \gamma g

    with momentum :math:`\mu` and dampening :math:`\tau`. Plain gradient descent
    (``momentum=0``) is the lecture's ``x = x - lr * grad``. A schedule that cycles the
    momentum (``OneCycleLR``, ``CyclicLR``) sets :math:`\mu` for each step; as in PyTorch,
    the buffer then starts as the gradient of the first step with a momentum.
    """

    name = "sgd"
    hyper = ("lr", "momentum", "dampening", "weight_decay", "nesterov", "maximize")
    momentum_kind = "momentum"

    def __init__(self, lr: float = 1e-3, momentum: float = 0.0, dampening: float = 0.0,
                 weight_decay: float = 0.0, nesterov: bool = False, maximize: bool = False):
        self.lr = checks.number("lr", lr, low=0)
        self.momentum = checks.number("momentum", momentum, low=0)
        self.dampening = checks.number("dampening", dampening, low=0)
        self.weight_decay = checks.number("weight_decay", weight_decay, low=0)
        self.nesterov = bool(nesterov)
        self.maximize = bool(maximize)
        if self.nesterov and (self.momentum <= 0 or self.dampening != 0):
            raise ParameterError("Nesterov momentum requires a momentum and zero dampening")

    def init(self, params: np.ndarray) -> State:
        state: State = {"step": 0}
        if self.momentum != 0:
            state["momentum_buffer"] = np.zeros_like(params)
        return state

    def step(self, params, grad, state, lr, momentum=None):
        mu = self.momentum if momentum is None else momentum
        w1, w2 = self._scratch(params)
        g = self._decayed(params, self._signed(grad), self.weight_decay)
        if mu != 0:
            buf = state.get("momentum_buffer")
            if buf is None:  # momentum switched on by a schedule: torch clones the gradient
                buf = state["momentum_buffer"] = np.array(g, copy=True)
            elif state["step"] == 0:
                buf[...] = g
            else:
                buf *= mu
                np.multiply(g, 1 - self.dampening, out=w1)
                buf += w1
            if self.nesterov:
                np.multiply(buf, mu, out=w1)
                g = np.add(g, w1, out=w1)
            else:
                g = buf
        state["step"] += 1
        np.multiply(g, lr, out=w2)
        params -= w2


class Adam(Rule):
    r"""Adam (Kingma & Ba), optionally AMSGrad; AdamW's decoupled decay as an option.

    As ``torch.optim.Adam`` / ``torch.optim.AdamW``:

    .. math::
        \theta &\leftarrow \theta(1 - \gamma\lambda) \quad\text{(decoupled, AdamW)}
            \quad\text{or}\quad
        g \leftarrow g_t + \lambda\theta \quad\text{(Adam)} \\
        m_t &\leftarrow \beta_1 m_{t-1} + (1-\beta_1) g \\
        v_t &\leftarrow \beta_2 v_{t-1} + (1-\beta_2) g^2 \\
        \hat v_t &\leftarrow \max(\hat v_{t-1}, v_t) \quad\text{(amsgrad; else } \hat v_t = v_t) \\
        \theta &\leftarrow \theta - \frac{\gamma}{1-\beta_1^t}\,
            \frac{m_t}{\sqrt{\hat v_t}/\sqrt{1-\beta_2^t} + \epsilon}
    """

    name = "adam"
    hyper = ("lr", "betas", "eps", "weight_decay", "amsgrad", "maximize")
    momentum_kind = "beta1"
    decoupled = False

    def __init__(self, lr: float = 1e-3, betas: tuple[float, float] = (0.9, 0.999),
                 eps: float = 1e-8, weight_decay: float = 0.0, amsgrad: bool = False,
                 maximize: bool = False):
        self.lr = checks.number("lr", lr, low=0)
        self.betas = checks.pair("betas", betas, low=0, high=1, high_open=True)
        self.eps = checks.number("eps", eps, low=0)
        self.weight_decay = checks.number("weight_decay", weight_decay, low=0)
        self.amsgrad = bool(amsgrad)
        self.maximize = bool(maximize)

    def init(self, params: np.ndarray) -> State:
        state: State = {"step": 0, "exp_avg": np.zeros_like(params),
                        "exp_avg_sq": np.zeros_like(params)}
        if self.amsgrad:
            state["max_exp_avg_sq"] = np.zeros_like(params)
        return state

    def step(self, params, grad, state, lr, momentum=None):
        beta1, beta2 = self.betas
        if momentum is not None:
            beta1 = momentum
        g = self._signed(grad)
        state["step"] += 1
        t = state["step"]
        if self.weight_decay != 0:
            if self.decoupled:
                params *= 1 - lr * self.weight_decay
            else:
                g = g + self.weight_decay * params
        m, v = state["exp_avg"], state["exp_avg_sq"]
        w1, w2 = self._scratch(params)
        lerp(m, g, 1 - beta1, w1)
        v *= beta2
        np.multiply(g, 1 - beta2, out=w1)  # addcmul: (value * t1) * t2
        w1 *= g
        v += w1
        step_size = lr / (1 - beta1 ** t)
        bc2_sqrt = (1 - beta2 ** t) ** 0.5
        if self.amsgrad:
            vmax = state["max_exp_avg_sq"]
            np.maximum(vmax, v, out=vmax)
            v = vmax
        denom = np.sqrt(v, out=w1)
        denom /= bc2_sqrt
        denom += self.eps
        np.multiply(m, -step_size, out=w2)  # addcdiv: (value * t1) / t2
        w2 /= denom
        params += w2


class AdamW(Adam):
    r"""AdamW: Adam with decoupled weight decay :math:`\theta \leftarrow \theta(1-\gamma\lambda)`.

    Same as ``torch.optim.AdamW`` (default ``weight_decay=1e-2``). See :class:`Adam`.
    """

    name = "adamw"
    decoupled = True

    def __init__(self, lr: float = 1e-3, betas: tuple[float, float] = (0.9, 0.999),
                 eps: float = 1e-8, weight_decay: float = 1e-2, amsgrad: bool = False,
                 maximize: bool = False):
        super().__init__(lr, betas, eps, weight_decay, amsgrad, maximize)


class RMSprop(Rule):
    r"""RMSProp (Hinton), optionally centered and with momentum.

    As ``torch.optim.RMSprop``:

    .. math::
        g &\leftarrow g_t + \lambda\theta \\
        v_t &\leftarrow \alpha v_{t-1} + (1-\alpha) g^2 \\
        \bar g_t &\leftarrow \alpha \bar g_{t-1} + (1-\alpha) g \quad\text{(centered)} \\
        d &\leftarrow \sqrt{v_t - \bar g_t^2} + \epsilon
            \quad\text{(centered; else } \sqrt{v_t}+\epsilon) \\
        b_t &\leftarrow \mu b_{t-1} + g/d, \quad \theta \leftarrow \theta - \gamma b_t
        \quad\text{(momentum } \mu>0\text{; else } \theta \leftarrow \theta - \gamma g/d)
    """

    name = "rmsprop"
    hyper = ("lr", "alpha", "eps", "weight_decay", "momentum", "centered", "maximize")
    momentum_kind = "momentum"

    def __init__(self, lr: float = 1e-2, alpha: float = 0.99, eps: float = 1e-8,
                 weight_decay: float = 0.0, momentum: float = 0.0, centered: bool = False,
                 maximize: bool = False):
        self.lr = checks.number("lr", lr, low=0)
        self.alpha = checks.number("alpha", alpha, low=0)
        self.eps = checks.number("eps", eps, low=0)
        self.weight_decay = checks.number("weight_decay", weight_decay, low=0)
        self.momentum = checks.number("momentum", momentum, low=0)
        self.centered = bool(centered)
        self.maximize = bool(maximize)

    def init(self, params: np.ndarray) -> State:
        state: State = {"step": 0, "square_avg": np.zeros_like(params)}
        if self.momentum > 0:
            state["momentum_buffer"] = np.zeros_like(params)
        if self.centered:
            state["grad_avg"] = np.zeros_like(params)
        return state

    def step(self, params, grad, state, lr, momentum=None):
        mu = self.momentum if momentum is None else momentum
        g = self._decayed(params, self._signed(grad), self.weight_decay)
        state["step"] += 1
        sq = state["square_avg"]
        w1, w2 = self._scratch(params)
        sq *= self.alpha
        np.multiply(g, 1 - self.alpha, out=w1)
        w1 *= g
        sq += w1
        if self.centered:
            ga = state["grad_avg"]
            lerp(ga, g, 1 - self.alpha, w1)
            np.multiply(ga, ga, out=w1)
            avg = np.subtract(sq, w1, out=w1)
            np.sqrt(avg, out=avg)
        else:
            avg = np.sqrt(sq, out=w1)
        avg += self.eps
        if mu > 0:
            buf = state.get("momentum_buffer")
            if buf is None:  # momentum switched on by a schedule
                buf = state["momentum_buffer"] = np.zeros_like(params)
            buf *= mu
            np.divide(g, avg, out=w2)  # addcdiv with value 1
            buf += w2
            np.multiply(buf, lr, out=w2)
            params -= w2
        else:
            np.multiply(g, -lr, out=w2)
            w2 /= avg
            params += w2


class Adagrad(Rule):
    r"""AdaGrad (Duchi et al.) with learning-rate decay.

    As ``torch.optim.Adagrad``:

    .. math::
        g &\leftarrow g_t + \lambda\theta \\
        \tilde\gamma &\leftarrow \gamma / (1 + (t-1)\eta) \\
        s_t &\leftarrow s_{t-1} + g^2 \quad (s_0 = \text{initial\_accumulator\_value}) \\
        \theta &\leftarrow \theta - \tilde\gamma\, g / (\sqrt{s_t} + \epsilon)

    with ``lr_decay`` :math:`\eta`.
    """

    name = "adagrad"
    hyper = ("lr", "lr_decay", "weight_decay", "initial_accumulator_value", "eps", "maximize")

    def __init__(self, lr: float = 1e-2, lr_decay: float = 0.0, weight_decay: float = 0.0,
                 initial_accumulator_value: float = 0.0, eps: float = 1e-10,
                 maximize: bool = False):
        self.lr = checks.number("lr", lr, low=0)
        self.lr_decay = checks.number("lr_decay", lr_decay, low=0)
        self.weight_decay = checks.number("weight_decay", weight_decay, low=0)
        self.initial_accumulator_value = checks.number("initial_accumulator_value",
                                                       initial_accumulator_value, low=0)
        self.eps = checks.number("eps", eps, low=0)
        self.maximize = bool(maximize)

    def init(self, params: np.ndarray) -> State:
        return {"step": 0, "sum": np.full_like(params, self.initial_accumulator_value)}

    def step(self, params, grad, state, lr):
        state["step"] += 1
        g = self._decayed(params, self._signed(grad), self.weight_decay)
        clr = lr / (1 + (state["step"] - 1) * self.lr_decay)
        s = state["sum"]
        w1, w2 = self._scratch(params)
        np.multiply(g, g, out=w1)
        s += w1
        std = np.sqrt(s, out=w1)
        std += self.eps
        np.multiply(g, -clr, out=w2)
        w2 /= std
        params += w2


class Adadelta(Rule):
    r"""Adadelta (Zeiler), as ``torch.optim.Adadelta``:

    .. math::
        g &\leftarrow g_t + \lambda\theta \\
        v_t &\leftarrow \rho v_{t-1} + (1-\rho) g^2 \\
        \Delta &\leftarrow \frac{\sqrt{u_{t-1} + \epsilon}}{\sqrt{v_t + \epsilon}}\, g \\
        u_t &\leftarrow \rho u_{t-1} + (1-\rho) \Delta^2 \\
        \theta &\leftarrow \theta - \gamma \Delta

    (``square_avg`` :math:`v`, ``acc_delta`` :math:`u`).
    """

    name = "adadelta"
    hyper = ("lr", "rho", "eps", "weight_decay", "maximize")

    def __init__(self, lr: float = 1.0, rho: float = 0.9, eps: float = 1e-6,
                 weight_decay: float = 0.0, maximize: bool = False):
        self.lr = checks.number("lr", lr, low=0)
        self.rho = checks.number("rho", rho, low=0, high=1)
        self.eps = checks.number("eps", eps, low=0)
        self.weight_decay = checks.number("weight_decay", weight_decay, low=0)
        self.maximize = bool(maximize)

    def init(self, params):
        return {"step": 0, "square_avg": np.zeros_like(params),
                "acc_delta": np.zeros_like(params)}

    def step(self, params, grad, state, lr):
        state["step"] += 1
        g = self._decayed(params, self._signed(grad), self.weight_decay)
        rho = self.rho
        sq, acc = state["square_avg"], state["acc_delta"]
        w1, w2 = self._scratch(params)
        sq *= rho
        addcmul(sq, 1 - rho, g, g, w1)
        std = np.add(sq, self.eps, out=w1)
        np.sqrt(std, out=std)
        delta = np.add(acc, self.eps, out=w2)
        np.sqrt(delta, out=delta)
        delta /= std
        delta *= g
        acc *= rho
        addcmul(acc, 1 - rho, delta, delta, w1)
        delta *= lr
        params -= delta


class Adamax(Rule):
    r"""Adamax (Kingma & Ba: Adam with the infinity norm), as ``torch.optim.Adamax``:

    .. math::
        g &\leftarrow g_t + \lambda\theta \\
        m_t &\leftarrow \beta_1 m_{t-1} + (1-\beta_1) g \\
        u_t &\leftarrow \max(\beta_2 u_{t-1}, |g| + \epsilon) \\
        \theta &\leftarrow \theta - \frac{\gamma}{1-\beta_1^t}\, \frac{m_t}{u_t}

    (``exp_avg`` :math:`m`, ``exp_inf`` :math:`u`).
    """

    name = "adamax"
    hyper = ("lr", "betas", "eps", "weight_decay", "maximize")
    momentum_kind = "beta1"

    def __init__(self, lr: float = 2e-3, betas: tuple[float, float] = (0.9, 0.999),
                 eps: float = 1e-8, weight_decay: float = 0.0, maximize: bool = False):
        self.lr = checks.number("lr", lr, low=0)
        self.betas = checks.pair("betas", betas, low=0, high=1, high_open=True)
        self.eps = checks.number("eps", eps, low=0)
        self.weight_decay = checks.number("weight_decay", weight_decay, low=0)
        self.maximize = bool(maximize)

    def init(self, params):
        return {"step": 0, "exp_avg": np.zeros_like(params), "exp_inf": np.zeros_like(params)}

    def step(self, params, grad, state, lr, momentum=None):
        beta1, beta2 = self.betas
        if momentum is not None:
            beta1 = momentum
        g = self._signed(grad)
        state["step"] += 1
        g = self._decayed(params, g, self.weight_decay)
        m, u = state["exp_avg"], state["exp_inf"]
        w1, w2 = self._scratch(params)
        lerp(m, g, 1 - beta1, w1)
        u *= beta2
        np.abs(g, out=w1)
        w1 += self.eps
        np.maximum(u, w1, out=u)
        clr = lr / (1 - beta1 ** state["step"])
        np.multiply(m, -clr, out=w2)  # addcdiv: (value * t1) / t2
        w2 /= u
        params += w2


class NAdam(Rule):
    r"""NAdam (Dozat: Adam with Nesterov momentum), as ``torch.optim.NAdam``:

    .. math::
        \mu_t &= \beta_1\,(1 - \tfrac12\, 0.96^{t\psi}), \quad
        \mu_{t+1} = \beta_1\,(1 - \tfrac12\, 0.96^{(t+1)\psi}), \quad
        \Pi_t = \textstyle\prod_{i \le t} \mu_i \\
        \theta &\leftarrow \theta(1 - \gamma\lambda) \quad\text{(decoupled)} \quad\text{or}\quad
        g \leftarrow g_t + \lambda\theta \\
        m_t &\leftarrow \beta_1 m_{t-1} + (1-\beta_1) g, \quad
        v_t \leftarrow \beta_2 v_{t-1} + (1-\beta_2) g^2 \\
        d &\leftarrow \sqrt{v_t / (1-\beta_2^t)} + \epsilon \\
        \theta &\leftarrow \theta - \frac{\gamma (1-\mu_t)}{1-\Pi_t}\,\frac{g}{d}
            - \frac{\gamma \mu_{t+1}}{1-\Pi_t\mu_{t+1}}\,\frac{m_t}{d}

    with ``momentum_decay`` :math:`\psi`; the product :math:`\Pi_t` is the state's
    ``mu_product``.
    """

    name = "nadam"
    hyper = ("lr", "betas", "eps", "weight_decay", "momentum_decay", "decoupled_weight_decay",
             "maximize")
    momentum_kind = "beta1"

    def __init__(self, lr: float = 2e-3, betas: tuple[float, float] = (0.9, 0.999),
                 eps: float = 1e-8, weight_decay: float = 0.0, momentum_decay: float = 4e-3,
                 decoupled_weight_decay: bool = False, maximize: bool = False):
        self.lr = checks.number("lr", lr, low=0)
        self.betas = checks.pair("betas", betas, low=0, high=1, high_open=True)
        self.eps = checks.number("eps", eps, low=0)
        self.weight_decay = checks.number("weight_decay", weight_decay, low=0)
        self.momentum_decay = checks.number("momentum_decay", momentum_decay, low=0)
        self.decoupled_weight_decay = checks.flag("decoupled_weight_decay",
                                                  decoupled_weight_decay)
        self.maximize = bool(maximize)

    def init(self, params):
        return {"step": 0, "mu_product": 1.0, "exp_avg": np.zeros_like(params),
                "exp_avg_sq": np.zeros_like(params)}

    def step(self, params, grad, state, lr, momentum=None):
        beta1, beta2 = self.betas
        if momentum is not None:
            beta1 = momentum
        g = self._signed(grad)
        state["step"] += 1
        t = state["step"]
        bias_correction2 = 1 - beta2 ** t
        g = _weight_decay(self, params, g, lr)
        mu = beta1 * (1.0 - 0.5 * (0.96 ** (t * self.momentum_decay)))
        mu_next = beta1 * (1.0 - 0.5 * (0.96 ** ((t + 1) * self.momentum_decay)))
        mu_product = state["mu_product"] = float(state["mu_product"]) * mu
        m, v = state["exp_avg"], state["exp_avg_sq"]
        w1, w2 = self._scratch(params)
        lerp(m, g, 1 - beta1, w1)
        v *= beta2
        addcmul(v, 1 - beta2, g, g, w1)
        denom = np.divide(v, bias_correction2, out=w1)
        np.sqrt(denom, out=denom)
        mu_product_next = mu_product * mu_next
        denom += self.eps
        np.multiply(g, -lr * (1.0 - mu) / (1.0 - mu_product), out=w2)
        w2 /= denom
        params += w2
        np.multiply(m, (-lr * mu_next) / (1.0 - mu_product_next), out=w2)
        w2 /= denom
        params += w2


class RAdam(Rule):
    r"""RAdam (Liu et al.: Adam with a rectified adaptive rate), as ``torch.optim.RAdam``:

    .. math::
        m_t, v_t &\text{ as in Adam}, \quad
        \rho_\infty = \frac{2}{1-\beta_2} - 1, \quad
        \rho_t = \rho_\infty - \frac{2 t \beta_2^t}{1-\beta_2^t} \\
        \hat m_t &= m_t / (1-\beta_1^t) \\
        \theta &\leftarrow \theta - \gamma\, \hat m_t\, \frac{\sqrt{1-\beta_2^t}}{\sqrt{v_t}
            + \epsilon}\, r_t \quad\text{when } \rho_t > 5, \quad
        r_t = \sqrt{\frac{(\rho_t-4)(\rho_t-2)\rho_\infty}{(\rho_\infty-4)(\rho_\infty-2)\rho_t}} \\
        \theta &\leftarrow \theta - \gamma\, \hat m_t \quad\text{otherwise}

    Weight decay is L2 (``g + λθ``) or, with ``decoupled_weight_decay``, AdamW's
    :math:`\theta(1-\gamma\lambda)`.
    """

    name = "radam"
    hyper = ("lr", "betas", "eps", "weight_decay", "decoupled_weight_decay", "maximize")
    momentum_kind = "beta1"

    def __init__(self, lr: float = 1e-3, betas: tuple[float, float] = (0.9, 0.999),
                 eps: float = 1e-8, weight_decay: float = 0.0,
                 decoupled_weight_decay: bool = False, maximize: bool = False):
        self.lr = checks.number("lr", lr, low=0)
        self.betas = checks.pair("betas", betas, low=0, high=1, high_open=True)
        self.eps = checks.number("eps", eps, low=0)
        self.weight_decay = checks.number("weight_decay", weight_decay, low=0)
        self.decoupled_weight_decay = checks.flag("decoupled_weight_decay",
                                                  decoupled_weight_decay)
        self.maximize = bool(maximize)

    def init(self, params):
        return {"step": 0, "exp_avg": np.zeros_like(params), "exp_avg_sq": np.zeros_like(params)}

    def step(self, params, grad, state, lr, momentum=None):
        beta1, beta2 = self.betas
        if momentum is not None:
            beta1 = momentum
        g = self._signed(grad)
        state["step"] += 1
        t = state["step"]
        g = _weight_decay(self, params, g, lr)
        m, v = state["exp_avg"], state["exp_avg_sq"]
        w1, w2 = self._scratch(params)
        lerp(m, g, 1 - beta1, w1)
        v *= beta2
        addcmul(v, 1 - beta2, g, g, w1)
        bias_correction1 = 1 - beta1 ** t
        bias_correction2 = 1 - beta2 ** t
        upd = np.divide(m, bias_correction1, out=w2)  # the bias-corrected exp_avg
        rho_inf = 2 / (1 - beta2) - 1
        rho_t = rho_inf - 2 * t * (beta2 ** t) / bias_correction2
        upd *= lr
        if rho_t > 5.0:
            rect = ((rho_t - 4) * (rho_t - 2) * rho_inf
                    / ((rho_inf - 4) * (rho_inf - 2) * rho_t)) ** 0.5
            adaptive = np.sqrt(v, out=w1)
            adaptive += self.eps
            np.divide(bias_correction2 ** 0.5, adaptive, out=adaptive)
            upd *= adaptive
            upd *= rect
        params -= upd


class Rprop(Rule):
    r"""Resilient backpropagation (Riedmiller & Braun), as ``torch.optim.Rprop``.

    Each coordinate has its own step size :math:`\delta` (``step_size``, starting at the
    learning rate of the first step) that only the *sign* of the gradient moves:

    .. math::
        \delta &\leftarrow \operatorname{clip}(\delta\,\eta, \delta_{min}, \delta_{max}),
        \quad \eta = \begin{cases} \eta_+ & g\,g_{prev} > 0 \\ \eta_- & g\,g_{prev} < 0
        \\ 1 & \text{otherwise} \end{cases} \\
        g &\leftarrow 0 \quad\text{where } \eta = \eta_- \\
        \theta &\leftarrow \theta - \operatorname{sign}(g)\,\delta, \quad g_{prev} \leftarrow g

    with ``etas`` :math:`(\eta_-, \eta_+)` and ``step_sizes`` :math:`(\delta_{min},
    \delta_{max})`. Like PyTorch, later changes of the learning rate (a schedule) do not
    move the step sizes.
    """

    name = "rprop"
    hyper = ("lr", "etas", "step_sizes", "maximize")

    def __init__(self, lr: float = 1e-2, etas: tuple[float, float] = (0.5, 1.2),
                 step_sizes: tuple[float, float] = (1e-6, 50), maximize: bool = False):
        self.lr = checks.number("lr", lr, low=0)
        etas = checks.pair("etas", etas, low=0, low_open=True)
        if not etas[0] < 1.0 < etas[1]:
            raise ParameterError(f"etas must be (etaminus, etaplus) with 0 < etaminus < 1 < "
                                 f"etaplus, got {etas!r}")
        self.etas = etas
        self.step_sizes = checks.pair("step_sizes", step_sizes, low=0)
        if self.step_sizes[0] > self.step_sizes[1]:
            raise ParameterError(f"step_sizes must be (min, max) with min <= max, got "
                                 f"{step_sizes!r}")
        self.maximize = bool(maximize)

    def init(self, params):
        return {"step": 0, "prev": np.zeros_like(params),
                "step_size": np.full_like(params, self.lr)}

    def step(self, params, grad, state, lr):
        etaminus, etaplus = self.etas
        g = np.array(self._signed(grad), copy=True)
        prev, step_size = state["prev"], state["step_size"]
        if state["step"] == 0:  # torch fills the step sizes with the lr of the first step
            step_size[...] = lr
        state["step"] += 1
        w1, w2 = self._scratch(params)
        sign = np.multiply(g, prev, out=w1)
        np.sign(sign, out=sign)
        factor = np.where(sign > 0, etaplus, np.where(sign < 0, etaminus,
                                                      np.where(sign == 0, 1.0, sign)))
        step_size *= factor
        np.clip(step_size, self.step_sizes[0], self.step_sizes[1], out=step_size)
        g[factor == etaminus] = 0
        np.sign(g, out=w2)
        w2 *= -1  # addcmul(sign(g), step_size, value=-1)
        w2 *= step_size
        params += w2
        prev[...] = g


class ASGD(Rule):
    r"""Averaged SGD (Polyak & Juditsky), as ``torch.optim.ASGD``:

    .. math::
        g &\leftarrow g_t + \lambda_w\theta \\
        \theta &\leftarrow \theta(1 - \lambda\eta_t) - \eta_t\, g \\
        \bar\theta &\leftarrow \bar\theta + \mu_t(\theta - \bar\theta)
            \quad(\bar\theta \leftarrow \theta \text{ while } \mu_t = 1) \\
        \eta_{t+1} &= \frac{\gamma}{(1 + \lambda\gamma t)^\alpha}, \quad
        \mu_{t+1} = \frac{1}{\max(1, t - t_0)}

    with ``lambd`` :math:`\lambda`, ``alpha`` :math:`\alpha`, ``t0`` :math:`t_0`,
    ``weight_decay`` :math:`\lambda_w`; :math:`\eta_1` is the learning rate of the first
    step. The state keeps ``eta``, ``mu`` and the averaged iterate ``ax``
    (:math:`\bar\theta`); averaging starts after ``t0`` steps.

    The averaged iterate is what ASGD is for: :meth:`averaged` returns it from a state
    (the loop's ``LoopOutput.state.rule_state``, a training result's
    ``extra["rule_state"]``, an estimator's optimizer state), so an estimator or a caller
    can take ``rule.averaged(state)`` as the final weights instead of the last iterate.
    """

    name = "asgd"
    hyper = ("lr", "lambd", "alpha", "t0", "weight_decay", "maximize")

    def __init__(self, lr: float = 1e-2, lambd: float = 1e-4, alpha: float = 0.75,
                 t0: float = 1e6, weight_decay: float = 0.0, maximize: bool = False):
        self.lr = checks.number("lr", lr, low=0)
        self.lambd = checks.number("lambd", lambd, low=0)
        self.alpha = checks.number("alpha", alpha, low=0)
        self.t0 = checks.number("t0", t0, low=0)
        self.weight_decay = checks.number("weight_decay", weight_decay, low=0)
        self.maximize = bool(maximize)

    def init(self, params):
        return {"step": 0, "eta": self.lr, "mu": 1.0, "ax": np.zeros_like(params)}

    def step(self, params, grad, state, lr):
        if state["step"] == 0:  # torch starts eta at the lr of the first step
            state["eta"] = lr
        state["step"] += 1
        t = state["step"]
        g = self._decayed(params, self._signed(grad), self.weight_decay)
        eta, mu = float(state["eta"]), float(state["mu"])
        w1, w2 = self._scratch(params)
        params *= 1 - self.lambd * eta
        np.multiply(g, eta, out=w1)
        params -= w1
        ax = state["ax"]
        if mu != 1:
            np.subtract(params, ax, out=w2)
            w2 *= mu
            ax += w2
        else:
            ax[...] = params
        state["eta"] = lr / ((1 + self.lambd * lr * t) ** self.alpha)
        state["mu"] = 1 / max(1, t - self.t0)

    def averaged(self, state: State) -> np.ndarray:
        """The averaged iterate ``ax`` of ``state`` (a copy; rows as the parameters). Before
        the first step it is all zeros, as in PyTorch."""
        return np.array(state["ax"], copy=True)


def _weight_decay(rule: Any, params: np.ndarray, g: np.ndarray, lr: float) -> np.ndarray:
    """NAdam's and RAdam's weight decay: AdamW's ``θ(1 - γλ)`` in place when decoupled, else
    the L2 gradient ``g + λθ``."""
    if rule.weight_decay == 0:
        return g
    if rule.decoupled_weight_decay:
        params *= 1 - lr * rule.weight_decay
        return g
    return g + rule.weight_decay * params


#: optimizer names accepted wherever an optimizer is named (CLI, estimators, ``minimize``)
_NAMED: dict[str, tuple[type[Rule], dict[str, Any]]] = {
    "sgd": (SGD, {}),
    "gd": (SGD, {}),
    "momentum": (SGD, {"momentum": 0.9}),
    "nesterov": (SGD, {"momentum": 0.9, "nesterov": True}),
    "adam": (Adam, {}),
    "adamw": (AdamW, {}),
    "rmsprop": (RMSprop, {}),
    "adagrad": (Adagrad, {}),
    "adadelta": (Adadelta, {}),
    "adamax": (Adamax, {}),
    "nadam": (NAdam, {}),
    "radam": (RAdam, {}),
    "rprop": (Rprop, {}),
    "asgd": (ASGD, {}),
    "lbfgs": (LBFGS, {}),
}

OPTIMIZERS = tuple(_NAMED)


def sgd(lr: float = 1e-3, momentum: float = 0.0, dampening: float = 0.0,
        weight_decay: float = 0.0, nesterov: bool = False, maximize: bool = False) -> SGD:
    """Gradient descent / SGD with optional (Nesterov) momentum, as ``torch.optim.SGD``."""
    return SGD(lr, momentum, dampening, weight_decay, nesterov, maximize)


def adam(lr: float = 1e-3, betas: tuple[float, float] = (0.9, 0.999), eps: float = 1e-8,
         weight_decay: float = 0.0, amsgrad: bool = False, maximize: bool = False) -> Adam:
    """Adam, as ``torch.optim.Adam``."""
    return Adam(lr, betas, eps, weight_decay, amsgrad, maximize)


def adamw(lr: float = 1e-3, betas: tuple[float, float] = (0.9, 0.999), eps: float = 1e-8,
          weight_decay: float = 1e-2, amsgrad: bool = False, maximize: bool = False) -> AdamW:
    """AdamW (decoupled weight decay), as ``torch.optim.AdamW``."""
    return AdamW(lr, betas, eps, weight_decay, amsgrad, maximize)


def rmsprop(lr: float = 1e-2, alpha: float = 0.99, eps: float = 1e-8, weight_decay: float = 0.0,
            momentum: float = 0.0, centered: bool = False, maximize: bool = False) -> RMSprop:
    """RMSProp, as ``torch.optim.RMSprop``."""
    return RMSprop(lr, alpha, eps, weight_decay, momentum, centered, maximize)


def adagrad(lr: float = 1e-2, lr_decay: float = 0.0, weight_decay: float = 0.0,
            initial_accumulator_value: float = 0.0, eps: float = 1e-10,
            maximize: bool = False) -> Adagrad:
    """AdaGrad, as ``torch.optim.Adagrad``."""
    return Adagrad(lr, lr_decay, weight_decay, initial_accumulator_value, eps, maximize)


def adadelta(lr: float = 1.0, rho: float = 0.9, eps: float = 1e-6, weight_decay: float = 0.0,
             maximize: bool = False) -> Adadelta:
    """Adadelta, as ``torch.optim.Adadelta``."""
    return Adadelta(lr, rho, eps, weight_decay, maximize)


def adamax(lr: float = 2e-3, betas: tuple[float, float] = (0.9, 0.999), eps: float = 1e-8,
           weight_decay: float = 0.0, maximize: bool = False) -> Adamax:
    """Adamax, as ``torch.optim.Adamax``."""
    return Adamax(lr, betas, eps, weight_decay, maximize)


def nadam(lr: float = 2e-3, betas: tuple[float, float] = (0.9, 0.999), eps: float = 1e-8,
          weight_decay: float = 0.0, momentum_decay: float = 4e-3,
          decoupled_weight_decay: bool = False, maximize: bool = False) -> NAdam:
    """NAdam, as ``torch.optim.NAdam``."""
    return NAdam(lr, betas, eps, weight_decay, momentum_decay, decoupled_weight_decay, maximize)


def radam(lr: float = 1e-3, betas: tuple[float, float] = (0.9, 0.999), eps: float = 1e-8,
          weight_decay: float = 0.0, decoupled_weight_decay: bool = False,
          maximize: bool = False) -> RAdam:
    """RAdam, as ``torch.optim.RAdam``."""
    return RAdam(lr, betas, eps, weight_decay, decoupled_weight_decay, maximize)


def rprop(lr: float = 1e-2, etas: tuple[float, float] = (0.5, 1.2),
          step_sizes: tuple[float, float] = (1e-6, 50), maximize: bool = False) -> Rprop:
    """Rprop, as ``torch.optim.Rprop``."""
    return Rprop(lr, etas, step_sizes, maximize)


def asgd(lr: float = 1e-2, lambd: float = 1e-4, alpha: float = 0.75, t0: float = 1e6,
         weight_decay: float = 0.0, maximize: bool = False) -> ASGD:
    """Averaged SGD, as ``torch.optim.ASGD`` (the averaged iterate: ``ASGD.averaged``)."""
    return ASGD(lr, lambd, alpha, t0, weight_decay, maximize)


#: keyword names people try for an option that has another name here
_OPTION_ALIASES = {"learning_rate": "lr", "step_size": "lr", "rate": "lr", "beta1": "betas",
                   "beta2": "betas", "decay": "weight_decay", "epsilon": "eps"}


def make_rule(optimizer: str | Rule | None, lr: float | None = None, maximize: bool = False,
              **options: Any) -> Rule:
    """Build a rule from a name (``"sgd"``, ``"momentum"``, ``"nesterov"``, ``"adam"``, …,
    ``"lbfgs"``; :data:`OPTIMIZERS` lists them) or
    take a given :class:`Rule` (``lr``/``options`` then must not be given).

    ``lr=None`` takes PyTorch's default for that optimizer. ``options`` are the
    optimizer's own keyword arguments (``momentum=0.9``, ``betas=(0.9, 0.99)``, …);
    options set to ``None`` are ignored. Unknown names or options raise
    :class:`~gdlab.errors.ParameterError` with a "did you mean".

    ``maximize`` is the run's direction. A rule object built with PyTorch's default
    ``maximize=False`` is copied with ``maximize=True`` for an ascent; one built with
    ``maximize=True`` for a descent is refused (the settings contradict each other).
    """
    options = {k: v for k, v in options.items() if v is not None}
    if isinstance(optimizer, Rule):
        if lr is not None or options:
            raise ParameterError("give lr and optimizer options to the optimizer object itself, "
                                 "not beside it")
        if maximize and not optimizer.maximize:
            flipped = copy.copy(optimizer)
            flipped.maximize = True
            return flipped
        if optimizer.maximize and not maximize:
            raise ParameterError(f"the optimizer {optimizer!r} was built with maximize=True, "
                                 f"but this run minimizes: use maximize(), or build the "
                                 f"optimizer without maximize=True")
        return optimizer
    name = "sgd" if optimizer is None else str(optimizer).strip().lower()
    if name not in _NAMED:
        close = difflib.get_close_matches(name, _NAMED, n=1)
        hint = f"; did you mean {close[0]!r}?" if close else ""
        raise ParameterError(f"unknown optimizer {optimizer!r}: choose one of "
                             f"{', '.join(OPTIMIZERS)}{hint}")
    cls, preset = _NAMED[name]
    kwargs = {**preset, **options}
    if lr is not None:
        kwargs["lr"] = lr
    if maximize:
        kwargs["maximize"] = True
    check_options(name, cls, kwargs)
    return cls(**kwargs)


def check_options(name: str, cls: type[Rule], options: dict[str, Any]) -> None:
    """Refuse options that optimizer ``name`` (class ``cls``) does not have, saying which
    it has and which one was probably meant."""
    allowed = set(inspect.signature(cls).parameters) - {"self"}
    unknown = sorted(set(options) - allowed)
    if not unknown:
        return
    raise ParameterError(f"optimizer {name!r} has no option {', '.join(unknown)}"
                         f"{guess_names(unknown, allowed)}: its options are "
                         f"{', '.join(sorted(allowed))}")


def guess_names(unknown: Sequence[str], allowed: Iterable[str]) -> str:
    """`` (did you mean lr instead of learning_rate?)`` for the unknown names that resemble
    an allowed one (Keras' and scikit-learn's spellings of PyTorch's names included), or
    ``""``."""
    names = sorted(allowed)
    hints = []
    for k in unknown:
        guess = _OPTION_ALIASES.get(k) or next(iter(difflib.get_close_matches(k, names, n=1)),
                                                None)
        if guess in names:
            hints.append(f"{guess} instead of {k}")
    return f" (did you mean {', '.join(hints)}?)" if hints else ""
