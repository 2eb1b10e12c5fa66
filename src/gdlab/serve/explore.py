"""``POST /api/descend``: a formula's picture and the paths of several optimizers on it.

The formula goes to :class:`gdlab.calculus.Function` (and so to :mod:`gdlab.expr`, the only
door for formula text); the picture is one vectorized evaluation on a grid; the runs are one
:func:`gdlab.minimize` with every (optimizer, start) pair as a row (:class:`Mixed` groups),
and a failed row's reason, whose hint depends on its learning rate, comes from
``minimize`` run again on that optimizer alone. Runs computed before (a slider moved another
optimizer's lr) come from :mod:`gdlab.serve.cache`.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache
from typing import Any

import numpy as np

from .. import checks
from ..calculus import Function
from ..errors import ParameterError
from ..optim.fused import make_fused
from ..optim.rules import OPTIMIZERS, make_rule
from ..optim.schedules import make_schedule
from ..optimize import minimize
from ..result import Status
from . import encode, limits
from .cache import RUNS
from .catalog import optimizer_options, schedule_options
from .limits import Deadline
from .mixed import Mixed


@lru_cache(maxsize=32)
def function_of(formula: str) -> Function:
    """The compiled :class:`Function` of formula text (or a test function's name), kept for
    the next request: a slider moving an optimizer's lr does not parse the formula again."""
    fn = Function(formula)
    fn.value_and_grad(np.zeros((1, fn.n_vars)))  # compile f and grad once, here
    return fn


@dataclass
class RunSpec:
    """One optimizer with its settings, as the page sends it."""

    name: str
    lr: float
    options: dict[str, Any]
    schedule: dict[str, Any] | None
    label: str

    def rule(self, maximize: bool) -> Any:
        """A new rule object (options such as Adam's ``eps`` cannot go through minimize's
        keywords, where ``eps`` is the gradient tolerance): its fused copy when there is
        one (:func:`gdlab.optim.fused.make_fused`: one compiled call per step instead of
        NumPy's five to thirteen on a few elements; the same numbers to the bit)."""
        rule = make_rule(self.name, lr=self.lr, maximize=maximize, **self.options)
        return make_fused(rule) or rule


def descend(body: Any, deadline: Deadline) -> dict[str, Any]:
    formula = limits.text(body, "formula").strip()
    if not formula:
        raise ParameterError("type a formula, e.g. x**2 + 2*x + 3")
    fn = function_of(formula)
    d = fn.n_vars
    if d == 0:
        raise ParameterError(f"the formula {fn.text!r} has no variables to move")
    if d > limits.MAX_VARIABLES:
        raise ParameterError(f"{d} variables: the playground takes at most "
                             f"{limits.MAX_VARIABLES}")
    view = _view(body, fn)
    out: dict[str, Any] = {"function": describe(formula), "view": view.tolist(),
                           "picture": picture(fn, view, body)}
    starts = _starts(body, d)
    if starts is None:      # every start was for another number of variables: a new formula
        out["starts_ignored"] = True
        starts = np.zeros((0, d))
    specs = [_spec(r, i) for i, r in enumerate(limits.items(body, "runs",
                                                            maximum=limits.MAX_RUNS))]
    max_steps = limits.count(body, "max_steps", 1000, maximum=limits.MAX_STEPS)
    eps = limits.number(body, "eps", 1e-6, low=0, low_open=True)
    ascent = checks.flag("maximize", limits.field(body, "maximize", False))
    values = len(specs) * len(starts) * (max_steps + 1) * (d + 1)
    if values > limits.MAX_PATH_VALUES:
        raise ParameterError(f"{len(specs)} optimizers x {len(starts)} starts x {max_steps} "
                             f"steps are too many paths to send ({values:,} numbers; at most "
                             f"{limits.MAX_PATH_VALUES:,}): fewer steps, starts or optimizers")
    out["runs"] = race(fn, starts, specs, max_steps=max_steps, eps=eps, maximize=ascent,
                       deadline=deadline) if len(starts) and specs else []
    return out


@lru_cache(maxsize=32)
def describe(formula: str) -> dict[str, Any]:
    """The formula as the page shows it: its text, variables and gradient (symbolic, so
    worked out once per formula)."""
    fn = function_of(formula)
    info: dict[str, Any] = {"text": fn.text, "variables": list(fn.variables),
                            "gradient": [g.text for g in fn.gradient()]}
    tf = fn.test_function
    if tf is not None:
        info.update(name=tf.name, title=tf.title, minima=[list(m) for m in tf.minima],
                    fmin=tf.fmin, description=tf.description, valley=tf.valley)
    return info


def _view(body: Any, fn: Function) -> np.ndarray:
    """The box drawn: ``view`` from the page, else a test function's domain, else ±5."""
    d = min(fn.n_vars, 2)
    raw = limits.field(body, "view")
    if raw is None:
        tf = fn.test_function
        box = np.array(tf.bounds if tf is not None else [(-5.0, 5.0)] * d, dtype=float)
        return box[:d]
    if not isinstance(raw, list) or len(raw) != d:
        raise ParameterError(f"view must be {d} (low, high) pair(s), one per variable drawn")
    box = np.array([[limits.coordinate("view", v) for v in checks.pair("view", p)]
                    for p in raw])
    if np.any(box[:, 1] <= box[:, 0]):
        raise ParameterError("each view range needs low < high")
    return box


def picture(fn: Function, view: np.ndarray, body: Any) -> dict[str, Any]:
    """The curve and slope (one variable), or the grid of values and the field of −∇f
    arrows (two variables); nothing for more variables."""
    if fn.n_vars == 1:
        n = limits.count(body, "curve_points", 400, maximum=limits.MAX_CURVE, minimum=2)
        xs = np.linspace(view[0, 0], view[0, 1], n)
        with np.errstate(all="ignore"):
            f, g = fn.value_and_grad(xs[:, None])
        return {"kind": "curve", "x": encode.floats(xs), "f": encode.floats(f),
                "slope": encode.floats(np.asarray(g)[:, 0])}
    if fn.n_vars != 2:
        return {"kind": "none"}
    n = limits.count(body, "grid", 120, maximum=limits.MAX_GRID, minimum=2)
    xs = np.linspace(view[0, 0], view[0, 1], n)
    ys = np.linspace(view[1, 0], view[1, 1], n)
    gx, gy = np.meshgrid(xs, ys)
    with np.errstate(all="ignore"):
        z = fn.value(np.column_stack([gx.ravel(), gy.ravel()])).reshape(n, n)
    out: dict[str, Any] = {"kind": "grid", "x": encode.floats(xs), "y": encode.floats(ys),
           "z": encode.floats(z, digits=6)}
    m = limits.count(body, "field", 0, maximum=limits.MAX_FIELD, minimum=0)
    if m >= 2:
        out["field"] = _field(fn, view, m)
    return out


def _field(fn: Function, view: np.ndarray, m: int) -> dict[str, Any]:
    """Arrows of −∇f (direction only) on an ``m × m`` grid, as segments ``x``/``y`` with
    ``None`` between arrows: a shaft and a two-stroke head each."""
    cx = np.linspace(view[0, 0], view[0, 1], m + 2)[1:-1]
    cy = np.linspace(view[1, 0], view[1, 1], m + 2)[1:-1]
    px, py = (a.ravel() for a in np.meshgrid(cx, cy))
    with np.errstate(all="ignore"):
        _, g = fn.value_and_grad(np.column_stack([px, py]))
    span = (view[:, 1] - view[:, 0]) / (m + 1) * 0.8
    u, v = -g[:, 0] / span[0], -g[:, 1] / span[1]   # in cell units, so arrows fit the cells
    size = np.hypot(u, v)
    ok = np.isfinite(size) & (size > 0)
    u, v = np.where(ok, u / np.where(ok, size, 1), 0), np.where(ok, v / np.where(ok, size, 1), 0)
    ex, ey = px + u * span[0], py + v * span[1]
    back = 0.35
    hx = [ex - back * (u * np.cos(a) - v * np.sin(a)) * span[0] for a in (0.5, -0.5)]
    hy = [ey - back * (u * np.sin(a) + v * np.cos(a)) * span[1] for a in (0.5, -0.5)]
    nan = np.full_like(px, np.nan)
    xs = np.column_stack([px, ex, nan, hx[0], ex, hx[1], nan])[ok].ravel()
    ys = np.column_stack([py, ey, nan, hy[0], ey, hy[1], nan])[ok].ravel()
    return {"x": encode.floats(xs, digits=5), "y": encode.floats(ys, digits=5)}


def _starts(body: Any, d: int) -> np.ndarray | None:
    """The starts, or ``None`` when all of them have one width other than ``d`` (placed for
    the formula before: the page then says so and asks for new ones)."""
    raw = limits.items(body, "starts", maximum=limits.MAX_STARTS)
    if not all(isinstance(p, list) for p in raw):
        raise ParameterError("each start must be a list of numbers, one per variable")
    widths = {len(p) for p in raw}
    if len(widths) == 1 and d not in widths:
        return None
    rows = []
    for p in raw:
        if len(p) != d:
            raise ParameterError(f"each start needs {d} value(s), one per variable")
        rows.append([limits.coordinate("start", v) for v in p])
    return np.array(rows, dtype=float).reshape(-1, d)


def _spec(raw: Any, i: int) -> RunSpec:
    name = checks.choice(f"runs[{i}].optimizer", limits.field(raw, "optimizer", "sgd"),
                         OPTIMIZERS)
    lr = checks.number(f"runs[{i}].lr", limits.field(raw, "lr", required=True), low=0,
                       low_open=True, high=1e6)
    options = limits.field(raw, "options", {})
    allowed = optimizer_options(name)
    if not isinstance(options, dict) or any(k not in allowed for k in options):
        bad = sorted(set(options) - set(allowed)) if isinstance(options, dict) else options
        raise ParameterError(f"runs[{i}]: {name} has the options {', '.join(allowed) or 'none'}"
                             f"; got {bad!r}")
    schedule = limits.field(raw, "schedule")
    if schedule is not None:
        if not isinstance(schedule, dict):
            raise ParameterError(f"runs[{i}].schedule must be an object with a name")
        sname = checks.choice(f"runs[{i}].schedule", schedule.get("name", "constant"),
                              list(schedule_options()))
        known = schedule_options()[sname]
        extra = sorted(k for k in schedule if k != "name" and k not in known)
        if extra:
            raise ParameterError(f"runs[{i}].schedule {sname} takes "
                                 f"{', '.join(known) or 'no options'}; got {', '.join(extra)}")
        schedule = {"name": sname, **{k: v for k, v in schedule.items() if k != "name"}}
    label = limits.field(raw, "label", name)
    return RunSpec(name, float(lr), dict(options), schedule,
                   label if isinstance(label, str) else name)


def race(fn: Function, starts: np.ndarray, specs: list[RunSpec], *, max_steps: int,
         eps: float | None, maximize: bool, deadline: Deadline) -> list[dict[str, Any]]:
    """Every run from every start: runs computed before come from the cache, the others
    from one ``minimize`` over all their rows."""
    common: dict[str, Any] = {"max_iter": max_steps, "eps": eps, "maximize": maximize,
                              "history_limit": max_steps + 2}
    keys = [RUNS.key(fn.text, fn.variables, starts.tolist(), s.name, s.lr, s.options,
                     s.schedule, max_steps, eps, maximize) for s in specs]
    rows: list[list[dict[str, Any]] | None] = [RUNS.get(k) for k in keys]
    todo = [k for k, r in enumerate(rows) if r is None]
    if todo:
        fresh = _compute(fn, starts, [specs[k] for k in todo], common, deadline)
        for k, new in zip(todo, fresh):
            rows[k] = new
            if all(row["status"] != Status.TIME_LIMIT for row in new):
                RUNS.put(keys[k], new, sum(len(row["f"]) * (fn.n_vars + 2) for row in new))
    return [{"label": s.label, "optimizer": s.name, "lr": s.lr, "starts": run}
            for s, run in zip(specs, rows)]


def _compute(fn: Function, starts: np.ndarray, specs: list[RunSpec], common: dict[str, Any],
             deadline: Deadline) -> list[list[dict[str, Any]]]:
    """The rows of each run: one ``minimize`` with every (run, start) pair as a row."""
    n = len(starts)
    maximize = common["maximize"]
    x0 = np.tile(starts, (len(specs), 1))
    if len(specs) == 1:
        res = minimize(fn, x0=x0, optimizer=specs[0].rule(maximize), schedule=specs[0].schedule,
                       time_limit=deadline.left(), **common)
    else:
        groups = [(s.rule(maximize), make_schedule(s.schedule), n) for s in specs]
        res = minimize(fn, x0=x0, optimizer=Mixed(groups, maximize), time_limit=deadline.left(),
                       **common)
    rows = _rows(res)
    if len(specs) > 1:
        _explain_failures(fn, starts, specs, rows, common, deadline)
    for row in rows:
        if row["status"] == Status.TIME_LIMIT:
            row["reason"] += (f" (the playground computes at most {deadline.seconds:g} s per "
                              f"request: try fewer steps, starts or optimizers)")
        if fn.n_vars == 1:
            _slope(fn, row)
    return [rows[k * n:(k + 1) * n] for k in range(len(specs))]


def _rows(res: Any) -> list[dict[str, Any]]:
    """Each row of a (many-start) Result: its path, values, status and reason."""
    if res.n_starts == 1:
        hist_x, hist_f = res.history.x[:, None, :], res.history.fun[:, None]
        nits, statuses, reasons = [res.nit], [res.status], [res.reason]
        div = [res.diverged_step if res.diverged_step is not None else -1]
    else:
        hist_x, hist_f = res.all_history.x, res.all_history.fun
        nits, statuses, reasons = list(res.nits), res.statuses, res.reasons
        div = list(res.diverged_steps)
    rows = []
    for i, nit in enumerate(nits):
        k = int(nit) + 1
        status = Status(statuses[i])
        rows.append({"path": encode.columns(hist_x[:k, i]), "f": encode.floats(hist_f[:k, i]),
                     "nit": int(nit), "status": str(status), "reason": reasons[i],
                     "failed": status.failed, "success": status.success,
                     "diverged_step": int(div[i]) if int(div[i]) >= 0 else None})
    return rows


def _explain_failures(fn: Function, starts: np.ndarray, specs: list[RunSpec],
                      rows: list[dict[str, Any]], common: dict[str, Any],
                      deadline: Deadline) -> None:
    """Rows that failed in the mixed run get the reason ``minimize`` gives their optimizer
    alone (the 2/L hint needs the row's learning rate); the rerun is the same path, and
    short, since a failing run stops early."""
    n = len(starts)
    for k, s in enumerate(specs):
        failed = [i for i in range(n) if rows[k * n + i]["status"] in
                  (Status.DIVERGED, Status.UNDEFINED)]
        if not failed or deadline.passed:
            continue
        res = minimize(fn, x0=starts[failed], optimizer=s.rule(common["maximize"]),
                       schedule=s.schedule, time_limit=deadline.left(), **common)
        for j, row in zip(failed, _rows(res)):
            rows[k * n + j] = row


def _slope(fn: Function, row: dict[str, Any]) -> None:
    """One variable: the derivative at every point of the path (the tangents drawn)."""
    x = np.array([v if v is not None else np.nan for v in row["path"][0]], dtype=float)
    with np.errstate(all="ignore"):
        _, g = fn.value_and_grad(x[:, None])
    row["slope"] = encode.floats(np.asarray(g)[:, 0])
