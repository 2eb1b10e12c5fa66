"""``POST /api/fit``: models trained on the playground's data, with snapshots to animate.

Each run is one :func:`gdlab.train.train` call on a model loss of :mod:`gdlab.models`
(linear regression with the lecture's three objectives, logistic, softmax, an MLP) over an
:class:`~gdlab.data.ArrayStream` (``batch_size`` None: full batch, ``k``: mini-batches,
``1``: online), with a callback that keeps the parameters every few epochs; the reasons are
gdlab's. Regression runs also get the least-squares line and their gap to it; the
"escape" task trains the demo's double-well model (:class:`gdlab.demo.DoubleWell`).
"""

from __future__ import annotations

import math
from typing import Any, Callable

import numpy as np

from .. import checks
from ..data.standardize import Standardizer
from ..data.stream import ArrayStream
from ..errors import ParameterError
from ..optim.rules import OPTIMIZERS, make_rule
from ..optim.schedules import make_schedule
from ..result import Status
from ..train import train
from . import encode, limits
from .catalog import optimizer_options, schedule_options
from .datasets import dataset, split
from .limits import Deadline

TASKS = ("regression", "classification", "escape")
MODELS = {"regression": ("linear",), "classification": ("logistic", "softmax", "mlp"),
          "escape": ("double_well",)}
LINEAR_LOSSES = ("mse", "rmse", "half_mse")
ACTIVATIONS = ("sigmoid", "tanh", "relu")


def fit(body: Any, deadline: Deadline) -> dict[str, Any]:
    task = checks.choice("task", limits.field(body, "task", "regression"), TASKS)
    runs = limits.items(body, "runs", maximum=limits.MAX_RUNS, minimum=1)
    epochs = limits.count(body, "epochs", 100, maximum=limits.MAX_EPOCHS)
    seed = limits.count(body, "seed", 0, maximum=2**31 - 1, minimum=0)
    if task == "escape":
        return _escape(body, runs, epochs, seed, deadline)
    X, y, classes = dataset(limits.field(body, "dataset", {}), task)
    fraction = limits.number(body, "validation", 0.25 if task == "classification" else 0.0,
                             low=0, high=0.5)
    tr, va = split(len(X), fraction, seed)
    scaler = Standardizer().fit(X[tr])
    Xs = scaler.transform(X)
    make_loss = _model(limits.field(body, "model", {}), task, len(classes))
    snapshots = limits.count(body, "snapshots", 50, maximum=limits.MAX_SNAPSHOTS)
    grid = _region_grid(X, limits.count(body, "region", 50, maximum=limits.MAX_REGION,
                                        minimum=4)) if task == "classification" else None
    out: dict[str, Any] = {"task": task, "classes": classes,
                           "data": {"x": encode.columns(X), "y": encode.floats(y),
                                    "validation": va.tolist()}}
    draw = _line_of(scaler) if task == "regression" else _regions_of(scaler, grid)
    out["runs"] = []
    for i, raw in enumerate(runs):
        spec = _run_spec(raw, i)
        if deadline.passed:
            out["runs"].append(_not_run(spec, deadline))
            continue
        data = (Xs[tr], y[tr].astype(float), (Xs[va], y[va].astype(float)) if len(va) else None)
        loss = make_loss(spec)
        out["runs"].append(_train_run(loss, spec, data, epochs, snapshots, seed, draw, deadline))
        if task == "regression":
            out["runs"][-1]["objective"] = loss.loss
    if grid is not None:
        out["grid"] = {"x": encode.floats(grid[0]), "y": encode.floats(grid[1])}
    else:
        _least_squares(out, Xs[tr], y[tr], scaler)
    return out


def _model(raw: Any, task: str, n_classes: int) -> Callable[[dict[str, Any]], Any]:
    """A factory of the model loss (a new one per run: losses keep buffers)."""
    from ..models import LinearLoss, LogisticLoss, MLPLoss, SoftmaxLoss

    kind = checks.choice("model.kind", limits.field(raw, "kind", MODELS[task][0]), MODELS[task])
    l2 = limits.number(raw, "l2", 0.0, low=0, high=100)
    if kind == "linear":
        default = checks.choice("model.loss", limits.field(raw, "loss", "mse"), LINEAR_LOSSES)
        return lambda spec: LinearLoss(1, loss=spec.get("loss") or default, l2=l2)
    if kind == "logistic":
        if n_classes > 2:
            raise ParameterError(f"logistic regression separates two classes; this set has "
                                 f"{n_classes}: choose softmax or an MLP")
        return lambda spec: LogisticLoss(2, l2=l2)
    if kind == "softmax":
        return lambda spec: SoftmaxLoss(2, n_classes, l2=l2)
    hidden = limits.field(raw, "hidden", [16])
    if not isinstance(hidden, list) or not 1 <= len(hidden) <= limits.MAX_LAYERS:
        raise ParameterError(f"model.hidden must list 1 to {limits.MAX_LAYERS} layer sizes")
    sizes = [checks.count(f"model.hidden[{i}]", h, minimum=1, maximum=limits.MAX_UNITS)
             for i, h in enumerate(hidden)]
    activation = checks.choice("model.activation", limits.field(raw, "activation", "tanh"),
                               ACTIVATIONS)
    return lambda spec: MLPLoss([2, *sizes, max(n_classes, 2)],
                                activation=spec.get("activation") or activation,
                                task="classification", l2=l2)


