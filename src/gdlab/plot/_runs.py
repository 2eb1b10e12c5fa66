"""Runs: what a Result (or a list / dict of them) holds for a picture, as :class:`_Run`
objects (points, steps, whether and where it diverged, label, colour), and the picture's
window: which part of each run is drawn and the limits that cover it."""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any, Mapping, Sequence

import numpy as np

from ..errors import ParameterError
from ..result import Status
from ._figure import COLORS, PATH_COLOR, _fmt
from ._fn import _bounds_of, _Fn, _resolve

_MAX_FAINT_PATHS = 200


@dataclass
class _Run:
    P: np.ndarray            # (records, d) points
    steps: np.ndarray        # (records,) iteration numbers
    diverged: bool
    div_step: int | None     # the step at which it diverged or went unbounded (None: neither)
    label: str = ""
    color: str = PATH_COLOR
    m: int = 0               # P[:m] is drawn; P[m] (if any) is where it left the view
    fun: float = math.nan
    nit: int = 0
    status: Status | None = None
    maximize: bool = False
    fv: np.ndarray | None = None  # (records,) the recorded values of f, when known
    near: bool = True        # an undefined run's last point is near enough to be in view

    @property
    def unbounded(self) -> bool:
        """f went past any plausible value and was still improving (finite points)."""
        return self.status is Status.UNBOUNDED and not self.diverged

    @property
    def escaped(self) -> bool:
        """The run left the picture: it diverged or is unbounded."""
        return self.diverged or self.unbounded

    @property
    def undefined(self) -> bool:
        """The last record is a point where f is not defined (NaN)."""
        return self.status is Status.UNDEFINED and not self.diverged

    @property
    def shown(self) -> int:
        """How many leading points the window covers: the drawn ones, and the point where f
        was undefined."""
        return min(self.m + 1, len(self.P)) if self.undefined and self.near else self.m

    @property
    def stop_step(self) -> int:
        """The step of the last record (where an undefined run met the undefined point)."""
        return int(self.steps[-1]) if len(self.steps) else self.nit


def _div_step(recorded: Any, P: np.ndarray, steps: np.ndarray) -> int:
    """The step at which a diverged run diverged: the one its result records (``diverged_step``;
    ``None`` or -1 when not recorded), else the step of its first non-finite point (else its
    last step)."""
    if recorded is not None and int(recorded) >= 0:
        return int(recorded)
    nonfinite = ~np.all(np.isfinite(P), axis=1)
    return int(steps[np.argmax(nonfinite)]) if nonfinite.any() else int(steps[-1])


def _status_word(word: Any) -> Status | None:
    """``word`` as a :class:`~gdlab.result.Status` (``None`` when it is not one)."""
    try:
        return Status(word)
    except ValueError:
        return None


def _status(result: Any) -> Status | None:
    """The :class:`~gdlab.result.Status` a result stopped with (``None`` when it has none)."""
    return _status_word(getattr(result, "status", ""))


def _run_box(result: Any, d: int) -> np.ndarray | None:
    """The ``(d, 2)`` box a bounded run stayed in (``optimizer["bounds"]``; ``±inf`` for a free
    side), ``None`` for an unbounded run or one whose every side is free."""
    o = getattr(result, "optimizer", None)
    b = o.get("bounds") if isinstance(o, Mapping) else None
    if b is None:
        return None
    try:
        box = np.asarray(b, dtype=float)
    except (TypeError, ValueError):
        return None
    if box.shape != (d, 2) or np.isnan(box).any() or not np.isfinite(box).any():
        return None
    return box


def _escape_step(status: Status | None, diverged: bool, recorded: Any, P: np.ndarray,
                 steps: np.ndarray, nit: int) -> int | None:
    """The step at which a run diverged (:func:`_div_step`) or went unbounded (its last
    step); ``None`` for the other runs."""
    if diverged:
        return _div_step(recorded, P, steps)
    if status is Status.UNBOUNDED:
        return nit
    return None


def _run_of(result: Any) -> _Run:
    h = getattr(result, "history", None)
    if h is None:
        raise ParameterError(f"expected a gdlab Result, got {type(result).__name__}")
    P = np.asarray(h.x, dtype=float)
    steps = np.asarray(h.steps)
    fv = np.asarray(h.fun, dtype=float)
    if P.ndim != 2 or P.shape[0] == 0 or P.shape[1] == 0:
        x = np.atleast_1d(np.asarray(result.x, dtype=float))
        P, steps = x[None, :], np.array([int(getattr(result, "nit", 0))])
        fv = np.array([float(getattr(result, "fun", math.nan))])
    status = _status(result)
    diverged = status is Status.DIVERGED or not np.all(np.isfinite(P))
    nit = int(getattr(result, "nit", steps[-1]))
    k = _escape_step(status, diverged, getattr(result, "diverged_step", None), P, steps, nit)
    return _Run(P, steps, diverged, k, fun=float(getattr(result, "fun", math.nan)), nit=nit,
                status=status, maximize=bool(getattr(result, "maximize", False)),
                fv=fv if fv.shape == steps.shape else None)


