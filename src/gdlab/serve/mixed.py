"""Several optimizers side by side in one descent loop: a stepper whose rows come in groups,
each group moved by its own update rule and learning-rate schedule.

The playground races up to eight optimizers from the same starts. Run one after the other,
each :func:`gdlab.minimize` pays the loop's per-step cost (evaluation, stop tests, history)
again; run as groups of rows of one ``minimize``, one vectorized evaluation and one set of
stop tests serve them all, and only the updates are per group. Every update rule is
elementwise per row, so each row follows exactly the path it follows alone.

The rows of group ``k`` are contiguous; the loop's compaction keeps them contiguous, and
``select`` keeps each group's count and state in step with it.
"""

from __future__ import annotations

from dataclasses import replace
from typing import Any

import numpy as np

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
        return state

    def update(self, x: np.ndarray, ev: Evaluation, state: State, ctx: StepContext) -> None:
        g = ev.g
        assert g is not None, "update rules need the gradient"
        a = 0  # (under the loop's np.errstate)
        t = ctx.t
        for (rule, schedule, _), n, sub, cycles in zip(self.groups, state["counts"],
                                                       state["groups"], self._cycles):
            if n:  # slices are views: the rule updates the rows of x in place
                b = a + n
                m = rule.scheduled_momentum(replace(ctx, schedule=schedule)) if cycles \
                    else None  # a schedule that sets the momentum (or refuses the rule)
                if m is None:
                    rule.step(x[a:b], g[a:b], sub, schedule.lr(t, rule.lr))
                else:
                    rule.step(x[a:b], g[a:b], sub, schedule.lr(t, rule.lr), momentum=m)
                a = b
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

    def config(self) -> dict[str, Any]:
        return {"name": self.name, "groups": [dict(rule.config(), schedule=schedule.config(),
                                                   rows=n) for rule, schedule, n in self.groups]}
