r"""L-BFGS as ``torch.optim.LBFGS``, one iteration per loop step, many starts at once.

PyTorch's ``LBFGS.step(closure)`` runs up to ``max_iter`` iterations inside one call. Here
every loop step is **one iteration**: the loop evaluates ``f`` and ``∇f`` (the closure's
first evaluation), and :meth:`LBFGS.update` does what ``step()`` does with ``max_iter=1``:

1. if :math:`\max_i |g_i| \le` ``tolerance_grad``, nothing (torch returns at once; the
   row is not moved, and stays where it is);
2. the direction: :math:`d = -g` on the first iteration, else the two-loop recursion over
   the last ``history_size`` pairs :math:`(s, y)` with :math:`s = t_{k-1} d_{k-1}`,
   :math:`y = g_k - g_{k-1}` (a pair is kept only when :math:`y^\top s > 10^{-10}`), scaled
   by :math:`H_0 = y^\top s / y^\top y` of the newest pair;
3. the step: :math:`t = \min(1, 1/\|g\|_1)\,\gamma` on the first iteration, else
   :math:`t = \gamma` (the schedule's learning rate); a row whose directional derivative
   :math:`g^\top d > -` ``tolerance_change`` stops as *stalled* (torch breaks there, and a
   later ``step()`` would break at the same point again);
4. ``line_search_fn=None``: :math:`x \leftarrow x + t d`. ``"strong_wolfe"``: torch's
   ``_strong_wolfe`` (cubic interpolation, ``c1=1e-4``, ``c2=0.9``, and its own bracket
   tolerance ``1e-9``, which torch does not take from ``tolerance_change``) with at most
   ``max_eval - 1`` evaluations (the loop's evaluation is the first of ``max_eval``), then
   :math:`x \leftarrow x + t d` with the step it found.

The state keeps torch's names with the rows on the first axis: ``d`` ``(n, p)``, ``t``
``(n,)``, ``old_dirs`` (the :math:`y`) and ``old_stps`` (the :math:`s`) ``(n, m, p)``
oldest first, ``ro`` ``(n, m)``, ``n_old`` (pairs kept per row), ``H_diag``,
``prev_flat_grad``, ``prev_loss`` and ``n_iter`` (iterations per row), so the loop's
``select`` compacts it and checkpoints store it.

The strong-Wolfe search needs gradients at its trial points: it calls
``ctx.value_and_grad`` (the objective on the same batch). Each row searches on its own, in
exactly torch's scalar arithmetic; the trial points of all rows still searching are
evaluated together, one objective call per round. Every evaluation is counted: the loop's
``nfev`` of a row after ``k`` steps is torch's ``state["func_evals"]`` after ``k`` calls of
``step()`` with ``max_iter=1`` (plus the evaluation of the step on which the loop stops).

A long torch call (``max_iter=N``) also ends on its progress tests
(:math:`\max|t d| \le` ``tolerance_change``, :math:`|f_k - f_{k-1}| <` ``tolerance_change``);
the loop's own ``eps``/``ftol`` rules play that part here. Until a long call stops, its
iterates are those of ``N`` one-iteration calls (``scripts/make_torch_reference.py``
checks this for every reference case), as long as no line search needs more than
``max_eval - 1`` evaluations. PyTorch's ``max_eval`` defaults to ``max_iter * 5 // 4``:
with ``max_iter=1`` that is 1, which leaves the strong-Wolfe search no trial beyond the
first; here ``max_eval`` is per iteration and defaults to 25 (torch's default for its
default ``max_iter=20``).

PyTorch's L-BFGS has no ``maximize``; here ``maximize=True`` minimizes :math:`-f`.
"""

from __future__ import annotations

import math
from typing import Generator

import numpy as np

from .. import checks
from ..errors import ParameterError
from ..result import Status
from .base import Rule, rowdot
from .stepper import Evaluation, State, StepContext, StepReport

#: a strong-Wolfe search: yields trial steps, is sent ``(f, g)`` at each, returns
#: ``(f_new, g_new, t, evaluations)``
_Search = Generator[float, tuple[float, np.ndarray], tuple[float, np.ndarray, float, int]]


