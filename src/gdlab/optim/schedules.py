r"""Learning-rate schedules: the learning rate (and momentum) of step ``t`` (0-based).

The loop asks a schedule, once per step ``t``, for ``lr(t, base_lr)``: the learning rate of
that step when the optimizer's own rate is ``base_lr``. Each schedule matches the PyTorch
scheduler of the same idea when ``scheduler.step()`` is called once after every
``optimizer.step()`` (``scheduler.step(loss)`` for ``ReduceLROnPlateau``).

gdlab's short names, closed forms of a step count (their numbers never change):

================  ===================================================  ==============
name              :math:`\gamma_t`                                     PyTorch
================  ===================================================  ==============
``constant``      :math:`\gamma_0`                                     (none)
``step``          :math:`\gamma_0 g^{\lfloor t/s\rfloor}`              ``StepLR``
``exponential``   :math:`\gamma_0 g^{t}`                               ``ExponentialLR``
``inverse_time``  :math:`\gamma_0 / (1 + \text{decay}\,t)`             ``LambdaLR``
``cosine``        :math:`\eta + (\gamma_0-\eta)(1+\cos(\pi t/T))/2`    ``CosineAnnealingLR``
``warmup``        :math:`\gamma_0\,(a + (b-a)\min(t, n)/n)`            ``LinearLR``
================  ===================================================  ==============

(``gamma`` :math:`g`, ``step_size`` :math:`s`, ``eta_min`` :math:`\eta`, ``T_max``
:math:`T`; ``warmup`` is ``LinearLR(start_factor=a, end_factor=b, total_iters=n)`` with
other defaults, ``inverse_time`` is ``LambdaLR(lambda t: 1 / (1 + decay * t))``.)

PyTorch's ``CosineAnnealingLR`` keeps following the cosine past ``T_max`` (it rises
again, period ``2 T_max``); ``cosine`` does the same, so trajectories agree.

PyTorch's schedulers by their class names and keyword names (``make_schedule("StepLR",
step_size=30)``, ``{"name": "OneCycleLR", "max_lr": 0.1, "total_steps": 100}``):
``StepLR``, ``MultiStepLR``, ``ConstantLR``, ``LinearLR``, ``ExponentialLR``,
``PolynomialLR``, ``CosineAnnealingLR``, ``CosineAnnealingWarmRestarts``, ``CyclicLR``,
``OneCycleLR``, ``ReduceLROnPlateau``, ``SequentialLR`` and ``ChainedScheduler``. These
compute exactly what PyTorch's ``scheduler.step()`` computes. Most of PyTorch's schedulers
are *chainable*: ``get_lr`` multiplies the optimizer's current rate (``StepLR`` multiplies
by ``gamma`` at each multiple of ``step_size``, ``CosineAnnealingLR`` applies a ratio of
cosines), which differs by rounding from the closed forms (``_get_closed_form_lr``) that
``SequentialLR`` uses at its milestones. Each scheduler here is a small simulation of its
PyTorch class on one parameter group (``_Group``: ``lr``, ``initial_lr``, ``momentum``,
...): constructing it has the constructor's effects (the initial step, ``OneCycleLR``
overwriting ``initial_lr``, ``CyclicLR`` setting the rate to its ``base_lr``), and step
``t`` is ``t`` calls of ``step()``, recursions, closed forms and all, so composites
(``SequentialLR``, ``ChainedScheduler``) chain them as PyTorch does. The simulation runs
forward as the loop asks for later steps (it restarts only when asked for an earlier one),
so a run of ``n`` steps costs ``n`` scheduler steps.

The protocol
------------

``lr(t, base_lr) -> float``
    The learning rate of step ``t``. For every schedule but ``ReduceLROnPlateau`` a pure
    function of ``(t, base_lr)``: checkpoints need only the step count.
``momentum(t) -> float | None``
    The momentum of step ``t`` that the schedule imposes, or ``None`` (the optimizer's
    own). ``OneCycleLR`` and ``CyclicLR`` with ``cycle_momentum=True`` (their default)
    cycle it, as PyTorch does: SGD and RMSprop read it as their ``momentum``, the Adam
    family (Adam, AdamW, Adamax, NAdam, RAdam) as ``betas[0]``; the rules read it through
    the step context (``ctx.schedule.momentum(ctx.t)``) and an optimizer with neither
    refuses it (PyTorch refuses to build such a scheduler). Like PyTorch, plain SGD
    (``momentum=0``) then runs with the cycled momentum.
``observe(t, f)``
    The loop shows the schedule the objective's values ``f`` at the active rows of step
    ``t`` (once per step, when it records the step, before the update). Only
    ``ReduceLROnPlateau`` listens: its metric is the loss of the step, PyTorch's
    ``scheduler.step(loss)`` after ``optimizer.step()``, so the loss of step ``t`` can
    change the rate from step ``t + 1`` on. With many rows (starts) one rate is shared by
    all of them, and the metric is the mean of the finite values of the active rows (the
    value itself for one row). The values are the objective's as the loop sees them: for
    an ascent (``maximize``) give ``mode="max"``.
``state() -> dict[str, float]`` and ``restore(state)``
    What the rates depend on beyond the step count, as plain numbers (NaN and infinities
    included): empty except for ``ReduceLROnPlateau``. Training checkpoints store it. An
    observed loss takes effect at the next step, and ``state()`` leaves out the one not
    yet in effect: a checkpoint of step ``t`` is written after the loop observed the loss
    of step ``t``, and the resumed run evaluates and observes step ``t`` again.
``rate_only``
    True when the schedule sets only the learning rate, as a function of the step count
    (no momentum, no observed losses): the compiled online-SGD sweep, which asks for the
    rates of a whole segment of steps at once, runs only with those.
"""

