"""Runs of three or more variables, whose path cannot be drawn: ``f`` and ``|grad|`` per step
with the stop reason (what :func:`~gdlab.plot.plot_path` and
:func:`~gdlab.plot.plot_compare` draw for them)."""

from __future__ import annotations

import textwrap
from typing import Any, Sequence

import numpy as np

from ._figure import (
    ESCAPE_COLOR,
    _figure,
    _handles,
    _legend_below,
    _style,
    _thin_line,
)
from ._fn import _Fn, _fn_label
from ._runs import _all_maximize, _describe, _kind, _outcome, _Run, _run_of


def _scale(ax: Any, values: np.ndarray, log_ok: bool) -> str:
    """A log scale when the positive values span more than two decades, a symmetric log scale
    when values of both signs span many decades (an unbounded run), else linear."""
    v = values[np.isfinite(values)]
    if not v.size:
        return "linear"
    a = np.abs(v)
    if log_ok and np.all(v > 0) and v.max() / v.min() > 100:
        ax.set_yscale("log")
        return "log"
    if np.any(v < 0) and a.max() > 1e6 * max(float(np.median(a)), 1.0):
        ax.set_yscale("symlog", linthresh=max(float(np.median(a)), 1.0))
        return "symlog"
    return "linear"


def _end_mark(ax: Any, run: _Run, result: Any, steps: np.ndarray, fv: np.ndarray,
              color: str, labelled: bool) -> None:
    """The run's last value: a star when it converged, a red X when it failed (at its last
    finite value), a dot otherwise; labelled with the outcome."""
    ok = np.flatnonzero(np.isfinite(fv))
    if not len(ok):
        return
    j = ok[-1]
    status = run.status
    label = _outcome(result, run) if labelled else None
    if (status is not None and status.failed) or run.diverged:
        ax.plot([steps[j]], [fv[j]], "X", ms=12, color=ESCAPE_COLOR if labelled else color,
                mec="white" if labelled else "black", zorder=6, label=label, gid="stop")
    elif status is not None and status.success:
        ax.plot([steps[j]], [fv[j]], "*", ms=16, color=color, mec="black", mew=0.8, zorder=6,
                label=label, gid="stop")
    else:
        ax.plot([steps[j]], [fv[j]], "o", ms=9, color=color, mec="black", zorder=6,
                label=label, gid="stop")


def _faint_starts(fax: Any, gax: Any, result: Any, color: str) -> None:
    """Every start of a many-start result, faint."""
    ah = getattr(result, "all_history", None)
    if ah is None or len(ah) == 0:
        return
    steps, F, G = ah.steps, np.asarray(ah.fun, dtype=float), np.asarray(ah.grad_norm, dtype=float)
    if F.ndim != 2:
        return
    nits = getattr(result, "nits", None)
    for i in range(min(F.shape[1], 200)):
        n = len(steps) if nits is None else int(np.searchsorted(steps, int(nits[i]), "right"))
        fax.plot(steps[:n], F[:n, i], "-", color=color, lw=0.7, alpha=0.25, zorder=2)
        gax.plot(steps[:n], G[:n, i], "-", color=color, lw=0.7, alpha=0.25, zorder=2)


def _steps_picture(items: list[tuple[str, Any]], F: _Fn | None, names: Sequence[str],
                   colors: Sequence[str], *, labels: Sequence[str] = (), ax: Any = None,
                   title: str | None = None) -> Any:
    """``f`` (top) and ``|grad|`` (bottom) per step of each run, with how each one stopped.
    One run: its stop reason in the legend; several: one colour each, named in the legend
    by ``labels``.
    Given ``ax``, ``f`` is drawn there and ``|grad|`` dashed on a second y axis."""
    single = len(items) == 1
    own = ax is None
    fig = _figure() if own else ax.figure
    if own:
        fax, gax = fig.subplots(2, 1, sharex=True, gridspec_kw={"height_ratios": [3, 2]})
    else:
        fax, gax = ax, ax.twinx()
    _style(fax)
    _style(gax)
    maximize = _all_maximize([r for _, r in items])
    gname = _grad_name(len(names))
    fvals, gvals = [], []
    for i, ((_, res), color) in enumerate(zip(items, colors)):
        run = _run_of(res)
        h = res.history
        steps = np.asarray(h.steps)
        fv, gn = np.asarray(h.fun, dtype=float), np.asarray(h.grad_norm, dtype=float)
        if single:
            _faint_starts(fax, gax, res, color)
        sel = _thin_line(len(steps))
        fax.plot(steps[sel], fv[sel], "-", color=color, lw=1.8, zorder=4, gid="f-per-step",
                 label="f per step" if single else labels[i])
        gax.plot(steps[sel], gn[sel], "-" if own else "--", color=color, lw=1.5, zorder=4,
                 gid="grad-per-step", label=f"{gname} per step" if single else None)
        _end_mark(fax, run, res, steps, fv, color, labelled=single)
        fvals.append(fv)
        gvals.append(gn)
        if single:
            reason = textwrap.fill(f"stop reason: {getattr(res, 'reason', '')}", 95)
            gax.plot([], [], " ", label=reason, gid="reason")
    fscale = _scale(fax, np.concatenate(fvals), log_ok=not maximize)
    g = np.concatenate(gvals)
    gpos = g[np.isfinite(g) & (g > 0)]
    if gpos.size and gpos.max() / gpos.min() > 10:
        gax.set_yscale("log")
    fax.set_ylabel("f" + {"log": " (log scale)", "symlog": " (symmetric log scale)"}
                   .get(fscale, ""), fontsize=11)
    gax.set_ylabel(gname, fontsize=11)
    gax.set_xlabel("step", fontsize=11)
    if not own:
        fax.set_xlabel("step", fontsize=11)
    for a in (fax, gax):
        from matplotlib.ticker import MaxNLocator
        a.xaxis.set_major_locator(MaxNLocator(integer=True))
        a.grid(True, alpha=0.3, which="major")
    if own:
        _legend_below(fig, fax, gax)
    else:
        hs, labs = _handles(fax, gax)
        gax.legend(hs, labs, fontsize=9.5, framealpha=0.9, loc="best")
    fax.set_title(title if title is not None else _title(items, F, names, maximize),
                  fontsize=12)
    return fig


def _title(items: list[tuple[str, Any]], F: _Fn | None, names: Sequence[str],
           maximize: bool | None) -> str:
    flabel = _fn_label(F, ", ".join(names)) if F is not None else f"f({', '.join(names)})"
    kind = {True: _kind(True), False: "gradient descent", None: "descent and ascent"}[maximize]
    if len(items) == 1:
        res = items[0][1]
        what = f"{kind}, {_describe(res)}: {_outcome(res, _run_of(res))}"
    else:
        what = f"{kind}: {len(items)} runs"
    return (f"{flabel}\n{what}\n{len(names)} variables, so no path to draw: "
            f"f and {_grad_name(len(names))} per step")


def _grad_name(d: int) -> str:
    return "|grad|" if d == 1 else "norm(grad)"

