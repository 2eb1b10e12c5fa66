"""One run over its function (:func:`plot_path`) and a function alone (:func:`plot_function`):
curves with tangents and extrema, contours with gradient fields, 3-D surfaces."""

from __future__ import annotations

import math
from typing import Any, Sequence

import numpy as np

from ..errors import ParameterError
from ._draw import (
    _contour,
    _curve,
    _draw_path,
    _grid2,
    _known_minima,
    _log_floor,
    _log_levels,
    _mark_divergence,
    _plane_axes,
)
from ._figure import (
    _CMAP,
    ESCAPE_COLOR,
    PATH_COLOR,
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
    _describe,
    _layout,
    _next_coords,
    _outcome,
    _plot_coords,
    _Run,
    _run_of,
    _start_runs,
    _status,
)


def _prepare(result: Any, f: Any) -> tuple[_Run, list[_Run], _Fn | None, int]:
    best = _run_of(result)
    d = best.P.shape[1]
    if d > 2:
        raise ParameterError(f"a path can be drawn for 1 or 2 variables; this run has {d} "
                             f"(draw its loss with plot_loss(result.history))")
    F = None if f is None else _resolve(f, d, best.P[np.all(np.isfinite(best.P), axis=1)][:5])
    if F is not None and F.d is not None and F.d != d:
        raise ParameterError(f"f has {F.d} variable(s) but the run moved {d}")
    others = _start_runs(result) if getattr(result, "all_history", None) is not None else []
    return best, others, F, d


def plot_path(result: Any, f: Any = None, *, path: Any = None, ax: Any = None,
              show_tangents: bool = True, show_gradients: bool = False, surface: bool = False,
              title: str | None = None, levels: Any = None, color: str = PATH_COLOR,
              cmap: str = _CMAP) -> Any:
    """Draw a descent (or ascent) run over its function.

    One variable: the curve of ``f``, the steps as points on it joined by arrows, the tangent
    lines at the start and at the end (their slope is the derivative), and the minimum
    (maximum) of ``f`` in view. Two variables: filled contours (log-spaced levels of
    ``f - fmin`` for valley functions), the path with its start (circle) and end (star), the
    known global minima of a named test function (x), and with ``show_gradients`` the
    direction of steepest descent on a coarse grid; ``surface=True`` draws the 3-D surface
    with the path lifted onto it.

    A run that diverged is drawn up to where it leaves the picture, with a red arrow at the
    edge and the text "diverged at step k". For many starts every path is drawn faintly and
    the best one bold.

    Parameters
    ----------
    result : Result
        What :func:`gdlab.minimize` / :func:`gdlab.maximize` returned.
    f : Function, str, sympy expression or callable, optional
        The function the run descended (results do not carry it). Without it only the path
        is drawn (one variable: over the recorded values).
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
    best, others, F, d = _prepare(result, f)
    maximize = bool(getattr(result, "maximize", False))
    own = ax is None
    fig = _figure() if own else ax.figure
    ax = _path_axes(fig, ax, F, d, surface)
    _style(ax)

    status = _status(result)
    converged = status is not None and status.success
    focus = best.P[len(best.P) - 1] if converged and np.all(np.isfinite(best.P[-1])) else None
    window = _layout([best, *others], F, d, focus, converged)
    names = _var_names(F, result, d)
    hf = np.asarray(result.history.fun, dtype=float) if F is None else None

    if d == 2 and surface and F is not None:  # (a surface without f was refused above)
        _surface_path(fig, ax, F, window, names, [best, *others], color, maximize, cmap)
    elif d == 2:
        if F is not None:
            _contour(fig, ax, F, window, names, maximize=maximize, levels=levels, cmap=cmap)
            if show_gradients:
                _gradient_field(ax, F, window, maximize)
        else:
            _plane_axes(ax, window, names)
        _paths_2d(ax, result, best, others, F, window, color)
    else:
        _path_1d(ax, result, best, others, F, hf, window, names[0], color, maximize,
                 show_tangents, show_gradients)

    if ax.name != "3d":
        if own:
            _legend_below(fig, ax)
        else:
            _legend(ax)
    if title is None:
        title = _path_title(result, best, bool(others), F, names, maximize)
    ax.set_title(title, fontsize=12)
    _save(fig, path)
    return fig


def _path_axes(fig: Any, ax: Any, F: _Fn | None, d: int, surface: bool) -> Any:
    """The axes to draw into: the caller's (3-D for a surface) or a new one in ``fig``."""
    if surface and d == 2:
        if F is None:
            raise ParameterError("a surface needs f")
        if ax is None:
            ax = fig.add_subplot(projection="3d")
        elif getattr(ax, "name", "") != "3d":
            raise ParameterError("surface=True needs a 3-D axes (projection='3d')")
    elif ax is None:
        ax = fig.add_subplot()
    return ax


