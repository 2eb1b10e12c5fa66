"""Training a model on data: epochs of batches through the shared descent loop.

:func:`train` plugs a model loss (:class:`gdlab.models.ModelLoss`) and a batch stream
(:mod:`gdlab.data`) into :func:`gdlab.loop.descend`; there is no second training loop.
What training adds lives in one callback, :class:`_Epochs`, which the loop calls after
every evaluation:

* epoch bookkeeping: the epoch's mean training loss, validation loss and score, the
  history, the progress bar;
* stopping: early stopping on the validation score (or on the training loss) with
  ``tol`` and ``patience``, restoring the best weights;
* checkpoints every ``checkpoint_every`` steps, written atomically, holding everything a
  resumed run needs to end with exactly the weights of an uninterrupted one: the
  parameters, the optimizer state, the step (which fixes the epoch, the position in the
  data and the schedule), the epoch accumulators and the history.

The order of batches is a function of ``(seed, epoch)`` only (see :mod:`gdlab.data`), so
the step count is the data position.
"""

from __future__ import annotations

import math
import sys
import time
from dataclasses import dataclass, field
from typing import Any, Callable, Iterator

import numpy as np

from . import checks, kernels, persist
from .errors import ModelFileError, ParameterError
from .loop import LoopState, StepInfo, StopRules, descend
from .optim.fused import make_fused
from .optim.online import make_sweep
from .optim.schedules import Schedule
from .result import History, Status


class ModelObjective:
    """Adapter: a model loss on flat parameters as a loop objective on ``(1, p)`` rows."""

    def __init__(self, objective: Any):
        self.objective = objective
        self._g: np.ndarray | None = None

    def value_and_grad(self, x: np.ndarray, batch: Any):
        if self._g is None or self._g.dtype != x.dtype:
            self._g = np.empty(x.shape[1], dtype=x.dtype)
        if isinstance(batch, FullPass):
            return self._full(x[0], batch)
        X, y = batch
        f, g = self.objective.value_and_grad(x[0], X, y, out=self._g)
        return np.array([f], dtype=float), g.reshape(1, -1)

    def _full(self, p: np.ndarray, batch: "FullPass"):
        """Mean loss and gradient over every piece of the data: one full-batch GD step."""
        total, n = 0.0, 0
        acc = np.zeros_like(p)
        for X, y in batch:
            f, g = self.objective.value_and_grad(p, X, y, out=self._g)
            m = len(X)
            total += f * m
            acc += m * g
            n += m
        batch.rows = n
        return np.array([total / n]), (acc / n).reshape(1, -1)

    def value(self, x: np.ndarray, batch: Any):
        pieces = batch if isinstance(batch, FullPass) else [batch]
        out = []
        for row in x:
            tot = n = 0
            for X, y in pieces:
                tot += self.objective.value(row, X, y) * len(X)
                n += len(X)
            out.append(tot / n)
        return np.array(out, dtype=float)


class FullPass:
    """One full-batch step's data: every piece of an epoch, read when the gradient is taken
    (file streams never hold the whole data in memory). The L2 penalty, added once per
    piece by the model loss, averages back to once per step."""

    def __init__(self, stream: Any, epoch: int):
        self.stream = stream
        self.epoch = epoch
        self.rows = 0

    def __iter__(self):
        return iter(self.stream.batches(self.epoch))

    def __len__(self) -> int:
        return self.rows


@dataclass
class TrainResult:
    params: np.ndarray
    history: dict[str, list]
    n_epochs: int
    n_steps: int
    status: str
    reason: str
    best_epoch: int | None
    elapsed: float
    diverged_step: int | None = None
    extra: dict[str, Any] = field(default_factory=dict)


