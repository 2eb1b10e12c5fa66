"""Drawing pieces shared by the path, comparison and animation pictures: filled contours of
``f`` (log-spaced levels for valleys), the curve of a one-variable ``f``, known minima, a
path with arrows, the mark where a diverged or unbounded run leaves the picture, the step
that left the function's domain, and the box of a bounded run."""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any, Sequence

import numpy as np

from ._figure import _CMAP, DPI, ESCAPE_COLOR, MAX_ARROWS, _thin_line
from ._fn import _Fn, _fn_label
from ._runs import _Run


def _grid2(window: np.ndarray, n: int = 200) -> tuple[np.ndarray, np.ndarray]:
    xs = np.linspace(window[0, 0], window[0, 1], n)
    ys = np.linspace(window[1, 0], window[1, 1], n)
    return np.meshgrid(xs, ys)


@dataclass
class _Plane:
    log: bool
    zmin: float
    zlabel: str
    mappable: Any = None
    log_ticks: bool = False
    skewed: bool = False


def _log_floor(D: np.ndarray, hi: float) -> float:
    """The lowest log level: the 0.5th percentile of the positive values (the valley floor
    would otherwise take most of the colours)."""
    pos = D[np.isfinite(D) & (D > 0)]
    if not pos.size:
        return max(hi * 1e-6, 1e-300)
    return max(float(np.percentile(pos, 0.5)), hi * 1e-8, 1e-300)


def _log_levels(Z: np.ndarray, fmin: float | None, maximize: bool,
                valley: bool) -> tuple[bool, float]:
    """Whether to draw log-spaced levels of ``f - fmin`` and the ``fmin`` used."""
    good = Z[np.isfinite(Z)]
    if maximize or good.size < 4:
        return False, 0.0
    zmin = float(good.min()) if fmin is None else min(float(fmin), float(good.min()))
    D = good - zmin
    hi = float(D.max())
    if hi <= 0:
        return False, zmin
    low = float(np.percentile(D, 5))
    return bool(valley or hi / max(low, hi * 1e-12) > 1e3), zmin


