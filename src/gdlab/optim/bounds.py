r"""Box constraints ``lo <= x <= hi`` as a projected step.

:class:`Projected` wraps any stepper: its update is the inner stepper's update followed by
the projection onto the box (every coordinate clipped into ``[lo, hi]``), which is
projected gradient descent for plain SGD and the usual projected variant for every other
optimizer. So the result of a bounded run is always inside the box, for every optimizer.

The stationarity test changes with the box: at a bound whose gradient points outwards the
gradient never vanishes, but nothing can move either. The ``eps`` test therefore compares
the *projected gradient*

.. math:: \|x - P(x - \nabla f(x))\|,

the quantity L-BFGS-B's ``pgtol`` tests (:math:`P` the projection; :math:`x + \nabla f`
when maximizing), which is :math:`\|\nabla f\|` inside the box.

The line search (:class:`~gdlab.optim.linesearch.Armijo`) takes the projection for its
trial points too (``Armijo(project=...)``), so its steps stay in the box and its
sufficient-decrease test measures the projected step.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from .stepper import Evaluation, Objective, State, StepContext, Stepper, StepReport


class Projected(Stepper):
    """The stepper ``inner`` with every update projected onto the box ``[lo, hi]``
    (arrays of one bound per variable; ``-inf``/``inf`` for a free side)."""

    def __init__(self, inner: Stepper, lo: np.ndarray, hi: np.ndarray):
        self.inner = inner
        self.lo = np.asarray(lo, dtype=float)
        self.hi = np.asarray(hi, dtype=float)
        self.name = inner.name
        self.lr = inner.lr
        self.maximize = inner.maximize

    def clip(self, x: np.ndarray) -> np.ndarray:
        """``x`` projected onto the box (a new array)."""
        return np.clip(x, self.lo, self.hi)

    def init(self, x: np.ndarray) -> State:
        return self.inner.init(x)

    def config(self) -> dict[str, Any]:
        return self.inner.config()

    def evaluate(self, objective: Objective, x: np.ndarray, batch: Any, state: State,
                 ctx: StepContext) -> Evaluation:
        ev = self.inner.evaluate(objective, x, batch, state, ctx)
        if ev.g is not None:
            step = x - np.clip(x - ctx.sign * ev.g, self.lo, self.hi)
            ev.grad_norm = (np.abs(step[:, 0]) if step.shape[1] == 1 else
                            np.sqrt(np.einsum("ij,ij->i", step, step)))
            # a non-finite gradient stays non-finite (the loop's "no gradient" test)
            bad = ~np.isfinite(ev.g).all(axis=1)
            if bad.any():
                ev.grad_norm[bad] = np.nan
        return ev

    def update(self, x: np.ndarray, ev: Evaluation, state: State,
               ctx: StepContext) -> StepReport | None:
        report = self.inner.update(x, ev, state, ctx)
        np.clip(x, self.lo, self.hi, out=x)
        return report

    def select(self, state: State, keep: np.ndarray) -> None:
        self.inner.select(state, keep)
