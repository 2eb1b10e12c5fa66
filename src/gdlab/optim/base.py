r"""The base class of the update rules (:mod:`gdlab.optim.rules`, :mod:`gdlab.optim.quasi_newton`).

A rule is a :class:`~gdlab.optim.stepper.Stepper` whose ``update`` is PyTorch's
``optimizer.step()`` split from its state:

``init(params) -> state``
    a dict of arrays shaped like ``params`` (rows first) plus an integer ``"step"``;
``step(params, grad, state, lr) -> None``
    updates ``params`` and ``state`` **in place** with the learning rate ``lr`` of this
    step (the schedule's value; the rule's own ``lr`` is the base).

Scheduled momentum
------------------
PyTorch's ``OneCycleLR`` and ``CyclicLR`` (``cycle_momentum=True``) overwrite the
optimizer's ``momentum`` (SGD, RMSprop) or ``betas[0]`` (the Adam family) before every
step. Here the schedule says so through :meth:`~gdlab.optim.schedules.Schedule.momentum`
(``None``: the rule's own value), which ``update`` reads as
``ctx.schedule.momentum(ctx.t)`` and passes to ``step(..., momentum=m)``. A rule names the
setting it has in :attr:`Rule.momentum_kind` (``"momentum"``, ``"beta1"`` or ``None``); a
rule without one refuses a momentum schedule, as PyTorch's schedulers refuse such an
optimizer.

This module exists so that :mod:`gdlab.optim.quasi_newton` and :mod:`gdlab.optim.rules` (which
lists every optimizer by name) can both build on :class:`Rule` without importing each
other.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from ..errors import ParameterError
from .stepper import Evaluation, State, StepContext, Stepper


class Rule(Stepper):
    """Base class: an update rule with hyper-parameters and a base learning rate.

    Subclasses implement ``init`` and ``step``; the loop's ``update`` calls ``step`` with
    the gradient of the evaluation and the schedule's learning rate (and momentum)."""

    name = "rule"
    #: names of the hyper-parameters, in signature order (for repr, JSON and checkpoints)
    hyper: tuple[str, ...] = ()
    #: what a momentum schedule sets: ``"momentum"`` (SGD, RMSprop), ``"beta1"`` (the Adam
    #: family: ``betas[0]``) or ``None`` (a rule with neither)
    momentum_kind: str | None = None

    lr: float
    maximize: bool

    def step(self, params: np.ndarray, grad: np.ndarray, state: State, lr: float) -> None:
        """One update of ``params`` and ``state`` in place, as ``torch.optim``'s ``step()``
        with learning rate ``lr``."""
        raise NotImplementedError

    def update(self, x: np.ndarray, ev: Evaluation, state: State, ctx: StepContext) -> Any:
        assert ev.g is not None  # rules step on the gradient of the evaluation
        momentum = self.scheduled_momentum(ctx)
        # an overflow here (ignored by the loop's np.errstate) shows as a non-finite point
        # at the next evaluation: "diverged"
        if momentum is None:
            self.step(x, ev.g, state, ctx.lr)
        else:
            self.step(x, ev.g, state, ctx.lr, momentum=momentum)  # type: ignore[call-arg]
        return None

    def scheduled_momentum(self, ctx: StepContext) -> float | None:
        """The schedule's momentum (or beta1) for step ``ctx.t``, or ``None``; refused for a
        rule without one (PyTorch: "optimizer must support momentum or beta1")."""
        momentum = ctx.schedule.momentum(ctx.t)
        if momentum is not None and self.momentum_kind is None:
            raise ParameterError(
                f"the schedule {ctx.schedule!r} cycles the momentum (cycle_momentum=True), "
                f"but {self.name} has no momentum or beta1: give the schedule "
                f"cycle_momentum=False, or use an optimizer with momentum or betas")
        return momentum

    def _scratch(self, like: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Two work arrays shaped like the parameters, kept between steps: the updates write
        their temporaries here instead of allocating several arrays per step (the same
        operations in the same order, so the numbers do not change)."""
        bufs = self.__dict__.get("_bufs")
        pair = None if bufs is None else bufs.get((like.shape, like.dtype))
        if pair is None:
            pair = (np.empty_like(like), np.empty_like(like))
            self.__dict__["_bufs"] = {(like.shape, like.dtype): pair}
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


def lerp(a: np.ndarray, b: np.ndarray, w: float, work: np.ndarray) -> None:
    """``a.lerp_(b, w)`` exactly as torch computes it (two formulas split at w = 0.5);
    ``work`` is scratch space shaped like ``a``."""
    np.subtract(b, a, out=work)
    if abs(w) < 0.5:
        work *= w
        a += work
    else:
        work *= 1 - w
        np.subtract(b, work, out=a)


def addcmul(acc: np.ndarray, value: float, t1: np.ndarray, t2: np.ndarray,
            work: np.ndarray) -> None:
    """``acc.addcmul_(t1, t2, value=value)`` in torch's order, ``(value * t1) * t2``."""
    np.multiply(t1, value, out=work)
    work *= t2
    acc += work


def rowdot(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """``a_i · b_i`` of every row (torch's ``dot`` of one row)."""
    return np.einsum("ij,ij->i", a, b)
