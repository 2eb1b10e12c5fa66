"""The descent loop: the one loop that formulas, models and training all share.

::

    x <- x - lr * grad(objective, x, batch)        (or the rule's update)

repeated until a stop rule fires. ``x`` is 2-D, ``(n_starts, d)``: every row is
its own run with its own stop status, and all rows move together in vectorized
operations (no Python loop over rows). A model's flat parameter vector is the
one-row case.

The objective is anything with

``value_and_grad(x, batch) -> (f, g)``
    ``f`` of shape ``(n,)`` and ``g`` of shape ``(n, d)`` for the ``n`` rows of ``x``;
``value(x, batch) -> f``
    needed only by the line search.

``batches`` is an iterator of whatever the objective takes as ``batch``
(``None`` for formulas: the loop then passes ``None`` forever). When it is
exhausted the run ends with status ``"end_of_data"`` (training: the last epoch).

Stop rules, in the order they are tested after each evaluation:

* ``diverged``: non-finite value or point, or the objective more than ``explode`` times
  worse than at the start;
* ``no_gradient``: the value is finite but the gradient is not (a kink such as Ackley's
  minimum, where the formula's derivative is 0/0);
* ``converged``: ``‖grad‖ < eps`` (``|grad|`` for one variable), as in the lecture;
* ``ftol``: ``|f_k - f_{k-1}| <= ftol * max(1, |f_k|)``;
* ``max_iter``: ``max_iter`` updates made;
* ``time_limit``: the time budget is spent;
* a callback returned a reason (early stopping, a signal, ...).

A *sweep* rule (``rule.sweeps`` true, e.g. :class:`gdlab.models.kernels.SGDSweep`) runs
many consecutive one-sample steps in compiled code: each batch is then a segment of
samples, stepped in order with the stop rules above tested per sample inside the sweep,
and the loop step (one per segment) advances the step count by the samples stepped.
Callbacks see each segment once, at its start: ``x`` and the rule state as they were
before it, ``fun`` its mean loss, ``batch`` the samples stepped. One row only, no line
search, no ``max_iter`` (training cuts segments where callbacks need a step boundary).
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Any, Callable, Iterator, Protocol

import numpy as np

from .optim.linesearch import Armijo
from .optim.rules import Rule
from .optim.schedules import Constant, Schedule
from .result import History

#: per-row status codes the loop reports
CONVERGED, FTOL, MAX_ITER, DIVERGED, TIME_LIMIT, END_OF_DATA, STALLED, STOPPED, NO_GRADIENT = (
    "converged", "ftol", "max_iter", "diverged", "time_limit", "end_of_data", "stalled",
    "stopped", "no_gradient")
SUCCESS = (CONVERGED, FTOL)


class Objective(Protocol):
    def value_and_grad(self, x: np.ndarray, batch: Any) -> tuple[np.ndarray, np.ndarray]: ...

    def value(self, x: np.ndarray, batch: Any) -> np.ndarray: ...


@dataclass
class StopRules:
    """When the loop stops (see the module docstring). ``None`` turns a rule off."""

    eps: float | None = 1e-6
    max_iter: int | None = 10_000
    ftol: float | None = None
    time_limit: float | None = None
    explode: float = 1e10


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
    rule_state: dict[str, Any]
    step: int = 0
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
    status: list[str]
    step: int
    history: History
    state: LoopState
    elapsed: float
    stop_detail: str = ""
    diverged_step: np.ndarray = field(default_factory=lambda: np.empty(0, dtype=np.int64))


Callback = Callable[[StepInfo], "str | None"]


def descend(objective: Objective, x0: np.ndarray, rule: Rule | Armijo, *,
            schedule: Schedule | None = None, stop: StopRules | None = None,
            batches: Iterator[Any] | None = None, callbacks: tuple[Callback, ...] = (),
            maximize: bool = False, history: History | None = None,
            state: LoopState | None = None) -> LoopOutput:
    """Run the descent loop; see the module docstring.

    ``rule`` is an update rule (:mod:`gdlab.optim.rules`) or an :class:`Armijo`
    line search. ``maximize`` makes the run an ascent: the rule must then have
    been built with ``maximize=True`` (PyTorch's convention) and "better" means
    larger. ``state`` continues an earlier run (its ``x`` and rule state are
    used and updated in place).
    """
    stop = stop or StopRules()
    schedule = schedule or Constant()
    if history is None:
        history = History()
    sign = -1.0 if maximize else 1.0
    line_search = isinstance(rule, Armijo)
    sweeping = bool(getattr(rule, "sweeps", False))
    if sweeping and (maximize or stop.max_iter is not None or
                     (state is not None and state.x.shape[0] != 1) or
                     (state is None and np.ndim(x0) == 2 and np.shape(x0)[0] != 1)):
        raise ValueError("a sweep rule runs one row without max_iter, minimizing")

    if state is None:
        x = np.array(x0, copy=True)
        if x.ndim == 1:
            x = x[None, :]
        state = LoopState(x=x, rule_state=rule.init(x))
    x = state.x
    n, d = x.shape
    if state.active is None:
        state.active = np.ones(n, dtype=bool)
        state.nit = np.zeros(n, dtype=np.int64)
    active, nit = state.active, state.nit
    status = ["" if a else STOPPED for a in active]
    F = np.full(n, np.nan)
    G = np.zeros_like(x)
    GN = np.full(n, np.nan)
    f_prev = np.full(n, np.nan)
    f_start = state.f_start
    diverged_step = np.full(n, -1, dtype=np.int64)
    frozen = x.copy() if not active.all() else None
    base_lr = rule.lr
    t = state.step
    detail = ""
    clock0 = time.perf_counter() - state.elapsed

    end = object()
    while True:
        batch = None
        if batches is not None:
            batch = next(batches, end)
            if batch is end:
                _finish(status, active, END_OF_DATA)
                break
        if sweeping:
            k = len(batch[0])
            lrs = (np.array([base_lr]) if isinstance(schedule, Constant) else
                   np.array([schedule.lr(t + i, base_lr) for i in range(k)], dtype=np.float64))
            x_before = x.copy()
            rs_before = dict(state.rule_state)
            f0 = float("nan") if f_start is None else float(f_start[0])
            done, fsum, code, f_first, f_last, gn = rule.sweep(
                x[0], batch, state.rule_state, lrs, f0, stop.explode or 0.0, stop.eps or 0.0)
            if f_start is None:
                f_start = state.f_start = np.array([f_first])
            F[0] = fsum / done if done else f_last
            GN[0] = gn
            G[...] = np.nan  # a sweep keeps no gradient
            lr = float(lrs[0] if len(lrs) == 1 else lrs[min(done, k - 1)])
            history.append(t, x_before[0], F[0], GN[0], lr)
            elapsed = time.perf_counter() - clock0
            if done and callbacks:
                stepped = batch if done == k else (batch[0][:done], batch[1][:done])
                rs_after = dict(state.rule_state)
                state.rule_state.update(rs_before)
                reason = _run_callbacks(callbacks, StepInfo(t, x_before, F, G, GN, lr, stepped,
                                                            elapsed))
                if reason:  # stopped before this segment, as the loop stops before an update
                    x[...] = x_before
                    detail = str(reason)
                    _finish(status, active, STOPPED)
                    break
                state.rule_state.update(rs_after)
            t += done
            nit += done
            if code:
                status[0] = code
                F[0] = f_last
                if code == DIVERGED:
                    diverged_step[0] = t
                active[:] = False
                break
            if stop.time_limit is not None and elapsed >= stop.time_limit:
                _finish(status, active, TIME_LIMIT)
                break
            continue
        all_active = bool(active.all())
        rows = None if all_active else np.flatnonzero(active)
        xa = x if all_active else x[rows]
        with np.errstate(over="ignore", invalid="ignore", divide="ignore"):
            fa, ga = objective.value_and_grad(xa, batch)
        fa = np.asarray(fa).reshape(-1)
        gna = _row_norms(ga) if d > 1 else np.abs(ga[:, 0])
        if all_active:
            F[:] = fa
            G = ga  # no copy: the update below reads it before the next evaluation
            GN[:] = gna
        else:
            if G is ga or not G.flags.writeable or G.shape != x.shape:
                G = np.array(G, copy=True)  # the first time rows differ: a full array of our own
            F[rows] = fa
            G[rows] = ga
            GN[rows] = gna
        if f_start is None:
            f_start = state.f_start = F.copy()
        lr = float(schedule.lr(t, base_lr)) if not line_search else float("nan")
        history.append(t, x if n > 1 else x[0], F if n > 1 else F[0], GN if n > 1 else GN[0], lr)

        # per-row stop rules
        # a sum over a row is non-finite when any entry is (or when the row is astronomically
        # large, which is divergence too): one pass with no full-size temporary
        finite_f = np.isfinite(fa) & np.isfinite(np.einsum("ij->i", xa))
        no_grad = finite_f & ~np.isfinite(gna)
        bad = ~finite_f
        if stop.explode:
            with np.errstate(invalid="ignore", over="ignore"):
                f0 = f_start if all_active else f_start[rows]
                bad |= sign * (fa - f0) > stop.explode * (1.0 + np.abs(f0))
        finished = bad | no_grad
        conv = np.zeros_like(bad)
        if stop.eps is not None:
            conv = (gna < stop.eps) & ~bad
            finished |= conv
        ftol_hit = np.zeros_like(bad)
        if stop.ftol is not None:
            fp = f_prev if all_active else f_prev[rows]
            with np.errstate(invalid="ignore"):
                ftol_hit = ((np.abs(fa - fp) <= stop.ftol * np.maximum(1.0, np.abs(fa)))
                            & ~bad & ~conv & ~no_grad)
            finished |= ftol_hit
        if all_active:
            f_prev[:] = fa
        else:
            f_prev[rows] = fa
        if finished.any():
            idx = np.arange(n) if all_active else rows
            for i, b, ng, c in zip(idx[finished], bad[finished], no_grad[finished],
                                   conv[finished]):
                status[i] = DIVERGED if b else NO_GRADIENT if ng else CONVERGED if c else FTOL
                if b:
                    diverged_step[i] = t
            if frozen is None:
                frozen = x.copy()
            fin_rows = idx[finished]
            frozen[fin_rows] = x[fin_rows]
            active[fin_rows] = False
            if not active.any():
                break
        if stop.max_iter is not None and t >= stop.max_iter:
            _finish(status, active, MAX_ITER)
            break
        elapsed = time.perf_counter() - clock0
        if stop.time_limit is not None and elapsed >= stop.time_limit:
            _finish(status, active, TIME_LIMIT)
            break
        if callbacks:
            reason = _run_callbacks(callbacks, StepInfo(t, x, F, G, GN, lr, batch, elapsed))
            if reason:
                detail = str(reason)
                _finish(status, active, STOPPED)
                break

        # the update
        all_active = bool(active.all())
        rows = None if all_active else np.flatnonzero(active)
        if line_search:
            fa_act = F if all_active else F[rows]
            ga_act = G if all_active else G[rows]
            steps, stalled = rule.step(x, fa_act, ga_act, state.rule_state,
                                       lambda p: objective.value(p, batch), rows, sign)
            history.set_last_lr(float(steps[0]) if n == 1 else float(np.nanmedian(steps)))
            if stalled.any():
                st_rows = np.arange(n)[stalled] if all_active else rows[stalled]
                for i in st_rows:
                    status[i] = STALLED
                active[st_rows] = False
                if frozen is None:
                    frozen = x.copy()
                frozen[st_rows] = x[st_rows]
        else:
            # an overflow here shows as a non-finite point at the next evaluation: "diverged"
            with np.errstate(over="ignore", invalid="ignore", divide="ignore"):
                rule.step(x, G, state.rule_state, lr)
            if not all_active:
                done = ~active
                x[done] = frozen[done]
        nit[active] += 1
        t += 1
        if not active.any():
            # stalled rows: evaluate once more is unnecessary, their last F/G stand
            break

    elapsed = time.perf_counter() - clock0
    state.step = t
    state.elapsed = elapsed
    return LoopOutput(x=x, fun=F, grad=G, grad_norm=GN, nit=nit.copy(), status=status, step=t,
                      history=history, state=state, elapsed=elapsed, stop_detail=detail,
                      diverged_step=diverged_step)


def _run_callbacks(callbacks: tuple[Callback, ...], info: StepInfo) -> str | None:
    """The first stop reason a callback returns, or None (the rest are not called)."""
    for cb in callbacks:
        reason = cb(info)
        if reason:
            return reason
    return None


def _row_norms(g: np.ndarray) -> np.ndarray:
    """‖g_i‖ of every row: ``vecdot`` for long rows (a model's gradient: ~2.5x faster),
    ``einsum`` for short ones (many starts of a formula, where it is faster)."""
    if g.shape[1] >= 64 and hasattr(np, "vecdot"):
        return np.sqrt(np.vecdot(g, g))
    return np.sqrt(np.einsum("ij,ij->i", g, g))


def _finish(status: list[str], active: np.ndarray, code: str) -> None:
    for i in np.flatnonzero(active):
        status[i] = code
    active[:] = False