from __future__ import annotations

import copy
import difflib
import inspect
import math
from bisect import bisect_right
from collections import Counter
from typing import Any, Sequence

import numpy as np

from .. import checks
from ..errors import ParameterError


class Schedule:
    """Base class of learning-rate schedules: the rate of step ``t`` from the base rate.

    A subclass sets ``name`` and ``params`` (its settings' attribute names, for ``config``
    and ``repr``) and implements ``lr(t, base_lr)``: the learning rate of the 0-based step
    ``t``, a pure function of ``t`` (so checkpoints need only the step count). The loop
    asks for it once per step and hands it to the stepper's update. ``momentum``,
    ``observe``, ``state``/``restore`` and ``rate_only`` have defaults for schedules that
    set only the rate (see the module docstring).
    """

    name = "schedule"
    params: tuple[str, ...] = ()
    #: the schedule sets only the rate, as a function of the step count
    rate_only = True

    def lr(self, t: int, base_lr: float) -> float:
        """The learning rate of step ``t`` (0-based) when the optimizer's rate is ``base_lr``."""
        raise NotImplementedError

    def momentum(self, t: int) -> float | None:
        """The momentum (or beta1) of step ``t`` that the schedule sets, or ``None``."""
        return None

    def observe(self, t: int, f: np.ndarray) -> None:
        """The objective's values at the active rows of step ``t`` (ignored by default)."""
        return None

    def state(self) -> dict[str, float]:
        """What the rates depend on beyond the step count (empty: nothing)."""
        return {}

    def restore(self, state: dict[str, float]) -> None:
        """Continue from a :meth:`state` of this schedule."""
        if state:
            raise ParameterError(f"the schedule {self!r} keeps no state, got {sorted(state)}")

    def config(self) -> dict[str, Any]:
        return {"name": self.name, **{k: _plain(getattr(self, k)) for k in self.params}}

    def __repr__(self) -> str:
        args = ", ".join(f"{k}={getattr(self, k)!r}" for k in self.params)
        return f"{type(self).__name__}({args})"


def _plain(v: Any) -> Any:
    """A setting as plain JSON values (nested schedules as their configs)."""
    if isinstance(v, Schedule):
        return v.config()
    if isinstance(v, (list, tuple)):
        return [_plain(x) for x in v]
    return v


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


# --- PyTorch's schedulers ------------------------------------------------------------------

class _Group:
    """One PyTorch parameter group, as the schedulers see it: the values they read and
    write (``momentum`` stands for ``betas[0]`` too; ``None``: never set by a scheduler)."""

    def __init__(self, lr: float):
        self.lr = lr
        self.initial_lr: float | None = None
        self.momentum: float | None = None
        self.max_lr = self.min_lr = math.nan
        self.max_momentum = self.base_momentum = math.nan


class _Run:
    """A PyTorch ``LRScheduler`` at run time, attached to one group: the constructor (with
    its initial step), ``step()``, ``_update_lr(epoch)`` and ``recursive_undo``'s step back.
    Subclasses implement ``get_lr`` (the chainable form) and, where PyTorch has one,
    ``closed_form`` (``_get_closed_form_lr``)."""

    def __init__(self, group: _Group, cfg: Any):
        self.group = group
        self.cfg = cfg
        if group.initial_lr is None:  # group.setdefault("initial_lr", group["lr"])
            group.initial_lr = group.lr
        self.base_lr: float = group.initial_lr
        self.last_epoch = -1
        self.is_initial = False
        self.step_count = 0
        self.initial_step()

    def initial_step(self) -> None:
        self.step_count = 0
        self.is_initial = True
        try:
            self.step()
        finally:
            self.is_initial = False

    def step(self) -> None:
        self.step_count += 1
        self.update_lr(None)

    def update_lr(self, epoch: int | None) -> None:
        if epoch is None:
            self.last_epoch += 1
            value = self.get_lr()
        else:
            self.last_epoch = epoch
            closed = self.closed_form()
            value = self.get_lr() if closed is None else closed
        self.group.lr = value

    def undo(self) -> None:
        self.last_epoch -= 1

    def get_lr(self) -> float:
        raise NotImplementedError

    def closed_form(self) -> float | None:
        return None


