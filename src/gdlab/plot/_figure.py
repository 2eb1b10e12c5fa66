"""Shared figure helpers: the picture's size and colours, a fresh Agg figure, saving (atomic,
with no software version or date in the file), styles, legends and number formatting.

matplotlib is imported inside the functions that use it, so importing :mod:`gdlab.plot`
stays cheap.
"""

from __future__ import annotations

import io
import math
import os
from typing import Any

import numpy as np

from ..errors import ParameterError
from ..persist import atomic_write_bytes

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
#: at most this many points of one path are joined by its line
_MAX_LINE_POINTS = 2000
#: the colour map of contours and surfaces
_CMAP = "viridis"


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


#: file name endings taken as the picture's file when given in the place of ``f``
IMAGE_EXTENSIONS = (".png", ".svg", ".pdf", ".jpg", ".jpeg", ".gif")


def _f_or_path(f: Any, path: Any, func: str) -> tuple[Any, Any]:
    """``(f, path)`` for the natural call ``func(result, "out.png")``: an ``f`` that is a
    file name (a path object, or text ending in an image extension) while ``path`` is
    ``None`` is the path, and ``f`` is then ``None``. Both a file name as ``f`` and a
    ``path=`` is refused with a message that says which argument is which."""
    is_file = isinstance(f, os.PathLike) or (
        isinstance(f, str) and f.strip().lower().endswith(IMAGE_EXTENSIONS))
    if not is_file:
        return f, path
    if path is None:
        return None, f
    raise ParameterError(f"{func}: f = {os.fspath(f)!r} looks like a file name, and path= is "
                         f"given too; give the function as f (or leave it out) and the file as "
                         f"path=")


def _style(ax: Any) -> None:
    ax.tick_params(labelsize=10)


def _short(text: str, limit: int = 70) -> str:
    text = " ".join(str(text).split()).replace("**", "^")
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _fmt(v: float) -> str:
    return f"{v:.3g}" if math.isfinite(v) else str(v)


def _num(v: float, scale: float = 1.0) -> str:
    """A number for a label, with floating-point dust (1e-20 next to values of size 1) as 0."""
    if math.isfinite(v) and abs(v) < 1e-10 * max(abs(scale), 1e-300):
        v = 0.0
    return f"{v:.4g}"


def _thin_line(n: int, limit: int = _MAX_LINE_POINTS) -> np.ndarray:
    if n <= limit:
        return np.arange(n)
    return np.unique(np.linspace(0, n - 1, limit).round().astype(int))


def _handles(*axes: Any) -> tuple[list, list]:
    hs, ls = [], []
    for ax in axes:
        for h, lab in zip(*ax.get_legend_handles_labels()):
            if lab and not lab.startswith("_"):
                hs.append(h)
                ls.append(lab)
    return hs, ls


def _legend(ax: Any, **kw: Any) -> Any:
    h, labels = _handles(ax)
    if not h:
        return None
    kw.setdefault("loc", "best")
    leg = ax.legend(h, labels, fontsize=9.5, framealpha=0.9, **kw)
    leg.set_zorder(20)
    return leg


def _legend_below(fig: Any, *axes: Any) -> Any:
    """A legend under the axes (outside them, so it never covers a path)."""
    h, labels = _handles(*axes)
    if not h:
        return None
    longest = max(len(t) for t in labels)
    ncols = 1 if longest > 60 else 2 if longest > 34 or len(labels) == 4 else min(3, len(labels))
    return fig.legend(h, labels, loc="outside lower center", ncols=ncols, fontsize=9.5,
                      framealpha=0.95)


def _legend_right(fig: Any, *axes: Any) -> Any:
    """A legend right of the axes (outside them)."""
    h, labels = _handles(*axes)
    if not h:
        return None
    return fig.legend(h, labels, loc="outside right upper", fontsize=10, framealpha=0.95)
