"""Training curves (:func:`plot_loss`): loss, validation loss and score per epoch, or the
value per step of a run."""

from __future__ import annotations

from typing import Any, Mapping, Sequence

import numpy as np

from ..errors import ParameterError
from ._figure import COLORS, _figure, _handles, _legend, _legend_below, _save, _style, _thin_line


def _loss_record(obj: Any) -> dict[str, Any]:
    """Training curves of an estimator, a dict, a Result or a History as a plain dict."""
    from ..result import History

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
            out: dict[str, Any] = {"loss": np.asarray(curve, dtype=float),
                                   "name": type(obj).__name__}
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
    vals = _loss_values(recs)
    if log is None:
        pos = vals[vals > 0]
        log = bool(vals.size and pos.size == vals.size and pos.max() / pos.min() > 100)
    for i, rec in enumerate(recs):
        color = COLORS[(i + 1) % len(COLORS)]
        name = _curve_name(recs, labels, i, many)
        prefix = f"{name}: " if name else ""
        loss = np.asarray(rec["loss"], dtype=float)
        x = np.asarray(rec.get("x", np.arange(1, len(loss) + 1)))
        if loss.ndim == 2:  # a many-start History: one faint curve per start
            for j in range(loss.shape[1]):
                ax.plot(x, loss[:, j], "-", color=color, lw=0.8, alpha=0.3)
            ax.plot([], [], "-", color=color, lw=0.8, alpha=0.5, label=f"{prefix}f per start")
            continue
        _draw_losses(ax, rec, x, loss, color, prefix)
        if "val_score" in rec:
            sax = _draw_score(ax, sax, rec["val_score"], x, color, prefix)
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


def _loss_values(recs: list[dict[str, Any]]) -> np.ndarray:
    """Every finite training and validation loss of the records, in one flat array."""
    allv = []
    for rec in recs:
        for k in ("loss", "val_loss"):
            if k in rec:
                v = np.asarray(rec[k], dtype=float).ravel()
                allv.append(v[np.isfinite(v)])
    return np.concatenate(allv) if allv else np.array([])


def _curve_name(recs: list[dict[str, Any]], labels: Sequence[str] | None, i: int,
                many: bool) -> str | None:
    """The name of record ``i`` in the legend: its label, else (several records) its
    estimator's name, numbered when missing or shared."""
    name = labels[i] if labels is not None else (recs[i].get("name") if many else None)
    if many and (not name or (labels is None and sum(r.get("name") == name for r in recs) > 1)):
        name = f"{name or 'run'} {i + 1}"
    return name


def _draw_losses(ax: Any, rec: dict[str, Any], x: np.ndarray, loss: np.ndarray, color: str,
                 prefix: str) -> None:
    """One record's training loss (or value per step) and validation loss."""
    sel = _thin_line(len(loss))
    ax.plot(x[sel], loss[sel], "-", color=color, lw=1.8,
            marker="o" if len(loss) <= 30 else None, ms=4,
            label=f"{prefix}{'training loss' if 'xlabel' not in rec else 'f'}")
    if "val_loss" in rec:
        v = rec["val_loss"]
        xv = x[: len(v)] if len(v) <= len(x) else np.arange(1, len(v) + 1)
        ax.plot(xv, v, "--", color=color, lw=1.8, marker="s" if len(v) <= 30 else None, ms=4,
                label=f"{prefix}validation loss")


def _draw_score(ax: Any, sax: Any, v: np.ndarray, x: np.ndarray, color: str,
                prefix: str) -> Any:
    """One record's validation score against the right y axis ``sax`` (made on first use);
    returns that axis."""
    if sax is None:
        sax = ax.twinx()
        sax.set_ylabel("validation score", fontsize=11)
        sax.tick_params(labelsize=10)
    xv = x[: len(v)] if len(v) <= len(x) else np.arange(1, len(v) + 1)
    sax.plot(xv, v, ":", color=color, lw=2.0, marker="^" if len(v) <= 30 else None, ms=4,
             label=f"{prefix}validation score")
    return sax