class _Epochs:
    """The training callback: epoch ends, early stopping, progress, checkpoints."""

    def __init__(self, stream: Any, objective: Any, params: np.ndarray, *, epochs: int,
                 validation: tuple[np.ndarray, np.ndarray] | None,
                 score: Callable[[np.ndarray, np.ndarray, np.ndarray], float] | None,
                 tol: float | None, patience: int, restore_best: bool,
                 checkpoint: str | None, checkpoint_every: int, checkpoint_meta: dict,
                 progress: bool, rule_state_ref: list):
        self.stream = stream
        self.objective = objective
        self.epochs = epochs
        self.validation = validation
        self.score = score
        self.tol = tol
        self.patience = patience
        self.restore_best = restore_best
        self.checkpoint = checkpoint
        self.checkpoint_every = checkpoint_every
        self.checkpoint_meta = checkpoint_meta
        self.rule_state_ref = rule_state_ref
        self.loop_state: LoopState | None = None
        self.schedule: Schedule | None = None   # its state() goes into checkpoints
        self.run_meta: dict[str, Any] = {}   # what a resumed run must agree with
        self.history: dict[str, list] = {"loss": [], "val_loss": [], "val_score": [],
                                         "lr": [], "time": []}
        self.acc_sum = 0.0
        self.acc_count = 0
        self.epoch = 0             # the epoch whose batches are being accumulated
        # two references: ``best_value`` for the patience counter (moves only on
        # improvements larger than tol), ``best_seen`` for the best epoch and its weights
        # (any improvement), so ``restore_best`` returns the best epoch's weights
        self.best_value = math.inf
        self.best_seen = math.inf
        self.best_epoch: int | None = None
        self.best_params: np.ndarray | None = params.copy() if restore_best else None
        self.no_improve = 0
        self.stop_reason = ""
        self.pos = (0, 0)
        self.last_lr = math.nan   # the learning rate of the latest step (NaN: line search)
        self.t_epoch = time.perf_counter()
        self.samples = 0
        #: the weights a run returns, from the iterate (the averaged iterate when averaging)
        self.final: Callable[[np.ndarray], np.ndarray] = lambda x: x
        #: the watched training loss of those weights over all the data (None: the epoch's
        #: mean loss of the iterates, as scikit-learn's SGD watches)
        self.full_loss: Callable[[np.ndarray], float] | None = None
        self.bar = None
        if progress:
            from tqdm.auto import tqdm
            self.bar = tqdm(total=epochs, unit="epoch", file=sys.stderr, dynamic_ncols=True,
                            leave=False)

    # --- state for checkpoints ------------------------------------------------------------
    # Numbers that may be NaN or infinite (the line search's lr, an overflowing validation
    # loss, the best value before the first epoch) travel as float64 arrays, bit for bit;
    # JSON holds only counters.
    def state(self) -> tuple[dict[str, Any], dict[str, np.ndarray]]:
        meta = {"acc_count": int(self.acc_count), "epoch": int(self.epoch),
                "best_epoch": None if self.best_epoch is None else int(self.best_epoch),
                "no_improve": int(self.no_improve), "history_keys": list(self.history)}
        arrays = {"epochs_acc": np.array([self.acc_sum, self.best_value, self.best_seen],
                                         dtype=np.float64)}
        for i, v in enumerate(self.history.values()):
            arrays[f"hist_{i}"] = np.asarray(v, dtype=np.float64).reshape(-1)
        return meta, arrays

    def restore(self, st: dict[str, Any], arrays: dict[str, np.ndarray]) -> None:
        acc = arrays["epochs_acc"]
        if acc.shape != (3,):
            raise ValueError("epochs_acc")
        self.acc_sum, self.best_value, self.best_seen = (float(v) for v in acc)
        self.acc_count = int(st["acc_count"])
        self.epoch = int(st["epoch"])
        self.best_epoch = None if st["best_epoch"] is None else int(st["best_epoch"])
        self.no_improve = int(st["no_improve"])
        self.history = {str(k): [float(v) for v in arrays[f"hist_{i}"]]
                        for i, k in enumerate(st["history_keys"])}
        if "best_params" in arrays and self.best_params is not None:
            bp = arrays["best_params"]
            if bp.shape != self.best_params.shape:
                raise ValueError("best_params")
            self.best_params[...] = bp
        if self.bar is not None:
            self.bar.update(len(self.history["loss"]))

    # --- the callback -----------------------------------------------------------------------
    def __call__(self, info: StepInfo) -> str | None:
        epoch, _ = self.pos
        x = info.x[0]
        if epoch != self.epoch:
            reason = self.end_epoch(x, self.last_lr)
            self.epoch = epoch
            if reason:
                return reason
        self.last_lr = info.lr
        if self.checkpoint and self.checkpoint_every and info.step and \
                info.step % self.checkpoint_every == 0:
            self.save(x, info.step)
        batch = info.batch
        n = len(batch) if isinstance(batch, FullPass) else len(batch[0])
        self.acc_sum += float(info.fun[0]) * n
        self.acc_count += n
        self.samples += n
        return None

    def end_epoch(self, x: np.ndarray, lr: float) -> str | None:
        """Close the epoch being accumulated (``x``: the weights after its last update,
        ``lr``: the learning rate of its last step)."""
        if self.acc_count == 0:
            return None
        loss = self.acc_sum / self.acc_count
        self.acc_sum, self.acc_count = 0.0, 0
        h = self.history
        h["loss"].append(loss)
        h["lr"].append(lr)
        now = time.perf_counter()
        h["time"].append(now - self.t_epoch)
        rate = self.samples / max(now - self.t_epoch, 1e-9)
        self.t_epoch, self.samples = now, 0
        watched = loss
        x = self.final(x)
        if self.full_loss is not None:
            watched = self.full_loss(x)
        if self.validation is not None:
            Xv, yv = self.validation
            with np.errstate(over="ignore", invalid="ignore"):
                vloss = float(self.objective.value(x, Xv, yv))
            h["val_loss"].append(vloss)
            vscore = float(self.score(x, Xv, yv)) if self.score is not None else -vloss
            h["val_score"].append(vscore)
            watched = -vscore
        if self.bar is not None:
            post = {"loss": f"{loss:.4g}"}
            if self.validation is not None:
                post["val_loss"] = f"{h['val_loss'][-1]:.4g}"
            post["samples/s"] = f"{rate:,.0f}"
            self.bar.set_postfix(post, refresh=False)
            self.bar.update(1)
        if not math.isfinite(watched):
            return None  # the loop's divergence test reports it with the step
        if self.tol is None:
            improved = watched < self.best_value
        else:
            improved = watched < self.best_value - self.tol * max(1.0, abs(self.best_value)) \
                if math.isfinite(self.best_value) else True
        if improved:
            self.best_value = watched
            self.no_improve = 0
        else:
            self.no_improve += 1
        if watched < self.best_seen:
            self.best_seen = watched
            self.best_epoch = len(h["loss"]) - 1
            if self.best_params is not None:
                self.best_params[...] = x
        if self.tol is not None and self.patience and self.no_improve >= self.patience:
            what = "validation score" if self.validation is not None else "training loss"
            return (f"the {what} did not improve by more than tol = {self.tol:g} for "
                    f"{self.patience} epochs")
        return None

    def save(self, x: np.ndarray, step: int) -> None:
        """Write the checkpoint of step ``step`` (``x``: the weights before its update)."""
        assert self.checkpoint is not None  # called only when checkpointing
        ep_meta, arrays = self.state()
        arrays["params"] = x
        if self.best_params is not None:
            arrays["best_params"] = self.best_params
        scalars = {}
        for k, v in self.rule_state_ref[0].items():
            if isinstance(v, np.ndarray):
                arrays[f"opt_{k}"] = v
            elif isinstance(v, (float, np.floating)):
                arrays[f"optf_{k}"] = np.array(v, dtype=np.float64)
            else:
                scalars[k] = v.item() if isinstance(v, np.generic) else v
        if self.loop_state is not None and self.loop_state.f_start is not None:
            arrays["loop_f_start"] = self.loop_state.f_start
        sched = self.schedule.state() if self.schedule is not None else {}
        if sched:  # numbers that may be infinite (a plateau's best) travel as float64
            arrays["schedule_state"] = np.array(list(sched.values()), dtype=np.float64)
        meta = {**self.checkpoint_meta, **self.run_meta, "step": int(step),
                "rule_scalars": scalars, "epochs_state": ep_meta,
                "schedule_keys": list(sched)}
        persist.save(self.checkpoint, meta, arrays, kind="checkpoint")

    def close(self) -> None:
        if self.bar is not None:
            self.bar.close()