def _paths_2d(ax: Any, result: Any, best: _Run, others: list[_Run], F: _Fn | None,
              window: np.ndarray, color: str) -> None:
    """Over the contours (or the bare plane): the known minima, the other starts' paths
    faintly, the best path and where it diverged."""
    _known_minima(ax, F, window)
    scale = window[:, 1] - window[:, 0]
    faint = "white" if F is not None else "0.4"
    for r in others:
        Q = r.P[: r.m]
        _draw_path(ax, Q, scale, color=faint, lw=0.8, alpha=0.35, arrows=False, zorder=3,
                   ends=False)
        if len(Q):
            ax.plot([Q[0, 0]], [Q[0, 1]], "o", ms=3.5, color=faint, alpha=0.6, zorder=3, mew=0)
    _draw_main(ax, best, best.P[: best.m], scale, color, bool(others), result)
    if best.diverged:
        _mark_divergence(ax, best, best.P[: best.m], _next_coords(best, F, 2))


def _path_1d(ax: Any, result: Any, best: _Run, others: list[_Run], F: _Fn | None,
             hf: np.ndarray | None, window: np.ndarray, name: str, color: str, maximize: bool,
             show_tangents: bool, show_gradients: bool) -> None:
    """One variable: the curve (or the recorded values ``hf``), its extrema, the other
    starts' paths faintly, gradient arrows, tangents, the best path and where it diverged."""
    Qb = _plot_coords(best, F, 1, hf)
    Qo = [_plot_coords(r, F, 1) for r in others] if F is not None else []
    xs, ys = _curve(ax, F, window, name, np.concatenate([Qb[:, 1], *[q[:, 1] for q in Qo]]))
    if F is not None:
        _extremum_1d(ax, xs, ys, maximize)
    ylim = ax.get_ylim()
    scale = np.array([window[0, 1] - window[0, 0], ylim[1] - ylim[0]])
    for q in Qo:
        _draw_path(ax, q, scale, color="0.45", lw=0.8, alpha=0.35, arrows=False, zorder=3,
                   ends=False)
    if show_gradients and F is not None:
        _gradient_arrows_1d(ax, F, window, maximize)
    if show_tangents and F is not None and best.m:
        _tangents(ax, F, best, window, name)
    ax.set_ylim(*ylim)
    _draw_main(ax, best, Qb, scale, color, bool(others), result, edge="black")
    if best.diverged:
        _mark_divergence(ax, best, Qb, _next_coords(best, F, 1, hf))


def _tangents(ax: Any, F: _Fn, run: _Run, window: np.ndarray, name: str) -> None:
    """The tangent lines at the run's start and (after more than one point) at its end."""
    w = 0.3 * (window[0, 1] - window[0, 0])
    _tangent(ax, F, float(run.P[0, 0]), w, color="#ff7f0e", style="--",
             gid="tangent-start", where="start", name=name)
    if run.m > 1:
        _tangent(ax, F, float(run.P[run.m - 1, 0]), w, color="#2ca02c", style="-.",
                 gid="tangent-end", where="end", name=name)


def _path_title(result: Any, best: _Run, many: bool, F: _Fn | None, names: Sequence[str],
                maximize: bool) -> str:
    """The default title: the function (or the direction) over the run's outcome."""
    starts = f", best of {result.n_starts} starts" if many else ""
    what = f"{_describe(result)}: {_outcome(result, best)}{starts}"
    if F is None:
        return f"gradient {'ascent' if maximize else 'descent'}, {what}"
    if F.test_function is not None:
        return f"{F.text}\n{what}"
    return f"{_fn_label(F, ', '.join(names))}\n{what}"


def _draw_main(ax: Any, run: _Run, Q: np.ndarray, scale: np.ndarray, color: str, many: bool,
               result: Any, edge: str = "white") -> None:
    if not len(Q):
        return
    nsteps = int(getattr(result, "nit", run.steps[-1]))
    start = ", ".join(_num(v) for v in run.P[0])
    end = ", ".join(_num(v) for v in run.P[run.m - 1])
    lab_path = f"{'best ' if many else ''}path ({nsteps} steps)"
    _draw_path(ax, Q, scale, color=color, lw=2.2 if many else 1.6, zorder=5, label=lab_path,
               edge=edge, end=not run.diverged,
               end_labels=(f"start ({start})", f"end ({end}), f = {_fmt(run.fun)}"))


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