def _contour(fig: Any, ax: Any, F: _Fn, window: np.ndarray, names: Sequence[str], *,
             maximize: bool = False, levels: Any = None, cmap: str = _CMAP,
             colorbar: bool = True, alpha: float = 1.0, cbar_location: str = "right") -> _Plane:
    import matplotlib.colors as mcolors

    X, Y = _grid2(window)
    Z = F.value(np.column_stack([X.ravel(), Y.ravel()])).reshape(X.shape)
    tf = F.test_function
    log, zmin = _log_levels(Z, tf.fmin if tf is not None else None, maximize,
                            bool(tf is not None and tf.valley))
    flabel = f"f({', '.join(names)})"
    good = np.isfinite(Z)
    Zm = np.ma.masked_invalid(Z)
    plane = _Plane(log, zmin, flabel)
    if not good.any():
        ax.text(0.5, 0.5, "f is not finite here", transform=ax.transAxes, ha="center",
                va="center", fontsize=11)
        return plane
    n_levels = levels if isinstance(levels, (int, np.integer)) else 30
    if log:
        D = np.ma.masked_invalid(Z - zmin)
        hi = float(D.max())
        lo = _log_floor(D.compressed(), hi)
        D = np.ma.maximum(D, lo)
        given = levels is not None and not isinstance(levels, (int, np.integer))
        lev = (np.asarray(levels, dtype=float) if given
               else np.logspace(math.log10(lo), math.log10(hi), int(n_levels)))
        lev = np.unique(lev[lev > 0])
        norm: mcolors.Normalize | None = mcolors.LogNorm(vmin=lev[0], vmax=lev[-1])
        cs = ax.contourf(X, Y, D, levels=lev, norm=norm, cmap=cmap, extend="both", alpha=alpha)
        ax.contour(X, Y, D, levels=lev[::3], norm=norm, colors="k", linewidths=0.5, alpha=0.35)
        fm = f"{zmin:.4g}" if tf is None or zmin != tf.fmin else f"{tf.fmin:.4g}"
        plane.zlabel = f"{flabel} − {fm}  (log scale)" if zmin != 0 else f"{flabel}  (log scale)"
        plane.log_ticks = True
    else:
        zlo, zhi = float(Zm.min()), float(Zm.max())
        if zhi - zlo <= 1e-12 * max(1.0, abs(zhi)):
            lev = np.array([zlo - 1.0, zlo + 1.0])
            plane.skewed = False
        elif levels is not None and not isinstance(levels, (int, np.integer)):
            lev = np.unique(np.asarray(levels, dtype=float))
        else:
            # most of the picture near the bottom (a wide bowl): denser levels down there
            med = float(np.ma.median(Zm))
            plane.skewed = (zhi - med if maximize else med - zlo) < 0.2 * (zhi - zlo)
            t = np.linspace(0.0, 1.0, int(n_levels))
            if plane.skewed:  # denser levels where the picture's interest is (low, or high)
                t = 1 - (1 - t) ** 2 if maximize else t ** 2
            lev = zlo + (zhi - zlo) * t
        # with crowded levels, every band still gets its own colour step
        norm = mcolors.BoundaryNorm(lev, 256) if plane.skewed else None
        cs = ax.contourf(X, Y, Zm, levels=lev, cmap=cmap, alpha=alpha, norm=norm)
        if len(lev) > 3:
            ax.contour(X, Y, Zm, levels=lev[1:-1:2], colors="k", linewidths=0.5, alpha=0.35)
    plane.mappable = cs
    if colorbar:
        import matplotlib.ticker as mticker

        horizontal = cbar_location in ("top", "bottom")
        cb = fig.colorbar(cs, ax=ax, location=cbar_location, shrink=0.95,
                          aspect=40 if horizontal else 20)
        cb.set_label(plane.zlabel, fontsize=11)
        cb.ax.tick_params(labelsize=10)
        if log:
            cb.set_ticks(mticker.LogLocator(numticks=8))
            axis = cb.ax.xaxis if horizontal else cb.ax.yaxis
            axis.set_minor_locator(mticker.NullLocator())
        elif plane.skewed:
            # crowded levels: label every fourth one (rounded), not equal steps
            every4 = lev[::-4] if maximize else lev[::4]
            ticks = np.unique([float(f"{v:.2g}") for v in every4])
            # a rounded tick past the last level would stretch the bar (a blank band)
            cb.set_ticks(ticks[(ticks >= lev[0]) & (ticks <= lev[-1])])
            cb.ax.minorticks_off()
        else:
            cb.set_ticks(mticker.MaxNLocator(8))
            cb.ax.minorticks_off()
    ax.set_xlim(*window[0])
    ax.set_ylim(*window[1])
    ax.set_xlabel(names[0], fontsize=11)
    ax.set_ylabel(names[1], fontsize=11)
    return plane


def _compare_cmap() -> Any:
    """Light greys (dark = low): coloured paths stand out on it."""
    import matplotlib
    import matplotlib.colors as mcolors

    base = matplotlib.colormaps["Greys_r"]
    return mcolors.ListedColormap(base(np.linspace(0.35, 1.0, 256)), name="gdlab_light_greys")


def _plane_axes(ax: Any, window: np.ndarray, names: Sequence[str]) -> None:
    """Axes for two variables when there is no function to draw under the path."""
    ax.set_xlim(*window[0])
    ax.set_ylim(*window[1])
    ax.set_xlabel(names[0], fontsize=11)
    ax.set_ylabel(names[1], fontsize=11)
    ax.grid(True, alpha=0.3)


def _curve(ax: Any, F: _Fn | None, window: np.ndarray, name: str, extra_y: np.ndarray,
           color: str = "#1f3b73") -> tuple[np.ndarray, np.ndarray]:
    """The graph of f over the window (and y-limits covering it and ``extra_y``)."""
    xs = np.linspace(window[0, 0], window[0, 1], 800)
    ys = F.value(xs[:, None]) if F is not None else np.full_like(xs, np.nan)
    if F is not None:
        ax.plot(xs, ys, "-", color=color, lw=2.0, zorder=2, label=_fn_label(F, name), gid="curve")
    vals = np.concatenate([ys[np.isfinite(ys)], extra_y[np.isfinite(extra_y)]])
    if vals.size:
        lo, hi = float(vals.min()), float(vals.max())
        pad = 0.07 * (hi - lo) if hi > lo else max(1.0, abs(hi) * 0.1)
        ax.set_ylim(lo - pad, hi + pad)
    ax.set_xlim(*window[0])
    ax.set_xlabel(name, fontsize=11)
    ax.set_ylabel(f"f({name})", fontsize=11)
    ax.grid(True, alpha=0.3)
    return xs, ys