class LBFGS(Rule):
    """L-BFGS with torch's names and defaults (``lr=1``, ``history_size=100``,
    ``tolerance_grad=1e-7``, ``tolerance_change=1e-9``, ``line_search_fn=None``), one
    iteration per loop step; ``max_eval`` is the budget of evaluations per iteration
    (see the module docstring)."""

    name = "lbfgs"
    hyper = ("lr", "max_eval", "tolerance_grad", "tolerance_change", "history_size",
             "line_search_fn", "maximize")

    def __init__(self, lr: float = 1.0, max_iter: int | None = None, max_eval: int = 25,
                 tolerance_grad: float = 1e-7, tolerance_change: float = 1e-9,
                 history_size: int = 100, line_search_fn: str | None = None,
                 maximize: bool = False):
        if max_iter not in (None, 1):
            raise ParameterError(f"lbfgs runs one iteration per loop step, so max_iter="
                                 f"{max_iter!r} is not an optimizer option here: the run's "
                                 f"max_iter (or epochs) counts the iterations")
        self.lr = checks.number("lr", lr, low=0)
        self.max_eval = checks.count("max_eval", max_eval, minimum=1)
        self.tolerance_grad = checks.number("tolerance_grad", tolerance_grad, low=0)
        self.tolerance_change = checks.number("tolerance_change", tolerance_change, low=0)
        self.history_size = checks.count("history_size", history_size, minimum=1)
        if line_search_fn is not None:
            line_search_fn = checks.choice("line_search_fn", line_search_fn, ["strong_wolfe"])
        self.line_search_fn = line_search_fn
        self.maximize = bool(maximize)

    def init(self, params: np.ndarray) -> State:
        n, p = params.shape
        m = self.history_size
        return {"step": 0, "n_iter": np.zeros(n, dtype=np.int64),
                "d": np.zeros((n, p)), "t": np.zeros(n),
                "old_dirs": np.zeros((n, m, p)), "old_stps": np.zeros((n, m, p)),
                "ro": np.zeros((n, m)), "n_old": np.zeros(n, dtype=np.int64),
                "H_diag": np.ones(n), "prev_flat_grad": np.zeros((n, p)),
                "prev_loss": np.zeros(n)}

    def step(self, params, grad, state, lr):  # pragma: no cover - needs the objective
        raise TypeError("LBFGS evaluates the objective itself: run it through the loop "
                        "(gdlab.loop.descend, minimize, train)")

    def update(self, x: np.ndarray, ev: Evaluation, state: State,
               ctx: StepContext) -> StepReport:
        self.scheduled_momentum(ctx)  # refuses a momentum schedule
        assert ev.g is not None
        sign = -1.0 if self.maximize else 1.0
        f = sign * np.asarray(ev.f, dtype=float)
        g = sign * np.asarray(ev.g, dtype=float)  # a copy: objectives may reuse their buffer
        n = len(x)
        nfev = np.zeros(n, dtype=np.int64)
        moved = np.zeros(n, dtype=bool)
        stalled = np.zeros(n, dtype=bool)
        rows = np.flatnonzero(~(np.max(np.abs(g), axis=1) <= self.tolerance_grad))
        if rows.size:
            d, t = self._direction(g, state, rows, ctx.lr)
            state["prev_flat_grad"][rows] = g[rows]
            state["prev_loss"][rows] = f[rows]
            gtd = rowdot(g[rows], d)
            state["d"][rows] = d
            state["t"][rows] = t
            state["n_iter"][rows] += 1
            stop = gtd > -self.tolerance_change
            stalled[rows[stop]] = True
            go = ~stop
            self._move(x, rows[go], d[go], t[go], f[rows[go]], g[rows[go]], gtd[go],
                       state, ctx, nfev)
            moved[rows[go]] = True
        state["step"] += 1
        if stalled.any():
            return StepReport(stop={Status.STALLED: stalled}, moved=moved, nfev=nfev)
        return StepReport(moved=moved, nfev=nfev)

    # --- the direction ------------------------------------------------------------------
    def _direction(self, g: np.ndarray, state: State, rows: np.ndarray,
                   lr: float) -> tuple[np.ndarray, np.ndarray]:
        """``(d, t)`` of the iterating ``rows``: steepest descent and torch's first step on
        a row's first iteration, else the L-BFGS direction and ``t = lr``."""
        first = state["n_iter"][rows] == 0
        d = np.empty((len(rows), g.shape[1]))
        t = np.full(len(rows), float(lr))
        if first.any():
            r = rows[first]
            d[first] = -g[r]
            state["H_diag"][r] = 1.0
            state["n_old"][r] = 0
            inv = 1.0 / np.sum(np.abs(g[r]), axis=1)
            t[first] = np.where(inv < 1.0, inv, 1.0) * lr
        later = ~first
        if later.any():
            r = rows[later]
            self._remember(state, r, g[r])
            d[later] = self._two_loop(state, r, g[r])
        return d, t

    def _remember(self, state: State, rows: np.ndarray, g: np.ndarray) -> None:
        """Keep the pair ``(s, y)`` of the last iteration where ``y·s > 1e-10``, dropping the
        oldest pair of a full history, and update ``H_diag``."""
        y = g - state["prev_flat_grad"][rows]
        s = state["d"][rows] * state["t"][rows][:, None]
        ys = rowdot(y, s)
        keep = ys > 1e-10
        if not keep.any():
            return
        r, y, s, ys = rows[keep], y[keep], s[keep], ys[keep]
        dirs, stps, ro, n_old = state["old_dirs"], state["old_stps"], state["ro"], state["n_old"]
        full = r[n_old[r] == self.history_size]
        if full.size:
            dirs[full, :-1] = dirs[full, 1:]
            stps[full, :-1] = stps[full, 1:]
            ro[full, :-1] = ro[full, 1:]
            n_old[full] -= 1
        k = n_old[r]
        dirs[r, k] = y
        stps[r, k] = s
        ro[r, k] = 1.0 / ys
        n_old[r] += 1
        state["H_diag"][r] = ys / rowdot(y, y)

    @staticmethod
    def _two_loop(state: State, rows: np.ndarray, g: np.ndarray) -> np.ndarray:
        """The L-BFGS direction ``-H g`` of ``rows`` by the two-loop recursion, in torch's
        order (newest pair first, then oldest first); rows with fewer pairs skip the
        missing ones."""
        dirs, stps, ro = state["old_dirs"], state["old_stps"], state["ro"]
        count = state["n_old"][rows]
        kmax = int(count.max())
        q = -g
        al = np.zeros((len(rows), max(kmax, 1)))
        for i in range(kmax - 1, -1, -1):
            sel = np.flatnonzero(count > i)
            r = rows[sel]
            a = rowdot(stps[r, i], q[sel]) * ro[r, i]
            al[sel, i] = a
            q[sel] += (-a)[:, None] * dirs[r, i]
        d = q * state["H_diag"][rows][:, None]
        for i in range(kmax):
            sel = np.flatnonzero(count > i)
            r = rows[sel]
            be = rowdot(dirs[r, i], d[sel]) * ro[r, i]
            d[sel] += (al[sel, i] - be)[:, None] * stps[r, i]
        return d

    # --- the step -----------------------------------------------------------------------
    def _move(self, x: np.ndarray, rows: np.ndarray, d: np.ndarray, t: np.ndarray,
              f: np.ndarray, g: np.ndarray, gtd: np.ndarray, state: State, ctx: StepContext,
              nfev: np.ndarray) -> None:
        """``x <- x + t d`` for ``rows``, with the step of the strong-Wolfe search when
        there is one (its evaluations added to ``nfev``)."""
        if not rows.size:
            return
        if self.line_search_fn == "strong_wolfe":
            t, evals = self._search(x[rows], d, t, f, g, gtd, ctx)
            nfev[rows] += evals
            state["t"][rows] = t
        x[rows] = x[rows] + t[:, None] * d

    def _search(self, x: np.ndarray, d: np.ndarray, t: np.ndarray, f: np.ndarray,
                g: np.ndarray, gtd: np.ndarray, ctx: StepContext) -> tuple[np.ndarray,
                                                                         np.ndarray]:
        """Torch's strong-Wolfe search for every row at once: ``(t, evaluations)``."""
        sign = -1.0 if self.maximize else 1.0
        max_ls = self.max_eval - 1
        searches = {i: _strong_wolfe(float(t[i]), d[i], float(f[i]), g[i], float(gtd[i]),
                                     max_ls) for i in range(len(x))}
        trials = {i: next(s) for i, s in searches.items()}
        t_out = np.empty(len(x))
        evals = np.zeros(len(x), dtype=np.int64)
        while trials:
            idx = np.fromiter(trials, dtype=np.int64, count=len(trials))
            steps = np.array([trials[i] for i in idx])
            # in the parameters' dtype, as the point the step then moves to (float32
            # weights: no float64 copy of the data for a trial)
            points = (x[idx] + steps[:, None] * d[idx]).astype(x.dtype, copy=False)
            fv, gv = ctx.value_and_grad(points)
            fv = sign * np.asarray(fv, dtype=float).reshape(-1)
            gv = sign * np.asarray(gv, dtype=float)
            nxt = {}
            for k, i in enumerate(idx):
                try:
                    nxt[i] = searches[i].send((float(fv[k]), gv[k]))
                except StopIteration as done:
                    _, _, t_out[i], evals[i] = done.value
            trials = nxt
        return t_out, evals