class _Simulated(Schedule):
    """A PyTorch scheduler: ``lr(t, base_lr)`` is the group's rate after the constructor
    and ``t`` calls of ``step()`` on a group whose rate was ``base_lr``."""

    _run_class: type[_Run]

    def _runtime(self, group: _Group) -> Any:
        return self._run_class(group, self)

    def _cycles_momentum(self) -> bool:
        return False

    @property
    def rate_only(self) -> bool:  # type: ignore[override]
        return not self._cycles_momentum()

    def lr(self, t: int, base_lr: float) -> float:
        return float(self._simulate(int(t), float(base_lr)).lr)

    def momentum(self, t: int) -> float | None:
        if not self._cycles_momentum():
            return None
        sim = self.__dict__.get("_sim")
        base = sim[1] if sim is not None else math.nan
        m = self._simulate(int(t), base).momentum
        return None if m is None else float(m)

    def _simulate(self, t: int, base: float) -> _Group:
        sim = self.__dict__.get("_sim")
        if sim is None or t < sim[2] or not (sim[1] == base or (sim[1] != sim[1] and
                                                              base != base)):
            group = _Group(base)
            sim = self.__dict__["_sim"] = [group, base, 0, self._runtime(group)]
        run = sim[3]
        while sim[2] < t:
            run.step()
            sim[2] += 1
        return sim[0]

    def __getstate__(self) -> dict[str, Any]:
        return {k: v for k, v in self.__dict__.items() if k != "_sim"}

    def __deepcopy__(self, memo: dict) -> "_Simulated":
        out = copy.copy(self)
        out.__dict__.pop("_sim", None)
        for k in self.params:
            setattr(out, k, copy.deepcopy(getattr(self, k), memo))
        return out


