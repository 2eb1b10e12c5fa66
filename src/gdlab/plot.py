"""The lecture's pictures: descent paths, comparisons, loss curves, fits and decision regions.

Every function draws on a fresh :class:`matplotlib.figure.Figure` with its own Agg canvas
(never pyplot's global state, so it is thread-safe and never opens a window), returns the
figure, and saves it when given ``path=`` (the format from the extension, PNG by default;
written to a temporary file in the same directory and moved into place). The same input
gives byte-identical PNGs: the size is fixed (8 x 6 inches at 100 dpi, 800 x 600 pixels)
and no software version or date is written into the file.

>>> from gdlab import minimize
>>> from gdlab.plot import plot_path
>>> fig = plot_path(minimize("rosenbrock", [-1, 2], "adam", lr=0.05), "rosenbrock",
...                 path="adam.png")                                    # doctest: +SKIP

``f`` (the function drawn under a path) may be a :class:`~gdlab.calculus.Function`, formula
text, a test function's name, a sympy expression, or a Python callable (called on ``(n, d)``
arrays when it accepts them, else point by point).
"""

from __future__ import annotations

import math
import os
import re
import io
from dataclasses import dataclass
from typing import Any, Callable, Mapping, Sequence

import numpy as np

from .errors import ParameterError
from .persist import atomic_write_bytes

__all__ = ["plot_path", "plot_compare", "plot_loss", "plot_fit", "plot_decision_regions",
           "plot_function", "animate_path", "PATH_COLOR", "COLORS", "FIGSIZE", "DPI"]

#: size of every figure, in inches, and its resolution: 800 x 600 pixels
FIGSIZE = (8.0, 6.0)
DPI = 100
#: the colour of a single path (``color=`` changes it)
PATH_COLOR = "#ff1493"
#: where a diverged run leaves the picture
ESCAPE_COLOR = "#d40000"
#: one colour per run in comparisons (chosen to stand out on the light contour background)
COLORS = ("#d62728", "#1f77b4", "#2ca02c", "#ff7f0e", "#9467bd", "#8c564b", "#e377c2",
          "#17becf", "#bcbd22", "#000000")
#: at most this many arrows are drawn along one path
MAX_ARROWS = 60
_MAX_LINE_POINTS = 2000
_MAX_FAINT_PATHS = 200
_CMAP = "viridis"
_COMPARE_CMAP = "Greys"


# ---- figures and files -----------------------------------------------------------------------

def _figure(figsize: Any = None) -> Any:
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    fig = Figure(figsize=figsize or FIGSIZE, dpi=DPI, layout="constrained")
    FigureCanvasAgg(fig)
    return fig


def _metadata(fmt: str) -> dict | None:
    if fmt == "png":
        return {"Software": None}
    if fmt == "pdf":
        return {"Creator": None, "Producer": None, "CreationDate": None}
    if fmt == "svg":
        return {"Creator": None, "Date": None}
    return None


def _save(fig: Any, path: Any) -> None:
    """Write ``fig`` to ``path`` atomically (temporary file in the same directory + replace)."""
    if path is None:
        return
    path = os.fspath(path)
    fmt = os.path.splitext(path)[1].lower().lstrip(".") or "png"
    if fmt == "jpeg":
        fmt = "jpg"
    if fmt not in fig.canvas.get_supported_filetypes():
        raise ParameterError(f"cannot save a picture as .{fmt}; use .png, .svg or .pdf")
    buf = io.BytesIO()
    fig.savefig(buf, format=fmt, dpi=DPI, metadata=_metadata(fmt))
    atomic_write_bytes(path, buf.getvalue())


def _style(ax: Any) -> None:
    ax.tick_params(labelsize=10)


# ---- the function under the picture ----------------------------------------------------------

@dataclass
class _Fn:
    """A uniform view of what ``f`` was given as: values and gradients on ``(n, d)`` arrays."""

    value: Callable[[np.ndarray], np.ndarray]
    grad: Callable[[np.ndarray], np.ndarray]
    text: str
    variables: tuple[str, ...] | None
    test_function: Any
    d: int | None


def _short(text: str, limit: int = 70) -> str:
    text = " ".join(str(text).split()).replace("**", "^")
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _numeric_grad(value: Callable[[np.ndarray], np.ndarray]) -> Callable[[np.ndarray], np.ndarray]:
    h0 = np.finfo(float).eps ** (1 / 3)

    def grad(X: np.ndarray) -> np.ndarray:
        X = np.asarray(X, dtype=float)
        G = np.empty_like(X)
        for j in range(X.shape[1]):
            h = h0 * np.maximum(1.0, np.abs(X[:, j]))
            Xp, Xm = X.copy(), X.copy()
            Xp[:, j] += h
            Xm[:, j] -= h
            with np.errstate(all="ignore"):
                G[:, j] = (value(Xp) - value(Xm)) / (2 * h)
        return G

    return grad


def _wrap_callable(f: Callable, d: int | None, probe: np.ndarray | None) -> Callable:
    """Values of a Python callable on ``(n, d)`` points: vectorized when it gives the same
    numbers as point-by-point calls on a few probe points, point by point otherwise."""

    def one(row: np.ndarray) -> float:
        try:
            with np.errstate(all="ignore"):
                v = f(float(row[0])) if len(row) == 1 else f(row)
        except (TypeError, IndexError):
            try:
                with np.errstate(all="ignore"):
                    v = f(row)
            except Exception:
                return math.nan
        except Exception:
            return math.nan
        try:
            return float(np.asarray(v, dtype=float).reshape(-1)[0]) if np.size(v) == 1 else math.nan
        except (TypeError, ValueError):
            return math.nan

    def rowwise(X: np.ndarray) -> np.ndarray:
        return np.array([one(r) for r in np.asarray(X, dtype=float)], dtype=float)

    if d is None or probe is None or len(probe) < 2:
        return rowwise
    P = np.asarray(probe, dtype=float)[:5]
    expected = rowwise(P)
    tries = [lambda X: f(X)]
    if d == 1:
        tries.insert(0, lambda X: f(X[:, 0]))
    for attempt in tries:
        try:
            with np.errstate(all="ignore"):
                got = np.asarray(attempt(P), dtype=float)
        except Exception:
            continue
        if got.size != len(P):
            continue
        got = got.reshape(-1)
        # the same numbers point by point, or numbers where point-by-point calls failed
        if np.allclose(got, expected, equal_nan=True, rtol=1e-9, atol=1e-12) or (
                np.all(np.isnan(expected)) and np.isfinite(got).any()):
            def vec(X: np.ndarray, attempt: Callable = attempt) -> np.ndarray:
                X = np.asarray(X, dtype=float)
                try:
                    with np.errstate(all="ignore"):
                        out = np.asarray(attempt(X), dtype=float).reshape(-1)
                    if out.size == len(X):
                        return out
                except Exception:
                    pass
                return rowwise(X)
            return vec
    return rowwise


