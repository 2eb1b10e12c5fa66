"""Online SGD (batch size 1) as a compiled *sweep*: the stepper that runs many consecutive
one-sample steps of the descent loop in one call of :mod:`gdlab.kernels`.

With one sample per step the work of a step is a dot product and an axpy over the features
(about 4·d flops), so Python's per-step cost is everything. :class:`SGDSweep` is a
:class:`~gdlab.optim.stepper.Stepper` whose batches are *segments* of consecutive
one-sample batches:

* ``evaluate`` runs the kernel on a copy of the parameters: for each sample in order the
  loss, the loop's stop tests (non-finite or exploding loss, ``eps``) and PyTorch's SGD
  step. It reports the mean loss of the samples stepped, the samples stepped as the
  evaluation's ``steps`` and ``batch`` (what callbacks see), and, when the very first
  sample stops the run, the stop as its verdict;
* ``update`` commits the staged parameters (so a callback that stops the run before the
  update leaves the parameters as they were before the segment, as the loop always does),
  and reports a stop the kernel found part-way through the segment: the run then stops
  after the samples before it, exactly where the Python loop stops.

:func:`gdlab.train.train` uses it for batch size 1 with plain SGD (no momentum, not
maximizing) on linear models with one target and logistic models, when numba is installed
(the optional extra ``gdlab[fast]``) and no user callbacks are given; it cuts segments at
epoch ends and checkpoint steps (``train._segment_starts``), and the streams stack the
one-sample batches into segments (``batches(epoch, start, sizes=...)``), so the samples and
their order are those of the Python path. The state, name and configuration are the
wrapped :class:`~gdlab.optim.rules.SGD`'s, so checkpoints of either path resume in the
other.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from .. import kernels
from ..errors import ParameterError
from ..result import Status
from .rules import ASGD, SGD
from .schedules import Constant
from .stepper import Evaluation, Objective, State, StepContext, Stepper, StepReport

#: the kernel's stop codes
_CODES = {1: Status.DIVERGED, 2: Status.NO_GRADIENT, 3: Status.CONVERGED}


class SGDSweep(Stepper):
    """Plain SGD with batch size 1 over whole segments in compiled code (see the module
    docstring). One row, minimizing, without ``max_iter`` (training's stop rules)."""

    def __init__(self, loss: Any, rule: SGD | ASGD, kind: int):
        self.loss = loss
        self.rule = rule
        self.name = rule.name
        self.lr = rule.lr
        self.maximize = False
        self._kind = kind
        self._has_b = bool(loss.fit_intercept)
        self._out = np.zeros(6)
        self._none = np.zeros(3)
        self._staged: np.ndarray | None = None
        self._avg = isinstance(rule, ASGD)
        self._staged_avg: tuple[np.ndarray, np.ndarray] | None = None
        self._pending: tuple[int, Status | None, float] = (0, None, math.nan)

    def init(self, x: np.ndarray) -> State:
        return self.rule.init(x)

    def config(self) -> dict[str, Any]:
        return self.rule.config()

    def evaluate(self, objective: Objective, x: np.ndarray, batch: Any, state: State,
                 ctx: StepContext) -> Evaluation:
        if x.shape[0] != 1 or ctx.sign < 0 or ctx.stop.max_iter is not None:
            raise ValueError("a sweep runs one row without max_iter, minimizing")
        X, y = batch
        k = len(X)
        if isinstance(ctx.schedule, Constant):
            lrs = np.array([self.lr])
        else:
            lrs = np.array([ctx.schedule.lr(ctx.t + i, self.lr) for i in range(k)],
                           dtype=np.float64)
        p = self._staged = x[0].copy()
        if self._avg:  # ASGD's step count, eta, mu and average, staged like p
            self._staged_avg = (np.array([state["step"], state["eta"], state["mu"]], dtype=float),
                                np.array(state["ax"][0], dtype=p.dtype, copy=True))
        f0 = math.nan if ctx.f_start is None else float(ctx.f_start[0])
        done, fsum, code, f_first, f_last, gn = self._sweep(
            p, batch, lrs, f0, ctx.stop.explode or 0.0, ctx.stop.eps or 0.0)
        status = _CODES.get(code)
        self._pending = (done, status, f_last)
        first = np.array([f_first])
        if done == 0:  # the first sample stops the run: the verdict is this step's
            return Evaluation(np.array([f_last]), None, np.array([gn]), steps=0,
                              f_first=first, status=[status])
        stepped = batch if done == k else (X[:done], y[:done])
        return Evaluation(np.array([fsum / done]), None, np.array([gn]), steps=done,
                          batch=stepped, f_first=first, status=[None])

    def update(self, x: np.ndarray, ev: Evaluation, state: State,
               ctx: StepContext) -> StepReport | None:
        done, status, f_last = self._pending
        assert self._staged is not None
        x[0] = self._staged
        if self._staged_avg is not None:
            st, ax = self._staged_avg
            state["step"], state["eta"], state["mu"] = int(st[0]), float(st[1]), float(st[2])
            state["ax"][0] = ax
        else:
            state["step"] += done
        if status is None:
            return None
        return StepReport(stop={status: np.array([True])}, fun=np.array([f_last]))

    def _sweep(self, p: np.ndarray, batch: tuple[np.ndarray, np.ndarray], lrs: np.ndarray,
               f0: float, explode: float, eps: float) -> tuple[int, float, int, float, float,
                                                               float]:
        """Run the kernel over the samples of ``batch`` in order, updating ``p`` in place.
        Returns ``(done, loss_sum, code, first_loss, last_loss, last_grad_norm)``: ``done``
        samples were stepped; ``code`` says why the sample after them was not."""
        X, y = batch
        X = np.ascontiguousarray(X, dtype=p.dtype)
        y = np.ascontiguousarray(np.asarray(y, dtype=p.dtype).reshape(-1))
        if y.shape[0] != X.shape[0]:
            raise ValueError(f"y has {y.shape[0]} rows, X has {X.shape[0]}")
        if self._kind == kernels.KINDS["logistic"]:
            bad = (y != 0) & (y != 1)
            if bad.any():
                # the loss's own check gives the message
                self.loss._labels(y, len(y), p.dtype)
        out = self._out
        out[:] = np.nan
        rule = self.rule
        st, ax = self._staged_avg if self._staged_avg is not None else (self._none, p[:0])
        kernels.online_kernel()(X, y, p, self._has_b, self._kind,
                                np.asarray(lrs, dtype=np.float64), float(self.loss.l2),
                                float(rule.weight_decay), float(f0), float(explode),
                                float(eps), out, self._avg, float(getattr(rule, "lambd", 0.0)),
                                float(getattr(rule, "alpha", 0.0)),
                                float(getattr(rule, "t0", 0.0)), st, ax)
        return (int(out[0]), float(out[1]), int(out[2]), float(out[3]), float(out[4]),
                float(out[5]))


def make_sweep(loss: Any, rule: Any, *, required: bool = False) -> SGDSweep | None:
    """The compiled sweep for ``loss`` (a model loss whose ``online_kind()`` names the
    kernel's loss, :data:`gdlab.kernels.KINDS`) and ``rule`` when it applies, else ``None``
    (``required``: raise instead, naming why)."""
    why = None
    kind = getattr(loss, "online_kind", lambda: None)()
    plain = type(rule) is SGD and rule.momentum == 0
    if not (plain or type(rule) is ASGD) or rule.maximize:
        why = ("the compiled online kernel runs plain SGD or ASGD only (no momentum, not "
               "maximize)")
    elif kind is None:
        why = ("the compiled online kernel supports linear regression with one target and "
               "logistic regression")
    if why is None and not kernels.numba_available():
        why = "the compiled online kernel needs numba: pip install 'gdlab[fast]'"
    if why is not None:
        if required:
            raise ParameterError(why)
        return None
    assert kind is not None  # (else why says so)
    return SGDSweep(loss, rule, kind)