def _start_runs(result: Any) -> list[_Run]:
    """Every start of a many-start result (the faint paths), at most ``_MAX_FAINT_PATHS``."""
    ah = result.all_history
    if ah is None or len(ah) == 0 or not len(ah.x):
        return []
    n = int(np.asarray(ah.x).shape[1])
    idx = range(n) if n <= _MAX_FAINT_PATHS else np.unique(
        np.linspace(0, n - 1, _MAX_FAINT_PATHS).round().astype(int))
    recorded = getattr(result, "diverged_steps", None)  # one per start, -1: did not diverge
    runs = []
    for i in idx:
        nit = int(result.nits[i]) if result.nits is not None else None
        h = ah.run(int(i), nit)
        P = np.asarray(h.x, dtype=float)
        status = _status_word(result.statuses[i] if i < len(result.statuses) else "")
        diverged = status is Status.DIVERGED or not np.all(np.isfinite(P))
        k = _escape_step(status, diverged, recorded[i] if recorded is not None and
                         i < len(recorded) else None, P, h.steps,
                         int(h.steps[-1]) if len(h.steps) else 0)
        runs.append(_Run(P, h.steps, diverged, k, status=status,
                         maximize=bool(getattr(result, "maximize", False))))
    return runs


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


def _run_name(result: Any, i: int) -> str:
    o = dict(getattr(result, "optimizer", None) or {})
    name = str(o.get("name", f"run {i + 1}"))
    if o.get("line_search"):
        return name + " + line search"
    if isinstance(o.get("lr"), (int, float)):
        name += f" lr={o['lr']:g}"
    return name


def _compare_label(name: str, result: Any, run: _Run) -> str:
    if run.diverged:
        return f"{name}: diverged at step {run.div_step}"
    if run.unbounded:
        return f"{name}: unbounded at step {run.div_step}"
    if run.undefined:
        return f"{name}: f undefined at step {run.stop_step}"
    flat = "flat region, " if run.status is Status.FLAT else ""
    return f"{name}: {flat}f={_fmt(float(result.fun))}, {_n_steps(int(result.nit))}"


def _common_box(results: Sequence[Any], d: int) -> np.ndarray | None:
    """The box the runs stayed in, when they all had the same one."""
    boxes = [_run_box(r, d) for r in results]
    first = boxes[0]
    if first is None or any(b is None or not np.array_equal(b, first) for b in boxes[1:]):
        return None
    return first


def _compare_runs(items: list[tuple[str, Any]], f: Any, colors: Sequence[str] | None,
                  single_color: str | None = None, many_variables: bool = False
                  ) -> tuple[list[_Run], _Fn | None, int, np.ndarray | None]:
    """The runs of ``items`` (labelled, coloured), ``f``, the number of variables and the
    window (``None`` for three or more variables, which ``many_variables`` allows)."""
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
    if d > 2 and not many_variables:
        raise ParameterError(f"an animation draws paths of 1 or 2 variables, these runs have "
                             f"{d}; a picture (not an animation) shows f and norm(grad) per "
                             f"step")
    probe = np.concatenate([r.P[np.all(np.isfinite(r.P), axis=1)][:2] for r in runs])
    F = None if f is None else _resolve(f, d, probe)
    if F is not None and F.d is not None and F.d != d:
        raise ParameterError(f"f has {F.d} variable(s) but the runs moved {d}")
    if d > 2:
        return runs, F, d, None
    window = _layout(runs, F, d, box=_common_box([r for _, r in items], d))
    return runs, F, d, window


def _sane(run: _Run, scale_hint: float) -> int:
    """How many leading points of a run to draw: the finite ones, and for a diverged (or
    unbounded) run those within a few first-step lengths of the start (the rest has left the
    picture); an undefined run's last point is not drawn as a point of the path."""
    P = run.P
    ok = np.all(np.isfinite(P), axis=1)
    m = len(P) if ok.all() else int(np.argmin(ok))
    if run.undefined:  # the last record is where f is undefined: drawn apart
        m = min(m, len(P) - 1)
        if m > 0:  # in view when it is not far from the drawn path
            s = max(float(np.ptp(P[:m], axis=0).max()), float(np.abs(P[0]).max()), scale_hint,
                    1e-12)
            run.near = bool(np.linalg.norm(P[m] - P[m - 1]) <= 6 * s)
        return m
    if not run.escaped or m <= 2:
        return max(m, 1) if ok[0] else 0
    s = max(float(np.linalg.norm(P[1] - P[0])), float(np.linalg.norm(P[0])), scale_hint, 1e-12)
    dist = np.linalg.norm(P[:m] - P[0], axis=1)
    out = np.flatnonzero(dist > 6 * s)
    return int(out[0]) if len(out) else m


