"""The descent loop: the one loop that formulas, models and training all share.

::

    x <- x - lr * grad(objective, x, batch)        (or the stepper's update)

repeated until a stop rule fires. ``x`` is 2-D, ``(n_starts, d)``: every row is its own run
with its own :class:`~gdlab.result.Status`, and all rows move together in vectorized
operations (no Python loop over rows). A model's flat parameter vector is the one-row case.
Rows that stop are taken out of the arrays the loop works on, so they cost nothing more.

Each step of :func:`descend` is six named calls:

1. **take a batch** from ``batches`` (``None`` for formulas; when the stream ends, the run
   ends with ``end_of_data``: training's last epoch);
2. **evaluate** ``f`` and ``∇f`` at the active rows: ``stepper.evaluate``;
3. **record** the step in the :class:`~gdlab.result.History`;
4. **test the stop rules**, per row (rows that stop are frozen where they are);
5. **run the callbacks**, which may stop the run (before the update);
6. **update** the active rows: ``stepper.update`` with the schedule's learning rate.

What moves ``x`` is a *stepper* (:mod:`gdlab.optim.stepper`: an update rule, the line
search, a compiled sweep); what is descended is an *objective*
(:class:`~gdlab.optim.stepper.Objective`: ``value_and_grad(x, batch)``).

The stop rules, in the order they are tested after each evaluation:

* ``undefined`` (when ``StopRules.undefined``): the value is NaN at a finite point, outside
  the function's domain;
* ``unbounded`` (when ``StopRules.objective_limit`` is set): the value is better than
  ``-objective_limit`` (``+objective_limit`` when maximizing), infinite included;
* ``diverged``: non-finite value or point, or the objective more than ``explode`` times
  worse than at the start;
* ``no_gradient``: the value is finite but the gradient is not (a kink such as Ackley's
  minimum, where the formula's derivative is 0/0);
* ``converged``: ``‖grad‖ < eps`` (``|grad|`` for one variable), as in the lecture;
* ``ftol``: ``|f_k - f_{k-1}| <= ftol * max(1, |f_k|)``;
* ``max_iter``: ``max_iter`` updates made;
* ``time_limit``: the time budget is spent;
* then a callback may return a reason (early stopping, a signal, ...): ``stopped``.

A stepper may apply the per-row rules itself (a compiled sweep tests every sample it
steps) and say so in its :class:`~gdlab.optim.stepper.Evaluation`; an update may stop rows
too (a line search that finds no decrease: ``stalled``).

Rows stopped by a limit (``max_iter``, ``time_limit``, ``end_of_data``, ``stopped``) stay
active in the returned :class:`LoopState`: calling :func:`descend` again with that state
and a larger limit continues them exactly where they were.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Any, Callable, Iterator, Mapping

import numpy as np

from .optim.schedules import Constant, Schedule
from .optim.stepper import Evaluation, Objective, StepContext, Stepper, StepReport
from .result import History, Status

__all__ = ["Callback", "LoopOutput", "LoopState", "Objective", "StepInfo", "StopRules",
           "descend"]


@dataclass
class StopRules:
    """When the loop stops (see the module docstring). ``None`` turns a rule off."""

    eps: float | None = 1e-6
    max_iter: int | None = 10_000
    ftol: float | None = None
    time_limit: float | None = None
    explode: float = 1e10
    #: a value past this (below ``-objective_limit`` when minimizing) means "unbounded", as
    #: MATLAB's ``ObjectiveLimit`` (-1e20); ``None``: no such rule (training)
    objective_limit: float | None = None
    #: report NaN values at finite points as ``undefined`` rather than ``diverged``
    undefined: bool = False


@dataclass
class StepInfo:
    """What a callback sees after each evaluation (before the update)."""

    step: int
    x: np.ndarray
    fun: np.ndarray
    grad: np.ndarray
    grad_norm: np.ndarray
    lr: float
    batch: Any
    elapsed: float


@dataclass
class LoopState:
    """Everything needed to continue a run exactly where it stopped."""

    x: np.ndarray
    #: the stepper's state of the active rows
    rule_state: dict[str, Any]
    step: int = 0
    #: rows that may go on (those not stopped by an outcome such as convergence)
    active: np.ndarray | None = None
    nit: np.ndarray | None = None
    elapsed: float = 0.0
    #: the objective at the first evaluation: the divergence test's reference
    f_start: np.ndarray | None = None


@dataclass
class LoopOutput:
    x: np.ndarray
    fun: np.ndarray
    grad: np.ndarray
    grad_norm: np.ndarray
    nit: np.ndarray
    status: list[Status]
    step: int
    history: History
    state: LoopState
    elapsed: float
    stop_detail: str = ""
    diverged_step: np.ndarray = field(default_factory=lambda: np.empty(0, dtype=np.int64))
    nfev: np.ndarray = field(default_factory=lambda: np.empty(0, dtype=np.int64))
    njev: np.ndarray = field(default_factory=lambda: np.empty(0, dtype=np.int64))


Callback = Callable[[StepInfo], "str | None"]

_END = object()


def descend(objective: Objective, x0: np.ndarray, stepper: Stepper, *,
            schedule: Schedule | None = None, stop: StopRules | None = None,
            batches: Iterator[Any] | None = None, callbacks: tuple[Callback, ...] = (),
            maximize: bool = False, history: History | None = None,
            state: LoopState | None = None) -> LoopOutput:
    """Run the descent loop; see the module docstring.

    ``stepper`` is an update rule (:mod:`gdlab.optim.rules`), the :class:`Armijo` line
    search or any other :class:`~gdlab.optim.stepper.Stepper`. ``maximize`` makes the run
    an ascent: the stepper must then ascend (PyTorch's ``maximize=True``) and "better"
    means larger. ``state`` continues an earlier run (its ``x`` and stepper state are used
    and updated in place).
    """
    stop = stop or StopRules()
    history = History() if history is None else history
    rows = _Rows(x0, stepper, state)
    ctx = StepContext(t=rows.state.step, lr=float("nan"), schedule=schedule or Constant(),
                      stop=stop, sign=-1.0 if maximize else 1.0, f_start=None,
                      value=_no_batch_value)
    clock0 = time.perf_counter() - rows.state.elapsed
    with np.errstate(over="ignore", invalid="ignore", divide="ignore"):
        detail = _loop(objective, stepper, rows, ctx, history, batches, callbacks, clock0)
    return rows.output(history, ctx.t, time.perf_counter() - clock0, detail)


def _loop(objective: Objective, stepper: Stepper, rows: "_Rows", ctx: StepContext,
          history: History, batches: Iterator[Any] | None, callbacks: tuple[Callback, ...],
          clock0: float) -> str:
    """The six steps, repeated while rows are active; returns a callback's stop reason.
    Runs under ``np.errstate`` that ignores overflow and invalid operations (see
    :mod:`gdlab.optim.stepper`: they show as non-finite values, which the stop rules
    report)."""
    detail = ""
    while rows.n_active:
        batch = None if batches is None else next(batches, _END)  # 1. take a batch
        if batch is _END:
            rows.finish(Status.END_OF_DATA)
            break
        ctx.lr = ctx.schedule.lr(ctx.t, stepper.lr)
        ctx.f_start = rows.f_start
        if batch is not None or ctx.value is _no_batch_value:
            ctx.value = _values_on(objective, batch)
            ctx.value_and_grad = _values_and_grads_on(objective, batch)
        ev = stepper.evaluate(objective, rows.x, batch, rows.rule_state, ctx)  # 2. evaluate
        lr = rows.record(ev, ctx, history)  # 3. record
        if rows.test_stop_rules(ev, ctx, time.perf_counter() - clock0):  # 4. stop rules
            break
        if callbacks:  # 5. callbacks
            info = rows.step_info(ev, batch, ctx.t, lr, time.perf_counter() - clock0)
            reason = _run_callbacks(callbacks, info)
            if reason:
                detail = str(reason)
                rows.finish(Status.STOPPED)
                break
        report = stepper.update(rows.x, ev, rows.rule_state, ctx)  # 6. update
        ctx.t += ev.steps
        rows.after_update(ev, report, ctx.t, history)
    return detail


def _values_on(objective: Objective, batch: Any) -> Callable[[np.ndarray], np.ndarray]:
    """The objective's values at other points, on this step's batch."""
    return lambda points: objective.value(points, batch)


def _values_and_grads_on(objective: Objective, batch: Any
                         ) -> Callable[[np.ndarray], tuple[np.ndarray, np.ndarray]]:
    """The objective's values and gradients at other points, on this step's batch."""
    return lambda points: objective.value_and_grad(points, batch)


def _no_batch_value(points: np.ndarray) -> np.ndarray:  # pragma: no cover - placeholder
    raise RuntimeError("no batch taken yet")


def _run_callbacks(callbacks: tuple[Callback, ...], info: StepInfo) -> str | None:
    """The first stop reason a callback returns, or None (the rest are not called)."""
    for cb in callbacks:
        reason = cb(info)
        if reason:
            return reason
    return None


#: up to this many rows, the quick stop filter runs on each row's Python floats
_ROWS_BY_FLOATS = 8

_add_reduce = np.add.reduce


def _quiet(f: Any, grad_norm: Any, row_sums: Any, limit: Any, f_prev: Any, stop: StopRules,
           sign: float) -> Any:
    """Where no stop rule fires (a quick filter before the exact tests): on arrays, or on
    the floats of one row."""
    probe = f + row_sums + grad_norm  # NaN or infinite when any of the three is (or overflows)
    signed = f if sign > 0 else -f
    quiet = (probe - probe == 0) & (signed <= limit)  # finite, and not exploded
    if stop.eps is not None:
        quiet = quiet & (grad_norm >= stop.eps)
    if stop.ftol is not None:
        quiet = quiet & (abs(f - f_prev) > stop.ftol * np.maximum(1.0, abs(f)))
    if stop.objective_limit is not None:
        quiet = quiet & (signed >= -stop.objective_limit)
    return quiet


def explode_limit(f_start: np.ndarray, stop: StopRules, sign: float) -> np.ndarray:
    """Per row, the signed objective past which a row has diverged ("more than ``explode``
    times worse than at the start"): ``sign*f_start + explode*(1 + |f_start|)``."""
    if not stop.explode:
        return np.full(len(f_start), np.inf)
    with np.errstate(over="ignore", invalid="ignore"):  # a huge start: no limit (inf)
        return sign * f_start + stop.explode * (1.0 + np.abs(f_start))


def stop_tests(f: np.ndarray, grad_norm: np.ndarray, x: np.ndarray, limit: np.ndarray,
               f_prev: np.ndarray, stop: StopRules, sign: float) -> dict[Status, np.ndarray]:
    """The per-row stop rules at one evaluation: ``{status: mask}`` with disjoint masks
    (only statuses that fire), in the module docstring's order of precedence. ``limit``:
    :func:`explode_limit` of the rows. Called under the loop's ``np.errstate``."""
    # a sum over a row is non-finite when any entry is (or when the row is astronomically
    # large, which is divergence too): one pass, no full-size temporary (add.reduce has
    # half einsum's cost per call on a few elements, einsum is faster on long rows)
    row_sums = _add_reduce(x, 1) if x.size <= 4096 else np.einsum("ij->i", x)
    if len(f) <= _ROWS_BY_FLOATS:  # Python floats: numpy calls cost more on a few elements
        quiet = all(_quiet(*row, stop, sign) for row in zip(
            f.tolist(), grad_norm.tolist(), row_sums.tolist(), limit.tolist(), f_prev.tolist()))
    else:
        quiet = _quiet(f, grad_norm, row_sums, limit, f_prev, stop, sign).all()
    if quiet:  # the common case: every row goes on
        return {}
    if stop.ftol is not None:
        ftol = np.abs(f - f_prev) <= stop.ftol * np.maximum(1.0, np.abs(f))
    finite_x = np.isfinite(row_sums)
    finite = np.isfinite(f) & finite_x
    bad = ~finite | (sign * f > limit)
    out: dict[Status, np.ndarray] = {}
    if stop.undefined or stop.objective_limit is not None:
        # outcomes that read better than "diverged": outside the domain, or unbounded
        known = np.zeros(len(f), dtype=bool)
        if stop.undefined:
            out[Status.UNDEFINED] = known = np.isnan(f) & finite_x
        if stop.objective_limit is not None:
            out[Status.UNBOUNDED] = (sign * f < -stop.objective_limit) & ~known
            known = known | out[Status.UNBOUNDED]
        bad &= ~known
        finite &= ~known
    out[Status.DIVERGED] = bad
    out[Status.NO_GRADIENT] = finite & ~np.isfinite(grad_norm) & ~bad
    done = np.logical_or.reduce(list(out.values()))
    if stop.eps is not None:
        out[Status.CONVERGED] = (grad_norm < stop.eps) & ~done
        done = done | out[Status.CONVERGED]
    if stop.ftol is not None:
        out[Status.FTOL] = ftol & ~done
    return {s: m for s, m in out.items() if m.any()}


class _Rows:
    """The loop's rows: full-size outputs (``x``, ``F``, ``G``, per-row counters and
    statuses) and the compact working set of the rows still moving.

    While every row moves, the working arrays *are* the full arrays (no copies). Once a
    row stops, the working set is compacted (``x`` and the stepper's state keep only the
    moving rows) and the full arrays are written back after each update."""

    def __init__(self, x0: np.ndarray, stepper: Stepper, state: LoopState | None):
        if state is None:
            x = np.array(x0, copy=True)
            if x.ndim == 1:
                x = x[None, :]
            state = LoopState(x=x, rule_state=stepper.init(x))
        self.state = state
        self.stepper = stepper
        full = state.x
        n = full.shape[0]
        if state.active is None:
            state.active = np.ones(n, dtype=bool)
            state.nit = np.zeros(n, dtype=np.int64)
        assert state.nit is not None
        self.idx = np.flatnonzero(state.active)
        self.status: list[Status] = [Status.STOPPED] * n
        self.F = np.full(n, np.nan)
        self.G: np.ndarray = np.zeros_like(full)
        self._own_G = True
        self.GN = np.full(n, np.nan)
        self.nfev = np.zeros(n, dtype=np.int64)
        self.njev = np.zeros(n, dtype=np.int64)
        #: evaluations, gradient evaluations and steps that every working row made and
        #: that are not yet added to ``nfev``, ``njev`` and ``state.nit`` (added when the
        #: working set changes and at the end: Python integers cost less per step)
        self.pending = [0, 0, 0]
        self.diverged_step = np.full(n, -1, dtype=np.int64)
        self.f_prev = np.full(len(self.idx), np.nan)
        self.f_start = None if state.f_start is None else state.f_start[self.idx]
        self.limit: np.ndarray | None = None  # explode_limit of the working rows
        self.x = full
        self.rule_state = state.rule_state
        if len(self.idx) < n:
            self.x = full[self.idx]
            keep = state.active
            if any(isinstance(v, np.ndarray) and v.ndim and v.shape[0] == n
                   for v in self.rule_state.values()):
                stepper.select(self.rule_state, keep)

    @property
    def n_active(self) -> int:
        return len(self.idx)

    @property
    def compact(self) -> bool:
        return len(self.idx) < self.state.x.shape[0]

    def record(self, ev: Evaluation, ctx: StepContext, history: History) -> float:
        """Keep the evaluation in the full arrays and the history; returns the learning rate
        recorded (that of the last step the evaluation stands for)."""
        if self.compact:
            self.F[self.idx] = ev.f
            self.GN[self.idx] = ev.grad_norm
            if not self._own_G:  # the first time rows differ: a full array of our own
                self.G = np.array(self.G, copy=True)
                self._own_G = True
            self.G[self.idx] = np.nan if ev.g is None else ev.g
        else:
            self.F[:] = ev.f
            self.GN[:] = ev.grad_norm
            # no copy: the update reads it before the next evaluation replaces it
            self.G = np.full_like(self.x, np.nan) if ev.g is None else ev.g
            self._own_G = ev.g is None
        self.pending[0] += ev.nfev
        self.pending[1] += ev.njev
        if self.f_start is None:
            first = ev.f if ev.f_first is None else ev.f_first
            self.f_start = np.array(first, dtype=float, copy=True)
            self.state.f_start = np.full(self.state.x.shape[0], np.nan)
            self.state.f_start[self.idx] = self.f_start
        lr = ctx.lr if ev.steps <= 1 else float(ctx.schedule.lr(ctx.t + ev.steps - 1,
                                                                  self.stepper.lr))
        x = self.state.x
        if x.shape[0] > 1:
            history.append(ctx.t, x, self.F, self.GN, lr)
        else:
            history.append(ctx.t, x[0], self.F[0], self.GN[0], lr)
        ctx.schedule.observe(ctx.t, ev.f)  # a schedule driven by the loss (ReduceLROnPlateau)
        return lr

    def test_stop_rules(self, ev: Evaluation, ctx: StepContext, elapsed: float) -> bool:
        """Step 4: freeze the rows a stop rule stops; True when the run is over."""
        stop = ctx.stop
        if ev.status is not None:
            verdicts = {s: np.array([v == s for v in ev.status]) for s in set(ev.status)
                        if s is not None}
        else:
            assert self.f_start is not None
            if self.limit is None:
                self.limit = explode_limit(self.f_start, stop, ctx.sign)
            verdicts = stop_tests(ev.f, ev.grad_norm, self.x, self.limit, self.f_prev,
                                  stop, ctx.sign)
        self.f_prev = ev.f.astype(float, copy=True) if stop.ftol is not None else self.f_prev
        if verdicts:
            keep = self._stop(verdicts, ctx.t)
            if not self.n_active:
                return True
            ev.f, ev.grad_norm = ev.f[keep], ev.grad_norm[keep]  # the update moves the rest
            ev.g = None if ev.g is None else ev.g[keep]
        if stop.max_iter is not None and ctx.t >= stop.max_iter:
            self.finish(Status.MAX_ITER)
            return True
        if stop.time_limit is not None and elapsed >= stop.time_limit:
            self.finish(Status.TIME_LIMIT)
            return True
        return False

    def step_info(self, ev: Evaluation, batch: Any, t: int, lr: float,
                  elapsed: float) -> StepInfo:
        return StepInfo(t, self.state.x, self.F, self.G, self.GN, lr,
                        batch if ev.batch is None else ev.batch, elapsed)

    def after_update(self, ev: Evaluation, report: StepReport | None, t: int,
                     history: History) -> None:
        """Count the step, write the moved rows back, and stop the rows the update stopped."""
        assert self.state.nit is not None
        if report is None:
            self.pending[2] += ev.steps
        else:
            moved = self.idx if report.moved is None else self.idx[report.moved]
            self.state.nit[moved] += ev.steps
            if np.any(report.nfev):
                self.nfev[self.idx] += report.nfev
            if report.lr is not None:
                history.set_last_lr(report.lr)
        if self.compact:
            self.state.x[self.idx] = self.x
        if report is not None and report.stop:
            if report.fun is not None:
                hit = np.logical_or.reduce(list(report.stop.values()))
                self.F[self.idx[hit]] = report.fun[hit]
            self._stop(report.stop, t)

    def _stop(self, verdicts: Mapping[Status, np.ndarray], t: int) -> np.ndarray:
        """Stop the working rows in the masks of ``verdicts`` and compact the working set;
        returns the mask of the rows kept."""
        self._add_pending()
        done = np.zeros(len(self.idx), dtype=bool)
        for status, mask in verdicts.items():
            rows = self.idx[mask]
            for i in rows:
                self.status[i] = status
            if status == Status.DIVERGED:
                self.diverged_step[rows] = t
            done |= mask
        stopped = self.idx[done]
        self.state.x[stopped] = self.x[done]
        assert self.state.active is not None
        self.state.active[stopped] = False
        keep = ~done
        self.idx = self.idx[keep]
        self.x = self.state.x[self.idx]
        self.stepper.select(self.rule_state, keep)
        self.f_prev = self.f_prev[keep]
        if self.f_start is not None:
            self.f_start = self.f_start[keep]
        if self.limit is not None:
            self.limit = self.limit[keep]
        return keep

    def _add_pending(self) -> None:
        """Add the counts every working row made to the per-row counters."""
        assert self.state.nit is not None
        rows = self.idx if self.compact else slice(None)  # a slice: no gather while all move
        for k, counts in enumerate((self.nfev, self.njev, self.state.nit)):
            if self.pending[k]:
                counts[rows] += self.pending[k]
                self.pending[k] = 0

    def finish(self, status: Status) -> None:
        """Every working row stops with ``status`` (a limit: they stay resumable)."""
        for i in self.idx:
            self.status[i] = status

    def output(self, history: History, t: int, elapsed: float, detail: str) -> LoopOutput:
        self._add_pending()
        st = self.state
        assert st.nit is not None
        st.step = t
        st.elapsed = elapsed
        return LoopOutput(x=st.x, fun=self.F, grad=self.G, grad_norm=self.GN, nit=st.nit.copy(),
                          status=list(self.status), step=t, history=history, state=st,
                          elapsed=elapsed, stop_detail=detail, diverged_step=self.diverged_step,
                          nfev=self.nfev, njev=self.njev)