def _extremum_1d(ax: Any, xs: np.ndarray, ys: np.ndarray, maximize: bool, limit: int = 5) -> None:
    """Mark the minima (maxima) of f inside the view: grid points lower (higher) than both
    neighbours, refined by the parabola through the three; none at the edges."""
    v = -ys if maximize else ys
    good = np.isfinite(v)
    if good.sum() < 3:
        return
    w = np.where(good, v, np.inf)
    inner = np.arange(2, len(xs) - 2)
    idx = inner[(w[inner] < w[inner - 1]) & (w[inner] <= w[inner + 1])]
    if not len(idx):
        return
    if len(idx) > limit:  # the lowest (highest) ones
        idx = np.sort(idx[np.argsort(w[idx], kind="stable")[:limit]])
    h = xs[1] - xs[0]
    pts = []
    for i in idx:
        y0, y1, y2 = ys[i - 1], ys[i], ys[i + 1]
        den = y0 - 2 * y1 + y2
        xm, ym = xs[i], y1
        if den != 0 and np.isfinite(den):  # the parabola through the three grid points
            off = 0.5 * h * (y0 - y2) / den
            if abs(off) <= h:
                xm, ym = xs[i] + off, y1 - 0.25 * (y0 - y2) * off / h
        pts.append((xm, ym))
    P = np.asarray(pts)
    what = "maximum" if maximize else "minimum"
    if len(P) == 1:
        span = float(np.nanmax(ys[good]) - np.nanmin(ys[good]))
        label = f"{what} of f: ({_num(P[0, 0], xs[-1] - xs[0])}, {_num(P[0, 1], span)})"
    else:
        label = f"local {'maxima' if maximize else 'minima'} of f"
    ax.plot(P[:, 0], P[:, 1], "P", ms=11, color="#2ca02c", mec="black", mew=0.8, zorder=4,
            linestyle="none", label=label, gid="extremum")


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
            if not r.diverged:
                ax.plot([P[-1, 0]], [P[-1, 1]], [Zp[-1]], "*", ms=15, color=color, mec="white",
                        zorder=11)
            else:
                ax.text2D(0.02, 0.95, f"diverged at step {r.div_step}", transform=ax.transAxes,
                          color=ESCAPE_COLOR, fontsize=11, fontweight="bold", gid="diverged")


def plot_function(f: Any, *, bounds: Any = None, path: Any = None, surface: bool = False,
                  show_gradients: bool = False, title: str | None = None, levels: Any = None,
                  cmap: str = _CMAP) -> Any:
    """Draw ``f`` alone: a curve for one variable, contours (or a surface) for two.

    ``bounds`` is ``(low, high)`` for one variable or ``[(xlow, xhigh), (ylow, yhigh)]`` for
    two; by default the test function's domain, else ``[-5, 5]`` per variable (a Python
    callable is taken to have one variable unless two bounds are given).
    """
    b = _given_bounds(bounds)
    d_hint = None if b is None else b.shape[0]
    probe = None if b is None else b[:, 0] + np.outer([0.13, 0.41, 0.77], b[:, 1] - b[:, 0])
    if f is None:
        raise ParameterError("plot_function needs f")
    F = _resolve(f, d_hint, probe)
    if F.d is None and d_hint is None:
        F = _resolve(f, 1, np.array([[-0.7], [0.3], [1.9]]))
        F.d = 1
    d = F.d if F.d is not None else d_hint
    if d not in (1, 2):
        raise ParameterError(f"plot_function draws functions of 1 or 2 variables; f has {d}")
    assert d is not None  # (d is 1 or 2)
    b = _window_of(F, d, b)
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
        _legend_below(fig, ax)
    else:
        ax = fig.add_subplot()
        xs, ys = _curve(ax, F, b, names[0], np.array([]))
        _extremum_1d(ax, xs, ys, False)
        if show_gradients:
            _gradient_arrows_1d(ax, F, b, False)
        _legend(ax)
    _style(ax)
    if title is None:
        title = F.text if F.test_function is not None else _fn_label(F, ", ".join(names))
    ax.set_title(title, fontsize=12)
    _save(fig, path)
    return fig


def _given_bounds(bounds: Any) -> np.ndarray | None:
    """``bounds`` as a ``(d, 2)`` array of (low, high) rows, checked; ``None`` if not given."""
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


def _window_of(F: _Fn, d: int, b: np.ndarray | None) -> np.ndarray:
    """The bounds to draw ``F`` on: those given, else the test function's domain, else
    [-5, 5] per variable."""
    if b is None:
        b = _bounds_of(F, d)
    if b is None:
        b = np.array([[-5.0, 5.0]] * d)
    if b.shape[0] != d:
        raise ParameterError(f"f has {d} variable(s) but {b.shape[0]} bounds were given")
    return b