def _known_minima(ax: Any, F: _Fn | None, window: np.ndarray) -> None:
    tf = F.test_function if F is not None else None
    if tf is None:
        return
    pts = [p for p in tf.minima if window[0, 0] <= p[0] <= window[0, 1]
           and window[1, 0] <= p[1] <= window[1, 1]]
    if not pts:
        return
    P = np.asarray(pts, dtype=float)
    ax.plot(P[:, 0], P[:, 1], "x", ms=13, mew=2.6, color="white", zorder=4)
    ax.plot(P[:, 0], P[:, 1], "x", ms=12, mew=1.5, color="black", zorder=4,
            label="global minimum" if len(P) == 1 else "global minima", gid="minima")


def _arrow_indices(Q: np.ndarray, scale: np.ndarray, limit: int = MAX_ARROWS) -> np.ndarray:
    """Points between which arrows are drawn: every step for a short path, else points spaced
    evenly along the path's length (in window units), at most ``limit + 1`` of them."""
    n = len(Q)
    if n <= 1:
        return np.arange(n)
    U = Q / scale
    seg = np.linalg.norm(np.diff(U, axis=0), axis=1)
    seg = np.where(np.isfinite(seg), seg, 0)
    cum = np.concatenate([[0.0], np.cumsum(seg)])
    total = cum[-1]
    min_len = 0.012  # shorter steps merge into the next arrow (a head longer than its shaft)
    if total <= 0:
        return np.array([0])
    if n <= limit + 1:
        marks = cum
    else:
        marks = np.linspace(0, total, limit + 1)
    keep, last = [0], 0.0
    for t in marks[1:]:
        i = int(np.searchsorted(cum, t, "left"))
        i = min(i, n - 1)
        if cum[i] - last >= min_len and i > keep[-1]:
            keep.append(i)
            last = cum[i]
    if keep[-1] != n - 1 and cum[-1] - cum[keep[-1]] > 0:
        keep.append(n - 1)
    return np.asarray(keep)


def _draw_path(ax: Any, Q: np.ndarray, scale: np.ndarray, *, color: str, lw: float = 1.6,
               alpha: float = 1.0, arrows: bool = True, zorder: float = 5, label: str | None = None,
               dots: bool = True, edge: str = "white", ends: bool = True, end: bool = True,
               end_labels: tuple[str | None, str | None] = (None, None)) -> None:
    """A path in plot coordinates ``Q`` (n, 2): a thin line through its points, arrows along
    it (at most :data:`MAX_ARROWS`), a circle at the start and a star at the end."""
    if len(Q) == 0:
        return
    sel = _thin_line(len(Q))
    ax.plot(Q[sel, 0], Q[sel, 1], "-", color=color, lw=lw, alpha=alpha, zorder=zorder,
            label=label, gid="path", solid_capstyle="round")
    if arrows and len(Q) > 1:
        idx = _arrow_indices(Q, scale)
        if dots:
            ax.plot(Q[idx, 0], Q[idx, 1], "o", ms=3.2, color=color, alpha=alpha, zorder=zorder,
                    markeredgewidth=0)
        for a, b in zip(idx[:-1], idx[1:]):
            ax.annotate("", xy=tuple(Q[b]), xytext=tuple(Q[a]), zorder=zorder,
                        arrowprops=dict(arrowstyle="-|>", color=color, lw=lw, alpha=alpha,
                                        shrinkA=0, shrinkB=2, mutation_scale=11))
    if ends:
        ax.plot([Q[0, 0]], [Q[0, 1]], "o", ms=9, color=color, mec=edge, mew=1.0, alpha=alpha,
                zorder=zorder + 1, label=end_labels[0])
        if end:
            ax.plot([Q[-1, 0]], [Q[-1, 1]], "*", ms=16, color=color, mec=edge, mew=0.8, alpha=alpha,
                    zorder=zorder + 1, label=end_labels[1])