def _run_spec(raw: Any, i: int) -> dict[str, Any]:
    name = checks.choice(f"runs[{i}].optimizer", limits.field(raw, "optimizer", "sgd"),
                         OPTIMIZERS)
    options = limits.field(raw, "options", {})
    allowed = optimizer_options(name)
    if not isinstance(options, dict) or any(k not in allowed for k in options):
        raise ParameterError(f"runs[{i}]: {name} has the options {', '.join(allowed)}")
    schedule = limits.field(raw, "schedule")
    if schedule is not None:
        if not isinstance(schedule, dict):
            raise ParameterError(f"runs[{i}].schedule must be an object with a name")
        checks.choice(f"runs[{i}].schedule", schedule.get("name", "constant"),
                      list(schedule_options()))
    batch = limits.count(raw, "batch_size", 0, maximum=limits.MAX_ROWS, minimum=0)
    loss = limits.field(raw, "loss")
    activation = limits.field(raw, "activation")
    return {"label": str(limits.field(raw, "label", name))[:80],
            "rule": make_rule(name, lr=checks.number(f"runs[{i}].lr",
                                                     limits.field(raw, "lr", required=True),
                                                     low=0, low_open=True, high=1e6),
                              **options),
            "schedule": make_schedule(schedule), "batch_size": batch or None,
            "loss": checks.choice(f"runs[{i}].loss", loss, LINEAR_LOSSES) if loss else None,
            "activation": checks.choice(f"runs[{i}].activation", activation, ACTIVATIONS)
            if activation else None}


