"""Fitted models: a one-feature regression over its data (:func:`plot_fit`) and a
two-feature classifier's decision regions (:func:`plot_decision_regions`)."""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from ..errors import ParameterError
from ._figure import COLORS, _figure, _legend, _legend_right, _save, _style


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
    grid = _like(X, np.column_stack([XX.ravel(), YY.ravel()]))
    Z = np.asarray(estimator.predict(grid)).reshape(-1)
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
