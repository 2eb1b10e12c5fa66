"""Several optimizers side by side in one descent loop: a stepper whose rows come in groups,
each group moved by its own update rule and learning-rate schedule.

The playground races up to eight optimizers from the same starts. Run one after the other,
each :func:`gdlab.minimize` pays the loop's per-step cost (evaluation, stop tests, history)
again; run as groups of rows of one ``minimize``, one vectorized evaluation and one set of
stop tests serve them all, and only the updates are per group. Every update rule is
elementwise per row, so each row follows exactly the path it follows alone.

The groups whose rule is fused (:mod:`gdlab.optim.fused`: SGD, Adam, AdamW, RMSprop,
Adagrad, as the playground makes them when numba is installed) step together in one call
of :func:`gdlab.kernels.mixed_kernel`, the same kernels as one call per group, so the same
numbers; on a race's few rows, the cost of a call, not the arithmetic, is what a step of
the updates costs. The other groups take their rule's own step.

The rows of group ``k`` are contiguous; the loop's compaction keeps them contiguous, and
``select`` keeps each group's count and state in step with it.
"""

from __future__ import annotations

import threading
from dataclasses import replace
from typing import Any

import numpy as np

from .. import kernels
from ..optim.fused import Fused
from ..optim.rules import Rule
from ..optim.schedules import Schedule
from ..optim.stepper import Evaluation, State, StepContext


class Mixed(Rule):
    """Groups of rows, ``(rule, schedule, n_rows)`` each, in the order of the rows.

    Its own ``lr`` is NaN: the loop's learning rate (and what the history records) does
    not apply; each group steps with ``schedule.lr(t, rule.lr)`` (and the schedule's
    momentum, when it sets one, as :meth:`Rule.update` does). Reasons that depend on
    the learning rate (the 2/L hint of a diverged run) therefore come from running the
    group alone (:mod:`gdlab.serve.explore` does).

    The fused groups' state arrays live in one float64 array of *slots*, ``(slots, rows,
    d)``, each array the group's rows of a slot (a view: the rule's own step, which a
    group takes when the kernel does not apply, updates the same numbers); slot 0 stands
    for the arrays a kernel does not use. They are packed at ``init`` and after every
    ``select``.
    """

    name = "mixed"

    def __init__(self, groups: list[tuple[Rule, Schedule, int]], maximize: bool = False):
        self.groups = groups
        self.lr = float("nan")
        self.maximize = maximize
        #: per group, whether its schedule may set more than the rate (OneCycleLR's momentum)
        self._cycles = [not schedule.rate_only for _, schedule, _ in groups]

    def init(self, params: np.ndarray) -> State:
        state: State = {"step": 0, "counts": [], "groups": []}
        a = 0
        for rule, _, n in self.groups:
            state["groups"].append(rule.init(params[a:a + n]))
            state["counts"].append(n)
            a += n
        self._pack(state, params.shape[1] if params.ndim == 2 else 0, params.dtype)
        return state

    def update(self, x: np.ndarray, ev: Evaluation, state: State, ctx: StepContext) -> None:
        g = ev.g
        assert g is not None, "update rules need the gradient"
        together = state["codes"] is not None and g.shape == x.shape and _plain(x) and \
            _plain(g)
        packed = state["packed"] if together else [False] * len(self.groups)
        hp: list[Any] = []
        t = ctx.t
        a = 0  # (under the loop's np.errstate)
        for (rule, schedule, _), n, sub, cycles, fused in zip(
                self.groups, state["counts"], state["groups"], self._cycles, packed):
            b = a + n
            if not n:
                continue
            if fused:  # stepped below, with the other fused groups
                assert isinstance(rule, Fused)
                hp.extend(rule.scalars(sub, schedule.lr(t, rule.lr), None, float))
            else:  # slices are views: the rule updates the rows of x in place
                m = rule.scheduled_momentum(replace(ctx, schedule=schedule)) if cycles \
                    else None  # a schedule that sets the momentum (or refuses the rule)
                if m is None:
                    rule.step(x[a:b], g[a:b], sub, schedule.lr(t, rule.lr))
                else:
                    rule.step(x[a:b], g[a:b], sub, schedule.lr(t, rule.lr),
                              momentum=m)  # type: ignore[call-arg]
            a = b
        if hp:
            kernels.mixed_kernel()(x, g, state["codes"], state["bounds"], state["slots"],
                                   state["idx"], np.array(hp, dtype=float))
        state["step"] += 1

    def step(self, params: np.ndarray, grad: np.ndarray, state: State, lr: float) -> None:
        raise NotImplementedError("Mixed steps through update()")

    def select(self, state: State, keep: np.ndarray) -> None:
        a = 0
        for k, ((rule, _, _), n) in enumerate(zip(self.groups, state["counts"])):
            part = keep[a:a + n]
            rule.select(state["groups"][k], part)
            state["counts"][k] = int(part.sum())
            a += n
        self._pack(state, state["slots"].shape[2] if state["codes"] is not None else 0,
                   np.dtype(float))

    def config(self) -> dict[str, Any]:
        return {"name": self.name, "groups": [dict(rule.config(), schedule=schedule.config(),
                                                   rows=n) for rule, schedule, n in self.groups]}

    def _pack(self, state: State, d: int, dtype: Any) -> None:
        """Put the state arrays of the groups the mixed kernel can step into slots (see the
        class docstring): a fused rule on float64 rows, whose schedule sets only the rate,
        with every array its kernel takes."""
        counts = state["counts"]
        state["bounds"] = np.cumsum([0, *counts], dtype=np.int64)
        state["packed"] = [False] * len(self.groups)
        state["codes"] = state["slots"] = state["idx"] = None
        if dtype != np.float64 or not d or kernels.mixed_kernel() is None:
            return
        found: list[tuple[int, tuple[Any, ...]]] = []
        for k, ((rule, _, _), n, sub, cycles) in enumerate(zip(
                self.groups, counts, state["groups"], self._cycles)):
            arrays = rule.arrays(sub, None) if isinstance(rule, Fused) and not cycles \
                else None
            if arrays is not None and all(
                    s is None or (isinstance(s, np.ndarray) and s.shape == (n, d) and _plain(s))
                    for s in arrays):
                found.append((k, arrays))
        if not found:
            return
        distinct = {id(s): s for _, arrays in found for s in arrays if s is not None}
        slot_of = {key: j + 1 for j, key in enumerate(distinct)}  # slot 0: the stand-in
        slots = np.zeros((len(distinct) + 1, int(state["bounds"][-1]), d))
        idx = np.zeros((len(self.groups), 3), dtype=np.int64)
        codes = np.full(len(self.groups), -1, dtype=np.int64)
        for k, arrays in found:
            a, b = state["bounds"][k], state["bounds"][k + 1]
            sub = state["groups"][k]
            for j, s in enumerate(arrays):
                if s is not None:
                    idx[k, j] = slot_of[id(s)]
                    slots[idx[k, j], a:b] = s
            for key, v in list(sub.items()):  # the state's arrays become views of slots
                if isinstance(v, np.ndarray) and id(v) in slot_of:
                    sub[key] = slots[slot_of[id(v)], a:b]
            codes[k] = self.groups[k][0].code  # type: ignore[attr-defined]
            state["packed"][k] = True
        state["codes"], state["slots"], state["idx"] = codes, slots, idx