def _train_run(loss: Any, spec: dict[str, Any], data: tuple, epochs: int, snapshots: int,
               seed: int, draw: Callable[[Any, np.ndarray], Any],
               deadline: Deadline) -> dict[str, Any]:
    X, y, validation = data
    stream = ArrayStream(X, y, batch_size=spec["batch_size"], shuffle=True, seed=seed)
    per_epoch = 1 if spec["batch_size"] is None else stream.n_batches()
    every = max(1, math.ceil(epochs / snapshots)) * per_epoch
    kept: list[tuple[int, np.ndarray]] = []

    def keep(info: Any) -> None:
        if info.step % every == 0:
            kept.append((info.step // per_epoch, info.x[0].copy()))

    params = loss.init_params(np.random.default_rng(seed))
    res = train(loss, params, stream, spec["rule"], schedule=spec["schedule"], epochs=epochs,
                tol=None, validation=validation, time_limit=deadline.left(), callbacks=(keep,),
                compiled=False)
    kept.append((res.n_epochs, res.params))
    status = Status(res.status)
    return {"label": spec["label"], "batch_size": spec["batch_size"],
            "status": str(status), "reason": _why(res.reason, status, deadline),
            "failed": status.failed,
            "loss": encode.floats(res.history["loss"]),
            "val_loss": encode.floats(res.history.get("val_loss") or []),
            "epochs": res.n_epochs, "steps": res.n_steps,
            "snapshots": [{"epoch": int(e), **draw(loss, p)} for e, p in kept],
            "params": encode.floats(res.params)}


def _why(reason: str, status: Status, deadline: Deadline) -> str:
    if status == Status.TIME_LIMIT:
        return (f"{reason} (the playground computes at most {deadline.seconds:g} s per "
                f"request: try fewer epochs or a larger batch)")
    return reason


def _not_run(spec: dict[str, Any], deadline: Deadline) -> dict[str, Any]:
    return {"label": spec["label"], "batch_size": spec["batch_size"],
            "status": str(Status.TIME_LIMIT), "failed": False, "loss": [], "val_loss": [],
            "epochs": 0, "steps": 0, "snapshots": [], "params": [],
            "reason": f"not run: the runs above spent this request's {deadline.seconds:g} s of "
                      f"computation; try fewer epochs or runs"}


def _line_of(scaler: Standardizer) -> Callable[[Any, np.ndarray], dict[str, Any]]:
    """The fitted line in the data's own units (the model sees standardized x)."""
    mean, scale = float(np.asarray(scaler.mean_)[0]), float(np.asarray(scaler.scale_)[0])

    def line(loss: Any, p: np.ndarray) -> dict[str, Any]:
        v = loss.views(p)
        coef = float(np.asarray(v["coef"]).reshape(-1)[0]) / scale
        intercept = float(np.asarray(v["intercept"]).reshape(-1)[0]) - mean * coef
        return {"coef": encode.number(coef), "intercept": encode.number(intercept)}
    return line


def _region_grid(X: np.ndarray, n: int) -> tuple[np.ndarray, np.ndarray]:
    lo, hi = X.min(axis=0), X.max(axis=0)
    pad = 0.1 * np.maximum(hi - lo, 1e-9)
    return (np.linspace(lo[0] - pad[0], hi[0] + pad[0], n),
            np.linspace(lo[1] - pad[1], hi[1] + pad[1], n))


def _regions_of(scaler: Standardizer, grid: Any) -> Callable[[Any, np.ndarray], dict[str, Any]]:
    """The predicted class on the grid, one text row of class digits per grid row."""
    gx, gy = np.meshgrid(*grid)
    points = scaler.transform(np.column_stack([gx.ravel(), gy.ravel()]))

    def regions(loss: Any, p: np.ndarray) -> dict[str, Any]:
        if not np.all(np.isfinite(p)):
            return {"regions": None}
        with np.errstate(all="ignore"):
            labels = np.asarray(loss.predict(p, points)).reshape(gx.shape)
        return {"regions": ["".join(map(str, row)) for row in labels.tolist()]}
    return regions


def _least_squares(out: dict[str, Any], X: np.ndarray, y: np.ndarray,
                   scaler: Standardizer) -> None:
    """The closed-form line and each run's gap to it (slope, intercept, and the loss in the
    run's own objective: the three objectives share the least-squares minimizer)."""
    from ..models import LinearLoss

    best = LinearLoss(1).closed_form(X, y)
    line = _line_of(scaler)
    out["least_squares"] = line(LinearLoss(1), best)
    for run in out["runs"]:
        p = np.array(run.pop("params"), dtype=float)
        if not run["snapshots"] or not np.all(np.isfinite(p)) or \
                run["snapshots"][-1]["coef"] is None:
            run["gap"] = None
            continue
        final = run["snapshots"][-1]
        loss = LinearLoss(1, loss=run["objective"])
        run["gap"] = {"coef": abs(final["coef"] - out["least_squares"]["coef"]),
                      "intercept": abs(final["intercept"] - out["least_squares"]["intercept"]),
                      "loss": float(loss.value(p, X, y) - loss.value(best, X, y))}


def _escape(body: Any, runs: list[Any], epochs: int, seed: int,
            deadline: Deadline) -> dict[str, Any]:
    """The demo's double well: the per-sample slopes ``a`` as data, ``w`` the one weight."""
    from ..demo import DoubleWell

    n = limits.count(limits.field(body, "dataset", {}), "n", 200, maximum=limits.MAX_ROWS,
                     minimum=4)
    rng = np.random.default_rng(0)
    a = rng.normal(size=(n, 1))
    a = (a - a.mean()) * (8.0 / a.std())
    y = np.zeros(n)
    model = DoubleWell()
    ws = np.linspace(-2.0, 2.0, 201)
    curve = [model.value(np.array([w]), a, y) for w in ws]
    start = limits.number(body, "start", -1.5, low=-2, high=2)
    out: dict[str, Any] = {"task": "escape", "curve": {"x": encode.floats(ws),
                                                       "f": encode.floats(curve)}, "runs": []}
    for i, raw in enumerate(runs):
        out["runs"].append(_escape_run(_run_spec(raw, i), a, start, epochs, seed, deadline))
    return out


def _escape_run(spec: dict[str, Any], a: np.ndarray, start: float, epochs: int, seed: int,
                deadline: Deadline) -> dict[str, Any]:
    """One run on the double well: ``w`` at every step (at most 1,000 of them kept)."""
    from ..demo import DoubleWell

    y = np.zeros(len(a))
    model = DoubleWell()
    stream = ArrayStream(a, y, batch_size=spec["batch_size"], shuffle=True, seed=seed)
    path: list[float] = []
    res = train(DoubleWell(), np.array([start]), stream, spec["rule"], schedule=spec["schedule"],
                epochs=epochs, tol=None, time_limit=deadline.left(), compiled=False,
                callbacks=(lambda info: path.append(float(info.x[0, 0])),))
    path.append(float(res.params[0]))
    keep = np.unique(np.linspace(0, len(path) - 1, min(len(path), 1000)).astype(int))
    w = np.array(path)[keep]
    status = Status(res.status)
    return {"label": spec["label"], "batch_size": spec["batch_size"], "status": str(status),
            "reason": _why(res.reason, status, deadline), "failed": status.failed,
            "steps": encode.floats(keep), "w": encode.floats(w),
            "f": encode.floats([model.value(np.array([v]), a, y) for v in w]),
            "loss": encode.floats(res.history["loss"]), "final_w": encode.number(res.params[0])}