def _resolve(f: Any, d: int | None = None, probe: np.ndarray | None = None) -> _Fn | None:
    """Turn what the caller gave as ``f`` into a :class:`_Fn` (``None`` stays ``None``)."""
    if f is None:
        return None
    from .calculus import Function
    from .functions import TestFunction

    if isinstance(f, TestFunction):
        f = Function(f.name)
    if isinstance(f, str) or (type(f).__module__ or "").startswith("sympy"):
        f = Function(f)
    if isinstance(f, Function):
        fn = f

        def value(X: np.ndarray) -> np.ndarray:
            with np.errstate(all="ignore"):
                return np.asarray(fn.value(np.asarray(X, dtype=float)), dtype=float)

        def grad(X: np.ndarray) -> np.ndarray:
            with np.errstate(all="ignore"):
                return np.asarray(fn.value_and_grad(np.asarray(X, dtype=float))[1], dtype=float)

        tf = fn.test_function
        text = f"{tf.title}: {_short(tf.formula, 60)}" if tf is not None else _short(fn.text)
        return _Fn(value, grad, text, fn.variables, tf, fn.n_vars)
    if hasattr(f, "value") and callable(getattr(f, "value")):
        obj = f

        def value(X: np.ndarray) -> np.ndarray:
            with np.errstate(all="ignore"):
                return np.asarray(obj.value(np.asarray(X, dtype=float), None), dtype=float).reshape(-1)

        if hasattr(obj, "value_and_grad"):
            def grad(X: np.ndarray) -> np.ndarray:
                with np.errstate(all="ignore"):
                    return np.asarray(obj.value_and_grad(np.asarray(X, dtype=float), None)[1],
                                      dtype=float)
        else:
            grad = _numeric_grad(value)
        return _Fn(value, grad, type(obj).__name__, None, None, getattr(obj, "d", d))
    if callable(f):
        name = getattr(f, "__name__", "f")
        text = "f" if not name or name.startswith("<") else name
        value = _wrap_callable(f, d, probe)
        return _Fn(value, _numeric_grad(value), text, None, None, d)
    raise ParameterError(f"f must be formula text, a Function or a callable, got {type(f).__name__}")


def _var_names(F: _Fn | None, result: Any, d: int) -> tuple[str, ...]:
    names = tuple(getattr(result, "variables", ()) or ()) if result is not None else ()
    if len(names) != d and F is not None and F.variables and len(F.variables) == d:
        names = F.variables
    if len(names) != d:
        names = ("x",) if d == 1 else ("x", "y") if d == 2 else tuple(f"x{i + 1}" for i in range(d))
    return names


# ---- runs: paths, divergence, windows ---------------------------------------------------------

@dataclass
class _Run:
    P: np.ndarray            # (records, d) points
    steps: np.ndarray        # (records,) iteration numbers
    diverged: bool
    div_step: int | None     # the step the run's reason names
    label: str = ""
    color: str = PATH_COLOR
    m: int = 0               # P[:m] is drawn; P[m] (if any) is where it left the view
    fun: float = math.nan
    nit: int = 0


def _div_step(reason: str, fallback: int) -> int:
    m = re.search(r"diverged at step (\d+)", reason or "")
    return int(m.group(1)) if m else int(fallback)


def _run_of(result: Any) -> _Run:
    h = getattr(result, "history", None)
    if h is None:
        raise ParameterError(f"expected a gdlab Result, got {type(result).__name__}")
    P = np.asarray(h.x, dtype=float)
    steps = np.asarray(h.steps)
    if P.ndim != 2 or P.shape[0] == 0 or P.shape[1] == 0:
        x = np.atleast_1d(np.asarray(result.x, dtype=float))
        P, steps = x[None, :], np.array([int(getattr(result, "nit", 0))])
    status = getattr(result, "status", "")
    diverged = status == "diverged" or not np.all(np.isfinite(P))
    nonfinite = ~np.all(np.isfinite(P), axis=1)
    first_bad = int(steps[np.argmax(nonfinite)]) if nonfinite.any() else int(steps[-1])
    k = _div_step(getattr(result, "reason", ""), first_bad) if diverged else None
    return _Run(P, steps, diverged, k, fun=float(getattr(result, "fun", math.nan)),
                nit=int(getattr(result, "nit", steps[-1])))


def _start_runs(result: Any) -> list[_Run]:
    """Every start of a many-start result (the faint paths), at most ``_MAX_FAINT_PATHS``."""
    ah = result.all_history
    if ah is None or len(ah) == 0 or not len(ah.x):
        return []
    n = int(np.asarray(ah.x).shape[1])
    idx = range(n) if n <= _MAX_FAINT_PATHS else np.unique(
        np.linspace(0, n - 1, _MAX_FAINT_PATHS).round().astype(int))
    runs = []
    for i in idx:
        nit = int(result.nits[i]) if result.nits is not None else None
        h = ah.run(int(i), nit)
        P = np.asarray(h.x, dtype=float)
        status = result.statuses[i] if i < len(result.statuses) else ""
        diverged = status == "diverged" or not np.all(np.isfinite(P))
        reason = result.reasons[i] if i < len(result.reasons) else ""
        runs.append(_Run(P, h.steps, diverged, _div_step(reason, int(h.steps[-1])) if diverged else None))
    return runs


def _sane(run: _Run, scale_hint: float) -> int:
    """How many leading points of a run to draw: the finite ones, and for a diverged run those
    within a few first-step lengths of the start (the rest has left the picture)."""
    P = run.P
    ok = np.all(np.isfinite(P), axis=1)
    m = len(P) if ok.all() else int(np.argmin(ok))
    if not run.diverged or m <= 2:
        return max(m, 1) if ok[0] else 0
    s = max(float(np.linalg.norm(P[1] - P[0])), float(np.linalg.norm(P[0])), scale_hint, 1e-12)
    dist = np.linalg.norm(P[:m] - P[0], axis=1)
    out = np.flatnonzero(dist > 6 * s)
    return int(out[0]) if len(out) else m


def _bounds_of(F: _Fn | None, d: int) -> np.ndarray | None:
    tf = F.test_function if F is not None else None
    if tf is None or len(tf.bounds) != d:
        return None
    return np.asarray(tf.bounds, dtype=float)


def _window(runs: list[_Run], d: int, bounds: np.ndarray | None, focus: np.ndarray | None,
            converged: bool) -> np.ndarray:
    """``(d, 2)`` plot limits covering the drawn parts of the runs (and the function's domain)."""
    pts = [r.P[: r.m] for r in runs if r.m > 0]
    pts = np.concatenate(pts) if pts else np.zeros((1, d))
    lo, hi = pts.min(axis=0), pts.max(axis=0)
    ext = hi - lo
    span = float(ext.max())
    if focus is not None and converged and span > 0:
        # keep a converged end point away from the edge, so the basin shows around it
        lo = np.minimum(lo, focus - 0.35 * span)
        hi = np.maximum(hi, focus + 0.35 * span)
    if bounds is not None:
        bext = bounds[:, 1] - bounds[:, 0]
        if span >= 0.1 * float(bext.max()):
            lo, hi = np.minimum(lo, bounds[:, 0]), np.maximum(hi, bounds[:, 1])
    ext = hi - lo
    span = float(ext.max())
    if span <= 1e-12 * max(1.0, float(np.abs(pts).max())):
        c = (lo + hi) / 2
        half = max(1.0, 0.5 * float(np.abs(c).max()))
        return np.stack([c - half, c + half], axis=1)
    if d > 1:  # never a sliver: each side at least 40% of the longest
        need = np.maximum(ext, 0.4 * span)
        c = (lo + hi) / 2
        lo, hi = c - need / 2, c + need / 2
    pad = 0.08 * (hi - lo)
    return np.stack([lo - pad, hi + pad], axis=1)