_preparing = threading.Lock()
_prepared = False


def ready() -> None:
    """:func:`prepare` once per process: the first caller waits for it (a request waits for
    the server's warm-up rather than spend its wall-clock limit compiling); later calls
    return at once."""
    global _prepared
    if not _prepared:
        with _preparing:
            if not _prepared:
                prepare()
                _prepared = True


def prepare() -> bool:
    """Compile the fused steps and the mixed kernel now (or load them from numba's cache),
    as a race of the four fused rules for two steps; ``False`` without numba. The server
    calls it while the browser opens, so that the first race does not wait."""
    from ..optim.fused import make_fused
    from ..optim.fused import prepare as prepare_steps
    from ..optim.rules import make_rule
    from ..optim.schedules import Constant
    from ..optimize import minimize

    if not prepare_steps():
        return False
    groups: list[tuple[Rule, Schedule, int]] = []
    for name in ("sgd", "adam", "rmsprop", "adagrad"):
        fused = make_fused(make_rule(name, lr=0.1), required=True)
        assert fused is not None
        groups.append((fused, Constant(), 1))
    minimize(lambda X: (X ** 2).sum(axis=1), x0=np.ones((4, 2)), optimizer=Mixed(groups),
             grad=lambda X: 2 * X, vectorized=True, max_iter=2)
    return True


def _plain(a: np.ndarray) -> bool:
    return a.dtype == np.float64 and a.ndim == 2 and a.flags.c_contiguous
