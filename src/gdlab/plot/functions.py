"""One run over its function (:func:`plot_path`) and a function alone (:func:`plot_function`):
curves with tangents and extrema, contours with gradient fields, 3-D surfaces."""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any, Mapping, Sequence

import numpy as np

from ..errors import ParameterError
from ..result import Status
from ._draw import (
    _contour,
    _curve,
    _draw_box,
    _draw_path,
    _escape_texts,
    _grid2,
    _known_minima,
    _log_floor,
    _log_levels,
    _mark_divergence,
    _mark_undefined,
    _note,
    _plane_axes,
)
from ._extrema import _extremum_1d, _look_beyond, _mark_beyond, _reach_domain, _reached_local
from ._figure import (
    _CMAP,
    COLORS,
    ESCAPE_COLOR,
    PATH_COLOR,
    _f_or_path,
    _figure,
    _fmt,
    _legend,
    _legend_below,
    _num,
    _save,
    _style,
    _thin_line,
)
from ._fn import _bounds_of, _Fn, _fn_label, _resolve, _var_names
from ._runs import (
    _best_word,
    _describe,
    _kind,
    _layout,
    _n_steps,
    _next_coords,
    _outcome,
    _plot_coords,
    _Run,
    _run_box,
    _run_of,
    _start_runs,
    _status,
)
from .steps import _steps_picture


def _prepare(result: Any, f: Any) -> tuple[_Run, list[_Run], _Fn | None, int]:
    best = _run_of(result)
    d = best.P.shape[1]
    F = None if f is None else _resolve(f, d, best.P[np.all(np.isfinite(best.P), axis=1)][:5])
    if F is not None and F.d is not None and F.d != d:
        raise ParameterError(f"f has {F.d} variable(s) but the run moved {d}")
    others = _start_runs(result) if getattr(result, "all_history", None) is not None else []
    return best, others, F, d


@dataclass
class _View:
    """What the parts of a path picture share."""

    fig: Any
    ax: Any
    result: Any
    best: _Run
    others: list[_Run]
    F: _Fn | None
    names: tuple[str, ...]
    window: np.ndarray
    box: np.ndarray | None
    color: str
    maximize: bool

    @property
    def many(self) -> bool:
        return bool(self.others)