def _cubic_interpolate(x1: float, f1: float, g1: float, x2: float, f2: float, g2: float,
                       bounds: tuple[float, float] | None = None) -> float:
    """Torch's ``_cubic_interpolate``: the minimizer of the cubic through two points with
    their values and slopes, clipped to ``bounds`` (default: between the points)."""
    if bounds is not None:
        xmin_bound, xmax_bound = bounds
    else:
        xmin_bound, xmax_bound = (x1, x2) if x1 <= x2 else (x2, x1)
    d1 = g1 + g2 - float(np.float64(3 * (f1 - f2)) / np.float64(x1 - x2))
    d2_square = d1 ** 2 - g1 * g2
    if d2_square >= 0:
        d2 = math.sqrt(d2_square)
        if x1 <= x2:
            min_pos = x2 - (x2 - x1) * float(np.float64(g2 + d2 - d1) /
                                              np.float64(g2 - g1 + 2 * d2))
        else:
            min_pos = x1 - (x1 - x2) * float(np.float64(g1 + d2 - d1) /
                                              np.float64(g1 - g2 + 2 * d2))
        return min(max(min_pos, xmin_bound), xmax_bound)
    return (xmin_bound + xmax_bound) / 2.0


def _strong_wolfe(t: float, d: np.ndarray, f: float, g: np.ndarray, gtd: float, max_ls: int,
                  c1: float = 1e-4, c2: float = 0.9, tolerance_change: float = 1e-9) -> _Search:
    """Torch's ``_strong_wolfe`` for one row, as a generator: it yields each trial step
    ``t`` (the point ``x + t d``) and is sent ``(f, g)`` there."""
    d_norm = float(np.max(np.abs(d)))
    f_new, g_new = yield t
    ls_func_evals = 1
    gtd_new = float(np.dot(g_new, d))
    t_prev, f_prev, g_prev, gtd_prev = 0.0, f, g, gtd
    done = False
    ls_iter = 0
    bracket: list[float] = []
    bracket_f: list[float] = []
    bracket_g: list[np.ndarray] = []
    bracket_gtd: list[float] = []
    while ls_iter < max_ls:
        if f_new > (f + c1 * t * gtd) or (ls_iter > 1 and f_new >= f_prev):
            bracket, bracket_f = [t_prev, t], [f_prev, f_new]
            bracket_g, bracket_gtd = [g_prev, g_new], [gtd_prev, gtd_new]
            break
        if abs(gtd_new) <= -c2 * gtd:
            bracket, bracket_f, bracket_g = [t], [f_new], [g_new]
            done = True
            break
        if gtd_new >= 0:
            bracket, bracket_f = [t_prev, t], [f_prev, f_new]
            bracket_g, bracket_gtd = [g_prev, g_new], [gtd_prev, gtd_new]
            break
        min_step = t + 0.01 * (t - t_prev)
        max_step = t * 10
        tmp = t
        t = _cubic_interpolate(t_prev, f_prev, gtd_prev, t, f_new, gtd_new,
                               bounds=(min_step, max_step))
        t_prev, f_prev, g_prev, gtd_prev = tmp, f_new, g_new, gtd_new
        f_new, g_new = yield t
        ls_func_evals += 1
        gtd_new = float(np.dot(g_new, d))
        ls_iter += 1
    if ls_iter == max_ls:
        bracket, bracket_f, bracket_g = [0.0, t], [f, f_new], [g, g_new]
    return (yield from _zoom(bracket, bracket_f, bracket_g, bracket_gtd, done, ls_iter,
                             ls_func_evals, f, gtd, d, d_norm, max_ls, c1, c2,
                             tolerance_change))