def load_checkpoint(path: str) -> tuple[dict[str, Any], dict[str, np.ndarray]]:
    """Read and verify a training checkpoint; returns ``(meta, arrays)``."""
    return persist.load(path, kind="checkpoint")


def _rule_name(rule: Any) -> str:
    try:
        return str(rule.config()["name"])
    except Exception:  # noqa: BLE001 - any rule-like object
        return type(rule).__name__


def _resume(path: str, state: LoopState, cb: _Epochs, checkpoint_meta: dict | None,
            opt_shapes: dict[str, tuple]) -> None:
    """Load the checkpoint ``path`` into the loop state and the training callback."""
    meta, arrays = load_checkpoint(path)
    x = state.x
    run = cb.run_meta
    try:
        _check_resumable(path, meta, arrays, x, cb, checkpoint_meta)
        opt = _optimizer_arrays(path, arrays, state, opt_shapes)
        _resume_later_state(meta, arrays, opt, x.dtype, cb.schedule)
        scalars = dict(meta["rule_scalars"])
        for k in arrays:
            if k.startswith("optf_"):
                scalars[k[5:]] = float(arrays[k])
        state.x[0] = arrays["params"].astype(x.dtype)
        state.rule_state.update(scalars)
        state.rule_state.update(opt)
        state.step = int(meta["step"])
        if "loop_f_start" in arrays:
            state.f_start = arrays["loop_f_start"].astype(np.float64, copy=True)
        if state.step < run["initial_step"]:
            raise ValueError("step")
        cb.restore(meta["epochs_state"], arrays)
    except ModelFileError:
        raise
    except (KeyError, TypeError, ValueError, AttributeError) as e:
        raise ModelFileError(f"{path}: the checkpoint is incomplete or inconsistent "
                             f"({type(e).__name__}: {e})") from None


