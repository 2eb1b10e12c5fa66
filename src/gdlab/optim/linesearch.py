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

from ..errors import ParameterError


class Armijo:
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
    """

    name = "armijo"

    def __init__(self, c: float = 1e-4, shrink: float = 0.5, max_backtracks: int = 60,
                 t_init: float | None = None):
        if not 0 < c < 1:
            raise ParameterError(f"Armijo constant c must be in (0, 1), got {c!r}")
        if not 0 < shrink < 1:
            raise ParameterError(f"shrink must be in (0, 1), got {shrink!r}")
        self.c = float(c)
        self.shrink = float(shrink)
        self.max_backtracks = int(max_backtracks)
        self.t_init = t_init
        self.maximize = False
        self.lr = float("nan")

    def config(self) -> dict[str, Any]:
        return {"name": "line_search", "c": self.c, "shrink": self.shrink}

    def init(self, params: np.ndarray) -> dict[str, Any]:
        n = params.shape[0]
        return {"step": 0, "prev_x": np.zeros_like(params), "prev_g": np.zeros_like(params),
                "t": np.full(n, np.nan)}

    def step(self, x: np.ndarray, f: np.ndarray, g: np.ndarray, state: dict[str, Any],
             value: Callable[[np.ndarray], np.ndarray], rows: np.ndarray | None,
             sign: float) -> tuple[np.ndarray, np.ndarray]:
        """Move the rows ``rows`` (all when ``None``) of ``x`` in place.

        ``f`` and ``g`` are the objective and gradient at those rows; ``value``
        evaluates the objective on a 2-D array of points; ``sign`` is -1 for ascent.
        Returns the accepted step sizes and a mask of rows that found no decrease.
        """
        sel = slice(None) if rows is None else rows
        xs = x[sel]
        px, pg, tprev = state["prev_x"][sel], state["prev_g"][sel], state["t"][sel]
        gg = np.einsum("ij,ij->i", g, g)
        if state["step"] == 0:
            t0 = np.full(len(xs), self.t_init if self.t_init else 0.0)
            if not self.t_init:
                t0 = 1.0 / np.maximum(1.0, np.sqrt(gg))
        else:
            s = xs - px
            y = g - pg
            sy = np.einsum("ij,ij->i", s, y)
            ss = np.einsum("ij,ij->i", s, s)
            with np.errstate(divide="ignore", invalid="ignore"):
                bb = ss / sy
            fallback = np.where(np.isfinite(tprev), 2.0 * tprev, 1.0 / np.maximum(1.0, np.sqrt(gg)))
            t0 = np.where((sy > 0) & np.isfinite(bb), bb, fallback)
            t0 = np.clip(t0, 1e-12, 1e12)
        h0 = sign * f
        direction = -sign * g
        t = t0.copy()
        accepted = np.zeros(len(xs), dtype=bool)
        new_x = xs.copy()
        todo = np.arange(len(xs))
        with np.errstate(all="ignore"):
            for _ in range(self.max_backtracks):
                trial = xs[todo] + t[todo, None] * direction[todo]
                ht = sign * np.asarray(value(trial), dtype=float)
                ok = np.isfinite(ht) & (ht <= h0[todo] - self.c * t[todo] * gg[todo])
                done = todo[ok]
                new_x[done] = trial[ok]
                accepted[done] = True
                todo = todo[~ok]
                if todo.size == 0:
                    break
                t[todo] *= self.shrink
        stalled = ~accepted
        t[stalled] = 0.0
        state["prev_x"][sel] = xs
        state["prev_g"][sel] = g
        state["t"][sel] = np.where(stalled, tprev, t)
        state["step"] += 1
        x[sel] = new_x
        return t, stalled
