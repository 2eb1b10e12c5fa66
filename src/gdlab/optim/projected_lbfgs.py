r"""``minimize``'s default method: a vectorized limited-memory quasi-Newton (L-BFGS) step with
a projected backtracking line search, for many starts at once and for box constraints.

Every start (row) keeps its own ``m`` most recent pairs :math:`s_i = x_{i+1} - x_i`,
:math:`y_i = \nabla f(x_{i+1}) - \nabla f(x_i)`. The direction is :math:`d = -H\,q` with
:math:`H` the L-BFGS inverse-Hessian approximation in its compact form (Byrd, Nocedal and
Schnabel 1994),

.. math::
    H q = \gamma q + S\,R^{-\top}\big((D + \gamma Y^\top Y) R^{-1} S^\top q
          - \gamma Y^\top q\big) - \gamma\, Y R^{-1} S^\top q,

with :math:`R` the upper triangle of :math:`S^\top Y`, :math:`D` its diagonal and
:math:`\gamma = s^\top y / y^\top y` of the newest pair: a few batched matrix products and
two small solves for all rows together, instead of the two-loop recursion's ``2m`` Python
steps. Pairs with :math:`s^\top y \le \epsilon\, y^\top y` are not stored (as scipy's
L-BFGS-B); a row whose last step found no positive curvature also forgets its pairs, since
a backtracking search never lengthens a step and the old pairs' scale would keep every later
step as short (L-BFGS-B's Wolfe search lengthens it instead).

With bounds the method is the projected quasi-Newton method (Bertsekas 1982): the
variables at a bound whose gradient points out of the box are held fixed (``q`` is the
gradient of the others, the pairs are kept for the free variables only, and a row forgets
its pairs when its set of held variables changes), and the line search backtracks along
the projected path :math:`x(t) = P(x + t d)` until Armijo's condition
:math:`f(x(t)) \le f(x) + c\,\nabla f(x)^\top (x(t) - x)` holds. The first trial step is
1 (the quasi-Newton step); on the first iteration, with no pairs yet, it is
:math:`1/\|\nabla f\|_\infty` along the gradient. A row that finds no decrease within
``max_backtracks`` halvings stops as *stalled*; the ``eps`` test compares the projected
gradient :math:`\|x - P(x - \nabla f)\|`, as L-BFGS-B's ``pgtol``.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from .. import checks
from ..result import Status
from .stepper import Evaluation, Objective, State, StepContext, Stepper, StepReport

_EPS = np.finfo(float).eps


class ProjectedLBFGS(Stepper):
    """Vectorized L-BFGS with a projected Armijo line search (see the module docstring).

    ``bounds``: ``(lo, hi)`` arrays of one bound per variable (``-inf``/``inf`` for a free
    side), or ``None``. ``history_size``: the pairs kept per start (scipy's ``maxcor``).
    """

    name = "quasi_newton"

    def __init__(self, bounds: tuple[np.ndarray, np.ndarray] | None = None,
                 history_size: int = 10, c: float = 1e-4, max_backtracks: int = 40):
        self.lo: np.ndarray | None = None
        self.hi: np.ndarray | None = None
        if bounds is not None:
            self.lo, self.hi = np.asarray(bounds[0], float), np.asarray(bounds[1], float)
        self.history_size = checks.count("history_size", history_size, minimum=1)
        self.c = checks.number("c", c, low=0, high=1, low_open=True, high_open=True)
        self.max_backtracks = checks.count("max_backtracks", max_backtracks, minimum=1)
        self.lr = float("nan")
        self.maximize = False

    def config(self) -> dict[str, Any]:
        return {"name": self.name, "method": "L-BFGS, projected backtracking line search",
                "history_size": self.history_size}

    def init(self, x: np.ndarray) -> State:
        n, d = x.shape
        m = self.history_size
        return {"step": 0, "S": np.zeros((n, m, d)), "Y": np.zeros((n, m, d)),
                "count": np.zeros(n, dtype=np.int64), "prev_x": np.zeros((n, d)),
                "prev_g": np.zeros((n, d)), "step_len": np.zeros(n),
                "free": np.ones((n, d)), "moved": np.zeros(n, dtype=bool)}

    def _project(self, x: np.ndarray) -> np.ndarray:
        return x if self.lo is None else np.clip(x, self.lo, self.hi)

    def evaluate(self, objective: Objective, x: np.ndarray, batch: Any, state: State,
                 ctx: StepContext) -> Evaluation:
        ev = super().evaluate(objective, x, batch, state, ctx)
        if self.lo is not None and ev.g is not None:
            step = x - self._project(x - ctx.sign * ev.g)
            norm = np.sqrt(np.einsum("ij,ij->i", step, step))
            ev.grad_norm = np.where(np.isfinite(ev.g).all(axis=1), norm, np.nan)
        return ev

    def update(self, x: np.ndarray, ev: Evaluation, state: State,
               ctx: StepContext) -> StepReport:
        assert ev.g is not None
        sign = ctx.sign
        h, g = sign * ev.f, sign * ev.g           # minimize h = sign * f
        free = self._free(x, g)
        if self.lo is not None:  # a new set of held variables: the pairs no longer apply
            changed = np.any(free != state["free"], axis=1)
            state["count"][changed] = 0
            state["free"] = free
        if state["step"] > 0:
            kept = self._remember(state, (x - state["prev_x"]) * free,
                                  (g - state["prev_g"]) * free)
            # no positive curvature along the last step (s'y <= 0 where f is concave): the
            # stored pairs' scale no longer fits here and would keep the steps as short as
            # they were (Armijo backtracking never lengthens a step); forget them and take
            # a gradient step of growing length until curvature is positive again
            state["count"][~kept & state["moved"]] = 0
        q = g * free
        d = -self._h_times(state, q)
        slope = np.einsum("ij,ij->i", d, g)
        bad = ~(slope < 0) | ~np.isfinite(slope)  # not a descent direction: restart
        if bad.any():
            d[bad] = -q[bad]
            state["count"][bad] = 0
        t = self._first_trial(state, q)
        new_x, accepted, nfev = self._search(x, h, g, d, t, ctx)
        state["step_len"] = np.where(accepted, np.sqrt(np.einsum("ij,ij->i", new_x - x,
                                                                 new_x - x)), 0.0)
        state["prev_x"] = x.copy()
        state["prev_g"] = g.copy()
        state["step"] += 1
        x[accepted] = new_x[accepted]
        state["moved"] = accepted
        stalled = ~accepted
        if not stalled.any():
            return StepReport(nfev=nfev)
        return StepReport(stop={Status.STALLED: stalled}, moved=accepted, nfev=nfev)

    @staticmethod
    def _first_trial(state: State, q: np.ndarray) -> np.ndarray:
        """The first trial step: 1 (the quasi-Newton step) with stored pairs; without
        (the first iteration, or after a restart in a region of negative curvature) a step
        along the gradient of length ``1/max(1, |q|_inf)``, or twice the last step's length,
        so that runs towards -inf speed up as a line search along the gradient would."""
        qmax = np.maximum(np.abs(q).max(axis=1), 1.0)
        qn = np.sqrt(np.einsum("ij,ij->i", q, q))
        grow = np.where(qn > 0, 2.0 * state["step_len"] / np.where(qn > 0, qn, 1.0), 0.0)
        return np.where(state["count"] > 0, 1.0, np.maximum(1.0 / qmax, grow))

    def _free(self, x: np.ndarray, g: np.ndarray) -> np.ndarray:
        """1 for the variables that may move, 0 at a bound whose gradient points out."""
        if self.lo is None:
            return np.ones_like(x)
        held = ((x <= self.lo) & (g > 0)) | ((x >= self.hi) & (g < 0))
        return (~held).astype(x.dtype)

    def _remember(self, state: State, s: np.ndarray, y: np.ndarray) -> np.ndarray:
        """Store the pairs with enough curvature, newest last (older ones shift left); the
        rows whose pair was stored."""
        sy = np.einsum("ij,ij->i", s, y)
        yy = np.einsum("ij,ij->i", y, y)
        ok = (sy > _EPS * yy) & np.isfinite(sy) & (yy > 0)
        if not ok.any():
            return ok
        for key, v in (("S", s), ("Y", y)):
            arr = state[key]
            arr[ok] = np.roll(arr[ok], -1, axis=1)
            arr[ok, -1] = v[ok]
        state["count"][ok] = np.minimum(state["count"][ok] + 1, self.history_size)
        return ok

    def _h_times(self, state: State, q: np.ndarray) -> np.ndarray:
        """``H q`` for every row, by the compact representation (rows without pairs: q)."""
        S, Y, count = state["S"], state["Y"], state["count"]
        m = S.shape[1]
        used = np.arange(m)[None, :] >= (m - count)[:, None]      # (n, m): stored pairs
        S = S * used[:, :, None]
        Y = Y * used[:, :, None]
        SY = np.einsum("nid,njd->nij", S, Y)
        R = np.triu(SY)
        diag = np.einsum("nii->ni", SY)
        R[:, np.arange(m), np.arange(m)] = np.where(used, diag, 1.0)  # padding keeps R regular
        yy = np.einsum("nd,nd->n", Y[:, -1], Y[:, -1])
        gamma = np.where(count > 0, diag[:, -1] / np.where(yy > 0, yy, 1.0), 1.0)
        a = np.einsum("nid,nd->ni", S, q)
        b = gamma[:, None] * np.einsum("nid,nd->ni", Y, q)
        u = np.linalg.solve(R, a[..., None])[..., 0]
        YY = np.einsum("nid,njd->nij", Y, Y)
        inner = diag * u + gamma[:, None] * np.einsum("nij,nj->ni", YY, u) - b
        top = np.linalg.solve(np.swapaxes(R, 1, 2), inner[..., None])[..., 0]
        return (gamma[:, None] * q + np.einsum("nid,ni->nd", S, top)
                - gamma[:, None] * np.einsum("nid,ni->nd", Y, u))

    def _search(self, x: np.ndarray, h: np.ndarray, g: np.ndarray, d: np.ndarray,
                t: np.ndarray, ctx: StepContext) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Backtracking along the projected path from trial steps ``t``: the new points, the
        rows that found a decrease, and the evaluations each row made."""
        n = len(x)
        new_x = x.copy()
        accepted = np.zeros(n, dtype=bool)
        nfev = np.zeros(n, dtype=np.int64)
        todo = np.arange(n)
        t = t.copy()
        for _ in range(self.max_backtracks):
            trial = self._project(x[todo] + t[todo, None] * d[todo])
            ht = ctx.sign * np.asarray(ctx.value(trial), dtype=float)
            nfev[todo] += 1
            decrease = np.einsum("ij,ij->i", g[todo], trial - x[todo])
            ok = np.isfinite(ht) & (ht <= h[todo] + self.c * decrease) & (decrease < 0)
            new_x[todo[ok]] = trial[ok]
            accepted[todo[ok]] = True
            todo = todo[~ok]
            if todo.size == 0:
                break
            t[todo] *= 0.5
        return new_x, accepted, nfev
