r"""Backtracking (Armijo) line search along the gradient, one step size per start.

Used when the user gives no learning rate: each step moves along
:math:`-\nabla f` (or :math:`+\nabla f` for ascent) by the largest
:math:`t = t_0 \rho^k` that satisfies Armijo's sufficient-decrease condition

.. math:: f(x - t\,\nabla f(x)) \le f(x) - c\, t\, \|\nabla f(x)\|^2 .

The trial step :math:`t_0` is the Barzilai–Borwein step
:math:`s^\top s / s^\top y` (:math:`s = x_k - x_{k-1}`, :math:`y = g_k - g_{k-1}`)
when it is positive, which makes plain gradient descent fast on valleys such as
Rosenbrock's; otherwise twice the last accepted step. Every start (row of ``x``)
has its own step size; all rows are tried at once.
"""

from __future__ import annotations

from typing import Any, Callable

import numpy as np

from .. import checks
from ..result import Status
from .stepper import Evaluation, State, StepContext, Stepper, StepReport


class Armijo(Stepper):
    """Armijo backtracking with Barzilai–Borwein trial steps.

    Parameters
    ----------
    c : float
        Sufficient-decrease constant, in (0, 1).
    shrink : float
        Factor applied to the step on each failed trial, in (0, 1).
    max_backtracks : int
        Trials per step before the start is declared stalled.
    t_init : float or None
        First trial step; ``None`` uses ``1 / max(1, ‖g‖)``.
    project : callable or None
        A projection applied to every trial point (bounds: see
        :mod:`gdlab.optim.bounds`); the sufficient-decrease test then measures the
        projected step: ``f(x_t) <= f(x) + c * grad(x) . (x_t - x)``.
    """

    name = "armijo"

    def __init__(self, c: float = 1e-4, shrink: float = 0.5, max_backtracks: int = 60,
                 t_init: float | None = None,
                 project: Callable[[np.ndarray], np.ndarray] | None = None):
        self.c = checks.number("c", c, low=0, high=1, low_open=True, high_open=True)
        self.shrink = checks.number("shrink", shrink, low=0, high=1, low_open=True,
                                    high_open=True)
        self.max_backtracks = checks.count("max_backtracks", max_backtracks, minimum=1)
        self.t_init = checks.number("t_init", t_init, low=0, none=True)
        self.project = project
        self.maximize = False
        self.lr = float("nan")

    def config(self) -> dict[str, Any]:
        return {"name": "line_search", "c": self.c, "shrink": self.shrink}

    def init(self, params: np.ndarray) -> State:
        n = params.shape[0]
        return {"step": 0, "prev_x": np.zeros_like(params), "prev_g": np.zeros_like(params),
                "t": np.full(n, np.nan)}

    def update(self, x: np.ndarray, ev: Evaluation, state: State,
               ctx: StepContext) -> StepReport:
        """Move every row of ``x`` in place by its accepted step; rows that find no
        decrease within ``max_backtracks`` trials stay where they are and stop as
        *stalled*. ``ctx.value`` evaluates the trials; ``ctx.sign`` is -1 for ascent."""
        f, g, sign = ev.f, ev.g, ctx.sign
        assert g is not None
        px, pg, tprev = state["prev_x"], state["prev_g"], state["t"]
        gg = np.einsum("ij,ij->i", g, g)
        if state["step"] == 0:
            t0 = np.full(len(x), self.t_init if self.t_init else 0.0)
            if not self.t_init:
                t0 = 1.0 / np.maximum(1.0, np.sqrt(gg))
        else:
            s = x - px
            y = g - pg
            sy = np.einsum("ij,ij->i", s, y)
            ss = np.einsum("ij,ij->i", s, s)
            bb = ss / sy
            fallback = np.where(np.isfinite(tprev), 2.0 * tprev, 1.0 / np.maximum(1.0, np.sqrt(gg)))
            t0 = np.where((sy > 0) & np.isfinite(bb), bb, fallback)
            t0 = np.clip(t0, 1e-12, 1e12)
        h0 = sign * f
        direction = -sign * g
        t = t0.copy()
        accepted = np.zeros(len(x), dtype=bool)
        new_x = x.copy()
        todo = np.arange(len(x))
        nfev = np.zeros(len(x), dtype=np.int64)
        for _ in range(self.max_backtracks):
            trial = x[todo] + t[todo, None] * direction[todo]
            if self.project is None:
                decrease = t[todo] * gg[todo]
            else:
                trial = self.project(trial)
                decrease = np.einsum("ij,ij->i", direction[todo], trial - x[todo])
            ht = sign * np.asarray(ctx.value(trial), dtype=float)
            nfev[todo] += 1
            ok = np.isfinite(ht) & (ht <= h0[todo] - self.c * decrease)
            done = todo[ok]
            new_x[done] = trial[ok]
            accepted[done] = True
            todo = todo[~ok]
            if todo.size == 0:
                break
            t[todo] *= self.shrink
        stalled = ~accepted
        t[stalled] = 0.0
        px[...] = x
        pg[...] = g
        state["t"] = np.where(stalled, tprev, t)
        state["step"] += 1
        x[...] = new_x
        lr = float(t[0]) if len(t) == 1 else float(np.nanmedian(t))
        if not stalled.any():
            return StepReport(lr=lr, nfev=nfev)
        return StepReport(stop={Status.STALLED: stalled}, moved=accepted, lr=lr, nfev=nfev)