def _check_resumable(path: str, meta: dict[str, Any], arrays: dict[str, np.ndarray],
                     x: np.ndarray, cb: _Epochs, checkpoint_meta: dict | None) -> None:
    """Refuse a checkpoint made for another model, other settings or other data."""
    run = cb.run_meta
    if meta.get("n_params", x.shape[1]) != x.shape[1] or arrays["params"].shape != x[0].shape:
        raise ModelFileError(f"{path}: the checkpoint is for a model with "
                             f"{arrays['params'].size} parameters, this one has "
                             f"{x.shape[1]}")
    if checkpoint_meta and meta.get("fingerprint") != checkpoint_meta.get("fingerprint"):
        raise ModelFileError(f"{path}: the checkpoint was made with other settings or "
                             f"data; start afresh or use the same settings")
    if meta.get("rule", run["rule"]) != run["rule"] or \
            meta.get("opt_arrays", run["opt_arrays"]) != run["opt_arrays"]:
        raise ModelFileError(f"{path}: the checkpoint was made with the optimizer "
                             f"{meta.get('rule')!r} ({', '.join(meta.get('opt_arrays', []))}), "
                             f"not {run['rule']!r} ({', '.join(run['opt_arrays'])}); "
                             f"resume with the same optimizer settings")
    if meta.get("n_batches", run["n_batches"]) != run["n_batches"]:
        raise ModelFileError(f"{path}: the checkpoint was made with "
                             f"{meta.get('n_batches')} batches per epoch, this data has "
                             f"{run['n_batches']}; its position in the data would be wrong")
    if meta.get("initial_step", run["initial_step"]) != run["initial_step"]:
        raise ModelFileError(f"{path}: the checkpoint was made with initial_step="
                             f"{meta.get('initial_step')}, not {run['initial_step']}")
    if cb.best_params is not None and "best_params" not in arrays:
        raise ModelFileError(f"{path}: the checkpoint was made without restore_best, so "
                             f"it has no best weights to restore; resume without it")