def _layout(runs: list[_Run], F: _Fn | None, d: int, focus: np.ndarray | None = None,
            converged: bool = False) -> np.ndarray:
    """Decide what each run draws (``run.m``) and the window: the window follows the runs that
    did not diverge (and the domain of a named function); a diverged run is drawn until it
    leaves that window. When every run diverged, each is drawn until it is a few first steps
    away from its start."""
    bounds = _bounds_of(F, d)
    hint = float(np.linalg.norm(bounds[:, 1] - bounds[:, 0])) / 2 if bounds is not None else 0.0
    for r in runs:
        r.m = _sane(r, hint)
    calm = [r for r in runs if not r.diverged]
    if not calm or len(calm) == len(runs):
        return _window(runs, d, bounds, focus, converged)
    starts = [_Run(r.P[:1], r.steps[:1], False, None, m=1) for r in runs
              if r.diverged and r.m > 0]
    window = _window(calm + starts, d, bounds, focus, converged)
    for r in runs:
        if r.diverged and r.m > 0:
            inside = np.all((r.P[: r.m] >= window[:, 0]) & (r.P[: r.m] <= window[:, 1]), axis=1)
            out = np.flatnonzero(~inside)
            if len(out):
                r.m = max(int(out[0]), 1)
    return window


def _thin_line(n: int, limit: int = _MAX_LINE_POINTS) -> np.ndarray:
    if n <= limit:
        return np.arange(n)
    return np.unique(np.linspace(0, n - 1, limit).round().astype(int))


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


# ---- drawing pieces ----------------------------------------------------------------------------

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


def _log_levels(Z: np.ndarray, fmin: float | None, maximize: bool, valley: bool) -> tuple[bool, float]:
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
        lev = (np.asarray(levels, dtype=float) if levels is not None and not isinstance(levels, (int, np.integer))
               else np.logspace(math.log10(lo), math.log10(hi), int(n_levels)))
        lev = np.unique(lev[lev > 0])
        norm = mcolors.LogNorm(vmin=lev[0], vmax=lev[-1])
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
            cb.set_ticks(np.unique([float(f"{v:.2g}") for v in (lev[::-4] if maximize else lev[::4])]))
            cb.ax.minorticks_off()
        else:
            cb.set_ticks(mticker.MaxNLocator(8))
            cb.ax.minorticks_off()
    ax.set_xlim(*window[0])
    ax.set_ylim(*window[1])
    ax.set_xlabel(names[0], fontsize=11)
    ax.set_ylabel(names[1], fontsize=11)
    return plane


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


def _mark_divergence(ax: Any, run: _Run, Q: np.ndarray, Qnext: np.ndarray | None,
                     color: str = ESCAPE_COLOR, text: bool = True) -> None:
    """Where a diverged run leaves the picture: a red arrow at the edge pointing the way it
    went, a dotted line back to the last point drawn, and the text "diverged at step k"."""
    box = np.array([ax.get_xlim(), ax.get_ylim()], dtype=float)
    box.sort(axis=1)
    label = f"diverged at step {run.div_step}"
    if len(Q) == 0:
        if text:
            ax.text(0.5, 0.5, label + " (no finite point to draw)", transform=ax.transAxes,
                    ha="center", va="center", color=ESCAPE_COLOR, fontsize=12, gid="diverged")
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
            clip_on=False, label="diverged" if text else None)
    if not text:
        return
    # the text points at the marker from the inside of the picture
    c = box.mean(axis=1)
    rel = (e - c) / np.maximum(box[:, 1] - box[:, 0], 1e-300)
    dx = -50 if rel[0] > 0 else 50
    dy = -40 if rel[1] > 0 else 40
    ax.annotate(label, xy=tuple(e), xytext=(dx, dy), textcoords="offset points",
                ha="right" if dx < 0 else "left", va="top" if dy < 0 else "bottom",
                color=ESCAPE_COLOR, fontsize=11, fontweight="bold", zorder=9,
                annotation_clip=False, gid="diverged",
                bbox=dict(boxstyle="round,pad=0.3", fc="white", ec=ESCAPE_COLOR, alpha=0.92),
                arrowprops=dict(arrowstyle="-", color=ESCAPE_COLOR, lw=1.0, shrinkB=8))


def _describe(result: Any) -> str:
    o = dict(getattr(result, "optimizer", None) or {})
    parts = [str(o.get("name", "gradient descent"))]
    if o.get("line_search"):
        parts.append("Armijo line search")
    elif isinstance(o.get("lr"), (int, float)):
        parts.append(f"lr={o['lr']:g}")
    if o.get("momentum"):
        parts.append(f"momentum={o['momentum']:g}")
    if o.get("nesterov"):
        parts.append("Nesterov")
    sch = o.get("schedule")
    if isinstance(sch, dict) and sch.get("name"):
        parts.append(f"{sch['name']} schedule")
    return ", ".join(parts)


def _outcome(result: Any, run: _Run) -> str:
    status = getattr(result, "status", "")
    nit = int(getattr(result, "nit", 0))
    if run.diverged:
        return f"diverged at step {run.div_step}"
    if status in ("converged", "ftol"):
        return f"converged in {nit} steps"
    if status == "max_iter":
        return f"stopped at max_iter ({nit} steps)"
    return f"{status or 'stopped'} after {nit} steps"


def _run_name(result: Any, i: int) -> str:
    o = dict(getattr(result, "optimizer", None) or {})
    name = str(o.get("name", f"run {i + 1}"))
    if o.get("line_search"):
        return name + " + line search"
    if isinstance(o.get("lr"), (int, float)):
        name += f" lr={o['lr']:g}"
    return name


def _fmt(v: float) -> str:
    return f"{v:.3g}" if math.isfinite(v) else str(v)


def _plot_coords(run: _Run, F: _Fn | None, d: int, history_fun: np.ndarray | None = None) -> np.ndarray:
    """Points in the picture's coordinates: ``(x, y)`` for two variables, ``(x, f(x))`` for one."""
    P = run.P[: run.m]
    if d == 2:
        return P
    if F is not None:
        return np.column_stack([P[:, 0], F.value(P)])
    fv = history_fun[: run.m] if history_fun is not None else np.full(len(P), np.nan)
    return np.column_stack([P[:, 0], fv])