def plot_path(result: Any, f: Any = None, *, path: Any = None, ax: Any = None,
              show_tangents: bool = True, show_gradients: bool = False, surface: bool = False,
              title: str | None = None, levels: Any = None, color: str = PATH_COLOR,
              cmap: str = _CMAP) -> Any:
    """Draw a descent (or ascent) run over its function.

    One variable: the curve of ``f``, the steps as points on it joined by arrows, the tangent
    lines at the start and at the end (their slope is the derivative), and the minima
    (maxima) of ``f`` in view: "minimum of f" only for the lowest value on the drawn
    interval, the others "local minimum". ``f`` is also scanned numerically far beyond the
    path: a lower region widens the window (the reached point is then a local minimum, and
    the title says so) or, when it is far away or ``f`` keeps falling, is marked with an
    arrow at the edge. Two variables: filled contours (log-spaced levels of ``f - fmin``
    for valley functions), the path with its start (circle) and end (star), the known global
    minima of a named test function (x), and with ``show_gradients`` the direction of
    steepest descent on a coarse grid; ``surface=True`` draws the 3-D surface with the path
    lifted onto it. Three or more variables: ``f`` and ``|grad|`` per step, with the stop
    reason.

    A run that diverged is drawn up to where it leaves the picture, with a red arrow at the
    edge and the text "diverged at step k"; an unbounded one the same way with "unbounded";
    one that left the function's domain up to the last point where ``f`` was defined, with
    "f undefined at step k"; one that stopped on a plateau is marked "flat region". A
    bounded run shows its box. For many starts every path is drawn faintly and the best one
    bold.

    Parameters
    ----------
    result : Result
        What :func:`gdlab.minimize` / :func:`gdlab.maximize` returned.
    f : Function, str, sympy expression or callable, optional
        The function the run descended (results do not carry it). Without it only the path
        is drawn (one variable: over the recorded values). A file name here (``"out.png"``:
        text ending in .png, .svg, .pdf, .jpg or .gif, or a path object) is taken as
        ``path`` when ``path`` is not given.
    path : str or path-like, optional
        Save the picture there (format from the extension).
    ax : matplotlib Axes, optional
        Draw into this axes instead of a new figure (the legend then goes inside it).
    levels : int or sequence, optional
        Number of contour levels (30) or the levels themselves.
    color : str
        The path's colour (:data:`PATH_COLOR` by default).

    Returns
    -------
    matplotlib.figure.Figure
    """
    f, path = _f_or_path(f, path, "plot_path")
    best, others, F, d = _prepare(result, f)
    if d > 2:
        fig = _steps_picture([("path", result)], F, _var_names(F, result, d), [color], ax=ax,
                             title=title)
        _save(fig, path)
        return fig
    own = ax is None
    fig = _figure() if own else ax.figure
    if surface and d == 2:
        if F is None:
            raise ParameterError("a surface needs f")
        if ax is None:
            ax = fig.add_subplot(projection="3d")
        elif getattr(ax, "name", "") != "3d":
            raise ParameterError("surface=True needs a 3-D axes (projection='3d')")
    elif ax is None:
        ax = fig.add_subplot()
    _style(ax)

    status = _status(result)
    converged = status is not None and status.success
    focus = best.P[len(best.P) - 1] if converged and np.all(np.isfinite(best.P[-1])) else None
    box = _run_box(result, d)
    window = _layout([best, *others], F, d, focus, converged, box)
    v = _View(fig, ax, result, best, others, F, _var_names(F, result, d), window, box, color,
              bool(getattr(result, "maximize", False)))
    local = False
    if d == 2 and surface and F is not None:  # (a surface without f was refused above)
        _surface_path(fig, ax, F, window, v.names, [best, *others], color, v.maximize, cmap)
    elif d == 2:
        _two_variables(v, show_gradients, levels, cmap)
    else:
        local = _one_variable(v, show_tangents, show_gradients)

    if ax.name != "3d":
        if own:
            _legend_below(fig, ax)
        else:
            _legend(ax)
    ax.set_title(title if title is not None else _path_title(v, local), fontsize=12)
    _save(fig, path)
    return fig


def _path_title(v: _View, local: bool) -> str:
    result = v.result
    starts = f", best of {result.n_starts} starts" if v.many else ""
    outcome = _outcome(result, v.best)
    if local:
        outcome += f" to a local {_best_word(v.maximize)}"
    ascent = f"{_kind(True)}, " if v.maximize else ""
    what = f"{ascent}{_describe(result)}: {outcome}{starts}"
    F = v.F
    if F is None:
        return what if v.maximize else f"gradient descent, {what}"
    if F.test_function is not None:
        return f"{F.text}\n{what}"
    return f"{_fn_label(F, ', '.join(v.names))}\n{what}"


def _two_variables(v: _View, show_gradients: bool, levels: Any, cmap: str) -> None:
    ax, F, window, best = v.ax, v.F, v.window, v.best
    if F is not None:
        _contour(v.fig, ax, F, window, v.names, maximize=v.maximize, levels=levels, cmap=cmap)
        if show_gradients:
            _gradient_field(ax, F, window, v.maximize)
    else:
        _plane_axes(ax, window, v.names)
    _known_minima(ax, F, window)
    _draw_box(ax, v.box, 2, v.names)
    scale = window[:, 1] - window[:, 0]
    faint = "white" if F is not None else "0.4"
    for r in v.others:
        Q = r.P[: r.m]
        _draw_path(ax, Q, scale, color=faint, lw=0.8, alpha=0.35, arrows=False, zorder=3,
                   ends=False)
        if len(Q):
            ax.plot([Q[0, 0]], [Q[0, 1]], "o", ms=3.5, color=faint, alpha=0.6, zorder=3, mew=0)
    Q = best.P[: best.m]
    _draw_main(v, Q, scale, _end_note(v, False))
    _mark_stop(v, Q, None)


