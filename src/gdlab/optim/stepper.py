r"""The stepper protocol: how the descent loop evaluates and moves the points.

Everything that changes ``x`` in :func:`gdlab.loop.descend` is a *stepper*: the update
rules of :mod:`gdlab.optim.rules` (PyTorch's optimizers), the Armijo line search of
:mod:`gdlab.optim.linesearch` and the compiled online-SGD sweep of
:mod:`gdlab.models.online`. The loop knows nothing else about them: a new optimizer, a
projected (bounded) step or a distributed objective is a new stepper, not a new branch in
the loop.

The contract
------------

The loop works on the *active rows*: a 2-D array ``x`` of shape ``(n, d)``, one row per run
that has not stopped (rows that stop are taken out; the stepper's per-row state is
compacted with them by :meth:`Stepper.select`). Per loop step it calls:

``evaluate(objective, x, batch, state, ctx) -> Evaluation``
    The objective's value and gradient at ``x`` on ``batch`` (``None`` for formulas). The
    default calls ``objective.value_and_grad(x, batch)`` once. A stepper may evaluate
    differently (a sweep evaluates and stages many one-sample steps; a stepper whose
    update already computed the values at the new point may return them), and reports
    what it did in the :class:`Evaluation`: how many evaluations (``nfev``), how many loop
    steps they stand for (``steps``), and, when it applied the stop rules itself, their
    verdict (``status``). It must not change ``x``.

``update(x, ev, state, ctx) -> StepReport | None``
    Move ``x`` in place, using the evaluation ``ev`` and the learning rate ``ctx.lr``
    (the schedule's rate of step ``ctx.t``; NaN for steppers that choose their own step);
    ``ctx.value(points)`` evaluates the objective on the same batch (line searches), and
    ``ctx.value_and_grad(points)`` its values and gradients there (L-BFGS's strong-Wolfe
    search). The schedule's momentum of the step, if it sets one (``OneCycleLR``,
    ``CyclicLR``), is ``ctx.schedule.momentum(ctx.t)``.
    Return ``None``, or a :class:`StepReport` with rows that stop after this update
    (``stop``), rows it could not move (``moved``), the step size it took (``lr``, for
    the history) and the evaluations it made (``nfev``).

``init(x) -> state``
    The stepper's state for the rows of ``x``: a dict of arrays (per-row arrays have the
    rows on their first axis) and counters. The loop stores it in
    :class:`gdlab.loop.LoopState` and in training checkpoints; ``update`` changes it in
    place.

``select(state, keep)``
    Keep only the rows ``keep`` (a boolean mask over the active rows) of every per-row
    array in ``state``, in place: called when rows stop, so stopped rows cost nothing.

``lr``, ``maximize``, ``name`` and ``config()``
    The base learning rate (NaN when the stepper chooses its steps), whether the stepper
    ascends (PyTorch's ``maximize``: the gradient is negated), and its description as
    plain JSON values.

:class:`Stepper` implements ``evaluate`` and ``select`` with the defaults above; a
subclass implements ``init``, ``update`` and ``config``.

The loop calls ``evaluate`` and ``update`` under ``np.errstate(over="ignore",
invalid="ignore", divide="ignore")``: an overflow or an invalid operation is not a
warning but a non-finite value, which the stop rules report (``diverged``, ...).
Steppers need no ``errstate`` of their own.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Callable, Mapping, NamedTuple, Protocol

import numpy as np

if TYPE_CHECKING:
    from ..result import Status
    from .schedules import Schedule

State = dict[str, Any]


def _no_batch(points: np.ndarray) -> Any:  # pragma: no cover - placeholder
    raise RuntimeError("no batch taken yet")


class Objective(Protocol):
    """What the loop descends: values and gradients at many points at once.

    ``value_and_grad(x, batch) -> (f, g)``
        ``f`` of shape ``(n,)`` and ``g`` of shape ``(n, d)`` for the ``n`` rows of ``x``;
    ``value(x, batch) -> f``
        the values alone (line searches).

    ``batch`` is whatever the loop's stream of batches yields (``None`` for formulas).
    :class:`gdlab.calculus.Function`, :class:`gdlab.calculus.CallableObjective` and
    :class:`gdlab.train.ModelObjective` implement it.
    """

    def value_and_grad(self, x: np.ndarray, batch: Any) -> tuple[np.ndarray, np.ndarray]: ...

    def value(self, x: np.ndarray, batch: Any) -> np.ndarray: ...


@dataclass
class StepContext:
    """What the loop tells a stepper about the current step (one object, updated in place)."""

    #: the loop's step count (updates made so far, counting a sweep's samples)
    t: int
    #: the learning rate of step ``t`` (the schedule applied to the stepper's ``lr``)
    lr: float
    #: the learning-rate schedule (a sweep asks it for the rates of its later samples)
    schedule: Schedule
    #: the stop rules (a stepper that tests them itself reads them here)
    stop: Any
    #: +1 when minimizing, -1 when maximizing
    sign: float
    #: the objective at the first evaluation of each active row (the divergence test's
    #: reference), or ``None`` before the first evaluation
    f_start: np.ndarray | None
    #: the objective's values at other points on this step's batch
    value: Callable[[np.ndarray], np.ndarray]
    #: the objective's values and gradients at other points on this step's batch
    #: (``(f, g)`` as ``Objective.value_and_grad``: L-BFGS's strong-Wolfe search)
    value_and_grad: Callable[[np.ndarray], tuple[np.ndarray, np.ndarray]] = _no_batch


@dataclass
class Evaluation:
    """What ``Stepper.evaluate`` found at the active rows."""

    #: objective value per row, shape ``(n,)``
    f: np.ndarray
    #: gradient, shape ``(n, d)``; ``None`` when the stepper keeps none (a sweep)
    g: np.ndarray | None
    #: the stationarity measure that the ``eps`` test compares, shape ``(n,)``:
    #: ``‖g‖`` of each row (``|g|`` for one variable)
    grad_norm: np.ndarray
    #: loop steps this evaluation stands for (a sweep: the samples it stepped)
    steps: int = 1
    #: objective evaluations made
    nfev: int = 1
    #: gradient evaluations made
    njev: int = 1
    #: the data the steps used, as callbacks should see it (``None``: the batch taken)
    batch: Any = None
    #: the value at the first point evaluated, when ``f`` is something else (a sweep's
    #: mean loss): the divergence test's reference on a run's first evaluation
    f_first: np.ndarray | None = None
    #: set when the stepper applied the stop rules itself: per row, the
    #: :class:`~gdlab.result.Status` that stops it, or ``None`` to go on
    status: list[Status | None] | None = None


class StepReport(NamedTuple):
    """What ``Stepper.update`` may report (every field optional)."""

    #: rows that stop after this update: ``{status: boolean mask over the active rows}``
    stop: Mapping[Status, np.ndarray] | None = None
    #: the rows it moved (default: all); rows not moved do not count an iteration
    moved: np.ndarray | None = None
    #: the objective at the rows that stop, when the update saw a newer value than the
    #: evaluation (a sweep's failing sample), shape ``(n,)``, NaN elsewhere
    fun: np.ndarray | None = None
    #: the step size actually taken (a line search), recorded in the history
    lr: float | None = None
    #: objective evaluations made by the update (per row or in all)
    nfev: int | np.ndarray = 0


class Stepper:
    """Base class of the loop's steppers (see the module docstring for the contract)."""

    name = "stepper"
    lr: float = float("nan")
    maximize: bool = False

    def init(self, x: np.ndarray) -> State:
        """The state for the rows of ``x``."""
        return {"step": 0}

    def config(self) -> dict[str, Any]:
        """The stepper's settings as plain JSON values (``name`` included)."""
        return {"name": self.name}

    def evaluate(self, objective: Objective, x: np.ndarray, batch: Any, state: State,
                 ctx: StepContext) -> Evaluation:
        """``objective.value_and_grad`` at the rows of ``x`` (once), with the row norms.

        Overflow and invalid operations are not warnings here (the loop runs every step
        under ``np.errstate``): they show as non-finite values, which the loop's stop rules
        report as divergence."""
        f, g = objective.value_and_grad(x, batch)
        if type(f) is not np.ndarray or f.ndim != 1:
            f = np.asarray(f).reshape(-1)
        return Evaluation(f, g, row_norms(g))

    def update(self, x: np.ndarray, ev: Evaluation, state: State,
               ctx: StepContext) -> StepReport | None:
        """Move the rows of ``x`` in place (see the module docstring)."""
        raise NotImplementedError

    def select(self, state: State, keep: np.ndarray) -> None:
        """Keep the rows ``keep`` (boolean mask) of every per-row array of ``state``."""
        n = keep.shape[0]
        for k, v in state.items():
            if isinstance(v, np.ndarray) and v.ndim and v.shape[0] == n:
                state[k] = v[keep]


_vecdot = getattr(np, "vecdot", None)  # NumPy 2


def row_norms(g: np.ndarray) -> np.ndarray:
    """``‖g_i‖`` of every row (``|g_i|`` for one column, which cannot overflow where the
    square would): ``vecdot`` for long rows (a model's gradient: ~2.5x faster) and for a
    few rows of two (a ufunc: half einsum's call cost; the same two products and sum, so
    the same numbers), ``einsum`` for many short rows (many starts, where it is faster)."""
    n, d = g.shape
    if d == 1:
        return np.abs(g[:, 0])
    if _vecdot is not None and (d >= 64 or (d == 2 and n <= 256)):
        return np.sqrt(_vecdot(g, g))
    return np.sqrt(np.einsum("ij,ij->i", g, g))