def _zoom(bracket: list[float], bracket_f: list[float], bracket_g: list[np.ndarray],
          bracket_gtd: list[float], done: bool, ls_iter: int, ls_func_evals: int, f: float,
          gtd: float, d: np.ndarray, d_norm: float, max_ls: int, c1: float, c2: float,
          tolerance_change: float) -> _Search:
    """The zoom phase of torch's ``_strong_wolfe``: shrink the bracket until a point
    satisfies the strong Wolfe conditions (or the budget or the bracket runs out)."""
    insuf_progress = False
    low_pos, high_pos = (0, 1) if bracket_f[0] <= bracket_f[-1] else (1, 0)
    while not done and ls_iter < max_ls:
        if abs(bracket[1] - bracket[0]) * d_norm < tolerance_change:
            break
        t = _cubic_interpolate(bracket[0], bracket_f[0], bracket_gtd[0],
                               bracket[1], bracket_f[1], bracket_gtd[1])
        t, insuf_progress = _away_from_ends(t, bracket, insuf_progress)
        f_new, g_new = yield t
        ls_func_evals += 1
        gtd_new = float(np.dot(g_new, d))
        ls_iter += 1
        if f_new > (f + c1 * t * gtd) or f_new >= bracket_f[low_pos]:
            bracket[high_pos], bracket_f[high_pos] = t, f_new
            bracket_g[high_pos], bracket_gtd[high_pos] = g_new, gtd_new
            low_pos, high_pos = (0, 1) if bracket_f[0] <= bracket_f[1] else (1, 0)
        else:
            if abs(gtd_new) <= -c2 * gtd:
                done = True
            elif gtd_new * (bracket[high_pos] - bracket[low_pos]) >= 0:
                bracket[high_pos], bracket_f[high_pos] = bracket[low_pos], bracket_f[low_pos]
                bracket_g[high_pos] = bracket_g[low_pos]
                bracket_gtd[high_pos] = bracket_gtd[low_pos]
            bracket[low_pos], bracket_f[low_pos] = t, f_new
            bracket_g[low_pos], bracket_gtd[low_pos] = g_new, gtd_new
    return bracket_f[low_pos], bracket_g[low_pos], bracket[low_pos], ls_func_evals


def _away_from_ends(t: float, bracket: list[float], insuf_progress: bool) -> tuple[float, bool]:
    """Torch's guard against trial steps at the bracket's ends: a step within a tenth of
    the bracket from an end moves a tenth in when the last step made insufficient progress
    or the step is at (or past) an end."""
    hi, lo = max(bracket), min(bracket)
    eps = 0.1 * (hi - lo)
    if min(hi - t, t - lo) < eps:
        if insuf_progress or t >= hi or t <= lo:
            t = hi - eps if abs(t - hi) < abs(t - lo) else lo + eps
            return t, False
        return t, True
    return t, False


def lbfgs(lr: float = 1.0, max_iter: int | None = None, max_eval: int = 25,
          tolerance_grad: float = 1e-7, tolerance_change: float = 1e-9, history_size: int = 100,
          line_search_fn: str | None = None, maximize: bool = False) -> LBFGS:
    """L-BFGS, as ``torch.optim.LBFGS``, one iteration per loop step (``max_iter`` may only
    be 1; ``max_eval`` counts the evaluations of one iteration)."""
    return LBFGS(lr, max_iter, max_eval, tolerance_grad, tolerance_change, history_size,
                 line_search_fn, maximize)