def _with_box(lo: np.ndarray, hi: np.ndarray, box: np.ndarray | None
              ) -> tuple[np.ndarray, np.ndarray]:
    """Limits widened to show a run's box (its finite sides) when the box is at most a few
    times larger than the runs (else only the sides in view are drawn)."""
    if box is None:
        return lo, hi
    blo = np.where(np.isfinite(box[:, 0]), box[:, 0], lo)
    bhi = np.where(np.isfinite(box[:, 1]), box[:, 1], hi)
    span = float((hi - lo).max())
    if span > 0 and float((np.maximum(hi, bhi) - np.minimum(lo, blo)).max()) <= 4 * span:
        return np.minimum(lo, blo), np.maximum(hi, bhi)
    return lo, hi


def _window(runs: list[_Run], d: int, bounds: np.ndarray | None, focus: np.ndarray | None,
            converged: bool, box: np.ndarray | None = None) -> np.ndarray:
    """``(d, 2)`` plot limits covering the drawn parts of the runs (and the function's domain,
    and the box of a bounded run)."""
    parts = [r.P[: r.shown] for r in runs if r.shown > 0]
    pts = np.concatenate(parts) if parts else np.zeros((1, d))
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
    lo, hi = _with_box(lo, hi, box)
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
            converged: bool = False, box: np.ndarray | None = None) -> np.ndarray:
    """Decide what each run draws (``run.m``) and the window: the window follows the runs that
    did not diverge or go unbounded (and the domain of a named function, and the box of a
    bounded run); an escaping run is drawn until it leaves that window. When every run
    escaped, each is drawn until it is a few first steps away from its start."""
    bounds = _bounds_of(F, d)
    hint = float(np.linalg.norm(bounds[:, 1] - bounds[:, 0])) / 2 if bounds is not None else 0.0
    for r in runs:
        r.m = _sane(r, hint)
    calm = [r for r in runs if not r.escaped]
    if not calm or len(calm) == len(runs):
        return _window(runs, d, bounds, focus, converged, box)
    starts = [_Run(r.P[:1], r.steps[:1], False, None, m=1) for r in runs
              if r.escaped and r.m > 0]
    window = _window(calm + starts, d, bounds, focus, converged, box)
    for r in runs:
        if r.escaped and r.m > 0:
            inside = np.all((r.P[: r.m] >= window[:, 0]) & (r.P[: r.m] <= window[:, 1]), axis=1)
            out = np.flatnonzero(~inside)
            if len(out):
                r.m = max(int(out[0]), 1)
    return window


def _plot_coords(run: _Run, F: _Fn | None, d: int,
                 history_fun: np.ndarray | None = None) -> np.ndarray:
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


def _best_word(maximize: bool) -> str:
    return "maximum" if maximize else "minimum"


def _kind(maximize: bool) -> str:
    """What the run does, for titles."""
    return "gradient ascent (maximize)" if maximize else "gradient descent"


def _all_maximize(results: Sequence[Any]) -> bool | None:
    """Whether every result maximized (``True``), none did (``False``), or they differ."""
    flags = {bool(getattr(r, "maximize", False)) for r in results}
    return flags.pop() if len(flags) == 1 else None


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
    status = _status(result)
    nit = int(getattr(result, "nit", 0))
    if run.diverged:
        return f"diverged at step {run.div_step}"
    if run.unbounded:
        return f"unbounded at step {run.div_step}: no {_best_word(run.maximize)} along the path"
    if run.undefined:
        return (f"f undefined at step {run.stop_step}" if run.stop_step else
                "f undefined at the start")
    if status is Status.FLAT:
        return f"stopped in a flat region after {_n_steps(nit)}"
    if status is not None and status.success:
        return f"converged in {_n_steps(nit)}"
    if status is Status.MAX_ITER:
        return f"stopped at max_iter ({_n_steps(nit)})"
    return f"{getattr(result, 'status', '') or 'stopped'} after {_n_steps(nit)}"


def _n_steps(n: int) -> str:
    return f"{n} step" if n == 1 else f"{n} steps"