def _next_coords(run: _Run, F: _Fn | None, d: int,
                 history_fun: np.ndarray | None = None) -> np.ndarray | None:
    """The first point not drawn (where a diverged run went next), in picture coordinates."""
    if run.m >= len(run.P):
        return None
    p = run.P[run.m]
    if not np.all(np.isfinite(p)):
        return None
    if d == 2:
        return p
    if F is not None:
        v = float(F.value(p[None, :])[0])
    elif history_fun is not None and run.m < len(history_fun):
        v = float(history_fun[run.m])
    else:
        v = math.nan
    return np.array([p[0], v]) if math.isfinite(v) else None


def _fn_label(F: _Fn, name: str) -> str:
    if F.test_function is None and F.text not in ("f", ""):
        return f"f({name}) = {_short(F.text, 50)}"
    return f"f({name})"


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


def _num(v: float, scale: float = 1.0) -> str:
    """A number for a label, with floating-point dust (1e-20 next to values of size 1) as 0."""
    if math.isfinite(v) and abs(v) < 1e-10 * max(abs(scale), 1e-300):
        v = 0.0
    return f"{v:.4g}"


def _tangent(ax: Any, F: _Fn, x: float, width: float, *, color: str, style: str, gid: str,
             where: str, name: str) -> float | None:
    with np.errstate(all="ignore"):
        fx = float(F.value(np.array([[x]]))[0])
        slope = float(F.grad(np.array([[x]]))[0, 0])
    if not (math.isfinite(fx) and math.isfinite(slope)):
        return None
    xs = np.array([x - width / 2, x + width / 2])
    ax.plot(xs, fx + slope * (xs - x), style, color=color, lw=1.8, zorder=3, gid=gid,
            label=f"tangent at the {where}: f′({_num(x, width)}) = {_num(slope, max(1.0, abs(fx)))}")
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


def _handles(*axes: Any) -> tuple[list, list]:
    hs, ls = [], []
    for ax in axes:
        for h, l in zip(*ax.get_legend_handles_labels()):
            if l and not l.startswith("_"):
                hs.append(h)
                ls.append(l)
    return hs, ls


def _legend(ax: Any, **kw: Any) -> Any:
    h, l = _handles(ax)
    if not h:
        return None
    kw.setdefault("loc", "best")
    leg = ax.legend(h, l, fontsize=9.5, framealpha=0.9, **kw)
    leg.set_zorder(20)
    return leg


def _legend_below(fig: Any, *axes: Any) -> Any:
    """A legend under the axes (outside them, so it never covers a path)."""
    h, l = _handles(*axes)
    if not h:
        return None
    longest = max(len(t) for t in l)
    ncols = 1 if longest > 60 else 2 if longest > 34 or len(l) == 4 else min(3, len(l))
    return fig.legend(h, l, loc="outside lower center", ncols=ncols, fontsize=9.5,
                      framealpha=0.95)


def _legend_right(fig: Any, *axes: Any) -> Any:
    """A legend right of the axes (outside them)."""
    h, l = _handles(*axes)
    if not h:
        return None
    return fig.legend(h, l, loc="outside right upper", fontsize=10, framealpha=0.95)


# ---- plot_path -------------------------------------------------------------------------------

def _prepare(result: Any, f: Any) -> tuple[_Run, list[_Run], _Fn | None, int]:
    best = _run_of(result)
    d = best.P.shape[1]
    if d > 2:
        raise ParameterError(f"a path can be drawn for 1 or 2 variables; this run has {d} "
                             f"(draw its loss with plot_loss(result.history))")
    F = _resolve(f, d, best.P[np.all(np.isfinite(best.P), axis=1)][:5])
    if F is not None and F.d is not None and F.d != d:
        raise ParameterError(f"f has {F.d} variable(s) but the run moved {d}")
    others = _start_runs(result) if getattr(result, "all_history", None) is not None else []
    return best, others, F, d


def _plane_axes(ax: Any, window: np.ndarray, names: Sequence[str]) -> None:
    """Axes for two variables when there is no function to draw under the path."""
    ax.set_xlim(*window[0])
    ax.set_ylim(*window[1])
    ax.set_xlabel(names[0], fontsize=11)
    ax.set_ylabel(names[1], fontsize=11)
    ax.grid(True, alpha=0.3)


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

    converged = getattr(result, "status", "") in ("converged", "ftol")
    focus = best.P[len(best.P) - 1] if converged and np.all(np.isfinite(best.P[-1])) else None
    window = _layout([best, *others], F, d, focus, converged)
    names = _var_names(F, result, d)
    many = bool(others)
    hf = np.asarray(result.history.fun, dtype=float) if F is None else None

    if d == 2 and surface:
        _surface_path(fig, ax, F, window, names, [best, *others], color, maximize, cmap)
    elif d == 2:
        if F is not None:
            _contour(fig, ax, F, window, names, maximize=maximize, levels=levels, cmap=cmap)
            if show_gradients:
                _gradient_field(ax, F, window, maximize)
        else:
            _plane_axes(ax, window, names)
        _known_minima(ax, F, window)
        scale = window[:, 1] - window[:, 0]
        faint = "white" if F is not None else "0.4"
        for r in others:
            Q = r.P[: r.m]
            _draw_path(ax, Q, scale, color=faint, lw=0.8, alpha=0.35, arrows=False, zorder=3,
                       ends=False)
            if len(Q):
                ax.plot([Q[0, 0]], [Q[0, 1]], "o", ms=3.5, color=faint, alpha=0.6, zorder=3, mew=0)
        _draw_main(ax, best, best.P[: best.m], scale, color, many, result)
        if best.diverged:
            _mark_divergence(ax, best, best.P[: best.m], _next_coords(best, F, 2))
    else:
        Qb = _plot_coords(best, F, 1, hf)
        Qo = [_plot_coords(r, F, 1) for r in others] if F is not None else []
        xs, ys = _curve(ax, F, window, names[0], np.concatenate([Qb[:, 1], *[q[:, 1] for q in Qo]]))
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
            w = 0.3 * (window[0, 1] - window[0, 0])
            _tangent(ax, F, float(best.P[0, 0]), w, color="#ff7f0e", style="--",
                     gid="tangent-start", where="start", name=names[0])
            if best.m > 1:
                _tangent(ax, F, float(best.P[best.m - 1, 0]), w, color="#2ca02c", style="-.",
                         gid="tangent-end", where="end", name=names[0])
        ax.set_ylim(*ylim)
        _draw_main(ax, best, Qb, scale, color, many, result, edge="black")
        if best.diverged:
            _mark_divergence(ax, best, Qb, _next_coords(best, F, 1, hf))

    if ax.name != "3d":
        if own:
            _legend_below(fig, ax)
        else:
            _legend(ax)
    if title is None:
        starts = f", best of {result.n_starts} starts" if many else ""
        what = f"{_describe(result)}: {_outcome(result, best)}{starts}"
        if F is None:
            title = f"gradient {'ascent' if maximize else 'descent'}, {what}"
        elif F.test_function is not None:
            title = f"{F.text}\n{what}"
        else:
            title = f"{_fn_label(F, ', '.join(names))}\n{what}"
    ax.set_title(title, fontsize=12)
    _save(fig, path)
    return fig


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