def _one_variable(v: _View, show_tangents: bool, show_gradients: bool) -> bool:
    """The curve, the path on it, tangents, extrema and what lies beyond; returns whether the
    run stopped at a local minimum (maximum) where f is lower (higher) elsewhere."""
    ax, F, best, names = v.ax, v.F, v.best, v.names
    hf = np.asarray(v.result.history.fun, dtype=float) if F is None else None
    beyond = None
    limits = v.box[0] if v.box is not None else _domain_1d(F) if F is not None else None
    if F is not None and best.undefined and not best.m:
        v.window = _reach_domain(F, v.window)
    elif F is not None and not best.escaped:
        v.window, beyond = _look_beyond(F, v.window, v.maximize, limits)
    window = v.window
    Qb = _plot_coords(best, F, 1, hf)
    Qo = [_plot_coords(r, F, 1) for r in v.others] if F is not None else []
    xs, ys = _curve(ax, F, window, names[0], np.concatenate([Qb[:, 1], *[q[:, 1] for q in Qo]]))
    lowest = _extremum_1d(ax, xs, ys, v.maximize, beyond, limits) if F is not None else None
    _mark_beyond(ax, beyond, v.maximize)
    ylim = ax.get_ylim()
    scale = np.array([window[0, 1] - window[0, 0], ylim[1] - ylim[0]])
    for q in Qo:
        _draw_path(ax, q, scale, color="0.45", lw=0.8, alpha=0.35, arrows=False, zorder=3,
                   ends=False)
    if show_gradients and F is not None:
        _gradient_arrows_1d(ax, F, window, v.maximize)
    if show_tangents and F is not None and best.m:
        w = 0.3 * (window[0, 1] - window[0, 0])
        _tangent(ax, F, float(best.P[0, 0]), w, color="#ff7f0e", style="--",
                 gid="tangent-start", where="start", name=names[0])
        if best.m > 1:
            _tangent(ax, F, float(best.P[best.m - 1, 0]), w, color="#2ca02c", style="-.",
                     gid="tangent-end", where="end", name=names[0])
    ax.set_ylim(*ylim)
    _draw_box(ax, v.box, 1, names)
    status = _status(v.result)
    local = bool(status is not None and status.success and
                 _reached_local(best.fun, lowest, beyond, v.maximize, ylim[1] - ylim[0]))
    _draw_main(v, Qb, scale, _end_note(v, local), edge="black")
    _mark_stop(v, Qb, hf)
    return local


def _domain_1d(F: _Fn) -> np.ndarray | None:
    b = _bounds_of(F, 1)
    return None if b is None else b[0]


def _mark_stop(v: _View, Q: np.ndarray, hf: np.ndarray | None) -> None:
    """How the run ended, when it did not end at a point of the picture: where it escaped,
    the step that left f's domain, a flat region."""
    d = len(v.names)
    best = v.best
    if best.escaped:
        _mark_divergence(v.ax, best, Q, _next_coords(best, v.F, d, hf))
    elif best.undefined:
        _mark_undefined(v.ax, best, Q, d)
    elif best.status is Status.FLAT and len(Q):
        box = np.array([v.ax.get_xlim(), v.ax.get_ylim()], dtype=float)
        box.sort(axis=1)
        _note(v.ax, Q[-1], box, "flat region: |grad| and curvature ≈ 0\n"
              f"(a plateau, maybe not a {_best_word(v.maximize)})", "flat", color="#1f3b73")