def _optimizer_arrays(path: str, arrays: dict[str, np.ndarray], state: LoopState,
                      opt_shapes: dict[str, tuple]) -> dict[str, np.ndarray]:
    """The optimizer's state arrays from the checkpoint, shape-checked, in the state's dtypes."""
    opt = {}
    for k, shape in opt_shapes.items():
        a = arrays[f"opt_{k}"]
        if a.shape != shape:
            raise ModelFileError(f"{path}: the optimizer state {k!r} has shape {a.shape}, "
                                 f"expected {shape}")
        opt[k] = a.astype(state.rule_state[k].dtype, copy=True)
    return opt
def _resume_later_state(meta: dict[str, Any], arrays: dict[str, np.ndarray],
                        opt: dict[str, np.ndarray], dtype: np.dtype,
                        schedule: Schedule | None) -> None:
    """What a checkpoint holds beyond the state made at the start: rule arrays made later
    (a momentum buffer that a momentum schedule switched on) into ``opt``, and the
    schedule's state (``Schedule.state``: a plateau's rate and counters)."""
    for k in arrays:
        if k.startswith("opt_") and k[4:] not in opt:
            opt[k[4:]] = arrays[k].astype(dtype, copy=True)
    if schedule is not None:
        values = arrays.get("schedule_state", np.empty(0))
        schedule.restore(dict(zip(meta.get("schedule_keys", []), map(float, values))))


