r"""Update rules with PyTorch's names, defaults and formulas, step for step.

Each rule is a small object with two methods, PyTorch's ``optimizer.step()`` split from
its state:

``init(params) -> state``
    a dict of arrays shaped like ``params`` plus an integer ``"step"``;
``step(params, grad, state, lr) -> None``
    updates ``params`` and ``state`` **in place** with the learning rate ``lr``
    of this step (the schedule's value; the rule's own ``lr`` is the base).

A rule is a :class:`~gdlab.optim.stepper.Stepper`: the descent loop evaluates the
gradient and calls ``update``, which is ``step`` with the schedule's rate.

``params`` may be one flat vector (a model) or a 2-D array ``(n_starts, d)``
(many starting points at once): every formula is elementwise, so each row is
its own run. The dtype of ``params`` is kept (float32 stays float32).

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
from typing import Any

import numpy as np

from .. import checks
from ..errors import ParameterError
from .stepper import Evaluation, State, StepContext, Stepper


class Rule(Stepper):
    """Base class: an update rule with hyper-parameters and a base learning rate.

    Subclasses implement ``init`` and ``step``; the loop's ``update`` calls ``step`` with
    the gradient of the evaluation and the schedule's learning rate."""

    name = "rule"
    #: names of the hyper-parameters, in signature order (for repr, JSON and checkpoints)
    hyper: tuple[str, ...] = ()

    lr: float
    maximize: bool

    def step(self, params: np.ndarray, grad: np.ndarray, state: State, lr: float) -> None:
        """One update of ``params`` and ``state`` in place, as ``torch.optim``'s ``step()``
        with learning rate ``lr``."""
        raise NotImplementedError

    def update(self, x: np.ndarray, ev: Evaluation, state: State, ctx: StepContext) -> None:
        assert ev.g is not None  # Stepper.evaluate always returns the gradient
        # an overflow here shows as a non-finite point at the next evaluation: "diverged"
        with np.errstate(over="ignore", invalid="ignore", divide="ignore"):
            self.step(x, ev.g, state, ctx.lr)

    def _scratch(self, like: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Two work arrays shaped like the parameters, kept between steps: the updates below
        write their temporaries here instead of allocating several arrays per step (the same
        operations in the same order, so the numbers do not change)."""
        key = (like.shape, like.dtype.str)
        bufs = self.__dict__.setdefault("_bufs", {})
        pair = bufs.get(key)
        if pair is None:
            bufs.clear()
            pair = bufs[key] = (np.empty_like(like), np.empty_like(like))
        return pair

    def __getstate__(self) -> dict[str, Any]:
        return {k: v for k, v in self.__dict__.items() if k != "_bufs"}

    def _signed(self, grad: np.ndarray) -> np.ndarray:
        return -grad if self.maximize else grad

    def _decayed(self, params: np.ndarray, grad: np.ndarray, weight_decay: float) -> np.ndarray:
        # torch: grad = grad.add(param, alpha=weight_decay)
        return grad + weight_decay * params if weight_decay != 0 else grad

    def config(self) -> dict[str, Any]:
        """The hyper-parameters as plain JSON values (``name`` included)."""
        out: dict[str, Any] = {"name": self.name}
        for k in self.hyper:
            v = getattr(self, k)
            out[k] = list(v) if isinstance(v, tuple) else v
        return out

    def __repr__(self) -> str:
        args = ", ".join(f"{k}={getattr(self, k)!r}" for k in self.hyper)
        return f"{self.name}({args})"


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
    (``momentum=0``) is the lecture's ``x = x - lr * grad``.
    """

    name = "sgd"
    hyper = ("lr", "momentum", "dampening", "weight_decay", "nesterov", "maximize")

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

    def step(self, params, grad, state, lr):
        w1, w2 = self._scratch(params)
        g = self._decayed(params, self._signed(grad), self.weight_decay)
        if self.momentum != 0:
            buf = state["momentum_buffer"]
            if state["step"] == 0:
                buf[...] = g
            else:
                buf *= self.momentum
                np.multiply(g, 1 - self.dampening, out=w1)
                buf += w1
            if self.nesterov:
                np.multiply(buf, self.momentum, out=w1)
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

    def step(self, params, grad, state, lr):
        beta1, beta2 = self.betas
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
        _lerp(m, g, 1 - beta1, w1)
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

    def step(self, params, grad, state, lr):
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
            _lerp(ga, g, 1 - self.alpha, w1)
            np.multiply(ga, ga, out=w1)
            avg = np.subtract(sq, w1, out=w1)
            np.sqrt(avg, out=avg)
        else:
            avg = np.sqrt(sq, out=w1)
        avg += self.eps
        if self.momentum > 0:
            buf = state["momentum_buffer"]
            buf *= self.momentum
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


def _lerp(a: np.ndarray, b: np.ndarray, w: float, work: np.ndarray) -> None:
    """``a.lerp_(b, w)`` exactly as torch computes it (two formulas split at w = 0.5);
    ``work`` is scratch space shaped like ``a``."""
    np.subtract(b, a, out=work)
    if abs(w) < 0.5:
        work *= w
        a += work
    else:
        work *= 1 - w
        np.subtract(b, work, out=a)


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


#: keyword names people try for an option that has another name here
_OPTION_ALIASES = {"learning_rate": "lr", "step_size": "lr", "rate": "lr", "beta1": "betas",
                   "beta2": "betas", "decay": "weight_decay", "epsilon": "eps"}


def make_rule(optimizer: str | Rule | None, lr: float | None = None, maximize: bool = False,
              **options: Any) -> Rule:
    """Build a rule from a name (``"sgd"``, ``"momentum"``, ``"nesterov"``, ``"adam"``, …) or
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
    allowed = set(inspect.signature(cls.__init__).parameters) - {"self"}
    unknown = sorted(set(options) - allowed)
    if not unknown:
        return
    hints = []
    for k in unknown:
        guess = _OPTION_ALIASES.get(k) or next(iter(difflib.get_close_matches(k, allowed, n=1)),
                                                None)
        if guess in allowed:
            hints.append(f"{guess} instead of {k}")
    hint = f" (did you mean {', '.join(hints)}?)" if hints else ""
    raise ParameterError(f"optimizer {name!r} has no option {', '.join(unknown)}{hint}: its "
                         f"options are {', '.join(sorted(allowed))}")