def _end_note(v: _View, local: bool) -> str:
    """What to add to the end's legend entry: a local minimum, a flat region, a bound."""
    best = v.best
    if best.status is Status.FLAT:
        return ": a flat region"
    if local:
        return f": a local {_best_word(v.maximize)}"
    if v.box is not None and best.m and not best.escaped:
        x = best.P[best.m - 1]
        if np.any(np.isclose(x, v.box[:, 0]) | np.isclose(x, v.box[:, 1])):
            return ": at a bound"
    return ""


def _draw_main(v: _View, Q: np.ndarray, scale: np.ndarray, note: str = "",
               edge: str = "white") -> None:
    run, result = v.best, v.result
    if not len(Q):
        return
    nsteps = int(getattr(result, "nit", run.steps[-1]))
    start = ", ".join(_num(x) for x in run.P[0])
    end = ", ".join(_num(x) for x in run.P[run.m - 1])
    lab_path = f"{'best ' if v.many else ''}path ({_n_steps(nsteps)})"
    if run.undefined:
        fend = run.fv[run.m - 1] if run.fv is not None else math.nan
        lab_end = (f"last point where f is defined (step {int(run.steps[run.m - 1])}): "
                   f"({end}), f = {_fmt(float(fend))}")
    else:
        lab_end = f"end ({end}), f = {_fmt(run.fun)}{note}"
    _draw_path(v.ax, Q, scale, color=v.color, lw=2.2 if v.many else 1.6, zorder=5,
               label=lab_path, edge=edge, end=not run.escaped,
               end_labels=(f"start ({start})", lab_end))


def _gradient_field(ax: Any, F: _Fn, window: np.ndarray, maximize: bool, n: int = 15) -> None:
    X, Y = _grid2(window, n)
    G = F.grad(np.column_stack([X.ravel(), Y.ravel()]))
    G = G if maximize else -G
    norm = np.linalg.norm(G, axis=1)
    with np.errstate(all="ignore"):
        U = np.where(norm > 0, G[:, 0] / norm, 0).reshape(X.shape)
        V = np.where(norm > 0, G[:, 1] / norm, 0).reshape(X.shape)
    ok = np.isfinite(U) & np.isfinite(V)
    ax.quiver(X[ok], Y[ok], U[ok], V[ok], color="white", alpha=0.85, pivot="mid",
              angles="xy", scale=n * 1.6, width=0.003, zorder=2, edgecolor="0.25",
              linewidth=0.4,
              label=("+∇f" if maximize else "−∇f") + " (direction, normalized)")


def _gradient_arrows_1d(ax: Any, F: _Fn, window: np.ndarray, maximize: bool) -> None:
    xs = np.linspace(window[0, 0], window[0, 1], 13)[1:-1]
    X = xs[:, None]
    ys, g = F.value(X), F.grad(X)[:, 0]
    u = np.sign(g) if maximize else -np.sign(g)
    ok = np.isfinite(ys) & np.isfinite(u) & (u != 0)
    ax.quiver(xs[ok], ys[ok], u[ok], np.zeros(ok.sum()), color="0.35", angles="xy",
              scale=25, width=0.004, zorder=2, pivot="tail",
              label=("+" if maximize else "−") + "f′ direction")


def _tangent(ax: Any, F: _Fn, x: float, width: float, *, color: str, style: str, gid: str,
             where: str, name: str) -> float | None:
    with np.errstate(all="ignore"):
        fx = float(F.value(np.array([[x]]))[0])
        slope = float(F.grad(np.array([[x]]))[0, 0])
    if not (math.isfinite(fx) and math.isfinite(slope)):
        return None
    xs = np.array([x - width / 2, x + width / 2])
    ax.plot(xs, fx + slope * (xs - x), style, color=color, lw=1.8, zorder=3, gid=gid,
            label=f"tangent at the {where}: f′({_num(x, width)}) = "
                  f"{_num(slope, max(1.0, abs(fx)))}")
    return slope


