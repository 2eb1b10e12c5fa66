"""Several runs on one picture of ``f`` (:func:`plot_compare`), one colour each, with an
optional panel of the value per step."""

from __future__ import annotations

from typing import Any, Sequence

import numpy as np

from ._draw import (
    _compare_cmap,
    _contour,
    _curve,
    _draw_box,
    _draw_path,
    _known_minima,
    _mark_divergence,
    _mark_undefined,
    _plane_axes,
)
from ._figure import FIGSIZE, _f_or_path, _figure, _legend_right, _save, _style, _thin_line
from ._fn import _Fn, _fn_label, _var_names
from ._runs import (
    _all_maximize,
    _common_box,
    _compare_runs,
    _kind,
    _named_results,
    _next_coords,
    _plot_coords,
    _Run,
)
from .steps import _steps_picture


def plot_compare(results: Any, f: Any = None, *, path: Any = None, title: str | None = None,
                 with_loss: bool = False, colors: Sequence[str] | None = None,
                 levels: Any = None, figsize: Any = None) -> Any:
    """Several runs (optimizers, learning rates) on one picture of ``f``, one colour each.

    The legend, outside the axes on the right, names each run with its final value and its
    number of steps ("adam: f=1.2e-08, 350 steps"), or how it failed ("diverged at step 12",
    "unbounded at step 30", "f undefined at step 3"). ``results`` is a dict name -> Result
    or a list of Results (then named by optimizer and learning rate). ``with_loss=True``
    adds a second panel: ``f - fmin`` (or ``f``) per step, on a log scale when it spans
    decades. Runs of three or more variables are drawn as ``f`` and ``|grad|`` per step.
    A file name given as ``f`` (``"cmp.png"``) is taken as ``path``. The default size is
    8 x 6 inches, 12 x 5.5 with the loss panel.
    """
    f, path = _f_or_path(f, path, "plot_compare")
    items = _named_results(results)
    runs, F, d, window = _compare_runs(items, f, colors, many_variables=True)
    names = _var_names(F, items[0][1], d)
    maximize = _all_maximize([r for _, r in items])
    if window is None:  # three or more variables
        fig = _steps_picture(items, F, names, [r.color for r in runs],
                             labels=[r.label for r in runs], title=title)
        _save(fig, path)
        return fig

    fig = _figure(figsize or ((12.0, 5.5) if with_loss else FIGSIZE))
    if with_loss:
        ax, lax = fig.subplots(1, 2, gridspec_kw={"width_ratios": [1.15, 1]})
    else:
        ax, lax = fig.add_subplot(), None
    _style(ax)
    hfs = [None if F is not None else np.asarray(res.history.fun, float) for _, res in items]
    if d == 2:
        if F is not None:
            _contour(fig, ax, F, window, names, maximize=bool(maximize), levels=levels,
                     cmap=_compare_cmap(), cbar_location="bottom")
        else:
            _plane_axes(ax, window, names)
        _known_minima(ax, F, window)
        scale = window[:, 1] - window[:, 0]
        coords = [r.P[: r.m] for r in runs]
    else:
        coords = [_plot_coords(r, F, 1, hf) for r, hf in zip(runs, hfs)]
        _curve(ax, F, window, names[0], np.concatenate([q[:, 1] for q in coords]), color="0.35")
        ylim = ax.get_ylim()
        scale = np.array([window[0, 1] - window[0, 0], ylim[1] - ylim[0]])
    _draw_box(ax, _common_box([r for _, r in items], d), d, names)
    _draw_runs(ax, runs, coords, F, d, hfs, scale)
    if d == 1:
        ax.set_ylim(*ylim)
    if lax is not None:
        _loss_panel(lax, runs, items, F, bool(maximize))
    _legend_right(fig, ax)
    if title is None:
        title = _compare_title(F, names, maximize)
    if with_loss:
        fig.suptitle(title, fontsize=12)
    else:
        ax.set_title(title, fontsize=12)
    _save(fig, path)
    return fig


def _draw_runs(ax: Any, runs: list[_Run], coords: list[np.ndarray], F: _Fn | None, d: int,
               hfs: list[np.ndarray | None], scale: np.ndarray) -> None:
    """Each run's path in its colour, and where it escaped or left f's domain."""
    edge = "white" if d == 2 else "black"
    for r, Q in zip(runs, coords):
        _draw_path(ax, Q, scale, color=r.color, lw=1.8, zorder=5, label=r.label, edge=edge,
                   dots=len(runs) <= 4, end=not r.escaped)
    for r, Q, hf in zip(runs, coords, hfs):
        if r.escaped:
            _mark_divergence(ax, r, Q, _next_coords(r, F, d, hf), color=r.color, text=False)
        elif r.undefined:
            _mark_undefined(ax, r, Q, d, color=r.color, text=False)


def _compare_title(F: _Fn | None, names: Sequence[str], maximize: bool | None) -> str:
    """The function, and for ascent runs that they maximize."""
    if F is None:
        what = "comparison"
    else:
        what = F.text if F.test_function is not None else _fn_label(F, ", ".join(names))
    if maximize is None:
        return f"{what}\ngradient descent and ascent runs"
    if maximize:
        return f"{what}\n{_kind(True)}" if F is not None else f"comparison: {_kind(True)}"
    return what


def _loss_panel(ax: Any, runs: list[_Run], items: list[tuple[str, Any]], F: _Fn | None,
                maximize: bool) -> None:
    _style(ax)
    tf = F.test_function if F is not None else None
    series = [(np.asarray(res.history.steps), np.asarray(res.history.fun, dtype=float))
              for _, res in items]
    allv = np.concatenate([s[1] for s in series])
    allv = allv[np.isfinite(allv)]
    ylabel, shift, log = "f", 0.0, False
    if not maximize and allv.size:
        if tf is not None:
            shift, ylabel, log = tf.fmin, f"f − fmin (fmin = {tf.fmin:.4g})", True
        else:
            pos = allv[allv > 0]
            log = bool(pos.size == allv.size and pos.max() / pos.min() > 100)
    floor = 0.0  # (used only on a log scale)
    if log:
        vals = allv - shift
        pos = vals[vals > 0]
        floor = float(pos.min()) if pos.size else 1e-16
    for r, (steps, fv) in zip(runs, series):
        y = fv - shift
        if log:
            y = np.where(np.isfinite(y), np.maximum(y, floor), np.nan)
        sel = _thin_line(len(y))
        ax.plot(steps[sel], y[sel], "-", color=r.color, lw=1.6)
        if r.escaped or r.undefined:
            last = np.flatnonzero(np.isfinite(y))
            if len(last):
                j = last[-1]
                ax.plot([steps[j]], [y[j]], "X", ms=10, color=r.color, mec="white", zorder=6)
    if log:
        ax.set_yscale("log")
    ax.set_xlabel("step", fontsize=11)
    ax.set_ylabel(ylabel, fontsize=11)
    ax.grid(True, alpha=0.3, which="major")
    ax.set_title("value per step", fontsize=11)
