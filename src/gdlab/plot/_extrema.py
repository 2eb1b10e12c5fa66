"""Minima (maxima, when maximizing) of a one-variable ``f`` on a picture: those in view,
labelled by whether they are the lowest value on the drawn interval, and a numerical look
beyond the window for a lower region, which widens the window or is marked at its edge.

A point is called "minimum of f" only when it is the lowest value on the drawn interval and
the look beyond found nothing lower; the others are "local minimum"."""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import numpy as np

from ._figure import _num
from ._fn import _Fn

#: the look beyond the window reaches this many window widths to each side (10 units at least)
_REACH = 20.0
#: the window is widened to a lower minimum when it becomes at most this many times wider
_WIDEN = 30.0
#: points of the look beyond
_SCAN_POINTS = 8001
_LOWEST_COLOR = "#2ca02c"
_LOCAL_COLOR = "#ffbf00"


@dataclass
class _Beyond:
    """A lower (higher, when maximizing) region outside the window, not drawn."""

    side: str        # "left" or "right"
    x: float         # where the look beyond found its lowest value
    value: float     # f there
    endless: bool    # f was still falling at the end of the look: no minimum found


def _look_beyond(F: _Fn, window: np.ndarray, maximize: bool,
                 limits: np.ndarray | None = None) -> tuple[np.ndarray, _Beyond | None]:
    """Scan ``f`` far to both sides of the window (within ``limits``: a bounded run's box or a
    function's domain). When it is lower (higher) somewhere outside than anywhere inside,
    widen the window to that point's basin, or, when ``f`` is still falling at the end of the
    scan, to the nearest point lower than anything in view. Returns the window and the lower
    region that is not drawn: the minimum when widening would make the picture more than
    :data:`_WIDEN` times wider, and always an endless fall (``None`` when all is in view)."""
    a, b = (float(v) for v in window[0])
    span = b - a
    reach = max(_REACH * span, 10.0)
    lo, hi = a - reach, b + reach
    if limits is not None:
        lo, hi = max(lo, float(limits[0])), min(hi, float(limits[1]))
    if not hi > lo or not span > 0:
        return window, None
    xs = np.linspace(lo, hi, _SCAN_POINTS)
    v = F.value(xs[:, None])
    v = -v if maximize else v
    good = np.isfinite(v)
    inside = good & (xs >= a) & (xs <= b)
    if not inside.any() or not (good & ~inside).any():
        return window, None
    vin = float(v[inside].min())
    j = int(np.argmin(np.where(good, v, np.inf)))
    tol = 1e-6 * max(float(v[inside].max()) - vin, abs(vin), 1.0)
    if not float(v[j]) < vin - tol:
        return window, None
    endless = (j == 0 and lo == a - reach) or (j == len(xs) - 1 and hi == b + reach)
    side = "left" if xs[j] < a else "right"
    x = float(xs[j])
    if endless:  # show where f gets lower than in view (the nearest such point), if near
        lower = np.flatnonzero(good & ~inside & (v < vin - tol) & ((xs < a) == (side == "left")))
        x = float(xs[lower[-1] if side == "left" else lower[0]])
    new_lo, new_hi = min(a, x), max(b, x)
    pad = (0.25 if endless else 0.12) * (new_hi - new_lo)
    new_lo, new_hi = (new_lo - pad if x < a else new_lo), (new_hi + pad if x > b else new_hi)
    value = -float(v[j]) if maximize else float(v[j])
    found = _Beyond(side, float(xs[j]), value, endless)
    if new_hi - new_lo > _WIDEN * span:
        return window, found
    out = np.array(window, dtype=float)
    out[0] = (new_lo, new_hi)
    return out, (found if endless else None)


def _reach_domain(F: _Fn, window: np.ndarray) -> np.ndarray:
    """The window widened to the nearest part of f's domain when f has no value in it (a
    run that started outside the domain), so the picture shows where to start instead."""
    a, b = (float(v) for v in window[0])
    span = b - a
    xs = np.linspace(a, b, 801)
    if not span > 0 or np.isfinite(F.value(xs[:, None])).any():
        return window
    reach = max(_REACH * span, 10.0)
    xs = np.linspace(a - reach, b + reach, _SCAN_POINTS)
    ok = np.flatnonzero(np.isfinite(F.value(xs[:, None])))
    if not len(ok):
        return window
    x = float(xs[ok[np.argmin(np.abs(xs[ok] - (a + b) / 2))]])
    out = np.array(window, dtype=float)
    out[0] = (min(a, x - span), max(b, x)) if x < a else (min(a, x), max(b, x + span))
    return out


def _refine(xs: np.ndarray, ys: np.ndarray, i: int) -> tuple[float, float]:
    """The extremum near grid point ``i``: the vertex of the parabola through three points."""
    h = xs[1] - xs[0]
    y0, y1, y2 = ys[i - 1], ys[i], ys[i + 1]
    den = y0 - 2 * y1 + y2
    if den != 0 and np.isfinite(den):
        off = 0.5 * h * (y0 - y2) / den
        if abs(off) <= h:
            return float(xs[i] + off), float(y1 - 0.25 * (y0 - y2) * off / h)
    return float(xs[i]), float(y1)