def _surface_path(fig: Any, ax: Any, F: _Fn, window: np.ndarray, names: Sequence[str],
                  runs: list[_Run], color: str, maximize: bool, cmap: str) -> None:
    X, Y = _grid2(window, 90)
    Z = F.value(np.column_stack([X.ravel(), Y.ravel()])).reshape(X.shape)
    tf = F.test_function
    log, zmin = _log_levels(Z, tf.fmin if tf is not None else None, maximize,
                            bool(tf is not None and tf.valley))
    flabel = f"f({', '.join(names)})"
    floor = 0.0
    if log:
        D = Z - zmin
        floor = _log_floor(D.ravel(), float(np.nanmax(D)))

    def lift(V: np.ndarray) -> np.ndarray:
        if not log:
            return V
        with np.errstate(all="ignore"):
            return np.log10(np.maximum(V - zmin, floor))

    Zs = np.ma.masked_invalid(lift(Z))
    surf = ax.plot_surface(X, Y, Zs, cmap=cmap, alpha=0.8, linewidth=0, antialiased=False,
                           rcount=90, ccount=90, zorder=1)
    ax.computed_zorder = False
    cb = fig.colorbar(surf, ax=ax, shrink=0.65, pad=0.08)
    zlabel = ((f"log10({flabel} − {zmin:.4g})" if zmin != 0 else f"log10 {flabel}") if log
              else flabel)
    cb.set_label(zlabel, fontsize=11)
    cb.ax.tick_params(labelsize=10)
    ax.set_xlabel(names[0], fontsize=11)
    ax.set_ylabel(names[1], fontsize=11)
    ax.set_zlabel(zlabel, fontsize=10)
    ax.set_xlim(*window[0])
    ax.set_ylim(*window[1])
    for i, r in enumerate(runs):
        P = r.P[: r.m]
        if not len(P):
            continue
        Zp = lift(F.value(P))
        sel = _thin_line(len(P))
        main = i == 0
        ax.plot(P[sel, 0], P[sel, 1], Zp[sel], "-", color=color if main else "white",
                lw=2.2 if main else 0.8, alpha=1.0 if main else 0.4, zorder=10 if main else 5)
        if main:
            ax.plot([P[0, 0]], [P[0, 1]], [Zp[0]], "o", ms=8, color=color, mec="white", zorder=11)
            if r.escaped or r.undefined:
                text, _, gid = (_escape_texts(r) if r.escaped else
                                (f"f undefined at step {r.stop_step}", "", "undefined"))
                ax.text2D(0.02, 0.95, text, transform=ax.transAxes, va="top",
                          color=ESCAPE_COLOR, fontsize=11, fontweight="bold", gid=gid)
            if not r.escaped:
                ax.plot([P[-1, 0]], [P[-1, 1]], [Zp[-1]], "*", ms=15, color=color, mec="white",
                        zorder=11)


def _function_bounds(bounds: Any) -> np.ndarray | None:
    """``bounds`` of :func:`plot_function` as a ``(d, 2)`` array (``None`` when not given)."""
    if bounds is None:
        return None
    try:
        b = np.asarray(bounds, dtype=float)
    except (TypeError, ValueError):
        raise ParameterError("bounds must be numbers: (low, high) or "
                             "[(xlow, xhigh), (ylow, yhigh)]") from None
    if b.shape == (2,):
        b = b.reshape(1, 2)
    if b.ndim != 2 or b.shape[1] != 2 or b.shape[0] not in (1, 2) \
            or not np.all(np.isfinite(b)) or np.any(b[:, 0] >= b[:, 1]):
        raise ParameterError("bounds must be (low, high) or [(xlow, xhigh), (ylow, yhigh)] "
                             "with low < high")
    return b