def _gradient_arrows_1d(ax: Any, F: _Fn, window: np.ndarray, maximize: bool) -> None:
    xs = np.linspace(window[0, 0], window[0, 1], 13)[1:-1]
    X = xs[:, None]
    ys, g = F.value(X), F.grad(X)[:, 0]
    u = np.sign(g) if maximize else -np.sign(g)
    ok = np.isfinite(ys) & np.isfinite(u) & (u != 0)
    ax.quiver(xs[ok], ys[ok], u[ok], np.zeros(ok.sum()), color="0.35", angles="xy",
              scale=25, width=0.004, zorder=2, pivot="tail",
              label=("+" if maximize else "−") + "f′ direction")


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
    zlabel = (f"log10({flabel} − {zmin:.4g})" if zmin != 0 else f"log10 {flabel}") if log else flabel
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


# ---- plot_function ---------------------------------------------------------------------------

def plot_function(f: Any, *, bounds: Any = None, path: Any = None, surface: bool = False,
                  show_gradients: bool = False, title: str | None = None, levels: Any = None,
                  cmap: str = _CMAP) -> Any:
    """Draw ``f`` alone: a curve for one variable, contours (or a surface) for two.

    ``bounds`` is ``(low, high)`` for one variable or ``[(xlow, xhigh), (ylow, yhigh)]`` for
    two; by default the test function's domain, else ``[-5, 5]`` per variable (a Python
    callable is taken to have one variable unless two bounds are given).
    """
    d_hint = None
    b = None
    if bounds is not None:
        try:
            b = np.asarray(bounds, dtype=float)
        except (TypeError, ValueError):
            raise ParameterError("bounds must be numbers: (low, high) or "
                                 "[(xlow, xhigh), (ylow, yhigh)]") from None
        if b.shape == (2,):
            b = b.reshape(1, 2)
        if b.ndim != 2 or b.shape[1] != 2 or b.shape[0] not in (1, 2) or not np.all(np.isfinite(b)) \
                or np.any(b[:, 0] >= b[:, 1]):
            raise ParameterError("bounds must be (low, high) or [(xlow, xhigh), (ylow, yhigh)] "
                                 "with low < high")
        d_hint = b.shape[0]
    probe = None if d_hint is None else b[:, 0] + np.outer([0.13, 0.41, 0.77], b[:, 1] - b[:, 0])
    F = _resolve(f, d_hint, probe)
    if F is None:
        raise ParameterError("plot_function needs f")
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


# ---- plot_compare ----------------------------------------------------------------------------

def _named_results(results: Any) -> list[tuple[str, Any]]:
    if isinstance(results, Mapping):
        items = [(str(k), v) for k, v in results.items()]
    elif isinstance(results, (list, tuple)):
        items = [(_run_name(r, i), r) for i, r in enumerate(results)]
        total: dict[str, int] = {}
        for n, _ in items:
            total[n] = total.get(n, 0) + 1
        count: dict[str, int] = {}
        for i, (n, r) in enumerate(items):
            if total[n] > 1:
                count[n] = count.get(n, 0) + 1
                items[i] = (f"{n} #{count[n]}", r)
    else:
        items = [(_run_name(results, 0), results)]
    if not items:
        raise ParameterError("nothing to compare: give at least one result")
    return items


def _compare_label(name: str, result: Any, run: _Run) -> str:
    if run.diverged:
        return f"{name}: diverged at step {run.div_step}"
    return f"{name}: f={_fmt(float(result.fun))}, {int(result.nit)} steps"


def _compare_cmap() -> Any:
    """Light greys (dark = low): coloured paths stand out on it."""
    import matplotlib
    import matplotlib.colors as mcolors

    base = matplotlib.colormaps["Greys_r"]
    return mcolors.ListedColormap(base(np.linspace(0.35, 1.0, 256)), name="gdlab_light_greys")


def _compare_runs(items: list[tuple[str, Any]], f: Any, colors: Sequence[str] | None,
                  single_color: str | None = None) -> tuple[list[_Run], _Fn | None, int, np.ndarray]:
    palette = list(colors) if colors else list(COLORS)
    runs = []
    for i, (name, r) in enumerate(items):
        run = _run_of(r)
        run.label = _compare_label(name, r, run)
        run.color = single_color or palette[i % len(palette)]
        runs.append(run)
    d = runs[0].P.shape[1]
    if any(r.P.shape[1] != d for r in runs):
        raise ParameterError("the runs move different numbers of variables")
    if d > 2:
        raise ParameterError(f"paths can be drawn for 1 or 2 variables, these runs have {d}; "
                             f"compare their losses with plot_loss")
    probe = np.concatenate([r.P[np.all(np.isfinite(r.P), axis=1)][:2] for r in runs])
    F = _resolve(f, d, probe)
    if F is not None and F.d is not None and F.d != d:
        raise ParameterError(f"f has {F.d} variable(s) but the runs moved {d}")
    window = _layout(runs, F, d)
    return runs, F, d, window