class _StepLRRun(_Run):
    def get_lr(self):
        c = self.cfg
        if self.last_epoch == 0 or self.last_epoch % c.step_size != 0:
            return self.group.lr
        return self.group.lr * c.gamma

    def closed_form(self):
        return self.base_lr * self.cfg.gamma ** (self.last_epoch // self.cfg.step_size)


class StepLR(_Simulated):
    """``torch.optim.lr_scheduler.StepLR``: the rate times ``gamma`` every ``step_size``
    steps (recursively: ``lr * gamma`` at each multiple of ``step_size``)."""

    name = "StepLR"
    params = ("step_size", "gamma")
    _run_class = _StepLRRun

    def __init__(self, step_size: int, gamma: float = 0.1):
        self.step_size = checks.count("step_size", step_size, minimum=1)
        self.gamma = checks.number("gamma", gamma)


class _MultiStepLRRun(_Run):
    def get_lr(self):
        counts = self.cfg._counts
        if self.last_epoch not in counts:
            return self.group.lr
        return self.group.lr * self.cfg.gamma ** counts[self.last_epoch]

    def closed_form(self):
        return self.base_lr * self.cfg.gamma ** bisect_right(sorted(self.cfg.milestones),
                                                             self.last_epoch)


class MultiStepLR(_Simulated):
    """``torch.optim.lr_scheduler.MultiStepLR``: the rate times ``gamma`` at each milestone
    (``gamma**k`` for a milestone listed ``k`` times)."""

    name = "MultiStepLR"
    params = ("milestones", "gamma")
    _run_class = _MultiStepLRRun

    def __init__(self, milestones: Sequence[int], gamma: float = 0.1):
        self.milestones = _counts("milestones", milestones)
        self._counts = Counter(self.milestones)
        self.gamma = checks.number("gamma", gamma)


class _ConstantLRRun(_Run):
    def get_lr(self):
        c = self.cfg
        if self.last_epoch == 0:
            return self.group.lr * c.factor
        if self.last_epoch != c.total_iters:
            return self.group.lr
        return self.group.lr * (1.0 / c.factor)

    def closed_form(self):
        c = self.cfg
        return self.base_lr * (c.factor + (self.last_epoch >= c.total_iters) * (1 - c.factor))


class ConstantLR(_Simulated):
    """``torch.optim.lr_scheduler.ConstantLR``: the rate times ``factor`` for the first
    ``total_iters`` steps."""

    name = "ConstantLR"
    params = ("factor", "total_iters")
    _run_class = _ConstantLRRun

    def __init__(self, factor: float = 1.0 / 3, total_iters: int = 5):
        self.factor = checks.number("factor", factor, low=0, high=1)
        self.total_iters = checks.count("total_iters", total_iters)


class _LinearLRRun(_Run):
    def get_lr(self):
        c = self.cfg
        if self.last_epoch == 0:
            return self.group.lr * c.start_factor
        if self.is_initial or self.last_epoch > c.total_iters:
            return self.group.lr
        return self.group.lr * (1.0 + (c.end_factor - c.start_factor) / (
            c.total_iters * c.start_factor + (self.last_epoch - 1) *
            (c.end_factor - c.start_factor)))

    def closed_form(self):
        c = self.cfg
        return self.base_lr * (c.start_factor + (c.end_factor - c.start_factor) *
                               min(c.total_iters, self.last_epoch) / c.total_iters)


class LinearLR(_Simulated):
    """``torch.optim.lr_scheduler.LinearLR``: the factor moves linearly from
    ``start_factor`` to ``end_factor`` over ``total_iters`` steps (PyTorch's defaults,
    unlike the short name ``warmup``)."""

    name = "LinearLR"
    params = ("start_factor", "end_factor", "total_iters")
    _run_class = _LinearLRRun

    def __init__(self, start_factor: float = 1.0 / 3, end_factor: float = 1.0,
                 total_iters: int = 5):
        self.start_factor = checks.number("start_factor", start_factor, low=0, high=1,
                                          low_open=True)
        self.end_factor = checks.number("end_factor", end_factor, low=0, high=1)
        self.total_iters = checks.count("total_iters", total_iters, minimum=1)


class _ExponentialLRRun(_Run):
    def get_lr(self):
        return self.group.lr if self.is_initial else self.group.lr * self.cfg.gamma

    def closed_form(self):
        return self.base_lr * self.cfg.gamma ** self.last_epoch


class ExponentialLR(_Simulated):
    """``torch.optim.lr_scheduler.ExponentialLR``: the rate times ``gamma`` every step."""

    name = "ExponentialLR"
    params = ("gamma",)
    _run_class = _ExponentialLRRun

    def __init__(self, gamma: float):
        self.gamma = checks.number("gamma", gamma)


class _PolynomialLRRun(_Run):
    def get_lr(self):
        c, e = self.cfg, self.last_epoch
        if self.is_initial or e > c.total_iters:
            return self.group.lr
        factor = ((1.0 - e / c.total_iters) / (1.0 - (e - 1) / c.total_iters)) ** c.power
        return self.group.lr * factor

    def closed_form(self):
        c = self.cfg
        return self.base_lr * (1.0 - min(c.total_iters, self.last_epoch) / c.total_iters) \
            ** c.power


class PolynomialLR(_Simulated):
    """``torch.optim.lr_scheduler.PolynomialLR``: the rate decays as
    :math:`(1 - t/T)^{power}` to 0 at ``total_iters`` :math:`T`."""

    name = "PolynomialLR"
    params = ("total_iters", "power")
    _run_class = _PolynomialLRRun

    def __init__(self, total_iters: int = 5, power: float = 1.0):
        self.total_iters = checks.count("total_iters", total_iters, minimum=1)
        self.power = checks.number("power", power)


class _CosineAnnealingLRRun(_Run):
    def get_lr(self):
        c, e, lr = self.cfg, self.last_epoch, self.group.lr
        if self.is_initial:
            return lr
        if self.step_count == 1 and e > 0:
            return c.eta_min + (self.base_lr - c.eta_min) * (
                1 + math.cos(e * math.pi / c.T_max)) / 2
        if (e - 1 - c.T_max) % (2 * c.T_max) == 0:
            return lr + (self.base_lr - c.eta_min) * (1 - math.cos(math.pi / c.T_max)) / 2
        return (1 + math.cos(math.pi * e / c.T_max)) / (
            1 + math.cos(math.pi * (e - 1) / c.T_max)) * (lr - c.eta_min) + c.eta_min

    def closed_form(self):
        c = self.cfg
        return c.eta_min + (self.base_lr - c.eta_min) * (
            1 + math.cos(math.pi * self.last_epoch / c.T_max)) / 2


class CosineAnnealingLR(_Simulated):
    """``torch.optim.lr_scheduler.CosineAnnealingLR`` in PyTorch's recursive form (a ratio
    of cosines applied to the current rate; the short name ``cosine`` is the closed
    form)."""

    name = "CosineAnnealingLR"
    params = ("T_max", "eta_min")
    _run_class = _CosineAnnealingLRRun

    def __init__(self, T_max: int, eta_min: float = 0.0):
        self.T_max = checks.count("T_max", T_max, minimum=1)
        self.eta_min = checks.number("eta_min", eta_min)


class _WarmRestartsRun(_Run):
    def __init__(self, group: _Group, cfg: Any):
        self.T_i = cfg.T_0
        self.T_cur = -1
        super().__init__(group, cfg)

    def step(self) -> None:
        if self.last_epoch < 0:  # the initial step: step(epoch=0)
            self.T_i = self.cfg.T_0
            self.T_cur = 0
            self.last_epoch = 0
        else:
            self.last_epoch += 1
            self.T_cur += 1
            if self.T_cur >= self.T_i:
                self.T_cur = self.T_cur % self.T_i
                self.T_i = self.T_i * self.cfg.T_mult
        self.group.lr = self.get_lr()

    def get_lr(self):
        c = self.cfg
        return c.eta_min + (self.base_lr - c.eta_min) * (
            1 + math.cos(math.pi * self.T_cur / self.T_i)) / 2


class CosineAnnealingWarmRestarts(_Simulated):
    """``torch.optim.lr_scheduler.CosineAnnealingWarmRestarts``: cosine annealing that
    restarts after ``T_0`` steps, each period ``T_mult`` times the last."""

    name = "CosineAnnealingWarmRestarts"
    params = ("T_0", "T_mult", "eta_min")
    _run_class = _WarmRestartsRun

    def __init__(self, T_0: int, T_mult: int = 1, eta_min: float = 0.0):
        self.T_0 = checks.count("T_0", T_0, minimum=1)
        self.T_mult = checks.count("T_mult", T_mult, minimum=1)
        self.eta_min = checks.number("eta_min", eta_min)


class _CyclicLRRun(_Run):
    def __init__(self, group: _Group, cfg: Any):
        group.lr = cfg.base_lr
        up = float(cfg.step_size_up)
        down = float(cfg.step_size_down) if cfg.step_size_down is not None else up
        self.total_size = up + down
        self.step_ratio = up / self.total_size
        if cfg.cycle_momentum:
            group.momentum = cfg.max_momentum
            group.max_momentum, group.base_momentum = cfg.max_momentum, cfg.base_momentum
        super().__init__(group, cfg)
        self.base_lr = cfg.base_lr

    def scale(self, cycle: int) -> float:
        c = self.cfg
        if c.mode == "triangular":
            return 1.0
        if c.mode == "triangular2":
            return 1 / (2.0 ** (cycle - 1))
        return c.gamma ** self.last_epoch  # exp_range: scale_mode "iterations"

    def get_lr(self):
        c = self.cfg
        cycle = math.floor(1 + self.last_epoch / self.total_size)
        x = 1.0 + self.last_epoch / self.total_size - cycle
        if x <= self.step_ratio:
            scale_factor = x / self.step_ratio
        else:
            scale_factor = (x - 1) / (self.step_ratio - 1)
        base_height = (c.max_lr - self.base_lr) * scale_factor
        lr = self.base_lr + base_height * self.scale(cycle)
        if c.cycle_momentum:
            height = (c.max_momentum - c.base_momentum) * scale_factor
            self.group.momentum = c.max_momentum - height * self.scale(cycle)
        return lr


class CyclicLR(_Simulated):
    """``torch.optim.lr_scheduler.CyclicLR``: the rate cycles between ``base_lr`` and
    ``max_lr`` (``mode`` ``"triangular"``, ``"triangular2"`` or ``"exp_range"``), and with
    ``cycle_momentum`` the momentum (beta1) between ``max_momentum`` and
    ``base_momentum``, inversely. The optimizer's own rate is replaced by ``base_lr``, as
    in PyTorch. (PyTorch's custom ``scale_fn`` is not offered.)"""

    name = "CyclicLR"
    params = ("base_lr", "max_lr", "step_size_up", "step_size_down", "mode", "gamma",
              "cycle_momentum", "base_momentum", "max_momentum")
    _run_class = _CyclicLRRun

    def __init__(self, base_lr: float, max_lr: float, step_size_up: int = 2000,
                 step_size_down: int | None = None, mode: str = "triangular",
                 gamma: float = 1.0, cycle_momentum: bool = True, base_momentum: float = 0.8,
                 max_momentum: float = 0.9):
        self.base_lr = checks.number("base_lr", base_lr, low=0)
        self.max_lr = checks.number("max_lr", max_lr, low=0)
        self.step_size_up = checks.count("step_size_up", step_size_up, minimum=1)
        self.step_size_down = checks.count("step_size_down", step_size_down, minimum=1,
                                           none=True)
        self.mode = checks.choice("mode", mode, ["triangular", "triangular2", "exp_range"])
        self.gamma = checks.number("gamma", gamma)
        self.cycle_momentum = checks.flag("cycle_momentum", cycle_momentum)
        self.base_momentum = checks.number("base_momentum", base_momentum)
        self.max_momentum = checks.number("max_momentum", max_momentum)

    def _cycles_momentum(self) -> bool:
        return self.cycle_momentum


class _OneCycleLRRun(_Run):
    def __init__(self, group: _Group, cfg: Any):
        total = cfg._total
        p = cfg.pct_start
        if cfg.three_phase:
            self.phases = [(float(p * total) - 1, "initial_lr", "max_lr", "max_momentum",
                            "base_momentum"),
                           (float(2 * p * total) - 2, "max_lr", "initial_lr", "base_momentum",
                            "max_momentum"),
                           (total - 1, "initial_lr", "min_lr", "max_momentum", "max_momentum")]
        else:
            self.phases = [(float(p * total) - 1, "initial_lr", "max_lr", "max_momentum",
                            "base_momentum"),
                           (total - 1, "max_lr", "min_lr", "base_momentum", "max_momentum")]
        group.initial_lr = cfg.max_lr / cfg.div_factor
        group.max_lr = cfg.max_lr
        group.min_lr = group.initial_lr / cfg.final_div_factor
        if cfg.cycle_momentum:
            group.momentum = cfg.max_momentum
            group.max_momentum, group.base_momentum = cfg.max_momentum, cfg.base_momentum
        super().__init__(group, cfg)

    def anneal(self, start: float, end: float, pct: float) -> float:
        if self.cfg.anneal_strategy == "cos":
            cos_out = math.cos(math.pi * pct) + 1
            return end + (start - end) / 2.0 * cos_out
        return (end - start) * pct + start

    def get_lr(self):
        c, g, step_num = self.cfg, self.group, self.last_epoch
        if step_num > c._total:
            raise ParameterError(f"OneCycleLR was made for {c._total} steps (total_steps, or "
                                 f"epochs x steps_per_epoch) and step {step_num} was asked "
                                 f"for: give it at least as many steps as the run makes")
        start_step = 0.0
        for i, (end_step, lr0, lr1, m0, m1) in enumerate(self.phases):
            if step_num <= end_step or i == len(self.phases) - 1:
                try:
                    pct = (step_num - start_step) / (end_step - start_step)
                except ZeroDivisionError:
                    raise ParameterError(f"OneCycleLR: total_steps={c._total} is too few for "
                                         f"pct_start={c.pct_start}") from None
                lr = self.anneal(getattr(g, lr0), getattr(g, lr1), pct)
                if c.cycle_momentum:
                    g.momentum = self.anneal(getattr(g, m0), getattr(g, m1), pct)
                return lr
            start_step = end_step
        raise AssertionError("unreachable")  # pragma: no cover


class OneCycleLR(_Simulated):
    """``torch.optim.lr_scheduler.OneCycleLR``: the 1cycle policy. The rate rises from
    ``max_lr / div_factor`` to ``max_lr`` over ``pct_start`` of ``total_steps`` (or
    ``epochs * steps_per_epoch``) and anneals to ``initial_lr / final_div_factor``
    (``anneal_strategy`` ``"cos"`` or ``"linear"``; ``three_phase`` as PyTorch); with
    ``cycle_momentum`` the momentum (beta1) moves inversely between ``max_momentum`` and
    ``base_momentum``. The optimizer's own rate is not used, as in PyTorch; asking for a
    step past ``total_steps`` is an error, as in PyTorch."""

    name = "OneCycleLR"
    params = ("max_lr", "total_steps", "epochs", "steps_per_epoch", "pct_start",
              "anneal_strategy", "cycle_momentum", "base_momentum", "max_momentum",
              "div_factor", "final_div_factor", "three_phase")
    _run_class = _OneCycleLRRun

    def __init__(self, max_lr: float, total_steps: int | None = None, epochs: int | None = None,
                 steps_per_epoch: int | None = None, pct_start: float = 0.3,
                 anneal_strategy: str = "cos", cycle_momentum: bool = True,
                 base_momentum: float = 0.85, max_momentum: float = 0.95,
                 div_factor: float = 25.0, final_div_factor: float = 1e4,
                 three_phase: bool = False):
        self.max_lr = checks.number("max_lr", max_lr, low=0)
        self.total_steps = checks.count("total_steps", total_steps, minimum=1, none=True)
        self.epochs = checks.count("epochs", epochs, minimum=1, none=True)
        self.steps_per_epoch = checks.count("steps_per_epoch", steps_per_epoch, minimum=1,
                                            none=True)
        if self.total_steps is not None:
            self._total = self.total_steps
        elif self.epochs is not None and self.steps_per_epoch is not None:
            self._total = self.epochs * self.steps_per_epoch
        else:
            raise ParameterError("OneCycleLR needs total_steps, or epochs and steps_per_epoch")
        self.pct_start = checks.number("pct_start", pct_start, low=0, high=1)
        self.anneal_strategy = checks.choice("anneal_strategy", anneal_strategy,
                                             ["cos", "linear"])
        self.cycle_momentum = checks.flag("cycle_momentum", cycle_momentum)
        self.base_momentum = checks.number("base_momentum", base_momentum)
        self.max_momentum = checks.number("max_momentum", max_momentum)
        self.div_factor = checks.number("div_factor", div_factor, low=0, low_open=True)
        self.final_div_factor = checks.number("final_div_factor", final_div_factor, low=0,
                                              low_open=True)
        self.three_phase = checks.flag("three_phase", three_phase)

    def _cycles_momentum(self) -> bool:
        return self.cycle_momentum


class _ChainedRun:
    """``ChainedScheduler`` at run time: every scheduler's ``step()``, in order."""

    def __init__(self, group: _Group, kids: list[Any]):
        self.group = group
        self.kids = kids

    def step(self) -> None:
        for k in self.kids:
            k.step()

    def initial_step(self) -> None:  # LRScheduler._initial_step: one step()
        self.step()

    def undo(self) -> None:  # recursive_undo steps back the schedulers inside
        for k in self.kids:
            k.undo()

    def update_lr(self, epoch: int | None) -> None:
        raise ParameterError(f"PyTorch cannot restart a {type(self).__name__[1:-3]} at a "
                             f"SequentialLR milestone (it has no get_lr): put it first")


class _SequentialRun(_ChainedRun):
    """``SequentialLR`` at run time: the scheduler of the current milestone interval;
    at a milestone, that scheduler restarts with ``_update_lr(0)`` (its closed form)."""

    def __init__(self, group: _Group, kids: list[Any], milestones: list[int]):
        super().__init__(group, kids)
        self.milestones = milestones
        self.last_epoch = 0
        group.lr = group.initial_lr  # type: ignore[assignment]
        for k in kids:
            k.undo()
        kids[bisect_right(milestones, 0)].initial_step()

    def step(self) -> None:
        self.last_epoch += 1
        idx = bisect_right(self.milestones, self.last_epoch)
        kid = self.kids[idx]
        if idx > 0 and self.milestones[idx - 1] == self.last_epoch:
            kid.update_lr(0)
        else:
            kid.step()

    def initial_step(self) -> None:
        self.step()


class ChainedScheduler(_Simulated):
    """``torch.optim.lr_scheduler.ChainedScheduler``: every scheduler of ``schedulers``
    steps, in order, on the same rate (each built on the group as the ones before it left
    it, as PyTorch builds them)."""

    name = "ChainedScheduler"
    params: tuple[str, ...] = ("schedulers",)

    def __init__(self, schedulers: Sequence[Any]):
        self.schedulers = _children(self.name, schedulers)

    def _kids(self, group: _Group) -> list[Any]:
        return [s._runtime(group) for s in self.schedulers]

    def _runtime(self, group: _Group) -> Any:
        return _ChainedRun(group, self._kids(group))

    def _cycles_momentum(self) -> bool:
        return any(s._cycles_momentum() for s in self.schedulers)


class SequentialLR(ChainedScheduler):
    """``torch.optim.lr_scheduler.SequentialLR``: ``schedulers[i]`` from ``milestones[i-1]``
    on, each restarted at its milestone as PyTorch restarts it."""

    name = "SequentialLR"
    params: tuple[str, ...] = ("schedulers", "milestones")

    def __init__(self, schedulers: Sequence[Any], milestones: Sequence[int]):
        super().__init__(schedulers)
        self.milestones = _counts("milestones", milestones)
        if len(self.milestones) != len(self.schedulers) - 1:
            raise ParameterError(f"SequentialLR needs one milestone fewer than schedulers, "
                                 f"got {len(self.schedulers)} schedulers and "
                                 f"{len(self.milestones)} milestones")

    def _runtime(self, group: _Group) -> Any:
        return _SequentialRun(group, self._kids(group), list(self.milestones))


class ReduceLROnPlateau(Schedule):
    """``torch.optim.lr_scheduler.ReduceLROnPlateau`` on the loss the loop sees: when the
    metric has not improved (``mode``, ``threshold``, ``threshold_mode``) for more than
    ``patience`` steps, the rate becomes ``max(lr * factor, min_lr)`` (unless that changes
    it by ``eps`` or less), then ``cooldown`` steps pass without counting. The metric of
    a step is the objective's value there (the mean of the finite values of the active
    rows for many starts); see the module docstring for when it takes effect and what a
    checkpoint keeps. Asked for an earlier step than the last, it starts afresh (the same
    object used for a new run)."""

    name = "ReduceLROnPlateau"
    params = ("mode", "factor", "patience", "threshold", "threshold_mode", "cooldown",
              "min_lr", "eps")
    rate_only = False

    def __init__(self, mode: str = "min", factor: float = 0.1, patience: int = 10,
                 threshold: float = 1e-4, threshold_mode: str = "rel", cooldown: int = 0,
                 min_lr: float = 0.0, eps: float = 1e-8):
        self.mode = checks.choice("mode", mode, ["min", "max"])
        self.factor = checks.number("factor", factor, low=0, high=1, high_open=True)
        self.patience = checks.count("patience", patience)
        self.threshold = checks.number("threshold", threshold)
        self.threshold_mode = checks.choice("threshold_mode", threshold_mode, ["rel", "abs"])
        self.cooldown = checks.count("cooldown", cooldown)
        self.min_lr = checks.number("min_lr", min_lr, low=0)
        self.eps = checks.number("eps", eps, low=0)
        self._lr = math.nan
        self.best = math.inf
        self.num_bad_epochs = self.cooldown_counter = self.last_epoch = 0
        self._pending: tuple[int, float] | None = None
        self._t = -1  # the last step asked for
        self.restore({})

    def lr(self, t: int, base_lr: float) -> float:
        if t < self._t:  # an earlier step: a new run starts afresh
            self.restore({})
        self._t = int(t)
        self._catch_up(t)
        if math.isnan(self._lr):
            self._lr = float(base_lr)
        return self._lr

    def observe(self, t: int, f: np.ndarray) -> None:
        self._catch_up(t)
        self._pending = (int(t), _metric(f))

    def _catch_up(self, t: int) -> None:
        """Apply the loss observed at an earlier step (it sets the rates after it)."""
        if self._pending is not None and self._pending[0] < t:
            self._step(self._pending[1])
            self._pending = None

    def _step(self, current: float) -> None:
        """PyTorch's ``step(metrics)``."""
        self.last_epoch += 1
        if self._is_better(current, self.best):
            self.best = current
            self.num_bad_epochs = 0
        else:
            self.num_bad_epochs += 1
        if self.cooldown_counter > 0:
            self.cooldown_counter -= 1
            self.num_bad_epochs = 0
        if self.num_bad_epochs > self.patience:
            old = self._lr
            new = max(old * self.factor, self.min_lr)
            if old - new > self.eps:
                self._lr = new
            self.cooldown_counter = self.cooldown
            self.num_bad_epochs = 0

    def _is_better(self, a: float, best: float) -> bool:
        if self.mode == "min" and self.threshold_mode == "rel":
            return a < best * (1.0 - self.threshold)
        if self.mode == "min":
            return a < best - self.threshold
        if self.threshold_mode == "rel":
            return a > best * (self.threshold + 1.0)
        return a > best + self.threshold

    def state(self) -> dict[str, float]:
        return {"lr": self._lr, "best": self.best, "num_bad_epochs": self.num_bad_epochs,
                "cooldown_counter": self.cooldown_counter, "last_epoch": self.last_epoch}

    def restore(self, state: dict[str, float]) -> None:
        """Continue from :meth:`state` (``{}``: start afresh)."""
        worse = math.inf if self.mode == "min" else -math.inf
        self._lr = float(state.get("lr", math.nan))
        self.best = float(state.get("best", worse))
        self.num_bad_epochs = int(state.get("num_bad_epochs", 0))
        self.cooldown_counter = int(state.get("cooldown_counter", 0))
        self.last_epoch = int(state.get("last_epoch", 0))
        self._pending = None
        self._t = -1


def _metric(f: np.ndarray) -> float:
    """The plateau metric of one step: the mean of the finite values of the active rows
    (the value itself for one row; the mean of all when none is finite)."""
    f = np.asarray(f, dtype=float).reshape(-1)
    ok = f[np.isfinite(f)]
    with np.errstate(invalid="ignore", over="ignore"):
        return float(ok.mean() if ok.size else (f.mean() if f.size else math.nan))


def _counts(name: str, values: Sequence[int]) -> list[int]:
    """A list of step counts (milestones)."""
    if isinstance(values, (str, bytes)) or not hasattr(values, "__iter__"):
        raise ParameterError(f"{name} must be a list of step counts, got {values!r}")
    return [checks.count(f"{name}[{i}]", v) for i, v in enumerate(values)]


def _children(name: str, schedulers: Sequence[Any]) -> list[_Simulated]:
    """The schedulers of a composite, made by :func:`make_schedule` from names, configs or
    objects: PyTorch's schedulers only (not ``ReduceLROnPlateau``, as in PyTorch)."""
    if isinstance(schedulers, (str, dict, Schedule)) or not hasattr(schedulers, "__iter__"):
        raise ParameterError(f"{name} needs a list of schedulers, got {schedulers!r}")
    out = []
    for s in schedulers:
        sched = make_schedule(s)
        if not isinstance(sched, _Simulated):
            what = ("ReduceLROnPlateau needs the loss at every step" if
                    isinstance(sched, ReduceLROnPlateau) else
                    "give PyTorch's schedulers (StepLR, LinearLR, ...), not gdlab's short names")
            raise ParameterError(f"{name} cannot hold {sched!r}: {what}")
        out.append(sched)
    if not out:
        raise ParameterError(f"{name} needs at least one scheduler")
    return out


#: gdlab's short names, then PyTorch's class names
_NAMED: tuple[type[Schedule], ...] = (
    Constant, StepDecay, Exponential, InverseTime, Cosine, Warmup,
    StepLR, MultiStepLR, ConstantLR, LinearLR, ExponentialLR, PolynomialLR, CosineAnnealingLR,
    CosineAnnealingWarmRestarts, CyclicLR, OneCycleLR, ReduceLROnPlateau, SequentialLR,
    ChainedScheduler)
_SCHEDULES: dict[str, type[Schedule]] = {cls.name.lower(): cls for cls in _NAMED}
#: aliases accepted by :func:`make_schedule`
_ALIASES = {"none": "constant", "inverse-time": "inverse_time", "inv_time": "inverse_time",
            "exp": "exponential", "linear": "warmup", "linear_warmup": "warmup"}

#: the names :func:`make_schedule` accepts (PyTorch's class names in any letter case)
SCHEDULES = tuple(cls.name for cls in _NAMED)


def make_schedule(schedule: str | Schedule | dict | None, **kwargs: Any) -> Schedule:
    """A schedule from a name plus keyword arguments (``make_schedule("StepLR",
    step_size=30)``), a config dict (``{"name": "OneCycleLR", "max_lr": 0.1, "total_steps":
    100}``; what ``config()`` gives back), an existing :class:`Schedule`, or ``None``
    (constant). Names are gdlab's short names and PyTorch's scheduler class names (letter
    case ignored); keywords are PyTorch's. ``SequentialLR``/``ChainedScheduler`` take a
    list of schedules in any of these forms."""
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
        close = difflib.get_close_matches(key, list(_SCHEDULES) + list(_ALIASES), n=1)
        hint = f"; did you mean {_SCHEDULES[_ALIASES.get(close[0], close[0])].name!r}?" \
            if close else ""
        raise ParameterError(f"unknown schedule {schedule!r}: choose one of "
                             f"{', '.join(SCHEDULES)}{hint}")
    cls = _SCHEDULES[key]
    try:
        return cls(**kwargs)
    except ParameterError:
        raise
    except TypeError:
        names = [p for p in inspect.signature(cls.__init__).parameters if p != "self"]
        raise ParameterError(f"schedule {cls.name!r} takes {', '.join(names) or 'no options'}, "
                             f"got {', '.join(kwargs) or 'none'}") from None