def _function_of(f: Any, b: np.ndarray | None) -> tuple[_Fn, int, np.ndarray]:
    """What :func:`plot_function` draws: ``f``, its number of variables and the window."""
    if f is None:
        raise ParameterError("plot_function needs f")
    d_hint = None if b is None else b.shape[0]
    probe = None if b is None else b[:, 0] + np.outer([0.13, 0.41, 0.77], b[:, 1] - b[:, 0])
    F = _resolve(f, d_hint, probe)
    if F.d is None and d_hint is None:
        F = _resolve(f, 1, np.array([[-0.7], [0.3], [1.9]]))
        F.d = 1
    d = F.d if F.d is not None else d_hint
    if d not in (1, 2):
        raise ParameterError(f"plot_function draws functions of 1 or 2 variables; f has {d}")
    if b is None:
        b = _bounds_of(F, d)
    if b is None:
        b = np.array([[-5.0, 5.0]] * d)
    if b.shape[0] != d:
        raise ParameterError(f"f has {d} variable(s) but {b.shape[0]} bounds were given")
    return F, d, b


def _marks(ax: Any, F: _Fn, d: int, marks: Mapping[str, Any] | None) -> None:
    """Named points on the picture, one colour each: x values on the curve (one variable) or
    ``(x, y)`` points (two)."""
    for i, (label, pts) in enumerate((marks or {}).items()):
        try:
            P = np.asarray(pts, dtype=float).reshape(-1, d)
        except (TypeError, ValueError):
            what = "x values" if d == 1 else "(x, y) points"
            raise ParameterError(f"marks[{label!r}] must be {what}") from None
        Q = P if d == 2 else np.column_stack([P[:, 0], F.value(P)])
        ax.plot(Q[:, 0], Q[:, 1], "o", ms=10 - 2 * (i % 3), color=COLORS[i % len(COLORS)],
                mec="black", mew=0.8, alpha=0.85, zorder=6 + i, linestyle="none",
                label=str(label), gid="mark")


def plot_function(f: Any, *, bounds: Any = None, path: Any = None, surface: bool = False,
                  show_gradients: bool = False, title: str | None = None, levels: Any = None,
                  cmap: str = _CMAP, marks: Mapping[str, Any] | None = None) -> Any:
    """Draw ``f`` alone: a curve for one variable, contours (or a surface) for two.

    ``bounds`` is ``(low, high)`` for one variable or ``[(xlow, xhigh), (ylow, yhigh)]`` for
    two; by default the test function's domain, else ``[-5, 5]`` per variable (a Python
    callable is taken to have one variable unless two bounds are given). One variable: the
    lowest minimum on the interval is "minimum of f", the others "local minimum".
    ``marks`` names points to show, one colour each: ``{"full-batch GD": [-0.96, ...]}``
    (x values on the curve for one variable, ``(x, y)`` points for two).
    """
    F, d, b = _function_of(f, _function_bounds(bounds))
    names = _var_names(F, None, d)
    fig = _figure()
    if d == 2 and surface:
        ax = fig.add_subplot(projection="3d")
        _surface_path(fig, ax, F, b, names, [], PATH_COLOR, False, cmap)
    elif d == 2:
        ax = fig.add_subplot()
        _contour(fig, ax, F, b, names, levels=levels, cmap=cmap)
        if show_gradients:
            _gradient_field(ax, F, b, False)
        _known_minima(ax, F, b)
        _marks(ax, F, d, marks)
        _legend_below(fig, ax)
    else:
        ax = fig.add_subplot()
        xs, ys = _curve(ax, F, b, names[0], np.array([]))
        _extremum_1d(ax, xs, ys, False)
        if show_gradients:
            _gradient_arrows_1d(ax, F, b, False)
        _marks(ax, F, d, marks)
        _legend(ax)
    _style(ax)
    if title is None:
        title = F.text if F.test_function is not None else _fn_label(F, ", ".join(names))
    ax.set_title(title, fontsize=12)
    _save(fig, path)
    return fig