def plot_compare(results: Any, f: Any, *, path: Any = None, title: str | None = None,
                 with_loss: bool = False, colors: Sequence[str] | None = None,
                 levels: Any = None, figsize: Any = None) -> Any:
    """Several runs (optimizers, learning rates) on one picture of ``f``, one colour each.

    The legend, outside the axes on the right, names each run with its final value and its
    number of steps ("adam: f=1.2e-08, 350 steps"). ``results`` is a dict name -> Result or a
    list of Results (then named by optimizer and learning rate). ``with_loss=True`` adds a
    second panel: ``f - fmin`` (or ``f``) per step, on a log scale when it spans decades.
    The default size is 8 x 6 inches, 12 x 5.5 with the loss panel.
    """
    items = _named_results(results)
    runs, F, d, window = _compare_runs(items, f, colors)
    maximize = bool(getattr(items[0][1], "maximize", False))
    names = _var_names(F, items[0][1], d)

    fig = _figure(figsize or ((12.0, 5.5) if with_loss else FIGSIZE))
    if with_loss:
        ax, lax = fig.subplots(1, 2, gridspec_kw={"width_ratios": [1.15, 1]})
    else:
        ax, lax = fig.add_subplot(), None
    _style(ax)
    hfs = [None if F is not None else np.asarray(res.history.fun, float) for _, res in items]
    if d == 2:
        if F is not None:
            _contour(fig, ax, F, window, names, maximize=maximize, levels=levels,
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
    edge = "white" if d == 2 else "black"
    for r, Q in zip(runs, coords):
        _draw_path(ax, Q, scale, color=r.color, lw=1.8, zorder=5, label=r.label, edge=edge,
                   dots=len(runs) <= 4, end=not r.diverged)
    for r, Q, hf in zip(runs, coords, hfs):
        if r.diverged:
            _mark_divergence(ax, r, Q, _next_coords(r, F, d, hf), color=r.color, text=False)
    if d == 1:
        ax.set_ylim(*ylim)
    if lax is not None:
        _loss_panel(lax, runs, items, F, maximize)
    _legend_right(fig, ax)
    if title is None:
        title = F.text if F is not None and F.test_function is not None else \
            _fn_label(F, ", ".join(names)) if F is not None else "comparison"
    if with_loss:
        fig.suptitle(title, fontsize=12)
    else:
        ax.set_title(title, fontsize=12)
    _save(fig, path)
    return fig


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
    floor = None
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
        if r.diverged:
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


# ---- plot_loss -------------------------------------------------------------------------------

def _loss_record(obj: Any) -> dict[str, Any]:
    """Training curves of an estimator, a dict, a Result or a History as a plain dict."""
    from .result import History

    if not isinstance(obj, Mapping) and isinstance(getattr(obj, "history", None), History):
        obj = obj.history
    if isinstance(obj, History):
        return {"loss": np.asarray(obj.fun, dtype=float), "x": np.asarray(obj.steps),
                "xlabel": "step", "ylabel": "f"}
    if not isinstance(obj, Mapping):
        hist = getattr(obj, "history_", None)
        if hist is not None:
            rec = _loss_record(hist)
            rec.setdefault("name", type(obj).__name__)
            return rec
        curve = getattr(obj, "loss_curve_", None)  # scikit-learn's MLPs
        if curve is not None:
            out: dict[str, Any] = {"loss": np.asarray(curve, dtype=float), "name": type(obj).__name__}
            vs = getattr(obj, "validation_scores_", None)
            if vs is not None:
                out["val_score"] = np.asarray(vs, dtype=float)
            return out
        raise ParameterError(f"plot_loss needs a dict with 'loss' (per epoch), an estimator with "
                             f"history_, or a History; got {type(obj).__name__}")
    loss = obj.get("loss", obj.get("train_loss"))
    if loss is None:
        raise ParameterError(f"the history has no 'loss'; its keys are {', '.join(map(str, obj))}")
    out = {"loss": np.asarray(loss, dtype=float)}
    for k in ("val_loss", "val_score"):
        if obj.get(k) is not None and len(obj[k]):
            out[k] = np.asarray(obj[k], dtype=float)
    if obj.get("epoch") is not None:
        out["x"] = np.asarray(obj["epoch"])
    return out


def plot_loss(history_or_estimator: Any, *, path: Any = None, log: bool | None = None,
              labels: Sequence[str] | None = None, title: str | None = None) -> Any:
    """Training loss (and validation loss / score) per epoch.

    Accepts an estimator with ``history_`` (a dict with ``"loss"``, optionally ``"val_loss"``
    and ``"val_score"``, one value per epoch), such a dict, a :class:`~gdlab.result.History`
    or :class:`~gdlab.result.Result` (the value per step), or a list of them drawn on the same
    axes (``labels`` names them, e.g. ``["full-batch GD", "mini-batch SGD"]``). The y axis is
    logarithmic when the positive losses span more than two decades (``log=`` decides instead).
    A validation score is drawn against a second y axis on the right.
    """
    many = isinstance(history_or_estimator, (list, tuple))
    items = list(history_or_estimator) if many else [history_or_estimator]
    if not items:
        raise ParameterError("plot_loss needs at least one history")
    recs = [_loss_record(it) for it in items]
    if labels is not None and len(labels) != len(recs):
        raise ParameterError(f"{len(labels)} labels for {len(recs)} histories")
    fig = _figure()
    ax = fig.add_subplot()
    _style(ax)
    sax = None
    allv = []
    for rec in recs:
        for k in ("loss", "val_loss"):
            if k in rec:
                v = np.asarray(rec[k], dtype=float).ravel()
                allv.append(v[np.isfinite(v)])
    vals = np.concatenate(allv) if allv else np.array([])
    if log is None:
        pos = vals[vals > 0]
        log = bool(vals.size and pos.size == vals.size and pos.max() / pos.min() > 100)
    for i, rec in enumerate(recs):
        color = COLORS[(i + 1) % len(COLORS)]
        name = labels[i] if labels is not None else (rec.get("name") if many else None)
        if many and (not name or (labels is None and sum(r.get("name") == name for r in recs) > 1)):
            name = f"{name or 'run'} {i + 1}"
        prefix = f"{name}: " if name else ""
        loss = np.asarray(rec["loss"], dtype=float)
        x = np.asarray(rec.get("x", np.arange(1, len(loss) + 1)))
        if loss.ndim == 2:  # a many-start History: one faint curve per start
            for j in range(loss.shape[1]):
                ax.plot(x, loss[:, j], "-", color=color, lw=0.8, alpha=0.3)
            ax.plot([], [], "-", color=color, lw=0.8, alpha=0.5, label=f"{prefix}f per start")
            continue
        sel = _thin_line(len(loss))
        ax.plot(x[sel], loss[sel], "-", color=color, lw=1.8,
                marker="o" if len(loss) <= 30 else None, ms=4,
                label=f"{prefix}{'training loss' if 'xlabel' not in rec else 'f'}")
        if "val_loss" in rec:
            v = rec["val_loss"]
            xv = x[: len(v)] if len(v) <= len(x) else np.arange(1, len(v) + 1)
            ax.plot(xv, v, "--", color=color, lw=1.8, marker="s" if len(v) <= 30 else None, ms=4,
                    label=f"{prefix}validation loss")
        if "val_score" in rec:
            if sax is None:
                sax = ax.twinx()
                sax.set_ylabel("validation score", fontsize=11)
                sax.tick_params(labelsize=10)
            v = rec["val_score"]
            xv = x[: len(v)] if len(v) <= len(x) else np.arange(1, len(v) + 1)
            sax.plot(xv, v, ":", color=color, lw=2.0, marker="^" if len(v) <= 30 else None, ms=4,
                     label=f"{prefix}validation score")
    if log:
        ax.set_yscale("log")
    xlabel = recs[0].get("xlabel", "epoch")
    ax.set_xlabel(xlabel, fontsize=11)
    from matplotlib.ticker import MaxNLocator
    ax.xaxis.set_major_locator(MaxNLocator(integer=True))  # epochs and steps are whole numbers
    ax.set_ylabel(recs[0].get("ylabel", "loss") + (" (log scale)" if log else ""), fontsize=11)
    ax.grid(True, alpha=0.3, which="major")
    h, _ = _handles(ax, *([sax] if sax is not None else []))
    if sax is not None or len(h) > 3:
        _legend_below(fig, ax, *([sax] if sax is not None else []))
    else:
        _legend(ax)
    if not vals.size:
        ax.text(0.5, 0.5, "no loss recorded", transform=ax.transAxes, ha="center", fontsize=12)
    ax.set_title(title if title is not None else
                 ("value per step" if xlabel == "step" else "loss per epoch"), fontsize=12)
    _save(fig, path)
    return fig


# ---- models: fits and decision regions -------------------------------------------------------

def _feature_names(X: Any, k: int) -> list[str]:
    cols = getattr(X, "columns", None)
    if cols is not None and len(cols) == k:
        return [str(c) for c in cols]
    return ["x"] if k == 1 else [f"x{i + 1}" for i in range(k)]


def _like(X: Any, grid: np.ndarray) -> Any:
    """The grid in the form the estimator was given its data (a DataFrame keeps its columns)."""
    cols = getattr(X, "columns", None)
    if cols is not None:
        try:
            import pandas as pd
            return pd.DataFrame(grid, columns=cols)
        except ImportError:
            pass
    return grid


def plot_fit(estimator: Any, X: Any, y: Any, *, path: Any = None, title: str | None = None) -> Any:
    """One-feature regression: the data as points and ``estimator.predict`` as a line."""
    Xa = np.asarray(X, dtype=float)
    one_d = Xa.ndim == 1
    if one_d:
        Xa = Xa[:, None]
    if Xa.ndim != 2 or Xa.shape[1] != 1:
        raise ParameterError(f"plot_fit draws one feature; X has shape {np.shape(X)}")
    ya = np.asarray(y, dtype=float).reshape(-1)
    if len(ya) != len(Xa):
        raise ParameterError(f"X has {len(Xa)} rows but y has {len(ya)}")
    lo, hi = float(np.nanmin(Xa)), float(np.nanmax(Xa))
    pad = 0.05 * (hi - lo) if hi > lo else 1.0
    grid = np.linspace(lo - pad, hi + pad, 400)
    G = grid if one_d else _like(X, grid[:, None])
    yg = np.asarray(estimator.predict(G), dtype=float).reshape(-1)
    with np.errstate(all="ignore"):
        pred = np.asarray(estimator.predict(X), dtype=float).reshape(-1)
        mse = float(np.mean((pred - ya) ** 2))
    name = _feature_names(X, 1)[0]
    fig = _figure()
    ax = fig.add_subplot()
    _style(ax)
    ax.scatter(Xa[:, 0], ya, s=22, color=COLORS[1], alpha=0.7, edgecolors="white",
               linewidths=0.5, label=f"data ({len(ya)} points)", zorder=3)
    ax.plot(grid, yg, "-", color=COLORS[0], lw=2.4, label=f"fit (MSE = {mse:.4g})", zorder=4)
    ax.set_xlabel(name, fontsize=11)
    ax.set_ylabel(str(getattr(y, "name", None) or "y"), fontsize=11)
    ax.grid(True, alpha=0.3)
    _legend(ax)
    ax.set_title(title if title is not None else f"{type(estimator).__name__} fit", fontsize=12)
    _save(fig, path)
    return fig


_REGION_COLORS = ("#aec7e8", "#ffbb78", "#98df8a", "#ff9896", "#c5b0d5", "#c49c94", "#f7b6d2",
                  "#dbdb8d", "#9edae5", "#c7c7c7")
_POINT_COLORS = ("#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd", "#8c564b", "#e377c2",
                 "#bcbd22", "#17becf", "#7f7f7f")


def plot_decision_regions(estimator: Any, X: Any, y: Any, *, path: Any = None,
                          title: str | None = None, resolution: int = 300) -> Any:
    """Two-feature classifier: the class ``estimator.predict`` gives on a grid as coloured
    regions, with the data points coloured by their class (legend outside on the right)."""
    import matplotlib.colors as mcolors

    Xa = np.asarray(X, dtype=float)
    if Xa.ndim != 2 or Xa.shape[1] != 2:
        raise ParameterError(f"plot_decision_regions draws two features; X has shape {np.shape(X)}")
    ya = np.asarray(y).reshape(-1)
    if len(ya) != len(Xa):
        raise ParameterError(f"X has {len(Xa)} rows but y has {len(ya)}")
    lo, hi = np.nanmin(Xa, axis=0), np.nanmax(Xa, axis=0)
    pad = np.where(hi > lo, 0.08 * (hi - lo), 1.0)
    lo, hi = lo - pad, hi + pad
    n = int(resolution)
    gx, gy = np.linspace(lo[0], hi[0], n), np.linspace(lo[1], hi[1], n)
    XX, YY = np.meshgrid(gx, gy)
    Z = np.asarray(estimator.predict(_like(X, np.column_stack([XX.ravel(), YY.ravel()])))).reshape(-1)
    pred = np.asarray(estimator.predict(X)).reshape(-1)
    classes = np.unique(np.concatenate([ya, Z]))
    k = len(classes)
    idx = np.searchsorted(classes, Z).reshape(XX.shape)
    fig = _figure()
    ax = fig.add_subplot()
    _style(ax)
    region = [_REGION_COLORS[i % len(_REGION_COLORS)] for i in range(k)]
    ax.imshow(idx, origin="lower", extent=(lo[0], hi[0], lo[1], hi[1]), aspect="auto",
              cmap=mcolors.ListedColormap(region), vmin=-0.5, vmax=k - 0.5,
              interpolation="nearest", zorder=1)
    if k > 1 and len(np.unique(idx)) > 1:
        ax.contour(XX, YY, idx, levels=np.arange(k - 1) + 0.5, colors="0.2", linewidths=0.8,
                   zorder=2)
    for i, c in enumerate(classes):
        sel = ya == c
        if sel.any():
            ax.scatter(Xa[sel, 0], Xa[sel, 1], s=28, color=_POINT_COLORS[i % len(_POINT_COLORS)],
                       edgecolors="black", linewidths=0.6, label=f"class {c}", zorder=3)
    for i, c in enumerate(classes):  # region swatches
        ax.fill_between([], [], color=region[i], label=f"predicted {c}")
    acc = float(np.mean(pred == ya)) if len(ya) else math.nan
    names = _feature_names(X, 2)
    ax.set_xlim(lo[0], hi[0])
    ax.set_ylim(lo[1], hi[1])
    ax.set_xlabel(names[0], fontsize=11)
    ax.set_ylabel(names[1], fontsize=11)
    _legend_right(fig, ax)
    ax.set_title(title if title is not None else
                 f"{type(estimator).__name__}: training accuracy {acc:.1%}", fontsize=12)
    _save(fig, path)
    return fig


# ---- animate_path ----------------------------------------------------------------------------

def _write_gif(frames: list[np.ndarray], path: Any, fps: float, colors: Sequence[str] = ()) -> None:
    """Write RGB frames as a looping GIF that stores only what changes: all frames share one
    palette (taken from the last frame, which holds every colour, plus the exact ``colors`` of
    the paths) and the pixels equal to the previous frame's are written as transparent, so a
    frame costs only its new pixels."""
    import matplotlib.colors as mcolors
    from PIL import Image

    exact = []
    for c in [*colors, "white", "black", ESCAPE_COLOR]:
        rgb = [int(round(255 * v)) for v in mcolors.to_rgb(c)]
        if rgb not in exact:
            exact.append(rgb)
    exact = exact[:32]
    last = Image.fromarray(frames[-1], "RGB")
    base = last.quantize(colors=255 - len(exact), method=Image.Quantize.MEDIANCUT,
                         dither=Image.Dither.NONE)
    entries = base.getpalette()[: 3 * (255 - len(exact))]
    entries += [0] * (3 * (255 - len(exact)) - len(entries))
    pal = Image.new("P", (1, 1))
    black = 255 - len(exact) + exact.index([0, 0, 0])
    pal.putpalette(entries + [v for rgb in exact for v in rgb] + [0, 0, 0])
    q = []
    for f in frames:
        a = np.array(Image.fromarray(f, "RGB").quantize(palette=pal, dither=Image.Dither.NONE))
        a[a == 255] = black  # entry 255 (a second black) is kept for "unchanged"
        q.append(a)
    palette = pal.getpalette()
    out, prev = [], None
    for a in q:
        if prev is not None:
            delta = a.copy()
            delta[a == prev] = 255  # index 255 is unused by the 255-colour palette
        else:
            delta = a
        im = Image.fromarray(delta, "P")
        im.putpalette(palette)
        out.append(im)
        prev = a
    out[0].save(path, format="GIF", save_all=True, append_images=out[1:],
                duration=max(1, int(round(1000 / fps))), loop=0, transparency=255, disposal=1,
                optimize=False)


def animate_path(result_or_results: Any, f: Any, path: Any, *, max_frames: int = 60,
                 fps: int = 15, title: str | None = None) -> Any:
    """A GIF of the path(s) growing over the curve or contours of ``f``.

    ``result_or_results`` is one Result, or a dict / list of them (one colour each, as in
    :func:`plot_compare`). At most ``max_frames`` frames are drawn (the steps are subsampled,
    the last one always included), so even a 100,000-step run makes a small file. Returns the
    figure in its last frame.
    """
    if path is None:
        raise ParameterError("animate_path needs path= (the .gif file to write)")
    if isinstance(max_frames, bool) or not isinstance(max_frames, (int, np.integer)) or max_frames < 1:
        raise ParameterError(f"max_frames must be a positive whole number, got {max_frames!r}")
    if isinstance(fps, bool) or not isinstance(fps, (int, float, np.number)) or not 0 < fps <= 100:
        raise ParameterError(f"fps must be a number from 1 to 100, got {fps!r}")
    single = not isinstance(result_or_results, (Mapping, list, tuple))
    items = [("path", result_or_results)] if single else _named_results(result_or_results)
    runs, F, d, window = _compare_runs(items, f, None, PATH_COLOR if single else None)
    if single:
        r0 = items[0][1]
        runs[0].label = f"{_describe(r0)}: {_outcome(r0, runs[0])}"
    maximize = bool(getattr(items[0][1], "maximize", False))
    names = _var_names(F, items[0][1], d)
    hfs = [None if F is not None else np.asarray(res.history.fun, float) for _, res in items]

    fig = _figure()
    ax = fig.add_subplot()
    _style(ax)
    if d == 2:
        if F is not None:
            _contour(fig, ax, F, window, names, maximize=maximize,
                     cmap=_CMAP if single else _compare_cmap())
        else:
            _plane_axes(ax, window, names)
        _known_minima(ax, F, window)
        coords = [r.P[: r.m] for r in runs]
    else:
        coords = [_plot_coords(r, F, 1, hf) for r, hf in zip(runs, hfs)]
        _curve(ax, F, window, names[0], np.concatenate([q[:, 1] for q in coords]),
               color="#1f3b73" if single else "0.35")
    edge = "white" if d == 2 else "black"
    artists = []
    for r, Q in zip(runs, coords):
        line, = ax.plot([], [], "-", color=r.color, lw=1.8, zorder=5, label=r.label)
        dots, = ax.plot([], [], "o", color=r.color, ms=3.5, zorder=5, mew=0)
        head, = ax.plot([], [], "o", color=r.color, ms=9, mec=edge, zorder=6)
        if len(Q):
            ax.plot([Q[0, 0]], [Q[0, 1]], "o", ms=7, color=r.color, mec=edge, alpha=0.6, zorder=4)
        artists.append((line, dots, head))
    escapes = []
    for r, Q, hf in zip(runs, coords, hfs):
        if r.diverged:
            before = set(map(id, [*ax.lines, *ax.texts, *ax.patches]))
            _mark_divergence(ax, r, Q, _next_coords(r, F, d, hf), color=r.color if not single
                             else ESCAPE_COLOR, text=single)
            new = [a for a in [*ax.lines, *ax.texts, *ax.patches] if id(a) not in before]
            for a in new:
                a.set_visible(False)
            escapes.append((int(r.steps[r.m - 1]) if r.m else 0, new))
    step_text = ax.text(0.02, 0.97, "", transform=ax.transAxes, ha="left", va="top", fontsize=11,
                        bbox=dict(boxstyle="round", fc="white", alpha=0.85), zorder=10)
    _legend_below(fig, ax)
    if title is None:
        title = (F.text if F.test_function is not None else _fn_label(F, ", ".join(names))) \
            if F is not None else "gradient descent"
    ax.set_title(title, fontsize=12)

    # frames: step thresholds (the last one always the final step drawn)
    ends = [int(r.steps[r.m - 1]) if r.m else 0 for r in runs]
    smax = max(ends) if ends else 0
    if single and runs[0].m:
        r = runs[0]
        pick = np.unique(np.linspace(0, r.m - 1, min(int(max_frames), r.m)).round().astype(int))
        thresholds = r.steps[pick]
    else:
        thresholds = np.unique(np.linspace(0, smax, min(int(max_frames), smax + 1)).round().astype(int))
    thin = [(_thin_line(len(Q), 1500), r.steps[: len(Q)]) for r, Q in zip(runs, coords)]

    def frame(j: int) -> list:
        t = thresholds[j]
        for (line, dots, head), Q, (sel, steps) in zip(artists, coords, thin):
            if not len(Q):
                continue
            k = max(int(np.searchsorted(steps, t, "right")), 1)  # the points with step <= t
            s = sel[sel < k]
            if not len(s) or s[-1] != k - 1:
                s = np.append(s, k - 1)
            line.set_data(Q[s, 0], Q[s, 1])
            if len(Q) <= MAX_ARROWS + 1:
                dots.set_data(Q[:k, 0], Q[:k, 1])
            head.set_data([Q[k - 1, 0]], [Q[k - 1, 1]])
        for last, arts in escapes:
            for a in arts:
                a.set_visible(bool(t >= last))
        step_text.set_text(f"step {int(t)}")
        return []

    # lay the figure out once (with the last frame's text) and freeze it; draw everything that
    # does not move once, then each frame is that background plus the moving artists (blitting)
    moving = [a for trio in artists for a in trio] + [step_text] + \
        [a for _, arts in escapes for a in arts]
    frame(len(thresholds) - 1)
    fig.canvas.draw()
    fig.set_layout_engine("none")
    shown = {id(a): a.get_visible() for a in moving}
    for a in moving:
        a.set_visible(False)
    fig.canvas.draw()
    background = fig.canvas.copy_from_bbox(fig.bbox)
    for a in moving:
        a.set_visible(shown[id(a)])
    images = []
    for j in range(len(thresholds)):
        frame(j)
        fig.canvas.restore_region(background)
        for a in moving:
            if a.get_visible():
                ax.draw_artist(a)
        images.append(np.asarray(fig.canvas.buffer_rgba())[..., :3].copy())
    path = os.fspath(path)
    buf = io.BytesIO()
    _write_gif(images, buf, fps, [r.color for r in runs])
    atomic_write_bytes(path, buf.getvalue())
    fig.canvas.draw()
    return fig