def _extremum_1d(ax: Any, xs: np.ndarray, ys: np.ndarray, maximize: bool,
                 beyond: _Beyond | None = None, limits: np.ndarray | None = None,
                 limit: int = 5) -> float | None:
    """Mark the minima (maxima) of f inside the view: grid points lower (higher) than both
    neighbours, refined by the parabola through the three; none at the edges. The one that
    is the lowest value on the drawn interval (when nothing lower lies ``beyond``) is the
    "minimum of f"; the others are local minima. Only ``limits`` (a bounded run's box) count
    as the drawn interval. Returns the lowest value in view (of ``-f`` when maximizing),
    ``None`` when f has fewer than three values in view."""
    v = -ys if maximize else ys
    good = np.isfinite(v)
    if limits is not None:
        good &= (xs >= limits[0]) & (xs <= limits[1])
    if good.sum() < 3:
        return None
    w = np.where(good, v, np.inf)
    low = float(w.min())
    inner = np.arange(2, len(xs) - 2)
    both = np.isfinite(w[inner - 1]) & np.isfinite(w[inner + 1])  # not at a bound or a gap
    idx = inner[both & (w[inner] < w[inner - 1]) & (w[inner] <= w[inner + 1])]
    if len(idx) > limit:  # the lowest (highest) ones
        idx = np.sort(idx[np.argsort(w[idx], kind="stable")[:limit]])
    span = float(np.nanmax(ys[good]) - np.nanmin(ys[good]))
    tol = 1e-9 * max(abs(low), 1.0) + 1e-6 * span
    lowest = [i for i in idx if beyond is None and w[i] <= low + tol]
    local = [i for i in idx if i not in lowest]
    what, many = ("maximum", "maxima") if maximize else ("minimum", "minima")
    scale = xs[-1] - xs[0]

    def at(i: int) -> str:
        x, y = _refine(xs, ys, i)
        return f"({_num(x, scale)}, {_num(y, span)})"

    if lowest:
        if len(lowest) > 1:
            label = f"{many} of f (equally {'high' if maximize else 'low'})"
        else:
            best = ("highest " if maximize else "lowest ") if local else ""
            label = f"{best}{what} of f: {at(lowest[0])}"
        _extrema_marks(ax, xs, ys, lowest, label, _LOWEST_COLOR, "extremum")
    if local:
        label = (f"local {what}: {at(local[0])}" if len(local) == 1 else
                 f"local {many}: " + ", ".join(at(i) for i in local) if len(local) == 2 else
                 f"local {many} of f")
        _extrema_marks(ax, xs, ys, local, label, _LOCAL_COLOR, "extremum-local")
    return low


def _extrema_marks(ax: Any, xs: np.ndarray, ys: np.ndarray, idx: list, label: str,
                   color: str, gid: str) -> None:
    P = np.array([_refine(xs, ys, i) for i in idx])
    ax.plot(P[:, 0], P[:, 1], "P", ms=11, color=color, mec="black", mew=0.8, zorder=4,
            linestyle="none", label=label, gid=gid)


def _mark_beyond(ax: Any, beyond: _Beyond | None, maximize: bool) -> None:
    """An arrow at the window's edge towards a lower (higher) region that is not drawn."""
    if beyond is None:
        return
    left = beyond.side == "left"
    word = "higher" if maximize else "lower"
    if beyond.endless:
        text = (f"farther {beyond.side}, f keeps going {'up' if maximize else 'down'}\n"
                f"(still {'rising' if maximize else 'falling'} at x = {beyond.x:.4g})")
    else:
        text = (f"f is {word} to the {beyond.side}:\n"
                f"f ≈ {beyond.value:.3g} at x ≈ {beyond.x:.3g}")
    y = 0.88 if maximize else 0.12
    ax.annotate(text, xy=(0.0 if left else 1.0, y), xycoords="axes fraction",
                xytext=(70 if left else -70, 0), textcoords="offset points",
                ha="left" if left else "right", va="center", fontsize=10.5, color="#1f3b73",
                fontweight="bold", zorder=9, gid="beyond", annotation_clip=False,
                bbox=dict(boxstyle="round,pad=0.3", fc="white", ec="#1f3b73", alpha=0.92),
                arrowprops=dict(arrowstyle="-|>", color="#1f3b73", lw=2.0, shrinkA=0,
                                shrinkB=0, mutation_scale=18))


def _reached_local(fun: float, lowest: float | None, beyond: _Beyond | None,
                   maximize: bool, span: float) -> bool:
    """Whether a run that stopped at ``fun`` stopped above the lowest value known (in view or
    beyond): a local minimum (maximum)."""
    if not math.isfinite(fun):
        return False
    if beyond is not None:
        return True
    v = -fun if maximize else fun
    return lowest is not None and v > lowest + 1e-6 * max(span, abs(lowest), 1e-12)