def _segment_starts(epoch_step: int, first: int, n_batches: int, every: int) -> np.ndarray:
    """Where the compiled sweep's segments of one epoch start (batch positions, then
    ``n_batches``): every :data:`~gdlab.kernels.SEGMENT` batches from ``first``, and
    at every global step (``epoch_step + b``) that is a multiple of ``every`` (checkpoints
    are written at segment starts)."""
    cuts = set(range(first, n_batches, kernels.SEGMENT))
    if every:
        k0 = -(-(epoch_step + first) // every)
        cuts.update(range(k0 * every - epoch_step, n_batches, every))
    cuts.add(n_batches)
    return np.array(sorted(cuts), dtype=np.int64)


def train(objective: Any, params: np.ndarray, stream: Any, rule: Any, *,
          schedule: Schedule | None = None, epochs: int = 100, eps: float | None = None,
          tol: float | None = 1e-4, patience: int = 10,
          validation: tuple[np.ndarray, np.ndarray] | None = None,
          score: Callable | None = None, restore_best: bool = False,
          time_limit: float | None = None, checkpoint: str | None = None,
          checkpoint_every: int = 0, checkpoint_meta: dict | None = None,
          resume: str | None = None, progress: bool = False,
          callbacks: tuple = (), initial_state: dict | None = None,
          initial_step: int = 0, compiled: bool | None = None, average: bool = False,
          monitor: str = "epoch") -> TrainResult:
    """Train ``objective`` from ``params`` on ``stream`` with ``rule`` for ``epochs`` epochs.

    Stops early when the watched quantity (validation score when ``validation`` is given,
    else the epoch's training loss) has not improved by ``tol`` (relative to max(1, |best|))
    for ``patience`` epochs (``tol=None``: never), when ``‖grad‖ < eps`` on a batch, on
    divergence, or when ``time_limit`` seconds are spent. With ``restore_best`` the weights of
    the best epoch (the best watched value, however small its lead) are returned.

    ``checkpoint`` (a path) is written atomically every ``checkpoint_every`` steps; ``resume``
    names a checkpoint to continue from: the run then ends with exactly the weights, history
    and early-stopping state of an uninterrupted one (same data, seed and settings).
    ``initial_state`` and ``initial_step`` continue the optimizer (state and step count, which
    drives the schedule) from an earlier call on other data (``partial_fit``).

    ``compiled``: online SGD (batch size 1, plain SGD, linear or logistic model) runs in the
    compiled sweep of :mod:`gdlab.models.online` when numba is installed and no
    ``callbacks`` are given (``None``, the default); ``True`` requires it, ``False`` always
    takes the Python loop. Both give the same weights to rounding. Adam, AdamW, SGD,
    RMSprop and Adagrad step in one compiled pass (:func:`gdlab.optim.fused.make_fused`,
    the same numbers to the bit) when numba is installed, unless ``compiled=False``.

    ``average``: return the rule's averaged iterate (``rule.averaged(state)``, e.g.
    :class:`~gdlab.optim.rules.ASGD`'s Polyak–Ruppert average) instead of the last one; the
    tolerance test and ``restore_best`` then watch the averaged weights.
    ``monitor="full"`` watches the training loss of the returned weights over all the data
    (one more pass per epoch) instead of the epoch's mean loss of the iterates, which is
    what a stop on tolerance needs when the iterates are noisy (mini-batches, online).
    """
    epochs = checks.count("epochs", epochs, minimum=1)
    if checkpoint is not None:
        checks.count("checkpoint_every (steps between checkpoints)", checkpoint_every, minimum=1)
    full_batch = stream.batch_size is None
    n_batches = 1 if full_batch else stream.n_batches()
    sweep = _compiled_sweep(objective, rule, stream.batch_size, callbacks, compiled, schedule)
    rule_state_ref: list = [None]
    cb = _Epochs(stream, objective, params, epochs=epochs, validation=validation, score=score,
                 tol=tol, patience=patience, restore_best=restore_best, checkpoint=checkpoint,
                 checkpoint_every=checkpoint_every, checkpoint_meta=checkpoint_meta or {},
                 progress=progress, rule_state_ref=rule_state_ref)
    x = np.array(params, copy=True).reshape(1, -1)
    state = LoopState(x=x, rule_state=rule.init(x) if initial_state is None else initial_state,
                      step=int(initial_step))
    opt_shapes = {k: v.shape for k, v in state.rule_state.items() if isinstance(v, np.ndarray)}
    cb.run_meta = {"n_params": int(x.shape[1]), "dtype": x.dtype.str,
                   "rule": _rule_name(rule), "opt_arrays": sorted(opt_shapes),
                   "n_batches": int(n_batches), "initial_step": int(initial_step)}
    cb.schedule = schedule
    if average:
        if not hasattr(rule, "averaged"):
            raise ParameterError(f"average=True needs an averaging optimizer such as asgd, "
                                 f"not {_rule_name(rule)}")
        cb.final = lambda p: rule.averaged(rule_state_ref[0])[0]
    if checks.choice("monitor", monitor, ("epoch", "full")) == "full":
        cb.full_loss = lambda p: full_loss(objective, p, stream)
    if resume is not None:
        _resume(resume, state, cb, checkpoint_meta, opt_shapes)
    rule_state_ref[0] = state.rule_state
    cb.loop_state = state
    offset = int(initial_step)
    start = state.step - offset
    cb.epoch = start // n_batches if resume is None else cb.epoch
    batches = _batches(stream, cb, start=start, epochs=epochs, n_batches=n_batches,
                       offset=offset, segments=sweep is not None,
                       checkpoint_every=checkpoint_every if checkpoint else 0)
    history = History(limit=10_000, record_x=False)
    stop = StopRules(eps=eps, max_iter=None, time_limit=time_limit)
    try:
        stepper = sweep or (None if compiled is False else make_fused(rule)) or rule
        out = descend(ModelObjective(objective), x, stepper, schedule=schedule, stop=stop,
                      batches=batches, callbacks=(cb, *callbacks), history=history,
                      state=state)
        status = out.status[0]
        if status in (Status.END_OF_DATA, Status.MAX_ITER, Status.TIME_LIMIT):
            cb.end_epoch(out.x[0], cb.last_lr)
    finally:
        cb.close()
    div_step = int(out.diverged_step[0]) if status == Status.DIVERGED else None
    params_out = np.array(cb.final(out.x[0]), copy=True)
    if restore_best and cb.best_params is not None and cb.best_epoch is not None \
            and status != Status.DIVERGED:
        params_out = cb.best_params.copy()
    reason = _reason(status, out, epochs=epochs, time_limit=time_limit, eps=eps,
                     lr=getattr(rule, "lr", float("nan")),
                     epoch_of_step=lambda k: (k - offset) // n_batches + 1)
    return TrainResult(params=params_out, history=cb.history, n_epochs=len(cb.history["loss"]),
                       n_steps=out.step, status=status, reason=reason, best_epoch=cb.best_epoch,
                       elapsed=out.elapsed, diverged_step=div_step,
                       extra={"rule_state": state.rule_state})


def full_loss(loss: Any, params: np.ndarray, stream: Any) -> float:
    """The mean loss of ``params`` over every row of ``stream`` (standardized as its batches
    are), read chunk by chunk; the L2 penalty, added per chunk, averages back to once."""
    total, n = 0.0, 0
    scaler = getattr(stream, "standardizer", None)
    with np.errstate(over="ignore", invalid="ignore"):
        for X, y in stream.iter_chunks():
            if scaler is not None:
                X = scaler.transform(X)
            total += float(loss.value(params, X, y)) * len(X)
            n += len(X)
    return total / n if n else math.nan


def _compiled_sweep(loss: Any, rule: Any, batch_size: int | None, callbacks: tuple,
                    compiled: bool | None, schedule: Schedule | None = None) -> Any:
    """The compiled online sweep to train with, or ``None`` for the Python loop (see
    ``train``'s ``compiled``). The sweep takes the rates of a segment at once, so only a
    schedule of rates alone (``Schedule.rate_only``: no momentum, no observed loss)."""
    if compiled and batch_size != 1:
        raise ParameterError(f"compiled=True is for online SGD (batch size 1), the batch size "
                             f"is {batch_size}")
    if compiled and schedule is not None and not schedule.rate_only:
        raise ParameterError(f"compiled=True runs schedules of the rate alone; {schedule!r} "
                             f"sets the momentum or follows the loss")
    if compiled is False or batch_size != 1 or (callbacks and not compiled) or \
            (schedule is not None and not schedule.rate_only):
        return None
    return make_sweep(loss, rule, required=bool(compiled))


def _batches(stream: Any, cb: _Epochs, *, start: int, epochs: int, n_batches: int, offset: int,
             segments: bool, checkpoint_every: int) -> Iterator[Any]:
    """The loop's batches from step ``start`` (counted from ``offset``) to the last epoch,
    each announced to the training callback by its position ``(epoch, batch)``: a
    :class:`FullPass` per epoch for full batch; for the compiled sweep, segments of
    one-sample batches cut where :func:`_segment_starts` says."""
    e0, b0 = divmod(start, n_batches)
    for epoch in range(e0, epochs):
        first = b0 if epoch == e0 else 0
        if stream.batch_size is None:
            cb.pos = (epoch, 0)
            yield FullPass(stream, epoch)
        elif segments:
            cuts = _segment_starts(offset + epoch * n_batches, first, n_batches,
                                   checkpoint_every)
            pieces = stream.batches(epoch, start=first, sizes=iter(np.diff(cuts)))
            for b, batch in zip(cuts[:-1], pieces):
                cb.pos = (epoch, int(b))
                yield batch
        else:
            for b, batch in enumerate(stream.batches(epoch, start=first), start=first):
                cb.pos = (epoch, b)
                yield batch


def _reason(status: Status, out: Any, *, epochs: int, time_limit: float | None,
            eps: float | None, lr: float, epoch_of_step: Callable[[int], int]) -> str:
    """Why training stopped, in words."""
    if status == Status.END_OF_DATA:
        return f"finished {epochs} epochs"
    if status == Status.STOPPED:
        # tol on the training loss is the fit's convergence test (scikit-learn's MLP
        # convention); on a validation score it is early stopping
        detail = str(out.stop_detail)
        said = "converged" if detail.startswith("the training loss") else "stopped early"
        return f"{said}: {detail}"
    if status == Status.TIME_LIMIT:
        return f"stopped: the time limit of {time_limit:g} s was reached"
    if status == Status.DIVERGED:
        step = int(out.diverged_step[0])
        became = "infinite or NaN" if not np.isfinite(out.fun[0]) else "huge"
        return (f"diverged at step {step} (epoch {epoch_of_step(step)}): the loss became "
                f"{became}; try a smaller learning rate, e.g. lr={lr / 10:g}")
    if status == Status.CONVERGED:
        return f"converged: norm(grad) < eps = {eps:g}"
    if status == Status.STALLED:
        return ("converged: no step lowers the loss any more (the optimizer's limit of "
                "floating-point precision)")
    return str(status)