def _exit_point(a: np.ndarray, b: np.ndarray, box: np.ndarray) -> np.ndarray:
    """Where the segment from ``a`` (inside ``box``) towards ``b`` crosses the box's edge."""
    dvec = b - a
    t = 1.0
    for j in range(2):
        if dvec[j] > 0 and b[j] > box[j, 1]:
            t = min(t, (box[j, 1] - a[j]) / dvec[j])
        elif dvec[j] < 0 and b[j] < box[j, 0]:
            t = min(t, (box[j, 0] - a[j]) / dvec[j])
    return a + max(t, 0.0) * dvec


def _escape_texts(run: _Run) -> tuple[str, str, str]:
    """``(text, legend label, gid)`` of where an escaping run leaves the picture."""
    if run.unbounded:
        sign = "+" if run.maximize else "−"
        better = "rising" if run.maximize else "falling"
        return (f"unbounded at step {run.div_step}: f → {sign}∞, still {better}\n"
                f"(no {'maximum' if run.maximize else 'minimum'} along this path)",
                "unbounded", "unbounded")
    return f"diverged at step {run.div_step}", "diverged", "diverged"


def _mark_divergence(ax: Any, run: _Run, Q: np.ndarray, Qnext: np.ndarray | None,
                     color: str = ESCAPE_COLOR, text: bool = True) -> None:
    """Where a diverged (or unbounded) run leaves the picture: a red arrow at the edge pointing
    the way it went, a dotted line back to the last point drawn, and the text "diverged at
    step k" (or "unbounded at step k": f improves without end along the path)."""
    box = np.array([ax.get_xlim(), ax.get_ylim()], dtype=float)
    box.sort(axis=1)
    label, legend, gid = _escape_texts(run)
    if len(Q) == 0:
        if text:
            ax.text(0.5, 0.5, label + " (no finite point to draw)", transform=ax.transAxes,
                    ha="center", va="center", color=ESCAPE_COLOR, fontsize=12, gid=gid)
        return
    a = Q[-1]
    target = None
    if Qnext is not None and np.all(np.isfinite(Qnext)):
        target = Qnext
    elif len(Q) >= 2 and np.any(Q[-1] != Q[-2]):
        target = a + 1e6 * (Q[-1] - Q[-2])
    e = a
    if target is not None and run.m < len(run.P):
        e = _exit_point(a, target, box)
        if run.m < len(run.steps) and int(run.steps[run.m]) != run.div_step:
            label += f"\n(left the picture at step {int(run.steps[run.m])})"
        da, de = ax.transData.transform(a), ax.transData.transform(e)
        u = de - da
        norm = float(np.hypot(*u))
        if norm > 0:
            u = u / norm
            ax.plot([a[0], e[0]], [a[1], e[1]], ":", color=color, lw=1.4, alpha=0.8, zorder=6)
            back = -u * min(30.0, max(norm * 72 / DPI, 12.0))
            ax.annotate("", xy=tuple(e), xytext=(float(back[0]), float(back[1])),
                        textcoords="offset points", zorder=8, annotation_clip=False,
                        arrowprops=dict(arrowstyle="-|>", color=color, lw=2.6,
                                        shrinkA=0, shrinkB=0, mutation_scale=20))
    ax.plot([e[0]], [e[1]], "X", ms=11, color=color, mec="white", mew=1.0, zorder=8,
            clip_on=False, label=legend if text else None)
    if text:
        _note(ax, e, box, label, gid)


def _note(ax: Any, at: np.ndarray, box: np.ndarray, label: str, gid: str,
          color: str = ESCAPE_COLOR) -> None:
    """A boxed text pointing at ``at`` from the inside of the picture."""
    c = box.mean(axis=1)
    rel = (at - c) / np.maximum(box[:, 1] - box[:, 0], 1e-300)
    dx = -50 if rel[0] > 0 else 50
    dy = -40 if rel[1] > 0 else 40
    ax.annotate(label, xy=tuple(at), xytext=(dx, dy), textcoords="offset points",
                ha="right" if dx < 0 else "left", va="top" if dy < 0 else "bottom",
                color=color, fontsize=11, fontweight="bold", zorder=9,
                annotation_clip=False, gid=gid,
                bbox=dict(boxstyle="round,pad=0.3", fc="white", ec=color, alpha=0.92),
                arrowprops=dict(arrowstyle="-", color=color, lw=1.0, shrinkB=8))


