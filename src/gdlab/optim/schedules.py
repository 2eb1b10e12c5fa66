r"""Learning-rate schedules: the learning rate of step ``t`` (0-based) from a base rate.

A schedule is a small object with ``lr(t, base_lr) -> float``. Each matches the
PyTorch scheduler of the same idea when ``scheduler.step()`` is called once
after every ``optimizer.step()``:

name: :math:`\gamma_t` (PyTorch)

``constant``
    :math:`\gamma_0` (none)
``step``
    :math:`\gamma_0\,\text{gamma}^{\lfloor t/\text{step\_size}\rfloor}` (``StepLR``)
``exponential``
    :math:`\gamma_0\,\text{gamma}^{t}` (``ExponentialLR``)
``inverse_time``
    :math:`\gamma_0 / (1 + \text{decay}\,t)` (``LambdaLR(lambda t: 1/(1+decay*t))``)
``cosine``
    :math:`\eta_{min} + (\gamma_0-\eta_{min})(1+\cos(\pi t/T))/2`
    (``CosineAnnealingLR``, see below)
``warmup``
    :math:`\gamma_0\,(s + (e-s)\min(t, n)/n)`
    (``LinearLR(start_factor=s, end_factor=e, total_iters=n)``)

PyTorch's ``CosineAnnealingLR`` keeps following the cosine past ``T_max`` (it rises
again, period ``2 T_max``); ``cosine`` does the same, so trajectories agree.

The schedule's state is just ``t``: checkpoints store the step count, and a
resumed run asks for the same rates.
"""

from __future__ import annotations

import math
from typing import Any

from .. import checks
from ..errors import ParameterError


class Schedule:
    """Base class of learning-rate schedules: the rate of step ``t`` from the base rate.

    A subclass sets ``name`` and ``params`` (its settings' attribute names, for ``config``
    and ``repr``) and implements ``lr(t, base_lr)``: the learning rate of the 0-based step
    ``t``, a pure function of ``t`` (so checkpoints need only the step count). The loop
    asks for it once per step and hands it to the stepper's update.
    """

    name = "schedule"
    params: tuple[str, ...] = ()

    def lr(self, t: int, base_lr: float) -> float:
        """The learning rate of step ``t`` (0-based) when the optimizer's rate is ``base_lr``."""
        raise NotImplementedError

    def config(self) -> dict[str, Any]:
        return {"name": self.name, **{k: getattr(self, k) for k in self.params}}

    def __repr__(self) -> str:
        args = ", ".join(f"{k}={getattr(self, k)!r}" for k in self.params)
        return f"{type(self).__name__}({args})"


class Constant(Schedule):
    """The base learning rate at every step."""

    name = "constant"

    def lr(self, t, base_lr):
        return base_lr


class StepDecay(Schedule):
    """Multiply the rate by ``gamma`` every ``step_size`` steps (``torch...StepLR``)."""

    name = "step"
    params = ("step_size", "gamma")

    def __init__(self, step_size: int = 100, gamma: float = 0.1):
        self.step_size = checks.count("step_size", step_size, minimum=1)
        self.gamma = checks.number("gamma", gamma, low=0, low_open=True)

    def lr(self, t, base_lr):
        return base_lr * self.gamma ** (t // self.step_size)


class Exponential(Schedule):
    """Multiply the rate by ``gamma`` every step (``torch...ExponentialLR``)."""

    name = "exponential"
    params = ("gamma",)

    def __init__(self, gamma: float = 0.99):
        self.gamma = checks.number("gamma", gamma, low=0, low_open=True)

    def lr(self, t, base_lr):
        return base_lr * self.gamma ** t


class InverseTime(Schedule):
    """``base_lr / (1 + decay * t)``: the Robbins–Monro schedule of classic SGD."""

    name = "inverse_time"
    params = ("decay",)

    def __init__(self, decay: float = 0.01):
        self.decay = checks.number("decay", decay, low=0)

    def lr(self, t, base_lr):
        return base_lr / (1 + self.decay * t)


class Cosine(Schedule):
    """Cosine annealing from the base rate to ``eta_min`` over ``T_max`` steps
    (``torch...CosineAnnealingLR``; past ``T_max`` the cosine continues, as in PyTorch)."""

    name = "cosine"
    params = ("T_max", "eta_min")

    def __init__(self, T_max: int = 1000, eta_min: float = 0.0):
        self.T_max = checks.count("T_max", T_max, minimum=1)
        self.eta_min = checks.number("eta_min", eta_min, low=0)

    def lr(self, t, base_lr):
        cos = math.cos(math.pi * t / self.T_max)
        return self.eta_min + (base_lr - self.eta_min) * (1 + cos) / 2


class Warmup(Schedule):
    """Linear warm-up: the rate grows from ``start_factor * base`` to ``end_factor * base``
    over ``total_iters`` steps, then stays (``torch...LinearLR``)."""

    name = "warmup"
    params = ("start_factor", "end_factor", "total_iters")

    def __init__(self, start_factor: float = 0.1, end_factor: float = 1.0, total_iters: int = 100):
        self.start_factor = checks.number("start_factor", start_factor, low=0, low_open=True)
        self.end_factor = checks.number("end_factor", end_factor, low=0)
        self.total_iters = checks.count("total_iters", total_iters, minimum=1)

    def lr(self, t, base_lr):
        frac = min(t, self.total_iters) / self.total_iters
        return base_lr * (self.start_factor + (self.end_factor - self.start_factor) * frac)


_SCHEDULES: dict[str, type[Schedule]] = {
    "constant": Constant, "step": StepDecay, "exponential": Exponential,
    "inverse_time": InverseTime, "cosine": Cosine, "warmup": Warmup,
}
#: aliases accepted by :func:`make_schedule`
_ALIASES = {"none": "constant", "inverse-time": "inverse_time", "inv_time": "inverse_time",
            "exp": "exponential", "linear": "warmup", "linear_warmup": "warmup"}

SCHEDULES = tuple(_SCHEDULES)


def make_schedule(schedule: str | Schedule | dict | None, **kwargs: Any) -> Schedule:
    """A schedule from a name plus keyword arguments, a config dict (``{"name": ..., ...}``),
    an existing :class:`Schedule`, or ``None`` (constant)."""
    if schedule is None:
        return Constant()
    if isinstance(schedule, Schedule):
        return schedule
    if isinstance(schedule, dict):
        kwargs = {**{k: v for k, v in schedule.items() if k != "name"}, **kwargs}
        schedule = schedule.get("name", "constant")
    key = str(schedule).strip().lower()
    key = _ALIASES.get(key, key)
    if key not in _SCHEDULES:
        raise ParameterError(f"unknown schedule {schedule!r}: choose one of {', '.join(SCHEDULES)}")
    cls = _SCHEDULES[key]
    try:
        return cls(**kwargs)
    except ParameterError:
        raise
    except TypeError:
        import inspect
        names = [p for p in inspect.signature(cls.__init__).parameters if p != "self"]
        raise ParameterError(f"schedule {key!r} takes {', '.join(names) or 'no options'}, "
                             f"got {', '.join(kwargs)}") from None