def _mark_undefined(ax: Any, run: _Run, Q: np.ndarray, d: int, color: str = ESCAPE_COLOR,
                    text: bool = True) -> None:
    """The step that left the function's domain: from the last point where f was defined (the
    path's end) a dotted line to the point where f is undefined (an open circle; for one
    variable a dotted vertical line at that x, since f has no value there to stand on), and
    the text "f undefined at step k"."""
    if run.m >= len(run.P):
        return
    p = run.P[run.m]
    k = int(run.steps[run.m])
    where = ", ".join(f"{v:.4g}" for v in p)
    y = float(Q[-1, 1]) if len(Q) else float(np.mean(ax.get_ylim()))
    at = np.array([p[0], y]) if d == 1 else np.asarray(p[:2], dtype=float)
    box = np.array([ax.get_xlim(), ax.get_ylim()], dtype=float)
    box.sort(axis=1)
    if len(Q) and not np.all((at >= box[:, 0]) & (at <= box[:, 1])):
        at = _exit_point(Q[-1], at, box)  # far away: marked where the step leaves the view
    elif d == 1:
        ax.axvline(float(p[0]), ls=":", color=color, lw=1.4, zorder=6)
    if len(Q):
        ax.plot([Q[-1, 0], at[0]], [Q[-1, 1], at[1]], ":", color=color, lw=1.6, zorder=6)
    ax.plot([at[0]], [at[1]], "o", ms=11, mfc="none", mec=color, mew=2.2, zorder=8,
            clip_on=False, label="f undefined" if text else None)
    if not text:
        return
    what = "at the start" if k == 0 or not len(Q) else f"at step {k}"
    _note(ax, at, box, f"f undefined {what}\n({'x' if d == 1 else 'point'} = {where})",
          "undefined")


def _draw_box(ax: Any, box: np.ndarray | None, d: int, names: Sequence[str]) -> None:
    """The box a bounded run stayed in: the region outside it greyed, its sides dashed."""
    if box is None:
        return
    (x0, x1), (y0, y1) = ax.get_xlim(), ax.get_ylim()
    shade = dict(color="0.5", alpha=0.3, lw=0, zorder=3)
    lo, hi = box[0]
    if d == 1:
        for v in (lo, hi):
            if np.isfinite(v):
                ax.axvline(v, ls="--", color="black", lw=1.3, zorder=3)
        if np.isfinite(lo) and lo > x0:
            ax.axvspan(x0, lo, **shade)
        if np.isfinite(hi) and hi < x1:
            ax.axvspan(hi, x1, **shade)
    else:
        big = max(x1 - x0, y1 - y0) * 10
        bx = np.where(np.isfinite(box[0]), box[0], [x0 - big, x1 + big])
        by = np.where(np.isfinite(box[1]), box[1], [y0 - big, y1 + big])
        outside = [(x0 - big, bx[0], y0 - big, y1 + big), (bx[1], x1 + big, y0 - big, y1 + big),
                   (bx[0], bx[1], y0 - big, by[0]), (bx[0], bx[1], by[1], y1 + big)]
        for a, b, c, e in outside:
            if b > a and e > c:
                ax.fill([a, b, b, a], [c, c, e, e], **shade)
        ax.plot([bx[0], bx[1], bx[1], bx[0], bx[0]], [by[0], by[0], by[1], by[1], by[0]], "--",
                color="black", lw=1.4, zorder=3)
        ax.set_xlim(x0, x1)
        ax.set_ylim(y0, y1)
    sides = [_side(v, name) for v, name in zip(box, names)]
    ax.plot([], [], "--", color="black", lw=1.4, gid="bounds",
            label="bounds: " + ", ".join(sides))


def _side(b: np.ndarray, name: str) -> str:
    lo, hi = float(b[0]), float(b[1])
    if np.isfinite(lo) and np.isfinite(hi):
        return f"{lo:g} ≤ {name} ≤ {hi:g}"
    if np.isfinite(lo):
        return f"{name} ≥ {lo:g}"
    if np.isfinite(hi):
        return f"{name} ≤ {hi:g}"
    return f"{name} free"
